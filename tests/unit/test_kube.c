/* tests/unit/test_kube.c - the pure parts of the Kubernetes source: JSON from
 * the API server becomes the same tree (and object) as the same manifest in
 * YAML; kubeconfig reading; resource paths; and the status patch rules
 * (write only on change, keep other controllers' route parents, keep
 * lastTransitionTime of unchanged conditions, drop keys no longer reported). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gwbpf/diag.h"
#include "gwbpf/kube.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"

static json_t *js(const char *txt)
{
	json_error_t e;
	json_t *j = json_loads(txt, 0, &e);

	if (!j)
		fail_msg("bad JSON in test: %s: %s", txt, e.text);
	return j;
}

/* ---- JSON -> node ---- */

static void test_json_to_node_types(void **state)
{
	json_t *j = js("{\"s\":\"80\",\"i\":80,\"neg\":-3,\"f\":1.5,\"t\":true,\"n\":null,"
		       "\"a\":[1,\"x\"],\"m\":{},\"e\":[]}");
	struct gw_node *n = gw_json_to_node(j);
	int64_t v;
	bool b;

	assert_non_null(n);
	assert_int_equal(n->type, GW_NODE_MAP);
	/* a quoted "80" stays a string: the schema check must see the JSON type */
	assert_int_equal(gw_node_get(n, "s")->skind, GW_SCALAR_STRING);
	assert_false(gw_node_int(n, "s", &v));
	assert_true(gw_node_int(n, "i", &v));
	assert_int_equal(v, 80);
	assert_true(gw_node_int(n, "neg", &v));
	assert_int_equal(v, -3);
	assert_int_equal(gw_node_get(n, "f")->skind, GW_SCALAR_FLOAT);
	assert_true(gw_node_bool(n, "t", &b));
	assert_true(b);
	assert_int_equal(gw_node_get(n, "n")->type, GW_NODE_NULL);
	assert_int_equal(gw_node_len(n, "a"), 2);
	assert_string_equal(gw_node_get(n, "a")->items[1]->str, "x");
	assert_int_equal(gw_node_get(n, "m")->type, GW_NODE_MAP);
	assert_int_equal(gw_node_get(n, "e")->type, GW_NODE_SEQ);
	assert_null(gw_node_get(n, "m")->mark.file);
	gw_node_free(n);
	json_decref(j);
}

static void test_json_to_node_depth_limit(void **state)
{
	json_t *root = json_array(), *cur = root;

	for (int i = 0; i < GW_NODE_MAX_DEPTH + 5; i++) {
		json_t *c = json_array();

		json_array_append_new(cur, c);
		cur = c;
	}
	assert_null(gw_json_to_node(root));
	assert_int_equal(errno, E2BIG);
	json_decref(root);
}

/* an HTTPRoute from the API server validates like the same YAML manifest */
static void test_json_object_validates(void **state)
{
	json_t *j = js("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
		       "\"metadata\":{\"name\":\"r\",\"namespace\":\"ns\",\"generation\":7,"
		       "\"resourceVersion\":\"42\",\"creationTimestamp\":\"2024-01-02T03:04:05Z\"},"
		       "\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{\"matches\":"
		       "[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/a\"}}]}]}}");
	json_t *bad = js("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
			 "\"metadata\":{\"name\":\"r\",\"namespace\":\"ns\"},\"spec\":{\"rules\":"
			 "[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"a\"}}]}]}}");
	struct gw_diag_list diags = { 0 };
	struct gw_object *o;

	o = gw_object_from_doc(gw_json_to_node(j), NULL, &diags);
	assert_non_null(o);
	assert_string_equal(o->ns, "ns");
	assert_int_equal(o->generation, 7);
	assert_string_equal(o->resource_version, "42");
	assert_int_equal(o->creation_ts, 1704164645);
	assert_int_equal(gw_validate_object(o, &diags), 0);
	gw_object_put(o);
	o = gw_object_from_doc(gw_json_to_node(bad), NULL, &diags);
	assert_non_null(o);
	assert_int_equal(gw_validate_object(o, &diags), -EINVAL);
	assert_true(diags.n_errors > 0);
	gw_object_put(o);
	gw_diag_list_free(&diags);
	json_decref(j);
	json_decref(bad);
}

/* ---- kubeconfig ---- */

static char *write_tmp(const char *dir, const char *name, const char *txt)
{
	char *p;
	FILE *f;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(txt, f);
	fclose(f);
	return p;
}

