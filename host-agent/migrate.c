// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "migrate.h"
#include "util.h"

static const char *const state_names[] = {
	[VFO_MIG_IDLE] = "idle",	   [VFO_MIG_LEAVING] = "leaving",
	[VFO_MIG_DETACHING] = "detaching", [VFO_MIG_MIGRATING] = "migrating",
	[VFO_MIG_RELEASING] = "releasing", [VFO_MIG_ROLLBACK] = "rollback",
	[VFO_MIG_ATTACHING] = "attaching", [VFO_MIG_DEGRADED] = "degraded",
	[VFO_MIG_DONE] = "done",	   [VFO_MIG_FAILED] = "failed",
};

const char *vfo_mig_state_str(enum vfo_mig_state s)
{
	if ((size_t)s < VFO_ARRAY_SIZE(state_names) && state_names[s])
		return state_names[s];
	return "?";
}

int vfo_mig_state_from_str(const char *s)
{
	for (size_t i = 0; s && i < VFO_ARRAY_SIZE(state_names); i++) {
		if (state_names[i] && !strcmp(state_names[i], s))
			return (int)i;
	}
	return -EINVAL;
}

void vfo_mig_cfg_defaults(struct vfo_mig_cfg *cfg)
{
	cfg->ack_timeout_ms = 2000;
	cfg->unplug_timeout_ms = 10000;
	cfg->migrate_timeout_ms = 600000;
	cfg->attach_timeout_ms = 10000;
	cfg->attach_retries = 2;
	cfg->removal_failed = VFO_MIG_POLICY_ABORT;
}

static int copy_str(char *dst, size_t len, const char *src)
{
	if (!src || strlen(src) >= len)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

int vfo_mig_init(struct vfo_mig *m, bool incoming, const char *domain, const char *uuid,
		 const char *dest_uri, bool agent)
{
	memset(m, 0, sizeof(*m));
	m->incoming = incoming;
	m->agent = agent;
	if (copy_str(m->domain, sizeof(m->domain), domain) < 0 || !domain[0])
		return -EINVAL;
	if (uuid && copy_str(m->uuid, sizeof(m->uuid), uuid) < 0)
		return -EINVAL;
	if (!incoming && (copy_str(m->dest_uri, sizeof(m->dest_uri), dest_uri) < 0 || !dest_uri[0]))
		return -EINVAL;
	return 0;
}

int vfo_mig_add_pair(struct vfo_mig *m, const char *id, const char *alias, bool has_vf)
{
	struct vfo_mig_pair *p;

	if (m->n_pairs >= VFO_MIG_MAX_PAIRS || m->state != VFO_MIG_IDLE)
		return -EINVAL;
	p = &m->pairs[m->n_pairs];
	memset(p, 0, sizeof(*p));
	if (copy_str(p->id, sizeof(p->id), id) < 0 ||
	    copy_str(p->alias, sizeof(p->alias), alias) < 0)
		return -EINVAL;
	p->has_vf = has_vf;
	/* A pair without a VF has nothing to unplug. */
	p->removed = !has_vf;
	p->acked = !has_vf;
	m->n_pairs++;
	return 0;
}

bool vfo_mig_finished(const struct vfo_mig *m)
{
	return m->state == VFO_MIG_DONE || m->state == VFO_MIG_FAILED;
}

static int find_pair(const struct vfo_mig *m, const char *id, const char *alias)
{
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (id && !strcmp(m->pairs[i].id, id))
			return (int)i;
		if (alias && !strcmp(m->pairs[i].alias, alias))
			return (int)i;
	}
	return -1;
}

struct out {
	struct vfo_mig_action *acts;
	int n;
};

static void emit(struct out *o, enum vfo_mig_action_type t, size_t pair)
{
	if (o->n < VFO_MIG_MAX_ACTIONS)
		o->acts[o->n++] = (struct vfo_mig_action){ .type = t, .pair = pair };
}

static void set_error(struct vfo_mig *m, const char *what, const char *detail)
{
	if (m->error[0])
		return; /* the first cause is the one worth reporting */
	snprintf(m->error, sizeof(m->error), "%s%s%s", what, detail ? ": " : "",
		 detail ? detail : "");
}

static void finish(struct vfo_mig *m, enum vfo_mig_state s, struct out *o)
{
	m->state = s;
	m->deadline_ms = 0;
	emit(o, VFO_MIG_ACT_FINISHED, 0);
}

static bool all(const struct vfo_mig *m, size_t off)
{
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (!*(const bool *)((const char *)&m->pairs[i] + off))
			return false;
	}
	return true;
}

