// SPDX-License-Identifier: LGPL-2.1-or-later
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "log.h"

struct capture {
	int count;
	int level;
	char comp[64];
	char msg[VFO_LOG_LINE_MAX];
};

static void capture_sink(int level, const char *comp, const char *msg, void *opaque)
{
	struct capture *c = opaque;

	c->count++;
	c->level = level;
	snprintf(c->comp, sizeof(c->comp), "%s", comp);
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

/* stderr redirected into a pipe, so the real output format is checked. */
struct redirect {
	int pipe[2];
	int saved;
};

static void redirect_start(struct redirect *r)
{
	assert_int_equal(pipe2(r->pipe, O_NONBLOCK), 0);
	r->saved = dup(STDERR_FILENO);
	assert_true(r->saved >= 0);
	assert_int_equal(dup2(r->pipe[1], STDERR_FILENO), STDERR_FILENO);
}

/* Restores stderr and returns what was written, NUL-terminated. */
static void redirect_stop(struct redirect *r, char *buf, size_t size)
{
	ssize_t n;

	assert_int_equal(dup2(r->saved, STDERR_FILENO), STDERR_FILENO);
	close(r->saved);
	close(r->pipe[1]);
	n = read(r->pipe[0], buf, size - 1);
	close(r->pipe[0]);
	buf[n > 0 ? n : 0] = '\0';
}

static int setup(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	vfo_log_init("test", VFO_LOG_TARGET_STDERR, VFO_LOG_INFO);
	vfo_log_set_sink(NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vfo_log_set_sink(NULL, NULL);
	vfo_log_fini();
	return 0;
}

static void test_level_from_string(void **state)
{
	(void)state;
	assert_int_equal(vfo_log_level_from_string("err"), VFO_LOG_ERR);
	assert_int_equal(vfo_log_level_from_string("error"), VFO_LOG_ERR);
	assert_int_equal(vfo_log_level_from_string("warning"), VFO_LOG_WARNING);
	assert_int_equal(vfo_log_level_from_string("WARN"), VFO_LOG_WARNING);
	assert_int_equal(vfo_log_level_from_string("notice"), VFO_LOG_NOTICE);
	assert_int_equal(vfo_log_level_from_string("Info"), VFO_LOG_INFO);
	assert_int_equal(vfo_log_level_from_string("debug"), VFO_LOG_DEBUG);
	assert_int_equal(vfo_log_level_from_string("crit"), 2);
	assert_int_equal(vfo_log_level_from_string("7"), 7);
	assert_int_equal(vfo_log_level_from_string("0"), 0);
}

static void test_level_from_string_bad(void **state)
{
	static const char *const bad[] = {
		"", "8", "-1", "10", "3x", " info", "info ", "verbose", "debugging", "inf", "0x3",
	};
	size_t i;

	(void)state;
	assert_int_equal(vfo_log_level_from_string(NULL), -EINVAL);
	for (i = 0; i < VFO_ARRAY_SIZE(bad); i++)
		assert_int_equal(vfo_log_level_from_string(bad[i]), -EINVAL);
}

static void test_level_to_string(void **state)
{
	int l;

	(void)state;
	assert_string_equal(vfo_log_level_to_string(VFO_LOG_ERR), "err");
	assert_string_equal(vfo_log_level_to_string(VFO_LOG_WARNING), "warning");
	assert_string_equal(vfo_log_level_to_string(VFO_LOG_DEBUG), "debug");
	assert_string_equal(vfo_log_level_to_string(-1), "invalid");
	assert_string_equal(vfo_log_level_to_string(8), "invalid");
	/* Every name parses back to its level. */
	for (l = 0; l <= VFO_LOG_DEBUG; l++)
		assert_int_equal(vfo_log_level_from_string(vfo_log_level_to_string(l)), l);
}

static void test_filtering(void **state)
{
	struct capture c = { 0 };

	(void)state;
	vfo_log_set_sink(capture_sink, &c);
	vfo_log_set_level(VFO_LOG_WARNING);
	assert_int_equal(vfo_log_get_level(), VFO_LOG_WARNING);
	assert_true(vfo_log_enabled(VFO_LOG_ERR));
	assert_true(vfo_log_enabled(VFO_LOG_WARNING));
	assert_false(vfo_log_enabled(VFO_LOG_NOTICE));

	vfo_info("pool", "dropped %d", 1);
	vfo_notice("pool", "dropped %d", 2);
	vfo_dbg("pool", "dropped %d", 3);
	assert_int_equal(c.count, 0);

	vfo_warn("pool", "kept %d", 4);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.level, VFO_LOG_WARNING);
	assert_string_equal(c.comp, "pool");
	assert_string_equal(c.msg, "kept 4");

	vfo_err("loop", "kept %s", "too");
	assert_int_equal(c.count, 2);
	assert_int_equal(c.level, VFO_LOG_ERR);
	assert_string_equal(c.comp, "loop");

	/* Out-of-range levels are clamped, not trusted. */
	vfo_log_set_level(42);
	assert_int_equal(vfo_log_get_level(), VFO_LOG_DEBUG);
	vfo_log_set_level(-5);
	assert_int_equal(vfo_log_get_level(), 0);
	vfo_err("x", "below emerg filter");
	assert_int_equal(c.count, 2);
}

static void test_toggle_debug(void **state)
{
	struct capture c = { 0 };

	(void)state;
	vfo_log_set_sink(capture_sink, &c);
	vfo_log_set_level(VFO_LOG_NOTICE);
	vfo_dbg("t", "hidden");
	assert_int_equal(c.count, 0);

	vfo_log_toggle_debug();
	assert_int_equal(vfo_log_get_level(), VFO_LOG_DEBUG);
	vfo_dbg("t", "shown");
	assert_int_equal(c.count, 1);
	assert_int_equal(c.level, VFO_LOG_DEBUG);

	vfo_log_toggle_debug();
	assert_int_equal(vfo_log_get_level(), VFO_LOG_NOTICE);
	vfo_dbg("t", "hidden again");
	vfo_info("t", "info hidden at notice");
	assert_int_equal(c.count, 1);

	/* A new configured level replaces the one toggling returns to. */
	vfo_log_toggle_debug();
	vfo_log_set_level(VFO_LOG_ERR);
	assert_int_equal(vfo_log_get_level(), VFO_LOG_ERR);
	vfo_log_toggle_debug();
	vfo_log_toggle_debug();
	assert_int_equal(vfo_log_get_level(), VFO_LOG_ERR);

	/* Configured at debug: toggling keeps debug. */
	vfo_log_set_level(VFO_LOG_DEBUG);
	vfo_log_toggle_debug();
	assert_int_equal(vfo_log_get_level(), VFO_LOG_DEBUG);
}

static void test_stderr_format(void **state)
{
	struct redirect r;
	char out[4096], want[256];

	(void)state;
	redirect_start(&r);
	vfo_log_init("vfo-test", VFO_LOG_TARGET_STDERR, VFO_LOG_INFO);
	vfo_warn("pool", "no free VF in %s", "net1");
	vfo_err(NULL, "no component");
	vfo_dbg("pool", "filtered");
	redirect_stop(&r, out, sizeof(out));

	snprintf(want, sizeof(want),
		 "vfo-test[%ld]: pool: warning: no free VF in net1\n"
		 "vfo-test[%ld]: err: no component\n",
		 (long)getpid(), (long)getpid());
	assert_string_equal(out, want);
}

static void test_journal_format(void **state)
{
	struct redirect r;
	char out[4096];

	(void)state;
	redirect_start(&r);
	vfo_log_init("vfo-test", VFO_LOG_TARGET_JOURNAL, VFO_LOG_DEBUG);
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_JOURNAL);
	vfo_err("netlink", "dump failed: %s", "EBUSY");
	vfo_info("", "started");
	vfo_dbg("loop", "tick");
	redirect_stop(&r, out, sizeof(out));
	assert_string_equal(out, "<3>netlink: dump failed: EBUSY\n"
				 "<6>started\n"
				 "<7>loop: tick\n");
}

