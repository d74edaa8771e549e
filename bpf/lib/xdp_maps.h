/* bpf/lib/xdp_maps.h - the maps of the XDP ingress program.
 *
 * Every map is pinned by name (userspace sets the pin root, normally
 * GW_XDP_PIN_DIR), so `gwbpf status` can read them without the daemon and a
 * restarted daemon reuses them. Layouts are in gwbpf/abi/xdp.h.
 */
#ifndef GW_BPF_XDP_MAPS_H
#define GW_BPF_XDP_MAPS_H

#include "gwbpf/abi/xdp.h"

/* listeners and their counters: a key's presence makes it a listener */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, GW_XDP_MAX_LISTENERS);
	__type(key, struct gw_xdp_lkey);
	__type(value, struct gw_xdp_lstats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_xdp_lstn SEC(".maps");

/* verdict counters indexed by enum gw_xdp_reason */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_XDP_REASON_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_xdp_reason SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_xdp_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_xdp_cfg SEC(".maps");

/* SYN token buckets by source; LRU so a spoofed flood evicts old sources
 * instead of failing inserts */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_XDP_MAX_SOURCES);
	__type(key, struct gw_xdp_src);
	__type(value, struct gw_xdp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_xdp_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GW_XDP_MAX_DENY);
	__type(key, struct gw_xdp_lpm4);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_xdp_deny4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GW_XDP_MAX_DENY);
	__type(key, struct gw_xdp_lpm6);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_xdp_deny6 SEC(".maps");

#endif
