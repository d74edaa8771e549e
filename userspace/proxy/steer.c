/* proxy/steer.c - the proxy's side of kernel L7 forwarding (gwbpf/steer.h).
 *
 * Every call here is a map syscall at most, made per request only on
 * connections forwarding may touch (loopback clients with the feature on):
 * the busy check before a request the proxy serves, and the ack when it has
 * answered everything. Nothing is allocated. The one lock guards the table of
 * connections by client key, taken when a connection starts or ends and when
 * a loan dies, never per request.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "gwbpf/log.h"
#include "gwbpf/steer.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static _Atomic(const struct gw_steer_maps *) gw_steer_g;

/* connections by client key, for gw_steer_kill_client(): touched when a
 * connection starts and ends and when a loan dies, never per request */
#define GW_STEER_BUCKETS 4096
static pthread_mutex_t gw_steer_mu = PTHREAD_MUTEX_INITIALIZER;
static struct gw_steer_cs *gw_steer_tab[GW_STEER_BUCKETS];

static uint32_t gw_steer_hash(const struct gw_sock_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % GW_STEER_BUCKETS;
}

static void gw_steer_register(struct gw_steer_cs *cs)
{
	uint32_t b = gw_steer_hash(&cs->key);

	pthread_mutex_lock(&gw_steer_mu);
	cs->hnext = gw_steer_tab[b];
	gw_steer_tab[b] = cs;
	cs->registered = true;
	pthread_mutex_unlock(&gw_steer_mu);
}

static void gw_steer_unregister(struct gw_steer_cs *cs)
{
	struct gw_steer_cs **pp;

	if (!cs->registered)
		return;
	pthread_mutex_lock(&gw_steer_mu);
	for (pp = &gw_steer_tab[gw_steer_hash(&cs->key)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == cs) {
			*pp = cs->hnext;
			break;
		}
	}
	cs->registered = false;
	pthread_mutex_unlock(&gw_steer_mu);
}

void gw_steer_kill_client(const struct gw_sock_key *client)
{
	struct gw_sock_key mine = *client;
	struct gw_steer_cs *cs;

	/* cs->key is the client socket's key, as the kernel stores it */
	pthread_mutex_lock(&gw_steer_mu);
	for (cs = gw_steer_tab[gw_steer_hash(&mine)]; cs; cs = cs->hnext) {
		if (!memcmp(&cs->key, &mine, sizeof(mine))) {
			/* the fd stays open until the worker unregisters it */
			shutdown(cs->fd, SHUT_RDWR);
			break;
		}
	}
	pthread_mutex_unlock(&gw_steer_mu);
}

void gw_steer_set(const struct gw_steer_maps *m)
{
	atomic_store(&gw_steer_g, m);
}

bool gw_steer_enabled(void)
{
	return atomic_load_explicit(&gw_steer_g, memory_order_relaxed) != NULL;
}

/* gw_steer_addr() : a sockaddr into key form; returns the GW_AF_* family or
 * 0 for anything else. IPv4-mapped IPv6 folds to IPv4 as in BPF. */
static uint16_t gw_steer_addr(const struct sockaddr_storage *ss, uint32_t *ip, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		ip[0] = a->sin_addr.s_addr;
		*port = ntohs(a->sin_port);
		return GW_AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		*port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			memcpy(&ip[0], &a->sin6_addr.s6_addr[12], 4);
			return GW_AF_INET;
		}
		memcpy(ip, &a->sin6_addr, 16);
		return GW_AF_INET6;
	}
	return 0;
}

/* gw_steer_key_of() : gw_steer_sock_key() with the peer address given (NULL:
 * asked of the socket, which fails once the peer has reset it) */
static int gw_steer_key_of(int fd, const struct sockaddr_storage *peer, bool mirror,
			   struct gw_sock_key *k)
{
	struct sockaddr_storage l = {0}, r = {0};
	socklen_t ll = sizeof(l), rl = sizeof(r), cl = sizeof(k->netns);
	uint16_t lp = 0, rp = 0, fl, fr;

