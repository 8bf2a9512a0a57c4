// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Protocol messages: parsing and validation of one line, the builders, and
 * the command dispatcher. Pure: no I/O, so unit tests and the fuzzer drive
 * it directly. The framing lives in proto-conn.c.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

/* Deep enough for real arguments, shallow enough that json-c's recursion
 * in parse and free stays cheap on hostile input. */
#define PROTO_MAX_DEPTH 16

static const struct {
	const char *name;
	int err;
} proto_codes[VFO_PROTO__MAX] = {
	[VFO_PROTO_OK] = { "ok", 0 },
	[VFO_PROTO_BAD_JSON] = { "bad-json", EBADMSG },
	[VFO_PROTO_TOO_LONG] = { "too-long", EMSGSIZE },
	[VFO_PROTO_BAD_REQUEST] = { "bad-request", EPROTO },
	[VFO_PROTO_UNKNOWN_CMD] = { "unknown-command", EOPNOTSUPP },
	[VFO_PROTO_BAD_ARGS] = { "bad-args", EINVAL },
	[VFO_PROTO_DENIED] = { "denied", EACCES },
	[VFO_PROTO_BUSY] = { "busy", EBUSY },
	[VFO_PROTO_RATE_LIMITED] = { "rate-limited", EAGAIN },
	[VFO_PROTO_NOT_FOUND] = { "not-found", ENOENT },
	[VFO_PROTO_EXISTS] = { "exists", EEXIST },
	[VFO_PROTO_TIMEOUT] = { "timeout", ETIMEDOUT },
	[VFO_PROTO_UNSUPPORTED] = { "unsupported", EPROTONOSUPPORT },
	[VFO_PROTO_INTERNAL] = { "internal", EIO },
};

const char *vfo_proto_code_str(enum vfo_proto_code code)
{
	if ((unsigned int)code >= VFO_PROTO__MAX)
		code = VFO_PROTO_INTERNAL;
	return proto_codes[code].name;
}

enum vfo_proto_code vfo_proto_code_from_str(const char *s)
{
	size_t i;

	/* From 1: "ok" is no error code, so it cannot arrive as one. */
	for (i = 1; s && i < VFO_PROTO__MAX; i++)
		if (!strcmp(s, proto_codes[i].name))
			return i;
	return VFO_PROTO_INTERNAL;
}

int vfo_proto_code_to_errno(enum vfo_proto_code code)
{
	if ((unsigned int)code >= VFO_PROTO__MAX)
		return EIO;
	return proto_codes[code].err;
}

enum vfo_proto_code vfo_proto_code_from_errno(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	if (err == 0)
		return VFO_PROTO_OK;
	/* Aliases handlers commonly return for the same meaning. */
	switch (err) {
	case EPERM:
		return VFO_PROTO_DENIED;
	case ENODEV:
	case ESRCH:
		return VFO_PROTO_NOT_FOUND;
	case ENOSPC:
		return VFO_PROTO_BUSY;
	}
	for (i = 1; i < VFO_PROTO__MAX; i++)
		if (proto_codes[i].err == err)
			return i;
	return VFO_PROTO_INTERNAL;
}

