/* tests/unit/fx_cert.h - certificates made in memory for the unit tests
 * (OpenSSL, no files): a self-signed P-256 certificate, with or without a
 * subjectAltName, and its PEM text. Included by translate_helpers.h and by
 * tests that only need certificates (test_tls.c). Needs <cmocka.h> first. */
#ifndef FX_CERT_H
#define FX_CERT_H

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* fx_selfsigned_san() : a fresh self-signed P-256 certificate for CN cn,
 * valid one day, with subjectAltName DNS:san unless san is NULL; its key in
 * *key. Both new (X509_free, EVP_PKEY_free). */
static inline X509 *fx_selfsigned_san(const char *cn, const char *san, long serial,
				      EVP_PKEY **key)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	if (san) {
		X509_EXTENSION *ext;
		X509V3_CTX v3;
		char buf[300];

		snprintf(buf, sizeof(buf), "DNS:%s", san);
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, buf);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*key = k;
	return x;
}

/* fx_selfsigned() : fx_selfsigned_san() without a subjectAltName */
static inline X509 *fx_selfsigned(const char *cn, long serial, EVP_PKEY **key)
{
	return fx_selfsigned_san(cn, NULL, serial, key);
}

/* fx_x509_pem() : x as PEM text; new string */
static inline char *fx_x509_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(b);
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	assert_non_null(out);
	BIO_free(b);
	return out;
}

/* fx_pkey_pem() : k as unencrypted PEM (PKCS#8) text; new string */
static inline char *fx_pkey_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(b);
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	assert_non_null(out);
	BIO_free(b);
	return out;
}

#endif /* FX_CERT_H */
