// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Wire protocol: message round trips, malformed and hostile input, the
 * dispatcher's schema checks, and the connection layer over socketpairs
 * (partial reads and writes, line limits, stuck and flooding peers).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"

/* ---- helpers ----------------------------------------------------------- */

static int parse_str(const char *s, struct vfo_msg *m, struct vfo_proto_err *e)
{
	return vfo_proto_parse_line(s, strlen(s), m, e);
}

/* Parse a line that must fail; returns the code and checks nothing leaks. */
static enum vfo_proto_code bad_line(const char *s, size_t len, int want_ret)
{
	struct vfo_proto_err e;
	struct vfo_msg m;
	enum vfo_proto_code code;
	int ret;

	ret = vfo_proto_parse_line(s, len, &m, &e);
	assert_int_equal(ret, want_ret);
	assert_null(m.root);
	assert_true(e.message[0] != '\0');
	code = e.code;
	vfo_proto_err_release(&e);
	return code;
}

static enum vfo_proto_code bad(const char *s, int want_ret)
{
	return bad_line(s, strlen(s), want_ret);
}

static void sockpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* Everything the peer has been sent so far. */
static size_t drain(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return len;
}

static int count_lines(const char *buf)
{
	int n = 0;

	for (; *buf; buf++)
		n += *buf == '\n';
	return n;
}

/* Parse the idx-th line of buf (a drained stream) into m. */
static void nth_msg(const char *buf, int idx, struct vfo_msg *m)
{
	struct vfo_proto_err e;
	const char *nl;

	while (idx--) {
		buf = strchr(buf, '\n');
		assert_non_null(buf);
		buf++;
	}
	nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_int_equal(vfo_proto_parse_line(buf, nl - buf, m, &e), 0);
}

static void assert_error_msg(const char *buf, int idx, enum vfo_proto_code code)
{
	struct vfo_msg m;

	nth_msg(buf, idx, &m);
	assert_int_equal(m.type, VFO_MSG_ERROR);
	assert_string_equal(m.err_code_str, vfo_proto_code_str(code));
	vfo_msg_release(&m);
}

/* ---- messages ---------------------------------------------------------- */

static void test_request_roundtrip(void **state)
{
	struct json_object *id, *args, *sid;
	struct vfo_proto_err e;
	struct vfo_msg m;
	size_t len;
	char *line;

	(void)state;
	id = json_object_new_int64(42);
	args = json_object_new_object();
	json_object_object_add(args, "mac", json_object_new_string("52:54:00:12:34:56"));
	json_object_object_add(args, "vlan", json_object_new_int(100));
	line = vfo_proto_build_request(id, "reserve", args, &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));

	assert_int_equal(vfo_proto_parse_line(line, len - 1, &m, &e), 0);
	assert_int_equal(m.type, VFO_MSG_REQUEST);
	assert_true(json_object_equal(m.id, id));
	assert_string_equal(m.cmd, "reserve");
	assert_true(json_object_equal(m.args, args));
	assert_string_equal(vfo_proto_arg_str(m.args, "mac", NULL), "52:54:00:12:34:56");
	assert_int_equal(vfo_proto_arg_int(m.args, "vlan", -1), 100);
	assert_int_equal(vfo_proto_arg_int(m.args, "nope", -1), -1);
	vfo_msg_release(&m);
	free(line);

	/* String id, no args: parsed args is an empty object, never NULL. */
	sid = json_object_new_string("req-7");
	line = vfo_proto_build_request(sid, "status", NULL, &len);
	assert_non_null(line);
	assert_int_equal(vfo_proto_parse_line(line, len, &m, &e), 0);
	assert_string_equal(json_object_get_string(m.id), "req-7");
	assert_non_null(m.args);
	assert_int_equal(json_object_object_length(m.args), 0);
	vfo_msg_release(&m);
	free(line);

	/* Absent args on the wire. */
	assert_int_equal(parse_str("{\"id\":-3,\"cmd\":\"status\"}", &m, &e), 0);
	assert_int_equal(json_object_get_int64(m.id), -3);
	assert_true(json_object_is_type(m.args, json_type_object));
	vfo_msg_release(&m);

	/* Borrowed, not consumed: we still own one reference each. */
	json_object_put(id);
	json_object_put(sid);
	json_object_put(args);
}

static void test_reply_error_event_roundtrip(void **state)
{
	struct json_object *id, *res, *fields;
	struct vfo_proto_err e;
	struct vfo_msg m;
	size_t len;
	char *line;

	(void)state;
	id = json_object_new_string("abc");
	res = json_object_new_object();
	json_object_object_add(res, "elapsed_ms", json_object_new_int(12));
	line = vfo_proto_build_reply(id, res, &len);
	assert_non_null(line);
	assert_int_equal(vfo_proto_parse_line(line, len - 1, &m, &e), 0);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_true(json_object_equal(m.id, id));
	assert_true(json_object_equal(m.result, res));
	vfo_msg_release(&m);
	free(line);

	/* A NULL result is an empty object. */
	line = vfo_proto_build_reply(id, NULL, &len);
	assert_int_equal(vfo_proto_parse_line(line, len, &m, &e), 0);
	assert_int_equal(json_object_object_length(m.result), 0);
	vfo_msg_release(&m);
	free(line);

	/* Error: a newline inside the message must stay escaped. */
	line = vfo_proto_build_error(id, VFO_PROTO_NOT_FOUND, "no pool\nx", &len);
	assert_non_null(line);
	assert_null(memchr(line, '\n', len - 1));
	assert_int_equal(vfo_proto_parse_line(line, len - 1, &m, &e), 0);
	assert_int_equal(m.type, VFO_MSG_ERROR);
	assert_int_equal(m.err_code, VFO_PROTO_NOT_FOUND);
	assert_string_equal(m.err_code_str, "not-found");
	assert_string_equal(m.err_message, "no pool\nx");
	vfo_msg_release(&m);
	free(line);

	/* Error to an unreadable request: null id. */
	line = vfo_proto_build_error(NULL, VFO_PROTO_BAD_JSON, "x", &len);
	assert_string_equal(line,
			    "{\"id\":null,\"error\":{\"code\":\"bad-json\",\"message\":\"x\"}}\n");
	assert_int_equal(vfo_proto_parse_line(line, len, &m, &e), 0);
	assert_int_equal(m.type, VFO_MSG_ERROR);
	assert_true(json_object_is_type(m.id, json_type_null));
	vfo_msg_release(&m);
	free(line);

	/* Event: fields flattened, "id" and "event" in fields ignored. */
	fields = json_object_new_object();
	json_object_object_add(fields, "domain", json_object_new_string("vm1"));
	json_object_object_add(fields, "id", json_object_new_int(1));
	json_object_object_add(fields, "event", json_object_new_string("evil"));
	line = vfo_proto_build_event("vf-assigned", fields, &len);
	assert_non_null(line);
	assert_int_equal(vfo_proto_parse_line(line, len - 1, &m, &e), 0);
	assert_int_equal(m.type, VFO_MSG_EVENT);
	assert_string_equal(m.event, "vf-assigned");
	assert_null(m.id);
	assert_string_equal(json_object_get_string(json_object_object_get(m.root, "domain")),
			    "vm1");
	assert_null(json_object_object_get(m.root, "id"));
	vfo_msg_release(&m);
	free(line);

	json_object_put(fields);
	json_object_put(res);
	json_object_put(id);
}

