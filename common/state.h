/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Persistent state as one JSON object in one file, replaced atomically:
 * write a temporary file in the same directory, fsync it, rename it over
 * the old one, fsync the directory. A crash at any point leaves either the
 * old or the new content, never a mix.
 *
 * The top-level object carries "version": a positive integer, the schema
 * version that wrote it. A daemon loads files of its version or older
 * (and migrates them); a newer one is refused and left untouched, since
 * it belongs to a newer vfo (an upgrade rolled back).
 *
 * A corrupt file (not JSON, not an object, no valid version, empty,
 * truncated) is never silently dropped nor overwritten: it is logged once
 * with what to do and renamed to "<file>.corrupt-<unix time>".
 */
#ifndef VFO_STATE_H
#define VFO_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "util.h"

#define VFO_STATE_VERSION_KEY "version"
/* Larger files are taken as corrupt: vfo's state is a few KiB. */
#define VFO_STATE_MAX_SIZE (16 * 1024 * 1024)

struct vfo_state_info {
	bool fresh; /* no file: start from empty state */
	bool moved_aside; /* corrupt, renamed to moved_to */
	int version; /* of the file, when it had a valid one */
	char moved_to[PATH_MAX];
	char why[128]; /* what was wrong, for corrupt or too new */
};

/*
 * Parse a state file's content, without I/O (the fuzzers' entry point).
 * Returns 0 with *out the top-level object (json_object_put it), -EINVAL
 * for corrupt content, -EPROTONOSUPPORT for a version > max_version,
 * -ENOMEM. why (may be NULL) receives the reason on failure.
 */
int vfo_state_parse(const char *buf, size_t len, int max_version, struct json_object **out,
		    char *why, size_t whylen);

/*
 * Load path. Returns:
 *   0                  *out is the top-level object, "version" included;
 *   -ENOENT            no file (or no directory): fresh state, info->fresh;
 *   -EINVAL            corrupt: logged, moved aside (info->moved_to);
 *   -EPROTONOSUPPORT   newer version: logged, left in place;
 *   other -errno       cannot read it (permissions, I/O, not a regular file)
 *                      or a corrupt file could not be moved aside: logged,
 *                      left in place. Do not start with fresh state then:
 *                      the next save would overwrite the only copy.
 * info may be NULL. *out is NULL on every error.
 */
int vfo_state_load(const char *path, int max_version, struct json_object **out,
		   struct vfo_state_info *info);

/*
 * Set obj's "version" to version and write obj to path atomically, mode
 * 0600. The directory must exist. Returns 0 or -errno (logged); on error
 * the previous file is untouched and no temporary file is left behind,
 * except if the final directory fsync fails (the new file is in place but
 * may not survive a power loss).
 */
int vfo_state_save(const char *path, int version, struct json_object *obj);

#endif
