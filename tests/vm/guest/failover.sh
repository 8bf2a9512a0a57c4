#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest script for the kernel net_failover baseline (QEMU failover=on): no
# bond; the kernel builds a 3-netdev failover master per pair. Gives each
# master its pair's address, runs the echo and reports on the console:
#	VFO-FAILOVER <master> standby=<nic> primary=<nic|none>
#	VFO-READY
#	VFO-PRIMARY <master> <nic|none> t=<uptime>   (on every change)

log() { echo "$*" >/dev/console; }
up() { read -r u _ </proc/uptime; echo "$u"; }

# master_of MAC: the failover master (the netdev with lower_* links).
master_of()
{
	for p in /sys/class/net/*; do
		ls -d "$p"/lower_* >/dev/null 2>&1 || continue
		read -r a <"$p/address"
		[ "$a" = "$1" ] && { echo "${p##*/}"; return 0; }
	done
	return 1
}

# primary_of MASTER: the lower netdev that is not virtio (the VF), if any.
primary_of()
{
	for l in /sys/class/net/$1/lower_*; do
		[ -e "$l" ] || continue
		n=${l##*/lower_}
		d=$(readlink "/sys/class/net/$n/device/driver" 2>/dev/null)
		[ "${d##*/}" = virtio_net ] || { echo "$n"; return 0; }
	done
	echo none
}

i=0
while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
	eval mac=\$VFO_MAC$i ip=\$VFO_IP$i
	t=0
	while ! m=$(master_of "$mac"); do
		t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no failover master $mac"; exit 1; }
		usleep 100000
	done
	for l in /sys/class/net/$m/lower_*; do ip link set "${l##*/lower_}" up; done
	ip link set "$m" up
	ip addr add "$ip/24" dev "$m"
	eval M$i=\$m
	log "VFO-FAILOVER $m lowers=$(ls -d /sys/class/net/$m/lower_* | sed 's,.*/lower_,,' | tr '\n' ,) ip=$ip"
	i=$((i + 1))
done
vfo-probe echo --port 7000 >/dev/console 2>&1 &
log "VFO-READY t=$(up)"
while :; do
	i=0
	while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
		eval m=\$M$i last=\$LAST$i
		p=$(primary_of "$m")
		if [ "$p" != "$last" ]; then
			log "VFO-PRIMARY $m $p t=$(up)"
			eval LAST$i=\$p
		fi
		i=$((i + 1))
	done
	usleep 200000
done
