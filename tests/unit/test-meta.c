// SPDX-License-Identifier: LGPL-2.1-or-later
/* Domain metadata: parse, validate, strip the VFs, rewrite a VF source. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta.h"

#define DOM_HEAD                               \
	"<domain type='qemu'><name>vm1</name>" \
	"<uuid>5b0c3a56-7c3e-4d6c-9a43-0f8a6f0b1c11</uuid>"
#define META(pairs) \
	"<metadata><vfo:failover xmlns:vfo='" VFO_META_NS "'>" pairs "</vfo:failover></metadata>"
#define PAIR0                                                          \
	"<vfo:pair id='net0' mac='52:54:00:AA:00:01' pool='physnet1' " \
	"standby='ua-standby0' vlan='100'/>"
#define DEVICES                                                            \
	"<devices>"                                                        \
	"<interface type='bridge'><mac address='52:54:00:aa:00:01'/>"      \
	"<source bridge='br0'/><model type='virtio'/>"                     \
	"<alias name='ua-standby0'/></interface>"                          \
	"<interface type='hostdev' managed='yes'>"                         \
	"<mac address='52:54:00:aa:00:01'/><source><address type='pci' "   \
	"domain='0x0000' bus='0x03' slot='0x10' function='0x2'/></source>" \
	"<alias name='ua-vfo-net0'/></interface>"                          \
	"<channel type='unix'><source mode='bind' path='/run/vm1.chan'/>"  \
	"<target type='virtio' name='org.vfo.guest.0'/></channel>"         \
	"</devices>"

static const char full_xml[] = DOM_HEAD META(PAIR0) DEVICES "</domain>";

static int parse(const char *xml, struct vfo_meta *m, char *err)
{
	return vfo_meta_parse(xml, strlen(xml), m, err, 128);
}

static void test_parse_full(void **state)
{
	struct vfo_meta m;
	char err[128] = "";

	assert_int_equal(parse(full_xml, &m, err), 0);
	assert_string_equal(m.name, "vm1");
	assert_string_equal(m.uuid, "5b0c3a56-7c3e-4d6c-9a43-0f8a6f0b1c11");
	assert_string_equal(m.channel_path, "/run/vm1.chan");
	assert_int_equal(m.n_pairs, 1);
	assert_string_equal(m.pairs[0].id, "net0");
	assert_string_equal(m.pairs[0].mac, "52:54:00:aa:00:01"); /* lower-cased */
	assert_string_equal(m.pairs[0].pool, "physnet1");
	assert_int_equal(m.pairs[0].vlan, 100);
	assert_string_equal(m.pairs[0].vf_alias, "ua-vfo-net0");
	assert_int_equal(m.pairs[0].vf_kind, VFO_META_VF_HOSTDEV);
	assert_string_equal(m.pairs[0].vf_pci, "0000:03:10.2");
	assert_true(m.pairs[0].standby_present);
	assert_false(m.teaming);
	assert_non_null(vfo_meta_find_pair(&m, "net0"));
	assert_null(vfo_meta_find_pair(&m, "net1"));
}

static void test_not_ours(void **state)
{
	struct vfo_meta m;
	char err[128];

	assert_int_equal(parse(DOM_HEAD DEVICES "</domain>", &m, err), -ENODATA);
	/* Same element name, foreign namespace: still not ours. */
	assert_int_equal(parse(DOM_HEAD
			       "<metadata><x:failover xmlns:x='urn:other'>"
			       "<x:pair id='a' mac='52:54:00:00:00:01' pool='p' standby='s'/>"
			       "</x:failover></metadata></domain>",
			       &m, err),
			 -ENODATA);
}

