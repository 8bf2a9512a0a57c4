// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hostd's life cycle and its allocation core: startup (config, state,
 * reconcile against sysfs, numvfs), rescans, and the persist-then-act
 * discipline every allocation change goes through.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libudev.h>

#include "hostd.h"
#include "numvfs.h"
#include "orch.h"
#include "log.h"
#include "state.h"
#include "systemd.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define COMP "hostd"

/* ---- pools from config + inventory ------------------------------------- */

static struct vfo_pf_name *pf_name(struct vfo_hostd *h, const char *name)
{
	for (size_t i = 0; i < h->n_pf_names; i++)
		if (!strcmp(h->pf_names[i].name, name))
			return &h->pf_names[i];
	return NULL;
}

/* The PF a range names: by PCI address, by its netdev's current name, or,
 * when that name is gone, the PCI function it named last time. */
static const struct vfo_inv_pf *resolve_pf(struct vfo_hostd *h, const struct vfo_inventory *inv,
					   const char *pool, const char *name)
{
	const struct vfo_inv_pf *pf = vfo_inventory_find_pf(inv, name);
	struct vfo_pf_name *known = pf_name(h, name);

	if (pf && pf->netdev[0] && !strcmp(pf->netdev, name)) {
		if (!known) {
			struct vfo_pf_name *n =
				realloc(h->pf_names, (h->n_pf_names + 1) * sizeof(*n));

			if (!n)
				return pf; /* only the stickiness is lost */
			h->pf_names = n;
			known = &n[h->n_pf_names++];
			snprintf(known->name, sizeof(known->name), "%s", name);
		}
		snprintf(known->addr, sizeof(known->addr), "%s", pf->addr);
		return pf;
	}
	if (pf || !known)
		return pf;
	pf = vfo_inventory_find_pf(inv, known->addr);
	if (pf)
		vfo_warn(COMP,
			 "pool %s: no netdev is named %s any more; keeping %s, the PF it named "
			 "(name PFs by PCI address in the config to avoid this)",
			 pool, name, known->addr);
	return pf;
}

static void add_sriov_range(struct vfo_hostd *h, struct vfo_pools *p, int idx,
			    const struct vfo_hostd_pool_cfg *pc, const struct vfo_inventory *inv,
			    const struct vfo_pf_range *range)
{
	const struct vfo_inv_pf *pf = resolve_pf(h, inv, pc->name, range->pf);
	struct vfo_pf_range use = *range;
	int r = -ENODEV;

	if (pf) {
		snprintf(use.pf, sizeof(use.pf), "%s", pf->addr);
		r = vfo_pools_add_inventory(p, idx, inv, &use);
	}
	if (r == -ERANGE && pf) {
		/* Fewer VFs than the range names (numvfs lowered, a driver
		 * that gave up): hand out the ones that exist. */
		vfo_warn(COMP,
			 "pool %s: %s#%d-%d reaches past the %zu VFs of %s; using those that exist",
			 pc->name, range->pf, range->first, range->last, pf->n_vfs, range->pf);
		use.last = (int)pf->n_vfs - 1;
		r = use.last >= use.first ? vfo_pools_add_inventory(p, idx, inv, &use) : 0;
	}
	if (r == -ENODEV)
		vfo_warn(COMP, "pool %s: PF %s not found in sysfs", pc->name, range->pf);
	else if (r < 0)
		vfo_warn(COMP, "pool %s: PF %s: %s", pc->name, range->pf, strerror(-r));
}

static int build_pools(struct vfo_hostd *h, const struct vfo_inventory *inv, struct vfo_pools **out)
{
	const struct vfo_hostd_cfg *cfg = h->cfg;
	struct vfo_pools *p = vfo_pools_new();
	int idx, r;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct vfo_hostd_pool_cfg *pc = &cfg->pools[i];

		idx = vfo_pools_add_pool(p, pc->name);
		if (idx < 0) {
			vfo_pools_free(p);
			return idx;
		}
		if (pc->backend == VFO_HOSTD_BACKEND_EMULATED) {
			r = vfo_pools_add_emulated(p, idx, pc->count);
			if (r < 0) {
				vfo_err(COMP, "pool %s: cannot create %d emulated VFs: %s",
					pc->name, pc->count, strerror(-r));
				vfo_pools_free(p);
				return r;
			}
			continue;
		}
		for (size_t j = 0; j < pc->n_pfs; j++)
			add_sriov_range(h, p, idx, pc, inv, &pc->pfs[j]);
	}
	*out = p;
	return 0;
}

/* A holding the daemon had to forget: logged by the caller, announced
 * here to "events" subscribers (the orchestrator's clients). */
static void dropped_event(struct vfo_hostd *h, const char *addr, const char *pool,
			  const struct vfo_owner *owner, const char *reason)
{
	json_object *ev = json_object_new_object();

	h->st.dropped++;
	json_object_object_add(ev, "addr", json_object_new_string(addr));
	json_object_object_add(ev, "pool", json_object_new_string(pool));
	json_object_object_add(ev, "domain", json_object_new_string(owner->uuid));
	json_object_object_add(ev, "pair", json_object_new_string(owner->pair));
	json_object_object_add(ev, "reason", json_object_new_string(reason));
	vfo_hostd_event(h, "vf-dropped", ev);
	json_object_put(ev);
}

