/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VF backends as one ops table (teamd runner style). The agent picks one
 * per pool from the configuration and never looks inside:
 *   - "sriov": real VFs, configured through the PF, bound to vfio-pci,
 *     plugged as <interface type='hostdev' managed='yes'>;
 *   - "emulated": an emulated NIC on a bridge, nothing to do on the host.
 *
 * prepare_vf returns the backend's saved state as a JSON object; the agent
 * persists it with the assignment (pool data) and hands it back to
 * release_vf, so a restart in between still restores the VF.
 */
#ifndef VFO_BACKEND_H
#define VFO_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* What the domain wants for one failover pair. */
struct vfo_pair_spec {
	char mac[18]; /* "52:54:00:12:34:56" */
	int vlan; /* 0: none, else 1..4094 */
	int qos; /* 802.1p priority with the VLAN, 0..7 */
	char alias[64]; /* libvirt user alias, "ua-..." */
};

/* The VF the agent hands to the backend. */
struct vfo_backend_vf {
	const char *addr; /* PCI address (sriov) or "emu:POOL/N" */
	const char *pf; /* the PF's netdev (sriov) */
	int index; /* VF index on the PF */
	int iommu_group; /* -1 unknown */
};

struct vfo_backend_cfg {
	/* sriov */
	const char *sysfs_root; /* NULL: "/sys" */
	const char *dev_root; /* NULL: "/dev" */
	const char *driver; /* bind to this ("vfio-pci"); NULL/"": leave
				 * binding to libvirt's managed='yes' */
	bool spoofchk;
	bool trust;
	int link_state; /* VFO_VF_LINK_*, -1: leave as is */
	bool keep_mac; /* restore the saved MAC, do not scrub */
	bool xml_driver_vfio; /* emit <driver name='vfio'/> */
	int bind_timeout_ms; /* 0: 5000 */
	int busy_retries; /* 0: 5 */
	/* emulated */
	const char *bridge;
	const char *model; /* NULL: "e1000e" */
};

struct vfo_backend;

struct vfo_backend_ops {
	const char *name;
	size_t priv_size;
	int (*init)(struct vfo_backend *be, const struct vfo_backend_cfg *cfg);
	void (*fini)(struct vfo_backend *be);
	/* Configure vf for spec (MAC, VLAN, spoofchk, trust, link-state,
	 * driver); *saved receives what release_vf needs to undo it. */
	int (*prepare_vf)(struct vfo_backend *be, const struct vfo_backend_vf *vf,
			  const struct vfo_pair_spec *spec, json_object **saved);
	/* Restore and scrub; saved may be NULL (nothing known to undo). */
	int (*release_vf)(struct vfo_backend *be, const struct vfo_backend_vf *vf,
			  json_object *saved);
	/* The libvirt device XML for the pair; *xml is malloc'd. */
	int (*device_xml)(struct vfo_backend *be, const struct vfo_backend_vf *vf,
			  const struct vfo_pair_spec *spec, char **xml);
};

struct vfo_backend {
	const struct vfo_backend_ops *ops;
	void *priv;
};

extern const struct vfo_backend_ops vfo_backend_sriov;
extern const struct vfo_backend_ops vfo_backend_emulated;

static inline const struct vfo_backend_ops *vfo_backend_lookup(const char *n)
{
	if (n && !strcmp(n, vfo_backend_sriov.name))
		return &vfo_backend_sriov;
	if (n && !strcmp(n, vfo_backend_emulated.name))
		return &vfo_backend_emulated;
	return NULL;
}

static inline int vfo_backend_new(const struct vfo_backend_ops *ops,
				  const struct vfo_backend_cfg *cfg, struct vfo_backend **out)
{
	struct vfo_backend *be;
	int r;

	*out = NULL;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->ops = ops;
	if (ops->priv_size && !(be->priv = calloc(1, ops->priv_size))) {
		free(be);
		return -ENOMEM;
	}
	r = ops->init ? ops->init(be, cfg) : 0;
	if (r < 0) {
		free(be->priv);
		free(be);
		return r;
	}
	*out = be;
	return 0;
}

static inline void vfo_backend_free(struct vfo_backend *be)
{
	if (!be)
		return;
	if (be->ops->fini)
		be->ops->fini(be);
	free(be->priv);
	free(be);
}

static inline int vfo_backend_prepare_vf(struct vfo_backend *be, const struct vfo_backend_vf *vf,
					 const struct vfo_pair_spec *spec, json_object **saved)
{
	*saved = NULL;
	return be->ops->prepare_vf ? be->ops->prepare_vf(be, vf, spec, saved) : 0;
}

static inline int vfo_backend_release_vf(struct vfo_backend *be, const struct vfo_backend_vf *vf,
					 json_object *saved)
{
	return be->ops->release_vf ? be->ops->release_vf(be, vf, saved) : 0;
}

static inline int vfo_backend_device_xml(struct vfo_backend *be, const struct vfo_backend_vf *vf,
					 const struct vfo_pair_spec *spec, char **xml)
{
	*xml = NULL;
	return be->ops->device_xml(be, vf, spec, xml);
}

#endif
