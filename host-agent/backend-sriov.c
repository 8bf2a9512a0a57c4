// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sriov backend: configure the VF through its PF (vfcfg), bind it to
 * vfio-pci, and describe it to libvirt as a managed hostdev interface.
 */
#include <stdio.h>

#include "backend.h"
#include "domxml.h"
#include "log.h"
#include "vfcfg.h"

#define COMP "sriov"

struct sriov_priv {
	struct vfo_backend_cfg cfg; /* strings below, not the caller's */
	char sysfs_root[256];
	char dev_root[256];
	char driver[64];
	struct vfo_vfcfg vc;
};

static int sriov_init(struct vfo_backend *be, const struct vfo_backend_cfg *cfg)
{
	struct sriov_priv *p = be->priv;

	p->cfg = *cfg;
	snprintf(p->sysfs_root, sizeof(p->sysfs_root), "%s",
		 cfg->sysfs_root ? cfg->sysfs_root : "/sys");
	snprintf(p->dev_root, sizeof(p->dev_root), "%s", cfg->dev_root ? cfg->dev_root : "/dev");
	snprintf(p->driver, sizeof(p->driver), "%s", cfg->driver ? cfg->driver : "");
	p->cfg.sysfs_root = p->sysfs_root;
	p->cfg.dev_root = p->dev_root;
	p->cfg.driver = p->driver;
	p->cfg.bridge = p->cfg.model = NULL;
	if (p->cfg.bind_timeout_ms <= 0)
		p->cfg.bind_timeout_ms = 5000;
	p->vc.busy_retries = cfg->busy_retries > 0 ? cfg->busy_retries : 5;
	p->vc.busy_backoff_ms = 10;
	return 0;
}

static int spec_to_attrs(const struct sriov_priv *p, const struct vfo_pair_spec *spec,
			 struct vfo_vf_attrs *w)
{
	memset(w, 0, sizeof(*w));
	if (!vfo_xml_mac_valid(spec->mac) || spec->vlan < 0 || spec->vlan > 4094 || spec->qos < 0 ||
	    spec->qos > 7)
		return -EINVAL;
	vfo_mac_parse(spec->mac, w->mac);
	w->vlan = spec->vlan;
	w->qos = spec->vlan ? spec->qos : 0;
	w->spoofchk = p->cfg.spoofchk;
	w->trust = p->cfg.trust;
	w->mask = VFO_VF_ATTR_BIT(VFO_VF_ATTR_MAC) | VFO_VF_ATTR_BIT(VFO_VF_ATTR_VLAN) |
		  VFO_VF_ATTR_BIT(VFO_VF_ATTR_SPOOFCHK) | VFO_VF_ATTR_BIT(VFO_VF_ATTR_TRUST);
	if (p->cfg.link_state >= 0) {
		w->link_state = p->cfg.link_state;
		w->mask |= VFO_VF_ATTR_BIT(VFO_VF_ATTR_LINK_STATE);
	}
	return 0;
}

static json_object *result_json(const struct vfo_vfcfg_result *res)
{
	json_object *o = json_object_new_object();
	int a;

	for (a = 0; o && a < VFO_VF_ATTR_N; a++)
		if (res->attr[a] != VFO_VF_RES_SKIPPED)
			json_object_object_add(
				o, vfo_vf_attr_name(a),
				json_object_new_string(vfo_vf_attr_result_str(res->attr[a])));
	return o;
}

static int sriov_prepare(struct vfo_backend *be, const struct vfo_backend_vf *vf,
			 const struct vfo_pair_spec *spec, json_object **saved)
{
	struct sriov_priv *p = be->priv;
	struct vfo_vf_attrs want, orig;
	struct vfo_vfcfg_result res;
	json_object *o;
	int r;

	r = spec_to_attrs(p, spec, &want);
	if (r < 0)
		return r;
	if (!vf->pf || vf->index < 0)
		return -EINVAL;
	r = vfo_vfcfg_apply(&p->vc, vf->pf, vf->index, &want, &orig, &res);
	if (r < 0)
		return r;
	if (p->driver[0]) {
		r = vfo_vf_bind_driver(p->sysfs_root, p->dev_root, vf->addr, p->driver,
				       vf->iommu_group, p->cfg.bind_timeout_ms);
		if (r < 0) {
			vfo_vfcfg_restore(&p->vc, vf->pf, vf->index, &orig, !p->cfg.keep_mac, &res);
			return r;
		}
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "orig", vfo_vf_attrs_to_json(&orig));
	json_object_object_add(o, "applied", result_json(&res));
	if (p->driver[0])
		json_object_object_add(o, "bound", json_object_new_string(p->driver));
	*saved = o;
	return 0;
}