	memset(k, 0, sizeof(*k));
	if (getsockname(fd, (struct sockaddr *)&l, &ll))
		return -errno;
	if (peer)
		r = *peer;
	else if (getpeername(fd, (struct sockaddr *)&r, &rl))
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &k->netns, &cl))
		return -errno;
	fl = gw_steer_addr(&l, mirror ? k->remote_ip : k->local_ip, &lp);
	fr = gw_steer_addr(&r, mirror ? k->local_ip : k->remote_ip, &rp);
	if (!fl || fl != fr)
		return -EAFNOSUPPORT;
	k->family = fl;
	k->local_port = mirror ? rp : lp;
	k->remote_port = mirror ? lp : rp;
	return 0;
}

int gw_steer_sock_key(int fd, bool mirror, struct gw_sock_key *k)
{
	return gw_steer_key_of(fd, NULL, mirror, k);
}

static bool gw_steer_key_loopback(const struct gw_sock_key *k)
{
	if (k->family == GW_AF_INET)
		return (ntohl(k->local_ip[0]) >> 24) == 127 &&
		       (ntohl(k->remote_ip[0]) >> 24) == 127;
	return k->local_ip[0] == 0 && k->local_ip[1] == 0 && k->local_ip[2] == 0 &&
	       k->local_ip[3] == htonl(1) && k->remote_ip[3] == htonl(1) && k->remote_ip[0] == 0;
}

void gw_steer_cs_init(struct gw_steer_cs *cs, int fd, const struct sockaddr_storage *peer)
{
	memset(cs, 0, sizeof(*cs));
	if (!gw_steer_enabled())
		return;
	/* sk_msg only sees local clients: a remote one is never forwarded */
	if (gw_steer_key_of(fd, peer, true, &cs->key) || !gw_steer_key_loopback(&cs->key))
		return;
	cs->on = true;
	cs->fd = fd;
	gw_steer_register(cs);
}

void gw_steer_cs_idle(struct gw_steer_cs *cs)
{
	const struct gw_steer_maps *m;

	if (!cs->on || cs->frozen || cs->rd == cs->acked)
		return;
	m = atomic_load_explicit(&gw_steer_g, memory_order_relaxed);
	if (!m)
		return;
	/* a failed ack only means the kernel keeps giving this connection to
	 * the proxy: safe, and retried at the next idle point */
	if (bpf_map_update_elem(m->ack_fd, &cs->key, &cs->rd, BPF_ANY))
		return;
	cs->acked = cs->rd;
}

void gw_steer_cs_freeze(struct gw_steer_cs *cs)
{
	const struct gw_steer_maps *m;
	uint64_t never = UINT64_MAX;

	if (!cs->on || cs->frozen)
		return;
	m = atomic_load_explicit(&gw_steer_g, memory_order_relaxed);
	/* a failed update leaves the kernel forwarding: busy() still
	 * follows whatever it forwarded, only a request forwarded in the
	 * instant before the close is at risk */
	if (m && !bpf_map_update_elem(m->ack_fd, &cs->key, &never, BPF_ANY))
		cs->frozen = true;
}

/* gw_steer_loan_fate() : what became of the loan a connection's in-flight
 * response travels on: 1 still busy, GW_STEER_TAIL over with its tail
 * handed back (unread), 0 done (returned, maybe lent again), -1 died
 * mid-response (the backend or the client went away) */
static int gw_steer_loan_fate(const struct gw_steer_maps *m, const struct gw_steer_conn *sc)
{
	uint64_t w;

	if (!sc->inflight || sc->inflight > GW_LOAN_SLOTS)
		return 0;
	w = atomic_load((_Atomic uint64_t *)&m->loan[sc->inflight - 1].state);
	if (w == sc->seq)
		return 1;
	if (GW_LOAN_SEQ(w) == GW_LOAN_SEQ(sc->seq) &&
	    (GW_LOAN_ST(w) == GW_LOAN_DEAD || GW_LOAN_ST(w) == GW_LOAN_EMPTY))
		return -1;
	return 0;
}

/* gw_steer_want() : asks the kernel to hand the rest of the in-flight
 * response back to us (once per response; a failed update only leaves the
 * settle wait, below), and remembers its slot: the kernel ends `inflight`
 * at a handed-back end as at any other */
static void gw_steer_want(const struct gw_steer_maps *m, struct gw_steer_cs *cs,
			  const struct gw_steer_conn *sc)
{
	if (cs->want_seq == sc->seq)
		return;
	if (!bpf_map_update_elem(m->want_fd, &cs->key, &sc->seq, BPF_ANY)) {
		cs->want_seq = sc->seq;
		cs->want_slot = sc->inflight;
	}
}

