/* proxy/proxy.c - workers, listeners, snapshot handoff, buffer pool, access log.
 *
 * Snapshot handoff without locks: each worker has a `pending` slot. The
 * publisher swaps a new reference into it (dropping one the worker never took)
 * and wakes the worker's eventfd; the worker swaps the slot with NULL in its
 * own thread and becomes the only owner of what it got. So a reference is
 * never dropped while another thread may still be taking one, and requests
 * already running keep the snapshot they started with (gw_ir_get per request).
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/accesslog.h"
#include "gwbpf/ir.h"
#include "gwbpf/l4.h"
#include "gwbpf/log.h"
#include "gwbpf/sock.h"
#include "gwbpf/metrics.h"
#include "gwbpf/loop.h"
#include "gwbpf/proxy.h"
#include "gwbpf/router.h"
#include "gwbpf/tls.h"
#include "gwbpf/upstream.h"

#include "proxy-int.h"

#define GW_BUF_CACHE 256 /* free buffers a worker keeps for reuse */

void gw_proxy_opts_default(struct gw_proxy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->workers = 0;
	o->header_timeout_ms = 10000;
	o->idle_timeout_ms = 60000;
	o->connect_timeout_ms = 5000;
	o->upstream_timeout_ms = 60000;
	o->upstream_idle_ms = 30000;
	o->max_idle_per_endpoint = 64;
	o->max_conns = 65536;
	o->body_idle_timeout_ms = 30000;
	o->body_timeout_ms = 60000;
	o->access_log = NULL;
}

/* ---- per-worker helpers used by conn.c ---- */

char *gw_worker_buf_get(struct gw_worker *w)
{
	if (w->n_free_bufs)
		return w->free_bufs[--w->n_free_bufs];
	return malloc(GW_PROXY_BUF_SIZE);
}

void gw_worker_buf_put(struct gw_worker *w, char *area)
{
	if (!area)
		return;
	if (w->free_bufs && w->n_free_bufs < GW_BUF_CACHE) {
		w->free_bufs[w->n_free_bufs++] = area;
		return;
	}
	free(area);
}

uint64_t gw_worker_rand(struct gw_worker *w)
{
	/* xorshift64*: per worker, no lock, good enough for load balancing */
	uint64_t x = w->rnd;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rnd = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* ---- listeners ---- */

#define GW_ACCEPT_PAUSE_MS 100

static void listener_resume(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_listener *l = t->data;

	gw_loop_mod_fd(loop, &l->io, GW_IO_READ);
}

static void listener_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_listener *l = io->data;
	int i;

	/* bounded batch so one busy listener does not starve the others */
	for (i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* out of descriptors: the listener stays readable, so
				 * stop asking for a while instead of spinning */
				pr_warn("proxy: accept on %s:%u: %s; pausing accepts for %d ms",
					l->address, l->port, strerror(errno), GW_ACCEPT_PAUSE_MS);
				gw_loop_mod_fd(loop, &l->io, 0);
				gw_loop_add_timer(loop, &l->pause, GW_ACCEPT_PAUSE_MS,
						  listener_resume, l);
			}
			break;
		}
		/* TLS/TCP binds (and HTTPS ports shared with TLS listeners) are
		 * served by userspace/l4 */
		if (l->proto == GW_PROTO_TCP || l->proto == GW_PROTO_TLS)
			gw_l4_accept(l->w, l, fd, &peer);
		else
			gw_conn_accept(l->w, l, fd, &peer);
	}
}

static void listener_close(struct gw_worker *w, struct gw_listener *l)
{
	gw_loop_del_timer(w->loop, &l->pause);
	gw_loop_del_fd(w->loop, &l->io);
	gw_l4_udp_close(w, l);
	if (l->fd >= 0)
		close(l->fd);
	gw_stat_add(w, listeners, (uint64_t)-1);
	free(l);
}


