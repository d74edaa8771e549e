/* gwbpf/abi/splice.h - maps of the sk_skb splice (bpf/sk_skb.bpf.c), shared
 * with userspace/dataplane/splice.c.
 *
 * A spliced pair is two TCP sockets in gw_splice_hash (a SOCKHASH keyed by
 * socket cookie) plus, per direction, one gw_splice_peer entry (written by
 * userspace only) and one gw_splice_ctr entry (written by the program only).
 * Two writers never share a value, so neither needs locks or atomics on it.
 *
 * The handover from the userspace relay to the kernel is ordered by byte
 * counts: the program passes a socket's bytes up to userspace (SK_PASS) and
 * counts them in ctr.passed until userspace says, through peer.fwd, that it
 * has read and forwarded exactly that many. Only then does it redirect, so a
 * byte the kernel forwards can never overtake one userspace still holds.
 */
#ifndef GWBPF_ABI_SPLICE_H
#define GWBPF_ABI_SPLICE_H

#ifdef __bpf__
/* vmlinux.h already defines the __uN types */
#else
#include <linux/types.h>
#endif

/* pinned object names (at most 15 characters) */
#define GW_PIN_SPLICE_HASH "gw_splice_hash"
#define GW_PIN_SPLICE_PEER "gw_splice_peer"
#define GW_PIN_SPLICE_CTR "gw_splice_ctr"
#define GW_PIN_SPLICE_STATS "gw_splice_stat"
#define GW_PIN_SPLICE_PROG "gw_sksk_prog"

#define GW_SPLICE_MAX 16384 /* sockets (two per pair); full = userspace relay */

/* gw_splice_peer[cookie of the socket the bytes arrive on] (userspace) */
struct gw_splice_peer {
	__u64 peer; /* cookie of the socket they leave on */
	__u64 fwd;  /* bytes of this socket userspace has read and fully forwarded;
		       the program redirects only while ctr.passed == fwd */
};
_Static_assert(sizeof(struct gw_splice_peer) == 16, "gw_splice_peer ABI");

/* gw_splice_ctr[cookie] (the program; userspace creates and deletes it) */
struct gw_splice_ctr {
	__u64 passed; /* bytes handed to userspace (SK_PASS) since pairing */
	__u64 redir;  /* bytes redirected to the peer's egress since pairing */
};
_Static_assert(sizeof(struct gw_splice_ctr) == 16, "gw_splice_ctr ABI");

/* gw_splice_stat[0].v[]: process-wide counters. The map is BPF_F_MMAPABLE:
 * userspace adds with atomics on the mapping (any worker, no lock), the
 * program with __sync_fetch_and_add, `gwbpf status` reads it from the pin. */
enum gw_splice_stat {
	GW_SPLICE_STARTED = 0,	 /* pairs inserted */
	GW_SPLICE_ENDED,	 /* pairs removed (connection over) */
	GW_SPLICE_FB_FULL,	 /* fallback: sockhash full */
	GW_SPLICE_FB_STATE,	 /* fallback: a socket not ESTABLISHED (closing) */
	GW_SPLICE_FB_OTHER,	 /* fallback: any other insert error */
	GW_SPLICE_FB_OFF,	 /* fallback: splice disabled (switch or self-check) */
	GW_SPLICE_BYTES,	 /* bytes redirected by ended pairs */
	GW_SPLICE_HANDOVER,	 /* pairs whose bytes reached the kernel path */
	GW_SPLICE_REDIR_MISS,	 /* program: peer gone at redirect time, passed up */
	GW_SPLICE_ACCOUNTING,	 /* userspace read bytes the program never saw:
				    the pair stays in the userspace relay */
	GW_SPLICE_DRAIN_TIMEOUT, /* FIN sent after the drain wait cap */
	GW_SPLICE_FB_BYPASS,	 /* not spliced: a socket is in the sk_msg bypass, whose
				    bytes never reach the verdict (docs/bpf.md) */
	GW_SPLICE_BODY_STARTED,	 /* Content-Length bodies handed to the kernel */
	GW_SPLICE_BODY_BYTES,	 /* body bytes the kernel forwarded (ended body splices) */
	GW_SPLICE_BODY_FALLBACK, /* body splice refused (closing, map full, bypassed socket) */
	GW_SPLICE_BODY_LOST,	 /* body splice ended with bytes past the body unread
				    (or the socket's receive count off): that
				    connection takes no further message */
	GW_SPLICE_STAT_END,
};
#define GW_SPLICE_STAT_MAX 16
struct gw_splice_stats_val {
	__u64 v[GW_SPLICE_STAT_MAX];
};
_Static_assert(sizeof(struct gw_splice_stats_val) == 128, "gw_splice_stats_val ABI");

/* ---- body splice (bpf/sk_skb_body.bpf.c, docs/bpf.md "Body splice") ----
 *
 * A large Content-Length body: the socket it arrives on is in gw_body_hash
 * (stream parser + stream verdict attached), the socket it leaves on in
 * gw_body_out (no program: only a redirect target, so its own received
 * bytes, e.g. pipelined requests, stay in its ordinary receive queue). The
 * parser cuts messages at the end of the budget, the verdict redirects
 * messages while budget is left and passes the rest up to userspace.
 */
#define GW_PIN_BODY_HASH "gw_body_hash"
#define GW_PIN_BODY_OUT "gw_body_out"
#define GW_PIN_BODY_LEFT "gw_body_left"
#define GW_PIN_BODY_PARSER "gw_body_parse"
#define GW_PIN_BODY_VERDICT "gw_body_verd"

/* gw_body_left[cookie of the socket the body arrives on]: created by
 * userspace before the socket enters gw_body_hash, then written only by the
 * programs (one socket's parser and verdict never run concurrently: both run
 * under the socket's strparser, strictly parse(n), verdict(n), parse(n+1)) */
struct gw_body_left {
	__u64 peer;   /* cookie of the socket (in gw_body_out) the body leaves on */
	__u64 left;   /* bytes still to redirect; 0 = pass everything up */
	__u64 redir;  /* bytes redirected so far */
	__u64 passed; /* bytes passed up to userspace (after the budget, or misses) */
	__u64 msg;    /* length of the message being parsed (the parser's answer):
		       the verdict's skb->len is not it when strparser cut or
		       joined skbs (observed on 6.18) */
	__u64 first;  /* bytes unread in the socket when the splice started: the
		       first message, whatever skb offset it starts at; 0 = done */
};
_Static_assert(sizeof(struct gw_body_left) == 48, "gw_body_left ABI");

#endif
