// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * epoll + one timerfd + signalfd. See loop.h for the contract.
 *
 * Lists are short (a daemon has tens of watches and timers), so they are
 * plain singly linked lists searched linearly; that keeps mutation from
 * callbacks simple: nothing is unlinked while a dispatch may be walking a
 * list, entries are only marked dead and reaped when the iteration ends.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <fcntl.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define COMP "loop"
#define NAME_LEN 32
#define MAX_EVENTS 32

/* epoll data carries a serial, not a pointer: an fd closed before its watch
 * is removed may stay in the epoll set (when another descriptor still refers
 * to the open file), and its events must then find nothing, not freed memory. */
enum { SERIAL_TIMERFD = 1, SERIAL_SIGNALFD = 2, SERIAL_FIRST_FD = 3 };

/* One epoll registration per fd; the watches on that fd share it and its
 * mask is the union of theirs (epoll refuses a second EPOLL_CTL_ADD, and
 * libvirt watches one fd twice, for reading and for writing). */
struct fdreg {
	struct fdreg *next;
	uint64_t serial;
	int fd;
	uint32_t mask; /* registered epoll mask; 0: not in the epoll set */
	int nwatches; /* live watches */
	bool dead;
};

struct watch {
	struct watch *next;
	struct fdreg *reg;
	int id;
	int fd;
	unsigned int events;
	bool dead;
	uint64_t born; /* iteration that added it during dispatch, else 0 */
	vfo_fd_cb cb;
	void *opaque;
	vfo_free_cb ff;
	char name[NAME_LEN];
};

struct timer {
	struct timer *next;
	int id;
	int interval_ms; /* -1: disabled */
	unsigned int flags;
	bool dead;
	uint64_t born;
	uint64_t fired; /* iteration in which it last fired */
	int64_t expiry_us;
	vfo_timer_cb cb;
	void *opaque;
	vfo_free_cb ff;
	char name[NAME_LEN];
};

struct vfo_loop {
	int epfd;
	int tfd;
	int sfd;
	sigset_t sigs;
	sigset_t oldmask;
	int64_t armed_us; /* timerfd expiry, 0: disarmed */
	struct fdreg *regs;
	struct watch *watches;
	struct timer *timers;
	uint64_t next_serial;
	int next_id;
	uint64_t iter;
	bool dispatching;
	bool stop;
	bool need_reap;
	vfo_signal_cb sig_cb;
	void *sig_opaque;
	struct vfo_loop_stats st;
};

static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };

static uint32_t ev_to_epoll(unsigned int ev)
{
	return ((ev & VFO_EV_IN) ? EPOLLIN : 0) | ((ev & VFO_EV_OUT) ? EPOLLOUT : 0);
}

static unsigned int epoll_to_ev(uint32_t e)
{
	return ((e & EPOLLIN) ? VFO_EV_IN : 0) | ((e & EPOLLOUT) ? VFO_EV_OUT : 0) |
	       ((e & EPOLLERR) ? VFO_EV_ERR : 0) | ((e & EPOLLHUP) ? VFO_EV_HUP : 0);
}

static void set_name(char *dst, const char *name)
{
	snprintf(dst, NAME_LEN, "%s", name);
}

static bool id_in_use(const struct vfo_loop *l, int id)
{
	for (const struct watch *w = l->watches; w; w = w->next)
		if (w->id == id && !w->dead)
			return true;
	for (const struct timer *t = l->timers; t; t = t->next)
		if (t->id == id && !t->dead)
			return true;
	return false;
}

/* Ids grow monotonically so a stale id held by libvirt after a removal does
 * not name a new entry; on wrap-around, skip ids still in use. */
static int alloc_id(struct vfo_loop *l)
{
	do {
		if (l->next_id <= 0 || l->next_id == INT_MAX)
			l->next_id = 1;
		else
			l->next_id++;
	} while (id_in_use(l, l->next_id));
	return l->next_id;
}

static uint64_t born_now(const struct vfo_loop *l)
{
	return l->dispatching ? l->iter : 0;
}

static struct watch *find_watch(struct vfo_loop *l, int id)
{
	for (struct watch *w = l->watches; w; w = w->next)
		if (w->id == id && !w->dead)
			return w;
	return NULL;
}

