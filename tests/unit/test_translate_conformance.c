/* tests/unit/test_translate_conformance.c - statuses the upstream Gateway
 * API v1.6.1 conformance suite expects, condition by condition, for the
 * base manifests plus one conformance manifest at a time.
 *
 * Loading: translate_helpers.h (conf_run_with). Expected conditions come
 * from conformance/tests/<name>.go. The manifests not asserted here are in
 * test_translate_conformance_table.c. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "translate_helpers.h"

#define run_with conf_run_with
#define load_manifest conf_load_manifest

/* route requests on the bind of Gateway gw from now on */
static void use_gateway(struct fx *f, const char *gw)
{
	json_t *st = fx_status(f, "Gateway", INFRA, gw);

	f->addr = json_string_value(
		json_object_get(json_array_get(json_object_get(st, "addresses"), 0), "value"));
	assert_non_null(f->addr);
}

static json_t *lconds(struct fx *f, const char *gw, const char *listener)
{
	return json_object_get(gw_listener(f, "Gateway", INFRA, gw, listener), "conditions");
}

static void test_base_gateways(void **state)
{
	struct fx f = { 0 };
	static const char *const gws[] = { "same-namespace", "same-namespace-with-https-listener",
					   "all-namespaces", "backend-namespaces" };

	run_with(&f, NULL);
	assert_cond(json_object_get(fx_status(&f, "GatewayClass", "", "gwbpf"), "conditions"),
		    "Accepted", "True", "Accepted");
	for (size_t i = 0; i < ARRAY_SIZE(gws); i++) {
		assert_cond(gw_conds(&f, INFRA, gws[i]), "Accepted", "True", "Accepted");
		assert_cond(gw_conds(&f, INFRA, gws[i]), "Programmed", "True", "Programmed");
		assert_true(fx_obj(&f, "Gateway", INFRA, gws[i])->ok);
	}
	assert_cond(lconds(&f, "same-namespace-with-https-listener", "https-with-wildcard-hostname"),
		    "ResolvedRefs", "True", "ResolvedRefs");
	fx_free(&f);
}

static void test_gateway_listener_unsupported_protocol(void **state)
{
	struct fx f = { 0 };
	json_t *l;

	run_with(&f, "gateway-invalid-listeners-unsupported-protocol");
	assert_cond(gw_conds(&f, INFRA, "gateway-only-unsupported-protocols"), "Accepted", "False",
		    "ListenersNotValid");
	l = gw_listener(&f, "Gateway", INFRA, "gateway-only-unsupported-protocols", "invalid");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "False", "UnsupportedProtocol");
	assert_int_equal(json_array_size(json_object_get(l, "supportedKinds")), 0);
	assert_int_equal(attached(l), 0);
	assert_cond(gw_conds(&f, INFRA, "gateway-supported-and-unsupported-protocols"), "Accepted",
		    "True", "ListenersNotValid");
	assert_cond(lconds(&f, "gateway-supported-and-unsupported-protocols", "http"), "Accepted",
		    "True", "Accepted");
	assert_cond(lconds(&f, "gateway-supported-and-unsupported-protocols", "invalid"), "Accepted",
		    "False", "UnsupportedProtocol");
	fx_free(&f);
}

static void test_gateway_invalid_route_kind(void **state)
{
	struct fx f = { 0 };
	json_t *l;

	run_with(&f, "gateway-invalid-route-kind");
	l = gw_listener(&f, "Gateway", INFRA, "gateway-only-invalid-route-kind", "http");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False", "InvalidRouteKinds");
	assert_int_equal(json_array_size(json_object_get(l, "supportedKinds")), 0);
	assert_int_equal(attached(l), 0);
	l = gw_listener(&f, "Gateway", INFRA, "gateway-supported-and-invalid-route-kind", "http");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False", "InvalidRouteKinds");
	assert_int_equal(json_array_size(json_object_get(l, "supportedKinds")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(l, "supportedKinds"), 0), "kind")),
			    "HTTPRoute");
	fx_free(&f);
}

