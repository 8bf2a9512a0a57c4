// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hostd's allocation state across crashes. A script of reserve /
 * assign / release is run against the daemon core on a generated sysfs
 * tree; for every step k the daemon "dies" right after step k is
 * persisted (before it acts or answers), and a new daemon started from the
 * same state directory and sysfs must hold exactly the allocations of
 * steps 1..k: no VF with two owners, no owner with two VFs, nothing
 * leaked. Also: a VF that vanished while the daemon was down, a corrupt
 * and a too-new state file, a failed persist rolled back, expiry.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define N_VFS 4
#define UA "11111111-1111-4111-8111-111111111111"
#define UB "22222222-2222-4222-8222-222222222222"
#define UC "33333333-3333-4333-8333-333333333333"

struct fixture {
	char dir[64];
	char conf[128];
	char sys[128];
	char state[160];
};

/* ---- a minimal sysfs tree: one PF with N_VFS VFs ------------------------ */

static void make_tree(struct fixture *f)
{
	char devs[200], pf[240], vf[300], link[300], target[64], val[8];

	snprintf(devs, sizeof(devs), "%s/bus/pci/devices", f->sys);
	snprintf(pf, sizeof(pf), "%s/0000:01:00.0", devs);
	test_mkdir_p(pf);
	snprintf(vf, sizeof(vf), "%s/net/enp1s0f0", pf);
	test_mkdir_p(vf);
	test_put(vf, "operstate", "up\n");
	test_put(vf, "carrier", "1\n");
	test_put(pf, "sriov_totalvfs", "8\n");
	snprintf(val, sizeof(val), "%d\n", N_VFS);
	test_put(pf, "sriov_numvfs", val);
	test_put(pf, "numa_node", "0\n");
	for (int i = 0; i < N_VFS; i++) {
		snprintf(vf, sizeof(vf), "%s/0000:01:10.%d", devs, i);
		test_mkdir_p(vf);
		test_put(vf, "numa_node", "0\n");
		snprintf(link, sizeof(link), "%s/virtfn%d", pf, i);
		snprintf(target, sizeof(target), "../0000:01:10.%d", i);
		assert_int_equal(symlink(target, link), 0);
	}
}

/* The VF disappears (hot-unplugged, numvfs lowered) while we are down. */
static void remove_vf(struct fixture *f, int i)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/bus/pci/devices/0000:01:00.0/virtfn%d", f->sys, i);
	assert_int_equal(unlink(p), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	FILE *c;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-host-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/hostd.conf", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state/" VFO_HOSTD_STATE_FILE, f->dir);
	make_tree(f);
	c = fopen(f->conf, "w");
	assert_non_null(c);
	fprintf(c,
		"[hostd]\nstate_dir = %s/state\nsocket = %s/hostd.sock\n"
		"sysfs_root = %s\nudev = no\n\n"
		"[pool net]\nbackend = sriov\npfs = enp1s0f0\n\n"
		"[pool emu]\nbackend = emulated\nbridge = br0\ncount = 2\n",
		f->dir, f->dir, f->sys);
	fclose(c);
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

/* ---- the script and its model ------------------------------------------ */

enum op_type { OP_RESERVE, OP_ASSIGN, OP_RELEASE };

struct op {
	enum op_type type;
	const char *pool;
	const char *uuid;
	const char *pair; /* NULL with release: the whole domain */
};

static const struct op script[] = {
	{ OP_RESERVE, "net", UA, "p0" }, { OP_RESERVE, "net", UB, "p0" },
	{ OP_ASSIGN, NULL, UA, "p0" },	 { OP_RESERVE, "emu", UA, "p1" },
	{ OP_RELEASE, NULL, UB, NULL },	 { OP_ASSIGN, NULL, UA, "p1" },
	{ OP_RESERVE, "net", UC, "p0" }, { OP_RESERVE, "net", UB, "p9" },
	{ OP_RELEASE, NULL, UA, "p0" },	 { OP_ASSIGN, NULL, UC, "p0" },
	{ OP_RESERVE, "emu", UB, "p1" }, { OP_RELEASE, NULL, UA, NULL },
	{ OP_ASSIGN, NULL, UB, "p9" },	 { OP_RELEASE, NULL, UC, NULL },
	{ OP_RELEASE, NULL, UB, "p1" },	 { OP_RELEASE, NULL, UB, NULL },
};

#define N_STEPS ((int)VFO_ARRAY_SIZE(script))

struct holding {
	const char *uuid, *pair, *pool;
	enum vfo_vf_state state;
	bool live;
};

struct model {
	struct holding h[16];
	int n;
};

