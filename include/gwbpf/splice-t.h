/* gwbpf/splice-t.h - the sk_skb splice: per-pair state and read-out records
 * (API in gwbpf/splice.h, design in docs/bpf.md "sk_skb splice"). */
#ifndef GWBPF_SPLICE_T_H
#define GWBPF_SPLICE_T_H

#include <stdbool.h>
#include <stdint.h>

#include "gwbpf/abi/splice.h"

struct gw_splice; /* process-wide; gw_splice_open() */

struct gw_splice_opts {
	const char *bpffs;    /* pin directory; NULL = GW_DP_BPFFS_DEFAULT */
	uint32_t max_entries; /* sockhash size; 0 = GW_SPLICE_MAX (tests use tiny maps) */
	bool no_selfcheck;    /* skip the startup transfer (unit tests) */
	bool keep_pairs;      /* the pair entries found belong to a running predecessor that
				 hands its streams over (gwbpf/handoff.h): not flushed */
};

/* One spliced pair, embedded in the caller's connection (no allocation).
 * Side 0 and 1 are the two sockets; "from i" means bytes read on fd[i] and
 * written to fd[1 - i]. All-zero = not paired. */
struct gw_splice_pair {
	int fd[2];
	uint64_t cookie[2];   /* SO_COOKIE */
	uint64_t base[2];     /* bytes ever written into fd[i] (acked + queued) at pairing */
	uint64_t user_in[2];  /* bytes the caller read from fd[i] since pairing */
	uint64_t user_out[2]; /* bytes the caller wrote into fd[i] since pairing */
	uint64_t fwd[2];      /* last gw_splice_peer.fwd published for side i */
	uint64_t eof_ms[2];   /* when the drain wait for side i began (0 = not yet) */
	bool paired;
	bool user_only[2]; /* accounting broke: side i stays in userspace */
};

/* One body splice (gw_body_splice_start()), embedded in the caller's
 * request (no allocation). All-zero = none. */
struct gw_body_splice {
	int fd_in, fd_out;     /* the body arrives on fd_in, leaves on fd_out */
	uint64_t cookie_in;    /* SO_COOKIE of fd_in (gw_body_left key) */
	uint64_t cookie_out;   /* SO_COOKIE of fd_out (gw_body_out key) */
	uint64_t base_out;     /* bytes ever written into fd_out at the start */
	uint64_t budget;       /* bytes handed to the kernel */
	uint64_t user_in;      /* bytes the caller read from fd_in since the start */
	uint64_t seen_left;    /* budget left at the last gw_body_splice_progress() */
	uint64_t drain_ms;     /* when the drain last progressed (0 = no wait yet) */
	uint64_t drain_w;      /* fd_out's written count then */
	bool on;
};

/* one spliced direction (gw_splice_conns()) */
struct gw_splice_conn {
	uint64_t cookie;  /* socket the bytes arrive on */
	uint64_t peer;	  /* socket they leave on */
	uint64_t passed;  /* bytes handed to userspace since pairing */
	uint64_t redir;	  /* bytes the kernel forwarded since pairing */
	bool handed_over; /* the kernel forwards this direction now */
};

/* gw_splice_read_stats() output */
struct gw_splice_stats {
	bool loaded;			/* the pinned program and maps exist */
	uint32_t n_socks;		/* sockets in gw_splice_hash now */
	uint32_t n_pairs;		/* directions in gw_splice_peer now */
	uint64_t v[GW_SPLICE_STAT_MAX]; /* enum gw_splice_stat */
};

#endif
