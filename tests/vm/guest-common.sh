# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Shared by the vfo-guestd VM scenarios (tests/vm/guest-*.sh): sourced, not
# a test by itself. Boots a guest whose standbys are configured the way a
# DHCP client or cloud-init would leave them (address and default route on
# the virtio NIC), starts vfo-guestd and the probe echo, and offers helpers
# to read the agent's status and the guest's NIC counters.
#
# VFO_GUESTD: the vfo-guestd binary (default: $top_builddir/guest-agent/
# vfo-guestd, else the source tree's build). VFO_SOCK: tests/tools/vfo-sock
# (default: $top_builddir's, else built from source into the VM cache).
# Needs jq on the host; no python, no socat.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "guest-common.sh is a library for the guest-*.sh scenarios" >&2
	exit 77
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

gd_find_binary()
{
	local c

	GD_BIN=
	for c in "${VFO_GUESTD:-}" "${top_builddir:-}/guest-agent/vfo-guestd" \
		"$VM_TOPDIR/guest-agent/vfo-guestd"; do
		[ -n "$c" ] && [ -x "$c" ] && { GD_BIN=$c; break; }
	done
	[ -n "$GD_BIN" ] || vm_fail "no vfo-guestd binary (build it, or set VFO_GUESTD)"
	command -v jq >/dev/null || vm_skip "no jq (apt-get install jq)"
	gd_find_sock
}

# VFO_SOCK: tests/tools/vfo-sock, the host-side client of the channel's
# UNIX socket (no socat, no python). From the build tree when there, else
# built here once and cached like lib.sh's tools.
gd_find_sock()
{
	local src=$VM_TOPDIR/tests/tools/vfo-sock.c key dir

	[ -n "${VFO_SOCK:-}" ] && [ -x "$VFO_SOCK" ] && return 0
	if [ -n "${top_builddir:-}" ] && [ -x "$top_builddir/tests/tools/vfo-sock" ] &&
		[ "$top_builddir/tests/tools/vfo-sock" -nt "$src" ]; then
		VFO_SOCK=$top_builddir/tests/tools/vfo-sock
		return 0
	fi
	key=$(sha256sum <"$src" | cut -c1-12)
	dir=$VM_BUILDDIR/cache/vfo-sock-$key
	if [ ! -x "$dir/vfo-sock" ]; then
		mkdir -p "$dir.tmp.$$"
		gcc -std=gnu11 -O2 -Wall -o "$dir.tmp.$$/vfo-sock" "$src" ||
			vm_fail "building tests/tools/vfo-sock.c failed"
		mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"
	fi
	VFO_SOCK=$dir/vfo-sock
}

# The guest's /test.sh. Environment (from vm_boot --env): GD_CONF (the
# config file's text, may be empty; "\n" separates lines), GD_NO_AGENT=1
# (do not start it), GD_E1000E_ARGS (reload e1000e with these options),
# GD_IP6 / GD_GW6 (pair 0's standby also gets this IPv6 address, e.g.
# fd77::2/64, and an IPv6 default route via GD_GW6, through iproute2's ip
# which the test passes as /usr/sbin/ip2; the agent starts once the address
# has left DAD's tentative state).
gd_guest_script()
{
	cat >"$VM_DIR/gd-guest.sh" <<'EOF'
#!/bin/sh
log() { echo "$*" >/dev/console; }
nic_driver() { d=$(readlink "/sys/class/net/$1/device/driver" 2>/dev/null) && echo "${d##*/}"; }
find_nic()
{
	for p in /sys/class/net/*; do
		n=${p##*/}
		[ "$(nic_driver "$n")" = "$1" ] || continue
		read -r a <"$p/address"
		[ "$a" = "$2" ] && { echo "$n"; return 0; }
	done
	return 1
}
# QEMU 7.2's e1000e raises no link-change interrupt under MSI-X, so the
# guest never sees a set_link: tests that flap the link reload the driver
# with legacy interrupts (GD_E1000E_ARGS="IntMode=0") before the agent runs.
if [ -n "${GD_E1000E_ARGS:-}" ]; then
	rmmod e1000e && insmod /lib/modules/e1000e.ko $GD_E1000E_ARGS ||
		log "VFO-ERROR e1000e reload with $GD_E1000E_ARGS"
fi
# The kernel's net_failover master (QEMU failover=on): the netdev with
# lower_* links and that MAC. It, not the standby, is what DHCP configures.
find_master()
{
	for p in /sys/class/net/*; do
		ls -d "$p"/lower_* >/dev/null 2>&1 || continue
		read -r a <"$p/address"
		[ "$a" = "$1" ] && { echo "${p##*/}"; return 0; }
	done
	return 1
}
# Several pairs share one bridge, each with its own subnet: answer ARP only
# on the interface that holds the address (no ARP flux between pairs).
if [ "${VFO_PAIRS:-1}" -gt 1 ]; then
	echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore
	echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce
