// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pairing of standbys and VFs: pure functions over link snapshots, so that
 * every odd inventory (duplicate MACs, NICs without a driver, a kernel
 * failover master that looks like virtio in sysfs) is a unit test.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pair.h"
#include "util.h"

static const uint8_t zero_mac[6];

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* "dddd:bb:dd.f" or "bb:dd.f", hex; normalised to the long lower-case form
 * sysfs uses. */
static bool parse_pci(const char *s, char *out, size_t outlen)
{
	unsigned int dom = 0, bus, dev, fn;
	char tail;

	if (sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) == 4) {
		if (strspn(s, "0123456789abcdefABCDEF:.") != strlen(s))
			return false;
	} else if (sscanf(s, "%x:%x.%x%c", &bus, &dev, &fn, &tail) == 3) {
		if (strspn(s, "0123456789abcdefABCDEF:.") != strlen(s))
			return false;
		dom = 0;
	} else {
		return false;
	}
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return false;
	snprintf(out, outlen, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return true;
}

static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	return true;
}

int vfo_sel_parse(const char *s, struct vfo_sel *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	if (parse_mac(s, out->mac)) {
		if (!memcmp(out->mac, zero_mac, 6))
			return -EINVAL;
		out->kind = VFO_SEL_MAC;
		return 0;
	}
	if (parse_pci(s, out->str, sizeof(out->str))) {
		out->kind = VFO_SEL_PCI;
		return 0;
	}
	if (!valid_ifname(s))
		return -EINVAL;
	out->kind = VFO_SEL_NAME;
	snprintf(out->str, sizeof(out->str), "%s", s);
	return 0;
}

const uint8_t *vfo_pair_link_mac(const struct vfo_nl_link *l)
{
	if (l->perm_addr_len == 6 && memcmp(l->perm_addr, zero_mac, 6))
		return l->perm_addr;
	if (l->addr_len == 6)
		return l->addr;
	return zero_mac;
}

bool vfo_sel_match(const struct vfo_sel *sel, const struct vfo_nl_link *l)
{
	switch (sel->kind) {
	case VFO_SEL_MAC:
		return !memcmp(vfo_pair_link_mac(l), sel->mac, 6);
	case VFO_SEL_PCI:
		return l->pci_addr[0] && !strcasecmp(l->pci_addr, sel->str);
	case VFO_SEL_NAME:
		return !strcmp(l->name, sel->str);
	case VFO_SEL_NONE:
		break;
	}
	return false;
}

static bool is_ether(const struct vfo_nl_link *l)
{
	return (l->type == 1 /* ARPHRD_ETHER */ || l->type == 0) &&
	       memcmp(vfo_pair_link_mac(l), zero_mac, 6);
}

bool vfo_pair_is_standby(const struct vfo_nl_link *l)
{
	return !strcmp(l->driver, "virtio_net") && !l->kind[0] && is_ether(l);
}

bool vfo_pair_is_vf(const struct vfo_nl_link *l)
{
	return l->driver[0] && l->pci_addr[0] && !l->kind[0] && strcmp(l->driver, "virtio_net") &&
	       is_ether(l);
}

static const struct vfo_nl_link *find_link(const struct vfo_nl_link *links, size_t n, int ifindex)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (links[i].ifindex == ifindex)
			return &links[i];
	return NULL;
}

static bool is_master_of_any(const struct vfo_nl_link *links, size_t n, int ifindex)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (links[i].master == ifindex)
			return true;
	return false;
}

/* Whether links[i] may be paired at all. */
static bool candidate(const struct vfo_nl_link *links, size_t n, size_t i)
{
	const struct vfo_nl_link *l = &links[i];

	return l->ifindex > 0 && l->driver[0] && !l->kind[0] &&
	       !is_master_of_any(links, n, l->ifindex) && is_ether(l);
}

struct ctx {
	const struct vfo_nl_link *links;
	size_t n;
	bool *claimed;
	bool *cand;
};

