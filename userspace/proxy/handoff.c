/* proxy/handoff.c - graceful restart: listening sockets handed to a successor.
 *
 * The way HAProxy (-x, "expose-fd listeners") and Envoy (hot restart) keep
 * a port's accept queue across a restart: the old process passes its
 * listening sockets over a Unix socket with SCM_RIGHTS, so the kernel
 * socket, with the connections waiting in its queue, never closes. The new
 * process serves them, then tells the old one, which stops accepting and
 * drains. Nothing is rebound, so no SYN meets a closed port.
 *
 * Every fd received is checked against what the sender says it is
 * (getsockname, SO_TYPE, SO_ACCEPTCONN); a record that does not match is
 * dropped with its fd. Any malformed message ends the handoff with every fd
 * received so far closed: the caller starts as if there were no
 * predecessor. The protocol is in gwbpf/handoff-t.h.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gwbpf/handoff.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/sock.h"

#define GW_HANDOFF_PEER_MS 120000 /* a successor must be READY within this (--kube lists first) */
#define GW_HANDOFF_PKT                                                                             \
	(sizeof(struct gw_handoff_hdr) + GW_HANDOFF_BATCH * sizeof(struct gw_handoff_rec))

/* ---- both ends ---- */

static void hdr_init(struct gw_handoff_hdr *h, enum gw_handoff_type type)
{
	memset(h, 0, sizeof(*h));
	h->magic = GW_HANDOFF_MAGIC;
	h->version = GW_HANDOFF_VERSION;
	h->type = (uint16_t)type;
}

/* send_msg_fds() : one packet: hdr, then len bytes of records, with n_fds
 * fds attached. 0 or -errno */
static int send_msg_fds(int fd, const struct gw_handoff_hdr *h, const void *recs, size_t len,
			const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * GW_HANDOFF_BATCH)];
		struct cmsghdr align;
	} cm;
	struct iovec iov[2] = {
	    {.iov_base = (void *)h, .iov_len = sizeof(*h)},
	    {.iov_base = (void *)recs, .iov_len = len},
	};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	size_t n = n_fds;

	if (n > GW_HANDOFF_BATCH)
		return -EINVAL;
	if (n) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) == -1)
		return -errno;
	return 0;
}

/* send_msg() : hdr, then recs[0..n), one fd each */
static int send_msg(int fd, const struct gw_handoff_hdr *h, const struct gw_handoff_rec *recs,
		    const int *fds, size_t n)
{
	return send_msg_fds(fd, h, recs, n * sizeof(*recs), fds, n);
}

static int send_simple(int fd, enum gw_handoff_type type)
{
	struct gw_handoff_hdr h;

	hdr_init(&h, type);
	return send_msg(fd, &h, NULL, NULL, 0);
}

/* wait_in() : waits until fd is readable, at most until deadline (ms,
 * gw_now_ms clock). 0 or -ETIMEDOUT / -errno */
static int wait_in(int fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = gw_now_ms();
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -errno;
	}
}

/* recv_msg() : one packet into buf (size len) and up to GW_HANDOFF_BATCH fds
 * (*n_fds of them, caller owns them even on error). Returns the bytes read
 * (0 = the peer closed), or -EPROTO when the packet or its fds were cut. */
static ssize_t recv_msg(int fd, void *buf, size_t len, int *fds, size_t *n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * GW_HANDOFF_BATCH)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf),
	};
	struct cmsghdr *c;
	ssize_t r;

	*n_fds = 0;
	r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (r == -1)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (*n_fds + k > GW_HANDOFF_BATCH)
			k = GW_HANDOFF_BATCH - *n_fds;
		memcpy(fds + *n_fds, CMSG_DATA(c), k * sizeof(int));
		*n_fds += k;
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EPROTO;
	return r;
}

/* hdr_check() : a received header is ours and says what follows truly.
 * 0, -EPROTONOSUPPORT (another version) or -EPROTO */
