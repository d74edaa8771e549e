/* test_l4.c - the L4 routing decision (userspace/l4/route.c): SNI host
 * matching with Gateway API wildcards, listener and route choice on a bind
 * as the translator orders them, backend choice by weight. The relay and
 * the UDP flows are covered by tests/integration/test_l4_*.sh. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "../../userspace/l4/route.c"

static void test_host_match(void **state)
{
	(void)state;
	assert_true(host_match(NULL, ""));
	assert_true(host_match(NULL, "a.example.com"));
	assert_true(host_match("abc.example.com", "abc.example.com"));
	assert_true(host_match("abc.example.com", "ABC.Example.COM"));
	assert_false(host_match("abc.example.com", "abd.example.com"));
	assert_false(host_match("abc.example.com", ""));
	/* a wildcard needs at least one more label, and may take several */
	assert_true(host_match("*.example.com", "a.example.com"));
	assert_true(host_match("*.example.com", "a.b.example.com"));
	assert_false(host_match("*.example.com", "example.com"));
	assert_false(host_match("*.example.com", "aexample.com"));
	assert_false(host_match("*.example.com", "a.example.org"));
	assert_false(host_match("*.example.com", ""));
	assert_true(host_match("*.com", "x.example.com"));
}

/* a TLS bind with listeners exact "abc.example.com", "*.example.com",
 * none (translator order), each with one vhost per hostname given */
struct fixture {
	struct gw_ir_bind b;
	struct gw_ir_listener l[3];
	struct gw_ir_vhost vh[4];
	struct gw_ir_match m[4];
	struct gw_ir_action a[4];
};

static void vhost(struct gw_ir_vhost *vh, struct gw_ir_match *m, struct gw_ir_action *a,
		  const char *host, const char *route)
{
	memset(vh, 0, sizeof(*vh));
	vh->hostname = (char *)host;
	vh->matches = m;
	vh->n_matches = 1;
	vh->actions = a;
	vh->n_actions = 1;
	m->action = 0;
	a->route = (char *)route;
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->b.proto = GW_PROTO_TLS;
	f->b.listeners = f->l;
	f->b.n_listeners = 3;
	f->l[0] = (struct gw_ir_listener){.hostname = "abc.example.com",
					  .proto = GW_PROTO_TLS,
					  .vhosts = &f->vh[0],
					  .n_vhosts = 1};
	vhost(&f->vh[0], &f->m[0], &f->a[0], "abc.example.com", "exact");
	/* the wildcard listener: an exact route name, then a wildcard one */
	f->l[1] = (struct gw_ir_listener){
	    .hostname = "*.example.com", .proto = GW_PROTO_TLS, .vhosts = &f->vh[1], .n_vhosts = 2};
	vhost(&f->vh[1], &f->m[1], &f->a[1], "foo.example.com", "foo");
	vhost(&f->vh[2], &f->m[2], &f->a[2], "*.example.com", "wild");
	f->l[2] = (struct gw_ir_listener){
	    .hostname = NULL, .proto = GW_PROTO_TLS, .vhosts = &f->vh[3], .n_vhosts = 1};
	vhost(&f->vh[3], &f->m[3], &f->a[3], "*.org", "org");
}

static const char *route_of(const struct gw_ir_bind *b, const char *sni)
{
	const struct gw_ir_action *a = gw_l4_route(b, sni);

	return a ? a->route : "-";
}

