// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gchan.h"
#include "log.h"
#include "loop.h"
#include "proto.h"

#define COMP "gchan"
#define MAX_PENDING 16
/* A guest has no reason to send long lines or many of them. */
#define GUEST_MAX_LINE 4096
#define GUEST_RATE 20
#define GUEST_BURST 40
#define GUEST_FLOOD_MAX 200

struct pending {
	int64_t id; /* 0: slot free */
	enum vfo_gchan_cmd cmd;
	char mac[18];
	int64_t deadline_ms;
};

struct vfo_gchan {
	struct vfo_loop *loop;
	struct vfo_conn *conn;
	int watch;
	int timer;
	char *path;
	int64_t reply_timeout_ms;
	const struct vfo_gchan_ops *ops;
	void *opaque;
	bool agent;
	bool closed;
	int64_t next_id;
	struct pending pending[MAX_PENDING];
};

static const char *const cmd_names[] = {
	[VFO_GCHAN_HELLO] = "hello",
	[VFO_GCHAN_VF_LEAVING] = "vf-leaving",
	[VFO_GCHAN_VF_ARRIVING] = "vf-arriving",
};

bool vfo_gchan_agent(const struct vfo_gchan *g)
{
	return g->agent;
}

const char *vfo_gchan_path(const struct vfo_gchan *g)
{
	return g->path;
}

void *vfo_gchan_opaque(const struct vfo_gchan *g)
{
	return g->opaque;
}

static void rearm(struct vfo_gchan *g)
{
	int64_t next = 0, now = vfo_now_ms();

	for (int i = 0; i < MAX_PENDING; i++) {
		if (g->pending[i].id && (!next || g->pending[i].deadline_ms < next))
			next = g->pending[i].deadline_ms;
	}
	vfo_loop_update_timer(g->loop, g->timer, next ? (int)(next > now ? next - now : 1) : -1);
}

static void update_watch(struct vfo_gchan *g)
{
	unsigned int ev = 0;

	if (g->closed)
		return;
	if (vfo_conn_want_read(g->conn))
		ev |= VFO_EV_IN;
	if (vfo_conn_want_write(g->conn))
		ev |= VFO_EV_OUT;
	vfo_loop_update_fd(g->loop, g->watch, ev);
}

/* Report once; the owner frees us from its callback or later. */
static void mark_closed(struct vfo_gchan *g)
{
	if (g->closed)
		return;
	g->closed = true;
	vfo_loop_update_fd(g->loop, g->watch, 0);
	vfo_loop_update_timer(g->loop, g->timer, -1);
	if (g->ops->closed)
		g->ops->closed(g->opaque, g);
}

static int send_cmd(struct vfo_gchan *g, enum vfo_gchan_cmd cmd, const char *mac);

static void agent_found(struct vfo_gchan *g)
{
	if (g->agent)
		return;
	g->agent = true;
	vfo_info(COMP, "%s: guest agent present", g->path);
	if (g->ops->ready)
		g->ops->ready(g->opaque, g);
}

static void answer(struct vfo_gchan *g, struct pending *p, int err, int64_t elapsed)
{
	struct pending done = *p;

	p->id = 0;
	if (done.cmd == VFO_GCHAN_HELLO && err == -ETIMEDOUT && !g->agent) {
		/* The agent may start long after the guest: keep asking. */
		send_cmd(g, VFO_GCHAN_HELLO, NULL);
		return;
	}
	if (done.cmd == VFO_GCHAN_HELLO) {
		if (!err)
			agent_found(g);
		return;
	}
	if (g->ops->reply)
		g->ops->reply(g->opaque, g, done.cmd, done.mac, err, elapsed);
}

static void on_msg(struct vfo_conn *c, struct vfo_msg *msg, void *opaque)
{
	struct vfo_gchan *g = opaque;
	struct json_object *v;
	int64_t id, elapsed = -1;

	if (msg->type == VFO_MSG_EVENT)
		return; /* nothing a guest announces changes host state */
	if ((msg->type != VFO_MSG_REPLY && msg->type != VFO_MSG_ERROR) ||
	    !json_object_is_type(msg->id, json_type_int))
		return;
	id = json_object_get_int64(msg->id);
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &g->pending[i];

		if (!p->id || p->id != id)
			continue;
		if (msg->type == VFO_MSG_ERROR) {
			vfo_warn(COMP, "%s: guest answered %s with %s: %s", g->path,
				 cmd_names[p->cmd], msg->err_code_str, msg->err_message);
			answer(g, p, -vfo_proto_code_to_errno(msg->err_code), -1);
		} else {
			/* The agent reports a fraction of a millisecond
			 * ("0.731"): accept a double too, within reason. */
			if (json_object_object_get_ex(msg->result, "elapsed_ms", &v) &&
			    (json_object_is_type(v, json_type_int) ||
			     json_object_is_type(v, json_type_double))) {
				double ms = json_object_get_double(v);

				if (ms >= 0 && ms < 3600e3)
					elapsed = (int64_t)ms;
			}
			answer(g, p, 0, elapsed);
		}
		rearm(g);
		return;
	}
	/* A late answer to an earlier hello (buffered while no agent ran)
	 * still says an agent is there; anything else unasked is dropped. */
	if (msg->type == VFO_MSG_REPLY && id <= g->next_id &&
	    json_object_object_get_ex(msg->result, "version", &v) &&
	    json_object_object_get_ex(msg->result, "agent", NULL)) {
		agent_found(g);
		return;
	}
	vfo_dbg(COMP, "%s: reply to unknown id %lld dropped", g->path, (long long)id);
}

