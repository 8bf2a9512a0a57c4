// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pool allocator tests: a long random operation sequence checked against a
 * reference model after every step, plus the edge cases one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pool.h"
#include "util.h"

static void mk_owner(struct vfo_owner *o, unsigned int dom, unsigned int pair)
{
	char uuid[40], p[16];

	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", dom, dom * 7);
	snprintf(p, sizeof(p), "net%u", pair);
	assert_int_equal(vfo_owner_set(o, uuid, p), 0);
}

/* pool "a": n0 VFs on node 0 and n1 on node 1 */
static struct vfo_pools *mk_pools(int n0, int n1)
{
	struct vfo_pools *p = vfo_pools_new();
	char addr[32];
	int pool, i;

	assert_non_null(p);
	pool = vfo_pools_add_pool(p, "a");
	assert_int_equal(pool, 0);
	for (i = 0; i < n0 + n1; i++) {
		snprintf(addr, sizeof(addr), "0000:10:%02x.%x", 0x10 + i / 8, i % 8);
		assert_int_equal(vfo_pools_add_vf(p, pool, addr, "enp16s0f0", i, i < n0 ? 0 : 1),
				 i);
	}
	return p;
}

/* ---- range parser ----------------------------------------------------- */

static void test_range_ok(void **state)
{
	struct vfo_pf_range r;
	char err[128];

	(void)state;
	assert_int_equal(vfo_pf_range_parse("enp3s0f0#0-15", &r, err, sizeof(err)), 0);
	assert_string_equal(r.pf, "enp3s0f0");
	assert_int_equal(r.first, 0);
	assert_int_equal(r.last, 15);
	assert_int_equal(vfo_pf_range_parse("enp3s0f0", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, -1);
	assert_int_equal(r.last, -1);
	assert_int_equal(vfo_pf_range_parse("eth1#7", &r, err, sizeof(err)), 0);
	assert_int_equal(r.first, 7);
	assert_int_equal(r.last, 7);
	assert_int_equal(vfo_pf_range_parse("0000:03:00.0#8-8", &r, err, sizeof(err)), 0);
	assert_string_equal(r.pf, "0000:03:00.0");
	assert_int_equal(r.first, 8);
	assert_int_equal(vfo_pf_range_parse("p#0-65535", &r, err, sizeof(err)), 0);
	assert_int_equal(r.last, 65535);
}

static void test_range_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"#0-3",
		"enp3s0f0#",
		"enp3s0f0#-",
		"enp3s0f0#3-",
		"enp3s0f0#-3",
		"enp3s0f0#a-b",
		"enp3s0f0#1-2-3",
		"enp3s0f0#15-0",
		"enp3s0f0#0-65536",
		"enp3s0f0#+1",
		"enp3s0f0# 1",
		"enp3s0f0#1 ",
		"enp 3#1",
		"enp/3#1",
		"enp3s0f0#1#2",
		"enp3s0f0#0x10",
		"enp3s0f0#99999999999",
		"a-very-long-interface-name-that-is-too-long#1",
	};
	struct vfo_pf_range r;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < VFO_ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		if (vfo_pf_range_parse(bad[i], &r, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void test_owner_valid(void **state)
{
	struct vfo_owner o;

	(void)state;
	assert_int_equal(vfo_owner_set(&o, "6a2b8d4e-1f3c-4a5b-9c7d-0e1f2a3b4c5d", "net0"), 0);
	assert_int_equal(vfo_owner_set(&o, "6A2B8D4E-1F3C-4A5B-9C7D-0E1F2A3B4C5D", "ua-vfo_1.x:y"),
			 0);
	assert_int_equal(vfo_owner_set(&o, "not-a-uuid", "net0"), -EINVAL);
	assert_int_equal(vfo_owner_set(&o, "6a2b8d4e-1f3c-4a5b-9c7d-0e1f2a3b4c5dx", "net0"),
			 -EINVAL);
	assert_int_equal(vfo_owner_set(&o, "6a2b8d4e+1f3c-4a5b-9c7d-0e1f2a3b4c5d", "net0"),
			 -EINVAL);
	assert_int_equal(vfo_owner_set(&o, "6a2b8d4e-1f3c-4a5b-9c7d-0e1f2a3b4c5d", ""), -EINVAL);
	assert_int_equal(vfo_owner_set(&o, "6a2b8d4e-1f3c-4a5b-9c7d-0e1f2a3b4c5d", "a b"), -EINVAL);
	assert_int_equal(vfo_owner_set(&o, NULL, "x"), -EINVAL);
}

/* ---- single behaviours ------------------------------------------------ */

static void test_basic_cycle(void **state)
{
	struct vfo_pools *p = mk_pools(2, 0);
	struct vfo_pool_counts c;
	struct vfo_owner a, b, x;
	int id, id2;

	(void)state;
	mk_owner(&a, 1, 0);
	mk_owner(&b, 2, 0);
	mk_owner(&x, 3, 0);
	id = vfo_pools_reserve(p, 0, &a, -1, 0, 1000);
	assert_true(id >= 0);
	assert_int_equal(vfo_pools_vf(p, id)->state, VFO_VF_RESERVED);
	/* idempotent, and the deadline moves */
	assert_int_equal(vfo_pools_reserve(p, 0, &a, -1, 0, 5000), id);
	assert_int_equal(vfo_pools_next_deadline(p), 5000);
	id2 = vfo_pools_assign_new(p, 0, &b, -1, 0);
	assert_true(id2 >= 0 && id2 != id);
	assert_int_equal(vfo_pools_vf(p, id2)->state, VFO_VF_ASSIGNED);
	assert_int_equal(vfo_pools_reserve(p, 0, &x, -1, 0, 1), -ENOSPC);
	assert_int_equal(vfo_pools_assign(p, &x), -ENOENT);
	assert_int_equal(vfo_pools_assign(p, &a), id);
	assert_int_equal(vfo_pools_assign(p, &a), id);
	assert_int_equal(vfo_pools_next_deadline(p), INT64_MAX);
	/* re-reserve of an assigned owner returns it, still assigned */
	assert_int_equal(vfo_pools_reserve(p, 0, &a, -1, 0, 9), id);
	assert_int_equal(vfo_pools_vf(p, id)->state, VFO_VF_ASSIGNED);
	vfo_pools_counts(p, 0, &c);
	assert_int_equal(c.assigned, 2);
	assert_int_equal(c.free, 0);
	assert_int_equal(vfo_pools_release(p, &a), id);
	assert_int_equal(vfo_pools_release(p, &a), -ENOENT);
	assert_int_equal(vfo_pools_release_vf(p, id), -EALREADY);
	assert_int_equal(vfo_pools_release_vf(p, id2), id2);
	assert_int_equal(vfo_pools_release_vf(p, 99), -ENOENT);
	vfo_pools_counts(p, -1, &c);
	assert_int_equal(c.free, 2);
	assert_int_equal(c.total, 2);
	/* bad arguments */
	assert_int_equal(vfo_pools_reserve(p, 5, &a, -1, 0, 0), -ENOENT);
	memset(&x, 0, sizeof(x));
	assert_int_equal(vfo_pools_reserve(p, 0, &x, -1, 0, 0), -EINVAL);
	vfo_pools_free(p);
}

static void test_pools_and_vfs(void **state)
{
	struct vfo_pools *p = vfo_pools_new();
	struct vfo_owner a;
	int b;

	(void)state;
	mk_owner(&a, 1, 0);
	assert_int_equal(vfo_pools_add_pool(p, "a"), 0);
	assert_int_equal(vfo_pools_add_pool(p, "a"), -EEXIST);
	assert_int_equal(vfo_pools_add_pool(p, ""), -EINVAL);
	b = vfo_pools_add_pool(p, "b");
	assert_int_equal(b, 1);
	assert_int_equal(vfo_pools_find_pool(p, "b"), 1);
	assert_int_equal(vfo_pools_find_pool(p, "zz"), -ENOENT);
	assert_string_equal(vfo_pools_pool_name(p, 1), "b");
	assert_null(vfo_pools_pool_name(p, 2));
	assert_int_equal(vfo_pools_add_vf(p, 0, "0000:01:00.1", "x", 0, 0), 0);
	assert_int_equal(vfo_pools_add_vf(p, 1, "0000:01:00.1", "x", 0, 0), -EEXIST);
	assert_int_equal(vfo_pools_add_vf(p, 7, "0000:01:00.2", "x", 0, 0), -ENOENT);
	assert_int_equal(vfo_pools_add_vf(p, 0, "", "x", 0, 0), -EINVAL);
	assert_int_equal(vfo_pools_add_emulated(p, b, 3), 3);
	assert_int_equal(vfo_pools_lookup_addr(p, "emu:b/2"), 3);
	assert_int_equal(vfo_pools_vf(p, 3)->numa_node, -1);
	/* one owner, one VF: a second pool is refused */
	assert_int_equal(vfo_pools_reserve(p, 0, &a, -1, 0, 0), 0);
	assert_int_equal(vfo_pools_reserve(p, b, &a, -1, 0, 0), -EEXIST);
	assert_int_equal(vfo_pools_assign_new(p, b, &a, -1, 0), -EEXIST);
	/* removing an owned VF drops its owner and its count */
	assert_int_equal(vfo_pools_remove_vf(p, 0), 0);
	assert_int_equal(vfo_pools_remove_vf(p, 0), -ENOENT);
	assert_int_equal(vfo_pools_lookup_owner(p, &a), -ENOENT);
	assert_int_equal(vfo_pools_lookup_addr(p, "0000:01:00.1"), -ENOENT);
	assert_true(vfo_pools_vf(p, 0)->gone);
	assert_int_equal(vfo_pools_reserve(p, 0, &a, -1, 0, 0), -ENOSPC);
	vfo_pools_free(p);
}

static void test_numa(void **state)
{
	struct vfo_pools *p = mk_pools(3, 3);
	struct vfo_owner o[6];
	int i, id;

	(void)state;
	for (i = 0; i < 6; i++)
		mk_owner(&o[i], 10 + (unsigned)i, 0);
	for (i = 0; i < 3; i++) {
		id = vfo_pools_reserve(p, 0, &o[i], 1, 0, 0);
		assert_true(id >= 0);
		assert_int_equal(vfo_pools_vf(p, id)->numa_node, 1);
	}
	/* node 1 is full: strict fails, non-strict falls back to node 0 */
	assert_int_equal(vfo_pools_reserve(p, 0, &o[3], 1, VFO_NUMA_STRICT, 0), -ENOSPC);
	id = vfo_pools_reserve(p, 0, &o[3], 1, 0, 0);
	assert_true(id >= 0);
	assert_int_equal(vfo_pools_vf(p, id)->numa_node, 0);
	/* an unknown node is "full" too */
	assert_int_equal(vfo_pools_reserve(p, 0, &o[4], 7, VFO_NUMA_STRICT, 0), -ENOSPC);
	id = vfo_pools_reserve(p, 0, &o[4], 0, VFO_NUMA_STRICT, 0);
	assert_int_equal(vfo_pools_vf(p, id)->numa_node, 0);
	vfo_pools_release(p, &o[1]);
	id = vfo_pools_reserve(p, 0, &o[5], 1, VFO_NUMA_STRICT, 0);
	assert_int_equal(vfo_pools_vf(p, id)->numa_node, 1);
	vfo_pools_free(p);
}

static void test_no_pref_balances(void **state)
{
	struct vfo_pools *p = mk_pools(4, 4);
	struct vfo_owner o;
	int i, id, on[2] = { 0, 0 };

	(void)state;
	for (i = 0; i < 4; i++) {
		mk_owner(&o, 20 + (unsigned)i, 0);
		id = vfo_pools_reserve(p, 0, &o, -1, 0, 0);
		on[vfo_pools_vf(p, id)->numa_node]++;
	}
	assert_int_equal(on[0], 2);
	assert_int_equal(on[1], 2);
	vfo_pools_free(p);
}

struct expired {
	int n;
	int64_t last;
	int with_data;
};

static void on_expire(const struct vfo_pool_vf *vf, void *opaque)
{
	struct expired *e = opaque;

	assert_int_equal(vf->state, VFO_VF_RESERVED);
	assert_true(vf->deadline_ms >= e->last);
	e->last = vf->deadline_ms;
	e->n++;
	if (vf->data)
		e->with_data++;
}

static void test_expire(void **state)
{
	struct vfo_pools *p = mk_pools(8, 0);
	struct expired e = { 0 };
	struct vfo_owner o[8];
	int i, id;

	(void)state;
	for (i = 0; i < 8; i++) {
		mk_owner(&o[i], 30 + (unsigned)i, 0);
		/* deadlines 800, 700, ... 100 */
		id = vfo_pools_reserve(p, 0, &o[i], -1, 0, 800 - 100 * i);
		assert_true(id >= 0);
	}
	assert_int_equal(vfo_pools_set_data(p, vfo_pools_lookup_owner(p, &o[7]),
					    json_object_new_string("saved")),
			 0);
	assert_int_equal(vfo_pools_set_data(p, 999, NULL), -ENOENT);
	assert_int_equal(vfo_pools_assign(p, &o[6]), vfo_pools_lookup_owner(p, &o[6]));
	assert_int_equal(vfo_pools_next_deadline(p), 100); /* o[7] */
	assert_int_equal(vfo_pools_expire(p, 99, on_expire, &e), 0);
	assert_int_equal(vfo_pools_expire(p, 350, on_expire, &e), 2);
	assert_int_equal(e.with_data, 1);
	assert_int_equal(vfo_pools_lookup_owner(p, &o[7]), -ENOENT);
	assert_int_equal(vfo_pools_lookup_owner(p, &o[5]), -ENOENT);
	/* o[6] was assigned: never expires */
	assert_true(vfo_pools_lookup_owner(p, &o[6]) >= 0);
	/* no deadline means no expiry */
	mk_owner(&o[7], 99, 0);
	assert_true(vfo_pools_reserve(p, 0, &o[7], -1, 0, 0) >= 0);
	assert_int_equal(vfo_pools_expire(p, INT64_MAX, on_expire, &e), 5);
	assert_int_equal(e.n, 7);
	assert_true(vfo_pools_lookup_owner(p, &o[7]) >= 0);
	assert_int_equal(vfo_pools_next_deadline(p), INT64_MAX);
	vfo_pools_free(p);
}

/* ---- random sequence against a reference model ------------------------ */

#define R_POOLS 3
#define R_OWNERS 160
#define R_OPS 200000

struct model_vf {
	enum vfo_vf_state state;
	int owner; /* index into owners, -1 */
	int64_t deadline;
	int pool, numa;
};

struct model {
	struct model_vf vf[256];
	int n_vfs;
	int owner_vf[R_OWNERS]; /* -1 if none */
	struct vfo_owner owners[R_OWNERS];
	int64_t now;
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: deterministic across libcs, unlike rand() */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

static bool model_has_free(const struct model *m, int pool, int numa)
{
	int i;

	for (i = 0; i < m->n_vfs; i++)
		if (m->vf[i].pool == pool && m->vf[i].state == VFO_VF_FREE &&
		    (numa < 0 || m->vf[i].numa == numa))
			return true;
	return false;
}

static void model_free(struct model *m, int id)
{
	m->owner_vf[m->vf[id].owner] = -1;
	m->vf[id].state = VFO_VF_FREE;
	m->vf[id].owner = -1;
	m->vf[id].deadline = 0;
}

/* Plain comparisons, not cmocka asserts: this runs 200 000 times. */
#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			fail_msg("model mismatch: %s (line %d)", #cond, __LINE__); \
	} while (0)

static void check_model(const struct vfo_pools *p, const struct model *m)
{
	size_t tot[R_POOLS] = { 0 }, st[R_POOLS][3] = { { 0 } };
	int64_t min_dl = INT64_MAX;
	struct vfo_pool_counts c;
	int i;

	for (i = 0; i < m->n_vfs; i++) {
		const struct vfo_pool_vf *vf = vfo_pools_vf(p, i);
		const struct model_vf *mv = &m->vf[i];

		CHECK(vf->state == mv->state);
		tot[mv->pool]++;
		st[mv->pool][mv->state]++;
		if (mv->state == VFO_VF_FREE)
			continue;
		CHECK(!memcmp(&vf->owner, &m->owners[mv->owner], sizeof(vf->owner)));
		/* the owner index finds exactly this VF: one owner, one VF */
		CHECK(vfo_pools_lookup_owner(p, &vf->owner) == i);
		CHECK(m->owner_vf[mv->owner] == i);
		if (mv->state == VFO_VF_RESERVED) {
			CHECK(vf->deadline_ms == mv->deadline);
			if (mv->deadline > 0 && mv->deadline < min_dl)
				min_dl = mv->deadline;
		}
	}
	for (i = 0; i < R_POOLS; i++) {
		vfo_pools_counts(p, i, &c);
		CHECK(c.total == tot[i]);
		CHECK(c.free == st[i][VFO_VF_FREE]);
		CHECK(c.reserved == st[i][VFO_VF_RESERVED]);
		CHECK(c.assigned == st[i][VFO_VF_ASSIGNED]);
		/* no leak */
		CHECK(c.free + c.reserved + c.assigned == c.total);
	}
	CHECK(vfo_pools_next_deadline(p) == min_dl);
}

static void rand_reserve(struct vfo_pools *p, struct model *m, bool direct)
{
	int ow = (int)rnd(R_OWNERS), pool = (int)rnd(R_POOLS);
	int numa = (int)rnd(3) - 1;
	unsigned int flags = rnd(4) == 0 ? VFO_NUMA_STRICT : 0;
	int64_t dl = rnd(5) ? m->now + 1 + rnd(500) : 0;
	int held = m->owner_vf[ow], id;

	if (direct)
		id = vfo_pools_assign_new(p, pool, &m->owners[ow], numa, flags);
	else
		id = vfo_pools_reserve(p, pool, &m->owners[ow], numa, flags, dl);
	if (held >= 0) {
		if (m->vf[held].pool != pool) {
			assert_int_equal(id, -EEXIST);
			return;
		}
		assert_int_equal(id, held);
		if (direct)
			m->vf[held].state = VFO_VF_ASSIGNED;
		if (m->vf[held].state == VFO_VF_RESERVED)
			m->vf[held].deadline = dl;
		else
			m->vf[held].deadline = 0;
		return;
	}
	if (!model_has_free(m, pool, (flags & VFO_NUMA_STRICT) ? numa : -1)) {
		assert_int_equal(id, -ENOSPC);
		return;
	}
	assert_true(id >= 0 && id < m->n_vfs);
	assert_int_equal(m->vf[id].state, VFO_VF_FREE);
	assert_int_equal(m->vf[id].pool, pool);
	if (numa >= 0 && model_has_free(m, pool, numa))
		assert_int_equal(m->vf[id].numa, numa);
	m->vf[id].state = direct ? VFO_VF_ASSIGNED : VFO_VF_RESERVED;
	m->vf[id].owner = ow;
	m->vf[id].deadline = direct ? 0 : dl;
	m->owner_vf[ow] = id;
}

static void rand_step(struct vfo_pools *p, struct model *m)
{
	int ow = (int)rnd(R_OWNERS), id, i, n;

	switch (rnd(10)) {
	case 0:
	case 1:
	case 2:
		rand_reserve(p, m, false);
		break;
	case 3:
		rand_reserve(p, m, true);
		break;
	case 4:
	case 5:
		id = vfo_pools_assign(p, &m->owners[ow]);
		assert_int_equal(id, m->owner_vf[ow] >= 0 ? m->owner_vf[ow] : -ENOENT);
		if (id >= 0) {
			m->vf[id].state = VFO_VF_ASSIGNED;
			m->vf[id].deadline = 0;
		}
		break;
	case 6:
	case 7:
		id = vfo_pools_release(p, &m->owners[ow]);
		assert_int_equal(id, m->owner_vf[ow] >= 0 ? m->owner_vf[ow] : -ENOENT);
		if (id >= 0)
			model_free(m, id);
		break;
	case 8:
		id = (int)rnd((uint32_t)m->n_vfs);
		n = vfo_pools_release_vf(p, id);
		assert_int_equal(n, m->vf[id].state == VFO_VF_FREE ? -EALREADY : id);
		if (n >= 0)
			model_free(m, id);
		break;
	default:
		m->now += rnd(200);
		n = 0;
		for (i = 0; i < m->n_vfs; i++) {
			if (m->vf[i].state == VFO_VF_RESERVED && m->vf[i].deadline > 0 &&
			    m->vf[i].deadline <= m->now) {
				model_free(m, i);
				n++;
			}
		}
		assert_int_equal(vfo_pools_expire(p, m->now, NULL, NULL), n);
		break;
	}
}

static void test_random_model(void **state)
{
	static struct model m;
	struct vfo_pools *p = vfo_pools_new();
	char addr[32], name[8];
	int i, k;

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ULL;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < R_POOLS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(vfo_pools_add_pool(p, name), i);
	}
	/* pool sizes 8, 40, 72: some pools run dry, some never do */
	for (i = 0; i < R_POOLS; i++) {
		for (k = 0; k < 8 + 32 * i; k++) {
			snprintf(addr, sizeof(addr), "0000:%02x:%02x.%x", 0x20 + i, 0x10 + k / 8,
				 k % 8);
			m.vf[m.n_vfs].pool = i;
			m.vf[m.n_vfs].numa = k % 3 == 2 ? 1 : 0;
			m.vf[m.n_vfs].owner = -1;
			assert_int_equal(vfo_pools_add_vf(p, i, addr, "pf", k, m.vf[m.n_vfs].numa),
					 m.n_vfs);
			m.n_vfs++;
		}
	}
	for (i = 0; i < R_OWNERS; i++) {
		mk_owner(&m.owners[i], (unsigned)i / 2, (unsigned)i % 2);
		m.owner_vf[i] = -1;
	}
	for (i = 0; i < R_OPS; i++) {
		rand_step(p, &m);
		check_model(p, &m);
	}
	vfo_pools_free(p);
}

/* ---- inventory, JSON and reconcile ------------------------------------ */

static struct vfo_inventory *mk_inventory(void)
{
	struct vfo_inventory *inv = calloc(1, sizeof(*inv));
	int i, k;

	inv->n_pfs = 2;
	inv->pfs = calloc(2, sizeof(*inv->pfs));
	for (i = 0; i < 2; i++) {
		struct vfo_inv_pf *pf = &inv->pfs[i];

		snprintf(pf->addr, sizeof(pf->addr), "0000:%02x:00.0", 0x10 + i);
		snprintf(pf->netdev, sizeof(pf->netdev), "enp%ds0f0", 16 + i);
		pf->totalvfs = pf->numvfs = 8;
		pf->n_vfs = 8;
		pf->vfs = calloc(8, sizeof(*pf->vfs));
		for (k = 0; k < 8; k++) {
			snprintf(pf->vfs[k].addr, sizeof(pf->vfs[k].addr), "0000:%02x:10.%d",
				 0x10 + i, k);
			pf->vfs[k].index = k;
			pf->vfs[k].numa_node = i;
			pf->vfs[k].pf = i;
		}
	}
	return inv;
}

static void test_add_inventory(void **state)
{
	struct vfo_inventory *inv = mk_inventory();
	struct vfo_pools *p = vfo_pools_new();
	struct vfo_pf_range r;
	char err[64];

	(void)state;
	vfo_pools_add_pool(p, "a");
	vfo_pools_add_pool(p, "b");
	vfo_pf_range_parse("enp16s0f0#2-4", &r, err, sizeof(err));
	assert_int_equal(vfo_pools_add_inventory(p, 0, inv, &r), 3);
	assert_int_equal(vfo_pools_lookup_addr(p, "0000:10:10.1"), -ENOENT);
	assert_int_equal(vfo_pools_lookup_addr(p, "0000:10:10.2"), 0);
	assert_string_equal(vfo_pools_vf(p, 0)->pf, "enp16s0f0");
	assert_int_equal(vfo_pools_vf(p, 0)->index, 2);
	/* overlapping range in another pool */
	vfo_pf_range_parse("enp16s0f0#4-5", &r, err, sizeof(err));
	assert_int_equal(vfo_pools_add_inventory(p, 1, inv, &r), -EEXIST);
	vfo_pf_range_parse("0000:11:00.0", &r, err, sizeof(err));
	assert_int_equal(vfo_pools_add_inventory(p, 1, inv, &r), 8);
	assert_int_equal(vfo_pools_vf(p, 4)->numa_node, 1);
	vfo_pf_range_parse("enp99s0f0", &r, err, sizeof(err));
	assert_int_equal(vfo_pools_add_inventory(p, 1, inv, &r), -ENODEV);
	vfo_pf_range_parse("enp16s0f0#6-8", &r, err, sizeof(err));
	assert_int_equal(vfo_pools_add_inventory(p, 1, inv, &r), -ERANGE);
	vfo_pools_free(p);
	vfo_inventory_free(inv);
}

static struct vfo_pools *pools_from_inv(const struct vfo_inventory *inv)
{
	struct vfo_pools *p = vfo_pools_new();
	struct vfo_pf_range r;
	char err[64];

	vfo_pools_add_pool(p, "a");
	vfo_pools_add_pool(p, "b");
	vfo_pf_range_parse("enp16s0f0", &r, err, sizeof(err));
	assert_true(vfo_pools_add_inventory(p, 0, inv, &r) > 0);
	vfo_pf_range_parse("enp17s0f0#0-3", &r, err, sizeof(err));
	assert_true(vfo_pools_add_inventory(p, 1, inv, &r) > 0);
	return p;
}

static void test_json_roundtrip(void **state)
{
	struct vfo_inventory *inv = mk_inventory();
	struct vfo_pools *p = pools_from_inv(inv), *q;
	struct vfo_reconcile_item *items;
	struct vfo_pool_entry *e;
	struct vfo_owner o[3];
	json_object *j, *back;
	size_t n, n_items;
	char err[128];
	char *txt;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		mk_owner(&o[i], 40 + (unsigned)i, 1);
	assert_true(vfo_pools_reserve(p, 0, &o[0], 0, 0, 123456789012LL) >= 0);
	assert_true(vfo_pools_assign_new(p, 1, &o[1], -1, 0) >= 0);
	assert_true(vfo_pools_reserve(p, 1, &o[2], -1, 0, 0) >= 0);
	assert_int_equal(vfo_pools_set_data(
				 p, vfo_pools_lookup_owner(p, &o[1]),
				 json_tokener_parse("{\"mac\":\"00:11:22:33:44:55\",\"vlan\":7}")),
			 0);
	j = vfo_pools_to_json(p);
	txt = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	back = json_tokener_parse(txt);
	assert_non_null(back);
	assert_int_equal(vfo_pool_entries_from_json(back, &e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	q = pools_from_inv(inv);
	assert_int_equal(vfo_pools_reconcile(q, e, n, inv, &items, &n_items), 3);
	assert_int_equal(n_items, 0);
	for (i = 0; i < vfo_pools_n_vfs(p); i++) {
		const struct vfo_pool_vf *a = vfo_pools_vf(p, (int)i);
		const struct vfo_pool_vf *b = vfo_pools_vf(q, (int)i);

		assert_string_equal(a->addr, b->addr);
		assert_int_equal(a->state, b->state);
		assert_memory_equal(&a->owner, &b->owner, sizeof(a->owner));
		assert_int_equal(a->deadline_ms, b->deadline_ms);
		assert_int_equal(!a->data, !b->data);
		if (a->data)
			assert_string_equal(json_object_to_json_string(a->data),
					    json_object_to_json_string(b->data));
	}
	assert_int_equal(vfo_pools_next_deadline(q), 123456789012LL);
	json_object_put(j);
	j = vfo_pools_to_json(q);
	assert_string_equal(txt, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	json_object_put(back);
	free(txt);
	vfo_pool_entries_free(e, n);
	vfo_pools_free(p);
	vfo_pools_free(q);
	vfo_inventory_free(inv);
}

static void test_json_bad(void **state)
{
	static const struct {
		const char *txt;
		int err;
	} cases[] = {
		{ "[]", -EINVAL },
		{ "{}", -EINVAL },
		{ "{\"version\":\"1\",\"vfs\":[]}", -EINVAL },
		{ "{\"version\":2,\"vfs\":[]}", -EPROTONOSUPPORT },
		{ "{\"version\":1}", -EINVAL },
		{ "{\"version\":1,\"vfs\":{}}", -EINVAL },
		{ "{\"version\":1,\"vfs\":[1]}", -EINVAL },
		{ "{\"version\":1,\"vfs\":[{\"addr\":\"x\",\"pool\":\"a\","
		  "\"state\":\"free\",\"uuid\":\"00000001-0000-4000-8000-"
		  "000000000007\",\"pair\":\"n\"}]}",
		  -EINVAL },
		{ "{\"version\":1,\"vfs\":[{\"addr\":\"x\",\"pool\":\"a\","
		  "\"state\":\"assigned\",\"uuid\":\"bogus\",\"pair\":\"n\"}]}",
		  -EINVAL },
		{ "{\"version\":1,\"vfs\":[{\"addr\":\"x\",\"pool\":\"a\","
		  "\"state\":\"reserved\",\"uuid\":\"00000001-0000-4000-8000-"
		  "000000000007\",\"pair\":\"n\",\"deadline_ms\":\"soon\"}]}",
		  -EINVAL },
		{ "{\"version\":1,\"vfs\":[{\"addr\":\"x\",\"pool\":\"a\","
		  "\"state\":\"reserved\",\"uuid\":\"00000001-0000-4000-8000-"
		  "000000000007\",\"pair\":\"n\"}, {\"addr\":7}]}",
		  -EINVAL },
		{ "{\"version\":1,\"vfs\":[{\"addr\":\"0000:00:00.0-and-far-"
		  "too-long\",\"pool\":\"a\",\"state\":\"reserved\",\"uuid\":"
		  "\"00000001-0000-4000-8000-000000000007\",\"pair\":\"n\"}]}",
		  -EINVAL },
	};
	struct vfo_pool_entry *e;
	char err[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < VFO_ARRAY_SIZE(cases); i++) {
		json_object *j = json_tokener_parse(cases[i].txt);

		assert_non_null(j);
		err[0] = '\0';
		if (vfo_pool_entries_from_json(j, &e, &n, err, sizeof(err)) != cases[i].err)
			fail_msg("case %zu: %s", i, cases[i].txt);
		assert_null(e);
		assert_int_equal(n, 0);
		assert_true(strlen(err) > 0);
		json_object_put(j);
	}
}

static void add_entry(struct vfo_pool_entry *e, const char *addr, const char *pool,
		      unsigned int dom, enum vfo_vf_state st)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->addr, addr);
	strcpy(e->pool, pool);
	mk_owner(&e->owner, dom, 0);
	e->state = st;
}

static void test_reconcile_cases(void **state)
{
	struct vfo_inventory *inv = mk_inventory();
	struct vfo_pools *p = pools_from_inv(inv);
	struct vfo_reconcile_item *it;
	struct vfo_pool_entry e[6];
	size_t n;
	int id;

	(void)state;
	/* restored */
	add_entry(&e[0], "0000:10:10.0", "a", 1, VFO_VF_ASSIGNED);
	e[0].data = json_object_new_int(5);
	/* vanished: not in the inventory at all */
	add_entry(&e[1], "0000:55:10.0", "a", 2, VFO_VF_ASSIGNED);
	e[1].data = json_object_new_int(6);
	/* unknown: exists, but outside every pool (enp17s0f0#4-7) */
	add_entry(&e[2], "0000:11:10.6", "b", 3, VFO_VF_RESERVED);
	/* conflict: same VF as e[0], another owner */
	add_entry(&e[3], "0000:10:10.0", "a", 4, VFO_VF_ASSIGNED);
	/* duplicate owner: e[0]'s owner on another VF */
	add_entry(&e[4], "0000:10:10.1", "a", 1, VFO_VF_RESERVED);
	/* pool changed: VF now in "b", kept */
	add_entry(&e[5], "0000:11:10.2", "a", 5, VFO_VF_RESERVED);
	e[5].deadline_ms = 77;
	assert_int_equal(vfo_pools_reconcile(p, e, 6, inv, &it, &n), 2);
	assert_int_equal(n, 5);
	assert_int_equal(it[0].kind, VFO_RECONCILE_VANISHED);
	assert_string_equal(it[0].addr, "0000:55:10.0");
	assert_int_equal(it[1].kind, VFO_RECONCILE_UNKNOWN);
	assert_int_equal(it[2].kind, VFO_RECONCILE_CONFLICT);
	assert_int_equal(it[3].kind, VFO_RECONCILE_DUP_OWNER);
	assert_int_equal(it[4].kind, VFO_RECONCILE_POOL_CHANGED);
	assert_string_equal(it[4].pool, "a");
	assert_string_equal(vfo_reconcile_kind_str(it[4].kind), "pool-changed");
	id = vfo_pools_lookup_addr(p, "0000:11:10.2");
	assert_int_equal(vfo_pools_vf(p, id)->state, VFO_VF_RESERVED);
	assert_int_equal(vfo_pools_next_deadline(p), 77);
	id = vfo_pools_lookup_owner(p, &e[0].owner);
	assert_int_equal(id, vfo_pools_lookup_addr(p, "0000:10:10.0"));
	assert_int_equal(json_object_get_int(vfo_pools_vf(p, id)->data), 5);
	assert_null(e[0].data); /* moved into the pools */
	/* without an inventory everything outside the pools "vanished" */
	free(it);
	vfo_pools_free(p);
	p = pools_from_inv(inv);
	assert_int_equal(vfo_pools_reconcile(p, &e[2], 1, NULL, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].kind, VFO_RECONCILE_VANISHED);
	free(it);
	vfo_pool_entries_free(NULL, 0);
	json_object_put(e[1].data);
	vfo_pools_free(p);
	vfo_inventory_free(inv);
}

/* Not a pass/fail criterion: prints the figure the benchmark also reports. */
static void test_speed(void **state)
{
	struct vfo_pools *p = vfo_pools_new();
	struct vfo_owner o;
	char addr[32];
	int64_t t;
	int i, id;

	(void)state;
	vfo_pools_add_pool(p, "a");
	for (i = 0; i < 1024; i++) {
		snprintf(addr, sizeof(addr), "0000:%02x:%02x.%x", 0x10 + i / 128, (i % 128) / 8,
			 i % 8);
		assert_true(vfo_pools_add_vf(p, 0, addr, "pf", i, i % 2) >= 0);
	}
	mk_owner(&o, 1, 0);
	/* half the pool busy so the lists are not trivially short */
	for (i = 0; i < 512; i++) {
		struct vfo_owner b;

		mk_owner(&b, 1000 + (unsigned)i, 0);
		assert_true(vfo_pools_assign_new(p, 0, &b, -1, 0) >= 0);
	}
	t = vfo_now_us();
	for (i = 0; i < 10000; i++) {
		id = vfo_pools_reserve(p, 0, &o, i % 2, 0, 1000 + i);
		assert_true(id >= 0);
		assert_int_equal(vfo_pools_assign(p, &o), id);
		assert_int_equal(vfo_pools_release(p, &o), id);
	}
	t = vfo_now_us() - t;
	print_message("pool: 10000 reserve+assign+release cycles on 1024 VFs: "
		      "%.3f us/cycle\n",
		      (double)t / 10000);
	vfo_pools_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_ok),	 cmocka_unit_test(test_range_bad),
		cmocka_unit_test(test_owner_valid),	 cmocka_unit_test(test_basic_cycle),
		cmocka_unit_test(test_pools_and_vfs),	 cmocka_unit_test(test_numa),
		cmocka_unit_test(test_no_pref_balances), cmocka_unit_test(test_expire),
		cmocka_unit_test(test_random_model),	 cmocka_unit_test(test_add_inventory),
		cmocka_unit_test(test_json_roundtrip),	 cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_reconcile_cases),	 cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
