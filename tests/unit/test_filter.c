/* tests/unit/test_filter.c - HTTPRoute filters: redirects (every conformance
 * example), rewrites, header modifiers, CORS, mirrors, buffer limits. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/filter.h"

#include "req_helpers.h"

/* ---- redirects ---- */

struct redir_case {
	const char *path;    /* request path */
	uint16_t lport;      /* listener port */
	const char *lscheme; /* listener scheme */
	struct gw_ir_redirect r;
	const char *match_prefix;
	int status;
	const char *location;
};

static void check_redirect(const struct redir_case *c)
{
	struct gw_ir_filter f = { .type = GW_FILTER_REDIRECT, .redirect = c->r };
	struct gw_ir_action a = { .filters = &f, .n_filters = 1 };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX,
				 .path = (char *)(c->match_prefix ? c->match_prefix : "/") };
	struct gw_filter_ctx ctx = { 0 };
	struct gw_filter_result fr;
	struct treq t;
	char out[512], want[512];
	int n;

	mkreq(&t, "GET", "gw.example.com:1234", c->path, NULL);
	ctx.req = &t.req;
	ctx.match = &m;
	ctx.action = &a;
	ctx.scheme = c->lscheme;
	ctx.listener_port = c->lport;
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(fr.verdict, GW_FILTER_RESPOND);
	assert_int_equal(fr.status, c->status);
	snprintf(want, sizeof(want), "Location: %s\r\n", c->location);
	if (!strstr(out, want))
		fail_msg("%s: want %s got:\n%s", c->path, c->location, out);
	assert_non_null(strstr(out, "\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(strncmp(out, "HTTP/1.1 ", 9), 0);
	assert_int_equal(atoi(out + 9), c->status);
}

static void test_redirect_conformance(void **st)
{
	/* expected values from kubernetes-sigs/gateway-api conformance/tests/
	 * httproute-redirect-*.go; the request Host is "gw.example.com:1234"
	 * and the listener port 80 unless noted */
	const struct redir_case cases[] = {
		/* -host-and-status */
		{ "/hostname-redirect", 80, "http", { .hostname = "example.org" }, NULL, 302,
		  "http://example.org/hostname-redirect" },
		{ "/host-and-status", 80, "http", { .hostname = "example.org", .status = 301 },
		  NULL, 301, "http://example.org/host-and-status" },
		/* -path */
		{ "/original-prefix/lemon", 80, "http",
		  { .path_type = GW_PATH_MOD_PREFIX, .path = "/replacement-prefix" },
		  "/original-prefix", 302, "http://gw.example.com/replacement-prefix/lemon" },
		{ "/full/path/original", 80, "http",
		  { .path_type = GW_PATH_MOD_FULL, .path = "/full-path-replacement" }, "/full", 302,
		  "http://gw.example.com/full-path-replacement" },
		{ "/path-and-host", 80, "http",
		  { .hostname = "example.org", .path_type = GW_PATH_MOD_PREFIX,
		    .path = "/replacement-prefix" },
		  "/path-and-host", 302, "http://example.org/replacement-prefix" },
		{ "/path-and-status", 80, "http",
		  { .path_type = GW_PATH_MOD_PREFIX, .path = "/replacement-prefix", .status = 301 },
		  "/path-and-status", 301, "http://gw.example.com/replacement-prefix" },
		{ "/full-path-and-host", 80, "http",
		  { .hostname = "example.org", .path_type = GW_PATH_MOD_FULL,
		    .path = "/replacement-full" },
		  "/full-path-and-host", 302, "http://example.org/replacement-full" },
		{ "/full-path-and-status", 80, "http",
		  { .path_type = GW_PATH_MOD_FULL, .path = "/replacement-full", .status = 301 },
		  "/full-path-and-status", 301, "http://gw.example.com/replacement-full" },
		/* -port */
		{ "/port", 80, "http", { .port = 8083 }, NULL, 302,
		  "http://gw.example.com:8083/port" },
		{ "/port-and-host", 80, "http", { .port = 8083, .hostname = "example.org" }, NULL,
		  302, "http://example.org:8083/port-and-host" },
		{ "/port-and-status", 80, "http", { .port = 8083, .status = 301 }, NULL, 301,
		  "http://gw.example.com:8083/port-and-status" },
		/* -scheme */
		{ "/scheme", 80, "http", { .scheme = "https" }, NULL, 302,
		  "https://gw.example.com/scheme" },
		{ "/scheme-and-host", 80, "http", { .scheme = "https", .hostname = "example.org" },
		  NULL, 302, "https://example.org/scheme-and-host" },
		{ "/scheme-and-status", 80, "http", { .scheme = "https", .status = 301 }, NULL, 301,
		  "https://gw.example.com/scheme-and-status" },
		/* -port-and-scheme, listener on 80 */
		{ "/p", 80, "http", { .hostname = "example.org" }, NULL, 302,
		  "http://example.org/p" },
		{ "/p", 80, "http", { .hostname = "example.org", .port = 80 }, NULL, 302,
		  "http://example.org/p" },
		{ "/p", 80, "http", { .hostname = "example.org", .port = 8080 }, NULL, 302,
		  "http://example.org:8080/p" },
		{ "/p", 80, "http", { .hostname = "example.org", .scheme = "https" }, NULL, 302,
		  "https://example.org/p" },
		{ "/p", 80, "http", { .hostname = "example.org", .scheme = "https", .port = 443 },
		  NULL, 302, "https://example.org/p" },
		{ "/p", 80, "http", { .hostname = "example.org", .scheme = "https", .port = 8443 },
		  NULL, 302, "https://example.org:8443/p" },
		/* listener on 8080 */
		{ "/p", 8080, "http", { .hostname = "example.org" }, NULL, 302,
		  "http://example.org:8080/p" },
		{ "/p", 8080, "http", { .hostname = "example.org", .port = 80 }, NULL, 302,
		  "http://example.org/p" },
		{ "/p", 8080, "http", { .hostname = "example.org", .scheme = "https" }, NULL, 302,
		  "https://example.org/p" },
		/* HTTPS listener on 443 */
		{ "/p", 443, "https", { .hostname = "example.org" }, NULL, 302,
		  "https://example.org/p" },
		{ "/p", 443, "https", { .hostname = "example.org", .port = 443 }, NULL, 302,
		  "https://example.org/p" },
		{ "/p", 443, "https", { .hostname = "example.org", .port = 8443 }, NULL, 302,
		  "https://example.org:8443/p" },
		{ "/p", 443, "https", { .hostname = "example.org", .scheme = "http" }, NULL, 302,
		  "http://example.org/p" },
		{ "/p", 443, "https", { .hostname = "example.org", .scheme = "http", .port = 80 },
		  NULL, 302, "http://example.org/p" },
		{ "/p", 443, "https", { .hostname = "example.org", .scheme = "http", .port = 8080 },
		  NULL, 302, "http://example.org:8080/p" },
		/* the query is kept; 303/307/308 are passed through */
		{ "/q?a=1&b=2", 80, "http", { .status = 307 }, NULL, 307,
		  "http://gw.example.com/q?a=1&b=2" },
		{ "/q", 80, "http", { .status = 308 }, NULL, 308, "http://gw.example.com/q" },
		{ "/q", 80, "http", { .status = 303 }, NULL, 303, "http://gw.example.com/q" },
		/* ReplacePrefixMatch "/" never leaves an empty path */
		{ "/strip", 80, "http", { .path_type = GW_PATH_MOD_PREFIX, .path = "/" }, "/strip",
		  302, "http://gw.example.com/" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_redirect(&cases[i]);
}

/* ---- ReplacePrefixMatch table (HTTPPathModifier docs) ---- */

static void test_replace_prefix(void **st)
{
	static const struct {
		const char *path, *prefix, *repl, *want;
	} cases[] = {
		{ "/foo/bar", "/foo", "/xyz", "/xyz/bar" },
		{ "/foo/bar", "/foo", "/xyz/", "/xyz/bar" },
		{ "/foo/bar", "/foo/", "/xyz", "/xyz/bar" },
		{ "/foo/bar", "/foo/", "/xyz/", "/xyz/bar" },
		{ "/foo", "/foo", "/xyz", "/xyz" },
		{ "/foo/", "/foo", "/xyz", "/xyz/" },
		{ "/foo/bar", "/foo", "", "/bar" },
		{ "/foo/", "/foo", "", "/" },
		{ "/foo", "/foo", "", "/" },
		{ "/foo/", "/foo", "/", "/" },
		{ "/foo", "/foo", "/", "/" },
		/* conformance httproute-rewrite-path */
		{ "/prefix/one/two", "/prefix/one", "/one", "/one/two" },
		{ "/strip-prefix/three", "/strip-prefix", "/", "/three" },
		{ "/strip-prefix", "/strip-prefix", "/", "/" },
		{ "/prefix/rewrite-path-and-modify-headers/one", "/prefix/rewrite-path-and-modify-headers",
		  "/prefix", "/prefix/one" },
		/* the root prefix */
		{ "/a/b", "/", "/x", "/x/a/b" },
		{ "/", "/", "/x", "/x/" },
		/* not covered by the prefix: unchanged */
		{ "/foobar", "/foo", "/xyz", "/foobar" },
	};
	char out[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = gw_filter_replace_prefix(sl(cases[i].path), cases[i].prefix, cases[i].repl,
						 out, sizeof(out) - 1);

		assert_true(n > 0);
		out[n] = '\0';
		if (strcmp(out, cases[i].want))
			fail_msg("%s with %s -> %s: got %s, want %s", cases[i].path,
				 cases[i].prefix, cases[i].repl, out, cases[i].want);
	}
	assert_int_equal(gw_filter_replace_prefix(sl("/foo/bar"), "/foo", "/xyz", out, 4),
			 -ENOSPC);
}

/* ---- rewrite + request header modifier (conformance httproute-rewrite-path) ---- */

static struct gw_ir_header_op set_ops[] = { { "X-Header-Set", "set-overwrites-values" } };
static struct gw_ir_header_op add_ops[] = { { "X-Header-Add", "header-val-1" },
					    { "X-Header-Add-Append", "header-val-2" } };
static char *remove_ops[] = { "X-Header-Remove" };

static void test_rewrite_and_modify(void **st)
{
	struct gw_ir_filter f[2] = {
		{ .type = GW_FILTER_REWRITE,
		  .rewrite = { .path_type = GW_PATH_MOD_PREFIX, .path = "/prefix" } },
		{ .type = GW_FILTER_REQUEST_HEADER,
		  .hdr = { .set = set_ops, .n_set = 1, .add = add_ops, .n_add = 2,
			   .remove = remove_ops, .n_remove = 1 } },
	};
	struct gw_ir_action a = { .filters = f, .n_filters = 2 };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX,
				 .path = "/prefix/rewrite-path-and-modify-headers" };
	struct gw_filter_ctx ctx = { 0 };
	struct gw_filter_result fr;
	struct treq t;
	char out[1024];
	int n;

	mkreq(&t, "GET", "example.com", "/prefix/rewrite-path-and-modify-headers/one?x=1",
	      "x-header-remove", "remove-val", "X-Header-Add-Append", "append-val-1",
	      "x-header-set", "set-val", "X-HEADER-SET", "set-val-2", "Accept", "*/*", NULL);
	ctx.req = &t.req;
	ctx.match = &m;
	ctx.action = &a;
	ctx.scheme = "http";
	ctx.listener_port = 80;
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(fr.verdict, GW_FILTER_FORWARD);
	assert_string_equal(out, "GET /prefix/one?x=1 HTTP/1.1\r\n"
				 "Host: example.com\r\n"
				 "X-Header-Add-Append: append-val-1\r\n"
				 "Accept: */*\r\n"
				 "X-Header-Set: set-overwrites-values\r\n"
				 "X-Header-Add: header-val-1\r\n"
				 "X-Header-Add-Append: header-val-2\r\n"
				 "\r\n");
}

static void test_rewrite_full_and_host(void **st)
{
	struct gw_ir_filter f = { .type = GW_FILTER_REWRITE,
				  .rewrite = { .hostname = "one.example.org",
					       .path_type = GW_PATH_MOD_FULL,
					       .path = "/one" } };
	struct gw_ir_action a = { .filters = &f, .n_filters = 1 };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX, .path = "/full/one" };
	struct gw_filter_ctx ctx = { .match = &m, .action = &a, .scheme = "https",
				     .listener_port = 443, .client_addr = "10.1.2.3",
				     .extra = "Via: 1.1 gwbpf\r\n", .extra_len = 16 };
	struct gw_filter_result fr;
	struct treq t;
	char out[1024];
	int n;

	mkreq(&t, "POST", "rewrite.example", "/full/one/two", "Connection", "keep-alive, X-Hop",
	      "X-Hop", "secret", "Keep-Alive", "timeout=5", "TE", "trailers",
	      "X-Forwarded-For", "192.0.2.1", "X-Forwarded-Proto", "http", "Content-Length", "3",
	      "Upgrade", "h2c", NULL);
	ctx.req = &t.req;
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "POST /one HTTP/1.1\r\n"
				 "Host: one.example.org\r\n"
				 "Content-Length: 3\r\n"
				 "X-Forwarded-For: 192.0.2.1, 10.1.2.3\r\n"
				 "X-Forwarded-Proto: https\r\n"
				 "X-Forwarded-Host: rewrite.example\r\n"
				 "Via: 1.1 gwbpf\r\n"
				 "\r\n");
}

