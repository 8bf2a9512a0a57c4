// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Control socket server: accept, authorise, frame, dispatch, broadcast.
 * Every client is a vfo_conn polled level-triggered on the loop; nothing
 * here blocks, and a client is only ever freed outside its own callbacks'
 * call chain or from them directly (the loop defers the memory).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

#define COMP "ctl"
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 200

struct ctl_client {
	struct ctl_client *next;
	struct vfo_ctl *ctl;
	struct vfo_conn *conn;
	int watch;
	unsigned int events; /* what the watch polls now */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool subscribed;
};

struct vfo_ctl {
	struct vfo_loop *loop;
	char *path;
	int fd;
	int watch;
	int reap_timer; /* one-shot: frees clients closed by a broadcast */
	int resume_timer; /* one-shot: re-enables accept after EMFILE */
	bool have_group;
	gid_t group;
	unsigned int max_clients;
	struct vfo_conn_cfg conn_cfg;
	struct ctl_client *clients;
	struct vfo_ctl_stats st;
};

void vfo_ctl_cfg_init(struct vfo_ctl_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->group = "vfo";
	cfg->max_clients = VFO_CTL_DEFAULT_MAX_CLIENTS;
	vfo_conn_cfg_init(&cfg->conn);
}

/* ---- credentials ------------------------------------------------------- */

int vfo_ctl_resolve_group(const char *name, gid_t *gid)
{
	struct group *gr;
	char *end;
	long v;

	if (!name || !*name)
		return -EINVAL;
	if (isdigit((unsigned char)name[0])) {
		errno = 0;
		v = strtol(name, &end, 10);
		if (errno || *end || v < 0 || v >= (long)UINT32_MAX)
			return -EINVAL;
		*gid = (gid_t)v;
		return 0;
	}
	gr = getgrnam(name);
	if (!gr)
		return -ENOENT;
	*gid = gr->gr_gid;
	return 0;
}

/* 1 if /proc/PID/status lists group, 0 if not, -errno if unreadable. */
static int proc_has_group(pid_t pid, gid_t group)
{
	char path[64], line[4096];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		ret = 0;
		for (;;) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)g == group) {
				ret = 1;
				break;
			}
			p = end;
		}
		break;
	}
	fclose(f);
	return ret;
}

static int user_has_group(uid_t uid, gid_t gid, gid_t group)
{
	gid_t groups[256];
	int n = VFO_ARRAY_SIZE(groups);
	struct passwd *pw = getpwuid(uid);

	if (!pw)
		return 0;
	if (getgrouplist(pw->pw_name, gid, groups, &n) < 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == group)
			return 1;
	return 0;
}

int vfo_ctl_peer_allowed(pid_t pid, uid_t uid, gid_t gid, bool have_group, gid_t group)
{
	int r;

	if (uid == 0)
		return 1;
	if (!have_group)
		return 0;
	if (gid == group)
		return 1;
	/* The process's own list is the truth (it may have dropped groups
	 * its user has); the user database is only a fallback. */
	r = pid > 0 ? proc_has_group(pid, group) : -ESRCH;
	if (r >= 0)
		return r;
	return user_has_group(uid, gid, group);
}

/* ---- clients ----------------------------------------------------------- */

static void client_free(struct ctl_client *cl)
{
	struct vfo_ctl *ctl = cl->ctl;

	for (struct ctl_client **pp = &ctl->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	ctl->st.clients--;
	if (cl->subscribed)
		ctl->st.subscribers--;
	if (cl->watch > 0)
		vfo_loop_remove_fd(ctl->loop, cl->watch);
	vfo_conn_free(cl->conn);
	free(cl);
}

static void client_closed(struct ctl_client *cl)
{
	enum vfo_conn_close_reason r = vfo_conn_close_reason(cl->conn);

	if (r == VFO_CONN_QUEUE_FULL || r == VFO_CONN_FLOOD) {
		cl->ctl->st.dropped++;
		vfo_warn(COMP, "client pid %d uid %u dropped: %s", (int)cl->pid,
			 (unsigned int)cl->uid, vfo_conn_close_reason_str(r));
	} else if (r == VFO_CONN_IO_ERROR) {
		vfo_info(COMP, "client pid %d: %s", (int)cl->pid,
			 strerror(vfo_conn_errno(cl->conn)));
	} else {
		vfo_dbg(COMP, "client pid %d: %s", (int)cl->pid, vfo_conn_close_reason_str(r));
	}
	client_free(cl);
}

/* Poll for what the connection wants now: level-triggered both ways. */
static void client_update(struct ctl_client *cl)
{
	unsigned int ev = 0;

	if (vfo_conn_want_read(cl->conn))
		ev |= VFO_EV_IN;
	if (vfo_conn_want_write(cl->conn))
		ev |= VFO_EV_OUT;
	if (ev != cl->events && !vfo_loop_update_fd(cl->ctl->loop, cl->watch, ev))
		cl->events = ev;
}

static void client_cb(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct ctl_client *cl = opaque;
	int r = 0;

	(void)l;
	(void)id;
	(void)fd;
	if (events & (VFO_EV_IN | VFO_EV_HUP | VFO_EV_ERR))
		r = vfo_conn_on_readable(cl->conn, vfo_now_ms());
	if (!r && (events & VFO_EV_OUT || vfo_conn_want_write(cl->conn)))
		r = vfo_conn_on_writable(cl->conn);
	if (r < 0 || vfo_conn_is_closed(cl->conn)) {
		client_closed(cl);
		return;
	}
	client_update(cl);
}

static void reap_cb(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_ctl *ctl = opaque;
	struct ctl_client *cl, *next;

	(void)l;
	(void)id;
	for (cl = ctl->clients; cl; cl = next) {
		next = cl->next;
		if (vfo_conn_is_closed(cl->conn))
			client_closed(cl);
	}
}

/* One line, best effort, then the fd is closed: the peer gets no conn. */
static void refuse(int fd, enum vfo_proto_code code, const char *msg)
{
	size_t len;
	char *line = vfo_proto_build_error(NULL, code, msg, &len);

	if (line) {
		ssize_t n = send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)n;
		free(line);
	}
	close(fd);
}

