/* dataplane/splice_body.c - the body splice (API in gwbpf/splice.h "body
 * splice", design in docs/bpf.md "Body splice"): load bpf/sk_skb_body.bpf.c
 * beside the stream splice, hand the remaining bytes of one large
 * Content-Length body to the kernel, and give both sockets back at the exact
 * end of the body; plus its startup self-check.
 *
 * Like the stream splice, everything here is map updates on the pinned maps
 * and atomics on the shared stats: any worker, no lock.
 */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gwbpf/abi/maps.h"
#include "gwbpf/log.h"
#include "gwbpf/splice.h"
#include "sk_skb_body.skel.h"

#include "splice-int.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static const char *const gw_body_pins[] = {
    GW_PIN_BODY_HASH, GW_PIN_BODY_OUT, GW_PIN_BODY_LEFT, GW_PIN_BODY_PARSER, GW_PIN_BODY_VERDICT,
};

static int gw_body_selfcheck(struct gw_splice *sp);

bool gw_body_splice_available(const struct gw_splice *sp)
{
	return sp && sp->body_ok;
}

void gw_body_splice_unpin(struct gw_splice *sp)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(gw_body_pins); i++)
		unlink(gw_splice_pin_path(sp->dir, gw_body_pins[i], path));
}

void gw_body_splice_free(struct gw_splice *sp)
{
	sk_skb_body__destroy(sp->bskel);
	sp->bskel = NULL;
	sp->body_ok = false;
}

/* gw_body_pin_prog() : pins prog under dir/name, replacing an older pin */
static int gw_body_pin_prog(struct gw_splice *sp, struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX];

	gw_splice_pin_path(sp->dir, name, path);
	unlink(path);
	return bpf_obj_pin(bpf_program__fd(prog), path) ? -errno : 0;
}

int gw_body_splice_open(struct gw_splice *sp, const struct gw_splice_opts *opts)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	uint64_t key, next;
	int err, guard = 1 << 20;

	sp->bskel = sk_skb_body__open();
	if (!sp->bskel) {
		err = -errno;
		goto out;
	}
	bpf_object__for_each_map(m, sp->bskel->obj)
	{
		if (bpf_map__is_internal(m))
			continue;
		if (opts->max_entries)
			bpf_map__set_max_entries(m, opts->max_entries);
		err = bpf_map__set_pin_path(m, gw_splice_pin_path(sp->dir, bpf_map__name(m), path));
		if (err)
			goto out;
	}
	err = sk_skb_body__load(sp->bskel);
	if (err)
		goto out;
	sp->body_hash_fd = bpf_map__fd(sp->bskel->maps.gw_body_hash);
	sp->body_out_fd = bpf_map__fd(sp->bskel->maps.gw_body_out);
	sp->body_left_fd = bpf_map__fd(sp->bskel->maps.gw_body_left);
	err = bpf_prog_attach(bpf_program__fd(sp->bskel->progs.gw_body_parse), sp->body_hash_fd,
			      BPF_SK_SKB_STREAM_PARSER, 0);
	if (!err || err == -EEXIST)
		err = bpf_prog_attach(bpf_program__fd(sp->bskel->progs.gw_body_verdict),
				      sp->body_hash_fd, BPF_SK_SKB_STREAM_VERDICT, 0);
	if (err && err != -EEXIST)
		goto out;
	err = gw_body_pin_prog(sp, sp->bskel->progs.gw_body_parse, GW_PIN_BODY_PARSER);
	if (!err)
		err = gw_body_pin_prog(sp, sp->bskel->progs.gw_body_verdict, GW_PIN_BODY_VERDICT);
	if (err)
		goto out;
	/* a previous daemon's budgets died with its sockets */
	while (guard-- > 0 && bpf_map_get_next_key(sp->body_left_fd, NULL, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(sp->body_left_fd, &key))
			break;
	}
	sp->body_ok = true; /* the self-check goes through the real API */
	err = opts->no_selfcheck ? 0 : gw_body_selfcheck(sp);
out:
	if (err) {
		pr_warn("splice: body splice unavailable (%s): large bodies stay in userspace",
			strerror(-err));
		if (sp->created_maps)
			gw_body_splice_unpin(sp);
		gw_body_splice_free(sp);
	}
	return err;
}

static int gw_body_cookie(int fd, uint64_t *ck)
{
	socklen_t len = sizeof(*ck);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, ck, &len) == -1 ? -errno : 0;
}

int gw_body_splice_start(struct gw_splice *sp, int fd_in, int fd_out, uint64_t budget,
			 struct gw_body_splice *b)
{
	struct gw_body_left bl = {};
	enum gw_splice_stat why = GW_SPLICE_BODY_FALLBACK;
	bool in_left = false, in_out = false, in_hash = false;
	int err, lowat = 1, inq = 0;
	socklen_t len = sizeof(lowat);
	uint64_t v;

