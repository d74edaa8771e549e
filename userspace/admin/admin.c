/* admin/admin.c - the admin HTTP endpoint (see gwbpf/admin.h).
 *
 * Each connection reads one request head (at most 8 KiB, within 5 s), is
 * answered from the ops callbacks and closed: health checkers and scrapers
 * open a connection per probe anyway, and closing keeps the server trivial.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see proxy/loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/admin.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"

#define GW_ADMIN_HEAD_MAX 8192
#define GW_ADMIN_TIMEOUT_MS 5000

struct gw_admin_conn {
	struct gw_admin *a;
	int fd;
	struct gw_io io;
	struct gw_timer timer;
	char in[GW_ADMIN_HEAD_MAX];
	size_t n_in;
	char *out; /* response, malloc'd */
	size_t n_out, off;
	struct gw_admin_conn *next, *prev;
};

struct gw_admin {
	struct gw_loop *loop;
	int fd;
	struct gw_io io;
	const struct gw_admin_ops *ops;
	void *arg;
	struct gw_admin_conn *conns;
};

int gw_admin_parse_addr(const char *addr, struct sockaddr_storage *ss, unsigned int *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[128];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	if (!addr)
		return -EINVAL;
	colon = strrchr(addr, ':');
	if (!colon)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	if (!hl || inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static void admin_conn_free(struct gw_admin_conn *c)
{
	struct gw_admin *a = c->a;

	gw_loop_del_fd(a->loop, &c->io);
	gw_loop_del_timer(a->loop, &c->timer);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->out);
	free(c);
}

/* respond() : builds the whole response; body is taken (freed here) */
static void respond(struct gw_admin_conn *c, int status, const char *reason, const char *ctype,
		    char *body, bool head_only)
{
	size_t blen = body ? strlen(body) : 0;
	int hl;
	char head[256];

	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\nCache-Control: no-store\r\n\r\n",
		      status, reason, ctype, blen);
	c->out = malloc((size_t)hl + blen + 1);
	if (!c->out) {
		free(body);
		c->n_out = 0;
		return;
	}
	memcpy(c->out, head, (size_t)hl);
	if (body && !head_only)
		memcpy(c->out + hl, body, blen);
	c->n_out = (size_t)hl + (head_only ? 0 : blen);
	c->off = 0;
	free(body);
}

static char *xstrdup(const char *s)
{
	return strdup(s);
}