static int hdr_check(const struct gw_handoff_hdr *h, ssize_t got)
{
	if (got < (ssize_t)sizeof(*h) || h->magic != GW_HANDOFF_MAGIC)
		return -EPROTO;
	if (h->version != GW_HANDOFF_VERSION)
		return -EPROTONOSUPPORT;
	if ((size_t)got != sizeof(*h) + h->len)
		return -EPROTO;
	return 0;
}

static void close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* un_addr() : path into a sockaddr_un; -ENAMETOOLONG when it does not fit */
static int un_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/* ---- successor ---- */

/* sock_matches() : fd is a socket of the record's type, bound to its
 * address and port (and listening, for a stream socket). A stranger's fd,
 * or one the sender described wrongly, is refused. */
static bool sock_matches(int fd, const struct gw_handoff_rec *rec, struct gw_proxy_sock *out)
{
	struct sockaddr_storage want, got;
	socklen_t wlen, glen = sizeof(got), olen;
	int type = 0, acc = 0;
	char addr[sizeof(rec->address)];

	/* all of it: getsockname() writes what the analyzer cannot see */
	memset(&got, 0, sizeof(got));
	memcpy(addr, rec->address, sizeof(addr));
	addr[sizeof(addr) - 1] = '\0';
	if (gw_sock_addr(addr, rec->port, &want, &wlen))
		return false;
	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) == -1 || type != rec->type ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM))
		return false;
	olen = sizeof(acc);
	if (type == SOCK_STREAM &&
	    (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) == -1 || !acc))
		return false;
	if (getsockname(fd, (struct sockaddr *)&got, &glen) == -1 || glen != wlen ||
	    got.ss_family != rec->family)
		return false;
	/* sockaddr_in6 carries flowinfo and scope id the kernel fills in:
	 * compare what gw_sock_addr() sets */
	if (got.ss_family == AF_INET) {
		const struct sockaddr_in *a = (void *)&got, *b = (void *)&want;

		if (a->sin_port != b->sin_port || a->sin_addr.s_addr != b->sin_addr.s_addr)
			return false;
	} else {
		const struct sockaddr_in6 *a = (void *)&got, *b = (void *)&want;

		if (a->sin6_port != b->sin6_port ||
		    memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)))
			return false;
	}
	snprintf(out->address, sizeof(out->address), "%s", addr);
	out->port = rec->port;
	out->type = type;
	out->fd = fd;
	return true;
}

int gw_handoff_fetch(const char *path, uint32_t timeout_ms, bool take_streams,
		     struct gw_proxy_sock **socks, size_t *n, int *conn)
{
	struct gw_handoff_hdr hello;
	uint64_t deadline = gw_now_ms() + timeout_ms;
	struct gw_proxy_sock *v = NULL;
	size_t nv = 0, dropped = 0;
	struct sockaddr_un sa;
	char *pkt = NULL;
	int fd = -1, err;

