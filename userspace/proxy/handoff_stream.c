/* proxy/handoff_stream.c - spliced streams kept for a predecessor.
 *
 * At a graceful restart the old daemon hands over the WebSocket tunnels the
 * kernel splices both ways (gw_proxy_export_streams()): the sk_skb verdict
 * forwards their bytes as long as some process holds the two sockets, so
 * the stream does not notice. What the kernel does not do is the end of
 * the stream: it drops the bare FIN (docs/bpf.md), so userspace must
 * forward each EOF once the bytes before it are out, pass a reset on, and
 * remove the pair from the maps. That is all this file does, on the main
 * thread's loop (a handful of streams, each woken only at its end or for
 * the rare bytes the verdict passes up).
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see loop.c */

#include "gwbpf/api.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/handoff.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/splice.h"

#define HS_WRITE_TRIES 50 /* x 20 ms: a stalled peer of passed-up bytes */

struct hs {
	struct gw_handoff_streams *set;
	struct gw_proxy_stream st; /* fds and pair state, ours */
	struct gw_io io[2];
	struct gw_timer fin; /* re-check the drain before an EOF travels */
	bool eof[2];	     /* side i sent its EOF */
	bool shut[2];	     /* we shut side i's write half (its peer's EOF) */
	struct hs *prev, *next;
};

struct gw_handoff_streams {
	struct gw_loop *loop;
	struct hs *head;
	size_t n;
};

static void hs_forget(struct hs *h)
{
	struct gw_handoff_streams *s = h->set;

	gw_loop_del_fd(s->loop, &h->io[0]);
	gw_loop_del_fd(s->loop, &h->io[1]);
	gw_loop_del_timer(s->loop, &h->fin);
	if (h->prev)
		h->prev->next = h->next;
	else
		s->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	s->n--;
}

/* hs_end() : the stream is over: out of the maps, fds closed (with a reset
 * when one side was reset, so the other learns it) */
static void hs_end(struct hs *h, bool rst)
{
	hs_forget(h);
	gw_splice_unpair(gw_splice_default(), &h->st.sp);
	for (int i = 0; i < 2; i++) {
		if (rst) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(h->st.fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(h->st.fd[i]);
	}
	free(h);
}

static void hs_io(struct gw_loop *loop, struct gw_io *io, uint32_t events);

/* hs_try_fin() : side's EOF travels once what the kernel redirected before
 * it is queued on the other socket. false when h was ended. */
static bool hs_try_fin(struct hs *h, int side);

static void hs_fin_timer(struct gw_loop *loop, struct gw_timer *t)
{
	struct hs *h = t->data;

	if (hs_try_fin(h, 0))
		hs_try_fin(h, 1);
}

static bool hs_try_fin(struct hs *h, int side)
{
	struct gw_loop *loop = h->set->loop;
	int other = 1 - side, ret;

	if (!h->eof[side] || h->shut[other])
		return true;
	ret = gw_splice_drained(gw_splice_default(), &h->st.sp, side);
	if (ret == -EAGAIN) {
		/* bytes passed up are still unread: read side again to EOF */
		h->eof[side] = false;
		if (gw_loop_add_fd(loop, &h->io[side], h->st.fd[side], GW_IO_READ, hs_io, h)) {
			hs_end(h, true);
			return false;
		}
		return true;
	}
	if (ret == 0) {
		gw_loop_add_timer(loop, &h->fin, 1, hs_fin_timer, h);
		return true;
	}
	shutdown(h->st.fd[other], SHUT_WR);
	h->shut[other] = true;
	if (h->shut[0] && h->shut[1]) {
		hs_end(h, false);
		return false;
	}
	return true;
}

/* hs_write_all() : bytes the verdict passed up, to the other side; a peer
 * that takes nothing for a second fails the stream. 0 or -errno */
static int hs_write_all(int fd, const char *p, size_t len)
{
	int tries = 0;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (++tries > HS_WRITE_TRIES)
			return -ETIMEDOUT;
		poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 20);
	}
	return 0;
}

static void hs_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct hs *h = io->data;
	int side = io == &h->io[1];
	char buf[16384];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(h->st.fd[side], buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			gw_splice_note(&h->st.sp, side, (size_t)n, 0);
			if (hs_write_all(h->st.fd[1 - side], buf, (size_t)n)) {
				hs_end(h, true);
				return;
			}
			gw_splice_note(&h->st.sp, 1 - side, 0, (size_t)n);
			gw_splice_sync(gw_splice_default(), &h->st.sp, side);
			continue;
		}
		if (n == 0) {
			/* no more reads on this side: epoll would report its
			 * HUP for ever */
			h->eof[side] = true;
			gw_loop_del_fd(loop, &h->io[side]);
			hs_try_fin(h, side);
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		hs_end(h, true); /* reset: pass it on */
		return;
	}
}

struct gw_handoff_streams *gw_handoff_streams_new(struct gw_loop *loop)
{
	struct gw_handoff_streams *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = loop;
	return s;
}

size_t gw_handoff_streams_adopt(struct gw_handoff_streams *s, const struct gw_proxy_stream *v,
				size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		struct hs *h = calloc(1, sizeof(*h));

		if (!h) {
			close(v[i].fd[0]);
			close(v[i].fd[1]);
			continue;
		}
		h->set = s;
		h->st = v[i];
		h->st.sp.fd[0] = h->st.fd[0];
		h->st.sp.fd[1] = h->st.fd[1];
		h->next = s->head;
		if (s->head)
			s->head->prev = h;
		s->head = h;
		s->n++;
		if (gw_loop_add_fd(s->loop, &h->io[0], h->st.fd[0], GW_IO_READ, hs_io, h) ||
		    gw_loop_add_fd(s->loop, &h->io[1], h->st.fd[1], GW_IO_READ, hs_io, h)) {
			hs_end(h, true);
			continue;
		}
		kept++;
	}
	return kept;
}

int gw_handoff_streams_export(struct gw_handoff_streams *s, struct gw_proxy_stream **v, size_t *n)
{
	struct gw_proxy_stream *out;
	struct hs *h, *next;
	size_t k = 0;

	out = calloc(s->n ? s->n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (h = s->head; h; h = next) {
		struct gw_proxy_stream *o = &out[k];

		next = h->next;
		/* an ending stream is finished here */
		if (h->eof[0] || h->eof[1] || h->shut[0] || h->shut[1])
			continue;
		o->fd[0] = fcntl(h->st.fd[0], F_DUPFD_CLOEXEC, 3);
		o->fd[1] = fcntl(h->st.fd[1], F_DUPFD_CLOEXEC, 3);
		if (o->fd[0] < 0 || o->fd[1] < 0) {
			if (o->fd[0] >= 0)
				close(o->fd[0]);
			if (o->fd[1] >= 0)
				close(o->fd[1]);
			continue;
		}
		o->sp = h->st.sp;
		k++;
		/* the successor holds them now: no unpair, no FIN */
		hs_forget(h);
		close(h->st.fd[0]);
		close(h->st.fd[1]);
		free(h);
	}
	*v = out;
	*n = k;
	return 0;
}

size_t gw_handoff_streams_count(const struct gw_handoff_streams *s)
{
	return s ? s->n : 0;
}

void gw_handoff_streams_free(struct gw_handoff_streams *s)
{
	struct hs *h, *next;

	if (!s)
		return;
	for (h = s->head; h; h = next) {
		next = h->next;
		hs_end(h, false);
	}
	free(s);
}
