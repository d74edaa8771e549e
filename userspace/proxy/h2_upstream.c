/* proxy/h2_upstream.c - per-worker pool of multiplexed HTTP/2 connections to
 * backends: Service ports with appProtocol kubernetes.io/h2c and GRPCRoute
 * backends. See h2up-int.h for the contract. In clear they speak h2c with
 * prior knowledge; under a BackendTLSPolicy, h2 over TLS (tls_upstream.c:
 * the same verification as HTTP/1.1 connections, ALPN offering only "h2"),
 * and a backend that does not select h2 fails the connection.
 *
 * One nghttp2 client session per TCP connection, many streams on it: a
 * stream goes to the first connection to its endpoint that has not received
 * GOAWAY and has a free slot (the peer's SETTINGS_MAX_CONCURRENT_STREAMS,
 * capped at H2UP_MAX_STREAMS), else to a new connection. A connection
 * without streams is kept for the proxy's upstream idle time, then closed
 * with GOAWAY. The socket itself comes from the HTTP/1.1 pool's connect
 * (gw_upstream_get) and is closed with gw_upstream_close, so both kinds of
 * upstream connection are counted alike.
 *
 * Flow control: every stream window is GW_PROXY_BUF_SIZE and response DATA
 * is acknowledged only when the owner took it (h2up_consume), so a slow
 * client holds at most one buffer per stream; the connection window is
 * large (16 MiB) so one slow stream cannot stall the others.
 *
 * Re-entrancy: owners are told about header fields, frames and data while
 * nghttp2 parses input; those calls only record. Stream ends (closed) and
 * the owners' own work (kick) run after the input was processed, from a
 * pending list, because an owner may free itself or start another request.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/upstream.h"

#include "h2up-int.h"
#include "proxy-int.h"

#define H2UP_READ_CHUNK 16384
#define H2UP_CONN_WINDOW (16 << 20)
#define H2UP_TLS_READS 16     /* TLS records read per event before yielding */
#define H2UP_MAX_NV 128	      /* request fields copied to set :scheme https */
#define H2UP_SEND_BUF 16384   /* frames per send (over TLS: one full record) */

struct h2up_conn {
	struct gw_worker *w;
	struct gw_upconn *uc; /* socket, io and endpoint address */
	nghttp2_session *s;
	const uint8_t *wp; /* gathered bytes (in tbuf) not written yet */
	size_t wlen;
	uint8_t *tbuf;	   /* frames gathered for one send (H2UP_SEND_BUF) */
	const uint8_t *tp; /* mem_send output not gathered yet */
	size_t tlen;
	struct gw_timer idle;
	struct gw_task tls_more; /* decrypted bytes epoll will not announce */
	uint64_t key;		 /* TLS settings (gw_tls_up_key); 0 = h2c in clear */
	const char *why;	 /* why the connection failed, for the streams' logs */
	struct h2up_stream *streams; /* attached */
	struct h2up_stream *pending; /* closed, closed() not called yet */
	uint32_t n_active;
	bool goaway;   /* the peer said GOAWAY, or we are closing: no new streams */
	bool settings; /* the peer's SETTINGS arrived: its stream limit is known */
	uint32_t hint; /* until then: the limit another connection to it learned */
	bool dead;     /* the socket broke: fail every stream, then free */
	bool in_io;    /* inside h2up_io: do not free from elsewhere */
	struct h2up_conn *next, *prev;
};

/* every worker thread owns its connections: no lock */
static __thread struct h2up_conn *h2up_conns;

static void h2up_io(struct gw_loop *loop, struct gw_io *io, uint32_t events);
static void conn_update(struct h2up_conn *c);
static void tls_more_cb(struct gw_loop *loop, struct gw_task *t);

static void list_del(struct h2up_stream **head, struct h2up_stream *hs)
{
	if (hs->prev)
		hs->prev->next = hs->next;
	else
		*head = hs->next;
	if (hs->next)
		hs->next->prev = hs->prev;
	hs->next = hs->prev = NULL;
}

static void list_add(struct h2up_stream **head, struct h2up_stream *hs)
{
	hs->prev = NULL;
	hs->next = *head;
	if (*head)
		(*head)->prev = hs;
	*head = hs;
}

