/* tests/unit/test_model.c - decoding into the typed model: CRD defaults a
 * user relies on without writing them, every served version decoding alike,
 * GRPCRoute methods as paths, Secret data, label selectors and
 * ReferenceGrant matching. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/diag.h"
#include "gwbpf/model.h"
#include "gwbpf/node.h"
#include "gwbpf/store.h"

struct mfx {
	struct gw_store *s;
	struct gw_object **objs;
	struct gw_model *m;
};

static void mload(struct mfx *f, const char *yaml)
{
	struct gw_doc_list dl = { 0 };
	struct gw_diag_list diags = { 0 };
	ssize_t n;

	f->s = gw_store_new();
	assert_int_equal(gw_yaml_load_buf("m.yaml", yaml, strlen(yaml), &dl, &diags), 0);
	for (size_t i = 0; i < dl.n; i++) {
		struct gw_object *o = gw_object_from_doc(dl.v[i].root, "m.yaml", &diags);

		dl.v[i].root = NULL;
		assert_non_null(o);
		assert_int_equal(gw_store_put(f->s, o), 0);
	}
	gw_doc_list_free(&dl);
	gw_diag_list_free(&diags);
	n = gw_store_list(f->s, NULL, NULL, &f->objs);
	assert_true(n >= 0);
	f->m = gw_model_new(f->objs, (size_t)n);
	assert_non_null(f->m);
}

static void mfree(struct mfx *f)
{
	gw_model_free(f->m);
	free(f->objs);
	gw_store_free(f->s);
}

static void test_route_defaults(void **state)
{
	struct mfx f = { 0 };
	const struct gw_m_route *r;

	mload(&f, "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\nmetadata:\n"
		  "  name: r\n  namespace: ns\nspec:\n  parentRefs:\n  - name: gw\n  rules:\n"
		  "  - backendRefs:\n    - name: svc\n      port: 80\n"
		  "  - matches:\n    - headers: [{name: X, value: y}]\n");
	assert_int_equal(f.m->n_routes, 1);
	r = &f.m->routes[0];
	assert_int_equal(r->kind, GW_K_HTTPROUTE);
	assert_string_equal(r->parents[0].group, "gateway.networking.k8s.io");
	assert_string_equal(r->parents[0].kind, "Gateway");
	assert_string_equal(r->parents[0].ns, "ns");
	assert_null(r->parents[0].section);
	assert_int_equal(r->parents[0].port, 0);
	/* omitted matches: one PathPrefix "/" */
	assert_int_equal(r->rules[0].n_matches, 1);
	assert_int_equal(r->rules[0].matches[0].path_type, GW_M_PATH_PREFIX);
	assert_string_equal(r->rules[0].matches[0].path, "/");
	assert_string_equal(r->rules[0].backends[0].group, "");
	assert_string_equal(r->rules[0].backends[0].kind, "Service");
	assert_string_equal(r->rules[0].backends[0].ns, "ns");
	assert_int_equal(r->rules[0].backends[0].weight, 1);
	/* a match with only headers still matches every path */
	assert_string_equal(r->rules[1].matches[0].path, "/");
	assert_false(r->rules[1].matches[0].headers[0].regex);
	assert_false(r->rules[1].backends_set);
	mfree(&f);
}

static void test_listener_defaults(void **state)
{
	struct mfx f = { 0 };
	const struct gw_m_gateway *g;

	mload(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n"
		  "  name: gw\n  namespace: ns\nspec:\n  gatewayClassName: c\n  listeners:\n"
		  "  - name: https\n    port: 443\n    protocol: HTTPS\n    tls:\n"
		  "      certificateRefs: [{name: cert}]\n");
	g = gw_model_gateway(f.m, "ns", "gw");
	assert_non_null(g);
	assert_int_equal(g->allowed_listeners, GW_FROM_NONE);
	assert_int_equal(g->listeners[0].from, GW_FROM_SAME);
	assert_false(g->listeners[0].kinds_set);
	assert_string_equal(g->listeners[0].tls_mode, "Terminate");
	assert_string_equal(g->listeners[0].cert_refs[0].group, "");
	assert_string_equal(g->listeners[0].cert_refs[0].kind, "Secret");
	assert_null(g->listeners[0].cert_refs[0].ns);
	assert_null(g->listeners[0].hostname);
	mfree(&f);
}

static void test_grpc_method_paths(void **state)
{
	struct mfx f = { 0 };
	const struct gw_m_rule *rules;

	mload(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata:\n"
		  "  name: g\n  namespace: ns\nspec:\n  rules:\n"
		  "  - matches:\n    - method: {service: a.B, method: C}\n"
		  "    - method: {service: a.B}\n    - method: {method: C}\n"
		  "    - method: {type: RegularExpression, service: \"a\\\\..*\", method: \"C.*\"}\n");
	rules = f.m->routes[0].rules;
	assert_int_equal(rules[0].matches[0].path_type, GW_M_PATH_EXACT);
	assert_string_equal(rules[0].matches[0].path, "/a.B/C");
	assert_int_equal(rules[0].matches[1].path_type, GW_M_PATH_PREFIX);
	assert_string_equal(rules[0].matches[1].path, "/a.B");
	assert_int_equal(rules[0].matches[2].path_type, GW_M_PATH_REGEX);
	assert_string_equal(rules[0].matches[2].path, "/[^/]+/C");
	assert_string_equal(rules[0].matches[3].path, "/(?:a\\..*)/(?:C.*)");
	mfree(&f);
}