/* listener_proto() : who serves a bind's connections: an HTTPS port that
 * also has TLS (passthrough/TLSRoute) listeners is read by userspace/l4
 * first, which hands HTTPS ClientHellos back to conn.c */
static enum gw_proto listener_proto(const struct gw_ir_bind *b)
{
	if (b->proto == GW_PROTO_HTTPS)
		for (size_t i = 0; i < b->n_listeners; i++)
			if (b->listeners[i].proto == GW_PROTO_TLS)
				return GW_PROTO_TLS;
	return b->proto;
}

static void worker_close_listeners(struct gw_worker *w)
{
	pthread_mutex_lock(&w->p->lmu);
	while (w->listeners) {
		struct gw_listener *l = w->listeners;

		w->listeners = l->next;
		listener_close(w, l);
	}
	pthread_mutex_unlock(&w->p->lmu);
}

/* listener_add() : serves fd (a bound socket, ours to own) as a listener of
 * bind b in worker w. 0, or -errno with fd closed. Called with p->lmu held. */
static int listener_add(struct gw_worker *w, const struct gw_ir_bind *b, int fd)
{
	struct gw_listener *l = calloc(1, sizeof(*l));

	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(l->address, sizeof(l->address), "%s", b->address);
	l->port = b->port;
	l->fd = fd;
	l->w = w;
	l->seen = true;
	l->tls = b->proto == GW_PROTO_HTTPS;
	l->proto = listener_proto(b);
	if (gw_loop_add_fd(w->loop, &l->io, fd, GW_IO_READ,
			   l->proto == GW_PROTO_UDP ? gw_l4_udp_io : listener_io, l)) {
		close(fd);
		free(l);
		return -ENOMEM;
	}
	l->next = w->listeners;
	w->listeners = l;
	gw_stat_add(w, listeners, 1);
	return 0;
}

/* worker_adopt() : takes the inherited sockets of bind b that fall to this
 * worker (rank modulo the worker count, so each worker gets its share of
 * the predecessor's per-worker sockets, and all of them are served).
 * Returns how many it serves now. Called with p->lmu held. */
static size_t worker_adopt(struct gw_worker *w, const struct gw_ir_bind *b)
{
	struct gw_proxy *p = w->p;
	struct sockaddr_storage ss;
	socklen_t len;
	int type = b->proto == GW_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	size_t i, n = 0;

	if (!p->n_inh || gw_sock_addr(b->address, b->port, &ss, &len))
		return 0;
	for (i = 0; i < p->n_inh; i++) {
		struct gw_inherited *h = &p->inh[i];
		int fd;

		if (h->type != type || h->rank % p->n_workers != w->id ||
		    h->ss.ss_family != ss.ss_family || memcmp(&h->ss, &ss, len))
			continue;
		fd = atomic_exchange(&h->fd, -1);
		if (fd < 0 || listener_add(w, b, fd))
			continue;
		n++;
	}
	if (n && !w->id)
		pr_info("proxy: adopted %s:%u from the predecessor", b->address, b->port);
	return n;
}

/* worker_apply() : makes the pending snapshot current: opens listeners for
 * new binds, closes those whose bind is gone (their connections drain) */
