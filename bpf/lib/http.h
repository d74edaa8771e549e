/* bpf/lib/http.h - a small, strict HTTP/1.1 request-head parser for the
 * kernel steering path.
 *
 * It accepts only the plainest requests, the ones whose routing cannot depend
 * on anything the userspace proxy does before gw_router_match(): an
 * uppercase method (not CONNECT), an origin-form path with no
 * percent-encoding, no dot segments and no empty segments (so the proxy's
 * path normalisation is the identity on it), "HTTP/1.1", exactly one Host
 * header of plain hostname characters with an optional port, header names of
 * letters, digits and '-', visible-ASCII values, CRLF everywhere, and no
 * header that changes framing or the connection (Content-Length,
 * Transfer-Encoding, Expect, Upgrade, TE, Trailer, HTTP2-Settings,
 * Proxy-Connection, Connection other than "keep-alive"). The head must be the
 * whole input: a body, a second pipelined request or a head split across
 * writes are refused. Everything refused goes to the userspace proxy, which
 * decides it with the full parser, so being strict only costs speed.
 *
 * The same code is compiled by clang -target bpf (one bpf_loop() callback per
 * byte: plain loops over 1 KiB blow the verifier's budget) and by cc for the
 * unit test and the fuzz driver (bpf_loop() is then a plain loop), so the
 * differential tests exercise exactly the code the kernel runs.
 */
#ifndef GW_LIB_HTTP_H
#define GW_LIB_HTTP_H

#ifdef __bpf__
#define GW_HTTP_FN static __always_inline
#define GW_HTTP_CB static
/* GW_IDX() : x & m that clang cannot drop: it removes masks it thinks are
 * redundant after a compare, and the verifier then sees an unbounded offset
 * (research/sockmap-prototype.md, pitfall 7) */
#define GW_IDX(x, m)                                                                               \
	({                                                                                         \
		__u64 _gw_v = (x);                                                                 \
		asm volatile("%0 &= %1" : "+r"(_gw_v) : "i"(m));                                   \
		_gw_v;                                                                             \
	})
#else
#define GW_IDX(x, m) ((x) & (m))
#include <linux/types.h>
#include <stdbool.h>
#define GW_HTTP_FN static inline
#define GW_HTTP_CB static
#endif

#define GW_HTTP_HEAD_MAX 1024 /* bytes of head looked at; a power of two */
#define GW_HTTP_HOST_MAX 64   /* host name bytes (without port), a power of two */
#define GW_HTTP_PATH_MAX 128  /* path bytes (without query) */
#define GW_HTTP_METHOD_MAX 15
#define GW_HTTP_HDRS_MAX 64 /* header lines */

/* why a head was refused (0 = routable); recorded for tests and counters */
enum gw_http_refuse {
	GW_HTTP_R_OK = 0,
	GW_HTTP_R_INCOMPLETE, /* no CRLF CRLF within the input */
	GW_HTTP_R_TOO_LONG,   /* input longer than GW_HTTP_HEAD_MAX */
	GW_HTTP_R_TRAILING,   /* bytes after the head (a body or a pipelined request) */
	GW_HTTP_R_METHOD,     /* not 1..15 uppercase letters, or CONNECT */
	GW_HTTP_R_TARGET,     /* not origin-form, or a character outside the plain set */
	GW_HTTP_R_PCT,	      /* percent-encoding in the target */
	GW_HTTP_R_SEGMENT,    /* "//", "." or ".." segment */
	GW_HTTP_R_PATH_LONG,  /* path longer than GW_HTTP_PATH_MAX */
	GW_HTTP_R_VERSION,    /* not exactly "HTTP/1.1" CRLF */
	GW_HTTP_R_HEADER,     /* header syntax outside the plain subset (obs-fold, bare LF, ...) */
	GW_HTTP_R_BARE_CR,    /* CR not followed by LF */
	GW_HTTP_R_TOO_MANY,   /* more than GW_HTTP_HDRS_MAX header lines */
	GW_HTTP_R_FORBIDDEN,  /* a framing or connection header */
	GW_HTTP_R_CONNECTION, /* Connection other than "keep-alive" */
	GW_HTTP_R_HOST,	      /* Host missing, repeated, empty, too long or not a plain name */
	GW_HTTP_R__COUNT,
};

/* the bytes the parser reads and the host it writes (lowercased, port and
 * one trailing dot removed); a per-CPU map value in BPF */
