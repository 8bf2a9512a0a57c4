#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Managed migration A -> B -> A of a guest whose VF is plugged by vfo-hostd,
# with the probe stream measured per phase. Asserts the end state in both
# agents, the domain XML, the guest's bond and the probe loss.
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_net_up
e2e_host_up A
e2e_host_up B
e2e_hostd_start A
e2e_hostd_start B
e2e_guest_image "$top_srcdir/tests/e2e/guest-agent.sh" \
	"$top_builddir/tests/tools/vfo-probe" "$top_builddir/guest-agent/vfo-guestd"
e2e_domain_xml g1 52:54:00:77:00:10 novf >"$E2E_DIR/g1.xml"
e2e_virsh A create "$E2E_DIR/g1.xml" >/dev/null
e2e_wait_console g1 "VFO-GUEST: net up" 120
e2e_wait_active g1 e1000e 60
e2e_log "guest up on A, bond on its VF"
[ "$(e2e_pool_counts A)" = "1 0 1" ] || e2e_die "A pool: $(e2e_pool_counts A)"
e2e_has_vf A g1 || e2e_die "A: VF not in the domain XML"

e2e_probe_start
sleep 3
e2e_phase "migrate-AB"
e2e_vfoctl A migrate g1 "$(e2e_tcp_uri B)" --mig-timeout 90 || e2e_die "migration A->B failed"
e2e_wait_active g1 e1000e 30
e2e_phase "after-AB"
sleep 2
e2e_has_vf B g1 || e2e_die "B: VF not plugged"
[ "$(e2e_pool_counts B)" = "1 0 1" ] || e2e_die "B pool: $(e2e_pool_counts B)"
[ "$(e2e_pool_counts A)" = "2 0 0" ] || e2e_die "A pool after: $(e2e_pool_counts A)"
e2e_phase "migrate-BA"
e2e_vfoctl B migrate g1 "$(e2e_tcp_uri A)" --mig-timeout 90 || e2e_die "migration B->A failed"
e2e_wait_active g1 e1000e 30
e2e_phase "after-BA"
sleep 2
e2e_probe_stop
echo "$E2E_PROBE_JSON"
for ph in migrate-AB after-AB migrate-BA after-BA; do
	e2e_log "$ph: lost $(e2e_phase_field $ph lost) of $(e2e_phase_field $ph sent)," \
		"longest gap $(e2e_phase_field $ph max_gap_ms) ms"
done
[ "$(e2e_pool_counts A)" = "1 0 1" ] || e2e_die "A pool at the end: $(e2e_pool_counts A)"
[ "$(e2e_pool_counts B)" = "2 0 0" ] || e2e_die "B pool at the end: $(e2e_pool_counts B)"
grep VFO-ACTIVE "$E2E_DIR/g1.console.log"
e2e_log "PASS"
