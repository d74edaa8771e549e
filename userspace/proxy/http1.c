/* http1.c - strict, incremental, zero-copy HTTP/1.1 parsing (RFC 9110/9112).
 *
 * The request and response head parsers are stateless: each call parses
 * buf[0..len) from the start in one pass and answers "complete" (bytes of the
 * head), "need more" (-EAGAIN), "invalid" (-EBADMSG) or "too big" (-E2BIG).
 * An invalid prefix is rejected as soon as the offending byte is seen, so a
 * peer cannot park a bad head in our buffer while we wait for its end. Every
 * slice points into the caller's buffer; nothing is allocated or copied.
 *
 * The policy is HAProxy-strict: whatever two implementations could read two
 * ways (CL+TE, differing Content-Length, bare LF, bare CR, obs-fold,
 * whitespace before the colon, a non-final or repeated "chunked") is an
 * error, never a guess. docs/http1.md lists every rule and the reasoning.
 *
 * The chunked walker is incremental across calls with a few bytes of state
 * (struct gw_chunk_state), so a body can be relayed or decoded as it arrives
 * without ever buffering a whole chunk.
 */
#include "gwbpf/api.h"

#include "gwbpf/http1.h"

/* character classes, one table lookup per byte on the hot path */
#define C_TCHAR  0x01 /* token (RFC 9110 §5.6.2) */
#define C_VALUE  0x02 /* field-vchar, SP, HTAB, obs-text: what a field value may hold */
#define C_TARGET 0x04 /* request-target: visible ASCII except '#' (no fragments on the wire) */
#define C_HOST   0x08 /* uri-host / port / IP-literal characters */
#define C_HEX    0x10 /* HEXDIG */

static const uint8_t gw_http_ctype[256] = {
	/* 00 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 08 */ 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 10 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 18 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 20 */ 0x02, 0x0f, 0x06, 0x03, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 28 */ 0x0e, 0x0e, 0x0f, 0x0f, 0x0e, 0x0f, 0x0f, 0x06,
	/* 30 */ 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
	/* 38 */ 0x1f, 0x1f, 0x0e, 0x0e, 0x06, 0x0e, 0x06, 0x06,
	/* 40 */ 0x06, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x0f,
	/* 48 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 50 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 58 */ 0x0f, 0x0f, 0x0f, 0x0e, 0x06, 0x0e, 0x07, 0x0f,
	/* 60 */ 0x07, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x0f,
	/* 68 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 70 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 78 */ 0x0f, 0x0f, 0x0f, 0x06, 0x07, 0x06, 0x0f, 0x00,
	/* 80 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* 88 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* 90 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* 98 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* a0 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* a8 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* b0 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* b8 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* c0 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* c8 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* d0 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* d8 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* e0 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* e8 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* f0 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
	/* f8 */ 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
};

static inline bool is_c(char c, uint8_t cls)
{
	return gw_http_ctype[(uint8_t)c] & cls;
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
}

/* skip_value() : first byte at or after p that cannot be in a field value.
 * Values (cookies, user agents) are most of a head's bytes, so eight bytes
 * are checked per step: a word passes when no byte is below 0x20 and none is
 * DEL. A word holding HTAB or the final CR falls through to the table. */
static inline const char *skip_value(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;

	while (end - p >= 8) {
		uint64_t x, y;

		memcpy(&x, p, 8);
		y = x ^ (0x7f * ones);
		if (((x - 0x20 * ones) & ~x & highs) | ((y - ones) & ~y & highs))
			break;
		p += 8;
	}
	while (p < end && is_c(*p, C_VALUE))
		p++;
	return p;
}

/* the path of an absolute-form target without one ("http://h?q") is "/"
 * (RFC 9110 §4.2.3); slices may point here instead of into the buffer */
static const char slash[] = "/";

void gw_http_limits_default(struct gw_http_limits *l)
{
	l->max_head = 64 * 1024;
	l->max_line = 8 * 1024;
	l->max_headers = 100;
}

/* a zero field means "default", so a zeroed struct is usable as is */
static void limits_resolve(struct gw_http_limits *out, const struct gw_http_limits *in)
{
	gw_http_limits_default(out);
	if (!in)
		return;
	if (in->max_head)
		out->max_head = in->max_head;
	if (in->max_line)
		out->max_line = in->max_line;
	if (in->max_headers)
		out->max_headers = in->max_headers;
}

bool gw_slice_eq(struct gw_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* eq_lower() : p[0..n) equals the lower-case literal lit, ignoring ASCII case */
static bool eq_lower(const char *p, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(p[i]) != lower(lit[i]))
			return false;
	return true;
}

bool gw_slice_casecmp(struct gw_slice s, const char *lit)
{
	return eq_lower(s.p, s.len, lit, strlen(lit));
}

const struct gw_http_header *gw_http_find_header(const struct gw_http_header *h, size_t n,
						 const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (eq_lower(h[i].name.p, h[i].name.len, name, nl))
			return &h[i];
	return NULL;
}

