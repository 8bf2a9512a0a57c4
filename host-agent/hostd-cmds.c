// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hostd's control commands and the JSON views they answer with. The
 * handlers only translate: arguments in, vfo_hostd_* call, JSON out, and
 * errno to a protocol code with a message a human can act on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostd.h"
#include "orch.h"
#include "log.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define COMP "hostd"

/* ---- views ------------------------------------------------------------- */

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

json_object *vfo_hostd_vf_json(const struct vfo_hostd *h, const struct vfo_pool_vf *vf)
{
	json_object *o = json_object_new_object();
	bool owned = vf->state != VFO_VF_FREE;
	const struct vfo_inv_vf *iv = vfo_inventory_find_vf(h->inv, vf->addr);

	if (!o)
		return NULL;
	/* Key order is column order in vfoctl's tables. */
	add_str(o, "addr", vf->addr);
	add_str(o, "pool", vfo_pools_pool_name(h->pools, vf->pool));
	add_str(o, "pf", vf->pf[0] ? vf->pf : NULL);
	add_int(o, "index", vf->index);
	if (vf->numa_node >= 0)
		add_int(o, "numa", vf->numa_node);
	else
		json_object_object_add(o, "numa", NULL);
	/* The driver sysfs shows now: igbvf, vfio-pci, or none (unbound). */
	add_str(o, "driver", iv && iv->driver[0] ? iv->driver : NULL);
	add_str(o, "state", vfo_vf_state_str(vf->state));
	add_str(o, "domain", owned ? vf->owner.uuid : NULL);
	add_str(o, "pair", owned ? vf->owner.pair : NULL);
	if (vf->state == VFO_VF_RESERVED && vf->deadline_ms > 0) {
		int64_t left = vf->deadline_ms - vfo_wall_ms();

		add_int(o, "expires_s", left > 0 ? (left + 999) / 1000 : 0);
	} else {
		json_object_object_add(o, "expires_s", NULL);
	}
	if (vf->data)
		json_object_object_add(o, "data", json_object_get(vf->data));
	return o;
}

json_object *vfo_hostd_pools_json(const struct vfo_hostd *h)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < h->cfg->n_pools; i++) {
		const struct vfo_hostd_pool_cfg *pc = &h->cfg->pools[i];
		int idx = vfo_pools_find_pool(h->pools, pc->name);
		struct vfo_pool_counts c = { 0 };
		json_object *o = json_object_new_object(), *pfs;

		if (idx >= 0)
			vfo_pools_counts(h->pools, idx, &c);
		add_str(o, "name", pc->name);
		add_str(o, "backend", vfo_hostd_backend_str(pc->backend));
		add_int(o, "total", c.total);
		add_int(o, "free", c.free);
		add_int(o, "reserved", c.reserved);
		add_int(o, "assigned", c.assigned);
		pfs = json_object_new_array();
		for (size_t j = 0; j < pc->n_pfs; j++) {
			char spec[64];

			if (pc->pfs[j].first < 0)
				snprintf(spec, sizeof(spec), "%s", pc->pfs[j].pf);
			else
				snprintf(spec, sizeof(spec), "%s#%d-%d", pc->pfs[j].pf,
					 pc->pfs[j].first, pc->pfs[j].last);
			json_object_array_add(pfs, json_object_new_string(spec));
		}
		if (pc->backend == VFO_HOSTD_BACKEND_EMULATED)
			json_object_array_add(pfs, json_object_new_string(pc->bridge));
		json_object_object_add(o, "pfs", pfs);
		json_object_array_add(arr, o);
	}
	return arr;
}

int vfo_hostd_vfs_json(const struct vfo_hostd *h, const char *pool, json_object **out)
{
	int idx = -1;
	json_object *arr;

	if (pool) {
		idx = vfo_pools_find_pool(h->pools, pool);
		if (idx < 0)
			return -ENOENT;
	}
	arr = json_object_new_array();
	if (!arr)
		return -ENOMEM;
	for (size_t id = 0; id < vfo_pools_n_vfs(h->pools); id++) {
		const struct vfo_pool_vf *vf = vfo_pools_vf(h->pools, id);

		if (vf->gone || (idx >= 0 && vf->pool != idx))
			continue;
		json_object_array_add(arr, vfo_hostd_vf_json(h, vf));
	}
	*out = arr;
	return 0;
}