	err = un_addr(path, &sa);
	if (err)
		goto out;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		err = -errno;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		err = -errno;
		goto out;
	}
	hdr_init(&hello, GW_HANDOFF_HELLO);
	if (take_streams)
		hello.flags = GW_HANDOFF_F_STREAMS;
	err = send_msg(fd, &hello, NULL, NULL, 0);
	if (err)
		goto out;
	pkt = calloc(1, GW_HANDOFF_PKT);
	v = calloc(GW_HANDOFF_MAX, sizeof(*v));
	if (!pkt || !v) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		const struct gw_handoff_hdr *h = (const void *)pkt;
		const struct gw_handoff_rec *recs = (const void *)(pkt + sizeof(*h));
		int fds[GW_HANDOFF_BATCH];
		size_t n_fds = 0, i;
		ssize_t got;

		err = wait_in(fd, deadline);
		if (err)
			goto out;
		got = recv_msg(fd, pkt, GW_HANDOFF_PKT, fds, &n_fds);
		if (got == -EAGAIN || got == -EINTR)
			continue;
		if (got < 0) {
			close_fds(fds, n_fds);
			err = (int)got;
			goto out;
		}
		if (!got) {
			/* closed before the last packet: nothing it sent counts */
			err = -ECONNRESET;
			goto out;
		}
		err = hdr_check(h, got);
		if (err == -EPROTONOSUPPORT)
			pr_warn("handoff: %s speaks protocol version %u, we speak %u", path,
				h->version, GW_HANDOFF_VERSION);
		if (!err && h->type != GW_HANDOFF_SOCKETS)
			err = h->type == GW_HANDOFF_REFUSED ? -EBUSY : -EPROTO;
		if (!err && (h->n > GW_HANDOFF_BATCH || h->len != h->n * sizeof(*recs) ||
			     n_fds != h->n || nv + h->n > GW_HANDOFF_MAX))
			err = -EPROTO;
		if (err) {
			close_fds(fds, n_fds);
			goto out;
		}
		for (i = 0; i < n_fds; i++) {
			if (sock_matches(fds[i], &recs[i], &v[nv])) {
				nv++;
				continue;
			}
			dropped++;
			close(fds[i]);
		}
		if (h->flags & GW_HANDOFF_F_LAST)
			break;
	}
	if (dropped)
		pr_warn("handoff: %zu sockets from %s were not what their record said; closed",
			dropped, path);
	err = 0;
out:
	free(pkt);
	if (err) {
		while (nv)
			close(v[--nv].fd);
		free(v);
		if (fd >= 0)
			close(fd);
		return err;
	}
	*socks = v;
	*n = nv;
	*conn = fd;
	return 0;
}

/* stream_matches() : fd is a TCP socket whose SO_COOKIE is cookie */
static bool stream_matches(int fd, uint64_t cookie)
{
	uint64_t ck = 0;
	socklen_t len = sizeof(ck);
	int type = 0;
	socklen_t tlen = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM &&
	       getsockopt(fd, SOL_SOCKET, SO_COOKIE, &ck, &len) == 0 && ck == cookie;
}

/* take_streams() : one STREAMS packet's records and fds into *v (grown as
 * needed); fds that do not match their record are closed. Owns fds on
 * every path. 0 or -errno */
static int take_streams(const struct gw_handoff_hdr *h, const void *payload, const int *fds,
			size_t n_fds, struct gw_proxy_stream **v, size_t *n, size_t *cap)
{
	const struct gw_handoff_stream_rec *recs = payload;
	size_t i;

	if (h->n > GW_HANDOFF_STREAM_BATCH || h->len != h->n * sizeof(*recs) ||
	    n_fds != 2u * h->n) {
		close_fds(fds, n_fds);
		return -EPROTO;
	}
	for (i = 0; i < h->n; i++) {
		struct gw_proxy_stream *s;

		if (!stream_matches(fds[2 * i], recs[i].cookie[0]) ||
		    !stream_matches(fds[2 * i + 1], recs[i].cookie[1])) {
			pr_warn("handoff: a stream's sockets are not what its record says; closed");
			close(fds[2 * i]);
			close(fds[2 * i + 1]);
			continue;
		}
		if (*n == *cap) {
			size_t nc = *cap ? 2 * *cap : 16;
			struct gw_proxy_stream *nv = realloc(*v, nc * sizeof(*nv));

			if (!nv) {
				close_fds(fds + 2 * i, n_fds - 2 * i);
				return -ENOMEM;
			}
			*v = nv;
			*cap = nc;
		}
		s = &(*v)[(*n)++];
		memset(s, 0, sizeof(*s));
		s->fd[0] = fds[2 * i];
		s->fd[1] = fds[2 * i + 1];
		for (int k = 0; k < 2; k++) {
			s->sp.fd[k] = s->fd[k];
			s->sp.cookie[k] = recs[i].cookie[k];
			s->sp.base[k] = recs[i].base[k];
			s->sp.user_in[k] = recs[i].user_in[k];
			s->sp.user_out[k] = recs[i].user_out[k];
			s->sp.fwd[k] = recs[i].fwd[k];
		}
		s->sp.paired = true;
	}
	return 0;
}

