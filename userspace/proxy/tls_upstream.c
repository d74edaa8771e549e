/* proxy/tls_upstream.c - TLS client sessions to backends (gwbpf/tls_upstream.h).
 *
 * One SSL_CTX per TLS cluster of the snapshot a worker is serving, built on
 * first use and kept in the worker's upstream pool (per worker, so no
 * locks). A new snapshot replaces the whole cache; SSL objects hold a
 * reference to their context, so pooled and in-flight connections made with
 * the old one keep working until they close.
 *
 * Verification (BackendTLSPolicy, v1.6.1):
 *   - chain: against the policy's CA bundle only, or the system store for
 *     wellKnownCACertificates: System;
 *   - name: the policy's hostname (also the SNI), through OpenSSL's own
 *     hostname check during chain verification; when subjectAltNames are
 *     listed, the hostname is not checked and at least one of them must be
 *     in the certificate (DNS names with X509_check_host, URIs exactly), as
 *     the CRD says;
 *   - the Gateway's backend client certificate, when set, is presented to
 *     backends that ask for one.
 * Resumption: each context keeps the last session a backend gave it (in
 * the context's ex_data, so it lives and dies with the context, per
 * worker), and a new connection offers it. A resumed session skips the
 * chain check, which is why it is only ever offered under the context it
 * was verified with (same CAs, same hostname); the subjectAltNames check
 * runs on every connection, resumed or not.
 * TLS 1.2 minimum. ALPN offers http/1.1, or only h2 for clusters spoken to
 * over HTTP/2 (appProtocol kubernetes.io/h2c, GRPCRoute backends): their
 * connections belong to h2_upstream.c, which refuses a session where the
 * backend did not select h2 (RFC 9113 section 3.2: h2 over TLS is chosen by
 * ALPN only). The ALPN is part of the pooling key, so an HTTP/1.1 and an h2
 * connection are never taken for each other.
 */
#include "gwbpf/api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gwbpf/log.h"
#include "gwbpf/loop-t.h"
#include "gwbpf/pem.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/upstream.h"

struct gw_tls_up {
	SSL *ssl;
	uint32_t want;
	bool established;
	bool verify_failed; /* the handshake failed on the certificate */
	const struct gw_ir_upstream_tls *cfg; /* borrowed from the IR until the handshake ends */
};

struct gw_tls_up_cache {
	const struct gw_ir *ir; /* the snapshot the contexts belong to (not a reference) */
	uint64_t gen;
	SSL_CTX **ctx; /* per cluster; NULL = not built or refused */
	bool *built;
	size_t n;
};

static _Atomic uint64_t st_handshakes, st_verify_failures, st_failures, st_resumed;

/* SSL_CTX ex_data slot holding the context's last session (a reference) */
static int sess_idx = -1;
static pthread_once_t sess_once = PTHREAD_ONCE_INIT;

static void sess_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	SSL_SESSION_free(ptr);
}

static void sess_init(void)
{
	sess_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sess_free);
}

/* sess_new() : a backend gave a session (after the handshake in TLS 1.3,
 * during it in 1.2): keep it for the next connection under this context.
 * Only a session whose chain verified is kept. */
static int sess_new(SSL *ssl, SSL_SESSION *sess)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
	SSL_SESSION *copy;

	if (sess_idx < 0 || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	/* a copy: sess stays the connection's, and SSL_free() of a connection
	 * closed without close_notify (ours are) marks it not resumable */
	copy = SSL_SESSION_dup(sess);
	if (!copy)
		return 0;
	SSL_SESSION_free(SSL_CTX_get_ex_data(ctx, sess_idx));
	SSL_CTX_set_ex_data(ctx, sess_idx, copy);
	return 0; /* sess: not taken */
}

static uint64_t fnv(uint64_t h, const char *s)
{
	if (!s)
		return (h ^ 0xff) * 1099511628211ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0) * 1099511628211ull;
}

static bool cl_h2(const struct gw_ir_cluster *cl)
{
	return cl->app_proto == GW_APP_H2C;
}

/* tls_key() : digest of every setting a connection is made with (h2: the
 * ALPN it offers); odd, so never 0 */
static uint64_t tls_key(const struct gw_ir_upstream_tls *t, bool h2)
{
	uint64_t h = 1469598103934665603ull;

	h = fnv(h, h2 ? "h2" : "http/1.1");
	h = fnv(h, t->sni);
	h = fnv(h, t->ca_pem);
	h = fnv(h, t->system_ca ? "system" : "");
	for (size_t i = 0; i < t->n_san_dns; i++)
		h = fnv(h, t->san_dns[i]);
	h = fnv(h, "|");
	for (size_t i = 0; i < t->n_san_uri; i++)
		h = fnv(h, t->san_uri[i]);
	h = fnv(h, t->cert_pem);
	h = fnv(h, t->key_pem);
	return h | 1;
}

void gw_tls_up_cache_free(struct gw_tls_up_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		SSL_CTX_free(c->ctx[i]);
	free(c->ctx);
	free(c->built);
	free(c);
}

/* a bundle loads when at least one certificate was added (a duplicate is
 * refused by the store, not an error) */
