/* tests/unit/test_translate_addresses.c - static Gateway addresses this node
 * can or cannot serve (GatewayStaticAddresses: Programmed=False
 * AddressNotUsable, nothing bound; then Programmed with exactly the usable
 * address in status.addresses). */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "translate_helpers.h"

#define GW_STATIC(addrs)                                                                           \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: static\n"     \
	"  namespace: infra\nspec:\n  gatewayClassName: gwbpf\n  addresses:\n" addrs              \
	"  listeners:\n  - name: http\n    port: 8080\n    protocol: HTTP\n"

static const char *const local[] = { "127.0.0.1", "10.0.0.5", "fd00::5", NULL };

static const char *first_address(struct fx *f)
{
	json_t *a = json_object_get(fx_status(f, "Gateway", "infra", "static"), "addresses");

	assert_int_equal(json_array_size(a), 1);
	return json_string_value(json_object_get(json_array_get(a, 0), "value"));
}

static void test_unusable_address(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { .address_pool = "10.1.0.0/24", .local_addresses = local };

	(void)state;
	/* 192.0.2.1 is neither local, loopback nor in the pool */
	fx_load(&f, CLASS_YAML GW_STATIC("  - type: IPAddress\n    value: 192.0.2.1\n"
					 "  - type: IPAddress\n    value: 10.0.0.5\n"));
	fx_run_opts(&f, &o);
	assert_cond(gw_conds(&f, "infra", "static"), "Accepted", "True", "Accepted");
	assert_cond(gw_conds(&f, "infra", "static"), "Programmed", "False", "AddressNotUsable");
	assert_null(fx_bind(&f, NULL, 8080));
	fx_free(&f);
}

static void test_usable_addresses(void **state)
{
	static const char *const addrs[] = { "10.0.0.5", "10.1.0.200", "127.30.0.9", "fd00::5" };
	struct gw_translate_opts o = { .address_pool = "10.1.0.0/24", .local_addresses = local };
	char yaml[1024];

	(void)state;
	/* a local interface address, one inside the pool, loopback, IPv6 */
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct fx f = { 0 };

		snprintf(yaml, sizeof(yaml), "%s" GW_STATIC("  - type: IPAddress\n    value: %s\n"),
			 CLASS_YAML, addrs[i]);
		fx_load(&f, yaml);
		fx_run_opts(&f, &o);
		assert_cond(gw_conds(&f, "infra", "static"), "Programmed", "True", "Programmed");
		assert_string_equal(first_address(&f), addrs[i]);
		assert_non_null(fx_bind(&f, addrs[i], 8080));
		fx_free(&f);
	}
}

static void test_no_local_list_no_check(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { 0 };

	(void)state;
	/* without the node's addresses (tests, validate) nothing is refused */
	fx_load(&f, CLASS_YAML GW_STATIC("  - type: IPAddress\n    value: 192.0.2.1\n"));
	fx_run_opts(&f, &o);
	assert_cond(gw_conds(&f, "infra", "static"), "Programmed", "True", "Programmed");
	assert_string_equal(first_address(&f), "192.0.2.1");
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unusable_address),
		cmocka_unit_test(test_usable_addresses),
		cmocka_unit_test(test_no_local_list_no_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
