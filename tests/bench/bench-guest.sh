#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make bench-guest: one unplug/replug cycle of the VF, repeated, under
#   (i)   a plain active-backup bond, no agent (miimon 100, primary = the
#         e1000e, made through sysfs by tests/vm/guest/plain-bond.sh),
#   (ii)  the kernel's net_failover (QEMU failover=on; tests/vm/guest/
#         failover.sh),
#   (iii) vfo-guestd with a surprise unplug (device_del, no warning),
#   (iv)  vfo-guestd coordinated (vf-leaving on the channel, ack, then
#         device_del; vf-arriving before the replug),
# with probes every 10 ms from the peer namespace, and prints per phase
# (unplug, replug) the lost probes and the longest gap between echoes for
# each mode (median of the runs, each run in brackets), vfo's ratio to each
# baseline, and vfo-guestd's idle RSS and context switches over 10 s.
#
# A phase starts just before the unplug request (vf-leaving for (iv)) or
# the device_add, and ends once the traffic is back on the standby (unplug)
# or on the new VF (replug) and has flowed for 2 s more: whatever a mode
# loses on its way is inside. (i) and (ii) each boot a guest; (iii) and
# (iv) share one and alternate. It prints figures and asserts nothing about
# them: it fails only when a cycle cannot be carried out.
#
# Environment: VFO_BENCH_RUNS (cycles per mode, default 5: with 3 the
# unplug figures of (ii) and (iii) swapped places from run to run), VFO_BENCH_OUT
# (also write the report there), VFO_BENCH_GUESTD_CONF (vfo-guestd's
# configuration for (iii) and (iv), "\n" between lines; default: none, the
# agent's defaults; the report says which), top_builddir / VFO_GUESTD as for the
# guest-*.sh scenarios, and lib.sh's VFO_VM_* variables.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${VFO_BENCH_RUNS:-5}

# ------------------------------------------------------------ one mode

child()
{
	local mode=$1 out=$2 r vf new from sb

	. "$HERE/../vm/guest-common.sh"
	vm_init "bench-$mode" "${VFO_VM_TIMEOUT:-420}"
	gd_trap
	vm_net_setup 1
	case $mode in
	plain)
		vm_boot --pairs 1 --script "$VM_SRCDIR/guest/plain-bond.sh"
		vm_wait_console '^VFO-READY' 120 || vm_fail "guest never got ready"
		sb=$(grep -a '^VFO-BOND' "$VM_DIR/console.log" | tr -d '\r' |
			sed -n 's/.*standby=\([^ ]*\).*/\1/p' | head -1)
		;;
	failover)
		vm_boot --pairs 1 --failover --script "$VM_SRCDIR/guest/failover.sh"
		vm_wait_console '^VFO-READY' 120 || vm_fail "guest never got ready"
		vm_wait_console '^VFO-PRIMARY [^ ]+ eth' 60 || vm_fail "no failover primary"
		;;
	vfo)
		gd_boot --pairs 1 --env "GD_CONF=${VFO_BENCH_GUESTD_CONF:-}"
		gd_wait_role 0 vf 40 || gd_fail "the VF never became active"
		;;
	esac
	probe_start p "$(vm_guest_ip 0)"
	probe_wait_flowing p 100 30 || vm_fail "no probe echoes"
	sleep 2
	vf=vf0
	local n=$RUNS
	[ "$mode" = vfo ] && n=$((2 * RUNS))
	for ((r = 1; r <= n; r++)); do
		local tag=$mode coord=0
		if [ "$mode" = vfo ]; then
			coord=$(((r + 1) % 2))	# odd runs surprise, even coordinated
			tag=$([ "$coord" = 1 ] && echo coordinated || echo surprise)
		fi
		# Unplug.
		probe_phase p "unplug-$tag-$r"
		if [ "$coord" = 1 ]; then
			ack=$(gd_chan '{"id":1,"cmd":"vf-leaving","args":{"mac":"'"$(vm_mac 0)"'"}}')
			[ "$(jq -r .result.ack <<<"$ack")" = true ] || gd_fail "vf-leaving not acked: $ack"
			sleep 0.1
		fi
		vm_unplug "$vf"
		case $mode in
		vfo) gd_wait_role 0 standby 15 || gd_fail "not on the standby" ;;
		failover) vm_wait_console '^VFO-PRIMARY [^ ]+ none' 15 || vm_fail "primary still there" ;;
		esac
		probe_wait_flowing p 200 30 || vm_fail "traffic did not come back after the unplug"
		# Replug.
		probe_phase p "replug-$tag-$r"
		[ "$coord" = 1 ] && gd_chan '{"id":2,"cmd":"vf-arriving","args":{"mac":"'"$(vm_mac 0)"'"}}' >/dev/null
		from=$(vm_console_size)
		# QEMU 7.2 takes a failover primary back only under its first id.
		new=vf0; [ "$mode" = failover ] || new=vf0r$r
		vm_plug_vf 0 "$new"
		case $mode in
		plain) wait_console_field VFO-ACTIVE "$sb" "$from" 40 || vm_fail "new VF never active" ;;
		failover) wait_console_field VFO-PRIMARY - "$from" 40 || vm_fail "new primary never joined" ;;
		vfo) gd_wait_role 0 vf 40 || gd_fail "the new VF never became active" ;;
		esac
		probe_wait_flowing p 200 40 || vm_fail "traffic did not come back after the replug"
		probe_phase p "between-$r"
		sleep 0.5
		vf=$new
	done
	local idle=
	if [ "$mode" = vfo ]; then
		# Idle (the host side of the channel closed; probes still
		# flowing through the kernel): memory and wake-ups.
		local a b
		a=$(gd_proc VmHWM VmRSS voluntary_ctxt_switches nonvoluntary_ctxt_switches)
		sleep 10
		b=$(gd_proc VmHWM VmRSS voluntary_ctxt_switches nonvoluntary_ctxt_switches)
		idle="$a $b"
		gd_agent_alive || gd_fail "the agent died"
	fi
	probe_stop p
	{
		for ((r = 1; r <= n; r++)); do
			local tag=$mode
			[ "$mode" = vfo ] && tag=$([ $((r % 2)) = 0 ] && echo coordinated || echo surprise)
			for ph in unplug replug; do
				echo "$tag $ph $r $(probe_get p lost "$ph-$tag-$r") $(probe_get p max_gap_ms "$ph-$tag-$r")"
			done
		done
		[ -n "$idle" ] && echo "idle $idle"
	} >>"$out"
	vm_stop
	vm_pass
}

