/* tests/unit/test_tls_upstream.c - TLS to backends (tls_upstream.c) as the
 * HTTP/2 pool uses it: real handshakes over loopback TCP against an OpenSSL
 * server in the same thread. Clusters spoken to over HTTP/2 (app_proto
 * GW_APP_H2C) offer ALPN "h2" only, others "http/1.1" only; a backend that
 * does not select h2 is seen as such; a certificate from another CA fails
 * as a verification failure; the pooling keys of the two kinds differ; a
 * second connection under the same context resumes the first's session. */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gwbpf/h2.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/loop.h"
#include "gwbpf/pem.h"
#include "gwbpf/tls_upstream.h"
#include "gwbpf/upstream.h"

#include "fx_cert.h"

/* what the server saw and does */
static unsigned char g_offered[64];
static unsigned int g_offered_len;
static bool g_select_h2; /* select h2 when offered, else no ALPN */

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	g_offered_len = GW_MIN(inlen, (unsigned int)sizeof(g_offered));
	memcpy(g_offered, in, g_offered_len);
	if (g_select_h2 && inlen >= 3 && in[0] == 2 && !memcmp(in + 1, "h2", 2)) {
		*out = in + 1;
		*outlen = 2;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

struct fx {
	X509 *cert, *other;
	EVP_PKEY *key, *okey;
	char *cert_pem, *other_pem;
	SSL_CTX *srv;
	int lfd;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct gw_loop *loop;
	struct gw_upstream_pool *pool;
	struct gw_ir_upstream_tls good, wrong;
	struct gw_ir_cluster cl[4];
	struct gw_ir ir;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sockaddr_in *sa = (struct sockaddr_in *)&f->ss;

	assert_non_null(f);
	f->cert = fx_selfsigned_san("backend.test", "backend.test", 1, &f->key);
	f->other = fx_selfsigned_san("backend.test", "backend.test", 2, &f->okey);
	f->cert_pem = fx_x509_pem(f->cert);
	f->other_pem = fx_x509_pem(f->other);
	f->srv = SSL_CTX_new(TLS_server_method());
	assert_non_null(f->srv);
	assert_int_equal(SSL_CTX_use_certificate(f->srv, f->cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(f->srv, f->key), 1);
	SSL_CTX_set_alpn_select_cb(f->srv, alpn_cb, NULL);

	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->sslen = sizeof(*sa);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)sa, f->sslen), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)sa, &f->sslen), 0);

	f->loop = gw_loop_new();
	assert_non_null(f->loop);
	f->pool = gw_upstream_pool_new(f->loop, 4, 10000);
	assert_non_null(f->pool);

	f->good.policy = "default/good";
	f->good.sni = "backend.test";
	f->good.ca_pem = f->cert_pem;
	f->wrong = f->good;
	f->wrong.ca_pem = f->other_pem;
	f->cl[0] = (struct gw_ir_cluster){.name = "h2", .app_proto = GW_APP_H2C, .tls = &f->good};
	f->cl[1] = (struct gw_ir_cluster){.name = "h1", .app_proto = GW_APP_HTTP1, .tls = &f->good};
	f->cl[2] = (struct gw_ir_cluster){.name = "h2wrong", .app_proto = GW_APP_H2C,
					  .tls = &f->wrong};
	f->cl[3] = (struct gw_ir_cluster){.name = "plain", .app_proto = GW_APP_H2C};
	f->ir.generation = 1;
	f->ir.clusters = f->cl;
	f->ir.n_clusters = ARRAY_SIZE(f->cl);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gw_upstream_pool_free(f->pool);
	gw_loop_free(f->loop);
	close(f->lfd);
	SSL_CTX_free(f->srv);
	X509_free(f->cert);
	X509_free(f->other);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->okey);
	free(f->cert_pem);
	free(f->other_pem);
	free(f);
	return 0;
}

/* handshake() : connects to the fixture's server for cluster cl and runs
 * both sides until the client is done; the client's result, *ucp its
 * connection (the caller closes it) */
static int handshake(struct fx *f, int32_t cl, struct gw_upconn **ucp)
{
	struct gw_upconn *uc = gw_tls_up_get(f->pool, &f->ss, f->sslen, &f->ir, cl);
	SSL *s;
	int afd, r = -EAGAIN;

	assert_non_null(uc);
	assert_false(uc->connected); /* not before the handshake */
	afd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(afd >= 0);
	s = SSL_new(f->srv);
	assert_non_null(s);
	SSL_set_fd(s, afd);
	SSL_set_accept_state(s);
	/* bounded: a loopback handshake takes a few rounds */
	for (int i = 0; i < 2000 && r == -EAGAIN; i++) {
		struct pollfd pf[2] = {{.fd = uc->fd, .events = POLLIN | POLLOUT},
				       {.fd = afd, .events = POLLIN}};

		poll(pf, 2, 10);
		SSL_do_handshake(s);
		ERR_clear_error();
		r = gw_tls_up_handshake(uc);
	}
	/* let the server read the client's last flight (or its alert) */
	SSL_do_handshake(s);
	ERR_clear_error();
	SSL_free(s);
	close(afd);
	*ucp = uc;
	return r;
}