/* stream_end() : hs leaves c; closed(code, retry) is queued for after the
 * input processing */
/* credit() : the connection window gets back the DATA bytes hs was given
 * and its owner did not consume yet. Once a stream is closed,
 * nghttp2_session_consume() no longer counts for the connection, so every
 * stream's last bytes would be lost and a pooled connection would stall for
 * good after its window (16 MiB) of answers. */
static void credit(struct h2up_conn *c, struct h2up_stream *hs)
{
	if (hs->unconsumed && !c->dead)
		nghttp2_session_consume_connection(c->s, hs->unconsumed);
	hs->unconsumed = 0;
}

static void stream_end(struct h2up_conn *c, struct h2up_stream *hs, uint32_t code, bool retry)
{
	if (hs->c != c)
		return;
	credit(c, hs);
	list_del(&c->streams, hs);
	c->n_active--;
	if (hs->id > 0)
		nghttp2_session_set_stream_user_data(c->s, hs->id, NULL);
	hs->c = NULL;
	hs->closed = true;
	hs->code = code;
	hs->retry = retry;
	if (c->why)
		hs->why = c->why;
	/* the pending list holds it until closed() is delivered; hs->c stays
	 * NULL so the owner sees a detached stream meanwhile */
	list_add(&c->pending, hs);
}

static struct h2up_stream *stream_of(nghttp2_session *s, int32_t id)
{
	return nghttp2_session_get_stream_user_data(s, id);
}

/* ---- nghttp2 callbacks (user = the connection) ---- */

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct h2up_stream *hs = stream_of(s, f->hd.stream_id);

	(void)flags;
	(void)user;
	if (!hs || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	hs->touched = true;
	return hs->ops->header(hs->owner, f->headers.cat == NGHTTP2_HCAT_HEADERS, name, nlen, value,
			       vlen);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct h2up_conn *c = user;
	struct h2up_stream *hs;

	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
		c->settings = true;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		/* streams above last_stream_id are closed by nghttp2 with
		 * REFUSED_STREAM (retried elsewhere); none start here again */
		c->goaway = true;
		return 0;
	}
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	hs = stream_of(s, f->hd.stream_id);
	if (!hs)
		return 0;
	hs->touched = true;
	hs->ops->frame(hs->owner, f->hd.type, f->hd.flags & NGHTTP2_FLAG_END_STREAM);
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct h2up_stream *hs = stream_of(s, id);

	(void)flags;
	(void)user;
	if (!hs) {
		/* a cancelled stream: nobody takes it */
		nghttp2_session_consume(s, id, len);
		return 0;
	}
	hs->touched = true;
	hs->unconsumed += len;
	return hs->ops->data(hs->owner, data, len);
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct h2up_conn *c = user;
	struct h2up_stream *hs = stream_of(s, id);

	if (hs)
		stream_end(c, hs, code, code == NGHTTP2_REFUSED_STREAM);
	return 0;
}

static ssize_t body_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
		       nghttp2_data_source *src, void *user)
{
	struct h2up_stream *hs = src->ptr;
	ssize_t n;

	(void)s;
	(void)id;
	(void)user;
	n = hs->ops->body(hs->owner, buf, len, flags);
	if (n == NGHTTP2_ERR_DEFERRED)
		hs->deferred = true;
	else if (n > 0)
		hs->touched = true; /* the owner freed room (its client's window) */
	return n;
}

/* ---- connections ---- */

