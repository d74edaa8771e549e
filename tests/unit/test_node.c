/* tests/unit/test_node.c - YAML/JSON loading: typing, marks, limits and every
 * malformed-input path a user can hit (each must give one clear error with
 * a location, leave the output list untouched, and not leak or crash). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/diag.h"
#include "gwbpf/node.h"

struct ctx {
	struct gw_doc_list docs;
	struct gw_diag_list diags;
	char line[2048];
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct ctx));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	gw_doc_list_free(&c->docs);
	gw_diag_list_free(&c->diags);
	free(c);
	return 0;
}

static int load(struct ctx *c, const char *yaml)
{
	return gw_yaml_load_buf("t.yaml", yaml, strlen(yaml), &c->docs, &c->diags);
}

/* expect_error() : load fails, nothing is output, and the one diagnostic
 * reads "t.yaml:<line>: ...<needle>..." */
static void expect_error(struct ctx *c, const char *yaml, size_t len, unsigned line,
			 const char *needle)
{
	int err = gw_yaml_load_buf("t.yaml", yaml, len, &c->docs, &c->diags);

	assert_int_equal(err, -EINVAL);
	assert_int_equal(c->docs.n, 0);
	assert_int_equal(c->diags.n_errors, 1);
	gw_diag_format(&c->diags.v[0], c->line, sizeof(c->line));
	if (line) {
		char pfx[64];

		snprintf(pfx, sizeof(pfx), "t.yaml:%u: ", line);
		if (strncmp(c->line, pfx, strlen(pfx)))
			fail_msg("diagnostic '%s' does not start with '%s'", c->line, pfx);
	}
	if (!strstr(c->line, needle))
		fail_msg("diagnostic '%s' does not mention '%s'", c->line, needle);
}

static void test_scalar_kinds(void **state)
{
	struct ctx *c = *state;
	const char *y = "a: 42\n"
			"b: '42'\n"
			"c: true\n"
			"d: yes\n"
			"e: 1.5e3\n"
			"f: ~\n"
			"g:\n"
			"h: 0x1F\n"
			"i: \"true\"\n"
			"j: on\n"
			"k: -7\n"
			"l: .inf\n"
			"m: 08:00\n"
			"n: !!str 12\n";
	struct gw_node *r;
	int64_t v;
	bool b;

	assert_int_equal(load(c, y), 0);
	assert_int_equal(c->docs.n, 1);
	r = c->docs.v[0].root;
	assert_int_equal(gw_node_get(r, "a")->skind, GW_SCALAR_INT);
	assert_true(gw_node_int(r, "a", &v));
	assert_int_equal(v, 42);
	assert_int_equal(gw_node_get(r, "b")->skind, GW_SCALAR_STRING);
	assert_false(gw_node_int(r, "b", &v));
	assert_true(gw_node_bool(r, "c", &b));
	assert_true(b);
	/* YAML 1.2: yes/on are strings, as Kubernetes reads them */
	assert_int_equal(gw_node_get(r, "d")->skind, GW_SCALAR_STRING);
	assert_int_equal(gw_node_get(r, "j")->skind, GW_SCALAR_STRING);
	assert_int_equal(gw_node_get(r, "e")->skind, GW_SCALAR_FLOAT);
	assert_int_equal(gw_node_get(r, "f")->type, GW_NODE_NULL);
	assert_int_equal(gw_node_get(r, "g")->type, GW_NODE_NULL);
	assert_true(gw_node_int(r, "h", &v));
	assert_int_equal(v, 31);
	assert_int_equal(gw_node_get(r, "i")->skind, GW_SCALAR_STRING);
	assert_true(gw_node_int(r, "k", &v));
	assert_int_equal(v, -7);
	assert_int_equal(gw_node_get(r, "l")->skind, GW_SCALAR_FLOAT);
	assert_int_equal(gw_node_get(r, "m")->skind, GW_SCALAR_STRING);
	assert_int_equal(gw_node_get(r, "n")->skind, GW_SCALAR_STRING);
	assert_string_equal(gw_node_str(r, "n"), "12");
}

static void test_marks_and_paths(void **state)
{
	struct ctx *c = *state;
	const char *y = "# comment\n"
			"spec:\n"
			"  rules:\n"
			"  - matches:\n"
			"    - path:\n"
			"        value: /foo\n";
	struct gw_node *r, *v;

	assert_int_equal(load(c, y), 0);
	r = c->docs.v[0].root;
	v = gw_node_path(r, "spec.rules");
	assert_true(gw_node_is_seq(v));
	assert_int_equal(gw_node_len(r, "spec.rules"), 1);
	v = gw_node_path(v->items[0], "matches");
	v = gw_node_path(v->items[0], "path.value");
	assert_non_null(v);
	assert_string_equal(v->str, "/foo");
	assert_int_equal(v->mark.line, 6);
	assert_int_equal(v->mark.col, 16);
	assert_int_equal(v->key_mark.line, 6);
	assert_string_equal(v->mark.file, "t.yaml");
	assert_ptr_equal(v->mark.file, c->docs.v[0].file);
	assert_null(gw_node_path(r, "spec.nope"));
	assert_null(gw_node_str(r, "spec"));
}

