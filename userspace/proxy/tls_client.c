/* proxy/tls_client.c - client-certificate validation on HTTPS listeners
 * (gwbpf/tls_client.h; docs/tls.md "Client certificates").
 *
 * Verification is OpenSSL's own chain check against the listener's CA
 * bundle only (never the system store): X509_V_FLAG_PARTIAL_CHAIN is not
 * set, so the chain must end at one of those CAs. Depth is OpenSSL's
 * default (100). No hostname or SAN check applies to clients, as the
 * Gateway API asks for none.
 */
#include "gwbpf/api.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gwbpf/log.h"
#include "gwbpf/pem.h"
#include "gwbpf/tls_client.h"

static int verify_any(int preverify_ok, X509_STORE_CTX *x)
{
	/* AllowInsecureFallback: the handshake goes on whatever the result;
	 * SSL_get_verify_result() still tells what it was */
	return 1;
}

static bool wants(const struct gw_ir_listener *l)
{
	return l && l->client_verify != GW_CLIENT_VERIFY_NONE && l->client_ca_pem;
}

bool gw_tls_client_verify_same(const struct gw_ir_listener *a, const struct gw_ir_listener *b)
{
	if (!wants(a) || !wants(b))
		return !wants(a) && !wants(b);
	return a->client_verify == b->client_verify && !strcmp(a->client_ca_pem, b->client_ca_pem);
}

/* the client CAs: trusted for verification and named in the
 * CertificateRequest so a client picks a certificate they issued */
struct ca_walk {
	X509_STORE *store;
	STACK_OF(X509_NAME) *names;
};

static int ca_add(struct x509_st *x, void *arg)
{
	struct ca_walk *w = arg;
	X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(x));

	if (X509_STORE_add_cert(w->store, x) != 1 || !nm || !sk_X509_NAME_push(w->names, nm)) {
		X509_NAME_free(nm);
		return -EINVAL;
	}
	return 0;
}

int gw_tls_client_verify_setup(struct ssl_ctx_st *ctx, const struct gw_ir_listener *l,
			       const char *where)
{
	STACK_OF(X509_NAME) *names = NULL;
	X509_STORE *store = NULL;
	unsigned char md[EVP_MAX_MD_SIZE], sid[SSL_MAX_SID_CTX_LENGTH];
	unsigned int mdlen = 0;
	struct ca_walk w;
	int err = -EINVAL;

	if (!wants(l))
		return 0;
	store = X509_STORE_new();
	names = sk_X509_NAME_new_null();
	if (!store || !names)
		goto out;
	w.store = store;
	w.names = names;
	if (gw_pem_each_cert(l->client_ca_pem, strlen(l->client_ca_pem), ca_add, &w) <= 0)
		goto out;
	SSL_CTX_set_cert_store(ctx, store); /* takes store */
	store = NULL;
	SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
	names = NULL;
	if (l->client_verify == GW_CLIENT_VERIFY_REQUIRE)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_any);
	/* sessions are bound to this validation: mode + digest of the CAs */
	if (EVP_Digest(l->client_ca_pem, strlen(l->client_ca_pem), md, &mdlen, EVP_sha256(),
		       NULL) != 1)
		goto out;
	sid[0] = (unsigned char)l->client_verify;
	memcpy(sid + 1, md, sizeof(sid) - 1 < mdlen ? sizeof(sid) - 1 : mdlen);
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid)) != 1)
		goto out;
	err = 0;
out:
	if (err) {
		pr_warn("tls: %s: client CA bundle does not load: listener not served", where);
		ERR_clear_error();
	}
	X509_STORE_free(store);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	return err;
}
