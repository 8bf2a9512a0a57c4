#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd scenario g (hostile host channel): from the host side of
# org.vfo.guest.0 send random bytes, invalid JSON, lines over the 4096-byte
# limit, requests with bad arguments, unknown commands (and the control
# socket's "failover", which the channel must not offer), a line cut by a
# disconnect, rapid reconnects and a flood of requests. The agent answers
# errors or drops the peer, and keeps serving: a valid request is still
# answered in the same connection and afterwards; it never restarts; the
# bond is untouched (no switch, no carrier change, VF still active); the
# probes keep flowing with zero loss; and once it is over the agent sleeps
# (no CPU time, no wake-ups: it does not spin on a dropped port).
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-hostile "${VFO_VM_TIMEOUT:-150}"
vm_net_setup 1
gd_boot --pairs 1
MAC=$(vm_mac 0)
SOCK=$VM_DIR/guest0.sock
probe_start p "$(vm_guest_ip 0)"
probe_wait_flowing p 50 30 || gd_fail "no probe echoes from the guest"
gd_wait_role 0 vf 30 || gd_fail "the VF never became active"
st0=$(gd_status)
VF=$(jq -r '.result.pairs[0].vf' <<<"$st0")
SB=$(jq -r '.result.pairs[0].standby' <<<"$st0")
PID0=$(vm_guest 'cat /tmp/guestd.pid' | tr -d '\r')
links() { vm_guest "cat /sys/class/net/vfo0/carrier_changes /sys/class/net/$VF/carrier_changes /sys/class/net/$SB/carrier_changes | tr '\n' ' '" | tr -d '\r'; }
cc0=$(links)

# hostile NAME WANT_ID [vfo-sock args...]: send, keep the replies in
# $VM_DIR/hostile-NAME.out; the request with id WANT_ID, sent last, must
# get a result: the agent still serves this connection.
hostile()
{
	local name=$1 id=$2 out=$VM_DIR/hostile-$1.out

	shift 2
	"$VFO_SOCK" "$@" >"$out" 2>>"$VM_DIR/vfo-sock.log"
	if [ "$id" != - ] && ! grep -q "\"id\":$id,\"result\"" "$out"; then
		head -c 600 "$out" >&2
		gd_fail "$name: no answer to the valid request (id $id) that followed"
	fi
	vm_log "$name: $(wc -l <"$out") replies, $(grep -c '"error"' "$out") errors;" \
		"codes: $(grep -o '"code":"[a-z-]*"' "$out" | sort | uniq -c | tr -s ' \n' ' ')"
}
errors() { grep -c "\"code\":\"$2\"" "$VM_DIR/hostile-$1.out"; }

probe_phase p hostile
hello='{"id":1,"cmd":"hello","args":{"version":1}}'
hostile hello 1 -w 5 "$SOCK" "$hello"

# Random bytes (NULs, bad UTF-8, stray newlines), then a valid request.
{ head -c 3000 /dev/urandom; printf '\n{"id":11,"cmd":"status"}\n'; } |
	hostile garbage 11 -n 0 -w 2 "$SOCK" -

# JSON that is not a request, and requests that are not well formed.
hostile badjson 12 -n 12 -w 5 "$SOCK" \
	'{' '{"id":1,"cmd":' '[1,2,3]' '"status"' 'null' '{"id":{},"cmd":"status"}' \
	'{"id":2,"cmd":7}' '{"id":3}' '{"cmd":"status","id":4,"args":"x"}' \
	"$(printf '{"id":5,"cmd":"st\\u0000atus"}')" $'\xff\xfe{"id":6}' \
	'{"id":12,"cmd":"status"}'
[ "$(grep -c '"error"' "$VM_DIR/hostile-badjson.out")" -ge 9 ] ||
	gd_fail "badjson: too few error replies"

