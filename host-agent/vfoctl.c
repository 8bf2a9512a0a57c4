// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfoctl: the operator's command line for vfo-hostd (and, through
 * --socket, for any vfo status socket such as vfo-guestd's).
 *
 * One request per run: connect, send one JSON line, wait (bounded) for the
 * reply with our id, print it. Output is generic on purpose: objects as
 * "key: value" lines, arrays of objects as aligned tables with the keys as
 * column headers, so a new field in the daemon shows up without a vfoctl
 * change and a guest agent's status prints as well as the host's.
 *
 * Exit codes (vfoctl(8)):
 *   0 success; 1 the daemon answered with an error (or closed the stream);
 *   2 usage; 3 cannot connect, or the connection broke; 4 timeout.
 */
#include <ctype.h>
#include <errno.h>
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

#include "proto.h"
#include "util.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define DEFAULT_SOCKET RUNSTATEDIR "/vfo/hostd.sock"
#define MAX_LINE (16 << 20)
#define REQ_ID 1

enum {
	EXIT_OK = 0,
	EXIT_REPLY = 1,
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3,
	EXIT_TIMEOUT = 4,
};

struct opts {
	const char *socket;
	bool json;
	int timeout_ms; /* -1: none */
	int numa;
	long count; /* events: stop after this many; 0: never */
	long res_timeout_ms;
	const char *mac; /* reserve: the MAC the pair's VF will carry */
};

struct reader {
	int fd;
	char *buf;
	size_t len, cap;
	size_t consumed; /* bytes of the line handed out last time */
};

static void usage(FILE *f)
{
	fputs("Usage: vfoctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  status                       daemon status\n"
	      "  pools                        pools and their counts\n"
	      "  vfs [POOL]                   every VF (of POOL) and its owner\n"
	      "  reserve POOL DOMAIN PAIR     reserve a VF for DOMAIN (UUID) and PAIR\n"
	      "  assign DOMAIN PAIR           assign the reserved VF and configure it for\n"
	      "                               the pair; prints its libvirt device XML\n"
	      "  release DOMAIN [PAIR]        free the VFs of DOMAIN (or of one pair)\n"
	      "  rescan                       rescan the SR-IOV inventory now\n"
	      "  events                       print events as they happen\n"
	      "\n"
	      "Options:\n"
	      "  -s, --socket PATH   daemon socket (default " DEFAULT_SOCKET ")\n"
	      "  -j, --json          print the raw JSON result\n"
	      "  -t, --timeout S     seconds to wait for the reply (default 10, 0: forever)\n"
	      "      --numa N        reserve: prefer VFs on NUMA node N\n"
	      "      --expire-ms MS  reserve: reservation lifetime\n"
	      "      --mac MAC       reserve: the pair's MAC (needed to assign)\n"
	      "  -n, --count N       events: exit after N events\n"
	      "  -h, --help          this text\n"
	      "  -V, --version       print the version\n"
	      "\n"
	      "Exit status: 0 ok, 1 error reply, 2 usage, 3 cannot connect, 4 timeout.\n",
	      f);
}

/* ---- connection -------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Next complete line into *line (NUL-terminated, valid until the next
 * call). Returns 1, 0 on EOF, -ETIMEDOUT when deadline (ms, monotonic; -1
 * none) passes, other -errno on failure.
 */
