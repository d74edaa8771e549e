/* proxy/tls.c - TLS termination: per-snapshot server contexts, SNI, sessions.
 *
 * Contexts are built once per IR snapshot and shared by the workers through
 * a small registry keyed by the snapshot pointer (the registry entry holds a
 * snapshot reference, so the pointer cannot be reused while the entry
 * lives). Each distinct certificate gets its own SSL_CTX; the handshake
 * starts on the bind's default context and the servername callback switches
 * to the context SNI selects. Every context gets the same process-wide
 * session ticket keys, so a ticket issued by one worker (or one snapshot)
 * resumes on any other: SO_REUSEPORT spreads a client's connections across
 * workers, and a reload must not turn every resumption into a full
 * handshake. The keys live as long as the process (a restart rotates them).
 */
#include "gwbpf/api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gwbpf/http1-t.h"
#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/pem.h"
#include "gwbpf/router.h"
#include "gwbpf/tls.h"
#include "gwbpf/tls_client.h"

/* Mozilla "intermediate" TLS 1.2 suites: forward secret AEADs only. TLS 1.3
 * suites are OpenSSL's defaults, which are all fine. */
#define GW_TLS12_CIPHERS                                                                           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define GW_TLS_SNI_MAX 255 /* a DNS name is at most 253 bytes */

/* one loaded certificate: its context, and which IR certificate it is */
struct gw_tls_cert {
	SSL_CTX *ctx;                 /* NULL: refused (logged), never served */
	const struct gw_ir_cert *ir;  /* first IR certificate with this PEM */
	const struct gw_ir_listener *l; /* its client-certificate settings (tls_client.c) */
};

struct gw_tls_lst {
	const struct gw_ir_listener *l;
	size_t *certs; /* indices into bind->certs, usable ones only */
	size_t n_certs;
};

struct gw_tls_bind {
	const struct gw_ir_bind *b;
	struct gw_tls_lst *lsts;      /* same order as b->listeners */
	struct gw_tls_cert *certs;    /* distinct certificates of the bind */
	size_t n_certs;
	SSL_CTX *initial;             /* the context a handshake starts on */
};

struct gw_tls_snap {
	_Atomic int refcnt;
	struct gw_ir *ir;             /* owned reference */
	struct gw_tls_bind *binds;
	size_t n_binds;
	struct gw_tls_snap *next;     /* registry */
};

struct gw_tls_conn {
	SSL *ssl;
	struct gw_tls_snap *snap;     /* held until the handshake ends */
	const struct gw_tls_bind *bind;
	uint32_t want;
	bool established;
	bool shut;
	char sni[GW_TLS_SNI_MAX + 1]; /* "" = none */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_tls_snap *reg_head;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static unsigned char ticket_keys[80]; /* name 16 + HMAC 32 + AES 32 */
static bool ticket_keys_ok;
static int conn_idx = -1;            /* SSL ex_data slot: struct gw_tls_conn * */

static _Atomic uint64_t st_handshakes, st_failures, st_resumed, st_cert_errors;

static void tls_init_once(void)
{
	ticket_keys_ok = RAND_bytes(ticket_keys, sizeof(ticket_keys)) == 1;
	if (!ticket_keys_ok)
		pr_warn("tls: no random bytes for ticket keys: sessions resume per worker only");
	conn_idx = SSL_get_ex_new_index(0, "gwbpf conn", NULL, NULL, NULL);
}

static void log_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error())) {
		ERR_error_string_n(e, buf, sizeof(buf));
		pr_warn("tls: %s: %s", what, buf);
	}
}

/* ---- selection ---- */

static struct gw_slice sni_slice(const char *sni)
{
	struct gw_slice s = { sni, sni ? strlen(sni) : 0 };

	return s;
}

const struct gw_ir_listener *gw_tls_sni_listener(const struct gw_ir_bind *bind, const char *sni)
{
	size_t i;

	if (!bind || !sni || !*sni)
		return NULL;
	for (i = 0; i < bind->n_listeners; i++)
		if (gw_router_hostname_match(bind->listeners[i].hostname, sni_slice(sni)))
			return &bind->listeners[i];
	return NULL;
}

