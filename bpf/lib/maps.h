/* bpf/lib/maps.h - the maps of the sockmap fast path, shared by sockops and
 * sk_msg. Both objects declare the same maps; the loader points them at the
 * same pinned files, so they are one set of kernel objects. Keys and values
 * come from include/gwbpf/abi/maps.h. */
#ifndef GW_LIB_MAPS_H
#define GW_LIB_MAPS_H

#include "gwbpf/abi/maps.h"

/* loopback TCP sockets of the cgroup, keyed as each socket sees itself;
 * the value is the socket (userspace reads back its cookie) */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, GW_SOCK_HASH_MAX);
	__type(key, struct gw_sock_key);
	__type(value, __u64);
} gw_sock_hash SEC(".maps");

/* per-CPU counters, key = enum gw_reason */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_REASON_MAX);
	__type(key, __u32);
	__type(value, struct gw_counter);
} gw_counters SEC(".maps");

/* Gateway listener and local backend ports (GW_SCOPE_PORTS) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_PORTS_MAX);
	__type(key, __u32);
	__type(value, struct gw_port_val);
} gw_ports SEC(".maps");

/* runtime switches, one slot */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_config);
} gw_config SEC(".maps");

#endif
