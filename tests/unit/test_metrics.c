/* tests/unit/test_metrics.c - Prometheus registry: sharded counters summed
 * at scrape, histogram, gauges, reloads, hooks, escaping, limits. */
#include "gwbpf/api.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "gwbpf/metrics.h"

#define BUFSZ (1 << 20)

/* value of the sample line that starts with prefix (name{labels}), or -1 */
static long long sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
		if (!strncmp(s, prefix, n) && s[n] == ' ')
			return atoll(s + n + 1);
	return -1;
}

static char *render(struct gw_metrics *m)
{
	char *buf = malloc(BUFSZ);
	int n;

	assert_non_null(buf);
	n = gw_metrics_render(m, buf, BUFSZ - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

struct load {
	struct gw_metrics_worker *w;
	int n;
	const char *route;
};

static void *worker(void *arg)
{
	struct load *l = arg;

	for (int i = 0; i < l->n; i++) {
		/* status classes 2xx, 2xx, 4xx, 5xx in turn; durations 0.2 ms..3 ms */
		static const int st[4] = { 200, 204, 404, 503 };

		gw_metrics_request(l->w, "default/gw/http", l->route, st[i % 4],
				   (uint64_t)(i % 2 ? 200 : 3000));
		gw_metrics_conn_open(l->w);
		if (i % 2)
			gw_metrics_conn_close(l->w);
	}
	return NULL;
}

static void test_sharded_sum(void **st)
{
	struct gw_metrics *m = gw_metrics_new(2);
	struct load l[2];
	pthread_t t[2];
	char *text;

	assert_non_null(m);
	for (int i = 0; i < 2; i++) {
		l[i].w = gw_metrics_worker(m, (unsigned int)i);
		l[i].n = 10000;
		l[i].route = "default/web";
		assert_int_equal(pthread_create(&t[i], NULL, worker, &l[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	text = render(m);
	/* both workers' series for the same pair are one line each */
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"default/gw/http\","
				      "route=\"default/web\",code=\"2xx\"}"),
			 10000);
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"default/gw/http\","
				      "route=\"default/web\",code=\"4xx\"}"),
			 5000);
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"default/gw/http\","
				      "route=\"default/web\",code=\"5xx\"}"),
			 5000);
	/* a class never seen is not printed */
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"default/gw/http\","
				      "route=\"default/web\",code=\"3xx\"}"),
			 -1);
	/* half the requests took 0.2 ms (<= 0.0005 s), half 3 ms (<= 0.005 s) */
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_bucket{le=\"0.0005\"}"),
			 10000);
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_bucket{le=\"0.0025\"}"),
			 10000);
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_bucket{le=\"0.005\"}"),
			 20000);
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
			 20000);
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_count"), 20000);
	/* 10000 * 0.0002 + 10000 * 0.003 = 32 s */
	assert_non_null(strstr(text, "\ngwbpf_http_request_duration_seconds_sum 32.000000\n"));
	assert_int_equal(sample(text, "gwbpf_open_connections"), 10000);
	assert_non_null(strstr(text, "# TYPE gwbpf_http_requests_total counter\n"));
	assert_non_null(strstr(text, "# TYPE gwbpf_http_request_duration_seconds histogram\n"));
	free(text);
	gw_metrics_free(m);
}

static void test_counters_and_reloads(void **st)
{
	struct gw_metrics *m = gw_metrics_new(1);
	struct gw_metrics_worker *w = gw_metrics_worker(m, 0);
	char *text;

	assert_null(gw_metrics_worker(m, 1));
	text = render(m);
	assert_int_equal(sample(text, "gwbpf_upstream_connect_failures_total"), 0);
	assert_int_equal(sample(text, "gwbpf_config_reloads_total{result=\"success\"}"), 0);
	/* upstream TLS counters are process-wide and present from the start */
	assert_int_equal(sample(text, "gwbpf_upstream_tls_handshakes_total{result=\"ok\"}"), 0);
	assert_int_equal(
	    sample(text, "gwbpf_upstream_tls_handshakes_total{result=\"verify_failure\"}"), 0);
	assert_int_equal(sample(text, "gwbpf_upstream_tls_handshakes_total{result=\"failure\"}"),
			 0);
	/* no reload yet: no "last reload" gauge to mislead */
	assert_int_equal(sample(text, "gwbpf_config_last_reload_success"), -1);
	free(text);

	gw_metrics_upstream_connect_failure(w);
	gw_metrics_upstream_connect_failure(w);
	gw_metrics_upstream_timeout(w);
	gw_metrics_reload(m, true);
	gw_metrics_reload(m, true);
	gw_metrics_reload(m, false);
	gw_metrics_request(w, NULL, NULL, 0, 1);   /* no response */
	gw_metrics_request(w, "l", "r", 999, 20000000); /* out of range, slower than 10 s */
	text = render(m);
	assert_int_equal(sample(text, "gwbpf_upstream_connect_failures_total"), 2);
	assert_int_equal(sample(text, "gwbpf_upstream_timeouts_total"), 1);
	assert_int_equal(sample(text, "gwbpf_config_reloads_total{result=\"success\"}"), 2);
	assert_int_equal(sample(text, "gwbpf_config_reloads_total{result=\"failure\"}"), 1);
	assert_int_equal(sample(text, "gwbpf_config_last_reload_success"), 0);
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"\",route=\"\","
				      "code=\"other\"}"),
			 1);
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"l\",route=\"r\","
				      "code=\"other\"}"),
			 1);
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_bucket{le=\"10\"}"), 1);
	assert_int_equal(sample(text, "gwbpf_http_request_duration_seconds_bucket{le=\"+Inf\"}"),
			 2);
	free(text);
	gw_metrics_free(m);
}

