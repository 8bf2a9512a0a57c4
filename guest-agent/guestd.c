// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vfo-guestd's core: the link table fed by the rtnetlink monitor, the
 * reconcile step that turns link changes into policy inputs, the command
 * handlers shared by the host channel and the control socket, and the
 * init/fini ladder of the one context.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "guestd.h"
#include "log.h"
#include "systemd.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

#define COMP "guestd"
#define RETRY_MS 1000
/* A pair whose bond cannot be made (retried every RETRY_MS) must not keep
 * the whole service from starting: systemd's start timeout would kill the
 * agent for every pair. READY=1 goes out after this at the latest. */
#define READY_MAX_WAIT_MS 10000
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h, which clashes with net/if.h */
#endif

/* ---- links ---- */

static struct vfo_glink *glink_find(struct vfo_guestd *gd, int ifindex)
{
	size_t i;

	for (i = 0; i < gd->n_links; i++)
		if (gd->links[i].l.ifindex == ifindex)
			return &gd->links[i];
	return NULL;
}

const struct vfo_nl_link *vfo_guestd_link(const struct vfo_guestd *gd, int ifindex)
{
	size_t i;

	for (i = 0; i < gd->n_links; i++)
		if (gd->links[i].l.ifindex == ifindex)
			return &gd->links[i].l;
	return NULL;
}

const char *vfo_guestd_ifname(const struct vfo_guestd *gd, int ifindex)
{
	const struct vfo_nl_link *l = vfo_guestd_link(gd, ifindex);

	return l ? l->name : "";
}

static bool needs_settle(const struct vfo_nl_link *l)
{
	/* Only real devices get renamed by udev and probed by drivers;
	 * virtual links (bonds, the failover master) are ready at once. */
	return l->driver[0] && !l->kind[0];
}

static void rearm_ready_timer(struct vfo_guestd *gd)
{
	int64_t now = vfo_now_ms(), first = 0;
	size_t i;

	for (i = 0; i < gd->n_links; i++) {
		int64_t at = gd->links[i].ready_at;

		if (at && (!first || at < first))
			first = at;
	}
	vfo_loop_update_timer(gd->loop, gd->ready_timer,
			      first ? (int)(first > now ? first - now : 1) : -1);
}

static void link_new(struct vfo_guestd *gd, const struct vfo_nl_link *l, bool initial)
{
	struct vfo_glink *g;
	int64_t now = vfo_now_ms(), settle = gd->cfg.settle_ms;

	if (gd->n_links == VFO_ARRAY_SIZE(gd->links)) {
		vfo_warn(COMP, "too many links, ignoring %s", l->name);
		return;
	}
	g = &gd->links[gd->n_links++];
	memset(g, 0, sizeof(*g));
	g->l = *l;
	g->seen_at = now;
	snprintf(g->kname, sizeof(g->kname), "%s", l->name);
	if (initial || !needs_settle(l))
		return;
	if (now < gd->arriving_until && !memcmp(vfo_pair_link_mac(l), gd->arriving_mac, 6) &&
	    settle > 50)
		settle = 50; /* the host announced it: no need to wait long */
	if (gd->udev.active && !vfo_gudev_seen(gd, l->ifindex)) {
		g->udev_pending = true;
		g->ready_at = now + gd->cfg.udev_timeout_ms;
	} else {
		g->ready_at = now + (gd->udev.active ? 0 : settle);
	}
	if (!g->ready_at)
		g->ready_at = now;
	vfo_info(COMP, "new NIC %s (ifindex %d, driver %s): %s", l->name, l->ifindex, l->driver,
		 g->udev_pending ? "waiting for udev" : "settling");
	rearm_ready_timer(gd);
}

void vfo_guestd_link_ready(struct vfo_guestd *gd, int ifindex)
{
	struct vfo_glink *g = glink_find(gd, ifindex);
	struct vfo_nl_link fresh;

	if (!g || !g->ready_at)
		return;
	/* udev renamed it before it sent this event, but the monitor may
	 * not have read the rename yet: what the pair logic sees must be
	 * the NIC as it is now, under its final name. */
	if (!vfo_nl_link_get(gd->nl, ifindex, NULL, &fresh))
		g->l = fresh;
	g->ready_at = 0;
	g->udev_pending = false;
	vfo_info(COMP, "udev finished with %s (ifindex %d, kernel name %s%s) after %lld ms: ready",
		 g->l.name, ifindex, g->kname, strcmp(g->kname, g->l.name) ? ", renamed" : "",
		 (long long)(vfo_now_ms() - g->seen_at));
	rearm_ready_timer(gd);
	vfo_guestd_schedule(gd);
}

static void on_ready_timer(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	int64_t now = vfo_now_ms();
	size_t i;

	(void)l;
	(void)id;
	for (i = 0; i < gd->n_links; i++) {
		struct vfo_glink *g = &gd->links[i];

		if (g->ready_at && g->ready_at <= now) {
			if (g->udev_pending)
				vfo_warn(COMP, "no udev event for %s in %lld ms: going on",
					 g->l.name, (long long)gd->cfg.udev_timeout_ms);
			else
				vfo_info(COMP, "%s settled (no udevd) after %lld ms: ready",
					 g->l.name, (long long)(now - g->seen_at));
			g->ready_at = 0;
			g->udev_pending = false;
		}
	}
	rearm_ready_timer(gd);
	vfo_guestd_schedule(gd);
}