/* gw_steer_tail_state() : the state word of the slot asked about, when its
 * response ended handed back and the tail is still ours to read (TAIL, or
 * TAIL_READ while we read); NULL otherwise (the ask came too late, or the
 * tail is read: the record is dropped) */
static _Atomic uint64_t *gw_steer_tail_state(const struct gw_steer_maps *m,
					     struct gw_steer_cs *cs)
{
	_Atomic uint64_t *st;
	uint64_t w;

	if (!cs->want_slot || cs->want_slot > GW_LOAN_SLOTS)
		return NULL;
	st = (_Atomic uint64_t *)&m->loan[cs->want_slot - 1].state;
	w = atomic_load(st);
	if (GW_LOAN_SEQ(w) == GW_LOAN_SEQ(cs->want_seq) &&
	    (GW_LOAN_ST(w) == GW_LOAN_TAIL || GW_LOAN_ST(w) == GW_LOAN_TAIL_READ))
		return st;
	if (w == cs->want_seq)
		return NULL; /* still in flight */
	cs->want_slot = 0;
	return NULL;
}

/* gw_steer_settle_ms() : how long to settle: longer when what the proxy is
 * about to do is end the connection after the client's FIN (nothing left to
 * read but the EOF: peeking returns 0). A late close costs nothing, a late
 * response to a pipelined request costs latency, so only the FIN waits long. */
