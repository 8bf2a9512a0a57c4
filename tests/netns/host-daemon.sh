#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real vfo-hostd against a generated sysfs tree (vfo-mksysfs) with an
# sriov and an emulated pool, driven with vfoctl: status, pools, reserve,
# assign, release, events, rescan after the tree changes, SIGHUP, a bad
# config refused with file:line, SIGTERM exits cleanly, and a restart keeps
# the assignments. Runs in its own temp dir; needs no hardware and no udev.
set -eu

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
HOSTD=${VFO_HOSTD:-$top_builddir/host-agent/vfo-hostd}
VFOCTL=${VFOCTL:-$top_builddir/host-agent/vfoctl}
MKSYSFS=${VFO_MKSYSFS:-$top_builddir/tests/tools/vfo-mksysfs}
for b in "$HOSTD" "$VFOCTL" "$MKSYSFS"; do
	[ -x "$b" ] || { echo "FAIL: $b not built"; exit 99; }
done

TMP=$(mktemp -d /tmp/vfo-host-daemon.XXXXXX)
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
CONF=$TMP/hostd.conf
LOG=$TMP/hostd.log
UA=6f1c3b6e-8b4e-4a8e-9d7e-0c1b2a3d4e5f
UB=0b0e4a1c-2f7d-4c1e-9a55-7d6b2e1f0a99
ctl() { "$VFOCTL" --socket "$SOCK" --timeout 5 "$@"; }

"$MKSYSFS" "$TMP/sys" --pfs 2 --vfs 8 --numa-nodes 2 >/dev/null
cat >"$CONF" <<EOF
[hostd]
state_dir = $TMP/state
socket = $SOCK
sysfs_root = $TMP/sys
group = root
udev = no
reservation_timeout = 60s

[pool net1]
backend = sriov
pfs = enp16s0f0#0-3, enp17s0f0

[pool demo]
backend = emulated
bridge = br-vfo
count = 2
EOF

start() {
	"$HOSTD" -f -c "$CONF" >>"$LOG" 2>&1 &
	PID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -S "$SOCK" ] || { cat "$LOG"; echo "FAIL: daemon did not start"; exit 1; }
}

stop() { # expect a clean exit 0 on SIGTERM
	kill -TERM "$PID"
	rc=0
	wait "$PID" || rc=$?
	PID=
	return $rc
}

# ---- a bad config is refused with file:line ---------------------------
printf '[pool bad]\nbackend = sriov\nvlan = 5000\n' >"$TMP/bad.conf"
rc=0
"$HOSTD" -f -c "$TMP/bad.conf" >"$TMP/bad.log" 2>&1 || rc=$?
check "bad config: exit status non-zero" [ $rc -ne 0 ]
check "bad config: file:line message" grep -q "bad.conf:3:" "$TMP/bad.log"
check "bad config: no socket created" [ ! -e "$SOCK" ]

# ---- start, status, pools ----------------------------------------------
start
check "status answers" ctl status
ctl --json status >"$TMP/status.json"
check "status --json names the daemon" grep -q '"daemon": "vfo-hostd"' "$TMP/status.json"
ctl pools >"$TMP/pools.txt"
check "pools: table header" grep -q '^NAME  *BACKEND  *TOTAL' "$TMP/pools.txt"
check "pools: net1 has 12 VFs" grep -Eq '^net1 +sriov +12 +12 ' "$TMP/pools.txt"
check "pools: demo has 2" grep -Eq '^demo +emulated +2 +2 ' "$TMP/pools.txt"