static void test_kubeconfig(void **state)
{
	char dir[] = "/tmp/gwbpf-kc-XXXXXX";
	struct gw_diag_list diags = { 0 };
	struct gw_kube_config c;
	char *p, *ca;

	assert_non_null(mkdtemp(dir));
	/* "LS0tLS1CRUdJTg==" is base64 of "-----BEGIN" */
	p = write_tmp(dir, "kc",
		      "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
		      "contexts:\n- name: a\n  context: {cluster: ca, user: ua}\n"
		      "- name: b\n  context: {cluster: cb, user: ub, namespace: gw}\n"
		      "clusters:\n- name: ca\n  cluster: {server: 'https://wrong'}\n"
		      "- name: cb\n  cluster:\n    server: https://10.0.0.1:6443\n"
		      "    certificate-authority: ca.crt\n"
		      "users:\n- name: ub\n  user:\n    token: abc\n"
		      "    client-certificate-data: LS0tLS1CRUdJTg==\n"
		      "    client-key: /abs/key.pem\n");
	assert_int_equal(gw_kubeconfig_load(p, &c, &diags), 0);
	assert_string_equal(c.server, "https://10.0.0.1:6443");
	assert_string_equal(c.token, "abc");
	assert_string_equal(c.namespace, "gw");
	assert_true(asprintf(&ca, "%s/ca.crt", dir) > 0);
	assert_string_equal(c.ca_file, ca); /* relative to the kubeconfig's folder */
	assert_string_equal(c.cert_data, "-----BEGIN");
	assert_string_equal(c.key_file, "/abs/key.pem");
	assert_false(c.insecure);
	gw_kube_config_clear(&c);
	gw_kube_config_clear(NULL);
	unlink(p);
	free(p);
	free(ca);

	/* exec plugins are refused with a reason, not ignored */
	p = write_tmp(dir, "kc2",
		      "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		      "clusters: [{name: c, cluster: {server: 'https://s'}}]\n"
		      "users: [{name: u, user: {exec: {command: aws}}}]\n");
	assert_int_equal(gw_kubeconfig_load(p, &c, &diags), -EINVAL);
	assert_non_null(strstr(diags.v[diags.n - 1].msg, "exec"));
	unlink(p);
	free(p);

	/* a current-context that names no cluster */
	p = write_tmp(dir, "kc3", "current-context: nope\ncontexts: []\nclusters: []\n");
	assert_int_equal(gw_kubeconfig_load(p, &c, &diags), -EINVAL);
	assert_null(c.server);
	unlink(p);
	free(p);

	/* bad base64 is reported, not silently used */
	p = write_tmp(dir, "kc4",
		      "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		      "clusters: [{name: c, cluster: {server: 'https://s', "
		      "certificate-authority-data: '***'}}]\nusers: [{name: u, user: {}}]\n");
	assert_int_equal(gw_kubeconfig_load(p, &c, &diags), -EINVAL);
	unlink(p);
	free(p);
	rmdir(dir);
	gw_diag_list_free(&diags);
}

static void test_incluster(void **state)
{
	char dir[] = "/tmp/gwbpf-sa-XXXXXX";
	struct gw_diag_list diags = { 0 };
	struct gw_kube_config c;
	char *a, *b;

	assert_non_null(mkdtemp(dir));
	a = write_tmp(dir, "token", "tok123\n");
	b = write_tmp(dir, "namespace", "gwbpf-system");
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(gw_kube_incluster(dir, &c, &diags), -ENOENT);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(gw_kube_incluster(dir, &c, &diags), 0);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	assert_string_equal(c.token, "tok123"); /* newline stripped */
	assert_string_equal(c.namespace, "gwbpf-system");
	assert_non_null(strstr(c.ca_file, "/ca.crt"));
	gw_kube_config_clear(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	rmdir(dir);
	gw_diag_list_free(&diags);
}

static void test_resource_path(void **state)
{
	struct {
		const char *g, *v, *k, *ns, *name, *want;
	} t[] = {
		{ "gateway.networking.k8s.io", "v1", "HTTPRoute", "ns", "r",
		  "/apis/gateway.networking.k8s.io/v1/namespaces/ns/httproutes/r" },
		{ "gateway.networking.k8s.io", "v1", "GatewayClass", "", "gc",
		  "/apis/gateway.networking.k8s.io/v1/gatewayclasses/gc" },
		{ "gateway.networking.k8s.io", "v1", "BackendTLSPolicy", "a", NULL,
		  "/apis/gateway.networking.k8s.io/v1/namespaces/a/backendtlspolicies" },
		{ "", "v1", "Service", NULL, NULL, "/api/v1/services" },
		{ "networking.k8s.io", "v1", "Ingress", "x", "i",
		  "/apis/networking.k8s.io/v1/namespaces/x/ingresses/i" },
		{ "discovery.k8s.io", "v1", "EndpointSlice", NULL, NULL,
		  "/apis/discovery.k8s.io/v1/endpointslices" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *p = gw_kube_resource_path(t[i].g, t[i].v, t[i].k, t[i].ns, t[i].name);

		assert_string_equal(p, t[i].want);
		free(p);
	}
}

/* ---- status patches ---- */

#define COND(type, st, ltt)                                                                   \
	"{\"type\":\"" type "\",\"status\":\"" st "\",\"reason\":\"R\",\"message\":\"m\","     \
	"\"observedGeneration\":1,\"lastTransitionTime\":\"" ltt "\"}"

static void test_status_unchanged_is_no_patch(void **state)
{
	json_t *cur = js("{\"kind\":\"Gateway\",\"metadata\":{\"resourceVersion\":\"5\"},"
			 "\"status\":{\"conditions\":[" COND("Accepted", "True", "2020-01-01T00:00:00Z")
			 "]}}");
	/* only lastTransitionTime differs: nothing to write */
	json_t *want = js("{\"conditions\":[" COND("Accepted", "True", "2030-01-01T00:00:00Z") "]}");

	assert_null(gw_kube_status_patch(cur, want, NULL));
	assert_int_equal(errno, 0);
	json_decref(cur);
	json_decref(want);
}

static void test_status_keeps_ltt_and_resource_version(void **state)
{
	json_t *cur = js("{\"kind\":\"Gateway\",\"metadata\":{\"resourceVersion\":\"5\"},"
			 "\"status\":{\"conditions\":[" COND("Accepted", "True", "2020-01-01T00:00:00Z")
			 "," COND("Programmed", "False", "2020-01-01T00:00:00Z") "],"
			 "\"listeners\":[{\"name\":\"h\",\"conditions\":["
			 COND("Accepted", "True", "2021-01-01T00:00:00Z") "]}],\"stale\":1}}");
	json_t *want = js("{\"conditions\":[" COND("Accepted", "True", "2030-01-01T00:00:00Z")
			  "," COND("Programmed", "True", "2030-01-01T00:00:00Z") "],"
			  "\"listeners\":[{\"name\":\"h\",\"conditions\":["
			  COND("Accepted", "True", "2030-01-01T00:00:00Z") "]}]}");
	json_t *p = gw_kube_status_patch(cur, want, NULL), *conds;

	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "metadata"),
							      "resourceVersion")), "5");
	conds = json_object_get(json_object_get(p, "status"), "conditions");
	/* Accepted did not change status: its time stays; Programmed flipped: new time */
	assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 0),
							      "lastTransitionTime")),
			    "2020-01-01T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 1),
							      "lastTransitionTime")),
			    "2030-01-01T00:00:00Z");
	conds = json_object_get(json_array_get(json_object_get(json_object_get(p, "status"),
							       "listeners"), 0), "conditions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 0),
							      "lastTransitionTime")),
			    "2021-01-01T00:00:00Z");
	/* a key gwbpf no longer reports is removed by the merge patch */
	assert_true(json_is_null(json_object_get(json_object_get(p, "status"), "stale")));
	json_decref(p);
	json_decref(cur);
	json_decref(want);
}

