/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfo wire protocol: one JSON object per '\n'-terminated line over a
 * stream (UNIX socket, virtio-serial port). docs/protocol.md is the
 * specification; this header is its C face in three layers:
 *
 *  1. messages: parse one line into a classified, type-checked vfo_msg, and
 *     build request/reply/error/event lines (pure, no I/O);
 *  2. dispatch: a const command table with an argument schema, so unknown
 *     commands and bad arguments are answered without reaching a handler;
 *  3. connections: framing over a non-blocking fd with bounded lines, an
 *     output queue with a high-water mark and a per-peer token bucket. No
 *     event loop knowledge: the owner polls the fd and toggles EPOLLOUT from
 *     vfo_conn_want_write(). Time is passed in so tests are deterministic.
 */
#ifndef VFO_PROTO_H
#define VFO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

/* Bumped on incompatible changes; exchanged by the "hello" command. */
#define VFO_PROTO_VERSION 1

/* ---- error codes ------------------------------------------------------- */

/*
 * Symbolic error codes carried as strings on the wire ("bad-json", ...).
 * Each maps to an errno so C callers keep the 0/-errno convention.
 */
enum vfo_proto_code {
	VFO_PROTO_OK = 0,
	VFO_PROTO_BAD_JSON, /* "bad-json": not JSON, NUL byte, bad UTF-8 */
	VFO_PROTO_TOO_LONG, /* "too-long": line above the socket's limit */
	VFO_PROTO_BAD_REQUEST, /* "bad-request": JSON, but not a valid message */
	VFO_PROTO_UNKNOWN_CMD, /* "unknown-command" */
	VFO_PROTO_BAD_ARGS, /* "bad-args": missing/unknown/mistyped args */
	VFO_PROTO_DENIED, /* "denied": peer not allowed to do this */
	VFO_PROTO_BUSY, /* "busy": resource busy, try again later */
	VFO_PROTO_RATE_LIMITED, /* "rate-limited": peer exceeded its budget */
	VFO_PROTO_NOT_FOUND, /* "not-found" */
	VFO_PROTO_EXISTS, /* "exists": conflicting state */
	VFO_PROTO_TIMEOUT, /* "timeout" */
	VFO_PROTO_UNSUPPORTED, /* "unsupported": e.g. protocol version */
	VFO_PROTO_INTERNAL, /* "internal": anything else */
	VFO_PROTO__MAX,
};

const char *vfo_proto_code_str(enum vfo_proto_code code);
/* Unknown strings map to VFO_PROTO_INTERNAL, so newer peers stay readable. */
enum vfo_proto_code vfo_proto_code_from_str(const char *s);
/* Positive errno for a code (EBADMSG, EMSGSIZE, ...); 0 for VFO_PROTO_OK. */
int vfo_proto_code_to_errno(enum vfo_proto_code code);
/* Code for a positive or negative errno; unknown ones are "internal". */
enum vfo_proto_code vfo_proto_code_from_errno(int err);

/* An error being reported: what went wrong and, if known, the request id. */
struct vfo_proto_err {
	enum vfo_proto_code code;
	char message[160];
	/* Owned reference to the offending request's id, or NULL. */
	struct json_object *id;
};

void vfo_proto_err_set(struct vfo_proto_err *err, enum vfo_proto_code code, const char *fmt, ...)
	VFO_PRINTF(3, 4);
/* Drops the id reference; the struct can be reused afterwards. */
void vfo_proto_err_release(struct vfo_proto_err *err);

/* ---- messages ---------------------------------------------------------- */

enum vfo_msg_type {
	VFO_MSG_NONE = 0,
	VFO_MSG_REQUEST, /* {"id", "cmd", "args"?} */
	VFO_MSG_REPLY, /* {"id", "result": {}} */
	VFO_MSG_ERROR, /* {"id", "error": {"code", "message"}} */
	VFO_MSG_EVENT, /* {"event", ...}: server-initiated, no id */
};

/*
 * A parsed message. Every pointer borrows from root, which the message owns;
 * take json_object_get() references to keep anything past vfo_msg_release().
 */
struct vfo_msg {
	enum vfo_msg_type type;
	struct json_object *root;
	struct json_object *id; /* int or string; null only in errors */
	const char *cmd; /* request */
	struct json_object *args; /* request: an object, never NULL */
	struct json_object *result; /* reply: an object */
	enum vfo_proto_code err_code; /* error */
	const char *err_code_str; /* error: as sent, possibly unknown */
	const char *err_message; /* error: "" if the peer sent none */
	const char *event; /* event name; its fields are in root */
};

void vfo_msg_release(struct vfo_msg *msg);

