// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-nltool: a small command line over common/netlink for shell tests and
 * guest VMs. Output is one JSON object per line, keys in a fixed order.
 *
 *   vfo-nltool [--sysfs ROOT] [--timeout MS] [--rcvbuf BYTES] COMMAND ...
 *
 *   dump                        every link
 *   link-get DEV
 *   check-ip                    read `ip -j link show` on stdin and compare
 *                               name, ifindex, MAC, MTU, master, operstate
 *                               with our own dump; exit 1 on a difference
 *   monitor N [TIMEOUT_MS [STALL_MS]]
 *                               print N link events, then exit (1 on
 *                               timeout); "monitor ready" on stderr once
 *                               subscribed; STALL_MS: do not read for that
 *                               long first (with a tiny --rcvbuf, to make
 *                               the kernel drop events: ENOBUFS)
 *   set-master DEV MASTER|none  set-mtu DEV MTU   set-up DEV   set-down DEV
 *   link-del DEV
 *   bond-create NAME [miimon=N] [primary=DEV] [primary_reselect=always|
 *               better|failure] [num_peer_notif=N] [peer_notif_delay=N]
 *               [updelay=N] [downdelay=N] [fail_over_mac=none|active|follow]
 *   bond-enslave BOND DEV   bond-release DEV
 *   bond-set-primary BOND DEV|none   bond-set-active BOND DEV|none
 *   bond-show BOND              the bond's options and its slaves
 *   addrs [DEV]   routes [4|6]
 *   addr-add DEV ADDR/PLEN   addr-del DEV ADDR/PLEN
 *   route-add DST/PLEN|default [via GW] dev DEV [metric N]
 *   route-del (same arguments)
 *
 * Errors go to stderr as "vfo-nltool: CMD: strerror"; the exit code is 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net/if.h>
#include <linux/rtnetlink.h>
#include <json-c/json.h>

#include "log.h"
#include "netlink.h"
#include "util.h"

static struct vfo_nl *nl;

static int fail(const char *what, int err)
{
	fprintf(stderr, "vfo-nltool: %s: %s\n", what, strerror(-err));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: vfo-nltool [--sysfs ROOT] [--timeout MS] [--rcvbuf BYTES]"
			" COMMAND ...\n"
			"  dump | link-get DEV | check-ip |"
			" monitor N [TIMEOUT_MS [STALL_MS]]\n"
			"  set-master DEV MASTER|none | set-mtu DEV MTU | set-up DEV |"
			" set-down DEV | link-del DEV\n"
			"  bond-create NAME [key=value...] | bond-enslave BOND DEV |"
			" bond-release DEV\n"
			"  bond-set-primary BOND DEV|none | bond-set-active BOND DEV|none"
			" | bond-show BOND\n"
			"  addrs [DEV] | routes [4|6] | addr-add|addr-del DEV ADDR/PLEN\n"
			"  route-add|route-del DST/PLEN|default [via GW] dev DEV"
			" [metric N]\n");
	return 2;
}

static int ifindex_of(const char *name, int *ifindex)
{
	struct vfo_nl_link l;
	int ret;

	if (!strcmp(name, "none")) {
		*ifindex = 0;
		return 0;
	}
	ret = vfo_nl_link_get(nl, 0, name, &l);
	if (ret)
		return ret;
	*ifindex = l.ifindex;
	return 0;
}

