#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario a (boot): the agent finds the pair, builds the bond
# over the standby that DHCP configured, moves its address and default route
# onto the bond, enslaves the VF and makes it active after the hold-down;
# the probes flow over the VF (its counters prove it).
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-boot "${VFO_VM_TIMEOUT:-240}"
vm_net_setup 1
gd_boot --pairs 1
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 30 || gd_fail "the VF never became active"

st=$(gd_status)
echo "$st" | jq -c '.result.pairs[0]' >&2
[ "$(jq -r '.result.pairs[0].mode' <<<"$st")" = bond ] || gd_fail "not a bond pair"
[ "$(jq -r '.result.pairs[0].bond' <<<"$st")" = vfo0 ] || gd_fail "bond is not vfo0"
[ "$(jq -r '.result.pairs[0].state' <<<"$st")" = active ] || gd_fail "state is not active"
[ "$(jq -r '.result.pairs[0].counters.last_switch_reason' <<<"$st")" = vf-ready ] ||
	gd_fail "last switch reason is not vf-ready"
VF=$(jq -r '.result.pairs[0].vf' <<<"$st")
SB=$(jq -r '.result.pairs[0].standby' <<<"$st")
[ "$(vm_guest 'cat /sys/class/net/vfo0/bonding/active_slave' | tr -d '\r ')" = "$VF" ] ||
	gd_fail "the kernel's active slave is not $VF"
[ "$(vm_guest 'cat /sys/class/net/vfo0/bonding/mode' | tr -d '\r')" = "active-backup 1" ] ||
	gd_fail "bond mode is not active-backup"
# The address and the default route moved to the bond.
vm_guest "ip -4 addr show dev vfo0" | grep -q "$(vm_guest_ip 0)/24" || gd_fail "address not on vfo0"
vm_guest "ip -4 addr show dev $SB" | grep -q "inet " && gd_fail "address still on the standby"
vm_guest "ip route" | grep -q "default via 10.77.0.1 dev vfo0" || gd_fail "default route not on vfo0"
gd_carries "$VF" "$SB" || gd_fail "the VF does not carry the probes"
probe_stop p
lost=$(probe_get p lost)
echo "RESULT guest-boot: VF $VF active, lost $lost probes overall, total $(vm_elapsed)"
vm_stop
vm_pass
