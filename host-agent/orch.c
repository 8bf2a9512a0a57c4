// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdb.h"
#include "gchan.h"
#include "hostd.h"
#include "log.h"
#include "meta.h"
#include "migrate.h"
#include "orch.h"
#include "virt.h"

#define COMP "orch"
#define TICK_MS 200
#define GCHAN_RETRY_MS 1000
#define MAX_QUEUE 32
/*
 * After a migration QEMU announces the guest's MACs from every emulated
 * NIC it has (RARP rounds 50, 150, 250 and 350 ms apart with QEMU's
 * default announce parameters: the last one 800 ms after the switch-over,
 * which comes a few ms before RESUMED). A stand-in VF (the emulated
 * backend) plugged during those rounds takes part in them, and the bridge
 * then sends the guest's traffic to a NIC the guest does not use yet
 * (measured: up to 170 ms at a time, until the guest's own announcement
 * through the standby wins it back). So for this long after RESUMED the
 * guest's MAC is pinned to its standby's port (fdb.h) while the stand-in
 * is plugged at once; where it cannot be pinned, the plug waits this long
 * instead. A real VF is no QEMU NIC: neither is needed there.
 */
#define EMULATED_ANNOUNCE_MS 850
/* The all-zero UUID owns nothing real: drained VFs are held in its name. */
#define DRAIN_UUID "00000000-0000-0000-0000-000000000000"

struct queued {
	enum vfo_mig_input_type type;
	char pair[32];
	char alias[64];
	char error[200];
};

struct vfo_dom {
	struct vfo_dom *next;
	struct vfo_hostd *h;
	char uuid[37];
	struct vfo_meta meta;
	bool active; /* running here, as far as we know */
	struct vfo_gchan *gchan;
	bool gchan_closed; /* free and reopen at the next tick */
	int64_t gchan_retry; /* monotonic ms of the next open attempt */
	bool on_standby; /* operator or drain: keep the VFs off */
	bool degraded; /* wants a VF, none was free */
	bool release_on_removal[VFO_META_MAX_PAIRS];
	int64_t arrive_at; /* monotonic ms: start the incoming side then */
	int64_t unpin_at; /* monotonic ms: hand the pinned MACs back to learning */
	char pinned[VFO_META_MAX_PAIRS][IF_NAMESIZE]; /* standby tap pinned, "" */
	bool arriving_pending[VFO_META_MAX_PAIRS]; /* vf-arriving once the agent answers */
	int64_t detach_at; /* monotonic ms: unplug the VFs to release now */
	bool steered; /* operator moved the traffic to the standby, VFs kept */
	struct vfo_mig *mig;
	bool mig_finished;
	struct vfo_virt_migration worker;
	int worker_watch;
	struct queued queue[MAX_QUEUE];
	size_t q_head, q_len;
	bool feeding;
};

struct vfo_orch {
	struct vfo_virt *virt;
	struct vfo_dom *doms;
	struct vfo_mig_cfg cfg;
	int tick;
	bool tick_on;
	int due; /* one-shot, at the earliest arrive_at / unpin_at */
	json_object *saved; /* migrations etc. loaded at start, until libvirt connects */
	json_object *drained; /* array of pool names / PFs */
};

static struct vfo_orch *O(struct vfo_hostd *h)
{
	return h->orch;
}

/* ---- domains ---------------------------------------------------------------- */

static struct vfo_dom *dom_find(struct vfo_hostd *h, const char *uuid)
{
	for (struct vfo_dom *d = O(h)->doms; d; d = d->next) {
		if (!strcasecmp(d->uuid, uuid))
			return d;
	}
	return NULL;
}

static void dom_event(struct vfo_dom *d, const char *event, const char *what, const char *detail)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "domain", json_object_new_string(d->uuid));
	json_object_object_add(o, "name", json_object_new_string(d->meta.name));
	if (what)
		json_object_object_add(o, "state", json_object_new_string(what));
	if (detail && detail[0])
		json_object_object_add(o, "detail", json_object_new_string(detail));
	vfo_hostd_event(d->h, event, o);
	json_object_put(o);
}

static void gchan_drop(struct vfo_dom *d)
{
	vfo_gchan_free(d->gchan);
	d->gchan = NULL;
	d->gchan_closed = false;
}

static void worker_stop_watch(struct vfo_dom *d)
{
	if (d->worker_watch > 0)
		vfo_loop_remove_fd(d->h->loop, d->worker_watch);
	d->worker_watch = 0;
	vfo_close(&d->worker.fd);
}

static void unpin_standbys(struct vfo_dom *d);

static void dom_free(struct vfo_dom *d)
{
	unpin_standbys(d);
	gchan_drop(d);
	worker_stop_watch(d);
	free(d->mig);
	free(d);
}

static void dom_unlink(struct vfo_hostd *h, struct vfo_dom *d)
{
	for (struct vfo_dom **pp = &O(h)->doms; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	dom_free(d);
}

/* Runs on its standby for want of a free VF. */
static bool wants_vf(const struct vfo_dom *d)
{
	return d->mig ? d->mig->state == VFO_MIG_DEGRADED : d->active && d->degraded;
}

static bool needs_tick(struct vfo_hostd *h)
{
	for (struct vfo_dom *d = O(h)->doms; d; d = d->next) {
		if (d->mig || d->detach_at || wants_vf(d) ||
		    (d->active && d->meta.channel_path[0] && (!d->gchan || d->gchan_closed)))
			return true;
	}
	return false;
}

static void tick_update(struct vfo_hostd *h)
{
	bool on = needs_tick(h);

	if (on != O(h)->tick_on)
		vfo_loop_update_timer(h->loop, O(h)->tick, on ? TICK_MS : -1);
	O(h)->tick_on = on;
}

/* ---- guest channel ------------------------------------------------------------ */

static void mig_feed(struct vfo_dom *d, enum vfo_mig_input_type t, const char *pair,
		     const char *alias, const char *error);

static void flush_arriving(struct vfo_dom *d);

static void on_gchan_ready(void *opaque, struct vfo_gchan *g)
{
	struct vfo_dom *d = opaque;

	dom_event(d, "guest-agent", "present", NULL);
	if (d->mig)
		d->mig->agent = true;
	flush_arriving(d);
}

static const struct vfo_meta_pair *pair_by_mac(struct vfo_dom *d, const char *mac, int *idx)
{
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (!strcmp(d->meta.pairs[i].mac, mac)) {
			*idx = (int)i;
			return &d->meta.pairs[i];
		}
	}
	return NULL;
}

static void detach_now(struct vfo_dom *d);

