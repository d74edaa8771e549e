/* proxy/conn.c - one client connection: HTTP/1.1 heads, routing, forwarding.
 *
 * A connection runs one request at a time (pipelined requests wait in the
 * input buffer and are answered in order). Four fixed-size buffers carry a
 * request: `in` (client bytes: heads, request body, tunnel), `uout` (the
 * rewritten head and the body on their way upstream), `uin` (upstream bytes)
 * and `out` (response head and body on their way to the client). Bodies move
 * buffer to buffer as far as the framing allows and the destination has room;
 * a side whose destination is full simply stops being read: that is the whole
 * backpressure story, and it bounds memory at 4 buffers per active request.
 * Buffers go back to the worker pool as soon as they are empty, so an idle
 * keep-alive connection holds only struct gw_conn and its kernel socket.
 *
 * Everything is driven by conn_update(), called after each I/O event: it
 * moves bytes, writes what can be written without waiting, detects the end
 * of a request, and recomputes what each socket waits for.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gwbpf/accesslog.h"
#include "gwbpf/arena.h"
#include "gwbpf/filter.h"
#include "gwbpf/h2.h"
#include "gwbpf/http1.h"
#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/metrics.h"
#include "gwbpf/loop.h"
#include "gwbpf/router.h"
#include "gwbpf/splice.h"
#include "gwbpf/steer.h"
#include "gwbpf/tls.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/upstream.h"

#include "proxy-int.h"

#define GW_MAX_HEADERS 100
#define GW_MAX_ATTEMPTS 3

enum gw_cstate {
	GW_CS_HEAD = 0, /* waiting for / parsing a request head */
	GW_CS_REQ,      /* a request is being served */
	GW_CS_TUNNEL,   /* after a 101: bytes both ways */
	GW_CS_CLOSING,  /* flushing `out`, then close */
};

enum gw_body_type {
	GW_BODY_NONE = 0, /* no body: done at once */
	GW_BODY_CL,       /* Content-Length: left bytes */
	GW_BODY_CHUNKED,  /* chunked, forwarded as is */
	GW_BODY_DECHUNK,  /* chunked from upstream to an HTTP/1.0 client: decoded */
	GW_BODY_EOF,      /* response delimited by the upstream closing */
	GW_BODY_TUNNEL,   /* upgraded connection */
};

struct gw_body {
	enum gw_body_type type;
	uint64_t left;
	struct gw_chunk_state cs;
	bool done;
	bool bad; /* framing error */
};

enum gw_ctimer { GW_CT_NONE = 0, GW_CT_IDLE, GW_CT_HEADER, GW_CT_LINGER };

/* after the last response of a closing connection: how long unread client
 * bytes are drained so that close() does not turn into a RST that could
 * destroy the response before the client read it (nginx lingering_close) */
#define GW_LINGER_MS 2000

struct gw_req {
	struct gw_arena *arena; /* owns this struct and its strings */
	struct gw_ir *ir;       /* reference held for the request's lifetime */
	const struct gw_ir_action *action;
	int32_t cluster;
	struct gw_filter_result fr;
	uint64_t tried;
	unsigned int attempts;
	struct gw_upconn *uc;
	struct gw_buf uout, uin;
	size_t up_head_len;  /* bytes of the upstream head (replayed on a stale reuse) */
	struct gw_body qbody; /* request body, client -> upstream */
	struct gw_body rbody; /* response body, upstream -> client */
	int status;
	bool resp_head_done;
	bool resp_done;
	bool close_after;  /* close the client connection after this response */
	bool up_reusable;  /* the upstream may carry another request */
	bool upgrade;
	bool head_method;
	bool expect_100;
	bool sent_100;
	bool http10;
	bool up_eof;
	bool up_got_bytes;
	bool up_hup;       /* tunnel: EPOLLHUP on the upstream; read it without epoll to EOF */
	bool retried_stale;
	uint32_t retries;        /* HTTPRoute retries done */
	struct gw_timer retry_timer; /* backoff before the next retry */
	struct gw_conn *conn;    /* back pointer for retry_timer */
	uint64_t start_ms;
	uint64_t attempt_ms;
	uint64_t last_up_ms;
	uint64_t last_body_ms;   /* when client body bytes last arrived (body timeouts) */
	uint64_t deadline_total; /* 0 = none */
	uint32_t attempt_timeout;
	uint64_t bytes_out;
	uint64_t bytes_in;       /* head and body from the client */
	int64_t wall_ms;         /* Unix ms when the head arrived */
	uint64_t start_us;       /* monotonic, for durations */
	uint64_t attempt_us;
	int64_t upstream_us;     /* connect -> response head; -1 = no upstream */
	const char *reason;      /* why the gateway answered itself */
	char *listener;          /* "ns/gateway/listener" */
	char *method, *path, *host; /* copies for the access log: NULL when it is off */
	const char *route;          /* borrowed from ir (held until req_end) */
	const struct gw_ir_endpoint *up_ep; /* endpoint of the current attempt (in ir) */
	char upstream[GW_ADDR_MAX + 8];     /* up_ep as text, made when needed: req_upstream() */
	char upgrade_proto[64];
	struct gw_splice_pair sp;      /* tunnel: kernel splice (side 0 = client, 1 = upstream) */
	struct gw_timer splice_timer;  /* tunnel: re-check the drain before a FIN;
					  body splice: re-check the drain at the end */
	bool splice_tried;
	struct gw_body_splice bs;      /* response body carried by the kernel (docs/bpf.md) */
	uint64_t bs_budget;            /* bytes given to it */
	bool bs_tried;
	struct gw_body_splice qbs;     /* request body carried by the kernel */
	uint64_t qbs_budget;
	bool qbs_tried;
};

struct gw_conn {
	struct gw_worker *w;
	int fd;
	struct gw_tls_conn *tls;   /* HTTPS listener: TLS session; NULL = plain TCP */
	struct gw_io io;
	struct gw_timer timer;     /* idle / header timer (lazy: see conn_set_timer()) */
	uint64_t timer_due;        /* when timer_kind's deadline really is */
	struct gw_timer req_timer; /* request deadlines */
	struct gw_task task;
	enum gw_ctimer timer_kind;
	enum gw_cstate state;
	struct gw_buf in, out;
	struct gw_req *req;
	struct gw_conn *next, *prev;
	char laddr[GW_ADDR_MAX];
	uint16_t lport;
	char peer[GW_ADDR_MAX];
	uint32_t n_requests;
	bool in_eof;
	bool draining;
	bool lingering;          /* closing: write side shut, discarding input */
	bool tunnel_up_eof;      /* tunnel: upstream sent EOF */
	bool tunnel_shut_up;     /* tunnel: shutdown(WR) sent upstream */
	bool tunnel_shut_client; /* tunnel: shutdown(WR) sent to the client */
	bool in_hup;             /* tunnel: EPOLLHUP on the client; read it without epoll to EOF */
	struct gw_steer_cs st;   /* shared with kernel L7 forwarding (gwbpf/steer.h) */
	struct gw_timer steer_timer; /* waiting for a kernel-forwarded response */
};

static void conn_update(struct gw_conn *c);
static void conn_set_timer(struct gw_conn *c, enum gw_ctimer kind);

/* ---- buffers ---- */

static inline char *b_peek(const struct gw_buf *b)
{
	return b->area + b->head;
}

static inline char *b_tail(const struct gw_buf *b)
{
	return b->area + b->head + b->data;
}

/* b_room() : bytes that can be appended without realigning */
static inline size_t b_room(const struct gw_buf *b)
{
	return b->area ? b->size - b->head - b->data : 0;
}

static inline void b_consume(struct gw_buf *b, size_t n)
{
	b->head += n;
	b->data -= n;
	if (!b->data)
		b->head = 0;
}

static void b_realign(struct gw_buf *b)
{
	if (b->head && b->data)
		memmove(b->area, b->area + b->head, b->data);
	b->head = 0;
}

static int b_alloc(struct gw_worker *w, struct gw_buf *b)
{
	if (b->area)
		return 0;
	b->area = gw_worker_buf_get(w);
	if (!b->area)
		return -ENOMEM;
	b->size = GW_PROXY_BUF_SIZE;
	b->data = b->head = 0;
	return 0;
}

/* b_release() : gives the area back when the buffer is empty */
static void b_release(struct gw_worker *w, struct gw_buf *b)
{
	if (!b->area || b->data)
		return;
	gw_worker_buf_put(w, b->area);
	memset(b, 0, sizeof(*b));
}

static void b_free(struct gw_worker *w, struct gw_buf *b)
{
	if (b->area)
		gw_worker_buf_put(w, b->area);
	memset(b, 0, sizeof(*b));
}

/* b_append() : copies all of p or nothing; 0 or -ENOSPC */
static int b_append(struct gw_buf *b, const char *p, size_t n)
{
	if (b_room(b) < n)
		b_realign(b);
	if (b_room(b) < n)
		return -ENOSPC;
	memcpy(b_tail(b), p, n);
	b->data += n;
	return 0;
}

/* ---- body framing ---- */

/* body_move() : moves body bytes src -> dst as far as the framing and dst's
 * room allow. Returns bytes moved. Sets b->done at the end of the body and
 * b->bad on invalid chunked framing. */
static size_t body_move(struct gw_body *b, struct gw_buf *src, struct gw_buf *dst)
{
	size_t n, consumed = 0, data_len = 0;
	int r;

	if (b->done || b->bad || !src->data || !dst->area)
		return 0;
	if (b_room(dst) < src->data)
		b_realign(dst);
	n = GW_MIN(src->data, b_room(dst));
	if (!n)
		return 0;
	switch (b->type) {
	case GW_BODY_NONE:
		b->done = true;
		return 0;
	case GW_BODY_CL:
		n = (size_t)GW_MIN((uint64_t)n, b->left);
		memcpy(b_tail(dst), b_peek(src), n);
		b->left -= n;
		if (!b->left)
			b->done = true;
		break;
	case GW_BODY_CHUNKED:
		r = gw_chunked_feed(&b->cs, b_peek(src), n, &consumed);
		if (r < 0) {
			b->bad = true;
			return 0;
		}
		n = consumed;
		memcpy(b_tail(dst), b_peek(src), n);
		if (r == 1)
			b->done = true;
		break;
	case GW_BODY_DECHUNK:
		/* decodes in place in src, then copies the data bytes */
		r = gw_chunked_decode(&b->cs, b_peek(src), n, &consumed, &data_len);
		if (r < 0) {
			b->bad = true;
			return 0;
		}
		memcpy(b_tail(dst), b_peek(src), data_len);
		dst->data += data_len;
		b_consume(src, consumed);
		if (r == 1)
			b->done = true;
		return consumed;
	case GW_BODY_EOF:
	case GW_BODY_TUNNEL:
		memcpy(b_tail(dst), b_peek(src), n);
		break;
	}
	dst->data += n;
	b_consume(src, n);
	return n;
}

