// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-virt-helper: vfo-hostd's libvirt client, in its own process.
 *
 * vfo-hostd owns the VFs as root (sysfs, netlink, the state file) and
 * links no libvirt: libvirt's client library pulls some sixty shared
 * libraries (GnuTLS, libssh, curl, GLib, ...) that cost ~13 MiB of
 * resident pages before the first call. This helper holds the connection
 * (virt.c: events in its own vfo loop, keepalive, reconnect) and answers
 * vfo-hostd's calls over the socketpair it was started with (virt-link.h);
 * virt-proxy.c is the other end. It also is the migration worker
 * (--migrate-worker), which vfo-hostd runs as a separate process per
 * migration.
 *
 *   vfo-virt-helper --fd N --uri URI [--log-level N] [--log-target N]
 *
 * It exits when vfo-hostd closes the link or dies (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "virt-link.h"
#include "virt.h"

#define COMP "virt-helper"

struct helper {
	struct vfo_loop *loop;
	struct vfo_virt *virt;
	struct vfo_vlink link;
	int link_id;
};

static void send_or_quit(struct helper *hp, struct json_object *o)
{
	/* vfo-hostd gone: nothing left to do for it. */
	if (vfo_vlink_send(&hp->link, o) < 0)
		vfo_loop_stop(hp->loop);
	json_object_put(o);
}

static struct json_object *event(const char *name, const char *uuid)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ev", json_object_new_string(name));
	if (uuid)
		json_object_object_add(o, "uuid", json_object_new_string(uuid));
	return o;
}

static void on_connected(void *opaque)
{
	send_or_quit(opaque, event("connected", NULL));
}

static void on_disconnected(void *opaque)
{
	send_or_quit(opaque, event("disconnected", NULL));
}

static void on_lifecycle(void *opaque, const char *uuid, const char *name, enum vfo_virt_life ev)
{
	struct json_object *o = event("lifecycle", uuid);

	json_object_object_add(o, "name", json_object_new_string(name ? name : ""));
	json_object_object_add(o, "life", json_object_new_int(ev));
	send_or_quit(opaque, o);
}

static void device_event(void *opaque, const char *ev, const char *uuid, const char *alias)
{
	struct json_object *o = event(ev, uuid);

	json_object_object_add(o, "alias", json_object_new_string(alias ? alias : ""));
	send_or_quit(opaque, o);
}

static void on_device_removed(void *opaque, const char *uuid, const char *alias)
{
	device_event(opaque, "device-removed", uuid, alias);
}

static void on_device_removal_failed(void *opaque, const char *uuid, const char *alias)
{
	device_event(opaque, "device-removal-failed", uuid, alias);
}

static void on_device_added(void *opaque, const char *uuid, const char *alias)
{
	device_event(opaque, "device-added", uuid, alias);
}

static const struct vfo_virt_ops helper_ops = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.lifecycle = on_lifecycle,
	.device_removed = on_device_removed,
	.device_removal_failed = on_device_removal_failed,
	.device_added = on_device_added,
};

static void add_domain(void *opaque, const char *uuid, const char *name, const char *xml)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "uuid", json_object_new_string(uuid));
	json_object_object_add(d, "name", json_object_new_string(name ? name : ""));
	json_object_object_add(d, "xml", json_object_new_string(xml));
	json_object_array_add(opaque, d);
}