static void on_link(enum vfo_nl_event ev, const struct vfo_nl_link *l, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	struct vfo_glink *g = glink_find(gd, l->ifindex);

	switch (ev) {
	case VFO_NL_LINK_NEW:
	case VFO_NL_LINK_CHANGE:
	case VFO_NL_LINK_RESYNC:
		if (g)
			g->l = *l;
		else
			link_new(gd, l, false);
		break;
	case VFO_NL_LINK_DEL:
		if (g)
			*g = gd->links[--gd->n_links];
		break;
	}
	vfo_guestd_schedule(gd);
}

static void on_mon(struct vfo_loop *l, int id, int fd, unsigned int events, void *opaque)
{
	struct vfo_guestd *gd = opaque;
	int ret;

	(void)l;
	(void)id;
	(void)fd;
	(void)events;
	ret = vfo_nl_mon_process(gd->mon);
	if (ret)
		vfo_err(COMP, "link monitor: %s", strerror(-ret));
}

static int links_load(struct vfo_guestd *gd)
{
	struct vfo_nl_link *links = NULL;
	size_t n = 0, i;
	int ret;

	ret = vfo_nl_link_dump(gd->nl, &links, &n);
	if (ret)
		return ret;
	gd->n_links = 0;
	for (i = 0; i < n; i++)
		link_new(gd, &links[i], true);
	free(links);
	return 0;
}

/* ---- pairs ---- */

static void pair_timer_cb(struct vfo_loop *l, int id, void *opaque);

static struct vfo_gpair *pair_by_standby(struct vfo_guestd *gd, int standby)
{
	size_t i;

	for (i = 0; i < VFO_PAIR_MAX; i++)
		if (gd->pairs[i].used && gd->pairs[i].standby == standby)
			return &gd->pairs[i];
	return NULL;
}

static void pair_free(struct vfo_guestd *gd, struct vfo_gpair *p)
{
	if (p->timer > 0)
		vfo_loop_remove_timer(gd->loop, p->timer);
	memset(p, 0, sizeof(*p));
}

static void pair_perform(struct vfo_guestd *gd, struct vfo_gpair *p, const struct vfo_pol_out *out);

/* Feed the policy and carry out what it asks, including the follow-ups
 * (enslaving produces an ENSLAVED input). */
static int pair_step(struct vfo_guestd *gd, struct vfo_gpair *p, enum vfo_pol_input in)
{
	const struct vfo_nl_link *vf = p->vf ? vfo_guestd_link(gd, p->vf) : NULL;
	struct vfo_pol_event ev = {
		.input = in,
		.now = vfo_now_ms(),
		.carrier = p->vf_carrier,
		.enslaved = vf && vf->master == p->bond,
		.vf_active = p->vf && p->kernel_active == p->vf,
		.vf_present = p->vf != 0,
	};
	enum vfo_vf_state before = p->pol.state;
	struct vfo_pol_out out;
	int ret;

	if (p->mode != VFO_PAIR_BOND || !p->bond_ready)
		return -EOPNOTSUPP;
	ret = vfo_pol_step(&p->pol, &ev, &out);
	if (p->pol.state != before)
		vfo_info(COMP, "%s: %s -> %s (%s)", p->name, vfo_vf_state_str(before),
			 vfo_vf_state_str(p->pol.state), vfo_pol_input_str(in));
	if (out.switched)
		vfo_notice(COMP, "%s: traffic now on the %s (%s)", p->name,
			   p->pol.on_standby ? "standby" : "VF", p->pol.last_reason);
	pair_perform(gd, p, &out);
	return ret;
}

static void pair_perform(struct vfo_guestd *gd, struct vfo_gpair *p, const struct vfo_pol_out *out)
{
	int64_t now = vfo_now_ms();

	if (out->actions & VFO_ACT_ARM_TIMER)
		vfo_loop_update_timer(gd->loop, p->timer,
				      out->timer_at > now ? (int)(out->timer_at - now) : 1);
	if (out->actions & VFO_ACT_CANCEL_TIMER)
		vfo_loop_update_timer(gd->loop, p->timer, -1);
	if (vfo_gbond_act(gd, p, out->actions) < 0 && (out->actions & VFO_ACT_ENSLAVE_VF)) {
		p->enslave_retry_at = now + RETRY_MS;
		vfo_guestd_schedule(gd);
		return;
	}
	if ((out->actions & VFO_ACT_ENSLAVE_VF) && p->pol.state == VFO_VF_PRESENT) {
		struct vfo_nl_link fresh;

		/* Our table learns of the new master from the monitor a
		 * little later; the policy needs the carrier now. */
		if (!vfo_nl_link_get(gd->nl, p->vf, NULL, &fresh)) {
			struct vfo_glink *g = glink_find(gd, p->vf);

			if (g)
				g->l = fresh;
			p->vf_carrier = fresh.carrier == 1;
		}
		pair_step(gd, p, VFO_POL_ENSLAVED);
	}
}