static void on_gchan_reply(void *opaque, struct vfo_gchan *g, enum vfo_gchan_cmd cmd,
			   const char *mac, int err, int64_t elapsed_ms)
{
	struct vfo_dom *d = opaque;
	const struct vfo_meta_pair *p;
	int i;

	if (cmd != VFO_GCHAN_VF_LEAVING)
		return;
	p = pair_by_mac(d, mac, &i);
	if (!p)
		return;
	if (err)
		vfo_warn(COMP, "%s: guest agent did not confirm vf-leaving for %s: %s; going on",
			 d->meta.name, p->id, strerror(-err));
	else
		vfo_info(COMP, "%s: guest switched %s to its standby in %lld ms", d->meta.name,
			 p->id, (long long)elapsed_ms);
	/* An error or a timeout is an answer too: stop waiting for it. */
	if (d->mig)
		mig_feed(d, VFO_MIG_IN_ACK, p->id, NULL, NULL);
	else if (d->detach_at)
		detach_now(d);
}

static void on_gchan_closed(void *opaque, struct vfo_gchan *g)
{
	struct vfo_dom *d = opaque;
	struct vfo_hostd *h = d->h;

	d->gchan_closed = true;
	d->gchan_retry = vfo_now_ms() + GCHAN_RETRY_MS;
	if (d->mig)
		mig_feed(d, VFO_MIG_IN_AGENT_GONE, NULL, NULL, NULL);
	tick_update(h);
}

static const struct vfo_gchan_ops gchan_ops = {
	.ready = on_gchan_ready,
	.reply = on_gchan_reply,
	.closed = on_gchan_closed,
};

static void gchan_try_open(struct vfo_dom *d)
{
	int r;

	if (d->gchan && !d->gchan_closed)
		return;
	if (d->gchan)
		gchan_drop(d);
	if (!d->active || !d->meta.channel_path[0] || vfo_now_ms() < d->gchan_retry)
		return;
	r = vfo_gchan_open(&d->gchan, d->h->loop, d->meta.channel_path, O(d->h)->cfg.ack_timeout_ms,
			   &gchan_ops, d);
	if (r < 0) {
		d->gchan = NULL;
		d->gchan_retry = vfo_now_ms() + GCHAN_RETRY_MS;
		vfo_dbg(COMP, "%s: guest channel %s: %s", d->meta.name, d->meta.channel_path,
			strerror(-r));
	}
}

static bool agent_present(struct vfo_dom *d)
{
	return d->gchan && !d->gchan_closed && vfo_gchan_agent(d->gchan);
}

/*
 * "vf-arriving" lets the guest prefer the new VF after a short hold-down.
 * It is held back while the guest cannot hear it (after a migration the
 * agent answers on its new channel only once the guest runs there, often
 * after the VF was plugged) and while the guest's MAC is pinned to its
 * standby (fdb.h): a guest that moved to the VF then would not be reached
 * there, and without the hint it holds the new VF down long enough.
 */
static void flush_arriving(struct vfo_dom *d)
{
	if (!agent_present(d) || d->unpin_at)
		return;
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (d->arriving_pending[i] && d->meta.pairs[i].vf_kind != VFO_META_VF_NONE)
			vfo_gchan_send(d->gchan, VFO_GCHAN_VF_ARRIVING, d->meta.pairs[i].mac);
		d->arriving_pending[i] = false;
	}
}

/* Anything said about a pair supersedes a "vf-arriving" still held. */
static void tell_guest(struct vfo_dom *d, enum vfo_gchan_cmd cmd, size_t pair)
{
	d->arriving_pending[pair] = cmd == VFO_GCHAN_VF_ARRIVING;
	if (cmd == VFO_GCHAN_VF_ARRIVING)
		flush_arriving(d);
	else if (agent_present(d))
		vfo_gchan_send(d->gchan, cmd, d->meta.pairs[pair].mac);
}

/* ---- VFs of a domain --------------------------------------------------------- */

static void owner_of(struct vfo_dom *d, size_t pair, struct vfo_owner *o)
{
	vfo_owner_set(o, d->uuid, d->meta.pairs[pair].id);
}

static bool pair_drained(struct vfo_hostd *h, const struct vfo_meta_pair *p)
{
	json_object *arr = O(h)->drained;

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), p->pool))
			return true;
	}
	return false;
}

/* Read pair's VF (hostdev or emulated, its PCI address) from the live XML
 * into p: 1 present, 0 absent, -errno. */
static int vf_read(struct vfo_dom *d, struct vfo_meta_pair *p)
{
	char *xml = NULL;
	int r = vfo_virt_domain_xml(O(d->h)->virt, d->uuid, &xml);

	if (r < 0)
		return r;
	r = vfo_meta_pair_vf(xml, strlen(xml), p);
	free(xml);
	return r;
}

/* Is the VF interface of pair present in the live XML? 1/0, -errno. */
static int vf_present(struct vfo_dom *d, size_t pair)
{
	struct vfo_meta_pair p = d->meta.pairs[pair];

	return vf_read(d, &p);
}

/* After a plug: what the domain has for pair now, as its live XML says,
 * so that a hostdev VF is known as one. Should the XML not be readable,
 * the plug succeeded all the same: the pool's backend says what it was. */
static void vf_plugged(struct vfo_dom *d, size_t pair)
{
	struct vfo_meta_pair *p = &d->meta.pairs[pair];
	const struct vfo_hostd_pool_cfg *pc;
	int r = vf_read(d, p);

	if (r >= 0)
		return;
	pc = vfo_hostd_config_pool(d->h->cfg, p->pool);
	vfo_warn(COMP, "%s: cannot read back the VF of %s (%s); taking the plug's word for it",
		 d->meta.name, p->id, strerror(-r));
	p->vf_kind = pc && pc->backend == VFO_HOSTD_BACKEND_EMULATED ? VFO_META_VF_BRIDGE :
								       VFO_META_VF_HOSTDEV;
}

/*
 * Give pair a VF and plug it: use its reservation (a migration's hook made
 * one) or reserve now, configure, attach. 0, -ENOSPC when the pool has no
 * free VF, or -errno (the VF is released again: nothing half-done stays).
 */
