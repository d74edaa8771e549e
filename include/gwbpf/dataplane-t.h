/* gwbpf/dataplane-t.h - options and read-out records of the BPF data plane.
 *
 * The data plane is the set of BPF programs and maps gwbpf pins under one
 * bpffs directory (default /sys/fs/bpf/gwbpf). Everything a reader needs
 * (`gwbpf status maps|conns`, /metrics) is readable from the pins alone, with
 * or without the daemon.
 */
#ifndef GWBPF_DATAPLANE_T_H
#define GWBPF_DATAPLANE_T_H

#include <stdbool.h>
#include <stdint.h>

#include "gwbpf/abi/maps.h"
#include "gwbpf/abi/reasons.h"

#define GW_DP_BPFFS_DEFAULT "/sys/fs/bpf/gwbpf"

/* mechanisms (gw_dataplane_opts.flags) */
#define GW_DP_F_SKMSG  0x1u /* sockops + sk_msg local bypass (needs a cgroup) */
#define GW_DP_F_STEER  0x2u /* L7 steering decision in sk_msg: recorded, not enacted (docs/bpf.md) */
#define GW_DP_F_SPLICE 0x4u /* unused here: the splice is its own object (gwbpf/splice.h) */
#define GW_DP_F_STEER_FWD 0x8u /* act on "kernel" decisions: loaned backend connections (docs/bpf.md) */
#define GW_DP_F_SCOPE_PORTS 0x100u /* bypass only sockets on a listener/backend port */
#define GW_DP_F_ALLOW_ROOT_CGROUP 0x200u /* permit attaching to a cgroup2 mount root */
#define GW_DP_F_DEFAULT GW_DP_F_SKMSG

struct gw_dataplane_opts {
	const char *bpffs;  /* pin directory; NULL = GW_DP_BPFFS_DEFAULT */
	const char *cgroup; /* cgroup v2 directory for sockops; NULL = do not attach
			       (the bypass then does nothing, maps still exist) */
	uint32_t flags;     /* GW_DP_F_*; 0 = GW_DP_F_DEFAULT */
};

struct gw_dataplane; /* opaque; gw_dataplane_open() */

/* summed over CPUs */
struct gw_dp_counter {
	uint64_t count;
	uint64_t bytes;
};

/* what the pinned objects say, read without the daemon */
struct gw_dataplane_stats {
	bool sockops_attached; /* the pinned sockops link exists */
	bool skmsg_attached;   /* the pinned sk_msg program exists */
	uint32_t n_socks;      /* sockets in the bypass sockhash */
	uint32_t n_ports;      /* entries in gw_ports */
	uint32_t flags;        /* gw_config flags (GW_CFG_F_*) */
	uint32_t scope;        /* gw_config scope (enum gw_scope) */
	uint64_t generation;   /* IR generation last synced */
	struct gw_dp_counter reasons[GW_REASON_MAX]; /* index = enum gw_reason */
};

/* L7 forwarding: requests kept in the kernel for one route match (summed over
 * CPUs); indices into the IR the daemon serves: binds[bind].listeners[listener]
 * .vhosts[vhost].matches[match] */
struct gw_dp_route_count {
	uint16_t bind, listener, vhost, match;
	uint64_t requests;
	uint64_t bytes;      /* request bytes */
	uint64_t responses;  /* responses the kernel delivered (their head written) */
	uint64_t resp_bytes; /* response bytes delivered to the client, heads included */
};

/* one socket of the bypass sockhash */
struct gw_dp_conn {
	struct gw_sock_key key; /* as the socket sees itself */
	uint64_t cookie;        /* socket cookie (SO_COOKIE) */
};

#endif