static void pair_timer_cb(struct vfo_loop *l, int id, void *opaque)
{
	struct vfo_gpair *p = opaque;

	(void)l;
	(void)id;
	pair_step(p->gd, p, VFO_POL_TIMER);
}

static bool link_carrier(const struct vfo_nl_link *l)
{
	return l && (l->flags & IFF_UP) &&
	       (l->carrier == 1 || (l->carrier < 0 && (l->flags & IFF_LOWER_UP)));
}

static struct vfo_gpair *pair_new(struct vfo_guestd *gd, const struct vfo_pair_match *m)
{
	struct vfo_pol_cfg pc;
	struct vfo_gpair *p = NULL;
	size_t i;

	for (i = 0; i < VFO_PAIR_MAX && !p; i++)
		if (!gd->pairs[i].used)
			p = &gd->pairs[i];
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->gd = gd;
	p->cfg = m->cfg;
	p->mode = m->mode;
	memcpy(p->mac, m->mac, 6);
	p->standby = m->standby;
	vfo_pol_cfg_default(&pc);
	pc.hold_down_ms = gd->cfg.hold_down_ms;
	pc.announced_hold_down_ms = gd->cfg.announced_hold_down_ms;
	pc.leave_timeout_ms = gd->cfg.leave_timeout_ms;
	pc.notify_on_removal = gd->cfg.notify_on_removal;
	vfo_pol_init(&p->pol, &pc, vfo_now_ms());
	p->timer = vfo_loop_add_timer(gd->loop, "pair-hold", -1, VFO_TIMER_ONESHOT, pair_timer_cb,
				      p, NULL);
	if (p->timer < 0) {
		memset(p, 0, sizeof(*p));
		return NULL;
	}
	return p;
}

/* Choose the bond's name: the standby's bond when it is in one, the
 * configured name, else the first free "<prefix>N". */
static void pair_name_bond(struct vfo_guestd *gd, struct vfo_gpair *p,
			   const struct vfo_pair_match *m)
{
	const char *used[VFO_PAIR_MAX + VFO_GUESTD_MAX_LINKS];
	size_t n = 0, i;

	if (m->master_is_bond) {
		snprintf(p->bond_name, sizeof(p->bond_name), "%s",
			 vfo_guestd_ifname(gd, m->master));
		return;
	}
	if (m->cfg >= 0 && gd->cfg.pairs[m->cfg].bond[0]) {
		snprintf(p->bond_name, sizeof(p->bond_name), "%s", gd->cfg.pairs[m->cfg].bond);
		return;
	}
	for (i = 0; i < VFO_PAIR_MAX; i++)
		if (gd->pairs[i].used && &gd->pairs[i] != p && gd->pairs[i].bond_name[0])
			used[n++] = gd->pairs[i].bond_name;
	for (i = 0; i < gd->cfg.n_pairs; i++)
		if (gd->cfg.pairs[i].bond[0])
			used[n++] = gd->cfg.pairs[i].bond;
	/* An existing bond of that name that holds something else is
	 * taken; an empty one is ours to adopt (a crash mid-setup). */
	for (i = 0; i < gd->n_links; i++) {
		const struct vfo_nl_link *l = &gd->links[i].l;
		size_t j;
		bool busy = false;

		if (!l->kind[0])
			continue;
		for (j = 0; j < gd->n_links && !busy; j++)
			busy = gd->links[j].l.master == l->ifindex;
		if (busy || strcmp(l->kind, "bond"))
			used[n++] = l->name;
	}
	if (vfo_pair_bond_name(gd->cfg.name_prefix, used, n, p->bond_name, sizeof(p->bond_name)))
		p->bond_name[0] = '\0';
}

static void pair_setup(struct vfo_guestd *gd, struct vfo_gpair *p, const struct vfo_pair_match *m)
{
	char mac[18];
	int ret;

	vfo_nl_hwaddr_str(p->mac, 6, mac, sizeof(mac));
	if (p->mode == VFO_PAIR_KERNEL) {
		p->bond = m->master;
		snprintf(p->bond_name, sizeof(p->bond_name), "%s",
			 vfo_guestd_ifname(gd, m->master));
		snprintf(p->name, sizeof(p->name), "%s",
			 m->cfg >= 0 ? gd->cfg.pairs[m->cfg].name : p->bond_name);
		vfo_notice(
			COMP,
			"%s: standby %s is owned by the kernel's failover master %s: kernel-managed, not touching it",
			mac, vfo_guestd_ifname(gd, p->standby), p->bond_name);
		return;
	}
	pair_name_bond(gd, p, m);
	snprintf(p->name, sizeof(p->name), "%s",
		 m->cfg >= 0 ? gd->cfg.pairs[m->cfg].name : p->bond_name);
	if (!p->bond_name[0]) {
		vfo_err(COMP, "%s: no bond name available", mac);
		return;
	}
	ret = vfo_gbond_setup(gd, p);
	if (ret) {
		vfo_err(COMP, "%s: bond %s: %s; retrying", p->name, p->bond_name, strerror(-ret));
		p->enslave_retry_at = vfo_now_ms() + RETRY_MS;
		return;
	}
	p->bond_ready = true;
	vfo_notice(COMP, "pair %s: standby %s, bond %s%s", p->name,
		   vfo_guestd_ifname(gd, p->standby), p->bond_name, p->adopted ? " (adopted)" : "");
}

