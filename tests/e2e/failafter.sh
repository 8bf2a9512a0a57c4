#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Migrations that fail after the VF was unplugged: the VF comes back on the
# source (rollback), the guest's bond returns to it, A's pool shows it
# assigned, vfoctl migrate exits 1 with the reason, and no VF stays taken
# on B. Two ways to fail, on one guest:
#   refused      B refuses the incoming domain in its prepare hook, after
#                vfo-hook reserved a VF for it there
#   unreachable  a destination URI nothing answers (connection refused),
#                which fails only when the migration proper starts
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf agent
e2e_expect_pool A "1 0 1"
e2e_probe_start
sleep 2

# usage: fail_leg PREFIX URI EXPECTED-REASON
fail_leg() {
	local p=$1 uri=$2 why=$3 n rc=0
	n=$(e2e_active_count g1)
	E2E_MIG_T0=$EPOCHREALTIME
	e2e_log "$p: vfoctl migrate g1 $uri"
	e2e_vfoctl A migrate g1 "$uri" --mig-timeout 90 >"$E2E_DIR/$p.out" 2>&1 || rc=$?
	sed 's/^/    /' "$E2E_DIR/$p.out" >&2
	[ "$rc" = 1 ] || e2e_die "$p: vfoctl migrate exited $rc, not 1"
	grep -q "failed" "$E2E_DIR/$p.out" || e2e_die "$p: no 'failed' step printed"
	grep -q -- "$why" "$E2E_DIR/$p.out" || e2e_die "$p: the reason does not say '$why'"
	grep -q "rollback" "$E2E_DIR/$p.out" || e2e_die "$p: no rollback step"
	e2e_phase_at "$p-unplug" "$(e2e_event_time A leaving "$E2E_MIG_T0")"
	e2e_phase_at "$p-migration" "$(e2e_event_time A migrating "$E2E_MIG_T0")"
	e2e_phase_at "$p-rollback" "$(e2e_event_time A rollback "$E2E_MIG_T0")"
	e2e_running A g1 || e2e_die "$p: g1 not running on hostA any more"
	! e2e_running B g1 || e2e_die "$p: g1 runs on hostB"
	e2e_expect_vf A g1 yes 10
	e2e_expect_pool A "1 0 1"
	e2e_expect_mode A g1 vf
	[ "$(e2e_dom_field A g1 migration)" = none ] || e2e_die "$p: A still migrating"
	e2e_wait_active g1 e1000e 20 "$n"
	e2e_log "$p: back on the VF after $(e2e_standby_time g1 "$n") s on the standby"
	sleep 1
	e2e_phase "$p-after"
	# Whatever B reserved for the domain that never came is free again.
	e2e_expect_pool B "2 0 0" 10
	[ -z "$(e2e_dom_field B g1 mode)" ] || e2e_die "$p: hostB follows g1"
}

e2e_in B touch /run/libvirt/bed-refuse-incoming
fail_leg refused "$(e2e_tcp_uri B)" "refuses incoming"
sleep 1
fail_leg unreachable "qemu+tcp://$(e2e_addr B):1/system" "migration failed"
e2e_probe_stop
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
e2e_in B cat /run/libvirt/bed-hook.log >&2 || true
for p in refused unreachable; do
	for ph in unplug migration rollback after; do
		e2e_log "$(e2e_loss "$p-$ph")"
	done
done
for p in refused unreachable; do
	for ph in unplug migration rollback after; do
		e2e_expect_loss "$p-$ph" 0
	done
done
e2e_log "PASS"
