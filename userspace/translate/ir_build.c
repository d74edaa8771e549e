/* translate/ir_build.c - the translator's decisions as an IR snapshot.
 *
 * Listeners that serve are grouped into binds by (address, port, UDP or
 * not). Inside a listener, a vhost exists for every effective hostname (the
 * intersection of a route hostname with the listener's), and each vhost
 * holds every rule of every route whose hostnames cover that host, sorted
 * once in Gateway API precedence: precedence is global across the routes
 * of a listener for a given host, so a rule of a "*.example.com" route is
 * in the "foo.example.com" vhost too, in its place.
 */
#include "gwbpf/api.h"

#include <stdio.h>
#include <strings.h>

#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/model.h"
#include "translate-int.h"

bool tx_host_covers(const char *e, const char *h)
{
	size_t le, lh;

	if (!e)
		return true;
	if (!h)
		return false;
	if (!tx_is_wild(e))
		return !tx_is_wild(h) && !strcasecmp(e, h);
	/* "*.example.com" covers itself, any longer wildcard under it, and any
	 * host with one or more labels before ".example.com" */
	e++;
	if (tx_is_wild(h)) {
		h++;
		lh = strlen(h);
		le = strlen(e);
		return lh >= le && !strcasecmp(h + lh - le, e);
	}
	lh = strlen(h);
	le = strlen(e);
	return lh > le && !strcasecmp(h + lh - le, e);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int cl_rehash(struct tx_ctx *c, size_t size)
{
	size_t *v = calloc(size, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_clusters; i++) {
		size_t k = hash_str(c->clusters[i].name) & (size - 1);

		while (v[k])
			k = (k + 1) & (size - 1);
		v[k] = i + 1;
	}
	free(c->cl_hash);
	c->cl_hash = v;
	c->cl_hash_size = size;
	return 0;
}

int tx_cluster_index(struct tx_ctx *c, struct gw_m_service *svc, struct gw_m_service_port *p)
{
	char name[512];
	size_t k;
	struct tx_cluster *cl;

	snprintf(name, sizeof(name), "%s/%s:%d", svc->obj->ns, svc->obj->name, (int)p->port);
	if (c->cl_hash_size) {
		for (k = hash_str(name) & (c->cl_hash_size - 1); c->cl_hash[k];
		     k = (k + 1) & (c->cl_hash_size - 1))
			if (!strcmp(c->clusters[c->cl_hash[k] - 1].name, name))
				return (int)(c->cl_hash[k] - 1);
	}
	if (c->n_clusters == c->cap_clusters) {
		size_t cap = c->cap_clusters ? c->cap_clusters * 2 : 16;
		struct tx_cluster *v = realloc(c->clusters, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->clusters = v;
		c->cap_clusters = cap;
	}
	cl = &c->clusters[c->n_clusters];
	cl->name = strdup(name);
	if (!cl->name)
		return -ENOMEM;
	cl->svc = svc;
	cl->port = p;
	cl->grpc = false;
	cl->tls = NULL;
	c->n_clusters++;
	if (c->n_clusters * 2 > c->cl_hash_size) {
		if (cl_rehash(c, c->cl_hash_size ? c->cl_hash_size * 2 : 64))
			return -ENOMEM;
	} else {
		for (k = hash_str(name) & (c->cl_hash_size - 1); c->cl_hash[k];
		     k = (k + 1) & (c->cl_hash_size - 1))
			;
		c->cl_hash[k] = c->n_clusters;
	}
	return (int)(c->n_clusters - 1);
}

static enum gw_app_proto app_proto(const char *ap)
{
	if (ap && !strcmp(ap, "kubernetes.io/h2c"))
		return GW_APP_H2C;
	if (ap && !strcmp(ap, "kubernetes.io/ws"))
		return GW_APP_WS;
	return GW_APP_HTTP1;
}

static int cmp_slice_key(const struct gw_m_endpoint_slice *s, const char *ns, const char *svc)
{
	int r = strcmp(s->obj->ns, ns);

	return r ? r : strcmp(s->service, svc);
}

static int cmp_slice_ptr_stable(const void *pa, const void *pb)
{
	const struct gw_m_endpoint_slice *a = *(const struct gw_m_endpoint_slice *const *)pa;
	const struct gw_m_endpoint_slice *b = *(const struct gw_m_endpoint_slice *const *)pb;
	int r = cmp_slice_key(a, b->obj->ns, b->service);

	return r ? r : (a < b ? -1 : a > b);
}

/* slice_index() : builds c->slice_idx once per translation (stable order
 * inside a service: qsort on pointers of an array in store order, ties broken
 * by position so endpoint order never depends on the sort) */
int tx_slice_index(struct tx_ctx *c)
{
	size_t n = 0;

	if (c->slice_idx_built)
		return 0;
	c->slice_idx = calloc(c->m->n_slices ? c->m->n_slices : 1, sizeof(*c->slice_idx));
	if (!c->slice_idx)
		return -ENOMEM;
	for (size_t i = 0; i < c->m->n_slices; i++)
		if (c->m->slices[i].service)
			c->slice_idx[n++] = &c->m->slices[i];
	/* pointers into one array: equal keys keep store order via the address */
	qsort(c->slice_idx, n, sizeof(*c->slice_idx), cmp_slice_ptr_stable);
	c->n_slice_idx = n;
	c->slice_idx_built = true;
	return 0;
}

size_t tx_slice_lower_bound(const struct tx_ctx *c, const char *ns, const char *svc)
{
	size_t lo = 0, hi = c->n_slice_idx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_slice_key(c->slice_idx[mid], ns, svc) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* endpoints of a Service port: EndpointSlices labelled with the Service
 * name, port picked by the Service port's name (EndpointSlice ports carry
 * the Service port name, and the resolved target port number) */
static int build_cluster(struct tx_ctx *c, const struct tx_cluster *tc, struct gw_ir_cluster *ic)
{
	const struct gw_object *so = tc->svc->obj;
	size_t n = 0, first;

	if (tx_slice_index(c))
		return -ENOMEM;
	first = tx_slice_lower_bound(c, so->ns, so->name);
	ic->name = gw_ir_strdup(c->ir, tc->name);
	ic->app_proto = tc->grpc ? GW_APP_H2C : app_proto(tc->port->app_protocol);
	ic->tls = tc->tls;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = first; i < c->n_slice_idx; i++) {
			const struct gw_m_endpoint_slice *s = c->slice_idx[i];
			int32_t port = 0;

			if (cmp_slice_key(s, so->ns, so->name))
				break;
			for (size_t k = 0; k < s->n_ports && !port; k++)
				if (!strcmp(s->ports[k].name, tc->port->name))
					port = s->ports[k].port;
			if (!port && !s->n_ports)
				port = tc->port->target_port ? tc->port->target_port :
				       tc->port->target_port_name ? 0 : tc->port->port;
			if (port <= 0 || port > 65535)
				continue;
			for (size_t e = 0; e < s->n_endpoints; e++)
				for (size_t a = 0; a < s->endpoints[e].n_addresses; a++) {
					if (pass) {
						struct gw_ir_endpoint *ep = &ic->endpoints[n];

						ep->address = gw_ir_strdup(c->ir,
									   s->endpoints[e].addresses[a]);
						ep->port = (uint16_t)port;
						ep->ready = s->endpoints[e].ready;
						ic->n_ready += ep->ready;
					}
					n++;
				}
		}
		if (!pass) {
			ic->endpoints = gw_ir_new_array(c->ir, struct gw_ir_endpoint, n);
			if (!ic->endpoints)
				return -ENOMEM;
			ic->n_endpoints = n;
			n = 0;
		}
	}
	return ic->name ? 0 : -ENOMEM;
}