static struct holding *model_find(struct model *m, const char *uuid, const char *pair)
{
	for (int i = 0; i < m->n; i++)
		if (m->h[i].live && !strcmp(m->h[i].uuid, uuid) && !strcmp(m->h[i].pair, pair))
			return &m->h[i];
	return NULL;
}

static void model_apply(struct model *m, const struct op *op)
{
	struct holding *h;

	switch (op->type) {
	case OP_RESERVE:
		m->h[m->n++] =
			(struct holding){ op->uuid, op->pair, op->pool, VFO_VF_RESERVED, true };
		break;
	case OP_ASSIGN:
		h = model_find(m, op->uuid, op->pair);
		assert_non_null(h);
		h->state = VFO_VF_ASSIGNED;
		break;
	case OP_RELEASE:
		for (int i = 0; i < m->n; i++)
			if (m->h[i].live && !strcmp(m->h[i].uuid, op->uuid) &&
			    (!op->pair || !strcmp(m->h[i].pair, op->pair)))
				m->h[i].live = false;
		break;
	}
}

static int model_count(const struct model *m)
{
	int n = 0;

	for (int i = 0; i < m->n; i++)
		n += m->h[i].live;
	return n;
}

static int run_op(struct vfo_hostd *h, const struct op *op)
{
	struct vfo_owner o;

	if (op->type == OP_RELEASE)
		return vfo_hostd_release(h, op->uuid, op->pair);
	assert_int_equal(vfo_owner_set(&o, op->uuid, op->pair), 0);
	if (op->type == OP_RESERVE)
		return vfo_hostd_reserve(h, op->pool, &o, -1, 600000, NULL);
	return vfo_hostd_assign(h, &o);
}

/*
 * The pools agree with the model, and with themselves: every VF has at
 * most one owner, every owner at most one VF, counts add up.
 */
static void check_pools(struct vfo_hostd *h, const struct model *m)
{
	size_t n = vfo_pools_n_vfs(h->pools), owned = 0;
	struct vfo_pool_counts c;

	vfo_pools_counts(h->pools, -1, &c);
	assert_int_equal(c.free + c.reserved + c.assigned, c.total);
	for (size_t id = 0; id < n; id++) {
		const struct vfo_pool_vf *vf = vfo_pools_vf(h->pools, id);

		if (vf->gone || vf->state == VFO_VF_FREE)
			continue;
		owned++;
		/* The owner maps back to this very VF. */
		assert_int_equal(vfo_pools_lookup_owner(h->pools, &vf->owner), (int)id);
		for (size_t j = id + 1; j < n; j++) {
			const struct vfo_pool_vf *w = vfo_pools_vf(h->pools, j);

			if (w->gone || w->state == VFO_VF_FREE)
				continue;
			assert_false(!strcmp(w->owner.uuid, vf->owner.uuid) &&
				     !strcmp(w->owner.pair, vf->owner.pair));
		}
	}
	assert_int_equal(owned, c.reserved + c.assigned);
	if (!m)
		return;
	assert_int_equal((int)owned, model_count(m));
	for (int i = 0; i < m->n; i++) {
		const struct holding *hd = &m->h[i];
		const struct vfo_pool_vf *vf;
		struct vfo_owner o;
		int id;

		if (!hd->live)
			continue;
		vfo_owner_set(&o, hd->uuid, hd->pair);
		id = vfo_pools_lookup_owner(h->pools, &o);
		assert_true(id >= 0);
		vf = vfo_pools_vf(h->pools, id);
		assert_int_equal(vf->state, hd->state);
		assert_string_equal(vfo_pools_pool_name(h->pools, vf->pool), hd->pool);
	}
}

/* What is on disk lists exactly the model's holdings. */
static void check_disk(struct fixture *f, const struct model *m)
{
	json_object *obj, *vfs;

	assert_int_equal(vfo_state_load(f->state, VFO_POOL_STATE_VERSION, &obj, NULL), 0);
	assert_true(json_object_object_get_ex(obj, "vfs", &vfs));
	assert_int_equal((int)json_object_array_length(vfs), model_count(m));
	json_object_put(obj);
}

static void start(struct fixture *f, struct vfo_hostd *h)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(vfo_hostd_core_init(h, f->conf), 0);
}

/* ---- tests ------------------------------------------------------------- */

/* Without crashes: after every step the disk already holds that step. */
static void test_persist_before_ack(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;

	start(f, &h);
	for (int k = 0; k < N_STEPS; k++) {
		int r = run_op(&h, &script[k]);

		assert_true(r >= 0);
		model_apply(&m, &script[k]);
		check_pools(&h, &m);
		check_disk(f, &m);
	}
	assert_int_equal(model_count(&m), 0);
	vfo_hostd_core_fini(&h);
}

