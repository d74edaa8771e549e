/* translate/translate.c - store -> (IR snapshot, status of every object).
 *
 * The Gateway API decisions, in the order the spec makes them depend on
 * each other: GatewayClass acceptance, Gateways of accepted classes,
 * ListenerSets merged into their parent, listener validation and conflicts,
 * addresses, route attachment through parentRefs, then rule and reference
 * validation. ir_build.c turns the outcome into the IR and status.c into
 * status documents. Nothing here does I/O or reads a clock.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pcre2.h>

#include "gwbpf/diag.h"
#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/model.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"
#include "translate-int.h"

#define SETMSG(buf, ...) snprintf((buf), TX_MSG, __VA_ARGS__)

/* ---- GatewayClasses ---- */

static void tx_classes(struct tx_ctx *c)
{
	struct gw_model *m = c->m;

	for (size_t i = 0; i < m->n_classes; i++) {
		struct gw_m_gatewayclass *gc = &m->classes[i];

		c->class_ours[i] = !strcmp(gc->controller, c->controller);
		c->class_ok[i] = c->class_ours[i];
		/* parametersRef: gwbpf has no parameters of its own; a reference to
		 * a ConfigMap that exists is accepted (and ignored), anything else
		 * is InvalidParameters as the spec asks */
		if (c->class_ours[i] && gc->has_params) {
			bool found = false;

			if (!strcmp(gc->params.group, "") && !strcmp(gc->params.kind, "ConfigMap"))
				for (size_t j = 0; j < m->n_configmaps; j++)
					if (!strcmp(m->configmaps[j]->name, gc->params.name) &&
					    gc->params.ns && !strcmp(m->configmaps[j]->ns, gc->params.ns))
						found = true;
			c->class_ok[i] = found;
		}
	}
}

/* ---- listeners ---- */

static bool proto_of(const char *p, enum gw_proto *out)
{
	static const struct {
		const char *name;
		enum gw_proto proto;
	} tab[] = { { "HTTP", GW_PROTO_HTTP }, { "HTTPS", GW_PROTO_HTTPS }, { "TLS", GW_PROTO_TLS },
		    { "TCP", GW_PROTO_TCP },   { "UDP", GW_PROTO_UDP } };

	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (!strcmp(p, tab[i].name)) {
			*out = tab[i].proto;
			return true;
		}
	return false;
}

/* route kinds a listener of this protocol can serve */
static size_t kinds_for(enum gw_proto p, const char *tls_mode, const char **out)
{
	switch (p) {
	case GW_PROTO_HTTP:
	case GW_PROTO_HTTPS:
		out[0] = "HTTPRoute";
		out[1] = "GRPCRoute";
		return 2;
	case GW_PROTO_TLS:
		out[0] = "TLSRoute";
		if (tls_mode && !strcmp(tls_mode, "Terminate")) {
			out[1] = "TCPRoute";
			return 2;
		}
		return 1;
	case GW_PROTO_TCP:
		out[0] = "TCPRoute";
		return 1;
	case GW_PROTO_UDP:
		out[0] = "UDPRoute";
		return 1;
	}
	return 0;
}

/* a PEM certificate chain and private key OpenSSL can read */
static bool pem_ok(const char *cert, const char *key)
{
	BIO *b = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	bool ok = false;

	if (!cert || !key)
		return false;
	b = BIO_new_mem_buf(cert, -1);
	if (!b)
		goto out;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_mem_buf(key, -1);
	if (!b)
		goto out;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	ok = x && k;
out:
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
	return ok;
}

static const char *owner_kind(const struct tx_listener *tl)
{
	return tl->lset ? "ListenerSet" : "Gateway";
}

static const struct gw_object *owner_obj(const struct tx_listener *tl)
{
	return tl->lset ? tl->lset->s->obj : tl->gw->g->obj;
}

static void tx_listener_certs(struct tx_ctx *c, struct tx_listener *tl)
{
	const struct gw_m_listener *l = tl->l;
	const struct gw_object *own = owner_obj(tl);
	size_t n_ok = 0;

	if (!l->n_cert_refs) {
		if (tl->proto == GW_PROTO_HTTPS ||
		    (tl->proto == GW_PROTO_TLS && l->tls_mode && !strcmp(l->tls_mode, "Terminate"))) {
			tl->refs_ok = false;
			tl->refs_reason = "InvalidCertificateRef";
			SETMSG(tl->refs_msg, "listener terminates TLS but has no certificateRefs");
		}
		return;
	}
	tl->certs = gw_ir_new_array(c->ir, struct gw_ir_cert, l->n_cert_refs);
	if (!tl->certs) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < l->n_cert_refs; i++) {
		const struct gw_m_obj_ref *r = &l->cert_refs[i];
		const char *ns = r->ns ? r->ns : own->ns;
		struct gw_m_secret *s;
		const char *why = NULL, *reason = "InvalidCertificateRef";

		if (strcmp(r->group, "") && strcmp(r->group, "core"))
			why = "certificateRef group must be \"\" (core)";
		else if (strcmp(r->kind, "Secret"))
			why = "certificateRef kind must be Secret";
		else if (strcmp(ns, own->ns) &&
			 !gw_model_grant_allows(c->m, GW_GROUP_GATEWAY, owner_kind(tl), own->ns, "",
						"Secret", ns, r->name)) {
			why = "no ReferenceGrant allows this cross-namespace Secret";
			reason = "RefNotPermitted";
		} else if (!(s = gw_model_secret(c->m, ns, r->name)))
			why = "Secret not found";
		else if (strcmp(s->type, "kubernetes.io/tls"))
			why = "Secret is not of type kubernetes.io/tls";
		else if (!pem_ok(s->cert_pem, s->key_pem))
			why = "Secret tls.crt/tls.key is not a valid PEM certificate and key";
		else {
			struct gw_ir_cert *ce = &tl->certs[n_ok++];

			ce->hostnames = gw_ir_strdup(c->ir, l->hostname);
			ce->cert_pem = gw_ir_strdup(c->ir, s->cert_pem);
			ce->key_pem = gw_ir_strdup(c->ir, s->key_pem);
			if (!ce->cert_pem || !ce->key_pem)
				c->oom = true;
			continue;
		}
		if (tl->refs_ok) {
			tl->refs_ok = false;
			tl->refs_reason = reason;
			SETMSG(tl->refs_msg, "certificateRefs[%zu] %s/%s: %s", i, ns, r->name, why);
		}
	}
	tl->n_certs = n_ok;
}

static void tx_listener_init(struct tx_ctx *c, struct tx_listener *tl, struct gw_m_listener *l,
			     struct tx_gateway *gw, struct tx_lset *lset)
{
	const char *kinds[4];
	size_t nk;

