// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The vfo-hostd configuration schema and its translation into
 * struct vfo_hostd_cfg. Checks that need more than one key (a backend's
 * required keys, keys that belong to the other backend) run in the
 * section's validate hook so they carry a line number; the one check that
 * spans pools (a VF claimed twice) runs after loading.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd-config.h"
#include "log.h"

#define COMP "config"

static const char *const backend_choices[] = { "sriov", "emulated", NULL };
static const char *const link_choices[] = { "auto", "enable", "disable", NULL };
static const char *const policy_choices[] = { "abort", "proceed", NULL };
/* Index = position, level = syslog number, for the ENUM getter. */
static const char *const level_choices[] = { "err", "warning", "notice", "info", "debug", NULL };
static const int level_values[] = { VFO_LOG_ERR, VFO_LOG_WARNING, VFO_LOG_NOTICE, VFO_LOG_INFO,
				    VFO_LOG_DEBUG };

#define MS_DAY (24LL * 3600 * 1000)

static const struct vfo_config_key hostd_keys[] = {
	{ .name = "state_dir", .type = VFO_CONFIG_STRING, .def = VFO_HOSTD_STATE_DIR },
	{ .name = "socket", .type = VFO_CONFIG_STRING, .def = VFO_HOSTD_SOCKET_PATH },
	{ .name = "sysfs_root", .type = VFO_CONFIG_STRING, .def = "/sys" },
	{ .name = "group", .type = VFO_CONFIG_STRING, .def = "vfo" },
	{ .name = "log_level", .type = VFO_CONFIG_ENUM, .def = "info", .choices = level_choices },
	{ .name = "udev", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = "reservation_timeout",
	  .type = VFO_CONFIG_MS,
	  .def = "120s",
	  .min = 1000,
	  .max = MS_DAY },
	{ .name = "rescan_delay", .type = VFO_CONFIG_MS, .def = "200ms", .min = 0, .max = 60000 },
	{ .name = "max_clients", .type = VFO_CONFIG_INT, .def = "256", .min = 1, .max = 65536 },
	{ .name = "ctl_max_line",
	  .type = VFO_CONFIG_INT,
	  .def = "65536",
	  .min = 1024,
	  .max = 16 << 20 },
	{ .name = "ctl_max_queue",
	  .type = VFO_CONFIG_INT,
	  .def = "1048576",
	  .min = 4096,
	  .max = 256 << 20 },
	{ .name = "ctl_rate", .type = VFO_CONFIG_INT, .def = "1000", .min = 0, .max = 1000000 },
	{ .name = "ctl_burst", .type = VFO_CONFIG_INT, .def = "2000", .min = 1, .max = 1000000 },
	{ .name = "ack_timeout", .type = VFO_CONFIG_MS, .def = "2s", .min = 10, .max = 600000 },
	{ .name = "unplug_timeout", .type = VFO_CONFIG_MS, .def = "10s", .min = 100, .max = 600000 },
	{ .name = "plug_timeout", .type = VFO_CONFIG_MS, .def = "10s", .min = 100, .max = 600000 },
	{ .name = "migrate_timeout",
	  .type = VFO_CONFIG_MS,
	  .def = "10m",
	  .min = 1000,
	  .max = MS_DAY },
	{ .name = "removal_failed_policy",
	  .type = VFO_CONFIG_ENUM,
	  .def = "abort",
	  .choices = policy_choices },
	{ .name = "retries", .type = VFO_CONFIG_INT, .def = "3", .min = 0, .max = 100 },
	{ .name = "libvirt_uri", .type = VFO_CONFIG_STRING, .def = "qemu:///system" },
	{ .name = NULL },
};

static const struct vfo_config_key pool_keys[] = {
	{ .name = "backend", .type = VFO_CONFIG_ENUM, .choices = backend_choices, .required = true },
	{ .name = "pfs", .type = VFO_CONFIG_LIST },
	{ .name = "numvfs", .type = VFO_CONFIG_INT, .def = "0", .min = 0, .max = 2048 },
	{ .name = "driver", .type = VFO_CONFIG_STRING, .def = "vfio-pci" },
	{ .name = "vlan", .type = VFO_CONFIG_INT, .def = "0", .min = 0, .max = 4094 },
	{ .name = "qos", .type = VFO_CONFIG_INT, .def = "0", .min = 0, .max = 7 },
	{ .name = "spoofchk", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = "trust", .type = VFO_CONFIG_BOOL, .def = "no" },
	{ .name = "link_state", .type = VFO_CONFIG_ENUM, .def = "auto", .choices = link_choices },
	{ .name = "bridge", .type = VFO_CONFIG_STRING },
	{ .name = "model", .type = VFO_CONFIG_STRING, .def = "e1000e" },
	{ .name = "count", .type = VFO_CONFIG_INT, .def = "0", .min = 0, .max = 4096 },
	{ .name = NULL },
};

