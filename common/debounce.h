/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Coalescing a burst of events into one action: act once the events have
 * been quiet for quiet_ms, but never later than max_ms after the first one
 * of the burst, so a device that keeps chattering cannot postpone the
 * action forever. Pure arithmetic on the caller's clock; the caller owns
 * the timer and arms it to what vfo_debounce_event() returns.
 */
#ifndef VFO_DEBOUNCE_H
#define VFO_DEBOUNCE_H

#include <stdbool.h>
#include <stdint.h>

struct vfo_debounce {
	int64_t quiet_ms;
	int64_t max_ms; /* < quiet_ms is taken as quiet_ms */
	bool pending;
	int64_t first_ms; /* first event of the pending burst */
};

void vfo_debounce_init(struct vfo_debounce *d, int64_t quiet_ms, int64_t max_ms);
/* An event at now_ms: the delay (>= 0) to arm the timer to, from now. */
int64_t vfo_debounce_event(struct vfo_debounce *d, int64_t now_ms);
/* The timer fired (or the action ran anyway): the burst is over. */
void vfo_debounce_done(struct vfo_debounce *d);

#endif
