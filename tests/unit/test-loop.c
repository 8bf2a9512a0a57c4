// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests for common/loop.c.
 *
 * Linked with -Wl,--wrap=calloc,--wrap=epoll_create1,--wrap=timerfd_create,
 * --wrap=signalfd so allocation and fd-creation failures can be injected
 * into loop.o (only references from the objects being linked are wrapped,
 * so cmocka and libc are untouched).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "loop.h"
#include "util.h"

/* ---- failure injection ------------------------------------------------ */

void *__real_calloc(size_t n, size_t size);
int __real_epoll_create1(int flags);
int __real_timerfd_create(int clockid, int flags);
int __real_signalfd(int fd, const sigset_t *mask, int flags);
void *__wrap_calloc(size_t n, size_t size);
int __wrap_epoll_create1(int flags);
int __wrap_timerfd_create(int clockid, int flags);
int __wrap_signalfd(int fd, const sigset_t *mask, int flags);

/* Fail the Nth call from now (1 = the next one); 0 = never. */
static int fail_calloc_at, fail_epoll, fail_timerfd, fail_signalfd;

static bool should_fail(int *countdown)
{
	if (*countdown <= 0)
		return false;
	return --*countdown == 0;
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (should_fail(&fail_calloc_at)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

int __wrap_epoll_create1(int flags)
{
	if (should_fail(&fail_epoll)) {
		errno = EMFILE;
		return -1;
	}
	return __real_epoll_create1(flags);
}

int __wrap_timerfd_create(int clockid, int flags)
{
	if (should_fail(&fail_timerfd)) {
		errno = EMFILE;
		return -1;
	}
	return __real_timerfd_create(clockid, flags);
}

int __wrap_signalfd(int fd, const sigset_t *mask, int flags)
{
	if (should_fail(&fail_signalfd)) {
		errno = ENODEV;
		return -1;
	}
	return __real_signalfd(fd, mask, flags);
}

/* ---- helpers ------------------------------------------------------------ */

#define MAXREC 64

struct rec {
	struct vfo_loop *l;
	int calls;
	int id;
	int fd;
	unsigned int events;
	int remove_id; /* fd watch to remove from the callback */
	int remove_timer; /* timer to remove from the callback */
	bool remove_self;
	bool in_callback;
	int order[MAXREC]; /* ids in dispatch order, shared via ->log */
	struct rec *log;
	int nlog;
};

static int frees;
static bool inside_remove; /* set around vfo_loop_remove_*() */

/* Touches only globals: teardown frees leftovers after the test's stack
 * (where the recs live) is gone. */
static void count_free(void *opaque)
{
	(void)opaque;
	assert_false(inside_remove);
	frees++;
}

static void note(struct rec *r, int id)
{
	struct rec *log = r->log ? r->log : r;

	if (log->nlog < MAXREC)
		log->order[log->nlog++] = id;
}

static void fd_cb(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct rec *r = opaque;
	char buf[64];

	r->calls++;
	r->id = id;
	r->fd = fd;
	r->events = events;
	r->l = l;
	note(r, id);
	/* Level-triggered: drain so the next iteration is quiet. */
	if (events & VFO_EV_IN)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	if (r->remove_id) {
		inside_remove = true;
		assert_int_equal(vfo_loop_remove_fd(l, r->remove_id), 0);
		inside_remove = false;
		r->remove_id = 0;
	}
	if (r->remove_self) {
		inside_remove = true;
		assert_int_equal(vfo_loop_remove_fd(l, id), 0);
		inside_remove = false;
	}
}

static void timer_cb(struct vfo_loop *l, int id, void *opaque)
{
	struct rec *r = opaque;

	r->calls++;
	r->id = id;
	r->l = l;
	note(r, id);
	if (r->remove_timer) {
		inside_remove = true;
		assert_int_equal(vfo_loop_remove_timer(l, r->remove_timer), 0);
		inside_remove = false;
		r->remove_timer = 0;
	}
	if (r->remove_self) {
		inside_remove = true;
		assert_int_equal(vfo_loop_remove_timer(l, id), 0);
		inside_remove = false;
	}
}

static void mkpipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void poke(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct vfo_loop *l = NULL;

	frees = 0;
	inside_remove = false;
	assert_int_equal(vfo_loop_new(&l), 0);
	assert_non_null(l);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	vfo_loop_free(*state);
	return 0;
}

/* ---- argument checking -------------------------------------------------- */

static void test_null_args(void **state)
{
	struct vfo_loop *l = *state;
	struct vfo_loop_stats st;
	struct rec r = { 0 };
	int p[2];

	mkpipe(p);
	assert_int_equal(vfo_loop_new(NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_fd(NULL, "x", p[0], VFO_EV_IN, fd_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_fd(l, NULL, p[0], VFO_EV_IN, fd_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_fd(l, "x", p[0], VFO_EV_IN, NULL, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_fd(l, "x", p[0], 0x10, fd_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_timer(NULL, "t", 1, 0, timer_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_timer(l, NULL, 1, 0, timer_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_timer(l, "t", 1, 0, NULL, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_timer(l, "t", -2, 0, timer_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_add_timer(l, "t", 1, 0x8, timer_cb, &r, NULL), -EINVAL);
	assert_int_equal(vfo_loop_update_fd(NULL, 1, 0), -EINVAL);
	assert_int_equal(vfo_loop_remove_fd(NULL, 1), -EINVAL);
	assert_int_equal(vfo_loop_update_timer(NULL, 1, 0), -EINVAL);
	assert_int_equal(vfo_loop_remove_timer(NULL, 1), -EINVAL);
	assert_int_equal(vfo_loop_run(NULL), -EINVAL);
	assert_int_equal(vfo_loop_run_once(NULL, 0), -EINVAL);
	assert_int_equal(vfo_loop_run_once(l, -2), -EINVAL);
	assert_false(vfo_loop_stopping(NULL));
	vfo_loop_stop(NULL);
	vfo_loop_set_signal_cb(NULL, NULL, NULL);
	vfo_loop_get_stats(NULL, &st);
	vfo_loop_get_stats(l, NULL);
	vfo_loop_free(NULL);
	/* Nothing registered: an idle iteration dispatches nothing. */
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.calls, 0);
	close(p[0]);
	close(p[1]);
}

static void test_bad_ids(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w, t;

	mkpipe(p);
	assert_int_equal(vfo_loop_update_fd(l, 1, VFO_EV_IN), -ENOENT);
	assert_int_equal(vfo_loop_remove_fd(l, 42), -ENOENT);
	assert_int_equal(vfo_loop_update_timer(l, 0, 5), -ENOENT);
	assert_int_equal(vfo_loop_remove_timer(l, -3), -ENOENT);
	w = vfo_loop_add_fd(l, "p", p[0], VFO_EV_IN, fd_cb, &r, NULL);
	t = vfo_loop_add_timer(l, "t", -1, 0, timer_cb, &r, NULL);
	assert_true(w > 0);
	assert_true(t > 0);
	assert_int_not_equal(w, t);
	/* A handle id is not a timer id and vice versa. */
	assert_int_equal(vfo_loop_remove_timer(l, w), -ENOENT);
	assert_int_equal(vfo_loop_remove_fd(l, t), -ENOENT);
	assert_int_equal(vfo_loop_update_fd(l, w, 0x20), -EINVAL);
	assert_int_equal(vfo_loop_update_timer(l, t, -5), -EINVAL);
	assert_int_equal(vfo_loop_remove_fd(l, w), 0);
	assert_int_equal(vfo_loop_remove_fd(l, w), -ENOENT);
	assert_int_equal(vfo_loop_update_fd(l, w, VFO_EV_IN), -ENOENT);
	assert_int_equal(vfo_loop_remove_timer(l, t), 0);
	assert_int_equal(vfo_loop_remove_timer(l, t), -ENOENT);
	assert_int_equal(vfo_loop_update_timer(l, t, 1), -ENOENT);
	close(p[0]);
	close(p[1]);
}

static void test_bad_fds(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], fd, w;

	assert_int_equal(vfo_loop_add_fd(l, "neg", -1, VFO_EV_IN, fd_cb, &r, NULL), -EBADF);
	mkpipe(p);
	close(p[0]);
	close(p[1]);
	/* Enabled: epoll_ctl says EBADF; disabled: the fcntl check does. */
	assert_int_equal(vfo_loop_add_fd(l, "closed", p[0], VFO_EV_IN, fd_cb, &r, NULL), -EBADF);
	assert_int_equal(vfo_loop_add_fd(l, "closed", p[0], 0, fd_cb, &r, NULL), -EBADF);
	/* epoll refuses regular files. */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vfo_loop_add_fd(l, "file", fd, VFO_EV_IN, fd_cb, &r, NULL), -EPERM);
	close(fd);
	/* Enabling a disabled watch whose fd was closed meanwhile fails and
	 * leaves the watch disabled. */
	mkpipe(p);
	w = vfo_loop_add_fd(l, "later", p[0], 0, fd_cb, &r, NULL);
	assert_true(w > 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(vfo_loop_update_fd(l, w, VFO_EV_IN), -EBADF);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	/* Removing a watch whose fd is already closed still works. */
	assert_int_equal(vfo_loop_remove_fd(l, w), 0);
	assert_int_equal(r.calls, 0);
}

/* ---- fd watches ----------------------------------------------------------- */

static void test_fd_readable(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w;

	mkpipe(p);
	w = vfo_loop_add_fd(l, "pipe-rd", p[0], VFO_EV_IN, fd_cb, &r, count_free);
	assert_true(w > 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.calls, 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.id, w);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.events, VFO_EV_IN);
	assert_ptr_equal(r.l, l);
	/* Drained by the callback: quiet again. */
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.calls, 1);
	/* Hang-up is reported although only IN was asked for. */
	close(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_true(r.events & VFO_EV_HUP);
	assert_int_equal(vfo_loop_remove_fd(l, w), 0);
	close(p[0]);
}

static void test_fd_writable(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w;

	mkpipe(p);
	w = vfo_loop_add_fd(l, "pipe-wr", p[1], VFO_EV_OUT, fd_cb, &r, NULL);
	assert_true(w > 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.events, VFO_EV_OUT);
	assert_int_equal(r.fd, p[1]);
	/* Reader gone: the write end reports an error. */
	close(p[0]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_true(r.events & VFO_EV_ERR);
	assert_int_equal(vfo_loop_remove_fd(l, w), 0);
	close(p[1]);
}

static void test_fd_disable_enable(void **state)
{
	struct vfo_loop *l = *state;
	struct vfo_loop_stats before, after;
	struct rec r = { 0 };
	int p[2], w;

	mkpipe(p);
	w = vfo_loop_add_fd(l, "dis", p[0], 0, fd_cb, &r, NULL);
	assert_true(w > 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(vfo_loop_update_fd(l, w, VFO_EV_IN), 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(vfo_loop_update_fd(l, w, 0), 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	/* A disabled watch on a hung-up fd must not spin the loop either:
	 * the epoll_wait times out instead of reporting EPOLLHUP. */
	close(p[1]);
	vfo_loop_get_stats(l, &before);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	vfo_loop_get_stats(l, &after);
	assert_int_equal(after.wakeups, before.wakeups);
	assert_int_equal(r.calls, 1);
	assert_int_equal(vfo_loop_update_fd(l, w, VFO_EV_IN), 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.events, VFO_EV_IN | VFO_EV_HUP);
	close(p[0]);
}

/* libvirt watches one fd twice (read and write): both must work, each
 * getting only what it asked for, and each removable on its own. */
static void test_fd_same_fd_twice(void **state)
{
	struct vfo_loop *l = *state;
	struct rec rin = { 0 }, rout = { 0 }, r3 = { 0 };
	int sv[2], win, wout, w3;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	win = vfo_loop_add_fd(l, "sock-in", sv[0], VFO_EV_IN, fd_cb, &rin, count_free);
	wout = vfo_loop_add_fd(l, "sock-out", sv[0], VFO_EV_OUT, fd_cb, &rout, count_free);
	assert_true(win > 0 && wout > 0 && win != wout);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(rout.calls, 1);
	assert_int_equal(rout.events, VFO_EV_OUT);
	assert_int_equal(rin.calls, 0);
	poke(sv[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 2);
	assert_int_equal(rin.calls, 1);
	assert_int_equal(rin.events, VFO_EV_IN);
	assert_int_equal(rout.calls, 2);
	assert_int_equal(rout.events, VFO_EV_OUT);
	/* Disable the writer: only the reader remains. */
	assert_int_equal(vfo_loop_update_fd(l, wout, 0), 0);
	poke(sv[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(rin.calls, 2);
	assert_int_equal(rout.calls, 2);
	/* Remove the reader; re-enable the writer, which still works. */
	assert_int_equal(vfo_loop_remove_fd(l, win), 0);
	poke(sv[1]);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(vfo_loop_update_fd(l, wout, VFO_EV_OUT), 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(rout.calls, 3);
	assert_int_equal(rin.calls, 2);
	assert_int_equal(frees, 1);
	/* Last watch gone: the fd leaves epoll, so adding it again works. */
	assert_int_equal(vfo_loop_remove_fd(l, wout), 0);
	w3 = vfo_loop_add_fd(l, "again", sv[0], VFO_EV_IN, fd_cb, &r3, NULL);
	assert_true(w3 > 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r3.calls, 1);
	assert_int_equal(frees, 2);
	close(sv[0]);
	close(sv[1]);
}

static void test_fd_remove_self(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { .remove_self = true };
	int p[2], w;

	mkpipe(p);
	w = vfo_loop_add_fd(l, "self", p[0], VFO_EV_IN, fd_cb, &r, count_free);
	assert_true(w > 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	/* Freed once the iteration ended, not inside the remove. */
	assert_int_equal(frees, 1);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(vfo_loop_remove_fd(l, w), -ENOENT);
	close(p[0]);
	close(p[1]);
}

/* Two fds ready in the same epoll batch; whichever is dispatched first
 * removes the other, closes its fd and opens a new pipe that most likely
 * gets the same fd number. The stale event must reach nobody. */
static void test_fd_remove_other_pending(void **state)
{
	struct vfo_loop *l = *state;
	struct rec log = { 0 };
	struct rec a = { .log = &log }, b = { .log = &log }, c = { 0 };
	int pa[2], pb[2], pc[2], wa, wb, wc, first;

	mkpipe(pa);
	mkpipe(pb);
	wa = vfo_loop_add_fd(l, "a", pa[0], VFO_EV_IN, fd_cb, &a, count_free);
	wb = vfo_loop_add_fd(l, "b", pb[0], VFO_EV_IN, fd_cb, &b, count_free);
	a.remove_id = wb;
	b.remove_id = wa;
	poke(pa[1]);
	poke(pb[1]);
	/* Let both be ready before the loop looks. */
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(log.nlog, 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(frees, 1);
	first = log.order[0];
	/* The survivor's remove_id is spent; reuse the loser's fd number. */
	if (first == wa) {
		close(pb[0]);
		close(pb[1]);
		mkpipe(pc);
	} else {
		close(pa[0]);
		close(pa[1]);
		mkpipe(pc);
	}
	wc = vfo_loop_add_fd(l, "c", pc[0], VFO_EV_IN, fd_cb, &c, NULL);
	assert_true(wc > 0);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(vfo_loop_remove_fd(l, first), 0);
	assert_int_equal(vfo_loop_remove_fd(l, wc), 0);
	close(pc[0]);
	close(pc[1]);
	if (first == wa) {
		close(pa[0]);
		close(pa[1]);
	} else {
		close(pb[0]);
		close(pb[1]);
	}
}

/* Two watches on one fd, both due in this batch: the first dispatched
 * removes the second, which must then not be called. */
static void test_fd_remove_sibling_same_fd(void **state)
{
	struct vfo_loop *l = *state;
	struct rec log = { 0 };
	struct rec a = { .log = &log }, b = { .log = &log };
	int p[2], wa, wb;

	mkpipe(p);
	wa = vfo_loop_add_fd(l, "a", p[0], VFO_EV_IN, fd_cb, &a, count_free);
	wb = vfo_loop_add_fd(l, "b", p[0], VFO_EV_IN, fd_cb, &b, count_free);
	assert_true(wa > 0 && wb > 0);
	a.remove_id = wb;
	b.remove_id = wa;
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(log.nlog, 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(frees, 1);
	/* The survivor still works on the shared registration. */
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(log.nlog, 2);
	assert_int_equal(log.order[1], log.order[0]);
	close(p[0]);
	close(p[1]);
}

struct adder {
	int calls;
	int added;
	struct rec r;
};

static void add_from_cb(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct adder *ad = opaque;
	char c;

	(void)id;
	(void)events;
	ad->calls++;
	assert_int_equal(read(fd, &c, 1), 1);
	if (!ad->added) {
		/* Same fd, whose event is being dispatched right now. */
		ad->added = vfo_loop_add_fd(l, "added", fd, VFO_EV_IN, fd_cb, &ad->r, NULL);
		assert_true(ad->added > 0);
	}
	/* Re-entering the loop from a callback is refused. */
	assert_int_equal(vfo_loop_run_once(l, 0), -EBUSY);
}

/* A watch added by a callback is not dispatched in the same iteration even
 * though its fd is ready (and its event is in the batch being dispatched),
 * and is dispatched in the next. */
static void test_fd_add_from_cb(void **state)
{
	struct vfo_loop *l = *state;
	struct adder ad = { 0 };
	int p[2], w;

	mkpipe(p);
	w = vfo_loop_add_fd(l, "adder", p[0], VFO_EV_IN, add_from_cb, &ad, NULL);
	assert_true(w > 0);
	assert_int_equal(write(p[1], "xy", 2), 2);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(ad.calls, 1);
	assert_true(ad.added > 0);
	assert_int_equal(ad.r.calls, 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 2);
	assert_int_equal(ad.calls, 2);
	assert_int_equal(ad.r.calls, 1);
	assert_int_equal(ad.r.id, ad.added);
	close(p[0]);
	close(p[1]);
}

static void test_deferred_free(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w, t;

	mkpipe(p);
	w = vfo_loop_add_fd(l, "df", p[0], VFO_EV_IN, fd_cb, &r, count_free);
	t = vfo_loop_add_timer(l, "dt", -1, 0, timer_cb, &r, count_free);
	inside_remove = true;
	assert_int_equal(vfo_loop_remove_fd(l, w), 0);
	assert_int_equal(vfo_loop_remove_timer(l, t), 0);
	inside_remove = false;
	assert_int_equal(frees, 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(frees, 2);
	/* Entries still registered at vfo_loop_free() get their callback too. */
	t = vfo_loop_add_timer(l, "left", 1000, 0, timer_cb, &r, count_free);
	assert_true(t > 0);
	w = vfo_loop_add_fd(l, "left", p[0], VFO_EV_IN, fd_cb, &r, count_free);
	assert_true(w > 0);
	/* NULL free callbacks are fine. */
	assert_true(vfo_loop_add_timer(l, "noff", 1000, 0, timer_cb, &r, NULL) > 0);
	vfo_loop_free(l);
	assert_int_equal(frees, 4);
	assert_int_equal(r.calls, 0);
	assert_int_equal(vfo_loop_new((struct vfo_loop **)state), 0);
	close(p[0]);
	close(p[1]);
}

/* ---- timers --------------------------------------------------------------- */

static void run_until(struct vfo_loop *l, const int *calls, int want, int64_t max_ms)
{
	int64_t end = vfo_now_ms() + max_ms;

	while (*calls < want && vfo_now_ms() < end)
		assert_true(vfo_loop_run_once(l, 100) >= 0);
}

static void test_timer_oneshot(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int64_t t0 = vfo_now_us();
	int t;

	t = vfo_loop_add_timer(l, "once", 20, VFO_TIMER_ONESHOT, timer_cb, &r, count_free);
	assert_true(t > 0);
	run_until(l, &r.calls, 1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.id, t);
	assert_true(vfo_now_us() - t0 >= 20000);
	/* Disarmed after firing, but still registered. */
	assert_int_equal(vfo_loop_run_once(l, 50), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(frees, 0);
	/* Re-armed through update. */
	t0 = vfo_now_us();
	assert_int_equal(vfo_loop_update_timer(l, t, 10), 0);
	run_until(l, &r.calls, 2, 2000);
	assert_int_equal(r.calls, 2);
	assert_true(vfo_now_us() - t0 >= 10000);
	assert_int_equal(vfo_loop_run_once(l, 30), 0);
	assert_int_equal(vfo_loop_remove_timer(l, t), 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(frees, 1);
}

static void test_timer_periodic(void **state)
{
	struct vfo_loop *l = *state;
	struct vfo_loop_stats st;
	struct rec r = { 0 };
	int64_t t0 = vfo_now_us();
	int t;

	t = vfo_loop_add_timer(l, "tick", 10, 0, timer_cb, &r, NULL);
	assert_true(t > 0);
	run_until(l, &r.calls, 5, 3000);
	assert_int_equal(r.calls, 5);
	assert_true(vfo_now_us() - t0 >= 50000);
	vfo_loop_get_stats(l, &st);
	assert_int_equal(st.timer_dispatches, 5);
	/* Woken by the timerfd (not by an epoll_wait timeout: run_until
	 * waits 100 ms per iteration, far longer than the period). */
	assert_true(st.timerfd_arms >= 1);
	assert_true(st.wakeups >= 1);
	assert_int_equal(vfo_loop_remove_timer(l, t), 0);
}

/* Several timers due in the same pass fire earliest first, once each. The
 * 40 ms gaps keep the expected order even if the test is descheduled
 * between two adds (seen with 10 ms gaps under valgrind on a loaded host). */
static void test_timer_order(void **state)
{
	struct vfo_loop *l = *state;
	struct rec log = { 0 };
	struct rec a = { .log = &log }, b = { .log = &log }, c = { .log = &log };
	int ta, tb, tc;

	ta = vfo_loop_add_timer(l, "120ms", 120, 0, timer_cb, &a, NULL);
	tb = vfo_loop_add_timer(l, "40ms", 40, 0, timer_cb, &b, NULL);
	tc = vfo_loop_add_timer(l, "80ms", 80, 0, timer_cb, &c, NULL);
	usleep(130000);
	assert_int_equal(vfo_loop_run_once(l, 0), 3);
	assert_int_equal(log.nlog, 3);
	assert_int_equal(log.order[0], tb);
	assert_int_equal(log.order[1], tc);
	assert_int_equal(log.order[2], ta);
	assert_int_equal(vfo_loop_remove_timer(l, ta), 0);
	assert_int_equal(vfo_loop_remove_timer(l, tb), 0);
	assert_int_equal(vfo_loop_remove_timer(l, tc), 0);
	/* And one per wake-up when the loop sleeps until each is due. */
	log.nlog = 0;
	ta = vfo_loop_add_timer(l, "120ms", 120, VFO_TIMER_ONESHOT, timer_cb, &a, NULL);
	tb = vfo_loop_add_timer(l, "40ms", 40, VFO_TIMER_ONESHOT, timer_cb, &b, NULL);
	tc = vfo_loop_add_timer(l, "80ms", 80, VFO_TIMER_ONESHOT, timer_cb, &c, NULL);
	run_until(l, &log.nlog, 3, 3000);
	assert_int_equal(log.nlog, 3);
	assert_int_equal(log.order[0], tb);
	assert_int_equal(log.order[1], tc);
	assert_int_equal(log.order[2], ta);
}

static void test_timer_update_disable(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int t;

	t = vfo_loop_add_timer(l, "dis", -1, 0, timer_cb, &r, NULL);
	assert_true(t > 0);
	assert_int_equal(vfo_loop_run_once(l, 30), 0);
	assert_int_equal(vfo_loop_update_timer(l, t, 5), 0);
	run_until(l, &r.calls, 2, 2000);
	assert_int_equal(r.calls, 2);
	assert_int_equal(vfo_loop_update_timer(l, t, -1), 0);
	assert_int_equal(vfo_loop_run_once(l, 40), 0);
	assert_int_equal(vfo_loop_run_once(l, 0), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(vfo_loop_update_timer(l, t, 5), 0);
	run_until(l, &r.calls, 3, 2000);
	assert_int_equal(r.calls, 3);
}

/* interval 0: once per iteration, without waiting, never twice per pass. */
static void test_timer_zero(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int64_t t0 = vfo_now_ms();
	int t;

	t = vfo_loop_add_timer(l, "asap", 0, 0, timer_cb, &r, NULL);
	assert_true(t > 0);
	for (int i = 1; i <= 10; i++) {
		assert_int_equal(vfo_loop_run_once(l, 5000), 1);
		assert_int_equal(r.calls, i);
	}
	assert_true(vfo_now_ms() - t0 < 2000);
	/* One-shot with 0 ms: exactly one more call. */
	assert_int_equal(vfo_loop_remove_timer(l, t), 0);
	t = vfo_loop_add_timer(l, "asap-once", 0, VFO_TIMER_ONESHOT, timer_cb, &r, NULL);
	assert_int_equal(vfo_loop_run_once(l, 5000), 1);
	assert_int_equal(vfo_loop_run_once(l, 20), 0);
	assert_int_equal(r.calls, 11);
}

static void test_timer_remove_self_and_other(void **state)
{
	struct vfo_loop *l = *state;
	struct rec log = { 0 };
	struct rec a = { .log = &log, .remove_self = true }, b = { .log = &log };
	struct rec c = { .log = &log };
	int ta, tb, tc;

	/* ta is due first; it removes itself and tc, which is also due. */
	ta = vfo_loop_add_timer(l, "a", 5, 0, timer_cb, &a, count_free);
	tb = vfo_loop_add_timer(l, "b", 10, 0, timer_cb, &b, count_free);
	tc = vfo_loop_add_timer(l, "c", 15, 0, timer_cb, &c, count_free);
	a.remove_timer = tc;
	usleep(25000);
	assert_int_equal(vfo_loop_run_once(l, 0), 2);
	assert_int_equal(log.nlog, 2);
	assert_int_equal(log.order[0], ta);
	assert_int_equal(log.order[1], tb);
	assert_int_equal(c.calls, 0);
	assert_int_equal(frees, 2);
	assert_int_equal(vfo_loop_remove_timer(l, ta), -ENOENT);
	assert_int_equal(vfo_loop_remove_timer(l, tc), -ENOENT);
	assert_int_equal(vfo_loop_remove_timer(l, tb), 0);
}

static void add_timer_cb(struct vfo_loop *l, int id, void *opaque)
{
	struct rec *r = opaque;

	r->calls++;
	assert_int_equal(vfo_loop_remove_timer(l, id), 0);
	r->id = vfo_loop_add_timer(l, "child", 0, VFO_TIMER_ONESHOT, timer_cb, r + 1, NULL);
	assert_true(r->id > 0);
}

static void test_timer_add_from_cb(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r[2] = { 0 };

	assert_true(vfo_loop_add_timer(l, "parent", 0, 0, add_timer_cb, r, NULL) > 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].id, r[0].id);
}

/* ---- signals and stopping ------------------------------------------------ */

struct sigrec {
	int n;
	int signos[8];
};

static void sig_cb(struct vfo_loop *l, int signo, void *opaque)
{
	struct sigrec *s = opaque;

	assert_non_null(l);
	if (s->n < 8)
		s->signos[s->n++] = signo;
}

static void raise_cb(struct vfo_loop *l, int id, void *opaque)
{
	(void)l;
	(void)id;
	assert_int_equal(raise(*(int *)opaque), 0);
}

static void test_sigterm_ends_run(void **state)
{
	struct vfo_loop *l = *state;
	struct sigrec s = { 0 };
	int signo = SIGTERM;

	vfo_loop_set_signal_cb(l, sig_cb, &s);
	assert_true(vfo_loop_add_timer(l, "term", 10, VFO_TIMER_ONESHOT, raise_cb, &signo, NULL) >
		    0);
	assert_int_equal(vfo_loop_run(l), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.signos[0], SIGTERM);
	assert_false(vfo_loop_stopping(l));
	/* SIGINT does the same, raised before the loop even runs. */
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(vfo_loop_run(l), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.signos[1], SIGINT);
}

static void test_sighup_reaches_owner(void **state)
{
	struct vfo_loop *l = *state;
	struct vfo_loop_stats st;
	struct sigrec s = { 0 };

	assert_int_equal(raise(SIGHUP), 0);
	/* No callback yet: the signal is consumed, nothing happens. */
	assert_int_equal(vfo_loop_run_once(l, 1000), 0);
	vfo_loop_set_signal_cb(l, sig_cb, &s);
	assert_int_equal(raise(SIGHUP), 0);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	while (s.n < 3)
		assert_true(vfo_loop_run_once(l, 1000) >= 1);
	assert_int_equal(s.signos[0], SIGHUP);
	assert_int_equal(s.signos[1], SIGUSR1);
	assert_int_equal(s.signos[2], SIGUSR2);
	assert_false(vfo_loop_stopping(l));
	vfo_loop_get_stats(l, &st);
	assert_int_equal(st.signals, 4);
}

static void stop_cb(struct vfo_loop *l, int id, void *opaque)
{
	(void)id;
	(*(int *)opaque)++;
	vfo_loop_stop(l);
	assert_true(vfo_loop_stopping(l));
}

static void test_stop_from_cb(void **state)
{
	struct vfo_loop *l = *state;
	int calls = 0;

	assert_true(vfo_loop_add_timer(l, "stop", 5, 0, stop_cb, &calls, NULL) > 0);
	assert_int_equal(vfo_loop_run(l), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(vfo_loop_run(l), 0);
	assert_int_equal(calls, 2);
}

static bool sig_blocked(int signo)
{
	sigset_t cur;

	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, signo) == 1;
}

/* No fixture: checks the mask around new/free. */
static void test_sigmask_restored(void **state)
{
	struct vfo_loop *l = NULL;

	(void)state;
	assert_false(sig_blocked(SIGTERM));
	assert_false(sig_blocked(SIGHUP));
	assert_int_equal(vfo_loop_new(&l), 0);
	assert_true(sig_blocked(SIGTERM));
	assert_true(sig_blocked(SIGINT));
	assert_true(sig_blocked(SIGHUP));
	assert_true(sig_blocked(SIGUSR1));
	assert_true(sig_blocked(SIGUSR2));
	/* A signal left pending at free is consumed, not fatal. */
	assert_int_equal(raise(SIGTERM), 0);
	vfo_loop_free(l);
	assert_false(sig_blocked(SIGTERM));
	assert_false(sig_blocked(SIGUSR2));
}

/* ---- failure injection ---------------------------------------------------- */

static void test_new_failures(void **state)
{
	struct vfo_loop *l = NULL;
	int fds = count_fds();

	(void)state;
	fail_calloc_at = 1;
	assert_int_equal(vfo_loop_new(&l), -ENOMEM);
	fail_epoll = 1;
	assert_int_equal(vfo_loop_new(&l), -EMFILE);
	fail_timerfd = 1;
	assert_int_equal(vfo_loop_new(&l), -EMFILE);
	fail_signalfd = 1;
	assert_int_equal(vfo_loop_new(&l), -ENODEV);
	assert_null(l);
	/* Every unwinding path closed what it opened and restored the mask. */
	assert_int_equal(count_fds(), fds);
	assert_false(sig_blocked(SIGTERM));
	assert_int_equal(vfo_loop_new(&l), 0);
	vfo_loop_free(l);
	assert_int_equal(count_fds(), fds);
}

static void test_add_enomem(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w;

	mkpipe(p);
	fail_calloc_at = 1; /* the watch */
	assert_int_equal(vfo_loop_add_fd(l, "x", p[0], VFO_EV_IN, fd_cb, &r, NULL), -ENOMEM);
	fail_calloc_at = 2; /* the per-fd registration */
	assert_int_equal(vfo_loop_add_fd(l, "x", p[0], VFO_EV_IN, fd_cb, &r, NULL), -ENOMEM);
	fail_calloc_at = 1;
	assert_int_equal(vfo_loop_add_timer(l, "t", 1, 0, timer_cb, &r, NULL), -ENOMEM);
	/* Nothing half-registered: the fd is still free to be added. */
	w = vfo_loop_add_fd(l, "x", p[0], VFO_EV_IN, fd_cb, &r, NULL);
	assert_true(w > 0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 1);
	close(p[0]);
	close(p[1]);
}

/* ---- logging ---------------------------------------------------------------- */

static char logbuf[8192];

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	size_t n = strlen(logbuf);

	(void)level;
	(void)opaque;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s: %s\n", comp, msg);
}

static void test_debug_log_names(void **state)
{
	struct vfo_loop *l = *state;
	struct rec r = { 0 };
	int p[2], w;

	logbuf[0] = 0;
	vfo_log_set_sink(sink, NULL);
	vfo_log_set_level(VFO_LOG_DEBUG);
	mkpipe(p);
	w = vfo_loop_add_fd(l, "ctl-socket", p[0], VFO_EV_IN, fd_cb, &r, NULL);
	assert_true(vfo_loop_add_timer(l, "watchdog", 0, VFO_TIMER_ONESHOT, timer_cb, &r, NULL) >
		    0);
	poke(p[1]);
	assert_int_equal(vfo_loop_run_once(l, 1000), 2);
	assert_int_equal(vfo_loop_remove_fd(l, w), 0);
	vfo_log_set_level(VFO_LOG_INFO);
	vfo_log_set_sink(NULL, NULL);
	assert_non_null(strstr(logbuf, "loop: fd watch 1 'ctl-socket'"));
	assert_non_null(strstr(logbuf, "'watchdog' fired"));
	assert_non_null(strstr(logbuf, "'ctl-socket' removed"));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_null_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_disable_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_same_fd_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_remove_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_remove_other_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_remove_sibling_same_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_add_from_cb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_oneshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_update_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_remove_self_and_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_add_from_cb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_ends_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sighup_reaches_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_from_cb, setup, teardown),
		cmocka_unit_test(test_sigmask_restored),
		cmocka_unit_test(test_new_failures),
		cmocka_unit_test_setup_teardown(test_add_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_log_names, setup, teardown),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
