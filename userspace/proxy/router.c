/* proxy/router.c - per-request routing decisions on an IR snapshot.
 *
 * Everything here runs once per request on a worker thread, so nothing
 * allocates: hosts, paths, header values and query parameters are compared
 * in place as slices of the request buffer. The only state is one PCRE2
 * match-data block per thread, created on first use and reused, because
 * gw_ir_regex_match() allocates one per call.
 *
 * The decisions follow the Gateway API v1 spec (HTTPRouteMatch,
 * Listener.hostname, HTTPRoute.hostnames); where the spec leaves a choice,
 * docs/routing.md states what we picked and why.
 */
#include "gwbpf/api.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pthread.h>

#include <pcre2.h>

#include "gwbpf/ir-t.h"
#include "gwbpf/ir.h"
#include "gwbpf/router.h"

/* Repeated request headers are joined with "," before a regex match; the
 * joined value lives in a per-thread scratch buffer of this size. A joined
 * value longer than this does not match (a request that large is already
 * unusual; matching a truncated value would be wrong). */
#define GW_ROUTER_SCRATCH 8192

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static bool md_key_ok;
static __thread pcre2_match_data *tls_md;
static __thread pcre2_match_context *tls_mctx;
static __thread char tls_scratch[GW_ROUTER_SCRATCH];

/* ---- small ASCII helpers (locale-independent, unlike tolower(3)) ---- */

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool ci_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* ---- per-thread PCRE2 match data ---- */

static void md_destroy(void *p)
{
	pcre2_match_data_free(p);
	pcre2_match_context_free(tls_mctx);
	tls_mctx = NULL;
}

