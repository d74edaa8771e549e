/* dataplane/maps.c - programming the fast-path maps from a snapshot, and
 * reading them back from the pins (`gwbpf status maps|conns`, /metrics)
 * without needing the daemon. */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gwbpf/dataplane.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/log.h"
#include "dataplane-int.h"

int gw_dp_config_update(int fd, uint32_t set, uint32_t clear, int scope, uint64_t generation)
{
	struct gw_config cfg = {};
	uint32_t zero = 0;

	if (fd < 0)
		return -EBADF;
	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		return -errno;
	cfg.flags = (cfg.flags & ~clear) | set;
	if (scope >= 0)
		cfg.scope = (uint32_t)scope;
	if (generation != UINT64_MAX)
		cfg.generation = generation;
	/* one 16-byte value replaced as a whole: readers never see a mix */
	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int gw_dataplane_set_bypass(struct gw_dataplane *dp, bool on)
{
	if (!dp)
		return -EINVAL;
	return gw_dp_config_update(dp->config_fd, on ? GW_CFG_F_BYPASS : 0,
				   on ? 0 : GW_CFG_F_BYPASS, -1, UINT64_MAX);
}

static bool gw_dp_addr_is_loopback(const char *a)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, a, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, a, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/* gw_dp_ports_of() : flags the snapshot gives port (0 = not a gwbpf port) */
static uint32_t gw_dp_ports_of(const struct gw_ir *ir, uint32_t port)
{
	uint32_t flags = 0;

	for (size_t i = 0; i < ir->n_binds; i++)
		if (ir->binds[i].port == port)
			flags |= GW_PORT_LISTENER;
	for (size_t c = 0; c < ir->n_clusters; c++) {
		const struct gw_ir_cluster *cl = &ir->clusters[c];

		for (size_t e = 0; e < cl->n_endpoints; e++)
			if (cl->endpoints[e].port == port && cl->endpoints[e].address &&
			    gw_dp_addr_is_loopback(cl->endpoints[e].address))
				flags |= GW_PORT_BACKEND;
	}
	return flags;
}

/* gw_dp_port_put() : adds port with the flags the snapshot gives it */
static int gw_dp_port_put(int fd, const struct gw_ir *ir, uint32_t port)
{
	struct gw_port_val v = { .flags = gw_dp_ports_of(ir, port) };

	if (!v.flags)
		return 0;
	if (bpf_map_update_elem(fd, &port, &v, BPF_ANY))
		return -errno;
	return 0;
}

int gw_dataplane_sync(struct gw_dataplane *dp, const struct gw_ir *ir)
{
	uint32_t key, next, *stale = NULL;
	size_t n_stale = 0;
	int err = 0;

	if (!dp || !ir)
		return -EINVAL;
	/* add first, remove after: a port in both snapshots never disappears */
	for (size_t i = 0; i < ir->n_binds && !err; i++)
		err = gw_dp_port_put(dp->ports_fd, ir, ir->binds[i].port);
	for (size_t c = 0; c < ir->n_clusters && !err; c++)
		for (size_t e = 0; e < ir->clusters[c].n_endpoints && !err; e++)
			err = gw_dp_port_put(dp->ports_fd, ir, ir->clusters[c].endpoints[e].port);
	if (err) {
		pr_warn("dataplane: gw_ports update: %s", strerror(-err));
		goto out;
	}
	stale = calloc(GW_PORTS_MAX, sizeof(*stale));
	if (!stale) {
		err = -ENOMEM;
		goto out;
	}
	/* collect, then delete: deleting while walking restarts get_next_key */
	for (int r = bpf_map_get_next_key(dp->ports_fd, NULL, &next); !r && n_stale < GW_PORTS_MAX;
	     r = bpf_map_get_next_key(dp->ports_fd, &key, &next)) {
		key = next;
		if (!gw_dp_ports_of(ir, key))
			stale[n_stale++] = key;
	}
	for (size_t i = 0; i < n_stale; i++)
		bpf_map_delete_elem(dp->ports_fd, &stale[i]);
	err = gw_dp_config_update(dp->config_fd, 0, 0, -1, ir->generation);
out:
	free(stale);
	return err;
}

/* gw_dp_obj_get() : fd of a pin under bpffs, or -errno */
static int gw_dp_obj_get(const char *bpffs, const char *name)
{
	char path[PATH_MAX];
	int fd;

	fd = bpf_obj_get(gw_dp_pin_path(bpffs ? bpffs : GW_DP_BPFFS_DEFAULT, name, path));
	return fd < 0 ? -errno : fd;
}

static bool gw_dp_pinned(const char *bpffs, const char *name)
{
	char path[PATH_MAX];

	return access(gw_dp_pin_path(bpffs ? bpffs : GW_DP_BPFFS_DEFAULT, name, path), F_OK) == 0;
}

/* gw_dp_count_keys() : entries of a hash-type map (bounded by max) */
static uint32_t gw_dp_count_keys(int fd, size_t key_size, uint32_t max)
{
	char key[64], next[64];
	uint32_t n = 0;

	if (key_size > sizeof(key))
		return 0;
	for (int r = bpf_map_get_next_key(fd, NULL, next); !r && n < max;
	     r = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, key_size);
		n++;
	}
	return n;
}

