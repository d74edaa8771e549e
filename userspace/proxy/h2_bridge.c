/* proxy/h2_bridge.c - HTTP/1.1 clients to h2c backends: conn.c speaks
 * HTTP/1.1 into one end of a socketpair, as to any backend, and this file
 * serves the other end, turning each request into a stream on the worker's
 * pooled h2c connections (h2_upstream.c) and each answer back into HTTP/1.1.
 *
 * Why a socketpair: conn.c's request machinery (retries, timeouts, filters,
 * 100-continue, body framing, the keep-alive pool) works on an upstream
 * socket carrying HTTP/1.1. Giving it one keeps every rule in one place, at
 * the cost of one local copy per byte for this (rare) route; HTTP/2 clients
 * do not go through here (h2.c submits their streams directly).
 *
 * The bridge end is a strict little HTTP/1.1 server for one client (conn.c):
 * requests in order, bodies by Content-Length or chunked (decoded), each
 * forwarded with flow control (bytes are read from the socket only when the
 * stream took the previous ones). Answers carry Content-Length when the
 * backend sent one, else chunked framing, with the backend's trailers in the
 * chunked trailer section. HEAD, 204 and 304 carry no body. The socket in
 * conn.c goes back to the HTTP/1.1 keep-alive pool between requests, keyed
 * by the endpoint address, so the next request to that endpoint reuses it.
 * Under a BackendTLSPolicy the streams go over h2 on TLS (h2_upstream.c),
 * and the bridge socket is pooled under a key of those TLS settings.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/h2.h"
#include "gwbpf/http1.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/upstream.h"

#include "h2up-int.h"
#include "proxy-int.h"

#define H2B_IN GW_PROXY_BUF_SIZE /* request head (+ body bytes) */
#define H2B_OUT_MAX                                                                                \
	(3 * GW_PROXY_BUF_SIZE) /* answer bytes not yet written: a head                            \
					 and one stream window with framing */
#define H2B_MAX_FIELDS 100

enum h2b_state {
	H2B_HEAD,  /* waiting for a request head */
	H2B_BODY,  /* request sent, body bytes flowing */
	H2B_WAIT,  /* request body complete, answer flowing */
	H2B_CLOSE, /* write what is left, then close */
};

struct h2b {
	struct gw_worker *w;
	int fd;
	int peer_fd; /* conn.c's end (uc->fd): finds the bridge of a pooled uc */
	/* the cluster of conn.c's current request (TLS settings), set by each
	 * gw_h2_bridge_get_tls(); the snapshot is conn.c's request's, valid
	 * while it runs, which is when its head arrives here */
	const struct gw_ir *ir;
	int32_t cluster;
	struct gw_io io;
	struct gw_task task; /* h2b_update after the stream took body bytes */
	struct sockaddr_storage ss;
	socklen_t sslen;
	enum h2b_state st;
	char in[H2B_IN]; /* bytes from conn.c; [in_off, in_len) unparsed */
	size_t in_off, in_len;
	char *out; /* answer bytes to conn.c; [out_off, out_len) to write */
	size_t out_off, out_len;
	struct h2up_stream hs;
	bool head_method;
	bool req_chunked;
	uint64_t req_left; /* Content-Length body bytes still to come */
	struct gw_chunk_state cs;
	bool req_end;	   /* the whole request body was given to the stream */
	bool body_pending; /* [in_off, in_off + body_len) decoded body to hand over */
	size_t body_len;
	/* the answer */
	struct gw_http_header rf[H2B_MAX_FIELDS];
	size_t n_rf;
	char fbuf[GW_PROXY_BUF_SIZE]; /* names and values of rf */
	size_t fbuf_len;
	int status;
	bool resp_head_done, resp_chunked, resp_nobody, resp_end;
	bool in_trailers;
	bool eof; /* conn.c closed its end */
	struct h2b *next, *prev;
};

/* the worker's bridges (freed at worker exit): no lock, one per thread */
static __thread struct h2b *h2b_list;

static void h2b_update(struct h2b *b);

static void h2b_free(struct h2b *b)
{
	h2up_cancel(&b->hs);
	gw_loop_cancel(b->w->loop, &b->task);
	gw_loop_del_fd(b->w->loop, &b->io);
	close(b->fd);
	if (b->prev)
		b->prev->next = b->next;
	else
		h2b_list = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b->out);
	free(b);
}

