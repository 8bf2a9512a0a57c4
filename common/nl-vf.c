// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VF configuration on a PF: IFLA_VFINFO_LIST builders and parser (pure,
 * round-trip tested) and two socket calls, read the table and set one
 * field of one VF.
 *
 * The kernel answers a VF change attribute by attribute and stops at the
 * first one the driver refuses, having applied the earlier ones: so the
 * builder takes exactly one field and callers read back after each.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <net/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "log.h"
#include "nl-priv.h"
#include "util.h"

#define COMP "netlink"
#define VF_TIMEOUT_MS 2000
#define VF_REQ_SIZE 512

/* ---- builders ---- */

static struct nlmsghdr *pf_msg(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
			       const char *pf)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*ifi));

	if (len < hdr)
		return NULL;
	memset(buf, 0, hdr);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	/* By name: one request, no ifindex lookup racing a rename. */
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, pf))
		return NULL;
	return nlh;
}

static bool pf_name_ok(const char *pf)
{
	return pf && *pf && strlen(pf) < IFNAMSIZ;
}

int vfo_nl_msg_vf_get(void *buf, size_t len, uint32_t seq, const char *pf)
{
	struct nlmsghdr *nlh;

	if (!pf_name_ok(pf))
		return -EINVAL;
	nlh = pf_msg(buf, len, RTM_GETLINK, 0, seq, pf);
	/* Without RTEXT_FILTER_VF the kernel leaves the VF table out; per-VF
	 * statistics are most of its bytes and vfo never reads them. */
	if (!nlh || !mnl_attr_put_u32_check(nlh, len, IFLA_EXT_MASK,
					    RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

/* The IFLA_VF_* attribute and its payload for one field. */
static int vf_field(uint32_t field, const struct vfo_nl_vf *vf, uint16_t *type, void *p,
		    size_t *plen)
{
	switch (field) {
	case VFO_NL_VF_MAC: {
		struct ifla_vf_mac m = { .vf = vf->index };

		memcpy(m.mac, vf->mac, sizeof(vf->mac));
		*type = IFLA_VF_MAC;
		*plen = sizeof(m);
		memcpy(p, &m, sizeof(m));
		return 0;
	}
	case VFO_NL_VF_VLAN: {
		struct ifla_vf_vlan v = { .vf = vf->index, .vlan = vf->vlan, .qos = vf->qos };

		if (vf->vlan > 4095 || vf->qos > 7)
			return -EINVAL;
		*type = IFLA_VF_VLAN;
		*plen = sizeof(v);
		memcpy(p, &v, sizeof(v));
		return 0;
	}
	case VFO_NL_VF_SPOOFCHK: {
		struct ifla_vf_spoofchk s = { .vf = vf->index, .setting = vf->spoofchk };

		*type = IFLA_VF_SPOOFCHK;
		*plen = sizeof(s);
		memcpy(p, &s, sizeof(s));
		return 0;
	}
	case VFO_NL_VF_TRUST: {
		struct ifla_vf_trust t = { .vf = vf->index, .setting = vf->trust };

		*type = IFLA_VF_TRUST;
		*plen = sizeof(t);
		memcpy(p, &t, sizeof(t));
		return 0;
	}
	case VFO_NL_VF_LINK_STATE: {
		struct ifla_vf_link_state l = { .vf = vf->index, .link_state = vf->link_state };

		if (vf->link_state > VFO_NL_VF_LINK_DISABLE)
			return -EINVAL;
		*type = IFLA_VF_LINK_STATE;
		*plen = sizeof(l);
		memcpy(p, &l, sizeof(l));
		return 0;
	}
	default: /* none, several, or unknown */
		return -EINVAL;
	}
}

int vfo_nl_msg_vf_set(void *buf, size_t len, uint32_t seq, const char *pf, uint32_t field,
		      const struct vfo_nl_vf *vf)
{
	uint8_t payload[sizeof(struct ifla_vf_mac)]; /* the largest */
	struct nlattr *list, *info;
	struct nlmsghdr *nlh;
	size_t plen;
	uint16_t type;
	int r;

	if (!pf_name_ok(pf) || !vf)
		return -EINVAL;
	r = vf_field(field, vf, &type, payload, &plen);
	if (r < 0)
		return r;
	/* NEWLINK without NLM_F_CREATE on an existing link is a change (and
	 * -ENODEV when it does not exist); it is what iproute2 sends. */
	nlh = pf_msg(buf, len, RTM_NEWLINK, NLM_F_ACK, seq, pf);
	if (!nlh)
		return -EMSGSIZE;
	list = mnl_attr_nest_start_check(nlh, len, IFLA_VFINFO_LIST);
	if (!list)
		return -EMSGSIZE;
	info = mnl_attr_nest_start_check(nlh, len, IFLA_VF_INFO);
	if (!info || !mnl_attr_put_check(nlh, len, type, plen, payload))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	return (int)nlh->nlmsg_len;
}

/* ---- parser ---- */

/* Strict walk (like nl-msg.c): every byte must belong to a well-formed
 * attribute, trailing padding aside. */
static int walk(const void *start, size_t len, int (*cb)(const struct nlattr *, void *), void *data)
{
	const struct nlattr *a = start;
	int rem = len > INT32_MAX ? -1 : (int)len;
	int r;

	if (rem < 0)
		return -EBADMSG;
	while (rem >= (int)sizeof(struct nlattr)) {
		if (!mnl_attr_ok(a, rem))
			return -EBADMSG;
		r = cb(a, data);
		if (r < 0)
			return r;
		rem -= MNL_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + MNL_ALIGN(a->nla_len));
	}
	return rem > 0 ? -EBADMSG : 0;
}

static int walk_nested(const struct nlattr *nest, int (*cb)(const struct nlattr *, void *),
		       void *data)
{
	return walk(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), cb, data);
}

struct vf_parse {
	struct vfo_nl_vf vf;
	bool has_index;
};

/* Every per-VF struct starts with __u32 vf. */
static int vf_index(struct vf_parse *p, const struct nlattr *a, size_t need)
{
	uint32_t idx;

	if (mnl_attr_get_payload_len(a) < need)
		return -EBADMSG;
	memcpy(&idx, mnl_attr_get_payload(a), sizeof(idx));
	if (p->has_index && idx != p->vf.index)
		return -EBADMSG; /* attributes of two VFs in one entry */
	p->vf.index = idx;
	p->has_index = true;
	return 0;
}

static int vf_attr(const struct nlattr *a, void *data)
{
	struct vf_parse *p = data;
	const void *pl = mnl_attr_get_payload(a);
	int r;

	switch (mnl_attr_get_type(a)) {
	case IFLA_VF_MAC: {
		struct ifla_vf_mac m;

		if ((r = vf_index(p, a, sizeof(m))) < 0)
			return r;
		memcpy(&m, pl, sizeof(m));
		memcpy(p->vf.mac, m.mac, sizeof(p->vf.mac));
		p->vf.mask |= VFO_NL_VF_MAC;
		break;
	}
	case IFLA_VF_VLAN: {
		struct ifla_vf_vlan v;

		if ((r = vf_index(p, a, sizeof(v))) < 0)
			return r;
		memcpy(&v, pl, sizeof(v));
		if (v.vlan > 4095 || v.qos > 7)
			return -EBADMSG;
		p->vf.vlan = (uint16_t)v.vlan;
		p->vf.qos = (uint8_t)v.qos;
		p->vf.mask |= VFO_NL_VF_VLAN;
		break;
	}
	case IFLA_VF_SPOOFCHK: {
		struct ifla_vf_spoofchk s;

		if ((r = vf_index(p, a, sizeof(s))) < 0)
			return r;
		memcpy(&s, pl, sizeof(s));
		/* (u32)-1: the driver has no such setting */
		if (s.setting != UINT32_MAX) {
			p->vf.spoofchk = s.setting != 0;
			p->vf.mask |= VFO_NL_VF_SPOOFCHK;
		}
		break;
	}
	case IFLA_VF_TRUST: {
		struct ifla_vf_trust t;

		if ((r = vf_index(p, a, sizeof(t))) < 0)
			return r;
		memcpy(&t, pl, sizeof(t));
		if (t.setting != UINT32_MAX) {
			p->vf.trust = t.setting != 0;
			p->vf.mask |= VFO_NL_VF_TRUST;
		}
		break;
	}
	case IFLA_VF_LINK_STATE: {
		struct ifla_vf_link_state l;

		if ((r = vf_index(p, a, sizeof(l))) < 0)
			return r;
		memcpy(&l, pl, sizeof(l));
		p->vf.link_state = l.link_state;
		p->vf.mask |= VFO_NL_VF_LINK_STATE;
		break;
	}
	default: /* rates, stats, VLAN list, GUIDs: not vfo's business */
		break;
	}
	return 0;
}

struct vf_list {
	struct vfo_nl_vf *vfs;
	size_t max, n;
};

static int vf_info(const struct nlattr *a, void *data)
{
	struct vf_list *l = data;
	struct vf_parse p = { 0 };
	int r;

	if (mnl_attr_get_type(a) != IFLA_VF_INFO)
		return 0;
	r = walk_nested(a, vf_attr, &p);
	if (r < 0)
		return r;
	if (!p.has_index)
		return -EBADMSG; /* a VF entry that names no VF */
	if (l->n < l->max)
		l->vfs[l->n] = p.vf;
	l->n++;
	return 0;
}

static int link_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) != IFLA_VFINFO_LIST)
		return 0;
	return walk_nested(a, vf_info, data);
}