json_object *vfo_hostd_status_json(const struct vfo_hostd *h)
{
	json_object *o = json_object_new_object(), *vfs, *ctl;
	struct vfo_pool_counts c;

	vfo_pools_counts(h->pools, -1, &c);
	add_str(o, "daemon", "vfo-hostd");
	add_str(o, "version", PACKAGE_VERSION);
	add_int(o, "pid", getpid());
	add_int(o, "uptime_s", (vfo_now_ms() - h->started_ms) / 1000);
	add_str(o, "config", h->config_path);
	add_str(o, "state_file", h->state_path);
	add_str(o, "sysfs_root", h->cfg->sysfs_root);
	add_int(o, "pools", vfo_pools_n_pools(h->pools));
	add_int(o, "pfs", h->inv->n_pfs);
	vfs = json_object_new_object();
	add_int(vfs, "total", c.total);
	add_int(vfs, "free", c.free);
	add_int(vfs, "reserved", c.reserved);
	add_int(vfs, "assigned", c.assigned);
	json_object_object_add(o, "vfs", vfs);
	add_int(o, "scans", h->st.scans);
	add_int(o, "last_scan_us", h->st.last_scan_us);
	add_int(o, "persists", h->st.persists);
	add_int(o, "persist_failures", h->st.persist_failures);
	add_int(o, "expired", h->st.expired);
	add_int(o, "dropped", h->st.dropped);
	add_int(o, "udev_events", h->st.udev_events);
	add_int(o, "uevent_rescans", h->st.uevent_rescans);
	add_int(o, "numvfs_writes", h->st.numvfs_writes);
	add_int(o, "recreated", h->st.recreated);
	json_object_object_add(o, "domains", vfo_orch_domains_json((struct vfo_hostd *)h));
	json_object_object_add(o, "udev", json_object_new_boolean(h->udev.source != VFO_UDEV_NONE));
	add_str(o, "udev_source", vfo_udev_source_str(h->udev.source));
	add_int(o, "udev_overruns", h->udev.overruns);
	if (h->ctl) {
		struct vfo_ctl_stats cs;

		vfo_ctl_get_stats(h->ctl, &cs);
		ctl = json_object_new_object();
		add_int(ctl, "clients", cs.clients);
		add_int(ctl, "subscribers", cs.subscribers);
		add_int(ctl, "accepted", cs.accepted);
		add_int(ctl, "denied", cs.denied);
		add_int(ctl, "dropped", cs.dropped);
		json_object_object_add(o, "control", ctl);
	}
	return o;
}

/* ---- handlers ---------------------------------------------------------- */

static int owner_from(struct json_object *args, struct vfo_owner *o, struct vfo_proto_err *err)
{
	const char *uuid = vfo_proto_arg_str(args, "domain", "");
	const char *pair = vfo_proto_arg_str(args, "pair", "");

	if (vfo_owner_set(o, uuid, pair) < 0) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS,
				  "domain must be a UUID and pair a short id ([A-Za-z0-9_.:-])");
		return -EINVAL;
	}
	return 0;
}

static int h_status(void *ctx, const struct vfo_proto_req *req, json_object **result,
		    struct vfo_proto_err *err)
{
	(void)req;
	(void)err;
	*result = vfo_hostd_status_json(ctx);
	return *result ? 0 : -ENOMEM;
}

static int h_pools(void *ctx, const struct vfo_proto_req *req, json_object **result,
		   struct vfo_proto_err *err)
{
	(void)req;
	(void)err;
	*result = json_object_new_object();
	json_object_object_add(*result, "pools", vfo_hostd_pools_json(ctx));
	return 0;
}

static int h_vfs(void *ctx, const struct vfo_proto_req *req, json_object **result,
		 struct vfo_proto_err *err)
{
	const char *pool = vfo_proto_arg_str(req->args, "pool", NULL);
	json_object *arr;
	int r = vfo_hostd_vfs_json(ctx, pool, &arr);

	if (r == -ENOENT) {
		vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "no pool '%.64s'", pool);
		return r;
	}
	if (r < 0)
		return r;
	*result = json_object_new_object();
	json_object_object_add(*result, "vfs", arr);
	return 0;
}

static int alloc_error(int r, const char *pool, const struct vfo_owner *o,
		       struct vfo_proto_err *err)
{
	switch (r) {
	case -ENOENT:
		if (pool)
			vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "no pool '%.64s'", pool);
		else
			vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "%s/%.64s holds no VF", o->uuid,
					  o->pair);
		break;
	case -ENOSPC:
		vfo_proto_err_set(err, VFO_PROTO_BUSY, "pool '%.64s' has no free VF", pool);
		break;
	case -EEXIST:
		vfo_proto_err_set(err, VFO_PROTO_EXISTS,
				  "%s/%.64s already holds a VF of another pool", o->uuid, o->pair);
		break;
	default:
		vfo_proto_err_set(err, vfo_proto_code_from_errno(r), "%s", strerror(-r));
		break;
	}
	return r;
}

static int reply_vf(struct vfo_hostd *h, int id, json_object **result)
{
	*result = json_object_new_object();
	json_object_object_add(*result, "vf", vfo_hostd_vf_json(h, vfo_pools_vf(h->pools, id)));
	return 0;
}

