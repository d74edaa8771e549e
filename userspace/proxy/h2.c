/* proxy/h2.c - HTTP/2 client connections: each stream is one request, routed
 * and filtered like an HTTP/1.1 one and forwarded upstream over HTTP/1.1.
 *
 * nghttp2 owns framing, HPACK, stream states and flow control; this file owns
 * the socket and the upstream side. The session is driven with mem_recv /
 * mem_send so the bytes go through our own transport (plain TCP or tls.c).
 *
 * Backpressure, both ways, without holding bodies whole:
 * - request bodies: automatic WINDOW_UPDATE is off. DATA goes into the
 *   stream's upstream buffer and is only acknowledged (nghttp2_session_consume)
 *   once written to the upstream socket, so a slow backend stops the client
 *   at its stream window (64 KiB) instead of growing a buffer.
 * - response bodies: the upstream is read into one fixed buffer per stream;
 *   the data provider takes from it as the client's window allows, and the
 *   upstream is not read while that buffer is full.
 *
 * The upstream exchange is a small HTTP/1.1 client of its own rather than
 * conn.c's: conn.c ties one request to one client connection (its state
 * machine and buffers live in struct gw_conn), while here one connection
 * carries up to GW_H2_MAX_STREAMS requests. Both use the same upstream pool,
 * endpoint choice, router and filters, so they decide alike.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "gwbpf/accesslog.h"
#include "gwbpf/arena.h"
#include "gwbpf/filter.h"
#include "gwbpf/h2.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/http1.h"
#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/metrics.h"
#include "gwbpf/router.h"
#include "gwbpf/tls.h"
#include "gwbpf/upstream.h"

#include "h2up-int.h"
#include "proxy-int.h"

#define H2_MAX_ATTEMPTS 3
#define H2_READ_CHUNK 16384
/* frames are gathered into one buffer per connection and written with one
 * send per loop pass; a frame at least this big (a full DATA frame) is
 * written from nghttp2's buffer behind the gathered ones instead of copied */
#define H2_OBUF_SIZE 16384
#define H2_OBUF_DIRECT 4096
/* closing an abusive connection: it has GW_H2_CLOSE_MS to take its GOAWAY
 * (it may not be reading); then the lingering close (h2_linger) waits up to
 * GW_H2_LINGER_MS for its FIN, dropping at most GW_H2_LINGER_BYTES of what
 * it still sends */
#define GW_H2_CLOSE_MS 5000
#define GW_H2_LINGER_MS 2000
/* draining: the first GOAWAY (last stream 2^31-1) says "no new streams
 * soon"; the final one, naming the last stream taken, follows this much
 * later, so a stream the client opened while the first was on its way is
 * served rather than refused (RFC 9113 6.8) */
#define GW_H2_DRAIN_NOTICE_MS 250
#define GW_H2_LINGER_BYTES (256 * 1024)

enum h2_rbody {
	H2_RB_NONE = 0, /* no body (HEAD, 204, 304) */
	H2_RB_CL,	/* Content-Length */
	H2_RB_CHUNKED,	/* chunked: decoded in place */
	H2_RB_EOF,	/* until the upstream closes */
};

struct h2_conn;

struct h2_stream {
	struct h2_conn *hc;
	int32_t id;
	struct gw_arena *a;	       /* owns this struct, the fields and the head copy */
	struct gw_ir *ir;	       /* reference held while the stream lives */
	struct gw_http_header *fields; /* as received, pseudo-headers included */
	size_t n_fields;
	size_t field_bytes; /* RFC 7541 size (name + value + 32 each) */
	bool too_big;	    /* over the header limits: 431 */
	bool grpc;	    /* content-type application/grpc*: errors as grpc-status */
	bool head_method;
	const struct gw_ir_action *action;
	struct gw_filter_result fr;
	int32_t cluster;
	uint64_t tried;
	unsigned int attempts;
	bool retried_stale;
	unsigned int retries;	     /* HTTPRoute retry: tries after the first */
	int up2_again;		     /* h2c answer with this status is retried: dropped */
	struct gw_timer retry_timer; /* backoff before the next one */
	struct gw_upconn *uc;
	/* client -> upstream */
	char *uout; /* malloc'd; grows at most to a stream window + framing */
	size_t uout_len, uout_off, uout_cap;
	size_t head_len; /* upstream head bytes, kept in `head` for a stale retry */
	char *head;
	size_t unacked;	  /* DATA bytes in uout not yet given back to the window */
	bool req_chunked; /* body sent with chunked framing (length unknown) */
	bool req_end;	  /* END_STREAM received */
	bool req_body;	  /* the request has a body */
	/* request trailers, forwarded when the body ends (docs/http2.md) */
	struct gw_http_header *qtrailers; /* arena, GW_H2_MAX_HEADERS */
	size_t n_qtrailers, qtrailer_bytes;
	/* upstream -> client */
	char *uin; /* GW_PROXY_BUF_SIZE; body_ready decoded bytes at the front */
	size_t uin_len, body_ready;
	enum h2_rbody rtype;
	uint64_t rleft;
	struct gw_chunk_state cs;
	bool resp_head_done; /* HEADERS submitted */
	bool resp_done;	     /* the whole body is in uin */
	bool up_eof;
	bool up_reusable;
	bool deferred;		/* the data provider said DEFERRED */
	const char *local_body; /* gateway-made answer */
	size_t local_len;
	/* upstream h2c (cluster appProtocol kubernetes.io/h2c, GRPCRoute backends):
	 * one stream on a pooled multiplexed connection (h2_upstream.c) */
	bool up_h2;
	bool up_retry;	   /* the h2c stream ended unprocessed: try elsewhere */
	bool up_body_sent; /* request body bytes went to the h2c stream */
	struct h2up_stream hs;
	nghttp2_nv *unv; /* the upstream request fields (arena) */
	size_t n_unv;
	struct gw_http_header *rfields; /* upstream response fields, then trailers */
	size_t n_rfields, n_trailers;
	struct gw_timer timer; /* upstream deadline */
	uint64_t deadline;     /* absolute (route timeout), or 0 = silence timeout */
	int status;
	uint64_t start_us;
	int64_t wall_ms;	      /* Unix ms when the head arrived (access log) */
	uint64_t bytes_in, bytes_out; /* DATA payload bytes each way */
	const char *reason;	      /* why the gateway answered itself */
	char *listener, *route;
	char upstream[GW_ADDR_MAX + 8];
	struct h2_stream *next, *prev;
};

struct h2_conn {
	struct gw_worker *w;
	int fd;
	struct gw_tls_conn *tls;
	struct gw_io io;
	struct gw_timer timer; /* idle */
	struct gw_timer drain_timer; /* from the drain notice to the final GOAWAY */
	bool draining;		     /* gw_h2_drain() sent the notice */
	struct gw_task task;   /* TLS bytes pending inside OpenSSL */
	nghttp2_session *s;
	const uint8_t *wp; /* mem_send output not written yet (nghttp2's buffer) */
	size_t wlen;
	char *obuf;		   /* H2_OBUF_SIZE: frames gathered for one write */
	size_t olen, ooff;	   /* bytes in obuf, and how many of them are written */
	struct gw_task flush_task; /* the write at the end of this loop pass */
	bool closing;		   /* GOAWAY queued for abuse: read nothing more */
	bool lingering;		   /* write side shut: reading and discarding */
	bool drained;		   /* the last h2_flush() wrote everything */
	size_t linger_bytes;	   /* discarded so far */
	char laddr[GW_ADDR_MAX];
	uint16_t lport;
	char peer[GW_ADDR_MAX];
	uint32_t n_resets;	      /* RST_STREAM frames received */
	uint32_t n_streams;	      /* streams opened */
	uint32_t n_refused;	      /* streams refused (over MAX_CONCURRENT_STREAMS) */
	uint32_t n_too_big;	      /* requests over the header limits (431) */
	uint32_t n_settings, n_pings; /* in the current control window */
	uint64_t ctl_window_ms;	      /* start of that window (monotonic ms) */
	bool dead;		      /* close at the end of the current update */
	bool abused;		      /* GOAWAY sent for abuse (counted once) */
	bool in_update;
	struct h2_stream *streams;
	struct h2_conn *next, *prev;
};

/* every worker thread serves its own connections: no lock */
static __thread struct h2_conn *h2_conns;

/* GW_PROXY_BUF_SIZE buffers (a stream's upstream buffers) left by ended
 * streams, for the next ones: a stream then costs no malloc for them.
 * Bounded, and emptied when the worker ends (gw_h2_close_all). */
#define H2_BUF_CACHE 128
static __thread void *h2_bufs[H2_BUF_CACHE];
static __thread unsigned int h2_n_bufs;

/* h2_buf_get() : a GW_PROXY_BUF_SIZE buffer (not zeroed), NULL/ENOMEM */
static void *h2_buf_get(void)
{
	return h2_n_bufs ? h2_bufs[--h2_n_bufs] : malloc(GW_PROXY_BUF_SIZE);
}

/* h2_buf_put() : gives back a buffer of h2_buf_get() (NULL accepted) */
static void h2_buf_put(void *p)
{
	if (p && h2_n_bufs < H2_BUF_CACHE)
		h2_bufs[h2_n_bufs++] = p;
	else
		free(p);
}

/* connections closed for abuse, by reason: shared by the workers (relaxed
 * atomics; an abusive connection is rare, so the shared line costs nothing
 * on the request path) */
static const char *const h2_abuse_names[GW_H2_ABUSE_MAX] = {
    [GW_H2_ABUSE_RAPID_RESET] = "rapid_reset", [GW_H2_ABUSE_REFUSED_STREAMS] = "refused_streams",
    [GW_H2_ABUSE_HEADER_LIST] = "header_list", [GW_H2_ABUSE_CONTINUATION] = "continuation",
    [GW_H2_ABUSE_SETTINGS] = "settings_flood", [GW_H2_ABUSE_PING] = "ping_flood",
    [GW_H2_ABUSE_OUTBOUND] = "outbound_flood", [GW_H2_ABUSE_PROTOCOL] = "protocol_error",
};
static uint64_t h2_abuse_count[GW_H2_ABUSE_MAX];

static void h2_update(struct h2_conn *hc);
static void up_want(struct h2_stream *st);
static void h2_schedule(struct h2_conn *hc);
static void up_io(struct gw_loop *loop, struct gw_io *io, uint32_t events);
static int up2_request(struct h2_stream *st);
static const struct h2up_ops up2_ops;
static void h2_abuse(struct h2_conn *hc, enum gw_h2_abuse r, uint32_t code);

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- pure helpers ---- */

int gw_h2_detect(const char *data, size_t len)
{
	size_t n = GW_MIN(len, (size_t)GW_H2_PREFACE_LEN);

	if (memcmp(data, GW_H2_PREFACE, n))
		return 0;
	return n == GW_H2_PREFACE_LEN ? 1 : -EAGAIN;
}

