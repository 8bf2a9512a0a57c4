// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: arbitrary bytes as a configuration file, checked
 * against a schema shaped like vfo-hostd's (plain and named sections,
 * every value type, ranges, a required key, a validate callback).
 */
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const policies[] = { "abort", "proceed", NULL };
static const char *const backends[] = { "sriov", "emulated", NULL };

static const struct vfo_config_key top_keys[] = {
	{ .name = "include", .type = VFO_CONFIG_STRING },
	{ .name = NULL },
};

static const struct vfo_config_key main_keys[] = {
	{ .name = "log-level", .type = VFO_CONFIG_STRING, .def = "info" },
	{ .name = "state-file", .type = VFO_CONFIG_STRING, .def = "/var/lib/vfo/hostd.json" },
	{ .name = "ack-timeout", .type = VFO_CONFIG_MS, .def = "2s", .min = 1, .max = 600000 },
	{ .name = "unplug-timeout", .type = VFO_CONFIG_MS, .def = "30s" },
	{ .name = "removal-failed", .type = VFO_CONFIG_ENUM, .def = "abort", .choices = policies },
	{ .name = "retries", .type = VFO_CONFIG_INT, .def = "3", .min = 0, .max = 100 },
	{ .name = "numa-aware", .type = VFO_CONFIG_BOOL, .def = "yes" },
	{ .name = NULL },
};

static const struct vfo_config_key pool_keys[] = {
	{ .name = "backend", .type = VFO_CONFIG_ENUM, .choices = backends, .required = true },
	{ .name = "pfs", .type = VFO_CONFIG_LIST },
	{ .name = "numvfs", .type = VFO_CONFIG_INT, .min = 0, .max = 256 },
	{ .name = "vlan", .type = VFO_CONFIG_INT, .min = 0, .max = 4094 },
	{ .name = "spoofchk", .type = VFO_CONFIG_BOOL, .def = "on" },
	{ .name = "trust", .type = VFO_CONFIG_BOOL },
	{ .name = "bridge", .type = VFO_CONFIG_STRING },
	{ .name = "model", .type = VFO_CONFIG_STRING, .def = "e1000e" },
	{ .name = "count", .type = VFO_CONFIG_INT, .def = "4", .min = 1, .max = 1024 },
	{ .name = NULL },
};

static void pool_validate(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	if (vfo_config_get_enum(s, "backend") == 0 && !vfo_config_get_list(s, "pfs")[0])
		vfo_config_report(r, s, "pfs", "backend sriov needs pfs");
	if (vfo_config_get_enum(s, "backend") == 1 && !*vfo_config_get_string(s, "bridge"))
		vfo_config_report(r, s, NULL, "backend emulated needs a bridge");
}

static const struct vfo_config_section_schema sections[] = {
	{ .name = "", .keys = top_keys },
	{ .name = "main", .keys = main_keys },
	{ .name = "pool", .named = true, .keys = pool_keys, .validate = pool_validate },
	{ .name = NULL },
};

static const struct vfo_config_schema schema = { .sections = sections };

static size_t errors;

static void on_error(const char *msg, void *opaque)
{
	(void)opaque;
	/* Every message must be a proper, terminated "file:..." string. */
	if (strncmp(msg, "fuzz.conf:", 10) != 0)
		__builtin_trap();
	errors++;
}

/* Touch everything a daemon would read. */
static void walk(const struct vfo_config *cfg)
{
	const struct vfo_config_section *s, *m;
	const char *const *l;
	size_t n = 0;

	m = vfo_config_section(cfg, "main", NULL);
	if (!m)
		__builtin_trap(); /* plain sections always exist */
	n += strlen(vfo_config_get_string(m, "log-level"));
	n += (size_t)vfo_config_get_ms(m, "ack-timeout");
	n += (size_t)vfo_config_get_enum(m, "removal-failed");
	n += vfo_config_get_bool(m, "numa-aware");
	for (s = vfo_config_next(cfg, "pool", NULL); s; s = vfo_config_next(cfg, "pool", s)) {
		if (vfo_config_section(cfg, "pool", vfo_config_section_name(s)) != s)
			__builtin_trap(); /* instance names are unique */
		for (l = vfo_config_get_list(s, "pfs"); *l; l++)
			n += strlen(*l);
		n += (size_t)vfo_config_get_int(s, "vlan");
		n += vfo_config_is_set(s, "trust");
	}
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfo_config *cfg;
	int ret;

	vfo_log_set_level(0); /* quiet: errors go to on_error */
	errors = 0;
	ret = vfo_config_load_buffer(&schema, "fuzz.conf", (const char *)data, size, on_error, NULL,
				     &cfg);
	if (ret == 0) {
		if (errors)
			__builtin_trap(); /* success means no problem reported */
		walk(cfg);
		vfo_config_free(cfg);
	} else if (ret != -EINVAL || cfg || !errors) {
		__builtin_trap(); /* failure means problems were reported */
	}
	return 0;
}