/* select_lst() : index of the listener a ClientHello with sni gets, or -1 */
static ssize_t select_lst(const struct gw_tls_bind *tb, const char *sni)
{
	const struct gw_ir_bind *b = tb->b;
	size_t i;

	if (sni && *sni) {
		for (i = 0; i < b->n_listeners; i++)
			if (gw_router_hostname_match(b->listeners[i].hostname, sni_slice(sni)))
				return (ssize_t)i;
	}
	for (i = 0; i < b->n_listeners; i++)
		if (!b->listeners[i].hostname)
			return (ssize_t)i;
	for (i = 0; i < b->n_listeners; i++)
		if (tb->lsts[i].n_certs)
			return (ssize_t)i;
	return -1;
}

/* select_cert() : index into tb->certs, or -1 */
static ssize_t select_cert(const struct gw_tls_bind *tb, const char *sni,
			   const struct gw_ir_listener **lst)
{
	ssize_t li = select_lst(tb, sni);
	const struct gw_tls_lst *tl;
	size_t i;

	if (lst)
		*lst = li >= 0 ? tb->lsts[li].l : NULL;
	if (li < 0)
		return -1;
	tl = &tb->lsts[li];
	if (!tl->n_certs)
		return -1;
	if (sni && *sni && tl->n_certs > 1) {
		/* several certificates (Ingress tls entries, RSA + ECDSA...):
		 * the one whose names cover sni */
		for (i = 0; i < tl->n_certs; i++) {
			X509 *x = SSL_CTX_get0_certificate(tb->certs[tl->certs[i]].ctx);

			if (x && X509_check_host(x, sni, 0, 0, NULL) == 1)
				return (ssize_t)tl->certs[i];
		}
	}
	return (ssize_t)tl->certs[0];
}

const struct gw_ir_cert *gw_tls_select(const struct gw_tls_bind *b, const char *sni,
				       const struct gw_ir_listener **lst)
{
	ssize_t ci;

	if (!b) {
		if (lst)
			*lst = NULL;
		return NULL;
	}
	ci = select_cert(b, sni, lst);
	return ci >= 0 ? b->certs[ci].ir : NULL;
}

