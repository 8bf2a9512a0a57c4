#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A guest without vfo-guestd (vfo.noagent=1): no bond, the VF and the
# standby are two NICs with one MAC, the address on the standby. A managed
# migration A -> B must not wait for an ack that cannot come: it unplugs
# at once, migrates, and B plugs a VF. Asserts the end state on both hosts
# and measures the probe loss per phase.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf noagent
e2e_expect_vf A g1 yes 20
e2e_expect_pool A "1 0 1"
sleep 2
[ "$(e2e_dom_field A g1 agent)" = false ] || e2e_die "hostA sees an agent in g1"
e2e_probe_start
sleep 2

e2e_migrate A B AB --mig-timeout 90
[ "$E2E_MIG_RC" = 0 ] || e2e_die "vfoctl migrate exited $E2E_MIG_RC"
case $E2E_MIG_OUT in *leaving*) e2e_die "a migration without agent went through 'leaving'" ;; esac
# No ack to wait for: the unplug starts right away (ack_timeout is 2 s).
t=$(e2e_event_time A detaching "$E2E_MIG_T0")
[ -n "$t" ] || e2e_die "no detaching step"
awk -v a="$E2E_MIG_T0" -v b="$t" 'BEGIN { exit !(b - a < 1.0) }' ||
	e2e_die "the unplug started $(awk -v a="$E2E_MIG_T0" -v b="$t" 'BEGIN { print b - a }') s after the request"
e2e_running B g1 || e2e_die "g1 not running on hostB"
e2e_expect_vf B g1 yes 10
e2e_expect_pool B "1 0 1" 5
e2e_expect_pool A "2 0 0"
e2e_expect_mode B g1 vf
[ -z "$(e2e_dom_field A g1 mode)" ] || e2e_die "hostA still follows g1"
sleep 3
e2e_phase end
sleep 0.5
e2e_probe_stop
# No agent, no bond: the watcher never saw an active slave.
if grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r' | awk '{print $3}' | grep -vqx none; then
	e2e_die "a bond appeared in a guest without agent"
fi
for ph in AB-unplug AB-migration AB-replug; do
	e2e_log "$(e2e_loss "$ph")"
done
e2e_expect_loss AB-unplug 0
e2e_expect_loss AB-replug 0
e2e_log "PASS"
