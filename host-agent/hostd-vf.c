// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-hostd's side of the backends: one backend per pool, configuring an
 * assigned VF for its pair, producing its libvirt device XML, and undoing
 * the configuration before a VF goes back to the free list.
 *
 * A VF's pool data is {"mac": ..., "saved": {...}}: the MAC the pair wants
 * (from the reservation) and what the backend needs to restore the VF. It
 * is persisted with the assignment, so a restarted daemon still restores
 * a VF configured by its previous life.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "hostd.h"
#include "log.h"
#include "vfcfg.h"

#define COMP "hostd"

static int pool_cfg_index(const struct vfo_hostd *h, int pool)
{
	const char *name = vfo_pools_pool_name(h->pools, pool);

	for (size_t i = 0; name && i < h->cfg->n_pools; i++) {
		if (!strcmp(h->cfg->pools[i].name, name))
			return (int)i;
	}
	return -ENOENT;
}

int vfo_hostd_backends_init(struct vfo_hostd *h)
{
	h->backends = calloc(h->cfg->n_pools ? h->cfg->n_pools : 1, sizeof(*h->backends));
	if (!h->backends)
		return -ENOMEM;
	for (size_t i = 0; i < h->cfg->n_pools; i++) {
		const struct vfo_hostd_pool_cfg *pc = &h->cfg->pools[i];
		static const int link[] = {
			[VFO_HOSTD_LINK_AUTO] = -1,
			[VFO_HOSTD_LINK_ENABLE] = VFO_VF_LINK_ENABLE,
			[VFO_HOSTD_LINK_DISABLE] = VFO_VF_LINK_DISABLE,
		};
		struct vfo_backend_cfg bc = {
			.sysfs_root = h->cfg->sysfs_root,
			.driver = pc->driver,
			.spoofchk = pc->spoofchk,
			.trust = pc->trust,
			.link_state = link[pc->link_state],
			.busy_retries = h->cfg->retries,
			.bridge = pc->bridge,
			.model = pc->model[0] ? pc->model : NULL,
		};
		const struct vfo_backend_ops *ops = pc->backend == VFO_HOSTD_BACKEND_SRIOV ?
							    &vfo_backend_sriov :
							    &vfo_backend_emulated;
		int r = vfo_backend_new(ops, &bc, &h->backends[i]);

		if (r < 0) {
			vfo_err(COMP, "pool %s: %s backend: %s", pc->name, ops->name, strerror(-r));
			vfo_hostd_backends_fini(h);
			return r;
		}
	}
	return 0;
}

void vfo_hostd_backends_fini(struct vfo_hostd *h)
{
	for (size_t i = 0; h->backends && i < h->cfg->n_pools; i++)
		vfo_backend_free(h->backends[i]);
	free(h->backends);
	h->backends = NULL;
}

static struct vfo_backend *backend_of(const struct vfo_hostd *h, const struct vfo_pool_vf *vf,
				      const struct vfo_hostd_pool_cfg **pc)
{
	int i = pool_cfg_index(h, vf->pool);

	if (i < 0 || !h->backends)
		return NULL;
	*pc = &h->cfg->pools[i];
	return h->backends[i];
}

static void backend_vf(const struct vfo_hostd *h, const struct vfo_pool_vf *vf,
		       struct vfo_backend_vf *bv)
{
	const struct vfo_inv_vf *iv = h->inv ? vfo_inventory_find_vf(h->inv, vf->addr) : NULL;

	bv->addr = vf->addr;
	bv->pf = vf->pf;
	bv->index = vf->index;
	bv->iommu_group = iv ? iv->iommu_group : -1;
}

static const char *data_str(const struct vfo_pool_vf *vf, const char *key)
{
	json_object *v;

	if (!vf->data || !json_object_object_get_ex(vf->data, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int pair_spec(const struct vfo_pool_vf *vf, const struct vfo_hostd_pool_cfg *pc,
		     struct vfo_pair_spec *spec)
{
	const char *mac = data_str(vf, "mac");

	memset(spec, 0, sizeof(*spec));
	if (!mac || strlen(mac) >= sizeof(spec->mac))
		return -EINVAL;
	strcpy(spec->mac, mac);
	spec->vlan = pc->vlan;
	spec->qos = pc->qos;
	if ((size_t)snprintf(spec->alias, sizeof(spec->alias), "ua-vfo-%.56s", vf->owner.pair) >=
		    sizeof(spec->alias) ||
	    strlen(vf->owner.pair) > 56)
		return -ENAMETOOLONG;
	return 0;
}

int vfo_hostd_vf_prepare(struct vfo_hostd *h, const struct vfo_owner *o, char **xml)
{
	int id = vfo_pools_lookup_owner(h->pools, o);
	const struct vfo_hostd_pool_cfg *pc;
	const struct vfo_pool_vf *vf;
	struct vfo_pair_spec spec;
	struct vfo_backend_vf bv;
	struct vfo_backend *be;
	json_object *saved = NULL, *data;
	int r;

	*xml = NULL;
	if (id < 0)
		return -ENOENT;
	vf = vfo_pools_vf(h->pools, id);
	be = backend_of(h, vf, &pc);
	if (!be)
		return -ENOENT;
	r = pair_spec(vf, pc, &spec);
	if (r < 0) {
		vfo_err(COMP, "VF %s of %s/%s: no MAC for the pair; reserve it with one", vf->addr,
			o->uuid, o->pair);
		return r;
	}
	backend_vf(h, vf, &bv);
	/* Already configured by an earlier try (or a previous life): the
	 * saved originals must not be overwritten with our own settings. */
	if (!(vf->data && json_object_object_get_ex(vf->data, "saved", NULL))) {
		r = vfo_backend_prepare_vf(be, &bv, &spec, &saved);
		if (r < 0) {
			vfo_err(COMP, "VF %s: cannot configure it for %s/%s: %s", vf->addr, o->uuid,
				o->pair, strerror(-r));
			return r;
		}
		data = json_object_new_object();
		json_object_object_add(data, "mac", json_object_new_string(spec.mac));
		json_object_object_add(data, "saved", saved ? saved : json_object_new_object());
		vfo_pools_set_data(h->pools, id, data);
		r = vfo_hostd_persist(h);
		if (r < 0)
			return r;
	}
	r = vfo_backend_device_xml(be, &bv, &spec, xml);
	if (r < 0)
		vfo_err(COMP, "VF %s: no device XML: %s", vf->addr, strerror(-r));
	return r;
}

void vfo_hostd_vf_unprepare(struct vfo_hostd *h, int id)
{
	const struct vfo_pool_vf *vf = vfo_pools_vf(h->pools, id);
	const struct vfo_hostd_pool_cfg *pc;
	struct vfo_backend_vf bv;
	struct vfo_backend *be;
	json_object *saved = NULL;
	int r;

	if (!vf || vf->gone)
		return;
	be = backend_of(h, vf, &pc);
	if (!be || !vf->data || !json_object_object_get_ex(vf->data, "saved", &saved))
		return; /* never configured: nothing to undo */
	backend_vf(h, vf, &bv);
	r = vfo_backend_release_vf(be, &bv, saved);
	if (r < 0)
		vfo_err(COMP,
			"VF %s: restoring its original settings failed: %s; it is freed anyway "
			"and reconfigured in full by its next owner",
			vf->addr, strerror(-r));
}
