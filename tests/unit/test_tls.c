/* tests/unit/test_tls.c - TLS termination: certificate selection by SNI
 * (exact, wildcard, catch-all, several certificates per listener), a key
 * that does not match its certificate, per-snapshot context lifetime, and
 * real handshakes over a socketpair (SNI, ALPN, garbage, a session that
 * outlives its snapshot). */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gwbpf/ir.h"
#include "gwbpf/pem.h"
#include "gwbpf/tls.h"

#include "fx_cert.h"

/* ---- fixtures ---- */

struct pem {
	char *cert, *key;
};

/* mkcert() : self-signed P-256 certificate for cn with subjectAltName
 * DNS:san (defaults to cn) */
static struct pem mkcert(const char *cn, const char *san)
{
	EVP_PKEY *k;
	X509 *x = fx_selfsigned_san(cn, san ? san : cn, 1, &k);
	struct pem out = { fx_x509_pem(x), fx_pkey_pem(k) };

	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

static void pem_free(struct pem *p)
{
	free(p->cert);
	free(p->key);
}

static struct pem P_A, P_B, P_W, P_D, P_X, P_Y;

static int group_setup(void **state)
{
	P_A = mkcert("a.example.com", NULL);
	P_B = mkcert("b.example.com", NULL);
	P_W = mkcert("wild.example.com", "*.wild.example.com");
	P_D = mkcert("default.example.net", NULL);
	P_X = mkcert("x.example.org", NULL);
	P_Y = mkcert("y.example.org", NULL);
	return 0;
}

static int group_teardown(void **state)
{
	pem_free(&P_A);
	pem_free(&P_B);
	pem_free(&P_W);
	pem_free(&P_D);
	pem_free(&P_X);
	pem_free(&P_Y);
	return 0;
}

/* listener spec: hostname (NULL = none) and up to two certificates */
struct lspec {
	const char *host;
	const struct pem *c1, *c2;
	const char *key1; /* overrides c1's key (mismatch tests) */
};

static struct gw_ir *mkir(uint16_t port, const struct lspec *ls, size_t n)
{
	struct gw_ir *ir = gw_ir_new();
	struct gw_ir_bind *b;
	size_t i;