static bool parse_u64(struct gw_slice s, int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s.len || s.len > 18)
		return false;
	for (i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	*out = (int64_t)v;
	return true;
}

int gw_h2_request_view(const struct gw_http_header *fields, size_t n, struct gw_http_req *req,
		       struct gw_http_header *hdrs, size_t max)
{
	struct gw_slice authority = {NULL, 0}, host = {NULL, 0};
	bool have_method = false, have_path = false;
	size_t i, nh = 0;
	const char *q;

	memset(req, 0, sizeof(*req));
	req->headers = hdrs;
	req->version_minor = 1;
	req->fr.content_length = -1;
	for (i = 0; i < n; i++) {
		const struct gw_http_header *f = &fields[i];

		if (f->name.len && f->name.p[0] == ':') {
			if (gw_slice_eq(f->name, ":method")) {
				req->method = f->value;
				have_method = true;
			} else if (gw_slice_eq(f->name, ":path")) {
				req->target = f->value;
				have_path = true;
			} else if (gw_slice_eq(f->name, ":authority")) {
				authority = f->value;
			}
			/* :scheme is the client's business: the listener decides
			 * X-Forwarded-Proto, as for HTTP/1.1 */
			continue;
		}
		if (gw_slice_casecmp(f->name, "host") && !host.len)
			host = f->value;
		if (gw_slice_casecmp(f->name, "content-length")) {
			int64_t v;

			if (!parse_u64(f->value, &v) ||
			    (req->fr.content_length >= 0 && req->fr.content_length != v))
				return -EBADMSG;
			req->fr.content_length = v;
		}
		if (nh >= max)
			return -E2BIG;
		hdrs[nh++] = *f;
	}
	req->n_headers = nh;
	if (!have_method || !req->method.len || gw_slice_eq(req->method, "CONNECT"))
		return -EBADMSG;
	if (!have_path || !req->target.len || req->target.p[0] != '/')
		return -EBADMSG;
	/* RFC 9113 8.3.1: :authority wins over a host field */
	req->host = authority.len ? authority : host;
	if (!req->host.len)
		return -EBADMSG;
	q = memchr(req->target.p, '?', req->target.len);
	req->path.p = req->target.p;
	req->path.len = q ? (size_t)(q - req->target.p) : req->target.len;
	if (q) {
		req->query.p = q + 1;
		req->query.len = req->target.len - req->path.len - 1;
	}
	return 0;
}

/* ---- streams ---- */

static struct h2_stream *stream_get(struct h2_conn *hc, int32_t id)
{
	return nghttp2_session_get_stream_user_data(hc->s, id);
}

static void stream_up_detach(struct h2_stream *st, bool reusable)
{
	struct gw_worker *w = st->hc->w;

	h2up_cancel(&st->hs);
	if (!st->uc)
		return;
	/* no gw_loop_del_fd(): the pool takes the registered fd over (an
	 * interest change at most) or closes it, which unregisters it */
	gw_upstream_release(w->up, st->uc, reusable);
	st->uc = NULL;
}

/* field() : the value of the first field named name (pseudo-headers too) */
static struct gw_slice field(const struct h2_stream *st, const char *name)
{
	struct gw_slice none = {NULL, 0};
	size_t i;

	for (i = 0; i < st->n_fields; i++)
		if (gw_slice_eq(st->fields[i].name, name))
			return st->fields[i].value;
	return none;
}

static void stream_log(struct h2_stream *st)
{
	struct gw_access_log *log = st->hc->w->p->alog;
	struct gw_access_entry e;

	if (!gw_access_log_enabled(log))
		return;
	memset(&e, 0, sizeof(e));
	e.time_ms = st->wall_ms;
	e.client = st->hc->peer;
	e.listener = st->listener;
	e.host = field(st, ":authority");
	if (!e.host.len)
		e.host = field(st, "host");
	e.method = field(st, ":method");
	e.path = field(st, ":path");
	e.route = st->route;
	e.rule = st->action ? st->action->rule_name : NULL;
	e.rule_index = st->action ? (int32_t)st->action->rule_index : -1;
	e.backend = st->upstream[0] ? st->upstream : NULL;
	e.status = st->status;
	e.bytes_in = st->bytes_in;
	e.bytes_out = st->bytes_out;
	e.duration_us = now_us() - st->start_us;
	e.upstream_us = -1;
	e.reason = st->reason;
	gw_access_log_write(log, &e);
}

static void stream_free(struct h2_stream *st)
{
	struct h2_conn *hc = st->hc;
	struct gw_worker *w = hc->w;
	int cls = st->status >= 100 && st->status < 600 ? st->status / 100 : 0;

	stream_up_detach(st, st->up_reusable && st->resp_done && st->req_end &&
				 st->uout_off == st->uout_len);
	gw_loop_del_timer(w->loop, &st->timer);
	gw_loop_del_timer(w->loop, &st->retry_timer);
	if (st->ir) {
		gw_stat_add(w, responses[cls], 1);
		if (w->mw)
			gw_metrics_request_bytes(w->mw, st->listener, st->route, st->status,
						 now_us() - st->start_us, st->bytes_in,
						 st->bytes_out);
		stream_log(st);
	}
	if (st->prev)
		st->prev->next = st->next;
	else
		hc->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	/* uout grows past GW_PROXY_BUF_SIZE only for big request bodies */
	if (st->uout_cap == GW_PROXY_BUF_SIZE)
		h2_buf_put(st->uout);
	else
		free(st->uout);
	h2_buf_put(st->uin);
	gw_ir_put(st->ir);
	gw_arena_free(st->a);
}

/* grpc_status() : the gRPC code a gateway-made HTTP status maps to
 * (grpc/doc/http-grpc-status-mapping.md, in reverse) */
static int grpc_status(int status)
{
	switch (status) {
	case 400:
		return 13; /* INTERNAL */
	case 404:
		return 12; /* UNIMPLEMENTED: no route for the method */
	case 431:
		return 8; /* RESOURCE_EXHAUSTED */
	case 502:
	case 503:
		return 14; /* UNAVAILABLE */
	case 504:
		return 4; /* DEADLINE_EXCEEDED */
	default:
		return 13;
	}
}

static ssize_t data_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
			    uint32_t *flags, nghttp2_data_source *src, void *user);

/* submit_head() : HEADERS for st from an HTTP/1.1 response head (status +
 * fields); hop-by-hop and framing fields are dropped and names lowercased.
 * with_body: a DATA provider follows, else END_STREAM on HEADERS. */
static int submit_head(struct h2_stream *st, const struct gw_http_resp *resp, bool with_body)
{
	nghttp2_nv nv[GW_H2_MAX_HEADERS + 2];
	nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read_cb};
	char status[4];
	size_t n = 0, i;
	int err;

	snprintf(status, sizeof(status), "%03d", resp->status);
	nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
	for (i = 0; i < resp->n_headers && n < ARRAY_SIZE(nv); i++) {
		const struct gw_http_header *h = &resp->headers[i];
		char *name;
		size_t k;

		if (gw_slice_casecmp(h->name, "connection") ||
		    gw_slice_casecmp(h->name, "keep-alive") ||
		    gw_slice_casecmp(h->name, "proxy-connection") ||
		    gw_slice_casecmp(h->name, "transfer-encoding") ||
		    gw_slice_casecmp(h->name, "upgrade") || gw_slice_casecmp(h->name, "te"))
			continue;
		/* a chunked or close-delimited body has no length to announce;
		 * with one, HTTP/2 framing makes it advisory anyway */
		name = gw_arena_strndup(st->a, h->name.p, h->name.len);
		if (!name)
			return -ENOMEM;
		for (k = 0; k < h->name.len; k++)
			if (name[k] >= 'A' && name[k] <= 'Z')
				name[k] = (char)(name[k] - 'A' + 'a');
		nv[n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)h->value.p, h->name.len,
				       h->value.len, NGHTTP2_NV_FLAG_NONE};
	}
	st->status = resp->status;
	st->resp_head_done = true;
	/* nghttp2 copies the name/value pairs: the buffers may go after this */
	err = nghttp2_submit_response(st->hc->s, st->id, nv, n, with_body ? &prd : NULL);
	return err ? -EPROTO : 0;
}

/* local_response() : the gateway answers status itself (a short text body,
 * or for gRPC a trailers-only response with grpc-status). The upstream, if
 * any, is dropped. */
static void local_response(struct h2_stream *st, int status, const char *reason)
{
	struct gw_http_header h[3];
	struct gw_http_resp resp = {.status = status, .headers = h};
	char *body;
	int blen;

	stream_up_detach(st, false);
	st->resp_done = true;
	st->reason = reason;
	if (st->resp_head_done) {
		/* too late to say anything else: cancel the stream */
		nghttp2_submit_rst_stream(st->hc->s, NGHTTP2_FLAG_NONE, st->id,
					  NGHTTP2_INTERNAL_ERROR);
		st->status = status;
		return;
	}
	pr_debug("h2: %s: stream %d: %d (%s)", st->hc->peer, st->id, status, reason);
	if (st->grpc) {
		char *code = gw_arena_alloc(st->a, 8);
		char *msg = gw_arena_alloc(st->a, 96);

		if (code && msg) {
			/* grpc-message: printable ASCII without '%' needs no
			 * percent-encoding; reason is one of our own identifiers */
			snprintf(code, 8, "%d", grpc_status(status));
			snprintf(msg, 96, "gwbpf: %d %s (%s)", status,
				 gw_http_status_reason(status), reason ? reason : "-");
			h[0] =
			    (struct gw_http_header){{"content-type", 12}, {"application/grpc", 16}};
			h[1] = (struct gw_http_header){{"grpc-status", 11}, {code, strlen(code)}};
			h[2] = (struct gw_http_header){{"grpc-message", 12}, {msg, strlen(msg)}};
			resp.status = 200;
			resp.n_headers = 3;
			submit_head(st, &resp, false);
			st->status = status;
			return;
		}
	}
	body = gw_arena_alloc(st->a, 96);
	blen = body ? snprintf(body, 96, "%d %s\n", status, gw_http_status_reason(status)) : 0;
	h[0] = (struct gw_http_header){{"content-type", 12}, {"text/plain", 10}};
	resp.n_headers = 1;
	st->local_body = body;
	st->local_len = st->head_method ? 0 : (size_t)blen;
	submit_head(st, &resp, st->local_len > 0);
}

/* respond_with_head() : the filter answered (redirect, CORS preflight, direct
 * status): its HTTP/1.1 head (empty body) is re-read and sent as HEADERS */
