/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event loop every vfo daemon runs on: epoll for fd readiness, one
 * timerfd armed to the earliest timer (keepalived style) and a signalfd.
 *
 * The API mirrors libvirt's virEventRegisterImpl one to one, so that
 * host-agent/virt-loop.c can hand libvirt this loop instead of running
 * libvirt's own loop in a thread:
 *
 *   virEventAddHandleFunc      vfo_loop_add_fd
 *   virEventUpdateHandleFunc   vfo_loop_update_fd     (events 0 disables)
 *   virEventRemoveHandleFunc   vfo_loop_remove_fd
 *   virEventAddTimeoutFunc     vfo_loop_add_timer     (flags 0)
 *   virEventUpdateTimeoutFunc  vfo_loop_update_timer  (-1 disables)
 *   virEventRemoveTimeoutFunc  vfo_loop_remove_timer
 *
 * Rules every caller can rely on:
 * - Any add/update/remove may be called from inside any callback, including
 *   on the watch or timer being dispatched and on one whose event is still
 *   pending in the same epoll batch: removal only marks the entry dead, it
 *   is unlinked after the iteration's dispatch.
 * - The free callback passed at add time is never called from inside
 *   vfo_loop_remove_*(): libvirt calls remove with its own locks held and
 *   its free callbacks take those locks. It runs when the iteration in
 *   which remove was called ends (the next one, if called outside a
 *   dispatch), or from vfo_loop_free(); opaque must stay valid until then.
 * - Entries added during a dispatch are not dispatched in that same
 *   iteration (libvirt's own loop behaves the same way).
 * - Ids are > 0 and not reused while the entry exists; handle and timer ids
 *   come from one counter, so an id names exactly one entry.
 * - The loop is single-threaded: every call must come from the thread that
 *   runs it. vfo calls libvirt only from that thread, so libvirt's calls into
 *   the loop arrive there too.
 *
 * Signals: vfo_loop_new() blocks SIGTERM, SIGINT, SIGHUP, SIGUSR1 and
 * SIGUSR2 (create the loop before any thread so they inherit the mask) and
 * reads them from a signalfd; vfo_loop_free() restores the previous mask.
 * SIGTERM and SIGINT stop vfo_loop_run(), which then returns 0. Every one of
 * them, the two above included, is passed to the signal callback if one is
 * set. Run one loop per process: signals go to whichever loop reads first.
 * The blocked mask is inherited across fork and exec: a child that runs
 * another program must unblock these signals first (posix_spawnattr_setsigmask
 * or sigprocmask in the child), or it will ignore SIGTERM.
 */
#ifndef VFO_LOOP_H
#define VFO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct vfo_loop;

/* Same values as VIR_EVENT_HANDLE_READABLE/WRITABLE/ERROR/HANGUP. */
#define VFO_EV_IN 0x1u
#define VFO_EV_OUT 0x2u
#define VFO_EV_ERR 0x4u
#define VFO_EV_HUP 0x8u

/* After firing once the timer disarms itself (interval -1); it stays
 * registered, so vfo_loop_update_timer() re-arms it and its owner removes it. */
#define VFO_TIMER_ONESHOT 0x1u

typedef void (*vfo_fd_cb)(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque);
typedef void (*vfo_timer_cb)(struct vfo_loop *l, int id, void *opaque);
typedef void (*vfo_signal_cb)(struct vfo_loop *l, int signo, void *opaque);
typedef void (*vfo_free_cb)(void *opaque);

struct vfo_loop_stats {
	uint64_t iterations; /* loop iterations (vfo_loop_run_once calls) */
	uint64_t wakeups; /* epoll_wait() returns with >= 1 event */
	uint64_t fd_dispatches; /* fd callbacks invoked */
	uint64_t timer_dispatches; /* timer callbacks invoked */
	uint64_t signals; /* signals read from the signalfd */
	uint64_t timerfd_arms; /* timerfd_settime() calls */
};

int vfo_loop_new(struct vfo_loop **out);
/* Calls every pending free callback, closes the fds, restores the signal
 * mask. Must not be called from inside a callback. NULL is a no-op. */
void vfo_loop_free(struct vfo_loop *l);

/* Run until vfo_loop_stop() or SIGTERM/SIGINT: 0, or -errno if epoll fails. */
int vfo_loop_run(struct vfo_loop *l);
/* One iteration, waiting at most max_wait_ms (-1: until something happens).
 * Returns the number of callbacks invoked, or -errno (-EBUSY when called
 * from inside a callback). */
int vfo_loop_run_once(struct vfo_loop *l, int max_wait_ms);
/* Make vfo_loop_run() return 0 after the current iteration. */
void vfo_loop_stop(struct vfo_loop *l);
/* True once SIGTERM/SIGINT or vfo_loop_stop() asked the loop to end and
 * vfo_loop_run() has not yet returned. */
bool vfo_loop_stopping(const struct vfo_loop *l);

/* events: VFO_EV_IN and/or VFO_EV_OUT (ERR and HUP are accepted and always
 * reported while the watch is enabled); 0 adds it disabled. The same fd may
 * be watched any number of times. Returns the id (> 0) or -errno. */
int vfo_loop_add_fd(struct vfo_loop *l, const char *name, int fd, unsigned int events, vfo_fd_cb cb,
		    void *opaque, vfo_free_cb ff);
/* events 0 disables the watch without removing it. */
int vfo_loop_update_fd(struct vfo_loop *l, int id, unsigned int events);
int vfo_loop_remove_fd(struct vfo_loop *l, int id);

/* interval_ms: -1 disabled, 0 fire on every iteration as soon as possible,
 * > 0 every interval_ms (first expiry interval_ms from now). flags: 0 or
 * VFO_TIMER_ONESHOT. Returns the id (> 0) or -errno. */
int vfo_loop_add_timer(struct vfo_loop *l, const char *name, int interval_ms, unsigned int flags,
		       vfo_timer_cb cb, void *opaque, vfo_free_cb ff);
/* Sets a new interval and restarts the period from now; -1 disables. */
int vfo_loop_update_timer(struct vfo_loop *l, int id, int interval_ms);
int vfo_loop_remove_timer(struct vfo_loop *l, int id);

void vfo_loop_set_signal_cb(struct vfo_loop *l, vfo_signal_cb cb, void *opaque);
void vfo_loop_get_stats(const struct vfo_loop *l, struct vfo_loop_stats *st);

#endif
