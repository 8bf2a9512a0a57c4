// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VF configuration against a fake kernel: the netlink module's
 * vfo_nl_vf_get and vfo_nl_vf_set are wrapped (-Wl,--wrap=...; vfcfg.c is
 * compiled into this program so its calls are caught), the wrapper keeps the VF
 * state a driver would keep and records every change request, so the tests
 * check the exact sequence of requests and values. Driver binding runs
 * against a generated sysfs tree with a thread playing the kernel.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "netlink.h"
#include "util.h"
#include "vfcfg.h"

/* ---- fake kernel ------------------------------------------------------ */

#define N_VFS 2
#define MAX_REQ 64

struct req {
	int vf;
	enum vfo_vf_attr attr;
	struct vfo_vf_attrs val;
};

static struct fake {
	struct vfo_vf_attrs vf[N_VFS];
	unsigned int report_mask; /* what the "driver" reports */
	int busy[VFO_VF_ATTR_N]; /* EBUSY for the next n requests */
	bool unsupported[VFO_VF_ATTR_N];
	bool fail_einval[VFO_VF_ATTR_N];
	bool ignore[VFO_VF_ATTR_N]; /* accept but do not change */
	int fail_get_after; /* get_kernel fails after n calls, -1 */
	struct req req[MAX_REQ];
	int n_req, n_get, n_change;
} fk;

static void fake_reset(void)
{
	static const uint8_t mac0[6] = { 0x02, 0, 0, 0, 0, 0x10 };

	memset(&fk, 0, sizeof(fk));
	fk.report_mask = VFO_VF_ATTR_ALL;
	fk.fail_get_after = -1;
	for (int i = 0; i < N_VFS; i++) {
		memcpy(fk.vf[i].mac, mac0, 6);
		fk.vf[i].mac[5] += (uint8_t)i;
		fk.vf[i].spoofchk = true;
		fk.vf[i].trust = false;
		fk.vf[i].link_state = VFO_VF_LINK_AUTO;
		fk.vf[i].mask = VFO_VF_ATTR_ALL;
	}
}

int __wrap_vfo_nl_vf_get(const char *pf, uint32_t index, struct vfo_nl_vf *out);
int __wrap_vfo_nl_vf_set(const char *pf, uint32_t field, const struct vfo_nl_vf *vf);

int __wrap_vfo_nl_vf_get(const char *pf, uint32_t index, struct vfo_nl_vf *out)
{
	const struct vfo_vf_attrs *v;

	if (fk.fail_get_after >= 0 && fk.n_get >= fk.fail_get_after)
		return -ENOMEM;
	fk.n_get++;
	if (!pf || strcmp(pf, "pf0"))
		return -ENODEV;
	if (index >= N_VFS)
		return -ENOENT;
	v = &fk.vf[index];
	memset(out, 0, sizeof(*out));
	out->index = index;
	memcpy(out->mac, v->mac, 6);
	out->vlan = (uint16_t)v->vlan;
	out->qos = (uint8_t)v->qos;
	out->spoofchk = v->spoofchk;
	out->trust = v->trust;
	out->link_state = (uint32_t)v->link_state;
	/* like the netlink module: spoofchk/trust left out when the driver
	 * reports (u32)-1; MAC, VLAN and link state always come */
	out->mask = VFO_NL_VF_MAC | VFO_NL_VF_VLAN | VFO_NL_VF_LINK_STATE;
	if (fk.report_mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_SPOOFCHK))
		out->mask |= VFO_NL_VF_SPOOFCHK;
	if (fk.report_mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_TRUST))
		out->mask |= VFO_NL_VF_TRUST;
	return 0;
}

