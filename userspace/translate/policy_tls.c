/* translate/policy_tls.c - TLS beyond certificateRefs: client certificates
 * (Gateway spec.tls.frontend), the Gateway's backend client certificate
 * (spec.tls.backend) and BackendTLSPolicy.
 *
 * Everything here is read straight from the objects' trees: the model
 * (model.c) decodes what routing needs, and these fields are only read by
 * this file. The decisions follow the v1.6.1 CRD texts (docs/tls.md):
 *
 * - frontend CA refs that do not resolve set the listener's ResolvedRefs to
 *   False (InvalidCACertificateRef, InvalidCACertificateKind,
 *   RefNotPermitted); when none resolves the listener is not Accepted
 *   (NoValidCACertificate) and serves nothing, so no client is ever let in
 *   unverified by a validation that failed to load;
 * - BackendTLSPolicies are ordered oldest first (then namespace/name); a
 *   policy that selects a (Service, sectionName) an earlier one already
 *   selects is Accepted=False/Conflicted. A policy with a sectionName wins
 *   over one without for that port: they select different things;
 * - a policy without any valid CA is Accepted=False/NoValidCACertificate and
 *   still applies: requests to its Service answer 5xx (nothing is sent in
 *   plaintext to a backend that expects TLS);
 * - status.ancestors lists the Gateways whose routes send to a targeted
 *   Service, each with Accepted and ResolvedRefs.
 */
#include "gwbpf/api.h"

#include <jansson.h>
#include <stdio.h>
#include <strings.h>

#include "gwbpf/b64.h"
#include "gwbpf/ir.h"
#include "gwbpf/model.h"
#include "gwbpf/node.h"
#include "gwbpf/pem.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"
#include "translate-int.h"

#define SETMSG(buf, ...) snprintf((buf), TX_MSG, __VA_ARGS__)
#define TX_BTLS_MAX_ANCESTORS 16 /* the CRD's limit on status.ancestors */

struct tx_btls_target {
	const char *name;    /* Service name (the policy's namespace) */
	const char *section; /* port name, NULL = every port */
	bool found;          /* the Service (and port) exist */
	bool lost;           /* an older policy selects the same */
};

struct tx_btls_anc {
	const char *ns, *name; /* Gateway */
};

struct tx_btls {
	struct gw_object *obj;
	bool accepted;
	const char *acc_reason;
	char acc_msg[TX_MSG];
	bool refs_ok;
	const char *refs_reason;
	char refs_msg[TX_MSG];
	struct gw_ir_upstream_tls *tls; /* IR arena */
	struct tx_btls_target *targets;
	size_t n_targets;
	struct tx_btls_anc anc[TX_BTLS_MAX_ANCESTORS];
	size_t n_anc;
};

static bool core_group(const char *g)
{
	return !g || !*g || !strcmp(g, "core");
}

/* pem_ca_count() : how many X.509 certificates the PEM text holds */
static size_t pem_ca_count(const char *pem, size_t len)
{
	int n = gw_pem_each_cert(pem, len, NULL, NULL);

	return n > 0 ? (size_t)n : 0;
}

static struct gw_object *find_obj(const struct tx_ctx *c, const char *kind, const char *ns,
				  const char *name)
{
	for (size_t i = 0; i < c->n_objs; i++) {
		struct gw_object *o = c->objs[i];

		if (!strcmp(o->kind, kind) && core_group(o->group) && !strcmp(o->ns, ns) &&
		    !strcmp(o->name, name))
			return o;
	}
	return NULL;
}

/* ca_bundle() : the PEM CA bundle of a ConfigMap or Secret (key ca.crt).
 * Returns 0 with *pem (malloc'd) set, or a reason: "not found", "no ca.crt",
 * "no certificate" written to why. */
