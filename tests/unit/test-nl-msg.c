// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Round trips for every rtnetlink message vfo builds (build with the
 * module, parse back with the module's parser or libmnl, compare every
 * field), and the parsers fed truncated, mis-sized and incomplete input.
 * No kernel involved.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include <cmocka.h>

#include "netlink.h"
#include "nl-priv.h"

#define BUFSZ 4096
static uint8_t buf[BUFSZ];

/* ---- helpers ---- */

static const struct nlattr *attr_in(const void *start, size_t len, uint16_t type)
{
	const struct nlattr *a = start;
	int rem = (int)len;

	while (mnl_attr_ok(a, rem)) {
		if (mnl_attr_get_type(a) == type)
			return a;
		rem -= MNL_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + MNL_ALIGN(a->nla_len));
	}
	return NULL;
}

static const struct nlattr *top_attr(const struct nlmsghdr *nlh, size_t hdrlen, uint16_t type)
{
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen);

	return attr_in((const char *)nlh + off, nlh->nlmsg_len - off, type);
}

static const struct nlattr *nested(const struct nlattr *nest, uint16_t type)
{
	return attr_in(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), type);
}

static int count_attrs(const void *start, size_t len)
{
	const struct nlattr *a = start;
	int rem = (int)len, n = 0;

	while (mnl_attr_ok(a, rem)) {
		n++;
		rem -= MNL_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + MNL_ALIGN(a->nla_len));
	}
	return n;
}

static const struct ifinfomsg *ifi_of(const void *msg)
{
	return mnl_nlmsg_get_payload(msg);
}

static void check_hdr(const void *msg, int len, uint16_t type, uint16_t flags, uint32_t seq)
{
	const struct nlmsghdr *nlh = msg;

	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, type);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | flags);
	assert_int_equal(nlh->nlmsg_seq, seq);
	assert_true(mnl_nlmsg_ok(nlh, len));
}

/* What the kernel would send for a link: used to feed the link parser. */
struct kopts {
	int ifindex;
	const char *name;
	bool bond;
	bool bond_slave;
	bool bridge_slave;
	bool no_name;
	uint16_t extra_type; /* an attribute the parser does not know */
};

static int kernel_link(void *b, size_t len, const struct kopts *o)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t perm[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct ifinfomsg *ifi;
	struct nlattr *info, *data;

	memset(b, 0, len);
	nlh = mnl_nlmsg_put_header(b);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = o->ifindex;
	ifi->ifi_type = ARPHRD_ETHER;
	ifi->ifi_flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING;
	if (!o->no_name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, o->name);
	mnl_attr_put_u32(nlh, IFLA_MTU, 9000);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
	mnl_attr_put_u8(nlh, IFLA_CARRIER, 1);
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	mnl_attr_put(nlh, IFLA_PERM_ADDRESS, sizeof(perm), perm);
	mnl_attr_put_u32(nlh, IFLA_LINK, 7);
	if (o->bond_slave || o->bridge_slave)
		mnl_attr_put_u32(nlh, IFLA_MASTER, 42);
	if (o->extra_type)
		mnl_attr_put_u32(nlh, o->extra_type, 0xdeadbeef);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	if (o->bond) {
		/* DATA before KIND: the parser must not depend on order. */
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u8(nlh, IFLA_BOND_MODE, 1);
		mnl_attr_put_u32(nlh, IFLA_BOND_ACTIVE_SLAVE, 5);
		mnl_attr_put_u32(nlh, IFLA_BOND_MIIMON, 100);
		mnl_attr_put_u32(nlh, IFLA_BOND_UPDELAY, 200);
		mnl_attr_put_u32(nlh, IFLA_BOND_DOWNDELAY, 300);
		mnl_attr_put_u8(nlh, IFLA_BOND_USE_CARRIER, 1);
		mnl_attr_put_u32(nlh, IFLA_BOND_PRIMARY, 5);
		mnl_attr_put_u8(nlh, IFLA_BOND_PRIMARY_RESELECT, 2);
		mnl_attr_put_u8(nlh, IFLA_BOND_FAIL_OVER_MAC, 1);
		mnl_attr_put_u8(nlh, IFLA_BOND_NUM_PEER_NOTIF, 3);
		mnl_attr_put_u32(nlh, IFLA_BOND_PEER_NOTIF_DELAY, 50);
		mnl_attr_put_u8(nlh, IFLA_BOND_ALL_SLAVES_ACTIVE, 1);
		mnl_attr_nest_end(nlh, data);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bond");
	}
	if (o->bond_slave) {
		mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bond");
		data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
		mnl_attr_put_u8(nlh, IFLA_BOND_SLAVE_STATE, 1);
		mnl_attr_put_u8(nlh, IFLA_BOND_SLAVE_MII_STATUS, 0);
		mnl_attr_put_u32(nlh, IFLA_BOND_SLAVE_LINK_FAILURE_COUNT, 4);
		mnl_attr_put(nlh, IFLA_BOND_SLAVE_PERM_HWADDR, sizeof(perm), perm);
		mnl_attr_put_u16(nlh, IFLA_BOND_SLAVE_QUEUE_ID, 0);
		mnl_attr_nest_end(nlh, data);
	}
	if (o->bridge_slave) {
		mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
		data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
		mnl_attr_put_u8(nlh, IFLA_BRPORT_STATE, 3);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return (int)nlh->nlmsg_len;
}

/* Every builder, for the short-buffer and size tests. */
static const struct vfo_nl_bond full_bond = {
	.mask = VFO_NL_BOND_F_MODE | VFO_NL_BOND_F_MIIMON | VFO_NL_BOND_F_UPDELAY |
		VFO_NL_BOND_F_DOWNDELAY | VFO_NL_BOND_F_PRIMARY | VFO_NL_BOND_F_PRIMARY_RESELECT |
		VFO_NL_BOND_F_NUM_PEER_NOTIF | VFO_NL_BOND_F_PEER_NOTIF_DELAY |
		VFO_NL_BOND_F_FAIL_OVER_MAC | VFO_NL_BOND_F_ALL_SLAVES_ACTIVE,
	.mode = VFO_NL_BOND_MODE_ACTIVE_BACKUP,
	.miimon = 100,
	.updelay = 0,
	.downdelay = 200,
	.primary = 3,
	.primary_reselect = VFO_NL_BOND_RESELECT_FAILURE,
	.num_peer_notif = 3,
	.peer_notif_delay = 100,
	.fail_over_mac = 1,
	.all_slaves_active = 1,
};

static struct vfo_nl_addr v6addr(void)
{
	struct vfo_nl_addr a = {
		.family = AF_INET6,
		.prefixlen = 64,
		.scope = RT_SCOPE_UNIVERSE,
		.flags = IFA_F_NOPREFIXROUTE | IFA_F_NODAD, /* > 0xff */
		.ifindex = 4,
		.has_local = true,
		.has_address = true,
		.has_cacheinfo = true,
		.preferred_lft = 3600,
		.valid_lft = 7200,
	};

	inet_pton(AF_INET6, "2001:db8::10", a.local);
	inet_pton(AF_INET6, "2001:db8::10", a.address);
	return a;
}

static struct vfo_nl_route v4route(void)
{
	struct vfo_nl_route r = {
		.family = AF_INET,
		.dst_len = 0,
		.protocol = RTPROT_DHCP,
		.scope = RT_SCOPE_UNIVERSE,
		.type = RTN_UNICAST,
		.table = RT_TABLE_MAIN,
		.has_gateway = true,
		.has_prefsrc = true,
		.has_priority = true,
		.priority = 100,
		.oif = 4,
	};

	inet_pton(AF_INET, "192.0.2.1", r.gateway);
	inet_pton(AF_INET, "192.0.2.10", r.prefsrc);
	return r;
}

static int b_link_dump(void *b, size_t l)
{
	return vfo_nl_msg_link_dump(b, l, 1);
}
static int b_link_get(void *b, size_t l)
{
	return vfo_nl_msg_link_get(b, l, 1, 0, "eth0");
}
static int b_link_del(void *b, size_t l)
{
	return vfo_nl_msg_link_del(b, l, 1, 3);
}
static int b_master(void *b, size_t l)
{
	return vfo_nl_msg_set_master(b, l, 1, 3, 4);
}
static int b_mtu(void *b, size_t l)
{
	return vfo_nl_msg_set_mtu(b, l, 1, 3, 1500);
}
static int b_up(void *b, size_t l)
{
	return vfo_nl_msg_set_up(b, l, 1, 3, true);
}
static int b_bond_create(void *b, size_t l)
{
	return vfo_nl_msg_bond_create(b, l, 1, "vfo0", &full_bond);
}
static int b_bond_set(void *b, size_t l)
{
	return vfo_nl_msg_bond_set(b, l, 1, 9, &full_bond);
}
static int b_addr_dump(void *b, size_t l)
{
	return vfo_nl_msg_addr_dump(b, l, 1, AF_INET6);
}
static int b_addr(void *b, size_t l)
{
	struct vfo_nl_addr a = v6addr();

	return vfo_nl_msg_addr(b, l, 1, true, &a);
}
static int b_route_dump(void *b, size_t l)
{
	return vfo_nl_msg_route_dump(b, l, 1, AF_INET);
}
static int b_route(void *b, size_t l)
{
	struct vfo_nl_route r = v4route();

	return vfo_nl_msg_route(b, l, 1, true, &r);
}

static int b_fdb(void *b, size_t l)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x77, 0x00, 0x10 };

	return vfo_nl_msg_fdb(b, l, 1, true, 3, mac, true);
}

