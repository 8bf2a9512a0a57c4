// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-qmp: the smallest QMP client the VM tests need.
 *
 *   vfo-qmp --socket PATH [--timeout S] [--wait-event NAME [--match STR]]
 *	     [--events] [--listen] COMMAND...
 *
 * Connects, negotiates (qmp_capabilities), runs each COMMAND in order and
 * prints each reply as one line. A COMMAND is a JSON object
 * ('{"execute":"device_del","arguments":{"id":"vf0"}}') or a bare command
 * name ('query-status'). With --wait-event it then waits for that event
 * (optionally one whose line contains STR, e.g. the device id) and prints
 * it; events that arrive while the commands run count too, so
 * "device_del + wait DEVICE_DELETED" in one call cannot miss the event.
 * With --listen it prints every event on stdout until QEMU closes the
 * socket (no timeout unless --timeout is given): an event log for tests.
 *
 * Exit: 0 ok, 1 a command returned an error, 2 usage, 3 timeout,
 * 4 connection or protocol failure.
 *
 * Only libc: QMP sends one JSON object per line, and all we need from a
 * line is which top-level keys it has ("return", "error", "event").
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN (1 << 20)

enum { EXIT_CMDERR = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3, EXIT_PROTO = 4 };

struct qmp {
	int fd;
	int64_t deadline_ms;
	char *buf;
	size_t len, cap;
	const char *wait_event;
	const char *match;
	bool event_seen;
	bool print_events;
	bool listen;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Find top-level key @key in the JSON object @line. Returns a pointer to
 * its value (after the colon and blanks) or NULL. Strings and nesting are
 * skipped properly so a key inside "data" or inside a string never matches.
 */
static const char *top_key(const char *line, const char *key)
{
	size_t klen = strlen(key);
	int depth = 0;
	bool expect_key = false;
	const char *p;

	for (p = line; *p; p++) {
		if (*p == '"') {
			const char *start = ++p;

			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (!*p)
				return NULL;
			if (depth == 1 && expect_key) {
				const char *v = p + 1;

				while (*v == ' ' || *v == '\t')
					v++;
				if (*v == ':') {
					expect_key = false;
					if ((size_t)(p - start) == klen &&
					    !memcmp(start, key, klen)) {
						v++;
						while (*v == ' ' || *v == '\t')
							v++;
						return v;
					}
				}
			}
			continue;
		}
		if (*p == '{' || *p == '[') {
			depth++;
			expect_key = (*p == '{' && depth == 1);
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (*p == ',' && depth == 1) {
			expect_key = true;
		}
	}
	return NULL;
}

/* Copy a JSON string value (no unescaping needed for event names). */
static bool str_value(const char *v, char *out, size_t len)
{
	size_t n = 0;

	if (!v || *v != '"')
		return false;
	for (v++; *v && *v != '"' && n + 1 < len; v++)
		out[n++] = *v;
	out[n] = '\0';
	return true;
}

/* Read one line (without CR/LF) before the deadline. */
static int read_line(struct qmp *q, char **line)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;

		if (nl) {
			size_t l = nl - q->buf;

			*line = malloc(l + 1);
			if (!*line)
				return -ENOMEM;
			memcpy(*line, q->buf, l);
			while (l && (*line)[l - 1] == '\r')
				l--;
			(*line)[l] = '\0';
			memmove(q->buf, nl + 1, q->len - (nl + 1 - q->buf));
			q->len -= nl + 1 - q->buf;
			return 0;
		}
		if (q->len + 4096 > q->cap) {
			char *b;

			if (q->cap >= LINE_MAX_LEN)
				return -E2BIG;
			b = realloc(q->buf, q->cap ? q->cap * 2 : 8192);
			if (!b)
				return -ENOMEM;
			q->buf = b;
			q->cap = q->cap ? q->cap * 2 : 8192;
		}
		left = q->deadline_ms - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (n > 0)
			q->len += n;
	}
}