static void respond_with_head(struct h2_stream *st, const char *head, size_t len)
{
	struct gw_http_header hdrs[GW_H2_MAX_HEADERS];
	struct gw_http_resp resp;
	struct gw_http_limits lim;

	gw_http_limits_default(&lim);
	lim.max_headers = GW_H2_MAX_HEADERS;
	memset(&resp, 0, sizeof(resp));
	resp.headers = hdrs;
	if (gw_http1_parse_response(head, len, &resp, &lim) <= 0) {
		local_response(st, 500, "filter_head");
		return;
	}
	st->resp_done = true;
	submit_head(st, &resp, false);
}

/* ---- upstream ---- */

static int uout_append(struct h2_stream *st, const void *p, size_t n)
{
	if (st->uout_off && st->uout_off == st->uout_len)
		st->uout_off = st->uout_len = 0;
	if (!st->uout && st->uout_len + n <= GW_PROXY_BUF_SIZE) {
		st->uout = h2_buf_get();
		if (!st->uout)
			return -ENOMEM;
		st->uout_cap = GW_PROXY_BUF_SIZE;
	}
	if (!st->uout || st->uout_len + n > st->uout_cap) {
		size_t cap = GW_MAX(st->uout_cap * 2, st->uout_len + n + 1024);
		char *nb;

		if (st->uout && st->uout_cap == GW_PROXY_BUF_SIZE) {
			/* a cached buffer is not realloc'd: it goes back */
			nb = malloc(cap);
			if (nb && st->uout_len)
				memcpy(nb, st->uout, st->uout_len);
			if (nb)
				h2_buf_put(st->uout);
		} else {
			nb = realloc(st->uout, cap);
		}
		if (!nb)
			return -ENOMEM;
		st->uout = nb;
		st->uout_cap = cap;
	}
	if (n) /* an empty append may find uout still NULL */
		memcpy(st->uout + st->uout_len, p, n);
	st->uout_len += n;
	return 0;
}

static void stream_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct h2_stream *st = t->data;
	struct h2_conn *hc = st->hc;

	if (hc->w->mw)
		gw_metrics_upstream_timeout(hc->w->mw);
	local_response(st, 504, "timeout");
	h2_schedule(hc);
}

/* stream_arm() : (re)arms the upstream deadline: the route's request or
 * backend timeout when set (absolute), else the proxy's silence timeout */
static void stream_arm(struct h2_stream *st)
{
	struct gw_worker *w = st->hc->w;
	uint64_t now = gw_loop_now(w->loop);
	uint64_t ms = w->p->opts.upstream_timeout_ms;

	if (st->deadline)
		ms = st->deadline > now ? st->deadline - now : 0;
	gw_loop_add_timer(w->loop, &st->timer, ms, stream_timer_cb, st);
}

/* up_connect() : picks an endpoint not tried yet and starts a connection;
 * answers 503/502 itself when there is none left */
static void up_connect(struct h2_stream *st)
{
	struct gw_worker *w = st->hc->w;
	const struct gw_ir_cluster *cl = &st->ir->clusters[st->cluster];

	while (st->attempts < H2_MAX_ATTEMPTS) {
		struct sockaddr_storage ss;
		socklen_t len;
		struct gw_upconn *uc;
		int idx = gw_upstream_pick(w->up, st->ir, st->cluster, &st->tried);

		if (idx == -ENOENT) {
			local_response(st, 503, "no_endpoints");
			return;
		}
		if (idx < 0)
			break;
		st->attempts++;
		if (gw_upstream_addr(&cl->endpoints[idx], &ss, &len))
			continue;
		snprintf(st->upstream, sizeof(st->upstream), "%s%s%s:%u",
			 ss.ss_family == AF_INET6 ? "[" : "", cl->endpoints[idx].address,
			 ss.ss_family == AF_INET6 ? "]" : "", cl->endpoints[idx].port);
		if (st->up_h2) {
			/* a stream on a pooled h2c (or, under a BackendTLSPolicy,
			 * h2 over TLS) connection */
			int err = h2up_submit_cl(w, &ss, len, st->ir, st->cluster, st->unv,
						 st->n_unv, st->req_body, &up2_ops, st, &st->hs);

			if (err == -EPROTO) {
				local_response(st, 502, "upstream_tls_policy");
				return;
			}
			if (err) {
				gw_stat_add(w, upstream_connect_errors, 1);
				continue;
			}
			stream_arm(st);
			return;
		}
		uc = gw_tls_up_get(w->up, &ss, len, st->ir, st->cluster);
		if (!uc && errno == EPROTO) {
			/* BackendTLSPolicy without a usable CA: nothing may be sent */
			local_response(st, 502, "upstream_tls_policy");
			return;
		}
		if (!uc) {
			gw_stat_add(w, upstream_connect_errors, 1);
			continue;
		}
		if (uc->reused)
			gw_stat_add(w, upstream_reused, 1);
		else
			gw_stat_add(w, upstream_connects, 1);
		/* a pooled connection is registered for READ already: keeping
		 * that interest costs no syscall, and the head is written at once
		 * below instead of after a round through epoll */
		if (gw_loop_add_fd(w->loop, &uc->io, uc->fd, uc->connected ? GW_IO_READ : GW_IO_WRITE,
				   up_io, st)) {
			gw_upstream_close(w->up, uc);
			continue;
		}
		st->uc = uc;
		stream_arm(st);
		if (uc->connected)
			up_io(w->loop, &uc->io, GW_IO_WRITE);
		return;
	}
	/* the pool names a TLS failure (verify, handshake, ALPN) */
	local_response(st, 502, st->up_h2 && st->hs.why ? st->hs.why : "upstream_connect");
}

/* up_failed() : the upstream connection broke or refused */
static void up_failed(struct h2_stream *st, bool connect_failed)
{
	struct gw_worker *w = st->hc->w;
	bool stale = st->uc && st->uc->reused && !st->req_body && !st->retried_stale;

	if (st->resp_head_done) {
		local_response(st, 502, "upstream_reset"); /* RST_STREAM */
		return;
	}
	if (connect_failed) {
		/* nothing was written: uout still holds all of it */
		gw_stat_add(w, upstream_connect_errors, 1);
		if (w->mw)
			gw_metrics_upstream_connect_failure(w->mw);
		stream_up_detach(st, false);
		up_connect(st);
		return;
	}
	if (st->up_h2) {
		local_response(st, 502, "upstream_closed");
		return;
	}
	if (stale && !st->uin_len) {
		/* a pooled connection the backend had closed: not the endpoint's
		 * fault, and the bodyless head can be sent again */
		stream_up_detach(st, false);
		st->retried_stale = true;
		st->tried = 0;
		if (st->attempts)
			st->attempts--;
		st->uout_off = 0;
		st->uout_len = 0;
		if (uout_append(st, st->head, st->head_len)) {
			local_response(st, 502, "nomem");
			return;
		}
		up_connect(st);
		return;
	}
	local_response(st, 502, "upstream_closed");
}

/* submit_filtered() : the upstream response head resp goes through the
 * response filters (header modifiers, CORS), which write an HTTP/1.1 head;
 * it is read back so HTTP/2 sends exactly what HTTP/1.1 would. Errors answer
 * 502. */
static void submit_filtered(struct h2_stream *st, const struct gw_http_resp *resp, bool body)
{
	char out[GW_PROXY_BUF_SIZE];
	struct gw_http_header fhdrs[GW_H2_MAX_HEADERS];
	struct gw_http_resp fresp;
	struct gw_http_limits lim;
	int m;

	gw_http_limits_default(&lim);
	lim.max_headers = GW_H2_MAX_HEADERS;
	m = gw_filter_response(&st->fr, resp, NULL, 0, out, sizeof(out));
	if (m < 0) {
		local_response(st, 502, "response_head_too_big");
		return;
	}
	memset(&fresp, 0, sizeof(fresp));
	fresp.headers = fhdrs;
	if (gw_http1_parse_response(out, (size_t)m, &fresp, &lim) <= 0) {
		local_response(st, 502, "response_head");
		return;
	}
	if (submit_head(st, &fresp, body))
		local_response(st, 502, "submit");
}

/* should_retry() : the rule's retry policy (HTTPRoute retry) asks for
 * another try after an answer with this status. As for HTTP/1.1 (conn.c),
 * only requests without a body are retried: a body is streamed, never kept. */
static bool should_retry(const struct h2_stream *st, int status)
{
	const struct gw_ir_retry *rt = &st->action->retry;

	if (!rt->attempts || st->retries >= rt->attempts || st->req_body)
		return false;
	return gw_retry_status(rt, status);
}

static void retry_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct h2_stream *st = t->data;
	struct h2_conn *hc = st->hc;

	if (!st->resp_head_done) { /* not answered meanwhile (deadline) */
		up_connect(st);
		up_want(st);
	}
	h2_update(hc);
}

/* retry_start() : the answer in uin is dropped unread and the head goes
 * again to an endpoint of the cluster, after the rule's backoff (always
 * through the timer: the caller is still inside the old connection's
 * event). The connection that answered cannot be reused. */
static void retry_start(struct h2_stream *st, int status)
{
	struct gw_worker *w = st->hc->w;

	pr_debug("h2: %s: stream %d: %s answered %d: retry %u", st->hc->peer, st->id,
		 st->upstream, status, st->retries + 1);
	st->retries++;
	stream_up_detach(st, false);
	st->uin_len = st->body_ready = 0;
	st->up_eof = false;
	st->tried = 0;
	st->attempts = 0;
	st->uout_off = st->uout_len = 0;
	st->up_retry = st->up_body_sent = false;
	st->n_rfields = st->n_trailers = 0;
	/* h2c streams are submitted again from unv; uout holds only the body */
	if (!st->up_h2 && uout_append(st, st->head, st->head_len)) {
		local_response(st, 502, "nomem");
		return;
	}
	gw_loop_add_timer(w->loop, &st->retry_timer, st->action->retry.backoff_ms,
			  retry_timer_cb, st);
}

/* resp_parse_head() : a complete upstream head at the front of uin is sent
 * as HEADERS. Returns true when it was (or a 1xx was dropped), false when
 * more bytes are needed; errors answer 502 (and return true). */
