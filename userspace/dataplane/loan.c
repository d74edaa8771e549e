/* dataplane/loan.c - the pool of backend connections lent to sk_msg for L7
 * forwarding (GW_DP_F_STEER_FWD; docs/bpf.md "L7 forwarding").
 *
 * For every cluster a route table entry may send to the kernel, the daemon
 * opens a few connections to each of its loopback endpoints, finds the
 * backend's accepted end of each in the bypass sockhash (the backend runs in
 * the cgroup, so sockops put it there), and publishes it as a slot of gw_loan
 * plus an entry in gw_loan_dir_v2[cluster]. sk_msg takes a FREE slot by
 * compare-and-swap, delivers a request into that socket, frames the response
 * and sets the slot FREE again. The daemon never writes these connections
 * and reads them only for a response's tail the kernel handed back (TAIL:
 * the proxy worker serving that client reads it, proxy/steer.c): it holds
 * them open, closes the ones that died (DEAD, or a backend that closed or
 * spoke while idle) and opens replacements, all in the daemon's main thread
 * (gw_dataplane_loan_tick()).
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gwbpf/dataplane.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/log.h"
#include "gwbpf/sock.h"
#include "gwbpf/steer.h"
#include "dataplane-int.h"
#include "sk_msg.skel.h"

/* connections per endpoint: GW_LOAN_PER_DIR shared by a cluster's endpoints.
 * A request finds no idle loan when more of a cluster's requests are in
 * flight at once than it has loans; it then goes to the proxy (counted). */
#define GW_LOAN_PER_EP GW_LOAN_PER_DIR

struct gw_loan_conn {
	int fd;	     /* -1 = slot unused by this daemon */
	bool retire; /* close once the kernel gives it back */
	int32_t cluster;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct gw_sock_key key; /* backend's accepted socket */
};

struct gw_loan_pool {
	int loan_fd, key_fd, dir_fd;
	struct gw_loan_slot *slots; /* mmapped gw_loan */
	struct gw_loan_conn conn[GW_LOAN_SLOTS];
	_Atomic int fd[GW_LOAN_SLOTS]; /* conn[i].fd, for the proxy's workers */
	uint64_t epoch;		       /* route table epoch of the live directory */
	uint32_t n_dir;		       /* directory entries written (clusters) */
	struct gw_steer_maps maps;     /* for the proxy */
};

static _Atomic uint64_t *gw_loan_state(struct gw_loan_pool *lp, uint32_t i)
{
	return (_Atomic uint64_t *)&lp->slots[i].state;
}

/* gw_loan_purge() : empties a hash map keyed by struct gw_sock_key (what a
 * previous daemon left: its connections died with it) */
static void gw_loan_purge(int fd)
{
	struct gw_sock_key k;

	for (int n = 0; n < 2 * GW_STEER_CONNS && !bpf_map_get_next_key(fd, NULL, &k); n++)
		bpf_map_delete_elem(fd, &k);
}

int gw_dp_loan_open(struct gw_dataplane *dp)
{
	struct gw_loan_pool *lp;
	void *mem;

	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return -ENOMEM;
	for (uint32_t i = 0; i < GW_LOAN_SLOTS; i++) {
		lp->conn[i].fd = -1;
		atomic_store(&lp->fd[i], -1);
	}
	lp->loan_fd = bpf_map__fd(dp->skmsg->maps.gw_loan);
	lp->key_fd = bpf_map__fd(dp->skmsg->maps.gw_loan_key);
	lp->dir_fd = bpf_map__fd(dp->skmsg->maps.gw_loan_dir_v2);
	mem = mmap(NULL, sizeof(struct gw_loan_slot) * GW_LOAN_SLOTS, PROT_READ | PROT_WRITE,
		   MAP_SHARED, lp->loan_fd, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		pr_warn("dataplane: mmap of gw_loan: %s", strerror(-err));
		free(lp);
		return err;
	}
	lp->slots = mem;
	/* a previous daemon's loans died with its sockets: start empty */
	for (uint32_t i = 0; i < GW_LOAN_SLOTS; i++) {
		uint64_t w = atomic_load(gw_loan_state(lp, i));

		atomic_store(gw_loan_state(lp, i), w & ~0xffull);
	}
	for (uint32_t c = 0; c < GW_LOAN_CLUSTERS; c++) {
		struct gw_loan_dir d = {};

		bpf_map_update_elem(lp->dir_fd, &c, &d, BPF_ANY);
	}
	lp->maps.conn_fd = bpf_map__fd(dp->skmsg->maps.gw_steer_conn);
	lp->maps.ack_fd = bpf_map__fd(dp->skmsg->maps.gw_steer_ack);
	lp->maps.want_fd = bpf_map__fd(dp->skmsg->maps.gw_steer_want);
	lp->maps.tail_fd = bpf_map__fd(dp->skmsg->maps.gw_loan_tail);
	gw_loan_purge(lp->key_fd);
	gw_loan_purge(lp->maps.conn_fd);
	gw_loan_purge(lp->maps.ack_fd);
	gw_loan_purge(lp->maps.want_fd);
	lp->maps.loan = lp->slots;
	lp->maps.loan_fd = lp->fd;
	dp->loan = lp;
	return 0;
}

