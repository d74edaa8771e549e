/* bpf/xdp_ingress.bpf.c - XDP: the first line of defence on node interfaces.
 *
 * For packets addressed to a Gateway listener (address, port, protocol):
 * count them, drop those from a denied CIDR, and drop TCP SYNs over the
 * source's rate. Everything else, and everything the parser cannot judge,
 * passes untouched. Attached through libxdp's dispatcher so it coexists
 * with other XDP programs; userspace sets its run priority (10: early) and
 * chain-call on XDP_PASS, because bpftool's linker drops .xdp_run_config.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "gwbpf/abi/xdp.h"
#include "lib/xdp_maps.h"
#include "lib/xdp_parse.h"
#include "lib/xdp_policy.h"

SEC("xdp")
int gw_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gw_xdp_pkt p = {};
	struct gw_xdp_lstats *st;
	struct gw_xdp_config *cfg;
	__u32 zero = 0;
	int reason;

	reason = gw_xdp_parse(data, data_end, &p);
	if (reason)
		return gw_xdp_count(reason, XDP_PASS);

	st = gw_xdp_listener(&p);
	if (!st)
		return gw_xdp_count(GW_XDP_PASS_NOT_LISTENER, XDP_PASS);
	st->packets++;
	st->bytes += data_end - data;

	cfg = bpf_map_lookup_elem(&gw_xdp_cfg, &zero);
	if (!cfg)
		return gw_xdp_count(GW_XDP_PASS_LISTENER, XDP_PASS);

	if ((cfg->flags & GW_XDP_F_DENY) && gw_xdp_denied(&p)) {
		st->drops++;
		return gw_xdp_count(GW_XDP_DROP_DENY, XDP_DROP);
	}

	if (p.key.proto == GW_IPPROTO_TCP &&
	    (p.tcp_flags & (GW_TCP_FLAG_SYN | GW_TCP_FLAG_ACK)) == GW_TCP_FLAG_SYN) {
		st->syns++;
		if (cfg->syn_cost_ns && !gw_xdp_syn_ok(&p, cfg)) {
			st->drops++;
			return gw_xdp_count(GW_XDP_DROP_SYN_RATE, XDP_DROP);
		}
	}
	return gw_xdp_count(GW_XDP_PASS_LISTENER, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
