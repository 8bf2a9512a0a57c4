#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario b (surprise unplug and replug): QMP device_del of the
# VF with no warning; the standby carries the probes; the agent records the
# switch ("vf-removed"). A new e1000e with the same MAC is plugged on a
# spare port: enslaved, and active only after its carrier held for the
# hold-down.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-unplug "${VFO_VM_TIMEOUT:-240}"
vm_net_setup 1
gd_boot --pairs 1
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 30 || gd_fail "the VF never became active"
SB=$(gd_field 0 .standby)

probe_phase p unplug
vm_unplug vf0
probe_wait_flowing p 100 10 || gd_fail "traffic did not continue after the unplug"
gd_wait_role 0 standby 5 || gd_fail "the standby is not active after the unplug"
st=$(gd_status)
[ "$(jq -r '.result.pairs[0].counters.last_switch_reason' <<<"$st")" = vf-removed ] ||
	gd_fail "last switch reason is not vf-removed"
[ "$(jq -r '.result.pairs[0].counters.removals' <<<"$st")" = 1 ] || gd_fail "removal not counted"
[ "$(jq -r '.result.pairs[0].vf' <<<"$st")" = null ] || gd_fail "VF still listed"
gd_carries "$SB" lo || gd_fail "the standby does not carry the probes"

probe_phase p replug
t0=$(date +%s.%N)
vm_plug_vf 0 vf0b
gd_wait_role 0 vf 40 || gd_fail "the new VF never became active"
t1=$(date +%s.%N)
st=$(gd_status)
VF=$(jq -r '.result.pairs[0].vf' <<<"$st")
[ "$(jq -r '.result.pairs[0].counters.last_switch_reason' <<<"$st")" = vf-ready ] ||
	gd_fail "the new VF was not made active by the hold-down"
# The hold-down held: the VF's carrier came up >= hold_down_ms before.
vm_guest "grep -E 'VF .* arrived|holding-down -> active|wait-carrier -> holding' /tmp/guestd.log" >&2
gd_carries "$VF" "$SB" || gd_fail "the new VF does not carry the probes"
probe_phase p steady
sleep 1
probe_stop p
lu=$(probe_get p lost unplug); gu=$(probe_get p max_gap_ms unplug)
lr=$(probe_get p lost replug); gr=$(probe_get p max_gap_ms replug)
echo "RESULT guest-unplug: unplug lost $lu gap ${gu}ms; replug lost $lr gap ${gr}ms;" \
	"new VF active $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s after device_add; total $(vm_elapsed)"
[ "${lu:-999}" -le 30 ] || gd_fail "unplug lost $lu probes"
[ "${lr:-999}" -le 5 ] || gd_fail "replug lost $lr probes"
vm_stop
vm_pass
