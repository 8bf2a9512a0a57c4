// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The per-pair failover state machine. See policy.h for the picture; the
 * comments here say why each transition does what it does.
 */
#include <errno.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define DEFAULT_HOLD_DOWN_MS 500
#define DEFAULT_LEAVE_TIMEOUT_MS 30000
/* A removed NIC loses its carrier just before it disappears: a carrier
 * loss this close to the removal was the removal, not a flap. */
#define REMOVAL_WINDOW_MS 2000
/* How long a vf-arriving hint stands for the VF it announces. */
#define ANNOUNCE_VALID_MS 10000
#define DEFAULT_ANNOUNCED_HOLD_DOWN_MS 100

void vfo_pol_cfg_default(struct vfo_pol_cfg *cfg)
{
	cfg->hold_down_ms = DEFAULT_HOLD_DOWN_MS;
	cfg->announced_hold_down_ms = DEFAULT_ANNOUNCED_HOLD_DOWN_MS;
	cfg->leave_timeout_ms = DEFAULT_LEAVE_TIMEOUT_MS;
	cfg->notify_on_removal = true;
}

void vfo_pol_init(struct vfo_policy *p, const struct vfo_pol_cfg *cfg, int64_t now)
{
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	p->state = VFO_VF_ABSENT;
	p->on_standby = true;
	p->standby_since = now;
	p->last_reason = "";
}

static const char *const state_names[] = {
	[VFO_VF_ABSENT] = "absent",
	[VFO_VF_PRESENT] = "present",
	[VFO_VF_WAIT_CARRIER] = "wait-carrier",
	[VFO_VF_HOLDING] = "holding-down",
	[VFO_VF_ACTIVE] = "active",
	[VFO_VF_LEAVING] = "leaving",
};

const char *vfo_vf_state_str(enum vfo_vf_state s)
{
	if ((unsigned int)s >= VFO_ARRAY_SIZE(state_names))
		return "invalid";
	return state_names[s];
}

static const char *const input_names[] = {
	[VFO_POL_VF_ADDED] = "vf-added",
	[VFO_POL_VF_REMOVED] = "vf-removed",
	[VFO_POL_ENSLAVED] = "enslaved",
	[VFO_POL_CARRIER] = "carrier",
	[VFO_POL_TIMER] = "timer",
	[VFO_POL_VF_LEAVING] = "vf-leaving",
	[VFO_POL_VF_ARRIVING] = "vf-arriving",
	[VFO_POL_FORCE_STANDBY] = "force-standby",
	[VFO_POL_FORCE_VF] = "force-vf",
	[VFO_POL_ACTIVE_SEEN] = "active-seen",
	[VFO_POL_ADOPT] = "adopt",
};

const char *vfo_pol_input_str(enum vfo_pol_input in)
{
	if ((unsigned int)in >= VFO_ARRAY_SIZE(input_names))
		return "invalid";
	return input_names[in];
}

bool vfo_pol_wants_vf(const struct vfo_policy *p)
{
	return p->state == VFO_VF_ACTIVE;
}

int64_t vfo_pol_standby_ms(const struct vfo_policy *p, int64_t now)
{
	int64_t cur = p->on_standby && now > p->standby_since ? now - p->standby_since : 0;

	return p->standby_ms + cur;
}

static void arm(struct vfo_policy *p, int64_t at, struct vfo_pol_out *out)
{
	p->deadline = at;
	out->timer_at = at;
	out->actions |= VFO_ACT_ARM_TIMER;
	out->actions &= ~VFO_ACT_CANCEL_TIMER;
}

static void cancel(struct vfo_policy *p, struct vfo_pol_out *out)
{
	if (!p->deadline)
		return;
	p->deadline = 0;
	out->actions |= VFO_ACT_CANCEL_TIMER;
	out->actions &= ~VFO_ACT_ARM_TIMER;
}

/* Record a change of the slave that carries the traffic. */
static void note_switch(struct vfo_policy *p, int64_t now, bool to_vf, const char *reason,
			struct vfo_pol_out *out)
{
	if (to_vf == !p->on_standby)
		return;
	if (to_vf) {
		p->standby_ms += now > p->standby_since ? now - p->standby_since : 0;
		p->on_standby = false;
	} else {
		p->on_standby = true;
		p->standby_since = now;
	}
	p->switches++;
	p->last_switch = now;
	p->last_reason = reason;
	p->last_to_vf = to_vf;
	out->switched = true;
}

/* The standby must carry the traffic from now on, and bonding must not
 * pick the VF again by itself (primary is remembered by name). */
