// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Schema-checked INI configuration on top of inih.
 *
 * inih reports only the first syntax error and its handler gets no line
 * number, so lines reach it through our own reader: the reader counts
 * lines, rejects what inih would reject (and overlong lines, which inih
 * would silently split in two), tracks [section] headers itself, and hands
 * inih an empty line instead of a bad one. inih then only splits
 * "key = value", trims and strips inline comments; every problem is found
 * by us, with its line, and parsing goes on so all of them are reported.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "log.h"

#define COMMENT_CHARS ";#"

struct value {
	int line; /* 0: the default */
	union {
		char *s;
		int64_t i;
		bool b;
		char **list;
	} u;
};

struct vfo_config_section {
	const struct vfo_config_section_schema *schema;
	struct vfo_config_section *next;
	char *name;
	int line;
	unsigned int errors; /* its validate() is skipped if any */
	size_t nkeys;
	struct value values[];
};

struct vfo_config {
	struct vfo_config_section *head, *tail;
};

/* The load context; validate callbacks see it as an opaque reporter. */
struct vfo_config_report {
	const struct vfo_config_schema *schema;
	struct vfo_config *cfg;
	const char *file;
	vfo_config_error_fn on_error;
	void *opaque;
	unsigned int errors;
	bool nomem;

	/* line source: a FILE or a buffer */
	FILE *f;
	char *linebuf;
	size_t linecap;
	int read_errno;
	const char *p;
	size_t left;
	int lineno;

	struct vfo_config_section *cur;
	bool skip; /* inside a rejected section: its keys are not checked */
};

static VFO_PRINTF(3, 4) void report(struct vfo_config_report *r, int line, const char *fmt, ...)
{
	char msg[512], out[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(out, sizeof(out), "%s:%d: %s", r->file, line, msg);
	else
		snprintf(out, sizeof(out), "%s: %s", r->file, msg);
	r->errors++;
	if (r->on_error)
		r->on_error(out, r->opaque);
	else
		vfo_err("config", "%s", out);
}

/* ---- value parsers ---- */

int vfo_config_parse_int(const char *s, int64_t *out)
{
	long long v;
	char *end;

	if (!isdigit((unsigned char)*s) &&
	    !((*s == '-' || *s == '+') && isdigit((unsigned char)s[1])))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int vfo_config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < VFO_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int vfo_config_parse_ms(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "min", 60000 }, { "h", 3600000 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > INT64_MAX)
		return -ERANGE;
	while (*end == ' ' || *end == '\t')
		end++;
	if (!*end) {
		/* A bare number is ambiguous (ms? s?), except zero. */
		if (v != 0)
			return -EINVAL;
		*out = 0;
		return 0;
	}
	for (i = 0; i < VFO_ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > (unsigned long long)(INT64_MAX / units[i].ms))
			return -ERANGE;
		*out = (int64_t)v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

static bool is_list_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* One allocation: the pointer array, then the items' text. */
static char **parse_list(const char *s)
{
	size_t len = strlen(s), n = 0, i;
	char **list, *text;

	for (i = 0; i < len; i++)
		if (!is_list_sep(s[i]) && (i == 0 || is_list_sep(s[i - 1])))
			n++;
	list = malloc((n + 1) * sizeof(*list) + len + 1);
	if (!list)
		return NULL;
	text = (char *)(list + n + 1);
	memcpy(text, s, len + 1);
	n = 0;
	for (i = 0; i < len; i++) {
		if (is_list_sep(text[i]))
			text[i] = '\0';
		else if (i == 0 || text[i - 1] == '\0')
			list[n++] = text + i;
	}
	list[n] = NULL;
	return list;
}

static void value_free(const struct vfo_config_key *k, struct value *v)
{
	if (k->type == VFO_CONFIG_STRING)
		free(v->u.s);
	else if (k->type == VFO_CONFIG_LIST)
		free(v->u.list);
	memset(&v->u, 0, sizeof(v->u));
}

static bool range_ok(const struct vfo_config_key *k, int64_t v)
{
	return k->min >= k->max || (v >= k->min && v <= k->max);
}

static void choices_text(const struct vfo_config_key *k, char *buf, size_t size)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; k->choices && k->choices[i] && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
					k->choices[i]);
}

