/* gwbpf/splice.h - kernel splice of opaque streams (sk_skb verdict).
 *
 * After a relay has decided that two TCP sockets only carry bytes between
 * them (a WebSocket after a real 101, a TCPRoute or TLS-passthrough stream),
 * gw_splice_pair() hands the forwarding to bpf/sk_skb.bpf.c, which redirects
 * each received skb to the other socket's egress without waking userspace.
 *
 * HOW A RELAY USES IT (userspace/proxy/conn.c tunnel_step() is the reference;
 * userspace/l4/ relays call the same five functions):
 *
 *   pair:   err = gw_splice_pair(sp, client_fd, upstream_fd, &c->sp);
 *           -EAGAIN: a socket has unread bytes; read, then try again;
 *           other err < 0: not spliced (counted); keep relaying as before.
 *   relay:  keep the userspace relay exactly as it was, with EPOLLIN on both
 *           sockets: until the handover, and for the FIN (read() == 0) and
 *           errors after it, bytes still arrive there. After every read or
 *           write call gw_splice_note(&c->sp, side, nread, nwritten), and
 *           when nothing read from side i is still buffered in userspace,
 *           gw_splice_sync(sp, &c->sp, i) (cheap: a map write only when the
 *           count changed). The kernel takes over a direction once userspace
 *           has forwarded everything it was passed; after that no more bytes
 *           arrive in userspace.
 *   EOF:    read() == 0 on side i and nothing buffered: before shutdown(WR)
 *           of the other socket, wait until gw_splice_drained(sp, &c->sp, i)
 *           returns > 0 (bytes the kernel redirected may still be queued;
 *           poll every millisecond from a timer). Returns 1 at the latest
 *           after GW_SPLICE_DRAIN_MAX_MS.
 *   error:  EPOLLERR/HUP, RST: as before (the relay resets the other side).
 *   end:    gw_splice_unpair(sp, &c->sp) before closing the fds.
 *
 * Every function is safe from any worker thread at once; nothing takes a
 * lock. sp may be NULL (splice off): gw_splice_pair() then returns -ENODEV
 * and the others do nothing, so callers need no extra branches.
 */
#ifndef GWBPF_SPLICE_H
#define GWBPF_SPLICE_H

#include "gwbpf/api.h"
#include "gwbpf/splice-t.h"

#define GW_SPLICE_DRAIN_MAX_MS 5000

/* smallest Content-Length body left for which the body splice is tried:
 * below it, copying costs less than the map updates and the psock set-up */
#define GW_BODY_SPLICE_MIN (256u << 10)

/* gw_splice_probe() : 0 when this kernel has what the splice needs (sk_skb
 * programs, SOCKHASH, mmapable arrays), else -EOPNOTSUPP/-errno */
int gw_splice_probe(void);

/* gw_splice_open() : loads bpf/sk_skb.bpf.c, creates or adopts its pinned
 * maps under opts->bpffs (stale pair entries of a previous daemon are
 * flushed: its sockets died with it), attaches the verdict to the sockhash,
 * and unless opts->no_selfcheck runs the startup self-check. NULL + errno
 * (ENOTSUP: kernel lacks a feature; EIO: self-check failed, the reason is
 * logged). Borrows opts. */
struct gw_splice *gw_splice_open(const struct gw_splice_opts *opts);

/* gw_splice_close() : accepts NULL. Pairs still open keep working until
 * their sockets close. keep_pinned = false removes the splice pins. */
void gw_splice_close(struct gw_splice *sp, bool keep_pinned);

/* gw_splice_selfcheck() : relays checksummed bytes both ways through a
 * splice between loopback sockets, then checks FIN propagation, within about
 * a second. 0 or -EIO (logged). */
int gw_splice_selfcheck(struct gw_splice *sp);

/* gw_splice_set_default() / gw_splice_default() : the daemon's splice,
 * published by `gwbpf run` (NULL = off: --no-bpf, --bpf without splice, or a
 * failed self-check). Relays call gw_splice_default() when a stream starts
 * (an atomic load), so the proxy and l4 need no new option plumbing. */
void gw_splice_set_default(struct gw_splice *sp);
struct gw_splice *gw_splice_default(void);

/* gw_splice_pair() : inserts the connected, non-blocking TCP sockets fd_a
 * and fd_b (borrowed; the caller keeps owning and closing them) and fills
 * *p. 0, or -EAGAIN (a socket has unread bytes: read them and try again
 * later; not counted), -ENODEV (sp NULL or disabled), -ENOSPC (map full),
 * -EOPNOTSUPP (a socket is in the sk_msg bypass, which already carries it), -ENOTCONN
 * (a socket is not ESTABLISHED any more), -errno: every failure is counted
 * as a fallback and leaves nothing behind. */
int gw_splice_pair(struct gw_splice *sp, int fd_a, int fd_b, struct gw_splice_pair *p);

/* gw_splice_note() : the caller read nread bytes from p->fd[side] and wrote
 * nwritten into it. Pure bookkeeping; unpaired p is ignored. */
static inline void gw_splice_note(struct gw_splice_pair *p, int side, size_t nread, size_t nwritten)
{
	if (!p->paired)
		return;
	p->user_in[side] += nread;
	p->user_out[side] += nwritten;
}

/* gw_splice_sync() : the caller holds no byte read from side i: lets the
 * kernel take over that direction. 0 or -errno (the pair then simply stays
 * in userspace for that direction). */
int gw_splice_sync(struct gw_splice *sp, struct gw_splice_pair *p, int side);

/* gw_splice_drained() : side i reached EOF; > 0 when every byte from it is
 * in the other socket's send queue (FIN may follow), 0 = not yet, -EAGAIN
 * when bytes passed to userspace are still unread: read side i again (until
 * EOF) before asking again; other -errno */