static int (*const builders[])(void *, size_t) = {
	b_link_dump, b_link_get,  b_link_del, b_master,	    b_mtu,   b_up,  b_bond_create,
	b_bond_set,  b_addr_dump, b_addr,     b_route_dump, b_route, b_fdb,
};

/* ---- builders: links ---- */

static void test_link_dump(void **state)
{
	const struct nlattr *a;
	int len;

	(void)state;
	len = vfo_nl_msg_link_dump(buf, sizeof(buf), 77);
	check_hdr(buf, len, RTM_GETLINK, NLM_F_DUMP, 77);
	assert_int_equal(ifi_of(buf)->ifi_family, AF_UNSPEC);
	a = top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_EXT_MASK);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_u32(a), RTEXT_FILTER_SKIP_STATS);
}

static void test_link_get(void **state)
{
	const struct nlattr *a;
	int len;

	(void)state;
	len = vfo_nl_msg_link_get(buf, sizeof(buf), 5, 12, NULL);
	check_hdr(buf, len, RTM_GETLINK, 0, 5);
	assert_int_equal(ifi_of(buf)->ifi_index, 12);
	assert_null(top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_IFNAME));

	len = vfo_nl_msg_link_get(buf, sizeof(buf), 6, 0, "ens3");
	check_hdr(buf, len, RTM_GETLINK, 0, 6);
	assert_int_equal(ifi_of(buf)->ifi_index, 0);
	a = top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_IFNAME);
	assert_non_null(a);
	assert_string_equal(mnl_attr_get_str(a), "ens3");

	assert_int_equal(vfo_nl_msg_link_get(buf, sizeof(buf), 1, 0, NULL), -EINVAL);
	assert_int_equal(vfo_nl_msg_link_get(buf, sizeof(buf), 1, 0, ""), -EINVAL);
	assert_int_equal(vfo_nl_msg_link_get(buf, sizeof(buf), 1, -1, "a-name-longer-than-15"),
			 -EINVAL);
}

static void test_link_del(void **state)
{
	int len;

	(void)state;
	len = vfo_nl_msg_link_del(buf, sizeof(buf), 9, 33);
	check_hdr(buf, len, RTM_DELLINK, NLM_F_ACK, 9);
	assert_int_equal(ifi_of(buf)->ifi_index, 33);
	assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(struct ifinfomsg));
	assert_int_equal(vfo_nl_msg_link_del(buf, sizeof(buf), 9, 0), -EINVAL);
}

static void check_u32_set(int len, uint32_t seq, int ifindex, uint16_t type, uint32_t val)
{
	const struct nlattr *a;

	check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK, seq);
	assert_int_equal(ifi_of(buf)->ifi_index, ifindex);
	assert_int_equal(ifi_of(buf)->ifi_change, 0);
	a = top_attr((void *)buf, sizeof(struct ifinfomsg), type);
	assert_non_null(a);
	assert_int_equal(mnl_attr_validate(a, MNL_TYPE_U32), 0);
	assert_int_equal(mnl_attr_get_u32(a), val);
	/* Exactly one attribute: nothing else gets changed by accident. */
	assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(struct ifinfomsg) + MNL_ATTR_HDRLEN + 4);
}

static void test_set_master(void **state)
{
	(void)state;
	check_u32_set(vfo_nl_msg_set_master(buf, sizeof(buf), 3, 7, 9), 3, 7, IFLA_MASTER, 9);
	/* Release = master 0. */
	check_u32_set(vfo_nl_msg_set_master(buf, sizeof(buf), 4, 7, 0), 4, 7, IFLA_MASTER, 0);
	assert_int_equal(vfo_nl_msg_set_master(buf, sizeof(buf), 4, 0, 3), -EINVAL);
	assert_int_equal(vfo_nl_msg_set_master(buf, sizeof(buf), 4, 3, -1), -EINVAL);
}

static void test_set_mtu(void **state)
{
	(void)state;
	check_u32_set(vfo_nl_msg_set_mtu(buf, sizeof(buf), 8, 2, 9000), 8, 2, IFLA_MTU, 9000);
	assert_int_equal(vfo_nl_msg_set_mtu(buf, sizeof(buf), 8, 2, 0), -EINVAL);
	assert_int_equal(vfo_nl_msg_set_mtu(buf, sizeof(buf), 8, -5, 1500), -EINVAL);
}

static void test_set_up(void **state)
{
	int len;

	(void)state;
	len = vfo_nl_msg_set_up(buf, sizeof(buf), 10, 6, true);
	check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK, 10);
	assert_int_equal(ifi_of(buf)->ifi_index, 6);
	assert_int_equal(ifi_of(buf)->ifi_flags, IFF_UP);
	assert_int_equal(ifi_of(buf)->ifi_change, IFF_UP);
	len = vfo_nl_msg_set_up(buf, sizeof(buf), 11, 6, false);
	check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK, 11);
	assert_int_equal(ifi_of(buf)->ifi_flags, 0);
	assert_int_equal(ifi_of(buf)->ifi_change, IFF_UP);
	assert_int_equal(vfo_nl_msg_set_up(buf, sizeof(buf), 1, 0, true), -EINVAL);
}

/* ---- builders: bonds ---- */

static void check_bond_equal(const struct vfo_nl_bond *got, const struct vfo_nl_bond *want)
{
	assert_int_equal(got->mask, want->mask);
	if (want->mask & VFO_NL_BOND_F_MODE)
		assert_int_equal(got->mode, want->mode);
	if (want->mask & VFO_NL_BOND_F_MIIMON)
		assert_int_equal(got->miimon, want->miimon);
	if (want->mask & VFO_NL_BOND_F_UPDELAY)
		assert_int_equal(got->updelay, want->updelay);
	if (want->mask & VFO_NL_BOND_F_DOWNDELAY)
		assert_int_equal(got->downdelay, want->downdelay);
	if (want->mask & VFO_NL_BOND_F_PRIMARY)
		assert_int_equal(got->primary, want->primary);
	if (want->mask & VFO_NL_BOND_F_PRIMARY_RESELECT)
		assert_int_equal(got->primary_reselect, want->primary_reselect);
	if (want->mask & VFO_NL_BOND_F_NUM_PEER_NOTIF)
		assert_int_equal(got->num_peer_notif, want->num_peer_notif);
	if (want->mask & VFO_NL_BOND_F_PEER_NOTIF_DELAY)
		assert_int_equal(got->peer_notif_delay, want->peer_notif_delay);
	if (want->mask & VFO_NL_BOND_F_ACTIVE_SLAVE)
		assert_int_equal(got->active_slave, want->active_slave);
	if (want->mask & VFO_NL_BOND_F_FAIL_OVER_MAC)
		assert_int_equal(got->fail_over_mac, want->fail_over_mac);
	if (want->mask & VFO_NL_BOND_F_ALL_SLAVES_ACTIVE)
		assert_int_equal(got->all_slaves_active, want->all_slaves_active);
}

/* A request parsed back with the module's own link parser. Requests for a
 * new link carry no ifindex; give it one so the parser accepts it. */
static void parse_request_as_link(int len, struct vfo_nl_link *l)
{
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload((void *)buf);

	if (!ifi->ifi_index)
		ifi->ifi_index = 1000;
	if (!top_attr((void *)buf, sizeof(*ifi), IFLA_IFNAME)) {
		mnl_attr_put_strz((void *)buf, IFLA_IFNAME, "x");
		len = (int)((struct nlmsghdr *)buf)->nlmsg_len;
	}
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, l), 0);
}

