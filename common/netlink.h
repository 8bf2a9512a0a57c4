/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The netlink module: the only place in vfo that talks rtnetlink (libmnl).
 * Three layers:
 *
 *  - pure message builders and parsers (nl-msg.c): no sockets, so every
 *    message vfo sends can be built, parsed back and compared in a unit test;
 *  - sysfs/ethtool enrichment of a parsed link (nl-sysfs.c, declared in
 *    nl-priv.h): driver, PCI address, permanent MAC when the kernel did not
 *    send IFLA_PERM_ADDRESS;
 *  - sockets (netlink.c): one request socket for synchronous requests and
 *    dumps, and a separate non-blocking monitor socket whose fd the owner
 *    polls in its event loop.
 *
 * Callers see only the types below and kernel UAPI constants (IFF_*,
 * IF_OPER_*, AF_*, RT_*): never a libmnl or libnl type.
 */
#ifndef VFO_NETLINK_H
#define VFO_NETLINK_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VFO_NL_HWADDR_MAX 32 /* MAX_ADDR_LEN */
#define VFO_NL_KIND_MAX 32
#define VFO_NL_DRIVER_MAX 64
#define VFO_NL_PCI_MAX 32

/* Bond options; a mask of VFO_NL_BOND_F_* says which fields are meaningful,
 * both for requests (which attributes to send) and for parsed state (which
 * attributes the kernel sent). */
enum {
	VFO_NL_BOND_F_MODE = 1u << 0,
	VFO_NL_BOND_F_MIIMON = 1u << 1,
	VFO_NL_BOND_F_UPDELAY = 1u << 2,
	VFO_NL_BOND_F_DOWNDELAY = 1u << 3,
	VFO_NL_BOND_F_PRIMARY = 1u << 4,
	VFO_NL_BOND_F_PRIMARY_RESELECT = 1u << 5,
	VFO_NL_BOND_F_NUM_PEER_NOTIF = 1u << 6,
	VFO_NL_BOND_F_PEER_NOTIF_DELAY = 1u << 7,
	VFO_NL_BOND_F_ACTIVE_SLAVE = 1u << 8,
	VFO_NL_BOND_F_FAIL_OVER_MAC = 1u << 9,
	VFO_NL_BOND_F_ALL_SLAVES_ACTIVE = 1u << 10,
};

/* Kernel values (include/uapi/linux/if_bonding.h), spelled out here so
 * callers need no bonding header. */
#define VFO_NL_BOND_MODE_ACTIVE_BACKUP 1
#define VFO_NL_BOND_RESELECT_ALWAYS 0
#define VFO_NL_BOND_RESELECT_BETTER 1
#define VFO_NL_BOND_RESELECT_FAILURE 2
#define VFO_NL_BOND_SLAVE_ACTIVE 0
#define VFO_NL_BOND_SLAVE_BACKUP 1

struct vfo_nl_bond {
	uint32_t mask; /* VFO_NL_BOND_F_* */
	uint8_t mode;
	uint32_t miimon; /* ms */
	uint32_t updelay; /* ms */
	uint32_t downdelay; /* ms */
	uint32_t primary; /* ifindex; 0 clears the primary in a request */
	uint8_t primary_reselect;
	uint8_t num_peer_notif;
	uint32_t peer_notif_delay; /* ms */
	uint32_t active_slave; /* ifindex; 0 in a request means "none" */
	uint8_t fail_over_mac;
	uint8_t all_slaves_active; /* 1: deliver what backup slaves receive */
};

enum {
	VFO_NL_SLAVE_F_STATE = 1u << 0,
	VFO_NL_SLAVE_F_MII_STATUS = 1u << 1,
	VFO_NL_SLAVE_F_LINK_FAILURES = 1u << 2,
	VFO_NL_SLAVE_F_PERM_HWADDR = 1u << 3,
	VFO_NL_SLAVE_F_QUEUE_ID = 1u << 4,
};

/* IFLA_INFO_SLAVE_DATA of a bond slave. */
struct vfo_nl_bond_slave {
	uint32_t mask; /* VFO_NL_SLAVE_F_* */
	uint8_t state; /* VFO_NL_BOND_SLAVE_ACTIVE / _BACKUP */
	uint8_t mii_status; /* BOND_LINK_UP = 0, FAIL 1, DOWN 2, BACK 3 */
	uint32_t link_failures;
	uint8_t perm_hwaddr[VFO_NL_HWADDR_MAX];
	uint8_t perm_hwaddr_len;
	uint16_t queue_id;
};

