/* tests/unit/test_validate.c - CRD validation as the API server would do it.
 *
 * Each rule case is a manifest a user could write, with the error they must
 * see: file line, field path, and the CRD's own message (copied from the CRD
 * text, not from our output). The upstream conformance manifests must all be
 * accepted: they are valid objects by definition.
 */
#include "gwbpf/api.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include <jansson.h>

#include "gwbpf/diag.h"
#include "gwbpf/kube.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"

/* the walker's statics (walk, compile) for the seam cases at the end: this
 * binary's copy replaces the archive's validate.o */
#include "../../userspace/model/validate.c"

#ifndef GW_UPSTREAM_DIR
#define GW_UPSTREAM_DIR "/work/shared/gateway-api"
#endif

#define GWAPI "apiVersion: gateway.networking.k8s.io/v1\n"
#define ROUTE GWAPI "kind: HTTPRoute\nmetadata: {name: r}\nspec:\n"
#define GW GWAPI "kind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: c\n"

/* validate_text() : loads one manifest; returns gw_validate_object()'s result */
static int validate_text(const char *yaml, struct gw_diag_list *diags)
{
	struct gw_doc_list dl = { 0 };
	struct gw_object *o;
	int err;

	assert_int_equal(gw_yaml_load_buf("t.yaml", yaml, strlen(yaml), &dl, diags), 0);
	assert_int_equal(dl.n, 1);
	o = gw_object_from_doc(dl.v[0].root, "t.yaml", diags);
	dl.v[0].root = NULL;
	gw_doc_list_free(&dl);
	assert_non_null(o);
	err = gw_validate_object(o, diags);
	gw_object_put(o);
	return err;
}

static void expect_ok(const char *yaml)
{
	struct gw_diag_list diags = { 0 };
	int err = validate_text(yaml, &diags);

	if (err) {
		gw_diag_print(&diags, stderr);
		fail_msg("expected a valid object, got %d", err);
	}
	gw_diag_list_free(&diags);
}

/* expect_err() : exactly one error, "t.yaml:<line>: <field>: <msg>" */
static void expect_err(const char *yaml, unsigned line, const char *field, const char *msg)
{
	struct gw_diag_list diags = { 0 };
	char want[1024], got[1024];

	assert_int_equal(validate_text(yaml, &diags), -EINVAL);
	snprintf(want, sizeof(want), "t.yaml:%u: %s: %s", line, field, msg);
	gw_diag_format(&diags.v[0], got, sizeof(got));
	if (strcmp(want, got) || diags.n_errors != 1) {
		gw_diag_print(&diags, stderr);
		fail_msg("want '%s' (alone), got '%s' (%zu errors)", want, got, diags.n_errors);
	}
	assert_non_null(diags.v[0].object);
	gw_diag_list_free(&diags);
}

/* ---- HTTPRoute ---- */

static void test_route_valid(void **state)
{
	expect_ok(ROUTE "  parentRefs: [{name: g}]\n"
		  "  hostnames: [\"example.com\", \"*.example.org\"]\n"
		  "  rules:\n"
		  "  - matches:\n"
		  "    - path: {type: PathPrefix, value: /api}\n"
		  "      headers: [{name: x-a, value: b}]\n"
		  "    - path: {type: RegularExpression, value: \"^/v[0-9]+\"}\n"
		  "    backendRefs: [{name: svc, port: 80, weight: 3}]\n"
		  "    timeouts: {request: 10s, backendRequest: 5s}\n"
		  "    unknownField: tolerated\n");
}

static void test_path_must_start_with_slash(void **state)
{
	expect_err(ROUTE "  rules:\n  - matches:\n    - path: {type: PathPrefix, value: foo}\n", 7,
		   "spec.rules[0].matches[0].path.value",
		   "value must be an absolute path and start with '/' when type one of ['Exact', "
		   "'PathPrefix']");
}

static void test_error_names_object(void **state)
{
	struct gw_diag_list diags = { 0 };

	assert_int_equal(validate_text(ROUTE "  rules:\n  - matches:\n    - path: {value: x}\n",
				       &diags),
			 -EINVAL);
	assert_string_equal(diags.v[0].object, "HTTPRoute default/r");
	assert_int_equal(diags.v[0].col, 21);
	gw_diag_list_free(&diags);
}

static void test_path_default_type_is_prefix(void **state)
{
	/* type defaults to PathPrefix, so the rule applies */
	expect_err(ROUTE "  rules:\n  - matches:\n    - path:\n        value: foo\n", 8,
		   "spec.rules[0].matches[0].path.value",
		   "value must be an absolute path and start with '/' when type one of ['Exact', "
		   "'PathPrefix']");
}

static void test_path_double_slash(void **state)
{
	expect_err(ROUTE "  rules:\n  - matches:\n    - path: {type: Exact, value: /a//b}\n", 7,
		   "spec.rules[0].matches[0].path.value",
		   "must not contain '//' when type one of ['Exact', 'PathPrefix']");
}

static void test_path_dot_segment_end(void **state)
{
	expect_err(ROUTE "  rules:\n  - matches:\n    - path: {type: Exact, value: /a/..}\n", 7,
		   "spec.rules[0].matches[0].path.value",
		   "must not end with '/..' when type one of ['Exact', 'PathPrefix']");
}

static void test_path_bad_chars(void **state)
{
	expect_err(ROUTE "  rules:\n  - matches:\n    - path: {type: Exact, value: \"/a b\"}\n", 7,
		   "spec.rules[0].matches[0].path.value",
		   "must only contain valid characters (matching "
		   "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', "
		   "'PathPrefix']");
}

static void test_path_regex_not_checked_as_path(void **state)
{
	expect_ok(ROUTE "  rules:\n  - matches:\n    - path: {type: RegularExpression, value: "
			"\"a//b\"}\n");
}

static void test_replace_prefix_needs_prefix_match(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - matches:\n"
			 "    - path: {type: Exact, value: /foo}\n"
			 "    filters:\n"
			 "    - type: URLRewrite\n"
			 "      urlRewrite:\n"
			 "        path: {type: ReplacePrefixMatch, replacePrefixMatch: /bar}\n",
		   6, "spec.rules[0].matches",
		   "When using URLRewrite filter with path.replacePrefixMatch, exactly one "
		   "PathPrefix match must be specified");
}

static void test_replace_prefix_ok_with_default_match(void **state)
{
	/* matches defaults to one PathPrefix "/" match */
	expect_ok(ROUTE "  rules:\n"
			"  - filters:\n"
			"    - type: RequestRedirect\n"
			"      requestRedirect:\n"
			"        path: {type: ReplacePrefixMatch, replacePrefixMatch: /bar}\n");
}

static void test_filter_config_required(void **state)
{
	expect_err(ROUTE "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n", 7,
		   "spec.rules[0].filters[0]",
		   "filter.requestHeaderModifier must be specified for RequestHeaderModifier "
		   "filter.type");
}

static void test_filter_config_mismatch(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestHeaderModifier\n"
			 "      requestHeaderModifier: {set: [{name: a, value: b}]}\n"
			 "      urlRewrite: {hostname: example.com}\n",
		   9, "spec.rules[0].filters[0].urlRewrite",
		   "filter.urlRewrite must be nil if the filter.type is not URLRewrite");
}

static void test_filter_repeated(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestHeaderModifier\n"
			 "      requestHeaderModifier: {set: [{name: a, value: b}]}\n"
			 "    - type: RequestHeaderModifier\n"
			 "      requestHeaderModifier: {set: [{name: c, value: d}]}\n",
		   9, "spec.rules[0].filters[1]", "RequestHeaderModifier filter cannot be repeated");
}