static int ca_bundle(const struct tx_ctx *c, const char *kind, const char *ns, const char *name,
		     char **pem, const char **why)
{
	struct gw_object *o = find_obj(c, kind, ns, name);
	struct gw_node *v;
	char *text = NULL;

	*pem = NULL;
	if (!o) {
		*why = "not found";
		return -ENOENT;
	}
	v = gw_node_get(gw_node_get(o->root, "data"), "ca.crt");
	if (!v && !strcmp(kind, "Secret")) {
		v = gw_node_get(gw_node_get(o->root, "stringData"), "ca.crt");
		if (v && gw_node_is_scalar(v))
			text = strndup(v->str, v->len);
	} else if (v && gw_node_is_scalar(v)) {
		text = !strcmp(kind, "Secret") ? gw_b64_decode_str(v->str, v->len) : strndup(v->str, v->len);
	}
	if (!v || !gw_node_is_scalar(v)) {
		*why = "has no key ca.crt";
		return -ENOENT;
	}
	if (!text) {
		*why = "ca.crt cannot be decoded";
		return -EINVAL;
	}
	if (!pem_ca_count(text, strlen(text))) {
		free(text);
		*why = "ca.crt holds no PEM certificate";
		return -EINVAL;
	}
	*pem = text;
	return 0;
}

/* append() : *acc += s (malloc'd, NUL-terminated); -ENOMEM */
static int append(char **acc, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *v = realloc(*acc, *len + n + 2);

	if (!v)
		return -ENOMEM;
	memcpy(v + *len, s, n);
	*len += n;
	if (n && s[n - 1] != '\n')
		v[(*len)++] = '\n';
	v[*len] = 0;
	*acc = v;
	return 0;
}

/* ---- Gateway spec.tls.frontend ---- */

static struct gw_node *frontend_validation(const struct gw_node *root, int32_t port)
{
	struct gw_node *fe = gw_node_path(root, "spec.tls.frontend"), *pp;

	if (!fe)
		return NULL;
	pp = gw_node_get(fe, "perPort");
	for (size_t i = 0; gw_node_is_seq(pp) && i < pp->n_items; i++) {
		int64_t p;

		if (gw_node_int(pp->items[i], "port", &p) && p == port)
			return gw_node_path(pp->items[i], "tls.validation");
	}
	return gw_node_path(fe, "default.validation");
}

void tx_listener_frontend(struct tx_ctx *c, struct tx_listener *tl)
{
	const struct gw_object *go;
	struct gw_node *val, *refs;
	const char *mode;
	char *bundle = NULL;
	size_t blen = 0, n_ok = 0, n_refs;
	const char *reason = NULL;
	char msg[TX_MSG] = "";

	if (!tl->gw || !tl->gw->g || tl->proto != GW_PROTO_HTTPS || !tl->accepted)
		return;
	go = tl->gw->g->obj;
	val = frontend_validation(go->root, tl->l->port);
	if (!val)
		return;
	mode = gw_node_str(val, "mode");
	if (mode && !strcmp(mode, "AllowInsecureFallback"))
		tl->gw->insecure_frontend = true; /* the Gateway says so in its status */
	refs = gw_node_get(val, "caCertificateRefs");
	n_refs = gw_node_is_seq(refs) ? refs->n_items : 0;
	for (size_t i = 0; i < n_refs; i++) {
		const struct gw_node *r = refs->items[i];
		const char *group = gw_node_str(r, "group"), *kind = gw_node_str(r, "kind");
		const char *name = gw_node_str(r, "name"), *ns = gw_node_str(r, "namespace");
		const char *why = NULL, *rs = "InvalidCACertificateRef";
		char *pem = NULL;

		if (!ns)
			ns = go->ns;
		if (!kind || !name || !core_group(group) ||
		    (strcmp(kind, "ConfigMap") && strcmp(kind, "Secret"))) {
			rs = "InvalidCACertificateKind";
			why = "only ConfigMap and Secret (core group) are supported";
		} else if (strcmp(ns, go->ns) &&
			   !gw_model_grant_allows(c->m, GW_GROUP_GATEWAY, "Gateway", go->ns, "", kind,
						  ns, name)) {
			rs = "RefNotPermitted";
			why = "no ReferenceGrant allows this cross-namespace reference";
		} else if (!ca_bundle(c, kind, ns, name, &pem, &why)) {
			if (append(&bundle, &blen, pem))
				c->oom = true;
			free(pem);
			n_ok++;
			continue;
		}
		if (!reason) {
			reason = rs;
			SETMSG(msg, "tls.frontend caCertificateRefs[%zu] %s %s/%s: %s", i,
			       kind ? kind : "?", ns, name ? name : "?", why);
		}
	}
	if (reason && tl->refs_ok) {
		tl->refs_ok = false;
		tl->refs_reason = reason;
		memcpy(tl->refs_msg, msg, sizeof(msg));
	}
	if (!n_ok) {
		/* a validation that does not load must not turn into no
		 * validation: the listener is not served at all */
		tl->accepted = false;
		tl->accept_reason = "NoValidCACertificate";
		SETMSG(tl->accept_msg, "no valid CA certificate for client validation%s%s",
		       reason ? ": " : "", reason ? msg : "");
		goto out;
	}
	tl->client_ca_pem = gw_ir_strdup(c->ir, bundle);
	if (!tl->client_ca_pem)
		c->oom = true;
	tl->client_verify = mode && !strcmp(mode, "AllowInsecureFallback") ?
				    GW_CLIENT_VERIFY_OPTIONAL :
				    GW_CLIENT_VERIFY_REQUIRE;
out:
	free(bundle);
}

