// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * virt.h for vfo-hostd: every call goes to vfo-virt-helper over a
 * socketpair and waits for its reply; the helper's events come back on the
 * same socket and reach vfo_virt_ops from this process's loop.
 *
 * Ordering: events that arrive while a call waits for its reply are queued,
 * never dispatched inside the call (the caller may be halfway through a
 * state change), and are delivered in arrival order right after.
 *
 * A helper that dies or stops answering is a lost libvirt connection: the
 * pending call fails, "disconnected" is delivered, and a new helper is
 * started with backoff, which reports "connected" once libvirtd answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"
#include "virt-link.h"
#include "virt.h"

#define COMP "virt"
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
/* libvirt's keepalive gives up on a dead libvirtd in ~6 s; a call still
 * unanswered after this is a wedged libvirtd or helper. Below the unit's
 * WatchdogSec (30 s): the daemon's thread waits meanwhile. */
#define CALL_TIMEOUT_MS 25000

struct queued {
	struct queued *next;
	struct json_object *ev;
};

struct vfo_virt {
	struct vfo_loop *loop;
	char *uri;
	char helper[4096];
	const struct vfo_virt_ops *ops;
	void *opaque;
	pid_t pid;
	struct vfo_vlink link; /* fd -1 while no helper runs */
	int link_id;
	int respawn_timer, dispatch_timer;
	int backoff_ms;
	int64_t next_id;
	bool connected; /* as last delivered to ops */
	bool dispatching;
	struct queued *head, **tail;
};

static char last_error[512] = "no error";

const char *vfo_virt_last_error(void)
{
	return last_error;
}

static void set_error(const char *msg)
{
	snprintf(last_error, sizeof(last_error), "%s", msg ? msg : "unknown libvirt error");
}

