/* tests/unit/test_h2.c - the HTTP/2 side of the proxy that needs no socket:
 * preface detection and the request view built from HTTP/2 header fields
 * (what the router and the filters see, and the HTTP/1.1 head sent
 * upstream). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/filter.h"
#include "gwbpf/h2.h"
#include "gwbpf/http1.h"

struct fields {
	struct gw_http_header f[128];
	size_t n;
};

static void add(struct fields *fs, const char *name, const char *value)
{
	fs->f[fs->n].name.p = name;
	fs->f[fs->n].name.len = strlen(name);
	fs->f[fs->n].value.p = value;
	fs->f[fs->n].value.len = strlen(value);
	fs->n++;
}

static bool eq(struct gw_slice s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.p, lit, s.len);
}

static void test_detect(void **state)
{
	const char *p = GW_H2_PREFACE;

	(void)state;
	assert_int_equal(gw_h2_detect(p, GW_H2_PREFACE_LEN), 1);
	assert_int_equal(gw_h2_detect("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12\x04", 28), 1);
	assert_int_equal(gw_h2_detect(p, 1), -EAGAIN);
	assert_int_equal(gw_h2_detect(p, 23), -EAGAIN);
	assert_int_equal(gw_h2_detect("GET / HTTP/1.1\r\n", 16), 0);
	/* an HTTP/1.1 method that starts like the preface is not mistaken */
	assert_int_equal(gw_h2_detect("PRIX", 4), 0);
	assert_int_equal(gw_h2_detect("PRI * HTTP/2.0\r\n\r\nXX", 20), 0);
}

static void test_view_basic(void **state)
{
	struct gw_http_header hdrs[8];
	struct gw_http_req req;
	struct fields fs = {.n = 0};

	(void)state;
	add(&fs, ":method", "GET");
	add(&fs, ":scheme", "https");
	add(&fs, ":authority", "Example.COM:8443");
	add(&fs, ":path", "/a/b?x=1&y=%20");
	add(&fs, "user-agent", "t");
	add(&fs, "x-pick", "two");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, ARRAY_SIZE(hdrs)), 0);
	assert_true(eq(req.method, "GET"));
	assert_true(eq(req.target, "/a/b?x=1&y=%20"));
	assert_true(eq(req.path, "/a/b"));
	assert_true(eq(req.query, "x=1&y=%20"));
	assert_true(eq(req.host, "Example.COM:8443"));
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.fr.content_length, -1);
	assert_false(req.fr.chunked);
	/* pseudo-headers are not headers */
	assert_int_equal(req.n_headers, 2);
	assert_true(eq(req.headers[0].name, "user-agent"));
	assert_true(eq(req.headers[1].name, "x-pick"));
	assert_true(eq(req.headers[1].value, "two"));
	assert_non_null(gw_http_find_header(req.headers, req.n_headers, "X-Pick"));
}

static void test_view_host_and_query(void **state)
{
	struct gw_http_header hdrs[8];
	struct gw_http_req req;
	struct fields fs = {.n = 0};

	(void)state;
	/* no :authority: the host field is the host; no '?': no query */
	add(&fs, ":method", "POST");
	add(&fs, ":scheme", "http");
	add(&fs, ":path", "/upload");
	add(&fs, "host", "h.example");
	add(&fs, "content-length", "12345");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, ARRAY_SIZE(hdrs)), 0);
	assert_true(eq(req.host, "h.example"));
	assert_true(eq(req.path, "/upload"));
	assert_int_equal(req.query.len, 0);
	assert_int_equal(req.fr.content_length, 12345);

	/* :authority wins over host (RFC 9113 8.3.1) */
	fs.n = 0;
	add(&fs, ":method", "GET");
	add(&fs, ":path", "/?");
	add(&fs, ":authority", "a.example");
	add(&fs, "host", "b.example");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, ARRAY_SIZE(hdrs)), 0);
	assert_true(eq(req.host, "a.example"));
	assert_true(eq(req.path, "/"));
	assert_int_equal(req.query.len, 0);
	assert_non_null(req.query.p);
}

