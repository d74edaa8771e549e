/* tests/unit/test_translate.c - the translator's Gateway API semantics:
 * class and Gateway acceptance, listeners (protocols, kinds, conflicts,
 * certificates), addresses, route attachment (parentRefs, allowedRoutes,
 * hostnames), references and ReferenceGrants, rule precedence with every
 * tie-break (checked through the real router), filters, kernel_ok, Ingress
 * and the status List. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "translate_helpers.h"

#define GW(name, ns, listeners)                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: " name         \
	"\n  namespace: " ns "\nspec:\n  gatewayClassName: gwbpf\n  listeners:\n" listeners "---\n"

#define L_HTTP(name, port, from)                                                                   \
	"  - name: " name "\n    port: " port "\n    protocol: HTTP\n"                              \
	"    allowedRoutes:\n      namespaces:\n        from: " from "\n"

#define SVC(ns, name, port)                                                                        \
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: " name "\n  namespace: " ns             \
	"\nspec:\n  ports:\n  - name: http\n    port: " port "\n    targetPort: 8080\n---\n"

#define ROUTE(ns, name, extra_spec)                                                                \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: " name      \
	"\n  namespace: " ns "\nspec:\n" extra_spec "---\n"

#define PARENT(gw) "  parentRefs:\n  - name: " gw "\n"
#define PARENT_NS(gw, ns) "  parentRefs:\n  - name: " gw "\n    namespace: " ns "\n"

#define RULE_SVC(svc, port)                                                                        \
	"  - backendRefs:\n    - name: " svc "\n      port: " port "\n"

static const char base[] = CLASS_YAML GW("gw", "infra", L_HTTP("http", "80", "All"))
	SVC("infra", "web", "80") SVC("app", "app", "80");

/* ---- GatewayClass and Gateway ---- */

static void test_class_accepted_and_foreign_ignored(void **state)
{
	struct fx f = { 0 };
	const char *feats[] = { "Gateway", "HTTPRoute", NULL };
	struct gw_translate_opts o = { .now = 0, .supported_features = feats };
	json_t *st, *c;

	fx_load(&f, base);
	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n"
		    "  name: other\nspec:\n  controllerName: example.com/other\n---\n" GW(
			    "foreign", "infra", L_HTTP("http", "80", "All")));
	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n"
		    "  name: foreign\n  namespace: infra\nspec:\n  gatewayClassName: other\n"
		    "  listeners:\n  - name: http\n    port: 80\n    protocol: HTTP\n");
	fx_run_opts(&f, &o);
	st = fx_status(&f, "GatewayClass", "", "gwbpf");
	assert_cond(json_object_get(st, "conditions"), "Accepted", "True", "Accepted");
	c = find_cond(json_object_get(st, "conditions"), "Accepted");
	assert_string_equal(json_string_value(json_object_get(c, "lastTransitionTime")),
			    "1970-01-01T00:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), 1);
	assert_int_equal(json_array_size(json_object_get(st, "supportedFeatures")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "supportedFeatures"), 1), "name")),
			    "HTTPRoute");
	assert_null(fx_status(&f, "GatewayClass", "", "other"));
	assert_true(fx_obj(&f, "GatewayClass", "", "other")->ok);
	assert_null(fx_status(&f, "Gateway", "infra", "foreign"));
	assert_true(fx_obj(&f, "Gateway", "infra", "foreign")->ok);
	/* Services have no status */
	assert_null(fx_status(&f, "Service", "infra", "web"));
	fx_free(&f);
}

static void test_class_custom_controller_name(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { .controller_name = "example.com/other" };

	fx_load(&f, base);
	fx_run_opts(&f, &o);
	assert_null(fx_status(&f, "GatewayClass", "", "gwbpf"));
	assert_null(fx_status(&f, "Gateway", "infra", "gw"));
	assert_int_equal(f.t->ir->n_binds, 0);
	fx_free(&f);
}

static void test_class_invalid_parameters(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n"
		    "  name: gwbpf\nspec:\n  controllerName: gwbpf.dev/gateway-controller\n"
		    "  parametersRef:\n    group: \"\"\n    kind: ConfigMap\n    name: nope\n"
		    "    namespace: infra\n---\n" GW("gw", "infra", L_HTTP("http", "80", "All")));
	fx_run(&f);
	assert_cond(json_object_get(fx_status(&f, "GatewayClass", "", "gwbpf"), "conditions"),
		    "Accepted", "False", "InvalidParameters");
	assert_false(fx_obj(&f, "GatewayClass", "", "gwbpf")->ok);
	assert_cond(gw_conds(&f, "infra", "gw"), "Accepted", "False", "Invalid");
	fx_free(&f);
}

static void test_gateway_accepted_programmed(void **state)
{
	struct fx f = { 0 };
	json_t *st, *l, *k;

	fx_load(&f, base);
	fx_run(&f);
	st = fx_status(&f, "Gateway", "infra", "gw");
	assert_cond(json_object_get(st, "conditions"), "Accepted", "True", "Accepted");
	assert_cond(json_object_get(st, "conditions"), "Programmed", "True", "Programmed");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "addresses"), 0), "value")),
			    "0.0.0.0");
	l = gw_listener(&f, "Gateway", "infra", "gw", "http");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "True", "Accepted");
	assert_cond(json_object_get(l, "conditions"), "Programmed", "True", "Programmed");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "True", "ResolvedRefs");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "False", "NoConflicts");
	k = json_object_get(l, "supportedKinds");
	assert_int_equal(json_array_size(k), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(k, 0), "kind")),
			    "HTTPRoute");
	assert_string_equal(json_string_value(json_object_get(json_array_get(k, 0), "group")),
			    "gateway.networking.k8s.io");
	assert_string_equal(json_string_value(json_object_get(json_array_get(k, 1), "kind")),
			    "GRPCRoute");
	assert_true(fx_obj(&f, "Gateway", "infra", "gw")->ok);
	assert_non_null(fx_bind(&f, "0.0.0.0", 80));
	fx_free(&f);
}

static void test_gateway_invalid_infrastructure_parameters(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { .address_pool = "10.2.0.0/24" };
	json_t *st;

	fx_load(&f, CLASS_YAML
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: bad\n"
		"  namespace: infra\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\nspec:\n"
		"  gatewayClassName: gwbpf\n  infrastructure:\n    parametersRef:\n"
		"      group: \"\"\n      kind: ConfigMap\n      name: missing\n  listeners:\n"
		"  - name: http\n    port: 80\n    protocol: HTTP\n---\n"
		GW("good", "infra", L_HTTP("http", "80", "All")));
	fx_run_opts(&f, &o);
	assert_cond(gw_conds(&f, "infra", "bad"), "Accepted", "False", "InvalidParameters");
	assert_cond(gw_conds(&f, "infra", "bad"), "Programmed", "False", "Invalid");
	/* the rejected (older) Gateway does not take an address from the pool */
	st = fx_status(&f, "Gateway", "infra", "good");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "addresses"), 0), "value")),
			    "10.2.0.1");
	assert_int_equal(f.t->ir->n_binds, 1);
	fx_free(&f);
}

static void test_listen_address_option(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { .listen_address = "127.0.0.2" };

	fx_load(&f, base);
	fx_run_opts(&f, &o);
	assert_non_null(fx_bind(&f, "127.0.0.2", 80));
	assert_null(fx_bind(&f, "0.0.0.0", 80));
	fx_free(&f);
}

static void test_unsupported_protocol(void **state)
{
	struct fx f = { 0 };
	json_t *l;

	fx_load(&f, CLASS_YAML GW("only-bad", "infra",
				  "  - name: invalid\n    port: 1111\n    protocol: INVALID\n")
			    GW("mixed", "infra",
			       "  - name: http\n    port: 80\n    protocol: HTTP\n"
			       "  - name: invalid\n    port: 1111\n    protocol: INVALID\n"));
	fx_run(&f);
	assert_cond(gw_conds(&f, "infra", "only-bad"), "Accepted", "False", "ListenersNotValid");
	l = gw_listener(&f, "Gateway", "infra", "only-bad", "invalid");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "False", "UnsupportedProtocol");
	assert_cond(json_object_get(l, "conditions"), "Programmed", "False", "Invalid");
	assert_int_equal(json_array_size(json_object_get(l, "supportedKinds")), 0);
	assert_cond(gw_conds(&f, "infra", "mixed"), "Accepted", "True", "ListenersNotValid");
	l = gw_listener(&f, "Gateway", "infra", "mixed", "http");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "True", "Accepted");
	l = gw_listener(&f, "Gateway", "infra", "mixed", "invalid");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "False", "UnsupportedProtocol");
	assert_false(fx_obj(&f, "Gateway", "infra", "mixed")->ok);
	/* only the valid listener is served */
	assert_non_null(fx_bind(&f, NULL, 80));
	assert_null(fx_bind(&f, NULL, 1111));
	fx_free(&f);
}

