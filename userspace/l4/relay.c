/* l4/relay.c - moves bytes between the two connected sockets of an L4
 * stream, in userspace, until both directions have ended.
 *
 * One pooled GW_PROXY_BUF_SIZE buffer per direction bounds the memory of a
 * connection; a side is only read while the buffer towards the other side
 * has room, so a slow reader stops the fast writer (backpressure through the
 * TCP windows, as the loop is level-triggered). A FIN from one side is
 * passed on as a FIN (shutdown(SHUT_WR)) once its buffer drained; the other
 * direction keeps flowing. A reset or error on one side aborts the other
 * with a RST. No byte either way for the idle timeout closes both.
 *
 * gw_l4_relay_start() is the one place a connected pair starts relaying.
 * When the daemon runs the kernel splice (sk_skb, gwbpf/splice.h), plain
 * streams (TCPRoute, TLS passthrough) are paired there: this relay keeps
 * running as the splice contract asks (it forwards what reached userspace
 * before the handover, notes every byte it moves, and sees EOF and errors),
 * and the kernel carries each direction once userspace holds none of its
 * bytes. A refused pair (map full, socket closing) simply stays here.
 */
#include "gwbpf/api.h"

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_* (glibc's lacks them) */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/splice.h"
#include "gwbpf/tls.h"

#include "../proxy/proxy-int.h"
#include "l4-int.h"

/* rounds of the pump per event, so one busy stream cannot hog the worker */
#define GW_L4_PUMP_ROUNDS 8

static uint32_t relay_idle_ms(const struct gw_l4_conn *c)
{
	uint32_t ms = c->w->p->opts.l4_idle_timeout_ms;

	return ms ? ms : GW_L4_IDLE_TIMEOUT_MS;
}

/* client side reads and writes: plain socket, or the TLS session of a
 * terminating listener. Return >0 bytes, 0 = EOF (reads), -EAGAIN, or
 * -errno (the connection is broken). */
static ssize_t c_read(struct gw_l4_conn *c, void *p, size_t len)
{
	ssize_t n;

	if (c->tls)
		return gw_tls_read(c->tls, p, len);
	n = read(c->cfd, p, len);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static ssize_t c_write(struct gw_l4_conn *c, const void *p, size_t len)
{
	ssize_t n;

	if (c->tls)
		return gw_tls_write(c->tls, p, len);
	n = send(c->cfd, p, len, MSG_NOSIGNAL);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static ssize_t u_read(struct gw_l4_conn *c, void *p, size_t len)
{
	ssize_t n = read(c->ufd, p, len);

	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static ssize_t u_write(struct gw_l4_conn *c, const void *p, size_t len)
{
	ssize_t n = send(c->ufd, p, len, MSG_NOSIGNAL);

	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

/* b_fill() : reads into the tail room of b. 1 = progress, 0 = nothing,
 * -1 = EOF, -2 = error */
static int b_fill(struct gw_l4_conn *c, struct gw_buf *b, int side,
		  ssize_t (*rd)(struct gw_l4_conn *, void *, size_t))
{
	size_t room;
	ssize_t n;

	if (!b->data)
		b->head = 0;
	room = b->size - b->head - b->data;
	if (!room)
		return 0;
	n = rd(c, b->area + b->head + b->data, room);
	if (n > 0) {
		b->data += (size_t)n;
		gw_splice_note(&c->sp, side, (size_t)n, 0);
		return 1;
	}
	if (n == 0)
		return -1;
	return n == -EAGAIN ? 0 : -2;
}

/* b_flush() : writes what b holds. 1 = progress, 0 = nothing, -2 = error */
static int b_flush(struct gw_l4_conn *c, struct gw_buf *b, int side,
		   ssize_t (*wr)(struct gw_l4_conn *, const void *, size_t), _Atomic uint64_t *cnt)
{
	ssize_t n;

	if (!b->data)
		return 0;
	n = wr(c, b->area + b->head, b->data);
	if (n > 0) {
		b->head += (size_t)n;
		b->data -= (size_t)n;
		if (!b->data)
			b->head = 0;
		gw_splice_note(&c->sp, side, 0, (size_t)n);
		atomic_fetch_add_explicit(cnt, (uint64_t)n, memory_order_relaxed);
		return 1;
	}
	return n == -EAGAIN ? 0 : -2;
}

static void relay_pump(struct gw_l4_conn *c);

/* relay_splice() : the kernel splice call site (gwbpf/splice.h): the pair
 * is offered once (again after the next read when the kernel still holds
 * bytes userspace has not read: a peeked ClientHello), then each direction
 * is handed over whenever userspace holds none of its bytes. Only plain
 * streams: a terminated TLS client side needs OpenSSL here. */
static void relay_splice(struct gw_l4_conn *c)
{
	struct gw_splice *sp = gw_splice_default();
	int err;

	if (!sp)
		return;
	if (!c->splice_tried) {
		if (c->tls) {
			c->splice_tried = true;
			return;
		}
		err = gw_splice_pair(sp, c->cfd, c->ufd, &c->sp);
		if (err == -EAGAIN)
			return;
		c->splice_tried = true;
		if (err) {
			gw_l4_inc(splice_fallbacks, 1);
			return;
		}
		gw_l4_inc(splice_started, 1);
	}
	if (!c->c2u.data)
		gw_splice_sync(sp, &c->sp, 0);
	if (!c->u2c.data)
		gw_splice_sync(sp, &c->sp, 1);
}

static void relay_fin_timer(struct gw_loop *loop GW_UNUSED, struct gw_timer *t)
{
	relay_pump(t->data);
}

/* relay_fin_ok() : side's EOF may be passed on: every byte the kernel
 * redirected before it is queued on the other socket. Else re-checked in a
 * millisecond (the idle timer is re-armed after), or, when bytes are still
 * on their way up to userspace, that side is read again. */
static bool relay_fin_ok(struct gw_l4_conn *c, int side)
{
	int ret, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!c->sp.paired)
		return true;
	ret = gw_splice_drained(gw_splice_default(), &c->sp, side);
	if (ret == -EAGAIN) {
		getsockopt(side ? c->ufd : c->cfd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr)
			return true;
		if (side)
			c->u_eof = false;
		else
			c->c_eof = false;
		return false;
	}
	if (ret)
		return true;
	if (!gw_timer_armed(&c->fin_timer))
		gw_loop_add_timer(c->w->loop, &c->fin_timer, 1, relay_fin_timer, c);
	return false;
}

static void relay_task(struct gw_loop *loop GW_UNUSED, struct gw_task *task)
{
	relay_pump(task->data);
}

static void relay_want(struct gw_l4_conn *c)
{
	uint32_t cw = 0, uw = 0;

	if (!c->c_eof && c->c2u.size - c->c2u.head - c->c2u.data)
		cw |= GW_IO_READ;
	if (c->u2c.data)
		cw |= GW_IO_WRITE;
	if (c->tls)
		cw |= gw_tls_want(c->tls);
	if (!c->u_eof && c->u2c.size - c->u2c.head - c->u2c.data)
		uw |= GW_IO_READ;
	if (c->c2u.data)
		uw |= GW_IO_WRITE;
	gw_loop_mod_fd(c->w->loop, &c->cio, cw);
	gw_loop_mod_fd(c->w->loop, &c->uio, uw);
	/* a side done both ways reports EPOLLHUP, which no interest set masks:
	 * unwatch it, or the loop would spin until the other side finishes */
	if (c->c_eof && c->c_shut)
		gw_loop_del_fd(c->w->loop, &c->cio);
	if (c->u_eof && c->u_shut)
		gw_loop_del_fd(c->w->loop, &c->uio);
	/* bytes OpenSSL decrypted already are never announced by epoll */
	if (c->tls && (cw & GW_IO_READ) && gw_tls_pending(c->tls))
		gw_loop_defer(c->w->loop, &c->task, relay_task, c);
}

/* relay_pump() : does all the work both directions allow now; closes c
 * when the stream is over (c is then freed: callers return at once) */
static void relay_pump(struct gw_l4_conn *c)
{
	bool moved = false;
	int r;

	for (int round = 0; round < GW_L4_PUMP_ROUNDS; round++) {
		bool progress = false;

		/* client -> upstream */
		if (!c->c_eof) {
			r = b_fill(c, &c->c2u, 0, c_read);
			if (r == -1)
				c->c_eof = true;
			else if (r == -2)
				goto reset;
			progress |= r == 1;
		}
		r = b_flush(c, &c->c2u, 1, u_write, &gw_l4_cnt.bytes_c2u);
		if (r == -2)
			goto reset;
		progress |= r == 1;
		if (c->c_eof && !c->c2u.data && !c->u_shut && relay_fin_ok(c, 0)) {
			shutdown(c->ufd, SHUT_WR);
			c->u_shut = true;
		}
		/* upstream -> client */
		if (!c->u_eof) {
			r = b_fill(c, &c->u2c, 1, u_read);
			if (r == -1)
				c->u_eof = true;
			else if (r == -2)
				goto reset;
			progress |= r == 1;
		}
		r = b_flush(c, &c->u2c, 0, c_write, &gw_l4_cnt.bytes_u2c);
		if (r == -2)
			goto reset;
		progress |= r == 1;
		if (c->u_eof && !c->u2c.data && !c->c_shut && relay_fin_ok(c, 1)) {
			if (c->tls)
				gw_tls_shutdown(c->tls);
			shutdown(c->cfd, SHUT_WR);
			c->c_shut = true;
		}
		moved |= progress;
		if (!progress)
			break;
	}
	if (moved)
		c->last_active = gw_loop_now(c->w->loop);
	relay_splice(c);
	if (c->c_eof && c->u_eof && c->c_shut && c->u_shut) {
		gw_l4_conn_close(c, false);
		return;
	}
	relay_want(c);
	return;
reset:
	gw_l4_inc(resets, 1);
	gw_l4_conn_close(c, true);
}

void gw_l4_relay_io(struct gw_loop *loop GW_UNUSED, struct gw_io *io, uint32_t events GW_UNUSED)
{
	relay_pump(io->data);
}

/* tcp_progress() : bytes the kernel received on fd plus bytes the peer
 * acknowledged (monotonic; 0 when unknown). Read once per idle check. */
static uint64_t tcp_progress(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	return ti.tcpi_bytes_received + ti.tcpi_bytes_acked;
}

static void relay_idle(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_l4_conn *c = t->data;
	uint64_t now = gw_loop_now(loop), idle = relay_idle_ms(c);

	uint64_t seen = tcp_progress(c->cfd) + tcp_progress(c->ufd);

	/* bytes the kernel moved without us (delivery to a slow reader behind
	 * a large socket buffer, the splice's redirects) are activity too */
	if (seen != c->tcp_seen) {
		c->tcp_seen = seen;
		c->last_active = now;
	}
	/* the deadline moves lazily: re-armed here, never per byte */
	if (now - c->last_active < idle) {
		gw_loop_add_timer(loop, t, c->last_active + idle - now, relay_idle, c);
		return;
	}
	gw_l4_inc(idle_timeouts, 1);
	gw_l4_conn_close(c, false);
}

void gw_l4_relay_start(struct gw_l4_conn *c)
{
	struct gw_worker *w = c->w;

	c->state = GW_L4_RELAY;
	gw_l4_inc(relayed, 1);
	if (!c->c2u.area)
		c->c2u = (struct gw_buf){.area = gw_worker_buf_get(w), .size = GW_PROXY_BUF_SIZE};
	if (!c->u2c.area)
		c->u2c = (struct gw_buf){.area = gw_worker_buf_get(w), .size = GW_PROXY_BUF_SIZE};
	if (!c->c2u.area || !c->u2c.area) {
		gw_l4_conn_close(c, true);
		return;
	}
	gw_loop_del_fd(w->loop, &c->cio);
	gw_loop_del_fd(w->loop, &c->uio);
	if (gw_loop_add_fd(w->loop, &c->cio, c->cfd, 0, gw_l4_relay_io, c) ||
	    gw_loop_add_fd(w->loop, &c->uio, c->ufd, 0, gw_l4_relay_io, c)) {
		gw_l4_conn_close(c, true);
		return;
	}
	c->last_active = gw_loop_now(w->loop);
	gw_loop_add_timer(w->loop, &c->timer, relay_idle_ms(c), relay_idle, c);
	relay_pump(c);
}