/* ---- Gateway spec.tls.backend ---- */

void tx_gateway_backend(struct tx_ctx *c, struct tx_gateway *gw)
{
	const struct gw_object *go = gw->g->obj;
	struct gw_node *ref = gw_node_path(go->root, "spec.tls.backend.clientCertificateRef");
	const char *group, *kind, *name, *ns, *why = NULL, *reason = "InvalidClientCertificateRef";
	struct gw_m_secret *s = NULL;

	gw->backend_refs_ok = true;
	gw->backend_refs_reason = "ResolvedRefs";
	if (!ref)
		return;
	gw->has_backend_cert = true;
	group = gw_node_str(ref, "group");
	kind = gw_node_str(ref, "kind");
	name = gw_node_str(ref, "name");
	ns = gw_node_str(ref, "namespace");
	if (!kind)
		kind = "Secret";
	if (!ns)
		ns = go->ns;
	if (!core_group(group) || strcmp(kind, "Secret") || !name)
		why = "only Secret (core group) is supported";
	else if (strcmp(ns, go->ns) && !gw_model_grant_allows(c->m, GW_GROUP_GATEWAY, "Gateway",
							      go->ns, "", "Secret", ns, name)) {
		why = "no ReferenceGrant allows this cross-namespace Secret";
		reason = "RefNotPermitted";
	} else if (!(s = gw_model_secret(c->m, ns, name)))
		why = "Secret not found";
	else if (!s->cert_pem || !s->key_pem || !pem_ca_count(s->cert_pem, strlen(s->cert_pem)))
		why = "Secret has no valid tls.crt and tls.key";
	if (why) {
		gw->backend_refs_ok = false;
		gw->backend_refs_reason = reason;
		SETMSG(gw->backend_refs_msg, "tls.backend.clientCertificateRef %s %s/%s: %s",
		       kind, ns, name ? name : "?", why);
		return;
	}
	gw->backend_cert_pem = s->cert_pem;
	gw->backend_key_pem = s->key_pem;
}

/* ---- BackendTLSPolicy ---- */

static int cmp_btls(const void *pa, const void *pb)
{
	const struct tx_btls *a = pa, *b = pb;
	int r;

	if (a->obj->creation_ts != b->obj->creation_ts)
		return a->obj->creation_ts < b->obj->creation_ts ? -1 : 1;
	r = strcmp(a->obj->ns, b->obj->ns);
	return r ? r : strcmp(a->obj->name, b->obj->name);
}

static char **node_strv(struct tx_ctx *c, struct gw_node *seq, const char *type, const char *key,
			size_t *n)
{
	char **v;

	*n = 0;
	if (!gw_node_is_seq(seq))
		return NULL;
	v = gw_ir_new_array(c->ir, char *, seq->n_items);
	if (!v) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < seq->n_items; i++) {
		const char *t = gw_node_str(seq->items[i], "type");
		const char *s = gw_node_str(seq->items[i], key);

		if (t && s && !strcmp(t, type))
			v[(*n)++] = gw_ir_strdup(c->ir, s);
	}
	return v;
}

/* btls_decode() : validation of one policy into p->tls, ResolvedRefs and
 * Accepted (before conflicts) */
