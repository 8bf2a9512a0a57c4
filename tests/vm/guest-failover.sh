#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario f (kernel net_failover): QEMU failover=on on the
# virtio NIC and failover_pair_id on the e1000e (hot-added over QMP after
# FAILOVER_NEGOTIATED, see lib.sh). The guest kernel builds its 3-netdev
# failover master; the agent must create no bond, report the pair as
# kernel-managed and stay passive: vf-leaving, the VF's surprise removal
# and its return change nothing it owns, because it owns nothing.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-failover "${VFO_VM_TIMEOUT:-150}"
vm_net_setup 1
gd_boot --pairs 1 --failover
MAC=$(vm_mac 0)
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"

# gd_wait_vf PRESENT TIMEOUT: the agent lists a VF (1) or none (0).
gd_wait_vf()
{
	local deadline=$(($(date +%s) + $2)) v

	while :; do
		v=$(gd_field 0 .vf 2>/dev/null)
		[ "$1" = 1 ] && [ -n "$v" ] && [ "$v" != null ] && return 0
		[ "$1" = 0 ] && [ "$v" = null ] && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}

# no_bond: the agent made no bond and moved nothing; the failover master
# still owns both lower devices.
no_bond()
{
	local masters

	masters=$(vm_guest 'cat /sys/class/net/bonding_masters' | tr -d '\r')
	[ -z "$masters" ] || gd_fail "a bond exists: $masters"
	vm_guest "grep -E 'created|enslaved|moved .* address|adjusting' /tmp/guestd.log" &&
		gd_fail "the agent touched the links"
	[ "$(vm_guest "basename \$(readlink /sys/class/net/$SB/master)" | tr -d '\r')" = "$M" ] ||
		gd_fail "the standby $SB left the failover master $M"
}

gd_wait_vf 1 30 || gd_fail "the agent never saw the failover primary"
st=$(gd_status)
vm_log "status: $(jq -c '.result.pairs[0]' <<<"$st")"
[ "$(jq -r '.result.pairs | length' <<<"$st")" = 1 ] || gd_fail "want exactly one pair"
[ "$(jq -r '.result.pairs[0].mode' <<<"$st")" = kernel-managed ] ||
	gd_fail "the pair is not reported as kernel-managed"
[ "$(jq -r '.result.pairs[0].mac' <<<"$st")" = "$MAC" ] || gd_fail "wrong MAC"
M=$(jq -r '.result.pairs[0].bond' <<<"$st")
SB=$(jq -r '.result.pairs[0].standby' <<<"$st")
VF=$(jq -r '.result.pairs[0].vf' <<<"$st")
# The master the agent names is the kernel's failover master of both.
vm_guest "ls -d /sys/class/net/$M/lower_$SB /sys/class/net/$M/lower_$VF" >/dev/null ||
	gd_fail "$M is not the failover master of $SB and $VF"
[ "$(jq -r '.result.pairs[0].active_role' <<<"$st")" = vf ] ||
	gd_fail "net_failover with its primary up should be reported on the VF"
no_bond
# net_failover transmits through the primary when it is up: the echoes
# leave through the VF, counted at its tap on the host. (How many probes
# reach the guest at all is the kernel's business: net_failover has
# blackouts of its own, see TESTBED.md.)
VT=$(gd_vf_tap 0)
probe_wait_flowing p 20 20 || gd_fail "no echoes"
a=$(gd_tap_sent "$VT"); b=$(gd_tap_sent sb0)
sleep 3
a=$(($(gd_tap_sent "$VT") - a)); b=$(($(gd_tap_sent sb0) - b))
vm_log "over 3 s the guest sent $a frames through the VF, $b through the standby"
[ "$a" -ge 10 ] && [ "$b" -le 5 ] || gd_fail "the VF does not carry the echoes"

hello=$(gd_chan '{"id":1,"cmd":"hello","args":{"version":1}}')
vm_log "hello: $hello"
[ "$(jq -r '.result.pairs[0].mode' <<<"$hello")" = kernel-managed ] ||
	gd_fail "hello does not say kernel-managed"
ack=$(gd_chan "{\"id\":2,\"cmd\":\"vf-leaving\",\"args\":{\"mac\":\"$MAC\"}}")
vm_log "vf-leaving: $ack"
[ "$(jq -r '.result.ack' <<<"$ack")" = true ] || gd_fail "vf-leaving not acked"
[ "$(jq -r '.result.pairs[0].result' <<<"$ack")" = kernel-managed ] ||
	gd_fail "vf-leaving did something to a kernel-managed pair"
[ "$(vm_guest "basename \$(readlink /sys/class/net/$VF/master)" | tr -d '\r')" = "$M" ] ||
	gd_fail "the VF left the failover master"

# The primary goes away by surprise: the kernel handles it, the agent
# only reports.
probe_phase p unplug
vm_unplug vf0
probe_wait_flowing p 100 15 || gd_fail "traffic did not continue after the unplug"
gd_wait_vf 0 10 || gd_fail "the agent still lists the removed VF"
st=$(gd_status)
[ "$(jq -r '.result.pairs[0].mode' <<<"$st")" = kernel-managed ] || gd_fail "mode changed"
[ "$(jq -r '.result.pairs[0].active_role' <<<"$st")" = standby ] ||
	gd_fail "not reported on the standby"
no_bond

# And comes back (same id: QEMU 7.2 accepts no other primary).
probe_phase p replug
vm_plug_vf 0 vf0
gd_wait_vf 1 30 || gd_fail "the agent did not see the new primary"
st=$(gd_status)
VF=$(jq -r '.result.pairs[0].vf' <<<"$st")
[ "$(jq -r '.result.pairs[0].mode' <<<"$st")" = kernel-managed ] || gd_fail "mode changed"
vm_guest "ls -d /sys/class/net/$M/lower_$VF" >/dev/null ||
	gd_fail "the new primary $VF is not in the failover master"
no_bond
# net_failover's replug blackout (TESTBED) is the kernel's: wait it out.
probe_wait_flowing p 100 30 || gd_fail "traffic did not come back after the replug"
gd_agent_alive || gd_fail "the agent died"
probe_phase p steady
sleep 1
probe_stop p
echo "RESULT guest-failover: kernel-managed by $M ($SB + $VF), no bond, agent passive;" \
	"(kernel) unplug lost $(probe_get p lost unplug), replug lost $(probe_get p lost replug);" \
	"total $(vm_elapsed)"
vm_stop
vm_pass
