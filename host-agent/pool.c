// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VF pool allocator. Every operation is O(1) amortised (plus O(log n) for
 * the deadline heap and O(NUMA nodes) to pick a free list) so the daemon
 * can run it under its one thread for thousands of VFs:
 *   - free VFs sit on per-pool, per-NUMA-node FIFO lists (doubly linked
 *     through VF ids, so a VF can be unlinked from the middle);
 *   - owners and PCI addresses are found through chained hash tables;
 *   - reservations with a deadline sit in a binary min-heap.
 * FIFO rather than LIFO so a just-scrubbed VF is the last to be reused.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "util.h"

struct numa_list {
	int node;
	int32_t head, tail;
	size_t count;
};

struct pool {
	char name[VFO_POOL_NAME_MAX];
	struct numa_list *nl;
	size_t n_nl;
	struct vfo_pool_counts c;
};

struct vfo_pools {
	struct pool *pools;
	size_t n_pools;
	struct vfo_pool_vf *vfs;
	size_t n_vfs, cap_vfs;
	int32_t *obucket, *abucket; /* owner / address hash heads */
	size_t n_buckets; /* power of two */
	int32_t *heap;
	size_t n_heap;
};

#define NIL (-1)

/* ---- validation and parsing ------------------------------------------ */

static bool valid_pf_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= VFO_PF_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.:@", s[i]))
			return false;
	return true;
}

