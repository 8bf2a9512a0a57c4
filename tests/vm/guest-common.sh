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
# vfo-guestd, else the source tree's build).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "guest-common.sh is a library for the guest-*.sh scenarios" >&2
	exit 77
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

gd_find_binary()
{
	local c

	for c in "${VFO_GUESTD:-}" "${top_builddir:-}/guest-agent/vfo-guestd" \
		"$VM_TOPDIR/guest-agent/vfo-guestd"; do
		[ -n "$c" ] && [ -x "$c" ] && { GD_BIN=$c; return 0; }
	done
	vm_fail "no vfo-guestd binary (build it, or set VFO_GUESTD)"
}

# The guest's /test.sh. Environment (from vm_boot --env): GD_CONF (the
# config file's text, may be empty), GD_NO_AGENT=1 (do not start it).
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
i=0
while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
	eval mac=\$VFO_MAC$i ip=\$VFO_IP$i
	t=0
	while ! sb=$(find_nic virtio_net "$mac"); do
		t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no virtio NIC $mac"; exit 1; }
		usleep 100000
	done
	# What DHCP / cloud-init leave behind: the standby configured.
	ip link set "$sb" up
	ip addr add "$ip/24" dev "$sb"
	[ "$i" = 0 ] && ip route add default via "${ip%.*}.1" dev "$sb"
	log "VFO-STANDBY $sb mac=$mac ip=$ip"
	i=$((i + 1))
done
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

# gd_boot [vm_boot options...]
gd_boot()
{
	gd_find_binary
	gd_guest_script
	vm_boot --script "$VM_DIR/gd-guest.sh" --prog "$GD_BIN:/usr/sbin/vfo-guestd" "$@"
	vm_wait_console '^VFO-READY' 120 || vm_fail "guest never got ready"
}

# gd_query JSON: one request to the agent's control socket; the reply line.
gd_query() { vm_guest "vfo-guestd -q '$1'" "${2:-20}"; }
gd_status() { gd_query '{"id":1,"cmd":"status"}'; }
# gd_pair_field PAIR_INDEX JQ_PATH: from the status of the pair at index.
gd_field() { gd_status | jq -r ".result.pairs[$1]$2"; }

gd_agent_log() { vm_guest "cat /tmp/guestd.log" 30 >"$VM_DIR/guestd.log" 2>&1; }

gd_fail()
{
	gd_agent_log
	tail -40 "$VM_DIR/guestd.log" >&2
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
# what comes back within WAIT seconds (GD_CHAN_WAIT, default 2).
gd_chan()
{
	python3 - "$VM_DIR/guest0.sock" "${GD_CHAN_WAIT:-2}" "$@" <<'EOF'
import socket, sys, time
path, wait = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.connect(path)
for line in sys.argv[3:]:
    s.sendall(line.encode() + b"\n")
s.settimeout(0.2)
buf, end = b"", time.time() + wait
want = sum(1 for l in sys.argv[3:] if '"id"' in l)
while time.time() < end and buf.count(b"\n") < want:
    try:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    except socket.timeout:
        pass
sys.stdout.write(buf.decode(errors="replace"))
EOF
}