const char *gw_http_status_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}

static const char *const err_text[GW_HTTP_E__COUNT] = {
	[GW_HTTP_E_NONE] = "no error",
	[GW_HTTP_E_SYNTAX] = "malformed start line",
	[GW_HTTP_E_METHOD] = "method is not a token",
	[GW_HTTP_E_TARGET] = "invalid request-target",
	[GW_HTTP_E_VERSION_SYNTAX] = "malformed HTTP version",
	[GW_HTTP_E_VERSION] = "HTTP version not supported",
	[GW_HTTP_E_BARE_LF] = "LF without CR",
	[GW_HTTP_E_BARE_CR] = "CR without LF",
	[GW_HTTP_E_HDR_NAME] = "invalid field name",
	[GW_HTTP_E_HDR_WS_COLON] = "whitespace before colon",
	[GW_HTTP_E_HDR_VALUE] = "control character in field value",
	[GW_HTTP_E_OBS_FOLD] = "obsolete line folding",
	[GW_HTTP_E_CL_INVALID] = "invalid Content-Length",
	[GW_HTTP_E_CL_CONFLICT] = "conflicting Content-Length values",
	[GW_HTTP_E_TE_CL] = "both Transfer-Encoding and Content-Length",
	[GW_HTTP_E_TE_INVALID] = "malformed Transfer-Encoding",
	[GW_HTTP_E_TE_NOT_CHUNKED] = "final transfer coding is not chunked",
	[GW_HTTP_E_TE_CHUNKED_TWICE] = "chunked applied more than once",
	[GW_HTTP_E_TE_UNKNOWN] = "unknown transfer coding",
	[GW_HTTP_E_TE_HTTP10] = "Transfer-Encoding in HTTP/1.0",
	[GW_HTTP_E_HOST_MISSING] = "missing Host",
	[GW_HTTP_E_HOST_DUP] = "more than one Host",
	[GW_HTTP_E_HOST_INVALID] = "invalid Host",
	[GW_HTTP_E_CONNECTION] = "invalid Connection option",
	[GW_HTTP_E_UPGRADE_DUP] = "more than one Upgrade",
	[GW_HTTP_E_STATUS] = "invalid status code",
	[GW_HTTP_E_LINE_TOO_LONG] = "request line too long",
	[GW_HTTP_E_HEAD_TOO_BIG] = "header section too large",
	[GW_HTTP_E_TOO_MANY_HEADERS] = "too many header fields",
};

const char *gw_http1_strerror(int err)
{
	if (err < 0 || err >= GW_HTTP_E__COUNT)
		return "unknown error";
	return err_text[err];
}

int gw_http1_err_status(int err)
{
	switch (err) {
	case GW_HTTP_E_VERSION: return 505;
	case GW_HTTP_E_TE_UNKNOWN: return 501;
	case GW_HTTP_E_LINE_TOO_LONG: return 414;
	case GW_HTTP_E_HEAD_TOO_BIG:
	case GW_HTTP_E_TOO_MANY_HEADERS: return 431;
	default: return 400;
	}
}

/* ---- head parsing -------------------------------------------------------- */

/* parse state shared by the request and response parsers; lives on the stack */
struct hp {
	const char *buf;
	const char *p;      /* next byte to read */
	const char *end;    /* end of readable input: min(len, max_head) */
	bool end_is_limit;  /* running out of input at end means the head is too big */
	int err;            /* GW_HTTP_E_* on failure */
	bool is_request;
	uint8_t minor;

	struct gw_http_header *hdrs;
	size_t max_headers;
	size_t n;

	/* framing facts accumulated field by field */
	int64_t cl;
	bool cl_seen;
	bool te_seen;
	bool te_chunked;       /* chunked appeared */
	bool te_final_chunked; /* the last coding seen so far is chunked */
	bool te_unknown;
	unsigned int host_count;
	struct gw_slice host;
	bool c_close, c_keepalive, c_upgrade;
	unsigned int upgrade_count;
	struct gw_slice upgrade;
	bool expect_continue, expect_unknown;
};

/* ran_out() : input ended before the head did: wait for more, unless the
 * head can no longer fit in max_head */
static int ran_out(struct hp *h)
{
	if (h->end_is_limit) {
		h->err = GW_HTTP_E_HEAD_TOO_BIG;
		return -E2BIG;
	}
	return -EAGAIN;
}

static int fail(struct hp *h, int err)
{
	h->err = err;
	return -EBADMSG;
}

/* list_next() : next comma-separated member of v[*off..len) with OWS trimmed.
 * Returns false at the end of the list. Empty members come back with len 0;
 * each caller decides whether they are tolerated. */
static bool list_next(const char *v, size_t len, size_t *off, struct gw_slice *m)
{
	size_t i = *off, s, e;

	if (i > len)
		return false;
	while (i < len && is_ows(v[i]))
		i++;
	s = i;
	while (i < len && v[i] != ',')
		i++;
	e = i;
	while (e > s && is_ows(v[e - 1]))
		e--;
	m->p = v + s;
	m->len = e - s;
	*off = i + 1; /* past the comma, or len + 1 at the end */
	return true;
}

