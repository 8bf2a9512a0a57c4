#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Differential test of the netlink module's link dump and link requests
# against iproute2, on veth pairs and a bridge in a fresh network namespace
# (this kernel has no bonding: a bridge is the master that proves the
# enslave/release messages). vfo-nltool check-ip compares name, ifindex,
# MAC, MTU, master and operstate with what `ip -j link show` reports.
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
TMP=$(mktemp -d /tmp/vfo-link-dump.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
nl() { "$NLTOOL" "$@"; }

# Compare with ip; operstate can still be settling (veth carrier, bridge
# port state), so a difference must persist for two seconds to count.
check_ip() {
	i=0
	while ! ip -j link show | nl check-ip >"$TMP/check.out" 2>&1; do
		i=$((i + 1))
		if [ $i -ge 20 ]; then
			cat "$TMP/check.out"
			bad "check-ip: $1"
			return 0
		fi
		sleep 0.1
	done
	ok "check-ip: $1"
}

# The JSON line of one link in our dump.
link_line() { nl dump | grep "\"name\":\"$1\"" || true; }
ifindex() { cat "/sys/class/net/$1/ifindex"; }

ip link set lo up
ip link add va0 type veth peer name vb0
ip link add vc0 type veth peer name vd0
ip link add br0 type bridge
ip link set vc0 mtu 1400 address 02:00:00:00:00:c0
ip link set va0 master br0
ip link set va0 up
ip link set vb0 up
ip link set br0 up
check_ip "veths and a bridge"

# The comparison itself must notice a difference.
if ip -j link show | sed 's/"mtu":1400/"mtu":1401/' | nl check-ip \
	>"$TMP/neg" 2>&1; then
	bad "check-ip accepted a wrong MTU"
else
	grep -q "vc0: mtu: ip 1401, vfo 1400" "$TMP/neg" &&
		ok "check-ip notices a wrong MTU" || bad "$(cat "$TMP/neg")"
fi
if echo '[]' | nl check-ip >/dev/null 2>&1; then
	bad "check-ip accepted a missing link"
else
	ok "check-ip notices missing links"
fi

# Fields ip -j does not print the way we do, checked directly.
br=$(ifindex br0)
case $(link_line va0) in
*"\"master\":$br,"*"\"kind\":\"veth\",\"slave_kind\":\"bridge\""*)
	ok "va0: master br0, kind veth, bridge port" ;;
*) bad "va0 line: $(link_line va0)" ;;
esac
case $(link_line br0) in
*"\"kind\":\"bridge\""*) ok "br0: kind bridge" ;;
*) bad "br0 line: $(link_line br0)" ;;
esac
case $(link_line vc0) in
*"\"mac\":\"02:00:00:00:00:c0\""*"\"mtu\":1400,\"master\":0,"*)
	ok "vc0: MAC, MTU, no master" ;;
*) bad "vc0 line: $(link_line vc0)" ;;
esac
case $(link_line vd0) in
*"\"carrier\":0,\"up\":false"*) ok "vd0: down, no carrier" ;;
*) bad "vd0 line: $(link_line vd0)" ;;
esac
[ "$(nl dump | wc -l)" = "$(ip -o link show | wc -l)" ] &&
	ok "same number of links as ip" || bad "link count differs"

# The module's generic set-master request, on a real kernel master.
nl set-master vc0 br0
ip -o link show vc0 | grep -q " master br0 " &&
	ok "set-master vc0 br0" || bad "set-master: $(ip -o link show vc0)"
check_ip "after set-master"
nl set-master vc0 none
ip -o link show vc0 | grep -q " master " &&
	bad "release: $(ip -o link show vc0)" || ok "set-master vc0 none"
check_ip "after release"

# bond-enslave is set-master after bringing the slave down (bonding
# refuses a slave that is up); a bridge shows the message is right.
ip link set vd0 up
nl bond-enslave br0 vd0
ip -o link show vd0 | grep -q " master br0 " &&
	ok "bond-enslave vd0 br0" || bad "bond-enslave: $(ip -o link show vd0)"