static int attach_pair(struct vfo_dom *d, size_t pair)
{
	struct vfo_hostd *h = d->h;
	const struct vfo_meta_pair *p = &d->meta.pairs[pair];
	const struct vfo_pool_vf *vf;
	json_object *data;
	struct vfo_owner o;
	char *xml = NULL;
	bool present = vf_present(d, pair) == 1;
	int r, id;

	owner_of(d, pair, &o);
	id = vfo_pools_lookup_owner(h->pools, &o);
	vf = id >= 0 ? vfo_pools_vf(h->pools, id) : NULL;
	if (present && vf && vf->state == VFO_VF_ASSIGNED)
		return 0;
	if (!present && pair_drained(h, p))
		return -ENOSPC;
	data = json_object_new_object();
	json_object_object_add(data, "mac", json_object_new_string(p->mac));
	r = vfo_hostd_reserve(h, p->pool, &o, -1, 0, data);
	json_object_put(data);
	if (r < 0 && present) {
		/* Plugged by someone else (QEMU in <teaming> mode, an
		 * operator): it runs, but no VF of ours stands for it. */
		vfo_warn(COMP, "%s: the VF of %s is plugged but pool %s has none for it: %s",
			 d->meta.name, p->id, p->pool, strerror(-r));
		return 0;
	}
	if (r < 0)
		return r;
	vf = vfo_pools_vf(h->pools, r);
	if (present && p->vf_pci[0] && strcmp(vf->addr, p->vf_pci)) {
		/* A real VF has an identity: another one cannot stand for it. */
		vfo_warn(COMP, "%s: the VF of %s is plugged at %s, not one of pool %s",
			 d->meta.name, p->id, p->vf_pci, p->pool);
		vfo_hostd_release(h, d->uuid, p->id);
		return 0;
	}
	r = vfo_hostd_assign(h, &o);
	if (r >= 0)
		r = vfo_hostd_vf_prepare(h, &o, &xml);
	if (r >= 0 && !present) {
		vfo_info(COMP, "%s: plugging VF %s for %s", d->meta.name, vf->addr, p->id);
		r = vfo_virt_attach(O(h)->virt, d->uuid, xml);
		if (r < 0)
			vfo_err(COMP, "%s: attaching the VF of %s failed: %s", d->meta.name, p->id,
				vfo_virt_last_error());
	}
	free(xml);
	if (r < 0) {
		if (!present)
			vfo_hostd_release(h, d->uuid, p->id);
		return r;
	}
	vf_plugged(d, pair);
	vfo_info(COMP, "%s: VF %s for %s", d->meta.name, present ? "accounted" : "plugged", p->id);
	return 0;
}

static void retry_degraded(struct vfo_hostd *h);

static void release_pair(struct vfo_dom *d, size_t pair)
{
	if (vfo_hostd_release(d->h, d->uuid, d->meta.pairs[pair].id) <= 0)
		return;
	/* A VF freed in a drained pool leaves service at once. */
	if (pair_drained(d->h, &d->meta.pairs[pair]))
		vfo_hostd_refresh_pools(d->h, "drain");
	else
		retry_degraded(d->h);
}

/*
 * Operator or drain: the domain goes to its standby and gives its VFs up.
 * The guest agent is told first and the VFs are unplugged once it acked
 * (bounded by ack_timeout), as in a migration: the traffic is on the
 * standby before the VF goes. Each VF is released when it is gone.
 */
static void standby_detach(struct vfo_dom *d)
{
	bool plugged = false;

	d->on_standby = true;
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (d->meta.pairs[i].vf_kind == VFO_META_VF_NONE) {
			release_pair(d, i);
			continue;
		}
		d->release_on_removal[i] = true;
		plugged = true;
	}
	if (!plugged)
		return;
	if (!agent_present(d)) {
		detach_now(d);
		return;
	}
	for (size_t i = 0; i < d->meta.n_pairs; i++)
		tell_guest(d, VFO_GCHAN_VF_LEAVING, i);
	d->detach_at = vfo_now_ms() + O(d->h)->cfg.ack_timeout_ms;
	tick_update(d->h);
}

static void detach_now(struct vfo_dom *d)
{
	d->detach_at = 0;
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (!d->release_on_removal[i] || d->meta.pairs[i].vf_kind == VFO_META_VF_NONE)
			continue;
		if (vfo_virt_detach_alias(O(d->h)->virt, d->uuid, d->meta.pairs[i].vf_alias) < 0)
			vfo_err(COMP, "%s: detaching %s failed: %s", d->meta.name,
				d->meta.pairs[i].vf_alias, vfo_virt_last_error());
	}
}

/* Outside a migration: every pair of a running domain has its VF, unless
 * the operator put it on its standby. */
static void ensure_vfs(struct vfo_dom *d)
{
	bool degraded = false;

	if (d->mig || !d->active || d->on_standby)
		return;
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		struct vfo_owner o;
		int r;

		owner_of(d, i, &o);
		if (d->meta.pairs[i].vf_kind != VFO_META_VF_NONE &&
		    vfo_pools_lookup_owner(d->h->pools, &o) >= 0)
			continue;
		r = attach_pair(d, i); /* the pair's VF fields follow the live XML */
		if (r == -ENOSPC)
			degraded = true;
		else if (r == 0)
			tell_guest(d, VFO_GCHAN_VF_ARRIVING, i);
	}
	if (degraded != d->degraded) {
		d->degraded = degraded;
		if (degraded)
			vfo_warn(COMP,
				 "%s: no free VF: running on its standby (degraded) until one "
				 "frees",
				 d->meta.name);
		dom_event(d, "domain", degraded ? "degraded" : "vf-ready", NULL);
	}
}

static void retry_one(struct vfo_dom *d)
{
	if (d->mig && d->mig->state == VFO_MIG_DEGRADED)
		mig_feed(d, VFO_MIG_IN_VF_FREED, NULL, NULL, NULL);
	else if (!d->mig && d->degraded)
		ensure_vfs(d);
}

static void retry_degraded(struct vfo_hostd *h)
{
	for (struct vfo_dom *d = O(h)->doms; d; d = d->next)
		retry_one(d);
}

/* VFs free up by ways the orchestrator does not see (a reservation
 * released or expired, a rescan): degraded domains look at their pools
 * at every tick. */
static bool free_vf_for(struct vfo_dom *d)
{
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		int pool = vfo_pools_find_pool(d->h->pools, d->meta.pairs[i].pool);
		struct vfo_pool_counts c;

		if (pool < 0 || pair_drained(d->h, &d->meta.pairs[i]))
			continue;
		vfo_pools_counts(d->h->pools, pool, &c);
		if (c.free > 0)
			return true;
	}
	return false;
}

/* ---- the migration state machine's actions ----------------------------------- */

static void persist(struct vfo_hostd *h)
{
	vfo_hostd_persist(h);
}

static void on_worker(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_dom *d = opaque;
	char err[256] = "";
	int r = vfo_virt_migration_result(&d->worker, err, sizeof(err));

	if (r == -EAGAIN)
		return;
	d->worker.fd = -1; /* closed by the result reader */
	worker_stop_watch(d);
	if (r == 0)
		mig_feed(d, VFO_MIG_IN_MIGRATE_OK, NULL, NULL, NULL);
	else
		mig_feed(d, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL, err);
}

