/* l4/l4.c - TCP and TLS streams on L4 listeners: from accept to a
 * connected upstream, then handed to the relay (relay.c).
 *
 * TCP: route at once (a TCP listener has one route target), connect, relay.
 * TLS: the ClientHello is read with MSG_PEEK, never consumed, so
 *  - passthrough relays the socket as it is (the ClientHello bytes are still
 *    queued in it: nothing to replay from userspace),
 *  - a Terminate listener hands the untouched socket to OpenSSL (tls.c),
 *  - an HTTPS listener sharing the port hands it to the HTTP proxy (conn.c).
 * A peek that shows an incomplete ClientHello does not consume anything, so
 * a level-triggered loop would report the socket readable again at once:
 * instead of spinning, the socket is re-peeked on a short timer until the
 * hello deadline (clients send their ClientHello in one flight, so this is
 * the rare path).
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/sock.h"
#include "gwbpf/loop.h"
#include "gwbpf/splice.h"
#include "gwbpf/tls.h"
#include "gwbpf/upstream.h"

#include "../proxy/proxy-int.h"
#include "l4-int.h"

#define GW_L4_REPEEK_MS 20 /* incomplete ClientHello: look again after this */

static uint32_t hello_ms(const struct gw_l4_conn *c)
{
	uint32_t ms = c->w->p->opts.header_timeout_ms;

	return ms ? ms : GW_L4_HELLO_TIMEOUT_MS;
}

void gw_l4_conn_close(struct gw_l4_conn *c, bool rst)
{
	struct gw_worker *w;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (!c)
		return;
	w = c->w;
	gw_loop_del_fd(w->loop, &c->cio);
	gw_loop_del_fd(w->loop, &c->uio);
	gw_loop_del_timer(w->loop, &c->timer);
	gw_loop_del_timer(w->loop, &c->fin_timer);
	gw_loop_cancel(w->loop, &c->task);
	/* the pair's map entries go before the sockets they name */
	gw_splice_unpair(gw_splice_default(), &c->sp);
	gw_tls_conn_free(c->tls);
	if (c->cfd >= 0) {
		if (rst)
			setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->cfd);
	}
	if (c->ufd >= 0) {
		if (rst)
			setsockopt(c->ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->ufd);
	}
	gw_worker_buf_put(w, c->c2u.area);
	gw_worker_buf_put(w, c->u2c.area);
	gw_ir_put(c->ir);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->l4_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	gw_stat_add(w, conns_active, (uint64_t)-1);
	gw_l4_inc(active, (uint64_t)-1);
	free(c);
}

/* ---- upstream connect ---- */

static void try_connect(struct gw_l4_conn *c);

static void connect_failed(struct gw_l4_conn *c)
{
	gw_l4_inc(connect_errors, 1);
	gw_stat_add(c->w, upstream_connect_errors, 1);
	gw_loop_del_fd(c->w->loop, &c->uio);
	gw_loop_del_timer(c->w->loop, &c->timer);
	if (c->ufd >= 0)
		close(c->ufd);
	c->ufd = -1;
	try_connect(c);
}

static void connect_io(struct gw_loop *loop GW_UNUSED, struct gw_io *io, uint32_t events GW_UNUSED)
{
	struct gw_l4_conn *c = io->data;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 || soerr) {
		connect_failed(c);
		return;
	}
	gw_loop_del_timer(c->w->loop, &c->timer);
	gw_ir_put(c->ir);
	c->ir = NULL;
	gw_l4_relay_start(c);
}

static void connect_timeout(struct gw_loop *loop GW_UNUSED, struct gw_timer *t)
{
	connect_failed(t->data);
}

/* try_connect() : connects to the next ready endpoint of c->cluster; closes
 * c when none is left or GW_L4_CONNECT_TRIES failed */
static void try_connect(struct gw_l4_conn *c)
{
	struct gw_worker *w = c->w;
	struct sockaddr_storage ss;
	socklen_t len;
	int ep, fd;

	while (c->n_tries < GW_L4_CONNECT_TRIES) {
		ep = gw_upstream_pick(w->up, c->ir, c->cluster, &c->tried);
		if (ep < 0)
			break;
		c->n_tries++;
		if (gw_upstream_addr(&c->ir->clusters[c->cluster].endpoints[ep], &ss, &len))
			continue;
		gw_stat_add(w, upstream_connects, 1);
		fd = gw_sock_connect_nb(&ss, len, SOCK_STREAM, NULL);
		if (fd < 0) {
			gw_l4_inc(connect_errors, 1);
			gw_stat_add(w, upstream_connect_errors, 1);
			continue;
		}
		c->ufd = fd;
		if (gw_loop_add_fd(w->loop, &c->uio, fd, GW_IO_WRITE, connect_io, c))
			break;
		gw_loop_add_timer(w->loop, &c->timer, w->p->opts.connect_timeout_ms ?: 5000,
				  connect_timeout, c);
		return;
	}
	if (!c->n_tries)
		gw_l4_inc(no_backend, 1);
	pr_debug("l4: %s:%u: no upstream for this connection", c->laddr, c->lport);
	gw_l4_conn_close(c, true);
}