struct store_walk {
	X509_STORE *st;
	size_t added;
};

static int store_add(struct x509_st *x, void *arg)
{
	struct store_walk *w = arg;

	w->added += X509_STORE_add_cert(w->st, x) == 1;
	return 0;
}

/* load_store() : the PEM CA bundle into ctx's verify store; 0, -EINVAL when
 * no certificate could be added, or -ENOMEM */
static int load_store(SSL_CTX *ctx, const char *pem)
{
	struct store_walk w = { SSL_CTX_get_cert_store(ctx), 0 };
	int n = gw_pem_each_cert(pem, strlen(pem), store_add, &w);

	if (n < 0)
		return n;
	return w.added ? 0 : -EINVAL;
}

static SSL_CTX *ctx_build(const struct gw_ir_cluster *cl)
{
	static const unsigned char alpn1[] = "\x08http/1.1", alpn2[] = "\x02h2";
	const struct gw_ir_upstream_tls *t = cl->tls;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (t->system_ca) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			goto fail;
	} else if (!t->ca_pem || load_store(ctx, t->ca_pem)) {
		goto fail;
	}
	if (t->cert_pem && t->key_pem && gw_pem_use_cert(ctx, t->cert_pem, t->key_pem)) {
		ERR_clear_error();
		pr_warn("tls: cluster %s: backend client certificate does not load", cl->name);
		goto fail;
	}
	pthread_once(&sess_once, sess_init);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, sess_new);
	if (cl_h2(cl) ? SSL_CTX_set_alpn_protos(ctx, alpn2, sizeof(alpn2) - 1)
		      : SSL_CTX_set_alpn_protos(ctx, alpn1, sizeof(alpn1) - 1))
		goto fail;
	return ctx;
fail:
	pr_warn("tls: cluster %s (BackendTLSPolicy %s): client context not built; requests "
		"answer 502",
		cl->name, t->policy ? t->policy : "?");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* cache_ctx() : the worker's context for ir->clusters[cluster] (borrowed) */
static SSL_CTX *cache_ctx(struct gw_upstream_pool *pool, const struct gw_ir *ir, int32_t cluster)
{
	struct gw_tls_up_cache **slot = gw_upstream_tls_cache(pool), *c = *slot;

	if (c && (c->ir != ir || c->gen != ir->generation || c->n != ir->n_clusters)) {
		gw_tls_up_cache_free(c);
		*slot = c = NULL;
	}
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->ctx = calloc(ir->n_clusters ? ir->n_clusters : 1, sizeof(*c->ctx));
		c->built = calloc(ir->n_clusters ? ir->n_clusters : 1, sizeof(*c->built));
		if (!c->ctx || !c->built) {
			gw_tls_up_cache_free(c);
			return NULL;
		}
		c->ir = ir;
		c->gen = ir->generation;
		c->n = ir->n_clusters;
		*slot = c;
	}
	if (!c->built[cluster]) {
		c->ctx[cluster] = ctx_build(&ir->clusters[cluster]);
		c->built[cluster] = true;
	}
	return c->ctx[cluster];
}

struct gw_upconn *gw_tls_up_get(struct gw_upstream_pool *pool, const struct sockaddr_storage *ss,
				socklen_t len, const struct gw_ir *ir, int32_t cluster)
{
	const struct gw_ir_upstream_tls *t = ir->clusters[cluster].tls;
	struct gw_upconn *uc;
	struct gw_tls_up *s;
	SSL_CTX *ctx;

	if (!t)
		return gw_upstream_get(pool, ss, len);
	if (t->invalid || !(ctx = cache_ctx(pool, ir, cluster))) {
		errno = EPROTO;
		return NULL;
	}
	uc = gw_upstream_get_key(pool, ss, len, tls_key(t, cl_h2(&ir->clusters[cluster])));
	if (!uc || uc->tls)
		return uc; /* pooled: its session is established */
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	uc->tls = s;
	s->cfg = t;
	s->want = GW_IO_WRITE;
	s->ssl = SSL_new(ctx);
	if (!s->ssl || SSL_set_fd(s->ssl, uc->fd) != 1)
		goto fail;
	if (t->sni && SSL_set_tlsext_host_name(s->ssl, t->sni) != 1)
		goto fail;
	/* with subjectAltNames the hostname is for SNI only (checked after) */
	if (t->sni && !t->n_san_dns && !t->n_san_uri) {
		SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(s->ssl, t->sni) != 1)
			goto fail;
	}
	if (sess_idx >= 0) {
		SSL_SESSION *sess = SSL_CTX_get_ex_data(ctx, sess_idx);

		if (sess && SSL_SESSION_is_resumable(sess) && SSL_set_session(s->ssl, sess) != 1)
			ERR_clear_error(); /* a full handshake then */
	}
	SSL_set_connect_state(s->ssl);
	/* the TLS handshake must finish before the request is written */
	uc->connected = false;
	return uc;
fail:
	ERR_clear_error();
	gw_upstream_close(pool, uc);
	errno = ENOMEM;
	return NULL;
}