static void start_migration(struct vfo_dom *d)
{
	struct vfo_orch *o = O(d->h);
	char *xml = NULL, *dest = NULL;
	int r;

	r = vfo_virt_domain_xml_migratable(o->virt, d->uuid, &xml);
	if (r == 0)
		r = vfo_meta_strip_vfs(xml, strlen(xml), NULL, &dest);
	if (r == 0)
		r = vfo_virt_migrate_spawn(vfo_virt_helper_exe(o->virt), vfo_virt_uri(o->virt),
					   d->uuid, d->mig->dest_uri, d->mig->p2p, dest,
					   &d->worker);
	free(xml);
	free(dest);
	if (r == 0) {
		r = vfo_loop_add_fd(d->h->loop, "migration-worker", d->worker.fd, VFO_EV_IN,
				    on_worker, d, NULL);
		if (r > 0) {
			d->worker_watch = r;
			vfo_info(COMP, "%s: live migration to %s started (worker %d)", d->meta.name,
				 d->mig->dest_uri, d->worker.pid);
			return;
		}
	}
	mig_feed(d, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL, strerror(-r));
}

static void do_detach(struct vfo_dom *d, size_t pair)
{
	const char *alias = d->mig->pairs[pair].alias;
	int present = vf_present(d, pair);
	int r;

	if (present == 0) {
		mig_feed(d, VFO_MIG_IN_DEVICE_REMOVED, NULL, alias, NULL);
		return;
	}
	vfo_info(COMP, "%s: unplugging %s", d->meta.name, alias);
	r = vfo_virt_detach_alias(O(d->h)->virt, d->uuid, alias);
	if (r < 0) {
		vfo_err(COMP, "%s: detaching %s failed: %s", d->meta.name, alias,
			vfo_virt_last_error());
		mig_feed(d, VFO_MIG_IN_REMOVAL_FAILED, NULL, alias, vfo_virt_last_error());
	}
}

static void do_attach(struct vfo_dom *d, size_t pair)
{
	const char *id = d->mig->pairs[pair].id;
	int r = attach_pair(d, pair);

	if (r == 0)
		mig_feed(d, VFO_MIG_IN_ATTACH_OK, id, NULL, NULL);
	else if (r == -ENOSPC)
		mig_feed(d, VFO_MIG_IN_NO_VF, id, NULL, NULL);
	else
		mig_feed(d, VFO_MIG_IN_ATTACH_FAILED, id, NULL, strerror(-r));
}

static void exec_action(struct vfo_dom *d, const struct vfo_mig_action *a)
{
	switch (a->type) {
	case VFO_MIG_ACT_SEND_LEAVING:
		d->arriving_pending[a->pair] = false;
		if (!agent_present(d) ||
		    vfo_gchan_send(d->gchan, VFO_GCHAN_VF_LEAVING, d->meta.pairs[a->pair].mac) < 0)
			mig_feed(d, VFO_MIG_IN_AGENT_GONE, NULL, NULL, NULL);
		break;
	case VFO_MIG_ACT_SEND_ARRIVING:
		tell_guest(d, VFO_GCHAN_VF_ARRIVING, a->pair);
		break;
	case VFO_MIG_ACT_DETACH:
		do_detach(d, a->pair);
		break;
	case VFO_MIG_ACT_MIGRATE:
		start_migration(d);
		break;
	case VFO_MIG_ACT_ATTACH:
		do_attach(d, a->pair);
		break;
	case VFO_MIG_ACT_RELEASE:
		release_pair(d, a->pair);
		mig_feed(d, VFO_MIG_IN_RELEASED, d->mig->pairs[a->pair].id, NULL, NULL);
		break;
	case VFO_MIG_ACT_FINISHED:
		d->mig_finished = true;
		break;
	}
}

static void mig_done(struct vfo_dom *d)
{
	struct vfo_hostd *h = d->h;
	struct vfo_mig *m = d->mig;
	int64_t took = vfo_wall_ms() - m->started_ms;

	if (m->state == VFO_MIG_DONE)
		vfo_notice(COMP, "%s: %s finished in %lld ms", d->meta.name,
			   m->incoming ? "incoming migration" : "migration", (long long)took);
	else
		vfo_err(COMP, "%s: migration failed (%s); %s", d->meta.name, m->error,
			m->incoming ? "the domain runs on its standby" :
				      "the domain stays here with its VF back");
	/* The "done"/"failed" event went out with the step that got there. */
	if (!m->incoming && m->state == VFO_MIG_DONE) {
		/* It runs on the destination now, whatever libvirt's
		 * STOPPED_MIGRATED here has said or will say. */
		d->active = false;
		gchan_drop(d);
	}
	d->degraded = false;
	for (size_t i = 0; i < m->n_pairs; i++)
		d->degraded |= m->incoming && !m->pairs[i].has_vf;
	free(m);
	d->mig = NULL;
	d->mig_finished = false;
	persist(h);
	if (!d->active)
		dom_unlink(h, d);
}

/* Inputs are queued and run one at a time: an action may produce an input
 * (a failed detach, an attach result) while the step that asked for it is
 * still being carried out. */
static void mig_feed(struct vfo_dom *d, enum vfo_mig_input_type t, const char *pair,
		     const char *alias, const char *error)
{
	struct vfo_mig_action acts[VFO_MIG_MAX_ACTIONS];
	struct vfo_hostd *h = d->h;
	struct queued *q;

	if (!d->mig || d->q_len == MAX_QUEUE) {
		if (d->mig)
			vfo_err(COMP, "%s: migration input queue full; input %d dropped",
				d->meta.name, t);
		return;
	}
	q = &d->queue[(d->q_head + d->q_len++) % MAX_QUEUE];
	q->type = t;
	snprintf(q->pair, sizeof(q->pair), "%s", pair ? pair : "");
	snprintf(q->alias, sizeof(q->alias), "%s", alias ? alias : "");
	snprintf(q->error, sizeof(q->error), "%s", error ? error : "");
	if (d->feeding)
		return;
	d->feeding = true;
	while (d->q_len && d->mig) {
		struct queued cur = d->queue[d->q_head];
		enum vfo_mig_state before = d->mig->state;
		struct vfo_mig_input in = {
			.type = cur.type,
			.now_ms = vfo_now_ms(),
			.pair = cur.pair[0] ? cur.pair : NULL,
			.alias = cur.alias[0] ? cur.alias : NULL,
			.error = cur.error[0] ? cur.error : NULL,
		};
		int n;

		d->q_head = (d->q_head + 1) % MAX_QUEUE;
		d->q_len--;
		n = vfo_mig_step(d->mig, &O(d->h)->cfg, &in, acts);
		if (n < 0) {
			vfo_dbg(COMP, "%s: input %d ignored in state %s", d->meta.name, in.type,
				vfo_mig_state_str(d->mig->state));
			continue;
		}
		if (d->mig->state != before) {
			vfo_info(COMP, "%s: migration %s -> %s", d->meta.name,
				 vfo_mig_state_str(before), vfo_mig_state_str(d->mig->state));
			dom_event(d, "migration", vfo_mig_state_str(d->mig->state), d->mig->error);
		}
		/* The step is on disk before anything of it is done. */
		persist(d->h);
		for (int i = 0; i < n; i++)
			exec_action(d, &acts[i]);
		if (d->mig_finished && !d->q_len) {
			d->feeding = false;
			mig_done(d); /* may free d */
			tick_update(h);
			return;
		}
	}
	d->feeding = false;
	tick_update(h);
}

