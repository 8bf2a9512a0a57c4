#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Two hypervisor hosts on one machine, for real libvirt live migrations.
#
#   hostA, hostB   network namespaces, each with a bridge named vfobr0 (the
#                  same name on both, as on real hosts of one L2 segment),
#                  joined by a veth "trunk"; each runs its own libvirtd in
#                  its own mount namespace (per-host /etc/libvirt,
#                  /var/lib/libvirt, /run/libvirt, /etc/vfo, /run/vfo...)
#   peer           a namespace hanging off hostA's bridge: the far end of
#                  the probe stream
#   mgmt           a separate veth pair hostA <-> hostB carries libvirt's
#                  RPC and the migration stream
#
# Source it, call e2e_init, then e2e_bed_up (network, both hosts with
# libvirtd and vfo-hostd, their events followed; or the steps one by one:
# e2e_net_up, e2e_host_up A / B, e2e_hostd_config, e2e_hostd_start,
# e2e_events_start) and e2e_guest_up (guest g1 on host A). A scenario
# then starts the probe stream (e2e_probe_start), marks phases (e2e_phase
# now, e2e_phase_at a time, e2e_migrate from a managed migration's steps:
# P-unplug, P-migration, P-replug), asserts the end state (e2e_expect_pool,
# e2e_expect_vf, e2e_expect_mode, e2e_wait_active) and the loss per phase
# (e2e_probe_stop, e2e_expect_loss). Cleanup runs from an EXIT trap even
# when the test fails.
#
# Environment: top_builddir/top_srcdir (automake), E2E_KEEP=1 keeps the
# work directory, E2E_TIMEOUT the time limit of a scenario in seconds
# (420), VFO_VM_CACHE the initramfs cache.

set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"

E2E_BR=vfobr0
E2E_NET=10.77.0	 # guest segment: peer .1, guests .10+
E2E_MGMT=10.78.0 # hostA .1, hostB .2
E2E_T0=$(date +%s)

e2e_log() { printf '[e2e %4ss] %s\n' "$(($(date +%s) - E2E_T0))" "$*" >&2; }
e2e_die() {
	e2e_log "FAIL: $*"
	exit 1
}

# Exit 77 with a reason, unless CI=true: there the bed must run.
e2e_skip() {
	echo "SKIP: $*"
	if [ "${CI:-}" = true ]; then
		echo "CI=true: the e2e tests must run; failing instead of skipping"
		exit 1
	fi
	exit 77
}

e2e_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || e2e_skip "$c not installed (./tools/bootstrap deps)"
	done
}

e2e_init() {
	[ "$(id -u)" = 0 ] || e2e_skip "e2e tests need root"
	e2e_need ip unshare nsenter virsh libvirtd qemu-system-x86_64
	E2E_TAG=${E2E_TAG:-v$$}
	E2E_TAG=${E2E_TAG:0:6}
	E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vfo-e2e.XXXXXX")
	E2E_NS_A=${E2E_TAG}A
	E2E_NS_B=${E2E_TAG}B
	E2E_NS_P=${E2E_TAG}P
	E2E_PIDS=()
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	# Every scenario is bounded: past E2E_TIMEOUT seconds (default 420)
	# the watchdog stops it, and the EXIT trap cleans up.
	(
		for i in $(seq "${E2E_TIMEOUT:-420}"); do
			sleep 1
			kill -0 $$ 2>/dev/null || exit 0
		done
		e2e_log "FAIL: timed out after ${E2E_TIMEOUT:-420} s"
		kill -TERM $$
	) &
	E2E_PIDS+=($!)
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin libvirt-qemu
	e2e_log "work dir $E2E_DIR"
}

