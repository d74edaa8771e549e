/* bpf/lib/metrics.h - count a verdict under its reason code. */
#ifndef GW_LIB_METRICS_H
#define GW_LIB_METRICS_H

#include "lib/maps.h"

/* gw_count() : adds one event and bytes to reason's per-CPU slot; a reason
 * outside the map is ignored (it cannot happen for enum values). Per-CPU, so
 * plain adds are safe: a program is not preempted on its CPU. */
static __always_inline void gw_count(__u32 reason, __u64 bytes)
{
	struct gw_counter *c = bpf_map_lookup_elem(&gw_counters, &reason);

	if (!c)
		return;
	c->count++;
	c->bytes += bytes;
}

/* gw_config_get() : the runtime config, or NULL (never in practice: array) */
static __always_inline struct gw_config *gw_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gw_config, &zero);
}

#endif