	tl->l = l;
	tl->gw = gw;
	tl->lset = lset;
	tl->accepted = true;
	tl->accept_reason = "Accepted";
	tl->refs_ok = true;
	tl->refs_reason = "ResolvedRefs";
	tl->conflict_reason = "NoConflicts";
	tl->proto_ok = proto_of(l->protocol, &tl->proto);
	if (!tl->proto_ok) {
		tl->accepted = false;
		tl->accept_reason = "UnsupportedProtocol";
		SETMSG(tl->accept_msg, "protocol %s is not supported", l->protocol);
		return;
	}
	if (tl->proto == GW_PROTO_HTTPS && l->tls_mode && !strcmp(l->tls_mode, "Passthrough")) {
		tl->accepted = false;
		tl->accept_reason = "UnsupportedProtocol";
		SETMSG(tl->accept_msg, "HTTPS listeners cannot use TLS mode Passthrough");
		return;
	}
	nk = kinds_for(tl->proto, l->tls_mode, kinds);
	if (!l->kinds_set) {
		for (size_t i = 0; i < nk; i++) {
			tl->kinds[tl->n_kinds].group = GW_GROUP_GATEWAY;
			tl->kinds[tl->n_kinds++].kind = kinds[i];
		}
	} else {
		for (size_t j = 0; j < l->n_kinds; j++) {
			bool ok = false, dup = false;

			for (size_t i = 0; i < nk; i++)
				ok |= !strcmp(l->kinds[j].kind, kinds[i]) &&
				      !strcmp(l->kinds[j].group, GW_GROUP_GATEWAY);
			for (size_t i = 0; i < tl->n_kinds; i++)
				dup |= !strcmp(tl->kinds[i].kind, l->kinds[j].kind);
			if (ok && !dup && tl->n_kinds < ARRAY_SIZE(tl->kinds)) {
				tl->kinds[tl->n_kinds].group = GW_GROUP_GATEWAY;
				tl->kinds[tl->n_kinds++].kind = l->kinds[j].kind;
			} else if (!ok && tl->refs_ok) {
				tl->refs_ok = false;
				tl->refs_reason = "InvalidRouteKinds";
				SETMSG(tl->refs_msg, "route kind %s/%s is not supported on %s listeners",
				       l->kinds[j].group, l->kinds[j].kind, l->protocol);
			}
		}
	}
	tx_listener_certs(c, tl);
	tx_listener_frontend(c, tl);
}

static bool same_family(enum gw_proto a, enum gw_proto b)
{
	/* HTTPS and TLS both select by SNI on one socket; UDP sockets never
	 * collide with TCP ones */
	if ((a == GW_PROTO_HTTPS || a == GW_PROTO_TLS) && (b == GW_PROTO_HTTPS || b == GW_PROTO_TLS))
		return true;
	return a == b;
}

static bool hostname_eq(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return !strcasecmp(a, b);
}

/* Marks conflicts among v[0..n), which is in precedence order (the Gateway's
 * own listeners first, then ListenerSets oldest first). A listener that
 * conflicts with one of higher precedence owned by another object loses;
 * two listeners of the same object that conflict both lose, as the spec
 * asks for a single Gateway, unless one already lost to another object. */
static void tx_conflicts(struct tx_listener **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tx_listener *a = v[i];

		if (!a->accepted)
			continue;
		for (size_t j = 0; j < i; j++) {
			struct tx_listener *b = v[j];
			const char *reason = NULL;

			if (!b->accepted || a->l->port != b->l->port)
				continue;
			/* one that already lost to a listener of higher precedence
			 * elsewhere holds nothing to conflict with */
			if (b->lost)
				continue;
			if (a->proto == GW_PROTO_UDP || b->proto == GW_PROTO_UDP) {
				if (a->proto == b->proto)
					reason = "HostnameConflict";
			} else if (!same_family(a->proto, b->proto)) {
				reason = "ProtocolConflict";
			} else if (a->proto == GW_PROTO_TCP || hostname_eq(a->l->hostname, b->l->hostname)) {
				reason = "HostnameConflict";
			}
			if (!reason)
				continue;
			a->conflicted = true;
			a->conflict_reason = reason;
			a->lost |= b->lset != a->lset;
			/* a listener that already lost to another object's holds
			 * nothing its own siblings could conflict with (upstream
			 * ListenerSetProtocolConflict: its HTTP sibling stays) */
			if (b->lset == a->lset && !a->lost) {
				b->conflicted = true;
				b->conflict_reason = reason;
			}
		}
	}
}

static void tx_listener_finish(struct tx_listener *tl)
{
	if (tl->conflicted && tl->accepted) {
		/* a conflicted listener is not served, so not accepted either */
		tl->accepted = false;
		tl->accept_reason = tl->conflict_reason;
		SETMSG(tl->accept_msg, "listener conflicts with another on port %d",
		       (int)tl->l->port);
	}
	/* a listener with a bad certificate still serves when another of its
	 * certificates is good; with bad route kinds, when one kind remains */
	if (tl->refs_ok)
		tl->programmed = tl->accepted;
	else if (!strcmp(tl->refs_reason, "InvalidRouteKinds"))
		tl->programmed = tl->accepted && tl->n_kinds > 0;
	else
		tl->programmed = tl->accepted && tl->n_certs > 0;
	if (tl->programmed && tl->gw && !tl->gw->address)
		tl->programmed = false;
}

/* ---- Gateways, addresses, ListenerSets ---- */

static int cmp_age(const struct gw_object *a, const struct gw_object *b)
{
	int c;

	if (a->creation_ts != b->creation_ts)
		return a->creation_ts < b->creation_ts ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	c = strcmp(a->ns, b->ns);
	return c ? c : strcmp(a->name, b->name);
}

static int cmp_txgw(const void *a, const void *b)
{
	return cmp_age(((const struct tx_gateway *)a)->g->obj, ((const struct tx_gateway *)b)->g->obj);
}

static int cmp_txls(const void *a, const void *b)
{
	return cmp_age(((const struct tx_lset *)a)->s->obj, ((const struct tx_lset *)b)->s->obj);
}

struct pool {
	int family;
	unsigned char base[16];
	unsigned prefix;
	uint64_t next; /* host offset of the next address to hand out */
	uint64_t size; /* usable host offsets are [1, size) */
};

static bool pool_parse(const char *cidr, struct pool *p)
{
	char buf[64];
	char *slash;
	unsigned bits;

	memset(p, 0, sizeof(*p));
	if (!cidr || strlen(cidr) >= sizeof(buf))
		return false;
	strcpy(buf, cidr);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash++ = '\0';
	p->prefix = (unsigned)strtoul(slash, NULL, 10);
	if (inet_pton(AF_INET, buf, p->base) == 1) {
		p->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, p->base) == 1) {
		p->family = AF_INET6;
		bits = 128;
	} else {
		return false;
	}
	if (p->prefix > bits)
		return false;
	p->size = bits - p->prefix >= 32 ? (1ull << 32) : (1ull << (bits - p->prefix));
	/* a /32 or /128 is one address; otherwise skip the network address */
	p->next = p->size == 1 ? 0 : 1;
	if (p->size == 1)
		p->size = 1;
	return true;
}

/* next address of the pool, or false when exhausted */
static bool pool_next(struct pool *p, char *out, size_t size)
{
	unsigned char a[16];
	size_t len = p->family == AF_INET ? 4 : 16;
	uint64_t off;
	int carry = 0;

	if (!p->family || p->next >= p->size)
		return false;
	/* leave the IPv4 broadcast address alone */
	if (p->family == AF_INET && p->size > 2 && p->next == p->size - 1)
		return false;
	off = p->next++;
	memcpy(a, p->base, len);
	for (size_t i = len; i-- > 0;) {
		unsigned v = a[i] + (unsigned)(off & 0xff) + (unsigned)carry;

		a[i] = (unsigned char)v;
		carry = v >> 8;
		off >>= 8;
	}
	return inet_ntop(p->family, a, out, (socklen_t)size) != NULL;
}