static void body_init_request(struct gw_body *b, const struct gw_http_req *r)
{
	memset(b, 0, sizeof(*b));
	if (r->fr.chunked) {
		b->type = GW_BODY_CHUNKED;
	} else if (r->fr.content_length > 0) {
		b->type = GW_BODY_CL;
		b->left = (uint64_t)r->fr.content_length;
	} else {
		b->type = GW_BODY_NONE;
		b->done = true;
	}
}

/* ---- socket I/O ---- */

/* conn_read() : reads into b (allocating it); returns bytes read, 0 on
 * EAGAIN or no room, -1 on EOF or error (*eof set) */
static ssize_t conn_read(struct gw_worker *w, int fd, struct gw_buf *b, bool *eof)
{
	ssize_t n;

	if (b_alloc(w, b))
		return 0;
	if (!b_room(b))
		b_realign(b);
	if (!b_room(b))
		return 0;
	n = recv(fd, b_tail(b), b_room(b), 0);
	if (n > 0) {
		b->data += (size_t)n;
		return n;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	*eof = true;
	return -1;
}

/* sock_error() : the socket's pending error (SO_ERROR), 0 = none */
static int sock_error(int fd)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1)
		return errno;
	return err;
}

/* conn_write() : writes as much of b as the socket takes; -1 on error */
static ssize_t conn_write(int fd, struct gw_buf *b)
{
	ssize_t n;

	if (!b->data)
		return 0;
	n = send(fd, b_peek(b), b->data, MSG_NOSIGNAL);
	if (n >= 0) {
		b_consume(b, (size_t)n);
		return n;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return -1;
}

/* ---- upstream transport: plain TCP or TLS (tls_upstream.c) ---- */

/* up_read() : conn_read() for an upstream connection */
static ssize_t up_read(struct gw_worker *w, struct gw_upconn *uc, struct gw_buf *b, bool *eof)
{
	ssize_t n;

	if (!uc->tls)
		return conn_read(w, uc->fd, b, eof);
	if (b_alloc(w, b))
		return 0;
	if (!b_room(b))
		b_realign(b);
	if (!b_room(b))
		return 0;
	n = gw_tls_up_read(uc, b_tail(b), b_room(b));
	if (n > 0) {
		b->data += (size_t)n;
		return n;
	}
	if (n == -EAGAIN)
		return 0;
	*eof = true;
	return -1;
}

/* up_write() : conn_write() for an upstream connection */
static ssize_t up_write(struct gw_upconn *uc, struct gw_buf *b)
{
	ssize_t n;

	if (!uc->tls)
		return conn_write(uc->fd, b);
	if (!b->data)
		return 0;
	n = gw_tls_up_write(uc, b_peek(b), b->data);
	if (n > 0) {
		b_consume(b, (size_t)n);
		return n;
	}
	return n == -EAGAIN ? 0 : -1;
}

/* ---- client transport: plain TCP or TLS (tls.c) ---- */

/* client_read() : conn_read() for the client socket, through TLS when the
 * listener terminates it */
static ssize_t client_read(struct gw_conn *c, bool *eof)
{
	struct gw_buf *b = &c->in;
	ssize_t n;

	if (!c->tls)
		return conn_read(c->w, c->fd, b, eof);
	if (b_alloc(c->w, b))
		return 0;
	if (!b_room(b))
		b_realign(b);
	if (!b_room(b))
		return 0;
	n = gw_tls_read(c->tls, b_tail(b), b_room(b));
	if (n > 0) {
		b->data += (size_t)n;
		return n;
	}
	if (n == -EAGAIN)
		return 0;
	*eof = true;
	return -1;
}

/* client_write() : conn_write() for the client socket */
static ssize_t client_write(struct gw_conn *c)
{
	struct gw_buf *b = &c->out;
	ssize_t n;

	if (!c->tls)
		return conn_write(c->fd, b);
	if (!b->data)
		return 0;
	n = gw_tls_write(c->tls, b_peek(b), b->data);
	if (n > 0) {
		b_consume(b, (size_t)n);
		return n;
	}
	return n == -EAGAIN ? 0 : -1;
}

/* client_shut_wr() : the client's write side ends: close_notify first on TLS */
static void client_shut_wr(struct gw_conn *c)
{
	gw_tls_shutdown(c->tls);
	shutdown(c->fd, SHUT_WR);
}

/* now_us() : monotonic microseconds; request durations need better than the
 * loop's cached millisecond clock (vDSO: no syscall) */
static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- access log ---- */

static struct gw_slice str_slice(const char *s)
{
	struct gw_slice sl = { s ? s : "", s ? strlen(s) : 0 };

	return sl;
}

/* req_upstream() : "address:port" ("[v6]:port") of the current attempt's
 * endpoint, formatted on first use: only the access log and error messages
 * want it, not every request. "" before any attempt. */
static const char *req_upstream(struct gw_req *r)
{
	const struct gw_ir_endpoint *ep = r->up_ep;
	bool v6;

	if (r->upstream[0] || !ep || !ep->address)
		return r->upstream;
	v6 = strchr(ep->address, ':') != NULL;
	snprintf(r->upstream, sizeof(r->upstream), "%s%s%s:%u", v6 ? "[" : "", ep->address,
		 v6 ? "]" : "", ep->port);
	return r->upstream;
}

static void conn_log_request(struct gw_conn *c, struct gw_req *r)
{
	struct gw_access_entry e;
	char client[GW_ADDR_MAX + 8];

	if (!gw_access_log_enabled(c->w->p->alog))
		return;
	memset(&e, 0, sizeof(e));
	snprintf(client, sizeof(client), "%s", c->peer);
	e.time_ms = r->wall_ms;
	e.client = client;
	e.listener = r->listener;
	e.host = str_slice(r->host);
	e.method = str_slice(r->method);
	e.path = str_slice(r->path);
	e.route = r->route;
	e.rule = r->action ? r->action->rule_name : NULL;
	e.rule_index = r->action ? (int32_t)r->action->rule_index : -1;
	e.backend = req_upstream(r)[0] ? r->upstream : NULL;
	e.status = r->status;
	e.bytes_in = r->bytes_in;
	e.bytes_out = r->bytes_out;
	e.duration_us = now_us() - r->start_us;
	e.upstream_us = r->upstream_us;
	e.reason = r->reason;
	gw_access_log_write(c->w->p->alog, &e);
}

/* log_rejected() : a head that failed to parse is a request too: one line
 * and one count, with what could be read of it */
static void log_rejected(struct gw_conn *c, const struct gw_http_req *h, int status,
			 const char *reason)
{
	struct gw_access_entry e;
	struct timespec ts;

	if (c->w->mw)
		gw_metrics_request(c->w->mw, NULL, NULL, status, 0);
	if (!gw_access_log_enabled(c->w->p->alog))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&e, 0, sizeof(e));
	e.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e.client = c->peer;
	if (h) {
		e.method = h->method;
		e.path = h->target;
		e.host = h->host;
	}
	e.rule_index = -1;
	e.status = status;
	e.upstream_us = -1;
	e.reason = reason;
	gw_access_log_write(c->w->p->alog, &e);
}

/* ---- request lifetime ---- */

/* Request arenas are recycled per worker thread: a new one per request was
 * two malloc()s and two free()s of a 2 KiB chunk (past glibc's tcache) on
 * every request. At most GW_ARENA_CACHE are kept, each holding one chunk
 * (gw_arena_reset()); gw_conn_close_all() frees them when the worker ends. */
#define GW_ARENA_CACHE 32

static __thread struct gw_arena *arena_cache[GW_ARENA_CACHE];
static __thread unsigned int n_arena_cache;

static struct gw_arena *req_arena_get(void)
{
	if (n_arena_cache)
		return arena_cache[--n_arena_cache];
	return gw_arena_new(2048);
}

/* req_arena_put() : takes ownership of a (NULL accepted) */
static void req_arena_put(struct gw_arena *a)
{
	if (!a)
		return;
	if (n_arena_cache == GW_ARENA_CACHE) {
		gw_arena_free(a);
		return;
	}
	gw_arena_reset(a);
	arena_cache[n_arena_cache++] = a;
}

static void req_arena_cache_free(void)
{
	while (n_arena_cache)
		gw_arena_free(arena_cache[--n_arena_cache]);
}

static void up_detach(struct gw_conn *c, bool reusable)
{
	struct gw_req *r = c->req;

	if (!r || !r->uc)
		return;
	gw_upstream_release(c->w->up, r->uc, reusable);
	r->uc = NULL;
}

/* req_end() : logs and frees the request (the upstream, if still attached,
 * is closed: only a cleanly finished request gives it back to the pool) */
static void req_end(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	int cls;

	if (!r)
		return;
	gw_splice_unpair(gw_splice_default(), &r->sp);
	if (r->bs.on || r->qbs.on) {
		uint64_t redir;
		bool lost;

		gw_body_splice_end(gw_splice_default(), &r->bs, &redir, &lost);
		r->bytes_out += redir;
		gw_body_splice_end(gw_splice_default(), &r->qbs, &redir, &lost);
		r->bytes_in += redir;
	}
	gw_loop_del_timer(c->w->loop, &r->splice_timer);
	up_detach(c, false);
	cls = r->status >= 100 && r->status < 600 ? r->status / 100 : 0;
	gw_stat_add(c->w, responses[cls], 1);
	if (c->w->mw)
		gw_metrics_request_bytes(c->w->mw, r->listener, r->route, r->status,
					 now_us() - r->start_us, r->bytes_in, r->bytes_out);
	conn_log_request(c, r);
	b_free(c->w, &r->uout);
	b_free(c->w, &r->uin);
	gw_loop_del_timer(c->w->loop, &c->req_timer);
	gw_loop_del_timer(c->w->loop, &r->retry_timer);
	gw_ir_put(r->ir);
	c->req = NULL;
	req_arena_put(r->arena);
}

