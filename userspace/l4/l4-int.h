/* l4/l4-int.h - what the L4 files share: the stream connection (l4.c routes
 * it, relay.c moves its bytes), the route choice, the counters. Not public. */
#ifndef GWBPF_L4_INT_H
#define GWBPF_L4_INT_H

#include <stdatomic.h>
#include <sys/socket.h>

#include "gwbpf/api.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/l4.h"
#include "gwbpf/loop-t.h"
#include "gwbpf/proxy-t.h"
#include "gwbpf/splice-t.h"

struct gw_tls_conn;
struct gw_worker;

enum gw_l4_state {
	GW_L4_HELLO = 0,  /* passthrough: collecting the ClientHello */
	GW_L4_HANDSHAKE,  /* terminate: TLS handshake with the client */
	GW_L4_CONNECTING, /* upstream connect in progress */
	GW_L4_RELAY,	  /* both sides connected: bytes flow */
};

/* one TCP or TLS stream through an L4 listener */
struct gw_l4_conn {
	struct gw_worker *w;
	struct gw_l4_conn *prev, *next; /* the worker's L4 list (for close_all) */
	enum gw_l4_state state;
	enum gw_proto proto; /* TLS (passthrough or terminate) or TCP */
	int cfd, ufd;	     /* client and upstream sockets; -1 = none */
	struct gw_io cio, uio;
	struct gw_timer timer;	      /* hello, handshake, connect or idle deadline */
	struct gw_task task;	      /* re-pump: TLS bytes decrypted but not yet read */
	struct gw_timer fin_timer;    /* splice: re-check the drain before a FIN (1 ms) */
	uint64_t deadline;	      /* hello/handshake: loop ms it must be done by */
	struct sockaddr_storage peer; /* client address (HTTPS hand-off) */
	uint64_t last_active;	      /* loop ms of the last byte moved (idle check) */
	uint64_t tcp_seen;	      /* kernel byte counters at the last idle check */
	struct gw_tls_conn *tls;      /* terminate: client side TLS session, else NULL */
	struct gw_buf c2u, u2c;	      /* one pooled buffer per direction */
	struct gw_ir *ir;	      /* held while routing/connecting (endpoint retries) */
	int32_t cluster;	      /* chosen backend's cluster */
	uint64_t tried;		      /* endpoints tried (gw_upstream_pick) */
	unsigned int n_tries;
	char laddr[64]; /* the listener's bind, for the route lookup */
	uint16_t lport;
	char sni[256];		  /* server name (passthrough or terminate) */
	bool c_eof, u_eof;	  /* FIN (or close_notify) received from that side */
	bool c_shut, u_shut;	  /* FIN sent to that side */
	bool splice_tried;	  /* gw_splice_pair() was called (or cannot apply) */
	struct gw_splice_pair sp; /* kernel splice: side 0 = client, 1 = upstream */
};

/* counters: relaxed atomics, process-wide */
struct gw_l4_counters {
	_Atomic uint64_t accepted, active, relayed, hello_bad, hello_truncated, hello_timeout,
	    no_route, no_backend, connect_errors, idle_timeouts, resets, bytes_c2u, bytes_u2c,
	    splice_started, splice_fallbacks, udp_flows, udp_active, udp_expired, udp_dropped,
	    udp_c2u, udp_u2c;
};

extern struct gw_l4_counters gw_l4_cnt;

#define gw_l4_inc(f, n) atomic_fetch_add_explicit(&gw_l4_cnt.f, (uint64_t)(n), memory_order_relaxed)

/* route.c */

/* gw_l4_find_bind() : the bind of ir serving (address, port) for a stream
 * (udp false) or datagram (udp true) socket; NULL when gone. Borrowed. */
const struct gw_ir_bind *gw_l4_find_bind(const struct gw_ir *ir, const char *address, uint16_t port,
					 bool udp);

/* gw_l4_listener() : the listener of b a server name selects (TLS binds:
 * the first whose hostname matches sni, exact before wildcard before none;
 * TCP/UDP binds: the first). NULL = none. Borrowed from the IR. */
const struct gw_ir_listener *gw_l4_listener(const struct gw_ir_bind *b, const char *sni);

/* gw_l4_listener_route() : the rule of l for sni (the first route hostname
 * matching it; TCP/UDP: the first). NULL = none. Borrowed from the IR. */
const struct gw_ir_action *gw_l4_listener_route(const struct gw_ir_listener *l, const char *sni);

/* gw_l4_route() : the rule a connection with server name sni ("" = none;
 * ignored for TCP/UDP) gets on bind b: the first listener whose hostname
 * matches sni (exact, wildcard longest first, then none), then the first
 * route hostname of it that matches. Borrowed from the IR; NULL = no route. */
const struct gw_ir_action *gw_l4_route(const struct gw_ir_bind *b, const char *sni);

/* gw_l4_pick_cluster() : a backend of a by weight (rnd is a random number);
 * its cluster index, or -ENOENT when no backend may be chosen (all weights
 * zero, or the chosen one is an unresolved reference) */
int gw_l4_pick_cluster(const struct gw_ir_action *a, uint64_t rnd);

/* relay.c */

/* gw_l4_relay_start() : both sockets of c are connected (client side maybe
 * under TLS); c2u may already hold bytes to replay upstream. Hands the pair
 * to the kernel splice when possible, else relays in userspace. */
void gw_l4_relay_start(struct gw_l4_conn *c);

/* gw_l4_relay_io() : loop callback for both sockets once relaying */
void gw_l4_relay_io(struct gw_loop *loop, struct gw_io *io, uint32_t events);

/* gw_l4_conn_close() : closes both sockets, frees c; rst: abort the
 * connections with a RST instead of a FIN */
void gw_l4_conn_close(struct gw_l4_conn *c, bool rst);

#endif
