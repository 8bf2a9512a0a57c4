// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hostd's rescans against a generated sysfs tree whose PF has a
 * driver: a PF whose driver is unbound and bound again gets the pool's
 * numvfs back (and its holdings are dropped, not kept on VFs that went
 * away); an operator's own sriov_numvfs on a PF that stayed up is obeyed;
 * a bind event catches an unbind+bind no scan saw; a held VF removed and
 * re-created between two scans loses its holder; the device events that
 * call for a rescan; numvfs at start spares a PF whose VFs are held; a PF
 * named by netdev keeps its VFs in the pool when the netdev is renamed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostd.h"
#include "log.h"
#include "state.h"
#include "test-fs.h"

#define PF "0000:01:00.0"
#define UA "11111111-1111-4111-8111-111111111111"
#define UB "22222222-2222-4222-8222-222222222222"

/* Everything logged since the test began, to check what was said. */
static char logbuf[16384];

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	size_t len = strlen(logbuf);

	(void)level;
	(void)comp;
	(void)opaque;
	snprintf(logbuf + len, sizeof(logbuf) - len, "%s\n", msg);
}

static bool logged(const char *what)
{
	return strstr(logbuf, what) != NULL;
}

struct fixture {
	char dir[64];
	char conf[128];
	char sys[128];
	char devs[160];
	char pf[200];
	char state[160];
};

static void path(char *buf, size_t len, const char *a, const char *b)
{
	assert_true(snprintf(buf, len, "%s/%s", a, b) < (int)len);
}

static int numvfs_file(struct fixture *f)
{
	char p[300], buf[16];
	FILE *fp;

	path(p, sizeof(p), f->pf, "sriov_numvfs");
	fp = fopen(p, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	return atoi(buf);
}

/* What the kernel does on enabling n VFs (0: disabling them). */
static void kernel_vfs(struct fixture *f, int n)
{
	char p[300], vf[300], target[64], val[8];

	for (int i = 0; i < 7; i++) {
		snprintf(p, sizeof(p), "%s/virtfn%d", f->pf, i);
		unlink(p);
		snprintf(vf, sizeof(vf), "%s/0000:01:10.%d", f->devs, i);
		test_rm_rf(vf);
	}
	for (int i = 0; i < n; i++) {
		snprintf(vf, sizeof(vf), "%s/0000:01:10.%d", f->devs, i);
		test_mkdir_p(vf);
		test_put(vf, "numa_node", "0\n");
		path(p, sizeof(p), vf, "driver");
		assert_int_equal(symlink("../../../bus/pci/drivers/igbvf", p), 0);
		snprintf(p, sizeof(p), "%s/virtfn%d", f->pf, i);
		snprintf(target, sizeof(target), "../0000:01:10.%d", i);
		assert_int_equal(symlink(target, p), 0);
	}
	snprintf(val, sizeof(val), "%d\n", n);
	test_put(f->pf, "sriov_numvfs", val);
}

/* The PF's driver goes: its VFs and netdev with it. */
static void unbind_pf(struct fixture *f)
{
	char p[300];

	kernel_vfs(f, 0);
	path(p, sizeof(p), f->pf, "driver");
	assert_int_equal(unlink(p), 0);
	path(p, sizeof(p), f->pf, "net");
	test_rm_rf(p);
}

/* igb binds again: netdev back, 0 VFs (max_vfs defaults to 0). */
static void bind_pf(struct fixture *f)
{
	char p[300];

	path(p, sizeof(p), f->pf, "driver");
	assert_int_equal(symlink("../../../bus/pci/drivers/igb", p), 0);
	path(p, sizeof(p), f->pf, "net/eth0");
	test_mkdir_p(p);
	test_put(p, "operstate", "down\n");
}

static void write_conf(struct fixture *f, int numvfs)
{
	FILE *c = fopen(f->conf, "w");

	assert_non_null(c);
	fprintf(c,
		"[hostd]\nstate_dir = %s/state\nsocket = %s/hostd.sock\n"
		"sysfs_root = %s\nudev = no\n\n"
		"[pool net]\nbackend = sriov\npfs = eth0\nnumvfs = %d\n",
		f->dir, f->dir, f->sys, numvfs);
	fclose(c);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-host-rescan-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	path(f->sys, sizeof(f->sys), f->dir, "sys");
	path(f->devs, sizeof(f->devs), f->sys, "bus/pci/devices");
	path(f->pf, sizeof(f->pf), f->devs, PF);
	path(f->conf, sizeof(f->conf), f->dir, "hostd.conf");
	snprintf(f->state, sizeof(f->state), "%s/state/" VFO_HOSTD_STATE_FILE, f->dir);
	test_mkdir_p(f->pf);
	test_put(f->pf, "sriov_totalvfs", "7\n");
	test_put(f->pf, "numa_node", "0\n");
	bind_pf(f);
	kernel_vfs(f, 2);
	write_conf(f, 2);
	logbuf[0] = '\0';
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	test_rm_rf(f->dir);
	free(f);
	return 0;
}

static void start(struct fixture *f, struct vfo_hostd *h)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(vfo_hostd_core_init(h, f->conf), 0);
}