/* First unclaimed candidate matching sel, preferring (or requiring)
 * standby-ness as asked. */
static int find_sel(const struct ctx *c, const struct vfo_sel *sel, bool want_standby, int exclude)
{
	int pass, best = -1;
	size_t i;

	for (pass = 0; pass < 2 && best < 0; pass++) {
		for (i = 0; i < c->n; i++) {
			const struct vfo_nl_link *l = &c->links[i];

			if (!c->cand[i] || c->claimed[i] || l->ifindex == exclude ||
			    !vfo_sel_match(sel, l))
				continue;
			if (pass == 0 && vfo_pair_is_standby(l) != want_standby)
				continue;
			if (best < 0 || l->ifindex < c->links[best].ifindex)
				best = (int)i;
		}
	}
	return best;
}

/* The VF for a standby: an unclaimed VF with the same MAC; the one
 * enslaved next to the standby wins, else the lowest ifindex. */
static int find_vf(const struct ctx *c, const struct vfo_nl_link *sb, int *count)
{
	const uint8_t *mac = vfo_pair_link_mac(sb);
	int best = -1;
	size_t i;

	*count = 0;
	for (i = 0; i < c->n; i++) {
		const struct vfo_nl_link *l = &c->links[i];

		if (!c->cand[i] || c->claimed[i] || !vfo_pair_is_vf(l) ||
		    memcmp(vfo_pair_link_mac(l), mac, 6))
			continue;
		(*count)++;
		if (best < 0) {
			best = (int)i;
			continue;
		}
		bool l_next = sb->master && l->master == sb->master;
		bool b_next = sb->master && c->links[best].master == sb->master;

		if ((l_next && !b_next) ||
		    (l_next == b_next && l->ifindex < c->links[best].ifindex))
			best = (int)i;
	}
	return best;
}

static void fill(const struct ctx *c, struct vfo_pair_match *m, int cfg, int sb, int vf,
		 int vf_count)
{
	const struct vfo_nl_link *s = &c->links[sb];
	const struct vfo_nl_link *master;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	memcpy(m->mac, vfo_pair_link_mac(s), 6);
	m->standby = s->ifindex;
	m->vf = vf >= 0 ? c->links[vf].ifindex : 0;
	m->vf_candidates = vf_count;
	m->master = s->master;
	master = s->master ? find_link(c->links, c->n, s->master) : NULL;
	m->master_is_bond = master && !strcmp(master->kind, "bond");
	/* Enslaved to something that is not a bond: with a known master
	 * that can only be the kernel's failover (or a bridge/team the
	 * admin made): hands off either way. */
	m->mode = master && !m->master_is_bond ? VFO_PAIR_KERNEL : VFO_PAIR_BOND;
	c->claimed[sb] = true;
	if (vf >= 0)
		c->claimed[vf] = true;
}

static int match_explicit(const struct ctx *c, const struct vfo_pair_cfg *cfg, int idx,
			  struct vfo_pair_match *m)
{
	int sb, vf, count = 0;

	if (cfg->standby.kind == VFO_SEL_NONE)
		return 0;
	sb = find_sel(c, &cfg->standby, true, 0);
	if (sb < 0)
		return 0;
	if (cfg->vf.kind != VFO_SEL_NONE) {
		vf = find_sel(c, &cfg->vf, false, c->links[sb].ifindex);
		/* An explicit VF must still be a real, bound NIC. */
		if (vf >= 0 && !c->links[vf].pci_addr[0])
			vf = -1;
		count = vf >= 0;
	} else {
		vf = find_vf(c, &c->links[sb], &count);
	}
	fill(c, m, idx, sb, vf, count);
	return 1;
}