static uint64_t gw_steer_settle_ms(const struct gw_steer_cs *cs)
{
	char c;

	if (recv(cs->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		return GW_STEER_SETTLE_FIN_MS;
	return GW_STEER_SETTLE_MS;
}

int gw_steer_cs_busy(struct gw_steer_cs *cs, uint64_t now_ms)
{
	const struct gw_steer_maps *m;
	struct gw_steer_conn sc;
	int fate;

	if (!cs->on)
		return 0;
	m = atomic_load_explicit(&gw_steer_g, memory_order_relaxed);
	if (m && gw_steer_tail_state(m, cs)) {
		/* the response's last bytes wait at the daemon's end: ours
		 * follow them once gw_steer_cs_tail() has read them all,
		 * which proves every byte before them was queued */
		cs->wait_start_ms = 0;
		return GW_STEER_TAIL;
	}
	if (!m || bpf_map_lookup_elem(m->conn_fd, &cs->key, &sc)) {
		cs->wait_start_ms = 0;
		return 0;
	}
	if (sc.flags & GW_SC_F_UNFRAMED)
		return -EPIPE;
	fate = gw_steer_loan_fate(m, &sc);
	if (fate < 0)
		return -EPIPE;
	if (fate == 1)
		gw_steer_want(m, cs, &sc);
	if (!fate && sc.kreq != cs->kreq_settled) {
		/* the kernel served a request since we last acted: its last
		 * bytes may still be on their way into the client socket, and
		 * our response or FIN must not overtake them (seen once in
		 * test_bpf_steer's half-close case): settle first */
		if (!cs->settle_ms) {
			cs->settle_ms = now_ms ? now_ms : 1;
			return 1;
		}
		if (now_ms - cs->settle_ms < gw_steer_settle_ms(cs))
			return 1;
		cs->kreq_settled = sc.kreq;
		cs->settle_ms = 0;
	}
	if (!fate) {
		cs->wait_start_ms = 0;
		return 0;
	}
	if (!cs->wait_start_ms)
		cs->wait_start_ms = now_ms ? now_ms : 1;
	else if (now_ms - cs->wait_start_ms > GW_STEER_WAIT_MS)
		return -EPIPE;
	return 1;
}

ssize_t gw_steer_cs_tail(struct gw_steer_cs *cs, void *buf, size_t room, uint64_t now_ms)
{
	const struct gw_steer_maps *m;
	struct gw_steer_conn sc;
	_Atomic uint64_t *st;
	uint64_t tail, base;
	uint32_t idx;
	ssize_t n = 0;
	int fd;

	m = atomic_load_explicit(&gw_steer_g, memory_order_relaxed);
	st = cs->on && m ? gw_steer_tail_state(m, cs) : NULL;
	if (!st)
		return -EPIPE;
	idx = cs->want_slot - 1;
	base = cs->want_seq & ~0xffull;
	/* TAIL -> TAIL_READ while we use the daemon's socket: the daemon
	 * closes only loans that are DEAD, so it cannot close it under us. A
	 * client gone meanwhile made it DEAD: nothing to read for. */
	tail = base | GW_LOAN_TAIL;
	if (!atomic_compare_exchange_strong(st, &tail, base | GW_LOAN_TAIL_READ))
		return -EPIPE;
	if (!cs->tail_on) {
		if (bpf_map_lookup_elem(m->tail_fd, &idx, &cs->tail_left))
			goto fail;
		cs->tail_on = true;
		cs->wait_start_ms = now_ms ? now_ms : 1;
	}
	fd = atomic_load_explicit(&m->loan_fd[idx], memory_order_relaxed);
	if (cs->tail_left && room) {
		/* never past the tail: what follows is not this response's */
		n = recv(fd, buf, GW_MIN(room, (size_t)cs->tail_left), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			goto fail; /* the backend went before the whole tail */
		if (n < 0) {
			/* the kernel ends the response at its last write's
			 * verdict; those bytes are queued on our end just after */
			n = 0;
			if (now_ms - cs->wait_start_ms > GW_STEER_WAIT_MS)
				goto fail;
		}
		cs->tail_left -= (uint64_t)n;
	}
	if (cs->tail_left) {
		atomic_store(st, base | GW_LOAN_TAIL);
		return n;
	}
	/* the loan goes back to the kernel */
	atomic_store(st, base | GW_LOAN_FREE);
	bpf_map_delete_elem(m->want_fd, &cs->key);
	cs->want_slot = 0;
	cs->tail_on = false;
	cs->wait_start_ms = 0;
	/* what the kernel answered on this connection is all out of the
	 * kernel's hands now: no settle wait for it (it forwards nothing
	 * while we owe answers, so kreq is final until we ack) */
	if (!bpf_map_lookup_elem(m->conn_fd, &cs->key, &sc))
		cs->kreq_settled = sc.kreq;
	return n;
fail:
	atomic_store(st, base | GW_LOAN_DEAD); /* the daemon closes it */
	cs->want_slot = 0;
	cs->tail_on = false;
	return -EPIPE;
}

bool gw_steer_cs_active(struct gw_steer_cs *cs)
{
	const struct gw_steer_maps *m;
	struct gw_steer_conn sc;
	bool active;

	if (!cs->on)
		return false;
	m = atomic_load_explicit(&gw_steer_g, memory_order_relaxed);
	if (!m || bpf_map_lookup_elem(m->conn_fd, &cs->key, &sc))
		return false;
	if (sc.flags & GW_SC_F_UNFRAMED)
		return false;
	active = gw_steer_loan_fate(m, &sc) > 0 || sc.kreq != cs->kreq_seen;
	cs->kreq_seen = sc.kreq;
	return active;
}

void gw_steer_cs_end(struct gw_steer_cs *cs)
{
	const struct gw_steer_maps *m;
	struct gw_steer_conn sc;

	gw_steer_unregister(cs);
	if (!cs->on)
		return;
	cs->on = false;
	m = atomic_load_explicit(&gw_steer_g, memory_order_relaxed);
	if (!m)
		return;
	if (!bpf_map_lookup_elem(m->conn_fd, &cs->key, &sc) && sc.inflight &&
	    sc.inflight <= GW_LOAN_SLOTS) {
		/* the response will never be read: the loan cannot be returned
		 * clean, the daemon closes it (the seq keeps us from killing a
		 * later borrower's loan) */
		_Atomic uint64_t *st = (_Atomic uint64_t *)&m->loan[sc.inflight - 1].state;
		uint64_t want = sc.seq;

		atomic_compare_exchange_strong(st, &want, (sc.seq & ~0xffull) | GW_LOAN_DEAD);
	}
	if (cs->want_slot && cs->want_slot <= GW_LOAN_SLOTS) {
		/* a tail handed back and not read: the daemon closes that loan */
		_Atomic uint64_t *st = (_Atomic uint64_t *)&m->loan[cs->want_slot - 1].state;
		uint64_t tail = (cs->want_seq & ~0xffull) | GW_LOAN_TAIL;

		atomic_compare_exchange_strong(st, &tail, (cs->want_seq & ~0xffull) | GW_LOAN_DEAD);
	}
	bpf_map_delete_elem(m->conn_fd, &cs->key);
	bpf_map_delete_elem(m->ack_fd, &cs->key);
	bpf_map_delete_elem(m->want_fd, &cs->key);
}