static int parse_uint(const char *s, const char *end, int *out)
{
	long v = 0;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (; s < end; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	if (v > 65535)
		return -ERANGE;
	*out = (int)v;
	return 0;
}

int vfo_pf_range_parse(const char *s, struct vfo_pf_range *out, char *err, size_t errlen)
{
	const char *hash, *dash, *end;
	int r;

	if (errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	out->first = out->last = -1;
	hash = strchr(s, '#');
	end = hash ? hash : s + strlen(s);
	if (!valid_pf_name(s, (size_t)(end - s))) {
		snprintf(err, errlen, "bad PF name in '%s'", s);
		return -EINVAL;
	}
	memcpy(out->pf, s, (size_t)(end - s));
	if (!hash)
		return 0;
	s = hash + 1;
	end = s + strlen(s);
	dash = strchr(s, '-');
	if (dash)
		r = parse_uint(s, dash, &out->first) ?: parse_uint(dash + 1, end, &out->last);
	else
		r = parse_uint(s, end, &out->first);
	if (r < 0) {
		snprintf(err, errlen, "bad VF range '%s' (want N or N-M, N <= 65535)", s);
		return -EINVAL;
	}
	if (!dash)
		out->last = out->first;
	if (out->first > out->last) {
		snprintf(err, errlen, "VF range %d-%d is reversed", out->first, out->last);
		return -EINVAL;
	}
	return 0;
}

static bool is_uuid(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return s[36] == '\0';
}

static bool is_pair_id(const char *s)
{
	size_t i, n = strnlen(s, VFO_PAIR_ID_MAX);

	if (n == 0 || n == VFO_PAIR_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.:", s[i]))
			return false;
	return true;
}

bool vfo_owner_valid(const struct vfo_owner *o)
{
	return o && is_uuid(o->uuid) && is_pair_id(o->pair);
}

int vfo_owner_set(struct vfo_owner *o, const char *uuid, const char *pair)
{
	memset(o, 0, sizeof(*o));
	if (!uuid || !pair || strlen(uuid) != 36 || strlen(pair) >= VFO_PAIR_ID_MAX)
		return -EINVAL;
	strcpy(o->uuid, uuid);
	strcpy(o->pair, pair);
	return vfo_owner_valid(o) ? 0 : -EINVAL;
}

static bool owner_eq(const struct vfo_owner *a, const struct vfo_owner *b)
{
	return !strcasecmp(a->uuid, b->uuid) && !strcmp(a->pair, b->pair);
}

const char *vfo_vf_state_str(enum vfo_vf_state s)
{
	switch (s) {
	case VFO_VF_FREE:
		return "free";
	case VFO_VF_RESERVED:
		return "reserved";
	case VFO_VF_ASSIGNED:
		return "assigned";
	}
	return "?";
}

/* ---- hashing ---------------------------------------------------------- */

static uint32_t fnv(uint32_t h, const char *s, bool fold)
{
	for (; *s; s++) {
		h ^= (uint8_t)(fold ? tolower((unsigned char)*s) : *s);
		h *= 16777619u;
	}
	return h;
}

static uint32_t owner_hash(const struct vfo_owner *o)
{
	return fnv(fnv(2166136261u, o->uuid, true) ^ 0x5c, o->pair, false);
}

static uint32_t addr_hash(const char *addr)
{
	return fnv(2166136261u, addr, false);
}

static int32_t *ochain(struct vfo_pools *p, const struct vfo_owner *o)
{
	return &p->obucket[owner_hash(o) & (p->n_buckets - 1)];
}

static int32_t *achain(struct vfo_pools *p, const char *addr)
{
	return &p->abucket[addr_hash(addr) & (p->n_buckets - 1)];
}

static void owner_link(struct vfo_pools *p, int32_t id)
{
	int32_t *b = ochain(p, &p->vfs[id].owner);

	p->vfs[id].onext = *b;
	*b = id;
}

static void owner_unlink(struct vfo_pools *p, int32_t id)
{
	int32_t *b = ochain(p, &p->vfs[id].owner);

	for (; *b != NIL; b = &p->vfs[*b].onext) {
		if (*b == id) {
			*b = p->vfs[id].onext;
			p->vfs[id].onext = NIL;
			return;
		}
	}
}

static int rehash(struct vfo_pools *p, size_t n)
{
	int32_t *ob, *ab;
	size_t i;

	ob = malloc(n * sizeof(*ob));
	ab = malloc(n * sizeof(*ab));
	if (!ob || !ab) {
		free(ob);
		free(ab);
		return -ENOMEM;
	}
	free(p->obucket);
	free(p->abucket);
	p->obucket = ob;
	p->abucket = ab;
	p->n_buckets = n;
	for (i = 0; i < n; i++)
		ob[i] = ab[i] = NIL;
	for (i = 0; i < p->n_vfs; i++) {
		struct vfo_pool_vf *vf = &p->vfs[i];

		if (vf->gone)
			continue;
		vf->anext = *achain(p, vf->addr);
		*achain(p, vf->addr) = (int32_t)i;
		if (vf->state != VFO_VF_FREE)
			owner_link(p, (int32_t)i);
	}
	return 0;
}

/* ---- deadline heap ---------------------------------------------------- */

static int64_t dl(const struct vfo_pools *p, size_t slot)
{
	return p->vfs[p->heap[slot]].deadline_ms;
}

static void heap_set(struct vfo_pools *p, size_t slot, int32_t id)
{
	p->heap[slot] = id;
	p->vfs[id].heap = (int32_t)slot;
}

static void heap_up(struct vfo_pools *p, size_t slot)
{
	int32_t id = p->heap[slot];

	while (slot > 0) {
		size_t parent = (slot - 1) / 2;

		if (dl(p, parent) <= p->vfs[id].deadline_ms)
			break;
		heap_set(p, slot, p->heap[parent]);
		slot = parent;
	}
	heap_set(p, slot, id);
}

static void heap_down(struct vfo_pools *p, size_t slot)
{
	int32_t id = p->heap[slot];

	for (;;) {
		size_t c = 2 * slot + 1;

		if (c >= p->n_heap)
			break;
		if (c + 1 < p->n_heap && dl(p, c + 1) < dl(p, c))
			c++;
		if (p->vfs[id].deadline_ms <= dl(p, c))
			break;
		heap_set(p, slot, p->heap[c]);
		slot = c;
	}
	heap_set(p, slot, id);
}

/* The heap array is sized with the VF array, so a push cannot fail. */
static void heap_push(struct vfo_pools *p, int32_t id)
{
	heap_set(p, p->n_heap++, id);
	heap_up(p, p->n_heap - 1);
}

static void heap_remove(struct vfo_pools *p, int32_t id)
{
	int32_t moved;
	size_t slot;

	if (p->vfs[id].heap < 0)
		return;
	slot = (size_t)p->vfs[id].heap;
	p->vfs[id].heap = NIL;
	if (slot == --p->n_heap)
		return;
	moved = p->heap[p->n_heap];
	heap_set(p, slot, moved);
	heap_down(p, slot);
	heap_up(p, (size_t)p->vfs[moved].heap);
}

/* ---- free lists ------------------------------------------------------- */

static struct numa_list *nl_get(struct pool *pl, int node, bool create)
{
	struct numa_list *l;
	size_t i;

	for (i = 0; i < pl->n_nl; i++)
		if (pl->nl[i].node == node)
			return &pl->nl[i];
	if (!create)
		return NULL;
	l = realloc(pl->nl, (pl->n_nl + 1) * sizeof(*l));
	if (!l)
		return NULL;
	pl->nl = l;
	l = &pl->nl[pl->n_nl++];
	l->node = node;
	l->head = l->tail = NIL;
	l->count = 0;
	return l;
}

static void free_push(struct vfo_pools *p, int32_t id)
{
	struct vfo_pool_vf *vf = &p->vfs[id];
	struct numa_list *l = nl_get(&p->pools[vf->pool], vf->numa_node, false);

	/* the list was created when the VF was added */
	vf->next = NIL;
	vf->prev = l->tail;
	if (l->tail != NIL)
		p->vfs[l->tail].next = id;
	else
		l->head = id;
	l->tail = id;
	l->count++;
}

static void free_unlink(struct vfo_pools *p, int32_t id)
{
	struct vfo_pool_vf *vf = &p->vfs[id];
	struct numa_list *l = nl_get(&p->pools[vf->pool], vf->numa_node, false);

	if (vf->prev != NIL)
		p->vfs[vf->prev].next = vf->next;
	else
		l->head = vf->next;
	if (vf->next != NIL)
		p->vfs[vf->next].prev = vf->prev;
	else
		l->tail = vf->prev;
	vf->prev = vf->next = NIL;
	l->count--;
}

static int32_t free_pick(struct vfo_pools *p, int pool, int node, unsigned int flags)
{
	struct pool *pl = &p->pools[pool];
	struct numa_list *best = NULL;
	size_t i;

	if (node >= 0) {
		best = nl_get(pl, node, false);
		if ((best && best->count) || (flags & VFO_NUMA_STRICT))
			return best && best->count ? best->head : NIL;
		best = NULL;
	}
	/* no preference, or the preferred node is full: take the emptiest
	 * node's VF so the nodes drain evenly */
	for (i = 0; i < pl->n_nl; i++)
		if (pl->nl[i].count && (!best || pl->nl[i].count > best->count))
			best = &pl->nl[i];
	return best ? best->head : NIL;
}

/* ---- pools and VFs ---------------------------------------------------- */

struct vfo_pools *vfo_pools_new(void)
{
	struct vfo_pools *p = calloc(1, sizeof(*p));

	if (p && rehash(p, 64) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void vfo_pools_free(struct vfo_pools *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_vfs; i++)
		json_object_put(p->vfs[i].data);
	for (i = 0; i < p->n_pools; i++)
		free(p->pools[i].nl);
	free(p->pools);
	free(p->vfs);
	free(p->heap);
	free(p->obucket);
	free(p->abucket);
	free(p);
}

int vfo_pools_find_pool(const struct vfo_pools *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_pools; i++)
		if (!strcmp(p->pools[i].name, name))
			return (int)i;
	return -ENOENT;
}

int vfo_pools_add_pool(struct vfo_pools *p, const char *name)
{
	struct pool *pl;

	if (!name || !name[0] || strlen(name) >= VFO_POOL_NAME_MAX)
		return -EINVAL;
	if (vfo_pools_find_pool(p, name) >= 0)
		return -EEXIST;
	pl = realloc(p->pools, (p->n_pools + 1) * sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	p->pools = pl;
	pl = &p->pools[p->n_pools];
	memset(pl, 0, sizeof(*pl));
	strcpy(pl->name, name);
	return (int)p->n_pools++;
}

size_t vfo_pools_n_pools(const struct vfo_pools *p)
{
	return p->n_pools;
}

const char *vfo_pools_pool_name(const struct vfo_pools *p, int pool)
{
	if (pool < 0 || (size_t)pool >= p->n_pools)
		return NULL;
	return p->pools[pool].name;
}

static bool bad_pool(const struct vfo_pools *p, int pool)
{
	return pool < 0 || (size_t)pool >= p->n_pools;
}

static int grow_vfs(struct vfo_pools *p)
{
	size_t ncap = p->cap_vfs ? p->cap_vfs * 2 : 64;
	struct vfo_pool_vf *v;
	int32_t *h;

	if (ncap > INT32_MAX / 2)
		return -ENOSPC;
	v = realloc(p->vfs, ncap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->vfs = v;
	h = realloc(p->heap, ncap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	p->heap = h;
	p->cap_vfs = ncap;
	return 0;
}

int vfo_pools_add_vf(struct vfo_pools *p, int pool, const char *addr, const char *pf, int index,
		     int numa_node)
{
	struct vfo_pool_vf *vf;
	int32_t id;
	int r;

	if (bad_pool(p, pool))
		return -ENOENT;
	if (!addr || !addr[0] || strlen(addr) >= VFO_PCI_ADDR_MAX ||
	    (pf && strlen(pf) >= VFO_PF_NAME_MAX))
		return -EINVAL;
	if (vfo_pools_lookup_addr(p, addr) >= 0)
		return -EEXIST;
	if (numa_node < -1)
		numa_node = -1;
	if (!nl_get(&p->pools[pool], numa_node, true))
		return -ENOMEM;
	if (p->n_vfs == p->cap_vfs && (r = grow_vfs(p)) < 0)
		return r;
	id = (int32_t)p->n_vfs++;
	vf = &p->vfs[id];
	memset(vf, 0, sizeof(*vf));
	strcpy(vf->addr, addr);
	if (pf)
		strcpy(vf->pf, pf);
	vf->index = index;
	vf->numa_node = numa_node;
	vf->pool = pool;
	vf->heap = vf->onext = NIL;
	vf->anext = *achain(p, addr);
	*achain(p, addr) = id;
	free_push(p, id);
	p->pools[pool].c.total++;
	p->pools[pool].c.free++;
	/* a failed rehash only leaves longer chains behind */
	if (p->n_vfs > p->n_buckets)
		rehash(p, p->n_buckets * 4);
	return id;
}

int vfo_pools_add_inventory(struct vfo_pools *p, int pool, const struct vfo_inventory *inv,
			    const struct vfo_pf_range *r)
{
	const struct vfo_inv_pf *pf = vfo_inventory_find_pf(inv, r->pf);
	int added = 0;
	size_t i;

	if (!pf)
		return -ENODEV;
	if (r->last >= 0 && (size_t)r->last >= pf->n_vfs)
		return -ERANGE;
	for (i = 0; i < pf->n_vfs; i++) {
		const struct vfo_inv_vf *vf = &pf->vfs[i];
		int ret;

		if (r->first >= 0 && (vf->index < r->first || vf->index > r->last))
			continue;
		ret = vfo_pools_add_vf(p, pool, vf->addr, pf->netdev[0] ? pf->netdev : pf->addr,
				       vf->index, vf->numa_node);
		if (ret < 0)
			return ret;
		added++;
	}
	return added;
}

int vfo_pools_add_emulated(struct vfo_pools *p, int pool, int count)
{
	char addr[VFO_PCI_ADDR_MAX];
	int i, r;

	if (bad_pool(p, pool))
		return -ENOENT;
	for (i = 0; i < count; i++) {
		if (snprintf(addr, sizeof(addr), "emu:%s/%d", p->pools[pool].name, i) >=
		    (int)sizeof(addr))
			return -ENAMETOOLONG;
		r = vfo_pools_add_vf(p, pool, addr, NULL, i, -1);
		if (r < 0)
			return r;
	}
	return count;
}

size_t vfo_pools_n_vfs(const struct vfo_pools *p)
{
	return p->n_vfs;
}

static bool bad_vf(const struct vfo_pools *p, int id)
{
	return id < 0 || (size_t)id >= p->n_vfs || p->vfs[id].gone;
}

const struct vfo_pool_vf *vfo_pools_vf(const struct vfo_pools *p, int id)
{
	return id < 0 || (size_t)id >= p->n_vfs ? NULL : &p->vfs[id];
}

int vfo_pools_lookup_addr(const struct vfo_pools *p, const char *addr)
{
	int32_t id = p->abucket[addr_hash(addr) & (p->n_buckets - 1)];

	for (; id != NIL; id = p->vfs[id].anext)
		if (!strcmp(p->vfs[id].addr, addr))
			return id;
	return -ENOENT;
}

int vfo_pools_lookup_owner(const struct vfo_pools *p, const struct vfo_owner *o)
{
	int32_t id = p->obucket[owner_hash(o) & (p->n_buckets - 1)];

	for (; id != NIL; id = p->vfs[id].onext)
		if (owner_eq(&p->vfs[id].owner, o))
			return id;
	return -ENOENT;
}

/* ---- state transitions ------------------------------------------------ */

static void set_counts(struct vfo_pools *p, int32_t id, enum vfo_vf_state to)
{
	struct vfo_pool_counts *c = &p->pools[p->vfs[id].pool].c;
	size_t *from[] = { &c->free, &c->reserved, &c->assigned };

	(*from[p->vfs[id].state])--;
	(*from[to])++;
	p->vfs[id].state = to;
}

static void take(struct vfo_pools *p, int32_t id, const struct vfo_owner *o, enum vfo_vf_state to,
		 int64_t deadline_ms)
{
	struct vfo_pool_vf *vf = &p->vfs[id];

	free_unlink(p, id);
	set_counts(p, id, to);
	vf->owner = *o;
	owner_link(p, id);
	vf->deadline_ms = to == VFO_VF_RESERVED ? deadline_ms : 0;
	if (to == VFO_VF_RESERVED && deadline_ms > 0)
		heap_push(p, id);
}

static void give_back(struct vfo_pools *p, int32_t id)
{
	struct vfo_pool_vf *vf = &p->vfs[id];

	heap_remove(p, id);
	owner_unlink(p, id);
	set_counts(p, id, VFO_VF_FREE);
	memset(&vf->owner, 0, sizeof(vf->owner));
	vf->deadline_ms = 0;
	json_object_put(vf->data);
	vf->data = NULL;
	free_push(p, id);
}

static void set_deadline(struct vfo_pools *p, int32_t id, int64_t deadline_ms)
{
	heap_remove(p, id);
	p->vfs[id].deadline_ms = deadline_ms;
	if (deadline_ms > 0)
		heap_push(p, id);
}

int vfo_pools_reserve(struct vfo_pools *p, int pool, const struct vfo_owner *o, int numa_node,
		      unsigned int flags, int64_t deadline_ms)
{
	int32_t id;

	if (bad_pool(p, pool))
		return -ENOENT;
	if (!vfo_owner_valid(o))
		return -EINVAL;
	id = vfo_pools_lookup_owner(p, o);
	if (id >= 0) {
		if (p->vfs[id].pool != pool)
			return -EEXIST;
		if (p->vfs[id].state == VFO_VF_RESERVED)
			set_deadline(p, id, deadline_ms);
		return id;
	}
	id = free_pick(p, pool, numa_node, flags);
	if (id == NIL)
		return -ENOSPC;
	take(p, id, o, VFO_VF_RESERVED, deadline_ms);
	return id;
}

int vfo_pools_assign(struct vfo_pools *p, const struct vfo_owner *o)
{
	int id = vfo_pools_lookup_owner(p, o);

	if (id < 0)
		return id;
	if (p->vfs[id].state == VFO_VF_RESERVED) {
		heap_remove(p, id);
		p->vfs[id].deadline_ms = 0;
		set_counts(p, id, VFO_VF_ASSIGNED);
	}
	return id;
}

int vfo_pools_assign_new(struct vfo_pools *p, int pool, const struct vfo_owner *o, int numa_node,
			 unsigned int flags)
{
	int id = vfo_pools_reserve(p, pool, o, numa_node, flags, 0);

	return id < 0 ? id : vfo_pools_assign(p, o);
}

int vfo_pools_release(struct vfo_pools *p, const struct vfo_owner *o)
{
	int id = vfo_pools_lookup_owner(p, o);

	if (id >= 0)
		give_back(p, id);
	return id;
}

int vfo_pools_release_vf(struct vfo_pools *p, int id)
{
	if (bad_vf(p, id))
		return -ENOENT;
	if (p->vfs[id].state == VFO_VF_FREE)
		return -EALREADY;
	give_back(p, id);
	return id;
}

int vfo_pools_set_data(struct vfo_pools *p, int id, json_object *data)
{
	if (bad_vf(p, id) || p->vfs[id].state == VFO_VF_FREE)
		return -ENOENT;
	json_object_put(p->vfs[id].data);
	p->vfs[id].data = data;
	return 0;
}

int vfo_pools_remove_vf(struct vfo_pools *p, int id)
{
	struct vfo_pool_vf *vf;
	int32_t *b;

	if (bad_vf(p, id))
		return -ENOENT;
	vf = &p->vfs[id];
	if (vf->state != VFO_VF_FREE)
		give_back(p, id);
	free_unlink(p, id);
	p->pools[vf->pool].c.free--;
	p->pools[vf->pool].c.total--;
	for (b = achain(p, vf->addr); *b != NIL; b = &p->vfs[*b].anext) {
		if (*b == id) {
			*b = vf->anext;
			break;
		}
	}
	vf->gone = true;
	return 0;
}

int vfo_pools_expire(struct vfo_pools *p, int64_t now_ms, vfo_pools_expire_fn fn, void *opaque)
{
	int n = 0;

	while (p->n_heap && dl(p, 0) <= now_ms) {
		int32_t id = p->heap[0];

		if (fn)
			fn(&p->vfs[id], opaque);
		give_back(p, id);
		n++;
	}
	return n;
}

int64_t vfo_pools_next_deadline(const struct vfo_pools *p)
{
	return p->n_heap ? dl(p, 0) : INT64_MAX;
}

void vfo_pools_counts(const struct vfo_pools *p, int pool, struct vfo_pool_counts *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < p->n_pools; i++) {
		if (pool >= 0 && (size_t)pool != i)
			continue;
		c->total += p->pools[i].c.total;
		c->free += p->pools[i].c.free;
		c->reserved += p->pools[i].c.reserved;
		c->assigned += p->pools[i].c.assigned;
	}
}

/* ---- persistence ------------------------------------------------------ */

json_object *vfo_pools_to_json(const struct vfo_pools *p)
{
	json_object *root = json_object_new_object(), *arr, *e;
	size_t i;

	arr = json_object_new_array();
	if (!root || !arr)
		goto fail;
	json_object_object_add(root, "version", json_object_new_int(VFO_POOL_STATE_VERSION));
	json_object_object_add(root, "vfs", arr);
	for (i = 0; i < p->n_vfs; i++) {
		const struct vfo_pool_vf *vf = &p->vfs[i];

		if (vf->gone || vf->state == VFO_VF_FREE)
			continue;
		e = json_object_new_object();
		if (!e)
			goto fail_root;
		json_object_object_add(e, "addr", json_object_new_string(vf->addr));
		json_object_object_add(e, "pool", json_object_new_string(p->pools[vf->pool].name));
		json_object_object_add(e, "state",
				       json_object_new_string(vfo_vf_state_str(vf->state)));
		json_object_object_add(e, "uuid", json_object_new_string(vf->owner.uuid));
		json_object_object_add(e, "pair", json_object_new_string(vf->owner.pair));
		if (vf->state == VFO_VF_RESERVED)
			json_object_object_add(e, "deadline_ms",
					       json_object_new_int64(vf->deadline_ms));
		if (vf->data)
			json_object_object_add(e, "data", json_object_get(vf->data));
		json_object_array_add(arr, e);
	}
	return root;
fail:
	json_object_put(arr);
fail_root:
	json_object_put(root);
	return NULL;
}

static const char *jstr(json_object *o, const char *key, size_t max)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) < max && s[0] ? s : NULL;
}

static int entry_from_json(json_object *o, struct vfo_pool_entry *e, char *err, size_t errlen,
			   size_t idx)
{
	const char *addr, *pool, *state, *uuid, *pair;
	json_object *v;

	if (!json_object_is_type(o, json_type_object))
		goto bad;
	addr = jstr(o, "addr", sizeof(e->addr));
	pool = jstr(o, "pool", sizeof(e->pool));
	state = jstr(o, "state", 16);
	uuid = jstr(o, "uuid", sizeof(e->owner.uuid));
	pair = jstr(o, "pair", sizeof(e->owner.pair));
	if (!addr || !pool || !state || !uuid || !pair || vfo_owner_set(&e->owner, uuid, pair) < 0)
		goto bad;
	strcpy(e->addr, addr);
	strcpy(e->pool, pool);
	if (!strcmp(state, "reserved"))
		e->state = VFO_VF_RESERVED;
	else if (!strcmp(state, "assigned"))
		e->state = VFO_VF_ASSIGNED;
	else
		goto bad;
	if (json_object_object_get_ex(o, "deadline_ms", &v)) {
		if (!json_object_is_type(v, json_type_int))
			goto bad;
		e->deadline_ms = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "data", &v))
		e->data = json_object_get(v);
	return 0;
bad:
	snprintf(err, errlen, "state entry %zu is malformed", idx);
	return -EINVAL;
}

int vfo_pool_entries_from_json(json_object *obj, struct vfo_pool_entry **out, size_t *n, char *err,
			       size_t errlen)
{
	struct vfo_pool_entry *e = NULL;
	json_object *v, *arr;
	size_t i, len;
	int r;

	*out = NULL;
	*n = 0;
	if (errlen)
		err[0] = '\0';
	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "state has no version");
		return -EINVAL;
	}
	if (json_object_get_int64(v) != VFO_POOL_STATE_VERSION) {
		snprintf(err, errlen, "state version %" PRId64 " unsupported",
			 json_object_get_int64(v));
		return -EPROTONOSUPPORT;
	}
	if (!json_object_object_get_ex(obj, "vfs", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "state has no vfs array");
		return -EINVAL;
	}
	len = json_object_array_length(arr);
	if (len) {
		e = calloc(len, sizeof(*e));
		if (!e)
			return -ENOMEM;
	}
	for (i = 0; i < len; i++) {
		r = entry_from_json(json_object_array_get_idx(arr, i), &e[i], err, errlen, i);
		if (r < 0) {
			vfo_pool_entries_free(e, i);
			return r;
		}
	}
	*out = e;
	*n = len;
	return 0;
}