/* ---- precedence ---- */

struct ent {
	const struct gw_m_match *m;
	const struct tx_route *tr;
	uint32_t rule, midx;
	uint32_t action;
};

static const struct gw_m_match root_match = { .path_type = GW_M_PATH_PREFIX, .path = "/" };

static int cmp_ent(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	const struct gw_m_match *x = a->m, *y = b->m;
	const struct gw_object *oa = a->tr->r->obj, *ob = b->tr->r->obj;
	int c;

	/* 1. Exact before PathPrefix/RegularExpression */
	if ((x->path_type == GW_M_PATH_EXACT) != (y->path_type == GW_M_PATH_EXACT))
		return x->path_type == GW_M_PATH_EXACT ? -1 : 1;
	/* 2. longer path value first; on a tie a prefix before a regex */
	if (x->path_type != GW_M_PATH_EXACT) {
		size_t lx = strlen(x->path), ly = strlen(y->path);

		if (lx != ly)
			return lx > ly ? -1 : 1;
		if (x->path_type != y->path_type)
			return x->path_type == GW_M_PATH_PREFIX ? -1 : 1;
	}
	/* 3. a method match first; 4. more headers; 5. more query params */
	if (!x->method != !y->method)
		return x->method ? -1 : 1;
	if (x->n_headers != y->n_headers)
		return x->n_headers > y->n_headers ? -1 : 1;
	if (x->n_queries != y->n_queries)
		return x->n_queries > y->n_queries ? -1 : 1;
	/* 6. the oldest route, then source order, then "ns/name" */
	if (oa != ob) {
		if (oa->creation_ts != ob->creation_ts)
			return oa->creation_ts < ob->creation_ts ? -1 : 1;
		if (oa->seq != ob->seq)
			return oa->seq < ob->seq ? -1 : 1;
		c = strcmp(a->tr->key, b->tr->key);
		if (c)
			return c;
		/* one Ingress decodes into several routes: their order */
		if (a->tr != b->tr)
			return a->tr < b->tr ? -1 : 1;
	}
	/* 7. rule order, then match order */
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	if (a->midx != b->midx)
		return a->midx < b->midx ? -1 : 1;
	/* exact paths with nothing else to tell them apart: by value, so the
	 * order is stable */
	return strcmp(x->path, y->path);
}