e2e_cleanup() {
	local rc=$? h pid
	set +e
	for h in A B; do
		if [ -f "$E2E_DIR/host$h/libvirtd.pid" ]; then
			for dom in $(e2e_virsh "$h" list --name 2>/dev/null); do
				e2e_virsh "$h" destroy "$dom" >/dev/null 2>&1
			done
		fi
	done
	for pid in "${E2E_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	sleep 0.3
	for pid in "${E2E_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	# QEMUs left behind by a killed libvirtd run in the hosts' namespaces.
	for h in "$E2E_NS_A" "$E2E_NS_B" "$E2E_NS_P"; do
		for pid in $(ip netns pids "$h" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$h" 2>/dev/null
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		e2e_log "failed (rc=$rc); logs:"
		for f in "$E2E_DIR"/host?/log/libvirtd.log "$E2E_DIR"/host?/*.log "$E2E_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)"
			tail -40 "$f"
		done
	fi
	if [ "${E2E_KEEP:-}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "${CI:-}" != true ]; }; then
		e2e_log "kept $E2E_DIR"
	else
		rm -rf "$E2E_DIR"
	fi
	exit $rc
}

# ---- network -----------------------------------------------------------

e2e_net_up() {
	local h
	for h in "$E2E_NS_A" "$E2E_NS_B" "$E2E_NS_P"; do
		ip netns add "$h"
		ip -n "$h" link set lo up
	done
	for h in "$E2E_NS_A" "$E2E_NS_B"; do
		ip -n "$h" link add "$E2E_BR" type bridge stp_state 0 forward_delay 0
		ip -n "$h" link set "$E2E_BR" up
	done
	# Trunk between the two hosts' bridges.
	ip link add "${E2E_TAG}ta" netns "$E2E_NS_A" type veth peer name "${E2E_TAG}tb" netns "$E2E_NS_B"
	ip -n "$E2E_NS_A" link set "${E2E_TAG}ta" master "$E2E_BR" up
	ip -n "$E2E_NS_B" link set "${E2E_TAG}tb" master "$E2E_BR" up
	# Peer on hostA's bridge.
	ip link add eth0 netns "$E2E_NS_P" type veth peer name "${E2E_TAG}pa" netns "$E2E_NS_A"
	ip -n "$E2E_NS_A" link set "${E2E_TAG}pa" master "$E2E_BR" up
	ip -n "$E2E_NS_P" addr add "$E2E_NET.1/24" dev eth0
	ip -n "$E2E_NS_P" link set eth0 up
	# Management and migration network.
	ip link add mgmt netns "$E2E_NS_A" type veth peer name mgmt netns "$E2E_NS_B"
	ip -n "$E2E_NS_A" addr add "$E2E_MGMT.1/24" dev mgmt
	ip -n "$E2E_NS_B" addr add "$E2E_MGMT.2/24" dev mgmt
	ip -n "$E2E_NS_A" link set mgmt up
	ip -n "$E2E_NS_B" link set mgmt up
}

e2e_ns() {
	case $1 in
	A) echo "$E2E_NS_A" ;;
	B) echo "$E2E_NS_B" ;;
	P) echo "$E2E_NS_P" ;;
	*) e2e_die "no host $1" ;;
	esac
}

e2e_addr() {
	case $1 in
	A) echo "$E2E_MGMT.1" ;;
	B) echo "$E2E_MGMT.2" ;;
	esac
}

# ---- hosts and their libvirtd ----------------------------------------------

# The directories each host sees at the standard paths.
E2E_BINDS="etc-libvirt:/etc/libvirt lib-libvirt:/var/lib/libvirt log:/var/log/libvirt
	cache:/var/cache/libvirt run-libvirt:/run/libvirt etc-vfo:/etc/vfo
	run-vfo:/run/vfo lib-vfo:/var/lib/vfo"

e2e_host_dirs() {
	local d=$E2E_DIR/host$1 b
	for b in $E2E_BINDS; do
		mkdir -p "$d/${b%%:*}"
	done
	mkdir -p "$d/lib-libvirt/qemu" "$d/etc-libvirt/hooks/qemu.d"
	# Capability probing takes ~0.7 s per daemon; share the host's cache.
	if [ -d /var/cache/libvirt/qemu ]; then
		cp -a /var/cache/libvirt/qemu "$d/cache/" 2>/dev/null || true
	fi
}

e2e_host_config() {
	local h=$1 d=$E2E_DIR/host$1 addr
	addr=$(e2e_addr "$h")
	cat >"$d/etc-libvirt/libvirtd.conf" <<EOF
listen_tcp = 1
listen_tls = 0
listen_addr = "$addr"
auth_tcp = "none"
auth_unix_rw = "none"
unix_sock_dir = "/run/libvirt"
host_uuid = "0b6f7e1e-0000-4000-8000-00000000000$(echo "$h" | tr AB ab)"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
keepalive_interval = 2
keepalive_count = 3
EOF
	cat >"$d/etc-libvirt/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
migration_address = "$addr"
migration_host = "$addr"
EOF
}

# Run a command inside host X's network and mount namespaces (those of its
# libvirtd, so it sees that host's /run/libvirt, /etc/vfo, ...).
e2e_in() {
	local h=$1
	shift
	nsenter -t "$(cat "$E2E_DIR/host$h/ns.pid")" -m -n -u -- "$@"
}

# A process that holds host X's mount namespace open for the test's life,
# so daemons can stop and start (libvirtd restarts) without losing it.
e2e_host_ns() {
	local h=$1 d=$E2E_DIR/host$1 ns b mounts=""
	ns=$(e2e_ns "$h")
	for b in $E2E_BINDS; do
		mounts="$mounts mkdir -p ${b#*:} && mount --bind $d/${b%%:*} ${b#*:} &&"
	done
	ip netns exec "$ns" unshare -m -u --propagation private -- sh -c "
		hostname host$h
		$mounts true
		echo \$\$ > $d/ns.pid
		exec sleep 100000" &
	E2E_PIDS+=($!)
	local i
	for i in $(seq 50); do
		[ -s "$d/ns.pid" ] && return 0
		sleep 0.1
	done
	e2e_die "host$h namespace did not come up"
}

e2e_libvirtd_start() {
	local h=$1 d=$E2E_DIR/host$1 i
	rm -f "$d/run-libvirt/libvirt-sock"
	# nsenter itself (no function, no subshell), so that $! is the PID
	# the daemon ends up with: e2e_libvirtd_stop signals it.
	nsenter -t "$(cat "$d/ns.pid")" -m -n -u -- "$top_builddir/tests/tools/vfo-subreaper" \
		libvirtd --listen -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid \
		>>"$d/libvirtd.out.log" 2>&1 &
	echo $! >"$d/libvirtd.pid"
	E2E_PIDS+=($!)
	for i in $(seq 100); do
		if [ -S "$d/run-libvirt/libvirt-sock" ] && e2e_virsh "$h" version >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	e2e_die "libvirtd on host$h did not start"
}

# Stop host H's libvirtd (its guests run on). Its subreaper stays: it is
# the parent of those QEMUs now and reaps them when they end.
e2e_libvirtd_stop() {
	local h=$1 d=$E2E_DIR/host$1 pid i
	pid=$(cat "$d/run-libvirt/libvirtd.pid" 2>/dev/null) || e2e_die "no libvirtd pid on host$h"
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

# The real rule of SR-IOV, enforced on the stand-in: an emulated e1000e
# would migrate happily with its state, a VF cannot. Refuse any incoming
# domain whose final XML (after vfo-hook rewrote it) still carries one.
# A test makes the destination refuse its next incoming domain (after
# vfo-hook reserved its VFs) by creating /run/libvirt/bed-refuse-incoming
# there. Every call is logged to /run/libvirt/bed-hook.log.
e2e_bed_hook() {
	cat <<'EOF'
#!/bin/sh
mark=/run/libvirt/bed-incoming-$1
echo "$(date +%s.%N) $*" >>/run/libvirt/bed-hook.log
case "$2 $3" in
"migrate begin") cat >/dev/null; : >"$mark" ;;
"prepare begin")
	if [ -e "$mark" ]; then
		rm -f "$mark"
		if [ -e /run/libvirt/bed-refuse-incoming ]; then
			rm -f /run/libvirt/bed-refuse-incoming
			echo "bed: destination refuses incoming $1 (test)" >&2
			exit 1
		fi
		xml=$(cat)
		case $xml in
		*ua-vfo-*)
			# A failover primary (QEMU unplugs it itself during the
			# migration) or a hostdev (vfo-hook pointed it at a local
			# VF) is what arrives on real hosts too.
			case $xml in
			*failover_pair_id* | *"type='hostdev'"*) ;;
			*)
				echo "bed: incoming $1 still carries its stand-in VF: a VF cannot migrate" >&2
				exit 1 ;;
			esac ;;
		esac
	fi ;;
esac
exit 0
EOF
}

# vfo-hook finds vfo-hostd at the socket path it was built with
# ($runstatedir, /usr/local/var/run by default); the bed's vfo-hostd
# listens on /run/vfo/hostd.sock, and libvirt passes hooks no environment
# of ours: a wrapper in qemu.d tells the hook where to look.
e2e_hooks_install() {
	local d=$E2E_DIR/host$1/etc-libvirt/hooks/qemu.d
	e2e_bed_hook >"$d/00-bed-no-vf-migration"
	chmod 755 "$d/00-bed-no-vf-migration"
	install -m 755 "$top_builddir/host-agent/vfo-hook" "$E2E_DIR/host$1/etc-libvirt/vfo-hook"
	cat >"$d/vfo-hook" <<'EOF'
#!/bin/sh
VFO_HOSTD_SOCKET=/run/vfo/hostd.sock exec /etc/libvirt/vfo-hook "$@"
EOF
	chmod 755 "$d/vfo-hook"
}

e2e_host_up() {
	e2e_host_dirs "$1"
	e2e_host_config "$1"
	e2e_hooks_install "$1"
	e2e_host_ns "$1"
	e2e_libvirtd_start "$1"
	e2e_log "host$1 up (libvirtd at $(e2e_addr "$1"))"
}

# ---- vfo-hostd on a host -------------------------------------------------------

# usage: e2e_hostd_config HOST [COUNT [EXTRA-HOSTD-KEY=VALUE...]]
e2e_hostd_config() {
	local h=$1 count=${2:-2} d=$E2E_DIR/host$1 k
	shift
	[ $# -gt 0 ] && shift
	{
		echo "[hostd]"
		echo "state_dir = /var/lib/vfo"
		echo "socket = /run/vfo/hostd.sock"
		echo "group = root"
		echo "udev = no"
		echo "log_level = info"
		echo "libvirt_uri = qemu:///system"
		echo "ack_timeout = 2s"
		echo "unplug_timeout = 5s"
		echo "migrate_timeout = 60s"
		for k in "$@"; do echo "$k"; done
		echo "[pool physnet1]"
		echo "backend = emulated"
		echo "bridge = $E2E_BR"
		echo "count = $count"
	} >"$d/etc-vfo/hostd.conf"
}

e2e_hostd_start() {
	local h=$1 d=$E2E_DIR/host$1 i
	[ -f "$d/etc-vfo/hostd.conf" ] || e2e_hostd_config "$h"
	rm -f "$d/run-vfo/hostd.sock"
	# Each line stamped with the wall clock (e2e_stamp) for timelines.
	nsenter -t "$(cat "$d/ns.pid")" -m -n -u -- "$top_builddir/host-agent/vfo-hostd" -f \
		-c /etc/vfo/hostd.conf > >(e2e_stamp >>"$d/hostd.log") 2>&1 &
	echo $! >"$d/hostd.pid"
	E2E_PIDS+=($!)
	for i in $(seq 100); do
		[ -S "$d/run-vfo/hostd.sock" ] && return 0
		sleep 0.1
	done
	e2e_die "vfo-hostd on host$h did not start"
}

# usage: e2e_hostd_stop HOST [SIGNAL]
e2e_hostd_stop() {
	local h=$1 sig=${2:-TERM} pid
	pid=$(cat "$E2E_DIR/host$h/hostd.pid")
	kill -s "$sig" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

e2e_vfoctl() {
	local h=$1
	shift
	e2e_in "$h" "$top_builddir/host-agent/vfoctl" --socket /run/vfo/hostd.sock "$@"
}

# The pool counts of a host: "free reserved assigned".
e2e_pool_counts() {
	e2e_vfoctl "$1" --json pools | tr -d ' \n' |
		sed -n 's/.*"free":\([0-9]*\),"reserved":\([0-9]*\),"assigned":\([0-9]*\).*/\1 \2 \3/p' ||
		true
}

# Wait until the guest's bond runs on the given driver (e1000e: the VF,
# virtio_net: the standby), as its watcher reports on the console.
e2e_wait_active() {
	local name=$1 driver=$2 timeout=${3:-30} i
	for i in $(seq $((timeout * 10))); do
		[ "$(grep 'VFO-ACTIVE' "$E2E_DIR/$name.console.log" 2>/dev/null | tail -1 |
			tr -d '\r' | awk '{print $4}')" = "$driver" ] && return 0
		sleep 0.1
	done
	e2e_die "guest $name: bond not active on $driver within ${timeout}s"
}

e2e_uri() { echo "qemu:///system?socket=$E2E_DIR/host$1/run-libvirt/libvirt-sock"; }
e2e_tcp_uri() { echo "qemu+tcp://$(e2e_addr "$1")/system"; }

# 0 if the domain's live XML on host H carries pair net0's VF.
e2e_has_vf() {
	local xml
	xml=$(e2e_virsh "$1" dumpxml "$2" 2>/dev/null) || return 1
	case $xml in *"ua-vfo-net0"*) return 0 ;; esac
	return 1
}