static void test_redirect_and_rewrite(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestRedirect\n"
			 "      requestRedirect: {scheme: https}\n"
			 "    - type: URLRewrite\n"
			 "      urlRewrite: {hostname: example.com}\n",
		   9, "spec.rules[0].filters[1]",
		   "May specify either httpRouteFilterRequestRedirect or "
		   "httpRouteFilterRequestRewrite, but not both");
}

static void test_redirect_with_backends(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - backendRefs: [{name: s, port: 80}]\n"
			 "    filters:\n"
			 "    - type: RequestRedirect\n"
			 "      requestRedirect: {scheme: https}\n",
		   8, "spec.rules[0].filters[0]",
		   "RequestRedirect filter must not be used together with backendRefs");
}

static void test_timeouts(void **state)
{
	expect_err(ROUTE "  rules:\n  - timeouts:\n      request: 10s\n      backendRequest: 1m\n",
		   8, "spec.rules[0].timeouts.backendRequest",
		   "backendRequest timeout cannot be longer than request timeout");
	/* request 0s means no timeout: any backendRequest is fine */
	expect_ok(ROUTE "  rules:\n  - timeouts: {request: 0s, backendRequest: 1h}\n");
}

static void test_timeout_format(void **state)
{
	expect_err(ROUTE "  rules:\n  - timeouts: {request: 10 seconds}\n", 6,
		   "spec.rules[0].timeouts.request",
		   "\"10 seconds\" must match '^([0-9]{1,5}(h|m|s|ms)){1,4}$'");
}

static void test_backend_port_required(void **state)
{
	expect_err(ROUTE "  rules:\n  - backendRefs:\n    - name: s\n", 7,
		   "spec.rules[0].backendRefs[0]", "Must have port for Service reference");
	/* other kinds need no port */
	expect_ok(ROUTE "  rules:\n  - backendRefs:\n    - {group: example.com, kind: Bucket, "
			"name: s}\n");
}

static void test_duplicate_header_match(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - matches:\n"
			 "    - headers:\n"
			 "      - {name: x-a, value: b}\n"
			 "      - {name: x-a, value: c}\n",
		   9, "spec.rules[0].matches[0].headers[1]",
		   "duplicate entry name=\"x-a\" (also at index 0)");
}

static void test_duplicate_header_modifier(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestHeaderModifier\n"
			 "      requestHeaderModifier:\n"
			 "        set: [{name: a, value: b}, {name: a, value: c}]\n",
		   9, "spec.rules[0].filters[0].requestHeaderModifier.set[1]",
		   "duplicate entry name=\"a\" (also at index 0)");
}

static void test_parent_refs_unique(void **state)
{
	expect_err(ROUTE "  parentRefs:\n  - name: g\n  - name: g\n", 7, "spec.parentRefs[1]",
		   "sectionName or port must be unique when parentRefs includes 2 or more "
		   "references to the same parent");
	expect_err(ROUTE "  parentRefs:\n  - name: g\n  - name: g\n    sectionName: http\n", 7,
		   "spec.parentRefs[1]",
		   "sectionName or port must be specified when parentRefs includes 2 or more "
		   "references to the same parent");
	expect_ok(ROUTE "  parentRefs:\n  - {name: g, sectionName: a}\n  - {name: g, sectionName: "
			"b}\n  - {name: g, namespace: other}\n");
}

static void test_rule_names_unique(void **state)
{
	expect_err(ROUTE "  rules:\n  - name: a\n  - name: b\n  - name: a\n", 8, "spec.rules[2]",
		   "Rule name must be unique within the route");
}

static void test_match_total(void **state)
{
	char *y = malloc(65536);
	size_t n = (size_t)snprintf(y, 65536, "%s  rules:\n", ROUTE);

	for (int r = 0; r < 3; r++) {
		n += (size_t)snprintf(y + n, 65536 - n, "  - matches:\n");
		for (int m = 0; m < 64; m++)
			n += (size_t)snprintf(y + n, 65536 - n, "    - path: {value: /m%d}\n", m);
	}
	expect_err(y, 5, "spec.rules",
		   "While 16 rules and 64 matches per rule are allowed, the total number of "
		   "matches across all rules in a route must be less than 128");
	free(y);
}

static void test_types_and_ranges(void **state)
{
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: \"80\"}]\n", 6,
		   "spec.rules[0].backendRefs[0].port", "must be of type integer, got string");
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: 80, weight: -1}]\n", 6,
		   "spec.rules[0].backendRefs[0].weight", "must be greater than or equal to 0");
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: 65536}]\n", 6,
		   "spec.rules[0].backendRefs[0].port", "must be less than or equal to 65535");
	expect_err(ROUTE "  rules:\n  - matches: [{method: FETCH}]\n", 6,
		   "spec.rules[0].matches[0].method",
		   "unsupported value \"FETCH\": supported values: \"GET\", \"HEAD\", \"POST\", "
		   "\"PUT\", \"DELETE\", \"CONNECT\", \"OPTIONS\", \"TRACE\", \"PATCH\"");
	expect_err(ROUTE "  hostnames: [\"Example.COM\"]\n", 5, "spec.hostnames[0]",
		   "\"Example.COM\" must match "
		   "'^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'");
	expect_err(ROUTE "  rules: {a: b}\n", 5, "spec.rules", "must be of type array, got object");
	expect_err(ROUTE "  rules:\n  - backendRefs: [{port: 80}]\n", 6,
		   "spec.rules[0].backendRefs[0].name", "required value");
}

static void test_pattern_dollar_is_end_only(void **state)
{
	/* Go's "$" does not match before a trailing newline; PCRE's does by default */
	expect_err(ROUTE "  hostnames: [\"example.com\\n\"]\n", 5, "spec.hostnames[0]",
		   "\"example.com\n\" must match "
		   "'^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'");
}

static void test_max_length_counts_characters(void **state)
{
	/* a regex path value (maxLength 1024, no character pattern): 1024 two-byte
	 * characters are 2048 bytes, yet not too long */
	char *y = malloc(8192);
	size_t n = (size_t)snprintf(y, 8192, "%s  rules:\n  - matches:\n    - path:\n"
					     "        type: RegularExpression\n        value: \"",
				    ROUTE);

	for (int i = 0; i < 1024; i++) {
		memcpy(y + n, "\xc3\xa9", 2); /* é */
		n += 2;
	}
	snprintf(y + n, 8192 - n, "\"\n");
	expect_ok(y);
	snprintf(y + n, 8192 - n, "x\"\n");
	expect_err(y, 9, "spec.rules[0].matches[0].path.value",
		   "must be at most 1024 characters long");
	free(y);
}

static void test_mirror_percent_fraction(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestMirror\n"
			 "      requestMirror:\n"
			 "        backendRef: {name: m, port: 80}\n"
			 "        percent: 10\n"
			 "        fraction: {numerator: 1}\n",
		   11, "spec.rules[0].filters[0].requestMirror.fraction",
		   "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter");
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestMirror\n"
			 "      requestMirror:\n"
			 "        backendRef: {name: m, port: 80}\n"
			 "        fraction: {numerator: 5, denominator: 4}\n",
		   10, "spec.rules[0].filters[0].requestMirror.fraction.numerator",
		   "numerator must be less than or equal to denominator");
}

static void test_cors_star(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: CORS\n"
			 "      cors:\n"
			 "        allowOrigins: [\"https://a.example\", \"*\"]\n",
		   9, "spec.rules[0].filters[0].cors.allowOrigins[1]",
		   "AllowOrigins cannot contain '*' alongside other origins");
}

static void test_session_persistence(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - sessionPersistence:\n"
			 "      type: Header\n"
			 "      cookieConfig: {lifetimeType: Session}\n",
		   8, "spec.rules[0].sessionPersistence.cookieConfig",
		   "cookieConfig can only be set with type Cookie");
	expect_err(ROUTE "  rules:\n"
			 "  - sessionPersistence:\n"
			 "      cookieConfig: {lifetimeType: Permanent}\n",
		   6, "spec.rules[0].sessionPersistence",
		   "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent");
}