/* One network interface as rtnetlink (plus sysfs) describes it. */
struct vfo_nl_link {
	uint8_t family; /* AF_UNSPEC for real link messages */
	int ifindex;
	char name[IFNAMSIZ];
	unsigned int flags; /* IFF_* */
	uint16_t type; /* ARPHRD_* */
	uint8_t addr[VFO_NL_HWADDR_MAX];
	uint8_t addr_len;
	uint8_t perm_addr[VFO_NL_HWADDR_MAX];
	uint8_t perm_addr_len; /* 0: unknown or all zero */
	bool perm_addr_from_ethtool;
	int master; /* ifindex, 0 when none */
	int link; /* IFLA_LINK (veth peer etc.), 0 when absent */
	uint8_t operstate; /* IF_OPER_* */
	int carrier; /* 0/1, -1 if the kernel did not say */
	uint32_t mtu;
	char kind[VFO_NL_KIND_MAX]; /* IFLA_INFO_KIND, "" if none */
	char slave_kind[VFO_NL_KIND_MAX]; /* IFLA_INFO_SLAVE_KIND */
	bool has_bond; /* kind == "bond" with INFO_DATA */
	struct vfo_nl_bond bond;
	bool has_bond_slave; /* slave_kind == "bond" with data */
	struct vfo_nl_bond_slave bond_slave;
	/* From sysfs; "" when the link has no device (veth, bridge). */
	char driver[VFO_NL_DRIVER_MAX];
	char pci_addr[VFO_NL_PCI_MAX];
};

/* An IPv4/IPv6 address (RTM_NEWADDR). */
struct vfo_nl_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t scope; /* RT_SCOPE_* */
	uint32_t flags; /* IFA_F_*, IFA_FLAGS when present */
	int ifindex;
	uint8_t local[16]; /* IFA_LOCAL (v4); equals address for v6 */
	uint8_t address[16]; /* IFA_ADDRESS (peer for point-to-point) */
	bool has_local;
	bool has_address;
	bool has_cacheinfo; /* lifetimes valid (not permanent) */
	uint32_t preferred_lft; /* seconds, 0xffffffff = forever */
	uint32_t valid_lft;
	char label[IFNAMSIZ]; /* IFA_LABEL (v4), "" if none */
};

/* A unicast route (RTM_NEWROUTE), enough to move it to another device. */
struct vfo_nl_route {
	uint8_t family;
	uint8_t dst_len;
	uint8_t tos;
	uint8_t protocol; /* RTPROT_* */
	uint8_t scope; /* RT_SCOPE_* */
	uint8_t type; /* RTN_* */
	uint32_t table; /* RT_TABLE_*; RTA_TABLE when present */
	uint32_t flags; /* RTM_F_* / RTNH_F_* */
	uint8_t dst[16];
	uint8_t gateway[16];
	uint8_t prefsrc[16];
	bool has_dst;
	bool has_gateway;
	bool has_prefsrc;
	bool has_priority;
	uint32_t priority; /* metric */
	int oif; /* 0 when absent (multipath, blackhole) */
};

/* ---- Pure builders (nl-msg.c). ----
 * Each writes one request into buf (len bytes) with the given sequence
 * number and returns its length, or -EMSGSIZE when buf is too small, or
 * -EINVAL for arguments the kernel would reject anyway. Requests that
 * change state carry NLM_F_ACK. */
int vfo_nl_msg_link_dump(void *buf, size_t len, uint32_t seq);
/* ifindex > 0 selects by index, else name. */
int vfo_nl_msg_link_get(void *buf, size_t len, uint32_t seq, int ifindex, const char *name);
int vfo_nl_msg_link_del(void *buf, size_t len, uint32_t seq, int ifindex);
/* master 0 releases the link from its master (bond, bridge). */
int vfo_nl_msg_set_master(void *buf, size_t len, uint32_t seq, int ifindex, int master);
int vfo_nl_msg_set_mtu(void *buf, size_t len, uint32_t seq, int ifindex, uint32_t mtu);
int vfo_nl_msg_set_up(void *buf, size_t len, uint32_t seq, int ifindex, bool up);
/* A new bond named name with the options in opt->mask. */
int vfo_nl_msg_bond_create(void *buf, size_t len, uint32_t seq, const char *name,
			   const struct vfo_nl_bond *opt);