int gw_handoff_ready(int conn, uint32_t timeout_ms, struct gw_proxy_stream **streams,
		     size_t *n_streams)
{
	uint64_t deadline = gw_now_ms() + timeout_ms;
	struct gw_proxy_stream *v = NULL;
	size_t nv = 0, cap = 0;
	char *pkt = malloc(GW_HANDOFF_PKT);
	int err;

	err = pkt ? send_simple(conn, GW_HANDOFF_READY) : -ENOMEM;
	while (!err) {
		const struct gw_handoff_hdr *h = (const void *)pkt;
		int fds[GW_HANDOFF_BATCH];
		size_t n_fds = 0;
		ssize_t got;

		err = wait_in(conn, deadline);
		if (err)
			break;
		got = recv_msg(conn, pkt, GW_HANDOFF_PKT, fds, &n_fds);
		if (got == -EAGAIN || got == -EINTR) {
			close_fds(fds, n_fds);
			continue;
		}
		if (got == 0 || (got < 0 && got != -EPROTO)) {
			/* it closed (or failed): either way it let go */
			close_fds(fds, n_fds);
			break;
		}
		err = got < 0 ? -EPROTO : hdr_check(h, got);
		if (!err && h->type == GW_HANDOFF_STREAMS) {
			err = take_streams(h, pkt + sizeof(*h), fds, n_fds, &v, &nv, &cap);
			continue;
		}
		close_fds(fds, n_fds);
		if (!err && h->type == GW_HANDOFF_RELEASED)
			break;
		err = -EPROTO;
	}
	free(pkt);
	close(conn);
	*streams = v;
	*n_streams = nv;
	return err;
}

bool gw_handoff_waiting(int conn)
{
	struct pollfd pfd = {.fd = conn, .events = POLLIN};

	return poll(&pfd, 1, 0) == 0;
}

/* ---- predecessor ---- */

enum peer_state {
	PEER_NONE,
	PEER_HELLO, /* connected, waiting for HELLO */
	PEER_SENT,  /* sockets sent, waiting for READY */
};

struct gw_handoff_server {
	struct gw_loop *loop;
	const struct gw_handoff_ops *ops;
	void *arg;
	char *path;
	dev_t dev; /* the socket file we made, to remove only that one */
	ino_t ino;
	int fd;
	struct gw_io io;
	int peer; /* the successor being served, or -1 */
	enum peer_state state;
	struct gw_io peer_io;
	struct gw_timer peer_timer;
	bool done;	   /* handed over: serve no one else */
	bool peer_streams; /* the successor keeps spliced streams (HELLO F_STREAMS) */
};

static void peer_close(struct gw_handoff_server *s)
{
	gw_loop_del_timer(s->loop, &s->peer_timer);
	gw_loop_del_fd(s->loop, &s->peer_io);
	if (s->peer >= 0)
		close(s->peer);
	s->peer = -1;
	s->state = PEER_NONE;
}

static void peer_timeout(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_handoff_server *s = t->data;

	pr_warn("handoff: the successor did not get ready within %d ms; still serving",
		GW_HANDOFF_PEER_MS);
	peer_close(s);
}

/* send_sockets() : every listening socket, in packets of GW_HANDOFF_BATCH.
 * Blocking sends: the peer reads them right away, and the packets are small
 * (the socket buffer holds several). 0 or -errno. */