/*
 * Parse one line (without its '\n'; a trailing '\r' is tolerated as JSON
 * whitespace). Returns 0 with *out filled; -ENODATA for a blank line, which
 * is to be ignored; or a negative errno with err filled (code, message and,
 * when the line was a request with a usable id, err->id). Call
 * vfo_proto_err_release() in every case where err may have been filled.
 *
 * Replies and events with a bad shape are reported as errors too, but
 * *out->type tells the caller what was meant: never answer those (only
 * requests and unclassifiable lines get an error reply), otherwise two
 * peers could bounce errors forever.
 */
int vfo_proto_parse_line(const char *buf, size_t len, struct vfo_msg *out,
			 struct vfo_proto_err *err);

/*
 * Builders. Each returns a malloc'd NUL-terminated line ending in '\n'
 * (length in *lenp if not NULL), or NULL with errno set (EINVAL for a bad
 * id/name, ENOMEM). JSON arguments are borrowed, never consumed. Strings
 * are escaped by json-c, so a built line never contains a raw newline.
 */
char *vfo_proto_build_request(struct json_object *id, const char *cmd, struct json_object *args,
			      size_t *lenp);
char *vfo_proto_build_reply(struct json_object *id, struct json_object *result, size_t *lenp);
char *vfo_proto_build_error(struct json_object *id, enum vfo_proto_code code, const char *message,
			    size_t *lenp);
/* fields: extra top-level members; "event" and "id" in it are ignored. */
char *vfo_proto_build_event(const char *event, struct json_object *fields, size_t *lenp);

/* An id is a JSON integer or string (replies to garbage carry null). */
bool vfo_proto_id_valid(struct json_object *id);

/* ---- dispatch ---------------------------------------------------------- */

enum vfo_arg_type {
	VFO_ARG_ANY = 0,
	VFO_ARG_STRING, /* no embedded NUL: handlers use C strings */
	VFO_ARG_INT,
	VFO_ARG_NUMBER, /* int or double */
	VFO_ARG_BOOL,
	VFO_ARG_OBJECT,
	VFO_ARG_ARRAY,
};

struct vfo_proto_arg {
	const char *name;
	enum vfo_arg_type type;
	bool required;
};

/* What a handler sees; args is validated against the command's schema. */
struct vfo_proto_req {
	struct json_object *id;
	const char *cmd;
	struct json_object *args;
	void *origin; /* who asked: the vfo_conn for vfo_conn_* users */
};

/*
 * Handler return values: 0 with *result set (NULL means {}), or a negative
 * errno, with err filled through vfo_proto_err_set() (if left empty the code
 * comes from the errno), or VFO_PROTO_DEFERRED when the reply will be sent
 * later: the handler then keeps its own json_object_get() on req->id.
 */
#define VFO_PROTO_DEFERRED 1

typedef int (*vfo_proto_handler_fn)(void *ctx, const struct vfo_proto_req *req,
				    struct json_object **result, struct vfo_proto_err *err);

struct vfo_proto_cmd {
	const char *name;
	vfo_proto_handler_fn handler;
	/* Schema, terminated by { NULL }; NULL means "takes no arguments". */
	const struct vfo_proto_arg *args;
	/* Accept arguments the schema does not list (default: bad-args). */
	bool extra_args;
};

struct vfo_proto_table {
	const struct vfo_proto_cmd *cmds;
	size_t n_cmds;
	void *ctx; /* first argument of every handler */
};

/* Check args (an object, or NULL for none) against a schema. */
int vfo_proto_check_args(const struct vfo_proto_cmd *cmd, struct json_object *args,
			 struct vfo_proto_err *err);

const struct vfo_proto_cmd *vfo_proto_find_cmd(const struct vfo_proto_table *t, const char *name);

/*
 * Run a parsed request through the table. Returns 0 with *reply set to the
 * reply or error line to send (malloc'd), or 0 with *reply NULL when the
 * handler deferred; -ENOMEM if no line could be built.
 */
int vfo_proto_dispatch(const struct vfo_proto_table *t, const struct vfo_msg *req, void *origin,
		       char **reply, size_t *lenp);

/* Typed getters for validated args; absent or null gives the default. */
const char *vfo_proto_arg_str(struct json_object *args, const char *key, const char *def);
int64_t vfo_proto_arg_int(struct json_object *args, const char *key, int64_t def);
bool vfo_proto_arg_bool(struct json_object *args, const char *key, bool def);

/* ---- connections ------------------------------------------------------- */

#define VFO_CONN_DEFAULT_MAX_LINE (64 * 1024)
#define VFO_CONN_DEFAULT_MAX_QUEUE (1024 * 1024)
#define VFO_CONN_DEFAULT_RATE 50 /* messages per second */
#define VFO_CONN_DEFAULT_BURST 100 /* messages */
#define VFO_CONN_DEFAULT_FLOOD_MAX 1000 /* dropped lines before disconnect */
#define VFO_CONN_DEFAULT_READ_BUDGET (256 * 1024)

struct vfo_conn;

