// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The host channel: the virtio-serial port org.vfo.guest.0, speaking the
 * common protocol. The host is a peer we answer, not one we trust: lines
 * are bounded, requests rate limited, a flood drops the connection.
 *
 * virtio-serial semantics shape this file. While no host process has the
 * port's backend open, the port polls as POLLHUP and read() returns 0,
 * forever: a level-triggered watch would spin. So a port without a host is
 * parked in an edge-triggered epoll of its own (whose fd sits in the main
 * loop): it wakes us once when the host side connects and never otherwise.
 * A missing port (no such device, or the port was unplugged) is retried by
 * a timer with exponential backoff.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "guestd.h"
#include "log.h"

#define COMP "channel"
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define CHAN_RATE 20 /* requests per second */
#define CHAN_BURST 50
#define CHAN_FLOOD_MAX 200 /* over-budget lines before dropping the peer */
#define CHAN_MAX_QUEUE (256 * 1024)

static void chan_open(struct vfo_guestd *gd);

const char *vfo_gchan_state_str(enum vfo_gchan_state s)
{
	switch (s) {
	case VFO_GCHAN_OFF:
		return "disabled";
	case VFO_GCHAN_ABSENT:
		return "absent";
	case VFO_GCHAN_WAITING:
		return "waiting";
	case VFO_GCHAN_CONNECTED:
		return "connected";
	}
	return "invalid";
}