static int send_sockets(struct gw_handoff_server *s)
{
	struct gw_proxy_sock *socks = NULL;
	struct gw_handoff_rec recs[GW_HANDOFF_BATCH];
	int fds[GW_HANDOFF_BATCH];
	size_t n = 0, i = 0;
	int err;

	err = s->ops->sockets(s->arg, &socks, &n);
	if (err)
		return err;
	if (n > GW_HANDOFF_MAX)
		n = GW_HANDOFF_MAX; /* the rest stay ours and close at the drain */
	do {
		struct gw_handoff_hdr h;
		size_t k = 0;

		hdr_init(&h, GW_HANDOFF_SOCKETS);
		for (; i < n && k < GW_HANDOFF_BATCH; i++, k++) {
			struct sockaddr_storage ss;
			socklen_t len;

			memset(&recs[k], 0, sizeof(recs[k]));
			gw_sock_addr(socks[i].address, socks[i].port, &ss, &len);
			recs[k].family = ss.ss_family;
			recs[k].type = (uint16_t)socks[i].type;
			recs[k].port = socks[i].port;
			snprintf(recs[k].address, sizeof(recs[k].address), "%s", socks[i].address);
			fds[k] = socks[i].fd;
		}
		h.n = (uint16_t)k;
		h.len = (uint32_t)(k * sizeof(recs[0]));
		if (i == n)
			h.flags = GW_HANDOFF_F_LAST;
		err = send_msg(s->peer, &h, recs, fds, k);
	} while (!err && i < n);
	for (i = 0; i < n; i++)
		close(socks[i].fd);
	free(socks);
	return err;
}

/* send_streams() : the spliced streams, in packets of
 * GW_HANDOFF_STREAM_BATCH; their fds are closed here whatever happens (a
 * stream whose packet did not go out ends with them). 0 or -errno */
static int send_streams(struct gw_handoff_server *s)
{
	struct gw_handoff_stream_rec recs[GW_HANDOFF_STREAM_BATCH];
	int fds[2 * GW_HANDOFF_STREAM_BATCH];
	struct gw_proxy_stream *v = NULL;
	size_t n = 0, i = 0;
	int err;

	if (!s->peer_streams || !s->ops->streams)
		return 0;
	err = s->ops->streams(s->arg, &v, &n);
	if (err)
		return err;
	while (!err && i < n) {
		struct gw_handoff_hdr h;
		size_t k = 0;

		hdr_init(&h, GW_HANDOFF_STREAMS);
		for (; i < n && k < GW_HANDOFF_STREAM_BATCH; i++, k++) {
			for (int j = 0; j < 2; j++) {
				recs[k].cookie[j] = v[i].sp.cookie[j];
				recs[k].base[j] = v[i].sp.base[j];
				recs[k].user_in[j] = v[i].sp.user_in[j];
				recs[k].user_out[j] = v[i].sp.user_out[j];
				recs[k].fwd[j] = v[i].sp.fwd[j];
				fds[2 * k + j] = v[i].fd[j];
			}
		}
		h.n = (uint16_t)k;
		h.len = (uint32_t)(k * sizeof(recs[0]));
		err = send_msg_fds(s->peer, &h, recs, h.len, fds, 2 * k);
	}
	for (i = 0; i < n; i++) {
		close(v[i].fd[0]);
		close(v[i].fd[1]);
	}
	free(v);
	if (n && !err)
		pr_info("handoff: %zu spliced streams handed over", n);
	return err;
}