e2e_virsh() {
	local h=$1
	shift
	virsh -q -c "$(e2e_uri "$h")" "$@"
}

# ---- guests ----------------------------------------------------------------

# The guest image: Debian's kernel + a busybox initramfs with the given
# programs (tests/vm/mkinitramfs.sh) and a guest script appended.
# usage: e2e_guest_image SCRIPT PROGRAM... ; sets E2E_KERNEL, E2E_INITRD
e2e_guest_image() {
	local script=$1 base
	shift
	base=$("$top_srcdir/tests/vm/mkinitramfs.sh" "$@") || e2e_die "mkinitramfs failed"
	E2E_KERNEL=$(ls /boot/vmlinuz-"$(basename "$base" | sed 's/^initramfs-\(.*\)-[0-9a-f]*\.cpio\.gz$/\1/')")
	local x=$E2E_DIR/extra
	rm -rf "$x"
	mkdir -p "$x"
	install -m 755 "$script" "$x/test.sh"
	E2E_INITRD=$E2E_DIR/initrd.img
	{
		cat "$base"
		(cd "$x" && echo test.sh | cpio -o -H newc --quiet | gzip -1)
	} >"$E2E_INITRD"
}

# usage: e2e_domain_xml NAME MAC [vf|novf|teaming] [agent|noagent|noack]
#   vf       the stand-in VF in the XML from the start
#   novf     standby only: vfo-hostd plugs the VF when the domain starts
#   teaming  libvirt <teaming> mode: the virtio NIC is the persistent
#            member, the e1000e its failover primary (QEMU failover=on /
#            failover_pair_id set through <qemu:override>: libvirt 9.0
#            refuses <teaming type='transient'> on anything but a hostdev);
#            the guest runs the kernel's net_failover
#   noagent  vfo.noagent=1: the guest runs no vfo-guestd (so no bond)
#   noack    vfo.noack=1: vfo-guestd says hello, then hangs (SIGSTOP)
#            once its bond runs on the VF
e2e_domain_xml() {
	local name=$1 mac=$2 vf=${3:-vf} agent=${4:-agent} uuid cmdline teaming=""
	uuid=$(cat /proc/sys/kernel/random/uuid)
	cmdline="console=ttyS0 quiet panic=-1 vfo.ip=$E2E_NET.10/24"
	case $agent in
	noagent) cmdline="$cmdline vfo.noagent=1" ;;
	noack) cmdline="$cmdline vfo.noack=1" ;;
	esac
	[ "$vf" = teaming ] && teaming="<teaming type='persistent'/>"
	cat <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>320</memory>
  <vcpu>1</vcpu>
  <metadata>
    <vfo:failover xmlns:vfo='http://vfo.dev/xmlns/failover/1'>
      <vfo:pair id='net0' mac='$mac' pool='physnet1' standby='ua-standby0'/>
    </vfo:failover>
  </metadata>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$E2E_KERNEL</kernel>
    <initrd>$E2E_INITRD</initrd>
    <cmdline>$cmdline</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='custom'><model>qemu64</model></cpu>
  <on_reboot>destroy</on_reboot>
  <devices>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
    <controller type='pci' index='2' model='pcie-root-port'/>
    <controller type='pci' index='3' model='pcie-root-port'/>
    <controller type='pci' index='4' model='pcie-root-port'/>
    <controller type='pci' index='5' model='pcie-root-port'/>
    <controller type='pci' index='6' model='pcie-root-port'/>
    <interface type='bridge'>
      <mac address='$mac'/>
      <source bridge='$E2E_BR'/>
      <model type='virtio'/>
      $teaming
      <alias name='ua-standby0'/>
    </interface>
