/* tests/unit/test_router.c - routing decisions: hosts, paths, methods,
 * headers, query parameters, precedence, weighted backend choice. */
#include "gwbpf/api.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/ir.h"
#include "gwbpf/router.h"

/* ---- request construction ---- */

#include "req_helpers.h"

static bool match1(const struct gw_ir_match *m, const char *method, const char *target, ...)
{
	struct treq t;
	va_list ap;
	const char *n;

	mkreq(&t, method, "h", target, NULL);
	va_start(ap, target);
	while ((n = va_arg(ap, const char *)) != NULL) {
		t.hdrs[t.req.n_headers].name = sl(n);
		t.hdrs[t.req.n_headers].value = sl(va_arg(ap, const char *));
		t.req.n_headers++;
	}
	va_end(ap);
	return gw_router_match_one(m, &t.req);
}

/* ---- hosts ---- */

static void test_host_normalise(void **st)
{
	struct gw_slice h;

	h = gw_router_host(sl("Foo.Example.com.:8080"));
	assert_int_equal(h.len, strlen("Foo.Example.com"));
	assert_memory_equal(h.p, "Foo.Example.com", h.len);
	h = gw_router_host(sl("example.com"));
	assert_int_equal(h.len, 11);
	h = gw_router_host(sl("example.com."));
	assert_int_equal(h.len, 11);
	h = gw_router_host(sl("[::1]:80"));
	assert_int_equal(h.len, 5);
	assert_memory_equal(h.p, "[::1]", 5);
	h = gw_router_host(sl("10.0.0.1:443"));
	assert_int_equal(h.len, 8);
	h = gw_router_host(sl(""));
	assert_int_equal(h.len, 0);
	h = gw_router_host(sl(NULL));
	assert_int_equal(h.len, 0);
}

static void test_hostname_match(void **st)
{
	assert_true(gw_router_hostname_match(NULL, sl("anything")));
	assert_true(gw_router_hostname_match(NULL, sl("")));
	assert_true(gw_router_hostname_match("foo.example.com", sl("FOO.example.COM")));
	assert_false(gw_router_hostname_match("foo.example.com", sl("foo.example.co")));
	assert_false(gw_router_hostname_match("foo.example.com", sl("xfoo.example.com")));
	assert_true(gw_router_hostname_match("*.example.com", sl("foo.example.com")));
	assert_true(gw_router_hostname_match("*.example.com", sl("a.b.Example.com")));
	assert_false(gw_router_hostname_match("*.example.com", sl("example.com")));
	assert_false(gw_router_hostname_match("*.example.com", sl(".example.com")));
	assert_false(gw_router_hostname_match("*.example.com", sl("fooexample.com")));
	assert_false(gw_router_hostname_match("*.example.com", sl("foo.example.net")));
	assert_false(gw_router_hostname_match("*.example.com", sl("")));
}

/* ---- paths ---- */

static void test_prefix_elements(void **st)
{
	assert_true(gw_router_path_prefix_match("/foo", sl("/foo")));
	assert_true(gw_router_path_prefix_match("/foo", sl("/foo/")));
	assert_true(gw_router_path_prefix_match("/foo", sl("/foo/bar")));
	assert_false(gw_router_path_prefix_match("/foo", sl("/foobar")));
	assert_false(gw_router_path_prefix_match("/foo", sl("/fo")));
	assert_false(gw_router_path_prefix_match("/foo", sl("/")));
	/* a trailing slash on the prefix is not significant (the spec's
	 * "PathPrefix is semantically equivalent to Ingress Prefix") */
	assert_true(gw_router_path_prefix_match("/foo/", sl("/foo/bar")));
	assert_true(gw_router_path_prefix_match("/foo/", sl("/foo/")));
	assert_true(gw_router_path_prefix_match("/foo/", sl("/foo")));
	assert_false(gw_router_path_prefix_match("/foo/", sl("/foobar")));
	assert_true(gw_router_path_prefix_match("/", sl("/")));
	assert_true(gw_router_path_prefix_match("/", sl("/anything/at/all")));
	/* case matters in paths */
	assert_false(gw_router_path_prefix_match("/foo", sl("/FOO")));
	assert_int_equal(gw_router_prefix_len("/foo/"), 4);
	assert_int_equal(gw_router_prefix_len("/"), 0);
	assert_int_equal(gw_router_prefix_len("/a//"), 2);
}

