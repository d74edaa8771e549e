/* model/model.c - decodes validated document trees into the typed model.
 *
 * Objects reaching here passed schema validation, so decoding is lenient:
 * a missing optional field takes the CRD default, and a field of a surprising
 * type is treated as absent rather than failing the whole translation. The
 * semantic checks (references, conflicts, attachment) are the translator's.
 */
#include "gwbpf/api.h"

#include <stdarg.h>
#include <stdio.h>

#include "gwbpf/arena.h"
#include "gwbpf/b64.h"
#include "gwbpf/model.h"
#include "gwbpf/node.h"

struct dec {
	struct gw_arena *a;
	bool oom;
};

static void *dalloc(struct dec *d, size_t size)
{
	void *p = gw_arena_alloc(d->a, size ? size : 1);

	if (!p)
		d->oom = true;
	return p;
}

#define dnew(d, type, n) ((type *)dalloc((d), sizeof(type) * (n)))

static const char *str_or(const struct gw_node *n, const char *path, const char *dflt)
{
	const char *s = gw_node_str(n, path);

	return s ? s : dflt;
}

static const char *str_nonempty(const struct gw_node *n, const char *path)
{
	const char *s = gw_node_str(n, path);

	return s && *s ? s : NULL;
}

static int32_t int_or(const struct gw_node *n, const char *path, int32_t dflt)
{
	int64_t v;

	if (gw_node_int(n, path, &v))
		return (int32_t)v;
	return dflt;
}

static size_t seq_len(const struct gw_node *n)
{
	return gw_node_is_seq(n) ? n->n_items : 0;
}

