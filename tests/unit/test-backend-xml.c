// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Backend device XML: generate, parse back with libxml2, check every
 * element and attribute; odd values must be escaped, invalid ones refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "backend.h"
#include "domxml.h"
#include "log.h"
#include "util.h"

static int n_errors;

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	(void)comp;
	(void)msg;
	(void)opaque;
	if (level <= VFO_LOG_ERR)
		n_errors++;
}

static const struct vfo_backend_vf vf = {
	.addr = "0000:3b:1f.7",
	.pf = "enp59s0f0",
	.index = 12,
	.iommu_group = 40,
};

static struct vfo_pair_spec spec(const char *mac, int vlan, const char *alias)
{
	struct vfo_pair_spec s = { .vlan = vlan };

	snprintf(s.mac, sizeof(s.mac), "%s", mac);
	snprintf(s.alias, sizeof(s.alias), "%s", alias);
	return s;
}

static xmlDocPtr parse(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "dev.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOBLANKS);

	assert_non_null(doc);
	return doc;
}

static size_t n_attrs(xmlNodePtr n)
{
	size_t k = 0;
	xmlAttrPtr a;

	for (a = n->properties; a; a = a->next)
		k++;
	return k;
}

static void expect_attr(xmlNodePtr n, const char *name, const char *want)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);

	if (!v)
		fail_msg("<%s> has no %s", n->name, name);
	assert_string_equal((const char *)v, want);
	xmlFree(v);
}

/* The element children of n, in order. */
static size_t elements(xmlNodePtr n, xmlNodePtr *out, size_t max)
{
	size_t k = 0;

	for (n = n->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && k < max)
			out[k++] = n;
		else if (n->type == XML_ELEMENT_NODE)
			k++;
	return k;
}

static void expect_name(xmlNodePtr n, const char *name)
{
	assert_string_equal((const char *)n->name, name);
}

static struct vfo_backend *mk(const struct vfo_backend_ops *ops, const struct vfo_backend_cfg *cfg)
{
	struct vfo_backend *be;

	assert_int_equal(vfo_backend_new(ops, cfg, &be), 0);
	return be;
}

static void test_sriov_full(void **state)
{
	struct vfo_backend_cfg cfg = { .driver = "vfio-pci", .xml_driver_vfio = true };
	struct vfo_backend *be = mk(&vfo_backend_sriov, &cfg);
	struct vfo_pair_spec s = spec("52:54:00:aa:bb:cc", 100, "ua-vfo-net0");
	xmlNodePtr root, ch[8], sub[4];
	xmlDocPtr doc;
	char *xml;

	(void)state;
	assert_int_equal(vfo_backend_device_xml(be, &vf, &s, &xml), 0);
	doc = parse(xml);
	root = xmlDocGetRootElement(doc);
	expect_name(root, "interface");
	assert_int_equal(n_attrs(root), 2);
	expect_attr(root, "type", "hostdev");
	expect_attr(root, "managed", "yes");
	assert_int_equal(elements(root, ch, 8), 5);
	expect_name(ch[0], "mac");
	assert_int_equal(n_attrs(ch[0]), 1);
	expect_attr(ch[0], "address", "52:54:00:aa:bb:cc");
	expect_name(ch[1], "driver");
	expect_attr(ch[1], "name", "vfio");
	expect_name(ch[2], "source");
	assert_int_equal(elements(ch[2], sub, 4), 1);
	expect_name(sub[0], "address");
	assert_int_equal(n_attrs(sub[0]), 5);
	expect_attr(sub[0], "type", "pci");
	expect_attr(sub[0], "domain", "0x0000");
	expect_attr(sub[0], "bus", "0x3b");
	expect_attr(sub[0], "slot", "0x1f");
	expect_attr(sub[0], "function", "0x7");
	expect_name(ch[3], "vlan");
	assert_int_equal(elements(ch[3], sub, 4), 1);
	expect_name(sub[0], "tag");
	expect_attr(sub[0], "id", "100");
	expect_name(ch[4], "alias");
	expect_attr(ch[4], "name", "ua-vfo-net0");
	xmlFreeDoc(doc);
	free(xml);
	vfo_backend_free(be);
}