static void test_protected_headers(void **st)
{
	static struct gw_ir_header_op bad_set[] = { { "Host", "evil" },
						    { "Content-Length", "0" },
						    { "transfer-encoding", "chunked" } };
	static char *bad_rm[] = { "content-length", "HOST" };
	struct gw_ir_filter f = { .type = GW_FILTER_REQUEST_HEADER,
				  .hdr = { .set = bad_set, .n_set = 3, .remove = bad_rm,
					   .n_remove = 2 } };
	struct gw_ir_action a = { .filters = &f, .n_filters = 1 };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX, .path = "/" };
	struct gw_filter_ctx ctx = { .match = &m, .action = &a, .scheme = "http" };
	struct gw_filter_result fr;
	struct treq t;
	char out[512];
	int n;

	mkreq(&t, "PUT", "h.example", "/x", "Content-Length", "5", NULL);
	ctx.req = &t.req;
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	assert_true(n > 0);
	out[n] = '\0';
	/* framing and Host survive a modifier that names them */
	assert_string_equal(out, "PUT /x HTTP/1.1\r\nHost: h.example\r\nContent-Length: 5\r\n\r\n");
}

/* backendRef filters apply after the rule's */
static void test_backend_filters(void **st)
{
	static struct gw_ir_header_op rule_add[] = { { "X-Rule", "r" } };
	static struct gw_ir_header_op be_set[] = { { "X-Rule", "b" } };
	struct gw_ir_filter rf = { .type = GW_FILTER_REQUEST_HEADER,
				   .hdr = { .add = rule_add, .n_add = 1 } };
	struct gw_ir_filter bf = { .type = GW_FILTER_REQUEST_HEADER,
				   .hdr = { .set = be_set, .n_set = 1 } };
	struct gw_ir_backend be = { .cluster = 0, .weight = 1, .filters = &bf, .n_filters = 1 };
	struct gw_ir_action a = { .filters = &rf, .n_filters = 1, .backends = &be,
				  .n_backends = 1 };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX, .path = "/" };
	struct gw_filter_ctx ctx = { .match = &m, .action = &a, .backend = &be };
	struct gw_filter_result fr;
	struct treq t;
	char out[512];
	int n;

	mkreq(&t, "GET", "h", "/", "x-rule", "client", NULL);
	ctx.req = &t.req;
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	assert_true(n > 0);
	out[n] = '\0';
	/* the client's value is replaced by the backend's set; the rule's add
	 * still appends */
	assert_string_equal(out, "GET / HTTP/1.1\r\nHost: h\r\nX-Rule: r\r\nX-Rule: b\r\n\r\n");
}