static void test_listener_conflicts(void **state)
{
	struct fx f = { 0 };
	json_t *l;

	fx_load(&f, CLASS_YAML GW("gw", "infra",
				  "  - name: http\n    port: 80\n    protocol: HTTP\n"
				  "  - name: tcp\n    port: 80\n    protocol: TCP\n"
				  "  - name: a\n    port: 8080\n    protocol: HTTP\n"
				  "    hostname: a.example.com\n"
				  "  - name: a2\n    port: 8080\n    protocol: HTTP\n"
				  "    hostname: a.example.com\n"
				  "  - name: b\n    port: 8080\n    protocol: HTTP\n"
				  "    hostname: b.example.com\n"
				  "  - name: udp\n    port: 8080\n    protocol: UDP\n"));
	fx_run(&f);
	l = gw_listener(&f, "Gateway", "infra", "gw", "http");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "True", "ProtocolConflict");
	assert_cond(json_object_get(l, "conditions"), "Programmed", "False", "ProtocolConflict");
	l = gw_listener(&f, "Gateway", "infra", "gw", "tcp");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "True", "ProtocolConflict");
	l = gw_listener(&f, "Gateway", "infra", "gw", "a");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "True", "HostnameConflict");
	l = gw_listener(&f, "Gateway", "infra", "gw", "a2");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "True", "HostnameConflict");
	l = gw_listener(&f, "Gateway", "infra", "gw", "b");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "False", "NoConflicts");
	assert_cond(json_object_get(l, "conditions"), "Programmed", "True", "Programmed");
	/* UDP never shares a socket with TCP listeners */
	l = gw_listener(&f, "Gateway", "infra", "gw", "udp");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "False", "NoConflicts");
	assert_cond(gw_conds(&f, "infra", "gw"), "Accepted", "True", "ListenersNotValid");
	assert_null(fx_bind(&f, NULL, 80));
	fx_free(&f);
}

static void test_cross_gateway_conflict_on_shared_address(void **state)
{
	struct fx f = { 0 };
	json_t *l;

	/* no pool: both bind 0.0.0.0:80; the older Gateway keeps the port */
	fx_load(&f, CLASS_YAML
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: old\n"
		"  namespace: infra\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\nspec:\n"
		"  gatewayClassName: gwbpf\n  listeners:\n  - name: http\n    port: 80\n"
		"    protocol: HTTP\n---\n"
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: new\n"
		"  namespace: infra\n  creationTimestamp: \"2025-01-01T00:00:00Z\"\nspec:\n"
		"  gatewayClassName: gwbpf\n  listeners:\n  - name: tcp\n    port: 80\n"
		"    protocol: TCP\n");
	fx_run(&f);
	l = gw_listener(&f, "Gateway", "infra", "new", "tcp");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "True", "ProtocolConflict");
	l = gw_listener(&f, "Gateway", "infra", "old", "http");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "False", "NoConflicts");
	assert_int_equal(fx_bind(&f, NULL, 80)->proto, GW_PROTO_HTTP);
	fx_free(&f);
}

static void test_invalid_route_kinds(void **state)
{
	struct fx f = { 0 };
	json_t *l, *k;

	fx_load(&f, CLASS_YAML GW("gw", "infra",
				  "  - name: only-bad\n    port: 80\n    protocol: HTTP\n"
				  "    allowedRoutes:\n      kinds:\n      - kind: FooRoute\n"
				  "  - name: mixed\n    port: 81\n    protocol: HTTP\n"
				  "    allowedRoutes:\n      kinds:\n      - kind: HTTPRoute\n"
				  "      - kind: FooRoute\n"
				  "  - name: tcp-on-http\n    port: 82\n    protocol: HTTP\n"
				  "    allowedRoutes:\n      kinds:\n      - kind: TCPRoute\n"));
	fx_run(&f);
	l = gw_listener(&f, "Gateway", "infra", "gw", "only-bad");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False", "InvalidRouteKinds");
	assert_int_equal(json_array_size(json_object_get(l, "supportedKinds")), 0);
	l = gw_listener(&f, "Gateway", "infra", "gw", "mixed");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False", "InvalidRouteKinds");
	k = json_object_get(l, "supportedKinds");
	assert_int_equal(json_array_size(k), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(k, 0), "kind")),
			    "HTTPRoute");
	l = gw_listener(&f, "Gateway", "infra", "gw", "tcp-on-http");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False", "InvalidRouteKinds");
	fx_free(&f);
}

static void test_address_pool(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { .address_pool = "10.1.0.0/30" };
	json_t *st;

#define GWTS(name, ts, extra)                                                                      \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: " name        \
	"\n  namespace: infra\n  creationTimestamp: \"" ts "\"\nspec:\n"                           \
	"  gatewayClassName: gwbpf\n" extra "  listeners:\n  - name: http\n    port: 80\n"          \
	"    protocol: HTTP\n---\n"
	/* listed out of age order on purpose: assignment follows creation time */
	fx_load(&f, CLASS_YAML GWTS("c", "2024-03-01T00:00:00Z", "")
			    GWTS("a", "2024-01-01T00:00:00Z", "")
				    GWTS("static", "2023-01-01T00:00:00Z",
					 "  addresses:\n  - type: IPAddress\n    value: 10.9.9.9\n")
					    GWTS("b", "2024-02-01T00:00:00Z", "")
						    GWTS("host", "2024-02-02T00:00:00Z",
							 "  addresses:\n  - type: Hostname\n"
							 "    value: gw.example.com\n"));
	fx_run_opts(&f, &o);
	st = fx_status(&f, "Gateway", "infra", "a");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "addresses"), 0), "value")),
			    "10.1.0.1");
	st = fx_status(&f, "Gateway", "infra", "b");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "addresses"), 0), "value")),
			    "10.1.0.2");
	assert_cond(gw_conds(&f, "infra", "b"), "Programmed", "True", "Programmed");
	/* a /30 has two host addresses: the third Gateway gets none */
	assert_cond(gw_conds(&f, "infra", "c"), "Programmed", "False", "AddressNotAssigned");
	assert_int_equal(json_array_size(json_object_get(fx_status(&f, "Gateway", "infra", "c"),
							 "addresses")),
			 0);
	st = fx_status(&f, "Gateway", "infra", "static");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "addresses"), 0), "value")),
			    "10.9.9.9");
	assert_cond(gw_conds(&f, "infra", "host"), "Accepted", "False", "UnsupportedAddress");
	/* each Gateway binds only its own address */
	assert_non_null(fx_bind(&f, "10.1.0.1", 80));
	assert_non_null(fx_bind(&f, "10.1.0.2", 80));
	assert_non_null(fx_bind(&f, "10.9.9.9", 80));
	assert_int_equal(f.t->ir->n_binds, 3);
	fx_free(&f);
}

