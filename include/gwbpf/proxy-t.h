/* gwbpf/proxy-t.h - userspace proxy options, buffers and counters. */
#ifndef GWBPF_PROXY_T_H
#define GWBPF_PROXY_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwbpf/splice-t.h"

/* Every connection buffer has this fixed size and comes from a per-worker
 * pool (haproxy tune.bufsize). A request head must fit in one buffer, so this
 * is also the header size limit (431 beyond). */
#define GW_PROXY_BUF_SIZE 16384

/* A byte buffer: data bytes start at area + head. All-zero means "no
 * buffer" (area NULL); buffers are released to the pool when empty, so an
 * idle keep-alive connection holds none. */
struct gw_buf {
	char *area;  /* NULL = no buffer attached */
	size_t size; /* bytes at area */
	size_t data; /* bytes held */
	size_t head; /* offset of the first byte held */
};

struct gw_proxy_opts {
	unsigned int workers;          /* threads; 0 = number of CPUs */
	uint32_t header_timeout_ms;    /* first byte to end of head; 408 after (default 10 s) */
	uint32_t idle_timeout_ms;      /* keep-alive idle client connection (default 60 s) */
	uint32_t connect_timeout_ms;   /* upstream TCP connect (default 5 s) */
	uint32_t upstream_timeout_ms;  /* upstream silence while a response is due, when the
					  route sets no timeout (default 60 s); 504 */
	uint32_t upstream_idle_ms;     /* pooled upstream connection lifetime (default 30 s) */
	unsigned int max_idle_per_endpoint; /* pooled connections per endpoint and worker (64) */
	unsigned int max_conns;        /* client connections per worker (default 65536) */
	const char *access_log;        /* path, "off", or NULL/"-"/"stderr" = stderr */
	struct gw_metrics *metrics;    /* borrowed registry with >= workers shards, or NULL */
	uint32_t l4_idle_timeout_ms;   /* TCPRoute/TLSRoute stream idle; 0 = default (1 h) */
	uint32_t udp_idle_timeout_ms;  /* UDPRoute flow idle; 0 = default (30 s) */
	uint32_t body_idle_timeout_ms; /* request body: longest gap between bytes; 0 = 30 s; 408 */
	uint32_t body_timeout_ms;      /* request body complete within this of the head; 0 = 60 s */
};

struct gw_metrics;

/* a listening socket with what it listens on: handed between daemons at a
 * graceful restart (gwbpf/handoff.h) */
struct gw_proxy_sock {
	char address[64]; /* numeric IP as the IR bind spells it */
	uint16_t port;
	int type;         /* SOCK_STREAM or SOCK_DGRAM */
	int fd;
};

/* a spliced stream handed between daemons at a graceful restart: its two
 * sockets and the splice bookkeeping of the pair (gwbpf/splice-t.h) */
struct gw_proxy_stream {
	int fd[2];                /* client side, upstream side */
	struct gw_splice_pair sp; /* sp.fd[] are the sender's numbers: use fd[] */
};

/* counters summed over workers (relaxed atomics; for /metrics) */
struct gw_proxy_stats {
	uint64_t conns_accepted;
	uint64_t conns_active;
	uint64_t requests;
	uint64_t responses[6];     /* index = status / 100 (1xx..5xx), [0] = no response */
	uint64_t upstream_connects;
	uint64_t upstream_connect_errors;
	uint64_t upstream_reused;
	uint64_t bytes_in;         /* from clients */
	uint64_t bytes_out;        /* to clients */
	uint64_t snapshot_generation; /* oldest generation any worker serves */
	uint64_t listeners;        /* listening sockets (all workers) */
	uint64_t body_timeouts;    /* request bodies cut for slowness */
	uint64_t conns_shed;       /* idle connections closed at the connection cap */
	uint64_t conns_refused;    /* connections closed at the cap with nothing idle */
};

#endif
