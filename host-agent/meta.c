// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "domxml.h"
#include "meta.h"
#include "util.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...) VFO_PRINTF(3, 4);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool vfo_meta_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= sizeof(((struct vfo_meta_pair *)0)->id))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!isalnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

static bool name_valid(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && !strchr("_-.:@", c))
			return false;
	}
	return true;
}

static xmlDocPtr parse_doc(const char *xml, size_t len)
{
	if (!xml || len == 0 || len > 16 * 1024 * 1024)
		return NULL;
	/* No network, no entity expansion from outside: the XML may come from
	 * stdin of a hook. */
	return xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlXPathObjectPtr xpath(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	ctx->node = node;
	return xmlXPathEvalExpression(BAD_CAST expr, ctx);
}

/* The string value of expr evaluated at node into buf; false if empty. */
static bool xpath_str(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr, char *buf,
		      size_t len)
{
	xmlXPathObjectPtr o = xpath(ctx, node, expr);
	xmlChar *s;
	bool ok = false;

	buf[0] = '\0';
	if (!o)
		return false;
	s = xmlXPathCastToString(o);
	if (s && s[0] && strlen((const char *)s) < len) {
		strcpy(buf, (const char *)s);
		ok = true;
	}
	xmlFree(s);
	xmlXPathFreeObject(o);
	return ok;
}

static size_t xpath_nodes(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr,
			  xmlNodePtr *out, size_t max)
{
	xmlXPathObjectPtr o = xpath(ctx, node, expr);
	size_t n = 0;

	if (!o)
		return 0;
	if (o->type == XPATH_NODESET && o->nodesetval) {
		for (int i = 0; i < o->nodesetval->nodeNr && n < max; i++)
			out[n++] = o->nodesetval->nodeTab[i];
		if ((size_t)o->nodesetval->nodeNr > max)
			n = max + 1;
	}
	xmlXPathFreeObject(o);
	return n;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int parse_pair(xmlXPathContextPtr ctx, xmlNodePtr node, struct vfo_meta_pair *p, char *err,
		      size_t errlen)
{
	char vlan[16];

	memset(p, 0, sizeof(*p));
	p->vlan = -1;
	if (!xpath_str(ctx, node, "string(@id)", p->id, sizeof(p->id)) ||
	    !vfo_meta_id_valid(p->id)) {
		set_err(err, errlen, "pair without a valid id ([A-Za-z0-9_-], up to 31 chars)");
		return -EBADMSG;
	}
	if (!xpath_str(ctx, node, "string(@mac)", p->mac, sizeof(p->mac)) ||
	    !vfo_xml_mac_valid(p->mac)) {
		set_err(err, errlen, "pair %s: missing or invalid mac", p->id);
		return -EBADMSG;
	}
	lower(p->mac);
	if (!xpath_str(ctx, node, "string(@pool)", p->pool, sizeof(p->pool)) ||
	    !name_valid(p->pool, sizeof(p->pool))) {
		set_err(err, errlen, "pair %s: missing or invalid pool", p->id);
		return -EBADMSG;
	}
	if (!xpath_str(ctx, node, "string(@standby)", p->standby, sizeof(p->standby)) ||
	    !name_valid(p->standby, sizeof(p->standby))) {
		set_err(err, errlen, "pair %s: missing or invalid standby alias", p->id);
		return -EBADMSG;
	}
	if (xpath_str(ctx, node, "string(@vlan)", vlan, sizeof(vlan))) {
		char *end;
		long v = strtol(vlan, &end, 10);

		if (*end || v < 0 || v > 4094) {
			set_err(err, errlen, "pair %s: vlan must be 0-4094", p->id);
			return -EBADMSG;
		}
		p->vlan = (int)v;
	}
	snprintf(p->vf_alias, sizeof(p->vf_alias), VFO_META_VF_ALIAS_PREFIX "%s", p->id);
	return 0;
}

/* Find the pair's VF and standby interfaces among the devices. */
static void find_devices(xmlXPathContextPtr ctx, xmlNodePtr root, struct vfo_meta_pair *p)
{
	char expr[256], type[16], dom[8], bus[8], slot[8], fn[8];
	xmlNodePtr ifc;

	snprintf(expr, sizeof(expr), "/domain/devices/interface[alias/@name='%s']", p->vf_alias);
	if (xpath_nodes(ctx, root, expr, &ifc, 1) == 1) {
		xpath_str(ctx, ifc, "string(@type)", type, sizeof(type));
		if (!strcmp(type, "hostdev")) {
			p->vf_kind = VFO_META_VF_HOSTDEV;
			if (xpath_str(ctx, ifc, "string(source/address/@domain)", dom,
				      sizeof(dom)) &&
			    xpath_str(ctx, ifc, "string(source/address/@bus)", bus, sizeof(bus)) &&
			    xpath_str(ctx, ifc, "string(source/address/@slot)", slot,
				      sizeof(slot)) &&
			    xpath_str(ctx, ifc, "string(source/address/@function)", fn, sizeof(fn)))
				snprintf(p->vf_pci, sizeof(p->vf_pci), "%04lx:%02lx:%02lx.%lx",
					 strtoul(dom, NULL, 0), strtoul(bus, NULL, 0),
					 strtoul(slot, NULL, 0), strtoul(fn, NULL, 0));
		} else {
			p->vf_kind = VFO_META_VF_BRIDGE;
		}
		xpath_str(ctx, ifc, "string(teaming/@type)", type, sizeof(type));
		p->vf_teaming = !strcmp(type, "transient");
		/* libvirt takes <teaming type='transient'> on hostdevs only; an
		 * emulated stand-in is made QEMU's failover primary with a
		 * failover_pair_id property set through <qemu:override>. */
		snprintf(expr, sizeof(expr),
			 "/domain/qemu:override/qemu:device[@alias='%s']/qemu:frontend/"
			 "qemu:property[@name='failover_pair_id']",
			 p->vf_alias);
		if (!p->vf_teaming && xpath_nodes(ctx, root, expr, &ifc, 1) == 1)
			p->vf_teaming = true;
	}
	snprintf(expr, sizeof(expr), "/domain/devices/interface[alias/@name='%s']", p->standby);
	p->standby_present = xpath_nodes(ctx, root, expr, &ifc, 1) == 1;
}

int vfo_meta_parse(const char *xml, size_t len, struct vfo_meta *m, char *err, size_t errlen)
{
	xmlNodePtr pairs[VFO_META_MAX_PAIRS + 1], root;
	xmlXPathContextPtr ctx = NULL;
	xmlDocPtr doc;
	char type[16];
	size_t n;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	doc = parse_doc(xml, len);
	if (!doc) {
		set_err(err, errlen, "domain XML does not parse");
		return -EBADMSG;
	}
	root = xmlDocGetRootElement(doc);
	ctx = xmlXPathNewContext(doc);
	if (!root || !ctx || xmlStrcmp(root->name, BAD_CAST "domain")) {
		set_err(err, errlen, "not a <domain> document");
		rc = -EBADMSG;
		goto out;
	}
	xmlXPathRegisterNs(ctx, BAD_CAST VFO_META_PREFIX, BAD_CAST VFO_META_NS);
	xmlXPathRegisterNs(ctx, BAD_CAST "qemu",
			   BAD_CAST "http://libvirt.org/schemas/domain/qemu/1.0");
	xpath_str(ctx, root, "string(/domain/name)", m->name, sizeof(m->name));
	xpath_str(ctx, root, "string(/domain/uuid)", m->uuid, sizeof(m->uuid));

	n = xpath_nodes(ctx, root, "/domain/metadata/vfo:failover/vfo:pair", pairs,
			VFO_META_MAX_PAIRS);
	if (n == 0) {
		rc = -ENODATA;
		goto out;
	}
	if (n > VFO_META_MAX_PAIRS) {
		set_err(err, errlen, "more than %d pairs", VFO_META_MAX_PAIRS);
		rc = -EBADMSG;
		goto out;
	}
	if (!m->name[0]) {
		set_err(err, errlen, "domain has no name");
		rc = -EBADMSG;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rc = parse_pair(ctx, pairs[i], &m->pairs[i], err, errlen);
		if (rc < 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(m->pairs[j].id, m->pairs[i].id) ||
			    !strcmp(m->pairs[j].mac, m->pairs[i].mac)) {
				set_err(err, errlen, "pairs %s and %s share an id or a mac",
					m->pairs[j].id, m->pairs[i].id);
				rc = -EBADMSG;
				goto out;
			}
		}
		find_devices(ctx, root, &m->pairs[i]);
		m->n_pairs++;
	}
	xpath_str(ctx, root,
		  "string(/domain/devices/channel[@type='unix'][target/@name='" VFO_META_CHANNEL
		  "']/source/@path)",
		  m->channel_path, sizeof(m->channel_path));
	xpath_str(ctx, root, "string(/domain/devices/interface/teaming[@type='persistent']/@type)",
		  type, sizeof(type));
	m->teaming = type[0] != '\0';
out:
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return rc;
}

/* parse_doc() and an XPath context with vfo's and QEMU's namespaces. */
static int open_doc(const char *xml, size_t len, xmlDocPtr *doc, xmlXPathContextPtr *ctx)
{
	*doc = parse_doc(xml, len);
	if (!*doc)
		return -EBADMSG;
	*ctx = xmlXPathNewContext(*doc);
	if (!*ctx) {
		xmlFreeDoc(*doc);
		return -ENOMEM;
	}
	xmlXPathRegisterNs(*ctx, BAD_CAST VFO_META_PREFIX, BAD_CAST VFO_META_NS);
	xmlXPathRegisterNs(*ctx, BAD_CAST "qemu",
			   BAD_CAST "http://libvirt.org/schemas/domain/qemu/1.0");
	return 0;
}

int vfo_meta_pair_vf(const char *xml, size_t len, struct vfo_meta_pair *p)
{
	xmlXPathContextPtr ctx;
	xmlDocPtr doc;
	int rc = open_doc(xml, len, &doc, &ctx);

	if (rc < 0)
		return rc;
	p->vf_kind = VFO_META_VF_NONE;
	p->vf_pci[0] = '\0';
	p->vf_teaming = false;
	find_devices(ctx, xmlDocGetRootElement(doc), p);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return p->vf_kind != VFO_META_VF_NONE;
}

int vfo_meta_standby_port(const char *xml, size_t len, const char *alias, char *dev, size_t devlen,
			  char *bridge, size_t brlen)
{
	xmlXPathContextPtr ctx;
	xmlNodePtr ifc;
	char expr[160];
	xmlDocPtr doc;
	int rc;

	if (!name_valid(alias, 64))
		return -EINVAL;
	rc = open_doc(xml, len, &doc, &ctx);
	if (rc < 0)
		return rc;
	rc = -ENOENT;
	snprintf(expr, sizeof(expr), "/domain/devices/interface[@type='bridge'][alias/@name='%s']",
		 alias);
	if (xpath_nodes(ctx, xmlDocGetRootElement(doc), expr, &ifc, 1) == 1 &&
	    xpath_str(ctx, ifc, "string(target/@dev)", dev, devlen) &&
	    xpath_str(ctx, ifc, "string(source/@bridge)", bridge, brlen) &&
	    vfo_xml_ifname_valid(dev) && vfo_xml_ifname_valid(bridge))
		rc = 0;
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return rc;
}

const struct vfo_meta_pair *vfo_meta_find_pair(const struct vfo_meta *m, const char *id)
{
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (!strcmp(m->pairs[i].id, id))
			return &m->pairs[i];
	}
	return NULL;
}

