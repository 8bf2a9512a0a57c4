// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

/* Replies such as "vfs" on a big host are long; the daemon's own bound. */
#define MAX_LINE (4 * 1024 * 1024)

struct vfo_client {
	int fd;
	char *buf;
	size_t len, cap, consumed;
	int64_t next_id;
};

int vfo_client_open(struct vfo_client **out, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfo_client *c;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		vfo_close(&c->fd);
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

void vfo_client_close(struct vfo_client *c)
{
	if (!c)
		return;
	vfo_close(&c->fd);
	free(c->buf);
	free(c);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Next complete line, NUL-terminated, valid until the next call. */
static int read_line(struct vfo_client *c, char **line, size_t *linelen, int64_t deadline)
{
	if (c->consumed) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		int wait = -1;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*line = c->buf;
			*linelen = (size_t)(nl - c->buf);
			c->consumed = *linelen + 1;
			return 0;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *p;

			if (cap > MAX_LINE)
				return -EMSGSIZE;
			p = realloc(c->buf, cap);
			if (!p)
				return -ENOMEM;
			c->buf = p;
			c->cap = cap;
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
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		c->len += (size_t)n;
	}
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : vfo_now_ms() + timeout_ms;
}

static int next_msg(struct vfo_client *c, int64_t deadline, struct vfo_msg *msg)
{
	for (;;) {
		struct vfo_proto_err perr = { 0 };
		size_t len = 0;
		char *line = NULL;
		int rc = read_line(c, &line, &len, deadline);

		if (rc < 0)
			return rc;
		rc = vfo_proto_parse_line(line, len, msg, &perr);
		vfo_proto_err_release(&perr);
		if (rc == -ENODATA)
			continue;
		return rc < 0 ? -EBADMSG : 0;
	}
}

int vfo_client_next(struct vfo_client *c, int timeout_ms, struct vfo_msg *msg)
{
	return next_msg(c, deadline_of(timeout_ms), msg);
}

int vfo_client_call(struct vfo_client *c, const char *cmd, struct json_object *args, int timeout_ms,
		    struct json_object **result, struct vfo_proto_err *err)
{
	int64_t deadline = deadline_of(timeout_ms), id = ++c->next_id;
	struct json_object *jid = json_object_new_int64(id);
	size_t len;
	char *line;
	int rc;

	*result = NULL;
	line = vfo_proto_build_request(jid, cmd, args, &len);
	json_object_put(jid);
	if (!line)
		return -errno;
	rc = send_all(c->fd, line, len);
	free(line);
	if (rc < 0)
		return rc;
	for (;;) {
		struct vfo_msg msg = { 0 };

		rc = next_msg(c, deadline, &msg);
		if (rc < 0)
			return rc;
		if ((msg.type == VFO_MSG_REPLY || msg.type == VFO_MSG_ERROR) &&
		    json_object_is_type(msg.id, json_type_int) &&
		    json_object_get_int64(msg.id) == id) {
			if (msg.type == VFO_MSG_REPLY) {
				*result = json_object_get(msg.result);
				rc = 0;
			} else {
				vfo_proto_err_set(err, msg.err_code, "%s", msg.err_message);
				rc = -EREMOTEIO;
			}
			vfo_msg_release(&msg);
			return rc;
		}
		/* An error about a line we could not have sent wrongly (id
		 * null) still answers us: the daemon refused the request. */
		if (msg.type == VFO_MSG_ERROR && json_object_is_type(msg.id, json_type_null)) {
			vfo_proto_err_set(err, msg.err_code, "%s", msg.err_message);
			vfo_msg_release(&msg);
			return -EREMOTEIO;
		}
		vfo_msg_release(&msg);
	}
}