static void md_key_init(void)
{
	md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

static pcre2_match_data *md_get(void)
{
	if (likely(tls_md))
		return tls_md;
	pthread_once(&md_once, md_key_init);
	tls_md = pcre2_match_data_create(1, NULL);
	/* a route's pattern is tenant input: bound the work one match may do,
	 * so a catastrophic pattern costs its own requests a no-match, not the
	 * worker its CPU (see GW_REGEX_MATCH_LIMIT) */
	tls_mctx = pcre2_match_context_create(NULL);
	if (tls_mctx) {
		pcre2_set_match_limit(tls_mctx, GW_REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(tls_mctx, GW_REGEX_DEPTH_LIMIT);
	}
	/* registering the block with the key makes thread exit free it */
	if (tls_md && md_key_ok)
		pthread_setspecific(md_key, tls_md);
	return tls_md;
}

void gw_router_thread_cleanup(void)
{
	if (!tls_md)
		return;
	if (md_key_ok)
		pthread_setspecific(md_key, NULL);
	pcre2_match_data_free(tls_md);
	tls_md = NULL;
	pcre2_match_context_free(tls_mctx);
	tls_mctx = NULL;
}

bool gw_router_regex_match(const void *re, const char *subject, size_t len)
{
	pcre2_match_data *md;
	int rc;

	if (!re)
		return false;
	md = md_get();
	if (unlikely(!md))
		return false;
	/* PCRE2 rejects a NULL subject even when len is 0 */
	if (!subject)
		subject = "";
	rc = pcre2_match(re, (PCRE2_SPTR)subject, len, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
			 tls_mctx);
	/* PCRE2_ERROR_MATCHLIMIT / DEPTHLIMIT / JIT_STACKLIMIT: no match */
	return rc >= 0;
}

/* ---- hosts ---- */

struct gw_slice gw_router_host(struct gw_slice host)
{
	struct gw_slice out = host;

	if (!out.p) {
		out.len = 0;
		return out;
	}
	if (out.len && out.p[0] == '[') {
		/* IPv6 literal: the port, if any, follows the ']' */
		const char *end = memchr(out.p, ']', out.len);

		if (end)
			out.len = (size_t)(end - out.p) + 1;
		return out;
	}
	for (size_t i = 0; i < out.len; i++) {
		if (out.p[i] == ':') {
			out.len = i;
			break;
		}
	}
	if (out.len && out.p[out.len - 1] == '.')
		out.len--;
	return out;
}

bool gw_router_hostname_match(const char *pattern, struct gw_slice host)
{
	size_t plen;

	if (!pattern)
		return true;
	plen = strlen(pattern);
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		const char *suffix = pattern + 1; /* ".example.com" */
		size_t slen = plen - 1;

		/* at least one non-empty label in front of the suffix */
		if (host.len <= slen || host.p[host.len - slen - 1] == '.')
			return false;
		return ci_eq(host.p + host.len - slen, suffix, slen);
	}
	return host.len == plen && ci_eq(host.p, pattern, plen);
}

/* ---- paths ---- */

size_t gw_router_prefix_len(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	while (n && prefix[n - 1] == '/')
		n--;
	return n;
}

bool gw_router_path_prefix_match(const char *prefix, struct gw_slice path)
{
	size_t n = gw_router_prefix_len(prefix);

	/* "/" (n == 0) matches every path */
	if (path.len < n || memcmp(path.p, prefix, n) != 0)
		return false;
	return path.len == n || path.p[n] == '/';
}

static bool path_match(const struct gw_ir_match *m, struct gw_slice path)
{
	switch (m->path_type) {
	case GW_MATCH_EXACT:
		return path.len == strlen(m->path) && memcmp(path.p, m->path, path.len) == 0;
	case GW_MATCH_PREFIX:
		return gw_router_path_prefix_match(m->path, path);
	case GW_MATCH_REGEX:
		return gw_router_regex_match(m->path_re, path.p, path.len);
	}
	return false;
}

int gw_router_path_normalize(char *p, size_t len, unsigned int flags)
{
	size_t r, w;

	if (!p || len == 0 || p[0] != '/')
		return -EBADMSG;
	/* "/" is already normal, and must not be written: the HTTP/1 parser
	 * points the path of an absolute-form target without one ("http://h?q")
	 * at a read-only "/" (found by tests/fuzz/fuzz_proxy.c) */
	if (len == 1)
		return 1;

	/* pass 1: validate %-escapes, decode the unreserved ones */
	for (r = 0, w = 0; r < len; r++) {
		char c = p[r];

		if (c == '%') {
			int hi, lo, v;

			if (r + 2 >= len)
				return -EBADMSG;
			hi = hexval(p[r + 1]);
			lo = hexval(p[r + 2]);
			if (hi < 0 || lo < 0)
				return -EBADMSG;
			v = hi * 16 + lo;
			if (v == 0)
				return -EBADMSG;
			if ((flags & GW_PATH_NORM_UNRESERVED) && unreserved((unsigned char)v)) {
				p[w++] = (char)v;
			} else {
				p[w++] = '%';
				p[w++] = (flags & GW_PATH_NORM_UNRESERVED) ? "0123456789ABCDEF"[hi]
									   : p[r + 1];
				p[w++] = (flags & GW_PATH_NORM_UNRESERVED) ? "0123456789ABCDEF"[lo]
									   : p[r + 2];
			}
			r += 2;
			continue;
		}
		p[w++] = c;
	}
	len = w;

	if (!(flags & (GW_PATH_NORM_DOTS | GW_PATH_NORM_MERGE_SLASHES)))
		return (int)len;

	/* pass 2: segment by segment; w never passes r, so in place is safe */
	for (r = 0, w = 0; r < len;) {
		size_t e = r + 1, seglen;
		const char *seg = p + r + 1;
		bool last;

		while (e < len && p[e] != '/')
			e++;
		seglen = e - r - 1;
		last = e == len;
		if ((flags & GW_PATH_NORM_DOTS) && seglen == 1 && seg[0] == '.') {
			if (last)
				p[w++] = '/';
		} else if ((flags & GW_PATH_NORM_DOTS) && seglen == 2 && seg[0] == '.' &&
			   seg[1] == '.') {
			while (w > 0 && p[--w] != '/')
				;
			if (last)
				p[w++] = '/';
		} else if ((flags & GW_PATH_NORM_MERGE_SLASHES) && seglen == 0 && !last) {
			/* skip the empty segment */
		} else {
			memmove(p + w, p + r, seglen + 1);
			w += seglen + 1;
		}
		r = e;
	}
	if (w == 0)
		p[w++] = '/';
	return (int)w;
}

/* ---- headers ---- */

/* Compares the values of every header called name, joined with ",", with
 * want[0..wlen) without building the joined string. */
static bool header_exact(const struct gw_http_req *req, const char *name, size_t nlen,
			 const char *want, size_t wlen)
{
	size_t off = 0;
	bool seen = false;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct gw_http_header *h = &req->headers[i];

		if (h->name.len != nlen || !ci_eq(h->name.p, name, nlen))
			continue;
		if (seen) {
			if (off >= wlen || want[off] != ',')
				return false;
			off++;
		}
		seen = true;
		if (wlen - off < h->value.len || memcmp(want + off, h->value.p, h->value.len) != 0)
			return false;
		off += h->value.len;
	}
	return seen && off == wlen;
}

