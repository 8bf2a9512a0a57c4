/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The private link between vfo-hostd and its libvirt helper process
 * (vfo-virt-helper): one JSON object per '\n'-terminated line over a
 * socketpair. Both ends are the same build of vfo, so this is not the
 * public protocol (docs/protocol.md): no versioning, no line limit beyond
 * memory (a domain list carries whole XML documents), no rate limits.
 *
 *   request  {"id": N, "op": "...", ...arguments}
 *   reply    {"id": N, "rc": 0 or -errno, "err": "libvirt's message", ...}
 *   event    {"ev": "...", ...}               (helper to vfo-hostd only)
 */
#ifndef VFO_VIRT_LINK_H
#define VFO_VIRT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct vfo_vlink {
	int fd;
	char *buf;
	size_t len, cap;
	struct json_tokener *tok;
};

int vfo_vlink_init(struct vfo_vlink *k, int fd);
/* Closes the fd too. */
void vfo_vlink_fini(struct vfo_vlink *k);

/* Write one object and its '\n', blocking until all of it is out (the
 * peer always reads). 0 or -errno (-EPIPE once the peer is gone). */
int vfo_vlink_send(struct vfo_vlink *k, struct json_object *o);

/* Read what the socket has now without blocking: 1 if something was read,
 * 0 if nothing is there, -EPIPE at end of stream, -errno. */
int vfo_vlink_fill(struct vfo_vlink *k);

/* Pop the next complete line: 1 and *out (owned by the caller), 0 if no
 * complete line is buffered, -EBADMSG for a line that is not a JSON object
 * (the line is dropped). */
int vfo_vlink_next(struct vfo_vlink *k, struct json_object **out);

/* Small accessors for the wire's flat objects. */
const char *vfo_vlink_str(struct json_object *o, const char *key);
int64_t vfo_vlink_int(struct json_object *o, const char *key, int64_t def);

#endif