static void worker_apply(struct gw_worker *w)
{
	struct gw_ir *ir = atomic_exchange(&w->pending, NULL);
	struct gw_listener *l, **pl;
	size_t i;

	if (!ir)
		return;
	if (atomic_load(&w->draining)) {
		gw_ir_put(ir);
		return;
	}
	pthread_mutex_lock(&w->p->lmu);
	for (l = w->listeners; l; l = l->next)
		l->seen = false;
	for (i = 0; i < ir->n_binds; i++) {
		const struct gw_ir_bind *b = &ir->binds[i];
		bool have = false;
		int fd;

		if (!b->address)
			continue;
		/* every match: an adopted bind may have several sockets here */
		for (l = w->listeners; l; l = l->next) {
			if (l->port != b->port || strcmp(l->address, b->address) ||
			    (l->proto == GW_PROTO_UDP) != (b->proto == GW_PROTO_UDP))
				continue;
			l->seen = true;
			l->tls = b->proto == GW_PROTO_HTTPS;
			l->proto = listener_proto(b);
			have = true;
		}
		if (have || worker_adopt(w, b))
			continue;
		/* one socket per worker: the kernel spreads connections (and UDP
		 * clients, each kept on one socket) among them */
		fd = gw_sock_listen(b->address, b->port,
				    b->proto == GW_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM, 4096);
		if (fd < 0) {
			if (!w->id)
				pr_warn("proxy: cannot listen on %s:%u: %s", b->address, b->port,
					strerror(-fd));
			continue;
		}
		if (listener_add(w, b, fd))
			continue;
		if (!w->id)
			pr_info("proxy: listening on %s:%u", b->address, b->port);
	}
	for (pl = &w->listeners; *pl;) {
		l = *pl;
		if (l->seen) {
			pl = &l->next;
			continue;
		}
		*pl = l->next;
		if (!w->id)
			pr_info("proxy: closing listener %s:%u", l->address, l->port);
		gw_conn_drain(w, l->address, l->port);
		listener_close(w, l);
	}
	pthread_mutex_unlock(&w->p->lmu);
	/* contexts of the new snapshot (built once, shared by the workers);
	 * connections in a handshake keep the old ones until it ends */
	gw_tls_snap_put(w->tls);
	w->tls = gw_tls_snap_get(ir);
	if (!w->tls && !w->id)
		pr_warn("proxy: no TLS contexts for snapshot %llu: HTTPS refused",
			(unsigned long long)ir->generation);
	gw_ir_put(w->ir);
	w->ir = ir;
	atomic_store(&w->applied_gen, ir->generation ? ir->generation : 1);
}

static void worker_drain_timeout(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_worker *w = t->data;

	if (w->n_conns)
		pr_info("proxy: worker %u: drain timeout, closing %zu connections", w->id,
			w->n_conns);
	gw_conn_close_all(w);
	gw_l4_close_all(w);
	gw_loop_stop(loop);
}

/* export_one() : a worker's tunnel into the successor's list (under lmu,
 * refused once the caller took the list). 0 or -errno (the worker keeps it) */
static int export_one(void *arg, int fd_client, int fd_up, const struct gw_splice_pair *sp)
{
	struct gw_proxy *p = ((struct gw_worker *)arg)->p;
	struct gw_proxy_stream *s;
	int err = 0;

	pthread_mutex_lock(&p->lmu);
	if (p->exp_closed) {
		err = -EAGAIN;
		goto out;
	}
	if (p->n_exp == p->cap_exp) {
		size_t cap = p->cap_exp ? 2 * p->cap_exp : 16;
		struct gw_proxy_stream *nv = realloc(p->exp, cap * sizeof(*nv));

		if (!nv) {
			err = -ENOMEM;
			goto out;
		}
		p->exp = nv;
		p->cap_exp = cap;
	}
	s = &p->exp[p->n_exp];
	s->fd[0] = fcntl(fd_client, F_DUPFD_CLOEXEC, 3);
	s->fd[1] = fcntl(fd_up, F_DUPFD_CLOEXEC, 3);
	if (s->fd[0] < 0 || s->fd[1] < 0) {
		err = -errno;
		if (s->fd[0] >= 0)
			close(s->fd[0]);
		if (s->fd[1] >= 0)
			close(s->fd[1]);
		goto out;
	}
	s->sp = *sp;
	p->n_exp++;
out:
	pthread_mutex_unlock(&p->lmu);
	return err;
}

