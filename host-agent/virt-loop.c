// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libvirt's EventImpl on top of vfo_loop. Each libvirt function maps onto
 * one vfo_loop call; what is left to do here is translating event bits,
 * clamping "any negative timeout" to -1, and carrying libvirt's callback and
 * free function (vfo_loop's callbacks have a different signature) in a
 * small per-registration record that vfo_loop frees through its deferred
 * free callback, which is what libvirt requires of ff.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>

#include "log.h"
#include "loop.h"
#include "virt-loop.h"

#define COMP "virt-loop"

/* See virt-loop.h: libvirt's impl is process-global and context-free. */
static struct vfo_loop *virt_loop;
static bool virt_registered;

struct virt_reg {
	union {
		virEventHandleCallback handle;
		virEventTimeoutCallback timeout;
	} cb;
	void *opaque;
	virFreeCallback ff;
};

static unsigned int vir_to_vfo(int ev)
{
	return ((ev & VIR_EVENT_HANDLE_READABLE) ? VFO_EV_IN : 0) |
	       ((ev & VIR_EVENT_HANDLE_WRITABLE) ? VFO_EV_OUT : 0) |
	       ((ev & VIR_EVENT_HANDLE_ERROR) ? VFO_EV_ERR : 0) |
	       ((ev & VIR_EVENT_HANDLE_HANGUP) ? VFO_EV_HUP : 0);
}

static int vfo_to_vir(unsigned int ev)
{
	return ((ev & VFO_EV_IN) ? VIR_EVENT_HANDLE_READABLE : 0) |
	       ((ev & VFO_EV_OUT) ? VIR_EVENT_HANDLE_WRITABLE : 0) |
	       ((ev & VFO_EV_ERR) ? VIR_EVENT_HANDLE_ERROR : 0) |
	       ((ev & VFO_EV_HUP) ? VIR_EVENT_HANDLE_HANGUP : 0);
}

/* libvirt: "any negative value disables"; vfo_loop accepts only -1. */
static int vir_interval(int ms)
{
	return ms < 0 ? -1 : ms;
}

static struct virt_reg *reg_new(void *opaque, virFreeCallback ff)
{
	struct virt_reg *r = calloc(1, sizeof(*r));

	if (r) {
		r->opaque = opaque;
		r->ff = ff;
	}
	return r;
}

/* Called by vfo_loop after the dispatch iteration, never inside remove. */
static void reg_free(void *opaque)
{
	struct virt_reg *r = opaque;

	if (r->ff)
		r->ff(r->opaque);
	free(r);
}

static void handle_dispatch(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct virt_reg *r = opaque;

	(void)l;
	r->cb.handle(id, fd, vfo_to_vir(events), r->opaque);
}

static void timeout_dispatch(struct vfo_loop *l, int id, void *opaque)
{
	struct virt_reg *r = opaque;

	(void)l;
	r->cb.timeout(id, r->opaque);
}

static int virt_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
			   virFreeCallback ff)
{
	struct virt_reg *r;
	char name[32];
	int id;

	if (!virt_loop || !cb)
		return -1;
	r = reg_new(opaque, ff);
	if (!r)
		return -1;
	r->cb.handle = cb;
	snprintf(name, sizeof(name), "libvirt-fd%d", fd);
	id = vfo_loop_add_fd(virt_loop, name, fd, vir_to_vfo(events), handle_dispatch, r, reg_free);
	if (id < 0) {
		/* Not registered: libvirt keeps ownership of opaque. */
		free(r);
		vfo_warn(COMP, "cannot watch fd %d for libvirt: %d", fd, id);
		return -1;
	}
	return id;
}

static void virt_update_handle(int watch, int events)
{
	int r;

	if (!virt_loop)
		return;
	r = vfo_loop_update_fd(virt_loop, watch, vir_to_vfo(events));
	if (r < 0)
		vfo_dbg(COMP, "update of libvirt watch %d: %d", watch, r);
}

static int virt_remove_handle(int watch)
{
	if (!virt_loop)
		return -1;
	return vfo_loop_remove_fd(virt_loop, watch) < 0 ? -1 : 0;
}

static int virt_add_timeout(int ms, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
	struct virt_reg *r;
	int id;

	if (!virt_loop || !cb)
		return -1;
	r = reg_new(opaque, ff);
	if (!r)
		return -1;
	r->cb.timeout = cb;
	id = vfo_loop_add_timer(virt_loop, "libvirt-timeout", vir_interval(ms), 0, timeout_dispatch,
				r, reg_free);
	if (id < 0) {
		free(r);
		vfo_warn(COMP, "cannot add libvirt timeout: %d", id);
		return -1;
	}
	return id;
}

static void virt_update_timeout(int timer, int ms)
{
	int r;

	if (!virt_loop)
		return;
	r = vfo_loop_update_timer(virt_loop, timer, vir_interval(ms));
	if (r < 0)
		vfo_dbg(COMP, "update of libvirt timeout %d: %d", timer, r);
}

static int virt_remove_timeout(int timer)
{
	if (!virt_loop)
		return -1;
	return vfo_loop_remove_timer(virt_loop, timer) < 0 ? -1 : 0;
}

int vfo_virt_loop_register(struct vfo_loop *l)
{
	if (!l)
		return -EINVAL;
	virt_loop = l;
	if (!virt_registered) {
		virEventRegisterImpl(virt_add_handle, virt_update_handle, virt_remove_handle,
				     virt_add_timeout, virt_update_timeout, virt_remove_timeout);
		virt_registered = true;
	}
	return 0;
}

void vfo_virt_loop_unregister(struct vfo_loop *l)
{
	if (l && virt_loop == l)
		virt_loop = NULL;
}