static void test_bond_create(void **state)
{
	const struct nlattr *info, *kind, *data;
	struct vfo_nl_link l;
	int len;

	(void)state;
	len = vfo_nl_msg_bond_create(buf, sizeof(buf), 21, "vfo0", &full_bond);
	check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 21);
	assert_int_equal(ifi_of(buf)->ifi_index, 0);
	assert_string_equal(
		mnl_attr_get_str(top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_IFNAME)),
		"vfo0");
	/* With libmnl: the exact wire layout the kernel expects. */
	info = top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_LINKINFO);
	assert_non_null(info);
	kind = nested(info, IFLA_INFO_KIND);
	assert_non_null(kind);
	assert_string_equal(mnl_attr_get_str(kind), "bond");
	data = nested(info, IFLA_INFO_DATA);
	assert_non_null(data);
	assert_int_equal(count_attrs(mnl_attr_get_payload(data), mnl_attr_get_payload_len(data)),
			 10);
	assert_int_equal(mnl_attr_validate(nested(data, IFLA_BOND_MODE), MNL_TYPE_U8), 0);
	assert_int_equal(mnl_attr_get_u8(nested(data, IFLA_BOND_MODE)), 1);
	assert_int_equal(mnl_attr_get_u32(nested(data, IFLA_BOND_MIIMON)), 100);
	assert_int_equal(mnl_attr_get_u32(nested(data, IFLA_BOND_PRIMARY)), 3);
	assert_int_equal(mnl_attr_get_u8(nested(data, IFLA_BOND_PRIMARY_RESELECT)), 2);
	assert_int_equal(mnl_attr_get_u8(nested(data, IFLA_BOND_NUM_PEER_NOTIF)), 3);
	assert_int_equal(mnl_attr_get_u32(nested(data, IFLA_BOND_PEER_NOTIF_DELAY)), 100);
	assert_int_equal(mnl_attr_get_u8(nested(data, IFLA_BOND_ALL_SLAVES_ACTIVE)), 1);
	assert_null(nested(data, IFLA_BOND_ACTIVE_SLAVE));

	/* With the module's parser: every field back. */
	parse_request_as_link(len, &l);
	assert_string_equal(l.name, "vfo0");
	assert_string_equal(l.kind, "bond");
	assert_true(l.has_bond);
	check_bond_equal(&l.bond, &full_bond);
	assert_false(l.has_bond_slave);
}

static void test_bond_create_minimal(void **state)
{
	struct vfo_nl_bond o = { .mask = VFO_NL_BOND_F_MODE, .mode = 1 };
	const struct nlattr *data;
	struct vfo_nl_link l;
	int len;

	(void)state;
	len = vfo_nl_msg_bond_create(buf, sizeof(buf), 1, "b", &o);
	assert_true(len > 0);
	data = nested(top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_LINKINFO),
		      IFLA_INFO_DATA);
	assert_int_equal(count_attrs(mnl_attr_get_payload(data), mnl_attr_get_payload_len(data)),
			 1);
	parse_request_as_link(len, &l);
	check_bond_equal(&l.bond, &o);
}

static void test_bond_create_invalid(void **state)
{
	struct vfo_nl_bond o = full_bond;

	(void)state;
	assert_int_equal(vfo_nl_msg_bond_create(buf, sizeof(buf), 1, NULL, &o), -EINVAL);
	assert_int_equal(vfo_nl_msg_bond_create(buf, sizeof(buf), 1, "", &o), -EINVAL);
	assert_int_equal(vfo_nl_msg_bond_create(buf, sizeof(buf), 1, "sixteen-chars-xx", &o),
			 -EINVAL);
	assert_int_equal(vfo_nl_msg_bond_create(buf, sizeof(buf), 1, "b", NULL), -EINVAL);
	o.mask |= VFO_NL_BOND_F_ACTIVE_SLAVE;
	assert_int_equal(vfo_nl_msg_bond_create(buf, sizeof(buf), 1, "b", &o), -EINVAL);
}

static void test_bond_set_primary_and_active(void **state)
{
	struct vfo_nl_bond prim = { .mask = VFO_NL_BOND_F_PRIMARY, .primary = 0 };
	struct vfo_nl_bond act = { .mask = VFO_NL_BOND_F_ACTIVE_SLAVE, .active_slave = 14 };
	const struct nlattr *data;
	struct vfo_nl_link l;
	int len;

	(void)state;
	/* primary 0 must still be sent: it is how a primary is cleared. */
	len = vfo_nl_msg_bond_set(buf, sizeof(buf), 30, 9, &prim);
	check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK, 30);
	assert_int_equal(ifi_of(buf)->ifi_index, 9);
	assert_null(top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_IFNAME));
	data = nested(top_attr((void *)buf, sizeof(struct ifinfomsg), IFLA_LINKINFO),
		      IFLA_INFO_DATA);
	assert_non_null(nested(data, IFLA_BOND_PRIMARY));
	assert_int_equal(mnl_attr_get_u32(nested(data, IFLA_BOND_PRIMARY)), 0);
	parse_request_as_link(len, &l);
	assert_int_equal(l.ifindex, 9);
	check_bond_equal(&l.bond, &prim);

	len = vfo_nl_msg_bond_set(buf, sizeof(buf), 31, 9, &act);
	check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK, 31);
	parse_request_as_link(len, &l);
	check_bond_equal(&l.bond, &act);

	len = vfo_nl_msg_bond_set(buf, sizeof(buf), 32, 9, &full_bond);
	parse_request_as_link(len, &l);
	check_bond_equal(&l.bond, &full_bond);

	assert_int_equal(vfo_nl_msg_bond_set(buf, sizeof(buf), 1, 0, &act), -EINVAL);
	prim.mask = 0;
	assert_int_equal(vfo_nl_msg_bond_set(buf, sizeof(buf), 1, 9, &prim), -EINVAL);
	assert_int_equal(vfo_nl_msg_bond_set(buf, sizeof(buf), 1, 9, NULL), -EINVAL);
}

/* ---- builders: addresses and routes ---- */

static void check_addr_equal(const struct vfo_nl_addr *got, const struct vfo_nl_addr *want,
			     bool add)
{
	size_t alen = want->family == AF_INET ? 4 : 16;

	assert_int_equal(got->family, want->family);
	assert_int_equal(got->prefixlen, want->prefixlen);
	assert_int_equal(got->scope, want->scope);
	assert_int_equal(got->ifindex, want->ifindex);
	assert_int_equal(got->has_local, want->has_local);
	assert_int_equal(got->has_address, want->has_address);
	if (want->has_local)
		assert_memory_equal(got->local, want->local, alen);
	if (want->has_address)
		assert_memory_equal(got->address, want->address, alen);
	if (add) {
		assert_int_equal(got->flags, want->flags);
		assert_string_equal(got->label, want->label);
		assert_int_equal(got->has_cacheinfo, want->has_cacheinfo);
		if (want->has_cacheinfo) {
			assert_int_equal(got->preferred_lft, want->preferred_lft);
			assert_int_equal(got->valid_lft, want->valid_lft);
		}
	}
}

static void test_addr_v4(void **state)
{
	struct vfo_nl_addr a = {
		.family = AF_INET,
		.prefixlen = 24,
		.scope = RT_SCOPE_UNIVERSE,
		.flags = IFA_F_PERMANENT,
		.ifindex = 3,
		.has_local = true,
		.has_address = true,
		.label = "eth0:1",
	}, got;
	int len;

	(void)state;
	inet_pton(AF_INET, "192.0.2.10", a.local);
	inet_pton(AF_INET, "192.0.2.10", a.address);
	len = vfo_nl_msg_addr(buf, sizeof(buf), 40, true, &a);
	check_hdr(buf, len, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, 40);
	/* Flags fit in ifa_flags: no IFA_FLAGS attribute. */
	assert_null(top_attr((void *)buf, sizeof(struct ifaddrmsg), IFA_FLAGS));
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &got), 0);
	check_addr_equal(&got, &a, true);

	len = vfo_nl_msg_addr(buf, sizeof(buf), 41, false, &a);
	check_hdr(buf, len, RTM_DELADDR, NLM_F_ACK, 41);
	assert_null(top_attr((void *)buf, sizeof(struct ifaddrmsg), IFA_LABEL));
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &got), 0);
	check_addr_equal(&got, &a, false);
}

static void test_addr_v6(void **state)
{
	struct vfo_nl_addr a = v6addr(), got;
	const struct nlattr *fl;
	int len;

	(void)state;
	len = vfo_nl_msg_addr(buf, sizeof(buf), 42, true, &a);
	check_hdr(buf, len, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, 42);
	fl = top_attr((void *)buf, sizeof(struct ifaddrmsg), IFA_FLAGS);
	assert_non_null(fl);
	assert_int_equal(mnl_attr_get_u32(fl), a.flags);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &got), 0);
	check_addr_equal(&got, &a, true);

	/* Permanent lifetimes are not sent (and read back as such). */
	a.has_cacheinfo = false;
	len = vfo_nl_msg_addr(buf, sizeof(buf), 43, true, &a);
	assert_null(top_attr((void *)buf, sizeof(struct ifaddrmsg), IFA_CACHEINFO));
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &got), 0);
	assert_false(got.has_cacheinfo);
}