EOF
	if [ "$vf" = vf ] || [ "$vf" = teaming ]; then
		# No option ROM on a failover primary: QEMU keeps the unplugged
		# primary's ROM RAM block on the source and the destination,
		# where the primary starts hidden, refuses it ("Unknown ramblock
		# .../e1000e.rom, cannot accept migration").
		cat <<EOF
    <interface type='bridge'>
      <mac address='$mac'/>
      <source bridge='$E2E_BR'/>
      <model type='e1000e'/>
      $([ "$vf" = teaming ] && echo "<rom enabled='no'/>")
      <alias name='ua-vfo-net0'/>
    </interface>
EOF
	fi
	cat <<EOF
    <channel type='unix'>
      <source mode='bind' path='/run/libvirt/qemu/$name.vfo.sock'/>
      <target type='virtio' name='org.vfo.guest.0'/>
    </channel>
    <serial type='file'>
      <source path='$E2E_DIR/$name.console.log' append='on'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='$E2E_DIR/$name.console.log' append='on'/>
      <target type='serial' port='0'/>
    </console>
  </devices>
EOF
	if [ "$vf" = teaming ]; then
		cat <<EOF
  <qemu:override>
    <qemu:device alias='ua-vfo-net0'>
      <qemu:frontend>
        <qemu:property name='failover_pair_id' type='string' value='ua-standby0'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