static void test_listener_certificates(void **state)
{
	struct fx f = { 0 };
	char *sec = tls_secret_yaml("infra", "cert"), *sec2 = tls_secret_yaml("certs", "shared");
	const struct gw_ir_bind *b;
	json_t *l;

#define L_HTTPS(name, port, host, ref)                                                             \
	"  - name: " name "\n    port: " port "\n    protocol: HTTPS\n    hostname: " host          \
	"\n    tls:\n      certificateRefs:\n" ref
	fx_load(&f, sec);
	fx_load(&f, sec2);
	fx_load(&f, CLASS_YAML
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: opaque\n  namespace: infra\n"
		"type: Opaque\ndata:\n  tls.crt: aGVsbG8=\n  tls.key: aGVsbG8=\n---\n"
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: garbage\n  namespace: infra\n"
		"type: kubernetes.io/tls\ndata:\n  tls.crt: aGVsbG8=\n  tls.key: aGVsbG8=\n---\n"
		GW("gw", "infra",
		   L_HTTPS("ok", "443", "ok.example.com", "      - name: cert\n")
		   L_HTTPS("missing", "443", "missing.example.com", "      - name: nope\n")
		   L_HTTPS("kind", "443", "kind.example.com",
			   "      - name: cert\n        kind: ConfigMap\n")
		   L_HTTPS("group", "443", "group.example.com",
			   "      - name: cert\n        group: wrong.example.com\n")
		   L_HTTPS("opaque", "443", "opaque.example.com", "      - name: opaque\n")
		   L_HTTPS("garbage", "443", "garbage.example.com", "      - name: garbage\n")
		   L_HTTPS("xns", "443", "xns.example.com",
			   "      - name: shared\n        namespace: certs\n")));
	fx_run(&f);
	l = gw_listener(&f, "Gateway", "infra", "gw", "ok");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "True", "ResolvedRefs");
	assert_cond(json_object_get(l, "conditions"), "Programmed", "True", "Programmed");
	{
		static const char *const bad[] = { "missing", "kind", "group", "opaque",
						   "garbage" };

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			l = gw_listener(&f, "Gateway", "infra", "gw", bad[i]);
			assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False",
				    "InvalidCertificateRef");
			assert_cond(json_object_get(l, "conditions"), "Programmed", "False",
				    "Invalid");
		}
	}
	l = gw_listener(&f, "Gateway", "infra", "gw", "xns");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False", "RefNotPermitted");
	b = fx_bind(&f, NULL, 443);
	assert_non_null(b);
	assert_int_equal(b->proto, GW_PROTO_HTTPS);
	assert_int_equal(b->n_listeners, 1);
	assert_int_equal(b->listeners[0].n_certs, 1);
	assert_non_null(strstr(b->listeners[0].certs[0].cert_pem, "BEGIN CERTIFICATE"));
	assert_non_null(strstr(b->listeners[0].certs[0].key_pem, "PRIVATE KEY"));

	/* a ReferenceGrant from Gateways in infra makes the cross-namespace ref valid */
	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		    "metadata:\n  name: g\n  namespace: certs\nspec:\n  from:\n"
		    "  - group: gateway.networking.k8s.io\n    kind: Gateway\n    namespace: infra\n"
		    "  to:\n  - group: \"\"\n    kind: Secret\n");
	fx_run(&f);
	l = gw_listener(&f, "Gateway", "infra", "gw", "xns");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "True", "ResolvedRefs");
	assert_int_equal(fx_bind(&f, NULL, 443)->n_listeners, 2);
	assert_null(fx_status(&f, "ReferenceGrant", "certs", "g"));
	free(sec);
	free(sec2);
	fx_free(&f);
}

/* ---- attachment ---- */

static void test_route_attachment_reasons(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, CLASS_YAML GW("gw", "infra",
				  L_HTTP("same", "80", "Same") L_HTTP("all", "81", "All"))
			    SVC("infra", "web", "80") SVC("app", "web", "80"));
	fx_load(&f, ROUTE("infra", "ok", PARENT("gw") "  rules:\n" RULE_SVC("web", "80"))
			    ROUTE("app", "other-ns", PARENT_NS("gw", "infra") "  rules:\n"
						     RULE_SVC("web", "80"))
				    ROUTE("infra", "bad-section",
					  "  parentRefs:\n  - name: gw\n    sectionName: nope\n"
					  "  rules:\n" RULE_SVC("web", "80"))
					    ROUTE("infra", "bad-port",
						  "  parentRefs:\n  - name: gw\n    port: 9999\n"
						  "  rules:\n" RULE_SVC("web", "80"))
						    ROUTE("infra", "no-gw",
							  PARENT("missing") "  rules:\n"
								  RULE_SVC("web", "80"))
							    ROUTE("app", "app-same-only",
								  "  parentRefs:\n  - name: gw\n"
								  "    namespace: infra\n"
								  "    sectionName: same\n"
								  "  rules:\n" RULE_SVC("web", "80")));
	fx_run(&f);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "ok", "gw", NULL), "Accepted", "True",
		    "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "ok", "gw", NULL), "ResolvedRefs",
		    "True", "ResolvedRefs");
	assert_true(fx_obj(&f, "HTTPRoute", "infra", "ok")->ok);
	/* app namespace: only the "all" listener lets it in */
	assert_cond(route_parent(&f, "HTTPRoute", "app", "other-ns", "gw", NULL), "Accepted",
		    "True", "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "bad-section", "gw", "nope"),
		    "Accepted", "False", "NoMatchingParent");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "bad-port", "gw", NULL), "Accepted",
		    "False", "NoMatchingParent");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "no-gw", "missing", NULL), "Accepted",
		    "False", "NoMatchingParent");
	assert_cond(route_parent(&f, "HTTPRoute", "app", "app-same-only", "gw", "same"),
		    "Accepted", "False", "NotAllowedByListeners");
	assert_false(fx_obj(&f, "HTTPRoute", "app", "app-same-only")->ok);
	/* each object that is not ok has a diagnostic naming why, for validate */
	{
		bool seen = false;

		for (size_t i = 0; i < f.t->diags.n; i++)
			if (f.t->diags.v[i].object &&
			    !strcmp(f.t->diags.v[i].object, "HTTPRoute app/app-same-only")) {
				seen = true;
				assert_non_null(strstr(f.t->diags.v[i].msg, "NotAllowedByListeners"));
				assert_string_equal(f.t->diags.v[i].file, "inline.yaml");
			}
		assert_true(seen);
	}
	/* attachedRoutes: "same" has ok + bad-port? no: only ok; "all" has ok and other-ns */
	assert_int_equal(attached(gw_listener(&f, "Gateway", "infra", "gw", "same")), 1);
	assert_int_equal(attached(gw_listener(&f, "Gateway", "infra", "gw", "all")), 2);
	/* the parentRef is echoed with defaults filled in */
	{
		json_t *p = json_array_get(
			json_object_get(fx_status(&f, "HTTPRoute", "infra", "ok"), "parents"), 0);
		json_t *ref = json_object_get(p, "parentRef");

		assert_string_equal(json_string_value(json_object_get(ref, "group")),
				    "gateway.networking.k8s.io");
		assert_string_equal(json_string_value(json_object_get(ref, "kind")), "Gateway");
		assert_string_equal(json_string_value(json_object_get(ref, "namespace")), "infra");
		assert_string_equal(json_string_value(json_object_get(p, "controllerName")),
				    "gwbpf.dev/gateway-controller");
	}
	fx_free(&f);
}

static void test_route_of_foreign_gateway_has_no_status(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, base);
	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n"
		    "  name: foreign\n  namespace: infra\nspec:\n  gatewayClassName: other\n"
		    "  listeners:\n  - name: http\n    port: 80\n    protocol: HTTP\n---\n" ROUTE(
			    "infra", "r", PARENT("foreign") "  rules:\n" RULE_SVC("web", "80")));
	fx_run(&f);
	assert_null(fx_status(&f, "HTTPRoute", "infra", "r"));
	assert_true(fx_obj(&f, "HTTPRoute", "infra", "r")->ok);
	fx_free(&f);
}

static void test_allowed_routes_selector(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, CLASS_YAML
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n"
		"    team: a\n    tier: web\n---\n"
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n  labels:\n"
		"    team: b\n---\n"
		GW("gw", "infra",
		   "  - name: labels\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n"
		   "      namespaces:\n        from: Selector\n        selector:\n"
		   "          matchLabels:\n            team: a\n"
		   "  - name: exprs\n    port: 81\n    protocol: HTTP\n    allowedRoutes:\n"
		   "      namespaces:\n        from: Selector\n        selector:\n"
		   "          matchExpressions:\n          - key: team\n            operator: In\n"
		   "            values: [a, b]\n          - key: tier\n"
		   "            operator: DoesNotExist\n"
		   "  - name: byname\n    port: 82\n    protocol: HTTP\n    allowedRoutes:\n"
		   "      namespaces:\n        from: Selector\n        selector:\n"
		   "          matchLabels:\n            kubernetes.io/metadata.name: ghost\n"));
	fx_load(&f, ROUTE("team-a", "r", PARENT_NS("gw", "infra"))
			    ROUTE("team-b", "r", PARENT_NS("gw", "infra"))
				    ROUTE("ghost", "r", PARENT_NS("gw", "infra")));
	fx_run(&f);
	assert_int_equal(attached(gw_listener(&f, "Gateway", "infra", "gw", "labels")), 1);
	/* team-a has tier, so only team-b matches the expressions */
	assert_int_equal(attached(gw_listener(&f, "Gateway", "infra", "gw", "exprs")), 1);
	/* a namespace without a Namespace object still has its name label */
	assert_int_equal(attached(gw_listener(&f, "Gateway", "infra", "gw", "byname")), 1);
	assert_cond(route_parent(&f, "HTTPRoute", "team-a", "r", "gw", NULL), "Accepted", "True",
		    "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", "ghost", "r", "gw", NULL), "Accepted", "True",
		    "Accepted");
	/* 404 on 81 for team-a's route, served on 80 */
	fx_free(&f);
}