static int dump_doc(xmlDocPtr doc, char **out)
{
	xmlChar *mem = NULL;
	int size = 0;

	xmlDocDumpMemory(doc, &mem, &size);
	if (!mem)
		return -ENOMEM;
	*out = strndup((const char *)mem, (size_t)size);
	xmlFree(mem);
	return *out ? 0 : -ENOMEM;
}

int vfo_meta_strip_vfs(const char *xml, size_t len, const char *id, char **out)
{
	xmlNodePtr nodes[64];
	xmlXPathContextPtr ctx;
	char expr[160];
	xmlDocPtr doc;
	size_t n;
	int rc;

	*out = NULL;
	if (id && !vfo_meta_id_valid(id))
		return -EINVAL;
	if (id)
		snprintf(expr, sizeof(expr), "/domain/devices/interface[alias/@name='%s%s']",
			 VFO_META_VF_ALIAS_PREFIX, id);
	else
		snprintf(expr, sizeof(expr),
			 "/domain/devices/interface[starts-with(alias/@name, '%s')]",
			 VFO_META_VF_ALIAS_PREFIX);
	doc = parse_doc(xml, len);
	if (!doc)
		return -EBADMSG;
	ctx = xmlXPathNewContext(doc);
	if (!ctx) {
		xmlFreeDoc(doc);
		return -ENOMEM;
	}
	n = xpath_nodes(ctx, xmlDocGetRootElement(doc), expr, nodes, VFO_ARRAY_SIZE(nodes) - 1);
	for (size_t i = 0; i < n && i < VFO_ARRAY_SIZE(nodes) - 1; i++) {
		xmlUnlinkNode(nodes[i]);
		xmlFreeNode(nodes[i]);
	}
	rc = dump_doc(doc, out);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return rc;
}