static bool resp_parse_head(struct h2_stream *st)
{
	struct gw_http_header hdrs[GW_H2_MAX_HEADERS];
	struct gw_http_resp resp;
	struct gw_http_limits lim;
	int n;
	bool body;

	gw_http_limits_default(&lim);
	lim.max_headers = GW_H2_MAX_HEADERS;
	memset(&resp, 0, sizeof(resp));
	resp.headers = hdrs;
	n = gw_http1_parse_response(st->uin, st->uin_len, &resp, &lim);
	if (n == -EAGAIN)
		return false;
	if (n < 0) {
		local_response(st, 502, "bad_upstream_head");
		return true;
	}
	if (resp.status < 200) {
		/* 1xx: interim answers are not forwarded (docs/proxy.md) */
		memmove(st->uin, st->uin + n, st->uin_len - (size_t)n);
		st->uin_len -= (size_t)n;
		return true;
	}
	if (should_retry(st, resp.status)) {
		retry_start(st, resp.status);
		return true;
	}
	st->up_reusable = !resp.fr.conn_close && resp.version_minor == 1;
	if (st->head_method || resp.status == 204 || resp.status == 304) {
		st->rtype = H2_RB_NONE;
	} else if (resp.fr.chunked) {
		st->rtype = H2_RB_CHUNKED;
	} else if (resp.fr.content_length >= 0) {
		st->rtype = H2_RB_CL;
		st->rleft = (uint64_t)resp.fr.content_length;
	} else {
		st->rtype = H2_RB_EOF;
		st->up_reusable = false;
	}
	body = st->rtype != H2_RB_NONE && !(st->rtype == H2_RB_CL && !st->rleft);
	/* before the head's bytes go: resp's slices point into uin */
	submit_filtered(st, &resp, body);
	memmove(st->uin, st->uin + n, st->uin_len - (size_t)n);
	st->uin_len -= (size_t)n;
	if (!body) {
		st->resp_done = true;
		if (st->uin_len)
			st->up_reusable = false; /* bytes past the end: not trusted */
		st->uin_len = 0;
	}
	return true;
}

/* resp_body() : frames the raw bytes after body_ready in uin */
static void resp_body(struct h2_stream *st)
{
	size_t raw = st->uin_len - st->body_ready;
	char *p = st->uin + st->body_ready;

	if (!raw || st->resp_done)
		goto eof;
	switch (st->rtype) {
	case H2_RB_CL: {
		size_t take = (size_t)GW_MIN((uint64_t)raw, st->rleft);

		st->body_ready += take;
		st->rleft -= take;
		if (take < raw) {
			st->up_reusable = false;
			st->uin_len = st->body_ready;
		}
		if (!st->rleft)
			st->resp_done = true;
		break;
	}
	case H2_RB_CHUNKED: {
		size_t consumed = 0, dlen = 0;
		int r = gw_chunked_decode(&st->cs, p, raw, &consumed, &dlen);

		if (r < 0) {
			st->up_reusable = false;
			local_response(st, 502, "bad_chunked");
			return;
		}
		/* decoded bytes are at p[0..dlen); drop the framing after them */
		memmove(p + dlen, p + consumed, raw - consumed);
		st->body_ready += dlen;
		st->uin_len -= consumed - dlen;
		if (r == 1) {
			st->resp_done = true;
			if (st->uin_len > st->body_ready)
				st->up_reusable = false;
			st->uin_len = st->body_ready;
		}
		break;
	}
	case H2_RB_EOF:
		st->body_ready += raw;
		break;
	case H2_RB_NONE:
		break;
	}
eof:
	if (st->up_eof && !st->resp_done) {
		if (st->rtype == H2_RB_EOF)
			st->resp_done = true;
		else
			local_response(st, 502, "upstream_truncated"); /* RST_STREAM */
	}
	if (st->deferred && (st->body_ready || st->resp_done)) {
		st->deferred = false;
		nghttp2_session_resume_data(st->hc->s, st->id);
	}
}

/* up_tls_pending_cb() : reads what OpenSSL holds decrypted for the upstream */
static void up_tls_pending_cb(struct gw_loop *loop, struct gw_task *t)
{
	struct h2_stream *st = t->data;

	if (st->uc)
		up_io(loop, &st->uc->io, GW_IO_READ);
}

/* up_send(), up_recv() : send()/recv() on an upstream connection, through
 * TLS when it has a session (tls_upstream.c); same returns and errno */
static ssize_t up_send(struct gw_upconn *uc, const void *p, size_t len)
{
	ssize_t n;

	if (!uc->tls)
		return send(uc->fd, p, len, MSG_NOSIGNAL);
	n = gw_tls_up_write(uc, p, len);
	if (n >= 0)
		return n;
	errno = n == -EAGAIN ? EAGAIN : EPIPE;
	return -1;
}

static ssize_t up_recv(struct gw_upconn *uc, void *p, size_t len)
{
	ssize_t n;

	if (!uc->tls)
		return recv(uc->fd, p, len, 0);
	n = gw_tls_up_read(uc, p, len);
	if (n != -EAGAIN)
		return n;
	errno = EAGAIN;
	return -1;
}

/* up_refill() : room was just made in uin: one read of the upstream at once,
 * so a fast backend's body flows without READ interest going off and on
 * (two epoll_ctl per 16 KiB). EOF and errors are left to up_io(), which the
 * READ interest up_want() then sets reports them to. */
static void up_refill(struct h2_stream *st)
{
	ssize_t n;

	if (!st->uc || !st->uc->connected || !st->resp_head_done || st->up_eof || st->resp_done ||
	    st->uin_len >= GW_PROXY_BUF_SIZE)
		return;
	n = up_recv(st->uc, st->uin + st->uin_len, GW_PROXY_BUF_SIZE - st->uin_len);
	if (n > 0) {
		st->uin_len += (size_t)n;
		if (!st->deadline)
			stream_arm(st);
	}
}

/* up_want() : what the upstream socket waits for now */

static void up_want(struct h2_stream *st)
{
	uint32_t want = 0;

	if (!st->uc)
		return; /* h2c streams: their pooled connection watches itself */
	if (!st->uc->connected)
		want |= gw_tls_up_want(st->uc); /* connect, then the TLS handshake */
	else if (st->uout_off < st->uout_len)
		want |= GW_IO_WRITE;
	if (st->uc->connected && !st->up_eof && !st->resp_done && st->uin_len < GW_PROXY_BUF_SIZE)
		want |= GW_IO_READ;
	gw_loop_mod_fd(st->hc->w->loop, &st->uc->io, want);
	/* decrypted bytes inside OpenSSL raise no epoll event */
	if ((want & GW_IO_READ) && gw_tls_up_pending(st->uc))
		gw_loop_defer(st->hc->w->loop, &st->uc->task, up_tls_pending_cb, st);
}

static void up_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct h2_stream *st = io->data;
	struct h2_conn *hc = st->hc;
	struct gw_upconn *uc = st->uc;

	if (!uc->connected && (events & (GW_IO_WRITE | GW_IO_ERR | (uc->tls ? GW_IO_READ : 0)))) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1 || err) {
			up_failed(st, true);
			goto out;
		}
		if (uc->tls) {
			int hs = gw_tls_up_handshake(uc);

			if (hs == -EAGAIN)
				goto out;
			if (hs) {
				/* chain, name or SAN refused: as a failed connect */
				up_failed(st, true);
				goto out;
			}
		}
		uc->connected = true;
	}
	if (st->uout_off < st->uout_len && (events & (GW_IO_WRITE | GW_IO_ERR))) {
		ssize_t n = up_send(uc, st->uout + st->uout_off, st->uout_len - st->uout_off);

		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			up_failed(st, false);
			goto out;
		}
		if (n > 0) {
			st->uout_off += (size_t)n;
			if (st->uout_off == st->uout_len && st->unacked) {
				/* the body left: let the client send more */
				nghttp2_session_consume(hc->s, st->id, st->unacked);
				st->unacked = 0;
			}
		}
	}
	if ((events & (GW_IO_READ | GW_IO_ERR)) && st->uin_len < GW_PROXY_BUF_SIZE) {
		ssize_t n;

		if (!st->uin && !(st->uin = h2_buf_get())) {
			local_response(st, 502, "nomem");
			goto out;
		}
		n = up_recv(uc, st->uin + st->uin_len, GW_PROXY_BUF_SIZE - st->uin_len);
		if (n > 0) {
			st->uin_len += (size_t)n;
			if (!st->deadline)
				stream_arm(st);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			if (!st->resp_head_done && !st->uin_len) {
				up_failed(st, false);
				goto out;
			}
			st->up_eof = true;
			st->up_reusable = false;
		}
		while (!st->resp_head_done && st->uc && st->uin_len) {
			size_t before = st->uin_len;

			if (!resp_parse_head(st))
				break;
			if (st->uin_len == before && !st->resp_head_done)
				break;
		}
		if (!st->resp_head_done && st->up_eof && st->uc)
			local_response(st, 502, "upstream_closed");
		else if (st->resp_head_done)
			resp_body(st);
	}
	if (st->resp_done && st->uc) {
		gw_loop_del_timer(loop, &st->timer);
		if (st->req_end && st->uout_off == st->uout_len)
			stream_up_detach(st, st->up_reusable);
	}
out:
	up_want(st);
	/* the client connection writes once after this loop pass, whatever
	 * number of its streams had upstream events in it */
	h2_schedule(hc);
}

/* ---- upstream h2c ---- */

static bool hop_by_hop(struct gw_slice name)
{
	return gw_slice_casecmp(name, "connection") || gw_slice_casecmp(name, "keep-alive") ||
	       gw_slice_casecmp(name, "proxy-connection") ||
	       gw_slice_casecmp(name, "transfer-encoding") || gw_slice_casecmp(name, "upgrade") ||
	       gw_slice_casecmp(name, "host");
}

static int up2_header(void *owner, bool trailer, const uint8_t *name, size_t namelen,
		      const uint8_t *value, size_t valuelen)
{
	struct h2_stream *st = owner;
	struct gw_http_header *h;

	if (st->up2_again)
		return 0; /* trailers of an answer that is retried */
	if (st->n_rfields + st->n_trailers >= GW_H2_MAX_HEADERS)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST: the stream answers 502 */
	h = &st->rfields[st->n_rfields + st->n_trailers];
	h->name.p = gw_arena_strndup(st->a, (const char *)name, namelen);
	h->value.p = gw_arena_strndup(st->a, (const char *)value, valuelen);
	if (!h->name.p || !h->value.p)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	h->name.len = namelen;
	h->value.len = valuelen;
	if (trailer && st->resp_head_done)
		st->n_trailers++;
	else
		st->n_rfields++;
	return 0;
}

/* up2_head() : the upstream's response HEADERS are complete */
static void up2_head(struct h2_stream *st, bool end_stream)
{
	struct gw_http_header hdrs[GW_H2_MAX_HEADERS];
	struct gw_http_resp resp;
	size_t i, n = 0;

	memset(&resp, 0, sizeof(resp));
	resp.headers = hdrs;
	resp.version_minor = 1;
	resp.fr.content_length = -1;
	for (i = 0; i < st->n_rfields; i++) {
		const struct gw_http_header *h = &st->rfields[i];

		if (gw_slice_eq(h->name, ":status")) {
			resp.status = atoi(h->value.p);
			continue;
		}
		if (h->name.len && h->name.p[0] == ':')
			continue;
		hdrs[n++] = *h;
	}
	resp.n_headers = n;
	if (resp.status < 200) {
		/* interim answer: dropped, the final one follows */
		st->n_rfields = 0;
		return;
	}
	if (should_retry(st, resp.status)) {
		/* dropped with what follows of it; up2_kick starts the retry
		 * (nothing may be freed in here) */
		st->up2_again = resp.status;
		return;
	}
	if (end_stream || st->head_method)
		st->resp_done = true;
	submit_filtered(st, &resp, !st->resp_done);
}

