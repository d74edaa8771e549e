/* gwbpf/l4.h - L4 serving: TLS passthrough and TLS-terminated TLSRoute,
 * TCPRoute and UDPRoute listeners (userspace/l4/, docs/l4.md).
 *
 * The proxy workers own the listening sockets; for a bind whose protocol is
 * TLS, TCP or UDP they hand accepted connections (or readable UDP sockets)
 * to this module, which routes them with the worker's current snapshot and
 * relays bytes until both directions are closed. A connection keeps the
 * decision it was routed with: a reload never touches a running stream.
 *
 * Everything here runs in the worker's own thread; nothing is shared
 * between workers but the relaxed-atomic counters.
 */
#ifndef GWBPF_L4_H
#define GWBPF_L4_H

#include <stdio.h>
#include <sys/socket.h>

#include "gwbpf/api.h"
#include "gwbpf/loop-t.h"

struct gw_worker;
struct gw_listener;

/* limits and timeouts (see docs/l4.md) */
#define GW_L4_HELLO_TIMEOUT_MS 10000  /* accept to complete ClientHello (passthrough) */
#define GW_L4_IDLE_TIMEOUT_MS 3600000 /* TCP/TLS stream with no byte either way */
#define GW_L4_UDP_IDLE_MS 30000	      /* UDP flow with no datagram either way */
#define GW_L4_UDP_MAX_FLOWS 4096      /* UDP flows per worker and listener socket */
#define GW_L4_CONNECT_TRIES 3	      /* endpoints tried before giving up */

/* process-wide counters (relaxed atomics), for /metrics and tests */
struct gw_l4_stats {
	uint64_t accepted;	   /* TCP/TLS connections accepted by L4 listeners */
	uint64_t active;	   /* L4 TCP/TLS connections open now */
	uint64_t relayed;	   /* connections that reached the relay stage */
	uint64_t hello_bad;	   /* passthrough: not a TLS ClientHello (closed) */
	uint64_t hello_truncated;  /* passthrough: EOF before a complete ClientHello */
	uint64_t hello_timeout;	   /* passthrough: no complete ClientHello in time */
	uint64_t no_route;	   /* no route for the SNI (or none attached) */
	uint64_t no_backend;	   /* route without a usable backend / endpoint */
	uint64_t connect_errors;   /* upstream connects that failed */
	uint64_t idle_timeouts;	   /* streams closed for inactivity */
	uint64_t resets;	   /* RST seen on one side, propagated to the other */
	uint64_t bytes_c2u;	   /* client -> upstream, TCP/TLS */
	uint64_t bytes_u2c;	   /* upstream -> client, TCP/TLS */
	uint64_t splice_started;   /* relays handed to the kernel splice */
	uint64_t splice_fallbacks; /* splice refused: userspace relay used */
	uint64_t udp_flows;	   /* UDP flows created */
	uint64_t udp_active;	   /* UDP flows open now */
	uint64_t udp_expired;	   /* UDP flows closed for inactivity */
	uint64_t udp_dropped;	   /* datagrams dropped: no route, flow cap, errors */
	uint64_t udp_c2u;	   /* datagrams client -> upstream */
	uint64_t udp_u2c;	   /* datagrams upstream -> client */
};

/* gw_l4_accept() : takes ownership of the accepted, non-blocking socket fd
 * of TCP/TLS listener l and serves it (routing, upstream connect, relay).
 * Never fails visibly: on any error the connection is closed and counted. */
void gw_l4_accept(struct gw_worker *w, struct gw_listener *l, int fd,
		  const struct sockaddr_storage *peer);

/* gw_l4_udp_io() : the loop callback of a UDP listener socket; io->data is
 * its struct gw_listener */
void gw_l4_udp_io(struct gw_loop *loop, struct gw_io *io, uint32_t events);

/* gw_l4_udp_close() : closes every flow of UDP listener l (before the
 * listener's socket is closed) */
void gw_l4_udp_close(struct gw_worker *w, struct gw_listener *l);

/* gw_l4_close_all() : closes every L4 connection and UDP flow of w
 * (worker exit, drain timeout) */
void gw_l4_close_all(struct gw_worker *w);

/* gw_l4_export_streams() : graceful restart (gwbpf/handoff.h): offers fn
 * each TCP/TLS-passthrough stream of w that the kernel splices both ways
 * with nothing held in userspace; fn returns 0 once it holds its own copies
 * of both fds, and the stream is then forgotten here without being touched
 * (no unpair, no FIN). Returns how many were taken. Worker thread only. */
struct gw_splice_pair;
typedef int (*gw_l4_export_fn)(void *arg, int fd_client, int fd_up,
			       const struct gw_splice_pair *sp);
size_t gw_l4_export_streams(struct gw_worker *w, gw_l4_export_fn fn, void *arg);

/* gw_l4_stats() : fills *st with the process-wide counters */
void gw_l4_stats(struct gw_l4_stats *st);

/* gw_l4_metrics_print() : the counters as Prometheus text families
 * (gwbpf_l4_*) into f */
void gw_l4_metrics_print(FILE *f);

#endif
