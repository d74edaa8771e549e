/* tools/echo/echo.c - gwbpf-echo, the backend the conformance runner and the
 * integration tests put behind gwbpf.
 *
 * It answers every request with the JSON document the upstream Gateway API
 * conformance echo server (conformance/echo-basic) returns, field for field,
 * so case files can assert what the backend saw (path, host, method, headers,
 * which pod and namespace served it) exactly as the upstream suite does. It
 * also mirrors the echo server's side doors the suite relies on:
 *   /status/NNN              answers with status NNN and an empty body
 *   /health                  answers "OK"
 *   ?delay=DURATION          holds the answer back (Go duration syntax)
 *   X-Echo-Set-Header: a:b   sets response headers
 *   Upgrade: websocket       RFC 6455 handshake, then echoes frames back
 *   /retry/...?responseCode=C&succeedAfter=N&uuid=U
 *                            retry simulation: the first N requests carrying
 *                            uuid U answer C (empty body), later ones echo
 *
 * One thread, one epoll loop, non-blocking sockets. Requests on a connection
 * are answered strictly in order (pipelining), bodies (Content-Length or
 * chunked) are read and discarded, and parsing is strict: anything ambiguous
 * gets a 400 and the connection is closed, so the echo never hides a proxy
 * that forwards a malformed message.
 */
/* sys/epoll.h goes before gwbpf/api.h: its union epoll_data has members
 * named u32/u64, which api.h poisons for user code */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "gwbpf/log.h"

#include "echo_grpc.h" /* --h2c / --grpc modes (echo_grpc.c) */
#include "echo_l4.h"   /* --tcp/--tls/--raw/--udp/--https modes (echo_l4.c) */

#define ECHO_MAX_LISTEN  16
#define ECHO_MAX_HEAD    (256 * 1024)       /* request line + headers */
#define ECHO_MAX_HEADERS 256
#define ECHO_MAX_WSFRAME (16 * 1024 * 1024) /* one buffered WebSocket frame */
#define ECHO_READ_CHUNK  16384

/* what the echo says about where it runs (echo-basic's Context) */
struct echo_ctx {
	const char *namespace;
	const char *ingress;
	const char *service;
	const char *pod;
};

/* growable byte string; all-zero is an empty string with no storage */
struct echo_str {
	char *p;
	size_t len, cap;
};

enum echo_state {
	ST_HEAD,    /* waiting for a complete request head */
	ST_BODY_CL, /* discarding body_left bytes */
	ST_BODY_CH, /* discarding a chunked body */
	ST_READY,   /* body consumed; answer when due (delay) */
	ST_WS,      /* upgraded: echoing WebSocket frames */
	ST_CLOSING, /* flush output then close */
};

enum chunk_state {
	CH_SIZE,       /* hex digits of the chunk size */
	CH_EXT,        /* chunk extension up to CR */
	CH_SIZE_LF,    /* LF after the size line */
	CH_DATA,       /* chunk data */
	CH_DATA_CR,    /* CR after data */
	CH_DATA_LF,    /* LF after data */
	CH_TRAILER,    /* start of a trailer line (CR means end) */
	CH_TRAILER_TX, /* inside a trailer field line */
	CH_TRAILER_LF, /* LF after a trailer line */
	CH_END_LF,     /* final LF of the body */
};

struct echo_conn {
	int fd;
	enum echo_state st;
	struct echo_str in;    /* unconsumed input at in.p[in_off..in.len) */
	size_t in_off;
	struct echo_str out;   /* pending output at out.p[out_off..out.len) */
	size_t out_off;
	uint64_t body_left;    /* ST_BODY_CL */
	enum chunk_state ch;   /* ST_BODY_CH */
	uint64_t ch_left;      /* data bytes left in the current chunk */
	int ch_digits;
	struct echo_str resp;  /* the prepared answer, sent once due */
	uint64_t due_ms;       /* monotonic ms when resp may be sent; 0 = now */
	bool close_after;      /* close once resp is flushed */
	bool ws_after;         /* switch to ST_WS once resp is queued */
	bool want_out;         /* EPOLLOUT registered */
	bool eof;              /* peer finished sending; EPOLLIN no longer watched */
	char peer[64];         /* "addr:port" of the client, for the request log */
	struct echo_conn *next;
};

static struct echo_ctx g_ctx;
static struct echo_conn *g_conns;
static int g_epfd = -1;
static volatile sig_atomic_t g_stop;

/* ---- small helpers ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* str_reserve() : makes room for n more bytes; 0 or -ENOMEM */
static int str_reserve(struct echo_str *s, size_t n)
{
	size_t cap = s->cap ? s->cap : 256;
	char *p;

	if (s->len + n + 1 <= s->cap)
		return 0;
	while (cap < s->len + n + 1)
		cap *= 2;
	p = realloc(s->p, cap);
	if (!p)
		return -ENOMEM;
	s->p = p;
	s->cap = cap;
	return 0;
}

static int str_add(struct echo_str *s, const char *p, size_t n)
{
	if (str_reserve(s, n))
		return -ENOMEM;
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
	return 0;
}

static int str_adds(struct echo_str *s, const char *z)
{
	return str_add(s, z, strlen(z));
}

