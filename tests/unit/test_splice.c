/* test_splice.c - the sk_skb splice's userspace side: stat names, the NULL
 * (splice off) contract, and, as root against the real kernel, every way a
 * pair can be refused (each counted exactly once and leaving no entry), a
 * pair that carries bytes both ways with the handover, drain and unpair
 * bookkeeping, and a tiny map that falls back with -ENOSPC.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/splice.h"

#define PINS "/sys/fs/bpf/gwbpf-unit-splice"

static void test_stat_names(void **state)
{
	for (unsigned int a = 0; a < GW_SPLICE_STAT_END; a++) {
		const char *n = gw_splice_stat_name(a);

		assert_non_null(n);
		for (const char *p = n; *p; p++) /* usable as a metric label */
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
		for (unsigned int b = a + 1; b < GW_SPLICE_STAT_END; b++)
			assert_string_not_equal(n, gw_splice_stat_name(b));
	}
	assert_null(gw_splice_stat_name(GW_SPLICE_STAT_END));
	assert_true(GW_SPLICE_STAT_END <= GW_SPLICE_STAT_MAX);
}

static void test_null_is_off(void **state)
{
	struct gw_splice_pair p;
	struct gw_splice_stats st;

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(gw_splice_pair(NULL, 3, 4, &p), -ENODEV);
	assert_false(p.paired);
	gw_splice_note(&p, 0, 10, 10); /* unpaired: ignored */
	assert_int_equal(p.user_in[0], 0);
	assert_int_equal(gw_splice_sync(NULL, &p, 0), 0);
	assert_int_equal(gw_splice_drained(NULL, &p, 0), 1);
	gw_splice_unpair(NULL, &p);
	gw_splice_close(NULL, false);
	assert_int_equal(gw_splice_read_stats("/nonexistent-gwbpf-dir", &st), -ENOENT);
}

/* a connected loopback pair: *a = client side, *b = accepted side */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 2), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &l), 0);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*b = accept(lfd, NULL, NULL);
	assert_true(*b >= 0);
	close(lfd);
	fcntl(*a, F_SETFL, O_NONBLOCK);
	fcntl(*b, F_SETFL, O_NONBLOCK);
}

static uint64_t stat_of(enum gw_splice_stat s)
{
	struct gw_splice_stats st;

	assert_int_equal(gw_splice_read_stats(PINS, &st), 0);
	return st.v[s];
}