static int next_backoff(int ms)
{
	return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

static void enqueue(struct vfo_virt *v, struct json_object *ev)
{
	struct queued *q = calloc(1, sizeof(*q));

	if (!q) {
		vfo_err(COMP, "out of memory: dropping a libvirt event");
		json_object_put(ev);
		return;
	}
	q->ev = ev;
	*v->tail = q;
	v->tail = &q->next;
	vfo_loop_update_timer(v->loop, v->dispatch_timer, 0);
}

static void deliver(struct vfo_virt *v, struct json_object *ev)
{
	const char *name = vfo_vlink_str(ev, "ev");
	const char *uuid = vfo_vlink_str(ev, "uuid");
	const char *alias = vfo_vlink_str(ev, "alias");
	const struct vfo_virt_ops *ops = v->ops;

	if (!name)
		return;
	if (!strcmp(name, "connected")) {
		if (v->connected)
			return;
		v->connected = true;
		v->backoff_ms = BACKOFF_MIN_MS;
		if (ops->connected)
			ops->connected(v->opaque);
	} else if (!strcmp(name, "disconnected")) {
		if (!v->connected)
			return;
		v->connected = false;
		if (ops->disconnected)
			ops->disconnected(v->opaque);
	} else if (!uuid) {
		return;
	} else if (!strcmp(name, "lifecycle")) {
		if (ops->lifecycle)
			ops->lifecycle(v->opaque, uuid, vfo_vlink_str(ev, "name"),
				       (enum vfo_virt_life)vfo_vlink_int(ev, "life", -1));
	} else if (!strcmp(name, "device-removed")) {
		if (ops->device_removed && alias)
			ops->device_removed(v->opaque, uuid, alias);
	} else if (!strcmp(name, "device-removal-failed")) {
		if (ops->device_removal_failed && alias)
			ops->device_removal_failed(v->opaque, uuid, alias);
	} else if (!strcmp(name, "device-added")) {
		if (ops->device_added && alias)
			ops->device_added(v->opaque, uuid, alias);
	}
}

/* Delivery may call back into vfo_virt_*(), which may queue more: those
 * are delivered by this same pass, in order. */
static void dispatch_queue(struct vfo_virt *v)
{
	if (v->dispatching)
		return;
	v->dispatching = true;
	while (v->head) {
		struct queued *q = v->head;

		v->head = q->next;
		if (!v->head)
			v->tail = &v->head;
		deliver(v, q->ev);
		json_object_put(q->ev);
		free(q);
	}
	v->dispatching = false;
}

static void on_dispatch(struct vfo_loop *l, int id, void *opaque)
{
	vfo_loop_update_timer(l, id, -1);
	dispatch_queue(opaque);
}

static void stop_helper(struct vfo_virt *v, const char *why)
{
	int status;

	if (v->link.fd < 0)
		return;
	vfo_loop_remove_fd(v->loop, v->link_id);
	vfo_vlink_fini(&v->link);
	/* EOF on its link makes it exit; a wedged one is killed. */
	for (int i = 0; i < 50; i++) {
		if (waitpid(v->pid, &status, WNOHANG) != 0)
			goto reaped;
		usleep(10000);
	}
	kill(v->pid, SIGKILL);
	waitpid(v->pid, &status, 0);
reaped:
	if (why)
		vfo_warn(COMP, "libvirt helper (pid %d) %s; restarting it in %d ms", (int)v->pid,
			 why, v->backoff_ms);
	v->pid = 0;
	/* Whoever waits on the connection learns it is gone, after what
	 * the helper already said. */
	enqueue(v, json_tokener_parse("{\"ev\":\"disconnected\"}"));
	if (why) {
		vfo_loop_update_timer(v->loop, v->respawn_timer, v->backoff_ms);
		v->backoff_ms = next_backoff(v->backoff_ms);
	}
}

/* Take every complete line: events to the queue, a reply (if any) out. */
static int drain_link(struct vfo_virt *v, int64_t want_id, struct json_object **reply)
{
	struct json_object *o;
	int r;

	while ((r = vfo_vlink_next(&v->link, &o)) != 0) {
		if (r < 0) {
			vfo_warn(COMP, "libvirt helper sent a malformed line: dropped");
			continue;
		}
		if (vfo_vlink_str(o, "ev")) {
			enqueue(v, o);
		} else if (reply && vfo_vlink_int(o, "id", -1) == want_id) {
			*reply = o;
			return 1;
		} else {
			/* A reply to a call that timed out: nobody waits. */
			json_object_put(o);
		}
	}
	return 0;
}

static void on_link(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_virt *v = opaque;
	int r = vfo_vlink_fill(&v->link);

	drain_link(v, -1, NULL);
	if (r < 0)
		stop_helper(v, "exited");
	dispatch_queue(v);
}

static int start_helper(struct vfo_virt *v)
{
	char fdarg[16];
	int sv[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		char level[16], target[16];
		const char *argv[11];
		int argc = 0, fd = dup(sv[1]); /* without CLOEXEC: the helper's end */
		sigset_t none;

		/* The loop blocked its signals; the helper wants SIGTERM. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		argv[argc++] = v->helper;
		argv[argc++] = "--fd";
		argv[argc++] = fdarg;
		argv[argc++] = "--uri";
		argv[argc++] = v->uri;
		/* It logs like this process: same target, same level. */
		snprintf(level, sizeof(level), "%d", vfo_log_get_level());
		snprintf(target, sizeof(target), "%d", (int)vfo_log_get_target());
		argv[argc++] = "--log-level";
		argv[argc++] = level;
		argv[argc++] = "--log-target";
		argv[argc++] = target;
		argv[argc] = NULL;
		execv(v->helper, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	r = vfo_vlink_init(&v->link, sv[0]);
	if (r < 0)
		goto err;
	r = vfo_loop_add_fd(v->loop, "libvirt-helper", sv[0], VFO_EV_IN, on_link, v, NULL);
	if (r < 0)
		goto err;
	v->link_id = r;
	v->pid = pid;
	vfo_dbg(COMP, "libvirt helper %s started (pid %d)", v->helper, (int)pid);
	return 0;
err:
	vfo_vlink_fini(&v->link);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return r;
}

static void on_respawn(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_virt *v = opaque;
	int r;

	vfo_loop_update_timer(l, id, -1);
	if (v->link.fd >= 0)
		return;
	r = start_helper(v);
	if (r < 0) {
		vfo_err(COMP, "cannot start %s: %s; retrying in %d ms", v->helper, strerror(-r),
			v->backoff_ms);
		vfo_loop_update_timer(l, id, v->backoff_ms);
		v->backoff_ms = next_backoff(v->backoff_ms);
	}
}

/* Where vfo-virt-helper is: next to the running program (a build tree, or
 * both installed together), else its configured install path. */
static int helper_path(char *buf, size_t len)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(buf, len, "%s/vfo-virt-helper", self) < len &&
			    access(buf, X_OK) == 0)
				return 0;
		}
	}
	if ((size_t)snprintf(buf, len, "%s", VFO_VIRT_HELPER_PATH) >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) == 0 ? 0 : -errno;
}

