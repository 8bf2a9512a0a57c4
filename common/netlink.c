// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rtnetlink sockets: a request socket (synchronous requests with ACK,
 * dumps) and a link monitor on a socket of its own, so that events never
 * interleave with replies and a slow request never delays an event.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <net/if.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "log.h"
#include "netlink.h"
#include "nl-priv.h"
#include "util.h"

#define COMP "netlink"
#define RX_BUF_SIZE (64 * 1024) /* a dump datagram is at most ~32 KiB */
#define REQ_BUF_SIZE 1024 /* every request vfo builds fits */
#define DEFAULT_TIMEOUT_MS 2000
#define DUMP_RETRIES 3 /* NLM_F_DUMP_INTR: the table changed */
#define MON_RCVBUF (4 * 1024 * 1024)
#define MON_BATCH 64 /* datagrams per vfo_nl_mon_process() */

struct vfo_nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	int timeout_ms;
	bool no_ethtool;
	int mon_rcvbuf;
	char *sysfs_root;
	uint8_t *buf;
};

/* A growable array of fixed-size items: dump results. */
struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *p = realloc(v->items, cap * v->size);

		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
	return (char *)v->items + v->n++ * v->size;
}

/* ---- request socket ---- */

int vfo_nl_open(struct vfo_nl **out, const struct vfo_nl_opts *opts)
{
	struct vfo_nl *nl;
	int one = 1, ret;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	nl->no_ethtool = opts && opts->no_ethtool;
	nl->mon_rcvbuf = opts && opts->mon_rcvbuf > 0 ? opts->mon_rcvbuf : MON_RCVBUF;
	nl->sysfs_root = strdup(opts && opts->sysfs_root ? opts->sysfs_root : "/sys");
	nl->buf = malloc(RX_BUF_SIZE);
	if (!nl->sysfs_root || !nl->buf) {
		ret = -ENOMEM;
		goto err_free;
	}
	nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sk) {
		ret = -errno;
		goto err_free;
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err_close;
	}
	/* Extended ACKs carry the kernel's reason for a refusal; capped ACKs
	 * spare echoing our request. Both are optional (older kernels). */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)vfo_now_us();
	*out = nl;
	return 0;

err_close:
	mnl_socket_close(nl->sk);
err_free:
	free(nl->buf);
	free(nl->sysfs_root);
	free(nl);
	return ret;
}

void vfo_nl_close(struct vfo_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl->buf);
	free(nl->sysfs_root);
	free(nl);
}

/* Throw away what an earlier, abandoned request left queued, so replies
 * to it cannot be mistaken for ours (the seq check is the second line). */
static void drain(struct vfo_nl *nl)
{
	int fd = mnl_socket_get_fd(nl->sk);

	while (recv(fd, nl->buf, RX_BUF_SIZE, MSG_DONTWAIT) > 0)
		;
}

/* One datagram, waiting at most until deadline. Returns its length. */
static ssize_t recv_bounded(struct vfo_nl *nl, int64_t deadline)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(nl->sk), .events = POLLIN };

	for (;;) {
		int64_t left = deadline - vfo_now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = recv(pfd.fd, nl->buf, RX_BUF_SIZE, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (n > RX_BUF_SIZE)
			return -EMSGSIZE;
		return n;
	}
}

static int send_msg(struct vfo_nl *nl, void *msg, size_t len)
{
	struct nlmsghdr *nlh = msg;

	if (len < sizeof(*nlh) || nlh->nlmsg_len != len)
		return -EINVAL;
	nlh->nlmsg_seq = ++nl->seq;
	nlh->nlmsg_pid = 0;
	drain(nl);
	if (mnl_socket_sendto(nl->sk, msg, len) < 0)
		return -errno;
	return 0;
}

