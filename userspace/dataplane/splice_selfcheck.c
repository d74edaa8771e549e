/* dataplane/splice_selfcheck.c - the sk_skb splice's startup self-check
 * (gw_splice_selfcheck() in gwbpf/splice.h), run by gw_splice_open() before
 * any connection is spliced: a kernel whose sk_skb path loses or reorders
 * bytes leaves streams in the userspace relay instead.
 */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "gwbpf/abi/maps.h"
#include "gwbpf/log.h"
#include "gwbpf/splice.h"

#include "splice-int.h"

/* ---- startup self-check ----
 *
 * c1 -> s1 =splice= c2 -> s2 over loopback: a pattern written on c1 must come
 * out of s2 byte for byte (and s2 -> c1 the other way) with the kernel doing
 * the forwarding, and c1's FIN must reach s2 after the data. The relay part
 * is the protocol of gwbpf/splice.h in its smallest form.
 */

static int gw_splice_selfcheck_run(struct gw_splice *sp);

#define GW_SC_BYTES (4u << 20)
#define GW_SC_MS 3000

static uint8_t gw_sc_byte(uint64_t i, int dir)
{
	return (uint8_t)((i * 2654435761u) >> (dir ? 13 : 7));
}

struct gw_sc_relay {
	char buf[2][65536]; /* from side i, waiting to go to the other */
	size_t len[2], off[2];
	bool eof[2], shut[2];
};

/* gw_splice_loop_pair() : see splice-int.h */
int gw_splice_loop_pair(int lfd, const struct sockaddr_in *sa, int *cfd, int *sfd)
{
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0 || connect(*cfd, (const struct sockaddr *)sa, sizeof(*sa)) == -1)
		return -errno;
	*sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*sfd < 0)
		return -errno;
	fcntl(*cfd, F_SETFL, O_NONBLOCK);
	fcntl(*sfd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* gw_sc_relay_step() : one round of the userspace side of the relay */
static int gw_sc_relay_step(struct gw_splice *sp, struct gw_splice_pair *p, struct gw_sc_relay *r)
{
	for (int i = 0; i < 2; i++) {
		int o = 1 - i;
		ssize_t n;

		if (!r->len[i] && !r->eof[i]) {
			n = read(p->fd[i], r->buf[i], sizeof(r->buf[i]));
			if (n > 0) {
				r->len[i] = (size_t)n;
				r->off[i] = 0;
				gw_splice_note(p, i, (size_t)n, 0);
			} else if (n == 0) {
				r->eof[i] = true;
			} else if (errno != EAGAIN) {
				return -errno;
			}
		}
		if (r->len[i]) {
			n = write(p->fd[o], r->buf[i] + r->off[i], r->len[i]);
			if (n < 0 && errno != EAGAIN)
				return -errno;
			if (n > 0) {
				r->off[i] += (size_t)n;
				r->len[i] -= (size_t)n;
				gw_splice_note(p, o, 0, (size_t)n);
			}
		}
		if (!r->len[i])
			gw_splice_sync(sp, p, i);
		if (r->eof[i] && !r->len[i] && !r->shut[i]) {
			int d = gw_splice_drained(sp, p, i);

			if (d == -EAGAIN)
				r->eof[i] = false;
			if (d <= 0)
				continue;
			shutdown(p->fd[o], SHUT_WR);
			r->shut[i] = true;
		}
	}
	return 0;
}

/* gw_sc_io() : fd writes the rest of pattern dir (then FIN) and reads
 * pattern 1 - dir; sent/got advance; *bad on a wrong byte, *eof at EOF */
static void gw_sc_io(int fd, int dir, uint64_t *sent, uint64_t *got, bool *bad, bool *eof)
{
	uint8_t b[16384];
	ssize_t n;

	if (*sent < GW_SC_BYTES) {
		size_t k = GW_MIN(sizeof(b), (size_t)(GW_SC_BYTES - *sent));

		for (size_t i = 0; i < k; i++)
			b[i] = gw_sc_byte(*sent + i, dir);
		n = write(fd, b, k);
		if (n > 0)
			*sent += (uint64_t)n;
		if (*sent == GW_SC_BYTES)
			shutdown(fd, SHUT_WR);
	}
	n = read(fd, b, sizeof(b));
	if (n == 0)
		*eof = true;
	for (ssize_t i = 0; i < n; i++)
		if (b[i] != gw_sc_byte(*got + (uint64_t)i, 1 - dir))
			*bad = true;
	if (n > 0)
		*got += (uint64_t)n;
}

/* gw_sc_bypass() : a restarted daemon may already sit in a cgroup whose
 * pinned sockops link puts the self-check's own loopback sockets into the
 * sk_msg bypass, and sk_msg would then carry the test bytes past the
 * verdict. The self-check switches the bypass off around itself (safe at
 * any time: new writes take TCP, delivered bytes are read first, docs/bpf.md)
 * and restores it. on = false: switch off, returns whether it was on. */
static bool gw_sc_bypass(struct gw_splice *sp, bool on, bool was_on)
{
	char path[PATH_MAX];
	struct gw_config cfg;
	uint32_t zero = 0;
	bool ret = false;
	int fd;

	fd = bpf_obj_get(gw_splice_pin_path(sp->dir, GW_PIN_CONFIG, path));
	if (fd < 0)
		return false;
	if (!bpf_map_lookup_elem(fd, &zero, &cfg)) {
		if (!on && (cfg.flags & GW_CFG_F_BYPASS)) {
			cfg.flags &= ~GW_CFG_F_BYPASS;
			ret = bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY) == 0;
		} else if (on && was_on) {
			cfg.flags |= GW_CFG_F_BYPASS;
			bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY);
		}
	}
	close(fd);
	return ret;
}