static int read_line(struct reader *r, char **line, int64_t deadline)
{
	char *nl;

	if (r->consumed) {
		memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
		r->len -= r->consumed;
		r->consumed = 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		int wait = -1;
		ssize_t n;

		nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		if (nl) {
			*nl = '\0';
			*line = r->buf;
			r->consumed = nl + 1 - r->buf;
			return 1;
		}
		if (r->len == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 65536;
			char *p;

			if (cap > MAX_LINE)
				return -EMSGSIZE;
			p = realloc(r->buf, cap);
			if (!p)
				return -ENOMEM;
			r->buf = p;
			r->cap = cap;
		}
		if (deadline >= 0) {
			int64_t left = deadline - vfo_now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(&pfd, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		r->len += n;
	}
}

/* ---- output ------------------------------------------------------------ */

static bool is_scalar(struct json_object *v)
{
	return !v || (!json_object_is_type(v, json_type_object) &&
		      !json_object_is_type(v, json_type_array));
}

static bool all_scalars(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; i < n; i++)
		if (!is_scalar(json_object_array_get_idx(arr, i)))
			return false;
	return true;
}

/* A cell: scalars as text, null as "-", scalar arrays comma-joined. */
static char *cell(struct json_object *v)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!v)
		return strdup("-");
	if (json_object_is_type(v, json_type_string))
		return strdup(*json_object_get_string(v) ? json_object_get_string(v) : "\"\"");
	if (json_object_is_type(v, json_type_boolean))
		return strdup(json_object_get_boolean(v) ? "yes" : "no");
	if (json_object_is_type(v, json_type_array) && all_scalars(v)) {
		size_t n = json_object_array_length(v);

		f = open_memstream(&out, &len);
		if (!f)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			char *c = cell(json_object_array_get_idx(v, i));

			fprintf(f, "%s%s", i ? "," : "", c ? c : "?");
			free(c);
		}
		if (!n)
			fputs("-", f);
		fclose(f);
		return out;
	}
	return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

static void print_header(const char *key)
{
	for (const char *p = key; *p; p++)
		putchar(toupper((unsigned char)*p));
}

/* An array of objects as a table: columns from the union of their keys in
 * first-seen order, widths from the widest cell. */
static void print_table(struct json_object *arr, int indent)
{
	size_t n = json_object_array_length(arr), ncol = 0;
	const char *cols[64];
	size_t width[64];

	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(row, json_type_object))
			continue;
		json_object_object_foreach(row, k, v) {
			size_t c;

			(void)v;
			for (c = 0; c < ncol && strcmp(cols[c], k); c++)
				;
			if (c == ncol && ncol < VFO_ARRAY_SIZE(cols)) {
				cols[ncol] = k;
				width[ncol++] = strlen(k);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(arr, i);

		for (size_t c = 0; c < ncol; c++) {
			struct json_object *v = NULL;
			char *s;

			json_object_object_get_ex(row, cols[c], &v);
			s = cell(v);
			if (s && strlen(s) > width[c])
				width[c] = strlen(s);
			free(s);
		}
	}
	printf("%*s", indent, "");
	for (size_t c = 0; c < ncol; c++) {
		print_header(cols[c]);
		if (c + 1 < ncol)
			printf("%*s", (int)(width[c] - strlen(cols[c]) + 2), "");
	}
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(arr, i);

		printf("%*s", indent, "");
		for (size_t c = 0; c < ncol; c++) {
			struct json_object *v = NULL;
			char *s;

			json_object_object_get_ex(row, cols[c], &v);
			s = cell(v);
			if (c + 1 < ncol)
				printf("%-*s  ", (int)width[c], s ? s : "?");
			else
				printf("%s", s ? s : "?");
			free(s);
		}
		putchar('\n');
	}
}

static void print_object(struct json_object *obj, int indent)
{
	size_t w = 0;

	json_object_object_foreach(obj, k0, v0) {
		(void)v0;
		if (strlen(k0) > w)
			w = strlen(k0);
	}
	json_object_object_foreach(obj, k, v) {
		if (is_scalar(v) || (json_object_is_type(v, json_type_array) && all_scalars(v))) {
			char *s = cell(v);

			printf("%*s%s:%*s %s\n", indent, "", k, (int)(w - strlen(k)), "",
			       s ? s : "?");
			free(s);
		} else if (json_object_is_type(v, json_type_object)) {
			printf("%*s%s:\n", indent, "", k);
			print_object(v, indent + 2);
		} else {
			printf("%*s%s:\n", indent, "", k);
			print_table(v, indent + 2);
		}
	}
}

/*
 * Human output: a result that is a single table ({"pools": [...]}) prints
 * as just that table; anything else as key: value lines.
 */
static void print_result(struct json_object *res)
{
	struct json_object *only = NULL;
	int n = 0;

	json_object_object_foreach(res, k, v) {
		(void)k;
		only = v;
		n++;
	}
	if (n == 1 && json_object_is_type(only, json_type_array) &&
	    (!all_scalars(only) || !json_object_array_length(only))) {
		if (json_object_array_length(only))
			print_table(only, 0);
		return;
	}
	print_object(res, 0);
}

