// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-probe: measure what a failover costs a UDP flow.
 *
 *   vfo-probe echo --port P [--bind ADDR]
 *	runs in the guest and reflects every probe to its sender.
 *   vfo-probe send --to ADDR --port P [--interval-ms 10] [--duration S]
 *		    [--json] [--phase-file F] [--stop-file F]
 *		    [--status-file F] [--linger-ms 500] [--first-phase NAME]
 *	runs on the peer: sends sequence-numbered probes, collects the echoes
 *	and reports sent, received, lost, duplicated, reordered and the
 *	longest gap between consecutive echoes, in total and per phase.
 *   vfo-probe phase --phase-file F NAME
 *	appends "<wall-clock seconds> NAME" to F: a new phase starts now.
 *
 * Phases: the test script appends lines "SECONDS.FRACTION NAME" (wall
 * clock, as `date +%s.%N` prints) to the phase file. Each probe belongs to
 * the phase in force when it was SENT, so loss caused by an unplug lands in
 * the unplug phase even if the sender only notices it later. SIGUSR1 makes
 * the sender read the phase file at once (it also reads it every tick).
 *
 * Only libc, so that it links statically and goes into a guest initramfs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAGIC 0x56464f50u /* "VFOP" */
#define MAX_PHASES 64
#define PHASE_NAME_MAX 48

struct probe_pkt {
	uint32_t magic;
	uint32_t run_id;
	uint32_t seq;
	uint32_t pad;
	uint64_t tx_us;
} __attribute__((packed));

struct probe_rec {
	int64_t tx_mono_us;
	int64_t tx_wall_us;
	int64_t rx_mono_us; /* first echo; 0 if none */
	int64_t gap_us; /* longest echo gap ending at/attributed here */
	uint32_t count; /* echoes seen */
};

struct phase {
	int64_t wall_us;
	char name[PHASE_NAME_MAX];
	/* results */
	uint64_t sent, received, dup, reordered;
	int64_t max_gap_us;
};

struct sender {
	/* options */
	struct sockaddr_storage to;
	socklen_t to_len;
	int interval_ms;
	double duration_s; /* 0: until stopped */
	int linger_ms;
	bool json;
	const char *phase_file;
	const char *stop_file;
	const char *status_file;

	/* state */
	uint32_t run_id;
	struct probe_rec *rec;
	size_t nrec, cap;
	int64_t start_mono_us, stop_mono_us;
	int64_t last_rx_us;
	int64_t last_rx_seq; /* -1: nothing yet */
	int64_t max_rx_seq;
	uint64_t received, dup, reordered, stray;
	int64_t rtt_min, rtt_max, rtt_sum;
	off_t phase_off;
	struct phase phases[MAX_PHASES];
	int nphases;
};

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vfo-probe echo --port P [--bind ADDR]\n"
		   "       vfo-probe send --to ADDR --port P [--interval-ms MS] [--duration S]\n"
		   "                 [--json] [--phase-file F|--marks F] [--stop-file F]\n"
		   "                 [--status-file F] [--linger-ms MS] [--first-phase NAME]\n"
		   "       vfo-probe phase --phase-file F NAME\n");
}

static int parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "SECONDS[.FRACTION]" to microseconds, exactly (no double rounding). */
static int parse_wall(const char *s, int64_t *us)
{
	int64_t sec = 0, frac = 0;
	int digits = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9')
		sec = sec * 10 + (*s++ - '0');
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (digits < 6) {
				frac = frac * 10 + (*s - '0');
				digits++;
			}
			s++;
		}
	}
	if (*s && *s != ' ' && *s != '\t')
		return -EINVAL;
	while (digits++ < 6)
		frac *= 10;
	*us = sec * 1000000 + frac;
	return 0;
}

/* ---------------------------------------------------------------- echo */

static volatile sig_atomic_t echo_stop;

static void echo_sig(int sig)
{
	(void)sig;
	echo_stop = 1;
}

