/* l4/stats.c - the L4 counters: process-wide relaxed atomics bumped by the
 * workers, read by /metrics (gwbpf_l4_* families) and by tests. */
#include "gwbpf/api.h"

#include <stdio.h>

#include "l4-int.h"

struct gw_l4_counters gw_l4_cnt;

void gw_l4_stats(struct gw_l4_stats *st)
{
#define LD(f) st->f = atomic_load_explicit(&gw_l4_cnt.f, memory_order_relaxed)
	LD(accepted);
	LD(active);
	LD(relayed);
	LD(hello_bad);
	LD(hello_truncated);
	LD(hello_timeout);
	LD(no_route);
	LD(no_backend);
	LD(connect_errors);
	LD(idle_timeouts);
	LD(resets);
	LD(bytes_c2u);
	LD(bytes_u2c);
	LD(splice_started);
	LD(splice_fallbacks);
	LD(udp_flows);
	LD(udp_active);
	LD(udp_expired);
	LD(udp_dropped);
	LD(udp_c2u);
	LD(udp_u2c);
#undef LD
}

void gw_l4_metrics_print(FILE *f)
{
	struct gw_l4_stats st;
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fam[] = {
#define F(n, t, h) {"gwbpf_l4_" #n, t, h, offsetof(struct gw_l4_stats, n)}
	    F(accepted, "counter", "TCP/TLS connections accepted on L4 listeners."),
	    F(active, "gauge", "L4 TCP/TLS connections open."),
	    F(relayed, "counter", "L4 connections that reached the relay."),
	    F(hello_bad, "counter",
	      "Passthrough: not a TLS ClientHello, or a failed TLSRoute handshake."),
	    F(hello_truncated, "counter", "Passthrough: EOF before a complete ClientHello."),
	    F(hello_timeout, "counter", "No complete ClientHello (or handshake) in time."),
	    F(no_route, "counter", "L4 connections or flows without a route (unknown SNI)."),
	    F(no_backend, "counter", "L4 connections or flows without a usable backend."),
	    F(connect_errors, "counter", "Upstream connects that failed."),
	    F(idle_timeouts, "counter", "L4 streams closed for inactivity."),
	    F(resets, "counter", "Resets or errors on one side passed on to the other."),
	    F(bytes_c2u, "counter", "Bytes relayed client to upstream."),
	    F(bytes_u2c, "counter", "Bytes relayed upstream to client."),
	    F(splice_started, "counter", "L4 streams handed to the kernel splice."),
	    F(splice_fallbacks, "counter", "Splice refused: relayed in userspace."),
	    F(udp_flows, "counter", "UDP flows created."),
	    F(udp_active, "gauge", "UDP flows open."),
	    F(udp_expired, "counter", "UDP flows closed for inactivity."),
	    F(udp_dropped, "counter", "UDP datagrams dropped."),
	    F(udp_c2u, "counter", "UDP datagrams client to upstream."),
	    F(udp_u2c, "counter", "UDP datagrams upstream to client."),
#undef F
	};

	gw_l4_stats(&st);
	for (size_t i = 0; i < ARRAY_SIZE(fam); i++) {
		uint64_t v = *(const uint64_t *)((const char *)&st + fam[i].off);
		bool counter = !strcmp(fam[i].type, "counter");

		fprintf(f, "# HELP %s%s %s\n# TYPE %s%s %s\n%s%s %llu\n", fam[i].name,
			counter ? "_total" : "", fam[i].help, fam[i].name, counter ? "_total" : "",
			fam[i].type, fam[i].name, counter ? "_total" : "", (unsigned long long)v);
	}
}
