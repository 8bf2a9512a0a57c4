#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-probe's accounting, on loopback (no VM, no root): an echo outage in
# the middle phase must be charged to that phase only, as lost probes and
# as its longest gap; the JSON line and the status file must be well formed;
# the stop file and SIGTERM must both end a run with a report; bad options
# are refused. Also checks vfo-qmp refuses bad usage and a dead socket.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../tools" && pwd)
T=$(mktemp -d /tmp/vfo-tools-selftest.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

PROBE=${VFO_PROBE:-}
QMP=${VFO_QMP:-}
if [ -z "$PROBE" ] || [ -z "$QMP" ]; then
	command -v gcc >/dev/null || fail "no gcc and no VFO_PROBE/VFO_QMP"
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$T/vfo-probe" "$SRC/vfo-probe.c" || fail "build vfo-probe"
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$T/vfo-qmp" "$SRC/vfo-qmp.c" || fail "build vfo-qmp"
	PROBE=$T/vfo-probe QMP=$T/vfo-qmp
fi
PORT=$((20000 + RANDOM % 20000))

get() { # get FIELD [PHASE]
	local j
	j=$(cat "$T/out.json")
	if [ -n "${2:-}" ]; then j=$(grep -o "{\"name\":\"$2\"[^}]*}" <<<"$j"); else j=${j%%\"phases\"*}; fi
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$j"
}

"$PROBE" echo --port $PORT --bind 127.0.0.1 2>/dev/null &
E=$!
sleep 0.2
"$PROBE" send --to 127.0.0.1 --port $PORT --json --phase-file "$T/ph" \
	--stop-file "$T/stop" --status-file "$T/st" >"$T/out.json" 2>"$T/out.txt" &
S=$!
sleep 0.6
"$PROBE" phase --phase-file "$T/ph" outage || fail "phase subcommand"
kill $E; wait $E 2>/dev/null
sleep 0.4
"$PROBE" echo --port $PORT --bind 127.0.0.1 2>/dev/null &
E=$!
sleep 0.1
echo "$(date +%s.%N) back" >>"$T/ph"
sleep 0.6
grep -q '"received":[1-9]' "$T/st" || fail "status file: $(cat "$T/st")"
touch "$T/stop"
wait $S || fail "sender exit status"
[ "$(wc -l <"$T/out.json")" = 1 ] || fail "JSON is not one line"
sent=$(get sent) recv=$(get received) lost=$(get lost)
[ "$sent" -ge 150 ] || fail "sent $sent"
[ $((sent - recv)) = "$lost" ] || fail "lost $lost != sent $sent - received $recv"
[ "$(get lost start)" = 0 ] || fail "start phase lost $(get lost start)"
[ "$(get lost back)" = 0 ] || fail "back phase lost $(get lost back)"
[ "$(get lost outage)" -ge 20 ] || fail "outage lost only $(get lost outage)"
[ "$(get lost outage)" = "$lost" ] || fail "loss charged outside the outage"
gap=$(get max_gap_ms outage)
awk -v g="$gap" 'BEGIN { exit !(g >= 300 && g < 1500) }' || fail "outage gap $gap ms"
awk -v g="$(get max_gap_ms start)" 'BEGIN { exit !(g < 200) }' || fail "start gap"
grep -q 'phase outage' "$T/out.txt" || fail "human summary"
outage_lost=$(get lost outage)

# SIGTERM ends a run with a report too.
"$PROBE" send --to 127.0.0.1 --port $PORT --json --linger-ms 50 >"$T/out.json" 2>/dev/null &
S=$!
sleep 0.3
kill -TERM $S
wait $S || fail "SIGTERM exit status"
[ "$(get lost)" = 0 ] || fail "SIGTERM run lost $(get lost)"
[ "$(get sent)" -ge 10 ] || fail "SIGTERM run sent $(get sent)"

# Bad usage is refused with status 2.
"$PROBE" send --to nowhere --port 1 2>/dev/null; [ $? = 2 ] || fail "bad address accepted"
"$PROBE" send --to 127.0.0.1 --port 0 2>/dev/null; [ $? = 2 ] || fail "port 0 accepted"
"$PROBE" send --to 127.0.0.1 --port 1 --interval-ms x 2>/dev/null; [ $? = 2 ] || fail "bad interval accepted"
"$PROBE" bogus 2>/dev/null; [ $? = 2 ] || fail "unknown subcommand accepted"
"$QMP" 2>/dev/null; [ $? = 2 ] || fail "vfo-qmp without socket accepted"
"$QMP" --socket "$T/none.sock" query-status 2>/dev/null; [ $? = 4 ] || fail "vfo-qmp dead socket"
echo "PASS: tools-selftest (sent $sent, outage lost $outage_lost, gap $gap ms)"