static void conn_free(struct gw_conn *c)
{
	struct gw_worker *w = c->w;

	req_end(c);
	gw_loop_del_fd(w->loop, &c->io);
	gw_loop_del_timer(w->loop, &c->steer_timer);
	gw_steer_cs_end(&c->st);
	gw_loop_del_timer(w->loop, &c->timer);
	gw_loop_del_timer(w->loop, &c->req_timer);
	gw_loop_cancel(w->loop, &c->task);
	gw_tls_conn_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	b_free(w, &c->in);
	b_free(w, &c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	gw_stat_add(w, conns_active, (uint64_t)-1);
	if (w->mw)
		gw_metrics_conn_close(w->mw);
	free(c);
}

/* local_response() : answers status from the gateway itself. The response is
 * complete at once; the upstream (if any) is dropped. close_conn forces
 * "Connection: close"; an unread request body forces it too. */
static void local_response(struct gw_conn *c, int status, bool close_conn, const char *extra)
{
	struct gw_req *r = c->req;
	char head[512], body[96];
	int blen, hlen;
	bool close_it = close_conn || c->draining || (r && (!r->qbody.done || r->close_after));

	up_detach(c, false);
	blen = snprintf(body, sizeof(body), "%d %s\n", status, gw_http_status_reason(status));
	hlen = snprintf(head, sizeof(head),
			"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s%s\r\n",
			status, gw_http_status_reason(status), blen,
			close_it ? "Connection: close\r\n" : "", extra ? extra : "");
	b_alloc(c->w, &c->out);
	if (b_append(&c->out, head, (size_t)hlen) ||
	    ((!r || !r->head_method) && b_append(&c->out, body, (size_t)blen)))
		close_it = true; /* cannot happen with an empty buffer; stay safe */
	if (r) {
		r->status = status;
		r->resp_head_done = true;
		r->resp_done = true;
		r->close_after = close_it;
		r->rbody.done = true;
		r->bytes_out += (size_t)hlen + (size_t)blen;
	} else {
		c->state = GW_CS_CLOSING;
		gw_stat_add(c->w, responses[status / 100], 1);
	}
}

/* ---- upstream side ---- */

static void up_io(struct gw_loop *loop, struct gw_io *io, uint32_t events);

/* up_connect() : picks an endpoint not tried yet and starts a connection.
 * Answers 503/502 itself when it runs out of endpoints. */
static void up_connect(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	struct gw_worker *w = c->w;
	const struct gw_ir_cluster *cl = &r->ir->clusters[r->cluster];

	while (r->attempts < GW_MAX_ATTEMPTS) {
		struct sockaddr_storage ss;
		socklen_t len;
		struct gw_upconn *uc;
		int idx = gw_upstream_pick(w->up, r->ir, r->cluster, &r->tried);

		if (idx == -ENOENT) {
			r->reason = "no_endpoints";
			local_response(c, 503, false, NULL);
			return;
		}
		if (idx < 0)
			break;
		r->attempts++;
		if (gw_upstream_addr(&cl->endpoints[idx], &ss, &len))
			continue;
		r->up_ep = &cl->endpoints[idx];
		r->upstream[0] = 0; /* req_upstream() formats it if asked */
		/* h2c backends: HTTP/1.1 over a bridge to the pooled HTTP/2 streams
		 * (under a BackendTLSPolicy: h2 over TLS, never h2c in clear) */
		if (cl->app_proto == GW_APP_H2C)
			uc = gw_h2_bridge_get_tls(w, &ss, len, r->ir, r->cluster);
		else
			uc = gw_tls_up_get(w->up, &ss, len, r->ir, r->cluster);
		if (!uc && errno == EPROTO) {
			/* BackendTLSPolicy without a usable CA: nothing may be sent */
			r->reason = "upstream_tls_policy";
			local_response(c, 502, false, NULL);
			return;
		}
		if (!uc) {
			gw_stat_add(w, upstream_connect_errors, 1);
			if (w->mw)
				gw_metrics_upstream_connect_failure(w->mw);
			continue;
		}
		if (uc->reused)
			gw_stat_add(w, upstream_reused, 1);
		else
			gw_stat_add(w, upstream_connects, 1);
		/* a pooled connection is still watched for READ: it only changes
		 * hands (no syscall), and req_step() writes the head at once;
		 * conn_update() asks for WRITE if the socket is full */
		if (gw_loop_add_fd(w->loop, &uc->io, uc->fd,
				   uc->connected ? GW_IO_READ : GW_IO_WRITE, up_io, c)) {
			gw_upstream_close(w->up, uc);
			continue;
		}
		r->uc = uc;
		r->attempt_ms = gw_loop_now(w->loop);
		r->attempt_us = now_us();
		r->last_up_ms = r->attempt_ms;
		r->up_eof = false;
		r->up_got_bytes = false;
		return;
	}
	r->reason = "upstream_connect";
	local_response(c, 502, false, NULL);
}

/* up_retry() : the current attempt failed before any response byte */
static void up_retry(struct gw_conn *c, bool stale_reuse)
{
	struct gw_req *r = c->req;

	up_detach(c, false);
	b_free(c->w, &r->uin);
	if (stale_reuse) {
		/* the head is still at the start of uout (no body: never realigned) */
		r->retried_stale = true;
		r->uout.head = 0;
		r->uout.data = r->up_head_len;
		/* a pooled connection the backend had closed is not the endpoint's
		 * fault: let the same endpoint be picked again */
		r->tried = 0;
		if (r->attempts)
			r->attempts--;
	}
	up_connect(c);
}

/* up_failed() : the upstream connection broke */
static void up_failed(struct gw_conn *c)
{
	struct gw_req *r = c->req;

	if (!r->up_got_bytes && !r->resp_head_done) {
		if (!r->uc->connected) {
			gw_stat_add(c->w, upstream_connect_errors, 1);
			if (c->w->mw)
				gw_metrics_upstream_connect_failure(c->w->mw);
			up_retry(c, false);
			return;
		}
		if (r->uc->reused && !r->retried_stale && r->qbody.type == GW_BODY_NONE) {
			up_retry(c, true);
			return;
		}
		local_response(c, 502, false, NULL);
		return;
	}
	/* mid-response: nothing sensible can be said any more */
	r->close_after = true;
	r->resp_done = r->resp_head_done;
	if (!r->resp_head_done)
		local_response(c, 502, true, NULL);
	else
		c->state = GW_CS_CLOSING;
}

static void up_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_conn *c = io->data;
	struct gw_req *r = c->req;
	struct gw_upconn *uc = r->uc;

	if (!uc->connected && (events & (GW_IO_WRITE | GW_IO_ERR | (uc->tls ? GW_IO_READ : 0)))) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1 || err) {
			pr_debug("proxy: connect to %s: %s", req_upstream(r), strerror(err));
			up_failed(c);
			conn_update(c);
			return;
		}
		if (uc->tls) {
			int hs = gw_tls_up_handshake(uc);

			if (hs == -EAGAIN) {
				gw_loop_mod_fd(loop, io, gw_tls_up_want(uc));
				return;
			}
			if (hs) {
				/* chain, name or SAN refused: another endpoint, then 502 */
				pr_debug("proxy: TLS to %s failed", req_upstream(r));
				up_failed(c);
				conn_update(c);
				return;
			}
		}
		uc->connected = true;
	}
	if (events & GW_IO_READ) {
		bool eof = false;
		ssize_t n = up_read(c->w, uc, &r->uin, &eof);

		if (n > 0) {
			r->up_got_bytes = true;
			r->last_up_ms = gw_loop_now(loop);
			gw_splice_note(&r->sp, 1, (size_t)n, 0);
			gw_body_splice_note(&r->bs, (size_t)n);
		}
		if (eof)
			r->up_eof = true;
	}
	if (events & GW_IO_ERR) {
		/* reset: nothing more will come, and epoll would report it again
		 * and again (it cannot be masked), so stop watching the socket.
		 * In a tunnel a HUP without an error only means both directions
		 * are shut; bytes may still wait unread, tunnel_step() reads them. */
		if (c->state == GW_CS_TUNNEL && !r->up_eof && !sock_error(uc->fd))
			r->up_hup = true;
		else
			r->up_eof = true;
		gw_loop_del_fd(loop, &uc->io);
	}
	conn_update(c);
}

/* up_tls_pending_cb() : reads what OpenSSL holds decrypted for the upstream */
static void up_tls_pending_cb(struct gw_loop *loop, struct gw_task *t)
{
	struct gw_conn *c = t->data;

	if (c->req && c->req->uc)
		up_io(loop, &c->req->uc->io, GW_IO_READ);
}

/* ---- starting a request ---- */

static const struct gw_ir_bind *find_bind(const struct gw_ir *ir, const char *addr, uint16_t port)
{
	size_t i;

	for (i = 0; ir && i < ir->n_binds; i++)
		if (ir->binds[i].port == port && ir->binds[i].address &&
		    !strcmp(ir->binds[i].address, addr))
			return &ir->binds[i];
	return NULL;
}

static char *slice_dup(struct gw_arena *a, struct gw_slice s)
{
	return gw_arena_strndup(a, s.p ? s.p : "", s.len);
}

/* the Forwarded line: a quoted IPv6 peer (GW_ADDR_MAX), a host up to 255 */
#define GW_FORWARDED_MAX 512

static inline char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put(p, lit, sizeof(lit) - 1)

/* forwarded_line() : writes "Forwarded: for=...;proto=...[;host="..."]\r\n"
 * (RFC 7239) into out (GW_FORWARDED_MAX bytes) and returns its length. By
 * hand rather than with snprintf: it runs for every request. A host of 256
 * bytes or more is left out (the bound that makes the line fit). */
static size_t forwarded_line(char *out, const char *peer, bool https, struct gw_slice host)
{
	size_t pl = strnlen(peer, GW_ADDR_MAX - 1);
	bool v6 = memchr(peer, ':', pl) != NULL;
	char *p = out;

	_Static_assert(GW_FORWARDED_MAX >= 15 + 2 + GW_ADDR_MAX + 2 + 13 + 8 + 255 + 1 + 2,
		       "Forwarded line buffer too small");
	p = PUT_LIT(p, "Forwarded: for=");
	if (v6)
		p = PUT_LIT(p, "\"[");
	p = put(p, peer, pl);
	if (v6)
		p = PUT_LIT(p, "]\"");
	p = https ? PUT_LIT(p, ";proto=https") : PUT_LIT(p, ";proto=http");
	if (host.len && host.len < 256) {
		p = PUT_LIT(p, ";host=\"");
		p = put(p, host.p, host.len);
		p = PUT_LIT(p, "\"");
	}
	p = PUT_LIT(p, "\r\n");
	return (size_t)(p - out);
}

/* start_request() : the head of hreq (head_len bytes at the front of `in`)
 * is complete and valid. Routes it and either answers locally or starts
 * the upstream exchange. */