static int hold(struct vfo_hostd *h, const char *uuid, bool assign)
{
	struct vfo_owner o;
	int id;

	assert_int_equal(vfo_owner_set(&o, uuid, "p0"), 0);
	id = vfo_hostd_reserve(h, "net", &o, -1, 600000, NULL);
	assert_true(id >= 0);
	if (assign)
		assert_int_equal(vfo_hostd_assign(h, &o), id);
	return id;
}

static int pool_vfs(struct vfo_hostd *h)
{
	struct vfo_pool_counts c;

	vfo_pools_counts(h->pools, vfo_pools_find_pool(h->pools, "net"), &c);
	return (int)c.total;
}

static int held(struct vfo_hostd *h)
{
	struct vfo_pool_counts c;

	vfo_pools_counts(h->pools, -1, &c);
	return (int)(c.reserved + c.assigned);
}

static int on_disk(struct fixture *f)
{
	json_object *obj, *vfs;
	int n;

	assert_int_equal(vfo_state_load(f->state, VFO_POOL_STATE_VERSION, &obj, NULL), 0);
	assert_true(json_object_object_get_ex(obj, "vfs", &vfs));
	n = (int)json_object_array_length(vfs);
	json_object_put(obj);
	return n;
}

/* ---- tests ------------------------------------------------------------- */

static void test_pf_rebind_gets_numvfs(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;

	start(f, &h);
	assert_int_equal(h.st.numvfs_writes, 0);
	assert_int_equal(pool_vfs(&h), 2);
	hold(&h, UA, true);

	/* Unbound: the VFs went with the driver; the holding is dropped
	 * (logged, persisted), and nothing is written to a driverless PF. */
	unbind_pf(f);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(pool_vfs(&h), 0);
	assert_int_equal(held(&h), 0);
	assert_int_equal(h.st.dropped, 1);
	assert_true(logged("dropped: the VF vanished"));
	assert_int_equal(on_disk(f), 0);
	assert_int_equal(numvfs_file(f), 0);
	assert_int_equal(h.st.numvfs_writes, 0);

	/* Bound again with 0 VFs: the pool's count is written. */
	bind_pf(f);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(numvfs_file(f), 2);
	assert_int_equal(h.st.numvfs_writes, 1);
	assert_true(logged("PF " PF " (eth0): sriov_numvfs 0 -> 2 (pool net; the PF came up)"));
	/* The kernel's VFs arrive: free in the pool, nobody's. */
	kernel_vfs(f, 2);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(pool_vfs(&h), 2);
	assert_int_equal(held(&h), 0);
	assert_int_equal(h.st.numvfs_writes, 1);
	assert_int_equal(vfo_hostd_rescan(&h, "test"), 0);
	vfo_hostd_core_fini(&h);
}

static void test_operator_obeyed(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;

	start(f, &h);
	kernel_vfs(f, 1);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(numvfs_file(f), 1);
	assert_int_equal(pool_vfs(&h), 1);
	kernel_vfs(f, 0);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(numvfs_file(f), 0);
	assert_int_equal(pool_vfs(&h), 0);
	assert_int_equal(h.st.numvfs_writes, 0);
	vfo_hostd_core_fini(&h);
}

static void test_quick_rebind_event(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;

	start(f, &h);
	/* Unbind and bind between two scans: sysfs only shows 0 VFs on a
	 * PF with the same driver, which alone is the operator's doing... */
	kernel_vfs(f, 0);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(numvfs_file(f), 0);
	/* ... but the bind event says the driver was probed again. An event
	 * for a device that is not a PF is no such thing. */
	assert_true(vfo_hostd_uevent(&h, "pci", "unbind", PF));
	assert_true(vfo_hostd_uevent(&h, "pci", "bind", "0000:07:00.0"));
	assert_int_equal(h.n_rebound, 0);
	assert_true(vfo_hostd_uevent(&h, "pci", "bind", PF));
	assert_true(vfo_hostd_uevent(&h, "pci", "bind", PF));
	assert_int_equal(h.n_rebound, 1);
	assert_int_equal(vfo_hostd_rescan(&h, "test"), 1);
	assert_int_equal(numvfs_file(f), 2);
	assert_int_equal(h.st.numvfs_writes, 1);
	assert_int_equal(h.n_rebound, 0);
	vfo_hostd_core_fini(&h);
}

