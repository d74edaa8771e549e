/* gwbpf/filter.h - HTTPRoute filters applied to one request and its
 * response, written straight into caller-provided buffers (no allocation).
 *
 * The proxy makes one call per direction:
 *
 *   n = gw_filter_request(&ctx, out, cap, &fr);
 *     fr.verdict == GW_FILTER_RESPOND : send out[0..n) to the client (a
 *       redirect, a CORS preflight answer, or the rule's direct status);
 *     fr.verdict == GW_FILTER_FORWARD : send out[0..n) to the upstream as the
 *       request head (request line with the rewritten path?query, Host,
 *       headers after modifiers, X-Forwarded-*), then the body as received;
 *       send a copy to each fr.mirrors[i] cluster, answers discarded.
 *   n = gw_filter_response(&fr, resp, extra, extra_len, out, cap);
 *     send out[0..n) to the client as the response head.
 *
 * Both return the bytes written, or -ENOSPC when cap is too small (nothing
 * usable was written), or -EINVAL on missing arguments.
 */
#ifndef GWBPF_FILTER_H
#define GWBPF_FILTER_H

#include "gwbpf/api.h"
#include "gwbpf/filter-t.h"

int gw_filter_request(const struct gw_filter_ctx *ctx, char *out, size_t cap,
		      struct gw_filter_result *fr);

/* resp: the upstream's parsed head (borrowed). Framing headers
 * (Content-Length, Transfer-Encoding) pass through; Connection, Keep-Alive
 * and Proxy-Connection are dropped (the proxy says what it wants in extra). */
int gw_filter_response(const struct gw_filter_result *fr, const struct gw_http_resp *resp,
		       const char *extra, size_t extra_len, char *out, size_t cap);

/* ---- building blocks, exposed for tests and for the kernel-path compiler ---- */

/* gw_filter_replace_prefix() : ReplacePrefixMatch: path's first
 * gw_router_prefix_len(prefix) bytes are replaced by repl with the spec's
 * slash rules ("/foo" + "/xyz" on "/foo/bar" -> "/xyz/bar"; "/" on "/foo"
 * -> "/"; never "//", never empty). Writes into out; returns the length or
 * -ENOSPC. */
int gw_filter_replace_prefix(struct gw_slice path, const char *prefix, const char *repl,
			     char *out, size_t cap);

/* gw_filter_redirect_location() : the Location value for redirect r (the host
 * is r->hostname, else the request's Host without its port). Returns the
 * length or -ENOSPC. */
int gw_filter_redirect_location(const struct gw_ir_redirect *r, const struct gw_filter_ctx *ctx,
				char *out, size_t cap);

/* gw_filter_cors_origin_allowed() : origin ("https://a.b.com[:port]") is
 * allowed by c: an entry "*", an exact "scheme://host[:port]", or an entry whose
 * host starts with "*." (one or more labels in front of the rest). */
bool gw_filter_cors_origin_allowed(const struct gw_ir_cors *c, struct gw_slice origin);

/* gw_filter_mirror_hit() : true when a request with random value rnd is
 * mirrored by m (num/den of requests; 0/den never, den/den always). */
bool gw_filter_mirror_hit(const struct gw_ir_mirror *m, uint64_t rnd);

#endif
