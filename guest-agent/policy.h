/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-pair failover policy (pure: no I/O, time passed in).
 *
 * The kernel bond does the fast part (miimon failover when the active VF
 * dies); this state machine decides when the VF may carry traffic again and
 * what the agent must do to the bond for that. It never touches the bond:
 * it returns actions, which bond.c performs.
 *
 *   ABSENT --added--> PRESENT --enslaved--> WAIT_CARRIER --carrier up-->
 *   HOLDING --carrier steady for hold_down_ms--> ACTIVE
 *   HOLDING/ACTIVE --carrier down--> WAIT_CARRIER (a flap)
 *   any present state --vf-leaving / operator--> LEAVING (standby forced)
 *   any state --removed--> ABSENT
 *
 * Bonding remembers the primary by name, so a re-plugged VF that reuses the
 * old name would become active at once: the policy clears the primary
 * whenever the VF stops being preferred and sets it only after the
 * hold-down.
 */
#ifndef VFO_GUEST_POLICY_H
#define VFO_GUEST_POLICY_H

#include <stdbool.h>
#include <stdint.h>

enum vfo_vf_state {
	VFO_VF_ABSENT,
	VFO_VF_PRESENT, /* present, not enslaved yet */
	VFO_VF_WAIT_CARRIER, /* enslaved, no carrier */
	VFO_VF_HOLDING, /* enslaved, carrier up, hold-down running */
	VFO_VF_ACTIVE, /* primary and active slave */
	VFO_VF_LEAVING, /* host or operator forced the standby */
};

enum vfo_pol_input {
	VFO_POL_VF_ADDED, /* ev.carrier, ev.enslaved */
	VFO_POL_VF_REMOVED,
	VFO_POL_ENSLAVED, /* bond.c enslaved the VF; ev.carrier */
	VFO_POL_CARRIER, /* ev.carrier: the VF's carrier changed */
	VFO_POL_TIMER, /* the deadline armed earlier passed */
	VFO_POL_VF_LEAVING, /* host: the VF is about to be unplugged */
	VFO_POL_VF_ARRIVING, /* host: a VF is being plugged (hint) */
	VFO_POL_FORCE_STANDBY, /* operator */
	VFO_POL_FORCE_VF, /* operator: skip the hold-down */
	VFO_POL_ACTIVE_SEEN, /* ev.vf_active: the bond's active slave now */
	VFO_POL_ADOPT, /* restart: ev.vf_present, enslaved, carrier,
				 * vf_active describe the bond found */
};

enum {
	VFO_ACT_ENSLAVE_VF = 1u << 0,
	VFO_ACT_SET_PRIMARY = 1u << 1, /* primary = the VF */
	VFO_ACT_CLEAR_PRIMARY = 1u << 2,
	VFO_ACT_ACTIVE_STANDBY = 1u << 3,
	VFO_ACT_ACTIVE_VF = 1u << 4,
	VFO_ACT_NOTIFY_PEERS = 1u << 5, /* extra gratuitous ARP / NA */
	VFO_ACT_ARM_TIMER = 1u << 6, /* at out.timer_at (monotonic ms) */
	VFO_ACT_CANCEL_TIMER = 1u << 7,
};

struct vfo_pol_cfg {
	int64_t hold_down_ms; /* carrier steady this long before preferred */
	/* The same for a VF the host announced (vf-arriving) within
	 * ANNOUNCE_VALID_MS: a fresh plug, not a link coming back; a flap
	 * inside it falls back to the full hold_down_ms. */
	int64_t announced_hold_down_ms;
	int64_t leave_timeout_ms; /* LEAVING with the VF still there: give up
				   * (the unplug was cancelled) */
	bool notify_on_removal; /* extra peer notifications on surprise */
};

struct vfo_pol_event {
	enum vfo_pol_input input;
	int64_t now; /* monotonic ms */
	bool carrier;
	bool enslaved;
	bool vf_active;
	bool vf_present;
};

struct vfo_pol_out {
	unsigned int actions; /* VFO_ACT_* */
	int64_t timer_at;
	bool switched; /* the active slave changed (counted) */
};

struct vfo_policy {
	struct vfo_pol_cfg cfg;
	enum vfo_vf_state state;
	int64_t carrier_since; /* when the VF carrier last came up */
	int64_t announced_until; /* a vf-arriving hint holds until then */
	int64_t deadline; /* armed timer, 0: none */
	bool on_standby; /* the standby carries the traffic */
	int64_t standby_since;
	/* counters */
	uint64_t switches;
	uint64_t flaps;
	uint64_t leaves; /* vf-leaving handled */
	uint64_t removals; /* VF removals seen */
	int64_t standby_ms; /* accumulated, excluding the current stretch */
	int64_t last_switch; /* monotonic ms, 0: never */
	const char *last_reason; /* static string, "" when never */
	bool last_to_vf;
};

void vfo_pol_cfg_default(struct vfo_pol_cfg *cfg);
void vfo_pol_init(struct vfo_policy *p, const struct vfo_pol_cfg *cfg, int64_t now);
/*
 * Feed one input. Returns 0 with the actions to perform in *out, or
 * -EAGAIN when an operator request cannot be honoured now (FORCE_VF with no
 * usable VF), -ENODEV for FORCE_STANDBY/VF_LEAVING with no VF (then
 * nothing changes and there is nothing to do: callers may still ack), or
 * -EINVAL for an unknown input.
 */
int vfo_pol_step(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out);
/* Time on the standby up to now, the current stretch included. */
int64_t vfo_pol_standby_ms(const struct vfo_policy *p, int64_t now);
const char *vfo_vf_state_str(enum vfo_vf_state s);
const char *vfo_pol_input_str(enum vfo_pol_input in);
/* Whether the policy wants the VF to be the active slave. */
bool vfo_pol_wants_vf(const struct vfo_policy *p);

#endif