static int mig_new(struct vfo_dom *d, bool incoming, const char *dest, bool p2p)
{
	d->mig = calloc(1, sizeof(*d->mig));
	if (!d->mig)
		return -ENOMEM;
	if (vfo_mig_init(d->mig, incoming, d->meta.name, d->uuid, dest, agent_present(d)) < 0)
		goto bad;
	d->mig->p2p = p2p;
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		const struct vfo_meta_pair *p = &d->meta.pairs[i];
		bool has_vf = incoming || p->vf_kind != VFO_META_VF_NONE;

		if (vfo_mig_add_pair(d->mig, p->id, p->vf_alias, has_vf) < 0)
			goto bad;
	}
	return 0;
bad:
	free(d->mig);
	d->mig = NULL;
	return -EINVAL;
}

/* ---- following domains --------------------------------------------------------- */

/* Start following a running domain (or refresh what we know of it). NULL
 * when it carries no vfo metadata. */
static struct vfo_dom *follow(struct vfo_hostd *h, const char *uuid, const char *xml)
{
	struct vfo_dom *d = dom_find(h, uuid);
	struct vfo_meta m;
	char err[200] = "";
	int r;

	r = vfo_meta_parse(xml, strlen(xml), &m, err, sizeof(err));
	if (r == -ENODATA)
		return NULL;
	if (r < 0) {
		vfo_err(COMP, "domain %s: invalid vfo metadata (%s); not managing it", uuid, err);
		return NULL;
	}
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return NULL;
		d->h = h;
		snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
		d->worker.fd = -1;
		d->next = O(h)->doms;
		O(h)->doms = d;
		vfo_info(COMP, "following %s (%zu pair(s))", m.name, m.n_pairs);
	}
	d->meta = m;
	d->active = true;
	gchan_try_open(d);
	tick_update(h);
	return d;
}

/* The incoming side of a migration: the domain runs here now. */
static void arrive(struct vfo_dom *d)
{
	d->arrive_at = 0;
	if (d->mig || !d->active)
		return;
	if (mig_new(d, true, NULL, false) == 0)
		mig_feed(d, VFO_MIG_IN_ARRIVED, NULL, NULL, NULL);
}

/* The pool of pair if it is an emulated one, else NULL. */
static const struct vfo_hostd_pool_cfg *emulated_pool(struct vfo_dom *d, size_t pair)
{
	const struct vfo_hostd_pool_cfg *pc =
		vfo_hostd_config_pool(d->h->cfg, d->meta.pairs[pair].pool);

	return pc && pc->backend == VFO_HOSTD_BACKEND_EMULATED ? pc : NULL;
}

static bool emulated_pairs(struct vfo_dom *d)
{
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (emulated_pool(d, i))
			return true;
	}
	return false;
}

/* ---- the guest's MAC pinned to its standby (fdb.h) ---------------------------- */

static void due_update(struct vfo_hostd *h)
{
	int64_t next = 0, now = vfo_now_ms();

	for (struct vfo_dom *d = O(h)->doms; d; d = d->next) {
		if (d->arrive_at && (!next || d->arrive_at < next))
			next = d->arrive_at;
		if (d->unpin_at && (!next || d->unpin_at < next))
			next = d->unpin_at;
	}
	vfo_loop_update_timer(h->loop, O(h)->due, next ? (int)(next > now ? next - now : 1) : -1);
}

/*
 * Hand each pinned MAC back to the bridge's learning. A pin left behind
 * would keep the guest's traffic on its standby once the guest moved to
 * the VF, so a failure is retried until it succeeds.
 */
static void unpin_standbys(struct vfo_dom *d)
{
	bool again = false;

	for (size_t i = 0; i < VFO_META_MAX_PAIRS; i++) {
		int r;

		if (!d->pinned[i][0])
			continue;
		r = vfo_fdb_unpin(d->pinned[i], d->meta.pairs[i].mac);
		if (r < 0) {
			vfo_err(COMP, "%s: unpinning %s from %s failed: %s; retrying", d->meta.name,
				d->meta.pairs[i].mac, d->pinned[i], strerror(-r));
			again = true;
			continue;
		}
		d->pinned[i][0] = '\0';
	}
	d->unpin_at = again ? vfo_now_ms() + TICK_MS : 0;
	flush_arriving(d);
}

/*
 * Pin each emulated pair's MAC to its standby's tap for QEMU's announcement
 * rounds, so its stand-in VF can be plugged at once. 0 when every emulated
 * pair is pinned; -errno when one cannot be (nothing stays pinned then):
 * its standby is not on the pool's bridge, or the bridge refused.
 */
static int pin_standbys(struct vfo_dom *d)
{
	char *xml = NULL, dev[IF_NAMESIZE], br[IF_NAMESIZE];
	int r = vfo_virt_domain_xml(O(d->h)->virt, d->uuid, &xml);

	for (size_t i = 0; r == 0 && i < d->meta.n_pairs; i++) {
		const struct vfo_meta_pair *p = &d->meta.pairs[i];
		const struct vfo_hostd_pool_cfg *pc = emulated_pool(d, i);

		if (!pc)
			continue;
		r = vfo_meta_standby_port(xml, strlen(xml), p->standby, dev, sizeof(dev), br,
					  sizeof(br));
		/* The stand-in joins the pool's bridge: only a pin there helps. */
		if (r == 0 && strcmp(br, pc->bridge))
			r = -EXDEV;
		if (r == 0)
			r = vfo_fdb_pin(dev, p->mac);
		if (r == 0)
			snprintf(d->pinned[i], sizeof(d->pinned[i]), "%s", dev);
	}
	free(xml);
	if (r < 0) {
		vfo_notice(COMP,
			   "%s: cannot pin the guest's MAC to its standby (%s): the VF is "
			   "plugged after QEMU's announcements",
			   d->meta.name, strerror(-r));
		unpin_standbys(d);
		return r;
	}
	vfo_info(COMP, "%s: MAC pinned to the standby for QEMU's announcements", d->meta.name);
	d->unpin_at = vfo_now_ms() + EMULATED_ANNOUNCE_MS;
	return 0;
}

/* A pin outlives a vfo-hostd killed while it held: drop any such on the
 * standby's port of a domain found running (a learnt entry there is
 * dropped too, and relearnt from the guest's next frame). */
static void unpin_leftovers(struct vfo_dom *d, const char *xml)
{
	char dev[IF_NAMESIZE], br[IF_NAMESIZE];

	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (d->pinned[i][0] || !emulated_pool(d, i) ||
		    vfo_meta_standby_port(xml, strlen(xml), d->meta.pairs[i].standby, dev,
					  sizeof(dev), br, sizeof(br)) < 0)
			continue;
		vfo_fdb_unpin(dev, d->meta.pairs[i].mac);
	}
}

