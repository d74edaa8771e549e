/* bpf/lib/xdp_parse.h - header walk for the XDP ingress program.
 *
 * Reads only as far as it needs to name a packet's (destination address,
 * port, protocol) and source address, and gives up with a PASS reason
 * whenever it cannot be sure: the program never drops what it could not
 * parse. Handles 802.1Q/802.1ad tags (two at most, i.e. QinQ), IPv4 options
 * (through ihl), IPv6 extension headers (a bounded number) and fragments
 * (non-first ones carry no ports and pass; a first fragment is judged only
 * when its L4 header is complete).
 */
#ifndef GW_BPF_XDP_PARSE_H
#define GW_BPF_XDP_PARSE_H

#include "gwbpf/abi/xdp.h"

#define GW_ETH_P_IP     0x0800
#define GW_ETH_P_IPV6   0x86DD
#define GW_ETH_P_8021Q  0x8100
#define GW_ETH_P_8021AD 0x88A8

#define GW_IPPROTO_HOPOPTS  0
#define GW_IPPROTO_TCP      6
#define GW_IPPROTO_UDP      17
#define GW_IPPROTO_ROUTING  43
#define GW_IPPROTO_FRAGMENT 44
#define GW_IPPROTO_AH       51
#define GW_IPPROTO_DSTOPTS  60

#define GW_XDP_MAX_VLAN   2 /* QinQ */
#define GW_XDP_MAX_EXTHDR 6 /* IPv6 extension headers walked before giving up */

#define GW_TCP_FLAG_SYN 0x02
#define GW_TCP_FLAG_ACK 0x10

struct gw_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct gw_ip6_opt {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct gw_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | flags */
	__be32 id;
};

/* what the parser learnt about one packet */
struct gw_xdp_pkt {
	struct gw_xdp_lkey key; /* destination (address, port, proto) */
	struct gw_xdp_src src;  /* source address, IPv4 as ::ffff:a.b.c.d */
	__u8 tcp_flags;         /* byte 13 of the TCP header; 0 for UDP */
};

/* gw_xdp_parse() : fills *p for a TCP or UDP packet whose headers are all
 * present and returns 0; otherwise returns the GW_XDP_PASS_* reason the
 * packet passes for. Reads only within [data, data_end). */
static __always_inline int gw_xdp_parse(void *data, void *data_end, struct gw_xdp_pkt *p)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;
	__u8 l4;
	int i;

	if ((void *)(eth + 1) > data_end)
		return GW_XDP_PASS_TRUNCATED;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < GW_XDP_MAX_VLAN; i++) {
		struct gw_vlan_hdr *vh = data + off;

		if (proto != bpf_htons(GW_ETH_P_8021Q) && proto != bpf_htons(GW_ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return GW_XDP_PASS_TRUNCATED;
		proto = vh->encap_proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(GW_ETH_P_8021Q) || proto == bpf_htons(GW_ETH_P_8021AD))
		return GW_XDP_PASS_UNKNOWN;

	if (proto == bpf_htons(GW_ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return GW_XDP_PASS_TRUNCATED;
		if (ip->version != 4)
			return GW_XDP_PASS_UNKNOWN;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return GW_XDP_PASS_UNKNOWN;
		if (data + off + ihl > data_end)
			return GW_XDP_PASS_TRUNCATED;
		/* a fragment offset means no L4 header in this packet */
		if (ip->frag_off & bpf_htons(0x1fff))
			return GW_XDP_PASS_FRAGMENT;
		l4 = ip->protocol;
		p->key.family = GW_XDP_FAMILY_INET;
		p->key.addr[0] = ip->daddr;
		p->src.addr[2] = bpf_htonl(0xffff);
		p->src.addr[3] = ip->saddr;
		off += ihl;
	} else if (proto == bpf_htons(GW_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return GW_XDP_PASS_TRUNCATED;
		if (ip6->version != 6)
			return GW_XDP_PASS_UNKNOWN;
		l4 = ip6->nexthdr;
		p->key.family = GW_XDP_FAMILY_INET6;
		__builtin_memcpy(p->key.addr, &ip6->daddr, 16);
		__builtin_memcpy(p->src.addr, &ip6->saddr, 16);
		off += sizeof(*ip6);

#pragma unroll
		for (i = 0; i < GW_XDP_MAX_EXTHDR; i++) {
			struct gw_ip6_opt *opt = data + off;
			struct gw_ip6_frag *fh = data + off;

			if (l4 == GW_IPPROTO_HOPOPTS || l4 == GW_IPPROTO_ROUTING ||
			    l4 == GW_IPPROTO_DSTOPTS) {
				if ((void *)(opt + 1) > data_end)
					return GW_XDP_PASS_TRUNCATED;
				l4 = opt->nexthdr;
				off += ((__u32)opt->hdrlen + 1) * 8;
			} else if (l4 == GW_IPPROTO_AH) {
				if ((void *)(opt + 1) > data_end)
					return GW_XDP_PASS_TRUNCATED;
				l4 = opt->nexthdr;
				off += ((__u32)opt->hdrlen + 2) * 4;
			} else if (l4 == GW_IPPROTO_FRAGMENT) {
				if ((void *)(fh + 1) > data_end)
					return GW_XDP_PASS_TRUNCATED;
				if (fh->frag_off & bpf_htons(0xfff8))
					return GW_XDP_PASS_FRAGMENT;
				l4 = fh->nexthdr;
				off += sizeof(*fh);
			} else {
				break;
			}
		}
		/* more extension headers than we walk: cannot see the ports */
		if (l4 == GW_IPPROTO_HOPOPTS || l4 == GW_IPPROTO_ROUTING ||
		    l4 == GW_IPPROTO_DSTOPTS || l4 == GW_IPPROTO_AH || l4 == GW_IPPROTO_FRAGMENT)
			return GW_XDP_PASS_UNKNOWN;
	} else {
		return GW_XDP_PASS_NOT_IP;
	}

	p->key.proto = l4;
	if (l4 == GW_IPPROTO_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end)
			return GW_XDP_PASS_TRUNCATED;
		p->key.port = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else if (l4 == GW_IPPROTO_UDP) {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end)
			return GW_XDP_PASS_TRUNCATED;
		p->key.port = uh->dest;
	} else {
		return GW_XDP_PASS_NOT_LISTENER;
	}
	return 0;
}

#endif
