/* cli/bpfstat.c - generic view of pinned maps for `gwbpf status maps|conns`.
 *
 * It reads only what the kernel tells about each pinned map (type, sizes,
 * entries) and sums 8-byte per-CPU counters, so it needs no knowledge of a
 * particular map layout and keeps working across ABI versions.
 */
#include "gwbpf/api.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "gwbpf/bpfstat.h"
#include "gwbpf/dataplane.h"
#include "gwbpf/splice.h"
#include "gwbpf/xdp.h"

#define MAX_KEYS 65536 /* bounded walk of any one map */

static bool is_sock_map(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_SOCKMAP || t == BPF_MAP_TYPE_SOCKHASH;
}

static bool is_percpu(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static json_t *map_doc(int fd, const struct bpf_map_info *info, const char *path, bool conns)
{
	const char *tname = libbpf_bpf_map_type_str(info->type);
	int ncpu = libbpf_num_possible_cpus();
	json_t *m = json_object(), *counters = NULL;
	unsigned char key[512], next[512];
	uint64_t *vals = NULL;
	size_t entries = 0;
	void *prev = NULL;

	json_object_set_new(m, "name", json_string(info->name));
	json_object_set_new(m, "path", json_string(path));
	json_object_set_new(m, "type", json_string(tname ? tname : "unknown"));
	json_object_set_new(m, "keySize", json_integer(info->key_size));
	json_object_set_new(m, "valueSize", json_integer(info->value_size));
	json_object_set_new(m, "maxEntries", json_integer(info->max_entries));
	/* a pin an older gwbpf left: the next `gwbpf run` removes it */
	if (gw_dataplane_pin_retired(strrchr(path, '/') ? strrchr(path, '/') + 1 : path))
		json_object_set_new(m, "retired", json_true());
	if (info->key_size > sizeof(key))
		return m;
	if (is_percpu(info->type) && info->value_size == 8 && ncpu > 0) {
		vals = calloc((size_t)ncpu, sizeof(*vals));
		counters = json_array();
	}
	/* arrays: every index exists; walk them too so counters are summed */
	while (entries < MAX_KEYS && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, info->key_size);
		prev = key;
		entries++;
		if (vals && !bpf_map_lookup_elem(fd, key, vals)) {
			uint64_t sum = 0;

			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
			if (sum) {
				json_t *kv = json_object();
				char hex[2 * 16 + 1] = "";

				for (uint32_t i = 0; i < info->key_size && i < 16; i++)
					sprintf(hex + 2 * i, "%02x", key[i]);
				json_object_set_new(kv, "key", json_string(hex));
				if (info->key_size == 4)
					json_object_set_new(kv, "index",
							    json_integer(*(uint32_t *)key));
				json_object_set_new(kv, "value", json_integer((json_int_t)sum));
				json_array_append_new(counters, kv);
			}
		}
	}
	json_object_set_new(m, "entries", json_integer((json_int_t)entries));
	if (conns && is_sock_map(info->type))
		json_object_set_new(m, "sockets", json_integer((json_int_t)entries));
	if (counters)
		json_object_set_new(m, "counters", counters);
	free(vals);
	return m;
}

/* is_map_fd() : fd is a BPF map (its anon inode says so) */
static bool is_map_fd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return true; /* no /proc: keep the old behaviour */
	target[n] = 0;
	return strcmp(target, "anon_inode:bpf-map") == 0;
}

static void walk(const char *dir, json_t *maps, bool conns, int depth)
{
	struct dirent *de;
	DIR *d;

	if (depth > 4 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		char path[4096];
		struct stat st;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(path, maps, conns, depth + 1);
			continue;
		}
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		/* programs and links are pinned too, and answer "map info" with
		 * their own fields: only an fd that is a map counts */
		if (is_map_fd(fd) && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.key_size + info.value_size)
			json_array_append_new(maps, map_doc(fd, &info, path, conns));
		close(fd);
	}
	closedir(d);
}

