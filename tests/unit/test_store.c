/* tests/unit/test_store.c - objects from documents (metadata rules a user
 * relies on: default namespace, cluster scope, List expansion, timestamps)
 * and the store (replace by key, delete, sorted listing, cheap clones). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/diag.h"
#include "gwbpf/node.h"
#include "gwbpf/store.h"

static struct gw_node *parse(const char *yaml)
{
	struct gw_doc_list dl = { 0 };
	struct gw_diag_list diags = { 0 };
	struct gw_node *root;

	assert_int_equal(gw_yaml_load_buf("o.yaml", yaml, strlen(yaml), &dl, &diags), 0);
	assert_int_equal(dl.n, 1);
	root = dl.v[0].root;
	dl.v[0].root = NULL;
	gw_doc_list_free(&dl);
	gw_diag_list_free(&diags);
	return root;
}

static struct gw_object *obj(const char *yaml)
{
	struct gw_diag_list diags = { 0 };
	struct gw_object *o = gw_object_from_doc(parse(yaml), "o.yaml", &diags);

	if (!o) {
		gw_diag_print(&diags, stderr);
		fail_msg("object rejected");
	}
	gw_diag_list_free(&diags);
	return o;
}

static void expect_reject(const char *yaml, const char *want)
{
	struct gw_diag_list diags = { 0 };
	char line[1024];

	assert_null(gw_object_from_doc(parse(yaml), "o.yaml", &diags));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(diags.n_errors, 1);
	gw_diag_format(&diags.v[0], line, sizeof(line));
	if (strcmp(line, want))
		fail_msg("got '%s', want '%s'", line, want);
	gw_diag_list_free(&diags);
}

static void test_object_fields(void **state)
{
	struct gw_object *o = obj("apiVersion: gateway.networking.k8s.io/v1\n"
				  "kind: HTTPRoute\n"
				  "metadata:\n"
				  "  name: r1\n"
				  "  namespace: apps\n"
				  "  generation: 7\n"
				  "  resourceVersion: \"123\"\n"
				  "  creationTimestamp: \"2024-01-02T03:04:05Z\"\n"
				  "  labels: {app: web}\n"
				  "spec: {}\n");
	char ref[128];

	assert_string_equal(o->group, "gateway.networking.k8s.io");
	assert_string_equal(o->version, "v1");
	assert_string_equal(o->api_version, "gateway.networking.k8s.io/v1");
	assert_string_equal(o->kind, "HTTPRoute");
	assert_string_equal(o->ns, "apps");
	assert_string_equal(o->name, "r1");
	assert_int_equal(o->generation, 7);
	assert_string_equal(o->resource_version, "123");
	assert_int_equal(o->creation_ts, 1704164645); /* date -u -d 2024-01-02T03:04:05Z +%s */
	assert_string_equal(o->creation_timestamp, "2024-01-02T03:04:05Z");
	assert_string_equal(gw_node_str(o->labels, "app"), "web");
	assert_string_equal(o->file, "o.yaml");
	/* marks in the tree point at the object's own copy of the file name */
	assert_ptr_equal(gw_node_get(o->root, "spec")->mark.file, o->file);
	assert_int_equal(gw_node_get(o->root, "spec")->mark.line, 10);
	assert_string_equal(gw_object_ref(o, ref, sizeof(ref)), "HTTPRoute apps/r1");
	gw_object_put(o);
}

static void test_defaults(void **state)
{
	struct gw_object *o = obj("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n");
	char ref[128];

	assert_string_equal(o->group, "");
	assert_string_equal(o->version, "v1");
	assert_string_equal(o->ns, "default");
	assert_int_equal(o->generation, 1);
	assert_int_equal(o->creation_ts, 0);
	assert_string_equal(o->creation_timestamp, "");
	assert_string_equal(o->resource_version, "");
	assert_null(o->labels);
	gw_object_put(o);

	o = obj("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
		"metadata: {name: gc, namespace: ignored}\n");
	assert_string_equal(o->ns, "");
	assert_string_equal(gw_object_ref(o, ref, sizeof(ref)), "GatewayClass gc");
	gw_object_put(o);
	o = obj("apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n");
	assert_string_equal(o->ns, "");
	gw_object_put(o);
}