static const char **dec_str_list(struct dec *d, const struct gw_node *seq, size_t *n_out)
{
	size_t n = seq_len(seq), k = 0;
	const char **v;

	*n_out = 0;
	if (!n)
		return NULL;
	v = dnew(d, const char *, n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (gw_node_is_scalar(seq->items[i]))
			v[k++] = seq->items[i]->str;
	*n_out = k;
	return v;
}

enum gw_m_kind gw_model_kind(const struct gw_object *o)
{
	static const struct {
		const char *group, *kind;
		enum gw_m_kind k;
	} tab[] = {
		{ GW_GROUP_GATEWAY, "GatewayClass", GW_K_GATEWAYCLASS },
		{ GW_GROUP_GATEWAY, "Gateway", GW_K_GATEWAY },
		{ GW_GROUP_GATEWAY, "ListenerSet", GW_K_LISTENERSET },
		{ GW_GROUP_GATEWAY, "HTTPRoute", GW_K_HTTPROUTE },
		{ GW_GROUP_GATEWAY, "GRPCRoute", GW_K_GRPCROUTE },
		{ GW_GROUP_GATEWAY, "TLSRoute", GW_K_TLSROUTE },
		{ GW_GROUP_GATEWAY, "TCPRoute", GW_K_TCPROUTE },
		{ GW_GROUP_GATEWAY, "UDPRoute", GW_K_UDPROUTE },
		{ GW_GROUP_GATEWAY, "ReferenceGrant", GW_K_REFERENCEGRANT },
		{ GW_GROUP_GATEWAY, "BackendTLSPolicy", GW_K_BACKENDTLSPOLICY },
		{ "", "Service", GW_K_SERVICE },
		{ "", "Secret", GW_K_SECRET },
		{ "", "ConfigMap", GW_K_CONFIGMAP },
		{ "", "Namespace", GW_K_NAMESPACE },
		{ "discovery.k8s.io", "EndpointSlice", GW_K_ENDPOINTSLICE },
		{ "networking.k8s.io", "Ingress", GW_K_INGRESS },
	};

	if (!o || !o->kind)
		return GW_K_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (!strcmp(o->kind, tab[i].kind) && !strcmp(o->group ? o->group : "", tab[i].group))
			return tab[i].k;
	return GW_K_UNKNOWN;
}

bool gw_model_kind_is_route(enum gw_m_kind k)
{
	return k == GW_K_HTTPROUTE || k == GW_K_GRPCROUTE || k == GW_K_TLSROUTE ||
	       k == GW_K_TCPROUTE || k == GW_K_UDPROUTE;
}

static void dec_selector(struct dec *d, const struct gw_node *n, struct gw_m_selector *sel)
{
	const struct gw_node *ml = gw_node_get(n, "matchLabels");
	const struct gw_node *me = gw_node_get(n, "matchExpressions");

	memset(sel, 0, sizeof(*sel));
	if (gw_node_is_map(ml) && ml->n_items) {
		sel->labels = dnew(d, struct gw_m_kv, ml->n_items);
		if (!sel->labels)
			return;
		for (size_t i = 0; i < ml->n_items; i++) {
			if (!gw_node_is_scalar(ml->items[i]))
				continue;
			sel->labels[sel->n_labels].key = ml->items[i]->key;
			sel->labels[sel->n_labels++].value = ml->items[i]->str;
		}
	}
	if (seq_len(me)) {
		sel->exprs = dnew(d, struct gw_m_sel_expr, me->n_items);
		if (!sel->exprs)
			return;
		for (size_t i = 0; i < me->n_items; i++) {
			struct gw_m_sel_expr *e = &sel->exprs[sel->n_exprs++];
			const char *op = str_or(me->items[i], "operator", "");

			e->key = str_or(me->items[i], "key", "");
			if (!strcmp(op, "In"))
				e->op = GW_SEL_IN;
			else if (!strcmp(op, "NotIn"))
				e->op = GW_SEL_NOT_IN;
			else if (!strcmp(op, "Exists"))
				e->op = GW_SEL_EXISTS;
			else if (!strcmp(op, "DoesNotExist"))
				e->op = GW_SEL_DOES_NOT_EXIST;
			else
				sel->invalid = true;
			e->values = dec_str_list(d, gw_node_get(me->items[i], "values"), &e->n_values);
		}
	}
}

static enum gw_m_from dec_from(const char *s, enum gw_m_from dflt)
{
	if (!s)
		return dflt;
	if (!strcmp(s, "All"))
		return GW_FROM_ALL;
	if (!strcmp(s, "Selector"))
		return GW_FROM_SELECTOR;
	if (!strcmp(s, "None"))
		return GW_FROM_NONE;
	return GW_FROM_SAME;
}

static void dec_obj_ref(const struct gw_node *n, struct gw_m_obj_ref *r, const char *dgroup,
			const char *dkind)
{
	r->group = str_or(n, "group", dgroup);
	r->kind = str_or(n, "kind", dkind);
	r->ns = str_nonempty(n, "namespace");
	r->name = str_or(n, "name", "");
}

static struct gw_m_listener *dec_listeners(struct dec *d, const struct gw_node *seq, size_t *n_out)
{
	size_t n = seq_len(seq);
	struct gw_m_listener *v;

	*n_out = 0;
	if (!n)
		return NULL;
	v = dnew(d, struct gw_m_listener, n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct gw_node *ln = seq->items[i];
		const struct gw_node *tls = gw_node_get(ln, "tls");
		const struct gw_node *refs = gw_node_path(ln, "tls.certificateRefs");
		const struct gw_node *kinds = gw_node_path(ln, "allowedRoutes.kinds");
		struct gw_m_listener *l = &v[i];

		l->index = i;
		l->name = str_or(ln, "name", "");
		l->hostname = str_nonempty(ln, "hostname");
		l->protocol = str_or(ln, "protocol", "");
		l->port = int_or(ln, "port", 0);
		if (gw_node_is_map(tls))
			l->tls_mode = str_or(tls, "mode", "Terminate");
		if (seq_len(refs)) {
			l->cert_refs = dnew(d, struct gw_m_obj_ref, refs->n_items);
			if (!l->cert_refs)
				return NULL;
			for (size_t j = 0; j < refs->n_items; j++)
				dec_obj_ref(refs->items[j], &l->cert_refs[j], "", "Secret");
			l->n_cert_refs = refs->n_items;
		}
		l->from = dec_from(gw_node_str(ln, "allowedRoutes.namespaces.from"), GW_FROM_SAME);
		dec_selector(d, gw_node_path(ln, "allowedRoutes.namespaces.selector"), &l->selector);
		if (gw_node_is_seq(kinds)) {
			l->kinds_set = true;
			l->kinds = dnew(d, struct gw_m_group_kind, kinds->n_items);
			if (!l->kinds)
				return NULL;
			for (size_t j = 0; j < kinds->n_items; j++) {
				l->kinds[j].group = str_or(kinds->items[j], "group", GW_GROUP_GATEWAY);
				l->kinds[j].kind = str_or(kinds->items[j], "kind", "");
			}
			l->n_kinds = kinds->n_items;
		}
	}
	*n_out = n;
	return v;
}

static void dec_gateway(struct dec *d, struct gw_object *o, struct gw_m_gateway *g)
{
	const struct gw_node *spec = gw_node_get(o->root, "spec");
	const struct gw_node *addrs = gw_node_get(spec, "addresses");
	const struct gw_node *pref = gw_node_path(spec, "infrastructure.parametersRef");

	g->obj = o;
	g->class_name = str_or(spec, "gatewayClassName", "");
	g->listeners = dec_listeners(d, gw_node_get(spec, "listeners"), &g->n_listeners);
	if (seq_len(addrs)) {
		g->addresses = dnew(d, struct gw_m_address, addrs->n_items);
		if (!g->addresses)
			return;
		for (size_t i = 0; i < addrs->n_items; i++) {
			g->addresses[i].type = str_or(addrs->items[i], "type", "IPAddress");
			g->addresses[i].value = str_nonempty(addrs->items[i], "value");
		}
		g->n_addresses = addrs->n_items;
	}
	g->allowed_listeners =
		dec_from(gw_node_str(spec, "allowedListeners.namespaces.from"), GW_FROM_NONE);
	dec_selector(d, gw_node_path(spec, "allowedListeners.namespaces.selector"),
		     &g->listeners_selector);
	if (gw_node_is_map(pref)) {
		g->has_infra_params = true;
		dec_obj_ref(pref, &g->infra_params, "", "");
	}
}

static void dec_parents(struct dec *d, const struct gw_node *seq, struct gw_m_route *r)
{
	size_t n = seq_len(seq);

	if (!n)
		return;
	r->parents = dnew(d, struct gw_m_parent_ref, n);
	if (!r->parents)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct gw_node *pn = seq->items[i];
		struct gw_m_parent_ref *p = &r->parents[i];

		p->group_set = gw_node_get(pn, "group") != NULL;
		p->kind_set = gw_node_get(pn, "kind") != NULL;
		p->ns_set = gw_node_get(pn, "namespace") != NULL;
		p->group = str_or(pn, "group", GW_GROUP_GATEWAY);
		p->kind = str_or(pn, "kind", "Gateway");
		p->ns = str_nonempty(pn, "namespace");
		if (!p->ns)
			p->ns = r->obj->ns;
		p->name = str_or(pn, "name", "");
		p->section = str_nonempty(pn, "sectionName");
		p->port = int_or(pn, "port", 0);
	}
	r->n_parents = n;
}