void vfo_proto_err_set(struct vfo_proto_err *err, enum vfo_proto_code code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void vfo_proto_err_release(struct vfo_proto_err *err)
{
	if (!err)
		return;
	json_object_put(err->id);
	err->id = NULL;
	err->code = VFO_PROTO_OK;
	err->message[0] = '\0';
}

void vfo_msg_release(struct vfo_msg *msg)
{
	if (!msg)
		return;
	json_object_put(msg->root);
	memset(msg, 0, sizeof(*msg));
}

bool vfo_proto_id_valid(struct json_object *id)
{
	return json_object_is_type(id, json_type_int) || json_object_is_type(id, json_type_string);
}

/* A string member usable as a C string: the wire allows \u0000, C does not. */
static const char *c_string(struct json_object *o)
{
	const char *s;

	if (!json_object_is_type(o, json_type_string))
		return NULL;
	s = json_object_get_string(o);
	if (strlen(s) != (size_t)json_object_get_string_len(o))
		return NULL;
	return s;
}

static bool is_blank(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
			return false;
	return true;
}

static struct json_object *parse_json(const char *buf, size_t len, struct vfo_proto_err *err)
{
	enum json_tokener_error jerr;
	struct json_object *obj;
	struct json_tokener *tok;
	size_t end;

	if (memchr(buf, '\0', len)) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_JSON, "NUL byte in line");
		return NULL;
	}
	if (len > INT32_MAX) {
		vfo_proto_err_set(err, VFO_PROTO_TOO_LONG, "line too long");
		return NULL;
	}
	tok = json_tokener_new_ex(PROTO_MAX_DEPTH);
	if (!tok) {
		vfo_proto_err_set(err, VFO_PROTO_INTERNAL, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!obj && jerr == json_tokener_continue) {
		/* End of input: the NUL lets a bare number complete. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (!obj && jerr == json_tokener_success) {
		/* JSON null is json-c's NULL object. */
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST, "message must be a JSON object");
		return NULL;
	}
	if (!obj) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_JSON, "invalid JSON: %s",
				  json_tokener_error_desc(jerr));
		return NULL;
	}
	/* One value per line: {"a":1} {"b":2} is an error, not two. */
	if (end < len && !is_blank(buf + end, len - end)) {
		json_object_put(obj);
		vfo_proto_err_set(err, VFO_PROTO_BAD_JSON, "trailing data after JSON value");
		return NULL;
	}
	return obj;
}

static int parse_error_obj(struct json_object *e, struct vfo_msg *out, struct vfo_proto_err *err)
{
	struct json_object *code = NULL, *message = NULL;

	if (!json_object_is_type(e, json_type_object)) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST, "\"error\" must be an object");
		return -EPROTO;
	}
	json_object_object_get_ex(e, "code", &code);
	json_object_object_get_ex(e, "message", &message);
	out->err_code_str = c_string(code);
	if (!out->err_code_str) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST, "error \"code\" must be a string");
		return -EPROTO;
	}
	if (message && !json_object_is_type(message, json_type_string)) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST, "error \"message\" must be a string");
		return -EPROTO;
	}
	out->err_code = vfo_proto_code_from_str(out->err_code_str);
	out->err_message = message ? json_object_get_string(message) : "";
	return 0;
}

static int classify(struct json_object *root, struct vfo_msg *out, struct vfo_proto_err *err)
{
	struct json_object *id = NULL, *cmd = NULL, *args = NULL;
	struct json_object *result = NULL, *error = NULL, *event = NULL;
	bool has_id, has_cmd, has_result, has_error, has_event;
	int kinds;

	has_id = json_object_object_get_ex(root, "id", &id);
	has_cmd = json_object_object_get_ex(root, "cmd", &cmd);
	json_object_object_get_ex(root, "args", &args);
	has_result = json_object_object_get_ex(root, "result", &result);
	has_error = json_object_object_get_ex(root, "error", &error);
	has_event = json_object_object_get_ex(root, "event", &event);

	kinds = has_cmd + has_result + has_error + has_event;
	if (kinds != 1) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST,
				  kinds ? "message mixes cmd, result, error and event" :
					  "message has no cmd, result, error or event");
		if (has_cmd && vfo_proto_id_valid(id))
			err->id = json_object_get(id);
		return -EPROTO;
	}

	if (has_event) {
		out->type = VFO_MSG_EVENT;
		out->event = c_string(event);
		if (!out->event || !out->event[0]) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST,
					  "\"event\" must be a non-empty string");
			return -EPROTO;
		}
		if (has_id) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST, "an event carries no id");
			return -EPROTO;
		}
		return 0;
	}

	out->type = has_cmd ? VFO_MSG_REQUEST : has_result ? VFO_MSG_REPLY : VFO_MSG_ERROR;
	/* Only error replies may carry a null id: to unparsable requests. */
	if (!vfo_proto_id_valid(id) &&
	    !(out->type == VFO_MSG_ERROR && has_id && json_object_is_type(id, json_type_null))) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST,
				  has_id ? "\"id\" must be an integer or a string" :
					   "missing \"id\"");
		return -EPROTO;
	}
	out->id = id;

	switch (out->type) {
	case VFO_MSG_REQUEST:
		/* From here on the error reply can echo the id. */
		err->id = json_object_get(id);
		out->cmd = c_string(cmd);
		if (!out->cmd || !out->cmd[0]) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST,
					  "\"cmd\" must be a non-empty string");
			return -EPROTO;
		}
		if (args && !json_object_is_type(args, json_type_object)) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "\"args\" must be an object");
			return -EINVAL;
		}
		if (!args) {
			/* Handlers always get an object; root owns it. */
			args = json_object_new_object();
			if (!args || json_object_object_add(root, "args", args)) {
				json_object_put(args);
				vfo_proto_err_set(err, VFO_PROTO_INTERNAL, "out of memory");
				return -ENOMEM;
			}
		}
		json_object_put(err->id);
		err->id = NULL;
		out->args = args;
		return 0;
	case VFO_MSG_REPLY:
		if (!json_object_is_type(result, json_type_object)) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST,
					  "\"result\" must be an object");
			return -EPROTO;
		}
		out->result = result;
		return 0;
	default:
		return parse_error_obj(error, out, err);
	}
}

