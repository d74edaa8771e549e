/* tests/unit/test_file_source.c - manifests from folders, and reloads the way
 * users and Kubernetes change files: in-place edits, rename into place,
 * deletes, ConfigMap "..data" symlink swaps, broken edits (last good kept),
 * debounce. inotify events are queued by the kernel during the syscall that
 * causes them, so no test waits on time: now_ms is passed explicitly. */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/diag.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"

#define G "gateway.networking.k8s.io"

struct ctx {
	char dir[64];
	struct gw_diag_list diags;
	struct gw_file_source *src;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	strcpy(c->dir, "/tmp/gwbpf-test-fs-XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	gw_file_source_free(c->src);
	gw_diag_list_free(&c->diags);
	nftw(c->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(c);
	return 0;
}

static void put_file(struct ctx *c, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *route(const char *name, const char *path)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "apiVersion: " G "/v1\nkind: HTTPRoute\nmetadata: {name: %s, namespace: "
		 "apps}\nspec:\n  rules:\n  - matches: [{path: {value: \"%s\"}}]\n",
		 name, path);
	return buf;
}

static const char *route_path(const struct gw_store *s, const char *name)
{
	const struct gw_object *o = gw_store_get(s, G, "HTTPRoute", "apps", name);
	const struct gw_node *rules;

	if (!o)
		return NULL;
	rules = gw_node_path(o->root, "spec.rules");
	return gw_node_str(gw_node_get(rules->items[0], "matches")->items[0], "path.value");
}

static void start(struct ctx *c)
{
	const char *paths[] = { c->dir };

	c->src = gw_file_source_new(paths, 1, &c->diags);
	assert_non_null(c->src);
}

/* events() : handles what the last change queued; true if a reload was armed */
static bool events(struct ctx *c, uint64_t now)
{
	assert_int_equal(gw_file_source_handle(c->src, now), 0);
	return gw_file_source_deadline(c->src) != 0;
}

static int reload(struct ctx *c, bool *changed)
{
	return gw_file_source_reload(c->src, &c->diags, changed);
}

static void test_load_folder(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = gw_store_new();
	const char *paths[] = { c->dir };
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/sub", c->dir);
	mkdir(sub, 0755);
	snprintf(sub, sizeof(sub), "%s/.hidden", c->dir);
	mkdir(sub, 0755);
	put_file(c, "b.yaml", route("b", "/b"));
	put_file(c, "a.yml", route("a", "/a"));
	put_file(c, "sub/c.json",
		 "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		 "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s1\"}},"
		 "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s2\"}}]}");
	put_file(c, "notes.txt", route("txt", "/t"));
	put_file(c, ".hidden/h.yaml", route("hidden", "/h"));
	put_file(c, ".editor.yaml.swp", route("swap", "/s"));
	put_file(c, "deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n");

	assert_int_equal(gw_file_source_load(paths, 1, s, &c->diags), 0);
	assert_int_equal(c->diags.n, 0);
	/* a, b, s1, s2: not .txt, not dotfiles/dotdirs, not unknown kinds */
	assert_int_equal(s->n_objects, 4);
	assert_string_equal(route_path(s, "a"), "/a");
	assert_non_null(gw_store_get(s, "", "Service", "default", "s2"));
	/* seq follows sorted file order: a.yml, b.yaml, sub/c.json */
	assert_int_equal(gw_store_get(s, G, "HTTPRoute", "apps", "a")->seq, 1);
	assert_int_equal(gw_store_get(s, G, "HTTPRoute", "apps", "b")->seq, 2);
	assert_int_equal(gw_store_get(s, "", "Service", "default", "s1")->seq, 3);
	assert_int_equal(gw_store_get(s, "", "Service", "default", "s2")->seq, 4);
	assert_int_equal(gw_store_get(s, "", "Service", "default", "s2")->creation_ts, 0);
	gw_store_free(s);
}

static void test_load_reports_and_keeps_valid(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = gw_store_new();
	char file[128];
	const char *paths[] = { file };
	char line[512];

	snprintf(file, sizeof(file), "%s/mixed.yaml", c->dir);
	put_file(c, "mixed.yaml", "apiVersion: " G "/v1\nkind: HTTPRoute\nspec: {}\nmetadata: {name: ok, "
				  "namespace: apps}\n---\napiVersion: " G "/v1\nkind: HTTPRoute\n"
				  "metadata: {name: bad, namespace: apps}\nspec:\n  rules:\n"
				  "  - matches: [{path: {value: nope}}]\n");
	assert_int_equal(gw_file_source_load(paths, 1, s, &c->diags), -EINVAL);
	assert_int_equal(s->n_objects, 1);
	assert_non_null(gw_store_get(s, G, "HTTPRoute", "apps", "ok"));
	assert_int_equal(c->diags.n_errors, 1);
	gw_diag_format(&c->diags.v[0], line, sizeof(line));
	assert_non_null(strstr(line, "/mixed.yaml:11: spec.rules[0].matches[0].path.value: value "
				     "must be an absolute path"));
	gw_store_free(s);
}

static void test_load_missing_path(void **state)
{
	struct ctx *c = *state;
	struct gw_store *s = gw_store_new();
	const char *paths[] = { "/nonexistent/gwbpf/manifests" };

	assert_int_equal(gw_file_source_load(paths, 1, s, &c->diags), -EINVAL);
	assert_int_equal(c->diags.n_errors, 1);
	assert_string_equal(c->diags.v[0].file, "/nonexistent/gwbpf/manifests");
	gw_store_free(s);
}

static void test_in_place_edit(void **state)
{
	struct ctx *c = *state;
	bool changed;
	uint64_t ver;

	put_file(c, "r.yaml", route("r", "/one"));
	start(c);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/one");
	ver = gw_file_source_store(c->src)->version;
	assert_false(events(c, 1000));
	put_file(c, "r.yaml", route("r", "/two"));
	assert_true(events(c, 1000));
	assert_int_equal(gw_file_source_deadline(c->src), 1000 + GW_FILE_SOURCE_DEBOUNCE_MS);
	assert_int_equal(reload(c, &changed), 0);
	assert_true(changed);
	assert_int_equal(gw_file_source_deadline(c->src), 0);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/two");
	assert_true(gw_file_source_store(c->src)->version > ver);
	/* same seq: the key stayed */
	assert_int_equal(gw_store_get(gw_file_source_store(c->src), G, "HTTPRoute", "apps", "r")->seq,
			 1);
	/* rewriting identical content is not a change */
	put_file(c, "r.yaml", route("r", "/two"));
	assert_true(events(c, 2000));
	assert_int_equal(reload(c, &changed), 0);
	assert_false(changed);
}

static void test_rename_into_place_and_delete(void **state)
{
	struct ctx *c = *state;
	char from[128], to[128];
	bool changed;

	put_file(c, "r.yaml", route("r", "/one"));
	start(c);
	/* editors and kubectl-like tools write a temp file, then rename it */
	put_file(c, ".r.yaml.tmp", route("r", "/renamed"));
	assert_false(events(c, 1000)); /* the dotfile itself is not a manifest */
	snprintf(from, sizeof(from), "%s/.r.yaml.tmp", c->dir);
	snprintf(to, sizeof(to), "%s/r.yaml", c->dir);
	assert_int_equal(rename(from, to), 0);
	assert_true(events(c, 1000));
	assert_int_equal(reload(c, &changed), 0);
	assert_true(changed);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/renamed");

	assert_int_equal(unlink(to), 0);
	assert_true(events(c, 2000));
	assert_int_equal(reload(c, &changed), 0);
	assert_true(changed);
	assert_int_equal(gw_file_source_store(c->src)->n_objects, 0);
}

static void test_configmap_symlink_swap(void **state)
{
	struct ctx *c = *state;
	char p1[128], p2[128];
	bool changed;

	/* the layout kubelet gives a ConfigMap volume */
	snprintf(p1, sizeof(p1), "%s/..2024_01", c->dir);
	mkdir(p1, 0755);
	put_file(c, "..2024_01/routes.yaml", route("r", "/v1"));
	snprintf(p1, sizeof(p1), "%s/..data", c->dir);
	assert_int_equal(symlink("..2024_01", p1), 0);
	snprintf(p1, sizeof(p1), "%s/routes.yaml", c->dir);
	assert_int_equal(symlink("..data/routes.yaml", p1), 0);
	start(c);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/v1");

	/* an update: new timestamped folder, then an atomic rename of ..data */
	snprintf(p1, sizeof(p1), "%s/..2024_02", c->dir);
	mkdir(p1, 0755);
	put_file(c, "..2024_02/routes.yaml", route("r", "/v2"));
	assert_false(events(c, 1000));
	snprintf(p1, sizeof(p1), "%s/..data_tmp", c->dir);
	assert_int_equal(symlink("..2024_02", p1), 0);
	snprintf(p2, sizeof(p2), "%s/..data", c->dir);
	assert_int_equal(rename(p1, p2), 0);
	assert_true(events(c, 1000));
	assert_int_equal(reload(c, &changed), 0);
	assert_true(changed);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/v2");
}

static void test_broken_edit_keeps_last_good(void **state)
{
	struct ctx *c = *state;
	bool changed;
	char line[512];

	put_file(c, "r.yaml", route("r", "/good"));
	put_file(c, "s.yaml", route("s", "/s-good"));
	start(c);
	/* a syntax error: the whole file keeps its previous objects */
	put_file(c, "r.yaml", "apiVersion: [unclosed\n");
	/* an invalid object: keeps its previous valid version */
	put_file(c, "s.yaml", route("s", "no-slash"));
	assert_true(events(c, 1000));
	assert_int_equal(reload(c, &changed), -EINVAL);
	assert_false(changed);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/good");
	assert_string_equal(route_path(gw_file_source_store(c->src), "s"), "/s-good");
	assert_int_equal(c->diags.n_errors, 2);
	gw_diag_format(&c->diags.v[0], line, sizeof(line));
	assert_non_null(strstr(line, "/r.yaml:2: "));
	/* fixing the file recovers */
	put_file(c, "r.yaml", route("r", "/fixed"));
	assert_true(events(c, 2000));
	gw_diag_list_free(&c->diags);
	assert_int_equal(reload(c, &changed), -EINVAL); /* s.yaml is still invalid */
	assert_true(changed);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/fixed");
	assert_string_equal(route_path(gw_file_source_store(c->src), "s"), "/s-good");
}

static void test_debounce(void **state)
{
	struct ctx *c = *state;

	put_file(c, "r.yaml", route("r", "/one"));
	start(c);
	put_file(c, "r.yaml", route("r", "/two"));
	assert_true(events(c, 1000));
	assert_int_equal(gw_file_source_deadline(c->src), 1200);
	/* more writes push the deadline ... */
	put_file(c, "r.yaml", route("r", "/three"));
	assert_true(events(c, 1100));
	assert_int_equal(gw_file_source_deadline(c->src), 1300);
	/* ... but a writer that never stops cannot delay the reload forever */
	for (uint64_t t = 1200; t < 3000; t += 100) {
		put_file(c, "r.yaml", route("r", "/busy"));
		assert_true(events(c, t));
	}
	assert_int_equal(gw_file_source_deadline(c->src), 1000 + 5 * GW_FILE_SOURCE_DEBOUNCE_MS);
	/* nothing new: handle leaves the deadline alone */
	assert_true(events(c, 5000));
	assert_int_equal(gw_file_source_deadline(c->src), 1000 + 5 * GW_FILE_SOURCE_DEBOUNCE_MS);
}

static void test_irrelevant_events(void **state)
{
	struct ctx *c = *state;

	put_file(c, "r.yaml", route("r", "/one"));
	start(c);
	put_file(c, "README.md", "hello\n");
	put_file(c, ".r.yaml.swp", "x");
	assert_false(events(c, 1000));
}

static void test_seq_stable_and_new_folder(void **state)
{
	struct ctx *c = *state;
	const struct gw_store *s;
	char sub[128];
	bool changed;

	put_file(c, "m.yaml", route("m", "/m"));
	start(c);
	/* a new object in an earlier file does not take m's place in tie-breaks */
	put_file(c, "a.yaml", route("a", "/a"));
	assert_true(events(c, 1000));
	assert_int_equal(reload(c, &changed), 0);
	s = gw_file_source_store(c->src);
	assert_int_equal(gw_store_get(s, G, "HTTPRoute", "apps", "m")->seq, 1);
	assert_int_equal(gw_store_get(s, G, "HTTPRoute", "apps", "a")->seq, 2);

	/* a new folder is watched after the reload that found it */
	snprintf(sub, sizeof(sub), "%s/new", c->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_true(events(c, 2000));
	assert_int_equal(reload(c, &changed), 0);
	put_file(c, "new/n.yaml", route("n", "/n"));
	assert_true(events(c, 3000));
	assert_int_equal(reload(c, &changed), 0);
	assert_true(changed);
	assert_string_equal(route_path(gw_file_source_store(c->src), "n"), "/n");
}

static void test_single_file_path(void **state)
{
	struct ctx *c = *state;
	char file[128];
	const char *paths[] = { file };
	bool changed;

	snprintf(file, sizeof(file), "%s/only.yaml", c->dir);
	put_file(c, "only.yaml", route("o", "/o"));
	put_file(c, "other.yaml", route("x", "/x"));
	c->src = gw_file_source_new(paths, 1, &c->diags);
	assert_non_null(c->src);
	assert_int_equal(gw_file_source_store(c->src)->n_objects, 1);
	assert_true(gw_file_source_fd(c->src) >= 0);
	/* siblings of a watched file are not part of the source */
	put_file(c, "other.yaml", route("x", "/y"));
	assert_false(events(c, 1000));
	put_file(c, "only.yaml", route("o", "/o2"));
	assert_true(events(c, 1000));
	assert_int_equal(reload(c, &changed), 0);
	assert_string_equal(route_path(gw_file_source_store(c->src), "o"), "/o2");
}

static void test_vanished_root_keeps_objects(void **state)
{
	struct ctx *c = *state;
	char cfg[128], away[128];
	const char *paths[] = { cfg };
	bool changed;

	snprintf(cfg, sizeof(cfg), "%s/cfg", c->dir);
	snprintf(away, sizeof(away), "%s/away", c->dir);
	assert_int_equal(mkdir(cfg, 0755), 0);
	put_file(c, "cfg/r.yaml", route("r", "/r"));
	c->src = gw_file_source_new(paths, 1, &c->diags);
	assert_non_null(c->src);
	/* the configured folder disappears: not a reason to drop all routes */
	assert_int_equal(rename(cfg, away), 0);
	assert_true(events(c, 1000));
	assert_int_equal(reload(c, &changed), -EINVAL);
	assert_false(changed);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/r");
	/* deleting one file inside a folder that exists does remove its objects */
	assert_int_equal(rename(away, cfg), 0);
	assert_int_equal(reload(c, &changed), 0);
	assert_string_equal(route_path(gw_file_source_store(c->src), "r"), "/r");
	snprintf(away, sizeof(away), "%s/cfg/r.yaml", c->dir);
	assert_int_equal(unlink(away), 0);
	assert_int_equal(reload(c, &changed), 0);
	assert_true(changed);
	assert_int_equal(gw_file_source_store(c->src)->n_objects, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_reports_and_keeps_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_missing_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_place_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_into_place_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configmap_symlink_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_edit_keeps_last_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debounce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irrelevant_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_stable_and_new_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_file_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_root_keeps_objects, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