static void up2_frame(void *owner, uint8_t type, bool end)
{
	struct h2_stream *st = owner;

	if (st->up2_again)
		return;

	if (!st->deadline)
		stream_arm(st); /* the backend spoke: the silence timeout restarts */
	if (type == NGHTTP2_HEADERS && !st->resp_head_done) {
		up2_head(st, end);
	} else if (end) {
		st->resp_done = true;
		if (st->deferred) {
			st->deferred = false;
			nghttp2_session_resume_data(st->hc->s, st->id);
		}
	}
}

static int up2_data(void *owner, const uint8_t *data, size_t len)
{
	struct h2_stream *st = owner;

	if (!st->resp_head_done || st->head_method) {
		h2up_consume(&st->hs, len);
		return 0;
	}
	if (!st->uin && !(st->uin = h2_buf_get()))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	/* the window we advertise is the buffer size: it always fits */
	if (len > GW_PROXY_BUF_SIZE - st->uin_len)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	memcpy(st->uin + st->uin_len, data, len);
	st->uin_len += len;
	st->body_ready += len;
	if (st->deferred) {
		st->deferred = false;
		nghttp2_session_resume_data(st->hc->s, st->id);
	}
	return 0;
}

static void up2_closed(void *owner, uint32_t code, bool retry)
{
	struct h2_stream *st = owner;

	if (st->up2_again)
		return; /* the answer is dropped anyway: up2_kick retries */

	if (!st->resp_done) {
		/* reset by the backend or its connection broke: up2_kick answers */
		st->up_eof = true;
		/* a refused stream whose body was taken cannot be sent again */
		st->up_retry = retry && !st->resp_head_done && !st->up_body_sent;
	}
	(void)code;
}

/* up2_trailers() : the request trailers go to the h2c stream as its last
 * HEADERS (from inside up2_body, at the end of the body). 0 or -errno. */
static int up2_trailers(struct h2_stream *st)
{
	nghttp2_nv nv[GW_H2_MAX_HEADERS];
	size_t i;

	for (i = 0; i < st->n_qtrailers && i < GW_H2_MAX_HEADERS; i++)
		nv[i] = (nghttp2_nv){(uint8_t *)st->qtrailers[i].name.p,
				     (uint8_t *)st->qtrailers[i].value.p, st->qtrailers[i].name.len,
				     st->qtrailers[i].value.len, NGHTTP2_NV_FLAG_NONE};
	return h2up_submit_trailer(&st->hs, nv, i);
}

/* up2_body() : the request body from uout to the upstream stream */
static ssize_t up2_body(void *owner, uint8_t *buf, size_t length, uint32_t *flags)
{
	struct h2_stream *st = owner;
	size_t n = GW_MIN(length, st->uout_len - st->uout_off);

	if (n) {
		/* uout may be NULL when empty: memcpy must not see it */
		memcpy(buf, st->uout + st->uout_off, n);
		st->uout_off += n;
		st->up_body_sent = true;
		/* the bytes left our buffer: the client may send more */
		nghttp2_session_consume(st->hc->s, st->id, n);
		st->unacked -= GW_MIN(st->unacked, n);
	}
	if (st->uout_off == st->uout_len) {
		st->uout_off = st->uout_len = 0;
		if (st->req_end) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (st->n_qtrailers && !up2_trailers(st))
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			return (ssize_t)n;
		}
	}
	return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
}

/* up2_kick() : after upstream events: a failed stream is answered or
 * retried, and the client connection sends what came */
static void up2_kick(void *owner)
{
	struct h2_stream *st = owner;
	struct h2_conn *hc = st->hc;

	if (st->up2_again) {
		int status = st->up2_again;

		st->up2_again = 0;
		retry_start(st, status); /* cancels the upstream stream (RST CANCEL) */
		h2_update(hc);
		return;
	}

	if (st->up_eof && !st->resp_done) {
		bool retry = st->up_retry;

		st->up_eof = false;
		st->up_retry = false;
		up_failed(st, retry);
	} else if (st->resp_done && !st->hs.c) {
		gw_loop_del_timer(hc->w->loop, &st->timer);
	}
	h2_schedule(hc);
}


static const struct h2up_ops up2_ops = {
    .header = up2_header,
    .frame = up2_frame,
    .data = up2_data,
    .body = up2_body,
    .closed = up2_closed,
    .kick = up2_kick,
};

/* up2_more_body() : uout got bytes or the request ended */
static void up2_more_body(struct h2_stream *st)
{
	if (st->up_h2)
		h2up_resume(&st->hs);
}

/* up2_request() : the HTTP/2 fields of st's upstream request, from st->head
 * (the filters' HTTP/1.1 head read back), kept in the arena for retries */
static int up2_request(struct h2_stream *st)
{
	struct gw_http_header hdrs[GW_H2_MAX_HEADERS];
	struct gw_http_req req;
	struct gw_http_limits lim;
	nghttp2_nv *nv;
	size_t i, n = 0;

	gw_http_limits_default(&lim);
	lim.max_headers = GW_H2_MAX_HEADERS;
	memset(&req, 0, sizeof(req));
	req.headers = hdrs;
	if (gw_http1_parse_request(st->head, st->head_len, &req, &lim) <= 0)
		return -EINVAL;
	nv = gw_arena_alloc(st->a, sizeof(*nv) * (GW_H2_MAX_HEADERS + 4));
	if (!st->rfields)
		st->rfields = gw_arena_alloc(st->a, sizeof(*st->rfields) * GW_H2_MAX_HEADERS);
	if (!nv || !st->rfields)
		return -ENOMEM;
		/* the slices point into st->head, which lives as long as the stream */
#define NV(n_, v_, nl_, vl_) (nghttp2_nv){(uint8_t *)(n_), (uint8_t *)(v_), nl_, vl_, 0}
	nv[n++] = NV(":method", req.method.p, 7, req.method.len);
	nv[n++] = NV(":scheme", "http", 7, 4);
	nv[n++] = NV(":authority", req.host.p, 10, req.host.len);
	nv[n++] = NV(":path", req.target.p, 5, req.target.len);
	for (i = 0; i < req.n_headers && n < GW_H2_MAX_HEADERS + 4; i++) {
		const struct gw_http_header *h = &req.headers[i];
		char *name;
		size_t k;

		if (hop_by_hop(h->name) ||
		    (gw_slice_casecmp(h->name, "te") && !gw_slice_casecmp(h->value, "trailers")))
			continue;
		name = gw_arena_strndup(st->a, h->name.p, h->name.len);
		if (!name)
			return -ENOMEM;
		for (k = 0; k < h->name.len; k++)
			if (name[k] >= 'A' && name[k] <= 'Z')
				name[k] = (char)(name[k] - 'A' + 'a');
		nv[n++] = NV(name, h->value.p, h->name.len, h->value.len);
	}
	/* the filters drop TE with the other hop-by-hop fields; "trailers" is
	 * the one value HTTP/2 allows, and gRPC servers expect it */
	if (gw_slice_eq(field(st, "te"), "trailers") && n < GW_H2_MAX_HEADERS + 4 &&
	    !gw_http_find_header(req.headers, req.n_headers, "te"))
		nv[n++] = NV("te", "trailers", 2, 8);
#undef NV
	st->unv = nv;
	st->n_unv = n;
	return 0;
}

/* ---- starting a request ---- */

/* stream_start() : the request head of st is complete (end_stream: it has
 * no body). Routes it and answers or starts the upstream exchange. */
