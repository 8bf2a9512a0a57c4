#!/bin/sh
# Guest script for the two-host bed: the standby configured the way DHCP
# leaves it, vfo-guestd (unless vfo.noagent=1), the probe echo, and a
# watcher that prints every change of the active slave on the console, so
# the host side can assert what carried the traffic when:
#   VFO-ACTIVE <uptime> <netdev> <driver>
# for vfo-guestd's bond (vfo0), or, in libvirt <teaming> mode, for the
# kernel's net_failover master (its primary when that has carrier, else
# its standby: the kernel's own choice).
log() { echo "$*" >/dev/console; }
for n in /sys/class/net/eth*; do
	sb=${n##*/}
	[ "$(readlink "$n/device/driver" | sed 's|.*/||')" = virtio_net ] && break
done
fo=
ls -d /sys/class/net/"$sb"/lower_* >/dev/null 2>&1 && fo=$sb
ip link set "$sb" up
ip addr add "$VFO_IP" dev "$sb"
ip route add default via "${VFO_IP%.*}.1" dev "$sb"
log "VFO-STANDBY $sb${fo:+ (net_failover master)}"
vfo-probe echo --port 7777 >/dev/console 2>&1 &
if [ "${VFO_NOAGENT:-0}" != 1 ]; then
	mkdir -p /etc/vfo
	vfo-guestd -f >/tmp/guestd.log 2>&1 &
	gd=$!
	# vfo.noack=1: an agent that said hello and then hangs (SIGSTOP) once
	# its bond runs on the VF: the host must not wait for it forever.
	if [ "${VFO_NOACK:-0}" = 1 ]; then
		(
			while :; do
				a=
				[ -e /sys/class/net/vfo0/bonding/active_slave ] &&
					read -r a </sys/class/net/vfo0/bonding/active_slave
				[ -n "$a" ] && [ "$(readlink "/sys/class/net/$a/device/driver" |
					sed 's|.*/||')" = e1000e ] && break
				usleep 100000
			done
			sleep 3
			kill -STOP "$gd"
			log "VFO-AGENT-STOPPED"
		) &
	fi
fi
log "VFO-GUEST: net up"

driver_of() { readlink "/sys/class/net/$1/device/driver" | sed 's|.*/||'; }

# net_failover: the primary carries the traffic when it runs with carrier.
failover_active() {
	s=
	for l in /sys/class/net/"$fo"/lower_*; do
		[ -e "$l" ] || continue
		n=${l##*/lower_}
		if [ "$(driver_of "$n")" = virtio_net ]; then
			s=$n
		elif [ "$(cat "/sys/class/net/$n/carrier" 2>/dev/null)" = 1 ]; then
			echo "$n"
			return
		fi
	done
	echo "$s"
}

last=-
while :; do
	a=
	if [ -e /sys/class/net/vfo0/bonding/active_slave ]; then
		read -r a </sys/class/net/vfo0/bonding/active_slave
	elif [ -n "$fo" ]; then
		a=$(failover_active)
	fi
	if [ "$a" != "$last" ]; then
		d=none
		[ -n "$a" ] && d=$(driver_of "$a")
		read -r u _ </proc/uptime
		log "VFO-ACTIVE $u ${a:-none} ${d:-none}"
		last=$a
	fi
	usleep 50000
done