static void test_v1beta1_route(void **state)
{
	expect_err("apiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\n"
		   "metadata: {name: r}\nspec:\n  rules:\n  - matches:\n"
		   "    - path: {value: nope}\n",
		   7, "spec.rules[0].matches[0].path.value",
		   "value must be an absolute path and start with '/' when type one of ['Exact', "
		   "'PathPrefix']");
}


static void test_external_auth_protocol(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: ExternalAuth\n"
			 "      externalAuth:\n"
			 "        protocol: GRPC\n"
			 "        backendRef: {name: auth, port: 9000}\n"
			 "        http: {}\n",
		   8, "spec.rules[0].filters[0].externalAuth",
		   "grpc must be specified when protocol is set to 'GRPC'");
}

static void test_redirect_full_path_field(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestRedirect\n"
			 "      requestRedirect:\n"
			 "        path: {type: ReplaceFullPath}\n",
		   9, "spec.rules[0].filters[0].requestRedirect.path",
		   "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
}

static void test_replace_prefix_in_backend_filters(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - matches:\n"
			 "    - path: {type: Exact, value: /foo}\n"
			 "    backendRefs:\n"
			 "    - name: s\n"
			 "      port: 80\n"
			 "      filters:\n"
			 "      - type: URLRewrite\n"
			 "        urlRewrite:\n"
			 "          path: {type: ReplacePrefixMatch, replacePrefixMatch: /bar}\n",
		   6, "spec.rules[0].matches",
		   "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, "
		   "exactly one PathPrefix match must be specified");
}

static void test_gateway_hostname_address(void **state)
{
	expect_err(GW "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"
		      "  addresses:\n  - {type: Hostname, value: \"-bad.example\"}\n",
		   8, "spec.addresses[0].value",
		   "Hostname value must be empty or contain only valid characters (matching "
		   "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)");
}

static void test_gateway_label_prefix_length(void **state)
{
	char y[2048];
	char prefix[300];

	/* 254 characters of valid DNS subdomain labels before the "/" */
	memset(prefix, 'a', 254);
	for (int i = 50; i < 254; i += 50)
		prefix[i] = '.';
	prefix[254] = '\0';
	snprintf(y, sizeof(y),
		 GW "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"
		    "  infrastructure:\n    annotations:\n      \"%s/x\": v\n",
		 prefix);
	{
		char field[400];

		snprintf(field, sizeof(field), "spec.infrastructure.annotations.%s/x", prefix);
		expect_err(y, 9, field,
			   "If specified, the annotation key's prefix must be a DNS subdomain not "
			   "longer than 253 characters in total.");
	}
}

static void test_gateway_tls_per_port_unique(void **state)
{
	expect_err(GW "  listeners: [{name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: "
		      "[{name: c}]}}]\n"
		      "  tls:\n    frontend:\n"
		      "      default: {validation: {caCertificateRefs: [{name: ca, kind: ConfigMap, "
		      "group: \"\"}]}}\n"
		      "      perPort:\n"
		      "      - {port: 443, tls: {validation: {caCertificateRefs: [{name: a, kind: "
		      "ConfigMap, group: \"\"}]}}}\n"
		      "      - {port: 443, tls: {validation: {caCertificateRefs: [{name: b, kind: "
		      "ConfigMap, group: \"\"}]}}}\n",
		   12, "spec.tls.frontend.perPort[1]",
		   /* list-map key uniqueness catches it before the CEL rule does */
		   "duplicate entry port=\"443\" (also at index 0)");
}

static void test_backendtlspolicy_section_same_target(void **state)
{
	expect_err(GWAPI "kind: BackendTLSPolicy\nmetadata: {name: p}\nspec:\n"
			 "  targetRefs:\n"
			 "  - {group: \"\", kind: Service, name: s}\n"
			 "  - {group: \"\", kind: Service, name: s, sectionName: https}\n"
			 "  validation: {hostname: s.example, wellKnownCACertificates: System}\n",
		   7, "spec.targetRefs[1]",
		   "sectionName must be specified when targetRefs includes 2 or more references to "
		   "the same target");
}

/* ---- Gateway, ListenerSet, GatewayClass ---- */

static void test_gateway_valid(void **state)
{
	expect_ok(GW "  listeners:\n"
		     "  - {name: http, port: 80, protocol: HTTP}\n"
		     "  - name: https\n"
		     "    port: 443\n"
		     "    protocol: HTTPS\n"
		     "    hostname: \"*.example.com\"\n"
		     "    tls: {certificateRefs: [{name: cert}]}\n"
		     "  - {name: tcp, port: 9000, protocol: TCP}\n"
		     "  addresses: [{value: 10.0.0.1}, {type: IPAddress, value: \"fd00::1\"}]\n");
}

static void test_listener_names_unique(void **state)
{
	expect_err(GW "  listeners:\n"
		      "  - {name: a, port: 80, protocol: HTTP}\n"
		      "  - {name: a, port: 81, protocol: HTTP}\n",
		   8, "spec.listeners[1]", "duplicate entry name=\"a\" (also at index 0)");
}

static void test_listener_port_proto_host_unique(void **state)
{
	expect_err(GW "  listeners:\n"
		      "  - {name: a, port: 80, protocol: HTTP, hostname: a.example}\n"
		      "  - {name: b, port: 80, protocol: HTTP, hostname: a.example}\n",
		   8, "spec.listeners[1]",
		   "Combination of port, protocol and hostname must be unique for each listener");
}

static void test_listener_tls_forbidden(void **state)
{
	expect_err(GW "  listeners:\n"
		      "  - name: a\n    port: 80\n    protocol: HTTP\n"
		      "    tls: {certificateRefs: [{name: c}]}\n",
		   7, "spec.listeners[0]", "tls must not be specified for protocols ['HTTP', 'TCP', "
					   "'UDP']");
}

static void test_listener_hostname_tcp(void **state)
{
	expect_err(GW "  listeners:\n  - {name: a, port: 9000, protocol: TCP, hostname: a.example}\n",
		   7, "spec.listeners[0]",
		   "hostname must not be specified for protocols ['TCP', 'UDP']");
}

static void test_listener_https_mode(void **state)
{
	expect_err(GW "  listeners:\n"
		      "  - {name: a, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}\n",
		   7, "spec.listeners[0]", "tls mode must be Terminate for protocol HTTPS");
}

static void test_listener_tls_mode_set(void **state)
{
	expect_err(GW "  listeners:\n  - {name: a, port: 443, protocol: TLS}\n", 7,
		   "spec.listeners[0]", "tls mode must be set for protocol TLS");
	/* mode defaults to Terminate when tls is given */
	expect_ok(GW "  listeners:\n  - {name: a, port: 443, protocol: TLS, tls: {mode: "
		     "Passthrough}}\n");
}

static void test_listener_terminate_needs_certs(void **state)
{
	expect_err(GW "  listeners:\n  - name: a\n    port: 443\n    protocol: HTTPS\n    tls: {}\n",
		   10, "spec.listeners[0].tls",
		   "certificateRefs or options must be specified when mode is Terminate");
}

static void test_gateway_addresses(void **state)
{
	expect_err(GW "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"
		      "  addresses:\n  - value: 10.0.0.300\n",
		   8, "spec.addresses[0].value",
		   "\"10.0.0.300\" must be an IPv4 or IPv6 address when type is IPAddress");
	expect_err(GW "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"
		      "  addresses:\n  - value: 10.0.0.1\n  - value: 10.0.0.1\n",
		   9, "spec.addresses[1]", "IPAddress values must be unique");
}

