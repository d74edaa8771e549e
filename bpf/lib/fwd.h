/* bpf/lib/fwd.h - L7 forwarding: acting on a "kernel" steering decision.
 *
 * A request the kernel decided alone (lib/steer.h) is delivered straight into
 * the receive queue of a backend socket: the accepted end of an idle
 * connection the daemon pre-connected and lent to us (gw_loan). The
 * backend's response writes are delivered into the client socket's receive
 * queue while the loan is busy, and framed (lib/resp.h) so the kernel knows
 * when the response is over and the loan can be returned.
 *
 * Ordering on one client connection (docs/bpf.md, "L7 forwarding"):
 * - the kernel forwards only when the proxy has answered everything it was
 *   given (gw_steer_conn.passed == gw_steer_ack) and no forwarded response
 *   is in flight, so it never overtakes the proxy or itself;
 * - the proxy does not start a request while a forwarded response is in
 *   flight (it reads gw_steer_conn.inflight), so it never overtakes the
 *   kernel.
 * Anything uncertain gives the message to the proxy, and is counted.
 */
#ifndef GW_LIB_FWD_H
#define GW_LIB_FWD_H

#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/resp.h"
#include "lib/sockmap.h"
#include "lib/steer.h"
#include "lib/fwd_maps.h"

struct gw_fwd_scratch {
	__u8 buf[GW_HTTP_HEAD_MAX];
	struct gw_resp_head h;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_fwd_scratch);
} gw_fwd_scratch SEC(".maps");

/* gw_msg_own_key() : the key the sending socket was inserted under */
static __always_inline void gw_msg_own_key(struct sk_msg_md *msg, struct gw_sock_key *k)
{
	gw_ctx_sock_key(msg, k, false);
}

/* gw_fwd_count() : adds (count, bytes) to a per-CPU counter map's entry k,
 * creating it (a full map loses the count: never the message) */
static __always_inline void gw_fwd_count(void *map, const struct gw_route_key *k, __u64 count,
					 __u64 bytes)
{
	struct gw_counter init = {.count = count, .bytes = bytes};
	struct gw_counter *c = bpf_map_lookup_elem(map, k);

	if (c) {
		c->count += count;
		c->bytes += bytes;
		return;
	}
	bpf_map_update_elem(map, k, &init, BPF_NOEXIST);
}

/* gw_fwd_route_count() : one request of bytes forwarded on the route r
 * decided; its key is also recorded for slot idx, whose response is counted
 * under the same route (gw_fwd_backend) */
static __always_inline void gw_fwd_route_count(const struct gw_steer_rec *r, __u64 bytes, __u32 idx)
{
	struct gw_route_key k = {.listener = r->listener, .vhost = r->vhost, .match = r->match};
	struct gw_steer_scratch *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&gw_steer_scratch, &zero);
	if (s)
		k.bind = (__u16)s->bind_index;
	gw_fwd_count(&gw_route_cnt, &k, 1, bytes);
	bpf_map_update_elem(&gw_loan_route, &idx, &k, BPF_ANY);
}

/* gw_fwd_take() : an idle loan of the cluster for table epoch, taken (state
 * FREE -> BUSY with a new seq). Returns the slot index or -1; *busy gets the
 * new state word. */