/* Decode which single field a change request carries. */
static void decode(uint32_t field, const struct vfo_nl_vf *v, struct req *r)
{
	/* one field per request, always, and the request says which */
	assert_int_equal(v->mask, field);
	assert_true(v->index < N_VFS);
	r->vf = (int)v->index;
	memset(&r->val, 0, sizeof(r->val));
	switch (field) {
	case VFO_NL_VF_MAC:
		memcpy(r->val.mac, v->mac, 6);
		r->attr = VFO_VF_ATTR_MAC;
		break;
	case VFO_NL_VF_VLAN:
		r->val.vlan = v->vlan;
		r->val.qos = v->qos;
		r->attr = VFO_VF_ATTR_VLAN;
		break;
	case VFO_NL_VF_SPOOFCHK:
		r->val.spoofchk = v->spoofchk;
		r->attr = VFO_VF_ATTR_SPOOFCHK;
		break;
	case VFO_NL_VF_TRUST:
		r->val.trust = v->trust;
		r->attr = VFO_VF_ATTR_TRUST;
		break;
	case VFO_NL_VF_LINK_STATE:
		r->val.link_state = (int)v->link_state;
		r->attr = VFO_VF_ATTR_LINK_STATE;
		break;
	default:
		fail_msg("request with field 0x%x", field);
	}
}

static void store(struct vfo_vf_attrs *dst, const struct req *r)
{
	switch (r->attr) {
	case VFO_VF_ATTR_MAC:
		memcpy(dst->mac, r->val.mac, 6);
		break;
	case VFO_VF_ATTR_VLAN:
		dst->vlan = r->val.vlan;
		dst->qos = r->val.qos;
		break;
	case VFO_VF_ATTR_SPOOFCHK:
		dst->spoofchk = r->val.spoofchk;
		break;
	case VFO_VF_ATTR_TRUST:
		dst->trust = r->val.trust;
		break;
	default:
		dst->link_state = r->val.link_state;
		break;
	}
}

int __wrap_vfo_nl_vf_set(const char *pf, uint32_t field, const struct vfo_nl_vf *vf)
{
	struct req *r;

	assert_string_equal(pf, "pf0");
	assert_true(fk.n_req < MAX_REQ);
	fk.n_change++;
	r = &fk.req[fk.n_req++];
	decode(field, vf, r);
	if (fk.busy[r->attr] > 0) {
		fk.busy[r->attr]--;
		return -EBUSY;
	}
	if (fk.unsupported[r->attr])
		return -EOPNOTSUPP;
	if (fk.fail_einval[r->attr])
		return -EINVAL;
	if (!fk.ignore[r->attr])
		store(&fk.vf[r->vf], r);
	return 0;
}

/* ---- log capture ------------------------------------------------------ */

static char logged[4096];

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	size_t n = strlen(logged);

	(void)opaque;
	snprintf(logged + n, sizeof(logged) - n, "%d %s: %s\n", level, comp, msg);
}

/* ---- helpers ---------------------------------------------------------- */

static struct vfo_vfcfg cfg = { .busy_retries = 3, .busy_backoff_ms = 1 };

static struct vfo_vf_attrs want_all(void)
{
	struct vfo_vf_attrs w = { 0 };

	assert_int_equal(vfo_mac_parse("52:54:00:ab:cd:ef", w.mac), 0);
	w.vlan = 100;
	w.qos = 0;
	w.spoofchk = false;
	w.trust = true;
	w.link_state = VFO_VF_LINK_ENABLE;
	w.mask = VFO_VF_ATTR_ALL;
	return w;
}

static void expect_req(int i, enum vfo_vf_attr attr, int vf)
{
	if (i >= fk.n_req)
		fail_msg("request %d missing (only %d)", i, fk.n_req);
	if (fk.req[i].attr != attr || fk.req[i].vf != vf)
		fail_msg("request %d: got %s vf %d, want %s vf %d", i,
			 vfo_vf_attr_name(fk.req[i].attr), fk.req[i].vf, vfo_vf_attr_name(attr),
			 vf);
}

