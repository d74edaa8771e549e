/* proxy/filter.c - HTTPRoute filters: header modifiers, redirects, URL
 * rewrites, CORS and mirror decisions.
 *
 * The proxy calls gw_filter_request() once per request and
 * gw_filter_response() once per response; each writes the finished head
 * into a buffer the caller owns, so applying filters never allocates and
 * never needs an intermediate header list. Filters set on the rule apply
 * first, then those set on the chosen backendRef.
 *
 * Headers the proxy must own to keep framing unambiguous (Host,
 * Content-Length, Transfer-Encoding, Connection and the other hop-by-hop
 * headers) are never touched by header modifiers: a route that could change
 * them could smuggle requests. docs/routing.md lists the other choices.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include "gwbpf/filter.h"
#include "gwbpf/router.h"

/* ---- a bounded writer: overflow is sticky and reported once at the end ---- */

struct wr {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct wr *w, const char *s, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void puts_(struct wr *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_sl(struct wr *w, struct gw_slice s)
{
	put(w, s.p, s.len);
}

/* put_u() : decimal, by hand: it runs for every response (the status) */
static void put_u(struct wr *w, unsigned long v)
{
	char b[24], *p = b + sizeof(b);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

static void put_hdr(struct wr *w, const char *name, const char *val)
{
	puts_(w, name);
	put(w, ": ", 2);
	puts_(w, val);
	put(w, "\r\n", 2);
}

static int wr_done(struct wr *w)
{
	if (w->overflow || w->len > INT32_MAX)
		return -ENOSPC;
	return (int)w->len;
}

/* ---- helpers ---- */

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool sl_ieq(struct gw_slice s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s.p[i]) != lower(lit[i]))
			return false;
	return true;
}

static bool str_ieq(const char *a, const char *b)
{
	return sl_ieq((struct gw_slice){ a, strlen(a) }, b);
}

/* headers a header modifier may not name: the proxy owns them */
static bool protected_header(const char *name)
{
	static const char *const names[] = { "host", "content-length", "transfer-encoding",
					     "connection", "upgrade", "te", "keep-alive",
					     "proxy-connection", "trailer" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (str_ieq(name, names[i]))
			return true;
	return false;
}

static bool protected_slice(struct gw_slice name)
{
	char b[24];

	if (name.len >= sizeof(b))
		return false;
	memcpy(b, name.p, name.len);
	b[name.len] = '\0';
	return protected_header(b);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "Unknown";
}

/* iterates the filters of the rule, then those of the backendRef */
#define FOR_EACH_FILTER(a, be, f, i)                                                               \
	for (size_t i = 0, __n = ((a) ? (a)->n_filters : 0) + ((be) ? (be)->n_filters : 0);       \
	     i < __n &&                                                                            \
	     ((f = (i < ((a) ? (a)->n_filters : 0)) ? &(a)->filters[i]                             \
						    : &(be)->filters[i - ((a) ? (a)->n_filters : 0)]), \
	      1);                                                                                  \
	     i++)

static bool hdr_mod_drops(const struct gw_ir_header_mod *m, struct gw_slice name)
{
	if (protected_slice(name))
		return false;
	for (size_t i = 0; i < m->n_remove; i++)
		if (sl_ieq(name, m->remove[i]))
			return true;
	for (size_t i = 0; i < m->n_set; i++)
		if (sl_ieq(name, m->set[i].name))
			return true;
	return false;
}

static bool any_mod_drops(const struct gw_ir_action *a, const struct gw_ir_backend *be,
			  enum gw_filter_type type, struct gw_slice name)
{
	const struct gw_ir_filter *f;

	FOR_EACH_FILTER(a, be, f, i)
		if (f->type == type && hdr_mod_drops(&f->hdr, name))
			return true;
	return false;
}

/* set entries, then add entries, of every modifier of this type */
static void emit_mods(struct wr *w, const struct gw_ir_action *a, const struct gw_ir_backend *be,
		      enum gw_filter_type type)
{
	const struct gw_ir_filter *f;

	FOR_EACH_FILTER(a, be, f, i) {
		if (f->type != type)
			continue;
		for (size_t k = 0; k < f->hdr.n_set; k++)
			if (!protected_header(f->hdr.set[k].name))
				put_hdr(w, f->hdr.set[k].name, f->hdr.set[k].value);
		for (size_t k = 0; k < f->hdr.n_add; k++)
			if (!protected_header(f->hdr.add[k].name))
				put_hdr(w, f->hdr.add[k].name, f->hdr.add[k].value);
	}
}

/* true when name is one of the comma-separated tokens of a Connection header */
static bool named_by_connection(const struct gw_http_req *req, struct gw_slice name)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		struct gw_slice v = req->headers[i].value;
		size_t s = 0;

		if (!sl_ieq(req->headers[i].name, "connection"))
			continue;
		while (s < v.len) {
			size_t e = s, a, b;

			while (e < v.len && v.p[e] != ',')
				e++;
			for (a = s; a < e && (v.p[a] == ' ' || v.p[a] == '\t'); a++)
				;
			for (b = e; b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t'); b--)
				;
			if (b - a == name.len) {
				size_t k;

				for (k = 0; k < name.len && lower(v.p[a + k]) == lower(name.p[k]); k++)
					;
				if (k == name.len)
					return true;
			}
			s = e + 1;
		}
	}
	return false;
}

/* ---- paths and redirects ---- */

int gw_filter_replace_prefix(struct gw_slice path, const char *prefix, const char *repl,
			     char *out, size_t cap)
{
	size_t plen = gw_router_prefix_len(prefix);
	size_t rlen = gw_router_prefix_len(repl);
	struct wr w = { out, cap, 0, false };

	/* a path the prefix does not cover is left as it is */
	if (path.len < plen || memcmp(path.p, prefix, plen) != 0 ||
	    (path.len > plen && path.p[plen] != '/')) {
		put_sl(&w, path);
		return wr_done(&w);
	}
	/* the replacement loses its trailing slashes and the rest keeps its
	 * leading one, so the join never doubles or drops a slash */
	put(&w, repl, rlen);
	put(&w, path.p + plen, path.len - plen);
	if (w.len == 0)
		put(&w, "/", 1);
	return wr_done(&w);
}

static void put_path(struct wr *w, enum gw_path_mod_type type, const char *val,
		     const struct gw_filter_ctx *ctx)
{
	struct gw_slice path = ctx->req->path;

	if (type == GW_PATH_MOD_FULL && val) {
		puts_(w, val);
	} else if (type == GW_PATH_MOD_PREFIX && val && ctx->match &&
		   ctx->match->path_type == GW_MATCH_PREFIX) {
		int n = w->overflow ? -ENOSPC :
			gw_filter_replace_prefix(path, ctx->match->path, val, w->p + w->len,
						 w->cap - w->len);

		if (n < 0)
			w->overflow = true;
		else
			w->len += (size_t)n;
	} else {
		put_sl(w, path.len ? path : (struct gw_slice){ "/", 1 });
	}
}

static uint16_t default_port(const char *scheme)
{
	if (str_ieq(scheme, "http"))
		return 80;
	if (str_ieq(scheme, "https"))
		return 443;
	return 0;
}

int gw_filter_redirect_location(const struct gw_ir_redirect *r, const struct gw_filter_ctx *ctx,
				char *out, size_t cap)
{
	struct wr w = { out, cap, 0, false };
	const char *scheme = r->scheme ? r->scheme : (ctx->scheme ? ctx->scheme : "http");
	uint32_t port;

	/* the spec: an explicit port wins; a changed scheme brings its
	 * well-known port; otherwise the listener's port */
	if (r->port > 0)
		port = (uint32_t)r->port;
	else if (r->scheme && default_port(r->scheme))
		port = default_port(r->scheme);
	else
		port = ctx->listener_port;

	puts_(&w, scheme);
	put(&w, "://", 3);
	if (r->hostname)
		puts_(&w, r->hostname);
	else
		put_sl(&w, gw_router_host(ctx->req->host));
	if (port && port != default_port(scheme)) {
		put(&w, ":", 1);
		put_u(&w, port);
	}
	put_path(&w, r->path_type, r->path, ctx);
	if (ctx->req->query.len) {
		put(&w, "?", 1);
		put_sl(&w, ctx->req->query);
	}
	return wr_done(&w);
}

/* ---- CORS ---- */

bool gw_filter_cors_origin_allowed(const struct gw_ir_cors *c, struct gw_slice origin)
{
	const char *sep = NULL;

	if (!c || !origin.len || origin.len > GW_FILTER_ORIGIN_MAX)
		return false;
	for (size_t i = 0; i + 2 < origin.len; i++) {
		if (origin.p[i] == ':' && origin.p[i + 1] == '/' && origin.p[i + 2] == '/') {
			sep = origin.p + i;
			break;
		}
	}
	for (size_t i = 0; i < c->n_allow_origins; i++) {
		const char *e = c->allow_origins[i];
		const char *esep = strstr(e, "://");
		size_t slen, elen;

		if (!strcmp(e, "*"))
			return true;
		if (!esep || !sep)
			continue;
		slen = (size_t)(esep - e);
		if (slen != (size_t)(sep - origin.p))
			continue;
		{
			size_t k;

			for (k = 0; k < slen && lower(e[k]) == lower(origin.p[k]); k++)
				;
			if (k != slen)
				continue;
		}
		{
			const char *eh = esep + 3;
			struct gw_slice oh = { sep + 3, origin.len - (size_t)(sep + 3 - origin.p) };

			elen = strlen(eh);
			if (eh[0] == '*' && eh[1] == '.') {
				/* "*.bar.com" covers one or more labels in front of ".bar.com" */
				const char *suf = eh + 1;
				size_t sl = elen - 1, k;

				if (oh.len <= sl || oh.p[oh.len - sl - 1] == '.' ||
				    oh.p[oh.len - sl - 1] == '/')
					continue;
				for (k = 0; k < sl && lower(oh.p[oh.len - sl + k]) == lower(suf[k]);
				     k++)
					;
				if (k == sl)
					return true;
			} else if (sl_ieq(oh, eh)) {
				return true;
			}
		}
	}
	return false;
}

static const struct gw_ir_cors *find_cors(const struct gw_ir_action *a,
					  const struct gw_ir_backend *be)
{
	const struct gw_ir_filter *f;

	FOR_EACH_FILTER(a, be, f, i)
		if (f->type == GW_FILTER_CORS)
			return &f->cors;
	return NULL;
}

static bool has_star(char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], "*"))
			return true;
	return false;
}