static void dec_header_mod(struct dec *d, const struct gw_node *n, struct gw_m_header_mod *h)
{
	static const char *const keys[] = { "set", "add" };

	for (size_t k = 0; k < 2; k++) {
		const struct gw_node *seq = gw_node_get(n, keys[k]);
		size_t cnt = seq_len(seq);
		struct gw_m_kv *v;

		if (!cnt)
			continue;
		v = dnew(d, struct gw_m_kv, cnt);
		if (!v)
			return;
		for (size_t i = 0; i < cnt; i++) {
			v[i].key = str_or(seq->items[i], "name", "");
			v[i].value = str_or(seq->items[i], "value", "");
		}
		if (k == 0) {
			h->set = v;
			h->n_set = cnt;
		} else {
			h->add = v;
			h->n_add = cnt;
		}
	}
	h->remove = dec_str_list(d, gw_node_get(n, "remove"), &h->n_remove);
}

static void dec_backend(struct dec *d, const struct gw_node *bn, const char *route_ns,
			struct gw_m_backend_ref *b, bool with_filters);

static struct gw_m_filter *dec_filters(struct dec *d, const struct gw_node *seq,
				       const char *route_ns, size_t *n_out)
{
	size_t n = seq_len(seq);
	struct gw_m_filter *v;

	*n_out = 0;
	if (!n)
		return NULL;
	v = dnew(d, struct gw_m_filter, n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct gw_node *fn = seq->items[i];
		const char *t = str_or(fn, "type", "");
		struct gw_m_filter *f = &v[i];
		const struct gw_node *x;

		f->type_name = t;
		f->max_age = -1;
		if (!strcmp(t, "RequestHeaderModifier")) {
			f->type = GW_MF_REQUEST_HEADER;
			dec_header_mod(d, gw_node_get(fn, "requestHeaderModifier"), &f->hdr);
		} else if (!strcmp(t, "ResponseHeaderModifier")) {
			f->type = GW_MF_RESPONSE_HEADER;
			dec_header_mod(d, gw_node_get(fn, "responseHeaderModifier"), &f->hdr);
		} else if (!strcmp(t, "RequestRedirect") || !strcmp(t, "URLRewrite")) {
			bool redir = t[1] == 'e';

			x = gw_node_get(fn, redir ? "requestRedirect" : "urlRewrite");
			f->type = redir ? GW_MF_REDIRECT : GW_MF_REWRITE;
			f->scheme = str_nonempty(x, "scheme");
			f->hostname = str_nonempty(x, "hostname");
			f->port = int_or(x, "port", 0);
			f->status_code = int_or(x, "statusCode", 302);
			f->path.type = str_nonempty(x, "path.type");
			if (f->path.type)
				f->path.value = gw_node_str(x, !strcmp(f->path.type, "ReplaceFullPath") ?
								       "path.replaceFullPath" :
								       "path.replacePrefixMatch");
		} else if (!strcmp(t, "RequestMirror")) {
			x = gw_node_get(fn, "requestMirror");
			f->type = GW_MF_MIRROR;
			f->mirror = dnew(d, struct gw_m_backend_ref, 1);
			if (!f->mirror)
				return NULL;
			dec_backend(d, gw_node_get(x, "backendRef"), route_ns, f->mirror, false);
			f->num = 1;
			f->den = 1;
			if (gw_node_get(x, "percent")) {
				f->num = (uint32_t)int_or(x, "percent", 100);
				f->den = 100;
			} else if (gw_node_get(x, "fraction")) {
				f->num = (uint32_t)int_or(x, "fraction.numerator", 1);
				f->den = (uint32_t)int_or(x, "fraction.denominator", 100);
			}
		} else if (!strcmp(t, "CORS")) {
			x = gw_node_get(fn, "cors");
			f->type = GW_MF_CORS;
			f->allow_origins = dec_str_list(d, gw_node_get(x, "allowOrigins"),
							&f->n_allow_origins);
			f->allow_methods = dec_str_list(d, gw_node_get(x, "allowMethods"),
							&f->n_allow_methods);
			f->allow_headers = dec_str_list(d, gw_node_get(x, "allowHeaders"),
							&f->n_allow_headers);
			f->expose_headers = dec_str_list(d, gw_node_get(x, "exposeHeaders"),
							 &f->n_expose_headers);
			gw_node_bool(x, "allowCredentials", &f->allow_credentials);
			f->max_age = int_or(x, "maxAge", -1);
		} else {
			f->type = GW_MF_UNSUPPORTED;
		}
	}
	*n_out = n;
	return v;
}

static void dec_backend(struct dec *d, const struct gw_node *bn, const char *route_ns,
			struct gw_m_backend_ref *b, bool with_filters)
{
	b->group = str_or(bn, "group", "");
	if (!strcmp(b->group, "core"))
		b->group = "";
	b->kind = str_or(bn, "kind", "Service");
	b->ns = str_nonempty(bn, "namespace");
	if (!b->ns)
		b->ns = route_ns;
	b->name = str_or(bn, "name", "");
	b->port = int_or(bn, "port", 0);
	b->weight = (uint32_t)int_or(bn, "weight", 1);
	if (with_filters)
		b->filters = dec_filters(d, gw_node_get(bn, "filters"), route_ns, &b->n_filters);
}

static struct gw_m_str_match *dec_str_matches(struct dec *d, const struct gw_node *seq,
					      size_t *n_out)
{
	size_t n = seq_len(seq);
	struct gw_m_str_match *v;

	*n_out = 0;
	if (!n)
		return NULL;
	v = dnew(d, struct gw_m_str_match, n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i].regex = !strcmp(str_or(seq->items[i], "type", "Exact"), "RegularExpression");
		v[i].name = str_or(seq->items[i], "name", "");
		v[i].value = str_or(seq->items[i], "value", "");
	}
	*n_out = n;
	return v;
}