/* One call: the reply carries rc and, on failure, libvirt's message. */
static void serve(struct helper *hp, struct json_object *req)
{
	const char *op = vfo_vlink_str(req, "op");
	const char *uuid = vfo_vlink_str(req, "uuid");
	struct json_object *reply = json_object_new_object();
	char *xml = NULL;
	int rc;

	json_object_object_add(reply, "id", json_object_new_int64(vfo_vlink_int(req, "id", 0)));
	if (!op) {
		rc = -EINVAL;
	} else if (!strcmp(op, "list")) {
		struct json_object *doms = json_object_new_array();

		rc = vfo_virt_for_each_running(hp->virt, add_domain, doms);
		json_object_object_add(reply, "domains", doms);
	} else if (!uuid) {
		rc = -EINVAL;
	} else if (!strcmp(op, "xml") || !strcmp(op, "xml-migratable")) {
		rc = !strcmp(op, "xml") ? vfo_virt_domain_xml(hp->virt, uuid, &xml) :
					  vfo_virt_domain_xml_migratable(hp->virt, uuid, &xml);
		if (rc == 0)
			json_object_object_add(reply, "xml", json_object_new_string(xml));
	} else if (!strcmp(op, "lookup")) {
		char u[37] = "", name[256] = "";

		rc = vfo_virt_lookup(hp->virt, uuid, u, name);
		if (rc == 0) {
			json_object_object_add(reply, "uuid", json_object_new_string(u));
			json_object_object_add(reply, "name", json_object_new_string(name));
		}
	} else if (!strcmp(op, "active")) {
		rc = vfo_virt_domain_active(hp->virt, uuid);
	} else if (!strcmp(op, "job-active")) {
		rc = vfo_virt_job_active(hp->virt, uuid);
	} else if (!strcmp(op, "abort-job")) {
		rc = vfo_virt_abort_job(hp->virt, uuid);
	} else if (!strcmp(op, "detach")) {
		const char *alias = vfo_vlink_str(req, "alias");

		rc = alias ? vfo_virt_detach_alias(hp->virt, uuid, alias) : -EINVAL;
	} else if (!strcmp(op, "attach")) {
		const char *dev = vfo_vlink_str(req, "xml");

		rc = dev ? vfo_virt_attach(hp->virt, uuid, dev) : -EINVAL;
	} else {
		rc = -EOPNOTSUPP;
	}
	json_object_object_add(reply, "rc", json_object_new_int(rc));
	if (rc < 0 && rc != -EINVAL && rc != -EOPNOTSUPP)
		json_object_object_add(reply, "err", json_object_new_string(vfo_virt_last_error()));
	free(xml);
	send_or_quit(hp, reply);
}

static void on_link(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct helper *hp = opaque;
	struct json_object *req;
	int r = vfo_vlink_fill(&hp->link);

	while (vfo_vlink_next(&hp->link, &req) == 1) {
		serve(hp, req);
		json_object_put(req);
	}
	if (r < 0) {
		vfo_dbg(COMP, "link to vfo-hostd closed: exiting");
		vfo_loop_stop(l);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: vfo-virt-helper --fd N --uri URI [--log-level N] [--log-target N]\n"
		   "       vfo-virt-helper --migrate-worker URI UUID DEST-URI p2p|direct XMLFD\n"
		   "Started by vfo-hostd; not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "fd", required_argument, NULL, 'F' },
		{ "uri", required_argument, NULL, 'u' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct helper hp = { 0 };
	const char *uri = NULL;
	int c, fd = -1, r, level = VFO_LOG_INFO, target = VFO_LOG_TARGET_AUTO;

	if (argc > 1 && !strcmp(argv[1], "--migrate-worker"))
		return vfo_virt_migrate_worker_main(argc, argv);
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			fd = atoi(optarg);
			break;
		case 'u':
			uri = optarg;
			break;
		case 'l':
			level = atoi(optarg);
			break;
		case 't':
			target = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (fd < 0 || !uri || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* The link's EOF covers an orderly exit; this covers a SIGKILL of
	 * vfo-hostd while the helper is blocked in a libvirt call. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 0;
	/* A write to a closed socket (libvirtd gone, vfo-hostd gone) is an
	 * error to handle, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	vfo_log_init("vfo-hostd", (enum vfo_log_target)target, level);
	r = vfo_loop_new(&hp.loop);
	if (r < 0)
		goto out;
	r = vfo_vlink_init(&hp.link, fd);
	if (r < 0)
		goto out;
	r = vfo_loop_add_fd(hp.loop, "vfo-hostd-link", fd, VFO_EV_IN, on_link, &hp, NULL);
	if (r < 0)
		goto out;
	hp.link_id = r;
	r = vfo_virt_new(&hp.virt, hp.loop, uri, &helper_ops, &hp);
	if (r < 0)
		goto out;
	r = vfo_loop_run(hp.loop);
out:
	if (r < 0)
		vfo_err(COMP, "cannot serve vfo-hostd: %s", strerror(-r));
	vfo_virt_free(hp.virt);
	vfo_vlink_fini(&hp.link);
	vfo_loop_free(hp.loop);
	vfo_log_fini();
	return r < 0 ? 1 : 0;
}