static void log_reconcile(const struct vfo_reconcile_item *it)
{
	const char *what = vfo_vf_state_str(it->state);

	switch (it->kind) {
	case VFO_RECONCILE_POOL_CHANGED:
		vfo_notice(COMP, "%s VF %s of %s/%s kept; it is no longer in pool %s", what,
			   it->addr, it->owner.uuid, it->owner.pair, it->pool);
		break;
	case VFO_RECONCILE_VANISHED:
		vfo_warn(COMP, "%s VF %s of %s/%s (pool %s) dropped: the VF vanished", what,
			 it->addr, it->owner.uuid, it->owner.pair, it->pool);
		break;
	default:
		vfo_warn(COMP, "%s VF %s of %s/%s (pool %s) dropped: %s", what, it->addr,
			 it->owner.uuid, it->owner.pair, it->pool,
			 vfo_reconcile_kind_str(it->kind));
		break;
	}
}

/*
 * New pools from inv with the allocations of snapshot (a persisted-form
 * object) applied. *dropped counts entries not restored as they were.
 * On success h->pools is replaced.
 */
static int rebuild(struct vfo_hostd *h, const struct vfo_inventory *inv, json_object *snapshot,
		   size_t *dropped)
{
	struct vfo_reconcile_item *items = NULL;
	struct vfo_pool_entry *e = NULL;
	struct vfo_pools *p;
	size_t n = 0, n_items = 0;
	char err[160];
	int r;

	*dropped = 0;
	if (snapshot) {
		r = vfo_pool_entries_from_json(snapshot, &e, &n, err, sizeof(err));
		if (r < 0) {
			vfo_err(COMP, "allocation state unusable: %s", err);
			return r;
		}
	}
	r = build_pools(h, inv, &p);
	if (r < 0)
		goto out;
	r = vfo_pools_reconcile(p, e, n, inv, &items, &n_items);
	if (r < 0) {
		vfo_pools_free(p);
		goto out;
	}
	/* Drained pools and PFs hand out nothing until undrained. */
	vfo_orch_apply_drains(h, p);
	for (size_t i = 0; i < n_items; i++) {
		log_reconcile(&items[i]);
		if (items[i].kind == VFO_RECONCILE_POOL_CHANGED)
			continue;
		(*dropped)++;
		dropped_event(h, items[i].addr, items[i].pool, &items[i].owner,
			      vfo_reconcile_kind_str(items[i].kind));
	}
	vfo_pools_free(h->pools);
	h->pools = p;
	r = 0;
out:
	free(items);
	vfo_pool_entries_free(e, n);
	return r;
}

/* ---- persistence ------------------------------------------------------- */

int vfo_hostd_persist(struct vfo_hostd *h)
{
	json_object *obj = vfo_pools_to_json(h->pools), *orch;
	int r;

	if (!obj)
		return -ENOMEM;
	/* Migrations in flight travel in the same atomic write as the VFs
	 * they move; until the orchestrator runs, what was loaded stays. */
	orch = h->orch ? vfo_orch_state_json(h) : json_object_get(h->orch_state);
	if (orch)
		json_object_object_add(obj, "orch", orch);
	r = vfo_state_save(h->state_path, VFO_POOL_STATE_VERSION, obj);
	json_object_put(obj);
	if (r < 0) {
		h->st.persist_failures++;
		vfo_err(COMP, "cannot persist allocations to %s: %s", h->state_path, strerror(-r));
		return r;
	}
	h->st.persists++;
	return 0;
}

/*
 * Persist the change just made in memory; on failure put memory back as
 * it was (before), so nothing is acted on that the disk does not know.
 */
static int commit(struct vfo_hostd *h, json_object *before)
{
	size_t dropped;
	int r = vfo_hostd_persist(h);

	if (r < 0) {
		if (rebuild(h, h->inv, before, &dropped) < 0)
			vfo_err(COMP, "rollback after a failed persist failed too");
		return r;
	}
	if (h->crash_after_persist && h->st.persists == h->crash_after_persist)
		return -EINTR;
	return 0;
}

/* ---- allocation -------------------------------------------------------- */

static void arm_expiry(struct vfo_hostd *h)
{
	int64_t next, delay;

	if (!h->loop || h->expire_timer <= 0)
		return;
	next = vfo_pools_next_deadline(h->pools);
	if (next == INT64_MAX) {
		vfo_loop_update_timer(h->loop, h->expire_timer, -1);
		return;
	}
	delay = next - vfo_wall_ms();
	if (delay < 1)
		delay = 1;
	if (delay > INT_MAX)
		delay = INT_MAX;
	vfo_loop_update_timer(h->loop, h->expire_timer, (int)delay);
}

static void vf_event(struct vfo_hostd *h, const char *event, const struct vfo_pool_vf *vf)
{
	json_object *o = vfo_hostd_vf_json(h, vf);

	vfo_hostd_event(h, event, o);
	json_object_put(o);
}