void vfo_pool_entries_free(struct vfo_pool_entry *e, size_t n)
{
	size_t i;

	for (i = 0; e && i < n; i++)
		json_object_put(e[i].data);
	free(e);
}

const char *vfo_reconcile_kind_str(enum vfo_reconcile_kind k)
{
	switch (k) {
	case VFO_RECONCILE_VANISHED:
		return "vanished";
	case VFO_RECONCILE_UNKNOWN:
		return "unknown";
	case VFO_RECONCILE_POOL_CHANGED:
		return "pool-changed";
	case VFO_RECONCILE_CONFLICT:
		return "conflict";
	case VFO_RECONCILE_DUP_OWNER:
		return "duplicate-owner";
	}
	return "?";
}

static int report(struct vfo_reconcile_item **items, size_t *n, enum vfo_reconcile_kind kind,
		  const struct vfo_pool_entry *e)
{
	struct vfo_reconcile_item *it;

	it = realloc(*items, (*n + 1) * sizeof(*it));
	if (!it)
		return -ENOMEM;
	*items = it;
	it = &it[(*n)++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	strcpy(it->addr, e->addr);
	strcpy(it->pool, e->pool);
	it->state = e->state;
	it->owner = e->owner;
	return 0;
}

static int reconcile_one(struct vfo_pools *p, struct vfo_pool_entry *e,
			 const struct vfo_inventory *inv, struct vfo_reconcile_item **items,
			 size_t *n_items)
{
	int id = vfo_pools_lookup_addr(p, e->addr);
	int r;

	if (id < 0)
		return report(items, n_items,
			      vfo_inventory_find_vf(inv, e->addr) ? VFO_RECONCILE_UNKNOWN :
								    VFO_RECONCILE_VANISHED,
			      e);
	if (p->vfs[id].state != VFO_VF_FREE)
		return report(items, n_items, VFO_RECONCILE_CONFLICT, e);
	if (vfo_pools_lookup_owner(p, &e->owner) >= 0)
		return report(items, n_items, VFO_RECONCILE_DUP_OWNER, e);
	/* A VF that moved pools is kept: a domain may still hold it, and
	 * handing it to somebody else would give it two owners. */
	if (strcmp(p->pools[p->vfs[id].pool].name, e->pool)) {
		r = report(items, n_items, VFO_RECONCILE_POOL_CHANGED, e);
		if (r < 0)
			return r;
	}
	take(p, id, &e->owner, e->state, e->deadline_ms);
	p->vfs[id].data = e->data;
	e->data = NULL;
	return 1;
}

int vfo_pools_reconcile(struct vfo_pools *p, struct vfo_pool_entry *e, size_t n,
			const struct vfo_inventory *inv, struct vfo_reconcile_item **items,
			size_t *n_items)
{
	int restored = 0, r;
	size_t i;

	*items = NULL;
	*n_items = 0;
	for (i = 0; i < n; i++) {
		r = reconcile_one(p, &e[i], inv, items, n_items);
		if (r < 0) {
			free(*items);
			*items = NULL;
			*n_items = 0;
			return r;
		}
		restored += r;
	}
	return restored;
}