static bool all_tchar(struct gw_slice s)
{
	if (!s.len)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_c(s.p[i], C_TCHAR))
			return false;
	return true;
}

/* Content-Length = 1*DIGIT; a list of identical values ("5, 5") is what two
 * intermediaries folding duplicate lines produce, so it is accepted (RFC 9110
 * §8.6), and every value on every line must agree. */
static int on_content_length(struct hp *h, const char *v, size_t len)
{
	struct gw_slice m;
	size_t off = 0;

	if (!len)
		return fail(h, GW_HTTP_E_CL_INVALID);
	while (list_next(v, len, &off, &m)) {
		int64_t n = 0;

		if (!m.len)
			return fail(h, GW_HTTP_E_CL_INVALID);
		for (size_t i = 0; i < m.len; i++) {
			if (!is_digit(m.p[i]))
				return fail(h, GW_HTTP_E_CL_INVALID);
			int d = m.p[i] - '0';

			if (n > (INT64_MAX - d) / 10)
				return fail(h, GW_HTTP_E_CL_INVALID);
			n = n * 10 + d;
		}
		if (h->cl_seen && n != h->cl)
			return fail(h, GW_HTTP_E_CL_CONFLICT);
		h->cl = n;
		h->cl_seen = true;
	}
	return 0;
}

/* codings a request may carry before the final chunked; anything else would
 * have to be decoded by us or the backend with no agreed meaning (501) */
static bool known_coding(struct gw_slice m)
{
	return gw_slice_casecmp(m, "gzip") || gw_slice_casecmp(m, "x-gzip") ||
	       gw_slice_casecmp(m, "deflate") || gw_slice_casecmp(m, "compress") ||
	       gw_slice_casecmp(m, "x-compress");
}

/* Transfer-Encoding: lines form one list. Members must be bare tokens: no
 * empty members (",chunked"), no parameters; chunked at most once. */
static int on_transfer_encoding(struct hp *h, const char *v, size_t len)
{
	struct gw_slice m;
	size_t off = 0;

	if (!len)
		return fail(h, GW_HTTP_E_TE_INVALID);
	h->te_seen = true;
	while (list_next(v, len, &off, &m)) {
		if (!all_tchar(m))
			return fail(h, GW_HTTP_E_TE_INVALID);
		if (gw_slice_casecmp(m, "chunked")) {
			if (h->te_chunked)
				return fail(h, GW_HTTP_E_TE_CHUNKED_TWICE);
			h->te_chunked = true;
			h->te_final_chunked = true;
		} else {
			h->te_final_chunked = false;
			if (!known_coding(m))
				h->te_unknown = true;
		}
	}
	return 0;
}

static int on_connection(struct hp *h, const char *v, size_t len)
{
	struct gw_slice m;
	size_t off = 0;

	while (list_next(v, len, &off, &m)) {
		if (!m.len)
			continue; /* RFC 9110 §5.6.1: empty members are ignored */
		if (!all_tchar(m))
			return fail(h, GW_HTTP_E_CONNECTION);
		if (gw_slice_casecmp(m, "close"))
			h->c_close = true;
		else if (gw_slice_casecmp(m, "keep-alive"))
			h->c_keepalive = true;
		else if (gw_slice_casecmp(m, "upgrade"))
			h->c_upgrade = true;
	}
	return 0;
}

static void on_expect(struct hp *h, const char *v, size_t len)
{
	struct gw_slice m;
	size_t off = 0;

	while (list_next(v, len, &off, &m)) {
		if (!m.len)
			continue;
		if (gw_slice_casecmp(m, "100-continue"))
			h->expect_continue = true;
		else
			h->expect_unknown = true;
	}
}

/* valid_authority() : uri-host [ ":" port ] characters only; empty allowed
 * (RFC 9112 §3.2: an empty Host is valid when the target has no authority) */
static bool valid_authority(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_c(v[i], C_HOST))
			return false;
	return true;
}

/* on_field() : one field line, already syntax-checked; picks out the fields
 * that decide framing, routing and connection handling */
static int on_field(struct hp *h, const char *name, size_t nl, const char *v, size_t vl)
{
	switch (nl) {
	case 4:
		if (h->is_request && eq_lower(name, nl, "host", 4)) {
			if (!valid_authority(v, vl))
				return fail(h, GW_HTTP_E_HOST_INVALID);
			h->host_count++;
			h->host.p = v;
			h->host.len = vl;
		}
		break;
	case 6:
		if (h->is_request && eq_lower(name, nl, "expect", 6))
			on_expect(h, v, vl);
		break;
	case 7:
		if (eq_lower(name, nl, "upgrade", 7)) {
			h->upgrade_count++;
			h->upgrade.p = v;
			h->upgrade.len = vl;
		}
		break;
	case 10:
		if (eq_lower(name, nl, "connection", 10))
			return on_connection(h, v, vl);
		break;
	case 14:
		if (eq_lower(name, nl, "content-length", 14))
			return on_content_length(h, v, vl);
		break;
	case 17:
		if (eq_lower(name, nl, "transfer-encoding", 17))
			return on_transfer_encoding(h, v, vl);
		break;
	}
	return 0;
}

