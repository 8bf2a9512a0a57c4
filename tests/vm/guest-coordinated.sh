#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario c (coordinated unplug): the host sends vf-leaving on
# org.vfo.guest.0, the agent switches to the standby, notifies the peers and
# acks with the time it took; then device_del. Zero probes lost, at the
# unplug and at the replug.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-coordinated "${VFO_VM_TIMEOUT:-240}"
vm_net_setup 1
gd_boot --pairs 1
MAC=$(vm_mac 0)
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 30 || gd_fail "the VF never became active"

hello=$(gd_chan '{"id":1,"cmd":"hello","args":{"version":1}}')
vm_log "hello: $hello"
[ "$(jq -r '.result.pairs[0].mac' <<<"$hello")" = "$MAC" ] || gd_fail "hello does not list the pair"

probe_phase p unplug
ack=$(gd_chan "{\"id\":2,\"cmd\":\"vf-leaving\",\"args\":{\"mac\":\"$MAC\"}}")
vm_log "vf-leaving: $ack"
[ "$(jq -r '.result.ack' <<<"$ack")" = true ] || gd_fail "no ack"
[ "$(jq -r '.result.pairs[0].result' <<<"$ack")" = standby ] || gd_fail "not switched"
sleep 0.1
vm_unplug vf0
probe_wait_flowing p 100 10 || gd_fail "traffic stopped"
st=$(gd_status)
[ "$(jq -r '.result.pairs[0].active_role' <<<"$st")" = standby ] || gd_fail "standby not active"
[ "$(jq -r '.result.pairs[0].counters.last_switch_reason' <<<"$st")" = vf-leaving ] ||
	gd_fail "last switch reason is not vf-leaving"
[ "$(jq -r '.result.pairs[0].counters.leaves' <<<"$st")" = 1 ] || gd_fail "leave not counted"

probe_phase p replug
gd_chan "{\"id\":3,\"cmd\":\"vf-arriving\",\"args\":{\"mac\":\"$MAC\"}}" >&2
vm_plug_vf 0 vf0b
gd_wait_role 0 vf 40 || gd_fail "the new VF never became active"
probe_phase p steady
sleep 1
probe_stop p
lu=$(probe_get p lost unplug); gu=$(probe_get p max_gap_ms unplug)
lr=$(probe_get p lost replug); gr=$(probe_get p max_gap_ms replug)
echo "RESULT guest-coordinated: ack in $(jq -r '.result.elapsed_ms' <<<"$ack") ms;" \
	"unplug lost $lu gap ${gu}ms; replug lost $lr gap ${gr}ms; total $(vm_elapsed)"
[ "${lu:-999}" = 0 ] || gd_fail "coordinated unplug lost $lu probes"
[ "${lr:-999}" = 0 ] || gd_fail "replug lost $lr probes"
vm_stop
vm_pass