static void test_builders_reject(void **state)
{
	struct json_object *d = json_object_new_double(1.5);
	struct json_object *id = json_object_new_int(1);
	struct json_object *arr = json_object_new_array();

	(void)state;
	errno = 0;
	assert_null(vfo_proto_build_request(d, "x", NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(vfo_proto_build_request(NULL, "x", NULL, NULL));
	assert_null(vfo_proto_build_request(id, NULL, NULL, NULL));
	assert_null(vfo_proto_build_request(id, "", NULL, NULL));
	assert_null(vfo_proto_build_request(id, "x", arr, NULL));
	assert_null(vfo_proto_build_reply(d, NULL, NULL));
	assert_null(vfo_proto_build_reply(id, arr, NULL));
	assert_null(vfo_proto_build_error(d, VFO_PROTO_BUSY, "x", NULL));
	assert_null(vfo_proto_build_event(NULL, NULL, NULL));
	assert_null(vfo_proto_build_event("", NULL, NULL));
	assert_null(vfo_proto_build_event("x", arr, NULL));
	json_object_put(d);
	json_object_put(id);
	json_object_put(arr);
}

static void test_codes(void **state)
{
	int i;

	(void)state;
	for (i = 1; i < VFO_PROTO__MAX; i++) {
		const char *s = vfo_proto_code_str(i);

		assert_int_equal(vfo_proto_code_from_str(s), i);
		assert_int_equal(vfo_proto_code_from_errno(-vfo_proto_code_to_errno(i)), i);
	}
	assert_int_equal(vfo_proto_code_from_str("from-the-future"), VFO_PROTO_INTERNAL);
	assert_int_equal(vfo_proto_code_from_str(NULL), VFO_PROTO_INTERNAL);
	assert_int_equal(vfo_proto_code_from_errno(-EPERM), VFO_PROTO_DENIED);
	assert_int_equal(vfo_proto_code_from_errno(-ENODEV), VFO_PROTO_NOT_FOUND);
	assert_int_equal(vfo_proto_code_from_errno(-ENOSPC), VFO_PROTO_BUSY);
	assert_int_equal(vfo_proto_code_from_errno(EXDEV), VFO_PROTO_INTERNAL);
	assert_int_equal(vfo_proto_code_from_errno(0), VFO_PROTO_OK);
	assert_string_equal(vfo_proto_code_str(1000), "internal");
	assert_int_equal(vfo_proto_code_to_errno(1000), EIO);
}

static void test_invalid_json(void **state)
{
	(void)state;
	assert_int_equal(bad("{", -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad("hello", -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad("{\"id\":1,", -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad("{\"id\":1,}", -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"a\"} {\"id\":2}", -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"a\"}x", -EBADMSG), VFO_PROTO_BAD_JSON);
	/* Invalid UTF-8 would be echoed back to other clients: refuse it. */
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"\xff\xfe\"}", -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"\xc3\"}", -EBADMSG), VFO_PROTO_BAD_JSON);
}

static void test_nul_and_depth(void **state)
{
	static const char nul[] = "{\"id\":1,\"cmd\":\"st\0atus\"}";
	char deep[256];
	size_t i;

	(void)state;
	assert_int_equal(bad_line(nul, sizeof(nul) - 1, -EBADMSG), VFO_PROTO_BAD_JSON);
	assert_int_equal(bad_line("\0", 1, -EBADMSG), VFO_PROTO_BAD_JSON);
	/* Nesting beyond the tokener depth is refused, not recursed into. */
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	deep[i] = '\0';
	assert_int_equal(bad(deep, -EBADMSG), VFO_PROTO_BAD_JSON);
}

static void test_not_an_object(void **state)
{
	(void)state;
	assert_int_equal(bad("[1,2]", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("42", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("-1.5e3", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("\"status\"", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("null", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("true", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{}", -EPROTO), VFO_PROTO_BAD_REQUEST);
}

static void test_blank_lines(void **state)
{
	struct vfo_proto_err e;
	struct vfo_msg m;

	(void)state;
	assert_int_equal(vfo_proto_parse_line("", 0, &m, &e), -ENODATA);
	assert_int_equal(parse_str("  \t\r", &m, &e), -ENODATA);
	assert_null(m.root);
	/* CRLF framing works: \r is JSON whitespace. */
	assert_int_equal(parse_str("{\"id\":1,\"cmd\":\"x\"}\r", &m, &e), 0);
	vfo_msg_release(&m);
}

static void test_bad_requests(void **state)
{
	struct vfo_proto_err e;
	struct vfo_msg m;

	(void)state;
	/* Missing or mistyped cmd: the id still comes back for the reply. */
	assert_int_equal(parse_str("{\"id\":5}", &m, &e), -EPROTO);
	assert_int_equal(e.code, VFO_PROTO_BAD_REQUEST);
	assert_null(e.id);
	vfo_proto_err_release(&e);

	assert_int_equal(parse_str("{\"id\":5,\"cmd\":7}", &m, &e), -EPROTO);
	assert_int_equal(e.code, VFO_PROTO_BAD_REQUEST);
	assert_int_equal(m.type, VFO_MSG_REQUEST);
	assert_non_null(e.id);
	assert_int_equal(json_object_get_int(e.id), 5);
	vfo_proto_err_release(&e);
	assert_null(e.id);

	assert_int_equal(bad("{\"id\":5,\"cmd\":\"\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":5,\"cmd\":null}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":5,\"cmd\":\"a\\u0000b\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);

	/* id of the wrong type, or absent. */
	assert_int_equal(bad("{\"cmd\":\"status\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":1.5,\"cmd\":\"status\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":true,\"cmd\":\"status\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":null,\"cmd\":\"status\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":[1],\"cmd\":\"status\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":{},\"cmd\":\"status\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);

	/* args not an object: bad-args, with the id. */
	assert_int_equal(parse_str("{\"id\":\"q\",\"cmd\":\"s\",\"args\":[]}", &m, &e), -EINVAL);
	assert_int_equal(e.code, VFO_PROTO_BAD_ARGS);
	assert_string_equal(json_object_get_string(e.id), "q");
	vfo_proto_err_release(&e);
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"s\",\"args\":\"x\"}", -EINVAL),
			 VFO_PROTO_BAD_ARGS);
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"s\",\"args\":3}", -EINVAL), VFO_PROTO_BAD_ARGS);
	/* null args, like absent ones, is an empty object. */
	assert_int_equal(parse_str("{\"id\":1,\"cmd\":\"s\",\"args\":null}", &m, &e), 0);
	assert_int_equal(json_object_object_length(m.args), 0);
	vfo_msg_release(&m);

	/* Ambiguous kinds. */
	assert_int_equal(bad("{\"id\":1,\"cmd\":\"s\",\"result\":{}}", -EPROTO),
			 VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"event\":\"x\",\"result\":{}}", -EPROTO), VFO_PROTO_BAD_REQUEST);
}

static void test_bad_replies_events(void **state)
{
	struct vfo_proto_err e;
	struct vfo_msg m;

	(void)state;
	assert_int_equal(parse_str("{\"id\":1,\"result\":5}", &m, &e), -EPROTO);
	/* The caller learns it was a reply, so it will not answer it. */
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_proto_err_release(&e);
	assert_int_equal(bad("{\"result\":{}}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":null,\"result\":{}}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":1,\"error\":\"x\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":1,\"error\":{}}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":1,\"error\":{\"code\":3}}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"id\":1,\"error\":{\"code\":\"busy\",\"message\":1}}", -EPROTO),
			 VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"event\":3}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"event\":\"\"}", -EPROTO), VFO_PROTO_BAD_REQUEST);
	assert_int_equal(bad("{\"event\":\"x\",\"id\":1}", -EPROTO), VFO_PROTO_BAD_REQUEST);

	/* Unknown error codes from newer peers stay readable. */
	assert_int_equal(parse_str("{\"id\":2,\"error\":{\"code\":\"new-thing\"}}", &m, &e), 0);
	assert_int_equal(m.err_code, VFO_PROTO_INTERNAL);
	assert_string_equal(m.err_code_str, "new-thing");
	assert_string_equal(m.err_message, "");
	vfo_msg_release(&m);
	/* Unknown top-level members are ignored. */
	assert_int_equal(parse_str("{\"id\":2,\"cmd\":\"x\",\"v\":9}", &m, &e), 0);
	vfo_msg_release(&m);
}

static void test_utf8_passthrough(void **state)
{
	static const char text[] =
		"h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";
	struct json_object *id, *args;
	struct vfo_proto_err e;
	struct vfo_msg m;
	size_t len;
	char *line;

	(void)state;
	id = json_object_new_int(1);
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(text));
	line = vfo_proto_build_request(id, "x", args, &len);
	/* Raw UTF-8 on the wire, not \u escapes. */
	assert_non_null(strstr(line, text));
	assert_int_equal(vfo_proto_parse_line(line, len - 1, &m, &e), 0);
	assert_string_equal(vfo_proto_arg_str(m.args, "name", NULL), text);
	vfo_msg_release(&m);
	free(line);
	/* \u escapes decode to the same bytes. */
	assert_int_equal(parse_str("{\"id\":1,\"cmd\":\"x\",\"args\":{\"name\":\"h\\u00e9llo\"}}",
				   &m, &e),
			 0);
	assert_string_equal(vfo_proto_arg_str(m.args, "name", NULL), "h\xc3\xa9llo");
	vfo_msg_release(&m);
	json_object_put(id);
	json_object_put(args);
}

/* ---- dispatch ---------------------------------------------------------- */

struct test_ctx {
	int calls;
	struct json_object *deferred_id;
	struct vfo_conn *deferred_conn;
};

static int h_echo(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		  struct vfo_proto_err *err)
{
	struct test_ctx *t = ctx;

	(void)err;
	t->calls++;
	*result = json_object_get(req->args);
	return 0;
}

static int h_fail_set(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		      struct vfo_proto_err *err)
{
	(void)ctx;
	(void)result;
	vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "no pool '%s'",
			  vfo_proto_arg_str(req->args, "pool", "?"));
	return -ENOENT;
}

static int h_fail_errno(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
			struct vfo_proto_err *err)
{
	(void)ctx;
	(void)req;
	(void)err;
	*result = json_object_new_object(); /* must not leak on error */
	return -EBUSY;
}

static int h_bad_result(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
			struct vfo_proto_err *err)
{
	(void)ctx;
	(void)req;
	(void)err;
	*result = json_object_new_int(3);
	return 0;
}

static int h_positive(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		      struct vfo_proto_err *err)
{
	(void)ctx;
	(void)req;
	(void)result;
	(void)err;
	return 7;
}

static int h_defer(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		   struct vfo_proto_err *err)
{
	struct test_ctx *t = ctx;

	(void)result;
	(void)err;
	t->deferred_id = json_object_get(req->id);
	t->deferred_conn = req->origin;
	return VFO_PROTO_DEFERRED;
}

static const struct vfo_proto_arg echo_args[] = {
	{ "mac", VFO_ARG_STRING, true },     { "vlan", VFO_ARG_INT, false },
	{ "weight", VFO_ARG_NUMBER, false }, { "numa", VFO_ARG_BOOL, false },
	{ "opts", VFO_ARG_OBJECT, false },   { "list", VFO_ARG_ARRAY, false },
	{ "blob", VFO_ARG_ANY, false },	     { .name = NULL },
};

static const struct vfo_proto_arg pool_args[] = {
	{ "pool", VFO_ARG_STRING, false },
	{ .name = NULL },
};

static const struct vfo_proto_cmd test_cmds[] = {
	{ .name = "echo", .handler = h_echo, .args = echo_args },
	{ .name = "loose", .handler = h_echo, .args = pool_args, .extra_args = true },
	{ .name = "status", .handler = h_echo },
	{ .name = "fail-set", .handler = h_fail_set, .args = pool_args },
	{ .name = "fail-errno", .handler = h_fail_errno },
	{ .name = "bad-result", .handler = h_bad_result },
	{ .name = "positive", .handler = h_positive },
	{ .name = "defer", .handler = h_defer },
	{ .name = "nohandler" },
};

/* Dispatch one request line; returns the parsed reply (caller releases). */
static void run(struct test_ctx *ctx, const char *line, struct vfo_msg *out)
{
	struct vfo_proto_table t = { test_cmds, VFO_ARRAY_SIZE(test_cmds), ctx };
	struct vfo_proto_err e;
	struct vfo_msg req;
	size_t len = 0;
	char *reply;

	assert_int_equal(parse_str(line, &req, &e), 0);
	assert_int_equal(vfo_proto_dispatch(&t, &req, NULL, &reply, &len), 0);
	if (!reply) {
		memset(out, 0, sizeof(*out));
	} else {
		assert_int_equal(len, strlen(reply));
		assert_int_equal(vfo_proto_parse_line(reply, len - 1, out, &e), 0);
		assert_true(json_object_equal(out->id, req.id));
		free(reply);
	}
	vfo_msg_release(&req);
}

static void expect_err(struct test_ctx *ctx, const char *line, enum vfo_proto_code code,
		       const char *in_message)
{
	struct vfo_msg m;

	run(ctx, line, &m);
	assert_int_equal(m.type, VFO_MSG_ERROR);
	assert_string_equal(m.err_code_str, vfo_proto_code_str(code));
	if (in_message && !strstr(m.err_message, in_message))
		fail_msg("'%s' not in '%s'", in_message, m.err_message);
	vfo_msg_release(&m);
}

static void test_dispatch_ok(void **state)
{
	struct test_ctx ctx = { 0 };
	struct vfo_msg m;

	(void)state;
	run(&ctx,
	    "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"vlan\":3,"
	    "\"weight\":0.5,\"numa\":true,\"opts\":{},\"list\":[1],"
	    "\"blob\":null}}",
	    &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_int_equal(ctx.calls, 1);
	assert_string_equal(vfo_proto_arg_str(m.result, "mac", NULL), "m");
	assert_true(vfo_proto_arg_bool(m.result, "numa", false));
	vfo_msg_release(&m);

	/* Optional args may be absent or null; ints pass as numbers. */
	run(&ctx,
	    "{\"id\":2,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\","
	    "\"vlan\":null,\"weight\":2}}",
	    &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_msg_release(&m);

	run(&ctx, "{\"id\":\"s\",\"cmd\":\"status\"}", &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_int_equal(json_object_object_length(m.result), 0);
	vfo_msg_release(&m);

	run(&ctx, "{\"id\":3,\"cmd\":\"loose\",\"args\":{\"future\":1}}", &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_msg_release(&m);
	assert_int_equal(ctx.calls, 4);
}

static void test_dispatch_errors(void **state)
{
	struct test_ctx ctx = { 0 };
	struct vfo_proto_err e = { 0 };
	struct vfo_msg m;
	char *reply;

	(void)state;
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"nosuch\"}", VFO_PROTO_UNKNOWN_CMD, "nosuch");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"nohandler\"}", VFO_PROTO_UNKNOWN_CMD, NULL);
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\"}", VFO_PROTO_BAD_ARGS,
		   "missing argument 'mac'");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":null}}", VFO_PROTO_BAD_ARGS,
		   "missing argument 'mac'");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":5}}", VFO_PROTO_BAD_ARGS,
		   "'mac' must be a string");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"a\\u0000b\"}}",
		   VFO_PROTO_BAD_ARGS, "'mac' must be a string");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"vlan\":\"3\"}}",
		   VFO_PROTO_BAD_ARGS, "'vlan' must be an integer");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"vlan\":3.5}}",
		   VFO_PROTO_BAD_ARGS, "'vlan' must be an integer");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"weight\":\"1\"}}",
		   VFO_PROTO_BAD_ARGS, "'weight' must be a number");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"weight\":NaN}}",
		   VFO_PROTO_BAD_ARGS, "'weight' must be a number");
	expect_err(&ctx,
		   "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"weight\":-Infinity}}",
		   VFO_PROTO_BAD_ARGS, "'weight' must be a number");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"numa\":1}}",
		   VFO_PROTO_BAD_ARGS, "'numa' must be a boolean");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"opts\":[]}}",
		   VFO_PROTO_BAD_ARGS, "'opts' must be an object");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"list\":{}}}",
		   VFO_PROTO_BAD_ARGS, "'list' must be an array");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"m\",\"typo\":1}}",
		   VFO_PROTO_BAD_ARGS, "unknown argument 'typo'");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"status\",\"args\":{\"x\":1}}", VFO_PROTO_BAD_ARGS,
		   "unknown argument 'x'");
	assert_int_equal(ctx.calls, 0);

	expect_err(&ctx, "{\"id\":1,\"cmd\":\"fail-set\",\"args\":{\"pool\":\"p0\"}}",
		   VFO_PROTO_NOT_FOUND, "no pool 'p0'");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"fail-errno\"}", VFO_PROTO_BUSY, "fail-errno");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"bad-result\"}", VFO_PROTO_INTERNAL, "non-object");
	expect_err(&ctx, "{\"id\":1,\"cmd\":\"positive\"}", VFO_PROTO_INTERNAL, NULL);

	/* Deferred: no reply now, the handler holds the id. */
	run(&ctx, "{\"id\":99,\"cmd\":\"defer\"}", &m);
	assert_int_equal(m.type, VFO_MSG_NONE);
	assert_int_equal(json_object_get_int(ctx.deferred_id), 99);
	json_object_put(ctx.deferred_id);

	/* Non-requests are refused by the dispatcher itself. */
	assert_int_equal(parse_str("{\"event\":\"x\"}", &m, &e), 0);
	assert_int_equal(vfo_proto_dispatch(NULL, &m, NULL, &reply, NULL), -EINVAL);
	assert_null(reply);
	vfo_msg_release(&m);
	assert_null(vfo_proto_find_cmd(NULL, "echo"));
}