/* Bring one pair up to date with a fresh match. */
static void pair_update(struct vfo_guestd *gd, struct vfo_gpair *p, const struct vfo_pair_match *m)
{
	const struct vfo_nl_link *vf, *bond;
	bool fresh = !p->bond_ready;

	if (p->mode == VFO_PAIR_KERNEL) {
		/* Nothing to set up, but the pair must be named after its
		 * failover master (first sight, or a new master). */
		if (p->bond != m->master || !p->name[0])
			pair_setup(gd, p, m);
		else
			snprintf(p->bond_name, sizeof(p->bond_name), "%s",
				 vfo_guestd_ifname(gd, m->master));
		if (p->vf != m->vf)
			vfo_info(COMP, "%s: kernel-managed VF %s", p->name,
				 m->vf ? vfo_guestd_ifname(gd, m->vf) : "gone");
		p->vf = m->vf;
		p->vf_carrier = link_carrier(vfo_guestd_link(gd, m->vf));
		return;
	}
	if (!p->bond_ready) {
		if (p->enslave_retry_at > vfo_now_ms())
			return;
		pair_setup(gd, p, m);
		if (!p->bond_ready)
			return;
	}
	bond = vfo_guestd_link(gd, p->bond);
	if (bond && bond->has_bond && (bond->bond.mask & VFO_NL_BOND_F_ACTIVE_SLAVE))
		p->kernel_active = (int)bond->bond.active_slave;
	else if (bond && bond->has_bond)
		p->kernel_active = 0;

	if (fresh) {
		/* First sight of this pair (start, or standby hot-added):
		 * take the bond as it is. */
		p->vf = m->vf;
		vf = m->vf ? vfo_guestd_link(gd, m->vf) : NULL;
		p->vf_carrier = link_carrier(vf);
		pair_step(gd, p, VFO_POL_ADOPT);
		return;
	}
	if (p->vf && p->vf != m->vf) {
		vfo_notice(COMP, "%s: VF %d gone", p->name, p->vf);
		p->vf = 0;
		p->vf_carrier = false;
		pair_step(gd, p, VFO_POL_VF_REMOVED);
	}
	vf = m->vf ? vfo_guestd_link(gd, m->vf) : NULL;
	if (!p->vf && m->vf) {
		p->vf = m->vf;
		p->vf_carrier = link_carrier(vf);
		vfo_notice(COMP, "%s: VF %s arrived", p->name, vf ? vf->name : "?");
		pair_step(gd, p, VFO_POL_VF_ADDED);
		return;
	}
	if (!p->vf)
		return;
	if (p->pol.state == VFO_VF_PRESENT && vf && vf->master != p->bond && p->enslave_retry_at &&
	    p->enslave_retry_at <= vfo_now_ms()) {
		struct vfo_pol_out out = { .actions = VFO_ACT_CLEAR_PRIMARY | VFO_ACT_ENSLAVE_VF };

		p->enslave_retry_at = 0;
		pair_perform(gd, p, &out);
		return;
	}
	if (link_carrier(vf) != p->vf_carrier) {
		p->vf_carrier = link_carrier(vf);
		pair_step(gd, p, VFO_POL_CARRIER);
	}
	if (p->kernel_active && (p->kernel_active == p->vf) != (p->pol.state == VFO_VF_ACTIVE))
		pair_step(gd, p, VFO_POL_ACTIVE_SEEN);
}

static void reconcile(struct vfo_guestd *gd)
{
	static struct vfo_nl_link ready[VFO_GUESTD_MAX_LINKS];
	struct vfo_pair_match m[VFO_PAIR_MAX];
	bool seen[VFO_PAIR_MAX] = { false };
	int n, amb, i;
	size_t k, nr = 0;

	for (k = 0; k < gd->n_links; k++)
		if (!gd->links[k].ready_at)
			ready[nr++] = gd->links[k].l;
	n = vfo_pair_match(ready, nr, gd->cfg.pairs, gd->cfg.n_pairs, gd->cfg.auto_pair, m,
			   VFO_PAIR_MAX, &amb);
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		struct vfo_gpair *p = pair_by_standby(gd, m[i].standby);

		if (p && p->mode != m[i].mode) {
			vfo_notice(COMP, "%s: ownership changed", p->name);
			pair_free(gd, p);
			p = NULL;
		}
		if (!p)
			p = pair_new(gd, &m[i]);
		if (!p) {
			vfo_err(COMP, "too many pairs");
			continue;
		}
		seen[p - gd->pairs] = true;
		pair_update(gd, p, &m[i]);
	}
	for (k = 0; k < VFO_PAIR_MAX; k++) {
		if (!gd->pairs[k].used || seen[k])
			continue;
		vfo_notice(COMP, "pair %s: standby gone; forgetting it", gd->pairs[k].name);
		pair_free(gd, &gd->pairs[k]);
	}
	for (k = 0; k < VFO_PAIR_MAX; k++)
		if (gd->pairs[k].used && gd->pairs[k].enslave_retry_at) {
			int64_t d = gd->pairs[k].enslave_retry_at - vfo_now_ms();

			vfo_loop_update_timer(gd->loop, gd->reconcile_timer, d > 0 ? (int)d : 1);
		}
}

