/* bpf/lib/sockmap.h - socket keys for the local bypass.
 *
 * A socket's key is its 4-tuple as it sees itself plus its netns cookie; the
 * peer of the same TCP connection has the mirrored key, which is how sk_msg
 * finds where to deliver without any userspace bookkeeping. IPv4-mapped IPv6
 * addresses are folded to IPv4 so a v4 client and a dual-stack ([::]) server
 * produce mirrored keys.
 */
#ifndef GW_LIB_SOCKMAP_H
#define GW_LIB_SOCKMAP_H

#include "lib/maps.h"

/* gw_addr_set() : fills a key address from a v4 or v6 socket address.
 * ip4 and ip6 are in network order. Returns the family to store. */
static __always_inline __u16 gw_addr_set(__u32 *dst, __u32 family, __u32 ip4, const __u32 *ip6)
{
	if (family == AF_INET) {
		dst[0] = ip4;
		return GW_AF_INET;
	}
	if (ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff)) {
		dst[0] = ip6[3];
		return GW_AF_INET;
	}
	dst[0] = ip6[0];
	dst[1] = ip6[1];
	dst[2] = ip6[2];
	dst[3] = ip6[3];
	return GW_AF_INET6;
}

/* gw_ctx_sock_key() : into struct gw_sock_key *k, the key of the socket a
 * bpf_sock_ops or sk_msg_md ctx belongs to (mirror false), or of the other end
 * of its connection (mirror true, a constant). Both context types carry the
 * same address fields: local port in host order, remote port in network order
 * in the upper 16 bits of a 32-bit field. A macro because they share field
 * names, not a type. */
#define gw_ctx_sock_key(ctx, k, mirror)                                                            \
	do {                                                                                       \
		__u32 lip6_[4] = {(ctx)->local_ip6[0], (ctx)->local_ip6[1], (ctx)->local_ip6[2],   \
				  (ctx)->local_ip6[3]};                                            \
		__u32 rip6_[4] = {(ctx)->remote_ip6[0], (ctx)->remote_ip6[1],                      \
				  (ctx)->remote_ip6[2], (ctx)->remote_ip6[3]};                     \
		__u32 fam_ = (ctx)->family;                                                        \
                                                                                                   \
		(k)->netns = bpf_get_netns_cookie(ctx);                                            \
		if (mirror) {                                                                      \
			(k)->family = gw_addr_set((k)->local_ip, fam_, (ctx)->remote_ip4, rip6_);  \
			gw_addr_set((k)->remote_ip, fam_, (ctx)->local_ip4, lip6_);                \
			(k)->local_port = (__u16)bpf_ntohl((ctx)->remote_port);                    \
			(k)->remote_port = (__u16)(ctx)->local_port;                               \
		} else {                                                                           \
			(k)->family = gw_addr_set((k)->local_ip, fam_, (ctx)->local_ip4, lip6_);   \
			gw_addr_set((k)->remote_ip, fam_, (ctx)->remote_ip4, rip6_);               \
			(k)->local_port = (__u16)(ctx)->local_port;                                \
			(k)->remote_port = (__u16)bpf_ntohl((ctx)->remote_port);                   \
		}                                                                                  \
	} while (0)

/* gw_addr_is_loopback() : 127.0.0.0/8 or ::1 */
static __always_inline bool gw_addr_is_loopback(__u16 family, const __u32 *a)
{
	if (family == GW_AF_INET)
		return (bpf_ntohl(a[0]) >> 24) == 127;
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1);
}

/* gw_key_is_local() : both ends on this host's loopback, i.e. the peer socket
 * can only be a local process (the only case sk_msg can short-circuit) */
static __always_inline bool gw_key_is_local(const struct gw_sock_key *k)
{
	return gw_addr_is_loopback(k->family, k->local_ip) &&
	       gw_addr_is_loopback(k->family, k->remote_ip);
}

/* gw_port_known() : port is in gw_ports (a listener or local backend) */
static __always_inline bool gw_port_known(__u32 port)
{
	return bpf_map_lookup_elem(&gw_ports, &port) != NULL;
}

#endif