static void norm_ok(const char *in, const char *want, unsigned int flags)
{
	char buf[256];
	int n;

	snprintf(buf, sizeof(buf), "%s", in);
	n = gw_router_path_normalize(buf, strlen(buf), flags);
	if (n < 0)
		fail_msg("normalize(%s) = %d", in, n);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void norm_bad(const char *in)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	assert_int_equal(gw_router_path_normalize(buf, strlen(buf), GW_PATH_NORM_DEFAULT),
			 -EBADMSG);
}

static void test_path_normalize(void **st)
{
	unsigned int d = GW_PATH_NORM_DEFAULT;

	norm_ok("/a/b", "/a/b", d);
	norm_ok("/", "/", d);
	norm_ok("/%61%62c", "/abc", d);
	norm_ok("/a%2fb", "/a%2Fb", d); /* reserved stays encoded, hex uppercased */
	norm_ok("/a%20b", "/a%20b", d);
	norm_ok("/a/./b", "/a/b", d);
	norm_ok("/a/../b", "/b", d);
	norm_ok("/a/b/..", "/a/", d);
	norm_ok("/a/b/.", "/a/b/", d);
	norm_ok("/../../x", "/x", d);
	norm_ok("/..", "/", d);
	norm_ok("/public/%2e%2e/admin", "/admin", d); /* encoded dots are dots */
	norm_ok("//a///b//", "/a/b/", d);
	norm_ok("/a/..b/c.", "/a/..b/c.", d);
	norm_ok("//a//b", "//a//b", GW_PATH_NORM_UNRESERVED);
	norm_ok("/a/../b", "/a/../b", GW_PATH_NORM_UNRESERVED);
	norm_ok("/%7e", "/%7e", 0);
	norm_bad("/a%zz");
	norm_bad("/a%4");
	norm_bad("/a%");
	norm_bad("/a%00b");
	norm_bad("a/b");
	norm_bad("");
}

static void test_path_types(void **st)
{
	struct gw_ir_match exact = { .path_type = GW_MATCH_EXACT, .path = "/foo" };
	struct gw_ir_match prefix = { .path_type = GW_MATCH_PREFIX, .path = "/foo" };

	assert_true(match1(&exact, "GET", "/foo", NULL));
	assert_true(match1(&exact, "GET", "/foo?x=1", NULL)); /* query is not the path */
	assert_false(match1(&exact, "GET", "/foo/", NULL));
	assert_false(match1(&exact, "GET", "/fo", NULL));
	assert_false(match1(&exact, "GET", "/foobar", NULL));
	assert_true(match1(&prefix, "GET", "/foo/bar?x", NULL));
	assert_false(match1(&prefix, "GET", "/foobar", NULL));
}

/* ---- a snapshot shared by the following tests ---- */

static struct gw_ir_str_match h_version_one[] = { { GW_MATCH_EXACT, "version", "one", NULL } };
static struct gw_ir_str_match h_version_two[] = { { GW_MATCH_EXACT, "version", "two", NULL } };
static struct gw_ir_str_match h_regex[] = { { GW_MATCH_REGEX, "x-id", "[0-9]+", NULL } };
static struct gw_ir_str_match h_multi[] = {
	{ GW_MATCH_EXACT, "x-a", "1", NULL },
	{ GW_MATCH_EXACT, "x-b", "2", NULL },
};
static struct gw_ir_str_match q_animal[] = { { GW_MATCH_EXACT, "animal", "whale", NULL } };
static struct gw_ir_str_match q_regex[] = { { GW_MATCH_REGEX, "color", "bl.e|re+d", NULL } };

static struct gw_ir_action acts[] = {
	{ .route = "ns/r", .rule_index = 0 }, { .route = "ns/r", .rule_index = 1 },
	{ .route = "ns/r", .rule_index = 2 }, { .route = "ns/r", .rule_index = 3 },
	{ .route = "ns/r", .rule_index = 4 }, { .route = "ns/r", .rule_index = 5 },
	{ .route = "ns/r", .rule_index = 6 }, { .route = "ns/r", .rule_index = 7 },
	{ .route = "ns/r", .rule_index = 8 }, { .route = "ns/r", .rule_index = 9 },
};