/* ---- connections ------------------------------------------------------- */

struct conn_fixture {
	int peer;
	struct vfo_conn *c;
	struct test_ctx ctx;
	struct vfo_proto_table table;
	struct vfo_conn_cfg cfg;
	int n_msgs;
	enum vfo_msg_type last_type;
	char buf[1 << 20];
};

static void on_msg(struct vfo_conn *c, struct vfo_msg *msg, void *opaque)
{
	struct conn_fixture *f = opaque;

	assert_ptr_equal(c, f->c);
	f->n_msgs++;
	f->last_type = msg->type;
}

static void fx_open(struct conn_fixture *f, size_t max_line, unsigned int rate, unsigned int burst,
		    unsigned int flood_max)
{
	int sv[2];

	memset(f, 0, sizeof(*f) - sizeof(f->buf));
	sockpair(sv);
	f->peer = sv[1];
	f->table.cmds = test_cmds;
	f->table.n_cmds = VFO_ARRAY_SIZE(test_cmds);
	f->table.ctx = &f->ctx;
	vfo_conn_cfg_init(&f->cfg);
	f->cfg.max_line = max_line;
	f->cfg.rate = rate;
	f->cfg.burst = burst;
	f->cfg.flood_max = flood_max;
	f->cfg.table = &f->table;
	f->cfg.on_msg = on_msg;
	f->cfg.opaque = f;
	f->c = vfo_conn_new(sv[0], &f->cfg, 0);
	assert_non_null(f->c);
	assert_ptr_equal(vfo_conn_opaque(f->c), f);
	assert_int_equal(vfo_conn_fd(f->c), sv[0]);
}

