/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfo-hostd: the one context every part of the daemon hangs off (teamd
 * style), and its life cycle.
 *
 * The core (config, inventory, pools, state file) works without a loop:
 * vfo_hostd_core_init() is what tests and the benchmark use to drive
 * allocations and restarts in-process. vfo_hostd_init() adds the loop, the
 * control socket, udev, timers and signals around it.
 *
 * Allocation changes follow one rule: change the pools in memory, persist
 * the whole allocation state (temp file, fsync, rename, fsync dir), and
 * only then act (configure a VF, answer the client, send events). If the
 * persist fails, the in-memory change is rolled back from the snapshot
 * taken before it and the request fails: disk and memory never disagree
 * on who owns a VF.
 */
#ifndef VFO_HOSTD_H
#define VFO_HOSTD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ctl.h"
#include "debounce.h"
#include "hostd-config.h"
#include "inventory.h"
#include "loop.h"
#include "pool.h"
#include "udev.h"

#define VFO_HOSTD_STATE_FILE "hostd.json"
/* PFs whose driver bind since the last scan is remembered for numvfs. */
#define VFO_HOSTD_MAX_REBOUND 16
/* A burst of device events that never goes quiet is rescanned at the
 * latest this many rescan_delays after its first event. */
#define VFO_HOSTD_RESCAN_MAX_FACTOR 10

struct vfo_backend;
struct vfo_orch;

struct vfo_hostd_opts {
	const char *config_path;
	bool foreground; /* log to stderr, not the journal/syslog */
	bool debug; /* log level debug regardless of the config */
};

struct vfo_hostd_stats {
	uint64_t scans;
	int64_t last_scan_us; /* duration of the last scan */
	int64_t last_scan_wall_ms; /* when it happened */
	uint64_t inventory_changes;
	uint64_t persists;
	uint64_t persist_failures;
	uint64_t reserved, assigned, released, expired, dropped;
	uint64_t udev_events;
	uint64_t uevent_rescans; /* rescans a burst of events caused */
	uint64_t numvfs_writes; /* sriov_numvfs written, start included */
	uint64_t recreated; /* allocations lost to a VF removed and re-added */
};

struct vfo_hostd {
	char *config_path;
	struct vfo_hostd_cfg *cfg;
	char state_path[PATH_MAX];

	struct vfo_inventory *inv;
	struct vfo_pools *pools;
	struct vfo_backend **backends; /* one per configured pool, in order */
	struct vfo_orch *orch; /* libvirt side (orch.c); NULL in core-only use */
	json_object *orch_state; /* its part of the state file, as loaded */

	struct vfo_loop *loop;
	struct vfo_ctl *ctl;
	struct vfo_udev udev; /* PCI and net device events */
	struct vfo_debounce rescan_db; /* one rescan per burst of events */
	/* Between two scans, from the events: PFs that got a driver bound
	 * (numvfs is applied even if the scan cannot tell an unbind+bind),
	 * and held VFs that were removed (their holders lost them, even if
	 * a VF at the same address is back by the time of the scan). */
	char rebound[VFO_HOSTD_MAX_REBOUND][VFO_PCI_ADDR_MAX];
	size_t n_rebound;
	char (*removed)[VFO_PCI_ADDR_MAX];
	size_t n_removed, cap_removed;
	/* A PF the config names by netdev keeps the PCI function the name
	 * last resolved to: a renamed or moved netdev must not take its VFs
	 * (and their holdings) out of the pool. */
	struct vfo_pf_name {
		char name[VFO_PF_NAME_MAX];
		char addr[VFO_PCI_ADDR_MAX];
	} * pf_names;
	size_t n_pf_names;
	int expire_timer; /* one-shot, armed to the next reservation deadline */
	int rescan_timer; /* one-shot, armed by vfo_debounce */
	int watchdog_timer; /* periodic, half of WatchdogSec */

	struct vfo_proto_table cmd_table;
	int64_t started_ms;
	struct vfo_hostd_stats st;