static bool pool_contains(const struct pool *p, const char *addr)
{
	unsigned char a[16];
	unsigned bits = p->prefix, i;

	if (!p->family || inet_pton(p->family, addr, a) != 1)
		return false;
	for (i = 0; i < bits / 8; i++)
		if (a[i] != p->base[i])
			return false;
	return bits % 8 == 0 ||
	       !((a[i] ^ p->base[i]) & (unsigned char)(0xff << (8 - bits % 8)));
}

/* address_usable() : whether this node can serve addr (opts->local_addresses
 * set): one of its interface addresses, loopback (Linux answers all of
 * 127.0.0.0/8 on lo), unspecified, or inside the address pool */
static bool address_usable(const struct tx_ctx *c, const struct pool *pool, bool have_pool,
			   const char *addr)
{
	unsigned char a[16];

	if (!c->opts->local_addresses)
		return true;
	if (inet_pton(AF_INET, addr, a) == 1 && (a[0] == 127 || !memcmp(a, "\0\0\0\0", 4)))
		return true;
	if (!strcmp(addr, "::1") || !strcmp(addr, "::"))
		return true;
	if (have_pool && pool_contains(pool, addr))
		return true;
	for (const char *const *l = c->opts->local_addresses; *l; l++)
		if (!strcmp(*l, addr))
			return true;
	return false;
}

static void tx_addresses(struct tx_ctx *c)
{
	struct pool pool;
	bool have_pool = c->opts->address_pool && pool_parse(c->opts->address_pool, &pool);
	const char *listen = c->opts->listen_address ? c->opts->listen_address : "0.0.0.0";

	if (c->opts->address_pool && !have_pool)
		pr_warn("translate: address pool \"%s\" is not a CIDR; using %s\n",
			c->opts->address_pool, listen);
	for (size_t i = 0; i < c->n_gws; i++) {
		struct tx_gateway *gw = &c->gws[i];
		const struct gw_m_gateway *g = gw->g;
		bool want_pool = !g->n_addresses;
		char buf[64];

		gw->programmed = true;
		gw->prog_reason = "Programmed";
		for (size_t k = 0; k < g->n_addresses; k++) {
			const struct gw_m_address *a = &g->addresses[k];
			unsigned char tmp[16];

			if (strcmp(a->type, "IPAddress")) {
				gw->accepted = false;
				gw->accept_reason = "UnsupportedAddress";
				SETMSG(gw->accept_msg, "address type %s is not supported", a->type);
				break;
			}
			if (!a->value) {
				want_pool = true;
				continue;
			}
			if (inet_pton(AF_INET, a->value, tmp) != 1 &&
			    inet_pton(AF_INET6, a->value, tmp) != 1) {
				gw->accepted = false;
				gw->accept_reason = "UnsupportedAddress";
				SETMSG(gw->accept_msg, "address %s is not an IP address", a->value);
				break;
			}
			if (!gw->address)
				gw->address = a->value;
		}
		if (!gw->accepted) {
			gw->programmed = false;
			gw->prog_reason = "Invalid";
			SETMSG(gw->prog_msg, "Gateway is not accepted");
			continue;
		}
		for (size_t k = 0; k < g->n_addresses; k++) {
			const char *v = g->addresses[k].value;

			if (!v || address_usable(c, &pool, have_pool, v))
				continue;
			/* serve none of them rather than a part: the user asked
			 * for all, and a bind to a foreign address would only
			 * succeed through IP_FREEBIND and never see a packet */
			gw->programmed = false;
			gw->prog_reason = "AddressNotUsable";
			SETMSG(gw->prog_msg, "address %s is not assigned to this node", v);
			gw->address = NULL;
			break;
		}
		if (!gw->programmed)
			continue;
		if (gw->address || !want_pool)
			continue;
		if (!have_pool) {
			gw->address = listen;
		} else if (pool_next(&pool, buf, sizeof(buf))) {
			gw->address = gw_ir_strdup(c->ir, buf);
			if (!gw->address)
				c->oom = true;
		} else {
			gw->programmed = false;
			gw->prog_reason = "AddressNotAssigned";
			SETMSG(gw->prog_msg, "address pool %s is exhausted", c->opts->address_pool);
		}
	}
}

static int tx_gateways(struct tx_ctx *c)
{
	struct gw_model *m = c->m;
	size_t n = 0;

	c->gws = calloc(m->n_gateways ? m->n_gateways : 1, sizeof(*c->gws));
	if (!c->gws)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_gateways; i++) {
		struct gw_m_gateway *g = &m->gateways[i];
		struct gw_m_gatewayclass *gc = gw_model_class(m, g->class_name);
		size_t ci;

		if (!gc)
			continue;
		ci = (size_t)(gc - m->classes);
		if (!c->class_ours[ci])
			continue;
		c->gws[n].g = g;
		c->gws[n].accepted = true;
		c->gws[n].accept_reason = "Accepted";
		if (!c->class_ok[ci]) {
			c->gws[n].accepted = false;
			c->gws[n].accept_reason = "Invalid";
			SETMSG(c->gws[n].accept_msg, "GatewayClass %s is not accepted", g->class_name);
		}
		n++;
	}
	c->n_gws = n;
	/* address assignment and listener precedence follow age */
	qsort(c->gws, n, sizeof(*c->gws), cmp_txgw);
	for (size_t i = 0; i < n; i++) {
		struct tx_gateway *gw = &c->gws[i];
		struct gw_m_gateway *g = gw->g;

		if (g->has_infra_params && gw->accepted) {
			/* infrastructure.parametersRef: gwbpf defines no parameters kind;
			 * an existing ConfigMap is accepted and ignored */
			bool found = false;

			if (!strcmp(g->infra_params.group, "") &&
			    !strcmp(g->infra_params.kind, "ConfigMap"))
				for (size_t j = 0; j < m->n_configmaps; j++)
					found |= !strcmp(m->configmaps[j]->ns, g->obj->ns) &&
						 !strcmp(m->configmaps[j]->name,
							 g->infra_params.name);
			if (!found) {
				gw->accepted = false;
				gw->accept_reason = "InvalidParameters";
				SETMSG(gw->accept_msg, "infrastructure.parametersRef %s %s not found",
				       g->infra_params.kind, g->infra_params.name);
			}
		}
	}
	tx_addresses(c);
	for (size_t i = 0; i < n; i++) {
		struct tx_gateway *gw = &c->gws[i];
		struct gw_m_gateway *g = gw->g;

		gw->ls = calloc(g->n_listeners ? g->n_listeners : 1, sizeof(*gw->ls));
		if (!gw->ls)
			return -ENOMEM;
		gw->n_ls = g->n_listeners;
		for (size_t k = 0; k < g->n_listeners; k++)
			tx_listener_init(c, &gw->ls[k], &g->listeners[k], gw, NULL);
		tx_gateway_backend(c, gw);
	}
	return 0;
}