/* parse_fields() : field lines up to and including the empty line.
 * Returns 0 with h->p after the final CRLF, or a negative error. */
static int parse_fields(struct hp *h)
{
	const char *p = h->p, *end = h->end;
	int err;

	for (;;) {
		const char *ns, *ne, *vs, *ve;

		if (p == end)
			return ran_out(h);
		if (*p == '\r') {
			if (p + 1 == end)
				return ran_out(h);
			if (p[1] != '\n')
				return fail(h, GW_HTTP_E_BARE_CR);
			h->p = p + 2;
			return 0;
		}
		if (*p == '\n')
			return fail(h, GW_HTTP_E_BARE_LF);
		/* after a field: obs-fold; after the start line: the whitespace
		 * RFC 9112 §2.2 says to reject; either way ambiguous */
		if (is_ows(*p))
			return fail(h, GW_HTTP_E_OBS_FOLD);
		if (h->n >= h->max_headers) {
			h->err = GW_HTTP_E_TOO_MANY_HEADERS;
			return -E2BIG;
		}

		ns = p;
		while (p < end && is_c(*p, C_TCHAR))
			p++;
		if (p == end)
			return ran_out(h);
		if (*p != ':')
			return fail(h, is_ows(*p) && p != ns ? GW_HTTP_E_HDR_WS_COLON :
				       GW_HTTP_E_HDR_NAME);
		if (p == ns)
			return fail(h, GW_HTTP_E_HDR_NAME);
		ne = p++;

		while (p < end && is_ows(*p))
			p++;
		vs = p;
		p = skip_value(p, end);
		if (p == end)
			return ran_out(h);
		if (*p != '\r')
			return fail(h, *p == '\n' ? GW_HTTP_E_BARE_LF : GW_HTTP_E_HDR_VALUE);
		ve = p;
		while (ve > vs && is_ows(ve[-1]))
			ve--;
		if (p + 1 == end)
			return ran_out(h);
		if (p[1] != '\n')
			return fail(h, GW_HTTP_E_BARE_CR);
		p += 2;

		if (h->hdrs) {
			struct gw_http_header *hd = &h->hdrs[h->n];

			hd->name.p = ns;
			hd->name.len = (size_t)(ne - ns);
			hd->value.p = vs;
			hd->value.len = (size_t)(ve - vs);
		}
		h->n++;
		err = on_field(h, ns, (size_t)(ne - ns), vs, (size_t)(ve - vs));
		if (err)
			return err;
	}
}

/* parse_version() : "HTTP/" DIGIT "." DIGIT at *pp, bounded by lend.
 * Returns 0, -EAGAIN-style ran-out (1) or a syntax error (-EBADMSG). */
static int parse_version(struct hp *h, const char **pp, const char *lend, int *major, int *minor)
{
	static const char pfx[] = "HTTP/";
	const char *p = *pp;

	for (size_t i = 0; i < sizeof(pfx) - 1; i++, p++) {
		if (p == lend)
			return 1;
		if (*p != pfx[i])
			return fail(h, GW_HTTP_E_VERSION_SYNTAX);
	}
	if (p == lend)
		return 1;
	if (!is_digit(*p))
		return fail(h, GW_HTTP_E_VERSION_SYNTAX);
	*major = *p++ - '0';
	if (p == lend)
		return 1;
	if (*p++ != '.')
		return fail(h, GW_HTTP_E_VERSION_SYNTAX);
	if (p == lend)
		return 1;
	if (!is_digit(*p))
		return fail(h, GW_HTTP_E_VERSION_SYNTAX);
	*minor = *p++ - '0';
	*pp = p;
	return 0;
}

/* line_window() : how far a start line beginning at ls may be read, and
 * whether hitting that point means "too long" rather than "need more" */
static const char *line_window(struct hp *h, const char *ls, size_t max_line, bool *trunc)
{
	/* content of max_line bytes plus its CRLF */
	if ((size_t)(h->end - ls) > max_line + 2) {
		*trunc = true;
		return ls + max_line + 2;
	}
	*trunc = false;
	return h->end;
}

static int line_ran_out(struct hp *h, bool trunc)
{
	if (trunc) {
		h->err = GW_HTTP_E_LINE_TOO_LONG;
		return -E2BIG;
	}
	return ran_out(h);
}

/* end_of_line() : expects CRLF at *pp; -EBADMSG for a bare CR/LF or any
 * other byte (reported as err_other) */