/* Change options (opt->mask) of an existing bond: primary, active slave... */
int vfo_nl_msg_bond_set(void *buf, size_t len, uint32_t seq, int ifindex,
			const struct vfo_nl_bond *opt);
/* family AF_UNSPEC, AF_INET or AF_INET6. */
int vfo_nl_msg_addr_dump(void *buf, size_t len, uint32_t seq, uint8_t family);
/* add: RTM_NEWADDR (NLM_F_CREATE|NLM_F_REPLACE), else RTM_DELADDR. */
int vfo_nl_msg_addr(void *buf, size_t len, uint32_t seq, bool add, const struct vfo_nl_addr *a);
int vfo_nl_msg_route_dump(void *buf, size_t len, uint32_t seq, uint8_t family);
/* add: RTM_NEWROUTE (NLM_F_CREATE|NLM_F_EXCL), else RTM_DELROUTE. */
int vfo_nl_msg_route(void *buf, size_t len, uint32_t seq, bool add, const struct vfo_nl_route *r);

/* A bridge FDB entry for mac on bridge port port (AF_BRIDGE, NTF_MASTER).
 * add: RTM_NEWNEIGH (NLM_F_CREATE|NLM_F_REPLACE) of a static entry, sticky
 * when asked (learning cannot move it to another port); else RTM_DELNEIGH,
 * which the bridge honours only while the entry points to that port. */
int vfo_nl_msg_fdb(void *buf, size_t len, uint32_t seq, bool add, int port, const uint8_t mac[6],
		   bool sticky);

/* ---- Pure parsers (nl-msg.c). ----
 * Each takes one netlink message of len bytes (len may exceed the
 * message's own length: the rest is ignored). They return 0, -EBADMSG for
 * a truncated or malformed message or attribute, -ENOMSG for a message of
 * another type, -ENODATA when a required attribute is missing. */
int vfo_nl_parse_link(const void *msg, size_t len, struct vfo_nl_link *out);
int vfo_nl_parse_addr(const void *msg, size_t len, struct vfo_nl_addr *out);
int vfo_nl_parse_route(const void *msg, size_t len, struct vfo_nl_route *out);

/* "aa:bb:cc:dd:ee:ff" for addr (len bytes) into out; "" for len 0. */
void vfo_nl_hwaddr_str(const uint8_t *addr, size_t len, char *out, size_t outlen);
/* Names for IF_OPER_* as `ip` prints them ("UP", "DOWN", "UNKNOWN"...). */
const char *vfo_nl_operstate_str(uint8_t operstate);

/* ---- Sockets (netlink.c). ---- */
struct vfo_nl;

struct vfo_nl_opts {
	const char *sysfs_root; /* NULL: "/sys" */
	int timeout_ms; /* per request; <= 0: 2000 */
	bool no_ethtool; /* skip the ETHTOOL_GPERMADDR fallback */
	/* Monitor socket buffer; <= 0: 4 MiB. Tests make it tiny to
	 * provoke ENOBUFS. */
	int mon_rcvbuf;
};

int vfo_nl_open(struct vfo_nl **out, const struct vfo_nl_opts *opts);
void vfo_nl_close(struct vfo_nl *nl);

/* Send a message built by a vfo_nl_msg_* builder (its seq is replaced)
 * and wait, bounded, for the kernel's ACK. Returns 0 or the -errno the
 * kernel answered, -ETIMEDOUT when no answer came in time. */
int vfo_nl_request(struct vfo_nl *nl, void *msg, size_t len);

/* Complete a parsed link with sysfs driver/PCI and the ethtool permanent
 * MAC fallback. Failures there leave the fields empty. */
void vfo_nl_link_enrich(struct vfo_nl *nl, struct vfo_nl_link *link);