static void conn_free(struct h2up_conn *c)
{
	struct gw_worker *w = c->w;

	gw_loop_del_timer(w->loop, &c->idle);
	gw_loop_cancel(w->loop, &c->tls_more);
	if (c->uc) {
		gw_loop_del_fd(w->loop, &c->uc->io);
		gw_upstream_close(w->up, c->uc);
	}
	nghttp2_session_del(c->s);
	free(c->tbuf);
	if (c->prev)
		c->prev->next = c->next;
	else
		h2up_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/* deliver() : closed() for every pending stream, then kick() for every
 * stream that got events; both may change any list, so each round starts
 * over (at most H2UP_MAX_STREAMS streams per connection) */
static void deliver(struct h2up_conn *c)
{
	struct h2up_stream *hs;

	while ((hs = c->pending)) {
		list_del(&c->pending, hs);
		hs->closed = false;
		hs->touched = false;
		hs->ops->closed(hs->owner, hs->code, hs->retry);
		hs->ops->kick(hs->owner);
	}
	for (;;) {
		for (hs = c->streams; hs && !hs->touched; hs = hs->next)
			;
		if (!hs)
			break;
		hs->touched = false;
		hs->ops->kick(hs->owner);
	}
}

/* gather() : collects what nghttp2 has to send into c->tbuf, up to its
 * size: nghttp2 hands out one frame at a time, and a send() (over TLS, a
 * record with its header and MAC too) per frame was the cost that mattered
 * (measured with h2load: h2 over TLS at about 0.7x of h2c with a record per
 * frame, ahead of it once gathered). 0 = nothing to send, >0 bytes
 * gathered, <0 nghttp2 failed. */
static ssize_t gather(struct h2up_conn *c)
{
	size_t len = 0;

	if (!c->tbuf && !(c->tbuf = malloc(H2UP_SEND_BUF)))
		return -ENOMEM;
	while (len < H2UP_SEND_BUF) {
		size_t k;

		if (!c->tlen) {
			ssize_t n = nghttp2_session_mem_send(c->s, &c->tp);

			if (n < 0)
				return n;
			if (!n)
				break;
			c->tlen = (size_t)n;
		}
		/* what does not fit waits in nghttp2's buffer (c->tp stays
		 * valid until the next mem_send) */
		k = GW_MIN(c->tlen, H2UP_SEND_BUF - len);
		memcpy(c->tbuf + len, c->tp, k);
		len += k;
		c->tp += k;
		c->tlen -= k;
	}
	return (ssize_t)len;
}

static bool conn_flush(struct h2up_conn *c)
{
	for (int rounds = 0; c->uc->connected && rounds < 64; rounds++) {
		ssize_t n;

		if (!c->wlen) {
			n = gather(c);
			if (n <= 0)
				return n == 0;
			c->wp = c->tbuf;
			c->wlen = (size_t)n;
		}
		if (c->uc->tls) {
			/* a retry gets the same bytes at the same place, as
			 * SSL_write asks */
			n = gw_tls_up_write(c->uc, c->wp, c->wlen);
			if (n < 0)
				return n == -EAGAIN;
		} else {
			n = send(c->uc->fd, c->wp, c->wlen, MSG_NOSIGNAL);
			if (n == -1)
				return errno == EAGAIN || errno == EINTR;
		}
		c->wp += n;
		c->wlen -= (size_t)n;
	}
	return true;
}

static void idle_cb(struct gw_loop *loop, struct gw_timer *t)
{
	struct h2up_conn *c = t->data;

	(void)loop;
	/* GOAWAY, then close once it is out (conn_update) */
	c->goaway = true;
	nghttp2_session_terminate_session(c->s, NGHTTP2_NO_ERROR);
	conn_update(c);
}

/* conn_fail() : the socket broke: every stream ends (retry when nothing
 * was sent: the connect failed) */
static void conn_fail(struct h2up_conn *c)
{
	bool retry = !c->uc->connected;

	c->dead = true;
	c->goaway = true;
	while (c->streams)
		stream_end(c, c->streams, NGHTTP2_INTERNAL_ERROR, retry);
}

/* conn_update() : flush, recompute interests, arm the idle timer, or free */
static void conn_update(struct h2up_conn *c)
{
	struct gw_worker *w = c->w;
	uint32_t want = 0;

	if (!c->dead && !conn_flush(c))
		conn_fail(c);
	if (c->in_io)
		return; /* h2up_io finishes the job */
	/* a TLS handshake nobody waits for: its settings are borrowed from the
	 * snapshot of the stream that started it (tls_upstream.c), which may go */
	if (!c->dead && c->uc->tls && !c->uc->connected && !c->streams)
		c->dead = true;
	if (c->dead || (c->uc->connected && !nghttp2_session_want_read(c->s) &&
			!nghttp2_session_want_write(c->s) && !c->wlen && !c->tlen)) {
		if (c->streams || c->pending) {
			c->in_io = true;
			conn_fail(c);
			deliver(c);
			c->in_io = false;
		}
		conn_free(c);
		return;
	}
	if (!c->uc->connected)
		want = gw_tls_up_want(c->uc); /* connect, then the TLS handshake */
	else if (c->wlen || c->tlen || nghttp2_session_want_write(c->s))
		want |= GW_IO_WRITE;
	if (c->uc->connected)
		want |= GW_IO_READ;
	if (c->uc->connected && gw_tls_up_pending(c->uc))
		gw_loop_defer(w->loop, &c->tls_more, tls_more_cb, c);
	gw_loop_mod_fd(w->loop, &c->uc->io, want);
	if (!c->n_active && !c->goaway) {
		if (!gw_timer_armed(&c->idle))
			gw_loop_add_timer(w->loop, &c->idle, w->p->opts.upstream_idle_ms, idle_cb,
					  c);
	} else if (c->n_active) {
		gw_loop_del_timer(w->loop, &c->idle);
	}
}

/* tls_handshake() : one step of the TLS handshake of c (TCP is up); the
 * connection counts as connected once the backend verified and chose h2 */
static void tls_handshake(struct h2up_conn *c)
{
	int r = gw_tls_up_handshake(c->uc);

	if (r == -EAGAIN)
		return;
	if (r) {
		c->why = gw_tls_up_verify_failed(c->uc) ? "upstream_tls_verify"
							: "upstream_tls_handshake";
		pr_debug("h2up: TLS to a backend failed (%s)", c->why);
		conn_fail(c);
		return;
	}
	if (!gw_tls_up_alpn_h2(c->uc)) {
		/* RFC 9113 section 3.2: over TLS, h2 only by ALPN; HTTP/1.1
		 * clients are bridged onto this pool too, so nothing may be
		 * spoken on this session */
		c->why = "upstream_tls_alpn";
		pr_debug("h2up: a TLS backend did not select ALPN h2");
		conn_fail(c);
		return;
	}
	c->uc->connected = true;
}

/* conn_read() : feeds the session what arrived; false when it broke */
static bool conn_read(struct h2up_conn *c)
{
	uint8_t buf[H2UP_READ_CHUNK];
	ssize_t n;

	if (!c->uc->tls) {
		n = recv(c->uc->fd, buf, sizeof(buf), 0);
		if (n > 0)
			return nghttp2_session_mem_recv(c->s, buf, (size_t)n) >= 0;
		return n == -1 && (errno == EAGAIN || errno == EINTR);
	}
	/* until OpenSSL would block: decrypted bytes it keeps raise no event;
	 * what is left after H2UP_TLS_READS records waits for tls_more */
	for (int i = 0; i < H2UP_TLS_READS; i++) {
		n = gw_tls_up_read(c->uc, buf, sizeof(buf));
		if (n == -EAGAIN)
			return true;
		if (n <= 0 || nghttp2_session_mem_recv(c->s, buf, (size_t)n) < 0)
			return false;
	}
	return true;
}

static void h2up_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct h2up_conn *c = io->data;

	(void)loop;
	c->in_io = true;
	if (!c->uc->connected && (events & (GW_IO_WRITE | GW_IO_ERR | GW_IO_READ))) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(c->uc->fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1 || err)
			conn_fail(c);
		else if (c->uc->tls)
			tls_handshake(c);
		else if (events & (GW_IO_WRITE | GW_IO_ERR))
			c->uc->connected = true;
	}
	if (!c->dead && c->uc->connected && (events & (GW_IO_READ | GW_IO_ERR)) && !conn_read(c))
		conn_fail(c);
	if (!c->dead && !conn_flush(c))
		conn_fail(c);
	deliver(c);
	c->in_io = false;
	conn_update(c);
}