ip -o link show vd0 | grep -q "<[^>]*UP[^>]*>" &&
	bad "bond-enslave left vd0 up" || ok "bond-enslave brought vd0 down"
nl bond-release vd0
ip -o link show vd0 | grep -q " master " &&
	bad "bond-release: $(ip -o link show vd0)" || ok "bond-release vd0"
# Enslaving to the master it already has is a no-op, not an error.
nl set-master vd0 br0 && nl bond-enslave br0 vd0 &&
	ok "enslave to the same master" || bad "enslave to the same master"
nl set-master vd0 none

# MTU, up/down, delete.
nl set-mtu vc0 9000
[ "$(cat /sys/class/net/vc0/mtu)" = 9000 ] && ok "set-mtu" || bad "set-mtu"
nl set-up vc0
ip -o link show vc0 | grep -q "<[^>]*UP" && ok "set-up" || bad "set-up"
nl set-down vc0
ip -o link show vc0 | grep -q "<[^>]*UP" && bad "set-down" || ok "set-down"
check_ip "after mtu and up/down"

# The kernel's errors come back as -errno.
if nl set-master vc0 nosuch0 2>"$TMP/err"; then
	bad "set-master to a missing master succeeded"
else
	grep -q "No such device" "$TMP/err" && ok "missing master: ENODEV" ||
		bad "missing master: $(cat "$TMP/err")"
fi
if nl set-mtu vc0 20 2>"$TMP/err"; then
	bad "MTU 20 accepted"
else
	grep -q "Invalid argument" "$TMP/err" && ok "MTU 20: EINVAL" ||
		bad "MTU 20: $(cat "$TMP/err")"
fi
# A link cannot be its own master.
if nl set-master br0 br0 2>"$TMP/err"; then
	bad "br0 enslaved to itself"
else
	ok "self-enslave refused: $(cat "$TMP/err")"
fi

# Bonding: absent on this kernel (the VM tests prove it), present in
# guests. Either way the request must be answered cleanly.
if nl bond-create vfob0 miimon=100 num_peer_notif=3 \
	primary_reselect=failure peer_notif_delay=100 2>"$TMP/err"; then
	nl bond-show vfob0 >"$TMP/bond" || true
	grep -q '"mode":1,"miimon":100' "$TMP/bond" &&
		ok "bond-create (kernel has bonding)" ||
		bad "bond-show: $(cat "$TMP/bond")"
	nl link-del vfob0
else
	grep -q "vfo-nltool: bond-create: " "$TMP/err" &&
		ok "bond-create without bonding: $(cat "$TMP/err")" ||
		bad "bond-create: $(cat "$TMP/err")"
fi

# The sysfs root is a parameter: a tree that says va0 is a PCI NIC.
S=$TMP/sys
d=devices/pci0000:00/0000:00:09.0
mkdir -p "$S/class/net" "$S/bus/pci/drivers/e1000e" "$S/$d/net/va0"
ln -s ../../../bus/pci "$S/$d/subsystem"
ln -s ../../../bus/pci/drivers/e1000e "$S/$d/driver"
ln -s ../../../0000:00:09.0 "$S/$d/net/va0/device"
ln -s "../../$d/net/va0" "$S/class/net/va0"
case $(nl --sysfs "$S" link-get va0) in
*'"driver":"e1000e","pci":"0000:00:09.0"'*) ok "sysfs root: driver, PCI" ;;
*) bad "sysfs root: $(nl --sysfs "$S" link-get va0)" ;;
esac
case $(link_line va0) in
*'"driver":"","pci":""'*) ok "real sysfs: veth has no device" ;;
*) bad "real sysfs: $(link_line va0)" ;;
esac

nl link-del vc0
[ -e /sys/class/net/vc0 ] || [ -e /sys/class/net/vd0 ] &&
	bad "link-del left vc0/vd0" || ok "link-del vc0 (and its peer)"
check_ip "after link-del"

echo "$pass passed, $fails failed"
[ $fails = 0 ]