static void test_sriov_minimal(void **state)
{
	struct vfo_backend_cfg cfg = { 0 };
	struct vfo_backend *be = mk(&vfo_backend_sriov, &cfg);
	struct vfo_pair_spec s = spec("02:00:00:00:00:01", 0, "ua-x");
	struct vfo_backend_vf v2 = vf;
	xmlNodePtr root, ch[8], sub[2];
	xmlDocPtr doc;
	char *xml;

	(void)state;
	/* libvirt wants a 16-bit PCI domain in hostdev addresses */
	v2.addr = "10000:00:02.0";
	assert_int_equal(vfo_backend_device_xml(be, &v2, &s, &xml), -EINVAL);
	assert_null(xml);
	v2.addr = "abcd:00:02.0";
	assert_int_equal(vfo_backend_device_xml(be, &v2, &s, &xml), 0);
	doc = parse(xml);
	root = xmlDocGetRootElement(doc);
	/* no VLAN, no driver element */
	assert_int_equal(elements(root, ch, 8), 3);
	expect_name(ch[0], "mac");
	expect_name(ch[1], "source");
	expect_name(ch[2], "alias");
	elements(ch[1], sub, 2);
	expect_attr(sub[0], "domain", "0xabcd");
	expect_attr(sub[0], "bus", "0x00");
	expect_attr(sub[0], "slot", "0x02");
	expect_attr(sub[0], "function", "0x0");
	xmlFreeDoc(doc);
	free(xml);
	vfo_backend_free(be);
}

static void test_emulated(void **state)
{
	struct vfo_backend_cfg cfg = { .bridge = "br-vfo0" };
	struct vfo_backend *be = mk(&vfo_backend_emulated, &cfg);
	struct vfo_pair_spec s = spec("52:54:00:01:02:03", 5, "ua-vfo-n_1");
	struct vfo_backend_vf ev = { .addr = "emu:demo/0", .index = 0, .iommu_group = -1 };
	xmlNodePtr root, ch[8];
	json_object *saved;
	xmlDocPtr doc;
	char *xml;

	(void)state;
	assert_int_equal(vfo_backend_device_xml(be, &ev, &s, &xml), 0);
	doc = parse(xml);
	root = xmlDocGetRootElement(doc);
	expect_name(root, "interface");
	assert_int_equal(n_attrs(root), 1);
	expect_attr(root, "type", "bridge");
	assert_int_equal(elements(root, ch, 8), 4);
	expect_name(ch[0], "mac");
	expect_attr(ch[0], "address", "52:54:00:01:02:03");
	expect_name(ch[1], "source");
	assert_int_equal(n_attrs(ch[1]), 1);
	expect_attr(ch[1], "bridge", "br-vfo0");
	expect_name(ch[2], "model");
	expect_attr(ch[2], "type", "e1000e");
	expect_name(ch[3], "alias");
	expect_attr(ch[3], "name", "ua-vfo-n_1");
	xmlFreeDoc(doc);
	free(xml);
	/* nothing to do on the host */
	assert_int_equal(vfo_backend_prepare_vf(be, &ev, &s, &saved), 0);
	assert_null(saved);
	assert_int_equal(vfo_backend_release_vf(be, &ev, NULL), 0);
	vfo_backend_free(be);

	cfg.model = "virtio";
	be = mk(&vfo_backend_emulated, &cfg);
	assert_int_equal(vfo_backend_device_xml(be, &ev, &s, &xml), 0);
	assert_non_null(strstr(xml, "<model type=\"virtio\"/>"));
	free(xml);
	vfo_backend_free(be);
}

