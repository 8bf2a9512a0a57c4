#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd with udev running in the guest (mkinitramfs.sh -u): udev gives
# the NICs their predictable names (enpXsY). The guest boots with the
# standby only; an e1000e with the standby's MAC (the stand-in VF) is
# hot-plugged over QMP; udev renames it. The agent must take the udev path
# (wait for udev's own "add" event, not the settle delay), enslave the NIC
# under its final name and never act on the kernel's name (ethN); then the
# VF carries the probes.
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-udev "${VFO_VM_TIMEOUT:-300}"
vm_net_setup 1
gd_boot --pairs 1 --no-vf --udev
grep -a '^VFO-INIT: udev up' "$VM_DIR/console.log" | tr -d '\r' >&2 ||
	gd_fail "udevd did not start in the guest"
SB=$(gd_field 0 .standby)
vm_log "standby: $SB"
case $SB in eth*) gd_fail "udev did not rename the standby ($SB)" ;; esac
[ "$(gd_status | jq -r .result.udev)" = true ] ||
	gd_fail "the agent does not wait for udev although udevd runs"
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"

vm_plug_vf 0 vf0
gd_wait_role 0 vf 60 || gd_fail "the hot-plugged VF never became active"
VF=$(gd_field 0 .vf)
vm_log "VF: $VF"
case $VF in eth*) gd_fail "the VF kept its kernel name $VF: udev did not rename it" ;; esac
gd_agent_log
grep -v "loop: debug" "$VM_DIR/guestd.log" | grep -E "new NIC|udev|enslaved|arrived" >&2
# The kernel's name of the new NIC, from the agent's first sight of it.
KNAME=$(sed -n 's/.*new NIC \(eth[0-9]*\) (ifindex [0-9]*, driver e1000e): waiting for udev.*/\1/p' \
	"$VM_DIR/guestd.log" | tail -1)
[ -n "$KNAME" ] || gd_fail "the agent did not wait for udev for the new NIC"
grep -q "udev finished with $VF (ifindex [0-9]*, kernel name $KNAME, renamed)" \
	"$VM_DIR/guestd.log" || gd_fail "no 'udev finished with $VF ... renamed' in the agent's log"
grep -q "settled (no udevd)" "$VM_DIR/guestd.log" && gd_fail "the agent used the settle delay"
grep -q "enslaved VF $VF\$" "$VM_DIR/guestd.log" || gd_fail "$VF was not enslaved under its name"
grep -nE "enslaved VF $KNAME\$|VF $KNAME arrived" "$VM_DIR/guestd.log" &&
	gd_fail "the agent acted on the kernel name $KNAME"
# udev's rename came before the agent touched the NIC: the "udev
# finished" line precedes the enslaving.
ln_udev=$(grep -n "udev finished with $VF" "$VM_DIR/guestd.log" | head -1 | cut -d: -f1)
ln_ensl=$(grep -n "enslaved VF $VF\$" "$VM_DIR/guestd.log" | head -1 | cut -d: -f1)
[ "$ln_udev" -lt "$ln_ensl" ] || gd_fail "enslaved before udev finished"
slaves=$(vm_guest "cat /sys/class/net/$(gd_field 0 .bond)/bonding/slaves" | tr -d '\r')
vm_log "bond slaves: $slaves"
grep -qw "$VF" <<<"$slaves" || gd_fail "$VF is not a slave of the bond"
grep -qw "$KNAME" <<<"$slaves" && gd_fail "a slave still has the kernel name $KNAME"
grep -q "$KNAME: renamed from\|renamed from $KNAME" "$VM_DIR/dmesg.log" ||
	vm_log "note: no rename message in dmesg"
gd_carries "$VF" "$SB" || gd_fail "the VF does not carry the probes"
probe_stop p
echo "RESULT guest-udev: standby $SB, VF $KNAME -> $VF, enslaved after udev; lost $(probe_get p lost); total $(vm_elapsed)"
vm_stop
vm_pass