static int h_reserve(void *ctx, const struct vfo_proto_req *req, json_object **result,
		     struct vfo_proto_err *err)
{
	struct vfo_hostd *h = ctx;
	const char *pool = vfo_proto_arg_str(req->args, "pool", "");
	const char *mac = vfo_proto_arg_str(req->args, "mac", NULL);
	int64_t numa = vfo_proto_arg_int(req->args, "numa", -1);
	int64_t timeout = vfo_proto_arg_int(req->args, "timeout_ms", 0);
	json_object *data = NULL;
	struct vfo_owner o;
	int id;

	if (owner_from(req->args, &o, err) < 0)
		return -EINVAL;
	if (numa < -1 || numa > 1023 || timeout < 0 || timeout > 86400000) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS,
				  "numa must be 0-1023, timeout_ms 0-86400000");
		return -EINVAL;
	}
	if (mac) {
		data = json_object_new_object();
		json_object_object_add(data, "mac", json_object_new_string(mac));
	}
	id = vfo_hostd_reserve(h, pool, &o, (int)numa, timeout, data);
	json_object_put(data);
	if (id < 0)
		return alloc_error(id, pool, &o, err);
	return reply_vf(h, id, result);
}

static int h_assign(void *ctx, const struct vfo_proto_req *req, json_object **result,
		    struct vfo_proto_err *err)
{
	struct vfo_hostd *h = ctx;
	struct vfo_owner o;
	char *xml = NULL;
	int id, r;

	if (owner_from(req->args, &o, err) < 0)
		return -EINVAL;
	id = vfo_hostd_assign(h, &o);
	if (id < 0)
		return alloc_error(id, NULL, &o, err);
	/* Assigned means configured for the pair: the reply carries the
	 * device XML to plug. A VF that cannot be configured is not kept. */
	r = vfo_hostd_vf_prepare(h, &o, &xml);
	if (r < 0) {
		vfo_hostd_release(h, o.uuid, o.pair);
		vfo_proto_err_set(err, vfo_proto_code_from_errno(r),
				  "VF could not be configured for %s/%.64s: %s", o.uuid, o.pair,
				  strerror(-r));
		return r;
	}
	r = reply_vf(h, id, result);
	json_object_object_add(*result, "xml", json_object_new_string(xml));
	free(xml);
	return r;
}

static int h_release(void *ctx, const struct vfo_proto_req *req, json_object **result,
		     struct vfo_proto_err *err)
{
	struct vfo_hostd *h = ctx;
	const char *uuid = vfo_proto_arg_str(req->args, "domain", "");
	const char *pair = vfo_proto_arg_str(req->args, "pair", NULL);
	struct vfo_owner o;
	int n;

	/* Validate the shape even when releasing a whole domain. */
	if (vfo_owner_set(&o, uuid, pair ? pair : "x") < 0) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS,
				  "domain must be a UUID and pair a short id");
		return -EINVAL;
	}
	n = vfo_hostd_release(h, uuid, pair);
	if (n == -ENOENT) {
		vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "%s%s%.64s holds no VF", uuid,
				  pair ? "/" : "", pair ? pair : "");
		return n;
	}
	if (n < 0)
		return alloc_error(n, NULL, &o, err);
	*result = json_object_new_object();
	add_int(*result, "released", n);
	return 0;
}

static int h_rescan(void *ctx, const struct vfo_proto_req *req, json_object **result,
		    struct vfo_proto_err *err)
{
	struct vfo_hostd *h = ctx;
	int n = vfo_hostd_rescan(h, "request");

	(void)req;
	(void)err;
	if (n < 0)
		return n;
	*result = json_object_new_object();
	add_int(*result, "changes", n);
	add_int(*result, "pfs", h->inv->n_pfs);
	add_int(*result, "vfs", vfo_inventory_count_vfs(h->inv));
	add_int(*result, "duration_us", h->st.last_scan_us);
	return 0;
}

static int h_events(void *ctx, const struct vfo_proto_req *req, json_object **result,
		    struct vfo_proto_err *err)
{
	(void)ctx;
	(void)err;
	*result = json_object_new_object();
	json_object_object_add(*result, "subscribed", json_object_new_boolean(1));
	return vfo_ctl_subscribe(req);
}

static const struct vfo_proto_arg vfs_args[] = {
	{ "pool", VFO_ARG_STRING, false },
	{ NULL },
};

static const struct vfo_proto_arg reserve_args[] = {
	{ "pool", VFO_ARG_STRING, true },
	{ "domain", VFO_ARG_STRING, true },
	{ "pair", VFO_ARG_STRING, true },
	{ "numa", VFO_ARG_INT, false },
	{ "timeout_ms", VFO_ARG_INT, false },
	{ "mac", VFO_ARG_STRING, false },
	{ NULL },
};

