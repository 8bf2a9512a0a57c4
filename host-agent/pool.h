/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VF pools: named networks, each a set of VFs that are free, reserved for
 * an owner (domain UUID + pair id) until a deadline, or assigned. Pure
 * logic, no I/O: the daemon persists vfo_pools_to_json() through the state
 * module before acting on a change.
 *
 * Invariants (checked by the tests after every operation):
 *   - a VF has at most one owner and an owner at most one VF;
 *   - per pool, free + reserved + assigned == total;
 *   - every free VF is on exactly one free list, every reservation with a
 *     deadline is in the deadline heap.
 *
 * Deadlines are plain int64 milliseconds in whatever clock the caller uses
 * for "now"; since they are persisted, the daemon should use wall-clock
 * time (vfo_wall_ms) for them.
 */
#ifndef VFO_POOL_H
#define VFO_POOL_H

#include <json-c/json.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "inventory.h"

#define VFO_UUID_MAX 37 /* 36 + NUL */
#define VFO_PAIR_ID_MAX 64
#define VFO_POOL_NAME_MAX 64
#define VFO_PF_NAME_MAX VFO_PCI_ADDR_MAX /* netdev or PCI address */
#define VFO_POOL_STATE_VERSION 1

struct vfo_owner {
	char uuid[VFO_UUID_MAX];
	char pair[VFO_PAIR_ID_MAX];
};

enum vfo_vf_state {
	VFO_VF_FREE,
	VFO_VF_RESERVED,
	VFO_VF_ASSIGNED,
};

/* Read-only view of one VF of a pool; ids are stable for the pools' life. */
struct vfo_pool_vf {
	char addr[VFO_PCI_ADDR_MAX]; /* PCI address, or "emu:POOL/N" */
	char pf[VFO_PF_NAME_MAX]; /* the PF's netdev ("" if emulated) */
	int index; /* VF index on the PF */
	int numa_node;
	int pool;
	bool gone; /* removed (vanished), never reused */
	enum vfo_vf_state state;
	struct vfo_owner owner; /* valid unless FREE */
	int64_t deadline_ms; /* RESERVED only; <= 0: none */
	json_object *data; /* backend's saved state, owned */
	/* private */
	int32_t prev, next; /* free list */
	int32_t onext, anext; /* owner / address hash chains */
	int32_t heap; /* slot in the deadline heap or -1 */
};

/* "enp3s0f0", "enp3s0f0#5", "enp3s0f0#0-15", "0000:03:00.0#8-11" */
struct vfo_pf_range {
	char pf[VFO_PF_NAME_MAX];
	int first, last; /* -1, -1: all VFs */
};

int vfo_pf_range_parse(const char *s, struct vfo_pf_range *out, char *err, size_t errlen);

bool vfo_owner_valid(const struct vfo_owner *o);
/* Fill an owner; -EINVAL if either part is malformed. */
int vfo_owner_set(struct vfo_owner *o, const char *uuid, const char *pair);
const char *vfo_vf_state_str(enum vfo_vf_state s);

struct vfo_pools;

struct vfo_pools *vfo_pools_new(void);
void vfo_pools_free(struct vfo_pools *p);

/* Returns the pool's index, -EEXIST or -EINVAL. */
int vfo_pools_add_pool(struct vfo_pools *p, const char *name);
int vfo_pools_find_pool(const struct vfo_pools *p, const char *name);
size_t vfo_pools_n_pools(const struct vfo_pools *p);
const char *vfo_pools_pool_name(const struct vfo_pools *p, int pool);

/* Returns the VF's id; -EEXIST if addr already belongs to a pool. */
int vfo_pools_add_vf(struct vfo_pools *p, int pool, const char *addr, const char *pf, int index,
		     int numa_node);
/* VFs of an inventory PF, limited to the range. Returns the count added,
 * -ENODEV if the PF is not in the inventory, -ERANGE if the range reaches
 * past its VFs. */
int vfo_pools_add_inventory(struct vfo_pools *p, int pool, const struct vfo_inventory *inv,
			    const struct vfo_pf_range *r);
/* count stand-in VFs named "emu:POOL/N" for the emulated backend. */
int vfo_pools_add_emulated(struct vfo_pools *p, int pool, int count);
/* Take a VF out of service (it vanished). Its owner, if any, is dropped;
 * copy it out first if needed. */
int vfo_pools_remove_vf(struct vfo_pools *p, int id);

size_t vfo_pools_n_vfs(const struct vfo_pools *p);
const struct vfo_pool_vf *vfo_pools_vf(const struct vfo_pools *p, int id);
int vfo_pools_lookup_addr(const struct vfo_pools *p, const char *addr);
int vfo_pools_lookup_owner(const struct vfo_pools *p, const struct vfo_owner *o);