	memset(b, 0, sizeof(*b));
	if (!gw_body_splice_available(sp) || !budget)
		return -ENODEV;
	err = gw_splice_established(fd_in);
	if (!err)
		err = gw_splice_established(fd_out);
	if (err) {
		why = GW_SPLICE_FB_STATE;
		goto out;
	}
	/* bytes a local peer writes into fd_in through the sk_msg bypass land
	 * in its receive queue without passing the stream parser */
	if (gw_splice_bypassed(sp, fd_in)) {
		err = -EOPNOTSUPP;
		why = GW_SPLICE_FB_BYPASS;
		goto out;
	}
	err = gw_body_cookie(fd_in, &b->cookie_in);
	if (!err)
		err = gw_body_cookie(fd_out, &b->cookie_out);
	if (!err)
		err = gw_splice_written(fd_out, &b->base_out);
	if (err)
		goto out;
	/* what waits unread is the first message: the stream parser cannot
	 * see where in its skb it starts (gw_body_parse()) */
	if (ioctl(fd_in, SIOCINQ, &inq) == -1) {
		err = -errno;
		goto out;
	}
	bl.peer = b->cookie_out;
	bl.left = budget;
	bl.first = (uint64_t)inq;
	if (bpf_map_update_elem(sp->body_left_fd, &b->cookie_in, &bl, BPF_NOEXIST)) {
		err = -errno;
		goto out;
	}
	in_left = true;
	/* the target first: a message redirected before its target exists
	 * would be passed up instead */
	v = (uint64_t)fd_out;
	if (bpf_map_update_elem(sp->body_out_fd, &b->cookie_out, &v, BPF_NOEXIST)) {
		err = -errno;
		goto out;
	}
	in_out = true;
	v = (uint64_t)fd_in;
	if (bpf_map_update_elem(sp->body_hash_fd, &b->cookie_in, &v, BPF_NOEXIST)) {
		err = -errno;
		goto out;
	}
	in_hash = true;
	/* bytes already in fd_in's receive queue wait for the next data_ready;
	 * touching SO_RCVLOWAT runs it now (stream splice, pitfall 4). The
	 * strparser reads from copied_seq, so only unread bytes are parsed. */
	getsockopt(fd_in, SOL_SOCKET, SO_RCVLOWAT, &lowat, &len);
	setsockopt(fd_in, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
	b->fd_in = fd_in;
	b->fd_out = fd_out;
	b->budget = budget;
	b->seen_left = budget;
	b->on = true;
	gw_splice_stat_add(sp, GW_SPLICE_BODY_STARTED, 1);
	err = 0;
out:
	if (err) {
		if (in_hash)
			bpf_map_delete_elem(sp->body_hash_fd, &b->cookie_in);
		if (in_out)
			bpf_map_delete_elem(sp->body_out_fd, &b->cookie_out);
		if (in_left)
			bpf_map_delete_elem(sp->body_left_fd, &b->cookie_in);
		if (err == -E2BIG || err == -ENOMEM || err == -ENOSPC) {
			err = -ENOSPC;
			why = GW_SPLICE_FB_FULL;
		} else if (why == GW_SPLICE_FB_STATE || err == -EOPNOTSUPP) {
			err = why == GW_SPLICE_FB_BYPASS ? -EOPNOTSUPP : -ENOTCONN;
		}
		gw_splice_stat_add(sp, why, 1);
		if (why != GW_SPLICE_BODY_FALLBACK)
			gw_splice_stat_add(sp, GW_SPLICE_BODY_FALLBACK, 1);
		pr_debug("splice: body %d -> %d stays in userspace: %s", fd_in, fd_out,
			 strerror(-err));
		memset(b, 0, sizeof(*b));
	}
	return err;
}

bool gw_body_splice_pending(struct gw_splice *sp, const struct gw_body_splice *b)
{
	struct gw_body_left bl;

	if (!sp || !b->on || bpf_map_lookup_elem(sp->body_left_fd, &b->cookie_in, &bl))
		return true; /* nothing to wait for: let the caller read */
	/* the budget is spent, or bytes came up: past the body, or ones the
	 * kernel could not redirect (the target went) */
	if (!bl.left || bl.passed > b->user_in)
		return true;
	/* FIN or reset, and the parser took everything that arrived */
	if (gw_splice_established(b->fd_in) != 0) {
		int inq = 0;

		return ioctl(b->fd_in, SIOCINQ, &inq) == -1 || inq == 0;
	}
	return false;
}

bool gw_body_splice_progress(struct gw_splice *sp, struct gw_body_splice *b)
{
	struct gw_body_left bl;

	if (!sp || !b->on || bpf_map_lookup_elem(sp->body_left_fd, &b->cookie_in, &bl))
		return false;
	if (bl.left == b->seen_left)
		return false;
	b->seen_left = bl.left;
	return true;
}

int gw_body_splice_done(struct gw_splice *sp, struct gw_body_splice *b)
{
	struct gw_body_left bl;
	uint64_t w = 0, now;
	int err;

	if (!sp || !b->on)
		return 1;
	if (bpf_map_lookup_elem(sp->body_left_fd, &b->cookie_in, &bl))
		return -errno;
	now = gw_splice_now_ms();
	err = gw_splice_written(b->fd_out, &w);
	if (err)
		return err;
	if (w - b->base_out >= bl.redir)
		return 1;
	/* a slow reader only delays the end; no progress at all for the cap
	 * fails the body: ending now would drop what the psock still queues
	 * and the rest of the response would leave a gap */
	if (!b->drain_ms || w != b->drain_w) {
		b->drain_ms = now;
		b->drain_w = w;
	}
	if (now - b->drain_ms >= GW_SPLICE_DRAIN_MAX_MS) {
		gw_splice_stat_add(sp, GW_SPLICE_DRAIN_TIMEOUT, 1);
		pr_warn("splice: %llu body bytes the kernel redirected not taken by the reader "
			"for %u ms: the response is cut",
			(unsigned long long)(bl.redir - (w - b->base_out)), GW_SPLICE_DRAIN_MAX_MS);
		return -ETIMEDOUT;
	}
	return 0;
}

/* gw_body_sock_sane() : fd's receive side is consistent after it left the
 * maps: the kernel's count of unread bytes (rcv_nxt - copied_seq) is not
 * negative, and bytes it counts can be read. On 6.18 a byte the stream
 * parser passed up and that is read only after the parser stopped leaves
 * copied_seq behind the stream (the next recv() finds nothing and the
 * kernel logs "TCP recvmsg seq # bug"); the end never reads such bytes, this
 * catches what a race could still leave. */
static bool gw_body_sock_sane(int fd)
{
	int inq = 0;
	char c;

	if (ioctl(fd, SIOCINQ, &inq) == -1)
		return true; /* closed or closing: nothing will be read from it */
	if (inq < 0)
		return false;
	return inq == 0 || recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

void gw_body_splice_end(struct gw_splice *sp, struct gw_body_splice *b, uint64_t *redir, bool *lost)
{
	struct gw_body_left bl = {};

	*redir = 0;
	*lost = false;
	if (!sp || !b->on)
		goto out;
	/* out of both maps first: the stream parser stops and the psock goes,
	 * so the counters read next are final. Bytes it passed up and the
	 * caller did not read are not read now (gw_body_sock_sane()): they are
	 * dropped with the psock, and fd_in is no longer a clean stream. */
	bpf_map_delete_elem(sp->body_hash_fd, &b->cookie_in);
	bpf_map_delete_elem(sp->body_out_fd, &b->cookie_out);
	if (!bpf_map_lookup_elem(sp->body_left_fd, &b->cookie_in, &bl))
		*redir = bl.redir;
	*lost = bl.passed > b->user_in || !gw_body_sock_sane(b->fd_in);
	bpf_map_delete_elem(sp->body_left_fd, &b->cookie_in);
	gw_splice_stat_add(sp, GW_SPLICE_BODY_BYTES, *redir);
	if (*lost)
		gw_splice_stat_add(sp, GW_SPLICE_BODY_LOST, 1);
out:
	memset(b, 0, sizeof(*b));
}

/* ---- startup self-check ----
 *
 * up_c -> up_s (fd_in) =body splice= cl_s (fd_out) -> cl_c over loopback:
 * up_c writes a body and, in the same write as its last bytes, the start of
 * "the next message"; cl_c must receive exactly the body and up_s exactly
 * what follows it (read while the parser is attached), twice on the same
 * sockets (the parser re-armed), and after each end a plain message on the
 * same socket must arrive whole (the receive side consistent again).
 */

#define GW_BSC_BODY (1u << 20)
#define GW_BSC_TAIL 777u
#define GW_BSC_AFTER 333u
#define GW_BSC_MS 3000

static uint8_t gw_bsc_byte(uint64_t i, unsigned int round)
{
	return (uint8_t)((i * 2654435761u) >> (7 + round));
}

/* gw_bsc_after() : after the end, GW_BSC_AFTER more bytes from up_c must
 * reach up_s in order, through the socket's ordinary receive path */
static const char *gw_bsc_after(int up_c, int up_s, unsigned int round)
{
	uint8_t buf[GW_BSC_AFTER];
	uint64_t deadline = gw_splice_now_ms() + GW_BSC_MS;
	size_t got = 0;
	ssize_t n;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = gw_bsc_byte(i + 7, round);
	if (write(up_c, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return "write after the end";
	while (got < sizeof(buf) && gw_splice_now_ms() < deadline) {
		poll(&(struct pollfd){.fd = up_s, .events = POLLIN}, 1, 1);
		n = read(up_s, buf + got, sizeof(buf) - got);
		if (n > 0)
			got += (size_t)n;
	}
	if (got < sizeof(buf))
		return "bytes after the end did not arrive";
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != gw_bsc_byte(i + 7, round))
			return "bytes after the end corrupted";
	return NULL;
}

/* gw_bsc_round() : one body of GW_BSC_BODY bytes (all carried by the
 * kernel) followed by GW_BSC_TAIL bytes for userspace; NULL or what went
 * wrong */
static const char *gw_bsc_round(struct gw_splice *sp, int up_c, int up_s, int cl_s, int cl_c,
				unsigned int round, uint64_t *redir_total)
{
	const uint64_t total = GW_BSC_BODY + GW_BSC_TAIL;
	uint64_t sent = 0, got = 0, user = 0, deadline, redir;
	struct gw_body_splice b;
	uint8_t buf[16384];
	bool lost, done = false;
	const char *why = NULL;
	ssize_t n;

	int err = gw_body_splice_start(sp, up_s, cl_s, GW_BSC_BODY, &b);

	if (err) {
		pr_warn("splice: body splice self-check: insert: %s", strerror(-err));
		return "insert";
	}
	deadline = gw_splice_now_ms() + GW_BSC_MS;
	while (!done && gw_splice_now_ms() < deadline) {
		poll(&(struct pollfd){.fd = up_s, .events = POLLIN}, 1, 1);
		if (sent < total) {
			size_t k = GW_MIN(sizeof(buf), (size_t)(total - sent));

			/* the body's end and the next message share writes */
			for (size_t i = 0; i < k; i++)
				buf[i] = gw_bsc_byte(sent + i, round);
			n = write(up_c, buf, k);
			if (n > 0)
				sent += (uint64_t)n;
		}
		n = read(cl_c, buf, sizeof(buf));
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != gw_bsc_byte(got + (uint64_t)i, round))
				why = "corrupted bytes";
		if (n > 0)
			got += (uint64_t)n;
		if (gw_body_splice_pending(sp, &b)) {
			n = read(up_s, buf, sizeof(buf));
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != gw_bsc_byte(GW_BSC_BODY + user + (uint64_t)i, round))
					why = "userspace got bytes of the body";
			if (n > 0) {
				user += (uint64_t)n;
				gw_body_splice_note(&b, (size_t)n);
			}
		}
		if (why)
			break;
		if (user == GW_BSC_TAIL && got == GW_BSC_BODY && gw_body_splice_done(sp, &b) > 0)
			done = true;
	}
	gw_body_splice_end(sp, &b, &redir, &lost);
	*redir_total += redir;
	if (why)
		return why;
	if (!done)
		return got > GW_BSC_BODY ? "the kernel forwarded past the boundary"
					 : "no end of body in time";
	if (redir != GW_BSC_BODY || lost)
		return "wrong byte count";
	return gw_bsc_after(up_c, up_s, round);
}

static int gw_body_selfcheck(struct gw_splice *sp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sa);
	int lfd, up_c = -1, up_s = -1, cl_c = -1, cl_s = -1, err;
	const char *why = "setup";
	uint64_t redir = 0;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 4) == -1 || getsockname(lfd, (struct sockaddr *)&sa, &slen) == -1) {
		err = -errno;
		goto out;
	}
	err = gw_splice_loop_pair(lfd, &sa, &up_c, &up_s);
	if (!err)
		err = gw_splice_loop_pair(lfd, &sa, &cl_c, &cl_s);
	if (err)
		goto out;
	for (unsigned int round = 0; round < 2; round++) {
		why = gw_bsc_round(sp, up_c, up_s, cl_s, cl_c, round, &redir);
		if (why)
			break;
	}
	err = why ? -EIO : 0;
out:
	if (err)
		pr_warn("splice: body splice self-check failed (%s%s%s)", why,
			err == -EIO ? "" : ": ", err == -EIO ? "" : strerror(-err));
	else
		pr_info("splice: body splice self-check passed (2 bodies of %u bytes, %llu by the "
			"kernel, the bytes after each in userspace)",
			GW_BSC_BODY, (unsigned long long)redir);
	{
		int fds[] = {lfd, up_c, up_s, cl_c, cl_s};

		for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	return err ? -EIO : 0;
}
