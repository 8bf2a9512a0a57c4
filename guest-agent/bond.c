// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bond of a pair, through common/netlink only: create or adopt it,
 * take the standby in (moving its addresses and routes on the first
 * takeover), and perform the policy's actions.
 *
 * primary_reselect defaults to "failure": once the standby carries the
 * traffic, bonding never moves it back to the VF by itself (not when the VF
 * regains carrier, not because it is "better"); only the agent does, after
 * the hold-down. "always" or "better" would let a flapping VF, or one that
 * just came back, take the traffic at once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "guestd.h"
#include "log.h"

#define COMP "bond"

static int bond_find(struct vfo_guestd *gd, struct vfo_gpair *p, struct vfo_nl_link *out)
{
	const struct vfo_nl_link *sb = vfo_guestd_link(gd, p->standby);
	int ret;

	/* By slaves first: the standby's master, whatever its name. */
	if (sb && sb->master) {
		ret = vfo_nl_link_get(gd->nl, sb->master, NULL, out);
		if (!ret && !strcmp(out->kind, "bond"))
			return 0;
	}
	return vfo_nl_link_get(gd->nl, 0, p->bond_name, out);
}

static void wanted_opts(const struct vfo_guestd *gd, struct vfo_nl_bond *o)
{
	memset(o, 0, sizeof(*o));
	o->mask = VFO_NL_BOND_F_MODE | VFO_NL_BOND_F_MIIMON | VFO_NL_BOND_F_PRIMARY_RESELECT |
		  VFO_NL_BOND_F_NUM_PEER_NOTIF | VFO_NL_BOND_F_FAIL_OVER_MAC |
		  VFO_NL_BOND_F_ALL_SLAVES_ACTIVE;
	o->mode = VFO_NL_BOND_MODE_ACTIVE_BACKUP;
	o->miimon = gd->cfg.miimon;
	o->primary_reselect = gd->cfg.primary_reselect;
	o->num_peer_notif = gd->cfg.num_peer_notif;
	o->fail_over_mac = 0; /* VF and standby share the MAC already */
	/*
	 * Deliver what arrives on the backup slave too: around a switch the
	 * host's bridge sends to the old slave's port until it has learnt the
	 * new one; active-backup would drop those frames on the backup.
	 */
	o->all_slaves_active = gd->cfg.all_slaves_active;
	if (gd->cfg.peer_notif_delay) {
		o->mask |= VFO_NL_BOND_F_PEER_NOTIF_DELAY;
		o->peer_notif_delay = gd->cfg.peer_notif_delay;
	}
}

/* Change only what differs: an adopted bond that is right is not
 * touched at all. */
static int bond_fix_opts(struct vfo_guestd *gd, const struct vfo_nl_link *b)
{
	struct vfo_nl_bond want, set = { 0 };
	const struct vfo_nl_bond *has = &b->bond;

	wanted_opts(gd, &want);
	if (!b->has_bond)
		return -EINVAL;
	if ((has->mask & VFO_NL_BOND_F_MODE) && has->mode != VFO_NL_BOND_MODE_ACTIVE_BACKUP) {
		vfo_err(COMP, "%s: mode %u is not active-backup: not adopting it", b->name,
			has->mode);
		return -EINVAL;
	}
	if (!(has->mask & VFO_NL_BOND_F_MIIMON) || has->miimon != want.miimon) {
		set.mask |= VFO_NL_BOND_F_MIIMON;
		set.miimon = want.miimon;
	}
	if (!(has->mask & VFO_NL_BOND_F_PRIMARY_RESELECT) ||
	    has->primary_reselect != want.primary_reselect) {
		set.mask |= VFO_NL_BOND_F_PRIMARY_RESELECT;
		set.primary_reselect = want.primary_reselect;
	}
	if (!(has->mask & VFO_NL_BOND_F_NUM_PEER_NOTIF) ||
	    has->num_peer_notif != want.num_peer_notif) {
		set.mask |= VFO_NL_BOND_F_NUM_PEER_NOTIF;
		set.num_peer_notif = want.num_peer_notif;
	}
	if (!(has->mask & VFO_NL_BOND_F_ALL_SLAVES_ACTIVE) ||
	    has->all_slaves_active != want.all_slaves_active) {
		set.mask |= VFO_NL_BOND_F_ALL_SLAVES_ACTIVE;
		set.all_slaves_active = want.all_slaves_active;
	}
	if ((want.mask & VFO_NL_BOND_F_PEER_NOTIF_DELAY) &&
	    has->peer_notif_delay != want.peer_notif_delay) {
		set.mask |= VFO_NL_BOND_F_PEER_NOTIF_DELAY;
		set.peer_notif_delay = want.peer_notif_delay;
	}
	if (!set.mask)
		return 0;
	vfo_info(COMP, "%s: adjusting options (mask %#x)", b->name, set.mask);
	return vfo_nl_bond_set(gd->nl, b->ifindex, &set);
}

