/* test_upstream.c - endpoint choice (round-robin over ready endpoints, tried
 * set, generation reset) and the idle connection pool (reuse, per-endpoint
 * cap, backend close, idle expiry, the watcher changing hands, the lazy idle
 * timer) against real loopback sockets. */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see proxy/loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/ir.h"
#include "gwbpf/loop.h"
#include "gwbpf/upstream.h"

/* a snapshot with one cluster of n endpoints; ready[i] as given */
static struct gw_ir *ir_with(const bool *ready, size_t n, uint64_t gen)
{
	struct gw_ir *ir = gw_ir_new();
	struct gw_ir_cluster *c;
	size_t i;

	assert_non_null(ir);
	ir->generation = gen;
	ir->clusters = c = gw_ir_new_array(ir, struct gw_ir_cluster, 1);
	ir->n_clusters = 1;
	c->name = gw_ir_strdup(ir, "default/svc:80");
	c->endpoints = gw_ir_new_array(ir, struct gw_ir_endpoint, n);
	c->n_endpoints = n;
	for (i = 0; i < n; i++) {
		char a[32];

		snprintf(a, sizeof(a), "127.0.0.%zu", i + 1);
		c->endpoints[i].address = gw_ir_strdup(ir, a);
		c->endpoints[i].port = 80;
		c->endpoints[i].ready = ready[i];
		c->n_ready += ready[i];
	}
	return ir;
}

static void test_pick_round_robin(void **state)
{
	static const bool ready[] = { true, false, true, true };
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 4, 1000);
	struct gw_ir *ir = ir_with(ready, 4, 1);
	int seen[4] = { 0 }, i;

	for (i = 0; i < 30; i++) {
		uint64_t tried = 0;
		int idx = gw_upstream_pick(pool, ir, 0, &tried);

		assert_true(idx >= 0 && idx < 4);
		assert_true(ready[idx]);
		assert_int_equal(tried, 1ull << idx);
		seen[idx]++;
	}
	/* 30 picks over 3 ready endpoints: exactly 10 each */
	assert_int_equal(seen[0], 10);
	assert_int_equal(seen[1], 0);
	assert_int_equal(seen[2], 10);
	assert_int_equal(seen[3], 10);
	/* a bad cluster index is "no endpoints" */
	{
		uint64_t tried = 0;

		assert_int_equal(gw_upstream_pick(pool, ir, 1, &tried), -ENOENT);
		assert_int_equal(gw_upstream_pick(pool, ir, -1, &tried), -ENOENT);
	}
	gw_ir_put(ir);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

/* retries never pick the same endpoint twice, then report -EAGAIN (502),
 * while a cluster with no ready endpoint reports -ENOENT (503) */
static void test_pick_tried_and_none_ready(void **state)
{
	static const bool ready[] = { true, true, false };
	static const bool none[] = { false, false };
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 4, 1000);
	struct gw_ir *ir = ir_with(ready, 3, 7);
	struct gw_ir *ir2 = ir_with(none, 2, 8);
	uint64_t tried = 0;
	int a, b;

	a = gw_upstream_pick(pool, ir, 0, &tried);
	b = gw_upstream_pick(pool, ir, 0, &tried);
	assert_true(a >= 0 && b >= 0 && a != b);
	assert_int_equal(gw_upstream_pick(pool, ir, 0, &tried), -EAGAIN);
	tried = 0;
	assert_int_equal(gw_upstream_pick(pool, ir2, 0, &tried), -ENOENT);
	gw_ir_put(ir);
	gw_ir_put(ir2);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