#define VFO_NUMA_STRICT 0x1 /* fail rather than leave the NUMA node */

/*
 * Reserve a free VF of pool for owner until deadline_ms (<= 0: no
 * deadline). numa_node < 0: any node. Re-reserving by the same owner in
 * the same pool returns the same VF (and moves a reservation's deadline).
 * Returns the VF id, -EEXIST if the owner holds a VF of another pool,
 * -ENOSPC if none is free, -ENOENT for a bad pool, -EINVAL for a bad owner.
 */
int vfo_pools_reserve(struct vfo_pools *p, int pool, const struct vfo_owner *o, int numa_node,
		      unsigned int flags, int64_t deadline_ms);
/* reserved -> assigned (idempotent when already assigned); -ENOENT if the
 * owner holds nothing. */
int vfo_pools_assign(struct vfo_pools *p, const struct vfo_owner *o);
/* Direct assignment without a prior reservation (or of the reservation the
 * owner already has). */
int vfo_pools_assign_new(struct vfo_pools *p, int pool, const struct vfo_owner *o, int numa_node,
			 unsigned int flags);
/* Back to free. Returns the VF id or -ENOENT. */
int vfo_pools_release(struct vfo_pools *p, const struct vfo_owner *o);
int vfo_pools_release_vf(struct vfo_pools *p, int id);

/* Attach backend data (reference taken over) to an owned VF. */
int vfo_pools_set_data(struct vfo_pools *p, int id, json_object *data);

typedef void (*vfo_pools_expire_fn)(const struct vfo_pool_vf *vf, void *opaque);
/* Free every reservation whose deadline <= now_ms; fn (may be NULL) sees
 * each one just before it is freed. Returns how many expired. */
int vfo_pools_expire(struct vfo_pools *p, int64_t now_ms, vfo_pools_expire_fn fn, void *opaque);
/* Earliest reservation deadline, INT64_MAX if none. */
int64_t vfo_pools_next_deadline(const struct vfo_pools *p);

struct vfo_pool_counts {
	size_t total, free, reserved, assigned;
};
/* pool < 0: all pools. */
void vfo_pools_counts(const struct vfo_pools *p, int pool, struct vfo_pool_counts *c);

/* Persisted form: {"version":1,"vfs":[{addr,pool,state,uuid,pair,
 * deadline_ms,data?}, ...]} listing every VF that is not free. */
json_object *vfo_pools_to_json(const struct vfo_pools *p);

struct vfo_pool_entry {
	char addr[VFO_PCI_ADDR_MAX];
	char pool[VFO_POOL_NAME_MAX];
	enum vfo_vf_state state;
	struct vfo_owner owner;
	int64_t deadline_ms;
	json_object *data; /* owned */
};

/* Parse a persisted object; -EINVAL (with a message) for anything
 * malformed, -EPROTONOSUPPORT for an unknown version. */
int vfo_pool_entries_from_json(json_object *obj, struct vfo_pool_entry **out, size_t *n, char *err,
			       size_t errlen);
void vfo_pool_entries_free(struct vfo_pool_entry *e, size_t n);

enum vfo_reconcile_kind {
	VFO_RECONCILE_VANISHED, /* VF no longer exists: dropped */
	VFO_RECONCILE_UNKNOWN, /* VF exists but in no pool: dropped */
	VFO_RECONCILE_POOL_CHANGED, /* kept, now in another pool */
	VFO_RECONCILE_CONFLICT, /* VF already owned by an earlier entry */
	VFO_RECONCILE_DUP_OWNER, /* owner already holds an earlier VF */
};

struct vfo_reconcile_item {
	enum vfo_reconcile_kind kind;
	char addr[VFO_PCI_ADDR_MAX];
	char pool[VFO_POOL_NAME_MAX]; /* as persisted */
	enum vfo_vf_state state;
	struct vfo_owner owner;
};

const char *vfo_reconcile_kind_str(enum vfo_reconcile_kind k);

/*
 * Apply persisted entries to freshly built pools (all VFs free). inv (may
 * be NULL) tells a VF that vanished from one that is merely outside every
 * pool. Entries' data references move into the pools. Returns the number
 * of entries restored, or -ENOMEM; *items lists every entry not restored
 * as persisted.
 */
int vfo_pools_reconcile(struct vfo_pools *p, struct vfo_pool_entry *e, size_t n,
			const struct vfo_inventory *inv, struct vfo_reconcile_item **items,
			size_t *n_items);

#endif