/* start_upstream() : picks a backend of a by weight and connects */
static void start_upstream(struct gw_l4_conn *c, const struct gw_ir_action *a)
{
	int cl;

	if (!a) {
		/* refused as a closed port would be: a RST, no bytes */
		gw_l4_inc(no_route, 1);
		gw_l4_conn_close(c, true);
		return;
	}
	cl = gw_l4_pick_cluster(a, gw_worker_rand(c->w));
	if (cl < 0) {
		gw_l4_inc(no_backend, 1);
		gw_l4_conn_close(c, true);
		return;
	}
	c->cluster = cl;
	c->state = GW_L4_CONNECTING;
	gw_loop_mod_fd(c->w->loop, &c->cio, 0);
	gw_loop_del_timer(c->w->loop, &c->timer);
	try_connect(c);
}

/* ---- TLS termination (TLSRoute on a Terminate listener) ---- */

static void handshake_step(struct gw_l4_conn *c)
{
	const struct gw_ir_bind *b;
	const struct gw_ir_listener *l;
	const char *sni;
	int r = gw_tls_handshake(c->tls);

	if (r == -EAGAIN) {
		gw_loop_mod_fd(c->w->loop, &c->cio, gw_tls_want(c->tls) ?: GW_IO_READ);
		return;
	}
	if (r) {
		gw_l4_inc(hello_bad, 1);
		gw_l4_conn_close(c, false);
		return;
	}
	sni = gw_tls_sni(c->tls);
	snprintf(c->sni, sizeof(c->sni), "%s", sni ? sni : "");
	b = gw_l4_find_bind(c->ir, c->laddr, c->lport, false);
	l = b ? gw_l4_listener(b, c->sni) : NULL;
	/* the SNI chose the certificate; it must also choose this listener */
	if (!l || !l->tls_terminate) {
		gw_l4_inc(no_route, 1);
		gw_l4_conn_close(c, true);
		return;
	}
	start_upstream(c, gw_l4_listener_route(l, c->sni));
}

static void handshake_io(struct gw_loop *loop GW_UNUSED, struct gw_io *io,
			 uint32_t events GW_UNUSED)
{
	handshake_step(io->data);
}

/* ---- ClientHello (TLS listeners) ---- */

static void hello_step(struct gw_l4_conn *c);

static void hello_timer(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_l4_conn *c = t->data;

	if (gw_loop_now(loop) >= c->deadline) {
		gw_l4_inc(hello_timeout, 1);
		pr_debug("l4: %s:%u: ClientHello or handshake timeout", c->laddr, c->lport);
		gw_l4_conn_close(c, false);
		return;
	}
	if (c->state == GW_L4_HELLO)
		hello_step(c);
	else
		gw_loop_add_timer(loop, t, c->deadline - gw_loop_now(loop), hello_timer, c);
}

static void hello_io(struct gw_loop *loop GW_UNUSED, struct gw_io *io, uint32_t events GW_UNUSED)
{
	hello_step(io->data);
}

/* to_https() : hands the connection to the HTTP proxy (an HTTPS listener
 * shares this TLS port); the ClientHello is still unread in the socket */
static void to_https(struct gw_l4_conn *c)
{
	struct gw_worker *w = c->w;
	struct sockaddr_storage peer = c->peer;
	struct gw_listener *l;
	int fd = c->cfd;

	for (l = w->listeners; l; l = l->next)
		if (l->port == c->lport && l->proto != GW_PROTO_UDP &&
		    !strcmp(l->address, c->laddr))
			break;
	if (!l) {
		gw_l4_conn_close(c, false);
		return;
	}
	gw_loop_del_fd(w->loop, &c->cio);
	c->cfd = -1;
	gw_stat_add(w, conns_accepted, (uint64_t)-1);
	gw_l4_inc(accepted, (uint64_t)-1);
	gw_l4_conn_close(c, false);
	gw_conn_accept(w, l, fd, &peer);
}

