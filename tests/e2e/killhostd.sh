#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfo-hostd killed (SIGKILL) in the middle of a managed migration, then
# restarted: it takes up the migration from its state file and libvirt's
# view and finishes it (or rolls it back). Three legs on one guest:
#   src-detaching   A -> B, hostA's daemon killed while it unplugs the VF
#   dst-early       B -> A, the destination's daemon (hostA) killed before
#                   the domain arrives there (before "attaching")
#   src-migrating   A -> B, hostA's daemon killed while QEMU migrates
# After each: the domain runs on exactly one host, with the VF there and
# only there, both pools agree (no VF leaked or assigned twice) and the
# guest's bond is back on the VF.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_bed_up
e2e_guest_up novf agent
e2e_expect_pool A "1 0 1"
e2e_probe_start
sleep 2

# usage: kill_when WATCH-HOST STATE VICTIM T0: SIGKILL VICTIM's vfo-hostd
# as soon as WATCH-HOST's migration reaches STATE.
kill_when() {
	local i
	for i in $(seq 1500); do
		if [ -n "$(e2e_event_time "$1" "$2" "$4")" ]; then
			e2e_hostd_stop "$3" KILL
			e2e_log "killed hostd on host$3 at $1's '$2'"
			return 0
		fi
		sleep 0.02
	done
	e2e_die "host$1 never reached '$2'"
}

# The end state of a leg: g1 on exactly one host, with the VF there and
# only there; sets ON to that host.
settled() {
	local p=$1 n=$2 off i a b
	# Let whatever the restarted daemon took up come to its end.
	for i in $(seq 300); do
		a=$(e2e_dom_field A g1 migration)
		b=$(e2e_dom_field B g1 migration)
		if [ "${a:-none}" = none ] && [ "${b:-none}" = none ] &&
			{ e2e_running A g1 || e2e_running B g1; }; then
			break
		fi
		sleep 0.2
	done
	ON=A
	off=B
	if e2e_running B g1; then
		ON=B
		off=A
	fi
	e2e_running "$ON" g1 || e2e_die "$p: g1 runs nowhere"
	! e2e_running "$off" g1 || e2e_die "$p: g1 runs on both hosts"
	e2e_expect_vf "$ON" g1 yes 20
	e2e_expect_pool "$ON" "1 0 1" 20
	e2e_expect_pool "$off" "2 0 0" 20
	e2e_expect_mode "$ON" g1 vf 20
	[ -z "$(e2e_dom_field "$off" g1 mode)" ] || e2e_die "$p: host$off still follows g1"
	[ "$(e2e_dom_field "$ON" g1 migration)" = none ] ||
		e2e_die "$p: host$ON still in migration '$(e2e_dom_field "$ON" g1 migration)'"
	e2e_wait_active g1 e1000e 30 "$n"
	e2e_log "$p: settled on host$ON, $(e2e_standby_time g1 "$n") s on the standby"
	sleep 1
	e2e_phase "$p-after"
}

# usage: leg P SRC DST STATE VICTIM now|later: migrate SRC -> DST, SIGKILL
# VICTIM's vfo-hostd when SRC's migration reaches STATE, restart it at once
# (now) or once vfoctl migrate is over (later), check the end state.
leg() {
	local p=$1 src=$2 dst=$3 st=$4 victim=$5 when=$6 n rc=0 pid
	n=$(e2e_active_count g1)
	E2E_MIG_T0=$EPOCHREALTIME
	e2e_phase "$p"
	e2e_log "$p: migrate g1 host$src -> host$dst; kill host$victim's daemon at '$st'"
	e2e_vfoctl "$src" migrate g1 "$(e2e_tcp_uri "$dst")" --mig-timeout 60 \
		>"$E2E_DIR/$p.out" 2>&1 &
	pid=$!
	kill_when "$src" "$st" "$victim" "$E2E_MIG_T0"
	if [ "$when" = now ]; then
		e2e_hostd_start "$victim"
		e2e_log "$p: hostd on host$victim restarted"
	fi
	wait "$pid" || rc=$?
	sed 's/^/    /' "$E2E_DIR/$p.out" >&2
	e2e_log "$p: vfoctl migrate exited $rc"
	if [ "$when" = later ]; then
		sleep 1
		e2e_hostd_start "$victim"
		e2e_log "$p: hostd on host$victim restarted"
	fi
	e2e_events_start "$victim"
	settled "$p" "$n"
}

other() { [ "$1" = A ] && echo B || echo A; }

ON=A
leg src-detaching A B detaching A now
grep -q "resuming migration in state detaching" "$E2E_DIR/hostA/hostd.log" ||
	e2e_die "hostA did not resume its migration in state detaching"
e2e_log "src-detaching: ended on host$ON"

src=$ON
dst=$(other "$src")
leg dst-early "$src" "$dst" migrating "$dst" later
[ "$ON" = "$dst" ] || e2e_die "dst-early: the migration did not complete"

src=$ON
dst=$(other "$src")
leg src-migrating "$src" "$dst" migrating "$src" now
[ "$ON" = "$dst" ] || e2e_die "src-migrating: the migration did not complete"
# Restarted while QEMU still migrated, the daemon follows the job to its
# end; restarted after it, it finds the domain gone and frees its VF.
if grep -q "resuming migration in state migrating" "$E2E_DIR/host$src/hostd.log"; then
	e2e_log "src-migrating: host$src resumed the running migration"
elif grep -q "saved migration (migrating) no longer applies" "$E2E_DIR/host$src/hostd.log"; then
	e2e_log "src-migrating: the migration was over when host$src's daemon came back"
else
	e2e_die "host$src did not take up its saved migration"
fi

e2e_probe_stop
grep VFO-ACTIVE "$E2E_DIR/g1.console.log" | tr -d '\r'
for ph in src-detaching dst-early src-migrating; do
	e2e_log "$(e2e_loss "$ph")"
done
e2e_log "PASS"
