/* l4/udp.c - UDPRoute: per-flow sessions in userspace.
 *
 * A flow is one client address (ip, port) on one listener socket of one
 * worker (SO_REUSEPORT hashes a client's datagrams to one socket, so one
 * worker). The first datagram of a flow routes it and picks a backend by
 * weight, and the flow gets its own connected upstream UDP socket, so the
 * backend's answers come back on that socket and are sent to the client from
 * the listener's address. A flow ends after an idle time with no datagram
 * either way; at most GW_L4_UDP_MAX_FLOWS flows per listener socket (new
 * clients beyond are dropped, counted). Datagrams are never queued: what a
 * socket cannot take now is dropped, as the network would.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/sock.h"
#include "gwbpf/upstream.h"

#include "../proxy/proxy-int.h"
#include "l4-int.h"

#define GW_L4_UDP_BUCKETS 1024 /* power of two */
#define GW_L4_UDP_BATCH 64     /* datagrams per readiness event */
#define GW_L4_UDP_MAX 65536    /* largest datagram */

struct gw_l4_flow {
	struct sockaddr_storage peer; /* client address: the key */
	socklen_t plen;
	int ufd; /* connected upstream socket */
	struct gw_io io;
	struct gw_timer timer; /* idle expiry (lazy) */
	uint64_t last_active;
	struct gw_l4_udp *u;
	struct gw_l4_flow *hnext;	/* hash bucket chain */
	struct gw_l4_flow *prev, *next; /* every flow of the listener */
};

struct gw_l4_udp {
	struct gw_listener *l;
	struct gw_l4_flow *buckets[GW_L4_UDP_BUCKETS];
	struct gw_l4_flow *flows;
	size_t n_flows;
};

static __thread char udp_buf[GW_L4_UDP_MAX];

