// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VF configuration through the PF, and driver_override binding.
 *
 * Netlink goes through the common module's vfo_nl_vf_get() (read) and
 * vfo_nl_vf_set() (write one field) only, so tests can wrap exactly those
 * two and see every request vfo makes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"
#include "util.h"
#include "vfcfg.h"

#define COMP "vfcfg"

static const char *const attr_names[VFO_VF_ATTR_N] = {
	[VFO_VF_ATTR_MAC] = "mac",
	[VFO_VF_ATTR_VLAN] = "vlan",
	[VFO_VF_ATTR_SPOOFCHK] = "spoofchk",
	[VFO_VF_ATTR_TRUST] = "trust",
	[VFO_VF_ATTR_LINK_STATE] = "link-state",
};

const char *vfo_vf_attr_name(enum vfo_vf_attr a)
{
	return (unsigned int)a < VFO_VF_ATTR_N ? attr_names[a] : "?";
}

const char *vfo_vf_attr_result_str(enum vfo_vf_attr_result r)
{
	static const char *const s[] = {
		"skipped", "applied", "unchanged", "unsupported", "failed", "rolled-back",
	};

	return (unsigned int)r < VFO_ARRAY_SIZE(s) ? s[r] : "?";
}

int vfo_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i, n = 0;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (i && s[3 * i - 1] != ':')
			return -EINVAL;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &n) !=
		    6 ||
	    n != 17)
		return -EINVAL;
	for (i = 0; i < 17; i++)
		if (i % 3 != 2 && !strchr("0123456789abcdefABCDEF", s[i]))
			return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

void vfo_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* vfo_vf_attr and the netlink module's field bits, one to one. */
static const uint32_t nl_field[VFO_VF_ATTR_N] = {
	[VFO_VF_ATTR_MAC] = VFO_NL_VF_MAC,
	[VFO_VF_ATTR_VLAN] = VFO_NL_VF_VLAN,
	[VFO_VF_ATTR_SPOOFCHK] = VFO_NL_VF_SPOOFCHK,
	[VFO_VF_ATTR_TRUST] = VFO_NL_VF_TRUST,
	[VFO_VF_ATTR_LINK_STATE] = VFO_NL_VF_LINK_STATE,
};

/* ---- reading ---------------------------------------------------------- */

static void from_nl(const struct vfo_nl_vf *v, struct vfo_vf_attrs *out)
{
	int a;

	memset(out, 0, sizeof(*out));
	for (a = 0; a < VFO_VF_ATTR_N; a++)
		if (v->mask & nl_field[a])
			out->mask |= VFO_VF_ATTR_BIT(a);
	memcpy(out->mac, v->mac, 6);
	out->vlan = v->vlan;
	out->qos = v->vlan ? v->qos : 0;
	out->spoofchk = v->spoofchk;
	out->trust = v->trust;
	out->link_state = (int)v->link_state;
}