static void test_hostname_intersection(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_listener *il;

	fx_load(&f, CLASS_YAML GW("gw", "infra",
				  "  - name: wild\n    port: 80\n    protocol: HTTP\n"
				  "    hostname: \"*.example.com\"\n    allowedRoutes:\n"
				  "      namespaces:\n        from: All\n"
				  "  - name: exact\n    port: 81\n    protocol: HTTP\n"
				  "    hostname: foo.example.com\n") SVC("infra", "web", "80"));
	fx_load(&f, ROUTE("infra", "exact-host",
			  "  parentRefs:\n  - name: gw\n    sectionName: wild\n"
			  "  hostnames: [foo.example.com, other.org]\n  rules:\n" RULE_SVC("web", "80"))
			    ROUTE("infra", "no-match",
				  PARENT("gw") "  hostnames: [other.org]\n  rules:\n"
					       RULE_SVC("web", "80"))
				    ROUTE("infra", "wild-route",
					  "  parentRefs:\n  - name: gw\n    sectionName: exact\n"
					  "  hostnames: [\"*.example.com\"]\n  rules:\n"
					  RULE_SVC("web", "80"))
					    ROUTE("infra", "deeper",
						  "  parentRefs:\n  - name: gw\n    sectionName: wild\n"
						  "  hostnames: [\"*.a.example.com\", example.com]\n"
						  "  rules:\n" RULE_SVC("web", "80")));
	fx_run(&f);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "exact-host", "gw", "wild"), "Accepted",
		    "True", "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "no-match", "gw", NULL), "Accepted",
		    "False", "NoMatchingListenerHostname");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "wild-route", "gw", "exact"),
		    "Accepted", "True", "Accepted");
	/* "example.com" is not under "*.example.com", "*.a.example.com" is */
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "deeper", "gw", "wild"), "Accepted",
		    "True", "Accepted");
	il = &fx_bind(&f, NULL, 80)->listeners[0];
	assert_int_equal(il->n_vhosts, 2);
	assert_string_equal(il->vhosts[0].hostname, "foo.example.com");
	assert_string_equal(il->vhosts[1].hostname, "*.a.example.com");
	/* on the exact listener the wildcard route serves foo.example.com */
	il = &fx_bind(&f, NULL, 81)->listeners[0];
	assert_int_equal(il->n_vhosts, 1);
	assert_string_equal(il->vhosts[0].hostname, "foo.example.com");
	assert_string_equal(fx_route(&f, 80, "x.a.example.com", "/"), "infra/deeper#0");
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/"), "infra/exact-host#0");
	assert_string_equal(fx_route(&f, 80, "bar.example.com", "/"), "404");
	fx_free(&f);
}

/* ---- backends ---- */

static void test_backend_refs(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;

	fx_load(&f, base);
	fx_load(&f,
		ROUTE("infra", "missing", PARENT("gw") "  hostnames: [missing]\n  rules:\n"
						       RULE_SVC("nope", "80"))
			ROUTE("infra", "kind",
			      PARENT("gw") "  hostnames: [kind]\n  rules:\n  - backendRefs:\n"
					   "    - name: web\n      kind: Unknown\n      group: x.io\n")
				ROUTE("infra", "xns",
				      PARENT("gw") "  hostnames: [xns]\n  rules:\n  - backendRefs:\n"
						   "    - name: app\n      namespace: app\n"
						   "      port: 80\n")
					ROUTE("infra", "badport",
					      PARENT("gw") "  hostnames: [badport]\n  rules:\n"
							   RULE_SVC("web", "81"))
						ROUTE("infra", "half",
						      PARENT("gw")
						      "  hostnames: [half]\n  rules:\n"
						      "  - backendRefs:\n    - name: web\n"
						      "      port: 80\n      weight: 3\n"
						      "    - name: nope\n      port: 80\n"
						      "      weight: 1\n")
							ROUTE("infra", "none",
							      PARENT("gw") "  hostnames: [none]\n"
									   "  rules:\n  - {}\n"));
	fx_run(&f);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "missing", "gw", NULL), "ResolvedRefs",
		    "False", "BackendNotFound");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "missing", "gw", NULL), "Accepted",
		    "True", "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "kind", "gw", NULL), "ResolvedRefs",
		    "False", "InvalidKind");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "xns", "gw", NULL), "ResolvedRefs",
		    "False", "RefNotPermitted");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "badport", "gw", NULL), "ResolvedRefs",
		    "False", "BackendNotFound");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "none", "gw", NULL), "ResolvedRefs",
		    "True", "ResolvedRefs");
	/* all-invalid rule: 500; partly invalid: the invalid share is cluster -1 */
	fx_route_h(&f, 80, "GET", "missing", "/", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 500);
	assert_int_equal(a->backends[0].cluster, -1);
	fx_route_h(&f, 80, "GET", "half", "/", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 0);
	assert_int_equal(a->n_backends, 2);
	assert_int_equal(a->total_weight, 4);
	assert_int_equal(a->backends[0].weight, 3);
	assert_string_equal(f.t->ir->clusters[a->backends[0].cluster].name, "infra/web:80");
	assert_int_equal(a->backends[1].cluster, -1);
	assert_false(a->kernel_ok);
	fx_route_h(&f, 80, "GET", "none", "/", NULL, 0, &a);
	assert_int_equal(a->direct_status, 500);

	/* a ReferenceGrant for HTTPRoutes from infra to that Service */
	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		    "metadata:\n  name: g\n  namespace: app\nspec:\n  from:\n"
		    "  - group: gateway.networking.k8s.io\n    kind: HTTPRoute\n    namespace: infra\n"
		    "  to:\n  - group: \"\"\n    kind: Service\n    name: app\n");
	fx_run(&f);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "xns", "gw", NULL), "ResolvedRefs",
		    "True", "ResolvedRefs");
	fx_route_h(&f, 80, "GET", "xns", "/", NULL, 0, &a);
	assert_string_equal(f.t->ir->clusters[a->backends[0].cluster].name, "app/app:80");
	assert_true(a->kernel_ok);
	fx_free(&f);
}

static void test_grant_wrong_kind_not_enough(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "xns", PARENT("gw") "  rules:\n  - backendRefs:\n"
						       "    - name: app\n      namespace: app\n"
						       "      port: 80\n")
		    "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		    "metadata:\n  name: g\n  namespace: app\nspec:\n  from:\n"
		    "  - group: gateway.networking.k8s.io\n    kind: GRPCRoute\n    namespace: infra\n"
		    "  to:\n  - group: \"\"\n    kind: Service\n---\n"
		    "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		    "metadata:\n  name: g2\n  namespace: app\nspec:\n  from:\n"
		    "  - group: gateway.networking.k8s.io\n    kind: HTTPRoute\n    namespace: infra\n"
		    "  to:\n  - group: \"\"\n    kind: Service\n    name: other\n");
	fx_run(&f);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "xns", "gw", NULL), "ResolvedRefs",
		    "False", "RefNotPermitted");
	fx_free(&f);
}

static void test_endpoints(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_cluster *cl = NULL;

	fx_load(&f, CLASS_YAML GW("gw", "infra", L_HTTP("http", "80", "All"))
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: infra\n"
		"spec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: web\n"
		"  - name: grpc\n    port: 9000\n    targetPort: 9001\n"
		"    appProtocol: kubernetes.io/h2c\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
		"  namespace: infra\n  labels:\n    kubernetes.io/service-name: web\n"
		"addressType: IPv4\nports:\n- name: http\n  port: 8080\n- name: grpc\n  port: 9001\n"
		"endpoints:\n- addresses: [10.0.0.1]\n- addresses: [10.0.0.2]\n  conditions:\n"
		"    ready: false\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: other\n"
		"  namespace: infra\n  labels:\n    kubernetes.io/service-name: web2\n"
		"addressType: IPv4\nports:\n- name: http\n  port: 1\nendpoints:\n"
		"- addresses: [10.9.9.9]\n---\n" ROUTE("infra", "r",
						       PARENT("gw") "  rules:\n" RULE_SVC("web", "80")
							       RULE_SVC("web", "9000")));
	fx_run(&f);
	for (size_t i = 0; i < f.t->ir->n_clusters; i++)
		if (!strcmp(f.t->ir->clusters[i].name, "infra/web:80"))
			cl = &f.t->ir->clusters[i];
	assert_non_null(cl);
	assert_int_equal(cl->n_endpoints, 2);
	assert_int_equal(cl->n_ready, 1);
	assert_string_equal(cl->endpoints[0].address, "10.0.0.1");
	assert_int_equal(cl->endpoints[0].port, 8080);
	assert_true(cl->endpoints[0].ready);
	assert_false(cl->endpoints[1].ready);
	assert_int_equal(cl->app_proto, GW_APP_HTTP1);
	cl = NULL;
	for (size_t i = 0; i < f.t->ir->n_clusters; i++)
		if (!strcmp(f.t->ir->clusters[i].name, "infra/web:9000"))
			cl = &f.t->ir->clusters[i];
	assert_non_null(cl);
	assert_int_equal(cl->app_proto, GW_APP_H2C);
	assert_int_equal(cl->endpoints[0].port, 9001);
	fx_free(&f);
}