static void test_pair_real(void **state)
{
	struct gw_splice_opts o = {.bpffs = PINS};
	struct gw_splice_stats st;
	struct gw_splice_pair p;
	struct gw_splice *sp;
	int c1, s1, c2, s2;
	uint64_t full0, state0, started0;
	char buf[4096];
	ssize_t n;

	if (geteuid() != 0) {
		skip();
		return;
	}
	sp = gw_splice_open(&o); /* with the self-check */
	if (!sp && errno == ENOTSUP) {
		skip();
		return;
	}
	assert_non_null(sp);
	started0 = stat_of(GW_SPLICE_STARTED);
	state0 = stat_of(GW_SPLICE_FB_STATE);

	/* unread bytes: try again later, nothing counted, nothing inserted */
	tcp_pair(&c1, &s1);
	tcp_pair(&c2, &s2);
	assert_int_equal(write(c1, "abc", 3), 3);
	for (int i = 0; i < 100; i++) {
		struct pollfd pf = {.fd = s1, .events = POLLIN};

		if (poll(&pf, 1, 10) == 1)
			break;
	}
	assert_int_equal(gw_splice_pair(sp, s1, c2, &p), -EAGAIN);
	assert_false(p.paired);
	assert_int_equal(stat_of(GW_SPLICE_STARTED), started0);
	assert_int_equal(read(s1, buf, sizeof(buf)), 3);

	/* paired: bytes read before the handover go through userspace, later
	 * ones through the kernel, in order */
	assert_int_equal(gw_splice_pair(sp, s1, c2, &p), 0);
	assert_true(p.paired);
	assert_int_equal(stat_of(GW_SPLICE_STARTED), started0 + 1);
	assert_int_equal(gw_splice_read_stats(PINS, &st), 0);
	assert_int_equal(st.n_socks, 2);
	assert_int_equal(st.n_pairs, 2);
	assert_int_equal(write(c2, "abc", 3), 3); /* userspace forwards the old bytes */
	gw_splice_note(&p, 1, 0, 3);
	assert_int_equal(gw_splice_sync(sp, &p, 0), 0);
	assert_int_equal(p.fwd[0], 0);
	assert_int_equal(write(c1, "defgh", 5), 5); /* now the kernel's */
	memset(buf, 0, sizeof(buf));
	n = 0;
	for (int i = 0; i < 200 && n < 8; i++) {
		ssize_t k = read(s2, buf + n, sizeof(buf) - (size_t)n);

		if (k > 0)
			n += k;
		else
			poll(&(struct pollfd){.fd = s2, .events = POLLIN}, 1, 10);
	}
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "abcdefgh", 8);
	/* nothing of it reached userspace */
	assert_int_equal(read(s1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	/* FIN: userspace sees EOF, and everything is already queued on c2 */
	shutdown(c1, SHUT_WR);
	for (int i = 0; i < 200; i++) {
		n = read(s1, buf, sizeof(buf));
		if (n == 0)
			break;
		poll(&(struct pollfd){.fd = s1, .events = POLLIN}, 1, 10);
	}
	assert_int_equal(n, 0);
	for (int i = 0; i < 200 && gw_splice_drained(sp, &p, 0) == 0; i++)
		usleep(1000);
	assert_int_equal(gw_splice_drained(sp, &p, 0), 1);
	gw_splice_unpair(sp, &p);
	assert_false(p.paired);
	assert_int_equal(gw_splice_read_stats(PINS, &st), 0);
	assert_int_equal(st.n_socks, 0);
	assert_int_equal(st.n_pairs, 0);
	assert_true(st.v[GW_SPLICE_BYTES] >= 5);
	assert_int_equal(st.v[GW_SPLICE_ENDED], st.v[GW_SPLICE_STARTED]);

	/* a socket that is not ESTABLISHED any more: counted, nothing left */
	close(c1);
	close(c2);
	close(s2);
	tcp_pair(&c1, &c2);
	close(c1); /* c2 gets the FIN: CLOSE_WAIT */
	for (int i = 0; i < 100 && read(c2, buf, sizeof(buf)) != 0; i++)
		usleep(1000);
	assert_int_equal(gw_splice_pair(sp, c2, s1, &p), -ENOTCONN);
	assert_false(p.paired);
	assert_int_equal(stat_of(GW_SPLICE_FB_STATE), state0 + 1);
	assert_int_equal(gw_splice_read_stats(PINS, &st), 0);
	assert_int_equal(st.n_socks, 0);
	assert_int_equal(st.n_pairs, 0);
	close(c2);
	close(s1);
	gw_splice_close(sp, false);

	/* a map of 2 sockets: the second pair falls back with -ENOSPC */
	o.max_entries = 2;
	o.no_selfcheck = true;
	sp = gw_splice_open(&o);
	assert_non_null(sp);
	full0 = stat_of(GW_SPLICE_FB_FULL);
	tcp_pair(&c1, &s1);
	tcp_pair(&c2, &s2);
	assert_int_equal(gw_splice_pair(sp, s1, c2, &p), 0);
	{
		struct gw_splice_pair q;
		int c3, s3, c4, s4;

		tcp_pair(&c3, &s3);
		tcp_pair(&c4, &s4);
		assert_int_equal(gw_splice_pair(sp, s3, c4, &q), -ENOSPC);
		assert_false(q.paired);
		assert_int_equal(stat_of(GW_SPLICE_FB_FULL), full0 + 1);
		close(c3);
		close(s3);
		close(c4);
		close(s4);
	}
	gw_splice_unpair(sp, &p);
	close(c1);
	close(s1);
	close(c2);
	close(s2);
	gw_splice_close(sp, false);
	assert_int_equal(access(PINS "/" GW_PIN_SPLICE_HASH, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stat_names),
	    cmocka_unit_test(test_null_is_off),
	    cmocka_unit_test(test_pair_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
