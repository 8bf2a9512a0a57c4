// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-mksysfs: generate a fake sysfs tree of SR-IOV PFs and VFs, laid out
 * the way the kernel lays it out (devices/, bus/pci/devices/ symlinks,
 * driver and iommu_group links, virtfnN/physfn, net/<ifname>), so the
 * inventory, the VF binding code and the benchmark can run without
 * hardware.
 *
 *   vfo-mksysfs ROOT [--pfs N] [--vfs N] [--numvfs N] [--numa-nodes N]
 *               [--pf-driver NAME] [--vf-driver NAME] [--link-down]
 *               [--extra-devs N] [--no-driver VF...]
 *
 * A VF for --no-driver is "P:V" (PF number, VF index) or a PCI address.
 * PF p has address 0000:BB:00.0 and netdev enpBs0f0 (B = bus, decimal);
 * its VFs follow at routing ID offset 0x80, stride 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct opts {
	const char *root;
	int pfs, vfs, numvfs, numa_nodes, extra_devs;
	const char *pf_driver, *vf_driver;
	bool link_down;
	char **no_driver;
	int n_no_driver;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vfo-mksysfs: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void mkdirs(const char *path)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		die("path too long: %s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			die("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", buf, strerror(errno));
}

static void wfile(const char *content, const char *fmt, ...)
{
	char path[4096];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "w");
	if (!f)
		die("create %s: %s", path, strerror(errno));
	fputs(content, f);
	if (fclose(f))
		die("write %s: %s", path, strerror(errno));
}

static void slink(const char *target, const char *fmt, ...)
{
	char path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	unlink(path);
	if (symlink(target, path) < 0)
		die("symlink %s: %s", path, strerror(errno));
}

static void driver_dir(const struct opts *o, const char *drv)
{
	char d[4096];

	snprintf(d, sizeof(d), "%s/bus/pci/drivers/%s", o->root, drv);
	mkdirs(d);
	wfile("", "%s/bind", d);
	wfile("", "%s/unbind", d);
	wfile("", "%s/new_id", d);
}

/* A PCI device directory plus its bus/pci/devices link and iommu group. */
static void pci_dev(const struct opts *o, const char *addr, const char *drv, int numa, int group,
		    const char *class)
{
	char d[4096], t[512], v[32];

	snprintf(d, sizeof(d), "%s/devices/pci0000:00/%s", o->root, addr);
	mkdirs(d);
	wfile("0x8086\n", "%s/vendor", d);
	wfile("0x1520\n", "%s/device", d);
	wfile(class, "%s/class", d);
	snprintf(v, sizeof(v), "%d\n", numa);
	wfile(v, "%s/numa_node", d);
	wfile("(null)\n", "%s/driver_override", d);
	snprintf(t, sizeof(t), "../../../devices/pci0000:00/%s", addr);
	slink(t, "%s/bus/pci/devices/%s", o->root, addr);
	if (drv) {
		driver_dir(o, drv);
		snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", drv);
		slink(t, "%s/driver", d);
		snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", addr);
		slink(t, "%s/bus/pci/drivers/%s/%s", o->root, drv, addr);
	}
	if (group >= 0) {
		snprintf(d, sizeof(d), "%s/kernel/iommu_groups/%d/devices", o->root, group);
		mkdirs(d);
		snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", addr);
		slink(t, "%s/%s", d, addr);
		snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", group);
		slink(t, "%s/devices/pci0000:00/%s/iommu_group", o->root, addr);
	}
}

static void rid_addr(unsigned int rid, char *buf, size_t len)
{
	snprintf(buf, len, "0000:%02x:%02x.%x", (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7);
}

static bool no_driver(const struct opts *o, int p, int v, const char *addr)
{
	char pv[32];
	int i;

	snprintf(pv, sizeof(pv), "%d:%d", p, v);
	for (i = 0; i < o->n_no_driver; i++)
		if (!strcmp(o->no_driver[i], pv) || !strcmp(o->no_driver[i], addr))
			return true;
	return false;
}

static void make_pf(const struct opts *o, int p, unsigned int bus, int *group)
{
	char pf[32], vf[32], d[4096], t[512], ifname[32], v[32];
	unsigned int rid = bus << 8;
	int numa = o->numa_nodes > 0 ? p % o->numa_nodes : -1;
	int j;

	rid_addr(rid, pf, sizeof(pf));
	pci_dev(o, pf, o->pf_driver, numa, (*group)++, "0x020000\n");
	snprintf(d, sizeof(d), "%s/devices/pci0000:00/%s", o->root, pf);
	snprintf(v, sizeof(v), "%d\n", o->vfs);
	wfile(v, "%s/sriov_totalvfs", d);
	snprintf(v, sizeof(v), "%d\n", o->numvfs);
	wfile(v, "%s/sriov_numvfs", d);
	snprintf(ifname, sizeof(ifname), "enp%us0f0", bus);
	snprintf(d, sizeof(d), "%s/devices/pci0000:00/%s/net/%s", o->root, pf, ifname);
	mkdirs(d);
	wfile(o->link_down ? "down\n" : "up\n", "%s/operstate", d);
	if (!o->link_down)
		wfile("1\n", "%s/carrier", d);
	snprintf(v, sizeof(v), "%d\n", p + 2);
	wfile(v, "%s/ifindex", d);
	snprintf(d, sizeof(d), "%s/class/net", o->root);
	mkdirs(d);
	snprintf(t, sizeof(t), "../../devices/pci0000:00/%s/net/%s", pf, ifname);
	slink(t, "%s/class/net/%s", o->root, ifname);

	for (j = 0; j < o->numvfs; j++) {
		rid_addr(rid + 0x80 + (unsigned int)j, vf, sizeof(vf));
		pci_dev(o, vf, no_driver(o, p, j, vf) ? NULL : o->vf_driver, numa, (*group)++,
			"0x020000\n");
		snprintf(t, sizeof(t), "../%s", vf);
		slink(t, "%s/devices/pci0000:00/%s/virtfn%d", o->root, pf, j);
		snprintf(t, sizeof(t), "../%s", pf);
		slink(t, "%s/devices/pci0000:00/%s/physfn", o->root, vf);
	}
}

static int num(const char *s, const char *what, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > max)
		die("bad %s: %s", what, s);
	return (int)v;
}