static void stream_start(struct h2_stream *st, bool end_stream)
{
	struct h2_conn *hc = st->hc;
	struct gw_worker *w = hc->w;
	struct gw_http_header hdrs[GW_H2_MAX_HEADERS];
	struct gw_http_req req;
	struct gw_route_result res;
	struct gw_filter_ctx ctx;
	const struct gw_ir_bind *bind = NULL;
	const struct gw_ir_backend *backend = NULL;
	const struct gw_ir_listener *lst;
	char out[GW_PROXY_BUF_SIZE]; /* the upstream head: not zeroed, unlike an arena's */
	int n, bi;
	size_t i;


	gw_stat_add(w, requests, 1);
	st->ir = gw_ir_get(w->ir);
	st->start_us = now_us();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		st->wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	st->req_end = end_stream;
	if (st->too_big) {
		local_response(st, 431, "header_limits");
		if (++hc->n_too_big > GW_H2_MAX_TOO_BIG)
			h2_abuse(hc, GW_H2_ABUSE_HEADER_LIST, NGHTTP2_ENHANCE_YOUR_CALM);
		return;
	}
	if (gw_h2_request_view(st->fields, st->n_fields, &req, hdrs, ARRAY_SIZE(hdrs))) {
		local_response(st, 400, "bad_request");
		return;
	}
	st->head_method = gw_slice_eq(req.method, "HEAD");
	st->req_body = !end_stream;
	/* the router and the filters expect a path normalised in place (the
	 * slices point into the arena copy) */
	n = gw_router_path_normalize((char *)req.path.p, req.path.len, GW_PATH_NORM_DEFAULT);
	if (n < 0) {
		local_response(st, 400, "bad_path");
		return;
	}
	req.path.len = (size_t)n;
	for (i = 0; st->ir && i < st->ir->n_binds; i++)
		if (st->ir->binds[i].port == hc->lport && st->ir->binds[i].address &&
		    !strcmp(st->ir->binds[i].address, hc->laddr))
			bind = &st->ir->binds[i];
	if (!bind) {
		local_response(st, 503, "listener_removed");
		return;
	}
	gw_router_match(bind, &req, &res);
	if (hc->tls) {
		const struct gw_ir_listener *sl = gw_tls_sni_listener(bind, gw_tls_sni(hc->tls));

		if (sl && sl != res.listener) {
			local_response(st, 421, "misdirected");
			return;
		}
	}
	if (!res.action) {
		local_response(st, 404, "no_route");
		return;
	}
	lst = res.listener;
	if (lst) {
		size_t ll = strlen(lst->gateway ? lst->gateway : "") +
			    strlen(lst->name ? lst->name : "") + 2;

		st->listener = gw_arena_alloc(st->a, ll);
		if (st->listener)
			snprintf(st->listener, ll, "%s/%s", lst->gateway ? lst->gateway : "",
				 lst->name ? lst->name : "");
	}
	st->action = res.action;
	st->route = gw_arena_strdup(st->a, res.action->route);
	bi = gw_router_pick_backend(res.action, gw_worker_rand(w));
	if (bi >= 0)
		backend = &res.action->backends[bi];
	st->up_h2 = backend && backend->cluster >= 0 &&
		    (size_t)backend->cluster < st->ir->n_clusters &&
		    st->ir->clusters[backend->cluster].app_proto == GW_APP_H2C;
	/* a body of unknown length goes to an HTTP/1.1 upstream chunked */
	st->req_chunked = st->req_body && req.fr.content_length < 0 && !st->up_h2;
	memset(&ctx, 0, sizeof(ctx));
	ctx.req = &req;
	ctx.match = res.match;
	ctx.action = res.action;
	ctx.backend = backend;
	ctx.scheme = lst && lst->proto == GW_PROTO_HTTPS ? "https" : "http";
	ctx.listener_port = hc->lport;
	ctx.client_addr = hc->peer;
	ctx.extra = st->req_chunked ? "Transfer-Encoding: chunked\r\n" : NULL;
	ctx.extra_len = ctx.extra ? strlen(ctx.extra) : 0;
	ctx.rnd = gw_worker_rand(w);
	n = gw_filter_request(&ctx, out, sizeof(out), &st->fr);
	if (n < 0) {
		local_response(st, n == -ENOSPC ? 431 : 500, "filter");
		return;
	}
	if (st->fr.verdict == GW_FILTER_RESPOND) {
		respond_with_head(st, out, (size_t)n);
		return;
	}
	if (!backend || backend->cluster < 0 || (size_t)backend->cluster >= st->ir->n_clusters) {
		local_response(st, 500, "invalid_backend");
		return;
	}
	st->cluster = backend->cluster;
	if (!st->ir->clusters[st->cluster].n_ready) {
		local_response(st, 503, "no_endpoints");
		return;
	}
	/* kept for a retry and the h2c fields; out is on the stack */
	st->head = gw_arena_strndup(st->a, out, (size_t)n);
	if (!st->head) {
		local_response(st, 503, "nomem");
		return;
	}
	st->head_len = (size_t)n;
	/* RequestMirror: bodies are streamed once, so only bodyless requests
	 * are mirrored (as for HTTP/1.1, conn.c); the copy is the HTTP/1.1 head */
	for (i = 0; !st->req_body && i < st->fr.n_mirrors; i++)
		if (st->fr.mirrors[i] >= 0 && (size_t)st->fr.mirrors[i] < st->ir->n_clusters)
			gw_mirror_start(w, st->ir, st->fr.mirrors[i], out, (size_t)n);
	if (st->up_h2 ? up2_request(st) : uout_append(st, out, (size_t)n)) {
		local_response(st, 503, "nomem");
		return;
	}
	if (res.action->request_timeout_ms)
		st->deadline = gw_loop_now(w->loop) + res.action->request_timeout_ms;
	else if (res.action->backend_timeout_ms)
		st->deadline = gw_loop_now(w->loop) + res.action->backend_timeout_ms;
	up_connect(st);
	up_want(st);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct h2_conn *hc = user;
	struct gw_arena *a;
	struct h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	/* the stream and its field table (about 4 KiB) fit the first chunk */
	a = gw_arena_new(8192);
	st = a ? gw_arena_alloc(a, sizeof(*st)) : NULL;
	if (st) {
		memset(st, 0, sizeof(*st));
		st->fields = gw_arena_alloc(a, sizeof(*st->fields) * (GW_H2_MAX_HEADERS + 8));
	}
	if (!st || !st->fields) {
		gw_arena_free(a);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
	}
	st->a = a;
	st->hc = hc;
	st->id = f->hd.stream_id;
	st->cluster = -1;
	st->next = hc->streams;
	if (hc->streams)
		hc->streams->prev = st;
	hc->streams = st;
	hc->n_streams++;
	nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

/* field_put() : copies name: value into slot h of the stream's arena (0, or
 * the nghttp2 error that fails the callback) */
static int field_put(struct h2_stream *st, struct gw_http_header *h, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen)
{
	h->name.p = gw_arena_strndup(st->a, (const char *)name, namelen);
	h->value.p = gw_arena_strndup(st->a, (const char *)value, valuelen);
	if (!h->name.p || !h->value.p)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	h->name.len = namelen;
	h->value.len = valuelen;
	return 0;
}

/* req_trailer() : one field of st's trailer section (st NULL: the stream is
 * gone, nothing to do). Kept to be forwarded when the body ends: in the
 * chunked trailer section to an HTTP/1.1 upstream, as trailing HEADERS to an
 * h2c one. Fields RFC 9110 §6.5.1 bars from trailers (framing, routing,
 * authentication: the list http1.c refuses) are dropped; nghttp2 has already
 * refused pseudo-headers, uppercase names and CR/LF/NUL in values. A trailer
 * section over the header-list limit resets the stream (0, or the nghttp2
 * error that does that). */
static int req_trailer(struct h2_stream *st, const uint8_t *name, size_t namelen,
		       const uint8_t *value, size_t valuelen)
{
	static const char *const barred[] = {
	    "content-length", "transfer-encoding", "host", "trailer", "te",
	    "connection", "keep-alive", "upgrade", "expect", "proxy-connection",
	    "content-encoding", "content-range", "authorization", "proxy-authorization",
	};
	struct gw_http_header *h;
	size_t i;

	if (!st)
		return 0;
	st->qtrailer_bytes += namelen + valuelen + 32;
	if (st->qtrailer_bytes > GW_H2_MAX_HEADER_LIST || st->n_qtrailers >= GW_H2_MAX_HEADERS)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	for (i = 0; i < ARRAY_SIZE(barred); i++)
		if (namelen == strlen(barred[i]) && !memcmp(name, barred[i], namelen))
			return 0;
	if (!st->qtrailers)
		st->qtrailers = gw_arena_alloc(st->a, sizeof(*st->qtrailers) * GW_H2_MAX_HEADERS);
	if (!st->qtrailers)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	h = &st->qtrailers[st->n_qtrailers];
	if (field_put(st, h, name, namelen, value, valuelen))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->n_qtrailers++;
	return 0;
}

/* chunked_end() : the last chunk of a chunked request body, with the request
 * trailers in its trailer section. A body sent with a Content-Length has no
 * place for trailers: they are dropped (docs/http2.md). 0 or -ENOMEM. */
static int chunked_end(struct h2_stream *st)
{
	size_t i;
	int err;

	err = uout_append(st, "0\r\n", 3);
	for (i = 0; !err && i < st->n_qtrailers; i++) {
		const struct gw_http_header *h = &st->qtrailers[i];

		err = uout_append(st, h->name.p, h->name.len);
		err = err ?: uout_append(st, ": ", 2);
		err = err ?: uout_append(st, h->value.p, h->value.len);
		err = err ?: uout_append(st, "\r\n", 2);
	}
	return err ?: uout_append(st, "\r\n", 2);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct h2_conn *hc = user;
	struct h2_stream *st;
	struct gw_http_header *h;
	size_t i;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return req_trailer(stream_get(hc, f->hd.stream_id), name, namelen, value, valuelen);
	st = stream_get(hc, f->hd.stream_id);
	if (!st || st->too_big)
		return 0;
	st->field_bytes += namelen + valuelen + 32;
	if (st->field_bytes > GW_H2_MAX_HEADER_LIST || st->n_fields >= GW_H2_MAX_HEADERS + 8) {
		st->too_big = true;
		return 0;
	}
	if (namelen == 12 && !memcmp(name, "content-type", 12) && valuelen >= 16 &&
	    !memcmp(value, "application/grpc", 16))
		st->grpc = true;
	if (namelen == 6 && !memcmp(name, "cookie", 6)) {
		/* RFC 9113 8.2.3: crumbs are joined with "; " for HTTP/1.1 */
		for (i = 0; i < st->n_fields; i++) {
			char *v;

			h = &st->fields[i];
			if (!gw_slice_eq(h->name, "cookie"))
				continue;
			v = gw_arena_alloc(st->a, h->value.len + 2 + valuelen + 1);
			if (!v)
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			memcpy(v, h->value.p, h->value.len);
			memcpy(v + h->value.len, "; ", 2);
			memcpy(v + h->value.len + 2, value, valuelen);
			v[h->value.len + 2 + valuelen] = 0;
			h->value.p = v;
			h->value.len += 2 + valuelen;
			return 0;
		}
	}
	h = &st->fields[st->n_fields];
	if (field_put(st, h, name, namelen, value, valuelen))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->n_fields++;
	return 0;
}

/* rapid_reset() : CVE-2023-44487: streams opened and cancelled at once cost
 * the server work and the client nothing */
static bool rapid_reset(const struct h2_conn *hc)
{
	return hc->n_resets > GW_H2_MAX_RESETS && hc->n_resets * 2 > hc->n_streams;
}

static void h2_free(struct h2_conn *hc);

/* h2_close_timer_cb() : an abusive client did not take its GOAWAY in time */
static void h2_close_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	h2_free(t->data);
}

/* h2_abuse() : the client misbehaves: count it, GOAWAY ENHANCE_YOUR_CALM
 * (streams in flight are cut: the client is not owed them) and close once
 * the GOAWAY is out. Safe to call more than once. */
static void h2_abuse(struct h2_conn *hc, enum gw_h2_abuse r, uint32_t code)
{
	if (hc->abused)
		return;
	hc->abused = true;
	/* nothing it sends from now on is read: the GOAWAY goes out, then the
	 * lingering close (h2_linger) drains what it sent meanwhile. Bounded:
	 * a client that does not read us either is dropped after this. */
	hc->closing = true;
	gw_loop_add_timer(hc->w->loop, &hc->timer, GW_H2_CLOSE_MS, h2_close_timer_cb, hc);
	__atomic_add_fetch(&h2_abuse_count[r], 1, __ATOMIC_RELAXED);
	pr_warn("h2: %s: closing the connection: %s (%u streams opened, %u reset, %u refused, "
		"%u over the header limits)",
		hc->peer, h2_abuse_names[r], hc->n_streams, hc->n_resets, hc->n_refused,
		hc->n_too_big);
	nghttp2_session_terminate_session(hc->s, code);
}

/* ctl_frame() : a SETTINGS or PING frame (not an ACK) arrived; they cost us
 * an ACK each and do no work for the client, so their rate is bounded */