static void test_bad_input(void **state)
{
	static const char *const bad[] = {
		"",
		"<domain",
		"<notdomain/>",
		DOM_HEAD META(
			"<vfo:pair mac='52:54:00:00:00:01' pool='p' standby='s'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a b' mac='52:54:00:00:00:01' pool='p' standby='s'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00' pool='p' standby='s'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='53:54:00:00:00:01' pool='p' standby='s'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00:0g' pool='p' standby='s'/>") "</domain>",
		DOM_HEAD META("<vfo:pair id='a' mac='52:54:00:00:00:01' standby='s'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p/x' standby='s'/>") "</domain>",
		DOM_HEAD META("<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p' standby='s' vlan='4095'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p' standby='s' vlan='1x'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p' standby='s'/>"
			"<vfo:pair id='a' mac='52:54:00:00:00:02' pool='p' standby='s'/>") "</domain>",
		DOM_HEAD META(
			"<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p' standby='s'/>"
			"<vfo:pair id='b' mac='52:54:00:00:00:01' pool='p' standby='s'/>") "</domain>",
		"<domain>" META(
			"<vfo:pair id='a' mac='52:54:00:00:00:01' pool='p' standby='s'/>") "</domain>",
	};
	struct vfo_meta m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";

		assert_int_equal(parse(bad[i], &m, err), -EBADMSG);
		if (i > 0)
			assert_true(err[0] != '\0');
	}
}

static void test_too_many_pairs(void **state)
{
	char xml[8192], pairs[6000] = "";
	struct vfo_meta m;
	char err[128];

	for (int i = 0; i <= VFO_META_MAX_PAIRS; i++) {
		char p[200];

		snprintf(p, sizeof(p),
			 "<vfo:pair id='p%d' mac='52:54:00:00:00:%02x' pool='x' standby='s%d'/>", i,
			 i + 1, i);
		strcat(pairs, p);
	}
	snprintf(xml, sizeof(xml),
		 DOM_HEAD "<metadata><vfo:failover xmlns:vfo='" VFO_META_NS
			  "'>%s</vfo:failover></metadata></domain>",
		 pairs);
	assert_int_equal(parse(xml, &m, err), -EBADMSG);
}

static void test_strip_vfs(void **state)
{
	struct vfo_meta m;
	char *out = NULL;
	char err[128];

	assert_int_equal(vfo_meta_strip_vfs(full_xml, strlen(full_xml), NULL, &out), 0);
	assert_non_null(out);
	assert_null(strstr(out, "ua-vfo-net0"));
	assert_non_null(strstr(out, "ua-standby0"));
	assert_int_equal(parse(out, &m, err), 0);
	assert_int_equal(m.pairs[0].vf_kind, VFO_META_VF_NONE);
	assert_true(m.pairs[0].standby_present);
	free(out);
	assert_int_equal(vfo_meta_strip_vfs("<domain", 7, NULL, &out), -EBADMSG);
	assert_null(out);
	/* One pair only; an unknown pair leaves the XML as it was. */
	assert_int_equal(vfo_meta_strip_vfs(full_xml, strlen(full_xml), "net0", &out), 0);
	assert_null(strstr(out, "ua-vfo-net0"));
	free(out);
	assert_int_equal(vfo_meta_strip_vfs(full_xml, strlen(full_xml), "net1", &out), 0);
	assert_non_null(strstr(out, "ua-vfo-net0"));
	free(out);
	assert_int_equal(vfo_meta_strip_vfs(full_xml, strlen(full_xml), "bad'id", &out), -EINVAL);
}

static void test_set_vf_source(void **state)
{
	struct vfo_meta m;
	char *out = NULL;
	char err[128];

	assert_int_equal(vfo_meta_set_vf_source(full_xml, strlen(full_xml), "net0", "0000:81:00.5",
						&out),
			 0);
	assert_int_equal(parse(out, &m, err), 0);
	assert_string_equal(m.pairs[0].vf_pci, "0000:81:00.5");
	free(out);
	assert_int_equal(vfo_meta_set_vf_source(full_xml, strlen(full_xml), "net9", "0000:81:00.5",
						&out),
			 -ENOENT);
	assert_int_equal(vfo_meta_set_vf_source(full_xml, strlen(full_xml), "net0", "0000:81:00",
						&out),
			 -EINVAL);
	assert_int_equal(vfo_meta_set_vf_source(full_xml, strlen(full_xml), "net0'", "0000:81:00.5",
						&out),
			 -EINVAL);
}

/* Teaming: <teaming type='transient'> on a hostdev VF, or an emulated
 * stand-in made QEMU's failover primary through <qemu:override>; an
 * override for another device or another property is no teaming. */
