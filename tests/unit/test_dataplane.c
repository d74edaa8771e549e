/* test_dataplane.c - the BPF data plane's userspace side: ABI layout, reason
 * names, address formatting, which snapshot ports are programmed, option
 * validation (cgroup root refusal), and a full open -> sync -> stats -> close
 * cycle against the real kernel when running as root.
 *
 * Includes maps.c to reach its static helpers (STYLE.md rule 20).
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../userspace/dataplane/maps.c"

#include "gwbpf/ir.h"

static void test_abi_layout(void **state)
{
	/* the BPF side hashes the key as raw bytes: offsets are ABI too */
	assert_int_equal(offsetof(struct gw_sock_key, local_ip), 8);
	assert_int_equal(offsetof(struct gw_sock_key, remote_ip), 24);
	assert_int_equal(offsetof(struct gw_sock_key, local_port), 40);
	assert_int_equal(offsetof(struct gw_sock_key, family), 44);
	/* route table keys start with the generation: maps.c purges by it */
	assert_int_equal(offsetof(struct gw_rt_bind_key, gen), 0);
	assert_int_equal(offsetof(struct gw_rt_host_key, gen), 0);
	assert_int_equal(offsetof(struct gw_rt_vhost_key, gen), 0);
	assert_int_equal(offsetof(struct gw_rt_host_key, host), 16);
	assert_int_equal(GW_CFG_F_BYPASS & GW_CFG_F_STEER, 0);
	/* the walk masks indices with GW_RT_MATCHES - 1 */
	assert_int_equal(GW_RT_MATCHES & (GW_RT_MATCHES - 1), 0);
	/* reason codes never collide with SK_DROP/SK_PASS or XDP actions */
	assert_true(GW_REASON_BASE > 4);
	assert_true(GW_REASON_END <= GW_REASON_MAX);
}

static void test_reason_names(void **state)
{
	for (unsigned int a = GW_REASON_BASE; a < GW_REASON_END; a++) {
		const char *n = gw_dataplane_reason_name(a);

		assert_non_null(n);
		for (const char *p = n; *p; p++) /* usable as a metric label as is */
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
		for (unsigned int b = a + 1; b < GW_REASON_END; b++)
			assert_string_not_equal(n, gw_dataplane_reason_name(b));
	}
	assert_string_equal(gw_dataplane_reason_name(GW_VERDICT_MSG_REDIRECT), "msg_redirect");
	assert_string_equal(gw_dataplane_reason_name(GW_VERDICT_STEER_KERNEL), "steer_kernel");
	assert_null(gw_dataplane_reason_name(0));
	assert_null(gw_dataplane_reason_name(1));
	assert_null(gw_dataplane_reason_name(GW_REASON_END));
	assert_null(gw_dataplane_reason_name(1000));
}

static void test_conn_str(void **state)
{
	struct gw_dp_conn c = { .key = { .family = GW_AF_INET, .local_port = 40000,
					 .remote_port = 8080 } };
	char buf[160];

	inet_pton(AF_INET, "127.0.0.1", c.key.local_ip);
	inet_pton(AF_INET, "127.0.0.2", c.key.remote_ip);
	assert_string_equal(gw_dataplane_conn_str(&c, buf, sizeof(buf)),
			    "127.0.0.1:40000 -> 127.0.0.2:8080");
	memset(&c.key, 0, sizeof(c.key));
	c.key.family = GW_AF_INET6;
	c.key.local_port = 9001;
	c.key.remote_port = 1;
	inet_pton(AF_INET6, "::1", c.key.local_ip);
	inet_pton(AF_INET6, "::1", c.key.remote_ip);
	assert_string_equal(gw_dataplane_conn_str(&c, buf, sizeof(buf)), "[::1]:9001 -> [::1]:1");
}

static void test_loopback(void **state)
{
	assert_true(gw_dp_addr_is_loopback("127.0.0.1"));
	assert_true(gw_dp_addr_is_loopback("127.1.2.3"));
	assert_true(gw_dp_addr_is_loopback("::1"));
	assert_true(gw_dp_addr_is_loopback("::ffff:127.0.0.1"));
	assert_false(gw_dp_addr_is_loopback("10.0.0.1"));
	assert_false(gw_dp_addr_is_loopback("128.0.0.1"));
	assert_false(gw_dp_addr_is_loopback("::2"));
	assert_false(gw_dp_addr_is_loopback("::ffff:10.0.0.1"));
	assert_false(gw_dp_addr_is_loopback("localhost")); /* endpoints are numeric */
}

/* a snapshot with listener ports 80 and 8080, backends 127.0.0.1:9001,
 * [::1]:9002 and a remote 10.0.0.5:9003 */
static struct gw_ir *make_ir(uint16_t listener2)
{
	struct gw_ir *ir = gw_ir_new();
	struct gw_ir_cluster *cl;

	assert_non_null(ir);
	ir->generation = 42;
	ir->n_binds = 2;
	ir->binds = gw_ir_new_array(ir, struct gw_ir_bind, 2);
	ir->binds[0].address = gw_ir_strdup(ir, "0.0.0.0");
	ir->binds[0].port = 80;
	ir->binds[1].address = gw_ir_strdup(ir, "0.0.0.0");
	ir->binds[1].port = listener2;
	ir->n_clusters = 1;
	ir->clusters = cl = gw_ir_new_array(ir, struct gw_ir_cluster, 1);
	cl->n_endpoints = 3;
	cl->endpoints = gw_ir_new_array(ir, struct gw_ir_endpoint, 3);
	cl->endpoints[0].address = gw_ir_strdup(ir, "127.0.0.1");
	cl->endpoints[0].port = 9001;
	cl->endpoints[1].address = gw_ir_strdup(ir, "::1");
	cl->endpoints[1].port = 9002;
	cl->endpoints[2].address = gw_ir_strdup(ir, "10.0.0.5");
	cl->endpoints[2].port = 9003;
	return ir;
}