static __always_inline int gw_fwd_take(__s32 cluster, __u64 epoch, __u64 *busy)
{
	__u32 ci = (__u32)cluster, start;
	struct gw_loan_dir *d;

	if (cluster < 0 || ci >= GW_LOAN_CLUSTERS)
		return -1;
	d = bpf_map_lookup_elem(&gw_loan_dir_v2, &ci);
	if (!d || d->epoch != epoch || !d->n || d->n > GW_LOAN_PER_DIR)
		return -1;
	start = d->rr;
	d->rr = start + 1;
	for (__u32 i = 0; i < GW_LOAN_PER_DIR; i++) {
		__u32 pos = (start + i) % d->n;
		__u32 idx = d->slot[GW_IDX(pos, GW_LOAN_PER_DIR - 1)];
		struct gw_loan_slot *s = bpf_map_lookup_elem(&gw_loan, &idx);
		__u64 w, nw;

		if (i >= d->n)
			break;
		if (!s)
			continue;
		w = s->state;
		if (GW_LOAN_ST(w) != GW_LOAN_FREE || s->epoch != epoch)
			continue;
		nw = ((GW_LOAN_SEQ(w) + 1) << 8) | GW_LOAN_BUSY;
		if (__sync_val_compare_and_swap(&s->state, w, nw) != w)
			continue;
		*busy = nw;
		return (int)idx;
	}
	return -1;
}

/* gw_fwd_client() : a message from a local client to a Gateway listener
 * whose steering verdict is `verdict` (r filled by gw_steer_decide()).
 * Returns 0 when the message was forwarded (redirect set), -1 when it goes
 * to the proxy as usual. */
static __always_inline int gw_fwd_client(struct sk_msg_md *msg, __u32 verdict,
					 struct gw_steer_rec *r)
{
	struct gw_steer_conn *conn, zc = {};
	struct gw_sock_key me = {};
	struct gw_loan_slot *s;
	__u64 *ack, *tail, busy = 0, size = msg->size;
	__u32 why = 0, idx;
	int si;

	gw_msg_own_key(msg, &me);
	conn = bpf_map_lookup_elem(&gw_steer_conn, &me);
	if (!conn) {
		bpf_map_update_elem(&gw_steer_conn, &me, &zc, BPF_NOEXIST);
		conn = bpf_map_lookup_elem(&gw_steer_conn, &me);
		if (!conn) {
			/* without the entry the proxy's ack cannot be checked:
			 * nothing on this connection is ever forwarded */
			gw_count(GW_DROP_STEER_FWD_FAIL, size);
			return -1;
		}
	}
	if (verdict != GW_VERDICT_STEER_KERNEL)
		goto pass;
	why = GW_VERDICT_STEER_USER_BUSY;
	if (conn->inflight || (conn->flags & GW_SC_F_UNFRAMED))
		goto pass;
	ack = bpf_map_lookup_elem(&gw_steer_ack, &me);
	if (conn->passed != (ack ? *ack : 0))
		goto pass;
	why = GW_VERDICT_STEER_USER_LOAN;
	si = gw_fwd_take(r->cluster, r->epoch, &busy);
	if (si < 0)
		goto pass;
	idx = (__u32)si;
	s = bpf_map_lookup_elem(&gw_loan, &idx);
	if (!s)
		goto pass; /* cannot happen: gw_fwd_take() looked it up */
	s->client = me;
	s->body_left = 0;
	tail = bpf_map_lookup_elem(&gw_loan_tail, &idx);
	if (tail)
		*tail = 0;
	s->cluster = r->cluster;
	s->flags = gw_steer_scratch_is_head() ? GW_LOAN_F_HEAD : 0;
	conn->seq = busy;
	conn->inflight = idx + 1;
	if (bpf_msg_redirect_hash(msg, &gw_sock_hash, &s->backend, BPF_F_INGRESS) != SK_PASS) {
		/* the backend socket is gone: the daemon closes this loan */
		conn->inflight = 0;
		__sync_val_compare_and_swap(&s->state, busy, (busy & ~0xffull) | GW_LOAN_DEAD);
		why = GW_DROP_STEER_FWD_FAIL;
		goto pass;
	}
	conn->kreq++;
	conn->kbytes += size;
	gw_count(GW_VERDICT_STEER_FWD, size);
	gw_fwd_route_count(r, size, idx);
	return 0;
pass:
	__sync_fetch_and_add(&conn->passed, size);
	if (why)
		gw_count(why, size);
	return -1;
}

/* gw_fwd_frame() : response framing of one backend write of size bytes on
 * slot s. Returns the slot flags after it (GW_LOAN_F_UNFRAMED when the kernel
 * lost track); s->body_left is updated. */
