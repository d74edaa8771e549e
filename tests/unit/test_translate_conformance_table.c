/* tests/unit/test_translate_conformance_table.c - the status every upstream
 * Gateway API v1.6.1 conformance manifest must get, condition by condition,
 * written as a table: one manifest (loaded with the base manifests, see
 * conf_run_with()) and the lines a reader of `kubectl get -o yaml` would
 * check.
 *
 * Expected values come from the upstream Go test of the same name
 * (conformance/tests/<manifest>.go: GatewayAndRoutesMustBeAccepted,
 * GatewayStatusMustHaveListeners, RouteMustHaveCondition, ...) and, where the
 * Go test only checks traffic, from the specification: a route whose every
 * reference resolves is Accepted=True/Accepted and ResolvedRefs=True; a
 * listener's attachedRoutes counts the routes accepted on it. Never from
 * gwbpf's output.
 *
 * Line grammar (space separated; an object is "name" in
 * gateway-conformance-infra or "namespace/name"):
 *   class NAME COND...
 *   gw OBJ [lsets=N|lsets=none] [addresses=N] COND...   Gateway
 *   listener OBJ:LISTENER [attached=N] [kinds=K,K|kinds=-] COND...
 *   lset OBJ COND...                             ListenerSet conditions
 *   lslistener OBJ:LISTENER [attached=N] [kinds=...] COND...
 *   route KIND OBJ parents=N                     number of parent statuses
 *   route KIND OBJ PARENT[#SECTION] COND...      one parent's conditions
 *   ancestor KIND OBJ ANCESTOR COND...           a policy's ancestor status
 *   nostatus KIND OBJ                            not ours: no status at all
 * COND is Type=Status/Reason; Reason "*" accepts any reason (the Go test
 * passes an empty reason). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/model-t.h"

#include "translate_helpers.h"

struct conf_case {
	const char *manifest;
	const char *const *expect; /* NULL-terminated lines */
};

struct ctx {
	struct fx *f;
	const char *manifest;
	const char *line;
};

#define CFAIL(cx, ...) _conf_fail((cx), __VA_ARGS__)
static void _conf_fail(const struct ctx *cx, const char *fmt, ...) GW_PRINTF(2, 3);
static void _conf_fail(const struct ctx *cx, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fail_msg("%s: \"%s\": %s", cx->manifest, cx->line, buf);
}

/* "ns/name" or "name" (in gateway-conformance-infra) */
static void split_obj(const char *s, char *ns, char *name, size_t size)
{
	const char *sl = strchr(s, '/');

	if (sl) {
		snprintf(ns, size, "%.*s", (int)(sl - s), s);
		snprintf(name, size, "%s", sl + 1);
	} else {
		snprintf(ns, size, "%s", INFRA);
		snprintf(name, size, "%s", s);
	}
}

static json_t *status_of(const struct ctx *cx, const char *kind, const char *obj)
{
	char ns[256], name[256];

	split_obj(obj, ns, name, sizeof(ns));
	for (size_t i = 0; i < cx->f->t->n_status; i++) {
		const struct gw_object *o = cx->f->t->status[i].obj;

		if (!strcmp(o->kind, kind) && !strcmp(o->ns, ns) && !strcmp(o->name, name)) {
			if (!cx->f->t->status[i].status)
				CFAIL(cx, "%s %s/%s has no status", kind, ns, name);
			return cx->f->t->status[i].status;
		}
	}
	CFAIL(cx, "no %s %s/%s", kind, ns, name);
	return NULL;
}

static void check_cond(const struct ctx *cx, json_t *conds, const char *tok)
{
	char type[64], status[16], reason[64];
	const char *got_s, *got_r;
	json_t *c;

	if (sscanf(tok, "%63[^=]=%15[^/]/%63s", type, status, reason) != 3)
		CFAIL(cx, "bad condition token %s", tok);
	c = find_cond(conds, type);
	if (!c) {
		char *d = json_dumps(conds, JSON_COMPACT);

		CFAIL(cx, "condition %s missing in %s", type, d ? d : "?");
	}
	got_s = json_string_value(json_object_get(c, "status"));
	got_r = json_string_value(json_object_get(c, "reason"));
	if (strcmp(got_s, status) || (strcmp(reason, "*") && strcmp(got_r, reason)))
		CFAIL(cx, "%s: got %s/%s, want %s/%s", type, got_s, got_r, status, reason);
}

static void check_kinds(const struct ctx *cx, json_t *l, const char *want)
{
	json_t *k = json_object_get(l, "supportedKinds");
	char buf[256] = "";
	size_t i;
	json_t *e;

	json_array_foreach(k, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "group")), GW_GROUP_GATEWAY))
			CFAIL(cx, "supportedKinds group %s",
			      json_string_value(json_object_get(e, "group")));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
			 json_string_value(json_object_get(e, "kind")));
	}
	if (strcmp(buf, strcmp(want, "-") ? want : ""))
		CFAIL(cx, "supportedKinds %s, want %s", buf, want);
}

/* the rest of the tokens: COND, attached=, kinds=, lsets=, against status
 * object st whose conditions are st.conditions */
static void check_tokens(const struct ctx *cx, json_t *st, char **tok, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(tok[i], "attached=", 9)) {
			json_int_t want = strtoll(tok[i] + 9, NULL, 10);
			json_t *a = json_object_get(st, "attachedRoutes");

			if (!json_is_integer(a) || json_integer_value(a) != want)
				CFAIL(cx, "attachedRoutes %lld, want %lld",
				      (long long)json_integer_value(a), (long long)want);
		} else if (!strncmp(tok[i], "kinds=", 6)) {
			check_kinds(cx, st, tok[i] + 6);
		} else if (!strncmp(tok[i], "addresses=", 10)) {
			size_t got = json_array_size(json_object_get(st, "addresses"));

			if (got != strtoull(tok[i] + 10, NULL, 10))
				CFAIL(cx, "%zu addresses, want %s", got, tok[i] + 10);
		} else if (!strncmp(tok[i], "lsets=", 6)) {
			json_t *a = json_object_get(st, "attachedListenerSets");

			if (!strcmp(tok[i] + 6, "none")) {
				if (a)
					CFAIL(cx, "attachedListenerSets present");
			} else if (!json_is_integer(a) ||
				   json_integer_value(a) != strtoll(tok[i] + 6, NULL, 10)) {
				CFAIL(cx, "attachedListenerSets %lld, want %s",
				      (long long)json_integer_value(a), tok[i] + 6);
			}
		} else {
			check_cond(cx, json_object_get(st, "conditions"), tok[i]);
		}
	}
}

