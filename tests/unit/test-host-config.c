// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hostd configuration: a complete good file is translated key by key;
 * each bad value is refused with "file:line: message" at the right line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostd-config.h"
#include "log.h"

struct errs {
	int n;
	char msg[16][512];
};

static void collect(const char *msg, void *opaque)
{
	struct errs *e = opaque;

	if (e->n < 16)
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

static int load(const char *text, struct errs *e, struct vfo_hostd_cfg **out)
{
	memset(e, 0, sizeof(*e));
	return vfo_hostd_config_load_buffer("hostd.conf", text, strlen(text), collect, e, out);
}

static const char good[] = "# a complete configuration\n"
			   "[hostd]\n"
			   "state_dir = /var/lib/vfo-test\n"
			   "socket = /tmp/vfo-test/hostd.sock\n"
			   "sysfs_root = /tmp/sysfs\n"
			   "group = wheel\n"
			   "log_level = debug\n"
			   "udev = no\n"
			   "reservation_timeout = 30s\n"
			   "rescan_delay = 50ms\n"
			   "max_clients = 64\n"
			   "ctl_max_line = 4096\n"
			   "ctl_max_queue = 65536\n"
			   "ctl_rate = 10\n"
			   "ctl_burst = 20\n"
			   "ack_timeout = 500ms\n"
			   "unplug_timeout = 5s\n"
			   "plug_timeout = 7s\n"
			   "migrate_timeout = 2m\n"
			   "removal_failed_policy = proceed\n"
			   "retries = 5\n"
			   "\n"
			   "[pool physnet1]\n"
			   "backend = sriov\n"
			   "pfs = enp3s0f0#0-15, enp3s0f1\n"
			   "numvfs = 16\n"
			   "driver = vfio-pci\n"
			   "vlan = 100\n"
			   "qos = 3\n"
			   "spoofchk = no\n"
			   "trust = yes\n"
			   "link_state = enable\n"
			   "\n"
			   "[pool physnet2]\n"
			   "backend = sriov\n"
			   "pfs = enp3s0f0#16-31\n"
			   "\n"
			   "[pool demo]\n"
			   "backend = emulated\n"
			   "bridge = br0\n"
			   "model = virtio\n"
			   "count = 4\n";

static void test_good(void **state)
{
	const struct vfo_hostd_pool_cfg *p;
	struct vfo_hostd_cfg *c;
	struct errs e;

	(void)state;
	assert_int_equal(load(good, &e, &c), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(c->path, "hostd.conf");
	assert_string_equal(c->state_dir, "/var/lib/vfo-test");
	assert_string_equal(c->socket, "/tmp/vfo-test/hostd.sock");
	assert_string_equal(c->sysfs_root, "/tmp/sysfs");
	assert_string_equal(c->group, "wheel");
	assert_int_equal(c->log_level, VFO_LOG_DEBUG);
	assert_false(c->udev);
	assert_int_equal(c->reservation_timeout_ms, 30000);
	assert_int_equal(c->rescan_delay_ms, 50);
	assert_int_equal(c->max_clients, 64);
	assert_int_equal(c->ctl_max_line, 4096);
	assert_int_equal(c->ctl_max_queue, 65536);
	assert_int_equal(c->ctl_rate, 10);
	assert_int_equal(c->ctl_burst, 20);
	assert_int_equal(c->ack_timeout_ms, 500);
	assert_int_equal(c->unplug_timeout_ms, 5000);
	assert_int_equal(c->plug_timeout_ms, 7000);
	assert_int_equal(c->migrate_timeout_ms, 120000);
	assert_int_equal(c->removal_failed_policy, VFO_HOSTD_REMOVAL_PROCEED);
	assert_int_equal(c->retries, 5);
	assert_int_equal(c->n_pools, 3);

	p = vfo_hostd_config_pool(c, "physnet1");
	assert_non_null(p);
	assert_int_equal(p->backend, VFO_HOSTD_BACKEND_SRIOV);
	assert_int_equal(p->n_pfs, 2);
	assert_string_equal(p->pfs[0].pf, "enp3s0f0");
	assert_int_equal(p->pfs[0].first, 0);
	assert_int_equal(p->pfs[0].last, 15);
	assert_string_equal(p->pfs[1].pf, "enp3s0f1");
	assert_int_equal(p->pfs[1].first, -1);
	assert_int_equal(p->numvfs, 16);
	assert_string_equal(p->driver, "vfio-pci");
	assert_int_equal(p->vlan, 100);
	assert_int_equal(p->qos, 3);
	assert_false(p->spoofchk);
	assert_true(p->trust);
	assert_int_equal(p->link_state, VFO_HOSTD_LINK_ENABLE);

	p = vfo_hostd_config_pool(c, "physnet2");
	assert_non_null(p);
	assert_int_equal(p->numvfs, -1); /* unset: leave sriov_numvfs alone */
	assert_true(p->spoofchk);
	assert_false(p->trust);
	assert_int_equal(p->link_state, VFO_HOSTD_LINK_AUTO);
	assert_int_equal(p->pfs[0].first, 16);

	p = vfo_hostd_config_pool(c, "demo");
	assert_non_null(p);
	assert_int_equal(p->backend, VFO_HOSTD_BACKEND_EMULATED);
	assert_string_equal(vfo_hostd_backend_str(p->backend), "emulated");
	assert_string_equal(p->bridge, "br0");
	assert_string_equal(p->model, "virtio");
	assert_int_equal(p->count, 4);
	assert_int_equal(p->n_pfs, 0);
	assert_null(vfo_hostd_config_pool(c, "nope"));
	vfo_hostd_config_free(c);
}

static void test_defaults(void **state)
{
	struct vfo_hostd_cfg *c;
	struct errs e;

	(void)state;
	assert_int_equal(load("[pool p]\nbackend = emulated\nbridge = br0\n"
			      "count = 1\n",
			      &e, &c),
			 0);
	assert_string_equal(c->state_dir, VFO_HOSTD_STATE_DIR);
	assert_string_equal(c->socket, VFO_HOSTD_SOCKET_PATH);
	assert_string_equal(c->sysfs_root, "/sys");
	assert_string_equal(c->group, "vfo");
	assert_int_equal(c->log_level, VFO_LOG_INFO);
	assert_true(c->udev);
	assert_int_equal(c->reservation_timeout_ms, 120000);
	assert_int_equal(c->removal_failed_policy, VFO_HOSTD_REMOVAL_ABORT);
	assert_string_equal(c->pools[0].model, "e1000e");
	vfo_hostd_config_free(c);

	/* An empty file is valid: a host with nothing to hand out yet. */
	assert_int_equal(load("", &e, &c), 0);
	assert_int_equal(c->n_pools, 0);
	vfo_hostd_config_free(c);
}

struct bad_case {
	const char *text;
	int line; /* expected line of the first message */
	const char *needle; /* expected in that message */
};

/* Line 1 is always "[hostd]" or "[pool x]" in these snippets. */
static const struct bad_case bad_cases[] = {
	{ "[hostd]\nstate_dir = relative/dir\n", 2, "absolute" },
	{ "[hostd]\nsocket = run/x.sock\n", 2, "absolute" },
	{ "[hostd]\nsysfs_root = sys\n", 2, "absolute" },
	{ "[hostd]\nlog_level = loud\n", 2, "log_level" },
	{ "[hostd]\nudev = maybe\n", 2, "udev" },
	{ "[hostd]\nreservation_timeout = 10\n", 2, "reservation_timeout" },
	{ "[hostd]\nreservation_timeout = 500ms\n", 2, "reservation_timeout" },
	{ "[hostd]\nreservation_timeout = 2d\n", 2, "reservation_timeout" },
	{ "[hostd]\nmax_clients = 0\n", 2, "max_clients" },
	{ "[hostd]\nmax_clients = many\n", 2, "max_clients" },
	{ "[hostd]\nctl_max_line = 10\n", 2, "ctl_max_line" },
	{ "[hostd]\nctl_rate = -1\n", 2, "ctl_rate" },
	{ "[hostd]\nack_timeout = 1ms\n", 2, "ack_timeout" },
	{ "[hostd]\nunplug_timeout = soon\n", 2, "unplug_timeout" },
	{ "[hostd]\nremoval_failed_policy = retry\n", 2, "removal_failed_policy" },
	{ "[hostd]\nretries = 1000\n", 2, "retries" },
	{ "[hostd]\nbogus = 1\n", 2, "bogus" },
	{ "[hostd]\nsocket = /a\nsocket = /b\n", 3, "socket" },
	{ "[hostd]\nsocket = /tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
	  2, "107" },
	{ "[pool x]\nbackend = magic\n", 2, "backend" },
	{ "[pool x]\nbridge = br0\n", 1, "backend" },
	{ "[pool x]\nbackend = sriov\n", 1, "pfs" },
	{ "[pool x]\nbackend = sriov\npfs = eth0#5-2\n", 3, "eth0" },
	{ "[pool x]\nbackend = sriov\npfs = eth0#a\n", 3, "eth0" },
	{ "[pool x]\nbackend = sriov\npfs = eth0, eth0#1-2\n", 3, "twice" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\nnumvfs = 5000\n", 4, "numvfs" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\nvlan = 4095\n", 4, "vlan" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\nqos = 2\n", 4, "vlan" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\nspoofchk = perhaps\n", 4, "spoofchk" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\ntrust = 2\n", 4, "trust" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\nlink_state = up\n", 4, "link_state" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\ndriver = ../x\n", 4, "driver" },
	{ "[pool x]\nbackend = sriov\npfs = eth0\nbridge = br0\n", 4, "does not apply" },
	{ "[pool x]\nbackend = emulated\ncount = 2\n", 1, "bridge" },
	{ "[pool x]\nbackend = emulated\nbridge = br0\n", 1, "count" },
	{ "[pool x]\nbackend = emulated\nbridge = a/b\ncount = 1\n", 3, "bridge" },
	{ "[pool x]\nbackend = emulated\nbridge = br0\ncount = 1\nmodel = <x>\n", 5, "model" },
	{ "[pool x]\nbackend = emulated\nbridge = br0\ncount = 1\nvlan = 3\n", 5,
	  "does not apply" },
	{ "[pool x]\nbackend = emulated\nbridge = br0\ncount = 9999\n", 4, "count" },
	{ "[pool x]\nbackend = emulated\nbridge = br0\ncount = 1\n"
	  "[pool x]\nbackend = emulated\nbridge = br0\ncount = 1\n",
	  5, "x" },
	{ "[pool]\nbackend = emulated\n", 1, "pool" },
	{ "[pool bad/name]\nbackend = emulated\n", 1, "bad/name" },
	{ "[hostd]\nthis is not ini\n", 2, "" },
	{ "[nosuch]\n", 1, "nosuch" },
};

static void test_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < VFO_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct vfo_hostd_cfg *c = (void *)1;
		char prefix[64];
		struct errs e;
		int r;

		r = load(bc->text, &e, &c);
		if (r != -EINVAL || e.n < 1 || c)
			fail_msg("case %zu: r=%d n=%d for:\n%s", i, r, e.n, bc->text);
		snprintf(prefix, sizeof(prefix), "hostd.conf:%d: ", bc->line);
		if (strncmp(e.msg[0], prefix, strlen(prefix)) || !strstr(e.msg[0], bc->needle))
			fail_msg("case %zu: got '%s', want '%s...%s'", i, e.msg[0], prefix,
				 bc->needle);
	}
}

/* Two pools claiming one VF is a whole-file problem: no line, but refused. */
static void test_overlap(void **state)
{
	struct vfo_hostd_cfg *c;
	struct errs e;

	(void)state;
	assert_int_equal(load("[pool a]\nbackend = sriov\npfs = eth0#0-7\n"
			      "[pool b]\nbackend = sriov\npfs = eth0#7-9\n",
			      &e, &c),
			 -EINVAL);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "hostd.conf: pools 'a' and 'b'"));

	assert_int_equal(load("[pool a]\nbackend = sriov\npfs = eth0\n"
			      "[pool b]\nbackend = sriov\npfs = eth0#3\n",
			      &e, &c),
			 -EINVAL);
	assert_null(c);

	/* Disjoint ranges of one PF are fine. */
	assert_int_equal(load("[pool a]\nbackend = sriov\npfs = eth0#0-7\n"
			      "[pool b]\nbackend = sriov\npfs = eth0#8-9\n",
			      &e, &c),
			 0);
	assert_int_equal(c->n_pools, 2);
	vfo_hostd_config_free(c);

	/* ... unless they want different numvfs for it; the same count, or
	 * one of them leaving it alone, is fine. */
	assert_int_equal(load("[pool a]\nbackend = sriov\npfs = eth0#0-7\nnumvfs = 16\n"
			      "[pool b]\nbackend = sriov\npfs = eth0#8-9\nnumvfs = 10\n",
			      &e, &c),
			 -EINVAL);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(
		strstr(e.msg[0], "pools 'a' and 'b' share PF 'eth0' but want numvfs 16 and 10"));
	assert_int_equal(load("[pool a]\nbackend = sriov\npfs = eth0#0-7\nnumvfs = 16\n"
			      "[pool b]\nbackend = sriov\npfs = eth0#8-9\nnumvfs = 16\n",
			      &e, &c),
			 0);
	vfo_hostd_config_free(c);
	assert_int_equal(load("[pool a]\nbackend = sriov\npfs = eth0#0-7\nnumvfs = 16\n"
			      "[pool b]\nbackend = sriov\npfs = eth0#8-9\n",
			      &e, &c),
			 0);
	vfo_hostd_config_free(c);
}