static void test_route_by_sni(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f);
	assert_string_equal(route_of(&f.b, "abc.example.com"), "exact");
	assert_string_equal(route_of(&f.b, "foo.example.com"), "foo");
	assert_string_equal(route_of(&f.b, "bar.example.com"), "wild");
	assert_string_equal(route_of(&f.b, "x.y.example.com"), "wild");
	assert_string_equal(route_of(&f.b, "www.example.org"), "org");
	/* the most specific listener wins even when it has no route for the
	 * name: no fallback to a less specific listener */
	f.l[0].n_vhosts = 0;
	assert_string_equal(route_of(&f.b, "abc.example.com"), "-");
	fixture_init(&f);
	/* no SNI: only the listener without hostname, and only a route
	 * without hostname there */
	assert_string_equal(route_of(&f.b, ""), "-");
	assert_string_equal(route_of(&f.b, NULL), "-");
	f.vh[3].hostname = NULL;
	assert_string_equal(route_of(&f.b, ""), "org");
	/* unknown name, no catch-all listener */
	fixture_init(&f);
	f.b.n_listeners = 2;
	assert_string_equal(route_of(&f.b, "www.example.org"), "-");
}

static void test_route_tcp(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f);
	/* TCP/UDP binds ignore names: the first listener, its first route */
	f.b.proto = GW_PROTO_TCP;
	for (int i = 0; i < 3; i++)
		f.l[i].proto = GW_PROTO_TCP;
	assert_string_equal(route_of(&f.b, ""), "exact");
	assert_string_equal(route_of(&f.b, "whatever"), "exact");
	f.l[0].n_vhosts = 0;
	assert_string_equal(route_of(&f.b, ""), "-");
	/* a vhost without matches (no rule) is no route */
	fixture_init(&f);
	f.vh[0].n_matches = 0;
	assert_string_equal(route_of(&f.b, "abc.example.com"), "-");
}

static void test_pick_cluster(void **state)
{
	struct gw_ir_backend be[3] = {
	    {.cluster = 7, .weight = 70},
	    {.cluster = 8, .weight = 30},
	    {.cluster = 9, .weight = 0},
	};
	struct gw_ir_action a = {.backends = be, .n_backends = 3, .total_weight = 100};
	unsigned int n[3] = {0};

	(void)state;
	for (uint64_t r = 0; r < 1000; r++) {
		int c = gw_l4_pick_cluster(&a, r * 7919);

		assert_true(c >= 7 && c <= 9);
		n[c - 7]++;
	}
	/* r*7919 mod 100 visits every residue equally: exact proportions */
	assert_int_equal(n[0], 700);
	assert_int_equal(n[1], 300);
	assert_int_equal(n[2], 0);
	/* all weights zero: nothing may be chosen */
	a.total_weight = 0;
	assert_int_equal(gw_l4_pick_cluster(&a, 5), -ENOENT);
	/* an unresolved backendRef that is drawn refuses the connection */
	be[0].cluster = -1;
	a.total_weight = 100;
	assert_int_equal(gw_l4_pick_cluster(&a, 0), -ENOENT);
	assert_int_equal(gw_l4_pick_cluster(&a, 99), 8);
}

static void test_find_bind(void **state)
{
	struct gw_ir_bind b[3] = {
	    {.address = "127.0.0.1", .port = 53, .proto = GW_PROTO_TCP},
	    {.address = "127.0.0.1", .port = 53, .proto = GW_PROTO_UDP},
	    {.address = "127.0.0.2", .port = 53, .proto = GW_PROTO_TLS},
	};
	struct gw_ir ir = {.binds = b, .n_binds = 3};

	(void)state;
	assert_ptr_equal(gw_l4_find_bind(&ir, "127.0.0.1", 53, false), &b[0]);
	assert_ptr_equal(gw_l4_find_bind(&ir, "127.0.0.1", 53, true), &b[1]);
	assert_ptr_equal(gw_l4_find_bind(&ir, "127.0.0.2", 53, false), &b[2]);
	assert_null(gw_l4_find_bind(&ir, "127.0.0.2", 53, true));
	assert_null(gw_l4_find_bind(&ir, "127.0.0.1", 54, false));
	assert_null(gw_l4_find_bind(NULL, "127.0.0.1", 53, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_match), cmocka_unit_test(test_route_by_sni),
	    cmocka_unit_test(test_route_tcp),  cmocka_unit_test(test_pick_cluster),
	    cmocka_unit_test(test_find_bind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
