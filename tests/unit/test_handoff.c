/* tests/unit/test_handoff.c - proxy/handoff.c: the successor against fake
 * predecessors (valid, lying, wrong version, fds missing, packet cut, more
 * than one packet), and the predecessor's server against a real successor
 * and a bogus one. Unix sockets in a private temp folder and listening
 * sockets on 127.0.0.1 only; no descriptor may leak on any path. */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see proxy/loop.c */

#include "gwbpf/api.h"

#include <dirent.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/handoff.h"
#include "gwbpf/loop.h"
#include "gwbpf/sock.h"

static char dir[48], path[100];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gwbpf-ut-handoff.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/h.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* ---- fake predecessors ---- */

enum fake_mode {
	FAKE_GOOD,    /* two sockets, one with a lying record (wrong port) */
	FAKE_VERSION, /* version 99 */
	FAKE_MISSING, /* says 2 records, attaches 1 fd */
	FAKE_CUT,     /* a packet longer than any message */
	FAKE_MANY,    /* 70 sockets of one bind: two packets */
	FAKE_SILENT,  /* accepts, never answers */
};

struct fake {
	enum fake_mode mode;
	int lfd;       /* its Unix listener */
	int socks[70]; /* listening TCP sockets it sends */
	int n;
	pthread_t th;
};

static void fake_send(int c, struct gw_handoff_hdr *h, struct gw_handoff_rec *recs, int *fds,
		      int nfd, size_t extra)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} cm;
	static char pad[8192];
	struct iovec iov[3] = {
	    {h, sizeof(*h)},
	    {recs, h->n * sizeof(*recs)},
	    {pad, extra},
	};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};

	if (nfd) {
		struct cmsghdr *cmh;

		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
		cmh = CMSG_FIRSTHDR(&m);
		cmh->cmsg_level = SOL_SOCKET;
		cmh->cmsg_type = SCM_RIGHTS;
		cmh->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		memcpy(CMSG_DATA(cmh), fds, sizeof(int) * nfd);
	}
	assert_true(sendmsg(c, &m, MSG_NOSIGNAL) >= 0);
}

static void rec_of(struct gw_handoff_rec *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->family = AF_INET;
	r->type = SOCK_STREAM;
	r->port = port_of(fd);
	snprintf(r->address, sizeof(r->address), "127.0.0.1");
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct gw_handoff_rec recs[64];
	struct gw_handoff_hdr h;
	char buf[64];
	int c, i;

	c = accept(f->lfd, NULL, NULL);
	assert_true(c >= 0);
	assert_true(recv(c, buf, sizeof(buf), 0) >= (ssize_t)sizeof(h));
	memset(&h, 0, sizeof(h));
	h.magic = GW_HANDOFF_MAGIC;
	h.version = GW_HANDOFF_VERSION;
	h.type = GW_HANDOFF_SOCKETS;
	switch (f->mode) {
	case FAKE_GOOD:
		rec_of(&recs[0], f->socks[0]);
		rec_of(&recs[1], f->socks[1]);
		recs[1].port ^= 1; /* lies about the second one */
		h.n = 2;
		h.len = 2 * sizeof(recs[0]);
		h.flags = GW_HANDOFF_F_LAST;
		fake_send(c, &h, recs, f->socks, 2, 0);
		break;
	case FAKE_VERSION:
		h.version = 99;
		fake_send(c, &h, recs, NULL, 0, 0);
		break;
	case FAKE_MISSING:
		rec_of(&recs[0], f->socks[0]);
		rec_of(&recs[1], f->socks[1]);
		h.n = 2;
		h.len = 2 * sizeof(recs[0]);
		h.flags = GW_HANDOFF_F_LAST;
		fake_send(c, &h, recs, f->socks, 1, 0);
		break;
	case FAKE_CUT:
		h.len = 8000;
		fake_send(c, &h, recs, f->socks, 1, 8000);
		break;
	case FAKE_MANY:
		for (i = 0; i < 64; i++)
			rec_of(&recs[i], f->socks[i]);
		h.n = 64;
		h.len = 64 * sizeof(recs[0]);
		fake_send(c, &h, recs, f->socks, 64, 0);
		for (i = 0; i < 6; i++)
			rec_of(&recs[i], f->socks[64 + i]);
		h.n = 6;
		h.len = 6 * sizeof(recs[0]);
		h.flags = GW_HANDOFF_F_LAST;
		fake_send(c, &h, recs, f->socks + 64, 6, 0);
		break;
	case FAKE_SILENT:
		break;
	}
	/* wait for the successor to hang up (or say READY) */
	recv(c, buf, sizeof(buf), 0);
	close(c);
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode, int n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int i;

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->n = n;
	for (i = 0; i < n; i++) {
		f->socks[i] = gw_sock_listen("127.0.0.1", 0, SOCK_STREAM, 4);
		assert_true(f->socks[i] >= 0);
	}
	/* FAKE_MANY: one bind, as a predecessor's workers have */
	if (mode == FAKE_MANY) {
		uint16_t port = port_of(f->socks[0]);

		for (i = 1; i < n; i++) {
			close(f->socks[i]);
			f->socks[i] = gw_sock_listen("127.0.0.1", port, SOCK_STREAM, 4);
			assert_true(f->socks[i] >= 0);
		}
	}
	unlink(path);
	f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	for (int i = 0; i < f->n; i++)
		close(f->socks[i]);
}