static int GW_PRINTF(2, 3) str_addf(struct echo_str *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || str_reserve(s, (size_t)n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
	return 0;
}

static void str_free(struct echo_str *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

/* json_add_string() : appends a JSON string literal the way Go's encoding/json
 * writes it (HTML-sensitive <, >, & escaped as \u00XX, invalid bytes kept). */
static int json_add_string(struct echo_str *s, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int err = str_add(s, "\"", 1);
	size_t i;

	for (i = 0; !err && i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c == '"' || c == '\\')
			err = str_add(s, (const char[]){ '\\', (char)c }, 2);
		else if (c == '\n')
			err = str_add(s, "\\n", 2);
		else if (c == '\r')
			err = str_add(s, "\\r", 2);
		else if (c == '\t')
			err = str_add(s, "\\t", 2);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			err = str_add(s, esc, 6);
		else
			err = str_add(s, (const char *)&p[i], 1);
	}
	return err ?: str_add(s, "\"", 1);
}

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* has_token() : whether comma-separated list value contains tok (any case) */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0;

	while (i < n) {
		size_t b, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		b = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > b && ieq(v + b, e - b, tok))
			return true;
	}
	return false;
}

/* ---- request head ---- */

struct echo_hdr {
	const char *name, *value;
	size_t nlen, vlen;
	char canon[128]; /* Go's canonical MIME key when it fits, else "" */
};

struct echo_req {
	const char *method, *target;
	size_t mlen, tlen;
	int minor;
	struct echo_hdr h[ECHO_MAX_HEADERS];
	size_t nh;
	const char *host;
	size_t hostlen;
	int64_t clen;      /* -1 when absent */
	bool chunked, close, upgrade_ws, expect_continue;
};

/* canonicalize() : Go's textproto.CanonicalMIMEHeaderKey: upper-case the first
 * letter and each letter after '-', lower-case the rest; a name with a byte
 * that is not a token character is left untouched. */
static void canonicalize(struct echo_hdr *h)
{
	bool upper = true, valid = true;
	size_t i;

	if (h->nlen >= sizeof(h->canon)) {
		h->canon[0] = '\0';
		return;
	}
	for (i = 0; i < h->nlen; i++)
		if (!is_tchar((unsigned char)h->name[i]))
			valid = false;
	for (i = 0; i < h->nlen; i++) {
		char c = h->name[i];

		if (valid)
			c = upper ? (char)toupper((unsigned char)c) : (char)tolower((unsigned char)c);
		h->canon[i] = c;
		upper = c == '-';
	}
	h->canon[h->nlen] = '\0';
}

/* parse_head() : strict RFC 9112 request head in p[0..n) ending in CRLF CRLF.
 * Returns 0, or an HTTP status to answer with before closing (400, 431, 501). */
static int parse_head(const char *p, size_t n, struct echo_req *r)
{
	const char *end = p + n, *q = p, *sp;
	bool have_cl = false, have_te = false;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->clen = -1;

	/* request-line = method SP request-target SP HTTP-version CRLF */
	for (sp = q; sp < end && is_tchar((unsigned char)*sp); sp++)
		;
	if (sp == q || sp >= end || *sp != ' ')
		return 400;
	r->method = q;
	r->mlen = (size_t)(sp - q);
	q = sp + 1;
	for (sp = q; sp < end && (unsigned char)*sp > ' ' && *sp != 0x7f; sp++)
		;
	if (sp == q || sp >= end || *sp != ' ')
		return 400;
	r->target = q;
	r->tlen = (size_t)(sp - q);
	q = sp + 1;
	if (end - q < 10 || memcmp(q, "HTTP/1.", 7) != 0 || (q[7] != '0' && q[7] != '1') ||
	    q[8] != '\r' || q[9] != '\n')
		/* a well-formed version we do not speak is 505, anything else 400 */
		return end - q >= 10 && memcmp(q, "HTTP/", 5) == 0 && isdigit((unsigned char)q[5]) &&
			       q[6] == '.' && isdigit((unsigned char)q[7]) && q[8] == '\r' &&
			       q[9] == '\n' ?
			       505 :
			       400;
	r->minor = q[7] - '0';
	q += 10;

	while (q < end) {
		struct echo_hdr *h;
		const char *v, *ve;

		if (q + 1 < end && q[0] == '\r' && q[1] == '\n')
			break;
		if (r->nh == ECHO_MAX_HEADERS)
			return 431;
		h = &r->h[r->nh];
		for (sp = q; sp < end && is_tchar((unsigned char)*sp); sp++)
			;
		if (sp == q || sp >= end || *sp != ':')
			return 400; /* also rejects whitespace before ':' and obs-fold */
		h->name = q;
		h->nlen = (size_t)(sp - q);
		v = sp + 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		for (ve = v; ve < end && *ve != '\r' && *ve != '\n'; ve++)
			if (((unsigned char)*ve < 0x20 && *ve != '\t') || *ve == 0x7f)
				return 400;
		if (ve + 1 >= end || ve[0] != '\r' || ve[1] != '\n')
			return 400; /* bare LF or CR */
		q = ve + 2;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		h->value = v;
		h->vlen = (size_t)(ve - v);
		canonicalize(h);
		r->nh++;

		if (ieq(h->name, h->nlen, "host")) {
			if (r->host)
				return 400; /* RFC 9112 3.2: more than one Host */
			r->host = h->value;
			r->hostlen = h->vlen;
		} else if (ieq(h->name, h->nlen, "content-length")) {
			int64_t cl = 0;

			if (h->vlen == 0 || h->vlen > 18)
				return 400;
			for (i = 0; i < h->vlen; i++) {
				if (!isdigit((unsigned char)h->value[i]))
					return 400;
				cl = cl * 10 + (h->value[i] - '0');
			}
			if (have_cl && cl != r->clen)
				return 400;
			have_cl = true;
			r->clen = cl;
		} else if (ieq(h->name, h->nlen, "transfer-encoding")) {
			const char *last = h->value + h->vlen;
			const char *c = last;

			/* the final coding must be chunked; anything else is ambiguous */
			while (c > h->value && c[-1] != ',')
				c--;
			while (c < last && (*c == ' ' || *c == '\t'))
				c++;
			if (!ieq(c, (size_t)(last - c), "chunked") || have_te)
				return have_te ? 400 : 501;
			have_te = true;
			r->chunked = true;
		} else if (ieq(h->name, h->nlen, "connection")) {
			if (has_token(h->value, h->vlen, "close"))
				r->close = true;
			if (has_token(h->value, h->vlen, "keep-alive") && r->minor == 0)
				r->close = false;
		} else if (ieq(h->name, h->nlen, "expect")) {
			if (ieq(h->value, h->vlen, "100-continue"))
				r->expect_continue = true;
		}
	}
	if (have_cl && have_te)
		return 400;
	if (r->minor == 0) {
		bool ka = false;

		for (i = 0; i < r->nh; i++)
			if (ieq(r->h[i].name, r->h[i].nlen, "connection") &&
			    has_token(r->h[i].value, r->h[i].vlen, "keep-alive"))
				ka = true;
		r->close = r->close || !ka;
	} else if (!r->host) {
		return 400; /* HTTP/1.1 requires Host (Go: "missing required Host header") */
	}
	for (i = 0; i < r->nh; i++) {
		if (ieq(r->h[i].name, r->h[i].nlen, "upgrade") &&
		    has_token(r->h[i].value, r->h[i].vlen, "websocket"))
			r->upgrade_ws = true;
	}
	return 0;
}

