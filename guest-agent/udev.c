// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Waiting for udev. A new NIC is renamed by udev shortly after the kernel
 * registers it; touching it before that (enslaving it) races the rename.
 * udev's own "add" event for the net device is sent after its rules ran,
 * rename included, so when udevd runs the agent waits for that event. With
 * no udevd (initramfs, minimal containers) the caller falls back to a short
 * settle delay after rtnetlink reported the link.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libudev.h>

#include "guestd.h"
#include "log.h"

#define COMP "udev"

static bool udevd_running(void)
{
	/* What libudev's udev_queue uses too: udevd's control socket. */
	return access("/run/udev/control", F_OK) == 0;
}

static void on_udev(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	struct udev_device *dev;

	(void)l;
	(void)id;
	(void)fd;
	(void)events;
	while ((dev = udev_monitor_receive_device(gd->udev.mon))) {
		const char *action = udev_device_get_action(dev);
		const char *idx = udev_device_get_property_value(dev, "IFINDEX");
		int ifindex = idx ? atoi(idx) : 0;

		vfo_dbg(COMP, "%s %s ifindex %d", action ? action : "?",
			udev_device_get_sysname(dev), ifindex);
		if (ifindex > 0 && action && (!strcmp(action, "add") || !strcmp(action, "move"))) {
			if (vfo_guestd_link(gd, ifindex)) {
				vfo_guestd_link_ready(gd, ifindex);
			} else {
				struct vfo_gudev *u = &gd->udev;

				u->recent[u->n_recent++ % VFO_ARRAY_SIZE(u->recent)] = ifindex;
			}
		}
		udev_device_unref(dev);
	}
}

bool vfo_gudev_seen(struct vfo_guestd *gd, int ifindex)
{
	struct vfo_gudev *u = &gd->udev;
	size_t i;

	for (i = 0; i < VFO_ARRAY_SIZE(u->recent); i++) {
		if (u->recent[i] == ifindex) {
			u->recent[i] = 0;
			return true;
		}
	}
	return false;
}

int vfo_gudev_init(struct vfo_guestd *gd)
{
	struct vfo_gudev *u = &gd->udev;
	int ret;

	u->watch = -1;
	if (!udevd_running()) {
		vfo_info(COMP, "no udevd: new NICs settle for %lld ms",
			 (long long)gd->cfg.settle_ms);
		return 0;
	}
	u->udev = udev_new();
	if (!u->udev)
		goto err_fallback;
	u->mon = udev_monitor_new_from_netlink(u->udev, "udev");
	if (!u->mon)
		goto err_unref_udev;
	if (udev_monitor_filter_add_match_subsystem_devtype(u->mon, "net", NULL) < 0 ||
	    udev_monitor_enable_receiving(u->mon) < 0)
		goto err_unref_mon;
	ret = vfo_loop_add_fd(gd->loop, "udev", udev_monitor_get_fd(u->mon), VFO_EV_IN, on_udev, gd,
			      NULL);
	if (ret < 0)
		goto err_unref_mon;
	u->watch = ret;
	u->active = true;
	vfo_info(COMP, "waiting for udev's events before touching new NICs");
	return 0;

err_unref_mon:
	udev_monitor_unref(u->mon);
	u->mon = NULL;
err_unref_udev:
	udev_unref(u->udev);
	u->udev = NULL;
err_fallback:
	/* Not fatal: the settle delay still protects us. */
	vfo_warn(COMP, "udev monitor unavailable: settling for %lld ms instead",
		 (long long)gd->cfg.settle_ms);
	return 0;
}

void vfo_gudev_fini(struct vfo_guestd *gd)
{
	struct vfo_gudev *u = &gd->udev;

	if (u->watch > 0)
		vfo_loop_remove_fd(gd->loop, u->watch);
	u->watch = -1;
	if (u->mon)
		udev_monitor_unref(u->mon);
	if (u->udev)
		udev_unref(u->udev);
	u->mon = NULL;
	u->udev = NULL;
	u->active = false;
}