static void test_timestamp_offsets(void **state)
{
	struct gw_object *o = obj("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
				  "  creationTimestamp: 2024-01-02T05:04:05.123+02:00\n");

	assert_int_equal(o->creation_ts, 1704164645);
	gw_object_put(o);
}

static void test_rejects(void **state)
{
	expect_reject("kind: Service\nmetadata: {name: s}\n", "o.yaml:1: apiVersion: must be a non-empty string");
	expect_reject("apiVersion: v1\nkind: 3\nmetadata: {name: s}\n",
		      "o.yaml:1: kind: must be a non-empty string");
	expect_reject("apiVersion: v1\nkind: Service\nmetadata: []\n",
		      "o.yaml:3: metadata: must be a mapping");
	expect_reject("apiVersion: v1\nkind: Service\nmetadata:\n  namespace: x\n",
		      "o.yaml:4: metadata.name: must be a non-empty string (generateName is not "
		      "supported)");
	expect_reject("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  generation: x\n",
		      "o.yaml:5: metadata.generation: must be a non-negative integer");
	expect_reject("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
		      "  creationTimestamp: yesterday\n",
		      "o.yaml:5: metadata.creationTimestamp: must be an RFC 3339 timestamp, got "
		      "\"yesterday\"");
	expect_reject("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n    a: 1\n",
		      "o.yaml:6: metadata.labels: value of \"a\" must be a string");
	expect_reject("- a\n- b\n",
		      "o.yaml:1: a manifest must be a mapping with apiVersion, kind and metadata");
}

static void test_list_expands(void **state)
{
	struct gw_node *root = parse("apiVersion: v1\nkind: List\nitems:\n"
				     "- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n"
				     "- apiVersion: v1\n  kind: Service\n  metadata: {}\n"
				     "- apiVersion: v1\n  kind: Secret\n  metadata: {name: c, "
				     "namespace: x}\n");
	struct gw_diag_list diags = { 0 };
	struct gw_object **v = NULL;
	size_t n = 0;
	char line[512];

	/* the bad middle item is reported and skipped; the others load */
	assert_int_equal(gw_objects_from_doc(root, "l.yaml", &v, &n, &diags), -EINVAL);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->name, "a");
	assert_string_equal(v[1]->kind, "Secret");
	assert_string_equal(v[1]->ns, "x");
	assert_int_equal(v[1]->mark.line, 10);
	assert_int_equal(diags.n_errors, 1);
	gw_diag_format(&diags.v[0], line, sizeof(line));
	assert_string_equal(line, "l.yaml:9: metadata.name: must be a non-empty string "
				  "(generateName is not supported)");
	for (size_t i = 0; i < n; i++)
		gw_object_put(v[i]);
	free(v);
	gw_diag_list_free(&diags);

	/* a plain document goes through as one object */
	v = NULL;
	n = 0;
	root = parse("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n");
	assert_int_equal(gw_objects_from_doc(root, "l.yaml", &v, &n, &diags), 0);
	assert_int_equal(n, 1);
	gw_object_put(v[0]);
	free(v);
}

static struct gw_object *mk(const char *kind, const char *ns, const char *name, const char *extra)
{
	char y[512];

	snprintf(y, sizeof(y),
		 "apiVersion: gateway.networking.k8s.io/v1\nkind: %s\nmetadata:\n  name: %s\n"
		 "  namespace: %s\n%s",
		 kind, name, ns, extra ? extra : "");
	return obj(y);
}

