/* test_bpf_http.c - the steering request-head parser (bpf/lib/http.h),
 * compiled for userspace exactly as the kernel runs it: what it accepts and
 * refuses, and a differential run against the proxy's parser
 * (gw_http1_parse_request) over generated and mutated heads: whenever the
 * kernel parser says "routable", the proxy must accept the same bytes as one
 * complete bodiless HTTP/1.1 head with the same method, path and host.
 */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "../../bpf/lib/http.h"

#include "gwbpf/http1.h"
#include "gwbpf/router.h"

static struct gw_http_scratch scratch;

static __u32 kparse(const char *in, size_t len, struct gw_http_head *h)
{
	memset(&scratch, 0, sizeof(scratch));
	memcpy(scratch.buf, in, len < GW_HTTP_HEAD_MAX ? len : GW_HTTP_HEAD_MAX);
	return gw_http_parse(h, &scratch, (__u32)len);
}

static void expect_ok(const char *in, const char *method, const char *path, const char *host)
{
	struct gw_http_head h;
	__u32 r = kparse(in, strlen(in), &h);

	if (r != GW_HTTP_R_OK)
		fail_msg("refused (%u): %s", r, in);
	assert_int_equal(h.method_len, strlen(method));
	assert_memory_equal(scratch.buf, method, h.method_len);
	assert_int_equal(h.path_len, strlen(path));
	assert_memory_equal(scratch.buf + h.path_off, path, h.path_len);
	assert_int_equal(h.host_len, strlen(host));
	assert_memory_equal(scratch.host, host, h.host_len);
}

static void expect_refuse(const char *in, __u32 why)
{
	struct gw_http_head h;
	__u32 r = kparse(in, strlen(in), &h);

	if (r != why)
		fail_msg("want %u got %u: %s", why, r, in);
}

