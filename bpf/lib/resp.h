/* bpf/lib/resp.h - frames an HTTP/1.1 response head for the kernel forwarding
 * path: where the head ends and how many body bytes follow.
 *
 * The kernel only needs to know when a response it forwarded is over, so it
 * can give the loaned backend connection back and let the next request on the
 * client connection be decided again. It does not judge the response: a head
 * it cannot frame exactly (no complete head in the first write, a 1xx, a
 * Transfer-Encoding, no or a repeated or odd Content-Length, bare CR or LF)
 * is "unframed" and the caller stops steering that connection. Same code for
 * clang -target bpf (one bpf_loop() callback per byte) and for cc (unit test).
 */
#ifndef GW_LIB_RESP_H
#define GW_LIB_RESP_H

#include "http.h" /* (same folder) GW_IDX, GW_HTTP_FN, bpf_loop stand-in, GW_HTTP_HEAD_MAX */

#define GW_RESP_CL_MAX (1ull << 40) /* larger Content-Length: unframed */

struct gw_resp_head {
	__u32 len;	/* input bytes */
	__u32 head_len; /* set at CRLF CRLF, 0 = incomplete */
	__u32 status;
	__u32 k; /* bytes of the current line so far */
	__u32 line;
	__u32 bad;     /* cannot be framed */
	__u32 name_cl; /* the current line still matches "content-length" */
	__u32 name_te; /* ... "transfer-encoding" */
	__u32 in_cl;   /* Content-Length value: 1 before digits, 2 in, 3 after */
	__u32 have_cl;
	__u32 in_val; /* past the header line's ':' */
	__u32 pad0;
	__u64 cl;
	__u8 prev;
	__u8 pad[7];
};

struct gw_resp_loop {
	struct gw_resp_head *h;
	const __u8 *buf; /* GW_HTTP_HEAD_MAX bytes */
};

/* the constant strings as packed words: BPF objects cannot carry static
 * local arrays (libbpf finds no BTF for them) */
#define GW_RESP_CL_NAME 0 /* "content-length:" */
#define GW_RESP_TE_NAME 1 /* "transfer-encoding:" */

/* gw_resp_str_ch() : byte k of s (k < 8), s packed little-endian */
#define GW_RESP_PACK(a, b, c, d, e, f, g, h)                                                       \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |   \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

GW_HTTP_FN __u8 gw_resp_word_ch(__u64 w, __u32 k)
{
	return (__u8)(w >> ((k & 7) * 8));
}

/* gw_resp_ver_ch() : byte k (< 9) of "HTTP/1.1 " */
GW_HTTP_FN __u8 gw_resp_ver_ch(__u32 k)
{
	if (k < 8)
		return gw_resp_word_ch(GW_RESP_PACK('H', 'T', 'T', 'P', '/', '1', '.', '1'), k);
	return ' ';
}

/* gw_resp_name_ch() : byte k (< 15 or < 18) of the lowercase header name
 * followed by ':' */
GW_HTTP_FN __u8 gw_resp_name_ch(int which, __u32 k)
{
	if (which == GW_RESP_CL_NAME) {
		if (k < 8)
			return gw_resp_word_ch(GW_RESP_PACK('c', 'o', 'n', 't', 'e', 'n', 't', '-'),
					       k);
		return gw_resp_word_ch(GW_RESP_PACK('l', 'e', 'n', 'g', 't', 'h', ':', 0), k - 8);
	}
	if (k < 8)
		return gw_resp_word_ch(GW_RESP_PACK('t', 'r', 'a', 'n', 's', 'f', 'e', 'r'), k);
	if (k < 16)
		return gw_resp_word_ch(GW_RESP_PACK('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n'), k - 8);
	return gw_resp_word_ch(GW_RESP_PACK('g', ':', 0, 0, 0, 0, 0, 0), k - 16);
}

/* gw_resp_tchar() : RFC 9110 token character */
GW_HTTP_FN int gw_resp_tchar(__u8 c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return 1;
	}
	return 0;
}

GW_HTTP_FN long gw_resp_bad(struct gw_resp_head *h)
{
	h->bad = 1;
	return 1;
}