static void test_multi_doc_and_empty(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(load(c, "---\n---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n"), 0);
	assert_int_equal(c->docs.n, 2);
	assert_non_null(gw_node_get(c->docs.v[0].root, "a"));
	assert_non_null(gw_node_get(c->docs.v[1].root, "b"));
	assert_int_equal(gw_node_get(c->docs.v[1].root, "b")->mark.line, 7);
	assert_int_equal(c->diags.n, 0);
}

static void test_json(void **state)
{
	struct ctx *c = *state;
	const char *j = "{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n"
			" \"spec\": {\"ports\": [{\"port\": 80, \"name\": \"http\"}],\n"
			"  \"x\": null, \"y\": false, \"z\": \"80\", \"f\": -1.5}}";
	struct gw_node *r, *p;
	int64_t v;

	assert_int_equal(load(c, j), 0);
	r = c->docs.v[0].root;
	assert_string_equal(gw_node_str(r, "kind"), "Service");
	p = gw_node_path(r, "spec.ports")->items[0];
	assert_true(gw_node_int(p, "port", &v));
	assert_int_equal(v, 80);
	assert_int_equal(p->mark.line, 2);
	assert_int_equal(gw_node_path(r, "spec.x")->type, GW_NODE_NULL);
	assert_int_equal(gw_node_path(r, "spec.y")->skind, GW_SCALAR_BOOL);
	assert_int_equal(gw_node_path(r, "spec.z")->skind, GW_SCALAR_STRING);
	assert_int_equal(gw_node_path(r, "spec.f")->skind, GW_SCALAR_FLOAT);
}

static void test_clone(void **state)
{
	struct ctx *c = *state;
	struct gw_node *r, *k;

	assert_int_equal(load(c, "a:\n  b: [1, \"x\", {c: d}]\n"), 0);
	r = c->docs.v[0].root;
	k = gw_node_clone(r);
	assert_non_null(k);
	assert_ptr_not_equal(k, r);
	assert_string_equal(gw_node_path(k, "a.b")->items[1]->str, "x");
	assert_ptr_not_equal(gw_node_path(k, "a.b")->items[1]->str,
			     gw_node_path(r, "a.b")->items[1]->str);
	assert_string_equal(gw_node_str(gw_node_path(k, "a.b")->items[2], "c"), "d");
	assert_int_equal(gw_node_path(k, "a.b")->mark.line, 2);
	gw_node_free(k);
	assert_null(gw_node_clone(NULL));
	gw_node_free(NULL);
}

static void test_duplicate_key(void **state)
{
	struct ctx *c = *state;

	expect_error(c, "a: 1\nb:\n  c: 1\n  c: 2\n", 20, 4, "duplicate key \"c\"");
}

static void test_duplicate_key_large_map(void **state)
{
	struct ctx *c = *state;
	char buf[4096];
	size_t n = 0;

	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k%d: %d\n", i, i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k57: again\n");
	expect_error(c, buf, n, 101, "duplicate key \"k57\"");
}

static void test_duplicate_key_json(void **state)
{
	struct ctx *c = *state;
	const char *j = "{\"a\": 1,\n \"a\": 2}";

	expect_error(c, j, strlen(j), 2, "duplicate key \"a\"");
}

static void test_anchor_alias(void **state)
{
	struct ctx *c = *state;
	const char *y = "a: &x\n  b: 1\nc: *x\n";

	expect_error(c, y, strlen(y), 1, "anchors are not supported");
}

static void test_billion_laughs(void **state)
{
	struct ctx *c = *state;
	const char *y = "a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a]\nc: [*b,*b]\n";

	expect_error(c, y, strlen(y), 1, "not supported");
}

static void test_merge_key_alias(void **state)
{
	struct ctx *c = *state;
	const char *y = "a: x\nb:\n  <<: *base\n";

	/* merge keys need an alias, so they are refused with it */
	assert_int_equal(gw_yaml_load_buf("t.yaml", y, strlen(y), &c->docs, &c->diags), -EINVAL);
	assert_int_equal(c->docs.n, 0);
	gw_diag_format(&c->diags.v[0], c->line, sizeof(c->line));
	assert_non_null(strstr(c->line, "t.yaml:3: aliases are not supported"));
}

static void test_invalid_utf8(void **state)
{
	struct ctx *c = *state;
	const char y[] = "a: ok\nb: \xc3\x28\n";

	expect_error(c, y, sizeof(y) - 1, 2, "UTF-8");
}

static void test_deep_nesting(void **state)
{
	struct ctx *c = *state;
	size_t n = 10000;
	char *y = malloc(2 * n + 1);

	memset(y, '[', n);
	memset(y + n, ']', n);
	y[2 * n] = '\0';
	expect_error(c, y, 2 * n, 1, "nesting deeper than 64 levels");
	free(y);
}