static void worker_wake(struct gw_loop *loop, void *data)
{
	struct gw_worker *w = data;

	if (atomic_exchange(&w->export_req, false)) {
		size_t n = gw_conn_export_tunnels(w, export_one, w) +
			   gw_l4_export_streams(w, export_one, w);

		if (n)
			pr_info("proxy: worker %u: %zu spliced streams handed over", w->id, n);
		atomic_fetch_sub(&w->p->exp_pending, 1);
	}

	worker_apply(w);
	if (atomic_load(&w->draining) && !gw_timer_armed(&w->drain_timer)) {
		worker_close_listeners(w);
		if (atomic_load(&w->p->handed_over))
			gw_conn_drain_soft(w);
		else
			gw_conn_drain(w, NULL, 0);
		gw_loop_add_timer(loop, &w->drain_timer, w->drain_ms, worker_drain_timeout, w);
	}
}

static void worker_before_sleep(struct gw_loop *loop, void *data)
{
	struct gw_worker *w = data;

	if (atomic_load(&w->draining) && !w->listeners && !w->n_conns)
		gw_loop_stop(loop);
}

static void *worker_main(void *arg)
{
	struct gw_worker *w = arg;

	gw_loop_set_wake_hook(w->loop, worker_wake, w);
	gw_loop_set_before_sleep(w->loop, worker_before_sleep, w);
	worker_apply(w);
	gw_loop_run(w->loop);
	gw_l4_close_all(w);
	worker_close_listeners(w);
	gw_conn_close_all(w);
	gw_router_thread_cleanup();
	return NULL;
}

/* ---- the proxy ---- */

struct gw_proxy *gw_proxy_new(const struct gw_proxy_opts *opts)
{
	struct gw_proxy *p = calloc(1, sizeof(*p));
	unsigned int i;
	int err = -ENOMEM;

	if (!p)
		goto out;
	p->opts = *opts;
	/* an initializer, not pthread_mutex_init(): nothing to fail, and the
	 * analyzer keeps knowing the rest of *p is zero */
	p->lmu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	if (!p->opts.workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		p->opts.workers = n > 0 ? (unsigned int)n : 1;
	}
	p->alog = gw_access_log_open(opts->access_log);
	if (!p->alog) {
		err = -errno;
		pr_warn("proxy: access log %s: %s", opts->access_log, strerror(errno));
		goto out;
	}
	/* the caller's string may go away: nothing below reads it */
	p->opts.access_log = NULL;
	/* n_workers counts only workers that exist: shutdown and free walk it */
	p->workers = calloc(p->opts.workers, sizeof(*p->workers));
	if (!p->workers)
		goto out;
	p->n_workers = p->opts.workers;
	for (i = 0; i < p->n_workers; i++) {
		struct gw_worker *w = &p->workers[i];

		w->p = p;
		w->id = i;
		w->rnd = 0x9E3779B97F4A7C15ull ^ ((uint64_t)getpid() << 16) ^ (i + 1) ^
			 gw_now_ms();
		w->loop = gw_loop_new();
		if (!w->loop) {
			err = -errno;
			goto out;
		}
		if (p->opts.metrics)
			w->mw = gw_metrics_worker(p->opts.metrics, i);
		w->up = gw_upstream_pool_new(w->loop, p->opts.max_idle_per_endpoint,
					     p->opts.upstream_idle_ms);
		w->free_bufs = calloc(GW_BUF_CACHE, sizeof(*w->free_bufs));
		if (!w->up || !w->free_bufs)
			goto out;
	}
	err = 0;
out:
	if (err) {
		gw_proxy_free(p);
		errno = -err;
		return NULL;
	}
	return p;
}

int gw_proxy_start(struct gw_proxy *p)
{
	unsigned int i;
	int err;

	if (p->started)
		return 0;
	for (i = 0; i < p->n_workers; i++) {
		err = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
		if (err) {
			pr_warn("proxy: cannot start worker %u: %s", i, strerror(err));
			p->started = i > 0;
			return -err;
		}
		p->workers[i].started = true;
	}
	p->started = true;
	return 0;
}

