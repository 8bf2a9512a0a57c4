/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control socket of vfo-hostd (/run/vfo/hostd.sock): a listening
 * SOCK_STREAM UNIX socket on the event loop, one vfo_conn per client.
 *
 * Who may talk: the peer's SO_PEERCRED uid 0, or a peer whose primary or
 * supplementary groups contain the configured group. Anybody else gets one
 * "denied" error line, a log line, and the connection is closed before a
 * byte of theirs is parsed.
 *
 * What they may say is the caller's business: ctl knows no commands, it
 * runs requests through the vfo_proto_table it is given. A handler turns
 * its connection into an event stream with vfo_ctl_subscribe(); the daemon
 * pushes events to every subscriber with vfo_ctl_broadcast(). A subscriber
 * that stops reading is dropped once its queue passes the conn layer's
 * high-water mark: nothing here ever waits for a client.
 */
#ifndef VFO_CTL_H
#define VFO_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "loop.h"
#include "proto.h"

struct vfo_ctl;

struct vfo_ctl_cfg {
	const char *path; /* socket path; its directory is created 0750 */
	/* Group name or numeric gid allowed besides root; NULL or "" for
	 * root only. A group that does not exist is logged and ignored. */
	const char *group;
	unsigned int max_clients; /* 0: VFO_CTL_DEFAULT_MAX_CLIENTS */
	/* Per-client limits (max_line, max_queue, rate, burst, ...); table,
	 * on_msg and opaque are overwritten by ctl. */
	struct vfo_conn_cfg conn;
	const struct vfo_proto_table *table;
};

#define VFO_CTL_DEFAULT_MAX_CLIENTS 256

struct vfo_ctl_stats {
	uint64_t accepted; /* connections accepted and authorised */
	uint64_t denied; /* refused by the credential check */
	uint64_t rejected; /* refused because max_clients was reached */
	uint64_t dropped; /* closed for queue overflow or flooding */
	uint64_t events; /* event lines queued to subscribers */
	unsigned int clients; /* connected now */
	unsigned int subscribers; /* of which event streams */
};

/* Fill cfg with defaults: no path, group "vfo", conn defaults. */
void vfo_ctl_cfg_init(struct vfo_ctl_cfg *cfg);

/*
 * Create the socket and register it on the loop. A stale socket file left
 * by a crash is replaced; one a live process still listens on is not
 * (-EADDRINUSE). Returns 0 or -errno.
 */
int vfo_ctl_new(struct vfo_loop *loop, const struct vfo_ctl_cfg *cfg, struct vfo_ctl **out);
/* Closes every client and removes the socket file. NULL is a no-op. */
void vfo_ctl_free(struct vfo_ctl *ctl);

/* From a handler: the requesting connection receives events from now on. */
int vfo_ctl_subscribe(const struct vfo_proto_req *req);
/* Credentials of the requesting connection (for logging and ownership). */
int vfo_ctl_peer(const struct vfo_proto_req *req, pid_t *pid, uid_t *uid);

/* Queue {"event": name, ...fields} to every subscriber (fields borrowed). */
void vfo_ctl_broadcast(struct vfo_ctl *ctl, const char *event, struct json_object *fields);

void vfo_ctl_get_stats(const struct vfo_ctl *ctl, struct vfo_ctl_stats *st);

/*
 * The credential check, exposed for tests: 1 allowed, 0 denied. have_group
 * false means root only. Supplementary groups come from /proc/PID/status
 * ("Groups:"), or getgrouplist() on the uid's name when that is unreadable.
 */
int vfo_ctl_peer_allowed(pid_t pid, uid_t uid, gid_t gid, bool have_group, gid_t group);
/* Resolve a group name or a decimal gid. 0 or -ENOENT / -EINVAL. */
int vfo_ctl_resolve_group(const char *name, gid_t *gid);

#endif
