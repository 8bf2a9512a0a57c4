// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The udev monitor both daemons use; see udev.h for the choice of source.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libudev.h>

#include "log.h"
#include "loop.h"
#include "udev.h"

#define COMP "udev"
/* Devices handled per wakeup: the rest wait for the next loop iteration
 * (the fd stays readable), so a storm cannot starve the other sources. */
#define VFO_UDEV_BATCH 256

bool vfo_udevd_running(const char *control)
{
	return access(control ? control : VFO_UDEVD_CONTROL, F_OK) == 0;
}

enum vfo_udev_source vfo_udev_pick_source(bool udevd_running, bool kernel_fallback)
{
	if (udevd_running)
		return VFO_UDEV_UDEVD;
	return kernel_fallback ? VFO_UDEV_KERNEL : VFO_UDEV_NONE;
}

const char *vfo_udev_source_str(enum vfo_udev_source s)
{
	switch (s) {
	case VFO_UDEV_NONE:
		return "none";
	case VFO_UDEV_UDEVD:
		return "udev";
	case VFO_UDEV_KERNEL:
		return "kernel";
	}
	return "?";
}

static void on_readable(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_udev *u = opaque;

	(void)l;
	(void)id;
	(void)fd;
	(void)events;
	for (int i = 0; i < VFO_UDEV_BATCH; i++) {
		struct udev_device *d;

		errno = 0;
		d = udev_monitor_receive_device(u->mon);
		if (!d) {
			/* The kernel dropped messages for us: say so once per
			 * overrun; the next read returns what is queued. */
			if (errno != ENOBUFS)
				return;
			u->overruns++;
			vfo_warn(COMP, "uevent socket overrun: events lost, resynchronising");
			u->fn(NULL, u->opaque);
			continue;
		}
		u->events++;
		u->fn(d, u->opaque);
		udev_device_unref(d);
	}
}

static int add_filters(struct udev_monitor *mon, const char *const *subsystems)
{
	for (size_t i = 0; subsystems && subsystems[i]; i++)
		if (udev_monitor_filter_add_match_subsystem_devtype(mon, subsystems[i], NULL) < 0)
			return -EINVAL;
	return 0;
}

int vfo_udev_open(struct vfo_udev *u, struct vfo_loop *l, const struct vfo_udev_opts *o,
		  vfo_udev_fn fn, void *opaque)
{
	enum vfo_udev_source src;
	int r;

	memset(u, 0, sizeof(*u));
	src = vfo_udev_pick_source(vfo_udevd_running(o->udevd_control), o->kernel_fallback);
	if (src == VFO_UDEV_NONE)
		return -ENOENT;
	u->fn = fn;
	u->opaque = opaque;
	u->udev = udev_new();
	if (!u->udev)
		return -ENOMEM;
	errno = 0;
	u->mon = udev_monitor_new_from_netlink(u->udev, src == VFO_UDEV_KERNEL ? "kernel" : "udev");
	if (!u->mon) {
		r = errno ? -errno : -EIO;
		goto err_udev;
	}
	r = add_filters(u->mon, o->subsystems);
	if (r < 0)
		goto err_mon;
	/* A PF enabling its VFs emits several events per VF at once. */
	if (o->rcvbuf > 0 && udev_monitor_set_receive_buffer_size(u->mon, o->rcvbuf) < 0)
		vfo_dbg(COMP, "cannot raise the uevent receive buffer to %d bytes", o->rcvbuf);
	if (udev_monitor_enable_receiving(u->mon) < 0) {
		r = -EIO;
		goto err_mon;
	}
	r = vfo_loop_add_fd(l, o->name ? o->name : "udev", udev_monitor_get_fd(u->mon), VFO_EV_IN,
			    on_readable, u, NULL);
	if (r < 0)
		goto err_mon;
	u->watch = r;
	u->source = src;
	return 0;

err_mon:
	udev_monitor_unref(u->mon);
	u->mon = NULL;
err_udev:
	udev_unref(u->udev);
	u->udev = NULL;
	return r;
}

void vfo_udev_close(struct vfo_udev *u, struct vfo_loop *l)
{
	if (u->watch > 0)
		vfo_loop_remove_fd(l, u->watch);
	u->watch = 0;
	if (u->mon)
		udev_monitor_unref(u->mon);
	u->mon = NULL;
	if (u->udev)
		udev_unref(u->udev);
	u->udev = NULL;
	u->source = VFO_UDEV_NONE;
}