/* Every problem of a file is listed, not only the first. */
static void test_all_reported(void **state)
{
	struct vfo_hostd_cfg *c;
	struct errs e;

	(void)state;
	assert_int_equal(load("[hostd]\nudev = x\nretries = -1\n"
			      "[pool p]\nbackend = sriov\nvlan = 9999\n",
			      &e, &c),
			 -EINVAL);
	assert_true(e.n >= 3);
	assert_non_null(strstr(e.msg[0], "hostd.conf:2:"));
	assert_non_null(strstr(e.msg[1], "hostd.conf:3:"));
}

static void test_file(void **state)
{
	char path[] = "/tmp/test-host-config-XXXXXX";
	struct vfo_hostd_cfg *c;
	struct errs e = { 0 };
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	close(fd);
	assert_int_equal(vfo_hostd_config_load(path, collect, &e, &c), 0);
	assert_string_equal(c->path, path);
	assert_int_equal(c->n_pools, 3);
	vfo_hostd_config_free(c);
	unlink(path);

	/* A missing file is an error, reported, not a default config. */
	assert_true(vfo_hostd_config_load(path, collect, &e, &c) < 0);
	assert_null(c);
	assert_true(e.n >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),	     cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_values),   cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_all_reported), cmocka_unit_test(test_file),
	};

	vfo_log_set_level(VFO_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