static void test_depth_at_limit_ok(void **state)
{
	struct ctx *c = *state;
	char y[200];

	memset(y, '[', 64);
	memset(y + 64, ']', 64);
	y[128] = '\0';
	assert_int_equal(load(c, y), 0);
	assert_int_equal(c->docs.n, 1);
}

static void test_too_big(void **state)
{
	struct ctx *c = *state;
	size_t n = GW_NODE_MAX_BYTES + 1;
	char *y = malloc(n);

	memset(y, '#', n);
	expect_error(c, y, n, 0, "larger than");
	free(y);
}

static void test_too_many_nodes(void **state)
{
	struct ctx *c = *state;
	size_t count = GW_NODE_MAX_NODES + 10, n = 0;
	char *y = malloc(count * 2 + 3);

	/* "[0,0,0,...]" : small in bytes, huge in nodes */
	y[n++] = '[';
	for (size_t i = 0; i < count; i++) {
		y[n++] = '0';
		y[n++] = ',';
	}
	y[n - 1] = ']';
	expect_error(c, y, n, 1, "too many nodes");
	free(y);
}

static void test_truncated(void **state)
{
	struct ctx *c = *state;
	const char *y = "a:\n  b: [1, 2\n";

	expect_error(c, y, strlen(y), 3, "");
	assert_non_null(strstr(c->line, "flow sequence"));
}

static void test_truncated_json(void **state)
{
	struct ctx *c = *state;
	const char *j = "{\"a\": {\"b\": 1}";

	/* the error is at the end of input */
	expect_error(c, j, strlen(j), 0, "flow mapping");
}

static void test_bad_indent(void **state)
{
	struct ctx *c = *state;
	const char *y = "a:\n  b: 1\n c: 2\n";

	expect_error(c, y, strlen(y), 3, "");
}

static void test_non_scalar_key(void **state)
{
	struct ctx *c = *state;
	const char *y = "? [a, b]\n: 1\n";

	expect_error(c, y, strlen(y), 1, "keys must be scalars");
}

static void test_custom_tag(void **state)
{
	struct ctx *c = *state;
	const char *y = "a: !!binary aGVsbG8=\n";

	expect_error(c, y, strlen(y), 1, "unsupported tag");
	gw_diag_list_free(&c->diags);
	y = "a: !local 1\n";
	expect_error(c, y, strlen(y), 1, "unsupported tag");
	gw_diag_list_free(&c->diags);
	y = "a: !!int abc\n";
	expect_error(c, y, strlen(y), 1, "unsupported tag");
}

static void test_nul_in_key(void **state)
{
	struct ctx *c = *state;
	const char *y = "\"a\\0b\": 1\n";

	expect_error(c, y, strlen(y), 1, "NUL byte in a key");
}

static void test_nul_in_value_kept(void **state)
{
	struct ctx *c = *state;
	struct gw_node *v;

	assert_int_equal(load(c, "a: \"x\\0y\"\n"), 0);
	v = gw_node_get(c->docs.v[0].root, "a");
	assert_int_equal(v->len, 3);
	assert_int_equal(v->str[2], 'y');
}

static void test_binary_garbage(void **state)
{
	struct ctx *c = *state;
	unsigned char buf[4096];
	unsigned int seed = 1;

	/* deterministic garbage: must be refused without crashing */
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	assert_int_equal(gw_yaml_load_buf("t.yaml", (char *)buf, sizeof(buf), &c->docs, &c->diags),
			 -EINVAL);
	assert_int_equal(c->docs.n, 0);
	assert_true(c->diags.n_errors >= 1);
}

static void test_error_keeps_earlier_output(void **state)
{
	struct ctx *c = *state;
	const char *bad = "a: 1\n---\nb: [\n";

	assert_int_equal(load(c, "x: 1\n"), 0);
	assert_int_equal(c->docs.n, 1);
	/* the second document of the bad file parsed fine, yet nothing is added */
	assert_int_equal(load(c, bad), -EINVAL);
	assert_int_equal(c->docs.n, 1);
	assert_non_null(gw_node_get(c->docs.v[0].root, "x"));
}

static void test_load_file(void **state)
{
	struct ctx *c = *state;
	char path[] = "/tmp/gwbpf-test-node-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a: 1\n---\nb: 2\n", 14), 14);
	close(fd);
	assert_int_equal(gw_yaml_load_file(path, &c->docs, &c->diags), 0);
	assert_int_equal(c->docs.n, 2);
	assert_string_equal(c->docs.v[1].file, path);
	unlink(path);
	assert_int_equal(gw_yaml_load_file(path, &c->docs, &c->diags), -ENOENT);
	assert_int_equal(c->docs.n, 2);
	gw_diag_format(&c->diags.v[0], c->line, sizeof(c->line));
	assert_non_null(strstr(c->line, "cannot open"));
	assert_int_equal(gw_yaml_load_file("/tmp", &c->docs, &c->diags), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scalar_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marks_and_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_doc_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_key_large_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_key_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_billion_laughs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_key_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_at_limit_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_indent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_scalar_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_custom_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_value_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_keeps_earlier_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
