// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Protocol connections: line framing over a non-blocking stream fd.
 *
 * Every peer is treated as hostile (the guest channel is untrusted), so
 * each resource a peer can make us spend has a bound: input memory by the
 * line limit, output memory by the queue limit (a peer that stops reading
 * is dropped rather than allowed to stall or bloat the daemon), CPU by a
 * token bucket checked before a line is parsed. Nothing here blocks and
 * nothing reads a clock: the owner passes now_ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "proto.h"

#define CONN_IN_MIN 4096
#define CONN_READ_CHUNK 16384
/* Token bucket arithmetic is in thousandths of a line. */
#define MILLI 1000

struct vfo_conn {
	int fd;
	bool is_sock;
	struct vfo_conn_cfg cfg;

	/* Partial input line; complete lines are handled in place. */
	char *in;
	size_t in_len, in_alloc;
	bool discarding; /* skipping the rest of an oversized line */
	bool eof;

	/* Output queue: bytes [out_head, out_head + out_len) of out. */
	char *out;
	size_t out_head, out_len, out_alloc;

	int64_t tokens; /* milli-lines */
	int64_t last_ms;
	bool throttled; /* the rate-limited error was sent */
	unsigned int excess; /* lines dropped since the last accepted one */

	enum vfo_conn_close_reason reason;
	int err;
	struct vfo_conn_stats st;
};

void vfo_conn_cfg_init(struct vfo_conn_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_line = VFO_CONN_DEFAULT_MAX_LINE;
	cfg->max_queue = VFO_CONN_DEFAULT_MAX_QUEUE;
	cfg->rate = VFO_CONN_DEFAULT_RATE;
	cfg->burst = VFO_CONN_DEFAULT_BURST;
	cfg->flood_max = VFO_CONN_DEFAULT_FLOOD_MAX;
	cfg->read_budget = VFO_CONN_DEFAULT_READ_BUDGET;
}

const char *vfo_conn_close_reason_str(enum vfo_conn_close_reason r)
{
	switch (r) {
	case VFO_CONN_OPEN:
		return "open";
	case VFO_CONN_EOF:
		return "closed by peer";
	case VFO_CONN_IO_ERROR:
		return "I/O error";
	case VFO_CONN_QUEUE_FULL:
		return "peer not reading (output queue full)";
	case VFO_CONN_FLOOD:
		return "peer flooding";
	case VFO_CONN_CLOSED:
		return "closed locally";
	}
	return "unknown";
}

struct vfo_conn *vfo_conn_new(int fd, const struct vfo_conn_cfg *cfg, int64_t now_ms)
{
	struct vfo_conn *c;
	struct stat stb;
	int fl;

	if (fd < 0 || !cfg || !cfg->max_line || !cfg->max_queue) {
		errno = EINVAL;
		return NULL;
	}
	if (fstat(fd, &stb) < 0)
		return NULL;
	/* The whole point is never to block, whatever the owner did. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->is_sock = S_ISSOCK(stb.st_mode);
	c->cfg = *cfg;
	if (!c->cfg.read_budget)
		c->cfg.read_budget = VFO_CONN_DEFAULT_READ_BUDGET;
	if (!c->cfg.burst)
		c->cfg.burst = 1;
	c->tokens = (int64_t)c->cfg.burst * MILLI;
	c->last_ms = now_ms;
	return c;
}

void vfo_conn_free(struct vfo_conn *c)
{
	if (!c)
		return;
	vfo_close(&c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

int vfo_conn_fd(const struct vfo_conn *c)
{
	return c->fd;
}

void *vfo_conn_opaque(const struct vfo_conn *c)
{
	return c->cfg.opaque;
}

bool vfo_conn_is_closed(const struct vfo_conn *c)
{
	return c->reason != VFO_CONN_OPEN;
}

enum vfo_conn_close_reason vfo_conn_close_reason(const struct vfo_conn *c)
{
	return c->reason;
}

int vfo_conn_errno(const struct vfo_conn *c)
{
	return c->reason == VFO_CONN_IO_ERROR ? c->err : 0;
}

bool vfo_conn_want_write(const struct vfo_conn *c)
{
	return !vfo_conn_is_closed(c) && c->out_len > 0;
}

bool vfo_conn_want_read(const struct vfo_conn *c)
{
	return !vfo_conn_is_closed(c) && !c->eof;
}

void vfo_conn_get_stats(const struct vfo_conn *c, struct vfo_conn_stats *st)
{
	*st = c->st;
	st->queued = c->out_len;
}

static void conn_shut(struct vfo_conn *c, enum vfo_conn_close_reason r, int err)
{
	if (c->reason != VFO_CONN_OPEN)
		return;
	c->reason = r;
	c->err = err;
	/* Nothing more will be read or written: give the memory back now. */
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_alloc = 0;
	c->out_head = c->out_len = c->out_alloc = 0;
}