/* path-element prefix: "/foo" matches "/foo" and "/foo/bar", not "/foobar" */
static bool prefix_covers(const char *p, const char *path)
{
	size_t lp = strlen(p);

	while (lp > 1 && p[lp - 1] == '/')
		lp--;
	if (lp == 1 && p[0] == '/')
		return true;
	return !strncmp(p, path, lp) && (path[lp] == '\0' || path[lp] == '/');
}

static bool paths_overlap(const struct gw_ir_match *a, const struct gw_ir_match *b)
{
	if (a->path_type == GW_MATCH_REGEX || b->path_type == GW_MATCH_REGEX)
		return true;
	if (a->path_type == GW_MATCH_EXACT && b->path_type == GW_MATCH_EXACT)
		return !strcmp(a->path, b->path);
	if (a->path_type == GW_MATCH_EXACT)
		return prefix_covers(b->path, a->path);
	if (b->path_type == GW_MATCH_EXACT)
		return prefix_covers(a->path, b->path);
	return prefix_covers(a->path, b->path) || prefix_covers(b->path, a->path);
}

static bool action_kernel_ok(const struct tx_ctx *c, const struct gw_ir_action *a)
{
	size_t n_live = 0;

	if (a->direct_status || a->n_filters || a->request_timeout_ms || a->backend_timeout_ms ||
	    a->retry.attempts)
		return false;
	for (size_t i = 0; i < a->n_backends; i++) {
		if (!a->backends[i].weight)
			continue;
		if (a->backends[i].cluster < 0 || a->backends[i].n_filters)
			return false;
		/* TLS to the backend is userspace's job (tls_upstream.c) */
		if (c->clusters[a->backends[i].cluster].tls)
			return false;
		n_live++;
	}
	return n_live == 1;
}

