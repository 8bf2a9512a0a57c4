/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When vfo-hostd writes a pool's numvfs to a PF's sriov_numvfs: pure
 * planning over two inventories, so every case has a unit test.
 *
 * The count is applied when a configured PF comes up: at start, and on a
 * rescan when the PF (re)appears -- hot-plugged, its driver bound again
 * (which leaves it with the driver's default, usually 0 VFs), or its
 * netdev back under the configured name. A PF that stays up is left
 * alone: an operator who changes sriov_numvfs by hand is obeyed, not
 * fought. Never written: a PF without a driver (the kernel refuses; it
 * is done when one binds), a PF with VFs reserved or assigned (the kernel
 * can only go through 0, which would pull them out from under their
 * domains), a count past sriov_totalvfs.
 */
#ifndef VFO_NUMVFS_H
#define VFO_NUMVFS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "hostd-config.h"
#include "inventory.h"

enum vfo_numvfs_verdict {
	VFO_NUMVFS_WRITE,
	VFO_NUMVFS_NO_DRIVER,
	VFO_NUMVFS_IN_USE,
	VFO_NUMVFS_RANGE,
};

struct vfo_numvfs_step {
	enum vfo_numvfs_verdict verdict;
	char pool[VFO_POOL_NAME_MAX];
	char addr[VFO_PCI_ADDR_MAX]; /* the PF */
	char netdev[IF_NAMESIZE];
	int from, to, total; /* sriov_numvfs now, wanted, sriov_totalvfs */
	bool appeared; /* on a rescan; false at start */
};

/* Whether the VF at a PCI address is reserved or assigned. */
typedef bool (*vfo_numvfs_in_use_fn)(const char *vf_addr, void *opaque);

/*
 * Steps for the configured PFs of cur whose sriov_numvfs differs from
 * their pool's numvfs: every one when prev is NULL (start), else those
 * with a driver that (re)appeared since prev -- not resolvable in prev,
 * another device then, driverless then, or listed in rebound (PCI
 * addresses with a driver bind since prev, which catches an unbind and
 * bind too quick for a scan in between). One step per PF (the first pool
 * naming it decides). *out is malloc'd, NULL when *n is 0. 0 or -ENOMEM.
 */
int vfo_numvfs_plan(const struct vfo_hostd_cfg *cfg, const struct vfo_inventory *prev,
		    const struct vfo_inventory *cur, const char *const *rebound, size_t n_rebound,
		    vfo_numvfs_in_use_fn in_use, void *opaque, struct vfo_numvfs_step **out,
		    size_t *n);

const char *vfo_numvfs_verdict_str(enum vfo_numvfs_verdict v);

#endif
