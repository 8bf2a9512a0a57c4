#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench-migrate: live migrations between the two hosts of tests/e2e, with
# 10 ms UDP probes from the peer, in four modes, all in one run:
#
#   vfo        vfo-hostd on both hosts, vfo-guestd in the guest, `vfoctl
#              migrate`: coordinated unplug, migration, replug
#   plainbond  what Nova and KubeVirt do: a script detaches the VF through
#              libvirt, waits for it to go, migrates, attaches a new VF on
#              the destination; the guest has a plain active-backup bond
#   failover   the kernel's net_failover: QEMU failover=on pairs the VF
#              with the standby and unplugs it itself (libvirt <teaming>)
#   virtio     no VF at all: the floor every mode is compared with
#
# Per mode and phase (unplug, migration, replug): median and max probes
# lost and longest gap; time on the standby; total migration time; the
# delay from the domain running on the destination to its new VF being
# plugged; and ratios to virtio-only. It prints figures: it asserts nothing
# about them (the machine is shared and noisy).
#
# Every time is taken on the host's clock, from stamped traces of both
# hosts' libvirt events and vfo-hostd logs and of the guest's console
# (e2e_trace_start): the guest's own clock stops while the migration has
# it paused, so it would hide the downtime. The same definitions for
# every mode:
#   phases     unplug: from the start to the migration call (vfo: its
#              "migrating" step); migration: the call until the domain
#              RESUMED on the destination; replug: from RESUMED on. A
#              probe belongs to the phase it was sent in.
#   migration  the migration call as the orchestrator sees it: vfo's
#              "migrating" to "releasing" steps, `virsh migrate` for the
#              others (both end after libvirt's confirm, a little after
#              RESUMED)
#   standby    the guest's watcher seeing its bond go to the standby, to
#              seeing it back on a VF (both ends seen the same way)
#   link-up    the new VF plugged (libvirt's device-added on the
#              destination; net_failover, whose VF QEMU plugs by itself:
#              the guest seeing the NIC) to the guest seeing its carrier:
#              hot-plug, driver probe and link negotiation, what a VF
#              costs whoever plugs it
#   VF plugged after: RESUMED to device-added
#   total      the start to the bond back on a VF, as the bench sees it
# The target: standby <= migration + link-up + 0.5 s; whatever vfo adds
# (the coordinated unplug, waits, the guest's hold-down) must fit in the
# 0.5 s. BENCH_TIMELINE=1 prints each vfo migration step by step.
#
# BENCH_RUNS (default 5) migrations per mode; BENCH_MODES to pick modes;
# BENCH_DEMO=1 prints only the per-migration table (the README's demo).
. "$(dirname "$0")/../e2e/lib.sh"

RUNS=${BENCH_RUNS:-5}
MODES=${BENCH_MODES:-"virtio vfo plainbond failover"}
MAC=52:54:00:77:00:10
RES=$(mktemp -d "${TMPDIR:-/tmp}/vfo-bench.XXXXXX")

now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

vf_xml() {
	cat <<EOF
<interface type='bridge'>
  <mac address='$MAC'/>
  <source bridge='$E2E_BR'/>
  <model type='e1000e'/>
  <alias name='ua-vfo-net0'/>
</interface>
EOF
}

# The domain for a mode: the e2e guest, told its mode on the command line.
# Only the vfo mode carries vfo's metadata: the baselines run without vfo.
domain_xml() {
	local mode=$1 vf=novf
	[ "$mode" = plainbond ] || [ "$mode" = failover ] && vf=vf
	e2e_domain_xml g1 "$MAC" "$vf" |
		sed "s|vfo.ip=|vfo.mode=$mode vfo.ip=|" >"$E2E_DIR/g1.xml"
	[ "$mode" = vfo ] || sed -i '/<metadata>/,/<\/metadata>/d' "$E2E_DIR/g1.xml"
	if [ "$mode" = failover ]; then
		# net_failover: the standby negotiates VIRTIO_NET_F_STANDBY
		# (<teaming type='persistent'/>) and the stand-in VF is its
		# failover primary. libvirt 9.0 allows <teaming
		# type='transient'> only on a hostdev, so the pair is set with
		# QEMU's failover_pair_id through qemu:override.
		sed -i "s|<alias name='ua-standby0'/>|<alias name='ua-standby0'/><teaming type='persistent'/>|" \
			"$E2E_DIR/g1.xml"
		# No option ROM on the primary: the destination keeps it hidden
		# until the guest negotiates, so a ROM ramblock would not match.
		sed -i "s|<alias name='ua-vfo-net0'/>|<alias name='ua-vfo-net0'/><rom enabled='no'/>|" \
			"$E2E_DIR/g1.xml"
		sed -i "s|</devices>|</devices><qemu:override><qemu:device alias='ua-vfo-net0'><qemu:frontend><qemu:property name='failover_pair_id' type='string' value='ua-standby0'/></qemu:frontend></qemu:device></qemu:override>|" \
			"$E2E_DIR/g1.xml"
	fi
}

