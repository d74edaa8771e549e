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
 * gw_l4_relay_start() is the one place a connected pair starts relaying: it
 * is where the kernel splice (sk_skb, userspace/dataplane/splice.c) takes
 * over when the data plane offers it; this file is the fallback.
 */
#include "gwbpf/api.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/log.h"
#include "gwbpf/loop.h"
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
static int b_fill(struct gw_l4_conn *c, struct gw_buf *b,
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
		return 1;
	}
	if (n == 0)
		return -1;
	return n == -EAGAIN ? 0 : -2;
}

/* b_flush() : writes what b holds. 1 = progress, 0 = nothing, -2 = error */
static int b_flush(struct gw_l4_conn *c, struct gw_buf *b,
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
		atomic_fetch_add_explicit(cnt, (uint64_t)n, memory_order_relaxed);
		return 1;
	}
	return n == -EAGAIN ? 0 : -2;
}

static void relay_pump(struct gw_l4_conn *c);

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
			r = b_fill(c, &c->c2u, c_read);
			if (r == -1)
				c->c_eof = true;
			else if (r == -2)
				goto reset;
			progress |= r == 1;
		}
		r = b_flush(c, &c->c2u, u_write, &gw_l4_cnt.bytes_c2u);
		if (r == -2)
			goto reset;
		progress |= r == 1;
		if (c->c_eof && !c->c2u.data && !c->u_shut) {
			shutdown(c->ufd, SHUT_WR);
			c->u_shut = true;
		}
		/* upstream -> client */
		if (!c->u_eof) {
			r = b_fill(c, &c->u2c, u_read);
			if (r == -1)
				c->u_eof = true;
			else if (r == -2)
				goto reset;
			progress |= r == 1;
		}
		r = b_flush(c, &c->u2c, c_write, &gw_l4_cnt.bytes_u2c);
		if (r == -2)
			goto reset;
		progress |= r == 1;
		if (c->u_eof && !c->u2c.data && !c->c_shut) {
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

static void relay_idle(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_l4_conn *c = t->data;
	uint64_t now = gw_loop_now(loop), idle = relay_idle_ms(c);

	/* the deadline moves lazily: re-armed here, never per byte */
	if (now - c->last_active < idle) {
		gw_loop_add_timer(loop, t, c->last_active + idle - now, relay_idle, c);
		return;
	}
	gw_l4_inc(idle_timeouts, 1);
	gw_l4_conn_close(c, false);
}

/* relay_splice() : the kernel splice call site. Returns 0 when the kernel
 * relays the pair from now on (this connection then only waits for both
 * ends to close), or -EOPNOTSUPP/-errno to relay in userspace. Only plain
 * streams qualify (no TLS termination), and only once nothing is buffered
 * in userspace. The data plane's splice API has not landed yet: always
 * refuses (docs/l4.md). */
static int relay_splice(struct gw_l4_conn *c)
{
	if (c->tls || c->c2u.data || c->u2c.data)
		return -EINVAL;
	return -EOPNOTSUPP;
}

void gw_l4_relay_start(struct gw_l4_conn *c)
{
	struct gw_worker *w = c->w;
	int err;

	c->state = GW_L4_RELAY;
	gw_l4_inc(relayed, 1);
	if (!c->c2u.area)
		c->c2u = (struct gw_buf){ .area = gw_worker_buf_get(w), .size = GW_PROXY_BUF_SIZE };
	if (!c->u2c.area)
		c->u2c = (struct gw_buf){ .area = gw_worker_buf_get(w), .size = GW_PROXY_BUF_SIZE };
	if (!c->c2u.area || !c->u2c.area) {
		gw_l4_conn_close(c, true);
		return;
	}
	err = relay_splice(c);
	if (!err) {
		gw_l4_inc(splice_started, 1);
	} else if (err != -EOPNOTSUPP && err != -EINVAL) {
		gw_l4_inc(splice_fallbacks, 1);
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