int vfo_hostd_reserve(struct vfo_hostd *h, const char *pool, const struct vfo_owner *o, int numa,
		      int64_t timeout_ms, json_object *data)
{
	int idx = vfo_pools_find_pool(h->pools, pool);
	json_object *before;
	int64_t deadline;
	int id, r;

	if (idx < 0)
		return -ENOENT;
	if (timeout_ms <= 0)
		timeout_ms = h->cfg->reservation_timeout_ms;
	deadline = vfo_wall_ms() + timeout_ms;
	before = vfo_pools_to_json(h->pools);
	if (!before)
		return -ENOMEM;
	id = vfo_pools_reserve(h->pools, idx, o, numa, 0, deadline);
	if (id < 0)
		goto out;
	if (data)
		vfo_pools_set_data(h->pools, id, json_object_get(data));
	r = commit(h, before);
	if (r < 0) {
		id = r;
		goto out;
	}
	/* A retry by the same owner gets the same VF, maybe assigned. */
	if (vfo_pools_vf(h->pools, id)->state == VFO_VF_RESERVED) {
		h->st.reserved++;
		vfo_info(COMP, "reserved VF %s of pool %s for %s/%s",
			 vfo_pools_vf(h->pools, id)->addr, pool, o->uuid, o->pair);
		vf_event(h, "vf-reserved", vfo_pools_vf(h->pools, id));
	}
	arm_expiry(h);
out:
	json_object_put(before);
	return id;
}

int vfo_hostd_assign(struct vfo_hostd *h, const struct vfo_owner *o)
{
	json_object *before = vfo_pools_to_json(h->pools);
	const struct vfo_pool_vf *vf;
	int id, r;

	if (!before)
		return -ENOMEM;
	id = vfo_pools_assign(h->pools, o);
	if (id < 0)
		goto out;
	r = commit(h, before);
	if (r < 0) {
		id = r;
		goto out;
	}
	vf = vfo_pools_vf(h->pools, id);
	h->st.assigned++;
	vfo_info(COMP, "assigned VF %s of pool %s to %s/%s", vf->addr,
		 vfo_pools_pool_name(h->pools, vf->pool), o->uuid, o->pair);
	vf_event(h, "vf-assigned", vf);
	arm_expiry(h);
out:
	json_object_put(before);
	return id;
}

static bool owned_by(const struct vfo_pool_vf *vf, const char *uuid, const char *pair)
{
	return !vf->gone && vf->state != VFO_VF_FREE && !strcasecmp(vf->owner.uuid, uuid) &&
	       (!pair || !strcmp(vf->owner.pair, pair));
}

int vfo_hostd_release(struct vfo_hostd *h, const char *uuid, const char *pair)
{
	size_t n_vfs = vfo_pools_n_vfs(h->pools), n = 0;
	json_object *before, **gone;
	int r;

	gone = calloc(n_vfs ? n_vfs : 1, sizeof(*gone));
	before = vfo_pools_to_json(h->pools);
	if (!gone || !before) {
		free(gone);
		json_object_put(before);
		return -ENOMEM;
	}
	for (size_t id = 0; id < n_vfs; id++) {
		const struct vfo_pool_vf *vf = vfo_pools_vf(h->pools, id);

		if (!owned_by(vf, uuid, pair))
			continue;
		/* Described before the release wipes the owner. */
		gone[n++] = vfo_hostd_vf_json(h, vf);
		/* Restored and scrubbed before it is free: a crash in between
		 * leaves it owned, and the next release scrubs again. */
		vfo_hostd_vf_unprepare(h, (int)id);
		vfo_pools_release_vf(h->pools, id);
	}
	r = n ? commit(h, before) : -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (!r) {
			h->st.released++;
			vfo_info(COMP, "released VF %s of %s/%s",
				 json_object_get_string(json_object_object_get(gone[i], "addr")),
				 uuid,
				 json_object_get_string(json_object_object_get(gone[i], "pair")));
			vfo_hostd_event(h, "vf-released", gone[i]);
		}
		json_object_put(gone[i]);
	}
	free(gone);
	json_object_put(before);
	if (!r)
		arm_expiry(h);
	return r < 0 ? r : (int)n;
}

struct expired {
	json_object *list;
	struct vfo_hostd *h;
};

static void on_expire(const struct vfo_pool_vf *vf, void *opaque)
{
	struct expired *ex = opaque;

	json_object_array_add(ex->list, vfo_hostd_vf_json(ex->h, vf));
}

int vfo_hostd_expire(struct vfo_hostd *h, int64_t now_wall_ms)
{
	struct expired ex = { .list = json_object_new_array(), .h = h };
	json_object *before = vfo_pools_to_json(h->pools);
	int n, r = 0;

	if (!ex.list || !before) {
		json_object_put(ex.list);
		json_object_put(before);
		return -ENOMEM;
	}
	n = vfo_pools_expire(h->pools, now_wall_ms, on_expire, &ex);
	if (n > 0)
		r = commit(h, before);
	for (int i = 0; !r && i < n; i++) {
		json_object *vf = json_object_array_get_idx(ex.list, i);

		h->st.expired++;
		vfo_notice(COMP, "reservation of VF %s by %s/%s expired",
			   json_object_get_string(json_object_object_get(vf, "addr")),
			   json_object_get_string(json_object_object_get(vf, "domain")),
			   json_object_get_string(json_object_object_get(vf, "pair")));
		vfo_hostd_event(h, "vf-expired", vf);
	}
	json_object_put(ex.list);
	json_object_put(before);
	arm_expiry(h);
	return r < 0 ? r : n;
}

/* ---- inventory --------------------------------------------------------- */