/*
 * Parse text as the key's type into a fresh value (v is overwritten only
 * on success). Returns 0, -EINVAL with why filled in, or -ENOMEM.
 */
static int parse_value(const struct vfo_config_key *k, const char *text, struct value *v, char *why,
		       size_t whylen)
{
	char choices[256];
	int64_t i64;
	bool b;
	int ret;
	size_t i;

	switch (k->type) {
	case VFO_CONFIG_STRING:
		v->u.s = strdup(text);
		return v->u.s ? 0 : -ENOMEM;
	case VFO_CONFIG_LIST:
		v->u.list = parse_list(text);
		return v->u.list ? 0 : -ENOMEM;
	case VFO_CONFIG_BOOL:
		if (vfo_config_parse_bool(text, &b) < 0) {
			snprintf(why, whylen,
				 "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", text);
			return -EINVAL;
		}
		v->u.b = b;
		return 0;
	case VFO_CONFIG_INT:
	case VFO_CONFIG_MS:
		if (k->type == VFO_CONFIG_INT)
			ret = vfo_config_parse_int(text, &i64);
		else
			ret = vfo_config_parse_ms(text, &i64);
		if (ret == -ERANGE) {
			snprintf(why, whylen, "'%s' is too large", text);
			return -EINVAL;
		}
		if (ret < 0) {
			snprintf(why, whylen, "'%s' is not %s", text,
				 k->type == VFO_CONFIG_INT ? "an integer" :
							     "a duration (e.g. 500ms, 2s, 1m, 1h)");
			return -EINVAL;
		}
		if (!range_ok(k, i64)) {
			snprintf(why, whylen, "%s is out of range [%" PRId64 ", %" PRId64 "]%s",
				 text, k->min, k->max, k->type == VFO_CONFIG_MS ? " ms" : "");
			return -EINVAL;
		}
		v->u.i = i64;
		return 0;
	case VFO_CONFIG_ENUM:
		for (i = 0; k->choices && k->choices[i]; i++) {
			if (!strcmp(text, k->choices[i])) {
				v->u.i = (int64_t)i;
				return 0;
			}
		}
		choices_text(k, choices, sizeof(choices));
		snprintf(why, whylen, "'%s' is not one of: %s", text, choices);
		return -EINVAL;
	}
	snprintf(why, whylen, "unknown type %d", (int)k->type);
	return -EINVAL;
}

static int set_default(const struct vfo_config_key *k, struct value *v, char *why, size_t whylen)
{
	v->line = 0;
	if (k->def)
		return parse_value(k, k->def, v, why, whylen);
	switch (k->type) {
	case VFO_CONFIG_STRING:
	case VFO_CONFIG_LIST:
		return parse_value(k, "", v, why, whylen);
	default:
		memset(&v->u, 0, sizeof(v->u));
		return 0;
	}
}

/* ---- schema ---- */

static size_t count_keys(const struct vfo_config_section_schema *ss)
{
	size_t n = 0;

	while (ss->keys && ss->keys[n].name)
		n++;
	return n;
}

static const struct vfo_config_section_schema *find_schema(const struct vfo_config_schema *schema,
							   const char *type)
{
	const struct vfo_config_section_schema *ss;

	for (ss = schema->sections; ss && ss->name; ss++)
		if (!strcmp(ss->name, type))
			return ss;
	return NULL;
}

static int find_key(const struct vfo_config_section_schema *ss, const char *name)
{
	size_t i;

	for (i = 0; ss->keys && ss->keys[i].name; i++)
		if (!strcmp(ss->keys[i].name, name))
			return (int)i;
	return -1;
}