static void print_event(struct json_object *root, bool json)
{
	struct json_object *ev = NULL;
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (json) {
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		return;
	}
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	json_object_object_get_ex(root, "event", &ev);
	printf("%s %s", ts, json_object_get_string(ev));
	json_object_object_foreach(root, k, v) {
		char *s;

		if (!strcmp(k, "event"))
			continue;
		s = cell(v);
		printf(" %s=%s", k, s ? s : "?");
		free(s);
	}
	putchar('\n');
	fflush(stdout);
}

/* ---- commands ---------------------------------------------------------- */

static int build_args(const struct opts *o, int argc, char **argv, const char **cmd,
		      struct json_object **args)
{
	const char *c = argv[0];
	int nargs = argc - 1;

	*cmd = c;
	*args = json_object_new_object();
	if (!*args)
		return -ENOMEM;
#define NEED(lo, hi)                              \
	do {                                      \
		if (nargs < (lo) || nargs > (hi)) \
			return -EINVAL;           \
	} while (0)
#define ADD(key, val) json_object_object_add(*args, key, json_object_new_string(val))
	if (!strcmp(c, "status") || !strcmp(c, "pools") || !strcmp(c, "rescan") ||
	    !strcmp(c, "events")) {
		NEED(0, 0);
	} else if (!strcmp(c, "vfs")) {
		NEED(0, 1);
		if (nargs)
			ADD("pool", argv[1]);
	} else if (!strcmp(c, "reserve")) {
		NEED(3, 3);
		ADD("pool", argv[1]);
		ADD("domain", argv[2]);
		ADD("pair", argv[3]);
		if (o->numa >= 0)
			json_object_object_add(*args, "numa", json_object_new_int(o->numa));
		if (o->res_timeout_ms > 0)
			json_object_object_add(*args, "timeout_ms",
					       json_object_new_int64(o->res_timeout_ms));
		if (o->mac)
			ADD("mac", o->mac);
	} else if (!strcmp(c, "assign")) {
		NEED(2, 2);
		ADD("domain", argv[1]);
		ADD("pair", argv[2]);
	} else if (!strcmp(c, "release")) {
		NEED(1, 2);
		ADD("domain", argv[1]);
		if (nargs == 2)
			ADD("pair", argv[2]);
	} else {
		return -ENOENT;
	}
#undef NEED
#undef ADD
	return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "numa", required_argument, NULL, 'N' },
		{ "expire-ms", required_argument, NULL, 'E' },
		{ "mac", required_argument, NULL, 'M' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "s:jt:n:hV", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 't':
			if (parse_long(optarg, 0, 86400, &v) < 0)
				goto bad;
			o->timeout_ms = v ? (int)v * 1000 : -1;
			break;
		case 'N':
			if (parse_long(optarg, 0, 1023, &v) < 0)
				goto bad;
			o->numa = (int)v;
			break;
		case 'E':
			if (parse_long(optarg, 1, 86400000L, &v) < 0)
				goto bad;
			o->res_timeout_ms = v;
			break;
		case 'M':
			o->mac = optarg;
			break;
		case 'n':
			if (parse_long(optarg, 1, 1000000000L, &v) < 0)
				goto bad;
			o->count = v;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf("vfoctl %s\n", PACKAGE_VERSION);
			exit(EXIT_OK);
		default:
			return -EINVAL;
		}
	}
	return optind;
bad:
	fprintf(stderr, "vfoctl: bad value '%s' for --%s\n", optarg,
		c == 't' ? "timeout" :
		c == 'N' ? "numa" :
		c == 'E' ? "expire-ms" :
			   "count");
	return -EINVAL;
}

/* Wait for our reply; events in between are shown only by "events". */
static int await_reply(struct reader *rd, const struct opts *o, bool stream,
		       struct json_object **result)
{
	int64_t deadline = o->timeout_ms < 0 ? -1 : vfo_now_ms() + o->timeout_ms;