static bool lset_allowed(struct tx_ctx *c, const struct tx_gateway *gw, const struct gw_object *o)
{
	switch (gw->g->allowed_listeners) {
	case GW_FROM_ALL:
		return true;
	case GW_FROM_SAME:
		return !strcmp(o->ns, gw->g->obj->ns);
	case GW_FROM_SELECTOR:
		return gw_model_selector_match(c->m, &gw->g->listeners_selector, o->ns);
	case GW_FROM_NONE:
		break;
	}
	return false;
}

static struct tx_gateway *find_txgw(struct tx_ctx *c, const char *ns, const char *name)
{
	for (size_t i = 0; i < c->n_gws; i++)
		if (!strcmp(c->gws[i].g->obj->ns, ns) && !strcmp(c->gws[i].g->obj->name, name))
			return &c->gws[i];
	return NULL;
}

static int tx_listener_sets(struct tx_ctx *c)
{
	struct gw_model *m = c->m;
	size_t n = 0;

	c->lsets = calloc(m->n_listener_sets ? m->n_listener_sets : 1, sizeof(*c->lsets));
	if (!c->lsets)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_listener_sets; i++) {
		struct gw_m_listener_set *s = &m->listener_sets[i];
		const char *pns = s->parent.ns ? s->parent.ns : s->obj->ns;
		struct tx_gateway *gw = NULL;
		struct tx_lset *ls;

		if (!strcmp(s->parent.group, GW_GROUP_GATEWAY) && !strcmp(s->parent.kind, "Gateway"))
			gw = find_txgw(c, pns, s->parent.name);
		if (!gw)
			continue; /* not ours: no status */
		ls = &c->lsets[n++];
		ls->s = s;
		ls->gw = gw;
		ls->accepted = true;
		ls->reason = "Accepted";
		if (!lset_allowed(c, gw, s->obj)) {
			ls->accepted = false;
			ls->reason = "NotAllowed";
			SETMSG(ls->msg, "Gateway %s/%s does not allow ListenerSets from namespace %s",
			       gw->g->obj->ns, gw->g->obj->name, s->obj->ns);
		} else if (!gw->accepted) {
			ls->accepted = false;
			ls->reason = "ParentNotAccepted";
			SETMSG(ls->msg, "parent Gateway is not accepted");
		}
		ls->ls = calloc(s->n_listeners ? s->n_listeners : 1, sizeof(*ls->ls));
		if (!ls->ls)
			return -ENOMEM;
		ls->n_ls = s->n_listeners;
	}
	c->n_lsets = n;
	qsort(c->lsets, n, sizeof(*c->lsets), cmp_txls);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < c->lsets[i].n_ls; k++) {
			struct tx_listener *tl = &c->lsets[i].ls[k];

			tx_listener_init(c, tl, &c->lsets[i].s->listeners[k], c->lsets[i].gw,
					 &c->lsets[i]);
			if (!c->lsets[i].accepted) {
				tl->accepted = false;
				tl->accept_reason = "NotAllowed";
				SETMSG(tl->accept_msg, "the ListenerSet is not accepted");
			}
		}
	return 0;
}

static int tx_all_conflicts(struct tx_ctx *c)
{
	for (size_t i = 0; i < c->n_gws; i++) {
		struct tx_gateway *gw = &c->gws[i];
		size_t n = gw->n_ls, k = 0, valid = 0;
		struct tx_listener **v;

		for (size_t j = 0; j < c->n_lsets; j++)
			if (c->lsets[j].gw == gw)
				n += c->lsets[j].n_ls;
		v = calloc(n ? n : 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t j = 0; j < gw->n_ls; j++)
			v[k++] = &gw->ls[j];
		for (size_t j = 0; j < c->n_lsets; j++)
			if (c->lsets[j].gw == gw)
				for (size_t l = 0; l < c->lsets[j].n_ls; l++)
					v[k++] = &c->lsets[j].ls[l];
		tx_conflicts(v, k);
		for (size_t j = 0; j < k; j++) {
			tx_listener_finish(v[j]);
			if (!v[j]->lset && v[j]->accepted)
				valid++;
		}
		free(v);
		if (gw->accepted && valid < gw->n_ls) {
			gw->accept_reason = "ListenersNotValid";
			SETMSG(gw->accept_msg, "%zu of %zu listeners are not valid", gw->n_ls - valid,
			       gw->n_ls);
			if (!valid && gw->n_ls) {
				gw->accepted = false;
				gw->programmed = false;
				gw->prog_reason = "Invalid";
				SETMSG(gw->prog_msg, "no listener is valid");
			}
		}
	}
	for (size_t j = 0; j < c->n_lsets; j++) {
		struct tx_lset *ls = &c->lsets[j];
		size_t valid = 0;

		/* A ListenerSet listener whose references do not resolve and
		 * that serves nothing (its only certificate not permitted, no
		 * supported route kind left) is not valid: upstream
		 * ListenerSetReferenceGrant wants Accepted=False
		 * ListenersNotValid for a set made only of such listeners. */
		for (size_t l = 0; l < ls->n_ls; l++)
			valid += ls->ls[l].accepted && (ls->ls[l].refs_ok || ls->ls[l].programmed);
		if (ls->accepted && valid < ls->n_ls) {
			ls->reason = "ListenersNotValid";
			SETMSG(ls->msg, "%zu of %zu listeners are not valid", ls->n_ls - valid,
			       ls->n_ls);
			if (!valid)
				ls->accepted = false;
		}
		/* status.attachedListenerSets counts accepted ListenerSets only */
		if (ls->accepted)
			ls->gw->attached_lsets++;
	}
	return 0;
}

/* ---- route attachment ---- */

/* hostname intersection of a listener hostname and a route hostname (either
 * may be NULL = any). Returns the more specific of the two when they
 * intersect, else NULL with *ok false. */
static const char *host_intersect(const char *l, const char *r, bool *ok)
{
	*ok = true;
	if (!l)
		return r;
	if (!r)
		return l;
	if (tx_host_covers(l, r))
		return r;
	if (tx_host_covers(r, l))
		return l;
	*ok = false;
	return NULL;
}

static bool ns_allowed(struct tx_ctx *c, const struct tx_listener *tl, const char *route_ns)
{
	const char *own_ns = owner_obj(tl)->ns;

	switch (tl->l->from) {
	case GW_FROM_ALL:
		return true;
	case GW_FROM_SAME:
		return !strcmp(own_ns, route_ns);
	case GW_FROM_SELECTOR:
		return gw_model_selector_match(c->m, &tl->l->selector, route_ns);
	case GW_FROM_NONE:
		break;
	}
	return false;
}

static const char *route_kind_name(enum gw_m_kind k)
{
	switch (k) {
	case GW_K_HTTPROUTE:
		return "HTTPRoute";
	case GW_K_GRPCROUTE:
		return "GRPCRoute";
	case GW_K_TLSROUTE:
		return "TLSRoute";
	case GW_K_TCPROUTE:
		return "TCPRoute";
	case GW_K_UDPROUTE:
		return "UDPRoute";
	default:
		return "Ingress";
	}
}