static void test_gateway_infrastructure_labels(void **state)
{
	expect_err(GW "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"
		      "  infrastructure:\n    labels:\n      \"-bad\": x\n",
		   9, "spec.infrastructure.labels.-bad",
		   "Label keys must be in the form of an optional DNS subdomain prefix followed by "
		   "a required name segment of up to 63 characters.");
}

static void test_listenerset(void **state)
{
	expect_err(GWAPI "kind: ListenerSet\nmetadata: {name: ls}\nspec:\n"
		   "  parentRef: {name: g}\n"
		   "  listeners:\n  - {name: a, port: 9000, protocol: UDP, hostname: a.example}\n",
		   7, "spec.listeners[0]",
		   "hostname must not be specified for protocols ['TCP', 'UDP']");
}

static void test_gatewayclass_controller_pattern(void **state)
{
	expect_ok(GWAPI "kind: GatewayClass\nmetadata: {name: c}\nspec:\n"
			"  controllerName: gwbpf.dev/gateway-controller\n");
	expect_err(GWAPI "kind: GatewayClass\nmetadata: {name: c}\nspec:\n"
			 "  controllerName: no-slash\n",
		   5, "spec.controllerName",
		   "\"no-slash\" must match "
		   "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/"
		   "[A-Za-z0-9\\/\\-._~%!$&'()*+,;=:]+$'");
	expect_err(GWAPI "kind: GatewayClass\nmetadata: {name: c}\nspec: {}\n", 4,
		   "spec.controllerName", "required value");
}

/* ---- other route kinds, policies, grants ---- */

static void test_grpcroute(void **state)
{
	const char *hdr = GWAPI "kind: GRPCRoute\nmetadata: {name: r}\nspec:\n  rules:\n";

	char y[1024];

	snprintf(y, sizeof(y), "%s  - matches:\n    - method: {type: Exact}\n", hdr);
	expect_err(y, 7, "spec.rules[0].matches[0].method",
		   "One or both of 'service' or 'method' must be specified");
	snprintf(y, sizeof(y), "%s  - matches:\n    - method: {service: \"a-b\"}\n", hdr);
	expect_err(y, 7, "spec.rules[0].matches[0].method.service",
		   "service must only contain valid characters (matching "
		   "^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)");
	snprintf(y, sizeof(y), "%s  - matches:\n    - method: {service: foo.Bar, method: Get}\n",
		 hdr);
	expect_ok(y);
}

static void test_tlsroute_hostnames(void **state)
{
	const char *hdr = GWAPI "kind: TLSRoute\nmetadata: {name: r}\nspec:\n"
				"  rules: [{backendRefs: [{name: s, port: 443}]}]\n";
	char y[1024];

	snprintf(y, sizeof(y), "%s  hostnames: [a.example, \"10.0.0.1\"]\n", hdr);
	expect_err(y, 6, "spec.hostnames[1]", "Hostnames cannot contain an IP");
	snprintf(y, sizeof(y), "%s  hostnames: [\"a.*.example\"]\n", hdr);
	/* the field pattern already refuses it (the CEL rule repeats it) */
	expect_err(y, 6, "spec.hostnames[0]",
		   "\"a.*.example\" must match "
		   "'^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'");
}

static void test_tcp_udp_routes(void **state)
{
	expect_err("apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n"
		   "metadata: {name: r}\nspec:\n  rules:\n  - backendRefs: [{name: s}]\n",
		   6, "spec.rules[0].backendRefs[0]", "Must have port for Service reference");
	expect_err("apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
		   "metadata: {name: r}\nspec:\n  rules: []\n",
		   5, "spec.rules", "must have at least 1 items");
}

static void test_backendtlspolicy(void **state)
{
	const char *hdr = GWAPI "kind: BackendTLSPolicy\nmetadata: {name: p}\nspec:\n"
				"  targetRefs: [{group: \"\", kind: Service, name: s}]\n"
				"  validation:\n    hostname: s.example\n";
	char y[1024];

	snprintf(y, sizeof(y), "%s", hdr);
	expect_err(y, 6, "spec.validation",
		   "must specify either CACertificateRefs or WellKnownCACertificates");
	snprintf(y, sizeof(y),
		 "%s    wellKnownCACertificates: System\n"
		 "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: ca}]\n",
		 hdr);
	expect_err(y, 8, "spec.validation.wellKnownCACertificates",
		   "must not contain both CACertificateRefs and WellKnownCACertificates");
	snprintf(y, sizeof(y),
		 "%s    wellKnownCACertificates: System\n"
		 "    subjectAltNames: [{type: Hostname}]\n",
		 hdr);
	expect_err(y, 9, "spec.validation.subjectAltNames[0]",
		   "SubjectAltName element must contain Hostname, if Type is set to Hostname");
	snprintf(y, sizeof(y), "%s    wellKnownCACertificates: System\n", hdr);
	expect_ok(y);
}

static void test_backendtlspolicy_targets(void **state)
{
	expect_err(GWAPI "kind: BackendTLSPolicy\nmetadata: {name: p}\nspec:\n"
			 "  targetRefs:\n"
			 "  - {group: \"\", kind: Service, name: s, sectionName: https}\n"
			 "  - {group: \"\", kind: Service, name: s, sectionName: https}\n"
			 "  validation: {hostname: s.example, wellKnownCACertificates: System}\n",
		   7, "spec.targetRefs[1]",
		   "sectionName must be unique when targetRefs includes 2 or more references to "
		   "the same target");
}