int vfo_proto_parse_line(const char *buf, size_t len, struct vfo_msg *out,
			 struct vfo_proto_err *err)
{
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	err->code = VFO_PROTO_OK;
	err->message[0] = '\0';
	err->id = NULL;

	if (is_blank(buf, len))
		return -ENODATA;
	root = parse_json(buf, len, err);
	if (!root)
		return -vfo_proto_code_to_errno(err->code);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		vfo_proto_err_set(err, VFO_PROTO_BAD_REQUEST, "message must be a JSON object");
		return -EPROTO;
	}
	ret = classify(root, out, err);
	if (ret < 0) {
		enum vfo_msg_type type = out->type;

		json_object_put(root);
		memset(out, 0, sizeof(*out));
		out->type = type;
		return ret;
	}
	out->root = root;
	return 0;
}

/* ---- builders ---------------------------------------------------------- */

static char *finish(struct json_object *root, size_t *lenp)
{
	const char *s;
	size_t len;
	char *line;

	s = json_object_to_json_string_length(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s) {
		json_object_put(root);
		errno = ENOMEM;
		return NULL;
	}
	line = malloc(len + 2);
	if (line) {
		memcpy(line, s, len);
		line[len] = '\n';
		line[len + 1] = '\0';
		if (lenp)
			*lenp = len + 1;
	} else {
		errno = ENOMEM;
	}
	json_object_put(root);
	return line;
}

