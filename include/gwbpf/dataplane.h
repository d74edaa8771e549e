/* gwbpf/dataplane.h - load, pin, attach and program the BPF fast path.
 *
 * One gw_dataplane per daemon. Opening loads the programs, creates or adopts
 * the pinned maps under the bpffs directory (mounting bpffs when needed),
 * attaches sk_msg to the sockhash and, when a cgroup is given, sockops to that
 * cgroup. A restarted daemon adopts what a previous one pinned instead of
 * tearing traffic down. Closing with keep_pinned leaves the fast path working
 * without the process; closing without removes exactly gwbpf's pins.
 */
#ifndef GWBPF_DATAPLANE_H
#define GWBPF_DATAPLANE_H

#include "gwbpf/api.h"
#include "gwbpf/dataplane-t.h"
#include "gwbpf/ir-t.h"

/* gw_dataplane_open() : opts may be NULL (all defaults). Returns a new data
 * plane, or NULL with errno set: EPERM (no privilege, or the cgroup is a
 * cgroup2 root without GW_DP_F_ALLOW_ROOT_CGROUP), EINVAL (cgroup is not a
 * cgroup v2 directory), ENOENT, or what the kernel said when loading. Callers
 * fall back to userspace-only forwarding on failure. Borrows opts. */
struct gw_dataplane *gw_dataplane_open(const struct gw_dataplane_opts *opts);

/* gw_dataplane_sync() : programs the maps from a snapshot: listener ports and
 * loopback backend ports into gw_ports, the generation into gw_config. Ports
 * no longer in the snapshot are removed after the new ones are in, so a port
 * in both snapshots never disappears. Borrows ir. Returns 0 or -errno. */
int gw_dataplane_sync(struct gw_dataplane *dp, const struct gw_ir *ir);

/* gw_dataplane_set_bypass() : turn the sk_msg redirect on or off at run time
 * (gw_config flag; sockets stay in the map). Returns 0 or -errno. */
int gw_dataplane_set_bypass(struct gw_dataplane *dp, bool on);

/* gw_dataplane_loan_tick() : L7 forwarding housekeeping, to be called every
 * ~100 ms from the thread that calls gw_dataplane_sync(): closes loaned
 * backend connections that died or were retired and opens replacements.
 * No-op without GW_DP_F_STEER_FWD. Returns 0. */
int gw_dataplane_loan_tick(struct gw_dataplane *dp);

struct gw_steer_maps;
/* gw_dataplane_steer_maps() : the maps the proxy shares connections with the
 * kernel through (for gw_steer_set()), or NULL without GW_DP_F_STEER_FWD.
 * Valid until gw_dataplane_close(). */
const struct gw_steer_maps *gw_dataplane_steer_maps(struct gw_dataplane *dp);

/* gw_dataplane_close() : accepts NULL. keep_pinned: leave programs attached
 * and maps pinned for the next daemon. Otherwise detach and unpin gwbpf's own
 * objects (never anything else in the directory) and remove the directory if
 * it is then empty. */
void gw_dataplane_close(struct gw_dataplane *dp, bool keep_pinned);

/* gw_dataplane_stats() : reads the pins under bpffs (NULL = default) without
 * the daemon. Returns 0 with *st filled, -ENOENT when nothing is pinned there,
 * or -errno. */
int gw_dataplane_stats(const char *bpffs, struct gw_dataplane_stats *st);

/* gw_dataplane_conns() : calls fn for each socket of the pinned sockhash
 * (snapshot while iterating: sockets come and go). fn returns 0 to go on or
 * non-zero to stop (that value is returned). Returns 0, -ENOENT or -errno. */
typedef int (*gw_dp_conn_fn)(const struct gw_dp_conn *c, void *arg);
int gw_dataplane_conns(const char *bpffs, gw_dp_conn_fn fn, void *arg);

/* gw_dataplane_route_counts() : calls fn for each route match the kernel has
 * forwarded requests for (pinned gw_route_cnt, read without the daemon). fn
 * returns 0 to go on. Returns 0, -ENOENT when nothing is pinned, or -errno. */
typedef int (*gw_dp_route_fn)(const struct gw_dp_route_count *rc, void *arg);
int gw_dataplane_route_counts(const char *bpffs, gw_dp_route_fn fn, void *arg);

/* gw_dataplane_pin_retired() : name is a pin an older gwbpf made and this
 * build no longer uses (gw_dataplane_open() removes those it finds) */
bool gw_dataplane_pin_retired(const char *name);

/* gw_dataplane_reason_name() : "sock_insert", "msg_redirect", ...; NULL for a
 * code that is not in use. Stable: used as metric label values. */
const char *gw_dataplane_reason_name(unsigned int reason);

/* gw_dataplane_conn_str() : "127.0.0.1:40000 -> 127.0.0.1:8080" into buf
 * (at least 120 bytes). Returns buf. */
char *gw_dataplane_conn_str(const struct gw_dp_conn *c, char *buf, size_t len);

#endif