static bool ambiguous_standby(const struct ctx *c, size_t i)
{
	const uint8_t *mac = vfo_pair_link_mac(&c->links[i]);
	size_t j;

	for (j = 0; j < c->n; j++)
		if (j != i && c->cand[j] && !c->claimed[j] && vfo_pair_is_standby(&c->links[j]) &&
		    !memcmp(vfo_pair_link_mac(&c->links[j]), mac, 6))
			return true;
	return false;
}

int vfo_pair_match(const struct vfo_nl_link *links, size_t n, const struct vfo_pair_cfg *cfgs,
		   size_t n_cfgs, bool auto_pair, struct vfo_pair_match *out, size_t max,
		   int *ambiguous)
{
	bool claimed[256] = { false }, cand[256] = { false };
	struct ctx c = { links, n, claimed, cand };
	size_t i, count = 0;

	if ((n && !links) || (n_cfgs && !cfgs) || (max && !out) || n > VFO_ARRAY_SIZE(claimed))
		return -EINVAL;
	if (ambiguous)
		*ambiguous = 0;
	for (i = 0; i < n; i++)
		cand[i] = candidate(links, n, i);

	for (i = 0; i < n_cfgs && count < max; i++)
		count += match_explicit(&c, &cfgs[i], (int)i, &out[count]);
	if (!auto_pair)
		return (int)count;

	/* Ambiguity is decided before anything is claimed, so that the
	 * result does not depend on the order of the links. */
	bool amb[256] = { false };

	for (i = 0; i < n; i++)
		amb[i] = cand[i] && !claimed[i] && vfo_pair_is_standby(&links[i]) &&
			 ambiguous_standby(&c, i);
	for (i = 0; i < n && count < max; i++) {
		int vf, vfc;

		if (!cand[i] || claimed[i] || !vfo_pair_is_standby(&links[i]))
			continue;
		if (amb[i]) {
			if (ambiguous)
				(*ambiguous)++;
			continue;
		}
		vf = find_vf(&c, &links[i], &vfc);
		fill(&c, &out[count++], -1, (int)i, vf, vfc);
	}
	return (int)count;
}

int vfo_pair_bond_name(const char *prefix, const char *const *used, size_t n, char *out,
		       size_t outlen)
{
	char name[IFNAMSIZ + 8];
	unsigned int idx;
	size_t i;

	for (idx = 0; idx < 1000; idx++) {
		bool taken = false;
		int len = snprintf(name, sizeof(name), "%s%u", prefix, idx);

		if (len < 0 || len >= IFNAMSIZ || (size_t)len >= outlen)
			return -ENAMETOOLONG;
		for (i = 0; i < n && !taken; i++)
			taken = used[i] && !strcmp(used[i], name);
		if (!taken) {
			memcpy(out, name, (size_t)len + 1);
			return 0;
		}
	}
	return -ENOSPC;
}

static const char *summary_state(const struct vfo_pair_summary *s)
{
	if (!s->ready)
		return "setting up";
	if (s->kernel)
		return "kernel-managed";
	if (s->active_role && !strcmp(s->active_role, "vf"))
		return "on the VF";
	if (s->active_role && !strcmp(s->active_role, "standby"))
		return "on the standby";
	return "up";
}

size_t vfo_pair_summary_text(const struct vfo_pair_summary *s, size_t n, char *out, size_t outlen)
{
	size_t i, pending = 0, used;
	int len;

	if (!outlen)
		return 0;
	for (i = 0; i < n; i++)
		pending += !s[i].ready;
	if (!n) {
		snprintf(out, outlen, "no pair yet");
		return 0;
	}
	len = snprintf(out, outlen, "%zu pair%s:", n, n == 1 ? "" : "s");
	used = len > 0 ? (size_t)len : 0;
	for (i = 0; i < n && used < outlen; i++) {
		len = snprintf(out + used, outlen - used, "%s %s %s", i ? "," : "", s[i].name,
			       summary_state(&s[i]));
		used += len > 0 ? (size_t)len : 0;
	}
	/* Truncated: say so rather than end in the middle of a name. */
	if (used >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
	return pending;
}
