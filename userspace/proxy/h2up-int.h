/* proxy/h2up-int.h - the per-worker pool of multiplexed h2c upstream
 * connections (h2_upstream.c). Not a public header: h2.c is its user.
 *
 * A stream's owner (an HTTP/2 client stream in h2.c) submits its request
 * with h2up_submit(); the pool puts it on a connection to that endpoint that
 * has a free stream slot (bounded by the peer's SETTINGS_MAX_CONCURRENT_STREAMS
 * and by H2UP_MAX_STREAMS), or opens a new one. Response events come back
 * through struct h2up_ops. Connections that received GOAWAY take no new
 * streams; idle ones close after the proxy's upstream idle time. Each worker
 * has its own pool: no locks.
 */
#ifndef GWBPF_H2UP_INT_H
#define GWBPF_H2UP_INT_H

#include <sys/socket.h>

#include <nghttp2/nghttp2.h>

#include "gwbpf/api.h"

#define H2UP_MAX_STREAMS 100 /* per connection, whatever the peer allows */

struct gw_ir;
struct gw_worker;
struct h2up_conn;

/* what the pool tells a stream's owner. header/frame/data run inside the
 * session's input processing: they must only record (no freeing of the
 * owner). closed and kick run afterwards and may do anything, free included. */
struct h2up_ops {
	/* one response field; trailer: after the response head */
	int (*header)(void *owner, bool trailer, const uint8_t *name, size_t nlen,
		      const uint8_t *value, size_t vlen);
	/* a HEADERS (type NGHTTP2_HEADERS) or DATA frame ended; end: END_STREAM */
	void (*frame)(void *owner, uint8_t type, bool end);
	/* response DATA; give the bytes back with h2up_consume() once taken */
	int (*data)(void *owner, const uint8_t *p, size_t len);
	/* the request body: nghttp2_data_source_read_callback semantics */
	ssize_t (*body)(void *owner, uint8_t *buf, size_t len, uint32_t *flags);
	/* the stream is over and detached: code 0 when it ended cleanly, else
	 * the reset or connection error. retry: the backend did not process it
	 * (connect failed, REFUSED_STREAM, GOAWAY before it): safe elsewhere */
	void (*closed)(void *owner, uint32_t code, bool retry);
	/* events were delivered: the owner moves its own side along */
	void (*kick)(void *owner);
};

/* one stream on a pooled connection; embedded in its owner, all-zero =
 * not attached */
struct h2up_stream {
	struct h2up_conn *c;
	int32_t id;
	void *owner;
	const struct h2up_ops *ops;
	bool touched;  /* got events in the current input: kick the owner */
	bool deferred; /* the body provider waits for h2up_resume() */
	bool closed;   /* closed() is due (pending list) */
	uint32_t code;
	bool retry;
	size_t unconsumed; /* DATA given to the owner, not h2up_consume()d yet */
	/* why its connection failed, when the pool knows better than "it
	 * broke" (upstream_tls_verify, upstream_tls_handshake,
	 * upstream_tls_alpn); kept after closed() until the next submit, so
	 * the owner can name it when no endpoint is left */
	const char *why;
	struct h2up_stream *next, *prev;
};

/* h2up_submit() : starts the request (nv[0..n), copied) to ss on a pooled
 * connection, reusing one with a free slot or connecting a new one. body:
 * ops->body provides a request body. hs (all-zero) is filled and linked;
 * owner is passed back to every op. 0, or -errno when no connection could be
 * started (the caller may try another endpoint). */
int h2up_submit(struct gw_worker *w, const struct sockaddr_storage *ss, socklen_t len,
		const nghttp2_nv *nv, size_t n, bool body, const struct h2up_ops *ops, void *owner,
		struct h2up_stream *hs);
/* h2up_submit_cl() : h2up_submit() for a request to ir->clusters[cluster]:
 * when the cluster has a BackendTLSPolicy (tls), the stream goes on an h2
 * over TLS connection made with its settings (tls_upstream.c; ALPN h2 is
 * required) and :scheme becomes https; else on h2c. -EPROTO when the
 * cluster's policy is unusable (nothing may be sent; answer 502). ir is
 * only read during the call and while a connection it starts handshakes
 * (the owner holds the snapshot that long). ir NULL = h2up_submit(). */
int h2up_submit_cl(struct gw_worker *w, const struct sockaddr_storage *ss, socklen_t len,
		   const struct gw_ir *ir, int32_t cluster, const nghttp2_nv *nv, size_t n,
		   bool body, const struct h2up_ops *ops, void *owner, struct h2up_stream *hs);
/* h2up_consume() : n response bytes left the owner's buffer: window back */
void h2up_consume(struct h2up_stream *hs, size_t n);
/* h2up_resume() : the owner has more request body (or its end) */
void h2up_resume(struct h2up_stream *hs);
/* h2up_submit_trailer() : ends hs's request with trailers (nv[0..n), copied)
 * instead of END_STREAM on its last DATA. Only from inside ops->body, which
 * then returns with NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM.
 * 0, or -ENOTCONN / -ENOMEM (the body then ends as usual, without them). */
int h2up_submit_trailer(struct h2up_stream *hs, const nghttp2_nv *nv, size_t n);
/* h2up_cancel() : the owner is done with hs: RST_STREAM CANCEL when it is
 * still open, detached either way; closed() is not called. Accepts a
 * detached hs. */
void h2up_cancel(struct h2up_stream *hs);
/* h2up_close_all() : closes every pooled connection of w (worker exit);
 * their streams get closed(INTERNAL_ERROR) first */
void h2up_close_all(struct gw_worker *w);
/* h2b_close_all() : frees every HTTP/1.1-to-h2c bridge of w (h2_bridge.c;
 * worker exit, after its client connections are closed) */
void h2b_close_all(struct gw_worker *w);
/* h2up_conn_count() : pooled connections of the calling worker */
size_t h2up_conn_count(void);

#endif
