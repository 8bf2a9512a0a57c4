// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Proves host-agent/virt-loop.c maps libvirt's EventImpl onto vfo_loop: the
 * tests call libvirt's public virEvent*() API, which dispatches to whatever
 * was passed to virEventRegisterImpl, and watch vfo_loop run the callbacks.
 * No libvirtd is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>

#include "loop.h"
#include "util.h"
#include "virt-loop.h"

struct rec {
	int calls;
	int watch;
	int fd;
	int events;
	bool remove_self; /* remove own handle/timeout from the callback */
	int update_to; /* for timeouts: new interval set from the callback */
	bool in_cb;
	bool in_remove; /* a virEventRemove*() call is on the stack */
	int ff_calls;
	bool ff_in_cb; /* ff ran while the callback was still running */
	bool ff_in_remove; /* ff ran inside virEventRemove*() */
	char buf[16];
};

static void ff(void *opaque)
{
	struct rec *r = opaque;

	r->ff_calls++;
	if (r->in_cb)
		r->ff_in_cb = true;
	if (r->in_remove)
		r->ff_in_remove = true;
}

static void handle_cb(int watch, int fd, int events, void *opaque)
{
	struct rec *r = opaque;

	r->in_cb = true;
	r->calls++;
	r->watch = watch;
	r->fd = fd;
	r->events = events;
	if (events & VIR_EVENT_HANDLE_READABLE)
		while (read(fd, r->buf, sizeof(r->buf)) > 0)
			;
	if (r->remove_self) {
		r->in_remove = true;
		assert_int_equal(virEventRemoveHandle(watch), 0);
		r->in_remove = false;
		assert_int_equal(r->ff_calls, 0);
	}
	r->in_cb = false;
}

static void timeout_cb(int timer, void *opaque)
{
	struct rec *r = opaque;

	r->in_cb = true;
	r->calls++;
	r->watch = timer;
	if (r->update_to) {
		virEventUpdateTimeout(timer, r->update_to);
		r->update_to = 0;
	}
	if (r->remove_self) {
		r->in_remove = true;
		assert_int_equal(virEventRemoveTimeout(timer), 0);
		r->in_remove = false;
		assert_int_equal(r->ff_calls, 0);
	}
	r->in_cb = false;
}

static void mkpipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void poke(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static void closepipe(int p[2])
{
	vfo_close(&p[0]);
	vfo_close(&p[1]);
}

static void run_until(struct vfo_loop *l, const int *calls, int want, int64_t max_ms)
{
	int64_t end = vfo_now_ms() + max_ms;

	while (*calls < want && vfo_now_ms() < end)
		assert_true(vfo_loop_run_once(l, 100) >= 0);
}

static int setup(void **state)
{
	struct vfo_loop *l = NULL;

	assert_int_equal(vfo_loop_new(&l), 0);
	assert_int_equal(vfo_virt_loop_register(l), 0);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	vfo_virt_loop_unregister(*state);
	vfo_loop_free(*state);
	return 0;
}

/* Runs first: before any registration libvirt has no impl to call. */
static void test_unregistered(void **state)
{
	struct rec r = { 0 };
	struct vfo_loop *l = NULL;
	int p[2];

	(void)state;
	mkpipe(p);
	assert_int_equal(virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &r, ff), -1);
	assert_int_equal(virEventAddTimeout(10, timeout_cb, &r, ff), -1);
	assert_int_equal(vfo_virt_loop_register(NULL), -EINVAL);
	/* Registered, then detached: the adapters refuse cleanly, and ff is
	 * never called for a registration that did not happen. */
	assert_int_equal(vfo_loop_new(&l), 0);
	assert_int_equal(vfo_virt_loop_register(l), 0);
	vfo_virt_loop_unregister(NULL);
	vfo_virt_loop_unregister(l);
	assert_int_equal(virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &r, ff), -1);
	assert_int_equal(virEventAddTimeout(10, timeout_cb, &r, ff), -1);
	assert_int_equal(virEventRemoveHandle(1), -1);
	assert_int_equal(virEventRemoveTimeout(1), -1);
	virEventUpdateHandle(1, VIR_EVENT_HANDLE_READABLE);
	virEventUpdateTimeout(1, 5);
	vfo_loop_free(l);
	assert_int_equal(r.ff_calls, 0);
	assert_int_equal(r.calls, 0);
	closepipe(p);
}