static const struct vfo_proto_arg owner_args[] = {
	{ "domain", VFO_ARG_STRING, true },
	{ "pair", VFO_ARG_STRING, true },
	{ NULL },
};

static const struct vfo_proto_arg release_args[] = {
	{ "domain", VFO_ARG_STRING, true },
	{ "pair", VFO_ARG_STRING, false },
	{ NULL },
};

static int h_domains(void *ctx, const struct vfo_proto_req *req, json_object **result,
		     struct vfo_proto_err *err)
{
	*result = json_object_new_object();
	json_object_object_add(*result, "domains", vfo_orch_domains_json(ctx));
	return 0;
}

/* Starts the choreography and answers at once; its steps and outcome are
 * "migration" events (vfoctl migrate follows them). */
static int h_migrate(void *ctx, const struct vfo_proto_req *req, json_object **result,
		     struct vfo_proto_err *err)
{
	int r = vfo_orch_migrate(ctx, vfo_proto_arg_str(req->args, "domain", ""),
				 vfo_proto_arg_str(req->args, "dest", ""),
				 vfo_proto_arg_bool(req->args, "p2p", true), err);

	if (r < 0)
		return r;
	*result = json_object_new_object();
	json_object_object_add(*result, "started", json_object_new_boolean(true));
	return 0;
}

static int h_failover(void *ctx, const struct vfo_proto_req *req, json_object **result,
		      struct vfo_proto_err *err)
{
	const char *to = vfo_proto_arg_str(req->args, "to", "standby");
	int r;

	if (strcmp(to, "standby") && strcmp(to, "vf")) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "to must be standby or vf");
		return -EINVAL;
	}
	r = vfo_orch_failover(ctx, vfo_proto_arg_str(req->args, "domain", ""), !strcmp(to, "vf"),
			      vfo_proto_arg_bool(req->args, "detach", false), err);
	if (r < 0)
		return r;
	*result = json_object_new_object();
	json_object_object_add(*result, "to", json_object_new_string(to));
	return 0;
}

static int drain(void *ctx, const struct vfo_proto_req *req, json_object **result,
		 struct vfo_proto_err *err, bool undrain)
{
	int r = vfo_orch_drain(ctx, vfo_proto_arg_str(req->args, "target", ""), undrain, err);

	if (r < 0)
		return r;
	*result = json_object_new_object();
	json_object_object_add(*result, "domains", json_object_new_int(r));
	return 0;
}

static int h_drain(void *ctx, const struct vfo_proto_req *req, json_object **result,
		   struct vfo_proto_err *err)
{
	return drain(ctx, req, result, err, false);
}

static int h_undrain(void *ctx, const struct vfo_proto_req *req, json_object **result,
		     struct vfo_proto_err *err)
{
	return drain(ctx, req, result, err, true);
}

static const struct vfo_proto_arg migrate_args[] = {
	{ "domain", VFO_ARG_STRING, true },
	{ "dest", VFO_ARG_STRING, true },
	{ "p2p", VFO_ARG_BOOL, false },
	{ NULL },
};

static const struct vfo_proto_arg failover_args[] = {
	{ "domain", VFO_ARG_STRING, true },
	{ "to", VFO_ARG_STRING, true },
	{ "detach", VFO_ARG_BOOL, false },
	{ NULL },
};

static const struct vfo_proto_arg drain_args[] = {
	{ "target", VFO_ARG_STRING, true },
	{ NULL },
};

static const struct vfo_proto_cmd hostd_cmds[] = {
	{ .name = "status", .handler = h_status },
	{ .name = "pools", .handler = h_pools },
	{ .name = "vfs", .handler = h_vfs, .args = vfs_args },
	{ .name = "reserve", .handler = h_reserve, .args = reserve_args },
	{ .name = "assign", .handler = h_assign, .args = owner_args },
	{ .name = "release", .handler = h_release, .args = release_args },
	{ .name = "rescan", .handler = h_rescan },
	{ .name = "events", .handler = h_events },
	{ .name = "domains", .handler = h_domains },
	{ .name = "migrate", .handler = h_migrate, .args = migrate_args },
	{ .name = "failover", .handler = h_failover, .args = failover_args },
	{ .name = "drain", .handler = h_drain, .args = drain_args },
	{ .name = "undrain", .handler = h_undrain, .args = drain_args },
};

const struct vfo_proto_table *vfo_hostd_cmd_table(struct vfo_hostd *h)
{
	h->cmd_table.cmds = hostd_cmds;
	h->cmd_table.n_cmds = VFO_ARRAY_SIZE(hostd_cmds);
	h->cmd_table.ctx = h;
	return &h->cmd_table;
}
