/* proxy/upstream.c - per-worker upstream connection pool and endpoint choice.
 *
 * Idle connections are kept per endpoint address in a small hash table of
 * doubly linked lists, newest first: the most recently used connection is
 * the most likely to still be open on the backend side. Each idle connection
 * stays registered for reading; readiness on an idle connection is either
 * EOF or bytes nobody asked for, and both make it unusable, so it is closed.
 *
 * A connection stays in the epoll set for its whole life: taking it from the
 * pool and giving it back only changes the owner of its struct gw_io (see
 * gw_loop_add_fd()), so a keep-alive request costs no epoll_ctl() for the
 * pool. The idle timer is lazy for the same reason: giving a connection back
 * only moves idle_until; the timer, once armed, stays armed while the
 * connection is in use, and when it fires it closes the connection only if
 * it is pooled and past idle_until, else re-arms for what is left (or not at
 * all when in use: the next release arms it). At most one timer expiry per
 * idle period per connection instead of a heap delete and insert per request.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/sock.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/upstream.h"

#define GW_UP_BUCKETS 256

struct gw_up_bucket {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct gw_upconn *idle; /* newest first */
	unsigned int n_idle;
	struct gw_up_bucket *next;
};

struct gw_upstream_pool {
	struct gw_loop *loop;
	unsigned int max_idle;
	uint32_t idle_ms;
	struct gw_up_bucket *buckets[GW_UP_BUCKETS];
	size_t n_idle;
	uint64_t rr_generation; /* generation the rr array belongs to */
	uint32_t *rr;           /* next endpoint to try, per cluster */
	size_t n_rr;
	struct gw_tls_up_cache *tls_cache; /* tls_upstream.c */
};

struct gw_upstream_pool *gw_upstream_pool_new(struct gw_loop *loop, unsigned int max_idle_per_ep,
					      uint32_t idle_ms)
{
	struct gw_upstream_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->loop = loop;
	pool->max_idle = max_idle_per_ep;
	pool->idle_ms = idle_ms;
	return pool;
}

static void gw_up_unlink(struct gw_up_bucket *b, struct gw_upconn *uc)
{
	if (uc->prev)
		uc->prev->next = uc->next;
	else
		b->idle = uc->next;
	if (uc->next)
		uc->next->prev = uc->prev;
	uc->next = uc->prev = NULL;
	b->n_idle--;
}

void gw_upstream_close(struct gw_upstream_pool *pool, struct gw_upconn *uc)
{
	if (!uc)
		return;
	gw_loop_del_fd(pool->loop, &uc->io);
	gw_loop_del_timer(pool->loop, &uc->idle_timer);
	gw_loop_cancel(pool->loop, &uc->task);
	gw_tls_up_free(uc->tls);
	if (uc->fd >= 0)
		close(uc->fd);
	free(uc);
}

void gw_upstream_pool_free(struct gw_upstream_pool *pool)
{
	size_t i;

	if (!pool)
		return;
	for (i = 0; i < GW_UP_BUCKETS; i++) {
		struct gw_up_bucket *b = pool->buckets[i], *nb;

		for (; b; b = nb) {
			struct gw_upconn *uc, *un;

			nb = b->next;
			/* the bucket goes too: close each idle connection without
			 * unlinking, walking with the next pointer saved */
			for (uc = b->idle; uc; uc = un) {
				un = uc->next;
				gw_upstream_close(pool, uc);
			}
			free(b);
		}
	}
	free(pool->rr);
	gw_tls_up_cache_free(pool->tls_cache);
	free(pool);
}

static uint32_t gw_up_hash(const struct sockaddr_storage *ss, socklen_t len)
{
	const unsigned char *p = (const unsigned char *)ss;
	uint32_t h = 2166136261u;
	socklen_t i;

	if (ss->ss_family == AF_INET) {
		/* every request of the common case: address and port only */
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;

		h = (in4->sin_addr.s_addr ^ ((uint32_t)in4->sin_port << 16)) * 2654435761u;
		return (h >> 16) % GW_UP_BUCKETS;
	}
	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % GW_UP_BUCKETS;
}

static struct gw_up_bucket *gw_up_bucket(struct gw_upstream_pool *pool,
					 const struct sockaddr_storage *ss, socklen_t len,
					 bool create)
{
	uint32_t h = gw_up_hash(ss, len);
	struct gw_up_bucket *b;

	for (b = pool->buckets[h]; b; b = b->next)
		if (b->addrlen == len && !memcmp(&b->addr, ss, len))
			return b;
	if (!create)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	memcpy(&b->addr, ss, len);
	b->addrlen = len;
	b->next = pool->buckets[h];
	pool->buckets[h] = b;
	return b;
}

