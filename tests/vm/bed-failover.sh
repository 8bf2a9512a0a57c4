#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The bed with QEMU failover=on (kernel net_failover, no bond, no agent):
# proves vm_boot --failover (primary hot-added over QMP after
# FAILOVER_NEGOTIATED, so it can be unplugged and re-added) and measures the
# kernel baseline: loss at a surprise unplug and at the replug.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

vm_init bed-failover "${VFO_VM_TIMEOUT:-240}"
vm_net_setup 1
vm_boot --pairs 1 --failover --script "$VM_SRCDIR/guest/failover.sh"
vm_log "FAILOVER_NEGOTIATED seen, vf0 hot-added"
vm_wait_console '^VFO-READY' 120 || vm_fail "guest never got ready"
grep -a '^VFO-FAILOVER' "$VM_DIR/console.log" | tr -d '\r' >&2

probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 20 || vm_fail "no probe echoes from the guest"
vm_wait_console '^VFO-PRIMARY [^ ]+ eth' 30 || vm_fail "no primary in the failover master"
sleep 2

probe_phase p unplug
vm_unplug vf0
vm_log "device_del vf0 -> DEVICE_DELETED in ${VM_UNPLUG_S}s"
from=$(vm_console_size)
vm_wait_console '^VFO-PRIMARY [^ ]+ none' 10 || vm_fail "primary still listed after unplug"
probe_wait_flowing p 100 10 || vm_fail "traffic did not continue after the unplug"

probe_phase p replug
t_replug=$(date +%s.%N)
from=$(vm_console_size)
vm_plug_vf 0 vf0
vm_wait_console '^VFO-PRIMARY [^ ]+ eth' 30 "$from" || vm_fail "re-added primary never joined"
t_join=$(date +%s.%N)
# net_failover blackholes until the bridge learns the new port (TESTBED:
# ~1.5-1.8 s with IPv6): wait for the flow to come back, bounded.
probe_wait_flowing p 100 40 || vm_fail "traffic did not come back after the replug"
t_back=$(date +%s.%N)
sleep 2
probe_phase p steady
sleep 1
probe_stop p
cat "$VM_DIR/p.txt" >&2
echo "RESULT bed-failover: unplug: lost $(probe_get p lost unplug) max-gap $(probe_get p max_gap_ms unplug)ms;" \
	"replug: lost $(probe_get p lost replug) max-gap $(probe_get p max_gap_ms replug)ms," \
	"primary joined $(awk -v a="$t_replug" -v b="$t_join" 'BEGIN{printf "%.2f", b-a}')s," \
	"flow back $(awk -v a="$t_replug" -v b="$t_back" 'BEGIN{printf "%.2f", b-a}')s after device_add;" \
	"total $(vm_elapsed)"
vm_stop
vm_pass