static void on_due(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_hostd *h = opaque;
	struct vfo_dom *next;

	for (struct vfo_dom *d = O(h)->doms; d; d = next) {
		next = d->next;
		if (d->unpin_at && vfo_now_ms() >= d->unpin_at)
			unpin_standbys(d);
		if (d->arrive_at && vfo_now_ms() >= d->arrive_at)
			arrive(d);
	}
	due_update(h);
}

static void domain_gone(struct vfo_dom *d, const char *why)
{
	struct vfo_hostd *h = d->h;

	vfo_info(COMP, "%s: %s: releasing its VFs", d->meta.name, why);
	vfo_hostd_release(h, d->uuid, NULL);
	d->active = false;
	gchan_drop(d);
	if (!d->mig)
		dom_unlink(h, d);
	retry_degraded(h);
}

static void on_lifecycle(void *opaque, const char *uuid, const char *name, enum vfo_virt_life ev)
{
	struct vfo_hostd *h = opaque;
	struct vfo_dom *d = dom_find(h, uuid);
	char *xml = NULL;

	switch (ev) {
	case VFO_VIRT_STARTED:
	case VFO_VIRT_STARTED_MIGRATED:
		if (vfo_virt_domain_xml(O(h)->virt, uuid, &xml) < 0)
			return;
		d = follow(h, uuid, xml);
		free(xml);
		/* An incoming domain gets its VFs once it runs here. */
		if (d && ev == VFO_VIRT_STARTED)
			ensure_vfs(d);
		break;
	case VFO_VIRT_RESUMED_MIGRATED:
		if (!d && vfo_virt_domain_xml(O(h)->virt, uuid, &xml) == 0) {
			d = follow(h, uuid, xml);
			free(xml);
		}
		if (!d || d->mig)
			return;
		vfo_info(COMP, "%s: resumed here after a migration", d->meta.name);
		d->active = true;
		gchan_try_open(d);
		/* A stand-in VF must not take part in QEMU's announcements
		 * (EMULATED_ANNOUNCE_MS): pin, or else wait for them to end. */
		if (emulated_pairs(d) && pin_standbys(d) < 0)
			d->arrive_at = vfo_now_ms() + EMULATED_ANNOUNCE_MS;
		else
			arrive(d);
		due_update(h);
		break;
	case VFO_VIRT_STOPPED_MIGRATED:
		if (!d)
			return;
		d->active = false;
		/* Our own migration releases in its RELEASING step. */
		if (!d->mig)
			domain_gone(d, "migrated away (not by vfo)");
		break;
	case VFO_VIRT_STOPPED:
	case VFO_VIRT_UNDEFINED:
		if (!d)
			return;
		if (d->mig && !d->mig->incoming && d->mig->state == VFO_MIG_MIGRATING)
			return; /* the worker's verdict decides */
		if (d->mig) {
			free(d->mig);
			d->mig = NULL;
		}
		domain_gone(d, ev == VFO_VIRT_STOPPED ? "stopped" : "undefined");
		break;
	}
	(void)name;
}

static void on_device_removed(void *opaque, const char *uuid, const char *alias)
{
	struct vfo_dom *d = dom_find(opaque, uuid);

	if (!d)
		return;
	for (size_t i = 0; i < d->meta.n_pairs; i++) {
		if (strcmp(d->meta.pairs[i].vf_alias, alias))
			continue;
		vfo_info(COMP, "%s: VF of %s removed", d->meta.name, d->meta.pairs[i].id);
		d->meta.pairs[i].vf_kind = VFO_META_VF_NONE;
		if (d->release_on_removal[i]) {
			d->release_on_removal[i] = false;
			release_pair(d, i);
		}
	}
	if (d->mig)
		mig_feed(d, VFO_MIG_IN_DEVICE_REMOVED, NULL, alias, NULL);
}

static void on_device_removal_failed(void *opaque, const char *uuid, const char *alias)
{
	struct vfo_dom *d = dom_find(opaque, uuid);

	if (!d)
		return;
	vfo_warn(COMP, "%s: the guest did not release %s", d->meta.name, alias);
	if (d->mig)
		mig_feed(d, VFO_MIG_IN_REMOVAL_FAILED, NULL, alias, "DEVICE_REMOVAL_FAILED");
}

static void adopt_running(void *opaque, const char *uuid, const char *name, const char *xml)
{
	struct vfo_dom *d = follow(opaque, uuid, xml);

	if (d)
		unpin_leftovers(d, xml);
}

/* After a restart: take up each saved migration where it stood, with what
 * libvirt says now. */
static void resume_saved(struct vfo_hostd *h)
{
	json_object *migs, *standby, *saved = O(h)->saved;

	if (!saved)
		return;
	if (json_object_object_get_ex(saved, "standby", &standby) &&
	    json_object_is_type(standby, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(standby); i++) {
			struct vfo_dom *d = dom_find(
				h, json_object_get_string(json_object_array_get_idx(standby, i)));

			if (d)
				d->on_standby = true;
		}
	}
	if (json_object_object_get_ex(saved, "migrations", &migs) &&
	    json_object_is_type(migs, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(migs); i++) {
			struct vfo_mig m;
			struct vfo_dom *d;

			if (vfo_mig_from_json(json_object_array_get_idx(migs, i), vfo_now_ms(),
					      &m) < 0) {
				vfo_err(COMP, "a saved migration is unreadable; dropped");
				continue;
			}
			d = dom_find(h, m.uuid);
			if (!d) {
				/* Not running here (any more): a source that
				 * completed, or a destination that never came. */
				vfo_notice(COMP,
					   "%s: saved migration (%s) no longer applies here; "
					   "its VFs are released",
					   m.domain, vfo_mig_state_str(m.state));
				vfo_hostd_release(h, m.uuid, NULL);
				continue;
			}
			d->mig = malloc(sizeof(*d->mig));
			if (!d->mig)
				continue;
			*d->mig = m;
			vfo_notice(COMP, "%s: resuming migration in state %s", d->meta.name,
				   vfo_mig_state_str(m.state));
			mig_feed(d, VFO_MIG_IN_RESUME, NULL, NULL, NULL);
		}
	}
	json_object_put(saved);
	O(h)->saved = NULL;
	persist(h);
}

static void on_connected(void *opaque)
{
	struct vfo_hostd *h = opaque;

	vfo_virt_for_each_running(O(h)->virt, adopt_running, h);
	resume_saved(h);
	for (struct vfo_dom *d = O(h)->doms; d; d = d->next)
		ensure_vfs(d);
	tick_update(h);
}

static void on_disconnected(void *opaque)
{
	vfo_warn(COMP, "lost libvirtd: migrations wait for it to come back");
}

static const struct vfo_virt_ops virt_ops = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.lifecycle = on_lifecycle,
	.device_removed = on_device_removed,
	.device_removal_failed = on_device_removal_failed,
};