static void test_referencegrant(void **state)
{
	expect_ok("apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		  "metadata: {name: g, namespace: b}\nspec:\n"
		  "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: a}]\n"
		  "  to: [{group: \"\", kind: Service}]\n");
	expect_err("apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		   "metadata: {name: g}\nspec:\n  to: [{group: \"\", kind: Service}]\n",
		   4, "spec.from", "required value");
}

/* ---- core kinds ---- */

static void test_service(void **state)
{
	const char *hdr = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n";
	char y[1024];

	snprintf(y, sizeof(y), "%s  ports: [{port: 70000}]\n", hdr);
	expect_err(y, 5, "spec.ports[0].port", "must be less than or equal to 65535");
	snprintf(y, sizeof(y), "%s  ports:\n  - {name: a, port: 80}\n  - {port: 81}\n", hdr);
	expect_err(y, 7, "spec.ports[1]",
		   "port names are required when a Service has more than one port");
	snprintf(y, sizeof(y), "%s  ports: [{port: 80, targetPort: \"Http_Port\"}]\n", hdr);
	expect_err(y, 5, "spec.ports[0].targetPort",
		   "must be a port number between 1 and 65535 or a port name (IANA_SVC_NAME)");
	snprintf(y, sizeof(y),
		 "%s  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: "
		 "http-alt}\n  - {name: b, port: 81, targetPort: 8081, appProtocol: "
		 "kubernetes.io/h2c}\n",
		 hdr);
	expect_ok(y);
}

static void test_endpointslice(void **state)
{
	const char *hdr = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			  "metadata: {name: e}\naddressType: IPv4\nports: [{name: http, port: "
			  "8080}]\nendpoints:\n";
	char y[1024];

	snprintf(y, sizeof(y), "%s- addresses: [10.0.0.1]\n  conditions: {ready: true}\n", hdr);
	expect_ok(y);
	snprintf(y, sizeof(y), "%s- addresses: [10.0.0.1]\n- addresses: [\"fd00::1\"]\n", hdr);
	expect_err(y, 8, "endpoints[1].addresses[0]",
		   "must be a valid address of the slice's addressType");
	snprintf(y, sizeof(y), "%s- addresses: [10.0.0.1]\n  conditions: {ready: \"yes\"}\n", hdr);
	expect_err(y, 8, "endpoints[0].conditions.ready", "must be of type boolean, got string");
}

static void test_secret_configmap(void **state)
{
	expect_ok("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\n"
		  "data:\n  tls.crt: aGVsbG8=\n  tls.key: \"\"\n");
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  tls.crt: "
		   "\"not base64!\"\n",
		   5, "data.tls.crt", "must be base64 encoded");
	expect_err("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  ca.crt: 5\n", 5,
		   "data.ca.crt", "must be of type string, got integer");
}

static void test_ingress(void **state)
{
	const char *hdr = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n"
			  "spec:\n  ingressClassName: gwbpf\n  rules:\n  - host: a.example\n"
			  "    http:\n      paths:\n";
	char y[1024];

	snprintf(y, sizeof(y),
		 "%s      - path: /\n        pathType: Prefix\n        backend:\n"
		 "          service: {name: s, port: {number: 80}}\n",
		 hdr);
	expect_ok(y);
	snprintf(y, sizeof(y),
		 "%s      - path: api\n        pathType: Prefix\n        backend:\n"
		 "          service: {name: s, port: {number: 80}}\n",
		 hdr);
	expect_err(y, 10, "spec.rules[0].http.paths[0].path", "must be an absolute path");
	snprintf(y, sizeof(y),
		 "%s      - path: /\n        pathType: Prefix\n        backend:\n"
		 "          service: {name: s, port: {number: 80, name: http}}\n",
		 hdr);
	expect_err(y, 13, "spec.rules[0].http.paths[0].backend.service.port",
		   "exactly one of number or name must be set");
}

static void test_metadata_names(void **state)
{
	expect_err(GWAPI "kind: HTTPRoute\nmetadata:\n  name: My_Route\nspec: {}\n", 4,
		   "metadata.name",
		   "\"My_Route\": a lowercase RFC 1123 subdomain must consist of lower case "
		   "alphanumeric characters, '-' or '.', and must start and end with an "
		   "alphanumeric character");
	expect_err(GWAPI "kind: HTTPRoute\nmetadata:\n  name: r\n  namespace: a.b\nspec: {}\n", 5,
		   "metadata.namespace",
		   "\"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
		   "characters or '-', start and end with an alphanumeric character, and be at "
		   "most 63 characters");
	expect_err("apiVersion: v1\nkind: Service\nmetadata:\n  name: 1svc\n", 4, "metadata.name",
		   "\"1svc\": a DNS-1035 label must consist of lower case alphanumeric characters "
		   "or '-', start with a letter, end with an alphanumeric character, and be at "
		   "most 63 characters");
	expect_ok(GWAPI "kind: HTTPRoute\nmetadata: {name: a.b-c.d, namespace: x-1}\nspec: {}\n");
}

/* error paths of the schema walker not reached by the cases above: each
 * message names the CRD rule (minLength, maxItems, maxProperties, nullable,
 * int32) or the Kubernetes name rule that is broken */
static void test_more_schema_error_paths(void **state)
{
	char y[2048];
	int n;

	/* parentRefs[].name: minLength 1 */
	expect_err(ROUTE "  parentRefs: [{name: \"\"}]\n", 5, "spec.parentRefs[0].name",
		   "must be at least 1 characters long");
	/* hostnames: maxItems 16 */
	n = snprintf(y, sizeof(y), ROUTE "  hostnames:\n");
	for (int i = 0; i < 17; i++)
		n += snprintf(y + n, sizeof(y) - (size_t)n, "  - h%d.example.com\n", i);
	expect_err(y, 5, "spec.hostnames", "must have at most 16 items");
	/* array items are not nullable */
	expect_err(ROUTE "  hostnames: [a.example.com, null]\n", 5, "spec.hostnames[1]",
		   "must not be null");
	/* infrastructure.labels: maxProperties 8 */
	n = snprintf(y, sizeof(y), GW "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"
				      "  infrastructure:\n    labels:\n");
	for (int i = 0; i < 9; i++)
		n += snprintf(y + n, sizeof(y) - (size_t)n, "      k%d: v\n", i);
	expect_err(y, 8, "spec.infrastructure.labels", "must have at most 8 properties");
	/* weight is an int32 */
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: 80, weight: 4294967297}]\n", 6,
		   "spec.rules[0].backendRefs[0].weight",
		   "4294967297 does not fit in a 32-bit integer");
	/* a Namespace name is an RFC 1123 label (no dots) */
	expect_err("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", 4, "metadata.name",
		   "\"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
		   "characters or '-', start and end with an alphanumeric character, and be at "
		   "most 63 characters");
	/* IPv6 slices take IPv6 addresses only */
	expect_err("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\n"
		   "addressType: IPv6\nendpoints:\n- addresses: [\"10.0.0.1\"]\n",
		   6, "endpoints[0].addresses[0]",
		   "must be a valid address of the slice's addressType");
	expect_ok("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\n"
		  "addressType: IPv6\nendpoints:\n- addresses: [\"fd00::1\"]\n");
}

static void test_unknown_kind_and_version(void **state)
{
	struct gw_diag_list diags = { 0 };

	assert_int_equal(validate_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: "
				       "d}\nspec: {replicas: x}\n",
				       &diags),
			 -ENOENT);
	assert_int_equal(validate_text(GWAPI "kind: Widget\nmetadata: {name: w}\n", &diags),
			 -ENOENT);
	assert_int_equal(validate_text("apiVersion: gateway.networking.k8s.io/v9\nkind: "
				       "HTTPRoute\nmetadata: {name: r}\n",
				       &diags),
			 -ENOENT);
	assert_int_equal(diags.n, 0);
}

/* ---- the remaining error paths (each one a user or a future CRD can reach) ---- */

/* a wrong type is named the way the user wrote it: a list, a boolean, a number */
static void test_type_error_names_what_was_written(void **state)
{
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: [80]}]\n", 6,
		   "spec.rules[0].backendRefs[0].port", "must be of type integer, got array");
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: true}]\n", 6,
		   "spec.rules[0].backendRefs[0].port", "must be of type integer, got boolean");
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: 80.5}]\n", 6,
		   "spec.rules[0].backendRefs[0].port", "must be of type integer, got number");
}

/* an integer that does not fit in 64 bits is refused, not wrapped into a port */
static void test_integer_out_of_range(void **state)
{
	expect_err(ROUTE "  rules:\n  - backendRefs: [{name: s, port: 18446744073709551697}]\n", 6,
		   "spec.rules[0].backendRefs[0].port", "integer out of range");
}

/* integer enums (requestRedirect.statusCode: enum 301, 302, 303, 307, 308 in the CRD) */
static void test_integer_enum(void **state)
{
#define REDIRECT(code)                                                                          \
	ROUTE "  rules:\n  - filters:\n    - type: RequestRedirect\n"                              \
	      "      requestRedirect: {statusCode: " #code "}\n"

	expect_err(REDIRECT(304), 8, "spec.rules[0].filters[0].requestRedirect.statusCode",
		   "unsupported value 304: supported values: 301, 302, 303, 307, 308");
	expect_ok(REDIRECT(308));
	expect_ok(REDIRECT(0x12D)); /* 301, as kubectl sends it */
#undef REDIRECT
}

/* x-kubernetes-list-type: set (requestHeaderModifier.remove) */
static void test_list_set_duplicate(void **state)
{
	expect_err(ROUTE "  rules:\n"
			 "  - filters:\n"
			 "    - type: RequestHeaderModifier\n"
			 "      requestHeaderModifier:\n"
			 "        remove: [x-a, x-b, x-a]\n",
		   9, "spec.rules[0].filters[0].requestHeaderModifier.remove[2]",
		   "duplicate entry \"x-a\" (also at index 0)");
}

