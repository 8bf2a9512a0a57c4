// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hook: libvirt's qemu hook (installed into /etc/libvirt/hooks/qemu.d/).
 *
 *   vfo-hook DOMAIN OPERATION SUB-OPERATION EXTRA  < domain XML
 *
 * On "migrate begin" (run on the destination before the incoming domain is
 * created) it asks the local vfo-hostd to reserve a VF for each of the
 * domain's failover pairs, and rewrites the XML libvirt will start with:
 * VF interfaces are removed (a VF cannot migrate; vfo-hostd plugs a local
 * one once the domain runs here), except libvirt <teaming> hostdevs, whose
 * <source> is pointed at the reserved local VF, and emulated failover
 * primaries (QEMU unplugs them on the source and plugs them back here),
 * which stay as they are. It talks to vfo-hostd over its socket only: a
 * hook that called back into libvirt would deadlock.
 *
 * Exit status 0 lets the migration go on; anything else refuses it. A
 * malformed XML is refused with a clear message and nothing reserved; a
 * failure half-way releases what was reserved (never a half-reserved VF).
 *
 * On "release end" (the domain's QEMU is gone from this host, or never
 * started: an incoming migration refused after "migrate begin") it asks
 * vfo-hostd to free whatever this host still holds for the domain, so a
 * reservation for a domain that never came does not wait for its expiry.
 * That call is best effort: the hook never fails a release.
 * Every other operation is accepted untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "domxml.h"
#include "meta.h"

#define MAX_XML (16 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 5000
/* How long a reservation waits for the domain to arrive. */
#define RESERVATION_MS 300000

static const char *prog = "vfo-hook";

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (n < cap)
			break;
		if (cap >= MAX_XML) {
			free(buf);
			return NULL;
		}
		cap *= 2;
		char *nb = realloc(buf, cap + 1);

		if (!nb)
			free(buf);
		buf = nb;
	}
	if (!buf || ferror(f)) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void release_all(struct vfo_client *c, const char *uuid, int timeout_ms)
{
	struct json_object *args = json_object_new_object(), *res = NULL;
	struct vfo_proto_err err = { 0 };

	json_object_object_add(args, "domain", json_object_new_string(uuid));
	if (vfo_client_call(c, "release", args, timeout_ms, &res, &err) < 0)
		fprintf(stderr, "%s: could not release reservations of %s: %s\n", prog, uuid,
			err.message);
	vfo_proto_err_release(&err);
	json_object_put(res);
	json_object_put(args);
}

/* Reserve one pair's VF: 1 with its PCI address in pci (may be "" for an
 * emulated VF), 0 when the pool has none free, -1 on any other failure. */
static int reserve(struct vfo_client *c, const struct vfo_meta *m, const struct vfo_meta_pair *p,
		   int timeout_ms, char *pci, size_t pcilen)
{
	struct json_object *args = json_object_new_object(), *res = NULL, *vf, *addr;
	struct vfo_proto_err err = { 0 };
	unsigned int d, b, sl, f;
	int rc;

	json_object_object_add(args, "pool", json_object_new_string(p->pool));
	json_object_object_add(args, "domain", json_object_new_string(m->uuid));
	json_object_object_add(args, "pair", json_object_new_string(p->id));
	json_object_object_add(args, "mac", json_object_new_string(p->mac));
	json_object_object_add(args, "timeout_ms", json_object_new_int(RESERVATION_MS));
	rc = vfo_client_call(c, "reserve", args, timeout_ms, &res, &err);
	json_object_put(args);
	pci[0] = '\0';
	if (rc == 0) {
		if (json_object_object_get_ex(res, "vf", &vf) &&
		    json_object_object_get_ex(vf, "addr", &addr) &&
		    vfo_pci_addr_parse(json_object_get_string(addr), &d, &b, &sl, &f) == 0)
			snprintf(pci, pcilen, "%s", json_object_get_string(addr));
		json_object_put(res);
		return 1;
	}
	if (rc == -EREMOTEIO && err.code == VFO_PROTO_BUSY) {
		fprintf(stderr,
			"%s: %s: pair %s: no free VF in pool %s; it will run on its standby\n",
			prog, m->name, p->id, p->pool);
		vfo_proto_err_release(&err);
		return 0;
	}
	fprintf(stderr, "%s: %s: pair %s: reserve failed: %s\n", prog, m->name, p->id,
		rc == -EREMOTEIO ? err.message : strerror(-rc));
	vfo_proto_err_release(&err);
	return -1;
}

/* The XML the destination starts with: each pair's VF interface removed,
 * or for a <teaming> hostdev with a reserved VF, pointed at that VF. */