static bool match_plain(const struct gw_ir_match *m)
{
	return m->path_type != GW_MATCH_REGEX && !m->method && !m->n_headers && !m->n_queries;
}

/* kernel_ok: the action itself is simple, every match of it is a plain
 * path, and no earlier match the kernel cannot decide could take a request
 * that reaches it (the kernel would otherwise route it differently). */
static int mark_kernel(const struct tx_ctx *c, struct gw_ir_vhost *vh)
{
	bool *cand = calloc(vh->n_actions + 1, sizeof(*cand));
	size_t *user = calloc(vh->n_matches + 1, sizeof(*user)), n_user = 0;
	int err = -ENOMEM;

	if (!cand || !user)
		goto out;
	for (size_t i = 0; i < vh->n_actions; i++)
		cand[i] = action_kernel_ok(c, &vh->actions[i]);
	for (size_t i = 0; i < vh->n_matches; i++) {
		const struct gw_ir_match *m = &vh->matches[i];
		bool ok = cand[m->action] && match_plain(m);

		for (size_t j = 0; ok && j < n_user; j++)
			if (paths_overlap(&vh->matches[user[j]], m))
				ok = false;
		if (!ok) {
			cand[m->action] = false;
			user[n_user++] = i;
		}
	}
	/* an action whose later match turned out shadowed loses kernel_ok for
	 * its earlier matches too: kernel_ok is per action */
	for (size_t i = 0; i < vh->n_actions; i++)
		vh->actions[i].kernel_ok = cand[i];
	err = 0;
out:
	free(cand);
	free(user);
	return err;
}

static struct gw_ir_str_match *ir_str_matches(struct tx_ctx *c, const struct gw_m_str_match *v,
					      size_t n, bool lower)
{
	struct gw_ir_str_match *out = gw_ir_new_array(c->ir, struct gw_ir_str_match, n);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i].type = v[i].regex ? GW_MATCH_REGEX : GW_MATCH_EXACT;
		out[i].name = gw_ir_strdup(c->ir, v[i].name);
		out[i].value = gw_ir_strdup(c->ir, v[i].value);
		if (lower && out[i].name)
			for (char *p = out[i].name; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
	}
	return out;
}

/* vhost and listener order: exact hostnames, then wildcards longest first,
 * then "any" */
static int host_rank_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return !a - !b;
	if (tx_is_wild(a) != tx_is_wild(b))
		return tx_is_wild(a) ? 1 : -1;
	if (tx_is_wild(a) && strlen(a) != strlen(b))
		return strlen(a) > strlen(b) ? -1 : 1;
	return strcasecmp(a, b);
}

struct hpair {
	const char *host;
	size_t att;
};

static int cmp_hpair(const void *pa, const void *pb)
{
	const struct hpair *a = pa, *b = pb;
	int c = host_rank_cmp(a->host, b->host);

	if (c)
		return c;
	return a->att < b->att ? -1 : a->att > b->att;
}

static bool route_is_l4(const struct tx_route *tr)
{
	return tr->r->kind == GW_K_TLSROUTE || tr->r->kind == GW_K_TCPROUTE ||
	       tr->r->kind == GW_K_UDPROUTE;
}