static void test_h2_cluster_offers_h2_only(void **state)
{
	struct fx *f = *state;
	struct gw_upconn *uc;

	g_select_h2 = true;
	g_offered_len = 0;
	assert_int_equal(handshake(f, 0, &uc), 0);
	assert_int_equal(g_offered_len, 3);
	assert_memory_equal(g_offered, "\x02h2", 3);
	assert_true(gw_tls_up_alpn_h2(uc));
	assert_false(gw_tls_up_verify_failed(uc));
	assert_int_equal(uc->tls_key, gw_tls_up_key(&f->ir, 0));
	gw_upstream_close(f->pool, uc);
}

static void test_h2_cluster_backend_without_h2(void **state)
{
	struct fx *f = *state;
	struct gw_upconn *uc;

	/* the handshake itself succeeds: the pool must look at the ALPN */
	g_select_h2 = false;
	assert_int_equal(handshake(f, 0, &uc), 0);
	assert_false(gw_tls_up_alpn_h2(uc));
	gw_upstream_close(f->pool, uc);
}

static void test_http1_cluster_offers_http1(void **state)
{
	struct fx *f = *state;
	struct gw_upconn *uc;

	g_select_h2 = true;
	g_offered_len = 0;
	assert_int_equal(handshake(f, 1, &uc), 0);
	assert_int_equal(g_offered_len, 9);
	assert_memory_equal(g_offered, "\x08http/1.1", 9);
	assert_false(gw_tls_up_alpn_h2(uc));
	gw_upstream_close(f->pool, uc);
}

static void test_wrong_ca_is_a_verify_failure(void **state)
{
	struct fx *f = *state;
	struct gw_upconn *uc;

	g_select_h2 = true;
	assert_int_equal(handshake(f, 2, &uc), -EPROTO);
	assert_true(gw_tls_up_verify_failed(uc));
	assert_false(gw_tls_up_alpn_h2(uc));
	gw_upstream_close(f->pool, uc);
}

/* take_ticket() : lets the client read what the server sent after the
 * handshake (TLS 1.3 session tickets) */
static void take_ticket(struct gw_upconn *uc)
{
	char buf[64];

	for (int i = 0; i < 20; i++) {
		struct pollfd pf = {.fd = uc->fd, .events = POLLIN};

		poll(&pf, 1, 10);
		if (gw_tls_up_read(uc, buf, sizeof(buf)) == 0)
			break; /* the server closed: everything before was read */
	}
}

static void test_resumption(void **state)
{
	struct fx *f = *state;
	struct gw_upconn *uc;

	g_select_h2 = true;
	assert_int_equal(handshake(f, 1, &uc), 0);
	assert_false(gw_tls_up_resumed(uc));
	take_ticket(uc);
	gw_upstream_close(f->pool, uc);
	assert_int_equal(handshake(f, 1, &uc), 0);
	assert_true(gw_tls_up_resumed(uc));
	gw_upstream_close(f->pool, uc);
	/* another context (the h2 cluster, same settings) has no session */
	assert_int_equal(handshake(f, 0, &uc), 0);
	assert_false(gw_tls_up_resumed(uc));
	gw_upstream_close(f->pool, uc);
}

static void test_keys(void **state)
{
	struct fx *f = *state;
	uint64_t h2 = gw_tls_up_key(&f->ir, 0), h1 = gw_tls_up_key(&f->ir, 1);
	uint64_t other = gw_tls_up_key(&f->ir, 2);

	/* same TLS settings, other ALPN: never pooled together */
	assert_true(h2 != h1);
	assert_true(h2 != other);
	/* odd, so never 0 (plaintext) nor a bridge key (GW_H2_BRIDGE_KEY ^ odd) */
	assert_true(h2 & 1);
	assert_true(h1 & 1);
	assert_int_equal(gw_tls_up_key(&f->ir, 3), 0);
	assert_true(GW_H2_BRIDGE_KEY & 1);
	assert_false((GW_H2_BRIDGE_KEY ^ h2) & 1);
	/* a key depends on the settings only */
	assert_int_equal(gw_tls_up_key(&f->ir, 0), h2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h2_cluster_offers_h2_only),
	    cmocka_unit_test(test_h2_cluster_backend_without_h2),
	    cmocka_unit_test(test_http1_cluster_offers_http1),
	    cmocka_unit_test(test_wrong_ca_is_a_verify_failure),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_resumption),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
