/* gwbpf/abi/maps.h - BPF map keys, values and config shared with userspace.
 *
 * Compiled by clang -target bpf and by cc: only __u8..__u64, explicit
 * padding, and a _Static_assert on every size so a layout change cannot slip
 * through on one side only. Changing a layout means a new map name (_v2) so a
 * restarted daemon never adopts a pinned map of the old shape.
 */
#ifndef GWBPF_ABI_MAPS_H
#define GWBPF_ABI_MAPS_H

#ifdef __bpf__
/* vmlinux.h already defines the __uN types */
#else
#include <linux/types.h>
#endif

#include "gwbpf/abi/reasons.h"

/* pinned object names (at most 15 characters: the kernel truncates map names) */
#define GW_PIN_SOCK_HASH  "gw_sock_hash"
#define GW_PIN_COUNTERS   "gw_counters"
#define GW_PIN_PORTS      "gw_ports"
#define GW_PIN_CONFIG     "gw_config"
#define GW_PIN_SKMSG_PROG "gw_skmsg_prog"
#define GW_PIN_SOCKOPS    "gw_sockops_link"

#define GW_SOCK_HASH_MAX 65536 /* sockets; a full map means plain TCP, never an error */
#define GW_PORTS_MAX     4096

#define GW_AF_INET  2  /* AF_INET, spelled out: the BPF side has no libc */
#define GW_AF_INET6 10 /* AF_INET6 */

/* One TCP socket in the bypass sockhash, as seen from that socket.
 * Addresses are in network byte order (IPv4 in addr[0], rest zero); ports in
 * host byte order. The netns cookie keeps two namespaces that reuse the same
 * loopback 4-tuple apart (sk_msg redirect does not check namespaces).
 * The peer socket's key is the same with local/remote swapped. */
struct gw_sock_key {
	__u64 netns;         /* bpf_get_netns_cookie() of the socket */
	__u32 local_ip[4];
	__u32 remote_ip[4];
	__u16 local_port;
	__u16 remote_port;
	__u16 family;        /* GW_AF_INET or GW_AF_INET6 */
	__u16 pad;           /* always 0: part of the hashed key */
};
_Static_assert(sizeof(struct gw_sock_key) == 48, "gw_sock_key ABI");

/* per-CPU value of gw_counters[reason] */
struct gw_counter {
	__u64 count; /* events (inserts, messages) */
	__u64 bytes; /* payload bytes where the event carries any */
};
_Static_assert(sizeof(struct gw_counter) == 16, "gw_counter ABI");

/* gw_ports: key = TCP port (host order), value = what uses it */
#define GW_PORT_LISTENER 0x1u /* a Gateway listener port */
#define GW_PORT_BACKEND  0x2u /* a local (loopback) backend endpoint port */
struct gw_port_val {
	__u32 flags; /* GW_PORT_* */
	__u32 pad;
};
_Static_assert(sizeof(struct gw_port_val) == 8, "gw_port_val ABI");

/* gw_config[0]: runtime switches, changed without reloading programs */
enum gw_scope {
	GW_SCOPE_LOOPBACK = 0, /* every loopback TCP socket of the cgroup (default) */
	GW_SCOPE_PORTS = 1,    /* only sockets with a gw_ports port at either end */
};
#define GW_CFG_F_BYPASS 0x1u /* sk_msg redirects; clear = everything takes plain TCP */
#define GW_CFG_F_STEER  0x2u /* sk_msg computes the L7 steering decision (docs/bpf.md) */
struct gw_config {
	__u32 flags;      /* GW_CFG_F_* */
	__u32 scope;      /* enum gw_scope */
	__u64 generation; /* IR snapshot generation last synced */
};
_Static_assert(sizeof(struct gw_config) == 16, "gw_config ABI");

/* ---- L7 steering route tables (compiled from the IR by maps.c) ----
 *
 * The kernel repeats gw_router_match() with lookups: bind (the listener
 * socket the client wrote to) -> listener (host pattern, most specific
 * first) -> vhost (host pattern) -> the vhost's matches in precedence order,
 * first match wins. Every key carries a table generation bit; userspace
 * writes a whole new table under the idle bit, bumps gw_rt_epoch (whose low
 * bit selects the live table) and only then deletes the old one. A program
 * reads the epoch before and after its lookups and gives the message to the
 * proxy if it changed, so no decision is ever taken on a half-written or
 * half-deleted table.
 */