static void test_gateway_invalid_tls_configuration(void **state)
{
	struct fx f = { 0 };
	static const char *const gws[] = { "gateway-certificate-nonexistent-secret",
					   "gateway-certificate-unsupported-group",
					   "gateway-certificate-unsupported-kind",
					   "gateway-certificate-malformed-secret" };

	run_with(&f, "gateway-invalid-tls-configuration");
	for (size_t i = 0; i < ARRAY_SIZE(gws); i++) {
		assert_cond(lconds(&f, gws[i], "https"), "ResolvedRefs", "False",
			    "InvalidCertificateRef");
		assert_cond(lconds(&f, gws[i], "https"), "Programmed", "False", "Invalid");
	}
	fx_free(&f);
}

static void test_gateway_secret_reference_grants(void **state)
{
	struct fx f = { 0 };

	run_with(&f, "gateway-secret-invalid-reference-grant");
	assert_cond(lconds(&f, "gateway-secret-invalid-reference-grant", "https"), "ResolvedRefs",
		    "False", "RefNotPermitted");
	fx_free(&f);
	run_with(&f, "gateway-secret-missing-reference-grant");
	assert_cond(lconds(&f, "gateway-secret-missing-reference-grant", "https"), "ResolvedRefs",
		    "False", "RefNotPermitted");
	fx_free(&f);
	run_with(&f, "gateway-secret-reference-grant-specific");
	assert_cond(lconds(&f, "gateway-secret-reference-grant-specific", "https"), "ResolvedRefs",
		    "True", "ResolvedRefs");
	assert_cond(lconds(&f, "gateway-secret-reference-grant-specific", "https"), "Programmed",
		    "True", "Programmed");
	assert_cond(gw_conds(&f, INFRA, "gateway-secret-reference-grant-specific"), "Programmed",
		    "True", "Programmed");
	fx_free(&f);
	run_with(&f, "gateway-secret-reference-grant-all-in-namespace");
	assert_cond(lconds(&f, "gateway-secret-reference-grant-all-in-namespace", "https"),
		    "ResolvedRefs", "True", "ResolvedRefs");
	fx_free(&f);
}

static void test_gateway_with_attached_routes(void **state)
{
	struct fx f = { 0 };
	json_t *l;

	run_with(&f, "gateway-with-attached-routes");
	l = gw_listener(&f, "Gateway", INFRA, "gateway-with-one-attached-route", "http");
	assert_cond(json_object_get(l, "conditions"), "Accepted", "True", "Accepted");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "True", "ResolvedRefs");
	assert_int_equal(attached(l), 1);
	l = gw_listener(&f, "Gateway", INFRA, "gateway-with-two-attached-routes", "http");
	assert_int_equal(attached(l), 2);
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "http-route-not-accepted",
				 "gateway-with-two-attached-routes", NULL),
		    "Accepted", "False", "NoMatchingListenerHostname");
	/* a listener with a bad certificate still counts its routes */
	l = gw_listener(&f, "Gateway", INFRA, "unresolved-gateway-with-one-attached-unresolved-route",
			"tls");
	assert_cond(json_object_get(l, "conditions"), "ResolvedRefs", "False",
		    "InvalidCertificateRef");
	assert_cond(json_object_get(l, "conditions"), "Programmed", "False", "Invalid");
	assert_int_equal(attached(l), 1);
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "http-route-4",
				 "unresolved-gateway-with-one-attached-unresolved-route", "tls"),
		    "ResolvedRefs", "False", "BackendNotFound");
	fx_free(&f);

	run_with(&f, "gateway-with-attached-routes-with-port-8080");
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA,
					      "gateway-with-two-listeners-and-one-attached-route",
					      "http-unattached")),
			 0);
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA,
					      "gateway-with-two-listeners-and-one-attached-route",
					      "http")),
			 1);
	fx_free(&f);
}