static void peer_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_handoff_server *s = io->data;
	struct gw_handoff_hdr h;
	int fds[GW_HANDOFF_BATCH];
	size_t n_fds = 0;
	ssize_t got;
	int err;

	got = recv_msg(s->peer, &h, sizeof(h), fds, &n_fds);
	/* a successor sends no fds: whatever came is not ours to keep */
	close_fds(fds, n_fds);
	if (got == -EAGAIN || got == -EINTR)
		return;
	if (got == 0 || (got < 0 && got != -EPROTO)) {
		if (s->state == PEER_SENT)
			pr_warn("handoff: the successor went away before it was ready; still "
				"serving");
		peer_close(s);
		return;
	}
	/* a packet longer than any message we take was cut: malformed */
	err = got < 0 ? -EPROTO : hdr_check(&h, got);
	if (err == -EPROTONOSUPPORT) {
		struct gw_handoff_hdr r;

		pr_warn("handoff: a successor speaks protocol version %u, we speak %u: refused "
			"(it starts on its own; stop this daemon to finish the update)",
			h.version, GW_HANDOFF_VERSION);
		hdr_init(&r, GW_HANDOFF_REFUSED);
		send_msg(s->peer, &r, NULL, NULL, 0);
		peer_close(s);
		return;
	}
	if (err || (s->state == PEER_HELLO && h.type != GW_HANDOFF_HELLO) ||
	    (s->state == PEER_SENT && h.type != GW_HANDOFF_READY)) {
		pr_warn("handoff: malformed or out-of-turn message from a peer; dropped it");
		send_simple(s->peer, GW_HANDOFF_REFUSED);
		peer_close(s);
		return;
	}
	if (s->state == PEER_HELLO) {
		s->peer_streams = h.flags & GW_HANDOFF_F_STREAMS;
		err = send_sockets(s);
		if (err) {
			pr_warn("handoff: cannot send the listening sockets: %s; still serving",
				strerror(-err));
			peer_close(s);
			return;
		}
		s->state = PEER_SENT;
		pr_info("handoff: listening sockets sent to a successor; waiting for it");
		return;
	}
	/* READY: the successor accepts on the same sockets now */
	pr_info("handoff: the successor serves; draining");
	s->done = true;
	gw_loop_del_fd(loop, &s->io);
	err = send_streams(s);
	if (err)
		pr_warn("handoff: sending the spliced streams: %s (those not sent end)",
			strerror(-err));
	s->ops->handed_over(s->arg);
	send_simple(s->peer, GW_HANDOFF_RELEASED);
	peer_close(s);
}

static void server_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_handoff_server *s = io->data;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		pr_warn("handoff: peer uid %u refused", (unsigned int)cred.uid);
		close(fd);
		return;
	}
	if (s->peer >= 0 || s->done) {
		/* one successor at a time */
		send_simple(fd, GW_HANDOFF_REFUSED);
		close(fd);
		return;
	}
	s->peer = fd;
	s->state = PEER_HELLO;
	if (gw_loop_add_fd(loop, &s->peer_io, fd, GW_IO_READ, peer_io, s) ||
	    gw_loop_add_timer(loop, &s->peer_timer, GW_HANDOFF_PEER_MS, peer_timeout, s))
		peer_close(s);
}

struct gw_handoff_server *gw_handoff_server_new(struct gw_loop *loop, const char *path,
						const struct gw_handoff_ops *ops, void *arg)
{
	struct gw_handoff_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_mask;
	int err = -ENOMEM, r;

	if (!s)
		goto out;
	s->fd = -1;
	s->peer = -1;
	s->loop = loop;
	s->ops = ops;
	s->arg = arg;
	s->path = strdup(path);
	if (!s->path)
		goto out;
	err = un_addr(path, &sa);
	if (err)
		goto out;
	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		err = -errno;
		goto out;
	}
	/* a predecessor's file (it keeps its open socket, unreachable now: it
	 * has handed over already) or a stale one */
	if (unlink(path) == -1 && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	/* 0600 from the start, not after a chmod race */
	old_mask = umask(0177);
	r = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	err = -errno;
	umask(old_mask);
	if (r == -1)
		goto out;
	if (listen(s->fd, 4) == -1 || stat(path, &st) == -1) {
		err = -errno;
		goto out;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	err = gw_loop_add_fd(loop, &s->io, s->fd, GW_IO_READ, server_io, s);
	if (err)
		goto out;
	pr_info("handoff: a successor can take over through %s", path);
	err = 0;
out:
	if (err) {
		gw_handoff_server_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

void gw_handoff_server_free(struct gw_handoff_server *s)
{
	struct stat st;

	if (!s)
		return;
	peer_close(s);
	gw_loop_del_fd(s->loop, &s->io);
	if (s->fd >= 0) {
		close(s->fd);
		/* remove our file only: a successor may have put its own there */
		if (s->ino && stat(s->path, &st) == 0 && st.st_ino == s->ino && st.st_dev == s->dev)
			unlink(s->path);
	}
	free(s->path);
	free(s);
}
