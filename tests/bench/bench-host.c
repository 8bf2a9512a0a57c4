// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-host: vfo-hostd's figures on a generated tree of 8 PFs x 128 VFs.
 *
 *   bench-host [--mksysfs PATH] [--hostd PATH] [--keep]
 *
 * 1. inventory scan time (median of 20 scans);
 * 2. 10 000 allocate+release cycles on the pools (pure allocator), and a
 *    few hundred through the daemon core with the state file persisted;
 * 3. control-socket round trip p50/p99 with 50 concurrent clients against
 *    a real vfo-hostd process;
 * 4. that process's RSS (VmRSS) after the load, and its libvirt helper's.
 *
 * Prints the figures next to their targets. It asserts nothing about
 * timings: a loaded CI machine must not fail the build.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostd.h"
#include "inventory.h"
#include "log.h"
#include "pool.h"
#include "util.h"

#define N_PFS 8
#define N_VFS 128
#define N_SCANS 20
#define N_CYCLES 10000
#define N_PERSIST_CYCLES 300
#define N_CLIENTS 50
#define N_RTT_PER_CLIENT 200

struct row {
	const char *what;
	double value;
	const char *unit;
	double target; /* < 0: none */
};

static struct row rows[16];
static int n_rows;

static void add_row(const char *what, double v, const char *unit, double target)
{
	rows[n_rows++] = (struct row){ what, v, unit, target };
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return v[i];
}

static int run(const char *cmd)
{
	int r = system(cmd);

	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* ---- 1. inventory ------------------------------------------------------ */

static struct vfo_inventory *bench_scan(const char *root)
{
	int64_t t[N_SCANS];
	struct vfo_inventory *inv = NULL;

	for (int i = 0; i < N_SCANS; i++) {
		int64_t t0 = vfo_now_us();

		vfo_inventory_free(inv);
		if (vfo_inventory_scan(root, &inv) < 0) {
			fprintf(stderr, "bench-host: scan of %s failed\n", root);
			exit(1);
		}
		t[i] = vfo_now_us() - t0;
	}
	qsort(t, N_SCANS, sizeof(t[0]), cmp_i64);
	printf("inventory: %zu PFs, %zu VFs\n", inv->n_pfs, vfo_inventory_count_vfs(inv));
	add_row("inventory scan (median)", t[N_SCANS / 2] / 1000.0, "ms", 50);
	return inv;
}

/* ---- 2. allocator ------------------------------------------------------ */

static void bench_alloc(const struct vfo_inventory *inv)
{
	struct vfo_pools *p = vfo_pools_new();
	struct vfo_owner o;
	int64_t *t = calloc(N_CYCLES, sizeof(*t)), t0, total;
	int pool = vfo_pools_add_pool(p, "bench");
	char uuid[40];

	for (size_t i = 0; i < inv->n_pfs; i++) {
		struct vfo_pf_range r = { .first = -1, .last = -1 };

		snprintf(r.pf, sizeof(r.pf), "%s", inv->pfs[i].addr);
		vfo_pools_add_inventory(p, pool, inv, &r);
	}
	/* Half the pool held, so the allocator works on a realistic mix. */
	for (int i = 0; i < N_PFS * N_VFS / 2; i++) {
		snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", i);
		vfo_owner_set(&o, uuid, "held");
		vfo_pools_reserve(p, pool, &o, i % 2, 0, 0);
	}
	total = vfo_now_us();
	for (int i = 0; i < N_CYCLES; i++) {
		snprintf(uuid, sizeof(uuid), "11111111-0000-4000-8000-%012d", i);
		vfo_owner_set(&o, uuid, "p0");
		t0 = vfo_now_us();
		if (vfo_pools_reserve(p, pool, &o, i % 2, 0, vfo_wall_ms() + 60000) < 0 ||
		    vfo_pools_release(p, &o) < 0) {
			fprintf(stderr, "bench-host: allocation %d failed\n", i);
			exit(1);
		}
		t[i] = vfo_now_us() - t0;
	}
	total = vfo_now_us() - total;
	qsort(t, N_CYCLES, sizeof(t[0]), cmp_i64);
	add_row("alloc+release (mean)", (double)total / N_CYCLES, "us", 20);
	add_row("alloc+release (p99)", (double)pct(t, N_CYCLES, 0.99), "us", -1);
	free(t);
	vfo_pools_free(p);
}

/* The same through the daemon core: each change fsync'ed to disk first. */
static void bench_persisted(const char *conf)
{
	struct vfo_hostd h = { 0 };
	struct vfo_owner o;
	int64_t t0;
	char uuid[40];

	if (vfo_hostd_core_init(&h, conf) < 0) {
		fprintf(stderr, "bench-host: hostd core init failed\n");
		exit(1);
	}
	t0 = vfo_now_us();
	for (int i = 0; i < N_PERSIST_CYCLES; i++) {
		snprintf(uuid, sizeof(uuid), "22222222-0000-4000-8000-%012d", i);
		vfo_owner_set(&o, uuid, "p0");
		if (vfo_hostd_reserve(&h, "bench", &o, -1, 0, NULL) < 0 ||
		    vfo_hostd_release(&h, uuid, NULL) < 0) {
			fprintf(stderr, "bench-host: persisted cycle %d failed\n", i);
			exit(1);
		}
	}
	add_row("alloc+release persisted", (double)(vfo_now_us() - t0) / N_PERSIST_CYCLES / 1000.0,
		"ms", -1);
	vfo_hostd_core_fini(&h);
}

/* ---- 3. control socket ------------------------------------------------- */

static int connect_sock(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static pid_t start_hostd(const char *hostd, const char *conf, const char *sock)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 2);
		execl(hostd, hostd, "-f", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		int fd = connect_sock(sock);

		if (fd >= 0) {
			close(fd);
			return pid;
		}
		usleep(20000);
	}
	fprintf(stderr, "bench-host: %s did not start\n", hostd);
	kill(pid, SIGKILL);
	exit(1);
}