#define GW_PIN_RT_EPOCH  "gw_rt_epoch"
#define GW_PIN_RT_BIND   "gw_rt_bind"
#define GW_PIN_RT_HOST   "gw_rt_host"
#define GW_PIN_RT_VHOST  "gw_rt_vhost"
#define GW_PIN_STEER_REC "gw_steer_last"

#define GW_RT_HOST_LEN  64   /* host pattern bytes in a key (== GW_HTTP_HOST_MAX) */
#define GW_RT_PATH_LEN  128  /* path bytes of a match (== GW_HTTP_PATH_MAX) */
#define GW_RT_MATCHES   32   /* matches per vhost the kernel walks; a power of two */
#define GW_RT_BINDS_MAX 1024
#define GW_RT_HOSTS_MAX 16384
#define GW_RT_VHOSTS_MAX 4096

#define GW_RT_F_USERSPACE 0x1u /* everything under this entry goes to the proxy */
#define GW_RT_SCOPE_LISTENER 0x80000000u /* host key scope: listener id (else bind id) */

/* gw_rt_epoch[0]: 0 = no table yet; the live table is generation (epoch & 1) */
struct gw_rt_epoch {
	__u64 epoch;
};
_Static_assert(sizeof(struct gw_rt_epoch) == 8, "gw_rt_epoch ABI");

/* the listening socket: address in network order, all zero = wildcard
 * (0.0.0.0 or ::); port in host order */
struct gw_rt_bind_key {
	__u32 gen;
	__u16 port;
	__u16 family; /* GW_AF_INET or GW_AF_INET6 */
	__u32 ip[4];
};
_Static_assert(sizeof(struct gw_rt_bind_key) == 24, "gw_rt_bind_key ABI");

/* host pattern under a scope: exact lowercase host, "*" + ".suffix" for a
 * wildcard, or len 0 for "any host"; bytes after len are zero */
struct gw_rt_host_key {
	__u32 gen;
	__u32 scope; /* bind id, or GW_RT_SCOPE_LISTENER | listener id */
	__u32 len;
	__u32 pad;
	__u8 host[GW_RT_HOST_LEN];
};
_Static_assert(sizeof(struct gw_rt_host_key) == 80, "gw_rt_host_key ABI");

/* value of a bind (id = bind id) or host entry (id = listener or vhost id) */
struct gw_rt_id {
	__u32 id;
	__u32 flags; /* GW_RT_F_* */
	__u16 index; /* position in the IR array (listener or vhost): for the record */
	__u16 pad[3];
};
_Static_assert(sizeof(struct gw_rt_id) == 16, "gw_rt_id ABI");

enum gw_rt_kind {
	GW_RT_M_EXACT = 1,  /* path equals */
	GW_RT_M_PREFIX = 2, /* path prefix by element (gw_router_path_prefix_match) */
	GW_RT_M_STOP = 3,   /* a match the kernel cannot evaluate: reaching it = proxy */
};
#define GW_RT_M_KERNEL 0x80u /* or'ed into kind: the kernel may decide this match */

struct gw_rt_match {
	__u8 kind;    /* enum gw_rt_kind | GW_RT_M_KERNEL */
	__u8 pad;
	__u16 len;    /* path bytes (prefix: without trailing slashes) */
	__u16 index;  /* position in gw_ir_vhost.matches */
	__u16 pad2;
	__s32 cluster; /* GW_RT_M_KERNEL: the one backend's cluster index */
	__u8 path[GW_RT_PATH_LEN];
};
_Static_assert(sizeof(struct gw_rt_match) == 140, "gw_rt_match ABI");

struct gw_rt_vhost_key {
	__u32 gen;
	__u32 id;
};
_Static_assert(sizeof(struct gw_rt_vhost_key) == 8, "gw_rt_vhost_key ABI");

struct gw_rt_vhost {
	__u32 n; /* entries in m; a walk past n means "proxy" (404 or later match) */
	__u32 pad;
	struct gw_rt_match m[GW_RT_MATCHES];
};
_Static_assert(sizeof(struct gw_rt_vhost) == 8 + 140 * GW_RT_MATCHES, "gw_rt_vhost ABI");