static int out_add(struct h2b *b, const void *p, size_t n)
{
	if (b->out_off == b->out_len)
		b->out_off = b->out_len = 0;
	if (b->out_len + n > H2B_OUT_MAX)
		return -ENOBUFS;
	if (!b->out && !(b->out = malloc(H2B_OUT_MAX)))
		return -ENOMEM;
	memcpy(b->out + b->out_len, p, n);
	b->out_len += n;
	return 0;
}

static int out_printf(struct h2b *b, const char *fmt, ...) GW_PRINTF(2, 3);
static int out_printf(struct h2b *b, const char *fmt, ...)
{
	char tmp[GW_PROXY_BUF_SIZE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENOSPC;
	return out_add(b, tmp, (size_t)n);
}

/* fail_why() : a gateway-made answer (the bridge could not forward) and
 * close; why (one of the pool's reason identifiers, or NULL) becomes the
 * body, since conn.c logs this answer as the backend's */
static void fail_why(struct h2b *b, int status, const char *why)
{
	h2up_cancel(&b->hs);
	if (!b->resp_head_done && why)
		out_printf(b,
			   "HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %zu\r\n"
			   "connection: close\r\n\r\ngwbpf: %s\n",
			   status, gw_http_status_reason(status), strlen(why) + 8, why);
	else if (!b->resp_head_done)
		out_printf(b, "HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
			   status, gw_http_status_reason(status));
	b->st = H2B_CLOSE;
}

static void fail(struct h2b *b, int status)
{
	fail_why(b, status, NULL);
}

/* ---- the answer (h2up ops; owner = b) ---- */

static int op_header(void *owner, bool trailer, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen)
{
	struct h2b *b = owner;
	struct gw_http_header *h;

	if (trailer && b->resp_head_done) {
		/* trailers go out right away in the chunked trailer section */
		if (!b->resp_chunked || b->resp_nobody)
			return 0;
		if (!b->in_trailers) {
			b->in_trailers = true;
			if (out_add(b, "0\r\n", 3))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		return out_add(b, name, nlen) || out_add(b, ": ", 2) || out_add(b, value, vlen) ||
			       out_add(b, "\r\n", 2)
			   ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
			   : 0;
	}
	if (b->n_rf == H2B_MAX_FIELDS || b->fbuf_len + nlen + vlen > sizeof(b->fbuf))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST: answered 502 */
	h = &b->rf[b->n_rf++];
	memcpy(b->fbuf + b->fbuf_len, name, nlen);
	h->name.p = b->fbuf + b->fbuf_len;
	h->name.len = nlen;
	b->fbuf_len += nlen;
	memcpy(b->fbuf + b->fbuf_len, value, vlen);
	h->value.p = b->fbuf + b->fbuf_len;
	h->value.len = vlen;
	b->fbuf_len += vlen;
	return 0;
}

/* resp_head() : the answer's HEADERS are complete: an HTTP/1.1 head */
static int resp_head(struct h2b *b, bool end)
{
	bool have_cl = false;
	int err = 0;

	b->status = 0;
	for (size_t i = 0; i < b->n_rf; i++)
		if (gw_slice_eq(b->rf[i].name, ":status"))
			b->status = atoi(b->rf[i].value.p); /* digits, then the next name */
	if (b->status < 200) {
		/* interim: dropped, as conn.c drops 1xx from HTTP/1.1 backends */
		b->n_rf = b->fbuf_len = 0;
		return 0;
	}
	b->resp_head_done = true;
	b->resp_nobody = b->head_method || b->status == 204 || b->status == 304;
	err = out_printf(b, "HTTP/1.1 %d %s\r\n", b->status, gw_http_status_reason(b->status));
	for (size_t i = 0; !err && i < b->n_rf; i++) {
		const struct gw_http_header *h = &b->rf[i];

		if (h->name.len && h->name.p[0] == ':')
			continue;
		if (gw_slice_casecmp(h->name, "content-length"))
			have_cl = true;
		err = out_add(b, h->name.p, h->name.len) ?: out_add(b, ": ", 2) ?:
		      out_add(b, h->value.p, h->value.len) ?: out_add(b, "\r\n", 2);
	}
	/* no length and a body to come: chunked (trailers can follow) */
	b->resp_chunked = !b->resp_nobody && !have_cl && !end;
	if (!err && b->resp_chunked)
		err = out_add(b, "transfer-encoding: chunked\r\n", 28);
	if (!err && !b->resp_nobody && !have_cl && end)
		err = out_add(b, "content-length: 0\r\n", 19);
	return err ?: out_add(b, "\r\n", 2);
}

static void op_frame(void *owner, uint8_t type, bool end)
{
	struct h2b *b = owner;

	if (type == NGHTTP2_HEADERS && !b->resp_head_done) {
		if (resp_head(b, end)) {
			fail(b, 502);
			return;
		}
	}
	if (end && b->resp_head_done) {
		b->resp_end = true;
		if (b->resp_chunked && !b->resp_nobody)
			out_add(b, b->in_trailers ? "\r\n" : "0\r\n\r\n", b->in_trailers ? 2 : 5);
	}
}

static int op_data(void *owner, const uint8_t *p, size_t len)
{
	struct h2b *b = owner;
	char line[24];
	int n;

	if (!b->resp_head_done || b->resp_nobody || !len) {
		h2up_consume(&b->hs, len);
		return 0;
	}
	/* the window is one buffer: out never holds more than a few */
	if (b->resp_chunked) {
		n = snprintf(line, sizeof(line), "%zx\r\n", len);
		if (out_add(b, line, (size_t)n) || out_add(b, p, len) || out_add(b, "\r\n", 2))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	} else if (out_add(b, p, len)) {
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	/* given back once written to conn.c: see h2b_write */
	return 0;
}

static void task_cb(struct gw_loop *loop, struct gw_task *t)
{
	(void)loop;
	h2b_update(t->data);
}

/* op_body() : request body bytes (decoded) from in[] to the stream */
static ssize_t op_body(void *owner, uint8_t *buf, size_t len, uint32_t *flags)
{
	struct h2b *b = owner;
	size_t n = GW_MIN(len, b->body_len);

	if (n) {
		memcpy(buf, b->in + b->in_off, n);
		b->in_off += n;
		b->body_len -= n;
		/* room again: read more of the body, but not from inside
		 * nghttp2's send (the update may feed the same session) */
		if (!b->body_len)
			gw_loop_defer(b->w->loop, &b->task, task_cb, b);
	}
	if (!b->body_len && b->req_end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return (ssize_t)n;
	}
	return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
}

static void op_closed(void *owner, uint32_t code, bool retry)
{
	struct h2b *b = owner;

	(void)retry;
	if (!b->resp_end || code) {
		/* reset or broken before the end: conn.c sees 502 or a cut body */
		if (!b->resp_head_done)
			fail_why(b, 502, b->hs.why);
		else
			b->st = H2B_CLOSE;
	}
}

static void op_kick(void *owner)
{
	h2b_update(owner);
}

static const struct h2up_ops h2b_ops = {
    .header = op_header,
    .frame = op_frame,
    .data = op_data,
    .body = op_body,
    .closed = op_closed,
    .kick = op_kick,
};

/* ---- requests ---- */

static bool hop_by_hop(struct gw_slice n)
{
	return gw_slice_casecmp(n, "connection") || gw_slice_casecmp(n, "keep-alive") ||
	       gw_slice_casecmp(n, "proxy-connection") ||
	       gw_slice_casecmp(n, "transfer-encoding") || gw_slice_casecmp(n, "upgrade") ||
	       gw_slice_casecmp(n, "host") || gw_slice_casecmp(n, "expect");
}

/* start() : a complete head at in[in_off..): submit the stream. Returns
 * false when the bridge must stop (an error answer is queued). */
static bool start(struct h2b *b)
{
	struct gw_http_header hdrs[H2B_MAX_FIELDS];
	nghttp2_nv nv[H2B_MAX_FIELDS + 4];
	char names[GW_PROXY_BUF_SIZE];
	struct gw_http_limits lim;
	struct gw_http_req req;
	size_t n = 0, nb = 0;
	int used, err;

	gw_http_limits_default(&lim);
	lim.max_headers = H2B_MAX_FIELDS;
	memset(&req, 0, sizeof(req));
	req.headers = hdrs;
	used = gw_http1_parse_request(b->in + b->in_off, b->in_len - b->in_off, &req, &lim);
	if (used == -EAGAIN) {
		if (b->in_off == 0 && b->in_len == sizeof(b->in))
			fail(b, 431);
		return b->st != H2B_CLOSE;
	}
	if (used <= 0 || req.fr.upgrade) {
		fail(b, 400);
		return false;
	}
#define NV(n_, v_, nl_, vl_) (nghttp2_nv){(uint8_t *)(n_), (uint8_t *)(v_), nl_, vl_, 0}
	nv[n++] = NV(":method", req.method.p, 7, req.method.len);
	nv[n++] = NV(":scheme", "http", 7, 4);
	nv[n++] = NV(":authority", req.host.p, 10, req.host.len);
	nv[n++] = NV(":path", req.target.p, 5, req.target.len);
	for (size_t i = 0; i < req.n_headers; i++) {
		const struct gw_http_header *h = &req.headers[i];

		if (hop_by_hop(h->name) ||
		    (gw_slice_casecmp(h->name, "te") && !gw_slice_casecmp(h->value, "trailers")))
			continue;
		if (nb + h->name.len > sizeof(names))
			break;
		for (size_t k = 0; k < h->name.len; k++) {
			char ch = h->name.p[k];

			names[nb + k] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
		}
		nv[n++] = NV(names + nb, h->value.p, h->name.len, h->value.len);
		nb += h->name.len;
	}
#undef NV
	b->head_method = gw_slice_eq(req.method, "HEAD");
	b->req_chunked = req.fr.chunked;
	b->req_left = req.fr.content_length > 0 ? (uint64_t)req.fr.content_length : 0;
	b->req_end = !b->req_chunked && !b->req_left;
	memset(&b->cs, 0, sizeof(b->cs));
	b->body_len = 0;
	b->n_rf = b->fbuf_len = 0;
	b->status = 0;
	b->resp_head_done = b->resp_chunked = b->resp_nobody = b->resp_end = b->in_trailers = false;
	/* nghttp2 copies nv: the head may go once submitted */
	err = h2up_submit_cl(b->w, &b->ss, b->sslen, b->ir, b->cluster, nv, n, !b->req_end,
			     &h2b_ops, b, &b->hs);
	if (err) {
		fail_why(b, 502, err == -EPROTO ? "upstream_tls_policy" : "upstream_connect");
		return false;
	}
	b->in_off += (size_t)used;
	b->st = b->req_end ? H2B_WAIT : H2B_BODY;
	return true;
}

/* body_step() : frames the request body bytes in in[]; the decoded ones
 * wait at in[in_off..in_off + body_len) until the stream takes them */
static void body_step(struct h2b *b)
{
	size_t avail = b->in_len - b->in_off;

	if (b->st != H2B_BODY || b->body_len || !avail)
		return;
	if (b->req_chunked) {
		size_t used = 0, dlen = 0;
		int r = gw_chunked_decode(&b->cs, b->in + b->in_off, avail, &used, &dlen);

		if (r < 0) {
			fail(b, 400);
			return;
		}
		/* the decoded bytes are at in_off; what followed the body stays */
		if (used < avail)
			memmove(b->in + b->in_off + dlen, b->in + b->in_off + used, avail - used);
		b->in_len -= used - dlen;
		b->body_len = dlen;
		if (r == 1)
			b->req_end = true;
	} else {
		size_t n = (size_t)GW_MIN((uint64_t)avail, b->req_left);

		b->body_len = n;
		b->req_left -= n;
		if (!b->req_left)
			b->req_end = true;
	}
	if (b->body_len || b->req_end)
		h2up_resume(&b->hs);
}

/* h2b_write() : answer bytes to conn.c; written bytes give the stream its
 * window back */
static bool h2b_write(struct h2b *b)
{
	while (b->out_off < b->out_len) {
		ssize_t n = send(b->fd, b->out + b->out_off, b->out_len - b->out_off, MSG_NOSIGNAL);

		if (n == -1)
			return errno == EAGAIN || errno == EINTR;
		b->out_off += (size_t)n;
		h2up_consume(&b->hs, (size_t)n);
	}
	b->out_off = b->out_len = 0;
	if (b->st == H2B_HEAD) {
		/* an idle bridge (pooled by conn.c) holds no answer buffer */
		free(b->out);
		b->out = NULL;
	}
	return true;
}

static void h2b_update(struct h2b *b)
{
	uint32_t want = 0;

	if (!h2b_write(b)) {
		h2b_free(b);
		return;
	}
	/* a finished exchange: the next request may start */
	if (b->st == H2B_WAIT && b->resp_end && !b->hs.c && b->out_off == b->out_len) {
		b->st = H2B_HEAD;
		if (b->in_off == b->in_len)
			b->in_off = b->in_len = 0;
	}
	if (b->st == H2B_HEAD && b->in_len > b->in_off)
		start(b);
	body_step(b);
	if (b->st == H2B_BODY && b->req_end && !b->body_len)
		b->st = H2B_WAIT;
	if (!h2b_write(b)) {
		h2b_free(b);
		return;
	}
	if (b->st == H2B_CLOSE && b->out_off == b->out_len) {
		h2b_free(b);
		return;
	}
	if (b->eof && b->st == H2B_HEAD) {
		h2b_free(b);
		return;
	}
	if (b->out_off < b->out_len)
		want |= GW_IO_WRITE;
	/* no decoded body waits at in_off: what follows may move */
	if (b->in_off && !b->body_len) {
		memmove(b->in, b->in + b->in_off, b->in_len - b->in_off);
		b->in_len -= b->in_off;
		b->in_off = 0;
	}
	/* read while there is room and the bytes can go somewhere */
	if (!b->eof && b->st != H2B_CLOSE && b->in_len < sizeof(b->in) &&
	    (b->st == H2B_HEAD || (b->st == H2B_BODY && !b->body_len)))
		want |= GW_IO_READ;
	gw_loop_mod_fd(b->w->loop, &b->io, want);
}

static void h2b_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct h2b *b = io->data;

	(void)loop;
	if (events & (GW_IO_READ | GW_IO_ERR)) {
		ssize_t n;

		n = recv(b->fd, b->in + b->in_len, sizeof(b->in) - b->in_len, 0);
		if (n > 0) {
			b->in_len += (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			b->eof = true;
			if (b->st != H2B_HEAD) {
				/* conn.c gave up on this exchange */
				h2up_cancel(&b->hs);
				h2b_free(b);
				return;
			}
		}
	}
	h2b_update(b);
}

struct gw_upconn *gw_h2_bridge_get(struct gw_worker *w, const struct sockaddr_storage *ss,
				   socklen_t len)
{
	return gw_h2_bridge_get_tls(w, ss, len, NULL, 0);
}

struct gw_upconn *gw_h2_bridge_get_tls(struct gw_worker *w, const struct sockaddr_storage *ss,
				       socklen_t len, const struct gw_ir *ir, int32_t cluster)
{
	const struct gw_ir_upstream_tls *t = ir ? ir->clusters[cluster].tls : NULL;
	/* a TLS digest is odd and GW_H2_BRIDGE_KEY too: their xor is even, so
	 * it is neither a TCP/TLS key nor the key of cleartext bridges */
	uint64_t key = t ? gw_tls_up_key(ir, cluster) ^ GW_H2_BRIDGE_KEY : GW_H2_BRIDGE_KEY;
	struct gw_upconn *uc = NULL;
	struct h2b *b = NULL;
	int sv[2] = {-1, -1};
	int err = -ENOMEM;

	if (t && t->invalid) {
		errno = EPROTO; /* BackendTLSPolicy without a usable CA: nothing is sent */
		return NULL;
	}
	/* an idle bridge socket to this endpoint, kept by the HTTP/1.1 pool */
	uc = gw_upstream_take_idle(w->up, ss, len, key);
	if (uc) {
		for (b = h2b_list; b && b->peer_fd != uc->fd; b = b->next)
			;
		if (b) {
			b->ir = ir;
			b->cluster = cluster;
		}
		return uc;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
		err = -errno;
		goto out;
	}
	uc = calloc(1, sizeof(*uc));
	b = calloc(1, sizeof(*b));
	if (!uc || !b)
		goto out;
	b->w = w;
	b->fd = sv[1];
	b->peer_fd = sv[0];
	b->ir = ir;
	b->cluster = cluster;
	memcpy(&b->ss, ss, len);
	b->sslen = len;
	err = gw_loop_add_fd(w->loop, &b->io, b->fd, GW_IO_READ, h2b_io, b);
	if (err)
		goto out;
	b->next = h2b_list;
	if (h2b_list)
		h2b_list->prev = b;
	h2b_list = b;
	uc->fd = sv[0];
	memcpy(&uc->addr, ss, len);
	uc->addrlen = len;
	uc->pool = w->up;
	uc->tls_key = key;
	uc->connected = true;
	err = 0;
out:
	if (err) {
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		free(uc);
		free(b);
		errno = -err;
		return NULL;
	}
	return uc;
}

void h2b_close_all(struct gw_worker *w)
{
	struct h2b *b, *next;

	for (b = h2b_list; b; b = next) {
		next = b->next;
		if (b->w == w)
			h2b_free(b);
	}
}
