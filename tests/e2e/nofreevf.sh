#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# No free VF on the destination: host B has one VF and another owner holds
# it (a reservation). The managed migration A -> B completes; on B the
# domain runs on its standby and vfoctl domains shows it degraded. Once the
# blocker is released, B plugs the VF and the guest's bond goes back to
# it, without a probe lost.
. "$(dirname "$0")/lib.sh"

BLOCKER=00000000-0000-4000-8000-0000000000b1

e2e_init
e2e_net_up
e2e_host_up A
e2e_host_up B
e2e_hostd_config B 1
e2e_hostd_start A
e2e_hostd_start B
e2e_events_start A
e2e_events_start B
e2e_vfoctl B reserve physnet1 "$BLOCKER" blk --mac 52:54:00:77:00:99 --expire-ms 600000 \
	>/dev/null || e2e_die "cannot reserve B's only VF"
e2e_expect_pool B "0 1 0"
e2e_guest_up novf agent
e2e_probe_start
sleep 2

n=$(e2e_active_count g1)
e2e_migrate A B AB --mig-timeout 90
[ "$E2E_MIG_RC" = 0 ] || e2e_die "vfoctl migrate exited $E2E_MIG_RC"
e2e_running B g1 || e2e_die "g1 not running on hostB"
e2e_expect_mode B g1 degraded 10
[ "$(e2e_dom_field B g1 migration)" = degraded ] ||
	e2e_die "B: g1's migration is '$(e2e_dom_field B g1 migration)', not degraded"
e2e_expect_vf B g1 no
e2e_expect_pool B "0 1 0"
e2e_expect_pool A "2 0 0"
[ -z "$(e2e_dom_field A g1 mode)" ] || e2e_die "hostA still follows g1"
e2e_wait_active g1 virtio_net 5 "$n"
e2e_log "g1 runs degraded on hostB's standby"
sleep 3
[ "$(e2e_active_now g1)" = virtio_net ] || e2e_die "guest bond on $(e2e_active_now g1)"

n=$(e2e_active_count g1)
e2e_phase freed
e2e_vfoctl B release "$BLOCKER" >/dev/null || e2e_die "cannot release the blocker"
e2e_expect_vf B g1 yes 5
e2e_expect_pool B "0 0 1" 5
e2e_expect_mode B g1 vf 5
[ "$(e2e_dom_field B g1 migration)" = none ] ||
	e2e_die "B: g1's migration is '$(e2e_dom_field B g1 migration)', not over"
e2e_wait_active g1 e1000e 15 "$n"
sleep 1
e2e_phase end
sleep 0.5
e2e_probe_stop
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
for ph in AB-unplug AB-migration AB-replug freed; do
	e2e_log "$(e2e_loss "$ph")"
done
e2e_expect_loss AB-unplug 0
e2e_expect_loss AB-replug 0
e2e_expect_loss freed 0
e2e_log "PASS"
