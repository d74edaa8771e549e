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
struct gw_config {
	__u32 flags;      /* GW_CFG_F_* */
	__u32 scope;      /* enum gw_scope */
	__u64 generation; /* IR snapshot generation last synced */
};
_Static_assert(sizeof(struct gw_config) == 16, "gw_config ABI");

#endif
