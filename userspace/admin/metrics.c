/* admin/metrics.c - Prometheus metrics with per-worker shards.
 *
 * Why shards: a shared counter bounces its cache line between every core on
 * every request, and a lock would serialise the workers. Each worker writes
 * only its own shard (single writer: a relaxed load + store is enough, no
 * atomic read-modify-write), and the scrape, which is rare, pays for the
 * summing. A series slot is filled completely before its "used" flag is
 * published with a release store, so a concurrent scrape never reads a
 * half-written name.
 */
#include "gwbpf/api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "gwbpf/metrics.h"
#include "gwbpf/tls_upstream.h"

#define N_BUCKETS 14
static const uint64_t bucket_us[N_BUCKETS] = { 500,    1000,   2500,    5000,    10000,
					       25000,  50000,  100000,  250000,  500000,
					       1000000, 2500000, 5000000, 10000000 };
static const char *const bucket_le[N_BUCKETS] = { "0.0005", "0.001", "0.0025", "0.005", "0.01",
						  "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
						  "1",      "2.5",   "5",      "10" };
#define N_CLASSES 6 /* index status / 100; 0 = no response or out of range */
#define MAX_HOOKS 16

struct series {
	uint32_t used; /* published with release; 0 = free slot */
	uint32_t hash;
	char listener[GW_METRICS_NAME_MAX];
	char route[GW_METRICS_NAME_MAX];
	uint64_t codes[N_CLASSES];
	uint64_t bytes_in;  /* request bytes read from clients (head and body) */
	uint64_t bytes_out; /* response bytes written to clients */
};

struct gw_metrics_worker {
	struct series *series;  /* GW_METRICS_MAX_SERIES slots, open addressing */
	uint32_t n_used;        /* writer only */
	struct series other;    /* when the table is full */
	uint64_t buckets[N_BUCKETS + 1]; /* per bucket (not cumulative); last = +Inf */
	uint64_t dur_sum_us;
	uint64_t connect_failures;
	uint64_t timeouts;
	int64_t open_conns;
} __attribute__((aligned(64)));

struct hook {
	gw_metrics_hook_fn fn;
	void *arg;
};

struct gw_metrics {
	unsigned int n_workers;
	struct gw_metrics_worker *workers;
	uint64_t reload_ok, reload_fail; /* atomic */
	int last_reload;                 /* atomic: -1 none yet, 0 failed, 1 ok */
	pthread_mutex_t hook_lock;
	struct hook hooks[MAX_HOOKS];
	size_t n_hooks;
};

/* single-writer increment: readers on other threads see whole values */
#define BUMP(x, v) __atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (v), \
				    __ATOMIC_RELAXED)
#define READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct gw_metrics *gw_metrics_new(unsigned int n_workers)
{
	struct gw_metrics *m;

	if (!n_workers) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->n_workers = n_workers;
	m->last_reload = -1;
	pthread_mutex_init(&m->hook_lock, NULL);
	if (posix_memalign((void **)&m->workers, 64, sizeof(*m->workers) * n_workers))
		goto fail;
	memset(m->workers, 0, sizeof(*m->workers) * n_workers);
	for (unsigned int i = 0; i < n_workers; i++) {
		m->workers[i].series = calloc(GW_METRICS_MAX_SERIES, sizeof(struct series));
		if (!m->workers[i].series)
			goto fail;
		strcpy(m->workers[i].other.route, "other");
		m->workers[i].other.used = 1;
	}
	return m;
fail:
	gw_metrics_free(m);
	errno = ENOMEM;
	return NULL;
}

void gw_metrics_free(struct gw_metrics *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; m->workers && i < m->n_workers; i++)
		free(m->workers[i].series);
	free(m->workers);
	pthread_mutex_destroy(&m->hook_lock);
	free(m);
}

struct gw_metrics_worker *gw_metrics_worker(struct gw_metrics *m, unsigned int idx)
{
	if (!m || idx >= m->n_workers)
		return NULL;
	return &m->workers[idx];
}

/* FNV-1a over both names, as cut to the stored length */
static uint32_t hash2(const char *a, const char *b)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; a[i] && i < GW_METRICS_NAME_MAX - 1; i++)
		h = (h ^ (unsigned char)a[i]) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (i = 0; b[i] && i < GW_METRICS_NAME_MAX - 1; i++)
		h = (h ^ (unsigned char)b[i]) * 16777619u;
	return h;
}

static bool name_eq(const char *stored, const char *s)
{
	return strncmp(stored, s, GW_METRICS_NAME_MAX - 1) == 0;
}