int gw_proxy_publish(struct gw_proxy *p, struct gw_ir *ir)
{
	unsigned int i;
	uint64_t zero = 0;

	if (!p || !ir)
		return -EINVAL;
	for (i = 0; i < p->n_workers; i++) {
		struct gw_worker *w = &p->workers[i];
		struct gw_ir *old = atomic_exchange(&w->pending, gw_ir_get(ir));

		/* the worker never took old: it is ours to drop */
		gw_ir_put(old);
		gw_loop_wake(w->loop);
	}
	atomic_compare_exchange_strong(&p->first_gen, &zero, ir->generation ? ir->generation : 1);
	return 0;
}

bool gw_proxy_ready(struct gw_proxy *p)
{
	uint64_t first = atomic_load(&p->first_gen);
	unsigned int i;

	if (!first || !p->started)
		return false;
	for (i = 0; i < p->n_workers; i++)
		if (atomic_load(&p->workers[i].applied_gen) < first)
			return false;
	return true;
}

void gw_proxy_stats(struct gw_proxy *p, struct gw_proxy_stats *st)
{
	unsigned int i, k;

	memset(st, 0, sizeof(*st));
	st->snapshot_generation = UINT64_MAX;
	for (i = 0; i < p->n_workers; i++) {
		struct gw_worker_stats *s = &p->workers[i].stats;
		uint64_t g = atomic_load(&p->workers[i].applied_gen);

#define LD(f) atomic_load_explicit(&s->f, memory_order_relaxed)
		st->conns_accepted += LD(conns_accepted);
		st->conns_active += LD(conns_active);
		st->requests += LD(requests);
		for (k = 0; k < 6; k++)
			st->responses[k] += LD(responses[k]);
		st->upstream_connects += LD(upstream_connects);
		st->upstream_connect_errors += LD(upstream_connect_errors);
		st->upstream_reused += LD(upstream_reused);
		st->bytes_in += LD(bytes_in);
		st->bytes_out += LD(bytes_out);
		st->listeners += LD(listeners);
		st->body_timeouts += LD(body_timeouts);
		st->conns_shed += LD(conns_shed);
		st->conns_refused += LD(conns_refused);
#undef LD
		if (g < st->snapshot_generation)
			st->snapshot_generation = g;
	}
	if (st->snapshot_generation == UINT64_MAX)
		st->snapshot_generation = 0;
}

void gw_proxy_shutdown(struct gw_proxy *p, uint32_t drain_ms)
{
	unsigned int i;

	if (!p || !p->started || p->stopped)
		return;
	p->stopped = true;
	for (i = 0; i < p->n_workers; i++) {
		struct gw_worker *w = &p->workers[i];

		/* the drain timer must be armed in the worker's own thread: store the
		 * budget, the wake hook does the rest */
		w->drain_ms = drain_ms;
		atomic_store(&w->draining, true);
		gw_loop_wake(w->loop);
	}
	for (i = 0; i < p->n_workers; i++) {
		if (!p->workers[i].started)
			continue;
		pthread_join(p->workers[i].thread, NULL);
		p->workers[i].started = false;
	}
}

void gw_proxy_free(struct gw_proxy *p)
{
	unsigned int i;

	if (!p)
		return;
	gw_proxy_shutdown(p, 0);
	for (i = 0; p->workers && i < p->n_workers; i++) {
		struct gw_worker *w = &p->workers[i];

		gw_ir_put(atomic_exchange(&w->pending, NULL));
		gw_tls_snap_put(w->tls);
		gw_ir_put(w->ir);
		gw_upstream_pool_free(w->up);
		while (w->n_free_bufs)
			free(w->free_bufs[--w->n_free_bufs]);
		free(w->free_bufs);
		gw_loop_free(w->loop);
	}
	free(p->workers);
	gw_proxy_inherit_done(p);
	free(p->inh);
	free(p->exp);
	pthread_mutex_destroy(&p->lmu);
	gw_access_log_close(p->alog);
	free(p);
}

/* ---- graceful restart: sockets from a predecessor, to a successor ---- */