/* ---- responses ---- */

static void test_response_modifier(void **st)
{
	static struct gw_ir_header_op set[] = { { "X-Header-Set", "set-overwrites-values" } };
	static struct gw_ir_header_op add[] = { { "X-Header-Add", "add-appends-values" } };
	static char *rm[] = { "x-header-remove" };
	struct gw_ir_filter f = { .type = GW_FILTER_RESPONSE_HEADER,
				  .hdr = { .set = set, .n_set = 1, .add = add, .n_add = 1,
					   .remove = rm, .n_remove = 1 } };
	struct gw_ir_action a = { .filters = &f, .n_filters = 1 };
	struct gw_filter_result fr = { .action = &a };
	struct gw_http_header h[] = {
		{ sl("Content-Type"), sl("text/plain") }, { sl("X-Header-Set"), sl("orig") },
		{ sl("X-Header-Add"), sl("orig") },       { sl("X-Header-Remove"), sl("gone") },
		{ sl("Connection"), sl("keep-alive") },   { sl("Transfer-Encoding"), sl("chunked") },
	};
	struct gw_http_resp resp = { .status = 200, .reason = sl("OK"), .version_minor = 1,
				     .headers = h, .n_headers = ARRAY_SIZE(h) };
	char out[512];
	int n;

	n = gw_filter_response(&fr, &resp, "Connection: close\r\n", 19, out, sizeof(out) - 1);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "HTTP/1.1 200 OK\r\n"
				 "Content-Type: text/plain\r\n"
				 "X-Header-Add: orig\r\n"
				 "Transfer-Encoding: chunked\r\n"
				 "X-Header-Set: set-overwrites-values\r\n"
				 "X-Header-Add: add-appends-values\r\n"
				 "Connection: close\r\n"
				 "\r\n");
	assert_int_equal(gw_filter_response(&fr, &resp, NULL, 0, out, 40), -ENOSPC);
	assert_int_equal(gw_filter_response(NULL, &resp, NULL, 0, out, 40), -EINVAL);
}

