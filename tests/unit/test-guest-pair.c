// SPDX-License-Identifier: LGPL-2.1-or-later
/* Pairing of standbys and VFs (guest-agent/pair.c), with odd inventories. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pair.h"

#define MAC_A "52:54:00:00:00:0a"
#define MAC_B "52:54:00:00:00:0b"

static void set_mac(uint8_t *dst, uint8_t *len, const char *s)
{
	unsigned int b[6];

	assert_int_equal(sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]),
			 6);
	for (int i = 0; i < 6; i++)
		dst[i] = (uint8_t)b[i];
	*len = 6;
}

static struct vfo_nl_link nic(int ifindex, const char *name, const char *driver, const char *pci,
			      const char *mac)
{
	struct vfo_nl_link l;

	memset(&l, 0, sizeof(l));
	l.ifindex = ifindex;
	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.driver, sizeof(l.driver), "%s", driver);
	snprintf(l.pci_addr, sizeof(l.pci_addr), "%s", pci);
	l.type = 1;
	set_mac(l.addr, &l.addr_len, mac);
	set_mac(l.perm_addr, &l.perm_addr_len, mac);
	return l;
}

static struct vfo_nl_link virt(int ifindex, const char *name, const char *kind, const char *mac)
{
	struct vfo_nl_link l = nic(ifindex, name, "", "", mac);

	snprintf(l.kind, sizeof(l.kind), "%s", kind);
	l.perm_addr_len = 0;
	return l;
}

#define VIRTIO(i, n, pci, mac) nic(i, n, "virtio_net", pci, mac)
#define VF(i, n, pci, mac) nic(i, n, "e1000e", pci, mac)

static int match(struct vfo_nl_link *l, size_t n, const struct vfo_pair_cfg *c, size_t nc,
		 bool autop, struct vfo_pair_match *m, int *amb)
{
	return vfo_pair_match(l, n, c, nc, autop, m, VFO_PAIR_MAX, amb);
}

static void test_basic_pair(void **state)
{
	struct vfo_nl_link l[] = {
		virt(1, "lo", "", "00:00:00:00:00:00"),
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_A),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];
	int amb = -1;

	(void)state;
	assert_int_equal(match(l, 3, NULL, 0, true, m, &amb), 1);
	assert_int_equal(amb, 0);
	assert_int_equal(m[0].standby, 2);
	assert_int_equal(m[0].vf, 3);
	assert_int_equal(m[0].mode, VFO_PAIR_BOND);
	assert_int_equal(m[0].cfg, -1);
	assert_false(m[0].master_is_bond);
	assert_int_equal(m[0].vf_candidates, 1);
}

static void test_virtio_only(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VIRTIO(4, "eth2", "0000:03:00.0", MAC_B),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 2);
	assert_int_equal(m[0].vf, 0);
	assert_int_equal(m[1].vf, 0);
	assert_int_equal(m[1].standby, 4);
}

static void test_vf_without_driver_ignored(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_A),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	l[1].driver[0] = '\0'; /* departing: driver already unbound */
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 0);
	/* Nor is a standby without a driver a standby. */
	l[0].driver[0] = '\0';
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 0);
}

static void test_vf_needs_pci(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		nic(3, "usb0", "cdc_ether", "", MAC_A),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 0);
}

static void test_mac_mismatch(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_B),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 0);
}

static void test_perm_addr_wins(void **state)
{
	/* Enslaved NICs carry the bond's MAC; the permanent one pairs. */
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_A),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	set_mac(l[1].addr, &l[1].addr_len, MAC_B);
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 3);
	/* Without a permanent MAC the current one counts. */
	l[1].perm_addr_len = 0;
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 0);
}

static void test_duplicate_standby_mac(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VIRTIO(3, "eth1", "0000:02:00.0", MAC_A),
		VF(4, "eth2", "0000:03:00.0", MAC_A),
		VIRTIO(5, "eth3", "0000:04:00.0", MAC_B),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];
	int amb;

	(void)state;
	assert_int_equal(match(l, 4, NULL, 0, true, m, &amb), 1);
	assert_int_equal(amb, 2);
	assert_int_equal(m[0].standby, 5);
}