other() { [ "$1" = A ] && echo B || echo A; }

# Metrics of migration i (started at T0 from host SRC to DST) from the
# stamped traces, written to $RES/MODE.i; also marks the replug phase at
# RESUMED. Empty values are left out (the report shows "-").
trace_metrics() {
	local mode=$1 src=$2 dst=$3 i=$4 t0=$5 c=$E2E_DIR/g1.console.stamped
	local res plug sb0 sb1 car
	res=$(e2e_trace_time "$E2E_DIR/host$dst.virsh-events" "Resumed Migrated" "$t0")
	[ -n "$res" ] || return 0
	e2e_phase_at "replug-$i" "$res"
	[ "$mode" != virtio ] || return 0
	plug=$(e2e_trace_time "$E2E_DIR/host$dst.virsh-events" "'device-added'.*ua-vfo" "$res")
	[ -n "$plug" ] || plug=$(e2e_trace_time "$c" "VFO-NIC" "$res")
	sb0=$(e2e_trace_time "$c" "VFO-ACTIVE .* virtio_net" "$t0")
	[ -n "$sb0" ] && sb1=$(e2e_trace_time "$c" "VFO-ACTIVE .* e1000e" "$sb0")
	[ -n "$plug" ] && car=$(e2e_trace_time "$c" "VFO-CARRIER [0-9.]* [a-z0-9]* 1" "$plug")
	{
		[ -n "${sb1:-}" ] && echo "standby $(dt "$sb0" "$sb1")"
		[ -n "$plug" ] && echo "attach $(dt "$res" "$plug")"
		[ -n "${car:-}" ] && echo "linkup $(dt "$plug" "$car")"
	} >>"$RES/$mode.$i"
	return 0
}

# Poll host H until the domain's XML has (1) or lacks (0) its VF.
wait_vf() {
	local h=$1 want=$2 i
	for i in $(seq 400); do
		if e2e_has_vf "$h" g1; then [ "$want" = 1 ] && return 0; else [ "$want" = 0 ] && return 0; fi
		sleep 0.05
	done
	return 1
}

migrate_vfo() {
	local src=$1 dst=$2 i=$3 t0 t_mig=0 t
	t0=$(now)
	e2e_phase "unplug-$i"
	while read -r t _ state _; do
		case $state in
		migrating) t_mig=$t; e2e_phase "migration-$i" ;;
		releasing*) echo "migration $(dt "$t_mig" "$t")" >>"$RES/vfo.$i" ;;
		esac
	done < <(e2e_vfoctl "$src" migrate g1 "$(e2e_tcp_uri "$dst")" --mig-timeout 120)
	wait_vf "$dst" 1 || e2e_die "vfo: no VF on host$dst"
	e2e_wait_active g1 e1000e 30
	echo "total $(dt "$t0" "$(now)")" >>"$RES/vfo.$i"
}

migrate_plainbond() {
	local src=$1 dst=$2 i=$3 t0 t1
	t0=$(now)
	e2e_phase "unplug-$i"
	e2e_virsh "$src" detach-device-alias g1 ua-vfo-net0 --live >/dev/null
	wait_vf "$src" 0 || e2e_die "plainbond: VF not removed"
	e2e_phase "migration-$i"
	t1=$(now)
	e2e_virsh "$src" migrate --live --p2p g1 "$(e2e_tcp_uri "$dst")"
	echo "migration $(dt "$t1" "$(now)")" >>"$RES/plainbond.$i"
	vf_xml >"$E2E_DIR/vf.xml"
	e2e_virsh "$dst" attach-device g1 "$E2E_DIR/vf.xml" --live >/dev/null
	e2e_wait_active g1 e1000e 30
	echo "total $(dt "$t0" "$(now)")" >>"$RES/plainbond.$i"
}

migrate_plain() {
	local mode=$1 src=$2 dst=$3 i=$4 t0 n
	t0=$(now)
	n=$(e2e_active_count g1)
	e2e_phase "migration-$i"
	if ! e2e_virsh "$src" migrate --live --p2p g1 "$(e2e_tcp_uri "$dst")"; then
		echo "failed 1" >>"$RES/$mode.$i"
		e2e_log "$mode: migration $i failed"
		return 0
	fi
	echo "migration $(dt "$t0" "$(now)")" >>"$RES/$mode.$i"
	# The guest's watcher may not have seen QEMU take the primary away
	# yet: only a report after the migration's start counts.
	[ "$mode" = failover ] && e2e_wait_active g1 e1000e 60 "$n"
	echo "total $(dt "$t0" "$(now)")" >>"$RES/$mode.$i"
}