static void btls_decode(struct tx_ctx *c, struct tx_btls *p)
{
	const struct gw_object *o = p->obj;
	struct gw_node *val = gw_node_path(o->root, "spec.validation");
	struct gw_node *refs = gw_node_get(val, "caCertificateRefs");
	struct gw_node *tr = gw_node_path(o->root, "spec.targetRefs");
	const char *wk = gw_node_str(val, "wellKnownCACertificates");
	struct gw_ir_upstream_tls *t;
	char *bundle = NULL;
	size_t blen = 0, n_ok = 0, n_refs = gw_node_is_seq(refs) ? refs->n_items : 0;
	char key[512];

	p->accepted = true;
	p->acc_reason = "Accepted";
	p->refs_ok = true;
	p->refs_reason = "ResolvedRefs";
	t = p->tls = gw_ir_alloc(c->ir, sizeof(*t));
	if (!t) {
		c->oom = true;
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
	t->policy = gw_ir_strdup(c->ir, key);
	t->sni = gw_ir_strdup(c->ir, gw_node_str(val, "hostname"));
	t->san_dns = node_strv(c, gw_node_get(val, "subjectAltNames"), "Hostname", "hostname",
			       &t->n_san_dns);
	t->san_uri = node_strv(c, gw_node_get(val, "subjectAltNames"), "URI", "uri",
			       &t->n_san_uri);
	for (size_t i = 0; i < n_refs; i++) {
		const struct gw_node *r = refs->items[i];
		const char *group = gw_node_str(r, "group"), *kind = gw_node_str(r, "kind");
		const char *name = gw_node_str(r, "name"), *why = NULL;
		const char *reason = "InvalidCACertificateRef";
		char *pem = NULL;

		if (!kind || !name || !core_group(group) || strcmp(kind, "ConfigMap")) {
			reason = "InvalidKind";
			why = "only ConfigMap (core group) is supported";
		} else if (!ca_bundle(c, "ConfigMap", o->ns, name, &pem, &why)) {
			if (append(&bundle, &blen, pem))
				c->oom = true;
			free(pem);
			n_ok++;
			continue;
		}
		if (p->refs_ok) {
			p->refs_ok = false;
			p->refs_reason = reason;
			SETMSG(p->refs_msg, "validation.caCertificateRefs[%zu] %s %s: %s", i,
			       kind ? kind : "?", name ? name : "?", why);
		}
	}
	if (wk && *wk) {
		if (strcmp(wk, "System")) {
			p->accepted = false;
			p->acc_reason = "Invalid";
			SETMSG(p->acc_msg, "wellKnownCACertificates %s is not supported (System is)",
			       wk);
			t->invalid = true;
		} else {
			t->system_ca = true;
		}
	} else if (!n_ok) {
		p->accepted = false;
		p->acc_reason = "NoValidCACertificate";
		SETMSG(p->acc_msg, "no valid CA certificate: requests to the targets answer 502");
		t->invalid = true;
	}
	if (n_ok && !t->system_ca) {
		t->ca_pem = gw_ir_strdup(c->ir, bundle);
		if (!t->ca_pem)
			c->oom = true;
	}
	free(bundle);

	p->targets = calloc(gw_node_is_seq(tr) && tr->n_items ? tr->n_items : 1,
			    sizeof(*p->targets));
	if (!p->targets) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; gw_node_is_seq(tr) && i < tr->n_items; i++) {
		const char *group = gw_node_str(tr->items[i], "group");
		const char *kind = gw_node_str(tr->items[i], "kind");
		const char *name = gw_node_str(tr->items[i], "name");
		const char *sec = gw_node_str(tr->items[i], "sectionName");
		struct tx_btls_target *tg = &p->targets[p->n_targets++];
		struct gw_m_service *svc;

		tg->name = name;
		tg->section = sec && *sec ? sec : NULL;
		if (!name || !kind || !core_group(group) || strcmp(kind, "Service"))
			continue;
		svc = gw_model_service(c->m, o->ns, name);
		if (!svc)
			continue;
		tg->found = !tg->section;
		for (size_t k = 0; tg->section && k < svc->n_ports; k++)
			tg->found |= !strcmp(svc->ports[k].name, tg->section);
	}
}

