/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Process-wide logging. Messages carry a level (syslog numbering) and a
 * component tag ("loop", "netlink", "pool", ...). Output goes to stderr
 * (plain, for a terminal), to stderr with "<N>" prefixes (what journald
 * parses when the daemon runs under systemd), or to syslog(3).
 */
#ifndef VFO_LOG_H
#define VFO_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "util.h"

enum vfo_log_level {
	VFO_LOG_ERR = 3,
	VFO_LOG_WARNING = 4,
	VFO_LOG_NOTICE = 5,
	VFO_LOG_INFO = 6,
	VFO_LOG_DEBUG = 7,
};

enum vfo_log_target {
	VFO_LOG_TARGET_AUTO, /* journal prefixes if $JOURNAL_STREAM, else stderr */
	VFO_LOG_TARGET_STDERR, /* "ident[pid]: comp: LEVEL: message" */
	VFO_LOG_TARGET_JOURNAL, /* "<N>comp: message" on stderr */
	VFO_LOG_TARGET_SYSLOG,
};

/*
 * Longest message kept, including the terminating NUL; longer ones are cut
 * and end in "...[truncated]". Control characters in a message (a newline a
 * peer slipped into a string we log) are replaced by '?'.
 */
#define VFO_LOG_LINE_MAX 1024

/* Call again to change target or ident; fini closes syslog and goes back
 * to plain stderr. Usable without init: "vfo", stderr, info. */
void vfo_log_init(const char *ident, enum vfo_log_target target, int level);
void vfo_log_fini(void);
/* The target in use: AUTO has been resolved to STDERR or JOURNAL. */
enum vfo_log_target vfo_log_get_target(void);
void vfo_log_set_level(int level);
int vfo_log_get_level(void);
/* Flip between the configured level and debug (SIGUSR1 / a control command). */
void vfo_log_toggle_debug(void);
/*
 * Parse a syslog level name ("emerg" ... "err|warning|notice|info|debug",
 * case-insensitive, "error" and "warn" accepted) or one digit 0-7; -EINVAL
 * otherwise. to_string gives the syslog names, "invalid" out of range.
 */
int vfo_log_level_from_string(const char *s);
const char *vfo_log_level_to_string(int level);
bool vfo_log_enabled(int level);

void vfo_log(int level, const char *comp, const char *fmt, ...) VFO_PRINTF(3, 4);
void vfo_logv(int level, const char *comp, const char *fmt, va_list ap) VFO_PRINTF(3, 0);

/*
 * Tests capture output through this hook; NULL restores the default sink.
 * It sees messages that pass the level filter, already formatted and
 * sanitised. vfo_log() preserves errno, so "%m" and "return -errno" work.
 */
typedef void (*vfo_log_sink_fn)(int level, const char *comp, const char *msg, void *opaque);
void vfo_log_set_sink(vfo_log_sink_fn fn, void *opaque);

#define vfo_err(comp, ...) vfo_log(VFO_LOG_ERR, comp, __VA_ARGS__)
#define vfo_warn(comp, ...) vfo_log(VFO_LOG_WARNING, comp, __VA_ARGS__)
#define vfo_notice(comp, ...) vfo_log(VFO_LOG_NOTICE, comp, __VA_ARGS__)
#define vfo_info(comp, ...) vfo_log(VFO_LOG_INFO, comp, __VA_ARGS__)
#define vfo_dbg(comp, ...)                                         \
	do {                                                       \
		if (vfo_log_enabled(VFO_LOG_DEBUG))                \
			vfo_log(VFO_LOG_DEBUG, comp, __VA_ARGS__); \
	} while (0)

#endif
