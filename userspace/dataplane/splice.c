/* dataplane/splice.c - load, pin and drive the sk_skb splice (API and the
 * relay protocol in gwbpf/splice.h; why it is shaped like this in docs/bpf.md
 * "sk_skb splice").
 *
 * One struct gw_splice per process, shared read-only by every worker after
 * open: pairing is map updates on the pinned maps (the kernel serialises
 * them) and counting is atomics on the mmapped stats array, so no worker ever
 * takes a lock. Per-pair state lives in the caller's connection.
 *
 * The startup self-check is splice_selfcheck.c (internals shared through
 * splice-int.h).
 */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcp_info with tcpi_bytes_acked */
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gwbpf/abi/maps.h"
#include "gwbpf/dataplane-t.h"
#include "gwbpf/log.h"
#include "gwbpf/splice.h"
#include "sk_skb.skel.h"

#include "splice-int.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define GW_SPLICE_NOT_YET UINT64_MAX /* peer.fwd that never equals passed */

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static const char *const gw_splice_pins[] = {
    GW_PIN_SPLICE_HASH,
    GW_PIN_SPLICE_PEER,
    GW_PIN_SPLICE_CTR,
    GW_PIN_SPLICE_STATS,
};

static const char *const gw_splice_stat_names[GW_SPLICE_STAT_END] = {
    [GW_SPLICE_STARTED] = "started",
    [GW_SPLICE_ENDED] = "ended",
    [GW_SPLICE_FB_FULL] = "fallback_full",
    [GW_SPLICE_FB_STATE] = "fallback_closing",
    [GW_SPLICE_FB_OTHER] = "fallback_error",
    [GW_SPLICE_FB_OFF] = "fallback_off",
    [GW_SPLICE_BYTES] = "bytes",
    [GW_SPLICE_HANDOVER] = "handover",
    [GW_SPLICE_REDIR_MISS] = "redirect_miss",
    [GW_SPLICE_ACCOUNTING] = "accounting_fallback",
    [GW_SPLICE_DRAIN_TIMEOUT] = "drain_timeout",
    [GW_SPLICE_FB_BYPASS] = "fallback_bypassed",
    [GW_SPLICE_BODY_STARTED] = "body_started",
    [GW_SPLICE_BODY_BYTES] = "body_bytes",
    [GW_SPLICE_BODY_FALLBACK] = "body_fallback",
    [GW_SPLICE_BODY_LOST] = "body_unclean_end",
};

static struct gw_splice *gw_splice_global;

void gw_splice_set_default(struct gw_splice *sp)
{
	__atomic_store_n(&gw_splice_global, sp, __ATOMIC_RELEASE);
}

struct gw_splice *gw_splice_default(void)
{
	return __atomic_load_n(&gw_splice_global, __ATOMIC_ACQUIRE);
}

const char *gw_splice_stat_name(unsigned int s)
{
	return s < GW_SPLICE_STAT_END ? gw_splice_stat_names[s] : NULL;
}

uint64_t gw_splice_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *gw_splice_pin_path(const char *dir, const char *name, char *buf)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		buf[0] = 0;
	return buf;
}

void gw_splice_stat_add(struct gw_splice *sp, enum gw_splice_stat s, uint64_t n)
{
	if (sp && sp->stats && (unsigned int)s < GW_SPLICE_STAT_MAX)
		__atomic_fetch_add(&sp->stats->v[s], n, __ATOMIC_RELAXED);
}

int gw_splice_probe(void)
{
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_SKB, NULL) != 1 ||
	    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL) != 1)
		return -EOPNOTSUPP;
	return 0;
}

/* gw_splice_prepare_dir() : dir exists on a bpffs (mounting one as loader.c
 * does: /sys/fs/bpf itself when nothing is there, else on dir) */
static int gw_splice_prepare_dir(const char *dir)
{
	struct statfs st;
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (!strncmp(dir, "/sys/fs/bpf/", 12) &&
	    (statfs("/sys/fs/bpf", &st) || (long)st.f_type != BPF_FS_MAGIC) &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == -1)
		return -errno;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
		return -errno;
	if ((statfs(dir, &st) || (long)st.f_type != BPF_FS_MAGIC) &&
	    mount("bpf", dir, "bpf", 0, "mode=0700") == -1)
		return -errno;
	return 0;
}

