/* cli/status_view.c - tables of Gateway API status (see status_view.h). */
#include "gwbpf/api.h"

#include <errno.h>
#include <stdio.h>

#include <jansson.h>

#include "gwbpf/bpfstat.h"
#include "gwbpf/status_view.h"
#include "gwbpf/translate.h"

#define IV(o, a, b) json_integer_value(json_object_get(json_object_get(o, a), b))

/* A condition is bad when a positive-polarity type is not True, or a
 * negative-polarity one (Conflicted, the spec's only abnormal-true listener
 * condition) is True. */
static bool cond_bad(const json_t *c)
{
	const char *type = json_string_value(json_object_get(c, "type"));
	const char *st = json_string_value(json_object_get(c, "status"));

	if (!type || !st)
		return false;
	if (!strcmp(type, "Conflicted") || !strcmp(type, "OverlappingTLSConfig"))
		return !strcmp(st, "True");
	if (!strcmp(type, "Accepted") || !strcmp(type, "ResolvedRefs") ||
	    !strcmp(type, "Programmed"))
		return strcmp(st, "True") != 0;
	return false;
}

static bool first_bad(const json_t *conds, const char *prefix, char *buf, size_t size)
{
	size_t i;
	json_t *c;

	json_array_foreach((json_t *)conds, i, c) {
		if (!cond_bad(c))
			continue;
		snprintf(buf, size, "%s%s=%s (%s): %s", prefix,
			 json_string_value(json_object_get(c, "type")),
			 json_string_value(json_object_get(c, "status")),
			 json_string_value(json_object_get(c, "reason")) ?: "",
			 json_string_value(json_object_get(c, "message")) ?: "");
		return true;
	}
	return false;
}

bool gw_status_item_problem(const void *item, char *buf, size_t size)
{
	const json_t *st = json_object_get(item, "status");
	char prefix[160];
	size_t i;
	json_t *x;

	if (!json_is_object(st))
		return false;
	if (first_bad(json_object_get(st, "conditions"), "", buf, size))
		return true;
	json_array_foreach(json_object_get(st, "listeners"), i, x) {
		snprintf(prefix, sizeof(prefix), "listener %s: ",
			 json_string_value(json_object_get(x, "name")) ?: "?");
		if (first_bad(json_object_get(x, "conditions"), prefix, buf, size))
			return true;
	}
	json_array_foreach(json_object_get(st, "parents"), i, x) {
		json_t *pr = json_object_get(x, "parentRef");

		snprintf(prefix, sizeof(prefix), "parent %s: ",
			 json_string_value(json_object_get(pr, "name")) ?: "?");
		if (first_bad(json_object_get(x, "conditions"), prefix, buf, size))
			return true;
	}
	json_array_foreach(json_object_get(st, "ancestors"), i, x) {
		json_t *ar = json_object_get(x, "ancestorRef");

		snprintf(prefix, sizeof(prefix), "ancestor %s: ",
			 json_string_value(json_object_get(ar, "name")) ?: "?");
		if (first_bad(json_object_get(x, "conditions"), prefix, buf, size))
			return true;
	}
	return false;
}

static bool is_route(const char *kind)
{
	size_t n = strlen(kind);

	return n > 5 && !strcmp(kind + n - 5, "Route");
}

static bool in_view(const char *kind, enum gw_view view)
{
	switch (view) {
	case GW_VIEW_GATEWAYS:
		return !strcmp(kind, "GatewayClass") || !strcmp(kind, "Gateway") ||
		       !strcmp(kind, "ListenerSet");
	case GW_VIEW_ROUTES:
	case GW_VIEW_BACKENDS:
		return is_route(kind) || !strcmp(kind, "Ingress");
	default:
		return true;
	}
}

static void item_name(const json_t *item, char *buf, size_t size)
{
	const json_t *md = json_object_get(item, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));

	if (ns && *ns)
		snprintf(buf, size, "%s/%s", ns, name ?: "?");
	else
		snprintf(buf, size, "%s", name ?: "?");
}

