// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: arbitrary bytes as a state file's content, through the
 * parser vfo_state_load() uses. What it accepts must serialise and parse
 * back to an equal object.
 */
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj, *again;
	const char *text;
	char why[128];
	int ret;

	vfo_log_set_level(0);
	why[0] = '\0';
	ret = vfo_state_parse((const char *)data, size, 3, &obj, why, sizeof(why));
	if (ret < 0) {
		if (obj || !why[0] || (ret != -EINVAL && ret != -EPROTONOSUPPORT && ret != -ENOMEM))
			__builtin_trap();
		return 0;
	}
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	ret = vfo_state_parse(text, strlen(text), 3, &again, why, sizeof(why));
	if (ret < 0 || !json_object_equal(obj, again))
		__builtin_trap();
	json_object_put(again);
	json_object_put(obj);
	return 0;
}