static void test_httproute_parent_ref_failures(void **state)
{
	struct fx f = { 0 };

	run_with(&f, "httproute-invalid-cross-namespace-parent-ref");
	assert_cond(route_parent(&f, "HTTPRoute", WEB, "invalid-cross-namespace-parent-ref",
				 "same-namespace", NULL),
		    "Accepted", "False", "NotAllowedByListeners");
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA, "same-namespace", "http")), 0);
	fx_free(&f);

	run_with(&f, "httproute-invalid-parentref-not-matching-listener-port");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "httproute-listener-not-matching-route-port",
				 "same-namespace", NULL),
		    "Accepted", "False", "NoMatchingParent");
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA, "same-namespace", "http")), 0);
	fx_free(&f);

	run_with(&f, "httproute-invalid-parentref-not-matching-section-name");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "httproute-listener-not-matching-section-name",
				 "same-namespace", "http1"),
		    "Accepted", "False", "NoMatchingParent");
	fx_free(&f);

	run_with(&f, "httproute-invalid-parentref-section-name-not-matching-port");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA,
				 "httproute-listener-section-name-not-matching-port",
				 "gateway-with-one-not-matching-port-and-section-name-route", "http"),
		    "Accepted", "False", "NoMatchingParent");
	fx_free(&f);

	run_with(&f, "httproute-disallowed-kind");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "disallowed-kind", "tlsroutes-only", NULL),
		    "Accepted", "False", "NotAllowedByListeners");
	fx_free(&f);
}

static void test_httproute_backend_ref_failures(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;

	run_with(&f, "httproute-invalid-cross-namespace-backend-ref");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "invalid-cross-namespace-backend-ref",
				 "same-namespace", NULL),
		    "ResolvedRefs", "False", "RefNotPermitted");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "invalid-cross-namespace-backend-ref",
				 "same-namespace", NULL),
		    "Accepted", "True", "Accepted");
	fx_free(&f);

	run_with(&f, "httproute-invalid-nonexistent-backendref");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "invalid-nonexistent-backend-ref",
				 "same-namespace", NULL),
		    "ResolvedRefs", "False", "BackendNotFound");
	/* requests it would take answer 500 */
	use_gateway(&f, "same-namespace");
	fx_route_h(&f, 80, "GET", "example.com", "/", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 500);
	fx_free(&f);

	run_with(&f, "httproute-invalid-backendref-unknown-kind");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "invalid-backend-ref-unknown-kind",
				 "same-namespace", NULL),
		    "ResolvedRefs", "False", "InvalidKind");
	fx_free(&f);

	run_with(&f, "httproute-invalid-reference-grant");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "reference-grant", "same-namespace",
				 NULL),
		    "ResolvedRefs", "False", "RefNotPermitted");
	fx_free(&f);

	run_with(&f, "httproute-reference-grant");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "reference-grant", "same-namespace",
				 NULL),
		    "ResolvedRefs", "True", "ResolvedRefs");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "reference-grant", "same-namespace",
				 NULL),
		    "Accepted", "True", "Accepted");
	fx_free(&f);

	run_with(&f, "httproute-partially-invalid-via-invalid-reference-grant");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "invalid-reference-grant",
				 "same-namespace", NULL),
		    "ResolvedRefs", "False", "RefNotPermitted");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "invalid-reference-grant",
				 "same-namespace", NULL),
		    "Accepted", "True", "Accepted");
	fx_free(&f);
}

static void test_httproute_simple_and_cross_namespace(void **state)
{
	struct fx f = { 0 };

	run_with(&f, "httproute-simple-same-namespace");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "gateway-conformance-infra-test",
				 "same-namespace", NULL),
		    "Accepted", "True", "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "gateway-conformance-infra-test",
				 "same-namespace", NULL),
		    "ResolvedRefs", "True", "ResolvedRefs");
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA, "same-namespace", "http")), 1);
	use_gateway(&f, "same-namespace");
	assert_string_equal(fx_route(&f, 80, "anything", "/"),
			    INFRA "/gateway-conformance-infra-test#0");
	fx_free(&f);

	/* backend-namespaces selects namespaces labelled gateway-conformance: backend */
	run_with(&f, "httproute-cross-namespace");
	assert_cond(route_parent(&f, "HTTPRoute", WEB, "cross-namespace", "backend-namespaces",
				 NULL),
		    "Accepted", "True", "Accepted");
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA, "backend-namespaces", "http")),
			 1);
	fx_free(&f);
}

