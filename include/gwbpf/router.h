/* gwbpf/router.h - per-request routing on an IR snapshot (no allocation).
 *
 * The same decision the kernel fast path must reproduce: listener by most
 * specific hostname, vhost by exact then wildcard host, then the first match
 * in the vhost's precedence-ordered list.
 */
#ifndef GWBPF_ROUTER_H
#define GWBPF_ROUTER_H

#include "gwbpf/api.h"
#include "gwbpf/http1-t.h"
#include "gwbpf/router-t.h"

/* gw_router_match() : routes req (method, path, query, host, headers) on
 * bind. The host's port and a trailing dot are ignored, case-insensitively.
 * Returns 0 with res fully set, or -ENOENT with res->listener/vhost set as
 * far as they matched. */
int gw_router_match(const struct gw_ir_bind *bind, const struct gw_http_req *req,
		    struct gw_route_result *res);

/* gw_router_pick_backend() : weighted choice among a->backends using rnd (a
 * uniformly random 64-bit value); weight 0 is never chosen. Returns the
 * backend index, or -1 when the total weight is 0 (the spec's 500). */
int gw_router_pick_backend(const struct gw_ir_action *a, uint64_t rnd);

#endif