static int sriov_release(struct vfo_backend *be, const struct vfo_backend_vf *vf,
			 json_object *saved)
{
	struct sriov_priv *p = be->priv;
	struct vfo_vfcfg_result res;
	struct vfo_vf_attrs orig = { 0 };
	json_object *o;
	int r, r2 = 0;

	if (!vf->pf || vf->index < 0)
		return -EINVAL;
	if (saved && json_object_object_get_ex(saved, "orig", &o) &&
	    vfo_vf_attrs_from_json(o, &orig) < 0)
		vfo_warn(COMP, "%s: saved settings unreadable, scrubbing only", vf->addr);
	/* With nothing saved the MAC is still scrubbed: an unknown VF must
	 * not keep a tenant's address. */
	r = vfo_vfcfg_restore(&p->vc, vf->pf, vf->index, &orig, !p->cfg.keep_mac || !orig.mask,
			      &res);
	if (saved && json_object_object_get_ex(saved, "bound", &o))
		r2 = vfo_vf_unbind_driver(p->sysfs_root, vf->addr);
	return r < 0 ? r : r2;
}

static int sriov_xml(struct vfo_backend *be, const struct vfo_backend_vf *vf,
		     const struct vfo_pair_spec *spec, char **xml)
{
	struct sriov_priv *p = be->priv;
	unsigned int d, b, s, f;
	char sd[16], sb[8], ss[8], sf[8], vlan[8];
	xmlNodePtr root, src, n;
	int r = -ENOMEM;

	if (!vfo_xml_mac_valid(spec->mac) || !vfo_xml_alias_valid(spec->alias) || spec->vlan < 0 ||
	    spec->vlan > 4094 || vfo_pci_addr_parse(vf->addr, &d, &b, &s, &f) < 0 || d > 0xffff)
		return -EINVAL;
	snprintf(sd, sizeof(sd), "0x%04x", d);
	snprintf(sb, sizeof(sb), "0x%02x", b);
	snprintf(ss, sizeof(ss), "0x%02x", s);
	snprintf(sf, sizeof(sf), "0x%x", f);
	root = vfo_xml_add(NULL, "interface", "type", "hostdev", "managed", "yes", NULL);
	if (!root)
		return -ENOMEM;
	if (!vfo_xml_add(root, "mac", "address", spec->mac, NULL))
		goto out;
	if (p->cfg.xml_driver_vfio && !vfo_xml_add(root, "driver", "name", "vfio", NULL))
		goto out;
	src = vfo_xml_add(root, "source", NULL);
	if (!src || !vfo_xml_add(src, "address", "type", "pci", "domain", sd, "bus", sb, "slot", ss,
				 "function", sf, NULL))
		goto out;
	if (spec->vlan) {
		snprintf(vlan, sizeof(vlan), "%d", spec->vlan);
		n = vfo_xml_add(root, "vlan", NULL);
		if (!n || !vfo_xml_add(n, "tag", "id", vlan, NULL))
			goto out;
	}
	if (vfo_xml_add(root, "alias", "name", spec->alias, NULL))
		r = vfo_xml_to_string(root, xml);
out:
	xmlFreeNode(root);
	return r;
}

const struct vfo_backend_ops vfo_backend_sriov = {
	.name = "sriov",
	.priv_size = sizeof(struct sriov_priv),
	.init = sriov_init,
	.prepare_vf = sriov_prepare,
	.release_vf = sriov_release,
	.device_xml = sriov_xml,
};