#define ALL(m, field) all(m, offsetof(struct vfo_mig_pair, field))

static void enter_migrating(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, int64_t now,
			    struct out *o)
{
	m->state = VFO_MIG_MIGRATING;
	m->deadline_ms = now + cfg->migrate_timeout_ms;
	emit(o, VFO_MIG_ACT_MIGRATE, 0);
}

static void enter_detaching(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, int64_t now,
			    struct out *o)
{
	m->state = VFO_MIG_DETACHING;
	m->deadline_ms = now + cfg->unplug_timeout_ms;
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (!m->pairs[i].removed)
			emit(o, VFO_MIG_ACT_DETACH, i);
	}
	if (ALL(m, removed))
		enter_migrating(m, cfg, now, o);
}

/* Put back every VF this migration took away (source), or give the ones
 * not yet attached another try (destination). */
static void enter_attach(struct vfo_mig *m, enum vfo_mig_state s, const struct vfo_mig_cfg *cfg,
			 int64_t now, struct out *o)
{
	bool any = false;

	m->state = s;
	m->deadline_ms = now + cfg->attach_timeout_ms;
	for (size_t i = 0; i < m->n_pairs; i++) {
		struct vfo_mig_pair *p = &m->pairs[i];

		if (!p->has_vf || p->attached)
			continue;
		if (s == VFO_MIG_ROLLBACK && !p->removed) {
			/* Never left: only the guest needs telling. */
			p->attached = true;
			emit(o, VFO_MIG_ACT_SEND_ARRIVING, i);
			continue;
		}
		p->attach_tries++;
		emit(o, VFO_MIG_ACT_ATTACH, i);
		any = true;
	}
	if (!any)
		finish(m, s == VFO_MIG_ROLLBACK ? VFO_MIG_FAILED : VFO_MIG_DONE, o);
}

static void attach_settled(struct vfo_mig *m, struct out *o)
{
	for (size_t i = 0; i < m->n_pairs; i++) {
		const struct vfo_mig_pair *p = &m->pairs[i];

		if (p->has_vf && !p->attached)
			return;
	}
	finish(m, m->state == VFO_MIG_ROLLBACK ? VFO_MIG_FAILED : VFO_MIG_DONE, o);
}

static void enter_releasing(struct vfo_mig *m, struct out *o)
{
	bool any = false;

	m->state = VFO_MIG_RELEASING;
	m->deadline_ms = 0;
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (m->pairs[i].has_vf && !m->pairs[i].released) {
			emit(o, VFO_MIG_ACT_RELEASE, i);
			any = true;
		}
	}
	if (!any)
		finish(m, VFO_MIG_DONE, o);
}

static void roll_back(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, int64_t now,
		      const char *why, const char *detail, struct out *o)
{
	set_error(m, why, detail);
	enter_attach(m, VFO_MIG_ROLLBACK, cfg, now, o);
}

static int step_start(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, int64_t now, struct out *o)
{
	if (m->incoming) {
		enter_attach(m, VFO_MIG_ATTACHING, cfg, now, o);
		return 0;
	}
	m->state = VFO_MIG_LEAVING;
	m->deadline_ms = now + cfg->ack_timeout_ms;
	if (!m->agent) {
		/* No agent to warn: the guest's bond fails over on its own. */
		for (size_t i = 0; i < m->n_pairs; i++)
			m->pairs[i].acked = true;
	}
	for (size_t i = 0; i < m->n_pairs; i++) {
		if (!m->pairs[i].acked)
			emit(o, VFO_MIG_ACT_SEND_LEAVING, i);
	}
	if (ALL(m, acked))
		enter_detaching(m, cfg, now, o);
	return 0;
}

