/* gwbpf/xdp-t.h - types of the XDP ingress module (userspace side). */
#ifndef GWBPF_XDP_T_H
#define GWBPF_XDP_T_H

#include <stdbool.h>
#include <stdint.h>

enum gw_xdp_mode {
	GW_XDP_MODE_AUTO = 0, /* native where the driver has it, else generic (SKB) */
	GW_XDP_MODE_NATIVE,
	GW_XDP_MODE_SKB,
};

struct gw_xdp_opts {
	const char *pin_dir; /* NULL = GW_XDP_PIN_DIR; "" = do not pin (tests) */
	enum gw_xdp_mode mode;
	uint32_t syn_rate;  /* SYN/s per source; 0 = GW_XDP_DEF_SYN_RATE */
	uint32_t syn_burst; /* 0 = GW_XDP_DEF_SYN_BURST (or 2 * syn_rate when set) */
	bool no_syn_limit;  /* count SYNs but never drop them */
	bool no_adopt;      /* attach a fresh program even if ours is attached */
};

/* one listener socket as XDP sees it */
struct gw_xdp_listener {
	char address[64]; /* numeric; "0.0.0.0" = any IPv4, "::" = any IPv4 or IPv6 */
	uint16_t port;    /* host order */
	uint8_t proto;    /* IPPROTO_TCP or IPPROTO_UDP */
};

/* counters of one listener key, summed over CPUs */
struct gw_xdp_listener_stats {
	char address[64]; /* numeric, "0.0.0.0"/"::" for wildcards */
	uint16_t port;
	uint8_t proto;
	uint64_t packets, bytes, syns, drops;
};

struct gw_xdp;

#endif