/* All links (enriched), malloc'ed; free with free(). */
int vfo_nl_link_dump(struct vfo_nl *nl, struct vfo_nl_link **links, size_t *n);
/* One link by ifindex (> 0) or name. -ENODEV when it does not exist. */
int vfo_nl_link_get(struct vfo_nl *nl, int ifindex, const char *name, struct vfo_nl_link *out);
int vfo_nl_link_del(struct vfo_nl *nl, int ifindex);
int vfo_nl_set_master(struct vfo_nl *nl, int ifindex, int master);
int vfo_nl_set_mtu(struct vfo_nl *nl, int ifindex, uint32_t mtu);
int vfo_nl_set_up(struct vfo_nl *nl, int ifindex, bool up);

int vfo_nl_bond_create(struct vfo_nl *nl, const char *name, const struct vfo_nl_bond *opt);
int vfo_nl_bond_set(struct vfo_nl *nl, int bond, const struct vfo_nl_bond *opt);
/* Bonding refuses a slave that is up: bring it down first, then set the
 * master (the bond brings it up again). */
int vfo_nl_bond_enslave(struct vfo_nl *nl, int bond, int slave);
int vfo_nl_bond_release(struct vfo_nl *nl, int slave);
/* slave 0 clears the primary. */
int vfo_nl_bond_set_primary(struct vfo_nl *nl, int bond, int slave);
int vfo_nl_bond_set_active(struct vfo_nl *nl, int bond, int slave);

int vfo_nl_addr_dump(struct vfo_nl *nl, uint8_t family, struct vfo_nl_addr **addrs, size_t *n);
int vfo_nl_addr_add(struct vfo_nl *nl, const struct vfo_nl_addr *a);
int vfo_nl_addr_del(struct vfo_nl *nl, const struct vfo_nl_addr *a);
/* Routes of the main table only are the ones vfo moves, but the dump
 * returns every table; filter on ->table. */
int vfo_nl_route_dump(struct vfo_nl *nl, uint8_t family, struct vfo_nl_route **routes, size_t *n);
int vfo_nl_route_add(struct vfo_nl *nl, const struct vfo_nl_route *r);
int vfo_nl_route_del(struct vfo_nl *nl, const struct vfo_nl_route *r);
/* Bridge FDB entries: see vfo_nl_msg_fdb(). */
int vfo_nl_fdb_add(struct vfo_nl *nl, int port, const uint8_t mac[6], bool sticky);
int vfo_nl_fdb_del(struct vfo_nl *nl, int port, const uint8_t mac[6]);

/* ---- VF configuration on a PF (nl-vf.c). ----
 * The PF's VF table comes with RTM_GETLINK when the request asks for
 * RTEXT_FILTER_VF (IFLA_VFINFO_LIST); a change is an RTM_NEWLINK on the PF
 * carrying IFLA_VFINFO_LIST { IFLA_VF_INFO { one IFLA_VF_* } }. One
 * attribute per request, always: the kernel applies a combined request
 * attribute by attribute and stops at the first the driver refuses (igb
 * refuses link state), leaving the VF configured in part. */
enum {
	VFO_NL_VF_MAC = 1u << 0,
	VFO_NL_VF_VLAN = 1u << 1, /* vlan and qos together (802.1Q) */
	VFO_NL_VF_SPOOFCHK = 1u << 2,
	VFO_NL_VF_TRUST = 1u << 3,
	VFO_NL_VF_LINK_STATE = 1u << 4,
};

/* IFLA_VF_LINK_STATE_* */
#define VFO_NL_VF_LINK_AUTO 0
#define VFO_NL_VF_LINK_ENABLE 1
#define VFO_NL_VF_LINK_DISABLE 2

/* One VF as its PF reports it, or the one field (mask) a request sets.
 * Spoofchk and trust are absent from mask when the driver does not report
 * them (the kernel sends (u32)-1 then). */
struct vfo_nl_vf {
	uint32_t index;
	uint32_t mask; /* VFO_NL_VF_* */
	uint8_t mac[6];
	uint16_t vlan; /* 0: none */
	uint8_t qos; /* 802.1p with the VLAN */
	bool spoofchk;
	bool trust;
	uint32_t link_state; /* VFO_NL_VF_LINK_* */
};

/* RTM_GETLINK of PF pf (by name) with its VF table. */
int vfo_nl_msg_vf_get(void *buf, size_t len, uint32_t seq, const char *pf);
/* RTM_NEWLINK on pf setting the single field (one VFO_NL_VF_* bit) of VF
 * vf->index from vf. -EINVAL for no or several fields, or out-of-range
 * values (vlan > 4095, qos > 7, link_state > 2). */
