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
		/* programs and links are pinned too; only maps answer map info */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.key_size + info.value_size)
			json_array_append_new(maps, map_doc(fd, &info, path, conns));
		close(fd);
	}
	closedir(d);
}

void *gw_bpfstat_read(const char *bpffs, bool conns)
{
	json_t *doc, *maps;
	struct stat st;

	if (stat(bpffs, &st))
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	doc = json_object();
	maps = json_array();
	walk(bpffs, maps, conns, 0);
	json_object_set_new(doc, "bpffs", json_string(bpffs));
	json_object_set_new(doc, "maps", maps);
	return doc;
}

void gw_bpfstat_print(const void *doc, FILE *f)
{
	json_t *maps = json_object_get(doc, "maps");
	size_t i, j;
	json_t *m, *c;

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