/* ---- contexts ---- */

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct gw_tls_conn *t = SSL_get_ex_data(ssl, conn_idx);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	ssize_t ci;
	size_t i, n;

	if (!t)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	t->sni[0] = 0;
	if (name) {
		n = strlen(name);
		/* a trailing dot names the same host; longer names are not DNS */
		if (n && name[n - 1] == '.')
			n--;
		if (n > GW_TLS_SNI_MAX) {
			*alert = SSL_AD_UNRECOGNIZED_NAME;
			return SSL_TLSEXT_ERR_ALERT_FATAL;
		}
		for (i = 0; i < n; i++)
			t->sni[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
		t->sni[n] = 0;
	}
	ci = select_cert(t->bind, t->sni[0] ? t->sni : NULL, NULL);
	if (ci < 0) {
		/* the listener SNI selects has no usable certificate: serving
		 * another listener's would be wrong */
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	if (t->bind->certs[ci].ctx != SSL_get_SSL_CTX(ssl)) {
		SSL_CTX *nc = t->bind->certs[ci].ctx;

		SSL_set_SSL_CTX(ssl, nc);
		/* SSL_set_SSL_CTX() keeps the verify mode of the context the
		 * handshake started on: the listener SNI chose decides */
		SSL_set_verify(ssl, SSL_CTX_get_verify_mode(nc), SSL_CTX_get_verify_callback(nc));
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ALPN: h2 (served by h2.c, docs/http2.md) when the client offers it, else
 * HTTP/1.1. A client that offers only other protocols continues without
 * ALPN rather than failing outright. A TLS listener (TLSRoute, Terminate:
 * userspace/l4) relays whatever the client speaks to its backend, so it
 * negotiates nothing on the backend's behalf. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	/* server preference order: SSL_select_next_proto() walks this list */
	static const unsigned char h11[] = "\x02h2\x08http/1.1";
	const struct gw_tls_conn *t = SSL_get_ex_data(ssl, conn_idx);
	ssize_t li = t ? select_lst(t->bind, t->sni[0] ? t->sni : NULL) : -1;
	unsigned char *sel = NULL;
	unsigned char sl = 0;

	if (li >= 0 && t->bind->b->listeners[li].proto == GW_PROTO_TLS)
		return SSL_TLSEXT_ERR_NOACK;

	if (SSL_select_next_proto(&sel, &sl, h11, sizeof(h11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	*outlen = sl;
	return SSL_TLSEXT_ERR_OK;
}

/* load_pem() : certificate chain and key into ctx; 0, -EINVAL or
 * -EKEYREJECTED (logged) */
static int load_pem(SSL_CTX *ctx, const struct gw_ir_cert *c, const char *where)
{
	int err = gw_pem_use_cert(ctx, c->cert_pem, c->key_pem);

	if (err == -EKEYREJECTED)
		pr_warn("tls: %s: private key does not match the certificate: not served", where);
	else if (err)
		pr_warn("tls: %s: cannot load certificate/key PEM: not served", where);
	log_ssl_errors(where);
	return err;
}

static SSL_CTX *ctx_new(const struct gw_ir_cert *c, const struct gw_ir_listener *l,
			const char *where)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	static const unsigned char sid_ctx[] = "gwbpf";

	if (!ctx) {
		log_ssl_errors(where);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* buffers move (b_realign) and may be written in parts; idle
	 * connections give their record buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, GW_TLS12_CIPHERS) != 1)
		goto fail;
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_num_tickets(ctx, 1);
	if (ticket_keys_ok)
		SSL_CTX_set_tlsext_ticket_keys(ctx, ticket_keys, sizeof(ticket_keys));
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	if (load_pem(ctx, c, where))
		goto fail;
	if (gw_tls_client_verify_setup(ctx, l, where))
		goto fail;
	return ctx;
fail:
	atomic_fetch_add_explicit(&st_cert_errors, 1, memory_order_relaxed);
	SSL_CTX_free(ctx);
	return NULL;
}

static void bind_fini(struct gw_tls_bind *tb)
{
	size_t i;

	for (i = 0; i < tb->n_certs; i++)
		SSL_CTX_free(tb->certs[i].ctx);
	for (i = 0; tb->lsts && i < tb->b->n_listeners; i++)
		free(tb->lsts[i].certs);
	free(tb->lsts);
	free(tb->certs);
	memset(tb, 0, sizeof(*tb));
}

static bool same_cert(const struct gw_ir_cert *a, const struct gw_ir_cert *b)
{
	return a->cert_pem && b->cert_pem && a->key_pem && b->key_pem &&
	       !strcmp(a->cert_pem, b->cert_pem) && !strcmp(a->key_pem, b->key_pem);
}

/* bind_init() : contexts for one HTTPS bind; 0 or -ENOMEM. Bad certificates
 * are left out, not fatal. */
static int bind_init(struct gw_tls_bind *tb, const struct gw_ir_bind *b)
{
	size_t i, j, k, total = 0;
	ssize_t li;

	tb->b = b;
	for (i = 0; i < b->n_listeners; i++)
		total += b->listeners[i].n_certs;
	tb->lsts = calloc(b->n_listeners ? b->n_listeners : 1, sizeof(*tb->lsts));
	tb->certs = calloc(total ? total : 1, sizeof(*tb->certs));
	if (!tb->lsts || !tb->certs)
		return -ENOMEM;
	for (i = 0; i < b->n_listeners; i++) {
		const struct gw_ir_listener *l = &b->listeners[i];
		struct gw_tls_lst *tl = &tb->lsts[i];

		tl->l = l;
		tl->certs = calloc(l->n_certs ? l->n_certs : 1, sizeof(*tl->certs));
		if (!tl->certs)
			return -ENOMEM;
		for (j = 0; j < l->n_certs; j++) {
			const struct gw_ir_cert *c = &l->certs[j];
			char where[300];

			/* listeners often share one certificate: one context */
			for (k = 0; k < tb->n_certs; k++)
				if (same_cert(tb->certs[k].ir, c) &&
				    gw_tls_client_verify_same(tb->certs[k].l, l))
					break;
			if (k == tb->n_certs) {
				snprintf(where, sizeof(where), "%s:%u listener %s/%s certificate %zu",
					 b->address, b->port, l->gateway ? l->gateway : "",
					 l->name ? l->name : "", j);
				tb->certs[k].ir = c;
				tb->certs[k].l = l;
				tb->certs[k].ctx = ctx_new(c, l, where);
				tb->n_certs++;
			}
			if (tb->certs[k].ctx)
				tl->certs[tl->n_certs++] = k;
		}
	}
	/* the handshake starts on the context a ClientHello without SNI gets;
	 * any usable one if that listener has none (SNI switches anyway) */
	li = select_cert(tb, NULL, NULL);
	if (li >= 0)
		tb->initial = tb->certs[li].ctx;
	for (i = 0; !tb->initial && i < tb->n_certs; i++)
		tb->initial = tb->certs[i].ctx;
	return 0;
}

static void snap_free(struct gw_tls_snap *s)
{
	size_t i;

	for (i = 0; i < s->n_binds; i++)
		bind_fini(&s->binds[i]);
	free(s->binds);
	gw_ir_put(s->ir);
	free(s);
}

/* HTTPS binds, and TLS binds: TLSRoute listeners in mode Terminate
 * (userspace/l4) terminate with the same contexts */
static bool snap_serves(const struct gw_ir_bind *b)
{
	return (b->proto == GW_PROTO_HTTPS || b->proto == GW_PROTO_TLS) && b->address;
}

static struct gw_tls_snap *snap_build(struct gw_ir *ir)
{
	struct gw_tls_snap *s = calloc(1, sizeof(*s));
	size_t i, n = 0;

	if (!s)
		return NULL;
	s->ir = gw_ir_get(ir);
	atomic_init(&s->refcnt, 1);
	for (i = 0; i < ir->n_binds; i++)
		n += snap_serves(&ir->binds[i]);
	s->binds = calloc(n ? n : 1, sizeof(*s->binds));
	if (!s->binds)
		goto fail;
	for (i = 0; i < ir->n_binds; i++) {
		if (!snap_serves(&ir->binds[i]))
			continue;
		if (bind_init(&s->binds[s->n_binds++], &ir->binds[i]))
			goto fail;
	}
	return s;
fail:
	snap_free(s);
	errno = ENOMEM;
	return NULL;
}

struct gw_tls_snap *gw_tls_snap_get(struct gw_ir *ir)
{
	struct gw_tls_snap *s;

	if (!ir) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&tls_once, tls_init_once);
	/* build under the lock: workers applying the same snapshot wait for
	 * one build instead of each making their own */
	pthread_mutex_lock(&reg_lock);
	for (s = reg_head; s; s = s->next)
		if (s->ir == ir)
			break;
	if (s) {
		atomic_fetch_add(&s->refcnt, 1);
	} else {
		s = snap_build(ir);
		if (s) {
			s->next = reg_head;
			reg_head = s;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return s;
}

void gw_tls_snap_put(struct gw_tls_snap *s)
{
	struct gw_tls_snap **pp;

	if (!s)
		return;
	pthread_mutex_lock(&reg_lock);
	/* under the lock: a concurrent get must not revive a dying entry */
	if (atomic_fetch_sub(&s->refcnt, 1) != 1) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	for (pp = &reg_head; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	snap_free(s);
}

const struct gw_tls_bind *gw_tls_snap_bind(const struct gw_tls_snap *s, const char *address,
					   uint16_t port)
{
	size_t i;

	for (i = 0; s && address && i < s->n_binds; i++)
		if (s->binds[i].b->port == port && !strcmp(s->binds[i].b->address, address))
			return &s->binds[i];
	return NULL;
}

/* ---- connections ---- */

struct gw_tls_conn *gw_tls_conn_new(struct gw_tls_snap *s, const char *address, uint16_t port,
				    int fd)
{
	const struct gw_tls_bind *tb = gw_tls_snap_bind(s, address, port);
	struct gw_tls_conn *t;

	if (!tb || !tb->initial) {
		errno = ENOENT;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	ERR_clear_error();
	t->ssl = SSL_new(tb->initial);
	if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1 || SSL_set_ex_data(t->ssl, conn_idx, t) != 1) {
		log_ssl_errors("SSL_new");
		SSL_free(t->ssl);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	SSL_set_accept_state(t->ssl);
	atomic_fetch_add(&s->refcnt, 1);
	t->snap = s;
	t->bind = tb;
	t->want = GW_IO_READ;
	return t;
}

/* conn_release_snap() : the contexts a finished handshake needs are held by
 * the SSL itself; dropping the snapshot lets an old one go at once */
static void conn_release_snap(struct gw_tls_conn *t)
{
	t->bind = NULL;
	gw_tls_snap_put(t->snap);
	t->snap = NULL;
}

void gw_tls_conn_free(struct gw_tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	conn_release_snap(t);
	free(t);
}

/* set_want() : maps an SSL error to what to wait for; true when retryable */
static bool set_want(struct gw_tls_conn *t, int e)
{
	if (e == SSL_ERROR_WANT_READ) {
		t->want = GW_IO_READ;
		return true;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		t->want = GW_IO_WRITE;
		return true;
	}
	t->want = 0;
	return false;
}

int gw_tls_handshake(struct gw_tls_conn *t)
{
	int r, e;

	if (t->established)
		return 0;
	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->established = true;
		t->want = 0;
		atomic_fetch_add_explicit(&st_handshakes, 1, memory_order_relaxed);
		if (SSL_session_reused(t->ssl))
			atomic_fetch_add_explicit(&st_resumed, 1, memory_order_relaxed);
		conn_release_snap(t);
		return 0;
	}
	e = SSL_get_error(t->ssl, r);
	if (set_want(t, e))
		return -EAGAIN;
	/* garbage, truncation, no common cipher or version: counted, and the
	 * caller closes; the error queue is cleared so it cannot leak into the
	 * next connection of this thread */
	atomic_fetch_add_explicit(&st_failures, 1, memory_order_relaxed);
	if (e == SSL_ERROR_SSL) {
		unsigned long err = ERR_peek_error();
		char buf[256];

		ERR_error_string_n(err, buf, sizeof(buf));
		pr_debug("tls: handshake failed: %s", buf);
	}
	ERR_clear_error();
	conn_release_snap(t);
	return -EPROTO;
}

bool gw_tls_established(const struct gw_tls_conn *t)
{
	return t && t->established;
}

uint32_t gw_tls_want(const struct gw_tls_conn *t)
{
	return t ? t->want : 0;
}

ssize_t gw_tls_read(struct gw_tls_conn *t, void *buf, size_t len)
{
	size_t got = 0;
	int r, e;

	if (!len)
		return -EAGAIN;
	ERR_clear_error();
	r = SSL_read_ex(t->ssl, buf, len, &got);
	if (r == 1) {
		t->want = 0;
		return (ssize_t)got;
	}
	e = SSL_get_error(t->ssl, r);
	if (set_want(t, e))
		return -EAGAIN;
	ERR_clear_error();
	return 0;
}

ssize_t gw_tls_write(struct gw_tls_conn *t, const void *buf, size_t len)
{
	size_t done = 0;
	int r, e;

	if (!len)
		return 0;
	ERR_clear_error();
	r = SSL_write_ex(t->ssl, buf, len, &done);
	if (r == 1) {
		t->want = 0;
		return (ssize_t)done;
	}
	e = SSL_get_error(t->ssl, r);
	if (set_want(t, e))
		return -EAGAIN;
	ERR_clear_error();
	return -EPIPE;
}

bool gw_tls_pending(const struct gw_tls_conn *t)
{
	return t && t->established && SSL_pending(t->ssl) > 0;
}

void gw_tls_shutdown(struct gw_tls_conn *t)
{
	if (!t || t->shut || !t->established)
		return;
	t->shut = true;
	ERR_clear_error();
	/* one non-blocking attempt: close_notify goes out if the socket takes
	 * it; the peer's answer is not awaited (the TCP close follows) */
	SSL_shutdown(t->ssl);
	ERR_clear_error();
}

bool gw_tls_alpn_h2(const struct gw_tls_conn *t)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;

	if (!t || !t->ssl)
		return false;
	SSL_get0_alpn_selected(t->ssl, &p, &len);
	return len == 2 && !memcmp(p, "h2", 2);
}

const char *gw_tls_sni(const struct gw_tls_conn *t)
{
	return t && t->sni[0] ? t->sni : NULL;
}

void gw_tls_stats(struct gw_tls_stats *st)
{
	st->handshakes = atomic_load_explicit(&st_handshakes, memory_order_relaxed);
	st->handshake_failures = atomic_load_explicit(&st_failures, memory_order_relaxed);
	st->resumed = atomic_load_explicit(&st_resumed, memory_order_relaxed);
	st->cert_errors = atomic_load_explicit(&st_cert_errors, memory_order_relaxed);
}

/* ---- ClientHello parsing (passthrough) ---- */

#define GW_TLS_HS_MAX 16384 /* handshake message bytes gathered, at most */

/* a bounds-checked reader: every get fails once past the end */
struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint32_t rd_get(struct rd *r, unsigned int n)
{
	uint32_t v = 0;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return 0;
	}
	while (n--)
		v = (v << 8) | r->p[r->off++];
	return v;
}

static void rd_skip(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return;
	}
	r->off += n;
}

/* sni_ext() : the server_name extension body; 0 or -EBADMSG */
static int sni_ext(struct rd *e, char *out, size_t outlen)
{
	size_t list = rd_get(e, 2), end, i;

	if (e->bad || list != e->len - e->off)
		return -EBADMSG;
	end = e->off + list;
	while (e->off < end) {
		unsigned int type = rd_get(e, 1);
		size_t n = rd_get(e, 2);

		if (e->bad || n > end - e->off)
			return -EBADMSG;
		if (type != 0) { /* only host_name is defined; skip others */
			rd_skip(e, n);
			continue;
		}
		if (!n || n >= outlen || n > GW_TLS_SNI_MAX)
			return -EBADMSG;
		for (i = 0; i < n; i++) {
			uint8_t c = e->p[e->off + i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + 32);
			else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
				   c == '.' || c == '_'))
				return -EBADMSG;
			out[i] = (char)c;
		}
		out[n] = 0;
		return 0;
	}
	return 0;
}