fi
i=0
while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
	eval mac=\$VFO_MAC$i ip=\$VFO_IP$i
	t=0
	if [ "${VFO_FAILOVER:-0}" = 1 ]; then
		while ! sb=$(find_master "$mac"); do
			t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no failover master $mac"; exit 1; }
			usleep 100000
		done
		for l in /sys/class/net/$sb/lower_*; do ip link set "${l##*/lower_}" up; done
	else
		while ! sb=$(find_nic virtio_net "$mac"); do
			t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no virtio NIC $mac"; exit 1; }
			usleep 100000
		done
	fi
	# What DHCP / cloud-init leave behind: the standby configured.
	ip link set "$sb" up
	ip addr add "$ip/24" dev "$sb"
	[ "$i" = 0 ] && ip route add default via "${ip%.*}.1" dev "$sb"
	if [ "$i" = 0 ] && [ -n "${GD_IP6:-}" ]; then
		/usr/sbin/ip2 -6 addr add "$GD_IP6" dev "$sb" || log "VFO-ERROR ip -6 addr"
		t=0
		while [ -n "$(/usr/sbin/ip2 -6 addr show dev "$sb" tentative)" ]; do
			t=$((t + 1)); [ $t -gt 100 ] && { log "VFO-ERROR DAD"; break; }
			usleep 100000
		done
		/usr/sbin/ip2 -6 route add default via "$GD_GW6" dev "$sb" ||
			log "VFO-ERROR ip -6 route"
	fi
	log "VFO-STANDBY $sb mac=$mac ip=$ip"
	i=$((i + 1))
done
# Kernel messages stay in dmesg (saved on failure): on the console they
# would interleave with the output of the test's commands.
echo 4 >/proc/sys/kernel/printk
mkdir -p /etc/vfo
[ -n "${GD_CONF:-}" ] && printf '%b\n' "$GD_CONF" >/etc/vfo/guestd.conf
vfo-probe echo --port 7000 >/dev/console 2>&1 &
if [ "${GD_NO_AGENT:-0}" != 1 ]; then
	vfo-guestd -f -d >>/tmp/guestd.log 2>&1 &
	echo $! >/tmp/guestd.pid
	t=0
	while [ ! -S /run/vfo/guestd.sock ]; do
		t=$((t + 1)); [ $t -gt 100 ] && { log "VFO-ERROR agent socket missing"; break; }
		usleep 100000
	done
fi
log "VFO-READY t=$(cut -d' ' -f1 /proc/uptime)"
EOF
}

# /usr/bin/gd-watch BOND in the guest: append "uptime slave" to
# /tmp/active-BOND.log at every change of the bond's active slave, sampled
# every 20 ms with shell builtins only (no fork on the idle path).
gd_watch_script()
{
	cat >"$VM_DIR/gd-watch.sh" <<'EOF'
#!/bin/sh
last=-
while :; do
	read -r a <"/sys/class/net/$1/bonding/active_slave" 2>/dev/null || a=
	if [ "$a" != "$last" ]; then
		read -r u _ </proc/uptime
		echo "$u ${a:-none}" >>"/tmp/active-$1.log"
		last=$a
	fi
	usleep 20000
done
EOF
	chmod 755 "$VM_DIR/gd-watch.sh"
}

