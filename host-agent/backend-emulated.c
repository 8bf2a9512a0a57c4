// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The emulated backend: a stand-in "VF" that is an emulated NIC (e1000e by
 * default) on a bridge, carrying the pair's MAC. Hosts without SR-IOV,
 * demos and the test bed use it; nothing is configured on the host.
 */
#include <stdio.h>

#include "backend.h"
#include "domxml.h"
#include "log.h"

struct emu_priv {
	char bridge[16];
	char model[32];
};

static int emu_init(struct vfo_backend *be, const struct vfo_backend_cfg *cfg)
{
	struct emu_priv *p = be->priv;
	const char *model = cfg->model && cfg->model[0] ? cfg->model : "e1000e";

	if (!vfo_xml_ifname_valid(cfg->bridge)) {
		vfo_err("emulated", "invalid bridge name");
		return -EINVAL;
	}
	if (!vfo_xml_model_valid(model)) {
		vfo_err("emulated", "invalid NIC model");
		return -EINVAL;
	}
	snprintf(p->bridge, sizeof(p->bridge), "%s", cfg->bridge);
	snprintf(p->model, sizeof(p->model), "%s", model);
	return 0;
}

static int emu_xml(struct vfo_backend *be, const struct vfo_backend_vf *vf,
		   const struct vfo_pair_spec *spec, char **xml)
{
	struct emu_priv *p = be->priv;
	xmlNodePtr root;
	int r = -ENOMEM;

	(void)vf;
	if (!vfo_xml_mac_valid(spec->mac) || !vfo_xml_alias_valid(spec->alias))
		return -EINVAL;
	root = vfo_xml_add(NULL, "interface", "type", "bridge", NULL);
	if (!root)
		return -ENOMEM;
	if (vfo_xml_add(root, "mac", "address", spec->mac, NULL) &&
	    vfo_xml_add(root, "source", "bridge", p->bridge, NULL) &&
	    vfo_xml_add(root, "model", "type", p->model, NULL) &&
	    vfo_xml_add(root, "alias", "name", spec->alias, NULL))
		r = vfo_xml_to_string(root, xml);
	xmlFreeNode(root);
	return r;
}

const struct vfo_backend_ops vfo_backend_emulated = {
	.name = "emulated",
	.priv_size = sizeof(struct emu_priv),
	.init = emu_init,
	.device_xml = emu_xml,
};
