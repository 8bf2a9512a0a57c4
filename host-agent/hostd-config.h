/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/vfo/hostd.conf: the schema (every key with its type, range and
 * default, documented in vfo-hostd.conf(5)) and a plain struct the rest of
 * the daemon reads, so nothing past startup touches the config module.
 *
 *	[hostd]
 *	state_dir = /var/lib/vfo
 *	socket = /run/vfo/hostd.sock
 *	group = vfo
 *
 *	[pool physnet1]
 *	backend = sriov
 *	pfs = enp3s0f0#0-15, enp3s0f1
 *	numvfs = 16
 *
 *	[pool demo]
 *	backend = emulated
 *	bridge = br0
 *	count = 4
 */
#ifndef VFO_HOSTD_CONFIG_H
#define VFO_HOSTD_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pool.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define VFO_HOSTD_CONF_PATH SYSCONFDIR "/vfo/hostd.conf"
#define VFO_HOSTD_SOCKET_PATH RUNSTATEDIR "/vfo/hostd.sock"
#define VFO_HOSTD_STATE_DIR LOCALSTATEDIR "/lib/vfo"

enum vfo_hostd_backend_type {
	VFO_HOSTD_BACKEND_SRIOV,
	VFO_HOSTD_BACKEND_EMULATED,
};

enum vfo_hostd_link_state {
	VFO_HOSTD_LINK_AUTO,
	VFO_HOSTD_LINK_ENABLE,
	VFO_HOSTD_LINK_DISABLE,
};

enum vfo_hostd_removal_policy {
	VFO_HOSTD_REMOVAL_ABORT, /* re-attach the VF, fail the migration */
	VFO_HOSTD_REMOVAL_PROCEED, /* migrate on virtio regardless */
};

struct vfo_hostd_pool_cfg {
	char name[VFO_POOL_NAME_MAX];
	enum vfo_hostd_backend_type backend;
	/* sriov */
	size_t n_pfs;
	struct vfo_pf_range *pfs;
	int numvfs; /* VFs to enable per PF at start; -1: leave as is */
	char driver[64];
	int vlan; /* 0: none */
	int qos; /* 802.1p priority for the VLAN tag */
	bool spoofchk;
	bool trust;
	enum vfo_hostd_link_state link_state;
	/* emulated */
	char bridge[IF_NAMESIZE];
	char model[32];
	int count;
};

struct vfo_hostd_cfg {
	char *path;
	char *state_dir;
	char *socket;
	char *sysfs_root;
	char *group;
	int log_level; /* syslog level */
	bool udev; /* follow udev PCI events */
	int64_t reservation_timeout_ms;
	int64_t rescan_delay_ms; /* coalesce udev bursts */
	/* control socket limits */
	unsigned int max_clients;
	size_t ctl_max_line;
	size_t ctl_max_queue;
	unsigned int ctl_rate;
	unsigned int ctl_burst;
	/* migration choreography */
	int64_t ack_timeout_ms;
	int64_t unplug_timeout_ms;
	int64_t plug_timeout_ms;
	int64_t migrate_timeout_ms;
	enum vfo_hostd_removal_policy removal_failed_policy;
	int retries; /* EBUSY and step retries */
	char *libvirt_uri; /* "" : do not follow libvirt */
	size_t n_pools;
	struct vfo_hostd_pool_cfg *pools;
};

const struct vfo_config_schema *vfo_hostd_config_schema(void);

/*
 * Load and check; every problem goes to on_error (NULL: logged) as
 * "file:line: message". Returns 0 with *out set, or -EINVAL / -ENOENT /
 * -ENOMEM with *out NULL.
 */
int vfo_hostd_config_load(const char *path, vfo_config_error_fn on_error, void *opaque,
			  struct vfo_hostd_cfg **out);
int vfo_hostd_config_load_buffer(const char *name, const char *buf, size_t len,
				 vfo_config_error_fn on_error, void *opaque,
				 struct vfo_hostd_cfg **out);
void vfo_hostd_config_free(struct vfo_hostd_cfg *cfg);

const struct vfo_hostd_pool_cfg *vfo_hostd_config_pool(const struct vfo_hostd_cfg *cfg,
						       const char *name);
const char *vfo_hostd_backend_str(enum vfo_hostd_backend_type t);

#endif