static char *dsprintf(struct dec *d, const char *fmt, ...) GW_PRINTF(2, 3);
static char *dsprintf(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	int len;
	char *s;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = dalloc(d, (size_t)len + 1);
	if (s) {
		va_start(ap, fmt);
		vsnprintf(s, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	return s;
}

/* GRPCRoute method matches become HTTP/2 :path matches: "/service/method" */
static void dec_grpc_method(struct dec *d, const struct gw_node *mn, struct gw_m_match *m)
{
	const char *svc = str_nonempty(mn, "service");
	const char *meth = str_nonempty(mn, "method");
	bool regex = !strcmp(str_or(mn, "type", "Exact"), "RegularExpression");

	m->path = "/";
	m->path_type = GW_M_PATH_PREFIX;
	if (!svc && !meth)
		return;
	if (regex) {
		m->path_type = GW_M_PATH_REGEX;
		m->path = dsprintf(d, "/(?:%s)/(?:%s)", svc ? svc : "[^/]+", meth ? meth : "[^/]+");
	} else if (svc && meth) {
		m->path_type = GW_M_PATH_EXACT;
		m->path = dsprintf(d, "/%s/%s", svc, meth);
	} else if (svc) {
		m->path = dsprintf(d, "/%s", svc);
	} else {
		/* a method in any service: no literal form; a regex says it exactly */
		m->path_type = GW_M_PATH_REGEX;
		m->path = dsprintf(d, "/[^/]+/%s", meth);
	}
}

static void dec_matches(struct dec *d, const struct gw_node *seq, bool grpc, struct gw_m_rule *r)
{
	size_t n = seq_len(seq);

	if (!n) {
		r->matches = dnew(d, struct gw_m_match, 1);
		if (!r->matches)
			return;
		r->matches[0].path = "/";
		r->n_matches = 1;
		return;
	}
	r->matches = dnew(d, struct gw_m_match, n);
	if (!r->matches)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct gw_node *mn = seq->items[i];
		struct gw_m_match *m = &r->matches[i];

		if (grpc) {
			dec_grpc_method(d, gw_node_get(mn, "method"), m);
		} else {
			const char *t = str_or(mn, "path.type", "PathPrefix");

			m->path = str_or(mn, "path.value", "/");
			m->path_type = !strcmp(t, "Exact")		? GW_M_PATH_EXACT :
				       !strcmp(t, "RegularExpression") ? GW_M_PATH_REGEX :
									 GW_M_PATH_PREFIX;
			m->method = str_nonempty(mn, "method");
			m->queries = dec_str_matches(d, gw_node_get(mn, "queryParams"),
						     &m->n_queries);
		}
		m->headers = dec_str_matches(d, gw_node_get(mn, "headers"), &m->n_headers);
	}
	r->n_matches = n;
}

static void dec_route(struct dec *d, struct gw_object *o, enum gw_m_kind k, struct gw_m_route *r)
{
	const struct gw_node *spec = gw_node_get(o->root, "spec");
	const struct gw_node *rules = gw_node_get(spec, "rules");
	size_t n = seq_len(rules);

	r->obj = o;
	r->kind = k;
	dec_parents(d, gw_node_get(spec, "parentRefs"), r);
	r->hostnames = dec_str_list(d, gw_node_get(spec, "hostnames"), &r->n_hostnames);
	if (!n)
		return;
	r->rules = dnew(d, struct gw_m_rule, n);
	if (!r->rules)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct gw_node *rn = rules->items[i];
		const struct gw_node *brs = gw_node_get(rn, "backendRefs");
		const struct gw_node *retry = gw_node_get(rn, "retry");
		struct gw_m_rule *rule = &r->rules[i];

		rule->name = str_nonempty(rn, "name");
		if (k == GW_K_HTTPROUTE || k == GW_K_GRPCROUTE) {
			dec_matches(d, gw_node_get(rn, "matches"), k == GW_K_GRPCROUTE, rule);
			rule->filters = dec_filters(d, gw_node_get(rn, "filters"), o->ns,
						    &rule->n_filters);
		}
		rule->backends_set = brs != NULL;
		if (seq_len(brs)) {
			rule->backends = dnew(d, struct gw_m_backend_ref, brs->n_items);
			if (!rule->backends)
				return;
			for (size_t j = 0; j < brs->n_items; j++)
				dec_backend(d, brs->items[j], o->ns, &rule->backends[j], true);
			rule->n_backends = brs->n_items;
		}
		rule->timeout_request = str_nonempty(rn, "timeouts.request");
		rule->timeout_backend = str_nonempty(rn, "timeouts.backendRequest");
		if (gw_node_is_map(retry)) {
			const struct gw_node *codes = gw_node_get(retry, "codes");

			rule->has_retry = true;
			rule->retry_attempts = int_or(retry, "attempts", 0);
			rule->retry_backoff = str_nonempty(retry, "backoff");
			if (seq_len(codes)) {
				rule->retry_codes = dnew(d, int32_t, codes->n_items);
				if (!rule->retry_codes)
					return;
				for (size_t j = 0; j < codes->n_items; j++) {
					int64_t c = 0;

					if (gw_node_is_scalar(codes->items[j]))
						c = strtol(codes->items[j]->str, NULL, 10);
					rule->retry_codes[rule->n_retry_codes++] = (int32_t)c;
				}
			}
		}
	}
	r->n_rules = n;
}