/* ---- successor side ---- */

static void test_no_predecessor(void **state)
{
	struct gw_proxy_sock *socks = NULL;
	size_t n = 0;
	int conn = -1, fds = count_fds(), s;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)state;
	unlink(path);
	assert_int_equal(gw_handoff_fetch(path, 1000, false, &socks, &n, &conn), -ENOENT);
	/* a stale file: a socket nobody listens on any more */
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	assert_int_equal(gw_handoff_fetch(path, 1000, false, &socks, &n, &conn), -ECONNREFUSED);
	assert_int_equal(conn, -1);
	assert_int_equal(count_fds(), fds);
}

static void test_fetch_checks_each_socket(void **state)
{
	struct gw_proxy_sock *socks = NULL;
	struct fake f;
	size_t n = 0;
	int conn = -1, fds;

	(void)state;
	fds = count_fds();
	fake_start(&f, FAKE_GOOD, 2);
	assert_int_equal(gw_handoff_fetch(path, 2000, false, &socks, &n, &conn), 0);
	/* the lying record's fd is closed, the true one kept */
	assert_int_equal(n, 1);
	assert_true(conn >= 0);
	assert_string_equal(socks[0].address, "127.0.0.1");
	assert_int_equal(socks[0].port, port_of(f.socks[0]));
	assert_int_equal(socks[0].type, SOCK_STREAM);
	assert_int_equal(port_of(socks[0].fd), port_of(f.socks[0]));
	close(socks[0].fd);
	free(socks);
	close(conn);
	fake_stop(&f);
	/* the lying record's fd did not stay open */
	assert_int_equal(count_fds(), fds);
}

static void test_fetch_refuses_bad_peers(void **state)
{
	static const struct {
		enum fake_mode mode;
		int err;
	} cases[] = {
	    {FAKE_VERSION, -EPROTONOSUPPORT},
	    {FAKE_MISSING, -EPROTO},
	    {FAKE_CUT, -EPROTO},
	    {FAKE_SILENT, -ETIMEDOUT},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gw_proxy_sock *socks = NULL;
		struct fake f;
		size_t n = 0;
		int conn = -1, fds;

		fds = count_fds();
		fake_start(&f, cases[i].mode, 2);
		assert_int_equal(gw_handoff_fetch(path, 300, false, &socks, &n, &conn),
				 cases[i].err);
		assert_int_equal(conn, -1);
		assert_null(socks);
		fake_stop(&f);
		/* every fd that arrived was closed */
		assert_int_equal(count_fds(), fds);
	}
}

static void test_fetch_many_packets(void **state)
{
	struct gw_proxy_sock *socks = NULL;
	struct fake f;
	size_t n = 0, i;
	int conn = -1;

	(void)state;
	fake_start(&f, FAKE_MANY, 70);
	assert_int_equal(gw_handoff_fetch(path, 2000, false, &socks, &n, &conn), 0);
	assert_int_equal(n, 70);
	for (i = 0; i < n; i++) {
		assert_int_equal(socks[i].port, port_of(f.socks[0]));
		close(socks[i].fd);
	}
	free(socks);
	close(conn);
	fake_stop(&f);
}

/* ---- predecessor side ---- */

struct pred {
	struct gw_loop *loop;
	int lfd;     /* the listening socket it hands over */
	int pair[2]; /* a connected TCP pair it hands over as a stream */
	uint64_t cookie[2];
	int handed; /* handed_over() calls */
	struct gw_timer stop;
};

static int pred_sockets(void *arg, struct gw_proxy_sock **socks, size_t *n)
{
	struct pred *p = arg;
	struct gw_proxy_sock *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	snprintf(v->address, sizeof(v->address), "127.0.0.1");
	v->port = port_of(p->lfd);
	v->type = SOCK_STREAM;
	v->fd = dup(p->lfd);
	*socks = v;
	*n = 1;
	return 0;
}

static int pred_streams(void *arg, struct gw_proxy_stream **v, size_t *n)
{
	struct pred *p = arg;
	struct gw_proxy_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		s->fd[i] = dup(p->pair[i]);
		s->sp.cookie[i] = p->cookie[i];
		s->sp.base[i] = 1000 + i;
		s->sp.user_in[i] = 7;
		s->sp.user_out[i] = 9;
		s->sp.fwd[i] = 7;
	}
	s->sp.paired = true;
	*v = s;
	*n = 1;
	return 0;
}