struct gw_http_scratch {
	__u8 buf[GW_HTTP_HEAD_MAX];
	__u8 host[GW_HTTP_HOST_MAX];
};

/* parse result and state; all offsets index scratch.buf. In BPF it lives in
 * map memory, not on the stack: the verifier then treats every field as
 * unknown and the per-byte callback converges after a few iterations instead
 * of being explored once per concrete parser state. */
struct gw_http_head {
	__u32 len; /* input bytes in s->buf */
	__u32 state;
	__u32 refuse;	  /* enum gw_http_refuse */
	__u32 head_len;	  /* set once CRLF CRLF is seen */
	__u16 method_len; /* method is buf[0..method_len) */
	__u16 path_off;	  /* path is buf[path_off..path_off + path_len) */
	__u16 path_len;
	__u16 host_len; /* host is s->host[0..host_len) */
	__u16 seg_len;
	__u16 seg_dots;
	__u16 n_hdrs;
	__u16 name_k; /* bytes of the current header name so far */
	__u16 hdr_class;
	__u16 val_k;	 /* Connection: bytes of "keep-alive" matched */
	__u16 val_phase; /* Host: 0 name, 1 port, 2 trailing blanks; Connection: 1 trailing */
	__u16 port_len;
	__u16 ver_k;
	__u8 seen_host;
	__u8 prev;
	__u8 done;
	__u8 pad;
	__u64 name_w[3]; /* the name so far, lowercased, packed (gw_http_name_step) */
};

/* bpf_loop() context: the only thing on the stack */
struct gw_http_loop {
	struct gw_http_head *h;
	struct gw_http_scratch *s;
};

enum gw_http_state {
	GW_HS_METHOD = 0,
	GW_HS_PATH0,
	GW_HS_PATH,
	GW_HS_QUERY,
	GW_HS_VERSION,
	GW_HS_HSTART,
	GW_HS_HNAME,
	GW_HS_HOWS,
	GW_HS_HVAL,
	GW_HS_HLF,
	GW_HS_ENDLF,
};

/* header names that matter, compared as lowercase bytes packed into 64-bit
 * words: no lookup tables, because clang 14 emits .rodata that this
 * kernel's BTF loader refuses next to maps */
enum gw_http_hdr_class {
	GW_HC_OTHER = 0,
	GW_HC_HOST,
	GW_HC_CONNECTION,
	GW_HC_FORBIDDEN, /* framing and connection headers: refused */
};

#define GW_W8(a, b, c, d, e, f, g, h)                                                              \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |   \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define GW_HTTP_NAME_MAX 24 /* longer names are ordinary headers */
#define GW_HTTP_VERSION_W GW_W8('H', 'T', 'T', 'P', '/', '1', '.', '1') /* then CR LF */
#define GW_HTTP_KEEPALIVE_W0 GW_W8('k', 'e', 'e', 'p', '-', 'a', 'l', 'i')
#define GW_HTTP_KEEPALIVE_W1 GW_W8('v', 'e', 0, 0, 0, 0, 0, 0)

GW_HTTP_FN __u8 gw_http_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + ('a' - 'A')) : c;
}