static bool uri_in_cert(X509 *x, const char *uri)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_URI) {
			const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;

			found = (size_t)s->length == strlen(uri) &&
				!memcmp(s->data, uri, (size_t)s->length);
		}
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* san_ok() : one of the policy's subjectAltNames is in the certificate */
static bool san_ok(SSL *ssl, const struct gw_ir_upstream_tls *t)
{
	X509 *x = SSL_get0_peer_certificate(ssl);

	if (!t->n_san_dns && !t->n_san_uri)
		return true;
	if (!x)
		return false;
	for (size_t i = 0; i < t->n_san_dns; i++)
		if (X509_check_host(x, t->san_dns[i], 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
				    NULL) == 1)
			return true;
	for (size_t i = 0; i < t->n_san_uri; i++)
		if (uri_in_cert(x, t->san_uri[i]))
			return true;
	return false;
}

static int set_want(struct gw_tls_up *s, int r)
{
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		s->want = GW_IO_READ;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->want = GW_IO_WRITE;
		return -EAGAIN;
	default:
		s->want = 0;
		return -EPROTO;
	}
}

int gw_tls_up_handshake(struct gw_upconn *uc)
{
	struct gw_tls_up *s = uc->tls;
	long vr;
	int r;

	if (!s)
		return 0;
	if (s->established)
		return 0;
	ERR_clear_error();
	r = SSL_do_handshake(s->ssl);
	if (r != 1) {
		r = set_want(s, r);
		if (r != -EAGAIN) {
			vr = SSL_get_verify_result(s->ssl);
			if (vr != X509_V_OK) {
				s->verify_failed = true;
				atomic_fetch_add_explicit(&st_verify_failures, 1,
							  memory_order_relaxed);
				pr_debug("tls: backend certificate refused: %s",
					 X509_verify_cert_error_string(vr));
			} else {
				atomic_fetch_add_explicit(&st_failures, 1, memory_order_relaxed);
			}
			ERR_clear_error();
		}
		return r;
	}
	if (!san_ok(s->ssl, s->cfg)) {
		s->verify_failed = true;
		atomic_fetch_add_explicit(&st_verify_failures, 1, memory_order_relaxed);
		pr_debug("tls: backend certificate has none of the subjectAltNames of %s",
			 s->cfg->policy ? s->cfg->policy : "the policy");
		s->want = 0;
		return -EPROTO;
	}
	s->established = true;
	s->cfg = NULL;
	s->want = GW_IO_READ;
	atomic_fetch_add_explicit(&st_handshakes, 1, memory_order_relaxed);
	if (SSL_session_reused(s->ssl))
		atomic_fetch_add_explicit(&st_resumed, 1, memory_order_relaxed);
	return 0;
}

uint32_t gw_tls_up_want(const struct gw_upconn *uc)
{
	return uc->tls ? uc->tls->want : GW_IO_WRITE;
}

ssize_t gw_tls_up_read(struct gw_upconn *uc, void *buf, size_t len)
{
	struct gw_tls_up *s = uc->tls;
	int r;

	if (!len)
		return -EAGAIN;
	ERR_clear_error();
	r = SSL_read(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0)
		return r;
	r = set_want(s, r);
	if (r == -EAGAIN)
		return r;
	ERR_clear_error();
	return 0;
}

ssize_t gw_tls_up_write(struct gw_upconn *uc, const void *buf, size_t len)
{
	struct gw_tls_up *s = uc->tls;
	int r;

	if (!len)
		return 0;
	ERR_clear_error();
	r = SSL_write(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0)
		return r;
	r = set_want(s, r);
	if (r == -EAGAIN)
		return r;
	ERR_clear_error();
	return -EPIPE;
}

uint64_t gw_tls_up_key(const struct gw_ir *ir, int32_t cluster)
{
	const struct gw_ir_cluster *cl = &ir->clusters[cluster];

	return cl->tls ? tls_key(cl->tls, cl_h2(cl)) : 0;
}

bool gw_tls_up_alpn_h2(const struct gw_upconn *uc)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;

	if (!uc->tls || !uc->tls->established)
		return false;
	SSL_get0_alpn_selected(uc->tls->ssl, &p, &n);
	return n == 2 && !memcmp(p, "h2", 2);
}

bool gw_tls_up_resumed(const struct gw_upconn *uc)
{
	return uc->tls && uc->tls->established && SSL_session_reused(uc->tls->ssl);
}

bool gw_tls_up_verify_failed(const struct gw_upconn *uc)
{
	return uc->tls && uc->tls->verify_failed;
}

bool gw_tls_up_pending(const struct gw_upconn *uc)
{
	return uc->tls && uc->tls->established && SSL_pending(uc->tls->ssl) > 0;
}

void gw_tls_up_free(struct gw_tls_up *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}

void gw_tls_up_stats(struct gw_tls_up_stats *st)
{
	st->handshakes = atomic_load_explicit(&st_handshakes, memory_order_relaxed);
	st->verify_failures = atomic_load_explicit(&st_verify_failures, memory_order_relaxed);
	st->handshake_failures = atomic_load_explicit(&st_failures, memory_order_relaxed);
	st->resumed = atomic_load_explicit(&st_resumed, memory_order_relaxed);
}