/* ---- CORS (conformance httproute-cors) ---- */

static char *cors1_origins[] = { "https://www.foo.com", "https://*.bar.com" };
static char *cors1_methods[] = { "GET", "OPTIONS" };
static char *cors1_headers[] = { "x-header-1", "x-header-2" };
static char *cors1_expose[] = { "x-header-3", "x-header-4" };
static char *star[] = { "*" };
static char *put_only[] = { "PUT" };
static char *foo_only[] = { "https://www.foo.com" };

static struct gw_ir_cors cors1 = { .allow_origins = cors1_origins, .n_allow_origins = 2,
				   .allow_credentials = true, .allow_methods = cors1_methods,
				   .n_allow_methods = 2, .allow_headers = cors1_headers,
				   .n_allow_headers = 2, .expose_headers = cors1_expose,
				   .n_expose_headers = 2, .max_age = 3600 };
static struct gw_ir_cors cors2 = { .allow_origins = foo_only, .n_allow_origins = 1,
				   .allow_methods = star, .n_allow_methods = 1, .max_age = -1 };
static struct gw_ir_cors cors_wild_origin = { .allow_origins = star, .n_allow_origins = 1,
					      .allow_methods = put_only, .n_allow_methods = 1,
					      .max_age = -1 };
static struct gw_ir_cors cors_wild_auth = { .allow_origins = star, .n_allow_origins = 1,
					    .allow_methods = star, .n_allow_methods = 1,
					    .allow_headers = star, .n_allow_headers = 1,
					    .allow_credentials = true, .max_age = -1 };

