/* tests/unit/test_sock.c - util/sock.c: address parsing, listening sockets
 * (TCP and UDP, options a user relies on) and a non-blocking connect to one
 * of them, on 127.0.0.1 only. */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/sock.h"

static void test_addr(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	(void)state;
	assert_int_equal(gw_sock_addr("127.0.0.1", 8080, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
	assert_int_equal(gw_sock_addr("::1", 443, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(gw_sock_addr("localhost", 80, &ss, &len), -EINVAL);
	assert_int_equal(gw_sock_addr("", 80, &ss, &len), -EINVAL);
	assert_int_equal(gw_sock_listen("300.1.1.1", 80, SOCK_STREAM, 16), -EINVAL);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static void test_listen_and_connect(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool connected = true;
	int lfd, lfd2, cfd, afd = -1, one = 0;
	socklen_t ol = sizeof(one);
	uint16_t port;

	(void)state;
	lfd = gw_sock_listen("127.0.0.1", 0, SOCK_STREAM, 16);
	assert_true(lfd >= 0);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, &ol), 0);
	assert_int_equal(one, 1);
	port = local_port(lfd);
	/* a second worker's socket on the same port (SO_REUSEPORT) */
	lfd2 = gw_sock_listen("127.0.0.1", port, SOCK_STREAM, 16);
	assert_true(lfd2 >= 0);

	assert_int_equal(gw_sock_addr("127.0.0.1", port, &ss, &len), 0);
	cfd = gw_sock_connect_nb(&ss, len, SOCK_STREAM, &connected);
	assert_true(cfd >= 0);
	assert_true(fcntl(cfd, F_GETFL) & O_NONBLOCK);
	if (!connected) {
		struct pollfd p = { .fd = cfd, .events = POLLOUT };

		assert_int_equal(poll(&p, 1, 2000), 1);
	}
	/* the connection reached one of the two sockets */
	for (int i = 0; i < 200 && afd < 0; i++) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
				       { .fd = lfd2, .events = POLLIN } };

		if (poll(p, 2, 10) > 0)
			afd = accept(p[0].revents ? lfd : lfd2, NULL, NULL);
	}
	assert_true(afd >= 0);
	close(afd);
	close(cfd);
	close(lfd2);
	close(lfd);
}

static void test_udp_and_refused(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int u1, u2, fd, probe;
	uint16_t port;

	(void)state;
	u1 = gw_sock_listen("127.0.0.1", 0, SOCK_DGRAM, 0);
	assert_true(u1 >= 0);
	port = local_port(u1);
	u2 = gw_sock_listen("127.0.0.1", port, SOCK_DGRAM, 0);
	assert_true(u2 >= 0);
	assert_int_equal(gw_sock_addr("127.0.0.1", port, &ss, &len), 0);
	fd = gw_sock_connect_nb(&ss, len, SOCK_DGRAM, NULL);
	assert_true(fd >= 0);
	close(fd);
	close(u2);
	close(u1);

	/* a TCP port nobody listens on: refused at once or reported later,
	 * never a blocking call */
	probe = gw_sock_listen("127.0.0.1", 0, SOCK_STREAM, 1);
	assert_true(probe >= 0);
	port = local_port(probe);
	close(probe);
	assert_int_equal(gw_sock_addr("127.0.0.1", port, &ss, &len), 0);
	fd = gw_sock_connect_nb(&ss, len, SOCK_STREAM, NULL);
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int so = 0;
		socklen_t sl = sizeof(so);

		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl), 0);
		assert_int_equal(so, ECONNREFUSED);
		close(fd);
	} else {
		assert_int_equal(fd, -ECONNREFUSED);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_listen_and_connect),
		cmocka_unit_test(test_udp_and_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