/* gw_loan_drop() : closes slot i's connection (its state must be EMPTY) */
static void gw_loan_drop(struct gw_loan_pool *lp, uint32_t i)
{
	struct gw_loan_conn *c = &lp->conn[i];

	bpf_map_delete_elem(lp->key_fd, &c->key);
	atomic_store(&lp->fd[i], -1);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->retire = false;
}

void gw_dp_loan_close(struct gw_dataplane *dp)
{
	struct gw_loan_pool *lp = dp ? dp->loan : NULL;

	if (!lp)
		return;
	/* the kernel stops taking loans before they go */
	gw_dp_config_update(dp->config_fd, 0, GW_CFG_F_STEER_FWD, -1, UINT64_MAX);
	for (uint32_t c = 0; c < lp->n_dir; c++) {
		struct gw_loan_dir d = {};

		bpf_map_update_elem(lp->dir_fd, &c, &d, BPF_ANY);
	}
	for (uint32_t i = 0; i < GW_LOAN_SLOTS; i++) {
		uint64_t w = atomic_load(gw_loan_state(lp, i));

		atomic_store(gw_loan_state(lp, i), w & ~0xffull);
		if (lp->conn[i].fd >= 0)
			gw_loan_drop(lp, i);
	}
	munmap(lp->slots, sizeof(struct gw_loan_slot) * GW_LOAN_SLOTS);
	free(lp);
	dp->loan = NULL;
}

/* gw_loan_connect() : a new loaned connection in free slot i. Returns 0, or
 * -errno when the endpoint cannot be lent (not reachable, or its accepted
 * socket is not in the sockhash: the backend is outside the cgroup). */
static int gw_loan_connect(struct gw_dataplane *dp, struct gw_loan_pool *lp, uint32_t i)
{
	struct gw_loan_conn *c = &lp->conn[i];
	struct gw_loan_slot *s = &lp->slots[i];
	uint64_t cookie, w;
	bool connected = false;
	int err, fd;

	fd = gw_sock_connect_nb(&c->addr, c->addrlen, SOCK_STREAM, &connected);
	if (fd < 0)
		return fd;
	/* loopback: the handshake completes (or is refused) at once, unless the
	 * backend's accept queue is full; this thread waits 100 ms at most */
	if (!connected) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int so = 0;
		socklen_t sl = sizeof(so);

		err = -ETIMEDOUT;
		if (poll(&p, 1, 100) != 1)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) || so) {
			err = so ? -so : -errno;
			goto fail;
		}
	}
	err = gw_steer_sock_key(fd, true, &c->key);
	if (err)
		goto fail;
	if (bpf_map_lookup_elem(dp->sock_hash_fd, &c->key, &cookie)) {
		err = -ENOENT;
		goto fail;
	}
	if (bpf_map_update_elem(lp->key_fd, &c->key, &i, BPF_ANY)) {
		err = -errno;
		goto fail;
	}
	c->fd = fd;
	atomic_store(&lp->fd[i], fd);
	s->backend = c->key;
	s->epoch = lp->epoch;
	s->cluster = c->cluster;
	s->flags = 0;
	s->body_left = 0;
	w = atomic_load(gw_loan_state(lp, i));
	/* published last: sk_msg takes only FREE slots */
	atomic_store(gw_loan_state(lp, i), (w & ~0xffull) | GW_LOAN_FREE);
	return 0;
fail:
	close(fd);
	return err;
}

/* gw_loan_healthy() : an idle loaned connection is readable only when the
 * backend closed it or sent bytes nobody asked for: both make it unusable */