/* ---- precedence ---- */

#define TSROUTE(ns, name, ts, spec)                                                                \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: " name      \
	"\n  namespace: " ns "\n  creationTimestamp: \"" ts "\"\nspec:\n" PARENT_NS("gw", "infra") \
		spec "---\n"

static void test_precedence_path_method_headers_query(void **state)
{
	struct fx f = { 0 };
	const char *h1[] = { "x-a: 1" }, *h2[] = { "x-a: 1", "x-b: 2" };

	fx_load(&f, base);
	/* newest route holds the most specific matches: age must not matter */
	fx_load(&f,
		TSROUTE("infra", "old", "2020-01-01T00:00:00Z",
			"  rules:\n  - matches:\n    - path: {type: PathPrefix, value: /}\n"
			"    backendRefs: [{name: web, port: 80}]\n"
			"  - matches:\n    - path: {type: PathPrefix, value: /foo}\n"
			"    backendRefs: [{name: web, port: 80}]\n")
			TSROUTE("infra", "new", "2025-01-01T00:00:00Z",
				"  rules:\n  - matches:\n    - path: {type: Exact, value: /foo}\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /foo/bar}\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /m}\n"
				"      method: POST\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /m}\n"
				"      headers: [{name: X-A, value: \"1\"}]\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /m}\n"
				"      headers: [{name: x-a, value: \"1\"}, {name: x-b, value: \"2\"}]\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /q}\n"
				"      queryParams: [{name: a, value: \"1\"}]\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /q}\n"
				"      queryParams: [{name: a, value: \"1\"}, {name: b, value: \"2\"}]\n"
				"    backendRefs: [{name: web, port: 80}]\n"
				"  - matches:\n    - path: {type: PathPrefix, value: /q}\n"
				"      headers: [{name: x-a, value: \"1\"}]\n"
				"    backendRefs: [{name: web, port: 80}]\n"));
	fx_run(&f);
	/* exact beats prefix, even from a newer route */
	assert_string_equal(fx_route(&f, 80, "h", "/foo"), "infra/new#0");
	/* longer prefix first; prefix is by path element */
	assert_string_equal(fx_route(&f, 80, "h", "/foo/bar/x"), "infra/new#1");
	assert_string_equal(fx_route(&f, 80, "h", "/foo/baz"), "infra/old#1");
	assert_string_equal(fx_route(&f, 80, "h", "/foobar"), "infra/old#0");
	/* method beats headers; more headers beat fewer */
	assert_string_equal(fx_route_h(&f, 80, "POST", "h", "/m", h2, 2, NULL), "infra/new#2");
	assert_string_equal(fx_route_h(&f, 80, "GET", "h", "/m", h2, 2, NULL), "infra/new#4");
	assert_string_equal(fx_route_h(&f, 80, "GET", "h", "/m", h1, 1, NULL), "infra/new#3");
	assert_string_equal(fx_route_h(&f, 80, "GET", "h", "/m", NULL, 0, NULL), "infra/old#0");
	/* headers beat query params; more query params beat fewer */
	assert_string_equal(fx_route_h(&f, 80, "GET", "h", "/q?a=1&b=2", h1, 1, NULL),
			    "infra/new#7");
	assert_string_equal(fx_route(&f, 80, "h", "/q?a=1&b=2"), "infra/new#6");
	assert_string_equal(fx_route(&f, 80, "h", "/q?a=1"), "infra/new#5");
	fx_free(&f);
}

static void test_precedence_tie_breaks(void **state)
{
	struct fx f = { 0 };
	struct gw_object *o;

#define SAME_RULE "  rules:\n  - backendRefs: [{name: web, port: 80}]\n"
	fx_load(&f, base);
	/* creation time: "b-old" is older than "a-new" although it sorts later */
	fx_load(&f, TSROUTE("infra", "a-new", "2025-01-01T00:00:00Z",
			    "  hostnames: [ts]\n" SAME_RULE)
			    TSROUTE("infra", "b-old", "2020-01-01T00:00:00Z",
				    "  hostnames: [ts]\n" SAME_RULE)
		    /* same time: source order (seq) decides: "z-first" was read first */
		    TSROUTE("infra", "z-first", "2022-01-01T00:00:00Z",
			    "  hostnames: [seq]\n" SAME_RULE)
			    TSROUTE("infra", "y-second", "2022-01-01T00:00:00Z",
				    "  hostnames: [seq]\n" SAME_RULE)
		    /* same time and seq: "ns/name" alphabetical */
		    TSROUTE("infra", "n-2", "2022-01-01T00:00:00Z", "  hostnames: [name]\n" SAME_RULE)
			    TSROUTE("app", "n-1", "2022-01-01T00:00:00Z",
				    "  hostnames: [name]\n" SAME_RULE)
		    /* within a route: rule order, then match order */
		    TSROUTE("infra", "rules", "2022-01-01T00:00:00Z",
			    "  hostnames: [rules]\n  rules:\n"
			    "  - matches:\n    - path: {type: PathPrefix, value: /a}\n"
			    "    - path: {type: PathPrefix, value: /b}\n"
			    "    backendRefs: [{name: web, port: 80}]\n"
			    "  - matches:\n    - path: {type: PathPrefix, value: /a}\n"
			    "    backendRefs: [{name: web, port: 80}]\n"));
	o = gw_store_get(f.s, "gateway.networking.k8s.io", "HTTPRoute", "infra", "n-2");
	assert_non_null(o);
	o->seq = 0;
	o = gw_store_get(f.s, "gateway.networking.k8s.io", "HTTPRoute", "app", "n-1");
	assert_non_null(o);
	o->seq = 0;
	fx_run(&f);
	assert_string_equal(fx_route(&f, 80, "ts", "/"), "infra/b-old#0");
	assert_string_equal(fx_route(&f, 80, "seq", "/"), "infra/z-first#0");
	assert_string_equal(fx_route(&f, 80, "name", "/"), "app/n-1#0");
	assert_string_equal(fx_route(&f, 80, "rules", "/a"), "infra/rules#0");
	{
		const struct gw_ir_vhost *vh = NULL;
		const struct gw_ir_listener *il = &fx_bind(&f, NULL, 80)->listeners[0];

		for (size_t i = 0; i < il->n_vhosts; i++)
			if (il->vhosts[i].hostname && !strcmp(il->vhosts[i].hostname, "rules"))
				vh = &il->vhosts[i];
		assert_non_null(vh);
		assert_int_equal(vh->n_matches, 3);
		/* equal length "/a" and "/b": rule 0 match 0, rule 0 match 1, rule 1 */
		assert_string_equal(vh->matches[0].path, "/a");
		assert_int_equal(vh->actions[vh->matches[0].action].rule_index, 0);
		assert_string_equal(vh->matches[1].path, "/b");
		assert_string_equal(vh->matches[2].path, "/a");
		assert_int_equal(vh->actions[vh->matches[2].action].rule_index, 1);
	}
	fx_free(&f);
}

static void test_precedence_regex(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "r", PARENT("gw") "  rules:\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n"
				       "    - path: {type: RegularExpression, value: \"/v[0-9]+/.*\"}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /v1/abcdefgh}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"));
	fx_run(&f);
	/* regexes rank with prefixes by length, so "/" does not shadow them */
	assert_string_equal(fx_route(&f, 80, "h", "/v2/x"), "infra/r#1");
	assert_string_equal(fx_route(&f, 80, "h", "/v1/abcdefgh"), "infra/r#2");
	assert_string_equal(fx_route(&f, 80, "h", "/other"), "infra/r#0");
	fx_free(&f);
}

/* tie-break of the docs: on equal length a prefix ranks before a regex,
 * whatever the rule order; a longer regex still beats a shorter prefix */
static void test_precedence_regex_equal_length(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "r", PARENT("gw") "  rules:\n"
				       "  - matches:\n"
				       "    - path: {type: RegularExpression, value: \"/v1/a.\"}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /v1/ab}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n"
				       "    - path: {type: RegularExpression, value: \"/v2/abc.*\"}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /v2}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"));
	fx_run(&f);
	assert_string_equal(fx_route(&f, 80, "h", "/v1/ab"), "infra/r#1");
	assert_string_equal(fx_route(&f, 80, "h", "/v1/ac"), "infra/r#0");
	assert_string_equal(fx_route(&f, 80, "h", "/v2/abcd"), "infra/r#2");
	assert_string_equal(fx_route(&f, 80, "h", "/v2/x"), "infra/r#3");
	fx_free(&f);
}

