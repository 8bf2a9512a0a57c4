// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virt-link.h"

int vfo_vlink_init(struct vfo_vlink *k, int fd)
{
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	k->tok = json_tokener_new();
	return k->tok ? 0 : -ENOMEM;
}

void vfo_vlink_fini(struct vfo_vlink *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	if (k->tok)
		json_tokener_free(k->tok);
	k->tok = NULL;
	free(k->buf);
	k->buf = NULL;
	k->len = k->cap = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int vfo_vlink_send(struct vfo_vlink *k, struct json_object *o)
{
	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	int r;

	if (!s)
		return -ENOMEM;
	r = send_all(k->fd, s, n);
	return r < 0 ? r : send_all(k->fd, "\n", 1);
}

int vfo_vlink_fill(struct vfo_vlink *k)
{
	bool got = false;

	for (;;) {
		ssize_t n;

		if (k->cap - k->len < 4096) {
			size_t cap = k->cap ? k->cap * 2 : 16384;
			char *nb = realloc(k->buf, cap);

			if (!nb)
				return -ENOMEM;
			k->buf = nb;
			k->cap = cap;
		}
		n = recv(k->fd, k->buf + k->len, k->cap - k->len, MSG_DONTWAIT);
		if (n > 0) {
			k->len += (size_t)n;
			got = true;
			continue;
		}
		if (n == 0)
			return got ? 1 : -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return got ? 1 : 0;
		return -errno;
	}
}

int vfo_vlink_next(struct vfo_vlink *k, struct json_object **out)
{
	char *nl = k->len ? memchr(k->buf, '\n', k->len) : NULL;
	size_t line;
	struct json_object *o;

	if (!nl)
		return 0;
	line = (size_t)(nl - k->buf);
	json_tokener_reset(k->tok);
	o = json_tokener_parse_ex(k->tok, k->buf, (int)line);
	memmove(k->buf, nl + 1, k->len - line - 1);
	k->len -= line + 1;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	*out = o;
	return 1;
}

const char *vfo_vlink_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t vfo_vlink_int(struct json_object *o, const char *key, int64_t def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return def;
	return json_object_get_int64(v);
}