static const char *name_of(int ifindex, char *buf)
{
	struct vfo_nl_link l;

	if (ifindex <= 0 || vfo_nl_link_get(nl, ifindex, NULL, &l))
		return NULL;
	memcpy(buf, l.name, IFNAMSIZ);
	return buf;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static const char *slave_state_str(uint8_t s)
{
	return s == VFO_NL_BOND_SLAVE_ACTIVE ? "active" : "backup";
}

static json_object *link_json(const struct vfo_nl_link *l, const char *event)
{
	json_object *o = json_object_new_object();
	char mac[3 * VFO_NL_HWADDR_MAX + 1];

	if (event)
		add_str(o, "event", event);
	add_int(o, "ifindex", l->ifindex);
	add_str(o, "name", l->name);
	vfo_nl_hwaddr_str(l->addr, l->addr_len, mac, sizeof(mac));
	add_str(o, "mac", mac);
	vfo_nl_hwaddr_str(l->perm_addr, l->perm_addr_len, mac, sizeof(mac));
	add_str(o, "perm_mac", mac);
	add_int(o, "mtu", l->mtu);
	add_int(o, "master", l->master);
	add_str(o, "operstate", vfo_nl_operstate_str(l->operstate));
	add_int(o, "carrier", l->carrier);
	json_object_object_add(o, "up", json_object_new_boolean(l->flags & IFF_UP));
	add_str(o, "kind", l->kind);
	add_str(o, "slave_kind", l->slave_kind);
	add_str(o, "driver", l->driver);
	add_str(o, "pci", l->pci_addr);
	if (l->has_bond_slave && (l->bond_slave.mask & VFO_NL_SLAVE_F_STATE))
		add_str(o, "slave_state", slave_state_str(l->bond_slave.state));
	return o;
}

static int cmd_dump(void)
{
	struct vfo_nl_link *links;
	size_t n, i;
	int ret;

	ret = vfo_nl_link_dump(nl, &links, &n);
	if (ret)
		return fail("dump", ret);
	for (i = 0; i < n; i++)
		print_json(link_json(&links[i], NULL));
	free(links);
	return 0;
}

static int cmd_link_get(const char *name)
{
	struct vfo_nl_link l;
	int ret;

	ret = vfo_nl_link_get(nl, 0, name, &l);
	if (ret)
		return fail("link-get", ret);
	print_json(link_json(&l, NULL));
	return 0;
}

/* ---- check-ip: the differential test against iproute2 ---- */

static const struct vfo_nl_link *by_name(const struct vfo_nl_link *links, size_t n,
					 const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(links[i].name, name))
			return &links[i];
	return NULL;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

static int check_one(json_object *ip, const struct vfo_nl_link *links, size_t n)
{
	const char *name = jstr(ip, "ifname"), *s;
	const struct vfo_nl_link *l, *m;
	char mac[3 * VFO_NL_HWADDR_MAX + 1];
	int bad = 0;

	if (!name) {
		fprintf(stderr, "check-ip: entry without ifname\n");
		return 1;
	}
	l = by_name(links, n, name);
	if (!l) {
		fprintf(stderr, "check-ip: %s: missing from our dump\n", name);
		return 1;
	}
#define MISMATCH(field, fmt, a, b)                                                                 \
	do {                                                                                       \
		fprintf(stderr, "check-ip: %s: %s: ip " fmt ", vfo " fmt "\n", name, field, a, b); \
		bad = 1;                                                                           \
	} while (0)
	if (jint(ip, "ifindex") != l->ifindex)
		MISMATCH("ifindex", "%lld", (long long)jint(ip, "ifindex"), (long long)l->ifindex);
	if (jint(ip, "mtu") != (int64_t)l->mtu)
		MISMATCH("mtu", "%lld", (long long)jint(ip, "mtu"), (long long)l->mtu);
	vfo_nl_hwaddr_str(l->addr, l->addr_len, mac, sizeof(mac));
	s = jstr(ip, "address");
	if (strcmp(s ? s : "", mac))
		MISMATCH("address", "%s", s ? s : "(none)", mac);
	s = jstr(ip, "operstate");
	if (strcmp(s ? s : "", vfo_nl_operstate_str(l->operstate)))
		MISMATCH("operstate", "%s", s ? s : "(none)", vfo_nl_operstate_str(l->operstate));
	s = jstr(ip, "master");
	m = s ? by_name(links, n, s) : NULL;
	if ((s && (!m || m->ifindex != l->master)) || (!s && l->master))
		MISMATCH("master", "%s", s ? s : "(none)", l->master ? "(set)" : "(none)");
#undef MISMATCH
	return bad;
}

static int cmd_check_ip(void)
{
	struct json_tokener *tok = json_tokener_new();
	struct vfo_nl_link *links;
	char chunk[4096];
	json_object *arr = NULL;
	size_t n, i, nread;
	int ret, bad = 0;

	while (!arr && (nread = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		arr = json_tokener_parse_ex(tok, chunk, (int)nread);
		if (!arr && json_tokener_get_error(tok) != json_tokener_continue)
			break;
	}
	json_tokener_free(tok);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		fprintf(stderr, "check-ip: stdin is not a JSON array\n");
		return 1;
	}
	ret = vfo_nl_link_dump(nl, &links, &n);
	if (ret) {
		json_object_put(arr);
		return fail("dump", ret);
	}
	for (i = 0; i < json_object_array_length(arr); i++)
		bad |= check_one(json_object_array_get_idx(arr, i), links, n);
	if (json_object_array_length(arr) != n) {
		fprintf(stderr, "check-ip: ip lists %zu links, vfo %zu\n",
			json_object_array_length(arr), n);
		bad = 1;
	}
	if (!bad)
		printf("check-ip: %zu links agree\n", n);
	free(links);
	json_object_put(arr);
	return bad;
}

/* ---- monitor ---- */

struct mon_state {
	long left;
};

static void mon_cb(enum vfo_nl_event ev, const struct vfo_nl_link *l, void *opaque)
{
	struct mon_state *st = opaque;

	if (st->left <= 0)
		return;
	print_json(link_json(l, vfo_nl_event_str(ev)));
	st->left--;
}

static int cmd_monitor(const char *count, const char *timeout, const char *stall)
{
	struct mon_state st;
	struct vfo_nl_mon *mon;
	uint32_t n, tmo = 10000, stall_ms = 0;
	int64_t deadline;
	int ret;

	if (parse_u32(count, &n) || (timeout && parse_u32(timeout, &tmo)) ||
	    (stall && parse_u32(stall, &stall_ms)))
		return usage();
	st.left = n;
	ret = vfo_nl_mon_open(&mon, nl, mon_cb, &st);
	if (ret)
		return fail("monitor", ret);
	fprintf(stderr, "monitor ready\n");
	deadline = vfo_now_ms() + tmo;
	if (stall_ms)
		poll(NULL, 0, (int)stall_ms);
	ret = 0;
	while (st.left > 0 && !ret) {
		struct pollfd pfd = { .fd = vfo_nl_mon_fd(mon), .events = POLLIN };
		int64_t left = deadline - vfo_now_ms();

		if (left <= 0) {
			fprintf(stderr,
				"vfo-nltool: monitor: timed out with "
				"%ld events missing\n",
				st.left);
			ret = 1;
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			ret = -errno;
		else
			ret = vfo_nl_mon_process(mon);
	}
	if (vfo_nl_mon_enobufs(mon))
		fprintf(stderr, "monitor: %llu ENOBUFS, %llu resyncs\n",
			(unsigned long long)vfo_nl_mon_enobufs(mon),
			(unsigned long long)vfo_nl_mon_resyncs(mon));
	vfo_nl_mon_close(mon);
	if (ret == 1)
		return 1;
	return ret ? fail("monitor", ret) : 0;
}

/* ---- link changes ---- */

static int cmd_set_master(const char *dev, const char *master)
{
	int i, m, ret;

	ret = ifindex_of(dev, &i);
	if (!ret)
		ret = ifindex_of(master, &m);
	if (!ret)
		ret = vfo_nl_set_master(nl, i, m);
	return ret ? fail("set-master", ret) : 0;
}

static int cmd_set_mtu(const char *dev, const char *mtu)
{
	uint32_t v;
	int i, ret;

	if (parse_u32(mtu, &v))
		return usage();
	ret = ifindex_of(dev, &i);
	if (!ret)
		ret = vfo_nl_set_mtu(nl, i, v);
	return ret ? fail("set-mtu", ret) : 0;
}

static int cmd_set_up(const char *dev, bool up)
{
	int i, ret;

	ret = ifindex_of(dev, &i);
	if (!ret)
		ret = vfo_nl_set_up(nl, i, up);
	return ret ? fail(up ? "set-up" : "set-down", ret) : 0;
}

static int cmd_link_del(const char *dev)
{
	int i, ret;

	ret = ifindex_of(dev, &i);
	if (!ret)
		ret = vfo_nl_link_del(nl, i);
	return ret ? fail("link-del", ret) : 0;
}

/* ---- bonds ---- */

static int lookup(const char *const *names, size_t n, const char *s, uint8_t *out)
{
	uint32_t v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(names[i], s)) {
			*out = (uint8_t)i;
			return 0;
		}
	}
	if (parse_u32(s, &v) || v > 255)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

static int bond_opt(struct vfo_nl_bond *o, const char *arg)
{
	static const char *const reselect[] = { "always", "better", "failure" };
	static const char *const fom[] = { "none", "active", "follow" };
	const char *eq = strchr(arg, '=');
	char key[32];
	uint32_t v = 0;
	int idx = 0, ret;

	if (!eq || (size_t)(eq - arg) >= sizeof(key))
		return -EINVAL;
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	eq++;
	if (!strcmp(key, "primary")) {
		ret = ifindex_of(eq, &idx);
		o->primary = (uint32_t)idx;
		o->mask |= VFO_NL_BOND_F_PRIMARY;
		return ret;
	}
	if (!strcmp(key, "primary_reselect")) {
		o->mask |= VFO_NL_BOND_F_PRIMARY_RESELECT;
		return lookup(reselect, 3, eq, &o->primary_reselect);
	}
	if (!strcmp(key, "fail_over_mac")) {
		o->mask |= VFO_NL_BOND_F_FAIL_OVER_MAC;
		return lookup(fom, 3, eq, &o->fail_over_mac);
	}
	if (parse_u32(eq, &v))
		return -EINVAL;
	if (!strcmp(key, "mode") && v <= 255) {
		o->mode = (uint8_t)v;
	} else if (!strcmp(key, "miimon")) {
		o->miimon = v;
		o->mask |= VFO_NL_BOND_F_MIIMON;
	} else if (!strcmp(key, "updelay")) {
		o->updelay = v;
		o->mask |= VFO_NL_BOND_F_UPDELAY;
	} else if (!strcmp(key, "downdelay")) {
		o->downdelay = v;
		o->mask |= VFO_NL_BOND_F_DOWNDELAY;
	} else if (!strcmp(key, "num_peer_notif") && v <= 255) {
		o->num_peer_notif = (uint8_t)v;
		o->mask |= VFO_NL_BOND_F_NUM_PEER_NOTIF;
	} else if (!strcmp(key, "peer_notif_delay")) {
		o->peer_notif_delay = v;
		o->mask |= VFO_NL_BOND_F_PEER_NOTIF_DELAY;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int cmd_bond_create(int argc, char **argv)
{
	struct vfo_nl_bond o = { .mask = VFO_NL_BOND_F_MODE,
				 .mode = VFO_NL_BOND_MODE_ACTIVE_BACKUP };
	int i, ret;

	for (i = 1; i < argc; i++) {
		ret = bond_opt(&o, argv[i]);
		if (ret) {
			fprintf(stderr,
				"vfo-nltool: bond-create: bad option "
				"'%s'\n",
				argv[i]);
			return 2;
		}
	}
	ret = vfo_nl_bond_create(nl, argv[0], &o);
	return ret ? fail("bond-create", ret) : 0;
}

static int cmd_bond_two(const char *cmd, const char *bond, const char *dev)
{
	int b, d, ret;

	ret = ifindex_of(bond, &b);
	if (!ret)
		ret = ifindex_of(dev, &d);
	if (ret)
		return fail(cmd, ret);
	if (!strcmp(cmd, "bond-enslave"))
		ret = vfo_nl_bond_enslave(nl, b, d);
	else if (!strcmp(cmd, "bond-set-primary"))
		ret = vfo_nl_bond_set_primary(nl, b, d);
	else
		ret = vfo_nl_bond_set_active(nl, b, d);
	return ret ? fail(cmd, ret) : 0;
}

static int cmd_bond_release(const char *dev)
{
	int d, ret;

	ret = ifindex_of(dev, &d);
	if (!ret)
		ret = vfo_nl_bond_release(nl, d);
	return ret ? fail("bond-release", ret) : 0;
}

static void add_ifname(json_object *o, const char *key, int ifindex)
{
	char buf[IFNAMSIZ];
	const char *n = name_of(ifindex, buf);

	add_str(o, key, n ? n : "");
}

static int cmd_bond_show(const char *name)
{
	static const char *const mii[] = { "up", "fail", "down", "back" };
	struct vfo_nl_link bond, *links;
	json_object *o, *slaves;
	const struct vfo_nl_bond *b = &bond.bond;
	char mac[3 * VFO_NL_HWADDR_MAX + 1];
	size_t n, i;
	int ret;

	ret = vfo_nl_link_get(nl, 0, name, &bond);
	if (ret)
		return fail("bond-show", ret);
	if (!bond.has_bond) {
		fprintf(stderr, "vfo-nltool: bond-show: %s is not a bond\n", name);
		return 1;
	}
	o = json_object_new_object();
	add_str(o, "name", bond.name);
	add_int(o, "ifindex", bond.ifindex);
	add_int(o, "mode", b->mode);
	add_int(o, "miimon", b->miimon);
	add_int(o, "updelay", b->updelay);
	add_int(o, "downdelay", b->downdelay);
	add_ifname(o, "primary", b->mask & VFO_NL_BOND_F_PRIMARY ? (int)b->primary : 0);
	add_int(o, "primary_reselect", b->primary_reselect);
	add_ifname(o, "active_slave",
		   b->mask & VFO_NL_BOND_F_ACTIVE_SLAVE ? (int)b->active_slave : 0);
	add_int(o, "num_peer_notif", b->num_peer_notif);
	add_int(o, "peer_notif_delay", b->peer_notif_delay);
	add_int(o, "fail_over_mac", b->fail_over_mac);
	add_str(o, "operstate", vfo_nl_operstate_str(bond.operstate));
	slaves = json_object_new_array();
	ret = vfo_nl_link_dump(nl, &links, &n);
	for (i = 0; !ret && i < n; i++) {
		const struct vfo_nl_bond_slave *s = &links[i].bond_slave;
		json_object *so;

		if (links[i].master != bond.ifindex)
			continue;
		so = json_object_new_object();
		add_str(so, "name", links[i].name);
		add_int(so, "ifindex", links[i].ifindex);
		add_str(so, "state", links[i].has_bond_slave ? slave_state_str(s->state) : "");
		add_str(so, "mii_status", s->mii_status < 4 ? mii[s->mii_status] : "?");
		add_int(so, "link_failures", s->link_failures);
		vfo_nl_hwaddr_str(s->perm_hwaddr, s->perm_hwaddr_len, mac, sizeof(mac));
		add_str(so, "perm_hwaddr", mac);
		add_str(so, "operstate", vfo_nl_operstate_str(links[i].operstate));
		json_object_array_add(slaves, so);
	}
	if (!ret)
		free(links);
	json_object_object_add(o, "slaves", slaves);
	print_json(o);
	return ret ? fail("bond-show", ret) : 0;
}

/* ---- addresses and routes ---- */

static void ip_str(uint8_t family, const uint8_t *a, char *out)
{
	inet_ntop(family, a, out, INET6_ADDRSTRLEN);
}

static int cmd_addrs(const char *dev)
{
	struct vfo_nl_addr *addrs;
	char s[INET6_ADDRSTRLEN];
	int ifindex = 0, ret;
	size_t n, i;

	if (dev && (ret = ifindex_of(dev, &ifindex)))
		return fail("addrs", ret);
	ret = vfo_nl_addr_dump(nl, AF_UNSPEC, &addrs, &n);
	if (ret)
		return fail("addrs", ret);
	for (i = 0; i < n; i++) {
		const struct vfo_nl_addr *a = &addrs[i];
		json_object *o;

		if (ifindex && a->ifindex != ifindex)
			continue;
		o = json_object_new_object();
		add_int(o, "ifindex", a->ifindex);
		add_int(o, "family", a->family == AF_INET ? 4 : 6);
		ip_str(a->family, a->has_local ? a->local : a->address, s);
		add_str(o, "local", s);
		add_int(o, "prefixlen", a->prefixlen);
		add_int(o, "scope", a->scope);
		add_int(o, "flags", a->flags);
		print_json(o);
	}
	free(addrs);
	return 0;
}

static int cmd_routes(const char *fam)
{
	uint8_t family = AF_UNSPEC;
	struct vfo_nl_route *routes;
	char s[INET6_ADDRSTRLEN];
	size_t n, i;
	int ret;

	if (fam)
		family = !strcmp(fam, "4") ? AF_INET : AF_INET6;
	ret = vfo_nl_route_dump(nl, family, &routes, &n);
	if (ret)
		return fail("routes", ret);
	for (i = 0; i < n; i++) {
		const struct vfo_nl_route *r = &routes[i];
		json_object *o;

		if (r->table != RT_TABLE_MAIN)
			continue;
		o = json_object_new_object();
		add_int(o, "family", r->family == AF_INET ? 4 : 6);
		if (r->has_dst) {
			ip_str(r->family, r->dst, s);
			add_str(o, "dst", s);
		} else {
			add_str(o, "dst", "default");
		}
		add_int(o, "dst_len", r->dst_len);
		if (r->has_gateway) {
			ip_str(r->family, r->gateway, s);
			add_str(o, "gateway", s);
		}
		add_int(o, "oif", r->oif);
		add_int(o, "protocol", r->protocol);
		add_int(o, "scope", r->scope);
		if (r->has_priority)
			add_int(o, "metric", r->priority);
		print_json(o);
	}
	free(routes);
	return 0;
}

/* "ADDR/PLEN" into family, bytes and prefix length. */
static int parse_prefix(const char *s, uint8_t *family, uint8_t *addr, uint8_t *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	uint32_t v;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	if (!slash) {
		*plen = *family == AF_INET ? 32 : 128;
		return 0;
	}
	if (parse_u32(slash, &v) || v > (*family == AF_INET ? 32u : 128u))
		return -EINVAL;
	*plen = (uint8_t)v;
	return 0;
}

static int cmd_addr(bool add, const char *dev, const char *prefix)
{
	struct vfo_nl_addr a = { .has_local = true, .has_address = true };
	int ret;

	if (parse_prefix(prefix, &a.family, a.local, &a.prefixlen))
		return usage();
	memcpy(a.address, a.local, sizeof(a.address));
	ret = ifindex_of(dev, &a.ifindex);
	if (!ret)
		ret = add ? vfo_nl_addr_add(nl, &a) : vfo_nl_addr_del(nl, &a);
	return ret ? fail(add ? "addr-add" : "addr-del", ret) : 0;
}

static int cmd_route(bool add, int argc, char **argv)
{
	struct vfo_nl_route r = { .protocol = RTPROT_BOOT,
				  .scope = RT_SCOPE_UNIVERSE,
				  .type = RTN_UNICAST,
				  .table = RT_TABLE_MAIN };
	uint8_t fam = AF_UNSPEC, plen;
	int i, ret;

	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "default")) {
		if (parse_prefix(argv[0], &r.family, r.dst, &r.dst_len))
			return usage();
		r.has_dst = true;
	}
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "via")) {
			if (parse_prefix(argv[i + 1], &fam, r.gateway, &plen))
				return usage();
			r.has_gateway = true;
		} else if (!strcmp(argv[i], "dev")) {
			ret = ifindex_of(argv[i + 1], &r.oif);
			if (ret)
				return fail("route", ret);
		} else if (!strcmp(argv[i], "metric")) {
			if (parse_u32(argv[i + 1], &r.priority))
				return usage();
			r.has_priority = true;
		} else {
			return usage();
		}
	}
	if (i != argc)
		return usage();
	if (!r.has_dst)
		r.family = fam != AF_UNSPEC ? fam : AF_INET;
	if (!r.has_gateway)
		r.scope = RT_SCOPE_LINK;
	if (!add) {
		/* As `ip route del`: wildcards for what was not given. */
		r.scope = RT_SCOPE_NOWHERE;
		r.protocol = 0;
		r.type = 0;
	}
	ret = add ? vfo_nl_route_add(nl, &r) : vfo_nl_route_del(nl, &r);
	return ret ? fail(add ? "route-add" : "route-del", ret) : 0;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[0];

