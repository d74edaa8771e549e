/* fuzz_http1.c - libFuzzer driver for the HTTP/1.1 request head parser.
 *
 * Beyond "does not crash", it checks the properties the proxy relies on:
 * every slice lies inside the input, a parsed head ends with CRLF CRLF and
 * parses alone to the same length, any prefix is either "incomplete" or the
 * same verdict (so split reads cannot change a decision), tighter limits
 * never accept what the defaults refuse, and a chunked body that follows is
 * walked the same way in one piece and in two.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include "gwbpf/http1.h"

#define MAXH 128

static struct gw_http_header hdrs[MAXH];

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_slice(struct gw_slice s, const char *d, size_t n)
{
	if (!s.len)
		return;
	/* the only slice allowed outside the input is the implied "/" path */
	if (s.len == 1 && s.p[0] == '/' && (s.p < d || s.p >= d + n))
		return;
	CHECK(s.p >= d && s.p + s.len <= d + n);
}

static int parse(const char *d, size_t n, struct gw_http_req *r, const struct gw_http_limits *l)
{
	memset(r, 0, sizeof(*r));
	r->headers = hdrs;
	return gw_http1_parse_request(d, n, r, l);
}

static void check_result(int rc, const struct gw_http_req *r, const char *d, size_t n,
			 size_t max_headers)
{
	CHECK(rc == -EAGAIN || rc == -EBADMSG || rc == -E2BIG || (rc > 0 && (size_t)rc <= n));
	CHECK(r->err >= 0 && r->err < GW_HTTP_E__COUNT);
	CHECK((rc == -EBADMSG || rc == -E2BIG) == (r->err != 0));
	CHECK(r->n_headers <= max_headers);
	if (rc <= 0)
		return;
	CHECK(rc >= 4 && memcmp(d + rc - 4, "\r\n\r\n", 4) == 0);
	CHECK(r->method.len > 0 && r->target.len > 0 && r->version_minor <= 1);
	check_slice(r->method, d, n);
	check_slice(r->target, d, n);
	check_slice(r->path, d, n);
	check_slice(r->query, d, n);
	check_slice(r->authority, d, n);
	check_slice(r->host, d, n);
	check_slice(r->fr.upgrade_proto, d, n);
	for (size_t i = 0; i < r->n_headers; i++) {
		check_slice(r->headers[i].name, d, n);
		check_slice(r->headers[i].value, d, n);
		CHECK(r->headers[i].name.len > 0);
		CHECK(!memchr(r->headers[i].value.p, '\n', r->headers[i].value.len));
		CHECK(!memchr(r->headers[i].value.p, '\r', r->headers[i].value.len));
	}
	CHECK(!(r->fr.chunked && r->fr.content_length >= 0));
	if (r->fr.chunked)
		CHECK(gw_http_find_header(r->headers, r->n_headers, "transfer-encoding"));
	if (r->version_minor == 1)
		CHECK(gw_http_find_header(r->headers, r->n_headers, "host"));
}

/* walk a chunked body in one call and in two, compare */
static void walk_body(const char *d, size_t n)
{
	struct gw_chunk_state a = { 0 }, b = { 0 };
	size_t ca = 0, c1 = 0, c2 = 0, k = n / 3;
	int ra, r1, r2;

	ra = gw_chunked_feed(&a, d, n, &ca);
	r1 = gw_chunked_feed(&b, d, k, &c1);
	CHECK(ra >= -EBADMSG && ra <= 1 && ca <= n);
	if (r1 == 0) {
		r2 = gw_chunked_feed(&b, d + k, n - k, &c2);
		CHECK(r2 == ra);
		if (ra >= 0)
			CHECK(c1 + c2 == ca);
	} else {
		CHECK(r1 == ra);
		if (ra == 1)
			CHECK(c1 == ca);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct gw_http_limits small = { .max_head = 256, .max_line = 64,
						     .max_headers = 4 };
	const char *d = (const char *)data;
	struct gw_http_req r, r2;
	int rc, rc2, rs;
	size_t ks[3] = { size / 2, size ? size - 1 : 0, size ? data[0] % (size + 1) : 0 };

	rc = parse(d, size, &r, NULL);
	check_result(rc, &r, d, size, 100);

	/* determinism */
	rc2 = parse(d, size, &r2, NULL);
	CHECK(rc2 == rc && r2.err == r.err && r2.n_headers == r.n_headers);

	if (rc > 0) {
		/* the head stands alone, and one byte short it is incomplete */
		CHECK(parse(d, (size_t)rc, &r2, NULL) == rc);
		CHECK(parse(d, (size_t)rc - 1, &r2, NULL) == -EAGAIN);
		if (r.fr.chunked)
			walk_body(d + rc, size - (size_t)rc);
	}

	/* a prefix is incomplete or reaches the same verdict */
	for (size_t i = 0; i < 3; i++) {
		if (ks[i] >= size)
			continue;
		rc2 = parse(d, ks[i], &r2, NULL);
		check_result(rc2, &r2, d, ks[i], 100);
		CHECK(rc2 == -EAGAIN || (rc2 == rc && r2.err == r.err));
	}

	/* tighter limits never accept more */
	rs = parse(d, size, &r2, &small);
	check_result(rs, &r2, d, size, small.max_headers);
	if (rs > 0)
		CHECK(rs == rc);
	if (rc == -EBADMSG && rs == -EBADMSG)
		CHECK(r2.err == r.err);
	return 0;
}