int vfo_nl_parse_vfs(const void *msg, size_t len, struct vfo_nl_vf *vfs, size_t max, size_t *n)
{
	const struct nlmsghdr *nlh = msg;
	struct vf_list l = { .vfs = vfs, .max = vfs ? max : 0 };
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg));
	int r;

	*n = 0;
	if (len > INT32_MAX || !mnl_nlmsg_ok(nlh, (int)len) || nlh->nlmsg_len < hdr)
		return -EBADMSG;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return -ENOMSG;
	r = walk((const char *)nlh + hdr, nlh->nlmsg_len - hdr, link_attr, &l);
	if (r < 0)
		return r;
	*n = l.n;
	return 0;
}

/* ---- sockets ---- */

struct xfer {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	void *buf;
	size_t cap;
};

static int xfer_open(struct xfer *x)
{
	int one = 1;

	memset(x, 0, sizeof(*x));
	x->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!x->sk)
		return -errno;
	if (mnl_socket_bind(x->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = -errno;

		mnl_socket_close(x->sk);
		return r;
	}
	/* The kernel's reason for a refusal, when it gives one. */
	mnl_socket_setsockopt(x->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(x->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	x->portid = mnl_socket_get_portid(x->sk);
	x->seq = (uint32_t)vfo_now_us();
	return 0;
}

static void xfer_close(struct xfer *x)
{
	if (x->sk)
		mnl_socket_close(x->sk);
	free(x->buf);
}

/* One datagram, whatever its size (a PF with many VFs answers big),
 * waiting until deadline. Returns its length. */
static ssize_t xfer_recv(struct xfer *x, int64_t deadline)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(x->sk), .events = POLLIN };
	ssize_t n;

	for (;;) {
		int64_t left = deadline - vfo_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = recv(pfd.fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if ((size_t)n > x->cap) {
			void *p = realloc(x->buf, (size_t)n);

			if (!p)
				return -ENOMEM;
			x->buf = p;
			x->cap = (size_t)n;
		}
		n = recv(pfd.fd, x->buf, x->cap, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		return n < 0 ? -errno : n;
	}
}

static int xfer_send(struct xfer *x, void *msg)
{
	struct nlmsghdr *nlh = msg;

	nlh->nlmsg_seq = ++x->seq;
	if (mnl_socket_sendto(x->sk, msg, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

/* The reply to a GETLINK: the first RTM_NEWLINK with our seq, or the
 * error the kernel answered. *msg points into x->buf. */
static int xfer_reply(struct xfer *x, const struct nlmsghdr **msg)
{
	int64_t deadline = vfo_now_ms() + VF_TIMEOUT_MS;

	for (;;) {
		ssize_t n = xfer_recv(x, deadline);
		const struct nlmsghdr *nlh = x->buf;
		int rem, err;

		if (n < 0)
			return (int)n;
		rem = (int)n;
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_seq != x->seq)
				continue;
			if (nlh->nlmsg_type == RTM_NEWLINK) {
				*msg = nlh;
				return 0;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				if (vfo_nl_msg_find_ack(nlh, nlh->nlmsg_len, x->seq, 0, &err, NULL,
							0) != 1)
					return -EBADMSG;
				return err ? err : -EBADMSG;
			}
		}
	}
}

int vfo_nl_vf_table(const char *pf, struct vfo_nl_vf **vfs, size_t *n)
{
	const struct nlmsghdr *reply = NULL;
	uint8_t req[VF_REQ_SIZE];
	struct xfer x;
	size_t cnt;
	int r;

	*vfs = NULL;
	*n = 0;
	r = vfo_nl_msg_vf_get(req, sizeof(req), 0, pf);
	if (r < 0)
		return r;
	r = xfer_open(&x);
	if (r < 0)
		return r;
	r = xfer_send(&x, req);
	if (!r)
		r = xfer_reply(&x, &reply);
	if (!r)
		r = vfo_nl_parse_vfs(reply, reply->nlmsg_len, NULL, 0, &cnt);
	if (!r && cnt) {
		*vfs = calloc(cnt, sizeof(**vfs));
		if (!*vfs)
			r = -ENOMEM;
		else
			r = vfo_nl_parse_vfs(reply, reply->nlmsg_len, *vfs, cnt, n);
	}
	xfer_close(&x);
	if (r < 0) {
		free(*vfs);
		*vfs = NULL;
		*n = 0;
	}
	return r;
}

int vfo_nl_vf_get(const char *pf, uint32_t index, struct vfo_nl_vf *out)
{
	struct vfo_nl_vf *vfs;
	size_t n, i;
	int r;

	r = vfo_nl_vf_table(pf, &vfs, &n);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n; i++) {
		if (vfs[i].index == index) {
			*out = vfs[i];
			r = 0;
			break;
		}
	}
	free(vfs);
	return r;
}

int vfo_nl_vf_set(const char *pf, uint32_t field, const struct vfo_nl_vf *vf)
{
	uint8_t req[VF_REQ_SIZE];
	int64_t deadline;
	char why[128] = "";
	struct xfer x;
	int r, err = 0;

	r = vfo_nl_msg_vf_set(req, sizeof(req), 0, pf, field, vf);
	if (r < 0)
		return r;
	r = xfer_open(&x);
	if (r < 0)
		return r;
	r = xfer_send(&x, req);
	deadline = vfo_now_ms() + VF_TIMEOUT_MS;
	while (!r) {
		ssize_t n = xfer_recv(&x, deadline);

		if (n < 0) {
			r = (int)n;
			break;
		}
		r = vfo_nl_msg_find_ack(x.buf, (size_t)n, x.seq, x.portid, &err, why, sizeof(why));
		if (r == 1) {
			r = err;
			break;
		}
	}
	xfer_close(&x);
	if (r)
		vfo_dbg(COMP, "%s vf %u: set 0x%x refused: %s%s%s", pf, vf->index, field,
			strerror(-r), why[0] ? ": " : "", why);
	return r;
}
