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
#include "gwbpf/router.h"
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


/* ---- L7 steering route tables ----
 *
 * The kernel picks a listener (and then a vhost) by looking up the request
 * host exactly, then "*" + each of its dot suffixes longest first, then the
 * "any host" entry: the most specific pattern wins. gw_router_match() takes
 * the first pattern in IR order instead. The two agree when every pair of
 * patterns that can match one host is ordered most specific first, which is
 * what the translator produces; gw_dp_rt_order_ok() checks it, and a list
 * that breaks it is compiled as "userspace" rather than trusted.
 */

/* specificity as the kernel sees it: exact > longer wildcard > any */
static long gw_dp_rt_rank(const char *pat)
{
	if (!pat)
		return -1;
	if (pat[0] == '*' && pat[1] == '.')
		return (long)strlen(pat);
	return LONG_MAX;
}

/* can some host match both patterns? */
static bool gw_dp_rt_overlap(const char *a, const char *b)
{
	struct gw_slice sa, sb;

	if (!a || !b)
		return true;
	sa.p = a;
	sa.len = strlen(a);
	sb.p = b;
	sb.len = strlen(b);
	if (gw_dp_rt_rank(a) == LONG_MAX)
		return gw_router_hostname_match(b, sa);
	if (gw_dp_rt_rank(b) == LONG_MAX)
		return gw_router_hostname_match(a, sb);
	/* two wildcards: one suffix ends the other */
	sa.p++, sa.len--;
	sb.p++, sb.len--;
	if (sa.len > sb.len)
		return strcasecmp(sa.p + sa.len - sb.len, sb.p) == 0;
	return strcasecmp(sb.p + sb.len - sa.len, sa.p) == 0;
}

/* gw_dp_rt_order_ok() : in an array of n elements stride bytes apart, each
 * with its hostname pattern (char *) at offset off, no later, more specific
 * overlapping pattern hides behind an earlier one */
static bool gw_dp_rt_order_ok(const void *base, size_t n, size_t stride, size_t off)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = *(char *const *)((const char *)base + i * stride + off);

		for (size_t j = i + 1; j < n; j++) {
			const char *b = *(char *const *)((const char *)base + j * stride + off);

			if (gw_dp_rt_rank(b) > gw_dp_rt_rank(a) && gw_dp_rt_overlap(a, b))
				return false;
		}
	}
	return true;
}

/* gw_dp_rt_host_key() : key for a listener/vhost hostname pattern. Returns
 * false when no host the kernel parser accepts can match it (too long), so it
 * needs no entry. */