static int rewrite(const char *xml, const struct vfo_meta *m, char pci[][16], char **out)
{
	char *cur = strdup(xml);
	int rc = cur ? 0 : -ENOMEM;

	for (size_t i = 0; i < m->n_pairs && rc == 0; i++) {
		const struct vfo_meta_pair *p = &m->pairs[i];
		char *next = NULL;

		if (p->vf_kind == VFO_META_VF_NONE)
			continue;
		/* An emulated failover primary: QEMU unplugs it on the source
		 * and plugs it again here; libvirt wants the same devices on
		 * both sides. */
		if (p->vf_kind == VFO_META_VF_BRIDGE && p->vf_teaming)
			continue;
		if (p->vf_kind == VFO_META_VF_HOSTDEV && p->vf_teaming && pci[i][0])
			rc = vfo_meta_set_vf_source(cur, strlen(cur), p->id, pci[i], &next);
		else
			rc = vfo_meta_strip_vfs(cur, strlen(cur), p->id, &next);
		free(cur);
		cur = next;
	}
	if (rc < 0) {
		free(cur);
		return rc;
	}
	*out = cur;
	return 0;
}

static int release_end(const char *dom)
{
	const char *sock = getenv("VFO_HOSTD_SOCKET");
	const char *tmo = getenv("VFO_HOOK_TIMEOUT_MS");
	int timeout_ms = tmo ? atoi(tmo) : DEFAULT_TIMEOUT_MS;
	struct vfo_client *c = NULL;
	struct vfo_meta m;
	size_t len = 0;
	char *xml;

	xml = read_all(stdin, &len);
	if (!xml)
		return 0;
	if (vfo_meta_parse(xml, len, &m, NULL, 0) < 0 || !m.uuid[0]) {
		free(xml); /* not a vfo domain, or nothing to name it by */
		return 0;
	}
	free(xml);
	if (vfo_client_open(&c, sock ? sock : RUNSTATEDIR "/vfo/hostd.sock") < 0)
		return 0; /* vfo-hostd reconciles with libvirt when it is back */
	release_all(c, m.uuid, timeout_ms);
	vfo_client_close(c);
	(void)dom;
	return 0;
}

static int migrate_begin(const char *dom)
{
	const char *sock = getenv("VFO_HOSTD_SOCKET");
	const char *tmo = getenv("VFO_HOOK_TIMEOUT_MS");
	int timeout_ms = tmo ? atoi(tmo) : DEFAULT_TIMEOUT_MS;
	char pci[VFO_META_MAX_PAIRS][16] = { { 0 } };
	struct vfo_client *c = NULL;
	char errbuf[256] = "", *xml, *out = NULL;
	struct vfo_meta m;
	bool teaming = false;
	size_t len = 0;
	int rc;

	xml = read_all(stdin, &len);
	if (!xml) {
		fprintf(stderr, "%s: %s: cannot read the domain XML on stdin: refusing migration\n",
			prog, dom);
		return 1;
	}
	rc = vfo_meta_parse(xml, len, &m, errbuf, sizeof(errbuf));
	if (rc == -ENODATA) {
		free(xml);
		return 0; /* not a vfo domain: nothing to do, XML unchanged */
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s: invalid domain XML (%s): refusing migration\n", prog, dom,
			errbuf);
		free(xml);
		return 1;
	}
	for (size_t i = 0; i < m.n_pairs; i++)
		teaming |= m.pairs[i].vf_kind == VFO_META_VF_HOSTDEV && m.pairs[i].vf_teaming;
	rc = vfo_client_open(&c, sock ? sock : RUNSTATEDIR "/vfo/hostd.sock");
	if (rc < 0 && teaming) {
		fprintf(stderr,
			"%s: %s: vfo-hostd unreachable (%s): cannot choose a local VF; "
			"refusing migration\n",
			prog, dom, strerror(-rc));
		free(xml);
		return 1;
	}
	if (rc < 0) {
		/* vfo-hostd adopts running domains when it comes back. */
		fprintf(stderr,
			"%s: %s: vfo-hostd unreachable (%s); migrating without a reservation\n",
			prog, dom, strerror(-rc));
		c = NULL;
	}
	for (size_t i = 0; c && i < m.n_pairs; i++) {
		if (reserve(c, &m, &m.pairs[i], timeout_ms, pci[i], sizeof(pci[i])) < 0) {
			release_all(c, m.uuid, timeout_ms);
			vfo_client_close(c);
			free(xml);
			fprintf(stderr, "%s: %s: refusing migration\n", prog, dom);
			return 1;
		}
	}
	rc = rewrite(xml, &m, pci, &out);
	if (rc < 0) {
		if (c)
			release_all(c, m.uuid, timeout_ms);
		fprintf(stderr, "%s: %s: cannot rewrite the XML (%s): refusing migration\n", prog,
			dom, strerror(-rc));
	}
	vfo_client_close(c);
	free(xml);
	if (rc < 0)
		return 1;
	fputs(out, stdout);
	free(out);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DOMAIN OPERATION SUB-OPERATION EXTRA < domain.xml\n",
			prog);
		return 2;
	}
	if (!strcmp(argv[2], "migrate") && argc >= 4 && !strcmp(argv[3], "begin"))
		return migrate_begin(argv[1]);
	if (!strcmp(argv[2], "release") && argc >= 4 && !strcmp(argv[3], "end"))
		return release_end(argv[1]);
	return 0;
}