static void start_request(struct gw_conn *c, struct gw_http_req *hreq, size_t head_len)
{
	struct gw_worker *w = c->w;
	struct gw_arena *a = req_arena_get();
	struct gw_route_result res;
	struct gw_filter_ctx ctx;
	const struct gw_ir_bind *bind;
	const struct gw_ir_backend *backend = NULL;
	const struct gw_ir_listener *lst;
	struct gw_req *r;
	char extra[GW_FORWARDED_MAX];
	size_t extra_len;
	int n, bi, i;

	r = a ? gw_arena_alloc(a, sizeof(*r)) : NULL;
	if (!r) {
		req_arena_put(a);
		local_response(c, 503, true, NULL);
		return;
	}
	r->arena = a;
	r->conn = c;
	c->req = r;
	c->state = GW_CS_REQ;
	c->n_requests++;
	gw_stat_add(w, requests, 1);
	r->ir = gw_ir_get(w->ir);
	r->start_ms = gw_loop_now(w->loop);
	r->last_body_ms = r->start_ms;
	r->http10 = hreq->version_minor == 0;
	r->head_method = gw_slice_eq(hreq->method, "HEAD");
	if (gw_access_log_enabled(w->p->alog)) {
		/* only the access log reads these: no copies, no wall clock
		 * read per request when it is off (the log is set at startup) */
		struct timespec ts;

		r->method = slice_dup(a, hreq->method);
		r->host = slice_dup(a, hreq->host);
		r->path = slice_dup(a, hreq->target); /* before normalising rewrites it */
		clock_gettime(CLOCK_REALTIME, &ts);
		r->wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	r->bytes_in = head_len;
	r->upstream_us = -1;
	r->start_us = now_us();
	r->close_after = hreq->fr.conn_close || c->draining;
	r->cluster = -1;
	body_init_request(&r->qbody, hreq);
	body_init_request(&r->rbody, hreq); /* reset below once the response is known */

	if (hreq->fr.expect_unknown && !r->http10) {
		r->reason = "expectation_failed";
		b_consume(&c->in, head_len);
		local_response(c, 417, true, NULL);
		return;
	}
	n = gw_router_path_normalize((char *)hreq->path.p, hreq->path.len, GW_PATH_NORM_DEFAULT);
	if (n < 0) {
		r->reason = "bad_path";
		b_consume(&c->in, head_len);
		local_response(c, 400, true, NULL);
		return;
	}
	hreq->path.len = (size_t)n;
	bind = find_bind(r->ir, c->laddr, c->lport);
	if (!bind) {
		/* the listener went away with a new snapshot: we are draining */
		r->reason = "listener_removed";
		b_consume(&c->in, head_len);
		local_response(c, 503, true, NULL);
		return;
	}
	gw_router_match(bind, hreq, &res);
	if (c->tls) {
		/* the connection belongs to the listener its SNI selected:
		 * Gateway API wants 421 when Host picks another one (or none) */
		const struct gw_ir_listener *sl = gw_tls_sni_listener(bind, gw_tls_sni(c->tls));

		if (sl && sl != res.listener) {
			r->reason = "misdirected";
			b_consume(&c->in, head_len);
			local_response(c, 421, false, NULL);
			return;
		}
	}
	if (!res.action) {
		r->reason = "no_route";
		b_consume(&c->in, head_len);
		local_response(c, 404, false, NULL);
		return;
	}
	lst = res.listener;
	if (lst) {
		const char *gw = lst->gateway ? lst->gateway : "", *ln = lst->name ? lst->name : "";
		size_t gl = strlen(gw), nl = strlen(ln);

		/* "gateway/listener", no printf on the request path */
		r->listener = gw_arena_alloc(a, gl + nl + 2);
		if (r->listener) {
			memcpy(r->listener, gw, gl);
			r->listener[gl] = '/';
			memcpy(r->listener + gl + 1, ln, nl + 1);
		}
	}
	r->action = res.action;
	r->route = res.action->route;
	bi = gw_router_pick_backend(res.action, gw_worker_rand(w));
	if (bi >= 0)
		backend = &res.action->backends[bi];

	r->upgrade = hreq->fr.upgrade && !r->http10;
	/* RFC 7239: one more Forwarded element; a client's own Forwarded lines
	 * are kept before it, which is what appending to a list means. Added to
	 * the forwarded head only (ctx.extra would also land in redirects). */
	extra_len = forwarded_line(extra, c->peer, lst && lst->proto == GW_PROTO_HTTPS,
				   hreq->host);
	if (r->upgrade)
		snprintf(r->upgrade_proto, sizeof(r->upgrade_proto), "%.*s",
			 (int)hreq->fr.upgrade_proto.len, hreq->fr.upgrade_proto.p);
	memset(&ctx, 0, sizeof(ctx));
	ctx.req = hreq;
	ctx.match = res.match;
	ctx.action = res.action;
	ctx.backend = backend;
	ctx.scheme = lst && lst->proto == GW_PROTO_HTTPS ? "https" : "http";
	ctx.listener_port = c->lport;
	ctx.client_addr = c->peer;
	ctx.extra = NULL;
	ctx.extra_len = 0;
	ctx.rnd = gw_worker_rand(w);
	if (b_alloc(w, &r->uout)) {
		b_consume(&c->in, head_len);
		local_response(c, 503, true, NULL);
		return;
	}
	n = gw_filter_request(&ctx, r->uout.area, r->uout.size, &r->fr);
	b_consume(&c->in, head_len);
	if (n < 0) {
		local_response(c, n == -ENOSPC ? 431 : 500, true, NULL);
		return;
	}
	if (r->fr.verdict == GW_FILTER_RESPOND) {
		/* a complete head with an empty body: the filter's own answer */
		bool close_it = c->draining || !r->qbody.done || r->close_after;
		size_t hl = (size_t)n;

		b_alloc(w, &c->out);
		if (close_it && hl >= 2) {
			b_append(&c->out, r->uout.area, hl - 2);
			b_append(&c->out, "Connection: close\r\n\r\n", 21);
		} else {
			b_append(&c->out, r->uout.area, hl);
		}
		r->status = r->fr.status;
		r->reason = "filter";
		r->resp_head_done = r->resp_done = r->rbody.done = true;
		r->close_after = close_it;
		r->bytes_out += c->out.data;
		return;
	}
	if (!backend || backend->cluster < 0 || (size_t)backend->cluster >= r->ir->n_clusters) {
		r->reason = "invalid_backend";
		local_response(c, 500, false, NULL);
		return;
	}
	r->cluster = backend->cluster;
	if (!r->ir->clusters[r->cluster].n_ready) {
		r->reason = "no_endpoints";
		local_response(c, 503, false, NULL);
		return;
	}
	{
		size_t el = extra_len;

		/* the head ends with CRLF CRLF: the line goes before the last CRLF */
		if ((size_t)n + el > r->uout.size) {
			local_response(c, 431, true, NULL);
			return;
		}
		memcpy(r->uout.area + n - 2, extra, el);
		memcpy(r->uout.area + n - 2 + el, "\r\n", 2);
		n += (int)el;
	}
	r->uout.data = (size_t)n;
	r->up_head_len = (size_t)n;
	if (r->fr.n_mirrors && r->qbody.type == GW_BODY_NONE && !r->upgrade) {
		/* bodies are streamed once, so only bodyless requests are mirrored */
		for (i = 0; i < r->fr.n_mirrors; i++)
			if (r->fr.mirrors[i] >= 0 && (size_t)r->fr.mirrors[i] < r->ir->n_clusters)
				gw_mirror_start(c->w, r->ir, r->fr.mirrors[i], r->uout.area,
						(size_t)n);
	}
	r->expect_100 = hreq->fr.expect_continue && !r->http10 && !r->qbody.done;
	r->attempt_timeout = r->action->backend_timeout_ms;
	if (r->action->request_timeout_ms)
		r->deadline_total = r->start_ms + r->action->request_timeout_ms;
	up_connect(c);
}

/* ---- the state machine ---- */

static void conn_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_conn *c = t->data;
	uint64_t now = gw_loop_now(loop);

	if (c->timer_kind == GW_CT_NONE)
		return; /* left armed by conn_set_timer(): nothing to time now */
	if (c->timer_due > now) {
		/* armed for an earlier period of the same kind: the rest */
		if (!gw_loop_add_timer(loop, t, c->timer_due - now, conn_timer_cb, c))
			return;
	}
	if (c->lingering) {
		conn_free(c);
		return;
	}
	if (c->state != GW_CS_HEAD)
		return;
	c->timer_kind = GW_CT_NONE;
	if (!c->in.data && gw_steer_cs_active(&c->st)) {
		/* the kernel is serving this connection's requests: not idle */
		conn_set_timer(c, GW_CT_IDLE);
		return;
	}
	if (c->in.data) {
		/* a head started but did not complete in time */
		gw_stat_add(c->w, requests, 1);
		log_rejected(c, NULL, 408, "header_timeout");
		local_response(c, 408, true, NULL);
		conn_update(c);
		return;
	}
	if (c->st.on) {
		/* the kernel may forward on it until we stop it: close the way
		 * a drain does (conn_update(), steer_gate()) */
		c->draining = true;
		conn_update(c);
		return;
	}
	conn_free(c);
}

/* Request body timeouts (docs/security.md): a body must keep arriving
 * (body_idle_timeout_ms between bytes, counted only while gwbpf waits for
 * the client: nothing of it is buffered) and be complete within
 * body_timeout_ms of the head. 0 in the options means the default. */
#define GW_BODY_IDLE_MS_DEFAULT 30000
#define GW_BODY_TOTAL_MS_DEFAULT 60000

static bool body_waiting(const struct gw_conn *c)
{
	const struct gw_req *r = c->req;

	/* a client that sent Expect: 100-continue waits for our 100 first */
	return r && !r->qbody.done && r->qbody.type != GW_BODY_TUNNEL && !r->upgrade &&
	       !r->resp_done && c->state == GW_CS_REQ && !(r->expect_100 && !r->sent_100);
}

static uint64_t body_idle_deadline(const struct gw_conn *c)
{
	uint32_t ms = c->w->p->opts.body_idle_timeout_ms;

	return c->req->last_body_ms + (ms ? ms : GW_BODY_IDLE_MS_DEFAULT);
}

static uint64_t body_total_deadline(const struct gw_conn *c)
{
	uint32_t ms = c->w->p->opts.body_timeout_ms;

	return c->req->start_ms + (ms ? ms : GW_BODY_TOTAL_MS_DEFAULT);
}

/* body_timeout() : the client sends its body too slowly: 408 when no
 * response has started, else the connection is closed. true when it did. */