#define EMU_DEVICES(teaming)                                          \
	"<devices>"                                                   \
	"<interface type='bridge'><mac address='52:54:00:aa:00:01'/>" \
	"<source bridge='br0'/><model type='virtio'/>" teaming        \
	"<alias name='ua-standby0'/></interface>"                     \
	"<interface type='bridge'><mac address='52:54:00:aa:00:01'/>" \
	"<source bridge='br0'/><model type='e1000e'/>"                \
	"<alias name='ua-vfo-net0'/></interface>"                     \
	"</devices>"
#define OVERRIDE(alias, prop)                                                     \
	"<qemu:override xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>" \
	"<qemu:device alias='" alias "'><qemu:frontend>"                          \
	"<qemu:property name='" prop "' type='string' value='ua-standby0'/>"      \
	"</qemu:frontend></qemu:device></qemu:override>"

static void test_teaming(void **state)
{
	static const char transient[] =
		DOM_HEAD META(PAIR0) "<devices><interface type='hostdev' managed='yes'>"
				     "<source><address type='pci' domain='0x0000' bus='0x03' "
				     "slot='0x10' function='0x2'/></source>"
				     "<teaming type='transient' persistent='ua-standby0'/>"
				     "<alias name='ua-vfo-net0'/></interface></devices></domain>";
	static const char primary[] = DOM_HEAD META(PAIR0)
		EMU_DEVICES("<teaming type='persistent'/>")
			OVERRIDE("ua-vfo-net0", "failover_pair_id") "</domain>";
	static const char other_alias[] = DOM_HEAD META(PAIR0) EMU_DEVICES("")
		OVERRIDE("ua-standby0", "failover_pair_id") "</domain>";
	static const char other_prop[] = DOM_HEAD META(PAIR0) EMU_DEVICES("")
		OVERRIDE("ua-vfo-net0", "romfile") "</domain>";
	struct vfo_meta m;
	char err[128];

	assert_int_equal(parse(transient, &m, err), 0);
	assert_int_equal(m.pairs[0].vf_kind, VFO_META_VF_HOSTDEV);
	assert_true(m.pairs[0].vf_teaming);
	assert_int_equal(parse(primary, &m, err), 0);
	assert_int_equal(m.pairs[0].vf_kind, VFO_META_VF_BRIDGE);
	assert_true(m.pairs[0].vf_teaming);
	assert_true(m.teaming);
	assert_int_equal(parse(other_alias, &m, err), 0);
	assert_false(m.pairs[0].vf_teaming);
	assert_false(m.teaming);
	assert_int_equal(parse(other_prop, &m, err), 0);
	assert_false(m.pairs[0].vf_teaming);
	assert_int_equal(parse(full_xml, &m, err), 0);
	assert_false(m.pairs[0].vf_teaming);
}

static void test_format_round_trip(void **state)
{
	struct vfo_meta m, m2;
	char xml[4096], *meta = NULL;
	char err[128];

	assert_int_equal(parse(full_xml, &m, err), 0);
	assert_int_equal(vfo_meta_format(&m, &meta), 0);
	snprintf(xml, sizeof(xml), DOM_HEAD "<metadata>%s</metadata></domain>", meta);
	free(meta);
	assert_int_equal(parse(xml, &m2, err), 0);
	assert_int_equal(m2.n_pairs, 1);
	assert_string_equal(m2.pairs[0].mac, m.pairs[0].mac);
	assert_string_equal(m2.pairs[0].pool, m.pairs[0].pool);
	assert_string_equal(m2.pairs[0].standby, m.pairs[0].standby);
	assert_int_equal(m2.pairs[0].vlan, 100);
}

/* What the orchestrator reads back from the live XML after a plug: the
 * VF's presence and kind, whichever backend plugged it. */