/* Every default must parse: a schema bug is found on the first load. */
static int check_schema(struct vfo_config_report *r)
{
	const struct vfo_config_section_schema *ss;
	char why[512];
	size_t i;
	int ret = 0;

	for (ss = r->schema->sections; ss && ss->name; ss++) {
		for (i = 0; ss->keys && ss->keys[i].name; i++) {
			const struct vfo_config_key *k = &ss->keys[i];
			struct value v;
			int err;

			err = set_default(k, &v, why, sizeof(why));
			if (err == -ENOMEM)
				return -ENOMEM;
			if (err < 0) {
				report(r, 0, "internal error: default of [%s] %s: %s", ss->name,
				       k->name, why);
				ret = -EINVAL;
				continue;
			}
			value_free(k, &v);
		}
	}
	return ret;
}

/* ---- sections ---- */

static struct vfo_config_section *section_new(struct vfo_config_report *r,
					      const struct vfo_config_section_schema *ss,
					      const char *name, int line)
{
	size_t n = count_keys(ss), i;
	struct vfo_config_section *s;
	char why[512];

	s = calloc(1, sizeof(*s) + n * sizeof(s->values[0]));
	if (!s)
		goto nomem;
	s->schema = ss;
	s->line = line;
	if (name) {
		s->name = strdup(name);
		if (!s->name)
			goto nomem_free;
	}
	for (i = 0; i < n; i++) {
		s->nkeys = i; /* so a failure frees only what was set */
		if (set_default(&ss->keys[i], &s->values[i], why, sizeof(why)))
			goto nomem_free; /* defaults were checked */
	}
	s->nkeys = n;
	if (r->cfg->tail)
		r->cfg->tail->next = s;
	else
		r->cfg->head = s;
	r->cfg->tail = s;
	return s;

nomem_free:
	for (i = 0; i < s->nkeys; i++)
		value_free(&ss->keys[i], &s->values[i]);
	free(s->name);
	free(s);
nomem:
	r->nomem = true;
	return NULL;
}

static struct vfo_config_section *section_find(const struct vfo_config *cfg,
					       const struct vfo_config_section_schema *ss,
					       const char *name)
{
	struct vfo_config_section *s;

	for (s = cfg->head; s; s = s->next) {
		if (s->schema != ss)
			continue;
		if (!name || (s->name && !strcmp(s->name, name)))
			return s;
	}
	return NULL;
}

static void section_free(struct vfo_config_section *s)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		value_free(&s->schema->keys[i], &s->values[i]);
	free(s->name);
	free(s);
}

static bool valid_instance_name(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > VFO_CONFIG_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.:@-", name[i]))
			return false;
	return true;
}

static void describe(const struct vfo_config_section *s, char *buf, size_t size)
{
	if (!*s->schema->name)
		snprintf(buf, size, "the top level");
	else if (s->name)
		snprintf(buf, size, "[%s %s]", s->schema->name, s->name);
	else
		snprintf(buf, size, "[%s]", s->schema->name);
}

/* text: what is between '[' and ']', untrimmed. */
static void section_header(struct vfo_config_report *r, char *text)
{
	const struct vfo_config_section_schema *ss;
	struct vfo_config_section *s;
	char *type, *name, *end;

	r->cur = NULL;
	r->skip = true;
	type = text + strspn(text, " \t");
	end = type + strlen(type);
	while (end > type && isspace((unsigned char)end[-1]))
		*--end = '\0';
	name = type + strcspn(type, " \t");
	if (*name) {
		*name++ = '\0';
		name += strspn(name, " \t");
		end = name + strlen(name);
		if (end - name >= 2 && name[0] == '"' && end[-1] == '"') {
			end[-1] = '\0';
			name++;
		}
	}
	if (!*type) {
		report(r, r->lineno, "empty section name");
		return;
	}
	ss = find_schema(r->schema, type);
	if (!ss || !*ss->name) {
		report(r, r->lineno, "unknown section [%s]", type);
		return;
	}
	if (ss->named && !*name) {
		report(r, r->lineno, "section [%s] needs a name: [%s NAME]", type, type);
		return;
	}
	if (!ss->named && *name) {
		report(r, r->lineno, "section [%s] takes no name (got '%s')", type, name);
		return;
	}
	if (ss->named && !valid_instance_name(name)) {
		report(r, r->lineno, "invalid %s name '%s': use 1-%d of A-Z a-z 0-9 _ . : @ -",
		       type, name, VFO_CONFIG_NAME_MAX);
		return;
	}
	s = section_find(r->cfg, ss, ss->named ? name : NULL);
	if (s && s->line) {
		report(r, r->lineno, "duplicate section [%s%s%s] (first at line %d)", type,
		       ss->named ? " " : "", ss->named ? name : "", s->line);
		return;
	}
	if (!s)
		s = section_new(r, ss, ss->named ? name : NULL, r->lineno);
	if (!s)
		return;
	s->line = r->lineno;
	r->cur = s;
	r->skip = false;
}

