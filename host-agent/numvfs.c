// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * numvfs planning; see numvfs.h for the rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numvfs.h"

const char *vfo_numvfs_verdict_str(enum vfo_numvfs_verdict v)
{
	switch (v) {
	case VFO_NUMVFS_WRITE:
		return "write";
	case VFO_NUMVFS_NO_DRIVER:
		return "no-driver";
	case VFO_NUMVFS_IN_USE:
		return "in-use";
	case VFO_NUMVFS_RANGE:
		return "range";
	}
	return "?";
}

static bool listed(const char *addr, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], addr))
			return true;
	return false;
}

/* Whether pf (of cur, found under name) came up since prev. */
static bool appeared(const struct vfo_inventory *prev, const char *name,
		     const struct vfo_inv_pf *pf, const char *const *rebound, size_t n_rebound)
{
	const struct vfo_inv_pf *was = vfo_inventory_find_pf(prev, name);

	return !was || strcmp(was->addr, pf->addr) || !was->driver[0] ||
	       listed(pf->addr, rebound, n_rebound);
}

static bool vfs_in_use(const struct vfo_inv_pf *pf, vfo_numvfs_in_use_fn in_use, void *opaque)
{
	for (size_t i = 0; in_use && i < pf->n_vfs; i++)
		if (in_use(pf->vfs[i].addr, opaque))
			return true;
	return false;
}

/* Whether a pool before pools[pi], or an earlier entry of its own list,
 * already sets numvfs for the PF at addr: the first one decides. */
static bool claimed_before(const struct vfo_hostd_cfg *cfg, size_t pi, size_t pj,
			   const struct vfo_inventory *cur, const char *addr)
{
	for (size_t i = 0; i <= pi; i++) {
		const struct vfo_hostd_pool_cfg *pc = &cfg->pools[i];

		if (pc->backend != VFO_HOSTD_BACKEND_SRIOV || pc->numvfs < 0)
			continue;
		for (size_t j = 0; j < (i == pi ? pj : pc->n_pfs); j++) {
			const struct vfo_inv_pf *pf = vfo_inventory_find_pf(cur, pc->pfs[j].pf);

			if (pf && !strcmp(pf->addr, addr))
				return true;
		}
	}
	return false;
}

static void fill(struct vfo_numvfs_step *s, const struct vfo_hostd_pool_cfg *pc,
		 const struct vfo_inv_pf *pf, bool rescan, vfo_numvfs_in_use_fn in_use,
		 void *opaque)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->pool, sizeof(s->pool), "%s", pc->name);
	snprintf(s->addr, sizeof(s->addr), "%s", pf->addr);
	snprintf(s->netdev, sizeof(s->netdev), "%s", pf->netdev);
	s->from = pf->numvfs;
	s->to = pc->numvfs;
	s->total = pf->totalvfs;
	s->appeared = rescan;
	if (!pf->driver[0])
		s->verdict = VFO_NUMVFS_NO_DRIVER;
	else if (pc->numvfs > pf->totalvfs)
		s->verdict = VFO_NUMVFS_RANGE;
	else if (pf->numvfs && vfs_in_use(pf, in_use, opaque))
		s->verdict = VFO_NUMVFS_IN_USE;
	else
		s->verdict = VFO_NUMVFS_WRITE;
}

int vfo_numvfs_plan(const struct vfo_hostd_cfg *cfg, const struct vfo_inventory *prev,
		    const struct vfo_inventory *cur, const char *const *rebound, size_t n_rebound,
		    vfo_numvfs_in_use_fn in_use, void *opaque, struct vfo_numvfs_step **out,
		    size_t *n)
{
	struct vfo_numvfs_step *s = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct vfo_hostd_pool_cfg *pc = &cfg->pools[i];

		if (pc->backend != VFO_HOSTD_BACKEND_SRIOV || pc->numvfs < 0)
			continue;
		for (size_t j = 0; j < pc->n_pfs; j++) {
			const char *name = pc->pfs[j].pf;
			const struct vfo_inv_pf *pf = vfo_inventory_find_pf(cur, name);

			if (!pf || pf->numvfs == pc->numvfs ||
			    claimed_before(cfg, i, j, cur, pf->addr))
				continue;
			/* On a rescan a driverless PF waits quietly for the
			 * bind, which makes it "appear". */
			if (prev &&
			    (!pf->driver[0] || !appeared(prev, name, pf, rebound, n_rebound)))
				continue;
			if (*n == cap) {
				void *p = realloc(s, (cap = cap ? cap * 2 : 4) * sizeof(*s));

				if (!p) {
					free(s);
					*n = 0;
					return -ENOMEM;
				}
				s = p;
			}
			fill(&s[(*n)++], pc, pf, prev != NULL, in_use, opaque);
		}
	}
	*out = s;
	return 0;
}