static bool kind_allowed(const struct tx_listener *tl, enum gw_m_kind k)
{
	const char *name = route_kind_name(k);

	for (size_t i = 0; i < tl->n_kinds; i++)
		if (!strcmp(tl->kinds[i].kind, name))
			return true;
	return false;
}

static int attach(struct tx_ctx *c, struct tx_listener *tl, struct tx_route *tr, const char **hosts,
		  size_t n_hosts)
{
	struct tx_attach *a;

	if (tl->n_att == tl->cap_att) {
		size_t cap = tl->cap_att ? tl->cap_att * 2 : 8;
		struct tx_attach *v = realloc(tl->att, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		tl->att = v;
		tl->cap_att = cap;
	}
	a = &tl->att[tl->n_att++];
	a->route = tr;
	a->n_hosts = n_hosts;
	a->hosts = gw_ir_alloc(c->ir, sizeof(*hosts) * (n_hosts ? n_hosts : 1));
	if (!a->hosts)
		return -ENOMEM;
	memcpy(a->hosts, hosts, sizeof(*hosts) * n_hosts);
	if (tl->last_counted != tr) {
		tl->attached++;
		tl->last_counted = tr;
	}
	return 0;
}

/* which listeners a parentRef may select, before allowedRoutes and hostnames */
static size_t parent_candidates(struct tx_ctx *c, const struct gw_m_parent_ref *p,
				struct tx_listener **out, size_t max, bool *found_parent,
				struct tx_gateway **gw_out)
{
	size_t n = 0;

	*found_parent = false;
	*gw_out = NULL;
	if (strcmp(p->group, GW_GROUP_GATEWAY))
		return 0;
	if (!strcmp(p->kind, "Gateway")) {
		struct tx_gateway *gw = find_txgw(c, p->ns, p->name);

		if (!gw)
			return 0;
		*found_parent = true;
		*gw_out = gw;
		for (size_t i = 0; i < gw->n_ls && n < max; i++) {
			struct tx_listener *tl = &gw->ls[i];

			if (p->section && strcmp(p->section, tl->l->name))
				continue;
			if (p->port && p->port != tl->l->port)
				continue;
			out[n++] = tl;
		}
	} else if (!strcmp(p->kind, "ListenerSet")) {
		for (size_t j = 0; j < c->n_lsets; j++) {
			struct tx_lset *ls = &c->lsets[j];

			if (strcmp(ls->s->obj->ns, p->ns) || strcmp(ls->s->obj->name, p->name))
				continue;
			*found_parent = true;
			*gw_out = ls->gw;
			for (size_t i = 0; i < ls->n_ls && n < max; i++) {
				struct tx_listener *tl = &ls->ls[i];

				if (p->section && strcmp(p->section, tl->l->name))
					continue;
				if (p->port && p->port != tl->l->port)
					continue;
				out[n++] = tl;
			}
		}
	}
	return n;
}

/* dry: compute parent statuses without attaching (a route none of whose
 * rules is valid is not accepted, so it is not attached anywhere) */
static int tx_attach_route(struct tx_ctx *c, struct tx_route *tr, bool dry)
{
	struct gw_m_route *r = tr->r;
	const char **hosts = NULL;
	int err = 0;

	hosts = calloc(r->n_hostnames + 1, sizeof(*hosts));
	if (!hosts)
		return -ENOMEM;
	for (size_t pi = 0; pi < r->n_parents; pi++) {
		const struct gw_m_parent_ref *p = &r->parents[pi];
		struct tx_parent *tp = &tr->parents[pi];
		struct tx_listener *cand[256];
		struct tx_gateway *gw;
		bool found, any_allowed = false;
		size_t n = parent_candidates(c, p, cand, ARRAY_SIZE(cand), &found, &gw);

		if (!found) {
			/* Standalone, every Gateway is ours, so a parentRef naming a
			 * Gateway that does not exist is reported; one naming a Gateway
			 * of another controller is left to that controller. */
			bool exists = !strcmp(p->kind, "Gateway") &&
				      gw_model_gateway(c->m, p->ns, p->name);

			if (!exists && (!strcmp(p->kind, "Gateway") || !strcmp(p->kind, "ListenerSet")) &&
			    !strcmp(p->group, GW_GROUP_GATEWAY)) {
				tp->ours = true;
				tp->reason = "NoMatchingParent";
				SETMSG(tp->msg, "%s %s/%s not found", p->kind, p->ns, p->name);
			}
			continue;
		}
		tp->ours = true;
		if (!n) {
			tp->reason = "NoMatchingParent";
			SETMSG(tp->msg, "no listener matches sectionName/port of the parentRef");
			continue;
		}
		tp->reason = "NotAllowedByListeners";
		SETMSG(tp->msg, "no listener of the parent allows this route");
		for (size_t i = 0; i < n; i++) {
			struct tx_listener *tl = cand[i];
			size_t nh = 0;

			if (!tl->accepted || !ns_allowed(c, tl, r->obj->ns) ||
			    !kind_allowed(tl, r->kind))
				continue;
			any_allowed = true;
			if (r->kind == GW_K_TCPROUTE || r->kind == GW_K_UDPROUTE) {
				hosts[nh++] = NULL;
			} else if (!r->n_hostnames) {
				hosts[nh++] = tl->l->hostname;
			} else {
				for (size_t h = 0; h < r->n_hostnames; h++) {
					bool ok;
					const char *x = host_intersect(tl->l->hostname,
								       r->hostnames[h], &ok);

					if (ok)
						hosts[nh++] = x;
				}
			}
			if (!nh)
				continue;
			if (!dry)
				err = attach(c, tl, tr, hosts, nh);
			if (err)
				goto out;
			tp->accepted = true;
		}
		if (tp->accepted) {
			tp->reason = "Accepted";
			tp->msg[0] = '\0';
			tr->any_accepted = true;
		} else if (any_allowed) {
			tp->reason = "NoMatchingListenerHostname";
			SETMSG(tp->msg, "no hostname of the route intersects the listeners'");
		} else if (gw && !gw->accepted) {
			tp->reason = "NoMatchingParent";
			SETMSG(tp->msg, "the parent Gateway is not accepted");
		}
	}
out:
	free(hosts);
	return err;
}

/* ---- rules, backends ---- */

static const char *backend_problem(struct tx_ctx *c, struct tx_route *tr,
				   const struct gw_m_backend_ref *b, int32_t *cluster, char *msg)
{
	const struct gw_object *o = tr->r->obj;
	const char *from_kind = tr->r->kind == GW_K_INGRESS ? "Ingress" : route_kind_name(tr->r->kind);
	const char *from_group = tr->r->kind == GW_K_INGRESS ? "networking.k8s.io" : GW_GROUP_GATEWAY;
	struct gw_m_service *svc;
	struct gw_m_service_port *sp = NULL;
	const char *refused, *why = NULL;
	int idx;

	*cluster = -1;
	if (strcmp(b->group, "") || strcmp(b->kind, "Service")) {
		SETMSG(msg, "backendRef %s/%s: kind %s%s%s is not supported", b->ns, b->name,
		       b->group, *b->group ? "/" : "", b->kind);
		return "InvalidKind";
	}
	if (strcmp(b->ns, o->ns) &&
	    !gw_model_grant_allows(c->m, from_group, from_kind, o->ns, "", "Service", b->ns,
				   b->name)) {
		SETMSG(msg, "backendRef %s/%s: no ReferenceGrant allows it", b->ns, b->name);
		return "RefNotPermitted";
	}
	svc = gw_model_service(c->m, b->ns, b->name);
	if (!svc) {
		SETMSG(msg, "backendRef %s/%s: Service not found", b->ns, b->name);
		return "BackendNotFound";
	}
	for (size_t i = 0; i < svc->n_ports && !sp; i++)
		if (b->port_name ? !strcmp(svc->ports[i].name, b->port_name) :
				   svc->ports[i].port == b->port)
			sp = &svc->ports[i];
	if (!sp) {
		if (b->port_name)
			SETMSG(msg, "backendRef %s/%s: Service has no port named %s", b->ns, b->name,
			       b->port_name);
		else
			SETMSG(msg, "backendRef %s/%s: Service has no port %d", b->ns, b->name,
			       (int)b->port);
		return "BackendNotFound";
	}
	refused = tx_service_refused(c, svc, &why);
	if (refused) {
		SETMSG(msg, "backendRef %s/%s: endpoint %s refused (%s)", b->ns, b->name, refused,
		       why);
		return "RefNotPermitted";
	}
	idx = tx_cluster_index(c, svc, sp);
	if (idx < 0) {
		c->oom = true;
		return NULL;
	}
	*cluster = idx;
	return NULL;
}

static void refs_fail(struct tx_route *tr, const char *reason, const char *msg)
{
	if (!tr->refs_ok)
		return;
	tr->refs_ok = false;
	tr->refs_reason = reason;
	snprintf(tr->refs_msg, TX_MSG, "%s", msg);
}

/* Gateway API durations: 1 to 4 (number, unit) pairs, units h m s ms */
static bool parse_duration(const char *s, uint32_t *ms)
{
	uint64_t total = 0;
	int parts = 0;

	if (!s || !*s)
		return false;
	while (*s) {
		uint64_t v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 6) {
			v = v * 10 + (uint64_t)(*s++ - '0');
			digits++;
		}
		if (!digits)
			return false;
		if (s[0] == 'm' && s[1] == 's') {
			s += 2;
		} else if (*s == 'h') {
			v *= 3600000;
			s++;
		} else if (*s == 'm') {
			v *= 60000;
			s++;
		} else if (*s == 's') {
			v *= 1000;
			s++;
		} else {
			return false;
		}
		total += v;
		if (++parts > 4)
			return false;
	}
	*ms = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	return true;
}

