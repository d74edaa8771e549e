/* sockops.bpf.c - puts the cgroup's loopback TCP sockets into the bypass
 * sockhash when they become ESTABLISHED (the only state the kernel accepts),
 * so sk_msg can deliver their writes straight into the peer's receive queue.
 * Attached to the cgroup the user names with --cgroup; sockets outside it are
 * never touched. Always returns 1: sockops has no verdict to give here.
 *
 * With L7 forwarding on (GW_CFG_F_STEER_FWD), the sockets it inserts on the
 * connecting side (the clients) also get BPF_SOCK_OPS_STATE_CB, and their
 * forwarding state (gw_steer_conn, gw_steer_ack) is freed when they reach
 * TCP_CLOSE: a connection the proxy handed to its HTTP/2 code, or any other
 * the kernel never forwards on, leaves nothing behind. */
#include "gw_bpf.h"

#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/sockmap.h"
#include "lib/fwd_maps.h"

char LICENSE[] SEC("license") = "GPL";

/* gw_sockops_key() : key of the socket as it sees itself; the ports in
 * bpf_sock_ops are local in host order and remote in network order in the
 * upper 16 bits of a 32-bit field. */
static __always_inline void gw_sockops_key(struct bpf_sock_ops *skops, struct gw_sock_key *k)
{
	gw_ctx_sock_key(skops, k, false);
}

static __always_inline void gw_sockops_established(struct bpf_sock_ops *skops)
{
	struct gw_sock_key k = {};
	struct gw_config *cfg;

	if (skops->family != AF_INET && skops->family != AF_INET6)
		return;
	gw_sockops_key(skops, &k);
	if (!gw_key_is_local(&k)) {
		gw_count(GW_VERDICT_SOCK_SKIP_NONLOCAL, 0);
		return;
	}
	cfg = gw_config_get();
	if (cfg && cfg->scope == GW_SCOPE_PORTS && !gw_port_known(k.local_port) &&
	    !gw_port_known(k.remote_port)) {
		gw_count(GW_VERDICT_SOCK_SKIP_PORT, 0);
		return;
	}
	/* BPF_ANY: a stale entry with this key can only be a closed socket the
	 * kernel has not unhashed yet; the live one must win */
	if (bpf_sock_hash_update(skops, &gw_sock_hash, &k, BPF_ANY)) {
		gw_count(GW_DROP_SOCK_INSERT_FAIL, 0);
		return;
	}
	gw_count(GW_VERDICT_SOCK_INSERT, 0);
	/* only a connecting socket can be a client whose writes sk_msg
	 * forwards (the accepted ends are the gateway's and the backends') */
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && cfg &&
	    (cfg->flags & GW_CFG_F_STEER_FWD))
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						     BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* gw_sockops_state() : a state change of a socket that asked for them; at
 * TCP_CLOSE (reached from every path: FIN both ways, RST, TIME_WAIT's
 * handover) nothing can be written on it any more */
static __always_inline void gw_sockops_state(struct bpf_sock_ops *skops)
{
	struct gw_sock_key k = {};

	if (skops->args[1] != BPF_TCP_CLOSE)
		return;
	if (skops->family != AF_INET && skops->family != AF_INET6)
		return;
	gw_sockops_key(skops, &k);
	gw_fwd_conn_closed(&k);
}

SEC("sockops")
int gw_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		gw_sockops_established(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		gw_sockops_state(skops);
		break;
	default:
		break;
	}
	return 1;
}