static void test_status_route_parents(void **state)
{
	json_t *cur = js("{\"kind\":\"HTTPRoute\",\"metadata\":{\"namespace\":\"ns\","
			 "\"resourceVersion\":\"9\"},\"status\":{\"parents\":["
			 "{\"parentRef\":{\"name\":\"o\"},\"controllerName\":\"other.io/c\","
			 "\"conditions\":[" COND("Accepted", "True", "2019-01-01T00:00:00Z") "]},"
			 "{\"parentRef\":{\"name\":\"gw\"},\"controllerName\":"
			 "\"gwbpf.dev/gateway-controller\",\"conditions\":["
			 COND("Accepted", "True", "2020-01-01T00:00:00Z") "]},"
			 "{\"parentRef\":{\"name\":\"gone\"},\"controllerName\":"
			 "\"gwbpf.dev/gateway-controller\",\"conditions\":[]}]}}");
	/* ours, now with defaults spelled out; the "gone" parent is no longer ours */
	json_t *want = js("{\"parents\":[{\"parentRef\":{\"group\":\"gateway.networking.k8s.io\","
			  "\"kind\":\"Gateway\",\"namespace\":\"ns\",\"name\":\"gw\"},"
			  "\"controllerName\":\"gwbpf.dev/gateway-controller\",\"conditions\":["
			  COND("Accepted", "True", "2030-01-01T00:00:00Z") "]}]}");
	json_t *p = gw_kube_status_patch(cur, want, NULL), *parents, *again;

	assert_non_null(p);
	parents = json_object_get(json_object_get(p, "status"), "parents");
	assert_int_equal(json_array_size(parents), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(parents, 0),
							      "controllerName")), "other.io/c");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_array_get(parents, 1), "parentRef"), "name")), "gw");
	/* same parent (defaults applied), same status: time kept */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
				    json_array_get(parents, 1), "conditions"), 0),
							      "lastTransitionTime")),
			    "2020-01-01T00:00:00Z");
	/* once applied, the same computation is a no-op */
	json_object_set(json_object_get(cur, "status"), "parents", parents);
	again = gw_kube_status_patch(cur, want, NULL);
	assert_null(again);
	json_decref(p);
	json_decref(cur);
	json_decref(want);
}