static bool regex_ok(const char *pat, char *err, size_t size)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
				       &off, NULL);

	if (re) {
		pcre2_code_free(re);
		return true;
	}
	pcre2_get_error_message(code, (PCRE2_UCHAR *)err, size);
	return false;
}

static char **ir_strv(struct tx_ctx *c, const char *const *v, size_t n)
{
	char **out = gw_ir_new_array(c->ir, char *, n);

	if (!out) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = gw_ir_strdup(c->ir, v[i])))
			c->oom = true;
	return out;
}

static struct gw_ir_header_op *ir_ops(struct tx_ctx *c, const struct gw_m_kv *v, size_t n)
{
	struct gw_ir_header_op *out = gw_ir_new_array(c->ir, struct gw_ir_header_op, n);

	if (!out) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		out[i].name = gw_ir_strdup(c->ir, v[i].key);
		out[i].value = gw_ir_strdup(c->ir, v[i].value);
	}
	return out;
}

static enum gw_path_mod_type path_mod(const struct gw_m_path_mod *p)
{
	if (!p->type)
		return GW_PATH_MOD_NONE;
	return !strcmp(p->type, "ReplaceFullPath") ? GW_PATH_MOD_FULL : GW_PATH_MOD_PREFIX;
}

/* filters into IR; false when one is unsupported (the rule then answers 500) */
static bool ir_filters(struct tx_ctx *c, struct tx_route *tr, const struct gw_m_filter *f,
		       size_t n, struct gw_ir_filter **out, size_t *n_out, char *why)
{
	struct gw_ir_filter *v = gw_ir_new_array(c->ir, struct gw_ir_filter, n);
	bool ok = true;

	*out = v;
	*n_out = 0;
	if (!v) {
		c->oom = true;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		struct gw_ir_filter *x = &v[*n_out];
		char msg[TX_MSG];
		int32_t cl;
		const char *reason;

		switch (f[i].type) {
		case GW_MF_REQUEST_HEADER:
		case GW_MF_RESPONSE_HEADER:
			x->type = f[i].type == GW_MF_REQUEST_HEADER ? GW_FILTER_REQUEST_HEADER :
								      GW_FILTER_RESPONSE_HEADER;
			x->hdr.set = ir_ops(c, f[i].hdr.set, f[i].hdr.n_set);
			x->hdr.n_set = f[i].hdr.n_set;
			x->hdr.add = ir_ops(c, f[i].hdr.add, f[i].hdr.n_add);
			x->hdr.n_add = f[i].hdr.n_add;
			x->hdr.remove = ir_strv(c, f[i].hdr.remove, f[i].hdr.n_remove);
			x->hdr.n_remove = f[i].hdr.n_remove;
			break;
		case GW_MF_REDIRECT:
			x->type = GW_FILTER_REDIRECT;
			x->redirect.scheme = gw_ir_strdup(c->ir, f[i].scheme);
			x->redirect.hostname = gw_ir_strdup(c->ir, f[i].hostname);
			x->redirect.port = f[i].port;
			x->redirect.path_type = path_mod(&f[i].path);
			x->redirect.path = gw_ir_strdup(c->ir, f[i].path.value);
			x->redirect.status = (uint16_t)f[i].status_code;
			break;
		case GW_MF_REWRITE:
			x->type = GW_FILTER_REWRITE;
			x->rewrite.hostname = gw_ir_strdup(c->ir, f[i].hostname);
			x->rewrite.path_type = path_mod(&f[i].path);
			x->rewrite.path = gw_ir_strdup(c->ir, f[i].path.value);
			break;
		case GW_MF_MIRROR:
			x->type = GW_FILTER_MIRROR;
			reason = backend_problem(c, tr, f[i].mirror, &cl, msg);
			if (reason)
				refs_fail(tr, reason, msg);
			x->mirror.cluster = cl;
			x->mirror.num = f[i].num;
			x->mirror.den = f[i].den ? f[i].den : 1;
			break;
		case GW_MF_CORS:
			x->type = GW_FILTER_CORS;
			x->cors.allow_origins = ir_strv(c, f[i].allow_origins, f[i].n_allow_origins);
			x->cors.n_allow_origins = f[i].n_allow_origins;
			x->cors.allow_credentials = f[i].allow_credentials;
			x->cors.allow_methods = ir_strv(c, f[i].allow_methods, f[i].n_allow_methods);
			x->cors.n_allow_methods = f[i].n_allow_methods;
			x->cors.allow_headers = ir_strv(c, f[i].allow_headers, f[i].n_allow_headers);
			x->cors.n_allow_headers = f[i].n_allow_headers;
			x->cors.expose_headers =
				ir_strv(c, f[i].expose_headers, f[i].n_expose_headers);
			x->cors.n_expose_headers = f[i].n_expose_headers;
			x->cors.max_age = f[i].max_age;
			break;
		case GW_MF_UNSUPPORTED:
			if (ok)
				snprintf(why, TX_MSG, "filter type %s is not supported",
					 f[i].type_name);
			ok = false;
			continue;
		}
		(*n_out)++;
	}
	return ok;
}

