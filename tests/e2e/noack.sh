#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A guest agent that said hello and then never answers (vfo.noack=1: the
# guest SIGSTOPs vfo-guestd once its bond runs on the VF). A managed
# migration A -> B waits for the vf-leaving ack no longer than ack_timeout
# (2 s here), then unplugs (the guest's bond fails over by itself, as
# without vfo), migrates, and B plugs a VF. Asserts the timing of the
# leaving step, the end state on both hosts and reports the probe loss.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf noack
e2e_wait_console g1 VFO-AGENT-STOPPED 30
e2e_expect_pool A "1 0 1"
[ "$(e2e_dom_field A g1 agent)" = true ] || e2e_die "hostA does not know g1's agent"
e2e_probe_start
sleep 2

e2e_migrate A B AB --mig-timeout 90
[ "$E2E_MIG_RC" = 0 ] || e2e_die "vfoctl migrate exited $E2E_MIG_RC"
leave=$(e2e_step_duration A leaving detaching "$E2E_MIG_T0") || e2e_die "no leaving/detaching steps"
e2e_log "leaving lasted $leave s (ack_timeout 2 s)"
awk -v t="$leave" 'BEGIN { exit !(t >= 1.8 && t <= 3.5) }' ||
	e2e_die "the leaving step lasted $leave s, not about ack_timeout (2 s)"
grep -q "did not confirm vf-leaving\|no answer" "$E2E_DIR/hostA/hostd.log" ||
	e2e_die "hostA did not log the missing ack"
e2e_running B g1 || e2e_die "g1 not running on hostB"
e2e_expect_vf B g1 yes 10
e2e_expect_pool B "1 0 1" 5
e2e_expect_pool A "2 0 0"
[ -z "$(e2e_dom_field A g1 mode)" ] || e2e_die "hostA still follows g1"
# The hung agent cannot enslave the new VF: the kernel bond runs on the
# standby, which it failed over to when the old VF went.
sleep 3
[ "$(e2e_active_now g1)" = virtio_net ] || e2e_die "guest bond on $(e2e_active_now g1)"
e2e_phase end
sleep 0.5
e2e_probe_stop
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
for ph in AB-unplug AB-migration AB-replug; do
	e2e_log "$(e2e_loss "$ph")"
done
# Unwarned, the unplug costs what a plain bond's failover costs; the
# replug nothing (the guest never moves to the new VF).
e2e_expect_loss AB-unplug 50
e2e_expect_loss AB-replug 0
e2e_log "PASS"