void vfo_conn_close(struct vfo_conn *c)
{
	conn_shut(c, VFO_CONN_CLOSED, 0);
}

static int conn_status(const struct vfo_conn *c)
{
	return vfo_conn_is_closed(c) ? -ECONNRESET : 0;
}

/* ---- output ------------------------------------------------------------ */

static ssize_t conn_write(struct vfo_conn *c, const char *buf, size_t len)
{
	ssize_t n;

	if (c->is_sock) {
		/* MSG_NOSIGNAL: a vanished peer is EPIPE, not SIGPIPE. */
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0 || errno != ENOTSOCK)
			return n;
		c->is_sock = false;
	}
	return write(c->fd, buf, len);
}

/* Write what the fd takes now; returns bytes written or -1 on close. */
static ssize_t conn_push(struct vfo_conn *c, const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = conn_write(c, buf + done, len - done);
		if (n > 0) {
			done += n;
			c->st.tx_bytes += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_shut(c, VFO_CONN_IO_ERROR, n < 0 ? errno : EIO);
		return -1;
	}
	return done;
}

static int queue_append(struct vfo_conn *c, const char *buf, size_t len)
{
	size_t need;
	char *p;

	if (c->out_len + len > c->cfg.max_queue) {
		conn_shut(c, VFO_CONN_QUEUE_FULL, 0);
		return -ECONNRESET;
	}
	if (c->out_head + c->out_len + len > c->out_alloc && c->out_head) {
		memmove(c->out, c->out + c->out_head, c->out_len);
		c->out_head = 0;
	}
	need = c->out_len + len;
	if (need > c->out_alloc) {
		size_t n = c->out_alloc ? c->out_alloc : CONN_IN_MIN;

		while (n < need)
			n *= 2;
		p = realloc(c->out, n);
		if (!p) {
			conn_shut(c, VFO_CONN_IO_ERROR, ENOMEM);
			return -ECONNRESET;
		}
		c->out = p;
		c->out_alloc = n;
	}
	memcpy(c->out + c->out_head + c->out_len, buf, len);
	c->out_len += len;
	if (c->out_len > c->st.max_queued)
		c->st.max_queued = c->out_len;
	return 0;
}

