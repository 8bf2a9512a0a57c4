#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libvirtd restarted under vfo-hostd, which must notice (close callback or
# keepalive), reconnect with backoff, adopt what runs and carry on:
#   A-running     libvirtd on host A restarted while g1 runs there: while it
#                 is down, vfoctl migrate is refused (not connected); after,
#                 g1 is followed again with the same VF, nothing assigned
#                 twice, and the guest never left its VF
#   B-before      libvirtd on host B restarted just before a migration to
#                 B: the migration works and B plugs the VF
#   A-midflow     libvirtd on host A (the destination now being B -> A)
#                 restarted while the domain is arriving: the migration
#                 ends one way or the other and the VF is where g1 runs
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf agent
e2e_expect_pool A "1 0 1"
e2e_probe_start
sleep 2

connects() { grep -c "connected to qemu:///system" "$E2E_DIR/host$1/hostd.log" || true; }

# usage: wait_connects HOST N: until host's vfo-hostd connected N times.
wait_connects() {
	local i
	for i in $(seq 300); do
		[ "$(connects "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	e2e_die "vfo-hostd on host$1 did not reconnect to libvirtd"
}

# ---- A-running
n=$(e2e_active_count g1)
c=$(connects A)
e2e_phase A-running
e2e_libvirtd_stop A
e2e_log "A-running: libvirtd on hostA stopped"
sleep 1
rc=0
out=$(e2e_vfoctl A migrate g1 "$(e2e_tcp_uri B)" 2>&1) || rc=$?
[ "$rc" != 0 ] || e2e_die "A-running: a migration started without libvirtd"
case $out in *"not connected"*) ;; *) e2e_die "A-running: vfoctl said: $out" ;; esac
e2e_log "A-running: refused while libvirtd is down: $out"
e2e_libvirtd_start A
wait_connects A $((c + 1))
e2e_log "A-running: vfo-hostd on hostA reconnected"
e2e_running A g1 || e2e_die "A-running: g1 no longer runs on hostA"
e2e_expect_mode A g1 vf 5
e2e_expect_vf A g1 yes
e2e_expect_pool A "1 0 1"
[ "$(e2e_active_count g1)" = "$n" ] || e2e_die "A-running: the guest's bond moved"
sleep 1

# ---- B-before
n=$(e2e_active_count g1)
c=$(connects B)
e2e_libvirtd_stop B
e2e_libvirtd_start B
e2e_log "B-before: libvirtd on hostB restarted"
e2e_migrate A B B-before --mig-timeout 90
[ "$E2E_MIG_RC" = 0 ] || e2e_die "B-before: vfoctl migrate exited $E2E_MIG_RC"
wait_connects B $((c + 1))
e2e_running B g1 || e2e_die "B-before: g1 not running on hostB"
e2e_expect_vf B g1 yes 20
e2e_expect_pool B "1 0 1" 10
e2e_expect_pool A "2 0 0"
e2e_expect_mode B g1 vf 10
e2e_wait_active g1 e1000e 30 "$n"
sleep 1
e2e_phase B-before-after

# ---- A-midflow: B -> A, A's libvirtd restarted as the domain arrives
n=$(e2e_active_count g1)
c=$(connects A)
E2E_MIG_T0=$EPOCHREALTIME
e2e_phase A-midflow
e2e_vfoctl B migrate g1 "$(e2e_tcp_uri A)" --mig-timeout 90 >"$E2E_DIR/A-midflow.out" 2>&1 &
pid=$!
for i in $(seq 1500); do
	[ -n "$(e2e_event_time B migrating "$E2E_MIG_T0")" ] && break
	sleep 0.02
done
e2e_libvirtd_stop A
e2e_libvirtd_start A
e2e_log "A-midflow: libvirtd on hostA restarted during the migration"
rc=0
wait "$pid" || rc=$?
sed 's/^/    /' "$E2E_DIR/A-midflow.out" >&2
e2e_log "A-midflow: vfoctl migrate exited $rc"
wait_connects A $((c + 1))
on=B
off=A
if [ "$rc" = 0 ]; then
	on=A
	off=B
fi
e2e_running "$on" g1 || e2e_die "A-midflow: g1 not on host$on"
! e2e_running "$off" g1 || e2e_die "A-midflow: g1 also on host$off"
e2e_expect_vf "$on" g1 yes 20
e2e_expect_pool "$on" "1 0 1" 20
e2e_expect_pool "$off" "2 0 0" 20
e2e_expect_mode "$on" g1 vf 20
e2e_wait_active g1 e1000e 30 "$n"
e2e_log "A-midflow: g1 ends on host$on with its VF"
sleep 1
e2e_phase end
sleep 0.5
e2e_probe_stop
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
for ph in A-running B-before-unplug B-before-migration B-before-replug A-midflow; do
	e2e_log "$(e2e_loss "$ph")"
done
e2e_expect_loss A-running 0
e2e_expect_loss B-before-unplug 0
e2e_expect_loss B-before-replug 0
e2e_log "PASS"