static void test_status_route_not_ours(void **state)
{
	/* a route with no parent of ours and no entries of ours: never written */
	json_t *cur = js("{\"kind\":\"HTTPRoute\",\"metadata\":{\"resourceVersion\":\"1\"}}");
	json_t *want = js("{\"parents\":[]}");

	assert_null(gw_kube_status_patch(cur, want, NULL));
	json_decref(cur);
	json_decref(want);
}

static void test_status_policy_ancestors(void **state)
{
	/* BackendTLSPolicy: status.ancestors shared like route parents, keyed
	 * by ancestorRef: another controller's entry kept, ours replaced */
	json_t *cur = js("{\"kind\":\"BackendTLSPolicy\",\"metadata\":{\"namespace\":\"ns\","
			 "\"resourceVersion\":\"4\"},\"status\":{\"ancestors\":["
			 "{\"ancestorRef\":{\"name\":\"o\"},\"controllerName\":\"other.io/c\","
			 "\"conditions\":[" COND("Accepted", "True", "2019-01-01T00:00:00Z") "]},"
			 "{\"ancestorRef\":{\"name\":\"gw\"},\"controllerName\":"
			 "\"gwbpf.dev/gateway-controller\",\"conditions\":["
			 COND("Accepted", "False", "2020-01-01T00:00:00Z") "]}]}}");
	json_t *want = js("{\"ancestors\":[{\"ancestorRef\":{\"group\":"
			  "\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"namespace\":\"ns\","
			  "\"name\":\"gw\"},\"controllerName\":\"gwbpf.dev/gateway-controller\","
			  "\"conditions\":[" COND("Accepted", "True", "2030-01-01T00:00:00Z") "]}]}");
	json_t *p = gw_kube_status_patch(cur, want, NULL), *anc;

	assert_non_null(p);
	assert_null(json_object_get(json_object_get(p, "status"), "parents"));
	anc = json_object_get(json_object_get(p, "status"), "ancestors");
	assert_int_equal(json_array_size(anc), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(anc, 0),
							      "controllerName")), "other.io/c");
	/* Accepted went False -> True: the new time, not the old one */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
				    json_array_get(anc, 1), "conditions"), 0),
							      "lastTransitionTime")),
			    "2030-01-01T00:00:00Z");
	json_object_set(json_object_get(cur, "status"), "ancestors", anc);
	assert_null(gw_kube_status_patch(cur, want, NULL));
	json_decref(p);
	json_decref(cur);
	json_decref(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_to_node_types),
		cmocka_unit_test(test_json_to_node_depth_limit),
		cmocka_unit_test(test_json_object_validates),
		cmocka_unit_test(test_kubeconfig),
		cmocka_unit_test(test_incluster),
		cmocka_unit_test(test_resource_path),
		cmocka_unit_test(test_status_unchanged_is_no_patch),
		cmocka_unit_test(test_status_keeps_ltt_and_resource_version),
		cmocka_unit_test(test_status_route_parents),
		cmocka_unit_test(test_status_route_not_ours),
		cmocka_unit_test(test_status_policy_ancestors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