static void test_two_vfs_lowest_or_enslaved(void **state)
{
	struct vfo_nl_link l[] = {
		virt(9, "vfo0", "bond", MAC_A),
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(7, "eth7", "0000:05:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_A),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	assert_int_equal(match(l, 4, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 3);
	assert_int_equal(m[0].vf_candidates, 2);
	/* Already in the bond next to the standby: keep that one. */
	l[1].master = 9;
	l[2].master = 9;
	assert_int_equal(match(l, 4, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].vf, 7);
	assert_true(m[0].master_is_bond);
	assert_int_equal(m[0].master, 9);
}

static void test_bond_and_masters_never_candidates(void **state)
{
	/* The bond has the MAC too and a virtio-looking master must not be
	 * taken for a standby. */
	struct vfo_nl_link l[] = {
		virt(9, "vfo0", "bond", MAC_A),
		VIRTIO(10, "eth9", "0000:01:00.0", MAC_B),
		VIRTIO(11, "eth9nsby", "0000:01:00.0", MAC_B),
		VF(12, "eth10", "0000:02:00.0", MAC_B),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	l[2].master = 10;
	l[3].master = 10;
	assert_int_equal(match(l, 4, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].standby, 11);
	assert_int_equal(m[0].vf, 12);
	assert_int_equal(m[0].mode, VFO_PAIR_KERNEL);
	assert_int_equal(m[0].master, 10);
	assert_false(m[0].master_is_bond);
}

static void test_kernel_failover_without_vf(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(10, "eth0", "0000:01:00.0", MAC_A),
		VIRTIO(11, "eth0nsby", "0000:01:00.0", MAC_A),
	};
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	l[1].master = 10;
	assert_int_equal(match(l, 2, NULL, 0, true, m, NULL), 1);
	assert_int_equal(m[0].mode, VFO_PAIR_KERNEL);
	assert_int_equal(m[0].vf, 0);
}

static void test_explicit_pairs(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_A),
		VIRTIO(4, "eth2", "0000:03:00.0", MAC_B),
		nic(5, "eth3", "mlx5_core", "0000:04:00.0", "52:54:00:00:00:0c"),
	};
	struct vfo_pair_cfg c[2];
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	memset(c, 0, sizeof(c));
	/* By name, with a VF of another MAC given by PCI address. */
	assert_int_equal(vfo_sel_parse("eth2", &c[0].standby), 0);
	assert_int_equal(vfo_sel_parse("04:00.0", &c[0].vf), 0);
	/* By MAC: must pick the virtio one as standby, not the e1000e. */
	assert_int_equal(vfo_sel_parse(MAC_A, &c[1].standby), 0);
	assert_int_equal(match(l, 4, c, 2, true, m, NULL), 2);
	assert_int_equal(m[0].cfg, 0);
	assert_int_equal(m[0].standby, 4);
	assert_int_equal(m[0].vf, 5);
	assert_int_equal(m[1].cfg, 1);
	assert_int_equal(m[1].standby, 2);
	assert_int_equal(m[1].vf, 3);
}

static void test_explicit_claims_and_no_auto(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VF(3, "eth1", "0000:02:00.0", MAC_A),
		VIRTIO(4, "eth2", "0000:03:00.0", MAC_B),
		VF(5, "eth3", "0000:04:00.0", MAC_B),
	};
	struct vfo_pair_cfg c;
	struct vfo_pair_match m[VFO_PAIR_MAX];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(vfo_sel_parse("0000:03:00.0", &c.standby), 0);
	assert_int_equal(match(l, 4, &c, 1, false, m, NULL), 1);
	assert_int_equal(m[0].standby, 4);
	assert_int_equal(m[0].vf, 5);
	/* With auto pairing the other pair comes too, never eth2 twice. */
	assert_int_equal(match(l, 4, &c, 1, true, m, NULL), 2);
	assert_int_equal(m[1].standby, 2);
	assert_int_equal(m[1].vf, 3);
	/* A configured standby that is absent yields nothing. */
	assert_int_equal(vfo_sel_parse("eth42", &c.standby), 0);
	assert_int_equal(match(l, 4, &c, 1, false, m, NULL), 0);
	/* An explicit VF without driver is not taken. */
	assert_int_equal(vfo_sel_parse("eth2", &c.standby), 0);
	assert_int_equal(vfo_sel_parse("eth3", &c.vf), 0);
	l[3].driver[0] = '\0';
	assert_int_equal(match(l, 4, &c, 1, false, m, NULL), 1);
	assert_int_equal(m[0].vf, 0);
}

static void test_limits_and_bad_args(void **state)
{
	struct vfo_nl_link l[] = {
		VIRTIO(2, "eth0", "0000:01:00.0", MAC_A),
		VIRTIO(3, "eth1", "0000:02:00.0", MAC_B),
	};
	struct vfo_pair_match m[1];

	(void)state;
	assert_int_equal(vfo_pair_match(l, 2, NULL, 0, true, m, 1, NULL), 1);
	assert_int_equal(vfo_pair_match(NULL, 2, NULL, 0, true, m, 1, NULL), -EINVAL);
	assert_int_equal(vfo_pair_match(l, 2, NULL, 1, true, m, 1, NULL), -EINVAL);
	assert_int_equal(vfo_pair_match(l, 2, NULL, 0, true, NULL, 1, NULL), -EINVAL);
	assert_int_equal(vfo_pair_match(NULL, 0, NULL, 0, true, NULL, 0, NULL), 0);
}