static struct timer *find_timer(struct vfo_loop *l, int id)
{
	for (struct timer *t = l->timers; t; t = t->next)
		if (t->id == id && !t->dead)
			return t;
	return NULL;
}

static struct fdreg *find_reg_fd(struct vfo_loop *l, int fd)
{
	for (struct fdreg *r = l->regs; r; r = r->next)
		if (r->fd == fd && !r->dead)
			return r;
	return NULL;
}

static struct fdreg *find_reg_serial(struct vfo_loop *l, uint64_t serial)
{
	for (struct fdreg *r = l->regs; r; r = r->next)
		if (r->serial == serial)
			return r->dead ? NULL : r;
	return NULL;
}

static uint32_t reg_want(const struct vfo_loop *l, const struct fdreg *reg)
{
	uint32_t mask = 0;

	for (const struct watch *w = l->watches; w; w = w->next)
		if (w->reg == reg && !w->dead)
			mask |= ev_to_epoll(w->events);
	return mask;
}

/* Bring the epoll set in line with want. With mask 0 the fd leaves the set
 * entirely: epoll always reports EPOLLHUP/EPOLLERR, and a disabled watch on
 * a hung-up fd would otherwise spin the loop. */
static int reg_apply(struct vfo_loop *l, struct fdreg *reg, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.u64 = reg->serial };
	int op;

	if (want == reg->mask)
		return 0;
	if (!reg->mask)
		op = EPOLL_CTL_ADD;
	else if (!want)
		op = EPOLL_CTL_DEL;
	else
		op = EPOLL_CTL_MOD;
	if (epoll_ctl(l->epfd, op, reg->fd, &ev) < 0) {
		int err = -errno;

		/* Gone from the set anyway: the fd was closed before removal. */
		if (op == EPOLL_CTL_DEL)
			reg->mask = 0;
		vfo_dbg(COMP, "epoll_ctl(%d, fd %d, 0x%x): %s", op, reg->fd, want, strerror(-err));
		return err;
	}
	reg->mask = want;
	return 0;
}

static void link_watch(struct vfo_loop *l, struct watch *w)
{
	struct watch **pp = &l->watches;

	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
}

static void link_timer(struct vfo_loop *l, struct timer *t)
{
	struct timer **pp = &l->timers;

	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
}

int vfo_loop_add_fd(struct vfo_loop *l, const char *name, int fd, unsigned int events, vfo_fd_cb cb,
		    void *opaque, vfo_free_cb ff)
{
	unsigned int all = VFO_EV_IN | VFO_EV_OUT | VFO_EV_ERR | VFO_EV_HUP;
	struct fdreg *reg, *newreg = NULL;
	struct watch *w;
	int r;

	if (!l || !name || !cb || (events & ~all))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	reg = find_reg_fd(l, fd);
	if (!reg) {
		/* A disabled watch does not reach epoll_ctl: check the fd here. */
		if (!ev_to_epoll(events) && fcntl(fd, F_GETFD) < 0) {
			r = -errno;
			goto err_watch;
		}
		newreg = calloc(1, sizeof(*newreg));
		if (!newreg) {
			r = -ENOMEM;
			goto err_watch;
		}
		newreg->fd = fd;
		newreg->serial = l->next_serial++;
		reg = newreg;
	}
	r = reg_apply(l, reg, reg_want(l, reg) | ev_to_epoll(events));
	if (r < 0)
		goto err_reg;
	if (newreg) {
		newreg->next = l->regs;
		l->regs = newreg;
	}
	reg->nwatches++;
	w->reg = reg;
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->opaque = opaque;
	w->ff = ff;
	w->born = born_now(l);
	w->id = alloc_id(l);
	set_name(w->name, name);
	link_watch(l, w);
	vfo_dbg(COMP, "fd watch %d '%s' fd %d events 0x%x added", w->id, w->name, fd, events);
	return w->id;

err_reg:
	free(newreg);
err_watch:
	free(w);
	vfo_dbg(COMP, "fd watch '%s' fd %d: %s", name, fd, strerror(-r));
	return r;
}