static void admin_handle(struct gw_admin_conn *c)
{
	struct gw_admin *a = c->a;
	char method[8], path[256];
	bool head;
	char *q, *body;

	if (sscanf(c->in, "%7s %255s HTTP/1.", method, path) != 2) {
		respond(c, 400, "Bad Request", "text/plain", xstrdup("bad request\n"), false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		respond(c, 405, "Method Not Allowed", "text/plain", xstrdup("GET only\n"), false);
		return;
	}
	q = strchr(path, '?');
	if (q)
		*q = 0;
	if (!strcmp(path, "/healthz")) {
		respond(c, 200, "OK", "text/plain", xstrdup("ok\n"), head);
	} else if (!strcmp(path, "/readyz")) {
		if (a->ops->ready && a->ops->ready(a->arg))
			respond(c, 200, "OK", "text/plain", xstrdup("ready\n"), head);
		else
			respond(c, 503, "Service Unavailable", "text/plain", xstrdup("not ready\n"),
				head);
	} else if (!strcmp(path, "/status")) {
		body = a->ops->status ? a->ops->status(a->arg) : NULL;
		if (body)
			respond(c, 200, "OK", "application/json", body, head);
		else
			respond(c, 503, "Service Unavailable", "text/plain",
				xstrdup("no configuration translated yet\n"), head);
	} else if (!strcmp(path, "/status/routes") && a->ops->routes) {
		/* per route, requests kept in the kernel vs served by the proxy */
		body = a->ops->routes(a->arg);
		if (body)
			respond(c, 200, "OK", "application/json", body, head);
		else
			respond(c, 503, "Service Unavailable", "text/plain",
				xstrdup("no configuration translated yet\n"), head);
	} else if (!strcmp(path, "/metrics")) {
		body = a->ops->metrics ? a->ops->metrics(a->arg) : NULL;
		if (body)
			respond(c, 200, "OK", "text/plain; version=0.0.4", body, head);
		else
			respond(c, 503, "Service Unavailable", "text/plain", xstrdup("no metrics\n"),
				head);
	} else {
		respond(c, 404, "Not Found", "text/plain",
			xstrdup("not found: try /healthz /readyz /status /status/routes "
				"/metrics\n"),
			head);
	}
}

static void admin_conn_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_admin_conn *c = io->data;
	ssize_t n;

	if (!c->out) {
		n = recv(c->fd, c->in + c->n_in, sizeof(c->in) - 1 - c->n_in, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			admin_conn_free(c);
			return;
		}
		if (n > 0)
			c->n_in += (size_t)n;
		c->in[c->n_in] = 0;
		if (!strstr(c->in, "\r\n\r\n") && !strstr(c->in, "\n\n")) {
			if (c->n_in >= sizeof(c->in) - 1)
				admin_conn_free(c);
			return;
		}
		admin_handle(c);
		if (!c->out) {
			admin_conn_free(c);
			return;
		}
		gw_loop_mod_fd(loop, io, GW_IO_WRITE);
	}
	if (c->out) {
		n = send(c->fd, c->out + c->off, c->n_out - c->off, MSG_NOSIGNAL);
		if (n > 0)
			c->off += (size_t)n;
		if ((n == -1 && errno != EAGAIN && errno != EINTR) || c->off == c->n_out)
			admin_conn_free(c);
	}
}

static void admin_conn_timeout(struct gw_loop *loop, struct gw_timer *t)
{
	admin_conn_free(t->data);
}

static void admin_accept(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_admin *a = io->data;
	int i;

	for (i = 0; i < 16; i++) {
		struct gw_admin_conn *c;
		int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->a = a;
		c->fd = fd;
		if (gw_loop_add_fd(loop, &c->io, fd, GW_IO_READ, admin_conn_io, c)) {
			close(fd);
			free(c);
			continue;
		}
		gw_loop_add_timer(loop, &c->timer, GW_ADMIN_TIMEOUT_MS, admin_conn_timeout, c);
		c->next = a->conns;
		if (a->conns)
			a->conns->prev = c;
		a->conns = c;
	}
}

struct gw_admin *gw_admin_new(struct gw_loop *loop, const char *addr,
			      const struct gw_admin_ops *ops, void *arg)
{
	struct sockaddr_storage ss;
	unsigned int len;
	struct gw_admin *a;
	int one = 1, err;

	err = gw_admin_parse_addr(addr, &ss, &len);
	if (err) {
		errno = -err;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->loop = loop;
	a->ops = ops;
	a->arg = arg;
	a->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd == -1)
		goto fail;
	setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(a->fd, (struct sockaddr *)&ss, len) == -1 || listen(a->fd, 128) == -1)
		goto fail;
	if (gw_loop_add_fd(loop, &a->io, a->fd, GW_IO_READ, admin_accept, a)) {
		errno = EINVAL;
		goto fail;
	}
	return a;
fail:
	err = errno;
	if (a->fd >= 0)
		close(a->fd);
	free(a);
	errno = err;
	return NULL;
}

void gw_admin_free(struct gw_admin *a)
{
	struct gw_admin_conn *c, *next;

	if (!a)
		return;
	/* by next pointer: the analyzer cannot see that the head's prev is NULL */
	for (c = a->conns; c; c = next) {
		next = c->next;
		admin_conn_free(c);
	}
	gw_loop_del_fd(a->loop, &a->io);
	close(a->fd);
	free(a);
}
