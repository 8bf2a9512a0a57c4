#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make check-sriov: vfo-hostd's sriov backend against a real SR-IOV driver.
#
# QEMU >= 8.0 emulates igb (Intel 82576) with SR-IOV; Debian 12 has 7.2, so
# fetch-qemu.sh takes 10.0 from bookworm-backports into a private prefix
# (the system's QEMU is untouched). A TCG guest with an IOMMU boots Debian's
# kernel with igb, igbvf and vfio-pci, and vfo-hostd runs inside it on an
# sriov pool over the igb PF. Every step is a command sent over the serial
# console; every assertion is made here, on the host, on what came back:
#
#   1. numvfs = 2: vfo-hostd enables the VFs; `vfoctl vfs` lists both with
#      their PCI addresses;
#   2. reserve --mac + assign: MAC, VLAN/QoS, spoofchk and trust applied and
#      read back in iproute2's `ip -d link show PF`; the VF bound to
#      vfio-pci and /dev/vfio/<group> present; link_state = enable in the
#      pool is refused by igb (EOPNOTSUPP): vfo logs it and goes on, and the
#      refusal changes nothing else;
#   3. release: VLAN, spoofchk and trust back to their originals, the MAC
#      scrubbed (the backend's policy: no trace of the tenant's address),
#      the VF back on igbvf with no driver_override left, and the VF free;
#   4. device events, never a SIGHUP or `vfoctl rescan`: the guest has no
#      udevd, so vfo-hostd follows the kernel's uevents (and says so);
#      sriov_numvfs 0 then 2 written from outside, and a VF's driver
#      unbound and bound, each reach `vfoctl vfs` within a bounded wait,
#      and the operator's 0 is not undone;
#   5. a reserved VF removed and re-created in one burst (numvfs 0 and 2
#      in one command): the reservation is dropped, never carried over to
#      the new device;
#   6. igb unbound from the PF with a VF assigned (on vfio-pci): the VFs go,
#      the assignment is dropped and logged; igb bound again: the PF is
#      back with 0 VFs, vfo-hostd writes the pool's numvfs = 2 and lists
#      both VFs free, and a new reservation gets one.
#
# With VFO_SRIOV_UDEV=1 (sriov-udev.sh) the guest runs systemd-udevd: the
# NICs get udev's names (the pool names the PF by it), vfo-hostd follows
# udevd's events instead, and in step 6 the PF comes back as ethN and is
# only the configured PF once udev has renamed it.
#
# Exit 0 pass, 1 fail, 77 skip (a missing prerequisite; a failure under
# CI=true). Environment: VFO_HOSTD, VFOCTL (the binaries to test; default
# the build tree), VFO_VM_BUILDDIR (caches: QEMU prefix, initramfs),
# VFO_SRIOV_UDEV, and lib.sh's VFO_VM_KEEP / VFO_VM_TIMEOUT.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$(cd "$HERE/../.." && pwd)}
HOSTD=${VFO_HOSTD:-$top_builddir/host-agent/vfo-hostd}
VFOCTL=${VFOCTL:-$top_builddir/host-agent/vfoctl}
UDEVD=${VFO_SRIOV_UDEV:-0}
LIMIT=${VFO_VM_TIMEOUT:-480}
BUILDDIR=${VFO_VM_BUILDDIR:-/tmp/vfo-vm-$(id -u)}
# The pool's settings, chosen to differ from igb's defaults for a new VF
# (spoofchk on, trust off, no VLAN) so that applying and restoring show.
MAC=52:54:00:5a:11:01
VLAN=100
QOS=3
DOM=6f1c3b6e-8b4e-4a8e-9d7e-0c1b2a3d4e5f
PAIR=net0
DOM2=0b0e4a1c-2f7d-4c1e-9a55-7d6b2e1f0a99

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: missing prerequisite (CI=true forbids skipping): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || skip "not root"
for b in "$HOSTD" "$VFOCTL"; do
	[ -x "$b" ] || { echo "FAIL: $b not built" >&2; exit 1; }
done
[ -x /usr/sbin/ip ] && /usr/sbin/ip -V 2>/dev/null | grep -q iproute2 ||
	skip "no iproute2 /usr/sbin/ip"
