/* util/pem.c - PEM certificates and keys through OpenSSL.
 *
 * A CA bundle is walked by the translator (does the reference hold a
 * certificate at all?), by the listener's client validation and by the
 * upstream verify store; a certificate with its chain and key is loaded for
 * listeners and for the Gateway's backend client certificate. Each job is
 * done once here so the translator's verdict and the proxy's agree. No
 * dependency on the proxy: the translator links it too.
 */
#include "gwbpf/api.h"

#include <limits.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gwbpf/pem.h"

int gw_pem_each_cert(const char *pem, size_t len, gw_pem_cert_fn fn, void *arg)
{
	BIO *b;
	X509 *x;
	int n = 0, err = 0;

	if (len > INT_MAX)
		return -EINVAL;
	b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		err = fn ? fn(x, arg) : 0;
		X509_free(x);
		if (err)
			break;
		n++;
	}
	ERR_clear_error(); /* the loop ends on "no start line" */
	BIO_free(b);
	return err ? err : n;
}

int gw_pem_use_cert(struct ssl_ctx_st *ctx, const char *cert_pem, const char *key_pem)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int err = -EINVAL;

	if (!cert_pem || !key_pem)
		goto out;
	bio = BIO_new_mem_buf(cert_pem, -1);
	x = bio ? PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL) : NULL;
	if (!x || SSL_CTX_use_certificate(ctx, x) != 1)
		goto out;
	/* the rest of the PEM is the chain */
	for (X509 *ca; (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL));) {
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			goto out;
		}
	}
	ERR_clear_error(); /* the chain loop ends on a "no start line" */
	BIO_free(bio);
	bio = BIO_new_mem_buf(key_pem, -1);
	pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!pk)
		goto out;
	/* checked before use: a mismatch is worth its own message */
	if (X509_check_private_key(x, pk) != 1) {
		ERR_clear_error();
		err = -EKEYREJECTED;
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	err = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return err;
}