static void test_addr_invalid(void **state)
{
	struct vfo_nl_addr a = v6addr();

	(void)state;
	a.family = AF_PACKET;
	assert_int_equal(vfo_nl_msg_addr(buf, sizeof(buf), 1, true, &a), -EINVAL);
	a = v6addr();
	a.prefixlen = 129;
	assert_int_equal(vfo_nl_msg_addr(buf, sizeof(buf), 1, true, &a), -EINVAL);
	a = v6addr();
	a.ifindex = 0;
	assert_int_equal(vfo_nl_msg_addr(buf, sizeof(buf), 1, true, &a), -EINVAL);
	a = v6addr();
	a.has_local = a.has_address = false;
	assert_int_equal(vfo_nl_msg_addr(buf, sizeof(buf), 1, false, &a), -EINVAL);
	assert_int_equal(vfo_nl_msg_addr(buf, sizeof(buf), 1, true, NULL), -EINVAL);
	assert_int_equal(vfo_nl_msg_addr_dump(buf, sizeof(buf), 1, AF_PACKET), -EINVAL);
}

static void check_route_equal(const struct vfo_nl_route *got, const struct vfo_nl_route *want)
{
	size_t alen = want->family == AF_INET ? 4 : 16;

	assert_int_equal(got->family, want->family);
	assert_int_equal(got->dst_len, want->dst_len);
	assert_int_equal(got->tos, want->tos);
	assert_int_equal(got->protocol, want->protocol);
	assert_int_equal(got->scope, want->scope);
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->table, want->table);
	assert_int_equal(got->flags, want->flags);
	assert_int_equal(got->has_dst, want->has_dst);
	assert_int_equal(got->has_gateway, want->has_gateway);
	assert_int_equal(got->has_prefsrc, want->has_prefsrc);
	assert_int_equal(got->has_priority, want->has_priority);
	if (want->has_dst)
		assert_memory_equal(got->dst, want->dst, alen);
	if (want->has_gateway)
		assert_memory_equal(got->gateway, want->gateway, alen);
	if (want->has_prefsrc)
		assert_memory_equal(got->prefsrc, want->prefsrc, alen);
	if (want->has_priority)
		assert_int_equal(got->priority, want->priority);
	assert_int_equal(got->oif, want->oif);
}

static void test_route_v4_default(void **state)
{
	struct vfo_nl_route r = v4route(), got;
	int len;

	(void)state;
	len = vfo_nl_msg_route(buf, sizeof(buf), 50, true, &r);
	check_hdr(buf, len, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 50);
	assert_null(top_attr((void *)buf, sizeof(struct rtmsg), RTA_DST));
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), 0);
	check_route_equal(&got, &r);

	len = vfo_nl_msg_route(buf, sizeof(buf), 51, false, &r);
	check_hdr(buf, len, RTM_DELROUTE, NLM_F_ACK, 51);
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), 0);
	check_route_equal(&got, &r);
}

static void test_route_v6_prefix_big_table(void **state)
{
	struct vfo_nl_route r = {
		.family = AF_INET6,
		.dst_len = 64,
		.protocol = RTPROT_KERNEL,
		.scope = RT_SCOPE_UNIVERSE,
		.type = RTN_UNICAST,
		.table = 1000, /* > 255: only RTA_TABLE can carry it */
		.has_dst = true,
		.flags = RTNH_F_ONLINK,
		.oif = 7,
	}, got;
	int len;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1::", r.dst);
	len = vfo_nl_msg_route(buf, sizeof(buf), 52, true, &r);
	assert_true(len > 0);
	assert_int_equal(((struct rtmsg *)mnl_nlmsg_get_payload((void *)buf))->rtm_table,
			 RT_TABLE_UNSPEC);
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), 0);
	check_route_equal(&got, &r);

	/* Only ONLINK goes into a request; kernel-set flags do not. */
	r.flags |= RTM_F_CLONED;
	len = vfo_nl_msg_route(buf, sizeof(buf), 53, true, &r);
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), 0);
	assert_int_equal(got.flags, RTNH_F_ONLINK);
}

static void test_route_invalid(void **state)
{
	struct vfo_nl_route r = v4route();

	(void)state;
	r.dst_len = 24; /* prefix without a destination */
	assert_int_equal(vfo_nl_msg_route(buf, sizeof(buf), 1, true, &r), -EINVAL);
	r.has_dst = true;
	r.dst_len = 33;
	assert_int_equal(vfo_nl_msg_route(buf, sizeof(buf), 1, true, &r), -EINVAL);
	r = v4route();
	r.family = AF_UNSPEC;
	assert_int_equal(vfo_nl_msg_route(buf, sizeof(buf), 1, true, &r), -EINVAL);
	assert_int_equal(vfo_nl_msg_route(buf, sizeof(buf), 1, true, NULL), -EINVAL);
}

/* ---- builders: bridge FDB ---- */

static void check_fdb(int len, uint16_t type, uint16_t flags, int port, uint8_t ndm_flags,
		      uint16_t state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x77, 0x00, 0x10 };
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	assert_true(len > 0);
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, type);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | flags);
	assert_int_equal(nlh->nlmsg_seq, 8);
	assert_int_equal(ndm->ndm_family, AF_BRIDGE);
	assert_int_equal(ndm->ndm_ifindex, port);
	assert_int_equal(ndm->ndm_flags, ndm_flags);
	assert_int_equal(ndm->ndm_state, state);
	a = top_attr(nlh, sizeof(*ndm), NDA_LLADDR);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_payload_len(a), 6);
	assert_memory_equal(mnl_attr_get_payload(a), mac, 6);
	/* The address is all there is: nothing else gets changed. */
	assert_int_equal(len, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*ndm)) + MNL_ATTR_HDRLEN + 8);
}

static void test_fdb(void **state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x77, 0x00, 0x10 };

	(void)state;
	check_fdb(vfo_nl_msg_fdb(buf, sizeof(buf), 8, true, 7, mac, true), RTM_NEWNEIGH,
		  NLM_F_CREATE | NLM_F_REPLACE, 7, NTF_MASTER | NTF_STICKY, NUD_NOARP);
	check_fdb(vfo_nl_msg_fdb(buf, sizeof(buf), 8, true, 7, mac, false), RTM_NEWNEIGH,
		  NLM_F_CREATE | NLM_F_REPLACE, 7, NTF_MASTER, NUD_NOARP);
	check_fdb(vfo_nl_msg_fdb(buf, sizeof(buf), 8, false, 9, mac, false), RTM_DELNEIGH, 0, 9,
		  NTF_MASTER, 0);
	assert_int_equal(vfo_nl_msg_fdb(buf, sizeof(buf), 8, true, 0, mac, true), -EINVAL);
	assert_int_equal(vfo_nl_msg_fdb(buf, sizeof(buf), 8, true, 7, NULL, true), -EINVAL);
	/* Stickiness belongs to an entry being made, not to a removal. */
	assert_int_equal(vfo_nl_msg_fdb(buf, sizeof(buf), 8, false, 7, mac, true), -EINVAL);
}

static void test_dumps(void **state)
{
	int len;

	(void)state;
	len = vfo_nl_msg_addr_dump(buf, sizeof(buf), 60, AF_INET6);
	check_hdr(buf, len, RTM_GETADDR, NLM_F_DUMP, 60);
	assert_int_equal(((struct ifaddrmsg *)mnl_nlmsg_get_payload((void *)buf))->ifa_family,
			 AF_INET6);
	len = vfo_nl_msg_route_dump(buf, sizeof(buf), 61, AF_UNSPEC);
	check_hdr(buf, len, RTM_GETROUTE, NLM_F_DUMP, 61);
	assert_int_equal(((struct rtmsg *)mnl_nlmsg_get_payload((void *)buf))->rtm_family,
			 AF_UNSPEC);
}

/* Each builder into every buffer size short of what it needs: -EMSGSIZE,
 * and (under ASan, with exact-size heap buffers) no byte written past. */
static void test_builders_short_buffer(void **state)
{
	size_t i, sz;

	(void)state;
	for (i = 0; i < sizeof(builders) / sizeof(builders[0]); i++) {
		int need = builders[i](buf, sizeof(buf));

		assert_true(need > 0);
		for (sz = 0; sz < (size_t)need; sz++) {
			void *b = malloc(sz ? sz : 1);

			assert_int_equal(builders[i](b, sz), -EMSGSIZE);
			free(b);
		}
		{
			void *b = malloc((size_t)need);

			assert_int_equal(builders[i](b, (size_t)need), need);
			free(b);
		}
	}
}

/* ---- link parser on kernel-shaped messages ---- */