static void test_httproute_hostname_intersection(void **state)
{
	struct fx f = { 0 };
	static const char *const ok[] = { "specific-host-matches-listener-specific-host",
					  "specific-host-matches-listener-wildcard-host",
					  "wildcard-host-matches-listener-specific-host",
					  "wildcard-host-matches-listener-wildcard-host" };

	run_with(&f, "httproute-hostname-intersection");
	use_gateway(&f, "httproute-hostname-intersection");
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_cond(route_parent(&f, "HTTPRoute", INFRA, ok[i],
					 "httproute-hostname-intersection", NULL),
			    "Accepted", "True", "Accepted");
	assert_cond(route_parent(&f, "HTTPRoute", INFRA, "no-intersecting-hosts",
				 "httproute-hostname-intersection", NULL),
		    "Accepted", "False", "NoMatchingListenerHostname");
	/* requests from the Go test: /s1 on very.specific.com, not on a
	 * non-matching wildcard host; /s3 reaches very.specific.com through
	 * "*.specific.com" */
	assert_string_equal(fx_route(&f, 80, "very.specific.com", "/s1"),
			    INFRA "/specific-host-matches-listener-specific-host#0");
	/* no listener takes that host at all (the proxy answers 404) */
	assert_string_equal(fx_route(&f, 80, "non.matching.com", "/s1"), "nolistener");
	assert_string_equal(fx_route(&f, 80, "very.specific.com", "/s3"),
			    INFRA "/wildcard-host-matches-listener-specific-host#0");
	assert_string_equal(fx_route(&f, 80, "foo.wildcard.io", "/s2"),
			    INFRA "/specific-host-matches-listener-wildcard-host#0");
	assert_string_equal(fx_route(&f, 80, "foo.anotherwildcard.io", "/s4"),
			    INFRA "/wildcard-host-matches-listener-wildcard-host#0");
	assert_string_equal(fx_route(&f, 80, "very.specific.com", "/s5"), "404");
	fx_free(&f);
}

static void test_listener_isolation(void **state)
{
	struct fx f = { 0 };

	run_with(&f, "gateway-http-listener-isolation");
	use_gateway(&f, "http-listener-isolation");
	/* requests and expectations of gateway-http-listener-isolation.go */
	assert_string_equal(fx_route(&f, 80, "bar.com", "/empty-hostname"),
			    INFRA "/attaches-to-empty-hostname#0");
	assert_string_equal(fx_route(&f, 80, "bar.com", "/wildcard-example-com"), "404");
	assert_string_equal(fx_route(&f, 80, "bar.example.com", "/wildcard-example-com"),
			    INFRA "/attaches-to-wildcard-example-com#0");
	assert_string_equal(fx_route(&f, 80, "bar.example.com", "/empty-hostname"), "404");
	assert_string_equal(fx_route(&f, 80, "bar.foo.example.com", "/wildcard-foo-example-com"),
			    INFRA "/attaches-to-wildcard-foo-example-com#0");
	assert_string_equal(fx_route(&f, 80, "bar.foo.example.com", "/wildcard-example-com"),
			    "404");
	assert_string_equal(fx_route(&f, 80, "abc.foo.example.com", "/abc-foo-example-com"),
			    INFRA "/attaches-to-abc-foo-example-com#0");
	assert_string_equal(fx_route(&f, 80, "abc.foo.example.com", "/wildcard-foo-example-com"),
			    "404");
	fx_free(&f);
}

static void test_listener_hostname_matching(void **state)
{
	struct fx f = { 0 };

	run_with(&f, "httproute-listener-hostname-matching");
	use_gateway(&f, "httproute-listener-hostname-matching");
	assert_string_equal(fx_route(&f, 80, "bar.com", "/"), INFRA "/backend-v1#0");
	assert_string_equal(fx_route(&f, 80, "foo.bar.com", "/"), INFRA "/backend-v2#0");
	assert_string_equal(fx_route(&f, 80, "baz.bar.com", "/"), INFRA "/backend-v3#0");
	assert_string_equal(fx_route(&f, 80, "boo.bar.com", "/"), INFRA "/backend-v3#0");
	assert_string_equal(fx_route(&f, 80, "multiple.prefixes.bar.com", "/"),
			    INFRA "/backend-v3#0");
	assert_string_equal(fx_route(&f, 80, "multiple.prefixes.foo.com", "/"),
			    INFRA "/backend-v3#0");
	assert_string_equal(fx_route(&f, 80, "foo.com", "/"), "nolistener");
	assert_string_equal(fx_route(&f, 80, "no.matching.host", "/"), "nolistener");
	assert_int_equal(attached(gw_listener(&f, "Gateway", INFRA,
					      "httproute-listener-hostname-matching", "listener-3")),
			 1);
	fx_free(&f);
}