int vfo_loop_update_fd(struct vfo_loop *l, int id, unsigned int events)
{
	unsigned int all = VFO_EV_IN | VFO_EV_OUT | VFO_EV_ERR | VFO_EV_HUP;
	unsigned int old;
	struct watch *w;
	int r;

	if (!l || (events & ~all))
		return -EINVAL;
	w = find_watch(l, id);
	if (!w)
		return -ENOENT;
	old = w->events;
	w->events = events;
	r = reg_apply(l, w->reg, reg_want(l, w->reg));
	if (r < 0) {
		w->events = old;
		return r;
	}
	vfo_dbg(COMP, "fd watch %d '%s' events 0x%x -> 0x%x", id, w->name, old, events);
	return 0;
}

int vfo_loop_remove_fd(struct vfo_loop *l, int id)
{
	struct watch *w;

	if (!l)
		return -EINVAL;
	w = find_watch(l, id);
	if (!w)
		return -ENOENT;
	w->dead = true;
	l->need_reap = true;
	/* The kernel side changes now, so the caller may close the fd right
	 * after this returns; only memory and the free callback wait. */
	reg_apply(l, w->reg, reg_want(l, w->reg));
	if (--w->reg->nwatches == 0)
		w->reg->dead = true;
	vfo_dbg(COMP, "fd watch %d '%s' removed", id, w->name);
	return 0;
}

int vfo_loop_add_timer(struct vfo_loop *l, const char *name, int interval_ms, unsigned int flags,
		       vfo_timer_cb cb, void *opaque, vfo_free_cb ff)
{
	struct timer *t;

	if (!l || !name || !cb || interval_ms < -1 || (flags & ~VFO_TIMER_ONESHOT))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->interval_ms = interval_ms;
	t->flags = flags;
	t->expiry_us = vfo_now_us() + (int64_t)(interval_ms > 0 ? interval_ms : 0) * 1000;
	t->cb = cb;
	t->opaque = opaque;
	t->ff = ff;
	t->born = born_now(l);
	t->id = alloc_id(l);
	set_name(t->name, name);
	link_timer(l, t);
	vfo_dbg(COMP, "timer %d '%s' added, interval %d ms%s", t->id, t->name, interval_ms,
		(flags & VFO_TIMER_ONESHOT) ? " (one-shot)" : "");
	return t->id;
}

int vfo_loop_update_timer(struct vfo_loop *l, int id, int interval_ms)
{
	struct timer *t;

	if (!l || interval_ms < -1)
		return -EINVAL;
	t = find_timer(l, id);
	if (!t)
		return -ENOENT;
	t->interval_ms = interval_ms;
	if (interval_ms >= 0)
		t->expiry_us = vfo_now_us() + (int64_t)interval_ms * 1000;
	vfo_dbg(COMP, "timer %d '%s' interval %d ms", id, t->name, interval_ms);
	return 0;
}

int vfo_loop_remove_timer(struct vfo_loop *l, int id)
{
	struct timer *t;

	if (!l)
		return -EINVAL;
	t = find_timer(l, id);
	if (!t)
		return -ENOENT;
	t->dead = true;
	l->need_reap = true;
	vfo_dbg(COMP, "timer %d '%s' removed", id, t->name);
	return 0;
}

void vfo_loop_set_signal_cb(struct vfo_loop *l, vfo_signal_cb cb, void *opaque)
{
	if (!l)
		return;
	l->sig_cb = cb;
	l->sig_opaque = opaque;
}

void vfo_loop_get_stats(const struct vfo_loop *l, struct vfo_loop_stats *st)
{
	if (l && st)
		*st = l->st;
}

void vfo_loop_stop(struct vfo_loop *l)
{
	if (l)
		l->stop = true;
}

bool vfo_loop_stopping(const struct vfo_loop *l)
{
	return l && l->stop;
}

/* Unlink dead entries and run their free callbacks; all = true frees
 * everything (vfo_loop_free). Free callbacks may call back into the loop
 * (add or remove), so every list is walked again after each callback. */
static void reap(struct vfo_loop *l, bool all)
{
	bool again = true;

	while (again) {
		again = false;
		for (struct watch **pp = &l->watches; *pp; pp = &(*pp)->next) {
			struct watch *w = *pp;

			if (!w->dead && !all)
				continue;
			*pp = w->next;
			if (w->ff)
				w->ff(w->opaque);
			free(w);
			again = true;
			break;
		}
		if (again)
			continue;
		for (struct timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
			struct timer *t = *pp;

			if (!t->dead && !all)
				continue;
			*pp = t->next;
			if (t->ff)
				t->ff(t->opaque);
			free(t);
			again = true;
			break;
		}
	}
	for (struct fdreg **pp = &l->regs; *pp;) {
		struct fdreg *r = *pp;

		if (r->dead || all) {
			*pp = r->next;
			free(r);
		} else {
			pp = &r->next;
		}
	}
	l->need_reap = false;
}