static int run_cors(const struct gw_ir_cors *c, const char *method, char *out, size_t cap,
		    struct gw_filter_result *fr, ...)
{
	struct gw_ir_filter f = { .type = GW_FILTER_CORS, .cors = *c };
	static struct gw_ir_action a;
	static struct gw_ir_filter fs;
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX, .path = "/" };
	struct gw_filter_ctx ctx = { .match = &m, .action = &a, .scheme = "http" };
	struct treq t;
	va_list ap;
	const char *n;
	int len;

	fs = f;
	a.filters = &fs;
	a.n_filters = 1;
	mkreq(&t, method, "h", "/cors", NULL);
	va_start(ap, fr);
	while ((n = va_arg(ap, const char *)) != NULL) {
		t.hdrs[t.req.n_headers].name = sl(n);
		t.hdrs[t.req.n_headers].value = sl(va_arg(ap, const char *));
		t.req.n_headers++;
	}
	va_end(ap);
	ctx.req = &t.req;
	len = gw_filter_request(&ctx, out, cap - 1, fr);
	if (len >= 0)
		out[len] = '\0';
	return len;
}

static void has(const char *out, const char *line)
{
	if (!strstr(out, line))
		fail_msg("missing \"%s\" in:\n%s", line, out);
}

static void lacks(const char *out, const char *needle)
{
	if (strcasestr(out, needle))
		fail_msg("unexpected \"%s\" in:\n%s", needle, out);
}

