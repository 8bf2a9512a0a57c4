/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plug libvirt's event handling into vfo's loop (virEventRegisterImpl), so
 * libvirt's sockets, keepalive timers and domain events are dispatched by
 * the same single thread that runs everything else in vfo-hostd.
 */
#ifndef VFO_VIRT_LOOP_H
#define VFO_VIRT_LOOP_H

struct vfo_loop;

/*
 * Make l the loop libvirt uses. Call it before the first virConnectOpen*()
 * and from the thread that runs l.
 *
 * libvirt accepts one implementation per process and ignores every later
 * virEventRegisterImpl() call, and its six functions carry no context
 * pointer. So the adapters are registered once, and they reach the loop
 * through a process-global pointer that this call (re)points at l: a daemon
 * has exactly one loop anyway, and tests can point it at a fresh loop.
 * Returns 0, or -EINVAL for NULL.
 */
int vfo_virt_loop_register(struct vfo_loop *l);

/*
 * Detach l before vfo_loop_free(l). libvirt keeps calling the adapters (it
 * cannot unregister), and they then fail cleanly (-1) instead of touching a
 * freed loop. No-op when l is not the registered loop.
 */
void vfo_virt_loop_unregister(struct vfo_loop *l);

#endif