static int client_new(struct vfo_ctl *ctl, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_client *cl;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		vfo_warn(COMP, "SO_PEERCRED: %m");
		close(fd);
		return r;
	}
	if (!vfo_ctl_peer_allowed(cred.pid, cred.uid, cred.gid, ctl->have_group, ctl->group)) {
		ctl->st.denied++;
		vfo_warn(COMP,
			 "denied peer pid %d uid %u gid %u: not root and not in the control group",
			 (int)cred.pid, (unsigned int)cred.uid, (unsigned int)cred.gid);
		refuse(fd, VFO_PROTO_DENIED,
		       "permission denied: root or the vfo control group only");
		return -EACCES;
	}
	if (ctl->st.clients >= ctl->max_clients) {
		ctl->st.rejected++;
		vfo_warn(COMP, "refusing pid %d: %u clients connected", (int)cred.pid,
			 ctl->st.clients);
		refuse(fd, VFO_PROTO_BUSY, "too many clients, try again later");
		return -EBUSY;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return -ENOMEM;
	}
	cl->ctl = ctl;
	cl->pid = cred.pid;
	cl->uid = cred.uid;
	cl->gid = cred.gid;
	ctl->conn_cfg.opaque = cl;
	cl->conn = vfo_conn_new(fd, &ctl->conn_cfg, vfo_now_ms());
	if (!cl->conn) {
		r = -errno;
		close(fd);
		free(cl);
		return r;
	}
	cl->events = VFO_EV_IN;
	r = vfo_loop_add_fd(ctl->loop, "ctl-client", fd, cl->events, client_cb, cl, NULL);
	if (r < 0) {
		vfo_conn_free(cl->conn);
		free(cl);
		return r;
	}
	cl->watch = r;
	cl->next = ctl->clients;
	ctl->clients = cl;
	ctl->st.clients++;
	ctl->st.accepted++;
	vfo_dbg(COMP, "client pid %d uid %u connected", (int)cred.pid, (unsigned int)cred.uid);
	return 0;
}

static void resume_cb(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_ctl *ctl = opaque;

	(void)id;
	vfo_loop_update_fd(l, ctl->watch, VFO_EV_IN);
}

static void listen_cb(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_ctl *ctl = opaque;

	(void)id;
	(void)events;
	/* Bounded, so a connect storm cannot starve established clients. */
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0) {
			client_new(ctl, c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* The pending connection stays in the backlog and
			 * would wake us forever: pause accepting instead. */
			vfo_warn(COMP, "accept: %m; pausing for %d ms", ACCEPT_PAUSE_MS);
			vfo_loop_update_fd(l, ctl->watch, 0);
			vfo_loop_update_timer(l, ctl->resume_timer, ACCEPT_PAUSE_MS);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			vfo_warn(COMP, "accept: %m");
		}
		break;
	}
}

/* ---- the socket -------------------------------------------------------- */

static int mkparent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Replace a socket file nobody listens on; refuse to steal a live one. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (!r)
		return -EADDRINUSE;
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int ctl_listen(struct vfo_ctl *ctl)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t mode = ctl->have_group ? 0660 : 0600;
	int r;

	if (strlen(ctl->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, ctl->path);
	r = mkparent(ctl->path);
	if (r < 0)
		return r;
	r = clear_stale(&sa);
	if (r < 0)
		return r;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		return -errno;
	if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	/* The credential check is the real gate; the mode keeps others from
	 * even connecting, and the group lets its members in. */
	if (ctl->have_group && chown(ctl->path, 0, ctl->group) < 0)
		vfo_warn(COMP, "chown %s to gid %u: %m", ctl->path, (unsigned int)ctl->group);
	if (chmod(ctl->path, mode) < 0)
		return -errno;
	if (listen(ctl->fd, SOMAXCONN) < 0)
		return -errno;
	return 0;
}