static void test_wildcard_route_merged_into_specific_vhost(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "wild", PARENT("gw") "  hostnames: [\"*.example.com\"]\n"
							"  rules:\n  - matches:\n"
							"    - path: {type: PathPrefix, value: /api}\n"
							"    backendRefs: [{name: web, port: 80}]\n")
			    ROUTE("infra", "foo", PARENT("gw") "  hostnames: [foo.example.com]\n"
							       "  rules:\n  - matches:\n"
							       "    - path: {type: PathPrefix, value: /}\n"
							       "    backendRefs: [{name: web, port: 80}]\n")
				    ROUTE("infra", "any", PARENT("gw") "  rules:\n  - matches:\n"
								       "    - path: {type: Exact, value: /x}\n"
								       "    backendRefs: [{name: web, port: 80}]\n"));
	fx_run(&f);
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/api/v1"), "infra/wild#0");
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/"), "infra/foo#0");
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/x"), "infra/any#0");
	assert_string_equal(fx_route(&f, 80, "bar.example.com", "/"), "404");
	assert_string_equal(fx_route(&f, 80, "bar.example.com", "/api"), "infra/wild#0");
	assert_string_equal(fx_route(&f, 80, "other.org", "/x"), "infra/any#0");
	assert_string_equal(fx_route(&f, 80, "other.org", "/api"), "404");
	fx_free(&f);
}

static void test_listener_isolation(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_bind *b;

	fx_load(&f, CLASS_YAML GW("gw", "infra",
				  "  - name: empty\n    port: 80\n    protocol: HTTP\n"
				  "  - name: wild\n    port: 80\n    protocol: HTTP\n"
				  "    hostname: \"*.example.com\"\n"
				  "  - name: foo\n    port: 80\n    protocol: HTTP\n"
				  "    hostname: foo.example.com\n"
				  "  - name: foo-bar\n    port: 80\n    protocol: HTTP\n"
				  "    hostname: \"*.bar.example.com\"\n")
			    SVC("infra", "web", "80"));
#define SECTION_ROUTE(name, section, path)                                                         \
	ROUTE("infra", name, "  parentRefs:\n  - name: gw\n    sectionName: " section "\n"          \
			     "  rules:\n  - matches:\n    - path: {type: PathPrefix, value: " path   \
			     "}\n    backendRefs: [{name: web, port: 80}]\n")
	fx_load(&f, SECTION_ROUTE("r-empty", "empty", "/empty") SECTION_ROUTE("r-wild", "wild", "/wild")
			    SECTION_ROUTE("r-foo", "foo", "/foo")
				    SECTION_ROUTE("r-foobar", "foo-bar", "/foobar"));
	fx_run(&f);
	b = fx_bind(&f, NULL, 80);
	assert_int_equal(b->n_listeners, 4);
	assert_string_equal(b->listeners[0].hostname, "foo.example.com");
	assert_string_equal(b->listeners[1].hostname, "*.bar.example.com");
	assert_string_equal(b->listeners[2].hostname, "*.example.com");
	assert_null(b->listeners[3].hostname);
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/foo"), "infra/r-foo#0");
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/wild"), "404");
	assert_string_equal(fx_route(&f, 80, "foo.example.com", "/empty"), "404");
	assert_string_equal(fx_route(&f, 80, "x.bar.example.com", "/foobar"), "infra/r-foobar#0");
	assert_string_equal(fx_route(&f, 80, "x.bar.example.com", "/wild"), "404");
	assert_string_equal(fx_route(&f, 80, "bar.example.com", "/wild"), "infra/r-wild#0");
	assert_string_equal(fx_route(&f, 80, "unknown.org", "/empty"), "infra/r-empty#0");
	assert_string_equal(fx_route(&f, 80, "unknown.org", "/wild"), "404");
	fx_free(&f);
}

/* ---- filters, rules ---- */

static void test_filters_to_ir(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;

	fx_load(&f, base);
	fx_load(&f,
		ROUTE("infra", "r",
		      PARENT("gw")
		      "  rules:\n  - name: main\n"
		      "    matches:\n    - path: {type: PathPrefix, value: /f}\n"
		      "    filters:\n"
		      "    - type: RequestHeaderModifier\n      requestHeaderModifier:\n"
		      "        set: [{name: X-Set, value: s}]\n        add: [{name: X-Add, value: a}]\n"
		      "        remove: [X-Rm]\n"
		      "    - type: ResponseHeaderModifier\n      responseHeaderModifier:\n"
		      "        add: [{name: X-Resp, value: r}]\n"
		      "    - type: URLRewrite\n      urlRewrite:\n        hostname: rw.example.com\n"
		      "        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}\n"
		      "    - type: RequestMirror\n      requestMirror:\n"
		      "        backendRef: {name: web, port: 80}\n        percent: 25\n"
		      "    - type: CORS\n      cors:\n        allowOrigins: [\"https://a.example\"]\n"
		      "        allowMethods: [GET]\n        allowCredentials: true\n        maxAge: 60\n"
		      "    backendRefs:\n    - name: web\n      port: 80\n      filters:\n"
		      "      - type: RequestHeaderModifier\n        requestHeaderModifier:\n"
		      "          set: [{name: X-B, value: b}]\n"
		      "    timeouts:\n      request: 1h2m3s500ms\n      backendRequest: 250ms\n"
		      "  - matches:\n    - path: {type: PathPrefix, value: /redir}\n"
		      "    filters:\n    - type: RequestRedirect\n      requestRedirect:\n"
		      "        scheme: https\n        hostname: r.example.com\n        port: 8443\n"
		      "        statusCode: 301\n"
		      "        path: {type: ReplaceFullPath, replaceFullPath: /full}\n"));
	fx_run(&f);
	fx_route_h(&f, 80, "GET", "h", "/f", NULL, 0, &a);
	assert_non_null(a);
	assert_string_equal(a->rule_name, "main");
	assert_int_equal(a->n_filters, 5);
	assert_int_equal(a->filters[0].type, GW_FILTER_REQUEST_HEADER);
	assert_string_equal(a->filters[0].hdr.set[0].name, "X-Set");
	assert_string_equal(a->filters[0].hdr.add[0].value, "a");
	assert_string_equal(a->filters[0].hdr.remove[0], "X-Rm");
	assert_int_equal(a->filters[1].type, GW_FILTER_RESPONSE_HEADER);
	assert_int_equal(a->filters[2].type, GW_FILTER_REWRITE);
	assert_string_equal(a->filters[2].rewrite.hostname, "rw.example.com");
	assert_int_equal(a->filters[2].rewrite.path_type, GW_PATH_MOD_PREFIX);
	assert_string_equal(a->filters[2].rewrite.path, "/new");
	assert_int_equal(a->filters[3].type, GW_FILTER_MIRROR);
	assert_true(a->filters[3].mirror.cluster >= 0);
	assert_int_equal(a->filters[3].mirror.num, 25);
	assert_int_equal(a->filters[3].mirror.den, 100);
	assert_int_equal(a->filters[4].type, GW_FILTER_CORS);
	assert_true(a->filters[4].cors.allow_credentials);
	assert_int_equal(a->filters[4].cors.max_age, 60);
	assert_string_equal(a->filters[4].cors.allow_origins[0], "https://a.example");
	assert_int_equal(a->backends[0].n_filters, 1);
	assert_int_equal(a->request_timeout_ms, 3723500);
	assert_int_equal(a->backend_timeout_ms, 250);
	assert_false(a->kernel_ok);
	fx_route_h(&f, 80, "GET", "h", "/redir", NULL, 0, &a);
	assert_non_null(a);
	/* a redirect needs no backend: not a 500 */
	assert_int_equal(a->direct_status, 0);
	assert_int_equal(a->filters[0].type, GW_FILTER_REDIRECT);
	assert_string_equal(a->filters[0].redirect.scheme, "https");
	assert_int_equal(a->filters[0].redirect.port, 8443);
	assert_int_equal(a->filters[0].redirect.status, 301);
	assert_int_equal(a->filters[0].redirect.path_type, GW_PATH_MOD_FULL);
	assert_true(fx_obj(&f, "HTTPRoute", "infra", "r")->ok);
	fx_free(&f);
}

static void test_retry(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "r", PARENT("gw") "  rules:\n  - backendRefs: [{name: web, port: 80}]\n"
						    "    retry:\n      codes: [500, 503]\n      attempts: 2\n"
						    "      backoff: 100ms\n"));
	fx_run(&f);
	fx_route_h(&f, 80, "GET", "h", "/", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->retry.attempts, 2);
	assert_int_equal(a->retry.backoff_ms, 100);
	assert_int_equal(a->retry.n_codes, 2);
	assert_int_equal(a->retry.codes[1], 503);
	fx_free(&f);
}

