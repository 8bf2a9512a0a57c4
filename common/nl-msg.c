// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * rtnetlink message builders and parsers. No sockets here: every message
 * can be built and parsed back in a unit test without a kernel.
 *
 * Parsers are strict where libmnl is lenient: mnl_attr_parse() stops
 * silently at a truncated attribute, which would turn a corrupt message
 * into a plausible one with fields missing. We reject it instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <net/if.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "nl-priv.h"

/* ---- helpers ---- */

static struct nlmsghdr *msg_start(void *buf, size_t len, uint16_t type, uint16_t flags,
				  uint32_t seq, size_t hdrlen)
{
	struct nlmsghdr *nlh;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen))
		return NULL;
	memset(buf, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

static struct ifinfomsg *link_start(void *buf, size_t len, uint16_t type, uint16_t flags,
				    uint32_t seq, struct nlmsghdr **nlh)
{
	*nlh = msg_start(buf, len, type, flags, seq, sizeof(struct ifinfomsg));
	if (!*nlh)
		return NULL;
	return mnl_nlmsg_get_payload(*nlh);
}

/* Walk attributes in [start, start+len): every byte must belong to a
 * well-formed attribute (trailing alignment padding aside). */
static int attr_parse(const void *start, size_t len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *attr = start;
	int rem = (int)len;

	while (rem >= (int)sizeof(struct nlattr)) {
		if (!mnl_attr_ok(attr, rem))
			return -EBADMSG;
		if (cb(attr, data) != MNL_CB_OK)
			return -EBADMSG;
		rem -= MNL_ALIGN(attr->nla_len);
		attr = (const struct nlattr *)((const char *)attr + MNL_ALIGN(attr->nla_len));
	}
	return rem > 0 ? -EBADMSG : 0;
}

static int attr_parse_nested(const struct nlattr *nest, mnl_attr_cb_t cb, void *data)
{
	return attr_parse(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), cb, data);
}

/* Locate the message and its fixed header; returns the attribute area. */
static int msg_open(const void *msg, size_t len, size_t hdrlen, const struct nlmsghdr **nlh,
		    const void **attrs, size_t *attrlen)
{
	const struct nlmsghdr *h = msg;

	if (len > INT32_MAX || !mnl_nlmsg_ok(h, (int)len))
		return -EBADMSG;
	if (h->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen))
		return -EBADMSG;
	*nlh = h;
	*attrs = (const char *)h + MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen);
	*attrlen = h->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(hdrlen);
	return 0;
}

/* Copy a NUL-terminated string attribute that must fit in out. */
static int get_str(const struct nlattr *a, char *out, size_t outlen)
{
	const char *s = mnl_attr_get_payload(a);
	size_t n = mnl_attr_get_payload_len(a);
	size_t l = strnlen(s, n);

	if (l == n || l >= outlen) /* no terminator, or too long */
		return -1;
	memcpy(out, s, l + 1);
	return 0;
}

static int get_bin(const struct nlattr *a, uint8_t *out, size_t max, uint8_t *outlen)
{
	size_t n = mnl_attr_get_payload_len(a);

	if (n > max)
		return -1;
	memcpy(out, mnl_attr_get_payload(a), n);
	*outlen = (uint8_t)n;
	return 0;
}

static bool validate(const struct nlattr *a, enum mnl_attr_data_type t)
{
	return mnl_attr_validate(a, t) == 0;
}

/* ---- builders: links ---- */