boot_guest() {
	: >"$E2E_DIR/g1.console.log"
	e2e_virsh A create "$E2E_DIR/g1.xml" >/dev/null
	e2e_wait_console g1 "VFO-GUEST: net up" 120
	[ "$1" = virtio ] || e2e_wait_active g1 e1000e 90
}

run_mode() {
	local mode=$1 src=A dst=B i t0
	e2e_log "mode $mode: boot"
	e2e_hostd_config A 2
	e2e_hostd_config B 2
	if [ "$mode" = vfo ]; then
		e2e_hostd_start A
		e2e_hostd_start B
	fi
	domain_xml "$mode"
	boot_guest "$mode"
	e2e_probe_start
	sleep 3
	for i in $(seq "$RUNS"); do
		if [ "$mode" = failover ] && [ "$i" -gt 1 ]; then
			# QEMU 7.2 cannot migrate a failover pair back: the
			# destination's primary comes up without its backend
			# ("netdev ... has no peer"). Each run starts afresh on A.
			e2e_phase "boot-$i"
			e2e_virsh A destroy g1 >/dev/null 2>&1 || true
			e2e_virsh B destroy g1 >/dev/null 2>&1 || true
			boot_guest "$mode"
			src=A
			dst=B
			sleep 2
		fi
		t0=$(now)
		case $mode in
		vfo) migrate_vfo "$src" "$dst" "$i" ;;
		plainbond) migrate_plainbond "$src" "$dst" "$i" ;;
		*) migrate_plain "$mode" "$src" "$dst" "$i" ;;
		esac
		sleep 2
		e2e_phase "steady-$i"
		trace_metrics "$mode" "$src" "$dst" "$i" "$t0"
		if [ "$mode" = vfo ] && [ "${BENCH_TIMELINE:-}" = 1 ]; then
			echo "vfo migration $i, host$src -> host$dst:" >>"$RES/timeline"
			e2e_timeline "$src" "$dst" "$t0" >>"$RES/timeline"
		fi
		sleep 1
		src=$dst
		dst=$(other "$src")
	done
	e2e_probe_stop
	printf '%s\n' "$E2E_PROBE_JSON" >"$RES/$mode.json"
	[ -n "${BENCH_DEBUG:-}" ] && printf '%s\n' "$E2E_PROBE_JSON" >&2
	e2e_virsh A destroy g1 >/dev/null 2>&1 || true
	e2e_virsh B destroy g1 >/dev/null 2>&1 || true
	if [ "$mode" = vfo ]; then
		e2e_hostd_stop A
		e2e_hostd_stop B
	fi
	e2e_log "mode $mode: done"
}

# ---- report -----------------------------------------------------------------

# Values of FIELD for PHASE-1..RUNS in mode's probe report, one per line.
phase_values() {
	local mode=$1 phase=$2 field=$3 i
	for i in $(seq "$RUNS"); do
		E2E_PROBE_JSON=$(cat "$RES/$mode.json")
		e2e_phase_field "$phase-$i" "$field"
	done | sed '/^$/d'
}

metric_values() {
	local mode=$1 key=$2 i
	for i in $(seq "$RUNS"); do
		[ -f "$RES/$mode.$i" ] && awk -v k="$key" '$1 == k { print $2 }' "$RES/$mode.$i"
	done | sed '/^$/d'
}

# "median max" of numbers on stdin, "-" if none.
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g %g\n", m, v[NR] }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-") print "-"
		else if (b == 0) print (a == 0 ? "0 vs 0" : a " vs 0")
		else printf "%.2fx\n", a / b }'
}