/* A migration resumed in MIGRATING has no worker to tell the outcome:
 * libvirt's view decides once its job is over. */
static void check_orphan_migration(struct vfo_dom *d)
{
	struct vfo_virt *v = O(d->h)->virt;
	int job, active;

	if (d->worker.pid > 0 || !vfo_virt_connected(v))
		return;
	job = vfo_virt_job_active(v, d->uuid);
	if (job != 0)
		return;
	active = vfo_virt_domain_active(v, d->uuid);
	if (active == 0)
		mig_feed(d, VFO_MIG_IN_MIGRATE_OK, NULL, NULL, NULL);
	else if (active == 1)
		mig_feed(d, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL,
			 "vfo-hostd restarted during the migration; the domain is still here");
}

static void on_tick(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_hostd *h = opaque;
	struct vfo_dom *next;

	for (struct vfo_dom *d = O(h)->doms; d; d = next) {
		next = d->next;
		if (d->active)
			gchan_try_open(d);
		if (wants_vf(d) && free_vf_for(d))
			retry_one(d);
		if (d->detach_at && vfo_now_ms() >= d->detach_at) {
			vfo_warn(COMP, "%s: no answer to vf-leaving in time; unplugging anyway",
				 d->meta.name);
			detach_now(d);
		}
		if (!d->mig)
			continue;
		if (d->mig->state == VFO_MIG_MIGRATING && d->mig->deadline_ms &&
		    vfo_now_ms() >= d->mig->deadline_ms && d->worker.pid > 0) {
			vfo_err(COMP, "%s: migration took too long; cancelling it", d->meta.name);
			vfo_virt_abort_job(O(h)->virt, d->uuid);
		}
		if (d->mig->state == VFO_MIG_MIGRATING)
			check_orphan_migration(d);
		if (d->mig)
			mig_feed(d, VFO_MIG_IN_TICK, NULL, NULL, NULL);
	}
	tick_update(h);
}

/* ---- operator commands ----------------------------------------------------------- */

static struct vfo_dom *dom_lookup(struct vfo_hostd *h, const char *name, struct vfo_proto_err *err)
{
	char uuid[37], dname[256];
	struct vfo_dom *d;

	if (!vfo_virt_connected(O(h)->virt)) {
		vfo_proto_err_set(err, VFO_PROTO_BUSY, "not connected to libvirtd");
		return NULL;
	}
	if (vfo_virt_lookup(O(h)->virt, name, uuid, dname) < 0) {
		vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "no domain '%.64s' here", name);
		return NULL;
	}
	d = dom_find(h, uuid);
	if (!d)
		vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND,
				  "domain '%.64s' carries no vfo metadata", name);
	return d;
}

int vfo_orch_migrate(struct vfo_hostd *h, const char *domain, const char *dest_uri, bool p2p,
		     struct vfo_proto_err *err)
{
	struct vfo_dom *d = dom_lookup(h, domain, err);
	char *xml = NULL;

	if (!d)
		return -ENOENT;
	if (d->mig) {
		vfo_proto_err_set(err, VFO_PROTO_BUSY, "%s: a migration is already in state %s",
				  d->meta.name, vfo_mig_state_str(d->mig->state));
		return -EBUSY;
	}
	if (!dest_uri || !dest_uri[0]) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "destination URI missing");
		return -EINVAL;
	}
	/* What is plugged right now decides what has to be unplugged. */
	if (vfo_virt_domain_xml(O(h)->virt, d->uuid, &xml) == 0) {
		follow(h, d->uuid, xml);
		free(xml);
	}
	if (mig_new(d, false, dest_uri, p2p) < 0) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "cannot migrate to '%.128s'", dest_uri);
		return -EINVAL;
	}
	d->steered = false; /* the migration decides where the traffic goes now */
	vfo_notice(COMP, "%s: managed migration to %s requested", d->meta.name, dest_uri);
	mig_feed(d, VFO_MIG_IN_START, NULL, NULL, NULL);
	return 0;
}

int vfo_orch_failover(struct vfo_hostd *h, const char *domain, bool to_vf, bool detach,
		      struct vfo_proto_err *err)
{
	struct vfo_dom *d = dom_lookup(h, domain, err);

	if (!d)
		return -ENOENT;
	if (d->mig) {
		vfo_proto_err_set(err, VFO_PROTO_BUSY, "%s is migrating", d->meta.name);
		return -EBUSY;
	}
	if (to_vf) {
		d->on_standby = false;
		d->steered = false;
		d->detach_at = 0;
		memset(d->release_on_removal, 0, sizeof(d->release_on_removal));
		for (size_t i = 0; i < d->meta.n_pairs; i++)
			tell_guest(d, VFO_GCHAN_VF_ARRIVING, i);
		ensure_vfs(d);
		vfo_notice(COMP, "%s: operator failover back to the VF", d->meta.name);
	} else {
		if (!agent_present(d) && !detach) {
			vfo_proto_err_set(err, VFO_PROTO_UNSUPPORTED,
					  "%s has no guest agent: only --detach can move it",
					  d->meta.name);
			return -EOPNOTSUPP;
		}
		d->steered = true;
		if (detach) {
			standby_detach(d);
		} else {
			for (size_t i = 0; i < d->meta.n_pairs; i++)
				tell_guest(d, VFO_GCHAN_VF_LEAVING, i);
		}
		vfo_notice(COMP, "%s: operator failover to the standby%s", d->meta.name,
			   detach ? ", VFs detached" : "");
	}
	dom_event(d, "failover", to_vf ? "vf" : "standby", NULL);
	persist(h);
	return 0;
}

static bool pair_uses(struct vfo_hostd *h, struct vfo_dom *d, size_t i, const char *target)
{
	const struct vfo_pool_vf *vf;
	struct vfo_owner o;
	int id;

	if (!strcmp(d->meta.pairs[i].pool, target))
		return true;
	owner_of(d, i, &o);
	id = vfo_pools_lookup_owner(h->pools, &o);
	vf = id >= 0 ? vfo_pools_vf(h->pools, id) : NULL;
	return vf && (!strcmp(vf->pf, target) || !strncmp(vf->addr, target, strlen(target)));
}

