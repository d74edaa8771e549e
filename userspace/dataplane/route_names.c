/* dataplane/route_names.c - names of the kernel's per-route counters, pinned.
 *
 * gw_route_cnt is keyed by IR indices, which mean nothing without the
 * snapshot that produced them. Each sync writes the names of every key the
 * kernel could count into the pinned gw_route_names (a plain hash map no
 * program reads), so `gwbpf status maps` can name the counters while the
 * daemon is down. Entries another sync wrote (an older snapshot, or another
 * daemon before a restart: generations start again at 1, hence the stamp)
 * are removed after the new ones are written.
 */
#include "gwbpf/api.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gwbpf/dataplane.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/log.h"
#include "dataplane-int.h"

/* gw_dp_names_fd() : the pinned map, created and pinned on first use */
static int gw_dp_names_fd(struct gw_dataplane *dp)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	gw_dp_pin_path(dp->dir, GW_PIN_ROUTE_NAMES, path);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* a pin of another layout is replaced, never written into */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.key_size == sizeof(struct gw_route_key) &&
		    info.value_size == sizeof(struct gw_route_name))
			return fd;
		close(fd);
		unlink(path);
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, GW_PIN_ROUTE_NAMES, sizeof(struct gw_route_key),
			    sizeof(struct gw_route_name), GW_ROUTE_CNT_MAX, &o);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static const char *gw_dp_match_type(enum gw_match_type t)
{
	return t == GW_MATCH_EXACT ? "Exact" : t == GW_MATCH_PREFIX ? "PathPrefix" :
								      "RegularExpression";
}

/* gw_dp_names_put() : one key's names; 0 or -errno */
static int gw_dp_names_put(int fd, uint64_t gen, uint64_t stamp, size_t b, size_t li, size_t vi,
			   size_t mi, const struct gw_ir_listener *l, const struct gw_ir_vhost *vh)
{
	const struct gw_ir_match *m = &vh->matches[mi];
	const struct gw_ir_action *a = &vh->actions[m->action];
	struct gw_route_key k = { .bind = (uint16_t)b,
				  .listener = (uint16_t)li,
				  .vhost = (uint16_t)vi,
				  .match = (uint16_t)mi };
	struct gw_route_name v = { .generation = gen, .stamp = stamp, .rule = a->rule_index };

	if (a->kernel_ok)
		v.flags |= GW_ROUTE_NAME_F_KERNEL_OK;
	snprintf(v.route, sizeof(v.route), "%s", a->route ? a->route : "");
	snprintf(v.listener, sizeof(v.listener), "%s/%s", l->gateway ? l->gateway : "",
		 l->name ? l->name : "");
	snprintf(v.host, sizeof(v.host), "%s", vh->hostname ? vh->hostname : "*");
	snprintf(v.path, sizeof(v.path), "%s %s", gw_dp_match_type(m->path_type),
		 m->path ? m->path : "/");
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
}

int gw_dp_names_sync(struct gw_dataplane *dp, const struct gw_ir *ir)
{
	struct gw_route_key key, next, *stale = NULL;
	struct gw_route_name v;
	size_t n = 0, n_stale = 0;
	struct timespec ts;
	uint64_t stamp;
	int fd, err = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	stamp = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

	fd = gw_dp_names_fd(dp);
	if (fd < 0)
		return fd;
	/* the keys gw_route_cnt can have: plain HTTP binds and listeners, with
	 * the 16-bit indices the kernel records */
	for (size_t b = 0; b < ir->n_binds && b <= UINT16_MAX && !err; b++) {
		const struct gw_ir_bind *bd = &ir->binds[b];

		if (bd->proto != GW_PROTO_HTTP)
			continue;
		for (size_t li = 0; li < bd->n_listeners && li <= UINT16_MAX && !err; li++) {
			const struct gw_ir_listener *l = &bd->listeners[li];

			if (l->proto != GW_PROTO_HTTP)
				continue;
			for (size_t vi = 0; vi < l->n_vhosts && vi <= UINT16_MAX && !err; vi++) {
				const struct gw_ir_vhost *vh = &l->vhosts[vi];

				for (size_t mi = 0; mi < vh->n_matches && mi <= UINT16_MAX; mi++) {
					if (vh->matches[mi].action >= vh->n_actions)
						continue;
					if (n++ >= GW_ROUTE_CNT_MAX)
						break; /* as many as the counters hold */
					err = gw_dp_names_put(fd, ir->generation, stamp, b, li,
							      vi, mi, l, vh);
					if (err)
						break;
				}
			}
		}
	}
	/* names another sync wrote: collect, then delete */
	stale = calloc(GW_ROUTE_CNT_MAX, sizeof(*stale));
	if (!stale) {
		err = err ? err : -ENOMEM;
		goto out;
	}
	for (int r = bpf_map_get_next_key(fd, NULL, &next); !r && n_stale < GW_ROUTE_CNT_MAX;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &v) && v.stamp != stamp)
			stale[n_stale++] = key;
	}
	for (size_t i = 0; i < n_stale; i++)
		bpf_map_delete_elem(fd, &stale[i]);
out:
	free(stale);
	close(fd);
	return err;
}