/* The service's status for systemd: READY=1 once every pair found is set
 * up (bond in place, or kernel-managed), STATUS= when the summary text
 * changes. No-ops without libsystemd or without NOTIFY_SOCKET. */
static void sd_update(struct vfo_guestd *gd)
{
	struct vfo_pair_summary sum[VFO_PAIR_MAX];
	char text[sizeof(gd->sd_status)];
	size_t n = 0, i, pending;

	if (!gd->running)
		return;
	for (i = 0; i < VFO_PAIR_MAX; i++) {
		struct vfo_gpair *p = &gd->pairs[i];
		int a = p->kernel_active;

		if (!p->used)
			continue;
		sum[n].name = p->name[0] ? p->name : "?";
		sum[n].kernel = p->mode == VFO_PAIR_KERNEL;
		sum[n].ready = sum[n].kernel || p->bond_ready;
		sum[n].active_role = "none";
		if (a && a == p->vf)
			sum[n].active_role = "vf";
		else if (a && a == p->standby)
			sum[n].active_role = "standby";
		n++;
	}
	pending = vfo_pair_summary_text(sum, n, text, sizeof(text));
	if (strcmp(text, gd->sd_status)) {
		snprintf(gd->sd_status, sizeof(gd->sd_status), "%s", text);
		vfo_sd_status(text);
	}
	if (gd->ready_sent || (pending && vfo_now_ms() < gd->ready_deadline))
		return;
	gd->ready_sent = true;
	vfo_sd_ready();
	if (pending)
		vfo_warn(COMP, "ready after %d ms with %zu pair(s) not set up: %s",
			 READY_MAX_WAIT_MS, pending, text);
	else
		vfo_notice(COMP, "ready: %s", text);
}

static void on_ready_deadline(struct vfo_loop *l, int id, void *opaque)
{
	(void)l;
	(void)id;
	sd_update(opaque);
}

static void on_reconcile(struct vfo_loop *l, int id, void *opaque)
{
	(void)l;
	(void)id;
	reconcile(opaque);
	sd_update(opaque);
}

void vfo_guestd_schedule(struct vfo_guestd *gd)
{
	/* 0: run on the next iteration, after every queued event. */
	vfo_loop_update_timer(gd->loop, gd->reconcile_timer, 0);
}

/* ---- commands ---- */

static struct json_object *pair_json(struct vfo_guestd *gd, struct vfo_gpair *p, int64_t now)
{
	struct json_object *o = json_object_new_object();
	struct json_object *c = json_object_new_object();
	const struct vfo_policy *pol = &p->pol;
	char mac[18];
	int active = p->kernel_active;

	vfo_nl_hwaddr_str(p->mac, 6, mac, sizeof(mac));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(
		o, "mode",
		json_object_new_string(p->mode == VFO_PAIR_KERNEL ? "kernel-managed" : "bond"));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "standby",
			       json_object_new_string(vfo_guestd_ifname(gd, p->standby)));
	json_object_object_add(o, "vf",
			       p->vf ? json_object_new_string(vfo_guestd_ifname(gd, p->vf)) : NULL);
	json_object_object_add(o, "vf_carrier", json_object_new_boolean(p->vf_carrier));
	json_object_object_add(o, "bond", json_object_new_string(p->bond_name));
	if (p->mode == VFO_PAIR_KERNEL) {
		/* net_failover has no "active slave": the VF carries the
		 * traffic whenever it is up. */
		active = p->vf && p->vf_carrier ? p->vf : p->standby;
	}
	json_object_object_add(
		o, "active", active ? json_object_new_string(vfo_guestd_ifname(gd, active)) : NULL);
	json_object_object_add(o, "active_role",
			       json_object_new_string(!active		   ? "none" :
						      active == p->vf	   ? "vf" :
						      active == p->standby ? "standby" :
									     "other"));
	if (p->mode == VFO_PAIR_KERNEL)
		return json_object_object_add(o, "counters", c), o;
	json_object_object_add(o, "state",
			       json_object_new_string(p->bond_ready ? vfo_vf_state_str(pol->state) :
								      "setting-up"));
	json_object_object_add(o, "adopted", json_object_new_boolean(p->adopted));
	json_object_object_add(o, "hold_down_ms", json_object_new_int64(pol->cfg.hold_down_ms));
	json_object_object_add(c, "switches", json_object_new_int64((int64_t)pol->switches));
	json_object_object_add(c, "flaps", json_object_new_int64((int64_t)pol->flaps));
	json_object_object_add(c, "leaves", json_object_new_int64((int64_t)pol->leaves));
	json_object_object_add(c, "removals", json_object_new_int64((int64_t)pol->removals));
	json_object_object_add(c, "standby_ms",
			       json_object_new_int64(vfo_pol_standby_ms(pol, now)));
	if (pol->last_switch) {
		int64_t wall = vfo_wall_ms() - (now - pol->last_switch);

		json_object_object_add(c, "last_switch_ms", json_object_new_int64(wall));
		json_object_object_add(c, "last_switch_ago_ms",
				       json_object_new_int64(now - pol->last_switch));
		json_object_object_add(c, "last_switch_reason",
				       json_object_new_string(pol->last_reason));
		json_object_object_add(c, "last_switch_to",
				       json_object_new_string(pol->last_to_vf ? "vf" : "standby"));
	} else {
		json_object_object_add(c, "last_switch_ms", NULL);
		json_object_object_add(c, "last_switch_reason", NULL);
	}
	json_object_object_add(o, "counters", c);
	return o;
}