int vfo_nl_msg_vf_set(void *buf, size_t len, uint32_t seq, const char *pf, uint32_t field,
		      const struct vfo_nl_vf *vf);
/* The VF table of an RTM_NEWLINK (a GETLINK answer, or a request built by
 * vfo_nl_msg_vf_set): up to max entries into vfs, *n = how many the
 * message holds (may exceed max). A link without IFLA_VFINFO_LIST has 0.
 * -EBADMSG for malformed or short VF attributes, -ENOMSG for another
 * message type. */
int vfo_nl_parse_vfs(const void *msg, size_t len, struct vfo_nl_vf *vfs, size_t max, size_t *n);

/* Socket side. Each call opens its own short-lived route socket: VF
 * configuration happens a handful of times per assignment, and a caller
 * needs no handle. Bounded by 2 s. */
/* The whole table (malloc'ed, free()). -ENODEV when pf does not exist. */
int vfo_nl_vf_table(const char *pf, struct vfo_nl_vf **vfs, size_t *n);
/* VF index of pf. -ENODEV no such PF, -ENOENT no such VF. */
int vfo_nl_vf_get(const char *pf, uint32_t index, struct vfo_nl_vf *out);
/* Set one field (see vfo_nl_msg_vf_set); returns the kernel's answer:
 * 0, -EOPNOTSUPP (driver lacks it), -EBUSY, -EINVAL... */
int vfo_nl_vf_set(const char *pf, uint32_t field, const struct vfo_nl_vf *vf);

/* ---- Link monitor. ---- */
enum vfo_nl_event {
	VFO_NL_LINK_NEW, /* an ifindex not seen before */
	VFO_NL_LINK_CHANGE, /* an update of a known link */
	VFO_NL_LINK_DEL, /* removed (also: vanished during a resync) */
	VFO_NL_LINK_RESYNC, /* current state after a resync */
};

const char *vfo_nl_event_str(enum vfo_nl_event ev);

/* Callbacks may issue requests on the vfo_nl, but must not call
 * vfo_nl_mon_process(), _input(), _resync() or _close() on their monitor. */
typedef void (*vfo_nl_mon_cb)(enum vfo_nl_event ev, const struct vfo_nl_link *link, void *opaque);

struct vfo_nl_mon;

/* Subscribe to RTMGRP_LINK on a new non-blocking socket, then learn the
 * current links (silently) so later messages are told apart as NEW or
 * CHANGE. nl is used for dumps and enrichment and must outlive mon. */
int vfo_nl_mon_open(struct vfo_nl_mon **out, struct vfo_nl *nl, vfo_nl_mon_cb cb, void *opaque);
void vfo_nl_mon_close(struct vfo_nl_mon *mon);
/* Poll this for POLLIN/EPOLLIN; then call vfo_nl_mon_process(). */
int vfo_nl_mon_fd(const struct vfo_nl_mon *mon);
/* Read what is queued (at most 64 datagrams, so a storm of events cannot
 * starve the owner's loop: poll level-triggered) and deliver callbacks.
 * Returns 0, or -errno for a socket failure other than EAGAIN/ENOBUFS or a
 * failed resync. */
int vfo_nl_mon_process(struct vfo_nl_mon *mon);
/* One recv() result: a datagram of len bytes, or len = -errno. -ENOBUFS
 * (the kernel dropped events) is logged, counted, and answered with a
 * resync. vfo_nl_mon_process() feeds recv() results here; tests feed
 * their own. */
int vfo_nl_mon_input(struct vfo_nl_mon *mon, const void *buf, ssize_t len);
/* Re-dump: every present link is reported as RESYNC, every known link that
 * is gone as DEL. Also useful right after open for the initial state. */
int vfo_nl_mon_resync(struct vfo_nl_mon *mon);
uint64_t vfo_nl_mon_enobufs(const struct vfo_nl_mon *mon);
uint64_t vfo_nl_mon_resyncs(const struct vfo_nl_mon *mon);
/* Number of links the monitor currently knows. */
size_t vfo_nl_mon_known(const struct vfo_nl_mon *mon);

#endif
