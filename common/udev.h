/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A udev device monitor on the event loop, shared by both daemons.
 *
 * Where events come from matters. udevd re-broadcasts each kernel uevent
 * after its rules ran (renames done, properties complete): the "udevd"
 * source. Without udevd (containers, an initramfs, a minimal VM) libudev's
 * "udev" monitor receives nothing at all -- systemd's libudev even turns it
 * into a socket with no multicast group -- so a caller that only needs to
 * know *that* a device changed (vfo-hostd rescanning sysfs) may fall back
 * to the kernel's own uevents: the "kernel" source. A caller that needs
 * udev to be finished with a device (vfo-guestd waiting for a rename)
 * must not, and gets -ENOENT instead so it can use its own fallback.
 *
 * The callback gets each device that passed the subsystem filter, or NULL
 * when the socket overflowed (ENOBUFS) and events were lost: the owner
 * should resynchronise from scratch, as after a netlink monitor overrun.
 */
#ifndef VFO_UDEV_H
#define VFO_UDEV_H

#include <stdbool.h>
#include <stdint.h>

struct udev;
struct udev_device;
struct udev_monitor;
struct vfo_loop;

#define VFO_UDEVD_CONTROL "/run/udev/control"

enum vfo_udev_source {
	VFO_UDEV_NONE, /* not monitoring */
	VFO_UDEV_UDEVD, /* udevd's processed events */
	VFO_UDEV_KERNEL, /* the kernel's raw uevents (no udevd) */
};

/* dev is borrowed for the call; NULL: events were lost (resync). */
typedef void (*vfo_udev_fn)(struct udev_device *dev, void *opaque);

struct vfo_udev_opts {
	const char *name; /* the loop watch's name */
	const char *const *subsystems; /* NULL-terminated; NULL: every one */
	bool kernel_fallback; /* no udevd: follow the kernel's uevents */
	const char *udevd_control; /* NULL: VFO_UDEVD_CONTROL */
	int rcvbuf; /* socket receive buffer in bytes; 0: libudev's */
};

struct vfo_udev {
	struct udev *udev;
	struct udev_monitor *mon;
	int watch; /* loop fd id, 0 when none */
	enum vfo_udev_source source;
	vfo_udev_fn fn;
	void *opaque;
	uint64_t events; /* devices passed to fn */
	uint64_t overruns; /* ENOBUFS seen */
};

/* Whether udevd runs: its control socket exists (what libudev checks). */
bool vfo_udevd_running(const char *control);
/* The source to use; VFO_UDEV_NONE when there is none. */
enum vfo_udev_source vfo_udev_pick_source(bool udevd_running, bool kernel_fallback);
const char *vfo_udev_source_str(enum vfo_udev_source s);

/*
 * Open a monitor on the source vfo_udev_pick_source() chooses, filtered
 * to o->subsystems, and watch it on l. u is zeroed first. Returns 0,
 * -ENOENT when there is no source (u->source stays VFO_UDEV_NONE), or
 * another -errno; on error nothing is left open.
 */
int vfo_udev_open(struct vfo_udev *u, struct vfo_loop *l, const struct vfo_udev_opts *o,
		  vfo_udev_fn fn, void *opaque);
/* Safe on a zeroed or already closed u. */
void vfo_udev_close(struct vfo_udev *u, struct vfo_loop *l);

#endif