int vfo_vfcfg_read(struct vfo_vfcfg *c, const char *pf, int vf, struct vfo_vf_attrs *out)
{
	struct vfo_nl_vf v;
	int r;

	(void)c;
	if (vf < 0 || !pf)
		return -EINVAL;
	r = vfo_nl_vf_get(pf, (uint32_t)vf, &v);
	if (r < 0)
		return r;
	from_nl(&v, out);
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

static int to_nl(int vf, enum vfo_vf_attr a, const struct vfo_vf_attrs *val, struct vfo_nl_vf *v)
{
	memset(v, 0, sizeof(*v));
	v->index = (uint32_t)vf;
	v->mask = nl_field[a];
	switch (a) {
	case VFO_VF_ATTR_MAC:
		memcpy(v->mac, val->mac, 6);
		return 0;
	case VFO_VF_ATTR_VLAN:
		if (val->vlan < 0 || val->vlan > 4095 || val->qos < 0 || val->qos > 7)
			return -EINVAL;
		v->vlan = (uint16_t)val->vlan;
		v->qos = (uint8_t)(val->vlan ? val->qos : 0);
		return 0;
	case VFO_VF_ATTR_SPOOFCHK:
		v->spoofchk = val->spoofchk;
		return 0;
	case VFO_VF_ATTR_TRUST:
		v->trust = val->trust;
		return 0;
	case VFO_VF_ATTR_LINK_STATE:
		if (val->link_state < 0 || val->link_state > VFO_VF_LINK_DISABLE)
			return -EINVAL;
		v->link_state = (uint32_t)val->link_state;
		return 0;
	default:
		return -EINVAL;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One attribute, one RTM_NEWLINK on the PF; EBUSY retried with backoff. */
static int set_one(struct vfo_vfcfg *c, const char *pf, int vf, enum vfo_vf_attr a,
		   const struct vfo_vf_attrs *val)
{
	int backoff = c->busy_backoff_ms > 0 ? c->busy_backoff_ms : 1;
	struct vfo_nl_vf v;
	int r, attempt;

	r = to_nl(vf, a, val, &v);
	if (r < 0)
		return r;
	for (attempt = 0;; attempt++) {
		r = vfo_nl_vf_set(pf, nl_field[a], &v);
		if ((r != -EBUSY && r != -EAGAIN) || attempt >= c->busy_retries)
			break;
		vfo_dbg(COMP, "%s vf %d %s: busy, retry in %d ms", pf, vf, attr_names[a], backoff);
		sleep_ms(backoff);
		backoff *= 2;
	}
	return r;
}

static bool attr_eq(enum vfo_vf_attr a, const struct vfo_vf_attrs *x, const struct vfo_vf_attrs *y)
{
	switch (a) {
	case VFO_VF_ATTR_MAC:
		return !memcmp(x->mac, y->mac, 6);
	case VFO_VF_ATTR_VLAN:
		return x->vlan == y->vlan && (x->vlan == 0 || x->qos == y->qos);
	case VFO_VF_ATTR_SPOOFCHK:
		return x->spoofchk == y->spoofchk;
	case VFO_VF_ATTR_TRUST:
		return x->trust == y->trust;
	case VFO_VF_ATTR_LINK_STATE:
		return x->link_state == y->link_state;
	default:
		return false;
	}
}

/*
 * Set one attribute and read it back. Returns 0, -EOPNOTSUPP, or another
 * error; *touched tells whether the VF may have changed (for rollback).
 */
static int set_checked(struct vfo_vfcfg *c, const char *pf, int vf, enum vfo_vf_attr a,
		       const struct vfo_vf_attrs *val, bool *touched)
{
	struct vfo_vf_attrs now;
	int r;

	*touched = false;
	r = set_one(c, pf, vf, a, val);
	if (r < 0)
		return r;
	*touched = true;
	r = vfo_vfcfg_read(c, pf, vf, &now);
	if (r < 0)
		return r;
	if (!(now.mask & VFO_VF_ATTR_BIT(a))) {
		vfo_dbg(COMP, "%s vf %d: %s not reported, cannot verify", pf, vf, attr_names[a]);
		return 0;
	}
	if (!attr_eq(a, &now, val)) {
		vfo_err(COMP, "%s vf %d: %s read back differs from what was set", pf, vf,
			attr_names[a]);
		return -EIO;
	}
	return 0;
}

static void rollback(struct vfo_vfcfg *c, const char *pf, int vf, const struct vfo_vf_attrs *saved,
		     struct vfo_vfcfg_result *res, const bool *touched)
{
	bool t;
	int a, r;

	for (a = VFO_VF_ATTR_N - 1; a >= 0; a--) {
		if (!touched[a])
			continue;
		if (!(saved->mask & VFO_VF_ATTR_BIT(a))) {
			vfo_warn(COMP, "%s vf %d: no saved %s to roll back to", pf, vf,
				 attr_names[a]);
			continue;
		}
		r = set_checked(c, pf, vf, a, saved, &t);
		if (r < 0)
			vfo_err(COMP, "%s vf %d: rolling back %s failed: %s", pf, vf, attr_names[a],
				strerror(-r));
		else
			res->attr[a] = VFO_VF_RES_ROLLED_BACK;
	}
}

int vfo_vfcfg_apply(struct vfo_vfcfg *c, const char *pf, int vf, const struct vfo_vf_attrs *want,
		    struct vfo_vf_attrs *saved, struct vfo_vfcfg_result *res)
{
	bool touched[VFO_VF_ATTR_N] = { false };
	int a, r;

	memset(res, 0, sizeof(*res));
	r = vfo_vfcfg_read(c, pf, vf, saved);
	if (r < 0) {
		vfo_err(COMP, "%s vf %d: cannot read current settings: %s", pf, vf, strerror(-r));
		return r;
	}
	for (a = 0; a < VFO_VF_ATTR_N; a++) {
		if (!(want->mask & VFO_VF_ATTR_BIT(a)))
			continue;
		if ((saved->mask & VFO_VF_ATTR_BIT(a)) && attr_eq(a, saved, want)) {
			res->attr[a] = VFO_VF_RES_UNCHANGED;
			continue;
		}
		r = set_checked(c, pf, vf, a, want, &touched[a]);
		res->err[a] = r;
		if (r == -EOPNOTSUPP) {
			vfo_notice(COMP,
				   "%s vf %d: driver does not support "
				   "setting %s, continuing without it",
				   pf, vf, attr_names[a]);
			res->attr[a] = VFO_VF_RES_UNSUPPORTED;
			continue;
		}
		if (r < 0) {
			vfo_err(COMP,
				"%s vf %d: setting %s failed: %s; "
				"restoring",
				pf, vf, attr_names[a], strerror(-r));
			res->attr[a] = VFO_VF_RES_FAILED;
			rollback(c, pf, vf, saved, res, touched);
			if (touched[a] && res->attr[a] == VFO_VF_RES_ROLLED_BACK)
				res->attr[a] = VFO_VF_RES_FAILED;
			return r;
		}
		res->attr[a] = VFO_VF_RES_APPLIED;
	}
	return 0;
}

int vfo_vfcfg_restore(struct vfo_vfcfg *c, const char *pf, int vf, const struct vfo_vf_attrs *saved,
		      bool scrub_mac, struct vfo_vfcfg_result *res)
{
	struct vfo_vf_attrs target = *saved, now;
	int a, r, first = 0;
	bool touched;

	memset(res, 0, sizeof(*res));
	if (scrub_mac) {
		memset(target.mac, 0, sizeof(target.mac));
		target.mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_MAC);
	}
	r = vfo_vfcfg_read(c, pf, vf, &now);
	if (r < 0)
		return r;
	for (a = 0; a < VFO_VF_ATTR_N; a++) {
		if (!(target.mask & VFO_VF_ATTR_BIT(a)))
			continue;
		if ((now.mask & VFO_VF_ATTR_BIT(a)) && attr_eq(a, &now, &target)) {
			res->attr[a] = VFO_VF_RES_UNCHANGED;
			continue;
		}
		r = set_checked(c, pf, vf, a, &target, &touched);
		res->err[a] = r;
		if (r == -EOPNOTSUPP) {
			res->attr[a] = VFO_VF_RES_UNSUPPORTED;
		} else if (r < 0) {
			vfo_err(COMP, "%s vf %d: restoring %s failed: %s", pf, vf, attr_names[a],
				strerror(-r));
			res->attr[a] = VFO_VF_RES_FAILED;
			if (!first)
				first = r;
		} else {
			res->attr[a] = VFO_VF_RES_APPLIED;
		}
	}
	return first;
}

/* ---- persistence of saved attributes --------------------------------- */

json_object *vfo_vf_attrs_to_json(const struct vfo_vf_attrs *a)
{
	json_object *o = json_object_new_object();
	char mac[18];

	if (!o)
		return NULL;
	if (a->mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_MAC)) {
		vfo_mac_format(a->mac, mac);
		json_object_object_add(o, "mac", json_object_new_string(mac));
	}
	if (a->mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_VLAN)) {
		json_object_object_add(o, "vlan", json_object_new_int(a->vlan));
		json_object_object_add(o, "qos", json_object_new_int(a->qos));
	}
	if (a->mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_SPOOFCHK))
		json_object_object_add(o, "spoofchk", json_object_new_boolean(a->spoofchk));
	if (a->mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_TRUST))
		json_object_object_add(o, "trust", json_object_new_boolean(a->trust));
	if (a->mask & VFO_VF_ATTR_BIT(VFO_VF_ATTR_LINK_STATE))
		json_object_object_add(o, "link_state", json_object_new_int(a->link_state));
	return o;
}

