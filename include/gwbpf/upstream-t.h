/* gwbpf/upstream-t.h - upstream (backend) connections and their pool. */
#ifndef GWBPF_UPSTREAM_T_H
#define GWBPF_UPSTREAM_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gwbpf/loop-t.h"

struct gw_upstream_pool;
struct gw_up_bucket;
struct gw_tls_up;

/* one TCP connection to an endpoint; owned by a client connection while in
 * use, by the pool while idle */
struct gw_upconn {
	int fd;
	struct gw_io io;
	struct gw_timer idle_timer;    /* armed while pooled; may stay armed in use (lazy) */
	uint64_t idle_until;           /* pooled: gw_loop_now() ms after which it is closed */
	bool pooled;                   /* in the pool's idle list (io stays registered) */
	struct gw_up_bucket *bucket;   /* the pool's entry for addr, once known (upstream.c) */
	struct sockaddr_storage addr;  /* endpoint: the pool key */
	socklen_t addrlen;
	struct gw_upconn *next, *prev; /* idle list of its endpoint */
	struct gw_upstream_pool *pool;
	uint32_t n_requests;           /* requests sent on this connection */
	bool connected;                /* TCP handshake done (and the TLS one, with tls) */
	bool reused;                   /* taken from the pool for this request */
	uint64_t tls_key;              /* TLS settings it was made with; 0 = plaintext */
	struct gw_tls_up *tls;         /* TLS session (tls_upstream.c), NULL = plaintext */
	struct gw_task task;           /* tls: decrypted bytes epoll will not announce */
};

#endif