static void set_prop_hex(xmlNodePtr node, const char *name, unsigned int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%x", v);
	xmlSetProp(node, BAD_CAST name, BAD_CAST buf);
}

int vfo_meta_set_vf_source(const char *xml, size_t len, const char *id, const char *pci, char **out)
{
	unsigned int d, b, s, f;
	xmlXPathContextPtr ctx;
	xmlNodePtr addr;
	xmlDocPtr doc;
	char expr[256];
	int rc;

	*out = NULL;
	if (!vfo_meta_id_valid(id) || vfo_pci_addr_parse(pci, &d, &b, &s, &f) < 0)
		return -EINVAL;
	doc = parse_doc(xml, len);
	if (!doc)
		return -EBADMSG;
	ctx = xmlXPathNewContext(doc);
	if (!ctx) {
		xmlFreeDoc(doc);
		return -ENOMEM;
	}
	snprintf(expr, sizeof(expr),
		 "/domain/devices/interface[@type='hostdev'][alias/@name='" VFO_META_VF_ALIAS_PREFIX
		 "%s']/source/address",
		 id);
	if (xpath_nodes(ctx, xmlDocGetRootElement(doc), expr, &addr, 1) != 1) {
		rc = -ENOENT;
		goto out;
	}
	xmlSetProp(addr, BAD_CAST "type", BAD_CAST "pci");
	set_prop_hex(addr, "domain", d);
	set_prop_hex(addr, "bus", b);
	set_prop_hex(addr, "slot", s);
	set_prop_hex(addr, "function", f);
	rc = dump_doc(doc, out);
out:
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return rc;
}

