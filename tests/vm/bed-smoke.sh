#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Proves the VM test bed end to end without the guest agent: a guest with a
# plain active-backup bond (guest/plain-bond.sh), probes from the peer
# namespace, then a surprise unplug of the stand-in VF (QMP device_del) and
# a replug of a new e1000e with the same MAC on a spare root port. Checks
# that the e1000e carries the probes (its guest counters), that traffic
# goes on over virtio after the unplug and over the new e1000e after the
# replug; prints the loss and the timings of each phase.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

vm_init bed-smoke "${VFO_VM_TIMEOUT:-240}"
vm_net_setup 1
vm_boot --pairs 1 --script "$VM_SRCDIR/guest/plain-bond.sh"

GUEST=$(vm_guest_ip 0)
vm_wait_console '^VFO-READY' 120 || vm_fail "guest never got ready"
t_ready=$(date +%s.%N)
vm_log "guest ready ($(vm_elapsed))"
grep -a '^VFO-BOND' "$VM_DIR/console.log" | tr -d '\r' >&2

# sysfs counters of a guest NIC: "rx tx".
counters()
{
	vm_guest "cat /sys/class/net/$1/statistics/rx_packets /sys/class/net/$1/statistics/tx_packets | tr '\n' ' '" |
		tr -d '\r'
}

active() { vm_guest "cat /sys/class/net/vfo0/bonding/active_slave" | tr -d '\r '; }

# nic_by_driver DRIVER: the guest NIC (a vfo0 slave) with that driver.
nic_by_driver()
{
	vm_guest "for s in \$(cat /sys/class/net/vfo0/bonding/slaves); do d=\$(readlink /sys/class/net/\$s/device/driver); [ \"\${d##*/}\" = $1 ] && echo \$s; done" |
		tr -d '\r '
}

# wait_active DRIVER TIMEOUT: the bond's active slave uses DRIVER.
wait_active()
{
	local want=$1 deadline=$(($(date +%s) + $2)) nic

	while :; do
		nic=$(nic_by_driver "$want")
		[ -n "$nic" ] && [ "$(active)" = "$nic" ] && { echo "$nic"; return 0; }
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# carries NIC OTHER: over 2 s, NIC moves the probes (>= 150 packets each
# way at 100/s) and OTHER next to nothing.
carries()
{
	local nic=$1 other=$2 a b c d drx dtx orx otx

	read -r a b <<<"$(counters "$nic")"
	read -r c d <<<"$(counters "$other")"
	sleep 2
	read -r drx dtx <<<"$(counters "$nic")"
	read -r orx otx <<<"$(counters "$other")"
	drx=$((drx - a)); dtx=$((dtx - b)); orx=$((orx - c)); otx=$((otx - d))
	vm_log "over 2 s: $nic rx $drx tx $dtx; $other rx $orx tx $otx"
	[ "$drx" -ge 150 ] && [ "$dtx" -ge 150 ] && [ "$otx" -le 20 ]
}

probe_start p "$GUEST"
probe_wait_flowing p 50 20 || vm_fail "no probe echoes from the guest"
vm_log "probes flowing"

VF=$(wait_active e1000e 30) || vm_fail "e1000e never became the active slave"
SB=$(nic_by_driver virtio_net)
[ -n "$SB" ] || vm_fail "no virtio slave in vfo0"
vm_log "active slave $VF (e1000e), standby $SB"
carries "$VF" "$SB" || vm_fail "the e1000e does not carry the probes"

# --- surprise unplug
probe_phase p unplug
t_unplug=$(date +%s.%N)
vm_unplug vf0
vm_log "device_del vf0 -> DEVICE_DELETED in ${VM_UNPLUG_S}s"
probe_wait_flowing p 100 10 || vm_fail "traffic did not continue after the unplug"
[ "$(active)" = "$SB" ] || vm_fail "virtio is not active after the unplug"
carries "$SB" lo || vm_fail "virtio does not carry the probes after the unplug"

# --- replug: a new e1000e, same MAC, on a spare root port
probe_phase p replug
t_replug=$(date +%s.%N)
vm_plug_vf 0 vf0b
vm_log "device_add vf0b on rp${VM_DEV_PORT[vf0b]}"
NEW=$(wait_active e1000e 30) || vm_fail "the new e1000e never became active"
t_back=$(date +%s.%N)
vm_log "new e1000e $NEW active $(awk -v a="$t_replug" -v b="$t_back" 'BEGIN{printf "%.2f", b-a}')s after device_add"
carries "$NEW" "$SB" || vm_fail "the new e1000e does not carry the probes"
probe_phase p steady
sleep 1
probe_stop p

cat "$VM_DIR/p.txt" >&2
grep -a -E '^VFO-(ENSLAVE|ACTIVE)' "$VM_DIR/console.log" | tr -d '\r' >&2
lost_u=$(probe_get p lost unplug)
gap_u=$(probe_get p max_gap_ms unplug)
lost_r=$(probe_get p lost replug)
gap_r=$(probe_get p max_gap_ms replug)
lost_s=$(probe_get p lost start)
echo "RESULT bed-smoke: ready after $(awk -v a="$VM_T0" -v b="$t_ready" 'BEGIN{printf "%.1f", b-a}')s," \
	"unplug: lost $lost_u max-gap ${gap_u}ms (DEVICE_DELETED ${VM_UNPLUG_S}s);" \
	"replug: lost $lost_r max-gap ${gap_r}ms, new VF active after" \
	"$(awk -v a="$t_replug" -v b="$t_back" 'BEGIN{printf "%.2f", b-a}')s;" \
	"total $(vm_elapsed)"
: "$t_unplug"
# The bed must show a failover, not a blackout: bounds far above the
# baseline (TESTBED: 5-6 lost at unplug, 0 at replug) but far below a
# broken bed (a bond that never fails over loses everything).
[ "${lost_u:-999}" -le 100 ] || vm_fail "unplug lost $lost_u probes"
[ "${lost_r:-999}" -le 100 ] || vm_fail "replug lost $lost_r probes"
[ "${lost_s:-999}" -le 10 ] || vm_fail "lost $lost_s probes in steady state before the unplug"
vm_stop
vm_pass
