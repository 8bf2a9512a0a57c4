#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfo-hostd rescans on device events, with no SIGHUP and no 'vfoctl
# rescan': the real daemon on a generated sysfs tree, in a fresh network
# namespace with no udevd, so it must fall back to the kernel's own
# uevents. The events come from veth devices made here (the kernel sends a
# netdev's uevents to its namespace's listeners); the sysfs tree is changed
# behind the daemon's back before each. Checked: the source is logged and
# reported; a change reaches 'vfoctl vfs' within a bounded wait; a burst
# of events costs one rescan; without an event nothing is rescanned; a PF
# whose driver comes back gets the pool's numvfs written.
set -eu

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
HOSTD=${VFO_HOSTD:-$top_builddir/host-agent/vfo-hostd}
VFOCTL=${VFOCTL:-$top_builddir/host-agent/vfoctl}
MKSYSFS=${VFO_MKSYSFS:-$top_builddir/tests/tools/vfo-mksysfs}
for b in "$HOSTD" "$VFOCTL" "$MKSYSFS"; do
	[ -x "$b" ] || { echo "FAIL: $b not built"; exit 99; }
done

skip() {
	echo "SKIP: $*"
	[ "${CI:-}" = true ] && { echo "CI=true: a skip is a failure"; exit 1; }
	exit 77
}
# udevd's control socket makes the daemon listen to udevd, which lives in
# the host's namespace and never sees these veths: hide it (run-in-netns.sh
# gives us a private mount namespace).
if [ -e /run/udev/control ]; then
	mount -t tmpfs tmpfs /run/udev 2>/dev/null || skip "cannot hide /run/udev/control"
fi
ip link add vfo-probe0 type veth peer name vfo-probe1 2>/dev/null || skip "no veth"
ip link del vfo-probe0

TMP=$(mktemp -d /tmp/vfo-host-uevent.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
check() { # description, command...
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

SOCK=$TMP/hostd.sock
LOG=$TMP/hostd.log
ctl() { "$VFOCTL" --socket "$SOCK" --timeout 5 "$@"; }
# A counter from 'vfoctl --json status'.
stat() { ctl --json status | tr -d ' \n' | grep -oE "\"$1\":[0-9]+" | head -1 | cut -d: -f2; }
# until SECONDS CMD...: poll every 0.1 s.
until_ok() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
listed() { ctl vfs net1 | grep -q "^$1 "; }
not_listed() { ! listed "$1"; }

"$MKSYSFS" "$TMP/sys" --pfs 1 --vfs 4 --numvfs 4 >/dev/null
PFDIR=$(ls -d "$TMP"/sys/bus/pci/devices/*:00.0 | while read -r d; do
	[ -e "$d/sriov_totalvfs" ] && echo "$d"; done | head -1)
PFDIR=$(cd "$PFDIR" && pwd -P)
VF=$(basename "$(readlink "$PFDIR/virtfn3")")
cat >"$TMP/hostd.conf" <<EOF
[hostd]
state_dir = $TMP/state
socket = $SOCK
sysfs_root = $TMP/sys
group = root
log_level = debug
rescan_delay = 300ms
libvirt_uri =

[pool net1]
backend = sriov
pfs = $(basename "$PFDIR")
numvfs = 4
EOF

"$HOSTD" -f -c "$TMP/hostd.conf" >"$LOG" 2>&1 &
PID=$!
until_ok 10 test -S "$SOCK" || { cat "$LOG"; echo "FAIL: daemon did not start"; exit 1; }

# ---- the source ---------------------------------------------------------
check "log: kernel uevents used, and why" \
	grep -q "no udevd (/run/udev/control absent): rescanning on the kernel's uevents" "$LOG"
source_is() { ctl --json status | grep -q "\"udev_source\": \"$1\""; }
check "status: udev_source kernel" source_is kernel
check "vfs: $VF listed at start" listed "$VF"
check "no uevent rescan yet" [ "$(stat uevent_rescans)" = 0 ]

# ---- a change reaches vfoctl through an event ---------------------------
rm "$PFDIR/virtfn3"
sleep 1
check "no event, no rescan: $VF still listed" listed "$VF"
ip link add vfo-a0 type veth peer name vfo-b0
check "veth event: $VF gone from vfoctl vfs within 10 s" until_ok 10 not_listed "$VF"
check "one rescan for the veth pair's events" [ "$(stat uevent_rescans)" = 1 ]
check "events counted" [ "$(stat udev_events)" -ge 2 ]
check "log: rescan (uevent)" grep -q "rescan (uevent): 1 change" "$LOG"

# ---- a burst is one rescan ------------------------------------------------
ln -s "../$VF" "$PFDIR/virtfn3"
ev0=$(stat udev_events)
i=1
while [ $i -le 8 ]; do
	echo "link add vfo-a$i type veth peer name vfo-b$i"
	i=$((i + 1))
done >"$TMP/batch"
ip -batch "$TMP/batch"
check "burst: $VF back within 10 s" until_ok 10 listed "$VF"
sleep 1
check "burst: 16+ events" [ "$(($(stat udev_events) - ev0))" -ge 16 ]
check "burst: one more rescan, not one per event" [ "$(stat uevent_rescans)" = 2 ]

# ---- a PF whose driver comes back gets numvfs ------------------------------
# "unbind": the driver, the netdev and the VFs go, numvfs reads 0.
mv "$PFDIR/driver" "$TMP/driver.link"
mv "$PFDIR/net" "$TMP/net.dir"
for l in "$PFDIR"/virtfn*; do rm "$l"; done
echo 0 >"$PFDIR/sriov_numvfs"
ip link del vfo-a0
check "unbind: no VF listed within 10 s" until_ok 10 not_listed "$VF"
check "unbind: nothing written to a PF without driver" [ "$(cat "$PFDIR/sriov_numvfs")" = 0 ]
# "bind": driver and netdev back with 0 VFs.
mv "$TMP/driver.link" "$PFDIR/driver"
mv "$TMP/net.dir" "$PFDIR/net"
ip link del vfo-a1
check "bind: sriov_numvfs 4 written within 10 s" \
	until_ok 10 sh -c "[ \"\$(cat '$PFDIR/sriov_numvfs')\" = 4 ]"
check "bind: logged as the PF coming up" grep -q "sriov_numvfs 0 -> 4 (pool net1; the PF came up)" "$LOG"
check "bind: one write" [ "$(stat numvfs_writes)" = 1 ]

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
check "SIGTERM: clean exit 0" [ $rc -eq 0 ]

echo "host-uevent: $pass passed, $fails failed"
[ $fails -eq 0 ] || { echo "--- daemon log"; cat "$LOG"; exit 1; }