static int echo_socket(const char *bind_addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0;

	if (bind_addr) {
		if (parse_addr(bind_addr, port, &ss, &len) < 0) {
			fprintf(stderr, "vfo-probe: bad address %s\n", bind_addr);
			return -1;
		}
		fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	} else {
		/* Dual stack if the kernel has IPv6 (ipv6.disable=1 guests do
		 * not): try :: first, fall back to 0.0.0.0. */
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		memset(&ss, 0, sizeof(ss));
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		a6->sin6_addr = in6addr_any;
		len = sizeof(*a6);
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		} else {
			parse_addr("0.0.0.0", port, &ss, &len);
			fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		}
	}
	if (fd < 0) {
		perror("vfo-probe: socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("vfo-probe: bind");
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd_echo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bind_addr = NULL;
	struct sigaction sa = { .sa_handler = echo_sig };
	uint64_t echoed = 0;
	char buf[2048];
	long port = -1;
	int fd, c;

	while ((c = getopt_long(argc, argv, "p:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_int(optarg, 1, 65535, &port) < 0) {
				fprintf(stderr, "vfo-probe: bad port\n");
				return 2;
			}
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (port < 0) {
		usage(stderr);
		return 2;
	}
	fd = echo_socket(bind_addr, (int)port);
	if (fd < 0)
		return 1;
	/* No SA_RESTART: SIGTERM must interrupt recvfrom(). */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "vfo-probe: echoing on port %ld\n", port);
	while (!echo_stop) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("vfo-probe: recvfrom");
			break;
		}
		/* Errors (no route while the bond fails over) are expected and
		 * are exactly what the sender measures: ignore them. */
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&from, flen) == n)
			echoed++;
	}
	fprintf(stderr, "vfo-probe: echoed %" PRIu64 "\n", echoed);
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- phases */

static void phase_add(struct sender *s, int64_t wall_us, const char *name)
{
	struct phase *p;
	int i;

	if (s->nphases >= MAX_PHASES) {
		fprintf(stderr, "vfo-probe: too many phases, ignoring %s\n", name);
		return;
	}
	/* Keep the list sorted by start time: lines may come late. */
	i = s->nphases;
	while (i > 0 && s->phases[i - 1].wall_us > wall_us) {
		s->phases[i] = s->phases[i - 1];
		i--;
	}
	p = &s->phases[i];
	memset(p, 0, sizeof(*p));
	p->wall_us = wall_us;
	snprintf(p->name, sizeof(p->name), "%s", name);
	s->nphases++;
}

/* One line: "SECONDS NAME" or just "NAME" (then it starts now). */
static void phase_line(struct sender *s, char *line)
{
	char *name = line, *end;
	int64_t us;

	while (*line == ' ' || *line == '\t')
		line++;
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	if (!*line || *line == '#')
		return;
	if (parse_wall(line, &us) == 0) {
		name = strpbrk(line, " \t");
		if (!name)
			return;
		while (*name == ' ' || *name == '\t')
			name++;
		if (!*name)
			return;
	} else {
		us = clock_us(CLOCK_REALTIME);
		name = line;
	}
	phase_add(s, us, name);
}

/* Read complete lines appended since the last call. */
static void phase_poll(struct sender *s)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (!s->phase_file)
		return;
	fd = open(s->phase_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, s->phase_off);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		s->phase_off += nl - p + 1;
		phase_line(s, p);
	}
}

static int phase_of(const struct sender *s, int64_t wall_us)
{
	int i;

	for (i = s->nphases - 1; i > 0; i--)
		if (s->phases[i].wall_us <= wall_us)
			return i;
	return 0;
}

static int cmd_phase(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "phase-file", required_argument, NULL, 'f' },
		{ "marks", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	char line[128];
	int64_t now;
	int fd, c, n;

	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (c != 'f') {
			usage(stderr);
			return 2;
		}
		file = optarg;
	}
	if (!file || optind != argc - 1 || strchr(argv[optind], '\n')) {
		usage(stderr);
		return 2;
	}
	now = clock_us(CLOCK_REALTIME);
	n = snprintf(line, sizeof(line), "%" PRId64 ".%06" PRId64 " %s\n", now / 1000000,
		     now % 1000000, argv[optind]);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		fprintf(stderr, "vfo-probe: phase name too long\n");
		return 2;
	}
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, n) != n) {
		perror("vfo-probe: phase file");
		return 1;
	}
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- send */