EOF
	fi
	echo "</domain>"
}

# Wait until PATTERN shows up in the guest console log.
e2e_wait_console() {
	local name=$1 pattern=$2 timeout=${3:-60} i
	for i in $(seq $((timeout * 10))); do
		grep -q -- "$pattern" "$E2E_DIR/$name.console.log" 2>/dev/null && return 0
		sleep 0.1
	done
	e2e_die "guest $name: '$pattern' not seen on the console in ${timeout}s"
}

# ---- probes ------------------------------------------------------------------

# Start the UDP probe stream from the peer to the guest; results in
# $E2E_DIR/probe.json when e2e_probe_stop is called.
e2e_probe_start() {
	local to=${1:-$E2E_NET.10}
	E2E_PHASES=$E2E_DIR/phases
	: >"$E2E_PHASES"
	rm -f "$E2E_DIR/probe.stop"
	ip netns exec "$E2E_NS_P" "$top_builddir/tests/tools/vfo-probe" send --to "$to" \
		--port 7777 --interval-ms 10 --duration 600 --json \
		--phase-file "$E2E_PHASES" --stop-file "$E2E_DIR/probe.stop" \
		--first-phase steady >"$E2E_DIR/probe.json" 2>"$E2E_DIR/probe.log" &
	E2E_PROBE_PID=$!
	E2E_PIDS+=($!)
}

e2e_phase() {
	"$top_builddir/tests/tools/vfo-probe" phase --phase-file "$E2E_PHASES" "$1"
}

# Stop the stream and wait for its report (in the shell that started it:
# a $(...) subshell cannot wait for it). The JSON is in $E2E_PROBE_JSON.
e2e_probe_stop() {
	touch "$E2E_DIR/probe.stop"
	wait "$E2E_PROBE_PID" || true
	E2E_PROBE_JSON=$(cat "$E2E_DIR/probe.json")
}

# usage: e2e_phase_field PHASE FIELD: a number from the probe report.
e2e_phase_field() {
	printf '%s\n' "$E2E_PROBE_JSON" | tr '{' '\n' | grep "\"name\":\"$1\"" |
		sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" | head -1
}

# ---- state of the agents ---------------------------------------------------

# usage: e2e_dom_field HOST DOMAIN FIELD: a field of `vfoctl domains` (mode:
# vf|standby|degraded, migration: none|<state>, agent: true|false); empty
# when the host does not follow the domain.
e2e_dom_field() {
	e2e_vfoctl "$1" --json domains | tr -d ' \n' | tr '{' '\n' |
		grep "\"name\":\"$2\"" | sed -n "s/.*\"$3\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1 ||
		true
}

# usage: e2e_vf_owners HOST: "ADDR STATE OWNER-UUID/PAIR" per VF not free.
e2e_vf_owners() {
	e2e_vfoctl "$1" --json vfs | tr -d ' \n' | tr '{' '\n' | grep '"state":"' |
		grep -v '"state":"free"' |
		sed -n 's/.*"addr":"\([^"]*\)".*"state":"\([^"]*\)".*/\1 \2/p' || true
}