static void tls_more_cb(struct gw_loop *loop, struct gw_task *t)
{
	struct h2up_conn *c = t->data;

	h2up_io(loop, &c->uc->io, GW_IO_READ);
}

/* conn_new() : a connection to ss for streams to ir->clusters[cluster]
 * (ir NULL: h2c in clear). NULL + errno: EPROTO when the cluster's TLS
 * policy is unusable (nothing may be sent), else as gw_upstream_get(). */
static struct h2up_conn *conn_new(struct gw_worker *w, const struct sockaddr_storage *ss,
				  socklen_t len, const struct gw_ir *ir, int32_t cluster,
				  uint32_t hint)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GW_PROXY_BUF_SIZE},
	};
	struct h2up_conn *c = calloc(1, sizeof(*c));
	int err = -ENOMEM;

	if (!c)
		goto out;
	c->w = w;
	if (ir && ir->clusters[cluster].tls) {
		/* a new connection: the pool keeps no idle ones under an h2
		 * key, and gw_tls_up_get reuses only idle ones */
		c->uc = gw_tls_up_get(w->up, ss, len, ir, cluster);
		c->key = gw_tls_up_key(ir, cluster);
	} else {
		c->uc = gw_upstream_get(w->up, ss, len);
	}
	if (!c->uc) {
		err = -errno;
		goto out;
	}
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto out;
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	/* response DATA is acknowledged once the client took it */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* until the peer's SETTINGS say how many streams it takes, send one and
	 * let nghttp2 hold the others: a peer allowing fewer than we sent would
	 * refuse them, after their bodies were taken from the client */
	nghttp2_option_set_peer_max_concurrent_streams(opt, hint ? hint : 1);
	c->hint = hint;
	if (nghttp2_session_client_new2(&c->s, cb, c, opt))
		goto out;
	if (nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv)) ||
	    nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, H2UP_CONN_WINDOW))
		goto out;
	err = gw_loop_add_fd(w->loop, &c->uc->io, c->uc->fd, gw_tls_up_want(c->uc), h2up_io, c);
	if (err)
		goto out;
	c->next = h2up_conns;
	if (h2up_conns)
		h2up_conns->prev = c;
	h2up_conns = c;
	gw_stat_add(w, upstream_connects, 1);
	err = 0;
