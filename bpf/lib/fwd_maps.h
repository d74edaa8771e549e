/* bpf/lib/fwd_maps.h - the maps of L7 forwarding (lib/fwd.h) that more than
 * one program touches: the loan slots, the per client connection state, the
 * per-route counters. sk_msg forwards with them; sockops (STATE_CB) frees a
 * client connection's entries when its socket closes, so no connection's
 * entry outlives it, whoever handled the connection (HTTP/1.1 proxy, HTTP/2
 * code, the kernel). Both objects declare the same maps; they are shared
 * through their pins (loader.c).
 */
#ifndef GW_LIB_FWD_MAPS_H
#define GW_LIB_FWD_MAPS_H

#include "lib/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_LOAN_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gw_loan_slot);
} gw_loan SEC(".maps");

/* backend socket key -> slot index */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_LOAN_SLOTS);
	__type(key, struct gw_sock_key);
	__type(value, __u32);
} gw_loan_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_LOAN_CLUSTERS);
	__type(key, __u32);
	__type(value, struct gw_loan_dir);
} gw_loan_dir_v2 SEC(".maps");

/* client socket key -> state; deleted when the client socket closes
 * (sockops, gw_fwd_conn_closed()) and when the proxy ends the connection
 * (LRU all the same: a socket that closed before sockops was attached) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_STEER_CONNS);
	__type(key, struct gw_sock_key);
	__type(value, struct gw_steer_conn);
} gw_steer_conn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_STEER_CONNS);
	__type(key, struct gw_sock_key);
	__type(value, __u64);
} gw_steer_ack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, GW_ROUTE_CNT_MAX);
	__type(key, struct gw_route_key);
	__type(value, struct gw_counter);
} gw_route_cnt SEC(".maps");

/* client socket key -> loan state word the proxy waits on (abi/maps.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_STEER_CONNS);
	__type(key, struct gw_sock_key);
	__type(value, __u64);
} gw_steer_want SEC(".maps");

/* slot -> bytes of its current response handed back to the daemon's end */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_LOAN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} gw_loan_tail SEC(".maps");

/* the route of the request each busy loan answers (slot -> route key) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_LOAN_SLOTS);
	__type(key, __u32);
	__type(value, struct gw_route_key);
} gw_loan_route SEC(".maps");

/* responses per route: count = framed to their end, bytes = delivered */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, GW_ROUTE_CNT_MAX);
	__type(key, struct gw_route_key);
	__type(value, struct gw_counter);
} gw_route_resp SEC(".maps");

/* gw_fwd_conn_closed() : the client socket whose own key is *me has closed:
 * drops its gw_steer_conn and gw_steer_ack entries. A forwarded response
 * still in flight can never be delivered: its loan is marked DEAD (by the
 * seq it was taken with, so a later borrower's loan is never hit) and the
 * daemon closes it, as the proxy does when it ends such a connection. */
static __always_inline void gw_fwd_conn_closed(const struct gw_sock_key *me)
{
	struct gw_steer_conn *conn = bpf_map_lookup_elem(&gw_steer_conn, me);

	if (!conn)
		return;
	if (conn->inflight && conn->inflight <= GW_LOAN_SLOTS) {
		__u32 idx = conn->inflight - 1;
		struct gw_loan_slot *s = bpf_map_lookup_elem(&gw_loan, &idx);
		__u64 seq = conn->seq;

		if (s)
			__sync_val_compare_and_swap(&s->state, seq,
						    (seq & ~0xffull) | GW_LOAN_DEAD);
	}
	bpf_map_delete_elem(&gw_steer_conn, me);
	bpf_map_delete_elem(&gw_steer_ack, me);
	bpf_map_delete_elem(&gw_steer_want, me);
}

#endif