# wait_console_field PREFIX EXCLUDE FROM TIMEOUT: the newest "PREFIX <x>
# <nic> ..." console line since byte FROM names a NIC other than EXCLUDE
# and "none".
wait_console_field()
{
	local deadline=$(($(date +%s) + $4)) last

	while :; do
		last=$(tail -c +"$(($3 + 1))" "$VM_DIR/console.log" | tr -d '\r' |
			grep -a "^$1 " | tail -1 | awk '{ print $3 }')
		[ -n "$last" ] && [ "$last" != none ] && [ "$last" != "$2" ] && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		vm_alive || return 1
		sleep 0.1
	done
}

if [ "${1:-}" = --child ]; then
	child "$2" "$3"
	exit $?
fi

# ------------------------------------------------------------ report

T0=$(date +%s)
RES=$(mktemp /tmp/vfo-bench-guest.XXXXXX)
trap 'rm -f "$RES"' EXIT
for mode in plain failover vfo; do
	echo "bench-guest: mode $mode ($RUNS cycles$([ $mode = vfo ] && echo ' surprise + '$RUNS' coordinated'))..." >&2
	"$0" --child "$mode" "$RES" 2>"$RES.$mode.log"
	rc=$?
	if [ "$rc" != 0 ]; then
		tail -30 "$RES.$mode.log" >&2
		rm -f "$RES".*.log
		[ "$rc" = 77 ] && exit 77
		echo "bench-guest: FAIL: mode $mode could not be measured" >&2
		exit 1
	fi
	grep -a '^\[' "$RES.$mode.log" | tail -1 >&2
	rm -f "$RES.$mode.log"
done

