// SPDX-License-Identifier: LGPL-2.1-or-later
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "state.h"

static VFO_PRINTF(3, 4) void set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int check_version(struct json_object *root, int max_version, char *why, size_t whylen)
{
	struct json_object *v;
	int64_t version;

	if (!json_object_object_get_ex(root, VFO_STATE_VERSION_KEY, &v)) {
		set_why(why, whylen, "no \"%s\" field", VFO_STATE_VERSION_KEY);
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_int)) {
		set_why(why, whylen, "\"%s\" is %s, not an integer", VFO_STATE_VERSION_KEY,
			json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	version = json_object_get_int64(v);
	if (version < 1) {
		set_why(why, whylen, "\"%s\" is %" PRId64 ", not positive", VFO_STATE_VERSION_KEY,
			version);
		return -EINVAL;
	}
	if (version > max_version) {
		set_why(why, whylen,
			"version %" PRId64 " is newer than %d, the newest this vfo knows", version,
			max_version);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int vfo_state_parse(const char *buf, size_t len, int max_version, struct json_object **out,
		    char *why, size_t whylen)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	struct json_object *root;
	size_t end;
	int ret;

	*out = NULL;
	if (len == 0) {
		set_why(why, whylen, "empty file");
		return -EINVAL;
	}
	if (len > VFO_STATE_MAX_SIZE) {
		set_why(why, whylen, "larger than %d bytes", VFO_STATE_MAX_SIZE);
		return -EINVAL;
	}
	/* json-c would stop at a NUL and call the rest trailing garbage. */
	if (memchr(buf, '\0', len)) {
		set_why(why, whylen, "contains a NUL byte");
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root) {
		if (jerr == json_tokener_continue)
			set_why(why, whylen, "incomplete JSON (truncated?)");
		else
			set_why(why, whylen, "invalid JSON near byte %zu: %s", end,
				json_tokener_error_desc(jerr));
		return -EINVAL;
	}
	while (end < len && strchr(" \t\r\n", buf[end]))
		end++;
	if (end < len) {
		set_why(why, whylen, "unexpected data after the JSON at byte %zu", end);
		ret = -EINVAL;
	} else if (!json_object_is_type(root, json_type_object)) {
		set_why(why, whylen, "top level is %s, not an object",
			json_type_to_name(json_object_get_type(root)));
		ret = -EINVAL;
	} else {
		ret = check_version(root, max_version, why, whylen);
	}
	if (ret < 0) {
		json_object_put(root);
		return ret;
	}
	*out = root;
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, ret = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Never overwrite an earlier corrupt copy: it may be the one that matters. */
static int move_aside(const char *path, struct vfo_state_info *info)
{
	long long now = (long long)time(NULL);
	char *dst = info->moved_to;
	struct stat st;
	int i, n;

	for (i = 0; i < 100; i++) {
		if (i == 0)
			n = snprintf(dst, sizeof(info->moved_to), "%s.corrupt-%lld", path, now);
		else
			n = snprintf(dst, sizeof(info->moved_to), "%s.corrupt-%lld.%d", path, now,
				     i);
		if (n < 0 || (size_t)n >= sizeof(info->moved_to))
			return -ENAMETOOLONG;
		if (lstat(dst, &st) == 0)
			continue;
		if (errno != ENOENT)
			return -errno;
		if (rename(path, dst) < 0)
			return -errno;
		info->moved_aside = true;
		fsync_dir_of(path); /* best effort: the rename is done */
		return 0;
	}
	return -EEXIST;
}

static int read_fd(int fd, size_t size, char **out, size_t *outlen)
{
	size_t cap = size + 1, len = 0;
	char *buf;
	ssize_t n;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	/* Read until EOF but never past the size limit plus one byte. */
	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int load_fd(int fd, const char *path, int max_version, struct json_object **out,
		   struct vfo_state_info *info)
{
	struct json_object *v;
	struct stat st;
	size_t len = 0;
	char *buf = NULL;
	int ret;

	if (fstat(fd, &st) < 0) {
		ret = -errno;
		vfo_err("state", "cannot stat state file %s: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		vfo_err("state", "state file %s is not a regular file; remove or rename it", path);
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
	}
	if (st.st_size > VFO_STATE_MAX_SIZE) {
		set_why(info->why, sizeof(info->why), "larger than %d bytes", VFO_STATE_MAX_SIZE);
		return -EINVAL;
	}
	ret = read_fd(fd, (size_t)st.st_size, &buf, &len);
	if (ret == -ENOMEM)
		return ret;
	if (ret < 0) {
		vfo_err("state",
			"cannot read state file %s: %s; it is left in place: check the disk and the file",
			path, strerror(-ret));
		return ret;
	}
	ret = vfo_state_parse(buf, len, max_version, out, info->why, sizeof(info->why));
	free(buf);
	if (ret == 0 && json_object_object_get_ex(*out, VFO_STATE_VERSION_KEY, &v))
		info->version = json_object_get_int(v);
	return ret;
}

int vfo_state_load(const char *path, int max_version, struct json_object **out,
		   struct vfo_state_info *info)
{
	struct vfo_state_info dummy;
	int fd, ret, err;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	/* O_NONBLOCK: a FIFO at path must not hang the daemon's start. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT) {
			info->fresh = true;
			vfo_info("state", "no state file %s: starting fresh", path);
			return ret;
		}
		vfo_err("state",
			"cannot open state file %s: %s; it is left in place: fix its ownership or permissions",
			path, strerror(-ret));
		return ret;
	}
	ret = load_fd(fd, path, max_version, out, info);
	close(fd);
	if (ret == -EPROTONOSUPPORT) {
		vfo_err("state",
			"state file %s was written by a newer vfo (%s); it is left in place: upgrade vfo, or move the file away to start with empty state",
			path, info->why);
		return ret;
	}
	if (ret != -EINVAL)
		return ret;

	err = move_aside(path, info);
	if (err < 0) {
		vfo_err("state",
			"state file %s is corrupt (%s) and could not be moved aside: %s; refusing to use or overwrite it: move it away by hand",
			path, info->why, strerror(-err));
		return err;
	}
	vfo_err("state",
		"state file %s is corrupt (%s); moved it to %s for inspection: state will be rebuilt from the system",
		path, info->why, info->moved_to);
	return -EINVAL;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int vfo_state_save(const char *path, int version, struct json_object *obj)
{
	char tmp[PATH_MAX];
	const char *text;
	int fd, ret, n;

	if (!obj || !json_object_is_type(obj, json_type_object) || version < 1)
		return -EINVAL;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (json_object_object_add(obj, VFO_STATE_VERSION_KEY, json_object_new_int(version)) < 0)
		return -ENOMEM;
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		vfo_err("state", "cannot create a temporary file for %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = write_all(fd, text, strlen(text));
	if (!ret)
		ret = write_all(fd, "\n", 1);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		vfo_err("state", "cannot write state file %s: %s; the previous one is kept", path,
			strerror(-ret));
		return ret;
	}
	ret = fsync_dir_of(path);
	if (ret < 0)
		vfo_err("state", "state file %s written but its directory could not be synced: %s",
			path, strerror(-ret));
	return ret;
}
