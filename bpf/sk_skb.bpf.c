/* sk_skb.bpf.c - the splice: every skb received on a spliced socket is
 * redirected to the egress of its paired socket (bpf_sk_redirect_hash with
 * flags 0), so the bytes of an opaque stream never enter userspace.
 *
 * Attached as BPF_SK_SKB_VERDICT (no strparser: the stream is opaque, and the
 * parser costs ~10 us per skb, ../shared/research/sockmap-prototype.md).
 * Everything that is not plainly "bytes of a paired socket whose userspace
 * backlog is forwarded" is passed up (SK_PASS) to the userspace relay, which
 * still owns both sockets: unpaired sockets, bytes while userspace still
 * forwards older ones (abi/splice.h), and bytes whose peer is already gone.
 * The only skb ever dropped is a zero-length one (a bare FIN: no byte).
 */
#include "gw_bpf.h"

#include "gwbpf/abi/splice.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef BPF_F_MMAPABLE
#define BPF_F_MMAPABLE (1U << 10)
#endif

/* spliced sockets, key = socket cookie (unique across namespaces) */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, GW_SPLICE_MAX);
	__type(key, __u64);
	__type(value, __u64);
} gw_splice_hash SEC(".maps");

/* per direction, written by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_SPLICE_MAX);
	__type(key, __u64);
	__type(value, struct gw_splice_peer);
} gw_splice_peer SEC(".maps");

/* per direction, written by this program */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_SPLICE_MAX);
	__type(key, __u64);
	__type(value, struct gw_splice_ctr);
} gw_splice_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gw_splice_stats_val);
} gw_splice_stat SEC(".maps");

/* gw_splice_count() : one event in the shared stats (atomic: userspace adds
 * to the same words from its workers through the mmap) */
static __always_inline void gw_splice_count(__u32 s)
{
	__u32 zero = 0;
	struct gw_splice_stats_val *st = bpf_map_lookup_elem(&gw_splice_stat, &zero);

	if (st && s < GW_SPLICE_STAT_MAX)
		__sync_fetch_and_add(&st->v[s], 1);
}

SEC("sk_skb")
int gw_sk_skb(struct __sk_buff *skb)
{
	struct gw_splice_peer *p;
	struct gw_splice_ctr *c;
	__u64 len = skb->len;
	__u64 ck;

	/* A zero-length skb is a bare FIN. Passing it is not harmless: when
	 * this socket's psock still has redirected bytes to send, the FIN skb
	 * is queued behind them, and the backlog treats its 0-byte "delivery"
	 * as a hard error (EPIPE, TX disabled): the rest of the stream is lost
	 * (seen here in 1 of ~20 self-checks under load). Dropping it loses no
	 * byte, and userspace still sees EOF: recv() and epoll report
	 * RCV_SHUTDOWN, which TCP set when the FIN arrived. */
	if (!len)
		return SK_DROP;
	ck = bpf_get_socket_cookie(skb);
	c = bpf_map_lookup_elem(&gw_splice_ctr, &ck);
	if (!c)
		return SK_PASS;
	p = bpf_map_lookup_elem(&gw_splice_peer, &ck);
	/* Verdicts of one socket run one at a time (under its lock), so plain
	 * adds suffice: this program is the only writer of c. */
	if (!p || p->fwd != c->passed) {
		c->passed += len;
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &gw_splice_hash, &p->peer, 0) != SK_PASS) {
		/* the peer left the map (closed, reset): userspace gets the bytes
		 * and fails the connection in order; passed != fwd from now on */
		c->passed += len;
		gw_splice_count(GW_SPLICE_REDIR_MISS);
		return SK_PASS;
	}
	c->redir += len;
	return SK_PASS;
}