static bool same_target(const struct tx_btls_target *a, const struct tx_btls_target *b)
{
	if (strcmp(a->name, b->name))
		return false;
	if (!a->section || !b->section)
		return !a->section && !b->section;
	return !strcmp(a->section, b->section);
}

/* btls_conflicts() : policies are oldest first; a target an earlier policy
 * already selects is lost, and a policy that lost one is Conflicted */
static void btls_conflicts(struct tx_ctx *c)
{
	for (size_t i = 0; i < c->n_btls; i++) {
		struct tx_btls *p = &c->btls[i];
		bool lost = false, any_found = false;

		for (size_t k = 0; k < p->n_targets; k++) {
			struct tx_btls_target *a = &p->targets[k];

			if (!a->found)
				continue;
			any_found = true;
			for (size_t j = 0; j < i && !a->lost; j++)
				for (size_t l = 0; l < c->btls[j].n_targets; l++) {
					const struct tx_btls_target *b = &c->btls[j].targets[l];

					if (b->found && !b->lost && same_target(a, b)) {
						a->lost = true;
						break;
					}
				}
			lost |= a->lost;
		}
		if (lost) {
			p->accepted = false;
			p->acc_reason = "Conflicted";
			SETMSG(p->acc_msg, "an older BackendTLSPolicy selects the same target");
		} else if (!any_found && p->accepted) {
			p->accepted = false;
			p->acc_reason = "TargetNotFound";
			SETMSG(p->acc_msg, "no targetRef names an existing Service (and port)");
		}
	}
}

/* cluster_tls() : the policy that applies to Service port (ns/svc, port):
 * the winner for its sectionName, else the winner without one */
static struct tx_btls *cluster_policy(struct tx_ctx *c, const struct tx_cluster *tc)
{
	const struct gw_object *so = tc->svc->obj;
	struct tx_btls *whole = NULL;

	for (size_t i = 0; i < c->n_btls; i++) {
		struct tx_btls *p = &c->btls[i];

		if (strcmp(p->obj->ns, so->ns))
			continue;
		for (size_t k = 0; k < p->n_targets; k++) {
			const struct tx_btls_target *t = &p->targets[k];

			if (!t->found || t->lost || strcmp(t->name, so->name))
				continue;
			if (t->section && !strcmp(t->section, tc->port->name))
				return p;
			if (!t->section && !whole)
				whole = p;
		}
	}
	return whole;
}

static void add_ancestor(struct tx_btls *p, const char *ns, const char *name)
{
	for (size_t i = 0; i < p->n_anc; i++)
		if (!strcmp(p->anc[i].ns, ns) && !strcmp(p->anc[i].name, name))
			return;
	if (p->n_anc < TX_BTLS_MAX_ANCESTORS) {
		p->anc[p->n_anc].ns = ns;
		p->anc[p->n_anc++].name = name;
	}
}

/* route_uses() : does a backendRef of tr name Service ns/name */
static bool route_uses(const struct tx_route *tr, const char *ns, const char *name)
{
	const struct gw_m_route *r = tr->r;

	for (size_t i = 0; i < r->n_rules; i++)
		for (size_t k = 0; k < r->rules[i].n_backends; k++) {
			const struct gw_m_backend_ref *b = &r->rules[i].backends[k];
			const char *bns = b->ns ? b->ns : r->obj->ns;

			if ((!b->kind || !strcmp(b->kind, "Service")) && core_group(b->group) &&
			    b->name && !strcmp(b->name, name) && !strcmp(bns, ns))
				return true;
		}
	return false;
}

/* btls_ancestors() : the Gateways (ours) of the accepted routes that send to a
 * Service the policy targets */
static void btls_ancestors(struct tx_ctx *c, struct tx_btls *p)
{
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct tx_route *tr = &c->routes[i];
		const struct gw_m_route *r = tr->r;
		bool uses = false;

		if (r->kind == GW_K_INGRESS)
			continue;
		for (size_t k = 0; k < p->n_targets && !uses; k++)
			uses = p->targets[k].name && route_uses(tr, p->obj->ns, p->targets[k].name);
		if (!uses)
			continue;
		for (size_t k = 0; k < r->n_parents; k++) {
			const struct gw_m_parent_ref *pr = &r->parents[k];

			if (!tr->parents[k].ours || !tr->parents[k].accepted ||
			    strcmp(pr->kind, "Gateway"))
				continue;
			add_ancestor(p, pr->ns, pr->name);
		}
	}
}

