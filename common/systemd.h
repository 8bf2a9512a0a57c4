/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sd_notify for Type=notify units and the watchdog. Without libsystemd these
 * are static inline no-ops, so call sites never carry an #ifdef.
 */
#ifndef VFO_SYSTEMD_H
#define VFO_SYSTEMD_H

#include <stdint.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

static inline void vfo_sd_ready(void)
{
	sd_notify(0, "READY=1");
}

static inline void vfo_sd_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

static inline void vfo_sd_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

static inline void vfo_sd_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

static inline void vfo_sd_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

/* The watchdog interval in ms (0 when disabled); ping at half of it. */
static inline uint64_t vfo_sd_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 1000;
}
#else
static inline void vfo_sd_ready(void)
{
}

static inline void vfo_sd_stopping(void)
{
}

static inline void vfo_sd_reloading(void)
{
}

static inline void vfo_sd_status(const char *status)
{
	(void)status;
}

static inline void vfo_sd_watchdog(void)
{
}

static inline uint64_t vfo_sd_watchdog_ms(void)
{
	return 0;
}
#endif

#endif