int vfo_nl_request(struct vfo_nl *nl, void *msg, size_t len)
{
	struct nlmsghdr *nlh = msg;
	char why[128];
	int64_t deadline;
	int ret, err;

	if (len >= sizeof(*nlh))
		nlh->nlmsg_flags |= NLM_F_ACK;
	ret = send_msg(nl, msg, len);
	if (ret)
		return ret;
	deadline = vfo_now_ms() + nl->timeout_ms;
	for (;;) {
		ssize_t n = recv_bounded(nl, deadline);

		if (n < 0) {
			vfo_warn(COMP, "request type %u seq %u: %s", nlh->nlmsg_type,
				 nlh->nlmsg_seq, strerror((int)-n));
			return (int)n;
		}
		ret = vfo_nl_msg_find_ack(nl->buf, (size_t)n, nlh->nlmsg_seq, nl->portid, &err, why,
					  sizeof(why));
		if (ret < 0)
			return ret;
		if (ret == 1)
			break;
	}
	if (err)
		vfo_dbg(COMP, "request type %u refused: %s%s%s", nlh->nlmsg_type, strerror(-err),
			why[0] ? ": " : "", why);
	return err;
}

typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *data);

/* Send a GET (single) or dump (multi) and feed each reply to fn. */
static int transact(struct vfo_nl *nl, void *msg, size_t len, bool multi, msg_fn fn, void *data)
{
	uint32_t seq;
	int64_t deadline;
	bool intr = false;
	int ret;

	ret = send_msg(nl, msg, len);
	if (ret)
		return ret;
	seq = ((struct nlmsghdr *)msg)->nlmsg_seq;
	deadline = vfo_now_ms() + nl->timeout_ms;
	for (;;) {
		ssize_t n = recv_bounded(nl, deadline);
		const struct nlmsghdr *nlh = (const void *)nl->buf;
		int rem = (int)n;

		if (n < 0)
			return (int)n;
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_seq != seq ||
			    (nlh->nlmsg_pid && nlh->nlmsg_pid != nl->portid))
				continue; /* stale */
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return intr ? -EINTR : 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
					return -EBADMSG;
				return e->error > 0 ? -EBADMSG : e->error;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			/* On error keep reading nothing more: drain() at the
			 * next request discards the rest of the dump. */
			ret = fn(nlh, data);
			if (ret)
				return ret;
			if (!multi)
				return 0;
		}
		if (rem > 0)
			return -EBADMSG;
	}
}

/* ---- links ---- */

void vfo_nl_link_enrich(struct vfo_nl *nl, struct vfo_nl_link *link)
{
	int ret;

	ret = vfo_nl_sysfs_fill(nl->sysfs_root, link);
	if (ret && ret != -ENOENT)
		vfo_dbg(COMP, "%s: sysfs: %s", link->name, strerror(-ret));
	/* Kernels before 5.6 do not send IFLA_PERM_ADDRESS. Only devices
	 * with a driver have one; skip the ioctl for veth, bridges... */
	if (link->perm_addr_len || nl->no_ethtool || !link->driver[0] || link->type != ARPHRD_ETHER)
		return;
	ret = vfo_nl_ethtool_perm_addr(link->name, link->perm_addr, sizeof(link->perm_addr),
				       &link->perm_addr_len);
	if (ret)
		vfo_dbg(COMP, "%s: ethtool perm addr: %s", link->name, strerror(-ret));
	else if (link->perm_addr_len)
		link->perm_addr_from_ethtool = true;
}

static int link_collect(const struct nlmsghdr *nlh, void *data)
{
	struct vec *v = data;
	struct vfo_nl_link *l;
	int ret;

	l = vec_push(v);
	if (!l)
		return -ENOMEM;
	ret = vfo_nl_parse_link(nlh, nlh->nlmsg_len, l);
	if (ret == 0 && l->family == AF_UNSPEC)
		return 0;
	v->n--;
	if (ret == -ENOMSG || ret == 0)
		return 0;
	vfo_warn(COMP, "malformed link message: %s", strerror(-ret));
	return ret;
}

int vfo_nl_link_dump(struct vfo_nl *nl, struct vfo_nl_link **links, size_t *n)
{
	struct vec v = { .size = sizeof(struct vfo_nl_link) };
	uint8_t req[REQ_BUF_SIZE];
	int ret = -EINTR, i;
	size_t k;

	for (i = 0; i < DUMP_RETRIES && ret == -EINTR; i++) {
		v.n = 0;
		ret = vfo_nl_msg_link_dump(req, sizeof(req), 0);
		if (ret < 0)
			break;
		ret = transact(nl, req, (size_t)ret, true, link_collect, &v);
	}
	if (ret) {
		free(v.items);
		return ret;
	}
	for (k = 0; k < v.n; k++)
		vfo_nl_link_enrich(nl, (struct vfo_nl_link *)v.items + k);
	*links = v.items;
	*n = v.n;
	return 0;
}