/* Builds the action of every rule of a route once (ir_build.c copies it
 * into each vhost) and records which rules are invalid. */
static void tx_rules(struct tx_ctx *c, struct tx_route *tr)
{
	struct gw_m_route *r = tr->r;
	bool http = r->kind == GW_K_HTTPROUTE || r->kind == GW_K_GRPCROUTE ||
		    r->kind == GW_K_INGRESS;

	for (size_t i = 0; i < r->n_rules && !c->oom; i++) {
		struct gw_m_rule *rule = &r->rules[i];
		struct tx_rule *xr = &tr->rules[i];
		struct gw_ir_action *a = gw_ir_alloc(c->ir, sizeof(*a));
		char why[TX_MSG] = "";
		bool has_redirect = false, valid = true;
		size_t n_valid = 0;

		if (!a) {
			c->oom = true;
			return;
		}
		xr->tmpl = a;
		a->route = gw_ir_strdup(c->ir, tr->key);
		a->rule_name = gw_ir_strdup(c->ir, rule->name);
		a->rule_index = (uint32_t)i;
		if (!ir_filters(c, tr, rule->filters, rule->n_filters, &a->filters, &a->n_filters,
				why))
			valid = false;
		for (size_t f = 0; f < rule->n_filters; f++)
			has_redirect |= rule->filters[f].type == GW_MF_REDIRECT;
		for (size_t m = 0; m < rule->n_matches && valid; m++) {
			const struct gw_m_match *mt = &rule->matches[m];
			char err[128];

			if (mt->path_type == GW_M_PATH_REGEX && !regex_ok(mt->path, err, sizeof(err))) {
				snprintf(why, TX_MSG, "invalid path regex \"%s\": %s", mt->path, err);
				valid = false;
			}
			for (size_t h = 0; h < mt->n_headers && valid; h++)
				if (mt->headers[h].regex &&
				    !regex_ok(mt->headers[h].value, err, sizeof(err))) {
					snprintf(why, TX_MSG, "invalid header regex \"%s\": %s",
						 mt->headers[h].value, err);
					valid = false;
				}
			for (size_t q = 0; q < mt->n_queries && valid; q++)
				if (mt->queries[q].regex &&
				    !regex_ok(mt->queries[q].value, err, sizeof(err))) {
					snprintf(why, TX_MSG, "invalid query regex \"%s\": %s",
						 mt->queries[q].value, err);
					valid = false;
				}
		}
		a->backends = gw_ir_new_array(c->ir, struct gw_ir_backend, rule->n_backends);
		if (!a->backends) {
			c->oom = true;
			return;
		}
		for (size_t b = 0; b < rule->n_backends; b++) {
			struct gw_ir_backend *ib = &a->backends[a->n_backends++];
			const struct gw_m_backend_ref *br = &rule->backends[b];
			char msg[TX_MSG];
			const char *reason = backend_problem(c, tr, br, &ib->cluster, msg);

			if (reason)
				refs_fail(tr, reason, msg);
			else
				n_valid++;
			if (!reason && r->kind == GW_K_GRPCROUTE)
				c->clusters[ib->cluster].grpc = true;
			ib->weight = br->weight;
			a->total_weight += br->weight;
			if (br->n_filters && !ir_filters(c, tr, br->filters, br->n_filters,
							 &ib->filters, &ib->n_filters, why))
				valid = false;
		}
		if (rule->timeout_request)
			parse_duration(rule->timeout_request, &a->request_timeout_ms);
		if (rule->timeout_backend)
			parse_duration(rule->timeout_backend, &a->backend_timeout_ms);
		if (rule->has_retry) {
			a->retry.attempts = (uint32_t)GW_MAX(rule->retry_attempts, 0);
			if (rule->retry_backoff)
				parse_duration(rule->retry_backoff, &a->retry.backoff_ms);
			a->retry.codes = gw_ir_new_array(c->ir, uint16_t, rule->n_retry_codes);
			if (!a->retry.codes) {
				c->oom = true;
				return;
			}
			for (size_t k = 0; k < rule->n_retry_codes; k++)
				a->retry.codes[k] = (uint16_t)rule->retry_codes[k];
			a->retry.n_codes = rule->n_retry_codes;
		}
		if (!valid) {
			xr->invalid = true;
			xr->direct_status = 500;
			if (!tr->n_invalid++)
				snprintf(tr->invalid_msg, TX_MSG, "spec.rules[%zu]: %s", i, why);
		} else if (http && !has_redirect && (!rule->n_backends || !n_valid)) {
			/* no backendRefs, or none that resolves: the spec's 500 */
			xr->direct_status = 500;
		} else if (http && !has_redirect && !a->total_weight) {
			xr->direct_status = 500;
		}
		a->direct_status = xr->direct_status;
	}
}

static int tx_routes(struct tx_ctx *c)
{
	struct gw_model *m = c->m;

	c->routes = calloc(m->n_routes ? m->n_routes : 1, sizeof(*c->routes));
	if (!c->routes)
		return -ENOMEM;
	c->n_routes = m->n_routes;
	for (size_t i = 0; i < m->n_routes; i++) {
		struct tx_route *tr = &c->routes[i];
		int err;

		tr->r = &m->routes[i];
		tr->refs_ok = true;
		tr->refs_reason = "ResolvedRefs";
		snprintf(tr->key, sizeof(tr->key), "%s/%s", tr->r->obj->ns, tr->r->obj->name);
		tr->parents = calloc(tr->r->n_parents + 1, sizeof(*tr->parents));
		tr->rules = calloc(tr->r->n_rules + 1, sizeof(*tr->rules));
		if (!tr->parents || !tr->rules)
			return -ENOMEM;
		tx_rules(c, tr);
		if (c->oom)
			return -ENOMEM;
		if (tr->r->kind == GW_K_INGRESS)
			continue;
		err = tx_attach_route(c, tr, tr->r->n_rules && tr->n_invalid == tr->r->n_rules);
		if (err)
			return err;
	}
	return 0;
}

/* Ingress: implicit listeners "ingress/gwbpf" http (80) and https (443) on
 * the listen address; every Ingress of class gwbpf attaches to both (https
 * only when it has tls entries). */
