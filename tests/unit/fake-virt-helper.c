// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A stand-in for vfo-virt-helper, built as tests/unit/vfo-virt-helper so
 * that virt-proxy.c, run from test-virt-proxy next to it, starts this one.
 * It speaks the real link (virt-link.h) and misbehaves on request, by the
 * uuid a call names:
 *   "u-event"  an event is sent before the reply (ordering);
 *   "u-die"    exits without replying (a crashed helper);
 *   "u-junk"   a malformed line, then the reply;
 * "attach" always fails with libvirt-like text; "list" returns two domains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "virt-link.h"

static void send_str(struct vfo_vlink *k, const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	vfo_vlink_send(k, o);
	json_object_put(o);
}

int main(int argc, char **argv)
{
	struct vfo_vlink k;
	int fd = -1;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--fd"))
			fd = atoi(argv[i + 1]);
	if (fd < 0 || vfo_vlink_init(&k, fd) < 0)
		return 2;
	send_str(&k, "{\"ev\":\"connected\"}");
	for (;;) {
		struct json_object *req, *reply;
		const char *op, *uuid;
		int r = vfo_vlink_fill(&k);

		if (r < 0) {
			vfo_vlink_fini(&k);
			return 0;
		}
		while (vfo_vlink_next(&k, &req) == 1) {
			op = vfo_vlink_str(req, "op");
			uuid = vfo_vlink_str(req, "uuid");
			reply = json_object_new_object();
			json_object_object_add(reply, "id",
					       json_object_new_int64(vfo_vlink_int(req, "id", 0)));
			if (uuid && !strcmp(uuid, "u-die"))
				_exit(3);
			if (uuid && !strcmp(uuid, "u-event"))
				send_str(&k, "{\"ev\":\"lifecycle\",\"uuid\":\"u-event\","
					     "\"name\":\"g\",\"life\":0}");
			if (uuid && !strcmp(uuid, "u-junk"))
				(void)!write(fd, "{not json\n", 10);
			if (!strcmp(op, "attach")) {
				json_object_object_add(reply, "rc", json_object_new_int(-EIO));
				json_object_object_add(
					reply, "err", json_object_new_string("boom: no such slot"));
			} else if (!strcmp(op, "list")) {
				struct json_object *a = json_tokener_parse(
					"[{\"uuid\":\"u1\",\"name\":\"one\",\"xml\":\"<domain/>\"},"
					"{\"uuid\":\"u2\",\"name\":\"two\",\"xml\":\"<domain>\\n</domain>\"}]");

				json_object_object_add(reply, "domains", a);
				json_object_object_add(reply, "rc", json_object_new_int(2));
			} else if (!strcmp(op, "xml")) {
				json_object_object_add(reply, "xml",
						       json_object_new_string("<x/>"));
				json_object_object_add(reply, "rc", json_object_new_int(0));
			} else {
				json_object_object_add(reply, "rc", json_object_new_int(1));
			}
			vfo_vlink_send(&k, reply);
			json_object_put(reply);
			json_object_put(req);
		}
		if (r == 0) {
			fd_set rs;

			FD_ZERO(&rs);
			FD_SET(fd, &rs);
			select(fd + 1, &rs, NULL, NULL, NULL);
		}
	}
}