/* Events are checked against --wait-event whenever they pass by. */
static void see_event(struct qmp *q, const char *line)
{
	char name[128];

	if (!str_value(top_key(line, "event"), name, sizeof(name)))
		return;
	if (q->listen)
		printf("%s\n", line);
	else if (q->print_events)
		fprintf(stderr, "%s\n", line);
	if (q->event_seen || !q->wait_event || strcmp(name, q->wait_event))
		return;
	if (q->match && !strstr(line, q->match))
		return;
	q->event_seen = true;
	printf("%s\n", line);
}

/* Send one command and wait for its reply. 0, 1 (error reply) or -errno. */
static int execute(struct qmp *q, const char *cmd, bool print)
{
	char wrapped[512];
	size_t len;
	char *line;
	int ret;

	if (cmd[0] != '{') {
		if (snprintf(wrapped, sizeof(wrapped), "{\"execute\":\"%s\"}", cmd) >=
		    (int)sizeof(wrapped))
			return -E2BIG;
		cmd = wrapped;
	}
	len = strlen(cmd);
	if (write(q->fd, cmd, len) != (ssize_t)len || write(q->fd, "\n", 1) != 1)
		return -errno;
	for (;;) {
		ret = read_line(q, &line);
		if (ret < 0)
			return ret;
		if (top_key(line, "return") || top_key(line, "error")) {
			ret = top_key(line, "error") ? 1 : 0;
			if (print || ret)
				printf("%s\n", line);
			free(line);
			return ret;
		}
		see_event(q, line);
		free(line);
	}
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vfo-qmp --socket PATH [--timeout S] [--events] [--listen]\n"
		   "               [--wait-event NAME [--match STR]] [COMMAND...]\n");
}

static int run(struct qmp *q, const char *sock, char **cmds, int ncmds)
{
	char *line;
	int i, ret;

	ret = connect_unix(sock);
	if (ret < 0) {
		fprintf(stderr, "vfo-qmp: %s: %s\n", sock, strerror(-ret));
		return EXIT_PROTO;
	}
	q->fd = ret;
	ret = read_line(q, &line);
	if (ret < 0)
		goto fail;
	if (!top_key(line, "QMP")) {
		fprintf(stderr, "vfo-qmp: not a QMP greeting: %s\n", line);
		free(line);
		return EXIT_PROTO;
	}
	free(line);
	ret = execute(q, "qmp_capabilities", false);
	if (ret)
		goto fail;
	for (i = 0; i < ncmds; i++) {
		ret = execute(q, cmds[i], true);
		if (ret)
			goto fail;
	}
	while ((q->wait_event && !q->event_seen) || q->listen) {
		ret = read_line(q, &line);
		if (ret < 0)
			goto fail;
		see_event(q, line);
		free(line);
	}
	return 0;
fail:
	if (ret == 1)
		return EXIT_CMDERR;
	if (ret == -ECONNRESET && q->listen)
		return 0;
	if (ret == -ETIMEDOUT) {
		fprintf(stderr, "vfo-qmp: timed out%s%s\n", q->wait_event ? " waiting for " : "",
			q->wait_event && !q->event_seen ? q->wait_event : "");
		return EXIT_TIMEOUT;
	}
	fprintf(stderr, "vfo-qmp: %s\n", strerror(-ret));
	return EXIT_PROTO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait-event", required_argument, NULL, 'w' },
		{ "match", required_argument, NULL, 'm' },
		{ "events", no_argument, NULL, 'e' },
		{ "listen", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qmp q = { .fd = -1 };
	const char *sock = NULL;
	double timeout = -1;
	char *end;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:t:w:m:elh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || end == optarg || timeout <= 0 || timeout > 86400) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'w':
			q.wait_event = optarg;
			break;
		case 'm':
			q.match = optarg;
			break;
		case 'e':
			q.print_events = true;
			break;
		case 'l':
			q.listen = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!sock || (optind == argc && !q.wait_event && !q.listen)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (timeout < 0)
		timeout = q.listen ? 86400 * 365 : 10;
	q.deadline_ms = now_ms() + (int64_t)(timeout * 1000);
	ret = run(&q, sock, argv + optind, argc - optind);
	if (q.fd >= 0)
		close(q.fd);
	free(q.buf);
	return ret;
}