/* gw_splice_flush() : deletes every entry of a cookie-keyed map */
static void gw_splice_flush(int fd)
{
	uint64_t key, next;
	int guard = 1 << 20;

	while (guard-- > 0 && bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
}

static void gw_splice_unpin(struct gw_splice *sp)
{
	char path[PATH_MAX];

	unlink(gw_splice_pin_path(sp->dir, GW_PIN_SPLICE_PROG, path));
	for (size_t i = 0; i < ARRAY_SIZE(gw_splice_pins); i++)
		unlink(gw_splice_pin_path(sp->dir, gw_splice_pins[i], path));
	gw_body_splice_unpin(sp);
}

static void gw_splice_free(struct gw_splice *sp)
{
	if (sp->bypass_fd >= 0)
		close(sp->bypass_fd);
	if (sp->stats)
		munmap(sp->stats, sp->stats_len);
	gw_body_splice_free(sp);
	sk_skb__destroy(sp->skel);
	free(sp);
}

struct gw_splice *gw_splice_open(const struct gw_splice_opts *opts)
{
	const struct gw_splice_opts defaults = {};
	char path[PATH_MAX];
	struct bpf_map *m;
	struct gw_splice *sp;
	int prog_fd, err;
	void *mem;

	if (!opts)
		opts = &defaults;
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		errno = ENOMEM;
		return NULL;
	}
	sp->bypass_fd = -1;
	snprintf(sp->dir, sizeof(sp->dir), "%s", opts->bpffs ? opts->bpffs : GW_DP_BPFFS_DEFAULT);
	err = gw_splice_probe();
	if (err) {
		pr_warn("splice: this kernel lacks sk_skb programs or SOCKHASH maps");
		goto out;
	}
	err = gw_splice_prepare_dir(sp->dir);
	if (err) {
		pr_warn("splice: cannot prepare %s: %s", sp->dir, strerror(-err));
		goto out;
	}
	sp->skel = sk_skb__open();
	if (!sp->skel) {
		err = -errno;
		goto out;
	}
	sp->created_maps = access(gw_splice_pin_path(sp->dir, GW_PIN_SPLICE_HASH, path), F_OK) != 0;
	bpf_object__for_each_map(m, sp->skel->obj)
	{
		if (bpf_map__is_internal(m))
			continue;
		if (opts->max_entries && bpf_map__type(m) != BPF_MAP_TYPE_ARRAY)
			bpf_map__set_max_entries(m, opts->max_entries);
		err = bpf_map__set_pin_path(m, gw_splice_pin_path(sp->dir, bpf_map__name(m), path));
		if (err)
			goto out;
	}
	err = sk_skb__load(sp->skel);
	if (err) {
		pr_warn("splice: loading bpf/sk_skb.bpf.c failed: %s (a pinned map of another "
			"size or layout under %s?)",
			strerror(-err), sp->dir);
		goto out;
	}
	sp->hash_fd = bpf_map__fd(sp->skel->maps.gw_splice_hash);
	sp->peer_fd = bpf_map__fd(sp->skel->maps.gw_splice_peer);
	sp->ctr_fd = bpf_map__fd(sp->skel->maps.gw_splice_ctr);
	sp->stat_fd = bpf_map__fd(sp->skel->maps.gw_splice_stat);
	prog_fd = bpf_program__fd(sp->skel->progs.gw_sk_skb);
	err = bpf_prog_attach(prog_fd, sp->hash_fd, BPF_SK_SKB_VERDICT, 0);
	if (err && err != -EEXIST) {
		pr_warn("splice: attaching the verdict to the sockhash: %s", strerror(-err));
		goto out;
	}
	gw_splice_pin_path(sp->dir, GW_PIN_SPLICE_PROG, path);
	unlink(path); /* a previous daemon's program, replaced by the attach */
	if (bpf_obj_pin(prog_fd, path)) {
		err = -errno;
		pr_warn("splice: pinning %s: %s", path, strerror(-err));
		goto out;
	}
	sp->stats_len = (size_t)sysconf(_SC_PAGESIZE);
	mem = mmap(NULL, sp->stats_len, PROT_READ | PROT_WRITE, MAP_SHARED, sp->stat_fd, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		pr_warn("splice: mmap of the stats map: %s", strerror(-err));
		goto out;
	}
	sp->stats = mem;
	/* a previous daemon's pairs died with its sockets (docs/bpf.md):
	 * whatever bookkeeping it left is stale, unless it is alive and hands
	 * its spliced streams to us (graceful restart) */
	if (!opts->keep_pairs) {
		gw_splice_flush(sp->peer_fd);
		gw_splice_flush(sp->ctr_fd);
	}
	/* the bypass may be loaded after us: looked up again at pairing */
	sp->bypass_fd = bpf_obj_get(gw_splice_pin_path(sp->dir, GW_PIN_SOCK_HASH, path));
	if (!opts->no_selfcheck) {
		err = gw_splice_selfcheck(sp);
		if (err)
			goto out;
	}
	/* the body splice is optional: without it large bodies are copied */
	gw_body_splice_open(sp, opts);
	pr_info("splice: sk_skb splice on (%s maps under %s)",
		sp->created_maps ? "created" : "adopted", sp->dir);
out:
	if (err) {
		if (sp->created_maps && sp->skel)
			gw_splice_unpin(sp);
		gw_splice_free(sp);
		errno = err == -EOPNOTSUPP ? ENOTSUP : -err;
		return NULL;
	}
	return sp;
}

