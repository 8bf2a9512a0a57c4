// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * When sriov_numvfs is written (numvfs.c): at start every configured PF
 * that differs; on a rescan only a PF that came up (hot-plugged, driver
 * bound again, netdev back under its name, or a bind event the scans
 * could not see); never a PF without a driver, with VFs in use, or past
 * sriov_totalvfs; one decision per PF.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numvfs.h"

#define PF0 "0000:01:00.0"
#define PF1 "0000:02:00.0"

static struct vfo_hostd_cfg *load(const char *pools)
{
	struct vfo_hostd_cfg *cfg = NULL;
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "[hostd]\nudev = no\n\n%s", pools);

	assert_int_equal(vfo_hostd_config_load_buffer("t.conf", buf, (size_t)n, NULL, NULL, &cfg),
			 0);
	return cfg;
}

/* An inventory of up to 2 PFs; VFs at 0000:0B:10.i. */
struct pfdesc {
	const char *addr, *netdev, *driver;
	int numvfs;
};

static struct vfo_inventory *inv(const struct pfdesc *d, size_t n)
{
	struct vfo_inventory *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->pfs = calloc(n ? n : 1, sizeof(*v->pfs));
	assert_non_null(v->pfs);
	v->n_pfs = n;
	for (size_t i = 0; i < n; i++) {
		struct vfo_inv_pf *pf = &v->pfs[i];

		snprintf(pf->addr, sizeof(pf->addr), "%s", d[i].addr);
		snprintf(pf->netdev, sizeof(pf->netdev), "%s", d[i].netdev ? d[i].netdev : "");
		snprintf(pf->driver, sizeof(pf->driver), "%s", d[i].driver ? d[i].driver : "");
		pf->totalvfs = 7;
		pf->numvfs = d[i].numvfs;
		pf->n_vfs = (size_t)d[i].numvfs;
		pf->vfs = calloc(pf->n_vfs ? pf->n_vfs : 1, sizeof(*pf->vfs));
		assert_non_null(pf->vfs);
		for (size_t j = 0; j < pf->n_vfs; j++) {
			snprintf(pf->vfs[j].addr, sizeof(pf->vfs[j].addr), "0000:%02x:10.%u",
				 (unsigned int)(i + 1) & 0xff, (unsigned int)j & 7);
			pf->vfs[j].index = (int)j;
			pf->vfs[j].pf = (int)i;
		}
	}
	return v;
}

static const char *held;

static bool holds(const char *vf_addr, void *opaque)
{
	(void)opaque;
	return held && !strcmp(held, vf_addr);
}

struct plan {
	struct vfo_numvfs_step *s;
	size_t n;
};

static struct plan plan(const struct vfo_hostd_cfg *cfg, const struct vfo_inventory *prev,
			const struct vfo_inventory *cur, const char *rebound)
{
	const char *rb[1] = { rebound };
	struct plan p;

	assert_int_equal(
		vfo_numvfs_plan(cfg, prev, cur, rb, rebound ? 1 : 0, holds, NULL, &p.s, &p.n), 0);
	return p;
}

static const char pool2[] = "[pool a]\nbackend = sriov\npfs = eth0\nnumvfs = 2\n";

static void test_start(void **state)
{
	struct vfo_hostd_cfg *cfg = load(pool2);
	struct pfdesc d[] = { { PF0, "eth0", "igb", 0 } };
	struct vfo_inventory *cur = inv(d, 1);
	struct plan p = plan(cfg, NULL, cur, NULL);

	(void)state;
	assert_int_equal(p.n, 1);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_WRITE);
	assert_string_equal(p.s[0].addr, PF0);
	assert_string_equal(p.s[0].netdev, "eth0");
	assert_string_equal(p.s[0].pool, "a");
	assert_int_equal(p.s[0].from, 0);
	assert_int_equal(p.s[0].to, 2);
	assert_false(p.s[0].appeared);
	free(p.s);
	vfo_inventory_free(cur);
	/* Already right: nothing to do. */
	d[0].numvfs = 2;
	cur = inv(d, 1);
	p = plan(cfg, NULL, cur, NULL);
	assert_int_equal(p.n, 0);
	assert_null(p.s);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);
}