int gw_tls_parse_sni(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	static __thread uint8_t hs[GW_TLS_HS_MAX];
	size_t off = 0, got = 0, need = 0;
	struct rd r;

	if (!out || outlen < GW_TLS_SNI_MAX + 1)
		return -EINVAL;
	out[0] = 0;
	/* gather the handshake message from as many records as it spans */
	for (;;) {
		size_t rl;

		if (len - off < 5)
			return -EAGAIN;
		if (p[off] != 22 || p[off + 1] != 3)
			return -EBADMSG;
		rl = (size_t)p[off + 3] << 8 | p[off + 4];
		if (!rl || rl > 16384)
			return -EBADMSG;
		if (len - off - 5 < rl)
			return -EAGAIN;
		if (rl > sizeof(hs) - got)
			return -EBADMSG;
		memcpy(hs + got, p + off + 5, rl);
		got += rl;
		off += 5 + rl;
		if (!need && got >= 4) {
			if (hs[0] != 1) /* client_hello */
				return -EBADMSG;
			need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
			if (need > sizeof(hs))
				return -EBADMSG;
		}
		if (need && got >= need)
			break;
	}
	r = (struct rd){ .p = hs + 4, .len = need - 4 };
	rd_skip(&r, 2 + 32);        /* legacy_version, random */
	rd_skip(&r, rd_get(&r, 1)); /* session id */
	rd_skip(&r, rd_get(&r, 2)); /* cipher suites */
	rd_skip(&r, rd_get(&r, 1)); /* compression methods */
	if (r.bad)
		return -EBADMSG;
	if (r.off == r.len)
		return 0; /* no extensions at all */
	{
		size_t elen = rd_get(&r, 2);

		if (r.bad || elen != r.len - r.off)
			return -EBADMSG;
	}
	while (r.off < r.len) {
		unsigned int type = rd_get(&r, 2);
		size_t n = rd_get(&r, 2);
		struct rd e;

		if (r.bad || n > r.len - r.off)
			return -EBADMSG;
		if (type == 0) {
			e = (struct rd){ .p = r.p + r.off, .len = n };
			return sni_ext(&e, out, outlen);
		}
		rd_skip(&r, n);
	}
	return 0;
}
