// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "loop.h"
#include "virt-loop.h"
#include "virt.h"

#define COMP "virt"
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define KEEPALIVE_INTERVAL_S 2
#define KEEPALIVE_COUNT 3

struct vfo_virt {
	struct vfo_loop *loop;
	char *uri;
	const struct vfo_virt_ops *ops;
	void *opaque;
	virConnectPtr conn;
	int cb_ids[4];
	int n_cb;
	int reconnect_timer;
	int backoff_ms;
	bool lost; /* the close callback fired: drop conn at the next tick */
};

const char *vfo_virt_last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

/* libvirt prints errors to stderr by default; vfo logs them where they
 * matter instead, with context. */
static void quiet_errors(void *opaque, virErrorPtr err)
{
}

static bool uuid_of(virDomainPtr dom, char uuid[VIR_UUID_STRING_BUFLEN])
{
	return virDomainGetUUIDString(dom, uuid) == 0;
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct vfo_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];
	enum vfo_virt_life ev;

	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		ev = detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? VFO_VIRT_STARTED_MIGRATED :
								   VFO_VIRT_STARTED;
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		if (detail != VIR_DOMAIN_EVENT_RESUMED_MIGRATED &&
		    detail != VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)
			return 0;
		ev = VFO_VIRT_RESUMED_MIGRATED;
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		ev = detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED ? VFO_VIRT_STOPPED_MIGRATED :
								   VFO_VIRT_STOPPED;
		break;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		ev = VFO_VIRT_UNDEFINED;
		break;
	default:
		return 0;
	}
	if (uuid_of(dom, uuid) && v->ops->lifecycle)
		v->ops->lifecycle(v->opaque, uuid, virDomainGetName(dom), ev);
	return 0;
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	struct vfo_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (uuid_of(dom, uuid) && v->ops->device_removed)
		v->ops->device_removed(v->opaque, uuid, alias);
}

static void on_device_removal_failed(virConnectPtr conn, virDomainPtr dom, const char *alias,
				     void *opaque)
{
	struct vfo_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (uuid_of(dom, uuid) && v->ops->device_removal_failed)
		v->ops->device_removal_failed(v->opaque, uuid, alias);
}

static void on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	struct vfo_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (uuid_of(dom, uuid) && v->ops->device_added)
		v->ops->device_added(v->opaque, uuid, alias);
}

/* Runs from libvirt's dispatch: do not close the connection here, only
 * note it; the reconnect timer does the rest. */
static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct vfo_virt *v = opaque;

	if (conn != v->conn)
		return;
	vfo_warn(COMP, "connection to %s lost (reason %d); reconnecting", v->uri, reason);
	v->lost = true;
	vfo_loop_update_timer(v->loop, v->reconnect_timer, 0);
}

static void drop_conn(struct vfo_virt *v)
{
	bool was = v->conn != NULL;

	if (!v->conn)
		return;
	for (int i = 0; i < v->n_cb; i++)
		virConnectDomainEventDeregisterAny(v->conn, v->cb_ids[i]);
	v->n_cb = 0;
	virConnectUnregisterCloseCallback(v->conn, on_close);
	virConnectClose(v->conn);
	v->conn = NULL;
	if (was && v->ops->disconnected)
		v->ops->disconnected(v->opaque);
}

static int register_events(struct vfo_virt *v)
{
	struct {
		int id;
		virConnectDomainEventGenericCallback cb;
	} evs[] = {
		{ VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
		  VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
		  VIR_DOMAIN_EVENT_CALLBACK(on_device_removal_failed) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(on_device_added) },
	};

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		int id = virConnectDomainEventRegisterAny(v->conn, NULL, evs[i].id, evs[i].cb, v,
							  NULL);

		if (id < 0)
			return -EIO;
		v->cb_ids[v->n_cb++] = id;
	}
	return 0;
}