int vfo_nl_msg_link_dump(void *buf, size_t len, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	ifi = link_start(buf, len, RTM_GETLINK, NLM_F_DUMP, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	ifi->ifi_family = AF_UNSPEC;
	/* Statistics are most of a dump's bytes and vfo never reads them. */
	if (!mnl_attr_put_u32_check(nlh, len, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

int vfo_nl_msg_link_get(void *buf, size_t len, uint32_t seq, int ifindex, const char *name)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0 && (!name || !*name || strlen(name) >= IFNAMSIZ))
		return -EINVAL;
	ifi = link_start(buf, len, RTM_GETLINK, 0, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	ifi->ifi_family = AF_UNSPEC;
	if (ifindex > 0)
		ifi->ifi_index = ifindex;
	else if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, name))
		return -EMSGSIZE;
	if (!mnl_attr_put_u32_check(nlh, len, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

int vfo_nl_msg_link_del(void *buf, size_t len, uint32_t seq, int ifindex)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return -EINVAL;
	ifi = link_start(buf, len, RTM_DELLINK, NLM_F_ACK, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	ifi->ifi_index = ifindex;
	return (int)nlh->nlmsg_len;
}

/* An RTM_NEWLINK on an existing ifindex with one u32 attribute: the kernel
 * treats NEWLINK without NLM_F_CREATE on an existing link as SETLINK, and
 * NEWLINK is what iproute2 sends, so it is the best-trodden path. */
static int link_set_u32(void *buf, size_t len, uint32_t seq, int ifindex, uint16_t attr,
			uint32_t val)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return -EINVAL;
	ifi = link_start(buf, len, RTM_NEWLINK, NLM_F_ACK, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	ifi->ifi_index = ifindex;
	if (!mnl_attr_put_u32_check(nlh, len, attr, val))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

int vfo_nl_msg_set_master(void *buf, size_t len, uint32_t seq, int ifindex, int master)
{
	if (master < 0)
		return -EINVAL;
	return link_set_u32(buf, len, seq, ifindex, IFLA_MASTER, (uint32_t)master);
}

int vfo_nl_msg_set_mtu(void *buf, size_t len, uint32_t seq, int ifindex, uint32_t mtu)
{
	if (mtu == 0)
		return -EINVAL;
	return link_set_u32(buf, len, seq, ifindex, IFLA_MTU, mtu);
}

int vfo_nl_msg_set_up(void *buf, size_t len, uint32_t seq, int ifindex, bool up)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return -EINVAL;
	ifi = link_start(buf, len, RTM_NEWLINK, NLM_F_ACK, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	return (int)nlh->nlmsg_len;
}

static bool put_bond_data(struct nlmsghdr *nlh, size_t len, const struct vfo_nl_bond *o)
{
	struct nlattr *data;
	bool ok = true;

	data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA);
	if (!data)
		return false;
	if (o->mask & VFO_NL_BOND_F_MODE)
		ok &= mnl_attr_put_u8_check(nlh, len, IFLA_BOND_MODE, o->mode);
	if (o->mask & VFO_NL_BOND_F_MIIMON)
		ok &= mnl_attr_put_u32_check(nlh, len, IFLA_BOND_MIIMON, o->miimon);
	if (o->mask & VFO_NL_BOND_F_UPDELAY)
		ok &= mnl_attr_put_u32_check(nlh, len, IFLA_BOND_UPDELAY, o->updelay);
	if (o->mask & VFO_NL_BOND_F_DOWNDELAY)
		ok &= mnl_attr_put_u32_check(nlh, len, IFLA_BOND_DOWNDELAY, o->downdelay);
	if (o->mask & VFO_NL_BOND_F_FAIL_OVER_MAC)
		ok &= mnl_attr_put_u8_check(nlh, len, IFLA_BOND_FAIL_OVER_MAC, o->fail_over_mac);
	if (o->mask & VFO_NL_BOND_F_PRIMARY)
		ok &= mnl_attr_put_u32_check(nlh, len, IFLA_BOND_PRIMARY, o->primary);
	if (o->mask & VFO_NL_BOND_F_PRIMARY_RESELECT)
		ok &= mnl_attr_put_u8_check(nlh, len, IFLA_BOND_PRIMARY_RESELECT,
					    o->primary_reselect);
	if (o->mask & VFO_NL_BOND_F_NUM_PEER_NOTIF)
		ok &= mnl_attr_put_u8_check(nlh, len, IFLA_BOND_NUM_PEER_NOTIF, o->num_peer_notif);
	if (o->mask & VFO_NL_BOND_F_PEER_NOTIF_DELAY)
		ok &= mnl_attr_put_u32_check(nlh, len, IFLA_BOND_PEER_NOTIF_DELAY,
					     o->peer_notif_delay);
	if (o->mask & VFO_NL_BOND_F_ACTIVE_SLAVE)
		ok &= mnl_attr_put_u32_check(nlh, len, IFLA_BOND_ACTIVE_SLAVE, o->active_slave);
	if (o->mask & VFO_NL_BOND_F_ALL_SLAVES_ACTIVE)
		ok &= mnl_attr_put_u8_check(nlh, len, IFLA_BOND_ALL_SLAVES_ACTIVE,
					    o->all_slaves_active);
	if (!ok)
		return false;
	mnl_attr_nest_end(nlh, data);
	return true;
}

static bool put_bond_linkinfo(struct nlmsghdr *nlh, size_t len, const struct vfo_nl_bond *o)
{
	struct nlattr *info;

	info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO);
	if (!info)
		return false;
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "bond"))
		return false;
	if (!put_bond_data(nlh, len, o))
		return false;
	mnl_attr_nest_end(nlh, info);
	return true;
}

int vfo_nl_msg_bond_create(void *buf, size_t len, uint32_t seq, const char *name,
			   const struct vfo_nl_bond *opt)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!name || !*name || strlen(name) >= IFNAMSIZ || !opt)
		return -EINVAL;
	/* The kernel cannot make a slave active before the bond has one. */
	if (opt->mask & VFO_NL_BOND_F_ACTIVE_SLAVE)
		return -EINVAL;
	ifi = link_start(buf, len, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, name))
		return -EMSGSIZE;
	if (!put_bond_linkinfo(nlh, len, opt))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