out:
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (err && c) {
		if (c->uc)
			gw_upstream_close(w->up, c->uc);
		nghttp2_session_del(c->s);
		free(c);
		c = NULL;
		errno = -err;
	}
	return c;
}

static bool same_dest(const struct h2up_conn *c, const struct sockaddr_storage *ss, socklen_t len,
		      uint64_t key)
{
	return c->key == key && c->uc->addrlen == len && !memcmp(&c->uc->addr, ss, len);
}

/* slots() : streams c may still take. Before the peer's SETTINGS, up to
 * H2UP_MAX_STREAMS queue on it (nghttp2 sends them as the peer allows)
 * rather than opening a connection per request of a first burst. */
static uint32_t slots(const struct h2up_conn *c)
{
	uint32_t max =
	    c->settings
		? nghttp2_session_get_remote_settings(c->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
	    : c->hint ? c->hint
		      : H2UP_MAX_STREAMS;

	max = GW_MIN(max, (uint32_t)H2UP_MAX_STREAMS);
	return c->n_active < max ? max - c->n_active : 0;
}

int h2up_submit(struct gw_worker *w, const struct sockaddr_storage *ss, socklen_t len,
		const nghttp2_nv *nv, size_t n, bool body, const struct h2up_ops *ops, void *owner,
		struct h2up_stream *hs)
{
	return h2up_submit_cl(w, ss, len, NULL, 0, nv, n, body, ops, owner, hs);
}

int h2up_submit_cl(struct gw_worker *w, const struct sockaddr_storage *ss, socklen_t len,
		   const struct gw_ir *ir, int32_t cluster, const nghttp2_nv *nv, size_t n,
		   bool body, const struct h2up_ops *ops, void *owner, struct h2up_stream *hs)
{
	nghttp2_data_provider prd = {.source.ptr = hs, .read_callback = body_cb};
	const struct gw_ir_upstream_tls *t = ir ? ir->clusters[cluster].tls : NULL;
	nghttp2_nv tnv[H2UP_MAX_NV];
	struct h2up_conn *c;
	uint64_t key = t ? gw_tls_up_key(ir, cluster) : 0;
	uint32_t hint = 0;
	int32_t id;

	if (t && t->invalid)
		return -EPROTO; /* BackendTLSPolicy without a usable CA: nothing is sent */
	if (t) {
		/* the owners build their fields for h2c; over TLS the scheme is https */
		if (n > ARRAY_SIZE(tnv))
			return -E2BIG;
		for (size_t i = 0; i < n; i++) {
			tnv[i] = nv[i];
			if (nv[i].namelen == 7 && !memcmp(nv[i].name, ":scheme", 7)) {
				tnv[i].value = (uint8_t *)"https";
				tnv[i].valuelen = 5;
			}
		}
		nv = tnv;
	}
	for (c = h2up_conns; c; c = c->next) {
		if (c->w != w || !same_dest(c, ss, len, key))
			continue;
		if (c->settings)
			hint = nghttp2_session_get_remote_settings(
			    c->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
		if (!c->goaway && !c->dead && slots(c))
			break;
	}
	if (c) {
		gw_stat_add(w, upstream_reused, 1);
	} else {
		/* a peer that spoke on another connection told us its limit */
		c = conn_new(w, ss, len, ir, cluster, GW_MIN(hint, (uint32_t)H2UP_MAX_STREAMS));
		if (!c)
			return -errno;
	}
	memset(hs, 0, sizeof(*hs));
	hs->owner = owner;
	hs->ops = ops;
	id = nghttp2_submit_request(c->s, NULL, nv, n, body ? &prd : NULL, hs);
	if (id < 0) {
		conn_update(c);
		return -EPROTO;
	}
	hs->id = id;
	hs->c = c;
	list_add(&c->streams, hs);
	c->n_active++;
	gw_loop_del_timer(w->loop, &c->idle);
	conn_update(c);
	return 0;
}

void h2up_consume(struct h2up_stream *hs, size_t n)
{
	if (!hs->c || !n)
		return; /* closed: stream_end credited the connection already */
	n = GW_MIN(n, hs->unconsumed);
	hs->unconsumed -= n;
	nghttp2_session_consume(hs->c->s, hs->id, n);
	conn_update(hs->c);
}

void h2up_resume(struct h2up_stream *hs)
{
	if (!hs->c || !hs->deferred)
		return;
	hs->deferred = false;
	nghttp2_session_resume_data(hs->c->s, hs->id);
	conn_update(hs->c);
}

int h2up_submit_trailer(struct h2up_stream *hs, const nghttp2_nv *nv, size_t n)
{
	if (!hs->c || !hs->id)
		return -ENOTCONN;
	return nghttp2_submit_trailer(hs->c->s, hs->id, nv, n) ? -ENOMEM : 0;
}

void h2up_cancel(struct h2up_stream *hs)
{
	struct h2up_conn *c = hs->c;

	if (hs->closed) {
		/* ended, closed() not delivered yet: just forget it */
		struct h2up_conn *pc;

		for (pc = h2up_conns; pc; pc = pc->next) {
			struct h2up_stream *p;

			for (p = pc->pending; p && p != hs; p = p->next)
				;
			if (p) {
				list_del(&pc->pending, hs);
				break;
			}
		}
		hs->closed = false;
		return;
	}
	if (!c)
		return;
	credit(c, hs);
	list_del(&c->streams, hs);
	c->n_active--;
	nghttp2_session_set_stream_user_data(c->s, hs->id, NULL);
	hs->c = NULL;
	if (!c->dead)
		nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, hs->id, NGHTTP2_CANCEL);
	conn_update(c);
}

void h2up_close_all(struct gw_worker *w)
{
	struct h2up_conn *c, *next;

	for (c = h2up_conns; c; c = next) {
		next = c->next;
		if (c->w != w)
			continue;
		c->in_io = true;
		conn_fail(c);
		deliver(c);
		conn_free(c);
	}
}

size_t h2up_conn_count(void)
{
	size_t n = 0;

	for (struct h2up_conn *c = h2up_conns; c; c = c->next)
		n++;
	return n;
}
