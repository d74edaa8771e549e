/* gwbpf/xdp.h - the XDP ingress program: attach, program, read.
 *
 * Typical use by `gwbpf run --xdp-iface IF...`:
 *
 *	x = gw_xdp_open(ifaces, n, NULL);        // attach (or adopt) on each IF
 *	gw_xdp_set_listeners(x, ir);             // after every new snapshot
 *	gw_xdp_metrics(x, f);                    // /metrics
 *	gw_xdp_close(x, keep);                   // keep = leave attached for restart
 *
 * Maps are pinned under GW_XDP_PIN_DIR; gw_xdp_open_pinned() reads them
 * without attaching anything (for `gwbpf status`). None of these functions
 * is thread-safe on the same handle: call them from one thread.
 */
#ifndef GWBPF_XDP_H
#define GWBPF_XDP_H

#include <stdio.h>

#include "gwbpf/api.h"
#include "gwbpf/abi/xdp.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/xdp-t.h"

/* gw_xdp_open() : loads the XDP program (maps pinned in opts->pin_dir) and
 * attaches it through libxdp to every interface in ifaces[0..n). An interface
 * that already runs our program is adopted: left as it is, its pinned maps
 * reused, so a restart never interrupts traffic. n = 0 loads without
 * attaching (tests run the program with gw_xdp_prog_fd()). opts may be NULL.
 * Returns a new handle, or NULL with errno set (ENODEV: unknown interface).
 * Borrows ifaces and opts. */
struct gw_xdp *gw_xdp_open(const char *const *ifaces, size_t n, const struct gw_xdp_opts *opts);

/* gw_xdp_open_pinned() : read-only handle on the maps pinned in pin_dir
 * (NULL = GW_XDP_PIN_DIR); nothing is attached or detached. NULL/errno
 * (ENOENT when the program was never pinned there). */
struct gw_xdp *gw_xdp_open_pinned(const char *pin_dir);

/* gw_xdp_close() : keep = true leaves the program attached and its maps
 * pinned (a restarted daemon adopts them); keep = false detaches it from
 * every interface it was attached to or adopted on and removes the pins,
 * leaving the interfaces as they were. Accepts NULL. */
void gw_xdp_close(struct gw_xdp *x, bool keep);

/* gw_xdp_set_listeners() : makes the listener set exactly the binds of ir
 * (HTTP, HTTPS, TLS, TCP -> tcp; UDP -> udp). Counters of listeners that stay
 * are kept. Borrows ir. 0 or -errno (-EINVAL: an address that is not numeric). */
int gw_xdp_set_listeners(struct gw_xdp *x, const struct gw_ir *ir);

/* gw_xdp_set_listener_list() : same from an explicit list (borrowed) */
int gw_xdp_set_listener_list(struct gw_xdp *x, const struct gw_xdp_listener *l, size_t n);

/* gw_xdp_set_deny() : makes the deny set exactly cidrs[0..n) ("10.0.0.0/8",
 * "2001:db8::/32"; a bare address is a host). Sources in it get nothing on a
 * listener port. All-or-nothing: -EINVAL for any bad CIDR changes nothing. */
int gw_xdp_set_deny(struct gw_xdp *x, const char *const *cidrs, size_t n);

/* gw_xdp_set_syn_limit() : per-source SYN token bucket for TCP listeners;
 * rate 0 turns the limit off, burst 0 means 2 * rate. 0 or -errno. */
int gw_xdp_set_syn_limit(struct gw_xdp *x, uint32_t rate, uint32_t burst);

/* gw_xdp_prog_fd() : fd of the loaded program (for BPF_PROG_TEST_RUN), or
 * -ENOENT when the handle is read-only or adopted */
int gw_xdp_prog_fd(const struct gw_xdp *x);

/* gw_xdp_read_listeners() : counters of every listener key, summed over CPUs,
 * into a new malloc'd array (*out, caller frees) of *n entries. 0 or -errno. */
int gw_xdp_read_listeners(struct gw_xdp *x, struct gw_xdp_listener_stats **out, size_t *n);

/* gw_xdp_read_reason() : the verdict counter of reason r, summed over CPUs */
int gw_xdp_read_reason(struct gw_xdp *x, enum gw_xdp_reason r, uint64_t *value);

/* gw_xdp_reason_name() : "drop_deny", "pass_listener", ...; NULL if unknown */
const char *gw_xdp_reason_name(enum gw_xdp_reason r);

/* gw_xdp_metrics() : writes Prometheus text lines (gwbpf_xdp_*) for every
 * listener and reason to f. 0 or -errno. */
int gw_xdp_metrics(struct gw_xdp *x, FILE *f);

#endif
