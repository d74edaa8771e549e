/* sk_skb_body.bpf.c - the body splice: the remaining bytes of one HTTP body
 * of a known, large Content-Length are redirected from the socket they arrive
 * on to the egress of the socket they leave on, and not one byte more: what
 * follows the body (the next message, a protocol error) goes up to the
 * userspace proxy, whose HTTP parser takes over again at the boundary.
 *
 * Exactness needs the stream parser: a verdict alone sees whole skbs, and an
 * skb straddling the end of the body would go entirely one way. The parser
 * (BPF_SK_SKB_STREAM_PARSER on gw_body_hash) returns at most the remaining
 * budget as the message length, so strparser cuts the skb at the boundary;
 * the verdict (BPF_SK_SKB_STREAM_VERDICT) redirects messages while budget is
 * left and passes the rest. The budget lives in gw_body_left (abi/splice.h):
 * the whole rest of the body; userspace polls it for the end (docs/bpf.md).
 */
#include "gw_bpf.h"

#include "gwbpf/abi/splice.h"

char LICENSE[] SEC("license") = "GPL";

/* sockets a body arrives on; parser + verdict attached */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, GW_SPLICE_MAX);
	__type(key, __u64);
	__type(value, __u64);
} gw_body_hash SEC(".maps");

/* sockets a body leaves on: redirect targets only, no program */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, GW_SPLICE_MAX);
	__type(key, __u64);
	__type(value, __u64);
} gw_body_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_SPLICE_MAX);
	__type(key, __u64);
	__type(value, struct gw_body_left);
} gw_body_left SEC(".maps");

/* gw_body_parse() : the length of the next message, remembered in b->msg
 * for the verdict. skb->len counts the whole skb, including bytes before the
 * message start when the previous message ended inside it or userspace read
 * part of it (strparser's offset, invisible here; observed on 6.18), and an
 * answer beyond what is there makes strparser wait for more. So:
 *   - the first message is exactly what was unread when the splice started
 *     (b->first, from userspace): it starts at an unknown offset but is all
 *     there, and ends at the end of the last queued skb (unless TCP
 *     coalesced new bytes into that skb meanwhile: then messages overshoot
 *     skbs and wait for the next one, still inside the budget: slower, not
 *     wrong);
 *   - within the budget a message is the whole skb, or, when the budget ends
 *     inside it, exactly the budget (the one cut);
 *   - after the budget every message is 1 byte, which is always there:
 *     bytes past the body (a pipelined request, an upstream sending past
 *     its body: rare, and slow here on purpose), passed up.
 * Never 0: 0 would make strparser wait for bytes that may never come. */
SEC("sk_skb/stream_parser")
int gw_body_parse(struct __sk_buff *skb)
{
	__u64 ck = bpf_get_socket_cookie(skb);
	struct gw_body_left *b = bpf_map_lookup_elem(&gw_body_left, &ck);
	__u64 len = skb->len;

	if (!b)
		return len;
	if (b->first) {
		len = b->first;
		b->first = 0;
	}
	if (!b->left)
		len = 1;
	else if (len > b->left)
		len = b->left;
	b->msg = len;
	return len;
}

/* gw_body_verdict() : redirect a message of the body, pass anything else */
SEC("sk_skb/stream_verdict")
int gw_body_verdict(struct __sk_buff *skb)
{
	__u64 ck = bpf_get_socket_cookie(skb);
	struct gw_body_left *b = bpf_map_lookup_elem(&gw_body_left, &ck);
	__u64 len;

	if (!b)
		return SK_PASS;
	len = b->msg;
	b->msg = 0;
	/* len > left cannot happen after the parser's cut; if it ever did,
	 * passing keeps every byte, and userspace, seeing bytes with the
	 * budget unspent, fails the response */
	if (!b->left || !len || len > b->left) {
		b->passed += len;
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &gw_body_out, &b->peer, 0) != SK_PASS) {
		/* the target left the map (client gone): userspace gets the bytes
		 * with the budget unspent, and ends the response */
		b->passed += len;
		return SK_PASS;
	}
	b->left -= len;
	b->redir += len;
	return SK_PASS;
}