static int setup(void **state)
{
	(void)state;
	fake_reset();
	logged[0] = '\0';
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_mac_parse(void **state)
{
	static const char *const bad[] = {
		"",
		"52:54:00:ab:cd",
		"52:54:00:ab:cd:ef:00",
		"52-54-00-ab-cd-ef",
		"52:54:00:ab:cd:eg",
		"5254.00ab.cdef",
		"52:54:00:ab:cd: f",
		" 2:54:00:ab:cd:ef",
		"52:54:00:ab:cd:e",
		"+2:54:00:ab:cd:ef",
	};
	uint8_t mac[6];
	char buf[18];
	size_t i;

	(void)state;
	assert_int_equal(vfo_mac_parse("52:54:00:AB:cd:ef", mac), 0);
	vfo_mac_format(mac, buf);
	assert_string_equal(buf, "52:54:00:ab:cd:ef");
	for (i = 0; i < VFO_ARRAY_SIZE(bad); i++)
		if (vfo_mac_parse(bad[i], mac) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(vfo_mac_parse(NULL, mac), -EINVAL);
}

static void test_read(void **state)
{
	struct vfo_vf_attrs a;

	(void)state;
	fk.vf[1].vlan = 12;
	fk.vf[1].qos = 3;
	assert_int_equal(vfo_vfcfg_read(&cfg, "pf0", 1, &a), 0);
	assert_int_equal(a.mask, VFO_VF_ATTR_ALL);
	assert_int_equal(a.mac[5], 0x11);
	assert_int_equal(a.vlan, 12);
	assert_int_equal(a.qos, 3);
	assert_true(a.spoofchk);
	assert_false(a.trust);
	assert_int_equal(vfo_vfcfg_read(&cfg, "pf0", 5, &a), -ENOENT);
	assert_int_equal(vfo_vfcfg_read(&cfg, "nope", 0, &a), -ENODEV);
	assert_int_equal(vfo_vfcfg_read(&cfg, "pf0", -1, &a), -EINVAL);
	fk.report_mask &= ~VFO_VF_ATTR_BIT(VFO_VF_ATTR_TRUST);
	assert_int_equal(vfo_vfcfg_read(&cfg, "pf0", 0, &a), 0);
	assert_false(a.mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_TRUST));
	assert_int_equal(fk.n_change, 0);
}

static void test_apply_sequence(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;
	int i;

	(void)state;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 1, &w, &saved, &res), 0);
	/* the exact order, one attribute each, each carrying its value */
	assert_int_equal(fk.n_req, 5);
	for (i = 0; i < 5; i++)
		expect_req(i, (enum vfo_vf_attr)i, 1);
	assert_memory_equal(fk.req[0].val.mac, w.mac, 6);
	assert_int_equal(fk.req[1].val.vlan, 100);
	assert_false(fk.req[2].val.spoofchk);
	assert_true(fk.req[3].val.trust);
	assert_int_equal(fk.req[4].val.link_state, VFO_VF_LINK_ENABLE);
	/* 1 save + per attribute: 1 get for the request, 1 read back */
	/* one read to save the originals, one read back per attribute */
	assert_int_equal(fk.n_get, 1 + 5);
	for (i = 0; i < VFO_VF_ATTR_N; i++)
		assert_int_equal(res.attr[i], VFO_VF_RES_APPLIED);
	/* saved are the originals */
	assert_int_equal(saved.mac[5], 0x11);
	assert_true(saved.spoofchk);
	assert_int_equal(saved.vlan, 0);
	/* the other VF was not touched */
	assert_int_equal(fk.vf[0].vlan, 0);
	assert_int_equal(fk.vf[1].vlan, 100);
	assert_true(fk.vf[1].trust);
}

