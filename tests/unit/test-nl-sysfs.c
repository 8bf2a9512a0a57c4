// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Driver and PCI address from a generated sysfs tree (the root is a
 * parameter), and the ethtool permanent-address ioctl on interfaces every
 * network namespace has (read-only).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "netlink.h"
#include "nl-priv.h"

struct tree {
	char root[PATH_MAX];
};

static void mkdirs(const char *root, const char *rel)
{
	char path[PATH_MAX * 2], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void symlink_in(const char *root, const char *target, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/*
 * The shapes the kernel makes:
 *  eth0: a PCI NIC bound to e1000e;
 *  ens4: virtio-net, whose device is virtio0 under the PCI function;
 *  eth9: a PCI NIC mid hot-unplug, its driver already gone;
 *  usb0: a USB NIC (no PCI function within reach);
 *  veth0: virtual, no device link.
 */
static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	const char *r;

	strcpy(t->root, "/tmp/vfo-test-sysfs-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	r = t->root;
	mkdirs(r, "bus/pci/drivers/e1000e");
	mkdirs(r, "bus/virtio/drivers/virtio_net");
	mkdirs(r, "bus/usb/drivers/cdc_ether");
	mkdirs(r, "class/net");

	mkdirs(r, "devices/pci0000:00/0000:00:03.0/net/eth0");
	symlink_in(r, "../../../bus/pci", "devices/pci0000:00/0000:00:03.0/subsystem");
	symlink_in(r, "../../../bus/pci/drivers/e1000e", "devices/pci0000:00/0000:00:03.0/driver");
	symlink_in(r, "../../../0000:00:03.0", "devices/pci0000:00/0000:00:03.0/net/eth0/device");
	symlink_in(r, "../../devices/pci0000:00/0000:00:03.0/net/eth0", "class/net/eth0");

	mkdirs(r, "devices/pci0000:00/0000:00:04.0/virtio0/net/ens4");
	symlink_in(r, "../../../bus/pci", "devices/pci0000:00/0000:00:04.0/subsystem");
	symlink_in(r, "../../../../bus/virtio",
		   "devices/pci0000:00/0000:00:04.0/virtio0/subsystem");
	symlink_in(r, "../../../../bus/virtio/drivers/virtio_net",
		   "devices/pci0000:00/0000:00:04.0/virtio0/driver");
	symlink_in(r, "../../../virtio0",
		   "devices/pci0000:00/0000:00:04.0/virtio0/net/ens4/device");
	symlink_in(r, "../../devices/pci0000:00/0000:00:04.0/virtio0/net/ens4", "class/net/ens4");

	mkdirs(r, "devices/pci0000:00/0000:00:05.0/net/eth9");
	symlink_in(r, "../../../bus/pci", "devices/pci0000:00/0000:00:05.0/subsystem");
	symlink_in(r, "../../../0000:00:05.0", "devices/pci0000:00/0000:00:05.0/net/eth9/device");
	symlink_in(r, "../../devices/pci0000:00/0000:00:05.0/net/eth9", "class/net/eth9");

	mkdirs(r, "devices/usb1/1-1/1-1:1.0/net/usb0");
	symlink_in(r, "../../../../bus/usb", "devices/usb1/1-1/1-1:1.0/subsystem");
	symlink_in(r, "../../../../bus/usb/drivers/cdc_ether", "devices/usb1/1-1/1-1:1.0/driver");
	symlink_in(r, "../../../1-1:1.0", "devices/usb1/1-1/1-1:1.0/net/usb0/device");
	symlink_in(r, "../../devices/usb1/1-1/1-1:1.0/net/usb0", "class/net/usb0");

	mkdirs(r, "devices/virtual/net/veth0");
	symlink_in(r, "../../devices/virtual/net/veth0", "class/net/veth0");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static int fill(struct tree *t, const char *name, struct vfo_nl_link *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	/* Stale values must be cleared, not kept. */
	strcpy(l->driver, "stale");
	strcpy(l->pci_addr, "stale");
	return vfo_nl_sysfs_fill(t->root, l);
}

static void test_pci_nic(void **state)
{
	struct vfo_nl_link l;

	assert_int_equal(fill(*state, "eth0", &l), 0);
	assert_string_equal(l.driver, "e1000e");
	assert_string_equal(l.pci_addr, "0000:00:03.0");
}

static void test_virtio(void **state)
{
	struct vfo_nl_link l;

	/* The driver is the netdev's own; the PCI address is its parent's. */
	assert_int_equal(fill(*state, "ens4", &l), 0);
	assert_string_equal(l.driver, "virtio_net");
	assert_string_equal(l.pci_addr, "0000:00:04.0");
}

static void test_unbound(void **state)
{
	struct vfo_nl_link l;

	assert_int_equal(fill(*state, "eth9", &l), 0);
	assert_string_equal(l.driver, "");
	assert_string_equal(l.pci_addr, "0000:00:05.0");
}

static void test_usb_and_virtual(void **state)
{
	struct vfo_nl_link l;

	assert_int_equal(fill(*state, "usb0", &l), 0);
	assert_string_equal(l.driver, "cdc_ether");
	assert_string_equal(l.pci_addr, "");
	assert_int_equal(fill(*state, "veth0", &l), 0);
	assert_string_equal(l.driver, "");
	assert_string_equal(l.pci_addr, "");
}

static void test_missing_and_hostile(void **state)
{
	struct vfo_nl_link l;

	assert_int_equal(fill(*state, "nosuch0", &l), -ENOENT);
	assert_string_equal(l.driver, "");
	assert_string_equal(l.pci_addr, "");
	/* Names that would leave class/net. */
	assert_int_equal(fill(*state, "../../x", &l), -EINVAL);
	assert_int_equal(fill(*state, "..", &l), -EINVAL);
	assert_int_equal(fill(*state, ".", &l), -EINVAL);
	assert_int_equal(fill(*state, "", &l), -EINVAL);
}

static void test_bad_root(void **state)
{
	struct vfo_nl_link l = { .name = "eth0" };
	char root[PATH_MAX + 64];

	(void)state;
	assert_int_equal(vfo_nl_sysfs_fill("/nonexistent-vfo-root", &l), -ENOENT);
	/* A root so long the path cannot be built. */
	memset(root, 'a', sizeof(root) - 1);
	root[0] = '/';
	root[sizeof(root) - 1] = '\0';
	assert_int_equal(vfo_nl_sysfs_fill(root, &l), -ENAMETOOLONG);
}

/* A PCI-looking device whose name is not a PCI address is not one. */
static void test_bogus_pci_name(void **state)
{
	struct tree *t = *state;
	struct vfo_nl_link l;

	mkdirs(t->root, "devices/pci0000:00/notpci/net/eth5");
	symlink_in(t->root, "../../../bus/pci", "devices/pci0000:00/notpci/subsystem");
	symlink_in(t->root, "../../../notpci", "devices/pci0000:00/notpci/net/eth5/device");
	symlink_in(t->root, "../../devices/pci0000:00/notpci/net/eth5", "class/net/eth5");
	assert_int_equal(fill(t, "eth5", &l), 0);
	assert_string_equal(l.pci_addr, "");
}

static void test_ethtool(void **state)
{
	uint8_t addr[VFO_NL_HWADDR_MAX], len = 99;
	int ret;

	(void)state;
	/* lo exists in every namespace and has no permanent address. */
	ret = vfo_nl_ethtool_perm_addr("lo", addr, sizeof(addr), &len);
	assert_int_equal(ret, 0);
	assert_int_equal(len, 0);
	assert_int_equal(vfo_nl_ethtool_perm_addr("vfo-nosuch0", addr, sizeof(addr), &len),
			 -ENODEV);
	assert_int_equal(len, 0);
	assert_int_equal(vfo_nl_ethtool_perm_addr("", addr, sizeof(addr), &len), -EINVAL);
	assert_int_equal(vfo_nl_ethtool_perm_addr("sixteen-chars-xx", addr, sizeof(addr), &len),
			 -EINVAL);
	assert_int_equal(vfo_nl_ethtool_perm_addr(NULL, addr, sizeof(addr), &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_nic),
		cmocka_unit_test(test_virtio),
		cmocka_unit_test(test_unbound),
		cmocka_unit_test(test_usb_and_virtual),
		cmocka_unit_test(test_missing_and_hostile),
		cmocka_unit_test(test_bad_root),
		cmocka_unit_test(test_bogus_pci_name),
		cmocka_unit_test(test_ethtool),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