static bool header_regex(const struct gw_http_req *req, const char *name, size_t nlen,
			 const void *re)
{
	const struct gw_http_header *first = NULL;
	size_t count = 0, w = 0;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct gw_http_header *h = &req->headers[i];

		if (h->name.len != nlen || !ci_eq(h->name.p, name, nlen))
			continue;
		if (!first)
			first = h;
		count++;
	}
	if (!first)
		return false;
	if (count == 1)
		return gw_router_regex_match(re, first->value.p, first->value.len);

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct gw_http_header *h = &req->headers[i];

		if (h->name.len != nlen || !ci_eq(h->name.p, name, nlen))
			continue;
		if (w && w < sizeof(tls_scratch))
			tls_scratch[w++] = ',';
		if (sizeof(tls_scratch) - w < h->value.len)
			return false;
		memcpy(tls_scratch + w, h->value.p, h->value.len);
		w += h->value.len;
	}
	return gw_router_regex_match(re, tls_scratch, w);
}

static bool headers_match(const struct gw_ir_match *m, const struct gw_http_req *req)
{
	for (size_t i = 0; i < m->n_headers; i++) {
		const struct gw_ir_str_match *hm = &m->headers[i];
		size_t nlen = strlen(hm->name);
		bool ok;

		if (hm->type == GW_MATCH_REGEX)
			ok = header_regex(req, hm->name, nlen, hm->re);
		else
			ok = header_exact(req, hm->name, nlen, hm->value, strlen(hm->value));
		if (!ok)
			return false;
	}
	return true;
}

/* ---- query parameters ---- */

/* decodes one %-escaped query component; an invalid escape stays literal.
 * Returns the decoded length, or SIZE_MAX when it does not fit in out. */
static size_t query_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t w = 0;

	for (size_t r = 0; r < len; r++) {
		char c = s[r];

		if (c == '%' && r + 2 < len && hexval(s[r + 1]) >= 0 && hexval(s[r + 2]) >= 0) {
			c = (char)(hexval(s[r + 1]) * 16 + hexval(s[r + 2]));
			r += 2;
		}
		if (w >= cap)
			return SIZE_MAX;
		out[w++] = c;
	}
	return w;
}

/* true when the %-decoded s[0..len) equals lit exactly; no copy */
static bool query_eq(const char *s, size_t len, const char *lit)
{
	size_t w = 0, llen = strlen(lit);

	for (size_t r = 0; r < len; r++) {
		char c = s[r];

		if (c == '%' && r + 2 < len && hexval(s[r + 1]) >= 0 && hexval(s[r + 2]) >= 0) {
			c = (char)(hexval(s[r + 1]) * 16 + hexval(s[r + 2]));
			r += 2;
		}
		if (w >= llen || lit[w] != c)
			return false;
		w++;
	}
	return w == llen;
}