static int add_conn(const struct gw_dp_conn *c, void *arg)
{
	char buf[160];

	if (json_array_size(arg) >= MAX_KEYS)
		return 1;
	json_array_append_new(arg, json_string(gw_dataplane_conn_str(c, buf, sizeof(buf))));
	return 0;
}

/* the sk_msg bypass, with its reasons named (null when nothing is pinned) */
static json_t *bypass_doc(const char *bpffs, bool conns)
{
	struct gw_dataplane_stats st;
	json_t *o, *reasons;

	if (gw_dataplane_stats(bpffs, &st))
		return json_null();
	o = json_object();
	reasons = json_object();
	json_object_set_new(o, "sockopsAttached", json_boolean(st.sockops_attached));
	json_object_set_new(o, "skmsgAttached", json_boolean(st.skmsg_attached));
	json_object_set_new(o, "sockets", json_integer(st.n_socks));
	json_object_set_new(o, "generation", json_integer((json_int_t)st.generation));
	for (unsigned int r = 0; r < GW_REASON_MAX; r++) {
		const char *name = gw_dataplane_reason_name(r);

		if (!name || !(st.reasons[r].count || st.reasons[r].bytes))
			continue;
		json_object_set_new(reasons, name,
				    json_pack("{s:I,s:I}", "count", (json_int_t)st.reasons[r].count,
					      "bytes", (json_int_t)st.reasons[r].bytes));
	}
	json_object_set_new(o, "reasons", reasons);
	if (conns) {
		json_t *list = json_array();

		gw_dataplane_conns(bpffs, add_conn, list);
		json_object_set_new(o, "conns", list);
	}
	return o;
}

static int add_splice_conn(const struct gw_splice_conn *c, void *arg)
{
	if (json_array_size(arg) >= 10000)
		return 1;
	json_array_append_new(arg, json_pack("{s:I,s:I,s:I,s:I,s:b}", "cookie", (json_int_t)c->cookie,
					     "peer", (json_int_t)c->peer, "passedBytes",
					     (json_int_t)c->passed, "kernelBytes",
					     (json_int_t)c->redir, "handedOver", c->handed_over));
	return 0;
}

/* the sk_skb splice: sockets now and its counters (null when not pinned) */
static json_t *splice_doc(const char *bpffs, bool conns)
{
	struct gw_splice_stats st;
	json_t *o, *ev;

	if (gw_splice_read_stats(bpffs, &st))
		return json_null();
	o = json_object();
	ev = json_object();
	json_object_set_new(o, "loaded", json_boolean(st.loaded));
	json_object_set_new(o, "sockets", json_integer(st.n_socks));
	json_object_set_new(o, "directions", json_integer(st.n_pairs));
	for (unsigned int i = 0; i < GW_SPLICE_STAT_END; i++)
		if (gw_splice_stat_name(i))
			json_object_set_new(ev, gw_splice_stat_name(i),
					    json_integer((json_int_t)st.v[i]));
	json_object_set_new(o, "counters", ev);
	if (conns) {
		json_t *list = json_array();

		gw_splice_conns(bpffs, add_splice_conn, list);
		json_object_set_new(o, "conns", list);
	}
	return o;
}

/* XDP listener and reason counters (null when the XDP program is not pinned) */
static json_t *xdp_doc(const char *bpffs)
{
	struct gw_xdp_listener_stats *ls = NULL;
	char dir[4096];
	struct gw_xdp *x;
	json_t *o, *arr, *reasons;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/xdp", bpffs);
	x = gw_xdp_open_pinned(dir);
	if (!x)
		return json_null();
	o = json_object();
	arr = json_array();
	reasons = json_object();
	if (!gw_xdp_read_listeners(x, &ls, &n))
		for (size_t i = 0; i < n; i++)
			json_array_append_new(
				arr, json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:I}", "address",
					       ls[i].address, "port", ls[i].port, "protocol",
					       ls[i].proto == 17 ? "UDP" : "TCP", "packets",
					       (json_int_t)ls[i].packets, "bytes",
					       (json_int_t)ls[i].bytes, "syns", (json_int_t)ls[i].syns,
					       "drops", (json_int_t)ls[i].drops));
	for (int r = 0; r < GW_XDP_REASON_MAX; r++) {
		const char *name = gw_xdp_reason_name((enum gw_xdp_reason)r);
		uint64_t v = 0;

		if (name && !gw_xdp_read_reason(x, (enum gw_xdp_reason)r, &v) && v)
			json_object_set_new(reasons, name, json_integer((json_int_t)v));
	}
	json_object_set_new(o, "listeners", arr);
	json_object_set_new(o, "reasons", reasons);
	free(ls);
	gw_xdp_close(x, true);
	return o;
}