static json_t *listener_of(const struct ctx *cx, const char *kind, const char *ref)
{
	char obj[256];
	const char *colon = strchr(ref, ':');
	json_t *st, *l;
	size_t i;

	if (!colon)
		CFAIL(cx, "listener ref %s has no ':'", ref);
	snprintf(obj, sizeof(obj), "%.*s", (int)(colon - ref), ref);
	st = status_of(cx, kind, obj);
	json_array_foreach(json_object_get(st, "listeners"), i, l)
		if (!strcmp(json_string_value(json_object_get(l, "name")), colon + 1))
			return l;
	CFAIL(cx, "no listener %s in status", colon + 1);
	return NULL;
}

static json_t *parent_of(const struct ctx *cx, const char *kind, const char *obj,
			 const char *parent)
{
	char name[256];
	const char *hash = strchr(parent, '#'), *section = hash ? hash + 1 : NULL;
	json_t *st = status_of(cx, kind, obj), *p;
	size_t i;

	snprintf(name, sizeof(name), "%.*s", hash ? (int)(hash - parent) : (int)strlen(parent),
		 parent);
	json_array_foreach(json_object_get(st, "parents"), i, p) {
		json_t *ref = json_object_get(p, "parentRef");
		const char *sn = json_string_value(json_object_get(ref, "sectionName"));

		if (strcmp(json_string_value(json_object_get(ref, "name")), name))
			continue;
		if (section ? !sn || strcmp(sn, section) : sn != NULL)
			continue;
		if (strcmp(json_string_value(json_object_get(p, "controllerName")),
			   "gwbpf.dev/gateway-controller"))
			CFAIL(cx, "controllerName %s",
			      json_string_value(json_object_get(p, "controllerName")));
		return p;
	}
	CFAIL(cx, "no parent %s", parent);
	return NULL;
}

