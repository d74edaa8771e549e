/* tests/unit/test_route_stats.c - the /status/routes document (route_stats.c)
 * from a translated config and the proxy's counters, and how `gwbpf status`
 * joins it into the List and prints it (status_view.c). No BPF: the kernel
 * side is covered by tests/integration/test_status_kernel.sh. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "translate_helpers.h"

#include "gwbpf/metrics.h"
#include "gwbpf/route_stats.h"
#include "gwbpf/status_view.h"

static const char CONFIG[] =
	CLASS_YAML
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n"
	"  namespace: default\nspec:\n  gatewayClassName: gwbpf\n  listeners:\n"
	"  - name: web\n    protocol: HTTP\n    port: 8080\n"
	"    allowedRoutes: {namespaces: {from: Same}}\n---\n"
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: fast\n"
	"  namespace: default\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [a.test, b.test]\n"
	"  rules:\n  - backendRefs: [{name: svc, port: 80}]\n---\n"
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: slow\n"
	"  namespace: default\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [s.test]\n"
	"  rules:\n  - matches: [{headers: [{name: X-H, value: '1'}]}]\n"
	"    backendRefs: [{name: svc, port: 80}, {name: gone, port: 80}]\n---\n"
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  namespace: default\n"
	"spec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---\n"
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-1\n"
	"  namespace: default\n  labels:\n    kubernetes.io/service-name: svc\n"
	"addressType: IPv4\nports:\n- name: http\n  port: 8080\n"
	"endpoints:\n- addresses: [10.0.0.1]\n- addresses: [10.0.0.2]\n  conditions:\n"
	"    ready: false\n";

static json_t *route_of(json_t *doc, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(doc, "routes"), i, r)
		if (!strcmp(json_string_value(json_object_get(r, "route")), name))
			return r;
	return NULL;
}

static json_int_t iv(json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* the document for a snapshot with the proxy's counts of two workers */
static json_t *stats_doc(struct fx *f, struct gw_metrics **mp)
{
	struct gw_metrics *m = gw_metrics_new(2);
	const char *lst = "default/gw/web";
	json_error_t jerr;
	json_t *doc;
	char *s;

	assert_non_null(m);
	for (int i = 0; i < 5; i++)
		gw_metrics_request(gw_metrics_worker(m, 0), lst, "default/fast", 200, 1);
	for (int i = 0; i < 3; i++)
		gw_metrics_request_bytes(gw_metrics_worker(m, 1), lst, "default/fast", 503, 1, 40,
					 100 + i);
	gw_metrics_request_bytes(gw_metrics_worker(m, 1), lst, "default/slow", 200, 1, 70, 130);
	gw_metrics_request(gw_metrics_worker(m, 0), NULL, NULL, 404, 1);
	gw_metrics_request(gw_metrics_worker(m, 1), NULL, NULL, 404, 1);
	s = gw_route_stats_json(f->t->ir, m, false, NULL);
	assert_non_null(s);
	doc = json_loads(s, 0, &jerr);
	free(s);
	assert_non_null(doc);
	*mp = m;
	return doc;
}

static void test_document(void **state)
{
	struct fx f = { 0 };
	struct gw_metrics *m;
	json_t *doc, *fast, *slow, *l, *r, *b;

	fx_load(&f, CONFIG);
	fx_run(&f);
	doc = stats_doc(&f, &m);
	fast = route_of(doc, "default/fast");
	slow = route_of(doc, "default/slow");
	assert_non_null(fast);
	assert_non_null(slow);
	/* summed over both workers and every status class */
	assert_int_equal(iv(fast, "requests", "userspace"), 8);
	assert_int_equal(iv(fast, "requests", "kernel"), 0);
	assert_int_equal(iv(fast, "requests", "total"), 8);
	assert_int_equal(iv(slow, "requests", "userspace"), 1);
	/* bytes per side: the proxy's, summed over workers; none in the kernel */
	assert_int_equal(iv(json_object_get(fast, "bytes"), "userspace", "request"), 3 * 40);
	assert_int_equal(iv(json_object_get(fast, "bytes"), "userspace", "response"), 303);
	assert_int_equal(iv(json_object_get(fast, "bytes"), "kernel", "response"), 0);
	assert_int_equal(iv(json_object_get(slow, "bytes"), "userspace", "request"), 70);
	assert_int_equal(iv(json_object_get(slow, "bytes"), "userspace", "response"), 130);
	assert_int_equal(iv(doc, "unrouted", "userspace"), 2);
	assert_int_equal(iv(doc, "unattributed", "kernel"), 0);
	assert_true(json_is_null(json_object_get(doc, "mechanisms")));

	/* one listener, both hostnames of the route */
	assert_int_equal(json_array_size(json_object_get(fast, "listeners")), 1);
	l = json_array_get(json_object_get(fast, "listeners"), 0);
	assert_string_equal(json_string_value(json_object_get(l, "listener")), "default/gw/web");
	assert_int_equal(json_array_size(json_object_get(l, "hosts")), 2);
	assert_int_equal(iv(l, "requests", "userspace"), 8);
	assert_int_equal(iv(json_object_get(l, "bytes"), "userspace", "response"), 303);

	/* the plain rule may be decided by the kernel, the header rule not */
	r = json_array_get(json_object_get(fast, "rules"), 0);
	assert_true(json_is_true(json_object_get(r, "kernelEligible")));
	b = json_array_get(json_object_get(r, "backends"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "cluster")), "default/svc:80");
	assert_int_equal(json_array_size(json_object_get(b, "endpoints")), 2);
	assert_true(json_is_false(
		json_object_get(json_array_get(json_object_get(b, "endpoints"), 1), "ready")));
	r = json_array_get(json_object_get(slow, "rules"), 0);
	assert_true(json_is_false(json_object_get(r, "kernelEligible")));
	/* a backendRef to a missing Service resolves to nothing: cluster null */
	assert_int_equal(json_array_size(json_object_get(r, "backends")), 2);
	assert_true(json_is_null(
		json_object_get(json_array_get(json_object_get(r, "backends"), 1), "cluster")));

	json_decref(doc);
	gw_metrics_free(m);
	fx_free(&f);
}