static int end_of_line(struct hp *h, const char **pp, const char *lend, bool trunc, int err_other)
{
	const char *p = *pp;

	if (p == lend)
		return line_ran_out(h, trunc);
	if (*p == '\n')
		return fail(h, GW_HTTP_E_BARE_LF);
	if (*p != '\r')
		return fail(h, err_other);
	if (++p == lend)
		return line_ran_out(h, trunc);
	if (*p != '\n')
		return fail(h, GW_HTTP_E_BARE_CR);
	*pp = p + 1;
	return 0;
}

/* split_target() : classifies the request-target (RFC 9112 §3.2) and fills
 * path, query and authority; the form must suit the method */
static int split_target(struct hp *h, struct gw_http_req *req)
{
	const char *t = req->target.p, *te = t + req->target.len, *p;
	bool connect = gw_slice_eq(req->method, "CONNECT");

	if (connect) {
		/* authority-form: uri-host ":" port, nothing else */
		const char *colon = NULL;

		for (p = t; p < te; p++) {
			if (!is_c(*p, C_HOST))
				return fail(h, GW_HTTP_E_TARGET);
			if (*p == ':')
				colon = p;
		}
		if (!colon || colon == t || colon + 1 == te)
			return fail(h, GW_HTTP_E_TARGET);
		for (p = colon + 1; p < te; p++)
			if (!is_digit(*p))
				return fail(h, GW_HTTP_E_TARGET);
		req->authority = req->target;
		req->path.p = te;
		req->path.len = 0;
		return 0;
	}

	if (*t == '*') {
		if (req->target.len != 1 || !gw_slice_eq(req->method, "OPTIONS"))
			return fail(h, GW_HTTP_E_TARGET);
		req->path = req->target;
		return 0;
	}

	if (*t != '/') {
		/* absolute-form: only http and https make sense at a gateway */
		size_t skip;

		if (req->target.len > 7 && eq_lower(t, 7, "http://", 7))
			skip = 7;
		else if (req->target.len > 8 && eq_lower(t, 8, "https://", 8))
			skip = 8;
		else
			return fail(h, GW_HTTP_E_TARGET);
		p = t + skip;
		req->authority.p = p;
		while (p < te && *p != '/' && *p != '?') {
			/* userinfo ('@') is refused: RFC 9110 §4.2.4 */
			if (!is_c(*p, C_HOST))
				return fail(h, GW_HTTP_E_TARGET);
			p++;
		}
		req->authority.len = (size_t)(p - req->authority.p);
		/* RFC 9110 §4.2.1: an empty host must be rejected ("http://:80/") */
		if (!req->authority.len || req->authority.p[0] == ':')
			return fail(h, GW_HTTP_E_TARGET);
		t = p;
		if (t == te || *t == '?') {
			req->path.p = slash;
			req->path.len = 1;
			goto query;
		}
	}

	req->path.p = t;
	for (p = t; p < te && *p != '?'; p++)
		;
	req->path.len = (size_t)(p - t);
	t = p;
query:
	if (t < te && *t == '?') {
		req->query.p = t + 1;
		req->query.len = (size_t)(te - t - 1);
	}
	return 0;
}

static void hp_init(struct hp *h, const char *buf, size_t len, const struct gw_http_limits *lim,
		    struct gw_http_header *hdrs, bool is_request)
{
	memset(h, 0, sizeof(*h));
	h->buf = buf;
	h->p = buf;
	h->is_request = is_request;
	if (len >= lim->max_head) {
		h->end = buf + lim->max_head;
		h->end_is_limit = true;
	} else {
		h->end = buf + len;
	}
	h->hdrs = hdrs;
	h->max_headers = lim->max_headers;
	h->cl = -1;
}

static void framing_init(struct gw_http_framing *fr)
{
	memset(fr, 0, sizeof(*fr));
	fr->content_length = -1;
}