int gw_upstream_addr(const struct gw_ir_endpoint *ep, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ep->address && inet_pton(AF_INET, ep->address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(ep->port);
		*len = sizeof(*in4);
		return 0;
	}
	if (ep->address && inet_pton(AF_INET6, ep->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(ep->port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

int gw_upstream_pick(struct gw_upstream_pool *pool, const struct gw_ir *ir, int32_t cluster,
		     uint64_t *tried)
{
	const struct gw_ir_cluster *c;
	size_t i, n, start;
	bool any_ready = false;

	if (cluster < 0 || (size_t)cluster >= ir->n_clusters)
		return -ENOENT;
	c = &ir->clusters[cluster];
	n = c->n_endpoints;
	if (pool->rr_generation != ir->generation || pool->n_rr < ir->n_clusters || !pool->rr) {
		uint32_t *rr = calloc(ir->n_clusters ? ir->n_clusters : 1, sizeof(*rr));

		/* without memory, still pick: round-robin just starts at 0 */
		if (rr) {
			free(pool->rr);
			pool->rr = rr;
			pool->n_rr = ir->n_clusters;
			pool->rr_generation = ir->generation;
		}
	}
	start = pool->rr && (size_t)cluster < pool->n_rr ? pool->rr[cluster] : 0;

	for (i = 0; i < n; i++) {
		size_t idx = (start + i) % n;

		if (!c->endpoints[idx].ready)
			continue;
		any_ready = true;
		if (idx < 64 && (*tried & (1ull << idx)))
			continue;
		if (idx < 64)
			*tried |= 1ull << idx;
		if (pool->rr && (size_t)cluster < pool->n_rr)
			pool->rr[cluster] = (uint32_t)((idx + 1) % n);
		return (int)idx;
	}
	return any_ready ? -EAGAIN : -ENOENT;
}

static void gw_up_idle_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_upconn *uc = io->data;

	/* EOF, reset or unsolicited bytes: this connection can carry no request */
	pr_debug("upstream: idle connection fd %d closed by backend", uc->fd);
	gw_up_unlink(uc->bucket, uc);
	uc->pooled = false;
	uc->pool->n_idle--;
	gw_upstream_close(uc->pool, uc);
}

static void gw_up_idle_timer(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_upconn *uc = t->data;
	uint64_t now = gw_loop_now(loop);

	if (!uc->pooled)
		return; /* in use: gw_upstream_release() arms it again */
	if (uc->idle_until > now) {
		/* used since the timer was armed: wait for what is left. Failing
		 * to re-arm (no memory for the heap) closes it, as an expiry. */
		if (!gw_loop_add_timer(loop, t, uc->idle_until - now, gw_up_idle_timer, uc))
			return;
	}
	gw_up_unlink(uc->bucket, uc);
	uc->pooled = false;
	uc->pool->n_idle--;
	gw_upstream_close(uc->pool, uc);
}

struct gw_tls_up_cache **gw_upstream_tls_cache(struct gw_upstream_pool *pool)
{
	return &pool->tls_cache;
}

struct gw_upconn *gw_upstream_get(struct gw_upstream_pool *pool, const struct sockaddr_storage *ss,
				  socklen_t len)
{
	return gw_upstream_get_key(pool, ss, len, 0);
}

struct gw_upconn *gw_upstream_take_idle(struct gw_upstream_pool *pool,
					const struct sockaddr_storage *ss, socklen_t len,
					uint64_t key)
{
	struct gw_up_bucket *b = gw_up_bucket(pool, ss, len, false);
	struct gw_upconn *uc = NULL;

	/* newest first; a connection made with other TLS settings (or none)
	 * never carries this request */
	for (struct gw_upconn *it = b ? b->idle : NULL; it && !uc; it = it->next)
		if (it->tls_key == key)
			uc = it;
	if (uc) {
		/* io stays registered (the caller's gw_loop_add_fd() takes it
		 * over) and the idle timer armed (lazy: see the top) */
		gw_up_unlink(b, uc);
		pool->n_idle--;
		uc->pooled = false;
		uc->reused = true;
	}
	return uc;
}

struct gw_upconn *gw_upstream_get_key(struct gw_upstream_pool *pool,
				      const struct sockaddr_storage *ss, socklen_t len,
				      uint64_t key)
{
	struct gw_upconn *uc = gw_upstream_take_idle(pool, ss, len, key);
	int err;

	if (uc)
		return uc;
	uc = calloc(1, sizeof(*uc));
	if (!uc)
		return NULL;
	uc->pool = pool;
	uc->tls_key = key;
	memcpy(&uc->addr, ss, len);
	uc->addrlen = len;
	uc->fd = gw_sock_connect_nb(ss, len, SOCK_STREAM, &uc->connected);
	if (uc->fd < 0) {
		errno = -uc->fd;
		goto fail;
	}
	return uc;
fail:
	err = errno;
	if (uc->fd >= 0)
		close(uc->fd);
	free(uc);
	errno = err;
	return NULL;
}

void gw_upstream_release(struct gw_upstream_pool *pool, struct gw_upconn *uc, bool reusable)
{
	struct gw_up_bucket *b;

	if (!uc)
		return;
	gw_loop_cancel(pool->loop, &uc->task);
	if (!reusable || !uc->connected || !pool->max_idle)
		goto close;
	b = uc->bucket ? uc->bucket : gw_up_bucket(pool, &uc->addr, uc->addrlen, true);
	if (!b || b->n_idle >= pool->max_idle)
		goto close;
	uc->bucket = b;
	/* still registered (the usual case): only the owner and interest
	 * change, and interest is usually READ already: no syscall */
	if (gw_loop_add_fd(pool->loop, &uc->io, uc->fd, GW_IO_READ, gw_up_idle_io, uc))
		goto close;
	uc->idle_until = gw_loop_now(pool->loop) + pool->idle_ms;
	if (!gw_timer_armed(&uc->idle_timer) &&
	    gw_loop_add_timer(pool->loop, &uc->idle_timer, pool->idle_ms, gw_up_idle_timer, uc))
		goto close;
	uc->pooled = true;
	uc->reused = false;
	uc->prev = NULL;
	uc->next = b->idle;
	if (b->idle)
		b->idle->prev = uc;
	b->idle = uc;
	b->n_idle++;
	pool->n_idle++;
	return;
close:
	gw_upstream_close(pool, uc);
}

size_t gw_upstream_idle_count(const struct gw_upstream_pool *pool)
{
	return pool->n_idle;
}
