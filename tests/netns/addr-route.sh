#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The netlink module's address and route messages against the real kernel,
# in a fresh network namespace: add, list and delete IPv4/IPv6 addresses
# and routes with vfo-nltool, check each with ip(8), then move them from
# one link to another the way vfo-guestd moves the standby's onto the bond.
# Documentation prefixes only; nothing leaves the namespace.
set -eu

skip() { echo "SKIP: $*"; exit 77; }
if [ -z "${VFO_NL_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v ip >/dev/null || skip "ip(8) missing"
	unshare -n -m true 2>/dev/null || skip "cannot create namespaces"
	export VFO_NL_NETNS=1
	exec unshare -n -m --propagation private -- sh -c \
		'mount -t sysfs sysfs /sys && exec sh "$0" "$@"' "$0" "$@"
fi

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
NLTOOL=${VFO_NLTOOL:-$top_builddir/tests/tools/vfo-nltool}
[ -x "$NLTOOL" ] || { echo "FAIL: $NLTOOL not built"; exit 99; }

fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
nl() { "$NLTOOL" "$@"; }
has() { "$@" >/dev/null 2>&1; }

ip link set lo up
ip link add ra0 type veth peer name rb0
ip link add rbr0 type bridge
ip link set ra0 up
ip link set rb0 up
ip link set rbr0 up
ra=$(cat /sys/class/net/ra0/ifindex)

# ---- addresses ----
nl addr-add ra0 192.0.2.10/24
nl addr-add ra0 2001:db8:1::10/64
ip -o addr show dev ra0 | grep -q "inet 192.0.2.10/24 " &&
	ok "v4 address added" || bad "v4 address: $(ip -o addr show dev ra0)"
ip -o addr show dev ra0 | grep -q "inet6 2001:db8:1::10/64 " &&
	ok "v6 address added" || bad "v6 address: $(ip -o addr show dev ra0)"
nl addrs ra0 | grep -q "\"ifindex\":$ra,\"family\":4,\"local\":\"192.0.2.10\",\"prefixlen\":24," &&
	ok "addrs lists v4" || bad "addrs: $(nl addrs ra0)"
nl addrs ra0 | grep -q '"family":6,"local":"2001:db8:1::10","prefixlen":64,' &&
	ok "addrs lists v6" || bad "addrs: $(nl addrs ra0)"
[ "$(nl addrs | wc -l)" = "$(ip -o addr show | wc -l)" ] &&
	ok "same number of addresses as ip" || bad "address count differs"
if nl addr-add nosuch0 192.0.2.1/24 2>/dev/null; then
	bad "address on a missing link"
else
	ok "address on a missing link refused"
fi

# ---- routes ----
nl route-add 198.51.100.0/24 via 192.0.2.1 dev ra0 metric 50
nl route-add 2001:db8:2::/64 via 2001:db8:1::1 dev ra0
ip route show 198.51.100.0/24 | grep -q "via 192.0.2.1 dev ra0 .*metric 50" &&
	ok "v4 route added" || bad "v4 route: $(ip route show 198.51.100.0/24)"
ip -6 route show 2001:db8:2::/64 | grep -q "via 2001:db8:1::1 dev ra0" &&
	ok "v6 route added" || bad "v6 route: $(ip -6 route show 2001:db8:2::/64)"
nl routes 4 | grep -q "\"dst\":\"198.51.100.0\",\"dst_len\":24,\"gateway\":\"192.0.2.1\",\"oif\":$ra," &&
	ok "routes lists v4" || bad "routes: $(nl routes 4)"
if nl route-add 198.51.100.0/24 via 192.0.2.1 dev ra0 metric 50 2>/dev/null; then
	bad "duplicate route accepted"
else
	ok "duplicate route refused (EEXIST)"
fi
if nl route-add 198.51.100.128/25 via 203.0.113.1 dev ra0 2>/dev/null; then
	bad "unreachable gateway accepted"
else
	ok "unreachable gateway refused"
fi
nl route-add default via 192.0.2.1 dev ra0
ip route show default | grep -q "via 192.0.2.1 dev ra0" &&
	ok "default route added" || bad "default: $(ip route show default)"

# ---- move everything from ra0 to rbr0 (what the guest agent does) ----
nl route-del 198.51.100.0/24 via 192.0.2.1 dev ra0 metric 50
nl route-del default via 192.0.2.1 dev ra0
nl addr-del ra0 192.0.2.10/24
nl addr-add rbr0 192.0.2.10/24
nl route-add default via 192.0.2.1 dev rbr0
nl route-add 198.51.100.0/24 via 192.0.2.1 dev rbr0 metric 50
ip -o addr show dev ra0 | grep -q "192.0.2.10" &&
	bad "address still on ra0" || ok "address gone from ra0"
ip -o addr show dev rbr0 | grep -q "inet 192.0.2.10/24 " &&
	ok "address on rbr0" || bad "rbr0: $(ip -o addr show dev rbr0)"
ip route show default | grep -q "via 192.0.2.1 dev rbr0" &&
	ok "default route on rbr0" || bad "default: $(ip route show default)"
ip route show 198.51.100.0/24 | grep -q "dev rbr0" &&
	ok "route on rbr0" || bad "route: $(ip route show 198.51.100.0/24)"

nl route-del 2001:db8:2::/64 via 2001:db8:1::1 dev ra0
ip -6 route show 2001:db8:2::/64 | grep -q . &&
	bad "v6 route not deleted" || ok "v6 route deleted"
nl addr-del ra0 2001:db8:1::10/64
ip -o addr show dev ra0 | grep -q "2001:db8:1::10" &&
	bad "v6 address not deleted" || ok "v6 address deleted"
if nl addr-del ra0 2001:db8:1::10/64 2>/dev/null; then
	bad "deleting a missing address succeeded"
else
	ok "deleting a missing address refused"
fi

echo "$pass passed, $fails failed"
[ $fails = 0 ]