static void test_crash_at_every_step(void **state)
{
	struct fixture *f = *state;

	for (int k = 0; k < N_STEPS; k++) {
		struct model m = { 0 };
		struct vfo_hostd h;

		unlink(f->state);
		start(f, &h);
		/* Startup persisted once; step j persists once more. */
		h.crash_after_persist = h.st.persists + k + 1;
		for (int j = 0; j <= k; j++) {
			int r = run_op(&h, &script[j]);

			if (j < k)
				assert_true(r >= 0);
			else
				assert_int_equal(r, -EINTR);
			model_apply(&m, &script[j]);
		}
		/* Killed: nothing after the persist happens. */
		vfo_hostd_core_fini(&h);

		start(f, &h);
		check_pools(&h, &m);
		check_disk(f, &m);
		/* The survivor carries on with the rest of the script. */
		for (int j = k + 1; j < N_STEPS; j++) {
			assert_true(run_op(&h, &script[j]) >= 0);
			model_apply(&m, &script[j]);
			check_pools(&h, &m);
		}
		assert_int_equal(model_count(&m), 0);
		vfo_hostd_core_fini(&h);
	}
}

static void test_vf_vanished(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;
	struct vfo_owner a;
	int id, idx;

	start(f, &h);
	for (int k = 0; k < 4; k++) {
		assert_true(run_op(&h, &script[k]) >= 0);
		model_apply(&m, &script[k]);
	}
	vfo_owner_set(&a, UA, "p0");
	id = vfo_pools_lookup_owner(h.pools, &a);
	assert_true(id >= 0);
	idx = vfo_pools_vf(h.pools, id)->index;
	vfo_hostd_core_fini(&h);

	/* A's VF is gone when we come back: its assignment is dropped, the
	 * rest kept, and the disk forgets it too. */
	remove_vf(f, idx);
	start(f, &h);
	model_find(&m, UA, "p0")->live = false;
	check_pools(&h, &m);
	check_disk(f, &m);
	assert_true(h.st.dropped >= 1);
	vfo_hostd_core_fini(&h);
}

static void test_vf_vanished_rescan(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;
	struct vfo_owner b;
	int id;

	start(f, &h);
	for (int k = 0; k < 2; k++) {
		assert_true(run_op(&h, &script[k]) >= 0);
		model_apply(&m, &script[k]);
	}
	vfo_owner_set(&b, UB, "p0");
	id = vfo_pools_lookup_owner(h.pools, &b);
	remove_vf(f, vfo_pools_vf(h.pools, id)->index);
	assert_true(vfo_hostd_rescan(&h, "test") > 0);
	model_find(&m, UB, "p0")->live = false;
	check_pools(&h, &m);
	check_disk(f, &m);
	/* Nothing changed since: a rescan is a no-op. */
	assert_int_equal(vfo_hostd_rescan(&h, "test"), 0);
	vfo_hostd_core_fini(&h);
}