static void test_join_and_print(void **state)
{
	struct fx f = { 0 };
	struct gw_metrics *m;
	json_t *doc, *list, *item, *dp;
	char *out = NULL;
	size_t len = 0, i;
	FILE *fp;

	fx_load(&f, CONFIG);
	fx_run(&f);
	doc = stats_doc(&f, &m);
	list = gw_translation_status_list(f.t);
	assert_non_null(list);
	assert_int_equal(gw_status_view_join_routes(list, doc), 0);
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *kind = json_string_value(json_object_get(item, "kind"));

		dp = json_object_get(item, "dataplane");
		if (!strcmp(kind, "HTTPRoute") || !strcmp(kind, "Gateway"))
			assert_non_null(dp);
		else
			assert_null(dp); /* Services, classes: nothing to join */
		/* status itself is left as the Gateway API schema has it */
		assert_null(json_object_get(json_object_get(item, "status"), "dataplane"));
	}
	assert_int_equal(iv(json_object_get(list, "dataplane"), "unrouted", "userspace"), 2);

	fp = open_memstream(&out, &len);
	assert_non_null(fp);
	gw_status_view_print(list, GW_VIEW_ROUTES, fp);
	gw_status_view_print(list, GW_VIEW_GATEWAYS, fp);
	gw_status_view_print(list, GW_VIEW_BACKENDS, fp);
	fclose(fp);
	assert_non_null(strstr(out, "kernel 0 (0 request B), userspace 8, total 8"));
	assert_non_null(strstr(out, "userspace only"));
	assert_non_null(strstr(out, "hosts a.test,b.test"));
	assert_non_null(strstr(out, "2 requests answered by the proxy without a route"));
	assert_non_null(strstr(out, "default/svc:80 weight=1 endpoints 10.0.0.1:8080,"
				    "10.0.0.2:8080 (not ready)"));
	assert_non_null(strstr(out, "(invalid reference: 500)"));
	free(out);

	json_decref(list);
	json_decref(doc);
	gw_metrics_free(m);
	fx_free(&f);
}

/* a document of the wrong shape (another daemon, a proxy in between) joins
 * nothing and prints nothing extra, never crashes */
static void test_join_garbage(void **state)
{
	static const char *const docs[] = {
		"[]",
		"{}",
		"{\"routes\": 5}",
		"{\"routes\": [1, \"x\", {\"route\": 7}, {\"route\": \"default/fast\"}]}",
		"{\"routes\": [{\"route\": \"default/fast\", \"listeners\": [{\"listener\": 3}]}]}",
	};
	struct fx f = { 0 };

	fx_load(&f, CONFIG);
	fx_run(&f);
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		json_t *list = gw_translation_status_list(f.t);
		json_t *doc = json_loads(docs[i], 0, NULL);
		FILE *fp = fopen("/dev/null", "w");

		assert_non_null(list);
		assert_non_null(doc);
		assert_non_null(fp);
		gw_status_view_join_routes(list, doc);
		gw_status_view_print(list, GW_VIEW_ROUTES, fp);
		gw_status_view_print(list, GW_VIEW_GATEWAYS, fp);
		gw_status_view_print(list, GW_VIEW_BACKENDS, fp);
		fclose(fp);
		json_decref(doc);
		json_decref(list);
	}
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_join_and_print),
		cmocka_unit_test(test_join_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
