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

static void on_udev(struct udev_device *dev, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	const char *action, *idx;
	int ifindex;

	/* Lost events (overrun): the settle timeout covers the NICs whose
	 * "add" we missed. */
	if (!dev)
		return;
	action = udev_device_get_action(dev);
	idx = udev_device_get_property_value(dev, "IFINDEX");
	ifindex = idx ? atoi(idx) : 0;
	vfo_dbg(COMP, "%s %s ifindex %d", action ? action : "?", udev_device_get_sysname(dev),
		ifindex);
	if (ifindex > 0 && action && (!strcmp(action, "add") || !strcmp(action, "move"))) {
		if (vfo_guestd_link(gd, ifindex)) {
			vfo_guestd_link_ready(gd, ifindex);
		} else {
			struct vfo_gudev *u = &gd->udev;

			u->recent[u->n_recent++ % VFO_ARRAY_SIZE(u->recent)] = ifindex;
		}
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
	static const char *const subsystems[] = { "net", NULL };
	/* udevd's own events only: the kernel's "add" comes before the
	 * rename this is all about. */
	const struct vfo_udev_opts o = { .name = "udev", .subsystems = subsystems };
	struct vfo_gudev *u = &gd->udev;
	int ret;

	ret = vfo_udev_open(&u->mon, gd->loop, &o, on_udev, gd);
	if (ret == -ENOENT) {
		vfo_info(COMP, "no udevd: new NICs settle for %lld ms",
			 (long long)gd->cfg.settle_ms);
		return 0;
	}
	if (ret < 0) {
		/* Not fatal: the settle delay still protects us. */
		vfo_warn(COMP, "udev monitor unavailable (%s): settling for %lld ms instead",
			 strerror(-ret), (long long)gd->cfg.settle_ms);
		return 0;
	}
	u->active = true;
	vfo_info(COMP, "waiting for udev's events before touching new NICs");
	return 0;
}

void vfo_gudev_fini(struct vfo_guestd *gd)
{
	vfo_udev_close(&gd->udev.mon, gd->loop);
	gd->udev.active = false;
}