static int tx_ingress(struct tx_ctx *c)
{
	static struct gw_m_listener l80 = { .name = "http", .protocol = "HTTP", .port = 80 };
	static struct gw_m_listener l443 = { .name = "https", .protocol = "HTTPS", .port = 443 };
	bool any = false, any_tls = false;

	for (size_t i = 0; i < c->n_routes; i++)
		if (c->routes[i].r->kind == GW_K_INGRESS) {
			any = true;
			any_tls |= c->routes[i].r->n_ingress_tls > 0;
		}
	if (!any)
		return 0;
	c->ingress_gw.address = c->opts->listen_address ? c->opts->listen_address : "0.0.0.0";
	c->ingress_gw.accepted = true;
	c->ingress_ls = calloc(2, sizeof(*c->ingress_ls));
	if (!c->ingress_ls)
		return -ENOMEM;
	c->n_ingress_ls = any_tls ? 2 : 1;
	for (size_t k = 0; k < c->n_ingress_ls; k++) {
		struct tx_listener *tl = &c->ingress_ls[k];

		tl->l = k ? &l443 : &l80;
		tl->gw = &c->ingress_gw;
		tl->proto = k ? GW_PROTO_HTTPS : GW_PROTO_HTTP;
		tl->proto_ok = tl->accepted = tl->programmed = true;
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		struct tx_route *tr = &c->routes[i];
		const char *hosts[1];
		size_t nh = 1;

		if (tr->r->kind != GW_K_INGRESS)
			continue;
		hosts[0] = tr->r->n_hostnames ? tr->r->hostnames[0] : NULL;
		for (size_t k = 0; k < c->n_ingress_ls; k++) {
			if (k && !tr->r->n_ingress_tls)
				continue;
			if (attach(c, &c->ingress_ls[k], tr, hosts, nh))
				return -ENOMEM;
		}
		tr->any_accepted = true;
	}
	/* certificates of the https listener: every tls secret of every Ingress */
	if (any_tls) {
		struct tx_listener *tl = &c->ingress_ls[1];
		size_t n = 0;

		for (size_t i = 0; i < c->n_routes; i++)
			n += c->routes[i].r->kind == GW_K_INGRESS ? c->routes[i].r->n_ingress_tls : 0;
		tl->certs = gw_ir_new_array(c->ir, struct gw_ir_cert, n);
		if (!tl->certs)
			return -ENOMEM;
		for (size_t i = 0; i < c->n_routes; i++) {
			struct gw_m_route *r = c->routes[i].r;

			if (r->kind != GW_K_INGRESS || (i && c->routes[i - 1].r->obj == r->obj))
				continue;
			for (size_t k = 0; k < r->n_ingress_tls; k++) {
				struct gw_m_secret *s =
					gw_model_secret(c->m, r->obj->ns, r->ingress_tls[k].value);

				if (!s || !pem_ok(s->cert_pem, s->key_pem)) {
					char msg[TX_MSG];

					SETMSG(msg, "tls secret %s/%s missing or invalid", r->obj->ns,
					       r->ingress_tls[k].value);
					refs_fail(&c->routes[i], "InvalidCertificateRef", msg);
					continue;
				}
				tl->certs[tl->n_certs].hostnames =
					gw_ir_strdup(c->ir, r->ingress_tls[k].key);
				tl->certs[tl->n_certs].cert_pem = gw_ir_strdup(c->ir, s->cert_pem);
				tl->certs[tl->n_certs++].key_pem = gw_ir_strdup(c->ir, s->key_pem);
			}
		}
	}
	return 0;
}

/* ---- entry points ---- */

static void free_ctx(struct tx_ctx *c)
{
	for (size_t i = 0; i < c->n_gws; i++) {
		for (size_t k = 0; k < c->gws[i].n_ls; k++)
			free(c->gws[i].ls[k].att);
		free(c->gws[i].ls);
	}
	for (size_t i = 0; i < c->n_lsets; i++) {
		for (size_t k = 0; k < c->lsets[i].n_ls; k++)
			free(c->lsets[i].ls[k].att);
		free(c->lsets[i].ls);
	}
	for (size_t k = 0; k < c->n_ingress_ls; k++)
		free(c->ingress_ls[k].att);
	free(c->ingress_ls);
	for (size_t i = 0; i < c->n_routes; i++) {
		free(c->routes[i].parents);
		free(c->routes[i].rules);
	}
	for (size_t i = 0; i < c->n_clusters; i++)
		free(c->clusters[i].name);
	free(c->clusters);
	free(c->cl_hash);
	free(c->slice_idx);
	free(c->gws);
	free(c->lsets);
	free(c->routes);
	free(c->class_ok);
	free(c->class_ours);
	tx_btls_free(c);
	gw_model_free(c->m);
}

int gw_translate(const struct gw_store *store, const struct gw_translate_opts *opts,
		 struct gw_translation **out)
{
	static const struct gw_translate_opts dflt;
	struct tx_ctx c = { 0 };
	struct gw_object **objs = NULL;
	ssize_t n;
	int err = -ENOMEM;
	struct tm tm;
	time_t now;

	*out = NULL;
	c.opts = opts ? opts : &dflt;
	c.controller = c.opts->controller_name ? c.opts->controller_name : GW_CONTROLLER_NAME;
	/* RFC 3339 (metav1.Time) has four-digit years: clamp to 1970..9999, and
	 * never format an uninitialised tm when gmtime_r() fails (a "now" far out
	 * of range gave garbage that differed between calls; fuzz_translate) */
	now = (time_t)(c.opts->now < 0 ? 0 : c.opts->now > 253402300799LL ? 253402300799LL
									     : c.opts->now);
	if (!gmtime_r(&now, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(c.now, sizeof(c.now), "%Y-%m-%dT%H:%M:%SZ", &tm);

	n = gw_store_list(store, NULL, NULL, &objs);
	if (n < 0)
		return (int)n;
	c.t = calloc(1, sizeof(*c.t));
	c.ir = gw_ir_new();
	c.m = gw_model_new(objs, (size_t)n);
	if (!c.t || !c.ir || !c.m)
		goto out;
	c.t->ir = c.ir;
	c.objs = objs;
	c.n_objs = (size_t)n;
	c.class_ok = calloc(c.m->n_classes + 1, sizeof(bool));
	c.class_ours = calloc(c.m->n_classes + 1, sizeof(bool));
	if (!c.class_ok || !c.class_ours)
		goto out;
	tx_classes(&c);
	err = tx_gateways(&c);
	if (!err)
		err = tx_listener_sets(&c);
	if (!err)
		err = tx_all_conflicts(&c);
	if (!err)
		err = tx_routes(&c);
	if (!err)
		err = tx_ingress(&c);
	if (!err)
		err = tx_backend_tls(&c);
	if (!err && c.oom)
		err = -ENOMEM;
	if (!err)
		err = tx_build_ir(&c);
	if (!err)
		err = tx_write_status(&c, objs, (size_t)n);
	if (!err && gw_ir_compile(c.ir, &c.t->diags))
		pr_warn("translate: a regular expression failed to compile after validation\n");
out:
	if (err) {
		if (c.t)
			c.t->ir = NULL;
		gw_translation_free(c.t);
		gw_ir_put(c.ir);
		c.t = NULL;
	}
	free_ctx(&c);
	free(objs);
	*out = c.t;
	return err;
}

void gw_translation_free(struct gw_translation *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_status; i++) {
		gw_object_put(t->status[i].obj);
		json_decref(t->status[i].status);
	}
	free(t->status);
	gw_ir_put(t->ir);
	gw_diag_list_free(&t->diags);
	free(t);
}
