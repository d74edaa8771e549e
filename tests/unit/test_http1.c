/* test_http1.c - HTTP/1.1 head parsers and the chunked walker.
 *
 * Every accept path and every reject path of userspace/proxy/http1.c, the
 * request-smuggling vectors of docs/http1.md, split feeding (each prefix of a
 * valid head is "incomplete", never an error), pipelining and limits.
 */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/http1.h"

#define NHDR 128

static struct gw_http_header hdrs[NHDR];

static int req_n(const char *s, size_t n, struct gw_http_req *req, const struct gw_http_limits *l)
{
	memset(req, 0, sizeof(*req));
	req->headers = hdrs;
	return gw_http1_parse_request(s, n, req, l);
}

static int req(const char *s, struct gw_http_req *r)
{
	return req_n(s, strlen(s), r, NULL);
}

static int resp_n(const char *s, size_t n, struct gw_http_resp *r, const struct gw_http_limits *l)
{
	memset(r, 0, sizeof(*r));
	r->headers = hdrs;
	return gw_http1_parse_response(s, n, r, l);
}

static int resp(const char *s, struct gw_http_resp *r)
{
	return resp_n(s, strlen(s), r, NULL);
}

#define assert_slice(sl, lit)                                                                      \
	do {                                                                                       \
		if (!gw_slice_eq((sl), (lit)))                                                     \
			fail_msg("slice '%.*s' != '%s'", (int)(sl).len, (sl).p ? (sl).p : "",      \
				 (lit));                                                           \
	} while (0)

/* ---- requests: accepted ---------------------------------------------------- */

static void test_req_simple(void **state)
{
	const char *s = "GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\n"
			"User-Agent:  curl/8 \t\r\nAccept: */*\r\n\r\n";
	struct gw_http_req r;

	assert_int_equal(req(s, &r), (int)strlen(s));
	assert_int_equal(r.err, 0);
	assert_slice(r.method, "GET");
	assert_slice(r.target, "/a/b?x=1&y");
	assert_slice(r.path, "/a/b");
	assert_slice(r.query, "x=1&y");
	assert_int_equal(r.authority.len, 0);
	assert_slice(r.host, "example.com");
	assert_int_equal(r.version_minor, 1);
	assert_int_equal(r.n_headers, 3);
	assert_slice(r.headers[1].name, "User-Agent");
	assert_slice(r.headers[1].value, "curl/8"); /* OWS trimmed both sides */
	assert_int_equal(r.fr.content_length, -1);
	assert_false(r.fr.chunked);
	assert_false(r.fr.conn_close);
	assert_false(r.fr.upgrade);
	assert_false(r.fr.expect_continue);
	/* slices point into the input: zero copy */
	assert_ptr_equal(r.method.p, s);
	assert_ptr_equal(r.host.p, strstr(s, "example.com"));
}

static void test_req_forms(void **state)
{
	struct gw_http_req r;

	/* absolute-form: the authority wins over Host (RFC 9112 §3.2.2) */
	assert_true(req("GET http://a.example:8080/p/q?z HTTP/1.1\r\nHost: b.example\r\n\r\n",
			&r) > 0);
	assert_slice(r.authority, "a.example:8080");
	assert_slice(r.host, "a.example:8080");
	assert_slice(r.path, "/p/q");
	assert_slice(r.query, "z");

	assert_true(req("GET HTTPS://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", &r) > 0);
	assert_slice(r.authority, "a.example");
	assert_slice(r.path, "/");
	assert_int_equal(r.query.len, 0);

	assert_true(req("GET http://a.example?k=v HTTP/1.1\r\nHost: x\r\n\r\n", &r) > 0);
	assert_slice(r.path, "/");
	assert_slice(r.query, "k=v");

	/* asterisk-form, OPTIONS only */
	assert_true(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r) > 0);
	assert_slice(r.path, "*");

	/* authority-form, CONNECT only */
	assert_true(req("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n", &r) >
		    0);
	assert_slice(r.authority, "db.example:5432");
	assert_slice(r.host, "db.example:5432");
	assert_int_equal(r.path.len, 0);
	assert_true(req("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", &r) > 0);

	/* empty query after '?' */
	assert_true(req("GET /x? HTTP/1.1\r\nHost: a\r\n\r\n", &r) > 0);
	assert_slice(r.path, "/x");
	assert_int_equal(r.query.len, 0);
	assert_ptr_equal(r.query.p, strchr(r.target.p, '?') + 1);

	/* extension methods are tokens too */
	assert_true(req("M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n", &r) > 0);
	assert_slice(r.method, "M-SEARCH");
}

