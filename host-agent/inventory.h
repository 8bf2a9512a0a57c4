/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV inventory: what sysfs says about PFs and their VFs. Scanning is a
 * function of a sysfs root (normally "/sys"; tests pass a generated tree)
 * and produces plain data; diffing two scans tells the daemon what changed
 * after a udev event so it only acts on that.
 */
#ifndef VFO_INVENTORY_H
#define VFO_INVENTORY_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* "dddd:bb:ss.f"; PCI domains can have more than 4 hex digits (VMD). */
#define VFO_PCI_ADDR_MAX 24
#define VFO_DRIVER_MAX 64
#define VFO_OPERSTATE_MAX 16

struct vfo_inv_vf {
	char addr[VFO_PCI_ADDR_MAX];
	int index; /* N of the PF's virtfnN link */
	char driver[VFO_DRIVER_MAX]; /* "" when unbound */
	int numa_node; /* -1 when unknown */
	int iommu_group; /* -1 when none */
	int pf; /* index into vfo_inventory.pfs */
};

struct vfo_inv_pf {
	char addr[VFO_PCI_ADDR_MAX];
	char netdev[IF_NAMESIZE]; /* "" when it has none */
	char driver[VFO_DRIVER_MAX];
	char operstate[VFO_OPERSTATE_MAX]; /* "up", "down", ... or "" */
	int carrier; /* 1, 0, or -1 when unreadable */
	int numa_node;
	int totalvfs;
	int numvfs;
	size_t n_vfs; /* VFs actually found (virtfnN links) */
	struct vfo_inv_vf *vfs; /* sorted by index */
};

struct vfo_inventory {
	size_t n_pfs;
	struct vfo_inv_pf *pfs; /* sorted by PCI address */
};

/*
 * Scan sysfs_root (e.g. "/sys") for SR-IOV capable PFs. Devices with
 * sriov_totalvfs == 0 are skipped. Returns 0 or -errno; *out is owned by
 * the caller (vfo_inventory_free).
 */
int vfo_inventory_scan(const char *sysfs_root, struct vfo_inventory **out);
void vfo_inventory_free(struct vfo_inventory *inv);

const struct vfo_inv_pf *vfo_inventory_find_pf(const struct vfo_inventory *inv,
					       const char *netdev_or_addr);
const struct vfo_inv_vf *vfo_inventory_find_vf(const struct vfo_inventory *inv, const char *addr);
size_t vfo_inventory_count_vfs(const struct vfo_inventory *inv);

enum vfo_inv_change_type {
	VFO_INV_PF_ADDED,
	VFO_INV_PF_REMOVED,
	VFO_INV_PF_CHANGED, /* netdev renamed, numvfs or driver changed */
	VFO_INV_PF_LINK, /* operstate or carrier changed */
	VFO_INV_VF_ADDED,
	VFO_INV_VF_REMOVED,
	VFO_INV_VF_DRIVER, /* bound, unbound or rebound */
};

struct vfo_inv_change {
	enum vfo_inv_change_type type;
	char pf_addr[VFO_PCI_ADDR_MAX];
	char netdev[IF_NAMESIZE]; /* the PF's, new name if it has one */
	char vf_addr[VFO_PCI_ADDR_MAX]; /* VF_* only */
	int vf_index; /* VF_* only, else -1 */
	char old_driver[VFO_DRIVER_MAX]; /* VF_DRIVER, PF_CHANGED */
	char new_driver[VFO_DRIVER_MAX];
};

const char *vfo_inv_change_type_str(enum vfo_inv_change_type t);

/*
 * Changes from old to new, PF by PCI address and VF by PCI address.
 * A removed PF reports PF_REMOVED and a VF_REMOVED for each of its VFs so a
 * consumer interested only in VFs need not special-case it. old or new may
 * be NULL (treated as empty). *out is malloc'd (NULL when *n == 0).
 */
int vfo_inventory_diff(const struct vfo_inventory *old, const struct vfo_inventory *new,
		       struct vfo_inv_change **out, size_t *n);

#endif
