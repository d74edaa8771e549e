/* proxy/proxy-int.h - what proxy.c (workers, listeners, snapshots), conn.c
 * (the client connection state machine) and the files split from them
 * (mirror.c, h2*.c) share. Not a public header. */
#ifndef GWBPF_PROXY_INT_H
#define GWBPF_PROXY_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "gwbpf/api.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/loop-t.h"
#include "gwbpf/proxy-t.h"
#include "gwbpf/upstream-t.h"

#define GW_ADDR_MAX 64 /* numeric address text, IPv6 included */

struct gw_worker;

/* one listening socket of one worker, for one IR bind (address, port) */
struct gw_listener {
	char address[GW_ADDR_MAX];
	uint16_t port;
	int fd;
	struct gw_io io;
	struct gw_timer pause;     /* accepting paused after EMFILE/ENFILE */
	struct gw_worker *w;
	struct gw_listener *next;
	bool seen; /* scratch: still in the snapshot being applied */
	bool tls;  /* HTTPS bind: connections run a TLS handshake first (tls.c) */
	enum gw_proto proto;     /* TLS, TCP, UDP: served by userspace/l4 (gwbpf/l4.h) */
	struct gw_l4_udp *udp;   /* UDP listener: its flows (l4/udp.c) */
};

/* per-worker counters, read by other threads with relaxed loads */
struct gw_worker_stats {
	_Atomic uint64_t conns_accepted;
	_Atomic uint64_t conns_active;
	_Atomic uint64_t requests;
	_Atomic uint64_t responses[6];
	_Atomic uint64_t upstream_connects;
	_Atomic uint64_t upstream_connect_errors;
	_Atomic uint64_t upstream_reused;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t listeners;
	_Atomic uint64_t body_timeouts;  /* request bodies cut for slowness (408 or close) */
	_Atomic uint64_t conns_shed;     /* idle connections closed at the connection cap */
	_Atomic uint64_t conns_refused;  /* accepted then closed: at the cap, nothing idle */
};

#define gw_stat_add(w, field, n) atomic_fetch_add_explicit(&(w)->stats.field, (n), memory_order_relaxed)

struct gw_conn;
struct gw_tls_snap;

struct gw_worker {
	struct gw_proxy *p;
	unsigned int id;
	pthread_t thread;
	bool started;
	struct gw_loop *loop;
	struct gw_ir *_Atomic pending; /* snapshot handed over, not yet applied */
	struct gw_ir *ir;              /* snapshot new requests use (owned reference) */
	struct gw_tls_snap *tls;       /* TLS contexts of ir (owned reference; tls.h) */
	_Atomic uint64_t applied_gen;  /* generation of ir; 0 = none yet */
	struct gw_listener *listeners;
	struct gw_conn *conns;         /* every client connection, for draining */
	struct gw_mirror *mirrors;     /* mirrored requests in flight */
	struct gw_l4_conn *l4_conns;   /* TCP/TLS streams of L4 listeners (l4/l4.c) */
	size_t n_conns;
	struct gw_upstream_pool *up;
	struct gw_metrics_worker *mw;  /* this worker's metrics shard, or NULL */
	char **free_bufs;              /* buffer pool: free GW_PROXY_BUF_SIZE areas */
	size_t n_free_bufs;
	uint64_t rnd;                  /* xorshift64* state */
	_Atomic bool draining;         /* shutdown asked: close idle, no new accepts */
	struct gw_timer drain_timer;
	uint32_t drain_ms;             /* set before draining is */
	_Atomic bool export_req;       /* hand spliced tunnels over (gw_proxy_export_streams) */
	struct gw_worker_stats stats;
};

/* a listening socket inherited from a predecessor (gw_proxy_inherit()) */
struct gw_inherited {
	struct sockaddr_storage ss; /* what it is bound to (family, address, port) */
	int type;                   /* SOCK_STREAM, SOCK_DGRAM */
	unsigned int rank;          /* index among inherited sockets of the same bind */
	_Atomic int fd;             /* -1 once a worker took it (or it was closed) */
};

struct gw_proxy {
	struct gw_proxy_opts opts;
	struct gw_access_log *alog;
	struct gw_worker *workers;
	unsigned int n_workers;
	bool started;
	bool stopped;
	_Atomic uint64_t first_gen; /* generation of the first published snapshot */
	/* listener lists change in their worker only; this lock lets the main
	 * thread walk them for a successor (never taken on the request path) */
	pthread_mutex_t lmu;
	struct gw_inherited *inh;   /* from a predecessor, until gw_proxy_inherit_done() */
	size_t n_inh;
	_Atomic bool handed_over;   /* listeners belong to a successor: drain softly */
	/* streams for a successor, appended by the workers under lmu */
	struct gw_proxy_stream *exp;
	size_t n_exp, cap_exp;
	bool exp_closed;            /* the caller took the list: workers add nothing */
	_Atomic unsigned int exp_pending; /* workers yet to answer */
};

/* conn.c */
void gw_conn_accept(struct gw_worker *w, struct gw_listener *l, int fd,
		    const struct sockaddr_storage *peer);
/* gw_conn_drain_listener() : connections accepted on (address, port) stop
 * being kept alive; idle ones are closed now. address NULL = all. */
void gw_conn_drain(struct gw_worker *w, const char *address, uint16_t port);
void gw_conn_close_all(struct gw_worker *w);
/* gw_conn_drain_soft() : every connection stops being kept alive after its
 * current or next request; idle ones are left open for their next request
 * (a successor serves the listeners: closing them now would race with a
 * request in flight from the client). The drain timer closes the rest. */
void gw_conn_drain_soft(struct gw_worker *w);

/* gw_conn_export_tunnels() : offers fn each WebSocket tunnel spliced both
 * ways with nothing held in userspace (graceful restart: the successor
 * keeps it). fn returns 0 once it holds its own copies of both fds; the
 * connection is then dropped here without touching the stream (no FIN, no
 * unpair). Returns how many were taken. */
struct gw_splice_pair;
typedef int (*gw_conn_export_fn)(void *arg, int fd_client, int fd_up,
				 const struct gw_splice_pair *sp);
size_t gw_conn_export_tunnels(struct gw_worker *w, gw_conn_export_fn fn, void *arg);

/* mirror.c: gw_mirror_start() sends head[0..len) (a complete bodyless request
 * head, copied) to an endpoint of cluster, plaintext clusters only; failures
 * are silent. gw_mirror_close_all() drops every mirror in flight. */
void gw_mirror_start(struct gw_worker *w, const struct gw_ir *ir, int32_t cluster,
		     const char *head, size_t len);
void gw_mirror_close_all(struct gw_worker *w);

/* proxy.c */
char *gw_worker_buf_get(struct gw_worker *w);
void gw_worker_buf_put(struct gw_worker *w, char *area);
uint64_t gw_worker_rand(struct gw_worker *w);

/* gw_retry_status() : true when the retry policy lists this status (its
 * codes, or 500/502/503/504 when it names none); shared by HTTP/1.1 and h2 */
static inline bool gw_retry_status(const struct gw_ir_retry *rt, int status)
{
	size_t i;

	if (!rt->n_codes)
		return status == 500 || status == 502 || status == 503 || status == 504;
	for (i = 0; i < rt->n_codes; i++)
		if (rt->codes[i] == status)
			return true;
	return false;
}

#endif