# Lines over the limit: 5000 bytes of nothing, 200 kB of valid JSON.
{
	head -c 5000 /dev/zero | tr '\0' A; echo
	printf '{"id":20,"cmd":"vf-leaving","args":{"mac":"%s","pad":"' "$MAC"
	head -c 200000 /dev/zero | tr '\0' B; printf '"}}\n'
	echo '{"id":21,"cmd":"status"}'
} | hostile oversized 21 -n 3 -w 5 "$SOCK" -
[ "$(errors oversized too-long)" = 2 ] || gd_fail "oversized: want two too-long errors"
grep -q '"id":20' "$VM_DIR/hostile-oversized.out" && gd_fail "oversized: the cut request was run"

# Bad arguments and unknown commands; each must get its error, none acts.
# (Extra arguments next to valid ones are accepted on purpose: a newer host
# may send more; so a well-formed vf-leaving is not hostile and not here.)
hostile badargs 39 -n 14 -w 5 "$SOCK" \
	'{"id":30,"cmd":"vf-leaving","args":{"mac":"not-a-mac"}}' \
	'{"id":31,"cmd":"vf-leaving","args":{"mac":12}}' \
	'{"id":32,"cmd":"vf-leaving","args":{"mac":"52:54:00:00:00:99"}}' \
	'{"id":33,"cmd":"vf-leaving","args":[1]}' \
	'{"id":34,"cmd":"vf-leaving","args":{"mac":"00:00:00:00:00:00"}}' \
	'{"id":35,"cmd":"vf-arriving","args":{"mac":"zz:zz:zz:zz:zz:zz"}}' \
	'{"id":36,"cmd":"hello","args":{"version":"x"}}' \
	'{"id":37,"cmd":"hello","args":{"version":-5}}' \
	'{"id":40,"cmd":"reboot"}' '{"id":41,"cmd":""}' '{"id":42,"cmd":"../../etc/passwd"}' \
	'{"id":43,"cmd":"failover","args":{"to":"vf"}}' \
	'{"id":44,"cmd":"failover","args":{"to":"standby"}}' \
	'{"id":39,"cmd":"status"}'
for id in 30 31 32 33 34 35 36 37 40 41 42 43 44; do
	grep -q "\"id\":$id,\"error\"" "$VM_DIR/hostile-badargs.out" ||
		gd_fail "badargs: request $id got no error"
done
[ "$(errors badargs unknown-command)" = 4 ] ||
	gd_fail "badargs: want 4 unknown-command errors (failover is not a channel command)"

# A request cut by a disconnect must not be glued to the next connection's.
hostile cut - -r -n 0 -w 0.5 "$SOCK" '{"id":50,"cmd":"vf-lea'
hostile aftercut 51 -n 2 -w 5 "$SOCK" 'ving","args":{}}' '{"id":51,"cmd":"status"}'
grep -q '"id":50' "$VM_DIR/hostile-aftercut.out" && gd_fail "aftercut: a request spanned two connections"
# A host that leaves before its replies are out (they can never go): it
# sends 40 requests and hangs up after the first reply. The agent must
# drop what it queued and wait for the next host, not spin on the port.
# (virtio-serial is one byte stream: a later host may still be handed a
# reply for an earlier one, which is why replies carry the request's id
# and why the next exchange looks for its own.)
hostile leave - -n 1 -w 5 "$SOCK" $(for i in $(seq 40); do echo '{"id":52,"cmd":"status"}'; done)
sleep 1
hostile afterleave 53 -u '"id":53,' -w 5 "$SOCK" '{"id":53,"cmd":"status"}'
vm_guest "grep 'host left with' /tmp/guestd.log" >&2 ||
	gd_fail "the agent did not notice a host that left before its replies"

# Rapid reconnects.
for i in $(seq 20); do "$VFO_SOCK" -n 0 -w 0 "$SOCK" 2>/dev/null; done
hostile reconnect 60 -w 5 "$SOCK" '{"id":60,"cmd":"status"}'

