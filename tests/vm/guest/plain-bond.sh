#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest script (runs as /test.sh in the initramfs): the no-agent baseline.
# For each pair i (VFO_PAIRS, VFO_MACi, VFO_IPi from /test.env): an
# active-backup bond vfo<i> (miimon 100, primary = the e1000e) over the
# e1000e and the virtio-net NIC with that MAC, made through sysfs only, its
# IPv4 address, and one `vfo-probe echo` for all. Then a watcher enslaves
# any new e1000e with a pair's MAC (a replugged "VF") and reports, on the
# console, every change of active slave:
#	VFO-READY                          bonds up, echo running
#	VFO-ENSLAVE <bond> <nic> t=<uptime>
#	VFO-ACTIVE <bond> <nic> t=<uptime>
#
# Busybox's sh runs its own ip applet: enough for link up/down and addresses.

log() { echo "$*" >/dev/console; }
up() { read -r u _ </proc/uptime; echo "$u"; }

# nic_driver NIC: the bound driver's name, empty if none (a departing NIC).
nic_driver()
{
	d=$(readlink "/sys/class/net/$1/device/driver" 2>/dev/null) || return 0
	echo "${d##*/}"
}

# find_nic DRIVER MAC: a NIC with that driver and MAC, not yet enslaved.
find_nic()
{
	for p in /sys/class/net/*; do
		n=${p##*/}
		[ -e "$p/master" ] && continue
		[ "$(nic_driver "$n")" = "$1" ] || continue
		read -r a <"$p/address"
		[ "$a" = "$2" ] && { echo "$n"; return 0; }
	done
	return 1
}

enslave()
{
	bond=$1 nic=$2
	ip link set "$nic" down
	echo "+$nic" >"/sys/class/net/$bond/bonding/slaves" || return 1
	log "VFO-ENSLAVE $bond $nic t=$(up)"
}

i=0
while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
	eval mac=\$VFO_MAC$i ip=\$VFO_IP$i
	bond=vfo$i
	# Both NICs must be there (the VF of a failover=on guest may come late).
	t=0
	while ! sb=$(find_nic virtio_net "$mac"); do
		t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no virtio NIC $mac"; exit 1; }
		usleep 100000
	done
	t=0
	while ! vf=$(find_nic e1000e "$mac"); do
		t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no e1000e $mac"; exit 1; }
		usleep 100000
	done
	[ -e /sys/class/net/$bond ] || echo "+$bond" >/sys/class/net/bonding_masters
	echo active-backup >/sys/class/net/$bond/bonding/mode
	echo 100 >/sys/class/net/$bond/bonding/miimon
	enslave $bond "$vf" || exit 1
	enslave $bond "$sb" || exit 1
	echo "$vf" >/sys/class/net/$bond/bonding/primary
	ip link set $bond up
	ip addr add "$ip/24" dev $bond
	log "VFO-BOND $bond vf=$vf standby=$sb mac=$mac ip=$ip"
	i=$((i + 1))
done

vfo-probe echo --port 7000 >/dev/console 2>&1 &
log "VFO-READY t=$(up)"

# Watcher: no forks on the idle path (read builtins), 10 Hz.
while :; do
	i=0
	while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
		bond=vfo$i
		read -r act <"/sys/class/net/$bond/bonding/active_slave" || act=
		eval last=\$LAST$i
		if [ "$act" != "$last" ]; then
			log "VFO-ACTIVE $bond ${act:-none} t=$(up)"
			eval LAST$i=\$act
		fi
		i=$((i + 1))
	done
	for p in /sys/class/net/eth*; do
		[ -e "$p/master" ] && continue
		[ -e "$p/device/driver" ] || continue
		n=${p##*/}
		[ "$(nic_driver "$n")" = e1000e ] || continue
		read -r a <"$p/address"
		i=0
		while [ "$i" -lt "${VFO_PAIRS:-1}" ]; do
			eval mac=\$VFO_MAC$i
			if [ "$a" = "$mac" ]; then
				enslave vfo$i "$n" &&
					echo "$n" >/sys/class/net/vfo$i/bonding/primary
			fi
			i=$((i + 1))
		done
	done
	usleep 100000
done