enum vfo_conn_close_reason {
	VFO_CONN_OPEN = 0,
	VFO_CONN_EOF, /* peer closed and everything queued was sent */
	VFO_CONN_IO_ERROR, /* read/write failed: vfo_conn_errno() */
	VFO_CONN_QUEUE_FULL, /* peer did not read: output above max_queue */
	VFO_CONN_FLOOD, /* peer kept sending far past its rate */
	VFO_CONN_CLOSED, /* vfo_conn_close() by the owner */
};

const char *vfo_conn_close_reason_str(enum vfo_conn_close_reason r);

/* Valid messages the table did not consume (replies, events, requests when
 * there is no table). msg is released after the call: take references. */
typedef void (*vfo_conn_msg_fn)(struct vfo_conn *c, struct vfo_msg *msg, void *opaque);

struct vfo_conn_cfg {
	size_t max_line; /* bytes per line, excluding '\n' */
	size_t max_queue; /* output bytes queued before the peer is dropped */
	unsigned int rate; /* lines per second refilled; 0: no limit */
	unsigned int burst; /* bucket size in lines */
	/* Over-budget lines in one throttled stretch before disconnecting;
	 * 0: never disconnect for flooding. */
	unsigned int flood_max;
	/* Bytes read per vfo_conn_on_readable(), so one peer cannot starve
	 * the others; the fd must be polled level-triggered. */
	size_t read_budget;
	const struct vfo_proto_table *table; /* may be NULL */
	vfo_conn_msg_fn on_msg; /* may be NULL */
	void *opaque;
};

struct vfo_conn_stats {
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t rx_lines; /* complete lines, oversized ones included */
	uint64_t bad_lines; /* unparsable or invalid messages */
	uint64_t too_long; /* oversized lines */
	uint64_t rate_dropped; /* lines dropped by the token bucket */
	uint64_t dispatched; /* requests run through the table */
	size_t queued; /* output bytes waiting now */
	size_t max_queued; /* high-water seen */
};

/* Fill cfg with the VFO_CONN_DEFAULT_* values and no table or callback. */
void vfo_conn_cfg_init(struct vfo_conn_cfg *cfg);

/*
 * Wrap a connected non-blocking fd; the connection owns it from now on
 * (closed by vfo_conn_free()). cfg is copied. NULL with errno on failure,
 * in which case the fd is left open.
 */
struct vfo_conn *vfo_conn_new(int fd, const struct vfo_conn_cfg *cfg, int64_t now_ms);
void vfo_conn_free(struct vfo_conn *c);

int vfo_conn_fd(const struct vfo_conn *c);
void *vfo_conn_opaque(const struct vfo_conn *c);

/*
 * Called by the owner when the fd is readable / writable. Both return 0
 * while the connection lives, or -ECONNRESET once it is closed (see
 * vfo_conn_close_reason()): the owner then unregisters and frees it.
 * Callbacks run from here must not free the connection; they may call
 * vfo_conn_close().
 */
int vfo_conn_on_readable(struct vfo_conn *c, int64_t now_ms);
int vfo_conn_on_writable(struct vfo_conn *c);

/* The input path without read(): what on_readable does with its bytes.
 * Lets tests and fuzzers choose the chunking. Same return values. */
int vfo_conn_feed(struct vfo_conn *c, const void *data, size_t len, int64_t now_ms);

/* Poll for EPOLLOUT only while this is true. */
bool vfo_conn_want_write(const struct vfo_conn *c);
/* False after EOF: stop polling EPOLLIN (it would fire forever). */
bool vfo_conn_want_read(const struct vfo_conn *c);
bool vfo_conn_is_closed(const struct vfo_conn *c);
enum vfo_conn_close_reason vfo_conn_close_reason(const struct vfo_conn *c);
/* Positive errno behind VFO_CONN_IO_ERROR, else 0. */
int vfo_conn_errno(const struct vfo_conn *c);
void vfo_conn_close(struct vfo_conn *c);
void vfo_conn_get_stats(const struct vfo_conn *c, struct vfo_conn_stats *st);

/*
 * Queue a complete line (must end in '\n') and write as much as the socket
 * takes now. 0, or -ECONNRESET if the connection is (now) closed, e.g.
 * because the queue passed max_queue.
 */
int vfo_conn_send(struct vfo_conn *c, const char *line, size_t len);
/* Build-and-send shorthands with the vfo_proto_build_* semantics. */
int vfo_conn_send_request(struct vfo_conn *c, struct json_object *id, const char *cmd,
			  struct json_object *args);
int vfo_conn_send_reply(struct vfo_conn *c, struct json_object *id, struct json_object *result);
int vfo_conn_send_error(struct vfo_conn *c, struct json_object *id, enum vfo_proto_code code,
			const char *message);
int vfo_conn_send_event(struct vfo_conn *c, const char *event, struct json_object *fields);

#endif