static void test_apply_unchanged_skipped(void **state)
{
	struct vfo_vf_attrs w = { 0 }, saved;
	struct vfo_vfcfg_result res;

	(void)state;
	w.mask = VFO_VF_ATTR_BIT(VFO_VF_ATTR_SPOOFCHK) | VFO_VF_ATTR_BIT(VFO_VF_ATTR_VLAN);
	w.spoofchk = true; /* already on */
	w.vlan = 7;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), 0);
	assert_int_equal(fk.n_req, 1);
	expect_req(0, VFO_VF_ATTR_VLAN, 0);
	assert_int_equal(res.attr[VFO_VF_ATTR_SPOOFCHK], VFO_VF_RES_UNCHANGED);
	assert_int_equal(res.attr[VFO_VF_ATTR_VLAN], VFO_VF_RES_APPLIED);
	assert_int_equal(res.attr[VFO_VF_ATTR_MAC], VFO_VF_RES_SKIPPED);
}

static void test_readback_mismatch(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	/* the driver acks trust but does not apply it */
	fk.ignore[VFO_VF_ATTR_TRUST] = true;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), -EIO);
	/* mac, vlan, spoofchk, trust, then rollback: trust, spoofchk, vlan,
	 * mac (reverse order) */
	assert_int_equal(fk.n_req, 8);
	expect_req(3, VFO_VF_ATTR_TRUST, 0);
	expect_req(4, VFO_VF_ATTR_TRUST, 0);
	expect_req(5, VFO_VF_ATTR_SPOOFCHK, 0);
	expect_req(6, VFO_VF_ATTR_VLAN, 0);
	expect_req(7, VFO_VF_ATTR_MAC, 0);
	assert_int_equal(res.attr[VFO_VF_ATTR_TRUST], VFO_VF_RES_FAILED);
	assert_int_equal(res.err[VFO_VF_ATTR_TRUST], -EIO);
	assert_int_equal(res.attr[VFO_VF_ATTR_MAC], VFO_VF_RES_ROLLED_BACK);
	assert_int_equal(res.attr[VFO_VF_ATTR_LINK_STATE], VFO_VF_RES_SKIPPED);
	assert_non_null(strstr(logged, "trust read back differs"));
	/* back to the original */
	assert_memory_equal(fk.vf[0].mac, saved.mac, 6);
	assert_int_equal(fk.vf[0].vlan, 0);
	assert_true(fk.vf[0].spoofchk);
	assert_false(fk.vf[0].trust);
}

static void test_busy_then_ok(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	fk.busy[VFO_VF_ATTR_VLAN] = 2; /* within busy_retries (3) */
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), 0);
	assert_int_equal(fk.n_req, 7);
	expect_req(1, VFO_VF_ATTR_VLAN, 0);
	expect_req(2, VFO_VF_ATTR_VLAN, 0);
	expect_req(3, VFO_VF_ATTR_VLAN, 0);
	expect_req(4, VFO_VF_ATTR_SPOOFCHK, 0);
	assert_int_equal(res.attr[VFO_VF_ATTR_VLAN], VFO_VF_RES_APPLIED);
	assert_int_equal(fk.vf[0].vlan, 100);
}

static void test_busy_forever(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	fk.busy[VFO_VF_ATTR_SPOOFCHK] = 1000;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), -EBUSY);
	/* mac, vlan, 4 x spoofchk (1 + 3 retries), rollback vlan, mac */
	assert_int_equal(fk.n_req, 8);
	expect_req(2, VFO_VF_ATTR_SPOOFCHK, 0);
	expect_req(5, VFO_VF_ATTR_SPOOFCHK, 0);
	expect_req(6, VFO_VF_ATTR_VLAN, 0);
	expect_req(7, VFO_VF_ATTR_MAC, 0);
	assert_int_equal(fk.req[6].val.vlan, 0);
	assert_memory_equal(fk.req[7].val.mac, saved.mac, 6);
	assert_int_equal(res.attr[VFO_VF_ATTR_SPOOFCHK], VFO_VF_RES_FAILED);
	assert_int_equal(res.err[VFO_VF_ATTR_SPOOFCHK], -EBUSY);
	assert_int_equal(res.attr[VFO_VF_ATTR_VLAN], VFO_VF_RES_ROLLED_BACK);
	assert_int_equal(res.attr[VFO_VF_ATTR_TRUST], VFO_VF_RES_SKIPPED);
	assert_int_equal(fk.vf[0].vlan, 0);
	assert_int_equal(fk.vf[0].mac[5], 0x10);
}