/* ---- the line reader handed to inih ---- */

/* The same scan inih does: stop at a char in chars, or at an inline
 * comment (a comment char after whitespace). */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && strchr(COMMENT_CHARS, *s))) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* Returns false for a line inih would reject; handles section headers. */
static bool check_line(struct vfo_config_report *r, const char *line)
{
	const char *s = line, *end;
	char text[VFO_CONFIG_LINE_MAX + 3];

	if (r->lineno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	s += strspn(s, " \t\r\n\v\f");
	if (!*s || strchr(COMMENT_CHARS, *s))
		return true;
	if (*s == '[') {
		end = find_chars_or_comment(s + 1, "]");
		if (*end != ']') {
			report(r, r->lineno, "missing ']' in section header");
			r->cur = NULL;
			r->skip = true;
			return false;
		}
		snprintf(text, sizeof(text), "%.*s", (int)(end - s - 1), s + 1);
		section_header(r, text);
		return true;
	}
	end = find_chars_or_comment(s, "=:");
	if (*end != '=' && *end != ':') {
		report(r, r->lineno, "expected 'key = value'");
		return false;
	}
	return true;
}

/* Next physical line without its '\n'; false at the end. */
static bool next_line(struct vfo_config_report *r, const char **line, size_t *len)
{
	const char *nl;
	ssize_t n;

	if (r->f) {
		n = getline(&r->linebuf, &r->linecap, r->f);
		if (n < 0) {
			if (ferror(r->f))
				r->read_errno = errno ? errno : EIO;
			return false;
		}
		*line = r->linebuf;
		*len = (size_t)n;
	} else {
		if (!r->left)
			return false;
		nl = memchr(r->p, '\n', r->left);
		*line = r->p;
		*len = nl ? (size_t)(nl - r->p + 1) : r->left;
		r->p += *len;
		r->left -= *len;
	}
	if (*len && (*line)[*len - 1] == '\n')
		(*len)--;
	return true;
}

/* line is not NUL-terminated when it comes from a caller's buffer. */
static bool starts_with_bracket(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == '[';
}

static char *reader(char *str, int num, void *stream)
{
	struct vfo_config_report *r = stream;
	const char *line;
	size_t len;

	if (!next_line(r, &line, &len))
		return NULL;
	r->lineno++;
	strcpy(str, "\n");
	if (memchr(line, '\0', len)) {
		report(r, r->lineno, "NUL byte in line");
		return str;
	}
	if (num < 3 || len > (size_t)num - 2) {
		report(r, r->lineno, "line too long (%zu characters, at most %d)", len, num - 2);
		/* If it was a section header, its keys are not ours. */
		if (starts_with_bracket(line, len)) {
			r->cur = NULL;
			r->skip = true;
		}
		return str;
	}
	memcpy(str, line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	if (!check_line(r, str))
		strcpy(str, "\n");
	return str;
}

static void handle_key(struct vfo_config_report *r, struct vfo_config_section *s, const char *name,
		       const char *text)
{
	const struct vfo_config_key *k;
	char why[512], where[VFO_CONFIG_NAME_MAX * 2 + 8];
	struct value v;
	int idx, err;

	describe(s, where, sizeof(where));
	if (!*name) {
		report(r, r->lineno, "missing key name before '='");
		return;
	}
	idx = find_key(s->schema, name);
	if (idx < 0) {
		report(r, r->lineno, "unknown key '%s' in %s", name, where);
		return;
	}
	k = &s->schema->keys[idx];
	if (s->values[idx].line) {
		report(r, r->lineno, "duplicate key '%s' in %s (first set at line %d)", name, where,
		       s->values[idx].line);
		return;
	}
	err = parse_value(k, text, &v, why, sizeof(why));
	if (err == -ENOMEM) {
		r->nomem = true;
		return;
	}
	if (err < 0) {
		report(r, r->lineno, "%s: %s", name, why);
		s->values[idx].line = r->lineno; /* still catch duplicates */
		return;
	}
	value_free(k, &s->values[idx]);
	s->values[idx] = v;
	s->values[idx].line = r->lineno;
}

static int handler(void *user, const char *section, const char *name, const char *text)
{
	struct vfo_config_report *r = user;
	unsigned int before = r->errors;

	(void)section; /* ours is r->cur: inih truncates long names */
	if (r->skip)
		return 1;
	if (!r->cur) {
		report(r, r->lineno, "key '%s' outside of any section", name);
		return 1;
	}
	handle_key(r, r->cur, name, text);
	if (r->errors != before)
		r->cur->errors++;
	return 1;
}

/* ---- loading ---- */

void vfo_config_free(struct vfo_config *cfg)
{
	struct vfo_config_section *s, *next;

	if (!cfg)
		return;
	for (s = cfg->head; s; s = next) {
		next = s->next;
		section_free(s);
	}
	free(cfg);
}

static void finish(struct vfo_config_report *r)
{
	const struct vfo_config_section_schema *ss;
	struct vfo_config_section *s;
	char where[VFO_CONFIG_NAME_MAX * 2 + 8];
	size_t i;

	/* Plain sections exist even when the file leaves them out. */
	for (ss = r->schema->sections; ss && ss->name && !r->nomem; ss++)
		if (!ss->named && !section_find(r->cfg, ss, NULL))
			section_new(r, ss, NULL, 0);
	if (r->nomem)
		return;
	for (s = r->cfg->head; s; s = s->next) {
		describe(s, where, sizeof(where));
		for (i = 0; i < s->nkeys; i++)
			if (s->schema->keys[i].required && !s->values[i].line) {
				report(r, s->line, "missing required key '%s' in %s",
				       s->schema->keys[i].name, where);
				s->errors++;
			}
		/* Half-defaulted values would only produce noise. */
		if (s->schema->validate && !s->errors)
			s->schema->validate(s, r);
	}
}

static void set_inih_options(void)
{
	/* Debian's libinih makes these runtime settings; pin them. */
	ini_allow_multiline = false;
	ini_allow_bom = true;
	ini_allow_inline_comments = true;
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
	ini_start_comment_prefixes = (char *)COMMENT_CHARS;
	ini_inline_comment_prefixes = (char *)COMMENT_CHARS;
}

static int load(struct vfo_config_report *r, struct vfo_config **out)
{
	const struct vfo_config_section_schema *top;
	int ret;

	*out = NULL;
	ret = check_schema(r);
	if (ret < 0)
		return ret;
	r->cfg = calloc(1, sizeof(*r->cfg));
	if (!r->cfg)
		return -ENOMEM;
	top = find_schema(r->schema, "");
	if (top)
		r->cur = section_new(r, top, NULL, 0);

	set_inih_options();
	ret = ini_parse_stream(reader, r, handler, r);
	if (ret == -2)
		r->nomem = true;
	else if (ret > 0 && !r->errors)
		report(r, ret, "syntax error"); /* check_line should catch it */
	if (r->read_errno)
		report(r, 0, "read error: %s", strerror(r->read_errno));
	else
		finish(r);

	if (r->nomem)
		ret = -ENOMEM;
	else if (r->read_errno)
		ret = -r->read_errno;
	else if (r->errors)
		ret = -EINVAL;
	else
		ret = 0;
	if (ret < 0) {
		vfo_config_free(r->cfg);
		return ret;
	}
	*out = r->cfg;
	return 0;
}

int vfo_config_load_buffer(const struct vfo_config_schema *schema, const char *name,
			   const char *buf, size_t len, vfo_config_error_fn on_error, void *opaque,
			   struct vfo_config **out)
{
	struct vfo_config_report r = {
		.schema = schema,
		.file = name ? name : "<string>",
		.on_error = on_error,
		.opaque = opaque,
		.p = buf,
		.left = len,
	};

	return load(&r, out);
}

int vfo_config_load_file(const struct vfo_config_schema *schema, const char *path,
			 vfo_config_error_fn on_error, void *opaque, struct vfo_config **out)
{
	struct vfo_config_report r = {
		.schema = schema,
		.file = path,
		.on_error = on_error,
		.opaque = opaque,
	};
	int ret;

	*out = NULL;
	r.f = fopen(path, "re");
	if (!r.f) {
		ret = -errno;
		report(&r, 0, "cannot open: %s", strerror(-ret));
		return ret;
	}
	ret = load(&r, out);
	free(r.linebuf);
	fclose(r.f);
	return ret;
}

/* ---- getters ---- */

static const struct value *lookup(const struct vfo_config_section *s, const char *key,
				  enum vfo_config_type type)
{
	int idx;

	if (!s)
		return NULL;
	idx = find_key(s->schema, key);
	if (idx < 0) {
		vfo_err("config", "bug: [%s] has no key '%s'", s->schema->name, key);
		return NULL;
	}
	if (s->schema->keys[idx].type != type) {
		vfo_err("config", "bug: [%s] %s read with the wrong type", s->schema->name, key);
		return NULL;
	}
	return &s->values[idx];
}

const char *vfo_config_get_string(const struct vfo_config_section *s, const char *key)
{
	const struct value *v = lookup(s, key, VFO_CONFIG_STRING);

	return v ? v->u.s : "";
}

int64_t vfo_config_get_int(const struct vfo_config_section *s, const char *key)
{
	const struct value *v = lookup(s, key, VFO_CONFIG_INT);

	return v ? v->u.i : 0;
}

bool vfo_config_get_bool(const struct vfo_config_section *s, const char *key)
{
	const struct value *v = lookup(s, key, VFO_CONFIG_BOOL);

	return v ? v->u.b : false;
}

int64_t vfo_config_get_ms(const struct vfo_config_section *s, const char *key)
{
	const struct value *v = lookup(s, key, VFO_CONFIG_MS);

	return v ? v->u.i : 0;
}

int vfo_config_get_enum(const struct vfo_config_section *s, const char *key)
{
	const struct value *v = lookup(s, key, VFO_CONFIG_ENUM);

	return v ? (int)v->u.i : 0;
}

const char *const *vfo_config_get_list(const struct vfo_config_section *s, const char *key)
{
	static const char *const empty[] = { NULL };
	const struct value *v = lookup(s, key, VFO_CONFIG_LIST);

	return v ? (const char *const *)v->u.list : empty;
}

bool vfo_config_is_set(const struct vfo_config_section *s, const char *key)
{
	int idx;

	if (!s)
		return false;
	idx = find_key(s->schema, key);
	return idx >= 0 && s->values[idx].line > 0;
}

const struct vfo_config_section *vfo_config_section(const struct vfo_config *cfg, const char *type,
						    const char *name)
{
	struct vfo_config_section *s;

	for (s = cfg->head; s; s = s->next) {
		if (strcmp(s->schema->name, type))
			continue;
		if (!name ? !s->name : (s->name && !strcmp(s->name, name)))
			return s;
	}
	return NULL;
}

const struct vfo_config_section *vfo_config_next(const struct vfo_config *cfg, const char *type,
						 const struct vfo_config_section *prev)
{
	const struct vfo_config_section *s = prev ? prev->next : cfg->head;

	for (; s; s = s->next)
		if (!strcmp(s->schema->name, type))
			return s;
	return NULL;
}

const char *vfo_config_section_name(const struct vfo_config_section *s)
{
	return s->name;
}

void vfo_config_report(struct vfo_config_report *r, const struct vfo_config_section *s,
		       const char *key, const char *fmt, ...)
{
	char msg[512], where[VFO_CONFIG_NAME_MAX * 2 + 8];
	int idx = key ? find_key(s->schema, key) : -1;
	int line = idx >= 0 && s->values[idx].line ? s->values[idx].line : s->line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	describe(s, where, sizeof(where));
	report(r, line, "%s: %s", where, msg);
}