struct client {
	int fd;
	int sent, got;
	int64_t t0;
	size_t len;
	char buf[16384];
};

static void send_req(struct client *c, int seq)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "{\"id\":%d,\"cmd\":\"pools\"}\n", seq);

	c->t0 = vfo_now_us();
	if (write(c->fd, line, n) != n) {
		perror("bench-host: write");
		exit(1);
	}
	c->sent++;
}

static void bench_rtt(const char *sock)
{
	static struct client cl[N_CLIENTS];
	struct pollfd pfd[N_CLIENTS];
	size_t n = N_CLIENTS * N_RTT_PER_CLIENT, k = 0;
	int64_t *rtt = calloc(n, sizeof(*rtt)), t0 = vfo_now_us();

	for (int i = 0; i < N_CLIENTS; i++) {
		cl[i].fd = connect_sock(sock);
		if (cl[i].fd < 0) {
			perror("bench-host: connect");
			exit(1);
		}
		pfd[i] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
	}
	/* Every client keeps one request in flight: 50 concurrent. */
	for (int i = 0; i < N_CLIENTS; i++)
		send_req(&cl[i], 0);
	while (k < n) {
		if (poll(pfd, N_CLIENTS, 5000) <= 0) {
			fprintf(stderr, "bench-host: daemon stopped answering\n");
			exit(1);
		}
		for (int i = 0; i < N_CLIENTS; i++) {
			struct client *c = &cl[i];
			ssize_t r;
			char *nl;

			if (!(pfd[i].revents & POLLIN))
				continue;
			r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r <= 0) {
				fprintf(stderr, "bench-host: client %d lost\n", i);
				exit(1);
			}
			c->len += r;
			while ((nl = memchr(c->buf, '\n', c->len))) {
				if (!memmem(c->buf, nl - c->buf, "\"result\"", 8)) {
					fprintf(stderr, "bench-host: error reply: %.*s\n",
						(int)(nl - c->buf), c->buf);
					exit(1);
				}
				rtt[k++] = vfo_now_us() - c->t0;
				c->got++;
				c->len -= nl + 1 - c->buf;
				memmove(c->buf, nl + 1, c->len);
				if (c->sent < N_RTT_PER_CLIENT)
					send_req(c, c->sent);
			}
		}
	}
	t0 = vfo_now_us() - t0;
	for (int i = 0; i < N_CLIENTS; i++)
		close(cl[i].fd);
	qsort(rtt, n, sizeof(*rtt), cmp_i64);
	printf("control socket: %zu round trips, %d clients, %.0f req/s\n", n, N_CLIENTS,
	       n / (t0 / 1e6));
	add_row("ctl round trip p50", pct(rtt, n, 0.50) / 1000.0, "ms", -1);
	add_row("ctl round trip p99", pct(rtt, n, 0.99) / 1000.0, "ms", 5);
	free(rtt);
}