static void usage(void)
{
	fputs("usage: vfo-mksysfs ROOT [--pfs N] [--vfs N] [--numvfs N]\n"
	      "         [--numa-nodes N] [--pf-driver NAME] [--vf-driver NAME]\n"
	      "         [--link-down] [--extra-devs N] [--no-driver VF...]\n",
	      stderr);
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "pfs", required_argument, NULL, 'p' },
		{ "vfs", required_argument, NULL, 'v' },
		{ "numvfs", required_argument, NULL, 'n' },
		{ "numa-nodes", required_argument, NULL, 'N' },
		{ "pf-driver", required_argument, NULL, 'P' },
		{ "vf-driver", required_argument, NULL, 'V' },
		{ "link-down", no_argument, NULL, 'l' },
		{ "extra-devs", required_argument, NULL, 'e' },
		{ "no-driver", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool in_list = false;
	int c;

	o->no_driver = calloc((size_t)argc, sizeof(char *));
	if (!o->no_driver)
		die("out of memory");
	/* "+": stop at the first non-option so --no-driver can take a list */
	while (optind < argc) {
		c = getopt_long(argc, argv, "+h", lo, NULL);
		if (c == -1) {
			if (!o->root && !in_list)
				o->root = argv[optind];
			else if (in_list)
				o->no_driver[o->n_no_driver++] = argv[optind];
			else
				usage();
			optind++;
			continue;
		}
		in_list = false;
		switch (c) {
		case 'p':
			o->pfs = num(optarg, "--pfs", 64);
			break;
		case 'v':
			o->vfs = num(optarg, "--vfs", 1024);
			break;
		case 'n':
			o->numvfs = num(optarg, "--numvfs", 1024);
			break;
		case 'N':
			o->numa_nodes = num(optarg, "--numa-nodes", 64);
			break;
		case 'P':
			o->pf_driver = optarg;
			break;
		case 'V':
			o->vf_driver = optarg;
			break;
		case 'l':
			o->link_down = true;
			break;
		case 'e':
			o->extra_devs = num(optarg, "--extra-devs", 64);
			break;
		case 'x':
			in_list = true;
			break;
		default:
			usage();
		}
	}
	if (!o->root)
		usage();
	if (o->numvfs < 0)
		o->numvfs = o->vfs;
	if (o->numvfs > o->vfs)
		die("--numvfs %d exceeds --vfs %d", o->numvfs, o->vfs);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.pfs = 1,
		.vfs = 4,
		.numvfs = -1,
		.numa_nodes = 2,
		.extra_devs = 2,
		.pf_driver = "igb",
		.vf_driver = "igbvf",
	};
	char d[4096], addr[32];
	unsigned int bus = 0x10, stride;
	int p, group = 0;

	parse(argc, argv, &o);
	snprintf(d, sizeof(d), "%s/bus/pci/devices", o.root);
	mkdirs(d);
	snprintf(d, sizeof(d), "%s/kernel/iommu_groups", o.root);
	mkdirs(d);
	wfile("", "%s/bus/pci/drivers_probe", o.root);
	driver_dir(&o, "vfio-pci");
	/* devices without SR-IOV that the scan must skip */
	for (p = 0; p < o.extra_devs; p++) {
		rid_addr((unsigned int)p << 3, addr, sizeof(addr));
		pci_dev(&o, addr, p ? "ahci" : NULL, 0, group++, "0x060000\n");
		/* SR-IOV capable but without VFs: not a PF for vfo */
		if (p == 1)
			wfile("0\n", "%s/devices/pci0000:00/%s/sriov_totalvfs", o.root, addr);
	}
	stride = 1 + (0x80 + (unsigned int)o.vfs) / 256;
	for (p = 0; p < o.pfs; p++, bus += stride) {
		if (bus > 0xff)
			die("too many PFs/VFs for one PCI domain");
		make_pf(&o, p, bus, &group);
	}
	free(o.no_driver);
	return 0;
}