static void test_sel_parse(void **state)
{
	struct vfo_sel s;

	(void)state;
	assert_int_equal(vfo_sel_parse("52:54:00:AB:cd:01", &s), 0);
	assert_int_equal(s.kind, VFO_SEL_MAC);
	assert_int_equal(s.mac[3], 0xab);
	assert_int_equal(vfo_sel_parse("0000:0a:1f.7", &s), 0);
	assert_int_equal(s.kind, VFO_SEL_PCI);
	assert_string_equal(s.str, "0000:0a:1f.7");
	assert_int_equal(vfo_sel_parse("0A:00.1", &s), 0);
	assert_int_equal(s.kind, VFO_SEL_PCI);
	assert_string_equal(s.str, "0000:0a:00.1");
	assert_int_equal(vfo_sel_parse("enp1s0", &s), 0);
	assert_int_equal(s.kind, VFO_SEL_NAME);
	assert_int_equal(vfo_sel_parse("", &s), 0);
	assert_int_equal(s.kind, VFO_SEL_NONE);
	assert_int_equal(vfo_sel_parse(NULL, &s), 0);
	assert_int_equal(vfo_sel_parse("00:00:00:00:00:00", &s), -EINVAL);
	assert_int_equal(vfo_sel_parse("0000:00:20.0", &s), -EINVAL); /* dev > 1f */
	assert_int_equal(vfo_sel_parse("a/b", &s), -EINVAL);
	assert_int_equal(vfo_sel_parse("has space", &s), -EINVAL);
	assert_int_equal(vfo_sel_parse("averyveryverylongname", &s), -EINVAL);
	assert_int_equal(vfo_sel_parse("..", &s), -EINVAL);
	assert_int_equal(vfo_sel_parse("52:54:00:00:00", &s), -EINVAL);
}

static void test_bond_name(void **state)
{
	const char *used[] = { "vfo0", "vfo2", NULL };
	char out[IFNAMSIZ];

	(void)state;
	assert_int_equal(vfo_pair_bond_name("vfo", used, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "vfo1");
	assert_int_equal(vfo_pair_bond_name("vfo", NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "vfo0");
	assert_int_equal(vfo_pair_bond_name("averylongprefix", NULL, 0, out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_int_equal(vfo_pair_bond_name("vfo", NULL, 0, out, 4), -ENAMETOOLONG);
}

/* The STATUS= line and the count READY=1 waits on. */
static void test_summary_text(void **state)
{
	struct vfo_pair_summary s[] = {
		{ .name = "vfo0", .ready = true, .active_role = "vf" },
		{ .name = "vfo1", .ready = true, .active_role = "standby" },
		{ .name = "net0", .ready = true, .kernel = true, .active_role = "vf" },
		{ .name = "vfo2", .ready = false, .active_role = "none" },
	};
	char out[128], small[16];

	(void)state;
	assert_int_equal(vfo_pair_summary_text(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "no pair yet");
	assert_int_equal(vfo_pair_summary_text(s, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "1 pair: vfo0 on the VF");
	assert_int_equal(vfo_pair_summary_text(s, 3, out, sizeof(out)), 0);
	assert_string_equal(out,
			    "3 pairs: vfo0 on the VF, vfo1 on the standby, net0 kernel-managed");
	/* A pair still being set up holds READY back. */
	assert_int_equal(vfo_pair_summary_text(s, 4, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "vfo2 setting up"));
	/* Cut, and said to be cut. */
	assert_int_equal(vfo_pair_summary_text(s, 4, small, sizeof(small)), 1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small + sizeof(small) - 4, "...");
	assert_int_equal(vfo_pair_summary_text(s, 4, out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_pair),
		cmocka_unit_test(test_virtio_only),
		cmocka_unit_test(test_vf_without_driver_ignored),
		cmocka_unit_test(test_vf_needs_pci),
		cmocka_unit_test(test_mac_mismatch),
		cmocka_unit_test(test_perm_addr_wins),
		cmocka_unit_test(test_duplicate_standby_mac),
		cmocka_unit_test(test_two_vfs_lowest_or_enslaved),
		cmocka_unit_test(test_bond_and_masters_never_candidates),
		cmocka_unit_test(test_kernel_failover_without_vf),
		cmocka_unit_test(test_explicit_pairs),
		cmocka_unit_test(test_explicit_claims_and_no_auto),
		cmocka_unit_test(test_limits_and_bad_args),
		cmocka_unit_test(test_sel_parse),
		cmocka_unit_test(test_bond_name),
		cmocka_unit_test(test_summary_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