static void test_real_error_restores(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	fk.fail_einval[VFO_VF_ATTR_MAC] = true;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), -EINVAL);
	/* nothing was applied, so nothing to roll back */
	assert_int_equal(fk.n_req, 1);
	assert_int_equal(res.attr[VFO_VF_ATTR_MAC], VFO_VF_RES_FAILED);
}

static void test_linkstate_unsupported(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	/* igb: link-state is EOPNOTSUPP; put it in the middle of the order
	 * by also refusing trust to check that both are skipped cleanly */
	fk.unsupported[VFO_VF_ATTR_LINK_STATE] = true;
	fk.unsupported[VFO_VF_ATTR_TRUST] = true;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 1, &w, &saved, &res), 0);
	assert_int_equal(fk.n_req, 5);
	assert_int_equal(res.attr[VFO_VF_ATTR_MAC], VFO_VF_RES_APPLIED);
	assert_int_equal(res.attr[VFO_VF_ATTR_VLAN], VFO_VF_RES_APPLIED);
	assert_int_equal(res.attr[VFO_VF_ATTR_SPOOFCHK], VFO_VF_RES_APPLIED);
	assert_int_equal(res.attr[VFO_VF_ATTR_TRUST], VFO_VF_RES_UNSUPPORTED);
	assert_int_equal(res.attr[VFO_VF_ATTR_LINK_STATE], VFO_VF_RES_UNSUPPORTED);
	assert_int_equal(res.err[VFO_VF_ATTR_LINK_STATE], -EOPNOTSUPP);
	assert_string_equal(vfo_vf_attr_result_str(res.attr[4]), "unsupported");
	assert_memory_equal(fk.vf[1].mac, w.mac, 6);
	assert_int_equal(fk.vf[1].link_state, VFO_VF_LINK_AUTO);
	/* logged as a notice, not as an error */
	assert_non_null(strstr(logged, "5 vfcfg: pf0 vf 1: driver does not "
				       "support setting link-state"));
	assert_null(strstr(logged, "3 vfcfg"));
}

static void test_restore_on_release(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;
	int base;

	(void)state;
	fk.unsupported[VFO_VF_ATTR_LINK_STATE] = true;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), 0);
	base = fk.n_req;
	assert_int_equal(vfo_vfcfg_restore(&cfg, "pf0", 0, &saved, true, &res), 0);
	/* mac scrubbed to zero, vlan 0, spoofchk on, trust off; link-state
	 * never changed so not touched */
	assert_int_equal(fk.n_req - base, 4);
	expect_req(base + 0, VFO_VF_ATTR_MAC, 0);
	expect_req(base + 1, VFO_VF_ATTR_VLAN, 0);
	expect_req(base + 2, VFO_VF_ATTR_SPOOFCHK, 0);
	expect_req(base + 3, VFO_VF_ATTR_TRUST, 0);
	assert_memory_equal(fk.req[base].val.mac, "\0\0\0\0\0\0", 6);
	assert_int_equal(res.attr[VFO_VF_ATTR_LINK_STATE], VFO_VF_RES_UNCHANGED);
	assert_memory_equal(fk.vf[0].mac, "\0\0\0\0\0\0", 6);
	assert_int_equal(fk.vf[0].vlan, 0);
	assert_true(fk.vf[0].spoofchk);
	assert_false(fk.vf[0].trust);
	/* without scrubbing the original MAC comes back */
	assert_int_equal(vfo_vfcfg_restore(&cfg, "pf0", 0, &saved, false, &res), 0);
	assert_int_equal(fk.vf[0].mac[5], 0x10);
	assert_int_equal(res.attr[VFO_VF_ATTR_VLAN], VFO_VF_RES_UNCHANGED);
}