static int scan(struct vfo_hostd *h, struct vfo_inventory **out)
{
	int64_t t0 = vfo_now_us();
	int r = vfo_inventory_scan(h->cfg->sysfs_root, out);

	if (r == -ENOENT) {
		/* No PCI bus at all (a container, an emulated-only host):
		 * an empty inventory, said once per scan. */
		vfo_warn(COMP, "%s/bus/pci/devices does not exist: no SR-IOV devices",
			 h->cfg->sysfs_root);
		*out = calloc(1, sizeof(**out));
		r = *out ? 0 : -ENOMEM;
	}
	if (r < 0) {
		vfo_err(COMP, "cannot scan %s: %s", h->cfg->sysfs_root, strerror(-r));
		return r;
	}
	h->st.scans++;
	h->st.last_scan_us = vfo_now_us() - t0;
	h->st.last_scan_wall_ms = vfo_wall_ms();
	return 0;
}

/* sriov_numvfs can only go from 0 to N: a change is 0 first, then N. */
static int write_numvfs(struct vfo_hostd *h, const struct vfo_numvfs_step *s)
{
	char path[PATH_MAX], val[16];
	int r;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/sriov_numvfs", h->cfg->sysfs_root,
		 s->addr);
	if (s->from) {
		r = vfo_write_file(path, "0");
		if (r < 0)
			goto fail;
	}
	snprintf(val, sizeof(val), "%d", s->to);
	r = vfo_write_file(path, val);
	if (r < 0)
		goto fail;
	h->st.numvfs_writes++;
	vfo_notice(COMP, "PF %s (%s): sriov_numvfs %d -> %d (pool %s%s)", s->addr, s->netdev,
		   s->from, s->to, s->pool, s->appeared ? "; the PF came up" : "");
	return 0;
fail:
	vfo_err(COMP, "cannot write %s: %s", path, strerror(-r));
	return r;
}

/* Write the steps that may be written, say why for the others. Returns
 * how many PFs were changed. */
static int apply_numvfs(struct vfo_hostd *h, const struct vfo_numvfs_step *s, size_t n)
{
	int changed = 0;

	for (size_t i = 0; i < n; i++) {
		switch (s[i].verdict) {
		case VFO_NUMVFS_WRITE:
			if (!write_numvfs(h, &s[i]))
				changed++;
			break;
		case VFO_NUMVFS_NO_DRIVER:
			vfo_notice(
				COMP,
				"PF %s has no driver: sriov_numvfs %d (pool %s) is written when one binds",
				s[i].addr, s[i].to, s[i].pool);
			break;
		case VFO_NUMVFS_IN_USE:
			vfo_warn(
				COMP,
				"PF %s (%s): sriov_numvfs left at %d, not %d (pool %s): its VFs are in use, and changing the count would take them from their domains",
				s[i].addr, s[i].netdev, s[i].from, s[i].to, s[i].pool);
			break;
		case VFO_NUMVFS_RANGE:
			vfo_err(COMP, "PF %s (%s) supports %d VFs, not %d (pool %s)", s[i].addr,
				s[i].netdev, s[i].total, s[i].to, s[i].pool);
			break;
		}
	}
	return changed;
}

/* In-use tests for the planner: the persisted state at start, the pools
 * once they exist. */
static bool state_holds(const char *vf_addr, void *opaque)
{
	json_object *vfs;

	if (!opaque || !json_object_object_get_ex(opaque, "vfs", &vfs) ||
	    !json_object_is_type(vfs, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(vfs); i++) {
		json_object *addr =
			json_object_object_get(json_object_array_get_idx(vfs, i), "addr");

		if (addr && !strcmp(json_object_get_string(addr), vf_addr))
			return true;
	}
	return false;
}

static bool pools_hold(const char *vf_addr, void *opaque)
{
	const struct vfo_pools *p = opaque;
	int id = vfo_pools_lookup_addr(p, vf_addr);
	const struct vfo_pool_vf *vf = id >= 0 ? vfo_pools_vf(p, id) : NULL;

	return vf && !vf->gone && vf->state != VFO_VF_FREE;
}

/* At start, before the pools exist: every configured PF. Returns how many
 * PFs were changed. */
static int start_numvfs(struct vfo_hostd *h, json_object *state)
{
	struct vfo_numvfs_step *s;
	size_t n;
	int changed;

	if (vfo_numvfs_plan(h->cfg, NULL, h->inv, NULL, 0, state_holds, state, &s, &n) < 0)
		return -ENOMEM;
	changed = apply_numvfs(h, s, n);
	free(s);
	return changed;
}

static json_object *changes_json(const struct vfo_inv_change *c, size_t n)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n && i < 64; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "type",
				       json_object_new_string(vfo_inv_change_type_str(c[i].type)));
		json_object_object_add(o, "pf", json_object_new_string(c[i].pf_addr));
		if (c[i].vf_addr[0])
			json_object_object_add(o, "vf", json_object_new_string(c[i].vf_addr));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* Rebuild the pools from inv, keeping the allocations held now. */
static int rebuild_keeping(struct vfo_hostd *h, const struct vfo_inventory *inv, size_t *dropped)
{
	json_object *snapshot = vfo_pools_to_json(h->pools);
	int r = snapshot ? rebuild(h, inv, snapshot, dropped) : -ENOMEM;

	json_object_put(snapshot);
	return r;
}

int vfo_hostd_refresh_pools(struct vfo_hostd *h, const char *why)
{
	size_t dropped = 0;
	int r = rebuild_keeping(h, h->inv, &dropped);

	if (r < 0) {
		vfo_err(COMP, "rebuilding the pools (%s) failed: %s", why, strerror(-r));
		return r;
	}
	arm_expiry(h);
	return vfo_hostd_persist(h);
}

