// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * state.c is linked into this program with -Wl,--wrap=fsync,--wrap=rename
 * so that failures of those calls can be injected.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "log.h"
#include "state.h"

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to);

/* Fail the Nth call from now (1 = the next one); 0 = never. */
static int fsync_fail_at, fsync_calls;
static int rename_fail_at, rename_calls;

int __wrap_fsync(int fd)
{
	if (fsync_fail_at && ++fsync_calls == fsync_fail_at) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to)
{
	if (rename_fail_at && ++rename_calls == rename_fail_at) {
		errno = EROFS;
		return -1;
	}
	return __real_rename(from, to);
}

struct fixture {
	char dir[64];
	char path[128];
	int errors;
	char last[VFO_LOG_LINE_MAX];
};

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	struct fixture *f = opaque;

	if (level <= VFO_LOG_ERR)
		f->errors++;
	snprintf(f->last, sizeof(f->last), "%s", msg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test-state-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state.json", f->dir);
	fsync_fail_at = fsync_calls = 0;
	rename_fail_at = rename_calls = 0;
	vfo_log_set_level(VFO_LOG_INFO);
	vfo_log_set_sink(sink, f);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfo_log_set_sink(NULL, NULL);
	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void write_str(const char *path, const char *text)
{
	write_text(path, text, strlen(text));
}

/* Reads a small file into buf; returns its length, or -1. */
static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static struct json_object *sample(int n)
{
	struct json_object *o = json_object_new_object();
	struct json_object *vfs = json_object_new_array();

	json_object_array_add(vfs, json_object_new_string("0000:03:10.0"));
	json_object_array_add(vfs, json_object_new_string("0000:03:10.2"));
	json_object_object_add(o, "vfs", vfs);
	json_object_object_add(o, "n", json_object_new_int(n));
	json_object_object_add(o, "path", json_object_new_string("/a/b"));
	return o;
}

static int get_n(struct json_object *o)
{
	struct json_object *n;

	assert_true(json_object_object_get_ex(o, "n", &n));
	return json_object_get_int(n);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct json_object *o = sample(7), *in;
	struct vfo_state_info info;
	struct stat st;
	char buf[4096];

	assert_int_equal(vfo_state_save(f->path, 3, o), 0);
	assert_int_equal(vfo_state_load(f->path, 3, &in, &info), 0);
	assert_non_null(in);
	assert_false(info.fresh);
	assert_false(info.moved_aside);
	assert_int_equal(info.version, 3);
	assert_true(json_object_equal(o, in));
	json_object_put(in);
	json_object_put(o);

	/* Private to the daemon, human-readable, no temporary left. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(read_text(f->path, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"version\":3"));
	assert_non_null(strstr(buf, "\"/a/b\"")); /* no "\/" escapes */
	assert_int_equal(buf[strlen(buf) - 1], '\n');
	assert_int_equal(count_entries(f->dir), 1);
	assert_int_equal(f->errors, 0);
}

static void test_replace(void **state)
{
	struct fixture *f = *state;
	struct json_object *o, *in;

	o = sample(1);
	assert_int_equal(vfo_state_save(f->path, 1, o), 0);
	json_object_put(o);
	o = sample(2);
	assert_int_equal(vfo_state_save(f->path, 1, o), 0);
	json_object_put(o);
	assert_int_equal(vfo_state_load(f->path, 1, &in, NULL), 0);
	assert_int_equal(get_n(in), 2);
	json_object_put(in);
	assert_int_equal(count_entries(f->dir), 1);
}

/* A save that fails at step `step` leaves the old content and no litter. */
static void failed_save_keeps_old(struct fixture *f, int *fail_at, int want)
{
	struct json_object *o, *in;

	o = sample(1);
	assert_int_equal(vfo_state_save(f->path, 1, o), 0);
	json_object_put(o);

	*fail_at = 1;
	o = sample(2);
	assert_int_equal(vfo_state_save(f->path, 1, o), want);
	json_object_put(o);
	assert_int_equal(f->errors, 1);
	assert_non_null(strstr(f->last, "the previous one is kept"));

	assert_int_equal(vfo_state_load(f->path, 1, &in, NULL), 0);
	assert_int_equal(get_n(in), 1);
	json_object_put(in);
	assert_int_equal(count_entries(f->dir), 1);
}

static void test_fsync_failure_keeps_old(void **state)
{
	failed_save_keeps_old(*state, &fsync_fail_at, -EIO);
}

static void test_rename_failure_keeps_old(void **state)
{
	failed_save_keeps_old(*state, &rename_fail_at, -EROFS);
}

static void test_dir_fsync_failure(void **state)
{
	struct fixture *f = *state;
	struct json_object *o = sample(5), *in;

	/* The file's fsync passes, the directory's fails: reported, but
	 * the new content is already in place. */
	fsync_fail_at = 2;
	assert_int_equal(vfo_state_save(f->path, 1, o), -EIO);
	json_object_put(o);
	assert_int_equal(f->errors, 1);
	assert_int_equal(vfo_state_load(f->path, 1, &in, NULL), 0);
	assert_int_equal(get_n(in), 5);
	json_object_put(in);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct json_object *in = (void *)1;
	struct vfo_state_info info;

	assert_int_equal(vfo_state_load(f->path, 1, &in, &info), -ENOENT);
	assert_null(in);
	assert_true(info.fresh);
	assert_false(info.moved_aside);
	assert_int_equal(f->errors, 0);
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_directory_missing(void **state)
{
	struct fixture *f = *state;
	struct json_object *o = sample(1), *in;
	struct vfo_state_info info;
	char path[256], dir[200];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/nodir", f->dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	assert_int_equal(vfo_state_load(path, 1, &in, &info), -ENOENT);
	assert_true(info.fresh);
	/* Saving does not invent directories: that is tmpfiles' job. */
	assert_int_equal(vfo_state_save(path, 1, o), -ENOENT);
	json_object_put(o);
	assert_int_equal(f->errors, 1);
	assert_int_equal(stat(dir, &st), -1);
}

static void check_corrupt(struct fixture *f, const char *text, size_t len, const char *why)
{
	struct json_object *in = (void *)1;
	struct vfo_state_info info;
	char want[256], buf[4096];
	struct stat st;

	write_text(f->path, text, len);
	f->errors = 0;
	assert_int_equal(vfo_state_load(f->path, 2, &in, &info), -EINVAL);
	assert_null(in);
	assert_false(info.fresh);
	assert_true(info.moved_aside);
	assert_string_equal(info.why, why);
	snprintf(want, sizeof(want), "%s.corrupt-", f->path);
	assert_int_equal(strncmp(info.moved_to, want, strlen(want)), 0);
	assert_true(strtoll(info.moved_to + strlen(want), NULL, 10) > 1600000000);

	/* Moved, not dropped: same bytes under the new name. */
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(read_text(info.moved_to, buf, sizeof(buf)), (int)len);
	assert_memory_equal(buf, text, len);

	/* Logged once, with the path, the reason and where it went. */
	assert_int_equal(f->errors, 1);
	assert_non_null(strstr(f->last, f->path));
	assert_non_null(strstr(f->last, why));
	assert_non_null(strstr(f->last, info.moved_to));
	unlink(info.moved_to);
}

static void test_corrupt_moved_aside(void **state)
{
	struct fixture *f = *state;

	check_corrupt(f, "garbage{", 8, "invalid JSON near byte 0: unexpected character");
	check_corrupt(f, "", 0, "empty file");
	check_corrupt(f, "{\"version\": 1, \"vfs\": [\"0000:03:", 32,
		      "incomplete JSON (truncated?)");
	check_corrupt(f, "[1, 2]", 6, "top level is array, not an object");
	check_corrupt(f, "{\"vfs\": []}", 11, "no \"version\" field");
	check_corrupt(f, "{\"version\": \"1\"}", 16, "\"version\" is string, not an integer");
	check_corrupt(f, "{\"version\": 0}", 14, "\"version\" is 0, not positive");
	check_corrupt(f, "{\"version\": 1}\n{}", 17,
		      "invalid JSON near byte 15: unexpected character");
	check_corrupt(f, "{\"version\": 1}\0\0", 16, "contains a NUL byte");
	check_corrupt(f, "\n\n  \n", 5, "incomplete JSON (truncated?)");
}

static void test_corrupt_twice_keeps_both(void **state)
{
	struct fixture *f = *state;
	struct vfo_state_info a, b;
	struct json_object *in;
	char buf[64];

	write_str(f->path, "first");
	assert_int_equal(vfo_state_load(f->path, 1, &in, &a), -EINVAL);
	write_str(f->path, "second");
	assert_int_equal(vfo_state_load(f->path, 1, &in, &b), -EINVAL);
	assert_string_not_equal(a.moved_to, b.moved_to);
	assert_int_equal(read_text(a.moved_to, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "first");
	assert_int_equal(read_text(b.moved_to, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "second");
	assert_int_equal(count_entries(f->dir), 2);
}

static void test_corrupt_cannot_move(void **state)
{
	struct fixture *f = *state;
	struct vfo_state_info info;
	struct json_object *in;
	char buf[64];

	/* If it cannot be moved aside it must not be used nor overwritten:
	 * a distinct error so the daemon does not start fresh. */
	write_str(f->path, "{oops");
	rename_fail_at = 1;
	assert_int_equal(vfo_state_load(f->path, 1, &in, &info), -EROFS);
	assert_null(in);
	assert_false(info.moved_aside);
	assert_int_equal(read_text(f->path, buf, sizeof(buf)), 5);
	assert_int_equal(f->errors, 1);
	assert_non_null(strstr(f->last, "could not be moved aside"));
	assert_int_equal(count_entries(f->dir), 1);
}

static void test_version_too_new(void **state)
{
	struct fixture *f = *state;
	struct json_object *o = sample(1), *in = (void *)1;
	struct vfo_state_info info;

	assert_int_equal(vfo_state_save(f->path, 4, o), 0);
	json_object_put(o);
	assert_int_equal(vfo_state_load(f->path, 3, &in, &info), -EPROTONOSUPPORT);
	assert_null(in);
	assert_false(info.moved_aside);
	assert_string_equal(info.why, "version 4 is newer than 3, the newest this vfo knows");
	assert_int_equal(f->errors, 1);
	assert_non_null(strstr(f->last, "newer vfo"));
	assert_non_null(strstr(f->last, f->path));
	/* Left alone for the newer vfo. */
	assert_int_equal(count_entries(f->dir), 1);
	assert_int_equal(vfo_state_load(f->path, 4, &in, &info), 0);
	assert_int_equal(info.version, 4);
	json_object_put(in);
}

static void test_older_version_loads(void **state)
{
	struct fixture *f = *state;
	struct vfo_state_info info;
	struct json_object *in;

	write_str(f->path, "{\"version\": 1, \"n\": 9}");
	assert_int_equal(vfo_state_load(f->path, 5, &in, &info), 0);
	assert_int_equal(info.version, 1);
	assert_int_equal(get_n(in), 9);
	json_object_put(in);
}

static void test_not_a_regular_file(void **state)
{
	struct fixture *f = *state;
	struct json_object *in;

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(vfo_state_load(f->path, 1, &in, NULL), -EISDIR);
	assert_null(in);
	assert_int_equal(f->errors, 1);
	assert_int_equal(count_entries(f->dir), 1);

	assert_int_equal(rmdir(f->path), 0);
	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(vfo_state_load(f->path, 1, &in, NULL), -ENODEV);
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	struct vfo_state_info info;
	struct json_object *in;
	int fd;

	fd = open(f->path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VFO_STATE_MAX_SIZE + 1), 0);
	close(fd);
	assert_int_equal(vfo_state_load(f->path, 1, &in, &info), -EINVAL);
	assert_true(info.moved_aside);
	assert_string_equal(info.why, "larger than 16777216 bytes");
}

/*
 * Runs fn with permission checks in force: as root, in a child that drops
 * to nobody; otherwise in-process. Returns fn's result.
 */
static int as_unprivileged(int (*fn)(const char *), const char *path)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return fn(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vfo_log_set_level(-1); /* the parent checks the outcome */
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(100);
		_exit(-fn(path));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static int try_load(const char *path)
{
	struct json_object *in;
	int ret = vfo_state_load(path, 1, &in, NULL);

	json_object_put(in);
	return ret;
}

static int try_save(const char *path)
{
	struct json_object *o = sample(2);
	int ret = vfo_state_save(path, 1, o);

	json_object_put(o);
	return ret;
}

static void test_permission_denied(void **state)
{
	struct fixture *f = *state;
	struct json_object *o = sample(1), *in;

	assert_int_equal(vfo_state_save(f->path, 1, o), 0);
	json_object_put(o);
	assert_int_equal(chmod(f->dir, 0755), 0);

	/* Unreadable: an error, and the file is left where it is. */
	assert_int_equal(chmod(f->path, 0), 0);
	assert_int_equal(as_unprivileged(try_load, f->path), -EACCES);
	assert_int_equal(count_entries(f->dir), 1);

	/* Unwritable directory: the old content survives. */
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(chmod(f->dir, 0555), 0);
	assert_int_equal(as_unprivileged(try_save, f->path), -EACCES);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(vfo_state_load(f->path, 1, &in, NULL), 0);
	assert_int_equal(get_n(in), 1);
	json_object_put(in);
	assert_int_equal(count_entries(f->dir), 1);
}

static void test_save_bad_args(void **state)
{
	struct fixture *f = *state;
	struct json_object *arr = json_object_new_array();
	struct json_object *o = sample(1);

	assert_int_equal(vfo_state_save(f->path, 1, NULL), -EINVAL);
	assert_int_equal(vfo_state_save(f->path, 1, arr), -EINVAL);
	assert_int_equal(vfo_state_save(f->path, 0, o), -EINVAL);
	json_object_put(arr);
	json_object_put(o);
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_parse_buffer(void **state)
{
	struct json_object *out = (void *)1;
	char why[128];

	(void)state;
	/* Not NUL-terminated: only len bytes may be read. */
	assert_int_equal(vfo_state_parse("{\"version\":1}xx", 13, 1, &out, why, sizeof(why)), 0);
	assert_non_null(out);
	json_object_put(out);
	assert_int_equal(vfo_state_parse("{\"version\":1}", 12, 1, &out, NULL, 0), -EINVAL);
	assert_null(out);
	assert_int_equal(vfo_state_parse("{\"version\":1.5}", 15, 1, &out, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "\"version\" is double, not an integer");
	assert_int_equal(vfo_state_parse("{\"version\":99999999999999999999}", 32, 1, &out, why,
					 sizeof(why)),
			 -EPROTONOSUPPORT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_replace),
		T(test_fsync_failure_keeps_old),
		T(test_rename_failure_keeps_old),
		T(test_dir_fsync_failure),
		T(test_missing_file),
		T(test_directory_missing),
		T(test_corrupt_moved_aside),
		T(test_corrupt_twice_keeps_both),
		T(test_corrupt_cannot_move),
		T(test_version_too_new),
		T(test_older_version_loads),
		T(test_not_a_regular_file),
		T(test_too_large),
		T(test_permission_denied),
		T(test_save_bad_args),
		cmocka_unit_test(test_parse_buffer),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