GW_HTTP_FN bool gw_http_alnum(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 3986 pchar without pct-encoded */
GW_HTTP_FN bool gw_http_pchar(__u8 c)
{
	if (gw_http_alnum(c))
		return true;
	switch (c) {
	case '-':
	case '.':
	case '_':
	case '~':
	case '!':
	case '$':
	case '&':
	case '\'':
	case '(':
	case ')':
	case '*':
	case '+':
	case ',':
	case ';':
	case '=':
	case ':':
	case '@':
		return true;
	default:
		return false;
	}
}

GW_HTTP_FN long gw_http_refuse(struct gw_http_head *h, __u32 why)
{
	h->refuse = why;
	return 1;
}

/* gw_http_name_step() : appends ch (lowercased) to the packed name */
GW_HTTP_FN void gw_http_name_step(struct gw_http_head *h, __u8 ch)
{
	__u32 k = h->name_k;
	__u64 b = gw_http_lower(ch);

	if (k >= GW_HTTP_NAME_MAX)
		return;
	if (k < 8)
		h->name_w[0] |= b << ((k & 7) * 8);
	else if (k < 16)
		h->name_w[1] |= b << ((k & 7) * 8);
	else
		h->name_w[2] |= b << ((k & 7) * 8);
}

GW_HTTP_FN bool gw_http_name_is(struct gw_http_head *h, __u32 len, __u64 w0, __u64 w1, __u64 w2)
{
	return h->name_k == len && h->name_w[0] == w0 && h->name_w[1] == w1 && h->name_w[2] == w2;
}

/* gw_http_name_class() : ':' seen: which special header this is */
GW_HTTP_FN __u16 gw_http_name_class(struct gw_http_head *h)
{
	if (gw_http_name_is(h, 4, GW_W8('h', 'o', 's', 't', 0, 0, 0, 0), 0, 0))
		return GW_HC_HOST;
	if (gw_http_name_is(h, 10, GW_W8('c', 'o', 'n', 'n', 'e', 'c', 't', 'i'),
			    GW_W8('o', 'n', 0, 0, 0, 0, 0, 0), 0))
		return GW_HC_CONNECTION;
	if (gw_http_name_is(h, 14, GW_W8('c', 'o', 'n', 't', 'e', 'n', 't', '-'),
			    GW_W8('l', 'e', 'n', 'g', 't', 'h', 0, 0), 0) ||
	    gw_http_name_is(h, 17, GW_W8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r'),
			    GW_W8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n'),
			    GW_W8('g', 0, 0, 0, 0, 0, 0, 0)) ||
	    gw_http_name_is(h, 6, GW_W8('e', 'x', 'p', 'e', 'c', 't', 0, 0), 0, 0) ||
	    gw_http_name_is(h, 7, GW_W8('u', 'p', 'g', 'r', 'a', 'd', 'e', 0), 0, 0) ||
	    gw_http_name_is(h, 2, GW_W8('t', 'e', 0, 0, 0, 0, 0, 0), 0, 0) ||
	    gw_http_name_is(h, 7, GW_W8('t', 'r', 'a', 'i', 'l', 'e', 'r', 0), 0, 0) ||
	    gw_http_name_is(h, 14, GW_W8('h', 't', 't', 'p', '2', '-', 's', 'e'),
			    GW_W8('t', 't', 'i', 'n', 'g', 's', 0, 0), 0) ||
	    gw_http_name_is(h, 16, GW_W8('p', 'r', 'o', 'x', 'y', '-', 'c', 'o'),
			    GW_W8('n', 'n', 'e', 'c', 't', 'i', 'o', 'n'), 0))
		return GW_HC_FORBIDDEN;
	return GW_HC_OTHER;
}

/* the k-th byte of "keep-alive" (k < 10) */
GW_HTTP_FN __u8 gw_http_keepalive_byte(__u32 k)
{
	return (__u8)((k < 8 ? GW_HTTP_KEEPALIVE_W0 >> ((k & 7) * 8)
			     : GW_HTTP_KEEPALIVE_W1 >> ((k & 7) * 8)) &
		      0xff);
}

/* the k-th byte of "HTTP/1.1" CR LF (k < 10) */
GW_HTTP_FN __u8 gw_http_version_byte(__u32 k)
{
	if (k < 8)
		return (__u8)((GW_HTTP_VERSION_W >> ((k & 7) * 8)) & 0xff);
	return k == 8 ? '\r' : '\n';
}

/* one byte of a header value (not CR) */
GW_HTTP_FN long gw_http_value_byte(struct gw_http_head *h, struct gw_http_scratch *s, __u8 ch)
{
	bool blank = ch == ' ' || ch == '\t';

	if (!blank && (ch < 0x21 || ch > 0x7e))
		return gw_http_refuse(h, GW_HTTP_R_HEADER);
	if (h->hdr_class == GW_HC_HOST) {
		if (h->val_phase == 0) {
			if (blank) {
				h->val_phase = 2;
			} else if (ch == ':') {
				h->val_phase = 1;
			} else if (gw_http_alnum(ch) || ch == '-' || ch == '.') {
				/* no leading dot, no empty label: the router's wildcard
				 * rule and the kernel's suffix lookups then agree */
				if (ch == '.' && (h->host_len == 0 || h->prev == '.'))
					return gw_http_refuse(h, GW_HTTP_R_HOST);
				if (h->host_len >= GW_HTTP_HOST_MAX - 1)
					return gw_http_refuse(h, GW_HTTP_R_HOST);
				s->host[GW_IDX(h->host_len, GW_HTTP_HOST_MAX - 1)] =
				    gw_http_lower(ch);
				h->host_len++;
				h->prev = ch;
			} else {
				return gw_http_refuse(h, GW_HTTP_R_HOST);
			}
		} else if (h->val_phase == 1) {
			if (blank)
				h->val_phase = 2;
			else if (ch >= '0' && ch <= '9' && h->port_len < 5)
				h->port_len++;
			else
				return gw_http_refuse(h, GW_HTTP_R_HOST);
		} else if (!blank) {
			return gw_http_refuse(h, GW_HTTP_R_HOST);
		}
	} else if (h->hdr_class == GW_HC_CONNECTION) {
		if (blank)
			h->val_phase = 1;
		else if (h->val_phase || h->val_k >= 10 ||
			 gw_http_lower(ch) != gw_http_keepalive_byte(h->val_k))
			return gw_http_refuse(h, GW_HTTP_R_CONNECTION);
		else
			h->val_k++;
	}
	return 0;
}

/* CR at the end of a header value */
GW_HTTP_FN long gw_http_value_end(struct gw_http_head *h)
{
	if (h->hdr_class == GW_HC_HOST) {
		if (h->val_phase == 1 && h->port_len == 0)
			return gw_http_refuse(h, GW_HTTP_R_HOST);
		if (h->host_len && h->prev == '.')
			h->host_len--; /* one trailing dot, as gw_router_host() drops it */
		if (h->host_len == 0)
			return gw_http_refuse(h, GW_HTTP_R_HOST);
	} else if (h->hdr_class == GW_HC_CONNECTION && h->val_k != 10) {
		return gw_http_refuse(h, GW_HTTP_R_CONNECTION);
	}
	h->state = GW_HS_HLF;
	return 0;
}

/* gw_http_step() : bpf_loop() callback, one input byte per call. Returns 1
 * (stop) once the head is complete or refused. */
GW_HTTP_CB long gw_http_step(__u64 idx, void *data)
{
	struct gw_http_loop *c = data;
	struct gw_http_head *h = c->h;
	__u32 i = (__u32)idx;
	__u8 ch;

	if (i >= h->len || i >= GW_HTTP_HEAD_MAX)
		return gw_http_refuse(h, GW_HTTP_R_INCOMPLETE);
	ch = c->s->buf[GW_IDX(i, GW_HTTP_HEAD_MAX - 1)];

	switch (h->state) {
	case GW_HS_METHOD:
		if (ch >= 'A' && ch <= 'Z' && h->method_len < GW_HTTP_METHOD_MAX) {
			h->method_len++;
			return 0;
		}
		if (ch != ' ' || h->method_len == 0)
			return gw_http_refuse(h, GW_HTTP_R_METHOD);
		h->state = GW_HS_PATH0;
		return 0;
	case GW_HS_PATH0:
		if (ch != '/')
			return gw_http_refuse(h, GW_HTTP_R_TARGET);
		h->path_off = (__u16)i;
		h->state = GW_HS_PATH;
		return 0;
	case GW_HS_PATH:
		if (ch == '/' || ch == '?' || ch == ' ') {
			/* the segment that just ended */
			if (ch == '/' && h->seg_len == 0)
				return gw_http_refuse(h, GW_HTTP_R_SEGMENT);
			if (h->seg_len && h->seg_len <= 2 && h->seg_dots == h->seg_len)
				return gw_http_refuse(h, GW_HTTP_R_SEGMENT);
			h->seg_len = 0;
			h->seg_dots = 0;
			if (ch == '/')
				return 0;
			h->path_len = (__u16)(i - h->path_off);
			if (h->path_len > GW_HTTP_PATH_MAX)
				return gw_http_refuse(h, GW_HTTP_R_PATH_LONG);
			h->state = ch == '?' ? GW_HS_QUERY : GW_HS_VERSION;
			return 0;
		}
		if (ch == '%')
			return gw_http_refuse(h, GW_HTTP_R_PCT);
		if (!gw_http_pchar(ch))
			return gw_http_refuse(h, GW_HTTP_R_TARGET);
		h->seg_len++;
		if (ch == '.')
			h->seg_dots++;
		return 0;
	case GW_HS_QUERY:
		if (ch == ' ') {
			h->state = GW_HS_VERSION;
			return 0;
		}
		if (ch == '%')
			return gw_http_refuse(h, GW_HTTP_R_PCT);
		if (!gw_http_pchar(ch) && ch != '/' && ch != '?')
			return gw_http_refuse(h, GW_HTTP_R_TARGET);
		return 0;
	case GW_HS_VERSION:
		if (ch != gw_http_version_byte(h->ver_k))
			return gw_http_refuse(h, GW_HTTP_R_VERSION);
		if (++h->ver_k == 10)
			h->state = GW_HS_HSTART;
		return 0;
	case GW_HS_HSTART:
		if (ch == '\r') {
			h->state = GW_HS_ENDLF;
			return 0;
		}
		if (!gw_http_alnum(ch) && ch != '-')
			return gw_http_refuse(h, GW_HTTP_R_HEADER);
		if (++h->n_hdrs > GW_HTTP_HDRS_MAX)
			return gw_http_refuse(h, GW_HTTP_R_TOO_MANY);
		h->name_k = 0;
		h->name_w[0] = h->name_w[1] = h->name_w[2] = 0;
		gw_http_name_step(h, ch);
		h->name_k = 1;
		h->state = GW_HS_HNAME;
		return 0;
	case GW_HS_HNAME:
		if (gw_http_alnum(ch) || ch == '-') {
			gw_http_name_step(h, ch);
			if (h->name_k < 0xffff)
				h->name_k++;
			return 0;
		}
		if (ch != ':')
			return gw_http_refuse(h, GW_HTTP_R_HEADER);
		h->hdr_class = gw_http_name_class(h);
		if (h->hdr_class == GW_HC_FORBIDDEN)
			return gw_http_refuse(h, GW_HTTP_R_FORBIDDEN);
		if (h->hdr_class == GW_HC_HOST) {
			if (h->seen_host)
				return gw_http_refuse(h, GW_HTTP_R_HOST);
			h->seen_host = 1;
		}
		h->val_k = 0;
		h->val_phase = 0;
		h->state = GW_HS_HOWS;
		return 0;
	case GW_HS_HOWS:
		if (ch == ' ' || ch == '\t')
			return 0;
		h->state = GW_HS_HVAL;
		if (ch == '\r')
			return gw_http_value_end(h);
		return gw_http_value_byte(h, c->s, ch);
	case GW_HS_HVAL:
		if (ch == '\r')
			return gw_http_value_end(h);
		return gw_http_value_byte(h, c->s, ch);
	case GW_HS_HLF:
		if (ch != '\n')
			return gw_http_refuse(h, GW_HTTP_R_BARE_CR);
		h->state = GW_HS_HSTART;
		return 0;
	case GW_HS_ENDLF:
		if (ch != '\n')
			return gw_http_refuse(h, GW_HTTP_R_BARE_CR);
		if (!h->seen_host)
			return gw_http_refuse(h, GW_HTTP_R_HOST);
		h->head_len = i + 1;
		h->done = 1;
		return 1;
	default:
		return gw_http_refuse(h, GW_HTTP_R_HEADER);
	}
}

#ifndef __bpf__
/* userspace stand-in for bpf_loop(): same contract (stops when the callback
 * returns 1), so the kernel and the tests run one parser */
static inline long gw_http_loop(__u32 n, long (*cb)(__u64, void *), void *ctx)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (cb(i, ctx))
			return i + 1;
	return n;
}
#define bpf_loop(n, cb, ctx, flags) gw_http_loop((n), (cb), (ctx))
#endif