static void test_parse_link_full(void **state)
{
	struct kopts o = { .ifindex = 5, .name = "ens4", .bond_slave = true };
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t perm[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	struct vfo_nl_link l;
	int len;

	(void)state;
	len = kernel_link(buf, sizeof(buf), &o);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), 0);
	assert_int_equal(l.family, AF_UNSPEC);
	assert_int_equal(l.ifindex, 5);
	assert_string_equal(l.name, "ens4");
	assert_int_equal(l.flags, IFF_UP | IFF_BROADCAST | IFF_RUNNING);
	assert_int_equal(l.type, ARPHRD_ETHER);
	assert_int_equal(l.mtu, 9000);
	assert_int_equal(l.operstate, IF_OPER_UP);
	assert_int_equal(l.carrier, 1);
	assert_int_equal(l.addr_len, 6);
	assert_memory_equal(l.addr, mac, 6);
	assert_int_equal(l.perm_addr_len, 6);
	assert_memory_equal(l.perm_addr, perm, 6);
	assert_false(l.perm_addr_from_ethtool);
	assert_int_equal(l.master, 42);
	assert_int_equal(l.link, 7);
	assert_string_equal(l.kind, "");
	assert_string_equal(l.slave_kind, "bond");
	assert_false(l.has_bond);
	assert_true(l.has_bond_slave);
	assert_int_equal(l.bond_slave.mask, VFO_NL_SLAVE_F_STATE | VFO_NL_SLAVE_F_MII_STATUS |
						    VFO_NL_SLAVE_F_LINK_FAILURES |
						    VFO_NL_SLAVE_F_PERM_HWADDR |
						    VFO_NL_SLAVE_F_QUEUE_ID);
	assert_int_equal(l.bond_slave.state, VFO_NL_BOND_SLAVE_BACKUP);
	assert_int_equal(l.bond_slave.mii_status, 0);
	assert_int_equal(l.bond_slave.link_failures, 4);
	assert_int_equal(l.bond_slave.perm_hwaddr_len, 6);
	assert_memory_equal(l.bond_slave.perm_hwaddr, perm, 6);
	/* Not filled by the parser. */
	assert_string_equal(l.driver, "");
	assert_string_equal(l.pci_addr, "");
}

static void test_parse_link_bond(void **state)
{
	struct kopts o = { .ifindex = 9, .name = "vfo0", .bond = true };
	struct vfo_nl_bond want = full_bond;
	struct vfo_nl_link l;
	int len;

	(void)state;
	want.mask |= VFO_NL_BOND_F_ACTIVE_SLAVE | VFO_NL_BOND_F_UPDELAY;
	want.active_slave = 5;
	want.primary = 5;
	want.updelay = 200;
	want.downdelay = 300;
	want.primary_reselect = 2;
	want.peer_notif_delay = 50;
	len = kernel_link(buf, sizeof(buf), &o);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), 0);
	assert_string_equal(l.kind, "bond");
	assert_true(l.has_bond);
	check_bond_equal(&l.bond, &want);
	assert_int_equal(l.master, 0);
	assert_false(l.has_bond_slave);
}

static void test_parse_link_bridge_port_and_unknown(void **state)
{
	struct kopts o = {
		.ifindex = 3, .name = "veth0", .bridge_slave = true, .extra_type = 0x7ff0
	};
	struct vfo_nl_link l;
	int len;

	(void)state;
	len = kernel_link(buf, sizeof(buf), &o);
	/* Unknown attributes (newer kernels) are skipped. */
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), 0);
	assert_string_equal(l.slave_kind, "bridge");
	assert_false(l.has_bond_slave);
	assert_int_equal(l.master, 42);

	/* An AF_BRIDGE port message parses; the family tells it apart. */
	((struct ifinfomsg *)mnl_nlmsg_get_payload((void *)buf))->ifi_family = AF_BRIDGE;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), 0);
	assert_int_equal(l.family, AF_BRIDGE);

	/* A DELLINK parses like a NEWLINK. */
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_DELLINK;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), 0);
	assert_int_equal(l.ifindex, 3);
}

static void test_parse_link_no_carrier_attr(void **state)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct vfo_nl_link l;

	(void)state;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 1;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "lo");
	assert_int_equal(vfo_nl_parse_link(buf, nlh->nlmsg_len, &l), 0);
	assert_int_equal(l.carrier, -1);
	assert_int_equal(l.addr_len, 0);
	assert_int_equal(l.perm_addr_len, 0);
	assert_int_equal(l.mtu, 0);
}

/* ---- malformed input ---- */

/* Cuts (from the message start) that leave whole top-level attributes
 * only: [lo, hi] ranges, from the end of an attribute's payload through its
 * padding (an unpadded last attribute is accepted, as libmnl does). */
static size_t whole_cuts(const void *msg, size_t hdrlen, size_t *lo, size_t *hi, size_t max)
{
	const struct nlmsghdr *nlh = msg;
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen), n = 0;

	lo[n] = hi[n] = off;
	n++;
	while (off < nlh->nlmsg_len && n < max) {
		const struct nlattr *a = (const void *)((const char *)msg + off);

		lo[n] = off + a->nla_len;
		off += MNL_ALIGN(a->nla_len);
		hi[n++] = off;
	}
	return n;
}

static void test_parse_link_truncated(void **state)
{
	struct kopts o = { .ifindex = 5, .name = "ens4", .bond = true, .bond_slave = true };
	uint8_t full[BUFSZ];
	size_t lo[64], hi[64], n, cut, i;
	struct vfo_nl_link l;
	int len;

	(void)state;
	len = kernel_link(full, sizeof(full), &o);
	n = whole_cuts(full, sizeof(struct ifinfomsg), lo, hi, 64);
	assert_true(n > 5);

	/* Datagram shorter than the header says: always rejected. */
	for (cut = 0; cut < (size_t)len; cut++) {
		uint8_t *b = malloc(cut ? cut : 1);

		memcpy(b, full, cut);
		assert_int_equal(vfo_nl_parse_link(b, cut, &l), -EBADMSG);
		free(b);
	}

	/* Header agrees with a cut message: rejected unless the cut falls
	 * between attributes, where it is a shorter valid message (with the
	 * name, which comes first) or one missing its name. */
	for (cut = 0; cut < (size_t)len; cut++) {
		bool boundary = false;
		uint8_t *b = malloc(cut < 16 ? 16 : cut);
		int ret;

		memcpy(b, full, cut);
		if (cut >= sizeof(struct nlmsghdr))
			((struct nlmsghdr *)b)->nlmsg_len = (uint32_t)cut;
		for (i = 0; i < n; i++)
			boundary |= lo[i] <= cut && cut <= hi[i];
		ret = vfo_nl_parse_link(b, cut, &l);
		free(b);
		if (boundary && cut > lo[0])
			assert_int_equal(ret, 0);
		else if (boundary)
			assert_int_equal(ret, -ENODATA);
		else
			assert_int_equal(ret, -EBADMSG);
	}
}

static int one_attr_link(uint16_t type, const void *data, size_t len, bool with_name)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 2;
	if (with_name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put(nlh, type, len, data);
	return (int)nlh->nlmsg_len;
}

static void test_parse_link_bad_attr_lengths(void **state)
{
	uint8_t junk[64] = { 0 };
	char longname[20];
	struct vfo_nl_link l;
	struct nlattr *a;
	int len;

	(void)state;
	/* u32 attributes with 2 bytes, u8 with 4. */
	len = one_attr_link(IFLA_MTU, junk, 2, true);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	len = one_attr_link(IFLA_MASTER, junk, 8, true);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	len = one_attr_link(IFLA_OPERSTATE, junk, 4, true);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	/* MAC longer than any hardware address. */
	len = one_attr_link(IFLA_ADDRESS, junk, 40, true);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	len = one_attr_link(IFLA_PERM_ADDRESS, junk, 33, true);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	/* Name without its NUL, and a name too long for IFNAMSIZ. */
	len = one_attr_link(IFLA_IFNAME, "eth1", 4, false);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	len = one_attr_link(IFLA_IFNAME, longname, sizeof(longname), false);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	/* LINKINFO that is not a valid nest. */
	len = one_attr_link(IFLA_LINKINFO, junk, 3, true);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);

	/* nla_len smaller than the attribute header itself. */
	len = one_attr_link(IFLA_MTU, junk, 4, true);
	a = (struct nlattr *)(buf + len - MNL_ATTR_HDRLEN - 4);
	a->nla_len = 2;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
	/* nla_len pointing past the end of the message. */
	a->nla_len = 200;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
}

static void test_parse_link_bad_nested(void **state)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info, *data;
	struct vfo_nl_link l;

	(void)state;
	/* IFLA_BOND_MODE as u32 instead of u8. */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 2;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "b0");
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bond");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_BOND_MODE, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	assert_int_equal(vfo_nl_parse_link(buf, nlh->nlmsg_len, &l), -EBADMSG);

	/* The same payload under another kind is not interpreted at all. */
	memcpy(mnl_attr_get_payload(nested(info, IFLA_INFO_KIND)), "vlan", 4);
	assert_int_equal(vfo_nl_parse_link(buf, nlh->nlmsg_len, &l), 0);
	assert_string_equal(l.kind, "vlan");
	assert_false(l.has_bond);

	/* A slave PERM_HWADDR too long, and a truncated inner attribute. */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 2;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "s0");
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bond");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put(nlh, IFLA_BOND_SLAVE_PERM_HWADDR, 40, buf + 2048);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	assert_int_equal(vfo_nl_parse_link(buf, nlh->nlmsg_len, &l), -EBADMSG);
	/* Shrink the inner attribute's nest so it cuts the attribute. */
	data->nla_len = MNL_ATTR_HDRLEN + 8;
	assert_int_equal(vfo_nl_parse_link(buf, nlh->nlmsg_len, &l), -EBADMSG);
}

