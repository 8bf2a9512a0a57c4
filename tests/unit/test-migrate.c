// SPDX-License-Identifier: LGPL-2.1-or-later
/* The migration state machine: every path of the choreography, the
 * failure policies, and persistence at every step. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migrate.h"

struct fx {
	struct vfo_mig m;
	struct vfo_mig_cfg cfg;
	struct vfo_mig_action acts[VFO_MIG_MAX_ACTIONS];
	int n;
	int64_t now;
};

/* Persist and reload before every step: the orchestrator does exactly that,
 * and a restart may happen between any two steps. */
static void reload(struct fx *f)
{
	struct json_object *o = vfo_mig_to_json(&f->m, f->now);
	struct vfo_mig back;
	const char *s = json_object_to_json_string(o);
	struct json_object *parsed = json_tokener_parse(s);

	assert_non_null(parsed);
	assert_int_equal(vfo_mig_from_json(parsed, f->now, &back), 0);
	assert_int_equal(back.state, f->m.state);
	assert_int_equal(back.deadline_ms, f->m.deadline_ms);
	assert_int_equal(back.n_pairs, f->m.n_pairs);
	assert_memory_equal(back.pairs, f->m.pairs, sizeof(back.pairs));
	f->m = back;
	json_object_put(o);
	json_object_put(parsed);
}

static int feed(struct fx *f, enum vfo_mig_input_type t, const char *pair, const char *alias)
{
	struct vfo_mig_input in = {
		.type = t, .now_ms = f->now, .pair = pair, .alias = alias, .error = "boom"
	};

	reload(f);
	f->n = vfo_mig_step(&f->m, &f->cfg, &in, f->acts);
	return f->n;
}

static void expect(struct fx *f, int n, ...)
{
	va_list ap;

	assert_int_equal(f->n, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int type = va_arg(ap, int);
		int pair = va_arg(ap, int);

		assert_int_equal(f->acts[i].type, type);
		if (pair >= 0)
			assert_int_equal(f->acts[i].pair, pair);
	}
	va_end(ap);
}

static void setup_src(struct fx *f, bool agent, int npairs)
{
	memset(f, 0, sizeof(*f));
	vfo_mig_cfg_defaults(&f->cfg);
	f->now = 1000;
	assert_int_equal(vfo_mig_init(&f->m, false, "vm1", "u-1", "qemu+tcp://b/system", agent), 0);
	assert_int_equal(vfo_mig_add_pair(&f->m, "net0", "ua-vfo-net0", true), 0);
	if (npairs > 1)
		assert_int_equal(vfo_mig_add_pair(&f->m, "net1", "ua-vfo-net1", true), 0);
}

