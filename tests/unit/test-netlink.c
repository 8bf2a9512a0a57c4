// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The socket layer: read-only requests against the running kernel (any
 * namespace has lo; nothing is changed), and the link monitor driven with
 * injected recv() results: events, bridge-port noise, malformed datagrams
 * and ENOBUFS, which must be counted and answered with a full resync.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net/if.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include <cmocka.h>

#include "log.h"
#include "netlink.h"

#define GHOST_IFINDEX 0x7ffff000
#define MAX_EVENTS 512

struct event {
	enum vfo_nl_event ev;
	int ifindex;
	char name[IFNAMSIZ];
	uint32_t mtu;
	int master;
};

struct fixture {
	struct vfo_nl *nl;
	struct vfo_nl_mon *mon;
	struct event ev[MAX_EVENTS];
	size_t n_ev;
	int warnings;
	char last_warning[256];
};

static void record(enum vfo_nl_event ev, const struct vfo_nl_link *l, void *opaque)
{
	struct fixture *f = opaque;
	struct event *e;

	assert_true(f->n_ev < MAX_EVENTS);
	e = &f->ev[f->n_ev++];
	e->ev = ev;
	e->ifindex = l->ifindex;
	snprintf(e->name, sizeof(e->name), "%s", l->name);
	e->mtu = l->mtu;
	e->master = l->master;
}

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	struct fixture *f = opaque;

	(void)comp;
	if (level <= VFO_LOG_WARNING) {
		f->warnings++;
		snprintf(f->last_warning, sizeof(f->last_warning), "%s", msg);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(vfo_nl_open(&f->nl, NULL), 0);
	assert_int_equal(vfo_nl_mon_open(&f->mon, f->nl, record, f), 0);
	vfo_log_set_sink(sink, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfo_log_set_sink(NULL, NULL);
	vfo_nl_mon_close(f->mon);
	vfo_nl_close(f->nl);
	free(f);
	return 0;
}

/* A kernel-shaped link event. */
static size_t link_event(uint8_t *b, uint16_t type, uint8_t family, int ifindex, const char *name,
			 uint32_t mtu, int master)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(b, 0, 512);
	nlh = mnl_nlmsg_put_header(b);
	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = family;
	ifi->ifi_index = ifindex;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_DOWN);
	return nlh->nlmsg_len;
}

static const struct event *find_ev(struct fixture *f, enum vfo_nl_event ev, int ifindex)
{
	size_t i;

	for (i = 0; i < f->n_ev; i++)
		if (f->ev[i].ev == ev && f->ev[i].ifindex == ifindex)
			return &f->ev[i];
	return NULL;
}

/* ---- requests against the kernel (read-only) ---- */

static void test_dump_has_lo(void **state)
{
	struct fixture *f = *state;
	struct vfo_nl_link *links;
	size_t n, i, j;
	bool lo = false;

	assert_int_equal(vfo_nl_link_dump(f->nl, &links, &n), 0);
	assert_true(n >= 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(links[i].family, AF_UNSPEC);
		assert_true(links[i].ifindex > 0);
		assert_true(links[i].name[0] != '\0');
		for (j = i + 1; j < n; j++)
			assert_int_not_equal(links[i].ifindex, links[j].ifindex);
		if (!strcmp(links[i].name, "lo")) {
			lo = true;
			assert_true(links[i].flags & IFF_LOOPBACK);
			assert_true(links[i].mtu > 0);
			assert_string_equal(links[i].driver, "");
			assert_string_equal(links[i].pci_addr, "");
		}
	}
	assert_true(lo);
	/* The monitor learned the same links at open. */
	assert_int_equal(vfo_nl_mon_known(f->mon), n);
	free(links);
}