static int timerfd_arm(struct vfo_loop *l, int64_t at_us)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = at_us / 1000000;
	its.it_value.tv_nsec = (at_us % 1000000) * 1000;
	l->st.timerfd_arms++;
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	l->armed_us = at_us;
	return 0;
}

/* Arm the timerfd to the earliest enabled timer and set the epoll_wait
 * timeout: 0 when a timer is already due (a 0 ms timeout every iteration). */
static int prepare_wait(struct vfo_loop *l, int max_wait_ms, int *timeout)
{
	int64_t next = INT64_MAX;

	*timeout = max_wait_ms;
	for (struct timer *t = l->timers; t; t = t->next)
		if (!t->dead && t->interval_ms >= 0 && t->expiry_us < next)
			next = t->expiry_us;
	if (next == INT64_MAX)
		return l->armed_us ? timerfd_arm(l, 0) : 0;
	if (next <= vfo_now_us()) {
		*timeout = 0;
		return 0;
	}
	return next != l->armed_us ? timerfd_arm(l, next) : 0;
}

static int dispatch_fd(struct vfo_loop *l, const struct epoll_event *ev)
{
	struct fdreg *reg = find_reg_serial(l, ev->data.u64);
	unsigned int got = epoll_to_ev(ev->events);
	int n = 0;

	/* Removed earlier in this batch, or a stale registration. */
	if (!reg)
		return 0;
	for (struct watch *w = l->watches; w; w = w->next) {
		unsigned int rev;

		if (w->reg != reg || w->dead || w->born == l->iter || !w->events)
			continue;
		rev = got & (w->events | VFO_EV_ERR | VFO_EV_HUP);
		if (!rev)
			continue;
		vfo_dbg(COMP, "fd watch %d '%s' fd %d events 0x%x", w->id, w->name, w->fd, rev);
		l->st.fd_dispatches++;
		n++;
		w->cb(l, w->id, w->fd, rev, w->opaque);
	}
	return n;
}

static struct timer *next_due(struct vfo_loop *l, int64_t now)
{
	struct timer *best = NULL;

	for (struct timer *t = l->timers; t; t = t->next) {
		if (t->dead || t->interval_ms < 0 || t->born == l->iter || t->fired == l->iter)
			continue;
		if (t->expiry_us <= now && (!best || t->expiry_us < best->expiry_us))
			best = t;
	}
	return best;
}

/* Fire due timers earliest first, each at most once per iteration. The next
 * one is searched afresh after every callback, since callbacks may add,
 * update or remove timers. */
static int dispatch_timers(struct vfo_loop *l)
{
	int64_t now = vfo_now_us();
	struct timer *t;
	int n = 0;

	while ((t = next_due(l, now))) {
		t->fired = l->iter;
		if (t->flags & VFO_TIMER_ONESHOT) {
			t->interval_ms = -1;
		} else if (t->interval_ms == 0) {
			t->expiry_us = now;
		} else {
			/* Keep the period's phase; after a stall skip the missed
			 * periods instead of firing a burst. */
			t->expiry_us += (int64_t)t->interval_ms * 1000;
			if (t->expiry_us <= now)
				t->expiry_us = now + (int64_t)t->interval_ms * 1000;
		}
		vfo_dbg(COMP, "timer %d '%s' fired", t->id, t->name);
		l->st.timer_dispatches++;
		n++;
		t->cb(l, t->id, t->opaque);
	}
	return n;
}

static void drain_timerfd(struct vfo_loop *l)
{
	uint64_t expirations;

	while (read(l->tfd, &expirations, sizeof(expirations)) > 0)
		;
	l->armed_us = 0;
}

static const char *sig_name(int signo)
{
	switch (signo) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGUSR1:
		return "SIGUSR1";
	case SIGUSR2:
		return "SIGUSR2";
	default:
		return "signal";
	}
}

