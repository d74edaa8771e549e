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

/* ---- helpers (added by the router module; also used by filters and the
 * kernel-path compiler so every layer decides alike) ---- */

/* gw_router_host() : host with its port and one trailing dot removed
 * ("Foo.Example.com.:8080" -> "Foo.Example.com", "[::1]:80" -> "[::1]").
 * Borrows host; the result points into it. Case is kept: compare with
 * gw_router_hostname_match(), which ignores case. */
struct gw_slice gw_router_host(struct gw_slice host);

/* gw_router_hostname_match() : pattern is a listener or route hostname:
 * NULL (any host), "foo.example.com" (exact, case-insensitive) or
 * "*.example.com" (one or more labels in front of ".example.com", never
 * "example.com" itself). host must already be normalised by gw_router_host(). */
bool gw_router_hostname_match(const char *pattern, struct gw_slice host);

/* gw_router_prefix_len() : length of a PathPrefix value once its trailing
 * slashes are dropped ("/foo/" -> 4, "/" -> 0): the part that must equal the
 * request path up to an element boundary. ReplacePrefixMatch replaces
 * exactly these bytes. */
size_t gw_router_prefix_len(const char *prefix);

/* gw_router_path_prefix_match() : PathPrefix by path element: "/foo" (and
 * "/foo/") match "/foo", "/foo/" and "/foo/bar", never "/foobar". */
bool gw_router_path_prefix_match(const char *prefix, struct gw_slice path);

/* gw_router_match_one() : true when req satisfies every condition of m
 * (path, method, headers, query params). */
bool gw_router_match_one(const struct gw_ir_match *m, const struct gw_http_req *req);

/* path normalisation flags for gw_router_path_normalize() */
#define GW_PATH_NORM_UNRESERVED   0x1u /* decode %XX of ALPHA DIGIT - . _ ~; uppercase other hex */
#define GW_PATH_NORM_DOTS         0x2u /* remove "." and ".." segments (RFC 3986 5.2.4) */
#define GW_PATH_NORM_MERGE_SLASHES 0x4u /* "//" -> "/" */
#define GW_PATH_NORM_DEFAULT (GW_PATH_NORM_UNRESERVED | GW_PATH_NORM_DOTS | GW_PATH_NORM_MERGE_SLASHES)

/* gw_router_path_normalize() : normalises the origin-form path p[0..len)
 * (no query) in place; the result is never longer than the input. Returns
 * the new length (>0), or -EBADMSG when the path does not start with '/',
 * holds an invalid %-escape ("%zz", "%4"), or an escaped NUL ("%00"): the
 * proxy answers 400. The proxy routes AND forwards the normalised path, so
 * the backend sees what was matched. */
int gw_router_path_normalize(char *p, size_t len, unsigned int flags);

/* gw_router_regex_match() : like gw_ir_regex_match() (full match) but reuses
 * one PCRE2 match-data block per thread, so a match allocates nothing after
 * the thread's first call. The block is freed at thread exit. */
bool gw_router_regex_match(const void *re, const char *subject, size_t len);

/* gw_router_thread_cleanup() : frees this thread's match data now (also
 * done automatically at thread exit); safe to call more than once. */
void gw_router_thread_cleanup(void);

#endif