int vfo_meta_format(const struct vfo_meta *m, char **out)
{
	xmlNodePtr root;
	xmlBufferPtr buf;
	xmlDocPtr doc;
	xmlNsPtr ns;
	int rc = 0;

	*out = NULL;
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = xmlNewNode(NULL, BAD_CAST "failover");
	ns = xmlNewNs(root, BAD_CAST VFO_META_NS, BAD_CAST VFO_META_PREFIX);
	xmlSetNs(root, ns);
	xmlDocSetRootElement(doc, root);
	for (size_t i = 0; i < m->n_pairs; i++) {
		const struct vfo_meta_pair *p = &m->pairs[i];
		xmlNodePtr pn = xmlNewChild(root, ns, BAD_CAST "pair", NULL);
		char vlan[16];

		xmlSetProp(pn, BAD_CAST "id", BAD_CAST p->id);
		xmlSetProp(pn, BAD_CAST "mac", BAD_CAST p->mac);
		xmlSetProp(pn, BAD_CAST "pool", BAD_CAST p->pool);
		xmlSetProp(pn, BAD_CAST "standby", BAD_CAST p->standby);
		if (p->vlan >= 0) {
			snprintf(vlan, sizeof(vlan), "%d", p->vlan);
			xmlSetProp(pn, BAD_CAST "vlan", BAD_CAST vlan);
		}
	}
	buf = xmlBufferCreate();
	if (!buf || xmlNodeDump(buf, doc, root, 0, 0) < 0) {
		rc = -ENOMEM;
	} else {
		*out = strdup((const char *)xmlBufferContent(buf));
		if (!*out)
			rc = -ENOMEM;
	}
	xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return rc;
}