static __always_inline __u32 gw_fwd_frame(struct sk_msg_md *msg, struct gw_loan_slot *s, __u64 size)
{
	__u32 flags = s->flags, zero = 0, n;
	struct gw_fwd_scratch *x;
	long long blen;
	__u8 *data, *end;

	if (flags & GW_LOAN_F_UNFRAMED)
		return flags;
	if (flags & GW_LOAN_F_BODY) {
		if (size > s->body_left)
			return flags | GW_LOAN_F_UNFRAMED;
		s->body_left -= size;
		return flags;
	}
	x = bpf_map_lookup_elem(&gw_fwd_scratch, &zero);
	if (!x)
		return flags | GW_LOAN_F_UNFRAMED;
	n = size > GW_HTTP_HEAD_MAX ? GW_HTTP_HEAD_MAX : (__u32)size;
	if (!n || bpf_msg_pull_data(msg, 0, n, 0))
		return flags | GW_LOAN_F_UNFRAMED;
	data = msg->data;
	end = msg->data_end;
	for (__u32 i = 0; i < GW_HTTP_HEAD_MAX; i++) {
		if (i >= n || data + i + 1 > end)
			break;
		x->buf[i & (GW_HTTP_HEAD_MAX - 1)] = data[i];
	}
	if (data + n > end)
		return flags | GW_LOAN_F_UNFRAMED;
	if (gw_resp_parse(&x->h, x->buf, n))
		return flags | GW_LOAN_F_UNFRAMED;
	blen = gw_resp_body_len(&x->h, flags & GW_LOAN_F_HEAD);
	if (blen < 0 || size - x->h.head_len > (__u64)blen)
		return flags | GW_LOAN_F_UNFRAMED;
	s->body_left = (__u64)blen - (size - x->h.head_len);
	return flags | GW_LOAN_F_BODY;
}

/* gw_fwd_unframed() : the response on slot s left the kernel's framing: the
 * proxy ends its client connection after it, and the cluster's requests are
 * the proxy's until the next snapshot */
static __always_inline void gw_fwd_unframed(struct gw_loan_slot *s)
{
	struct gw_steer_conn *conn = bpf_map_lookup_elem(&gw_steer_conn, &s->client);

	if (conn && !(conn->flags & GW_SC_F_UNFRAMED)) {
		__u32 ci = (__u32)s->cluster;
		struct gw_loan_dir *d = bpf_map_lookup_elem(&gw_loan_dir_v2, &ci);

		conn->flags |= GW_SC_F_UNFRAMED;
		gw_count(GW_VERDICT_STEER_RESP_UNFRAMED, 0);
		if (d)
			d->n = 0;
	}
}

/* gw_fwd_wanted() : the proxy waits on the loan state word w to follow its
 * response with bytes of its own (gw_steer_want, abi/maps.h) */
static __always_inline bool gw_fwd_wanted(const struct gw_sock_key *client, __u64 w)
{
	__u64 *want = bpf_map_lookup_elem(&gw_steer_want, client);

	return want && *want == w;
}

/* gw_fwd_handback() : a write of slot idx's response goes to the daemon's
 * end of the loan (the caller returns -1: the bypass delivers it there, or
 * TCP does), counted in gw_loan_tail; at the response's end `inflight` ends
 * as after any response and the slot goes TAIL, for the proxy (which
 * remembers the slot it asked about) to read the tail and free it. The
 * kernel forwards nothing more on the connection meanwhile: the proxy holds
 * unanswered bytes (passed != ack) or the client half-closed. Writes before
 * this one are already queued on the client: each was a sendmsg() of the
 * same backend socket that returned before this one began. */