static void test_unsupported_filter_and_bad_regex(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "partly",
			  PARENT("gw") "  hostnames: [partly]\n  rules:\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /ext}\n"
				       "    filters:\n    - type: ExtensionRef\n"
				       "      extensionRef: {group: example.com, kind: Foo, name: x}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - backendRefs: [{name: web, port: 80}]\n")
			    ROUTE("infra", "all-bad",
				  PARENT("gw") "  hostnames: [allbad]\n  rules:\n"
					       "  - matches:\n"
					       "    - path: {type: RegularExpression, value: \"/([a\"}\n"
					       "    backendRefs: [{name: web, port: 80}]\n"));
	fx_run(&f);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "partly", "gw", NULL), "Accepted",
		    "True", "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "partly", "gw", NULL),
		    "PartiallyInvalid", "True", "UnsupportedValue");
	assert_false(fx_obj(&f, "HTTPRoute", "infra", "partly")->ok);
	fx_route_h(&f, 80, "GET", "partly", "/ext", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 500);
	fx_route_h(&f, 80, "GET", "partly", "/other", NULL, 0, &a);
	assert_int_equal(a->direct_status, 0);
	assert_cond(route_parent(&f, "HTTPRoute", "infra", "all-bad", "gw", NULL), "Accepted",
		    "False", "UnsupportedValue");
	assert_string_equal(fx_route(&f, 80, "allbad", "/x"), "404");
	/* the bad regex never reaches gw_ir_compile(); both routes are reported */
	assert_int_equal(f.t->diags.n_errors, 2);
	for (size_t i = 0; i < f.t->diags.n; i++)
		assert_null(strstr(f.t->diags.v[i].msg, "invalid regular expression \""));
	fx_free(&f);
}

static void test_kernel_ok_and_shadowing(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;
	const char *h[] = { "x-a: 1" };

	fx_load(&f, base);
	fx_load(&f, ROUTE("infra", "r", PARENT("gw") "  rules:\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /api/v2}\n"
				       "      headers: [{name: x-a, value: \"1\"}]\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /api}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /static}\n"
				       "    backendRefs: [{name: web, port: 80}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /w}\n"
				       "    backendRefs: [{name: web, port: 80, weight: 1},"
				       " {name: app, namespace: app, port: 80, weight: 0}]\n"
				       "  - matches:\n    - path: {type: PathPrefix, value: /zero}\n"
				       "    backendRefs: [{name: web, port: 80, weight: 0}]\n"));
	fx_run(&f);
	fx_route_h(&f, 80, "GET", "h", "/api/v2", h, 1, &a);
	assert_int_equal(a->rule_index, 0);
	assert_false(a->kernel_ok);
	/* /api could be taken by the header rule for /api/v2/...: userspace only */
	fx_route_h(&f, 80, "GET", "h", "/api", NULL, 0, &a);
	assert_int_equal(a->rule_index, 1);
	assert_false(a->kernel_ok);
	fx_route_h(&f, 80, "GET", "h", "/static/x", NULL, 0, &a);
	assert_true(a->kernel_ok);
	/* one live backend: the other has weight 0, so it is never chosen and
	 * its invalid reference cannot change the answer */
	fx_route_h(&f, 80, "GET", "h", "/w", NULL, 0, &a);
	assert_true(a->kernel_ok);
	fx_route_h(&f, 80, "GET", "h", "/zero", NULL, 0, &a);
	assert_false(a->kernel_ok);
	assert_int_equal(a->direct_status, 500);
	fx_free(&f);
}

/* ---- other route kinds, ListenerSet, Ingress ---- */

static void test_l4_routes(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, CLASS_YAML GW("gw", "infra",
				  "  - name: tcp\n    port: 9000\n    protocol: TCP\n"
				  "  - name: udp\n    port: 5300\n    protocol: UDP\n"
				  "  - name: tls\n    port: 8443\n    protocol: TLS\n"
				  "    hostname: \"*.tls.example\"\n    tls:\n      mode: Passthrough\n"
				  "  - name: http\n    port: 80\n    protocol: HTTP\n")
			    SVC("infra", "web", "80"));
#define L4ROUTE(kind, name, parent, extra)                                                         \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: " kind "\nmetadata:\n  name: " name       \
	"\n  namespace: infra\nspec:\n  parentRefs:\n  - name: gw\n    sectionName: " parent      \
	"\n" extra "  rules:\n  - backendRefs: [{name: web, port: 80}]\n---\n"
	fx_load(&f, L4ROUTE("TCPRoute", "tcp", "tcp", "") L4ROUTE("TCPRoute", "tcp-on-http", "http", "")
			    L4ROUTE("UDPRoute", "udp", "udp", "")
				    L4ROUTE("TLSRoute", "tls", "tls", "  hostnames: [a.tls.example]\n")
					    L4ROUTE("TLSRoute", "tls-bad", "tls",
						    "  hostnames: [a.other.example]\n")
						    L4ROUTE("GRPCRoute", "grpc", "http", ""));
	fx_run(&f);
	assert_cond(route_parent(&f, "TCPRoute", "infra", "tcp", "gw", "tcp"), "Accepted", "True",
		    "Accepted");
	assert_cond(route_parent(&f, "TCPRoute", "infra", "tcp-on-http", "gw", "http"), "Accepted",
		    "False", "NotAllowedByListeners");
	assert_cond(route_parent(&f, "UDPRoute", "infra", "udp", "gw", "udp"), "Accepted", "True",
		    "Accepted");
	assert_cond(route_parent(&f, "TLSRoute", "infra", "tls", "gw", "tls"), "Accepted", "True",
		    "Accepted");
	assert_cond(route_parent(&f, "TLSRoute", "infra", "tls-bad", "gw", "tls"), "Accepted",
		    "False", "NoMatchingListenerHostname");
	assert_cond(route_parent(&f, "GRPCRoute", "infra", "grpc", "gw", "http"), "Accepted",
		    "True", "Accepted");
	assert_int_equal(attached(gw_listener(&f, "Gateway", "infra", "gw", "http")), 1);
	assert_int_equal(fx_bind(&f, NULL, 9000)->proto, GW_PROTO_TCP);
	assert_int_equal(fx_bind(&f, NULL, 9000)->listeners[0].vhosts[0].n_matches, 1);
	assert_int_equal(fx_bind(&f, NULL, 5300)->proto, GW_PROTO_UDP);
	assert_string_equal(fx_bind(&f, NULL, 8443)->listeners[0].vhosts[0].hostname,
			    "a.tls.example");
	fx_free(&f);
}

static void test_grpc_methods(void **state)
{
	struct fx f = { 0 };

	fx_load(&f, base);
	fx_load(&f, "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata:\n"
		    "  name: g\n  namespace: infra\nspec:\n" PARENT("gw") "  rules:\n"
		    "  - matches:\n    - method: {service: pkg.Svc, method: Get}\n"
		    "    backendRefs: [{name: web, port: 80}]\n"
		    "  - matches:\n    - method: {service: pkg.Svc}\n"
		    "    backendRefs: [{name: web, port: 80}]\n");
	fx_run(&f);
	assert_string_equal(fx_route_h(&f, 80, "POST", "h", "/pkg.Svc/Get", NULL, 0, NULL),
			    "infra/g#0");
	assert_string_equal(fx_route_h(&f, 80, "POST", "h", "/pkg.Svc/List", NULL, 0, NULL),
			    "infra/g#1");
	assert_string_equal(fx_route_h(&f, 80, "POST", "h", "/other.Svc/Get", NULL, 0, NULL),
			    "404");
	/* gRPC backends speak HTTP/2 cleartext even without appProtocol */
	assert_int_equal(f.t->ir->n_clusters, 1);
	assert_int_equal(f.t->ir->clusters[0].app_proto, GW_APP_H2C);
	fx_free(&f);
}