static void put_list(struct wr *w, const char *name, char *const *list, size_t n)
{
	if (!n)
		return;
	puts_(w, name);
	put(w, ": ", 2);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(w, ", ", 2);
		puts_(w, list[i]);
	}
	put(w, "\r\n", 2);
}

/* headers common to the preflight answer and decorated responses. The
 * request's Origin is always echoed, never "*": that is valid with and
 * without credentials, and caches see Vary: Origin. */
static void put_cors_common(struct wr *w, const struct gw_ir_cors *c, const char *origin,
			    size_t origin_len)
{
	puts_(w, "Access-Control-Allow-Origin: ");
	put(w, origin, origin_len);
	put(w, "\r\n", 2);
	if (c->allow_credentials)
		puts_(w, "Access-Control-Allow-Credentials: true\r\n");
	put_list(w, "Access-Control-Expose-Headers", c->expose_headers, c->n_expose_headers);
	puts_(w, "Vary: Origin\r\n");
}

static void put_preflight(struct wr *w, const struct gw_ir_cors *c,
			  const struct gw_http_req *req, struct gw_slice origin,
			  struct gw_slice method)
{
	const struct gw_http_header *rh = NULL;

	put_cors_common(w, c, origin.p, origin.len);
	/* a "*" list is answered with what was asked, which is correct for
	 * credentialed requests too (where a literal "*" is not honoured) */
	if (has_star(c->allow_methods, c->n_allow_methods)) {
		puts_(w, "Access-Control-Allow-Methods: ");
		put_sl(w, method);
		put(w, "\r\n", 2);
	} else {
		put_list(w, "Access-Control-Allow-Methods", c->allow_methods, c->n_allow_methods);
	}
	for (size_t i = 0; i < req->n_headers; i++)
		if (sl_ieq(req->headers[i].name, "access-control-request-headers"))
			rh = &req->headers[i];
	if (has_star(c->allow_headers, c->n_allow_headers)) {
		if (rh && rh->value.len) {
			puts_(w, "Access-Control-Allow-Headers: ");
			put_sl(w, rh->value);
			put(w, "\r\n", 2);
		}
	} else {
		put_list(w, "Access-Control-Allow-Headers", c->allow_headers, c->n_allow_headers);
	}
	puts_(w, "Access-Control-Max-Age: ");
	put_u(w, c->max_age >= 0 ? (unsigned long)c->max_age : 5);
	put(w, "\r\n", 2);
}