static void test_get_lo(void **state)
{
	struct fixture *f = *state;
	struct vfo_nl_link a, b;

	assert_int_equal(vfo_nl_link_get(f->nl, 0, "lo", &a), 0);
	assert_string_equal(a.name, "lo");
	assert_int_equal(vfo_nl_link_get(f->nl, a.ifindex, NULL, &b), 0);
	assert_string_equal(b.name, "lo");
	assert_int_equal(a.ifindex, b.ifindex);
	assert_int_equal(a.mtu, b.mtu);
	assert_int_equal(vfo_nl_link_get(f->nl, 0, "vfo-nosuch0", &a), -ENODEV);
	assert_int_equal(vfo_nl_link_get(f->nl, GHOST_IFINDEX, NULL, &a), -ENODEV);
	assert_int_equal(vfo_nl_link_get(f->nl, 0, NULL, &a), -EINVAL);
}

static void test_request_errors(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[256];
	int ret, len;

	/* The kernel's -errno comes back (EPERM when not privileged). */
	ret = vfo_nl_set_mtu(f->nl, GHOST_IFINDEX, 1500);
	assert_true(ret == -ENODEV || ret == -EPERM);
	ret = vfo_nl_set_master(f->nl, GHOST_IFINDEX, 0);
	assert_true(ret == -ENODEV || ret == -EPERM);
	ret = vfo_nl_bond_set_primary(f->nl, GHOST_IFINDEX, 0);
	assert_true(ret == -ENODEV || ret == -EPERM);
	/* Builder refusals never reach the kernel. */
	assert_int_equal(vfo_nl_set_mtu(f->nl, 1, 0), -EINVAL);
	assert_int_equal(vfo_nl_bond_set_active(f->nl, 1, -3), -EINVAL);
	assert_int_equal(vfo_nl_bond_create(f->nl, "", NULL), -EINVAL);
	/* A message whose header disagrees with its length. */
	len = vfo_nl_msg_set_mtu(buf, sizeof(buf), 0, GHOST_IFINDEX, 1500);
	assert_true(len > 0);
	assert_int_equal(vfo_nl_request(f->nl, buf, (size_t)len - 4), -EINVAL);
	assert_int_equal(vfo_nl_request(f->nl, buf, 3), -EINVAL);
	/* Several requests in a row: each matched to its own ACK. */
	for (int i = 0; i < 5; i++) {
		len = vfo_nl_msg_set_mtu(buf, sizeof(buf), 0, GHOST_IFINDEX, 1500);
		ret = vfo_nl_request(f->nl, buf, (size_t)len);
		assert_true(ret == -ENODEV || ret == -EPERM);
	}
}