static void to_standby(struct vfo_policy *p, int64_t now, const char *reason, bool notify,
		       struct vfo_pol_out *out)
{
	out->actions |= VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY;
	if (notify)
		out->actions |= VFO_ACT_NOTIFY_PEERS;
	note_switch(p, now, false, reason, out);
}

static void become_active(struct vfo_policy *p, int64_t now, const char *reason,
			  struct vfo_pol_out *out)
{
	cancel(p, out);
	p->state = VFO_VF_ACTIVE;
	p->announced_until = 0;
	out->actions |= VFO_ACT_SET_PRIMARY | VFO_ACT_ACTIVE_VF | VFO_ACT_NOTIFY_PEERS;
	note_switch(p, now, true, reason, out);
}

/* Carrier is up on an enslaved VF: start (or restart) the hold-down. */
static void start_hold(struct vfo_policy *p, int64_t now, struct vfo_pol_out *out)
{
	int64_t hold = now < p->announced_until ? p->cfg.announced_hold_down_ms :
						  p->cfg.hold_down_ms;

	p->carrier_since = now;
	if (hold <= 0) {
		p->announced_until = 0;
		become_active(p, now, "vf-ready", out);
		return;
	}
	p->state = VFO_VF_HOLDING;
	arm(p, now + hold, out);
}

static void enslaved(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	if (ev->carrier) {
		start_hold(p, ev->now, out);
	} else {
		p->state = VFO_VF_WAIT_CARRIER;
		cancel(p, out);
	}
}

static void carrier(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	switch (p->state) {
	case VFO_VF_WAIT_CARRIER:
		if (ev->carrier)
			start_hold(p, ev->now, out);
		break;
	case VFO_VF_HOLDING:
		if (ev->carrier)
			break;
		/* A flap inside the hold-down: start again from zero once
		 * the carrier is back, with the full hold-down. */
		p->flaps++;
		p->announced_until = 0;
		p->state = VFO_VF_WAIT_CARRIER;
		cancel(p, out);
		break;
	case VFO_VF_ACTIVE:
		if (ev->carrier)
			break;
		/* miimon has (or soon will have) failed over already;
		 * setting the standby active just makes sure, and clearing
		 * the primary keeps bonding from bouncing back on its own. */
		p->flaps++;
		p->state = VFO_VF_WAIT_CARRIER;
		to_standby(p, ev->now, "vf-carrier-lost", false, out);
		break;
	default:
		break; /* not enslaved, or forced to the standby */
	}
}

static void removed(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	bool was_active = p->state == VFO_VF_ACTIVE;

	if (p->state == VFO_VF_ABSENT)
		return;
	p->removals++;
	if (p->state == VFO_VF_WAIT_CARRIER && p->on_standby &&
	    !strcmp(p->last_reason, "vf-carrier-lost") &&
	    ev->now - p->last_switch <= REMOVAL_WINDOW_MS) {
		p->last_reason = "vf-removed";
		if (p->flaps)
			p->flaps--;
		if (p->cfg.notify_on_removal)
			out->actions |= VFO_ACT_NOTIFY_PEERS;
	}
	cancel(p, out);
	p->state = VFO_VF_ABSENT;
	/* The kernel already failed over when the VF vanished; what is
	 * left is to forget the primary (its name will come back) and, on
	 * a surprise, to tell the peers once more. */
	out->actions |= VFO_ACT_CLEAR_PRIMARY;
	if (was_active)
		to_standby(p, ev->now, "vf-removed", p->cfg.notify_on_removal, out);
}

static int leaving(struct vfo_policy *p, const struct vfo_pol_event *ev, const char *reason,
		   struct vfo_pol_out *out)
{
	if (p->state == VFO_VF_ABSENT)
		return -ENODEV;
	if (p->state == VFO_VF_LEAVING) {
		/* Repeated request: do it again (cheap, idempotent), the
		 * peers may have missed the first announcement. */
		out->actions |= VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY |
				VFO_ACT_NOTIFY_PEERS;
		return 0;
	}
	p->leaves++;
	p->state = VFO_VF_LEAVING;
	/* Always announce: the host has already started steering traffic
	 * to the standby's port, the peers must follow now. */
	to_standby(p, ev->now, reason, true, out);
	out->actions |= VFO_ACT_NOTIFY_PEERS;
	if (p->cfg.leave_timeout_ms > 0)
		arm(p, ev->now + p->cfg.leave_timeout_ms, out);
	else
		cancel(p, out);
	return 0;
}