# A flood: 3000 requests at once. Budget 50 at once then 20/s; past 200
# dropped lines the agent hangs up, then reopens the port.
for i in $(seq 3000); do echo '{"id":70,"cmd":"status"}'; done |
	hostile flood - -n 0 -w 4 "$SOCK" -
[ "$(grep -c '"result"' "$VM_DIR/hostile-flood.out")" -le 100 ] ||
	gd_fail "flood: the rate limit did not hold"
[ "$(errors flood rate-limited)" -ge 1 ] || gd_fail "flood: no rate-limited error"
# Served again once it has reopened the port (1 s after dropping the peer).
ok=0
for i in $(seq 10); do
	r=$(GD_CHAN_WAIT=2 gd_chan '{"id":80,"cmd":"hello","args":{"version":1}}')
	grep -q '"id":80,"result"' <<<"$r" && { ok=1; break; }
	sleep 0.5
done
[ "$ok" = 1 ] || gd_fail "the agent does not answer on the channel after the flood"
vm_log "after the flood: $r"
vm_guest "grep -E 'dropped|host left' /tmp/guestd.log" >&2
[ "$(gd_status | jq -r '.result.channel_stats.dropped')" -ge 1 ] ||
	gd_fail "the flood did not make the agent hang up"
[ "$(jq -r '.result.pairs[0].mac' <<<"$r")" = "$MAC" ] || gd_fail "hello after the flood is wrong"

# Nothing moved.
probe_phase p after
gd_agent_alive || gd_fail "the agent died"
[ "$(vm_guest 'cat /tmp/guestd.pid' | tr -d '\r')" = "$PID0" ] || gd_fail "the agent was restarted"
st=$(gd_status)
vm_log "status: $(jq -c '.result | {channel, pairs: [.pairs[0] | {active_role, state, counters}]}' <<<"$st")"
for f in .counters.switches .counters.leaves .counters.flaps .state .active_role .vf; do
	[ "$(jq -r ".result.pairs[0]$f" <<<"$st")" = "$(jq -r ".result.pairs[0]$f" <<<"$st0")" ] ||
		gd_fail "$f changed: $(jq -r ".result.pairs[0]$f" <<<"$st0") -> $(jq -r ".result.pairs[0]$f" <<<"$st")"
done
[ "$(vm_guest 'cat /sys/class/net/vfo0/bonding/active_slave' | tr -d '\r ')" = "$VF" ] ||
	gd_fail "the kernel's active slave is no longer $VF"
cc1=$(links)
[ "$cc0" = "$cc1" ] || gd_fail "carrier changes moved: $cc0 -> $cc1"
gd_carries "$VF" "$SB" || gd_fail "the VF does not carry the probes"

# Idle again: no CPU and no wake-ups over 3 s (the host side is closed).
cpu() { vm_guest "cut -d' ' -f14,15 /proc/$PID0/stat" | tr -d '\r' | awk '{ print $1 + $2 }'; }
c0=$(cpu); x0=$(gd_proc voluntary_ctxt_switches nonvoluntary_ctxt_switches)
sleep 3
c1=$(cpu); x1=$(gd_proc voluntary_ctxt_switches nonvoluntary_ctxt_switches)
vm_log "idle 3 s: cpu ticks $c0 -> $c1, ctxt switches '$x0' -> '$x1'"
[ $((c1 - c0)) -le 2 ] || gd_fail "the agent burns CPU after the hostile input"
[ "$x0" = "$x1" ] || gd_fail "the agent wakes up while idle"

probe_stop p
lh=$(probe_get p lost hostile); la=$(probe_get p lost after)
echo "RESULT guest-hostile: agent served throughout, no switch, no carrier change;" \
	"lost $lh probes during the hostile input (max gap $(probe_get p max_gap_ms hostile)ms), $la after;" \
	"total $(vm_elapsed)"
[ "${lh:-999}" = 0 ] || gd_fail "lost $lh probes during the hostile input"
[ "${la:-999}" = 0 ] || gd_fail "lost $la probes after the hostile input"
vm_stop
vm_pass