static int parse_request(struct hp *h, struct gw_http_req *req, const struct gw_http_limits *lim)
{
	const char *p, *ls, *lend;
	int major = 0, minor = 0, err;
	bool trunc;

	/* RFC 9112 §2.2: ignore empty lines before the request line (a client
	 * may send a stray CRLF after a POST body); bare LF is still refused */
	p = h->p;
	for (;;) {
		if (p == h->end)
			return ran_out(h);
		if (*p == '\n')
			return fail(h, GW_HTTP_E_BARE_LF);
		if (*p != '\r')
			break;
		if (p + 1 == h->end)
			return ran_out(h);
		if (p[1] != '\n')
			return fail(h, GW_HTTP_E_BARE_CR);
		p += 2;
	}

	ls = p;
	lend = line_window(h, ls, lim->max_line, &trunc);

	req->method.p = p;
	while (p < lend && is_c(*p, C_TCHAR))
		p++;
	if (p == lend)
		return line_ran_out(h, trunc);
	if (*p != ' ' || p == ls)
		return fail(h, *p == '\n' ? GW_HTTP_E_BARE_LF : GW_HTTP_E_METHOD);
	req->method.len = (size_t)(p - ls);
	p++;

	req->target.p = p;
	while (p < lend && is_c(*p, C_TARGET))
		p++;
	if (p == lend)
		return line_ran_out(h, trunc);
	if (*p != ' ' || p == req->target.p)
		/* CR right after the target is HTTP/0.9, which is refused */
		return fail(h, *p == '\r' ? GW_HTTP_E_VERSION_SYNTAX :
			       *p == '\n' ? GW_HTTP_E_BARE_LF : GW_HTTP_E_TARGET);
	req->target.len = (size_t)(p - req->target.p);
	p++;

	err = parse_version(h, &p, lend, &major, &minor);
	if (err)
		return err > 0 ? line_ran_out(h, trunc) : err;
	err = end_of_line(h, &p, lend, trunc, GW_HTTP_E_VERSION_SYNTAX);
	if (err)
		return err;
	if ((size_t)(p - 2 - ls) > lim->max_line) {
		h->err = GW_HTTP_E_LINE_TOO_LONG;
		return -E2BIG;
	}
	if (major != 1 || minor > 1)
		return fail(h, GW_HTTP_E_VERSION);
	h->minor = (uint8_t)minor;
	req->version_minor = (uint8_t)minor;

	err = split_target(h, req);
	if (err)
		return err;

	h->p = p;
	err = parse_fields(h);
	if (err)
		return err;

	/* framing, in the order RFC 9112 §6.1/§6.3 reasons about it */
	if (h->te_seen) {
		if (minor == 0)
			return fail(h, GW_HTTP_E_TE_HTTP10);
		if (h->cl_seen)
			return fail(h, GW_HTTP_E_TE_CL);
		if (h->te_unknown)
			return fail(h, GW_HTTP_E_TE_UNKNOWN);
		if (!h->te_final_chunked)
			return fail(h, GW_HTTP_E_TE_NOT_CHUNKED);
		req->fr.chunked = true;
	} else if (h->cl_seen) {
		req->fr.content_length = h->cl;
	}

	if (h->host_count > 1)
		return fail(h, GW_HTTP_E_HOST_DUP);
	if (minor == 1 && h->host_count == 0)
		return fail(h, GW_HTTP_E_HOST_MISSING);
	/* RFC 9112 §3.2.2: the target's authority wins over Host */
	req->host = req->authority.len ? req->authority : h->host;

	req->fr.conn_close = minor == 1 ? h->c_close : (h->c_close || !h->c_keepalive);
	if (h->upgrade_count > 1)
		return fail(h, GW_HTTP_E_UPGRADE_DUP);
	/* RFC 9110 §7.8: Upgrade in HTTP/1.0 is ignored, and it only counts when
	 * Connection lists it (otherwise a proxy upstream of us added it) */
	if (minor == 1 && h->c_upgrade && h->upgrade_count == 1) {
		req->fr.upgrade = true;
		req->fr.upgrade_proto = h->upgrade;
	}
	/* RFC 9110 §10.1.1: a 100-continue expectation in HTTP/1.0 is ignored */
	if (minor == 1) {
		req->fr.expect_continue = h->expect_continue;
		req->fr.expect_unknown = h->expect_unknown;
	}
	return (int)(h->p - h->buf);
}

int gw_http1_parse_request(const char *buf, size_t len, struct gw_http_req *req,
			   const struct gw_http_limits *lim)
{
	struct gw_http_limits l;
	struct hp h;
	int ret;

	limits_resolve(&l, lim);
	hp_init(&h, buf, len, &l, req->headers, true);
	memset(&req->method, 0, sizeof(req->method));
	req->target = req->path = req->query = req->authority = req->host = req->method;
	req->version_minor = 0;
	req->n_headers = 0;
	framing_init(&req->fr);
	req->err = 0;

	ret = parse_request(&h, req, &l);
	req->n_headers = h.n;
	if (ret == -EBADMSG || ret == -E2BIG)
		req->err = h.err;
	return ret;
}

