// SPDX-License-Identifier: LGPL-2.1-or-later
/* The per-pair failover state machine (guest-agent/policy.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define HOLD 500

struct t {
	struct vfo_policy p;
	struct vfo_pol_out out;
	int64_t now;
	bool carrier;
};

static int step(struct t *t, enum vfo_pol_input in)
{
	struct vfo_pol_event ev = { .input = in, .now = t->now, .carrier = t->carrier };

	return vfo_pol_step(&t->p, &ev, &t->out);
}

static int step_ev(struct t *t, struct vfo_pol_event ev)
{
	ev.now = t->now;
	return vfo_pol_step(&t->p, &ev, &t->out);
}

static void setup_t(struct t *t)
{
	struct vfo_pol_cfg c;

	memset(t, 0, sizeof(*t));
	vfo_pol_cfg_default(&c);
	assert_int_equal(c.hold_down_ms, 500);
	t->now = 1000;
	vfo_pol_init(&t->p, &c, t->now);
}

#define HAS(t, a) (((t)->out.actions & (a)) == (a))

/* ABSENT -> ACTIVE the normal way: added, enslaved without carrier,
 * carrier, hold-down. */
static void bring_up(struct t *t)
{
	assert_int_equal(step(t, VFO_POL_VF_ADDED), 0);
	assert_int_equal(t->p.state, VFO_VF_PRESENT);
	assert_true(HAS(t, VFO_ACT_ENSLAVE_VF | VFO_ACT_CLEAR_PRIMARY));
	assert_int_equal(step(t, VFO_POL_ENSLAVED), 0);
	assert_int_equal(t->p.state, VFO_VF_WAIT_CARRIER);
	t->now += 2500;
	t->carrier = true;
	assert_int_equal(step(t, VFO_POL_CARRIER), 0);
	assert_int_equal(t->p.state, VFO_VF_HOLDING);
	assert_true(HAS(t, VFO_ACT_ARM_TIMER));
	assert_int_equal(t->out.timer_at, t->now + HOLD);
	/* Nothing may make it active before the hold-down. */
	assert_false(t->out.actions & (VFO_ACT_ACTIVE_VF | VFO_ACT_SET_PRIMARY));
	t->now += HOLD;
	assert_int_equal(step(t, VFO_POL_TIMER), 0);
	assert_int_equal(t->p.state, VFO_VF_ACTIVE);
	assert_true(HAS(t, VFO_ACT_SET_PRIMARY | VFO_ACT_ACTIVE_VF | VFO_ACT_NOTIFY_PEERS));
	assert_true(t->out.switched);
}

static void test_boot_to_active(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	assert_int_equal(t.p.state, VFO_VF_ABSENT);
	assert_true(t.p.on_standby);
	bring_up(&t);
	assert_int_equal(t.p.switches, 1);
	assert_int_equal(t.p.flaps, 0);
	assert_string_equal(t.p.last_reason, "vf-ready");
	assert_true(t.p.last_to_vf);
	assert_int_equal(t.p.last_switch, 1000 + 2500 + HOLD);
	/* Standby carried it from init until the switch. */
	assert_int_equal(vfo_pol_standby_ms(&t.p, t.now + 10000), 2500 + HOLD);
	assert_true(vfo_pol_wants_vf(&t.p));
}

static void test_flaps_reset_hold_down(void **state)
{
	struct t t;
	int i;

	(void)state;
	setup_t(&t);
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	/* Flap every 300 ms for a while: never active, every down counted. */
	for (i = 0; i < 10; i++) {
		t.now += 300;
		t.carrier = false;
		assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
		assert_int_equal(t.p.state, VFO_VF_WAIT_CARRIER);
		assert_true(HAS(&t, VFO_ACT_CANCEL_TIMER));
		t.now += 100;
		t.carrier = true;
		assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
		assert_int_equal(t.p.state, VFO_VF_HOLDING);
		assert_int_equal(t.out.timer_at, t.now + HOLD);
	}
	assert_int_equal(t.p.flaps, 10);
	assert_int_equal(t.p.switches, 0);
	/* A stale timer from before the last flap changes nothing. */
	t.now += HOLD - 1;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	assert_true(HAS(&t, VFO_ACT_ARM_TIMER));
	t.now += 1;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	assert_int_equal(t.p.switches, 1);
}