static void test_corrupt_state(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;
	char dir[160];
	struct dirent *de;
	int aside = 0;
	DIR *d;

	start(f, &h);
	assert_true(run_op(&h, &script[0]) >= 0);
	vfo_hostd_core_fini(&h);
	test_put(f->dir, "state/" VFO_HOSTD_STATE_FILE, "{\"version\": 1, \"vfs\": [ {\"addr\"");

	/* Starts, with nothing allocated, and keeps the bad file aside. */
	start(f, &h);
	check_pools(&h, &m);
	check_disk(f, &m);
	vfo_hostd_core_fini(&h);
	snprintf(dir, sizeof(dir), "%s/state", f->dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		aside += !!strstr(de->d_name, ".corrupt-");
	closedir(d);
	assert_int_equal(aside, 1);

	/* Valid JSON, wrong shape: the pool parser refuses it; the same
	 * treatment (aside, loud, empty), not a refusal to start. */
	test_put(f->dir, "state/" VFO_HOSTD_STATE_FILE,
		 "{\"version\": 1, \"vfs\": [ {\"addr\": 5} ]}");
	sleep(1); /* a second aside file needs another timestamp */
	start(f, &h);
	check_pools(&h, &m);
	check_disk(f, &m);
	vfo_hostd_core_fini(&h);
	aside = 0;
	d = opendir(dir);
	while ((de = readdir(d)))
		aside += !!strstr(de->d_name, ".corrupt-");
	closedir(d);
	assert_int_equal(aside, 2);
}

static void test_newer_state_refused(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h = { 0 };
	struct stat st;

	test_mkdir_p(f->state);
	rmdir(f->state);
	test_put(f->dir, "state/" VFO_HOSTD_STATE_FILE, "{\"version\": 99, \"vfs\": []}");
	assert_int_equal(vfo_hostd_core_init(&h, f->conf), -EPROTONOSUPPORT);
	assert_null(h.pools);
	assert_null(h.cfg);
	/* Left alone for the newer vfo it belongs to. */
	assert_int_equal(stat(f->state, &st), 0);
}

static void test_bad_config_refused(void **state)
{
	struct fixture *f = *state;
	struct vfo_hostd h = { 0 };

	test_put(f->dir, "hostd.conf", "[pool x]\nbackend = sriov\n");
	assert_int_equal(vfo_hostd_core_init(&h, f->conf), -EINVAL);
	assert_null(h.cfg);
	assert_null(h.config_path);
	assert_int_equal(access(f->state, F_OK), -1);
}

/* A persist that fails leaves memory as it was and the request failed. */
static void test_persist_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;
	char saved[PATH_MAX];

	start(f, &h);
	assert_true(run_op(&h, &script[0]) >= 0);
	model_apply(&m, &script[0]);
	memcpy(saved, h.state_path, sizeof(saved));
	snprintf(h.state_path, sizeof(h.state_path), "%s/no-such-dir/x.json", f->dir);
	assert_true(run_op(&h, &script[1]) < 0);
	assert_true(run_op(&h, &script[2]) < 0);
	assert_true(vfo_hostd_release(&h, UA, NULL) < 0);
	assert_int_equal(h.st.persist_failures, 3);
	check_pools(&h, &m);
	memcpy(h.state_path, saved, sizeof(saved));
	check_disk(f, &m);
	assert_true(run_op(&h, &script[1]) >= 0);
	model_apply(&m, &script[1]);
	check_pools(&h, &m);
	vfo_hostd_core_fini(&h);
}

static void test_expiry(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;
	struct vfo_owner o;

	start(f, &h);
	vfo_owner_set(&o, UA, "p0");
	assert_true(vfo_hostd_reserve(&h, "net", &o, -1, 1000, NULL) >= 0);
	vfo_owner_set(&o, UB, "p0");
	assert_true(vfo_hostd_reserve(&h, "net", &o, -1, 600000, NULL) >= 0);
	assert_true(vfo_hostd_assign(&h, &o) >= 0);
	assert_int_equal(vfo_hostd_expire(&h, vfo_wall_ms()), 0);
	assert_int_equal(vfo_hostd_expire(&h, vfo_wall_ms() + 2000), 1);
	m.h[m.n++] = (struct holding){ UB, "p0", "net", VFO_VF_ASSIGNED, true };
	check_pools(&h, &m);
	check_disk(f, &m);
	vfo_hostd_core_fini(&h);
	start(f, &h);
	check_pools(&h, &m);
	vfo_hostd_core_fini(&h);
}

/* Full pools, unknown pools, bad owners: errors, and no state change. */
static void test_alloc_errors(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct vfo_hostd h;
	struct vfo_owner o;
	char pair[8];

	start(f, &h);
	for (int i = 0; i < N_VFS; i++) {
		snprintf(pair, sizeof(pair), "p%d", i);
		vfo_owner_set(&o, UA, pair);
		assert_true(vfo_hostd_reserve(&h, "net", &o, -1, 0, NULL) >= 0);
		m.h[m.n++] = (struct holding){ UA,
					       i == 0 ? "p0" :
					       i == 1 ? "p1" :
					       i == 2 ? "p2" :
							"p3",
					       "net", VFO_VF_RESERVED, true };
	}
	vfo_owner_set(&o, UB, "p0");
	assert_int_equal(vfo_hostd_reserve(&h, "net", &o, -1, 0, NULL), -ENOSPC);
	assert_int_equal(vfo_hostd_reserve(&h, "nope", &o, -1, 0, NULL), -ENOENT);
	assert_int_equal(vfo_hostd_assign(&h, &o), -ENOENT);
	assert_int_equal(vfo_hostd_release(&h, UB, NULL), -ENOENT);
	vfo_owner_set(&o, UA, "p0");
	assert_int_equal(vfo_hostd_reserve(&h, "emu", &o, -1, 0, NULL), -EEXIST);
	check_pools(&h, &m);
	check_disk(f, &m);
	assert_int_equal(vfo_hostd_release(&h, UA, NULL), N_VFS);
	vfo_hostd_core_fini(&h);
}

static void quiet(int level, const char *comp, const char *msg, void *opaque)
{
	(void)level;
	(void)comp;
	(void)msg;
	(void)opaque;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_persist_before_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_at_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vf_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vf_vanished_rescan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_state_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_failure_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_errors, setup, teardown),
	};

	vfo_log_set_sink(quiet, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