static void ctl_frame(struct h2_conn *hc, bool ping)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (now - hc->ctl_window_ms >= GW_H2_CTL_WINDOW_MS) {
		hc->ctl_window_ms = now;
		hc->n_settings = hc->n_pings = 0;
	}
	if (ping && ++hc->n_pings > GW_H2_MAX_PINGS)
		h2_abuse(hc, GW_H2_ABUSE_PING, NGHTTP2_ENHANCE_YOUR_CALM);
	else if (!ping && ++hc->n_settings > GW_H2_MAX_SETTINGS)
		h2_abuse(hc, GW_H2_ABUSE_SETTINGS, NGHTTP2_ENHANCE_YOUR_CALM);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct h2_conn *hc = user;
	struct h2_stream *st;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		st = stream_get(hc, f->hd.stream_id);
		if (!st)
			break;
		if (f->headers.cat == NGHTTP2_HCAT_REQUEST) {
			stream_start(st, f->hd.flags & NGHTTP2_FLAG_END_STREAM);
			break;
		}
		/* trailers: they end the request body */
		if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
			goto end_stream;
		break;
	case NGHTTP2_DATA:
		st = stream_get(hc, f->hd.stream_id);
		if (!st || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
			break;
	end_stream:
		st->req_end = true;
		if (st->uc && st->req_chunked && chunked_end(st))
			nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
		else if (st->n_qtrailers && !st->req_chunked && !st->up_h2)
			pr_debug("h2: %s: stream %d: request trailers dropped (Content-Length body)",
				 hc->peer, st->id);
		up2_more_body(st);
		up_want(st);
		break;
	case NGHTTP2_RST_STREAM:
		hc->n_resets++;
		if (rapid_reset(hc))
			h2_abuse(hc, GW_H2_ABUSE_RAPID_RESET, NGHTTP2_ENHANCE_YOUR_CALM);
		break;
	case NGHTTP2_SETTINGS:
	case NGHTTP2_PING:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
			ctl_frame(hc, f->hd.type == NGHTTP2_PING);
		break;
	default:
		break;
	}
	return 0;
}

/* on_invalid_frame() : nghttp2 refused a frame with a stream error; a
 * stream over MAX_CONCURRENT_STREAMS is one (RST_STREAM REFUSED_STREAM or
 * PROTOCOL_ERROR). A few happen to honest clients racing our SETTINGS; a
 * client that keeps doing it is hammering us. */
static int on_invalid_frame(nghttp2_session *s, const nghttp2_frame *f, int code, void *user)
{
	struct h2_conn *hc = user;

	(void)s;
	if (f->hd.type == NGHTTP2_HEADERS && ++hc->n_refused > GW_H2_MAX_REFUSED)
		h2_abuse(hc, GW_H2_ABUSE_REFUSED_STREAMS, NGHTTP2_ENHANCE_YOUR_CALM);
	pr_debug("h2: %s: invalid frame type %u on stream %d: %s", hc->peer, f->hd.type,
		 f->hd.stream_id, nghttp2_strerror(code));
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct h2_conn *hc = user;
	struct h2_stream *st = stream_get(hc, id);
	char line[24];
	int n;

	if (st)
		st->bytes_in += len;
	if (!st || (!st->uc && !st->hs.c) || st->resp_done) {
		/* nobody will read it: give the window back at once. An upstream
		 * that answered before the body ended cannot carry another request */
		if (st)
			st->up_reusable = false;
		nghttp2_session_consume(s, id, len);
		return 0;
	}
	if (st->req_chunked) {
		if (!len)
			return 0;
		n = snprintf(line, sizeof(line), "%zx\r\n", len);
		if (uout_append(st, line, (size_t)n) || uout_append(st, data, len) ||
		    uout_append(st, "\r\n", 2))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	} else if (uout_append(st, data, len)) {
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	st->unacked += len;
	up2_more_body(st);
	up_want(st);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct h2_stream *st = stream_get(user, id);

	if (st) {
		nghttp2_session_set_stream_user_data(s, id, NULL);
		stream_free(st);
	}
	return 0;
}

/* submit_trailers() : the h2c upstream's trailers (gRPC's grpc-status) end
 * the stream instead of the last DATA frame */
static void submit_trailers(struct h2_stream *st, uint32_t *flags)
{
	nghttp2_nv nv[GW_H2_MAX_HEADERS];
	size_t i, n = 0;

	for (i = 0; i < st->n_trailers; i++) {
		const struct gw_http_header *h = &st->rfields[st->n_rfields + i];

		if (h->name.len && h->name.p[0] == ':')
			continue;
		nv[n++] = (nghttp2_nv){(uint8_t *)h->name.p, (uint8_t *)h->value.p, h->name.len,
				       h->value.len, NGHTTP2_NV_FLAG_NONE};
	}
	if (!nghttp2_submit_trailer(st->hc->s, st->id, nv, n))
		*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
}

static ssize_t data_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
			    uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct h2_stream *st = src->ptr;
	size_t n;

	if (st->local_body) {
		n = GW_MIN(length, st->local_len);
		memcpy(buf, st->local_body, n);
		st->local_body += n;
		st->local_len -= n;
		if (!st->local_len)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
		st->bytes_out += n;
		return (ssize_t)n;
	}
	n = GW_MIN(length, st->body_ready);
	st->bytes_out += n;
	if (n) {
		memcpy(buf, st->uin, n);
		memmove(st->uin, st->uin + n, st->uin_len - n);
		st->uin_len -= n;
		st->body_ready -= n;
		/* room again: the upstream may be read (and framed), or an h2c
		 * upstream may send more */
		if (st->up_h2) {
			h2up_consume(&st->hs, n);
		} else {
			up_refill(st);
			resp_body(st);
		}
		up_want(st);
	}
	if (!st->body_ready && st->resp_done) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->n_trailers)
			submit_trailers(st, flags);
		return (ssize_t)n;
	}
	if (!n) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* ---- the connection ---- */

static void h2_free(struct h2_conn *hc)
{
	struct gw_worker *w = hc->w;

	while (hc->streams)
		stream_free(hc->streams);
	nghttp2_session_del(hc->s);
	gw_loop_del_fd(w->loop, &hc->io);
	gw_loop_del_timer(w->loop, &hc->timer);
	gw_loop_del_timer(w->loop, &hc->drain_timer);
	gw_loop_cancel(w->loop, &hc->task);
	gw_loop_cancel(w->loop, &hc->flush_task);
	free(hc->obuf);
	gw_tls_conn_free(hc->tls);
	close(hc->fd);
	if (hc->prev)
		hc->prev->next = hc->next;
	else
		h2_conns = hc->next;
	if (hc->next)
		hc->next->prev = hc->prev;
	w->n_conns--;
	gw_stat_add(w, conns_active, (uint64_t)-1);
	if (w->mw)
		gw_metrics_conn_close(w->mw);
	free(hc);
}

static bool h2_flush(struct h2_conn *hc);

static int h2_recv(struct h2_conn *hc, const uint8_t *p, size_t len)
{
	ssize_t r = nghttp2_session_mem_recv(hc->s, p, len);

	if (r < 0) {
		/* a connection error: nghttp2 may have queued its own GOAWAY
		 * already (then terminate_session does nothing); try once to get
		 * it out before the socket closes, so the client learns why */
		enum gw_h2_abuse why = GW_H2_ABUSE_PROTOCOL;
		uint32_t code = NGHTTP2_PROTOCOL_ERROR;

		if (r == NGHTTP2_ERR_FLOODED) {
			why = GW_H2_ABUSE_OUTBOUND;
			code = NGHTTP2_ENHANCE_YOUR_CALM;
		} else if (r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
			why = GW_H2_ABUSE_CONTINUATION;
			code = NGHTTP2_ENHANCE_YOUR_CALM;
		}
		pr_debug("h2: %s: %s", hc->peer, nghttp2_strerror((int)r));
		if (r == NGHTTP2_ERR_NOMEM || r == NGHTTP2_ERR_CALLBACK_FAILURE)
			return -EPROTO;
		/* the connection stays until the GOAWAY is out (h2_update): a
		 * close now could lose it to the RST of unread input */
		h2_abuse(hc, why, code);
		return 0;
	}
	gw_stat_add(hc->w, bytes_in, len);
	return 0;
}

/* h2_read() : one read from the client; false when the connection ended */
static bool h2_read(struct h2_conn *hc)
{
	uint8_t buf[H2_READ_CHUNK];
	ssize_t n;

	if (hc->tls) {
		n = gw_tls_read(hc->tls, buf, sizeof(buf));
		if (n == -EAGAIN)
			return true;
		if (n <= 0)
			return false;
	} else {
		n = recv(hc->fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0)
			return false;
	}
	return !h2_recv(hc, buf, (size_t)n);
}

/* h2_gather() : copies small frames from nghttp2 into obuf until it is full,
 * nghttp2 has nothing more, or a big frame is pending in wp (written from
 * there). -1 when the session failed. */
static int h2_gather(struct h2_conn *hc)
{
	if (hc->ooff) {
		memmove(hc->obuf, hc->obuf + hc->ooff, hc->olen - hc->ooff);
		hc->olen -= hc->ooff;
		hc->ooff = 0;
	}
	while (hc->olen < H2_OBUF_SIZE) {
		size_t take;

		if (!hc->wlen) {
			ssize_t n = nghttp2_session_mem_send(hc->s, &hc->wp);

			if (n < 0)
				return -1;
			if (!n)
				break;
			hc->wlen = (size_t)n;
		}
		if (hc->wlen >= H2_OBUF_DIRECT)
			break;
		take = GW_MIN(hc->wlen, H2_OBUF_SIZE - hc->olen);
		memcpy(hc->obuf + hc->olen, hc->wp, take);
		hc->olen += take;
		hc->wp += take;
		hc->wlen -= take;
	}
	return 0;
}

/* h2_write() : one write of obuf's pending bytes and then wp's (plain TCP:
 * one sendmsg of both; TLS: obuf first, as one record). Bytes written, 0 when
 * the socket is full, -1 when it is broken. */
static ssize_t h2_write(struct h2_conn *hc)
{
	struct iovec iov[2];
	struct msghdr msg = {.msg_iov = iov};
	ssize_t n;

	if (hc->olen > hc->ooff) {
		iov[msg.msg_iovlen].iov_base = hc->obuf + hc->ooff;
		iov[msg.msg_iovlen++].iov_len = hc->olen - hc->ooff;
	}
	if (hc->wlen) {
		iov[msg.msg_iovlen].iov_base = (void *)hc->wp;
		iov[msg.msg_iovlen++].iov_len = hc->wlen;
	}
	if (!msg.msg_iovlen)
		return 0;
	if (hc->tls) {
		n = gw_tls_write(hc->tls, iov[0].iov_base, iov[0].iov_len);
		if (n == -EAGAIN)
			return 0;
		return n < 0 ? -1 : n;
	}
	n = sendmsg(hc->fd, &msg, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n;
}

/* h2_flush() : writes what the session has to send, gathered: one write per
 * call in the usual case (bounded rounds when the socket keeps taking).
 * false on a broken socket or session. hc->drained tells whether everything
 * went (nothing left in obuf, wp or nghttp2). */
static bool h2_flush(struct h2_conn *hc)
{
	hc->drained = false;
	for (int rounds = 0; rounds < 64; rounds++) {
		size_t pending;
		ssize_t n;

		if (h2_gather(hc))
			return false;
		pending = hc->olen - hc->ooff + hc->wlen;
		if (!pending) {
			hc->drained = true;
			return true;
		}
		n = h2_write(hc);
		if (n < 0)
			return false;
		if (!n)
			return true;
		gw_stat_add(hc->w, bytes_out, (uint64_t)n);
		if ((size_t)n >= hc->olen - hc->ooff) {
			n -= (ssize_t)(hc->olen - hc->ooff);
			hc->olen = hc->ooff = 0;
			hc->wp += n;
			hc->wlen -= (size_t)n;
		} else {
			hc->ooff += (size_t)n;
		}
		if ((size_t)n < pending && hc->olen + hc->wlen)
			return true; /* short write: the socket is full */
	}
	return true;
}

/* h2_flush_task_cb() : the deferred write of h2_schedule() */
static void h2_flush_task_cb(struct gw_loop *loop, struct gw_task *t)
{
	h2_update(t->data);
}

/* h2_schedule() : hc has something to send; written at the end of this loop
 * pass, so the frames of every stream served in the pass share one write */
static void h2_schedule(struct h2_conn *hc)
{
	if (!hc->lingering)
		gw_loop_defer(hc->w->loop, &hc->flush_task, h2_flush_task_cb, hc);
}

/* h2_linger_io() : after our FIN, the client's bytes are read and dropped
 * until it closes, or the byte bound is reached: a close with unread input
 * would send RST and could destroy the GOAWAY still in flight */
static void h2_linger_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct h2_conn *hc = io->data;
	char buf[H2_READ_CHUNK];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(hc->fd, buf, sizeof(buf), 0);

		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		hc->linger_bytes += (size_t)n;
		if (hc->linger_bytes > GW_H2_LINGER_BYTES)
			break;
	}
	h2_free(hc);
}