static void tcp_pair(int fds[2], uint64_t cookie[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int l = gw_sock_listen("127.0.0.1", 0, SOCK_STREAM, 4);

	assert_true(l >= 0);
	a.sin_addr.s_addr = htonl(0x7f000001);
	a.sin_port = htons(port_of(l));
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fds[1] >= 0);
	close(l);
	for (int i = 0; i < 2; i++) {
		len = sizeof(cookie[i]);
		assert_int_equal(getsockopt(fds[i], SOL_SOCKET, SO_COOKIE, &cookie[i], &len), 0);
	}
}

static void pred_over(void *arg)
{
	struct pred *p = arg;

	p->handed++;
	gw_loop_stop(p->loop);
}

static const struct gw_handoff_ops pred_ops = {
    .sockets = pred_sockets,
    .streams = pred_streams,
    .handed_over = pred_over,
};

struct succ {
	int err_fetch, err_ready;
	size_t n;
	uint16_t port;
	bool bogus_first;
	struct gw_proxy_stream *streams;
	size_t n_streams;
};

static void *succ_main(void *arg)
{
	struct succ *s = arg;
	struct gw_proxy_sock *socks = NULL;
	int conn = -1;

	if (s->bogus_first) {
		/* garbage, then a header of the right size with a bad magic */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		char junk[16] = "0123456789abcdef", buf[64];

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			send(c, junk, sizeof(junk), 0);
			recv(c, buf, sizeof(buf), 0); /* REFUSED, then EOF */
		}
		close(c);
	}
	s->err_fetch = gw_handoff_fetch(path, 2000, true, &socks, &s->n, &conn);
	if (!s->err_fetch) {
		s->port = socks[0].port;
		for (size_t i = 0; i < s->n; i++)
			close(socks[i].fd);
		free(socks);
		s->err_ready = gw_handoff_ready(conn, 2000, &s->streams, &s->n_streams);
	}
	return NULL;
}

static void pred_timeout(struct gw_loop *loop, struct gw_timer *t)
{
	gw_loop_stop(loop);
}

static void run_takeover(bool bogus_first)
{
	struct pred p = {0};
	struct succ s = {.bogus_first = bogus_first};
	struct gw_handoff_server *srv;
	struct stat st;
	pthread_t th;
	int fds = count_fds();

	p.loop = gw_loop_new();
	assert_non_null(p.loop);
	p.lfd = gw_sock_listen("127.0.0.1", 0, SOCK_STREAM, 4);
	assert_true(p.lfd >= 0);
	tcp_pair(p.pair, p.cookie);
	/* a stale file there is replaced */
	close(open(path, O_CREAT | O_WRONLY, 0644));
	srv = gw_handoff_server_new(p.loop, path, &pred_ops, &p);
	assert_non_null(srv);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pthread_create(&th, NULL, succ_main, &s), 0);
	gw_loop_add_timer(p.loop, &p.stop, 5000, pred_timeout, &p);
	gw_loop_run(p.loop);
	gw_loop_del_timer(p.loop, &p.stop);
	pthread_join(th, NULL);
	assert_int_equal(p.handed, 1);
	assert_int_equal(s.err_fetch, 0);
	assert_int_equal(s.err_ready, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.port, port_of(p.lfd));
	/* the stream: both sockets, checked by cookie, with their state */
	assert_int_equal(s.n_streams, 1);
	for (int i = 0; i < 2; i++) {
		uint64_t ck = 0;
		socklen_t cl = sizeof(ck);

		assert_int_equal(getsockopt(s.streams[0].fd[i], SOL_SOCKET, SO_COOKIE, &ck, &cl),
				 0);
		assert_true(ck == p.cookie[i]);
		assert_true(s.streams[0].sp.cookie[i] == p.cookie[i]);
		assert_true(s.streams[0].sp.base[i] == 1000u + (unsigned int)i);
		assert_true(s.streams[0].sp.fwd[i] == 7);
		assert_int_equal(s.streams[0].sp.fd[i], s.streams[0].fd[i]);
		close(s.streams[0].fd[i]);
		close(p.pair[i]);
	}
	assert_true(s.streams[0].sp.paired);
	free(s.streams);
	gw_handoff_server_free(srv);
	/* our file, removed */
	assert_int_equal(stat(path, &st), -1);
	close(p.lfd);
	gw_loop_free(p.loop);
	assert_int_equal(count_fds(), fds);
}

static void test_server_takeover(void **state)
{
	(void)state;
	run_takeover(false);
}

static void test_server_bogus_peer_first(void **state)
{
	(void)state;
	run_takeover(true);
}