static void print_listeners(const json_t *item, FILE *f)
{
	const json_t *st = json_object_get(item, "status");
	const json_t *dl = json_object_get(json_object_get(item, "dataplane"), "listeners");
	size_t i, j, k;
	json_t *l, *r, *h;

	json_array_foreach(json_object_get(st, "listeners"), i, l) {
		const char *name = json_string_value(json_object_get(l, "name")) ?: "?";

		fprintf(f, "  %-14s %-44s attachedRoutes=%" JSON_INTEGER_FORMAT "\n", "listener",
			name, json_integer_value(json_object_get(l, "attachedRoutes")));
		/* what the daemon serves there: route, hosts, requests */
		json_array_foreach(json_object_get(dl, name), j, r) {
			fprintf(f, "    %-12s %-44s", "route",
				json_string_value(json_object_get(r, "route")) ?: "?");
			json_array_foreach(json_object_get(r, "hosts"), k, h)
				fprintf(f, "%s%s", k ? "," : "hosts ", json_string_value(h) ?: "");
			fprintf(f, " (requests: kernel %" JSON_INTEGER_FORMAT
				   ", userspace %" JSON_INTEGER_FORMAT ")\n",
				IV(r, "requests", "kernel"), IV(r, "requests", "userspace"));
		}
	}
	json_array_foreach(json_object_get(st, "addresses"), i, l)
		fprintf(f, "  %-14s %s\n", "address",
			json_string_value(json_object_get(l, "value")) ?: "?");
}

/* print_resolved() : the rules' backends as the daemon resolved them
 * (clusters and endpoints from its snapshot, item "dataplane") */
static void print_resolved(const json_t *dp, FILE *f)
{
	size_t i, j, k;
	json_t *r, *b, *e;

	json_array_foreach(json_object_get(dp, "rules"), i, r) {
		json_array_foreach(json_object_get(r, "backends"), j, b) {
			const char *cl = json_string_value(json_object_get(b, "cluster"));

			fprintf(f, "  rule %-9" JSON_INTEGER_FORMAT " %s weight=%"
				   JSON_INTEGER_FORMAT,
				json_integer_value(json_object_get(r, "rule")),
				cl ? cl : "(invalid reference: 500)",
				json_integer_value(json_object_get(b, "weight")));
			if (cl && !json_array_size(json_object_get(b, "endpoints")))
				fprintf(f, " no endpoints");
			json_array_foreach(json_object_get(b, "endpoints"), k, e) {
				const char *a = json_string_value(json_object_get(e, "address"));
				bool v6 = a && strchr(a, ':');

				fprintf(f, "%s%s%s%s:%" JSON_INTEGER_FORMAT "%s",
					k ? "," : " endpoints ", v6 ? "[" : "", a ? a : "?",
					v6 ? "]" : "",
					json_integer_value(json_object_get(e, "port")),
					json_is_true(json_object_get(e, "ready")) ? "" :
										    " (not ready)");
			}
			fprintf(f, "\n");
		}
	}
}

static void print_backends(const json_t *item, FILE *f)
{
	/* backendRefs come from the route's spec when the document carries it */
	const json_t *rules = json_object_get(json_object_get(item, "spec"), "rules");
	size_t i, j;
	json_t *r, *b;

	json_array_foreach((json_t *)rules, i, r) {
		json_array_foreach(json_object_get(r, "backendRefs"), j, b) {
			const char *ns = json_string_value(json_object_get(b, "namespace"));

			fprintf(f, "  rule %-9zu %s%s%s:%" JSON_INTEGER_FORMAT " weight=%" JSON_INTEGER_FORMAT "\n", i,
				ns ? ns : "", ns ? "/" : "",
				json_string_value(json_object_get(b, "name")) ?: "?",
				json_integer_value(json_object_get(b, "port")),
				json_object_get(b, "weight") ? json_integer_value(json_object_get(b, "weight")) : 1);
		}
	}
}

/* print_bytes() : a route's bytes, kernel vs proxy (its "bytes" object) */
static void print_bytes(const json_t *b, FILE *f)
{
	const json_t *k = json_object_get(b, "kernel"), *u = json_object_get(b, "userspace");

	if (!json_is_object(b))
		return;
	fprintf(f, "  %-14s kernel %" JSON_INTEGER_FORMAT " request B, %" JSON_INTEGER_FORMAT
		   " response B (%" JSON_INTEGER_FORMAT " responses); userspace %"
		   JSON_INTEGER_FORMAT " request B, %" JSON_INTEGER_FORMAT " response B\n",
		"bytes", json_integer_value(json_object_get(k, "request")),
		json_integer_value(json_object_get(k, "response")),
		json_integer_value(json_object_get(k, "responses")),
		json_integer_value(json_object_get(u, "request")),
		json_integer_value(json_object_get(u, "response")));
}