static void test_pair_vf(void **state)
{
	static const char emulated[] = DOM_HEAD META(
		PAIR0) "<devices><interface type='bridge'><mac address='52:54:00:aa:00:01'/>"
		       "<source bridge='br0'/><target dev='vnet0'/><model type='virtio'/>"
		       "<alias name='ua-standby0'/></interface>"
		       "<interface type='bridge'><mac address='52:54:00:aa:00:01'/>"
		       "<source bridge='br0'/><target dev='vnet1'/><model type='e1000e'/>"
		       "<alias name='ua-vfo-net0'/></interface></devices></domain>";
	static const char none[] = DOM_HEAD META(
		PAIR0) "<devices><interface type='bridge'><mac address='52:54:00:aa:00:01'/>"
		       "<source bridge='br0'/><alias name='ua-standby0'/></interface></devices>"
		       "</domain>";
	struct vfo_meta m;
	struct vfo_meta_pair p;
	char err[128];

	assert_int_equal(parse(full_xml, &m, err), 0);
	p = m.pairs[0];
	p.vf_kind = VFO_META_VF_BRIDGE; /* stale: a hostdev is what is there */
	assert_int_equal(vfo_meta_pair_vf(full_xml, strlen(full_xml), &p), 1);
	assert_int_equal(p.vf_kind, VFO_META_VF_HOSTDEV);
	assert_string_equal(p.vf_pci, "0000:03:10.2");
	assert_int_equal(vfo_meta_pair_vf(emulated, strlen(emulated), &p), 1);
	assert_int_equal(p.vf_kind, VFO_META_VF_BRIDGE);
	assert_string_equal(p.vf_pci, "");
	assert_int_equal(vfo_meta_pair_vf(none, strlen(none), &p), 0);
	assert_int_equal(p.vf_kind, VFO_META_VF_NONE);
	assert_true(p.standby_present);
	assert_int_equal(vfo_meta_pair_vf("<domain", 7, &p), -EBADMSG);
}

static void test_standby_port(void **state)
{
	static const char live[] = DOM_HEAD META(
		PAIR0) "<devices><interface type='bridge'><mac address='52:54:00:aa:00:01'/>"
		       "<source bridge='vfobr0'/><target dev='vnet7'/><model type='virtio'/>"
		       "<alias name='ua-standby0'/></interface></devices></domain>";
	static const char direct[] = DOM_HEAD META(
		PAIR0) "<devices><interface type='direct'><source dev='eth0' mode='bridge'/>"
		       "<target dev='macvtap0'/><alias name='ua-standby0'/></interface></devices>"
		       "</domain>";
	char dev[16], br[16];

	assert_int_equal(vfo_meta_standby_port(live, strlen(live), "ua-standby0", dev, sizeof(dev),
					       br, sizeof(br)),
			 0);
	assert_string_equal(dev, "vnet7");
	assert_string_equal(br, "vfobr0");
	/* Inactive XML: no tap yet. */
	assert_int_equal(vfo_meta_standby_port(full_xml, strlen(full_xml), "ua-standby0", dev,
					       sizeof(dev), br, sizeof(br)),
			 -ENOENT);
	/* macvtap: no bridge port of ours to speak of. */
	assert_int_equal(vfo_meta_standby_port(direct, strlen(direct), "ua-standby0", dev,
					       sizeof(dev), br, sizeof(br)),
			 -ENOENT);
	assert_int_equal(vfo_meta_standby_port(live, strlen(live), "ua-other", dev, sizeof(dev), br,
					       sizeof(br)),
			 -ENOENT);
	/* An alias is put into an XPath expression: only valid names. */
	assert_int_equal(vfo_meta_standby_port(live, strlen(live), "a']|//x['", dev, sizeof(dev),
					       br, sizeof(br)),
			 -EINVAL);
}

static void test_validators(void **state)
{
	assert_true(vfo_meta_id_valid("net0"));
	assert_true(vfo_meta_id_valid("a_b-9"));
	assert_false(vfo_meta_id_valid(""));
	assert_false(vfo_meta_id_valid("0123456789012345678901234567890123"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),	  cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_bad_input),	  cmocka_unit_test(test_too_many_pairs),
		cmocka_unit_test(test_strip_vfs),	  cmocka_unit_test(test_set_vf_source),
		cmocka_unit_test(test_format_round_trip), cmocka_unit_test(test_validators),
		cmocka_unit_test(test_teaming),		  cmocka_unit_test(test_pair_vf),
		cmocka_unit_test(test_standby_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