static void test_happy_path(void **state)
{
	struct fx f;

	setup_src(&f, true, 2);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	expect(&f, 2, VFO_MIG_ACT_SEND_LEAVING, 0, VFO_MIG_ACT_SEND_LEAVING, 1);
	assert_int_equal(f.m.state, VFO_MIG_LEAVING);
	assert_int_equal(f.m.deadline_ms, 1000 + f.cfg.ack_timeout_ms);

	feed(&f, VFO_MIG_IN_ACK, "net0", NULL);
	expect(&f, 0);
	assert_int_equal(f.m.state, VFO_MIG_LEAVING);
	feed(&f, VFO_MIG_IN_ACK, "net1", NULL);
	expect(&f, 2, VFO_MIG_ACT_DETACH, 0, VFO_MIG_ACT_DETACH, 1);
	assert_int_equal(f.m.state, VFO_MIG_DETACHING);

	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net1");
	expect(&f, 0);
	/* The same event twice is a stray. */
	assert_int_equal(feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net1"), -EINVAL);
	assert_int_equal(feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-other"), -EINVAL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	expect(&f, 1, VFO_MIG_ACT_MIGRATE, -1);
	assert_int_equal(f.m.state, VFO_MIG_MIGRATING);

	feed(&f, VFO_MIG_IN_MIGRATE_OK, NULL, NULL);
	expect(&f, 2, VFO_MIG_ACT_RELEASE, 0, VFO_MIG_ACT_RELEASE, 1);
	assert_int_equal(f.m.state, VFO_MIG_RELEASING);
	feed(&f, VFO_MIG_IN_RELEASED, "net0", NULL);
	expect(&f, 0);
	feed(&f, VFO_MIG_IN_RELEASED, "net1", NULL);
	expect(&f, 1, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_DONE);
	assert_true(vfo_mig_finished(&f.m));
	assert_string_equal(f.m.error, "");
	/* Nothing moves a finished migration. */
	assert_int_equal(feed(&f, VFO_MIG_IN_ACK, "net0", NULL), -EINVAL);
	assert_int_equal(feed(&f, VFO_MIG_IN_TICK, NULL, NULL), 0);
}

static void test_no_agent_skips_leaving(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_DETACH, 0);
	assert_int_equal(f.m.state, VFO_MIG_DETACHING);
}

static void test_guest_never_acks(void **state)
{
	struct fx f;

	setup_src(&f, true, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	f.now += f.cfg.ack_timeout_ms - 1;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	expect(&f, 0);
	assert_int_equal(f.m.state, VFO_MIG_LEAVING);
	f.now += 1;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_DETACH, 0);
	assert_int_equal(f.m.state, VFO_MIG_DETACHING);
	assert_int_equal(f.m.deadline_ms, f.now + f.cfg.unplug_timeout_ms);
}

static void test_agent_gone_while_leaving(void **state)
{
	struct fx f;

	setup_src(&f, true, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_AGENT_GONE, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_DETACH, 0);
	assert_false(f.m.agent);
}

static void test_removal_failed_abort(void **state)
{
	struct fx f;

	setup_src(&f, true, 2);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_ACK, "net0", NULL);
	feed(&f, VFO_MIG_IN_ACK, "net1", NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	feed(&f, VFO_MIG_IN_REMOVAL_FAILED, NULL, "ua-vfo-net1");
	/* net0 went: attach it back; net1 never left: only tell the guest. */
	expect(&f, 2, VFO_MIG_ACT_ATTACH, 0, VFO_MIG_ACT_SEND_ARRIVING, 1);
	assert_int_equal(f.m.state, VFO_MIG_ROLLBACK);
	assert_non_null(strstr(f.m.error, "refused"));
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net0", NULL);
	expect(&f, 2, VFO_MIG_ACT_SEND_ARRIVING, 0, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_FAILED);
}

static void test_removal_failed_proceed(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	f.cfg.removal_failed = VFO_MIG_POLICY_PROCEED;
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_REMOVAL_FAILED, NULL, "ua-vfo-net0");
	expect(&f, 1, VFO_MIG_ACT_MIGRATE, -1);
}

static void test_unplug_timeout(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	f.now += f.cfg.unplug_timeout_ms;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	/* Still attached as far as we know: nothing to re-attach. */
	expect(&f, 2, VFO_MIG_ACT_SEND_ARRIVING, 0, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_FAILED);
	assert_non_null(strstr(f.m.error, "timed out"));

	/* Same, with "proceed". */
	setup_src(&f, false, 1);
	f.cfg.removal_failed = VFO_MIG_POLICY_PROCEED;
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	f.now += f.cfg.unplug_timeout_ms;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_MIGRATE, -1);
}

static void test_late_removal_is_rolled_back(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	f.cfg.removal_failed = VFO_MIG_POLICY_PROCEED;
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	f.now += f.cfg.unplug_timeout_ms;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	assert_int_equal(f.m.state, VFO_MIG_MIGRATING);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	expect(&f, 0);
	feed(&f, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_ATTACH, 0);
}

static void test_migration_fails_vf_comes_back(void **state)
{
	struct fx f;

	setup_src(&f, true, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_ACK, "net0", NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	feed(&f, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_ATTACH, 0);
	assert_int_equal(f.m.state, VFO_MIG_ROLLBACK);
	assert_string_equal(f.m.error, "migration failed: boom");
	/* One failed attach is retried within the budget. */
	feed(&f, VFO_MIG_IN_ATTACH_FAILED, "net0", NULL);
	expect(&f, 1, VFO_MIG_ACT_ATTACH, 0);
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net0", NULL);
	expect(&f, 2, VFO_MIG_ACT_SEND_ARRIVING, 0, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_FAILED);
	assert_string_equal(f.m.error, "migration failed: boom");
}

static void test_attach_retries_exhausted(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	feed(&f, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL);
	for (unsigned int i = 0; i < f.cfg.attach_retries; i++) {
		feed(&f, VFO_MIG_IN_ATTACH_FAILED, "net0", NULL);
		expect(&f, 1, VFO_MIG_ACT_ATTACH, 0);
	}
	feed(&f, VFO_MIG_IN_ATTACH_FAILED, "net0", NULL);
	expect(&f, 1, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_FAILED);
	assert_false(f.m.pairs[0].has_vf);
}

static void test_attach_timeout_retries(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	feed(&f, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL);
	for (unsigned int i = 0; i < f.cfg.attach_retries; i++) {
		f.now += f.cfg.attach_timeout_ms;
		feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
		expect(&f, 1, VFO_MIG_ACT_ATTACH, 0);
	}
	f.now += f.cfg.attach_timeout_ms;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_FAILED);
}