static int build_vhost(struct tx_ctx *c, const struct tx_listener *tl, const char *host,
		       const size_t *atts, size_t n_atts, struct gw_ir_vhost *vh)
{
	size_t n_ent = 0, n_act = 0;
	struct ent *ents = NULL;
	int err = -ENOMEM;

	for (size_t i = 0; i < n_atts; i++) {
		const struct tx_route *tr = tl->att[atts[i]].route;

		for (size_t r = 0; r < tr->r->n_rules; r++) {
			n_act++;
			n_ent += route_is_l4(tr) ? 1 : tr->r->rules[r].n_matches;
		}
	}
	vh->hostname = gw_ir_strdup(c->ir, host);
	vh->actions = gw_ir_new_array(c->ir, struct gw_ir_action, n_act);
	vh->matches = gw_ir_new_array(c->ir, struct gw_ir_match, n_ent);
	ents = calloc(n_ent ? n_ent : 1, sizeof(*ents));
	if (!vh->actions || !vh->matches || !ents || (host && !vh->hostname))
		goto out;
	n_ent = 0;
	for (size_t i = 0; i < n_atts; i++) {
		const struct tx_route *tr = tl->att[atts[i]].route;

		for (size_t r = 0; r < tr->r->n_rules; r++) {
			const struct gw_m_rule *rule = &tr->r->rules[r];
			uint32_t ai = (uint32_t)vh->n_actions++;

			vh->actions[ai] = *tr->rules[r].tmpl;
			if (route_is_l4(tr)) {
				ents[n_ent++] = (struct ent){ &root_match, tr, (uint32_t)r, 0, ai };
				continue;
			}
			for (size_t m = 0; m < rule->n_matches; m++)
				ents[n_ent++] = (struct ent){ &rule->matches[m], tr, (uint32_t)r,
							      (uint32_t)m, ai };
		}
	}
	qsort(ents, n_ent, sizeof(*ents), cmp_ent);
	for (size_t i = 0; i < n_ent; i++) {
		const struct gw_m_match *m = ents[i].m;
		struct gw_ir_match *im = &vh->matches[i];

		im->path_type = m->path_type == GW_M_PATH_EXACT ? GW_MATCH_EXACT :
				m->path_type == GW_M_PATH_REGEX ? GW_MATCH_REGEX :
								  GW_MATCH_PREFIX;
		im->path = gw_ir_strdup(c->ir, m->path);
		im->method = gw_ir_strdup(c->ir, m->method);
		im->headers = ir_str_matches(c, m->headers, m->n_headers, true);
		im->n_headers = m->n_headers;
		im->queries = ir_str_matches(c, m->queries, m->n_queries, false);
		im->n_queries = m->n_queries;
		im->action = ents[i].action;
		if (!im->path || !im->headers || !im->queries)
			goto out;
	}
	vh->n_matches = n_ent;
	err = mark_kernel(c, vh);
out:
	free(ents);
	return err;
}

static int build_listener(struct tx_ctx *c, const struct tx_listener *tl,
			  struct gw_ir_listener *il)
{
	struct hpair *hp = NULL, *wild = NULL;
	size_t n_hp = 0, n_wild = 0, *sel = NULL, *stamp = NULL, n_v = 0;
	int err = -ENOMEM;

