/* gwbpf/steer.h - the proxy's side of kernel L7 forwarding (docs/bpf.md,
 * "L7 forwarding").
 *
 * With GW_DP_F_STEER_FWD the sk_msg program may answer a local client's
 * request itself, through a backend connection the daemon lent it. The proxy
 * then shares each client connection with the kernel and keeps two promises:
 * it tells the kernel how many bytes it has read and fully answered (an
 * "ack", written only when it is idle), so the kernel never overtakes it; and
 * it does not start a request while a kernel-forwarded response is still in
 * flight, so it never overtakes the kernel. It also removes the connection's
 * map entries when the connection ends.
 *
 * One process-wide set of map handles (gw_steer_set()); per connection a
 * struct gw_steer_cs embedded in the proxy's connection. All calls are
 * no-ops when forwarding is off. Thread-safe: per request only map syscalls
 * and atomics; a connection's start and end (and gw_steer_kill_client()) also
 * take one process-wide mutex, for the table of connections by client key.
 */
#ifndef GWBPF_STEER_H
#define GWBPF_STEER_H

#include "gwbpf/api.h"
#include "gwbpf/abi/maps.h"

/* what the proxy needs of the data plane (gw_dataplane_steer_maps()) */
struct gw_steer_maps {
	int conn_fd;		   /* gw_steer_conn */
	int ack_fd;		   /* gw_steer_ack */
	int want_fd;		   /* gw_steer_want */
	int tail_fd;		   /* gw_loan_tail */
	struct gw_loan_slot *loan; /* gw_loan, mmapped: GW_LOAN_SLOTS slots */
	const _Atomic int *loan_fd; /* the daemon's end of each slot's connection, -1 = none */
};

/* per client connection */
struct gw_steer_cs {
	bool on;		/* forwarding may touch this connection */
	struct gw_sock_key key; /* the client socket's key (mirror of ours) */
	uint64_t rd;		/* bytes read from the client */
	uint64_t acked;		/* last ack written */
	uint64_t kreq_seen;	/* kernel-forwarded requests seen by gw_steer_cs_active() */
	uint64_t wait_start_ms; /* gw_steer_cs_busy() started waiting; 0 = not */
	uint64_t kreq_settled;  /* kernel-forwarded requests gw_steer_cs_busy() settled after */
	uint64_t settle_ms;     /* gw_steer_cs_busy() settling since; 0 = not */
	uint64_t want_seq;      /* loan state word last asked to hand back (gw_steer_want) */
	uint32_t want_slot;     /* its slot + 1; 0 = none asked about */
	uint64_t tail_left;     /* bytes of a handed-back tail still to read */
	bool tail_on;           /* tail_left is set (gw_steer_cs_tail()) */
	bool frozen;            /* gw_steer_cs_freeze(): the kernel forwards nothing more */
	int fd;                 /* the proxy's accepted socket (gw_steer_kill_client()) */
	bool registered;        /* in the process-wide table of connections by key */
	struct gw_steer_cs *hnext;
};

/* how long the proxy waits for a kernel response in flight before it gives
 * up on the connection (a backend that stalls mid-response) */
#define GW_STEER_WAIT_MS 10000
/* how long the proxy waits after the kernel served a request before it acts
 * on the connection: the kernel ends `inflight` when it sets the redirect of
 * a response's last write, before the backend's sendmsg() queues those bytes
 * on the client socket (ms; a timer tick may be up to 1 ms short). A bound,
 * not a proof: those bytes go to the client socket's psock queue, which no
 * TCP counter the proxy can read records (docs/bpf.md, "Settling") */
#define GW_STEER_SETTLE_MS 10
/* the same before the proxy ends a connection the client half-closed (ms):
 * nothing is lost by closing later, so this one is long */
#define GW_STEER_SETTLE_FIN_MS 200

/* gw_steer_set() : maps to use from now on (borrowed; they must outlive every
 * connection), or NULL to stop. Call before connections are accepted. */
void gw_steer_set(const struct gw_steer_maps *m);
/* gw_steer_enabled() : gw_steer_set() was given maps */
bool gw_steer_enabled(void);

struct sockaddr_storage;
/* gw_steer_cs_init() : for an accepted plain-TCP client socket fd whose peer
 * address accept() returned (the client may have reset it already: the kernel
 * may have served it all the same, and its map entries must still go).
 * Leaves cs->on false when forwarding is off or the socket is not loopback. */
void gw_steer_cs_init(struct gw_steer_cs *cs, int fd, const struct sockaddr_storage *peer);
/* gw_steer_cs_read() : n more bytes read from the client */
static inline void gw_steer_cs_read(struct gw_steer_cs *cs, size_t n)
{
	cs->rd += n;
}
/* gw_steer_cs_idle() : the proxy has answered everything it read (no
 * request in progress, input and output buffers empty): acks cs->rd */
void gw_steer_cs_idle(struct gw_steer_cs *cs);
/* gw_steer_cs_freeze() : the proxy is about to end the connection on its
 * own (idle, drain): from now on the kernel forwards none of its requests
 * (an ack it can never match). Then gw_steer_cs_busy() until 0 follows
 * what it forwarded before. */
void gw_steer_cs_freeze(struct gw_steer_cs *cs);
/* gw_steer_cs_busy() : before starting a request (or ending the connection
 * after the client's FIN): 0 = go on, 1 = a kernel response is in flight
 * (try again shortly; the kernel is asked to hand the rest of it back),
 * GW_STEER_TAIL = its last bytes were handed back: write what
 * gw_steer_cs_tail() reads before anything else, -EPIPE = the connection
 * must be closed (a response the kernel could not frame, or waited longer
 * than GW_STEER_WAIT_MS). now_ms: monotonic ms. */
#define GW_STEER_TAIL 2
int gw_steer_cs_busy(struct gw_steer_cs *cs, uint64_t now_ms);
/* gw_steer_cs_tail() : reads up to room bytes of the handed-back tail of the
 * kernel's response into buf (they go to the client next, before anything
 * of the proxy's): > 0 bytes read, 0 = none yet (try again shortly), -EPIPE
 * = the connection must be closed. Once the whole tail is read the loan is
 * returned and gw_steer_cs_busy() no longer says GW_STEER_TAIL. */
ssize_t gw_steer_cs_tail(struct gw_steer_cs *cs, void *buf, size_t room, uint64_t now_ms);
/* gw_steer_cs_active() : the kernel forwarded a request on this connection
 * since the last call, or one is in flight (the proxy's idle timer must not
 * close a connection the kernel is serving) */
bool gw_steer_cs_active(struct gw_steer_cs *cs);
/* gw_steer_cs_end() : the connection is closing: frees its map entries and
 * hands a loan still in flight back to the daemon to close. Accepts cs->on
 * false. */
void gw_steer_cs_end(struct gw_steer_cs *cs);

/* gw_steer_kill_client() : a kernel-forwarded response to client (the client
 * socket's key) can never complete (its backend went away mid-response):
 * shuts the proxy's end of that client connection down, as the proxy does
 * after an upstream reset; the worker then sees the end and frees it. Any
 * thread; a client that is not (or no longer) connected is ignored. */
void gw_steer_kill_client(const struct gw_sock_key *client);

/* gw_steer_sock_key() : the key fd's socket has in the bypass sockhash
 * (mirror = false) or the key of the other end of its connection (mirror =
 * true). 0 or -errno. */
int gw_steer_sock_key(int fd, bool mirror, struct gw_sock_key *k);

#endif