static void test_matching_across_routes(void **state)
{
	struct fx f = { 0 };
	const char *one[] = { "version: one" }, *two[] = { "version: two" };

	run_with(&f, "httproute-matching-across-routes");
	use_gateway(&f, "same-namespace");
	assert_string_equal(fx_route(&f, 80, "example.com", "/"), INFRA "/matching-part1#0");
	assert_string_equal(fx_route(&f, 80, "example.net", "/example"),
			    INFRA "/matching-part1#0");
	assert_string_equal(fx_route(&f, 80, "example.com", "/v2"), INFRA "/matching-part2#0");
	assert_string_equal(fx_route_h(&f, 80, "GET", "example.com", "/", one, 1, NULL),
			    INFRA "/matching-part1#0");
	assert_string_equal(fx_route_h(&f, 80, "GET", "example.com", "/", two, 1, NULL),
			    INFRA "/matching-part2#0");
	/* part2 is not attached for example.net */
	assert_string_equal(fx_route(&f, 80, "example.net", "/v2"), INFRA "/matching-part1#0");
	assert_string_equal(fx_route_h(&f, 80, "GET", "example.net", "/", two, 1, NULL),
			    INFRA "/matching-part1#0");
	fx_free(&f);
}

static void test_omitted_backend_refs(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_action *a;

	run_with(&f, "httproute-omitted-backendrefs");
	use_gateway(&f, "same-namespace");
	fx_route_h(&f, 80, "GET", "example.com", "/omitted-no-forward", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 500);
	fx_route_h(&f, 80, "GET", "example.com", "/empty-no-forward", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 500);
	fx_route_h(&f, 80, "GET", "example.com", "/", NULL, 0, &a);
	assert_non_null(a);
	assert_int_equal(a->direct_status, 0);
	fx_free(&f);
}

