/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pairing (pure, no I/O): which virtio-net standby goes with which VF.
 *
 * Input is the list of links as the netlink module describes them plus the
 * explicit pairs of the configuration; output is one match per standby.
 * Rules:
 *  - a standby is a NIC whose driver is virtio_net;
 *  - a VF is any other PCI NIC (PCI address, bound driver, not virtio_net);
 *  - they pair when their MAC is the same (the permanent MAC when the
 *    kernel or ethtool told us, else the current one);
 *  - explicit pairs (by MAC, PCI address or name) win, and the NICs they
 *    claim are not auto-paired;
 *  - NICs without a bound driver are ignored: a departing NIC is briefly
 *    listed with none, and must never be enslaved;
 *  - a link that is the master of another link (a bond, the kernel's
 *    net_failover master, which borrows its virtio parent in sysfs) is
 *    never a candidate;
 *  - a standby whose master is not a bond belongs to the kernel's
 *    net_failover (3-netdev model): reported, never touched.
 */
#ifndef VFO_GUEST_PAIR_H
#define VFO_GUEST_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink.h"

#define VFO_PAIR_NAME_MAX 65
#define VFO_PAIR_SEL_MAX 64
#define VFO_PAIR_MAX 16

enum vfo_sel_kind {
	VFO_SEL_NONE,
	VFO_SEL_MAC,
	VFO_SEL_PCI,
	VFO_SEL_NAME,
};

/* A NIC selector from the config: "52:54:00:12:34:56", "0000:01:00.0"
 * (or "01:00.0"), or an interface name. */
struct vfo_sel {
	enum vfo_sel_kind kind;
	uint8_t mac[6];
	char str[VFO_PAIR_SEL_MAX]; /* PCI address (full form) or name */
};

/* Classify and parse a selector; "" gives VFO_SEL_NONE. -EINVAL if it is
 * neither a MAC, a PCI address nor a valid interface name. */
int vfo_sel_parse(const char *s, struct vfo_sel *out);
bool vfo_sel_match(const struct vfo_sel *sel, const struct vfo_nl_link *l);

struct vfo_pair_cfg {
	char name[VFO_PAIR_NAME_MAX];
	struct vfo_sel standby;
	struct vfo_sel vf; /* NONE: any VF with the standby's MAC */
	char bond[IFNAMSIZ]; /* "" : allocated from the prefix */
};

enum vfo_pair_mode {
	VFO_PAIR_BOND, /* vfo keeps a bond */
	VFO_PAIR_KERNEL, /* the kernel's net_failover owns it */
};

struct vfo_pair_match {
	enum vfo_pair_mode mode;
	int cfg; /* index into the explicit pairs, -1: auto */
	uint8_t mac[6]; /* the pair's MAC (the standby's) */
	int standby; /* ifindex */
	int vf; /* ifindex, 0 when no VF is present */
	int master; /* standby's master ifindex, 0 if none */
	bool master_is_bond;
	int vf_candidates; /* VFs seen with that MAC (> 1: warned) */
};

/* The MAC a link pairs by: permanent when known, else current. */
const uint8_t *vfo_pair_link_mac(const struct vfo_nl_link *l);
bool vfo_pair_is_standby(const struct vfo_nl_link *l);
bool vfo_pair_is_vf(const struct vfo_nl_link *l);

/*
 * Compute the pairs. links[i].ifindex must be unique. Returns the number of
 * matches written (at most max), or -EINVAL for bad arguments. A standby
 * that shares its MAC with another standby is ambiguous and skipped (and
 * counted in *ambiguous when not NULL). With several VFs for one standby
 * the one already enslaved next to the standby wins, else the lowest
 * ifindex.
 */
int vfo_pair_match(const struct vfo_nl_link *links, size_t n, const struct vfo_pair_cfg *cfgs,
		   size_t n_cfgs, bool auto_pair, struct vfo_pair_match *out, size_t max,
		   int *ambiguous);

/* The first "<prefix><N>" (N = 0, 1, ...) not in used[] (n names). Returns
 * 0, or -ENAMETOOLONG / -ENOSPC. */
int vfo_pair_bond_name(const char *prefix, const char *const *used, size_t n, char *out,
		       size_t outlen);

/* One pair as the service status line (systemd's STATUS=) shows it. */
struct vfo_pair_summary {
	const char *name; /* the pair's name (its bond's by default) */
	bool ready; /* bond set up, or kernel-managed */
	bool kernel; /* the kernel's net_failover owns it */
	const char *active_role; /* "vf", "standby" or "none" */
};

/*
 * The status text for n pairs, e.g. "2 pairs: vfo0 on the VF, vfo1 on the
 * standby" or "no pair yet", cut to fit outlen with "...". Returns the
 * number of pairs not ready (READY=1 waits for 0).
 */
size_t vfo_pair_summary_text(const struct vfo_pair_summary *s, size_t n, char *out, size_t outlen);

#endif