static void check_line(struct ctx *cx)
{
	char buf[1024], *tok[32], *save = NULL, *t;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", cx->line);
	for (t = strtok_r(buf, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (n < 2)
		CFAIL(cx, "short line");
	if (!strcmp(tok[0], "class")) {
		json_t *st = NULL;

		for (size_t i = 0; i < cx->f->t->n_status; i++)
			if (!strcmp(cx->f->t->status[i].obj->kind, "GatewayClass") &&
			    !strcmp(cx->f->t->status[i].obj->name, tok[1]))
				st = cx->f->t->status[i].status;
		if (!st)
			CFAIL(cx, "no GatewayClass status");
		check_tokens(cx, st, tok + 2, n - 2);
	} else if (!strcmp(tok[0], "gw")) {
		check_tokens(cx, status_of(cx, "Gateway", tok[1]), tok + 2, n - 2);
	} else if (!strcmp(tok[0], "lset")) {
		check_tokens(cx, status_of(cx, "ListenerSet", tok[1]), tok + 2, n - 2);
	} else if (!strcmp(tok[0], "listener")) {
		check_tokens(cx, listener_of(cx, "Gateway", tok[1]), tok + 2, n - 2);
	} else if (!strcmp(tok[0], "lslistener")) {
		check_tokens(cx, listener_of(cx, "ListenerSet", tok[1]), tok + 2, n - 2);
	} else if (!strcmp(tok[0], "route") && n >= 4 && !strncmp(tok[3], "parents=", 8)) {
		json_t *p = json_object_get(status_of(cx, tok[1], tok[2]), "parents");

		if (json_array_size(p) != strtoull(tok[3] + 8, NULL, 10))
			CFAIL(cx, "%zu parents, want %s", json_array_size(p), tok[3] + 8);
	} else if (!strcmp(tok[0], "route") && n >= 4) {
		check_tokens(cx, parent_of(cx, tok[1], tok[2], tok[3]), tok + 4, n - 4);
	} else if (!strcmp(tok[0], "ancestor") && n >= 4) {
		json_t *st = status_of(cx, tok[1], tok[2]), *a, *hit = NULL;
		size_t i;

		json_array_foreach(json_object_get(st, "ancestors"), i, a)
			if (!strcmp(json_string_value(json_object_get(
					    json_object_get(a, "ancestorRef"), "name")),
				    tok[3]))
				hit = a;
		if (!hit)
			CFAIL(cx, "no ancestor %s", tok[3]);
		check_tokens(cx, hit, tok + 4, n - 4);
	} else if (!strcmp(tok[0], "nostatus") && n == 3) {
		char ns[256], name[256];

		split_obj(tok[2], ns, name, sizeof(ns));
		for (size_t i = 0; i < cx->f->t->n_status; i++) {
			const struct gw_obj_status *os = &cx->f->t->status[i];

			if (!strcmp(os->obj->kind, tok[1]) && !strcmp(os->obj->ns, ns) &&
			    !strcmp(os->obj->name, name) && os->status)
				CFAIL(cx, "has a status");
		}
	} else {
		CFAIL(cx, "unknown line");
	}
}

/* what the spec requires of every status, whatever the manifest: each
 * condition carries observedGeneration = metadata.generation, a known
 * status, a reason and a message */
static void check_generic(struct ctx *cx)
{
	for (size_t i = 0; i < cx->f->t->n_status; i++) {
		const struct gw_obj_status *os = &cx->f->t->status[i];
		json_t *lists[64];
		size_t nl = 0, j;
		json_t *x;

		if (!os->status || !json_object_get(os->status, "conditions") ||
		    !strcmp(os->obj->kind, "Ingress"))
			goto parents;
		lists[nl++] = json_object_get(os->status, "conditions");
		json_array_foreach(json_object_get(os->status, "listeners"), j, x)
			if (nl < 64)
				lists[nl++] = json_object_get(x, "conditions");
parents:
		if (os->status)
			json_array_foreach(json_object_get(os->status, "parents"), j, x)
				if (nl < 64)
					lists[nl++] = json_object_get(x, "conditions");
		if (os->status)
			json_array_foreach(json_object_get(os->status, "ancestors"), j, x)
				if (nl < 64)
					lists[nl++] = json_object_get(x, "conditions");
		for (size_t k = 0; k < nl; k++) {
			json_t *c;
			size_t ci;

			json_array_foreach(lists[k], ci, c) {
				const char *s = json_string_value(json_object_get(c, "status"));

				cx->line = os->obj->name;
				if (json_integer_value(json_object_get(c, "observedGeneration")) !=
				    os->obj->generation)
					CFAIL(cx, "%s %s: observedGeneration %lld, want %lld",
					      os->obj->kind,
					      json_string_value(json_object_get(c, "type")),
					      (long long)json_integer_value(
						      json_object_get(c, "observedGeneration")),
					      (long long)os->obj->generation);
				if (!s || (strcmp(s, "True") && strcmp(s, "False") &&
					   strcmp(s, "Unknown")))
					CFAIL(cx, "bad status");
				if (!json_string_length(json_object_get(c, "reason")) ||
				    !json_is_string(json_object_get(c, "message")))
					CFAIL(cx, "condition without reason or message");
			}
		}
	}
}

static void run_case(const struct conf_case *cc)
{
	struct fx f = { 0 };
	struct ctx cx = { .f = &f, .manifest = cc->manifest };

	conf_run_with(&f, cc->manifest);
	check_generic(&cx);
	for (const char *const *l = cc->expect; *l; l++) {
		cx.line = *l;
		check_line(&cx);
	}
	fx_free(&f);
}

/* ---- the table ---- */

#define GW_OK "Accepted=True/Accepted Programmed=True/Programmed"
#define L_OK                                                                                       \
	"Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs Programmed=True/Programmed "         \
	"Conflicted=False/NoConflicts"
#define R_OK "Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs"
#define HK "kinds=HTTPRoute,GRPCRoute"
/* one route with one parent, accepted with every reference resolved
 * (GatewayAndRoutesMustBeAccepted) */
#define ROUTE_OK(kind, name, parent) "route " kind " " name " parents=1", \
	"route " kind " " name " " parent " " R_OK
#define HTTP_OK(name) ROUTE_OK("HTTPRoute", name, "same-namespace")
#define SAME_NS_ATTACHED(n) "listener same-namespace:http attached=" #n " " HK " " L_OK

static const struct conf_case gateway_cases[] = {
	{ "gateway-http-listener-isolation-with-hostname-intersection", (const char *const[]){
		"gw http-listener-isolation-with-hostname-intersection " GW_OK,
		"listener http-listener-isolation-with-hostname-intersection:empty-hostname attached=1 " HK " " L_OK,
		"listener http-listener-isolation-with-hostname-intersection:wildcard-example-com attached=1 " HK " " L_OK,
		"listener http-listener-isolation-with-hostname-intersection:wildcard-foo-example-com attached=1 " HK " " L_OK,
		"listener http-listener-isolation-with-hostname-intersection:abc-foo-example-com attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "attaches-to-empty-hostname-with-hostname-intersection",
			 "http-listener-isolation-with-hostname-intersection#empty-hostname"),
		ROUTE_OK("HTTPRoute", "attaches-to-wildcard-example-com-with-hostname-intersection",
			 "http-listener-isolation-with-hostname-intersection#wildcard-example-com"),
		ROUTE_OK("HTTPRoute", "attaches-to-wildcard-foo-example-com-with-hostname-intersection",
			 "http-listener-isolation-with-hostname-intersection#wildcard-foo-example-com"),
		ROUTE_OK("HTTPRoute", "attaches-to-abc-foo-example-com-with-hostname-intersection",
			 "http-listener-isolation-with-hostname-intersection#abc-foo-example-com"),
		NULL } },
	/* infrastructure labels/annotations do not change status */
	{ "gateway-infrastructure", (const char *const[]){
		"gw gateway-with-infrastructure-metadata " GW_OK " addresses=1",
		"listener gateway-with-infrastructure-metadata:http attached=0 " HK " " L_OK,
		NULL } },
	/* GatewayInvalidParametersRef: Accepted=False InvalidParameters */
	{ "gateway-invalid-parameters-ref", (const char *const[]){
		"gw gateway-invalid-parameters-ref Accepted=False/InvalidParameters Programmed=False/*",
		"listener gateway-invalid-parameters-ref:http Programmed=False/Invalid",
		NULL } },
	/* GatewayModifyListeners, before the Go test edits: both Gateways
	 * accepted, the route attached to every listener it fits */
	{ "gateway-modify-listeners", (const char *const[]){
		"gw gateway-add-listener " GW_OK,
		"listener gateway-add-listener:https attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "http-route-1", "gateway-add-listener"),
		"gw gateway-remove-listener " GW_OK,
		"listener gateway-remove-listener:https attached=1 " HK " " L_OK,
		"listener gateway-remove-listener:http attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "http-route-2", "gateway-remove-listener"),
		NULL } },
	{ "gateway-observed-generation-bump", (const char *const[]){
		"gw gateway-observed-generation-bump " GW_OK,
		"listener gateway-observed-generation-bump:http attached=0 " HK " " L_OK,
		NULL } },
	/* GatewayOptionalAddressValue: an IPAddress entry without a value is
	 * given an address */
	{ "gateway-optional-address-value", (const char *const[]){
		"gw gateway-without-address-value " GW_OK " addresses=1",
		"listener gateway-without-address-value:http attached=0 " HK " " L_OK,
		NULL } },
	/* GatewayStaticAddresses, first step: an address type gwbpf does not
	 * support makes the Gateway not accepted (UnsupportedAddress) */
	{ "gateway-static-addresses", (const char *const[]){
		"gw gateway-static-addresses Accepted=False/UnsupportedAddress",
		NULL } },
	/* GatewayClassObservedGenerationBump: a second class of ours */
	{ "gatewayclass-observed-generation-bump", (const char *const[]){
		"class gatewayclass-observed-generation-bump Accepted=True/Accepted",
		NULL } },
	{ NULL, NULL },
};

static const struct conf_case httproute_cases[] = {
	{ "httproute-303-redirect", (const char *const[]){ HTTP_OK("303-redirect"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-307-redirect", (const char *const[]){ HTTP_OK("307-redirect"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-308-redirect", (const char *const[]){ HTTP_OK("308-redirect"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-backend-protocol-h2c", (const char *const[]){ HTTP_OK("backend-protocol-h2c"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-backend-protocol-websocket", (const char *const[]){ HTTP_OK("backend-protocol-ws"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-cors", (const char *const[]){
		HTTP_OK("cors-multiple-origins-methods-headers"), HTTP_OK("cors-wildcard-methods"),
		HTTP_OK("cors-wildcard-origin"), HTTP_OK("cors-wildcard-methods-headers"),
		SAME_NS_ATTACHED(4), NULL } },
	{ "httproute-exact-path-matching", (const char *const[]){ HTTP_OK("exact-matching"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-header-matching", (const char *const[]){ HTTP_OK("header-matching"), SAME_NS_ATTACHED(1), NULL } },
	/* one route per listener by sectionName; test-1 ("example.org") on
	 * the listener without hostname */
	{ "httproute-https-listener-detect-misdirected-requests", (const char *const[]){
		ROUTE_OK("HTTPRoute", "https-listener-detect-misdirected-requests-test-1", "same-namespace-with-https-listener#https"),
		ROUTE_OK("HTTPRoute", "https-listener-detect-misdirected-requests-test-2", "same-namespace-with-https-listener#https-with-hostname"),
		ROUTE_OK("HTTPRoute", "https-listener-detect-misdirected-requests-test-3", "same-namespace-with-https-listener#https-with-wildcard-hostname"),
		ROUTE_OK("HTTPRoute", "https-listener-detect-misdirected-requests-test-4", "same-namespace-with-https-listener#https-with-hostname-matching-wildcard"),
		"listener same-namespace-with-https-listener:https attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-hostname attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-wildcard-hostname attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-hostname-matching-wildcard attached=1 " HK " " L_OK,
		NULL } },
	/* "example.org" intersects only the listener without hostname */
	{ "httproute-https-listener", (const char *const[]){
		ROUTE_OK("HTTPRoute", "httproute-https-test", "same-namespace-with-https-listener"),
		ROUTE_OK("HTTPRoute", "httproute-https-test-no-hostname", "same-namespace-with-https-listener#https-with-hostname"),
		"listener same-namespace-with-https-listener:https attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-hostname attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-wildcard-hostname attached=0 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-hostname-matching-wildcard attached=0 " HK " " L_OK,
		NULL } },
	/* parentRef port selects every listener on that port; port and
	 * sectionName together select one */
	{ "httproute-listener-port-matching", (const char *const[]){
		"gw httproute-listener-port-matching " GW_OK,
		"listener httproute-listener-port-matching:listener-1 attached=1 " HK " " L_OK,
		"listener httproute-listener-port-matching:listener-2 attached=1 " HK " " L_OK,
		"listener httproute-listener-port-matching:listener-3 attached=1 " HK " " L_OK,
		"listener httproute-listener-port-matching:listener-4 attached=1 " HK " " L_OK,
		"listener httproute-listener-port-matching:listener-5 attached=0 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "backend-v1", "httproute-listener-port-matching"),
		ROUTE_OK("HTTPRoute", "backend-v2", "httproute-listener-port-matching"),
		ROUTE_OK("HTTPRoute", "backend-v3", "httproute-listener-port-matching#listener-4"),
		NULL } },
	{ "httproute-matching", (const char *const[]){ HTTP_OK("matching"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-method-matching", (const char *const[]){ HTTP_OK("method-matching"), SAME_NS_ATTACHED(1), NULL } },
	/* HTTPRouteMultipleGateways: one status per parent Gateway */
	{ "httproute-multiple-gateways", (const char *const[]){
		"route HTTPRoute multiple-gateways-shared-route parents=2",
		"route HTTPRoute multiple-gateways-shared-route same-namespace " R_OK,
		"route HTTPRoute multiple-gateways-shared-route all-namespaces " R_OK,
		HTTP_OK("same-namespace-dedicated-route"),
		ROUTE_OK("HTTPRoute", "all-namespaces-dedicated-route", "all-namespaces"),
		SAME_NS_ATTACHED(2),
		"listener all-namespaces:http attached=2 " HK " " L_OK,
		NULL } },
	{ "httproute-named-rule", (const char *const[]){ HTTP_OK("http-named-rules"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-observed-generation-bump", (const char *const[]){ HTTP_OK("observed-generation-bump"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-path-match-order", (const char *const[]){ HTTP_OK("path-matching-order"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-query-param-matching", (const char *const[]){ HTTP_OK("query-param-matching"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-redirect-host-and-status", (const char *const[]){ HTTP_OK("redirect-host-and-status"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-redirect-path", (const char *const[]){ HTTP_OK("redirect-path"), SAME_NS_ATTACHED(1), NULL } },
	/* the 443 route has no hostname: it attaches to all four listeners */
	{ "httproute-redirect-port-and-scheme", (const char *const[]){
		"gw same-namespace-with-http-listener-on-8080 " GW_OK,
		"listener same-namespace-with-http-listener-on-8080:http attached=1 " HK " " L_OK,
		HTTP_OK("http-route-for-listener-on-port-80"),
		ROUTE_OK("HTTPRoute", "http-route-for-listener-on-port-8080", "same-namespace-with-http-listener-on-8080"),
		ROUTE_OK("HTTPRoute", "http-route-for-listener-on-port-443", "same-namespace-with-https-listener"),
		SAME_NS_ATTACHED(1),
		"listener same-namespace-with-https-listener:https attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-hostname attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-wildcard-hostname attached=1 " HK " " L_OK,
		"listener same-namespace-with-https-listener:https-with-hostname-matching-wildcard attached=1 " HK " " L_OK,
		NULL } },
	{ "httproute-redirect-port", (const char *const[]){ HTTP_OK("redirect-port"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-redirect-scheme", (const char *const[]){ HTTP_OK("redirect-scheme"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-request-header-modifier-backend-weights", (const char *const[]){ HTTP_OK("request-header-modifier-backend-weights"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-request-header-modifier-backend", (const char *const[]){ HTTP_OK("request-header-modifier"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-request-header-modifier", (const char *const[]){ HTTP_OK("request-header-modifier"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-request-mirror", (const char *const[]){ HTTP_OK("request-mirror"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-request-multiple-mirrors", (const char *const[]){ HTTP_OK("request-multiple-mirrors"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-request-percentage-mirror", (const char *const[]){ HTTP_OK("request-percentage-mirror"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-response-header-modifier", (const char *const[]){ HTTP_OK("response-header-modifier"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-retry", (const char *const[]){ HTTP_OK("retries"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-rewrite-host", (const char *const[]){ HTTP_OK("rewrite-host"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-rewrite-path", (const char *const[]){ HTTP_OK("rewrite-path"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-service-types", (const char *const[]){ HTTP_OK("service-types"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-timeout-backend-request", (const char *const[]){ HTTP_OK("backend-request-timeout"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-timeout-request", (const char *const[]){ HTTP_OK("request-timeout"), SAME_NS_ATTACHED(1), NULL } },
	{ "httproute-weight", (const char *const[]){ HTTP_OK("weighted-backends"), SAME_NS_ATTACHED(1), NULL } },
	{ NULL, NULL },
};

static const struct conf_case listenerset_cases[] = {
	/* ListenerSetAllowedNamespaceNone */
	{ "listenerset-allowed-namespace-none", (const char *const[]){
		"gw gateway-does-not-allow-listenerset " GW_OK,
		"listener gateway-does-not-allow-listenerset:gateway-listener attached=0 " HK " " L_OK,
		"lset listenerset-not-allowed Accepted=False/NotAllowed Programmed=False/NotAllowed",
		NULL } },
	/* ListenerSetAllowedNamespaceSame */
	{ "listenerset-allowed-namespace-same", (const char *const[]){
		"gw gateway-allows-listenerset-in-same-namespace " GW_OK " lsets=1",
		"lset listenerset-in-same-namespace Accepted=True/Accepted Programmed=True/Programmed",
		"lslistener listenerset-in-same-namespace:listenerset-in-same-namespace-listener attached=0 " HK " " L_OK,
		"lset gateway-api-listenerset-not-allowed-ns/listenerset-in-different-namespace Accepted=False/NotAllowed Programmed=False/NotAllowed",
		NULL } },
	/* ListenerSetAllowedNamespaceSelector */
	{ "listenerset-allowed-namespace-selector", (const char *const[]){
		"gw gateway-allows-listenerset-in-selected-namespace " GW_OK " lsets=1",
		"lset gateway-api-listenerset-selector-allowed-ns/listenerset-in-selected-namespace Accepted=True/Accepted Programmed=True/Programmed",
		"lslistener gateway-api-listenerset-selector-allowed-ns/listenerset-in-selected-namespace:listenerset-in-selected-namespace-listener attached=0 " HK " " L_OK,
		"lset gateway-api-listenerset-selector-not-allowed-ns/listenerset-not-in-selected-namespace Accepted=False/NotAllowed Programmed=False/NotAllowed",
		NULL } },
	/* ListenerSetAllowedRoutesNamespaces: All takes 3 routes, Same 1,
	 * Selector 1; a route in the Gateway's namespace is not allowed by a
	 * "Same" listener of a ListenerSet in another namespace */
	{ "listenerset-allowed-routes-namespaces", (const char *const[]){
		"gw gateway-with-listener-sets-test-allowed-routes Accepted=True/* lsets=2",
		"lset listenerset-test-allowed-routes-namespaces Accepted=True/Accepted Programmed=True/Programmed",
		"lslistener listenerset-test-allowed-routes-namespaces:listener-set-listener-allowed-routes-all attached=3 " HK " " L_OK,
		"lslistener listenerset-test-allowed-routes-namespaces:listener-set-listener-allowed-routes-same attached=1 " HK " " L_OK,
		"lslistener listenerset-test-allowed-routes-namespaces:listener-set-listener-allowed-routes-selector attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "route-in-same-namespace", "listenerset-test-allowed-routes-namespaces"),
		ROUTE_OK("HTTPRoute", "gateway-api-routes-allowed-ns/route-in-selected-namespace", "listenerset-test-allowed-routes-namespaces"),
		ROUTE_OK("HTTPRoute", "gateway-api-routes-not-allowed-ns/route-not-in-selected-namespace", "listenerset-test-allowed-routes-namespaces"),
		"lslistener gateway-api-ls-cross-ns/listenerset-test-allowed-routes-cross-ns:listener-set-listener-allowed-routes-cross-ns-same attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "gateway-api-ls-cross-ns/route-in-listenerset-namespace", "listenerset-test-allowed-routes-cross-ns"),
		"route HTTPRoute route-in-gateway-namespace listenerset-test-allowed-routes-cross-ns Accepted=False/NotAllowedByListeners",
		NULL } },
	/* ListenerSetAllowedRoutesSupportedKinds: HTTPRoute on a TLS
	 * listener is InvalidRouteKinds, no kind is left */
	{ "listenerset-allowed-routes-supported-kinds", (const char *const[]){
		"gw gateway-with-listener-sets-test-supported-route-kinds Accepted=True/*",
		"lslistener listenerset-test-allowed-routes-supported-kinds:listener-set-listener-allowed-routes-tls-only attached=0 kinds=- ResolvedRefs=False/InvalidRouteKinds",
		NULL } },
	/* manifest comments: both parentRefs of the first route accepted; the
	 * Gateway sectionName naming a ListenerSet listener matches nothing */
	{ "listenerset-dual-parentref-independence", (const char *const[]){
		"gw gateway-dual-parentref " GW_OK " lsets=1",
		"listener gateway-dual-parentref:gw-dual-parentref-listener attached=1 " HK " " L_OK,
		"lset ls-dual-parentref Accepted=True/Accepted Programmed=True/Programmed",
		"lslistener ls-dual-parentref:ls-dual-parentref-listener attached=2 " HK " " L_OK,
		"route HTTPRoute route-dual-parentref-both parents=2",
		"route HTTPRoute route-dual-parentref-both gateway-dual-parentref " R_OK,
		"route HTTPRoute route-dual-parentref-both ls-dual-parentref " R_OK,
		"route HTTPRoute route-dual-parentref-one parents=2",
		"route HTTPRoute route-dual-parentref-one gateway-dual-parentref#ls-dual-parentref-listener Accepted=False/NoMatchingParent",
		"route HTTPRoute route-dual-parentref-one ls-dual-parentref#ls-dual-parentref-listener " R_OK,
		NULL } },
	{ "listenerset-gateway-parent-section-name-not-found", (const char *const[]){
		"gw gateway-section-name " GW_OK " lsets=1",
		"listener gateway-section-name:gw-listener attached=0 " HK " " L_OK,
		"lslistener listenerset-section-name:ls-only-listener attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "route-via-listenerset", "listenerset-section-name#ls-only-listener"),
		"route HTTPRoute route-via-gateway parents=1",
		"route HTTPRoute route-via-gateway gateway-section-name#ls-only-listener Accepted=False/NoMatchingParent",
		NULL } },
	/* ListenerSetReferenceGrant */
	{ "listenerset-reference-grant", (const char *const[]){
		"gw gateway-with-listener-sets-test-reference-grant Accepted=True/*",
		"lset listenerset-with-reference-grant Accepted=True/* Programmed=True/*",
		"lslistener listenerset-with-reference-grant:listenerset-with-reference-grant-listener ResolvedRefs=True/*",
		"lset gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant Accepted=False/ListenersNotValid Programmed=False/ListenersNotValid",
		"lslistener gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant:listenerset-without-reference-grant-listener ResolvedRefs=False/RefNotPermitted",
		NULL } },
	/* a route's status names only the parents it references */
	{ "listenerset-route-status-scoped-to-parentref", (const char *const[]){
		"gw gateway-parentref " GW_OK " lsets=1",
		"listener gateway-parentref:gw-parentref-listener attached=1 " HK " " L_OK,
		"lslistener listenerset-parentref:listenerset-parentref-listener attached=1 " HK " " L_OK,
		ROUTE_OK("HTTPRoute", "route-parentref-gwonly", "gateway-parentref"),
		ROUTE_OK("HTTPRoute", "route-parentref-lsonly", "listenerset-parentref"),
		NULL } },
	{ NULL, NULL },
};

#define GRPC_OK(name) ROUTE_OK("GRPCRoute", name, "same-namespace")
#define TLS_L(gw, l, n, conds) "listener " gw ":" l " attached=" #n " kinds=TLSRoute " conds
#define TCP_L(gw, l, n) "listener " gw ":" l " attached=" #n " kinds=TCPRoute " L_OK
#define UDP_L(gw, l, n) "listener " gw ":" l " attached=" #n " kinds=UDPRoute " L_OK

static const struct conf_case grpc_cases[] = {
	{ "grpcroute-exact-method-matching", (const char *const[]){ GRPC_OK("exact-matching"), SAME_NS_ATTACHED(1), NULL } },
	{ "grpcroute-header-matching", (const char *const[]){ GRPC_OK("grpc-header-matching"), SAME_NS_ATTACHED(1), NULL } },
	{ "grpcroute-listener-hostname-matching", (const char *const[]){
		"gw grpcroute-listener-hostname-matching " GW_OK,
		"listener grpcroute-listener-hostname-matching:listener-1 attached=1 " HK " " L_OK,
		"listener grpcroute-listener-hostname-matching:listener-2 attached=1 " HK " " L_OK,
		"listener grpcroute-listener-hostname-matching:listener-3 attached=1 " HK " " L_OK,
		"listener grpcroute-listener-hostname-matching:listener-4 attached=1 " HK " " L_OK,
		ROUTE_OK("GRPCRoute", "backend-v1", "grpcroute-listener-hostname-matching#listener-1"),
		ROUTE_OK("GRPCRoute", "backend-v2", "grpcroute-listener-hostname-matching#listener-2"),
		"route GRPCRoute backend-v3 parents=2",
		"route GRPCRoute backend-v3 grpcroute-listener-hostname-matching#listener-3 " R_OK,
		"route GRPCRoute backend-v3 grpcroute-listener-hostname-matching#listener-4 " R_OK,
		NULL } },
	{ "grpcroute-named-rule", (const char *const[]){ GRPC_OK("grpc-named-rules"), SAME_NS_ATTACHED(1), NULL } },
	{ "grpcroute-weight", (const char *const[]){ GRPC_OK("weighted-backends"), SAME_NS_ATTACHED(1), NULL } },
	{ NULL, NULL },
};

static const struct conf_case tls_cases[] = {
	/* every route hostname intersects its listener's (the more specific
	 * side wins: "*.com" x "*.example.com" is "*.example.com") */
	{ "tlsroute-hostname-intersection", (const char *const[]){
		"gw gw-tlsroute-exact-hostname-x-1 " GW_OK,
		TLS_L("gw-tlsroute-exact-hostname-x-1", "listener-exact-hostname", 1, L_OK),
		TLS_L("gw-tlsroute-more-specific-wc-hostname-x-2", "listener-more-specific-wc-hostname", 2, L_OK),
		TLS_L("gw-tlsroute-less-specific-wc-hostname-x-3", "listener-less-specific-wc-hostname", 2, L_OK),
		TLS_L("gw-tlsroute-empty-hostname-x-4", "listener-empty-hostname", 2, L_OK),
		ROUTE_OK("TLSRoute", "tlsroute-more-specific-wc-hostname-x-1", "gw-tlsroute-exact-hostname-x-1"),
		ROUTE_OK("TLSRoute", "tlsroute-exact-hostname-x-2", "gw-tlsroute-more-specific-wc-hostname-x-2"),
		ROUTE_OK("TLSRoute", "tlsroute-less-specific-wc-hostname-x-2", "gw-tlsroute-more-specific-wc-hostname-x-2"),
		ROUTE_OK("TLSRoute", "tlsroute-exact-hostname-x-3", "gw-tlsroute-less-specific-wc-hostname-x-3"),
		ROUTE_OK("TLSRoute", "tlsroute-more-specific-wc-hostname-x-3", "gw-tlsroute-less-specific-wc-hostname-x-3"),
		ROUTE_OK("TLSRoute", "tlsroute-exact-hostname-x-4", "gw-tlsroute-empty-hostname-x-4"),
		ROUTE_OK("TLSRoute", "tlsroute-less-specific-wc-hostname-x-4", "gw-tlsroute-empty-hostname-x-4"),
		NULL } },
	/* TLSRouteInvalidBackendRefNonexistent: attached, BackendNotFound */
	{ "tlsroute-invalid-backendref-nonexistent", (const char *const[]){
		TLS_L("gateway-tlsroute-invalid-backend-ref-nonexistent", "tls", 1, L_OK),
		"route TLSRoute invalid-backend-ref-nonexistent parents=1",
		"route TLSRoute invalid-backend-ref-nonexistent gateway-tlsroute-invalid-backend-ref-nonexistent Accepted=True/Accepted ResolvedRefs=False/BackendNotFound",
		NULL } },
	{ "tlsroute-invalid-backendref-unknown-kind", (const char *const[]){
		TLS_L("gateway-tlsroute-invalid-backend-ref-unknown-kind", "tls", 1, L_OK),
		"route TLSRoute invalid-backend-ref-unknown-kind gateway-tlsroute-invalid-backend-ref-unknown-kind Accepted=True/Accepted ResolvedRefs=False/InvalidKind",
		NULL } },
	{ "tlsroute-invalid-no-matching-listener-hostname", (const char *const[]){
		TLS_L("gateway-tls-exact-hostname", "tls", 0, L_OK),
		TLS_L("gateway-tls-wildcard-hostname", "tls", 0, L_OK),
		"route TLSRoute tlsroute-hostname-mismatch-1 gateway-tls-exact-hostname Accepted=False/NoMatchingListenerHostname",
		"route TLSRoute tlsroute-hostname-mismatch-2 gateway-tls-wildcard-hostname Accepted=False/NoMatchingListenerHostname",
		NULL } },
	/* HTTP and HTTPS listeners do not take TLSRoutes; a sectionName that
	 * names no listener matches no parent */
	{ "tlsroute-invalid-no-matching-listener", (const char *const[]){
		"listener gateway-tlsroute-http-only:http attached=0 " HK " " L_OK,
		"listener gateway-tlsroute-https-only:https attached=0 " HK " " L_OK,
		TLS_L("gateway-tlsroute-tls-passthrough-only", "tls-passthrough", 0, L_OK),
		"route TLSRoute tlsroute-not-allowed-protocol-http gateway-tlsroute-http-only Accepted=False/NotAllowedByListeners",
		"route TLSRoute tlsroute-not-allowed-protocol-https gateway-tlsroute-https-only Accepted=False/NotAllowedByListeners",
		"route TLSRoute tlsroute-no-matching-section-name gateway-tlsroute-tls-passthrough-only#nonexistent-listener Accepted=False/NoMatchingParent",
		NULL } },
	{ "tlsroute-invalid-reference-grant", (const char *const[]){
		TLS_L("gateway-tlsroute-referencegrant", "https", 1, L_OK),
		"route TLSRoute gateway-conformance-infra-test gateway-tlsroute-referencegrant Accepted=True/Accepted ResolvedRefs=False/RefNotPermitted",
		NULL } },
	/* gwbpf serves Terminate and Passthrough on one port (SNI picks the
	 * listener), i.e. it has TLSRouteModeMixed, for which the upstream
	 * test is skipped: both listeners are accepted (docs/translator.md) */
	{ "tlsroute-listener-mixed-termination-not-supported", (const char *const[]){
		TLS_L("gateway-tlsroute-mixed-termination-not-supported", "tls-terminate", 0, L_OK),
		TLS_L("gateway-tlsroute-mixed-termination-not-supported", "tls-passthrough", 0, L_OK),
		NULL } },
	/* TLSRouteListenerPassthroughSupportedKinds */
	{ "tlsroute-listener-passthrough-supported-kinds", (const char *const[]){
		TLS_L("gateway-tlsroute-passthrough-supported-kind", "tls-passthrough", 0, "ResolvedRefs=False/InvalidRouteKinds"),
		NULL } },
	/* gwbpf supports Terminate: the "not supported" variant is asserted as
	 * TLSRouteListenerTerminateSupportedKinds */
	{ "tlsroute-listener-terminate-not-supported", (const char *const[]){
		TLS_L("gateway-tlsroute-terminate-unsupported", "tls-terminate", 0, L_OK),
		NULL } },
	{ "tlsroute-listener-terminate-supported-kinds", (const char *const[]){
		TLS_L("gateway-tlsroute-terminate-supported", "tls-terminate", 0, L_OK),
		NULL } },
	{ "tlsroute-mixed-termination-same-namespace", (const char *const[]){
		"gw gateway-tlsroute-mixed-termination " GW_OK,
		TLS_L("gateway-tlsroute-mixed-termination", "tls-terminate", 1, L_OK),
		TLS_L("gateway-tlsroute-mixed-termination", "tls-passthrough", 1, L_OK),
		ROUTE_OK("TLSRoute", "gateway-conformance-mixed-passthroughroute", "gateway-tlsroute-mixed-termination"),
		ROUTE_OK("TLSRoute", "gateway-conformance-mixed-terminateroute", "gateway-tlsroute-mixed-termination"),
		NULL } },
	{ "tlsroute-simple-same-namespace", (const char *const[]){
		"gw gateway-tlsroute " GW_OK,
		TLS_L("gateway-tlsroute", "https", 1, L_OK),
		ROUTE_OK("TLSRoute", "gateway-conformance-infra-test", "gateway-tlsroute"),
		NULL } },
	{ "tlsroute-terminate-simple-same-namespace", (const char *const[]){
		"gw gateway-tlsroute-terminate " GW_OK,
		TLS_L("gateway-tlsroute-terminate", "tlsterminate", 1, L_OK),
		ROUTE_OK("TLSRoute", "tlsroute-terminated-test", "gateway-tlsroute-terminate"),
		NULL } },
	{ NULL, NULL },
};

static const struct conf_case tcp_udp_cases[] = {
	{ "tcproute-invalid-backendref-nonexistent", (const char *const[]){
		"gw tcp-gateway-invalid-backend " GW_OK,
		TCP_L("tcp-gateway-invalid-backend", "tcp", 1),
		"route TCPRoute tcp-route-invalid-backend-ref-nonexistent parents=1",
		"route TCPRoute tcp-route-invalid-backend-ref-nonexistent tcp-gateway-invalid-backend#tcp Accepted=True/Accepted ResolvedRefs=False/BackendNotFound",
		NULL } },
	{ "tcproute-invalid-cross-namespace-backend-ref", (const char *const[]){
		TCP_L("tcp-invalid-cross-namespace-backend-ref-gateway", "tcp", 1),
		"route TCPRoute tcp-invalid-cross-namespace-backend-ref tcp-invalid-cross-namespace-backend-ref-gateway#tcp Accepted=True/Accepted ResolvedRefs=False/RefNotPermitted",
		NULL } },
	/* TCPRouteInvalidNonTCPListener: NotAllowedByListeners, 0 routes */
	{ "tcproute-invalid-non-tcp-listener", (const char *const[]){
		"listener tcp-mixed-protocol-gateway:only-allow-http-routes attached=0 kinds=HTTPRoute " L_OK,
		"route TCPRoute tcp-route tcp-mixed-protocol-gateway#only-allow-http-routes Accepted=False/NotAllowedByListeners",
		NULL } },
	/* the newer route of the Go test is created at run time */
	{ "tcproute-multiple-routes-attachment", (const char *const[]){
		TCP_L("tcp-multi-route-attach-gateway", "tcp", 1),
		ROUTE_OK("TCPRoute", "tcproute-attach-older", "tcp-multi-route-attach-gateway#tcp"),
		NULL } },
	{ "tcproute-parentref-attach-all", (const char *const[]){
		TCP_L("tcp-attach-all-gateway", "one", 1), TCP_L("tcp-attach-all-gateway", "two", 1),
		TCP_L("tcp-attach-all-gateway", "three", 1), TCP_L("tcp-attach-all-gateway", "four", 1),
		ROUTE_OK("TCPRoute", "tcp-route-attach-all", "tcp-attach-all-gateway"),
		NULL } },
	{ "tcproute-parentref-port-and-section-name", (const char *const[]){
		TCP_L("tcp-multi-listener-gateway", "one", 1), TCP_L("tcp-multi-listener-gateway", "two", 1),
		TCP_L("tcp-multi-listener-gateway", "three", 1),
		ROUTE_OK("TCPRoute", "tcp-route-by-port", "tcp-multi-listener-gateway"),
		ROUTE_OK("TCPRoute", "tcp-route-by-section", "tcp-multi-listener-gateway#two"),
		ROUTE_OK("TCPRoute", "tcp-route-by-section-and-port", "tcp-multi-listener-gateway#three"),
		NULL } },
	{ "tcproute-reference-grant", (const char *const[]){
		TCP_L("tcp-reference-grant-gateway", "tcp", 1),
		ROUTE_OK("TCPRoute", "tcp-reference-grant", "tcp-reference-grant-gateway#tcp"),
		NULL } },
	{ "tcproute-weighted-routing", (const char *const[]){
		"gw tcp-weighted-gateway " GW_OK,
		TCP_L("tcp-weighted-gateway", "tcp", 1),
		ROUTE_OK("TCPRoute", "tcp-weighted-route", "tcp-weighted-gateway#tcp"),
		NULL } },
	{ "udproute-invalid-backendref-nonexistent", (const char *const[]){
		UDP_L("udp-gateway-invalid-backend", "udp", 1),
		"route UDPRoute udp-route-invalid-backend-ref-nonexistent udp-gateway-invalid-backend#udp Accepted=True/Accepted ResolvedRefs=False/BackendNotFound",
		NULL } },
	{ "udproute-invalid-cross-namespace-backend-ref", (const char *const[]){
		UDP_L("udp-gateway-invalid-cross-namespace-backend-ref", "udp", 1),
		"route UDPRoute udp-route-invalid-cross-namespace-backend-ref udp-gateway-invalid-cross-namespace-backend-ref#udp Accepted=True/Accepted ResolvedRefs=False/RefNotPermitted",
		NULL } },
	{ "udproute-multiple-routes-attachment", (const char *const[]){
		UDP_L("udp-multi-route-attach-gateway", "udp", 1),
		ROUTE_OK("UDPRoute", "udproute-attach-older", "udp-multi-route-attach-gateway#udp"),
		NULL } },
	/* a TLS listener does not take UDPRoutes */
	{ "udproute-not-allowed-by-listeners", (const char *const[]){
		TLS_L("udproute-tls-only-gateway", "tls", 0, L_OK),
		"route UDPRoute udproute-not-allowed-by-listeners udproute-tls-only-gateway#tls Accepted=False/NotAllowedByListeners",
		NULL } },
	{ "udproute-parentref-attach-all-listeners", (const char *const[]){
		UDP_L("udp-attach-all-listeners-gateway", "udp-1", 1),
		UDP_L("udp-attach-all-listeners-gateway", "udp-2", 1),
		UDP_L("udp-attach-all-listeners-gateway", "udp-3", 1),
		ROUTE_OK("UDPRoute", "udp-route-attach-all", "udp-attach-all-listeners-gateway"),
		NULL } },
	{ "udproute-parentref-port-and-section-name", (const char *const[]){
		UDP_L("udp-multi-listener-gateway", "by-port", 1),
		UDP_L("udp-multi-listener-gateway", "by-section", 1),
		UDP_L("udp-multi-listener-gateway", "by-section-and-port", 1),
		ROUTE_OK("UDPRoute", "udp-route-by-port", "udp-multi-listener-gateway"),
		ROUTE_OK("UDPRoute", "udp-route-by-section", "udp-multi-listener-gateway#by-section"),
		ROUTE_OK("UDPRoute", "udp-route-by-section-and-port", "udp-multi-listener-gateway#by-section-and-port"),
		NULL } },
	{ "udproute-reference-grant", (const char *const[]){
		UDP_L("udp-gateway-reference-grant", "udp", 1),
		ROUTE_OK("UDPRoute", "udp-route-reference-grant", "udp-gateway-reference-grant#udp"),
		NULL } },
	{ "udproute-simple", (const char *const[]){
		"gw udp-gateway " GW_OK,
		UDP_L("udp-gateway", "coredns", 1),
		ROUTE_OK("UDPRoute", "udp-coredns", "udp-gateway#coredns"),
		NULL } },
	{ "udproute-weighted-routing", (const char *const[]){
		UDP_L("udp-weighted-gateway", "udp", 1),
		ROUTE_OK("UDPRoute", "udp-weighted-route", "udp-weighted-gateway#udp"),
		NULL } },
	{ NULL, NULL },
};

/* BackendTLSPolicyObservedGenerationBump: with the CA ConfigMap the suite
 * creates, the policy is accepted for the route's Gateway; after an edit
 * (generation 2) every condition reports observedGeneration 2 (checked by
 * check_generic()) */
static void test_backendtlspolicy_observed_generation_bump(void **state)
{
	static const char *const lines[] = {
		HTTP_OK("backendtlspolicy-observed-generation-bump"),
		"ancestor BackendTLSPolicy observed-generation-bump same-namespace Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs",
		NULL,
	};
	struct fx f = { 0 };
	struct ctx cx = { .f = &f, .manifest = "backendtlspolicy-observed-generation-bump" };
	struct gw_translate_opts o = { .now = 1700000000, .address_pool = "127.10.0.0/16" };
	char *cm = conf_ca_configmap_yaml(INFRA, "tls-checks-ca-certificate");

	conf_setup_base(&f);
	fx_load(&f, cm);
	conf_load_manifest(&f, cx.manifest);
	for (int gen = 1; gen <= 2; gen++) {
		if (gen == 2)
			fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1\n"
				    "kind: BackendTLSPolicy\nmetadata:\n"
				    "  name: observed-generation-bump\n"
				    "  namespace: " INFRA "\n  generation: 2\nspec:\n"
				    "  targetRefs: [{group: '', kind: Service, "
				    "name: observed-generation-bump-test, sectionName: https}]\n"
				    "  validation:\n    caCertificateRefs: [{group: '', kind: "
				    "ConfigMap, name: tls-checks-ca-certificate}]\n"
				    "    hostname: new.example.com\n");
		fx_run_opts(&f, &o);
		check_generic(&cx);
		for (const char *const *l = lines; *l; l++) {
			cx.line = *l;
			check_line(&cx);
		}
	}
	assert_int_equal(json_integer_value(json_object_get(
				 find_cond(json_object_get(json_array_get(json_object_get(
							      fx_status(&f, "BackendTLSPolicy",
									INFRA,
									"observed-generation-bump"),
							      "ancestors"), 0),
							   "conditions"),
					   "Accepted"),
				 "observedGeneration")),
			 2);
	free(cm);
	fx_free(&f);
}

static void run_table(const struct conf_case *t)
{
	for (; t->manifest; t++)
		run_case(t);
}

static void test_gateway_manifests(void **state)
{
	run_table(gateway_cases);
}

static void test_httproute_manifests(void **state)
{
	run_table(httproute_cases);
}

static void test_listenerset_manifests(void **state)
{
	run_table(listenerset_cases);
}

static void test_grpcroute_manifests(void **state)
{
	run_table(grpc_cases);
}

static void test_tlsroute_manifests(void **state)
{
	run_table(tls_cases);
}

static void test_tcp_udp_route_manifests(void **state)
{
	run_table(tcp_udp_cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_manifests),
		cmocka_unit_test(test_httproute_manifests),
		cmocka_unit_test(test_listenerset_manifests),
		cmocka_unit_test(test_grpcroute_manifests),
		cmocka_unit_test(test_tlsroute_manifests),
		cmocka_unit_test(test_tcp_udp_route_manifests),
		cmocka_unit_test(test_backendtlspolicy_observed_generation_bump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