int vfo_gchan_find_port(const char *path, const char *sysfs_root, char *out, size_t outlen)
{
	const char *name = strrchr(path, '/');
	char dir[PATH_MAX], buf[256];
	struct dirent *de;
	DIR *d;
	int ret = -ENOENT;

	if (access(path, F_OK) == 0) {
		snprintf(out, outlen, "%s", path);
		return 0;
	}
	/* No udev to make the /dev/virtio-ports/ links: find the port by
	 * the name the host gave it. */
	name = name ? name + 1 : path;
	snprintf(dir, sizeof(dir), "%s/class/virtio-ports", sysfs_root ? sysfs_root : "/sys");
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		char p[PATH_MAX + 300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/name", dir, de->d_name);
		if (vfo_read_file(p, buf, sizeof(buf)) <= 0 || strcmp(buf, name))
			continue;
		snprintf(out, outlen, "/dev/%s", de->d_name);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

static void retry_later(struct vfo_guestd *gd, int ms)
{
	struct vfo_gchan *c = &gd->chan;

	c->state = VFO_GCHAN_ABSENT;
	vfo_loop_update_timer(gd->loop, c->retry_timer, ms);
}

static void chan_drop_conn(struct vfo_guestd *gd)
{
	struct vfo_gchan *c = &gd->chan;

	if (c->conn_watch > 0)
		vfo_loop_remove_fd(gd->loop, c->conn_watch);
	c->conn_watch = -1;
	if (c->conn) {
		vfo_conn_get_stats(c->conn, &c->last);
		vfo_conn_free(c->conn); /* closes the port fd */
	}
	c->conn = NULL;
}

static void chan_drop_wait(struct vfo_guestd *gd, bool close_fd)
{
	struct vfo_gchan *c = &gd->chan;

	if (c->ep_watch > 0)
		vfo_loop_remove_fd(gd->loop, c->ep_watch);
	c->ep_watch = -1;
	vfo_close(&c->ep);
	if (close_fd)
		vfo_close(&c->fd);
}

static void chan_update_events(struct vfo_guestd *gd)
{
	struct vfo_gchan *c = &gd->chan;
	unsigned int ev = 0;

	if (!c->conn)
		return;
	if (vfo_conn_want_read(c->conn))
		ev |= VFO_EV_IN;
	if (vfo_conn_want_write(c->conn))
		ev |= VFO_EV_OUT;
	vfo_loop_update_fd(gd->loop, c->conn_watch, ev);
}

static void on_conn(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	struct vfo_gchan *c = &gd->chan;
	int64_t now = vfo_now_ms();
	int ret = 0;

	(void)l;
	(void)id;
	(void)fd;
	if (events & (VFO_EV_IN | VFO_EV_HUP | VFO_EV_ERR))
		ret = vfo_conn_on_readable(c->conn, now);
	/* Requests the host sent before leaving are still carried out
	 * (a vf-leaving must be, ack or not): read to the end. */
	for (int i = 0; !ret && (events & VFO_EV_HUP) && i < 64 && vfo_conn_want_read(c->conn); i++)
		ret = vfo_conn_on_readable(c->conn, now);
	if (!ret && (events & VFO_EV_OUT))
		ret = vfo_conn_on_writable(c->conn);
	if (!ret && (events & VFO_EV_HUP)) {
		struct vfo_conn_stats st;

		/* A port polls HUP exactly while no host is connected: what
		 * is still queued can never be delivered (the next host is
		 * another conversation), and the port would poll HUP, never
		 * OUT, forever: a level-triggered watch would spin. */
		vfo_conn_get_stats(c->conn, &st);
		vfo_info(COMP, "host left with %zu byte(s) of replies unsent", st.queued);
		chan_drop_conn(gd);
		chan_open(gd);
		return;
	}
	if (!ret) {
		chan_update_events(gd);
		return;
	}
	enum vfo_conn_close_reason why = vfo_conn_close_reason(c->conn);

	chan_drop_conn(gd);
	if (why == VFO_CONN_EOF) {
		vfo_info(COMP, "host disconnected");
		chan_open(gd);
		return;
	}
	c->dropped++;
	vfo_warn(COMP, "host connection dropped: %s; reopening in %d ms",
		 vfo_conn_close_reason_str(why), RETRY_MIN_MS);
	retry_later(gd, RETRY_MIN_MS);
}

static void chan_connect(struct vfo_guestd *gd)
{
	struct vfo_gchan *c = &gd->chan;
	struct vfo_conn_cfg cfg;
	int ret;

	chan_drop_wait(gd, false);
	vfo_conn_cfg_init(&cfg);
	cfg.max_line = VFO_GUESTD_CHAN_MAX_LINE;
	cfg.max_queue = CHAN_MAX_QUEUE;
	cfg.rate = CHAN_RATE;
	cfg.burst = CHAN_BURST;
	cfg.flood_max = CHAN_FLOOD_MAX;
	cfg.table = vfo_guestd_table(gd, false);
	c->conn = vfo_conn_new(c->fd, &cfg, vfo_now_ms());
	if (!c->conn) {
		vfo_err(COMP, "%s: %m", c->path);
		vfo_close(&c->fd);
		retry_later(gd, RETRY_MIN_MS);
		return;
	}
	c->fd = -1; /* the connection owns it now */
	ret = vfo_loop_add_fd(gd->loop, "channel", vfo_conn_fd(c->conn), VFO_EV_IN, on_conn, gd,
			      NULL);
	if (ret < 0) {
		chan_drop_conn(gd);
		retry_later(gd, RETRY_MIN_MS);
		return;
	}
	c->conn_watch = ret;
	c->state = VFO_GCHAN_CONNECTED;
	c->connects++;
	c->retry_ms = RETRY_MIN_MS;
	vfo_info(COMP, "host connected on %s", c->path);
}

static bool host_connected(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void on_wait(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	struct vfo_gchan *c = &gd->chan;
	struct epoll_event ev[4];

	(void)l;
	(void)id;
	(void)fd;
	(void)events;
	/* Consume the edge; then look at the port's level. */
	while (epoll_wait(c->ep, ev, 4, 0) > 0)
		;
	if (fcntl(c->fd, F_GETFD) < 0 || access(c->path, F_OK)) {
		chan_drop_wait(gd, true);
		retry_later(gd, RETRY_MIN_MS);
		return;
	}
	if (host_connected(c->fd))
		chan_connect(gd);
}

static void chan_open(struct vfo_guestd *gd)
{
	struct vfo_gchan *c = &gd->chan;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	int ret;

	if (vfo_gchan_find_port(gd->cfg.channel, NULL, c->path, sizeof(c->path))) {
		vfo_dbg(COMP, "%s: no such port yet", gd->cfg.channel);
		goto retry;
	}
	c->fd = open(c->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (c->fd < 0) {
		vfo_warn(COMP, "%s: %m", c->path);
		goto retry;
	}
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0 || epoll_ctl(c->ep, EPOLL_CTL_ADD, c->fd, &ev))
		goto err_close;
	ret = vfo_loop_add_fd(gd->loop, "channel-wait", c->ep, VFO_EV_IN, on_wait, gd, NULL);
	if (ret < 0)
		goto err_close;
	c->ep_watch = ret;
	c->state = VFO_GCHAN_WAITING;
	vfo_dbg(COMP, "%s open, waiting for the host", c->path);
	if (host_connected(c->fd))
		chan_connect(gd);
	return;

err_close:
	vfo_warn(COMP, "%s: %m", c->path);
	chan_drop_wait(gd, true);
retry:
	retry_later(gd, c->retry_ms);
	c->retry_ms = c->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : c->retry_ms * 2;
}

static void on_retry(struct vfo_loop *l, int id, void *opaque)
{
	(void)l;
	(void)id;
	chan_open(opaque);
}

int vfo_gchan_init(struct vfo_guestd *gd)
{
	struct vfo_gchan *c = &gd->chan;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = c->ep = -1;
	c->ep_watch = c->conn_watch = c->retry_timer = -1;
	c->retry_ms = RETRY_MIN_MS;
	if (!gd->cfg.channel[0]) {
		c->state = VFO_GCHAN_OFF;
		return 0;
	}
	ret = vfo_loop_add_timer(gd->loop, "channel-retry", -1, VFO_TIMER_ONESHOT, on_retry, gd,
				 NULL);
	if (ret < 0)
		return ret;
	c->retry_timer = ret;
	chan_open(gd);
	return 0;
}

void vfo_gchan_fini(struct vfo_guestd *gd)
{
	struct vfo_gchan *c = &gd->chan;

	chan_drop_conn(gd);
	chan_drop_wait(gd, true);
	if (c->retry_timer > 0)
		vfo_loop_remove_timer(gd->loop, c->retry_timer);
	c->retry_timer = -1;
	c->state = VFO_GCHAN_OFF;
}
