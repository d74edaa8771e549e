/* tests/fuzz/fuzz_translate.c - libFuzzer driver for load -> validate ->
 * translate -> status.
 *
 * The object set is a fuzzer-chosen mix of documents of the upstream
 * conformance manifests (the pool: conformance/base/manifests.yaml and
 * conformance/tests/ *.yaml of the Gateway API checkout named by
 * GWBPF_GATEWAY_API_DIR, else ../shared/gateway-api from the repository root)
 * plus free YAML text. Input layout:
 *
 *   byte 0        number of pool documents k (0..31)
 *   2*k bytes     pool indices (little endian, modulo the pool size)
 *   byte          flags: bit 0 drops the GatewayClass "gwbpf", bit 1 puts
 *                 every picked document in namespace "default"
 *   8 bytes       "now" for the translator
 *   rest          YAML appended as further documents (mutated freely)
 *
 * Whatever the input: nothing crashes or leaks, every object that entered
 * the store gets exactly one status entry, the status List has one item
 * per entry, and translating the same store again gives the same List (the
 * translator is documented as pure).
 */
#include "gwbpf/api.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gwbpf/diag.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"

/* generated tables tests/fuzz/lib.sh does not archive (make all writes them) */
#include "gen/features.c"
#include "gen/schema.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_translate: check failed: %s (line %d)\n", #cond,     \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define POOL_MAX 4096

static char *pool[POOL_MAX];
static size_t n_pool;
static bool pool_loaded;

static const char class_doc[] =
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: gwbpf\n"
	"spec:\n  controllerName: gwbpf.dev/gateway-controller\n";

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)len + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = 0;
out:
	fclose(f);
	return buf;
}

/* pool_add_file() : splits a manifest on "---" lines; Deployments (the
 * backends' pods, irrelevant to the translator) are left out */
static void pool_add_file(const char *path)
{
	char *text = slurp(path), *p, *next;

	if (!text)
		return;
	for (p = text; p && *p && n_pool < POOL_MAX; p = next) {
		char *sep = strstr(p, "\n---");
		char *doc;

		if (sep) {
			*sep = 0;
			next = strchr(sep + 1, '\n');
			next = next ? next + 1 : NULL;
		} else {
			next = NULL;
		}
		if (strstr(p, "kind: Deployment") || !strstr(p, "kind:"))
			continue;
		doc = strdup(p);
		if (doc)
			pool[n_pool++] = doc;
	}
	free(text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void pool_load(void)
{
	const char *dir = getenv("GWBPF_GATEWAY_API_DIR");
	char path[4096], *names[1024];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	pool_loaded = true;
	gw_log_set_level(GW_LOG_ERROR);
	if (!dir)
		dir = "../shared/gateway-api";
	snprintf(path, sizeof(path), "%s/conformance/base/manifests.yaml", dir);
	pool_add_file(path);
	snprintf(path, sizeof(path), "%s/conformance/tests", dir);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "fuzz_translate: no pool at %s: free YAML only\n", path);
		return;
	}
	/* sorted, so that an index names the same document on every run */
	while ((e = readdir(d)) && n < 1024) {
		size_t l = strlen(e->d_name);

		if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		snprintf(path, sizeof(path), "%s/conformance/tests/%s", dir, names[i]);
		pool_add_file(path);
		free(names[i]);
	}
}

/* append() : grows *buf by s[0..len) */
static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap * 2 : 4096);

		while (c < *len + n + 1)
			c *= 2;
		*buf = realloc(*buf, c);
		check(*buf);
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
}

/* append_doc() : a pool document with its class placeholder filled in and,
 * when asked, its namespace forced to "default" */