static void test_addr(void **state)
{
	struct gw_ir_endpoint e4 = { .address = "10.1.2.3", .port = 8080, .ready = true };
	struct gw_ir_endpoint e6 = { .address = "fd00::1", .port = 443, .ready = true };
	struct gw_ir_endpoint bad = { .address = "example.com", .port = 80 };
	struct sockaddr_storage ss;
	socklen_t len;

	assert_int_equal(gw_upstream_addr(&e4, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(gw_upstream_addr(&e6, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(gw_upstream_addr(&bad, &ss, &len), -EINVAL);
}

/* ---- the pool against a real listening socket ---- */

static int listen_any(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*in);
	assert_int_equal(bind(fd, (struct sockaddr *)ss, *len), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)ss, len), 0);
	return fd;
}

/* connected() : waits (bounded) for uc's non-blocking connect */
static void connected(struct gw_upconn *uc)
{
	int err = 0, i;
	socklen_t l = sizeof(err);

	for (i = 0; i < 100 && !uc->connected; i++) {
		fd_set w;
		struct timeval tv = { 0, 10000 };

		FD_ZERO(&w);
		FD_SET(uc->fd, &w);
		if (select(uc->fd + 1, NULL, &w, NULL, &tv) == 1) {
			assert_int_equal(getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &l), 0);
			assert_int_equal(err, 0);
			uc->connected = true;
		}
	}
	assert_true(uc->connected);
}

static void run_until_idle_count(struct gw_loop *loop, struct gw_upstream_pool *pool, size_t want)
{
	int i;

	for (i = 0; i < 200 && gw_upstream_idle_count(pool) != want; i++)
		gw_loop_run_once(loop, 10);
	assert_int_equal(gw_upstream_idle_count(pool), want);
}

static void test_pool_reuse_and_cap(void **state)
{
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 2, 60000);
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = listen_any(&ss, &len);
	struct gw_upconn *uc[3], *again;
	int i, peers[3];

	for (i = 0; i < 3; i++) {
		uc[i] = gw_upstream_get(pool, &ss, len);
		assert_non_null(uc[i]);
		assert_false(uc[i]->reused);
		connected(uc[i]);
		peers[i] = accept(lfd, NULL, NULL);
		assert_true(peers[i] >= 0);
	}
	/* two fit in the endpoint's pool; the third is closed */
	for (i = 0; i < 3; i++)
		gw_upstream_release(pool, uc[i], true);
	assert_int_equal(gw_upstream_idle_count(pool), 2);
	/* a non-reusable release never pools */
	again = gw_upstream_get(pool, &ss, len);
	assert_true(again->reused);
	assert_int_equal(gw_upstream_idle_count(pool), 1);
	gw_upstream_release(pool, again, false);
	assert_int_equal(gw_upstream_idle_count(pool), 1);
	/* the most recently pooled connection comes back first */
	again = gw_upstream_get(pool, &ss, len);
	assert_true(again == uc[0] || again == uc[1]);
	assert_true(again->reused);
	gw_upstream_release(pool, again, true);
	assert_int_equal(gw_upstream_idle_count(pool), 1);
	for (i = 0; i < 3; i++)
		close(peers[i]);
	/* every backend side closed: the pool notices and drops them */
	run_until_idle_count(loop, pool, 0);
	close(lfd);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

static void test_pool_idle_expiry(void **state)
{
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 8, 30);
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = listen_any(&ss, &len), peer;
	struct gw_upconn *uc = gw_upstream_get(pool, &ss, len);

	assert_non_null(uc);
	connected(uc);
	peer = accept(lfd, NULL, NULL);
	gw_upstream_release(pool, uc, true);
	assert_int_equal(gw_upstream_idle_count(pool), 1);
	/* the backend stays silent: the 30 ms idle timer closes it */
	run_until_idle_count(loop, pool, 0);
	close(peer);
	close(lfd);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

/* a connection refused at once or later is the caller's to handle; an
 * unconnected connection is never pooled */
static void test_pool_never_pools_unconnected(void **state)
{
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 8, 1000);
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = listen_any(&ss, &len);
	struct gw_upconn *uc;

	close(lfd); /* nothing listens there any more */
	uc = gw_upstream_get(pool, &ss, len);
	if (uc) {
		uc->connected = false;
		gw_upstream_release(pool, uc, true);
	}
	assert_int_equal(gw_upstream_idle_count(pool), 0);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

static void count_cb(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	int *hits = io->data;

	(*hits)++;
	gw_loop_mod_fd(loop, io, 0); /* level-triggered: once is enough */
}