static int parse_response(struct hp *h, struct gw_http_resp *resp, const struct gw_http_limits *lim)
{
	const char *p = h->p, *lend;
	int major = 0, minor = 0, status = 0, err;
	bool trunc;

	lend = line_window(h, p, lim->max_line, &trunc);
	err = parse_version(h, &p, lend, &major, &minor);
	if (err)
		return err > 0 ? line_ran_out(h, trunc) : err;
	if (p == lend)
		return line_ran_out(h, trunc);
	if (*p++ != ' ')
		return fail(h, GW_HTTP_E_SYNTAX);
	for (int i = 0; i < 3; i++, p++) {
		if (p == lend)
			return line_ran_out(h, trunc);
		if (!is_digit(*p))
			return fail(h, GW_HTTP_E_STATUS);
		status = status * 10 + (*p - '0');
	}
	if (p == lend)
		return line_ran_out(h, trunc);
	/* "HTTP/1.1 200\r\n": the SP before an empty reason is missing so
	 * often that requiring it would only break backends, not protect us */
	resp->reason.p = p;
	if (*p == ' ') {
		resp->reason.p = ++p;
		while (p < lend && is_c(*p, C_VALUE))
			p++;
	}
	resp->reason.len = (size_t)(p - resp->reason.p);
	/* a fourth digit ("2000") is a bad status, anything else bad syntax */
	err = end_of_line(h, &p, lend, trunc,
			  p < lend && is_digit(*p) ? GW_HTTP_E_STATUS : GW_HTTP_E_SYNTAX);
	if (err)
		return err;
	if (major != 1 || minor > 1)
		return fail(h, GW_HTTP_E_VERSION);
	if (status < 100 || status > 599)
		return fail(h, GW_HTTP_E_STATUS);
	resp->status = status;
	resp->version_minor = (uint8_t)minor;
	h->minor = (uint8_t)minor;

	h->p = p;
	err = parse_fields(h);
	if (err)
		return err;

	if (h->te_seen && minor == 0)
		return fail(h, GW_HTTP_E_TE_HTTP10);
	/* a proxy must not guess which one the backend meant (502) */
	if (h->te_seen && h->cl_seen)
		return fail(h, GW_HTTP_E_TE_CL);

	resp->fr.conn_close = minor == 1 ? h->c_close : (h->c_close || !h->c_keepalive);
	if (h->upgrade_count > 1)
		return fail(h, GW_HTTP_E_UPGRADE_DUP);
	if (h->c_upgrade && h->upgrade_count == 1) {
		resp->fr.upgrade = true;
		resp->fr.upgrade_proto = h->upgrade;
	}

	/* RFC 9112 §6.3: 1xx, 204 and 304 never have a body, whatever their
	 * fields say; HEAD responses are the caller's to recognise */
	if (status < 200 || status == 204 || status == 304) {
		resp->fr.content_length = 0;
	} else if (h->te_seen) {
		if (h->te_final_chunked) {
			resp->fr.chunked = true;
		} else {
			/* §6.3(3): not chunked last: read until close */
			resp->fr.conn_close = true;
		}
	} else if (h->cl_seen) {
		resp->fr.content_length = h->cl;
	} else {
		/* close-delimited: content_length -1 and not chunked */
		resp->fr.conn_close = true;
	}
	return (int)(h->p - h->buf);
}

int gw_http1_parse_response(const char *buf, size_t len, struct gw_http_resp *resp,
			    const struct gw_http_limits *lim)
{
	struct gw_http_limits l;
	struct hp h;
	int ret;

	limits_resolve(&l, lim);
	hp_init(&h, buf, len, &l, resp->headers, false);
	resp->status = 0;
	resp->reason.p = NULL;
	resp->reason.len = 0;
	resp->version_minor = 0;
	resp->n_headers = 0;
	framing_init(&resp->fr);
	resp->err = 0;

	ret = parse_response(&h, resp, &l);
	resp->n_headers = h.n;
	if (ret == -EBADMSG || ret == -E2BIG)
		resp->err = h.err;
	return ret;
}

/* ---- chunked bodies (RFC 9112 §7.1) -------------------------------------- */

enum {
	CS_SIZE = 0,  /* chunk-size hex digits (all-zero state = start) */
	CS_EXT_BWS,   /* whitespace after the size: only ';' may follow */
	CS_EXT,       /* chunk-ext, up to CR */
	CS_SIZE_LF,   /* LF ending the size line */
	CS_DATA,      /* chunk data, st->left bytes to go */
	CS_DATA_CR,   /* CR after the data */
	CS_DATA_LF,   /* LF after the data */
	CS_TR_START,  /* start of a trailer line (or the final CRLF) */
	CS_TR_NAME,   /* trailer field name; st->left holds its running hash */
	CS_TR_VALUE,  /* trailer field value */
	CS_TR_LF,     /* LF ending a trailer line */
	CS_END_LF,    /* LF ending the message */
	CS_DONE,
	CS_ERROR,     /* sticky: nothing is parsed after a framing error */
};

/* FNV-1a over the lower-cased name: lets the walker recognise a trailer name
 * that arrives split across calls without keeping the name itself */
#define FNV_INIT  0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_step(uint64_t hsh, char c)
{
	return (hsh ^ (uint8_t)lower(c)) * FNV_PRIME;
}

/* Fields that must not come from trailers (RFC 9110 §6.5.1): framing,
 * routing, connection management and authentication. The walker relays
 * trailers verbatim, so it cannot drop them; it refuses the message. */
static bool forbidden_trailer(uint64_t hsh)
{
	static const char *const names[] = {
		"content-length", "transfer-encoding", "host", "trailer", "te",
		"connection", "keep-alive", "upgrade", "expect", "proxy-connection",
		"content-encoding", "content-range", "authorization", "proxy-authorization",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		uint64_t x = FNV_INIT;

		for (const char *c = names[i]; *c; c++)
			x = fnv_step(x, *c);
		if (x == hsh)
			return true;
	}
	return false;
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return lower(c) - 'a' + 10;
}

