/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small libxml2 helpers for the device XML the backends produce: value
 * validation (what libvirt would reject must be rejected here, before a
 * hot-plug fails half-way) and serialisation of one element.
 */
#ifndef VFO_DOMXML_H
#define VFO_DOMXML_H

#include <stdbool.h>
#include <libxml/tree.h>

/* libvirt user alias: "ua-" then [A-Za-z0-9_-], at most 63 chars. */
bool vfo_xml_alias_valid(const char *alias);
/* A unicast, non-zero MAC in "xx:xx:xx:xx:xx:xx" form. */
bool vfo_xml_mac_valid(const char *mac);
/* Linux interface name rules (what a bridge may be called). */
bool vfo_xml_ifname_valid(const char *name);
/* A NIC model name: [A-Za-z0-9_-]{1,31}. */
bool vfo_xml_model_valid(const char *model);
/* "dddd:bb:ss.f" */
int vfo_pci_addr_parse(const char *s, unsigned int *domain, unsigned int *bus, unsigned int *slot,
		       unsigned int *function);

/* New element under parent (or a root element when parent is NULL) with
 * attributes given as name, value pairs, NULL terminated. */
xmlNodePtr vfo_xml_add(xmlNodePtr parent, const char *name, ...) __attribute__((sentinel));
/* Serialise node (and children) to a malloc'd, indented string. */
int vfo_xml_to_string(xmlNodePtr node, char **out);

#endif