static bool gw_loan_healthy(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};

	return poll(&p, 1, 0) == 0;
}

/* gw_loan_reap() : closes DEAD loans and idle ones that are retired or broken */
static void gw_loan_reap(struct gw_loan_pool *lp)
{
	for (uint32_t i = 0; i < GW_LOAN_SLOTS; i++) {
		struct gw_loan_conn *c = &lp->conn[i];
		uint64_t w;

		if (c->fd < 0)
			continue;
		w = atomic_load(gw_loan_state(lp, i));
		/* a tail handed back is the proxy's to read: it frees the loan,
		 * or marks it DEAD when its client goes */
		if (GW_LOAN_ST(w) == GW_LOAN_TAIL || GW_LOAN_ST(w) == GW_LOAN_TAIL_READ)
			continue;
		if (GW_LOAN_ST(w) == GW_LOAN_BUSY) {
			/* the backend closed or reset mid-response: the client's
			 * connection ends too, as the proxy would end it */
			if (!gw_loan_healthy(c->fd, POLLRDHUP | POLLHUP | POLLERR) &&
			    atomic_compare_exchange_strong(gw_loan_state(lp, i), &w,
							   (w & ~0xffull) | GW_LOAN_DEAD))
				gw_steer_kill_client(&lp->slots[i].client);
			continue;
		}
		if (GW_LOAN_ST(w) == GW_LOAN_FREE && !c->retire &&
		    gw_loan_healthy(c->fd, POLLIN | POLLRDHUP))
			continue;
		/* FREE -> EMPTY first, so sk_msg can no longer take it */
		if (!atomic_compare_exchange_strong(gw_loan_state(lp, i), &w, w & ~0xffull))
			continue; /* just taken: looked at again next tick */
		gw_loan_drop(lp, i);
	}
}

/* gw_loan_refill() : reopens connections for the directory's slots that
 * were dropped and not retired */
static void gw_loan_refill(struct gw_dataplane *dp, struct gw_loan_pool *lp)
{
	for (uint32_t ci = 0; ci < lp->n_dir; ci++) {
		struct gw_loan_dir d;

		if (bpf_map_lookup_elem(lp->dir_fd, &ci, &d) || d.epoch != lp->epoch)
			continue;
		for (uint32_t k = 0; k < d.n && k < GW_LOAN_PER_DIR; k++) {
			uint32_t i = d.slot[k];

			if (i < GW_LOAN_SLOTS && lp->conn[i].fd < 0 && lp->conn[i].addrlen &&
			    GW_LOAN_ST(atomic_load(gw_loan_state(lp, i))) == GW_LOAN_EMPTY)
				gw_loan_connect(dp, lp, i);
		}
	}
}

int gw_dataplane_loan_tick(struct gw_dataplane *dp)
{
	if (!dp || !dp->loan)
		return 0;
	gw_loan_reap(dp->loan);
	gw_loan_refill(dp, dp->loan);
	return 0;
}

/* gw_loan_cluster_ok() : plaintext HTTP/1.1 to backends: what the kernel can
 * speak for the proxy */
static bool gw_loan_cluster_ok(const struct gw_ir_cluster *cl)
{
	return !cl->tls && cl->app_proto == GW_APP_HTTP1 && cl->n_endpoints;
}