	assert_non_null(ir);
	ir->binds = gw_ir_new_array(ir, struct gw_ir_bind, 1);
	ir->n_binds = 1;
	b = &ir->binds[0];
	b->address = gw_ir_strdup(ir, "127.0.0.1");
	b->port = port;
	b->proto = GW_PROTO_HTTPS;
	b->listeners = gw_ir_new_array(ir, struct gw_ir_listener, n);
	b->n_listeners = n;
	for (i = 0; i < n; i++) {
		struct gw_ir_listener *l = &b->listeners[i];

		l->gateway = gw_ir_strdup(ir, "default/gw");
		l->name = gw_ir_strdup(ir, ls[i].host ? ls[i].host : "any");
		l->hostname = gw_ir_strdup(ir, ls[i].host);
		l->proto = GW_PROTO_HTTPS;
		l->certs = gw_ir_new_array(ir, struct gw_ir_cert, 2);
		if (ls[i].c1) {
			l->certs[l->n_certs].cert_pem = gw_ir_strdup(ir, ls[i].c1->cert);
			l->certs[l->n_certs++].key_pem =
				gw_ir_strdup(ir, ls[i].key1 ? ls[i].key1 : ls[i].c1->key);
		}
		if (ls[i].c2) {
			l->certs[l->n_certs].cert_pem = gw_ir_strdup(ir, ls[i].c2->cert);
			l->certs[l->n_certs++].key_pem = gw_ir_strdup(ir, ls[i].c2->key);
		}
	}
	return ir;
}

static const struct gw_ir_listener *L(struct gw_ir *ir, size_t i)
{
	return &ir->binds[0].listeners[i];
}

static const struct gw_ir_cert *C(struct gw_ir *ir, size_t i, size_t k)
{
	return &ir->binds[0].listeners[i].certs[k];
}

/* ---- selection ---- */

static void test_select_sni(void **state)
{
	/* the translator's order: exact, wildcard longest first, catch-all */
	const struct lspec ls[] = {
		{ "a.example.com", &P_A }, { "b.example.com", &P_B },
		{ "*.wild.example.com", &P_W }, { NULL, &P_D },
	};
	struct gw_ir *ir = mkir(443, ls, ARRAY_SIZE(ls));
	struct gw_tls_snap *s = gw_tls_snap_get(ir);
	const struct gw_tls_bind *b;
	const struct gw_ir_listener *l = NULL;

	assert_non_null(s);
	b = gw_tls_snap_bind(s, "127.0.0.1", 443);
	assert_non_null(b);
	assert_null(gw_tls_snap_bind(s, "127.0.0.1", 444));
	assert_null(gw_tls_snap_bind(s, "127.0.0.2", 443));

	assert_ptr_equal(gw_tls_select(b, "a.example.com", &l), C(ir, 0, 0));
	assert_ptr_equal(l, L(ir, 0));
	assert_ptr_equal(gw_tls_select(b, "A.Example.COM", &l), C(ir, 0, 0));
	assert_ptr_equal(gw_tls_select(b, "b.example.com", &l), C(ir, 1, 0));
	assert_ptr_equal(l, L(ir, 1));
	assert_ptr_equal(gw_tls_select(b, "foo.wild.example.com", &l), C(ir, 2, 0));
	assert_ptr_equal(l, L(ir, 2));
	assert_ptr_equal(gw_tls_select(b, "x.y.wild.example.com", &l), C(ir, 2, 0));
	/* the wildcard never covers its own base name */
	assert_ptr_equal(gw_tls_select(b, "wild.example.com", &l), C(ir, 3, 0));
	assert_ptr_equal(l, L(ir, 3));
	assert_ptr_equal(gw_tls_select(b, "unknown.example.org", &l), C(ir, 3, 0));
	assert_ptr_equal(gw_tls_select(b, NULL, &l), C(ir, 3, 0));
	assert_ptr_equal(l, L(ir, 3));

	/* the listener Host-routing must agree with (421 otherwise) */
	assert_ptr_equal(gw_tls_sni_listener(&ir->binds[0], "a.example.com"), L(ir, 0));
	assert_ptr_equal(gw_tls_sni_listener(&ir->binds[0], "q.wild.example.com"), L(ir, 2));
	assert_ptr_equal(gw_tls_sni_listener(&ir->binds[0], "other.org"), L(ir, 3));
	assert_null(gw_tls_sni_listener(&ir->binds[0], NULL));

	gw_tls_snap_put(s);
	gw_ir_put(ir);
}

static void test_select_no_catch_all(void **state)
{
	/* no listener without hostname: no SNI gets the first listener that
	 * has a certificate; a listener without one fails its handshakes */
	const struct lspec ls[] = {
		{ "a.example.com", NULL }, { "b.example.com", &P_B }, { "*.wild.example.com", &P_W },
	};
	struct gw_ir *ir = mkir(443, ls, ARRAY_SIZE(ls));
	struct gw_tls_snap *s = gw_tls_snap_get(ir);
	const struct gw_tls_bind *b = gw_tls_snap_bind(s, "127.0.0.1", 443);
	const struct gw_ir_listener *l = NULL;

	assert_non_null(b);
	assert_ptr_equal(gw_tls_select(b, NULL, &l), C(ir, 1, 0));
	assert_ptr_equal(l, L(ir, 1));
	assert_ptr_equal(gw_tls_select(b, "nobody.example.org", &l), C(ir, 1, 0));
	assert_null(gw_tls_select(b, "a.example.com", &l));
	assert_ptr_equal(l, L(ir, 0));
	assert_null(gw_tls_sni_listener(&ir->binds[0], "nobody.example.org"));
	gw_tls_snap_put(s);
	gw_ir_put(ir);
}

static void test_select_by_cert_names(void **state)
{
	/* one listener, several certificates (Ingress tls entries): the one
	 * whose SAN covers SNI, else the first */
	const struct lspec ls[] = { { NULL, &P_X, &P_Y } };
	struct gw_ir *ir = mkir(443, ls, 1);
	struct gw_tls_snap *s = gw_tls_snap_get(ir);
	const struct gw_tls_bind *b = gw_tls_snap_bind(s, "127.0.0.1", 443);

	assert_ptr_equal(gw_tls_select(b, "y.example.org", NULL), C(ir, 0, 1));
	assert_ptr_equal(gw_tls_select(b, "x.example.org", NULL), C(ir, 0, 0));
	assert_ptr_equal(gw_tls_select(b, "z.example.org", NULL), C(ir, 0, 0));
	assert_ptr_equal(gw_tls_select(b, NULL, NULL), C(ir, 0, 0));
	gw_tls_snap_put(s);
	gw_ir_put(ir);
}

static void test_key_mismatch(void **state)
{
	/* a.example.com's certificate with b's key: refused and counted, never
	 * served in place of another listener's */
	const struct lspec ls[] = {
		{ "a.example.com", &P_A, NULL, P_B.key },
		{ NULL, &P_D },
	};
	struct gw_tls_stats before, after;
	struct gw_ir *ir;
	struct gw_tls_snap *s;
	const struct gw_tls_bind *b;
	const struct gw_ir_listener *l = NULL;

	gw_tls_stats(&before);
	ir = mkir(443, ls, ARRAY_SIZE(ls));
	s = gw_tls_snap_get(ir);
	assert_non_null(s);
	gw_tls_stats(&after);
	assert_int_equal(after.cert_errors, before.cert_errors + 1);
	b = gw_tls_snap_bind(s, "127.0.0.1", 443);
	assert_null(gw_tls_select(b, "a.example.com", &l));
	assert_ptr_equal(l, L(ir, 0));
	assert_ptr_equal(gw_tls_select(b, "d.example.net", &l), C(ir, 1, 0));
	gw_tls_snap_put(s);
	gw_ir_put(ir);

	/* garbage PEM: same */
	{
		struct pem junk = { (char *)"-----BEGIN CERTIFICATE-----\nAAAA\n", (char *)"x" };
		const struct lspec ls2[] = { { NULL, &junk } };

		gw_tls_stats(&before);
		ir = mkir(443, ls2, 1);
		s = gw_tls_snap_get(ir);
		assert_non_null(s);
		gw_tls_stats(&after);
		assert_int_equal(after.cert_errors, before.cert_errors + 1);
		b = gw_tls_snap_bind(s, "127.0.0.1", 443);
		assert_null(gw_tls_select(b, NULL, NULL));
		/* nothing to serve: no session can start */
		errno = 0;
		assert_null(gw_tls_conn_new(s, "127.0.0.1", 443, 0));
		assert_int_equal(errno, ENOENT);
		gw_tls_snap_put(s);
		gw_ir_put(ir);
	}
}

static void test_lifetime(void **state)
{
	const struct lspec ls[] = { { NULL, &P_D } };
	struct gw_ir *ir1 = mkir(443, ls, 1), *ir2 = mkir(443, ls, 1);
	struct gw_tls_snap *s1, *s1b, *s2;

	assert_int_equal(ir1->refcnt, 1);
	s1 = gw_tls_snap_get(ir1);
	assert_non_null(s1);
	/* the contexts hold their snapshot */
	assert_int_equal(ir1->refcnt, 2);
	/* one build per snapshot, shared */
	s1b = gw_tls_snap_get(ir1);
	assert_ptr_equal(s1, s1b);
	assert_int_equal(ir1->refcnt, 2);
	s2 = gw_tls_snap_get(ir2);
	assert_non_null(s2);
	assert_ptr_not_equal(s1, s2);
	gw_tls_snap_put(s1b);
	assert_int_equal(ir1->refcnt, 2);
	gw_tls_snap_put(s1);
	/* the last reference let the snapshot go */
	assert_int_equal(ir1->refcnt, 1);
	/* a later get builds anew */
	s1 = gw_tls_snap_get(ir1);
	assert_int_equal(ir1->refcnt, 2);
	gw_tls_snap_put(s1);
	gw_tls_snap_put(s2);
	gw_tls_snap_put(NULL);
	assert_int_equal(ir2->refcnt, 1);
	gw_ir_put(ir1);
	gw_ir_put(ir2);
}

/* ---- handshakes over a socketpair ---- */

struct hs {
	int sv[2];
	SSL_CTX *cctx;
	SSL *cli;
	struct gw_tls_conn *srv;
};

static void hs_open(struct hs *h, struct gw_tls_snap *s, const char *sni, const char *alpn)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, h->sv), 0);
	h->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(h->cctx);
	h->cli = SSL_new(h->cctx);
	SSL_set_fd(h->cli, h->sv[0]);
	SSL_set_connect_state(h->cli);
	if (sni)
		SSL_set_tlsext_host_name(h->cli, sni);
	if (alpn)
		SSL_set_alpn_protos(h->cli, (const unsigned char *)alpn, (unsigned int)strlen(alpn));
	h->srv = gw_tls_conn_new(s, "127.0.0.1", 443, h->sv[1]);
	assert_non_null(h->srv);
}