/* finds the first parameter whose decoded name is name; sets *val */
static bool query_find(struct gw_slice q, const char *name, struct gw_slice *val)
{
	size_t i = 0;

	while (i < q.len) {
		size_t e = i, eq;

		while (e < q.len && q.p[e] != '&')
			e++;
		for (eq = i; eq < e && q.p[eq] != '='; eq++)
			;
		if (e > i && query_eq(q.p + i, eq - i, name)) {
			val->p = q.p + (eq < e ? eq + 1 : e);
			val->len = eq < e ? e - eq - 1 : 0;
			return true;
		}
		i = e + 1;
	}
	return false;
}

static bool queries_match(const struct gw_ir_match *m, const struct gw_http_req *req)
{
	for (size_t i = 0; i < m->n_queries; i++) {
		const struct gw_ir_str_match *qm = &m->queries[i];
		struct gw_slice v;

		if (!query_find(req->query, qm->name, &v))
			return false;
		if (qm->type == GW_MATCH_REGEX) {
			size_t n = query_decode(v.p, v.len, tls_scratch, sizeof(tls_scratch));

			if (n == SIZE_MAX || !gw_router_regex_match(qm->re, tls_scratch, n))
				return false;
		} else if (!query_eq(v.p, v.len, qm->value)) {
			return false;
		}
	}
	return true;
}

/* ---- matching ---- */

bool gw_router_match_one(const struct gw_ir_match *m, const struct gw_http_req *req)
{
	if (!path_match(m, req->path))
		return false;
	if (m->method && !(req->method.len == strlen(m->method) &&
			   memcmp(req->method.p, m->method, req->method.len) == 0))
		return false;
	return headers_match(m, req) && queries_match(m, req);
}

int gw_router_match(const struct gw_ir_bind *bind, const struct gw_http_req *req,
		    struct gw_route_result *res)
{
	const struct gw_ir_listener *li = NULL;
	const struct gw_ir_vhost *vh = NULL;
	struct gw_slice host;
	int err = -ENOENT;

	memset(res, 0, sizeof(*res));
	if (!bind || !req)
		goto out;
	host = gw_router_host(req->host);
	/* listeners and vhosts come most specific first: the first that fits
	 * is the one the spec selects, and a miss below it is a 404 rather
	 * than a fall-through to a less specific listener */
	for (size_t i = 0; i < bind->n_listeners; i++) {
		if (gw_router_hostname_match(bind->listeners[i].hostname, host)) {
			li = &bind->listeners[i];
			break;
		}
	}
	if (!li)
		goto out;
	res->listener = li;
	for (size_t i = 0; i < li->n_vhosts; i++) {
		if (gw_router_hostname_match(li->vhosts[i].hostname, host)) {
			vh = &li->vhosts[i];
			break;
		}
	}
	if (!vh)
		goto out;
	res->vhost = vh;
	for (size_t i = 0; i < vh->n_matches; i++) {
		const struct gw_ir_match *m = &vh->matches[i];

		if (!gw_router_match_one(m, req))
			continue;
		if (m->action >= vh->n_actions)
			continue; /* a broken snapshot: never index past the table */
		res->match = m;
		res->action = &vh->actions[m->action];
		err = 0;
		break;
	}
out:
	return err;
}

int gw_router_pick_backend(const struct gw_ir_action *a, uint64_t rnd)
{
	uint64_t total = 0, point;

	if (!a)
		return -1;
	/* summed here rather than trusting total_weight, so a stale total can
	 * never select past the end */
	for (size_t i = 0; i < a->n_backends; i++)
		total += a->backends[i].weight;
	if (total == 0)
		return -1;
	point = rnd % total;
	for (size_t i = 0; i < a->n_backends; i++) {
		uint64_t w = a->backends[i].weight;

		if (point < w)
			return (int)i;
		point -= w;
	}
	return -1;
}