# A probe sender runs as a child of the subshell lib.sh's probe_start
# backgrounds, so killing that PID on a failure leaves the sender running
# (in its namespace, which then outlives the test). Ask every probe still
# running to stop through its stop file, then run lib.sh's cleanup with
# the test's exit status. gd_boot installs it; call it after vm_init when
# not using gd_boot.
gd_stop_probes()
{
	local name

	for name in "${!VM_PROBE_PID[@]}"; do
		touch "$VM_DIR/$name.stop" 2>/dev/null
	done
	# The sender looks at the file every tick (10 ms).
	[ ${#VM_PROBE_PID[@]} -gt 0 ] && sleep 0.2
	return 0
}
gd_trap() { trap 'gd_rc=$?; gd_stop_probes; (exit $gd_rc); vm_cleanup' EXIT; }

# gd_boot [vm_boot options...]
gd_boot()
{
	gd_trap
	gd_find_binary
	gd_guest_script
	gd_watch_script
	vm_boot --script "$VM_DIR/gd-guest.sh" --prog "$GD_BIN:/usr/sbin/vfo-guestd" \
		--file "$VM_DIR/gd-watch.sh:/usr/bin/gd-watch" "$@"
	vm_wait_console '^VFO-READY' 120 || vm_fail "guest never got ready"
}

# gd_query JSON: one request to the agent's control socket; the reply line.
# Only the reply line: a kernel message may share the console.
gd_query() { vm_guest "vfo-guestd -q '$1'" "${2:-20}" | grep -a '^{"id"'; }
gd_status() { gd_query '{"id":1,"cmd":"status"}'; }
# gd_pair_field PAIR_INDEX JQ_PATH: from the status of the pair at index.
gd_field() { gd_status | jq -r ".result.pairs[$1]$2"; }

# gd_pair MAC: the status object of the pair with that MAC (compact JSON).
gd_pair() { gd_status | jq -c --arg m "$1" '.result.pairs[] | select(.mac == $m)'; }

# gd_watch BOND: start gd-watch in the guest; gd_watch_log BOND prints it.
gd_watch() { vm_guest "{ gd-watch $1 >/dev/null 2>&1 & }"; }
gd_watch_log() { vm_guest "cat /tmp/active-$1.log" | tr -d '\r'; }

# gd_proc FIELD...: the values of those fields of the agent's
# /proc/PID/status, space separated, in the order the kernel prints them
# (VmRSS in kB, voluntary_ctxt_switches, nonvoluntary_ctxt_switches).
gd_proc()
{
	local f pat=

	for f in "$@"; do pat="$pat${pat:+|}^$f:"; done
	vm_guest "grep -E '$pat' /proc/\$(cat /tmp/guestd.pid)/status" |
		tr -d '\r' | awk '{ printf "%s%s", sep, $2; sep = " " } END { print "" }'
}

# gd_agent_alive: the agent started at boot still runs (never restarted).
gd_agent_alive() { vm_guest 'kill -0 $(cat /tmp/guestd.pid)' >/dev/null; }

gd_agent_log()
{
	vm_guest "cat /tmp/guestd.log" 30 >"$VM_DIR/guestd.log" 2>&1
	vm_guest "dmesg" 30 >"$VM_DIR/dmesg.log" 2>&1
}

gd_fail()
{
	gd_agent_log
	grep -v "loop: debug" "$VM_DIR/guestd.log" | tail -40 >&2
	vm_fail "$*"
}

# gd_wait_role PAIR ROLE TIMEOUT: the pair's active slave has that role.
gd_wait_role()
{
	local deadline=$(($(date +%s) + $3)) r

	while :; do
		r=$(gd_field "$1" .active_role 2>/dev/null)
		[ "$r" = "$2" ] && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}

# Guest NIC counters: "rx tx".
gd_counters()
{
	vm_guest "cat /sys/class/net/$1/statistics/rx_packets /sys/class/net/$1/statistics/tx_packets | tr '\n' ' '" |
		tr -d '\r'
}

# gd_tap_sent TAP: frames the guest has sent out of the NIC behind the host
# tap TAP (the tap's rx counter): exact and immediate, where the guest's
# e1000e counters lag by up to the driver's 2 s watchdog.
gd_tap_sent()
{
	ip netns exec "$VM_NS_H" cat "/sys/class/net/$1/statistics/rx_packets"
}

# gd_vf_tap PAIR: the host tap of the pair's newest VF: vf<PAIR> from the
# command line, or the one lib.sh's vm_plug_vf made last (hv<PAIR>-<seq>).
gd_vf_tap()
{
	if [ "${VM_TAP_SEQ:-0}" -gt 0 ] &&
		ip -n "$VM_NS_H" link show "hv$1-$VM_TAP_SEQ" >/dev/null 2>&1; then
		echo "hv$1-$VM_TAP_SEQ"
	else
		echo "vf$1"
	fi
}

# gd_carries NIC OTHER: over 2 s NIC moves the probes (>= 150 each way at
# 100/s) and OTHER at most 20 packets out. OTHER may be "lo".
gd_carries()
{
	local nic=$1 other=$2 a b c d drx dtx orx otx

	read -r a b <<<"$(gd_counters "$nic")"
	read -r c d <<<"$(gd_counters "$other")"
	sleep 2
	read -r drx dtx <<<"$(gd_counters "$nic")"
	read -r orx otx <<<"$(gd_counters "$other")"
	drx=$((drx - a)); dtx=$((dtx - b)); orx=$((orx - c)); otx=$((otx - d))
	vm_log "over 2 s: $nic rx $drx tx $dtx; $other rx $orx tx $otx"
	[ "$drx" -ge 150 ] && [ "$dtx" -ge 150 ] && [ "$otx" -le 20 ]
}

# gd_chan LINE...: send lines on the host side of org.vfo.guest.0, print
# the replies: as many lines as there are requests with an "id", or what
# came within GD_CHAN_WAIT seconds (default 2). The host side is one
# connection per call, as a host agent that reconnects would make.
gd_chan()
{
	"$VFO_SOCK" -w "${GD_CHAN_WAIT:-2}" "$VM_DIR/guest0.sock" "$@" 2>>"$VM_DIR/vfo-sock.log"
}