static void test_parse_link_missing_and_wrong_type(void **state)
{
	struct kopts o = { .ifindex = 5, .name = "ens4", .no_name = true };
	struct vfo_nl_link l;
	int len;

	(void)state;
	len = kernel_link(buf, sizeof(buf), &o);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -ENODATA);
	o.no_name = false;
	o.ifindex = 0;
	len = kernel_link(buf, sizeof(buf), &o);
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -ENODATA);
	o.ifindex = 5;
	len = kernel_link(buf, sizeof(buf), &o);
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -ENOMSG);
	{
		struct vfo_nl_addr a;

		/* ifi_family AF_UNSPEC read as an ifa_family. */
		assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EAFNOSUPPORT);
	}
	((struct nlmsghdr *)buf)->nlmsg_type = NLMSG_DONE;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -ENOMSG);
	/* A header too short for ifinfomsg. */
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_NEWLINK;
	((struct nlmsghdr *)buf)->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	assert_int_equal(vfo_nl_parse_link(buf, (size_t)len, &l), -EBADMSG);
}

static int kernel_addr(uint8_t family, uint16_t type, const void *local, size_t llen,
		       const void *addr, size_t alen, uint8_t prefixlen)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_index = 2;
	if (local)
		mnl_attr_put(nlh, IFA_LOCAL, llen, local);
	if (addr)
		mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	return (int)nlh->nlmsg_len;
}

static void test_parse_addr_malformed(void **state)
{
	uint8_t a16[16] = { 0x20, 0x01, 0x0d, 0xb8 }, a4[4] = { 10, 0, 0, 1 };
	struct ifa_cacheinfo ci = { .ifa_prefered = 0xffffffffu, .ifa_valid = 0xffffffffu };
	struct vfo_nl_addr a;
	int len;

	(void)state;
	len = kernel_addr(AF_INET, RTM_NEWADDR, a4, 4, a4, 4, 8);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), 0);
	/* Forever lifetimes from the kernel: nothing to carry over. */
	mnl_attr_put((void *)buf, IFA_CACHEINFO, sizeof(ci), &ci);
	len = (int)((struct nlmsghdr *)buf)->nlmsg_len;
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), 0);
	assert_false(a.has_cacheinfo);
	/* Short cacheinfo. */
	len = kernel_addr(AF_INET, RTM_NEWADDR, a4, 4, a4, 4, 8);
	mnl_attr_put((void *)buf, IFA_CACHEINFO, 4, &ci);
	len = (int)((struct nlmsghdr *)buf)->nlmsg_len;
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EBADMSG);
	/* v6-sized address in a v4 message. */
	len = kernel_addr(AF_INET, RTM_NEWADDR, a16, 16, NULL, 0, 8);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EBADMSG);
	/* v4-sized address in a v6 message. */
	len = kernel_addr(AF_INET6, RTM_NEWADDR, NULL, 0, a4, 4, 64);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EBADMSG);
	/* No address at all. */
	len = kernel_addr(AF_INET6, RTM_NEWADDR, NULL, 0, NULL, 0, 64);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -ENODATA);
	/* Prefix longer than the address. */
	len = kernel_addr(AF_INET, RTM_NEWADDR, a4, 4, a4, 4, 33);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EBADMSG);
	/* Unknown family, wrong message type, truncated datagram. */
	len = kernel_addr(AF_PACKET, RTM_NEWADDR, a4, 4, a4, 4, 8);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EAFNOSUPPORT);
	len = kernel_addr(AF_INET, RTM_NEWLINK, a4, 4, a4, 4, 8);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -ENOMSG);
	len = kernel_addr(AF_INET, RTM_DELADDR, a4, 4, a4, 4, 8);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), 0);
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len - 1, &a), -EBADMSG);
	/* Label without a terminator. */
	len = kernel_addr(AF_INET, RTM_NEWADDR, a4, 4, a4, 4, 8);
	mnl_attr_put((void *)buf, IFA_LABEL, 4, "eth0");
	len = (int)((struct nlmsghdr *)buf)->nlmsg_len;
	assert_int_equal(vfo_nl_parse_addr(buf, (size_t)len, &a), -EBADMSG);
}

static void test_parse_route_malformed(void **state)
{
	struct vfo_nl_route r = v4route(), got;
	struct nlmsghdr *nlh = (void *)buf;
	struct rtmsg *rtm;
	uint8_t a16[16] = { 0 };
	int len;

	(void)state;
	/* Prefix length without RTA_DST. */
	len = vfo_nl_msg_route(buf, sizeof(buf), 1, true, &r);
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_dst_len = 24;
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), -EBADMSG);
	rtm->rtm_dst_len = 0;
	/* v6 gateway in a v4 route. */
	mnl_attr_put(nlh, RTA_GATEWAY, 16, a16);
	len = (int)nlh->nlmsg_len;
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), -EBADMSG);
	/* RTA_OIF of the wrong size. */
	len = vfo_nl_msg_route(buf, sizeof(buf), 1, true, &r);
	mnl_attr_put(nlh, RTA_OIF, 2, a16);
	len = (int)nlh->nlmsg_len;
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), -EBADMSG);
	/* Truncated, wrong type, unknown family. */
	len = vfo_nl_msg_route(buf, sizeof(buf), 1, true, &r);
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len - 2, &got), -EBADMSG);
	nlh->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), -ENOMSG);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm->rtm_family = AF_BRIDGE;
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), -EAFNOSUPPORT);
	/* Header too short for rtmsg. */
	rtm->rtm_family = AF_INET;
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	assert_int_equal(vfo_nl_parse_route(buf, (size_t)len, &got), -EBADMSG);
}

/* ---- ACK matching ---- */

static size_t put_ack(uint8_t *b, uint32_t seq, uint32_t pid, int error, const char *why,
		      bool capped)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_len = MNL_NLMSG_HDRLEN + 16; /* the "request" */
	e->msg.nlmsg_seq = seq;
	if (!capped) {
		/* echo of a 16-byte request payload */
		mnl_nlmsg_put_extra_header(nlh, 16);
	} else {
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	}
	if (why) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, why);
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
	}
	return nlh->nlmsg_len;
}

static void test_find_ack(void **state)
{
	uint8_t b[1024];
	char why[64];
	size_t len;
	int err = 99;

	(void)state;
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 1234, 0, NULL, true);
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 1234, &err, why, sizeof(why)), 1);
	assert_int_equal(err, 0);
	assert_string_equal(why, "");

	/* Another sequence number: a stale reply, not ours. */
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 8, 1234, &err, NULL, 0), 0);
	/* Another port: not ours either. */
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 999, &err, NULL, 0), 0);

	/* An error with the kernel's reason, capped and uncapped. */
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 0, -EOPNOTSUPP, "Unknown device type", true);
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 1234, &err, why, sizeof(why)), 1);
	assert_int_equal(err, -EOPNOTSUPP);
	assert_string_equal(why, "Unknown device type");
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 0, -EPERM, "Device can not be enslaved while up", false);
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 1234, &err, why, 10), 1);
	assert_int_equal(err, -EPERM);
	assert_string_equal(why, "Device ca"); /* bounded copy */

	/* Stale ACK and ours in one datagram. */
	memset(b, 0, sizeof(b));
	len = put_ack(b, 6, 0, -EEXIST, NULL, true);
	len += put_ack(b + len, 7, 0, -ENODEV, NULL, true);
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 1234, &err, why, sizeof(why)), 1);
	assert_int_equal(err, -ENODEV);
	assert_string_equal(why, "");
}

static void test_find_ack_malformed(void **state)
{
	uint8_t b[256];
	struct nlmsghdr *nlh = (void *)b;
	size_t len;
	int err = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 0, -ENODEV, NULL, true);
	/* Datagram cut inside the message. */
	assert_int_equal(vfo_nl_msg_find_ack(b, len - 4, 7, 0, &err, NULL, 0), -EBADMSG);
	/* NLMSG_ERROR too short to hold nlmsgerr. */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 0, &err, NULL, 0), -EBADMSG);
	/* A positive "errno" must never read as success. */
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 0, 5, NULL, true);
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 0, &err, NULL, 0), -EBADMSG);
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 0, -100000, NULL, true);
	assert_int_equal(vfo_nl_msg_find_ack(b, len, 7, 0, &err, NULL, 0), -EBADMSG);
	/* Trailing garbage after a non-matching message. */
	memset(b, 0, sizeof(b));
	len = put_ack(b, 6, 0, 0, NULL, true);
	assert_int_equal(vfo_nl_msg_find_ack(b, len + 7, 7, 0, &err, NULL, 0), -EBADMSG);
	/* Empty datagram: nothing there. */
	assert_int_equal(vfo_nl_msg_find_ack(b, 0, 7, 0, &err, NULL, 0), 0);
	/* Bad extack TLVs are ignored, the error still counts. */
	memset(b, 0, sizeof(b));
	len = put_ack(b, 7, 0, -EINVAL, "why", true);
	nlh->nlmsg_len -= 3; /* cut the last TLV */
	{
		char why[16] = "junk";

		assert_int_equal(
			vfo_nl_msg_find_ack(b, nlh->nlmsg_len, 7, 0, &err, why, sizeof(why)), 1);
		assert_int_equal(err, -EINVAL);
		assert_string_equal(why, "");
	}
}