static void test_secret_data(void **state)
{
	struct mfx f = { 0 };
	const struct gw_m_secret *s;

	/* "hello\n" and "key" in base64; stringData is taken as is */
	mload(&f, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: ns\n"
		  "type: kubernetes.io/tls\ndata:\n  tls.crt: aGVsbG8K\n  tls.key: a2V5\n---\n"
		  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n  namespace: ns\n"
		  "stringData:\n  tls.crt: plain\n---\n"
		  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\n  namespace: ns\n"
		  "data:\n  tls.crt: \"!!notbase64\"\n");
	s = gw_model_secret(f.m, "ns", "s");
	assert_non_null(s);
	assert_string_equal(s->type, "kubernetes.io/tls");
	assert_string_equal(s->cert_pem, "hello\n");
	assert_string_equal(s->key_pem, "key");
	s = gw_model_secret(f.m, "ns", "t");
	assert_string_equal(s->type, "Opaque");
	assert_string_equal(s->cert_pem, "plain");
	assert_null(s->key_pem);
	assert_null(gw_model_secret(f.m, "ns", "bad")->cert_pem);
	assert_null(gw_model_secret(f.m, "other", "s"));
	mfree(&f);
}

static void test_selectors(void **state)
{
	struct mfx f = { 0 };
	struct gw_m_kv lab = { "env", "prod" };
	const char *vals[] = { "x", "y" };
	struct gw_m_sel_expr ex[] = { { "tier", GW_SEL_NOT_IN, vals, 2 },
				      { "env", GW_SEL_EXISTS, NULL, 0 } };
	struct gw_m_selector by_label = { .labels = &lab, .n_labels = 1 };
	struct gw_m_selector by_expr = { .exprs = ex, .n_exprs = 2 };
	struct gw_m_selector empty = { 0 };

	mload(&f, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: p\n  labels:\n"
		  "    env: prod\n    tier: x\n---\n"
		  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: q\n  labels:\n"
		  "    env: prod\n");
	assert_true(gw_model_selector_match(f.m, &by_label, "p"));
	assert_true(gw_model_selector_match(f.m, &by_label, "q"));
	assert_false(gw_model_selector_match(f.m, &by_label, "nowhere"));
	assert_false(gw_model_selector_match(f.m, &by_expr, "p")); /* tier x is excluded */
	assert_true(gw_model_selector_match(f.m, &by_expr, "q"));
	assert_true(gw_model_selector_match(f.m, &empty, "nowhere"));
	mfree(&f);
}

static void test_reference_grants(void **state)
{
	struct mfx f = { 0 };

	mload(&f, "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		  "metadata:\n  name: g\n  namespace: to\nspec:\n  from:\n"
		  "  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: from}\n"
		  "  to:\n  - {group: \"\", kind: Service, name: one}\n"
		  "  - {group: \"\", kind: Secret}\n");
	assert_true(gw_model_grant_allows(f.m, GW_GROUP_GATEWAY, "HTTPRoute", "from", "", "Service",
					  "to", "one"));
	assert_false(gw_model_grant_allows(f.m, GW_GROUP_GATEWAY, "HTTPRoute", "from", "",
					   "Service", "to", "two"));
	assert_true(gw_model_grant_allows(f.m, GW_GROUP_GATEWAY, "HTTPRoute", "from", "", "Secret",
					  "to", "any"));
	assert_false(gw_model_grant_allows(f.m, GW_GROUP_GATEWAY, "GRPCRoute", "from", "",
					   "Service", "to", "one"));
	assert_false(gw_model_grant_allows(f.m, GW_GROUP_GATEWAY, "HTTPRoute", "elsewhere", "",
					   "Service", "to", "one"));
	/* a grant only speaks for its own namespace */
	assert_false(gw_model_grant_allows(f.m, GW_GROUP_GATEWAY, "HTTPRoute", "from", "",
					   "Service", "third", "one"));
	mfree(&f);
}

static void test_ingress_only_our_class(void **state)
{
	struct mfx f = { 0 };

	mload(&f, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\n"
		  "  namespace: ns\n  annotations:\n    kubernetes.io/ingress.class: gwbpf\n"
		  "spec:\n  rules:\n  - host: a.example\n    http:\n      paths:\n"
		  "      - path: /x\n        pathType: Exact\n        backend:\n"
		  "          service: {name: s, port: {name: web}}\n---\n"
		  "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: b\n"
		  "  namespace: ns\nspec:\n  ingressClassName: other\n  defaultBackend:\n"
		  "    service: {name: s, port: {number: 80}}\n");
	assert_int_equal(f.m->n_routes, 1);
	assert_int_equal(f.m->routes[0].kind, GW_K_INGRESS);
	assert_string_equal(f.m->routes[0].hostnames[0], "a.example");
	assert_int_equal(f.m->routes[0].rules[0].matches[0].path_type, GW_M_PATH_EXACT);
	assert_string_equal(f.m->routes[0].rules[0].backends[0].port_name, "web");
	mfree(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_defaults),
		cmocka_unit_test(test_listener_defaults),
		cmocka_unit_test(test_grpc_method_paths),
		cmocka_unit_test(test_secret_data),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_reference_grants),
		cmocka_unit_test(test_ingress_only_our_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