static void test_active_vf_loses_carrier(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	bring_up(&t);
	t.now += 10000;
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.p.state, VFO_VF_WAIT_CARRIER);
	assert_true(HAS(&t, VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY));
	assert_int_equal(t.p.flaps, 1);
	assert_int_equal(t.p.switches, 2);
	assert_string_equal(t.p.last_reason, "vf-carrier-lost");
	assert_false(t.p.last_to_vf);
	/* Carrier back: hold-down again before the VF is preferred. */
	t.now += 200;
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	assert_false(t.out.actions & VFO_ACT_ACTIVE_VF);
	t.now += HOLD;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	assert_int_equal(t.p.switches, 3);
	/* Standby time: 3000 before the first switch + 700 after the flap. */
	assert_int_equal(vfo_pol_standby_ms(&t.p, t.now), 3000 + 200 + HOLD);
}

static void test_leaving_then_removal_then_new_vf(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	bring_up(&t);
	t.now += 5000;
	assert_int_equal(step(&t, VFO_POL_VF_LEAVING), 0);
	assert_int_equal(t.p.state, VFO_VF_LEAVING);
	assert_true(HAS(&t, VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY | VFO_ACT_NOTIFY_PEERS |
				    VFO_ACT_ARM_TIMER));
	assert_string_equal(t.p.last_reason, "vf-leaving");
	assert_int_equal(t.p.leaves, 1);
	assert_int_equal(t.p.switches, 2);
	/* Carrier noise while leaving changes nothing. */
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.p.state, VFO_VF_LEAVING);
	assert_int_equal(t.out.actions, 0);
	/* Repeated vf-leaving: do it again, count once. */
	assert_int_equal(step(&t, VFO_POL_VF_LEAVING), 0);
	assert_true(HAS(&t, VFO_ACT_ACTIVE_STANDBY | VFO_ACT_NOTIFY_PEERS));
	assert_int_equal(t.p.leaves, 1);
	/* The unplug: no second switch, no extra notification. */
	t.now += 300;
	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_int_equal(t.p.state, VFO_VF_ABSENT);
	assert_true(HAS(&t, VFO_ACT_CLEAR_PRIMARY | VFO_ACT_CANCEL_TIMER));
	assert_false(t.out.actions & VFO_ACT_NOTIFY_PEERS);
	assert_false(t.out.switched);
	assert_int_equal(t.p.switches, 2);
	assert_int_equal(t.p.removals, 1);
	/* Leaving with no VF: -ENODEV, nothing to do. */
	assert_int_equal(step(&t, VFO_POL_VF_LEAVING), -ENODEV);
	assert_int_equal(t.out.actions, 0);
	/* A new VF (same name in the kernel, perhaps): clear primary
	 * before enslaving, then the full hold-down. */
	t.now += 30000;
	t.carrier = false;
	bring_up(&t);
	assert_int_equal(t.p.switches, 3);
	assert_int_equal(vfo_pol_standby_ms(&t.p, t.now), 3000 + 300 + 30000 + 2500 + HOLD);
}

static void test_surprise_removal(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	bring_up(&t);
	t.now += 1000;
	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_int_equal(t.p.state, VFO_VF_ABSENT);
	assert_true(HAS(&t, VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ACTIVE_STANDBY | VFO_ACT_NOTIFY_PEERS));
	assert_true(t.out.switched);
	assert_string_equal(t.p.last_reason, "vf-removed");
	/* Removed twice (DEL after the driver went): counted once. */
	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_int_equal(t.out.actions, 0);
	assert_int_equal(t.p.removals, 1);
}

static void test_removal_after_carrier_loss(void **state)
{
	struct t t;

	(void)state;
	/* What a real unplug looks like: carrier drops, then the NIC goes. */
	setup_t(&t);
	bring_up(&t);
	t.now += 1000;
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.p.flaps, 1);
	t.now += 50;
	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_string_equal(t.p.last_reason, "vf-removed");
	assert_int_equal(t.p.flaps, 0);
	assert_int_equal(t.p.switches, 2);
	assert_true(HAS(&t, VFO_ACT_NOTIFY_PEERS | VFO_ACT_CLEAR_PRIMARY));
	/* Long after a real flap, a removal stays a removal of a VF that
	 * was already off duty: the flap is kept. */
	t.carrier = false;
	bring_up(&t);
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	t.now += 5000;
	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_string_equal(t.p.last_reason, "vf-carrier-lost");
	assert_int_equal(t.p.flaps, 1);
}

static void test_surprise_removal_no_notify(void **state)
{
	struct vfo_pol_cfg c;
	struct t t;

	(void)state;
	setup_t(&t);
	vfo_pol_cfg_default(&c);
	c.notify_on_removal = false;
	vfo_pol_init(&t.p, &c, t.now);
	bring_up(&t);
	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_false(t.out.actions & VFO_ACT_NOTIFY_PEERS);
	/* Removed while still holding down: no switch at all. */
	t.carrier = false;
	bring_up(&t);
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	uint64_t sw = t.p.switches;

	assert_int_equal(step(&t, VFO_POL_VF_REMOVED), 0);
	assert_int_equal(t.p.switches, sw);
	assert_true(HAS(&t, VFO_ACT_CANCEL_TIMER));
}