static void test_accepts(void **state)
{
	expect_ok("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "GET", "/", "a.example");
	expect_ok("GET /foo/bar HTTP/1.1\r\nhost:Foo.Example.COM:8080\r\n\r\n", "GET", "/foo/bar",
		  "foo.example.com");
	expect_ok("HEAD /x/?a=1&b=/c?d HTTP/1.1\r\nUser-Agent: t/1\r\nHOST: x.y. \r\n"
		  "Accept: */*\r\nConnection: Keep-Alive\r\n\r\n",
		  "HEAD", "/x/", "x.y");
	expect_ok("DELETE /a.b/..c/.d/... HTTP/1.1\r\nHost:\t127.0.0.1\t\r\n\r\n", "DELETE",
		  "/a.b/..c/.d/...", "127.0.0.1");
}

static void test_refuses(void **state)
{
	/* exactly one complete head, nothing after it */
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\n", GW_HTTP_R_INCOMPLETE);
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n", GW_HTTP_R_TRAILING);
	/* method, target, version */
	expect_refuse("get / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_METHOD);
	expect_refuse("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_METHOD);
	expect_refuse("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_TARGET);
	expect_refuse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_TARGET);
	expect_refuse("GET /a%2fb HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_PCT);
	expect_refuse("GET /a?x=%41 HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_PCT);
	expect_refuse("GET //a HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_SEGMENT);
	expect_refuse("GET /a//b HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_SEGMENT);
	expect_refuse("GET /a/./b HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_SEGMENT);
	expect_refuse("GET /a/.. HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_SEGMENT);
	expect_refuse("GET /a/.?x HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_SEGMENT);
	expect_refuse("GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_R_TARGET);
	expect_refuse("GET / HTTP/1.0\r\nHost: a\r\n\r\n", GW_HTTP_R_VERSION);
	expect_refuse("GET / HTTP/1.1\nHost: a\r\n\r\n", GW_HTTP_R_VERSION);
	/* header syntax */
	expect_refuse("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", GW_HTTP_R_HEADER);
	expect_refuse("GET / HTTP/1.1\r\nX: a\nY: y\r\nHost: a\r\n\r\n", GW_HTTP_R_HEADER);
	expect_refuse("GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: a\r\n\r\n", GW_HTTP_R_HEADER);
	expect_refuse("GET / HTTP/1.1\r\nX : a\r\nHost: a\r\n\r\n", GW_HTTP_R_HEADER);
	expect_refuse("GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n\r\n", GW_HTTP_R_BARE_CR);
	expect_refuse("GET / HTTP/1.1\r\nX: \x80\r\nHost: a\r\n\r\n", GW_HTTP_R_HEADER);
	/* framing and connection headers */
	expect_refuse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		      GW_HTTP_R_FORBIDDEN);
	expect_refuse("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n\r\n",
		      GW_HTTP_R_FORBIDDEN);
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		      GW_HTTP_R_FORBIDDEN);
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
		      GW_HTTP_R_FORBIDDEN);
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		      GW_HTTP_R_CONNECTION);
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n\r\n",
		      GW_HTTP_R_CONNECTION);
	/* a name that only starts like a special one is an ordinary header */
	expect_ok("GET / HTTP/1.1\r\nHost: a\r\nHostx: 1\r\nTEx: 2\r\n\r\n", "GET", "/", "a");
	/* Host */
	expect_refuse("GET / HTTP/1.1\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: \r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: .a\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", GW_HTTP_R_HOST);
	expect_refuse("GET / HTTP/1.1\r\nHost: a_b\r\n\r\n", GW_HTTP_R_HOST);
}

static void test_limits(void **state)
{
	char big[2048], path[GW_HTTP_PATH_MAX + 2];
	int n;

	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[GW_HTTP_PATH_MAX] = 0; /* exactly the limit */
	n = snprintf(big, sizeof(big), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	expect_ok(big, "GET", path, "a");
	path[GW_HTTP_PATH_MAX] = 'p';
	path[GW_HTTP_PATH_MAX + 1] = 0;
	snprintf(big, sizeof(big), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	expect_refuse(big, GW_HTTP_R_PATH_LONG);
	/* a head over 1 KiB */
	n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(big + n, 'x', 1100);
	strcpy(big + n + 1100, "\r\n\r\n");
	expect_refuse(big, GW_HTTP_R_TOO_LONG);
	/* a 63-byte host is the longest */
	n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: ");
	memset(big + n, 'h', 63);
	strcpy(big + n + 63, "\r\n\r\n");
	assert_int_equal(kparse(big, strlen(big), &(struct gw_http_head){0}), GW_HTTP_R_OK);
	memset(big + n, 'h', 64);
	strcpy(big + n + 64, "\r\n\r\n");
	expect_refuse(big, GW_HTTP_R_HOST);
}

/* ---- differential: kernel parser vs proxy parser ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const frags[] = {
    "GET",
    "HEAD",
    "POST",
    "get",
    " ",
    "/",
    "/a",
    "/b/",
    "/.",
    "/..",
    "//",
    "%2e",
    "%41",
    "?",
    "?q=1",
    "#",
    "*",
    "http://a/",
    "HTTP/1.1",
    "HTTP/1.0",
    "\r\n",
    "\n",
    "\r",
    "Host:",
    "host: ",
    "HOST:\t",
    "a.example",
    "A.B",
    ":80",
    ":",
    ".",
    "[::1]",
    "X-A: 1",
    "Connection: keep-alive",
    "Connection: close",
    "Content-Length: 0",
    "Content-Length: 5",
    "Transfer-Encoding: chunked",
    "Expect: 100-continue",
    "Upgrade: h2c",
    " ",
    "\t",
    "\x01",
    "\x7f",
    "\xc3\xa9",
    "abc",
    "hello",
    "TE: trailers",
    "Te:x",
    "Host: b\r\n",
};

/* a plain valid head, so mutations start near the accept boundary */
static size_t gen_valid(char *out, size_t cap)
{
	static const char *const hosts[] = {"a.example", "B.Example.com.", "x:8080", "127.0.0.1"};
	static const char *const paths[] = {"/", "/a", "/a/b/", "/x.y?z=1", "/..a/~b"};

	return (size_t)snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
				paths[rnd(ARRAY_SIZE(paths))], hosts[rnd(ARRAY_SIZE(hosts))],
				rnd(2) ? "Accept: */*\r\n" : "");
}

static size_t gen_mutant(char *out, size_t cap)
{
	size_t len = gen_valid(out, cap);
	int n = 1 + (int)rnd(3);

	for (int k = 0; k < n; k++) {
		const char *f = frags[rnd(ARRAY_SIZE(frags))];
		size_t flen = strlen(f), at = rnd((uint32_t)len + 1);

		switch (rnd(3)) {
		case 0: /* insert a fragment */
			if (len + flen >= cap)
				break;
			memmove(out + at + flen, out + at, len - at);
			memcpy(out + at, f, flen);
			len += flen;
			break;
		case 1: /* delete a few bytes */
			if (at < len) {
				size_t d = 1 + rnd(4);

				if (d > len - at)
					d = len - at;
				memmove(out + at, out + at + d, len - at - d);
				len -= d;
			}
			break;
		default: /* flip one byte to a random value */
			if (at < len)
				out[at] = (char)rnd(256);
			break;
		}
	}
	return len;
}

/* the property: kernel "routable" implies the proxy routes the same request */
static bool agrees(const char *in, size_t len)
{
	struct gw_http_header hdrs[128];
	struct gw_http_req req = {.headers = hdrs};
	struct gw_http_limits lim;
	struct gw_http_head h;
	struct gw_slice host;
	int rc;

	if (kparse(in, len, &h) != GW_HTTP_R_OK)
		return true;
	gw_http_limits_default(&lim);
	lim.max_headers = ARRAY_SIZE(hdrs);
	rc = gw_http1_parse_request(in, len, &req, &lim);
	if (rc != (int)len || req.version_minor != 1 || req.fr.content_length > 0 ||
	    req.fr.chunked || req.fr.upgrade || req.fr.conn_close || req.fr.expect_continue ||
	    req.fr.expect_unknown || req.authority.len)
		return false;
	if (req.method.len != h.method_len || memcmp(req.method.p, in, h.method_len))
		return false;
	if (req.path.len != h.path_len || memcmp(req.path.p, in + h.path_off, h.path_len))
		return false;
	/* the proxy routes the normalised path: it must be the same bytes */
	{
		char p[GW_HTTP_PATH_MAX];

		memcpy(p, req.path.p, req.path.len);
		if (gw_router_path_normalize(p, req.path.len, GW_PATH_NORM_DEFAULT) !=
			(int)req.path.len ||
		    memcmp(p, req.path.p, req.path.len))
			return false;
	}
	host = gw_router_host(req.host);
	if (host.len != h.host_len)
		return false;
	for (size_t i = 0; i < host.len; i++)
		if (gw_http_lower((__u8)host.p[i]) != scratch.host[i])
			return false;
	return true;
}

static void test_differential(void **state)
{
	static char buf[1400];
	unsigned int ok = 0, total = 0;

	for (int i = 0; i < 40000; i++) {
		size_t len =
		    i % 4 == 0 ? gen_valid(buf, sizeof(buf)) : gen_mutant(buf, sizeof(buf));
		struct gw_http_head h;

		total++;
		if (!agrees(buf, len))
			fail_msg("kernel parser accepts what the proxy routes differently: %.*s",
				 (int)len, buf);
		if (kparse(buf, len, &h) == GW_HTTP_R_OK)
			ok++;
	}
	/* not vacuous: the generated valid heads are accepted, mutants mostly not */
	assert_true(ok >= total / 4);
	assert_true(ok < total / 2 + total / 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