int gw_splice_drained(struct gw_splice *sp, struct gw_splice_pair *p, int side);

/* gw_splice_unpair() : removes the pair's entries and counts its bytes;
 * accepts an unpaired p; p is zeroed. The sockets leave the sockhash when
 * they close (or now, if still open). */
void gw_splice_unpair(struct gw_splice *sp, struct gw_splice_pair *p);

/* ---- body splice (docs/bpf.md "Body splice") ----
 *
 * The remaining bytes of one HTTP body of a known Content-Length, from fd_in
 * to fd_out, carried by the kernel (bpf/sk_skb_body.bpf.c), after which both
 * sockets are the caller's again with nothing read past the body:
 *
 *   start:  only when the caller holds no unwritten byte for fd_out and no
 *           read byte of the body (bytes of fd_in still unread are fine:
 *           the kernel counts them in). Give the kernel the rest of the
 *           body: err = gw_body_splice_start(sp, up, cl, left, &r->bs).
 *           err < 0: not spliced (counted); go on in userspace.
 *   during: do not write to fd_out, and do not watch fd_in for input
 *           (level-triggered EPOLLIN also fires for bytes the parser has
 *           not taken yet). Every millisecond, gw_body_splice_pending():
 *           when true, read fd_in until EAGAIN (bytes past the body: a
 *           pipelined request, an upstream sending past its body; or ones
 *           the kernel could not redirect) and gw_body_splice_note() each
 *           read, then ask gw_body_splice_done().
 *   end:    gw_body_splice_done() until > 0 (every redirected byte is in
 *           fd_out's send queue; re-check in a millisecond on 0), then
 *           gw_body_splice_end(), and subtract the bytes it reports from
 *           the body left. *lost says fd_in must take no further message.
 *
 * Bytes are read from fd_in only while the stream parser is attached: on
 * 6.18 a byte the parser passed up and read after it stopped leaves the
 * socket's copied_seq behind its stream (docs/bpf.md "Body splice").
 * gw_body_splice_progress() feeds idle time-outs: the budget moved.
 */

/* gw_body_splice_available() : sp loaded the body splice (its self-check passed) */
bool gw_body_splice_available(const struct gw_splice *sp);

/* gw_body_splice_start() : inserts fd_in (body arrives) and fd_out (body
 * leaves), connected non-blocking TCP sockets, with budget bytes for the
 * kernel (bytes of fd_in not read yet count against it). 0 = the kernel
 * carries them; -ENODEV (sp NULL or no body splice),
 * -ENOTCONN (a socket closing), -ENOSPC (map full), -EOPNOTSUPP (bypassed
 * socket), other -errno: nothing changed, b zeroed, counted. */
int gw_body_splice_start(struct gw_splice *sp, int fd_in, int fd_out, uint64_t budget,
			 struct gw_body_splice *b);

/* gw_body_splice_note() : the caller read n bytes from b->fd_in */
static inline void gw_body_splice_note(struct gw_body_splice *b, size_t n)
{
	if (b->on)
		b->user_in += n;
}

/* gw_body_splice_pending() : true when the kernel is finished with the
 * body (budget spent), or passed bytes up that the caller has not read (read
 * them now), or fd_in ended (FIN or reset) and the parser took all it had.
 * One map lookup: the caller polls it instead of watching fd_in. */
bool gw_body_splice_pending(struct gw_splice *sp, const struct gw_body_splice *b);

/* gw_body_splice_progress() : true when the kernel forwarded bytes since
 * the last call (for idle time-outs) */
bool gw_body_splice_progress(struct gw_splice *sp, struct gw_body_splice *b);

/* gw_body_splice_done() : > 0 when the kernel is finished with the body
 * (bytes passed up, or fd_in at EOF / reset with everything parsed) and
 * every byte it redirected is in fd_out's send queue; 0 = not yet (re-check
 * soon); -ETIMEDOUT when the reader took nothing for GW_SPLICE_DRAIN_MAX_MS
 * (counted): end the splice and fail the response, as bytes the kernel
 * still queued are dropped with the splice; other -errno */
int gw_body_splice_done(struct gw_splice *sp, struct gw_body_splice *b);

/* gw_body_splice_end() : removes both sockets and the budget; *redir =
 * bytes the kernel forwarded. Reads nothing: *lost = true when bytes it
 * passed up were still unread (dropped with the socket's psock) or fd_in's
 * receive side is inconsistent; fd_in must then take no further message
 * (close it after the current exchange; counted as body_unclean_end).
 * Accepts an idle b; b is zeroed. */
void gw_body_splice_end(struct gw_splice *sp, struct gw_body_splice *b, uint64_t *redir,
			bool *lost);

/* gw_splice_stat_add() : count into the shared stats (any thread) */
void gw_splice_stat_add(struct gw_splice *sp, enum gw_splice_stat s, uint64_t n);

/* gw_splice_read_stats() : reads the pins under bpffs (NULL = default)
 * without the daemon. 0, -ENOENT when nothing is pinned, -errno. */
int gw_splice_read_stats(const char *bpffs, struct gw_splice_stats *st);

/* gw_splice_conns() : calls fn for each spliced direction pinned under
 * bpffs (NULL = default), without the daemon; fn returns non-zero to stop
 * (that value is returned). 0, -ENOENT, -errno. */
typedef int (*gw_splice_conn_fn)(const struct gw_splice_conn *c, void *arg);
int gw_splice_conns(const char *bpffs, gw_splice_conn_fn fn, void *arg);

/* gw_splice_stat_name() : "started", "fallback_full", ...; NULL if unused */
const char *gw_splice_stat_name(unsigned int s);

#endif