/* in the precedence order a translator would produce */
static struct gw_ir_match matches[] = {
	{ .path_type = GW_MATCH_EXACT, .path = "/match/exact/one", .action = 0 },
	{ .path_type = GW_MATCH_EXACT, .path = "/match/exact", .action = 1 },
	{ .path_type = GW_MATCH_EXACT, .path = "/match", .action = 2 },
	{ .path_type = GW_MATCH_PREFIX, .path = "/match/prefix/one", .action = 3 },
	{ .path_type = GW_MATCH_PREFIX, .path = "/match/prefix/", .action = 4 },
	{ .path_type = GW_MATCH_PREFIX, .path = "/match/", .action = 5 },
	{ .path_type = GW_MATCH_REGEX, .path = "/re/[a-z]+", .action = 6 },
	{ .path_type = GW_MATCH_PREFIX, .path = "/v2", .headers = h_version_two, .n_headers = 1,
	  .action = 7 },
	{ .path_type = GW_MATCH_PREFIX, .path = "/", .method = "POST", .action = 8 },
	{ .path_type = GW_MATCH_PREFIX, .path = "/", .headers = h_version_one, .n_headers = 1,
	  .action = 9 },
};

static struct gw_ir_match wc_matches[] = {
	{ .path_type = GW_MATCH_PREFIX, .path = "/", .action = 0 },
};
static struct gw_ir_action wc_acts[] = { { .route = "ns/wild" } };
static struct gw_ir_action any_acts[] = { { .route = "ns/any" } };
static struct gw_ir_action bar_acts[] = { { .route = "ns/bar" } };

static struct gw_ir_vhost foo_vhosts[] = {
	{ .hostname = "foo.example.com", .matches = matches, .n_matches = ARRAY_SIZE(matches),
	  .actions = acts, .n_actions = ARRAY_SIZE(acts) },
	{ .hostname = "*.example.com", .matches = wc_matches, .n_matches = 1, .actions = wc_acts,
	  .n_actions = 1 },
};
static struct gw_ir_vhost any_vhosts[] = {
	{ .hostname = "bar.example.net", .matches = wc_matches, .n_matches = 1,
	  .actions = bar_acts, .n_actions = 1 },
	{ .hostname = NULL, .matches = wc_matches, .n_matches = 1, .actions = any_acts,
	  .n_actions = 1 },
};
static struct gw_ir_vhost empty_vhosts[] = {
	{ .hostname = "only.example.org", .matches = wc_matches, .n_matches = 1,
	  .actions = any_acts, .n_actions = 1 },
};

static struct gw_ir_listener listeners[] = {
	{ .gateway = "ns/gw", .name = "exact", .hostname = "exact.example.org",
	  .vhosts = empty_vhosts, .n_vhosts = 1 },
	{ .gateway = "ns/gw", .name = "wild", .hostname = "*.example.com", .vhosts = foo_vhosts,
	  .n_vhosts = 2 },
	{ .gateway = "ns/gw", .name = "any", .hostname = NULL, .vhosts = any_vhosts,
	  .n_vhosts = 2 },
};

static struct gw_ir_bind bind = { .address = "0.0.0.0", .port = 80, .listeners = listeners,
				  .n_listeners = ARRAY_SIZE(listeners) };

static struct gw_ir ir_static = { .refcnt = 1, .binds = &bind, .n_binds = 1 };

static int setup_ir(void **st)
{
	static struct gw_ir_match m_hre = { .path_type = GW_MATCH_PREFIX, .path = "/",
					    .headers = h_regex, .n_headers = 1 };
	static struct gw_ir_match m_qre = { .path_type = GW_MATCH_PREFIX, .path = "/",
					    .queries = q_regex, .n_queries = 1 };
	static struct gw_ir_match m_q = { .path_type = GW_MATCH_PREFIX, .path = "/",
					  .queries = q_animal, .n_queries = 1 };
	static struct gw_ir_match m_hm = { .path_type = GW_MATCH_PREFIX, .path = "/",
					   .headers = h_multi, .n_headers = 2 };
	static struct gw_ir_vhost extra_vh[] = { { .matches = NULL } };
	static struct gw_ir_match all[4];
	static struct gw_ir_listener extra_li = { .vhosts = extra_vh, .n_vhosts = 1 };
	static struct gw_ir_bind extra_bind = { .listeners = &extra_li, .n_listeners = 1 };
	static struct gw_ir extra = { .refcnt = 1, .binds = &extra_bind, .n_binds = 1 };

	all[0] = m_hre;
	all[1] = m_qre;
	all[2] = m_q;
	all[3] = m_hm;
	extra_vh[0].matches = all;
	extra_vh[0].n_matches = 4;
	/* gw_ir_compile() fills ->re / ->path_re in place */
	if (gw_ir_compile(&ir_static, NULL) || gw_ir_compile(&extra, NULL))
		return -1;
	*st = all;
	return 0;
}