void gw_splice_close(struct gw_splice *sp, bool keep_pinned)
{
	if (!sp)
		return;
	if (gw_splice_default() == sp)
		gw_splice_set_default(NULL);
	if (!keep_pinned) {
		gw_splice_unpin(sp);
		rmdir(sp->dir); /* fails harmlessly when other pins remain */
	}
	gw_splice_free(sp);
}

/* gw_splice_written() : bytes ever written into fd's send side: acked plus
 * still queued. The difference to a baseline is what went in since. */
int gw_splice_written(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq = 0;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    ioctl(fd, SIOCOUTQ, &outq) == -1)
		return -errno;
	*out = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

int gw_splice_established(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -errno;
	return ti.tcpi_state == 1 /* TCP_ESTABLISHED */ ? 0 : -ENOTCONN;
}

/* gw_splice_addr() : a socket address into a bypass key half (network
 * order address, host order port; v4-mapped v6 folded as sockops does) */
static uint16_t gw_splice_addr(const struct sockaddr_storage *ss, __u32 *ip, __u16 *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		ip[0] = in->sin_addr.s_addr;
		*port = ntohs(in->sin_port);
		return GW_AF_INET;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	*port = ntohs(in6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memcpy(ip, &in6->sin6_addr.s6_addr[12], 4);
		return GW_AF_INET;
	}
	memcpy(ip, &in6->sin6_addr, 16);
	return GW_AF_INET6;
}

/* gw_splice_bypassed() : fd's peer (the other end of its TCP connection,
 * a local process) is in the sk_msg bypass sockhash. Its writes are then
 * delivered by sk_msg straight into fd's receive queue and never reach the
 * verdict, so the byte handover could not work. (Our own socket being in
 * the bypass is harmless: the kernel's egress sends skip sk_msg.) */
bool gw_splice_bypassed(struct gw_splice *sp, int fd)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r), cl = sizeof(uint64_t);
	struct gw_sock_key k;
	uint64_t cookie;

	if (sp->bypass_fd < 0) {
		char path[PATH_MAX];

		sp->bypass_fd = bpf_obj_get(gw_splice_pin_path(sp->dir, GW_PIN_SOCK_HASH, path));
		if (sp->bypass_fd < 0)
			return false;
	}
	memset(&k, 0, sizeof(k));
	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	if (getsockname(fd, (struct sockaddr *)&l, &ll) == -1 ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &k.netns, &cl) == -1)
		return false;
	/* the peer's key: our tuple mirrored */
	k.family = gw_splice_addr(&r, k.local_ip, &k.local_port);
	gw_splice_addr(&l, k.remote_ip, &k.remote_port);
	return bpf_map_lookup_elem(sp->bypass_fd, &k, &cookie) == 0;
}