/* ---- formatting ---- */

static void test_format(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0xab, 0, 0x10, 0xff, 1 };
	char s[32];

	(void)state;
	vfo_nl_hwaddr_str(mac, 6, s, sizeof(s));
	assert_string_equal(s, "02:ab:00:10:ff:01");
	vfo_nl_hwaddr_str(mac, 0, s, sizeof(s));
	assert_string_equal(s, "");
	vfo_nl_hwaddr_str(mac, 6, s, 9); /* room for 3 bytes only */
	assert_string_equal(s, "02:ab:00");
	vfo_nl_hwaddr_str(mac, 6, s, 1);
	assert_string_equal(s, "");
	assert_string_equal(vfo_nl_operstate_str(IF_OPER_UP), "UP");
	assert_string_equal(vfo_nl_operstate_str(IF_OPER_DOWN), "DOWN");
	assert_string_equal(vfo_nl_operstate_str(IF_OPER_LOWERLAYERDOWN), "LOWERLAYERDOWN");
	assert_string_equal(vfo_nl_operstate_str(200), "UNKNOWN");
}

/* ---- VF configuration (nl-vf.c) ---- */

static void test_vf_get(void **state)
{
	const struct nlattr *a;
	int len;

	(void)state;
	len = vfo_nl_msg_vf_get(buf, sizeof(buf), 21, "enp3s0f0");
	check_hdr(buf, len, RTM_GETLINK, 0, 21);
	assert_int_equal(ifi_of(buf)->ifi_index, 0);
	a = top_attr((const void *)buf, sizeof(struct ifinfomsg), IFLA_IFNAME);
	assert_non_null(a);
	assert_string_equal(mnl_attr_get_str(a), "enp3s0f0");
	a = top_attr((const void *)buf, sizeof(struct ifinfomsg), IFLA_EXT_MASK);
	assert_non_null(a);
	/* without RTEXT_FILTER_VF the kernel leaves the VF table out */
	assert_int_equal(mnl_attr_get_u32(a), RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS);
	assert_int_equal(vfo_nl_msg_vf_get(buf, sizeof(buf), 1, NULL), -EINVAL);
	assert_int_equal(vfo_nl_msg_vf_get(buf, sizeof(buf), 1, ""), -EINVAL);
	assert_int_equal(vfo_nl_msg_vf_get(buf, sizeof(buf), 1, "0123456789abcdef"), -EINVAL);
}

static struct vfo_nl_vf sample_vf(void)
{
	struct vfo_nl_vf v = {
		.index = 3,
		.mac = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef },
		.vlan = 4094,
		.qos = 5,
		.spoofchk = true,
		.trust = true,
		.link_state = VFO_NL_VF_LINK_DISABLE,
	};

	return v;
}

/* Build a set for each field, check the exact nesting (LIST > INFO > one
 * attribute), parse it back with the table parser and compare. */
static void test_vf_set_roundtrip(void **state)
{
	static const uint32_t fields[] = { VFO_NL_VF_MAC, VFO_NL_VF_VLAN, VFO_NL_VF_SPOOFCHK,
					   VFO_NL_VF_TRUST, VFO_NL_VF_LINK_STATE };
	static const uint16_t types[] = { IFLA_VF_MAC, IFLA_VF_VLAN, IFLA_VF_SPOOFCHK,
					  IFLA_VF_TRUST, IFLA_VF_LINK_STATE };
	struct vfo_nl_vf v = sample_vf(), out[2];
	const struct nlattr *list, *info, *a;
	size_t i, n;
	int len;

	(void)state;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		len = vfo_nl_msg_vf_set(buf, sizeof(buf), 40 + (uint32_t)i, "pf0", fields[i], &v);
		check_hdr(buf, len, RTM_NEWLINK, NLM_F_ACK, 40 + (uint32_t)i);
		/* a change, never a creation */
		assert_false(((struct nlmsghdr *)buf)->nlmsg_flags & NLM_F_CREATE);
		a = top_attr((const void *)buf, sizeof(struct ifinfomsg), IFLA_IFNAME);
		assert_non_null(a);
		assert_string_equal(mnl_attr_get_str(a), "pf0");
		list = top_attr((const void *)buf, sizeof(struct ifinfomsg), IFLA_VFINFO_LIST);
		assert_non_null(list);
		assert_int_equal(
			count_attrs(mnl_attr_get_payload(list), mnl_attr_get_payload_len(list)), 1);
		info = nested(list, IFLA_VF_INFO);
		assert_non_null(info);
		assert_int_equal(
			count_attrs(mnl_attr_get_payload(info), mnl_attr_get_payload_len(info)), 1);
		a = nested(info, types[i]);
		assert_non_null(a);
		/* every IFLA_VF_* struct starts with the VF index */
		assert_int_equal(*(const uint32_t *)mnl_attr_get_payload(a), 3);

		memset(out, 0xa5, sizeof(out));
		assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(out[0].index, 3);
		assert_int_equal(out[0].mask, fields[i]);
		switch (fields[i]) {
		case VFO_NL_VF_MAC:
			assert_memory_equal(out[0].mac, v.mac, 6);
			break;
		case VFO_NL_VF_VLAN:
			assert_int_equal(out[0].vlan, 4094);
			assert_int_equal(out[0].qos, 5);
			break;
		case VFO_NL_VF_SPOOFCHK:
			assert_true(out[0].spoofchk);
			break;
		case VFO_NL_VF_TRUST:
			assert_true(out[0].trust);
			break;
		default:
			assert_int_equal(out[0].link_state, VFO_NL_VF_LINK_DISABLE);
		}
	}
	/* false values round-trip as false (not as "absent") */
	v.spoofchk = false;
	len = vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_SPOOFCHK, &v);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), 0);
	assert_int_equal(out[0].mask, VFO_NL_VF_SPOOFCHK);
	assert_false(out[0].spoofchk);
	/* VLAN 0 clears */
	v.vlan = 0;
	v.qos = 0;
	len = vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_VLAN, &v);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), 0);
	assert_int_equal(out[0].vlan, 0);
}

static void test_vf_set_invalid(void **state)
{
	struct vfo_nl_vf v = sample_vf();
	size_t sz;
	int need;

	(void)state;
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", 0, &v), -EINVAL);
	/* one field per request, never two */
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0",
					   VFO_NL_VF_MAC | VFO_NL_VF_VLAN, &v),
			 -EINVAL);
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", 1u << 9, &v), -EINVAL);
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, NULL, VFO_NL_VF_MAC, &v), -EINVAL);
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_MAC, NULL),
			 -EINVAL);
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "0123456789abcdef", VFO_NL_VF_MAC,
					   &v),
			 -EINVAL);
	v.vlan = 4096;
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_VLAN, &v),
			 -EINVAL);
	v.vlan = 1;
	v.qos = 8;
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_VLAN, &v),
			 -EINVAL);
	v.link_state = 3;
	assert_int_equal(vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_LINK_STATE, &v),
			 -EINVAL);
	/* every buffer too short by any amount is refused, never overrun */
	v = sample_vf();
	need = vfo_nl_msg_vf_set(buf, sizeof(buf), 1, "pf0", VFO_NL_VF_MAC, &v);
	assert_true(need > 0);
	for (sz = 0; sz < (size_t)need; sz++) {
		void *b = malloc(sz ? sz : 1);

		assert_int_equal(vfo_nl_msg_vf_set(b, sz, 1, "pf0", VFO_NL_VF_MAC, &v), -EMSGSIZE);
		free(b);
	}
	need = vfo_nl_msg_vf_get(buf, sizeof(buf), 1, "pf0");
	for (sz = 0; sz < (size_t)need; sz++) {
		void *b = malloc(sz ? sz : 1);

		assert_int_equal(vfo_nl_msg_vf_get(b, sz, 1, "pf0"), -EMSGSIZE);
		free(b);
	}
}

/* What the kernel sends for a PF (rtnl_fill_vfinfo): every IFLA_VF_*
 * of each VF, spoofchk/trust (u32)-1 when the driver has none. */