/* chunked_walk() : the walker behind gw_chunked_feed() and
 * gw_chunked_decode(); out != NULL moves data bytes to out[*data_len..] */
static int chunked_walk(struct gw_chunk_state *st, const char *buf, size_t len, size_t *consumed,
			char *out, size_t *data_len)
{
	size_t i = 0, w = 0;
	int ret = 0;

	if (st->state == CS_DONE) {
		ret = 1;
		goto out;
	}
	if (st->state == CS_ERROR)
		goto bad;

	while (i < len) {
		char c = buf[i];

		switch (st->state) {
		case CS_SIZE:
			if (is_c(c, C_HEX)) {
				if (st->left > (GW_CHUNK_MAX_SIZE >> 4))
					goto bad;
				st->left = (st->left << 4) | (uint64_t)hexval(c);
				if (st->left > GW_CHUNK_MAX_SIZE)
					goto bad;
			} else if (st->line_len == 0) {
				goto bad; /* no digits: "0x", "+1", " 1", ";ext" */
			} else if (c == ';') {
				st->state = CS_EXT;
			} else if (is_ows(c)) {
				st->state = CS_EXT_BWS;
			} else if (c == '\r') {
				st->state = CS_SIZE_LF;
			} else {
				goto bad;
			}
			break;
		case CS_EXT_BWS:
			if (c == ';')
				st->state = CS_EXT;
			else if (!is_ows(c))
				goto bad;
			break;
		case CS_EXT:
			/* extensions are relayed, never interpreted: only the
			 * bytes that could change framing (CTLs, CR, LF) matter */
			if (c == '\r')
				st->state = CS_SIZE_LF;
			else if (!is_c(c, C_VALUE))
				goto bad;
			break;
		case CS_SIZE_LF:
			if (c != '\n')
				goto bad;
			st->line_len = 0;
			if (st->left == 0) {
				st->trailer_bytes = 0;
				st->state = CS_TR_START;
			} else {
				st->state = CS_DATA;
			}
			i++;
			continue;
		case CS_DATA: {
			size_t n = GW_MIN((uint64_t)(len - i), st->left);

			if (out) {
				memmove(out + w, buf + i, n);
				w += n;
			}
			i += n;
			st->left -= n;
			if (!st->left)
				st->state = CS_DATA_CR;
			continue;
		}
		case CS_DATA_CR:
			if (c != '\r')
				goto bad; /* data longer than its size, or bare LF */
			st->state = CS_DATA_LF;
			break;
		case CS_DATA_LF:
			if (c != '\n')
				goto bad;
			st->state = CS_SIZE;
			st->left = 0;
			st->line_len = 0;
			i++;
			continue;
		case CS_TR_START:
			if (c == '\r') {
				st->state = CS_END_LF;
			} else if (is_c(c, C_TCHAR)) {
				st->left = fnv_step(FNV_INIT, c);
				st->state = CS_TR_NAME;
			} else {
				goto bad; /* obs-fold, bare LF, junk */
			}
			break;
		case CS_TR_NAME:
			if (is_c(c, C_TCHAR)) {
				st->left = fnv_step(st->left, c);
			} else if (c == ':') {
				if (forbidden_trailer(st->left))
					goto bad;
				st->state = CS_TR_VALUE;
			} else {
				goto bad;
			}
			break;
		case CS_TR_VALUE:
			if (c == '\r')
				st->state = CS_TR_LF;
			else if (!is_c(c, C_VALUE))
				goto bad;
			break;
		case CS_TR_LF:
			if (c != '\n')
				goto bad;
			st->state = CS_TR_START;
			break;
		case CS_END_LF:
			if (c != '\n')
				goto bad;
			st->state = CS_DONE;
			i++;
			ret = 1;
			goto out;
		default:
			goto bad;
		}

		/* bytes of the size line or of the trailer section */
		if (st->state >= CS_TR_START) {
			if (++st->trailer_bytes > GW_CHUNK_MAX_TRAILERS)
				goto bad;
		} else if (st->state != CS_SIZE_LF && ++st->line_len > GW_CHUNK_MAX_LINE) {
			/* the size line, extensions included, CRLF excluded */
			goto bad;
		}
		i++;
	}
out:
	*consumed = i;
	if (data_len)
		*data_len = w;
	return ret;
bad:
	st->state = CS_ERROR;
	ret = -EBADMSG;
	goto out;
}

int gw_chunked_feed(struct gw_chunk_state *st, const char *buf, size_t len, size_t *consumed)
{
	return chunked_walk(st, buf, len, consumed, NULL, NULL);
}

int gw_chunked_decode(struct gw_chunk_state *st, char *buf, size_t len, size_t *consumed,
		      size_t *data_len)
{
	size_t dl = 0;
	int ret = chunked_walk(st, buf, len, consumed, buf, &dl);

	*data_len = dl;
	return ret;
}
