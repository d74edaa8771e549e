/* bpf/lib/xdp_policy.h - what the XDP program decides for listener traffic:
 * CIDR deny, then the per-source SYN token bucket. */
#ifndef GW_BPF_XDP_POLICY_H
#define GW_BPF_XDP_POLICY_H

#include "lib/xdp_maps.h"
#include "lib/xdp_parse.h"

/* gw_xdp_count() : adds one to the verdict counter of reason; returns action */
static __always_inline int gw_xdp_count(__u32 reason, int action)
{
	__u64 *c = bpf_map_lookup_elem(&gw_xdp_reason, &reason);

	if (c)
		*c += 1;
	return action;
}

/* gw_xdp_listener() : the counters of the listener p is addressed to (exact
 * address first, then the family's wildcard), or NULL when none is */
static __always_inline struct gw_xdp_lstats *gw_xdp_listener(struct gw_xdp_pkt *p)
{
	struct gw_xdp_lstats *st = bpf_map_lookup_elem(&gw_xdp_lstn, &p->key);
	struct gw_xdp_lkey any = {
		.port = p->key.port,
		.family = p->key.family,
		.proto = p->key.proto,
	};

	if (st)
		return st;
	return bpf_map_lookup_elem(&gw_xdp_lstn, &any);
}

/* gw_xdp_denied() : true when p's source lies in a deny CIDR of its family */
static __always_inline bool gw_xdp_denied(const struct gw_xdp_pkt *p)
{
	if (p->key.family == GW_XDP_FAMILY_INET) {
		struct gw_xdp_lpm4 k4 = { .prefixlen = 32, .addr = p->src.addr[3] };

		return bpf_map_lookup_elem(&gw_xdp_deny4, &k4) != NULL;
	} else {
		struct gw_xdp_lpm6 k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.addr, p->src.addr, sizeof(k6.addr));
		return bpf_map_lookup_elem(&gw_xdp_deny6, &k6) != NULL;
	}
}

/* gw_xdp_syn_ok() : takes one SYN's worth of credit from the source's bucket;
 * false when there is not enough. Updates from several CPUs may race and
 * lose a refill or a charge: the limit is approximate by a few SYNs, which
 * is cheaper than a spin lock on every SYN and still stops a flood. */
static __always_inline bool gw_xdp_syn_ok(const struct gw_xdp_pkt *p,
					  const struct gw_xdp_config *cfg)
{
	struct gw_xdp_bucket *b, nb;
	__u64 now = bpf_ktime_get_ns(), credit;

	b = bpf_map_lookup_elem(&gw_xdp_syn, &p->src);
	if (!b) {
		/* a new source starts with a full bucket, minus this SYN */
		nb.last_ns = now;
		nb.credit_ns = cfg->syn_cap_ns > cfg->syn_cost_ns ?
				       cfg->syn_cap_ns - cfg->syn_cost_ns : 0;
		bpf_map_update_elem(&gw_xdp_syn, &p->src, &nb, BPF_ANY);
		return true;
	}
	credit = b->credit_ns;
	if (now > b->last_ns)
		credit += now - b->last_ns;
	if (credit > cfg->syn_cap_ns)
		credit = cfg->syn_cap_ns;
	b->last_ns = now;
	if (credit < cfg->syn_cost_ns) {
		b->credit_ns = credit;
		return false;
	}
	b->credit_ns = credit - cfg->syn_cost_ns;
	return true;
}

#endif