static void test_restore_continues_after_error(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), 0);
	fk.fail_einval[VFO_VF_ATTR_VLAN] = true;
	assert_int_equal(vfo_vfcfg_restore(&cfg, "pf0", 0, &saved, true, &res), -EINVAL);
	assert_int_equal(res.attr[VFO_VF_ATTR_VLAN], VFO_VF_RES_FAILED);
	assert_int_equal(res.attr[VFO_VF_ATTR_SPOOFCHK], VFO_VF_RES_APPLIED);
	assert_int_equal(res.attr[VFO_VF_ATTR_TRUST], VFO_VF_RES_APPLIED);
	assert_int_equal(res.attr[VFO_VF_ATTR_LINK_STATE], VFO_VF_RES_APPLIED);
	assert_false(fk.vf[0].trust);
}

static void test_saved_unreadable(void **state)
{
	struct vfo_vf_attrs w = want_all(), saved;
	struct vfo_vfcfg_result res;

	(void)state;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf9", 0, &w, &saved, &res), -ENODEV);
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 9, &w, &saved, &res), -ENOENT);
	/* the read back itself fails: what was set is rolled back anyway
	 * as far as the (failing) kernel lets us, and the error returned */
	fk.n_get = 0;
	fk.n_change = 0;
	fk.fail_get_after = 1;
	assert_int_equal(vfo_vfcfg_apply(&cfg, "pf0", 0, &w, &saved, &res), -ENOMEM);
	assert_int_equal(res.attr[VFO_VF_ATTR_MAC], VFO_VF_RES_FAILED);
	/* the MAC, then its rollback (which cannot be read back either):
	 * nothing else was tried, and the VF has its own MAC again */
	assert_int_equal(fk.n_change, 2);
	expect_req(0, VFO_VF_ATTR_MAC, 0);
	expect_req(1, VFO_VF_ATTR_MAC, 0);
	assert_memory_equal(fk.req[1].val.mac, saved.mac, 6);
	assert_int_equal(fk.vf[0].mac[5], 0x10);
	assert_non_null(strstr(logged, "rolling back mac failed"));
}

static void test_attrs_json(void **state)
{
	struct vfo_vf_attrs a = want_all(), b;
	json_object *o, *bad;

	(void)state;
	a.qos = 5;
	o = vfo_vf_attrs_to_json(&a);
	assert_int_equal(vfo_vf_attrs_from_json(o, &b), 0);
	assert_int_equal(b.mask, a.mask);
	assert_memory_equal(b.mac, a.mac, 6);
	assert_int_equal(b.vlan, 100);
	assert_int_equal(b.qos, 5);
	assert_int_equal(b.trust, a.trust);
	assert_int_equal(b.link_state, a.link_state);
	json_object_put(o);
	bad = json_tokener_parse("{\"mac\":\"zz:54:00:ab:cd:ef\"}");
	assert_int_equal(vfo_vf_attrs_from_json(bad, &b), -EINVAL);
	json_object_put(bad);
	bad = json_tokener_parse("{\"vlan\":4096}");
	assert_int_equal(vfo_vf_attrs_from_json(bad, &b), -EINVAL);
	json_object_put(bad);
	bad = json_tokener_parse("{\"trust\":1}");
	assert_int_equal(vfo_vf_attrs_from_json(bad, &b), -EINVAL);
	json_object_put(bad);
	bad = json_tokener_parse("[]");
	assert_int_equal(vfo_vf_attrs_from_json(bad, &b), -EINVAL);
	json_object_put(bad);
}

/* ---- driver binding against a fake sysfs ------------------------------ */

static char tree[256];
static char mksysfs[512];