static void test_view_refused(void **state)
{
	struct gw_http_header hdrs[4];
	struct gw_http_req req;
	struct fields fs = {.n = 0};

	(void)state;
	/* no :path */
	add(&fs, ":method", "GET");
	add(&fs, ":authority", "a");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	/* no :method */
	fs.n = 0;
	add(&fs, ":path", "/");
	add(&fs, ":authority", "a");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	/* no authority at all */
	fs.n = 0;
	add(&fs, ":method", "GET");
	add(&fs, ":path", "/");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	/* asterisk-form and absolute paths cannot be routed */
	fs.n = 0;
	add(&fs, ":method", "OPTIONS");
	add(&fs, ":path", "*");
	add(&fs, ":authority", "a");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	/* CONNECT is not proxied */
	fs.n = 0;
	add(&fs, ":method", "CONNECT");
	add(&fs, ":authority", "a:443");
	add(&fs, ":path", "/");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	/* content-length: not digits, or two that differ */
	fs.n = 0;
	add(&fs, ":method", "POST");
	add(&fs, ":path", "/");
	add(&fs, ":authority", "a");
	add(&fs, "content-length", "1x");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	fs.n = 3;
	add(&fs, "content-length", "5");
	add(&fs, "content-length", "6");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -EBADMSG);
	fs.n = 3;
	add(&fs, "content-length", "5");
	add(&fs, "content-length", "5");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), 0);
	assert_int_equal(req.fr.content_length, 5);
	/* more fields than the array holds */
	fs.n = 3;
	for (int i = 0; i < 5; i++)
		add(&fs, "x-a", "b");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, 4), -E2BIG);
}

/* the view goes through the same filter as HTTP/1.1: the upstream head is
 * an HTTP/1.1 request line with path and query, Host from :authority, the
 * regular fields, and nothing of the pseudo-headers */
static void test_view_upstream_head(void **state)
{
	struct gw_http_header hdrs[8], ph[16];
	struct gw_http_req req, back;
	struct gw_ir_action action;
	struct gw_filter_result fr;
	struct gw_filter_ctx ctx;
	struct gw_http_limits lim;
	struct fields fs = {.n = 0};
	char out[2048];
	int n;

	(void)state;
	add(&fs, ":method", "PUT");
	add(&fs, ":scheme", "http");
	add(&fs, ":authority", "svc.example:8080");
	add(&fs, ":path", "/v1/items?id=7");
	add(&fs, "content-type", "text/plain");
	add(&fs, "cookie", "a=1; b=2");
	assert_int_equal(gw_h2_request_view(fs.f, fs.n, &req, hdrs, ARRAY_SIZE(hdrs)), 0);
	memset(&action, 0, sizeof(action));
	memset(&ctx, 0, sizeof(ctx));
	ctx.req = &req;
	ctx.action = &action;
	ctx.scheme = "http";
	ctx.listener_port = 8080;
	n = gw_filter_request(&ctx, out, sizeof(out), &fr);
	assert_true(n > 0);
	assert_int_equal(fr.verdict, GW_FILTER_FORWARD);
	/* read it back with the strict HTTP/1.1 parser */
	gw_http_limits_default(&lim);
	memset(&back, 0, sizeof(back));
	back.headers = ph;
	assert_int_equal(gw_http1_parse_request(out, (size_t)n, &back, &lim), n);
	assert_true(eq(back.method, "PUT"));
	assert_true(eq(back.target, "/v1/items?id=7"));
	assert_true(eq(back.host, "svc.example:8080"));
	assert_int_equal(back.version_minor, 1);
	assert_non_null(gw_http_find_header(back.headers, back.n_headers, "content-type"));
	assert_non_null(gw_http_find_header(back.headers, back.n_headers, "cookie"));
	assert_null(memmem(out, (size_t)n, ":path", 5));
	assert_null(memmem(out, (size_t)n, ":authority", 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_view_basic),
	    cmocka_unit_test(test_view_host_and_query),
	    cmocka_unit_test(test_view_refused),
	    cmocka_unit_test(test_view_upstream_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