/* a backendRequest in milliseconds longer than the request timeout */
static void test_timeouts_in_milliseconds(void **state)
{
	expect_err(ROUTE "  rules:\n  - timeouts: {request: 1s, backendRequest: 1500ms}\n", 6,
		   "spec.rules[0].timeouts.backendRequest",
		   "backendRequest timeout cannot be longer than request timeout");
	expect_ok(ROUTE "  rules:\n  - timeouts: {request: 1s, backendRequest: 999ms}\n");
}

/* names: empty labels, a trailing dot, over 253 characters, a label over 63 */
static void test_metadata_name_lengths(void **state)
{
	static const char sub[] = "a lowercase RFC 1123 subdomain must consist of lower case "
				  "alphanumeric characters, '-' or '.', and must start and end "
				  "with an alphanumeric character";
	char y[1024], want[1024], name[300];

	snprintf(want, sizeof(want), "\"a..b\": %s", sub);
	expect_err(GWAPI "kind: HTTPRoute\nmetadata:\n  name: a..b\nspec: {}\n", 4,
		   "metadata.name", want);
	snprintf(want, sizeof(want), "\"a.\": %s", sub);
	expect_err(GWAPI "kind: HTTPRoute\nmetadata:\n  name: a.\nspec: {}\n", 4,
		   "metadata.name", want);
	/* 254 characters in labels of 50 */
	memset(name, 'a', 254);
	for (int i = 50; i < 254; i += 51)
		name[i] = '.';
	name[254] = '\0';
	snprintf(y, sizeof(y), GWAPI "kind: HTTPRoute\nmetadata:\n  name: %s\nspec: {}\n", name);
	snprintf(want, sizeof(want), "\"%s\": %s", name, sub);
	expect_err(y, 4, "metadata.name", want);
	name[253] = '\0'; /* 253 is the limit */
	snprintf(y, sizeof(y), GWAPI "kind: HTTPRoute\nmetadata:\n  name: %s\nspec: {}\n", name);
	expect_ok(y);
	/* a namespace is one label: at most 63 characters */
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(y, sizeof(y), GWAPI "kind: HTTPRoute\nmetadata:\n  name: r\n  namespace: %s\n"
				     "spec: {}\n", name);
	snprintf(want, sizeof(want), "\"%s\": a lowercase RFC 1123 label must consist of lower "
				     "case alphanumeric characters or '-', start and end with an "
				     "alphanumeric character, and be at most 63 characters", name);
	expect_err(y, 5, "metadata.namespace", want);
}

/* Service targetPort names (IANA_SVC_NAME) and Secret data (base64) */
static void test_core_value_formats(void **state)
{
	static const char *const bad_names[] = {
		"-http", "http-", "ht--tp", "sixteen-chars-xx", "8080-",
	};
	char y[512];

	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		snprintf(y, sizeof(y), "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
				       "  ports: [{port: 80, targetPort: \"%s\"}]\n", bad_names[i]);
		expect_err(y, 5, "spec.ports[0].targetPort",
			   "must be a port number between 1 and 65535 or a port name "
			   "(IANA_SVC_NAME)");
	}
	expect_ok("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
		  "  ports: [{port: 80, targetPort: fifteen-chars-x}]\n");
	/* right length, wrong alphabet; then data after the padding */
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: \"ab!c\"\n", 5,
		   "data.k", "must be base64 encoded");
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: \"ab=c\"\n", 5,
		   "data.k", "must be base64 encoded");
	/* the API server's decoder (Go's StdEncoding) wants padding and the
	 * standard alphabet, and skips CR/LF only: wrapped `base64` output in a
	 * block scalar is accepted, spaces and the URL-safe alphabet are not */
	expect_ok("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: |\n"
		  "    aGVsbG8g\n    d29ybGQ=\n");
	expect_ok("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: \"aGVs\\r\\nbG8=\"\n");
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: aGVsbG8\n", 5,
		   "data.k", "must be base64 encoded");
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: aGVs bG8=\n", 5,
		   "data.k", "must be base64 encoded");
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: a-_s\n", 5,
		   "data.k", "must be base64 encoded");
	expect_err("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: \"a===\"\n", 5,
		   "data.k", "must be base64 encoded");
}

/* a path match without a path (headers only) is the default PathPrefix "/",
 * so ReplacePrefixMatch is allowed with it */
static void test_replace_prefix_with_headers_only_match(void **state)
{
	expect_ok(ROUTE "  rules:\n"
			"  - matches:\n"
			"    - headers: [{name: x-a, value: b}]\n"
			"    filters:\n"
			"    - type: URLRewrite\n"
			"      urlRewrite:\n"
			"        path: {type: ReplacePrefixMatch, replacePrefixMatch: /bar}\n");
}

/* objects from the Kubernetes API have no file: the error names the field */
static void test_api_object_error_has_no_location(void **state)
{
	static const char json[] =
		"{\"apiVersion\": \"gateway.networking.k8s.io/v1\", \"kind\": \"HTTPRoute\","
		" \"metadata\": {\"name\": \"r\", \"namespace\": \"ns\"},"
		" \"spec\": {\"rules\": [{\"backendRefs\": [{\"name\": \"s\", \"port\": 0}]}]}}";
	struct gw_diag_list diags = { 0 };
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);
	struct gw_node *root;
	struct gw_object *o;
	char got[512];

	assert_non_null(j);
	root = gw_json_to_node(j);
	json_decref(j);
	assert_non_null(root);
	o = gw_object_from_doc(root, NULL, &diags);
	assert_non_null(o);
	assert_int_equal(gw_validate_object(o, &diags), -EINVAL);
	assert_int_equal(diags.n_errors, 1);
	gw_diag_format(&diags.v[0], got, sizeof(got));
	assert_string_equal(got, "spec.rules[0].backendRefs[0].port: "
				 "must be greater than or equal to 1");
	assert_string_equal(diags.v[0].object, "HTTPRoute ns/r");
	gw_object_put(o);
	gw_diag_list_free(&diags);
}

/* ---- seams: what no manifest can reach with the v1.6.1 tables ----
 *
 * validate.c is included above, so its statics are callable. These paths
 * exist for schema features tools/gen-schema.py emits but the current CRDs
 * only use in status (format: date-time) or not at all (type: number), and
 * for the CEL rule checks whose every error the schema walk already reports
 * first. docs/config-loading.md lists them. */

/* load_object() : one manifest as an object (new reference) */
static struct gw_object *load_object(const char *yaml)
{
	struct gw_diag_list diags = { 0 };
	struct gw_doc_list dl = { 0 };
	struct gw_object *o;

	assert_int_equal(gw_yaml_load_buf("t.yaml", yaml, strlen(yaml), &dl, &diags), 0);
	assert_int_equal(dl.n, 1);
	o = gw_object_from_doc(dl.v[0].root, "t.yaml", &diags);
	dl.v[0].root = NULL;
	gw_doc_list_free(&dl);
	assert_non_null(o);
	assert_int_equal(diags.n, 0);
	return o;
}

/* seam_msg() : the only diagnostic in diags, formatted, into got */
static const char *seam_msg(struct gw_diag_list *diags, char *got, size_t size)
{
	got[0] = '\0';
	if (diags->n)
		gw_diag_format(&diags->v[0], got, size);
	if (diags->n > 1) {
		gw_diag_print(diags, stderr);
		fail_msg("%zu diagnostics, want at most one", diags->n);
	}
	return got;
}

/* walk_msg() : the schema walk of s over the document's root; "" when valid */
static const char *walk_msg(const struct gw_schema *s, const char *yaml, char *got, size_t size)
{
	struct gw_diag_list diags = { 0 };
	struct gw_object *o = load_object(yaml);
	struct gw_vctx v = { .o = o, .diags = &diags };

	gw_object_ref(o, v.ref, sizeof(v.ref));
	walk(&v, s, o->root);
	seam_msg(&diags, got, size);
	assert_int_equal(v.n_errors, (int)diags.n);
	gw_diag_list_free(&diags);
	gw_object_put(o);
	return got;
}