static const char *const sriov_only[] = { "pfs",      "numvfs", "driver",     "vlan", "qos",
					  "spoofchk", "trust",	"link_state", NULL };
static const char *const emulated_only[] = { "bridge", "model", "count", NULL };

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IF_NAMESIZE)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static bool valid_driver(const char *s)
{
	if (!*s || strlen(s) >= 64)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static void not_for(const struct vfo_config_section *s, struct vfo_config_report *r,
		    const char *const *keys, const char *backend)
{
	for (; *keys; keys++)
		if (vfo_config_is_set(s, *keys))
			vfo_config_report(r, s, *keys, "'%s' does not apply to backend %s", *keys,
					  backend);
}

static void validate_sriov(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	const char *const *pfs = vfo_config_get_list(s, "pfs");
	struct vfo_pf_range range;
	char err[128];

	not_for(s, r, emulated_only, "sriov");
	if (!*pfs)
		vfo_config_report(
			r, s, "pfs",
			"backend sriov needs 'pfs' (PF netdevs or PCI addresses, optionally with #first-last)");
	for (; *pfs; pfs++) {
		if (vfo_pf_range_parse(*pfs, &range, err, sizeof(err)) < 0)
			vfo_config_report(r, s, "pfs", "bad PF '%s': %s", *pfs, err);
		for (const char *const *q = pfs + 1; *q; q++) {
			struct vfo_pf_range r2;

			if (vfo_pf_range_parse(*q, &r2, err, sizeof(err)) < 0 ||
			    strcmp(r2.pf, range.pf))
				continue;
			vfo_config_report(r, s, "pfs",
					  "PF '%s' listed twice; give one range per PF", range.pf);
			break;
		}
	}
	if (!valid_driver(vfo_config_get_string(s, "driver")))
		vfo_config_report(r, s, "driver", "bad driver name '%s'",
				  vfo_config_get_string(s, "driver"));
	if (vfo_config_is_set(s, "qos") && !vfo_config_get_int(s, "vlan"))
		vfo_config_report(r, s, "qos", "'qos' needs a 'vlan'");
}

static void validate_emulated(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	const char *bridge = vfo_config_get_string(s, "bridge");
	const char *model = vfo_config_get_string(s, "model");

	not_for(s, r, sriov_only, "emulated");
	if (!*bridge)
		vfo_config_report(r, s, "bridge", "backend emulated needs 'bridge'");
	else if (!valid_ifname(bridge))
		vfo_config_report(r, s, "bridge", "bad bridge name '%s'", bridge);
	if (!*model || strlen(model) >= 32 || strpbrk(model, "'\"<>& /"))
		vfo_config_report(r, s, "model", "bad NIC model '%s'", model);
	if (vfo_config_get_int(s, "count") < 1)
		vfo_config_report(r, s, "count", "backend emulated needs 'count' >= 1");
}

static void validate_pool(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	/* A missing backend is reported by the loader; nothing to add. */
	if (!vfo_config_is_set(s, "backend"))
		return;
	if (vfo_config_get_enum(s, "backend") == VFO_HOSTD_BACKEND_SRIOV)
		validate_sriov(s, r);
	else
		validate_emulated(s, r);
}

static void validate_hostd(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	static const char *const paths[] = { "state_dir", "socket", "sysfs_root", NULL };

	for (const char *const *k = paths; *k; k++) {
		const char *v = vfo_config_get_string(s, *k);

		if (v[0] != '/')
			vfo_config_report(r, s, *k, "'%s' must be an absolute path", *k);
	}
	if (strlen(vfo_config_get_string(s, "socket")) >= 108)
		vfo_config_report(r, s, "socket", "socket path longer than 107 bytes");
}

static const struct vfo_config_section_schema sections[] = {
	{ .name = "hostd", .keys = hostd_keys, .validate = validate_hostd },
	{ .name = "pool", .named = true, .keys = pool_keys, .validate = validate_pool },
	{ .name = NULL },
};

static const struct vfo_config_schema schema = { .sections = sections };

const struct vfo_config_schema *vfo_hostd_config_schema(void)
{
	return &schema;
}

const char *vfo_hostd_backend_str(enum vfo_hostd_backend_type t)
{
	return t == VFO_HOSTD_BACKEND_EMULATED ? "emulated" : "sriov";
}

/* ---- translation ------------------------------------------------------- */

static void emit(vfo_config_error_fn on_error, void *opaque, const char *fmt, ...) VFO_PRINTF(3, 4);

static void emit(vfo_config_error_fn on_error, void *opaque, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (on_error)
		on_error(msg, opaque);
	else
		vfo_err(COMP, "%s", msg);
}

static int dup_str(char **dst, const char *src)
{
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static void copy_buf(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

static int pool_from(const struct vfo_config_section *s, struct vfo_hostd_pool_cfg *p)
{
	const char *const *pfs = vfo_config_get_list(s, "pfs");
	size_t n = 0;
	char err[128];

	copy_buf(p->name, sizeof(p->name), vfo_config_section_name(s));
	p->backend = vfo_config_get_enum(s, "backend");
	while (pfs[n])
		n++;
	if (n) {
		p->pfs = calloc(n, sizeof(*p->pfs));
		if (!p->pfs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (vfo_pf_range_parse(pfs[i], &p->pfs[i], err, sizeof(err)) < 0)
			return -EINVAL; /* validated already */
	p->n_pfs = n;
	p->numvfs = vfo_config_is_set(s, "numvfs") ? (int)vfo_config_get_int(s, "numvfs") : -1;
	copy_buf(p->driver, sizeof(p->driver), vfo_config_get_string(s, "driver"));
	p->vlan = vfo_config_get_int(s, "vlan");
	p->qos = vfo_config_get_int(s, "qos");
	p->spoofchk = vfo_config_get_bool(s, "spoofchk");
	p->trust = vfo_config_get_bool(s, "trust");
	p->link_state = vfo_config_get_enum(s, "link_state");
	copy_buf(p->bridge, sizeof(p->bridge), vfo_config_get_string(s, "bridge"));
	copy_buf(p->model, sizeof(p->model), vfo_config_get_string(s, "model"));
	p->count = vfo_config_get_int(s, "count");
	return 0;
}

static bool ranges_overlap(const struct vfo_pf_range *a, const struct vfo_pf_range *b)
{
	if (strcmp(a->pf, b->pf))
		return false;
	if (a->first < 0 || b->first < 0)
		return true;
	return a->first <= b->last && b->first <= a->last;
}

/* Two pools sharing a PF with different counts would each want their own
 * sriov_numvfs written to it. */
static bool numvfs_conflict(const struct vfo_hostd_pool_cfg *x, const struct vfo_hostd_pool_cfg *y,
			    const struct vfo_pf_range *rx, const struct vfo_pf_range *ry)
{
	return !strcmp(rx->pf, ry->pf) && x->numvfs >= 0 && y->numvfs >= 0 &&
	       x->numvfs != y->numvfs;
}

/* Two pools owning one VF would hand it out twice: refuse the file. */
static int check_overlaps(const struct vfo_hostd_cfg *c, vfo_config_error_fn on_error, void *opaque)
{
	int bad = 0;

	for (size_t i = 0; i < c->n_pools; i++)
		for (size_t j = i + 1; j < c->n_pools; j++)
			for (size_t a = 0; a < c->pools[i].n_pfs; a++)
				for (size_t b = 0; b < c->pools[j].n_pfs; b++) {
					const struct vfo_hostd_pool_cfg *x = &c->pools[i];
					const struct vfo_hostd_pool_cfg *y = &c->pools[j];
					const struct vfo_pf_range *ra = &x->pfs[a];
					const struct vfo_pf_range *rb = &y->pfs[b];

					if (ranges_overlap(ra, rb)) {
						emit(on_error, opaque,
						     "%s: pools '%s' and '%s' both claim VFs of PF '%s'",
						     c->path, x->name, y->name, ra->pf);
						bad = -EINVAL;
					} else if (numvfs_conflict(x, y, ra, rb)) {
						emit(on_error, opaque,
						     "%s: pools '%s' and '%s' share PF '%s' but want numvfs %d and %d",
						     c->path, x->name, y->name, ra->pf, x->numvfs,
						     y->numvfs);
						bad = -EINVAL;
					}
				}
	return bad;
}

static int cfg_from(const struct vfo_config *vc, struct vfo_hostd_cfg *c)
{
	const struct vfo_config_section *h = vfo_config_section(vc, "hostd", NULL);
	const struct vfo_config_section *s = NULL;
	size_t n = 0;
	int r;

	if (dup_str(&c->state_dir, vfo_config_get_string(h, "state_dir")) ||
	    dup_str(&c->socket, vfo_config_get_string(h, "socket")) ||
	    dup_str(&c->sysfs_root, vfo_config_get_string(h, "sysfs_root")) ||
	    dup_str(&c->group, vfo_config_get_string(h, "group")) ||
	    dup_str(&c->libvirt_uri, vfo_config_get_string(h, "libvirt_uri")))
		return -ENOMEM;
	c->log_level = level_values[vfo_config_get_enum(h, "log_level")];
	c->udev = vfo_config_get_bool(h, "udev");
	c->reservation_timeout_ms = vfo_config_get_ms(h, "reservation_timeout");
	c->rescan_delay_ms = vfo_config_get_ms(h, "rescan_delay");
	c->max_clients = vfo_config_get_int(h, "max_clients");
	c->ctl_max_line = vfo_config_get_int(h, "ctl_max_line");
	c->ctl_max_queue = vfo_config_get_int(h, "ctl_max_queue");
	c->ctl_rate = vfo_config_get_int(h, "ctl_rate");
	c->ctl_burst = vfo_config_get_int(h, "ctl_burst");
	c->ack_timeout_ms = vfo_config_get_ms(h, "ack_timeout");
	c->unplug_timeout_ms = vfo_config_get_ms(h, "unplug_timeout");
	c->plug_timeout_ms = vfo_config_get_ms(h, "plug_timeout");
	c->migrate_timeout_ms = vfo_config_get_ms(h, "migrate_timeout");
	c->removal_failed_policy = vfo_config_get_enum(h, "removal_failed_policy");
	c->retries = vfo_config_get_int(h, "retries");

	while ((s = vfo_config_next(vc, "pool", s)))
		n++;
	if (n) {
		c->pools = calloc(n, sizeof(*c->pools));
		if (!c->pools)
			return -ENOMEM;
	}
	while ((s = vfo_config_next(vc, "pool", s))) {
		r = pool_from(s, &c->pools[c->n_pools]);
		c->n_pools++;
		if (r < 0)
			return r;
	}
	return 0;
}

static int finish(struct vfo_config *vc, const char *name, vfo_config_error_fn on_error,
		  void *opaque, struct vfo_hostd_cfg **out)
{
	struct vfo_hostd_cfg *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto out;
	}
	r = dup_str(&c->path, name);
	if (!r)
		r = cfg_from(vc, c);
	if (!r)
		r = check_overlaps(c, on_error, opaque);
	if (!r && !c->n_pools)
		vfo_warn(COMP, "%s: no [pool NAME] section: nothing to allocate", name);
out:
	vfo_config_free(vc);
	if (r < 0) {
		vfo_hostd_config_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int vfo_hostd_config_load(const char *path, vfo_config_error_fn on_error, void *opaque,
			  struct vfo_hostd_cfg **out)
{
	struct vfo_config *vc;
	int r;

	*out = NULL;
	r = vfo_config_load_file(&schema, path, on_error, opaque, &vc);
	if (r < 0)
		return r;
	return finish(vc, path, on_error, opaque, out);
}

int vfo_hostd_config_load_buffer(const char *name, const char *buf, size_t len,
				 vfo_config_error_fn on_error, void *opaque,
				 struct vfo_hostd_cfg **out)
{
	struct vfo_config *vc;
	int r;

	*out = NULL;
	r = vfo_config_load_buffer(&schema, name, buf, len, on_error, opaque, &vc);
	if (r < 0)
		return r;
	return finish(vc, name, on_error, opaque, out);
}

void vfo_hostd_config_free(struct vfo_hostd_cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_pools; i++)
		free(c->pools[i].pfs);
	free(c->pools);
	free(c->path);
	free(c->state_dir);
	free(c->socket);
	free(c->sysfs_root);
	free(c->group);
	free(c->libvirt_uri);
	free(c);
}

const struct vfo_hostd_pool_cfg *vfo_hostd_config_pool(const struct vfo_hostd_cfg *c,
						       const char *name)
{
	for (size_t i = 0; i < c->n_pools; i++)
		if (!strcmp(c->pools[i].name, name))
			return &c->pools[i];
	return NULL;
}
