#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Maintenance drain on host A: `vfoctl drain physnet1` moves every domain
# using the pool to its standby and takes its VF away (unplugged,
# released, and the pool hands out no VF while drained); `vfoctl undrain
# physnet1` gives them back. Neither may lose a probe.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf agent
e2e_expect_pool A "1 0 1"
e2e_probe_start
sleep 2

n=$(e2e_active_count g1)
e2e_phase drain
e2e_vfoctl A drain physnet1 || e2e_die "vfoctl drain failed"
e2e_wait_active g1 virtio_net 10 "$n"
e2e_expect_vf A g1 no 10
e2e_expect_mode A g1 standby
# Nothing free to hand out, nothing reserved or assigned.
e2e_expect_pool A "0 0 0" 5
# A reservation now finds no VF.
if e2e_vfoctl A reserve physnet1 00000000-0000-4000-8000-0000000000aa x --mac 52:54:00:77:00:99 \
	>/dev/null 2>&1; then
	e2e_die "a drained pool handed out a VF"
fi
sleep 2

n=$(e2e_active_count g1)
e2e_phase undrain
e2e_vfoctl A undrain physnet1 || e2e_die "vfoctl undrain failed"
e2e_expect_vf A g1 yes 10
e2e_expect_pool A "1 0 1" 5
e2e_wait_active g1 e1000e 15 "$n"
e2e_expect_mode A g1 vf
sleep 1
e2e_phase end
sleep 0.5
e2e_probe_stop
e2e_expect_pool B "2 0 0"
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
e2e_log "$(e2e_loss drain)"
e2e_log "$(e2e_loss undrain)"
e2e_expect_loss drain 0
e2e_expect_loss undrain 0
e2e_log "PASS"