static struct series *series_get(struct gw_metrics_worker *w, const char *listener,
				 const char *route)
{
	uint32_t h = hash2(listener, route);
	uint32_t mask = GW_METRICS_MAX_SERIES - 1;

	for (uint32_t i = 0, k = h & mask; i < GW_METRICS_MAX_SERIES; i++, k = (k + 1) & mask) {
		struct series *s = &w->series[k];

		if (s->used) {
			if (s->hash == h && name_eq(s->listener, listener) &&
			    name_eq(s->route, route))
				return s;
			continue;
		}
		/* keep a quarter free so probes stay short */
		if (w->n_used >= GW_METRICS_MAX_SERIES - GW_METRICS_MAX_SERIES / 4)
			break;
		s->hash = h;
		snprintf(s->listener, sizeof(s->listener), "%s", listener);
		snprintf(s->route, sizeof(s->route), "%s", route);
		__atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
		w->n_used++;
		return s;
	}
	return &w->other;
}

void gw_metrics_request(struct gw_metrics_worker *w, const char *listener, const char *route,
			int status, uint64_t duration_us)
{
	gw_metrics_request_bytes(w, listener, route, status, duration_us, 0, 0);
}

void gw_metrics_request_bytes(struct gw_metrics_worker *w, const char *listener,
			      const char *route, int status, uint64_t duration_us,
			      uint64_t bytes_in, uint64_t bytes_out)
{
	struct series *s;
	int cls = status / 100;
	size_t b;

	if (!w)
		return;
	s = series_get(w, listener ? listener : "", route ? route : "");
	if (cls < 1 || cls >= N_CLASSES)
		cls = 0;
	BUMP(s->codes[cls], 1);
	BUMP(s->bytes_in, bytes_in);
	BUMP(s->bytes_out, bytes_out);
	for (b = 0; b < N_BUCKETS && duration_us > bucket_us[b]; b++)
		;
	BUMP(w->buckets[b], 1);
	BUMP(w->dur_sum_us, duration_us);
}

void gw_metrics_upstream_connect_failure(struct gw_metrics_worker *w)
{
	if (w)
		BUMP(w->connect_failures, 1);
}

void gw_metrics_upstream_timeout(struct gw_metrics_worker *w)
{
	if (w)
		BUMP(w->timeouts, 1);
}

void gw_metrics_conn_open(struct gw_metrics_worker *w)
{
	if (w)
		BUMP(w->open_conns, 1);
}

void gw_metrics_conn_close(struct gw_metrics_worker *w)
{
	if (w)
		BUMP(w->open_conns, -1);
}

void gw_metrics_reload(struct gw_metrics *m, bool ok)
{
	if (!m)
		return;
	__atomic_add_fetch(ok ? &m->reload_ok : &m->reload_fail, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&m->last_reload, ok ? 1 : 0, __ATOMIC_RELAXED);
}

int gw_metrics_add_hook(struct gw_metrics *m, gw_metrics_hook_fn fn, void *arg)
{
	int err = -EINVAL;

	if (!m || !fn)
		return err;
	pthread_mutex_lock(&m->hook_lock);
	err = -ENOMEM;
	if (m->n_hooks < MAX_HOOKS) {
		m->hooks[m->n_hooks].fn = fn;
		m->hooks[m->n_hooks].arg = arg;
		m->n_hooks++;
		err = 0;
	}
	pthread_mutex_unlock(&m->hook_lock);
	return err;
}

int gw_metrics_escape_label(const char *s, char *out, size_t cap)
{
	size_t w = 0;

	for (; *s; s++) {
		const char *e = NULL;
		size_t n = 1;

		if (*s == '\\')
			e = "\\\\";
		else if (*s == '"')
			e = "\\\"";
		else if (*s == '\n')
			e = "\\n";
		if (e)
			n = 2;
		if (cap - w < n + 1)
			return -ENOSPC;
		if (e)
			memcpy(out + w, e, 2);
		else
			out[w] = *s;
		w += n;
	}
	if (cap - w < 1)
		return -ENOSPC;
	out[w] = '\0';
	return (int)w;
}

/* ---- rendering ---- */

struct wr {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void outf(struct wr *w, const char *fmt, ...) GW_PRINTF(2, 3);
static void outf(struct wr *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len) {
		w->overflow = true;
		return;
	}
	w->len += (size_t)n;
}

struct agg {
	const char *listener, *route;
	uint64_t codes[N_CLASSES];
	uint64_t bytes_in;  /* request bytes read from clients (head and body) */
	uint64_t bytes_out; /* response bytes written to clients */
};