static bool body_timeout(struct gw_conn *c, uint64_t now)
{
	struct gw_req *r = c->req;
	bool total = now >= body_total_deadline(c);

	if (!body_waiting(c) || (!total && (c->in.data || now < body_idle_deadline(c))))
		return false;
	gw_stat_add(c->w, body_timeouts, 1);
	pr_debug("proxy: %s: request body %s", c->peer, total ? "too slow in total" : "idle");
	if (!r->resp_head_done) {
		r->reason = total ? "body_timeout" : "body_idle_timeout";
		local_response(c, 408, true, NULL);
	} else {
		r->close_after = true;
		c->state = GW_CS_CLOSING;
	}
	return true;
}

static void req_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_conn *c = t->data;
	struct gw_req *r = c->req;
	struct gw_proxy_opts *o = &c->w->p->opts;
	uint64_t now = gw_loop_now(loop);

	if (!r || r->resp_done || c->state != GW_CS_REQ)
		return;
	/* a body the kernel carries: its progress is the upstream's activity */
	if (r->bs.on && gw_body_splice_progress(gw_splice_default(), &r->bs))
		r->last_up_ms = now;
	if (r->qbs.on && gw_body_splice_progress(gw_splice_default(), &r->qbs))
		r->last_body_ms = now;
	if (body_timeout(c, now)) {
		conn_update(c);
		return;
	}
	if (r->uc && !r->uc->connected && now >= r->attempt_ms + o->connect_timeout_ms) {
		pr_debug("proxy: connect to %s timed out", req_upstream(r));
		gw_stat_add(c->w, upstream_connect_errors, 1);
		if (c->w->mw)
			gw_metrics_upstream_connect_failure(c->w->mw);
		up_retry(c, false);
	} else if ((r->deadline_total && now >= r->deadline_total) ||
		   (r->attempt_timeout && now >= r->attempt_ms + r->attempt_timeout) ||
		   (!r->attempt_timeout && !r->deadline_total && r->uc &&
		    now >= r->last_up_ms + o->upstream_timeout_ms)) {
		if (c->w->mw)
			gw_metrics_upstream_timeout(c->w->mw);
		if (!r->resp_head_done) {
			r->reason = "timeout";
			local_response(c, 504, true, NULL);
		} else {
			r->close_after = true;
			c->state = GW_CS_CLOSING;
		}
	}
	conn_update(c);
}

/* req_arm() : arms the request timer at its nearest deadline */
static void req_arm(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	struct gw_proxy_opts *o = &c->w->p->opts;
	uint64_t now = gw_loop_now(c->w->loop), d = UINT64_MAX;

	if (!r || r->resp_done || !r->uc) {
		gw_loop_del_timer(c->w->loop, &c->req_timer);
		return;
	}
	if (!r->uc->connected)
		d = GW_MIN(d, r->attempt_ms + o->connect_timeout_ms);
	if (r->deadline_total)
		d = GW_MIN(d, r->deadline_total);
	if (r->attempt_timeout)
		d = GW_MIN(d, r->attempt_ms + r->attempt_timeout);
	if (!r->attempt_timeout && !r->deadline_total)
		d = GW_MIN(d, r->last_up_ms + o->upstream_timeout_ms);
	if (body_waiting(c)) {
		d = GW_MIN(d, body_total_deadline(c));
		/* idle only counts while nothing of the client's is buffered */
		if (!c->in.data)
			d = GW_MIN(d, body_idle_deadline(c));
	}
	if (gw_timer_armed(&c->req_timer) && c->req_timer.deadline == d)
		return;
	gw_loop_add_timer(c->w->loop, &c->req_timer, d > now ? d - now : 0, req_timer_cb, c);
}

/* should_retry() : the rule's retry policy asks for another try of a request
 * that can be replayed. Only requests without a body are retried: a body is
 * streamed, never kept, so it cannot be sent twice. */
static bool should_retry(struct gw_conn *c, int status)
{
	struct gw_req *r = c->req;
	const struct gw_ir_retry *rt = &r->action->retry;

	if (!rt->attempts || r->retries >= rt->attempts || r->qbody.type != GW_BODY_NONE ||
	    r->upgrade || r->sent_100)
		return false;
	return gw_retry_status(rt, status);
}

static void retry_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_req *r = t->data;
	struct gw_conn *c = r->conn;

	up_connect(c);
	conn_update(c);
}

/* resp_head() : parses the upstream head in uin; false when more is needed
 * or the response failed (then a local response was made) */
static bool resp_head(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	struct gw_http_header hdrs[GW_MAX_HEADERS];
	struct gw_http_resp resp;
	struct gw_http_limits lim;
	const char *extra = "";
	int n, m;

	gw_http_limits_default(&lim);
	lim.max_head = GW_PROXY_BUF_SIZE;
	lim.max_headers = GW_MAX_HEADERS;
	memset(&resp, 0, sizeof(resp));
	resp.headers = hdrs;
	b_realign(&r->uin);
	n = gw_http1_parse_response(b_peek(&r->uin), r->uin.data, &resp, &lim);
	if (n == -EAGAIN) {
		if (r->up_eof || !b_room(&r->uin)) {
			pr_debug("proxy: incomplete response head from %s", req_upstream(r));
			if (!r->up_got_bytes || !r->uin.data)
				up_failed(c);
			else
				local_response(c, 502, true, NULL);
		}
		return false;
	}
	if (n < 0) {
		pr_info("proxy: invalid response head from %s: %s", req_upstream(r),
			gw_http1_strerror(resp.err));
		local_response(c, 502, true, NULL);
		return false;
	}
	if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
		/* interim: 100 goes to a client that asked for it (once); others are
		 * not forwarded (documented in docs/proxy.md) */
		if (resp.status == 100 && r->expect_100 && !r->sent_100) {
			if (b_alloc(c->w, &c->out) ||
			    b_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25))
				return false; /* retried when `out` drains */
			r->sent_100 = true;
			r->last_body_ms = gw_loop_now(c->w->loop); /* the body may start now */
		}
		b_consume(&r->uin, (size_t)n);
		return true;
	}
	if (resp.status == 101 && !r->upgrade) {
		local_response(c, 502, true, NULL);
		return false;
	}
	if (resp.status != 101 && should_retry(c, resp.status)) {
		/* the answer is dropped unread: this connection cannot be reused */
		pr_debug("proxy: %s answered %d: retry %u", req_upstream(r), resp.status,
			 r->retries + 1);
		r->retries++;
		up_detach(c, false);
		b_free(c->w, &r->uin);
		r->uout.head = 0;
		r->uout.data = r->up_head_len;
		r->tried = 0;
		r->attempts = 0;
		if (r->action->retry.backoff_ms)
			gw_loop_add_timer(c->w->loop, &r->retry_timer, r->action->retry.backoff_ms,
					  retry_timer_cb, r);
		else
			up_connect(c);
		return true;
	}
	memset(&r->rbody, 0, sizeof(r->rbody));
	if (resp.status == 101) {
		r->rbody.type = GW_BODY_TUNNEL;
	} else if (r->head_method || resp.status == 204 || resp.status == 304) {
		r->rbody.type = GW_BODY_NONE;
		r->rbody.done = true;
	} else if (resp.fr.chunked) {
		r->rbody.type = r->http10 ? GW_BODY_DECHUNK : GW_BODY_CHUNKED;
	} else if (resp.fr.content_length >= 0) {
		r->rbody.type = GW_BODY_CL;
		r->rbody.left = (uint64_t)resp.fr.content_length;
		r->rbody.done = !r->rbody.left;
	} else {
		r->rbody.type = GW_BODY_EOF;
	}
	if (resp.status != 101) {
		if (r->rbody.type == GW_BODY_EOF || r->rbody.type == GW_BODY_DECHUNK ||
		    !r->qbody.done || c->draining || r->upgrade)
			r->close_after = true;
		r->up_reusable = !resp.fr.conn_close && r->rbody.type != GW_BODY_EOF;
	}
	if (resp.status == 101)
		extra = "Connection: upgrade\r\n";
	else if (r->close_after)
		extra = "Connection: close\r\n";
	else if (r->http10)
		extra = "Connection: keep-alive\r\n";
	if (b_alloc(c->w, &c->out))
		return false;
	b_realign(&c->out);
	m = gw_filter_response(&r->fr, &resp, extra, strlen(extra), b_tail(&c->out),
			       b_room(&c->out));
	if (m < 0) {
		if (c->out.data)
			return false; /* a 100 Continue is still leaving: retry after */
		local_response(c, 502, true, NULL);
		return false;
	}
	if (r->rbody.type == GW_BODY_DECHUNK) {
		/* an HTTP/1.0 client cannot read chunked: drop the header, the body
		 * is decoded and ends with the connection */
		char *h = b_tail(&c->out), *end = h + m, *p = h;

		while (p < end) {
			char *eol = memchr(p, '\n', (size_t)(end - p));

			if (!eol)
				break;
			if (!strncasecmp(p, "Transfer-Encoding:", 18)) {
				memmove(p, eol + 1, (size_t)(end - eol - 1));
				m -= (int)(eol + 1 - p);
				end = h + m;
				continue;
			}
			p = eol + 1;
		}
	}
	c->out.data += (size_t)m;
	r->bytes_out += (size_t)m;
	r->status = resp.status;
	r->upstream_us = (int64_t)(now_us() - r->attempt_us);
	r->resp_head_done = true;
	b_consume(&r->uin, (size_t)n);
	if (resp.status == 101) {
		/* request deadlines end with the upgrade: a tunnel lives as long
		 * as its two ends want */
		gw_loop_del_timer(c->w->loop, &c->req_timer);
		c->state = GW_CS_TUNNEL;
		r->qbody.type = GW_BODY_TUNNEL;
		r->qbody.done = false;
	}
	return true;
}

static void splice_timer_cb(struct gw_loop *loop, struct gw_timer *t);

/* body_splice_try() : hands the rest of a large Content-Length response body
 * to the kernel (gwbpf/splice.h "body splice") once we hold none of it; a
 * 1 ms timer polls for its end (body_splice_back()). Plain TCP both ways
 * only; the response filters work on the head alone. */
static void body_splice_try(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	struct gw_splice *sp = gw_splice_default();

	if (r->bs_tried || r->rbody.type != GW_BODY_CL || r->rbody.done ||
	    r->rbody.left < GW_BODY_SPLICE_MIN || r->uin.data || c->out.data || c->tls || !r->uc ||
	    r->uc->tls || !r->uc->connected || r->up_eof || !r->qbody.done || r->uout.data ||
	    !gw_body_splice_available(sp))
		return;
	r->bs_tried = true;
	if (!gw_body_splice_start(sp, r->uc->fd, c->fd, r->rbody.left, &r->bs))
		r->bs_budget = r->rbody.left;
}

/* body_carried() : n bytes of b went by the kernel */
static void body_carried(struct gw_body *b, uint64_t n)
{
	b->left -= GW_MIN(n, b->left);
	if (!b->left)
		b->done = true;
}

