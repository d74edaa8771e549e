/* gwbpf/tls.h - TLS termination for the userspace proxy (OpenSSL 3).
 *
 * A gw_tls_snap holds the server contexts of every HTTPS bind of one IR
 * snapshot: one SSL_CTX per distinct certificate (PEM from the IR), built
 * once per snapshot and shared by every worker (gw_tls_snap_get() returns the
 * same object for the same snapshot). It holds a reference to its snapshot,
 * so listener hostnames stay valid while it lives. A certificate Secret that
 * changes yields a new snapshot, hence new contexts; a connection that
 * already finished its handshake keeps its own reference to the SSL_CTX it
 * was served with (OpenSSL refcounts them), so nothing in flight is dropped.
 *
 * Certificate selection for a ClientHello with server name SNI (see
 * docs/tls.md): the bind's listeners come most specific hostname first, so
 * the first listener whose hostname matches SNI (exact, then wildcard, then
 * the listener without hostname) is chosen; without SNI or with an SNI no
 * listener matches, the listener without hostname, else the first listener
 * that has a certificate. Inside the listener, the first certificate whose
 * names (SAN/CN, checked by X509_check_host) cover SNI, else its first one.
 */
#ifndef GWBPF_TLS_H
#define GWBPF_TLS_H

#include <sys/types.h>

#include "gwbpf/api.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/loop-t.h"

struct gw_tls_snap;
struct gw_tls_bind;
struct gw_tls_conn;

/* process-wide counters (relaxed atomics) */
struct gw_tls_stats {
	uint64_t handshakes;          /* completed */
	uint64_t handshake_failures;  /* garbage, truncated, no shared cipher, timeout excluded */
	uint64_t resumed;             /* completed handshakes that resumed a session */
	uint64_t cert_errors;         /* certificates refused while building contexts */
};

/* gw_tls_snap_get() : returns a new reference to the TLS contexts of ir,
 * building them on first use (one build per snapshot, shared by threads).
 * Certificates that fail to load or whose key does not match are logged and
 * left out (that listener then fails its handshakes). Takes its own ir
 * reference. NULL + errno on allocation failure. Thread-safe. */
struct gw_tls_snap *gw_tls_snap_get(struct gw_ir *ir);

/* gw_tls_snap_put() : drops a reference; the last one frees the contexts
 * and the snapshot reference. Accepts NULL. Thread-safe. */
void gw_tls_snap_put(struct gw_tls_snap *s);

/* gw_tls_snap_bind() : the HTTPS bind (address, port) of s, or NULL.
 * Borrowed from s. */
const struct gw_tls_bind *gw_tls_snap_bind(const struct gw_tls_snap *s, const char *address,
					   uint16_t port);

/* gw_tls_select() : the certificate a ClientHello with server name sni
 * (NULL = none) gets on b (rules above). Sets *lst to the chosen listener
 * (borrowed from the IR). Returns the IR certificate served, or NULL when
 * the chosen listener has no usable certificate (the handshake fails). */
const struct gw_ir_cert *gw_tls_select(const struct gw_tls_bind *b, const char *sni,
				       const struct gw_ir_listener **lst);

/* gw_tls_sni_listener() : the listener of bind a request with Host-routing
 * must agree with, for a connection whose ClientHello said sni: the first
 * listener whose hostname matches sni, or NULL when none does. The proxy
 * answers 421 when the Host header selects another listener. */
const struct gw_ir_listener *gw_tls_sni_listener(const struct gw_ir_bind *bind, const char *sni);

/* gw_tls_conn_new() : a server-side TLS session on the connected, non-blocking
 * socket fd accepted on (address, port) of s. Borrows fd (never closes it);
 * takes its own reference on s until the handshake ends. NULL + errno
 * (ENOENT: that bind has no TLS contexts in s). */
struct gw_tls_conn *gw_tls_conn_new(struct gw_tls_snap *s, const char *address, uint16_t port,
				    int fd);

/* gw_tls_conn_free() : frees the session (no close_notify; see
 * gw_tls_shutdown()). Accepts NULL. */
void gw_tls_conn_free(struct gw_tls_conn *t);

/* gw_tls_handshake() : one non-blocking step of the server handshake.
 * 0 = established, -EAGAIN = wait for gw_tls_want() events, -EPROTO = failed
 * (counted; the caller closes the connection). */
int gw_tls_handshake(struct gw_tls_conn *t);

/* gw_tls_established() : true once the handshake completed */
bool gw_tls_established(const struct gw_tls_conn *t);

/* gw_tls_want() : GW_IO_READ and/or GW_IO_WRITE the last operation that
 * returned -EAGAIN (or 0 bytes) waits for; 0 when nothing is pending */
uint32_t gw_tls_want(const struct gw_tls_conn *t);

/* gw_tls_read() : decrypted bytes into buf. >0 bytes, -EAGAIN (see
 * gw_tls_want()), or 0 at the end of the stream: close_notify, a TCP EOF,
 * or any TLS error (the connection is over either way). */
ssize_t gw_tls_read(struct gw_tls_conn *t, void *buf, size_t len);

/* gw_tls_write() : encrypts and sends up to len bytes of buf. >0 bytes
 * taken, -EAGAIN (see gw_tls_want()), or -EPIPE. Partial writes are allowed
 * and buf may move between retries. */
ssize_t gw_tls_write(struct gw_tls_conn *t, const void *buf, size_t len);

/* gw_tls_pending() : decrypted bytes buffered inside OpenSSL that epoll
 * will never announce: the caller must read them without waiting */
bool gw_tls_pending(const struct gw_tls_conn *t);

/* gw_tls_shutdown() : sends close_notify once, without waiting for the
 * peer's; the caller then shuts the socket down as for plain TCP */
void gw_tls_shutdown(struct gw_tls_conn *t);

/* gw_tls_sni() : the server name the client sent (lowercase), or NULL */
const char *gw_tls_sni(const struct gw_tls_conn *t);

/* gw_tls_parse_sni() : reads the server name from the ClientHello at the
 * start of p[0..len) (TLS records as received, possibly several fragments
 * of one ClientHello, at most 16 KiB of handshake message), without
 * decrypting or consuming anything: for passthrough routing. Writes the
 * host name, lowercased, NUL-terminated, into out (outlen >= 256), or ""
 * when the ClientHello has no server_name extension. Returns 0, -EAGAIN
 * when more bytes are needed, or -EBADMSG when p is not a well-formed TLS
 * ClientHello (or the name holds bytes no DNS name has). */
int gw_tls_parse_sni(const uint8_t *p, size_t len, char *out, size_t outlen);

/* gw_tls_alpn_h2() : true when ALPN chose "h2" in the finished handshake
 * (the connection is then served by h2.c); false for NULL */
bool gw_tls_alpn_h2(const struct gw_tls_conn *t);

/* gw_tls_stats() : fills *st with the process-wide counters */
void gw_tls_stats(struct gw_tls_stats *st);

#endif
