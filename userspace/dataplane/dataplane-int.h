/* dataplane/dataplane-int.h - state shared by loader.c and maps.c (private to
 * userspace/dataplane/). */
#ifndef GWBPF_DATAPLANE_INT_H
#define GWBPF_DATAPLANE_INT_H

#include <limits.h>

#include "gwbpf/dataplane-t.h"

struct sockops;
struct sk_msg;
struct bpf_link;

struct gw_dataplane {
	char dir[PATH_MAX];          /* pin directory */
	uint32_t flags;              /* GW_DP_F_* as opened */
	struct sockops *sockops; /* skeletons; their maps are the pinned ones */
	struct sk_msg *skmsg;
	struct bpf_link *sockops_link; /* NULL when no cgroup */
	int sock_hash_fd;              /* borrowed from the skeleton */
	int ports_fd;
	int config_fd;
	int rt_epoch_fd; /* L7 steering route tables (maps.c) */
	int rt_bind_fd;
	int rt_host_fd;
	int rt_vhost_fd;
	struct gw_loan_pool *loan; /* L7 forwarding: loaned connections (loan.c) */
	/* what this process created, so a failed open undoes only that */
	bool created_dir;
	bool mounted_dir;  /* we mounted a bpffs on dir itself */
	bool created_maps; /* the maps did not exist before (not adopted) */
	bool adopted_link; /* sockops link came from a previous daemon */
};

struct gw_ir;
struct gw_ir_vhost;
struct gw_rt_vhost;

/* gw_dp_rt_compile_vhost() : (maps.c) the kernel's match list of vh */
void gw_dp_rt_compile_vhost(const struct gw_ir_vhost *vh, struct gw_rt_vhost *v);

/* loan.c: the pool of loaned backend connections (GW_DP_F_STEER_FWD).
 * gw_dp_loan_open() returns 0 or -errno (dp->loan set); close accepts a dp
 * without a pool; sync follows a route table sync (epoch = the live epoch). */
int gw_dp_loan_open(struct gw_dataplane *dp);
void gw_dp_loan_close(struct gw_dataplane *dp);
int gw_dp_loan_sync(struct gw_dataplane *dp, const struct gw_ir *ir, uint64_t epoch);

/* gw_dp_names_sync() : (route_names.c) the pinned names of gw_route_cnt's
 * keys for ir; 0 or -errno (the counters work without them) */
int gw_dp_names_sync(struct gw_dataplane *dp, const struct gw_ir *ir);

/* gw_dp_pin_path() : dir/name into buf (PATH_MAX); returns buf */
char *gw_dp_pin_path(const char *dir, const char *name, char *buf);

/* gw_dp_config_update() : read-modify-write of gw_config[0] on fd: clears
 * clear, sets set, and stores generation unless it is UINT64_MAX */
int gw_dp_config_update(int fd, uint32_t set, uint32_t clear, int scope, uint64_t generation);

#endif
