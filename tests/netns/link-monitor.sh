#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The netlink module's link monitor against the real kernel, in a fresh
# network namespace: events for add, MTU change, set master, release and
# delete arrive, in order, with the right fields; bridge-port noise
# (AF_BRIDGE RTM_DELLINK on release) is not mistaken for a removal; and a
# real ENOBUFS (tiny receive buffer, reader stalled while links are added)
# is counted and answered with a resync that reports every link.
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
TMP=$(mktemp -d /tmp/vfo-link-monitor.XXXXXX)
MON=
cleanup() {
	[ -n "$MON" ] && kill "$MON" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
nl() { "$NLTOOL" "$@"; }

# Start a monitor in the background; return once it is subscribed.
start_monitor() {
	out=$1
	shift
	: >"$out.err"
	"$NLTOOL" "$@" >"$out" 2>"$out.err" &
	MON=$!
	i=0
	until grep -q "monitor ready" "$out.err"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$out.err"; bad "monitor never ready"; exit 1; }
		sleep 0.05
	done
}

# Wait (bounded) until a line matching the pattern shows up.
wait_line() {
	i=0
	until grep -q "$2" "$1"; do
		i=$((i + 1))
		[ $i -lt 100 ] || return 1
		sleep 0.05
	done
}

# Line number of the first event matching the pattern, or 0.
line_of() { grep -n "$2" "$1" | head -1 | cut -d: -f1 | grep . || echo 0; }

ip link set lo up

# ---- add, change MTU, set master, release, delete: in order ----
O=$TMP/events
start_monitor "$O" monitor 1000 20000
ip link add ma0 type veth peer name mb0
ip link set ma0 mtu 1400
ip link add mbr0 type bridge
br=$(cat /sys/class/net/mbr0/ifindex)
nl set-master ma0 mbr0
nl set-mtu ma0 1300
nl set-master ma0 none
ip link del ma0
ip link add mend0 type bridge # marker: the last event we wait for
wait_line "$O" '"event":"new","ifindex":[0-9]*,"name":"mend0"' ||
	bad "marker event never arrived"
kill "$MON" 2>/dev/null || true
wait "$MON" 2>/dev/null || true
MON=

ev() { printf '"event":"%s","ifindex":[0-9]*,"name":"%s",' "$1" "$2"; }
l_new=$(line_of "$O" "$(ev new ma0)")
l_peer=$(line_of "$O" "$(ev new mb0)")
l_mtu=$(line_of "$O" "$(ev change ma0).*\"mtu\":1400,")
l_master=$(line_of "$O" "$(ev change ma0).*\"master\":$br,")
l_mtu2=$(line_of "$O" "$(ev change ma0).*\"mtu\":1300,\"master\":$br,")
l_rel=$(grep -n "$(ev change ma0).*\"mtu\":1300,\"master\":0," "$O" |
	tail -1 | cut -d: -f1)
l_del=$(line_of "$O" "$(ev del ma0)")
l_delpeer=$(line_of "$O" "$(ev del mb0)")
echo "lines: new=$l_new peer=$l_peer mtu=$l_mtu master=$l_master" \
	"mtu2=$l_mtu2 release=${l_rel:-0} del=$l_del delpeer=$l_delpeer"
[ "$l_new" -gt 0 ] && [ "$l_peer" -gt 0 ] && ok "new ma0 and its peer" ||
	bad "no new event for ma0/mb0"
[ "$l_mtu" -gt "$l_new" ] && ok "mtu change after add" ||
	bad "mtu change missing or out of order"
[ "$l_master" -gt "$l_mtu" ] && ok "set master after mtu change" ||
	bad "set master missing or out of order"
[ "$l_mtu2" -gt "$l_master" ] && ok "mtu change while enslaved" ||
	bad "second mtu change missing or out of order"
[ "${l_rel:-0}" -gt "$l_mtu2" ] && ok "release after enslaved change" ||
	bad "release missing or out of order"
[ "$l_del" -gt "${l_rel:-0}" ] && ok "delete last" ||
	bad "delete missing or out of order"
[ "$l_delpeer" -gt 0 ] && ok "peer's delete reported" || bad "no del for mb0"
# Leaving the bridge sends an AF_BRIDGE RTM_DELLINK for ma0: not a removal.
n=$(grep -c "$(ev del ma0)" "$O" || true)
[ "$n" = 1 ] && ok "exactly one del for ma0 (bridge-port noise ignored)" ||
	bad "$n del events for ma0"
# No event may call ma0 new twice (it was never removed in between).
n=$(grep -c "$(ev new ma0)" "$O" || true)
[ "$n" = 1 ] && ok "ma0 new once" || bad "ma0 new $n times"
grep -q ENOBUFS "$O.err" && bad "unexpected ENOBUFS" || ok "no ENOBUFS"

# ---- monitor N: exactly N events, then exit 0 ----
O=$TMP/one
start_monitor "$O" monitor 1 10000
ip link add one0 type bridge
i=0
while kill -0 "$MON" 2>/dev/null && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.05
done
if wait "$MON"; then
	[ "$(wc -l <"$O")" = 1 ] && grep -q "$(ev new one0)" "$O" &&
		ok "monitor 1: one event, exit 0" ||
		bad "monitor 1 printed: $(cat "$O")"
else
	bad "monitor 1 failed: $(cat "$O.err")"
fi
MON=

# ---- monitor times out when nothing happens ----
if nl monitor 1 300 >"$TMP/quiet" 2>"$TMP/quiet.err"; then
	bad "monitor with no events exited 0"
else
	grep -q "timed out" "$TMP/quiet.err" && ok "monitor timeout" ||
		bad "monitor timeout: $(cat "$TMP/quiet.err")"
fi

# ---- a real ENOBUFS: tiny buffer, reader stopped while links appear ----
# SIGSTOP rather than a timed stall: the kernel queues (and drops) events
# for a stopped reader the same way, and the test does not depend on how
# fast this machine creates links. The resync then reports every link:
# wait for exactly that many events.
O=$TMP/enobufs
total=$(($(ip -o link show | wc -l) + 40))
start_monitor "$O" --rcvbuf 1 monitor "$total" 10000
kill -STOP "$MON"
for i in $(seq 1 20); do
	ip link add ea$i type veth peer name eb$i
done
kill -CONT "$MON"
wait "$MON" || bad "ENOBUFS monitor: $(cat "$O.err")"
MON=
grep -q "link monitor overrun (ENOBUFS" "$O.err" && ok "ENOBUFS logged" ||
	bad "no ENOBUFS log: $(cat "$O.err")"
grep -q "monitor: [1-9][0-9]* ENOBUFS, [1-9][0-9]* resyncs" "$O.err" &&
	ok "ENOBUFS counted, resync done" || bad "counter: $(cat "$O.err")"
missing=0
for i in $(seq 1 20); do
	grep -q "\"name\":\"ea$i\"" "$O" || missing=$((missing + 1))
	grep -q "\"name\":\"eb$i\"" "$O" || missing=$((missing + 1))
done
[ $missing = 0 ] && ok "every link reported despite the overrun" ||
	bad "$missing links never reported"
n=$(grep -c '"event":"resync"' "$O" || true)
[ "$n" = "$total" ] && ok "resync reported all $total links ($n lines)" ||
	bad "resync reported $n of $total links"
grep -q "$(ev resync lo)" "$O" && ok "resync includes lo" ||
	bad "lo missing from resync"

echo "$pass passed, $fails failed"
[ $fails = 0 ]