/* gw_http_parse() : parses s->buf[0..len) into h (which it initialises).
 * Returns GW_HTTP_R_OK when the input is exactly one plain request head the
 * kernel may route, else the reason to leave it to the proxy. */
GW_HTTP_FN __u32 gw_http_parse(struct gw_http_head *h, struct gw_http_scratch *s, __u32 len)
{
	struct gw_http_loop c = {.h = h, .s = s};

	__builtin_memset(h, 0, sizeof(*h));
	h->len = len;
	if (len > GW_HTTP_HEAD_MAX)
		return h->refuse = GW_HTTP_R_TOO_LONG;
	bpf_loop(len, gw_http_step, &c, 0);
	if (h->refuse)
		return h->refuse;
	if (!h->done)
		return h->refuse = GW_HTTP_R_INCOMPLETE;
	if (h->head_len != len)
		return h->refuse = GW_HTTP_R_TRAILING;
	/* CONNECT takes authority-form only: the proxy refuses it with a path */
	if (h->method_len == 7 && s->buf[0] == 'C' && s->buf[1] == 'O' && s->buf[2] == 'N' &&
	    s->buf[3] == 'N' && s->buf[4] == 'E' && s->buf[5] == 'C' && s->buf[6] == 'T')
		return h->refuse = GW_HTTP_R_METHOD;
	return GW_HTTP_R_OK;
}

#endif