static struct json_object *status_json(struct vfo_guestd *gd)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array(), *cs;
	int64_t now = vfo_now_ms();
	size_t i;

	json_object_object_add(o, "agent", json_object_new_string("vfo-guestd"));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "proto", json_object_new_int(VFO_PROTO_VERSION));
	json_object_object_add(o, "uptime_ms", json_object_new_int64(now - gd->started));
	json_object_object_add(o, "channel",
			       json_object_new_string(vfo_gchan_state_str(gd->chan.state)));
	cs = json_object_new_object();
	json_object_object_add(cs, "connects", json_object_new_int64((int64_t)gd->chan.connects));
	json_object_object_add(cs, "dropped", json_object_new_int64((int64_t)gd->chan.dropped));
	json_object_object_add(o, "channel_stats", cs);
	json_object_object_add(o, "udev", json_object_new_boolean(gd->udev.active));
	json_object_object_add(o, "enobufs",
			       json_object_new_int64((int64_t)vfo_nl_mon_enobufs(gd->mon)));
	for (i = 0; i < VFO_PAIR_MAX; i++)
		if (gd->pairs[i].used)
			json_object_array_add(a, pair_json(gd, &gd->pairs[i], now));
	json_object_object_add(o, "pairs", a);
	return o;
}

static int cmd_status(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		      struct vfo_proto_err *err)
{
	(void)req;
	(void)err;
	*result = status_json(ctx);
	return 0;
}

static int cmd_hello(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		     struct vfo_proto_err *err)
{
	struct vfo_guestd *gd = ctx;
	int64_t v = vfo_proto_arg_int(req->args, "version", VFO_PROTO_VERSION);
	struct json_object *o, *names;
	size_t i;

	if (v < 1) {
		vfo_proto_err_set(err, VFO_PROTO_UNSUPPORTED, "protocol version %lld not supported",
				  (long long)v);
		return -EPROTONOSUPPORT;
	}
	o = json_object_new_object();
	names = json_object_new_array();
	json_object_object_add(o, "version", json_object_new_int(VFO_PROTO_VERSION));
	json_object_object_add(o, "agent", json_object_new_string("vfo-guestd"));
	json_object_object_add(o, "agent_version", json_object_new_string(PACKAGE_VERSION));
	for (i = 0; i < VFO_PAIR_MAX; i++) {
		struct vfo_gpair *p = &gd->pairs[i];
		struct json_object *po;
		char mac[18];

		if (!p->used)
			continue;
		po = json_object_new_object();
		vfo_nl_hwaddr_str(p->mac, 6, mac, sizeof(mac));
		json_object_object_add(po, "name", json_object_new_string(p->name));
		json_object_object_add(po, "mac", json_object_new_string(mac));
		json_object_object_add(po, "mode",
				       json_object_new_string(p->mode == VFO_PAIR_KERNEL ?
								      "kernel-managed" :
								      "bond"));
		json_object_array_add(names, po);
	}
	json_object_object_add(o, "pairs", names);
	*result = o;
	return 0;
}

/* Pairs a request names: by "mac" or "pair" (name); neither: all. */
static int select_pairs(struct vfo_guestd *gd, struct json_object *args, struct vfo_gpair **out,
			struct vfo_proto_err *err)
{
	const char *mac = vfo_proto_arg_str(args, "mac", NULL);
	const char *name = vfo_proto_arg_str(args, "pair", NULL);
	struct vfo_sel sel = { 0 };
	int n = 0;
	size_t i;

	if (mac && (vfo_sel_parse(mac, &sel) || sel.kind != VFO_SEL_MAC)) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "mac: not a MAC address");
		return -EINVAL;
	}
	for (i = 0; i < VFO_PAIR_MAX; i++) {
		struct vfo_gpair *p = &gd->pairs[i];

		if (!p->used || (mac && memcmp(p->mac, sel.mac, 6)) ||
		    (name && strcmp(p->name, name) && strcmp(p->bond_name, name)))
			continue;
		out[n++] = p;
	}
	if (!n && (mac || name)) {
		vfo_proto_err_set(err, VFO_PROTO_NOT_FOUND, "no such pair");
		return -ENOENT;
	}
	return n;
}