static void dec_ingress_backend(struct dec *d, const struct gw_node *bn, const char *ns,
				struct gw_m_rule *rule)
{
	const struct gw_node *svc = gw_node_get(bn, "service");

	rule->backends_set = true;
	if (!gw_node_is_map(svc)) {
		/* spec.backend.resource: not a Service, so InvalidKind */
		rule->backends = dnew(d, struct gw_m_backend_ref, 1);
		if (!rule->backends)
			return;
		rule->backends[0].group = str_or(bn, "resource.apiGroup", "");
		rule->backends[0].kind = str_or(bn, "resource.kind", "Unknown");
		rule->backends[0].ns = ns;
		rule->backends[0].name = str_or(bn, "resource.name", "");
		rule->backends[0].weight = 1;
		rule->n_backends = 1;
		return;
	}
	rule->backends = dnew(d, struct gw_m_backend_ref, 1);
	if (!rule->backends)
		return;
	rule->backends[0].group = "";
	rule->backends[0].kind = "Service";
	rule->backends[0].ns = ns;
	rule->backends[0].name = str_or(svc, "name", "");
	rule->backends[0].port = int_or(svc, "port.number", 0);
	rule->backends[0].port_name = str_nonempty(svc, "port.name");
	rule->backends[0].weight = 1;
	rule->n_backends = 1;
}

/* One Ingress becomes one route per spec.rules[] entry (each has its own
 * host), plus one for spec.defaultBackend; *n_out routes are written. */
static struct gw_m_route *dec_ingress(struct dec *d, struct gw_object *o, size_t *n_out)
{
	const struct gw_node *spec = gw_node_get(o->root, "spec");
	const struct gw_node *rules = gw_node_get(spec, "rules");
	const struct gw_node *defb = gw_node_get(spec, "defaultBackend");
	const struct gw_node *tls = gw_node_get(spec, "tls");
	size_t n = seq_len(rules) + (defb ? 1 : 0), k = 0, n_tls = 0;
	struct gw_m_route *v;
	struct gw_m_kv *tv = NULL;

	*n_out = 0;
	for (size_t i = 0; i < seq_len(tls); i++)
		n_tls += GW_MAX(seq_len(gw_node_get(tls->items[i], "hosts")), (size_t)1);
	if (n_tls) {
		tv = dnew(d, struct gw_m_kv, n_tls);
		if (!tv)
			return NULL;
		n_tls = 0;
		for (size_t i = 0; i < seq_len(tls); i++) {
			const struct gw_node *hosts = gw_node_get(tls->items[i], "hosts");
			const char *sn = str_or(tls->items[i], "secretName", "");

			if (!seq_len(hosts)) {
				tv[n_tls].key = "";
				tv[n_tls++].value = sn;
			}
			for (size_t j = 0; j < seq_len(hosts); j++) {
				tv[n_tls].key = hosts->items[j]->str ? hosts->items[j]->str : "";
				tv[n_tls++].value = sn;
			}
		}
	}
	if (!n)
		n = 1; /* keep the Ingress visible (it gets status) even with nothing to route */
	v = dnew(d, struct gw_m_route, n);
	if (!v)
		return NULL;
	for (size_t i = 0; i < seq_len(rules); i++) {
		const struct gw_node *rn = rules->items[i];
		const struct gw_node *paths = gw_node_path(rn, "http.paths");
		struct gw_m_route *r = &v[k++];
		const char *host = str_nonempty(rn, "host");

		r->obj = o;
		r->kind = GW_K_INGRESS;
		r->ingress_tls = tv;
		r->n_ingress_tls = n_tls;
		if (host) {
			r->hostnames = dnew(d, const char *, 1);
			if (!r->hostnames)
				return NULL;
			r->hostnames[0] = host;
			r->n_hostnames = 1;
		}
		if (!seq_len(paths))
			continue;
		r->rules = dnew(d, struct gw_m_rule, paths->n_items);
		if (!r->rules)
			return NULL;
		for (size_t j = 0; j < paths->n_items; j++) {
			const struct gw_node *pn = paths->items[j];
			struct gw_m_rule *rule = &r->rules[j];
			const char *pt = str_or(pn, "pathType", "Prefix");

			rule->matches = dnew(d, struct gw_m_match, 1);
			if (!rule->matches)
				return NULL;
			rule->n_matches = 1;
			rule->matches[0].path = str_or(pn, "path", "/");
			rule->matches[0].path_type = !strcmp(pt, "Exact") ? GW_M_PATH_EXACT :
									    GW_M_PATH_PREFIX;
			dec_ingress_backend(d, gw_node_get(pn, "backend"), o->ns, rule);
		}
		r->n_rules = paths->n_items;
	}
	if (defb || !k) {
		struct gw_m_route *r = &v[k++];

		r->obj = o;
		r->kind = GW_K_INGRESS;
		r->ingress_tls = tv;
		r->n_ingress_tls = n_tls;
		if (defb) {
			r->rules = dnew(d, struct gw_m_rule, 1);
			if (!r->rules)
				return NULL;
			r->rules[0].matches = dnew(d, struct gw_m_match, 1);
			if (!r->rules[0].matches)
				return NULL;
			r->rules[0].matches[0].path = "/";
			r->rules[0].n_matches = 1;
			dec_ingress_backend(d, defb, o->ns, &r->rules[0]);
			r->n_rules = 1;
		}
	}
	*n_out = k;
	return v;
}

/* b64_decode() : base64 into a new NUL-terminated arena string; NULL when it
 * is not base64 (util/b64.c) */