static void test_handle_readable(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w;

	mkpipe(p);
	w = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &r, ff);
	assert_true(w > 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.watch, w);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.events, VIR_EVENT_HANDLE_READABLE);
	/* Writer gone: HANGUP arrives without being asked for. */
	vfo_close(&p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_true(r.events & VIR_EVENT_HANDLE_HANGUP);
	assert_int_equal(virEventRemoveHandle(w), 0);
	assert_int_equal(r.ff_calls, 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.ff_calls, 1);
	assert_int_equal(virEventRemoveHandle(w), -1);
	closepipe(p);
}

static void test_handle_writable(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w;

	mkpipe(p);
	w = virEventAddHandle(p[1], VIR_EVENT_HANDLE_WRITABLE, handle_cb, &r, NULL);
	assert_true(w > 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.events, VIR_EVENT_HANDLE_WRITABLE);
	assert_int_equal(r.fd, p[1]);
	vfo_close(&p[0]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_true(r.events & VIR_EVENT_HANDLE_ERROR);
	assert_int_equal(virEventRemoveHandle(w), 0);
	closepipe(p);
}

/* libvirt's RPC client watches its socket for reading and, while it has
 * output queued, writing, toggling with update; events 0 disables. */
static void test_handle_update_and_same_fd(void **state)
{
	struct vfo_loop *l = *state;
	struct rec rd = { 0 }, wr = { 0 };
	int sv[2], wrd, wwr;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	wrd = virEventAddHandle(sv[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &rd, ff);
	wwr = virEventAddHandle(sv[0], 0, handle_cb, &wr, ff);
	assert_true(wrd > 0 && wwr > 0 && wrd != wwr);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	virEventUpdateHandle(wwr, VIR_EVENT_HANDLE_WRITABLE);
	poke(sv[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 2);
	assert_int_equal(rd.events, VIR_EVENT_HANDLE_READABLE);
	assert_int_equal(wr.events, VIR_EVENT_HANDLE_WRITABLE);
	/* Both disabled with events 0: nothing, even with data waiting. */
	virEventUpdateHandle(wwr, 0);
	virEventUpdateHandle(wrd, 0);
	poke(sv[1]);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(rd.calls, 1);
	assert_int_equal(wr.calls, 1);
	virEventUpdateHandle(wrd, VIR_EVENT_HANDLE_READABLE);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(rd.calls, 2);
	/* Updating an unknown watch is silently ignored, as libvirt expects. */
	virEventUpdateHandle(9999, VIR_EVENT_HANDLE_READABLE);
	assert_int_equal(virEventRemoveHandle(wrd), 0);
	assert_int_equal(virEventRemoveHandle(wwr), 0);
	assert_int_equal(virEventRemoveHandle(9999), -1);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(rd.ff_calls, 1);
	assert_int_equal(wr.ff_calls, 1);
	close(sv[0]);
	close(sv[1]);
}

static void test_handle_remove_in_cb(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { .remove_self = true };
	int p[2], w;

	mkpipe(p);
	w = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &r, ff);
	assert_true(w > 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	/* ff ran once, after the callback and outside virEventRemoveHandle. */
	assert_int_equal(r.ff_calls, 1);
	assert_false(r.ff_in_cb);
	assert_false(r.ff_in_remove);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 1);
	closepipe(p);
}

static void test_handle_bad_fd(void **state)
{
	struct rec r = { 0 };
	int p[2], bad;

	(void)state;
	mkpipe(p);
	bad = p[0];
	closepipe(p);
	/* A closed descriptor: registration fails and ff is not called
	 * (libvirt keeps ownership of opaque on failure). */
	assert_int_equal(virEventAddHandle(bad, VIR_EVENT_HANDLE_READABLE, handle_cb, &r, ff), -1);
	assert_int_equal(virEventAddHandle(bad, 0, handle_cb, &r, ff), -1);
	assert_int_equal(virEventAddHandle(-1, VIR_EVENT_HANDLE_READABLE, handle_cb, &r, ff), -1);
	assert_int_equal(virEventAddHandle(bad, VIR_EVENT_HANDLE_READABLE, NULL, &r, ff), -1);
	assert_int_equal(virEventAddTimeout(5, NULL, &r, ff), -1);
	assert_int_equal(r.ff_calls, 0);
}

static void test_timeout_periodic_and_disable(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int64_t t0 = vfo_now_ms();
	int t;

	t = virEventAddTimeout(10, timeout_cb, &r, ff);
	assert_true(t > 0);
	run_until(l, &r.calls, 3, 3000);
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.watch, t);
	assert_true(vfo_now_ms() - t0 >= 30);
	virEventUpdateTimeout(t, -1);
	assert_int_equal(vfo_loop_run_once(l, 50), 0);
	assert_int_equal(r.calls, 3);
	/* Any negative value disables, as in libvirt's own loop. */
	virEventUpdateTimeout(t, 5);
	run_until(l, &r.calls, 4, 3000);
	virEventUpdateTimeout(t, -7);
	assert_int_equal(vfo_loop_run_once(l, 50), 0);
	assert_int_equal(r.calls, 4);
	assert_int_equal(virEventRemoveTimeout(t), 0);
	assert_int_equal(virEventRemoveTimeout(t), -1);
	assert_int_equal(r.ff_calls, 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.ff_calls, 1);
}

static void test_timeout_zero_fires_every_iteration(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int64_t t0 = vfo_now_ms();
	int t;

	/* Added disabled (libvirt's keepalive does this), enabled at 0 ms. */
	t = virEventAddTimeout(-1, timeout_cb, &r, ff);
	assert_true(t > 0);
	assert_int_equal(vfo_loop_run_once(l, 30), 0);
	virEventUpdateTimeout(t, 0);
	for (int i = 1; i <= 20; i++) {
		assert_int_equal(vfo_loop_run_once(l, 5000), 1);
		assert_int_equal(r.calls, i);
	}
	/* 20 iterations that never waited for the 5 s cap. */
	assert_true(vfo_now_ms() - t0 < 2000);
	/* The callback itself slows it down to a period. */
	r.update_to = 1000;
	assert_int_equal(vfo_loop_run_once(l, 5000), 1);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 21);
	assert_int_equal(virEventRemoveTimeout(t), 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.ff_calls, 1);
}