int gw_splice_selfcheck(struct gw_splice *sp)
{
	bool bypass_was_on = gw_sc_bypass(sp, false, false);
	int err = gw_splice_selfcheck_run(sp);

	gw_sc_bypass(sp, true, bypass_was_on);
	return err;
}

static int gw_splice_selfcheck_run(struct gw_splice *sp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sa);
	int lfd = -1, c1 = -1, s1 = -1, c2 = -1, s2 = -1, err;
	uint64_t sent[2] = {}, got[2] = {}, deadline, redir = 0;
	bool bad = false, eof[2] = {};
	struct gw_splice_pair p;
	struct gw_sc_relay *r = NULL;
	const char *why = "setup";
	struct gw_splice_ctr c;

	memset(&p, 0, sizeof(p));
	r = calloc(1, sizeof(*r));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!r || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 4) == -1 || getsockname(lfd, (struct sockaddr *)&sa, &slen) == -1) {
		err = -errno;
		goto out;
	}
	err = gw_splice_loop_pair(lfd, &sa, &c1, &s1);
	if (!err)
		err = gw_splice_loop_pair(lfd, &sa, &c2, &s2);
	if (err)
		goto out;
	/* the first byte each way is written before pairing: it must not be
	 * stranded in the receive queue */
	for (int d = 0; d < 2; d++) {
		uint8_t b0 = gw_sc_byte(0, d);

		if (write(d ? s2 : c1, &b0, 1) != 1) {
			err = -EIO;
			goto out;
		}
		sent[d] = 1;
	}
	/* the relay reads them first (a partly read queue is never paired):
	 * they are still in its buffers when the splice starts */
	for (int d = 0, tries = 0; d < 2 && tries < 1000; tries++) {
		int fd = d ? c2 : s1;
		ssize_t n = read(fd, r->buf[d], 1);

		if (n == 1)
			r->len[d] = 1, d++;
		else
			poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 1);
	}
	err = gw_splice_pair_opt(sp, s1, c2, &p, false);
	if (err) {
		why = "insert";
		goto out;
	}
	deadline = gw_splice_now_ms() + GW_SC_MS;
	while (!(eof[0] && eof[1]) && !bad && gw_splice_now_ms() < deadline) {
		struct pollfd pf[4] = {
		    {.fd = s1, .events = POLLIN},
		    {.fd = c2, .events = POLLIN},
		    {.fd = c1, .events = POLLIN | POLLOUT},
		    {.fd = s2, .events = POLLIN | POLLOUT},
		};

		poll(pf, 4, 1);
		err = gw_sc_relay_step(sp, &p, r);
		if (err) {
			why = "relay";
			goto out;
		}
		gw_sc_io(c1, 0, &sent[0], &got[1], &bad, &eof[1]);
		gw_sc_io(s2, 1, &sent[1], &got[0], &bad, &eof[0]);
	}
	if (!bpf_map_lookup_elem(sp->ctr_fd, &p.cookie[0], &c))
		redir += c.redir;
	if (!bpf_map_lookup_elem(sp->ctr_fd, &p.cookie[1], &c))
		redir += c.redir;
	if (bad)
		why = "corrupted bytes";
	else if (!(eof[0] && eof[1]))
		why = "no end of stream in time";
	else if (got[0] != GW_SC_BYTES || got[1] != GW_SC_BYTES)
		why = "wrong byte count";
	else if (!redir)
		why = "the kernel never took over";
	else
		why = NULL;
	err = why ? -EIO : 0;
out:
	gw_splice_unpair(sp, &p);
	if (err)
		pr_warn("splice: self-check failed (%s%s%s): sk_skb splice disabled, streams stay "
			"in the userspace relay",
			why, err == -EIO ? "" : ": ", err == -EIO ? "" : strerror(-err));
	else
		pr_info("splice: self-check passed (%u bytes each way, %llu by the kernel)",
			GW_SC_BYTES, (unsigned long long)redir);
	{
		int fds[] = {lfd, c1, s1, c2, s2};

		for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	free(r);
	return err ? -EIO : 0;
}