static void test_migrate_timeout_rearms(void **state)
{
	struct fx f;

	setup_src(&f, false, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	f.now += f.cfg.migrate_timeout_ms;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	assert_int_equal(f.m.state, VFO_MIG_MIGRATING);
	assert_int_equal(f.m.deadline_ms, f.now + f.cfg.migrate_timeout_ms);
	assert_non_null(strstr(f.m.error, "timed out"));
}

static void setup_dst(struct fx *f, int npairs)
{
	memset(f, 0, sizeof(*f));
	vfo_mig_cfg_defaults(&f->cfg);
	f->now = 5000;
	assert_int_equal(vfo_mig_init(&f->m, true, "vm1", "u-1", NULL, true), 0);
	assert_int_equal(vfo_mig_add_pair(&f->m, "net0", "ua-vfo-net0", true), 0);
	if (npairs > 1)
		assert_int_equal(vfo_mig_add_pair(&f->m, "net1", "ua-vfo-net1", true), 0);
}

static void test_destination(void **state)
{
	struct fx f;

	setup_dst(&f, 2);
	assert_int_equal(feed(&f, VFO_MIG_IN_START, NULL, NULL), -EINVAL);
	feed(&f, VFO_MIG_IN_ARRIVED, NULL, NULL);
	expect(&f, 2, VFO_MIG_ACT_ATTACH, 0, VFO_MIG_ACT_ATTACH, 1);
	assert_int_equal(f.m.state, VFO_MIG_ATTACHING);
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net1", NULL);
	expect(&f, 1, VFO_MIG_ACT_SEND_ARRIVING, 1);
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net0", NULL);
	expect(&f, 2, VFO_MIG_ACT_SEND_ARRIVING, 0, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_DONE);
}

static void test_destination_degraded(void **state)
{
	struct fx f;

	setup_dst(&f, 1);
	feed(&f, VFO_MIG_IN_ARRIVED, NULL, NULL);
	feed(&f, VFO_MIG_IN_NO_VF, "net0", NULL);
	expect(&f, 0);
	assert_int_equal(f.m.state, VFO_MIG_DEGRADED);
	assert_int_equal(f.m.deadline_ms, 0);
	/* Degraded waits for as long as it takes. */
	f.now += 3600 * 1000;
	feed(&f, VFO_MIG_IN_TICK, NULL, NULL);
	assert_int_equal(f.m.state, VFO_MIG_DEGRADED);
	feed(&f, VFO_MIG_IN_VF_FREED, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_ATTACH, 0);
	assert_int_equal(f.m.state, VFO_MIG_ATTACHING);
	feed(&f, VFO_MIG_IN_NO_VF, "net0", NULL); /* someone else got it */
	assert_int_equal(f.m.state, VFO_MIG_DEGRADED);
	feed(&f, VFO_MIG_IN_VF_FREED, NULL, NULL);
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net0", NULL);
	expect(&f, 2, VFO_MIG_ACT_SEND_ARRIVING, 0, VFO_MIG_ACT_FINISHED, -1);
	assert_int_equal(f.m.state, VFO_MIG_DONE);
}

/* A restart in each step redoes that step's actions, no more. */
static void test_resume_each_step(void **state)
{
	struct fx f;

	setup_src(&f, true, 2);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_ACK, "net0", NULL);
	feed(&f, VFO_MIG_IN_RESUME, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_SEND_LEAVING, 1);
	feed(&f, VFO_MIG_IN_ACK, "net1", NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	feed(&f, VFO_MIG_IN_RESUME, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_DETACH, 1);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net1");
	assert_int_equal(f.m.state, VFO_MIG_MIGRATING);
	feed(&f, VFO_MIG_IN_RESUME, NULL, NULL);
	expect(&f, 0);
	feed(&f, VFO_MIG_IN_MIGRATE_OK, NULL, NULL);
	feed(&f, VFO_MIG_IN_RELEASED, "net1", NULL);
	feed(&f, VFO_MIG_IN_RESUME, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_RELEASE, 0);
	feed(&f, VFO_MIG_IN_RELEASED, "net0", NULL);
	assert_int_equal(f.m.state, VFO_MIG_DONE);

	/* Rollback: only the VF not yet back is attached again. */
	setup_src(&f, false, 2);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net0");
	feed(&f, VFO_MIG_IN_DEVICE_REMOVED, NULL, "ua-vfo-net1");
	feed(&f, VFO_MIG_IN_MIGRATE_FAILED, NULL, NULL);
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net0", NULL);
	feed(&f, VFO_MIG_IN_RESUME, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_ATTACH, 1);
	feed(&f, VFO_MIG_IN_ATTACH_OK, "net1", NULL);
	assert_int_equal(f.m.state, VFO_MIG_FAILED);

	/* Leaving with the agent gone meanwhile: straight on to detach. */
	setup_src(&f, true, 1);
	feed(&f, VFO_MIG_IN_START, NULL, NULL);
	f.m.agent = false;
	feed(&f, VFO_MIG_IN_RESUME, NULL, NULL);
	expect(&f, 1, VFO_MIG_ACT_DETACH, 0);
}

static void test_bad_init_and_json(void **state)
{
	struct vfo_mig m;
	struct json_object *o;
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"state\":\"nope\",\"incoming\":false,\"agent\":false,\"p2p\":false,"
		"\"deadline_in_ms\":0,\"started_ms\":0,\"domain\":\"d\",\"dest_uri\":\"x\",\"pairs\":[]}",
		"{\"state\":\"leaving\",\"incoming\":false,\"agent\":false,\"p2p\":false,"
		"\"deadline_in_ms\":0,\"started_ms\":0,\"domain\":\"d\",\"dest_uri\":\"x\",\"pairs\":{}}",
		"{\"state\":\"leaving\",\"incoming\":false,\"agent\":false,\"p2p\":false,"
		"\"deadline_in_ms\":0,\"started_ms\":0,\"domain\":\"d\",\"dest_uri\":\"x\","
		"\"pairs\":[{\"id\":\"a\"}]}",
		"{\"state\":\"leaving\",\"incoming\":\"no\",\"agent\":false,\"p2p\":false,"
		"\"deadline_in_ms\":0,\"started_ms\":0,\"domain\":\"d\",\"dest_uri\":\"x\",\"pairs\":[]}",
		"{\"state\":\"leaving\",\"incoming\":false,\"agent\":false,\"p2p\":false,"
		"\"deadline_in_ms\":0,\"started_ms\":0,\"domain\":\"\",\"dest_uri\":\"x\",\"pairs\":[]}",
	};

	assert_int_equal(vfo_mig_init(&m, false, "", NULL, "x", false), -EINVAL);
	assert_int_equal(vfo_mig_init(&m, false, "d", NULL, "", false), -EINVAL);
	assert_int_equal(vfo_mig_init(&m, true, "d", NULL, NULL, false), 0);
	for (int i = 0; i < VFO_MIG_MAX_PAIRS; i++) {
		char id[8];

		snprintf(id, sizeof(id), "p%d", i);
		assert_int_equal(vfo_mig_add_pair(&m, id, "a", true), 0);
	}
	assert_int_equal(vfo_mig_add_pair(&m, "x", "a", true), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_tokener_parse(bad[i]);
		assert_non_null(o);
		assert_int_equal(vfo_mig_from_json(o, 0, &m), -EBADMSG);
		json_object_put(o);
	}
	assert_int_equal(vfo_mig_state_from_str("rollback"), VFO_MIG_ROLLBACK);
	assert_int_equal(vfo_mig_state_from_str(NULL), -EINVAL);
	assert_string_equal(vfo_mig_state_str((enum vfo_mig_state)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_no_agent_skips_leaving),
		cmocka_unit_test(test_guest_never_acks),
		cmocka_unit_test(test_agent_gone_while_leaving),
		cmocka_unit_test(test_removal_failed_abort),
		cmocka_unit_test(test_removal_failed_proceed),
		cmocka_unit_test(test_unplug_timeout),
		cmocka_unit_test(test_late_removal_is_rolled_back),
		cmocka_unit_test(test_migration_fails_vf_comes_back),
		cmocka_unit_test(test_attach_retries_exhausted),
		cmocka_unit_test(test_attach_timeout_retries),
		cmocka_unit_test(test_migrate_timeout_rearms),
		cmocka_unit_test(test_destination),
		cmocka_unit_test(test_destination_degraded),
		cmocka_unit_test(test_resume_each_step),
		cmocka_unit_test(test_bad_init_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