static int dispatch_signals(struct vfo_loop *l, bool call)
{
	struct signalfd_siginfo si;
	int n = 0;

	while (read(l->sfd, &si, sizeof(si)) == sizeof(si)) {
		int signo = (int)si.ssi_signo;

		l->st.signals++;
		if (signo == SIGTERM || signo == SIGINT) {
			vfo_notice(COMP, "%s received, stopping", sig_name(signo));
			l->stop = true;
		} else {
			vfo_dbg(COMP, "%s received", sig_name(signo));
		}
		if (call && l->sig_cb) {
			n++;
			l->sig_cb(l, signo, l->sig_opaque);
		}
	}
	return n;
}

int vfo_loop_run_once(struct vfo_loop *l, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int timeout, nev, r, n = 0;

	if (!l || max_wait_ms < -1)
		return -EINVAL;
	if (l->dispatching)
		return -EBUSY;
	l->iter++;
	l->st.iterations++;
	r = prepare_wait(l, max_wait_ms, &timeout);
	if (r < 0)
		return r;
	nev = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
	if (nev < 0) {
		if (errno != EINTR)
			return -errno;
		nev = 0;
	}
	if (nev > 0)
		l->st.wakeups++;
	l->dispatching = true;
	for (int i = 0; i < nev; i++) {
		if (evs[i].data.u64 == SERIAL_TIMERFD)
			drain_timerfd(l);
		else if (evs[i].data.u64 == SERIAL_SIGNALFD)
			n += dispatch_signals(l, true);
		else
			n += dispatch_fd(l, &evs[i]);
	}
	n += dispatch_timers(l);
	l->dispatching = false;
	if (l->need_reap)
		reap(l, false);
	return n;
}

int vfo_loop_run(struct vfo_loop *l)
{
	int r = 0;

	if (!l)
		return -EINVAL;
	while (!l->stop) {
		r = vfo_loop_run_once(l, -1);
		if (r < 0) {
			vfo_err(COMP, "event loop failed: %s", strerror(-r));
			break;
		}
	}
	l->stop = false;
	return r < 0 ? r : 0;
}

static int add_internal(struct vfo_loop *l, int fd, uint64_t serial)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = serial };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int vfo_loop_new(struct vfo_loop **out)
{
	struct vfo_loop *l;
	int r;

	if (!out)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tfd = l->sfd = -1;
	l->next_serial = SERIAL_FIRST_FD;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		r = -errno;
		goto err_free;
	}
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->tfd < 0) {
		r = -errno;
		goto err_epoll;
	}
	r = add_internal(l, l->tfd, SERIAL_TIMERFD);
	if (r < 0)
		goto err_timerfd;
	sigemptyset(&l->sigs);
	for (size_t i = 0; i < VFO_ARRAY_SIZE(handled_signals); i++)
		sigaddset(&l->sigs, handled_signals[i]);
	/* Block before creating the signalfd so nothing slips through to the
	 * default action (termination) in between. */
	r = -pthread_sigmask(SIG_BLOCK, &l->sigs, &l->oldmask);
	if (r < 0)
		goto err_timerfd;
	l->sfd = signalfd(-1, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sfd < 0) {
		r = -errno;
		goto err_sigmask;
	}
	r = add_internal(l, l->sfd, SERIAL_SIGNALFD);
	if (r < 0)
		goto err_signalfd;
	*out = l;
	return 0;

err_signalfd:
	vfo_close(&l->sfd);
err_sigmask:
	pthread_sigmask(SIG_SETMASK, &l->oldmask, NULL);
err_timerfd:
	vfo_close(&l->tfd);
err_epoll:
	vfo_close(&l->epfd);
err_free:
	free(l);
	vfo_err(COMP, "cannot create event loop: %s", strerror(-r));
	return r;
}

void vfo_loop_free(struct vfo_loop *l)
{
	if (!l)
		return;
	reap(l, true);
	/* Consume signals that arrived after the loop stopped: unblocking them
	 * would kill the process with their default action on the way out. */
	dispatch_signals(l, false);
	pthread_sigmask(SIG_SETMASK, &l->oldmask, NULL);
	vfo_close(&l->sfd);
	vfo_close(&l->tfd);
	vfo_close(&l->epfd);
	free(l);
}
