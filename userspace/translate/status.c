/* translate/status.c - the translator's decisions as Gateway API status.
 *
 * Documents follow the upstream status schema exactly (condition fields,
 * listener status, route parent status), so what gwbpf reports is what
 * `kubectl get -o yaml` would show. Objects gwbpf does not own (classes of
 * other controllers, their Gateways, routes with no parent of ours) and
 * kinds without status get NULL and ok=true.
 */
#include "gwbpf/api.h"

#include <jansson.h>
#include <stdio.h>

#include "gwbpf/features.h"
#include "gwbpf/diag.h"
#include "gwbpf/model.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"
#include "translate-int.h"

json_t *tx_cond(const struct tx_ctx *c, const struct gw_object *o, const char *type, bool ok,
		const char *reason, const char *msg)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "type", type, "status",
			 ok ? "True" : "False", "reason", reason, "message", msg ? msg : "",
			 "observedGeneration", (json_int_t)o->generation, "lastTransitionTime",
			 c->now);
}

static int push(json_t *arr, json_t *v)
{
	return v ? json_array_append_new(arr, v) : -1;
}

static json_t *class_status(const struct tx_ctx *c, size_t i)
{
	const struct gw_m_gatewayclass *gc = &c->m->classes[i];
	json_t *st = json_object(), *conds = json_array(), *feat = json_array();
	bool ok = c->class_ok[i];

	if (!st || !conds || !feat)
		goto fail;
	push(conds, tx_cond(c, gc->obj, "Accepted", ok, ok ? "Accepted" : "InvalidParameters",
			    ok ? "GatewayClass is accepted by " GW_CONTROLLER_NAME
			       : "parametersRef does not name an existing ConfigMap"));
	push(conds, tx_cond(c, gc->obj, "SupportedVersion", true, "SupportedVersion",
			    "Gateway API v1.6.1 CRDs are supported"));
	json_object_set_new(st, "conditions", conds);
	conds = NULL;
	{
		const char *const *fl = c->opts->supported_features ?: gw_supported_features;

		for (const char *const *f = fl; *f; f++)
			push(feat, json_pack("{s:s}", "name", *f));
		json_object_set_new(st, "supportedFeatures", feat);
		feat = NULL;
	}
	json_decref(feat);
	return st;
fail:
	json_decref(st);
	json_decref(conds);
	json_decref(feat);
	return NULL;
}

static json_t *listener_status(const struct tx_ctx *c, const struct gw_object *o,
			       const struct tx_listener *tl)
{
	json_t *kinds = json_array(), *conds = json_array();
	const char *prog_reason = tl->programmed ? "Programmed" : "Invalid";
	const char *prog_msg = tl->programmed ? "listener is serving" :
			       !tl->accepted	  ? "listener is not accepted" :
			       !tl->gw->accepted  ? "the Gateway is not accepted" :
			       !tl->gw->address   ? "the Gateway has no address" :
						    "listener has unresolved references";

	if (!kinds || !conds)
		goto fail;
	for (size_t i = 0; i < tl->n_kinds; i++)
		push(kinds, json_pack("{s:s, s:s}", "group", tl->kinds[i].group, "kind",
				      tl->kinds[i].kind));
	/* a rejected Gateway gets no address: that is not the listener's
	 * problem to report */
	if (!tl->programmed && tl->accepted && tl->gw->accepted && !tl->gw->address)
		prog_reason = "AddressNotAssigned";
	/* a conflicted listener is not served because of the conflict: say so
	 * in Programmed too (ListenerSetHostnameConflict expects the reason) */
	if (!tl->programmed && tl->conflicted) {
		prog_reason = tl->conflict_reason;
		prog_msg = "listener conflicts with another listener";
	}
	push(conds, tx_cond(c, o, "Accepted", tl->accepted, tl->accept_reason,
			    tl->accepted ? "listener is accepted" : tl->accept_msg));
	/* ResolvedRefs before Programmed: readers (and `gwbpf validate`) show
	 * the first bad condition, and the cause beats its consequence */
	push(conds, tx_cond(c, o, "ResolvedRefs", tl->refs_ok, tl->refs_reason,
			    tl->refs_ok ? "all references are resolved" : tl->refs_msg));
	push(conds, tx_cond(c, o, "Programmed", tl->programmed, prog_reason, prog_msg));
	push(conds,
	     tx_cond(c, o, "Conflicted", tl->conflicted, tl->conflict_reason,
		     tl->conflicted ? "listener conflicts with another listener" : "no conflicts"));
	return json_pack("{s:s, s:o, s:I, s:o}", "name", tl->l->name, "supportedKinds", kinds,
			 "attachedRoutes", (json_int_t)tl->attached, "conditions", conds);
fail:
	json_decref(kinds);
	json_decref(conds);
	return NULL;
}

