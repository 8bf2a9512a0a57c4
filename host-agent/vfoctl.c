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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "util.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define DEFAULT_SOCKET RUNSTATEDIR "/vfo/hostd.sock"

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
	bool direct; /* migrate: client-driven instead of peer-to-peer */
	bool detach; /* failover: also unplug the VFs */
	int mig_timeout_ms; /* migrate: how long to follow it */
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
	      "  domains                      domains followed, their mode and migration\n"
	      "  migrate DOMAIN DEST-URI      managed live migration with the VFs\n"
	      "  failover DOMAIN standby|vf   move a domain's traffic (forced failover)\n"
	      "  drain POOL|PF                move every domain on it to its standby\n"
	      "  undrain POOL|PF              give them their VFs back\n"
	      "\n"
	      "Options:\n"
	      "  -s, --socket PATH   daemon socket (default " DEFAULT_SOCKET ")\n"
	      "  -j, --json          print the raw JSON result\n"
	      "  -t, --timeout S     seconds to wait for the reply (default 10, 0: forever)\n"
	      "      --numa N        reserve: prefer VFs on NUMA node N\n"
	      "      --expire-ms MS  reserve: reservation lifetime\n"
	      "      --mac MAC       reserve: the pair's MAC (needed to assign)\n"
	      "  -n, --count N       events: exit after N events\n"
	      "      --direct        migrate: client-driven, not peer-to-peer\n"
	      "      --mig-timeout S migrate: how long to follow it (default 600)\n"
	      "      --detach        failover standby: also unplug the VFs\n"
	      "  -h, --help          this text\n"
	      "  -V, --version       print the version\n"
	      "\n"
	      "Exit status: 0 ok, 1 error reply, 2 usage, 3 cannot connect, 4 timeout.\n",
	      f);
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
	    !strcmp(c, "events") || !strcmp(c, "domains")) {
		NEED(0, 0);
	} else if (!strcmp(c, "migrate")) {
		NEED(2, 2);
		ADD("domain", argv[1]);
		ADD("dest", argv[2]);
		json_object_object_add(*args, "p2p", json_object_new_boolean(!o->direct));
	} else if (!strcmp(c, "failover")) {
		NEED(2, 2);
		if (strcmp(argv[2], "standby") && strcmp(argv[2], "vf"))
			return -EINVAL;
		ADD("domain", argv[1]);
		ADD("to", argv[2]);
		json_object_object_add(*args, "detach", json_object_new_boolean(o->detach));
	} else if (!strcmp(c, "drain") || !strcmp(c, "undrain")) {
		NEED(1, 1);
		ADD("target", argv[1]);
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
		{ "direct", no_argument, NULL, 'D' },
		{ "detach", no_argument, NULL, 'X' },
		{ "mig-timeout", required_argument, NULL, 'T' },
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
		case 'D':
			o->direct = true;
			break;
		case 'X':
			o->detach = true;
			break;
		case 'T':
			if (parse_long(optarg, 1, 86400, &v) < 0)
				goto bad;
			o->mig_timeout_ms = (int)v * 1000;
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
		c == 'T' ? "mig-timeout" :
			   "count");
	return -EINVAL;
}

static int call_error(const struct opts *o, int r, const struct vfo_proto_err *err)
{
	if (r == -EREMOTEIO) {
		fprintf(stderr, "vfoctl: %s: %s\n", vfo_proto_code_str(err->code), err->message);
		return EXIT_REPLY;
	}
	if (r == -ETIMEDOUT) {
		fprintf(stderr, "vfoctl: no reply within %d s\n", o->timeout_ms / 1000);
		return EXIT_TIMEOUT;
	}
	fprintf(stderr, "vfoctl: %s: %s\n", o->socket, strerror(-r));
	return EXIT_CONNECT;
}

