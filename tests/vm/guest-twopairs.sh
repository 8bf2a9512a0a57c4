#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario h (two pairs in one guest): two virtio-net + e1000e
# pairs with different MACs on one bridge, one subnet each (10.77.0.0/24,
# 10.77.1.0/24). The agent builds two bonds, vfo0 and vfo1, each over its
# own pair, both VFs active and carrying their own probes. A coordinated
# vf-leaving, unplug and replug of one pair's VF moves that pair only: the
# other pair's bond, counters and traffic do not notice.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-twopairs "${VFO_VM_TIMEOUT:-180}"
vm_net_setup 2
gd_boot --pairs 2 --mem 448
M0=$(vm_mac 0); M1=$(vm_mac 1)
probe_start p0 "$(vm_guest_ip 0)"
probe_start p1 "$(vm_guest_ip 1)"
probe_wait_flowing p0 50 30 || gd_fail "no probe echoes from pair 0"
probe_wait_flowing p1 50 30 || gd_fail "no probe echoes from pair 1"

# role MAC: the active role of the pair with that MAC.
role() { gd_pair "$1" | jq -r .active_role; }
wait_role()
{
	local deadline=$(($(date +%s) + $3))

	until [ "$(role "$1")" = "$2" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}
wait_role "$M0" vf 40 || gd_fail "pair 0's VF never became active"
wait_role "$M1" vf 40 || gd_fail "pair 1's VF never became active"

st=$(gd_status)
vm_log "pairs: $(jq -c '[.result.pairs[] | {mac, bond, standby, vf, active_role, state}]' <<<"$st")"
[ "$(jq -r '.result.pairs | length' <<<"$st")" = 2 ] || gd_fail "want two pairs"
[ "$(jq -r '[.result.pairs[].bond] | sort | join(" ")' <<<"$st")" = "vfo0 vfo1" ] ||
	gd_fail "the bonds are not vfo0 and vfo1"
[ "$(jq -r '[.result.pairs[].mode] | unique | join(" ")' <<<"$st")" = bond ] ||
	gd_fail "not both bond pairs"
P0=$(gd_pair "$M0"); P1=$(gd_pair "$M1")
B0=$(jq -r .bond <<<"$P0"); B1=$(jq -r .bond <<<"$P1")
VF0=$(jq -r .vf <<<"$P0"); SB0=$(jq -r .standby <<<"$P0")
VF1=$(jq -r .vf <<<"$P1"); SB1=$(jq -r .standby <<<"$P1")
# Each bond holds its own pair and nothing else, with its own address.
for i in 0 1; do
	eval b=\$B$i vf=\$VF$i sb=\$SB$i m=\$M$i
	sl=$(vm_guest "cat /sys/class/net/$b/bonding/slaves" | tr -d '\r' | tr ' ' '\n' | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$vf" "$sb" | sort | tr '\n' ' ')
	[ "$sl" = "$want" ] || gd_fail "$b holds '$sl', want '$want'"
	[ "$(vm_guest "cat /sys/class/net/$b/address" | tr -d '\r')" = "$m" ] || gd_fail "$b has the wrong MAC"
	vm_guest "ip -4 addr show dev $b" | grep -q "$(vm_guest_ip "$i")/24" ||
		gd_fail "$(vm_guest_ip "$i") is not on $b"
	[ "$(vm_guest "cat /sys/class/net/$b/bonding/active_slave" | tr -d '\r ')" = "$vf" ] ||
		gd_fail "$b: the kernel's active slave is not $vf"
done
gd_carries "$VF0" "$SB0" || gd_fail "VF $VF0 does not carry pair 0's probes"
gd_carries "$VF1" "$SB1" || gd_fail "VF $VF1 does not carry pair 1's probes"
gd_watch "$B0"
sw0=$(jq -r .counters.switches <<<"$P0")
cc() { vm_guest "cat /sys/class/net/$B0/carrier_changes /sys/class/net/$VF0/carrier_changes /sys/class/net/$SB0/carrier_changes | tr '\n' ' '" | tr -d '\r'; }
cc0=$(cc)

# Pair 1's VF leaves, coordinated; pair 0 must not notice.
probe_phase p0 other; probe_phase p1 unplug
ack=$(gd_chan "{\"id\":1,\"cmd\":\"vf-leaving\",\"args\":{\"mac\":\"$M1\"}}")
vm_log "vf-leaving $M1: $ack"
[ "$(jq -r '.result.ack' <<<"$ack")" = true ] || gd_fail "no ack"
[ "$(jq -r '.result.pairs | length' <<<"$ack")" = 1 ] || gd_fail "vf-leaving touched more than one pair"
[ "$(jq -r '.result.pairs[0].pair' <<<"$ack")" = "$B1" ] || gd_fail "vf-leaving picked the wrong pair"
[ "$(jq -r '.result.pairs[0].result' <<<"$ack")" = standby ] || gd_fail "pair 1 not switched"
sleep 0.1
vm_unplug vf1
probe_wait_flowing p1 100 10 || gd_fail "pair 1's traffic stopped"
[ "$(role "$M1")" = standby ] || gd_fail "pair 1 is not on its standby"
gd_carries "$SB1" lo || gd_fail "pair 1's standby does not carry its probes"
gd_carries "$VF0" "$SB0" || gd_fail "pair 0's VF lost its probes"

probe_phase p1 replug
gd_chan "{\"id\":2,\"cmd\":\"vf-arriving\",\"args\":{\"mac\":\"$M1\"}}" >&2
vm_plug_vf 1 vf1b
wait_role "$M1" vf 40 || gd_fail "pair 1's new VF never became active"
P1=$(gd_pair "$M1")
VF1old=$VF1
VF1=$(jq -r .vf <<<"$P1")
gd_carries "$VF1" "$SB1" || gd_fail "pair 1's new VF does not carry its probes"
probe_phase p0 steady; probe_phase p1 steady
sleep 1
probe_stop p0
probe_stop p1

# Pair 0 untouched: same VF active throughout (sampled every 20 ms), no
# switch, no carrier change, no probe lost.
P0b=$(gd_pair "$M0")
vm_log "pair 0 after: $(jq -c '{bond, vf, active_role, state, counters}' <<<"$P0b")"
[ "$(jq -r .counters.switches <<<"$P0b")" = "$sw0" ] || gd_fail "pair 0 switched"
[ "$(jq -r .vf <<<"$P0b")" = "$VF0" ] && [ "$(jq -r .active_role <<<"$P0b")" = vf ] ||
	gd_fail "pair 0 lost its VF"
[ "$(gd_watch_log "$B0" | awk '{ print $2 }' | tr '\n' ' ')" = "$VF0 " ] ||
	gd_fail "$B0's active slave moved: $(gd_watch_log "$B0" | tr '\n' ' ')"
[ "$(cc)" = "$cc0" ] || gd_fail "pair 0's carrier changes moved: $cc0 -> $(cc)"
lo=$(probe_get p0 lost other)
lu=$(probe_get p1 lost unplug); lr=$(probe_get p1 lost replug)
echo "RESULT guest-twopairs: $B0 ($SB0+$VF0) and $B1 ($SB1+$VF1old, then $VF1);" \
	"pair 1 coordinated unplug lost $lu, replug lost $lr; pair 0 meanwhile lost $lo;" \
	"total $(vm_elapsed)"
[ "${lo:-999}" = 0 ] || gd_fail "pair 0 lost $lo probes while pair 1 moved"
[ "${lu:-999}" = 0 ] || gd_fail "pair 1's coordinated unplug lost $lu probes"
[ "${lr:-999}" = 0 ] || gd_fail "pair 1's replug lost $lr probes"
vm_stop
vm_pass
