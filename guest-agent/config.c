// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-guestd's config schema and its translation into struct
 * vfo_guest_cfg. Durations are plain integers of milliseconds: the unit is
 * in every key's name (settle_ms, hold_down_ms).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Not "config.h": automake puts -I. (autoconf's config.h) first. */
#include "config.h"
#include "guest-config.h"
#include "log.h"
#include "netlink.h"

static const char *const reselect_choices[] = { "always", "better", "failure", NULL };

static const struct vfo_config_key agent_keys[] = {
	{ .name = "channel", .type = VFO_CONFIG_STRING, .def = VFO_GUESTD_CHANNEL },
	{ .name = "control_socket", .type = VFO_CONFIG_STRING, .def = VFO_GUESTD_SOCK },
	{ .name = "settle_ms", .type = VFO_CONFIG_INT, .def = "200", .min = 0, .max = 60000 },
	{ .name = "udev_timeout_ms",
	  .type = VFO_CONFIG_INT,
	  .def = "5000",
	  .min = 0,
	  .max = 600000 },
	{ .name = "log_level", .type = VFO_CONFIG_STRING, .def = "info" },
	{ .name = "auto_pair", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = NULL },
};

static const struct vfo_config_key bond_keys[] = {
	{ .name = "name_prefix", .type = VFO_CONFIG_STRING, .def = "vfo" },
	{ .name = "miimon", .type = VFO_CONFIG_INT, .def = "100", .min = 1, .max = 10000 },
	{ .name = "hold_down_ms", .type = VFO_CONFIG_INT, .def = "500", .min = 0, .max = 600000 },
	{ .name = "announced_hold_down_ms",
	  .type = VFO_CONFIG_INT,
	  .def = "100",
	  .min = 0,
	  .max = 600000 },
	{ .name = "num_peer_notif", .type = VFO_CONFIG_INT, .def = "3", .min = 0, .max = 255 },
	{ .name = "peer_notif_delay", .type = VFO_CONFIG_INT, .def = "0", .min = 0, .max = 300000 },
	{ .name = "primary_reselect",
	  .type = VFO_CONFIG_ENUM,
	  .def = "failure",
	  .choices = reselect_choices },
	{ .name = "all_slaves_active", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = "move_addresses", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = "notify_on_removal", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = "leave_timeout_ms",
	  .type = VFO_CONFIG_INT,
	  .def = "30000",
	  .min = 0,
	  .max = 3600000 },
	{ .name = NULL },
};

static const struct vfo_config_key pair_keys[] = {
	{ .name = "standby", .type = VFO_CONFIG_STRING, .required = true },
	{ .name = "vf", .type = VFO_CONFIG_STRING },
	{ .name = "bond", .type = VFO_CONFIG_STRING },
	{ .name = NULL },
};

static bool ifname_ok(const char *s)
{
	struct vfo_sel sel;

	return vfo_sel_parse(s, &sel) == 0 && sel.kind == VFO_SEL_NAME;
}

static void agent_validate(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	if (vfo_log_level_from_string(vfo_config_get_string(s, "log_level")) < 0)
		vfo_config_report(r, s, "log_level", "log_level: not a syslog level name");
	if (strlen(vfo_config_get_string(s, "channel")) >= PATH_MAX)
		vfo_config_report(r, s, "channel", "channel: path too long");
	if (strlen(vfo_config_get_string(s, "control_socket")) >= 108)
		vfo_config_report(r, s, "control_socket",
				  "control_socket: path too long for a socket");
}

static void bond_validate(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	const char *p = vfo_config_get_string(s, "name_prefix");
	char probe[IFNAMSIZ + 8];

	snprintf(probe, sizeof(probe), "%s0", p);
	if (!*p || strlen(p) > IFNAMSIZ - 3 || !ifname_ok(probe))
		vfo_config_report(r, s, "name_prefix",
				  "name_prefix: 1-%d characters valid in an interface name",
				  IFNAMSIZ - 3);
	int64_t miimon = vfo_config_get_int(s, "miimon");
	int64_t delay = vfo_config_get_int(s, "peer_notif_delay");

	/* The kernel rounds it to miimon silently: say so instead. */
	if (delay % miimon)
		vfo_config_report(r, s, "peer_notif_delay",
				  "peer_notif_delay: must be a multiple of miimon (%lld)",
				  (long long)miimon);
}