static void fx_close(struct conn_fixture *f)
{
	vfo_conn_free(f->c);
	close(f->peer);
}

static void peer_write(struct conn_fixture *f, const void *data, size_t len)
{
	assert_int_equal(write(f->peer, data, len), (ssize_t)len);
}

static size_t fx_drain(struct conn_fixture *f)
{
	return drain(f->peer, f->buf, sizeof(f->buf));
}

static void test_conn_request_reply(void **state)
{
	static const char req[] = "{\"id\":1,\"cmd\":\"status\"}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct vfo_conn_stats st;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	peer_write(f, req, strlen(req));
	assert_int_equal(vfo_conn_on_readable(f->c, 0), 0);
	fx_drain(f);
	assert_string_equal(f->buf, "{\"id\":1,\"result\":{}}\n");
	assert_false(vfo_conn_want_write(f->c));
	assert_true(vfo_conn_want_read(f->c));
	/* Nothing more to read: not an error. */
	assert_int_equal(vfo_conn_on_readable(f->c, 0), 0);
	vfo_conn_get_stats(f->c, &st);
	assert_int_equal(st.rx_lines, 1);
	assert_int_equal(st.dispatched, 1);
	assert_int_equal(st.rx_bytes, strlen(req));
	assert_int_equal(st.tx_bytes, strlen(f->buf));
	fx_close(f);
	free(f);
}