static void test_listener_sets(void **state)
{
	struct fx f = { 0 };
	json_t *st;

	run_with(&f, "listenerset-http-routing");
	st = fx_status(&f, "ListenerSet", INFRA, "listener-set-http-routing-1");
	assert_cond(json_object_get(st, "conditions"), "Accepted", "True", "Accepted");
	assert_cond(json_object_get(st, "conditions"), "Programmed", "True", "Programmed");
	assert_int_equal(json_integer_value(json_object_get(
				 fx_status(&f, "Gateway", INFRA, "gateway-with-listener-sets-http-routing"),
				 "attachedListenerSets")),
			 2);
	fx_free(&f);

	run_with(&f, "listenerset-default-not-allowed");
	st = fx_status(&f, "ListenerSet", INFRA, "listenerset-default-not-allowed");
	assert_cond(json_object_get(st, "conditions"), "Accepted", "False", "NotAllowed");
	assert_cond(json_object_get(st, "conditions"), "Programmed", "False", "NotAllowed");
	fx_free(&f);

	run_with(&f, "listenerset-hostname-conflict");
	{
		const char *gw = "gateway-with-listenerset-hostname-conflict";
		json_t *l;

		assert_cond(gw_conds(&f, INFRA, gw), "Accepted", "True", "Accepted");
		assert_cond(lconds(&f, gw, "hostname-conflict-with-gateway-listener"), "Accepted",
			    "True", "Accepted");
		assert_int_equal(json_integer_value(json_object_get(
					 fx_status(&f, "Gateway", INFRA, gw), "attachedListenerSets")),
				 2);
		st = fx_status(&f, "ListenerSet", INFRA,
			       "listenerset-with-hostname-conflict-with-gateway-1");
		assert_cond(json_object_get(st, "conditions"), "Accepted", "True",
			    "ListenersNotValid");
		assert_cond(json_object_get(st, "conditions"), "Programmed", "True", "Programmed");
		l = gw_listener(&f, "ListenerSet", INFRA,
				"listenerset-with-hostname-conflict-with-gateway-1",
				"hostname-conflict-with-gateway-listener");
		assert_cond(json_object_get(l, "conditions"), "Conflicted", "True",
			    "HostnameConflict");
		assert_cond(json_object_get(l, "conditions"), "Accepted", "False",
			    "HostnameConflict");
		assert_cond(json_object_get(l, "conditions"), "Programmed", "False", "HostnameConflict");
		l = gw_listener(&f, "ListenerSet", INFRA,
				"listenerset-with-hostname-conflict-with-gateway-1",
				"hostname-conflict-with-listener-set-listener");
		assert_cond(json_object_get(l, "conditions"), "Accepted", "True", "Accepted");
		st = fx_status(&f, "ListenerSet", INFRA,
			       "listenerset-with-hostname-conflict-with-gateway-2");
		assert_cond(json_object_get(st, "conditions"), "Accepted", "False",
			    "ListenersNotValid");
		assert_cond(json_object_get(st, "conditions"), "Programmed", "False",
			    "ListenersNotValid");
		st = fx_status(&f, "ListenerSet", INFRA,
			       "listenerset-with-hostname-conflict-with-listener-set-2");
		assert_cond(json_object_get(st, "conditions"), "Accepted", "False",
			    "ListenersNotValid");
		l = gw_listener(&f, "ListenerSet", INFRA,
				"listenerset-with-hostname-conflict-with-listener-set-1",
				"hostname-conflict-with-listener-set-listener");
		assert_cond(json_object_get(l, "conditions"), "Conflicted", "True",
			    "HostnameConflict");
	}
	fx_free(&f);

	run_with(&f, "listenerset-protocol-conflict");
	{
		json_t *l;

		assert_cond(lconds(&f, "gateway-with-listenerset-protocol-conflict",
				   "protocol-conflict-with-gateway-listener"),
			    "Accepted", "True", "Accepted");
		st = fx_status(&f, "ListenerSet", INFRA,
			       "listenerset-with-protocol-conflict-with-gateway-1");
		assert_cond(json_object_get(st, "conditions"), "Accepted", "True",
			    "ListenersNotValid");
		l = gw_listener(&f, "ListenerSet", INFRA,
				"listenerset-with-protocol-conflict-with-gateway-1",
				"protocol-conflict-with-gateway-listener");
		assert_cond(json_object_get(l, "conditions"), "Conflicted", "True",
			    "ProtocolConflict");
		assert_cond(json_object_get(l, "conditions"), "Accepted", "False",
			    "ProtocolConflict");
		st = fx_status(&f, "ListenerSet", INFRA,
			       "listenerset-with-protocol-conflict-with-gateway-2");
		assert_cond(json_object_get(st, "conditions"), "Accepted", "False",
			    "ListenersNotValid");
		l = gw_listener(&f, "ListenerSet", INFRA,
				"listenerset-with-protocol-conflict-with-listener-set-1",
				"protocol-conflict-with-listener-set-listener");
		assert_cond(json_object_get(l, "conditions"), "Conflicted", "True",
			    "ProtocolConflict");
		l = gw_listener(&f, "ListenerSet", INFRA,
				"listenerset-with-protocol-conflict-with-gateway-1",
				"protocol-conflict-with-listener-set-listener");
		assert_cond(json_object_get(l, "conditions"), "Conflicted", "False", "NoConflicts");
		st = fx_status(&f, "ListenerSet", INFRA,
			       "listenerset-with-protocol-conflict-with-listener-set-2");
		assert_cond(json_object_get(st, "conditions"), "Accepted", "False",
			    "ListenersNotValid");
	}
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_gateways),
		cmocka_unit_test(test_gateway_listener_unsupported_protocol),
		cmocka_unit_test(test_gateway_invalid_route_kind),
		cmocka_unit_test(test_gateway_invalid_tls_configuration),
		cmocka_unit_test(test_gateway_secret_reference_grants),
		cmocka_unit_test(test_gateway_with_attached_routes),
		cmocka_unit_test(test_httproute_parent_ref_failures),
		cmocka_unit_test(test_httproute_backend_ref_failures),
		cmocka_unit_test(test_httproute_simple_and_cross_namespace),
		cmocka_unit_test(test_httproute_hostname_intersection),
		cmocka_unit_test(test_listener_isolation),
		cmocka_unit_test(test_listener_hostname_matching),
		cmocka_unit_test(test_matching_across_routes),
		cmocka_unit_test(test_omitted_backend_refs),
		cmocka_unit_test(test_listener_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
