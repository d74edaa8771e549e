/* dataplane/splice-int.h - what splice.c (open, pair, drive) shares with
 * splice_selfcheck.c (the startup self-check). Not a contract: only
 * userspace/dataplane/splice*.c include it.
 */
#ifndef GWBPF_DATAPLANE_SPLICE_INT_H
#define GWBPF_DATAPLANE_SPLICE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwbpf/splice.h"

struct gw_splice {
	char dir[PATH_MAX];
	struct sk_skb *skel;
	int hash_fd, peer_fd, ctr_fd, stat_fd; /* borrowed from the skeleton */
	int bypass_fd; /* the sk_msg bypass sockhash pinned in the same dir, or -1 */
	struct gw_splice_stats_val *stats; /* mmap of gw_splice_stat[0] */
	size_t stats_len;
	bool created_maps;
};

uint64_t gw_splice_now_ms(void); /* CLOCK_MONOTONIC in ms */
/* gw_splice_pin_path() : "<dir>/<name>" in buf (PATH_MAX bytes), "" when too
 * long; returns buf */
char *gw_splice_pin_path(const char *dir, const char *name, char *buf);
/* gw_splice_pair_opt() : gw_splice_pair(); check_bypass = false only for the
 * self-check, which switches the bypass off around itself */
int gw_splice_pair_opt(struct gw_splice *sp, int fd_a, int fd_b, struct gw_splice_pair *p,
		       bool check_bypass);

#endif /* GWBPF_DATAPLANE_SPLICE_INT_H */