/* gw_resp_step() : bpf_loop() callback, one byte per call; 1 stops */
GW_HTTP_CB long gw_resp_step(__u64 idx, void *data)
{
	struct gw_resp_loop *c = data;
	struct gw_resp_head *h = c->h;
	__u32 i = (__u32)idx;
	__u8 ch, lc;

	if (i >= h->len || i >= GW_HTTP_HEAD_MAX)
		return 1;
	ch = c->buf[GW_IDX(i, GW_HTTP_HEAD_MAX - 1)];
	if (ch == '\n') {
		if (h->prev != '\r')
			return gw_resp_bad(h);
		if (h->k == 1) {
			if (h->line == 0)
				return gw_resp_bad(h);
			h->head_len = i + 1;
			return 1;
		}
		if (h->line == 0 && h->k < 13)
			return gw_resp_bad(h);
		if (h->line && !h->in_val)
			return gw_resp_bad(h); /* a header line without ':' */
		if (h->in_cl) {
			if (h->in_cl == 1 || h->have_cl)
				return gw_resp_bad(h);
			h->have_cl = 1;
			h->in_cl = 0;
		}
		h->line++;
		h->k = 0;
		h->in_val = 0;
		h->name_cl = 1;
		h->name_te = 1;
		h->prev = ch;
		return 0;
	}
	if (h->prev == '\r')
		return gw_resp_bad(h);
	h->prev = ch;
	if (ch == '\r') {
		h->k++;
		return 0;
	}
	if (h->line == 0) {
		if (h->k < 9) {
			if (ch != gw_resp_ver_ch(h->k))
				return gw_resp_bad(h);
		} else if (h->k < 12) {
			if (ch < '0' || ch > '9')
				return gw_resp_bad(h);
			h->status = h->status * 10 + (ch - '0');
		} else if (h->k == 12 && ch != ' ') {
			return gw_resp_bad(h);
		} else if (ch != '\t' && (ch < 0x20 || ch == 0x7f)) {
			return gw_resp_bad(h);
		}
		h->k++;
		return 0;
	}
	if (!h->in_val) {
		/* header name: a token, then ':' with nothing between */
		if (ch == ':') {
			if (!h->k)
				return gw_resp_bad(h);
			if (h->name_te && h->k == 17)
				return gw_resp_bad(h);
			if (h->name_cl && h->k == 14)
				h->in_cl = 1;
			h->in_val = 1;
			h->k++;
			return 0;
		}
		if (!gw_resp_tchar(ch))
			return gw_resp_bad(h);
		lc = (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
		if (h->name_cl && (h->k >= 14 || lc != gw_resp_name_ch(GW_RESP_CL_NAME, h->k)))
			h->name_cl = 0;
		if (h->name_te && (h->k >= 17 || lc != gw_resp_name_ch(GW_RESP_TE_NAME, h->k)))
			h->name_te = 0;
		h->k++;
		return 0;
	}
	/* field value: visible characters, blanks, obs-text */
	if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
		return gw_resp_bad(h);
	if (h->in_cl) {
		if (ch == ' ' || ch == '\t') {
			if (h->in_cl == 2)
				h->in_cl = 3;
		} else if (ch >= '0' && ch <= '9' && h->in_cl < 3) {
			h->cl = h->cl * 10 + (ch - '0');
			h->in_cl = 2;
			if (h->cl > GW_RESP_CL_MAX)
				return gw_resp_bad(h);
		} else {
			return gw_resp_bad(h);
		}
	}
	h->k++;
	return 0;
}

/* gw_resp_parse() : frames buf[0..len) (len <= GW_HTTP_HEAD_MAX; the head
 * must be complete within it). Returns 0 with h->head_len, h->status and
 * (h->have_cl) h->cl set, or -1 when the head cannot be framed. */
GW_HTTP_FN int gw_resp_parse(struct gw_resp_head *h, const __u8 *buf, __u32 len)
{
	struct gw_resp_loop c = {.h = h, .buf = buf};

	__builtin_memset(h, 0, sizeof(*h));
	h->len = len;
	h->name_cl = 1;
	h->name_te = 1;
	if (len > GW_HTTP_HEAD_MAX)
		return -1;
	bpf_loop(len, gw_resp_step, &c, 0);
	if (h->bad || !h->head_len || h->status < 100 || h->status > 999)
		return -1;
	return 0;
}

/* gw_resp_body_len() : body bytes that follow the head, or -1 when the
 * response cannot be framed (1xx, no Content-Length on a response that has a
 * body). head_req: the request was HEAD. */
GW_HTTP_FN long long gw_resp_body_len(const struct gw_resp_head *h, int head_req)
{
	if (h->status < 200)
		return -1;
	if (head_req || h->status == 204 || h->status == 304)
		return 0;
	if (!h->have_cl)
		return -1;
	return (long long)h->cl;
}

#endif