/* ---- mirrors ---- */

bool gw_filter_mirror_hit(const struct gw_ir_mirror *m, uint64_t rnd)
{
	if (!m || m->num == 0 || m->den == 0)
		return false;
	if (m->num >= m->den)
		return true;
	return rnd % m->den < m->num;
}

/* decorrelates the random value for the i-th mirror (splitmix64 finaliser) */
static uint64_t mix(uint64_t x, uint64_t i)
{
	x += (i + 1) * 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- the two entry points ---- */

static void respond_head(struct wr *w, int status, const struct gw_filter_ctx *ctx)
{
	puts_(w, "HTTP/1.1 ");
	put_u(w, (unsigned long)status);
	put(w, " ", 1);
	puts_(w, reason(status));
	put(w, "\r\n", 2);
}

static void respond_tail(struct wr *w, const struct gw_filter_ctx *ctx)
{
	puts_(w, "Content-Length: 0\r\n");
	if (ctx->extra)
		put(w, ctx->extra, ctx->extra_len);
	put(w, "\r\n", 2);
}

static const struct gw_http_header *find_hdr(const struct gw_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (sl_ieq(req->headers[i].name, name))
			return &req->headers[i];
	return NULL;
}

int gw_filter_request(const struct gw_filter_ctx *ctx, char *out, size_t cap,
		      struct gw_filter_result *fr)
{
	struct wr w = { out, cap, 0, false };
	const struct gw_ir_action *a;
	const struct gw_ir_backend *be;
	const struct gw_ir_filter *f;
	const struct gw_ir_redirect *redirect = NULL;
	const struct gw_ir_rewrite *rewrite = NULL;
	const struct gw_ir_cors *cors;
	const struct gw_http_req *req;
	const struct gw_http_header *origin;
	int err = -EINVAL;

	if (!ctx || !ctx->req || !ctx->action || !fr || (!out && cap))
		goto out;
	req = ctx->req;
	a = ctx->action;
	be = ctx->backend;
	memset(fr, 0, offsetof(struct gw_filter_result, origin));
	fr->cors_filter = NULL;
	fr->action = a;
	fr->backend = be;

	if (a->direct_status) {
		fr->verdict = GW_FILTER_RESPOND;
		fr->status = a->direct_status;
		respond_head(&w, a->direct_status, ctx);
		respond_tail(&w, ctx);
		err = wr_done(&w);
		goto out;
	}

	FOR_EACH_FILTER(a, be, f, i) {
		if (f->type == GW_FILTER_REDIRECT && !redirect)
			redirect = &f->redirect;
		else if (f->type == GW_FILTER_REWRITE && !rewrite)
			rewrite = &f->rewrite;
		else if (f->type == GW_FILTER_MIRROR && f->mirror.cluster >= 0 &&
			 fr->n_mirrors < GW_FILTER_MAX_MIRRORS &&
			 gw_filter_mirror_hit(&f->mirror, mix(ctx->rnd, i)))
			fr->mirrors[fr->n_mirrors++] = f->mirror.cluster;
	}

	/* CORS: remember an allowed origin for the response, answer preflights */
	cors = find_cors(a, be);
	origin = cors ? find_hdr(req, "origin") : NULL;
	if (origin && gw_filter_cors_origin_allowed(cors, origin->value)) {
		const struct gw_http_header *acrm = find_hdr(req, "access-control-request-method");

		fr->cors = true;
		fr->cors_filter = cors;
		fr->origin_len = (uint16_t)origin->value.len;
		memcpy(fr->origin, origin->value.p, origin->value.len);
		/* a preflight: OPTIONS (case-sensitive, methods are) with
		 * Access-Control-Request-Method; answered here, never forwarded */
		if (acrm && req->method.len == 7 && !memcmp(req->method.p, "OPTIONS", 7)) {
			fr->verdict = GW_FILTER_RESPOND;
			fr->status = 200;
			fr->n_mirrors = 0;
			respond_head(&w, 200, ctx);
			put_preflight(&w, cors, req, origin->value, acrm->value);
			respond_tail(&w, ctx);
			err = wr_done(&w);
			goto out;
		}
	} else if (origin && req->method.len == 7 && !memcmp(req->method.p, "OPTIONS", 7) &&
		   find_hdr(req, "access-control-request-method")) {
		/* a preflight from an origin the filter does not allow: the
		 * spec has the gateway answer it (200/204 without any CORS
		 * header, so the browser refuses), not the backend, which
		 * might grant what the route denies */
		fr->verdict = GW_FILTER_RESPOND;
		fr->status = 200;
		fr->n_mirrors = 0;
		respond_head(&w, 200, ctx);
		puts_(&w, "Vary: Origin\r\n");
		respond_tail(&w, ctx);
		err = wr_done(&w);
		goto out;
	}

	if (redirect) {
		int n;

		fr->verdict = GW_FILTER_RESPOND;
		fr->status = redirect->status ? redirect->status : 302;
		fr->n_mirrors = 0;
		respond_head(&w, fr->status, ctx);
		puts_(&w, "Location: ");
		n = w.overflow ? -ENOSPC :
			gw_filter_redirect_location(redirect, ctx, w.p + w.len, w.cap - w.len);
		if (n < 0)
			w.overflow = true;
		else
			w.len += (size_t)n;
		put(&w, "\r\n", 2);
		respond_tail(&w, ctx);
		err = wr_done(&w);
		goto out;
	}

	/* request line: origin-form, always HTTP/1.1 upstream */
	fr->verdict = GW_FILTER_FORWARD;
	put_sl(&w, req->method);
	put(&w, " ", 1);
	put_path(&w, rewrite ? rewrite->path_type : GW_PATH_MOD_NONE,
		 rewrite ? rewrite->path : NULL, ctx);
	if (req->query.len) {
		put(&w, "?", 1);
		put_sl(&w, req->query);
	}
	puts_(&w, " HTTP/1.1\r\nHost: ");
	if (rewrite && rewrite->hostname)
		puts_(&w, rewrite->hostname);
	else
		put_sl(&w, req->host);
	put(&w, "\r\n", 2);

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct gw_http_header *h = &req->headers[i];

		if (sl_ieq(h->name, "host") || sl_ieq(h->name, "connection") ||
		    sl_ieq(h->name, "keep-alive") || sl_ieq(h->name, "proxy-connection") ||
		    sl_ieq(h->name, "te") || (sl_ieq(h->name, "upgrade") && !req->fr.upgrade))
			continue;
		if (ctx->client_addr &&
		    (sl_ieq(h->name, "x-forwarded-for") || sl_ieq(h->name, "x-forwarded-proto") ||
		     sl_ieq(h->name, "x-forwarded-host")))
			continue;
		if (named_by_connection(req, h->name) && !sl_ieq(h->name, "upgrade"))
			continue;
		if (any_mod_drops(a, be, GW_FILTER_REQUEST_HEADER, h->name))
			continue;
		put_sl(&w, h->name);
		put(&w, ": ", 2);
		put_sl(&w, h->value);
		put(&w, "\r\n", 2);
	}
	emit_mods(&w, a, be, GW_FILTER_REQUEST_HEADER);

	if (ctx->client_addr) {
		bool first = true;

		/* one X-Forwarded-For line: what came in, then the client */
		puts_(&w, "X-Forwarded-For: ");
		for (size_t i = 0; i < req->n_headers; i++) {
			if (!sl_ieq(req->headers[i].name, "x-forwarded-for") ||
			    !req->headers[i].value.len)
				continue;
			if (!first)
				put(&w, ", ", 2);
			put_sl(&w, req->headers[i].value);
			first = false;
		}
		if (!first)
			put(&w, ", ", 2);
		puts_(&w, ctx->client_addr);
		put(&w, "\r\n", 2);
		put_hdr(&w, "X-Forwarded-Proto", ctx->scheme ? ctx->scheme : "http");
		if (req->host.len) {
			puts_(&w, "X-Forwarded-Host: ");
			put_sl(&w, req->host);
			put(&w, "\r\n", 2);
		}
	}
	if (req->fr.upgrade)
		puts_(&w, "Connection: upgrade\r\n");
	if (ctx->extra)
		put(&w, ctx->extra, ctx->extra_len);
	put(&w, "\r\n", 2);
	err = wr_done(&w);
out:
	return err;
}