int gw_dataplane_stats(const char *bpffs, struct gw_dataplane_stats *st)
{
	int ncpu = libbpf_num_possible_cpus();
	int hash_fd = -1, cnt_fd = -1, ports_fd = -1, cfg_fd = -1;
	struct gw_counter *per_cpu = NULL;
	struct gw_config cfg = {};
	uint32_t zero = 0;
	int err;

	memset(st, 0, sizeof(*st));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	hash_fd = gw_dp_obj_get(bpffs, GW_PIN_SOCK_HASH);
	cnt_fd = gw_dp_obj_get(bpffs, GW_PIN_COUNTERS);
	ports_fd = gw_dp_obj_get(bpffs, GW_PIN_PORTS);
	cfg_fd = gw_dp_obj_get(bpffs, GW_PIN_CONFIG);
	if (hash_fd < 0 || cnt_fd < 0 || ports_fd < 0 || cfg_fd < 0) {
		err = hash_fd < 0 ? hash_fd : cnt_fd < 0 ? cnt_fd : ports_fd < 0 ? ports_fd : cfg_fd;
		goto out;
	}
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	if (!per_cpu) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t r = 0; r < GW_REASON_MAX; r++) {
		if (bpf_map_lookup_elem(cnt_fd, &r, per_cpu))
			continue;
		for (int c = 0; c < ncpu; c++) {
			st->reasons[r].count += per_cpu[c].count;
			st->reasons[r].bytes += per_cpu[c].bytes;
		}
	}
	if (!bpf_map_lookup_elem(cfg_fd, &zero, &cfg)) {
		st->flags = cfg.flags;
		st->scope = cfg.scope;
		st->generation = cfg.generation;
	}
	st->n_socks = gw_dp_count_keys(hash_fd, sizeof(struct gw_sock_key), GW_SOCK_HASH_MAX);
	st->n_ports = gw_dp_count_keys(ports_fd, sizeof(uint32_t), GW_PORTS_MAX);
	st->sockops_attached = gw_dp_pinned(bpffs, GW_PIN_SOCKOPS);
	st->skmsg_attached = gw_dp_pinned(bpffs, GW_PIN_SKMSG_PROG);
	err = 0;
out:
	free(per_cpu);
	if (hash_fd >= 0)
		close(hash_fd);
	if (cnt_fd >= 0)
		close(cnt_fd);
	if (ports_fd >= 0)
		close(ports_fd);
	if (cfg_fd >= 0)
		close(cfg_fd);
	return err;
}

int gw_dataplane_conns(const char *bpffs, gw_dp_conn_fn fn, void *arg)
{
	struct gw_sock_key key, next;
	struct gw_dp_conn c;
	uint32_t n = 0;
	int fd, err = 0;

	fd = gw_dp_obj_get(bpffs, GW_PIN_SOCK_HASH);
	if (fd < 0)
		return fd;
	for (int r = bpf_map_get_next_key(fd, NULL, &next); !r && n < GW_SOCK_HASH_MAX;
	     r = bpf_map_get_next_key(fd, &key, &next), n++) {
		key = next;
		memset(&c, 0, sizeof(c));
		c.key = key;
		/* a sockhash lookup from userspace returns the socket cookie;
		 * the socket may have closed since get_next_key: skip it */
		if (bpf_map_lookup_elem(fd, &key, &c.cookie))
			continue;
		err = fn(&c, arg);
		if (err)
			break;
	}
	close(fd);
	return err;
}

const char *gw_dataplane_reason_name(unsigned int reason)
{
	static const char *const names[GW_REASON_END - GW_REASON_BASE] = {
		[GW_VERDICT_SOCK_INSERT - GW_REASON_BASE] = "sock_insert",
		[GW_VERDICT_SOCK_SKIP_NONLOCAL - GW_REASON_BASE] = "sock_skip_nonlocal",
		[GW_VERDICT_SOCK_SKIP_PORT - GW_REASON_BASE] = "sock_skip_port",
		[GW_DROP_SOCK_INSERT_FAIL - GW_REASON_BASE] = "sock_insert_fail",
		[GW_VERDICT_MSG_REDIRECT - GW_REASON_BASE] = "msg_redirect",
		[GW_VERDICT_MSG_PASS_MISS - GW_REASON_BASE] = "msg_pass_miss",
		[GW_VERDICT_MSG_PASS_OFF - GW_REASON_BASE] = "msg_pass_off",
	};

	if (reason < GW_REASON_BASE || reason >= GW_REASON_END)
		return NULL;
	return names[reason - GW_REASON_BASE];
}

static void gw_dp_addr_str(const struct gw_sock_key *k, const uint32_t *a, uint16_t port,
			   char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(k->family == GW_AF_INET6 ? AF_INET6 : AF_INET, a, ip, sizeof(ip));
	snprintf(buf, len, k->family == GW_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

char *gw_dataplane_conn_str(const struct gw_dp_conn *c, char *buf, size_t len)
{
	char l[INET6_ADDRSTRLEN + 8], r[INET6_ADDRSTRLEN + 8];

	gw_dp_addr_str(&c->key, c->key.local_ip, c->key.local_port, l, sizeof(l));
	gw_dp_addr_str(&c->key, c->key.remote_ip, c->key.remote_port, r, sizeof(r));
	snprintf(buf, len, "%s -> %s", l, r);
	return buf;
}
