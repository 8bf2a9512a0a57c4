# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Library for VM tests: TCG guests on Debian's kernel with real PCI hot-plug,
# a peer network namespace, probes, QMP and a console command channel.
# Source it from a bash test script:
#
#	. "$(dirname "$0")/lib.sh"
#	vm_init smoke 120             # name, overall time limit (s)
#	vm_net_setup 1                # netns, bridge, peer; 1 pair
#	vm_boot --pairs 1 --script guest.sh --prog "$VFO_PROBE"
#	vm_wait_console 'VFO-READY' 60
#	probe_start p0 10.77.0.2 ...
#	vm_unplug vf0
#	vm_pass
#
# Layout per run (kept on failure, or always with VFO_VM_KEEP=1):
#	$VM_DIR/console.log   guest serial console
#	$VM_DIR/events.log    every QMP event, one JSON line each
#	$VM_DIR/qemu.log      QEMU's stderr; qemu.cmd its command line
#	$VM_DIR/qmp.sock      QMP for vm_qmp; guest0.sock the org.vfo.guest.0 port
#	$VM_DIR/<probe>.json  probe report; <probe>.txt human summary
#
# Networking, all inside two namespaces private to the run (so tests can run
# in parallel and nothing leaks into the host): $VM_NS_H holds the bridge
# br0, one tap per NIC and QEMU itself; $VM_NS_P is the peer, joined to br0
# by a veth, with 10.77.<pair>.1/24. Pair i's guest address is 10.77.i.2.
#
# Device naming, pair i (0-based): MAC 52:54:00:56:46:0i; standby
# virtio-net-pci id=standby<i> on root port rp<2i+1>; the stand-in VF e1000e
# id=vf<i> on rp<2i+2>; spare ports follow (VM_SPARE_PORTS of them).
#
# Environment: CI=true turns a missing prerequisite into a failure;
# VFO_VM_BUILDDIR (default /tmp/vfo-vm-<uid>) holds caches and run dirs;
# VFO_PROBE / VFO_QMP point at prebuilt tools (else built here from
# tests/tools/); VFO_VM_KEEP=1 keeps the run dir on success too;
# VFO_QEMU overrides qemu-system-x86_64.

VM_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_TOPDIR=$(cd "$VM_SRCDIR/../.." && pwd)
VM_BUILDDIR=${VFO_VM_BUILDDIR:-/tmp/vfo-vm-$(id -u)}
VM_QEMU=${VFO_QEMU:-qemu-system-x86_64}
VM_MEM=${VFO_VM_MEM:-384}
VM_SPARE_PORTS=3
VM_MAC_PREFIX=52:54:00:56:46

VM_NAME=
VM_DIR=
VM_ID=
VM_NS_H=
VM_NS_P=
VM_PID=
VM_T0=
VM_PAIRS=1
VM_FAILOVER=0
VM_NPORTS=0
VM_FREE_PORTS=()
VM_BG_PIDS=()
VM_CMD_SEQ=0
VM_TAP_SEQ=0
VM_RESULT=fail
declare -A VM_PROBE_PID=()

# ------------------------------------------------------------ reporting

vm_log() { echo "[$(vm_elapsed)] $*" >&2; }

vm_elapsed()
{
	if [ -n "$VM_T0" ]; then
		awk -v a="$VM_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.2fs", b - a }'
	else
		printf '  -   '
	fi
}

