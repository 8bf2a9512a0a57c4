/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfo-guestd's configuration, /etc/vfo/guestd.conf: a plain struct with
 * defaults, filled from the file through the common schema loader. Every
 * key is documented in docs/guest-agent.md and vfo-guestd.conf(5).
 */
#ifndef VFO_GUEST_CONFIG_H
#define VFO_GUEST_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pair.h"

#define VFO_GUESTD_CONF "/etc/vfo/guestd.conf"
#define VFO_GUESTD_CHANNEL "/dev/virtio-ports/org.vfo.guest.0"
#define VFO_GUESTD_CHANNEL_NAME "org.vfo.guest.0"
#define VFO_GUESTD_SOCK "/run/vfo/guestd.sock"

struct vfo_guest_cfg {
	/* [agent] */
	char channel[PATH_MAX]; /* "" : no host channel */
	char ctl_socket[PATH_MAX]; /* "" : no control socket */
	int64_t settle_ms; /* wait after a new NIC without udevd */
	int64_t udev_timeout_ms; /* wait at most this for udev's "add" */
	int log_level;
	bool auto_pair;
	/* [bond] */
	char name_prefix[IFNAMSIZ];
	uint32_t miimon;
	int64_t hold_down_ms;
	int64_t announced_hold_down_ms; /* for a VF the host announced */
	uint8_t num_peer_notif;
	uint32_t peer_notif_delay;
	uint8_t primary_reselect; /* VFO_NL_BOND_RESELECT_* */
	bool all_slaves_active; /* deliver frames the backup slave receives */
	bool move_addresses;
	bool notify_on_removal;
	int64_t leave_timeout_ms;
	/* [pair NAME] */
	struct vfo_pair_cfg pairs[VFO_PAIR_MAX];
	size_t n_pairs;
};

void vfo_guest_cfg_default(struct vfo_guest_cfg *cfg);
/*
 * Load a file over the defaults. A missing file is fine when !must_exist
 * (the agent works without one). Returns 0 or -errno; every problem is
 * reported as "file:line: message" through on_error (NULL: the log).
 */
typedef void (*vfo_guest_cfg_err_fn)(const char *msg, void *opaque);
int vfo_guest_cfg_load(struct vfo_guest_cfg *cfg, const char *path, bool must_exist,
		       vfo_guest_cfg_err_fn on_error, void *opaque);
int vfo_guest_cfg_load_buffer(struct vfo_guest_cfg *cfg, const char *name, const char *buf,
			      size_t len, vfo_guest_cfg_err_fn on_error, void *opaque);

#endif