[ "$UDEVD" = 0 ] || { command -v udevadm >/dev/null && [ -x /lib/systemd/systemd-udevd ]; } ||
	skip "no udev for the guest (apt-get install udev)"

# The QEMU with igb: cached after the first run.
T_FETCH=$(date +%s.%N)
QPREFIX=$(timeout 120 "$HERE/fetch-qemu.sh" -c "$BUILDDIR/cache")
rc=$?
case $rc in
0) ;;
77) skip "the fetched QEMU cannot run here (see fetch-qemu above)" ;;
*) # A network failure is a failure: CI must see it.
	echo "FAIL: fetching QEMU from bookworm-backports failed" >&2
	exit 1 ;;
esac
FETCH_S=$(awk -v a="$T_FETCH" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
export VFO_QEMU=$QPREFIX/usr/bin/qemu-system-x86_64
export QEMU_MODULE_DIR=$QPREFIX/usr/lib/x86_64-linux-gnu/qemu

. "$HERE/lib.sh"

# One budget for the whole test: what the fetch took comes off the VM's.
LIMIT=$(awk -v l="$LIMIT" -v f="$FETCH_S" 'BEGIN { x = int(l - f); print x < 120 ? 120 : x }')
vm_init "$([ "$UDEVD" = 1 ] && echo sriov-udev || echo sriov)" "$LIMIT"
vm_log "QEMU $("$VFO_QEMU" --version | head -1 | awk '{ print $4 }') from $QPREFIX (fetch ${FETCH_S}s)"

# ------------------------------------------------------------ boot

IMG=$("$HERE/mkinitramfs.sh" -c "$VM_BUILDDIR/cache" -k "$VM_KVER" \
	$([ "$UDEVD" = 1 ] && echo -u) -m igb -m igbvf -m vfio-pci -m vfio_iommu_type1 \
	"$HOSTD:/usr/sbin/vfo-hostd" "$VFOCTL:/usr/bin/vfoctl" /usr/sbin/ip:/usr/sbin/ip) ||
	vm_fail "mkinitramfs failed"

# The daemon's configuration, completed in the guest once the PF's name is
# known. Newer vfo-hostd follow libvirt by default: there is none here.
OV=$VM_DIR/overlay
mkdir -p "$OV/etc/vfo"
{
	cat <<EOF
[hostd]
state_dir = /run/vfo/state
socket = /run/vfo/hostd.sock
group = root
log_level = debug
EOF
	grep -aq libvirt_uri "$HOSTD" && echo "libvirt_uri ="
	cat <<EOF

[pool sriov0]
backend = sriov
pfs = @PF@
numvfs = 2
vlan = $VLAN
qos = $QOS
spoofchk = no
trust = yes
link_state = enable
EOF
} >"$OV/etc/vfo/hostd.conf.in"
cp "$IMG" "$VM_DIR/initrd.img"
(cd "$OV" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >>"$VM_DIR/initrd.img"

D=$VM_DIR
mkfifo "$D/console.in" "$D/console.out"
: >"$D/console.log"
# shellcheck disable=SC2054 # commas inside QEMU options
cmd=("$VFO_QEMU" -L "$QPREFIX/usr/share/qemu"
	-accel tcg -machine q35,kernel-irqchip=split -m 512 -smp 1
	-nodefaults -no-user-config -display none -no-reboot
	-device intel-iommu,intremap=on
	-device pcie-root-port,id=rp1,chassis=1,slot=1
	-netdev user,id=n0,restrict=on
	-device igb,id=pf0,bus=rp1,netdev=n0,mac=52:54:00:5a:00:01
	-kernel "$VM_KERNEL" -initrd "$D/initrd.img"
	-append "console=ttyS0,115200 panic=-1 loglevel=6 intel_iommu=on"
	-chardev "pipe,id=ser0,path=$D/console" -serial chardev:ser0
	-pidfile "$D/qemu.pid")
printf '%q ' "${cmd[@]}" >"$D/qemu.cmd"
echo >>"$D/qemu.cmd"
cat "$D/console.out" >>"$D/console.log" &
VM_BG_PIDS+=($!)
"${cmd[@]}" 2>"$D/qemu.log" &
VM_PID=$!
vm_log "qemu pid $VM_PID started"
vm_wait_console '^VFO-INIT: ready' 90 || vm_fail "guest did not boot: $(tail -3 "$D/qemu.log")"
vm_log "guest up"

# ------------------------------------------------------------ helpers

FAILS=0
ok() { vm_log "ok: $*"; }
bad() { FAILS=$((FAILS + 1)); vm_log "FAIL: $*"; }
# g CMD: run in the guest, output in $OUT, status returned.
g() { OUT=$(vm_guest "$1" "${2:-30}"); }
# expect DESC ERE: the last g output matches (grep -E).
expect() {
	if grep -qE -- "$2" <<<"$OUT"; then ok "$1"; else
		bad "$1: /$2/ not in:"
		sed 's/^/    | /' <<<"$OUT" >&2
	fi
}
expect_not() {
	if grep -qE -- "$2" <<<"$OUT"; then
		bad "$1: /$2/ found in:"
		sed 's/^/    | /' <<<"$OUT" >&2
	else ok "$1"; fi
}
IP=/usr/sbin/ip
ctl() { echo "vfoctl --socket /run/vfo/hostd.sock --timeout 20 $*"; }
# The PF's line for VF $1 in `ip -d link show`.
vfline() { grep -E "^ *vf $1 " <<<"$OUT" | head -1; }

# ------------------------------------------------------------ the PF

g "$IP -V" || true
expect "iproute2's ip in the guest" 'iproute2'
g 'for d in /sys/class/net/*; do [ "$(basename "$(readlink $d/device/driver)")" = igb ] && echo "PF=${d##*/} $(basename "$(readlink $d/device)")"; done'
PF=$(sed -n 's/^PF=\([^ ]*\) .*/\1/p' <<<"$OUT" | head -1)
PFADDR=$(sed -n 's/^PF=[^ ]* \(.*\)/\1/p' <<<"$OUT" | head -1)
[ -n "$PF" ] || vm_fail "no igb netdev in the guest: $OUT"
vm_log "PF $PF ($PFADDR)"
g "cat /sys/class/net/$PF/device/sriov_totalvfs /sys/class/net/$PF/device/sriov_numvfs"
vm_log "igb: sriov_totalvfs/numvfs before vfo: $(echo $OUT)"
g "$IP link set $PF up; ls -d /sys/kernel/iommu_groups/* | wc -l"
vm_log "IOMMU groups before VFs: $OUT"

# ------------------------------------------------------------ 1. start, inventory

g "mkdir -p /run/vfo; sed s/@PF@/$PF/ /etc/vfo/hostd.conf.in >/etc/vfo/hostd.conf; (vfo-hostd -f -c /etc/vfo/hostd.conf >/tmp/hostd.log 2>&1 &); i=0; while [ ! -S /run/vfo/hostd.sock ] && [ \$i -lt 200 ]; do usleep 50000; i=\$((i+1)); done; ls -l /run/vfo/hostd.sock" 30 ||
	{ g "cat /tmp/hostd.log"; vm_fail "vfo-hostd did not start: $OUT"; }
ok "vfo-hostd started"
# numvfs is applied at start; the VFs' PCI functions appear asynchronously.
g "i=0; while [ \$(ls -d /sys/class/net/$PF/device/virtfn* 2>/dev/null | wc -l) -lt 2 ] && [ \$i -lt 100 ]; do usleep 100000; i=\$((i+1)); done; cat /sys/class/net/$PF/device/sriov_numvfs; for v in /sys/class/net/$PF/device/virtfn*; do echo \"\${v##*/} \$(basename \$(readlink \$v)) drv=\$(basename \$(readlink \$v/driver)) group=\$(basename \$(readlink \$v/iommu_group))\"; done"
expect "sriov_numvfs = 2 (enabled by vfo-hostd)" '^2$'
expect "virtfn0 bound to igbvf" '^virtfn0 .* drv=igbvf'
VF0ADDR=$(sed -n 's/^virtfn0 \([^ ]*\) .*/\1/p' <<<"$OUT")
VF0GROUP=$(sed -n 's/^virtfn0 .* group=\([0-9]*\).*/\1/p' <<<"$OUT")
VF1ADDR=$(sed -n 's/^virtfn1 \([^ ]*\) .*/\1/p' <<<"$OUT")
vm_log "VFs: $VF0ADDR (group $VF0GROUP), $VF1ADDR"
# Taken in at start (scanned again after the write) or by the uevents
# that follow; never by asking for a rescan.
g "i=0; while [ \$($(ctl vfs sriov0) | grep -c '0000:') -lt 2 ] && [ \$i -lt 50 ]; do usleep 200000; i=\$((i+1)); done; $(ctl vfs sriov0); $(ctl --json vfs sriov0)"
expect "vfoctl vfs lists VF0 ($VF0ADDR)" "$VF0ADDR"
expect "vfoctl vfs lists VF1 ($VF1ADDR)" "$VF1ADDR"
g "$IP -d link show $PF"
ORIG0=$(vfline 0)
vm_log "igb VF 0 before assign: $ORIG0"
grep -q 'spoof checking on' <<<"$ORIG0" && grep -q 'trust off' <<<"$ORIG0" ||
	bad "igb's defaults for a new VF are not spoofchk on / trust off: $ORIG0"
ORIGMAC=$(grep -oE 'link/ether [0-9a-f:]+' <<<"$ORIG0" | awk '{ print $2 }')
[ "$ORIGMAC" != "$MAC" ] || vm_fail "VF 0 already has the test's MAC before assign"

# ------------------------------------------------------------ 2. reserve, assign

g "$(ctl --mac $MAC reserve sriov0 $DOM $PAIR)"
expect "reserve" "$VF0ADDR|$VF1ADDR"
VF=$(grep -oE "$VF0ADDR|$VF1ADDR" <<<"$OUT" | head -1)
[ "$VF" = "$VF1ADDR" ] && VFI=1 || VFI=0
g "$(ctl --json vfs sriov0)"
VFGROUP=$(g "basename \$(readlink /sys/bus/pci/devices/$VF/iommu_group)" && echo "$OUT" | tr -d ' \r')
vm_log "reserved VF $VFI ($VF), IOMMU group $VFGROUP"

T_ASSIGN=$(date +%s.%N)
g "$(ctl assign $DOM $PAIR)" 60
ASSIGN_RC=$?
vm_log "assign took $(awk -v a="$T_ASSIGN" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s (console round trip included)"
[ "$ASSIGN_RC" = 0 ] && ok "assign succeeded despite link-state" || bad "assign failed (rc $ASSIGN_RC)"
expect "device XML: hostdev interface" "<interface type=.hostdev. managed=.yes.>"
expect "device XML: the pair's MAC" "<mac address=.$MAC./>"
expect "device XML: VLAN tag" "<tag id=.$VLAN./>"

g "$IP -d link show $PF"
L=$(vfline "$VFI")
vm_log "igb VF $VFI after assign: $L"
OUT=$L
expect "MAC applied and read back through the PF" "link/ether $MAC"
expect "VLAN $VLAN qos $QOS applied and read back" "vlan $VLAN, qos $QOS"
expect "spoofchk off applied and read back" "spoof checking off"
expect "trust on applied and read back" "trust on"
# igb has no ndo_set_vf_link_state: whatever iproute2 prints stays as before
OTHER=$(g "$IP -d link show $PF" && vfline $((1 - VFI)))
vm_log "the other VF, untouched: $OTHER"
OUT=$OTHER
expect_not "the other VF keeps its MAC" "link/ether $MAC"
expect_not "the other VF has no VLAN" "vlan $VLAN"

g "basename \$(readlink /sys/bus/pci/devices/$VF/driver); cat /sys/bus/pci/devices/$VF/driver_override; ls /dev/vfio/"
vm_log "VF after assign: driver / override / /dev/vfio: $(echo $OUT)"
expect "VF bound to vfio-pci" '^vfio-pci$'
expect "/dev/vfio/$VFGROUP present" "(^| )$VFGROUP( |$)"

g "cat /tmp/hostd.log"
expect "link-state refusal reported in the log" "does not support setting link-state, continuing without it"
g "$(ctl --json vfs sriov0)"
expect "VF assigned" '"state": ?"assigned"'
expect "link-state recorded as unsupported" '"link-state": ?"unsupported"'
expect "mac recorded as applied" '"mac": ?"applied"'
expect "original settings saved with the assignment" '"orig": ?\{'

# ------------------------------------------------------------ 3. release

g "$(ctl release $DOM)" 60
[ $? = 0 ] && ok "release" || bad "release failed: $OUT"
# The VF goes back to igbvf asynchronously (drivers_probe).
g "i=0; while [ \"\$(basename \$(readlink /sys/bus/pci/devices/$VF/driver) 2>/dev/null)\" != igbvf ] && [ \$i -lt 100 ]; do usleep 100000; i=\$((i+1)); done; basename \$(readlink /sys/bus/pci/devices/$VF/driver); echo \"override=[\$(cat /sys/bus/pci/devices/$VF/driver_override)]\"; ls /dev/vfio/"
vm_log "VF after release: $(echo $OUT)"
expect "VF back on igbvf" '^igbvf$'
expect "driver_override cleared" '^override=\[(\(null\))?\]$'
expect_not "/dev/vfio/$VFGROUP gone" "(^| )$VFGROUP( |$)"

g "$IP -d link show $PF"
L=$(vfline "$VFI")
vm_log "igb VF $VFI after release: $L"
OUT=$L
expect_not "the tenant's MAC scrubbed" "link/ether $MAC"
expect_not "VLAN cleared (iproute2 prints none for VLAN 0)" "vlan [1-9]"
expect "spoofchk restored to on" "spoof checking on"
expect "trust restored to off" "trust off"
g "$(ctl --json vfs sriov0)"
expect "VF free again" '"state": ?"free"'
expect_not "no owner left" "$DOM"
g "cat /tmp/hostd.log"
vm_log "vfo-hostd log, VF configuration lines:"
grep -aE 'vfcfg|sriov|link-state|restor|scrub|numvfs' <<<"$OUT" | sed 's/^/    | /' >&2
expect_not "no errors in vfo-hostd's log" ": (err|crit|alert|emerg): "
g "dmesg | grep -iE 'igb|vfio' | tail -n 25"
vm_log "guest kernel (igb/vfio):"
sed 's/^/    | /' <<<"$OUT" >&2
# What igb itself says it did, one line per request vfo made.
expect "igb: MAC set on the VF" "setting MAC $MAC on VF $VFI"
expect "igb: VLAN and QoS set on the VF" "Setting VLAN $VLAN, QOS 0x$QOS on VF $VFI"
expect "igb: VF trusted, then not" "VF $VFI is trusted"
# The scrub writes 00:00:00:00:00:00, which igb takes as "no
# administrative MAC": igbvf then picks a random one on its next probe.
expect "igb: scrub = zero MAC (admin MAC removed)" "remove administratively set MAC on VF $VFI"
expect "igb: trust restored" "VF $VFI is not trusted"

# ------------------------------------------------------------ 4. uevents, no rescan asked

SYSPF=/sys/bus/pci/devices/$PFADDR
# count_vfs: how many VFs `vfoctl vfs sriov0` lists.
count_vfs="\$($(ctl vfs sriov0) | grep -c '^0000:')"
# wait_until COND [TENTHS]: poll a guest shell condition, bounded.
wait_until() { echo "i=0; until $1; do [ \$i -ge ${2:-150} ] && break; usleep 100000; i=\$((i+1)); done; echo waited=\$i/${2:-150}"; }
# status_n KEY: a counter from `vfoctl --json status` (in $OUT).
status_n() { tr -d ' \n' <<<"$OUT" | grep -oE "\"$1\":[0-9]+" | head -1 | cut -d: -f2; }

g "cat /tmp/hostd.log"
if [ "$UDEVD" = 1 ]; then
	expect "device events: udevd's" "rescanning on udev's device events"
	g "$(ctl --json status)"
	expect "status: udev_source udev" '"udev_source": ?"udev"'
else
	expect "device events: the kernel's uevents, no udevd in the guest" \
		"no udevd \(/run/udev/control absent\): rescanning on the kernel's uevents"
	g "$(ctl --json status)"
	expect "status: udev_source kernel" '"udev_source": ?"kernel"'
fi
R0=$(status_n uevent_rescans)
W0=$(status_n numvfs_writes)
vm_log "uevent rescans so far: $R0, numvfs writes: $W0"

g "echo 0 >$SYSPF/sriov_numvfs; $(wait_until "[ $count_vfs = 0 ]"); $(ctl vfs sriov0)" 40
vm_log "numvfs 0 from outside: $(grep waited= <<<"$OUT")"
expect_not "numvfs 0 from outside: vfoctl vfs lists no VF" "$VF0ADDR|$VF1ADDR"
g "usleep 1500000; cat $SYSPF/sriov_numvfs"
expect "the operator's 0 stands (a PF that stayed up is not re-enabled)" '^0$'
g "echo 2 >$SYSPF/sriov_numvfs; $(wait_until "[ $count_vfs = 2 ]"); $(ctl vfs sriov0)" 40
vm_log "numvfs 2 from outside: $(grep waited= <<<"$OUT")"
expect "numvfs 2 from outside: VF0 listed" "^$VF0ADDR "
expect "numvfs 2 from outside: VF1 listed" "^$VF1ADDR "
# The VFs' driver is in the table's DRIVER column (6th).
drv0="\$($(ctl vfs sriov0) | awk '\$1 == \"$VF0ADDR\" { print \$6 }')"
g "$(wait_until "[ $drv0 = igbvf ]"); echo \"drv=$drv0\""
expect "VF0 on igbvf again" "^drv=igbvf$"
g "echo $VF0ADDR >/sys/bus/pci/drivers/igbvf/unbind; $(wait_until "[ $drv0 = - ]"); echo \"drv=$drv0\""
vm_log "VF0 unbound: $(echo $OUT)"
expect "driver unbind reaches vfoctl vfs" "^drv=-$"
g "echo $VF0ADDR >/sys/bus/pci/drivers/igbvf/bind; $(wait_until "[ $drv0 = igbvf ]"); echo \"drv=$drv0\""
vm_log "VF0 bound: $(echo $OUT)"
expect "driver bind reaches vfoctl vfs" "^drv=igbvf$"
g "$(ctl --json status)"
R1=$(status_n uevent_rescans)
vm_log "uevent rescans: $R0 -> $R1"
[ "${R1:-0}" -gt "${R0:-0}" ] && ok "the changes came in by uevent rescans" ||
	bad "no uevent rescan counted ($R0 -> $R1)"
[ "$(status_n numvfs_writes)" = "$W0" ] && ok "vfo-hostd wrote no numvfs meanwhile" ||
	bad "vfo-hostd wrote numvfs on a PF that stayed up"

# ------------------------------------------------------------ 5. re-created VF

# vfo-hostd is stopped while the VFs go and come back, so the kernel's
# events wait in its socket and one scan sees the reserved VF present
# again: only the "remove" event tells that it is a new device.
g "$(ctl --mac $MAC reserve sriov0 $DOM2 $PAIR)"
expect "reserve for the re-create test" "$VF0ADDR|$VF1ADDR"
RVF=$(grep -oE "$VF0ADDR|$VF1ADDR" <<<"$OUT" | head -1)
g "$(ctl --json status)"
R0=$(status_n uevent_rescans)
g "p=\$(pidof vfo-hostd); kill -STOP \$p; echo 0 >$SYSPF/sriov_numvfs; echo 2 >$SYSPF/sriov_numvfs; ls -d $SYSPF/virtfn*; kill -CONT \$p; $(wait_until "! $(ctl vfs sriov0) | grep -q $DOM2"); $(ctl vfs sriov0)" 40
vm_log "numvfs 0 and 2 while vfo-hostd was stopped, $RVF reserved: $(echo $OUT | head -c 300)"
expect "the VFs were back before vfo-hostd looked" "virtfn1"
expect_not "the reservation on the removed VF is dropped" "$DOM2"
expect "VF0 listed, free" "^$VF0ADDR .* free"
expect "VF1 listed, free" "^$VF1ADDR .* free"
g "grep -E 'VF $RVF of $DOM2/$PAIR .*dropped' /tmp/hostd.log"
expect "the drop is logged as a re-created VF" \
	"reserved VF $RVF of $DOM2/$PAIR \(pool sriov0\) dropped: it was removed and re-created since the last scan"
g "usleep 1000000; $(ctl --json status)"
vm_log "uevent rescans: $R0 -> $(status_n uevent_rescans), recreated $(status_n recreated)"
[ "$(status_n uevent_rescans)" = $((R0 + 1)) ] && ok "the whole burst was one rescan" ||
	bad "the burst took $(($(status_n uevent_rescans) - R0)) rescans, not 1"
[ "$(status_n recreated)" = 1 ] && ok "status counts one re-created VF" ||
	bad "status: recreated = $(status_n recreated), expected 1"

# ------------------------------------------------------------ 6. PF driver unbound, bound

g "$(ctl --mac $MAC reserve sriov0 $DOM $PAIR) && $(ctl assign $DOM $PAIR) >/dev/null && $(ctl vfs sriov0)" 90
expect "assigned again before the PF goes" "assigned +$DOM"
AVF=$(awk -v d="$DOM" '/^0000:/ && $0 ~ d { print $1 }' <<<"$OUT" | head -1)
g "basename \$(readlink /sys/bus/pci/devices/$AVF/driver)"
expect "the assigned VF is on vfio-pci" '^vfio-pci$'
g "echo $PFADDR >/sys/bus/pci/drivers/igb/unbind; $(wait_until "[ $count_vfs = 0 ]" 300); ls $SYSPF/driver >/dev/null 2>&1 && echo bound || echo unbound; cat $SYSPF/sriov_numvfs; $(ctl vfs sriov0)" 60
vm_log "igb unbound from $PFADDR: $(echo $OUT | head -c 300)"
expect "PF unbound" '^unbound$'
expect_not "no VF listed without the PF's driver" "$VF0ADDR|$VF1ADDR"
expect_not "the assignment is gone (not kept on a VF that vanished)" "$DOM"
g "grep -E 'VF $AVF of $DOM/$PAIR .*dropped' /tmp/hostd.log"
expect "the dropped assignment is logged" "assigned VF $AVF of $DOM/$PAIR \(pool sriov0\) dropped: the VF vanished"
g "cat $SYSPF/sriov_numvfs"
expect "nothing written to a PF without a driver" '^0$'

g "echo $PFADDR >/sys/bus/pci/drivers/igb/bind; $(wait_until "[ $count_vfs = 2 ]" 300); cat $SYSPF/sriov_numvfs; ls /sys/class/net; $(ctl vfs sriov0)" 60
vm_log "igb bound to $PFADDR again: $(echo $OUT | head -c 400)"
expect "numvfs = 2 written again by vfo-hostd" '^2$'
expect "the PF's netdev is $PF again" "(^| )$PF( |$)"
expect "VF0 inventoried again, free" "^$VF0ADDR .* free"
expect "VF1 inventoried again, free" "^$VF1ADDR .* free"
expect_not "no owner carried over" "$DOM"
g "grep -E 'sriov_numvfs|rescan \(' /tmp/hostd.log"
vm_log "vfo-hostd on numvfs and rescans:"
sed 's/^/    | /' <<<"$OUT" >&2
expect "the re-enable is logged" "PF $PFADDR \($PF\): sriov_numvfs 0 -> 2 \(pool sriov0; the PF came up\)"
expect_not "nothing was rescanned on request or SIGHUP" 'rescan \((request|SIGHUP)\)'
g "$(ctl --json status)"
vm_log "status: uevent_rescans $(status_n uevent_rescans), udev_events $(status_n udev_events), numvfs_writes $(status_n numvfs_writes), dropped $(status_n dropped), recreated $(status_n recreated)"
[ "$(status_n numvfs_writes)" = $((W0 + 1)) ] && ok "one numvfs write for the rebind" ||
	bad "numvfs writes: $W0 -> $(status_n numvfs_writes), expected one more"
g "$(ctl reserve sriov0 $DOM $PAIR)"
expect "a new reservation gets a re-created VF" "$VF0ADDR|$VF1ADDR"
g "cat /tmp/hostd.log"
expect_not "still no errors in vfo-hostd's log" ": (err|crit|alert|emerg): "
g "dmesg | grep -iE 'igb|vfio|sriov|VF' | tail -n 20"
vm_log "guest kernel since the rebind:"
sed 's/^/    | /' <<<"$OUT" >&2

[ "$FAILS" = 0 ] || vm_fail "$FAILS check(s) failed"
vm_pass