/* Borrow val into root under key: the caller keeps its own reference. */
static int add_ref(struct json_object *root, const char *key, struct json_object *val)
{
	if (json_object_object_add(root, key, json_object_get(val))) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int add_new(struct json_object *root, const char *key, struct json_object *val)
{
	if (!val || json_object_object_add(root, key, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static char *fail(struct json_object *root, int err)
{
	json_object_put(root);
	errno = err;
	return NULL;
}

char *vfo_proto_build_request(struct json_object *id, const char *cmd, struct json_object *args,
			      size_t *lenp)
{
	struct json_object *root;

	if (!vfo_proto_id_valid(id) || !cmd || !cmd[0] ||
	    (args && !json_object_is_type(args, json_type_object))) {
		errno = EINVAL;
		return NULL;
	}
	root = json_object_new_object();
	if (!root)
		return fail(NULL, ENOMEM);
	if (add_ref(root, "id", id) || add_new(root, "cmd", json_object_new_string(cmd)) ||
	    (args ? add_ref(root, "args", args) : add_new(root, "args", json_object_new_object())))
		return fail(root, ENOMEM);
	return finish(root, lenp);
}

char *vfo_proto_build_reply(struct json_object *id, struct json_object *result, size_t *lenp)
{
	struct json_object *root;

	if (!vfo_proto_id_valid(id) || (result && !json_object_is_type(result, json_type_object))) {
		errno = EINVAL;
		return NULL;
	}
	root = json_object_new_object();
	if (!root)
		return fail(NULL, ENOMEM);
	if (add_ref(root, "id", id) || (result ? add_ref(root, "result", result) :
						 add_new(root, "result", json_object_new_object())))
		return fail(root, ENOMEM);
	return finish(root, lenp);
}

char *vfo_proto_build_error(struct json_object *id, enum vfo_proto_code code, const char *message,
			    size_t *lenp)
{
	struct json_object *root, *e;

	/* NULL or null id: the request could not be read far enough. */
	if (id && !json_object_is_type(id, json_type_null) && !vfo_proto_id_valid(id)) {
		errno = EINVAL;
		return NULL;
	}
	if (code == VFO_PROTO_OK || (unsigned int)code >= VFO_PROTO__MAX)
		code = VFO_PROTO_INTERNAL;
	root = json_object_new_object();
	e = json_object_new_object();
	if (!root || !e) {
		json_object_put(e);
		return fail(root, ENOMEM);
	}
	if (add_ref(root, "id", id) || add_new(root, "error", e) ||
	    add_new(e, "code", json_object_new_string(vfo_proto_code_str(code))) ||
	    add_new(e, "message", json_object_new_string(message ? message : "")))
		return fail(root, ENOMEM);
	return finish(root, lenp);
}

char *vfo_proto_build_event(const char *event, struct json_object *fields, size_t *lenp)
{
	struct json_object *root;

	if (!event || !event[0] || (fields && !json_object_is_type(fields, json_type_object))) {
		errno = EINVAL;
		return NULL;
	}
	root = json_object_new_object();
	if (!root)
		return fail(NULL, ENOMEM);
	if (add_new(root, "event", json_object_new_string(event)))
		return fail(root, ENOMEM);
	if (fields) {
		json_object_object_foreach(fields, key, val) {
			if (!strcmp(key, "event") || !strcmp(key, "id"))
				continue;
			if (add_ref(root, key, val))
				return fail(root, ENOMEM);
		}
	}
	return finish(root, lenp);
}

/* ---- dispatch ---------------------------------------------------------- */

static const char *arg_type_str(enum vfo_arg_type t)
{
	switch (t) {
	case VFO_ARG_STRING:
		return "a string";
	case VFO_ARG_INT:
		return "an integer";
	case VFO_ARG_NUMBER:
		return "a number";
	case VFO_ARG_BOOL:
		return "a boolean";
	case VFO_ARG_OBJECT:
		return "an object";
	case VFO_ARG_ARRAY:
		return "an array";
	default:
		return "any value";
	}
}

static bool arg_type_ok(enum vfo_arg_type t, struct json_object *v)
{
	switch (t) {
	case VFO_ARG_STRING:
		return c_string(v) != NULL;
	case VFO_ARG_INT:
		return json_object_is_type(v, json_type_int);
	case VFO_ARG_NUMBER:
		/* json-c reads NaN and Infinity; no handler wants them. */
		return json_object_is_type(v, json_type_int) ||
		       (json_object_is_type(v, json_type_double) &&
			isfinite(json_object_get_double(v)));
	case VFO_ARG_BOOL:
		return json_object_is_type(v, json_type_boolean);
	case VFO_ARG_OBJECT:
		return json_object_is_type(v, json_type_object);
	case VFO_ARG_ARRAY:
		return json_object_is_type(v, json_type_array);
	default:
		return true;
	}
}

static const struct vfo_proto_arg *find_arg(const struct vfo_proto_arg *schema, const char *name)
{
	for (; schema && schema->name; schema++)
		if (!strcmp(schema->name, name))
			return schema;
	return NULL;
}

int vfo_proto_check_args(const struct vfo_proto_cmd *cmd, struct json_object *args,
			 struct vfo_proto_err *err)
{
	const struct vfo_proto_arg *a;
	struct json_object *v;

	if (args && !json_object_is_type(args, json_type_object)) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "\"args\" must be an object");
		return -EINVAL;
	}
	/* null counts as absent, so optional arguments can be nulled out. */
	for (a = cmd->args; a && a->name; a++) {
		v = args ? json_object_object_get(args, a->name) : NULL;
		if (!v) {
			if (!a->required)
				continue;
			vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "%s: missing argument '%s'",
					  cmd->name, a->name);
			return -EINVAL;
		}
		if (!arg_type_ok(a->type, v)) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "%s: argument '%s' must be %s",
					  cmd->name, a->name, arg_type_str(a->type));
			return -EINVAL;
		}
	}
	if (cmd->extra_args || !args)
		return 0;
	json_object_object_foreach(args, key, val) {
		(void)val;
		if (!find_arg(cmd->args, key)) {
			vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "%s: unknown argument '%.64s'",
					  cmd->name, key);
			return -EINVAL;
		}
	}
	return 0;
}