struct kvf {
	uint32_t idx;
	uint32_t vlan, qos;
	uint32_t spoofchk, trust, link_state;
	bool no_mac; /* leave IFLA_VF_MAC out */
	uint32_t mac_idx; /* index in IFLA_VF_MAC (normally idx) */
	size_t mac_len; /* payload length of IFLA_VF_MAC */
};

static int kernel_pf(void *b, size_t len, const struct kvf *vfs, size_t n)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *list, *info, *vl, *st;
	size_t i;

	memset(b, 0, len);
	nlh = mnl_nlmsg_put_header(b);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 2;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "enp1s0");
	mnl_attr_put_u32(nlh, IFLA_NUM_VF, (uint32_t)n);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	/* the table last, so truncations below fall inside it */
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	for (i = 0; i < n; i++) {
		const struct kvf *k = &vfs[i];
		struct ifla_vf_mac mac = { .vf = k->mac_idx,
					   .mac = { 0x02, 0, 0, 0, 0, (uint8_t)k->idx } };
		struct ifla_vf_vlan vlan = { .vf = k->idx, .vlan = k->vlan, .qos = k->qos };
		struct ifla_vf_vlan_info vi = {
			.vf = k->idx, .vlan = k->vlan, .qos = k->qos, .vlan_proto = htons(0x8100)
		};
		struct ifla_vf_tx_rate tx = { .vf = k->idx, .rate = 0 };
		struct ifla_vf_rate rate = { .vf = k->idx };
		struct ifla_vf_spoofchk sc = { .vf = k->idx, .setting = k->spoofchk };
		struct ifla_vf_link_state ls = { .vf = k->idx, .link_state = k->link_state };
		struct ifla_vf_rss_query_en rss = { .vf = k->idx, .setting = UINT32_MAX };
		struct ifla_vf_trust tr = { .vf = k->idx, .setting = k->trust };

		info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
		if (!k->no_mac)
			mnl_attr_put(nlh, IFLA_VF_MAC, k->mac_len ? k->mac_len : sizeof(mac), &mac);
		mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(vlan), &vlan);
		vl = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
		mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
		mnl_attr_nest_end(nlh, vl);
		mnl_attr_put(nlh, IFLA_VF_TX_RATE, sizeof(tx), &tx);
		mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(rate), &rate);
		mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(sc), &sc);
		mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
		mnl_attr_put(nlh, IFLA_VF_RSS_QUERY_EN, sizeof(rss), &rss);
		st = mnl_attr_nest_start(nlh, IFLA_VF_STATS);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_RX_PACKETS, 12);
		mnl_attr_nest_end(nlh, st);
		mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(tr), &tr);
		mnl_attr_nest_end(nlh, info);
	}
	mnl_attr_nest_end(nlh, list);
	return (int)nlh->nlmsg_len;
}

static void test_parse_vfs_kernel(void **state)
{
	struct kvf k[3] = {
		{ .idx = 0, .spoofchk = 1, .trust = 0, .link_state = 0, .mac_idx = 0 },
		{ .idx = 1,
		  .vlan = 100,
		  .qos = 3,
		  .spoofchk = 0,
		  .trust = 1,
		  .link_state = 2,
		  .mac_idx = 1 },
		/* a driver without spoofchk and trust */
		{ .idx = 2, .spoofchk = UINT32_MAX, .trust = UINT32_MAX, .mac_idx = 2 },
	};
	struct vfo_nl_vf out[3];
	size_t n;
	int len;

	(void)state;
	len = kernel_pf(buf, sizeof(buf), k, 3);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].index, 0);
	assert_int_equal(out[0].mask, VFO_NL_VF_MAC | VFO_NL_VF_VLAN | VFO_NL_VF_SPOOFCHK |
					      VFO_NL_VF_TRUST | VFO_NL_VF_LINK_STATE);
	assert_true(out[0].spoofchk);
	assert_false(out[0].trust);
	assert_int_equal(out[0].vlan, 0);
	assert_int_equal(out[1].index, 1);
	assert_int_equal(out[1].mac[5], 1);
	assert_int_equal(out[1].vlan, 100);
	assert_int_equal(out[1].qos, 3);
	assert_false(out[1].spoofchk);
	assert_true(out[1].trust);
	assert_int_equal(out[1].link_state, VFO_NL_VF_LINK_DISABLE);
	assert_int_equal(out[2].mask, VFO_NL_VF_MAC | VFO_NL_VF_VLAN | VFO_NL_VF_LINK_STATE);
	/* room for fewer: the count still says how many there are */
	memset(out, 0, sizeof(out));
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 1, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].index, 0);
	assert_int_equal(out[1].mask, 0);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, NULL, 0, &n), 0);
	assert_int_equal(n, 3);
	/* a PF with SR-IOV off, or any link: no table, no VFs */
	len = kernel_pf(buf, sizeof(buf), k, 0);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 3, &n), 0);
	assert_int_equal(n, 0);
	len = kernel_link(buf, sizeof(buf), &(struct kopts){ .ifindex = 3, .name = "eth0" });
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 3, &n), 0);
	assert_int_equal(n, 0);
}

static void test_parse_vfs_malformed(void **state)
{
	struct kvf k = { .idx = 4, .spoofchk = 1, .trust = 1, .mac_idx = 4 };
	struct vfo_nl_vf out[2];
	struct nlmsghdr *nlh = (void *)buf;
	size_t n;
	int len, cut, list_len;

	(void)state;
	/* an IFLA_VF_MAC shorter than struct ifla_vf_mac */
	k.mac_len = 8;
	len = kernel_pf(buf, sizeof(buf), &k, 1);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), -EBADMSG);
	assert_int_equal(n, 0);
	/* attributes of two VFs mixed in one entry */
	k.mac_len = 0;
	k.mac_idx = 5;
	len = kernel_pf(buf, sizeof(buf), &k, 1);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), -EBADMSG);
	/* VLAN id beyond 4095 */
	k.mac_idx = 4;
	k.vlan = 5000;
	len = kernel_pf(buf, sizeof(buf), &k, 1);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), -EBADMSG);
	/* well-formed again */
	k.vlan = 7;
	len = kernel_pf(buf, sizeof(buf), &k, 1);
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].index, 4);
	/* every truncation inside the VF table is refused (cutting the
	 * whole table off leaves a valid link without VFs) */
	list_len = (int)MNL_ALIGN(
		top_attr((const void *)buf, sizeof(struct ifinfomsg), IFLA_VFINFO_LIST)->nla_len);
	for (cut = 1; cut < list_len; cut++) {
		nlh->nlmsg_len = (uint32_t)(len - cut);
		if (vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n) != -EBADMSG)
			fail_msg("accepted the message cut by %d bytes", cut);
	}
	nlh->nlmsg_len = (uint32_t)len;
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len - 4, out, 2, &n), -EBADMSG);
	/* another message type */
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(vfo_nl_parse_vfs(buf, (size_t)len, out, 2, &n), -ENOMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_dump),
		cmocka_unit_test(test_link_get),
		cmocka_unit_test(test_link_del),
		cmocka_unit_test(test_set_master),
		cmocka_unit_test(test_set_mtu),
		cmocka_unit_test(test_set_up),
		cmocka_unit_test(test_bond_create),
		cmocka_unit_test(test_bond_create_minimal),
		cmocka_unit_test(test_bond_create_invalid),
		cmocka_unit_test(test_bond_set_primary_and_active),
		cmocka_unit_test(test_addr_v4),
		cmocka_unit_test(test_addr_v6),
		cmocka_unit_test(test_addr_invalid),
		cmocka_unit_test(test_route_v4_default),
		cmocka_unit_test(test_route_v6_prefix_big_table),
		cmocka_unit_test(test_route_invalid),
		cmocka_unit_test(test_fdb),
		cmocka_unit_test(test_dumps),
		cmocka_unit_test(test_builders_short_buffer),
		cmocka_unit_test(test_parse_link_full),
		cmocka_unit_test(test_parse_link_bond),
		cmocka_unit_test(test_parse_link_bridge_port_and_unknown),
		cmocka_unit_test(test_parse_link_no_carrier_attr),
		cmocka_unit_test(test_parse_link_truncated),
		cmocka_unit_test(test_parse_link_bad_attr_lengths),
		cmocka_unit_test(test_parse_link_bad_nested),
		cmocka_unit_test(test_parse_link_missing_and_wrong_type),
		cmocka_unit_test(test_parse_addr_malformed),
		cmocka_unit_test(test_parse_route_malformed),
		cmocka_unit_test(test_find_ack),
		cmocka_unit_test(test_find_ack_malformed),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_vf_get),
		cmocka_unit_test(test_vf_set_roundtrip),
		cmocka_unit_test(test_vf_set_invalid),
		cmocka_unit_test(test_parse_vfs_kernel),
		cmocka_unit_test(test_parse_vfs_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