static int route(const char *host, const char *method, const char *target,
		 struct gw_route_result *res, ...)
{
	struct treq t;
	va_list ap;
	const char *n;

	mkreq(&t, method, host, target, NULL);
	va_start(ap, res);
	while ((n = va_arg(ap, const char *)) != NULL) {
		t.hdrs[t.req.n_headers].name = sl(n);
		t.hdrs[t.req.n_headers].value = sl(va_arg(ap, const char *));
		t.req.n_headers++;
	}
	va_end(ap);
	return gw_router_match(&bind, &t.req, res);
}

/* conformance httproute-path-match-order: the expected backends map to
 * rules 0..5 of the table above */
static void test_path_match_order(void **st)
{
	static const struct {
		const char *path;
		uint32_t rule;
	} cases[] = {
		{ "/match/exact/one", 0 },     { "/match/exact", 1 },
		{ "/match", 2 },               { "/match/prefix/one/any", 3 },
		{ "/match/prefix/any", 4 },    { "/match/any", 5 },
		{ "/match/prefix", 4 },        { "/match/exact/one/two", 5 },
	};
	struct gw_route_result res;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(route("foo.example.com", "GET", cases[i].path, &res, NULL), 0);
		assert_non_null(res.action);
		if (res.action->rule_index != cases[i].rule)
			fail_msg("%s -> rule %u, want %u", cases[i].path, res.action->rule_index,
				 cases[i].rule);
		assert_ptr_equal(res.action, &acts[res.match->action]);
	}
}

/* conformance httproute-matching: "/" + version:one, "/v2" + version:two */
static void test_headers_and_method(void **st)
{
	struct gw_route_result res;

	assert_int_equal(route("foo.example.com", "GET", "/", &res, "version", "one", NULL), 0);
	assert_int_equal(res.action->rule_index, 9);
	assert_int_equal(route("foo.example.com", "GET", "/v2", &res, "Version", "two", NULL), 0);
	assert_int_equal(res.action->rule_index, 7);
	/* /v2 without the header falls through to "/" + version:one */
	assert_int_equal(route("foo.example.com", "GET", "/v2", &res, "version", "one", NULL), 0);
	assert_int_equal(res.action->rule_index, 9);
	/* header values are case-sensitive */
	assert_int_equal(route("foo.example.com", "GET", "/", &res, "version", "ONE", NULL),
			 -ENOENT);
	assert_non_null(res.vhost);
	assert_null(res.match);
	assert_null(res.action);
	/* method match is exact */
	assert_int_equal(route("foo.example.com", "POST", "/x", &res, NULL), 0);
	assert_int_equal(res.action->rule_index, 8);
	assert_int_equal(route("foo.example.com", "post", "/x", &res, NULL), -ENOENT);
	/* regex path */
	assert_int_equal(route("foo.example.com", "GET", "/re/abc", &res, NULL), 0);
	assert_int_equal(res.action->rule_index, 6);
	assert_int_equal(route("foo.example.com", "GET", "/re/abc1", &res, NULL), -ENOENT);
}

static void test_listener_and_vhost_choice(void **st)
{
	struct gw_route_result res;

	/* exact vhost inside the wildcard listener, port and trailing dot ignored */
	assert_int_equal(route("FOO.example.com.:8080", "GET", "/match", &res, NULL), 0);
	assert_string_equal(res.listener->name, "wild");
	assert_string_equal(res.vhost->hostname, "foo.example.com");
	/* wildcard vhost */
	assert_int_equal(route("a.b.example.com", "GET", "/x", &res, NULL), 0);
	assert_string_equal(res.listener->name, "wild");
	assert_string_equal(res.action->route, "ns/wild");
	/* "example.com" is not covered by "*.example.com": catch-all listener */
	assert_int_equal(route("example.com", "GET", "/x", &res, NULL), 0);
	assert_string_equal(res.listener->name, "any");
	assert_string_equal(res.action->route, "ns/any");
	assert_int_equal(route("bar.example.net", "GET", "/x", &res, NULL), 0);
	assert_string_equal(res.action->route, "ns/bar");
	/* no Host at all: only hostname-less listeners and vhosts */
	assert_int_equal(route("", "GET", "/x", &res, NULL), 0);
	assert_string_equal(res.action->route, "ns/any");
	/* the exact listener is chosen, and its vhost does not cover the host:
	 * 404, no fall-through to the catch-all listener */
	assert_int_equal(route("exact.example.org", "GET", "/x", &res, NULL), -ENOENT);
	assert_string_equal(res.listener->name, "exact");
	assert_null(res.vhost);
	assert_int_equal(gw_router_match(NULL, NULL, &res), -ENOENT);
}

