// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The local control socket (/run/vfo/guestd.sock): status for operators
 * and vfoctl --socket, and forced failover for tests. Same protocol as the
 * host channel. The socket is 0600: only root may ask for a failover.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "guestd.h"
#include "log.h"

#define COMP "ctl"

static void client_drop(struct vfo_guestd *gd, struct vfo_gctl_client *cl)
{
	if (cl->watch > 0)
		vfo_loop_remove_fd(gd->loop, cl->watch);
	vfo_conn_free(cl->conn);
	memset(cl, 0, sizeof(*cl));
}

static void on_client(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_gctl_client *cl = opaque;
	struct vfo_guestd *gd = vfo_conn_opaque(cl->conn);
	unsigned int ev = 0;
	int ret = 0;

	(void)id;
	(void)fd;
	if (events & (VFO_EV_IN | VFO_EV_HUP | VFO_EV_ERR))
		ret = vfo_conn_on_readable(cl->conn, vfo_now_ms());
	if (!ret && (events & VFO_EV_OUT))
		ret = vfo_conn_on_writable(cl->conn);
	if (ret) {
		client_drop(gd, cl);
		return;
	}
	if (vfo_conn_want_read(cl->conn))
		ev |= VFO_EV_IN;
	if (vfo_conn_want_write(cl->conn))
		ev |= VFO_EV_OUT;
	vfo_loop_update_fd(l, cl->watch, ev);
}

static void on_accept(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	struct vfo_gctl_client *cl = NULL;
	struct vfo_conn_cfg cfg;
	size_t i;
	int cfd, ret;

	(void)id;
	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	for (i = 0; i < VFO_GUESTD_MAX_CLIENTS && !cl; i++)
		if (!gd->ctl.clients[i].conn)
			cl = &gd->ctl.clients[i];
	if (!cl) {
		vfo_warn(COMP, "too many clients");
		close(cfd);
		return;
	}
	vfo_conn_cfg_init(&cfg);
	cfg.table = vfo_guestd_table(gd, true);
	cfg.opaque = gd;
	cl->conn = vfo_conn_new(cfd, &cfg, vfo_now_ms());
	if (!cl->conn) {
		close(cfd);
		return;
	}
	ret = vfo_loop_add_fd(l, "ctl-client", cfd, VFO_EV_IN, on_client, cl, NULL);
	if (ret < 0) {
		client_drop(gd, cl);
		return;
	}
	cl->watch = ret;
}

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int vfo_gctl_init(struct vfo_guestd *gd)
{
	struct vfo_gctl *c = &gd->ctl;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret;

	c->fd = -1;
	c->watch = -1;
	if (!gd->cfg.ctl_socket[0])
		return 0;
	if (strlen(gd->cfg.ctl_socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(c->path, gd->cfg.ctl_socket, strlen(gd->cfg.ctl_socket) + 1);
	memcpy(sa.sun_path, c->path, strlen(c->path));
	ret = mkdir_parent(c->path);
	if (ret)
		goto err_log;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = -errno;
		goto err_log;
	}
	/* A stale socket from an earlier run (we were killed). */
	unlink(c->path);
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(c->path, 0600) ||
	    listen(c->fd, 16)) {
		ret = -errno;
		goto err_close;
	}
	ret = vfo_loop_add_fd(gd->loop, "ctl", c->fd, VFO_EV_IN, on_accept, gd, NULL);
	if (ret < 0)
		goto err_unlink;
	c->watch = ret;
	return 0;

err_unlink:
	unlink(c->path);
err_close:
	vfo_close(&c->fd);
err_log:
	vfo_err(COMP, "%s: %s", gd->cfg.ctl_socket, strerror(-ret));
	return ret;
}

void vfo_gctl_fini(struct vfo_guestd *gd)
{
	struct vfo_gctl *c = &gd->ctl;
	size_t i;

	for (i = 0; i < VFO_GUESTD_MAX_CLIENTS; i++)
		if (c->clients[i].conn)
			client_drop(gd, &c->clients[i]);
	if (c->watch > 0)
		vfo_loop_remove_fd(gd->loop, c->watch);
	c->watch = -1;
	if (c->fd >= 0) {
		unlink(c->path);
		vfo_close(&c->fd);
	}
}

int vfo_gctl_query(const char *path, const char *line, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	size_t len = strlen(line), got = 0;
	int fd, ret = 0;

	if (!len)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    (line[len - 1] != '\n' && send(fd, "\n", 1, MSG_NOSIGNAL) != 1)) {
		ret = -errno;
		goto out;
	}
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0) {
			ret = n ? -errno : -ECONNRESET;
			goto out;
		}
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	fputs(buf, stdout);
	/* An error reply is a failure for scripts. */
	ret = strstr(buf, "\"error\"") ? -EREMOTEIO : 0;
out:
	close(fd);
	return ret;
}
