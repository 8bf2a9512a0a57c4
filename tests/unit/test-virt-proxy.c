// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * host-agent/virt-proxy.c against a scripted helper (fake-virt-helper.c,
 * built next to this program as vfo-virt-helper, which is where the proxy
 * looks first): calls and replies, libvirt's error text, events queued
 * while a call waits and delivered after it in order, a malformed line, and
 * a helper that dies: the call fails, "disconnected" is delivered, a new
 * helper is started and reports "connected".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "loop.h"
#include "util.h"
#include "virt.h"

struct rec {
	int connected, disconnected, lifecycle, domains;
	char last_uuid[40];
	bool in_call;
	bool event_in_call;
};

static void on_connected(void *opaque)
{
	((struct rec *)opaque)->connected++;
}

static void on_disconnected(void *opaque)
{
	((struct rec *)opaque)->disconnected++;
}

static void on_lifecycle(void *opaque, const char *uuid, const char *name, enum vfo_virt_life ev)
{
	struct rec *r = opaque;

	r->lifecycle++;
	r->event_in_call |= r->in_call;
	snprintf(r->last_uuid, sizeof(r->last_uuid), "%s", uuid);
	assert_string_equal(name, "g");
	assert_int_equal(ev, VFO_VIRT_STARTED);
}

static const struct vfo_virt_ops ops = {
	.connected = on_connected,
	.disconnected = on_disconnected,
	.lifecycle = on_lifecycle,
};

/* Run the loop until *counter reaches want, at most ~5 s. */
static void run_until(struct vfo_loop *l, const int *counter, int want)
{
	int64_t end = vfo_now_ms() + 5000;

	while (*counter < want && vfo_now_ms() < end)
		vfo_loop_run_once(l, 50);
	assert_int_equal(*counter, want);
}

static void on_domain(void *opaque, const char *uuid, const char *name, const char *xml)
{
	struct rec *r = opaque;

	r->domains++;
	if (r->domains == 2) {
		assert_string_equal(uuid, "u2");
		assert_string_equal(name, "two");
		assert_string_equal(xml, "<domain>\n</domain>");
	}
}

static void test_calls_events_and_respawn(void **state)
{
	struct vfo_loop *l;
	struct vfo_virt *v;
	struct rec r = { 0 };
	char *xml = NULL;

	assert_int_equal(vfo_loop_new(&l), 0);
	assert_int_equal(vfo_virt_new(&v, l, "test:///default", &ops, &r), 0);
	assert_false(vfo_virt_connected(v));
	run_until(l, &r.connected, 1);
	assert_true(vfo_virt_connected(v));
	assert_string_equal(vfo_virt_uri(v), "test:///default");

	/* The event came before the reply; it is delivered after the call. */
	r.in_call = true;
	assert_int_equal(vfo_virt_domain_active(v, "u-event"), 1);
	r.in_call = false;
	assert_int_equal(r.lifecycle, 0);
	run_until(l, &r.lifecycle, 1);
	assert_false(r.event_in_call);
	assert_string_equal(r.last_uuid, "u-event");

	assert_int_equal(vfo_virt_attach(v, "u1", "<interface/>"), -EIO);
	assert_string_equal(vfo_virt_last_error(), "boom: no such slot");
	assert_int_equal(vfo_virt_domain_xml(v, "u1", &xml), 0);
	assert_string_equal(xml, "<x/>");
	free(xml);
	assert_int_equal(vfo_virt_for_each_running(v, on_domain, &r), 2);
	assert_int_equal(r.domains, 2);
	/* A junk line is dropped; the reply behind it still counts. */
	assert_int_equal(vfo_virt_job_active(v, "u-junk"), 1);

	/* The helper dies in a call: it fails, and the loop learns. */
	assert_int_equal(vfo_virt_domain_active(v, "u-die"), -ENOTCONN);
	assert_false(vfo_virt_connected(v));
	assert_int_equal(vfo_virt_abort_job(v, "u1"), -ENOTCONN);
	run_until(l, &r.disconnected, 1);
	/* ... and a fresh helper comes back after the backoff. */
	run_until(l, &r.connected, 2);
	assert_true(vfo_virt_connected(v));
	assert_int_equal(vfo_virt_domain_active(v, "u1"), 1);

	vfo_virt_free(v);
	vfo_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_events_and_respawn),
	};

	vfo_log_init("test-virt-proxy", VFO_LOG_TARGET_STDERR, VFO_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