/* rule_msg() : rule r run on the node at path of the document; "" when it holds */
static const char *rule_msg(const struct gw_rule *r, const char *yaml, const char *path,
			    char *got, size_t size)
{
	struct gw_diag_list diags = { 0 };
	struct gw_object *o = load_object(yaml);
	struct gw_vctx v = { .o = o, .diags = &diags };
	const struct gw_node *n = gw_node_path(o->root, path);

	assert_non_null(n);
	gw_object_ref(o, v.ref, sizeof(v.ref));
	gw_v_push_key(&v, path);
	gw_v_rule(&v, r, NULL, n);
	seam_msg(&diags, got, size);
	gw_diag_list_free(&diags);
	gw_object_put(o);
	return got;
}

#define SCALAR_SCHEMA(t, f)                                                                     \
	{ .type = (t), .flags = (f), .re = -1, .min_len = -1, .max_len = -1, .min_items = -1,  \
	  .max_items = -1, .max_props = -1 }

static void test_seam_datetime_and_number(void **state)
{
	static const struct gw_schema when = SCALAR_SCHEMA(GW_ST_STRING, GW_SF_FMT_DATETIME);
	static const struct gw_schema ratio = SCALAR_SCHEMA(GW_ST_NUMBER, 0);
	static const struct gw_schema_prop props[] = { { "ratio", &ratio }, { "when", &when } };
	static const struct gw_schema root = {
		.type = GW_ST_OBJECT, .re = -1, .n_props = 2, .props = props, .min_len = -1,
		.max_len = -1, .min_items = -1, .max_items = -1, .max_props = -1,
	};
	const char *hdr = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
	char y[512], got[512];

	snprintf(y, sizeof(y), "%swhen: 2026-11-27T05:00:00Z\nratio: 0.5\n", hdr);
	assert_string_equal(walk_msg(&root, y, got, sizeof(got)), "");
	snprintf(y, sizeof(y), "%swhen: \"2026-11-27T05:00:00+01:00\"\nratio: 2\n", hdr);
	assert_string_equal(walk_msg(&root, y, got, sizeof(got)), "");
	snprintf(y, sizeof(y), "%swhen: yesterday\n", hdr);
	assert_string_equal(walk_msg(&root, y, got, sizeof(got)),
			    "t.yaml:4: when: \"yesterday\" must be an RFC 3339 date-time");
	snprintf(y, sizeof(y), "%swhen: 2026-11-27\n", hdr);
	assert_string_equal(walk_msg(&root, y, got, sizeof(got)),
			    "t.yaml:4: when: \"2026-11-27\" must be an RFC 3339 date-time");
	snprintf(y, sizeof(y), "%sratio: \"0.5\"\n", hdr);
	assert_string_equal(walk_msg(&root, y, got, sizeof(got)),
			    "t.yaml:4: ratio: must be of type number, got string");
}

static void test_seam_patterns(void **state)
{
	void *cache = NULL;

	/* every pattern of the generated tables compiles with the flags used */
	for (unsigned int i = 0; i < gw_schema_n_patterns; i++) {
		pcre2_code *re = compile(gw_schema_patterns[i]);

		if (!re)
			fail_msg("CRD pattern %u does not compile: %s", i, gw_schema_patterns[i]);
		pcre2_code_free(re);
	}
	/* one that does not (unbalanced parenthesis) is logged and matches
	 * everything: a pattern we cannot read must not refuse valid objects */
	assert_true(gw_v_match_pat(&cache, "^(a", "zzz"));
	assert_null(cache);
	assert_true(gw_v_match_pat(&cache, "^a+$", "aaa"));
	assert_false(gw_v_match_pat(&cache, "^a+$", "zzz")); /* cached */
	pcre2_code_free(cache);
	/* slots outside the table (a rule without a pattern) match everything */
	assert_true(gw_v_match(-1, "x", 1));
	assert_true(gw_v_match((int)gw_schema_n_patterns, "x", 1));
}

