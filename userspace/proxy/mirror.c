/* proxy/mirror.c - request mirrors (HTTPRoute RequestMirror): fire and
 * forget. A copy of a bodyless request head goes to one endpoint of the
 * mirror cluster on its own upstream connection; the answer is read and
 * dropped, and a mirror that takes longer than GW_MIRROR_TIMEOUT_MS is cut.
 * The client's request never waits for it. Mirrors belong to the worker
 * (w->mirrors), not to the connection that started them.
 */
#include "gwbpf/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gwbpf/ir.h"
#include "gwbpf/loop.h"
#include "gwbpf/upstream.h"

#include "proxy-int.h"

#define GW_MIRROR_TIMEOUT_MS 10000

/* a copy of a request sent to a mirror backend; its answer is read and
 * dropped. The copy says "Connection: close" so the backend ends it. */
struct gw_mirror {
	struct gw_worker *w;
	struct gw_upconn *uc;
	struct gw_timer timer;
	char *buf;
	size_t len, off;
	struct gw_mirror *next, *prev;
};

static void mirror_free(struct gw_mirror *m)
{
	struct gw_worker *w = m->w;

	gw_loop_del_timer(w->loop, &m->timer);
	gw_upstream_close(w->up, m->uc);
	if (m->prev)
		m->prev->next = m->next;
	else
		w->mirrors = m->next;
	if (m->next)
		m->next->prev = m->prev;
	free(m->buf);
	free(m);
}

static void mirror_io(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_mirror *m = io->data;
	char sink[4096];
	ssize_t n;

	if (!m->uc->connected) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(m->uc->fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1 || err) {
			mirror_free(m);
			return;
		}
		m->uc->connected = true;
	}
	if (m->off < m->len) {
		n = send(m->uc->fd, m->buf + m->off, m->len - m->off, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN) {
			mirror_free(m);
			return;
		}
		if (n > 0)
			m->off += (size_t)n;
		if (m->off == m->len)
			gw_loop_mod_fd(loop, io, GW_IO_READ);
		return;
	}
	n = recv(m->uc->fd, sink, sizeof(sink), 0);
	if (n == 0 || (n == -1 && errno != EAGAIN))
		mirror_free(m);
}

static void mirror_timeout(struct gw_loop *loop, struct gw_timer *t)
{
	mirror_free(t->data);
}

void gw_mirror_start(struct gw_worker *w, const struct gw_ir *ir, int32_t cluster,
		     const char *head, size_t len)
{
	struct sockaddr_storage ss;
	struct gw_mirror *m;
	uint64_t tried = 0;
	socklen_t sl;
	int idx = gw_upstream_pick(w->up, ir, cluster, &tried);

	/* mirrors are plaintext only: never send a copy in clear to a TLS backend */
	if (idx < 0 || len < 4 || ir->clusters[cluster].tls ||
	    gw_upstream_addr(&ir->clusters[cluster].endpoints[idx], &ss, &sl))
		return;
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->w = w;
	m->buf = malloc(len + 19);
	m->uc = gw_upstream_get(w->up, &ss, sl);
	if (!m->buf || !m->uc) {
		free(m->buf);
		if (m->uc)
			gw_upstream_close(w->up, m->uc);
		free(m);
		return;
	}
	memcpy(m->buf, head, len - 2);
	memcpy(m->buf + len - 2, "Connection: close\r\n\r\n", 21);
	m->len = len + 19;
	m->next = w->mirrors;
	if (w->mirrors)
		w->mirrors->prev = m;
	w->mirrors = m;
	if (gw_loop_add_fd(w->loop, &m->uc->io, m->uc->fd, GW_IO_WRITE, mirror_io, m)) {
		mirror_free(m);
		return;
	}
	gw_loop_add_timer(w->loop, &m->timer, GW_MIRROR_TIMEOUT_MS, mirror_timeout, m);
}

void gw_mirror_close_all(struct gw_worker *w)
{
	struct gw_mirror *m, *next;

	/* each mirror_free() unlinks only itself: walk with the next pointer saved */
	for (m = w->mirrors; m; m = next) {
		next = m->next;
		mirror_free(m);
	}
}
