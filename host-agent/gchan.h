/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host end of one domain's guest channel (virtio-serial port
 * org.vfo.guest.0, a UNIX socket that QEMU listens on). vfo-hostd is the
 * requester: hello, vf-leaving, vf-arriving. The guest is untrusted: its
 * lines are bounded and rate-limited by the connection layer, only replies
 * to requests this channel sent are accepted (matched by id), and
 * everything a reply causes is reported with this channel's owner, so a
 * guest can only ever affect its own domain.
 */
#ifndef VFO_GCHAN_H
#define VFO_GCHAN_H

#include <stdbool.h>
#include <stdint.h>

struct vfo_loop;
struct vfo_gchan;

enum vfo_gchan_cmd {
	VFO_GCHAN_HELLO,
	VFO_GCHAN_VF_LEAVING,
	VFO_GCHAN_VF_ARRIVING,
};

struct vfo_gchan_ops {
	/* The guest agent answered hello: it is there. */
	void (*ready)(void *opaque, struct vfo_gchan *g);
	/* A reply to vf-leaving / vf-arriving: err 0 or -errno (-ETIMEDOUT
	 * when the guest did not answer in time); elapsed_ms is the guest's
	 * own figure, -1 if it gave none. */
	void (*reply)(void *opaque, struct vfo_gchan *g, enum vfo_gchan_cmd cmd, const char *mac,
		      int err, int64_t elapsed_ms);
	/* The socket closed (QEMU gone or the peer misbehaved). */
	void (*closed)(void *opaque, struct vfo_gchan *g);
};

/* Connect to path; -errno if QEMU is not listening (yet). */
int vfo_gchan_open(struct vfo_gchan **out, struct vfo_loop *l, const char *path,
		   int64_t reply_timeout_ms, const struct vfo_gchan_ops *ops, void *opaque);
void vfo_gchan_free(struct vfo_gchan *g);
/* True once the guest agent answered hello on this connection. */
bool vfo_gchan_agent(const struct vfo_gchan *g);
const char *vfo_gchan_path(const struct vfo_gchan *g);
void *vfo_gchan_opaque(const struct vfo_gchan *g);
/* Send vf-leaving or vf-arriving for mac. 0 or -errno. */
int vfo_gchan_send(struct vfo_gchan *g, enum vfo_gchan_cmd cmd, const char *mac);

#endif