#define IS(name, nargs) (!strcmp(cmd, name) && argc - 1 == (nargs))
	if (IS("dump", 0))
		return cmd_dump();
	if (IS("link-get", 1))
		return cmd_link_get(argv[1]);
	if (IS("check-ip", 0))
		return cmd_check_ip();
	if (IS("monitor", 1) || IS("monitor", 2) || IS("monitor", 3))
		return cmd_monitor(argv[1], argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
	if (IS("set-master", 2))
		return cmd_set_master(argv[1], argv[2]);
	if (IS("set-mtu", 2))
		return cmd_set_mtu(argv[1], argv[2]);
	if (IS("set-up", 1) || IS("set-down", 1))
		return cmd_set_up(argv[1], !strcmp(cmd, "set-up"));
	if (IS("link-del", 1))
		return cmd_link_del(argv[1]);
	if (!strcmp(cmd, "bond-create") && argc >= 2)
		return cmd_bond_create(argc - 1, argv + 1);
	if (IS("bond-enslave", 2) || IS("bond-set-primary", 2) || IS("bond-set-active", 2))
		return cmd_bond_two(cmd, argv[1], argv[2]);
	if (IS("bond-release", 1))
		return cmd_bond_release(argv[1]);
	if (IS("bond-show", 1))
		return cmd_bond_show(argv[1]);
	if (IS("addrs", 0) || IS("addrs", 1))
		return cmd_addrs(argc > 1 ? argv[1] : NULL);
	if (IS("routes", 0) || IS("routes", 1))
		return cmd_routes(argc > 1 ? argv[1] : NULL);
	if (IS("addr-add", 2) || IS("addr-del", 2))
		return cmd_addr(!strcmp(cmd, "addr-add"), argv[1], argv[2]);
	if (!strcmp(cmd, "route-add") || !strcmp(cmd, "route-del"))
		return cmd_route(!strcmp(cmd, "route-add"), argc - 1, argv + 1);
#undef IS
	return usage();
}

int main(int argc, char **argv)
{
	struct vfo_nl_opts opts = { 0 };
	uint32_t tmo;
	int ret, i = 1;

	vfo_log_init("vfo-nltool", VFO_LOG_TARGET_STDERR, VFO_LOG_WARNING);
	while (i + 1 < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--sysfs")) {
			opts.sysfs_root = argv[i + 1];
		} else if (!strcmp(argv[i], "--timeout") && !parse_u32(argv[i + 1], &tmo) &&
			   tmo <= 600000) {
			opts.timeout_ms = (int)tmo;
		} else if (!strcmp(argv[i], "--rcvbuf") && !parse_u32(argv[i + 1], &tmo) &&
			   tmo <= 1u << 30) {
			opts.mon_rcvbuf = (int)tmo;
		} else {
			return usage();
		}
		i += 2;
	}
	if (i >= argc)
		return usage();
	ret = vfo_nl_open(&nl, &opts);
	if (ret)
		return fail("open", ret);
	ret = run(argc - i, argv + i);
	vfo_nl_close(nl);
	vfo_log_fini();
	return ret;
}