int gw_splice_pair(struct gw_splice *sp, int fd_a, int fd_b, struct gw_splice_pair *p)
{
	return gw_splice_pair_opt(sp, fd_a, fd_b, p, true);
}

/* gw_splice_pair_opt() : gw_splice_pair(); check_bypass = false only for the
 * self-check, which switches the bypass off around itself */
int gw_splice_pair_opt(struct gw_splice *sp, int fd_a, int fd_b, struct gw_splice_pair *p,
		       bool check_bypass)
{
	struct gw_splice_ctr zero = {};
	struct gw_splice_peer pe;
	socklen_t len = sizeof(uint64_t);
	int fds[2] = {fd_a, fd_b};
	int inserted = 0, err, i;
	enum gw_splice_stat why = GW_SPLICE_FB_OTHER;

	memset(p, 0, sizeof(*p));
	if (!sp) {
		/* nothing to count into: the caller runs without splice at all */
		return -ENODEV;
	}
	for (i = 0; i < 2; i++) {
		int inq = 0;

		/* The verdict would be fed whole skbs from the receive queue,
		 * including the already-read head of one that userspace read
		 * only partly (tcp_read_skb ignores the offset): 16 KiB of
		 * duplicated bytes in tests. Pair only with nothing unread;
		 * skbs that arrive after this check are whole. */
		if (ioctl(fds[i], SIOCINQ, &inq) == 0 && inq > 0) {
			memset(p, 0, sizeof(*p));
			return -EAGAIN;
		}
	}
	for (i = 0; i < 2; i++) {
		p->fd[i] = fds[i];
		err = gw_splice_established(fds[i]);
		if (err) {
			why = GW_SPLICE_FB_STATE;
			goto out;
		}
		if (check_bypass && gw_splice_bypassed(sp, fds[i])) {
			err = -EOPNOTSUPP;
			why = GW_SPLICE_FB_BYPASS;
			goto out;
		}
		if (getsockopt(fds[i], SOL_SOCKET, SO_COOKIE, &p->cookie[i], &len) == -1 ||
		    gw_splice_written(fds[i], &p->base[i])) {
			err = -errno;
			goto out;
		}
	}
	for (i = 0; i < 2; i++) {
		if (bpf_map_update_elem(sp->ctr_fd, &p->cookie[i], &zero, BPF_ANY)) {
			err = -errno;
			why = err == -E2BIG ? GW_SPLICE_FB_FULL : GW_SPLICE_FB_OTHER;
			goto out;
		}
		pe.peer = p->cookie[1 - i];
		pe.fwd = GW_SPLICE_NOT_YET; /* userspace may still hold older bytes */
		p->fwd[i] = GW_SPLICE_NOT_YET;
		if (bpf_map_update_elem(sp->peer_fd, &p->cookie[i], &pe, BPF_ANY)) {
			err = -errno;
			why = err == -E2BIG ? GW_SPLICE_FB_FULL : GW_SPLICE_FB_OTHER;
			goto out;
		}
	}
	for (i = 0; i < 2; i++) {
		uint64_t v = (uint64_t)fds[i];

		if (bpf_map_update_elem(sp->hash_fd, &p->cookie[i], &v, BPF_NOEXIST)) {
			err = -errno;
			why = err == -E2BIG || err == -ENOSPC || err == -ENOMEM ? GW_SPLICE_FB_FULL
			      : err == -EOPNOTSUPP				? GW_SPLICE_FB_STATE
						   : GW_SPLICE_FB_OTHER;
			goto out;
		}
		inserted++;
	}
	/* Bytes that arrived before the insert sit in the receive queue where
	 * the verdict never looks until new data comes (pitfall 4 of the
	 * prototype). Re-setting SO_RCVLOWAT runs sk_data_ready now, which
	 * feeds the whole queue through the verdict: from here on every byte
	 * userspace can read has been counted in ctr.passed. */
	for (i = 0; i < 2; i++) {
		int lowat = 1;

		len = sizeof(lowat);
		getsockopt(fds[i], SOL_SOCKET, SO_RCVLOWAT, &lowat, &len);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
	}
	p->paired = true;
	gw_splice_stat_add(sp, GW_SPLICE_STARTED, 1);
	err = 0;
out:
	if (err) {
		for (i = 0; i < inserted; i++)
			bpf_map_delete_elem(sp->hash_fd, &p->cookie[i]);
		for (i = 0; i < 2; i++) {
			if (!p->cookie[i])
				continue;
			bpf_map_delete_elem(sp->peer_fd, &p->cookie[i]);
			bpf_map_delete_elem(sp->ctr_fd, &p->cookie[i]);
		}
		if (err == -E2BIG || err == -ENOMEM)
			err = -ENOSPC;
		if (why == GW_SPLICE_FB_STATE)
			err = -ENOTCONN;
		gw_splice_stat_add(sp, why, 1);
		pr_debug("splice: pair %d/%d falls back to userspace: %s", fd_a, fd_b,
			 strerror(-err));
		memset(p, 0, sizeof(*p));
	}
	return err;
}