static json_t *gateway_status(const struct tx_ctx *c, const struct tx_gateway *gw)
{
	const struct gw_object *o = gw->g->obj;
	json_t *st = json_object(), *conds = json_array(), *ls = json_array(), *addrs = json_array();
	bool prog = gw->programmed && gw->address;

	if (!st || !conds || !ls || !addrs)
		goto fail;
	if (gw->address)
		push(addrs, json_pack("{s:s, s:s}", "type", "IPAddress", "value", gw->address));
	push(conds, tx_cond(c, o, "Accepted", gw->accepted, gw->accept_reason,
			    gw->accept_msg[0] ? gw->accept_msg : "Gateway is accepted"));
	push(conds, tx_cond(c, o, "Programmed", prog, prog ? "Programmed" : gw->prog_reason,
			    prog	      ? "Gateway is programmed"
			    : gw->prog_msg[0] ? gw->prog_msg
					      : "Gateway has no address"));
	if (gw->insecure_frontend) /* spec.tls.frontend AllowInsecureFallback (policy_tls.c) */
		push(conds,
		     tx_cond(c, o, "InsecureFrontendValidationMode", true, "ConfigurationChanged",
			     "an HTTPS listener accepts clients without a valid certificate "
			     "(AllowInsecureFallback)"));
	if (gw->has_backend_cert) /* spec.tls.backend.clientCertificateRef (policy_tls.c) */
		push(conds,
		     tx_cond(c, o, "ResolvedRefs", gw->backend_refs_ok, gw->backend_refs_reason,
			     gw->backend_refs_ok ? "all references are resolved"
						 : gw->backend_refs_msg));
	for (size_t i = 0; i < gw->n_ls; i++)
		push(ls, listener_status(c, o, &gw->ls[i]));
	json_object_set_new(st, "addresses", addrs);
	json_object_set_new(st, "conditions", conds);
	json_object_set_new(st, "listeners", ls);
	if (gw->g->allowed_listeners != GW_FROM_NONE)
		json_object_set_new(st, "attachedListenerSets",
				    json_integer((json_int_t)gw->attached_lsets));
	return st;
fail:
	json_decref(st);
	json_decref(conds);
	json_decref(ls);
	json_decref(addrs);
	return NULL;
}

static json_t *lset_status(const struct tx_ctx *c, const struct tx_lset *s)
{
	const struct gw_object *o = s->s->obj;
	json_t *st = json_object(), *conds = json_array(), *ls = json_array();
	bool prog = s->accepted && s->gw->programmed;

	if (!st || !conds || !ls)
		goto fail;
	push(conds, tx_cond(c, o, "Accepted", s->accepted, s->reason,
			    s->msg[0] ? s->msg : "ListenerSet is accepted"));
	push(conds, tx_cond(c, o, "Programmed", prog, prog ? "Programmed" : s->reason,
			    prog ? "ListenerSet is programmed" : "ListenerSet is not programmed"));
	for (size_t i = 0; i < s->n_ls; i++)
		push(ls, listener_status(c, o, &s->ls[i]));
	json_object_set_new(st, "conditions", conds);
	json_object_set_new(st, "listeners", ls);
	return st;
fail:
	json_decref(st);
	json_decref(conds);
	json_decref(ls);
	return NULL;
}

