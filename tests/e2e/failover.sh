#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Forced failover by an operator, on one host:
#   failover g1 standby            the guest's bond moves to virtio; the VF
#                                  stays plugged and assigned
#   failover g1 vf                 back to the VF (after the agent's hold-down)
#   failover g1 standby --detach   the VF is unplugged and released: A's
#                                  pool has it free, the domain shows standby
#   failover g1 vf                 a VF is plugged again and the bond takes it
# Each step is a probe phase; none may lose a probe.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf agent
e2e_expect_pool A "1 0 1"
e2e_expect_vf A g1 yes
e2e_probe_start
sleep 2

step() {
	local ph=$1
	shift
	e2e_phase "$ph"
	e2e_log "$ph: vfoctl $*"
	e2e_vfoctl A "$@" >/dev/null || e2e_die "$ph: vfoctl $* failed"
}

n=$(e2e_active_count g1)
step to-standby failover g1 standby
e2e_wait_active g1 virtio_net 10 "$n"
sleep 1
e2e_expect_vf A g1 yes
e2e_expect_pool A "1 0 1"

n=$(e2e_active_count g1)
step to-vf failover g1 vf
e2e_wait_active g1 e1000e 15 "$n"
sleep 1
e2e_expect_mode A g1 vf

n=$(e2e_active_count g1)
step detach failover g1 standby --detach
e2e_wait_active g1 virtio_net 10 "$n"
e2e_expect_vf A g1 no 10
e2e_expect_pool A "2 0 0" 5
e2e_expect_mode A g1 standby
sleep 1

n=$(e2e_active_count g1)
step replug failover g1 vf
e2e_expect_vf A g1 yes 10
e2e_expect_pool A "1 0 1"
e2e_wait_active g1 e1000e 15 "$n"
e2e_expect_mode A g1 vf
sleep 1
e2e_phase end
sleep 0.5
e2e_probe_stop
# Host B never saw the domain.
e2e_expect_pool B "2 0 0"
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
for ph in to-standby to-vf detach replug; do
	e2e_log "$(e2e_loss "$ph")"
done
for ph in to-standby to-vf detach replug; do
	e2e_expect_loss "$ph" 0
done
e2e_log "PASS"