/* body_splice_poll() : re-checks a body splice in a millisecond */
static void body_splice_poll(struct gw_conn *c)
{
	struct gw_req *r = c->req;

	r->conn = c;
	if (!gw_timer_armed(&r->splice_timer))
		gw_loop_add_timer(c->w->loop, &r->splice_timer, 1, splice_timer_cb, r);
}

/* body_splice_over() : the end of a body splice, either way. fd_in is not
 * watched for input meanwhile (EPOLLIN also fires for bytes the parser has
 * not taken yet, recv() then says EAGAIN: a busy loop while the reader is
 * the slower side); when the kernel says so, read_in() takes what it passed
 * up while the parser is still attached (gwbpf/splice.h). Once every byte it
 * redirected is queued on the target socket, ends it. 0 = over (*redir,
 * *lost set); -EAGAIN = not yet (re-checked in a millisecond); -ETIMEDOUT =
 * over, but the reader stalled: the body is cut. */
static int body_splice_over(struct gw_conn *c, struct gw_body_splice *bs,
			    ssize_t (*read_in)(struct gw_conn *c), uint64_t *redir, bool *lost)
{
	struct gw_splice *sp = gw_splice_default();
	int d;

	if (!gw_body_splice_pending(sp, bs)) {
		body_splice_poll(c);
		return -EAGAIN;
	}
	while (read_in(c) > 0)
		;
	d = gw_body_splice_done(sp, bs);
	if (d == 0) {
		body_splice_poll(c);
		return -EAGAIN;
	}
	gw_body_splice_end(sp, bs, redir, lost);
	return d == -ETIMEDOUT ? d : 0;
}

/* bs_read_in() : what the kernel passed up from the upstream, into uin */
static ssize_t bs_read_in(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	bool eof = false;
	ssize_t n;

	if (!r->uc || r->up_eof || (r->uin.area && !b_room(&r->uin)))
		return 0;
	n = up_read(c->w, r->uc, &r->uin, &eof);
	if (n > 0) {
		r->last_up_ms = gw_loop_now(c->w->loop);
		gw_body_splice_note(&r->bs, (size_t)n);
	}
	if (eof)
		r->up_eof = true;
	return n;
}

/* body_splice_back() : true once the kernel's part of the response body is
 * over and both sockets are ours again, the body counters advanced by what
 * it carried. false = not yet. */
static bool body_splice_back(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	uint64_t redir;
	bool lost;
	int err;

	err = body_splice_over(c, &r->bs, bs_read_in, &redir, &lost);
	if (err == -EAGAIN)
		return false;
	body_carried(&r->rbody, redir);
	r->bytes_out += redir;
	gw_stat_add(c->w, bytes_out, redir);
	/* bytes past the body, or passed up and dropped: the upstream
	 * connection takes no further request */
	if (lost || r->uin.data)
		r->up_reusable = false;
	if ((redir != r->bs_budget && r->uin.data) || err) {
		/* bytes came up with the budget unspent: the kernel could not
		 * redirect (the client is going); or the client stalled and the
		 * kernel's queue was dropped: the bytes are no longer in order */
		r->rbody.bad = true;
	}
	return true;
}

/* qbody_splice_try() : body_splice_try() for the request body, client ->
 * upstream, once we hold none of it and wrote everything upstream. Not on a
 * connection the kernel's L7 forwarding shares (its byte accounting). */
static void qbody_splice_try(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	struct gw_splice *sp = gw_splice_default();

	if (r->qbs_tried || r->qbody.type != GW_BODY_CL || r->qbody.done ||
	    r->qbody.left < GW_BODY_SPLICE_MIN || c->in.data || c->in_eof || r->uout.data ||
	    c->tls || c->st.on || !r->uc || r->uc->tls || !r->uc->connected || r->resp_done ||
	    (r->expect_100 && !r->sent_100) || !gw_body_splice_available(sp))
		return;
	r->qbs_tried = true;
	if (!gw_body_splice_start(sp, c->fd, r->uc->fd, r->qbody.left, &r->qbs))
		r->qbs_budget = r->qbody.left;
}

/* qbs_read_in() : what the kernel passed up from the client (a pipelined
 * request), into in */
static ssize_t qbs_read_in(struct gw_conn *c)
{
	bool eof = false;
	ssize_t n;

	if (c->in_eof || (c->in.area && !b_room(&c->in)))
		return 0;
	n = client_read(c, &eof);
	if (n > 0) {
		gw_stat_add(c->w, bytes_in, (uint64_t)n);
		gw_body_splice_note(&c->req->qbs, (size_t)n);
	}
	if (eof)
		c->in_eof = true;
	return n;
}

/* qbody_splice_back() : body_splice_back() for the request body. A
 * pipelined request the kernel passed up and we could not take ends the
 * connection after this response (the client retries it, RFC 9112 9.3.2). */
static bool qbody_splice_back(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	uint64_t redir;
	bool lost;

	if (body_splice_over(c, &r->qbs, qbs_read_in, &redir, &lost) == -EAGAIN)
		return false;
	body_carried(&r->qbody, redir);
	r->bytes_in += redir;
	r->last_body_ms = gw_loop_now(c->w->loop);
	if (lost)
		r->close_after = true;
	if (redir != r->qbs_budget && c->in.data)
		r->qbody.bad = true;
	return true;
}

/* req_step() : one round of progress on the current request; returns true
 * when something changed */
static bool req_step(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	bool progress = false;
	ssize_t n;

	/* GW_CS_REQ and GW_CS_TUNNEL always hold a request: start_request()
	 * sets both, and req_end(), which clears c->req, is always followed by
	 * a state change */
	BUG_ON(!r);

	/* request body towards the upstream */
	if (r->qbs.on && qbody_splice_back(c))
		progress = true;
	if (!r->qbs.on && !r->qbody.done && c->in.data && r->uout.area) {
		size_t moved = body_move(&r->qbody, &c->in, &r->uout);

		r->bytes_in += moved;
		if (moved)
			r->last_body_ms = gw_loop_now(c->w->loop);
		progress |= moved > 0;
	}
	if (r->qbody.bad) {
		if (!r->resp_head_done) {
			local_response(c, 400, true, NULL);
		} else {
			r->close_after = true;
			c->state = GW_CS_CLOSING;
		}
		return true;
	}
	if (!r->qbody.done && c->in_eof && !c->in.data && !r->resp_done && !r->qbs.on) {
		/* the client went away mid-body */
		r->close_after = true;
		c->state = GW_CS_CLOSING;
		return true;
	}
	if (r->expect_100 && !r->sent_100 && !r->resp_head_done && r->uc && r->uc->connected &&
	    !c->out.data) {
		/* the upstream is there: tell the client to send its body */
		if (!b_alloc(c->w, &c->out) &&
		    !b_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25)) {
			r->sent_100 = true;
			r->last_body_ms = gw_loop_now(c->w->loop);
			progress = true;
		}
	}
	if (r->uc && r->uc->connected && r->uout.data) {
		n = up_write(r->uc, &r->uout);
		if (n < 0) {
			up_failed(c);
			return true;
		}
		if (n > 0)
			progress = true;
	}
	qbody_splice_try(c);
	if (!r->resp_head_done && r->uc && r->uin.data) {
		if (resp_head(c))
			progress = true;
		if (c->state != GW_CS_REQ || r->resp_done)
			return true;
	} else if (!r->resp_head_done && r->uc && r->up_eof) {
		up_failed(c);
		return true;
	}
	/* response body towards the client */
	if (r->resp_head_done && !r->resp_done && c->state == GW_CS_REQ) {
		if (r->bs.on) {
			if (!body_splice_back(c))
				return progress; /* the kernel still carries the body */
			progress = true;
		}
		if (!r->rbody.done && r->uin.data && b_alloc(c->w, &c->out) == 0) {
			size_t before = c->out.data;

			if (body_move(&r->rbody, &r->uin, &c->out)) {
				r->bytes_out += c->out.data - before;
				progress = true;
			}
		}
		if (r->rbody.bad) {
			r->close_after = true;
			r->resp_done = true;
			r->up_reusable = false;
			return true;
		}
		if (r->rbody.type == GW_BODY_EOF && r->up_eof && !r->uin.data)
			r->rbody.done = true;
		if (r->rbody.done) {
			r->resp_done = true;
			progress = true;
		} else if (r->up_eof && !r->uin.data) {
			/* truncated response: the client must see the connection end */
			r->close_after = true;
			r->resp_done = true;
			r->up_reusable = false;
			progress = true;
		} else {
			body_splice_try(c);
		}
	}
	return progress;
}

/* req_finish() : the response is complete and flushed */
static void req_finish(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	bool reuse = r->up_reusable && r->qbody.done && !r->uin.data && !r->up_eof &&
		     !r->uout.data;

	if (!r->qbody.done)
		r->close_after = true;
	up_detach(c, reuse);
	if (r->close_after || c->draining) {
		req_end(c);
		c->state = GW_CS_CLOSING;
		return;
	}
	req_end(c);
	c->state = GW_CS_HEAD;
}

static void splice_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_req *r = t->data;

	conn_update(r->conn);
}

/* tunnel_splice() : hands the tunnel to the kernel splice (gwbpf/splice.h):
 * once at the start, then a sync per direction whenever userspace holds
 * none of its bytes. Plain TCP on both sides only: TLS bytes must be
 * decrypted/encrypted here. A refused pair just stays in this relay. */
static void tunnel_splice(struct gw_conn *c)
{
	struct gw_splice *sp = gw_splice_default();
	struct gw_req *r = c->req;

	if (!sp)
		return;
	if (!r->splice_tried) {
		int err;

		if (c->tls) { /* upstreams are plain TCP here; an upstream TLS
				 session must be checked too once it exists */
			r->splice_tried = true;
			return;
		}
		err = gw_splice_pair(sp, c->fd, r->uc->fd, &r->sp);
		if (err == -EAGAIN)
			return; /* unread bytes: again after the next read */
		r->splice_tried = true;
		if (err)
			return;
	}
	if (!c->in.data && !r->uout.data)
		gw_splice_sync(sp, &r->sp, 0);
	if (!r->uin.data && !c->out.data)
		gw_splice_sync(sp, &r->sp, 1);
}

/* tunnel_fin_ok() : side's EOF may travel: bytes the kernel redirected
 * before it are queued on the other socket (else re-check in 1 ms) */