static void test_addr_route_dump(void **state)
{
	struct fixture *f = *state;
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	struct vfo_nl_addr *addrs;
	struct vfo_nl_route *routes;
	struct vfo_nl_link lo;
	size_t n, i;
	bool found = false;

	assert_int_equal(vfo_nl_link_get(f->nl, 0, "lo", &lo), 0);
	assert_int_equal(vfo_nl_addr_dump(f->nl, AF_UNSPEC, &addrs, &n), 0);
	for (i = 0; i < n; i++) {
		assert_true(addrs[i].family == AF_INET || addrs[i].family == AF_INET6);
		assert_true(addrs[i].has_address || addrs[i].has_local);
		if (addrs[i].family == AF_INET && addrs[i].ifindex == lo.ifindex &&
		    !memcmp(addrs[i].local, lo4, 4))
			found = true;
	}
	/* A fresh namespace has lo down and without addresses. */
	if (lo.flags & IFF_UP)
		assert_true(found);
	free(addrs);
	assert_int_equal(vfo_nl_addr_dump(f->nl, AF_INET6, &addrs, &n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(addrs[i].family, AF_INET6);
	free(addrs);
	assert_int_equal(vfo_nl_route_dump(f->nl, AF_INET, &routes, &n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(routes[i].family, AF_INET);
	free(routes);
	assert_int_equal(vfo_nl_addr_dump(f->nl, AF_PACKET, &addrs, &n), -EINVAL);
}

/* ---- monitor with injected input ---- */

static void test_mon_fd(void **state)
{
	struct fixture *f = *state;
	int fd = vfo_nl_mon_fd(f->mon);

	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Nothing queued (or only real events): never blocks, no error. */
	assert_int_equal(vfo_nl_mon_process(f->mon), 0);
}

static void test_mon_new_change_del(void **state)
{
	struct fixture *f = *state;
	size_t known = vfo_nl_mon_known(f->mon), len;
	uint8_t b[512];

	f->n_ev = 0;
	len = link_event(b, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(f->n_ev, 1);
	assert_int_equal(f->ev[0].ev, VFO_NL_LINK_NEW);
	assert_int_equal(f->ev[0].ifindex, GHOST_IFINDEX);
	assert_string_equal(f->ev[0].name, "ghost0");
	assert_int_equal(vfo_nl_mon_known(f->mon), known + 1);

	len = link_event(b, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 1400, 7);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(f->n_ev, 2);
	assert_int_equal(f->ev[1].ev, VFO_NL_LINK_CHANGE);
	assert_int_equal(f->ev[1].mtu, 1400);
	assert_int_equal(f->ev[1].master, 7);

	/* Leaving a bridge: AF_BRIDGE RTM_DELLINK. Not a removal. */
	len = link_event(b, RTM_DELLINK, AF_BRIDGE, GHOST_IFINDEX, "ghost0", 1400, 7);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(f->n_ev, 2);
	assert_int_equal(vfo_nl_mon_known(f->mon), known + 1);

	len = link_event(b, RTM_DELLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 1400, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(f->n_ev, 3);
	assert_int_equal(f->ev[2].ev, VFO_NL_LINK_DEL);
	assert_int_equal(f->ev[2].ifindex, GHOST_IFINDEX);
	assert_int_equal(vfo_nl_mon_known(f->mon), known);

	/* A removal of a link never seen is still reported. */
	len = link_event(b, RTM_DELLINK, AF_UNSPEC, GHOST_IFINDEX + 1, "ghost1", 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(f->n_ev, 4);
	assert_int_equal(f->ev[3].ev, VFO_NL_LINK_DEL);
	assert_int_equal(vfo_nl_mon_known(f->mon), known);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 0);
}

static void test_mon_batch(void **state)
{
	struct fixture *f = *state;
	uint8_t b[1024];
	size_t len;

	/* Several messages in one datagram, in order. */
	f->n_ev = 0;
	len = link_event(b, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 1500, 0);
	len += link_event(b + len, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 9000, 0);
	len += link_event(b + len, RTM_DELLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 9000, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(f->n_ev, 3);
	assert_int_equal(f->ev[0].ev, VFO_NL_LINK_NEW);
	assert_int_equal(f->ev[1].ev, VFO_NL_LINK_CHANGE);
	assert_int_equal(f->ev[1].mtu, 9000);
	assert_int_equal(f->ev[2].ev, VFO_NL_LINK_DEL);
}

static void test_mon_enobufs_resync(void **state)
{
	struct fixture *f = *state;
	size_t len, known;
	uint8_t b[512];
	const struct event *e;

	len = link_event(b, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	f->n_ev = 0;
	f->warnings = 0;
	assert_int_equal(vfo_nl_mon_enobufs(f->mon), 0);

	assert_int_equal(vfo_nl_mon_input(f->mon, NULL, -ENOBUFS), 0);
	assert_int_equal(vfo_nl_mon_enobufs(f->mon), 1);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 1);
	assert_true(f->warnings >= 1);
	assert_non_null(strstr(f->last_warning, "ENOBUFS"));
	/* The ghost is gone from the kernel's view: removed. */
	e = find_ev(f, VFO_NL_LINK_DEL, GHOST_IFINDEX);
	assert_non_null(e);
	assert_string_equal(e->name, "ghost0");
	/* Every real link is reported as resynced, lo among them. */
	known = vfo_nl_mon_known(f->mon);
	assert_int_equal(f->n_ev, known + 1);
	e = find_ev(f, VFO_NL_LINK_RESYNC, 1);
	assert_non_null(e);
	assert_string_equal(e->name, "lo");

	/* And again: counted each time. */
	assert_int_equal(vfo_nl_mon_input(f->mon, NULL, -ENOBUFS), 0);
	assert_int_equal(vfo_nl_mon_enobufs(f->mon), 2);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 2);
}

static void test_mon_malformed_resyncs(void **state)
{
	struct fixture *f = *state;
	uint8_t b[512];
	size_t len;

	/* Truncated datagram. */
	len = link_event(b, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, "ghost0", 1500, 0);
	f->n_ev = 0;
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len - 5), 0);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 1);
	assert_null(find_ev(f, VFO_NL_LINK_NEW, GHOST_IFINDEX));
	assert_non_null(find_ev(f, VFO_NL_LINK_RESYNC, 1));

	/* A link event without a name: state unknown, resync. */
	len = link_event(b, RTM_NEWLINK, AF_UNSPEC, GHOST_IFINDEX, NULL, 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 2);

	/* NLMSG_OVERRUN. */
	len = link_event(b, NLMSG_OVERRUN, AF_UNSPEC, 1, "lo", 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 3);

	/* Other message types are ignored: no resync, no event. */
	f->n_ev = 0;
	len = link_event(b, RTM_NEWADDR, AF_INET, 1, "lo", 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	len = link_event(b, NLMSG_NOOP, AF_UNSPEC, 1, "lo", 1500, 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, (ssize_t)len), 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, b, 0), 0);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 3);
	assert_int_equal(vfo_nl_mon_enobufs(f->mon), 0);
}

static void test_mon_recv_errors(void **state)
{
	struct fixture *f = *state;

	f->n_ev = 0;
	assert_int_equal(vfo_nl_mon_input(f->mon, NULL, -EAGAIN), 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, NULL, -EINTR), 0);
	assert_int_equal(vfo_nl_mon_input(f->mon, NULL, -EIO), -EIO);
	assert_int_equal(f->n_ev, 0);
	assert_int_equal(vfo_nl_mon_resyncs(f->mon), 0);
}