int vfo_conn_send(struct vfo_conn *c, const char *line, size_t len)
{
	ssize_t n = 0;

	if (vfo_conn_is_closed(c))
		return -ECONNRESET;
	if (!len || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		return -EINVAL;
	/* Keep order: only write directly when nothing is waiting. */
	if (!c->out_len) {
		n = conn_push(c, line, len);
		if (n < 0)
			return -ECONNRESET;
	}
	if ((size_t)n < len)
		return queue_append(c, line + n, len - n);
	return 0;
}

int vfo_conn_on_writable(struct vfo_conn *c)
{
	ssize_t n;

	if (vfo_conn_is_closed(c))
		return -ECONNRESET;
	if (c->out_len) {
		n = conn_push(c, c->out + c->out_head, c->out_len);
		if (n < 0)
			return -ECONNRESET;
		c->out_head += n;
		c->out_len -= n;
		if (!c->out_len)
			c->out_head = 0;
	}
	if (c->eof && !c->out_len)
		conn_shut(c, VFO_CONN_EOF, 0);
	return conn_status(c);
}

static int send_line(struct vfo_conn *c, char *line, size_t len)
{
	int ret;

	if (!line)
		return vfo_conn_is_closed(c) ? -ECONNRESET : -errno;
	ret = vfo_conn_send(c, line, len);
	free(line);
	return ret;
}

int vfo_conn_send_request(struct vfo_conn *c, struct json_object *id, const char *cmd,
			  struct json_object *args)
{
	size_t len = 0;

	char *line = vfo_proto_build_request(id, cmd, args, &len);

	return send_line(c, line, len);
}

int vfo_conn_send_reply(struct vfo_conn *c, struct json_object *id, struct json_object *result)
{
	size_t len = 0;

	char *line = vfo_proto_build_reply(id, result, &len);

	return send_line(c, line, len);
}

int vfo_conn_send_error(struct vfo_conn *c, struct json_object *id, enum vfo_proto_code code,
			const char *message)
{
	size_t len = 0;

	char *line = vfo_proto_build_error(id, code, message, &len);

	return send_line(c, line, len);
}

int vfo_conn_send_event(struct vfo_conn *c, const char *event, struct json_object *fields)
{
	size_t len = 0;

	char *line = vfo_proto_build_event(event, fields, &len);

	return send_line(c, line, len);
}

/* ---- input ------------------------------------------------------------- */

/*
 * One token per complete line, blank and oversized ones included, taken
 * before any parsing so a flood costs a memchr per line and no more. The
 * first line over budget is told so; the rest are dropped silently, and a
 * stretch of more than flood_max dropped lines ends the connection.
 */
static bool take_token(struct vfo_conn *c, int64_t now_ms)
{
	int64_t cap = (int64_t)c->cfg.burst * MILLI;
	int64_t elapsed = now_ms - c->last_ms;

	if (!c->cfg.rate)
		return true;
	/* A clock stepping back must not mint tokens when it returns. */
	if (elapsed > 0) {
		/* Clamped so elapsed * rate cannot overflow. */
		if (elapsed > 1000000000)
			elapsed = 1000000000;
		c->tokens += elapsed * c->cfg.rate;
		if (c->tokens > cap)
			c->tokens = cap;
		c->last_ms = now_ms;
	}
	if (c->tokens >= MILLI) {
		c->tokens -= MILLI;
		c->throttled = false;
		c->excess = 0;
		return true;
	}
	c->st.rate_dropped++;
	c->excess++;
	if (c->cfg.flood_max && c->excess > c->cfg.flood_max) {
		conn_shut(c, VFO_CONN_FLOOD, 0);
		return false;
	}
	if (!c->throttled) {
		char msg[96];

		c->throttled = true;
		snprintf(msg, sizeof(msg), "rate limit of %u messages/s exceeded, dropping",
			 c->cfg.rate);
		vfo_conn_send_error(c, NULL, VFO_PROTO_RATE_LIMITED, msg);
	}
	return false;
}

static void handle_too_long(struct vfo_conn *c, int64_t now_ms)
{
	char msg[96];

	c->st.rx_lines++;
	c->st.too_long++;
	if (!take_token(c, now_ms))
		return;
	snprintf(msg, sizeof(msg), "line exceeds %zu bytes, discarded", c->cfg.max_line);
	vfo_conn_send_error(c, NULL, VFO_PROTO_TOO_LONG, msg);
}

static void handle_request(struct vfo_conn *c, struct vfo_msg *msg)
{
	size_t len = 0;
	char *reply;

	if (!c->cfg.table) {
		vfo_conn_send_error(c, msg->id, VFO_PROTO_UNKNOWN_CMD,
				    "this endpoint takes no commands");
		return;
	}
	c->st.dispatched++;
	if (vfo_proto_dispatch(c->cfg.table, msg, c, &reply, &len) < 0) {
		vfo_conn_send_error(c, msg->id, VFO_PROTO_INTERNAL, "out of memory");
		return;
	}
	if (reply)
		send_line(c, reply, len);
}

static void handle_line(struct vfo_conn *c, const char *buf, size_t len, int64_t now_ms)
{
	struct vfo_proto_err err;
	struct vfo_msg msg;
	int ret;

	c->st.rx_lines++;
	if (!take_token(c, now_ms))
		return;
	ret = vfo_proto_parse_line(buf, len, &msg, &err);
	if (ret == -ENODATA)
		return;
	if (ret < 0) {
		c->st.bad_lines++;
		/* Never answer a reply or an event: no error ping-pong. */
		if (msg.type != VFO_MSG_REPLY && msg.type != VFO_MSG_ERROR &&
		    msg.type != VFO_MSG_EVENT)
			vfo_conn_send_error(c, err.id, err.code, err.message);
		vfo_proto_err_release(&err);
		return;
	}
	if (msg.type == VFO_MSG_REQUEST && (c->cfg.table || !c->cfg.on_msg))
		handle_request(c, &msg);
	else if (c->cfg.on_msg)
		c->cfg.on_msg(c, &msg, c->cfg.opaque);
	vfo_msg_release(&msg);
}

static int in_append(struct vfo_conn *c, const char *buf, size_t len)
{
	size_t need = c->in_len + len;
	char *p;

	if (need > c->in_alloc) {
		size_t n = c->in_alloc ? c->in_alloc : CONN_IN_MIN;

		while (n < need)
			n *= 2;
		/* need <= max_line here, so this bounds the buffer. */
		if (n > c->cfg.max_line)
			n = c->cfg.max_line;
		p = realloc(c->in, n);
		if (!p) {
			conn_shut(c, VFO_CONN_IO_ERROR, ENOMEM);
			return -ENOMEM;
		}
		c->in = p;
		c->in_alloc = n;
	}
	memcpy(c->in + c->in_len, buf, len);
	c->in_len += len;
	return 0;
}

int vfo_conn_feed(struct vfo_conn *c, const void *data, size_t len, int64_t now_ms)
{
	const char *p = data, *nl;
	size_t n;

	if (vfo_conn_is_closed(c))
		return -ECONNRESET;
	c->st.rx_bytes += len;
	while (len && !vfo_conn_is_closed(c)) {
		nl = memchr(p, '\n', len);
		if (c->discarding) {
			if (!nl)
				break;
			c->discarding = false;
		} else if (nl) {
			n = nl - p;
			if (c->in_len + n > c->cfg.max_line) {
				handle_too_long(c, now_ms);
			} else if (!c->in_len) {
				handle_line(c, p, n, now_ms);
			} else if (!in_append(c, p, n)) {
				handle_line(c, c->in, c->in_len, now_ms);
			}
			c->in_len = 0;
		} else if (c->in_len + len > c->cfg.max_line) {
			/* Reported now, before the rest of it even arrives. */
			handle_too_long(c, now_ms);
			c->in_len = 0;
			c->discarding = true;
			break;
		} else {
			in_append(c, p, len);
			break;
		}
		len -= nl + 1 - p;
		p = nl + 1;
	}
	return conn_status(c);
}

int vfo_conn_on_readable(struct vfo_conn *c, int64_t now_ms)
{
	char buf[CONN_READ_CHUNK];
	size_t total = 0;
	ssize_t n;

	while (!vfo_conn_is_closed(c) && !c->eof && total < c->cfg.read_budget) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			total += n;
			vfo_conn_feed(c, buf, n, now_ms);
			if ((size_t)n < sizeof(buf))
				break;
		} else if (n == 0) {
			/* An unterminated last line is not a message. */
			c->eof = true;
			c->in_len = 0;
			c->discarding = false;
			if (!c->out_len)
				conn_shut(c, VFO_CONN_EOF, 0);
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else {
			conn_shut(c, VFO_CONN_IO_ERROR, errno);
		}
	}
	return conn_status(c);
}