/* counter() : {"count":n,"bytes":b} of one gw_counters reason */
static json_t *counter(const struct gw_dataplane_stats *st, unsigned int r)
{
	return json_pack("{s:I,s:I}", "count", (json_int_t)st->reasons[r].count, "bytes",
			 (json_int_t)st->reasons[r].bytes);
}

/* fallbacks() : the reasons of list that counted anything, by name */
static json_t *fallbacks(const struct gw_dataplane_stats *st, const unsigned int *list, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		if (st->reasons[list[i]].count)
			json_object_set_new(o, gw_dataplane_reason_name(list[i]),
					    counter(st, list[i]));
	return o;
}

static void sum_into(const struct gw_dataplane_stats *st, const unsigned int *list, size_t n,
		     uint64_t *count, uint64_t *bytes)
{
	for (size_t i = 0; i < n; i++) {
		*count += st->reasons[list[i]].count;
		*bytes += st->reasons[list[i]].bytes;
	}
}

static json_t *bypass_mech(const struct gw_dataplane_stats *st)
{
	static const unsigned int fb[] = { GW_VERDICT_MSG_PASS_MISS, GW_VERDICT_MSG_PASS_OFF,
					   GW_DROP_SOCK_INSERT_FAIL };
	uint64_t c = 0, b = 0;

	sum_into(st, fb, 2, &c, &b); /* insert failures carry no bytes */
	return json_pack("{s:b,s:i,s:{s:I,s:I},s:{s:I,s:I},s:o}", "attached",
			 st->sockops_attached && st->skmsg_attached, "sockets", st->n_socks,
			 "kernel", "messages",
			 (json_int_t)st->reasons[GW_VERDICT_MSG_REDIRECT].count, "bytes",
			 (json_int_t)st->reasons[GW_VERDICT_MSG_REDIRECT].bytes, "userspace",
			 "messages", (json_int_t)c, "bytes", (json_int_t)b, "fallbacks",
			 fallbacks(st, fb, ARRAY_SIZE(fb)));
}

static json_t *steer_mech(const struct gw_dataplane_stats *st)
{
	/* why a message a local client wrote to a listener went to the proxy */
	static const unsigned int fb[] = {
		GW_VERDICT_STEER_USER_PARSE, GW_VERDICT_STEER_USER_ROUTE,
		GW_VERDICT_STEER_USER_TABLE, GW_VERDICT_STEER_USER_BUSY,
		GW_VERDICT_STEER_USER_LOAN,  GW_DROP_STEER_FWD_FAIL,
	};
	/* responses the kernel could not finish as it should */
	static const unsigned int resp[] = { GW_VERDICT_STEER_RESP_UNFRAMED,
					     GW_DROP_STEER_RESP_LOST };
	uint64_t c = 0, b = 0;

	sum_into(st, fb, ARRAY_SIZE(fb), &c, &b);
	return json_pack("{s:{s:I,s:I,s:I,s:I},s:{s:I,s:I},s:o,s:o}", "kernel", "requests",
			 (json_int_t)st->reasons[GW_VERDICT_STEER_FWD].count, "requestBytes",
			 (json_int_t)st->reasons[GW_VERDICT_STEER_FWD].bytes, "responses",
			 (json_int_t)st->reasons[GW_VERDICT_STEER_RESP_DONE].count,
			 "responseBytes", (json_int_t)st->reasons[GW_VERDICT_STEER_RESP].bytes,
			 "userspace", "messages", (json_int_t)c, "bytes", (json_int_t)b,
			 "fallbacks", fallbacks(st, fb, ARRAY_SIZE(fb)), "responseFallbacks",
			 fallbacks(st, resp, ARRAY_SIZE(resp)));
}

