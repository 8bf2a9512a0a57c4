#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Managed migration A -> B -> A of a guest whose VF is plugged by vfo-hostd,
# with the probe stream measured per phase (unplug, migration, replug,
# marked from the agents' migration steps). Asserts the end state in both
# agents, the domain XML, the guest's bond and the probe loss: none at the
# unplug (the guest moved to its standby before the VF went) and none at
# the replug (the new VF is preferred only once its link is steady). The
# stand-in VF is plugged at once on the destination while the guest's MAC
# is pinned to its standby's port for QEMU's announcements: the pin must
# have been made and removed, and none may be left on either bridge.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf agent
e2e_expect_pool A "1 0 1"
e2e_expect_pool B "2 0 0"
e2e_expect_vf A g1 yes
e2e_expect_mode A g1 vf

e2e_probe_start
sleep 2

# One migration: SRC DST PREFIX.
leg() {
	local src=$1 dst=$2 p=$3 n t
	n=$(e2e_active_count g1)
	e2e_migrate "$src" "$dst" "$p" --mig-timeout 90
	[ "$E2E_MIG_RC" = 0 ] || e2e_die "$p: vfoctl migrate exited $E2E_MIG_RC"
	e2e_running "$dst" g1 || e2e_die "$p: g1 not running on host$dst"
	! e2e_running "$src" g1 || e2e_die "$p: g1 still running on host$src"
	e2e_wait_active g1 e1000e 30 "$n"
	sleep 1
	e2e_phase "$p-after"
	e2e_log "$p: $(e2e_standby_time g1 "$n") s on the standby (guest clock); step by step:"
	e2e_timeline "$src" "$dst" "$E2E_MIG_T0" >&2
	e2e_expect_vf "$dst" g1 yes
	e2e_expect_pool "$dst" "1 0 1"
	e2e_expect_pool "$src" "2 0 0"
	e2e_expect_mode "$dst" g1 vf
	[ -z "$(e2e_dom_field "$src" g1 mode)" ] || e2e_die "host$src still follows g1"
	t=$(e2e_trace_time "$E2E_DIR/host$dst.fdb" "^[0-9.]* 52:54:00:77:00:10 .*sticky" \
		"$E2E_MIG_T0")
	[ -n "$t" ] || e2e_die "$p: the MAC was not pinned on host$dst"
	[ -n "$(e2e_trace_time "$E2E_DIR/host$dst.fdb" "Deleted 52:54:00:77:00:10 .*sticky" "$t")" ] ||
		e2e_die "$p: the pin on host$dst was not removed"
}

# No pin left on either bridge.
no_pins() {
	local h left
	for h in A B; do
		left=$(ip netns exec "$(e2e_ns "$h")" bridge fdb show br "$E2E_BR" | grep sticky || true)
		[ -z "$left" ] || e2e_die "host$h: a pinned FDB entry is left: $left"
	done
}

leg A B AB
sleep 1
leg B A BA
sleep 1
no_pins
e2e_probe_stop
echo "$E2E_PROBE_JSON"
for p in AB BA; do
	for ph in unplug migration replug after; do
		e2e_log "$(e2e_loss "$p-$ph")"
	done
done
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
for p in AB BA; do
	e2e_expect_loss "$p-unplug" 0
	e2e_expect_loss "$p-replug" 0
	e2e_expect_loss "$p-after" 0
done
e2e_log "PASS"