static void test_start_refusals(void **state)
{
	struct vfo_hostd_cfg *cfg = load("[pool a]\nbackend = sriov\npfs = eth0, eth1\nnumvfs = 2\n"
					 "[pool b]\nbackend = sriov\npfs = eth9\nnumvfs = 9\n");
	struct pfdesc d[] = { { PF0, "eth0", NULL, 0 },
			      { PF1, "eth1", "igb", 3 },
			      { "0000:09:00.0", "eth9", "igb", 0 } };
	struct vfo_inventory *cur = inv(d, 3);
	struct plan p;

	(void)state;
	held = "0000:02:10.1";
	p = plan(cfg, NULL, cur, NULL);
	held = NULL;
	assert_int_equal(p.n, 3);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_NO_DRIVER);
	assert_int_equal(p.s[1].verdict, VFO_NUMVFS_IN_USE);
	assert_int_equal(p.s[1].from, 3);
	assert_int_equal(p.s[2].verdict, VFO_NUMVFS_RANGE);
	assert_int_equal(p.s[2].total, 7);
	free(p.s);
	/* Nobody holds eth1's VFs: it may go through 0. */
	p = plan(cfg, NULL, cur, NULL);
	assert_int_equal(p.s[1].verdict, VFO_NUMVFS_WRITE);
	free(p.s);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);
}

static void test_rescan_only_when_up(void **state)
{
	struct vfo_hostd_cfg *cfg = load(pool2);
	struct pfdesc was[] = { { PF0, "eth0", "igb", 2 } };
	struct pfdesc now[] = { { PF0, "eth0", "igb", 0 } };
	struct vfo_inventory *prev = inv(was, 1), *cur = inv(now, 1);
	struct plan p;

	(void)state;
	/* The operator set 0 by hand, the PF stayed bound: obeyed. */
	p = plan(cfg, prev, cur, NULL);
	assert_int_equal(p.n, 0);
	/* ... unless a bind event says the driver was re-probed in between
	 * (unbind and bind within one scan). */
	p = plan(cfg, prev, cur, PF0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_WRITE);
	assert_true(p.s[0].appeared);
	free(p.s);
	/* A bind event of another device does not count. */
	p = plan(cfg, prev, cur, "0000:01:10.0");
	assert_int_equal(p.n, 0);
	vfo_inventory_free(prev);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);
}

static void test_rescan_driver_back(void **state)
{
	struct vfo_hostd_cfg *cfg = load(pool2);
	/* Unbound: no driver, no netdev, no VFs. By address too. */
	struct pfdesc gone[] = { { PF0, NULL, NULL, 0 } };
	struct pfdesc back[] = { { PF0, "eth0", "igb", 0 } };
	struct vfo_inventory *prev = inv(gone, 1), *cur = inv(back, 1);
	struct plan p;

	(void)state;
	p = plan(cfg, prev, cur, NULL);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_WRITE);
	assert_int_equal(p.s[0].to, 2);
	free(p.s);
	/* The other way round (the unbind itself) writes nothing. */
	p = plan(cfg, cur, prev, NULL);
	assert_int_equal(p.n, 0);
	vfo_inventory_free(prev);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);

	/* Named by address: the driver coming back is what counts. */
	cfg = load("[pool a]\nbackend = sriov\npfs = " PF0 "\nnumvfs = 2\n");
	gone[0].driver = NULL;
	back[0].netdev = NULL;
	prev = inv(gone, 1);
	cur = inv(back, 1);
	p = plan(cfg, prev, cur, NULL);
	assert_int_equal(p.n, 1);
	free(p.s);
	vfo_inventory_free(prev);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);
}