/*
 * Holdings whose VF was removed since the last scan but is back at the
 * same address: a new device. Its holder lost the old one (the kernel took
 * it from whatever used it) and what was configured went with it, so the
 * holding goes, exactly as if a scan had seen the VF missing. Keeping it
 * would let a later attach hand out an unconfigured VF (no VLAN) as
 * configured. Returns how many.
 */
static size_t drop_recreated(struct vfo_hostd *h, const struct vfo_inventory *inv)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n_removed; i++) {
		int id = vfo_pools_lookup_addr(h->pools, h->removed[i]);
		const struct vfo_pool_vf *vf = id >= 0 ? vfo_pools_vf(h->pools, id) : NULL;
		const char *pool;

		/* Still missing: rebuild drops it as vanished. */
		if (!pools_hold(h->removed[i], h->pools) || !vfo_inventory_find_vf(inv, vf->addr))
			continue;
		pool = vfo_pools_pool_name(h->pools, vf->pool);
		vfo_warn(
			COMP,
			"%s VF %s of %s/%s (pool %s) dropped: it was removed and re-created since the last scan",
			vfo_vf_state_str(vf->state), vf->addr, vf->owner.uuid, vf->owner.pair,
			pool);
		dropped_event(h, vf->addr, pool, &vf->owner, "re-created");
		h->st.recreated++;
		vfo_pools_release_vf(h->pools, id);
		n++;
	}
	h->n_removed = 0;
	return n;
}

/*
 * Take in a fresh scan (ownership of inv passes): diff, drop what went,
 * rebuild the pools, persist, announce. *prev gets the inventory it
 * replaced (the caller frees it), or NULL when nothing changed and h->inv
 * stays. Returns the number of changes or -errno.
 */
static int take_scan(struct vfo_hostd *h, struct vfo_inventory *inv, const char *why,
		     struct vfo_inventory **prev)
{
	struct vfo_inv_change *ch = NULL;
	size_t n = 0, dropped = 0, recreated;
	json_object *ev;
	int r;

	*prev = NULL;
	r = vfo_inventory_diff(h->inv, inv, &ch, &n);
	if (r < 0) {
		vfo_inventory_free(inv);
		return r;
	}
	recreated = drop_recreated(h, inv);
	if (!n && !recreated) {
		vfo_dbg(COMP, "rescan (%s): no change", why);
		vfo_inventory_free(inv);
		return 0;
	}
	h->st.inventory_changes += n;
	vfo_info(COMP, "rescan (%s): %zu change(s), %zu PF(s), %zu VF(s)", why, n, inv->n_pfs,
		 vfo_inventory_count_vfs(inv));
	for (size_t i = 0; i < n; i++)
		vfo_dbg(COMP, "  %s %s %s", vfo_inv_change_type_str(ch[i].type), ch[i].pf_addr,
			ch[i].vf_addr);
	r = rebuild_keeping(h, inv, &dropped);
	if (r < 0) {
		vfo_inventory_free(inv);
		free(ch);
		return r;
	}
	*prev = h->inv;
	h->inv = inv;
	if (dropped || recreated)
		vfo_hostd_persist(h);
	ev = json_object_new_object();
	json_object_object_add(ev, "reason", json_object_new_string(why));
	json_object_object_add(ev, "pfs", json_object_new_int64(inv->n_pfs));
	json_object_object_add(ev, "vfs", json_object_new_int64(vfo_inventory_count_vfs(inv)));
	json_object_object_add(ev, "dropped", json_object_new_int64(dropped + recreated));
	json_object_object_add(ev, "changes", changes_json(ch, n));
	vfo_hostd_event(h, "inventory-changed", ev);
	json_object_put(ev);
	free(ch);
	arm_expiry(h);
	return (int)(n + recreated);
}

/* Configured PFs that came up between prev and h->inv get their numvfs.
 * Planned after the scan is taken in, so VFs that went away with a PF
 * no longer count as in use. Returns how many PFs were changed. */
static int rescan_numvfs(struct vfo_hostd *h, const struct vfo_inventory *prev)
{
	const char *rebound[VFO_HOSTD_MAX_REBOUND];
	struct vfo_numvfs_step *s;
	size_t n;
	int changed;

	for (size_t i = 0; i < h->n_rebound; i++)
		rebound[i] = h->rebound[i];
	changed = vfo_numvfs_plan(h->cfg, prev, h->inv, rebound, h->n_rebound, pools_hold, h->pools,
				  &s, &n);
	h->n_rebound = 0;
	if (changed < 0) {
		vfo_err(COMP, "cannot plan sriov_numvfs: %s", strerror(-changed));
		return changed;
	}
	changed = apply_numvfs(h, s, n);
	free(s);
	return changed;
}

int vfo_hostd_rescan(struct vfo_hostd *h, const char *why)
{
	struct vfo_inventory *inv, *prev;
	int n, m, r;

	r = scan(h, &inv);
	if (r < 0)
		return r;
	/* What the scan shows goes in first: holdings on VFs that left with
	 * their PF are dropped before new VFs can appear at their addresses. */
	n = take_scan(h, inv, why, &prev);
	if (n < 0)
		return n;
	r = rescan_numvfs(h, prev ? prev : h->inv);
	vfo_inventory_free(prev);
	if (r <= 0)
		return n;
	/* The kernel creates (and probes) the VFs within the write. */
	r = scan(h, &inv);
	if (r < 0)
		return r;
	m = take_scan(h, inv, "numvfs", &prev);
	vfo_inventory_free(prev);
	return m < 0 ? m : n + m;
}