vm_fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# A missing prerequisite: skip (77), but never in CI where it must fail.
vm_skip()
{
	if [ "${CI:-}" = true ]; then
		echo "FAIL: missing prerequisite (CI=true forbids skipping): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

vm_pass()
{
	VM_RESULT=pass
	vm_log "PASS: $VM_NAME"
	exit 0
}

# ------------------------------------------------------------ setup

vm_check_prereqs()
{
	local kver

	[ "$(id -u)" = 0 ] || vm_skip "not root"
	command -v "$VM_QEMU" >/dev/null || vm_skip "no $VM_QEMU (apt-get install qemu-system-x86)"
	[ -c /dev/net/tun ] || vm_skip "no /dev/net/tun"
	command -v ip >/dev/null || vm_skip "no ip (iproute2)"
	command -v modprobe >/dev/null || vm_skip "no modprobe (kmod)"
	command -v cpio >/dev/null || vm_skip "no cpio"
	command -v gcc >/dev/null || [ -n "${VFO_PROBE:-}" ] || vm_skip "no gcc"
	[ -x /bin/busybox ] || vm_skip "no /bin/busybox (apt-get install busybox-static)"
	kver=$(ls -1 /lib/modules 2>/dev/null | sort -rV | head -1)
	[ -n "$kver" ] && [ -f "/boot/vmlinuz-$kver" ] ||
		vm_skip "no guest kernel (apt-get install linux-image-amd64)"
	[ -r "/boot/vmlinuz-$kver" ] || vm_skip "/boot/vmlinuz-$kver unreadable"
	VM_KVER=$kver
	VM_KERNEL=/boot/vmlinuz-$kver
}

# vm_init NAME LIMIT_S: run dir, unique names, cleanup trap, watchdog.
vm_init()
{
	VM_NAME=$1
	local limit=${2:-300}

	vm_check_prereqs
	VM_T0=$(date +%s.%N)
	VM_ID=$(printf '%x%04x' $$ $((RANDOM)))
	mkdir -p "$VM_BUILDDIR/runs" "$VM_BUILDDIR/cache"
	VM_DIR=$(mktemp -d "$VM_BUILDDIR/runs/$VM_NAME.XXXXXX")
	VM_NS_H=vfo-$VM_ID-h
	VM_NS_P=vfo-$VM_ID-p
	trap vm_cleanup EXIT
	trap 'vm_log "interrupted"; exit 1' INT TERM HUP
	# Watchdog: a bounded test even if something waits forever.
	(
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		sleep "$limit" &
		sp=$!
		wait $sp
		echo "FAIL: $VM_NAME exceeded its time limit of ${limit}s" >&2
		kill -TERM $$
	) &
	VM_WATCHDOG=$!
	vm_log "run $VM_NAME: dir $VM_DIR, netns $VM_NS_H/$VM_NS_P"
	vm_tools
}

vm_cleanup()
{
	local rc=$? p name

	trap - EXIT INT TERM HUP
	[ -n "${VM_WATCHDOG:-}" ] && kill "$VM_WATCHDOG" 2>/dev/null
	# The recorded pid is vm_peer's subshell: the stop file reaches the
	# sender itself, and whatever still runs in the namespaces is killed
	# before they are deleted below.
	for name in "${!VM_PROBE_PID[@]}"; do
		touch "$VM_DIR/$name.stop" 2>/dev/null
		kill -TERM "${VM_PROBE_PID[$name]}" 2>/dev/null
	done
	if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
		kill -TERM "$VM_PID" 2>/dev/null
		for _ in $(seq 30); do
			kill -0 "$VM_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$VM_PID" 2>/dev/null
	fi
	for p in "${VM_BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ -n "$VM_NS_H" ]; then
		for p in $(ip netns pids "$VM_NS_H" 2>/dev/null) \
			$(ip netns pids "$VM_NS_P" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$VM_NS_H" 2>/dev/null
		ip netns del "$VM_NS_P" 2>/dev/null
	fi
	if [ "$rc" = 0 ] && [ "$VM_RESULT" = pass ] && [ "${VFO_VM_KEEP:-0}" != 1 ]; then
		rm -rf "$VM_DIR"
	elif [ "$rc" = 0 ] && [ "$VM_RESULT" = pass ]; then
		echo "--- logs kept in $VM_DIR (VFO_VM_KEEP=1)" >&2
	elif [ -n "$VM_DIR" ]; then
		[ "$rc" = 77 ] || {
			echo "--- logs kept in $VM_DIR; console tail:" >&2
			tail -n 25 "$VM_DIR/console.log" 2>/dev/null | sed 's/^/  | /' >&2
		}
		[ "$rc" = 0 ] && [ "$VM_RESULT" != pass ] && rc=1
	fi
	exit "$rc"
}

# Build the C tools unless given: host copies for the peer and QMP, and the
# same vfo-probe (static) for the guest.
vm_tools()
{
	local src=$VM_TOPDIR/tests/tools key dir

	key=$(cat "$src/vfo-probe.c" "$src/vfo-qmp.c" | sha256sum | cut -c1-12)
	dir=$VM_BUILDDIR/cache/tools-$key
	if [ ! -x "$dir/vfo-qmp" ]; then
		mkdir -p "$dir.tmp.$$"
		gcc -std=gnu11 -O2 -Wall -static -o "$dir.tmp.$$/vfo-probe" "$src/vfo-probe.c" &&
			gcc -std=gnu11 -O2 -Wall -o "$dir.tmp.$$/vfo-qmp" "$src/vfo-qmp.c" ||
			vm_fail "building tests/tools failed"
		# rename(2) onto a finished copy fails: a parallel run won.
		mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"
	fi
	VFO_PROBE=${VFO_PROBE:-$dir/vfo-probe}
	VFO_QMP=${VFO_QMP:-$dir/vfo-qmp}
}

# ------------------------------------------------------------ network

# vm_net_setup NPAIRS: namespaces, bridge, peer veth with one address per pair.
vm_net_setup()
{
	local n=${1:-1} i

	ip netns add "$VM_NS_H" || vm_fail "ip netns add"
	ip netns add "$VM_NS_P" || vm_fail "ip netns add"
	ip -n "$VM_NS_H" link set lo up
	ip -n "$VM_NS_P" link set lo up
	ip -n "$VM_NS_H" link add br0 type bridge stp_state 0 forward_delay 0 ||
		vm_fail "bridge"
	ip -n "$VM_NS_H" link set br0 up
	ip -n "$VM_NS_H" link add pv0 type veth peer name eth0 netns "$VM_NS_P"
	ip -n "$VM_NS_H" link set pv0 master br0 up
	ip -n "$VM_NS_P" link set eth0 up
	for ((i = 0; i < n; i++)); do
		ip -n "$VM_NS_P" addr add "10.77.$i.1/24" dev eth0
	done
}

# vm_tap NAME: a tap in the host namespace, on the bridge.
vm_tap()
{
	ip -n "$VM_NS_H" tuntap add dev "$1" mode tap || vm_fail "tap $1"
	ip -n "$VM_NS_H" link set "$1" master br0 up
}

vm_mac() { printf '%s:%02x' "$VM_MAC_PREFIX" "$1"; }
vm_guest_ip() { echo "10.77.$1.2"; }
vm_peer_ip() { echo "10.77.$1.1"; }

# Run a command in the peer namespace.
vm_peer() { ip netns exec "$VM_NS_P" "$@"; }

# ------------------------------------------------------------ boot

# vm_boot [options]
#   --pairs N       failover pairs (default 1)
#   --no-vf         standby NICs only (a VF can be hot-added later)
#   --failover      virtio-net failover=on + e1000e failover_pair_id; the
#                   primary is hot-added over QMP after FAILOVER_NEGOTIATED
#                   (a cold-plugged primary cannot be re-added in QEMU 7.2)
#   --script FILE   the guest's /test.sh
#   --env K=V       exported to the guest's /test.sh (via /test.env)
#   --prog P[:DST]  a program (with its libraries) for the guest image
#   --file S:D      a plain file for the guest image (per run, not cached)
#   --append ARGS   extra kernel command line
#   --udev          run systemd-udevd in the guest (mkinitramfs.sh -u): NICs
#                   get udev's predictable names (enpXsY), hot-added ones too
#   --mem MIB
vm_boot()
{
	local script= append= no_vf=0 i port
	local progs=("$VFO_PROBE") files=() envs=() mkopts=()

	VM_PAIRS=1
	while [ $# -gt 0 ]; do
		case $1 in
		--pairs) VM_PAIRS=$2; shift ;;
		--no-vf) no_vf=1 ;;
		--failover) VM_FAILOVER=1 ;;
		--script) script=$2; shift ;;
		--env) envs+=("$2"); shift ;;
		--prog) progs+=("$2"); shift ;;
		--file) files+=("$2"); shift ;;
		--append) append="$append $2"; shift ;;
		--udev) mkopts+=(-u) ;;
		--mem) VM_MEM=$2; shift ;;
		*) vm_fail "vm_boot: unknown option $1" ;;
		esac
		shift
	done

	# Base image (cached) + a per-run overlay with the script and env.
	local base initrd=$VM_DIR/initrd.img ov=$VM_DIR/overlay
	base=$("$VM_SRCDIR/mkinitramfs.sh" -c "$VM_BUILDDIR/cache" -k "$VM_KVER" \
		"${mkopts[@]}" "${progs[@]}") || vm_fail "mkinitramfs failed"
	mkdir -p "$ov"
	if [ -n "$script" ]; then
		cp "$script" "$ov/test.sh"
		chmod 755 "$ov/test.sh"
	fi
	{
		echo "export VFO_PAIRS=$VM_PAIRS VFO_FAILOVER=$VM_FAILOVER"
		for ((i = 0; i < VM_PAIRS; i++)); do
			echo "export VFO_MAC$i=$(vm_mac "$i") VFO_IP$i=$(vm_guest_ip "$i")"
		done
		for e in "${envs[@]}"; do
			printf 'export %q\n' "$e"
		done
	} >"$ov/test.env"
	for f in "${files[@]}"; do
		mkdir -p "$ov/$(dirname "${f#*:}")"
		cp -L "${f%%:*}" "$ov/${f#*:}"
	done
	cp "$base" "$initrd"
	(cd "$ov" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >>"$initrd"

	# Devices.
	local dev=() net=()
	VM_NPORTS=$((2 * VM_PAIRS + VM_SPARE_PORTS))
	for ((port = 1; port <= VM_NPORTS; port++)); do
		dev+=(-device "pcie-root-port,id=rp$port,chassis=$port")
	done
	VM_FREE_PORTS=()
	for ((port = 2 * VM_PAIRS + 1; port <= VM_NPORTS; port++)); do
		VM_FREE_PORTS+=("$port")
	done
	for ((i = 0; i < VM_PAIRS; i++)); do
		local mac fo=
		mac=$(vm_mac "$i")
		[ "$VM_FAILOVER" = 1 ] && fo=,failover=on
		vm_tap "sb$i"
		net+=(-netdev "tap,id=nsb$i,ifname=sb$i,script=no,downscript=no")
		dev+=(-device "virtio-net-pci,id=standby$i,netdev=nsb$i,mac=$mac,bus=rp$((2 * i + 1))$fo")
		if [ "$no_vf" = 0 ] && [ "$VM_FAILOVER" = 0 ]; then
			vm_tap "vf$i"
			net+=(-netdev "tap,id=nvf$i,ifname=vf$i,script=no,downscript=no")
			dev+=(-device "e1000e,id=vf$i,netdev=nvf$i,mac=$mac,bus=rp$((2 * i + 2))")
		else
			VM_FREE_PORTS=("$((2 * i + 2))" "${VM_FREE_PORTS[@]}")
		fi
	done

	local D=$VM_DIR
	mkfifo "$D/console.in" "$D/console.out"
	: >"$D/console.log"
	: >"$D/events.log"
	local cmd=("$VM_QEMU" -accel tcg -machine q35 -m "$VM_MEM" -smp 1
		-nodefaults -no-user-config -display none -no-reboot
		-kernel "$VM_KERNEL" -initrd "$initrd"
		-append "console=ttyS0,115200 panic=-1 loglevel=6 $append"
		-chardev "pipe,id=ser0,path=$D/console" -serial chardev:ser0
		-chardev "socket,id=qmp0,path=$D/qmp.sock,server=on,wait=off"
		-mon chardev=qmp0,mode=control
		-chardev "socket,id=qmp1,path=$D/qmp-ev.sock,server=on,wait=off"
		-mon chardev=qmp1,mode=control
		-device virtio-serial-pci,id=vser0
		-chardev "socket,id=ch0,path=$D/guest0.sock,server=on,wait=off"
		-device "virtserialport,bus=vser0.0,chardev=ch0,name=org.vfo.guest.0"
		-pidfile "$D/qemu.pid"
		"${net[@]}" "${dev[@]}")
	printf '%q ' "${cmd[@]}" >"$D/qemu.cmd"
	echo >>"$D/qemu.cmd"

	# The console reader must never stop: QEMU blocks once the FIFO fills.
	cat "$D/console.out" >>"$D/console.log" &
	VM_BG_PIDS+=($!)
	ip netns exec "$VM_NS_H" "${cmd[@]}" 2>"$D/qemu.log" &
	VM_PID=$!
	vm_log "qemu pid $VM_PID started"
	vm_wait_file "$D/qmp-ev.sock" 10 || vm_fail "QEMU did not start: $(tail -3 "$D/qemu.log")"
	"$VFO_QMP" --socket "$D/qmp-ev.sock" --listen >>"$D/events.log" 2>"$D/events.err" &
	VM_BG_PIDS+=($!)

	if [ "$VM_FAILOVER" = 1 ] && [ "$no_vf" = 0 ]; then
		for ((i = 0; i < VM_PAIRS; i++)); do
			vm_wait_event FAILOVER_NEGOTIATED "standby$i" 90 ||
				vm_fail "no FAILOVER_NEGOTIATED for standby$i"
			vm_plug_vf "$i" "vf$i" "$((2 * i + 2))"
		done
	fi
}

vm_wait_file()
{
	local f=$1 deadline=$(($(date +%s) + $2))

	while [ ! -e "$f" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		vm_alive || return 1
		sleep 0.05
	done
}

vm_alive() { [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; }

# vm_wait_console ERE TIMEOUT [FROM_BYTE]: wait for a console line.
vm_wait_console()
{
	local re=$1 timeout=$2 from=${3:-0}
	local deadline=$(($(date +%s%N) / 1000000 + timeout * 1000))

	while :; do
		tail -c +"$((from + 1))" "$VM_DIR/console.log" | grep -qaE -- "$re" && return 0
		vm_alive || { vm_log "QEMU exited while waiting for /$re/"; return 1; }
		[ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && {
			vm_log "timeout (${timeout}s) waiting for console /$re/"
			return 1
		}
		sleep 0.1
	done
}

vm_console_size() { stat -c %s "$VM_DIR/console.log"; }

# vm_guest CMD [TIMEOUT]: run CMD in the guest through the console, print
# its output; returns CMD's exit status. The guest has no echo, and the
# markers are split in the sent text so only the output can match them.
vm_guest()
{
	local cmd=$1 timeout=${2:-20} n from rc out

	# Unique without shared state: vm_guest often runs inside $(...).
	n=$BASHPID-$RANDOM-$((++VM_CMD_SEQ))
	from=$(vm_console_size)
	printf 'echo "VFO-CMD""-BEGIN-%s"; %s; r=$?; echo; echo "VFO-CMD""-END-%s rc=$r"\n' \
		"$n" "$cmd" "$n" >"$VM_DIR/console.in"
	vm_wait_console "VFO-CMD-END-$n rc=" "$timeout" "$from" || return 124
	out=$(tail -c +"$((from + 1))" "$VM_DIR/console.log" | tr -d '\r')
	awk -v b="VFO-CMD-BEGIN-$n" -v e="VFO-CMD-END-$n" '
		index($0, b) { on = 1; held = 0; next }
		index($0, e) { exit }
		on { if (held) print prev; prev = $0; held = 1 }
		END { if (held && prev != "") print prev }' <<<"$out"
	rc=$(sed -n "s/.*VFO-CMD-END-$n rc=\([0-9]*\).*/\1/p" <<<"$out" | head -1)
	return "${rc:-1}"
}

# vm_qmp [vfo-qmp options] COMMAND...: one QMP exchange, reply on stdout.
vm_qmp() { "$VFO_QMP" --socket "$VM_DIR/qmp.sock" --timeout 15 "$@"; }

# vm_wait_event NAME MATCH TIMEOUT: an event seen since boot (events.log).
vm_wait_event()
{
	local name=$1 match=$2 timeout=$3
	local deadline=$(($(date +%s) + timeout))

	while :; do
		grep -F "\"event\": \"$name\"" "$VM_DIR/events.log" |
			grep -qF -- "$match" && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		vm_alive || return 1
		sleep 0.05
	done
}

# vm_unplug ID [TIMEOUT]: device_del and wait for DEVICE_DELETED; frees its
# root port. VM_UNPLUG_S = seconds from request to event. Call it directly,
# not in $(...): it updates the port bookkeeping.
vm_unplug()
{
	local id=$1 timeout=${2:-15} t0 t1 port

	t0=$(date +%s.%N)
	vm_qmp --timeout "$timeout" --wait-event DEVICE_DELETED \
		--match "\"device\": \"$id\"" \
		"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"$id\"}}" \
		>>"$VM_DIR/qmp.out" || vm_fail "device_del $id: no DEVICE_DELETED in ${timeout}s"
	t1=$(date +%s.%N)
	port=$(vm_port_of "$id")
	[ -n "$port" ] && VM_FREE_PORTS+=("$port")
	VM_UNPLUG_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

declare -A VM_DEV_PORT=()
vm_port_of()
{
	local id=$1

	if [ -n "${VM_DEV_PORT[$id]:-}" ]; then
		echo "${VM_DEV_PORT[$id]}"
		unset "VM_DEV_PORT[$id]"
	elif [[ $id =~ ^vf([0-9]+)$ ]]; then
		echo $((2 * BASH_REMATCH[1] + 2))
	fi
}

# vm_plug_vf PAIR ID [PORT]: hot-add an e1000e with the pair's MAC on a new
# tap (a new bridge port, as a VF on another host would be) on PORT or the
# first free root port. With --failover, ID must be vf<PAIR> (QEMU 7.2).
vm_plug_vf()
{
	local pair=$1 id=$2 port=${3:-} tap nd fo= i

	if [ -z "$port" ]; then
		[ ${#VM_FREE_PORTS[@]} -gt 0 ] || vm_fail "no free root port"
		port=${VM_FREE_PORTS[0]}
	fi
	for i in "${!VM_FREE_PORTS[@]}"; do
		[ "${VM_FREE_PORTS[$i]}" = "$port" ] && unset "VM_FREE_PORTS[$i]"
	done
	VM_FREE_PORTS=("${VM_FREE_PORTS[@]}")
	# QEMU 7.2 remembers the first failover primary's options per standby
	# and refuses any other id ("Cannot attach more than one primary").
	[ "$VM_FAILOVER" = 1 ] && [ "$id" != "vf$pair" ] &&
		vm_fail "vm_plug_vf: with --failover the primary must keep id vf$pair"
	VM_TAP_SEQ=$((VM_TAP_SEQ + 1))
	tap=hv$pair-$VM_TAP_SEQ
	nd=n$tap
	vm_tap "$tap"
	[ "$VM_FAILOVER" = 1 ] && fo=",\"failover_pair_id\":\"standby$pair\""
	vm_qmp "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"tap\",\"id\":\"$nd\",\"ifname\":\"$tap\",\"script\":\"no\",\"downscript\":\"no\"}}" \
		>>"$VM_DIR/qmp.out" || vm_fail "netdev_add $nd"
	vm_qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"id\":\"$id\",\"netdev\":\"$nd\",\"mac\":\"$(vm_mac "$pair")\",\"bus\":\"rp$port\"$fo}}" \
		>>"$VM_DIR/qmp.out" || vm_fail "device_add $id on rp$port"
	VM_DEV_PORT[$id]=$port
}

# vm_set_link ID on|off: the NIC's link as the guest sees it.
vm_set_link()
{
	local up=false

	[ "$2" = on ] && up=true
	vm_qmp "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"$1\",\"up\":$up}}" \
		>>"$VM_DIR/qmp.out"
}

vm_stop()
{
	[ -n "$VM_PID" ] || return 0
	vm_qmp quit >/dev/null 2>&1
	for _ in $(seq 50); do
		vm_alive || break
		sleep 0.1
	done
	kill -KILL "$VM_PID" 2>/dev/null
	wait "$VM_PID" 2>/dev/null
	VM_PID=
}

# ------------------------------------------------------------ probes

# probe_start NAME DEST [DURATION_S]: probes from the peer to DEST:7000
# every 10 ms until probe_stop (or DURATION_S).
probe_start()
{
	local name=$1 dest=$2 dur=${3:-0}

	rm -f "$VM_DIR/$name".{json,txt,phases,stop,status}
	: >"$VM_DIR/$name.phases"
	vm_peer "$VFO_PROBE" send --to "$dest" --port 7000 --interval-ms 10 \
		--duration "$dur" --json --phase-file "$VM_DIR/$name.phases" \
		--stop-file "$VM_DIR/$name.stop" --status-file "$VM_DIR/$name.status" \
		>"$VM_DIR/$name.json" 2>"$VM_DIR/$name.txt" &
	VM_PROBE_PID[$name]=$!
}

# probe_phase NAME PHASE: probes sent from now on belong to PHASE.
probe_phase() { "$VFO_PROBE" phase --phase-file "$VM_DIR/$1.phases" "$2"; }

# probe_stop NAME: end the run and wait for its report (bounded).
probe_stop()
{
	local name=$1 pid=${VM_PROBE_PID[$1]}

	touch "$VM_DIR/$name.stop"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "VM_PROBE_PID[$name]"
	[ -s "$VM_DIR/$name.json" ] || vm_fail "probe $name wrote no report"
}

# probe_received NAME: echoes received so far.
probe_received()
{
	sed -n 's/.*"received":\([0-9]*\).*/\1/p' "$VM_DIR/$1.status" 2>/dev/null || echo 0
}

# probe_wait_flowing NAME COUNT TIMEOUT: COUNT more echoes arrive.
probe_wait_flowing()
{
	local name=$1 want=$2 timeout=$3 base now
	local deadline=$(($(date +%s) + timeout))

	base=$(probe_received "$name")
	base=${base:-0}
	while :; do
		now=$(probe_received "$name")
		[ "${now:-0}" -ge $((base + want)) ] && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# probe_get NAME FIELD [PHASE]: a number from the report, total or a phase's.
probe_get()
{
	local json

	json=$(cat "$VM_DIR/$1.json")
	if [ -n "${3:-}" ]; then
		json=$(grep -o "{\"name\":\"$3\"[^}]*}" <<<"$json" | tail -1)
	else
		json=${json%%\"phases\"*}
	fi
	sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$json"
}