static int agg_cmp(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;
	int c = strcmp(x->listener, y->listener);

	return c ? c : strcmp(x->route, y->route);
}

static void add_agg(struct agg *list, size_t *n, const struct series *s)
{
	struct agg *a = &list[(*n)++];
	bool any = false;

	a->listener = s->listener;
	a->route = s->route;
	for (int c = 0; c < N_CLASSES; c++) {
		a->codes[c] = READ(s->codes[c]);
		any |= a->codes[c] != 0;
	}
	if (!any)
		(*n)--;
}

static void render_requests(struct gw_metrics *m, struct wr *w, struct agg *list, size_t n)
{
	static const char *const cls[N_CLASSES] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	char l[2 * GW_METRICS_NAME_MAX + 1], r[2 * GW_METRICS_NAME_MAX + 1];
	size_t i = 0;

	qsort(list, n, sizeof(*list), agg_cmp);
	outf(w, "# HELP gwbpf_http_requests_total HTTP requests by listener, route and status "
		"class.\n# TYPE gwbpf_http_requests_total counter\n");
	while (i < n) {
		uint64_t sum[N_CLASSES] = { 0 };
		size_t j = i;

		/* the same pair seen by several workers: one line */
		for (; j < n && !agg_cmp(&list[i], &list[j]); j++)
			for (int c = 0; c < N_CLASSES; c++)
				sum[c] += list[j].codes[c];
		gw_metrics_escape_label(list[i].listener, l, sizeof(l));
		gw_metrics_escape_label(list[i].route, r, sizeof(r));
		for (int c = 0; c < N_CLASSES; c++)
			if (sum[c])
				outf(w,
				     "gwbpf_http_requests_total{listener=\"%s\",route=\"%s\","
				     "code=\"%s\"} %llu\n",
				     l, r, cls[c], (unsigned long long)sum[c]);
		i = j;
	}
}

static void series_visit(const struct series *s, gw_metrics_request_fn fn, void *arg)
{
	uint64_t n = 0;

	for (int c = 0; c < N_CLASSES; c++)
		n += READ(s->codes[c]);
	if (n)
		fn(s->listener, s->route, n, arg);
}

void gw_metrics_foreach_request(struct gw_metrics *m, gw_metrics_request_fn fn, void *arg)
{
	if (!m || !fn)
		return;
	for (unsigned int i = 0; i < m->n_workers; i++) {
		struct gw_metrics_worker *wk = &m->workers[i];

		for (size_t k = 0; k < GW_METRICS_MAX_SERIES; k++)
			if (__atomic_load_n(&wk->series[k].used, __ATOMIC_ACQUIRE))
				series_visit(&wk->series[k], fn, arg);
		series_visit(&wk->other, fn, arg);
	}
}

static void series_visit_bytes(const struct series *s, gw_metrics_route_bytes_fn fn, void *arg)
{
	uint64_t n = 0;

	for (int c = 0; c < N_CLASSES; c++)
		n += READ(s->codes[c]);
	if (n)
		fn(s->listener, s->route, n, READ(s->bytes_in), READ(s->bytes_out), arg);
}

void gw_metrics_foreach_route_bytes(struct gw_metrics *m, gw_metrics_route_bytes_fn fn, void *arg)
{
	if (!m || !fn)
		return;
	for (unsigned int i = 0; i < m->n_workers; i++) {
		struct gw_metrics_worker *wk = &m->workers[i];

		for (size_t k = 0; k < GW_METRICS_MAX_SERIES; k++)
			if (__atomic_load_n(&wk->series[k].used, __ATOMIC_ACQUIRE))
				series_visit_bytes(&wk->series[k], fn, arg);
		series_visit_bytes(&wk->other, fn, arg);
	}
}