static void test_recreated_vf_dropped(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;
	const struct vfo_pool_vf *vf;
	char addr[VFO_PCI_ADDR_MAX];
	int a, b;

	start(f, &h);
	a = hold(&h, UA, true);
	b = hold(&h, UB, false);
	snprintf(addr, sizeof(addr), "%s", vfo_pools_vf(h.pools, a)->addr);
	/* Free or unknown devices are not remembered. */
	vfo_hostd_uevent(&h, "pci", "remove", "0000:07:00.0");
	assert_int_equal(h.n_removed, 0);
	/* Without a removal in between, a rescan keeps everything. */
	assert_int_equal(vfo_hostd_rescan(&h, "test"), 0);
	assert_int_equal(held(&h), 2);

	/* A's VF was removed and is back at the same address by the time
	 * of the scan (numvfs 0 then 2 in one burst): A lost it. */
	assert_true(vfo_hostd_uevent(&h, "pci", "remove", addr));
	assert_true(vfo_hostd_uevent(&h, "pci", "remove", addr));
	assert_int_equal(h.n_removed, 1);
	assert_int_equal(vfo_hostd_rescan(&h, "test"), 1);
	assert_int_equal(h.st.recreated, 1);
	assert_int_equal(h.st.dropped, 1);
	assert_true(logged("dropped: it was removed and re-created since the last scan"));
	assert_int_equal(held(&h), 1);
	vf = vfo_pools_vf(h.pools, vfo_pools_lookup_addr(h.pools, addr));
	assert_int_equal(vf->state, VFO_VF_FREE);
	assert_int_equal(vfo_pools_vf(h.pools, b)->state, VFO_VF_RESERVED);
	assert_int_equal(on_disk(f), 1);
	assert_int_equal(h.n_removed, 0);
	assert_int_equal(vfo_hostd_rescan(&h, "test"), 0);
	assert_int_equal(held(&h), 1);
	vfo_hostd_core_fini(&h);
}

/* The config names the PF by netdev; the netdev is renamed (or moved to
 * another namespace) while a VF is held: the pool keeps the PF the name
 * meant, and with it the holding. */
static void test_renamed_pf_netdev(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;
	char from[300], to[300];

	start(f, &h);
	hold(&h, UA, true);
	path(from, sizeof(from), f->pf, "net/eth0");
	path(to, sizeof(to), f->pf, "net/eth9");
	assert_int_equal(rename(from, to), 0);
	vfo_hostd_rescan(&h, "test");
	assert_int_equal(pool_vfs(&h), 2);
	assert_int_equal(held(&h), 1);
	assert_int_equal(h.st.dropped, 0);
	assert_true(logged("no netdev is named eth0 any more; keeping " PF));
	/* Its name back: nothing changes either. */
	assert_int_equal(rename(to, from), 0);
	vfo_hostd_rescan(&h, "test");
	assert_int_equal(pool_vfs(&h), 2);
	assert_int_equal(held(&h), 1);
	assert_int_equal(on_disk(f), 1);
	vfo_hostd_core_fini(&h);
}

static void test_uevent_filter(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;

	start(f, &h);
	assert_true(vfo_hostd_uevent(&h, "pci", "add", "0000:07:00.0"));
	assert_true(vfo_hostd_uevent(&h, "pci", "remove", "0000:07:00.0"));
	assert_true(vfo_hostd_uevent(&h, "pci", "bind", "0000:07:00.0"));
	assert_true(vfo_hostd_uevent(&h, "pci", "unbind", "0000:07:00.0"));
	assert_false(vfo_hostd_uevent(&h, "pci", "change", "0000:07:00.0"));
	assert_true(vfo_hostd_uevent(&h, "net", "add", "eth1"));
	assert_true(vfo_hostd_uevent(&h, "net", "remove", "eth1"));
	assert_true(vfo_hostd_uevent(&h, "net", "move", "enp1s0"));
	assert_false(vfo_hostd_uevent(&h, "net", "change", "eth1"));
	assert_false(vfo_hostd_uevent(&h, "block", "add", "sda"));
	assert_false(vfo_hostd_uevent(&h, NULL, "add", "x"));
	assert_false(vfo_hostd_uevent(&h, "pci", NULL, "x"));
	assert_false(vfo_hostd_uevent(&h, "pci", "add", NULL));
	vfo_hostd_core_fini(&h);
}

static void test_start_spares_held_vfs(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;

	start(f, &h);
	hold(&h, UA, true);
	vfo_hostd_core_fini(&h);
	/* numvfs changed in the file while a VF is held: a restart must not
	 * go through 0 under the domain's feet. */
	write_conf(f, 3);
	start(f, &h);
	assert_int_equal(numvfs_file(f), 2);
	assert_int_equal(h.st.numvfs_writes, 0);
	assert_true(logged("sriov_numvfs left at 2, not 3 (pool net): its VFs are in use"));
	assert_int_equal(held(&h), 1);
	assert_int_equal(vfo_hostd_release(&h, UA, NULL), 1);
	vfo_hostd_core_fini(&h);
	/* Nothing held any more: applied. */
	start(f, &h);
	assert_int_equal(numvfs_file(f), 3);
	assert_int_equal(h.st.numvfs_writes, 1);
	vfo_hostd_core_fini(&h);
}

static void test_start_without_driver(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h;

	unbind_pf(f);
	start(f, &h);
	assert_int_equal(numvfs_file(f), 0);
	assert_int_equal(h.st.numvfs_writes, 0);
	/* The driver comes, and the configured name resolves: now. */
	bind_pf(f);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	assert_int_equal(numvfs_file(f), 2);
	vfo_hostd_core_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pf_rebind_gets_numvfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operator_obeyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quick_rebind_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recreated_vf_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renamed_pf_netdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uevent_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_spares_held_vfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_without_driver, setup, teardown),
	};

	vfo_log_set_sink(sink, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