static int link_one(const struct nlmsghdr *nlh, void *data)
{
	return vfo_nl_parse_link(nlh, nlh->nlmsg_len, data);
}

int vfo_nl_link_get(struct vfo_nl *nl, int ifindex, const char *name, struct vfo_nl_link *out)
{
	uint8_t req[REQ_BUF_SIZE];
	int ret;

	ret = vfo_nl_msg_link_get(req, sizeof(req), 0, ifindex, name);
	if (ret < 0)
		return ret;
	ret = transact(nl, req, (size_t)ret, false, link_one, out);
	if (ret)
		return ret;
	vfo_nl_link_enrich(nl, out);
	return 0;
}

/* Build with builder-specific arguments, then request. */
#define REQUEST(nl, builder, ...)                                         \
	({                                                                \
		uint8_t _req[REQ_BUF_SIZE];                               \
		int _ret = builder(_req, sizeof(_req), 0, __VA_ARGS__);   \
		_ret < 0 ? _ret : vfo_nl_request(nl, _req, (size_t)_ret); \
	})

int vfo_nl_link_del(struct vfo_nl *nl, int ifindex)
{
	return REQUEST(nl, vfo_nl_msg_link_del, ifindex);
}

int vfo_nl_set_master(struct vfo_nl *nl, int ifindex, int master)
{
	return REQUEST(nl, vfo_nl_msg_set_master, ifindex, master);
}

int vfo_nl_set_mtu(struct vfo_nl *nl, int ifindex, uint32_t mtu)
{
	return REQUEST(nl, vfo_nl_msg_set_mtu, ifindex, mtu);
}

int vfo_nl_set_up(struct vfo_nl *nl, int ifindex, bool up)
{
	return REQUEST(nl, vfo_nl_msg_set_up, ifindex, up);
}

/* ---- bonds ---- */

int vfo_nl_bond_create(struct vfo_nl *nl, const char *name, const struct vfo_nl_bond *opt)
{
	return REQUEST(nl, vfo_nl_msg_bond_create, name, opt);
}

int vfo_nl_bond_set(struct vfo_nl *nl, int bond, const struct vfo_nl_bond *opt)
{
	return REQUEST(nl, vfo_nl_msg_bond_set, bond, opt);
}

int vfo_nl_bond_enslave(struct vfo_nl *nl, int bond, int slave)
{
	struct vfo_nl_link l;
	int ret;

	ret = vfo_nl_link_get(nl, slave, NULL, &l);
	if (ret)
		return ret;
	if (l.master == bond)
		return 0;
	if (l.flags & IFF_UP) {
		ret = vfo_nl_set_up(nl, slave, false);
		if (ret)
			return ret;
	}
	return vfo_nl_set_master(nl, slave, bond);
}

int vfo_nl_bond_release(struct vfo_nl *nl, int slave)
{
	return vfo_nl_set_master(nl, slave, 0);
}

int vfo_nl_bond_set_primary(struct vfo_nl *nl, int bond, int slave)
{
	struct vfo_nl_bond o = { .mask = VFO_NL_BOND_F_PRIMARY, .primary = (uint32_t)slave };

	if (slave < 0)
		return -EINVAL;
	return vfo_nl_bond_set(nl, bond, &o);
}

int vfo_nl_bond_set_active(struct vfo_nl *nl, int bond, int slave)
{
	struct vfo_nl_bond o = { .mask = VFO_NL_BOND_F_ACTIVE_SLAVE,
				 .active_slave = (uint32_t)slave };

	if (slave < 0)
		return -EINVAL;
	return vfo_nl_bond_set(nl, bond, &o);
}

/* ---- addresses and routes ---- */

static int addr_collect(const struct nlmsghdr *nlh, void *data)
{
	struct vec *v = data;
	struct vfo_nl_addr *a;
	int ret;

	a = vec_push(v);
	if (!a)
		return -ENOMEM;
	ret = vfo_nl_parse_addr(nlh, nlh->nlmsg_len, a);
	if (ret == 0)
		return 0;
	v->n--;
	/* Families vfo does not handle (e.g. AF_PACKET-less oddities). */
	return ret == -EAFNOSUPPORT || ret == -ENOMSG ? 0 : ret;
}

