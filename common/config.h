/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration files: INI syntax (parsed by inih), checked against a schema
 * that each daemon declares, so every key has a type, a range and a default
 * in one table, and a bad file is refused with every problem listed, each as
 * "file:line: message".
 *
 * Syntax:
 *
 *	# comment (also ';'); "key = value # comment" needs a space before '#'
 *	[main]
 *	log-level = info
 *	ack-timeout = 500ms
 *
 *	[pool net1]            ; a named section: one per pool
 *	backend = sriov
 *	pfs = enp3s0f0, enp3s0f1
 *
 *	[pool "net2"]          ; the same, quoted (git style)
 *
 * A schema section is either plain ([main]: appears at most once; its
 * values exist, with defaults, even when the file omits it) or named
 * ([TYPE NAME]: any number of instances, each NAME once; NAME is 1-64 of
 * [A-Za-z0-9_.:@-]). Keys and section types are case-sensitive. Each key may
 * be set once per section. Lines are limited to VFO_CONFIG_LINE_MAX
 * characters; continuation lines do not exist.
 *
 * Value types:
 *	STRING	the text after '=', trimmed (may be empty)
 *	INT	decimal, optional sign, within [min, max] when min < max
 *	BOOL	yes/no, true/false, on/off, 1/0 (any case)
 *	MS	a duration in milliseconds: "0" or an integer with a unit
 *		(ms, s, m, h): "500ms", "2s", "1m"; within [min, max] when
 *		min < max
 *	ENUM	one of the key's choices; the getter returns its index
 *	LIST	items separated by commas and/or blanks; empty allowed
 */
#ifndef VFO_CONFIG_H
#define VFO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* inih's line buffer is 200 bytes including "\n" and NUL. */
#define VFO_CONFIG_LINE_MAX 198
#define VFO_CONFIG_NAME_MAX 64

enum vfo_config_type {
	VFO_CONFIG_STRING,
	VFO_CONFIG_INT,
	VFO_CONFIG_BOOL,
	VFO_CONFIG_MS,
	VFO_CONFIG_ENUM,
	VFO_CONFIG_LIST,
};

struct vfo_config_key {
	const char *name;
	enum vfo_config_type type;
	/* In file syntax, parsed like a value; NULL: "" / 0 / false / empty
	 * list / the first choice. A default that does not parse is reported
	 * as a schema error. */
	const char *def;
	int64_t min, max; /* INT, MS: inclusive; unchecked if min >= max */
	const char *const *choices; /* ENUM: NULL-terminated */
	bool required; /* must be set in the file */
};

struct vfo_config_section;
struct vfo_config_report;

struct vfo_config_section_schema {
	const char *name; /* "" holds keys before any [section] */
	bool named; /* [name INSTANCE], repeatable */
	const struct vfo_config_key *keys; /* ends with a NULL name */
	/*
	 * Optional check across keys of one section, after all keys are
	 * parsed (e.g. "backend sriov needs pfs"): report problems with
	 * vfo_config_report(); the return value is ignored.
	 */
	void (*validate)(const struct vfo_config_section *s, struct vfo_config_report *r);
};

struct vfo_config_schema {
	const struct vfo_config_section_schema *sections; /* NULL name ends */
};

/* Called once per problem with "file:line: message" (or "file: message"). */
typedef void (*vfo_config_error_fn)(const char *msg, void *opaque);

struct vfo_config;

/*
 * Load and check a file. Returns 0 with *out set (free with
 * vfo_config_free), or with *out NULL: -EINVAL after reporting every
 * problem, -ENOENT/-EACCES/... when the file cannot be read (reported too),
 * -ENOMEM. on_error NULL logs each problem with vfo_err("config", ...).
 */
int vfo_config_load_file(const struct vfo_config_schema *schema, const char *path,
			 vfo_config_error_fn on_error, void *opaque, struct vfo_config **out);
/* The same from memory (need not be NUL-terminated; a NUL byte is an
 * error); name stands for the file name in messages. */
int vfo_config_load_buffer(const struct vfo_config_schema *schema, const char *name,
			   const char *buf, size_t len, vfo_config_error_fn on_error, void *opaque,
			   struct vfo_config **out);
void vfo_config_free(struct vfo_config *cfg);

/* A plain section (always present when the schema declares it), or the
 * named instance; NULL if absent. */
const struct vfo_config_section *vfo_config_section(const struct vfo_config *cfg, const char *type,
						    const char *name);
/* Iterate the instances of a named type in file order: prev NULL starts. */
const struct vfo_config_section *vfo_config_next(const struct vfo_config *cfg, const char *type,
						 const struct vfo_config_section *prev);
/* Instance name of a named section, NULL for a plain one. */
const char *vfo_config_section_name(const struct vfo_config_section *s);

/*
 * Typed getters. Asking for a key the section's schema lacks, or with the
 * wrong type, is a programming error: it is logged and yields 0/""/false.
 */
const char *vfo_config_get_string(const struct vfo_config_section *s, const char *key);
int64_t vfo_config_get_int(const struct vfo_config_section *s, const char *key);
bool vfo_config_get_bool(const struct vfo_config_section *s, const char *key);
int64_t vfo_config_get_ms(const struct vfo_config_section *s, const char *key);
int vfo_config_get_enum(const struct vfo_config_section *s, const char *key);
/* NULL-terminated, never NULL; valid as long as the config. */
const char *const *vfo_config_get_list(const struct vfo_config_section *s, const char *key);
/* Whether the file set the key (as opposed to the default). */
bool vfo_config_is_set(const struct vfo_config_section *s, const char *key);

/* For validate callbacks: reported at the key's line if the file set it,
 * else at the section header's line. */
void vfo_config_report(struct vfo_config_report *r, const struct vfo_config_section *s,
		       const char *key, const char *fmt, ...) VFO_PRINTF(4, 5);

/* Parsers used for values, exposed for command-line options. */
int vfo_config_parse_bool(const char *s, bool *out);
int vfo_config_parse_int(const char *s, int64_t *out);
int vfo_config_parse_ms(const char *s, int64_t *out);

#endif