# One line per migration: what an operator watching it would see.
report_runs() {
	local mode i ph
	printf '\n%-10s %-4s %-16s %-16s %-16s %8s %8s %8s %8s %8s %s\n' mode run "unplug lost/gap" \
		"migrate lost/gap" "replug lost/gap" standby migrate linkup plugged total \
		"standby <= migrate + linkup + 0.5"
	for mode in $MODES; do
		[ -f "$RES/$mode.json" ] || continue
		E2E_PROBE_JSON=$(cat "$RES/$mode.json")
		for i in $(seq "$RUNS"); do
			printf '%-10s %-5s' "$mode" "$i"
			for ph in unplug migration replug; do
				printf ' %-16s' "$(e2e_phase_field "$ph-$i" lost || true)/$(e2e_phase_field "$ph-$i" max_gap_ms | cut -d. -f1)ms"
			done
			local sb mg lu at tt
			sb=$(awk '$1 == "standby" { print $2 }' "$RES/$mode.$i" 2>/dev/null)
			mg=$(awk '$1 == "migration" { print $2 }' "$RES/$mode.$i" 2>/dev/null)
			lu=$(awk '$1 == "linkup" { print $2 }' "$RES/$mode.$i" 2>/dev/null)
			at=$(awk '$1 == "attach" { print $2 }' "$RES/$mode.$i" 2>/dev/null)
			tt=$(awk '$1 == "total" { print $2 }' "$RES/$mode.$i" 2>/dev/null)
			printf ' %7ss %7ss %7ss %7ss %7ss %s\n' "${sb:--}" "${mg:--}" "${lu:--}" \
				"${at:--}" "${tt:--}" \
				"$(awk -v s="$sb" -v m="$mg" -v l="$lu" 'BEGIN {
					if (s == "" || m == "" || l == "") print "-"
					else printf "%s (%.2f s spare)", (s <= m + l + 0.5) ? "met" : "MISSED", m + l + 0.5 - s }')"
		done
	done
}

report() {
	local mode phase med max g
	printf '\nbench-migrate: %s migrations per mode, probes every 10 ms (TCG guests)\n\n' "$RUNS"
	printf '%-10s %-10s %12s %10s %14s\n' mode phase "lost med/max" "gap max" "vs virtio"
	for mode in $MODES; do
		[ -f "$RES/$mode.json" ] || continue
		for phase in unplug migration replug; do
			read -r med max < <(phase_values "$mode" "$phase" lost | stats)
			read -r _ g < <(phase_values "$mode" "$phase" max_gap_ms | stats)
			vmed=-
			[ -f "$RES/virtio.json" ] &&
				read -r vmed _ < <(phase_values virtio "$phase" lost | stats)
			[ "$vmed" = - ] && vmed=0
			printf '%-10s %-10s %12s %8s ms %14s\n' "$mode" "$phase" "$med/$max" "$g" \
				"$(ratio "$med" "$vmed")"
		done
	done
	printf '\n%-10s %14s %14s %14s %14s %14s %7s %6s\n' mode "standby s" "migration s" \
		"link-up s" "VF plugged s" "total s" "target" failed
	printf '%-10s %14s %14s %14s %14s %14s %7s\n' "" med/max med/max med/max \
		"after RESUMED" med/max met
	for mode in $MODES; do
		[ -f "$RES/$mode.json" ] || continue
		local col=() k met=0 n=0 i
		for k in standby migration linkup attach total; do
			read -r a b < <(metric_values "$mode" "$k" | stats)
			col+=("$a/$b")
		done
		for i in $(seq "$RUNS"); do
			awk '$1 == "standby" { s = $2 } $1 == "migration" { m = $2 }
				$1 == "linkup" { l = $2 }
				END { exit !(s != "" && m != "" && l != "") }' "$RES/$mode.$i" 2>/dev/null ||
				continue
			n=$((n + 1))
			awk '$1 == "standby" { s = $2 } $1 == "migration" { m = $2 }
				$1 == "linkup" { l = $2 } END { exit !(s <= m + l + 0.5) }' "$RES/$mode.$i" &&
				met=$((met + 1))
		done
		printf '%-10s %14s %14s %14s %14s %14s %7s %6s\n' "$mode" "${col[@]}" \
			"$([ "$n" -gt 0 ] && echo "$met/$n" || echo -)" \
			"$(metric_values "$mode" failed | wc -l)/$RUNS"
	done
	printf '\nTargets: vfo loses no more than virtio-only (0 at unplug and replug); time on\n'
	printf 'standby <= migration time + VF link-up + 0.5 s; VF plugged <= 1 s after RESUMED.\n'
}

e2e_init
trap 'e2e_cleanup; rm -rf "$RES"' EXIT
e2e_net_up
e2e_host_up A
e2e_host_up B
e2e_trace_start g1
e2e_guest_image "$top_srcdir/tests/bench/guest-bench.sh" \
	"$top_builddir/tests/tools/vfo-probe" "$top_builddir/guest-agent/vfo-guestd"
for m in $MODES; do
	run_mode "$m" || e2e_log "mode $m failed"
done
report_runs
[ "${BENCH_DEMO:-}" = 1 ] || report
if [ -f "$RES/timeline" ]; then
	printf '\nStep by step (host clock, from the start of each migration):\n'
	cat "$RES/timeline"
fi
