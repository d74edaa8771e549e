/* util/sock.c - socket setup shared by the proxy, L4 and the dataplane.
 *
 * The HTTP proxy, the L4 relays (TCP and UDP) and the loaned connections of
 * the kernel steering path open their sockets the same way: non-blocking,
 * close-on-exec, the same options. Keeping that in one place keeps them from
 * drifting (a listener that forgot V6ONLY would take an IPv4 port from
 * another listener).
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/sock.h"

int gw_sock_addr(const char *address, uint16_t port, struct sockaddr_storage *ss,
		 socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

int gw_sock_connect_nb(const struct sockaddr_storage *ss, socklen_t len, int type,
		       bool *connected)
{
	int fd, one = 1, err;

	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, len) == -1) {
		if (errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			return err;
		}
		if (connected)
			*connected = false;
	} else if (connected) {
		*connected = true;
	}
	return fd;
}

int gw_sock_listen(const char *address, uint16_t port, int type, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err;

	err = gw_sock_addr(address, port, &ss, &len);
	if (err)
		return err;
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	if (ss.ss_family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		/* "::" must not take the IPv4 port "0.0.0.0" may want too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}
