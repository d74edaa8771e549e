/* source/kube_status.c - what to PATCH so the API server shows gwbpf's status.
 *
 * The writer sends JSON merge patches (RFC 7386) of the /status
 * subresource. A merge patch replaces arrays whole, so for routes the patch
 * carries the full status.parents (for policies such as BackendTLSPolicy,
 * status.ancestors): the entries of other controllers exactly as the server
 * holds them, then gwbpf's own. For GatewayClass, Gateway and
 * ListenerSet gwbpf owns the whole status, and keys it no longer reports
 * are removed with null.
 *
 * Nothing is written when the result equals the current status ignoring
 * lastTransitionTime, which is what keeps the writer quiet in steady state
 * (each write is an event every watcher in the cluster receives). A
 * condition whose status did not change keeps its lastTransitionTime, as
 * the Kubernetes API conventions ask.
 *
 * The patch carries metadata.resourceVersion, so a status computed from a
 * stale object is refused with 409 and recomputed rather than blindly
 * overwriting a newer one.
 */
#include "gwbpf/api.h"

#include <string.h>

#include <jansson.h>

#include "gwbpf/kube.h"

#define GW_GROUP "gateway.networking.k8s.io"

/* json_equal(), except that lastTransitionTime keys are not compared */
static bool eq_nt(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!a || !b)
		return a == b;
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_object(a)) {
		size_t na = 0, nb = 0;

		json_object_foreach((json_t *)a, k, v) {
			if (strcmp(k, "lastTransitionTime")) {
				na++;
				if (!eq_nt(v, json_object_get(b, k)))
					return false;
			}
		}
		json_object_foreach((json_t *)b, k, v)
			nb += strcmp(k, "lastTransitionTime") != 0;
		return na == nb;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		json_array_foreach(a, i, v) {
			if (!eq_nt(v, json_array_get(b, i)))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* in the conditions array want (modified in place), keeps the
 * lastTransitionTime of the same type in old when status did not change */
static void keep_ltt(json_t *want, const json_t *old)
{
	size_t i, j;
	json_t *w, *o;

	if (!json_is_array(want) || !json_is_array(old))
		return;
	json_array_foreach(want, i, w) {
		const char *t = json_string_value(json_object_get(w, "type"));
		const char *st = json_string_value(json_object_get(w, "status"));

		if (!t || !st)
			continue;
		json_array_foreach(old, j, o) {
			const char *ot = json_string_value(json_object_get(o, "type"));
			const char *ost = json_string_value(json_object_get(o, "status"));
			json_t *ltt = json_object_get(o, "lastTransitionTime");

			if (ot && !strcmp(ot, t)) {
				if (ost && !strcmp(ost, st) && json_is_string(ltt))
					json_object_set(w, "lastTransitionTime", ltt);
				break;
			}
		}
	}
}

static const char *str_or(const json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : def;
}

/* parentRef equality with the API defaults applied (group, kind, namespace) */
static bool same_parent(const json_t *a, const json_t *b, const char *route_ns)
{
	static const char *const keys[] = { "name", "sectionName" };
	json_t *pa = json_object_get(a, "port"), *pb = json_object_get(b, "port");

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(str_or(a, keys[i], ""), str_or(b, keys[i], "")))
			return false;
	}
	return !strcmp(str_or(a, "group", GW_GROUP), str_or(b, "group", GW_GROUP)) &&
	       !strcmp(str_or(a, "kind", "Gateway"), str_or(b, "kind", "Gateway")) &&
	       !strcmp(str_or(a, "namespace", route_ns), str_or(b, "namespace", route_ns)) &&
	       json_integer_value(pa) == json_integer_value(pb);
}

/* new status.parents for a route (or status.ancestors for a policy, whose
 * entries are keyed by ancestorRef: ref_key): others' entries as they are,
 * then ours */
static json_t *route_parents(const json_t *cur_parents, const json_t *want_parents,
			     const char *controller, const char *route_ns, const char *ref_key)
{
	json_t *out = json_array(), *p, *q;
	size_t i, j;

	if (!out)
		return NULL;
	json_array_foreach(cur_parents, i, p) {
		if (strcmp(str_or(p, "controllerName", ""), controller))
			json_array_append(out, p);
	}
	json_array_foreach(want_parents, i, p) {
		json_t *c = json_deep_copy(p);

		if (!c || json_array_append_new(out, c)) {
			json_decref(out);
			return NULL;
		}
		json_array_foreach(cur_parents, j, q) {
			if (!strcmp(str_or(q, "controllerName", ""), controller) &&
			    same_parent(json_object_get(p, ref_key),
					json_object_get(q, ref_key), route_ns)) {
				keep_ltt(json_object_get(c, "conditions"),
					 json_object_get(q, "conditions"));
				break;
			}
		}
	}
	return out;
}

/* a Gateway's (or ListenerSet's) listener status: keep times per listener name */
static void listeners_ltt(json_t *want, const json_t *cur)
{
	size_t i, j;
	json_t *w, *c;

	json_array_foreach(want, i, w) {
		json_array_foreach(cur, j, c) {
			if (!strcmp(str_or(w, "name", ""), str_or(c, "name", "-"))) {
				keep_ltt(json_object_get(w, "conditions"),
					 json_object_get(c, "conditions"));
				break;
			}
		}
	}
}

json_t *gw_kube_status_patch(const json_t *cur, const json_t *want, const char *controller)
{
	const json_t *cur_st = json_object_get(cur, "status");
	const json_t *md = json_object_get(cur, "metadata");
	const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
	const char *ns = str_or(md, "namespace", "");
	json_t *st = NULL, *patch = NULL, *v;
	const char *k;

	errno = 0;
	if (!json_is_object(want))
		return NULL;
	if (!controller)
		controller = GW_CONTROLLER_NAME;
	if (json_object_get(want, "parents") || json_object_get(want, "ancestors")) {
		/* routes share status.parents, policies status.ancestors, with
		 * other controllers: only our entries are ours to write */
		const char *list = json_object_get(want, "parents") ? "parents" : "ancestors";
		json_t *parents = route_parents(json_object_get(cur_st, list),
						json_object_get(want, list), controller, ns,
						*list == 'p' ? "parentRef" : "ancestorRef");

		if (!parents)
			goto nomem;
		if (eq_nt(parents, json_object_get(cur_st, list)) ||
		    (!json_array_size(parents) && !json_object_get(cur_st, list))) {
			json_decref(parents);
			return NULL;
		}
		st = json_pack("{s:o}", list, parents);
		if (!st)
			goto nomem;
	} else {
		st = json_deep_copy(want);
		if (!st)
			goto nomem;
		keep_ltt(json_object_get(st, "conditions"), json_object_get(cur_st, "conditions"));
		listeners_ltt(json_object_get(st, "listeners"), json_object_get(cur_st, "listeners"));
		if (eq_nt(st, cur_st) || (!json_object_size(st) && !json_object_size(cur_st))) {
			json_decref(st);
			return NULL;
		}
		/* the whole status is ours: what we no longer report goes away */
		json_object_foreach((json_t *)cur_st, k, v) {
			if (!json_object_get(st, k) && json_object_set_new(st, k, json_null()))
				goto nomem;
		}
	}
	patch = json_pack("{s:{s:s?}, s:o}", "metadata", "resourceVersion", rv, "status", st);
	st = NULL;
	if (!patch)
		goto nomem;
	return patch;
nomem:
	json_decref(st);
	errno = ENOMEM;
	return NULL;
}