static void test_store_put_get_del(void **state)
{
	struct gw_store *s = gw_store_new();
	struct gw_object *a = mk("HTTPRoute", "ns1", "a", NULL);
	struct gw_object *a2 = mk("HTTPRoute", "ns1", "a", "spec: {v: 2}\n");
	uint64_t ver;

	assert_int_equal(gw_store_put(s, a), 0);
	assert_int_equal(gw_store_put(s, mk("Gateway", "ns1", "a", NULL)), 0);
	assert_int_equal(s->n_objects, 2);
	assert_ptr_equal(gw_store_get(s, "gateway.networking.k8s.io", "HTTPRoute", "ns1", "a"), a);
	assert_null(gw_store_get(s, "", "HTTPRoute", "ns1", "a"));
	assert_null(gw_store_get(s, "gateway.networking.k8s.io", "HTTPRoute", "ns2", "a"));
	ver = s->version;
	/* same key: replaced, count unchanged */
	assert_int_equal(gw_store_put(s, a2), 0);
	assert_int_equal(s->n_objects, 2);
	assert_true(s->version > ver);
	assert_ptr_equal(gw_store_get(s, "gateway.networking.k8s.io", "HTTPRoute", "ns1", "a"), a2);
	assert_int_equal(gw_store_del(s, "gateway.networking.k8s.io", "HTTPRoute", "ns1", "a"), 0);
	assert_int_equal(gw_store_del(s, "gateway.networking.k8s.io", "HTTPRoute", "ns1", "a"),
			 -ENOENT);
	assert_int_equal(s->n_objects, 1);
	gw_store_free(s);
	gw_store_free(NULL);
}

static void test_store_list_sorted_and_grows(void **state)
{
	struct gw_store *s = gw_store_new();
	struct gw_object **v;
	char name[32];
	ssize_t n;

	/* enough objects to force several rehashes */
	for (int i = 499; i >= 0; i--) {
		snprintf(name, sizeof(name), "r%03d", i);
		assert_int_equal(gw_store_put(s, mk("HTTPRoute", i % 2 ? "b" : "a", name, NULL)), 0);
	}
	assert_int_equal(gw_store_put(s, mk("Gateway", "z", "g", NULL)), 0);
	n = gw_store_list(s, "gateway.networking.k8s.io", "HTTPRoute", &v);
	assert_int_equal(n, 500);
	/* namespace a (even numbers) first, then b, each by name */
	assert_string_equal(v[0]->ns, "a");
	assert_string_equal(v[0]->name, "r000");
	assert_string_equal(v[249]->name, "r498");
	assert_string_equal(v[250]->ns, "b");
	assert_string_equal(v[250]->name, "r001");
	free(v);
	n = gw_store_list(s, NULL, NULL, &v);
	assert_int_equal(n, 501);
	assert_string_equal(v[0]->kind, "Gateway"); /* kind sorts first */
	free(v);
	n = gw_store_list(s, "", "HTTPRoute", &v);
	assert_int_equal(n, 0);
	free(v);
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "r%03d", i);
		assert_non_null(gw_store_get(s, "gateway.networking.k8s.io", "HTTPRoute",
					     i % 2 ? "b" : "a", name));
	}
	gw_store_free(s);
}

static void test_store_clone_independent(void **state)
{
	struct gw_store *s = gw_store_new(), *c;
	struct gw_object *a = mk("HTTPRoute", "ns", "a", NULL);

	assert_int_equal(gw_store_put(s, a), 0);
	c = gw_store_clone(s);
	assert_non_null(c);
	assert_ptr_equal(gw_store_get(c, "gateway.networking.k8s.io", "HTTPRoute", "ns", "a"), a);
	assert_int_equal(a->refcnt, 2);
	/* changes to the original do not show in the clone */
	assert_int_equal(gw_store_del(s, "gateway.networking.k8s.io", "HTTPRoute", "ns", "a"), 0);
	assert_int_equal(gw_store_put(s, mk("HTTPRoute", "ns", "b", NULL)), 0);
	assert_int_equal(c->n_objects, 1);
	assert_null(gw_store_get(c, "gateway.networking.k8s.io", "HTTPRoute", "ns", "b"));
	assert_int_equal(a->refcnt, 1);
	gw_store_free(s);
	assert_string_equal(a->name, "a"); /* still alive through the clone */
	gw_store_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_fields),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_timestamp_offsets),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_list_expands),
		cmocka_unit_test(test_store_put_get_del),
		cmocka_unit_test(test_store_list_sorted_and_grows),
		cmocka_unit_test(test_store_clone_independent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
