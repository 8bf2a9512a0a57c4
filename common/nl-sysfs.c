// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What rtnetlink does not say about a link: the driver and PCI address
 * (sysfs), and the permanent MAC on kernels older than 5.6, which do not
 * send IFLA_PERM_ADDRESS (ethtool ioctl).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "nl-priv.h"

/* How far above the netdev's device we look for the PCI function: a
 * virtio-net netdev hangs off virtio<N>, whose parent is the PCI device. */
#define PCI_SEARCH_DEPTH 3

static const char *base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* Basename of a symlink's target. */
static int link_base(const char *path, char *out, size_t outlen)
{
	char target[PATH_MAX];
	const char *b;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	b = base(target);
	if (!*b || strlen(b) >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, b, strlen(b) + 1);
	return 0;
}

static bool is_pci_addr(const char *s)
{
	unsigned int dom, bus, dev, fn;
	char tail;

	return sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) == 4;
}

static void find_pci(const char *devlink, struct vfo_nl_link *link)
{
	char dev[PATH_MAX], path[PATH_MAX + 16], subsys[32];
	int depth;

	if (!realpath(devlink, dev))
		return;
	for (depth = 0; depth < PCI_SEARCH_DEPTH; depth++) {
		char *slash;

		snprintf(path, sizeof(path), "%s/subsystem", dev);
		if (!link_base(path, subsys, sizeof(subsys)) && !strcmp(subsys, "pci") &&
		    is_pci_addr(base(dev)) && strlen(base(dev)) < sizeof(link->pci_addr)) {
			strcpy(link->pci_addr, base(dev));
			return;
		}
		slash = strrchr(dev, '/');
		if (!slash || slash == dev)
			return;
		*slash = '\0';
	}
}

int vfo_nl_sysfs_fill(const char *sysfs_root, struct vfo_nl_link *link)
{
	char path[PATH_MAX];
	int n;

	link->driver[0] = '\0';
	link->pci_addr[0] = '\0';
	if (!sysfs_root)
		sysfs_root = "/sys";
	/* The name comes from the kernel, but a corrupt one must not walk
	 * us out of /sys/class/net. */
	if (!link->name[0] || strchr(link->name, '/') || !strcmp(link->name, ".") ||
	    !strcmp(link->name, ".."))
		return -EINVAL;
	n = snprintf(path, sizeof(path), "%s/class/net/%s", sysfs_root, link->name);
	if (n < 0 || (size_t)n >= sizeof(path) - 16)
		return -ENAMETOOLONG;
	if (access(path, F_OK))
		return -errno;
	strcat(path, "/device");
	if (access(path, F_OK))
		return 0; /* virtual device: no driver, no PCI address */
	find_pci(path, link);
	strcat(path, "/driver");
	if (link_base(path, link->driver, sizeof(link->driver)))
		link->driver[0] = '\0'; /* unbound, e.g. mid hot-unplug */
	return 0;
}

int vfo_nl_ethtool_perm_addr(const char *ifname, uint8_t *addr, size_t addr_max, uint8_t *addr_len)
{
	struct {
		struct ethtool_perm_addr h;
		uint8_t data[VFO_NL_HWADDR_MAX];
	} req;
	struct ifreq ifr;
	size_t i;
	int fd, ret = 0;

	*addr_len = 0;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.h.cmd = ETHTOOL_GPERMADDR;
	req.h.size = VFO_NL_HWADDR_MAX;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	ifr.ifr_data = (char *)&req;

	/* Any socket reaches dev_ioctl(); AF_UNIX works where IPv4 is
	 * compiled out. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	if (req.h.size > VFO_NL_HWADDR_MAX || req.h.size > addr_max)
		return -EOVERFLOW;
	for (i = 0; i < req.h.size; i++)
		if (req.data[i])
			break;
	if (i == req.h.size)
		return 0; /* all zero: the device has no permanent address */
	memcpy(addr, req.data, req.h.size);
	*addr_len = (uint8_t)req.h.size;
	return 0;
}