int gw_proxy_inherit(struct gw_proxy *p, const struct gw_proxy_sock *socks, size_t n)
{
	struct gw_inherited *inh;
	size_t i, j;

	if (p->started)
		return -EBUSY;
	inh = calloc(n ? n : 1, sizeof(*inh));
	if (!inh) {
		for (i = 0; i < n; i++)
			close(socks[i].fd);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		socklen_t len;

		inh[i].type = socks[i].type;
		atomic_init(&inh[i].fd, socks[i].fd);
		if (gw_sock_addr(socks[i].address, socks[i].port, &inh[i].ss, &len))
			inh[i].ss.ss_family = AF_UNSPEC; /* never matches a bind */
		for (j = 0; j < i; j++)
			if (inh[j].type == inh[i].type && !strcmp(socks[j].address, socks[i].address) &&
			    socks[j].port == socks[i].port)
				inh[i].rank++;
	}
	/* a second call replaces nothing silently: close what was left */
	gw_proxy_inherit_done(p);
	free(p->inh);
	p->inh = inh;
	p->n_inh = n;
	return 0;
}

size_t gw_proxy_inherit_done(struct gw_proxy *p)
{
	size_t i, taken = 0;

	for (i = 0; i < p->n_inh; i++) {
		int fd = atomic_exchange(&p->inh[i].fd, -1);

		if (fd < 0) {
			taken++;
			continue;
		}
		close(fd);
	}
	return taken;
}

int gw_proxy_listener_fds(struct gw_proxy *p, struct gw_proxy_sock **socks, size_t *n)
{
	struct gw_proxy_sock *v = NULL;
	size_t cnt = 0, k = 0;
	unsigned int i;
	int err = 0;

	pthread_mutex_lock(&p->lmu);
	for (i = 0; i < p->n_workers; i++)
		for (struct gw_listener *l = p->workers[i].listeners; l; l = l->next)
			cnt++;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < p->n_workers; i++) {
		for (struct gw_listener *l = p->workers[i].listeners; l; l = l->next) {
			int fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 3);

			if (fd == -1) {
				err = -errno;
				goto out;
			}
			snprintf(v[k].address, sizeof(v[k].address), "%s", l->address);
			v[k].port = l->port;
			v[k].type = l->proto == GW_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
			v[k].fd = fd;
			k++;
		}
	}
out:
	pthread_mutex_unlock(&p->lmu);
	if (err) {
		while (k)
			close(v[--k].fd);
		free(v);
		return err;
	}
	*socks = v;
	*n = k;
	return 0;
}

int gw_proxy_export_streams(struct gw_proxy *p, uint32_t wait_ms, struct gw_proxy_stream **v,
			    size_t *n)
{
	uint64_t end = gw_now_ms() + wait_ms;
	unsigned int i, started = 0;

	pthread_mutex_lock(&p->lmu);
	p->exp_closed = false;
	p->n_exp = 0;
	pthread_mutex_unlock(&p->lmu);
	for (i = 0; i < p->n_workers; i++)
		started += p->workers[i].started;
	atomic_store(&p->exp_pending, started);
	for (i = 0; i < p->n_workers; i++) {
		if (!p->workers[i].started)
			continue;
		atomic_store(&p->workers[i].export_req, true);
		gw_loop_wake(p->workers[i].loop);
	}
	/* the workers answer within one loop turn; bounded anyway */
	while (atomic_load(&p->exp_pending) && gw_now_ms() < end)
		usleep(1000);
	pthread_mutex_lock(&p->lmu);
	p->exp_closed = true;
	*v = p->exp;
	*n = p->n_exp;
	p->exp = NULL;
	p->n_exp = p->cap_exp = 0;
	pthread_mutex_unlock(&p->lmu);
	if (atomic_load(&p->exp_pending))
		pr_warn("proxy: %u workers did not answer in %u ms; their streams stay and drain",
			atomic_load(&p->exp_pending), wait_ms);
	return 0;
}

void gw_proxy_set_handed_over(struct gw_proxy *p)
{
	atomic_store(&p->handed_over, true);
}
