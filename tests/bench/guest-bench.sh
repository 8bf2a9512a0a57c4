#!/bin/sh
# Guest script for bench-migrate and the demo: the standby configured the
# way DHCP leaves it, then per mode (vfo.mode=):
#   vfo        vfo-guestd manages the bond
#   plainbond  a plain active-backup bond (miimon 100, primary = the VF),
#              made through sysfs and re-enslaving each new VF: what a user
#              sets up when Nova or KubeVirt leave the guest side to them
#   failover   the kernel's net_failover (QEMU failover=on): the address
#              goes on its failover master
#   virtio     the standby alone (no VF at all: the floor)
# and the probe echo, and a watcher that prints every change of the bond's
# active slave (VFO-ACTIVE <uptime> <nic> <driver>) on the console.
log() { echo "$*" >/dev/console; }
drv() { d=$(readlink "/sys/class/net/$1/device/driver" 2>/dev/null) && echo "${d##*/}"; }
mode=${VFO_MODE:-vfo}
# net_failover's master: the netdev with lower_* links (its standby and VF).
master() {
	for p in /sys/class/net/*; do
		ls -d "$p"/lower_* >/dev/null 2>&1 && { echo "${p##*/}"; return 0; }
	done
	return 1
}
if [ "$mode" = failover ]; then
	t=0
	while ! sb=$(master); do
		t=$((t + 1)); [ $t -gt 300 ] && { log "VFO-ERROR no failover master"; exit 1; }
		usleep 100000
	done
	for l in /sys/class/net/$sb/lower_*; do ip link set "${l##*/lower_}" up; done
else
	for n in /sys/class/net/eth*; do
		sb=${n##*/}
		[ "$(drv "$sb")" = virtio_net ] && break
	done
fi
read -r mac <"/sys/class/net/$sb/address"
ip link set "$sb" up
ip addr add "$VFO_IP" dev "$sb"
ip route add default via "${VFO_IP%.*}.1" dev "$sb"
case $mode in
vfo)
	mkdir -p /etc/vfo
	# Its log on the console too: the bench's timeline stamps it there.
	vfo-guestd -f 2>&1 | while read -r l; do log "VFO-GUESTD $l"; done &
	;;
plainbond)
	echo +vfo0 >/sys/class/net/bonding_masters
	echo active-backup >/sys/class/net/vfo0/bonding/mode
	echo 100 >/sys/class/net/vfo0/bonding/miimon
	echo 1 >/sys/class/net/vfo0/bonding/num_grat_arp
	ip addr del "$VFO_IP" dev "$sb"
	ip link set "$sb" down
	echo "+$sb" >/sys/class/net/vfo0/bonding/slaves
	ip link set vfo0 up
	ip addr add "$VFO_IP" dev vfo0
	ip route add default via "${VFO_IP%.*}.1" dev vfo0
	;;
esac
vfo-probe echo --port 7777 >/dev/console 2>&1 &
log "VFO-GUEST: net up ($mode)"
last=-
seen=" "
while :; do
	# Each VF as it appears, and its carrier: VF link-up time is what the
	# bench compares the time on standby with. A replugged VF may reuse
	# the name of the one that left: "seen" holds only current NICs.
	now=" "
	for p in /sys/class/net/eth*; do
		n=${p##*/}
		[ "$(drv "$n")" = e1000e ] || continue
		read -r c <"$p/carrier" 2>/dev/null || c=0
		now="$now$n:$c "
		case $seen in *" $n:$c "*) continue ;; esac
		read -r u _ </proc/uptime
		case $seen in *" $n:"*) ;; *) log "VFO-NIC $u $n" ;; esac
		log "VFO-CARRIER $u $n $c"
	done
	seen=$now
	if [ "$mode" = plainbond ]; then
		# Enslave a new VF once its driver is bound (never one that is
		# leaving: it has no driver any more).
		for p in /sys/class/net/eth*; do
			n=${p##*/}
			[ -e "$p/master" ] && continue
			[ "$(drv "$n")" = e1000e ] || continue
			read -r a <"$p/address"
			[ "$a" = "$mac" ] || continue
			ip link set "$n" down
			echo "+$n" >/sys/class/net/vfo0/bonding/slaves
			echo "$n" >/sys/class/net/vfo0/bonding/primary
		done
	fi
	a=
	[ -e /sys/class/net/vfo0/bonding/active_slave ] &&
		read -r a </sys/class/net/vfo0/bonding/active_slave
	[ "$mode" = virtio ] && a=$sb
	if [ "$mode" = failover ]; then
		# net_failover sends on its primary (the VF) while that is up.
		a=
		for l in /sys/class/net/$sb/lower_*; do
			n=${l##*/lower_}
			[ "$(drv "$n")" = e1000e ] || continue
			read -r c <"/sys/class/net/$n/carrier" 2>/dev/null && [ "$c" = 1 ] && a=$n
		done
		[ -z "$a" ] && for l in /sys/class/net/$sb/lower_*; do
			n=${l##*/lower_}
			[ "$(drv "$n")" = virtio_net ] && a=$n
		done
	fi
	if [ "$a" != "$last" ]; then
		d=none
		[ -n "$a" ] && d=$(drv "$a")
		read -r u _ </proc/uptime
		log "VFO-ACTIVE $u ${a:-none} ${d:-none}"
		last=$a
	fi
	usleep 50000
done
