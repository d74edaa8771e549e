/* gwbpf/abi/reasons.h - reason codes shared by the BPF programs and userspace.
 *
 * Every verdict a gwbpf BPF program takes is counted under one of these codes
 * in the per-CPU gw_counters map (key = the code itself), so the same enum is
 * both the program's vocabulary and the metric names `gwbpf status maps` and
 * /metrics print. Codes start at GW_REASON_BASE so they can never be confused
 * with SK_DROP/SK_PASS (0/1) or XDP_* actions (0..4) when a program returns
 * or logs one by mistake. Append only: a code's number is ABI.
 */
#ifndef GWBPF_ABI_REASONS_H
#define GWBPF_ABI_REASONS_H

#define GW_REASON_BASE 32

enum gw_reason {
	/* sockops */
	GW_VERDICT_SOCK_INSERT = GW_REASON_BASE, /* socket entered the sockhash */
	GW_VERDICT_SOCK_SKIP_NONLOCAL,           /* a peer address is not loopback */
	GW_VERDICT_SOCK_SKIP_PORT,               /* scope PORTS and no gwbpf port on it */
	GW_DROP_SOCK_INSERT_FAIL,                /* sockhash update failed (map full):
						    the socket just stays on plain TCP */
	/* sk_msg */
	GW_VERDICT_MSG_REDIRECT,  /* sendmsg delivered into the peer's receive queue */
	GW_VERDICT_MSG_PASS_MISS, /* peer not in the sockhash: normal TCP path */
	GW_VERDICT_MSG_PASS_OFF,  /* bypass switched off in gw_config: normal TCP path */
	/* sk_msg L7 steering decision (GW_CFG_F_STEER), one per message a
	 * local client writes to a Gateway listener socket */
	GW_VERDICT_STEER_KERNEL,     /* the kernel could route it alone (route maps) */
	GW_VERDICT_STEER_USER_PARSE, /* head outside the plain subset (bpf/lib/http.h) */
	GW_VERDICT_STEER_USER_ROUTE, /* the route needs userspace, or nothing matched */
	GW_VERDICT_STEER_USER_TABLE, /* route table changed during the decision */
	/* sk_msg L7 forwarding (GW_CFG_F_STEER_FWD, docs/bpf.md "L7 forwarding") */
	GW_VERDICT_STEER_FWD,        /* request delivered to a loaned backend socket */
	GW_VERDICT_STEER_USER_BUSY,  /* proxy or kernel still busy on this connection */
	GW_VERDICT_STEER_USER_LOAN,  /* no idle loaned connection for the cluster */
	GW_DROP_STEER_FWD_FAIL,      /* map or redirect failure: passed to the proxy */
	GW_VERDICT_STEER_RESP,       /* response bytes delivered backend -> client */
	GW_VERDICT_STEER_RESP_DONE,  /* responses completed (loan returned) */
	GW_VERDICT_STEER_RESP_UNFRAMED, /* response the kernel cannot frame: the
					   connection ends after it (proxy closes) */
	GW_DROP_STEER_RESP_LOST,     /* response bytes for a client that is gone */
	GW_VERDICT_STEER_RESP_HANDBACK, /* response bytes handed back to the daemon's end of
					   the loan: the proxy has bytes to follow them */
	GW_VERDICT_STEER_RESP_TAIL,  /* responses that ended handed back (the proxy reads
					their tail, then writes its own bytes) */

	GW_REASON_END, /* one past the last code in use */
};

/* the counters map has this many slots; room to append codes without a resize */
#define GW_REASON_MAX 64

#endif