	il->gateway = gw_ir_strdup(c->ir, tl->gw->g ? tl->gw->g->obj->ns : "ingress");
	if (tl->gw->g) {
		char buf[512];

		snprintf(buf, sizeof(buf), "%s/%s", tl->gw->g->obj->ns, tl->gw->g->obj->name);
		il->gateway = gw_ir_strdup(c->ir, buf);
	} else {
		il->gateway = gw_ir_strdup(c->ir, "ingress/gwbpf");
	}
	il->name = gw_ir_strdup(c->ir, tl->l->name);
	il->hostname = gw_ir_strdup(c->ir, tl->l->hostname);
	il->proto = tl->proto;
	il->tls_terminate = tl->proto == GW_PROTO_TLS && tl->l->tls_mode &&
			    !strcmp(tl->l->tls_mode, "Terminate");
	il->certs = tl->certs;
	il->n_certs = tl->n_certs;
	il->client_verify = tl->client_verify;
	il->client_ca_pem = tl->client_ca_pem;
	for (size_t i = 0; i < tl->n_att; i++)
		n_hp += tl->att[i].n_hosts;
	hp = calloc(n_hp + 1, sizeof(*hp));
	wild = calloc(n_hp + 1, sizeof(*wild));
	sel = calloc(tl->n_att + 1, sizeof(*sel));
	stamp = calloc(tl->n_att + 1, sizeof(*stamp));
	if (!hp || !wild || !sel || !stamp)
		goto out;
	n_hp = 0;
	for (size_t i = 0; i < tl->n_att; i++)
		for (size_t h = 0; h < tl->att[i].n_hosts; h++)
			hp[n_hp++] = (struct hpair){ tl->att[i].hosts[h], i };
	qsort(hp, n_hp, sizeof(*hp), cmp_hpair);
	for (size_t i = 0; i < n_hp; i++) {
		if (!i || host_rank_cmp(hp[i].host, hp[i - 1].host))
			n_v++;
		/* only wildcard and "any" hosts can cover another vhost */
		if (!hp[i].host || tx_is_wild(hp[i].host))
			wild[n_wild++] = hp[i];
	}
	il->vhosts = gw_ir_new_array(c->ir, struct gw_ir_vhost, n_v);
	if (!il->vhosts)
		goto out;
	for (size_t i = 0; i < n_hp;) {
		const char *host = hp[i].host;
		size_t j = i, n_sel = 0, vid = il->n_vhosts + 1;

		/* attachments with exactly this host */
		for (; j < n_hp && !host_rank_cmp(hp[j].host, host); j++)
			if (stamp[hp[j].att] != vid) {
				stamp[hp[j].att] = vid;
				sel[n_sel++] = hp[j].att;
			}
		/* attachments whose wildcard or "any" covers it */
		for (size_t k = 0; k < n_wild; k++) {
			if (stamp[wild[k].att] == vid || !tx_host_covers(wild[k].host, host))
				continue;
			stamp[wild[k].att] = vid;
			sel[n_sel++] = wild[k].att;
		}
		err = build_vhost(c, tl, host, sel, n_sel, &il->vhosts[il->n_vhosts++]);
		if (err)
			goto out;
		err = -ENOMEM;
		i = j;
	}
	err = 0;
out:
	free(hp);
	free(wild);
	free(sel);
	free(stamp);
	return err;
}

struct served {
	struct tx_listener *tl;
	const char *addr;
	size_t order;
};

static int cmp_served_in_bind(const void *pa, const void *pb)
{
	const struct served *a = pa, *b = pb;
	int c = host_rank_cmp(a->tl->l->hostname, b->tl->l->hostname);

	if (c)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

static bool same_bind(const struct served *a, const struct served *b)
{
	return a->tl->l->port == b->tl->l->port && !strcmp(a->addr, b->addr) &&
	       (a->tl->proto == GW_PROTO_UDP) == (b->tl->proto == GW_PROTO_UDP);
}

static bool bind_compatible(enum gw_proto a, enum gw_proto b)
{
	if ((a == GW_PROTO_HTTPS || a == GW_PROTO_TLS) && (b == GW_PROTO_HTTPS || b == GW_PROTO_TLS))
		return true;
	return a == b;
}

/* listeners of different Gateways sharing one address (no address pool):
 * the older Gateway's listener wins, the other is marked conflicted */
static void cross_gateway_conflicts(struct served *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			struct tx_listener *a = v[i].tl, *b = v[j].tl;
			const char *reason = NULL;

			if (a->conflicted || b->conflicted || a->gw == b->gw || !same_bind(&v[i], &v[j]))
				continue;
			if (!bind_compatible(a->proto, b->proto))
				reason = "ProtocolConflict";
			else if (a->proto == GW_PROTO_TCP || a->proto == GW_PROTO_UDP ||
				 (a->l->hostname ? b->l->hostname &&
							   !strcasecmp(a->l->hostname, b->l->hostname) :
						   !b->l->hostname))
				reason = "HostnameConflict";
			if (!reason)
				continue;
			a->conflicted = true;
			a->conflict_reason = reason;
			a->accepted = false;
			a->accept_reason = reason;
			a->programmed = false;
			snprintf(a->accept_msg, TX_MSG,
				 "port %d on %s is already used by an older Gateway's listener",
				 (int)a->l->port, v[i].addr);
		}
}