static int rec_reserve(struct sender *s)
{
	struct probe_rec *r;
	size_t cap;

	if (s->nrec < s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 4096;
	r = realloc(s->rec, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->rec = r;
	s->cap = cap;
	return 0;
}

static int send_one(struct sender *s, int fd)
{
	struct probe_pkt pkt;
	struct probe_rec *r;

	if (rec_reserve(s) < 0)
		return -ENOMEM;
	r = &s->rec[s->nrec];
	memset(r, 0, sizeof(*r));
	r->tx_mono_us = clock_us(CLOCK_MONOTONIC);
	r->tx_wall_us = clock_us(CLOCK_REALTIME);
	pkt.magic = htonl(PROBE_MAGIC);
	pkt.run_id = htonl(s->run_id);
	pkt.seq = htonl((uint32_t)s->nrec);
	pkt.pad = 0;
	pkt.tx_us = (uint64_t)r->tx_mono_us;
	s->nrec++;
	/* A failed send is a lost probe, which is what we are measuring. */
	sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&s->to, s->to_len);
	return 0;
}

static void note_gap(struct sender *s, int64_t now, int64_t attr_seq)
{
	int64_t gap;

	if (s->last_rx_seq < 0)
		gap = now - s->rec[0].tx_mono_us;
	else
		gap = now - s->last_rx_us;
	if (attr_seq >= (int64_t)s->nrec)
		attr_seq = s->nrec - 1;
	if (gap > s->rec[attr_seq].gap_us)
		s->rec[attr_seq].gap_us = gap;
}

static void recv_all(struct sender *s, int fd)
{
	struct probe_pkt pkt;
	int64_t now, attr;
	ssize_t n;
	uint32_t seq;

	for (;;) {
		n = recv(fd, &pkt, sizeof(pkt), MSG_DONTWAIT);
		if (n < 0)
			return;
		now = clock_us(CLOCK_MONOTONIC);
		if (n != sizeof(pkt) || ntohl(pkt.magic) != PROBE_MAGIC ||
		    ntohl(pkt.run_id) != s->run_id || ntohl(pkt.seq) >= s->nrec) {
			s->stray++;
			continue;
		}
		seq = ntohl(pkt.seq);
		if (s->rec[seq].count++) {
			s->dup++;
			continue;
		}
		s->rec[seq].rx_mono_us = now;
		s->received++;
		if ((int64_t)seq < s->max_rx_seq)
			s->reordered++;
		else
			s->max_rx_seq = seq;
		/* The gap is charged to the first probe that should have
		 * ended it: the one after the last echo (or this one if it
		 * came out of order). */
		if (s->last_rx_seq < 0)
			attr = 0;
		else if ((int64_t)seq > s->last_rx_seq)
			attr = s->last_rx_seq + 1;
		else
			attr = seq;
		note_gap(s, now, attr);
		s->last_rx_seq = seq;
		s->last_rx_us = now;
		{
			int64_t rtt = now - s->rec[seq].tx_mono_us;

			if (!s->rtt_min || rtt < s->rtt_min)
				s->rtt_min = rtt;
			if (rtt > s->rtt_max)
				s->rtt_max = rtt;
			s->rtt_sum += rtt;
		}
	}
}

static void write_status(struct sender *s)
{
	char tmp[4096], buf[512];
	int64_t age = -1;
	int fd, n;

	if (!s->status_file)
		return;
	if (s->last_rx_seq >= 0)
		age = (clock_us(CLOCK_MONOTONIC) - s->last_rx_us) / 1000;
	n = snprintf(buf, sizeof(buf),
		     "{\"sent\":%zu,\"received\":%" PRIu64 ",\"last_rx_age_ms\":%" PRId64
		     ",\"phase\":\"%s\"}\n",
		     s->nrec, s->received, age, s->phases[s->nphases - 1].name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->status_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, buf, n) == n)
		rename(tmp, s->status_file);
	close(fd);
}