static void pair_validate(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	const char *b = vfo_config_get_string(s, "bond");
	struct vfo_sel sel;

	if (vfo_sel_parse(vfo_config_get_string(s, "standby"), &sel) || sel.kind == VFO_SEL_NONE)
		vfo_config_report(r, s, "standby",
				  "standby: not a MAC, PCI address or interface name");
	if (vfo_sel_parse(vfo_config_get_string(s, "vf"), &sel))
		vfo_config_report(r, s, "vf", "vf: not a MAC, PCI address or interface name");
	if (*b && !ifname_ok(b))
		vfo_config_report(r, s, "bond", "bond: not a valid interface name");
}

static const struct vfo_config_section_schema sections[] = {
	{ .name = "agent", .keys = agent_keys, .validate = agent_validate },
	{ .name = "bond", .keys = bond_keys, .validate = bond_validate },
	{ .name = "pair", .named = true, .keys = pair_keys, .validate = pair_validate },
	{ .name = NULL },
};

static const struct vfo_config_schema schema = { .sections = sections };

void vfo_guest_cfg_default(struct vfo_guest_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->channel, sizeof(cfg->channel), "%s", VFO_GUESTD_CHANNEL);
	snprintf(cfg->ctl_socket, sizeof(cfg->ctl_socket), "%s", VFO_GUESTD_SOCK);
	cfg->settle_ms = 200;
	cfg->udev_timeout_ms = 5000;
	cfg->log_level = VFO_LOG_INFO;
	cfg->auto_pair = true;
	snprintf(cfg->name_prefix, sizeof(cfg->name_prefix), "vfo");
	cfg->miimon = 100;
	cfg->hold_down_ms = 500;
	cfg->announced_hold_down_ms = 100;
	cfg->num_peer_notif = 3;
	cfg->peer_notif_delay = 0;
	cfg->primary_reselect = VFO_NL_BOND_RESELECT_FAILURE;
	cfg->all_slaves_active = true;
	cfg->move_addresses = true;
	cfg->notify_on_removal = true;
	cfg->leave_timeout_ms = 30000;
}

static const uint8_t reselect_values[] = {
	VFO_NL_BOND_RESELECT_ALWAYS,
	VFO_NL_BOND_RESELECT_BETTER,
	VFO_NL_BOND_RESELECT_FAILURE,
};

static int fill_pairs(struct vfo_guest_cfg *cfg, const struct vfo_config *c, const char *name,
		      vfo_guest_cfg_err_fn on_error, void *opaque)
{
	const struct vfo_config_section *s = NULL;

	cfg->n_pairs = 0;
	while ((s = vfo_config_next(c, "pair", s))) {
		struct vfo_pair_cfg *p;
		size_t i;

		if (cfg->n_pairs == VFO_PAIR_MAX) {
			char msg[160];

			snprintf(msg, sizeof(msg), "%s: more than %d pairs", name, VFO_PAIR_MAX);
			if (on_error)
				on_error(msg, opaque);
			else
				vfo_err("config", "%s", msg);
			return -EINVAL;
		}
		p = &cfg->pairs[cfg->n_pairs++];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", vfo_config_section_name(s));
		/* Both already checked by pair_validate(). */
		vfo_sel_parse(vfo_config_get_string(s, "standby"), &p->standby);
		vfo_sel_parse(vfo_config_get_string(s, "vf"), &p->vf);
		snprintf(p->bond, sizeof(p->bond), "%s", vfo_config_get_string(s, "bond"));
		for (i = 0; i + 1 < cfg->n_pairs && p->bond[0]; i++) {
			if (strcmp(cfg->pairs[i].bond, p->bond))
				continue;
			char msg[200];

			snprintf(msg, sizeof(msg), "%s: pairs '%s' and '%s' both use bond %s", name,
				 cfg->pairs[i].name, p->name, p->bond);
			if (on_error)
				on_error(msg, opaque);
			else
				vfo_err("config", "%s", msg);
			return -EINVAL;
		}
	}
	return 0;
}