static int try_connect(struct vfo_virt *v)
{
	v->conn = virConnectOpen(v->uri);
	if (!v->conn)
		return -ECONNREFUSED;
	if (virConnectRegisterCloseCallback(v->conn, on_close, v, NULL) < 0 ||
	    virConnectSetKeepAlive(v->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0 ||
	    register_events(v) < 0) {
		vfo_err(COMP, "%s: cannot set up events: %s", v->uri, vfo_virt_last_error());
		drop_conn(v);
		return -EIO;
	}
	return 0;
}

static void reconnect_tick(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_virt *v = opaque;

	if (v->lost) {
		v->lost = false;
		drop_conn(v);
	}
	if (v->conn) {
		vfo_loop_update_timer(l, id, -1);
		return;
	}
	if (try_connect(v) < 0) {
		vfo_dbg(COMP, "connect %s: %s; retry in %d ms", v->uri, vfo_virt_last_error(),
			v->backoff_ms);
		vfo_loop_update_timer(l, id, v->backoff_ms);
		v->backoff_ms = v->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
								     v->backoff_ms * 2;
		return;
	}
	vfo_info(COMP, "connected to %s", v->uri);
	v->backoff_ms = BACKOFF_MIN_MS;
	vfo_loop_update_timer(l, id, -1);
	if (v->ops->connected)
		v->ops->connected(v->opaque);
}

int vfo_virt_new(struct vfo_virt **out, struct vfo_loop *l, const char *uri,
		 const struct vfo_virt_ops *ops, void *opaque)
{
	struct vfo_virt *v;
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->loop = l;
	v->ops = ops;
	v->opaque = opaque;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->uri = strdup(uri ? uri : "qemu:///system");
	if (!v->uri) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = vfo_virt_loop_register(l);
	if (rc < 0)
		goto err_uri;
	virSetErrorFunc(NULL, quiet_errors);
	rc = vfo_loop_add_timer(l, "libvirt-reconnect", 0, 0, reconnect_tick, v, NULL);
	if (rc < 0)
		goto err_uri;
	v->reconnect_timer = rc;
	*out = v;
	return 0;

err_uri:
	free(v->uri);
err_free:
	free(v);
	return rc;
}

void vfo_virt_free(struct vfo_virt *v)
{
	if (!v)
		return;
	vfo_loop_remove_timer(v->loop, v->reconnect_timer);
	/* No disconnected callback at teardown: the owner is going away. */
	v->ops = &(const struct vfo_virt_ops){ 0 };
	drop_conn(v);
	free(v->uri);
	free(v);
}

bool vfo_virt_connected(const struct vfo_virt *v)
{
	return v->conn && !v->lost;
}

const char *vfo_virt_uri(const struct vfo_virt *v)
{
	return v->uri;
}

static virDomainPtr lookup(struct vfo_virt *v, const char *uuid)
{
	if (!vfo_virt_connected(v))
		return NULL;
	return virDomainLookupByUUIDString(v->conn, uuid);
}

static int no_domain(struct vfo_virt *v)
{
	if (!vfo_virt_connected(v))
		return -ENOTCONN;
	return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? -ENOENT : -EIO;
}

int vfo_virt_for_each_running(struct vfo_virt *v, vfo_virt_domain_fn fn, void *opaque)
{
	virDomainPtr *doms = NULL;
	int n;

	if (!vfo_virt_connected(v))
		return -ENOTCONN;
	n = virConnectListAllDomains(v->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0)
		return -EIO;
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];
		char *xml = virDomainGetXMLDesc(doms[i], 0);

		if (xml && uuid_of(doms[i], uuid))
			fn(opaque, uuid, virDomainGetName(doms[i]), xml);
		free(xml);
		virDomainFree(doms[i]);
	}
	free(doms);
	return n;
}

static int domain_xml(struct vfo_virt *v, const char *uuid, unsigned int flags, char **xml)
{
	virDomainPtr dom = lookup(v, uuid);

	if (!dom)
		return no_domain(v);
	*xml = virDomainGetXMLDesc(dom, flags);
	virDomainFree(dom);
	return *xml ? 0 : -EIO;
}

int vfo_virt_domain_xml(struct vfo_virt *v, const char *uuid, char **xml)
{
	return domain_xml(v, uuid, 0, xml);
}

int vfo_virt_domain_xml_migratable(struct vfo_virt *v, const char *uuid, char **xml)
{
	return domain_xml(v, uuid, VIR_DOMAIN_XML_MIGRATABLE, xml);
}

int vfo_virt_lookup(struct vfo_virt *v, const char *name_or_uuid, char uuid[37], char name[256])
{
	virDomainPtr dom;

	if (!vfo_virt_connected(v))
		return -ENOTCONN;
	dom = virDomainLookupByName(v->conn, name_or_uuid);
	if (!dom)
		dom = virDomainLookupByUUIDString(v->conn, name_or_uuid);
	if (!dom)
		return no_domain(v);
	uuid_of(dom, uuid);
	snprintf(name, 256, "%s", virDomainGetName(dom));
	virDomainFree(dom);
	return 0;
}

int vfo_virt_domain_active(struct vfo_virt *v, const char *uuid)
{
	virDomainPtr dom = lookup(v, uuid);
	int rc;

	if (!dom)
		return no_domain(v) == -ENOENT ? 0 : no_domain(v);
	rc = virDomainIsActive(dom);
	virDomainFree(dom);
	return rc < 0 ? -EIO : rc;
}