static json_t *splice_mech(const struct gw_splice_stats *sp)
{
	static const unsigned int fb[] = {
		GW_SPLICE_FB_FULL,    GW_SPLICE_FB_STATE,   GW_SPLICE_FB_OTHER,
		GW_SPLICE_FB_OFF,     GW_SPLICE_FB_BYPASS,  GW_SPLICE_ACCOUNTING,
		GW_SPLICE_REDIR_MISS, GW_SPLICE_DRAIN_TIMEOUT,
	};
	json_t *f = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(fb); i++)
		if (sp->v[fb[i]] && gw_splice_stat_name(fb[i]))
			json_object_set_new(f, gw_splice_stat_name(fb[i]),
					    json_integer((json_int_t)sp->v[fb[i]]));
	return json_pack("{s:b,s:i,s:I,s:I,s:I,s:o}", "attached", sp->loaded, "sockets",
			 sp->n_socks, "started", (json_int_t)sp->v[GW_SPLICE_STARTED], "ended",
			 (json_int_t)sp->v[GW_SPLICE_ENDED], "kernelBytes",
			 (json_int_t)sp->v[GW_SPLICE_BYTES], "fallbacks", f);
}

void *gw_bpfstat_mechanisms(const char *bpffs)
{
	struct gw_dataplane_stats st;
	struct gw_splice_stats sp;
	json_t *o = json_object();
	bool dp;

	if (!o)
		return NULL;
	dp = !gw_dataplane_stats(bpffs, &st);
	json_object_set_new(o, "bypass", dp ? bypass_mech(&st) : json_null());
	json_object_set_new(o, "steer", dp ? steer_mech(&st) : json_null());
	json_object_set_new(o, "splice",
			    gw_splice_read_stats(bpffs, &sp) ? json_null() : splice_mech(&sp));
	return o;
}

struct route_ctx {
	json_t *list;
	int names_fd; /* pinned gw_route_names, or -1 */
};

static int add_route(const struct gw_dp_route_count *rc, void *arg)
{
	struct gw_route_key k = {
		.bind = rc->bind, .listener = rc->listener, .vhost = rc->vhost, .match = rc->match
	};
	struct route_ctx *x = arg;
	struct gw_route_name n;
	json_t *r;

	if (json_array_size(x->list) >= GW_ROUTE_CNT_MAX)
		return 1;
	r = json_pack("{s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I}", "bind", rc->bind, "listener",
		      rc->listener, "vhost", rc->vhost, "match", rc->match, "requests",
		      (json_int_t)rc->requests, "requestBytes", (json_int_t)rc->bytes, "responses",
		      (json_int_t)rc->responses, "responseBytes", (json_int_t)rc->resp_bytes);
	/* the names the daemon wrote for these indices (its last snapshot) */
	if (r && x->names_fd >= 0 && !bpf_map_lookup_elem(x->names_fd, &k, &n)) {
		char label[600];

		n.route[sizeof(n.route) - 1] = n.listener[sizeof(n.listener) - 1] = 0;
		n.host[sizeof(n.host) - 1] = n.path[sizeof(n.path) - 1] = 0;
		snprintf(label, sizeof(label), "%s rule %u (%s, host %s, %s)", n.route, n.rule,
			 n.listener, n.host, n.path);
		json_object_set_new(
			r, "name",
			json_pack("{s:s,s:i,s:s,s:s,s:s,s:b,s:I,s:s}", "route", n.route, "rule",
				  (int)n.rule, "listener", n.listener, "host", n.host, "path",
				  n.path, "kernelEligible",
				  !!(n.flags & GW_ROUTE_NAME_F_KERNEL_OK), "generation",
				  (json_int_t)n.generation, "label", label));
	}
	if (r)
		json_array_append_new(x->list, r);
	return 0;
}