int vfo_nl_msg_bond_set(void *buf, size_t len, uint32_t seq, int ifindex,
			const struct vfo_nl_bond *opt)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0 || !opt || !opt->mask)
		return -EINVAL;
	ifi = link_start(buf, len, RTM_NEWLINK, NLM_F_ACK, seq, &nlh);
	if (!ifi)
		return -EMSGSIZE;
	ifi->ifi_index = ifindex;
	if (!put_bond_linkinfo(nlh, len, opt))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

/* ---- builders: addresses and routes ---- */

static size_t family_len(uint8_t family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

static int dump_simple(void *buf, size_t len, uint32_t seq, uint16_t type, uint8_t family,
		       size_t hdrlen)
{
	struct nlmsghdr *nlh;
	uint8_t *fam;

	if (family != AF_UNSPEC && !family_len(family))
		return -EINVAL;
	nlh = msg_start(buf, len, type, NLM_F_DUMP, seq, hdrlen);
	if (!nlh)
		return -EMSGSIZE;
	/* ifa_family and rtm_family are both the first byte. */
	fam = mnl_nlmsg_get_payload(nlh);
	*fam = family;
	return (int)nlh->nlmsg_len;
}

int vfo_nl_msg_addr_dump(void *buf, size_t len, uint32_t seq, uint8_t family)
{
	return dump_simple(buf, len, seq, RTM_GETADDR, family, sizeof(struct ifaddrmsg));
}

int vfo_nl_msg_route_dump(void *buf, size_t len, uint32_t seq, uint8_t family)
{
	return dump_simple(buf, len, seq, RTM_GETROUTE, family, sizeof(struct rtmsg));
}

int vfo_nl_msg_addr(void *buf, size_t len, uint32_t seq, bool add, const struct vfo_nl_addr *a)
{
	size_t alen = a ? family_len(a->family) : 0;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	bool ok = true;

	if (!alen || a->ifindex <= 0 || a->prefixlen > alen * 8 ||
	    (!a->has_local && !a->has_address))
		return -EINVAL;
	nlh = msg_start(buf, len, add ? RTM_NEWADDR : RTM_DELADDR,
			NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0), seq, sizeof(*ifa));
	if (!nlh)
		return -EMSGSIZE;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_scope = a->scope;
	ifa->ifa_flags = (uint8_t)a->flags;
	ifa->ifa_index = (uint32_t)a->ifindex;
	if (a->has_local)
		ok &= mnl_attr_put_check(nlh, len, IFA_LOCAL, alen, a->local);
	if (a->has_address)
		ok &= mnl_attr_put_check(nlh, len, IFA_ADDRESS, alen, a->address);
	if (add && a->flags > 0xff)
		ok &= mnl_attr_put_u32_check(nlh, len, IFA_FLAGS, a->flags);
	if (add && a->label[0])
		ok &= mnl_attr_put_strz_check(nlh, len, IFA_LABEL, a->label);
	if (add && a->has_cacheinfo) {
		struct ifa_cacheinfo ci = {
			.ifa_prefered = a->preferred_lft,
			.ifa_valid = a->valid_lft,
		};

		ok &= mnl_attr_put_check(nlh, len, IFA_CACHEINFO, sizeof(ci), &ci);
	}
	return ok ? (int)nlh->nlmsg_len : -EMSGSIZE;
}