static bool gw_loan_ep_local(const struct gw_ir_endpoint *ep, struct sockaddr_storage *ss,
			     socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!ep->ready || !ep->address)
		return false;
	if (inet_pton(AF_INET, ep->address, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(ep->port);
		*len = sizeof(*a4);
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	if (inet_pton(AF_INET6, ep->address, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(ep->port);
		*len = sizeof(*a6);
		return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
	}
	return false;
}

/* gw_loan_wanted() : marks in want[] the clusters some route table match
 * sends to the kernel (same compilation as the tables themselves) */
static int gw_loan_wanted(const struct gw_ir *ir, bool *want)
{
	struct gw_rt_vhost *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t bi = 0; bi < ir->n_binds; bi++)
		for (size_t li = 0; li < ir->binds[bi].n_listeners; li++) {
			const struct gw_ir_listener *l = &ir->binds[bi].listeners[li];

			for (size_t vi = 0; vi < l->n_vhosts; vi++) {
				gw_dp_rt_compile_vhost(&l->vhosts[vi], v);
				for (uint32_t m = 0; m < v->n && m < GW_RT_MATCHES; m++) {
					int32_t cl = v->m[m].cluster;

					if ((v->m[m].kind & GW_RT_M_KERNEL) && cl >= 0 &&
					    (size_t)cl < ir->n_clusters && cl < GW_LOAN_CLUSTERS)
						want[cl] = true;
				}
			}
		}
	free(v);
	return 0;
}

int gw_dp_loan_sync(struct gw_dataplane *dp, const struct gw_ir *ir, uint64_t epoch)
{
	struct gw_loan_pool *lp = dp->loan;
	uint32_t next_free = 0, n_dir = 0, opened = 0;
	bool *want;
	int err;

	if (!lp)
		return 0;
	want = calloc(GW_LOAN_CLUSTERS, sizeof(*want));
	if (!want)
		return -ENOMEM;
	err = gw_loan_wanted(ir, want);
	if (err)
		goto out;
	/* the old loans served the old table: closed as soon as they are idle
	 * (cluster indices mean other things in a new snapshot) */
	for (uint32_t i = 0; i < GW_LOAN_SLOTS; i++)
		if (lp->conn[i].fd >= 0)
			lp->conn[i].retire = true;
	lp->epoch = epoch;
	gw_loan_reap(lp);
	for (uint32_t ci = 0; ci < GW_LOAN_CLUSTERS && ci < ir->n_clusters; ci++) {
		const struct gw_ir_cluster *cl = &ir->clusters[ci];
		struct gw_loan_dir d = {.epoch = epoch};
		size_t n_local = 0;

		if (!want[ci] || !gw_loan_cluster_ok(cl))
			continue;
		for (size_t e = 0; e < cl->n_endpoints; e++) {
			struct sockaddr_storage ss;
			socklen_t sl;

			if (gw_loan_ep_local(&cl->endpoints[e], &ss, &sl))
				n_local++;
		}
		/* endpoint choice is the proxy's round-robin: lending only some
		 * endpoints of a cluster would skew it, so all or nothing */
		if (!n_local || n_local != cl->n_ready || n_local > GW_LOAN_PER_DIR)
			continue;
		for (size_t e = 0; e < cl->n_endpoints; e++) {
			struct sockaddr_storage ss;
			socklen_t sl;
			uint32_t per = GW_LOAN_PER_DIR / (uint32_t)n_local;

			if (!gw_loan_ep_local(&cl->endpoints[e], &ss, &sl))
				continue;
			if (per > GW_LOAN_PER_EP)
				per = GW_LOAN_PER_EP;
			for (uint32_t k = 0; k < per && d.n < GW_LOAN_PER_DIR; k++) {
				struct gw_loan_conn *c;

				while (next_free < GW_LOAN_SLOTS &&
				       (lp->conn[next_free].fd >= 0 ||
					GW_LOAN_ST(atomic_load(gw_loan_state(lp, next_free))) !=
					    GW_LOAN_EMPTY))
					next_free++;
				if (next_free == GW_LOAN_SLOTS)
					break;
				c = &lp->conn[next_free];
				c->cluster = (int32_t)ci;
				memcpy(&c->addr, &ss, sl);
				c->addrlen = sl;
				if (gw_loan_connect(dp, lp, next_free)) {
					pr_debug("dataplane: %s:%u cannot be lent to the kernel",
						 cl->endpoints[e].address, cl->endpoints[e].port);
					c->addrlen = 0;
					break;
				}
				opened++;
				d.slot[d.n++] = next_free++;
			}
		}
		if (d.n && bpf_map_update_elem(lp->dir_fd, &ci, &d, BPF_ANY) == 0 && ci + 1 > n_dir)
			n_dir = ci + 1;
	}
	/* directory entries of the previous snapshot beyond this one's */
	for (uint32_t ci = 0; ci < lp->n_dir; ci++) {
		struct gw_loan_dir d;

		if (!bpf_map_lookup_elem(lp->dir_fd, &ci, &d) && d.epoch != epoch) {
			memset(&d, 0, sizeof(d));
			bpf_map_update_elem(lp->dir_fd, &ci, &d, BPF_ANY);
		}
	}
	if (n_dir > lp->n_dir)
		lp->n_dir = n_dir;
	pr_info("dataplane: L7 forwarding: %u backend connections lent to the kernel", opened);
out:
	free(want);
	return err;
}

const struct gw_steer_maps *gw_dataplane_steer_maps(struct gw_dataplane *dp)
{
	return dp && dp->loan ? &dp->loan->maps : NULL;
}
