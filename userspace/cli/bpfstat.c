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

void gw_bpfstat_print(const void *doc, FILE *f)
{
	json_t *maps = json_object_get(doc, "maps");
	size_t i, j;
	json_t *m, *c;

	print_bypass(json_object_get(doc, "bypass"), f);
	print_splice(json_object_get(doc, "splice"), f);
	print_xdp(json_object_get(doc, "xdp"), f);

	if (!json_array_size(maps)) {
		fprintf(f, "no gwbpf maps pinned under %s\n",
			json_string_value(json_object_get(doc, "bpffs")));
		return;
	}
	fprintf(f, "%-20s %-16s %8s %10s  %s\n", "MAP", "TYPE", "ENTRIES", "MAX", "PATH");
	json_array_foreach(maps, i, m) {
		fprintf(f, "%-20s %-16s %8" JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT "  %s\n",
			json_string_value(json_object_get(m, "name")),
			json_string_value(json_object_get(m, "type")),
			json_integer_value(json_object_get(m, "entries")),
			json_integer_value(json_object_get(m, "maxEntries")),
			json_string_value(json_object_get(m, "path")));
		json_array_foreach(json_object_get(m, "counters"), j, c)
			fprintf(f, "  [%s] %" JSON_INTEGER_FORMAT "\n",
				json_string_value(json_object_get(c, "key")),
				json_integer_value(json_object_get(c, "value")));
	}
}
