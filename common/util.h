/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by every vfo component. */
#ifndef VFO_UTIL_H
#define VFO_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define VFO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define vfo_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define VFO_UNUSED __attribute__((unused))
#define VFO_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Monotonic and wall clocks in milliseconds / microseconds. */
int64_t vfo_now_ms(void);
int64_t vfo_now_us(void);
int64_t vfo_wall_ms(void);

/* Close an fd if valid and set it to -1. */
static inline void vfo_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Read a small sysfs-style file (trailing newline stripped) into buf.
 * Returns length or -errno. */
int vfo_read_file(const char *path, char *buf, size_t len);
/* Write a string to a sysfs-style file. Returns 0 or -errno. */
int vfo_write_file(const char *path, const char *val);

#endif
