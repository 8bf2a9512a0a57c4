/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files for tests that build a fake sysfs tree or state directory under a
 * temp dir. Include after <cmocka.h>: failures are assertions.
 */
#ifndef VFO_TEST_FS_H
#define VFO_TEST_FS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* dir/name := val (created or truncated). */
static inline void test_put(const char *dir, const char *name, const char *val)
{
	char p[512];
	FILE *f;

	assert_true(snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p));
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}

/* mkdir -p: existing components are fine. */
static inline void test_mkdir_p(const char *dir)
{
	char buf[512];

	assert_true(snprintf(buf, sizeof(buf), "%s", dir) < (int)sizeof(buf));
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

static inline void test_rm_rf(const char *path)
{
	char cmd[600];

	assert_true(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path) < (int)sizeof(cmd));
	assert_int_equal(system(cmd), 0);
}

#endif