int vfo_orch_drain(struct vfo_hostd *h, const char *target, bool undrain, struct vfo_proto_err *err)
{
	struct vfo_orch *o = O(h);
	int moved = 0;
	size_t i, n;

	if (!target || !target[0] || strlen(target) > 64) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "a pool or PF to drain is needed");
		return -EINVAL;
	}
	n = json_object_array_length(o->drained);
	for (i = 0; i < n; i++) {
		if (!strcmp(json_object_get_string(json_object_array_get_idx(o->drained, i)),
			    target))
			break;
	}
	if (undrain) {
		if (i == n) {
			vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "%s is not drained", target);
			return -ENOENT;
		}
		json_object_array_del_idx(o->drained, i, 1);
	} else if (i == n) {
		json_object_array_add(o->drained, json_object_new_string(target));
	}
	/* Free VFs of a drained target leave service; undrain brings them
	 * back, before the domains ask for them. */
	vfo_hostd_refresh_pools(h, undrain ? "undrain" : "drain");
	for (struct vfo_dom *d = o->doms; d; d = d->next) {
		bool hit = false;

		for (size_t p = 0; p < d->meta.n_pairs; p++)
			hit |= pair_uses(h, d, p, target);
		if (!hit || d->mig)
			continue;
		if (undrain) {
			if (!d->on_standby)
				continue;
			d->on_standby = false;
			d->steered = false;
			d->detach_at = 0;
			memset(d->release_on_removal, 0, sizeof(d->release_on_removal));
			for (size_t p = 0; p < d->meta.n_pairs; p++)
				tell_guest(d, VFO_GCHAN_VF_ARRIVING, p);
			ensure_vfs(d);
		} else {
			d->steered = true;
			standby_detach(d);
		}
		dom_event(d, undrain ? "undrain" : "drain", target, NULL);
		moved++;
	}
	if (undrain)
		retry_degraded(h); /* a domain that found the pool drained */
	vfo_notice(COMP, "%s %s: %d domain(s) moved", undrain ? "undrain" : "drain", target, moved);
	persist(h);
	return moved;
}

void vfo_orch_apply_drains(struct vfo_hostd *h, struct vfo_pools *p)
{
	json_object *arr = h->orch ? O(h)->drained : NULL;

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *t = json_object_get_string(json_object_array_get_idx(arr, i));
		int pool = vfo_pools_find_pool(p, t);

		for (size_t id = 0; id < vfo_pools_n_vfs(p); id++) {
			const struct vfo_pool_vf *vf = vfo_pools_vf(p, (int)id);

			if (vf->gone || vf->state != VFO_VF_FREE)
				continue;
			if (vf->pool == pool || !strcmp(vf->pf, t) || !strcmp(vf->addr, t))
				vfo_pools_remove_vf(p, (int)id);
		}
	}
}

/* ---- state and status --------------------------------------------------------------- */

json_object *vfo_orch_state_json(struct vfo_hostd *h)
{
	struct vfo_orch *o = O(h);
	json_object *st, *migs, *standby;

	if (!o)
		return NULL;
	/* Before libvirt answered, what was loaded is still the truth. */
	if (o->saved) {
		st = json_object_get(o->saved);
		json_object_object_add(st, "drained", json_object_get(o->drained));
		return st;
	}
	st = json_object_new_object();
	migs = json_object_new_array();
	standby = json_object_new_array();
	for (struct vfo_dom *d = o->doms; d; d = d->next) {
		if (d->mig)
			json_object_array_add(migs, vfo_mig_to_json(d->mig, vfo_now_ms()));
		if (d->on_standby)
			json_object_array_add(standby, json_object_new_string(d->uuid));
	}
	json_object_object_add(st, "migrations", migs);
	json_object_object_add(st, "standby", standby);
	json_object_object_add(st, "drained", json_object_get(o->drained));
	return st;
}

void vfo_orch_load_state(struct vfo_hostd *h, json_object *state)
{
	struct vfo_orch *o = O(h);
	json_object *dr;

	if (!o || !state || !json_object_is_type(state, json_type_object))
		return;
	json_object_put(o->saved);
	o->saved = json_object_get(state);
	if (json_object_object_get_ex(state, "drained", &dr) &&
	    json_object_is_type(dr, json_type_array)) {
		json_object_put(o->drained);
		o->drained = json_object_get(dr);
	}
}

json_object *vfo_orch_domains_json(struct vfo_hostd *h)
{
	json_object *arr = json_object_new_array();

	for (struct vfo_dom *d = h->orch ? O(h)->doms : NULL; d; d = d->next) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(d->meta.name));
		json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
		json_object_object_add(o, "pairs", json_object_new_int((int)d->meta.n_pairs));
		json_object_object_add(o, "agent", json_object_new_boolean(agent_present(d)));
		json_object_object_add(o, "mode",
				       json_object_new_string(d->on_standby || d->steered ?
								      "standby" :
							      wants_vf(d) ? "degraded" :
									    "vf"));
		json_object_object_add(
			o, "migration",
			json_object_new_string(d->mig ? vfo_mig_state_str(d->mig->state) : "none"));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* ---- init / fini -------------------------------------------------------------------- */

int vfo_orch_init(struct vfo_hostd *h)
{
	struct vfo_orch *o;
	int r;

	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	h->orch = o;
	o->drained = json_object_new_array();
	vfo_mig_cfg_defaults(&o->cfg);
	o->cfg.ack_timeout_ms = h->cfg->ack_timeout_ms;
	o->cfg.unplug_timeout_ms = h->cfg->unplug_timeout_ms;
	o->cfg.attach_timeout_ms = h->cfg->plug_timeout_ms;
	o->cfg.migrate_timeout_ms = h->cfg->migrate_timeout_ms;
	o->cfg.attach_retries = (unsigned int)h->cfg->retries;
	o->cfg.removal_failed = h->cfg->removal_failed_policy == VFO_HOSTD_REMOVAL_PROCEED ?
					VFO_MIG_POLICY_PROCEED :
					VFO_MIG_POLICY_ABORT;
	r = vfo_loop_add_timer(h->loop, "orch-tick", -1, 0, on_tick, h, NULL);
	if (r < 0)
		goto err;
	o->tick = r;
	r = vfo_loop_add_timer(h->loop, "orch-due", -1, VFO_TIMER_ONESHOT, on_due, h, NULL);
	if (r < 0)
		goto err_tick;
	o->due = r;
	if (!h->cfg->libvirt_uri[0]) {
		vfo_notice(COMP, "libvirt_uri is empty: not following libvirt");
		return 0;
	}
	r = vfo_virt_new(&o->virt, h->loop, h->cfg->libvirt_uri, &virt_ops, h);
	if (r < 0)
		goto err_due;
	return 0;

err_due:
	vfo_loop_remove_timer(h->loop, o->due);
err_tick:
	vfo_loop_remove_timer(h->loop, o->tick);
err:
	json_object_put(o->drained);
	free(o);
	h->orch = NULL;
	return r;
}

void vfo_orch_fini(struct vfo_hostd *h)
{
	struct vfo_orch *o = O(h);

	if (!o)
		return;
	/* State stays on disk as it is: a restart picks migrations up. */
	while (o->doms) {
		struct vfo_dom *d = o->doms;

		o->doms = d->next;
		dom_free(d);
	}
	vfo_virt_free(o->virt);
	vfo_loop_remove_timer(h->loop, o->tick);
	vfo_loop_remove_timer(h->loop, o->due);
	json_object_put(o->saved);
	json_object_put(o->drained);
	free(o);
	h->orch = NULL;
}
