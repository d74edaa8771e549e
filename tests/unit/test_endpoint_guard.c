/* tests/unit/test_endpoint_guard.c - which endpoint addresses Kubernetes mode
 * refuses (translate/endpoint_guard.c): loopback, link-local, unspecified
 * (IPv4, IPv6, IPv4-mapped IPv6) and the admin address; ordinary addresses,
 * names and the guard switched off pass. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include <cmocka.h>

#include "gwbpf/translate-t.h"
#include "../../userspace/translate/translate-int.h"

static void test_refused(void **state)
{
	struct gw_translate_opts o = { .refuse_local_endpoints = true,
				       .admin_address = "10.1.2.3:9901" };
	static const struct {
		const char *addr, *why;
	} cases[] = {
		{ "127.0.0.1", "loopback" },
		{ "127.255.0.9", "loopback" },
		{ "::1", "loopback" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "169.254.169.254", "link-local" },
		{ "fe80::1", "link-local" },
		{ "::ffff:169.254.1.1", "link-local" },
		{ "0.0.0.0", "unspecified" },
		{ "::", "unspecified" },
		{ "10.1.2.3", "the gateway's admin address" },
		{ "10.1.2.4", NULL },
		{ "192.0.2.10", NULL },
		{ "2001:db8::1", NULL },
		{ "128.0.0.1", NULL },
		{ "169.255.0.1", NULL },
		{ "example.com", NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *why = tx_endpoint_refused(&o, cases[i].addr);

		if (!cases[i].why)
			assert_null(why);
		else
			assert_string_equal(why, cases[i].why);
	}
}

static void test_admin_forms(void **state)
{
	struct gw_translate_opts o = { .refuse_local_endpoints = true };

	(void)state;
	o.admin_address = "[2001:db8::5]:9901";
	assert_string_equal(tx_endpoint_refused(&o, "2001:db8::5"), "the gateway's admin address");
	assert_null(tx_endpoint_refused(&o, "2001:db8::6"));
	o.admin_address = "/run/gwbpf/admin.sock"; /* a Unix socket has no address */
	assert_null(tx_endpoint_refused(&o, "10.0.0.1"));
	o.admin_address = NULL;
	assert_null(tx_endpoint_refused(&o, "10.0.0.1"));
}

static void test_off(void **state)
{
	struct gw_translate_opts o = { 0 };

	(void)state;
	/* file mode: operators write their own manifests, loopback allowed */
	assert_null(tx_endpoint_refused(&o, "127.0.0.1"));
	assert_null(tx_endpoint_refused(NULL, "127.0.0.1"));
	o.refuse_local_endpoints = true;
	assert_null(tx_endpoint_refused(&o, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_admin_forms),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