static bool gw_dp_rt_host_key(struct gw_rt_host_key *k, uint32_t gen, uint32_t scope,
			      const char *pat)
{
	size_t n = pat ? strlen(pat) : 0;

	memset(k, 0, sizeof(*k));
	k->gen = gen;
	k->scope = scope;
	if (n > GW_RT_HOST_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = pat[i];

		k->host[i] = (uint8_t)((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
	}
	k->len = (uint32_t)n;
	return true;
}

/* gw_dp_rt_put_host() : first pattern wins on a duplicate (modulo case), as
 * in the router's first-match */
static int gw_dp_rt_put_host(int fd, const struct gw_rt_host_key *k, const struct gw_rt_id *v)
{
	if (bpf_map_update_elem(fd, k, v, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	return 0;
}

/* gw_dp_rt_action_cluster() : the cluster of a kernel_ok action's single
 * chosen backend, or -1 */
static int32_t gw_dp_rt_action_cluster(const struct gw_ir_action *a)
{
	int32_t cl = -1;
	size_t n = 0;

	for (size_t i = 0; i < a->n_backends; i++) {
		if (!a->backends[i].weight)
			continue;
		cl = a->backends[i].cluster;
		n++;
	}
	return n == 1 ? cl : -1;
}

/* gw_dp_rt_compile_vhost() : the first GW_RT_MATCHES matches of vh; a walk
 * that runs off the end goes to the proxy, so truncation is safe */
void gw_dp_rt_compile_vhost(const struct gw_ir_vhost *vh, struct gw_rt_vhost *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < vh->n_matches && i < GW_RT_MATCHES; i++) {
		const struct gw_ir_match *m = &vh->matches[i];
		struct gw_rt_match *e = &v->m[i];
		const struct gw_ir_action *a =
			m->action < vh->n_actions ? &vh->actions[m->action] : NULL;
		size_t n = m->path ? strlen(m->path) : 0;

		e->index = (uint16_t)i;
		e->cluster = -1;
		v->n = (uint32_t)i + 1;
		if (m->path_type == GW_MATCH_PREFIX)
			n = gw_router_prefix_len(m->path);
		if (!a || !m->path || n > GW_RT_PATH_LEN ||
		    (m->path_type != GW_MATCH_EXACT && m->path_type != GW_MATCH_PREFIX)) {
			/* regex, or a path the kernel cannot hold: stop here */
			e->kind = GW_RT_M_STOP;
			continue;
		}
		e->kind = m->path_type == GW_MATCH_EXACT ? GW_RT_M_EXACT : GW_RT_M_PREFIX;
		e->len = (uint16_t)n;
		memcpy(e->path, m->path, n);
		/* a path hit on a match with more conditions, or on a rule that
		 * needs the proxy, is the proxy's: the kernel stops there too */
		if (m->method || m->n_headers || m->n_queries || !a->kernel_ok ||
		    a->direct_status || a->n_filters)
			continue;
		e->cluster = gw_dp_rt_action_cluster(a);
		if (e->cluster >= 0)
			e->kind |= GW_RT_M_KERNEL;
	}
}

/* gw_dp_rt_bind_key() : false when the address is not numeric */
static bool gw_dp_rt_bind_key(struct gw_rt_bind_key *k, uint32_t gen, const struct gw_ir_bind *b)
{
	struct in6_addr a6;
	struct in_addr a4;

	memset(k, 0, sizeof(*k));
	k->gen = gen;
	k->port = b->port;
	if (b->address && inet_pton(AF_INET, b->address, &a4) == 1) {
		k->family = GW_AF_INET;
		k->ip[0] = a4.s_addr;
		return true;
	}
	if (b->address && inet_pton(AF_INET6, b->address, &a6) == 1) {
		/* IPv4-mapped folds to IPv4, as the sk_msg side folds addresses */
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			k->family = GW_AF_INET;
			memcpy(&k->ip[0], &a6.s6_addr[12], 4);
		} else {
			k->family = GW_AF_INET6;
			memcpy(k->ip, &a6, 16);
		}
		return true;
	}
	return false;
}

/* gw_dp_rt_fill() : writes the whole table for ir under generation gen */
static int gw_dp_rt_fill(struct gw_dataplane *dp, const struct gw_ir *ir, uint32_t gen)
{
	struct gw_rt_vhost *val = calloc(1, sizeof(*val));
	uint32_t listener_id = 0, vhost_id = 0;
	int err = 0;

	if (!val)
		return -ENOMEM;
	for (size_t bi = 0; bi < ir->n_binds && !err; bi++) {
		const struct gw_ir_bind *b = &ir->binds[bi];
		struct gw_rt_bind_key bk;
		struct gw_rt_id bv = { .id = (uint32_t)bi + 1, .index = (uint16_t)bi };

		/* only cleartext HTTP can be parsed in the kernel */
		if (b->proto != GW_PROTO_HTTP || !gw_dp_rt_bind_key(&bk, gen, b))
			continue;
		if (!gw_dp_rt_order_ok(b->listeners, b->n_listeners, sizeof(*b->listeners),
				       offsetof(struct gw_ir_listener, hostname)))
			bv.flags |= GW_RT_F_USERSPACE;
		/* two binds on one address:port: only the first can be serving */
		if (bpf_map_update_elem(dp->rt_bind_fd, &bk, &bv, BPF_NOEXIST)) {
			if (errno != EEXIST)
				err = -errno;
			continue;
		}
		if (bv.flags)
			continue;
		for (size_t li = 0; li < b->n_listeners && !err; li++) {
			const struct gw_ir_listener *l = &b->listeners[li];
			struct gw_rt_id lv = { .id = ++listener_id, .index = (uint16_t)li };
			struct gw_rt_host_key hk;

			if (l->proto != GW_PROTO_HTTP ||
			    !gw_dp_rt_order_ok(l->vhosts, l->n_vhosts, sizeof(*l->vhosts),
					       offsetof(struct gw_ir_vhost, hostname)))
				lv.flags |= GW_RT_F_USERSPACE;
			if (!gw_dp_rt_host_key(&hk, gen, bv.id, l->hostname))
				continue;
			err = gw_dp_rt_put_host(dp->rt_host_fd, &hk, &lv);
			for (size_t vi = 0; vi < l->n_vhosts && !err && !lv.flags; vi++) {
				const struct gw_ir_vhost *vh = &l->vhosts[vi];
				struct gw_rt_id vv = { .id = ++vhost_id, .index = (uint16_t)vi };
				struct gw_rt_vhost_key vk = { .gen = gen, .id = vv.id };

				if (!gw_dp_rt_host_key(&hk, gen, GW_RT_SCOPE_LISTENER | lv.id,
						       vh->hostname))
					continue;
				gw_dp_rt_compile_vhost(vh, val);
				if (bpf_map_update_elem(dp->rt_vhost_fd, &vk, val, BPF_ANY))
					err = -errno;
				else
					err = gw_dp_rt_put_host(dp->rt_host_fd, &hk, &vv);
			}
		}
	}
	free(val);
	return err;
}

/* gw_dp_rt_purge() : deletes every entry of generation gen from a hash map
 * whose key starts with the __u32 generation */
static void gw_dp_rt_purge(int fd, size_t key_size, uint32_t max, uint32_t gen)
{
	uint8_t key[128], next[128], *stale;
	size_t n = 0;

	if (key_size > sizeof(key))
		return;
	stale = calloc(max, key_size);
	if (!stale)
		return;
	for (int r = bpf_map_get_next_key(fd, NULL, next); !r && n < max;
	     r = bpf_map_get_next_key(fd, key, next)) {
		uint32_t g;

		memcpy(key, next, key_size);
		memcpy(&g, key, sizeof(g));
		if (g == gen)
			memcpy(stale + n++ * key_size, key, key_size);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, stale + i * key_size);
	free(stale);
}

static void gw_dp_rt_purge_all(struct gw_dataplane *dp, uint32_t gen)
{
	gw_dp_rt_purge(dp->rt_bind_fd, sizeof(struct gw_rt_bind_key), GW_RT_BINDS_MAX, gen);
	gw_dp_rt_purge(dp->rt_host_fd, sizeof(struct gw_rt_host_key), GW_RT_HOSTS_MAX, gen);
	gw_dp_rt_purge(dp->rt_vhost_fd, sizeof(struct gw_rt_vhost_key), GW_RT_VHOSTS_MAX, gen);
}

/* gw_dp_routes_sync() : new table under the idle generation, one epoch bump
 * to switch, then the old generation goes. If the new table cannot be
 * written completely (a map is full), the switch goes to an empty table:
 * the kernel then decides nothing, where keeping the old table would let it
 * route by a snapshot the proxy no longer serves. */
static int gw_dp_routes_sync(struct gw_dataplane *dp, const struct gw_ir *ir)
{
	struct gw_rt_epoch ep = {};
	uint32_t zero = 0, idle;
	int err;

	if (dp->rt_epoch_fd < 0 || !(dp->flags & GW_DP_F_STEER))
		return 0;
	if (bpf_map_lookup_elem(dp->rt_epoch_fd, &zero, &ep))
		return -errno;
	idle = (uint32_t)((ep.epoch + 1) & 1);
	/* leftovers of an earlier failed sync (or a crashed daemon) */
	gw_dp_rt_purge_all(dp, idle);
	err = gw_dp_rt_fill(dp, ir, idle);
	if (err) {
		gw_dp_rt_purge_all(dp, idle);
		pr_warn("dataplane: route tables: %s (kernel steering decides nothing until the "
			"next snapshot fits)", strerror(-err));
	}
	ep.epoch++;
	if (bpf_map_update_elem(dp->rt_epoch_fd, &zero, &ep, BPF_ANY)) {
		err = -errno;
		gw_dp_rt_purge_all(dp, idle);
		/* the old table must not outlive its snapshot either */
		gw_dp_rt_purge_all(dp, idle ^ 1);
		return err;
	}
	gw_dp_rt_purge_all(dp, idle ^ 1);
	if (!err && dp->loan) {
		/* loans are listed under the epoch now live */
		err = gw_dp_loan_sync(dp, ir, ep.epoch);
		if (err)
			pr_warn("dataplane: L7 forwarding loans: %s", strerror(-err));
	}
	return err;
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
	err = gw_dp_routes_sync(dp, ir);
	if (err)
		goto out;
	/* names for `gwbpf status maps` without the daemon: best effort */
	if ((dp->flags & GW_DP_F_STEER_FWD) && gw_dp_names_sync(dp, ir))
		pr_debug("dataplane: route names for status not written");
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

int gw_dataplane_route_counts(const char *bpffs, gw_dp_route_fn fn, void *arg)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gw_route_key key, next;
	struct gw_counter *vals = NULL;
	struct gw_dp_route_count rc;
	uint32_t n = 0;
	int fd, rfd, err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	fd = gw_dp_obj_get(bpffs, GW_PIN_ROUTE_CNT);
	if (fd < 0)
		return fd;
	/* responses per route: absent under pins of an older gwbpf (then 0) */
	rfd = gw_dp_obj_get(bpffs, GW_PIN_ROUTE_RESP);
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals) {
		err = -ENOMEM;
		goto out;
	}
	for (int r = bpf_map_get_next_key(fd, NULL, &next); !r && n < GW_ROUTE_CNT_MAX;
	     r = bpf_map_get_next_key(fd, &key, &next), n++) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		memset(&rc, 0, sizeof(rc));
		rc.bind = key.bind;
		rc.listener = key.listener;
		rc.vhost = key.vhost;
		rc.match = key.match;
		for (int c = 0; c < ncpu; c++) {
			rc.requests += vals[c].count;
			rc.bytes += vals[c].bytes;
		}
		/* a response is counted under its request's key, so every
		 * route with responses is in gw_route_cnt too */
		if (rfd >= 0 && !bpf_map_lookup_elem(rfd, &key, vals)) {
			for (int c = 0; c < ncpu; c++) {
				rc.responses += vals[c].count;
				rc.resp_bytes += vals[c].bytes;
			}
		}
		err = fn(&rc, arg);
		if (err)
			break;
	}
out:
	free(vals);
	if (rfd >= 0)
		close(rfd);
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
		[GW_VERDICT_STEER_KERNEL - GW_REASON_BASE] = "steer_kernel",
		[GW_VERDICT_STEER_USER_PARSE - GW_REASON_BASE] = "steer_user_parse",
		[GW_VERDICT_STEER_USER_ROUTE - GW_REASON_BASE] = "steer_user_route",
		[GW_VERDICT_STEER_USER_TABLE - GW_REASON_BASE] = "steer_user_table",
		[GW_VERDICT_STEER_FWD - GW_REASON_BASE] = "steer_fwd",
		[GW_VERDICT_STEER_USER_BUSY - GW_REASON_BASE] = "steer_user_busy",
		[GW_VERDICT_STEER_USER_LOAN - GW_REASON_BASE] = "steer_user_loan",
		[GW_DROP_STEER_FWD_FAIL - GW_REASON_BASE] = "steer_fwd_fail",
		[GW_VERDICT_STEER_RESP - GW_REASON_BASE] = "steer_resp",
		[GW_VERDICT_STEER_RESP_DONE - GW_REASON_BASE] = "steer_resp_done",
		[GW_VERDICT_STEER_RESP_UNFRAMED - GW_REASON_BASE] = "steer_resp_unframed",
		[GW_DROP_STEER_RESP_LOST - GW_REASON_BASE] = "steer_resp_lost",
		[GW_VERDICT_STEER_RESP_HANDBACK - GW_REASON_BASE] = "steer_resp_handback",
		[GW_VERDICT_STEER_RESP_TAIL - GW_REASON_BASE] = "steer_resp_tail",
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