static int jint(json_object *o, const char *key, int lo, int hi, int *out, bool *present)
{
	json_object *v;
	int64_t x;

	*present = json_object_object_get_ex(o, key, &v);
	if (!*present)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return -EINVAL;
	*out = (int)x;
	return 0;
}

static int jbool(json_object *o, const char *key, bool *out, bool *present)
{
	json_object *v;

	*present = json_object_object_get_ex(o, key, &v);
	if (!*present)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*out = json_object_get_boolean(v);
	return 0;
}

int vfo_vf_attrs_from_json(json_object *o, struct vfo_vf_attrs *a)
{
	bool p;
	json_object *v;

	memset(a, 0, sizeof(*a));
	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	if (json_object_object_get_ex(o, "mac", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    vfo_mac_parse(json_object_get_string(v), a->mac) < 0)
			return -EINVAL;
		a->mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_MAC);
	}
	if (jint(o, "vlan", 0, 4095, &a->vlan, &p) < 0)
		return -EINVAL;
	if (p) {
		if (jint(o, "qos", 0, 7, &a->qos, &p) < 0)
			return -EINVAL;
		a->mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_VLAN);
	}
	if (jbool(o, "spoofchk", &a->spoofchk, &p) < 0)
		return -EINVAL;
	if (p)
		a->mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_SPOOFCHK);
	if (jbool(o, "trust", &a->trust, &p) < 0)
		return -EINVAL;
	if (p)
		a->mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_TRUST);
	if (jint(o, "link_state", 0, 2, &a->link_state, &p) < 0)
		return -EINVAL;
	if (p)
		a->mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_LINK_STATE);
	return 0;
}