/* gw_steer_last[0]: the last steering decision (tests and debugging) */
struct gw_steer_rec {
	__u64 seq;      /* decisions taken so far */
	__u64 epoch;    /* route table epoch it used */
	__u32 verdict;  /* GW_VERDICT_STEER_* */
	__u32 refuse;   /* parser reason (enum gw_http_refuse), 0 when parsed */
	__u32 size;     /* message bytes */
	__u16 listener; /* IR indices of the route (valid for STEER_KERNEL) */
	__u16 vhost;
	__u16 match;
	__u16 port;
	__s32 cluster;
};
_Static_assert(sizeof(struct gw_steer_rec) == 40, "gw_steer_rec ABI");

/* ---- L7 forwarding: loaned backend connections (docs/bpf.md) ----
 *
 * The daemon keeps idle connections to the local endpoints of clusters the
 * kernel may route to, and lends them to sk_msg: gw_loan holds one slot per
 * loaned connection, keyed in gw_loan_key by the backend's accepted socket
 * (the socket requests are delivered into). A slot's state word is only
 * changed by compare-and-swap, from BPF and from userspace (the array is
 * mmapable): (seq << 8) | enum gw_loan_state, seq bumped on every take so a
 * stale "kill" by the proxy never hits a later borrower.
 */
#define GW_CFG_F_STEER_FWD 0x4u /* sk_msg acts on "kernel": forwards through a loan */

#define GW_PIN_LOAN      "gw_loan"
#define GW_PIN_LOAN_KEY  "gw_loan_key"
#define GW_PIN_LOAN_DIR  "gw_loan_dir_v2" /* v2: 64 slots per cluster */
#define GW_PIN_STEER_CON "gw_steer_conn"
#define GW_PIN_STEER_ACK "gw_steer_ack"
#define GW_PIN_ROUTE_CNT "gw_route_cnt"
#define GW_PIN_ROUTE_RESP "gw_route_resp" /* responses per route (struct gw_counter) */
#define GW_PIN_LOAN_ROUTE "gw_loan_route" /* slot -> struct gw_route_key of its request */
#define GW_PIN_STEER_WANT "gw_steer_want" /* client key -> loan state word the proxy waits on */
#define GW_PIN_LOAN_TAIL "gw_loan_tail"   /* slot -> response bytes handed back to the daemon */

#define GW_LOAN_SLOTS    1024 /* loaned connections in all */
#define GW_LOAN_CLUSTERS 1024 /* cluster indices the directory covers */
#define GW_LOAN_PER_DIR  64   /* slots listed per cluster; a power of two */
#define GW_STEER_CONNS   65536
#define GW_ROUTE_CNT_MAX 4096

enum gw_loan_state {
	GW_LOAN_EMPTY = 0, /* no connection */
	GW_LOAN_FREE = 1,  /* idle, may be taken by sk_msg */
	GW_LOAN_BUSY = 2,  /* carrying one request/response for a client */
	GW_LOAN_DEAD = 3,  /* must be closed by the daemon (client gone mid-response, ...) */
	GW_LOAN_TAIL = 4,  /* response over, its last gw_loan_tail[slot] bytes handed back to
			      the daemon's end: the proxy reads them, then sets it FREE */
	GW_LOAN_TAIL_READ = 5, /* TAIL, and a proxy worker is reading the daemon's end right
				  now: nobody else may end the loan or close its socket */
};
#define GW_LOAN_ST(w)  ((__u32)((w) & 0xff))
#define GW_LOAN_SEQ(w) ((w) >> 8)

#define GW_LOAN_F_HEAD     0x1u /* the request was HEAD: the response has no body */
#define GW_LOAN_F_BODY     0x2u /* response head seen, body_left bytes to go */
#define GW_LOAN_F_UNFRAMED 0x4u /* response framing unknown: forwarded until the end */
#define GW_LOAN_F_HANDBACK 0x8u /* the rest of this response goes to the daemon's end */

struct gw_loan_slot {
	__u64 state;               /* (seq << 8) | enum gw_loan_state; CAS only */
	__u64 epoch;               /* route table epoch the slot was listed for */
	__u64 body_left;           /* response body bytes still to come */
	__u32 flags;               /* GW_LOAN_F_* of the current loan */
	__s32 cluster;             /* cluster index (for the record) */
	struct gw_sock_key backend; /* the backend's accepted socket */
	struct gw_sock_key client;  /* borrower's client socket (as it sees itself) */
};
_Static_assert(sizeof(struct gw_loan_slot) == 128, "gw_loan_slot ABI");