static __always_inline void gw_fwd_handback(struct gw_loan_slot *s, __u32 *idx, __u64 w, __u64 size,
					    __u32 flags)
{
	__u64 *tail = bpf_map_lookup_elem(&gw_loan_tail, idx);

	if (tail)
		*tail += size; /* one writer: the backend's sendmsg, socket locked */
	gw_count(GW_VERDICT_STEER_RESP_HANDBACK, size);
	if (flags & GW_LOAN_F_UNFRAMED) {
		gw_fwd_unframed(s);
		return;
	}
	if ((flags & GW_LOAN_F_BODY) && !s->body_left) {
		struct gw_steer_conn *conn = bpf_map_lookup_elem(&gw_steer_conn, &s->client);

		if (conn && conn->seq == w)
			conn->inflight = 0;
		s->flags = 0;
		__sync_val_compare_and_swap(&s->state, w, (w & ~0xffull) | GW_LOAN_TAIL);
		gw_count(GW_VERDICT_STEER_RESP_DONE, 0);
		gw_count(GW_VERDICT_STEER_RESP_TAIL, 0);
	}
}

/* gw_fwd_backend() : a message written by a socket that may be the backend
 * end of a loan. Returns SK_PASS/SK_DROP when it handled the message (the
 * redirect to the client is set), -1 when the bypass is to deliver it to the
 * daemon's end: a write handed back (gw_fwd_handback()), or not a busy
 * loan (the daemon then retires it). */
static __always_inline int gw_fwd_backend(struct sk_msg_md *msg)
{
	struct gw_sock_key me = {};
	struct gw_steer_conn *conn;
	struct gw_loan_slot *s;
	struct gw_route_key *rk;
	__u64 w, size = msg->size;
	__u32 *idx, flags;
	bool head;

	gw_msg_own_key(msg, &me);
	idx = bpf_map_lookup_elem(&gw_loan_key, &me);
	if (!idx)
		return -1;
	s = bpf_map_lookup_elem(&gw_loan, idx);
	if (!s)
		return -1;
	w = s->state;
	if (GW_LOAN_ST(w) != GW_LOAN_BUSY)
		return -1;
	/* the first write of a response: neither in its body nor lost track */
	head = !(s->flags & (GW_LOAN_F_BODY | GW_LOAN_F_UNFRAMED));
	flags = gw_fwd_frame(msg, s, size);
	if (!(flags & GW_LOAN_F_HANDBACK) && gw_fwd_wanted(&s->client, w))
		flags |= GW_LOAN_F_HANDBACK;
	s->flags = flags;
	rk = bpf_map_lookup_elem(&gw_loan_route, idx);
	if (flags & GW_LOAN_F_HANDBACK) {
		if (rk)
			gw_fwd_count(&gw_route_resp, rk, head ? 1 : 0, size);
		gw_fwd_handback(s, idx, w, size, flags);
		return -1;
	}
	if (bpf_msg_redirect_hash(msg, &gw_sock_hash, &s->client, BPF_F_INGRESS) != SK_PASS) {
		/* the client is gone: nobody wants the rest of this response */
		__sync_val_compare_and_swap(&s->state, w, (w & ~0xffull) | GW_LOAN_DEAD);
		gw_count(GW_DROP_STEER_RESP_LOST, size);
		return SK_DROP;
	}
	gw_count(GW_VERDICT_STEER_RESP, size);
	if (rk)
		gw_fwd_count(&gw_route_resp, rk, head ? 1 : 0, size);
	if (flags & GW_LOAN_F_UNFRAMED) {
		gw_fwd_unframed(s);
		return SK_PASS;
	}
	if ((flags & GW_LOAN_F_BODY) && !s->body_left) {
		conn = bpf_map_lookup_elem(&gw_steer_conn, &s->client);
		if (conn && conn->seq == w)
			conn->inflight = 0;
		s->flags = 0;
		__sync_val_compare_and_swap(&s->state, w, (w & ~0xffull) | GW_LOAN_FREE);
		gw_count(GW_VERDICT_STEER_RESP_DONE, 0);
	}
	return SK_PASS;
}

#endif