static void append_doc(char **buf, size_t *len, size_t *cap, const char *doc, bool ns_default)
{
	const char *p = doc;

	append(buf, len, cap, "---\n", 4);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) + 1 : strlen(p);
		const char *ph = memmem(p, l, "{GATEWAY_CLASS_NAME}", 20);

		if (ph) {
			append(buf, len, cap, p, (size_t)(ph - p));
			append(buf, len, cap, "gwbpf", 5);
			append(buf, len, cap, ph + 20, l - (size_t)(ph - p) - 20);
		} else if (ns_default && l > 13 && !memcmp(p, "  namespace: ", 13)) {
			append(buf, len, cap, "  namespace: default\n", 21);
		} else {
			append(buf, len, cap, p, l);
		}
		p += l;
	}
	append(buf, len, cap, "\n", 1);
}

static json_t *run_translate(const struct gw_store *s, int64_t now, size_t n_objs)
{
	struct gw_translate_opts o = { .now = now };
	struct gw_translation *t = NULL;
	json_t *list, *items;

	check(gw_translate(s, &o, &t) == 0 && t);
	check(t->n_status == n_objs);
	for (size_t i = 0; i < t->n_status; i++)
		check(t->status[i].obj);
	list = gw_translation_status_list(t);
	check(list);
	items = json_object_get(list, "items");
	check(json_is_array(items) && json_array_size(items) == t->n_status);
	gw_translation_free(t);
	return list;
}

static int count_obj(struct gw_object *o, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_diag_list diags = { 0 };
	struct gw_doc_list docs = { 0 };
	struct gw_store *store = NULL;
	json_t *a = NULL, *b = NULL;
	char *yaml = NULL;
	size_t len = 0, cap = 0, k, off, n_objs = 0;
	uint8_t flags = 0;
	int64_t now = 1700000000;
	uint64_t seq = 0;

	if (!pool_loaded)
		pool_load();
	if (size < 1)
		return 0;
	k = data[0] & 31;
	off = 1;
	if (off + 2 * k + 1 > size)
		k = 0;
	if (off < size)
		flags = data[off + 2 * k < size ? off + 2 * k : off];
	if (!(flags & 1))
		append(&yaml, &len, &cap, class_doc, sizeof(class_doc) - 1);
	for (size_t i = 0; i < k && n_pool; i++) {
		unsigned idx = data[off + 2 * i] | (unsigned)data[off + 2 * i + 1] << 8;

		append_doc(&yaml, &len, &cap, pool[idx % n_pool], flags & 2);
	}
	off += 2 * k + 1;
	if (off + 8 <= size) {
		memcpy(&now, data + off, 8);
		off += 8;
	}
	append(&yaml, &len, &cap, "---\n", 4);
	if (off < size)
		append(&yaml, &len, &cap, (const char *)data + off, size - off);

	store = gw_store_new();
	check(store);
	gw_yaml_load_buf("fuzz.yaml", yaml, len, &docs, &diags);
	for (size_t i = 0; i < docs.n; i++) {
		struct gw_object **objs = NULL;
		size_t n = 0;

		gw_objects_from_doc(docs.v[i].root, docs.v[i].file, &objs, &n, &diags);
		docs.v[i].root = NULL;
		for (size_t j = 0; j < n; j++) {
			/* only valid objects enter the store, as in the file source */
			if (gw_validate_object(objs[j], &diags) == 0) {
				objs[j]->seq = ++seq;
				check(gw_store_put(store, gw_object_get(objs[j])) == 0);
			}
			gw_object_put(objs[j]);
		}
		free(objs);
	}
	check(gw_store_foreach(store, count_obj, &n_objs) == 0);
	a = run_translate(store, now, n_objs);
	b = run_translate(store, now, n_objs);
	if (!json_equal(a, b)) {
		char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);

		fprintf(stderr, "fuzz_translate: two translations differ:\n%s\n%s\n", sa, sb);
		abort();
	}
	json_decref(a);
	json_decref(b);
	gw_store_free(store);
	gw_doc_list_free(&docs);
	gw_diag_list_free(&diags);
	free(yaml);
	return 0;
}
