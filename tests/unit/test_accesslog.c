/* tests/unit/test_accesslog.c - JSON access log lines: fields, escaping,
 * bounds, and one write per line to a file, a pipe, or nowhere. */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gwbpf/accesslog.h"

static struct gw_slice sl(const char *s)
{
	struct gw_slice x = { s, s ? strlen(s) : 0 };

	return x;
}

static struct gw_access_entry sample(void)
{
	struct gw_access_entry e = {
		.time_ms = 1700000000123LL, /* 2023-11-14T22:13:20.123Z */
		.client = "10.0.0.1:51234",
		.listener = "default/gw/http",
		.host = sl("example.com"),
		.method = sl("GET"),
		.path = sl("/a?b=c"),
		.route = "default/web",
		.rule = NULL,
		.rule_index = 2,
		.backend = "10.0.0.2:8080",
		.status = 200,
		.bytes_in = 78,
		.bytes_out = 1234,
		.duration_us = 1500,
		.upstream_us = 1234,
		.reason = NULL,
	};

	return e;
}

static void test_format_fields(void **st)
{
	struct gw_access_entry e = sample();
	char buf[GW_ACCESS_LINE_MAX];
	int n = gw_access_log_format(&e, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(buf[n - 1], '\n');
	buf[n] = '\0';
	assert_string_equal(buf,
			    "{\"time\":\"2023-11-14T22:13:20.123Z\",\"client\":\"10.0.0.1:51234\","
			    "\"listener\":\"default/gw/http\",\"host\":\"example.com\","
			    "\"method\":\"GET\",\"path\":\"/a?b=c\",\"route\":\"default/web\","
			    "\"rule\":\"2\",\"backend\":\"10.0.0.2:8080\",\"status\":200,"
			    "\"bytes_in\":78,\"bytes_out\":1234,\"duration_ms\":1.500,"
			    "\"upstream_ms\":1.234,\"reason\":null}\n");
}

static void test_format_gateway_error(void **st)
{
	struct gw_access_entry e = sample();
	char buf[GW_ACCESS_LINE_MAX];
	json_t *j;
	json_error_t err;
	int n;

	e.route = NULL;
	e.rule_index = -1;
	e.backend = NULL;
	e.host = sl(NULL);
	e.status = 404;
	e.upstream_us = -1;
	e.reason = "no_route";
	e.time_ms = 0;
	n = gw_access_log_format(&e, buf, sizeof(buf));
	assert_true(n > 0);
	j = json_loadb(buf, (size_t)n, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "time")),
			    "1970-01-01T00:00:00.000Z");
	assert_true(json_is_null(json_object_get(j, "route")));
	assert_true(json_is_null(json_object_get(j, "rule")));
	assert_true(json_is_null(json_object_get(j, "backend")));
	assert_true(json_is_null(json_object_get(j, "host")));
	assert_true(json_is_null(json_object_get(j, "upstream_ms")));
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "no_route");
	json_decref(j);

	e.rule = "named-rule";
	n = gw_access_log_format(&e, buf, sizeof(buf));
	j = json_loadb(buf, (size_t)n, 0, &err);
	assert_string_equal(json_string_value(json_object_get(j, "rule")), "named-rule");
	json_decref(j);
}

/* what goes in comes out after a JSON parser, for hostile bytes */
static void test_escaping(void **st)
{
	static const char path[] = "/q\"uo\\te\n\r\t\x01\x1f\x7f/\xc3\xa9/\xe2\x82\xac/end";
	static const char want[] = "/q\"uo\\te\n\r\t\x01\x1f\x7f/\xc3\xa9/\xe2\x82\xac/end";
	struct gw_access_entry e = sample();
	char buf[GW_ACCESS_LINE_MAX];
	json_error_t err;
	json_t *j;
	int n;

	e.path = sl(path);
	e.host = sl("h\"ost");
	n = gw_access_log_format(&e, buf, sizeof(buf));
	assert_true(n > 0);
	/* one line: no raw newline before the end */
	assert_null(memchr(buf, '\n', (size_t)n - 1));
	j = json_loadb(buf, (size_t)n, 0, &err);
	if (!j)
		fail_msg("invalid JSON: %s in %.*s", err.text, n, buf);
	assert_string_equal(json_string_value(json_object_get(j, "path")), want);
	assert_string_equal(json_string_value(json_object_get(j, "host")), "h\"ost");
	json_decref(j);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\\u0001\\u001f\\u007f"));
}

