/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The orchestrator: vfo-hostd's libvirt side. It follows the domains that
 * carry vfo metadata (host-agent/meta.h), gives them VFs when they start
 * and takes them back when they stop, talks to their guest agents
 * (gchan.c), and runs each domain's migration state machine (migrate.c)
 * against libvirt (virt.c), persisting it before every step so a restart
 * finishes or rolls back what was under way.
 */
#ifndef VFO_ORCH_H
#define VFO_ORCH_H

#include <stdbool.h>

#include <json-c/json.h>

#include "proto.h"

struct vfo_hostd;
struct vfo_pools;

int vfo_orch_init(struct vfo_hostd *h);
void vfo_orch_fini(struct vfo_hostd *h);

/* What the state file keeps for the orchestrator (migrations in flight,
 * drained pools and PFs, domains moved to their standby). */
json_object *vfo_orch_state_json(struct vfo_hostd *h);
/* Take the orchestrator's part of a loaded state file (borrowed). */
void vfo_orch_load_state(struct vfo_hostd *h, json_object *state);
/* Take drained VFs out of a freshly built pool set (after every rescan). */
void vfo_orch_apply_drains(struct vfo_hostd *h, struct vfo_pools *p);

/* Followed domains, their pairs and migrations, for "status"/"domains". */
json_object *vfo_orch_domains_json(struct vfo_hostd *h);

/* Operator commands. Each returns 0 or -errno with err filled. */
int vfo_orch_migrate(struct vfo_hostd *h, const char *domain, const char *dest_uri, bool p2p,
		     struct vfo_proto_err *err);
int vfo_orch_failover(struct vfo_hostd *h, const char *domain, bool to_vf, bool detach,
		      struct vfo_proto_err *err);
/* target: a pool name or a PF (netdev or PCI address). Returns how many
 * domains were moved, or -errno. */
int vfo_orch_drain(struct vfo_hostd *h, const char *target, bool undrain,
		   struct vfo_proto_err *err);

#endif
