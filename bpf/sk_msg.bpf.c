/* sk_msg.bpf.c - the local bypass: every sendmsg() on a socket of the bypass
 * sockhash is delivered straight into the receive queue of the other end of
 * the same TCP connection (BPF_F_INGRESS), skipping the TCP/IP stack and
 * loopback twice. When the peer is not in the map (not in the cgroup, not yet
 * ESTABLISHED, already closed) or the bypass is switched off, the message
 * takes the normal TCP path: the bypass never drops data.
 *
 * With GW_CFG_F_STEER it first takes the L7 steering decision for a message a
 * local client writes to a Gateway listener (lib/steer.h) and records it.
 * With GW_CFG_F_STEER_FWD it acts on it (lib/fwd.h): a request the kernel
 * routes alone goes straight to a loaned backend socket, and that backend's
 * response straight back to the client (docs/bpf.md, "L7 forwarding"); the
 * one message ever dropped is a loaned backend's response once its client has
 * gone (counted as GW_DROP_STEER_RESP_LOST). */
#include "gw_bpf.h"

#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/sockmap.h"
#include "lib/steer.h"
#include "lib/fwd.h"

char LICENSE[] SEC("license") = "GPL";

/* gw_msg_peer_key() : the key the peer socket was inserted under: our own
 * tuple mirrored (sk_msg_md ports follow the bpf_sock_ops convention) */
static __always_inline void gw_msg_peer_key(struct sk_msg_md *msg, struct gw_sock_key *k)
{
	gw_ctx_sock_key(msg, k, true);
}

SEC("sk_msg")
int gw_sk_msg(struct sk_msg_md *msg)
{
	struct gw_sock_key peer = {};
	struct gw_config *cfg = gw_config_get();
	__u64 len = msg->size;

	if (cfg && (cfg->flags & GW_CFG_F_STEER_FWD)) {
		int v = gw_fwd_backend(msg);

		if (v >= 0)
			return v;
	}
	if (cfg && (cfg->flags & (GW_CFG_F_STEER | GW_CFG_F_STEER_FWD))) {
		struct gw_steer_rec r = {.cluster = -1};
		__u32 verdict = gw_steer_decide(msg, &r);

		if (verdict && (cfg->flags & GW_CFG_F_STEER_FWD) && !gw_fwd_client(msg, verdict, &r))
			return SK_PASS;
	}
	if (!cfg || !(cfg->flags & GW_CFG_F_BYPASS)) {
		gw_count(GW_VERDICT_MSG_PASS_OFF, len);
		return SK_PASS;
	}
	gw_msg_peer_key(msg, &peer);
	if (bpf_msg_redirect_hash(msg, &gw_sock_hash, &peer, BPF_F_INGRESS) == SK_PASS) {
		gw_count(GW_VERDICT_MSG_REDIRECT, len);
		return SK_PASS;
	}
	/* SK_DROP from the helper only means "no such peer": nothing was
	 * redirected, so passing sends the bytes over TCP as if we were absent */
	gw_count(GW_VERDICT_MSG_PASS_MISS, len);
	return SK_PASS;
}
