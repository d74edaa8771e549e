/* gwbpf/h2.h - HTTP/2 downstream connections (nghttp2 does framing, flow
 * control and HPACK; userspace/proxy/h2.c maps streams to upstream HTTP/1.1).
 *
 * A client connection starts in conn.c as HTTP/1.1. Before its first request
 * conn.c asks gw_h2_detect() whether the bytes are the HTTP/2 connection
 * preface (h2c with prior knowledge) or whether TLS ALPN chose "h2"; if so the
 * socket (and its TLS session) is handed to gw_h2_conn_start(), which owns it
 * from then on. Every stream is one request, routed and filtered exactly as
 * an HTTP/1.1 request is: gw_h2_request_view() builds the same struct
 * gw_http_req the HTTP/1.1 parser gives the router. See docs/http2.md.
 *
 * This module has no public structs, so there is no h2-t.h.
 */
#ifndef GWBPF_H2_H
#define GWBPF_H2_H

#include <sys/socket.h>

#include "gwbpf/api.h"
#include "gwbpf/http1-t.h"

struct gw_worker;
struct gw_tls_conn;

/* RFC 9113 3.4: what a client with prior knowledge sends first */
#define GW_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define GW_H2_PREFACE_LEN 24

/* limits advertised in SETTINGS and enforced per connection */
#define GW_H2_MAX_STREAMS 100	    /* SETTINGS_MAX_CONCURRENT_STREAMS */
#define GW_H2_MAX_HEADER_LIST 16384 /* SETTINGS_MAX_HEADER_LIST_SIZE, RFC 7541 bytes */
#define GW_H2_MAX_HEADERS 100	    /* header fields per request (as HTTP/1.1) */
/* rapid reset (CVE-2023-44487): a connection whose client has cancelled more
 * than this many streams, and more than half of all it opened, gets GOAWAY
 * ENHANCE_YOUR_CALM and is closed */
#define GW_H2_MAX_RESETS 100
/* more abuse that closes a connection with GOAWAY ENHANCE_YOUR_CALM: */
#define GW_H2_MAX_REFUSED 100	  /* streams refused over MAX_CONCURRENT_STREAMS */
#define GW_H2_MAX_TOO_BIG 20	  /* requests answered 431 (header limits) */
#define GW_H2_CTL_WINDOW_MS 10000 /* SETTINGS and PING are counted per 10 s window */
#define GW_H2_MAX_SETTINGS 100	  /* SETTINGS frames (not ACKs) per window */
#define GW_H2_MAX_PINGS                                                                            \
	500			  /* PING frames (not ACKs) per window; below the 1000             \
				     queued ACKs at which nghttp2 gives up by itself,              \
				     so ours trips first and the GOAWAY says why */
#define GW_H2_MAX_CONTINUATIONS 8 /* CONTINUATION frames after one HEADERS */

/* why a connection was closed for abuse: gwbpf_h2_abuse_total{reason} */
enum gw_h2_abuse {
	GW_H2_ABUSE_RAPID_RESET,     /* CVE-2023-44487 */
	GW_H2_ABUSE_REFUSED_STREAMS, /* kept opening streams over the limit */
	GW_H2_ABUSE_HEADER_LIST,     /* kept sending header lists over the limit */
	GW_H2_ABUSE_CONTINUATION,    /* CONTINUATION flood (CVE-2024-28182) */
	GW_H2_ABUSE_SETTINGS,	     /* SETTINGS flood */
	GW_H2_ABUSE_PING,	     /* PING flood */
	GW_H2_ABUSE_OUTBOUND,	     /* ACKs piled up unread (nghttp2 "flooded") */
	GW_H2_ABUSE_PROTOCOL,	     /* any other connection error from the client */
	GW_H2_ABUSE_MAX,
};

/* gw_h2_detect() : looks at the first len bytes a client sent. Returns 1
 * when they start with the HTTP/2 preface, -EAGAIN when they are a strict
 * prefix of it (wait for more), 0 otherwise (HTTP/1.x). */