# ---- events stream, reserve, assign ------------------------------------
ctl --json events --count 3 >"$TMP/events.txt" 2>&1 &
EVPID=$!
sleep 0.3
check "reserve net1" ctl reserve net1 $UA p0 --numa 0
check "reserve demo" ctl reserve demo $UA p1 --mac 52:54:00:00:00:11
rc=0
ctl assign $UA p0 >"$TMP/assign0.txt" 2>&1 || rc=$?
check "assign p0 (no MAC, fake PF): refused, exit 1" [ $rc -eq 1 ]
check "assign p0: the reason is given" grep -q "could not be configured" "$TMP/assign0.txt"
check "assign p0: VF not kept" sh -c "! ctl vfs net1 | grep -q ' p0 '"
check "reserve net1 again" ctl reserve net1 $UA p0 --numa 0
check "assign p1 (emulated)" ctl --json assign $UA p1 >"$TMP/assign1.json"
check "assign p1: device XML in the reply" grep -q "interface type=" "$TMP/assign1.json"
check "assign p1: XML carries the MAC" grep -q "52:54:00:00:00:11" "$TMP/assign1.json"
rc=0
ctl reserve nope $UA p2 >/dev/null 2>&1 || rc=$?
check "reserve in an unknown pool: exit 1" [ $rc -eq 1 ]
rc=0
ctl reserve net1 not-a-uuid p0 >/dev/null 2>&1 || rc=$?
check "reserve with a bad domain: exit 1" [ $rc -eq 1 ]
rc=0
ctl reserve net1 >/dev/null 2>&1 || rc=$?
check "reserve without arguments: exit 2" [ $rc -eq 2 ]
rc=0
wait $EVPID || rc=$?
check "events: stream delivered 3 events" [ $rc -eq 0 ]
check "events: vf-reserved seen" grep -q '"event":"vf-reserved"' "$TMP/events.txt"
check "events: vf-assigned seen" grep -q '"event":"vf-assigned"' "$TMP/events.txt"
ctl vfs >"$TMP/vfs.txt"
check "vfs: p1 assigned" grep -Eq "assigned +$UA +p1" "$TMP/vfs.txt"
check "vfs: p0 reserved" grep -Eq "reserved +$UA +p0" "$TMP/vfs.txt"
check "state file lists 2 VFs" [ "$(grep -c '"addr"' "$TMP/state/hostd.json")" -eq 2 ]

# ---- restart keeps the assignments --------------------------------------
check "SIGTERM: clean exit 0" stop
check "socket removed on exit" [ ! -e "$SOCK" ]
start
ctl vfs >"$TMP/vfs2.txt"
check "restart: p1 still assigned" grep -Eq "assigned +$UA +p1" "$TMP/vfs2.txt"
check "restart: p0 still reserved" grep -Eq "reserved +$UA +p0" "$TMP/vfs2.txt"

# ---- rescan after the tree changes: vanished VF dropped ------------------
addr=$(awk -v u=$UA '$0 ~ u && / p0 /{print $1}' "$TMP/vfs2.txt")
link=$(for l in "$TMP"/sys/bus/pci/devices/*/virtfn*; do
	[ "$(basename "$(readlink "$l")")" = "$addr" ] && echo "$l"; done | head -1)
check "found the reserved VF's virtfn link ($addr)" [ -n "$link" ]
rm -f "$link"
ctl --json rescan >"$TMP/rescan.json"
check "rescan: reports changes" grep -Eq '"changes": [1-9]' "$TMP/rescan.json"
ctl vfs >"$TMP/vfs3.txt"
check "rescan: vanished VF's assignment dropped" sh -c "! grep -q ' p0 ' '$TMP/vfs3.txt'"
check "rescan: the other holding kept" grep -Eq "assigned +$UA +p1" "$TMP/vfs3.txt"
check "rescan: drop logged" grep -q "dropped" "$LOG"

# ---- SIGHUP rescans ------------------------------------------------------
before=$(grep -c "rescan (SIGHUP)" "$LOG" || true)
"$MKSYSFS" "$TMP/sys2" --pfs 3 --vfs 8 >/dev/null
rm -rf "$TMP/sys" && mv "$TMP/sys2" "$TMP/sys"
kill -HUP "$PID"
sleep 0.3
after=$(grep -c "rescan (SIGHUP)" "$LOG" || true)
check "SIGHUP: rescan happened" [ "$after" -gt "$before" ]
check "SIGHUP: daemon still serving" ctl status

# ---- release ---------------------------------------------------------------
check "release domain" ctl release $UA
rc=0
ctl release $UA >/dev/null 2>&1 || rc=$?
check "release again: exit 1 (not-found)" [ $rc -eq 1 ]
check "reserve for B" ctl reserve net1 $UB p0

# ---- guest-style status socket: generic output -----------------------------
rc=0
"$VFOCTL" --socket "$TMP/nonexistent.sock" status >/dev/null 2>&1 || rc=$?
check "no socket: exit 3" [ $rc -eq 3 ]

check "final SIGTERM: clean exit 0" stop
check "restart keeps B's reservation" sh -c "grep -q '$UB' '$TMP/state/hostd.json'"

echo "host-daemon: $pass passed, $fails failed"
[ $fails -eq 0 ] || { echo "--- daemon log"; cat "$LOG"; exit 1; }