void *gw_bpfstat_route_counts(const char *bpffs)
{
	struct route_ctx x = { .list = json_array(), .names_fd = -1 };
	char path[4096];

	if (!x.list)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", bpffs ? bpffs : GW_DP_BPFFS_DEFAULT,
		 GW_PIN_ROUTE_NAMES);
	x.names_fd = bpf_obj_get(path);
	if (gw_dataplane_route_counts(bpffs, add_route, &x)) {
		json_decref(x.list);
		x.list = json_null();
	}
	if (x.names_fd >= 0)
		close(x.names_fd);
	return x.list;
}

void *gw_bpfstat_read(const char *bpffs, bool conns)
{
	json_t *doc, *maps;
	struct stat st;

	/* nothing pinned yet is a state to show, not an error */
	if (stat(bpffs, &st)) {
		if (errno != ENOENT)
			return NULL;
	} else if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	doc = json_object();
	maps = json_array();
	walk(bpffs, maps, conns, 0);
	json_object_set_new(doc, "bpffs", json_string(bpffs));
	json_object_set_new(doc, "bypass", bypass_doc(bpffs, conns));
	json_object_set_new(doc, "splice", splice_doc(bpffs, conns));
	json_object_set_new(doc, "xdp", xdp_doc(bpffs));
	json_object_set_new(doc, "mechanisms", gw_bpfstat_mechanisms(bpffs));
	json_object_set_new(doc, "routes", gw_bpfstat_route_counts(bpffs));
	json_object_set_new(doc, "maps", maps);
	return doc;
}

static void print_bypass(const json_t *bp, FILE *f)
{
	const char *k;
	size_t i;
	json_t *v;

	if (!json_is_object(bp)) {
		fprintf(f, "sk_msg bypass: not loaded\n");
		return;
	}
	fprintf(f, "sk_msg bypass: sockops %s, sk_msg %s, %" JSON_INTEGER_FORMAT " sockets\n",
		json_is_true(json_object_get(bp, "sockopsAttached")) ? "attached" : "detached",
		json_is_true(json_object_get(bp, "skmsgAttached")) ? "attached" : "detached",
		json_integer_value(json_object_get(bp, "sockets")));
	json_object_foreach(json_object_get(bp, "reasons"), k, v)
		fprintf(f, "  %-28s %12" JSON_INTEGER_FORMAT " msgs %14" JSON_INTEGER_FORMAT " bytes\n",
			k, json_integer_value(json_object_get(v, "count")),
			json_integer_value(json_object_get(v, "bytes")));
	json_array_foreach(json_object_get(bp, "conns"), i, v)
		fprintf(f, "  conn %s\n", json_string_value(v));
}

