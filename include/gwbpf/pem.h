/* gwbpf/pem.h - PEM certificates and keys through OpenSSL (see util/pem.c).
 * Used by the translator (checks) and the proxy (SSL_CTX setup). */
#ifndef GWBPF_PEM_H
#define GWBPF_PEM_H

#include "gwbpf/api.h"

struct x509_st;
struct ssl_ctx_st;

/* gw_pem_cert_fn : called for each certificate, borrowed for the call;
 * 0 goes on, a negative errno stops the walk and is returned */
typedef int (*gw_pem_cert_fn)(struct x509_st *x, void *arg);

/* gw_pem_each_cert() : walks the X.509 certificates of len bytes of PEM text
 * (trailing non-PEM text is ignored), calling fn (may be NULL: count only).
 * The number of certificates, fn's error, or -ENOMEM. Leaves no OpenSSL
 * error queued. Borrows pem. */
int gw_pem_each_cert(const char *pem, size_t len, gw_pem_cert_fn fn, void *arg);

/* gw_pem_use_cert() : the first certificate of cert_pem as ctx's
 * certificate, the following ones as its chain, and key_pem as its key.
 * 0; -EINVAL when a PEM does not parse or OpenSSL refuses it (errors left
 * queued for the caller to log); -EKEYREJECTED when the key does not match
 * the certificate (queue cleared). NULL cert_pem or key_pem is -EINVAL. */
int gw_pem_use_cert(struct ssl_ctx_st *ctx, const char *cert_pem, const char *key_pem);

#endif
