/* gwbpf/sock.h - socket setup shared by the proxy, L4 and the dataplane
 * (see util/sock.c). */
#ifndef GWBPF_SOCK_H
#define GWBPF_SOCK_H

#include <sys/socket.h>

#include "gwbpf/api.h"

/* gw_sock_addr() : parses a numeric IPv4 or IPv6 address with port into
 * *ss and *len. 0, or -EINVAL when address is not a numeric IP. */
int gw_sock_addr(const char *address, uint16_t port, struct sockaddr_storage *ss,
		 socklen_t *len);

/* gw_sock_connect_nb() : a non-blocking, close-on-exec socket of type
 * (SOCK_STREAM gets TCP_NODELAY: heads and small records must not wait for
 * Nagle) with a connect to ss started. *connected (may be NULL) is true when
 * the connect completed at once, false when it is in progress. Returns the
 * fd (caller closes) or -errno. */
int gw_sock_connect_nb(const struct sockaddr_storage *ss, socklen_t len, int type,
		       bool *connected);

/* gw_sock_listen() : a non-blocking, close-on-exec socket of type bound to
 * address:port with SO_REUSEPORT (one socket per worker, the kernel spreads
 * connections and UDP clients among them), IP_FREEBIND (a pool address may
 * not be on an interface yet) and, for IPv6, V6ONLY; a SOCK_STREAM socket
 * also listens with backlog. Returns the fd (caller closes) or -errno
 * (-EINVAL when address is not a numeric IP). */
int gw_sock_listen(const char *address, uint16_t port, int type, int backlog);

#endif