/* ---- device events ------------------------------------------------------ */

static bool is(const char *s, const char *v)
{
	return s && !strcmp(s, v);
}

static void note_removed(struct vfo_hostd *h, const char *addr)
{
	for (size_t i = 0; i < h->n_removed; i++)
		if (!strcmp(h->removed[i], addr))
			return;
	if (h->n_removed == h->cap_removed) {
		size_t cap = h->cap_removed ? h->cap_removed * 2 : 16;
		void *p = realloc(h->removed, cap * sizeof(*h->removed));

		if (!p) {
			vfo_err(COMP, "out of memory: removal of VF %s not remembered", addr);
			return;
		}
		h->removed = p;
		h->cap_removed = cap;
	}
	snprintf(h->removed[h->n_removed++], sizeof(*h->removed), "%s", addr);
}

static void note_rebound(struct vfo_hostd *h, const char *addr)
{
	for (size_t i = 0; i < h->n_rebound; i++)
		if (!strcmp(h->rebound[i], addr))
			return;
	if (h->n_rebound == VFO_HOSTD_MAX_REBOUND) {
		vfo_warn(COMP, "too many PF driver binds between two scans: %s not remembered",
			 addr);
		return;
	}
	snprintf(h->rebound[h->n_rebound++], sizeof(h->rebound[0]), "%s", addr);
}

bool vfo_hostd_uevent(struct vfo_hostd *h, const char *subsystem, const char *action,
		      const char *sysname)
{
	if (!action || !sysname)
		return false;
	if (is(subsystem, "net"))
		/* PF netdevs come and go, and are renamed ("move"). */
		return is(action, "add") || is(action, "remove") || is(action, "move");
	if (!is(subsystem, "pci"))
		return false;
	if (is(action, "bind")) {
		const struct vfo_inv_pf *pf = vfo_inventory_find_pf(h->inv, sysname);

		if (pf && !strcmp(pf->addr, sysname))
			note_rebound(h, sysname);
		return true;
	}
	if (is(action, "remove")) {
		if (pools_hold(sysname, h->pools))
			note_removed(h, sysname);
		return true;
	}
	return is(action, "add") || is(action, "unbind");
}

/* ---- core init/fini ---------------------------------------------------- */

static int load_state(struct vfo_hostd *h, json_object **out)
{
	struct vfo_state_info info;
	int r;

	*out = NULL;
	r = vfo_state_load(h->state_path, VFO_POOL_STATE_VERSION, out, &info);
	if (r == -ENOENT) {
		vfo_info(COMP, "no state in %s: starting with every VF free", h->state_path);
		return 0;
	}
	if (r == -EINVAL) {
		/* Loud, but not fatal: the file is kept aside for a human,
		 * and reconcile with libvirt can re-learn assignments. */
		vfo_err(COMP,
			"STATE FILE %s WAS CORRUPT (%s): moved to %s; starting with EMPTY allocation state",
			h->state_path, info.why, info.moved_to);
		vfo_sd_status("started with empty state: state file was corrupt");
		return 0;
	}
	if (r < 0)
		vfo_err(COMP, "cannot use state file %s: %s; refusing to start", h->state_path,
			r == -EPROTONOSUPPORT ? info.why : strerror(-r));
	return r;
}

/* JSON, but not allocation state we can read: the same treatment as a
 * corrupt file (kept aside, loud, start empty), never a silent drop. */