/* ---- streams kept for a predecessor (handoff_stream.c), splice off:
 * the relay of stray bytes, the EOFs, a reset, the export ---- */

/* two TCP connections: client c <-> gateway g0, gateway g1 <-> backend b */
struct two {
	int c, g0, g1, b;
};

static void two_open(struct two *t)
{
	int a[2], d[2];
	uint64_t ck[2];

	tcp_pair(a, ck);
	tcp_pair(d, ck);
	t->c = a[0];
	t->g0 = a[1];
	t->g1 = d[0];
	t->b = d[1];
}

static void set_adopt(struct gw_handoff_streams *hs, struct two *t)
{
	struct gw_proxy_stream st;

	memset(&st, 0, sizeof(st));
	st.fd[0] = t->g0;
	st.fd[1] = t->g1;
	assert_int_equal(gw_handoff_streams_adopt(hs, &st, 1), 1);
}

/* spin() : runs loop until cond(arg) or 2 s */
static void spin(struct gw_loop *loop, bool (*cond)(void *), void *arg)
{
	uint64_t end = gw_now_ms() + 2000;

	while (!cond(arg) && gw_now_ms() < end)
		gw_loop_run_once(loop, 10);
	assert_true(cond(arg));
}

static bool readable(void *arg)
{
	struct pollfd p = {.fd = *(int *)arg, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static bool set_empty(void *arg)
{
	return gw_handoff_streams_count(arg) == 0;
}

static void test_streams_relay_and_fins(void **state)
{
	int fds = count_fds();
	struct gw_loop *loop = gw_loop_new();
	struct gw_handoff_streams *hs;
	struct two t;
	char buf[64];

	(void)state;
	assert_non_null(loop);
	hs = gw_handoff_streams_new(loop);
	assert_non_null(hs);
	two_open(&t);
	set_adopt(hs, &t);
	/* bytes passed up (no splice here: all of them) are relayed in order */
	assert_int_equal(send(t.c, "hello", 5, 0), 5);
	spin(loop, readable, &t.b);
	assert_int_equal(recv(t.b, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(send(t.b, "world!", 6, 0), 6);
	spin(loop, readable, &t.c);
	assert_int_equal(recv(t.c, buf, sizeof(buf), 0), 6);
	/* the client's FIN reaches the backend; the stream stays half open */
	shutdown(t.c, SHUT_WR);
	spin(loop, readable, &t.b);
	assert_int_equal(recv(t.b, buf, sizeof(buf), 0), 0);
	assert_int_equal(gw_handoff_streams_count(hs), 1);
	assert_int_equal(send(t.b, "late", 4, 0), 4);
	spin(loop, readable, &t.c);
	assert_int_equal(recv(t.c, buf, sizeof(buf), 0), 4);
	/* the backend's FIN ends it: both ends closed, nothing kept */
	shutdown(t.b, SHUT_WR);
	spin(loop, readable, &t.c);
	assert_int_equal(recv(t.c, buf, sizeof(buf), 0), 0);
	spin(loop, set_empty, hs);
	close(t.c);
	close(t.b);
	gw_handoff_streams_free(hs);
	gw_loop_free(loop);
	assert_int_equal(count_fds(), fds);
}

static void test_streams_reset_and_export(void **state)
{
	int fds = count_fds();
	struct gw_loop *loop = gw_loop_new();
	struct gw_handoff_streams *hs;
	struct gw_proxy_stream *v = NULL;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct two t, u;
	char buf[16];
	size_t n = 0;

	(void)state;
	assert_non_null(loop);
	hs = gw_handoff_streams_new(loop);
	assert_non_null(hs);
	two_open(&t);
	two_open(&u);
	set_adopt(hs, &t);
	set_adopt(hs, &u);
	/* a reset from the client is passed on to the backend */
	setsockopt(t.c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(t.c);
	spin(loop, readable, &t.b);
	assert_int_equal(recv(t.b, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	close(t.b);
	assert_int_equal(gw_handoff_streams_count(hs), 1);
	/* the other is exported: forgotten here, still flowing through the dups */
	assert_int_equal(gw_handoff_streams_export(hs, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(gw_handoff_streams_count(hs), 0);
	assert_int_equal(send(u.c, "x", 1, 0), 1);
	assert_int_equal(recv(v[0].fd[0], buf, sizeof(buf), 0), 1);
	close(v[0].fd[0]);
	close(v[0].fd[1]);
	free(v);
	close(u.c);
	close(u.b);
	gw_handoff_streams_free(hs);
	gw_loop_free(loop);
	assert_int_equal(count_fds(), fds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_no_predecessor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fetch_checks_each_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fetch_refuses_bad_peers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fetch_many_packets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_takeover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_bogus_peer_first, setup, teardown),
	    cmocka_unit_test(test_streams_relay_and_fins),
	    cmocka_unit_test(test_streams_reset_and_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
