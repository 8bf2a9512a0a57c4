// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-sock: talk to a line-oriented UNIX stream socket from a shell script
 * (the host side of a guest's virtio-serial port, a control socket), with
 * a deadline, so that tests need neither socat nor python.
 *
 *   vfo-sock [-w SECONDS] [-n LINES] [-u TEXT] [-r] SOCKET [DATA...]
 *
 * Connects to SOCKET, sends each DATA followed by '\n' (with -r: as is, no
 * newline; a DATA of "-" sends standard input verbatim), and copies what
 * comes back to stdout until LINES complete lines arrived, the peer closed
 * or SECONDS (default 2, fractions allowed) passed; everything is sent
 * first, even with -w 0 (for at most 2 s more). LINES defaults to the
 * number of DATA that contain "\"id\"" (requests that get a reply); with
 * -n 0 it reads until the deadline or EOF. With -u it stops as soon as a
 * received line contains TEXT (a reply's "\"id\":7," among stale ones). Sending and receiving are
 * interleaved, so a peer that stops reading cannot block us past the
 * deadline. On exit a summary "sent B bytes, received L lines" goes to
 * stderr.
 *
 * Exit: 0 when LINES lines arrived (or LINES is 0; with -u: when TEXT
 * came), 1 on a short answer,
 * 2 for a usage error, 3 when the socket cannot be reached.
 *
 *   vfo-sock -l [-w SECONDS] [-u TEXT] [-s FILE] SOCKET
 *
 * Datagram listen mode, a stand-in for systemd's notification socket
 * (NOTIFY_SOCKET): binds a UNIX datagram socket at SOCKET (replacing a
 * stale one) and prints every datagram received as "DATAGRAM <text>" with
 * its newlines turned into spaces; with -s, right after each datagram, the
 * first line of FILE as it is at that moment ("SNAPSHOT <line>", or
 * "SNAPSHOT-MISSING <errno text>"), so a test can tell what existed when a
 * message came. Stops at the first datagram that contains TEXT (exit 0) or
 * at the deadline (exit 1; without -u: exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct outbuf {
	char *data;
	size_t len, off;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int append(struct outbuf *o, const void *p, size_t n)
{
	char *d = realloc(o->data, o->len + n + 1);

	if (!d)
		return -ENOMEM;
	memcpy(d + o->len, p, n);
	o->data = d;
	o->len += n;
	return 0;
}

static int append_fd(struct outbuf *o, int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (append(o, buf, (size_t)n))
			return -ENOMEM;
	return n < 0 ? -errno : 0;
}

static void usage(FILE *f)
{
	fputs("usage: vfo-sock [-w SECONDS] [-n LINES] [-u TEXT] [-r] SOCKET [DATA...]\n"
	      "       vfo-sock -l [-w SECONDS] [-u TEXT] [-s FILE] SOCKET\n"
	      "  -w  give up after SECONDS (default 2)\n"
	      "  -n  stop after LINES reply lines (default: DATA with \"id\")\n"
	      "  -u  stop at the first reply line that contains TEXT\n"
	      "  -r  send DATA as is, without a newline after each\n"
	      "  -l  listen for datagrams on SOCKET, print each one\n"
	      "  -s  with -l: print the first line of FILE after each datagram\n"
	      "  DATA \"-\" sends standard input verbatim\n",
	      f);
}

/* The first line of path, printed as it is now. */
static void snapshot(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("SNAPSHOT-MISSING %s\n", strerror(errno));
		return;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	printf("SNAPSHOT %s\n", buf);
}

static int dgram_listen(const struct sockaddr_un *sa, double wait_s, const char *until,
			const char *snap)
{
	long long deadline = now_ms() + (long long)(wait_s * 1000);
	unsigned long n_dgrams = 0;
	bool found = false;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(sa->sun_path);
	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		fprintf(stderr, "vfo-sock: %s: %s\n", sa->sun_path, strerror(errno));
		return 3;
	}
	while (!found) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char buf[65536];
		ssize_t n, i;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		n_dgrams++;
		/* Only the text, whatever the message's own newlines. */
		for (i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\0')
				buf[i] = ' ';
		printf("DATAGRAM %s\n", buf);
		if (snap)
			snapshot(snap);
		fflush(stdout);
		found = until && strstr(buf, until);
	}
	fprintf(stderr, "vfo-sock: %lu datagram(s)\n", n_dgrams);
	close(fd);
	unlink(sa->sun_path);
	return !until || found ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct outbuf out = { 0 }, line = { 0 };
	const char *until = NULL, *snap = NULL;
	bool found = false, listen_mode = false;
	double wait_s = 2.0;
	long want = -1, lines = 0;
	bool raw = false;
	unsigned long long received = 0;
	long long deadline;
	int opt, fd, i;
	char *end;

	while ((opt = getopt(argc, argv, "w:n:u:rls:h")) != -1) {
		switch (opt) {
		case 'w':
			wait_s = strtod(optarg, &end);
			if (*end || wait_s < 0 || wait_s > 3600) {
				usage(stderr);
				return 2;
			}
			break;
		case 'n':
			want = strtol(optarg, &end, 10);
			if (*end || want < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'u':
			until = optarg;
			break;
		case 'r':
			raw = true;
			break;
		case 'l':
			listen_mode = true;
			break;
		case 's':
			snap = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || strlen(argv[optind]) >= sizeof(sa.sun_path)) {
		usage(stderr);
		return 2;
	}
	memcpy(sa.sun_path, argv[optind], strlen(argv[optind]) + 1);
	if (listen_mode) {
		if (optind + 1 != argc) {
			usage(stderr);
			return 2;
		}
		return dgram_listen(&sa, wait_s, until, snap);
	}
	for (i = optind + 1; i < argc; i++) {
		int ret;

		if (!strcmp(argv[i], "-")) {
			ret = append_fd(&out, STDIN_FILENO);
		} else {
			ret = append(&out, argv[i], strlen(argv[i]));
			if (!ret && !raw)
				ret = append(&out, "\n", 1);
			if (want < 0 && strstr(argv[i], "\"id\""))
				lines++;
		}
		if (ret) {
			fprintf(stderr, "vfo-sock: reading input: %s\n", strerror(-ret));
			return 2;
		}
	}
	if (want < 0)
		want = until ? 0 : lines;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "vfo-sock: %s: %s\n", sa.sun_path, strerror(errno));
		return 3;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	deadline = now_ms() + (long long)(wait_s * 1000);
	lines = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char buf[65536];
		ssize_t n;

		/* What there is to send goes out even with -w 0, unless the
		 * peer has not taken it 2 s past the deadline. */
		if ((want && lines >= want) || found ||
		    (left <= 0 && (out.off >= out.len || left < -2000)))
			break;
		if (left < 0)
			left = 0;
		if (out.off < out.len)
			p.events |= POLLOUT;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p.revents & POLLOUT) {
			n = send(fd, out.data + out.off, out.len - out.off, MSG_NOSIGNAL);
			if (n > 0)
				out.off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				out.len = out.off; /* peer gone: stop sending */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
			if (n > 0) {
				fwrite(buf, 1, (size_t)n, stdout);
				received += (unsigned long long)n;
				const char *q = buf, *e = buf + n, *nl;

				for (; q < e; q = nl + 1) {
					nl = memchr(q, '\n', (size_t)(e - q));
					/* Only -u keeps lines; over 1 MiB
					 * a line is cut. */
					if (until && line.len < (1u << 20))
						append(&line, q, (size_t)((nl ? nl : e) - q));
					if (!nl)
						break;
					lines++;
					if (until && line.len) {
						line.data[line.len] = '\0';
						found = found || strstr(line.data, until);
					}
					line.len = 0;
				}
			}
		}
	}
	fflush(stdout);
	fprintf(stderr, "vfo-sock: sent %zu of %zu bytes, received %llu bytes, %ld lines\n",
		out.off, out.len, received, lines);
	close(fd);
	free(out.data);
	free(line.data);
	if (until)
		return found ? 0 : 1;
	return !want || lines >= want ? 0 : 1;
}