int tx_build_ir(struct tx_ctx *c)
{
	struct gw_ir *ir = c->ir;
	struct served *v = NULL;
	size_t n = 0, cap = c->n_ingress_ls, n_binds = 0;
	bool *used = NULL;
	int err = -ENOMEM;

	for (size_t i = 0; i < c->n_gws; i++)
		cap += c->gws[i].n_ls;
	for (size_t i = 0; i < c->n_lsets; i++)
		cap += c->lsets[i].n_ls;
	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		goto out;
	for (size_t i = 0; i < c->n_gws; i++) {
		struct tx_gateway *gw = &c->gws[i];

		if (!gw->accepted || !gw->address)
			continue;
		for (size_t k = 0; k < gw->n_ls; k++)
			if (gw->ls[k].programmed)
				{
					v[n] = (struct served){ &gw->ls[k], gw->address, n };
					n++;
				}
		for (size_t j = 0; j < c->n_lsets; j++)
			if (c->lsets[j].gw == gw && c->lsets[j].accepted)
				for (size_t k = 0; k < c->lsets[j].n_ls; k++)
					if (c->lsets[j].ls[k].programmed)
{
						v[n] = (struct served){ &c->lsets[j].ls[k],
									gw->address, n };
						n++;
					}
	}
	for (size_t k = 0; k < c->n_ingress_ls; k++)
{
		v[n] = (struct served){ &c->ingress_ls[k], c->ingress_gw.address, n };
		n++;
	}
	cross_gateway_conflicts(v, n);
	/* drop what lost */
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (!v[i].tl->conflicted)
				v[k++] = v[i];
		n = k;
	}
	used = calloc(n + 1, sizeof(*used));
	if (!used)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!used[i]) {
			n_binds++;
			for (size_t j = i; j < n; j++)
				if (same_bind(&v[i], &v[j]))
					used[j] = true;
		}
	ir->binds = gw_ir_new_array(ir, struct gw_ir_bind, n_binds);
	if (!ir->binds)
		goto out;
	memset(used, 0, (n + 1) * sizeof(*used));
	for (size_t i = 0; i < n; i++) {
		struct gw_ir_bind *b;
		struct served *grp;
		size_t ng = 0;

		if (used[i])
			continue;
		grp = calloc(n, sizeof(*grp));
		if (!grp)
			goto out;
		for (size_t j = i; j < n; j++)
			if (!used[j] && same_bind(&v[i], &v[j])) {
				used[j] = true;
				grp[ng++] = v[j];
			}
		qsort(grp, ng, sizeof(*grp), cmp_served_in_bind);
		b = &ir->binds[ir->n_binds++];
		b->address = gw_ir_strdup(ir, v[i].addr);
		b->port = (uint16_t)v[i].tl->l->port;
		b->proto = v[i].tl->proto;
		for (size_t j = 0; j < ng; j++)
			if (grp[j].tl->proto == GW_PROTO_HTTPS)
				b->proto = GW_PROTO_HTTPS;
		b->listeners = gw_ir_new_array(ir, struct gw_ir_listener, ng);
		if (!b->listeners || !b->address) {
			free(grp);
			goto out;
		}
		for (size_t j = 0; j < ng; j++) {
			err = build_listener(c, grp[j].tl, &b->listeners[b->n_listeners++]);
			if (err) {
				free(grp);
				goto out;
			}
		}
		err = -ENOMEM;
		free(grp);
	}
	ir->clusters = gw_ir_new_array(ir, struct gw_ir_cluster, c->n_clusters);
	if (!ir->clusters)
		goto out;
	for (size_t i = 0; i < c->n_clusters; i++) {
		err = build_cluster(c, &c->clusters[i], &ir->clusters[ir->n_clusters++]);
		if (err)
			goto out;
	}
	err = 0;
out:
	free(v);
	free(used);
	return err;
}