static void test_ports_of(void **state)
{
	struct gw_ir *ir = make_ir(8080);

	assert_int_equal(gw_dp_ports_of(ir, 80), GW_PORT_LISTENER);
	assert_int_equal(gw_dp_ports_of(ir, 8080), GW_PORT_LISTENER);
	assert_int_equal(gw_dp_ports_of(ir, 9001), GW_PORT_BACKEND);
	assert_int_equal(gw_dp_ports_of(ir, 9002), GW_PORT_BACKEND);
	assert_int_equal(gw_dp_ports_of(ir, 9003), 0); /* remote: sk_msg cannot help */
	assert_int_equal(gw_dp_ports_of(ir, 81), 0);
	gw_ir_put(ir);
}

static void test_stats_missing(void **state)
{
	struct gw_dataplane_stats st;

	assert_int_equal(gw_dataplane_stats("/nonexistent/gwbpf", &st), -ENOENT);
	assert_int_equal(gw_dataplane_conns("/nonexistent/gwbpf", NULL, NULL), -ENOENT);
	assert_int_equal(gw_dataplane_sync(NULL, NULL), -EINVAL);
	gw_dataplane_close(NULL, false); /* accepts NULL */
}

static char cg2_root[PATH_MAX];

static bool find_cgroup2(void)
{
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(cg2_root, sizeof(cg2_root), "%s", dir);
			found = true;
			break;
		}
	fclose(f);
	return found;
}

/* bad cgroups are refused before anything is created */
static void test_open_refuses(void **state)
{
	char pins[] = "/tmp/gwbpf-unit-pins-XXXXXX";
	struct gw_dataplane_opts o = { .bpffs = NULL };
	struct gw_dataplane *dp;

	assert_non_null(mkdtemp(pins));
	rmdir(pins); /* must not be re-created by a refused open */
	o.bpffs = pins;
	o.cgroup = "/tmp"; /* not a cgroup */
	dp = gw_dataplane_open(&o);
	assert_null(dp);
	assert_int_equal(errno, EINVAL);
	if (find_cgroup2()) {
		o.cgroup = cg2_root;
		dp = gw_dataplane_open(&o);
		assert_null(dp);
		assert_int_equal(errno, EPERM);
	}
	assert_int_not_equal(access(pins, F_OK), 0);
}

/* the real thing: load, program ports from a snapshot, read back, resync,
 * and clean up only our pins */
static void test_open_sync_close(void **state)
{
	char pins[PATH_MAX], other[PATH_MAX + 16];
	struct gw_dataplane_opts o = { 0 };
	struct gw_dataplane_stats st;
	struct gw_dataplane *dp;
	struct gw_ir *ir;
	uint32_t port;
	struct gw_port_val v;

	if (geteuid() != 0) {
		skip();
		return;
	}
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/gwbpf-unit-%d", (int)getpid());
	o.bpffs = pins;
	dp = gw_dataplane_open(&o);
	if (!dp && (errno == EPERM || errno == ENOSYS)) {
		skip();
		return;
	}
	assert_non_null(dp);
	/* someone else's file in our directory must survive our cleanup */
	snprintf(other, sizeof(other), "%s/not-ours", pins);
	assert_int_equal(mkdir(other, 0700), 0);

	ir = make_ir(8080);
	assert_int_equal(gw_dataplane_sync(dp, ir), 0);
	gw_ir_put(ir);
	assert_int_equal(gw_dataplane_stats(pins, &st), 0);
	assert_int_equal(st.n_ports, 4); /* 80, 8080, 9001, 9002 */
	assert_int_equal(st.generation, 42);
	assert_true(st.flags & GW_CFG_F_BYPASS);
	assert_true(st.skmsg_attached);
	assert_false(st.sockops_attached); /* no cgroup given */
	assert_int_equal(st.n_socks, 0);

	/* 8080 leaves, 8443 arrives; the rest stays */
	ir = make_ir(8443);
	assert_int_equal(gw_dataplane_sync(dp, ir), 0);
	gw_ir_put(ir);
	assert_int_equal(gw_dataplane_stats(pins, &st), 0);
	assert_int_equal(st.n_ports, 4);
	port = 8080;
	assert_int_not_equal(bpf_map_lookup_elem(dp->ports_fd, &port, &v), 0);
	port = 8443;
	assert_int_equal(bpf_map_lookup_elem(dp->ports_fd, &port, &v), 0);
	assert_int_equal(v.flags, GW_PORT_LISTENER);

	assert_int_equal(gw_dataplane_set_bypass(dp, false), 0);
	assert_int_equal(gw_dataplane_stats(pins, &st), 0);
	assert_false(st.flags & GW_CFG_F_BYPASS);

	gw_dataplane_close(dp, false);
	assert_int_equal(gw_dataplane_stats(pins, &st), -ENOENT);
	assert_int_equal(access(other, F_OK), 0);
	rmdir(other);
	rmdir(pins);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi_layout),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_conn_str),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_ports_of),
		cmocka_unit_test(test_stats_missing),
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test(test_open_sync_close),
	};

	gw_log_set_level(GW_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
