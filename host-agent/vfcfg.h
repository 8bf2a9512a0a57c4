/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV VF configuration through the PF (the netlink module's
 * vfo_nl_vf_get/vfo_nl_vf_set: rtnetlink IFLA_VFINFO_LIST) and VF driver
 * binding through sysfs driver_override.
 *
 * Each attribute goes in its own request and is read back, so a driver
 * that refuses one attribute (igb refuses link-state with EOPNOTSUPP) is
 * reported precisely and the others still apply; on any other failure the
 * attributes already applied are put back, so a VF is never left half
 * configured.
 */
#ifndef VFO_VFCFG_H
#define VFO_VFCFG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

enum vfo_vf_attr {
	VFO_VF_ATTR_MAC,
	VFO_VF_ATTR_VLAN,
	VFO_VF_ATTR_SPOOFCHK,
	VFO_VF_ATTR_TRUST,
	VFO_VF_ATTR_LINK_STATE,
	VFO_VF_ATTR_N,
};

#define VFO_VF_ATTR_BIT(a) (1u << (a))
#define VFO_VF_ATTR_ALL ((1u << VFO_VF_ATTR_N) - 1)

/* IFLA_VF_LINK_STATE_* values */
enum vfo_vf_link_state {
	VFO_VF_LINK_AUTO = 0,
	VFO_VF_LINK_ENABLE = 1,
	VFO_VF_LINK_DISABLE = 2,
};

struct vfo_vf_attrs {
	unsigned int mask; /* which fields are meaningful */
	uint8_t mac[6];
	int vlan; /* 0: none */
	int qos;
	bool spoofchk;
	bool trust;
	int link_state;
};

/* Outcome per attribute of apply/restore. */
enum vfo_vf_attr_result {
	VFO_VF_RES_SKIPPED = 0, /* not requested */
	VFO_VF_RES_APPLIED,
	VFO_VF_RES_UNCHANGED, /* already had the wanted value */
	VFO_VF_RES_UNSUPPORTED, /* driver said EOPNOTSUPP */
	VFO_VF_RES_FAILED,
	VFO_VF_RES_ROLLED_BACK, /* applied, then undone */
};

struct vfo_vfcfg_result {
	enum vfo_vf_attr_result attr[VFO_VF_ATTR_N];
	int err[VFO_VF_ATTR_N]; /* -errno of the last attempt */
};

struct vfo_vfcfg {
	int busy_retries; /* extra attempts after EBUSY */
	int busy_backoff_ms; /* first backoff, doubled each time */
};

const char *vfo_vf_attr_name(enum vfo_vf_attr a);
const char *vfo_vf_attr_result_str(enum vfo_vf_attr_result r);

/* Read the VF's current attributes (mask tells which the driver reports).
 * -ENODEV if the PF is unknown, -ENOENT if it has no VF with that index. */
int vfo_vfcfg_read(struct vfo_vfcfg *c, const char *pf, int vf, struct vfo_vf_attrs *out);

/*
 * Save the VF's current attributes into *saved, then apply want (only the
 * attributes in want->mask), one request each, each read back. Returns 0
 * when every requested attribute is applied or unsupported; otherwise
 * the first real error after restoring what had been applied.
 */
int vfo_vfcfg_apply(struct vfo_vfcfg *c, const char *pf, int vf, const struct vfo_vf_attrs *want,
		    struct vfo_vf_attrs *saved, struct vfo_vfcfg_result *res);

/*
 * Put saved back (attributes in saved->mask). scrub_mac: set the MAC to
 * 00:00:00:00:00:00 instead of the saved one, so nothing of the last
 * tenant's identity remains. Keeps going after a failure and returns the
 * first error.
 */
int vfo_vfcfg_restore(struct vfo_vfcfg *c, const char *pf, int vf, const struct vfo_vf_attrs *saved,
		      bool scrub_mac, struct vfo_vfcfg_result *res);

json_object *vfo_vf_attrs_to_json(const struct vfo_vf_attrs *a);
int vfo_vf_attrs_from_json(json_object *o, struct vfo_vf_attrs *a);

int vfo_mac_parse(const char *s, uint8_t mac[6]);
void vfo_mac_format(const uint8_t mac[6], char buf[18]);

/*
 * Bind a VF to driver (normally "vfio-pci") via driver_override: set the
 * override, unbind from the current driver, ask drivers_probe, then wait
 * up to timeout_ms for the driver link and, for vfio-pci, for
 * dev_root/vfio/<iommu_group> to appear. On failure the override is
 * cleared again. Paths are under sysfs_root / dev_root so tests can fake
 * them.
 */
int vfo_vf_bind_driver(const char *sysfs_root, const char *dev_root, const char *addr,
		       const char *driver, int iommu_group, int timeout_ms);
/* Clear driver_override, unbind, and reprobe so the default driver (if
 * any) takes the VF back. */
int vfo_vf_unbind_driver(const char *sysfs_root, const char *addr);

#endif