int vfo_nl_msg_route(void *buf, size_t len, uint32_t seq, bool add, const struct vfo_nl_route *r)
{
	size_t alen = r ? family_len(r->family) : 0;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	bool ok = true;

	if (!alen || r->dst_len > alen * 8 || (r->dst_len && !r->has_dst))
		return -EINVAL;
	nlh = msg_start(buf, len, add ? RTM_NEWROUTE : RTM_DELROUTE,
			NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0), seq, sizeof(*rtm));
	if (!nlh)
		return -EMSGSIZE;
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_tos = r->tos;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = r->type;
	rtm->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	/* Only RTNH_F_ONLINK is meaningful in a request. */
	rtm->rtm_flags = r->flags & RTNH_F_ONLINK;
	ok &= mnl_attr_put_u32_check(nlh, len, RTA_TABLE, r->table);
	if (r->has_dst)
		ok &= mnl_attr_put_check(nlh, len, RTA_DST, alen, r->dst);
	if (r->has_gateway)
		ok &= mnl_attr_put_check(nlh, len, RTA_GATEWAY, alen, r->gateway);
	if (r->has_prefsrc)
		ok &= mnl_attr_put_check(nlh, len, RTA_PREFSRC, alen, r->prefsrc);
	if (r->has_priority)
		ok &= mnl_attr_put_u32_check(nlh, len, RTA_PRIORITY, r->priority);
	if (r->oif > 0)
		ok &= mnl_attr_put_u32_check(nlh, len, RTA_OIF, (uint32_t)r->oif);
	return ok ? (int)nlh->nlmsg_len : -EMSGSIZE;
}

int vfo_nl_msg_fdb(void *buf, size_t len, uint32_t seq, bool add, int port, const uint8_t mac[6],
		   bool sticky)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	if (port <= 0 || !mac || (!add && sticky))
		return -EINVAL;
	nlh = msg_start(buf, len, add ? RTM_NEWNEIGH : RTM_DELNEIGH,
			NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0), seq, sizeof(*ndm));
	if (!nlh)
		return -EMSGSIZE;
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_family = AF_BRIDGE;
	ndm->ndm_ifindex = port;
	/* NTF_MASTER: the entry of the bridge the port is on, not of the
	 * port's own (hardware) table. NUD_NOARP: static, never aged. */
	ndm->ndm_flags = NTF_MASTER | (sticky ? NTF_STICKY : 0);
	ndm->ndm_state = add ? NUD_NOARP : 0;
	if (!mnl_attr_put_check(nlh, len, NDA_LLADDR, 6, mac))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

/* ---- parsers: links ---- */