static void hello_step(struct gw_l4_conn *c)
{
	struct gw_worker *w = c->w;
	const struct gw_ir_bind *b;
	const struct gw_ir_listener *l;
	ssize_t n;
	int r;

	n = recv(c->cfd, c->c2u.area, c->c2u.size, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		gw_loop_mod_fd(w->loop, &c->cio, GW_IO_READ);
		return;
	}
	if (n <= 0) {
		gw_l4_inc(hello_truncated, 1);
		gw_l4_conn_close(c, n < 0);
		return;
	}
	r = gw_tls_parse_sni((const uint8_t *)c->c2u.area, (size_t)n, c->sni, sizeof(c->sni));
	if (r == -EAGAIN && (size_t)n < c->c2u.size) {
		/* nothing consumed: wait for more without spinning on EPOLLIN */
		uint64_t now = gw_loop_now(w->loop);
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		/* a FIN behind queued bytes is invisible to a peek: the state
		 * says the client is done sending */
		if (!getsockopt(c->cfd, IPPROTO_TCP, TCP_INFO, &ti, &tl) &&
		    ti.tcpi_state == TCP_CLOSE_WAIT) {
			gw_l4_inc(hello_truncated, 1);
			gw_l4_conn_close(c, false);
			return;
		}

		gw_loop_mod_fd(w->loop, &c->cio, 0);
		gw_loop_add_timer(
		    w->loop, &c->timer,
		    GW_MIN((uint64_t)GW_L4_REPEEK_MS, c->deadline - GW_MIN(now, c->deadline)),
		    hello_timer, c);
		return;
	}
	if (r) {
		/* garbage, or a ClientHello larger than a buffer */
		gw_l4_inc(hello_bad, 1);
		gw_l4_conn_close(c, false);
		return;
	}
	b = gw_l4_find_bind(w->ir, c->laddr, c->lport, false);
	l = b ? gw_l4_listener(b, c->sni) : NULL;
	if (!l) {
		gw_l4_inc(no_route, 1);
		pr_debug("l4: %s:%u: no listener for server name \"%s\"", c->laddr, c->lport,
			 c->sni);
		gw_l4_conn_close(c, true);
		return;
	}
	if (l->proto == GW_PROTO_HTTPS) {
		to_https(c);
		return;
	}
	if (l->tls_terminate) {
		c->tls = gw_tls_conn_new(w->tls, c->laddr, c->lport, c->cfd);
		if (!c->tls) {
			gw_l4_inc(no_route, 1);
			gw_l4_conn_close(c, false);
			return;
		}
		/* the peeked buffer is not needed any more; the relay takes
		 * fresh ones. The snapshot is held: the route is chosen after
		 * the handshake, by the SNI OpenSSL saw. */
		gw_worker_buf_put(w, c->c2u.area);
		c->c2u = (struct gw_buf){0};
		c->ir = gw_ir_get(w->ir);
		c->state = GW_L4_HANDSHAKE;
		gw_loop_del_fd(w->loop, &c->cio);
		if (gw_loop_add_fd(w->loop, &c->cio, c->cfd, GW_IO_READ, handshake_io, c)) {
			gw_l4_conn_close(c, true);
			return;
		}
		gw_loop_add_timer(w->loop, &c->timer,
				  c->deadline - GW_MIN(gw_loop_now(w->loop), c->deadline),
				  hello_timer, c);
		handshake_step(c);
		return;
	}
	/* passthrough: the ClientHello stays queued in the socket; the relay
	 * buffer starts empty */
	gw_loop_mod_fd(w->loop, &c->cio, 0);
	c->ir = gw_ir_get(w->ir);
	start_upstream(c, gw_l4_listener_route(l, c->sni));
}

/* ---- accept ---- */

void gw_l4_accept(struct gw_worker *w, struct gw_listener *l, int fd,
		  const struct sockaddr_storage *peer)
{
	struct gw_l4_conn *c;
	int one = 1;

	/* at --max-conns the connection is refused and counted as the HTTP
	 * proxy's are; L4 streams are never shed to make room (docs/l4.md) */
	if (w->n_conns >= w->p->opts.max_conns) {
		gw_stat_add(w, conns_refused, 1);
		close(fd);
		return;
	}
	if (!w->ir) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->cfd = fd;
	c->ufd = -1;
	c->proto = l->proto;
	c->peer = *peer;
	snprintf(c->laddr, sizeof(c->laddr), "%s", l->address);
	c->lport = l->port;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = w->l4_conns;
	if (w->l4_conns)
		w->l4_conns->prev = c;
	w->l4_conns = c;
	w->n_conns++;
	gw_stat_add(w, conns_accepted, 1);
	gw_stat_add(w, conns_active, 1);
	gw_l4_inc(accepted, 1);
	gw_l4_inc(active, 1);

	if (l->proto == GW_PROTO_TCP) {
		const struct gw_ir_bind *b = gw_l4_find_bind(w->ir, c->laddr, c->lport, false);

		c->ir = gw_ir_get(w->ir);
		start_upstream(c, b ? gw_l4_route(b, "") : NULL);
		return;
	}
	/* TLS (or HTTPS sharing the port with TLS listeners): ClientHello first */
	c->state = GW_L4_HELLO;
	c->c2u = (struct gw_buf){.area = gw_worker_buf_get(w), .size = GW_PROXY_BUF_SIZE};
	c->deadline = gw_loop_now(w->loop) + hello_ms(c);
	if (!c->c2u.area || gw_loop_add_fd(w->loop, &c->cio, fd, GW_IO_READ, hello_io, c)) {
		gw_l4_conn_close(c, true);
		return;
	}
	gw_loop_add_timer(w->loop, &c->timer, hello_ms(c), hello_timer, c);
	/* clients send the ClientHello right after connecting: it is often
	 * queued already, which saves a loop round per connection */
	hello_step(c);
}

void gw_l4_close_all(struct gw_worker *w)
{
	struct gw_l4_conn *c, *next;

	/* closing c unlinks only c: its successor stays valid */
	for (c = w->l4_conns; c; c = next) {
		next = c->next;
		gw_l4_conn_close(c, false);
	}
	for (struct gw_listener *l = w->listeners; l; l = l->next)
		if (l->proto == GW_PROTO_UDP)
			gw_l4_udp_close(w, l);
}