static void test_listener_sets(void **state)
{
	struct fx f = { 0 };
	json_t *st, *l;

	fx_load(&f, CLASS_YAML
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n"
		"  namespace: infra\nspec:\n  gatewayClassName: gwbpf\n  allowedListeners:\n"
		"    namespaces:\n      from: Same\n  listeners:\n  - name: http\n    port: 80\n"
		"    protocol: HTTP\n    hostname: gw.example.com\n---\n"
		GW("closed", "infra", L_HTTP("http", "80", "All")) SVC("infra", "web", "80"));
#define LSET(ns, name, parent, listeners)                                                          \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata:\n  name: " name    \
	"\n  namespace: " ns "\nspec:\n  parentRef:\n    name: " parent                           \
	"\n    namespace: infra\n  listeners:\n" listeners "---\n"
	fx_load(&f, LSET("infra", "ls", "gw",
			 "  - name: extra\n    port: 80\n    protocol: HTTP\n"
			 "    hostname: ls.example.com\n"
			 "  - name: clash\n    port: 80\n    protocol: HTTP\n"
			 "    hostname: gw.example.com\n")
			    LSET("app", "other-ns", "gw",
				 "  - name: x\n    port: 80\n    protocol: HTTP\n")
				    LSET("infra", "to-closed", "closed",
					 "  - name: x\n    port: 80\n    protocol: HTTP\n"));
	fx_load(&f, ROUTE("infra", "via-ls",
			  "  parentRefs:\n  - name: ls\n    kind: ListenerSet\n"
			  "    sectionName: extra\n  rules:\n" RULE_SVC("web", "80"))
			    ROUTE("infra", "via-gw", PARENT("gw") "  rules:\n" RULE_SVC("web", "80")));
	fx_run(&f);
	st = fx_status(&f, "ListenerSet", "infra", "ls");
	assert_non_null(st);
	assert_cond(json_object_get(st, "conditions"), "Accepted", "True", "ListenersNotValid");
	l = gw_listener(&f, "ListenerSet", "infra", "ls", "extra");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "True", "Accepted");
	assert_int_equal(attached(l), 1);
	/* the Gateway's own listener has precedence over a ListenerSet's */
	l = gw_listener(&f, "ListenerSet", "infra", "ls", "clash");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "True", "HostnameConflict");
	l = gw_listener(&f, "Gateway", "infra", "gw", "http");
	assert_cond(json_object_get(l, "conditions"), "Conflicted", "False", "NoConflicts");
	/* a Gateway parentRef attaches to the Gateway's listeners only */
	assert_int_equal(attached(l), 1);
	assert_cond(json_object_get(fx_status(&f, "ListenerSet", "app", "other-ns"), "conditions"),
		    "Accepted", "False", "NotAllowed");
	assert_cond(json_object_get(fx_status(&f, "ListenerSet", "infra", "to-closed"),
				    "conditions"),
		    "Accepted", "False", "NotAllowed");
	st = fx_status(&f, "Gateway", "infra", "gw");
	assert_int_equal(json_integer_value(json_object_get(st, "attachedListenerSets")), 1);
	assert_string_equal(fx_route(&f, 80, "ls.example.com", "/"), "infra/via-ls#0");
	assert_string_equal(fx_route(&f, 80, "gw.example.com", "/"), "infra/via-gw#0");
	fx_free(&f);
}

static void test_ingress(void **state)
{
	struct fx f = { 0 };
	json_t *st;

	fx_load(&f, SVC("web", "web", "80") SVC("web", "api", "8080")
		"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ing\n"
		"  namespace: web\nspec:\n  ingressClassName: gwbpf\n  defaultBackend:\n"
		"    service:\n      name: web\n      port:\n        number: 80\n  rules:\n"
		"  - host: api.example.com\n    http:\n      paths:\n      - path: /v1\n"
		"        pathType: Prefix\n        backend:\n          service:\n"
		"            name: api\n            port:\n              number: 8080\n"
		"      - path: /exact\n        pathType: Exact\n        backend:\n"
		"          service:\n            name: missing\n            port:\n"
		"              number: 80\n---\n"
		"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: other\n"
		"  namespace: web\nspec:\n  ingressClassName: nginx\n  defaultBackend:\n"
		"    service:\n      name: web\n      port:\n        number: 80\n");
	fx_run(&f);
	assert_string_equal(fx_route(&f, 80, "api.example.com", "/v1/x"), "web/ing#0");
	assert_string_equal(fx_route(&f, 80, "api.example.com", "/"), "web/ing#0");
	assert_string_equal(fx_route(&f, 80, "else.example.com", "/anything"), "web/ing#0");
	st = fx_status(&f, "Ingress", "web", "ing");
	assert_non_null(st);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(json_object_get(st, "loadBalancer"),
								   "ingress"),
						   0),
				    "ip")),
			    "0.0.0.0");
	/* the missing Service makes it not ok */
	assert_false(fx_obj(&f, "Ingress", "web", "ing")->ok);
	assert_null(fx_status(&f, "Ingress", "web", "other"));
	{
		const struct gw_ir_action *a;

		fx_route_h(&f, 80, "GET", "api.example.com", "/exact", NULL, 0, &a);
		assert_non_null(a);
		assert_int_equal(a->direct_status, 500);
		fx_route_h(&f, 80, "GET", "api.example.com", "/v1", NULL, 0, &a);
		assert_string_equal(f.t->ir->clusters[a->backends[0].cluster].name,
				    "web/api:8080");
	}
	fx_free(&f);
}

static void test_ingress_loses_port_to_gateway(void **state)
{
	struct fx f = { 0 };

	/* a Gateway listener without hostname already holds 0.0.0.0:80 */
	fx_load(&f, base);
	fx_load(&f, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ing\n"
		    "  namespace: infra\nspec:\n  ingressClassName: gwbpf\n  defaultBackend:\n"
		    "    service:\n      name: web\n      port:\n        number: 80\n");
	fx_run(&f);
	assert_false(fx_obj(&f, "Ingress", "infra", "ing")->ok);
	assert_cond(json_object_get(fx_status(&f, "Ingress", "infra", "ing"), "conditions"),
		    "Accepted", "False", "HostnameConflict");
	assert_int_equal(fx_bind(&f, NULL, 80)->n_listeners, 1);
	assert_string_equal(fx_bind(&f, NULL, 80)->listeners[0].gateway, "infra/gw");
	fx_free(&f);
}

static void test_status_list(void **state)
{
	struct fx f = { 0 };
	json_t *doc, *items, *it;
	size_t i;
	bool saw_gw = false;

	fx_load(&f, base);
	fx_run(&f);
	doc = gw_translation_status_list(f.t);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "List");
	items = json_object_get(doc, "items");
	assert_int_equal(json_array_size(items), f.t->n_status);
	json_array_foreach(items, i, it) {
		json_t *md = json_object_get(it, "metadata");

		assert_non_null(json_object_get(it, "apiVersion"));
		assert_non_null(json_object_get(md, "name"));
		if (!strcmp(json_string_value(json_object_get(it, "kind")), "Gateway")) {
			saw_gw = true;
			assert_string_equal(json_string_value(json_object_get(md, "namespace")),
					    "infra");
			assert_int_equal(json_integer_value(json_object_get(md, "generation")), 1);
			assert_non_null(json_object_get(json_object_get(it, "status"),
							"conditions"));
		}
	}
	assert_true(saw_gw);
	json_decref(doc);
	fx_free(&f);
}

static void test_empty_store(void **state)
{
	struct fx f = { 0 };

	f.s = gw_store_new();
	fx_run(&f);
	assert_int_equal(f.t->n_status, 0);
	assert_int_equal(f.t->ir->n_binds, 0);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_accepted_and_foreign_ignored),
		cmocka_unit_test(test_class_custom_controller_name),
		cmocka_unit_test(test_class_invalid_parameters),
		cmocka_unit_test(test_gateway_accepted_programmed),
		cmocka_unit_test(test_gateway_invalid_infrastructure_parameters),
		cmocka_unit_test(test_listen_address_option),
		cmocka_unit_test(test_unsupported_protocol),
		cmocka_unit_test(test_listener_conflicts),
		cmocka_unit_test(test_cross_gateway_conflict_on_shared_address),
		cmocka_unit_test(test_invalid_route_kinds),
		cmocka_unit_test(test_address_pool),
		cmocka_unit_test(test_listener_certificates),
		cmocka_unit_test(test_route_attachment_reasons),
		cmocka_unit_test(test_route_of_foreign_gateway_has_no_status),
		cmocka_unit_test(test_allowed_routes_selector),
		cmocka_unit_test(test_hostname_intersection),
		cmocka_unit_test(test_backend_refs),
		cmocka_unit_test(test_grant_wrong_kind_not_enough),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_precedence_path_method_headers_query),
		cmocka_unit_test(test_precedence_tie_breaks),
		cmocka_unit_test(test_precedence_regex),
		cmocka_unit_test(test_precedence_regex_equal_length),
		cmocka_unit_test(test_wildcard_route_merged_into_specific_vhost),
		cmocka_unit_test(test_listener_isolation),
		cmocka_unit_test(test_filters_to_ir),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_unsupported_filter_and_bad_regex),
		cmocka_unit_test(test_kernel_ok_and_shadowing),
		cmocka_unit_test(test_l4_routes),
		cmocka_unit_test(test_grpc_methods),
		cmocka_unit_test(test_listener_sets),
		cmocka_unit_test(test_ingress),
		cmocka_unit_test(test_ingress_loses_port_to_gateway),
		cmocka_unit_test(test_status_list),
		cmocka_unit_test(test_empty_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