static char *b64_decode(struct dec *d, const char *in)
{
	size_t len = strlen(in);
	char *out = dalloc(d, gw_b64_decoded_max(len));

	if (!out || gw_b64_decode(in, len, out, NULL))
		return NULL;
	return out;
}

static void dec_secret(struct dec *d, struct gw_object *o, struct gw_m_secret *s)
{
	const struct gw_node *data = gw_node_get(o->root, "data");
	const struct gw_node *sdata = gw_node_get(o->root, "stringData");

	s->obj = o;
	s->type = str_or(o->root, "type", "Opaque");
	/* stringData is write-only in the API server but a file may carry it */
	for (size_t i = 0; gw_node_is_map(sdata) && i < sdata->n_items; i++)
		if (!gw_node_is_scalar(sdata->items[i]))
			continue;
		else if (!strcmp(sdata->items[i]->key, "tls.crt"))
			s->cert_pem = sdata->items[i]->str;
		else if (!strcmp(sdata->items[i]->key, "tls.key"))
			s->key_pem = sdata->items[i]->str;
	for (size_t i = 0; gw_node_is_map(data) && i < data->n_items; i++) {
		const struct gw_node *it = data->items[i];

		if (!gw_node_is_scalar(it))
			continue;
		if (!strcmp(it->key, "tls.crt"))
			s->cert_pem = b64_decode(d, it->str);
		else if (!strcmp(it->key, "tls.key"))
			s->key_pem = b64_decode(d, it->str);
	}
}

static void dec_slice(struct dec *d, struct gw_object *o, struct gw_m_endpoint_slice *s)
{
	const struct gw_node *ports = gw_node_get(o->root, "ports");
	const struct gw_node *eps = gw_node_get(o->root, "endpoints");

	s->obj = o;
	s->service = gw_node_str(o->labels, "kubernetes.io/service-name");
	if (!s->service && gw_node_is_map(o->labels))
		for (size_t i = 0; i < o->labels->n_items; i++)
			if (!strcmp(o->labels->items[i]->key, "kubernetes.io/service-name"))
				s->service = o->labels->items[i]->str;
	if (seq_len(ports)) {
		s->ports = dnew(d, struct gw_m_eps_port, ports->n_items);
		if (!s->ports)
			return;
		for (size_t i = 0; i < ports->n_items; i++) {
			s->ports[i].name = str_or(ports->items[i], "name", "");
			s->ports[i].port = int_or(ports->items[i], "port", 0);
		}
		s->n_ports = ports->n_items;
	}
	if (seq_len(eps)) {
		s->endpoints = dnew(d, struct gw_m_endpoint, eps->n_items);
		if (!s->endpoints)
			return;
		for (size_t i = 0; i < eps->n_items; i++) {
			bool ready = true;

			gw_node_bool(eps->items[i], "conditions.ready", &ready);
			s->endpoints[i].ready = ready;
			s->endpoints[i].addresses = dec_str_list(
				d, gw_node_get(eps->items[i], "addresses"), &s->endpoints[i].n_addresses);
		}
		s->n_endpoints = eps->n_items;
	}
}

static void dec_service(struct dec *d, struct gw_object *o, struct gw_m_service *s)
{
	const struct gw_node *ports = gw_node_path(o->root, "spec.ports");

	s->obj = o;
	s->type = str_or(o->root, "spec.type", "ClusterIP");
	if (!seq_len(ports))
		return;
	s->ports = dnew(d, struct gw_m_service_port, ports->n_items);
	if (!s->ports)
		return;
	for (size_t i = 0; i < ports->n_items; i++) {
		const struct gw_node *pn = ports->items[i];
		struct gw_m_service_port *p = &s->ports[i];
		const struct gw_node *tp = gw_node_get(pn, "targetPort");

		p->name = str_or(pn, "name", "");
		p->port = int_or(pn, "port", 0);
		p->app_protocol = str_nonempty(pn, "appProtocol");
		p->protocol = str_or(pn, "protocol", "TCP");
		if (gw_node_is_scalar(tp)) {
			if (tp->skind == GW_SCALAR_INT)
				p->target_port = (int32_t)strtol(tp->str, NULL, 0);
			else
				p->target_port_name = tp->str;
		}
	}
	s->n_ports = ports->n_items;
}

static void dec_grant(struct dec *d, struct gw_object *o, struct gw_m_reference_grant *g)
{
	const struct gw_node *from = gw_node_path(o->root, "spec.from");
	const struct gw_node *to = gw_node_path(o->root, "spec.to");

	g->obj = o;
	if (seq_len(from)) {
		g->from = dnew(d, struct gw_m_grant_from, from->n_items);
		if (!g->from)
			return;
		for (size_t i = 0; i < from->n_items; i++) {
			g->from[i].group = str_or(from->items[i], "group", "");
			g->from[i].kind = str_or(from->items[i], "kind", "");
			g->from[i].ns = str_or(from->items[i], "namespace", "");
		}
		g->n_from = from->n_items;
	}
	if (seq_len(to)) {
		g->to = dnew(d, struct gw_m_grant_to, to->n_items);
		if (!g->to)
			return;
		for (size_t i = 0; i < to->n_items; i++) {
			g->to[i].group = str_or(to->items[i], "group", "");
			g->to[i].kind = str_or(to->items[i], "kind", "");
			g->to[i].name = str_nonempty(to->items[i], "name");
		}
		g->n_to = to->n_items;
	}
}