static bool tunnel_fin_ok(struct gw_conn *c, int side)
{
	struct gw_req *r = c->req;

	int ret;

	if (!r->sp.paired)
		return true;
	ret = gw_splice_drained(gw_splice_default(), &r->sp, side);
	if (ret == -EAGAIN) {
		/* bytes passed up are still on their way: read that side again
		 * (unless it was reset: then its bytes are gone anyway) */
		int soerr = 0;
		socklen_t l = sizeof(soerr);

		getsockopt(side ? r->uc->fd : c->fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
		if (soerr)
			return true;
		if (side == 0)
			c->in_eof = false;
		else
			r->up_eof = false;
		return false;
	}
	if (ret)
		return true;
	r->conn = c;
	gw_loop_add_timer(c->w->loop, &r->splice_timer, 1, splice_timer_cb, r);
	return false;
}

/* tunnel_step() : bytes both ways after a 101 */
static bool tunnel_step(struct gw_conn *c)
{
	struct gw_req *r = c->req;
	bool progress = false;
	ssize_t n;

	BUG_ON(!r); /* as in req_step() */
	if (!r->uc)
		return false;
	if (c->in_hup && !c->in_eof) {
		bool eof = false;

		n = conn_read(c->w, c->fd, &c->in, &eof);
		if (n > 0) {
			gw_splice_note(&r->sp, 0, (size_t)n, 0);
			progress = true;
		}
		c->in_eof = eof;
	}
	if (r->up_hup && !r->up_eof) {
		bool eof = false;

		n = conn_read(c->w, r->uc->fd, &r->uin, &eof);
		if (n > 0) {
			gw_splice_note(&r->sp, 1, (size_t)n, 0);
			progress = true;
		}
		r->up_eof = eof;
	}
	if (c->in.data && b_alloc(c->w, &r->uout) == 0 && body_move(&r->qbody, &c->in, &r->uout))
		progress = true;
	if (r->uin.data && b_alloc(c->w, &c->out) == 0) {
		size_t before = c->out.data;

		if (body_move(&r->rbody, &r->uin, &c->out)) {
			r->bytes_out += c->out.data - before;
			progress = true;
		}
	}
	n = up_write(r->uc, &r->uout);
	if (n < 0) {
		c->state = GW_CS_CLOSING;
		return true;
	}
	if (n > 0) {
		gw_splice_note(&r->sp, 1, 0, (size_t)n);
		progress = true;
	}
	tunnel_splice(c);
	/* half-closes travel once the bytes before them have */
	if (c->in_eof && !c->in.data && !r->uout.data && !c->tunnel_shut_up &&
	    tunnel_fin_ok(c, 0)) {
		shutdown(r->uc->fd, SHUT_WR);
		c->tunnel_shut_up = true;
	}
	if (r->up_eof && !r->uin.data && !c->out.data && !c->tunnel_shut_client &&
	    tunnel_fin_ok(c, 1)) {
		client_shut_wr(c);
		c->tunnel_shut_client = true;
	}
	if (c->tunnel_shut_up && c->tunnel_shut_client) {
		r->resp_done = true;
		c->state = GW_CS_CLOSING;
		return true;
	}
	return progress;
}

static void conn_set_timer(struct gw_conn *c, enum gw_ctimer kind)
{
	struct gw_proxy_opts *o = &c->w->p->opts;
	uint32_t ms;

	if (c->timer_kind == kind)
		return;
	c->timer_kind = kind;
	/* Lazy, as the upstream pool's idle timer: every keep-alive request
	 * goes IDLE -> NONE -> IDLE, and a heap delete plus insert each time
	 * bought nothing. NONE leaves the timer armed (conn_timer_cb() ignores
	 * it); a new deadline later than the armed one keeps the armed one,
	 * which re-arms itself for the rest when it fires. */
	if (kind == GW_CT_NONE)
		return;
	if (kind == GW_CT_LINGER)
		ms = GW_LINGER_MS;
	else if (kind == GW_CT_HEADER || !c->n_requests)
		ms = o->header_timeout_ms;
	else
		ms = o->idle_timeout_ms;
	c->timer_due = gw_loop_now(c->w->loop) + ms;
	if (gw_timer_armed(&c->timer) && c->timer.deadline <= c->timer_due)
		return;
	gw_loop_add_timer(c->w->loop, &c->timer, ms, conn_timer_cb, c);
}

/* head_step() : tries to parse a request head from `in`; true on progress */
static bool head_step(struct gw_conn *c)
{
	struct gw_http_header hdrs[GW_MAX_HEADERS];
	struct gw_http_req hreq;
	struct gw_http_limits lim;
	int n;

	if (!c->in.data)
		return false;
	gw_http_limits_default(&lim);
	lim.max_head = GW_PROXY_BUF_SIZE - 1;
	lim.max_headers = GW_MAX_HEADERS;
	memset(&hreq, 0, sizeof(hreq));
	hreq.headers = hdrs;
	b_realign(&c->in);
	n = gw_http1_parse_request(b_peek(&c->in), c->in.data, &hreq, &lim);
	if (n == -EAGAIN)
		return false;
	conn_set_timer(c, GW_CT_NONE);
	if (n < 0) {
		int st = gw_http1_err_status(hreq.err);

		pr_debug("proxy: %s: bad request: %s", c->peer, gw_http1_strerror(hreq.err));
		gw_stat_add(c->w, requests, 1);
		log_rejected(c, &hreq, st, gw_http1_strerror(hreq.err));
		/* nothing after an invalid head can be trusted: answer and close */
		c->in.data = 0;
		c->in.head = 0;
		local_response(c, st, true, NULL);
		return true;
	}
	start_request(c, &hreq, (size_t)n);
	return true;
}

/* ---- HTTP/2 handoff (h2.c owns everything after it) ---- */

/* conn_h2_handoff() : before the first request, a client that opens with the
 * HTTP/2 preface, or whose TLS ALPN chose h2, is given to h2.c. Returns 1
 * when c is gone (handed over, or freed when h2.c could not take it),
 * -EAGAIN when a partial preface needs more bytes, 0 for HTTP/1.x. */
static int conn_h2_handoff(struct gw_conn *c)
{
	struct gw_worker *w = c->w;
	int r;

	if (c->n_requests || c->req)
		return 0;
	if (c->tls && gw_tls_alpn_h2(c->tls))
		r = 1; /* h2.c checks the preface itself */
	else if (!c->in.data)
		return 0;
	else
		r = gw_h2_detect(b_peek(&c->in), c->in.data);
	if (r <= 0)
		return r;
	gw_loop_del_fd(w->loop, &c->io);
	if (!gw_h2_conn_start(w, c->fd, c->tls, c->laddr, c->lport, c->peer, b_peek(&c->in),
			      c->in.data)) {
		c->fd = -1;
		c->tls = NULL;
	}
	conn_free(c);
	return 1;
}

static void client_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_conn *c = io->data;
	bool may_read = io->want & GW_IO_READ;

	if (events & GW_IO_ERR) {
		/* reset, or both directions shut: nothing can be written any
		 * more, and epoll would keep reporting it. A tunnel may still
		 * have unread client bytes after a plain HUP: tunnel_step()
		 * reads them to EOF without epoll. */
		if (c->state == GW_CS_TUNNEL && !c->tls && !c->in_eof && !c->out.data &&
		    !sock_error(c->fd)) {
			c->in_hup = true;
			gw_loop_del_fd(loop, io);
			conn_update(c);
			return;
		}
		conn_free(c);
		return;
	}

	if (c->tls && !gw_tls_established(c->tls)) {
		/* handshake first; the header/idle timer bounds its time */
		int r = gw_tls_handshake(c->tls);

		if (r == -EAGAIN) {
			gw_loop_mod_fd(loop, io, gw_tls_want(c->tls));
			return;
		}
		if (r < 0) {
			conn_free(c);
			return;
		}
		/* the request may already be buffered */
		events |= GW_IO_READ;
		may_read = true;
	}
	/* TLS: a read may wait for the socket to take a write first */
	if ((events & GW_IO_READ) || (c->tls && (gw_tls_want(c->tls) & GW_IO_WRITE))) {
		ssize_t n = 0;
		bool eof = false;

		/* backpressure: read only when `in` has room (want says so) */
		if (may_read)
			n = client_read(c, &eof);
		if (n > 0)
			gw_steer_cs_read(&c->st, (size_t)n);
		if (n > 0) {
			gw_stat_add(c->w, bytes_in, (uint64_t)n);
			if (c->req) {
				gw_splice_note(&c->req->sp, 0, (size_t)n, 0);
				gw_body_splice_note(&c->req->qbs, (size_t)n);
			}
		}
		if (eof)
			c->in_eof = true;
	}
	conn_update(c);
}

static void conn_task_cb(struct gw_loop *loop, struct gw_task *t)
{
	conn_update(t->data);
}

static void steer_timer_cb(struct gw_loop *loop, struct gw_timer *t)
{
	conn_update(t->data);
}

/* steer_tail() : reads the tail of a kernel response that the kernel handed
 * back to us into out, ahead of anything of ours: GW_STEER_TAIL = bytes
 * read (write them, then ask again), 1 = none yet (try again in a
 * millisecond), -EPIPE = end the connection */
static int steer_tail(struct gw_conn *c)
{
	ssize_t n;

	if (b_alloc(c->w, &c->out))
		return 1;
	if (!b_room(&c->out))
		b_realign(&c->out);
	n = gw_steer_cs_tail(&c->st, b_tail(&c->out), b_room(&c->out), gw_loop_now(c->w->loop));
	if (n < 0)
		return (int)n;
	if (!n) {
		b_release(c->w, &c->out);
		return 1;
	}
	c->out.data += (size_t)n;
	return GW_STEER_TAIL;
}

/* steer_gate() : before the proxy acts on a connection the kernel may
 * share (a request to start, the client's FIN to answer, or, with ending,
 * a close of its own: then the kernel is first stopped from forwarding
 * there), what the kernel forwarded must be out. 0 = go on; 1 = not yet
 * (the steer timer is armed); GW_STEER_TAIL = a handed-back tail went into
 * out (write it, then ask again); < 0 = end the connection */
static int steer_gate(struct gw_conn *c, bool ending)
{
	int sb;

	if (!c->st.on)
		return 0;
	if (ending)
		gw_steer_cs_freeze(&c->st);
	sb = gw_steer_cs_busy(&c->st, gw_loop_now(c->w->loop));
	if (sb == GW_STEER_TAIL)
		sb = steer_tail(c);
	if (sb == 1)
		gw_loop_add_timer(c->w->loop, &c->steer_timer, 1, steer_timer_cb, c);
	return sb;
}

/* conn_tls_pending_cb() : reads what OpenSSL holds decrypted, then goes on */
static void conn_tls_pending_cb(struct gw_loop *loop, struct gw_task *t)
{
	struct gw_conn *c = t->data;
	bool eof = false;
	ssize_t n = client_read(c, &eof);

	if (n > 0)
		gw_stat_add(c->w, bytes_in, (uint64_t)n);
	if (eof)
		c->in_eof = true;
	conn_update(c);
}