static void test_timeout_remove_in_cb(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { .remove_self = true };
	int t;

	t = virEventAddTimeout(0, timeout_cb, &r, ff);
	assert_true(t > 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ff_calls, 1);
	assert_false(r.ff_in_cb);
	assert_false(r.ff_in_remove);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(virEventRemoveTimeout(t), -1);
}

/* Still registered when the loop goes away: ff runs from vfo_loop_free. */
static void test_ff_at_loop_free(void **state)
{
	struct rec r = { 0 }, h = { 0 };
	int p[2], w;

	mkpipe(p);
	assert_true(virEventAddTimeout(1000, timeout_cb, &r, ff) > 0);
	assert_true(virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &h, ff) > 0);
	teardown(state);
	assert_int_equal(r.ff_calls, 1);
	assert_int_equal(h.ff_calls, 1);
	/* A later loop takes over the same, once-registered, impl. */
	assert_int_equal(setup(state), 0);
	poke(p[1]);
	w = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, handle_cb, &h, ff);
	assert_true(w > 0);
	assert_int_equal(vfo_loop_run_once(*state, 1000), 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(virEventRemoveHandle(w), 0);
	assert_int_equal(vfo_loop_run_once(*state, 0), 0);
	assert_int_equal(h.ff_calls, 2);
	closepipe(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unregistered),
		cmocka_unit_test_setup_teardown(test_handle_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_update_and_same_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_remove_in_cb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_bad_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_periodic_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_zero_fires_every_iteration, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timeout_remove_in_cb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ff_at_loop_free, setup, teardown),
	};

	if (virInitialize() < 0)
		return 1;
	return cmocka_run_group_tests_name("virt-loop", tests, NULL, NULL);
}
