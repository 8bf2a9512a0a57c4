#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd with IPv6: the standby has, before the agent starts, a static
# global IPv6 address (fd77::2/64, DAD done) and an IPv6 default route via
# the peer (fd77::1), next to its IPv4 address and default route. On its
# first takeover the agent must move both families onto the bond, default
# routes included; IPv6 traffic from the peer namespace (ping -6) and from
# the guest through its default route works; after a coordinated
# vf-leaving and after a surprise unplug the peer namespace captures an
# unsolicited neighbour advertisement (no "solicited" flag, override set)
# for the guest's address (tcpdump in the peer namespace).
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

IP6=fd77::2
GW6=fd77::1
FAR6=fd78::1 # off-link, on the peer's lo: reached through the default route
IP2=$(command -v ip)
PING="/bin/busybox ping" # iputils may be absent; busybox-static is required

command -v tcpdump >/dev/null || vm_skip "no tcpdump (apt-get install tcpdump)"
vm_init guest-ipv6 "${VFO_VM_TIMEOUT:-300}"
vm_net_setup 1
ip -n "$VM_NS_P" addr add "$GW6/64" dev eth0 nodad || vm_fail "peer IPv6 address"
ip -n "$VM_NS_P" addr add "$FAR6/128" dev lo || vm_fail "peer far address"
gd_boot --pairs 1 --env "GD_IP6=$IP6/64" --env "GD_GW6=$GW6" --prog "$IP2:/usr/sbin/ip2"
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 30 || gd_fail "the VF never became active"
SB=$(gd_field 0 .standby)
BOND=$(gd_field 0 .bond)

# Both families, addresses and default routes, on the bond; none left on
# the standby.
addrs=$(vm_guest "/usr/sbin/ip2 -o addr show dev $BOND" | tr -d '\r')
vm_log "on $BOND: $(awk '{ print $3, $4 }' <<<"$addrs" | tr '\n' ' ')"
grep -q "inet 10.77.0.2/24" <<<"$addrs" || gd_fail "IPv4 address not on $BOND"
grep -q "inet6 $IP6/64" <<<"$addrs" || gd_fail "IPv6 address not on $BOND"
grep -q "tentative\|dadfailed" <<<"$(grep "inet6 $IP6" <<<"$addrs")" &&
	gd_fail "the moved IPv6 address is not usable (DAD)"
left=$(vm_guest "/usr/sbin/ip2 -o addr show dev $SB" | tr -d '\r')
grep -qE "inet 10\.77|inet6 fd77" <<<"$left" && gd_fail "addresses left on the standby: $left"
r6=$(vm_guest "/usr/sbin/ip2 -6 route show default" | tr -d '\r')
r4=$(vm_guest "/usr/sbin/ip2 route show default" | tr -d '\r')
vm_log "default routes: $r4 / $r6"
grep -q "default via $GW6 dev $BOND" <<<"$r6" || gd_fail "IPv6 default route not on $BOND: $r6"
grep -q "default via 10.77.0.1 dev $BOND" <<<"$r4" || gd_fail "IPv4 default route not on $BOND: $r4"
gd_agent_log
grep "moved" "$VM_DIR/guestd.log" >&2

# IPv6 traffic: from the peer, and from the guest through the default
# route to an address that is not on the link.
vm_peer $PING -6 -c 5 -i 0.2 -W 3 "$IP6" >&2 || gd_fail "ping -6 from the peer failed"
vm_guest "ping -6 -c 3 -W 3 $FAR6 >/dev/null" 30 ||
	gd_fail "the guest cannot reach $FAR6 through its IPv6 default route"
vm_guest "ping -c 3 -W 3 10.77.0.1 >/dev/null" 30 || gd_fail "IPv4 ping from the guest failed"

# capture NAME: unsolicited NAs seen by the peer, in the background.
capture()
{
	ip netns exec "$VM_NS_P" tcpdump -i eth0 -n -l -v 'icmp6 and ip6[40] == 136' \
		>"$VM_DIR/na-$1.txt" 2>"$VM_DIR/na-$1.err" &
	CAP_PID=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$VM_DIR/na-$1.err" 2>/dev/null && return 0
		sleep 0.1
	done
	gd_fail "tcpdump did not start: $(cat "$VM_DIR/na-$1.err")"
}
# unsolicited NAME: how many unsolicited NAs (override, not solicited)
# for the guest's address the capture holds, once it is stopped.
unsolicited()
{
	sleep 1.5
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	grep -c "tgt is $IP6, Flags \[override\]" "$VM_DIR/na-$1.txt"
}

probe_phase p leave
capture leave
ack=$(gd_chan "{\"id\":2,\"cmd\":\"vf-leaving\",\"args\":{\"mac\":\"$(vm_mac 0)\"}}")
[ "$(jq -r '.result.pairs[0].result' <<<"$ack")" = standby ] || gd_fail "vf-leaving: $ack"
n_leave=$(unsolicited leave)
vm_log "unsolicited NAs for $IP6 after vf-leaving: $n_leave"
[ "$n_leave" -ge 1 ] || { cat "$VM_DIR/na-leave.txt" >&2; gd_fail "no unsolicited NA after vf-leaving"; }
vm_unplug vf0
probe_wait_flowing p 100 20 || gd_fail "traffic stopped after the unplug"

probe_phase p replug
vm_plug_vf 0 vf0b
gd_wait_role 0 vf 60 || gd_fail "the new VF never became active"
vm_peer $PING -6 -c 3 -i 0.2 -W 3 "$IP6" >/dev/null || gd_fail "ping -6 failed on the new VF"

probe_phase p surprise
capture surprise
vm_unplug vf0b
gd_wait_role 0 standby 10 || gd_fail "not on the standby after the surprise unplug"
n_surprise=$(unsolicited surprise)
vm_log "unsolicited NAs for $IP6 after the surprise unplug: $n_surprise"
[ "$n_surprise" -ge 1 ] ||
	{ cat "$VM_DIR/na-surprise.txt" >&2; gd_fail "no unsolicited NA after the surprise unplug"; }
vm_peer $PING -6 -c 3 -i 0.2 -W 3 "$IP6" >/dev/null || gd_fail "ping -6 failed on the standby"
probe_wait_flowing p 100 20 || gd_fail "IPv4 traffic stopped after the surprise unplug"
r6=$(vm_guest "/usr/sbin/ip2 -6 route show default" | tr -d '\r')
grep -q "default via $GW6 dev $BOND" <<<"$r6" || gd_fail "IPv6 default route lost: $r6"
probe_stop p
echo "RESULT guest-ipv6: v4+v6 addresses and default routes on $BOND; unsolicited NAs:" \
	"$n_leave after vf-leaving, $n_surprise after the surprise unplug;" \
	"lost leave $(probe_get p lost leave), surprise $(probe_get p lost surprise); total $(vm_elapsed)"
vm_stop
vm_pass