static void json_str(FILE *f, const char *str)
{
	fputc('"', f);
	for (; *str; str++) {
		unsigned char c = *str;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void compute(struct sender *s)
{
	size_t i;

	/* Echoes lost at the very end: the gap runs to when sending
	 * stopped, charged to the first probe that never came back. */
	if (s->nrec && s->last_rx_seq < (int64_t)s->nrec - 1) {
		int64_t attr = s->last_rx_seq + 1;

		note_gap(s, s->stop_mono_us, attr);
	}
	for (i = 0; i < s->nrec; i++) {
		struct probe_rec *r = &s->rec[i];
		struct phase *p = &s->phases[phase_of(s, r->tx_wall_us)];

		p->sent++;
		if (r->count)
			p->received++;
		if (r->count > 1)
			p->dup += r->count - 1;
		if (r->gap_us > p->max_gap_us)
			p->max_gap_us = r->gap_us;
	}
}

static void report(struct sender *s)
{
	FILE *h = s->json ? stderr : stdout;
	int64_t max_gap = 0;
	uint64_t lost = s->nrec - s->received;
	double avg = s->received ? (double)s->rtt_sum / s->received : 0;
	int i;

	for (i = 0; i < s->nphases; i++)
		if (s->phases[i].max_gap_us > max_gap)
			max_gap = s->phases[i].max_gap_us;
	fprintf(h,
		"vfo-probe: sent %zu received %" PRIu64 " lost %" PRIu64 " dup %" PRIu64
		" reordered %" PRIu64 " max-gap %.1f ms"
		" rtt min/avg/max %.2f/%.2f/%.2f ms\n",
		s->nrec, s->received, lost, s->dup, s->reordered, max_gap / 1000.0,
		s->rtt_min / 1000.0, avg / 1000.0, s->rtt_max / 1000.0);
	for (i = 0; i < s->nphases; i++) {
		struct phase *p = &s->phases[i];

		fprintf(h,
			"  phase %-16s sent %6" PRIu64 " lost %5" PRIu64 " dup %3" PRIu64
			" max-gap %8.1f ms\n",
			p->name, p->sent, p->sent - p->received, p->dup, p->max_gap_us / 1000.0);
	}
	if (!s->json)
		return;
	printf("{\"sent\":%zu,\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
	       ",\"reordered\":%" PRIu64 ",\"stray\":%" PRIu64 ",\"max_gap_ms\":%.3f"
	       ",\"interval_ms\":%d,\"duration_s\":%.3f"
	       ",\"rtt_ms\":{\"min\":%.3f,\"avg\":%.3f,\"max\":%.3f}"
	       ",\"phases\":[",
	       s->nrec, s->received, lost, s->dup, s->reordered, s->stray, max_gap / 1000.0,
	       s->interval_ms, (s->stop_mono_us - s->start_mono_us) / 1e6, s->rtt_min / 1000.0,
	       avg / 1000.0, s->rtt_max / 1000.0);
	for (i = 0; i < s->nphases; i++) {
		struct phase *p = &s->phases[i];

		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, p->name);
		printf(",\"start\":%" PRId64 ".%06" PRId64 ",\"sent\":%" PRIu64
		       ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
		       ",\"max_gap_ms\":%.3f}",
		       p->wall_us / 1000000, p->wall_us % 1000000, p->sent, p->received,
		       p->sent - p->received, p->dup, p->max_gap_us / 1000.0);
	}
	printf("]}\n");
	fflush(stdout);
}

static int make_timer(int interval_ms)
{
	struct itimerspec its = { 0 };
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -1;
	its.it_value.tv_nsec = 1;
	its.it_interval.tv_sec = interval_ms / 1000;
	its.it_interval.tv_nsec = (long)(interval_ms % 1000) * 1000000;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int make_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Returns true when the run should end. */
static bool handle_signals(struct sender *s, int sfd)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			int before = s->nphases;

			phase_poll(s);
			if (s->nphases == before) {
				char name[32];

				snprintf(name, sizeof(name), "phase%d", s->nphases);
				phase_add(s, clock_us(CLOCK_REALTIME), name);
			}
		} else {
			stop = true;
		}
	}
	return stop;
}