static int route_collect(const struct nlmsghdr *nlh, void *data)
{
	struct vec *v = data;
	struct vfo_nl_route *r;
	int ret;

	r = vec_push(v);
	if (!r)
		return -ENOMEM;
	ret = vfo_nl_parse_route(nlh, nlh->nlmsg_len, r);
	if (ret == 0)
		return 0;
	v->n--;
	return ret == -EAFNOSUPPORT || ret == -ENOMSG ? 0 : ret;
}

typedef int (*dump_builder)(void *buf, size_t len, uint32_t seq, uint8_t family);

static int dump_family(struct vfo_nl *nl, dump_builder build, uint8_t family, msg_fn fn,
		       size_t size, void **items, size_t *n)
{
	struct vec v = { .size = size };
	uint8_t req[REQ_BUF_SIZE];
	int ret = -EINTR, i;

	for (i = 0; i < DUMP_RETRIES && ret == -EINTR; i++) {
		v.n = 0;
		ret = build(req, sizeof(req), 0, family);
		if (ret < 0)
			break;
		ret = transact(nl, req, (size_t)ret, true, fn, &v);
	}
	if (ret) {
		free(v.items);
		return ret;
	}
	*items = v.items;
	*n = v.n;
	return 0;
}

int vfo_nl_addr_dump(struct vfo_nl *nl, uint8_t family, struct vfo_nl_addr **addrs, size_t *n)
{
	return dump_family(nl, vfo_nl_msg_addr_dump, family, addr_collect, sizeof(**addrs),
			   (void **)addrs, n);
}

int vfo_nl_route_dump(struct vfo_nl *nl, uint8_t family, struct vfo_nl_route **routes, size_t *n)
{
	return dump_family(nl, vfo_nl_msg_route_dump, family, route_collect, sizeof(**routes),
			   (void **)routes, n);
}

int vfo_nl_addr_add(struct vfo_nl *nl, const struct vfo_nl_addr *a)
{
	return REQUEST(nl, vfo_nl_msg_addr, true, a);
}

int vfo_nl_addr_del(struct vfo_nl *nl, const struct vfo_nl_addr *a)
{
	return REQUEST(nl, vfo_nl_msg_addr, false, a);
}

int vfo_nl_route_add(struct vfo_nl *nl, const struct vfo_nl_route *r)
{
	return REQUEST(nl, vfo_nl_msg_route, true, r);
}

int vfo_nl_route_del(struct vfo_nl *nl, const struct vfo_nl_route *r)
{
	return REQUEST(nl, vfo_nl_msg_route, false, r);
}

int vfo_nl_fdb_add(struct vfo_nl *nl, int port, const uint8_t mac[6], bool sticky)
{
	return REQUEST(nl, vfo_nl_msg_fdb, true, port, mac, sticky);
}

int vfo_nl_fdb_del(struct vfo_nl *nl, int port, const uint8_t mac[6])
{
	return REQUEST(nl, vfo_nl_msg_fdb, false, port, mac, false);
}

/* ---- link monitor ---- */

struct vfo_nl_mon {
	struct vfo_nl *nl;
	struct mnl_socket *sk;
	vfo_nl_mon_cb cb;
	void *opaque;
	struct vfo_nl_link *known; /* sorted by nothing: tens of links */
	size_t n_known, cap_known;
	uint64_t enobufs;
	uint64_t resyncs;
	uint8_t *buf;
};

const char *vfo_nl_event_str(enum vfo_nl_event ev)
{
	switch (ev) {
	case VFO_NL_LINK_NEW:
		return "new";
	case VFO_NL_LINK_CHANGE:
		return "change";
	case VFO_NL_LINK_DEL:
		return "del";
	case VFO_NL_LINK_RESYNC:
		return "resync";
	}
	return "?";
}

static struct vfo_nl_link *known_find(struct vfo_nl_mon *mon, int ifindex)
{
	size_t i;

	for (i = 0; i < mon->n_known; i++)
		if (mon->known[i].ifindex == ifindex)
			return &mon->known[i];
	return NULL;
}