static void test_req_versions_and_connection(void **state)
{
	struct gw_http_req r;

	/* HTTP/1.0: no Host needed, closes unless keep-alive */
	assert_true(req("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	assert_int_equal(r.version_minor, 0);
	assert_true(r.fr.conn_close);
	assert_int_equal(r.host.len, 0);
	assert_true(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: h\r\n\r\n", &r) > 0);
	assert_false(r.fr.conn_close);
	assert_slice(r.host, "h");

	assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", &r) > 0);
	assert_true(r.fr.conn_close);
	/* empty list members are ignored (RFC 9110 §5.6.1) */
	assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,close,\r\n\r\n", &r) > 0);
	assert_true(r.fr.conn_close);

	/* Upgrade counts only when Connection lists it, and only in 1.1 */
	assert_true(req("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
			"Upgrade: websocket\r\n\r\n",
			&r) > 0);
	assert_true(r.fr.upgrade);
	assert_slice(r.fr.upgrade_proto, "websocket");
	assert_false(r.fr.conn_close);
	assert_true(req("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", &r) > 0);
	assert_false(r.fr.upgrade);
	assert_true(req("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
			&r) > 0);
	assert_false(r.fr.upgrade);

	/* Expect */
	assert_true(req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
			"Content-Length: 3\r\n\r\n",
			&r) > 0);
	assert_true(r.fr.expect_continue);
	assert_false(r.fr.expect_unknown);
	assert_true(req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: fancy\r\n\r\n", &r) > 0);
	assert_false(r.fr.expect_continue);
	assert_true(r.fr.expect_unknown);
	assert_true(req("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r) > 0);
	assert_false(r.fr.expect_continue); /* RFC 9110 §10.1.1: ignored in 1.0 */
}

static void test_req_framing_accepted(void **state)
{
	struct gw_http_req r;

	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", &r) > 0);
	assert_int_equal(r.fr.content_length, 42);
	assert_false(r.fr.chunked);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r) > 0);
	assert_int_equal(r.fr.content_length, 0);
	/* identical duplicates, as a list or as lines */
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5\r\n\r\n", &r) > 0);
	assert_int_equal(r.fr.content_length, 5);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\nContent-Length: 005\r\n"
			"\r\n",
			&r) > 0);
	assert_int_equal(r.fr.content_length, 5);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
			&r) > 0);
	assert_int_equal(r.fr.content_length, INT64_MAX);

	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0);
	assert_true(r.fr.chunked);
	assert_int_equal(r.fr.content_length, -1);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n",
			&r) > 0);
	assert_true(r.fr.chunked);
	assert_true(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
			"Transfer-Encoding:\tchunked\r\n\r\n",
			&r) > 0);
	assert_true(r.fr.chunked);
}

static void test_req_misc_accepted(void **state)
{
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct gw_http_req r;

	/* empty lines before the request line are skipped and consumed */
	assert_int_equal(req(s, &r), (int)strlen(s));
	assert_slice(r.method, "GET");
	/* empty Host is valid syntax (RFC 9112 §3.2) */
	assert_true(req("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r) > 0);
	assert_int_equal(r.host.len, 0);
	/* obs-text and inner whitespace survive in values; empty values too */
	assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nX-U: caf\xc3\xa9 au  lait\r\nX-E:\r\n\r\n",
			&r) > 0);
	assert_slice(r.headers[1].value, "caf\xc3\xa9 au  lait");
	assert_int_equal(r.headers[2].value.len, 0);
	/* IPv6 literal host */
	assert_true(req("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", &r) > 0);
	/* bytes after the head are not consumed */
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", &r),
			 (int)strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
}

/* ---- requests: rejected ---------------------------------------------------- */

struct bad {
	const char *in;
	size_t len; /* 0 = strlen */
	int rc;
	int err;
};

#define B(s, e)     { s, 0, -EBADMSG, e }
#define BN(s, e)    { s, sizeof(s) - 1, -EBADMSG, e }
#define H(h)        "GET / HTTP/1.1\r\nHost: a\r\n" h "\r\n"
#define P(h)        "POST / HTTP/1.1\r\nHost: a\r\n" h "\r\n"