static int step_attach_result(struct vfo_mig *m, const struct vfo_mig_cfg *cfg,
			      const struct vfo_mig_input *in, struct out *o)
{
	int i = find_pair(m, in->pair, NULL);
	struct vfo_mig_pair *p;

	if (i < 0 || (m->state != VFO_MIG_ATTACHING && m->state != VFO_MIG_ROLLBACK &&
		      m->state != VFO_MIG_DEGRADED))
		return -EINVAL;
	p = &m->pairs[i];
	if (p->attached)
		return -EINVAL;
	switch (in->type) {
	case VFO_MIG_IN_ATTACH_OK:
		p->attached = true;
		emit(o, VFO_MIG_ACT_SEND_ARRIVING, (size_t)i);
		if (m->state == VFO_MIG_DEGRADED) {
			bool pending = false;

			for (size_t j = 0; j < m->n_pairs; j++)
				pending |= m->pairs[j].has_vf && !m->pairs[j].attached;
			if (!pending)
				finish(m, VFO_MIG_DONE, o);
			return 0;
		}
		attach_settled(m, o);
		return 0;
	case VFO_MIG_IN_NO_VF:
		if (m->state == VFO_MIG_ROLLBACK) {
			/* The source VF is held for us: it cannot vanish. */
			set_error(m, "rollback: VF no longer available", p->id);
			p->has_vf = false;
			attach_settled(m, o);
			return 0;
		}
		m->state = VFO_MIG_DEGRADED;
		m->deadline_ms = 0;
		return 0;
	case VFO_MIG_IN_ATTACH_FAILED:
		set_error(m, "attach failed", in->error);
		if (p->attach_tries <= cfg->attach_retries) {
			p->attach_tries++;
			m->deadline_ms = in->now_ms + cfg->attach_timeout_ms;
			emit(o, VFO_MIG_ACT_ATTACH, (size_t)i);
			return 0;
		}
		/* Out of retries: the guest stays on its standby. */
		p->has_vf = false;
		if (m->state == VFO_MIG_DEGRADED)
			m->state = VFO_MIG_ATTACHING;
		attach_settled(m, o);
		return 0;
	default:
		return -EINVAL;
	}
}

static int step_tick(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, int64_t now, struct out *o)
{
	if (!m->deadline_ms || now < m->deadline_ms)
		return 0;
	switch (m->state) {
	case VFO_MIG_LEAVING:
		/* A guest that never acks still gets migrated: its bond fails
		 * over when the VF goes, as without vfo. The orchestrator logs
		 * it; it is not the migration's failure. */
		for (size_t i = 0; i < m->n_pairs; i++)
			m->pairs[i].acked = true;
		enter_detaching(m, cfg, now, o);
		return 0;
	case VFO_MIG_DETACHING:
		if (cfg->removal_failed == VFO_MIG_POLICY_PROCEED) {
			enter_migrating(m, cfg, now, o);
			return 0;
		}
		roll_back(m, cfg, now, "VF removal timed out", NULL, o);
		return 0;
	case VFO_MIG_MIGRATING:
		/* The orchestrator cancels the job; its failure comes back as
		 * MIGRATE_FAILED. Re-arm so a stuck cancel is retried. */
		set_error(m, "migration timed out", NULL);
		m->deadline_ms = now + cfg->migrate_timeout_ms;
		return 0;
	case VFO_MIG_ATTACHING:
	case VFO_MIG_ROLLBACK:
		for (size_t i = 0; i < m->n_pairs; i++) {
			struct vfo_mig_pair *p = &m->pairs[i];

			if (!p->has_vf || p->attached)
				continue;
			if (p->attach_tries <= cfg->attach_retries) {
				p->attach_tries++;
				emit(o, VFO_MIG_ACT_ATTACH, i);
			} else {
				set_error(m, "attach timed out", p->id);
				p->has_vf = false;
			}
		}
		m->deadline_ms = now + cfg->attach_timeout_ms;
		attach_settled(m, o);
		return 0;
	default:
		m->deadline_ms = 0;
		return 0;
	}
}

/*
 * A restarted daemon does not know which of the current step's actions
 * were carried out: do them again. The orchestrator's actions are
 * idempotent (detaching an absent VF counts as removed, attaching a
 * present one as attached, releasing a free one is a no-op).
 */
static int step_resume(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, int64_t now, struct out *o)
{
	switch (m->state) {
	case VFO_MIG_LEAVING:
		m->deadline_ms = now + cfg->ack_timeout_ms;
		for (size_t i = 0; i < m->n_pairs; i++) {
			if (!m->agent)
				m->pairs[i].acked = true;
			else if (!m->pairs[i].acked)
				emit(o, VFO_MIG_ACT_SEND_LEAVING, i);
		}
		if (ALL(m, acked))
			enter_detaching(m, cfg, now, o);
		return 0;
	case VFO_MIG_DETACHING:
		enter_detaching(m, cfg, now, o);
		return 0;
	case VFO_MIG_RELEASING:
		enter_releasing(m, o);
		return 0;
	case VFO_MIG_ROLLBACK:
	case VFO_MIG_ATTACHING:
		m->deadline_ms = now + cfg->attach_timeout_ms;
		for (size_t i = 0; i < m->n_pairs; i++) {
			if (m->pairs[i].has_vf && !m->pairs[i].attached)
				emit(o, VFO_MIG_ACT_ATTACH, i);
		}
		attach_settled(m, o);
		return 0;
	default:
		/* MIGRATING: libvirt tells the orchestrator how it ended;
		 * DEGRADED, IDLE: nothing was under way. */
		return 0;
	}
}