int gw_metrics_render(struct gw_metrics *m, char *buf, size_t cap)
{
	struct wr w = { buf, cap, 0, false };
	uint64_t buckets[N_BUCKETS + 1] = { 0 }, sum_us = 0, cum = 0;
	uint64_t failures = 0, timeouts = 0;
	struct gw_tls_up_stats tls;
	int64_t open = 0;
	struct agg *list;
	size_t n = 0;
	int last;

	if (!m || (!buf && cap))
		return -EINVAL;
	list = calloc((size_t)m->n_workers * (GW_METRICS_MAX_SERIES + 1), sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (unsigned int i = 0; i < m->n_workers; i++) {
		struct gw_metrics_worker *wk = &m->workers[i];

		for (size_t k = 0; k < GW_METRICS_MAX_SERIES; k++)
			if (__atomic_load_n(&wk->series[k].used, __ATOMIC_ACQUIRE))
				add_agg(list, &n, &wk->series[k]);
		add_agg(list, &n, &wk->other);
		for (int b = 0; b <= N_BUCKETS; b++)
			buckets[b] += READ(wk->buckets[b]);
		sum_us += READ(wk->dur_sum_us);
		failures += READ(wk->connect_failures);
		timeouts += READ(wk->timeouts);
		open += READ(wk->open_conns);
	}
	render_requests(m, &w, list, n);
	free(list);

	outf(&w, "# HELP gwbpf_http_request_duration_seconds Time from request head to last "
		 "response byte.\n# TYPE gwbpf_http_request_duration_seconds histogram\n");
	for (int b = 0; b < N_BUCKETS; b++) {
		cum += buckets[b];
		outf(&w, "gwbpf_http_request_duration_seconds_bucket{le=\"%s\"} %llu\n",
		     bucket_le[b], (unsigned long long)cum);
	}
	cum += buckets[N_BUCKETS];
	/* _count is the +Inf bucket, so a scrape racing a request stays consistent */
	outf(&w, "gwbpf_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	     (unsigned long long)cum);
	outf(&w, "gwbpf_http_request_duration_seconds_sum %llu.%06llu\n",
	     (unsigned long long)(sum_us / 1000000), (unsigned long long)(sum_us % 1000000));
	outf(&w, "gwbpf_http_request_duration_seconds_count %llu\n", (unsigned long long)cum);

	outf(&w, "# HELP gwbpf_upstream_connect_failures_total Upstream connections that "
		 "failed.\n# TYPE gwbpf_upstream_connect_failures_total counter\n"
		 "gwbpf_upstream_connect_failures_total %llu\n",
	     (unsigned long long)failures);
	outf(&w, "# HELP gwbpf_upstream_timeouts_total Upstream requests that timed out.\n"
		 "# TYPE gwbpf_upstream_timeouts_total counter\n"
		 "gwbpf_upstream_timeouts_total %llu\n",
	     (unsigned long long)timeouts);
	gw_tls_up_stats(&tls);
	outf(&w, "# HELP gwbpf_upstream_tls_handshakes_total TLS handshakes with backends "
		 "(BackendTLSPolicy) by result.\n"
		 "# TYPE gwbpf_upstream_tls_handshakes_total counter\n"
		 "gwbpf_upstream_tls_handshakes_total{result=\"ok\"} %llu\n"
		 "gwbpf_upstream_tls_handshakes_total{result=\"verify_failure\"} %llu\n"
		 "gwbpf_upstream_tls_handshakes_total{result=\"failure\"} %llu\n",
	     (unsigned long long)tls.handshakes, (unsigned long long)tls.verify_failures,
	     (unsigned long long)tls.handshake_failures);
	outf(&w, "# HELP gwbpf_open_connections Client connections open now.\n"
		 "# TYPE gwbpf_open_connections gauge\ngwbpf_open_connections %lld\n",
	     (long long)(open < 0 ? 0 : open));
	outf(&w, "# HELP gwbpf_config_reloads_total Configuration reloads by result.\n"
		 "# TYPE gwbpf_config_reloads_total counter\n"
		 "gwbpf_config_reloads_total{result=\"success\"} %llu\n"
		 "gwbpf_config_reloads_total{result=\"failure\"} %llu\n",
	     (unsigned long long)__atomic_load_n(&m->reload_ok, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&m->reload_fail, __ATOMIC_RELAXED));
	last = __atomic_load_n(&m->last_reload, __ATOMIC_RELAXED);
	if (last >= 0)
		outf(&w, "# HELP gwbpf_config_last_reload_success Whether the last reload "
			 "succeeded.\n# TYPE gwbpf_config_last_reload_success gauge\n"
			 "gwbpf_config_last_reload_success %d\n",
		     last);

	pthread_mutex_lock(&m->hook_lock);
	for (size_t i = 0; i < m->n_hooks && !w.overflow; i++) {
		int k = m->hooks[i].fn(m->hooks[i].arg, w.p + w.len, w.cap - w.len);

		if (k < 0 || (size_t)k > w.cap - w.len)
			w.overflow = true;
		else
			w.len += (size_t)k;
	}
	pthread_mutex_unlock(&m->hook_lock);
	return w.overflow ? -ENOSPC : (int)w.len;
}