static void test_mon_explicit_resync(void **state)
{
	struct fixture *f = *state;
	size_t known = vfo_nl_mon_known(f->mon), i;

	f->n_ev = 0;
	assert_int_equal(vfo_nl_mon_resync(f->mon), 0);
	assert_int_equal(f->n_ev, known);
	for (i = 0; i < f->n_ev; i++)
		assert_int_equal(f->ev[i].ev, VFO_NL_LINK_RESYNC);
	assert_int_equal(vfo_nl_mon_enobufs(f->mon), 0);
}

static void test_mon_open_invalid(void **state)
{
	struct fixture *f = *state;
	struct vfo_nl_mon *m = NULL;

	assert_int_equal(vfo_nl_mon_open(&m, NULL, record, f), -EINVAL);
	assert_int_equal(vfo_nl_mon_open(&m, f->nl, NULL, f), -EINVAL);
	assert_null(m);
	vfo_nl_mon_close(NULL);
	vfo_nl_close(NULL);
}

static void test_event_names(void **state)
{
	(void)state;
	assert_string_equal(vfo_nl_event_str(VFO_NL_LINK_NEW), "new");
	assert_string_equal(vfo_nl_event_str(VFO_NL_LINK_CHANGE), "change");
	assert_string_equal(vfo_nl_event_str(VFO_NL_LINK_DEL), "del");
	assert_string_equal(vfo_nl_event_str(VFO_NL_LINK_RESYNC), "resync");
	assert_string_equal(vfo_nl_event_str((enum vfo_nl_event)42), "?");
}

static void test_open_opts(void **state)
{
	struct vfo_nl_opts o = { .sysfs_root = "/nonexistent-vfo",
				 .timeout_ms = 500,
				 .no_ethtool = true };
	struct vfo_nl *nl;
	struct vfo_nl_link l;

	(void)state;
	assert_int_equal(vfo_nl_open(&nl, &o), 0);
	/* A missing sysfs tree leaves driver/PCI empty, not an error. */
	assert_int_equal(vfo_nl_link_get(nl, 0, "lo", &l), 0);
	assert_string_equal(l.driver, "");
	vfo_nl_close(nl);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_dump_has_lo),
		T(test_get_lo),
		T(test_request_errors),
		T(test_addr_route_dump),
		T(test_mon_fd),
		T(test_mon_new_change_del),
		T(test_mon_batch),
		T(test_mon_enobufs_resync),
		T(test_mon_malformed_resyncs),
		T(test_mon_recv_errors),
		T(test_mon_explicit_resync),
		T(test_mon_open_invalid),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_open_opts),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