static const struct bad bad_requests[] = {
	/* start line */
	B(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_METHOD),
	B("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_METHOD),
	B("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_METHOD),
	B("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX),
	B("GET /\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX), /* HTTP/0.9 */
	B("GET / http/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX),
	B("GET / HTTP/1.10\r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX),
	B("GET / HTTP/11\r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX),
	B("GET / HTTP/1.2\r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION),
	B("GET / HTTP/2.0\r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION),
	B("GET / HTTP/0.9\r\nHost: a\r\n\r\n", GW_HTTP_E_VERSION),
	B("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET * HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("CONNECT a.example: HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("CONNECT a:44x HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	B("GET http://a\\b/ HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_TARGET),
	/* line endings */
	B("GET / HTTP/1.1\nHost: a\r\n\r\n", GW_HTTP_E_BARE_LF),
	B("GET / HTTP/1.1\r\nHost: a\n\r\n", GW_HTTP_E_BARE_LF),
	B("GET / HTTP/1.1\r\nHost: a\r\n\n", GW_HTTP_E_BARE_LF),
	B("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_BARE_LF),
	B("GET / HTTP/1.1\rHost: a\r\n\r\n", GW_HTTP_E_BARE_CR),
	B("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", GW_HTTP_E_BARE_CR),
	B("GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n", GW_HTTP_E_BARE_CR),
	B("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_E_BARE_CR),
	/* field syntax */
	B(H("Host : b\r\n"), GW_HTTP_E_HDR_WS_COLON),
	B(H("X\t: b\r\n"), GW_HTTP_E_HDR_WS_COLON),
	B(H("X: a\r\n b\r\n"), GW_HTTP_E_OBS_FOLD),
	B(H("X: a\r\n\tb\r\n"), GW_HTTP_E_OBS_FOLD),
	B("GET / HTTP/1.1\r\n Host: a\r\n\r\n", GW_HTTP_E_OBS_FOLD),
	B(H("X(y: b\r\n"), GW_HTTP_E_HDR_NAME),
	B(H("NoColon\r\n"), GW_HTTP_E_HDR_NAME),
	B(H(": novalue\r\n"), GW_HTTP_E_HDR_NAME),
	B(H("X\xc3\xa9: b\r\n"), GW_HTTP_E_HDR_NAME),
	BN(H("X: a\0b\r\n"), GW_HTTP_E_HDR_VALUE),
	B(H("X: a\x0b b\r\n"), GW_HTTP_E_HDR_VALUE),
	B(H("X: a\x7f\r\n"), GW_HTTP_E_HDR_VALUE),
	B(H("X: a\x1b[0m\r\n"), GW_HTTP_E_HDR_VALUE),
	/* Host */
	B("GET / HTTP/1.1\r\n\r\n", GW_HTTP_E_HOST_MISSING),
	B("GET http://a/ HTTP/1.1\r\n\r\n", GW_HTTP_E_HOST_MISSING),
	B(H("Host: b\r\n"), GW_HTTP_E_HOST_DUP),
	B(H("host: a\r\n"), GW_HTTP_E_HOST_DUP),
	B("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", GW_HTTP_E_HOST_DUP),
	B("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", GW_HTTP_E_HOST_INVALID),
	B("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", GW_HTTP_E_HOST_INVALID),
	B("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", GW_HTTP_E_HOST_INVALID),
	B("GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", GW_HTTP_E_HOST_INVALID),
	/* Connection / Upgrade */
	B(H("Connection: close, \"x\"\r\n"), GW_HTTP_E_CONNECTION),
	B(H("Connection: upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n"),
	  GW_HTTP_E_UPGRADE_DUP),
	/* Content-Length (CL.CL) */
	B(P("Content-Length: 1, 2\r\n"), GW_HTTP_E_CL_CONFLICT),
	B(P("Content-Length: 1\r\nContent-Length: 2\r\n"), GW_HTTP_E_CL_CONFLICT),
	B(P("Content-Length: +1\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: -1\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: 0x10\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: 1 2\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: 1.0\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length:\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: 5,\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: ,5\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: 9223372036854775808\r\n"), GW_HTTP_E_CL_INVALID),
	B(P("Content-Length: 18446744073709551621\r\n"), GW_HTTP_E_CL_INVALID),
	/* CL.TE / TE.CL in both orders, with odd spacing */
	B(P("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), GW_HTTP_E_TE_CL),
	B(P("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), GW_HTTP_E_TE_CL),
	B(P("Transfer-Encoding:\tchunked \r\nContent-Length: 0\r\n"), GW_HTTP_E_TE_CL),
	B(P("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n"), GW_HTTP_E_HDR_WS_COLON),
	/* TE obfuscation */
	B(P("Transfer-Encoding: chunked, gzip\r\n"), GW_HTTP_E_TE_NOT_CHUNKED),
	B(P("Transfer-Encoding: gzip\r\n"), GW_HTTP_E_TE_NOT_CHUNKED),
	B(P("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), GW_HTTP_E_TE_NOT_CHUNKED),
	B(P("Transfer-Encoding: chunked, chunked\r\n"), GW_HTTP_E_TE_CHUNKED_TWICE),
	B(P("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
	  GW_HTTP_E_TE_CHUNKED_TWICE),
	B(P("Transfer-Encoding: xchunked\r\n"), GW_HTTP_E_TE_UNKNOWN),
	B(P("Transfer-Encoding: identity, chunked\r\n"), GW_HTTP_E_TE_UNKNOWN),
	B(P("Transfer-Encoding: br, chunked\r\n"), GW_HTTP_E_TE_UNKNOWN),
	B(P("Transfer-Encoding: ,chunked\r\n"), GW_HTTP_E_TE_INVALID),
	B(P("Transfer-Encoding: chunked,\r\n"), GW_HTTP_E_TE_INVALID),
	B(P("Transfer-Encoding: chunked;q=1\r\n"), GW_HTTP_E_TE_INVALID),
	B(P("Transfer-Encoding: \"chunked\"\r\n"), GW_HTTP_E_TE_INVALID),
	B(P("Transfer-Encoding:\r\n"), GW_HTTP_E_TE_INVALID),
	B(P("Transfer-Encoding:\r\n chunked\r\n"), GW_HTTP_E_TE_INVALID),
	B(P("Transfer-Encoding: chunked\x0b\r\n"), GW_HTTP_E_HDR_VALUE),
	BN(P("Transfer-Encoding: chunked\0\r\n"), GW_HTTP_E_HDR_VALUE),
	B(P("X: y\r\n Transfer-Encoding: chunked\r\n"), GW_HTTP_E_OBS_FOLD),
	B("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", GW_HTTP_E_TE_HTTP10),
	B("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  GW_HTTP_E_TE_HTTP10),
};

static void test_req_rejects(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_requests); i++) {
		const struct bad *b = &bad_requests[i];
		size_t n = b->len ? b->len : strlen(b->in);
		struct gw_http_req r;
		int rc = req_n(b->in, n, &r, NULL);

		if (rc != b->rc || r.err != b->err)
			fail_msg("case %zu %.*s: rc %d err %d (%s), want rc %d err %d (%s)", i,
				 (int)GW_MIN(n, 60), b->in, rc, r.err, gw_http1_strerror(r.err),
				 b->rc, b->err, gw_http1_strerror(b->err));
	}
}

/* field values are scanned eight bytes at a time: a bad byte must be found
 * at every offset within a word, and HTAB / obs-text must pass at every one */
static void test_req_value_every_offset(void **state)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	static const struct {
		char c;
		int rc;
	} probe[] = {
		{ '\x7f', -EBADMSG }, { '\0', -EBADMSG }, { '\x1f', -EBADMSG }, { '\x01', -EBADMSG },
		{ '\n', -EBADMSG },   { '\t', 1 },        { '\x80', 1 },       { '\xff', 1 },
		{ '~', 1 },           { ' ', 1 },
	};
	char buf[128];

	for (size_t i = 0; i < ARRAY_SIZE(probe); i++) {
		for (size_t at = 0; at < 24; at++) {
			size_t n = sizeof(head) - 1;
			struct gw_http_req r;
			int rc;

			memcpy(buf, head, n);
			memset(buf + n, 'v', 24);
			buf[n + at] = probe[i].c;
			n += 24;
			memcpy(buf + n, "\r\n\r\n", 4);
			n += 4;
			rc = req_n(buf, n, &r, NULL);
			if (probe[i].rc > 0 ? rc != (int)n : rc != probe[i].rc)
				fail_msg("byte 0x%02x at value offset %zu: rc %d", (uint8_t)probe[i].c,
					 at, rc);
		}
	}
}

/* an invalid byte is refused when it arrives, not when the head ends */
static void test_req_early_reject(void **state)
{
	struct gw_http_req r;

	assert_int_equal(req("GET / HTTP/1.1\r\nHost : a", &r), -EBADMSG);
	assert_int_equal(req("GET / HTTP/1.1\r\nX: a\r\n b", &r), -EBADMSG);
	assert_int_equal(req("GET / HTTP/1.1\n", &r), -EBADMSG);
	assert_int_equal(req("GET / HTTP/1.1x", &r), -EBADMSG);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n", &r), -EAGAIN);
}

static void test_req_status_mapping(void **state)
{
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_VERSION), 505);
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_TE_UNKNOWN), 501);
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_LINE_TOO_LONG), 414);
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_HEAD_TOO_BIG), 431);
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_TOO_MANY_HEADERS), 431);
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_TE_CL), 400);
	assert_int_equal(gw_http1_err_status(GW_HTTP_E_BARE_LF), 400);
	for (int e = 0; e < GW_HTTP_E__COUNT; e++) {
		const char *s = gw_http1_strerror(e);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, "unknown error");
	}
	assert_string_equal(gw_http1_strerror(-1), "unknown error");
	assert_string_equal(gw_http1_strerror(GW_HTTP_E__COUNT), "unknown error");
	assert_string_equal(gw_http_status_reason(404), "Not Found");
	assert_string_equal(gw_http_status_reason(505), "HTTP Version Not Supported");
	assert_string_equal(gw_http_status_reason(299), "");
}

/* ---- split feeding and pipelining ---------------------------------------- */

static const char *const good_requests[] = {
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\nPOST /up?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 10\r\n"
	"Connection: keep-alive\r\n\r\n",
	"PUT http://a.example:81/p HTTP/1.1\r\nHost: z\r\nTransfer-Encoding: gzip, chunked\r\n"
	"Expect: 100-continue\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
	"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
};

static void test_req_every_prefix(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_requests); i++) {
		const char *s = good_requests[i];
		size_t n = strlen(s);
		struct gw_http_req r;

		for (size_t k = 0; k < n; k++) {
			int rc = req_n(s, k, &r, NULL);

			if (rc != -EAGAIN)
				fail_msg("request %zu prefix %zu: rc %d err %s", i, k, rc,
					 gw_http1_strerror(r.err));
		}
		assert_int_equal(req_n(s, n, &r, NULL), (int)n);
	}
}

static void test_req_pipelined(void **state)
{
	const char *s = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
			"POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
			"GET /three HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n";
	size_t off = 0, n = strlen(s);
	struct gw_http_req r;
	int rc;

	rc = req_n(s + off, n - off, &r, NULL);
	assert_true(rc > 0);
	assert_slice(r.path, "/one");
	off += (size_t)rc;
	rc = req_n(s + off, n - off, &r, NULL);
	assert_true(rc > 0);
	assert_slice(r.path, "/two");
	assert_slice(r.host, "b");
	assert_int_equal(r.fr.content_length, 3);
	off += (size_t)rc + 3;
	rc = req_n(s + off, n - off, &r, NULL);
	assert_int_equal(rc, (int)(n - off));
	assert_slice(r.path, "/three");
	assert_true(r.fr.conn_close);
}

/* ---- limits ---------------------------------------------------------------- */

static void test_limits(void **state)
{
	struct gw_http_limits l, small = { .max_head = 64, .max_line = 32, .max_headers = 3 };
	struct gw_http_req r;
	char big[9000];
	const char *tail = " HTTP/1.1\r\nHost: a\r\n\r\n";

	gw_http_limits_default(&l);
	assert_int_equal(l.max_head, 65536);
	assert_int_equal(l.max_line, 8192);
	assert_int_equal(l.max_headers, 100);

	/* request-targets of 8,000 octets are accepted with the defaults */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', 7999);
	strcpy(big + 8004, tail);
	assert_int_equal(req(big, &r), (int)strlen(big));
	assert_int_equal(r.target.len, 8000);
	/* but not 8,200 */
	memset(big + 5, 'a', 8199);
	strcpy(big + 8204, tail);
	assert_int_equal(req(big, &r), -E2BIG);
	assert_int_equal(r.err, GW_HTTP_E_LINE_TOO_LONG);
	/* ... even before the line ends */
	assert_int_equal(req_n(big, 8300, &r, NULL), -E2BIG);
	assert_int_equal(r.err, GW_HTTP_E_LINE_TOO_LONG);

	/* request line exactly max_line bytes (32) passes, 33 does not */
	{
		const char *l32 = "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
		const char *l33 = "GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";

		assert_int_equal(strchr(l32, '\r') - l32, 32);
		assert_int_equal(req_n(l32, strlen(l32), &r, &small), (int)strlen(l32));
		assert_int_equal(req_n(l33, strlen(l33), &r, &small), -E2BIG);
		assert_int_equal(r.err, GW_HTTP_E_LINE_TOO_LONG);
	}

	/* header count */
	assert_true(req_n(H("B: 1\r\nC: 2\r\n"), strlen(H("B: 1\r\nC: 2\r\n")), &r, &small) > 0);
	assert_int_equal(r.n_headers, 3);
	assert_int_equal(req_n(H("B: 1\r\nC: 2\r\nD: 3\r\n"), strlen(H("B: 1\r\nC: 2\r\nD: 3\r\n")),
			       &r, &small),
			 -E2BIG);
	assert_int_equal(r.err, GW_HTTP_E_TOO_MANY_HEADERS);

	/* head size: 64 bytes exactly passes, one more does not */
	{
		const char *h64 = "GET / HTTP/1.1\r\nHost: a\r\n"
				  "X: 01234567890123456789012345678901\r\n\r\n";
		const char *h65 = "GET / HTTP/1.1\r\nHost: a\r\n"
				  "X: 012345678901234567890123456789012\r\n\r\n";

		assert_int_equal(strlen(h64), 64);
		assert_int_equal(req_n(h64, 64, &r, &small), 64);
		assert_int_equal(req_n(h65, 65, &r, &small), -E2BIG);
		assert_int_equal(r.err, GW_HTTP_E_HEAD_TOO_BIG);
		/* incomplete and already at the limit: no point waiting */
		assert_int_equal(req_n(h65, 64, &r, &small), -E2BIG);
		assert_int_equal(req_n(h65, 63, &r, &small), -EAGAIN);
	}

	/* default header count: 100 fields pass, 101 do not */
	{
		static char many[4096];
		size_t o = 0;

		o += (size_t)sprintf(many + o, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (int i = 0; i < 99; i++)
			o += (size_t)sprintf(many + o, "X%d: v\r\n", i);
		strcpy(many + o, "\r\n");
		assert_int_equal(req(many, &r), (int)(o + 2));
		assert_int_equal(r.n_headers, 100);
		strcpy(many + o, "Y: v\r\n\r\n");
		assert_int_equal(req(many, &r), -E2BIG);
		assert_int_equal(r.err, GW_HTTP_E_TOO_MANY_HEADERS);
	}
}

/* ---- responses ------------------------------------------------------------- */

static void test_resp_accepted(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
	struct gw_http_resp r;

	assert_int_equal(resp(s, &r), (int)strlen(s) - 5);
	assert_int_equal(r.status, 200);
	assert_slice(r.reason, "OK");
	assert_int_equal(r.version_minor, 1);
	assert_int_equal(r.n_headers, 2);
	assert_int_equal(r.fr.content_length, 5);
	assert_false(r.fr.chunked);
	assert_false(r.fr.conn_close);

	assert_true(resp("HTTP/1.1 404 Not  Found \r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0);
	assert_int_equal(r.status, 404);
	assert_slice(r.reason, "Not  Found ");
	assert_true(r.fr.chunked);
	assert_int_equal(r.fr.content_length, -1);

	/* no framing: close-delimited */
	assert_true(resp("HTTP/1.1 200 OK\r\n\r\n", &r) > 0);
	assert_int_equal(r.fr.content_length, -1);
	assert_false(r.fr.chunked);
	assert_true(r.fr.conn_close);
	/* final coding not chunked: close-delimited too (RFC 9112 §6.3) */
	assert_true(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &r) > 0);
	assert_false(r.fr.chunked);
	assert_int_equal(r.fr.content_length, -1);
	assert_true(r.fr.conn_close);

	/* bodyless statuses ignore framing fields */
	assert_true(resp("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", &r) > 0);
	assert_int_equal(r.fr.content_length, 0);
	assert_true(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", &r) > 0);
	assert_int_equal(r.fr.content_length, 0);
	assert_true(resp("HTTP/1.1 100 Continue\r\n\r\n", &r) > 0);
	assert_int_equal(r.status, 100);
	assert_int_equal(r.fr.content_length, 0);
	assert_false(r.fr.conn_close);
	assert_true(resp("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			 "Upgrade: websocket\r\n\r\n",
			 &r) > 0);
	assert_true(r.fr.upgrade);
	assert_slice(r.fr.upgrade_proto, "websocket");

	/* missing reason, with and without its SP */
	assert_true(resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", &r) > 0);
	assert_int_equal(r.reason.len, 0);
	assert_true(resp("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", &r) > 0);
	assert_int_equal(r.reason.len, 0);

	/* HTTP/1.0 */
	assert_true(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", &r) > 0);
	assert_true(r.fr.conn_close);
	assert_true(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n",
			 &r) > 0);
	assert_false(r.fr.conn_close);
	assert_int_equal(r.version_minor, 0);
}

static const struct bad bad_responses[] = {
	B("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	  GW_HTTP_E_TE_CL),
	B("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	  GW_HTTP_E_CL_CONFLICT),
	B("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", GW_HTTP_E_CL_INVALID),
	B("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	  GW_HTTP_E_TE_CHUNKED_TWICE),
	B("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", GW_HTTP_E_TE_HTTP10),
	B("HTTP/1.1 20 OK\r\n\r\n", GW_HTTP_E_STATUS),
	B("HTTP/1.1 2000 OK\r\n\r\n", GW_HTTP_E_STATUS),
	B("HTTP/1.1 099 X\r\n\r\n", GW_HTTP_E_STATUS),
	B("HTTP/1.1 600 X\r\n\r\n", GW_HTTP_E_STATUS),
	B("HTTP/1.1 2x0 X\r\n\r\n", GW_HTTP_E_STATUS),
	B("HTTP/1.1  200 OK\r\n\r\n", GW_HTTP_E_STATUS),
	B("HTTP/1.1 200 O\x01K\r\n\r\n", GW_HTTP_E_SYNTAX),
	B("HTTP/1.1\t200 OK\r\n\r\n", GW_HTTP_E_SYNTAX),
	B("HTTP/2 200 OK\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX),
	B("HTTP/1.2 200 OK\r\n\r\n", GW_HTTP_E_VERSION),
	B("ICY 200 OK\r\n\r\n", GW_HTTP_E_VERSION_SYNTAX),
	B("HTTP/1.1 200 OK\n\r\n", GW_HTTP_E_BARE_LF),
	B("HTTP/1.1 200 OK\r\nX: y\n\r\n", GW_HTTP_E_BARE_LF),
	B("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", GW_HTTP_E_OBS_FOLD),
	B("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", GW_HTTP_E_HDR_WS_COLON),
	B("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", GW_HTTP_E_BARE_CR),
	B("HTTP/1.1 101 OK\r\nConnection: upgrade\r\nUpgrade: a\r\nUpgrade: b\r\n\r\n",
	  GW_HTTP_E_UPGRADE_DUP),
};

static void test_resp_rejects(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_responses); i++) {
		const struct bad *b = &bad_responses[i];
		size_t n = b->len ? b->len : strlen(b->in);
		struct gw_http_resp r;
		int rc = resp_n(b->in, n, &r, NULL);

		if (rc != b->rc || r.err != b->err)
			fail_msg("case %zu %.*s: rc %d err %d (%s), want rc %d err %d (%s)", i,
				 (int)GW_MIN(n, 60), b->in, rc, r.err, gw_http1_strerror(r.err),
				 b->rc, b->err, gw_http1_strerror(b->err));
	}
}

static void test_resp_every_prefix(void **state)
{
	static const char *const good[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		size_t n = strlen(good[i]);
		struct gw_http_resp r;

		for (size_t k = 0; k < n; k++)
			if (resp_n(good[i], k, &r, NULL) != -EAGAIN)
				fail_msg("response %zu prefix %zu not incomplete", i, k);
		assert_int_equal(resp_n(good[i], n, &r, NULL), (int)n);
	}
}

/* ---- chunked ----------------------------------------------------------------- */

/* feed() : walks s in pieces of at most step bytes (0 = one piece), decoding
 * into out; returns the last rc and sets *used to the bytes consumed */
static int feed(const char *s, size_t n, size_t step, size_t *used, char *out, size_t *outlen)
{
	struct gw_chunk_state st = { 0 };
	static char work[16384];
	size_t off = 0, o = 0;
	int rc = 0;

	assert_true(n <= sizeof(work));
	memcpy(work, s, n);
	while (off < n) {
		size_t piece = step ? GW_MIN(step, n - off) : n - off, c = 0, dl = 0;

		rc = gw_chunked_decode(&st, work + off, piece, &c, &dl);
		if (out) {
			memcpy(out + o, work + off, dl);
			o += dl;
		}
		off += c;
		if (rc != 0)
			break;
		assert_int_equal(c, piece);
	}
	*used = off;
	if (outlen)
		*outlen = o;
	return rc;
}

static void test_chunked_accepted(void **state)
{
	static const struct {
		const char *in, *data;
	} ok[] = {
		{ "5\r\nhello\r\n0\r\n\r\n", "hello" },
		{ "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world" },
		{ "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij" },
		{ "005;name=value;x=\"q;uo\\\"ted\"\r\nhello\r\n000\r\n\r\n", "hello" },
		{ "5 ;ext\r\nhello\r\n0\t;e\r\n\r\n", "hello" },
		{ "0\r\n\r\n", "" },
		{ "3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Other:\r\n\r\n", "abc" },
		{ "2\r\n\r\n\r\n0\r\n\r\n", "\r\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		size_t n = strlen(ok[i].in);

		for (size_t step = 0; step <= n; step++) {
			char out[256];
			size_t used, ol;
			int rc = feed(ok[i].in, n, step, &used, out, &ol);

			if (rc != 1 || used != n || ol != strlen(ok[i].data) ||
			    memcmp(out, ok[i].data, ol) != 0)
				fail_msg("chunked case %zu step %zu: rc %d used %zu/%zu data %zu", i,
					 step, rc, used, n, ol);
		}
	}
}

/* split in two at every point: state carries across calls */
static void test_chunked_split_everywhere(void **state)
{
	const char *s = "4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\n";
	const char *want = "Wikipedia in\r\n\r\nchunks.";
	size_t n = strlen(s);

	for (size_t k = 0; k <= n; k++) {
		struct gw_chunk_state st = { 0 };
		size_t c1 = 0, c2 = 0;
		int rc1 = gw_chunked_feed(&st, s, k, &c1);
		int rc2;

		assert_int_equal(rc1, k == n ? 1 : 0);
		assert_int_equal(c1, k);
		rc2 = gw_chunked_feed(&st, s + k, n - k, &c2);
		assert_int_equal(rc2, 1);
		assert_int_equal(c1 + c2, n);
	}
	{
		char out[128];
		size_t used, ol;

		assert_int_equal(feed(s, n, 1, &used, out, &ol), 1);
		assert_int_equal(ol, strlen(want));
		assert_memory_equal(out, want, ol);
	}
}

static void test_chunked_stops_at_end(void **state)
{
	char buf[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	struct gw_chunk_state st = { 0 };
	size_t used = 0, dl = 0;

	assert_int_equal(gw_chunked_decode(&st, buf, strlen(buf), &used, &dl), 1);
	assert_int_equal(used, strlen("3\r\nabc\r\n0\r\n\r\n"));
	assert_int_equal(dl, 3);
	assert_memory_equal(buf, "abc", 3);
	assert_string_equal(buf + used, "GET / HTTP/1.1\r\n"); /* untouched */
	/* after the end: nothing more belongs to the body */
	assert_int_equal(gw_chunked_feed(&st, buf + used, 4, &used), 1);
	assert_int_equal(used, 0);
}

static void test_chunked_big_sizes(void **state)
{
	struct gw_chunk_state st = { 0 };
	size_t used;

	/* 2^62 is the cap: accepted, and the walker waits for its data */
	assert_int_equal(gw_chunked_feed(&st, "4000000000000000\r\nab", 20, &used), 0);
	assert_int_equal(used, 20);
	assert_int_equal(st.left, (1ULL << 62) - 2);
	memset(&st, 0, sizeof(st));
	/* leading zeros do not count towards the value */
	assert_int_equal(gw_chunked_feed(&st, "0000000000000000000000001\r\n", 27, &used), 0);
	assert_int_equal(st.left, 1);
}

static void test_chunked_rejects(void **state)
{
	static const char *const bad[] = {
		"x\r\n",                            /* not hex */
		"\r\n",                             /* no digits */
		";ext\r\n",                         /* no digits */
		" 5\r\nhello\r\n0\r\n\r\n",         /* leading space */
		"+5\r\nhello\r\n0\r\n\r\n",         /* sign */
		"-5\r\n",                           /* sign */
		"0x5\r\nhello\r\n0\r\n\r\n",        /* 0x prefix */
		"5\nhello\r\n0\r\n\r\n",            /* bare LF after size */
		"5\rhello\r\n0\r\n\r\n",            /* bare CR after size */
		"5\r\nhello\n0\r\n\r\n",            /* bare LF after data */
		"5\r\nhello\r0\r\n\r\n",            /* bare CR after data */
		"5\r\nhelloX\r\n0\r\n\r\n",         /* data longer than its size */
		"5\r\nhello0\r\n\r\n",              /* missing CRLF after data */
		"5;a\rb\r\nhello\r\n0\r\n\r\n",     /* bare CR in chunk-ext */
		"5;a\nb\r\nhello\r\n0\r\n\r\n",     /* bare LF in chunk-ext */
		"5;a\x01\r\nhello\r\n0\r\n\r\n",    /* CTL in chunk-ext */
		"5 \r\nhello\r\n0\r\n\r\n",         /* whitespace not followed by ';' */
		"5 x\r\nhello\r\n0\r\n\r\n",        /* a size read as its valid prefix */
		"5g\r\nhello\r\n0\r\n\r\n",         /* idem */
		"ffffffffffffffff1\r\n",            /* overflow */
		"10000000000000005\r\n",            /* wraps 2^64 */
		"4000000000000001\r\n",             /* above the 2^62 cap */
		"0\r\n\n",                          /* bare LF ending the message */
		"0\r\n\r\r",                        /* bare CR ending the message */
		"0\r\nContent-Length: 5\r\n\r\n",   /* framing in trailers */
		"0\r\ntransfer-encoding: chunked\r\n\r\n",
		"0\r\nHOST: evil\r\n\r\n",
		"0\r\nTrailer: x\r\n\r\n",
		"0\r\nX: a\r\n b\r\n\r\n",          /* obs-fold in trailers */
		"0\r\n X: a\r\n\r\n",
		"0\r\nX : a\r\n\r\n",               /* whitespace before colon */
		"0\r\nNoColon\r\n\r\n",
		"0\r\nX: a\nY: b\r\n\r\n",          /* bare LF in trailers */
		"0\r\nX: a\x7f\r\n\r\n",            /* CTL in trailer value */
		"0\r\n:x\r\n\r\n",                  /* empty trailer name */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t n = strlen(bad[i]);

		for (size_t step = 0; step <= n; step++) {
			size_t used;
			int rc = feed(bad[i], n, step, &used, NULL, NULL);

			if (rc != -EBADMSG)
				fail_msg("chunked reject case %zu (%s) step %zu: rc %d", i, bad[i],
					 step, rc);
		}
	}
}

static void test_chunked_bounds_and_sticky(void **state)
{
	static char buf[12000];
	struct gw_chunk_state st = { 0 };
	size_t n, used;

	/* size line with extensions: 4096 bytes pass, 4097 do not */
	buf[0] = '1';
	buf[1] = ';';
	memset(buf + 2, 'e', 4094);
	memcpy(buf + 4096, "\r\nx\r\n0\r\n\r\n", 11);
	n = 4096 + 10;
	assert_int_equal(gw_chunked_feed(&st, buf, n, &used), 1);
	memset(&st, 0, sizeof(st));
	buf[4096] = 'e';
	memcpy(buf + 4097, "\r\nx\r\n0\r\n\r\n", 11);
	assert_int_equal(gw_chunked_feed(&st, buf, n + 1, &used), -EBADMSG);

	/* trailers: bounded as a whole */
	memset(&st, 0, sizeof(st));
	n = (size_t)sprintf(buf, "0\r\n");
	while (n < 3 + GW_CHUNK_MAX_TRAILERS)
		n += (size_t)sprintf(buf + n, "X-Pad: %0100d\r\n", 0);
	n += (size_t)sprintf(buf + n, "\r\n");
	assert_int_equal(gw_chunked_feed(&st, buf, n, &used), -EBADMSG);
	/* sticky: once invalid, always invalid */
	assert_int_equal(gw_chunked_feed(&st, "0\r\n\r\n", 5, &used), -EBADMSG);
	assert_int_equal(used, 0);
	/* and a trailer section just under the bound passes */
	memset(&st, 0, sizeof(st));
	n = (size_t)sprintf(buf, "0\r\n");
	for (int i = 0; i < 70; i++)
		n += (size_t)sprintf(buf + n, "X-Pad: %0100d\r\n", 0);
	n += (size_t)sprintf(buf + n, "\r\n");
	assert_true(n - 3 <= GW_CHUNK_MAX_TRAILERS);
	assert_int_equal(gw_chunked_feed(&st, buf, n, &used), 1);
	assert_int_equal(used, n);
}

/* ---- helpers ----------------------------------------------------------------- */

static void test_helpers(void **state)
{
	struct gw_http_req r;
	const struct gw_http_header *h;
	struct gw_slice s = { "Hello", 5 }, e = { NULL, 0 };

	assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nX-Foo: 1\r\nx-foo: 2\r\n\r\n", &r) > 0);
	h = gw_http_find_header(r.headers, r.n_headers, "X-FOO");
	assert_non_null(h);
	assert_slice(h->value, "1");
	assert_null(gw_http_find_header(r.headers, r.n_headers, "X-Fo"));
	assert_true(gw_slice_eq(s, "Hello"));
	assert_false(gw_slice_eq(s, "hello"));
	assert_true(gw_slice_casecmp(s, "hELLO"));
	assert_false(gw_slice_casecmp(s, "hell"));
	assert_true(gw_slice_eq(e, ""));
	assert_true(gw_slice_casecmp(e, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_simple),
		cmocka_unit_test(test_req_forms),
		cmocka_unit_test(test_req_versions_and_connection),
		cmocka_unit_test(test_req_framing_accepted),
		cmocka_unit_test(test_req_misc_accepted),
		cmocka_unit_test(test_req_rejects),
		cmocka_unit_test(test_req_value_every_offset),
		cmocka_unit_test(test_req_early_reject),
		cmocka_unit_test(test_req_status_mapping),
		cmocka_unit_test(test_req_every_prefix),
		cmocka_unit_test(test_req_pipelined),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_resp_accepted),
		cmocka_unit_test(test_resp_rejects),
		cmocka_unit_test(test_resp_every_prefix),
		cmocka_unit_test(test_chunked_accepted),
		cmocka_unit_test(test_chunked_split_everywhere),
		cmocka_unit_test(test_chunked_stops_at_end),
		cmocka_unit_test(test_chunked_big_sizes),
		cmocka_unit_test(test_chunked_rejects),
		cmocka_unit_test(test_chunked_bounds_and_sticky),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