static json_t *route_status(const struct tx_ctx *c, const struct tx_route *tr, bool *ok)
{
	const struct gw_m_route *r = tr->r;
	json_t *st, *parents = json_array();
	size_t n = 0;

	*ok = true;
	if (!parents)
		return NULL;
	for (size_t i = 0; i < r->n_parents; i++) {
		const struct gw_m_parent_ref *p = &r->parents[i];
		const struct tx_parent *tp = &tr->parents[i];
		json_t *pr, *conds, *ps;
		bool partially = tr->n_invalid > 0 && tr->n_invalid < r->n_rules;
		bool all_invalid = r->n_rules && tr->n_invalid == r->n_rules;
		bool acc = tp->accepted && !all_invalid;

		if (!tp->ours)
			continue;
		conds = json_array();
		pr = json_pack("{s:s, s:s, s:s, s:s}", "group", p->group, "kind", p->kind,
			       "namespace", p->ns, "name", p->name);
		if (!pr || !conds) {
			json_decref(pr);
			json_decref(conds);
			json_decref(parents);
			return NULL;
		}
		if (p->section)
			json_object_set_new(pr, "sectionName", json_string(p->section));
		if (p->port)
			json_object_set_new(pr, "port", json_integer(p->port));
		if (all_invalid)
			push(conds, tx_cond(c, r->obj, "Accepted", false, "UnsupportedValue",
					    tr->invalid_msg));
		else
			push(conds, tx_cond(c, r->obj, "Accepted", acc, tp->reason,
					    acc ? "route is accepted" : tp->msg));
		push(conds, tx_cond(c, r->obj, "ResolvedRefs", tr->refs_ok, tr->refs_reason,
				    tr->refs_ok ? "all references are resolved" : tr->refs_msg));
		if (partially)
			push(conds, tx_cond(c, r->obj, "PartiallyInvalid", true, "UnsupportedValue",
					    tr->invalid_msg));
		ps = json_pack("{s:o, s:s, s:o}", "parentRef", pr, "controllerName", c->controller,
			       "conditions", conds);
		push(parents, ps);
		*ok &= acc && tr->refs_ok && !partially;
		n++;
	}
	if (!n) {
		json_decref(parents);
		return NULL;
	}
	st = json_pack("{s:o}", "parents", parents);
	return st;
}

/* Ingress: status.loadBalancer.ingress with the implicit listener address;
 * when a reference is broken, a "conditions" list (not in the Ingress
 * schema, ignored by kubectl) tells `gwbpf status` why */
static json_t *ingress_status(const struct tx_ctx *c, const struct tx_route *first, bool ok,
			      const struct tx_route *last)
{
	const char *ip = c->ingress_gw.address ? c->ingress_gw.address : "0.0.0.0";
	json_t *st = json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "ip", ip);

	if (!st || ok)
		return st;
	if (c->n_ingress_ls && c->ingress_ls[0].conflicted) {
		json_object_set_new(st, "conditions",
				    json_pack("[o]", tx_cond(c, first->r->obj, "Accepted", false,
							     c->ingress_ls[0].conflict_reason,
							     c->ingress_ls[0].accept_msg)));
		return st;
	}
	for (const struct tx_route *tr = first; tr <= last; tr++)
		if (!tr->refs_ok) {
			json_object_set_new(
			    st, "conditions",
			    json_pack("[o]", tx_cond(c, tr->r->obj, "ResolvedRefs", false,
						     tr->refs_reason, tr->refs_msg)));
			break;
		}
	return st;
}

/* the first problem a status document reports: a condition that is False
 * (Conflicted and PartiallyInvalid are problems when True) */
static json_t *first_problem(json_t *conds)
{
	size_t i;
	json_t *cd;

	json_array_foreach(conds, i, cd) {
		const char *type = json_string_value(json_object_get(cd, "type"));
		bool is_true = !strcmp(json_string_value(json_object_get(cd, "status")), "True");
		bool bad_when_true = !strcmp(type, "Conflicted") || !strcmp(type, "PartiallyInvalid");

		if (is_true == bad_when_true)
			return cd;
	}
	return NULL;
}

/* one diagnostic per object that is not ok, naming the first problem, so
 * `gwbpf validate` can say why (object and file:line of the document) */
static void add_diag(struct tx_ctx *c, const struct gw_obj_status *os)
{
	json_t *st = os->status, *cd = first_problem(json_object_get(st, "conditions")), *x;
	const char *where = NULL;
	char ref[512];
	size_t i;

	json_array_foreach(json_object_get(st, "listeners"), i, x) {
		if (cd)
			break;
		cd = first_problem(json_object_get(x, "conditions"));
		where = json_string_value(json_object_get(x, "name"));
	}
	json_array_foreach(json_object_get(st, "ancestors"), i, x) {
		if (cd)
			break;
		cd = first_problem(json_object_get(x, "conditions"));
		where = json_string_value(json_object_get(json_object_get(x, "ancestorRef"), "name"));
	}
	json_array_foreach(json_object_get(st, "parents"), i, x) {
		if (cd)
			break;
		cd = first_problem(json_object_get(x, "conditions"));
		where = json_string_value(json_object_get(json_object_get(x, "parentRef"), "name"));
	}
	if (!cd)
		return;
	gw_object_ref(os->obj, ref, sizeof(ref));
	gw_diag_add(&c->t->diags, GW_DIAG_ERROR, &os->obj->mark, ref, NULL, "%s%s%s=%s %s: %s",
		    where ? where : "", where ? ": " : "",
		    json_string_value(json_object_get(cd, "type")),
		    json_string_value(json_object_get(cd, "status")),
		    json_string_value(json_object_get(cd, "reason")),
		    json_string_value(json_object_get(cd, "message")));
}