static bool ingress_is_ours(const struct gw_object *o)
{
	const char *cls = gw_node_str(o->root, "spec.ingressClassName");
	const struct gw_node *ann = gw_node_path(o->root, "metadata.annotations");

	if (cls)
		return !strcmp(cls, "gwbpf");
	for (size_t i = 0; gw_node_is_map(ann) && i < ann->n_items; i++)
		if (!strcmp(ann->items[i]->key, "kubernetes.io/ingress.class") &&
		    gw_node_is_scalar(ann->items[i]))
			return !strcmp(ann->items[i]->str, "gwbpf");
	return false;
}

static int cmp_obj(const struct gw_object *a, const struct gw_object *b)
{
	int c = strcmp(a->ns ? a->ns : "", b->ns ? b->ns : "");

	return c ? c : strcmp(a->name, b->name);
}

#define DEFINE_CMP(fn, type)                                                                       \
	static int fn(const void *a, const void *b)                                                \
	{                                                                                          \
		return cmp_obj(((const type *)a)->obj, ((const type *)b)->obj);                    \
	}
DEFINE_CMP(cmp_gw, struct gw_m_gateway)
DEFINE_CMP(cmp_svc, struct gw_m_service)
DEFINE_CMP(cmp_sec, struct gw_m_secret)
DEFINE_CMP(cmp_ls, struct gw_m_listener_set)
DEFINE_CMP(cmp_ns, struct gw_m_namespace)
DEFINE_CMP(cmp_gc, struct gw_m_gatewayclass)

struct gw_model *gw_model_new(struct gw_object *const *objs, size_t n)
{
	struct gw_arena *a = gw_arena_new(65536);
	struct dec d = { .a = a };
	struct gw_model *m;
	size_t cnt[GW_K_INGRESS + 1] = { 0 }, n_routes = 0;

	if (!a)
		return NULL;
	m = dnew(&d, struct gw_model, 1);
	if (!m)
		goto fail;
	m->arena = a;
	for (size_t i = 0; i < n; i++) {
		enum gw_m_kind k = gw_model_kind(objs[i]);

		cnt[k]++;
		if (gw_model_kind_is_route(k))
			n_routes++;
		else if (k == GW_K_INGRESS && ingress_is_ours(objs[i]))
			n_routes += seq_len(gw_node_path(objs[i]->root, "spec.rules")) + 1;
	}
	m->classes = dnew(&d, struct gw_m_gatewayclass, cnt[GW_K_GATEWAYCLASS]);
	m->gateways = dnew(&d, struct gw_m_gateway, cnt[GW_K_GATEWAY]);
	m->listener_sets = dnew(&d, struct gw_m_listener_set, cnt[GW_K_LISTENERSET]);
	m->routes = dnew(&d, struct gw_m_route, n_routes);
	m->grants = dnew(&d, struct gw_m_reference_grant, cnt[GW_K_REFERENCEGRANT]);
	m->services = dnew(&d, struct gw_m_service, cnt[GW_K_SERVICE]);
	m->slices = dnew(&d, struct gw_m_endpoint_slice, cnt[GW_K_ENDPOINTSLICE]);
	m->secrets = dnew(&d, struct gw_m_secret, cnt[GW_K_SECRET]);
	m->namespaces = dnew(&d, struct gw_m_namespace, cnt[GW_K_NAMESPACE]);
	m->configmaps = dnew(&d, struct gw_object *, cnt[GW_K_CONFIGMAP]);
	if (d.oom)
		goto fail;

	for (size_t i = 0; i < n && !d.oom; i++) {
		struct gw_object *o = objs[i];
		enum gw_m_kind k = gw_model_kind(o);

		switch (k) {
		case GW_K_GATEWAYCLASS: {
			struct gw_m_gatewayclass *c = &m->classes[m->n_classes++];
			const struct gw_node *pr = gw_node_path(o->root, "spec.parametersRef");

			c->obj = o;
			c->controller = str_or(o->root, "spec.controllerName", "");
			if (gw_node_is_map(pr)) {
				c->has_params = true;
				dec_obj_ref(pr, &c->params, "", "");
			}
			break;
		}
		case GW_K_GATEWAY:
			dec_gateway(&d, o, &m->gateways[m->n_gateways++]);
			break;
		case GW_K_LISTENERSET: {
			struct gw_m_listener_set *ls = &m->listener_sets[m->n_listener_sets++];
			const struct gw_node *spec = gw_node_get(o->root, "spec");

			ls->obj = o;
			dec_obj_ref(gw_node_get(spec, "parentRef"), &ls->parent, GW_GROUP_GATEWAY,
				    "Gateway");
			ls->listeners = dec_listeners(&d, gw_node_get(spec, "listeners"),
						      &ls->n_listeners);
			break;
		}
		case GW_K_HTTPROUTE:
		case GW_K_GRPCROUTE:
		case GW_K_TLSROUTE:
		case GW_K_TCPROUTE:
		case GW_K_UDPROUTE:
			dec_route(&d, o, k, &m->routes[m->n_routes++]);
			break;
		case GW_K_INGRESS:
			if (ingress_is_ours(o)) {
				size_t k2 = 0;
				struct gw_m_route *v = dec_ingress(&d, o, &k2);

				if (v)
					memcpy(&m->routes[m->n_routes], v, k2 * sizeof(*v));
				m->n_routes += k2;
			}
			break;
		case GW_K_REFERENCEGRANT:
			dec_grant(&d, o, &m->grants[m->n_grants++]);
			break;
		case GW_K_SERVICE:
			dec_service(&d, o, &m->services[m->n_services++]);
			break;
		case GW_K_ENDPOINTSLICE:
			dec_slice(&d, o, &m->slices[m->n_slices++]);
			break;
		case GW_K_SECRET:
			dec_secret(&d, o, &m->secrets[m->n_secrets++]);
			break;
		case GW_K_NAMESPACE:
			m->namespaces[m->n_namespaces].obj = o;
			m->namespaces[m->n_namespaces++].labels = o->labels;
			break;
		case GW_K_CONFIGMAP:
			m->configmaps[m->n_configmaps++] = o;
			break;
		default:
			break;
		}
	}
	if (d.oom)
		goto fail;
	qsort(m->classes, m->n_classes, sizeof(*m->classes), cmp_gc);
	qsort(m->gateways, m->n_gateways, sizeof(*m->gateways), cmp_gw);
	qsort(m->services, m->n_services, sizeof(*m->services), cmp_svc);
	qsort(m->secrets, m->n_secrets, sizeof(*m->secrets), cmp_sec);
	qsort(m->listener_sets, m->n_listener_sets, sizeof(*m->listener_sets), cmp_ls);
	qsort(m->namespaces, m->n_namespaces, sizeof(*m->namespaces), cmp_ns);
	return m;
fail:
	gw_arena_free(a);
	errno = ENOMEM;
	return NULL;
}

