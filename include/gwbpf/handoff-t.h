/* gwbpf/handoff-t.h - the wire format of the graceful restart (fd handoff).
 *
 * A daemon started with `--handoff PATH` listens on the Unix socket PATH
 * (SOCK_SEQPACKET, 0600). Its successor, started with the same PATH,
 * connects and the two exchange these messages, one per packet, each
 * starting with struct gw_handoff_hdr:
 *
 *   new -> old  HELLO      version it speaks, nothing else
 *   old -> new  SOCKETS    n records + n fds (SCM_RIGHTS), as many packets
 *                          as needed, the last one flagged LAST
 *   new -> old  READY      the successor serves on the sockets it adopted
 *   old -> new  STREAMS    only if HELLO said F_STREAMS: spliced streams,
 *                          n records + 2n fds (client, upstream) per packet
 *   old -> new  RELEASED   the predecessor closed its admin listener and
 *                          drains; the successor may bind the admin address
 *   old -> new  REFUSED    version mismatch (the header carries the old
 *                          daemon's version) or a message out of turn
 *
 * Everything is host byte order: both ends run on the same node. A version
 * bump is needed for any change of these structs.
 */
#ifndef GWBPF_HANDOFF_T_H
#define GWBPF_HANDOFF_T_H

#include <stdint.h>

#define GW_HANDOFF_MAGIC 0x4f485747u /* "GWHO" read as bytes */
#define GW_HANDOFF_VERSION 1
#define GW_HANDOFF_BATCH 64 /* records (and fds) per SOCKETS packet */
#define GW_HANDOFF_MAX 4096 /* sockets one handoff may carry in all */

enum gw_handoff_type {
	GW_HANDOFF_HELLO = 1,
	GW_HANDOFF_SOCKETS,
	GW_HANDOFF_READY,
	GW_HANDOFF_RELEASED,
	GW_HANDOFF_REFUSED,
	GW_HANDOFF_STREAMS,
};

#define GW_HANDOFF_STREAM_BATCH 32 /* stream records per STREAMS packet (2 fds each) */

#define GW_HANDOFF_F_LAST 0x1u	  /* SOCKETS: no more packets follow */
#define GW_HANDOFF_F_STREAMS 0x2u /* HELLO: the successor keeps spliced streams */

struct gw_handoff_hdr {
	uint32_t magic;	  /* GW_HANDOFF_MAGIC */
	uint16_t version; /* GW_HANDOFF_VERSION of the sender */
	uint16_t type;	  /* enum gw_handoff_type */
	uint16_t n;	  /* SOCKETS: records after the header, one fd each */
	uint16_t flags;	  /* GW_HANDOFF_F_* */
	uint32_t len;	  /* bytes after the header (n * sizeof(struct gw_handoff_rec)) */
};
_Static_assert(sizeof(struct gw_handoff_hdr) == 16, "gw_handoff_hdr layout");

/* one listening socket as its sender describes it; the receiver checks the
 * fd itself (getsockname, SO_TYPE, SO_ACCEPTCONN) against it */
struct gw_handoff_rec {
	uint16_t family;   /* AF_INET, AF_INET6 */
	uint16_t type;	   /* SOCK_STREAM, SOCK_DGRAM */
	uint16_t port;	   /* host order */
	uint16_t reserved; /* 0 */
	char address[64];  /* numeric, NUL-terminated, as the IR bind spells it */
};
_Static_assert(sizeof(struct gw_handoff_rec) == 72, "gw_handoff_rec layout");

/* one spliced stream: the pair bookkeeping of struct gw_splice_pair; the
 * receiver checks both fds' SO_COOKIE against it */
struct gw_handoff_stream_rec {
	uint64_t cookie[2]; /* client side, upstream side */
	uint64_t base[2];
	uint64_t user_in[2];
	uint64_t user_out[2];
	uint64_t fwd[2];
};
_Static_assert(sizeof(struct gw_handoff_stream_rec) == 80, "gw_handoff_stream_rec layout");

#endif