static int run_events(struct vfo_client *c, const struct opts *o)
{
	long seen = 0;

	for (;;) {
		struct vfo_msg msg;
		int r = vfo_client_next(c, -1, &msg);

		if (r == -EBADMSG)
			continue;
		if (r < 0) {
			fprintf(stderr, "vfoctl: event stream closed: %s\n", strerror(-r));
			return EXIT_CONNECT;
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

static bool event_is(struct vfo_msg *msg, const char *event, const char *domain, const char **state)
{
	struct json_object *v;

	if (msg->type != VFO_MSG_EVENT || strcmp(msg->event, event) ||
	    !json_object_object_get_ex(msg->root, "domain", &v) ||
	    strcmp(json_object_get_string(v), domain))
		return false;
	*state = json_object_object_get_ex(msg->root, "state", &v) ? json_object_get_string(v) : "";
	return true;
}

/*
 * A managed migration: subscribe to events on one connection, start it on
 * another, then follow its steps until it is done or failed.
 */
static int run_migrate(const struct opts *o, struct json_object *args)
{
	struct vfo_client *ev = NULL, *c = NULL;
	struct json_object *res = NULL, *v;
	struct vfo_proto_err err = { 0 };
	int64_t t0 = vfo_now_ms(), deadline;
	char uuid[64] = "";
	int r, ret;

	if ((r = vfo_client_open(&ev, o->socket)) < 0 || (r = vfo_client_open(&c, o->socket)) < 0) {
		fprintf(stderr, "vfoctl: cannot connect to %s: %s\n", o->socket, strerror(-r));
		vfo_client_close(ev);
		return EXIT_CONNECT;
	}
	r = vfo_client_call(ev, "events", NULL, o->timeout_ms, &res, &err);
	json_object_put(res);
	res = NULL;
	if (r == 0)
		r = vfo_client_call(c, "domains", NULL, o->timeout_ms, &res, &err);
	if (r < 0) {
		ret = call_error(o, r, &err);
		goto out;
	}
	/* Events name domains by UUID: find it for a name. */
	if (json_object_object_get_ex(res, "domains", &v)) {
		const char *want = json_object_get_string(json_object_object_get(args, "domain"));

		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *d = json_object_array_get_idx(v, i);
			const char *n = json_object_get_string(json_object_object_get(d, "name"));
			const char *u = json_object_get_string(json_object_object_get(d, "uuid"));

			if ((n && !strcmp(n, want)) || (u && !strcasecmp(u, want)))
				snprintf(uuid, sizeof(uuid), "%s", u);
		}
	}
	json_object_put(res);
	res = NULL;
	r = vfo_client_call(c, "migrate", args, o->timeout_ms, &res, &err);
	json_object_put(res);
	if (r < 0) {
		ret = call_error(o, r, &err);
		goto out;
	}
	deadline = o->mig_timeout_ms;
	for (;;) {
		int64_t left = deadline - (vfo_now_ms() - t0);
		const char *state;
		struct vfo_msg msg;

		if (left <= 0) {
			fprintf(stderr,
				"vfoctl: migration still running after %d s; follow it with "
				"'vfoctl events'\n",
				o->mig_timeout_ms / 1000);
			ret = EXIT_TIMEOUT;
			goto out;
		}
		r = vfo_client_next(ev, (int)left, &msg);
		if (r == -EBADMSG)
			continue;
		if (r < 0) {
			ret = call_error(o, r, &err);
			goto out;
		}
		if (!event_is(&msg, "migration", uuid, &state)) {
			vfo_msg_release(&msg);
			continue;
		}
		if (o->json)
			puts(json_object_to_json_string_ext(msg.root, JSON_C_TO_STRING_PLAIN));
		else
			printf("%7.3f s  %s%s%s\n", (double)(vfo_now_ms() - t0) / 1000, state,
			       json_object_object_get_ex(msg.root, "detail", &v) ? ": " : "",
			       json_object_object_get_ex(msg.root, "detail", &v) ?
				       json_object_get_string(v) :
				       "");
		fflush(stdout);
		ret = !strcmp(state, "done") ? EXIT_OK : !strcmp(state, "failed") ? EXIT_REPLY : -1;
		vfo_msg_release(&msg);
		if (ret >= 0)
			goto out;
	}
out:
	vfo_proto_err_release(&err);
	vfo_client_close(ev);
	vfo_client_close(c);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.socket = DEFAULT_SOCKET, .timeout_ms = 10000, .numa = -1, .mig_timeout_ms = 600000
	};
	struct json_object *args = NULL, *result = NULL;
	struct vfo_proto_err err = { 0 };
	struct vfo_client *c = NULL;
	const char *cmd;
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
	if (!strcmp(cmd, "migrate")) {
		ret = run_migrate(&o, args);
		json_object_put(args);
		return ret;
	}
	r = vfo_client_open(&c, o.socket);
	if (r < 0) {
		fprintf(stderr, "vfoctl: cannot connect to %s: %s\n", o.socket, strerror(-r));
		json_object_put(args);
		return EXIT_CONNECT;
	}
	r = vfo_client_call(c, cmd, args, o.timeout_ms, &result, &err);
	json_object_put(args);
	if (r < 0) {
		ret = call_error(&o, r, &err);
	} else if (!strcmp(cmd, "events")) {
		ret = run_events(c, &o);
	} else {
		if (o.json)
			puts(json_object_to_json_string_ext(
				result, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		else
			print_result(result);
		ret = EXIT_OK;
	}
	vfo_proto_err_release(&err);
	json_object_put(result);
	vfo_client_close(c);
	return ret;
}