static void mk_tree(void)
{
	char cmd[1024];

	snprintf(tree, sizeof(tree), "/tmp/vfo-test-vfcfg.XXXXXX");
	assert_non_null(mkdtemp(tree));
	snprintf(cmd, sizeof(cmd), "%s %s/sys --pfs 1 --vfs 2 --no-driver 0:1", mksysfs, tree);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/dev", tree);
	assert_int_equal(mkdir(cmd, 0755), 0);
	snprintf(cmd, sizeof(cmd), "%s/dev/vfio", tree);
	assert_int_equal(mkdir(cmd, 0755), 0);
}

static void rm_tree(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	assert_int_equal(system(cmd), 0);
}

static void slurp(const char *rel, char *buf, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sys/%s", tree, rel);
	assert_true(vfo_read_file(path, buf, len) >= 0);
}

/* The "kernel": when drivers_probe names the device, bind it to whatever
 * driver_override says and create the vfio group node. */
struct kthread {
	const char *addr;
	int group;
	bool make_group;
	volatile bool stop;
};

static void *kernel_thread(void *arg)
{
	struct kthread *k = arg;
	char path[512], buf[64], ov[64], target[256];

	while (!k->stop) {
		snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers_probe", tree);
		if (vfo_read_file(path, buf, sizeof(buf)) > 0 && !strcmp(buf, k->addr)) {
			snprintf(path, sizeof(path), "%s/sys/devices/pci0000:00/%s/driver_override",
				 tree, k->addr);
			vfo_read_file(path, ov, sizeof(ov));
			snprintf(path, sizeof(path), "%s/sys/devices/pci0000:00/%s/driver", tree,
				 k->addr);
			unlink(path);
			snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", ov);
			if (ov[0] && symlink(target, path) < 0)
				break;
			if (k->make_group) {
				snprintf(path, sizeof(path), "%s/dev/vfio/%d", tree, k->group);
				close(open(path, O_CREAT | O_WRONLY, 0600));
			}
			break;
		}
		usleep(1000);
	}
	return NULL;
}

static void test_bind_vfio(void **state)
{
	struct kthread k = { .addr = "0000:10:10.0", .group = 3, .make_group = true };
	char sys[300], dev[300], buf[64];
	pthread_t t;

	(void)state;
	mk_tree();
	snprintf(sys, sizeof(sys), "%s/sys", tree);
	snprintf(dev, sizeof(dev), "%s/dev", tree);
	assert_int_equal(pthread_create(&t, NULL, kernel_thread, &k), 0);
	assert_int_equal(vfo_vf_bind_driver(sys, dev, k.addr, "vfio-pci", 3, 2000), 0);
	pthread_join(t, NULL);
	slurp("devices/pci0000:00/0000:10:10.0/driver_override", buf, sizeof(buf));
	assert_string_equal(buf, "vfio-pci");
	/* unbound from its host driver first */
	slurp("bus/pci/drivers/igbvf/unbind", buf, sizeof(buf));
	assert_string_equal(buf, "0000:10:10.0");
	slurp("bus/pci/drivers_probe", buf, sizeof(buf));
	assert_string_equal(buf, "0000:10:10.0");
	/* already bound: nothing written again */
	assert_int_equal(vfo_vf_bind_driver(sys, dev, k.addr, "vfio-pci", 3, 10), 0);
	/* and back */
	assert_int_equal(vfo_vf_unbind_driver(sys, k.addr), 0);
	slurp("devices/pci0000:00/0000:10:10.0/driver_override", buf, sizeof(buf));
	assert_string_equal(buf, "");
	slurp("bus/pci/drivers/vfio-pci/unbind", buf, sizeof(buf));
	assert_string_equal(buf, "0000:10:10.0");
	rm_tree();
}