static void test_rescan_hotplug(void **state)
{
	struct vfo_hostd_cfg *cfg = load(pool2);
	struct pfdesc added[] = { { PF0, "eth0", "igb", 0 } };
	struct pfdesc probing[] = { { PF0, NULL, NULL, 0 } };
	struct vfo_inventory *none = inv(NULL, 0), *cur = inv(added, 1), *half = inv(probing, 1);
	struct plan p;

	(void)state;
	p = plan(cfg, none, cur, NULL);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_WRITE);
	free(p.s);
	/* Seen before its driver bound: nothing yet, and nothing said. */
	p = plan(cfg, none, half, NULL);
	assert_int_equal(p.n, 0);
	/* Then the driver binds. */
	p = plan(cfg, half, cur, NULL);
	assert_int_equal(p.n, 1);
	free(p.s);
	vfo_inventory_free(none);
	vfo_inventory_free(cur);
	vfo_inventory_free(half);
	vfo_hostd_config_free(cfg);
}

static void test_rescan_in_use(void **state)
{
	struct vfo_hostd_cfg *cfg = load(pool2);
	struct pfdesc gone[] = { { PF0, NULL, NULL, 0 } };
	/* The driver came back with 3 VFs of its own (max_vfs=3). */
	struct pfdesc back[] = { { PF0, "eth0", "igb", 3 } };
	struct vfo_inventory *prev = inv(gone, 1), *cur = inv(back, 1);
	struct plan p;

	(void)state;
	held = "0000:01:10.2";
	p = plan(cfg, prev, cur, NULL);
	held = NULL;
	assert_int_equal(p.n, 1);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_IN_USE);
	free(p.s);
	p = plan(cfg, prev, cur, NULL);
	assert_int_equal(p.s[0].verdict, VFO_NUMVFS_WRITE);
	assert_int_equal(p.s[0].from, 3);
	free(p.s);
	vfo_inventory_free(prev);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);
}

static void test_one_step_per_pf(void **state)
{
	/* Two pools share eth0 (disjoint ranges), by name and by address;
	 * the first one's numvfs decides. Unset numvfs and emulated pools
	 * are not touched. */
	struct vfo_hostd_cfg *cfg = load("[pool a]\nbackend = sriov\npfs = eth0#0-1\nnumvfs = 4\n"
					 "[pool b]\nbackend = sriov\npfs = " PF0
					 "#2-3\nnumvfs = 6\n"
					 "[pool c]\nbackend = sriov\npfs = eth1\n"
					 "[pool d]\nbackend = emulated\nbridge = br0\ncount = 2\n");
	struct pfdesc d[] = { { PF0, "eth0", "igb", 0 }, { PF1, "eth1", "igb", 0 } };
	struct vfo_inventory *cur = inv(d, 2);
	struct plan p = plan(cfg, NULL, cur, NULL);

	(void)state;
	assert_int_equal(p.n, 1);
	assert_string_equal(p.s[0].pool, "a");
	assert_int_equal(p.s[0].to, 4);
	free(p.s);
	/* Even when the first pool's count is already there. */
	d[0].numvfs = 4;
	vfo_inventory_free(cur);
	cur = inv(d, 2);
	p = plan(cfg, NULL, cur, NULL);
	assert_int_equal(p.n, 0);
	vfo_inventory_free(cur);
	vfo_hostd_config_free(cfg);
	assert_string_equal(vfo_numvfs_verdict_str(VFO_NUMVFS_IN_USE), "in-use");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_start_refusals),
		cmocka_unit_test(test_rescan_only_when_up),
		cmocka_unit_test(test_rescan_driver_back),
		cmocka_unit_test(test_rescan_hotplug),
		cmocka_unit_test(test_rescan_in_use),
		cmocka_unit_test(test_one_step_per_pf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