/* backend_cert() : the client certificate of the oldest Gateway among the
 * policy's ancestors that has one (clusters are shared by Gateways; see
 * docs/tls.md) */
static const struct tx_gateway *backend_cert(const struct tx_ctx *c, const struct tx_btls *p)
{
	for (size_t i = 0; i < c->n_gws; i++) {
		const struct tx_gateway *gw = &c->gws[i];

		if (!gw->backend_cert_pem)
			continue;
		for (size_t k = 0; k < p->n_anc; k++)
			if (!strcmp(p->anc[k].ns, gw->g->obj->ns) &&
			    !strcmp(p->anc[k].name, gw->g->obj->name))
				return gw;
	}
	return NULL;
}

int tx_backend_tls(struct tx_ctx *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_objs; i++)
		n += gw_model_kind(c->objs[i]) == GW_K_BACKENDTLSPOLICY;
	if (!n)
		return 0;
	c->btls = calloc(n, sizeof(*c->btls));
	if (!c->btls)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_objs; i++)
		if (gw_model_kind(c->objs[i]) == GW_K_BACKENDTLSPOLICY)
			c->btls[c->n_btls++].obj = c->objs[i];
	qsort(c->btls, c->n_btls, sizeof(*c->btls), cmp_btls);
	for (size_t i = 0; i < c->n_btls; i++)
		btls_decode(c, &c->btls[i]);
	if (c->oom)
		return -ENOMEM;
	btls_conflicts(c);
	for (size_t i = 0; i < c->n_btls; i++)
		btls_ancestors(c, &c->btls[i]);
	for (size_t i = 0; i < c->n_clusters; i++) {
		struct tx_cluster *tc = &c->clusters[i];
		struct tx_btls *p = cluster_policy(c, tc);
		const struct tx_gateway *gw;

		if (!p)
			continue;
		tc->tls = p->tls;
		gw = backend_cert(c, p);
		if (gw) {
			/* a copy: the client certificate depends on the Gateways */
			struct gw_ir_upstream_tls *t = gw_ir_alloc(c->ir, sizeof(*t));

			if (!t)
				return -ENOMEM;
			*t = *p->tls;
			t->cert_pem = gw_ir_strdup(c->ir, gw->backend_cert_pem);
			t->key_pem = gw_ir_strdup(c->ir, gw->backend_key_pem);
			tc->tls = t;
		}
	}
	return c->oom ? -ENOMEM : 0;
}

json_t *tx_btls_status(const struct tx_ctx *c, const struct gw_object *o, bool *ok)
{
	const struct tx_btls *p = NULL;
	json_t *anc;

	*ok = true;
	for (size_t i = 0; i < c->n_btls; i++)
		if (c->btls[i].obj == o)
			p = &c->btls[i];
	if (!p || !p->n_anc)
		return NULL;
	anc = json_array();
	if (!anc)
		return NULL;
	for (size_t i = 0; i < p->n_anc; i++) {
		json_t *conds =
		    json_pack("[o, o]",
			      tx_cond(c, o, "Accepted", p->accepted, p->acc_reason,
				      p->accepted ? "policy is accepted" : p->acc_msg),
			      tx_cond(c, o, "ResolvedRefs", p->refs_ok, p->refs_reason,
				      p->refs_ok ? "all references are resolved" : p->refs_msg));

		json_array_append_new(
			anc, json_pack("{s:{s:s, s:s, s:s, s:s}, s:s, s:o}", "ancestorRef", "group",
				       GW_GROUP_GATEWAY, "kind", "Gateway", "namespace", p->anc[i].ns,
				       "name", p->anc[i].name, "controllerName", c->controller,
				       "conditions", conds));
	}
	*ok = p->accepted && p->refs_ok;
	return json_pack("{s:o}", "ancestors", anc);
}

void tx_btls_free(struct tx_ctx *c)
{
	for (size_t i = 0; i < c->n_btls; i++)
		free(c->btls[i].targets);
	free(c->btls);
	c->btls = NULL;
	c->n_btls = 0;
}