static void test_escaping(void **state)
{
	/* a legal Linux interface name full of XML metacharacters */
	struct vfo_backend_cfg cfg = { .bridge = "b<&'\"r>" };
	struct vfo_backend *be = mk(&vfo_backend_emulated, &cfg);
	struct vfo_pair_spec s = spec("52:54:00:01:02:03", 0, "ua-a");
	struct vfo_backend_vf ev = { .addr = "emu:d/0" };
	xmlNodePtr root, ch[8];
	xmlDocPtr doc;
	char *xml;

	(void)state;
	assert_int_equal(vfo_backend_device_xml(be, &ev, &s, &xml), 0);
	/* raw metacharacters never appear inside the attribute */
	assert_null(strstr(xml, "b<&"));
	assert_non_null(strstr(xml, "&lt;"));
	assert_non_null(strstr(xml, "&amp;"));
	doc = parse(xml);
	root = xmlDocGetRootElement(doc);
	assert_int_equal(elements(root, ch, 8), 4);
	expect_attr(ch[1], "bridge", "b<&'\"r>");
	xmlFreeDoc(doc);
	free(xml);
	vfo_backend_free(be);
}

static void test_reject_bad_values(void **state)
{
	static const char *const bad_mac[] = {
		"",
		"52:54:00:aa:bb",
		"52:54:00:aa:bb:c",
		"52:54:00:aa:bb:cg",
		"01:00:5e:00:00:01", /* multicast */
		"ff:ff:ff:ff:ff:ff", /* broadcast */
		"00:00:00:00:00:00",
		"52:54:00:aa:bb:c'",
		"52-54-00-aa-bb-cc",
	};
	static const char *const bad_alias[] = {
		"",	  "net0",    "ua-",	    "ua-a'b", "ua-a b",
		"ua-a<b", "ua-a\"b", "ua-\xc3\xa9", "UA-x",   "ua-a/b",
	};
	static const char *const bad_addr[] = {
		"emu:demo/0",	 "0000:3b:20.0", "0000:3b:1f.8", "0000:3b:1f",
		"0000:3b:1f.7 ", " 000:3b:1f.7", "0x00:3b:1f.7", "",
	};
	struct vfo_backend_cfg cfg = { .bridge = "br0" };
	struct vfo_backend *sr = mk(&vfo_backend_sriov, &cfg);
	struct vfo_backend *em = mk(&vfo_backend_emulated, &cfg);
	struct vfo_backend_vf v2 = vf;
	struct vfo_pair_spec s;
	json_object *saved;
	char *xml;
	size_t i;

	(void)state;
	for (i = 0; i < VFO_ARRAY_SIZE(bad_mac); i++) {
		s = spec(bad_mac[i], 0, "ua-ok");
		if (vfo_backend_device_xml(sr, &vf, &s, &xml) != -EINVAL ||
		    vfo_backend_device_xml(em, &vf, &s, &xml) != -EINVAL)
			fail_msg("MAC '%s' accepted", bad_mac[i]);
		assert_null(xml);
		/* and never reaches netlink */
		assert_int_equal(vfo_backend_prepare_vf(sr, &vf, &s, &saved), -EINVAL);
	}
	for (i = 0; i < VFO_ARRAY_SIZE(bad_alias); i++) {
		s = spec("52:54:00:aa:bb:cc", 0, bad_alias[i]);
		if (vfo_backend_device_xml(sr, &vf, &s, &xml) != -EINVAL ||
		    vfo_backend_device_xml(em, &vf, &s, &xml) != -EINVAL)
			fail_msg("alias '%s' accepted", bad_alias[i]);
	}
	s = spec("52:54:00:aa:bb:cc", 0, "ua-ok");
	for (i = 0; i < VFO_ARRAY_SIZE(bad_addr); i++) {
		v2.addr = bad_addr[i];
		if (vfo_backend_device_xml(sr, &v2, &s, &xml) != -EINVAL)
			fail_msg("address '%s' accepted", bad_addr[i]);
	}
	s = spec("52:54:00:aa:bb:cc", 4095, "ua-ok");
	assert_int_equal(vfo_backend_device_xml(sr, &vf, &s, &xml), -EINVAL);
	assert_int_equal(vfo_backend_prepare_vf(sr, &vf, &s, &saved), -EINVAL);
	s = spec("52:54:00:aa:bb:cc", -1, "ua-ok");
	assert_int_equal(vfo_backend_device_xml(sr, &vf, &s, &xml), -EINVAL);
	vfo_backend_free(sr);
	vfo_backend_free(em);
}