static void print_splice(const json_t *sp, FILE *f)
{
	const char *k;
	size_t i;
	json_t *v;

	if (!json_is_object(sp)) {
		fprintf(f, "sk_skb splice: not loaded\n");
		return;
	}
	fprintf(f, "sk_skb splice: verdict %s, %" JSON_INTEGER_FORMAT " sockets\n",
		json_is_true(json_object_get(sp, "loaded")) ? "attached" : "detached",
		json_integer_value(json_object_get(sp, "sockets")));
	json_object_foreach(json_object_get(sp, "counters"), k, v)
		fprintf(f, "  %-28s %12" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
	json_array_foreach(json_object_get(sp, "conns"), i, v)
		fprintf(f, "  splice cookie %" JSON_INTEGER_FORMAT " -> %" JSON_INTEGER_FORMAT
			   " kernel %" JSON_INTEGER_FORMAT " B, userspace %" JSON_INTEGER_FORMAT
			   " B%s\n",
			json_integer_value(json_object_get(v, "cookie")),
			json_integer_value(json_object_get(v, "peer")),
			json_integer_value(json_object_get(v, "kernelBytes")),
			json_integer_value(json_object_get(v, "passedBytes")),
			json_is_true(json_object_get(v, "handedOver")) ? "" : " (not handed over)");
}

static void print_xdp(const json_t *x, FILE *f)
{
	const char *k;
	size_t i;
	json_t *v;

	if (!json_is_object(x)) {
		fprintf(f, "xdp: not loaded\n");
		return;
	}
	fprintf(f, "xdp:\n");
	json_array_foreach(json_object_get(x, "listeners"), i, v)
		fprintf(f, "  %s %s:%" JSON_INTEGER_FORMAT " packets=%" JSON_INTEGER_FORMAT
			   " bytes=%" JSON_INTEGER_FORMAT " syns=%" JSON_INTEGER_FORMAT
			   " drops=%" JSON_INTEGER_FORMAT "\n",
			json_string_value(json_object_get(v, "protocol")),
			json_string_value(json_object_get(v, "address")),
			json_integer_value(json_object_get(v, "port")),
			json_integer_value(json_object_get(v, "packets")),
			json_integer_value(json_object_get(v, "bytes")),
			json_integer_value(json_object_get(v, "syns")),
			json_integer_value(json_object_get(v, "drops")));
	json_object_foreach(json_object_get(x, "reasons"), k, v)
		fprintf(f, "  %-28s %12" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
}

/* print_fallbacks() : "name n (b B), ..." of a fallbacks object, or "none" */
static void print_fallbacks(const json_t *fb, FILE *f)
{
	const char *k;
	bool first = true;
	json_t *v;

	json_object_foreach((json_t *)fb, k, v) {
		fprintf(f, "%s%s %" JSON_INTEGER_FORMAT, first ? "" : ", ", k,
			json_is_integer(v) ? json_integer_value(v) :
					     json_integer_value(json_object_get(v, "count")));
		if (json_integer_value(json_object_get(v, "bytes")))
			fprintf(f, " (%" JSON_INTEGER_FORMAT " B)",
				json_integer_value(json_object_get(v, "bytes")));
		first = false;
	}
	fprintf(f, "%s\n", first ? "none" : "");
}

#define IV(o, a, b) json_integer_value(json_object_get(json_object_get(o, a), b))

void gw_bpfstat_print_mechanisms(const void *mech, FILE *f)
{
	const json_t *bp = json_object_get(mech, "bypass");
	const json_t *st = json_object_get(mech, "steer");
	const json_t *sp = json_object_get(mech, "splice");

	fprintf(f, "kernel path by mechanism (kernel vs passed to userspace):\n");
	if (json_is_object(bp)) {
		fprintf(f, "  %-14s kernel %" JSON_INTEGER_FORMAT " msgs %" JSON_INTEGER_FORMAT
			   " B; userspace %" JSON_INTEGER_FORMAT " msgs %" JSON_INTEGER_FORMAT
			   " B; fallbacks: ",
			"sk_msg bypass", IV(bp, "kernel", "messages"), IV(bp, "kernel", "bytes"),
			IV(bp, "userspace", "messages"), IV(bp, "userspace", "bytes"));
		print_fallbacks(json_object_get(bp, "fallbacks"), f);
	} else {
		fprintf(f, "  %-14s not loaded\n", "sk_msg bypass");
	}
	if (json_is_object(st)) {
		fprintf(f, "  %-14s kernel %" JSON_INTEGER_FORMAT " requests %" JSON_INTEGER_FORMAT
			   " B, %" JSON_INTEGER_FORMAT " responses %" JSON_INTEGER_FORMAT
			   " B; userspace %" JSON_INTEGER_FORMAT " msgs %" JSON_INTEGER_FORMAT
			   " B; fallbacks: ",
			"L7 forwarding", IV(st, "kernel", "requests"),
			IV(st, "kernel", "requestBytes"), IV(st, "kernel", "responses"),
			IV(st, "kernel", "responseBytes"), IV(st, "userspace", "messages"),
			IV(st, "userspace", "bytes"));
		print_fallbacks(json_object_get(st, "fallbacks"), f);
		if (json_object_size(json_object_get(st, "responseFallbacks"))) {
			fprintf(f, "  %-14s responses: ", "");
			print_fallbacks(json_object_get(st, "responseFallbacks"), f);
		}
	} else {
		fprintf(f, "  %-14s not loaded\n", "L7 forwarding");
	}
	if (json_is_object(sp)) {
		fprintf(f, "  %-14s %" JSON_INTEGER_FORMAT " sockets, started %" JSON_INTEGER_FORMAT
			   ", ended %" JSON_INTEGER_FORMAT ", kernel %" JSON_INTEGER_FORMAT
			   " B (ended pairs); fallbacks: ",
			"sk_skb splice", json_integer_value(json_object_get(sp, "sockets")),
			json_integer_value(json_object_get(sp, "started")),
			json_integer_value(json_object_get(sp, "ended")),
			json_integer_value(json_object_get(sp, "kernelBytes")));
		print_fallbacks(json_object_get(sp, "fallbacks"), f);
	} else {
		fprintf(f, "  %-14s not loaded\n", "sk_skb splice");
	}
}

static void print_route_counts(const json_t *routes, FILE *f)
{
	size_t i;
	json_t *r;

	if (!json_array_size(routes))
		return;
	fprintf(f, "requests forwarded by the kernel, per route match (indices into the "
		   "daemon's last snapshot, named from gw_route_names):\n");
	json_array_foreach((json_t *)routes, i, r) {
		const json_t *lb = json_object_get(json_object_get(r, "name"), "label");

		fprintf(f, "  bind %" JSON_INTEGER_FORMAT " listener %" JSON_INTEGER_FORMAT
			   " vhost %" JSON_INTEGER_FORMAT " match %" JSON_INTEGER_FORMAT
			   "  requests %" JSON_INTEGER_FORMAT
			   "  request bytes %" JSON_INTEGER_FORMAT "  responses %" JSON_INTEGER_FORMAT
			   "  response bytes %" JSON_INTEGER_FORMAT "%s%s\n",
			json_integer_value(json_object_get(r, "bind")),
			json_integer_value(json_object_get(r, "listener")),
			json_integer_value(json_object_get(r, "vhost")),
			json_integer_value(json_object_get(r, "match")),
			json_integer_value(json_object_get(r, "requests")),
			json_integer_value(json_object_get(r, "requestBytes")),
			json_integer_value(json_object_get(r, "responses")),
			json_integer_value(json_object_get(r, "responseBytes")), lb ? "  " : "",
			lb ? json_string_value(lb) : "");
	}
}

void gw_bpfstat_print(const void *doc, FILE *f)
{
	json_t *maps = json_object_get(doc, "maps");
	size_t i, j;
	json_t *m, *c;

	print_bypass(json_object_get(doc, "bypass"), f);
	print_splice(json_object_get(doc, "splice"), f);
	print_xdp(json_object_get(doc, "xdp"), f);
	gw_bpfstat_print_mechanisms(json_object_get(doc, "mechanisms"), f);
	print_route_counts(json_object_get(doc, "routes"), f);

	if (!json_array_size(maps)) {
		fprintf(f, "no gwbpf maps pinned under %s\n",
			json_string_value(json_object_get(doc, "bpffs")));
		return;
	}
	fprintf(f, "%-20s %-16s %8s %10s  %s\n", "MAP", "TYPE", "ENTRIES", "MAX", "PATH");
	json_array_foreach(maps, i, m) {
		fprintf(f,
			"%-20s %-16s %8" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "  %s%s\n",
			json_string_value(json_object_get(m, "name")),
			json_string_value(json_object_get(m, "type")),
			json_integer_value(json_object_get(m, "entries")),
			json_integer_value(json_object_get(m, "maxEntries")),
			json_string_value(json_object_get(m, "path")),
			json_is_true(json_object_get(m, "retired")) ?
				" (retired layout: the next gwbpf run removes it)" :
				"");
		json_array_foreach(json_object_get(m, "counters"), j, c)
			fprintf(f, "  [%s] %" JSON_INTEGER_FORMAT "\n",
				json_string_value(json_object_get(c, "key")),
				json_integer_value(json_object_get(c, "value")));
	}
}
