#!/bin/sh
# Guest script for the two-host bed: the standby configured the way DHCP
# leaves it, vfo-guestd (unless vfo.noagent=1), the probe echo, and a
# watcher that prints every change of the bond's active slave on the
# console, so the host side can assert what carried the traffic when.
log() { echo "$*" >/dev/console; }
for n in /sys/class/net/eth*; do
	sb=${n##*/}
	[ "$(readlink "$n/device/driver" | sed 's|.*/||')" = virtio_net ] && break
done
ip link set "$sb" up
ip addr add "$VFO_IP" dev "$sb"
ip route add default via "${VFO_IP%.*}.1" dev "$sb"
log "VFO-STANDBY $sb"
vfo-probe echo --port 7777 >/dev/console 2>&1 &
if [ "${VFO_NOAGENT:-0}" != 1 ]; then
	mkdir -p /etc/vfo
	vfo-guestd -f >/tmp/guestd.log 2>&1 &
fi
log "VFO-GUEST: net up"
last=-
while :; do
	a=
	[ -e /sys/class/net/vfo0/bonding/active_slave ] &&
		read -r a </sys/class/net/vfo0/bonding/active_slave
	if [ "$a" != "$last" ]; then
		d=none
		[ -n "$a" ] && d=$(readlink "/sys/class/net/$a/device/driver" | sed 's|.*/||')
		read -r u _ </proc/uptime
		log "VFO-ACTIVE $u ${a:-none} ${d:-none}"
		last=$a
	fi
	usleep 50000
done
