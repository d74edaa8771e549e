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
	/* body splice (splice_body.c); body_ok = loaded and self-checked */
	struct sk_skb_body *bskel;
	int body_hash_fd, body_out_fd, body_left_fd; /* borrowed from bskel */
	bool body_ok;
};

struct sk_skb_body;

uint64_t gw_splice_now_ms(void); /* CLOCK_MONOTONIC in ms */
/* gw_splice_pin_path() : "<dir>/<name>" in buf (PATH_MAX bytes), "" when too
 * long; returns buf */
char *gw_splice_pin_path(const char *dir, const char *name, char *buf);
/* gw_splice_pair_opt() : gw_splice_pair(); check_bypass = false only for the
 * self-check, which switches the bypass off around itself */
int gw_splice_pair_opt(struct gw_splice *sp, int fd_a, int fd_b, struct gw_splice_pair *p,
		       bool check_bypass);

/* gw_splice_written() : bytes ever written into fd (acked + queued) */
int gw_splice_written(int fd, uint64_t *out);
/* gw_splice_established() : 0 when fd is an ESTABLISHED TCP socket, -ENOTCONN */
int gw_splice_established(int fd);
/* gw_splice_loop_pair() : a connected non-blocking TCP pair through the
 * listening lfd bound at sa (for the self-checks); 0 or -errno, fds in
 * cfd and sfd, which the caller closes (it sets them to -1 first) */
struct sockaddr_in;
int gw_splice_loop_pair(int lfd, const struct sockaddr_in *sa, int *cfd, int *sfd);
/* gw_splice_bypassed() : fd's local peer writes into it through sk_msg */
bool gw_splice_bypassed(struct gw_splice *sp, int fd);

/* splice_body.c: gw_body_splice_open() loads, attaches, pins and checks the
 * body splice into sp (failure: warned, sp->body_ok false, nothing left
 * behind); _free() accepts an unloaded sp; _unpin() removes its pins */
int gw_body_splice_open(struct gw_splice *sp, const struct gw_splice_opts *opts);
void gw_body_splice_free(struct gw_splice *sp);
void gw_body_splice_unpin(struct gw_splice *sp);

#endif /* GWBPF_DATAPLANE_SPLICE_INT_H */