static void test_auto_target(void **state)
{
	struct redirect r;
	struct stat st;
	char env[64], out[256];

	(void)state;
	unsetenv("JOURNAL_STREAM");
	vfo_log_init("a", VFO_LOG_TARGET_AUTO, VFO_LOG_INFO);
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_STDERR);

	redirect_start(&r);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);

	/* Our stderr is the journal's stream: prefixes. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	vfo_log_init("a", VFO_LOG_TARGET_AUTO, VFO_LOG_INFO);
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_JOURNAL);
	vfo_notice("c", "hi");

	/* Inherited from a parent whose stderr was the journal: not ours. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	vfo_log_init("a", VFO_LOG_TARGET_AUTO, VFO_LOG_INFO);
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_STDERR);

	setenv("JOURNAL_STREAM", "garbage", 1);
	vfo_log_init("a", VFO_LOG_TARGET_AUTO, VFO_LOG_INFO);
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_STDERR);
	redirect_stop(&r, out, sizeof(out));
	unsetenv("JOURNAL_STREAM");
	assert_string_equal(out, "<5>c: hi\n");
}

static void test_syslog_target(void **state)
{
	struct capture c = { 0 };

	(void)state;
	vfo_log_init("vfo-test", VFO_LOG_TARGET_SYSLOG, VFO_LOG_INFO);
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_SYSLOG);
	/* Without a syslog daemon this must still return quietly. */
	vfo_info("t", "to syslog");
	vfo_log_set_sink(capture_sink, &c);
	vfo_info("t", "to sink");
	assert_int_equal(c.count, 1);
	vfo_log_fini();
	assert_int_equal(vfo_log_get_target(), VFO_LOG_TARGET_STDERR);
}

