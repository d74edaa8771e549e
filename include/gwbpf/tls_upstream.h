/* gwbpf/tls_upstream.h - TLS from the proxy to backends (BackendTLSPolicy,
 * the Gateway's backend client certificate; docs/tls.md "TLS to backends").
 *
 * A cluster whose IR has `tls` set is reached over TLS: SNI is the policy's
 * hostname, the chain is verified against its CA bundle (or the system
 * store for wellKnownCACertificates: System), and the name checked is the
 * hostname, or any of subjectAltNames when the policy lists some. Client
 * contexts live in a per-worker cache (no locks), one per cluster of the
 * snapshot in use; a connection keeps its own reference to its context, so
 * a new snapshot never breaks one in flight. Pooled connections are keyed
 * by a digest of the TLS settings: a connection is only reused for requests
 * that would have made the same one.
 */
#ifndef GWBPF_TLS_UPSTREAM_H
#define GWBPF_TLS_UPSTREAM_H

#include <sys/socket.h>
#include <sys/types.h>

#include "gwbpf/api.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/upstream-t.h"

struct gw_tls_up;
struct gw_tls_up_cache;

/* gw_tls_up_get() : a connection to ss for a request to ir->clusters[cluster]:
 * gw_upstream_get() for a plaintext cluster; for a TLS one, an idle
 * connection made with the same settings, or a new one whose TLS session is
 * set up (the handshake runs from gw_tls_up_handshake() once TCP connects;
 * uc->connected stays false until it is done). NULL + errno: EPROTO when
 * the cluster's policy is invalid (nothing may be sent), else as
 * gw_upstream_get(). */
struct gw_upconn *gw_tls_up_get(struct gw_upstream_pool *pool, const struct sockaddr_storage *ss,
				socklen_t len, const struct gw_ir *ir, int32_t cluster);

/* gw_tls_up_handshake() : one non-blocking step of the client handshake on
 * a TCP-connected uc. 0 = established and verified, -EAGAIN = wait for
 * gw_tls_up_want(), -EPROTO = failed (chain, name, SAN, or protocol;
 * logged at debug level, counted) */
int gw_tls_up_handshake(struct gw_upconn *uc);

/* gw_tls_up_want() : GW_IO_READ/GW_IO_WRITE the last -EAGAIN waits for */
uint32_t gw_tls_up_want(const struct gw_upconn *uc);

/* gw_tls_up_read() : decrypted bytes into buf: >0, -EAGAIN, or 0 at the end
 * of the stream (close_notify, EOF or error) */
ssize_t gw_tls_up_read(struct gw_upconn *uc, void *buf, size_t len);

/* gw_tls_up_write() : encrypts and sends up to len bytes: >0 taken,
 * -EAGAIN, or -EPIPE. buf may move between retries. */
ssize_t gw_tls_up_write(struct gw_upconn *uc, const void *buf, size_t len);

/* gw_tls_up_pending() : decrypted bytes wait inside OpenSSL (no epoll event
 * will come for them) */
bool gw_tls_up_pending(const struct gw_upconn *uc);

/* gw_tls_up_key() : the pooling key of connections to ir->clusters[cluster]
 * (a digest of its TLS settings and ALPN; 0 for a plaintext cluster) */
uint64_t gw_tls_up_key(const struct gw_ir *ir, int32_t cluster);

/* gw_tls_up_alpn_h2() : the established session selected ALPN "h2". The
 * contexts of h2 clusters (app_proto GW_APP_H2C) offer only "h2"; a backend
 * may still answer without ALPN, and the caller must then not speak h2. */
bool gw_tls_up_alpn_h2(const struct gw_upconn *uc);

/* gw_tls_up_resumed() : the established session was resumed (the
 * context's last session was offered and taken: no certificate exchange) */
bool gw_tls_up_resumed(const struct gw_upconn *uc);

/* gw_tls_up_verify_failed() : the last handshake step failed on the
 * backend's certificate (chain, hostname or subjectAltNames) */
bool gw_tls_up_verify_failed(const struct gw_upconn *uc);

/* gw_tls_up_free() : frees a session (no close_notify). Accepts NULL. */
void gw_tls_up_free(struct gw_tls_up *t);

/* gw_tls_up_cache_free() : frees a worker's contexts. Accepts NULL. */
void gw_tls_up_cache_free(struct gw_tls_up_cache *c);

/* process-wide counters (relaxed atomics) */
struct gw_tls_up_stats {
	uint64_t handshakes;         /* completed and verified */
	uint64_t verify_failures;    /* chain, hostname or SAN refused */
	uint64_t handshake_failures; /* every other failure */
	uint64_t resumed;            /* of handshakes: sessions resumed */
};
void gw_tls_up_stats(struct gw_tls_up_stats *st);

#endif