/* query_param() : value of key in the target's query string (not decoded);
 * false when absent */
static bool query_param(const struct echo_req *r, const char *key, const char **v, size_t *vlen)
{
	const char *q = memchr(r->target, '?', r->tlen), *end = r->target + r->tlen;
	size_t kl = strlen(key);

	while (q && q < end) {
		const char *b = q + 1, *e = b;

		while (e < end && *e != '&')
			e++;
		if ((size_t)(e - b) > kl && memcmp(b, key, kl) == 0 && b[kl] == '=') {
			*v = b + kl + 1;
			*vlen = (size_t)(e - b - kl - 1);
			return true;
		}
		q = e < end ? e : NULL;
	}
	return false;
}

/* parse_duration() : Go time.ParseDuration subset (sequence of decimal numbers
 * with units ns, us, ms, s, m, h); -EINVAL when malformed */
static int parse_duration(const char *p, size_t n, uint64_t *ms)
{
	static const struct {
		const char *u;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 }, { "s", 1000 },
		      { "m", 60000 }, { "h", 3600000 } };
	double total = 0;
	size_t i = 0;

	if (n == 1 && p[0] == '0') {
		*ms = 0;
		return 0;
	}
	if (n == 0)
		return -EINVAL;
	while (i < n) {
		double num = 0, frac = 0.1;
		bool digits = false;
		size_t u, best = ARRAY_SIZE(units), bestlen = 0;

		while (i < n && isdigit((unsigned char)p[i])) {
			num = num * 10 + (p[i++] - '0');
			digits = true;
		}
		if (i < n && p[i] == '.') {
			for (i++; i < n && isdigit((unsigned char)p[i]); i++, frac /= 10) {
				num += (p[i] - '0') * frac;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		for (u = 0; u < ARRAY_SIZE(units); u++) {
			size_t ul = strlen(units[u].u);

			if (ul <= n - i && memcmp(p + i, units[u].u, ul) == 0 && ul > bestlen) {
				best = u;
				bestlen = ul;
			}
		}
		if (best == ARRAY_SIZE(units))
			return -EINVAL;
		i += bestlen;
		total += num * units[best].ms;
	}
	if (total > 3600000.0 * 24)
		return -EINVAL;
	*ms = (uint64_t)(total + 0.5);
	return 0;
}

/* ---- retry simulation ---- */

/* echo-basic's /retry/ handler counts requests per uuid so a test can see how
 * often the gateway retried one client request. A small ring of recent uuids
 * keeps memory bounded: a probe's attempts all arrive within milliseconds, so
 * evicting the oldest uuid never matters to a test. */
#define ECHO_RETRY_SLOTS 1024
#define ECHO_RETRY_IDLEN 64

struct echo_retry_slot {
	char id[ECHO_RETRY_IDLEN];
	size_t idlen;
	unsigned int seen;
};

static struct echo_retry_slot g_retry[ECHO_RETRY_SLOTS];
static unsigned int g_retry_next;

/* retry_seen() : counts one more request for uuid (id, n); returns how many
 * came before this one */
static unsigned int retry_seen(const char *id, size_t n)
{
	struct echo_retry_slot *s;
	unsigned int i;

	if (n > ECHO_RETRY_IDLEN)
		n = ECHO_RETRY_IDLEN;
	for (i = 0; i < ECHO_RETRY_SLOTS; i++) {
		s = &g_retry[i];
		if (s->idlen == n && memcmp(s->id, id, n) == 0)
			return s->seen++;
	}
	s = &g_retry[g_retry_next++ % ECHO_RETRY_SLOTS];
	memcpy(s->id, id, n);
	s->idlen = n;
	s->seen = 1;
	return 0;
}

/* parse_uint() : decimal digits only, at most 9 of them; -EINVAL otherwise */
static int parse_uint(const char *p, size_t n, unsigned int *out)
{
	unsigned int v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -EINVAL;
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* retry_code() : for a /retry/ request carrying responseCode, succeedAfter
 * and uuid, the status the simulation answers with (0: echo as usual) */
static int retry_code(const struct echo_req *r, size_t plen)
{
	const char *v, *id;
	size_t vl, idl;
	unsigned int code, after;

	if (plen < 7 || memcmp(r->target, "/retry/", 7) != 0)
		return 0;
	if (!query_param(r, "responseCode", &v, &vl) || parse_uint(v, vl, &code) ||
	    code < 200 || code > 599)
		return 0;
	if (!query_param(r, "succeedAfter", &v, &vl) || parse_uint(v, vl, &after))
		return 0;
	if (!query_param(r, "uuid", &id, &idl) || idl == 0)
		return 0;
	return retry_seen(id, idl) < after ? (int)code : 0;
}

/* ---- responses ---- */

static const char *reason(int code)
{
	switch (code) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
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
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* start_response() : status line and the headers every answer carries */
static int start_response(struct echo_str *o, int code, bool close)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return str_addf(o, "HTTP/1.1 %d %s\r\nDate: %s\r\n%s", code, reason(code), date,
			close ? "Connection: close\r\n" : "");
}

/* finish_response() : Content-Length, end of head, body */
static int finish_response(struct echo_str *o, int code, const char *body, size_t blen)
{
	if (code == 204 || code == 304 || (code >= 100 && code < 200))
		return str_adds(o, "\r\n");
	return str_addf(o, "Content-Length: %zu\r\n\r\n", blen) ?: str_add(o, body, blen);
}

static int simple_response(struct echo_str *o, int code, bool close, const char *ctype,
			   const char *body)
{
	return start_response(o, code, close) ?:
	       (ctype ? str_addf(o, "Content-Type: %s\r\n", ctype) : 0) ?:
	       finish_response(o, code, body, strlen(body));
}

static int cmp_hdr_canon(const void *a, const void *b)
{
	const struct echo_hdr *x = *(const struct echo_hdr *const *)a;
	const struct echo_hdr *y = *(const struct echo_hdr *const *)b;

	return strcmp(x->canon, y->canon);
}

/* echo_json() : the RequestAssertions document of echo-basic, indented with
 * one space per level as its json.MarshalIndent(v, "", " ") does. Header keys
 * are Go-canonical and sorted; Host and Transfer-Encoding are not headers in
 * Go's view (they become r.Host and the body framing). */
static int echo_json(struct echo_str *b, const struct echo_req *r)
{
	const struct echo_hdr *sorted[ECHO_MAX_HEADERS];
	size_t i, j, ns = 0;
	int err;

	for (i = 0; i < r->nh; i++) {
		if (ieq(r->h[i].name, r->h[i].nlen, "host") ||
		    ieq(r->h[i].name, r->h[i].nlen, "transfer-encoding") || !r->h[i].canon[0])
			continue;
		sorted[ns++] = &r->h[i];
	}
	/* qsort is not stable; values must keep arrival order, so sort then
	 * gather each key's values by scanning the original order */
	qsort(sorted, ns, sizeof(sorted[0]), cmp_hdr_canon);

	err = str_adds(b, "{\n \"path\": ") ?: json_add_string(b, r->target, r->tlen);
	err = err ?: str_adds(b, ",\n \"host\": ");
	err = err ?: json_add_string(b, r->host ? r->host : "", r->host ? r->hostlen : 0);
	err = err ?: str_adds(b, ",\n \"method\": ") ?: json_add_string(b, r->method, r->mlen);
	err = err ?: str_addf(b, ",\n \"proto\": \"HTTP/1.%d\",\n \"headers\": {", r->minor);
	for (i = 0; !err && i < ns; i++) {
		if (i > 0 && strcmp(sorted[i]->canon, sorted[i - 1]->canon) == 0)
			continue;
		err = str_adds(b, i ? ",\n  " : "\n  ") ?:
		      json_add_string(b, sorted[i]->canon, strlen(sorted[i]->canon)) ?:
		      str_adds(b, ": [");
		for (j = 0; !err && j < r->nh; j++) {
			const struct echo_hdr *h = &r->h[j];

			if (strcmp(h->canon, sorted[i]->canon) != 0)
				continue;
			if (ieq(h->name, h->nlen, "host") ||
			    ieq(h->name, h->nlen, "transfer-encoding"))
				continue;
			err = str_adds(b, b->p[b->len - 1] == '[' ? "\n   " : ",\n   ") ?:
			      json_add_string(b, h->value, h->vlen);
		}
		err = err ?: str_adds(b, "\n  ]");
	}
	err = err ?: str_adds(b, ns ? "\n },\n \"namespace\": " : "},\n \"namespace\": ");
	err = err ?: json_add_string(b, g_ctx.namespace, strlen(g_ctx.namespace));
	err = err ?: str_adds(b, ",\n \"ingress\": ");
	err = err ?: json_add_string(b, g_ctx.ingress, strlen(g_ctx.ingress));
	err = err ?: str_adds(b, ",\n \"service\": ");
	err = err ?: json_add_string(b, g_ctx.service, strlen(g_ctx.service));
	err = err ?: str_adds(b, ",\n \"pod\": ");
	err = err ?: json_add_string(b, g_ctx.pod, strlen(g_ctx.pod));
	return err ?: str_adds(b, ",\n \"sni\": \"\"\n}");
}

/* add_echo_set_headers() : X-Echo-Set-Header: "Name: value, Other: value"
 * sets response headers; repeated names join with ',' as echo-basic does */
static int add_echo_set_headers(struct echo_str *o, const struct echo_req *r)
{
	struct {
		const char *n, *v;
		size_t nl, vl;
	} set[64];
	struct echo_str joined = { 0 };
	size_t i, k, nset = 0;
	int err = 0;

	for (i = 0; i < r->nh; i++) {
		const char *p, *end;

		if (strcmp(r->h[i].canon, "X-Echo-Set-Header") != 0)
			continue;
		p = r->h[i].value;
		end = p + r->h[i].vlen;
		while (p < end && nset < ARRAY_SIZE(set)) {
			const char *e = memchr(p, ',', (size_t)(end - p)), *c, *nb, *ne, *vb, *ve;

			e = e ? e : end;
			for (nb = p; nb < e && (*nb == ' ' || *nb == '\t'); nb++)
				;
			for (ve = e; ve > nb && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
				;
			c = memchr(nb, ':', (size_t)(ve - nb));
			ne = c ? c : ve;
			vb = c ? c + 1 : ve;
			while (vb < ve && (*vb == ' ' || *vb == '\t'))
				vb++;
			if (ne > nb) {
				set[nset].n = nb;
				set[nset].nl = (size_t)(ne - nb);
				set[nset].v = vb;
				set[nset].vl = (size_t)(ve - vb);
				nset++;
			}
			p = e + 1;
		}
	}
	for (i = 0; !err && i < nset; i++) {
		bool seen = false;

		for (k = 0; k < i; k++)
			if (set[k].nl == set[i].nl && memcmp(set[k].n, set[i].n, set[i].nl) == 0)
				seen = true;
		if (seen)
			continue;
		joined.len = 0;
		for (k = i; !err && k < nset; k++) {
			if (set[k].nl != set[i].nl || memcmp(set[k].n, set[i].n, set[i].nl) != 0)
				continue;
			err = (joined.len ? str_add(&joined, ",", 1) : 0) ?:
			      str_add(&joined, set[k].v, set[k].vl);
		}
		err = err ?: str_add(o, set[i].n, set[i].nl) ?: str_adds(o, ": ") ?:
		      str_add(o, joined.p ? joined.p : "", joined.len) ?: str_adds(o, "\r\n");
	}
	str_free(&joined);
	return err;
}

/* ws_accept() : base64(SHA-1(key + RFC 6455 GUID)) into out[29] */
static void ws_accept(const char *key, size_t klen, char out[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char buf[64 + sizeof(guid)];

	/* callers pass the 24-byte key RFC 6455 requires */
	klen = GW_MIN(klen, (size_t)64);
	memcpy(buf, key, klen);
	memcpy(buf + klen, guid, sizeof(guid) - 1);
	SHA1((unsigned char *)buf, klen + sizeof(guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* prepare_answer() : builds c->resp for request r and sets due/close flags */
static int prepare_answer(struct echo_conn *c, const struct echo_req *r)
{
	struct echo_str body = { 0 };
	const char *v;
	size_t vlen, plen;
	uint64_t delay = 0;
	int code = 200, err;

	c->close_after = r->close;
	c->due_ms = 0;
	for (plen = 0; plen < r->tlen && r->target[plen] != '?'; plen++)
		;

	if (r->upgrade_ws) {
		const char *key = NULL, *ver = NULL;
		size_t kl = 0, vl = 0, i;
		char acc[32];

		for (i = 0; i < r->nh; i++) {
			if (ieq(r->h[i].name, r->h[i].nlen, "sec-websocket-key")) {
				key = r->h[i].value;
				kl = r->h[i].vlen;
			} else if (ieq(r->h[i].name, r->h[i].nlen, "sec-websocket-version")) {
				ver = r->h[i].value;
				vl = r->h[i].vlen;
			}
		}
		if (!key || kl != 24 || !ver || !ieq(ver, vl, "13") || r->minor != 1 ||
		    !ieq(r->method, r->mlen, "GET")) {
			c->close_after = true;
			return start_response(&c->resp, 400, true) ?:
			       str_adds(&c->resp, "Sec-WebSocket-Version: 13\r\n") ?:
			       finish_response(&c->resp, 400, "", 0);
		}
		ws_accept(key, kl, acc);
		c->ws_after = true;
		c->close_after = false;
		return str_addf(&c->resp,
				"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
				acc);
	}

	if (plen == 7 && memcmp(r->target, "/health", 7) == 0)
		return simple_response(&c->resp, 200, c->close_after, "text/plain; charset=utf-8",
				       "OK");
	if (plen >= 8 && memcmp(r->target, "/status/", 8) == 0) {
		/* echo-basic matches ^/status/(\d\d\d)$ against the whole URI */
		if (r->tlen == 11 && isdigit((unsigned char)r->target[8]) &&
		    isdigit((unsigned char)r->target[9]) && isdigit((unsigned char)r->target[10]))
			code = atoi(r->target + 8);
		else
			code = 400;
		if (code < 200 || code > 599)
			code = 400;
		return simple_response(&c->resp, code, c->close_after, NULL, "");
	}

	if (query_param(r, "delay", &v, &vlen) && vlen > 0) {
		if (parse_duration(v, vlen, &delay)) {
			err = str_adds(&body, "{\"message\":\"time: invalid duration ") ?:
			      json_add_string(&body, v, vlen) ?: str_adds(&body, "}");
			err = err ?: start_response(&c->resp, 500, c->close_after) ?:
			      str_adds(&c->resp, "Content-Type: application/json\r\n"
						 "X-Content-Type-Options: nosniff\r\n") ?:
			      finish_response(&c->resp, 500, body.p, body.len);
			goto out;
		}
		c->due_ms = now_ms() + delay;
	}

	code = retry_code(r, plen);
	if (code) {
		printf("Retry simulation: answering %d to %.*s\n", code, (int)r->tlen, r->target);
		return simple_response(&c->resp, code, c->close_after, NULL, "");
	}

	/* the same line echo-basic prints: the conformance suite greps pod logs
	 * for it to prove a mirrored request reached its backend */
	printf("Echoing back request made to %.*s to client (%s)\n", (int)r->tlen, r->target, c->peer);
	err = echo_json(&body, r);
	err = err ?: start_response(&c->resp, 200, c->close_after);
	err = err ?: add_echo_set_headers(&c->resp, r);
	err = err ?: str_adds(&c->resp, "Content-Type: application/json\r\n"
					"X-Content-Type-Options: nosniff\r\n");
	err = err ?: finish_response(&c->resp, 200, body.p, body.len);
out:
	str_free(&body);
	return err;
}

/* ---- connections ---- */

static void conn_free(struct echo_conn *c)
{
	struct echo_conn **pp;

	if (!c)
		return;
	for (pp = &g_conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	close(c->fd);
	str_free(&c->in);
	str_free(&c->out);
	str_free(&c->resp);
	free(c);
}

/* error_close() : queue an error answer and stop reading the connection */
static void error_close(struct echo_conn *c, int code)
{
	c->in.len = 0;
	c->in_off = 0;
	if (simple_response(&c->out, code, true, "text/plain; charset=utf-8", reason(code)))
		c->out.len = 0;
	c->st = ST_CLOSING;
}

/* chunk_feed() : walks chunked framing in p[0..n); returns bytes consumed and
 * sets *done at the end of the body; -EBADMSG on invalid framing */
static ssize_t chunk_feed(struct echo_conn *c, const char *p, size_t n, bool *done)
{
	size_t i = 0;

	*done = false;
	while (i < n) {
		char ch = p[i];

		switch (c->ch) {
		case CH_SIZE:
			if (isxdigit((unsigned char)ch)) {
				if (++c->ch_digits > 15)
					return -EBADMSG;
				c->ch_left = c->ch_left * 16 +
					     (uint64_t)(isdigit((unsigned char)ch) ?
								ch - '0' :
								tolower((unsigned char)ch) - 'a' + 10);
			} else if (c->ch_digits && (ch == ';' || ch == ' ' || ch == '\t')) {
				c->ch = CH_EXT;
			} else if (c->ch_digits && ch == '\r') {
				c->ch = CH_SIZE_LF;
			} else {
				return -EBADMSG;
			}
			i++;
			break;
		case CH_EXT:
			if (ch == '\r')
				c->ch = CH_SIZE_LF;
			else if (ch == '\n' || ((unsigned char)ch < 0x20 && ch != '\t'))
				return -EBADMSG;
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -EBADMSG;
			i++;
			c->ch = c->ch_left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t take = GW_MIN((uint64_t)(n - i), c->ch_left);

			i += take;
			c->ch_left -= take;
			if (!c->ch_left)
				c->ch = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch != '\r')
				return -EBADMSG;
			c->ch = CH_DATA_LF;
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -EBADMSG;
			c->ch = CH_SIZE;
			c->ch_digits = 0;
			c->ch_left = 0;
			i++;
			break;
		case CH_TRAILER:
			c->ch = ch == '\r' ? CH_END_LF : CH_TRAILER_TX;
			if (ch == '\n')
				return -EBADMSG;
			i++;
			break;
		case CH_TRAILER_TX:
			if (ch == '\r')
				c->ch = CH_TRAILER_LF;
			else if (ch == '\n')
				return -EBADMSG;
			i++;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -EBADMSG;
			c->ch = CH_TRAILER;
			i++;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -EBADMSG;
			*done = true;
			return (ssize_t)(i + 1);
		}
	}
	return (ssize_t)i;
}

/* ws_step() : echoes complete frames from the input; 0, or -EBADMSG to close */
static int ws_step(struct echo_conn *c)
{
	for (;;) {
		unsigned char *p = (unsigned char *)c->in.p + c->in_off;
		size_t n = c->in.len - c->in_off, hl = 2, i;
		uint64_t plen;
		unsigned char op, hdr[10], *mask;
		int err;

		if (n < 2)
			return 0;
		op = p[0] & 0x0f;
		if (!(p[1] & 0x80))
			return -EBADMSG; /* RFC 6455 5.1: client frames are masked */
		plen = p[1] & 0x7f;
		if (plen == 126) {
			if (n < 4)
				return 0;
			plen = ((uint64_t)p[2] << 8) | p[3];
			hl = 4;
		} else if (plen == 127) {
			if (n < 10)
				return 0;
			for (plen = 0, i = 0; i < 8; i++)
				plen = (plen << 8) | p[2 + i];
			hl = 10;
		}
		if (plen > ECHO_MAX_WSFRAME)
			return -EBADMSG;
		if (n < hl + 4 + plen)
			return 0;
		mask = p + hl;
		for (i = 0; i < plen; i++)
			p[hl + 4 + i] ^= mask[i & 3];

		/* answer unmasked; ping gets pong, close gets close and ends */
		hdr[0] = (unsigned char)((p[0] & 0x80) | (op == 0x9 ? 0xa : op));
		if (plen < 126) {
			hdr[1] = (unsigned char)plen;
			hl = 2;
		} else if (plen < 65536) {
			hdr[1] = 126;
			hdr[2] = (unsigned char)(plen >> 8);
			hdr[3] = (unsigned char)plen;
			hl = 4;
		} else {
			hdr[1] = 127;
			for (i = 0; i < 8; i++)
				hdr[2 + i] = (unsigned char)(plen >> (56 - 8 * i));
			hl = 10;
		}
		if (op != 0xa) {
			err = str_add(&c->out, (char *)hdr, hl) ?:
			      str_add(&c->out, (char *)mask + 4, (size_t)plen);
			if (err)
				return err;
		}
		c->in_off += (mask - p) + 4 + plen;
		if (op == 0x8) {
			c->st = ST_CLOSING;
			return 0;
		}
	}
}

/* conn_step() : advances the request state machine over buffered input;
 * returns 0, or a negative value when the connection must be dropped now */
static int conn_step(struct echo_conn *c)
{
	for (;;) {
		char *p = c->in.p + c->in_off;
		size_t n = c->in.len - c->in_off;

		switch (c->st) {
		case ST_HEAD: {
			struct echo_req *r;
			const char *e;
			int code;

			if (!n)
				return 0;
			e = memmem(p, n, "\r\n\r\n", 4);
			if (!e) {
				if (n > ECHO_MAX_HEAD)
					error_close(c, 431);
				return 0;
			}
			r = malloc(sizeof(*r));
			if (!r)
				return -ENOMEM;
			code = parse_head(p, (size_t)(e - p) + 4, r);
			if (code) {
				free(r);
				error_close(c, code);
				return 0;
			}
			c->resp.len = 0;
			c->ws_after = false;
			if (prepare_answer(c, r)) {
				free(r);
				return -ENOMEM;
			}
			if (r->expect_continue && r->minor == 1 && (r->chunked || r->clen > 0) &&
			    str_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n")) {
				free(r);
				return -ENOMEM;
			}
			c->in_off += (size_t)(e - p) + 4;
			if (r->chunked) {
				c->st = ST_BODY_CH;
				c->ch = CH_SIZE;
				c->ch_left = 0;
				c->ch_digits = 0;
			} else if (r->clen > 0) {
				c->st = ST_BODY_CL;
				c->body_left = (uint64_t)r->clen;
			} else {
				c->st = ST_READY;
			}
			free(r);
			break;
		}
		case ST_BODY_CL: {
			size_t take = GW_MIN((uint64_t)n, c->body_left);

			c->in_off += take;
			c->body_left -= take;
			if (c->body_left)
				return 0;
			c->st = ST_READY;
			break;
		}
		case ST_BODY_CH: {
			bool done;
			ssize_t used = chunk_feed(c, p, n, &done);

			if (used < 0) {
				error_close(c, 400);
				return 0;
			}
			c->in_off += (size_t)used;
			if (!done)
				return 0;
			c->st = ST_READY;
			break;
		}
		case ST_READY:
			if (c->due_ms && now_ms() < c->due_ms)
				return 0; /* the timer pass in the loop comes back */
			if (str_add(&c->out, c->resp.p, c->resp.len))
				return -ENOMEM;
			c->resp.len = 0;
			c->due_ms = 0;
			if (c->ws_after)
				c->st = ST_WS;
			else if (c->close_after)
				c->st = ST_CLOSING;
			else
				c->st = ST_HEAD;
			/* stop parsing while output is backed up (bounded memory) */
			if (c->out.len - c->out_off > 4 * 1024 * 1024)
				return 0;
			break;
		case ST_WS:
			if (ws_step(c)) {
				c->st = ST_CLOSING;
				c->in.len = c->in_off = 0;
			}
			return 0;
		case ST_CLOSING:
			c->in.len = c->in_off = 0;
			return 0;
		}
	}
}

/* conn_flush() : writes pending output; returns -EPIPE when the connection is
 * finished (closed by us after flushing, or broken) */
static int conn_flush(struct echo_conn *c)
{
	struct epoll_event ev = { 0 };
	bool want;

	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -EPIPE;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out.len) {
		c->out.len = c->out_off = 0;
		if (c->st == ST_CLOSING) {
			shutdown(c->fd, SHUT_WR);
			return -EPIPE;
		}
	}
	want = c->out_off < c->out.len;
	if (want != c->want_out) {
		ev.events = (c->eof ? 0 : EPOLLIN | EPOLLRDHUP) | (want ? EPOLLOUT : 0);
		ev.data.ptr = c;
		if (epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			return -EPIPE;
		c->want_out = want;
	}
	return 0;
}

/* conn_compact() : drops consumed input so the buffer does not grow forever */
static void conn_compact(struct echo_conn *c)
{
	if (c->in_off == 0)
		return;
	memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
	c->in.len -= c->in_off;
	c->in_off = 0;
}

static void conn_readable(struct echo_conn *c)
{
	bool eof = false;
	int err;

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t r;

		if (c->out.len - c->out_off > 4 * 1024 * 1024 || c->st == ST_CLOSING)
			break;
		if (str_reserve(&c->in, ECHO_READ_CHUNK)) {
			conn_free(c);
			return;
		}
		r = recv(c->fd, c->in.p + c->in.len, ECHO_READ_CHUNK, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_free(c);
			return;
		}
		if (r == 0) {
			eof = true;
			break;
		}
		c->in.len += (size_t)r;
		if (conn_step(c)) {
			conn_free(c);
			return;
		}
		conn_compact(c);
	}
	if (eof && !c->eof) {
		struct epoll_event ev = { .events = c->want_out ? EPOLLOUT : 0, .data.ptr = c };

		/* a peer that half-closed still gets the answers it is owed, but
		 * level-triggered EPOLLIN would spin on the EOF meanwhile */
		c->eof = true;
		c->close_after = true;
		if (c->st != ST_READY)
			c->st = ST_CLOSING;
		epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	err = conn_flush(c);
	if (err || (c->eof && c->st == ST_CLOSING && c->out.len == 0))
		conn_free(c);
}

/* peer_name() : "addr:port" of fd's peer, "" when unknown */
static void peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	int port = 0;

	buf[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(buf, len, "%s:%d", host, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
	}
}

static int accept_all(int lfd)
{
	for (;;) {
		struct epoll_event ev = { 0 };
		struct echo_conn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

		if (fd == -1)
			return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -errno;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->st = ST_HEAD;
		peer_name(fd, c->peer, sizeof(c->peer));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = c;
		if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(c);
			continue;
		}
		c->next = g_conns;
		g_conns = c;
	}
}

/* listen_on() : ADDR:PORT or [ADDR6]:PORT; returns the fd or -errno */
static int listen_on(const char *spec)
{
	struct sockaddr_storage ss = { 0 };
	char host[128];
	const char *colon = strrchr(spec, ':');
	socklen_t sl;
	int fd, one = 1, port;
	size_t hl;

	if (!colon || colon == spec)
		return -EINVAL;
	port = atoi(colon + 1);
	hl = (size_t)(colon - spec);
	if (port <= 0 || port > 65535 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 1024) == -1) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: gwbpf-echo --listen ADDR:PORT [--listen ADDR:PORT]...\n"
		   "                  [--namespace NS] [--pod NAME] [--service NAME]"
		   " [--ingress NAME]\n"
		   "Answers every HTTP/1.1 request with the Gateway API conformance echo JSON.\n");
}

/* next_timeout() : ms until the earliest delayed answer, -1 when none */
static int next_timeout(void)
{
	uint64_t now = now_ms(), best = UINT64_MAX;
	struct echo_conn *c;

	for (c = g_conns; c; c = c->next)
		if (c->st == ST_READY && c->due_ms && c->due_ms < best)
			best = c->due_ms;
	if (best == UINT64_MAX)
		return -1;
	return best <= now ? 0 : (int)GW_MIN(best - now, 60000);
}

/* run_due() : sends delayed answers whose time has come */
static void run_due(void)
{
	uint64_t now = now_ms();
	struct echo_conn *c, *next;

	for (c = g_conns; c; c = next) {
		next = c->next;
		if (c->st != ST_READY || !c->due_ms || c->due_ms > now)
			continue;
		if (conn_step(c) || conn_flush(c))
			conn_free(c);
		else
			conn_compact(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "pod", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ "ingress", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int lfds[ECHO_MAX_LISTEN], nl = 0, i, opt, err = 1;
	const char *specs[ECHO_MAX_LISTEN];
	struct sigaction sa = { 0 };

	/* HTTP/2 modes: a separate server in echo_grpc.c */
	if (gw_echo_h2_wants(argc, argv))
		return gw_echo_h2_main(argc, argv);
	/* L4 modes (TCP/TLS/UDP echo for TCPRoute, TLSRoute, UDPRoute): echo_l4.c */
	if (gw_echo_l4_wants(argc, argv))
		return gw_echo_l4_main(argc, argv);

	g_ctx.namespace = getenv("NAMESPACE") ?: "";
	g_ctx.ingress = getenv("INGRESS_NAME") ?: "";
	g_ctx.service = getenv("SERVICE_NAME") ?: "";
	g_ctx.pod = getenv("POD_NAME") ?: "";
	while ((opt = getopt_long(argc, argv, "l:n:p:s:i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (nl == ECHO_MAX_LISTEN) {
				fprintf(stderr, "gwbpf-echo: at most %d --listen\n", ECHO_MAX_LISTEN);
				return 2;
			}
			specs[nl++] = optarg;
			break;
		case 'n': g_ctx.namespace = optarg; break;
		case 'p': g_ctx.pod = optarg; break;
		case 's': g_ctx.service = optarg; break;
		case 'i': g_ctx.ingress = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (nl == 0 || optind != argc) {
		usage(stderr);
		return 2;
	}

	/* one line per request, visible at once to whoever tails the log */
	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	g_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g_epfd == -1) {
		pr_err("gwbpf-echo: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < nl; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		lfds[i] = listen_on(specs[i]);
		if (lfds[i] < 0) {
			pr_err("gwbpf-echo: listen %s: %s\n", specs[i], strerror(-lfds[i]));
			goto out;
		}
		ev.data.ptr = &lfds[i];
		if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, lfds[i], &ev) == -1) {
			pr_err("gwbpf-echo: epoll_ctl: %s\n", strerror(errno));
			goto out;
		}
	}
	pr_info("gwbpf-echo: serving pod=%s namespace=%s on %d address(es)\n", g_ctx.pod,
		g_ctx.namespace, nl);

	/* order per round: due timers, then wait for I/O (redis ae style) */
	while (!g_stop) {
		struct epoll_event evs[64];
		int n;

		run_due();
		n = epoll_wait(g_epfd, evs, ARRAY_SIZE(evs), next_timeout());
		if (n == -1 && errno != EINTR) {
			pr_err("gwbpf-echo: epoll_wait: %s\n", strerror(errno));
			goto out;
		}
		for (int k = 0; k < n; k++) {
			void *ptr = evs[k].data.ptr;

			if (ptr >= (void *)lfds && ptr < (void *)(lfds + nl)) {
				accept_all(*(int *)ptr);
				continue;
			}
			struct echo_conn *c = ptr;

			if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				/* conn_readable may free c; do not touch it afterwards */
				conn_readable(c);
				continue;
			}
			if ((evs[k].events & EPOLLOUT) && conn_flush(c))
				conn_free(c);
		}
	}
	err = 0;
out:
	while (g_conns)
		conn_free(g_conns);
	for (i = 0; i < nl; i++)
		if (lfds[i] >= 0)
			close(lfds[i]);
	close(g_epfd);
	return err;
}