# usage: e2e_expect_pool HOST "FREE RESERVED ASSIGNED" [WAIT_S]
e2e_expect_pool() {
	local h=$1 want=$2 wait=${3:-0} got i
	for i in $(seq 0 $((wait * 5))); do
		got=$(e2e_pool_counts "$h")
		[ "$got" = "$want" ] && return 0
		[ "$i" -lt $((wait * 5)) ] && sleep 0.2
	done
	e2e_die "host$h pool: free/reserved/assigned '$got', expected '$want'"
}

# usage: e2e_expect_vf HOST DOMAIN yes|no [WAIT_S]: the VF in the live XML.
e2e_expect_vf() {
	local h=$1 dom=$2 want=$3 wait=${4:-0} i have
	for i in $(seq 0 $((wait * 5))); do
		have=no
		e2e_has_vf "$h" "$dom" && have=yes
		[ "$have" = "$want" ] && return 0
		[ "$i" -lt $((wait * 5)) ] && sleep 0.2
	done
	e2e_die "host$h: $dom's VF in the domain XML: $have, expected $want"
}

# usage: e2e_expect_mode HOST DOMAIN MODE [WAIT_S]: vfoctl domains' mode.
e2e_expect_mode() {
	local h=$1 dom=$2 want=$3 wait=${4:-0} i got
	for i in $(seq 0 $((wait * 5))); do
		got=$(e2e_dom_field "$h" "$dom" mode)
		[ "$got" = "$want" ] && return 0
		[ "$i" -lt $((wait * 5)) ] && sleep 0.2
	done
	e2e_die "host$h: $dom's mode '$got', expected '$want'"
}

# usage: e2e_running HOST DOMAIN: 0 if the domain runs on that host.
e2e_running() {
	[ "$(e2e_virsh "$1" domstate "$2" 2>/dev/null | head -1)" = running ]
}

# ---- the guest's bond --------------------------------------------------------

# How many VFO-ACTIVE lines the guest printed so far: pass it to
# e2e_wait_active to wait for a change that happens after this point.
e2e_active_count() {
	grep -c 'VFO-ACTIVE' "$E2E_DIR/$1.console.log" 2>/dev/null || true
}

# The driver the guest's bond (or net_failover) runs on now.
e2e_active_now() {
	grep 'VFO-ACTIVE' "$E2E_DIR/$1.console.log" 2>/dev/null | tail -1 | tr -d '\r' |
		awk '{print $4}' || true
}

# usage: e2e_wait_active NAME DRIVER [TIMEOUT [SINCE]]: wait until the
# guest's bond runs on DRIVER (e1000e: the VF, virtio_net: the standby),
# as its watcher reports on the console; with SINCE (e2e_active_count),
# only a report printed after that point counts.
e2e_wait_active() {
	local name=$1 driver=$2 timeout=${3:-30} since=${4:-0} i
	for i in $(seq $((timeout * 10))); do
		[ "$(grep 'VFO-ACTIVE' "$E2E_DIR/$name.console.log" 2>/dev/null |
			tail -n +$((since + 1)) | tail -1 | tr -d '\r' | awk '{print $4}')" = "$driver" ] &&
			return 0
		sleep 0.1
	done
	e2e_die "guest $name: bond not active on $driver within ${timeout}s"
}

# usage: e2e_standby_time NAME SINCE: seconds (guest clock) between the
# first switch to virtio_net and the next switch to e1000e after SINCE.
e2e_standby_time() {
	grep 'VFO-ACTIVE' "$E2E_DIR/$1.console.log" | tail -n +$(($2 + 1)) | tr -d '\r' |
		awk '$4 == "virtio_net" && !t0 { t0 = $2 } $4 == "e1000e" && t0 { printf "%.2f\n", $2 - t0; exit }' ||
		true
}

# ---- traces: every source on one clock -------------------------------------------

# Prefix each line of stdin with the host's wall clock when it was read.
# The agents' logs, libvirt's events, the bridges' FDB and the guest's
# console all end up on that one clock (the guest's own clock stops while
# a migration has it paused), so a migration can be laid out step by step.
e2e_stamp() {
	local l
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "${l%$'\r'}"; done
}

# Trace what the agents' logs do not say, stamped: libvirt's domain events
# on both hosts (hostH.virsh-events), each bridge's FDB changes
# (hostH.fdb: which port the guest's MAC is learnt on) and guest NAME's
# console (NAME.console.stamped). Call once the hosts are up.
e2e_trace_start() {
	local name=${1:-g1} h
	for h in A B; do
		(stdbuf -oL virsh -q -c "$(e2e_uri "$h")" event --all --loop 2>/dev/null | e2e_stamp \
			>>"$E2E_DIR/host$h.virsh-events") &
		E2E_PIDS+=($!)
		(ip netns exec "$(e2e_ns "$h")" stdbuf -oL bridge monitor fdb 2>/dev/null | e2e_stamp \
			>>"$E2E_DIR/host$h.fdb") &
		E2E_PIDS+=($!)
	done
	touch "$E2E_DIR/$name.console.log"
	# --pid: tail ends with this script, whatever happens to the guest.
	(tail -F -n +1 --pid=$$ "$E2E_DIR/$name.console.log" 2>/dev/null |
		e2e_stamp >>"$E2E_DIR/$name.console.stamped") &
	E2E_PIDS+=($!)
}