static void test_emulated_bad_cfg(void **state)
{
	static const char *const bad_bridge[] = {
		NULL, "", "a/b", "a b", "a:b", ".", "..", "sixteen-chars-xx",
	};
	struct vfo_backend_cfg cfg = { 0 };
	struct vfo_backend *be;
	size_t i;

	(void)state;
	n_errors = 0;
	for (i = 0; i < VFO_ARRAY_SIZE(bad_bridge); i++) {
		cfg.bridge = bad_bridge[i];
		assert_int_equal(vfo_backend_new(&vfo_backend_emulated, &cfg, &be), -EINVAL);
		assert_null(be);
	}
	cfg.bridge = "br0";
	cfg.model = "e1000e'/><x";
	assert_int_equal(vfo_backend_new(&vfo_backend_emulated, &cfg, &be), -EINVAL);
	/* each refusal says why */
	assert_int_equal(n_errors, (int)VFO_ARRAY_SIZE(bad_bridge) + 1);
	cfg.model = "rtl8139";
	assert_int_equal(vfo_backend_new(&vfo_backend_emulated, &cfg, &be), 0);
	vfo_backend_free(be);
	vfo_backend_free(NULL);
}

static void test_lookup(void **state)
{
	(void)state;
	assert_ptr_equal(vfo_backend_lookup("sriov"), &vfo_backend_sriov);
	assert_ptr_equal(vfo_backend_lookup("emulated"), &vfo_backend_emulated);
	assert_null(vfo_backend_lookup("SRIOV"));
	assert_null(vfo_backend_lookup(NULL));
	assert_string_equal(vfo_backend_sriov.name, "sriov");
	assert_non_null(vfo_backend_sriov.device_xml);
	assert_non_null(vfo_backend_emulated.device_xml);
}

static void test_pci_addr(void **state)
{
	unsigned int d, b, s, f;

	(void)state;
	/* longer than struct vfo_pair_spec can carry, checked directly */
	assert_false(vfo_xml_alias_valid("ua-01234567890123456789012345678901"
					 "234567890123456789012345678901"));
	assert_true(vfo_xml_alias_valid("ua-01234567890123456789012345678901"
					"23456789012345678901234567"));
	assert_int_equal(vfo_pci_addr_parse("0000:03:10.1", &d, &b, &s, &f), 0);
	assert_int_equal(b, 3);
	assert_int_equal(s, 0x10);
	assert_int_equal(f, 1);
	assert_int_equal(vfo_pci_addr_parse("10000:03:10.1", &d, &b, &s, &f), 0);
	assert_int_equal(d, 0x10000);
	assert_int_equal(vfo_pci_addr_parse("0000:03:10.1x", &d, &b, &s, &f), -EINVAL);
	assert_int_equal(vfo_pci_addr_parse("0000:003:10.1", &d, &b, &s, &f), -EINVAL);
	assert_int_equal(vfo_pci_addr_parse(NULL, &d, &b, &s, &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sriov_full),
		cmocka_unit_test(test_sriov_minimal),
		cmocka_unit_test(test_emulated),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_reject_bad_values),
		cmocka_unit_test(test_emulated_bad_cfg),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_pci_addr),
	};
	int r;

	vfo_log_set_sink(sink, NULL);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}
