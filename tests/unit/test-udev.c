// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * common/udev and common/debounce: which event source is used with and
 * without udevd, that a monitor really opens on each and closes cleanly,
 * and that a burst of events costs one action, bounded in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "debounce.h"
#include "loop.h"
#include "udev.h"

static void test_pick_source(void **state)
{
	(void)state;
	assert_int_equal(vfo_udev_pick_source(true, false), VFO_UDEV_UDEVD);
	assert_int_equal(vfo_udev_pick_source(true, true), VFO_UDEV_UDEVD);
	assert_int_equal(vfo_udev_pick_source(false, true), VFO_UDEV_KERNEL);
	assert_int_equal(vfo_udev_pick_source(false, false), VFO_UDEV_NONE);
	assert_string_equal(vfo_udev_source_str(VFO_UDEV_UDEVD), "udev");
	assert_string_equal(vfo_udev_source_str(VFO_UDEV_KERNEL), "kernel");
	assert_string_equal(vfo_udev_source_str(VFO_UDEV_NONE), "none");
}

static void test_udevd_running(void **state)
{
	char path[] = "/tmp/test-udev-control-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_true(vfo_udevd_running(path));
	unlink(path);
	assert_false(vfo_udevd_running(path));
}

static void never(struct udev_device *dev, void *opaque)
{
	(void)dev;
	(void)opaque;
	fail_msg("no event expected");
}

static const char *const subsystems[] = { "pci", "net", NULL };

static void test_open_sources(void **state)
{
	char control[] = "/tmp/test-udev-control-XXXXXX";
	struct vfo_udev_opts o = {
		.name = "test",
		.subsystems = subsystems,
		.udevd_control = "/nonexistent/udev/control",
		.rcvbuf = 1 << 20,
	};
	struct vfo_loop *l;
	struct vfo_udev u;
	int fd;

	(void)state;
	assert_int_equal(vfo_loop_new(&l), 0);
	/* No udevd and no fallback: the caller is told, nothing is open. */
	assert_int_equal(vfo_udev_open(&u, l, &o, never, NULL), -ENOENT);
	assert_int_equal(u.source, VFO_UDEV_NONE);
	assert_null(u.mon);
	assert_int_equal(u.watch, 0);
	vfo_udev_close(&u, l);

	/* No udevd, fallback allowed: the kernel's uevents. */
	o.kernel_fallback = true;
	assert_int_equal(vfo_udev_open(&u, l, &o, never, NULL), 0);
	assert_int_equal(u.source, VFO_UDEV_KERNEL);
	assert_non_null(u.mon);
	assert_true(u.watch > 0);
	vfo_udev_close(&u, l);
	assert_int_equal(u.source, VFO_UDEV_NONE);
	assert_null(u.mon);
	vfo_udev_close(&u, l);

	/* udevd runs: its events, fallback or not. */
	fd = mkstemp(control);
	assert_true(fd >= 0);
	close(fd);
	o.udevd_control = control;
	o.kernel_fallback = false;
	assert_int_equal(vfo_udev_open(&u, l, &o, never, NULL), 0);
	assert_int_equal(u.source, VFO_UDEV_UDEVD);
	assert_true(u.watch > 0);
	vfo_udev_close(&u, l);
	unlink(control);
	vfo_loop_free(l);
}

static void test_debounce_burst(void **state)
{
	struct vfo_debounce d;

	(void)state;
	vfo_debounce_init(&d, 200, 2000);
	assert_false(d.pending);
	/* Each event of a burst pushes the action out by the quiet time. */
	assert_int_equal(vfo_debounce_event(&d, 1000), 200);
	assert_true(d.pending);
	assert_int_equal(vfo_debounce_event(&d, 1100), 200);
	assert_int_equal(vfo_debounce_event(&d, 1250), 200);
	/* ... but never past max after the burst's first event. */
	assert_int_equal(vfo_debounce_event(&d, 2900), 100);
	assert_int_equal(vfo_debounce_event(&d, 3000), 0);
	assert_int_equal(vfo_debounce_event(&d, 3500), 0);
	/* The action ran: the next event opens a new burst. */
	vfo_debounce_done(&d);
	assert_false(d.pending);
	assert_int_equal(vfo_debounce_event(&d, 4000), 200);
	assert_int_equal(d.first_ms, 4000);
}

static void test_debounce_edges(void **state)
{
	struct vfo_debounce d;

	(void)state;
	/* No quiet time: act at once. */
	vfo_debounce_init(&d, 0, 0);
	assert_int_equal(vfo_debounce_event(&d, 5), 0);
	/* max below quiet is quiet; negative quiet is none. */
	vfo_debounce_init(&d, 300, 100);
	assert_int_equal(d.max_ms, 300);
	assert_int_equal(vfo_debounce_event(&d, 0), 300);
	assert_int_equal(vfo_debounce_event(&d, 250), 50);
	vfo_debounce_init(&d, -5, -5);
	assert_int_equal(vfo_debounce_event(&d, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_source),    cmocka_unit_test(test_udevd_running),
		cmocka_unit_test(test_open_sources),   cmocka_unit_test(test_debounce_burst),
		cmocka_unit_test(test_debounce_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
