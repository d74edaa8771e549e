/* bpf/lib/steer.h - the L7 steering decision: the kernel's copy of
 * gw_router_match() over the route tables maps.c compiles from the IR.
 *
 * gw_steer_decide() parses the message with lib/http.h and walks bind ->
 * listener -> vhost -> matches exactly as the userspace router does, and
 * answers "kernel" only when the first match in precedence order is a plain
 * path match of a rule the translator marked kernel_ok. Anything else
 * (refused head, unknown socket, a header/query/method/regex match reached
 * first, no match, a table swap while deciding) is "proxy".
 *
 * The decision is recorded and counted. With GW_CFG_F_STEER_FWD, lib/fwd.h
 * acts on a "kernel" verdict (forwards through a loaned backend connection);
 * otherwise the message follows the bypass to the proxy unchanged.
 */
#ifndef GW_LIB_STEER_H
#define GW_LIB_STEER_H

#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/http.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_rt_epoch);
} gw_rt_epoch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_RT_BINDS_MAX);
	__type(key, struct gw_rt_bind_key);
	__type(value, struct gw_rt_id);
} gw_rt_bind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_RT_HOSTS_MAX);
	__type(key, struct gw_rt_host_key);
	__type(value, struct gw_rt_id);
} gw_rt_host SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_RT_VHOSTS_MAX);
	__type(key, struct gw_rt_vhost_key);
	__type(value, struct gw_rt_vhost);
} gw_rt_vhost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_steer_rec);
} gw_steer_last SEC(".maps");

/* per-CPU working memory: the head bytes, the parser state, the host key
 * being built and the walk state. Loop state lives here rather than on the
 * stack so the verifier sees unknown values and bpf_loop() bodies converge. */
