/* gwbpf/metrics.h - Prometheus registry: per-worker counters summed at
 * scrape time.
 *
 * Each worker thread owns one gw_metrics_worker and is its only writer:
 * counters are plain relaxed atomic stores, so the request path takes no
 * lock and shares no cache line with another worker. The admin thread sums
 * every worker when /metrics is scraped. Per-(listener, route) series are
 * created the first time a worker sees that pair (the names are copied: a
 * snapshot may be freed while its series live on); a worker holds at most
 * GW_METRICS_MAX_SERIES, later pairs are counted under route="other".
 *
 * Exposed families:
 *   gwbpf_http_requests_total{listener,route,code="2xx"}  counter
 *   gwbpf_http_request_duration_seconds                  histogram
 *   gwbpf_upstream_connect_failures_total                counter
 *   gwbpf_upstream_timeouts_total                        counter
 *   gwbpf_open_connections                               gauge
 *   gwbpf_config_reloads_total{result="success|failure"} counter
 *   gwbpf_config_last_reload_success                     gauge (0/1)
 * plus whatever the registered hooks append (BPF counters, ...).
 */
#ifndef GWBPF_METRICS_H
#define GWBPF_METRICS_H

#include "gwbpf/api.h"

#define GW_METRICS_MAX_SERIES 1024 /* per worker */
#define GW_METRICS_NAME_MAX   128  /* listener/route names are cut to this */

struct gw_metrics;
struct gw_metrics_worker;

/* a text appender: writes Prometheus text into buf[0..cap) and returns the
 * bytes written, or -ENOSPC (the scrape is retried with a bigger buffer) */
typedef int (*gw_metrics_hook_fn)(void *arg, char *buf, size_t cap);

/* gw_metrics_new() : registry with n_workers shards; NULL + errno */
struct gw_metrics *gw_metrics_new(unsigned int n_workers);
void gw_metrics_free(struct gw_metrics *m); /* accepts NULL */

/* gw_metrics_worker() : shard idx (< n_workers), borrowed; one thread writes it */
struct gw_metrics_worker *gw_metrics_worker(struct gw_metrics *m, unsigned int idx);

/* request path (worker thread only; no locks, no allocation except a new
 * series' first sighting). listener/route may be NULL ("" is printed). */
void gw_metrics_request(struct gw_metrics_worker *w, const char *listener, const char *route,
			int status, uint64_t duration_us);
/* gw_metrics_request_bytes() : gw_metrics_request() that also adds the
 * request's bytes read from the client (head and body) and its response bytes
 * written to the client to the (listener, route) series */
void gw_metrics_request_bytes(struct gw_metrics_worker *w, const char *listener,
			      const char *route, int status, uint64_t duration_us,
			      uint64_t bytes_in, uint64_t bytes_out);
void gw_metrics_upstream_connect_failure(struct gw_metrics_worker *w);
void gw_metrics_upstream_timeout(struct gw_metrics_worker *w);
void gw_metrics_conn_open(struct gw_metrics_worker *w);
void gw_metrics_conn_close(struct gw_metrics_worker *w);

/* gw_metrics_reload() : any thread; records one configuration reload */
void gw_metrics_reload(struct gw_metrics *m, bool ok);

/* gw_metrics_add_hook() : fn(arg, ...) is called at every render, in
 * registration order, after the built-in families. 0, -ENOMEM or -EINVAL. */
int gw_metrics_add_hook(struct gw_metrics *m, gw_metrics_hook_fn fn, void *arg);

/* gw_metrics_render() : the text exposition format (version 0.0.4) into
 * buf[0..cap). Returns the length, or -ENOSPC, or -ENOMEM. Admin thread. */
int gw_metrics_render(struct gw_metrics *m, char *buf, size_t cap);

/* gw_metrics_foreach_request() : calls fn(listener, route, requests, arg) for
 * every (listener, route) series of every worker, requests summed over status
 * classes; a pair several workers saw comes once per worker (the caller sums).
 * Names are borrowed for the call. Admin thread, like gw_metrics_render(). */
typedef void (*gw_metrics_request_fn)(const char *listener, const char *route,
				      uint64_t requests, void *arg);
void gw_metrics_foreach_request(struct gw_metrics *m, gw_metrics_request_fn fn, void *arg);

/* gw_metrics_foreach_route_bytes() : gw_metrics_foreach_request() with the
 * series' request and response bytes (gw_metrics_request_bytes()) */
typedef void (*gw_metrics_route_bytes_fn)(const char *listener, const char *route,
					  uint64_t requests, uint64_t bytes_in,
					  uint64_t bytes_out, void *arg);
void gw_metrics_foreach_route_bytes(struct gw_metrics *m, gw_metrics_route_bytes_fn fn, void *arg);

/* gw_metrics_escape_label() : a label value escaped as the format requires
 * (\\, \", \n) into out; returns the length or -ENOSPC */
int gw_metrics_escape_label(const char *s, char *out, size_t cap);

#endif