static int cmd_vf_leaving(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
			  struct vfo_proto_err *err)
{
	struct vfo_guestd *gd = ctx;
	struct vfo_gpair *ps[VFO_PAIR_MAX];
	int64_t t0 = vfo_now_us();
	struct json_object *o, *arr;
	int n, i, ret = 0;
	char buf[32];
	double ms;

	n = select_pairs(gd, req->args, ps, err);
	if (n < 0)
		return n;
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *po = json_object_new_object();
		const char *what;

		if (ps[i]->mode == VFO_PAIR_KERNEL) {
			what = "kernel-managed";
		} else {
			ret = pair_step(gd, ps[i], VFO_POL_VF_LEAVING);
			what = ret == -ENODEV ? "no-vf" : ret ? "error" : "standby";
		}
		json_object_object_add(po, "pair", json_object_new_string(ps[i]->name));
		json_object_object_add(po, "result", json_object_new_string(what));
		json_object_array_add(arr, po);
	}
	o = json_object_new_object();
	json_object_object_add(o, "ack", json_object_new_boolean(true));
	ms = (double)(vfo_now_us() - t0) / 1000.0;
	/* Printed as measured (µs resolution), not as 1.2729999999999999. */
	snprintf(buf, sizeof(buf), "%.3f", ms);
	json_object_object_add(o, "elapsed_ms", json_object_new_double_s(ms, buf));
	json_object_object_add(o, "pairs", arr);
	vfo_notice(COMP, "vf-leaving handled for %d pair(s) in %lld us", n,
		   (long long)(vfo_now_us() - t0));
	*result = o;
	return 0;
}

static int cmd_vf_arriving(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
			   struct vfo_proto_err *err)
{
	struct vfo_guestd *gd = ctx;
	const char *mac = vfo_proto_arg_str(req->args, "mac", NULL);
	struct vfo_gpair *ps[VFO_PAIR_MAX];
	struct vfo_sel sel;
	int n, i;

	if (!mac || vfo_sel_parse(mac, &sel) || sel.kind != VFO_SEL_MAC) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "mac: not a MAC address");
		return -EINVAL;
	}
	memcpy(gd->arriving_mac, sel.mac, 6);
	gd->arriving_until = vfo_now_ms() + 10000;
	n = select_pairs(gd, req->args, ps, err);
	for (i = 0; i < n; i++)
		pair_step(gd, ps[i], VFO_POL_VF_ARRIVING);
	vfo_proto_err_release(err);
	*result = json_object_new_object();
	json_object_object_add(*result, "ack", json_object_new_boolean(true));
	return 0;
}

static int cmd_failover(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
			struct vfo_proto_err *err)
{
	struct vfo_guestd *gd = ctx;
	const char *to = vfo_proto_arg_str(req->args, "to", "standby");
	struct vfo_gpair *ps[VFO_PAIR_MAX];
	bool to_vf;
	int n, i, ret;

	if (strcmp(to, "standby") && strcmp(to, "vf")) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "to: standby or vf");
		return -EINVAL;
	}
	to_vf = !strcmp(to, "vf");
	n = select_pairs(gd, req->args, ps, err);
	if (n < 0)
		return n;
	if (n != 1) {
		vfo_proto_err_set(err, VFO_PROTO_BAD_ARGS, "name exactly one pair (pair or mac)");
		return -EINVAL;
	}
	if (ps[0]->mode == VFO_PAIR_KERNEL) {
		vfo_proto_err_set(err, VFO_PROTO_UNSUPPORTED, "%s is kernel-managed", ps[0]->name);
		return -EOPNOTSUPP;
	}
	ret = pair_step(gd, ps[0], to_vf ? VFO_POL_FORCE_VF : VFO_POL_FORCE_STANDBY);
	if (ret == -EAGAIN || ret == -ENODEV) {
		vfo_proto_err_set(err, VFO_PROTO_BUSY, "no usable VF on %s", ps[0]->name);
		return ret;
	}
	if (ret)
		return ret;
	(void)i;
	*result = pair_json(gd, ps[0], vfo_now_ms());
	return 0;
}

static const struct vfo_proto_arg hello_args[] = {
	{ "version", VFO_ARG_INT, false },
	{ NULL },
};
static const struct vfo_proto_arg mac_args[] = {
	{ "mac", VFO_ARG_STRING, false },
	{ "pair", VFO_ARG_STRING, false },
	{ NULL },
};
static const struct vfo_proto_arg failover_args[] = {
	{ "mac", VFO_ARG_STRING, false },
	{ "pair", VFO_ARG_STRING, false },
	{ "to", VFO_ARG_STRING, true },
	{ NULL },
};

static const struct vfo_proto_cmd chan_cmds[] = {
	{ "hello", cmd_hello, hello_args, true },
	{ "status", cmd_status, NULL, false },
	{ "vf-leaving", cmd_vf_leaving, mac_args, true },
	{ "vf-arriving", cmd_vf_arriving, mac_args, true },
};