static int state_unusable(struct vfo_hostd *h, size_t *dropped)
{
	char aside[PATH_MAX + 32];

	snprintf(aside, sizeof(aside), "%s.corrupt-%lld", h->state_path,
		 (long long)(vfo_wall_ms() / 1000));
	if (rename(h->state_path, aside) < 0) {
		vfo_err(COMP, "cannot move %s aside: %m; refusing to start", h->state_path);
		return -EIO;
	}
	vfo_err(COMP,
		"STATE FILE %s IS NOT VALID ALLOCATION STATE: moved to %s; starting with EMPTY allocation state",
		h->state_path, aside);
	vfo_sd_status("started with empty state: state file was unusable");
	return rebuild(h, h->inv, NULL, dropped);
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int vfo_hostd_core_init(struct vfo_hostd *h, const char *config_path)
{
	json_object *state = NULL;
	size_t dropped = 0;
	int r;

	h->config_path = strdup(config_path);
	if (!h->config_path)
		return -ENOMEM;
	r = vfo_hostd_config_load(config_path, NULL, NULL, &h->cfg);
	if (r < 0) {
		vfo_err(COMP, "%s: configuration refused; not starting", config_path);
		goto err_path;
	}
	if (snprintf(h->state_path, sizeof(h->state_path), "%s/%s", h->cfg->state_dir,
		     VFO_HOSTD_STATE_FILE) >= (int)sizeof(h->state_path)) {
		r = -ENAMETOOLONG;
		goto err_cfg;
	}
	r = mkdir_p(h->cfg->state_dir, 0700);
	if (r < 0) {
		vfo_err(COMP, "cannot create %s: %s", h->cfg->state_dir, strerror(-r));
		goto err_cfg;
	}
	r = scan(h, &h->inv);
	if (r < 0)
		goto err_cfg;
	/* The state first: numvfs must not pull VFs out from under domains
	 * that hold them (a restart after numvfs was changed in the file). */
	r = load_state(h, &state);
	if (r < 0)
		goto err_inv;
	if (start_numvfs(h, state) > 0) {
		vfo_inventory_free(h->inv);
		h->inv = NULL;
		r = scan(h, &h->inv);
		if (r < 0) {
			json_object_put(state);
			goto err_inv;
		}
	}
	if (state) {
		json_object *orch;

		if (json_object_object_get_ex(state, "orch", &orch))
			h->orch_state = json_object_get(orch);
	}
	r = rebuild(h, h->inv, state, &dropped);
	if (r == -EINVAL && state)
		r = state_unusable(h, &dropped);
	json_object_put(state);
	if (r < 0)
		goto err_inv;
	/* Written at once: the disk agrees with what reconcile kept, and an
	 * unwritable state directory stops us here, not at the first VF. */
	r = vfo_hostd_persist(h);
	if (r < 0)
		goto err_pools;
	vfo_info(COMP, "%zu pool(s), %zu VF(s), %zu PF(s) in sysfs%s", vfo_pools_n_pools(h->pools),
		 vfo_pools_n_vfs(h->pools), h->inv->n_pfs,
		 dropped ? "; some persisted allocations dropped" : "");
	return 0;

err_pools:
	vfo_pools_free(h->pools);
	h->pools = NULL;
err_inv:
	json_object_put(h->orch_state);
	h->orch_state = NULL;
	vfo_inventory_free(h->inv);
	h->inv = NULL;
err_cfg:
	vfo_hostd_config_free(h->cfg);
	h->cfg = NULL;
err_path:
	free(h->config_path);
	h->config_path = NULL;
	return r;
}

void vfo_hostd_core_fini(struct vfo_hostd *h)
{
	free(h->removed);
	free(h->pf_names);
	h->pf_names = NULL;
	h->n_pf_names = 0;
	h->removed = NULL;
	h->n_removed = h->cap_removed = h->n_rebound = 0;
	json_object_put(h->orch_state);
	h->orch_state = NULL;
	vfo_pools_free(h->pools);
	h->pools = NULL;
	vfo_inventory_free(h->inv);
	h->inv = NULL;
	vfo_hostd_config_free(h->cfg);
	h->cfg = NULL;
	free(h->config_path);
	h->config_path = NULL;
}

/* ---- loop plumbing ----------------------------------------------------- */

void vfo_hostd_event(struct vfo_hostd *h, const char *event, json_object *fields)
{
	if (h->ctl)
		vfo_ctl_broadcast(h->ctl, event, fields);
}

static void expire_cb(struct vfo_loop *l, int id, void *opaque)
{
	(void)l;
	(void)id;
	vfo_hostd_expire(opaque, vfo_wall_ms());
}

static void rescan_cb(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_hostd *h = opaque;

	(void)l;
	(void)id;
	vfo_debounce_done(&h->rescan_db);
	h->st.uevent_rescans++;
	vfo_hostd_rescan(h, "uevent");
}

static void watchdog_cb(struct vfo_loop *l, int id, void *opaque)
{
	(void)l;
	(void)id;
	(void)opaque;
	vfo_sd_watchdog();
}

static void signal_cb(struct vfo_loop *l, int signo, void *opaque)
{
	struct vfo_hostd *h = opaque;

	(void)l;
	switch (signo) {
	case SIGHUP:
		vfo_sd_reloading();
		vfo_hostd_rescan(h, "SIGHUP");
		vfo_sd_ready();
		break;
	case SIGUSR1:
		vfo_log_toggle_debug();
		vfo_notice(COMP, "log level now %s", vfo_log_level_to_string(vfo_log_get_level()));
		break;
	case SIGTERM:
	case SIGINT:
		vfo_notice(COMP, "%s: shutting down", signo == SIGTERM ? "SIGTERM" : "SIGINT");
		vfo_sd_stopping();
		break;
	default:
		break;
	}
}

/* PCI add/remove, driver bind/unbind, netdev add/remove/rename: rescan
 * once the burst is over. NULL: events were lost, so rescan anyway. */
static void on_uevent(struct udev_device *d, void *opaque)
{
	struct vfo_hostd *h = opaque;
	int64_t delay;

	if (d) {
		const char *action = udev_device_get_action(d);
		const char *subsystem = udev_device_get_subsystem(d);
		const char *sysname = udev_device_get_sysname(d);

		h->st.udev_events++;
		vfo_dbg(COMP, "uevent %s %s %s", action ? action : "?", subsystem ? subsystem : "?",
			sysname ? sysname : "?");
		if (!vfo_hostd_uevent(h, subsystem, action, sysname))
			return;
	}
	delay = vfo_debounce_event(&h->rescan_db, vfo_now_ms());
	vfo_loop_update_timer(h->loop, h->rescan_timer, delay > INT_MAX ? INT_MAX : (int)delay);
}

static int udev_init(struct vfo_hostd *h)
{
	static const char *const subsystems[] = { "pci", "net", NULL };
	const struct vfo_udev_opts o = {
		.name = "udev",
		.subsystems = subsystems,
		/* Any uevent will do: we only learn *that* sysfs changed. */
		.kernel_fallback = true,
		/* numvfs = 64 is a few hundred events at once. */
		.rcvbuf = 4 << 20,
	};
	int r;

	vfo_debounce_init(&h->rescan_db, h->cfg->rescan_delay_ms,
			  VFO_HOSTD_RESCAN_MAX_FACTOR * h->cfg->rescan_delay_ms);
	r = vfo_udev_open(&h->udev, h->loop, &o, on_uevent, h);
	if (r < 0)
		return r;
	if (h->udev.source == VFO_UDEV_KERNEL)
		vfo_notice(COMP, "no udevd (%s absent): rescanning on the kernel's uevents",
			   VFO_UDEVD_CONTROL);
	else
		vfo_info(COMP, "rescanning on udev's device events");
	return 0;
}

static int ctl_init(struct vfo_hostd *h)
{
	struct vfo_ctl_cfg cc;

	vfo_ctl_cfg_init(&cc);
	cc.path = h->cfg->socket;
	cc.group = h->cfg->group;
	cc.max_clients = h->cfg->max_clients;
	cc.conn.max_line = h->cfg->ctl_max_line;
	cc.conn.max_queue = h->cfg->ctl_max_queue;
	cc.conn.rate = h->cfg->ctl_rate;
	cc.conn.burst = h->cfg->ctl_burst;
	cc.table = vfo_hostd_cmd_table(h);
	return vfo_ctl_new(h->loop, &cc, &h->ctl);
}

static int timers_init(struct vfo_hostd *h)
{
	uint64_t wd = vfo_sd_watchdog_ms();
	int r;

	r = vfo_loop_add_timer(h->loop, "expire", -1, VFO_TIMER_ONESHOT, expire_cb, h, NULL);
	if (r < 0)
		return r;
	h->expire_timer = r;
	r = vfo_loop_add_timer(h->loop, "rescan", -1, VFO_TIMER_ONESHOT, rescan_cb, h, NULL);
	if (r < 0)
		return r;
	h->rescan_timer = r;
	if (wd) {
		r = vfo_loop_add_timer(h->loop, "watchdog", (int)(wd / 2), 0, watchdog_cb, h, NULL);
		if (r < 0)
			return r;
		h->watchdog_timer = r;
	}
	return 0;
}

static void timers_fini(struct vfo_hostd *h)
{
	if (h->expire_timer > 0)
		vfo_loop_remove_timer(h->loop, h->expire_timer);
	if (h->rescan_timer > 0)
		vfo_loop_remove_timer(h->loop, h->rescan_timer);
	if (h->watchdog_timer > 0)
		vfo_loop_remove_timer(h->loop, h->watchdog_timer);
	h->expire_timer = h->rescan_timer = h->watchdog_timer = 0;
}

int vfo_hostd_init(struct vfo_hostd *h, const struct vfo_hostd_opts *o)
{
	int r;

	memset(h, 0, sizeof(*h));
	h->started_ms = vfo_now_ms();
	/* First, so every later thread (libudev has none, libvirt will)
	 * inherits the blocked signal mask. */
	r = vfo_loop_new(&h->loop);
	if (r < 0)
		return r;
	r = vfo_hostd_core_init(h, o->config_path);
	if (r < 0)
		goto err_loop;
	if (!o->debug)
		vfo_log_set_level(h->cfg->log_level);
	r = vfo_hostd_backends_init(h);
	if (r < 0)
		goto err_core;
	r = timers_init(h);
	if (r < 0)
		goto err_timers;
	r = ctl_init(h);
	if (r < 0)
		goto err_timers;
	r = vfo_orch_init(h);
	if (r < 0)
		goto err_ctl;
	vfo_orch_load_state(h, h->orch_state);
	vfo_orch_apply_drains(h, h->pools);
	if (h->cfg->udev) {
		r = udev_init(h);
		if (r < 0)
			vfo_warn(COMP,
				 "no device events (%s): rescan on SIGHUP or 'vfoctl rescan' only",
				 strerror(-r));
	}
	vfo_loop_set_signal_cb(h->loop, signal_cb, h);
	arm_expiry(h);
	/* Reservations that ran out while we were down go now. */
	vfo_hostd_expire(h, vfo_wall_ms());
	vfo_sd_ready();
	vfo_sd_status("serving");
	vfo_notice(COMP, "vfo-hostd %s ready: %s", PACKAGE_VERSION, h->cfg->socket);
	return 0;

err_ctl:
	vfo_ctl_free(h->ctl);
	h->ctl = NULL;
err_timers:
	timers_fini(h);
	vfo_hostd_backends_fini(h);
err_core:
	vfo_hostd_core_fini(h);
err_loop:
	vfo_loop_free(h->loop);
	h->loop = NULL;
	return r;
}

void vfo_hostd_fini(struct vfo_hostd *h)
{
	vfo_orch_fini(h);
	vfo_udev_close(&h->udev, h->loop);
	vfo_ctl_free(h->ctl);
	h->ctl = NULL;
	timers_fini(h);
	vfo_hostd_backends_fini(h);
	vfo_hostd_core_fini(h);
	vfo_loop_free(h->loop);
	h->loop = NULL;
}

int vfo_hostd_run(struct vfo_hostd *h)
{
	int r = vfo_loop_run(h->loop);

	vfo_sd_stopping();
	return r;
}
