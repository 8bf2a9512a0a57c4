/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A synchronous client of a vfo control socket, for short-lived programs
 * (vfoctl, vfo-hook): connect, send a request, wait (bounded) for its
 * reply, or read a stream of events.
 */
#ifndef VFO_CLIENT_H
#define VFO_CLIENT_H

#include <stdint.h>

#include <json-c/json.h>

#include "proto.h"

struct vfo_client;

/* -errno from socket()/connect() (-ENOENT, -ECONNREFUSED, -EACCES...). */
int vfo_client_open(struct vfo_client **out, const char *path);
void vfo_client_close(struct vfo_client *c);

/*
 * Send cmd (args borrowed, may be NULL) and wait up to timeout_ms (-1: no
 * limit) for the reply with the same id; lines with other ids (events) are
 * skipped. Returns 0 with *result (a reference the caller puts), or:
 * -EREMOTEIO with err filled from the peer's error reply, -ETIMEDOUT,
 * -ECONNRESET when the peer closed, -EBADMSG for a line that does not
 * parse, other -errno.
 */
int vfo_client_call(struct vfo_client *c, const char *cmd, struct json_object *args, int timeout_ms,
		    struct json_object **result, struct vfo_proto_err *err);

/* The next message of any kind (events after an "events" request). 0 with
 * *msg filled (vfo_msg_release it), -ETIMEDOUT, -ECONNRESET, -errno. */
int vfo_client_next(struct vfo_client *c, int timeout_ms, struct vfo_msg *msg);

#endif
