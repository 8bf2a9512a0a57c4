// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the wire protocol. Each input is used twice:
 *
 *  1. whole, as one line for vfo_proto_parse_line(); whatever parses must
 *     survive build -> parse unchanged (the builders and the parser agree),
 *     and requests go through a small dispatch table;
 *  2. as a stream through a connection: the input is cut into chunks whose
 *     sizes (and the clock between them) come from the input itself, so
 *     the fuzzer explores partial lines, line limits and the rate limiter.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *   tests/fuzz/fuzz-proto.c common/proto.c common/proto-conn.c common/util.c \
 *   $(pkg-config --cflags --libs json-c)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

static int h_echo(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		  struct vfo_proto_err *err)
{
	(void)ctx;
	(void)err;
	*result = json_object_get(req->args);
	return 0;
}

static int h_fail(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		  struct vfo_proto_err *err)
{
	(void)ctx;
	(void)result;
	vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "no such thing '%s'",
			  vfo_proto_arg_str(req->args, "name", "?"));
	return -ENOENT;
}

static int h_defer(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		   struct vfo_proto_err *err)
{
	(void)ctx;
	(void)req;
	(void)result;
	(void)err;
	return VFO_PROTO_DEFERRED;
}

static const struct vfo_proto_arg echo_args[] = {
	{ "mac", VFO_ARG_STRING, true },
	{ "vlan", VFO_ARG_INT, false },
	{ "w", VFO_ARG_NUMBER, false },
	{ "b", VFO_ARG_BOOL, false },
	{ "o", VFO_ARG_OBJECT, false },
	{ "a", VFO_ARG_ARRAY, false },
	{ .name = NULL },
};

static const struct vfo_proto_arg name_args[] = {
	{ "name", VFO_ARG_STRING, false },
	{ .name = NULL },
};

static const struct vfo_proto_cmd cmds[] = {
	{ .name = "echo", .handler = h_echo, .args = echo_args },
	{ .name = "status", .handler = h_echo },
	{ .name = "any", .handler = h_echo, .extra_args = true },
	{ .name = "fail", .handler = h_fail, .args = name_args },
	{ .name = "defer", .handler = h_defer },
};

static const struct vfo_proto_table table = {
	cmds,
	VFO_ARRAY_SIZE(cmds),
	NULL,
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-proto: %s\n", what);
		abort();
	}
}

/* json-c accepts NaN, which json_object_equal() never finds equal. */
static bool same(struct json_object *a, struct json_object *b)
{
	return json_object_equal(a, b) ||
	       !strcmp(json_object_to_json_string(a), json_object_to_json_string(b));
}

/* Rebuild a parsed message and parse it again: it must come back equal. */
static void roundtrip(const struct vfo_msg *m)
{
	struct vfo_proto_err e;
	struct vfo_msg r;
	size_t len = 0;
	char *line = NULL;

	switch (m->type) {
	case VFO_MSG_REQUEST:
		line = vfo_proto_build_request(m->id, m->cmd, m->args, &len);
		break;
	case VFO_MSG_REPLY:
		line = vfo_proto_build_reply(m->id, m->result, &len);
		break;
	case VFO_MSG_ERROR:
		/* Codes are normalised; compare the normalised one. */
		line = vfo_proto_build_error(m->id, m->err_code, m->err_message, &len);
		break;
	case VFO_MSG_EVENT:
		line = vfo_proto_build_event(m->event, m->root, &len);
		break;
	default:
		check(false, "parsed message without a type");
	}
	check(line != NULL, "builder refused a parsed message");
	check(len > 0 && line[len - 1] == '\n' && !memchr(line, '\n', len - 1),
	      "built line is not one line");
	check(vfo_proto_parse_line(line, len - 1, &r, &e) == 0, "built line does not parse");
	check(r.type == m->type, "type changed");
	check(json_object_equal(r.id, m->id), "id changed");
	switch (m->type) {
	case VFO_MSG_REQUEST:
		check(!strcmp(r.cmd, m->cmd), "cmd changed");
		check(same(r.args, m->args), "args changed");
		break;
	case VFO_MSG_REPLY:
		check(same(r.result, m->result), "result changed");
		break;
	case VFO_MSG_ERROR:
		check(r.err_code == m->err_code, "code changed");
		check(!strcmp(r.err_message, m->err_message), "message changed");
		break;
	default:
		check(!strcmp(r.event, m->event), "event changed");
		check(same(r.root, m->root), "event body changed");
		break;
	}
	vfo_msg_release(&r);
	free(line);
}

static void one_line(const uint8_t *data, size_t size)
{
	struct vfo_proto_err e;
	struct vfo_msg m;
	size_t len;
	char *reply;
	int ret;

	ret = vfo_proto_parse_line((const char *)data, size, &m, &e);
	if (ret < 0) {
		check(e.code != VFO_PROTO_OK || ret == -ENODATA, "failure without a code");
		check(!m.root, "failed parse kept a root");
		vfo_proto_err_release(&e);
		return;
	}
	roundtrip(&m);
	if (m.type == VFO_MSG_REQUEST) {
		check(vfo_proto_dispatch(&table, &m, NULL, &reply, &len) == 0, "dispatch failed");
		if (reply) {
			struct vfo_msg r;

			check(vfo_proto_parse_line(reply, len - 1, &r, &e) == 0,
			      "reply does not parse");
			check(r.type == VFO_MSG_REPLY || r.type == VFO_MSG_ERROR,
			      "reply is not a reply");
			vfo_msg_release(&r);
			free(reply);
		}
	}
	vfo_msg_release(&m);
}

static void drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void as_stream(const uint8_t *data, size_t size)
{
	struct vfo_conn_cfg cfg;
	struct vfo_conn *c;
	int64_t now = 0;
	size_t chunk;
	int sv[2];

	if (size < 2)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	vfo_conn_cfg_init(&cfg);
	/* Small limits so the fuzzer reaches them. */
	cfg.max_line = 8 + data[0] * 4;
	cfg.rate = data[1] & 0x80 ? 0 : 1 + (data[1] & 0x0f);
	cfg.burst = 1 + ((data[1] >> 4) & 0x07);
	cfg.flood_max = 64;
	cfg.max_queue = 4096;
	cfg.table = &table;
	data += 2;
	size -= 2;
	c = vfo_conn_new(sv[0], &cfg, now);
	check(c != NULL, "vfo_conn_new");
	while (size) {
		/* One control byte: chunk size and how far the clock moves. */
		chunk = 1 + (data[0] & 0x3f);
		now += (data[0] >> 6) * 150;
		data++;
		size--;
		if (chunk > size)
			chunk = size;
		if (vfo_conn_feed(c, data, chunk, now) < 0)
			break;
		data += chunk;
		size -= chunk;
		drain(sv[1]);
		vfo_conn_on_writable(c);
	}
	vfo_conn_free(c);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_line(data, size);
	as_stream(data, size);
	return 0;
}
