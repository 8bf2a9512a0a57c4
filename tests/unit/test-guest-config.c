// SPDX-License-Identifier: LGPL-2.1-or-later
/* vfo-guestd's configuration (guest-agent/config.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guest-config.h"
#include "log.h"

struct errs {
	int n;
	char last[256];
};

static void on_err(const char *msg, void *opaque)
{
	struct errs *e = opaque;

	e->n++;
	snprintf(e->last, sizeof(e->last), "%s", msg);
}

static int load(struct vfo_guest_cfg *c, const char *text, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	vfo_guest_cfg_default(c);
	return vfo_guest_cfg_load_buffer(c, "t.conf", text, strlen(text), on_err, e);
}

static void test_defaults(void **state)
{
	struct vfo_guest_cfg c;
	struct errs e;

	(void)state;
	assert_int_equal(load(&c, "", &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(c.channel, "/dev/virtio-ports/org.vfo.guest.0");
	assert_string_equal(c.ctl_socket, "/run/vfo/guestd.sock");
	assert_int_equal(c.settle_ms, 200);
	assert_int_equal(c.log_level, VFO_LOG_INFO);
	assert_true(c.auto_pair);
	assert_string_equal(c.name_prefix, "vfo");
	assert_int_equal(c.miimon, 100);
	assert_int_equal(c.hold_down_ms, 500);
	assert_int_equal(c.num_peer_notif, 3);
	assert_int_equal(c.peer_notif_delay, 0);
	assert_int_equal(c.primary_reselect, 2); /* failure */
	assert_true(c.move_addresses);
	assert_true(c.all_slaves_active);
	assert_int_equal(c.n_pairs, 0);
}

static void test_full(void **state)
{
	struct vfo_guest_cfg c;
	struct errs e;

	(void)state;
	assert_int_equal(load(&c,
			      "[agent]\n"
			      "channel = none\n"
			      "control_socket = /tmp/x.sock\n"
			      "settle_ms = 50\n"
			      "log_level = debug\n"
			      "auto_pair = no\n"
			      "[bond]\n"
			      "name_prefix = bo\n"
			      "miimon = 50\n"
			      "hold_down_ms = 2000\n"
			      "num_peer_notif = 5\n"
			      "peer_notif_delay = 100\n"
			      "primary_reselect = always\n"
			      "move_addresses = false\n"
			      "all_slaves_active = no\n"
			      "[pair web]\n"
			      "standby = 52:54:00:00:00:01\n"
			      "vf = 0000:03:00.0\n"
			      "bond = bweb\n"
			      "[pair \"db\"]\n"
			      "standby = ens3\n",
			      &e),
			 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(c.channel, "");
	assert_string_equal(c.ctl_socket, "/tmp/x.sock");
	assert_int_equal(c.settle_ms, 50);
	assert_int_equal(c.log_level, VFO_LOG_DEBUG);
	assert_false(c.auto_pair);
	assert_string_equal(c.name_prefix, "bo");
	assert_int_equal(c.miimon, 50);
	assert_int_equal(c.hold_down_ms, 2000);
	assert_int_equal(c.num_peer_notif, 5);
	assert_int_equal(c.peer_notif_delay, 100);
	assert_int_equal(c.primary_reselect, 0);
	assert_false(c.move_addresses);
	assert_false(c.all_slaves_active);
	assert_int_equal(c.n_pairs, 2);
	assert_string_equal(c.pairs[0].name, "web");
	assert_int_equal(c.pairs[0].standby.kind, VFO_SEL_MAC);
	assert_int_equal(c.pairs[0].vf.kind, VFO_SEL_PCI);
	assert_string_equal(c.pairs[0].bond, "bweb");
	assert_string_equal(c.pairs[1].name, "db");
	assert_int_equal(c.pairs[1].standby.kind, VFO_SEL_NAME);
	assert_int_equal(c.pairs[1].vf.kind, VFO_SEL_NONE);
	assert_string_equal(c.pairs[1].bond, "");
}

static void expect_bad(const char *text, const char *needle)
{
	struct vfo_guest_cfg c, before;
	struct errs e;

	vfo_guest_cfg_default(&before);
	assert_int_not_equal(load(&c, text, &e), 0);
	assert_true(e.n >= 1);
	if (!strstr(e.last, needle))
		fail_msg("'%s' does not mention '%s'", e.last, needle);
	/* A refused file leaves the defaults untouched. */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_bad("[agent]\nlog_level = loud\n", "t.conf:2");
	expect_bad("[agent]\nsettle_ms = -1\n", "t.conf:2");
	expect_bad("[agent]\nsettle_ms = 1s\n", "t.conf:2");
	expect_bad("[agent]\nbogus = 1\n", "t.conf:2");
	expect_bad("[bond]\nmiimon = 0\n", "t.conf:2");
	expect_bad("[bond]\nnum_peer_notif = 256\n", "t.conf:2");
	expect_bad("[bond]\nprimary_reselect = sometimes\n", "t.conf:2");
	expect_bad("[bond]\nname_prefix = a/b\n", "name_prefix");
	expect_bad("[bond]\nname_prefix = waytoolongprefix\n", "name_prefix");
	expect_bad("[bond]\nmiimon = 100\npeer_notif_delay = 150\n", "multiple of miimon");
	expect_bad("[pair x]\nvf = eth1\n", "standby");
	expect_bad("[pair x]\nstandby = 52:54:00:zz:00:01\n", "standby");
	expect_bad("[pair x]\nstandby = eth0\nvf = bad name\n", "vf");
	expect_bad("[pair x]\nstandby = eth0\nbond = a:b\n", "bond");
	expect_bad("[pair x]\nstandby = eth0\nbond = b0\n[pair y]\nstandby = eth1\nbond = b0\n",
		   "both use bond b0");
	expect_bad("[nosuch]\nx = 1\n", "t.conf:1");
	expect_bad("garbage line\n", "t.conf:1");
}

static void test_too_many_pairs(void **state)
{
	char buf[4096];
	size_t off = 0;
	int i;

	(void)state;
	for (i = 0; i <= VFO_PAIR_MAX; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"[pair p%d]\nstandby = eth%d\n", i, i);
	expect_bad(buf, "more than");
}

static void test_file(void **state)
{
	struct vfo_guest_cfg c;
	struct errs e = { 0 };
	char path[] = "/tmp/test-guest-config-XXXXXX";
	int fd;

	(void)state;
	vfo_guest_cfg_default(&c);
	/* Missing and optional: defaults. Missing and required: error. */
	assert_int_equal(vfo_guest_cfg_load(&c, "/nonexistent/guestd.conf", false, on_err, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(vfo_guest_cfg_load(&c, "/nonexistent/guestd.conf", true, on_err, &e),
			 -ENOENT);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[bond]\nhold_down_ms = 750\n", 26), 26);
	close(fd);
	assert_int_equal(vfo_guest_cfg_load(&c, path, true, on_err, &e), 0);
	assert_int_equal(c.hold_down_ms, 750);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_full),
		cmocka_unit_test(test_bad_values), cmocka_unit_test(test_too_many_pairs),
		cmocka_unit_test(test_file),
	};

	vfo_log_set_level(VFO_LOG_ERR - 1); /* quiet */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