int gw_h2_detect(const char *data, size_t len);

/* gw_h2_request_view() : builds the HTTP/1.1-shaped view of an HTTP/2
 * request from its decoded header fields (pseudo-headers included, in
 * received order; fields[] is borrowed and must outlive req). method =
 * :method, target = :path, split into path and query at the first '?', host
 * = :authority, else the host field; the other fields go to hdrs[0..max)
 * (pseudo-headers left out), version_minor 1, fr.content_length from
 * content-length (-1 when absent). Returns 0, -EBADMSG when the request
 * cannot be routed (no :method, no :path or one not starting with '/', no
 * authority at all, a bad content-length, CONNECT), -E2BIG above max fields. */
int gw_h2_request_view(const struct gw_http_header *fields, size_t n, struct gw_http_req *req,
		       struct gw_http_header *hdrs, size_t max);

/* gw_h2_conn_start() : serves the connection fd (accepted on laddr:lport
 * from peer) as HTTP/2. data[0..len) are bytes already read from the client
 * (the preface included, after TLS decryption). Takes ownership of fd and
 * tls (NULL = cleartext) on success only: 0, or -ENOMEM / -errno, in which
 * case the caller still owns and closes them. The caller must have stopped
 * watching fd in the loop. Worker thread only. */
int gw_h2_conn_start(struct gw_worker *w, int fd, struct gw_tls_conn *tls, const char *laddr,
		     uint16_t lport, const char *peer, const char *data, size_t len);

/* gw_h2_drain() : HTTP/2 connections of w accepted on (address, port)
 * (address NULL = all) get GOAWAY: streams in flight finish, no new ones
 * start, and the connection closes when the last one ends. */
void gw_h2_drain(struct gw_worker *w, const char *address, uint16_t port);

/* gw_h2_close_all() : closes every HTTP/2 connection of w at once */
void gw_h2_close_all(struct gw_worker *w);

/* HTTP/1.1 requests to h2c backends (h2_bridge.c): conn.c gets an upstream
 * "connection" that is one end of a socketpair; the other end turns its
 * HTTP/1.1 requests into streams on the worker's pooled h2c connections.
 * Idle bridge sockets are pooled like TCP ones, under this settings key. */
#define GW_H2_BRIDGE_KEY 0x6832632d62726467ULL /* "h2c-brdg" */

struct gw_ir;
struct gw_upconn;
struct sockaddr_storage;

/* gw_h2_bridge_get() : an upstream connection (connected) that carries
 * HTTP/1.1 to the h2c endpoint ss: an idle pooled one, else a new bridge.
 * The caller owns it as any gw_upconn (gw_upstream_release/close). NULL +
 * errno. Worker thread only. */
struct gw_upconn *gw_h2_bridge_get(struct gw_worker *w, const struct sockaddr_storage *ss,
				   socklen_t len);

/* gw_h2_bridge_get_tls() : gw_h2_bridge_get() for a request to
 * ir->clusters[cluster]: when the cluster has a BackendTLSPolicy, the
 * bridge's streams go over h2 on TLS with its settings (ALPN h2 required)
 * and the socket is pooled under a key of them. ir must stay valid while
 * the request is written (the caller's snapshot). NULL + errno EPROTO when
 * the policy is unusable (nothing may be sent: answer 502). ir NULL =
 * gw_h2_bridge_get(). */
struct gw_upconn *gw_h2_bridge_get_tls(struct gw_worker *w, const struct sockaddr_storage *ss,
				       socklen_t len, const struct gw_ir *ir, int32_t cluster);

/* gw_h2_abuse_total() : connections closed for reason r so far (all workers) */
uint64_t gw_h2_abuse_total(enum gw_h2_abuse r);

/* gw_h2_metrics_render() : a gw_metrics_hook_fn appending
 * gwbpf_h2_abuse_total{reason="..."} (arg unused). Bytes written or -ENOSPC. */
int gw_h2_metrics_render(void *arg, char *buf, size_t cap);

#endif
