/* gwbpf/tls_client.h - client certificates on HTTPS listeners (Gateway
 * spec.tls.frontend), used by tls.c when it builds a listener's contexts.
 *
 * A listener with client_verify set gets, on each of its SSL_CTXs: the CA
 * bundle as the verify store and as the CA names of the CertificateRequest,
 * SSL_VERIFY_PEER (plus FAIL_IF_NO_PEER_CERT for AllowValidOnly; for
 * AllowInsecureFallback a callback that accepts any outcome), and a session
 * id context derived from the validation settings, so a session or ticket
 * issued under one validation never resumes under another (a resumed
 * session skips certificate verification).
 */
#ifndef GWBPF_TLS_CLIENT_H
#define GWBPF_TLS_CLIENT_H

#include <stdbool.h>

#include "gwbpf/ir-t.h"

struct ssl_ctx_st;

/* gw_tls_client_verify_setup() : applies l's client validation to ctx
 * (nothing when l is NULL or asks for none). 0, or -EINVAL when the CA
 * bundle does not load (logged with where; the context must not be served:
 * serving it without the validation would let anyone in). */
int gw_tls_client_verify_setup(struct ssl_ctx_st *ctx, const struct gw_ir_listener *l,
			       const char *where);

/* gw_tls_client_verify_same() : a and b validate client certificates the
 * same way, so one SSL_CTX can serve both (NULL = no validation) */
bool gw_tls_client_verify_same(const struct gw_ir_listener *a, const struct gw_ir_listener *b);

#endif
