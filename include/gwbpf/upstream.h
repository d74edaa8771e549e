/* gwbpf/upstream.h - per-worker upstream connection pool and endpoint choice.
 *
 * The pool keeps idle keep-alive connections per endpoint address, watches
 * them (a backend closing one, or sending anything unsolicited, drops it) and
 * expires them after an idle time. Endpoint choice is round-robin among the
 * ready endpoints of a cluster, skipping those already tried for a request.
 * One pool per worker thread: no locks.
 */
#ifndef GWBPF_UPSTREAM_H
#define GWBPF_UPSTREAM_H

#include "gwbpf/api.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/loop-t.h"
#include "gwbpf/upstream-t.h"

/* gw_upstream_pool_new() : borrows loop; NULL + errno */
struct gw_upstream_pool *gw_upstream_pool_new(struct gw_loop *loop, unsigned int max_idle_per_ep,
					      uint32_t idle_ms);
/* gw_upstream_pool_free() : closes every idle connection; accepts NULL */
void gw_upstream_pool_free(struct gw_upstream_pool *pool);

/* gw_upstream_pick() : round-robin choice among the ready endpoints of
 * ir->clusters[cluster] whose bit in *tried is clear (endpoints past 63 are
 * never marked), and marks it. Returns the endpoint index, -ENOENT when the
 * cluster has no ready endpoint at all (503), -EAGAIN when every ready one was
 * tried already (502). Round-robin state is reset when ir->generation changes. */
int gw_upstream_pick(struct gw_upstream_pool *pool, const struct gw_ir *ir, int32_t cluster,
		     uint64_t *tried);

/* gw_upstream_addr() : endpoint address:port into a sockaddr; 0 or -EINVAL */
int gw_upstream_addr(const struct gw_ir_endpoint *ep, struct sockaddr_storage *ss,
		     socklen_t *len);

/* gw_upstream_get() : an idle pooled connection to addr (marked reused), or a
 * new one whose non-blocking connect has started (connected false). The
 * caller owns it and registers its io with gw_loop_add_fd() before the loop
 * runs again (a pooled one is still registered to the pool's callback, and
 * gw_loop_add_fd() takes it over). NULL + errno when socket()/connect()
 * fail at once. */
struct gw_upconn *gw_upstream_get(struct gw_upstream_pool *pool, const struct sockaddr_storage *ss,
				  socklen_t len);
/* gw_upstream_take_idle() : the newest idle pooled connection to addr made
 * with settings key (marked reused), or NULL: never connects */
struct gw_upconn *gw_upstream_take_idle(struct gw_upstream_pool *pool,
					const struct sockaddr_storage *ss, socklen_t len,
					uint64_t key);
/* gw_upstream_get_key() : as gw_upstream_get(), but only an idle connection
 * made with the same TLS settings key is reused (0 = plaintext, which is
 * what gw_upstream_get() asks for). tls_upstream.c sets up new ones. */
struct gw_upconn *gw_upstream_get_key(struct gw_upstream_pool *pool,
				      const struct sockaddr_storage *ss, socklen_t len,
				      uint64_t key);
/* gw_upstream_tls_cache() : the pool's slot for tls_upstream.c's per-worker
 * client contexts (freed with the pool) */
struct gw_tls_up_cache **gw_upstream_tls_cache(struct gw_upstream_pool *pool);
/* gw_upstream_release() : the caller is done with uc. reusable: the last
 * response completed cleanly and the connection may carry another; then it is
 * pooled (or closed when the endpoint's pool is full). Otherwise closed.
 * uc->io may still be registered (it is taken over: no epoll_ctl() when the
 * interest is READ already) or removed by the caller. Takes ownership. */
void gw_upstream_release(struct gw_upstream_pool *pool, struct gw_upconn *uc, bool reusable);
/* gw_upstream_close() : closes and frees uc (not pooled); accepts NULL */
void gw_upstream_close(struct gw_upstream_pool *pool, struct gw_upconn *uc);

/* gw_upstream_idle_count() : pooled connections (all endpoints) */
size_t gw_upstream_idle_count(const struct gw_upstream_pool *pool);

#endif