static uint32_t flow_hash(const struct sockaddr_storage *ss)
{
	const unsigned char *p;
	size_t n;
	uint32_t h = 2166136261u;

	if (ss->ss_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
		h = (h ^ ((const struct sockaddr_in *)ss)->sin_port) * 16777619u;
	} else {
		p = (const unsigned char *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		n = 16;
		h = (h ^ ((const struct sockaddr_in6 *)ss)->sin6_port) * 16777619u;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (GW_L4_UDP_BUCKETS - 1);
}

/* same_peer() : the flow's client is peer (plen bytes from recvfrom, which
 * zeroes sin_zero and the IPv6 flow info, so the bytes compare whole) */
static bool same_peer(const struct gw_l4_flow *f, const struct sockaddr_storage *peer,
		      socklen_t plen)
{
	return f->plen == plen && !memcmp(&f->peer, peer, plen);
}

static void flow_free(struct gw_worker *w, struct gw_l4_flow *f)
{
	struct gw_l4_udp *u = f->u;
	struct gw_l4_flow **pp = &u->buckets[flow_hash(&f->peer)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		u->flows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	u->n_flows--;
	gw_loop_del_fd(w->loop, &f->io);
	gw_loop_del_timer(w->loop, &f->timer);
	if (f->ufd >= 0)
		close(f->ufd);
	gw_l4_inc(udp_active, (uint64_t)-1);
	free(f);
}

static uint32_t flow_idle_ms(const struct gw_worker *w)
{
	uint32_t ms = w->p->opts.udp_idle_timeout_ms;

	return ms ? ms : GW_L4_UDP_IDLE_MS;
}

static void flow_idle(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_l4_flow *f = t->data;
	struct gw_worker *w = f->u->l->w;
	uint64_t now = gw_loop_now(loop), idle = flow_idle_ms(w);

	if (now - f->last_active < idle) {
		gw_loop_add_timer(loop, t, f->last_active + idle - now, flow_idle, f);
		return;
	}
	gw_l4_inc(udp_expired, 1);
	flow_free(w, f);
}

/* flow_io() : the backend answered: each datagram goes back to the client
 * from the listener's socket */
static void flow_io(struct gw_loop *loop, struct gw_io *io, uint32_t events GW_UNUSED)
{
	struct gw_l4_flow *f = io->data;
	struct gw_listener *l = f->u->l;

	for (int i = 0; i < GW_L4_UDP_BATCH; i++) {
		ssize_t n = recv(f->ufd, udp_buf, sizeof(udp_buf), 0);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* ICMP errors (ECONNREFUSED...) are reported on the next
			 * call: drop, the flow lives on until idle */
			continue;
		}
		if (sendto(l->fd, udp_buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->peer,
			   f->plen) == -1) {
			gw_l4_inc(udp_dropped, 1);
			continue;
		}
		gw_l4_inc(udp_u2c, 1);
		f->last_active = gw_loop_now(loop);
	}
}

/* flow_new() : routes a new client with the worker's snapshot and connects
 * its upstream socket; NULL (counted) when it cannot be served */
static struct gw_l4_flow *flow_new(struct gw_worker *w, struct gw_l4_udp *u,
				   const struct sockaddr_storage *peer, socklen_t plen)
{
	struct gw_listener *l = u->l;
	const struct gw_ir_bind *b;
	const struct gw_ir_action *a;
	struct gw_l4_flow *f;
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t tried = 0;
	int cl, ep, fd;
	uint32_t h;

	if (u->n_flows >= GW_L4_UDP_MAX_FLOWS)
		return NULL;
	b = gw_l4_find_bind(w->ir, l->address, l->port, true);
	a = b ? gw_l4_route(b, "") : NULL;
	if (!a) {
		gw_l4_inc(no_route, 1);
		return NULL;
	}
	cl = gw_l4_pick_cluster(a, gw_worker_rand(w));
	ep = cl < 0 ? cl : gw_upstream_pick(w->up, w->ir, cl, &tried);
	if (ep < 0 || gw_upstream_addr(&w->ir->clusters[cl].endpoints[ep], &ss, &len)) {
		gw_l4_inc(no_backend, 1);
		return NULL;
	}
	fd = gw_sock_connect_nb(&ss, len, SOCK_DGRAM, NULL);
	if (fd < 0) {
		gw_l4_inc(connect_errors, 1);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || gw_loop_add_fd(w->loop, &f->io, fd, GW_IO_READ, flow_io, f)) {
		free(f);
		close(fd);
		return NULL;
	}
	f->ufd = fd;
	f->peer = *peer;
	f->plen = plen;
	f->u = u;
	f->last_active = gw_loop_now(w->loop);
	h = flow_hash(peer);
	f->hnext = u->buckets[h];
	u->buckets[h] = f;
	f->next = u->flows;
	if (u->flows)
		u->flows->prev = f;
	u->flows = f;
	u->n_flows++;
	gw_loop_add_timer(w->loop, &f->timer, flow_idle_ms(w), flow_idle, f);
	gw_l4_inc(udp_flows, 1);
	gw_l4_inc(udp_active, 1);
	return f;
}

void gw_l4_udp_io(struct gw_loop *loop, struct gw_io *io, uint32_t events GW_UNUSED)
{
	struct gw_listener *l = io->data;
	struct gw_worker *w = l->w;
	struct gw_l4_udp *u = l->udp;

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return;
		u->l = l;
		l->udp = u;
	}
	for (int i = 0; i < GW_L4_UDP_BATCH; i++) {
		struct sockaddr_storage peer = {0};
		socklen_t plen = sizeof(peer);
		struct gw_l4_flow *f;
		ssize_t n =
		    recvfrom(l->fd, udp_buf, sizeof(udp_buf), 0, (struct sockaddr *)&peer, &plen);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			continue;
		}
		for (f = u->buckets[flow_hash(&peer)]; f; f = f->hnext)
			if (same_peer(f, &peer, plen))
				break;
		if (!f)
			f = flow_new(w, u, &peer, plen);
		if (!f || send(f->ufd, udp_buf, (size_t)n, MSG_DONTWAIT) == -1) {
			gw_l4_inc(udp_dropped, 1);
			continue;
		}
		gw_l4_inc(udp_c2u, 1);
		f->last_active = gw_loop_now(loop);
	}
}

void gw_l4_udp_close(struct gw_worker *w, struct gw_listener *l)
{
	struct gw_l4_udp *u = l->udp;

	if (!u)
		return;
	struct gw_l4_flow *f, *next;

	for (f = u->flows; f; f = next) {
		next = f->next;
		flow_free(w, f);
	}
	free(u);
	l->udp = NULL;
}