/* hs_run() : alternates client and server steps (bounded); returns the
 * server's last result */
static int hs_run(struct hs *h)
{
	int i, r = -EAGAIN;

	for (i = 0; i < 50 && r == -EAGAIN; i++) {
		SSL_do_handshake(h->cli);
		r = gw_tls_handshake(h->srv);
	}
	/* the client finishes reading the server's last flight */
	for (i = 0; i < 10 && r == 0 && !SSL_is_init_finished(h->cli); i++)
		SSL_do_handshake(h->cli);
	return r;
}

static void hs_close(struct hs *h)
{
	gw_tls_conn_free(h->srv);
	SSL_free(h->cli);
	SSL_CTX_free(h->cctx);
	close(h->sv[0]);
	close(h->sv[1]);
}

static bool served_is(SSL *cli, const struct pem *p)
{
	X509 *peer = SSL_get1_peer_certificate(cli);
	BIO *bio = BIO_new_mem_buf(p->cert, -1);
	X509 *want = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	bool ok = peer && want && !X509_cmp(peer, want);

	X509_free(peer);
	X509_free(want);
	BIO_free(bio);
	return ok;
}

static void test_handshake(void **state)
{
	const struct lspec ls[] = { { "a.example.com", &P_A }, { NULL, &P_D } };
	struct gw_ir *ir = mkir(443, ls, ARRAY_SIZE(ls));
	struct gw_tls_snap *s = gw_tls_snap_get(ir);
	struct gw_tls_stats before, after;
	const unsigned char *proto = NULL;
	unsigned int plen = 0;
	struct hs h;
	char buf[64];
	ssize_t n;
	int i;

	gw_tls_stats(&before);
	hs_open(&h, s, "A.example.com", "\x02h2\x08http/1.1");
	assert_false(gw_tls_established(h.srv));
	assert_int_equal(hs_run(&h), 0);
	assert_true(gw_tls_established(h.srv));
	assert_true(served_is(h.cli, &P_A));
	assert_string_equal(gw_tls_sni(h.srv), "a.example.com");
	/* h2 is preferred when offered (h2.c serves it; docs/http2.md) */
	SSL_get0_alpn_selected(h.cli, &proto, &plen);
	assert_int_equal(plen, 2);
	assert_memory_equal(proto, "h2", 2);
	assert_true(gw_tls_alpn_h2(h.srv));
	assert_true(SSL_version(h.cli) >= TLS1_2_VERSION);

	/* the snapshot goes away: the established session keeps working */
	gw_tls_snap_put(s);
	s = NULL;
	gw_ir_put(ir);
	ir = NULL;
	assert_int_equal(SSL_write(h.cli, "GET / HTTP/1.1\r\n", 16), 16);
	n = -EAGAIN;
	for (i = 0; i < 10 && n == -EAGAIN; i++)
		n = gw_tls_read(h.srv, buf, sizeof(buf));
	assert_int_equal(n, 16);
	assert_memory_equal(buf, "GET / HTTP/1.1\r\n", 16);
	assert_int_equal(gw_tls_write(h.srv, "HTTP/1.1 200 OK\r\n", 17), 17);
	assert_int_equal(SSL_read(h.cli, buf, sizeof(buf)), 17);
	/* nothing more: the server waits for reading */
	assert_int_equal(gw_tls_read(h.srv, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(gw_tls_want(h.srv), GW_IO_READ);
	/* close_notify from the client: end of stream */
	SSL_shutdown(h.cli);
	assert_int_equal(gw_tls_read(h.srv, buf, sizeof(buf)), 0);
	gw_tls_stats(&after);
	assert_int_equal(after.handshakes, before.handshakes + 1);
	hs_close(&h);
}

static void test_handshake_no_sni(void **state)
{
	const struct lspec ls[] = { { "a.example.com", &P_A }, { NULL, &P_D } };
	struct gw_ir *ir = mkir(443, ls, ARRAY_SIZE(ls));
	struct gw_tls_snap *s = gw_tls_snap_get(ir);
	struct hs h;

	hs_open(&h, s, NULL, NULL);
	assert_int_equal(hs_run(&h), 0);
	assert_true(served_is(h.cli, &P_D));
	assert_null(gw_tls_sni(h.srv));
	hs_close(&h);
	gw_tls_snap_put(s);
	gw_ir_put(ir);
}

static void test_handshake_garbage(void **state)
{
	const struct lspec ls[] = { { NULL, &P_D } };
	struct gw_ir *ir = mkir(443, ls, 1);
	struct gw_tls_snap *s = gw_tls_snap_get(ir);
	struct gw_tls_stats before, after;
	struct gw_tls_conn *t;
	int sv[2], r;

	gw_tls_stats(&before);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	t = gw_tls_conn_new(s, "127.0.0.1", 443, sv[1]);
	assert_non_null(t);
	/* nothing yet: wait for reading */
	assert_int_equal(gw_tls_handshake(t), -EAGAIN);
	assert_int_equal(gw_tls_want(t), GW_IO_READ);
	assert_int_equal(write(sv[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 27);
	r = gw_tls_handshake(t);
	assert_int_equal(r, -EPROTO);
	gw_tls_stats(&after);
	assert_int_equal(after.handshake_failures, before.handshake_failures + 1);
	gw_tls_conn_free(t);
	close(sv[0]);
	close(sv[1]);

	/* a truncated ClientHello then EOF */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	t = gw_tls_conn_new(s, "127.0.0.1", 443, sv[1]);
	assert_int_equal(write(sv[0], "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 11);
	assert_int_equal(gw_tls_handshake(t), -EAGAIN);
	shutdown(sv[0], SHUT_WR);
	assert_int_equal(gw_tls_handshake(t), -EPROTO);
	assert_false(gw_tls_established(t));
	gw_tls_conn_free(t);
	close(sv[0]);
	close(sv[1]);
	gw_tls_snap_put(s);
	gw_ir_put(ir);
}

/* hello() : the raw ClientHello an OpenSSL client sends with sni */
static size_t hello(const char *sni, uint8_t *buf, size_t cap)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *cli = SSL_new(cctx);
	int sv[2];
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	SSL_set_fd(cli, sv[0]);
	if (sni)
		SSL_set_tlsext_host_name(cli, sni);
	SSL_connect(cli);
	n = read(sv[1], buf, cap);
	assert_true(n > 50);
	SSL_free(cli);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	return (size_t)n;
}

static void test_parse_sni(void **state)
{
	static uint8_t b[4096], two[4200];
	char name[256];
	size_t n = hello("Pass.Example.COM", b, sizeof(b)), i, hl, half;

	assert_int_equal(gw_tls_parse_sni(b, n, name, sizeof(name)), 0);
	assert_string_equal(name, "pass.example.com");
	/* every prefix is incomplete */
	for (i = 0; i < n; i++)
		assert_int_equal(gw_tls_parse_sni(b, i, name, sizeof(name)), -EAGAIN);
	/* the same ClientHello split over two records */
	hl = (size_t)b[3] << 8 | b[4];
	assert_int_equal(hl + 5, n);
	half = hl / 2;
	memcpy(two, b, 5);
	two[3] = (uint8_t)(half >> 8);
	two[4] = (uint8_t)half;
	memcpy(two + 5, b + 5, half);
	memcpy(two + 5 + half, b, 5);
	two[5 + half + 3] = (uint8_t)((hl - half) >> 8);
	two[5 + half + 4] = (uint8_t)(hl - half);
	memcpy(two + 10 + half, b + 5 + half, hl - half);
	assert_int_equal(gw_tls_parse_sni(two, n + 5, name, sizeof(name)), 0);
	assert_string_equal(name, "pass.example.com");
	assert_int_equal(gw_tls_parse_sni(two, n + 4, name, sizeof(name)), -EAGAIN);
	/* no server name */
	n = hello(NULL, b, sizeof(b));
	assert_int_equal(gw_tls_parse_sni(b, n, name, sizeof(name)), 0);
	assert_string_equal(name, "");
	/* not TLS, not a ClientHello, a lying length */
	assert_int_equal(gw_tls_parse_sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, name,
					  sizeof(name)), -EBADMSG);
	n = hello("a.example.com", b, sizeof(b));
	b[5] = 2; /* server_hello */
	assert_int_equal(gw_tls_parse_sni(b, n, name, sizeof(name)), -EBADMSG);
	b[5] = 1;
	b[6] = 0xff; /* handshake length beyond 16 KiB */
	assert_int_equal(gw_tls_parse_sni(b, n, name, sizeof(name)), -EBADMSG);
}

/* util/pem.c, shared by listeners, upstream TLS and the translator: a bundle
 * is counted up to its last certificate, a chain loads with its leaf's key,
 * and a key of another certificate is told apart from unparsable text */
static void test_pem_helpers(void **state)
{
	struct pem a = mkcert("a.example", NULL), b = mkcert("b.example", NULL);
	char *bundle = NULL, *chain = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	(void)state;
	assert_non_null(ctx);
	assert_true(asprintf(&bundle, "%s%s%sthat was all\n", a.cert, b.cert, a.cert) > 0);
	assert_int_equal(gw_pem_each_cert(bundle, strlen(bundle), NULL, NULL), 3);
	assert_int_equal(gw_pem_each_cert("no PEM here", 11, NULL, NULL), 0);
	assert_int_equal(gw_pem_each_cert(bundle, 0, NULL, NULL), 0);
	assert_true(asprintf(&chain, "%s%s", a.cert, b.cert) > 0);
	assert_int_equal(gw_pem_use_cert(ctx, chain, a.key), 0);
	assert_int_equal(gw_pem_use_cert(ctx, a.cert, b.key), -EKEYREJECTED);
	assert_int_equal(gw_pem_use_cert(ctx, "garbage", a.key), -EINVAL);
	assert_int_equal(gw_pem_use_cert(ctx, a.cert, "garbage"), -EINVAL);
	assert_int_equal(gw_pem_use_cert(ctx, NULL, a.key), -EINVAL);
	ERR_clear_error();
	SSL_CTX_free(ctx);
	free(bundle);
	free(chain);
	pem_free(&a);
	pem_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_sni),
		cmocka_unit_test(test_select_no_catch_all),
		cmocka_unit_test(test_select_by_cert_names),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_pem_helpers),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_handshake_no_sni),
		cmocka_unit_test(test_handshake_garbage),
		cmocka_unit_test(test_parse_sni),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