struct gw_steer_scratch {
	struct gw_http_scratch http;
	struct gw_http_head head;
	struct gw_rt_host_key key;
	__u32 host_len;
	__u32 path_off;
	__u32 path_len;
	__s32 hit; /* index into the vhost's matches of the first that applies, -1 none */
	__u32 bind_index; /* IR bind of the last decision (per-route counters) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_steer_scratch);
} gw_steer_scratch SEC(".maps");

/* ---- host lookups: exact, then "*.suffix" longest first, then any ---- */

struct gw_steer_host_ctx {
	struct gw_steer_scratch *s;
	struct gw_rt_id *found;
};

/* gw_steer_key_fill() : key->host = prefix + host[from..host_len), zero padded */
static __always_inline void gw_steer_key_fill(struct gw_steer_scratch *s, __u32 from,
					      __u32 host_len, bool star)
{
	__u32 w = 0;

	for (__u32 j = 0; j < GW_RT_HOST_LEN; j++)
		s->key.host[j] = 0;
	if (star) {
		s->key.host[0] = '*';
		w = 1;
	}
	for (__u32 j = 0; j < GW_RT_HOST_LEN; j++) {
		__u32 r = from + j;

		if (r >= host_len || w >= GW_RT_HOST_LEN)
			break;
		s->key.host[GW_IDX(w, GW_RT_HOST_LEN - 1)] =
		    s->http.host[GW_IDX(r, GW_HTTP_HOST_MAX - 1)];
		w++;
	}
	s->key.len = w;
}

/* bpf_loop callback over host positions 1..len-1: a '.' starts a suffix */
static long gw_steer_wild_step(__u64 idx, void *data)
{
	struct gw_steer_host_ctx *c = data;
	struct gw_steer_scratch *s = c->s;
	__u32 i = (__u32)idx + 1;

	if (i >= s->host_len || i >= GW_HTTP_HOST_MAX)
		return 1;
	if (s->http.host[GW_IDX(i, GW_HTTP_HOST_MAX - 1)] != '.')
		return 0;
	gw_steer_key_fill(s, i, s->host_len, true);
	c->found = bpf_map_lookup_elem(&gw_rt_host, &s->key);
	return c->found ? 1 : 0;
}

/* gw_steer_host() : the entry the router's first-match over a list ordered
 * exact > longer wildcard > shorter wildcard > any picks (maps.c refuses to
 * compile a list in any other order) */
static __always_inline struct gw_rt_id *gw_steer_host(struct gw_steer_scratch *s, __u32 gen,
						      __u32 scope, __u32 host_len)
{
	struct gw_steer_host_ctx c = {.s = s};
	struct gw_rt_id *v;

	s->host_len = host_len;
	s->key.gen = gen;
	s->key.scope = scope;
	s->key.pad = 0;
	gw_steer_key_fill(s, 0, host_len, false);
	v = bpf_map_lookup_elem(&gw_rt_host, &s->key);
	if (v)
		return v;
	if (host_len > 1)
		bpf_loop(GW_HTTP_HOST_MAX - 1, gw_steer_wild_step, &c, 0);
	if (c.found)
		return c.found;
	gw_steer_key_fill(s, 0, 0, false);
	return bpf_map_lookup_elem(&gw_rt_host, &s->key);
}

/* ---- the match walk ---- */

struct gw_steer_walk_ctx {
	struct gw_steer_scratch *s;
	struct gw_rt_vhost *v;
};

/* gw_steer_path_eq() : the request path's first n bytes equal m->path's */
static __always_inline bool gw_steer_path_eq(struct gw_steer_walk_ctx *c, struct gw_rt_match *m,
					     __u32 n)
{
	for (__u32 j = 0; j < GW_RT_PATH_LEN; j++) {
		if (j >= n)
			break;
		if (m->path[GW_IDX(j, GW_RT_PATH_LEN - 1)] !=
		    c->s->http.buf[GW_IDX(c->s->path_off + j, GW_HTTP_HEAD_MAX - 1)])
			return false;
	}
	return true;
}

static long gw_steer_walk_step(__u64 idx, void *data)
{
	struct gw_steer_walk_ctx *c = data;
	__u32 i = (__u32)idx;
	struct gw_rt_match *m;
	__u32 n, kind;

	if (i >= c->v->n || i >= GW_RT_MATCHES)
		return 1;
	m = &c->v->m[GW_IDX(i, GW_RT_MATCHES - 1)];
	kind = m->kind & ~GW_RT_M_KERNEL;
	n = m->len;
	if (kind == GW_RT_M_STOP) {
		c->s->hit = (__s32)i;
		return 1;
	}
	if (n > GW_RT_PATH_LEN || n > c->s->path_len)
		return 0;
	if (kind == GW_RT_M_EXACT && n != c->s->path_len)
		return 0;
	/* PathPrefix by element: the byte after the prefix ends an element */
	if (kind == GW_RT_M_PREFIX && n < c->s->path_len &&
	    c->s->http.buf[GW_IDX(c->s->path_off + n, GW_HTTP_HEAD_MAX - 1)] != '/')
		return 0;
	if (kind != GW_RT_M_EXACT && kind != GW_RT_M_PREFIX)
		return 0;
	if (!gw_steer_path_eq(c, m, n))
		return 0;
	c->s->hit = (__s32)i;
	return 1;
}

/* gw_steer_copy() : message bytes into the scratch buffer (the parser runs in
 * a bpf_loop callback, which cannot hold packet pointers). Returns 0, or
 * -1 when the data is not all linear. */
static __always_inline int gw_steer_copy(struct sk_msg_md *msg, struct gw_steer_scratch *s,
					 __u32 size)
{
	__u8 *data, *end;
	__u32 i;

	if (bpf_msg_pull_data(msg, 0, size, 0))
		return -1;
	data = msg->data;
	end = msg->data_end;
	if (data + size != end)
		return -1;
	for (i = 0; i < GW_HTTP_HEAD_MAX; i++) {
		if (data + i + 1 > end)
			break;
		s->http.buf[i & (GW_HTTP_HEAD_MAX - 1)] = data[i];
	}
	return 0;
}

/* gw_steer_bind() : the route table entry of the listening socket this
 * message goes to (the message's remote end), or NULL */
static __always_inline struct gw_rt_id *gw_steer_bind(struct sk_msg_md *msg, __u32 gen)
{
	struct gw_rt_bind_key k = {};
	struct gw_rt_id *b;
	__u32 rip6[4] = {msg->remote_ip6[0], msg->remote_ip6[1], msg->remote_ip6[2],
			 msg->remote_ip6[3]};

	k.gen = gen;
	k.port = (__u16)bpf_ntohl(msg->remote_port);
	k.family = gw_addr_set(k.ip, msg->family, msg->remote_ip4, rip6);
	b = bpf_map_lookup_elem(&gw_rt_bind, &k);
	if (b)
		return b;
	k.ip[0] = k.ip[1] = k.ip[2] = k.ip[3] = 0;
	return bpf_map_lookup_elem(&gw_rt_bind, &k);
}

/* gw_steer_record() : counts the decision and stores it in gw_steer_last */
static __always_inline void gw_steer_record(struct gw_steer_rec *r, __u32 verdict)
{
	__u32 zero = 0;
	struct gw_steer_rec *last = bpf_map_lookup_elem(&gw_steer_last, &zero);

	gw_count(verdict, r->size);
	if (!last)
		return;
	r->verdict = verdict;
	r->seq = __sync_fetch_and_add(&last->seq, 1) + 1;
	last->epoch = r->epoch;
	last->refuse = r->refuse;
	last->size = r->size;
	last->listener = r->listener;
	last->vhost = r->vhost;
	last->match = r->match;
	last->port = r->port;
	last->cluster = r->cluster;
	last->verdict = verdict;
}

/* gw_steer_decide() : see the top of the file. Records the decision when the
 * message goes to a Gateway listener the tables know; returns the verdict
 * (GW_VERDICT_STEER_*), or 0 when the message is not to such a listener. */
static __always_inline __u32 gw_steer_decide(struct sk_msg_md *msg, struct gw_steer_rec *out)
{
	struct gw_steer_rec r = {.cluster = -1};
	struct gw_steer_walk_ctx w = {};
	struct gw_http_head *h;
	struct gw_steer_scratch *s;
	struct gw_rt_epoch *ep;
	struct gw_rt_vhost_key vk;
	struct gw_rt_id *b, *li, *vh;
	__u32 zero = 0, gen, verdict;
	struct gw_rt_match *m;

	ep = bpf_map_lookup_elem(&gw_rt_epoch, &zero);
	if (!ep || !ep->epoch)
		return 0;
	r.epoch = ep->epoch;
	gen = (__u32)(r.epoch & 1);
	b = gw_steer_bind(msg, gen);
	if (!b)
		return 0;
	r.size = msg->size;
	r.port = (__u16)bpf_ntohl(msg->remote_port);
	s = bpf_map_lookup_elem(&gw_steer_scratch, &zero);
	if (!s) {
		verdict = GW_VERDICT_STEER_USER_TABLE;
		goto out;
	}
	s->bind_index = b->index;
	if (r.size > GW_HTTP_HEAD_MAX) {
		r.refuse = GW_HTTP_R_TOO_LONG;
		verdict = GW_VERDICT_STEER_USER_PARSE;
		goto out;
	}
	if (gw_steer_copy(msg, s, r.size)) {
		r.refuse = GW_HTTP_R_INCOMPLETE;
		verdict = GW_VERDICT_STEER_USER_PARSE;
		goto out;
	}
	h = &s->head;
	r.refuse = gw_http_parse(h, &s->http, r.size);
	if (r.refuse) {
		verdict = GW_VERDICT_STEER_USER_PARSE;
		goto out;
	}
	verdict = GW_VERDICT_STEER_USER_ROUTE;
	if (b->flags & GW_RT_F_USERSPACE)
		goto out;
	li = gw_steer_host(s, gen, b->id, h->host_len);
	if (!li || (li->flags & GW_RT_F_USERSPACE))
		goto out;
	r.listener = li->index;
	vh = gw_steer_host(s, gen, GW_RT_SCOPE_LISTENER | li->id, h->host_len);
	if (!vh || (vh->flags & GW_RT_F_USERSPACE))
		goto out;
	r.vhost = vh->index;
	vk.gen = gen;
	vk.id = vh->id;
	w.v = bpf_map_lookup_elem(&gw_rt_vhost, &vk);
	if (!w.v)
		goto out;
	w.s = s;
	s->path_off = h->path_off;
	s->path_len = h->path_len;
	s->hit = -1;
	bpf_loop(GW_RT_MATCHES, gw_steer_walk_step, &w, 0);
	if (s->hit < 0 || s->hit >= GW_RT_MATCHES)
		goto out;
	m = &w.v->m[GW_IDX(s->hit, GW_RT_MATCHES - 1)];
	if (!(m->kind & GW_RT_M_KERNEL))
		goto out;
	r.match = m->index;
	r.cluster = m->cluster;
	verdict = GW_VERDICT_STEER_KERNEL;
out:
	/* a table swapped (or deleted) under us may have been read half-way */
	ep = bpf_map_lookup_elem(&gw_rt_epoch, &zero);
	if (!ep || ep->epoch != r.epoch)
		verdict = GW_VERDICT_STEER_USER_TABLE;
	gw_steer_record(&r, verdict);
	*out = r;
	return verdict;
}

/* gw_steer_scratch_is_head() : the head gw_steer_decide() just parsed on this
 * CPU is a HEAD request (its response carries no body) */
static __always_inline bool gw_steer_scratch_is_head(void)
{
	__u32 zero = 0;
	struct gw_steer_scratch *s = bpf_map_lookup_elem(&gw_steer_scratch, &zero);

	return s && s->head.method_len == 4 && s->http.buf[0] == 'H' && s->http.buf[1] == 'E' &&
	       s->http.buf[2] == 'A' && s->http.buf[3] == 'D';
}

#endif