/* print_dataplane() : a route's requests, kernel vs proxy (item "dataplane") */
static void print_dataplane(const json_t *dp, FILE *f)
{
	size_t i;
	json_t *x;

	if (!json_is_object(dp))
		return;
	fprintf(f, "  %-14s kernel %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT
		   " request B), userspace %" JSON_INTEGER_FORMAT ", total %" JSON_INTEGER_FORMAT
		   "\n",
		"requests", IV(dp, "requests", "kernel"),
		json_integer_value(json_object_get(dp, "kernelRequestBytes")),
		IV(dp, "requests", "userspace"), IV(dp, "requests", "total"));
	print_bytes(json_object_get(dp, "bytes"), f);
	json_array_foreach(json_object_get(dp, "listeners"), i, x) {
		char hosts[256] = "";
		size_t j, n = 0;
		json_t *h;

		/* the hostnames the route is served under on this listener */
		json_array_foreach(json_object_get(x, "hosts"), j, h)
			if (n < sizeof(hosts))
				n += (size_t)snprintf(hosts + n, sizeof(hosts) - n, "%s%s",
						      n ? "," : "", json_string_value(h) ?: "");
		fprintf(f, "  %-14s %-44s kernel %" JSON_INTEGER_FORMAT
			   ", userspace %" JSON_INTEGER_FORMAT "%s%s\n",
			"listener", json_string_value(json_object_get(x, "listener")) ?: "?",
			IV(x, "requests", "kernel"), IV(x, "requests", "userspace"),
			*hosts ? ", hosts " : "", hosts);
	}
	json_array_foreach(json_object_get(dp, "rules"), i, x) {
		const char *name = json_string_value(json_object_get(x, "name"));
		char id[64];

		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT "%s%s",
			 json_integer_value(json_object_get(x, "rule")), name ? " " : "",
			 name ? name : "");
		if (json_is_true(json_object_get(x, "kernelEligible")))
			fprintf(f, "  %-14s %-44s kernel %" JSON_INTEGER_FORMAT
				   " (%" JSON_INTEGER_FORMAT " request B, %" JSON_INTEGER_FORMAT
				   " response B)\n",
				"rule", id, json_integer_value(json_object_get(x, "kernel")),
				json_integer_value(json_object_get(x, "kernelRequestBytes")),
				json_integer_value(json_object_get(x, "kernelResponseBytes")));
		else
			fprintf(f, "  %-14s %-44s userspace only\n", "rule", id);
	}
}

/* print_dataplane_summary() : what no single route owns (list "dataplane") */
static void print_dataplane_summary(const json_t *dp, FILE *f)
{
	json_int_t n;

	if (!json_is_object(dp))
		return;
	n = IV(dp, "unrouted", "userspace");
	if (n)
		fprintf(f, "%" JSON_INTEGER_FORMAT " requests answered by the proxy without a "
			   "route (404, 421, ...)\n", n);
	n = IV(dp, "unattributed", "kernel");
	if (n)
		fprintf(f, "%" JSON_INTEGER_FORMAT " kernel requests counted under an older "
			   "snapshot's route indices\n", n);
	if (json_is_object(json_object_get(dp, "mechanisms")))
		gw_bpfstat_print_mechanisms(json_object_get(dp, "mechanisms"), f);
}

/* join_gateway() : item "dataplane": {"listeners": {section: [{route,
 * hosts, requests}]}}, the routes served on each of the Gateway's listeners
 * (gw is "ns/name"; listener labels are "ns/name/section") */
static int join_gateway(json_t *item, const char *gw, const json_t *stats)
{
	json_t *ls = json_object(), *r, *l, *o;
	size_t glen = strlen(gw), i, j;

	if (!ls)
		return -ENOMEM;
	json_array_foreach(json_object_get(stats, "routes"), i, r) {
		json_array_foreach(json_object_get(r, "listeners"), j, l) {
			const char *lab = json_string_value(json_object_get(l, "listener")) ?: "";
			json_t *arr;

			if (strncmp(lab, gw, glen) || lab[glen] != '/')
				continue;
			arr = json_object_get(ls, lab + glen + 1);
			if (!arr) {
				arr = json_array();
				if (json_object_set_new(ls, lab + glen + 1, arr))
					goto fail;
			}
			o = json_pack("{s:O?,s:O?,s:O?}", "route", json_object_get(r, "route"),
				      "hosts", json_object_get(l, "hosts"), "requests",
				      json_object_get(l, "requests"));
			if (json_array_append_new(arr, o))
				goto fail;
		}
	}
	return json_object_set_new(item, "dataplane", json_pack("{s:o}", "listeners", ls)) ?
		       -ENOMEM :
		       0;
fail:
	json_decref(ls);
	return -ENOMEM;
}