static void test_conn_many_lines_one_read(void **state)
{
	static const char in[] = "{\"id\":1,\"cmd\":\"status\"}\n"
				 "\n"
				 "garbage\n"
				 "{\"id\":2,\"cmd\":\"nosuch\"}\n"
				 "{\"id\":3,\"result\":{}}\n"
				 "{\"event\":\"hi\"}\n"
				 "{\"id\":4,\"result\":7}\n"
				 "{\"id\":5,\"cmd\":\"echo\",\"args\":{\"mac\":\"x\"}}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct vfo_msg m;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	peer_write(f, in, strlen(in));
	assert_int_equal(vfo_conn_on_readable(f->c, 0), 0);
	fx_drain(f);
	/* status, garbage, nosuch, echo; the malformed reply gets nothing. */
	assert_int_equal(count_lines(f->buf), 4);
	nth_msg(f->buf, 0, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_int_equal(json_object_get_int(m.id), 1);
	vfo_msg_release(&m);
	assert_error_msg(f->buf, 1, VFO_PROTO_BAD_JSON);
	assert_error_msg(f->buf, 2, VFO_PROTO_UNKNOWN_CMD);
	nth_msg(f->buf, 3, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_int_equal(json_object_get_int(m.id), 5);
	vfo_msg_release(&m);
	/* The good reply and the event reached the owner. */
	assert_int_equal(f->n_msgs, 2);
	assert_int_equal(f->last_type, VFO_MSG_EVENT);
	fx_close(f);
	free(f);
}

static void test_conn_byte_by_byte(void **state)
{
	static const char req[] = "{\"id\":\"x\",\"cmd\":\"echo\",\"args\":{\"mac\":\"aa:bb\"}}\n"
				  "{\"id\":2,\"cmd\":\"status\"}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct vfo_msg m;
	size_t i;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	for (i = 0; i < strlen(req); i++) {
		peer_write(f, req + i, 1);
		assert_int_equal(vfo_conn_on_readable(f->c, i), 0);
		fx_drain(f);
		/* A reply appears exactly when a newline has arrived. */
		assert_int_equal(count_lines(f->buf), req[i] == '\n');
		if (req[i] == '\n') {
			nth_msg(f->buf, 0, &m);
			assert_int_equal(m.type, VFO_MSG_REPLY);
			vfo_msg_release(&m);
		}
	}
	/* Same through feed(), which the fuzzer uses. */
	for (i = 0; i < strlen(req); i++)
		assert_int_equal(vfo_conn_feed(f->c, req + i, 1, 0), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 2);
	assert_int_equal(f->ctx.calls, 4);
	fx_close(f);
	free(f);
}

static void test_conn_utf8_split(void **state)
{
	/* Every multi-byte character is cut between two reads. */
	static const char text[] = "\xe6\x97\xa5\xe6\x9c\xac \xe2\x9c\x93 \xf0\x9f\x98\x80";
	struct conn_fixture *f = malloc(sizeof(*f));
	char req[128];
	struct vfo_msg m;
	size_t i, n;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	n = snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"%s\"}}\n",
		     text);
	for (i = 0; i < n; i++)
		assert_int_equal(vfo_conn_feed(f->c, req + i, 1, 0), 0);
	fx_drain(f);
	assert_non_null(strstr(f->buf, text));
	nth_msg(f->buf, 0, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_string_equal(vfo_proto_arg_str(m.result, "mac", NULL), text);
	vfo_msg_release(&m);
	fx_close(f);
	free(f);
}

/* A request line of exactly n bytes (without the newline). */
static char *line_of(size_t n)
{
	static const char head[] = "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"";
	static const char tail[] = "\"}}";
	char *s = malloc(n + 2);
	size_t pad = n - strlen(head) - strlen(tail);

	memcpy(s, head, strlen(head));
	memset(s + strlen(head), 'a', pad);
	memcpy(s + strlen(head) + pad, tail, strlen(tail));
	s[n] = '\n';
	s[n + 1] = '\0';
	return s;
}

static void test_conn_line_limit(void **state)
{
	struct conn_fixture *f = malloc(sizeof(*f));
	char *at = line_of(200), *over = line_of(201);
	struct vfo_conn_stats st;
	struct vfo_msg m;

	(void)state;
	fx_open(f, 200, 0, 1, 0);
	/* Exactly at the limit: served. */
	assert_int_equal(vfo_conn_feed(f->c, at, 201, 0), 0);
	fx_drain(f);
	nth_msg(f->buf, 0, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_msg_release(&m);

	/* One byte more: too-long, and the connection stays usable. */
	assert_int_equal(vfo_conn_feed(f->c, over, 202, 0), 0);
	assert_int_equal(vfo_conn_feed(f->c, at, 201, 0), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 2);
	assert_error_msg(f->buf, 0, VFO_PROTO_TOO_LONG);
	nth_msg(f->buf, 1, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_msg_release(&m);

	/* Exactly at the limit but split: 200 bytes, then the newline. */
	assert_int_equal(vfo_conn_feed(f->c, at, 200, 0), 0);
	assert_int_equal(vfo_conn_feed(f->c, "\n", 1, 0), 0);
	/* Over the limit with no newline yet: refused as soon as it shows,
	 * then everything up to the newline is skipped, however long. */
	assert_int_equal(vfo_conn_feed(f->c, over, 150, 0), 0);
	assert_int_equal(vfo_conn_feed(f->c, over, 51, 0), 0);
	assert_int_equal(vfo_conn_feed(f->c, over, 201, 0), 0);
	assert_int_equal(vfo_conn_feed(f->c, "{\"id\":1,", 8, 0), 0);
	assert_int_equal(vfo_conn_feed(f->c, "\n{\"id\":9,\"cmd\":\"status\"}\n", 26, 0), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 3);
	nth_msg(f->buf, 0, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_msg_release(&m);
	assert_error_msg(f->buf, 1, VFO_PROTO_TOO_LONG);
	nth_msg(f->buf, 2, &m);
	assert_int_equal(json_object_get_int(m.id), 9);
	vfo_msg_release(&m);

	vfo_conn_get_stats(f->c, &st);
	assert_int_equal(st.too_long, 2);
	assert_false(vfo_conn_is_closed(f->c));
	fx_close(f);
	free(f);
	free(at);
	free(over);
}

static void test_conn_nul_bytes(void **state)
{
	static const char in[] = "{\"id\":1,\"cmd\":\"st\0atus\"}\n\0\0\n"
				 "{\"id\":2,\"cmd\":\"status\"}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct vfo_msg m;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	peer_write(f, in, sizeof(in) - 1);
	assert_int_equal(vfo_conn_on_readable(f->c, 0), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 3);
	assert_error_msg(f->buf, 0, VFO_PROTO_BAD_JSON);
	assert_error_msg(f->buf, 1, VFO_PROTO_BAD_JSON);
	nth_msg(f->buf, 2, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	vfo_msg_release(&m);
	fx_close(f);
	free(f);
}

static void test_conn_partial_writes(void **state)
{
	struct conn_fixture *f = malloc(sizeof(*f));
	int sndbuf = 4096, rounds = 0;
	struct vfo_msg m;
	size_t got = 0;
	char *big;
	ssize_t n;

	(void)state;
	fx_open(f, 300 * 1024, 0, 1, 0);
	assert_int_equal(
		setsockopt(vfo_conn_fd(f->c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	/* A 200 KiB echo cannot go out in one write(). */
	big = line_of(200 * 1024);
	assert_int_equal(vfo_conn_feed(f->c, big, strlen(big), 0), 0);
	assert_true(vfo_conn_want_write(f->c));
	while (vfo_conn_want_write(f->c)) {
		n = read(f->peer, f->buf + got, sizeof(f->buf) - 1 - got);
		if (n > 0)
			got += n;
		assert_int_equal(vfo_conn_on_writable(f->c), 0);
		assert_true(++rounds < 100000);
	}
	got += drain(f->peer, f->buf + got, sizeof(f->buf) - got);
	assert_true(rounds > 1);
	assert_int_equal(count_lines(f->buf), 1);
	nth_msg(f->buf, 0, &m);
	assert_int_equal(m.type, VFO_MSG_REPLY);
	assert_int_equal(strlen(vfo_proto_arg_str(m.result, "mac", "")), 200 * 1024 - 39);
	vfo_msg_release(&m);
	/* Writable with nothing queued is harmless. */
	assert_int_equal(vfo_conn_on_writable(f->c), 0);
	fx_close(f);
	free(f);
	free(big);
}

static void test_conn_stuck_peer(void **state)
{
	static const char req[] = "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"mac\":\"0123456789\"}}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct vfo_conn_stats st;
	int sndbuf = 4096, i, ret = 0;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	f->cfg.max_queue = 16 * 1024;
	vfo_conn_free(f->c);
	close(f->peer);
	{
		int sv[2];

		sockpair(sv);
		f->peer = sv[1];
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
				 0);
		f->c = vfo_conn_new(sv[0], &f->cfg, 0);
		assert_non_null(f->c);
	}
	/* The peer never reads: its requests pile replies up until the
	 * queue passes its limit; then it is cut off, nothing blocks. */
	for (i = 0; i < 100000 && ret == 0; i++)
		ret = vfo_conn_feed(f->c, req, strlen(req), 0);
	assert_int_equal(ret, -ECONNRESET);
	assert_true(vfo_conn_is_closed(f->c));
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_QUEUE_FULL);
	assert_false(vfo_conn_want_write(f->c));
	assert_false(vfo_conn_want_read(f->c));
	vfo_conn_get_stats(f->c, &st);
	assert_true(st.max_queued <= 16 * 1024);
	assert_true(st.max_queued > 15 * 1024);
	/* Everything after is refused cleanly. */
	assert_int_equal(vfo_conn_send(f->c, "x\n", 2), -ECONNRESET);
	assert_int_equal(vfo_conn_on_readable(f->c, 0), -ECONNRESET);
	assert_int_equal(vfo_conn_on_writable(f->c), -ECONNRESET);
	assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 0), -ECONNRESET);
	assert_string_equal(vfo_conn_close_reason_str(VFO_CONN_QUEUE_FULL),
			    "peer not reading (output queue full)");
	fx_close(f);
	free(f);
}

static void test_conn_flood(void **state)
{
	static const char req[] = "{\"id\":1,\"cmd\":\"status\"}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct vfo_conn_stats st;
	int i;

	(void)state;
	/* 10/s, burst 5, cut off after 50 lines dropped in a row. */
	fx_open(f, 1024, 10, 5, 50);
	for (i = 0; i < 5; i++)
		assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 0), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 5);

	/* Over budget: told once, then silence. */
	for (i = 0; i < 20; i++)
		assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 50), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 1);
	assert_error_msg(f->buf, 0, VFO_PROTO_RATE_LIMITED);
	assert_int_equal(f->ctx.calls, 5);

	/* 100 ms later one token is back (10/s), a second line is not. */
	assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 150), 0);
	assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 150), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 2);
	assert_error_msg(f->buf, 1, VFO_PROTO_RATE_LIMITED);

	/* A quiet second refills the burst, capped at 5. */
	for (i = 0; i < 6; i++)
		assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 10150), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 6);
	assert_error_msg(f->buf, 5, VFO_PROTO_RATE_LIMITED);
	assert_int_equal(f->ctx.calls, 11);

	/* Time going backwards never mints tokens. */
	assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 5), 0);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 0);

	/* Keep flooding far past the budget: disconnected. */
	for (i = 0; i < 100 && !vfo_conn_is_closed(f->c); i++)
		vfo_conn_feed(f->c, req, strlen(req), 10150);
	assert_true(vfo_conn_is_closed(f->c));
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_FLOOD);
	vfo_conn_get_stats(f->c, &st);
	assert_int_equal(st.rate_dropped, 20 + 1 + 1 + 1 + 49);
	fx_close(f);
	free(f);
}