	/*
	 * Tests only: when > 0, the mutation that brings persists to this
	 * count returns -EINTR right after persisting, before acting,
	 * as if the daemon had been killed there.
	 */
	uint64_t crash_after_persist;
};

/* Core: config, state, inventory, pools; no loop. Returns 0 or -errno
 * (bad config, unreadable or too new state file, unusable state dir). */
int vfo_hostd_core_init(struct vfo_hostd *h, const char *config_path);
void vfo_hostd_core_fini(struct vfo_hostd *h);

/* Everything: core, loop, control socket, udev, timers. */
int vfo_hostd_init(struct vfo_hostd *h, const struct vfo_hostd_opts *o);
void vfo_hostd_fini(struct vfo_hostd *h);
/* Runs until SIGTERM/SIGINT; 0 or -errno. */
int vfo_hostd_run(struct vfo_hostd *h);

/* Rescan sysfs, rebuild the pools, keep what still exists; dropped
 * assignments are logged and persisted. A configured PF that came up
 * since the last scan gets its pool's numvfs (numvfs.h), and is scanned
 * again. why is for the log. Returns the number of changes or -errno. */
int vfo_hostd_rescan(struct vfo_hostd *h, const char *why);
/* What a device event means for the inventory (subsystem and action as
 * udev gives them; sysname the device's, e.g. a PCI address): remembered
 * for the next scan, and true when it calls for a rescan. */
bool vfo_hostd_uevent(struct vfo_hostd *h, const char *subsystem, const char *action,
		      const char *sysname);

/* Allocation, as the control commands do it. Each returns the VF id or
 * -errno; the result is persisted before it returns. data (borrowed, may
 * be NULL) is stored with the VF: e.g. {"mac": "52:54:..."}. */
int vfo_hostd_reserve(struct vfo_hostd *h, const char *pool, const struct vfo_owner *o, int numa,
		      int64_t timeout_ms, json_object *data);
int vfo_hostd_assign(struct vfo_hostd *h, const struct vfo_owner *o);
/* pair NULL: every VF of the domain. Returns how many were released. */
int vfo_hostd_release(struct vfo_hostd *h, const char *uuid, const char *pair);
/* Rebuild the pools from the current inventory and allocations (drains
 * applied), and persist. */
int vfo_hostd_refresh_pools(struct vfo_hostd *h, const char *why);
/* Free reservations past their deadline (wall clock). */
int vfo_hostd_expire(struct vfo_hostd *h, int64_t now_wall_ms);

/* Backends (hostd-vf.c): one per pool. */
int vfo_hostd_backends_init(struct vfo_hostd *h);
void vfo_hostd_backends_fini(struct vfo_hostd *h);
/* Configure the owner's VF for its pair (MAC from the reservation, the
 * pool's VLAN and policies; once) and give its libvirt device XML. */
int vfo_hostd_vf_prepare(struct vfo_hostd *h, const struct vfo_owner *o, char **xml);
/* Restore and scrub VF id if a backend configured it. */
void vfo_hostd_vf_unprepare(struct vfo_hostd *h, int id);

/* Write the allocation state now. */
int vfo_hostd_persist(struct vfo_hostd *h);

/* JSON views, shared by the control commands and the tests. */
json_object *vfo_hostd_vf_json(const struct vfo_hostd *h, const struct vfo_pool_vf *vf);
json_object *vfo_hostd_status_json(const struct vfo_hostd *h);
json_object *vfo_hostd_pools_json(const struct vfo_hostd *h);
/* pool NULL: all. -ENOENT for an unknown pool. */
int vfo_hostd_vfs_json(const struct vfo_hostd *h, const char *pool, json_object **out);

/* Events to "events" subscribers (fields borrowed). */
void vfo_hostd_event(struct vfo_hostd *h, const char *event, json_object *fields);

/* The control command table (hostd-cmds.c). */
const struct vfo_proto_table *vfo_hostd_cmd_table(struct vfo_hostd *h);

#endif