/* ---- driver binding --------------------------------------------------- */

static bool safe_name(const char *s)
{
	return s && s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < 64;
}

/* snprintf that reports truncation instead of silently cutting a path */
static int mkpath(char *buf, size_t len, const char *fmt, ...) VFO_PRINTF(3, 4);
static int mkpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* sysfs attributes want the whole value in one write; O_TRUNC is what a
 * shell "echo >" does, and keeps plain files (tests) consistent. */
static int write_attr(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

static int current_driver(const char *dev, char *buf, size_t len)
{
	char path[4096], target[512];
	const char *base;
	ssize_t n;

	mkpath(path, sizeof(path), "%s/driver", dev);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		buf[0] = '\0';
		return errno == ENOENT ? 0 : -errno;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

static bool bound_and_ready(const char *dev, const char *dev_root, const char *driver, int group)
{
	char cur[128], path[4096];
	struct stat st;

	if (current_driver(dev, cur, sizeof(cur)) < 0 || strcmp(cur, driver))
		return false;
	if (strcmp(driver, "vfio-pci") || group < 0)
		return true;
	mkpath(path, sizeof(path), "%s/vfio/%d", dev_root, group);
	return stat(path, &st) == 0;
}

static int reprobe(const char *sysfs_root, const char *dev, const char *addr)
{
	char path[4096];
	int r;

	mkpath(path, sizeof(path), "%s/driver_override", dev);
	r = write_attr(path, "\n");
	mkpath(path, sizeof(path), "%s/bus/pci/drivers_probe", sysfs_root);
	/* no matching driver is not an error here */
	write_attr(path, addr);
	return r;
}

int vfo_vf_bind_driver(const char *sysfs_root, const char *dev_root, const char *addr,
		       const char *driver, int iommu_group, int timeout_ms)
{
	/* dev is shorter than path so every "dev/leaf" below fits */
	char dev[4000], path[4096], cur[128];
	int64_t until;
	int r;

	if (!safe_name(addr) || !safe_name(driver))
		return -EINVAL;
	if (mkpath(dev, sizeof(dev), "%s/bus/pci/devices/%s", sysfs_root, addr))
		return -ENAMETOOLONG;
	r = current_driver(dev, cur, sizeof(cur));
	if (r < 0)
		return r;
	if (strcmp(cur, driver)) {
		/* override first: whatever probes the device next, including
		 * a hotplug rescan racing with us, can only pick driver */
		mkpath(path, sizeof(path), "%s/driver_override", dev);
		r = write_attr(path, driver);
		if (r < 0) {
			vfo_err(COMP, "%s: driver_override: %s", addr, strerror(-r));
			return r;
		}
		if (cur[0]) {
			mkpath(path, sizeof(path), "%s/driver/unbind", dev);
			r = write_attr(path, addr);
			if (r < 0) {
				vfo_err(COMP, "%s: unbind from %s: %s", addr, cur, strerror(-r));
				goto fail;
			}
		}
		mkpath(path, sizeof(path), "%s/bus/pci/drivers_probe", sysfs_root);
		r = write_attr(path, addr);
		if (r < 0) {
			vfo_err(COMP, "%s: drivers_probe: %s", addr, strerror(-r));
			goto fail;
		}
	}
	until = vfo_now_ms() + timeout_ms;
	while (!bound_and_ready(dev, dev_root, driver, iommu_group)) {
		if (vfo_now_ms() >= until) {
			vfo_err(COMP,
				"%s: not bound to %s (or no vfio group "
				"%d) after %d ms",
				addr, driver, iommu_group, timeout_ms);
			r = -ETIMEDOUT;
			goto fail;
		}
		sleep_ms(5);
	}
	return 0;
fail:
	reprobe(sysfs_root, dev, addr);
	return r;
}

int vfo_vf_unbind_driver(const char *sysfs_root, const char *addr)
{
	char dev[4000], path[4096], cur[128];
	int r;

	if (!safe_name(addr))
		return -EINVAL;
	if (mkpath(dev, sizeof(dev), "%s/bus/pci/devices/%s", sysfs_root, addr))
		return -ENAMETOOLONG;
	r = current_driver(dev, cur, sizeof(cur));
	if (r < 0)
		return r;
	mkpath(path, sizeof(path), "%s/driver_override", dev);
	r = write_attr(path, "\n");
	if (r < 0)
		return r;
	if (cur[0]) {
		mkpath(path, sizeof(path), "%s/driver/unbind", dev);
		r = write_attr(path, addr);
		if (r < 0)
			return r;
	}
	return reprobe(sysfs_root, dev, addr);
}