/* run_for() : runs the loop for about ms (bounded by the clock) */
static void run_for(struct gw_loop *loop, uint64_t ms)
{
	uint64_t end = gw_now_ms() + ms;
	int i;

	for (i = 0; i < 1000 && gw_now_ms() < end; i++)
		gw_loop_run_once(loop, 5);
}

/* a pooled connection stays in the epoll set: taking it hands its watcher
 * to the new owner, whose callback (not the pool's, which would free it)
 * sees what the backend sends, and giving it back hands it to the pool */
static void test_pool_watcher_changes_hands(void **state)
{
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 4, 60000);
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = listen_any(&ss, &len), peer, hits = 0, i;
	struct gw_upconn *uc = gw_upstream_get(pool, &ss, len), *again;

	assert_non_null(uc);
	connected(uc);
	peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);
	assert_int_equal(gw_loop_add_fd(loop, &uc->io, uc->fd, GW_IO_READ, count_cb, &hits), 0);
	gw_upstream_release(pool, uc, true);
	assert_int_equal(gw_upstream_idle_count(pool), 1);
	assert_true(uc->io.registered);
	assert_true(uc->io.cb != count_cb);

	again = gw_upstream_get(pool, &ss, len);
	assert_ptr_equal(again, uc);
	assert_true(again->reused);
	assert_true(again->io.registered);
	assert_int_equal(gw_loop_add_fd(loop, &uc->io, uc->fd, GW_IO_READ, count_cb, &hits), 0);
	assert_ptr_equal(uc->io.data, &hits);
	/* the backend answers: our callback runs, the connection lives on */
	assert_int_equal(write(peer, "x", 1), 1);
	for (i = 0; i < 200 && !hits; i++)
		gw_loop_run_once(loop, 10);
	assert_int_equal(hits, 1);
	assert_true(uc->io.registered);
	/* bytes nobody read: not reusable; closed, not pooled */
	gw_upstream_release(pool, uc, false);
	assert_int_equal(gw_upstream_idle_count(pool), 0);
	close(peer);
	close(lfd);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

/* the idle timer is lazy: a connection used again before its first expiry
 * is closed idle_ms after its last release, never while in use, never at
 * the deadline of an earlier idle period */
static void test_pool_idle_timer_lazy(void **state)
{
	struct gw_loop *loop = gw_loop_new();
	struct gw_upstream_pool *pool = gw_upstream_pool_new(loop, 4, 100);
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = listen_any(&ss, &len), peer, hits = 0, i;
	struct gw_upconn *uc = gw_upstream_get(pool, &ss, len), *again;
	uint64_t released;

	assert_non_null(uc);
	connected(uc);
	peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);
	gw_loop_update_time(loop);
	gw_upstream_release(pool, uc, true);
	run_for(loop, 60);
	assert_int_equal(gw_upstream_idle_count(pool), 1);

	/* in use across the first deadline (release + 100 ms) */
	again = gw_upstream_get(pool, &ss, len);
	assert_ptr_equal(again, uc);
	assert_int_equal(gw_loop_add_fd(loop, &uc->io, uc->fd, GW_IO_READ, count_cb, &hits), 0);
	run_for(loop, 120);
	assert_true(uc->io.registered);
	assert_ptr_equal(uc->io.data, &hits);

	gw_loop_update_time(loop);
	released = gw_loop_now(loop);
	gw_upstream_release(pool, uc, true);
	assert_int_equal(gw_upstream_idle_count(pool), 1);
	for (i = 0; i < 300 && gw_upstream_idle_count(pool); i++)
		gw_loop_run_once(loop, 10);
	assert_int_equal(gw_upstream_idle_count(pool), 0);
	assert_true(gw_now_ms() >= released + 100);
	assert_int_equal(hits, 0);
	close(peer);
	close(lfd);
	gw_upstream_pool_free(pool);
	gw_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_round_robin),
		cmocka_unit_test(test_pick_tried_and_none_ready),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_pool_reuse_and_cap),
		cmocka_unit_test(test_pool_idle_expiry),
		cmocka_unit_test(test_pool_never_pools_unconnected),
		cmocka_unit_test(test_pool_watcher_changes_hands),
		cmocka_unit_test(test_pool_idle_timer_lazy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