void gw_model_free(struct gw_model *m)
{
	if (m)
		gw_arena_free(m->arena);
}

/* binary search over an array sorted by (ns, name) of structs whose first
 * member is the object pointer */
static void *bsearch_obj(const void *base, size_t n, size_t size, const char *ns, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct gw_object *o = *(struct gw_object *const *)((const char *)base +
									 mid * size);
		int c = strcmp(o->ns ? o->ns : "", ns ? ns : "");

		if (!c)
			c = strcmp(o->name, name);
		if (!c)
			return (char *)base + mid * size;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct gw_m_service *gw_model_service(const struct gw_model *m, const char *ns, const char *name)
{
	return bsearch_obj(m->services, m->n_services, sizeof(*m->services), ns, name);
}

struct gw_m_secret *gw_model_secret(const struct gw_model *m, const char *ns, const char *name)
{
	return bsearch_obj(m->secrets, m->n_secrets, sizeof(*m->secrets), ns, name);
}

struct gw_m_gateway *gw_model_gateway(const struct gw_model *m, const char *ns, const char *name)
{
	return bsearch_obj(m->gateways, m->n_gateways, sizeof(*m->gateways), ns, name);
}

struct gw_m_gatewayclass *gw_model_class(const struct gw_model *m, const char *name)
{
	return bsearch_obj(m->classes, m->n_classes, sizeof(*m->classes), "", name);
}

struct gw_node *gw_model_ns_labels(const struct gw_model *m, const char *ns, bool *exists)
{
	struct gw_m_namespace *n =
		bsearch_obj(m->namespaces, m->n_namespaces, sizeof(*m->namespaces), "", ns);

	*exists = n != NULL;
	return n ? n->labels : NULL;
}

/* label lookup by exact key: keys contain dots and slashes, so no paths */
static const char *label_get(const struct gw_node *labels, const char *ns, const char *key)
{
	if (!strcmp(key, "kubernetes.io/metadata.name"))
		return ns;
	for (size_t i = 0; gw_node_is_map(labels) && i < labels->n_items; i++)
		if (!strcmp(labels->items[i]->key, key))
			return gw_node_is_scalar(labels->items[i]) ? labels->items[i]->str : "";
	return NULL;
}

bool gw_model_selector_match(const struct gw_model *m, const struct gw_m_selector *sel,
			     const char *ns)
{
	bool exists;
	const struct gw_node *labels = gw_model_ns_labels(m, ns, &exists);

	if (sel->invalid)
		return false;
	for (size_t i = 0; i < sel->n_labels; i++) {
		const char *v = label_get(labels, ns, sel->labels[i].key);

		if (!v || strcmp(v, sel->labels[i].value))
			return false;
	}
	for (size_t i = 0; i < sel->n_exprs; i++) {
		const struct gw_m_sel_expr *e = &sel->exprs[i];
		const char *v = label_get(labels, ns, e->key);
		bool in = false;

		for (size_t j = 0; v && j < e->n_values; j++)
			if (!strcmp(v, e->values[j]))
				in = true;
		switch (e->op) {
		case GW_SEL_IN:
			if (!in)
				return false;
			break;
		case GW_SEL_NOT_IN:
			if (in)
				return false;
			break;
		case GW_SEL_EXISTS:
			if (!v)
				return false;
			break;
		case GW_SEL_DOES_NOT_EXIST:
			if (v)
				return false;
			break;
		}
	}
	return true;
}

bool gw_model_grant_allows(const struct gw_model *m, const char *from_group, const char *from_kind,
			   const char *from_ns, const char *to_group, const char *to_kind,
			   const char *to_ns, const char *to_name)
{
	for (size_t i = 0; i < m->n_grants; i++) {
		const struct gw_m_reference_grant *g = &m->grants[i];
		bool from_ok = false;

		if (strcmp(g->obj->ns, to_ns))
			continue;
		for (size_t j = 0; j < g->n_from && !from_ok; j++)
			from_ok = !strcmp(g->from[j].group, from_group) &&
				  !strcmp(g->from[j].kind, from_kind) &&
				  !strcmp(g->from[j].ns, from_ns);
		if (!from_ok)
			continue;
		for (size_t j = 0; j < g->n_to; j++)
			if (!strcmp(g->to[j].group, to_group) && !strcmp(g->to[j].kind, to_kind) &&
			    (!g->to[j].name || !strcmp(g->to[j].name, to_name)))
				return true;
	}
	return false;
}