/* Leave LEAVING with the VF still there: treat it as newly usable. */
static void unleave(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	cancel(p, out);
	if (ev->carrier)
		start_hold(p, ev->now, out);
	else
		p->state = VFO_VF_WAIT_CARRIER;
}

static void timer(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	if (!p->deadline || ev->now < p->deadline) {
		/* Early or stale expiry: re-arm what is still wanted. */
		if (p->deadline)
			arm(p, p->deadline, out);
		return;
	}
	p->deadline = 0;
	if (p->state == VFO_VF_HOLDING)
		become_active(p, ev->now, "vf-ready", out);
	else if (p->state == VFO_VF_LEAVING)
		unleave(p, ev, out);
}

static void active_seen(struct vfo_policy *p, const struct vfo_pol_event *ev,
			struct vfo_pol_out *out)
{
	if (p->state == VFO_VF_ACTIVE && !ev->vf_active) {
		/* The kernel failed over before we saw the carrier go:
		 * same as a carrier loss. */
		p->flaps++;
		to_standby(p, ev->now, "kernel-failover", false, out);
		if (ev->carrier) {
			start_hold(p, ev->now, out);
		} else {
			p->state = VFO_VF_WAIT_CARRIER;
			cancel(p, out);
		}
	} else if (p->state != VFO_VF_ACTIVE && ev->vf_active) {
		/* Bonding picked the VF by itself (primary remembered by
		 * name, or someone else's doing) before the hold-down:
		 * undo it, uncounted: it was never our decision. */
		out->actions |= VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY;
	}
}

static void adopt(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	cancel(p, out);
	if (!ev->vf_present) {
		p->state = VFO_VF_ABSENT;
		if (ev->vf_active)
			return;
		out->actions |= VFO_ACT_CLEAR_PRIMARY;
		return;
	}
	if (!ev->enslaved) {
		p->state = VFO_VF_PRESENT;
		out->actions |= VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ENSLAVE_VF;
		return;
	}
	if (ev->vf_active && ev->carrier) {
		/* Already right: keep it exactly as it is, no flap. */
		p->state = VFO_VF_ACTIVE;
		p->on_standby = false;
		out->actions |= VFO_ACT_SET_PRIMARY;
		return;
	}
	if (ev->vf_active)
		out->actions |= VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY;
	if (ev->carrier)
		start_hold(p, ev->now, out);
	else
		p->state = VFO_VF_WAIT_CARRIER;
}

static bool vf_enslaved_state(const struct vfo_policy *p)
{
	return p->state == VFO_VF_WAIT_CARRIER || p->state == VFO_VF_HOLDING ||
	       p->state == VFO_VF_ACTIVE || p->state == VFO_VF_LEAVING;
}

int vfo_pol_step(struct vfo_policy *p, const struct vfo_pol_event *ev, struct vfo_pol_out *out)
{
	memset(out, 0, sizeof(*out));
	switch (ev->input) {
	case VFO_POL_VF_ADDED:
		if (p->state != VFO_VF_ABSENT)
			return 0;
		p->state = VFO_VF_PRESENT;
		if (ev->enslaved)
			enslaved(p, ev, out);
		else
			out->actions |= VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ENSLAVE_VF;
		return 0;
	case VFO_POL_ENSLAVED:
		if (p->state == VFO_VF_PRESENT)
			enslaved(p, ev, out);
		return 0;
	case VFO_POL_VF_REMOVED:
		removed(p, ev, out);
		return 0;
	case VFO_POL_CARRIER:
		carrier(p, ev, out);
		return 0;
	case VFO_POL_TIMER:
		timer(p, ev, out);
		return 0;
	case VFO_POL_VF_LEAVING:
		return leaving(p, ev, "vf-leaving", out);
	case VFO_POL_FORCE_STANDBY:
		return leaving(p, ev, "operator", out);
	case VFO_POL_VF_ARRIVING:
		/* A new VF is coming: if the old one was announced as
		 * leaving and is still here, the host changed its mind. */
		if (p->state == VFO_VF_LEAVING) {
			unleave(p, ev, out);
			return 0;
		}
		p->announced_until = ev->now + ANNOUNCE_VALID_MS;
		return 0;
	case VFO_POL_FORCE_VF:
		if (!vf_enslaved_state(p) || !ev->carrier)
			return -EAGAIN;
		if (p->state != VFO_VF_ACTIVE)
			become_active(p, ev->now, "operator", out);
		return 0;
	case VFO_POL_ACTIVE_SEEN:
		active_seen(p, ev, out);
		return 0;
	case VFO_POL_ADOPT:
		adopt(p, ev, out);
		return 0;
	}
	return -EINVAL;
}