int gw_splice_sync(struct gw_splice *sp, struct gw_splice_pair *p, int side)
{
	struct gw_splice_ctr c;
	struct gw_splice_peer pe;

	if (!sp || !p->paired || p->user_only[side] || p->fwd[side] == p->user_in[side])
		return 0;
	if (bpf_map_lookup_elem(sp->ctr_fd, &p->cookie[side], &c))
		return -errno;
	if (c.passed < p->user_in[side]) {
		/* userspace read bytes the verdict never counted: handing over
		 * now could let kernel bytes overtake them. Stay in userspace. */
		p->user_only[side] = true;
		gw_splice_stat_add(sp, GW_SPLICE_ACCOUNTING, 1);
		pr_warn("splice: byte accounting mismatch on a pair (%llu read, %llu passed); "
			"that direction stays in userspace",
			(unsigned long long)p->user_in[side], (unsigned long long)c.passed);
		return -EPROTO;
	}
	if (c.passed != p->user_in[side])
		return 0; /* more is queued for us: read it first, then sync again */
	pe.peer = p->cookie[1 - side];
	pe.fwd = p->user_in[side];
	if (bpf_map_update_elem(sp->peer_fd, &p->cookie[side], &pe, BPF_EXIST))
		return -errno;
	if (p->fwd[0] == GW_SPLICE_NOT_YET && p->fwd[1] == GW_SPLICE_NOT_YET)
		gw_splice_stat_add(sp, GW_SPLICE_HANDOVER, 1);
	p->fwd[side] = pe.fwd;
	return 0;
}

int gw_splice_drained(struct gw_splice *sp, struct gw_splice_pair *p, int side)
{
	struct gw_splice_ctr c;
	uint64_t w = 0, now;
	int other = 1 - side, err;

	if (!sp || !p->paired)
		return 1;
	now = gw_splice_now_ms();
	if (!p->eof_ms[side])
		p->eof_ms[side] = now;
	if (bpf_map_lookup_elem(sp->ctr_fd, &p->cookie[side], &c))
		return -errno;
	if (c.passed > p->user_in[side] && now - p->eof_ms[side] < GW_SPLICE_DRAIN_MAX_MS) {
		/* passed bytes the kernel queued behind redirected ones can
		 * still be on their way to the receive queue while recv()
		 * already reports EOF: read again before ending */
		return -EAGAIN;
	}
	err = gw_splice_written(p->fd[other], &w);
	if (err)
		return err;
	if (w - p->base[other] >= c.redir + p->user_out[other])
		return 1;
	if (now - p->eof_ms[side] >= GW_SPLICE_DRAIN_MAX_MS) {
		gw_splice_stat_add(sp, GW_SPLICE_DRAIN_TIMEOUT, 1);
		pr_warn("splice: %llu redirected bytes still not queued after %u ms; "
			"sending FIN anyway",
			(unsigned long long)(c.redir + p->user_out[other] - (w - p->base[other])),
			GW_SPLICE_DRAIN_MAX_MS);
		return 1;
	}
	return 0;
}