# usage: e2e_trace_time FILE REGEX [AFTER]: the stamp of the first line of
# a stamped trace matching REGEX (awk) after AFTER; empty if none.
e2e_trace_time() {
	awk -v after="${3:-0}" -v re="$2" '$1 > after && $0 ~ re { print $1; exit }' "$1" \
		2>/dev/null || true
}

# usage: e2e_timeline SRC DST T0 [MAC]: a managed migration of g1 step by
# step, from the agents' logs, libvirt's events, the bridges' FDB and the
# guest's console (e2e_trace_start), as offsets from T0 on one clock.
e2e_timeline() {
	local src=$1 dst=$2 t0=$3 mac=${4:-52:54:00:77:00:10} d=$E2E_DIR file re label t
	local hs=$d/host$src/hostd.log hd=$d/host$dst/hostd.log c=$d/g1.console.stamped
	local vs=$d/host$src.virsh-events vd=$d/host$dst.virsh-events
	while IFS='|' read -r file re label; do
		t=$(e2e_trace_time "$file" "$re" "$t0")
		[ -z "$t" ] || printf '%s %s\n' "$t" "$label"
	done <<EOF | sort -n | awk -v t0="$t0" '{ printf "  %+7.3f s  %s\n", $1 - t0, substr($0, index($0, " ") + 1) }'
$hs|vf-leaving sent|host$src: vf-leaving sent
$c|VFO-GUESTD.*traffic now on the standby|guest: bond on the standby
$c|VFO-ACTIVE .* virtio_net|guest: watcher sees the standby active
$hs|guest switched .* to its standby|host$src: guest's ack
$hs|unplugging|host$src: VF detach requested
$c|VFO-GUESTD.* gone|guest: VF gone
$vs|'device-removed'|host$src: DEVICE_REMOVED
$hs|live migration to .* started|host$src: migration started
$vd|Started Migrated|host$dst: domain started (incoming)
$vs|Suspended Migrated|host$src: domain paused (switch-over)
$d/host$dst.fdb|^[0-9.]* $mac dev vnet|host$dst: bridge learns the MAC from QEMU's first announce
$vd|Resumed Migrated|host$dst: RESUMED
$hs|migrating -> releasing|host$src: migration call returned
$hd|guest agent present|host$dst: guest agent answers
$hd|plugging VF|host$dst: VF attach requested
$vd|'device-added'|host$dst: VF plugged (device-added)
$hd|vf-arriving sent|host$dst: vf-arriving sent
$c|VFO-NIC|guest: VF netdev appears
$c|VFO-GUESTD.*enslaved VF|guest: VF enslaved
$c|VFO-CARRIER [0-9.]* [a-z0-9]* 1|guest: VF carrier up
$c|VFO-GUESTD.*traffic now on the VF|guest: bond back on the VF
$c|VFO-ACTIVE .* e1000e|guest: watcher sees the VF active
EOF
}

# ---- events and phases ---------------------------------------------------------

# Follow host H's vfo-hostd events in the background: each line is stamped
# with the wall clock it arrived at ("$EPOCHREALTIME JSON") in
# $E2E_DIR/hostH.events. Call again after restarting that vfo-hostd.
e2e_events_start() {
	local h=$1
	(
		e2e_vfoctl "$h" --json events 2>/dev/null |
			while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "${l%$'\r'}"; done
	) >>"$E2E_DIR/host$h.events" &
	E2E_PIDS+=($!)
	# The subscription is in place once the daemon answered it.
	sleep 0.2
}

# usage: e2e_event_time HOST STATE [AFTER [EVENT [DOMAIN]]]: the wall-clock
# time of the first EVENT (default "migration") of DOMAIN (default g1)
# with that state after AFTER; empty if none.
e2e_event_time() {
	local h=$1 st=$2 after=${3:-0} ev=${4:-migration} dom=${5:-g1}
	awk -v st="\"state\":\"$st\"" -v ev="\"event\":\"$ev\"" -v dom="\"name\":\"$dom\"" \
		-v after="$after" '$1 > after && index($0, st) && index($0, ev) && index($0, dom) {
			print $1; exit }' "$E2E_DIR/host$h.events" 2>/dev/null
}

# usage: e2e_wait_event HOST STATE TIMEOUT [AFTER [EVENT]]
e2e_wait_event() {
	local h=$1 st=$2 timeout=$3 after=${4:-0} ev=${5:-migration} i
	for i in $(seq $((timeout * 10))); do
		[ -n "$(e2e_event_time "$h" "$st" "$after" "$ev")" ] && return 0
		sleep 0.1
	done
	e2e_die "host$h: no $ev event '$st' within ${timeout}s"
}

# usage: e2e_phase_at NAME TIME: a phase that started at TIME (wall clock,
# seconds): the probe sender sorts phases by time and files each probe
# under the phase in force when it was sent, so marks may come late.
e2e_phase_at() {
	[ -n "$2" ] || return 0
	printf '%s %s\n' "$2" "$1" >>"$E2E_PHASES"
}