int gw_status_view_join_routes(void *list, const void *stats)
{
	json_t *by_name = json_object(), *item, *r, *sum;
	size_t i;
	int err = 0;

	if (!by_name)
		return -ENOMEM;
	json_array_foreach(json_object_get(stats, "routes"), i, r) {
		const char *name = json_string_value(json_object_get(r, "route"));

		if (name)
			json_object_set(by_name, name, r);
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *kind = json_string_value(json_object_get(item, "kind")) ?: "";
		char name[512];

		if (!strcmp(kind, "Gateway")) {
			item_name(item, name, sizeof(name));
			if (join_gateway(item, name, stats))
				err = -ENOMEM;
			continue;
		}
		if (!in_view(kind, GW_VIEW_ROUTES))
			continue;
		item_name(item, name, sizeof(name));
		r = json_object_get(by_name, name);
		if (r && json_object_set_new(item, "dataplane",
					     json_pack("{s:O,s:O*,s:O,s:O,s:O}", "requests",
						       json_object_get(r, "requests"), "bytes",
						       json_object_get(r, "bytes"),
						       "kernelRequestBytes",
						       json_object_get(r, "kernelRequestBytes"),
						       "listeners", json_object_get(r, "listeners"),
						       "rules", json_object_get(r, "rules"))))
			err = -ENOMEM;
	}
	sum = json_pack("{s:O?,s:O?,s:O?,s:O?}", "generation", json_object_get(stats, "generation"),
			"unrouted", json_object_get(stats, "unrouted"), "unattributed",
			json_object_get(stats, "unattributed"), "mechanisms",
			json_object_get(stats, "mechanisms"));
	if (!sum || json_object_set_new(list, "dataplane", sum))
		err = -ENOMEM;
	json_decref(by_name);
	return err;
}

int gw_status_view_print(const void *list, enum gw_view view, FILE *f)
{
	char name[512], problem[1024];
	int bad = 0;
	size_t i;
	json_t *item;

	fprintf(f, "%-16s %-44s %-6s %s\n", "KIND", "NAME", "STATUS", "DETAIL");
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *kind = json_string_value(json_object_get(item, "kind")) ?: "?";
		const json_t *st = json_object_get(item, "status");
		bool has = json_is_object(st);
		bool prob;

		if (!in_view(kind, view) || (view == GW_VIEW_ALL && !has))
			continue;
		item_name(item, name, sizeof(name));
		prob = gw_status_item_problem(item, problem, sizeof(problem));
		bad += prob;
		fprintf(f, "%-16s %-44s %-6s %s\n", kind, name, !has ? "-" : prob ? "ERROR" : "OK",
			prob ? problem : "");
		if (view == GW_VIEW_GATEWAYS && !strcmp(kind, "Gateway"))
			print_listeners(item, f);
		if (view == GW_VIEW_BACKENDS && json_object_get(item, "dataplane"))
			print_resolved(json_object_get(item, "dataplane"), f);
		else if (view == GW_VIEW_BACKENDS)
			print_backends(item, f);
		if (view == GW_VIEW_ROUTES)
			print_dataplane(json_object_get(item, "dataplane"), f);
	}
	if (view == GW_VIEW_ROUTES)
		print_dataplane_summary(json_object_get(list, "dataplane"), f);
	return bad;
}

void *gw_status_view_filter(const void *list, enum gw_view view)
{
	json_t *out = json_deep_copy(list), *items = json_array();
	json_t *item;
	size_t i;

	if (!out || !items)
		goto fail;
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *kind = json_string_value(json_object_get(item, "kind")) ?: "";

		if (in_view(kind, view) && json_array_append(items, item))
			goto fail;
	}
	if (json_object_set_new(out, "items", items)) {
		items = NULL; /* taken even on failure */
		goto fail;
	}
	return out;
fail:
	json_decref(items);
	json_decref(out);
	errno = ENOMEM;
	return NULL;
}

int gw_status_view_print_table(const struct gw_translation *t, FILE *f)
{
	json_t *list = gw_translation_status_list(t);
	int bad;

	if (!list)
		return -ENOMEM;
	bad = gw_status_view_print(list, GW_VIEW_ALL, f);
	json_decref(list);
	return bad;
}
