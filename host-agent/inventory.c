// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Inventory scan. sysfs lookups cost a path walk each, so everything is
 * resolved relative to directory fds (bus/pci/devices, then the PF, then an
 * O_PATH fd per VF) instead of building absolute paths: a scan of 8 PFs x
 * 128 VFs stays at a few thousand short syscalls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH */
#endif
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "inventory.h"
#include "util.h"

static int read_at(int dirfd, const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return (int)n;
}

static int read_int_at(int dirfd, const char *path, int *val)
{
	char buf[32], *end;
	long v;
	int r;

	r = read_at(dirfd, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || *end || v < -1 || v > 1 << 20)
		return -EINVAL;
	*val = (int)v;
	return 0;
}

/* Basename of a symlink's target, e.g. driver -> ../../bus/pci/drivers/igb. */
static int link_base_at(int dirfd, const char *path, char *buf, size_t len)
{
	char target[512];
	const char *base;
	ssize_t n;

	n = readlinkat(dirfd, path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

static int iommu_group_at(int dirfd)
{
	char buf[32], *end;
	long v;

	if (link_base_at(dirfd, "iommu_group", buf, sizeof(buf)) < 0)
		return -1;
	v = strtol(buf, &end, 10);
	return (*end || v < 0 || v > 1 << 24) ? -1 : (int)v;
}

static void scan_netdev(int pfd, struct vfo_inv_pf *pf)
{
	char path[IF_NAMESIZE + 16];
	struct dirent *de;
	DIR *dir;
	int fd;

	pf->carrier = -1;
	fd = openat(pfd, "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= IF_NAMESIZE)
			continue;
		strcpy(pf->netdev, de->d_name);
		break;
	}
	closedir(dir);
	if (!pf->netdev[0])
		return;
	snprintf(path, sizeof(path), "net/%s/operstate", pf->netdev);
	if (read_at(pfd, path, pf->operstate, sizeof(pf->operstate)) < 0)
		pf->operstate[0] = '\0';
	snprintf(path, sizeof(path), "net/%s/carrier", pf->netdev);
	/* carrier reads EINVAL while the link is administratively down */
	if (read_int_at(pfd, path, &pf->carrier) < 0)
		pf->carrier = -1;
}

static int scan_vf(int pfd, int idx, struct vfo_inv_vf *vf)
{
	char name[32];
	int vfd;

	snprintf(name, sizeof(name), "virtfn%d", idx);
	if (link_base_at(pfd, name, vf->addr, sizeof(vf->addr)) < 0)
		return -ENOENT;
	vf->index = idx;
	vfd = openat(pfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0)
		return -errno;
	if (link_base_at(vfd, "driver", vf->driver, sizeof(vf->driver)) < 0)
		vf->driver[0] = '\0';
	if (read_int_at(vfd, "numa_node", &vf->numa_node) < 0)
		vf->numa_node = -1;
	vf->iommu_group = iommu_group_at(vfd);
	close(vfd);
	return 0;
}

static int scan_pf(int pfd, struct vfo_inv_pf *pf, int pf_idx)
{
	int i, n;

	if (read_int_at(pfd, "sriov_numvfs", &pf->numvfs) < 0)
		pf->numvfs = 0;
	if (link_base_at(pfd, "driver", pf->driver, sizeof(pf->driver)) < 0)
		pf->driver[0] = '\0';
	if (read_int_at(pfd, "numa_node", &pf->numa_node) < 0)
		pf->numa_node = -1;
	scan_netdev(pfd, pf);
	n = pf->numvfs > pf->totalvfs ? pf->totalvfs : pf->numvfs;
	if (n <= 0)
		return 0;
	pf->vfs = calloc((size_t)n, sizeof(*pf->vfs));
	if (!pf->vfs)
		return -ENOMEM;
	/* A missing virtfnN (numvfs changing under us) is skipped, not fatal:
	 * the udev event that follows triggers another scan. */
	for (i = 0; i < n; i++) {
		struct vfo_inv_vf *vf = &pf->vfs[pf->n_vfs];

		if (scan_vf(pfd, i, vf) < 0)
			continue;
		vf->pf = pf_idx;
		pf->n_vfs++;
	}
	return 0;
}

static int pf_cmp(const void *a, const void *b)
{
	const struct vfo_inv_pf *x = a, *y = b;

	return strcmp(x->addr, y->addr);
}

/* Returns 1 and fills pf->totalvfs if name is an SR-IOV PF, 0 if not. */
static int is_pf(int devfd, const char *name, struct vfo_inv_pf *pf)
{
	char path[VFO_PCI_ADDR_MAX + 32];
	char tmp[8];

	snprintf(path, sizeof(path), "%s/physfn", name);
	if (readlinkat(devfd, path, tmp, sizeof(tmp)) >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/sriov_totalvfs", name);
	if (read_int_at(devfd, path, &pf->totalvfs) < 0 || pf->totalvfs <= 0)
		return 0;
	return 1;
}

static int add_pf(struct vfo_inventory *inv, size_t *cap, int devfd, const char *name)
{
	struct vfo_inv_pf cand = { 0 }, *pf;
	int pfd, r;

	if (strlen(name) >= VFO_PCI_ADDR_MAX || !is_pf(devfd, name, &cand))
		return 0;
	if (inv->n_pfs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		void *p = realloc(inv->pfs, ncap * sizeof(*inv->pfs));

		if (!p)
			return -ENOMEM;
		inv->pfs = p;
		*cap = ncap;
	}
	pf = &inv->pfs[inv->n_pfs];
	*pf = cand;
	strcpy(pf->addr, name);
	pfd = openat(devfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return 0; /* vanished between readdir and open */
	r = scan_pf(pfd, pf, (int)inv->n_pfs);
	close(pfd);
	if (r < 0) {
		free(pf->vfs);
		return r;
	}
	inv->n_pfs++;
	return 0;
}

int vfo_inventory_scan(const char *sysfs_root, struct vfo_inventory **out)
{
	struct vfo_inventory *inv;
	char path[4096];
	struct dirent *de;
	size_t cap = 0, i, j;
	DIR *dir;
	int devfd, r = 0;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/bus/pci/devices", sysfs_root) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	dir = opendir(path);
	if (!dir) {
		r = -errno;
		free(inv);
		return r;
	}
	devfd = dirfd(dir);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		r = add_pf(inv, &cap, devfd, de->d_name);
		if (r < 0)
			break;
	}
	closedir(dir);
	if (r < 0) {
		vfo_inventory_free(inv);
		return r;
	}
	if (inv->n_pfs > 1)
		qsort(inv->pfs, inv->n_pfs, sizeof(*inv->pfs), pf_cmp);
	for (i = 0; i < inv->n_pfs; i++)
		for (j = 0; j < inv->pfs[i].n_vfs; j++)
			inv->pfs[i].vfs[j].pf = (int)i;
	*out = inv;
	return 0;
}

void vfo_inventory_free(struct vfo_inventory *inv)
{
	size_t i;

	if (!inv)
		return;
	for (i = 0; i < inv->n_pfs; i++)
		free(inv->pfs[i].vfs);
	free(inv->pfs);
	free(inv);
}

const struct vfo_inv_pf *vfo_inventory_find_pf(const struct vfo_inventory *inv, const char *name)
{
	size_t i;

	for (i = 0; inv && i < inv->n_pfs; i++)
		if (!strcmp(inv->pfs[i].addr, name) ||
		    (inv->pfs[i].netdev[0] && !strcmp(inv->pfs[i].netdev, name)))
			return &inv->pfs[i];
	return NULL;
}

const struct vfo_inv_vf *vfo_inventory_find_vf(const struct vfo_inventory *inv, const char *addr)
{
	size_t i, j;

	for (i = 0; inv && i < inv->n_pfs; i++)
		for (j = 0; j < inv->pfs[i].n_vfs; j++)
			if (!strcmp(inv->pfs[i].vfs[j].addr, addr))
				return &inv->pfs[i].vfs[j];
	return NULL;
}

size_t vfo_inventory_count_vfs(const struct vfo_inventory *inv)
{
	size_t i, n = 0;

	for (i = 0; inv && i < inv->n_pfs; i++)
		n += inv->pfs[i].n_vfs;
	return n;
}

const char *vfo_inv_change_type_str(enum vfo_inv_change_type t)
{
	switch (t) {
	case VFO_INV_PF_ADDED:
		return "pf-added";
	case VFO_INV_PF_REMOVED:
		return "pf-removed";
	case VFO_INV_PF_CHANGED:
		return "pf-changed";
	case VFO_INV_PF_LINK:
		return "pf-link";
	case VFO_INV_VF_ADDED:
		return "vf-added";
	case VFO_INV_VF_REMOVED:
		return "vf-removed";
	case VFO_INV_VF_DRIVER:
		return "vf-driver";
	}
	return "?";
}

struct change_list {
	struct vfo_inv_change *v;
	size_t n, cap;
	int err;
};

static struct vfo_inv_change *push(struct change_list *cl, enum vfo_inv_change_type type,
				   const struct vfo_inv_pf *pf, const struct vfo_inv_vf *vf)
{
	struct vfo_inv_change *c;

	if (cl->err)
		return NULL;
	if (cl->n == cl->cap) {
		size_t ncap = cl->cap ? cl->cap * 2 : 16;
		void *p = realloc(cl->v, ncap * sizeof(*cl->v));

		if (!p) {
			cl->err = -ENOMEM;
			return NULL;
		}
		cl->v = p;
		cl->cap = ncap;
	}
	c = &cl->v[cl->n++];
	memset(c, 0, sizeof(*c));
	c->type = type;
	strcpy(c->pf_addr, pf->addr);
	strcpy(c->netdev, pf->netdev);
	c->vf_index = -1;
	if (vf) {
		strcpy(c->vf_addr, vf->addr);
		c->vf_index = vf->index;
	}
	return c;
}

static void push_all_vfs(struct change_list *cl, enum vfo_inv_change_type t,
			 const struct vfo_inv_pf *pf)
{
	size_t i;

	for (i = 0; i < pf->n_vfs; i++)
		push(cl, t, pf, &pf->vfs[i]);
}

static const struct vfo_inv_vf *vf_by_addr(const struct vfo_inv_pf *pf, const char *addr,
					   size_t hint)
{
	size_t i;

	/* VFs of one PF keep their order, so the same slot usually matches */
	if (hint < pf->n_vfs && !strcmp(pf->vfs[hint].addr, addr))
		return &pf->vfs[hint];
	for (i = 0; i < pf->n_vfs; i++)
		if (!strcmp(pf->vfs[i].addr, addr))
			return &pf->vfs[i];
	return NULL;
}

static void diff_pf(struct change_list *cl, const struct vfo_inv_pf *o, const struct vfo_inv_pf *n)
{
	const struct vfo_inv_vf *m;
	struct vfo_inv_change *c;
	size_t i;

	if (strcmp(o->netdev, n->netdev) || o->numvfs != n->numvfs ||
	    strcmp(o->driver, n->driver)) {
		c = push(cl, VFO_INV_PF_CHANGED, n, NULL);
		if (c) {
			strcpy(c->old_driver, o->driver);
			strcpy(c->new_driver, n->driver);
		}
	}
	if (strcmp(o->operstate, n->operstate) || o->carrier != n->carrier)
		push(cl, VFO_INV_PF_LINK, n, NULL);
	for (i = 0; i < o->n_vfs; i++) {
		m = vf_by_addr(n, o->vfs[i].addr, i);
		if (!m) {
			push(cl, VFO_INV_VF_REMOVED, o, &o->vfs[i]);
		} else if (strcmp(m->driver, o->vfs[i].driver)) {
			c = push(cl, VFO_INV_VF_DRIVER, n, m);
			if (c) {
				strcpy(c->old_driver, o->vfs[i].driver);
				strcpy(c->new_driver, m->driver);
			}
		}
	}
	for (i = 0; i < n->n_vfs; i++)
		if (!vf_by_addr(o, n->vfs[i].addr, i))
			push(cl, VFO_INV_VF_ADDED, n, &n->vfs[i]);
}

int vfo_inventory_diff(const struct vfo_inventory *old, const struct vfo_inventory *new,
		       struct vfo_inv_change **out, size_t *n)
{
	static const struct vfo_inventory empty;
	struct change_list cl = { 0 };
	size_t i = 0, j = 0;

	if (!old)
		old = &empty;
	if (!new)
		new = &empty;
	/* both PF arrays are sorted by address: merge */
	while (i < old->n_pfs || j < new->n_pfs) {
		int c;

		if (i == old->n_pfs)
			c = 1;
		else if (j == new->n_pfs)
			c = -1;
		else
			c = strcmp(old->pfs[i].addr, new->pfs[j].addr);
		if (c < 0) {
			push(&cl, VFO_INV_PF_REMOVED, &old->pfs[i], NULL);
			push_all_vfs(&cl, VFO_INV_VF_REMOVED, &old->pfs[i]);
			i++;
		} else if (c > 0) {
			push(&cl, VFO_INV_PF_ADDED, &new->pfs[j], NULL);
			push_all_vfs(&cl, VFO_INV_VF_ADDED, &new->pfs[j]);
			j++;
		} else {
			diff_pf(&cl, &old->pfs[i++], &new->pfs[j++]);
		}
	}
	if (cl.err) {
		free(cl.v);
		*out = NULL;
		*n = 0;
		return cl.err;
	}
	*out = cl.v;
	*n = cl.n;
	return 0;
}