static void conn_update(struct gw_conn *c)
{
	struct gw_worker *w = c->w;
	uint32_t want = 0;
	int rounds = 0;
	ssize_t n;

	for (;;) {
		bool progress = false;

		if (++rounds > 64) {
			/* a pipelining client can keep us busy: yield to others */
			gw_loop_defer(w->loop, &c->task, conn_task_cb, c);
			break;
		}
		if (c->out.data) {
			n = client_write(c);
			if (n < 0) {
				conn_free(c);
				return;
			}
			/* the response is out and nothing else is owed: ack at once,
			 * before the client's next request arrives */
			if (n > 0 && !c->out.data && c->state == GW_CS_REQ && c->req &&
			    c->req->resp_done && !c->in.data && !c->req->close_after)
				gw_steer_cs_idle(&c->st);
			if (n > 0) {
				gw_stat_add(w, bytes_out, (uint64_t)n);
				if (c->req)
					gw_splice_note(&c->req->sp, 0, 0, (size_t)n);
				progress = true;
			}
		}
		switch (c->state) {
		case GW_CS_HEAD:
			if (c->out.data)
				break; /* a tail the kernel handed back is going out */
			if (c->draining && !c->in.data) {
				/* ending it ourselves: not before what the kernel
				 * forwarded on it is out */
				int sb = steer_gate(c, true);

				if (sb > 0) {
					progress |= sb == GW_STEER_TAIL;
					break;
				}
				conn_free(c);
				return;
			}
			if (!c->n_requests) {
				int h2 = conn_h2_handoff(c);

				if (h2 > 0)
					return;
				if (h2 == -EAGAIN && !c->in_eof)
					break;
			}
			if (c->in.data || c->in_eof) {
				/* a response the kernel forwarded on this connection
				 * may be in flight: ours (or our FIN) must not
				 * overtake it */
				int sb = steer_gate(c, false);

				if (sb < 0) {
					conn_free(c);
					return;
				}
				if (sb > 0) {
					progress |= sb == GW_STEER_TAIL;
					break;
				}
			}
			progress |= head_step(c);
			if (c->state == GW_CS_HEAD && c->in_eof) {
				conn_free(c);
				return;
			}
			break;
		case GW_CS_REQ:
			progress |= req_step(c);
			if (c->state == GW_CS_REQ && c->req->resp_done && !c->out.data) {
				req_finish(c);
				progress = true;
			}
			break;
		case GW_CS_TUNNEL:
			progress |= tunnel_step(c);
			break;
		case GW_CS_CLOSING:
			req_end(c);
			if (c->out.data)
				break;
			if (c->in_eof) {
				conn_free(c);
				return;
			}
			if (!c->lingering) {
				client_shut_wr(c);
				c->lingering = true;
				conn_set_timer(c, GW_CT_LINGER);
			}
			c->in.data = c->in.head = 0;
			break;
		}
		if (!progress)
			break;
	}

	/* what each side waits for now */
	if (c->out.data)
		want |= GW_IO_WRITE;
	if (!c->in_eof && (c->state != GW_CS_CLOSING || c->lingering) &&
	    (!c->in.area || c->in.data < c->in.size))
		want |= GW_IO_READ;
	if (c->state == GW_CS_REQ && c->req && c->req->qbody.done && c->in.data)
		want &= ~GW_IO_READ; /* pipelined bytes wait their turn */
	if (c->req && c->req->qbs.on)
		want &= ~GW_IO_READ; /* the kernel carries the body: qbody_splice_back() polls */
	if (c->tls) {
		/* decrypted bytes already inside OpenSSL raise no epoll event */
		if ((want & GW_IO_READ) && gw_tls_pending(c->tls))
			gw_loop_defer(w->loop, &c->task, conn_tls_pending_cb, c);
		want |= gw_tls_want(c->tls) & GW_IO_WRITE;
	}
	gw_loop_mod_fd(w->loop, &c->io, want);
	if (c->req && c->req->uc) {
		struct gw_req *r = c->req;
		uint32_t uw = 0;

		if (!r->uc->connected)
			uw |= gw_tls_up_want(r->uc); /* connect, then the TLS handshake */
		else if (r->uout.data)
			uw |= GW_IO_WRITE;
		/* not while the kernel carries the body: body_splice_back() polls */
		if (r->uc->connected && !r->up_eof && (!r->uin.area || r->uin.data < r->uin.size) &&
		    !r->bs.on)
			uw |= GW_IO_READ;
		gw_loop_mod_fd(w->loop, &r->uc->io, uw);
		/* decrypted response bytes inside OpenSSL raise no epoll event */
		if ((uw & GW_IO_READ) && gw_tls_up_pending(r->uc))
			gw_loop_defer(w->loop, &r->uc->task, up_tls_pending_cb, c);
	}
	if (c->state == GW_CS_HEAD) {
		conn_set_timer(c, c->in.data ? GW_CT_HEADER : GW_CT_IDLE);
		b_release(w, &c->in);
		/* everything read is answered: the kernel may forward again */
		if (!c->in.data && !c->out.data)
			gw_steer_cs_idle(&c->st);
	} else if (!c->lingering) {
		conn_set_timer(c, GW_CT_NONE);
	}
	b_release(w, &c->out);
	if (c->state == GW_CS_REQ)
		req_arm(c);
}

/* shed_idle() : at the connection cap, closes one connection that is only
 * waiting (no request in progress, nothing buffered either way: a
 * keep-alive client between requests, or one that connected and sent
 * nothing) so that a new client can be served; false when every
 * connection is busy. The most recent idle one is found first: with a
 * flood of idle connections that is O(1) (nginx does the same when
 * worker_connections run out). A connection whose request is still in the
 * kernel's buffer (accepted, not read yet) is not idle. */
static bool shed_idle(struct gw_worker *w)
{
	for (struct gw_conn *c = w->conns; c; c = c->next) {
		int pending = 0;

		if (c->state == GW_CS_HEAD && c->timer_kind == GW_CT_IDLE && !c->in.data &&
		    !c->out.data && !c->lingering && !c->req && !gw_steer_cs_active(&c->st) &&
		    ioctl(c->fd, FIONREAD, &pending) == 0 && !pending) {
			gw_stat_add(w, conns_shed, 1);
			conn_free(c);
			return true;
		}
	}
	return false;
}

void gw_conn_accept(struct gw_worker *w, struct gw_listener *l, int fd,
		    const struct sockaddr_storage *peer)
{
	struct gw_conn *c;
	int one = 1;

	if (w->n_conns >= w->p->opts.max_conns && !shed_idle(w)) {
		gw_stat_add(w, conns_refused, 1);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	snprintf(c->laddr, sizeof(c->laddr), "%s", l->address);
	c->lport = l->port;
	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer,
			  sizeof(c->peer));
	else if (peer->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer,
			  sizeof(c->peer));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (l->tls) {
		c->tls = gw_tls_conn_new(w->tls, l->address, l->port, fd);
		if (!c->tls) {
			/* no usable certificate on this bind: nothing to offer */
			close(fd);
			free(c);
			return;
		}
	}
	if (gw_loop_add_fd(w->loop, &c->io, fd, GW_IO_READ, client_io, c)) {
		gw_tls_conn_free(c->tls);
		close(fd);
		free(c);
		return;
	}
	/* once nothing can fail: conn_free() is what undoes it */
	if (!l->tls)
		gw_steer_cs_init(&c->st, fd, peer);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	gw_stat_add(w, conns_accepted, 1);
	gw_stat_add(w, conns_active, 1);
	if (w->mw)
		gw_metrics_conn_open(w->mw);
	conn_set_timer(c, GW_CT_IDLE);
}

void gw_conn_drain(struct gw_worker *w, const char *address, uint16_t port)
{
	struct gw_conn *c, *next;

	for (c = w->conns; c; c = next) {
		next = c->next;
		if (address && (c->lport != port || strcmp(c->laddr, address)))
			continue;
		c->draining = true;
		if (c->req)
			c->req->close_after = true;
		if (c->state == GW_CS_HEAD && !c->in.data) {
			if (c->st.on) /* after what the kernel forwarded on it */
				gw_loop_defer(w->loop, &c->task, conn_task_cb, c);
			else
				conn_free(c);
		}
	}
	gw_h2_drain(w, address, port);
}

void gw_conn_drain_soft(struct gw_worker *w)
{
	struct gw_conn *c;

	for (c = w->conns; c; c = c->next) {
		c->draining = true;
		if (c->req)
			c->req->close_after = true;
	}
	gw_h2_drain(w, NULL, 0);
}

/* gw_conn_export_tunnels() : see proxy-int.h. Only a tunnel whose bytes
 * are all the kernel's (paired both ways, nothing buffered here, no end
 * seen) can change hands without a byte lost or reordered: its state is
 * the pair bookkeeping alone. */
size_t gw_conn_export_tunnels(struct gw_worker *w, gw_conn_export_fn fn, void *arg)
{
	struct gw_conn *c, *next;
	size_t n = 0;

	for (c = w->conns; c; c = next) {
		struct gw_req *r = c->req;

		next = c->next;
		if (c->state != GW_CS_TUNNEL || c->tls || !r || !r->uc || !r->sp.paired ||
		    r->sp.user_only[0] || r->sp.user_only[1] || c->in.data || c->out.data ||
		    r->uin.data || r->uout.data || c->in_eof || r->up_eof || c->in_hup ||
		    r->up_hup || c->tunnel_shut_up || c->tunnel_shut_client)
			continue;
		/* publish what userspace forwarded: the kernel owns both ways */
		if (gw_splice_sync(gw_splice_default(), &r->sp, 0) ||
		    gw_splice_sync(gw_splice_default(), &r->sp, 1) ||
		    fn(arg, c->fd, r->uc->fd, &r->sp))
			continue;
		/* forget it: the pair entries and the sockets now belong to the
		 * successor; closing our descriptors closes no socket */
		memset(&r->sp, 0, sizeof(r->sp));
		r->resp_done = true;
		conn_free(c);
		n++;
	}
	return n;
}

void gw_conn_close_all(struct gw_worker *w)
{
	struct gw_conn *c, *cnext;

	gw_mirror_close_all(w);
	/* each conn_free() unlinks only itself: walk with the next pointer saved */
	for (c = w->conns; c; c = cnext) {
		cnext = c->next;
		conn_free(c);
	}
	gw_h2_close_all(w);
	req_arena_cache_free(); /* called in the worker's thread as it ends */
}
