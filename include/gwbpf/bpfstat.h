/* gwbpf/bpfstat.h - reading gwbpf's pinned BPF objects without the daemon. */
#ifndef GWBPF_BPFSTAT_H
#define GWBPF_BPFSTAT_H

#include <stdio.h>

#include "gwbpf/api.h"

/* gw_bpfstat_read() : walks the pinned maps under bpffs (recursively) and
 * returns a new json_t * {"bpffs":..., "maps":[{name, path, type, keySize,
 * valueSize, maxEntries, entries, [counters]}]}. Per-CPU maps with 8-byte
 * values get their per-key sums in "counters". With conns, socket maps also
 * list their entry count as "sockets". NULL + errno when bpffs is unreadable. */
void *gw_bpfstat_read(const char *bpffs, bool conns);
/* gw_bpfstat_print() : table of a gw_bpfstat_read() document */
void gw_bpfstat_print(const void *doc, FILE *f);

/* gw_bpfstat_mechanisms() : per kernel mechanism, what it kept in the kernel,
 * what it passed to userspace and its fallbacks by reason, read from the pins
 * under bpffs (NULL = default): a new json_t * {"bypass", "steer", "splice"},
 * each null when not pinned; NULL on ENOMEM */
void *gw_bpfstat_mechanisms(const char *bpffs);
/* gw_bpfstat_route_counts() : the pinned gw_route_cnt as a new json_t * array
 * of {bind, listener, vhost, match, requests, requestBytes} (json null when
 * not pinned) */
void *gw_bpfstat_route_counts(const char *bpffs);
/* gw_bpfstat_print_mechanisms() : table of a gw_bpfstat_mechanisms() object */
void gw_bpfstat_print_mechanisms(const void *mech, FILE *f);

#endif