	for (;;) {
		struct vfo_proto_err err = { 0 };
		struct vfo_msg msg;
		char *line;
		int r = read_line(rd, &line, deadline);

		if (r == -ETIMEDOUT) {
			fprintf(stderr, "vfoctl: no reply within %d s\n", o->timeout_ms / 1000);
			return EXIT_TIMEOUT;
		}
		if (r <= 0) {
			fprintf(stderr, "vfoctl: connection closed by %s%s%s\n", o->socket,
				r ? ": " : "", r ? strerror(-r) : "");
			return EXIT_CONNECT;
		}
		r = vfo_proto_parse_line(line, strlen(line), &msg, &err);
		if (r == -ENODATA)
			continue;
		if (r < 0) {
			fprintf(stderr, "vfoctl: bad line from daemon: %s\n", err.message);
			vfo_proto_err_release(&err);
			return EXIT_REPLY;
		}
		if (msg.type == VFO_MSG_ERROR) {
			/* An unsolicited error (null id) is the daemon's
			 * answer too: "denied", "busy", "rate-limited". */
			fprintf(stderr, "vfoctl: %s: %s\n", msg.err_code_str, msg.err_message);
			vfo_msg_release(&msg);
			return EXIT_REPLY;
		}
		if (msg.type == VFO_MSG_REPLY && json_object_get_int(msg.id) == REQ_ID) {
			*result = json_object_get(msg.result);
			vfo_msg_release(&msg);
			return EXIT_OK;
		}
		if (msg.type == VFO_MSG_EVENT && stream)
			print_event(msg.root, o->json);
		vfo_msg_release(&msg);
	}
}

static int run_events(struct reader *rd, const struct opts *o)
{
	long seen = 0;

	for (;;) {
		struct vfo_proto_err err = { 0 };
		struct vfo_msg msg;
		char *line;
		int r = read_line(rd, &line, -1);

		if (r <= 0) {
			fprintf(stderr, "vfoctl: event stream closed%s%s\n", r ? ": " : "",
				r ? strerror(-r) : "");
			return EXIT_CONNECT;
		}
		r = vfo_proto_parse_line(line, strlen(line), &msg, &err);
		if (r == -ENODATA)
			continue;
		if (r < 0) {
			vfo_proto_err_release(&err);
			continue;
		}
		if (msg.type == VFO_MSG_ERROR) {
			fprintf(stderr, "vfoctl: %s: %s\n", msg.err_code_str, msg.err_message);
			vfo_msg_release(&msg);
			return EXIT_REPLY;
		}
		if (msg.type == VFO_MSG_EVENT) {
			print_event(msg.root, o->json);
			seen++;
		}
		vfo_msg_release(&msg);
		if (o->count && seen >= o->count)
			return EXIT_OK;
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .socket = DEFAULT_SOCKET, .timeout_ms = 10000, .numa = -1 };
	struct json_object *args = NULL, *id, *result = NULL;
	struct reader rd = { .fd = -1 };
	const char *cmd;
	size_t len;
	char *line;
	int first, r, ret;

	first = parse_opts(argc, argv, &o);
	if (first < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (first >= argc) {
		fputs("vfoctl: no command given\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	r = build_args(&o, argc - first, argv + first, &cmd, &args);
	if (r < 0) {
		fprintf(stderr, "vfoctl: %s '%s'\n",
			r == -ENOENT ? "unknown command" : "wrong arguments for", argv[first]);
		json_object_put(args);
		usage(stderr);
		return EXIT_USAGE;
	}
	rd.fd = connect_to(o.socket);
	if (rd.fd < 0) {
		fprintf(stderr, "vfoctl: cannot connect to %s: %m\n", o.socket);
		json_object_put(args);
		return EXIT_CONNECT;
	}
	id = json_object_new_int(REQ_ID);
	line = vfo_proto_build_request(id, cmd, args, &len);
	json_object_put(id);
	json_object_put(args);
	if (!line || send_all(rd.fd, line, len) < 0) {
		fprintf(stderr, "vfoctl: cannot send to %s: %m\n", o.socket);
		free(line);
		close(rd.fd);
		return EXIT_CONNECT;
	}
	free(line);
	ret = await_reply(&rd, &o, !strcmp(cmd, "events"), &result);
	if (ret == EXIT_OK && !strcmp(cmd, "events")) {
		json_object_put(result);
		result = NULL;
		ret = run_events(&rd, &o);
	} else if (ret == EXIT_OK) {
		if (o.json)
			puts(json_object_to_json_string_ext(
				result, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		else
			print_result(result);
	}
	json_object_put(result);
	free(rd.buf);
	close(rd.fd);
	return ret;
}