report()
{
	awk -v runs="$RUNS" -v secs="$(($(date +%s) - T0))" \
		-v conf="$(printf '%b' "${VFO_BENCH_GUESTD_CONF:-}" | tr '\n' ' ' | sed 's/ *$//')" '
	function median(s,   a, n, t, i, j) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++)	# insertion sort: a handful of values
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		if (n % 2) return a[(n + 1) / 2] + 0
		return (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(v) { return v == int(v) ? sprintf("%d", v) : sprintf("%.1f", v) }
	function lo(s,   a, n, i, m) { n = split(s, a, " "); m = a[1] + 0
		for (i = 2; i <= n; i++) if (a[i] + 0 < m) m = a[i] + 0
		return m }
	function hi(s,   a, n, i, m) { n = split(s, a, " "); m = a[1] + 0
		for (i = 2; i <= n; i++) if (a[i] + 0 > m) m = a[i] + 0
		return m }
	function span(s) { return lo(s) "-" hi(s) }
	function ratio(a, b) {
		if (b == 0 && a == 0) return "0 vs 0"
		if (b == 0) return fmt(a) " vs 0"
		return sprintf("%.2fx (%s vs %s)", a / b, fmt(a), fmt(b))
	}
	$1 == "idle" { hwm0 = $2; rss0 = $3; v0 = $4; n0 = $5; hwm1 = $6; rss1 = $7; v1 = $8; n1 = $9; next }
	{
		k = $1 SUBSEP $2
		lost[k] = lost[k] (lost[k] == "" ? "" : " ") $4
		gap[k] = gap[k] (gap[k] == "" ? "" : " ") sprintf("%.0f", $5)
	}
	END {
		split("plain failover surprise coordinated", m, " ")
		name["plain"] = "(i)   plain bond, no agent"
		name["failover"] = "(ii)  kernel net_failover"
		name["surprise"] = "(iii) vfo, surprise unplug"
		name["coordinated"] = "(iv)  vfo, coordinated"
		printf "bench-guest: VF unplug/replug, UDP probes every 10 ms (one lost ~ 10 ms),\n"
		printf "%d runs per mode; median, then [each run]; QEMU TCG guests; %d s in all\n", runs, secs
		printf "vfo-guestd configuration: %s\n\n", conf == "" ? "defaults" : conf
		for (p = 1; p <= 2; p++) {
			ph = p == 1 ? "unplug" : "replug"
			printf "%-7s %-28s %-22s %s\n", "phase", "mode", "lost probes", "longest gap (ms)"
			for (i = 1; i <= 4; i++) {
				k = m[i] SUBSEP ph
				ml[m[i], ph] = median(lost[k]); mg[m[i], ph] = median(gap[k])
				printf "%-7s %-28s %-22s %s\n", ph, name[m[i]],
					fmt(ml[m[i], ph]) " [" lost[k] "]", fmt(mg[m[i], ph]) " [" gap[k] "]"
			}
			printf "\n"
		}
		printf "vfo against the baselines (medians; ratio = vfo / baseline):\n"
		for (p = 1; p <= 2; p++) {
			ph = p == 1 ? "unplug" : "replug"
			for (i = 3; i <= 4; i++)
				for (j = 1; j <= 2; j++)
					printf "%-7s %-5s vs %-4s  lost %-22s gap %s\n", ph,
						substr(name[m[i]], 1, 5), substr(name[m[j]], 1, 4),
						ratio(ml[m[i], ph], ml[m[j], ph]),
						ratio(mg[m[i], ph], mg[m[j], ph])
		}
		printf "\ntargets (medians):\n"
		printf "  (iv) loses 0 at unplug and at replug: %s\n",
			(ml["coordinated", "unplug"] == 0 && ml["coordinated", "replug"] == 0) ? "met" : "NOT met"
		# The verdict is the medians; the spread of the runs says
		# whether a miss is more than this bed can tell apart.
		for (p = 1; p <= 2; p++) {
			ph = p == 1 ? "unplug" : "replug"
			a = ml["surprise", ph]; b = ml["failover", ph]
			printf "  (iii) no worse than (ii) at the %s: %s (%s vs %s lost", ph,
				a <= b ? "met" : "NOT met", fmt(a), fmt(b)
			ls = lost["surprise" SUBSEP ph]; lf = lost["failover" SUBSEP ph]
			ov = lo(ls) <= hi(lf) ? "the ranges overlap" : "every run worse"
			if (a > b)
				printf "; runs %s vs %s: %s", span(ls), span(lf), ov
			printf ")\n"
		}
		if (rss1 != "") {
			printf "\nvfo-guestd idle: VmRSS %d KiB (%.2f MiB; peak VmHWM %d KiB; target < 4 MiB: %s)\n",
				rss1, rss1 / 1024, hwm1, rss1 < 4096 ? "met" : "NOT met"
			printf "vfo-guestd context switches over 10 idle s (probes flowing): %d voluntary + %d involuntary = %d (target 0, event-driven: %s)\n",
				v1 - v0, n1 - n0, v1 - v0 + n1 - n0, (v1 - v0 + n1 - n0) == 0 ? "met" : "NOT met"
		}
	}' "$RES"
}

if [ -n "${VFO_BENCH_OUT:-}" ]; then
	report | tee "$VFO_BENCH_OUT"
else
	report
fi