int vfo_virt_new(struct vfo_virt **out, struct vfo_loop *l, const char *uri,
		 const struct vfo_virt_ops *ops, void *opaque)
{
	struct vfo_virt *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	v->loop = l;
	v->ops = ops;
	v->opaque = opaque;
	v->link.fd = -1;
	v->tail = &v->head;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->respawn_timer = v->dispatch_timer = -1;
	v->uri = strdup(uri ? uri : "qemu:///system");
	r = v->uri ? helper_path(v->helper, sizeof(v->helper)) : -ENOMEM;
	if (r < 0) {
		vfo_err(COMP, "no vfo-virt-helper next to this program nor at %s: %s",
			VFO_VIRT_HELPER_PATH, strerror(-r));
		goto err;
	}
	r = vfo_loop_add_timer(l, "libvirt-dispatch", -1, 0, on_dispatch, v, NULL);
	if (r < 0)
		goto err;
	v->dispatch_timer = r;
	r = vfo_loop_add_timer(l, "libvirt-respawn", -1, 0, on_respawn, v, NULL);
	if (r < 0)
		goto err;
	v->respawn_timer = r;
	r = start_helper(v);
	if (r < 0)
		goto err;
	*out = v;
	return 0;
err:
	vfo_virt_free(v);
	return r;
}

void vfo_virt_free(struct vfo_virt *v)
{
	if (!v)
		return;
	stop_helper(v, NULL);
	while (v->head) {
		struct queued *q = v->head;

		v->head = q->next;
		json_object_put(q->ev);
		free(q);
	}
	if (v->dispatch_timer > 0)
		vfo_loop_remove_timer(v->loop, v->dispatch_timer);
	if (v->respawn_timer > 0)
		vfo_loop_remove_timer(v->loop, v->respawn_timer);
	free(v->uri);
	free(v);
}

bool vfo_virt_connected(const struct vfo_virt *v)
{
	return v->connected && v->link.fd >= 0;
}

const char *vfo_virt_uri(const struct vfo_virt *v)
{
	return v->uri;
}

const char *vfo_virt_helper_exe(const struct vfo_virt *v)
{
	return v->helper;
}

/*
 * One call: send, then wait for its reply only, queueing events. Returns
 * the reply's rc with *reply_out set (caller puts it) when rc >= 0 and
 * reply_out is given; libvirt's message goes to vfo_virt_last_error().
 */
static int call(struct vfo_virt *v, struct json_object *req, struct json_object **reply_out)
{
	int64_t id = ++v->next_id, deadline = vfo_now_ms() + CALL_TIMEOUT_MS;
	struct json_object *reply = NULL;
	int r;

	if (reply_out)
		*reply_out = NULL;
	if (v->link.fd < 0) {
		json_object_put(req);
		set_error("not connected to libvirt (its helper is restarting)");
		return -ENOTCONN;
	}
	json_object_object_add(req, "id", json_object_new_int64(id));
	r = vfo_vlink_send(&v->link, req);
	json_object_put(req);
	while (r == 0 && !drain_link(v, id, &reply)) {
		struct pollfd pfd = { .fd = v->link.fd, .events = POLLIN };
		int64_t left = deadline - vfo_now_ms();

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		r = vfo_vlink_fill(&v->link);
		r = r < 0 ? r : 0;
	}
	if (!reply) {
		set_error(r == -ETIMEDOUT ? "libvirt helper did not answer in time" :
					    "libvirt helper exited");
		stop_helper(v, r == -ETIMEDOUT ? "did not answer in time" : "exited");
		return r == -ETIMEDOUT ? -ETIMEDOUT : -ENOTCONN;
	}
	r = (int)vfo_vlink_int(reply, "rc", -EPROTO);
	if (r < 0)
		set_error(vfo_vlink_str(reply, "err"));
	if (r >= 0 && reply_out)
		*reply_out = reply;
	else
		json_object_put(reply);
	return r;
}