int vfo_mig_step(struct vfo_mig *m, const struct vfo_mig_cfg *cfg, const struct vfo_mig_input *in,
		 struct vfo_mig_action *acts)
{
	struct out o = { .acts = acts };
	int64_t now = in->now_ms;
	int i, rc = 0;

	if (vfo_mig_finished(m) && in->type != VFO_MIG_IN_TICK)
		return -EINVAL;
	switch (in->type) {
	case VFO_MIG_IN_START:
	case VFO_MIG_IN_ARRIVED:
		if (m->state != VFO_MIG_IDLE || m->incoming != (in->type == VFO_MIG_IN_ARRIVED))
			return -EINVAL;
		m->started_ms = vfo_wall_ms();
		rc = step_start(m, cfg, now, &o);
		break;
	case VFO_MIG_IN_ACK:
		i = find_pair(m, in->pair, NULL);
		if (m->state != VFO_MIG_LEAVING || i < 0)
			return -EINVAL;
		m->pairs[i].acked = true;
		if (ALL(m, acked))
			enter_detaching(m, cfg, now, &o);
		break;
	case VFO_MIG_IN_AGENT_GONE:
		m->agent = false;
		if (m->state != VFO_MIG_LEAVING)
			break;
		for (size_t j = 0; j < m->n_pairs; j++)
			m->pairs[j].acked = true;
		enter_detaching(m, cfg, now, &o);
		break;
	case VFO_MIG_IN_DEVICE_REMOVED:
		i = find_pair(m, NULL, in->alias);
		if (i < 0 || m->pairs[i].removed)
			return -EINVAL;
		/* Also late, after a timeout already moved on: record the fact,
		 * the rollback must then re-attach this VF. */
		m->pairs[i].removed = true;
		if (m->state == VFO_MIG_DETACHING && ALL(m, removed))
			enter_migrating(m, cfg, now, &o);
		break;
	case VFO_MIG_IN_REMOVAL_FAILED:
		i = find_pair(m, NULL, in->alias);
		if (i < 0 || m->state != VFO_MIG_DETACHING)
			return -EINVAL;
		if (cfg->removal_failed == VFO_MIG_POLICY_PROCEED)
			enter_migrating(m, cfg, now, &o);
		else
			roll_back(m, cfg, now, "guest refused to release the VF", m->pairs[i].id,
				  &o);
		break;
	case VFO_MIG_IN_MIGRATE_OK:
		if (m->state != VFO_MIG_MIGRATING)
			return -EINVAL;
		m->error[0] = '\0';
		enter_releasing(m, &o);
		break;
	case VFO_MIG_IN_MIGRATE_FAILED:
		if (m->state != VFO_MIG_MIGRATING)
			return -EINVAL;
		roll_back(m, cfg, now, "migration failed", in->error, &o);
		break;
	case VFO_MIG_IN_ATTACH_OK:
	case VFO_MIG_IN_ATTACH_FAILED:
	case VFO_MIG_IN_NO_VF:
		rc = step_attach_result(m, cfg, in, &o);
		break;
	case VFO_MIG_IN_VF_FREED:
		if (m->state != VFO_MIG_DEGRADED)
			return -EINVAL;
		m->state = VFO_MIG_ATTACHING;
		for (size_t j = 0; j < m->n_pairs; j++)
			m->pairs[j].attach_tries = 0;
		enter_attach(m, VFO_MIG_ATTACHING, cfg, now, &o);
		break;
	case VFO_MIG_IN_RELEASED:
		i = find_pair(m, in->pair, NULL);
		if (i < 0 || m->state != VFO_MIG_RELEASING || m->pairs[i].released)
			return -EINVAL;
		m->pairs[i].released = true;
		for (size_t j = 0; j < m->n_pairs; j++) {
			if (m->pairs[j].has_vf && !m->pairs[j].released)
				return o.n;
		}
		finish(m, VFO_MIG_DONE, &o);
		break;
	case VFO_MIG_IN_TICK:
		rc = step_tick(m, cfg, now, &o);
		break;
	case VFO_MIG_IN_RESUME:
		rc = step_resume(m, cfg, now, &o);
		break;
	default:
		return -EINVAL;
	}
	return rc < 0 ? rc : o.n;
}

/* ---- persistence ---------------------------------------------------------- */

