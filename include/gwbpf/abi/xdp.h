/* gwbpf/abi/xdp.h - the kernel/user ABI of the XDP ingress program.
 *
 * Map keys, values, reason codes and config shared by bpf/xdp_ingress.bpf.c
 * and userspace/dataplane/xdp.c. Compiled by clang -target bpf (after
 * vmlinux.h) and by cc (with <linux/types.h>), so it uses only __u8..__u64,
 * pads explicitly and pins every layout with _Static_assert. A layout change
 * renames the map (suffix _v2, ...) so a restarted daemon never reuses a
 * pinned map of the old shape.
 */
#ifndef GWBPF_ABI_XDP_H
#define GWBPF_ABI_XDP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* where the maps are pinned; one file per map, named after the map */
#define GW_XDP_PIN_DIR "/sys/fs/bpf/gwbpf/xdp"
/* the BPF program's name, used to recognise our program on an interface */
#define GW_XDP_PROG_NAME "gw_xdp_ingress"

#define GW_XDP_MAX_LISTENERS 4096  /* (address, port, proto) keys */
#define GW_XDP_MAX_SOURCES   131072 /* SYN token buckets (LRU) */
#define GW_XDP_MAX_DENY      16384  /* CIDRs per family */

/* defaults: well above what one normal client opens (a browser opens ~6
 * connections per origin), low enough to stop one source from filling the
 * SYN queue */
#define GW_XDP_DEF_SYN_RATE  100 /* SYNs per second per source address */
#define GW_XDP_DEF_SYN_BURST 200 /* SYNs a source may send at once */

#define GW_XDP_FAMILY_INET  4
#define GW_XDP_FAMILY_INET6 6

/* listener key: (destination address, port, protocol) as the packet shows it.
 * An all-zero address is the wildcard of its family (bind to 0.0.0.0 / ::);
 * the program looks up the exact address first, then the wildcard. */
struct gw_xdp_lkey {
	__u32 addr[4]; /* network order; IPv4 uses addr[0], the rest is zero */
	__u16 port;    /* network order, as on the wire */
	__u8 family;   /* GW_XDP_FAMILY_INET or GW_XDP_FAMILY_INET6 */
	__u8 proto;    /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
};
_Static_assert(sizeof(struct gw_xdp_lkey) == 20, "gw_xdp_lkey layout");

/* per-CPU value of the listener map: presence of the key makes it a listener */
struct gw_xdp_lstats {
	__u64 packets; /* every frame for this listener, dropped ones included */
	__u64 bytes;   /* frame bytes (L2 header included) of those packets */
	__u64 syns;    /* TCP SYN (without ACK) among them */
	__u64 drops;   /* dropped, whatever the reason */
};
_Static_assert(sizeof(struct gw_xdp_lstats) == 32, "gw_xdp_lstats layout");

/* LPM keys of the deny tries; prefixlen counts bits of addr */
struct gw_xdp_lpm4 {
	__u32 prefixlen;
	__u32 addr; /* network order */
};
_Static_assert(sizeof(struct gw_xdp_lpm4) == 8, "gw_xdp_lpm4 layout");

struct gw_xdp_lpm6 {
	__u32 prefixlen;
	__u32 addr[4]; /* network order */
};
_Static_assert(sizeof(struct gw_xdp_lpm6) == 20, "gw_xdp_lpm6 layout");

/* SYN token bucket key: the source address, IPv4 as ::ffff:a.b.c.d */
struct gw_xdp_src {
	__u32 addr[4];
};
_Static_assert(sizeof(struct gw_xdp_src) == 16, "gw_xdp_src layout");

/* token bucket in time units: credit grows by 1 ns per ns, a SYN costs
 * cost_ns = 1e9 / rate, and credit never exceeds burst * cost_ns. Keeping
 * time as the currency avoids divisions in the program. */
struct gw_xdp_bucket {
	__u64 last_ns;   /* bpf_ktime_get_ns() of the last refill */
	__u64 credit_ns; /* available credit */
};
_Static_assert(sizeof(struct gw_xdp_bucket) == 16, "gw_xdp_bucket layout");

/* the one entry of the config array */
struct gw_xdp_config {
	__u64 syn_cost_ns; /* 1e9 / rate; 0 disables SYN rate limiting */
	__u64 syn_cap_ns;  /* burst * syn_cost_ns */
	__u32 syn_rate;    /* as configured, for status */
	__u32 syn_burst;   /* as configured, for status */
	__u32 flags;       /* GW_XDP_F_* */
	__u32 _pad;
};
_Static_assert(sizeof(struct gw_xdp_config) == 32, "gw_xdp_config layout");

#define GW_XDP_F_DENY   (1U << 0) /* consult the deny tries */

/* reasons: index of the per-CPU verdict counters. Values never overlap the
 * XDP_* actions (0..4), so a reason is never mistaken for a verdict. */
enum gw_xdp_reason {
	GW_XDP_DROP_DENY = 8,      /* source in a deny CIDR, listener port */
	GW_XDP_DROP_SYN_RATE,      /* SYN over the source's rate limit */
	GW_XDP_PASS_LISTENER = 16, /* listener traffic that was allowed */
	GW_XDP_PASS_NOT_IP,        /* not IPv4/IPv6 (ARP, LLDP, ...) */
	GW_XDP_PASS_NOT_LISTENER,  /* IP, but no listener matches */
	GW_XDP_PASS_FRAGMENT,      /* non-first fragment: no ports to judge */
	GW_XDP_PASS_TRUNCATED,     /* a header is cut short: cannot judge */
	GW_XDP_PASS_UNKNOWN,       /* too many VLAN tags / IPv6 extension headers, ESP, bad ihl */
	GW_XDP_REASON_MAX = 32,
};

#endif