static bool addr_movable(const struct vfo_nl_addr *a)
{
	static const uint8_t ll[2] = { 0xfe, 0x80 };

	if (a->family == AF_INET6)
		return a->scope != RT_SCOPE_HOST && memcmp(a->address, ll, 2);
	return a->family == AF_INET && a->scope != RT_SCOPE_HOST;
}

static bool route_movable(const struct vfo_nl_route *r, int standby)
{
	static const uint8_t mc = 0xff;

	if (r->oif != standby || r->table != RT_TABLE_MAIN || r->type != RTN_UNICAST ||
	    r->protocol == RTPROT_KERNEL)
		return false;
	/* IPv6 link-local and multicast routes come with the device. */
	if (r->family == AF_INET6 && r->has_dst &&
	    ((r->dst[0] == 0xfe && (r->dst[1] & 0xc0) == 0x80) || r->dst[0] == mc))
		return false;
	return true;
}

struct snapshot {
	struct vfo_nl_addr *addrs;
	size_t n_addrs;
	struct vfo_nl_route *routes;
	size_t n_routes;
};

static void snapshot_free(struct snapshot *s)
{
	free(s->addrs);
	free(s->routes);
	memset(s, 0, sizeof(*s));
}

static int snapshot_take(struct vfo_nl *nl, int ifindex, struct snapshot *s)
{
	struct vfo_nl_addr *a = NULL;
	struct vfo_nl_route *r = NULL;
	size_t na = 0, nr = 0, i;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = vfo_nl_addr_dump(nl, AF_UNSPEC, &a, &na);
	if (ret)
		return ret;
	ret = vfo_nl_route_dump(nl, AF_INET, &r, &nr);
	if (!ret) {
		struct vfo_nl_route *r6 = NULL, *tmp;
		size_t n6 = 0;

		if (!vfo_nl_route_dump(nl, AF_INET6, &r6, &n6) && n6) {
			tmp = realloc(r, (nr + n6) * sizeof(*r));
			if (tmp) {
				r = tmp;
				memcpy(r + nr, r6, n6 * sizeof(*r));
				nr += n6;
			}
		}
		free(r6);
	}
	s->addrs = a;
	s->routes = r;
	for (i = 0; i < na; i++)
		if (a[i].ifindex == ifindex && addr_movable(&a[i]))
			s->addrs[s->n_addrs++] = a[i];
	for (i = 0; i < nr; i++)
		if (route_movable(&r[i], ifindex))
			s->routes[s->n_routes++] = r[i];
	return 0;
}

/*
 * Put the standby's addresses and routes on the bond, then take them off
 * the standby. Enslaving has already taken the standby down (which drops
 * its routes), so the routes are re-added at once from the snapshot: the
 * default route is back within the same few netlink requests.
 */
static void move_config(struct vfo_guestd *gd, struct vfo_gpair *p, struct snapshot *s)
{
	size_t i;
	int ret, pass;

	for (i = 0; i < s->n_addrs; i++) {
		struct vfo_nl_addr a = s->addrs[i];

		a.ifindex = p->bond;
		if (a.family == AF_INET6)
			a.flags |= 0x02; /* IFA_F_NODAD: it was ours already */
		ret = vfo_nl_addr_add(gd->nl, &a);
		if (ret && ret != -EEXIST)
			vfo_warn(COMP, "%s: adding an address: %s", p->bond_name, strerror(-ret));
	}
	/* Routes through a gateway need the prefix routes first: two
	 * passes, direct routes then the rest. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->n_routes; i++) {
			struct vfo_nl_route r = s->routes[i];

			if (r.has_gateway != (pass == 1))
				continue;
			r.oif = p->bond;
			ret = vfo_nl_route_add(gd->nl, &r);
			if (ret == -EEXIST) {
				/* Still there on the standby: swap. */
				vfo_nl_route_del(gd->nl, &s->routes[i]);
				ret = vfo_nl_route_add(gd->nl, &r);
			}
			if (ret && ret != -EEXIST)
				vfo_warn(COMP, "%s: adding a route: %s", p->bond_name,
					 strerror(-ret));
		}
	}
	for (i = 0; i < s->n_addrs; i++) {
		ret = vfo_nl_addr_del(gd->nl, &s->addrs[i]);
		if (ret && ret != -EADDRNOTAVAIL && ret != -ENODEV)
			vfo_dbg(COMP, "removing an address from the standby: %s", strerror(-ret));
	}
	vfo_notice(COMP, "%s: moved %zu address(es) and %zu route(s) from %s", p->bond_name,
		   s->n_addrs, s->n_routes, vfo_guestd_ifname(gd, p->standby));
}