int vfo_ctl_new(struct vfo_loop *loop, const struct vfo_ctl_cfg *cfg, struct vfo_ctl **out)
{
	struct vfo_ctl *ctl;
	int r;

	*out = NULL;
	if (!loop || !cfg || !cfg->path || !*cfg->path || !cfg->table)
		return -EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->loop = loop;
	ctl->fd = -1;
	ctl->max_clients = cfg->max_clients ? cfg->max_clients : VFO_CTL_DEFAULT_MAX_CLIENTS;
	ctl->conn_cfg = cfg->conn;
	ctl->conn_cfg.table = cfg->table;
	ctl->conn_cfg.on_msg = NULL;
	ctl->path = strdup(cfg->path);
	if (!ctl->path) {
		r = -ENOMEM;
		goto err_free;
	}
	if (cfg->group && *cfg->group) {
		r = vfo_ctl_resolve_group(cfg->group, &ctl->group);
		if (!r)
			ctl->have_group = true;
		else
			vfo_warn(COMP, "group '%s' does not exist: only root may use %s",
				 cfg->group, cfg->path);
	}
	r = ctl_listen(ctl);
	if (r < 0) {
		vfo_err(COMP, "cannot listen on %s: %s", cfg->path, strerror(-r));
		goto err_sock;
	}
	r = vfo_loop_add_timer(loop, "ctl-reap", -1, VFO_TIMER_ONESHOT, reap_cb, ctl, NULL);
	if (r < 0)
		goto err_sock;
	ctl->reap_timer = r;
	r = vfo_loop_add_timer(loop, "ctl-resume", -1, VFO_TIMER_ONESHOT, resume_cb, ctl, NULL);
	if (r < 0)
		goto err_reap;
	ctl->resume_timer = r;
	r = vfo_loop_add_fd(loop, "ctl-listen", ctl->fd, VFO_EV_IN, listen_cb, ctl, NULL);
	if (r < 0)
		goto err_resume;
	ctl->watch = r;
	vfo_info(COMP, "listening on %s (%s)", ctl->path,
		 ctl->have_group ? "root and group" : "root only");
	*out = ctl;
	return 0;

err_resume:
	vfo_loop_remove_timer(loop, ctl->resume_timer);
err_reap:
	vfo_loop_remove_timer(loop, ctl->reap_timer);
err_sock:
	if (ctl->fd >= 0) {
		close(ctl->fd);
		if (r != -EADDRINUSE && r != -EEXIST)
			unlink(ctl->path);
	}
	free(ctl->path);
err_free:
	free(ctl);
	return r;
}

void vfo_ctl_free(struct vfo_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	vfo_loop_remove_fd(ctl->loop, ctl->watch);
	vfo_loop_remove_timer(ctl->loop, ctl->reap_timer);
	vfo_loop_remove_timer(ctl->loop, ctl->resume_timer);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

/* ---- for handlers ------------------------------------------------------ */

static struct ctl_client *req_client(const struct vfo_proto_req *req)
{
	if (!req || !req->origin)
		return NULL;
	return vfo_conn_opaque(req->origin);
}

int vfo_ctl_subscribe(const struct vfo_proto_req *req)
{
	struct ctl_client *cl = req_client(req);

	if (!cl)
		return -EINVAL;
	if (!cl->subscribed) {
		cl->subscribed = true;
		cl->ctl->st.subscribers++;
		vfo_dbg(COMP, "client pid %d subscribed to events", (int)cl->pid);
	}
	return 0;
}

int vfo_ctl_peer(const struct vfo_proto_req *req, pid_t *pid, uid_t *uid)
{
	struct ctl_client *cl = req_client(req);

	if (!cl)
		return -EINVAL;
	if (pid)
		*pid = cl->pid;
	if (uid)
		*uid = cl->uid;
	return 0;
}

void vfo_ctl_broadcast(struct vfo_ctl *ctl, const char *event, struct json_object *fields)
{
	bool closed = false;
	size_t len;
	char *line;

	if (!ctl || !ctl->st.subscribers)
		return;
	/* Built once: a thousand subscribers cost one serialisation. */
	line = vfo_proto_build_event(event, fields, &len);
	if (!line) {
		vfo_err(COMP, "cannot build event %s: %m", event);
		return;
	}
	for (struct ctl_client *cl = ctl->clients; cl; cl = cl->next) {
		if (!cl->subscribed || vfo_conn_is_closed(cl->conn))
			continue;
		ctl->st.events++;
		if (vfo_conn_send(cl->conn, line, len) < 0)
			closed = true;
		else
			client_update(cl);
	}
	free(line);
	/* The requester may be among them, deep in its own callback: free
	 * the dropped ones from the loop, not from here. */
	if (closed)
		vfo_loop_update_timer(ctl->loop, ctl->reap_timer, 0);
}

void vfo_ctl_get_stats(const struct vfo_ctl *ctl, struct vfo_ctl_stats *st)
{
	*st = ctl->st;
}