static void test_leave_timeout_and_arriving(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	bring_up(&t);
	assert_int_equal(step(&t, VFO_POL_VF_LEAVING), 0);
	int64_t at = t.out.timer_at;

	assert_int_equal(at, t.now + 30000);
	/* The unplug never came: back to a hold-down, then the VF. */
	t.now = at;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	t.now += HOLD;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	/* vf-arriving while leaving: the host changed its mind. */
	assert_int_equal(step(&t, VFO_POL_VF_LEAVING), 0);
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_VF_ARRIVING), 0);
	assert_int_equal(t.p.state, VFO_VF_WAIT_CARRIER);
	/* In other states vf-arriving is only a hint. */
	assert_int_equal(step(&t, VFO_POL_VF_ARRIVING), 0);
	assert_int_equal(t.out.actions, 0);
}

static void test_operator(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	assert_int_equal(step(&t, VFO_POL_FORCE_VF), -EAGAIN);
	assert_int_equal(step(&t, VFO_POL_FORCE_STANDBY), -ENODEV);
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	assert_int_equal(step(&t, VFO_POL_FORCE_VF), -EAGAIN); /* not enslaved */
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	assert_int_equal(step(&t, VFO_POL_FORCE_VF), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	assert_string_equal(t.p.last_reason, "operator");
	assert_true(HAS(&t, VFO_ACT_ACTIVE_VF | VFO_ACT_CANCEL_TIMER));
	assert_int_equal(step(&t, VFO_POL_FORCE_VF), 0);
	assert_int_equal(t.out.actions, 0);
	assert_int_equal(step(&t, VFO_POL_FORCE_STANDBY), 0);
	assert_int_equal(t.p.state, VFO_VF_LEAVING);
	assert_true(HAS(&t, VFO_ACT_ACTIVE_STANDBY));
	assert_string_equal(t.p.last_reason, "operator");
	assert_int_equal(step(&t, VFO_POL_FORCE_VF), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(step(&t, VFO_POL_FORCE_VF), -EAGAIN); /* no carrier */
}

static void test_active_seen(void **state)
{
	struct t t;

	(void)state;
	setup_t(&t);
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	/* Bonding picked the VF by itself (primary remembered by name)
	 * during the hold-down: undone, not counted. */
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ACTIVE_SEEN,
							     .carrier = true,
							     .vf_active = true }),
			 0);
	assert_true(HAS(&t, VFO_ACT_ACTIVE_STANDBY | VFO_ACT_CLEAR_PRIMARY));
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	assert_int_equal(t.p.switches, 0);
	t.now += HOLD;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	/* The kernel failed over before we saw the carrier drop. */
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ACTIVE_SEEN,
							     .carrier = true,
							     .vf_active = false }),
			 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	assert_string_equal(t.p.last_reason, "kernel-failover");
	assert_int_equal(t.p.flaps, 1);
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ACTIVE_SEEN,
							     .carrier = false,
							     .vf_active = false }),
			 0);
	assert_int_equal(t.out.actions, 0);
}

static void test_adopt(void **state)
{
	struct t t;

	(void)state;
	/* Restart with the VF active and up: keep it, no switch, no flap. */
	setup_t(&t);
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ADOPT,
							     .vf_present = true,
							     .enslaved = true,
							     .carrier = true,
							     .vf_active = true }),
			 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	assert_false(t.p.on_standby);
	assert_false(t.out.actions & (VFO_ACT_ACTIVE_STANDBY | VFO_ACT_ACTIVE_VF |
				      VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ENSLAVE_VF));
	assert_int_equal(t.p.switches, 0);
	assert_int_equal(vfo_pol_standby_ms(&t.p, t.now + 5000), 0);
	/* Enslaved but on the standby: hold-down, then switch. */
	setup_t(&t);
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ADOPT,
							     .vf_present = true,
							     .enslaved = true,
							     .carrier = true }),
			 0);
	assert_int_equal(t.p.state, VFO_VF_HOLDING);
	/* Present, not enslaved (crash between creation and enslaving). */
	setup_t(&t);
	assert_int_equal(
		step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ADOPT, .vf_present = true }),
		0);
	assert_int_equal(t.p.state, VFO_VF_PRESENT);
	assert_true(HAS(&t, VFO_ACT_ENSLAVE_VF | VFO_ACT_CLEAR_PRIMARY));
	/* Enslaved, active, without carrier: back to the standby. */
	setup_t(&t);
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ADOPT,
							     .vf_present = true,
							     .enslaved = true,
							     .vf_active = true }),
			 0);
	assert_int_equal(t.p.state, VFO_VF_WAIT_CARRIER);
	assert_true(HAS(&t, VFO_ACT_ACTIVE_STANDBY));
	/* No VF at all. */
	setup_t(&t);
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_ADOPT }), 0);
	assert_int_equal(t.p.state, VFO_VF_ABSENT);
	assert_true(HAS(&t, VFO_ACT_CLEAR_PRIMARY));
}