static int take_standby(struct vfo_guestd *gd, struct vfo_gpair *p, const struct vfo_nl_link *sb)
{
	struct snapshot s = { 0 };
	int ret;

	if (gd->cfg.move_addresses) {
		ret = snapshot_take(gd->nl, p->standby, &s);
		if (ret)
			vfo_warn(COMP, "%s: cannot read addresses: %s", sb->name, strerror(-ret));
	}
	ret = vfo_nl_bond_enslave(gd->nl, p->bond, p->standby);
	if (ret) {
		snapshot_free(&s);
		/* Enslaving took it down: do not leave it so. */
		vfo_nl_set_up(gd->nl, p->standby, true);
		return ret;
	}
	ret = vfo_nl_set_up(gd->nl, p->bond, true);
	if (ret)
		vfo_warn(COMP, "%s: up: %s", p->bond_name, strerror(-ret));
	if (gd->cfg.move_addresses)
		move_config(gd, p, &s);
	snapshot_free(&s);
	return 0;
}

int vfo_gbond_setup(struct vfo_guestd *gd, struct vfo_gpair *p)
{
	const struct vfo_nl_link *sb = vfo_guestd_link(gd, p->standby);
	struct vfo_nl_link b;
	struct vfo_nl_bond opts;
	int ret;

	if (!sb)
		return -ENODEV;
	ret = bond_find(gd, p, &b);
	if (ret == -ENODEV) {
		wanted_opts(gd, &opts);
		ret = vfo_nl_bond_create(gd->nl, p->bond_name, &opts);
		if (ret)
			return ret;
		ret = vfo_nl_link_get(gd->nl, 0, p->bond_name, &b);
		if (ret)
			return ret;
		/* A bond takes its MTU from nothing: give it the standby's. */
		if (sb->mtu && b.mtu != sb->mtu)
			vfo_nl_set_mtu(gd->nl, b.ifindex, sb->mtu);
		vfo_info(COMP, "created %s", p->bond_name);
	} else if (ret) {
		return ret;
	} else {
		if (strcmp(b.kind, "bond")) {
			vfo_err(COMP, "%s exists and is not a bond", b.name);
			return -EEXIST;
		}
		ret = bond_fix_opts(gd, &b);
		if (ret)
			return ret;
		p->adopted = true;
		snprintf(p->bond_name, sizeof(p->bond_name), "%s", b.name);
	}
	p->bond = b.ifindex;
	if (sb->master != p->bond) {
		ret = take_standby(gd, p, sb);
		if (ret)
			return ret;
	} else if (!(b.flags & IFF_UP)) {
		vfo_nl_set_up(gd->nl, p->bond, true);
	}
	return 0;
}

static void act_log(struct vfo_gpair *p, const char *what, int ret)
{
	if (ret)
		vfo_warn(COMP, "%s: %s: %s", p->bond_name, what, strerror(-ret));
	else
		vfo_dbg(COMP, "%s: %s", p->bond_name, what);
}

/* Never enslave a NIC that is on its way out: re-read it first. */
static int enslave_vf(struct vfo_guestd *gd, struct vfo_gpair *p)
{
	struct vfo_nl_link vf;
	int ret;

	ret = vfo_nl_link_get(gd->nl, p->vf, NULL, &vf);
	if (ret)
		return ret;
	if (!vf.driver[0])
		return -ENODEV;
	if (vf.master && vf.master != p->bond)
		return -EBUSY;
	/* The bond's MTU wins on enslaving; say when the VF cannot. */
	ret = vfo_nl_bond_enslave(gd->nl, p->bond, p->vf);
	if (!ret)
		vfo_info(COMP, "%s: enslaved VF %s", p->bond_name, vf.name);
	return ret;
}

int vfo_gbond_act(struct vfo_guestd *gd, struct vfo_gpair *p, unsigned int actions)
{
	int ret, first = 0;

	/* Order matters: forget the primary before anything can pick it
	 * (enslaving a NIC whose name bonding remembers makes it active). */
	if (actions & VFO_ACT_CLEAR_PRIMARY) {
		ret = vfo_nl_bond_set_primary(gd->nl, p->bond, 0);
		act_log(p, "clear primary", ret);
		first = first ?: ret;
	}
	if (actions & VFO_ACT_ACTIVE_STANDBY) {
		ret = vfo_nl_bond_set_active(gd->nl, p->bond, p->standby);
		act_log(p, "active slave = standby", ret);
		first = first ?: ret;
	}
	if ((actions & VFO_ACT_ENSLAVE_VF) && p->vf) {
		ret = enslave_vf(gd, p);
		act_log(p, "enslave VF", ret);
		if (ret)
			return ret;
	}
	if ((actions & VFO_ACT_SET_PRIMARY) && p->vf) {
		ret = vfo_nl_bond_set_primary(gd->nl, p->bond, p->vf);
		act_log(p, "primary = VF", ret);
		first = first ?: ret;
	}
	if ((actions & VFO_ACT_ACTIVE_VF) && p->vf) {
		ret = vfo_nl_bond_set_active(gd->nl, p->bond, p->vf);
		act_log(p, "active slave = VF", ret);
		first = first ?: ret;
	}
	if (actions & VFO_ACT_NOTIFY_PEERS) {
		ret = vfo_notify_peers(gd->nl, p->bond);
		if (ret < 0)
			act_log(p, "peer notification", ret);
		else
			vfo_dbg(COMP, "%s: %d peer notification(s)", p->bond_name, ret);
	}
	return first;
}