static void test_header_query_rules(void **st)
{
	struct gw_ir_match *all = *st;
	struct gw_ir_match *hre = &all[0], *qre = &all[1], *q = &all[2], *hm = &all[3];

	/* header regex, full match only */
	assert_true(match1(hre, "GET", "/", "X-Id", "123", NULL));
	assert_false(match1(hre, "GET", "/", "X-Id", "123a", NULL));
	assert_false(match1(hre, "GET", "/", "X-Other", "123", NULL));
	/* repeated headers are joined with "," before matching */
	assert_false(match1(hre, "GET", "/", "x-id", "1", "x-id", "2", NULL));
	/* every header condition must hold */
	assert_true(match1(hm, "GET", "/", "x-a", "1", "X-B", "2", NULL));
	assert_false(match1(hm, "GET", "/", "x-a", "1", NULL));
	assert_false(match1(hm, "GET", "/", "x-a", "1", "x-b", "3", NULL));
	assert_false(match1(hm, "GET", "/", "x-a", "1", "x-a", "1", "x-b", "2", NULL));

	/* query params: exact name, first value, %-decoded */
	assert_true(match1(q, "GET", "/?animal=whale", NULL));
	assert_true(match1(q, "GET", "/?a=1&animal=whale&b", NULL));
	assert_true(match1(q, "GET", "/?animal=wh%61le", NULL));
	assert_true(match1(q, "GET", "/?%61nimal=whale", NULL));
	assert_false(match1(q, "GET", "/?animal=dolphin&animal=whale", NULL));
	assert_false(match1(q, "GET", "/?Animal=whale", NULL));
	assert_false(match1(q, "GET", "/?animal=Whale", NULL));
	assert_false(match1(q, "GET", "/?animal=whales", NULL));
	assert_false(match1(q, "GET", "/?animal", NULL));
	assert_false(match1(q, "GET", "/", NULL));
	assert_false(match1(q, "GET", "/?xanimal=whale", NULL));
	assert_true(match1(qre, "GET", "/?color=blue", NULL));
	assert_true(match1(qre, "GET", "/?color=reeed", NULL));
	assert_true(match1(qre, "GET", "/?color=bl%75e", NULL));
	assert_false(match1(qre, "GET", "/?color=blues", NULL));
	assert_false(match1(qre, "GET", "/?color=", NULL));
}

static void test_header_exact_joined(void **st)
{
	static struct gw_ir_str_match hj[] = { { GW_MATCH_EXACT, "x-j", "a,b", NULL } };
	struct gw_ir_match m = { .path_type = GW_MATCH_PREFIX, .path = "/", .headers = hj,
				 .n_headers = 1 };

	assert_true(match1(&m, "GET", "/", "X-J", "a", "x-j", "b", NULL));
	assert_true(match1(&m, "GET", "/", "X-J", "a,b", NULL));
	assert_false(match1(&m, "GET", "/", "X-J", "a", NULL));
	assert_false(match1(&m, "GET", "/", "X-J", "a", "x-j", "b", "x-j", "c", NULL));
	assert_false(match1(&m, "GET", "/", "X-J", "b", "x-j", "a", NULL));
}

static void test_regex_reuse(void **st)
{
	struct gw_ir_match *all = *st;

	/* the first call creates the per-thread block; later calls reuse it and
	 * the result is identical to the allocating variant */
	for (int i = 0; i < 100; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d%s", i, (i & 1) ? "x" : "");
		assert_int_equal(gw_router_regex_match(all[0].headers[0].re, v, strlen(v)),
				 gw_ir_regex_match(all[0].headers[0].re, v, strlen(v)));
	}
	assert_false(gw_router_regex_match(NULL, "1", 1));
	gw_router_thread_cleanup();
	gw_router_thread_cleanup();
	assert_true(gw_router_regex_match(all[0].headers[0].re, "42", 2));
}

