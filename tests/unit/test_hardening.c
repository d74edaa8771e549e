/* tests/unit/test_hardening.c - regressions for bugs the hardening fuzzers
 * found (tests/fuzz/crashers/ hold the raw inputs too). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>
#include <jansson.h>

#include "gwbpf/diag.h"
#include "gwbpf/http1.h"
#include "gwbpf/node.h"
#include "gwbpf/router.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"

/* "GET http://h?q": the parser gives the path "/" pointing at read-only
 * memory; the proxy normalises the path in place. This crashed gwbpf. */
static void test_absolute_form_without_path_normalises(void **state)
{
	static const char head[] = "GET http://h.example?q=1 HTTP/1.1\r\nHost: h.example\r\n\r\n";
	struct gw_http_header h[8];
	struct gw_http_req rq = { .headers = h };
	char *buf = strdup(head);

	assert_non_null(buf);
	assert_int_equal(gw_http1_parse_request(buf, strlen(buf), &rq, NULL), (int)strlen(buf));
	assert_int_equal(rq.path.len, 1);
	assert_int_equal(gw_router_path_normalize((char *)rq.path.p, rq.path.len,
						  GW_PATH_NORM_DEFAULT), 1);
	assert_memory_equal(rq.path.p, "/", 1);
	free(buf);
}

/* translate() with "now" far outside what RFC 3339 can write gave garbage
 * that differed from one call to the next */
static const char route_yaml[] =
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
	"metadata: {name: r, namespace: default}\n"
	"spec:\n  parentRefs: [{name: missing}]\n  rules: [{backendRefs: [{name: s, port: 80}]}]\n";

static char *transition_time(int64_t now)
{
	struct gw_diag_list diags = { 0 };
	struct gw_doc_list dl = { 0 };
	struct gw_store *s = gw_store_new();
	struct gw_translate_opts o = { .now = now };
	struct gw_translation *t = NULL;
	struct gw_object *obj;
	json_t *list, *c;
	char *out;

	assert_non_null(s);
	assert_int_equal(gw_yaml_load_buf("r.yaml", route_yaml, sizeof(route_yaml) - 1, &dl, &diags),
			 0);
	obj = gw_object_from_doc(dl.v[0].root, "r.yaml", &diags);
	dl.v[0].root = NULL;
	assert_non_null(obj);
	assert_int_equal(gw_store_put(s, obj), 0);
	assert_int_equal(gw_translate(s, &o, &t), 0);
	list = gw_translation_status_list(t);
	/* items[0].status.parents[0].conditions[0] */
	c = json_array_get(json_object_get(list, "items"), 0);
	c = json_array_get(json_object_get(json_object_get(c, "status"), "parents"), 0);
	c = json_array_get(json_object_get(c, "conditions"), 0);
	assert_non_null(c);
	out = strdup(json_string_value(json_object_get(c, "lastTransitionTime")));
	json_decref(list);
	gw_translation_free(t);
	gw_store_free(s);
	gw_doc_list_free(&dl);
	gw_diag_list_free(&diags);
	return out;
}

static void test_translate_now_out_of_range(void **state)
{
	char *a = transition_time(-5000000000000000000LL);
	char *b = transition_time(-5000000000000000000LL);
	char *c = transition_time(INT64_MAX);
	char *d = transition_time(1700000000);
	int64_t secs;

	assert_string_equal(a, b);
	assert_string_equal(a, "1970-01-01T00:00:00Z");
	assert_string_equal(c, "9999-12-31T23:59:59Z");
	assert_int_equal(gw_parse_rfc3339(d, &secs), 0);
	assert_int_equal(secs, 1700000000);
	free(a);
	free(b);
	free(c);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute_form_without_path_normalises),
		cmocka_unit_test(test_translate_now_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