static void test_seam_parse_duration(void **state)
{
	static const struct {
		const char *s;
		int err;
		int64_t ms;
	} cases[] = {
		{ "1h2m3s500ms", 0, 3723500 }, { "500ms1h", 0, 3600500 }, { "0s", 0, 0 },
		{ "", -EINVAL, 0 },	       { "h", -EINVAL, 0 },	     { "10", -EINVAL, 0 },
		{ "5d", -EINVAL, 0 },	       { "1m x", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = -1;
		int err = gw_parse_duration(cases[i].s, &ms);

		if (err != cases[i].err || (!err && ms != cases[i].ms))
			fail_msg("\"%s\": got %d/%lld", cases[i].s, err, (long long)ms);
	}
	assert_int_equal(gw_parse_duration(NULL, &(int64_t){ 0 }), -EINVAL);
}

static void test_seam_rules_behind_the_schema(void **state)
{
	/* HTTPPathMatch's CEL type rule: the enum refuses first in v1.6.1 */
	static const struct gw_rule path_type = { .id = GW_RULE_PATH_VALUE, .re = -1, .a = "type",
						  .msg = "type must be one of ['Exact', "
							 "'PathPrefix', 'RegularExpression']" };
	/* "type == Hostname => value matches" with absent value refused (the
	 * only CRD use of this family sets "absent-ok") */
	static const struct gw_rule host_value = { .id = GW_RULE_MATCH_IF_VALUE, .re = -1,
						   .a = "type", .b = "Hostname", .c = "value",
						   .msg = "Hostname value required" };
	/* ListenerSet listeners without a port (required since v1.5) are not compared */
	static const struct gw_rule port_proto_host = {
		.id = GW_RULE_LISTENER_PORT_PROTO_HOST, .re = -1,
		.msg = "Combination of port, protocol and hostname must be unique for each listener"
	};
	/* list rules skip items the walker refuses (null, not a string) */
	static const struct gw_rule not_ip = { .id = GW_RULE_HOSTNAMES_NOT_IP, .re = -1,
					       .msg = "Hostnames cannot contain an IP" };
	static const struct gw_rule addrs = { .id = GW_RULE_ENDPOINT_ADDRS, .re = -1,
					      .msg = "must be a valid address of the slice's "
						     "addressType" };
	const char *cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
	char y[512], got[512];

	snprintf(y, sizeof(y), "%sm:\n  type: Glob\n  value: /a\n", cm);
	assert_string_equal(rule_msg(&path_type, y, "m", got, sizeof(got)),
			    "t.yaml:5: m.type: type must be one of ['Exact', 'PathPrefix', "
			    "'RegularExpression']");
	snprintf(y, sizeof(y), "%sm: {type: Exact, value: /a}\n", cm);
	assert_string_equal(rule_msg(&path_type, y, "m", got, sizeof(got)), "");

	snprintf(y, sizeof(y), "%ssan:\n  type: Hostname\n", cm);
	assert_string_equal(rule_msg(&host_value, y, "san", got, sizeof(got)),
			    "t.yaml:4: san: Hostname value required");

	snprintf(y, sizeof(y), "%sl:\n- {name: a, protocol: HTTP}\n- {name: b, protocol: HTTP}\n",
		 cm);
	assert_string_equal(rule_msg(&port_proto_host, y, "l", got, sizeof(got)), "");
	snprintf(y, sizeof(y),
		 "%sl:\n- {name: a, protocol: HTTP, port: 80}\n- {name: b, protocol: HTTP, port: "
		 "80}\n",
		 cm);
	assert_string_equal(rule_msg(&port_proto_host, y, "l", got, sizeof(got)),
			    "t.yaml:6: l[1]: Combination of port, protocol and hostname must be "
			    "unique for each listener");

	snprintf(y, sizeof(y), "%sh: [~, {a: b}, a.example, \"10.0.0.1\"]\n", cm);
	assert_string_equal(rule_msg(&not_ip, y, "h", got, sizeof(got)),
			    "t.yaml:4: h[3]: Hostnames cannot contain an IP");
	snprintf(y, sizeof(y), "%ss:\n  addressType: IPv4\n  endpoints:\n"
			       "  - addresses: [~, [1], 10.0.0.1, \"fd00::1\"]\n", cm);
	assert_string_equal(rule_msg(&addrs, y, "s", got, sizeof(got)),
			    "t.yaml:7: s.endpoints[0].addresses[3]: must be a valid address of "
			    "the slice's addressType");
}

/* ---- upstream manifests ---- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* replace() : every occurrence of from in s by to (new string) */
static char *replace(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *out, *p, *q;

	for (p = s; (p = strstr(p, from)); p += fl)
		n++;
	out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
	for (p = s, q = out; *p;) {
		if (!strncmp(p, from, fl)) {
			memcpy(q, to, tl);
			q += tl;
			p += fl;
		} else {
			*q++ = *p++;
		}
	}
	*q = '\0';
	free(s);
	return out;
}

/* the conformance suite substitutes these before applying a manifest */
static size_t validate_upstream_file(const char *path, size_t *n_objects)
{
	struct gw_diag_list diags = { 0 };
	struct gw_doc_list dl = { 0 };
	size_t len, errors;
	char *buf = read_all(path, &len);

	assert_non_null(buf);
	buf = replace(buf, "{GATEWAY_CLASS_NAME}", "gwbpf");
	buf = replace(buf, "{GATEWAY_CONTROLLER_NAME}", "gwbpf.dev/gateway-controller");
	buf = replace(buf, "PLACEHOLDER_USABLE_ADDRS", "192.0.2.10");
	buf = replace(buf, "PLACEHOLDER_UNUSABLE_ADDRS", "198.51.100.10");
	assert_int_equal(gw_yaml_load_buf(path, buf, strlen(buf), &dl, &diags), 0);
	for (size_t i = 0; i < dl.n; i++) {
		struct gw_object **objs = NULL;
		size_t n = 0;

		gw_objects_from_doc(dl.v[i].root, path, &objs, &n, &diags);
		dl.v[i].root = NULL;
		for (size_t j = 0; j < n; j++) {
			if (gw_validate_object(objs[j], &diags) != -ENOENT)
				(*n_objects)++;
			gw_object_put(objs[j]);
		}
		free(objs);
	}
	errors = diags.n_errors;
	if (errors)
		gw_diag_print(&diags, stderr);
	gw_doc_list_free(&dl);
	gw_diag_list_free(&diags);
	free(buf);
	return errors;
}

static void test_upstream_conformance_manifests_valid(void **state)
{
	const char *dirs[] = { GW_UPSTREAM_DIR "/conformance/tests", GW_UPSTREAM_DIR "/conformance/base" };
	size_t files = 0, objects = 0, errors = 0;

	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;

		if (!dir)
			skip();
		while ((de = readdir(dir))) {
			char path[1024];
			size_t l = strlen(de->d_name);

			if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], de->d_name);
			errors += validate_upstream_file(path, &objects);
			files++;
		}
		closedir(dir);
	}
	assert_int_equal(errors, 0);
	/* 130+ files with several hundred Gateway API and core objects */
	assert_true(files > 100);
	assert_true(objects > 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_valid),
		cmocka_unit_test(test_more_schema_error_paths),
		cmocka_unit_test(test_path_must_start_with_slash),
		cmocka_unit_test(test_error_names_object),
		cmocka_unit_test(test_path_default_type_is_prefix),
		cmocka_unit_test(test_path_double_slash),
		cmocka_unit_test(test_path_dot_segment_end),
		cmocka_unit_test(test_path_bad_chars),
		cmocka_unit_test(test_path_regex_not_checked_as_path),
		cmocka_unit_test(test_replace_prefix_needs_prefix_match),
		cmocka_unit_test(test_replace_prefix_ok_with_default_match),
		cmocka_unit_test(test_filter_config_required),
		cmocka_unit_test(test_filter_config_mismatch),
		cmocka_unit_test(test_filter_repeated),
		cmocka_unit_test(test_redirect_and_rewrite),
		cmocka_unit_test(test_redirect_with_backends),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_timeout_format),
		cmocka_unit_test(test_backend_port_required),
		cmocka_unit_test(test_duplicate_header_match),
		cmocka_unit_test(test_duplicate_header_modifier),
		cmocka_unit_test(test_parent_refs_unique),
		cmocka_unit_test(test_rule_names_unique),
		cmocka_unit_test(test_match_total),
		cmocka_unit_test(test_types_and_ranges),
		cmocka_unit_test(test_pattern_dollar_is_end_only),
		cmocka_unit_test(test_max_length_counts_characters),
		cmocka_unit_test(test_mirror_percent_fraction),
		cmocka_unit_test(test_cors_star),
		cmocka_unit_test(test_session_persistence),
		cmocka_unit_test(test_v1beta1_route),
		cmocka_unit_test(test_external_auth_protocol),
		cmocka_unit_test(test_redirect_full_path_field),
		cmocka_unit_test(test_replace_prefix_in_backend_filters),
		cmocka_unit_test(test_gateway_hostname_address),
		cmocka_unit_test(test_gateway_label_prefix_length),
		cmocka_unit_test(test_gateway_tls_per_port_unique),
		cmocka_unit_test(test_backendtlspolicy_section_same_target),
		cmocka_unit_test(test_gateway_valid),
		cmocka_unit_test(test_listener_names_unique),
		cmocka_unit_test(test_listener_port_proto_host_unique),
		cmocka_unit_test(test_listener_tls_forbidden),
		cmocka_unit_test(test_listener_hostname_tcp),
		cmocka_unit_test(test_listener_https_mode),
		cmocka_unit_test(test_listener_tls_mode_set),
		cmocka_unit_test(test_listener_terminate_needs_certs),
		cmocka_unit_test(test_gateway_addresses),
		cmocka_unit_test(test_gateway_infrastructure_labels),
		cmocka_unit_test(test_listenerset),
		cmocka_unit_test(test_gatewayclass_controller_pattern),
		cmocka_unit_test(test_grpcroute),
		cmocka_unit_test(test_tlsroute_hostnames),
		cmocka_unit_test(test_tcp_udp_routes),
		cmocka_unit_test(test_backendtlspolicy),
		cmocka_unit_test(test_backendtlspolicy_targets),
		cmocka_unit_test(test_referencegrant),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_endpointslice),
		cmocka_unit_test(test_secret_configmap),
		cmocka_unit_test(test_ingress),
		cmocka_unit_test(test_metadata_names),
		cmocka_unit_test(test_unknown_kind_and_version),
		cmocka_unit_test(test_type_error_names_what_was_written),
		cmocka_unit_test(test_integer_out_of_range),
		cmocka_unit_test(test_integer_enum),
		cmocka_unit_test(test_list_set_duplicate),
		cmocka_unit_test(test_timeouts_in_milliseconds),
		cmocka_unit_test(test_metadata_name_lengths),
		cmocka_unit_test(test_core_value_formats),
		cmocka_unit_test(test_replace_prefix_with_headers_only_match),
		cmocka_unit_test(test_api_object_error_has_no_location),
		cmocka_unit_test(test_seam_datetime_and_number),
		cmocka_unit_test(test_seam_patterns),
		cmocka_unit_test(test_seam_parse_duration),
		cmocka_unit_test(test_seam_rules_behind_the_schema),
		cmocka_unit_test(test_upstream_conformance_manifests_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