int vfo_virt_job_active(struct vfo_virt *v, const char *uuid)
{
	virDomainPtr dom = lookup(v, uuid);
	virDomainJobInfo info;
	int rc;

	if (!dom)
		return no_domain(v) == -ENOENT ? 0 : no_domain(v);
	rc = virDomainGetJobInfo(dom, &info);
	virDomainFree(dom);
	if (rc < 0)
		return -EIO;
	return info.type != VIR_DOMAIN_JOB_NONE && info.type != VIR_DOMAIN_JOB_COMPLETED &&
	       info.type != VIR_DOMAIN_JOB_FAILED && info.type != VIR_DOMAIN_JOB_CANCELLED;
}

int vfo_virt_abort_job(struct vfo_virt *v, const char *uuid)
{
	virDomainPtr dom = lookup(v, uuid);
	int rc;

	if (!dom)
		return no_domain(v);
	rc = virDomainAbortJob(dom);
	virDomainFree(dom);
	return rc < 0 ? -EIO : 0;
}

int vfo_virt_detach_alias(struct vfo_virt *v, const char *uuid, const char *alias)
{
	virDomainPtr dom = lookup(v, uuid);
	int rc;

	if (!dom)
		return no_domain(v);
	/* Asynchronous: returns once QEMU accepted the request; the guest's
	 * release arrives later as DEVICE_REMOVED. */
	rc = virDomainDetachDeviceAlias(dom, alias, VIR_DOMAIN_AFFECT_LIVE);
	virDomainFree(dom);
	return rc < 0 ? -EIO : 0;
}

int vfo_virt_attach(struct vfo_virt *v, const char *uuid, const char *xml)
{
	virDomainPtr dom = lookup(v, uuid);
	int rc;

	if (!dom)
		return no_domain(v);
	rc = virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE);
	virDomainFree(dom);
	return rc < 0 ? -EIO : 0;
}

/* ---- the migration worker (vfo-virt-helper --migrate-worker) ----------- */

static char *read_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf || lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

/*
 * libvirt reports a failed hook or helper as "...: Child process (<the
 * whole environment and command line>) unexpected exit status N: <its
 * stderr>". The command line drowns the reason in every bounded message
 * that carries it on: keep the text around it.
 */
static void print_error(const char *msg)
{
	const char *child = strstr(msg, "Child process (");
	const char *status = child ? strstr(child, ") unexpected exit status ") : NULL;

	if (!status) {
		printf("error: %s\n", msg);
		return;
	}
	printf("error: %.*schild process: %s\n", (int)(child - msg), msg,
	       status + strlen(") unexpected "));
}

int vfo_virt_migrate_worker_main(int argc, char **argv)
{
	virConnectPtr conn = NULL, dconn = NULL;
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0, rc = 1;
	unsigned int flags = VIR_MIGRATE_LIVE;
	virDomainPtr dom = NULL;
	char *xml = NULL;
	bool p2p;

	/* argv: --migrate-worker URI UUID DEST_URI p2p|direct XMLFD */
	if (argc != 7) {
		printf("error: bad worker arguments\n");
		return 2;
	}
	virSetErrorFunc(NULL, quiet_errors);
	/* Its verdict goes to a pipe whose reader may have gone (vfo-hostd
	 * restarted): that must not kill the migration's last step. */
	signal(SIGPIPE, SIG_IGN);
	p2p = !strcmp(argv[5], "p2p");
	xml = read_fd(atoi(argv[6]));
	conn = virConnectOpen(argv[2]);
	if (!conn)
		goto out;
	dom = virDomainLookupByUUIDString(conn, argv[3]);
	if (!dom)
		goto out;
	if (xml && xml[0] &&
	    virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_DEST_XML,
				    xml) < 0)
		goto out;
	if (p2p) {
		flags |= VIR_MIGRATE_PEER2PEER;
		rc = virDomainMigrateToURI3(dom, argv[4], params, (unsigned int)nparams, flags);
	} else {
		virDomainPtr ddom;

		dconn = virConnectOpen(argv[4]);
		if (!dconn)
			goto out;
		ddom = virDomainMigrate3(dom, dconn, params, (unsigned int)nparams, flags);
		rc = ddom ? 0 : -1;
		if (ddom)
			virDomainFree(ddom);
	}
out:
	if (rc == 0)
		printf("ok\n");
	else
		print_error(vfo_virt_last_error());
	fflush(stdout);
	virTypedParamsFree(params, nparams);
	if (dom)
		virDomainFree(dom);
	if (dconn)
		virConnectClose(dconn);
	if (conn)
		virConnectClose(conn);
	free(xml);
	return rc == 0 ? 0 : 1;
}
