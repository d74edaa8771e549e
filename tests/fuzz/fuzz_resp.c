/* fuzz_resp.c - libFuzzer driver for the HTTP/1.1 response head parser.
 *
 * Checks what the proxy relies on when it reads a backend: slices inside the
 * input, consistent framing facts (bodyless statuses, close-delimited bodies,
 * never both a length and chunked), split-read stability, and that a chunked
 * body after the head decodes the same in one piece and byte by byte.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include "gwbpf/http1.h"

#define MAXH 128

static struct gw_http_header hdrs[MAXH];
static char work[1 << 16];

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_slice(struct gw_slice s, const char *d, size_t n)
{
	if (s.len)
		CHECK(s.p >= d && s.p + s.len <= d + n);
}

static int parse(const char *d, size_t n, struct gw_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->headers = hdrs;
	return gw_http1_parse_response(d, n, r, NULL);
}

static void decode_body(const char *d, size_t n)
{
	struct gw_chunk_state a = { 0 }, b = { 0 };
	size_t ca = 0, la = 0, off = 0, lb = 0;
	int ra, rb = 0;

	if (n > sizeof(work) / 2)
		n = sizeof(work) / 2;
	memcpy(work, d, n);
	ra = gw_chunked_decode(&a, work, n, &ca, &la);
	CHECK(ra >= -EBADMSG && ra <= 1 && ca <= n && la <= ca);
	/* byte by byte into the second half; decoded bytes must match */
	memcpy(work + n, d, n);
	while (off < n) {
		size_t c = 0, dl = 0;

		rb = gw_chunked_decode(&b, work + n + off, 1, &c, &dl);
		if (dl) {
			CHECK(dl == 1 && lb < la);
			CHECK(work[lb] == work[n + off]);
			lb++;
		}
		off += c;
		if (rb != 0)
			break;
	}
	CHECK(rb == ra);
	if (ra >= 0)
		CHECK(off == ca && lb == la);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct gw_http_resp r, r2;
	int rc, rc2;

	rc = parse(d, size, &r);
	CHECK(rc == -EAGAIN || rc == -EBADMSG || rc == -E2BIG || (rc > 0 && (size_t)rc <= size));
	CHECK((rc == -EBADMSG || rc == -E2BIG) == (r.err != 0));
	CHECK(r.err >= 0 && r.err < GW_HTTP_E__COUNT);
	if (size / 2 < size) {
		rc2 = parse(d, size / 2, &r2);
		CHECK(rc2 == -EAGAIN || (rc2 == rc && r2.err == r.err));
	}
	if (rc <= 0)
		return 0;

	CHECK(memcmp(d + rc - 4, "\r\n\r\n", 4) == 0);
	CHECK(r.status >= 100 && r.status <= 599 && r.version_minor <= 1);
	CHECK(parse(d, (size_t)rc - 1, &r2) == -EAGAIN);
	check_slice(r.reason, d, size);
	check_slice(r.fr.upgrade_proto, d, size);
	CHECK(r.n_headers <= 100);
	for (size_t i = 0; i < r.n_headers; i++) {
		check_slice(r.headers[i].name, d, size);
		check_slice(r.headers[i].value, d, size);
	}
	CHECK(!(r.fr.chunked && r.fr.content_length >= 0));
	if (r.status < 200 || r.status == 204 || r.status == 304)
		CHECK(r.fr.content_length == 0 && !r.fr.chunked);
	if (!r.fr.chunked && r.fr.content_length < 0)
		CHECK(r.fr.conn_close); /* close-delimited */
	if (r.fr.chunked)
		decode_body(d + rc, size - (size_t)rc);
	return 0;
}