static void test_invalid_utf8(void **st)
{
	/* lone continuation, truncated sequence, overlong '/', surrogate */
	static const char path[] = "/a\x80" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e";
	struct gw_access_entry e = sample();
	char buf[GW_ACCESS_LINE_MAX];
	json_error_t err;
	json_t *j;
	int n;

	e.path = sl(path);
	n = gw_access_log_format(&e, buf, sizeof(buf));
	assert_true(n > 0);
	j = json_loadb(buf, (size_t)n, 0, &err);
	if (!j)
		fail_msg("invalid JSON: %s", err.text);
	assert_string_equal(json_string_value(json_object_get(j, "path")),
			    "/a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"
			    "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e");
	json_decref(j);
}

static void test_long_fields_bounded(void **st)
{
	static char path[60000], host[3000];
	struct gw_access_entry e = sample();
	char buf[GW_ACCESS_LINE_MAX];
	json_error_t err;
	const char *p;
	json_t *j;
	int n;

	/* control characters escape to 6 bytes each: the worst case */
	memset(path, '\x01', sizeof(path) - 1);
	path[0] = '/';
	memset(host, '"', sizeof(host) - 1);
	e.path = sl(path);
	e.host = sl(host);
	e.route = host;
	e.listener = host;
	e.backend = host;
	e.client = host;
	e.reason = host;
	e.rule = host;
	n = gw_access_log_format(&e, buf, sizeof(buf));
	assert_true(n > 0 && n <= GW_ACCESS_LINE_MAX);
	j = json_loadb(buf, (size_t)n, 0, &err);
	if (!j)
		fail_msg("invalid JSON: %s", err.text);
	p = json_string_value(json_object_get(j, "path"));
	assert_true(strlen(p) < 1000);
	assert_string_equal(p + strlen(p) - 3, "...");
	json_decref(j);
	/* a too-small buffer is refused, never cut mid-line */
	assert_int_equal(gw_access_log_format(&e, buf, 100), -ENOSPC);
}

static void test_write_file_and_off(void **st)
{
	char tmpl[] = "/tmp/gwbpf-accesslog-XXXXXX";
	int fd = mkstemp(tmpl);
	struct gw_access_log *log, *off;
	struct gw_access_entry e = sample();
	char buf[4 * GW_ACCESS_LINE_MAX];
	ssize_t n;
	int lines = 0;

	assert_true(fd >= 0);
	log = gw_access_log_open(tmpl);
	assert_non_null(log);
	assert_true(gw_access_log_enabled(log));
	for (int i = 0; i < 3; i++) {
		e.status = 200 + i;
		assert_int_equal(gw_access_log_write(log, &e), 0);
	}
	gw_access_log_close(log);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	for (char *s = buf, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		json_error_t err;
		json_t *j = json_loadb(s, (size_t)(nl - s), 0, &err);

		assert_non_null(j);
		assert_int_equal(json_integer_value(json_object_get(j, "status")), 200 + lines);
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 3);
	close(fd);
	unlink(tmpl);

	off = gw_access_log_open("off");
	assert_non_null(off);
	assert_false(gw_access_log_enabled(off));
	assert_int_equal(gw_access_log_write(off, &e), 0);
	gw_access_log_close(off);
	assert_int_equal(gw_access_log_write(NULL, &e), 0);
	gw_access_log_close(NULL);
	assert_null(gw_access_log_open("/nonexistent-dir-gwbpf/x.log"));
	assert_int_equal(errno, ENOENT);
}

/* a full non-blocking pipe drops lines instead of blocking the worker */
static void test_full_pipe_drops(void **st)
{
	struct gw_access_log *log;
	struct gw_access_entry e = sample();
	int p[2], saved;
	int ok = 0, dropped = 0;

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	log = gw_access_log_open(NULL);
	for (int i = 0; i < 200; i++) {
		if (gw_access_log_write(log, &e) == 0)
			ok++;
		else
			dropped++;
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_true(ok > 0);
	assert_true(dropped > 0);
	assert_int_equal(gw_access_log_dropped(log), (uint64_t)dropped);
	gw_access_log_close(log);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_format_gateway_error),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_long_fields_bounded),
		cmocka_unit_test(test_write_file_and_off),
		cmocka_unit_test(test_full_pipe_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