static struct json_object *request(const char *op, const char *uuid)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "op", json_object_new_string(op));
	if (uuid)
		json_object_object_add(o, "uuid", json_object_new_string(uuid));
	return o;
}

int vfo_virt_for_each_running(struct vfo_virt *v, vfo_virt_domain_fn fn, void *opaque)
{
	struct json_object *reply, *doms;
	int r = call(v, request("list", NULL), &reply);
	size_t n;

	if (r < 0)
		return r;
	if (!json_object_object_get_ex(reply, "domains", &doms) ||
	    !json_object_is_type(doms, json_type_array)) {
		json_object_put(reply);
		return -EPROTO;
	}
	n = json_object_array_length(doms);
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(doms, i);
		const char *uuid = vfo_vlink_str(d, "uuid"), *xml = vfo_vlink_str(d, "xml");

		if (uuid && xml)
			fn(opaque, uuid, vfo_vlink_str(d, "name"), xml);
	}
	json_object_put(reply);
	return (int)n;
}

static int domain_xml(struct vfo_virt *v, const char *op, const char *uuid, char **xml)
{
	struct json_object *reply;
	int r = call(v, request(op, uuid), &reply);
	const char *s;

	if (r < 0)
		return r;
	s = vfo_vlink_str(reply, "xml");
	*xml = s ? strdup(s) : NULL;
	json_object_put(reply);
	return !s ? -EPROTO : *xml ? 0 : -ENOMEM;
}

int vfo_virt_domain_xml(struct vfo_virt *v, const char *uuid, char **xml)
{
	return domain_xml(v, "xml", uuid, xml);
}

int vfo_virt_domain_xml_migratable(struct vfo_virt *v, const char *uuid, char **xml)
{
	return domain_xml(v, "xml-migratable", uuid, xml);
}

int vfo_virt_lookup(struct vfo_virt *v, const char *name_or_uuid, char uuid[37], char name[256])
{
	struct json_object *reply;
	int r = call(v, request("lookup", name_or_uuid), &reply);
	const char *u, *n;

	if (r < 0)
		return r;
	u = vfo_vlink_str(reply, "uuid");
	n = vfo_vlink_str(reply, "name");
	if (u && n) {
		snprintf(uuid, 37, "%s", u);
		snprintf(name, 256, "%s", n);
	}
	json_object_put(reply);
	return u && n ? 0 : -EPROTO;
}

int vfo_virt_domain_active(struct vfo_virt *v, const char *uuid)
{
	return call(v, request("active", uuid), NULL);
}

int vfo_virt_job_active(struct vfo_virt *v, const char *uuid)
{
	return call(v, request("job-active", uuid), NULL);
}

int vfo_virt_abort_job(struct vfo_virt *v, const char *uuid)
{
	return call(v, request("abort-job", uuid), NULL);
}

int vfo_virt_detach_alias(struct vfo_virt *v, const char *uuid, const char *alias)
{
	struct json_object *req = request("detach", uuid);

	json_object_object_add(req, "alias", json_object_new_string(alias));
	return call(v, req, NULL);
}

int vfo_virt_attach(struct vfo_virt *v, const char *uuid, const char *xml)
{
	struct json_object *req = request("attach", uuid);

	json_object_object_add(req, "xml", json_object_new_string(xml));
	return call(v, req, NULL);
}