struct json_object *vfo_mig_to_json(const struct vfo_mig *m, int64_t now_ms)
{
	struct json_object *o = json_object_new_object(), *pairs = json_object_new_array();

	json_object_object_add(o, "state", json_object_new_string(vfo_mig_state_str(m->state)));
	json_object_object_add(o, "incoming", json_object_new_boolean(m->incoming));
	json_object_object_add(o, "agent", json_object_new_boolean(m->agent));
	json_object_object_add(o, "domain", json_object_new_string(m->domain));
	json_object_object_add(o, "uuid", json_object_new_string(m->uuid));
	json_object_object_add(o, "dest_uri", json_object_new_string(m->dest_uri));
	json_object_object_add(o, "p2p", json_object_new_boolean(m->p2p));
	json_object_object_add(o, "deadline_in_ms",
			       json_object_new_int64(m->deadline_ms ? m->deadline_ms - now_ms :
								      -1));
	json_object_object_add(o, "started_ms", json_object_new_int64(m->started_ms));
	json_object_object_add(o, "error", json_object_new_string(m->error));
	for (size_t i = 0; i < m->n_pairs; i++) {
		const struct vfo_mig_pair *p = &m->pairs[i];
		struct json_object *po = json_object_new_object();

		json_object_object_add(po, "id", json_object_new_string(p->id));
		json_object_object_add(po, "alias", json_object_new_string(p->alias));
		json_object_object_add(po, "has_vf", json_object_new_boolean(p->has_vf));
		json_object_object_add(po, "acked", json_object_new_boolean(p->acked));
		json_object_object_add(po, "removed", json_object_new_boolean(p->removed));
		json_object_object_add(po, "attached", json_object_new_boolean(p->attached));
		json_object_object_add(po, "released", json_object_new_boolean(p->released));
		json_object_object_add(po, "attach_tries", json_object_new_int(p->attach_tries));
		json_object_array_add(pairs, po);
	}
	json_object_object_add(o, "pairs", pairs);
	return o;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int jbool(struct json_object *o, const char *k, bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_boolean))
		return -EBADMSG;
	*out = json_object_get_boolean(v);
	return 0;
}

static int jint(struct json_object *o, const char *k, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_int64(v);
	return 0;
}

int vfo_mig_from_json(struct json_object *o, int64_t now_ms, struct vfo_mig *m)
{
	struct json_object *pairs;
	bool incoming, agent, p2p;
	int64_t deadline, started;
	const char *s;
	int state;

	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	state = vfo_mig_state_from_str(jstr(o, "state"));
	if (state < 0 || jbool(o, "incoming", &incoming) || jbool(o, "agent", &agent) ||
	    jbool(o, "p2p", &p2p) || jint(o, "deadline_in_ms", &deadline) ||
	    jint(o, "started_ms", &started))
		return -EBADMSG;
	if (vfo_mig_init(m, incoming, jstr(o, "domain") ? jstr(o, "domain") : "",
			 jstr(o, "uuid") ? jstr(o, "uuid") : "",
			 jstr(o, "dest_uri") ? jstr(o, "dest_uri") : "", agent) < 0)
		return -EBADMSG;
	if (!json_object_object_get_ex(o, "pairs", &pairs) ||
	    !json_object_is_type(pairs, json_type_array) ||
	    json_object_array_length(pairs) > VFO_MIG_MAX_PAIRS)
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(pairs); i++) {
		struct json_object *po = json_object_array_get_idx(pairs, i);
		struct vfo_mig_pair *p;
		int64_t tries;
		bool has_vf;

		if (!json_object_is_type(po, json_type_object) || jbool(po, "has_vf", &has_vf) ||
		    vfo_mig_add_pair(m, jstr(po, "id"), jstr(po, "alias"), has_vf) < 0)
			return -EBADMSG;
		p = &m->pairs[m->n_pairs - 1];
		if (jbool(po, "acked", &p->acked) || jbool(po, "removed", &p->removed) ||
		    jbool(po, "attached", &p->attached) || jbool(po, "released", &p->released) ||
		    jint(po, "attach_tries", &tries) || tries < 0 || tries > 1000)
			return -EBADMSG;
		p->attach_tries = (unsigned int)tries;
	}
	m->state = state;
	m->p2p = p2p;
	m->started_ms = started;
	m->deadline_ms = deadline < 0 ? 0 : now_ms + deadline;
	s = jstr(o, "error");
	if (s)
		snprintf(m->error, sizeof(m->error), "%s", s);
	return 0;
}