/* A "Name: N kB" field of /proc/PID/status, -1 if absent. */
/* The first process whose parent is ppid, or -1. */
static pid_t child_of(pid_t ppid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = -1;

	while (d && found < 0 && (e = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		int pp;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (p && sscanf(p, ") %*c %d", &pp) == 1 && pp == ppid)
			found = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

static long status_kib(pid_t pid, const char *field)
{
	size_t n = strlen(field);
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			kib = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

/* ---- main -------------------------------------------------------------- */

static void print_table(void)
{
	printf("\n%-28s %12s %6s %10s  %s\n", "metric", "value", "unit", "target", "");
	for (int i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		char target[32] = "-";
		const char *verdict = "";

		if (r->target >= 0) {
			snprintf(target, sizeof(target), "< %g", r->target);
			verdict = r->value < r->target ? "ok" : "OVER";
		}
		printf("%-28s %12.3f %6s %10s  %s\n", r->what, r->value, r->unit, target, verdict);
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "mksysfs", required_argument, NULL, 'm' },
		{ "hostd", required_argument, NULL, 'H' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mksysfs = getenv("VFO_MKSYSFS"), *hostd = getenv("VFO_HOSTD");
	char dir[] = "/tmp/bench-host-XXXXXX", cmd[1024], conf[256], sock[256];
	struct vfo_inventory *inv;
	bool keep = false;
	pid_t pid, helper;
	long rss;
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c == 'm')
			mksysfs = optarg;
		else if (c == 'H')
			hostd = optarg;
		else if (c == 'k')
			keep = true;
		else
			return 2;
	}
	if (!mksysfs)
		mksysfs = "tests/tools/vfo-mksysfs";
	if (!hostd)
		hostd = "host-agent/vfo-hostd";
	vfo_log_set_level(VFO_LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(cmd, sizeof(cmd), "%s %s/sys --pfs %d --vfs %d --numa-nodes 2 >/dev/null", mksysfs,
		 dir, N_PFS, N_VFS);
	if (run(cmd)) {
		fprintf(stderr, "bench-host: %s failed\n", cmd);
		return 1;
	}
	inv = bench_scan(strcat(strcpy(cmd, dir), "/sys"));
	bench_alloc(inv);
	vfo_inventory_free(inv);

	snprintf(conf, sizeof(conf), "%s/hostd.conf", dir);
	snprintf(sock, sizeof(sock), "%s/hostd.sock", dir);
	f = fopen(conf, "w");
	fprintf(f,
		"[hostd]\nstate_dir = %s/state\nsocket = %s\nsysfs_root = %s/sys\n"
		"group = root\nudev = no\nlog_level = err\n"
		"ctl_rate = 100000\nctl_burst = 100000\n\n"
		"[pool bench]\nbackend = sriov\npfs =",
		dir, sock, dir);
	for (int i = 0; i < N_PFS; i++)
		fprintf(f, " 0000:%02x:00.0", 0x10 + i);
	fputs("\n", f);
	fclose(f);
	bench_persisted(conf);

	pid = start_hostd(hostd, conf, sock);
	/* Steady state, not start-up: the daemon answers before its libvirt
	 * helper has finished loading and initialising libvirt (~0.1 s of CPU
	 * on another core), and 10 000 round trips take only ~0.15 s. */
	usleep(1000000);
	bench_rtt(sock);
	rss = status_kib(pid, "VmRSS");
	add_row("vfo-hostd RSS", rss / 1024.0, "MiB", 16);
	add_row("  of which private (RssAnon)", status_kib(pid, "RssAnon") / 1024.0, "MiB", -1);
	add_row("  of which files (RssFile)", status_kib(pid, "RssFile") / 1024.0, "MiB", -1);
	/* The libvirt client runs in its own process: count it too, so the
	 * split never hides memory. Its file pages are libvirt's shared
	 * libraries, which libvirtd maps as well on a real host. */
	helper = child_of(pid);
	if (helper > 0) {
		long hrss = status_kib(helper, "VmRSS");

		add_row("vfo-virt-helper RSS", hrss / 1024.0, "MiB", -1);
		add_row("  of which private (RssAnon)", status_kib(helper, "RssAnon") / 1024.0,
			"MiB", -1);
		add_row("vfo-hostd + helper RSS", (rss + hrss) / 1024.0, "MiB", -1);
	} else {
		fprintf(stderr, "bench-host: vfo-hostd has no vfo-virt-helper child\n");
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);

	print_table();
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		run(cmd);
	}
	return 0;
}