int gw_filter_response(const struct gw_filter_result *fr, const struct gw_http_resp *resp,
		       const char *extra, size_t extra_len, char *out, size_t cap)
{
	struct wr w = { out, cap, 0, false };
	const struct gw_ir_action *a;
	const struct gw_ir_backend *be;
	bool cors;

	if (!fr || !resp || (!out && cap))
		return -EINVAL;
	a = fr->action;
	be = fr->backend;
	cors = fr->cors && fr->cors_filter;

	puts_(&w, "HTTP/1.1 ");
	put_u(&w, (unsigned long)resp->status);
	put(&w, " ", 1);
	if (resp->reason.len)
		put_sl(&w, resp->reason);
	else
		puts_(&w, reason(resp->status));
	put(&w, "\r\n", 2);

	for (size_t i = 0; i < resp->n_headers; i++) {
		const struct gw_http_header *h = &resp->headers[i];

		if (sl_ieq(h->name, "connection") || sl_ieq(h->name, "keep-alive") ||
		    sl_ieq(h->name, "proxy-connection"))
			continue;
		/* the gateway's CORS answer replaces the backend's */
		if (cors && h->name.len > 15 &&
		    (sl_ieq(h->name, "access-control-allow-origin") ||
		     sl_ieq(h->name, "access-control-allow-credentials") ||
		     sl_ieq(h->name, "access-control-expose-headers")))
			continue;
		if (any_mod_drops(a, be, GW_FILTER_RESPONSE_HEADER, h->name))
			continue;
		put_sl(&w, h->name);
		put(&w, ": ", 2);
		put_sl(&w, h->value);
		put(&w, "\r\n", 2);
	}
	emit_mods(&w, a, be, GW_FILTER_RESPONSE_HEADER);
	if (cors)
		put_cors_common(&w, fr->cors_filter, fr->origin, fr->origin_len);
	if (extra)
		put(&w, extra, extra_len);
	put(&w, "\r\n", 2);
	return wr_done(&w);
}
