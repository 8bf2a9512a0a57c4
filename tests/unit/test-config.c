// SPDX-License-Identifier: LGPL-2.1-or-later
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

#define MAX_ERRS 32

struct errs {
	int n;
	char msg[MAX_ERRS][512];
};

static void collect(const char *msg, void *opaque)
{
	struct errs *e = opaque;

	if (e->n < MAX_ERRS)
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

static const char *const policies[] = { "abort", "proceed", NULL };
static const char *const backends[] = { "sriov", "emulated", NULL };

static const struct vfo_config_key main_keys[] = {
	{ .name = "log-level", .type = VFO_CONFIG_STRING, .def = "info" },
	{ .name = "workers", .type = VFO_CONFIG_INT, .def = "4", .min = 1, .max = 64 },
	{ .name = "offset", .type = VFO_CONFIG_INT, .def = "-5" },
	{ .name = "debug", .type = VFO_CONFIG_BOOL, .def = "no" },
	{ .name = "ack-timeout", .type = VFO_CONFIG_MS, .def = "500ms", .min = 1, .max = 60000 },
	{ .name = "policy", .type = VFO_CONFIG_ENUM, .def = "proceed", .choices = policies },
	{ .name = "sockets", .type = VFO_CONFIG_LIST, .def = "/run/a, /run/b" },
	{ .name = "comment", .type = VFO_CONFIG_STRING },
	{ .name = "grace", .type = VFO_CONFIG_MS },
	{ .name = NULL },
};

static const struct vfo_config_key pool_keys[] = {
	{ .name = "backend", .type = VFO_CONFIG_ENUM, .choices = backends, .required = true },
	{ .name = "pfs", .type = VFO_CONFIG_LIST },
	{ .name = "vlan", .type = VFO_CONFIG_INT, .def = "0", .min = 0, .max = 4094 },
	{ .name = "trust", .type = VFO_CONFIG_BOOL },
	{ .name = NULL },
};

static void pool_validate(const struct vfo_config_section *s, struct vfo_config_report *r)
{
	if (vfo_config_get_enum(s, "backend") == 0 && !vfo_config_get_list(s, "pfs")[0])
		vfo_config_report(r, s, "backend", "backend sriov needs pfs");
}

static const struct vfo_config_section_schema sections[] = {
	{ .name = "main", .keys = main_keys },
	{ .name = "pool", .named = true, .keys = pool_keys, .validate = pool_validate },
	{ .name = NULL },
};

static const struct vfo_config_schema schema = { .sections = sections };

static int load(const char *text, struct vfo_config **cfg, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	return vfo_config_load_buffer(&schema, "t.conf", text, strlen(text), collect, e, cfg);
}

/* Loads text that must fail with exactly one error, and checks it. */
static void expect_one_error(const char *text, const char *want)
{
	struct vfo_config *cfg = (void *)1;
	struct errs e;

	assert_int_equal(load(text, &cfg, &e), -EINVAL);
	assert_null(cfg);
	if (e.n != 1)
		fail_msg("%d errors for '%s', first: %s", e.n, text, e.n ? e.msg[0] : "");
	assert_string_equal(e.msg[0], want);
}

static void test_defaults(void **state)
{
	const struct vfo_config_section *m;
	const char *const *list;
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	assert_int_equal(load("", &cfg, &e), 0);
	assert_int_equal(e.n, 0);
	m = vfo_config_section(cfg, "main", NULL);
	assert_non_null(m);
	assert_null(vfo_config_section_name(m));
	assert_string_equal(vfo_config_get_string(m, "log-level"), "info");
	assert_int_equal(vfo_config_get_int(m, "workers"), 4);
	assert_int_equal(vfo_config_get_int(m, "offset"), -5);
	assert_false(vfo_config_get_bool(m, "debug"));
	assert_int_equal(vfo_config_get_ms(m, "ack-timeout"), 500);
	assert_int_equal(vfo_config_get_enum(m, "policy"), 1);
	assert_string_equal(vfo_config_get_string(m, "comment"), "");
	assert_int_equal(vfo_config_get_ms(m, "grace"), 0);
	list = vfo_config_get_list(m, "sockets");
	assert_string_equal(list[0], "/run/a");
	assert_string_equal(list[1], "/run/b");
	assert_null(list[2]);
	assert_false(vfo_config_is_set(m, "workers"));
	assert_null(vfo_config_next(cfg, "pool", NULL));
	assert_null(vfo_config_section(cfg, "pool", "net1"));
	assert_null(vfo_config_section(cfg, "nosuch", NULL));
	vfo_config_free(cfg);
}

static void test_each_type(void **state)
{
	const struct vfo_config_section *m;
	const char *const *list;
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	assert_int_equal(load("\xEF\xBB\xBF# a comment\n"
			      "; another\n"
			      "[main]\r\n"
			      "log-level = debug   ; inline comment\n"
			      "  workers=64\n"
			      "offset = -9223372036854775808\n"
			      "debug : YES\n"
			      "ack-timeout = 2 s # inline\n"
			      "policy = abort\n"
			      "sockets = a,b,, c\td  \n"
			      "comment = x;y#z = w\n"
			      "grace = 1h\n",
			      &cfg, &e),
			 0);
	assert_int_equal(e.n, 0);
	m = vfo_config_section(cfg, "main", NULL);
	assert_string_equal(vfo_config_get_string(m, "log-level"), "debug");
	assert_int_equal(vfo_config_get_int(m, "workers"), 64);
	assert_true(vfo_config_get_int(m, "offset") == INT64_MIN);
	assert_true(vfo_config_get_bool(m, "debug"));
	assert_int_equal(vfo_config_get_ms(m, "ack-timeout"), 2000);
	assert_int_equal(vfo_config_get_enum(m, "policy"), 0);
	assert_string_equal(vfo_config_get_string(m, "comment"), "x;y#z = w");
	assert_int_equal(vfo_config_get_ms(m, "grace"), 3600000);
	assert_true(vfo_config_is_set(m, "workers"));
	assert_false(vfo_config_is_set(m, "nosuch"));
	list = vfo_config_get_list(m, "sockets");
	assert_string_equal(list[0], "a");
	assert_string_equal(list[1], "b");
	assert_string_equal(list[2], "c");
	assert_string_equal(list[3], "d");
	assert_null(list[4]);
	vfo_config_free(cfg);

	/* Empty values are values: "" string, empty list. */
	assert_int_equal(load("[main]\nlog-level =\nsockets = \n", &cfg, &e), 0);
	m = vfo_config_section(cfg, "main", NULL);
	assert_string_equal(vfo_config_get_string(m, "log-level"), "");
	assert_null(vfo_config_get_list(m, "sockets")[0]);
	vfo_config_free(cfg);
}

static void test_parsers(void **state)
{
	int64_t v;
	bool b;

	(void)state;
	assert_int_equal(vfo_config_parse_ms("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vfo_config_parse_ms("1500ms", &v), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(vfo_config_parse_ms("3m", &v), 0);
	assert_int_equal(v, 180000);
	assert_int_equal(vfo_config_parse_ms("2min", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(vfo_config_parse_ms("5", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_ms("-5s", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_ms("1.5s", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_ms("s", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_ms("", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_ms("5 sec", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_ms("3000000000000000h", &v), -ERANGE);
	assert_int_equal(vfo_config_parse_ms("99999999999999999999ms", &v), -ERANGE);
	assert_int_equal(vfo_config_parse_int("+7", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(vfo_config_parse_int(" 7", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_int("7 ", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_int("0x10", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_int("-", &v), -EINVAL);
	assert_int_equal(vfo_config_parse_int("9223372036854775808", &v), -ERANGE);
	assert_int_equal(vfo_config_parse_bool("On", &b), 0);
	assert_true(b);
	assert_int_equal(vfo_config_parse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(vfo_config_parse_bool("2", &b), -EINVAL);
	assert_int_equal(vfo_config_parse_bool("", &b), -EINVAL);
	assert_int_equal(vfo_config_parse_bool("yess", &b), -EINVAL);
}

static void test_ranges(void **state)
{
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	assert_int_equal(load("[main]\nworkers = 1\nack-timeout = 1m\n", &cfg, &e), 0);
	assert_int_equal(vfo_config_get_int(vfo_config_section(cfg, "main", NULL), "workers"), 1);
	vfo_config_free(cfg);
	expect_one_error("[main]\nworkers = 0\n", "t.conf:2: workers: 0 is out of range [1, 64]");
	expect_one_error("[main]\nworkers = 65\n", "t.conf:2: workers: 65 is out of range [1, 64]");
	expect_one_error("[main]\nack-timeout = 61s\n",
			 "t.conf:2: ack-timeout: 61s is out of range [1, 60000] ms");
	expect_one_error("[main]\nack-timeout = 0\n",
			 "t.conf:2: ack-timeout: 0 is out of range [1, 60000] ms");
	expect_one_error("[pool p]\nbackend = emulated\nvlan = 4095\n",
			 "t.conf:3: vlan: 4095 is out of range [0, 4094]");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_one_error(
		"[main]\ndebug = maybe\n",
		"t.conf:2: debug: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)");
	expect_one_error("[main]\n\nworkers = four\n",
			 "t.conf:3: workers: 'four' is not an integer");
	expect_one_error("[main]\nworkers = 99999999999999999999\n",
			 "t.conf:2: workers: '99999999999999999999' is too large");
	expect_one_error("[main]\nack-timeout = 500\n",
			 "t.conf:2: ack-timeout: '500' is not a duration (e.g. 500ms, 2s, 1m, 1h)");
	expect_one_error(
		"[main]\nack-timeout = 1.5s\n",
		"t.conf:2: ack-timeout: '1.5s' is not a duration (e.g. 500ms, 2s, 1m, 1h)");
	expect_one_error("[main]\npolicy = Abort\n",
			 "t.conf:2: policy: 'Abort' is not one of: abort, proceed");
	expect_one_error("[main]\npolicy =\n",
			 "t.conf:2: policy: '' is not one of: abort, proceed");
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_one_error("[main]\n# c\nworkerz = 3\n", "t.conf:3: unknown key 'workerz' in [main]");
	expect_one_error("[pool n1]\nbackend = emulated\nWorkers = 3\n",
			 "t.conf:3: unknown key 'Workers' in [pool n1]");
	expect_one_error("[main]\n = 3\n", "t.conf:2: missing key name before '='");
	/* No top-level section in this schema. */
	expect_one_error("workers = 3\n[main]\n", "t.conf:1: key 'workers' outside of any section");
}

static void test_unknown_section(void **state)
{
	/* Its keys are not reported: one mistake, one message. */
	expect_one_error("[mian]\nworkers = 3\nfoo = 1\n[main]\nworkers = 2\n",
			 "t.conf:1: unknown section [mian]");
	expect_one_error("[]\nworkers = 3\n", "t.conf:1: empty section name");
	(void)state;
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_one_error("[main]\nworkers = 3\ndebug = yes\nworkers = 3\n",
			 "t.conf:4: duplicate key 'workers' in [main] (first set at line 2)");
	expect_one_error("[main]\n[main]\n",
			 "t.conf:2: duplicate section [main] (first at line 1)");
	expect_one_error(
		"[pool a]\nbackend = emulated\n[pool b]\nbackend = emulated\n[pool \"a\"]\nvlan = 3\n",
		"t.conf:5: duplicate section [pool a] (first at line 1)");
}

static void test_missing_file(void **state)
{
	struct vfo_config *cfg = (void *)1;
	struct errs e = { 0 };

	(void)state;
	assert_int_equal(vfo_config_load_file(&schema, "/nonexistent/vfo.conf", collect, &e, &cfg),
			 -ENOENT);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0],
			    "/nonexistent/vfo.conf: cannot open: No such file or directory");

	/* A directory opens but cannot be read. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(vfo_config_load_file(&schema, "/", collect, &e, &cfg), -EISDIR);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "/: read error: Is a directory");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test-config-XXXXXX";
	const struct vfo_config_section *p;
	struct vfo_config *cfg;
	struct errs e = { 0 };
	char longline[400];
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	fprintf(f, "[pool net1]\nbackend = emulated\n# %s\nvlan = 12\nvlan = x\n", longline);
	fclose(f);

	assert_int_equal(vfo_config_load_file(&schema, path, collect, &e, &cfg), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_true(strstr(e.msg[0], ":3: line too long (401 characters, at most 198)"));
	assert_true(
		strstr(e.msg[1], ":5: duplicate key 'vlan' in [pool net1] (first set at line 4)"));
	assert_int_equal(strncmp(e.msg[0], path, strlen(path)), 0);

	/* The same file without the mistakes loads. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[pool net1]\nbackend = emulated\nvlan = 12\n");
	fclose(f);
	memset(&e, 0, sizeof(e));
	assert_int_equal(vfo_config_load_file(&schema, path, collect, &e, &cfg), 0);
	assert_int_equal(e.n, 0);
	p = vfo_config_section(cfg, "pool", "net1");
	assert_non_null(p);
	assert_int_equal(vfo_config_get_int(p, "vlan"), 12);
	vfo_config_free(cfg);
	unlink(path);
}

static void test_line_numbers(void **state)
{
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	/* Every problem is reported, in order, at its own line. */
	assert_int_equal(load("; header\n"
			      "\n"
			      "[main]\n"
			      "workers = x\n" /* 4 */
			      "   \n"
			      "bogus = 1\n" /* 6 */
			      "just some words\n" /* 7 */
			      "[pool net1\n" /* 8 */
			      "vlan = 5000\n" /* 9: skipped, header broken */
			      "[pool net2]\n" /* 10 */
			      "backend = sriov\n" /* 11: needs pfs */
			      "[pool net3]\n"
			      "backend = emulated\n"
			      "trust = perhaps\n", /* 14 */
			      &cfg, &e),
			 -EINVAL);
	assert_null(cfg);
	assert_int_equal(e.n, 6);
	assert_string_equal(e.msg[0], "t.conf:4: workers: 'x' is not an integer");
	assert_string_equal(e.msg[1], "t.conf:6: unknown key 'bogus' in [main]");
	assert_string_equal(e.msg[2], "t.conf:7: expected 'key = value'");
	assert_string_equal(e.msg[3], "t.conf:8: missing ']' in section header");
	assert_string_equal(
		e.msg[4],
		"t.conf:14: trust: 'perhaps' is not a boolean (yes/no, true/false, on/off, 1/0)");
	assert_string_equal(e.msg[5], "t.conf:11: [pool net2]: backend sriov needs pfs");
}

static void test_repeated_sections(void **state)
{
	const struct vfo_config_section *p;
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	assert_int_equal(load("[pool net1]\nbackend = sriov\npfs = enp3s0f0 enp3s0f1\nvlan = 100\n"
			      "[main]\nworkers = 2\n"
			      "[pool \"net-2.b\"]\nbackend = emulated\n"
			      "[ pool   edge:3@x ]\nbackend = emulated\ntrust = on\n",
			      &cfg, &e),
			 0);
	assert_int_equal(e.n, 0);
	p = vfo_config_next(cfg, "pool", NULL);
	assert_non_null(p);
	assert_string_equal(vfo_config_section_name(p), "net1");
	assert_int_equal(vfo_config_get_enum(p, "backend"), 0);
	assert_string_equal(vfo_config_get_list(p, "pfs")[1], "enp3s0f1");
	assert_int_equal(vfo_config_get_int(p, "vlan"), 100);
	p = vfo_config_next(cfg, "pool", p);
	assert_non_null(p);
	assert_string_equal(vfo_config_section_name(p), "net-2.b");
	assert_int_equal(vfo_config_get_int(p, "vlan"), 0); /* default */
	assert_false(vfo_config_get_bool(p, "trust"));
	p = vfo_config_next(cfg, "pool", p);
	assert_non_null(p);
	assert_string_equal(vfo_config_section_name(p), "edge:3@x");
	assert_true(vfo_config_get_bool(p, "trust"));
	assert_null(vfo_config_next(cfg, "pool", p));
	assert_ptr_equal(vfo_config_section(cfg, "pool", "net-2.b"),
			 vfo_config_next(cfg, "pool", vfo_config_next(cfg, "pool", NULL)));
	assert_null(vfo_config_section(cfg, "pool", "net3"));
	assert_int_equal(vfo_config_get_int(vfo_config_section(cfg, "main", NULL), "workers"), 2);
	vfo_config_free(cfg);
}

static void test_bad_section_headers(void **state)
{
	(void)state;
	expect_one_error("[pool]\nbackend = sriov\n",
			 "t.conf:1: section [pool] needs a name: [pool NAME]");
	expect_one_error("[main extra]\n", "t.conf:1: section [main] takes no name (got 'extra')");
	expect_one_error("[pool a/b]\n",
			 "t.conf:1: invalid pool name 'a/b': use 1-64 of A-Z a-z 0-9 _ . : @ -");
	expect_one_error("[pool \"\"]\n", "t.conf:1: section [pool] needs a name: [pool NAME]");
	expect_one_error("[pool a b]\n",
			 "t.conf:1: invalid pool name 'a b': use 1-64 of A-Z a-z 0-9 _ . : @ -");
	/* An empty named section exists, so its required key is missing. */
	expect_one_error("[main]\n[pool p1]\n",
			 "t.conf:2: missing required key 'backend' in [pool p1]");
}

static void test_long_lines(void **state)
{
	char text[2048], val[512], name[128], want[512];
	const struct vfo_config_section *m;
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	/* The longest line accepted: "comment = " plus 188 characters. */
	memset(val, 'v', 188);
	val[188] = '\0';
	snprintf(text, sizeof(text), "[main]\ncomment = %s\nworkers = 5\n", val);
	assert_int_equal(load(text, &cfg, &e), 0);
	m = vfo_config_section(cfg, "main", NULL);
	assert_string_equal(vfo_config_get_string(m, "comment"), val);
	assert_int_equal(vfo_config_get_int(m, "workers"), 5);
	vfo_config_free(cfg);

	/* One more: refused, and the next line keeps its number. */
	memset(val, 'v', 189);
	val[189] = '\0';
	snprintf(text, sizeof(text), "[main]\ncomment = %s\nworkers = 0\n", val);
	assert_int_equal(load(text, &cfg, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.msg[0], "t.conf:2: line too long (199 characters, at most 198)");
	assert_string_equal(e.msg[1], "t.conf:3: workers: 0 is out of range [1, 64]");

	/* Far too long, without a final newline. */
	memset(val, 'w', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	snprintf(text, sizeof(text), "[main]\n\ncomment = %s", val);
	expect_one_error(text, "t.conf:3: line too long (521 characters, at most 198)");

	/* A long section header: its keys are not misattributed. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text), "[main]\n[pool %s]\nworkers = 3\n", name);
	snprintf(want, sizeof(want),
		 "t.conf:2: invalid pool name '%s': use 1-64 of A-Z a-z 0-9 _ . : @ -", name);
	expect_one_error(text, want);
	snprintf(text, sizeof(text), "[main]\n[pool %s%s]\nworkers = 3\n", name, name);
	expect_one_error(text, "t.conf:2: line too long (261 characters, at most 198)");
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[main]\nworkers = 3\0junk\ndebug = yes\n";
	struct vfo_config *cfg;
	struct errs e = { 0 };

	(void)state;
	assert_int_equal(vfo_config_load_buffer(&schema, NULL, text, sizeof(text) - 1, collect, &e,
						&cfg),
			 -EINVAL);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "<string>:2: NUL byte in line");
}

static const struct vfo_config_key bad_default_keys[] = {
	{ .name = "n", .type = VFO_CONFIG_INT, .def = "ten" },
	{ .name = "e", .type = VFO_CONFIG_ENUM, .def = "c", .choices = policies },
	{ .name = "ok", .type = VFO_CONFIG_INT, .def = "10" },
	{ .name = NULL },
};

static const struct vfo_config_section_schema bad_default_sections[] = {
	{ .name = "s", .keys = bad_default_keys },
	{ .name = NULL },
};

static void test_bad_default(void **state)
{
	const struct vfo_config_schema bad = { .sections = bad_default_sections };
	struct vfo_config *cfg;
	struct errs e = { 0 };

	(void)state;
	assert_int_equal(vfo_config_load_buffer(&bad, "b.conf", "", 0, collect, &e, &cfg), -EINVAL);
	assert_null(cfg);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.msg[0],
			    "b.conf: internal error: default of [s] n: 'ten' is not an integer");
	assert_string_equal(
		e.msg[1],
		"b.conf: internal error: default of [s] e: 'c' is not one of: abort, proceed");
}

static const struct vfo_config_key top_keys[] = {
	{ .name = "name", .type = VFO_CONFIG_STRING, .required = true },
	{ .name = NULL },
};

static const struct vfo_config_section_schema top_sections[] = {
	{ .name = "", .keys = top_keys },
	{ .name = "main", .keys = main_keys },
	{ .name = NULL },
};

static void test_top_level_keys(void **state)
{
	const struct vfo_config_schema top = { .sections = top_sections };
	struct vfo_config *cfg;
	struct errs e = { 0 };
	const char *text = "name = host1\n[main]\nworkers = 9\n";

	(void)state;
	assert_int_equal(vfo_config_load_buffer(&top, "x", text, strlen(text), collect, &e, &cfg),
			 0);
	assert_string_equal(vfo_config_get_string(vfo_config_section(cfg, "", NULL), "name"),
			    "host1");
	vfo_config_free(cfg);

	/* Required but absent, in a section with no header line. */
	text = "[main]\n";
	assert_int_equal(vfo_config_load_buffer(&top, "x", text, strlen(text), collect, &e, &cfg),
			 -EINVAL);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "x: missing required key 'name' in the top level");
}

struct logcap {
	int count;
	char last[256];
};

static void log_sink(int level, const char *comp, const char *msg, void *opaque)
{
	struct logcap *c = opaque;

	(void)level;
	(void)comp;
	c->count++;
	snprintf(c->last, sizeof(c->last), "%s", msg);
}

static void test_getter_misuse(void **state)
{
	const struct vfo_config_section *m;
	struct logcap c = { 0 };
	struct vfo_config *cfg;
	struct errs e;

	(void)state;
	assert_int_equal(load("", &cfg, &e), 0);
	m = vfo_config_section(cfg, "main", NULL);
	vfo_log_set_sink(log_sink, &c);
	assert_int_equal(vfo_config_get_int(m, "debug"), 0);
	assert_string_equal(c.last, "bug: [main] debug read with the wrong type");
	assert_string_equal(vfo_config_get_string(m, "nosuch"), "");
	assert_string_equal(c.last, "bug: [main] has no key 'nosuch'");
	assert_null(vfo_config_get_list(m, "workers")[0]);
	assert_false(vfo_config_get_bool(m, "workers"));
	assert_int_equal(vfo_config_get_ms(m, "workers"), 0);
	assert_int_equal(vfo_config_get_enum(m, "workers"), 0);
	assert_int_equal(c.count, 6);
	/* Absent section: zero values, no crash. */
	assert_int_equal(vfo_config_get_int(NULL, "workers"), 0);
	vfo_log_set_sink(NULL, NULL);
	vfo_config_free(cfg);
}

static void test_default_error_sink(void **state)
{
	struct logcap c = { 0 };
	struct vfo_config *cfg;

	(void)state;
	/* Without a callback, problems go to the log. */
	vfo_log_set_sink(log_sink, &c);
	assert_int_equal(vfo_config_load_buffer(&schema, "l.conf", "[x]\n", 4, NULL, NULL, &cfg),
			 -EINVAL);
	vfo_log_set_sink(NULL, NULL);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.last, "l.conf:1: unknown section [x]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_each_type),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_repeated_sections),
		cmocka_unit_test(test_bad_section_headers),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_bad_default),
		cmocka_unit_test(test_top_level_keys),
		cmocka_unit_test(test_getter_misuse),
		cmocka_unit_test(test_default_error_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