static void test_cors_preflight(void **st)
{
	struct gw_filter_result fr;
	char out[1024];

	/* exact origin */
	assert_true(run_cors(&cors1, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://www.foo.com", "access-control-request-method", "GET",
			     "access-control-request-headers", "x-header-1, x-header-2", NULL) > 0);
	assert_int_equal(fr.verdict, GW_FILTER_RESPOND);
	assert_int_equal(fr.status, 200);
	assert_int_equal(strncmp(out, "HTTP/1.1 200 OK\r\n", 17), 0);
	has(out, "\r\nAccess-Control-Allow-Origin: https://www.foo.com\r\n");
	has(out, "\r\nAccess-Control-Allow-Methods: GET, OPTIONS\r\n");
	has(out, "\r\nAccess-Control-Allow-Headers: x-header-1, x-header-2\r\n");
	has(out, "\r\nAccess-Control-Expose-Headers: x-header-3, x-header-4\r\n");
	has(out, "\r\nAccess-Control-Max-Age: 3600\r\n");
	has(out, "\r\nAccess-Control-Allow-Credentials: true\r\n");
	has(out, "\r\nContent-Length: 0\r\n\r\n");
	/* wildcard origins: one label and several */
	assert_true(run_cors(&cors1, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://www.bar.com", "access-control-request-method", "GET",
			     NULL) > 0);
	has(out, "\r\nAccess-Control-Allow-Origin: https://www.bar.com\r\n");
	assert_true(run_cors(&cors1, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://xpto.www.bar.com", "access-control-request-method", "GET",
			     NULL) > 0);
	has(out, "\r\nAccess-Control-Allow-Origin: https://xpto.www.bar.com\r\n");
	/* non-matching origin: still answered by the gateway (the spec:
	 * 200/204 without CORS headers; conformance expects no echo body),
	 * never forwarded to a backend that might grant it */
	assert_true(run_cors(&cors1, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://foobar.com", "access-control-request-method", "GET",
			     NULL) > 0);
	assert_int_equal(fr.verdict, GW_FILTER_RESPOND);
	assert_int_equal(fr.status, 200);
	assert_false(fr.cors);
	lacks(out, "access-control-");
	has(out, "\r\nContent-Length: 0\r\n\r\n");
	/* a plain OPTIONS (no Access-Control-Request-Method) is no preflight */
	assert_true(run_cors(&cors1, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://foobar.com", NULL) > 0);
	assert_int_equal(fr.verdict, GW_FILTER_FORWARD);
	/* allowMethods "*", no credentials */
	assert_true(run_cors(&cors2, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://www.foo.com", "access-control-request-method", "POST",
			     NULL) > 0);
	has(out, "\r\nAccess-Control-Allow-Methods: POST\r\n");
	has(out, "\r\nAccess-Control-Allow-Origin: https://www.foo.com\r\n");
	has(out, "\r\nAccess-Control-Max-Age: 5\r\n"); /* the spec's default */
	lacks(out, "access-control-allow-credentials");
	/* allowOrigins "*", with a port */
	assert_true(run_cors(&cors_wild_origin, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://foobar.com:12345", "access-control-request-method", "PUT",
			     NULL) > 0);
	has(out, "\r\nAccess-Control-Allow-Origin: https://foobar.com:12345\r\n");
	has(out, "\r\nAccess-Control-Allow-Methods: PUT\r\n");
	lacks(out, "access-control-allow-credentials");
	/* everything "*" with credentials: echo origin, method and headers */
	assert_true(run_cors(&cors_wild_auth, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://other.foo.com", "access-control-request-method", "PUT",
			     "access-control-request-headers", "x-header-1, x-header-2",
			     NULL) > 0);
	has(out, "\r\nAccess-Control-Allow-Origin: https://other.foo.com\r\n");
	has(out, "\r\nAccess-Control-Allow-Methods: PUT\r\n");
	has(out, "\r\nAccess-Control-Allow-Headers: x-header-1, x-header-2\r\n");
	has(out, "\r\nAccess-Control-Allow-Credentials: true\r\n");
	/* OPTIONS without Access-Control-Request-Method is an ordinary request */
	assert_true(run_cors(&cors1, "OPTIONS", out, sizeof(out), &fr, "Origin",
			     "https://www.foo.com", NULL) > 0);
	assert_int_equal(fr.verdict, GW_FILTER_FORWARD);
	assert_true(fr.cors);
}

static void test_cors_simple(void **st)
{
	struct gw_filter_result fr;
	struct gw_http_header h[] = { { sl("Access-Control-Allow-Origin"), sl("*") },
				      { sl("Content-Length"), sl("2") } };
	struct gw_http_resp resp = { .status = 200, .headers = h, .n_headers = 2 };
	char out[1024], rout[1024];
	int n;

	assert_true(run_cors(&cors1, "GET", out, sizeof(out), &fr, "Origin", "https://www.bar.com",
			     NULL) > 0);
	assert_int_equal(fr.verdict, GW_FILTER_FORWARD);
	assert_true(fr.cors);
	has(out, "\r\nOrigin: https://www.bar.com\r\n"); /* forwarded as is */
	n = gw_filter_response(&fr, &resp, NULL, 0, rout, sizeof(rout) - 1);
	assert_true(n > 0);
	rout[n] = '\0';
	assert_string_equal(rout, "HTTP/1.1 200 OK\r\n"
				  "Content-Length: 2\r\n"
				  "Access-Control-Allow-Origin: https://www.bar.com\r\n"
				  "Access-Control-Allow-Credentials: true\r\n"
				  "Access-Control-Expose-Headers: x-header-3, x-header-4\r\n"
				  "Vary: Origin\r\n"
				  "\r\n");
	/* non-matching origin: the response is left alone */
	assert_true(run_cors(&cors1, "GET", out, sizeof(out), &fr, "Origin", "https://foobar.com",
			     NULL) > 0);
	assert_false(fr.cors);
	n = gw_filter_response(&fr, &resp, NULL, 0, rout, sizeof(rout) - 1);
	rout[n] = '\0';
	assert_string_equal(rout, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n"
				  "Content-Length: 2\r\n\r\n");
	/* "*" without credentials still echoes the origin, no credentials header */
	assert_true(run_cors(&cors_wild_origin, "PUT", out, sizeof(out), &fr, "Origin",
			     "https://foobar.com:12345", NULL) > 0);
	n = gw_filter_response(&fr, &resp, NULL, 0, rout, sizeof(rout) - 1);
	rout[n] = '\0';
	has(rout, "\r\nAccess-Control-Allow-Origin: https://foobar.com:12345\r\n");
	lacks(rout, "credentials");
}

static void test_cors_origin_rules(void **st)
{
	assert_true(gw_filter_cors_origin_allowed(&cors1, sl("https://www.foo.com")));
	assert_true(gw_filter_cors_origin_allowed(&cors1, sl("HTTPS://WWW.FOO.COM")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("http://www.foo.com")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("https://www.foo.com:8443")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("https://bar.com")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("https://.bar.com")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("https://evilbar.com")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("https://a.bar.com:1")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("null")));
	assert_false(gw_filter_cors_origin_allowed(&cors1, sl("")));
	assert_true(gw_filter_cors_origin_allowed(&cors_wild_origin, sl("null")));
	assert_false(gw_filter_cors_origin_allowed(NULL, sl("https://www.foo.com")));
}

/* ---- mirrors, direct status, limits ---- */

static void test_mirror(void **st)
{
	struct gw_ir_mirror always = { .cluster = 3, .num = 1, .den = 1 };
	struct gw_ir_mirror never = { .cluster = 3, .num = 0, .den = 100 };
	struct gw_ir_mirror half = { .cluster = 4, .num = 50, .den = 100 };
	struct gw_ir_filter f[3] = { { .type = GW_FILTER_MIRROR, .mirror = always },
				     { .type = GW_FILTER_MIRROR, .mirror = half },
				     { .type = GW_FILTER_MIRROR,
				       .mirror = { .cluster = -1, .num = 1, .den = 1 } } };
	struct gw_ir_action a = { .filters = f, .n_filters = 3 };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX, .path = "/" };
	struct gw_filter_ctx ctx = { .match = &m, .action = &a };
	struct gw_filter_result fr;
	struct treq t;
	char out[256];
	unsigned int hits = 0;

	assert_true(gw_filter_mirror_hit(&always, 12345));
	assert_false(gw_filter_mirror_hit(&never, 0));
	assert_true(gw_filter_mirror_hit(&half, 49));
	assert_false(gw_filter_mirror_hit(&half, 50));
	mkreq(&t, "GET", "h", "/", NULL);
	ctx.req = &t.req;
	for (uint64_t i = 0; i < 2000; i++) {
		ctx.rnd = i * 0x2545f4914f6cdd1dULL;
		assert_true(gw_filter_request(&ctx, out, sizeof(out), &fr) > 0);
		assert_true(fr.n_mirrors >= 1 && fr.n_mirrors <= 2);
		assert_int_equal(fr.mirrors[0], 3); /* unresolved (-1) never listed */
		hits += fr.n_mirrors == 2;
	}
	/* 50% +- 5% over 2000 requests */
	assert_in_range(hits, 900, 1100);
}

static void test_direct_status_and_limits(void **st)
{
	struct gw_ir_action a = { .direct_status = 500 };
	struct gw_ir_action plain = { 0 };
	const char *want = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	struct gw_filter_ctx ctx = { .action = &a, .extra = "Connection: close\r\n",
				     .extra_len = 19 };
	struct gw_filter_result fr;
	struct treq t;
	char out[256];
	int n;

	mkreq(&t, "GET", "h", "/", NULL);
	ctx.req = &t.req;
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(fr.verdict, GW_FILTER_RESPOND);
	assert_string_equal(out, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n");
	ctx.action = &plain;
	ctx.extra = NULL;
	for (size_t cap = 0; cap < strlen(want); cap++)
		assert_int_equal(gw_filter_request(&ctx, out, cap, &fr), -ENOSPC);
	n = gw_filter_request(&ctx, out, sizeof(out) - 1, &fr);
	out[n] = '\0';
	assert_string_equal(out, want);
	assert_int_equal(gw_filter_request(&ctx, out, (size_t)n, &fr), n);
	assert_int_equal(gw_filter_request(&ctx, out, (size_t)n - 1, &fr), -ENOSPC);
	assert_int_equal(gw_filter_request(NULL, out, sizeof(out), &fr), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_conformance),
		cmocka_unit_test(test_replace_prefix),
		cmocka_unit_test(test_rewrite_and_modify),
		cmocka_unit_test(test_rewrite_full_and_host),
		cmocka_unit_test(test_protected_headers),
		cmocka_unit_test(test_backend_filters),
		cmocka_unit_test(test_response_modifier),
		cmocka_unit_test(test_cors_preflight),
		cmocka_unit_test(test_cors_simple),
		cmocka_unit_test(test_cors_origin_rules),
		cmocka_unit_test(test_mirror),
		cmocka_unit_test(test_direct_status_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