static int run_sender(struct sender *s)
{
	int fd, tfd, sfd, ret = 1;
	int64_t end_us = 0, linger_end = 0;
	int64_t next_status = 0;
	bool sending = true;

	fd = socket(s->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("vfo-probe: socket");
		return 1;
	}
	tfd = make_timer(s->interval_ms);
	sfd = make_signalfd();
	if (tfd < 0 || sfd < 0) {
		perror("vfo-probe: timer/signal");
		goto out;
	}
	s->start_mono_us = clock_us(CLOCK_MONOTONIC);
	if (s->duration_s > 0)
		end_us = s->start_mono_us + (int64_t)(s->duration_s * 1e6);
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int64_t now;
		uint64_t ticks;

		if (poll(pfd, 3, sending ? -1 : 10) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			recv_all(s, fd);
		if ((pfd[2].revents & POLLIN) && handle_signals(s, sfd) && sending) {
			sending = false;
			s->stop_mono_us = clock_us(CLOCK_MONOTONIC);
			linger_end = s->stop_mono_us + s->linger_ms * 1000LL;
		}
		now = clock_us(CLOCK_MONOTONIC);
		if (!sending) {
			if (now >= linger_end)
				break;
			continue;
		}
		if (!(pfd[1].revents & POLLIN) || read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
			continue;
		phase_poll(s);
		if ((end_us && now >= end_us) ||
		    (s->stop_file && access(s->stop_file, F_OK) == 0)) {
			sending = false;
			s->stop_mono_us = now;
			linger_end = now + s->linger_ms * 1000LL;
			continue;
		}
		/* One probe per expiry we see: missed ticks are simply not
		 * sent, so they are not counted as lost. */
		if (send_one(s, fd) < 0) {
			fprintf(stderr, "vfo-probe: out of memory\n");
			goto out;
		}
		if (now >= next_status) {
			write_status(s);
			next_status = now + 200000;
		}
	}
	phase_poll(s);
	write_status(s);
	compute(s);
	report(s);
	ret = 0;
out:
	close(fd);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}

static int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "phase-file", required_argument, NULL, 'f' },
		{ "marks", required_argument, NULL, 'f' },
		{ "stop-file", required_argument, NULL, 's' },
		{ "status-file", required_argument, NULL, 'S' },
		{ "linger-ms", required_argument, NULL, 'l' },
		{ "first-phase", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sender s = { .interval_ms = 10, .linger_ms = 500 };
	const char *to = NULL, *first = "start";
	long port = -1, v;
	char *end;
	int c, ret;

	while ((c = getopt_long(argc, argv, "t:p:i:d:jf:s:S:l:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'p':
			if (parse_int(optarg, 1, 65535, &port) < 0)
				goto bad;
			break;
		case 'i':
			if (parse_int(optarg, 1, 60000, &v) < 0)
				goto bad;
			s.interval_ms = (int)v;
			break;
		case 'd':
			s.duration_s = strtod(optarg, &end);
			if (*end || end == optarg || s.duration_s < 0 || s.duration_s > 86400)
				goto bad;
			break;
		case 'j':
			s.json = true;
			break;
		case 'f':
			s.phase_file = optarg;
			break;
		case 's':
			s.stop_file = optarg;
			break;
		case 'S':
			s.status_file = optarg;
			break;
		case 'l':
			if (parse_int(optarg, 0, 60000, &v) < 0)
				goto bad;
			s.linger_ms = (int)v;
			break;
		case 'F':
			first = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (!to || port < 0 || optind != argc)
		goto bad;
	if (parse_addr(to, (int)port, &s.to, &s.to_len) < 0) {
		fprintf(stderr, "vfo-probe: bad address %s\n", to);
		return 2;
	}
	s.run_id = (uint32_t)(clock_us(CLOCK_REALTIME) ^ (getpid() << 16));
	s.last_rx_seq = -1;
	s.max_rx_seq = -1;
	phase_add(&s, clock_us(CLOCK_REALTIME), first);
	/* Only lines written from now on count: a reused file's old lines
	 * belong to an earlier run. */
	if (s.phase_file) {
		struct stat st;

		if (stat(s.phase_file, &st) == 0)
			s.phase_off = st.st_size;
	}
	ret = run_sender(&s);
	free(s.rec);
	return ret;
bad:
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "echo"))
		return cmd_echo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "phase"))
		return cmd_phase(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