void gw_splice_unpair(struct gw_splice *sp, struct gw_splice_pair *p)
{
	struct gw_splice_ctr c;
	uint64_t bytes = 0;

	if (!sp || !p->paired)
		return;
	for (int i = 0; i < 2; i++) {
		bpf_map_delete_elem(sp->peer_fd, &p->cookie[i]);
		if (!bpf_map_lookup_elem(sp->ctr_fd, &p->cookie[i], &c))
			bytes += c.redir;
		bpf_map_delete_elem(sp->ctr_fd, &p->cookie[i]);
		bpf_map_delete_elem(sp->hash_fd, &p->cookie[i]);
	}
	gw_splice_stat_add(sp, GW_SPLICE_BYTES, bytes);
	gw_splice_stat_add(sp, GW_SPLICE_ENDED, 1);
	memset(p, 0, sizeof(*p));
}

/* ---- reading the pins without the daemon ---- */

static uint32_t gw_splice_count_keys(int fd)
{
	uint64_t key, next;
	uint32_t n = 0;
	void *prev = NULL;

	while (n < (1u << 24) && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

int gw_splice_read_stats(const char *bpffs, struct gw_splice_stats *st)
{
	struct gw_splice_stats_val v;
	char path[PATH_MAX];
	const char *dir = bpffs ? bpffs : GW_DP_BPFFS_DEFAULT;
	uint32_t zero = 0;
	int fd, err = 0;

	memset(st, 0, sizeof(*st));
	fd = bpf_obj_get(gw_splice_pin_path(dir, GW_PIN_SPLICE_STATS, path));
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (bpf_map_lookup_elem(fd, &zero, &v))
		err = -errno;
	close(fd);
	if (err)
		return err;
	memcpy(st->v, v.v, sizeof(st->v));
	st->loaded = access(gw_splice_pin_path(dir, GW_PIN_SPLICE_PROG, path), F_OK) == 0;
	fd = bpf_obj_get(gw_splice_pin_path(dir, GW_PIN_SPLICE_HASH, path));
	if (fd >= 0) {
		st->n_socks = gw_splice_count_keys(fd);
		close(fd);
	}
	fd = bpf_obj_get(gw_splice_pin_path(dir, GW_PIN_SPLICE_PEER, path));
	if (fd >= 0) {
		st->n_pairs = gw_splice_count_keys(fd);
		close(fd);
	}
	return 0;
}

int gw_splice_conns(const char *bpffs, gw_splice_conn_fn fn, void *arg)
{
	const char *dir = bpffs ? bpffs : GW_DP_BPFFS_DEFAULT;
	int pfd, cfd, err = 0, guard = 1 << 20;
	uint64_t key, next;
	char path[PATH_MAX];
	void *prev = NULL;

	pfd = bpf_obj_get(gw_splice_pin_path(dir, GW_PIN_SPLICE_PEER, path));
	if (pfd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	cfd = bpf_obj_get(gw_splice_pin_path(dir, GW_PIN_SPLICE_CTR, path));
	while (guard-- > 0 && bpf_map_get_next_key(pfd, prev, &next) == 0) {
		struct gw_splice_conn c = {.cookie = next};
		struct gw_splice_peer pe;
		struct gw_splice_ctr ct;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(pfd, &key, &pe))
			continue; /* gone while iterating */
		c.peer = pe.peer;
		if (cfd >= 0 && !bpf_map_lookup_elem(cfd, &key, &ct)) {
			c.passed = ct.passed;
			c.redir = ct.redir;
			c.handed_over = pe.fwd == ct.passed;
		}
		err = fn(&c, arg);
		if (err)
			break;
	}
	if (cfd >= 0)
		close(cfd);
	close(pfd);
	return err;
}