const struct vfo_proto_cmd *vfo_proto_find_cmd(const struct vfo_proto_table *t, const char *name)
{
	size_t i;

	for (i = 0; t && name && i < t->n_cmds; i++)
		if (!strcmp(t->cmds[i].name, name))
			return &t->cmds[i];
	return NULL;
}

static int error_line(struct json_object *id, const struct vfo_proto_err *err, char **reply,
		      size_t *lenp)
{
	*reply = vfo_proto_build_error(id, err->code, err->message, lenp);
	return *reply ? 0 : -ENOMEM;
}

int vfo_proto_dispatch(const struct vfo_proto_table *t, const struct vfo_msg *req, void *origin,
		       char **reply, size_t *lenp)
{
	struct vfo_proto_err err = { .code = VFO_PROTO_OK };
	struct json_object *result = NULL;
	const struct vfo_proto_cmd *cmd;
	struct vfo_proto_req r;
	int ret;

	*reply = NULL;
	if (req->type != VFO_MSG_REQUEST || !req->cmd)
		return -EINVAL;
	cmd = vfo_proto_find_cmd(t, req->cmd);
	if (!cmd || !cmd->handler) {
		/* Bounded echo: the name is peer-controlled. */
		vfo_proto_err_set(&err, VFO_PROTO_UNKNOWN_CMD, "unknown command '%.64s'", req->cmd);
		return error_line(req->id, &err, reply, lenp);
	}
	if (vfo_proto_check_args(cmd, req->args, &err) < 0)
		return error_line(req->id, &err, reply, lenp);

	r.id = req->id;
	r.cmd = req->cmd;
	r.args = req->args;
	r.origin = origin;
	ret = cmd->handler(t->ctx, &r, &result, &err);
	if (ret == VFO_PROTO_DEFERRED) {
		json_object_put(result);
		return 0;
	}
	if (ret < 0 || ret > 0) {
		json_object_put(result);
		if (ret > 0)
			ret = -EIO; /* a handler bug, not the peer's fault */
		if (err.code == VFO_PROTO_OK) {
			err.code = vfo_proto_code_from_errno(ret);
			snprintf(err.message, sizeof(err.message), "%s: %s", cmd->name,
				 strerror(-ret));
		}
		return error_line(req->id, &err, reply, lenp);
	}
	if (result && !json_object_is_type(result, json_type_object)) {
		json_object_put(result);
		vfo_proto_err_set(&err, VFO_PROTO_INTERNAL, "%s: handler returned a non-object",
				  cmd->name);
		return error_line(req->id, &err, reply, lenp);
	}
	*reply = vfo_proto_build_reply(req->id, result, lenp);
	json_object_put(result);
	return *reply ? 0 : -ENOMEM;
}

const char *vfo_proto_arg_str(struct json_object *args, const char *key, const char *def)
{
	const char *s = c_string(json_object_object_get(args, key));

	return s ? s : def;
}

int64_t vfo_proto_arg_int(struct json_object *args, const char *key, int64_t def)
{
	struct json_object *v = json_object_object_get(args, key);

	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : def;
}

bool vfo_proto_arg_bool(struct json_object *args, const char *key, bool def)
{
	struct json_object *v = json_object_object_get(args, key);

	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}
