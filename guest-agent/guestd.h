/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfo-guestd: one context owns everything (libteam style). Subsystems:
 *   pair.c    which NICs pair up (pure)
 *   policy.c  per-pair failover state machine (pure)
 *   bond.c    the bond: create/adopt, move addresses, perform actions
 *   notify.c  gratuitous ARP / unsolicited NA on a bond
 *   udev.c    wait for udev to finish with a new NIC (or a settle delay)
 *   channel.c the virtio-serial channel to the host
 *   ctl.c     the local status/control socket
 *   guestd.c  glue: links, reconcile, command handlers, init/fini
 */
#ifndef VFO_GUESTD_H
#define VFO_GUESTD_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "guest-config.h"
#include "loop.h"
#include "udev.h"
#include "netlink.h"
#include "pair.h"
#include "policy.h"
#include "proto.h"

#define VFO_GUESTD_MAX_LINKS 256
#define VFO_GUESTD_MAX_CLIENTS 16
/* Host messages are small; anything longer is hostile. */
#define VFO_GUESTD_CHAN_MAX_LINE 4096

struct vfo_guestd;

/* A link the agent knows, and when it may be touched. */
struct vfo_glink {
	struct vfo_nl_link l;
	int64_t ready_at; /* monotonic ms; 0: ready */
	bool udev_pending; /* waiting for udev's "add" */
	int64_t seen_at; /* monotonic ms when rtnetlink reported it */
	char kname[IFNAMSIZ]; /* its name then (the kernel's, before udev) */
};

struct vfo_gpair {
	bool used;
	struct vfo_guestd *gd;
	char name[VFO_PAIR_NAME_MAX];
	int cfg; /* explicit pair index, -1: auto */
	enum vfo_pair_mode mode;
	uint8_t mac[6];
	int standby;
	int vf; /* 0: none */
	bool vf_carrier;
	int bond; /* ifindex; in kernel mode the failover master */
	char bond_name[IFNAMSIZ];
	bool bond_ready; /* bond exists and holds the standby */
	bool adopted; /* found in place at start or later */
	int kernel_active; /* active slave the bond last reported */
	int64_t enslave_retry_at; /* PRESENT but enslaving failed */
	struct vfo_policy pol;
	int timer; /* loop timer id for pol's deadline */
};

struct vfo_gudev {
	struct vfo_udev mon; /* common/udev.h */
	bool active; /* udevd runs: wait for its events */
	int recent[16]; /* ifindexes udev finished before rtnl */
	unsigned int n_recent;
};

enum vfo_gchan_state {
	VFO_GCHAN_OFF, /* disabled in the config */
	VFO_GCHAN_ABSENT, /* no port: retry timer */
	VFO_GCHAN_WAITING, /* port open, host not connected */
	VFO_GCHAN_CONNECTED,
};

struct vfo_gchan {
	enum vfo_gchan_state state;
	char path[PATH_MAX]; /* the port in use */
	int fd; /* port fd while WAITING */
	int ep; /* edge-triggered epoll for WAITING */
	int ep_watch;
	int retry_timer;
	int retry_ms;
	struct vfo_conn *conn;
	int conn_watch;
	uint64_t connects;
	uint64_t dropped; /* connections dropped for abuse */
	struct vfo_conn_stats last;
};

struct vfo_gctl_client {
	struct vfo_conn *conn;
	int watch;
};

struct vfo_gctl {
	int fd;
	int watch;
	char path[108];
	struct vfo_gctl_client clients[VFO_GUESTD_MAX_CLIENTS];
};

struct vfo_guestd {
	struct vfo_guest_cfg cfg;
	struct vfo_loop *loop;
	struct vfo_nl *nl;
	struct vfo_nl_mon *mon;
	int mon_watch;
	struct vfo_glink links[VFO_GUESTD_MAX_LINKS];
	size_t n_links;
	int ready_timer; /* earliest ready_at among pending links */
	int reconcile_timer; /* coalesces bursts of link events */
	struct vfo_gpair pairs[VFO_PAIR_MAX];
	struct vfo_gudev udev;
	struct vfo_gchan chan;
	struct vfo_gctl ctl;
	/* vf-arriving hints: a NIC with this MAC skips most of the settle. */
	uint8_t arriving_mac[6];
	int64_t arriving_until;
	int64_t started;
	/* systemd: READY=1 once every pair found is set up, then STATUS=
	 * whenever the summary changes. */
	bool running; /* init finished */
	bool ready_sent;
	int64_t ready_deadline; /* READY=1 at the latest then (monotonic ms) */
	char sd_status[256];
};

/* guestd.c */
int vfo_guestd_init(struct vfo_guestd *gd, const struct vfo_guest_cfg *cfg);
void vfo_guestd_fini(struct vfo_guestd *gd);
int vfo_guestd_run(struct vfo_guestd *gd);
void vfo_guestd_schedule(struct vfo_guestd *gd);
void vfo_guestd_link_ready(struct vfo_guestd *gd, int ifindex);
const struct vfo_nl_link *vfo_guestd_link(const struct vfo_guestd *gd, int ifindex);
const char *vfo_guestd_ifname(const struct vfo_guestd *gd, int ifindex);
/* The tables' ctx is set at init; these return the live table. */
const struct vfo_proto_table *vfo_guestd_table(struct vfo_guestd *gd, bool ctl);

/* bond.c */
int vfo_gbond_setup(struct vfo_guestd *gd, struct vfo_gpair *p);
/* Perform policy actions on the bond. Returns 0 or the first -errno. */
int vfo_gbond_act(struct vfo_guestd *gd, struct vfo_gpair *p, unsigned int actions);

/* notify.c: gratuitous ARP for each IPv4 address of ifindex and an
 * unsolicited NA for each IPv6 one. Returns packets sent or -errno. */
int vfo_notify_peers(struct vfo_nl *nl, int ifindex);

/* udev.c */
int vfo_gudev_init(struct vfo_guestd *gd);
void vfo_gudev_fini(struct vfo_guestd *gd);
/* Whether udev already finished with ifindex (consumes the record). */
bool vfo_gudev_seen(struct vfo_guestd *gd, int ifindex);

/* channel.c */
int vfo_gchan_init(struct vfo_guestd *gd);
void vfo_gchan_fini(struct vfo_guestd *gd);
const char *vfo_gchan_state_str(enum vfo_gchan_state s);
/* Find the port: the configured path, else by name in sysfs. */
int vfo_gchan_find_port(const char *path, const char *sysfs_root, char *out, size_t outlen);

/* ctl.c */
int vfo_gctl_init(struct vfo_guestd *gd);
void vfo_gctl_fini(struct vfo_guestd *gd);
/* Client side, for scripts: send one request line to the control socket
 * and print the reply line. 0, -EREMOTEIO for an error reply, or -errno. */
int vfo_gctl_query(const char *path, const char *line, int timeout_ms);

#endif