static const struct vfo_proto_cmd ctl_cmds[] = {
	{ "hello", cmd_hello, hello_args, true },
	{ "status", cmd_status, NULL, false },
	{ "vf-leaving", cmd_vf_leaving, mac_args, true },
	{ "vf-arriving", cmd_vf_arriving, mac_args, true },
	{ "failover", cmd_failover, failover_args, false },
};

static struct vfo_proto_table chan_table = { chan_cmds, VFO_ARRAY_SIZE(chan_cmds), NULL };
static struct vfo_proto_table ctl_table = { ctl_cmds, VFO_ARRAY_SIZE(ctl_cmds), NULL };

const struct vfo_proto_table *vfo_guestd_table(struct vfo_guestd *gd, bool ctl)
{
	struct vfo_proto_table *t = ctl ? &ctl_table : &chan_table;

	t->ctx = gd;
	return t;
}

/* ---- init / fini ---- */

static void on_signal(struct vfo_loop *l, int signo, void *opaque)
{
	struct vfo_guestd *gd = opaque;

	(void)l;
	if (signo == SIGUSR1)
		vfo_log_toggle_debug();
	else if (signo == SIGHUP)
		vfo_guestd_schedule(gd); /* re-check everything */
}

int vfo_guestd_init(struct vfo_guestd *gd, const struct vfo_guest_cfg *cfg)
{
	int ret;

	memset(gd, 0, sizeof(*gd));
	gd->cfg = *cfg;
	gd->started = vfo_now_ms();
	gd->mon_watch = gd->ready_timer = gd->reconcile_timer = -1;

	ret = vfo_loop_new(&gd->loop);
	if (ret)
		goto err_none;
	vfo_loop_set_signal_cb(gd->loop, on_signal, gd);
	ret = vfo_nl_open(&gd->nl, NULL);
	if (ret)
		goto err_free_loop;
	ret = vfo_loop_add_timer(gd->loop, "ready", -1, VFO_TIMER_ONESHOT, on_ready_timer, gd,
				 NULL);
	if (ret < 0)
		goto err_close_nl;
	gd->ready_timer = ret;
	ret = vfo_loop_add_timer(gd->loop, "reconcile", -1, VFO_TIMER_ONESHOT, on_reconcile, gd,
				 NULL);
	if (ret < 0)
		goto err_close_nl;
	gd->reconcile_timer = ret;
	/* udev before the monitor: a NIC that appears in between must not
	 * be taken as settled. */
	ret = vfo_gudev_init(gd);
	if (ret)
		goto err_close_nl;
	ret = vfo_nl_mon_open(&gd->mon, gd->nl, on_link, gd);
	if (ret)
		goto err_fini_udev;
	ret = vfo_loop_add_fd(gd->loop, "link-monitor", vfo_nl_mon_fd(gd->mon), VFO_EV_IN, on_mon,
			      gd, NULL);
	if (ret < 0)
		goto err_close_mon;
	gd->mon_watch = ret;
	ret = links_load(gd);
	if (ret)
		goto err_close_mon;
	/* The initial scan, synchronously: pairs and bonds are in place
	 * (or adopted) before anyone is told we are ready. */
	reconcile(gd);
	ret = vfo_gctl_init(gd);
	if (ret)
		goto err_close_mon;
	ret = vfo_gchan_init(gd);
	if (ret)
		goto err_fini_ctl;
	gd->running = true;
	gd->ready_deadline = vfo_now_ms() + READY_MAX_WAIT_MS;
	if (vfo_loop_add_timer(gd->loop, "sd-ready", READY_MAX_WAIT_MS, VFO_TIMER_ONESHOT,
			       on_ready_deadline, gd, NULL) < 0)
		vfo_warn(COMP, "no READY=1 deadline timer");
	sd_update(gd);
	return 0;

err_fini_ctl:
	vfo_gctl_fini(gd);
err_close_mon:
	vfo_nl_mon_close(gd->mon);
	gd->mon = NULL;
err_fini_udev:
	vfo_gudev_fini(gd);
err_close_nl:
	vfo_nl_close(gd->nl);
	gd->nl = NULL;
err_free_loop:
	vfo_loop_free(gd->loop);
	gd->loop = NULL;
err_none:
	return ret < 0 ? ret : -EIO;
}

void vfo_guestd_fini(struct vfo_guestd *gd)
{
	size_t i;

	if (!gd->loop)
		return;
	vfo_gchan_fini(gd);
	vfo_gctl_fini(gd);
	for (i = 0; i < VFO_PAIR_MAX; i++)
		if (gd->pairs[i].used)
			pair_free(gd, &gd->pairs[i]);
	vfo_nl_mon_close(gd->mon);
	gd->mon = NULL;
	vfo_gudev_fini(gd);
	vfo_nl_close(gd->nl);
	gd->nl = NULL;
	/* Bonds stay: the traffic must survive the agent's restart. */
	vfo_loop_free(gd->loop);
	gd->loop = NULL;
}

int vfo_guestd_run(struct vfo_guestd *gd)
{
	return vfo_loop_run(gd->loop);
}
