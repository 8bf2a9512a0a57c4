#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-guestd's Type=notify protocol, without systemd: a unix datagram
# socket in the guest (tests/tools/vfo-sock -l) stands in for systemd's
# notification socket; the agent is started with NOTIFY_SOCKET pointing at
# it. READY=1 must arrive, and only once the pair's bond exists and holds
# the standby (the listener reads the bond's slave list the moment each
# message arrives); STATUS= must describe the pair. Needs a vfo-guestd
# built with libsystemd (skipped otherwise: the notifications are no-ops).
set -uo pipefail
. "$(dirname "$0")/guest-common.sh"

vm_init guest-notify "${VFO_VM_TIMEOUT:-240}"
gd_find_binary
libs=$(ldd "$GD_BIN" 2>/dev/null) # not piped into grep -q: pipefail
grep -q libsystemd <<<"$libs" ||
	vm_skip "$GD_BIN is built without libsystemd (configure found no libsystemd-dev)"
vm_net_setup 1
gd_boot --pairs 1 --env GD_NO_AGENT=1 --prog "$VFO_SOCK:/usr/bin/vfo-sock"
SB=$(grep -a '^VFO-STANDBY' "$VM_DIR/console.log" | tr -d '\r' | awk '{ print $2 }' | head -1)
[ -n "$SB" ] || gd_fail "no standby configured"
vm_guest "test -e /sys/class/net/vfo0" && gd_fail "a bond exists before the agent runs"

vm_guest "{ ( vfo-sock -l -w 90 -u READY=1 -s /sys/class/net/vfo0/bonding/slaves \
	/run/notify.sock >/tmp/notify.log 2>&1; echo \"EXIT \$?\" >>/tmp/notify.log ) & }"
t=0
until vm_guest "test -S /run/notify.sock"; do
	t=$((t + 1)); [ $t -gt 50 ] && gd_fail "the listener did not start"
	sleep 0.2
done
vm_guest "NOTIFY_SOCKET=/run/notify.sock vfo-guestd -f -d >>/tmp/guestd.log 2>&1 & echo \$! >/tmp/guestd.pid"
t=0
until vm_guest "grep -q '^EXIT' /tmp/notify.log"; do
	t=$((t + 1)); [ $t -gt 120 ] && gd_fail "no READY=1 within 60 s: $(vm_guest 'cat /tmp/notify.log')"
	sleep 0.5
done
log=$(vm_guest "cat /tmp/notify.log" | tr -d '\r')
vm_log "notifications:"
echo "$log" | sed 's/^/    /' >&2
grep -q '^EXIT 0$' <<<"$log" || gd_fail "the listener saw no READY=1"
# The first READY=1 and what the bond held at that moment.
ready=$(grep -n '^DATAGRAM .*READY=1' <<<"$log" | head -1 | cut -d: -f1)
snap=$(sed -n "$((ready + 1))p" <<<"$log")
vm_log "bond slaves when READY=1 arrived: $snap"
case $snap in
"SNAPSHOT "*) ;;
*) gd_fail "the bond did not exist when READY=1 was sent ($snap)" ;;
esac
grep -qw "$SB" <<<"${snap#SNAPSHOT }" || gd_fail "the bond did not hold the standby $SB at READY=1"
# Nothing claimed readiness earlier: READY=1 is sent once, after setup.
[ "$(grep -c 'READY=1' <<<"$log")" = 1 ] || gd_fail "READY=1 sent more than once"
grep -q '^DATAGRAM STATUS=1 pair: vfo0 ' <<<"$log" || gd_fail "no STATUS= describing the pair"
gd_agent_alive || gd_fail "the agent died"
gd_wait_role 0 vf 40 || gd_fail "the VF never became active"
echo "RESULT guest-notify: READY=1 with the bond holding [${snap#SNAPSHOT }]; total $(vm_elapsed)"
vm_stop
vm_pass