/* a route's regex is bounded: "(a|aa)*c|a*d" tries the first branch
 * (about fib(n) backtracking steps for n a's) before the second one matches.
 * With 26 a's PCRE2's own default budget (10 million) lets it match; ours
 * (GW_REGEX_MATCH_LIMIT) stops it, so the rule does not match instead of
 * burning the worker. Short subjects still match. */
static void test_regex_bounded(void **st)
{
	char subject[27];
	int errcode;
	PCRE2_SIZE erroff;

	(void)st;
	memset(subject, 'a', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = 'd';
	for (int jit = 0; jit < 2; jit++) {
		pcre2_code *re = pcre2_compile((PCRE2_SPTR) "(a|aa)*c|a*d", PCRE2_ZERO_TERMINATED,
					       PCRE2_ANCHORED | PCRE2_UTF, &errcode, &erroff, NULL);
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);

		assert_non_null(re);
		assert_non_null(md);
		if (jit)
			pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		assert_true(pcre2_match(re, (PCRE2_SPTR)subject, sizeof(subject), 0,
					PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL) >= 0);
		assert_false(gw_router_regex_match(re, subject, sizeof(subject)));
		assert_false(gw_ir_regex_match(re, subject, sizeof(subject)));
		assert_true(gw_router_regex_match(re, "aaaad", 5));
		assert_true(gw_ir_regex_match(re, "aaac", 4));
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
}

/* ---- backend choice ---- */

/* fixed PRNG (splitmix64) so the distribution test is deterministic */
static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void test_pick_weights(void **st)
{
	struct gw_ir_backend be[] = { { .cluster = 0, .weight = 1 },
				      { .cluster = 1, .weight = 0 },
				      { .cluster = 2, .weight = 3 } };
	struct gw_ir_action a = { .backends = be, .n_backends = 3, .total_weight = 4 };
	unsigned int count[3] = { 0 };
	uint64_t seed = 42;

	for (int i = 0; i < 10000; i++) {
		int k = gw_router_pick_backend(&a, splitmix(&seed));

		assert_in_range(k, 0, 2);
		count[k]++;
	}
	/* 1:3 -> 25% +- 2% and 75% +- 2%; weight 0 never */
	assert_in_range(count[0], 2300, 2700);
	assert_in_range(count[2], 7300, 7700);
	assert_int_equal(count[1], 0);
	/* deterministic edges of the cumulative walk */
	assert_int_equal(gw_router_pick_backend(&a, 0), 0);
	assert_int_equal(gw_router_pick_backend(&a, 1), 2);
	assert_int_equal(gw_router_pick_backend(&a, 3), 2);
	assert_int_equal(gw_router_pick_backend(&a, 4), 0);
	assert_int_equal(gw_router_pick_backend(&a, UINT64_MAX), 2); /* 2^64-1 mod 4 = 3 */
}

static void test_pick_zero(void **st)
{
	struct gw_ir_backend be[] = { { .cluster = 0, .weight = 0 }, { .cluster = 1, .weight = 0 } };
	struct gw_ir_action a = { .backends = be, .n_backends = 2 };
	struct gw_ir_action none = { 0 };
	struct gw_ir_backend one[] = { { .cluster = -1, .weight = 5 } };
	struct gw_ir_action single = { .backends = one, .n_backends = 1, .total_weight = 5 };

	assert_int_equal(gw_router_pick_backend(&a, 7), -1);
	assert_int_equal(gw_router_pick_backend(&none, 7), -1);
	assert_int_equal(gw_router_pick_backend(NULL, 7), -1);
	for (uint64_t r = 0; r < 20; r++)
		assert_int_equal(gw_router_pick_backend(&single, r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_normalise),
		cmocka_unit_test(test_hostname_match),
		cmocka_unit_test(test_prefix_elements),
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_types),
		cmocka_unit_test(test_path_match_order),
		cmocka_unit_test(test_headers_and_method),
		cmocka_unit_test(test_listener_and_vhost_choice),
		cmocka_unit_test(test_header_query_rules),
		cmocka_unit_test(test_header_exact_joined),
		cmocka_unit_test(test_regex_reuse),
		cmocka_unit_test(test_regex_bounded),
		cmocka_unit_test(test_pick_weights),
		cmocka_unit_test(test_pick_zero),
	};

	return cmocka_run_group_tests(tests, setup_ir, NULL);
}
