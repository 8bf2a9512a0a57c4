#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario d (agent restart): SIGTERM the agent while probes
# flow, start it again: it adopts vfo0 as it is (no link flap: the bond's
# and the VF's carrier-change counters do not move), zero probes lost, the
# VF still active.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-restart "${VFO_VM_TIMEOUT:-240}"
vm_net_setup 1
gd_boot --pairs 1
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 30 || gd_fail "the VF never became active"
VF=$(gd_field 0 .vf)
SB=$(gd_field 0 .standby)
flaps() { vm_guest "cat /sys/class/net/vfo0/carrier_changes /sys/class/net/$VF/carrier_changes /sys/class/net/$SB/carrier_changes | tr '\n' ' '" | tr -d '\r'; }
before=$(flaps)

probe_phase p restart
vm_guest 'kill $(cat /tmp/guestd.pid); sleep 1; vfo-guestd -f -d >>/tmp/guestd.log 2>&1 & echo $! >/tmp/guestd.pid; sleep 1.5'
st=$(gd_status) || gd_fail "agent not answering after restart"
[ "$(jq -r '.result.pairs[0].adopted' <<<"$st")" = true ] || gd_fail "bond not adopted"
[ "$(jq -r '.result.pairs[0].state' <<<"$st")" = active ] || gd_fail "not active after restart"
[ "$(jq -r '.result.pairs[0].counters.switches' <<<"$st")" = 0 ] || gd_fail "restart switched"
sleep 1
after=$(flaps)
vm_log "carrier_changes bond/vf/standby before: $before after: $after"
[ "$before" = "$after" ] || gd_fail "a link flapped across the restart"
gd_carries "$VF" "$SB" || gd_fail "the VF does not carry the probes"
probe_phase p steady
sleep 1
probe_stop p
lr=$(probe_get p lost restart)
echo "RESULT guest-restart: lost $lr probes across the restart, max gap $(probe_get p max_gap_ms restart)ms; total $(vm_elapsed)"
[ "${lr:-999}" = 0 ] || gd_fail "restart lost $lr probes"
vm_stop
vm_pass