static int fill(struct vfo_guest_cfg *cfg, const struct vfo_config *c, const char *name,
		vfo_guest_cfg_err_fn on_error, void *opaque)
{
	const struct vfo_config_section *a = vfo_config_section(c, "agent", NULL);
	const struct vfo_config_section *b = vfo_config_section(c, "bond", NULL);
	struct vfo_guest_cfg tmp = *cfg;
	int ret;

	snprintf(tmp.channel, sizeof(tmp.channel), "%s", vfo_config_get_string(a, "channel"));
	if (!strcmp(tmp.channel, "none"))
		tmp.channel[0] = '\0';
	snprintf(tmp.ctl_socket, sizeof(tmp.ctl_socket), "%s",
		 vfo_config_get_string(a, "control_socket"));
	if (!strcmp(tmp.ctl_socket, "none"))
		tmp.ctl_socket[0] = '\0';
	tmp.settle_ms = vfo_config_get_int(a, "settle_ms");
	tmp.udev_timeout_ms = vfo_config_get_int(a, "udev_timeout_ms");
	tmp.log_level = vfo_log_level_from_string(vfo_config_get_string(a, "log_level"));
	tmp.auto_pair = vfo_config_get_bool(a, "auto_pair");

	snprintf(tmp.name_prefix, sizeof(tmp.name_prefix), "%s",
		 vfo_config_get_string(b, "name_prefix"));
	tmp.miimon = (uint32_t)vfo_config_get_int(b, "miimon");
	tmp.hold_down_ms = vfo_config_get_int(b, "hold_down_ms");
	tmp.announced_hold_down_ms = vfo_config_get_int(b, "announced_hold_down_ms");
	tmp.num_peer_notif = (uint8_t)vfo_config_get_int(b, "num_peer_notif");
	tmp.peer_notif_delay = (uint32_t)vfo_config_get_int(b, "peer_notif_delay");
	tmp.primary_reselect = reselect_values[vfo_config_get_enum(b, "primary_reselect")];
	tmp.all_slaves_active = vfo_config_get_bool(b, "all_slaves_active");
	tmp.move_addresses = vfo_config_get_bool(b, "move_addresses");
	tmp.notify_on_removal = vfo_config_get_bool(b, "notify_on_removal");
	tmp.leave_timeout_ms = vfo_config_get_int(b, "leave_timeout_ms");

	ret = fill_pairs(&tmp, c, name, on_error, opaque);
	if (ret)
		return ret;
	*cfg = tmp;
	return 0;
}

int vfo_guest_cfg_load_buffer(struct vfo_guest_cfg *cfg, const char *name, const char *buf,
			      size_t len, vfo_guest_cfg_err_fn on_error, void *opaque)
{
	struct vfo_config *c = NULL;
	int ret;

	ret = vfo_config_load_buffer(&schema, name, buf, len, on_error, opaque, &c);
	if (ret)
		return ret;
	ret = fill(cfg, c, name, on_error, opaque);
	vfo_config_free(c);
	return ret;
}

int vfo_guest_cfg_load(struct vfo_guest_cfg *cfg, const char *path, bool must_exist,
		       vfo_guest_cfg_err_fn on_error, void *opaque)
{
	struct vfo_config *c = NULL;
	int ret;

	if (!must_exist && access(path, F_OK) && errno == ENOENT)
		return 0;
	ret = vfo_config_load_file(&schema, path, on_error, opaque, &c);
	if (ret)
		return ret;
	ret = fill(cfg, c, path, on_error, opaque);
	vfo_config_free(c);
	return ret;
}
