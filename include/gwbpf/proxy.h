/* gwbpf/proxy.h - the userspace HTTP/1.1 proxy: workers, listeners, snapshots.
 *
 * One gw_proxy owns N worker threads, each with its own epoll loop, its own
 * SO_REUSEPORT listening socket per IR bind, its own buffer pool and upstream
 * connection pool: nothing is shared on the request path. A new snapshot is
 * handed to each worker through an atomic pointer slot plus an eventfd wake;
 * each request keeps a reference to the snapshot it started with.
 */
#ifndef GWBPF_PROXY_H
#define GWBPF_PROXY_H

#include "gwbpf/api.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/proxy-t.h"

struct gw_proxy;

/* gw_proxy_opts_default() : fills the documented defaults */
void gw_proxy_opts_default(struct gw_proxy_opts *o);

/* gw_proxy_new() : copies opts (access_log string included) and opens the
 * access log. Threads start with gw_proxy_start(). NULL + errno. */
struct gw_proxy *gw_proxy_new(const struct gw_proxy_opts *opts);
/* gw_proxy_start() : starts the workers; 0 or -errno */
int gw_proxy_start(struct gw_proxy *p);
/* gw_proxy_publish() : hands ir to every worker (takes its own references;
 * the caller keeps its own). Workers open and close listeners to match its
 * binds. 0 or -EINVAL (p not started). */
int gw_proxy_publish(struct gw_proxy *p, struct gw_ir *ir);
/* gw_proxy_ready() : true once every worker serves a published snapshot */
bool gw_proxy_ready(struct gw_proxy *p);
/* gw_proxy_stats() : sums the workers' counters into *st */
void gw_proxy_stats(struct gw_proxy *p, struct gw_proxy_stats *st);
/* gw_proxy_shutdown() : closes every listener, closes idle connections, lets
 * in-flight requests finish for at most drain_ms, then stops and joins the
 * workers. Idempotent. */
void gw_proxy_shutdown(struct gw_proxy *p, uint32_t drain_ms);
/* gw_proxy_inherit() : before gw_proxy_start(): listening sockets handed
 * over by a predecessor (gwbpf/handoff.h). Takes ownership of every fd in
 * socks[0..n) (the array stays the caller's). A worker that needs a
 * listener for a bind takes matching ones (same address, port, type) instead
 * of binding, so the accept queues are kept. 0, -EBUSY (started), -ENOMEM. */
int gw_proxy_inherit(struct gw_proxy *p, const struct gw_proxy_sock *socks, size_t n);
/* gw_proxy_inherit_done() : closes the inherited sockets no worker took (no
 * bind of ours matches them); call once gw_proxy_ready(). Returns how many
 * were taken. */
size_t gw_proxy_inherit_done(struct gw_proxy *p);
/* gw_proxy_listener_fds() : dup()s of every listening socket of every
 * worker, for a successor. *socks is malloc'd, the caller closes the fds and
 * frees it. 0 or -errno. */
int gw_proxy_listener_fds(struct gw_proxy *p, struct gw_proxy_sock **socks, size_t *n);
/* gw_proxy_export_streams() : asks every worker for its WebSocket tunnels
 * that the kernel splices both ways with nothing held in userspace, and
 * waits for the answers (at most wait_ms). Each one is handed over: *v
 * (malloc'd, caller frees) holds dups of its fds (caller owns them) and its
 * pair state, and the worker forgot the connection without touching the
 * stream. Everything else stays and drains. 0 or -ENOMEM. */
int gw_proxy_export_streams(struct gw_proxy *p, uint32_t wait_ms, struct gw_proxy_stream **v,
			    size_t *n);
/* gw_proxy_set_handed_over() : the listening sockets now belong to a
 * successor. The next gw_proxy_shutdown() drains softly: idle keep-alive
 * connections stay open until their next request (answered with
 * "Connection: close") or the drain timeout, instead of being closed at
 * once, which would race with a request the client is sending. */
void gw_proxy_set_handed_over(struct gw_proxy *p);
/* gw_proxy_free() : shuts down (drain 0) if needed; accepts NULL */
void gw_proxy_free(struct gw_proxy *p);

#endif
