/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfo-hostd's connection to the local libvirtd: events run in vfo's own
 * loop (virt-loop.c), keepalive detects a dead daemon, and a lost
 * connection is reopened with backoff. Domains are named by UUID string.
 *
 * Two implementations of this one interface:
 *  - virt.c calls libvirt; it runs in vfo-virt-helper (virt-helper.c), the
 *    only program of vfo-hostd's that links libvirt;
 *  - virt-proxy.c, linked into vfo-hostd, starts that helper and forwards
 *    each call to it over a socketpair (virt-link.h), and its events back.
 * The callers (orch.c) cannot tell them apart: calls are synchronous,
 * events arrive through vfo_virt_ops from vfo-hostd's loop.
 */
#ifndef VFO_VIRT_H
#define VFO_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vfo_loop;
struct vfo_virt;

#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR "/usr/libexec/vfo"
#endif
#define VFO_VIRT_HELPER_PATH PKGLIBEXECDIR "/vfo-virt-helper"

/* Lifecycle events vfo acts on (libvirt's event/detail pairs folded). */
enum vfo_virt_life {
	VFO_VIRT_STARTED, /* booted or restored: not by migration */
	VFO_VIRT_STARTED_MIGRATED, /* incoming migration created it */
	VFO_VIRT_RESUMED_MIGRATED, /* incoming migration finished: runs here */
	VFO_VIRT_STOPPED, /* shut off, crashed, destroyed */
	VFO_VIRT_STOPPED_MIGRATED, /* left by migration */
	VFO_VIRT_UNDEFINED,
};

struct vfo_virt_ops {
	void (*connected)(void *opaque);
	void (*disconnected)(void *opaque);
	void (*lifecycle)(void *opaque, const char *uuid, const char *name, enum vfo_virt_life ev);
	void (*device_removed)(void *opaque, const char *uuid, const char *alias);
	void (*device_removal_failed)(void *opaque, const char *uuid, const char *alias);
	void (*device_added)(void *opaque, const char *uuid, const char *alias);
};

/* Opens asynchronously: a failed first connect is retried like a lost
 * one, so vfo-hostd starts even while libvirtd is down. */
int vfo_virt_new(struct vfo_virt **out, struct vfo_loop *l, const char *uri,
		 const struct vfo_virt_ops *ops, void *opaque);
void vfo_virt_free(struct vfo_virt *v);
bool vfo_virt_connected(const struct vfo_virt *v);
const char *vfo_virt_uri(const struct vfo_virt *v);

/* Every running domain: fn(uuid, name, xml) with the live XML. */
typedef void (*vfo_virt_domain_fn)(void *opaque, const char *uuid, const char *name,
				   const char *xml);
int vfo_virt_for_each_running(struct vfo_virt *v, vfo_virt_domain_fn fn, void *opaque);

/* Live XML of a domain (malloc'd); -ENOENT if it is not here. */
int vfo_virt_domain_xml(struct vfo_virt *v, const char *uuid, char **xml);
/* The same in the form a migration's destination XML must take. */
int vfo_virt_domain_xml_migratable(struct vfo_virt *v, const char *uuid, char **xml);
/* uuid of a domain given by name or uuid; -ENOENT if unknown. */
int vfo_virt_lookup(struct vfo_virt *v, const char *name_or_uuid, char uuid[37], char name[256]);
/* 1 if running (or paused) here, 0 if not, -errno. */
int vfo_virt_domain_active(struct vfo_virt *v, const char *uuid);
/* 1 while a job (migration) runs on the domain, 0 if none, -errno. */
int vfo_virt_job_active(struct vfo_virt *v, const char *uuid);
int vfo_virt_abort_job(struct vfo_virt *v, const char *uuid);

/* Live hot-unplug request by alias; completion comes as device_removed. */
int vfo_virt_detach_alias(struct vfo_virt *v, const char *uuid, const char *alias);
/* Live hot-plug of a device given as XML. */
int vfo_virt_attach(struct vfo_virt *v, const char *uuid, const char *xml);

/* libvirt's last error message, for logs and replies. */
const char *vfo_virt_last_error(void);

/*
 * The migration itself runs in a worker process (virDomainMigrateToURI3
 * blocks for the whole migration, and vfo-hostd's one thread must keep
 * serving its guests and clients). It is vfo-virt-helper run with
 * --migrate-worker (worker_exe: vfo_virt_helper_exe()); its result comes
 * back on a pipe: "ok\n" or "error: <text>\n". The worker outlives a vfo-hostd crash; the restarted
 * daemon learns the outcome from libvirt instead.
 */
struct vfo_virt_migration {
	int pid;
	int fd; /* read end: poll it, then vfo_virt_migration_result() */
};

int vfo_virt_migrate_spawn(const char *worker_exe, const char *uri, const char *uuid,
			   const char *dest_uri, bool p2p, const char *dest_xml,
			   struct vfo_virt_migration *out);
/* Read the worker's verdict and reap it: 0 success, -EIO failure (err
 * holds libvirt's message), -EAGAIN if it has not finished yet. */
int vfo_virt_migration_result(struct vfo_virt_migration *m, char *err, size_t errlen);
/* The worker's body (vfo-virt-helper's main() dispatches --migrate-worker
 * here). */
int vfo_virt_migrate_worker_main(int argc, char **argv);

/* vfo-hostd side: the vfo-virt-helper program v runs, which is also the
 * migration worker. */
const char *vfo_virt_helper_exe(const struct vfo_virt *v);

#endif