static void test_label_escaping(void **st)
{
	struct gw_metrics *m = gw_metrics_new(1);
	char out[64];
	char *text;

	assert_int_equal(gw_metrics_escape_label("a\"b\\c\nd", out, sizeof(out)), 10);
	assert_string_equal(out, "a\\\"b\\\\c\\nd");
	assert_int_equal(gw_metrics_escape_label("abc", out, 3), -ENOSPC);
	gw_metrics_request(gw_metrics_worker(m, 0), "ns/\"gw\"", "r\\1", 200, 1);
	text = render(m);
	assert_int_equal(sample(text, "gwbpf_http_requests_total{listener=\"ns/\\\"gw\\\"\","
				      "route=\"r\\\\1\",code=\"2xx\"}"),
			 1);
	free(text);
	gw_metrics_free(m);
}

/* more pairs than a worker keeps: the excess is counted, as route="other" */
static void test_series_overflow(void **st)
{
	struct gw_metrics *m = gw_metrics_new(1);
	struct gw_metrics_worker *w = gw_metrics_worker(m, 0);
	long long total = 0, lines = 0;
	char name[32];
	char *text;

	for (int i = 0; i < GW_METRICS_MAX_SERIES * 2; i++) {
		snprintf(name, sizeof(name), "ns/route-%d", i);
		gw_metrics_request(w, "l", name, 200, 1);
	}
	text = render(m);
	for (const char *s = text; (s = strstr(s, "\ngwbpf_http_requests_total{")); s++) {
		const char *sp = strchr(s + 1, ' ');

		total += atoll(sp + 1);
		lines++;
	}
	assert_int_equal(total, GW_METRICS_MAX_SERIES * 2);
	assert_true(lines < GW_METRICS_MAX_SERIES + 2);
	assert_true(sample(text, "gwbpf_http_requests_total{listener=\"\",route=\"other\","
				 "code=\"2xx\"}") > 0);
	free(text);
	gw_metrics_free(m);
}

static int hook_bpf(void *arg, char *buf, size_t cap)
{
	int *calls = arg;
	int n;

	(*calls)++;
	n = snprintf(buf, cap, "# TYPE gwbpf_bpf_redirects_total counter\n"
			       "gwbpf_bpf_redirects_total 42\n");
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static void test_hooks_and_limits(void **st)
{
	struct gw_metrics *m = gw_metrics_new(1);
	int calls = 0;
	char small[64];
	char *text;
	const char *h;

	assert_int_equal(gw_metrics_add_hook(m, hook_bpf, &calls), 0);
	assert_int_equal(gw_metrics_add_hook(m, NULL, NULL), -EINVAL);
	text = render(m);
	assert_int_equal(calls, 1);
	assert_int_equal(sample(text, "gwbpf_bpf_redirects_total"), 42);
	/* hooks come after the built-in families */
	h = strstr(text, "gwbpf_bpf_redirects_total 42");
	assert_true(h > strstr(text, "gwbpf_config_reloads_total"));
	free(text);
	assert_int_equal(gw_metrics_render(m, small, sizeof(small)), -ENOSPC);
	assert_int_equal(gw_metrics_render(NULL, small, sizeof(small)), -EINVAL);
	gw_metrics_free(m);
	gw_metrics_free(NULL);
	assert_null(gw_metrics_new(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sharded_sum),
		cmocka_unit_test(test_counters_and_reloads),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_series_overflow),
		cmocka_unit_test(test_hooks_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
