/* gwbpf/handoff.h - graceful restart: listening sockets handed to a successor
 * over a Unix socket (see handoff-t.h for the protocol, docs/operations.md
 * for what happens to each kind of connection).
 *
 * The successor side is synchronous (it runs once, at startup, with bounded
 * waits); the predecessor side runs on the main thread's loop, so a peer that
 * says nothing never blocks the admin endpoint or reloads.
 */
#ifndef GWBPF_HANDOFF_H
#define GWBPF_HANDOFF_H

#include "gwbpf/api.h"
#include "gwbpf/handoff-t.h"
#include "gwbpf/loop-t.h"
#include "gwbpf/proxy-t.h"

/* ---- successor (new daemon) ---- */

/* gw_handoff_fetch() : connects to path and asks the daemon there for its
 * listening sockets (at most timeout_ms in all). On 0, *socks (malloc'd,
 * caller frees; each fd owned by the caller) holds *n sockets, each checked
 * against its record, and *conn is the open connection for
 * gw_handoff_ready(). take_streams: we can keep spliced streams (we have a
 * splice); the predecessor then hands them over at READY. The rest:
 * gw_handoff_ready(). Errors, with nothing left open: -ENOENT or
 * -ECONNREFUSED (no predecessor, or a stale socket file), -EPROTONOSUPPORT
 * (the predecessor speaks another version), -EBUSY (it refused: another
 * successor is being served), -EPROTO (malformed message),
 * -ETIMEDOUT, -errno. The caller starts normally after any of them. */
int gw_handoff_fetch(const char *path, uint32_t timeout_ms, bool take_streams,
		     struct gw_proxy_sock **socks, size_t *n, int *conn);

/* gw_handoff_ready() : tells the predecessor on conn that we serve, then
 * waits (at most timeout_ms) for RELEASED or its end of the connection,
 * collecting the spliced streams it hands over: *streams (malloc'd or NULL,
 * caller frees; fds owned by the caller) holds *n_streams of them, each
 * checked (SO_COOKIE of both fds against its record). Closes conn in every
 * case. 0, -ETIMEDOUT or -errno (streams received are still returned). */
int gw_handoff_ready(int conn, uint32_t timeout_ms, struct gw_proxy_stream **streams,
		     size_t *n_streams);

/* gw_handoff_waiting() : the predecessor on conn still waits for READY
 * (it sends nothing before it); false once it closed the connection or sent
 * anything (REFUSED after its own timeout). Never blocks. */
bool gw_handoff_waiting(int conn);

/* ---- predecessor (running daemon) ---- */

struct gw_handoff_ops {
	/* sockets() : the listening sockets to hand over, as dup'd fds in a
	 * malloc'd array (the server sends, then closes and frees them).
	 * 0 or -errno. */
	int (*sockets)(void *arg, struct gw_proxy_sock **socks, size_t *n);
	/* streams() : may be NULL. Asked at READY when the successor keeps
	 * spliced streams: they are forgotten here once returned (the server
	 * sends, then closes the fds and frees the array). 0 or -errno. */
	int (*streams)(void *arg, struct gw_proxy_stream **v, size_t *n);
	/* handed_over() : the successor serves; stop accepting, release the
	 * admin address, drain. RELEASED is sent when this returns. */
	void (*handed_over)(void *arg);
};

struct gw_handoff_server;

/* gw_handoff_server_new() : listens on path (a stale file there is
 * replaced; mode 0600) and serves one successor at a time on loop
 * (borrowed); ops and arg are borrowed. Only peers with our uid or root are
 * served. NULL + errno. */
struct gw_handoff_server *gw_handoff_server_new(struct gw_loop *loop, const char *path,
						const struct gw_handoff_ops *ops, void *arg);
/* gw_handoff_server_free() : closes the listener and any peer; removes the
 * socket file if it is still the one we made (a successor may have replaced
 * it). Accepts NULL. */
void gw_handoff_server_free(struct gw_handoff_server *s);

/* ---- spliced streams kept for a predecessor (handoff_stream.c) ---- */

struct gw_handoff_streams;

/* gw_handoff_streams_new() : an empty set watched on loop (borrowed); the
 * set ends each stream as the proxy's tunnel would: an EOF travels once the
 * kernel has forwarded what came before it, a reset resets the other side,
 * then the pair is removed from the splice maps and both fds closed.
 * NULL + errno. */
struct gw_handoff_streams *gw_handoff_streams_new(struct gw_loop *loop);
/* gw_handoff_streams_adopt() : takes ownership of the fds in v[0..n) (the
 * array stays the caller's); a stream that cannot be watched is closed.
 * Returns how many are kept. */
size_t gw_handoff_streams_adopt(struct gw_handoff_streams *s, const struct gw_proxy_stream *v,
				size_t n);
/* gw_handoff_streams_export() : the kept streams still flowing both ways,
 * for our own successor: dups of their fds in *v (malloc'd); they are
 * forgotten here. 0 or -errno. */
int gw_handoff_streams_export(struct gw_handoff_streams *s, struct gw_proxy_stream **v, size_t *n);
/* gw_handoff_streams_count() : streams kept now */
size_t gw_handoff_streams_count(const struct gw_handoff_streams *s);
/* gw_handoff_streams_free() : ends every stream left (unpair, close);
 * accepts NULL */
void gw_handoff_streams_free(struct gw_handoff_streams *s);

#endif