/* gw_loan_dir_v2[cluster]: the slots lent for a cluster in table epoch `epoch` */
struct gw_loan_dir {
	__u64 epoch; /* 0 = none */
	__u32 n;     /* used entries of slot[] */
	__u32 rr;    /* where the next take starts (racy on purpose: only a hint) */
	__u32 slot[GW_LOAN_PER_DIR];
};
_Static_assert(sizeof(struct gw_loan_dir) == 16 + 4 * GW_LOAN_PER_DIR, "gw_loan_dir ABI");

/* gw_steer_conn[client socket key]: per client connection, kernel-written */
#define GW_SC_F_UNFRAMED 0x1u /* a steered response could not be framed */
struct gw_steer_conn {
	__u64 passed;   /* bytes given to the proxy (the proxy acks them when idle) */
	__u64 kreq;     /* requests forwarded by the kernel */
	__u64 kbytes;   /* request bytes forwarded by the kernel */
	__u64 seq;      /* state word of the in-flight loan (its BUSY value) */
	__u32 inflight; /* slot + 1 while a forwarded response is in flight, else 0 */
	__u32 flags;    /* GW_SC_F_* */
};
_Static_assert(sizeof(struct gw_steer_conn) == 40, "gw_steer_conn ABI");

/* gw_steer_ack[client socket key] = bytes the proxy has read and fully
 * answered (written by the proxy when idle); the kernel forwards only while
 * gw_steer_conn.passed equals it, so it never overtakes the proxy */

/* gw_steer_want[client socket key] = the state word (gw_steer_conn.seq) of
 * the in-flight loan whose response the proxy must follow with bytes of its
 * own (a pipelined request's answer, its FIN): written by the proxy, read by
 * sk_msg, which from then on hands the response's remaining writes back to
 * the daemon's end of the loan instead of the client (GW_LOAN_F_HANDBACK),
 * counts them in gw_loan_tail[slot] and ends the response in GW_LOAN_TAIL.
 * The proxy then reads exactly that many bytes and writes them itself, so
 * its own bytes follow the response's by construction (docs/bpf.md
 * "Hand-back"). */

/* gw_route_cnt: per-CPU, key = route, value = struct gw_counter (requests and
 * request bytes forwarded by the kernel) */
struct gw_route_key {
	__u16 listener; /* IR indices, as in gw_steer_rec: listener in its bind, */
	__u16 vhost;    /* vhost in its listener, match in its vhost */
	__u16 match;
	__u16 bind;     /* bind index in the IR */
};
_Static_assert(sizeof(struct gw_route_key) == 8, "gw_route_key ABI");

/* gw_route_resp: per-CPU, key = struct gw_route_key, value = struct gw_counter
 * (count: responses the kernel framed to their end; bytes: every response
 * byte it delivered to the client, head included). gw_loan_route[slot] is the
 * route of the request a busy loan is answering (written when it is taken). */

/* gw_route_names[struct gw_route_key]: written by userspace only, read by no
 * program. The names of gw_route_cnt's keys in the snapshot last synced, so
 * `gwbpf status maps` can name the kernel's per-route counters while the
 * daemon is down. Strings are NUL-terminated (cut to fit). */
#define GW_PIN_ROUTE_NAMES "gw_route_names"
#define GW_ROUTE_NAME_F_KERNEL_OK 0x1u /* the rule is kernel-routable */
struct gw_route_name {
	__u64 generation; /* IR generation that wrote it */
	__u64 stamp;      /* CLOCK_MONOTONIC ns of the sync that wrote it: unlike
			     the generation, unique across daemon restarts */
	__u32 rule;       /* rule index in the route */
	__u32 flags;      /* GW_ROUTE_NAME_F_* */
	char route[128];    /* "ns/name" */
	char listener[128]; /* "ns/gateway/section" */
	char host[96];      /* vhost hostname, "*" for any */
	char path[96];      /* "PathPrefix /a", "Exact /x", "RegularExpression ..." */
};
_Static_assert(sizeof(struct gw_route_name) == 472, "gw_route_name ABI");

#endif