static void test_conn_flood_one_read(void **state)
{
	struct conn_fixture *f = malloc(sizeof(*f));
	char *blob = malloc(64 * 1024);

	(void)state;
	/* 64 KiB of empty lines in one read: still counted, still cut. */
	fx_open(f, 1024, 10, 5, 1000);
	memset(blob, '\n', 64 * 1024);
	peer_write(f, blob, 64 * 1024);
	assert_int_equal(vfo_conn_on_readable(f->c, 0), -ECONNRESET);
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_FLOOD);
	fx_close(f);
	free(f);
	free(blob);
}

static void test_conn_eof(void **state)
{
	static const char in[] = "{\"id\":1,\"cmd\":\"status\"}\n{\"id\":2,\"cmd\":\"sta";
	struct conn_fixture *f = malloc(sizeof(*f));

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	peer_write(f, in, strlen(in));
	assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
	assert_int_equal(vfo_conn_on_readable(f->c, 0), 0);
	/* The complete request is answered, the half line is dropped. */
	assert_int_equal(vfo_conn_on_readable(f->c, 0), -ECONNRESET);
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_EOF);
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 1);
	assert_int_equal(f->ctx.calls, 1);
	fx_close(f);
	free(f);
}

static void test_conn_eof_flushes_queue(void **state)
{
	struct conn_fixture *f = malloc(sizeof(*f));
	int sndbuf = 4096, rounds = 0;
	char *big = line_of(100 * 1024);

	(void)state;
	fx_open(f, 200 * 1024, 0, 1, 0);
	assert_int_equal(
		setsockopt(vfo_conn_fd(f->c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	assert_int_equal(vfo_conn_feed(f->c, big, strlen(big), 0), 0);
	assert_true(vfo_conn_want_write(f->c));
	assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
	/* EOF while replies are queued: stay until they are out. */
	assert_int_equal(vfo_conn_on_readable(f->c, 0), 0);
	assert_false(vfo_conn_want_read(f->c));
	while (!vfo_conn_is_closed(f->c)) {
		fx_drain(f);
		vfo_conn_on_writable(f->c);
		assert_true(++rounds < 100000);
	}
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_EOF);
	fx_close(f);
	free(f);
	free(big);
}

static void test_conn_peer_gone(void **state)
{
	struct conn_fixture *f = malloc(sizeof(*f));
	struct json_object *id = json_object_new_int(1);

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	close(f->peer);
	f->peer = -1;
	/* EPIPE, not SIGPIPE. */
	assert_int_equal(vfo_conn_send_reply(f->c, id, NULL), -ECONNRESET);
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_IO_ERROR);
	assert_int_equal(vfo_conn_errno(f->c), EPIPE);
	vfo_conn_free(f->c);
	free(f);
	json_object_put(id);
}

static void test_conn_deferred_and_senders(void **state)
{
	static const char req[] = "{\"id\":\"d1\",\"cmd\":\"defer\"}\n";
	struct conn_fixture *f = malloc(sizeof(*f));
	struct json_object *res, *id;
	struct vfo_msg m;

	(void)state;
	fx_open(f, 1024, 0, 1, 0);
	assert_int_equal(vfo_conn_feed(f->c, req, strlen(req), 0), 0);
	assert_int_equal(fx_drain(f), 0);
	assert_ptr_equal(f->ctx.deferred_conn, f->c);
	res = json_object_new_object();
	json_object_object_add(res, "elapsed_ms", json_object_new_int(3));
	assert_int_equal(vfo_conn_send_reply(f->c, f->ctx.deferred_id, res), 0);
	json_object_put(f->ctx.deferred_id);
	assert_int_equal(vfo_conn_send_event(f->c, "vf-arriving", res), 0);
	id = json_object_new_int(8);
	assert_int_equal(vfo_conn_send_request(f->c, id, "hello", NULL), 0);
	assert_int_equal(vfo_conn_send_error(f->c, id, VFO_PROTO_DENIED, "no"), 0);
	/* Invalid input to a builder: an error, the connection lives. */
	assert_int_equal(vfo_conn_send_event(f->c, "", NULL), -EINVAL);
	assert_int_equal(vfo_conn_send(f->c, "no newline", 10), -EINVAL);
	assert_int_equal(vfo_conn_send(f->c, "a\nb\n", 4), -EINVAL);
	assert_false(vfo_conn_is_closed(f->c));
	fx_drain(f);
	assert_int_equal(count_lines(f->buf), 4);
	nth_msg(f->buf, 0, &m);
	assert_string_equal(json_object_get_string(m.id), "d1");
	assert_int_equal(vfo_proto_arg_int(m.result, "elapsed_ms", 0), 3);
	vfo_msg_release(&m);
	nth_msg(f->buf, 1, &m);
	assert_int_equal(m.type, VFO_MSG_EVENT);
	vfo_msg_release(&m);
	nth_msg(f->buf, 2, &m);
	assert_int_equal(m.type, VFO_MSG_REQUEST);
	vfo_msg_release(&m);
	assert_error_msg(f->buf, 3, VFO_PROTO_DENIED);
	vfo_conn_close(f->c);
	assert_int_equal(vfo_conn_close_reason(f->c), VFO_CONN_CLOSED);
	json_object_put(res);
	json_object_put(id);
	fx_close(f);
	free(f);
}

static void test_conn_no_table(void **state)
{
	static const char in[] = "{\"id\":1,\"cmd\":\"status\"}\n";
	struct vfo_conn_cfg cfg;
	struct vfo_conn *c;
	char buf[512];
	int sv[2];

	(void)state;
	vfo_conn_cfg_init(&cfg);
	sockpair(sv);
	c = vfo_conn_new(sv[0], &cfg, 0);
	assert_non_null(c);
	assert_int_equal(vfo_conn_feed(c, in, strlen(in), 0), 0);
	drain(sv[1], buf, sizeof(buf));
	assert_error_msg(buf, 0, VFO_PROTO_UNKNOWN_CMD);
	vfo_conn_free(c);
	close(sv[1]);
}

static void test_conn_new_invalid(void **state)
{
	struct vfo_conn_cfg cfg;
	int fd;

	(void)state;
	vfo_conn_cfg_init(&cfg);
	errno = 0;
	assert_null(vfo_conn_new(-1, &cfg, 0));
	assert_int_equal(errno, EINVAL);
	cfg.max_line = 0;
	assert_null(vfo_conn_new(0, &cfg, 0));
	vfo_conn_cfg_init(&cfg);
	cfg.max_queue = 0;
	assert_null(vfo_conn_new(0, &cfg, 0));
	vfo_conn_cfg_init(&cfg);
	/* A closed fd number. */
	fd = open("/dev/null", O_RDONLY);
	close(fd);
	assert_null(vfo_conn_new(fd, &cfg, 0));
	assert_int_equal(errno, EBADF);
	vfo_conn_free(NULL);
}

static void test_conn_nonsocket_fd(void **state)
{
	static const char in[] = "{\"id\":1,\"cmd\":\"status\"}\n";
	struct vfo_conn_cfg cfg;
	struct vfo_conn *c;
	char buf[256];
	int p[2];

	(void)state;
	/* virtio-serial ports are char devices: send() fails with ENOTSOCK
	 * there, so the conn falls back to write(). A pipe stands in. */
	assert_int_equal(pipe(p), 0);
	vfo_conn_cfg_init(&cfg);
	c = vfo_conn_new(p[1], &cfg, 0);
	assert_non_null(c);
	assert_int_equal(vfo_conn_send(c, in, strlen(in)), 0);
	assert_int_equal(read(p[0], buf, sizeof(buf)), (ssize_t)strlen(in));
	assert_memory_equal(buf, in, strlen(in));
	vfo_conn_free(c);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_reply_error_event_roundtrip),
		cmocka_unit_test(test_builders_reject),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_nul_and_depth),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_bad_replies_events),
		cmocka_unit_test(test_utf8_passthrough),
		cmocka_unit_test(test_dispatch_ok),
		cmocka_unit_test(test_dispatch_errors),
		cmocka_unit_test(test_conn_request_reply),
		cmocka_unit_test(test_conn_many_lines_one_read),
		cmocka_unit_test(test_conn_byte_by_byte),
		cmocka_unit_test(test_conn_utf8_split),
		cmocka_unit_test(test_conn_line_limit),
		cmocka_unit_test(test_conn_nul_bytes),
		cmocka_unit_test(test_conn_partial_writes),
		cmocka_unit_test(test_conn_stuck_peer),
		cmocka_unit_test(test_conn_flood),
		cmocka_unit_test(test_conn_flood_one_read),
		cmocka_unit_test(test_conn_eof),
		cmocka_unit_test(test_conn_eof_flushes_queue),
		cmocka_unit_test(test_conn_peer_gone),
		cmocka_unit_test(test_conn_deferred_and_senders),
		cmocka_unit_test(test_conn_no_table),
		cmocka_unit_test(test_conn_new_invalid),
		cmocka_unit_test(test_conn_nonsocket_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