static int bond_data_cb(const struct nlattr *a, void *data)
{
	struct vfo_nl_bond *b = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_BOND_MODE:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		b->mode = mnl_attr_get_u8(a);
		b->mask |= VFO_NL_BOND_F_MODE;
		break;
	case IFLA_BOND_ACTIVE_SLAVE:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		b->active_slave = mnl_attr_get_u32(a);
		b->mask |= VFO_NL_BOND_F_ACTIVE_SLAVE;
		break;
	case IFLA_BOND_MIIMON:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		b->miimon = mnl_attr_get_u32(a);
		b->mask |= VFO_NL_BOND_F_MIIMON;
		break;
	case IFLA_BOND_UPDELAY:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		b->updelay = mnl_attr_get_u32(a);
		b->mask |= VFO_NL_BOND_F_UPDELAY;
		break;
	case IFLA_BOND_DOWNDELAY:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		b->downdelay = mnl_attr_get_u32(a);
		b->mask |= VFO_NL_BOND_F_DOWNDELAY;
		break;
	case IFLA_BOND_PRIMARY:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		b->primary = mnl_attr_get_u32(a);
		b->mask |= VFO_NL_BOND_F_PRIMARY;
		break;
	case IFLA_BOND_PRIMARY_RESELECT:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		b->primary_reselect = mnl_attr_get_u8(a);
		b->mask |= VFO_NL_BOND_F_PRIMARY_RESELECT;
		break;
	case IFLA_BOND_FAIL_OVER_MAC:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		b->fail_over_mac = mnl_attr_get_u8(a);
		b->mask |= VFO_NL_BOND_F_FAIL_OVER_MAC;
		break;
	case IFLA_BOND_NUM_PEER_NOTIF:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		b->num_peer_notif = mnl_attr_get_u8(a);
		b->mask |= VFO_NL_BOND_F_NUM_PEER_NOTIF;
		break;
	case IFLA_BOND_PEER_NOTIF_DELAY:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		b->peer_notif_delay = mnl_attr_get_u32(a);
		b->mask |= VFO_NL_BOND_F_PEER_NOTIF_DELAY;
		break;
	case IFLA_BOND_ALL_SLAVES_ACTIVE:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		b->all_slaves_active = mnl_attr_get_u8(a);
		b->mask |= VFO_NL_BOND_F_ALL_SLAVES_ACTIVE;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int bond_slave_cb(const struct nlattr *a, void *data)
{
	struct vfo_nl_bond_slave *s = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_BOND_SLAVE_STATE:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		s->state = mnl_attr_get_u8(a);
		s->mask |= VFO_NL_SLAVE_F_STATE;
		break;
	case IFLA_BOND_SLAVE_MII_STATUS:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		s->mii_status = mnl_attr_get_u8(a);
		s->mask |= VFO_NL_SLAVE_F_MII_STATUS;
		break;
	case IFLA_BOND_SLAVE_LINK_FAILURE_COUNT:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		s->link_failures = mnl_attr_get_u32(a);
		s->mask |= VFO_NL_SLAVE_F_LINK_FAILURES;
		break;
	case IFLA_BOND_SLAVE_PERM_HWADDR:
		if (get_bin(a, s->perm_hwaddr, sizeof(s->perm_hwaddr), &s->perm_hwaddr_len))
			return MNL_CB_ERROR;
		s->mask |= VFO_NL_SLAVE_F_PERM_HWADDR;
		break;
	case IFLA_BOND_SLAVE_QUEUE_ID:
		if (!validate(a, MNL_TYPE_U16))
			return MNL_CB_ERROR;
		s->queue_id = mnl_attr_get_u16(a);
		s->mask |= VFO_NL_SLAVE_F_QUEUE_ID;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

struct linkinfo_ctx {
	struct vfo_nl_link *link;
	const struct nlattr *data;
	const struct nlattr *slave_data;
};

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	struct linkinfo_ctx *c = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_INFO_KIND:
		if (get_str(a, c->link->kind, sizeof(c->link->kind)))
			return MNL_CB_ERROR;
		break;
	case IFLA_INFO_SLAVE_KIND:
		if (get_str(a, c->link->slave_kind, sizeof(c->link->slave_kind)))
			return MNL_CB_ERROR;
		break;
	case IFLA_INFO_DATA:
		if (!validate(a, MNL_TYPE_NESTED))
			return MNL_CB_ERROR;
		c->data = a;
		break;
	case IFLA_INFO_SLAVE_DATA:
		if (!validate(a, MNL_TYPE_NESTED))
			return MNL_CB_ERROR;
		c->slave_data = a;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* Kind and data may come in any order: interpret data after the walk. */
static int parse_linkinfo(const struct nlattr *info, struct vfo_nl_link *l)
{
	struct linkinfo_ctx c = { .link = l };
	int ret;

	ret = attr_parse_nested(info, linkinfo_cb, &c);
	if (ret)
		return ret;
	if (c.data && !strcmp(l->kind, "bond")) {
		ret = attr_parse_nested(c.data, bond_data_cb, &l->bond);
		if (ret)
			return ret;
		l->has_bond = true;
	}
	if (c.slave_data && !strcmp(l->slave_kind, "bond")) {
		ret = attr_parse_nested(c.slave_data, bond_slave_cb, &l->bond_slave);
		if (ret)
			return ret;
		l->has_bond_slave = true;
	}
	return 0;
}

struct link_ctx {
	struct vfo_nl_link *link;
	const struct nlattr *linkinfo;
	bool has_name;
};

static int link_cb(const struct nlattr *a, void *data)
{
	struct link_ctx *c = data;
	struct vfo_nl_link *l = c->link;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (get_str(a, l->name, sizeof(l->name)))
			return MNL_CB_ERROR;
		c->has_name = true;
		break;
	case IFLA_ADDRESS:
		if (get_bin(a, l->addr, sizeof(l->addr), &l->addr_len))
			return MNL_CB_ERROR;
		break;
	case IFLA_PERM_ADDRESS:
		if (get_bin(a, l->perm_addr, sizeof(l->perm_addr), &l->perm_addr_len))
			return MNL_CB_ERROR;
		break;
	case IFLA_MTU:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		l->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_MASTER:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		l->master = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINK:
		if (!validate(a, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		l->link = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_OPERSTATE:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		l->operstate = mnl_attr_get_u8(a);
		break;
	case IFLA_CARRIER:
		if (!validate(a, MNL_TYPE_U8))
			return MNL_CB_ERROR;
		l->carrier = mnl_attr_get_u8(a) ? 1 : 0;
		break;
	case IFLA_LINKINFO:
		if (!validate(a, MNL_TYPE_NESTED))
			return MNL_CB_ERROR;
		c->linkinfo = a;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

int vfo_nl_parse_link(const void *msg, size_t len, struct vfo_nl_link *out)
{
	const struct nlmsghdr *nlh;
	const struct ifinfomsg *ifi;
	struct link_ctx c = { .link = out };
	const void *attrs;
	size_t alen;
	int ret;

	ret = msg_open(msg, len, sizeof(*ifi), &nlh, &attrs, &alen);
	if (ret)
		return ret;
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return -ENOMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	out->family = ifi->ifi_family;
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	out->type = ifi->ifi_type;
	out->carrier = -1;
	ret = attr_parse(attrs, alen, link_cb, &c);
	if (!ret && c.linkinfo)
		ret = parse_linkinfo(c.linkinfo, out);
	if (ret)
		return ret;
	if (!c.has_name || out->ifindex <= 0)
		return -ENODATA;
	return 0;
}

/* ---- parsers: addresses and routes ---- */

struct addr_ctx {
	struct vfo_nl_addr *a;
	size_t alen;
};

static int addr_cb(const struct nlattr *at, void *data)
{
	struct addr_ctx *c = data;
	struct vfo_nl_addr *a = c->a;

	switch (mnl_attr_get_type(at)) {
	case IFA_LOCAL:
		if (mnl_attr_get_payload_len(at) != c->alen)
			return MNL_CB_ERROR;
		memcpy(a->local, mnl_attr_get_payload(at), c->alen);
		a->has_local = true;
		break;
	case IFA_ADDRESS:
		if (mnl_attr_get_payload_len(at) != c->alen)
			return MNL_CB_ERROR;
		memcpy(a->address, mnl_attr_get_payload(at), c->alen);
		a->has_address = true;
		break;
	case IFA_FLAGS:
		if (!validate(at, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		a->flags = mnl_attr_get_u32(at);
		break;
	case IFA_LABEL:
		if (get_str(at, a->label, sizeof(a->label)))
			return MNL_CB_ERROR;
		break;
	case IFA_CACHEINFO: {
		const struct ifa_cacheinfo *ci;

		if (mnl_attr_get_payload_len(at) < sizeof(*ci))
			return MNL_CB_ERROR;
		ci = mnl_attr_get_payload(at);
		a->preferred_lft = ci->ifa_prefered;
		a->valid_lft = ci->ifa_valid;
		/* The kernel always sends cacheinfo; only finite lifetimes
		 * need carrying over when an address moves. */
		a->has_cacheinfo = ci->ifa_valid != 0xffffffffu || ci->ifa_prefered != 0xffffffffu;
		break;
	}
	default:
		break;
	}
	return MNL_CB_OK;
}

int vfo_nl_parse_addr(const void *msg, size_t len, struct vfo_nl_addr *out)
{
	const struct nlmsghdr *nlh;
	const struct ifaddrmsg *ifa;
	struct addr_ctx c = { .a = out };
	const void *attrs;
	size_t alen;
	int ret;

	ret = msg_open(msg, len, sizeof(*ifa), &nlh, &attrs, &alen);
	if (ret)
		return ret;
	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return -ENOMSG;
	ifa = mnl_nlmsg_get_payload(nlh);
	c.alen = family_len(ifa->ifa_family);
	if (!c.alen)
		return -EAFNOSUPPORT;
	memset(out, 0, sizeof(*out));
	out->family = ifa->ifa_family;
	out->prefixlen = ifa->ifa_prefixlen;
	out->scope = ifa->ifa_scope;
	out->flags = ifa->ifa_flags;
	out->ifindex = (int)ifa->ifa_index;
	ret = attr_parse(attrs, alen, addr_cb, &c);
	if (ret)
		return ret;
	if (out->prefixlen > c.alen * 8)
		return -EBADMSG;
	if (!out->has_local && !out->has_address)
		return -ENODATA;
	return 0;
}

struct route_ctx {
	struct vfo_nl_route *r;
	size_t alen;
};

static int route_addr(const struct nlattr *at, size_t alen, uint8_t *out, bool *has)
{
	if (mnl_attr_get_payload_len(at) != alen)
		return MNL_CB_ERROR;
	memcpy(out, mnl_attr_get_payload(at), alen);
	*has = true;
	return MNL_CB_OK;
}

static int route_cb(const struct nlattr *at, void *data)
{
	struct route_ctx *c = data;
	struct vfo_nl_route *r = c->r;

	switch (mnl_attr_get_type(at)) {
	case RTA_DST:
		return route_addr(at, c->alen, r->dst, &r->has_dst);
	case RTA_GATEWAY:
		return route_addr(at, c->alen, r->gateway, &r->has_gateway);
	case RTA_PREFSRC:
		return route_addr(at, c->alen, r->prefsrc, &r->has_prefsrc);
	case RTA_OIF:
		if (!validate(at, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		r->oif = (int)mnl_attr_get_u32(at);
		break;
	case RTA_PRIORITY:
		if (!validate(at, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		r->priority = mnl_attr_get_u32(at);
		r->has_priority = true;
		break;
	case RTA_TABLE:
		if (!validate(at, MNL_TYPE_U32))
			return MNL_CB_ERROR;
		r->table = mnl_attr_get_u32(at);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

int vfo_nl_parse_route(const void *msg, size_t len, struct vfo_nl_route *out)
{
	const struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	struct route_ctx c = { .r = out };
	const void *attrs;
	size_t alen;
	int ret;

	ret = msg_open(msg, len, sizeof(*rtm), &nlh, &attrs, &alen);
	if (ret)
		return ret;
	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return -ENOMSG;
	rtm = mnl_nlmsg_get_payload(nlh);
	c.alen = family_len(rtm->rtm_family);
	if (!c.alen)
		return -EAFNOSUPPORT;
	memset(out, 0, sizeof(*out));
	out->family = rtm->rtm_family;
	out->dst_len = rtm->rtm_dst_len;
	out->tos = rtm->rtm_tos;
	out->protocol = rtm->rtm_protocol;
	out->scope = rtm->rtm_scope;
	out->type = rtm->rtm_type;
	out->table = rtm->rtm_table;
	out->flags = rtm->rtm_flags;
	ret = attr_parse(attrs, alen, route_cb, &c);
	if (ret)
		return ret;
	if (out->dst_len > c.alen * 8 || (out->dst_len && !out->has_dst))
		return -EBADMSG;
	return 0;
}

/* ---- ACKs ---- */

static int extack_cb(const struct nlattr *a, void *data)
{
	char **msg = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG) {
		const char *s = mnl_attr_get_payload(a);
		size_t n = mnl_attr_get_payload_len(a);

		if (n && strnlen(s, n) < n)
			*msg = (char *)s;
	}
	return MNL_CB_OK;
}

/* The kernel's human-readable reason (extended ACK), when it sent one. */
static void extack_msg(const struct nlmsghdr *nlh, char *out, size_t outlen)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = MNL_NLMSG_HDRLEN + sizeof(*e);
	char *msg = NULL;

	if (!out || !outlen)
		return;
	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NETLINK_CAP_ACK the request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += MNL_ALIGN(e->msg.nlmsg_len) - MNL_NLMSG_HDRLEN;
	if (off >= nlh->nlmsg_len)
		return;
	if (attr_parse((const char *)nlh + off, nlh->nlmsg_len - off, extack_cb, &msg) || !msg)
		return;
	snprintf(out, outlen, "%s", msg);
}

int vfo_nl_msg_find_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid, int *err,
			char *msg, size_t msglen)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT32_MAX ? INT32_MAX : (int)len;

	if (msg && msglen)
		msg[0] = '\0';
	while (mnl_nlmsg_ok(nlh, rem)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_seq != seq ||
		    (portid && nlh->nlmsg_pid && nlh->nlmsg_pid != portid) ||
		    nlh->nlmsg_type != NLMSG_ERROR) {
			nlh = mnl_nlmsg_next(nlh, &rem);
			continue;
		}
		if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
			return -EBADMSG;
		e = mnl_nlmsg_get_payload(nlh);
		/* The kernel sends -errno; a positive value would be a
		 * corrupt message, and must not read as success. */
		if (e->error > 0 || e->error < -4095)
			return -EBADMSG;
		*err = e->error;
		if (e->error)
			extack_msg(nlh, msg, msglen);
		return 1;
	}
	return rem > 0 ? -EBADMSG : 0;
}

/* ---- formatting ---- */

void vfo_nl_hwaddr_str(const uint8_t *addr, size_t len, char *out, size_t outlen)
{
	size_t i, pos = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	for (i = 0; i < len; i++) {
		int n = snprintf(out + pos, outlen - pos, i ? ":%02x" : "%02x", addr[i]);

		if (n < 0 || (size_t)n >= outlen - pos) {
			out[pos] = '\0'; /* no half-printed byte */
			break;
		}
		pos += (size_t)n;
	}
}

const char *vfo_nl_operstate_str(uint8_t operstate)
{
	static const char *const names[] = {
		[IF_OPER_UNKNOWN] = "UNKNOWN", [IF_OPER_NOTPRESENT] = "NOTPRESENT",
		[IF_OPER_DOWN] = "DOWN",       [IF_OPER_LOWERLAYERDOWN] = "LOWERLAYERDOWN",
		[IF_OPER_TESTING] = "TESTING", [IF_OPER_DORMANT] = "DORMANT",
		[IF_OPER_UP] = "UP",
	};

	if (operstate < sizeof(names) / sizeof(names[0]))
		return names[operstate];
	return "UNKNOWN";
}