int tx_write_status(struct tx_ctx *c, struct gw_object **objs, size_t n)
{
	struct gw_translation *t = c->t;
	struct gw_model *m = c->m;
	size_t rcur = 0;

	t->status = calloc(n ? n : 1, sizeof(*t->status));
	if (!t->status)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct gw_obj_status *os = &t->status[t->n_status++];
		struct gw_object *o = objs[i];
		enum gw_m_kind k = gw_model_kind(o);

		os->obj = gw_object_get(o);
		os->ok = true;
		switch (k) {
		case GW_K_GATEWAYCLASS:
			for (size_t j = 0; j < m->n_classes; j++)
				if (m->classes[j].obj == o && c->class_ours[j]) {
					os->status = class_status(c, j);
					os->ok = c->class_ok[j];
				}
			break;
		case GW_K_GATEWAY:
			for (size_t j = 0; j < c->n_gws; j++) {
				const struct tx_gateway *gw = &c->gws[j];

				if (gw->g->obj != o)
					continue;
				os->status = gateway_status(c, gw);
				os->ok = gw->accepted && gw->programmed && gw->address &&
					 !strcmp(gw->accept_reason, "Accepted");
				for (size_t l = 0; l < gw->n_ls; l++)
					os->ok &= gw->ls[l].programmed && gw->ls[l].refs_ok;
				os->ok &= !gw->has_backend_cert || gw->backend_refs_ok;
			}
			break;
		case GW_K_LISTENERSET:
			for (size_t j = 0; j < c->n_lsets; j++)
				if (c->lsets[j].s->obj == o) {
					os->status = lset_status(c, &c->lsets[j]);
					os->ok = c->lsets[j].accepted &&
						 !strcmp(c->lsets[j].reason, "Accepted");
				}
			break;
		case GW_K_HTTPROUTE:
		case GW_K_GRPCROUTE:
		case GW_K_TLSROUTE:
		case GW_K_TCPROUTE:
		case GW_K_UDPROUTE:
		case GW_K_INGRESS:
			/* routes were decoded in this same object order; an Ingress
			 * decodes into several routes */
			for (size_t first = rcur; rcur < c->n_routes && c->routes[rcur].r->obj == o;
			     rcur++) {
				bool ok = true;

				if (k != GW_K_INGRESS)
					os->status = route_status(c, &c->routes[rcur], &ok);
				else
					ok = c->routes[rcur].refs_ok && !c->ingress_ls[0].conflicted;
				os->ok &= ok;
				if (k == GW_K_INGRESS && (rcur + 1 == c->n_routes ||
							  c->routes[rcur + 1].r->obj != o))
					os->status = ingress_status(c, &c->routes[first], os->ok,
								    &c->routes[rcur]);
			}
			break;
		case GW_K_BACKENDTLSPOLICY:
			os->status = tx_btls_status(c, o, &os->ok);
			break;
		default:
			break;
		}
		if (!os->ok && os->status)
			add_diag(c, os);
	}
	return 0;
}

void *gw_translation_status_list(const struct gw_translation *t)
{
	json_t *items = json_array(), *doc;

	if (!items)
		return NULL;
	for (size_t i = 0; t && i < t->n_status; i++) {
		const struct gw_object *o = t->status[i].obj;
		json_t *md = json_pack("{s:s, s:I}", "name", o->name, "generation",
				       (json_int_t)o->generation);
		json_t *it;

		if (!md)
			goto fail;
		if (o->ns && *o->ns)
			json_object_set_new(md, "namespace", json_string(o->ns));
		it = json_pack("{s:s, s:s, s:o}", "apiVersion", o->api_version, "kind", o->kind,
			       "metadata", md);
		if (!it)
			goto fail;
		if (t->status[i].status)
			json_object_set(it, "status", t->status[i].status);
		if (json_array_append_new(items, it))
			goto fail;
	}
	doc = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "List", "items", items);
	return doc;
fail:
	json_decref(items);
	return NULL;
}
