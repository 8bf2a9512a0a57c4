// SPDX-License-Identifier: LGPL-2.1-or-later
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "vfcfg.h"

static bool all_chars(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

bool vfo_xml_alias_valid(const char *alias)
{
	return alias && !strncmp(alias, "ua-", 3) && alias[3] && strlen(alias) < 64 &&
	       all_chars(alias + 3, "_-");
}

bool vfo_xml_mac_valid(const char *mac)
{
	static const uint8_t zero[6];
	uint8_t b[6];

	return vfo_mac_parse(mac, b) == 0 && !(b[0] & 1) && memcmp(b, zero, 6);
}

bool vfo_xml_ifname_valid(const char *name)
{
	const char *p;

	if (!name || !name[0] || strlen(name) >= 16 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			return false;
	return true;
}

bool vfo_xml_model_valid(const char *model)
{
	return model && model[0] && strlen(model) < 32 && all_chars(model, "_-");
}

int vfo_pci_addr_parse(const char *s, unsigned int *domain, unsigned int *bus, unsigned int *slot,
		       unsigned int *function)
{
	int n = 0;

	/* sscanf alone would take " 3" or "0x3" */
	if (!s || s[strspn(s, "0123456789abcdefABCDEF:.")])
		return -EINVAL;
	if (sscanf(s, "%8x:%2x:%2x.%1x%n", domain, bus, slot, function, &n) != 4 ||
	    (size_t)n != strlen(s) || !isxdigit(s[0]) || *slot > 0x1f || *function > 7 ||
	    strlen(s) < 12)
		return -EINVAL;
	return 0;
}

xmlNodePtr vfo_xml_add(xmlNodePtr parent, const char *name, ...)
{
	const char *k, *v;
	xmlNodePtr node;
	va_list ap;

	node = parent ? xmlNewChild(parent, NULL, BAD_CAST name, NULL) :
			xmlNewNode(NULL, BAD_CAST name);
	if (!node)
		return NULL;
	va_start(ap, name);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!xmlNewProp(node, BAD_CAST k, BAD_CAST v)) {
			va_end(ap);
			return NULL; /* freed with the tree by the caller */
		}
	}
	va_end(ap);
	return node;
}

int vfo_xml_to_string(xmlNodePtr node, char **out)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlDocPtr doc;
	int r = 0;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	/* xmlNodeDump escapes attribute and text content for us */
	doc = node->doc;
	if (xmlNodeDump(buf, doc, node, 0, 1) < 0)
		r = -EIO;
	else if (!(*out = strdup((const char *)xmlBufferContent(buf))))
		r = -ENOMEM;
	xmlBufferFree(buf);
	return r;
}