static void h2_linger_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	h2_free(t->data);
}

/* h2_linger() : the session is over (its GOAWAY written): lingering close.
 * The write side is shut (FIN after what is queued) and the connection
 * waits, reading and dropping, for the client to close, at most
 * GW_H2_LINGER_MS and GW_H2_LINGER_BYTES. Streams, session and buffers go
 * now; only the socket and a timer stay. */
static void h2_linger(struct h2_conn *hc)
{
	struct gw_worker *w = hc->w;

	while (hc->streams)
		stream_free(hc->streams);
	nghttp2_session_del(hc->s);
	hc->s = NULL;
	free(hc->obuf);
	hc->obuf = NULL;
	gw_loop_cancel(w->loop, &hc->task);
	gw_loop_cancel(w->loop, &hc->flush_task);
	hc->lingering = true;
	gw_tls_shutdown(hc->tls);
	if (shutdown(hc->fd, SHUT_WR) ||
	    gw_loop_add_fd(w->loop, &hc->io, hc->fd, GW_IO_READ, h2_linger_io, hc) ||
	    gw_loop_add_timer(w->loop, &hc->timer, GW_H2_LINGER_MS, h2_linger_timer_cb, hc)) {
		h2_free(hc);
		return;
	}
}

static void h2_task_cb(struct gw_loop *loop, struct gw_task *t)
{
	struct h2_conn *hc = t->data;

	if (!hc->closing && !h2_read(hc))
		hc->dead = true;
	h2_update(hc);
}

static void h2_idle_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct h2_conn *hc = t->data;

	/* GOAWAY, then the session wants nothing more and h2_update() frees it */
	nghttp2_session_terminate_session(hc->s, NGHTTP2_NO_ERROR);
	h2_update(hc);
}

/* h2_update() : flushes, then recomputes interests; frees the connection
 * when it is over (callers must not touch hc afterwards) */
static void h2_update(struct h2_conn *hc)
{
	struct gw_worker *w = hc->w;
	uint32_t want = 0;

	if (hc->in_update || hc->lingering)
		return;
	hc->in_update = true;
	gw_loop_cancel(w->loop, &hc->flush_task);
	if (!hc->dead && !h2_flush(hc))
		hc->dead = true;
	hc->in_update = false;
	if (hc->dead) {
		h2_free(hc);
		return;
	}
	/* over: nothing more to read or write, or (abuse) the GOAWAY is out */
	if (hc->drained && (hc->closing || (!nghttp2_session_want_read(hc->s) &&
					    !nghttp2_session_want_write(hc->s)))) {
		h2_linger(hc);
		return;
	}
	if (nghttp2_session_want_read(hc->s) && !hc->closing)
		want |= GW_IO_READ;
	/* h2_flush stops after a bounded number of rounds or at a full socket:
	 * what is still queued is sent when the socket is writable again */
	if (!hc->drained || nghttp2_session_want_write(hc->s))
		want |= GW_IO_WRITE;
	if (hc->tls) {
		if ((want & GW_IO_READ) && gw_tls_pending(hc->tls))
			gw_loop_defer(w->loop, &hc->task, h2_task_cb, hc);
		want |= gw_tls_want(hc->tls);
	}
	gw_loop_mod_fd(w->loop, &hc->io, want);
	/* idle: no stream open; a busy connection is bounded by its streams.
	 * A closing one keeps the deadline h2_abuse() gave it. */
	if (hc->closing)
		return;
	if (!hc->streams && !gw_timer_armed(&hc->timer))
		gw_loop_add_timer(w->loop, &hc->timer, w->p->opts.idle_timeout_ms, h2_idle_cb, hc);
	else if (hc->streams)
		gw_loop_del_timer(w->loop, &hc->timer);

}

static void h2_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct h2_conn *hc = io->data;

	if (events & GW_IO_ERR) {
		hc->dead = true;
	} else if (hc->closing) {
		/* abusive: only writing its GOAWAY now */
	} else if ((events & GW_IO_READ) ||
		   (hc->tls && (gw_tls_want(hc->tls) & GW_IO_READ) && (events & GW_IO_WRITE))) {
		if (!h2_read(hc))
			hc->dead = true;
	}
	h2_update(hc);
}

int gw_h2_conn_start(struct gw_worker *w, int fd, struct gw_tls_conn *tls, const char *laddr,
		     uint16_t lport, const char *peer, const char *data, size_t len)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	struct h2_conn *hc;
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, GW_H2_MAX_STREAMS},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, GW_H2_MAX_HEADER_LIST},
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	};
	int err = -ENOMEM;

	hc = calloc(1, sizeof(*hc));
	if (!hc)
		goto out;
	hc->obuf = malloc(H2_OBUF_SIZE);
	if (!hc->obuf)
		goto out;
	hc->w = w;
	hc->fd = fd;
	hc->tls = tls;
	hc->lport = lport;
	snprintf(hc->laddr, sizeof(hc->laddr), "%s", laddr);
	snprintf(hc->peer, sizeof(hc->peer), "%s", peer);
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto out;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
	/* request bodies are acknowledged when they reach the upstream */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* CVE-2024-28182: the fixed libnghttp2 defaults to 8; say it here so an
	 * older or newer library cannot change what we promise */
	nghttp2_option_set_max_continuations(opt, GW_H2_MAX_CONTINUATIONS);
	if (nghttp2_session_server_new2(&hc->s, cb, hc, opt))
		goto out;
	if (nghttp2_submit_settings(hc->s, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv)))
		goto out;
	/* each stream is bounded by its own 64 KiB window; a connection window
	 * as small would let one slow upload stall every other stream */
	if (nghttp2_session_set_local_window_size(hc->s, NGHTTP2_FLAG_NONE, 0, 16 << 20))
		goto out;
	if (len && nghttp2_session_mem_recv(hc->s, (const uint8_t *)data, len) < 0) {
		err = -EPROTO;
		goto out;
	}
	err = gw_loop_add_fd(w->loop, &hc->io, fd, GW_IO_READ | GW_IO_WRITE, h2_io, hc);
	if (err)
		goto out;
	hc->next = h2_conns;
	if (h2_conns)
		h2_conns->prev = hc;
	h2_conns = hc;
	w->n_conns++;
	gw_stat_add(w, conns_active, 1);
	if (w->mw)
		gw_metrics_conn_open(w->mw);
	err = 0;
out:
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (err && hc) {
		while (hc->streams)
			stream_free(hc->streams);
		/* h2_abuse() arms it when the first bytes were already abusive,
		 * and a stream started by them may have queued a flush */
		gw_loop_del_timer(w->loop, &hc->timer);
		gw_loop_cancel(w->loop, &hc->flush_task);

		nghttp2_session_del(hc->s);
		free(hc->obuf);
		free(hc);

	} else if (!err) {
		h2_update(hc);
	}
	return err;
}

/* h2_goaway_final() : GOAWAY naming the last stream taken: the ones in
 * flight finish, and the session wants nothing more once they have */
static void h2_goaway_final(struct h2_conn *hc)
{
	nghttp2_submit_goaway(hc->s, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(hc->s), NGHTTP2_NO_ERROR,
			      NULL, 0);
	h2_update(hc);
}

static void h2_drain_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	h2_goaway_final(t->data);
}

void gw_h2_drain(struct gw_worker *w, const char *address, uint16_t port)
{
	struct h2_conn *hc, *next;

	for (hc = h2_conns; hc; hc = next) {
		next = hc->next;
		if (hc->w != w || hc->lingering || hc->closing || hc->draining ||
		    (address && (hc->lport != port || strcmp(hc->laddr, address))))
			continue;
		hc->draining = true;
		/* two steps (RFC 9113 6.8): the notice, then the final GOAWAY */
		if (nghttp2_submit_shutdown_notice(hc->s) ||
		    gw_loop_add_timer(w->loop, &hc->drain_timer, GW_H2_DRAIN_NOTICE_MS,
				      h2_drain_timer_cb, hc)) {
			h2_goaway_final(hc);
			continue;
		}
		h2_update(hc);
	}
}

void gw_h2_close_all(struct gw_worker *w)
{
	struct h2_conn *hc, *next;

	for (hc = h2_conns; hc; hc = next) {
		next = hc->next;
		if (hc->w == w)
			h2_free(hc);
	}
	h2b_close_all(w);
	h2up_close_all(w);
	while (h2_n_bufs)
		free(h2_bufs[--h2_n_bufs]);
}

uint64_t gw_h2_abuse_total(enum gw_h2_abuse r)
{
	return r < GW_H2_ABUSE_MAX ? __atomic_load_n(&h2_abuse_count[r], __ATOMIC_RELAXED) : 0;
}

int gw_h2_metrics_render(void *arg, char *buf, size_t cap)
{
	size_t off = 0;
	int n;

	(void)arg;
	n = snprintf(
	    buf, cap,
	    "# HELP gwbpf_h2_abuse_total HTTP/2 connections closed with GOAWAY for abuse.\n"
	    "# TYPE gwbpf_h2_abuse_total counter\n");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	off = (size_t)n;
	for (int r = 0; r < GW_H2_ABUSE_MAX; r++) {
		n = snprintf(buf + off, cap - off, "gwbpf_h2_abuse_total{reason=\"%s\"} %llu\n",
			     h2_abuse_names[r],
			     (unsigned long long)gw_h2_abuse_total((enum gw_h2_abuse)r));
		if (n < 0 || (size_t)n >= cap - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}
