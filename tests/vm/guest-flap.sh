#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario e (VF link flapping): QMP set_link takes the e1000e's
# link down and up several times, each up shorter than the hold-down. The
# first loss fails over to the standby; after that the traffic must NOT
# bounce back onto the VF while it flaps: the bond's active slave (sampled
# in the guest every 20 ms) stays the standby, the VF sends nothing, no
# probe is lost, and the agent counts the flaps. Once the link stays up
# longer than the hold-down, the VF becomes active again.
#
# QEMU 7.2's e1000e signals no link change under MSI-X: the guest reloads
# e1000e with IntMode=0 (legacy interrupts) before the agent starts.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

HOLD_MS=5000	# hold-down: well above one up stretch, even under load
FLAPS=4		# carrier losses in all, the first one included
DOWN_S=0.5	# link down this long after the guest saw it go
UP_S=0.3	# link up this long after the guest saw it come (~1 s in all)

vm_init guest-flap "${VFO_VM_TIMEOUT:-150}"
vm_net_setup 1
gd_boot --pairs 1 --env "GD_CONF=[bond]\nhold_down_ms=$HOLD_MS" --env GD_E1000E_ARGS=IntMode=0
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 40 || gd_fail "the VF never became active"
st=$(gd_status)
VF=$(jq -r '.result.pairs[0].vf' <<<"$st")
SB=$(jq -r '.result.pairs[0].standby' <<<"$st")
[ "$(jq -r '.result.pairs[0].hold_down_ms' <<<"$st")" = "$HOLD_MS" ] ||
	gd_fail "hold_down_ms from the config not applied"
sw0=$(jq -r '.result.pairs[0].counters.switches' <<<"$st")
gd_watch vfo0

# The first loss: the kernel (miimon) fails over, the agent follows.
probe_phase p first-down
vm_set_link vf0 off || gd_fail "set_link off"
gd_wait_role 0 standby 10 || gd_fail "no failover to the standby on link loss"
probe_wait_flowing p 50 10 || gd_fail "traffic did not continue on the standby"
# Let the first loss settle: the emulated e1000e may notice it only at its
# 2 s watchdog, and what it queued meanwhile comes out later.
sleep 2.5

# Flapping: every up is shorter than the hold-down.
# What the VF puts on the wire, counted at its tap on the host.
vf_tx0=$(gd_tap_sent vf0)
probe_phase p flapping
vm_log "flapping: $((FLAPS - 1)) more times (hold-down ${HOLD_MS} ms)"
# Each edge is waited for in the guest, so that every up is seen (and
# every loss counted) however slow the machine, while the up stretches stay
# far shorter than the hold-down.
carrier_is()
{
	local deadline=$(($(date +%s%N) / 1000000 + 3000))

	until [ "$(vm_guest "cat /sys/class/net/$VF/carrier" | tr -d '\r')" = "$1" ]; do
		[ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
		sleep 0.05
	done
}
for ((i = 1; i < FLAPS; i++)); do
	t_up=$(date +%s.%N)
	vm_set_link vf0 on || gd_fail "set_link on"
	carrier_is 1 || gd_fail "the VF's carrier did not come back within 3 s"
	sleep "$UP_S"
	vm_set_link vf0 off || gd_fail "set_link off"
	up_s=$(awk -v a="$t_up" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	vm_log "flap $((i + 1)): link up for ${up_s}s"
	carrier_is 0 || gd_fail "the VF's carrier did not go within 3 s"
	sleep "$DOWN_S"
done
vf_tx1=$(gd_tap_sent vf0)
st=$(gd_status)
vm_log "after flapping: $(jq -c '.result.pairs[0] | {active_role, state, counters}' <<<"$st")"
[ "$(jq -r '.result.pairs[0].active_role' <<<"$st")" = standby ] ||
	gd_fail "the VF became active while flapping"
sw=$(jq -r '.result.pairs[0].counters.switches' <<<"$st")
flaps=$(jq -r '.result.pairs[0].counters.flaps' <<<"$st")
[ "$sw" = $((sw0 + 1)) ] || gd_fail "switches went $sw0 -> $sw while flapping (want one: to the standby)"
[ "${flaps:-0}" = "$FLAPS" ] || gd_fail "flaps counted: $flaps, want $FLAPS"
vm_log "the VF's tap saw $((vf_tx1 - vf_tx0)) frames from the guest while flapping"
[ $((vf_tx1 - vf_tx0)) -le 5 ] ||
	gd_fail "the VF sent $((vf_tx1 - vf_tx0)) packets while flapping"

# Now the link stays up: the VF takes the traffic back after the hold-down.
probe_phase p back
t_on=$(date +%s.%N)
vm_set_link vf0 on || gd_fail "set_link on"
gd_wait_role 0 vf $((HOLD_MS / 1000 + 20)) || gd_fail "the VF never became active again"
t_act=$(date +%s.%N)
after=$(awk -v a="$t_on" -v b="$t_act" 'BEGIN { printf "%.2f", b - a }')
st=$(gd_status)
[ "$(jq -r '.result.pairs[0].counters.last_switch_reason' <<<"$st")" = vf-ready ] ||
	gd_fail "the VF came back other than by the hold-down"
[ "$(jq -r '.result.pairs[0].counters.switches' <<<"$st")" = $((sw0 + 2)) ] ||
	gd_fail "more than one switch back to the VF"
awk -v s="$after" -v h="$HOLD_MS" 'BEGIN { exit !(s * 1000 >= h) }' ||
	gd_fail "the VF became active ${after}s after link up, inside the hold-down"
gd_carries "$VF" "$SB" || gd_fail "the VF does not carry the probes"
probe_phase p steady
sleep 1
probe_stop p

# The kernel's view, sampled every 20 ms: VF -> standby -> VF, nothing else.
log=$(gd_watch_log vfo0)
vm_log "active slave changes (uptime slave):" $log
seq=$(awk '{ print $2 }' <<<"$log" | tr '\n' ' ')
[ "$seq" = "$VF $SB $VF " ] || gd_fail "active slave sequence '$seq', want '$VF $SB $VF '"
l1=$(probe_get p lost first-down); lf=$(probe_get p lost flapping); lb=$(probe_get p lost back)
echo "RESULT guest-flap: $flaps flaps counted, 1 switch while flapping (to the standby);" \
	"first loss lost $l1 gap $(probe_get p max_gap_ms first-down)ms;" \
	"flapping lost $lf gap $(probe_get p max_gap_ms flapping)ms;" \
	"back on the VF ${after}s after the last link up (hold-down ${HOLD_MS} ms), lost $lb;" \
	"total $(vm_elapsed)"
# Not strictly 0: QEMU's e1000e queues frames while its link is down and
# flushes them (and a stale TX ring) at link up, which can pull the bridge's
# entry to the VF's port for a moment. A bounce would lose far more.
[ "${lf:-999}" -le 2 ] || gd_fail "flapping lost $lf probes"
[ "${lb:-999}" = 0 ] || gd_fail "the switch back to the VF lost $lb probes"
[ "${l1:-999}" -le 50 ] || gd_fail "the first link loss lost $l1 probes"
vm_stop
vm_pass