static int known_add(struct vfo_nl_mon *mon, const struct vfo_nl_link *l)
{
	if (mon->n_known == mon->cap_known) {
		size_t cap = mon->cap_known ? mon->cap_known * 2 : 16;
		void *p = realloc(mon->known, cap * sizeof(*mon->known));

		if (!p)
			return -ENOMEM;
		mon->known = p;
		mon->cap_known = cap;
	}
	mon->known[mon->n_known++] = *l;
	return 0;
}

static void known_del(struct vfo_nl_mon *mon, struct vfo_nl_link *l)
{
	*l = mon->known[--mon->n_known];
}

static int learn(struct vfo_nl_mon *mon)
{
	struct vfo_nl_link *links;
	size_t n;
	int ret;

	ret = vfo_nl_link_dump(mon->nl, &links, &n);
	if (ret)
		return ret;
	free(mon->known);
	mon->known = links;
	mon->n_known = mon->cap_known = n;
	return 0;
}

int vfo_nl_mon_open(struct vfo_nl_mon **out, struct vfo_nl *nl, vfo_nl_mon_cb cb, void *opaque)
{
	struct vfo_nl_mon *mon;
	int size, ret;

	if (!nl || !cb)
		return -EINVAL;
	size = nl->mon_rcvbuf;
	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return -ENOMEM;
	mon->nl = nl;
	mon->cb = cb;
	mon->opaque = opaque;
	mon->buf = malloc(RX_BUF_SIZE);
	if (!mon->buf) {
		ret = -ENOMEM;
		goto err_free;
	}
	mon->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!mon->sk) {
		ret = -errno;
		goto err_free;
	}
	/* A bigger queue makes ENOBUFS rarer; FORCE works as root only. */
	if (setsockopt(mnl_socket_get_fd(mon->sk), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(mnl_socket_get_fd(mon->sk), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (mnl_socket_bind(mon->sk, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err_close;
	}
	/* Subscribe first, then dump: a change racing the dump shows up as
	 * an event afterwards instead of being lost. */
	ret = learn(mon);
	if (ret)
		goto err_close;
	*out = mon;
	return 0;

err_close:
	mnl_socket_close(mon->sk);
err_free:
	free(mon->buf);
	free(mon);
	return ret;
}

void vfo_nl_mon_close(struct vfo_nl_mon *mon)
{
	if (!mon)
		return;
	mnl_socket_close(mon->sk);
	free(mon->known);
	free(mon->buf);
	free(mon);
}

int vfo_nl_mon_fd(const struct vfo_nl_mon *mon)
{
	return mnl_socket_get_fd(mon->sk);
}

uint64_t vfo_nl_mon_enobufs(const struct vfo_nl_mon *mon)
{
	return mon->enobufs;
}

uint64_t vfo_nl_mon_resyncs(const struct vfo_nl_mon *mon)
{
	return mon->resyncs;
}

size_t vfo_nl_mon_known(const struct vfo_nl_mon *mon)
{
	return mon->n_known;
}

int vfo_nl_mon_resync(struct vfo_nl_mon *mon)
{
	struct vfo_nl_link *now, *old;
	size_t n, n_old, i;
	int ret;

	ret = vfo_nl_link_dump(mon->nl, &now, &n);
	if (ret) {
		vfo_err(COMP, "link resync failed: %s", strerror(-ret));
		return ret;
	}
	mon->resyncs++;
	old = mon->known;
	n_old = mon->n_known;
	/* Install the new table before any callback, so a callback that
	 * asks the monitor sees the state it is being told about. */
	mon->known = now;
	mon->n_known = mon->cap_known = n;
	for (i = 0; i < n_old; i++) {
		struct vfo_nl_link gone = old[i];

		if (!known_find(mon, gone.ifindex))
			mon->cb(VFO_NL_LINK_DEL, &gone, mon->opaque);
	}
	free(old);
	for (i = 0; i < mon->n_known; i++) {
		struct vfo_nl_link l = mon->known[i];

		mon->cb(VFO_NL_LINK_RESYNC, &l, mon->opaque);
	}
	return 0;
}

/* Parsed from an event: complete it, reusing what sysfs and ethtool said
 * when the link was first seen (a driver cannot change under a netdev:
 * unbinding removes the netdev). */
static void event_enrich(struct vfo_nl_mon *mon, struct vfo_nl_link *l,
			 const struct vfo_nl_link *prev)
{
	if (prev && !strcmp(prev->name, l->name)) {
		memcpy(l->driver, prev->driver, sizeof(l->driver));
		memcpy(l->pci_addr, prev->pci_addr, sizeof(l->pci_addr));
		if (!l->perm_addr_len && prev->perm_addr_len) {
			memcpy(l->perm_addr, prev->perm_addr, sizeof(l->perm_addr));
			l->perm_addr_len = prev->perm_addr_len;
			l->perm_addr_from_ethtool = prev->perm_addr_from_ethtool;
		}
		return;
	}
	vfo_nl_link_enrich(mon->nl, l);
}

static int mon_link_msg(struct vfo_nl_mon *mon, const struct nlmsghdr *nlh)
{
	struct vfo_nl_link l, *prev;
	int ret;

	ret = vfo_nl_parse_link(nlh, nlh->nlmsg_len, &l);
	if (ret)
		return ret;
	/* Bridge port notifications ride the same group with AF_BRIDGE; an
	 * RTM_DELLINK there means "left the bridge", not "link gone". */
	if (l.family != AF_UNSPEC)
		return 0;
	prev = known_find(mon, l.ifindex);
	if (nlh->nlmsg_type == RTM_DELLINK) {
		if (prev) {
			event_enrich(mon, &l, prev);
			known_del(mon, prev);
		}
		mon->cb(VFO_NL_LINK_DEL, &l, mon->opaque);
		return 0;
	}
	event_enrich(mon, &l, prev);
	if (prev) {
		*prev = l;
		mon->cb(VFO_NL_LINK_CHANGE, &l, mon->opaque);
		return 0;
	}
	ret = known_add(mon, &l);
	if (ret)
		return ret;
	mon->cb(VFO_NL_LINK_NEW, &l, mon->opaque);
	return 0;
}

int vfo_nl_mon_input(struct vfo_nl_mon *mon, const void *buf, ssize_t len)
{
	const struct nlmsghdr *nlh = buf;
	bool resync = false;
	int rem, ret;

	if (len < 0) {
		if (len == -EAGAIN || len == -EINTR)
			return 0;
		if (len != -ENOBUFS)
			return (int)len;
		mon->enobufs++;
		vfo_warn(COMP,
			 "link monitor overrun (ENOBUFS #%llu): "
			 "events lost, resyncing",
			 (unsigned long long)mon->enobufs);
		return vfo_nl_mon_resync(mon);
	}
	rem = len > INT32_MAX ? INT32_MAX : (int)len;
	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		switch (nlh->nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			ret = mon_link_msg(mon, nlh);
			if (ret == -ENOMEM)
				return ret;
			if (ret) {
				vfo_warn(COMP, "bad link event: %s", strerror(-ret));
				resync = true;
			}
			break;
		case NLMSG_OVERRUN:
			resync = true;
			break;
		default:
			break;
		}
	}
	if (rem > 0) {
		vfo_warn(COMP, "truncated link event datagram (%d bytes left)", rem);
		resync = true;
	}
	/* Whatever we could not read may have mattered: start over. */
	return resync ? vfo_nl_mon_resync(mon) : 0;
}

int vfo_nl_mon_process(struct vfo_nl_mon *mon)
{
	int fd = mnl_socket_get_fd(mon->sk);
	int i, ret;

	for (i = 0; i < MON_BATCH; i++) {
		struct sockaddr_nl sa;
		socklen_t salen = sizeof(sa);
		ssize_t n;

		n = recvfrom(fd, mon->buf, RX_BUF_SIZE, MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&sa, &salen);
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			ret = vfo_nl_mon_input(mon, NULL, -errno);
			if (ret)
				return ret;
			continue;
		}
		/* Only the kernel speaks on a multicast group we trust. */
		if (salen < sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
			continue;
		if (n > RX_BUF_SIZE) {
			vfo_warn(COMP, "link event of %zd bytes truncated", n);
			ret = vfo_nl_mon_resync(mon);
		} else {
			ret = vfo_nl_mon_input(mon, mon->buf, n);
		}
		if (ret)
			return ret;
	}
	return 0;
}