static void test_bind_unbound_vf(void **state)
{
	struct kthread k = { .addr = "0000:10:10.1", .group = 4, .make_group = true };
	char sys[300], dev[300], buf[64];
	pthread_t t;

	(void)state;
	mk_tree();
	snprintf(sys, sizeof(sys), "%s/sys", tree);
	snprintf(dev, sizeof(dev), "%s/dev", tree);
	assert_int_equal(pthread_create(&t, NULL, kernel_thread, &k), 0);
	assert_int_equal(vfo_vf_bind_driver(sys, dev, k.addr, "vfio-pci", 4, 2000), 0);
	pthread_join(t, NULL);
	/* it had no driver: no unbind written anywhere */
	slurp("bus/pci/drivers/igbvf/unbind", buf, sizeof(buf));
	assert_string_equal(buf, "");
	rm_tree();
}

static void test_bind_no_group(void **state)
{
	struct kthread k = { .addr = "0000:10:10.0", .group = 3, .make_group = false };
	char sys[300], dev[300], buf[64];
	pthread_t t;

	(void)state;
	mk_tree();
	snprintf(sys, sizeof(sys), "%s/sys", tree);
	snprintf(dev, sizeof(dev), "%s/dev", tree);
	assert_int_equal(pthread_create(&t, NULL, kernel_thread, &k), 0);
	assert_int_equal(vfo_vf_bind_driver(sys, dev, k.addr, "vfio-pci", 3, 100), -ETIMEDOUT);
	pthread_join(t, NULL);
	/* the override is cleared again so the host driver can come back */
	slurp("devices/pci0000:00/0000:10:10.0/driver_override", buf, sizeof(buf));
	assert_string_equal(buf, "");
	rm_tree();
}

static void test_bind_bad_args(void **state)
{
	(void)state;
	mk_tree();
	assert_int_equal(vfo_vf_bind_driver("/x", "/y", "../../etc", "vfio-pci", 1, 10), -EINVAL);
	assert_int_equal(vfo_vf_bind_driver("/x", "/y", "0000:10:10.0", "a/b", 1, 10), -EINVAL);
	assert_int_equal(vfo_vf_unbind_driver("/x", ""), -EINVAL);
	/* a device that does not exist */
	{
		char sys[300];

		snprintf(sys, sizeof(sys), "%s/sys", tree);
		assert_int_equal(vfo_vf_bind_driver(sys, "/nonexistent", "0000:99:00.0", "vfio-pci",
						    1, 10),
				 -ENOENT);
	}
	rm_tree();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_parse),
		cmocka_unit_test_setup(test_read, setup),
		cmocka_unit_test_setup(test_apply_sequence, setup),
		cmocka_unit_test_setup(test_apply_unchanged_skipped, setup),
		cmocka_unit_test_setup(test_readback_mismatch, setup),
		cmocka_unit_test_setup(test_busy_then_ok, setup),
		cmocka_unit_test_setup(test_busy_forever, setup),
		cmocka_unit_test_setup(test_real_error_restores, setup),
		cmocka_unit_test_setup(test_linkstate_unsupported, setup),
		cmocka_unit_test_setup(test_restore_on_release, setup),
		cmocka_unit_test_setup(test_restore_continues_after_error, setup),
		cmocka_unit_test_setup(test_saved_unreadable, setup),
		cmocka_unit_test(test_attrs_json),
		cmocka_unit_test(test_bind_vfio),
		cmocka_unit_test(test_bind_unbound_vf),
		cmocka_unit_test(test_bind_no_group),
		cmocka_unit_test(test_bind_bad_args),
	};
	const char *env = getenv("VFO_MKSYSFS");

	/* the generator sits next to the test binary unless told otherwise */
	if (env)
		snprintf(mksysfs, sizeof(mksysfs), "%s", env);
	else
		snprintf(mksysfs, sizeof(mksysfs), "%.*s/../tools/vfo-mksysfs",
			 (int)(strrchr(argv[0], '/') ? strrchr(argv[0], '/') - argv[0] : 1),
			 strrchr(argv[0], '/') ? argv[0] : ".");
	(void)argc;
	vfo_log_set_level(VFO_LOG_INFO);
	vfo_log_set_sink(sink, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
