/* gwbpf/route_stats.h - requests per route, kept in the kernel vs served by
 * the proxy (the admin endpoint's GET /status/routes, `gwbpf status routes`).
 */
#ifndef GWBPF_ROUTE_STATS_H
#define GWBPF_ROUTE_STATS_H

#include "gwbpf/api.h"

struct gw_ir;
struct gw_metrics;

/* gw_route_stats_json() : the document of GET /status/routes, built from
 * the snapshot being served (ir, borrowed), the proxy's per-(listener, route)
 * request counters (m, borrowed, may be NULL) and, when kernel is true, the
 * pinned gw_route_cnt and mechanism counters under bpffs (NULL = default):
 *   {"generation": n,
 *    "routes": [{"route": "ns/name",
 *                "requests": {"kernel", "userspace", "total"},
 *                "bytes": {"kernel": {"request", "response", "responses"},
 *                          "userspace": {"request", "response"}},
 *                "kernelRequestBytes": n,          (= bytes.kernel.request)
 *                "listeners": [{"listener": "ns/gw/section", "hosts": [...],
 *                               same counts}],
 *                "rules": [{"rule", "name"?, "kernelEligible", "kernel",
 *                           "kernelRequestBytes", "kernelResponses",
 *                           "kernelResponseBytes",
 *                           "backends": [{"cluster": "ns/svc:port" or null,
 *                                         "weight", "endpoints": [{"address",
 *                                         "port", "ready"}]}]}]}],
 *    "unrouted": {"userspace": n},      answered without a route (404, 421...)
 *    "unattributed": {"kernel": n},     kernel counts no rule of ir matches
 *    "mechanisms": gw_bpfstat_mechanisms() or null}
 * Request bytes are what came from the client (head and body), response
 * bytes what went to it (head and body); the kernel's "responses" are the
 * responses whose head it delivered.
 * Returns a malloc'd JSON string, or NULL (ENOMEM). */
char *gw_route_stats_json(const struct gw_ir *ir, struct gw_metrics *m, bool kernel,
			  const char *bpffs);

#endif
