// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Process-wide logging. The logging path formats into stack buffers and
 * emits one write(2) per line, so it never allocates, lines from several
 * processes sharing a pipe do not interleave, and it is usable when memory
 * is short (which is often when something worth logging happened).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>

#include "log.h"

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static struct {
	char ident[64];
	enum vfo_log_target target;
	int level; /* what is emitted now */
	int base_level; /* what the configuration asked for */
	bool syslog_open;
	vfo_log_sink_fn sink;
	void *sink_opaque;
} log_state = {
	.ident = "vfo",
	.target = VFO_LOG_TARGET_STDERR,
	.level = VFO_LOG_INFO,
	.base_level = VFO_LOG_INFO,
};

static int clamp_level(int level)
{
	if (level < 0)
		return 0;
	if (level > VFO_LOG_DEBUG)
		return VFO_LOG_DEBUG;
	return level;
}

/*
 * systemd sets $JOURNAL_STREAM to "dev:ino" of the stream it connected to
 * our stderr. Comparing with fstat(2) keeps a child whose stderr was
 * redirected (a test, a pipe to less) from emitting "<N>" prefixes.
 */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || !*env)
		return false;
	if (sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void vfo_log_init(const char *ident, enum vfo_log_target target, int level)
{
	vfo_log_fini();
	snprintf(log_state.ident, sizeof(log_state.ident), "%s", ident && *ident ? ident : "vfo");
	if (target == VFO_LOG_TARGET_AUTO)
		target = stderr_is_journal() ? VFO_LOG_TARGET_JOURNAL : VFO_LOG_TARGET_STDERR;
	log_state.target = target;
	vfo_log_set_level(level);
	if (target == VFO_LOG_TARGET_SYSLOG) {
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_state.syslog_open = true;
	}
}

void vfo_log_fini(void)
{
	if (log_state.syslog_open)
		closelog();
	log_state.syslog_open = false;
	log_state.target = VFO_LOG_TARGET_STDERR;
}

enum vfo_log_target vfo_log_get_target(void)
{
	return log_state.target;
}

void vfo_log_set_level(int level)
{
	log_state.level = log_state.base_level = clamp_level(level);
}

int vfo_log_get_level(void)
{
	return log_state.level;
}

void vfo_log_toggle_debug(void)
{
	if (log_state.level == VFO_LOG_DEBUG)
		log_state.level = log_state.base_level;
	else
		log_state.level = VFO_LOG_DEBUG;
}

int vfo_log_level_from_string(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} aliases[] = {
		{ "error", VFO_LOG_ERR },
		{ "warn", VFO_LOG_WARNING },
	};
	size_t i;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (i = 0; i < VFO_ARRAY_SIZE(level_names); i++)
		if (!strcasecmp(s, level_names[i]))
			return (int)i;
	for (i = 0; i < VFO_ARRAY_SIZE(aliases); i++)
		if (!strcasecmp(s, aliases[i].name))
			return aliases[i].level;
	return -EINVAL;
}

const char *vfo_log_level_to_string(int level)
{
	if (level < 0 || level >= (int)VFO_ARRAY_SIZE(level_names))
		return "invalid";
	return level_names[level];
}

bool vfo_log_enabled(int level)
{
	return level <= log_state.level;
}

void vfo_log_set_sink(vfo_log_sink_fn fn, void *opaque)
{
	log_state.sink = fn;
	log_state.sink_opaque = opaque;
}

/*
 * Control characters would let text we log on behalf of a peer (a guest,
 * a client) forge extra lines or "<N>" priorities in the journal.
 */
static void sanitize(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	for (; *s; s++)
		if (iscntrl((unsigned char)*s) && *s != '\t')
			*s = '?';
}

/* Format the message, marking a truncated one so nobody trusts its tail. */
static VFO_PRINTF(3, 0) void format_msg(char *buf, size_t size, const char *fmt, va_list ap)
{
	static const char marker[] = "...[truncated]";
	int n;

	n = vsnprintf(buf, size, fmt, ap);
	if (n < 0)
		snprintf(buf, size, "(bad log format: %s)", fmt);
	else if ((size_t)n >= size)
		memcpy(buf + size - sizeof(marker), marker, sizeof(marker));
	sanitize(buf);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void emit(int level, const char *comp, const char *msg)
{
	char line[VFO_LOG_LINE_MAX + 128];
	const char *sep = *comp ? ": " : "";
	int n;

	switch (log_state.target) {
	case VFO_LOG_TARGET_SYSLOG:
		syslog(level, "%s%s%s", comp, sep, msg);
		return;
	case VFO_LOG_TARGET_JOURNAL:
		n = snprintf(line, sizeof(line), "<%d>%s%s%s\n", level, comp, sep, msg);
		break;
	default:
		n = snprintf(line, sizeof(line), "%s[%ld]: %s%s%s: %s\n", log_state.ident,
			     (long)getpid(), comp, sep, vfo_log_level_to_string(level), msg);
		break;
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		/* Only an absurd ident or component gets here. */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(STDERR_FILENO, line, (size_t)n);
}

void vfo_logv(int level, const char *comp, const char *fmt, va_list ap)
{
	char msg[VFO_LOG_LINE_MAX];
	int saved_errno = errno; /* callers log, then return -errno */

	if (!vfo_log_enabled(level))
		return;
	level = clamp_level(level);
	if (!comp)
		comp = "";
	format_msg(msg, sizeof(msg), fmt, ap);
	if (log_state.sink)
		log_state.sink(level, comp, msg, log_state.sink_opaque);
	else
		emit(level, comp, msg);
	errno = saved_errno;
}

void vfo_log(int level, const char *comp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfo_logv(level, comp, fmt, ap);
	va_end(ap);
}