# Mark the phases of one migration from the agents' event steps:
#   P-unplug     source "leaving" (vf-leaving to the guest, then detach)
#   P-migration  source "migrating" (the live migration proper)
#   P-replug     destination "attaching" (the VF is plugged there), or
#                the source's "releasing" when the destination says nothing
# usage: e2e_mark_migration P SRC DST T0
e2e_mark_migration() {
	local p=$1 src=$2 dst=$3 t0=$4 t
	# No "leaving" without a guest agent: the unplug starts at once.
	t=$(e2e_event_time "$src" leaving "$t0")
	[ -n "$t" ] || t=$(e2e_event_time "$src" detaching "$t0")
	e2e_phase_at "$p-unplug" "$t"
	e2e_phase_at "$p-migration" "$(e2e_event_time "$src" migrating "$t0")"
	t=$(e2e_event_time "$dst" attaching "$t0")
	[ -n "$t" ] || t=$(e2e_event_time "$dst" degraded "$t0")
	[ -n "$t" ] || t=$(e2e_event_time "$src" releasing "$t0")
	e2e_phase_at "$p-replug" "$t"
}

# usage: e2e_migrate SRC DST PREFIX [VFOCTL-MIGRATE-OPTIONS...]: a managed
# migration of g1 with `vfoctl migrate`, its steps printed as they happen,
# the probe phases marked. Sets E2E_MIG_RC (vfoctl's exit status),
# E2E_MIG_T0 (wall clock at the start) and E2E_MIG_OUT (its output).
e2e_migrate() {
	local src=$1 dst=$2 p=$3 rc=0
	shift 3
	E2E_MIG_T0=$EPOCHREALTIME
	e2e_log "$p: vfoctl migrate g1 host$src -> host$dst $*"
	e2e_vfoctl "$src" migrate g1 "$(e2e_tcp_uri "$dst")" "$@" >"$E2E_DIR/$p.out" 2>&1 || rc=$?
	E2E_MIG_RC=$rc
	E2E_MIG_OUT=$(cat "$E2E_DIR/$p.out")
	sed 's/^/    /' "$E2E_DIR/$p.out" >&2
	e2e_mark_migration "$p" "$src" "$dst" "$E2E_MIG_T0"
}

# usage: e2e_step_duration HOST FROM TO AFTER: seconds between two states.
e2e_step_duration() {
	local a b
	a=$(e2e_event_time "$1" "$2" "$4")
	b=$(e2e_event_time "$1" "$3" "$4")
	[ -n "$a" ] && [ -n "$b" ] || return 1
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'
}

# usage: e2e_loss PHASE: "lost/sent, longest gap G ms" for the log.
e2e_loss() {
	echo "$1: lost $(e2e_phase_field "$1" lost) of $(e2e_phase_field "$1" sent)," \
		"longest gap $(e2e_phase_field "$1" max_gap_ms) ms"
}

# usage: e2e_expect_loss PHASE MAX: at most MAX probes lost in PHASE.
e2e_expect_loss() {
	local lost
	lost=$(e2e_phase_field "$1" lost)
	[ -n "$lost" ] || e2e_die "no phase $1 in the probe report"
	[ "$lost" -le "$2" ] || e2e_die "$1: $lost probes lost (at most $2 expected)"
}

# ---- the usual bed -------------------------------------------------------------

# Two hosts with libvirtd and vfo-hostd (configure a host first with
# e2e_hostd_config to change its defaults), their events followed and
# traced (e2e_trace_start).
e2e_bed_up() {
	e2e_net_up
	e2e_host_up A
	e2e_host_up B
	[ -f "$E2E_DIR/hostA/etc-vfo/hostd.conf" ] || e2e_hostd_config A
	[ -f "$E2E_DIR/hostB/etc-vfo/hostd.conf" ] || e2e_hostd_config B
	e2e_hostd_start A
	e2e_hostd_start B
	e2e_events_start A
	e2e_events_start B
	e2e_trace_start g1
}

# usage: e2e_guest_up [vf|novf|teaming] [agent|noagent|noack]: guest g1 on hostA;
# returns once its network is up (and, with an agent, once its bond runs
# on the VF).
e2e_guest_up() {
	local vf=${1:-novf} agent=${2:-agent}
	[ -n "${E2E_INITRD:-}" ] || e2e_guest_image "$top_srcdir/tests/e2e/guest-agent.sh" \
		"$top_builddir/tests/tools/vfo-probe" "$top_builddir/guest-agent/vfo-guestd"
	e2e_domain_xml g1 52:54:00:77:00:10 "$vf" "$agent" >"$E2E_DIR/g1.xml"
	e2e_virsh A create "$E2E_DIR/g1.xml" >/dev/null
	e2e_wait_console g1 "VFO-GUEST: net up" 120
	if [ "$agent" != noagent ] || [ "$vf" = teaming ]; then
		e2e_wait_active g1 e1000e 60
	fi
	e2e_log "guest g1 up on hostA ($vf, $agent)"
}