/* A VF the host announced becomes preferred after the short hold-down; a
 * flap inside it, or a hint too old, brings back the full one. */
static void test_announced_hold_down(void **state)
{
	struct t t;
	int64_t short_hold;

	(void)state;
	setup_t(&t);
	short_hold = t.p.cfg.announced_hold_down_ms;
	assert_true(short_hold > 0 && short_hold < HOLD);
	assert_int_equal(step(&t, VFO_POL_VF_ARRIVING), 0);
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	t.now += 2000;
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.out.timer_at, t.now + short_hold);
	/* A flap: the announcement no longer counts. */
	t.carrier = false;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.p.flaps, 1);
	t.now += 10;
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.out.timer_at, t.now + HOLD);
	t.now += HOLD;
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);

	/* A hint that came long before the VF does not shorten anything. */
	setup_t(&t);
	assert_int_equal(step(&t, VFO_POL_VF_ARRIVING), 0);
	t.now += 60000;
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_CARRIER), 0);
	assert_int_equal(t.out.timer_at, t.now + HOLD);
}

static void test_zero_hold_down_and_misc(void **state)
{
	struct vfo_pol_cfg c;
	struct t t;

	(void)state;
	setup_t(&t);
	vfo_pol_cfg_default(&c);
	c.hold_down_ms = 0;
	c.leave_timeout_ms = 0;
	vfo_pol_init(&t.p, &c, t.now);
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	t.carrier = true;
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	assert_int_equal(t.p.state, VFO_VF_ACTIVE);
	assert_int_equal(step(&t, VFO_POL_VF_LEAVING), 0);
	assert_false(t.out.actions & VFO_ACT_ARM_TIMER);
	/* Inputs that do not apply are ignored. */
	assert_int_equal(step(&t, VFO_POL_ENSLAVED), 0);
	assert_int_equal(t.out.actions, 0);
	assert_int_equal(step(&t, VFO_POL_VF_ADDED), 0);
	assert_int_equal(t.out.actions, 0);
	assert_int_equal(step(&t, VFO_POL_TIMER), 0);
	assert_int_equal(t.out.actions, 0);
	assert_int_equal(step(&t, (enum vfo_pol_input)99), -EINVAL);
	/* VF added already enslaved (seen after our own enslave). */
	setup_t(&t);
	assert_int_equal(step_ev(&t, (struct vfo_pol_event){ .input = VFO_POL_VF_ADDED,
							     .enslaved = true,
							     .carrier = false }),
			 0);
	assert_int_equal(t.p.state, VFO_VF_WAIT_CARRIER);
	assert_false(t.out.actions & VFO_ACT_ENSLAVE_VF);
	assert_string_equal(vfo_vf_state_str(VFO_VF_HOLDING), "holding-down");
	assert_string_equal(vfo_vf_state_str((enum vfo_vf_state)42), "invalid");
	assert_string_equal(vfo_pol_input_str(VFO_POL_VF_LEAVING), "vf-leaving");
	assert_string_equal(vfo_pol_input_str((enum vfo_pol_input)42), "invalid");
	/* Time never runs backwards into the counters. */
	assert_int_equal(vfo_pol_standby_ms(&t.p, t.now - 100), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_to_active),
		cmocka_unit_test(test_flaps_reset_hold_down),
		cmocka_unit_test(test_active_vf_loses_carrier),
		cmocka_unit_test(test_leaving_then_removal_then_new_vf),
		cmocka_unit_test(test_surprise_removal),
		cmocka_unit_test(test_removal_after_carrier_loss),
		cmocka_unit_test(test_surprise_removal_no_notify),
		cmocka_unit_test(test_leave_timeout_and_arriving),
		cmocka_unit_test(test_operator),
		cmocka_unit_test(test_active_seen),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_announced_hold_down),
		cmocka_unit_test(test_zero_hold_down_and_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
