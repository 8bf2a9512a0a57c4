/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration choreography of one domain, as a pure state machine: no
 * libvirt, no sockets, no clock. The orchestrator (orch.c) feeds it inputs
 * (an operator's request, a guest ack, a libvirt event, a deadline passing,
 * the result of an action) and carries out the actions it returns, after
 * persisting the new state: every step survives a restart of vfo-hostd.
 *
 * Source side of a managed migration:
 *
 *   LEAVING     "vf-leaving" sent to the guest agent; wait for its acks
 *               (bounded; no agent: skip; no ack in time: go on, the guest's
 *               bond fails over by itself when the VF goes)
 *   DETACHING   VFs detached by alias; wait DEVICE_REMOVED (bounded).
 *               DEVICE_REMOVAL_FAILED or timeout: policy "abort" rolls back,
 *               "proceed" migrates anyway and lets libvirt decide
 *   MIGRATING   the live migration runs (a worker process)
 *   RELEASING   success: scrub and free the source VFs -> DONE
 *   ROLLBACK    failure after the unplug: re-attach the VFs here, tell the
 *               guest "vf-arriving" -> FAILED (traffic back on the VF)
 *
 * Destination side, for a domain that arrived by migration:
 *
 *   ATTACHING   on RESUMED_MIGRATED: attach the reserved VFs, then
 *               "vf-arriving" -> DONE
 *   DEGRADED    no VF was free: the domain runs on its standby until one
 *               frees (vfo_mig_input VF_FREED retries)
 */
#ifndef VFO_MIGRATE_H
#define VFO_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define VFO_MIG_MAX_PAIRS 8

enum vfo_mig_state {
	VFO_MIG_IDLE = 0,
	VFO_MIG_LEAVING,
	VFO_MIG_DETACHING,
	VFO_MIG_MIGRATING,
	VFO_MIG_RELEASING,
	VFO_MIG_ROLLBACK,
	VFO_MIG_ATTACHING,
	VFO_MIG_DEGRADED,
	VFO_MIG_DONE,
	VFO_MIG_FAILED,
};

enum vfo_mig_policy {
	VFO_MIG_POLICY_ABORT = 0, /* removal failed/timed out: roll back */
	VFO_MIG_POLICY_PROCEED, /* migrate anyway; libvirt refuses if needed */
};

struct vfo_mig_cfg {
	int64_t ack_timeout_ms;
	int64_t unplug_timeout_ms;
	int64_t migrate_timeout_ms;
	int64_t attach_timeout_ms;
	unsigned int attach_retries; /* per pair, after the first try */
	enum vfo_mig_policy removal_failed;
};

void vfo_mig_cfg_defaults(struct vfo_mig_cfg *cfg);

/* Per pair progress; flags are facts, not intentions. */
struct vfo_mig_pair {
	char id[32];
	char alias[64]; /* VF interface alias, ua-vfo-<id> */
	bool has_vf; /* a VF is (or was, before this step) attached */
	bool acked; /* guest switched to standby */
	bool removed; /* DEVICE_REMOVED seen (or VF absent) */
	bool attached; /* (re-)attached */
	bool released; /* source VF scrubbed and freed */
	unsigned int attach_tries;
};

struct vfo_mig {
	enum vfo_mig_state state;
	bool incoming; /* destination side */
	bool agent; /* a guest agent channel is connected */
	char domain[256];
	char uuid[37];
	char dest_uri[512];
	bool p2p;
	int64_t deadline_ms; /* 0: none; monotonic time of the current step */
	int64_t started_ms; /* wall clock, for reports */
	size_t n_pairs;
	struct vfo_mig_pair pairs[VFO_MIG_MAX_PAIRS];
	char error[256]; /* why it failed / rolled back */
};

enum vfo_mig_input_type {
	VFO_MIG_IN_START, /* source: operator asked to migrate */
	VFO_MIG_IN_ARRIVED, /* destination: RESUMED_MIGRATED */
	VFO_MIG_IN_ACK, /* guest acked vf-leaving for pair */
	VFO_MIG_IN_AGENT_GONE, /* channel closed: stop waiting for acks */
	VFO_MIG_IN_DEVICE_REMOVED, /* alias */
	VFO_MIG_IN_REMOVAL_FAILED, /* alias */
	VFO_MIG_IN_MIGRATE_OK,
	VFO_MIG_IN_MIGRATE_FAILED, /* error text */
	VFO_MIG_IN_ATTACH_OK, /* pair */
	VFO_MIG_IN_ATTACH_FAILED, /* pair, error text */
	VFO_MIG_IN_NO_VF, /* pair: no free VF to attach */
	VFO_MIG_IN_VF_FREED, /* a VF freed in the pool: retry DEGRADED */
	VFO_MIG_IN_RELEASED, /* pair: source VF scrubbed and freed */
	VFO_MIG_IN_TICK, /* time passed: check the deadline */
	VFO_MIG_IN_RESUME, /* after a restart: redo the current step */
};

struct vfo_mig_input {
	enum vfo_mig_input_type type;
	int64_t now_ms; /* monotonic */
	const char *pair; /* pair id, where it applies */
	const char *alias; /* device alias, where it applies */
	const char *error; /* failure text, where it applies */
};

enum vfo_mig_action_type {
	VFO_MIG_ACT_SEND_LEAVING, /* pair: "vf-leaving" to the guest */
	VFO_MIG_ACT_SEND_ARRIVING, /* pair: "vf-arriving" to the guest */
	VFO_MIG_ACT_DETACH, /* pair: detach its VF by alias */
	VFO_MIG_ACT_MIGRATE, /* start the live migration */
	VFO_MIG_ACT_ATTACH, /* pair: attach (configure first) a VF */
	VFO_MIG_ACT_RELEASE, /* pair: scrub and free the source VF */
	VFO_MIG_ACT_FINISHED, /* state is DONE or FAILED: report, forget */
};

struct vfo_mig_action {
	enum vfo_mig_action_type type;
	size_t pair; /* index into vfo_mig.pairs */
};

#define VFO_MIG_MAX_ACTIONS (2 * VFO_MIG_MAX_PAIRS + 2)

const char *vfo_mig_state_str(enum vfo_mig_state s);
int vfo_mig_state_from_str(const char *s);

/*
 * Set up a migration (source: incoming false) for pairs ids[] with aliases
 * and has_vf flags. Returns 0 or -EINVAL.
 */
int vfo_mig_init(struct vfo_mig *m, bool incoming, const char *domain, const char *uuid,
		 const char *dest_uri, bool agent);
int vfo_mig_add_pair(struct vfo_mig *m, const char *id, const char *alias, bool has_vf);

/*
 * Feed one input; the actions to carry out (in order) go to acts. Returns
 * their number, or -EINVAL for an input that makes no sense in this state
 * (ignored: the state is unchanged), e.g. a stray DEVICE_REMOVED.
 */
int vfo_mig_step(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, const struct vfo_mig_input *in,
		 struct vfo_mig_action *acts);

bool vfo_mig_finished(const struct vfo_mig *m);

/* Persisted form; deadlines are stored relative to now so a restart with a
 * new monotonic clock re-arms them. */
struct json_object *vfo_mig_to_json(const struct vfo_mig *m, int64_t now_ms);
int vfo_mig_from_json(struct json_object *o, int64_t now_ms, struct vfo_mig *m);

#endif
