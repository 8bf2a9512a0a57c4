// SPDX-License-Identifier: LGPL-2.1-or-later
#include "debounce.h"

void vfo_debounce_init(struct vfo_debounce *d, int64_t quiet_ms, int64_t max_ms)
{
	d->quiet_ms = quiet_ms > 0 ? quiet_ms : 0;
	d->max_ms = max_ms > d->quiet_ms ? max_ms : d->quiet_ms;
	d->pending = false;
	d->first_ms = 0;
}

int64_t vfo_debounce_event(struct vfo_debounce *d, int64_t now_ms)
{
	int64_t left;

	if (!d->pending) {
		d->pending = true;
		d->first_ms = now_ms;
	}
	/* Each event restarts the quiet period, up to the burst's limit. */
	left = d->first_ms + d->max_ms - now_ms;
	if (left < 0)
		left = 0;
	return left < d->quiet_ms ? left : d->quiet_ms;
}

void vfo_debounce_done(struct vfo_debounce *d)
{
	d->pending = false;
}