static void on_io(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_gchan *g = opaque;
	int rc = 0;

	if (events & (VFO_EV_IN | VFO_EV_HUP | VFO_EV_ERR))
		rc = vfo_conn_on_readable(g->conn, vfo_now_ms());
	if (rc == 0 && (events & VFO_EV_OUT))
		rc = vfo_conn_on_writable(g->conn);
	if (rc < 0 || vfo_conn_is_closed(g->conn)) {
		vfo_info(COMP, "%s: channel closed (%s)", g->path,
			 vfo_conn_close_reason_str(vfo_conn_close_reason(g->conn)));
		mark_closed(g);
		return;
	}
	update_watch(g);
}

static void on_timeout(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_gchan *g = opaque;
	int64_t now = vfo_now_ms();

	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &g->pending[i];

		if (p->id && p->deadline_ms <= now) {
			vfo_dbg(COMP, "%s: no answer to %s", g->path, cmd_names[p->cmd]);
			answer(g, p, -ETIMEDOUT, -1);
		}
	}
	rearm(g);
}

static int send_cmd(struct vfo_gchan *g, enum vfo_gchan_cmd cmd, const char *mac)
{
	struct json_object *args = json_object_new_object(), *id;
	struct pending *slot = NULL;
	int rc;

	if (g->closed) {
		json_object_put(args);
		return -ENOTCONN;
	}
	for (int i = 0; i < MAX_PENDING && !slot; i++) {
		if (!g->pending[i].id)
			slot = &g->pending[i];
	}
	if (!slot) {
		json_object_put(args);
		return -EBUSY;
	}
	if (cmd == VFO_GCHAN_HELLO) {
		json_object_object_add(args, "version", json_object_new_int(VFO_PROTO_VERSION));
		json_object_object_add(args, "agent", json_object_new_string("vfo-hostd"));
		json_object_object_add(args, "agent_version", json_object_new_string(VERSION));
	} else {
		json_object_object_add(args, "mac", json_object_new_string(mac));
	}
	slot->id = ++g->next_id;
	slot->cmd = cmd;
	snprintf(slot->mac, sizeof(slot->mac), "%s", mac ? mac : "");
	slot->deadline_ms = vfo_now_ms() + g->reply_timeout_ms;
	id = json_object_new_int64(slot->id);
	rc = vfo_conn_send_request(g->conn, id, cmd_names[cmd], args);
	json_object_put(id);
	json_object_put(args);
	if (rc < 0) {
		slot->id = 0;
		mark_closed(g);
		return rc;
	}
	update_watch(g);
	rearm(g);
	if (cmd != VFO_GCHAN_HELLO)
		vfo_info(COMP, "%s: %s sent for %s", g->path, cmd_names[cmd], mac);
	return 0;
}

int vfo_gchan_send(struct vfo_gchan *g, enum vfo_gchan_cmd cmd, const char *mac)
{
	if (cmd == VFO_GCHAN_HELLO || !mac)
		return -EINVAL;
	return send_cmd(g, cmd, mac);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int vfo_gchan_open(struct vfo_gchan **out, struct vfo_loop *l, const char *path,
		   int64_t reply_timeout_ms, const struct vfo_gchan_ops *ops, void *opaque)
{
	struct vfo_conn_cfg cfg;
	struct vfo_gchan *g;
	int fd, rc;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->loop = l;
	/* No callbacks until open succeeded: a failure here is returned. */
	g->ops = &(const struct vfo_gchan_ops){ 0 };
	g->opaque = opaque;
	g->reply_timeout_ms = reply_timeout_ms > 0 ? reply_timeout_ms : 2000;
	g->path = strdup(path);
	if (!g->path) {
		rc = -ENOMEM;
		goto err_free;
	}
	fd = connect_unix(path);
	if (fd < 0) {
		rc = fd;
		goto err_path;
	}
	vfo_conn_cfg_init(&cfg);
	cfg.max_line = GUEST_MAX_LINE;
	cfg.rate = GUEST_RATE;
	cfg.burst = GUEST_BURST;
	cfg.flood_max = GUEST_FLOOD_MAX;
	cfg.on_msg = on_msg;
	cfg.opaque = g;
	g->conn = vfo_conn_new(fd, &cfg, vfo_now_ms());
	if (!g->conn) {
		rc = -errno;
		close(fd);
		goto err_path;
	}
	rc = vfo_loop_add_fd(l, "guest-channel", fd, VFO_EV_IN, on_io, g, NULL);
	if (rc < 0)
		goto err_conn;
	g->watch = rc;
	rc = vfo_loop_add_timer(l, "guest-channel-timeout", -1, 0, on_timeout, g, NULL);
	if (rc < 0)
		goto err_watch;
	g->timer = rc;
	/* Whether an agent listens is learnt from its answer: QEMU accepts
	 * the connection even when nothing in the guest opened the port. */
	rc = send_cmd(g, VFO_GCHAN_HELLO, NULL);
	if (rc < 0)
		goto err_timer;
	g->ops = ops;
	*out = g;
	return 0;

err_timer:
	vfo_loop_remove_timer(l, g->timer);
err_watch:
	vfo_loop_remove_fd(l, g->watch);
err_conn:
	vfo_conn_free(g->conn);
err_path:
	free(g->path);
err_free:
	free(g);
	return rc;
}

void vfo_gchan_free(struct vfo_gchan *g)
{
	if (!g)
		return;
	vfo_loop_remove_timer(g->loop, g->timer);
	vfo_loop_remove_fd(g->loop, g->watch);
	vfo_conn_free(g->conn);
	free(g->path);
	free(g);
}