static void test_truncation(void **state)
{
	static const char marker[] = "...[truncated]";
	struct capture c = { 0 };
	char big[VFO_LOG_LINE_MAX * 3];
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vfo_log_set_sink(capture_sink, &c);
	vfo_info("t", "%s", big);
	len = strlen(c.msg);
	assert_int_equal(len, VFO_LOG_LINE_MAX - 1);
	assert_string_equal(c.msg + len - strlen(marker), marker);
	assert_int_equal(c.msg[0], 'x');

	/* Exactly the longest that fits: no marker. */
	big[VFO_LOG_LINE_MAX - 1] = '\0';
	vfo_info("t", "%s", big);
	assert_int_equal(strlen(c.msg), VFO_LOG_LINE_MAX - 1);
	assert_null(strstr(c.msg, marker));
}

static void test_truncation_on_stderr(void **state)
{
	struct redirect r;
	char big[VFO_LOG_LINE_MAX * 2], out[VFO_LOG_LINE_MAX * 4];
	char *nl;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	redirect_start(&r);
	vfo_log_init("t", VFO_LOG_TARGET_JOURNAL, VFO_LOG_INFO);
	vfo_info("c", "%s", big);
	redirect_stop(&r, out, sizeof(out));
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* one line only */
	assert_int_equal(strncmp(out, "<6>c: yyy", 9), 0);
	assert_int_equal(strncmp(nl - 14, "...[truncated]", 14), 0);
}

static void test_control_chars(void **state)
{
	struct capture c = { 0 };

	(void)state;
	vfo_log_set_sink(capture_sink, &c);
	vfo_info("t", "guest said %s", "a\n<0>forged\r\x1b[31m\tb\n");
	assert_string_equal(c.msg, "guest said a?<0>forged??[31m\tb");
}

static void test_errno_preserved(void **state)
{
	struct capture c = { 0 };

	(void)state;
	vfo_log_set_sink(capture_sink, &c);
	errno = ENOENT;
	vfo_err("t", "open: %m");
	assert_int_equal(errno, ENOENT);
	assert_string_equal(c.msg, "open: No such file or directory");
	errno = EBUSY;
	vfo_dbg("t", "filtered");
	assert_int_equal(errno, EBUSY);
}

static void test_sink_reset(void **state)
{
	struct capture c = { 0 };
	struct redirect r;
	char out[256];

	(void)state;
	vfo_log_set_sink(capture_sink, &c);
	vfo_log_set_sink(NULL, NULL);
	redirect_start(&r);
	vfo_log_init("t", VFO_LOG_TARGET_JOURNAL, VFO_LOG_INFO);
	vfo_info("c", "back on stderr");
	redirect_stop(&r, out, sizeof(out));
	assert_int_equal(c.count, 0);
	assert_string_equal(out, "<6>c: back on stderr\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_level_from_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_from_string_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_to_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filtering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_toggle_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stderr_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation_on_stderr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_chars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errno_preserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
