/* cli/cmd_run.c - `gwbpf run`: the daemon.
 *
 * Pipeline: file source -> store -> gw_translate() -> snapshot published to
 * the proxy workers (and to the BPF data plane unless --no-bpf). The main
 * thread runs its own loop for everything that is not request traffic:
 * inotify (debounced by the source), signals (signalfd), and the admin
 * server. A reload that fails keeps the last good snapshot serving; only
 * the diagnostics change.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: see proxy/loop.c */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gwbpf/admin.h"
#include "gwbpf/cli.h"
#include "gwbpf/dataplane.h"
#include "gwbpf/diag.h"
#include "gwbpf/h2.h"
#include "gwbpf/handoff.h"
#include "gwbpf/ifaddrs.h"
#include "gwbpf/ir.h"
#include "gwbpf/kube.h"
#include "gwbpf/l4.h"
#include "gwbpf/log.h"
#include "gwbpf/loop.h"
#include "gwbpf/metrics.h"
#include "gwbpf/proxy.h"
#include "gwbpf/route_stats.h"
#include "gwbpf/source.h"
#include "gwbpf/steer.h"
#include "gwbpf/splice.h"
#include "gwbpf/translate.h"
#include "gwbpf/xdp.h"

#define GW_RUN_MAX_PATHS 64
#define GW_RUN_MAX_IFACES 16
#define GW_RUN_DRAIN_MS 10000
#define GW_RUN_HANDOFF_FETCH_MS 3000  /* the predecessor answers at once */
#define GW_RUN_HANDOFF_READY_MS 30000 /* admin address retries after a handover */
#define GW_RUN_ADMIN_RETRY_MS 100

/* --bpf mechanisms; the default is what `make bench` showed wins (docs/bpf.md) */
#define GW_RUN_BPF_MSG    0x1u
#define GW_RUN_BPF_SPLICE 0x2u
#define GW_RUN_BPF_STEER  0x4u
#define GW_RUN_BPF_DEFAULT GW_RUN_BPF_MSG
#define GW_RUN_BPF_DEFAULT_STR "msg"

struct gw_run {
	struct gw_loop *loop;
	struct gw_proxy *proxy;
	struct gw_admin *admin;
	struct gw_file_source *src;     /* --config, or */
	struct gw_kube_source *ks;      /* --kube / --kubeconfig */
	struct gw_kube_config kcfg;
	const char *bpffs;              /* --bpffs; NULL = default */
	struct gw_io ks_io;
	struct gw_translation *t; /* last good translation (its ir is serving) */
	struct gw_translate_opts topts;
	struct gw_dataplane *dp;
	struct gw_splice *splice;       /* --bpf splice (NULL = off) */
	struct gw_xdp *xdp;
	struct gw_metrics *metrics;
	struct gw_io src_io;
	struct gw_io sig_io;
	struct gw_timer reload_timer;
	struct gw_timer loan_timer; /* L7 forwarding housekeeping (steer) */
	int sigfd;
	uint64_t generation;
	uint64_t reloads_ok, reloads_failed;
	bool last_reload_ok;
	bool stopping;
	/* graceful restart (--handoff; docs/operations.md) */
	const char *admin_addr;
	const char *handoff_path;       /* NULL = no handoff */
	struct gw_handoff_server *hsrv; /* hands our sockets to a successor */
	int hconn;                      /* to the predecessor until we are ready, or -1 */
	uint64_t admin_deadline;        /* ms: stop retrying the admin address */
	struct gw_timer handoff_timer;
	struct gw_timer admin_timer;
	bool failed;                    /* a fatal error after the loop started */
	bool admin_waiting;             /* the admin address was in use: retrying */
	bool handed_over;               /* a successor serves our listening sockets */
	bool signalled;                 /* SIGTERM/SIGINT received */
	uint64_t handover_ms;           /* when we handed over (gw_now_ms) */
	struct gw_timer linger_timer;
	struct gw_handoff_streams *streams; /* spliced streams a predecessor handed us */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: gwbpf run --config PATH... | --kube [--kubeconfig FILE]\n"
		"                 [--admin ADDR] [--address-pool CIDR] [--listen-address IP]\n"
		"                 [--no-bpf] [--bpf LIST] [--workers N] [--bpffs DIR] [--cgroup DIR]\n"
		"                 [--xdp-iface IF]... [--access-log PATH|off]\n"
		"                 [--header-timeout MS] [--idle-timeout MS] [--drain-timeout MS]\n"
		"                 [--l4-idle-timeout MS] [--udp-idle-timeout MS] [--handoff PATH]\n\n"
		"Serves the Gateways found in PATH (files or folders of manifests, watched\n"
		"for changes). --admin (default 127.0.0.1:9901) serves /healthz, /readyz,\n"
		"/status and /metrics. SIGTERM or SIGINT stops accepting, drains, exits 0.\n"
		"--bpf picks the kernel mechanisms, comma-separated: msg (sk_msg local\n"
		"bypass), splice (sk_skb splice of upgraded streams), steer (plain L7\n"
		"requests served in the kernel), or none; default " GW_RUN_BPF_DEFAULT_STR " (docs/bpf.md).\n"
		"With --kube, Services whose endpoints are loopback, link-local or the admin\n"
		"address are refused (docs/security.md); --allow-local-endpoints permits\n"
		"them (tests, single-node development clusters). --max-conns N caps client\n"
		"connections per worker (idle ones are shed first); --body-idle-timeout and\n"
		"--body-timeout (MS, default 30000 and 60000) cut a trickled request body (408).\n"
		"--admin must be a loopback address unless --admin-public is given.\n"
		"--handoff PATH: graceful restart. A daemon listens on the Unix socket PATH;\n"
		"a new one started with the same PATH takes its listening sockets (no\n"
		"connection refused or lost), then the old one drains and exits 0\n"
		"(docs/operations.md). Without a daemon on PATH it starts normally.\n");
}

static void log_diags(const struct gw_diag_list *dl)
{
	char buf[1024];
	size_t i;

	for (i = 0; i < dl->n; i++) {
		gw_diag_format(&dl->v[i], buf, sizeof(buf));
		if (dl->v[i].severity == GW_DIAG_ERROR)
			pr_warn("config: %s", buf);
		else
			pr_info("config: %s", buf);
	}
}

/* publish() : translates the source's store and hands the snapshot out.
 * Returns 0, or -errno with the previous snapshot left serving. */
static int publish(struct gw_run *r)
{
	struct gw_translation *t = NULL;
	int err;

	const struct gw_store *store = r->ks ? gw_kube_source_store(r->ks) :
					       gw_file_source_store(r->src);

	if (!store)
		return -EAGAIN; /* the API server has not been listed yet */
	r->topts.now = (int64_t)time(NULL);
	err = gw_translate(store, &r->topts, &t);
	if (err) {
		pr_warn("run: translation failed (%s); the previous configuration keeps serving",
			strerror(-err));
		return err;
	}
	log_diags(&t->diags);
	if (!t->ir) {
		gw_translation_free(t);
		return -EINVAL;
	}
	t->ir->generation = ++r->generation;
	err = gw_proxy_publish(r->proxy, t->ir);
	if (err) {
		gw_translation_free(t);
		return err;
	}
	if (r->dp) {
		err = gw_dataplane_sync(r->dp, t->ir);
		if (err)
			pr_warn("run: BPF data plane sync: %s (userspace keeps serving)",
				strerror(-err));
	}
	if (r->xdp) {
		err = gw_xdp_set_listeners(r->xdp, t->ir);
		if (err)
			pr_warn("run: XDP listeners: %s", strerror(-err));
	}
	pr_info("run: snapshot %llu published: %zu binds, %zu clusters",
		(unsigned long long)r->generation, t->ir->n_binds, t->ir->n_clusters);
	gw_translation_free(r->t);
	r->t = t;
	/* the writer thread copies what it needs; only the Lease holder writes */
	if (r->ks && gw_kube_source_set_status(r->ks, t))
		pr_warn("run: status writer: out of memory; status not written this time");
	return 0;
}

static void kube_io_cb(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_run *r = io->data;
	bool changed = false;
	int err;

	if (gw_kube_source_handle(r->ks, &changed) || !changed)
		return;
	err = publish(r);
	r->last_reload_ok = !err;
	gw_metrics_reload(r->metrics, !err);
	if (err)
		r->reloads_failed++;
	else
		r->reloads_ok++;
}

static void reload_cb(struct gw_loop *loop, struct gw_timer *tm)
{
	struct gw_run *r = tm->data;
	struct gw_diag_list diags = { 0 };
	bool changed = false;
	int err;

	err = gw_file_source_reload(r->src, &diags, &changed);
	log_diags(&diags);
	gw_diag_list_free(&diags);
	if (err)
		pr_warn("run: reload found errors; invalid objects keep their last good version");
	if (!changed && err) {
		/* nothing applied (unreadable or broken file): a failed reload
		 * for /metrics and /readyz's last_reload, the last good keeps serving */
		r->last_reload_ok = false;
		gw_metrics_reload(r->metrics, false);
		r->reloads_failed++;
		goto rearm;
	}
	if (!changed) {
		pr_debug("run: reload: no change");
		goto rearm;
	}
	err = publish(r);
	r->last_reload_ok = !err;
	gw_metrics_reload(r->metrics, !err);
	if (err)
		r->reloads_failed++;
	else
		r->reloads_ok++;
rearm:
	/* events that arrived meanwhile may have set a new deadline */
	if (gw_file_source_deadline(r->src)) {
		uint64_t d = gw_file_source_deadline(r->src), now = gw_now_ms();

		gw_loop_add_timer(loop, &r->reload_timer, d > now ? d - now : 0, reload_cb, r);
	}
}

static void src_io_cb(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_run *r = io->data;
	uint64_t now = gw_now_ms(), d;

	gw_file_source_handle(r->src, now);
	d = gw_file_source_deadline(r->src);
	if (d)
		gw_loop_add_timer(loop, &r->reload_timer, d > now ? d - now : 0, reload_cb, r);
}

static void sig_io_cb(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	struct gw_run *r = io->data;
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			pr_info("run: signal %u: draining", si.ssi_signo);
			r->stopping = true;
			r->signalled = true;
			gw_loop_stop(loop);
		}
	}
}

/* ---- admin callbacks ---- */

static bool admin_ready(void *arg)
{
	struct gw_run *r = arg;

	return r->t && gw_proxy_ready(r->proxy);
}

static char *admin_status(void *arg)
{
	struct gw_run *r = arg;
	json_t *doc;
	char *s;

	if (!r->t)
		return NULL;
	doc = gw_translation_status_list(r->t);
	if (!doc)
		return NULL;
	s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return s;
}

/* admin_routes() : /status/routes, requests per route kept in the kernel vs
 * served by the proxy (route_stats.c) */
static char *admin_routes(void *arg)
{
	struct gw_run *r = arg;

	return r->t ? gw_route_stats_json(r->t->ir, r->metrics, r->dp != NULL, r->bpffs) : NULL;
}

/* splice_metrics() : the sk_skb splice's counters (pinned stats map) */
static void splice_metrics(const char *bpffs, FILE *f)
{
	struct gw_splice_stats st;

	if (gw_splice_read_stats(bpffs, &st))
		return;
	fprintf(f, "# HELP gwbpf_splice_sockets Sockets in the sk_skb splice sockhash.\n"
		   "# TYPE gwbpf_splice_sockets gauge\ngwbpf_splice_sockets %u\n"
		   "# HELP gwbpf_splice_bytes_total Bytes the kernel forwarded for ended splices.\n"
		   "# TYPE gwbpf_splice_bytes_total counter\ngwbpf_splice_bytes_total %llu\n"
		   "# HELP gwbpf_splice_events_total Splices started, ended, fallbacks by reason.\n"
		   "# TYPE gwbpf_splice_events_total counter\n",
		st.n_socks, (unsigned long long)st.v[GW_SPLICE_BYTES]);
	for (unsigned int i = 0; i < GW_SPLICE_STAT_END; i++) {
		const char *name = gw_splice_stat_name(i);

		if (name && i != GW_SPLICE_BYTES)
			fprintf(f, "gwbpf_splice_events_total{event=\"%s\"} %llu\n", name,
				(unsigned long long)st.v[i]);
	}
}

/* route_metric() : one route match's requests kept in the kernel (L7
 * forwarding), labelled from the snapshot being served */
struct route_metrics {
	const struct gw_ir *ir;
	FILE *f;
};

static int route_metric(const struct gw_dp_route_count *rc, void *arg)
{
	struct route_metrics *x = arg;
	const struct gw_ir_listener *l;
	const struct gw_ir_vhost *vh;
	const struct gw_ir_action *a;
	const struct gw_ir_match *m;

	if (rc->bind >= x->ir->n_binds || rc->listener >= x->ir->binds[rc->bind].n_listeners)
		return 0;
	l = &x->ir->binds[rc->bind].listeners[rc->listener];
	if (rc->vhost >= l->n_vhosts || rc->match >= l->vhosts[rc->vhost].n_matches)
		return 0;
	vh = &l->vhosts[rc->vhost];
	m = &vh->matches[rc->match];
	if (m->action >= vh->n_actions)
		return 0;
	a = &vh->actions[m->action];
	/* counters of an older snapshot's indices may be labelled wrongly for
	 * a moment after a reload: documented (docs/bpf.md) */
	fprintf(x->f,
		"gwbpf_bpf_route_requests_total{route=\"%s\",rule=\"%u\",listener=\"%s/%s\","
		"host=\"%s\",match=\"%u\"} %llu\n",
		a->route ? a->route : "", a->rule_index, l->gateway ? l->gateway : "",
		l->name ? l->name : "", vh->hostname ? vh->hostname : "*", rc->match,
		(unsigned long long)rc->requests);
	return 0;
}

static void dataplane_metrics(const char *bpffs, FILE *f)
{
	struct gw_dataplane_stats st;

	if (gw_dataplane_stats(bpffs, &st))
		return;
	fprintf(f, "# HELP gwbpf_bpf_sockets Sockets in the sk_msg bypass sockhash.\n"
		   "# TYPE gwbpf_bpf_sockets gauge\ngwbpf_bpf_sockets %u\n"
		   "# HELP gwbpf_bpf_messages_total sk_msg verdicts by reason.\n"
		   "# TYPE gwbpf_bpf_messages_total counter\n",
		st.n_socks);
	for (unsigned int i = 0; i < GW_REASON_MAX; i++) {
		const char *name = gw_dataplane_reason_name(i);

		if (name && st.reasons[i].count)
			fprintf(f, "gwbpf_bpf_messages_total{reason=\"%s\"} %llu\n", name,
				(unsigned long long)st.reasons[i].count);
	}
	fprintf(f, "# HELP gwbpf_bpf_bytes_total sk_msg bytes by reason.\n"
		   "# TYPE gwbpf_bpf_bytes_total counter\n");
	for (unsigned int i = 0; i < GW_REASON_MAX; i++) {
		const char *name = gw_dataplane_reason_name(i);

		if (name && st.reasons[i].bytes)
			fprintf(f, "gwbpf_bpf_bytes_total{reason=\"%s\"} %llu\n", name,
				(unsigned long long)st.reasons[i].bytes);
	}
}

static char *admin_metrics(void *arg)
{
	struct gw_run *r = arg;
	struct gw_proxy_stats st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const char *const cls[6] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
	int i;

	if (!f)
		return NULL;
	gw_proxy_stats(r->proxy, &st);
	fprintf(f, "# HELP gwbpf_up 1 while the daemon runs.\n# TYPE gwbpf_up gauge\n"
		   "gwbpf_up 1\n");
	fprintf(f, "# HELP gwbpf_proxy_requests_total Request heads received.\n"
		   "# TYPE gwbpf_proxy_requests_total counter\n"
		   "gwbpf_proxy_requests_total %llu\n",
		(unsigned long long)st.requests);
	fprintf(f, "# HELP gwbpf_proxy_responses_total Responses by status class.\n"
		   "# TYPE gwbpf_proxy_responses_total counter\n");
	for (i = 0; i < 6; i++)
		fprintf(f, "gwbpf_proxy_responses_total{code=\"%s\"} %llu\n", cls[i],
			(unsigned long long)st.responses[i]);
	fprintf(f, "# TYPE gwbpf_proxy_connections_accepted_total counter\n"
		   "gwbpf_proxy_connections_accepted_total %llu\n"
		   "# TYPE gwbpf_proxy_connections_active gauge\n"
		   "gwbpf_proxy_connections_active %llu\n"
		   "# TYPE gwbpf_proxy_upstream_connects_total counter\n"
		   "gwbpf_proxy_upstream_connects_total %llu\n"
		   "# TYPE gwbpf_proxy_upstream_connect_errors_total counter\n"
		   "gwbpf_proxy_upstream_connect_errors_total %llu\n"
		   "# TYPE gwbpf_proxy_upstream_reused_total counter\n"
		   "gwbpf_proxy_upstream_reused_total %llu\n"
		   "# TYPE gwbpf_proxy_bytes_received_total counter\n"
		   "gwbpf_proxy_bytes_received_total %llu\n"
		   "# TYPE gwbpf_proxy_bytes_sent_total counter\n"
		   "gwbpf_proxy_bytes_sent_total %llu\n"
		   "# TYPE gwbpf_proxy_listeners gauge\n"
		   "gwbpf_proxy_listeners %llu\n"
		   "# TYPE gwbpf_snapshot_generation gauge\n"
		   "gwbpf_snapshot_generation %llu\n",
		(unsigned long long)st.conns_accepted, (unsigned long long)st.conns_active,
		(unsigned long long)st.upstream_connects,
		(unsigned long long)st.upstream_connect_errors,
		(unsigned long long)st.upstream_reused, (unsigned long long)st.bytes_in,
		(unsigned long long)st.bytes_out, (unsigned long long)st.listeners,
		(unsigned long long)st.snapshot_generation);
	fprintf(f, "# HELP gwbpf_proxy_body_timeouts_total Request bodies cut for slowness (408).\n"
		   "# TYPE gwbpf_proxy_body_timeouts_total counter\n"
		   "gwbpf_proxy_body_timeouts_total %llu\n"
		   "# HELP gwbpf_proxy_connections_shed_total Idle connections closed at the cap.\n"
		   "# TYPE gwbpf_proxy_connections_shed_total counter\n"
		   "gwbpf_proxy_connections_shed_total %llu\n"
		   "# HELP gwbpf_proxy_connections_refused_total Closed at the cap, none idle.\n"
		   "# TYPE gwbpf_proxy_connections_refused_total counter\n"
		   "gwbpf_proxy_connections_refused_total %llu\n",
		(unsigned long long)st.body_timeouts, (unsigned long long)st.conns_shed,
		(unsigned long long)st.conns_refused);
	gw_l4_metrics_print(f);
	if (r->metrics) {
		/* the registry's families first; it says when the buffer is short */
		size_t cap = 64 * 1024;
		char *reg = NULL;
		int n = -ENOSPC;

		while (n == -ENOSPC && cap <= 64u * 1024 * 1024) {
			char *nb = realloc(reg, cap);

			if (!nb)
				break;
			reg = nb;
			n = gw_metrics_render(r->metrics, reg, cap);
			cap *= 2;
		}
		if (n > 0)
			fwrite(reg, 1, (size_t)n, f);
		free(reg);
	}
	/* kernel paths: XDP per listener and reason, sk_msg bypass by reason */
	if (r->xdp)
		gw_xdp_metrics(r->xdp, f);
	if (r->dp)
		dataplane_metrics(r->bpffs, f);
	if (r->dp && r->t && gw_dataplane_steer_maps(r->dp)) {
		struct route_metrics x = { .ir = r->t->ir, .f = f };

		fprintf(f, "# HELP gwbpf_bpf_route_requests_total Requests forwarded by the kernel "
			   "(L7 forwarding), per route match.\n"
			   "# TYPE gwbpf_bpf_route_requests_total counter\n");
		gw_dataplane_route_counts(r->bpffs, route_metric, &x);
	}
	if (r->splice)
		splice_metrics(r->bpffs, f);
	fclose(f);
	return buf;
}

static const struct gw_admin_ops admin_ops = {
	.ready = admin_ready,
	.status = admin_status,
	.metrics = admin_metrics,
	.routes = admin_routes,
};

/* parse_bpf() : "msg,splice,steer" | "none" into GW_RUN_BPF_* */
static int parse_bpf(const char *s, uint32_t *out)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "msg"))
			*out |= GW_RUN_BPF_MSG;
		else if (!strcmp(tok, "splice"))
			*out |= GW_RUN_BPF_SPLICE;
		else if (!strcmp(tok, "steer"))
			*out |= GW_RUN_BPF_STEER;
		else if (strcmp(tok, "none"))
			return -EINVAL;
	}
	return 0;
}

/* loan_tick() : closes dead loaned backend connections, opens replacements */
static void loan_tick(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_run *r = t->data;

	gw_dataplane_loan_tick(r->dp);
	gw_loop_add_timer(loop, &r->loan_timer, 100, loan_tick, r);
}

/* admin_local() : the admin address is on loopback (127.0.0.0/8, ::1): the
 * admin endpoint tells a lot (config, status, counters) and is
 * unauthenticated, so by default only the node itself may reach it */
static bool admin_local(const char *addr)
{
	struct sockaddr_storage ss;
	unsigned int len;

	if (gw_admin_parse_addr(addr, &ss, &len))
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	return false;
}

/* ---- graceful restart ---- */

static int handoff_sockets(void *arg, struct gw_proxy_sock **socks, size_t *n)
{
	struct gw_run *r = arg;

	return gw_proxy_listener_fds(r->proxy, socks, n);
}

/* handoff_over() : a successor serves on our listening sockets: let go of
 * the admin address (it binds it next) and drain like SIGTERM, softly */
static void handoff_over(void *arg)
{
	struct gw_run *r = arg;

	gw_admin_free(r->admin);
	r->admin = NULL;
	r->handed_over = true;
	r->handover_ms = gw_now_ms();
	gw_proxy_set_handed_over(r->proxy);
	r->stopping = true;
	gw_loop_stop(r->loop);
}

/* handoff_streams() : our spliced tunnels and the streams we kept for our
 * own predecessor, for the successor */
static int handoff_streams(void *arg, struct gw_proxy_stream **v, size_t *n)
{
	struct gw_run *r = arg;
	struct gw_proxy_stream *a = NULL, *b = NULL, *all;
	size_t na = 0, nb = 0;
	int err;

	err = gw_proxy_export_streams(r->proxy, 1000, &a, &na);
	if (err)
		return err;
	if (r->streams && gw_handoff_streams_export(r->streams, &b, &nb))
		nb = 0;
	all = realloc(a, (na + nb ? na + nb : 1) * sizeof(*all));
	if (!all) {
		/* streams already forgotten by their owners end with us */
		for (size_t i = 0; i < na; i++) {
			close(a[i].fd[0]);
			close(a[i].fd[1]);
		}
		for (size_t i = 0; i < nb; i++) {
			close(b[i].fd[0]);
			close(b[i].fd[1]);
		}
		free(a);
		free(b);
		return -ENOMEM;
	}
	if (nb)
		memcpy(all + na, b, nb * sizeof(*b));
	free(b);
	*v = all;
	*n = na + nb;
	return 0;
}

static const struct gw_handoff_ops handoff_ops = {
	.sockets = handoff_sockets,
	.streams = handoff_streams,
	.handed_over = handoff_over,
};

static void admin_retry(struct gw_loop *loop, struct gw_timer *t);

static void linger_done(struct gw_loop *loop, struct gw_timer *t)
{
	gw_loop_stop(loop);
}

/* linger() : after a handover, drained early: stay (serving nothing) until
 * SIGTERM or the drain deadline. A supervisor that restarts a process which
 * exits (a pod's restartPolicy: Always) would otherwise start it again at
 * once, and the restarted one would take the sockets back from the
 * successor (docs/operations.md). */
static void linger(struct gw_run *r, uint32_t drain_ms)
{
	uint64_t end = r->handover_ms + drain_ms, now = gw_now_ms();

	if (!r->handed_over || r->signalled || now >= end)
		return;
	/* nothing may publish any more: the successor owns the maps */
	if (r->src)
		gw_loop_del_fd(r->loop, &r->src_io);
	if (r->ks)
		gw_loop_del_fd(r->loop, &r->ks_io);
	gw_loop_del_timer(r->loop, &r->reload_timer);
	gw_loop_del_timer(r->loop, &r->loan_timer);
	pr_info("run: handed over and drained; exiting on SIGTERM or in %llu ms",
		(unsigned long long)(end - now));
	gw_loop_add_timer(r->loop, &r->linger_timer, end - now, linger_done, r);
	gw_loop_run(r->loop);
	gw_loop_del_timer(r->loop, &r->linger_timer);
}

/* start_admin() : the admin endpoint, then the handoff socket for a
 * successor. While a predecessor still holds the admin address (it lets go
 * when it drains), retries until admin_deadline. 0 (up, or retry armed) or
 * -errno. */
static int start_admin(struct gw_run *r)
{
	r->admin = gw_admin_new(r->loop, r->admin_addr, &admin_ops, r);
	if (!r->admin) {
		int err = -errno;

		if (err == -EADDRINUSE && r->handoff_path && gw_now_ms() < r->admin_deadline) {
			if (!r->admin_waiting)
				pr_info("run: admin address %s in use (by the daemon we replace?); "
					"retrying",
					r->admin_addr);
			r->admin_waiting = true;
			gw_loop_add_timer(r->loop, &r->admin_timer, GW_RUN_ADMIN_RETRY_MS,
					  admin_retry, r);
			return 0;
		}
		pr_err("run: admin address %s: %s", r->admin_addr, strerror(-err));
		return err;
	}
	pr_info("run: admin on %s", r->admin_addr);
	if (r->handoff_path && !r->hsrv) {
		r->hsrv = gw_handoff_server_new(r->loop, r->handoff_path, &handoff_ops, r);
		if (!r->hsrv)
			pr_warn("run: --handoff %s: %s; a successor will start without our sockets",
				r->handoff_path, strerror(errno));
	}
	return 0;
}

static void admin_retry(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_run *r = t->data;

	if (start_admin(r)) {
		r->failed = true;
		gw_loop_stop(loop);
	}
}

/* handoff_tick() : once every worker serves (on the inherited sockets), tell
 * the predecessor, which drains; then take the admin address. Not ready
 * yet and the predecessor gave up or went away: the inherited sockets are
 * still good (we hold them), they are served once we are ready. */
static void handoff_tick(struct gw_loop *loop, struct gw_timer *t)
{
	struct gw_run *r = t->data;
	struct gw_proxy_stream *streams = NULL;
	size_t taken, n_streams = 0;
	int err;

	if (!gw_proxy_ready(r->proxy)) {
		if (r->hconn >= 0 && !gw_handoff_waiting(r->hconn)) {
			pr_warn("handoff: the predecessor stopped waiting before we served; its "
				"sockets are served once the first snapshot is");
			close(r->hconn);
			r->hconn = -1;
			r->admin_deadline = UINT64_MAX;
			if (start_admin(r)) {
				r->failed = true;
				gw_loop_stop(loop);
				return;
			}
		}
		gw_loop_add_timer(loop, &r->handoff_timer, 20, handoff_tick, r);
		return;
	}
	taken = gw_proxy_inherit_done(r->proxy);
	if (r->hconn < 0) {
		pr_info("handoff: serving (%zu inherited sockets in use)", taken);
		return;
	}
	err = gw_handoff_ready(r->hconn, GW_RUN_HANDOFF_FETCH_MS, &streams, &n_streams);
	r->hconn = -1;
	if (n_streams)
		pr_info("handoff: keeping %zu spliced streams of the predecessor",
			gw_handoff_streams_adopt(r->streams, streams, n_streams));
	free(streams);
	if (err)
		pr_warn("handoff: the predecessor did not confirm (%s); serving anyway",
			strerror(-err));
	else
		pr_info("handoff: took over (%zu inherited sockets in use); the predecessor drains",
			taken);
	/* it let go of the admin address before it confirmed; retry a while
	 * in case its close is slow */
	r->admin_deadline = gw_now_ms() + GW_RUN_HANDOFF_READY_MS;
	if (start_admin(r)) {
		r->failed = true;
		gw_loop_stop(loop);
	}
}

static int parse_ms(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v == 0 || v > 86400000ul)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int gw_cmd_run(int argc, char **argv)
{
	enum {
		OPT_CONFIG = 256, OPT_KUBE, OPT_KUBECONFIG, OPT_ADMIN, OPT_POOL, OPT_LISTEN,
		OPT_BPF, OPT_SPLICE_MAX, OPT_NOBPF, OPT_WORKERS, OPT_BPFFS, OPT_CGROUP, OPT_XDP, OPT_ALOG, OPT_HDR_TO,
		OPT_IDLE_TO, OPT_DRAIN_TO, OPT_ALLOW_LOCAL, OPT_ADMIN_PUBLIC, OPT_BODY_IDLE_TO,
		OPT_BODY_TO, OPT_MAX_CONNS, OPT_L4_IDLE_TO, OPT_UDP_IDLE_TO, OPT_HANDOFF, OPT_HELP,
	};
	static const struct option opts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "kube", no_argument, NULL, OPT_KUBE },
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "admin", required_argument, NULL, OPT_ADMIN },
		{ "address-pool", required_argument, NULL, OPT_POOL },
		{ "listen-address", required_argument, NULL, OPT_LISTEN },
		{ "no-bpf", no_argument, NULL, OPT_NOBPF },
		{ "bpf", required_argument, NULL, OPT_BPF },
		/* diagnostic, not in usage: a tiny splice map for fallback tests */
		{ "splice-max-entries", required_argument, NULL, OPT_SPLICE_MAX },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "bpffs", required_argument, NULL, OPT_BPFFS },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "xdp-iface", required_argument, NULL, OPT_XDP },
		{ "access-log", required_argument, NULL, OPT_ALOG },
		{ "header-timeout", required_argument, NULL, OPT_HDR_TO },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TO },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN_TO },
		{ "body-idle-timeout", required_argument, NULL, OPT_BODY_IDLE_TO },
		{ "body-timeout", required_argument, NULL, OPT_BODY_TO },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "allow-local-endpoints", no_argument, NULL, OPT_ALLOW_LOCAL },
		{ "admin-public", no_argument, NULL, OPT_ADMIN_PUBLIC },
		{ "l4-idle-timeout", required_argument, NULL, OPT_L4_IDLE_TO },
		{ "udp-idle-timeout", required_argument, NULL, OPT_UDP_IDLE_TO },
		{ "handoff", required_argument, NULL, OPT_HANDOFF },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	const char *paths[GW_RUN_MAX_PATHS], *ifaces[GW_RUN_MAX_IFACES];
	size_t n_paths = 0, n_ifaces = 0;
	const char *admin_addr = "127.0.0.1:9901", *bpffs = NULL, *cgroup = NULL;
	const char *kubeconfig = NULL;
	uint32_t bpf_mech = GW_RUN_BPF_DEFAULT, splice_max = 0;
	bool kube = false, no_bpf = false, allow_local = false, admin_public = false;
	uint32_t drain_ms = GW_RUN_DRAIN_MS;
	struct gw_proxy_opts popts;
	/* every timeout flag: milliseconds into its field */
	const struct {
		int opt;
		uint32_t *ms;
	} timeouts[] = {
		{ OPT_HDR_TO, &popts.header_timeout_ms },
		{ OPT_IDLE_TO, &popts.idle_timeout_ms },
		{ OPT_DRAIN_TO, &drain_ms },
		{ OPT_BODY_IDLE_TO, &popts.body_idle_timeout_ms },
		{ OPT_BODY_TO, &popts.body_timeout_ms },
		{ OPT_L4_IDLE_TO, &popts.l4_idle_timeout_ms },
		{ OPT_UDP_IDLE_TO, &popts.udp_idle_timeout_ms },
	};
	uint32_t *to_ms;
	struct gw_diag_list diags = { 0 };
	struct gw_run r;
	sigset_t mask;
	int c, ret = GW_EXIT_FAIL;
	char *end, **local_addrs = NULL;
	struct gw_proxy_sock *hsocks = NULL; /* from a predecessor, for the proxy */
	size_t n_hsocks = 0;

	memset(&r, 0, sizeof(r));
	r.sigfd = -1;
	r.hconn = -1;
	gw_proxy_opts_default(&popts);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			if (n_paths == GW_RUN_MAX_PATHS) {
				gw_cli_err("run: too many --config paths");
				return GW_EXIT_USAGE;
			}
			paths[n_paths++] = optarg;
			break;
		case OPT_KUBE:
			kube = true;
			break;
		case OPT_KUBECONFIG:
			kube = true;
			kubeconfig = optarg;
			break;
		case OPT_ADMIN:
			admin_addr = optarg;
			break;
		case OPT_POOL:
			r.topts.address_pool = optarg;
			break;
		case OPT_LISTEN:
			r.topts.listen_address = optarg;
			break;
		case OPT_NOBPF:
			no_bpf = true;
			break;
		case OPT_BPF:
			if (parse_bpf(optarg, &bpf_mech)) {
				gw_cli_err("run: --bpf wants a list of msg, splice, steer (or none)");
				return GW_EXIT_USAGE;
			}
			break;
		case OPT_SPLICE_MAX:
			splice_max = (uint32_t)strtoul(optarg, &end, 10);
			if (!*optarg || *end || !splice_max || splice_max > (1u << 20)) {
				gw_cli_err("run: --splice-max-entries wants 1..1048576");
				return GW_EXIT_USAGE;
			}
			break;
		case OPT_ALLOW_LOCAL:
			allow_local = true;
			break;
		case OPT_ADMIN_PUBLIC:
			admin_public = true;
			break;
		case OPT_WORKERS:
			popts.workers = (unsigned int)strtoul(optarg, &end, 10);
			if (!*optarg || *end || !popts.workers || popts.workers > 256) {
				gw_cli_err("run: --workers wants 1..256");
				return GW_EXIT_USAGE;
			}
			break;
		case OPT_BPFFS:
			bpffs = r.bpffs = optarg;
			break;
		case OPT_CGROUP:
			cgroup = optarg;
			break;
		case OPT_XDP:
			if (n_ifaces == GW_RUN_MAX_IFACES) {
				gw_cli_err("run: too many --xdp-iface");
				return GW_EXIT_USAGE;
			}
			ifaces[n_ifaces++] = optarg;
			break;
		case OPT_ALOG:
			popts.access_log = optarg;
			break;
		case OPT_HANDOFF:
			if (!*optarg || strlen(optarg) >= 108) {
				gw_cli_err("run: --handoff wants a Unix socket path (< 108 bytes)");
				return GW_EXIT_USAGE;
			}
			r.handoff_path = optarg;
			break;
		case OPT_MAX_CONNS:
			popts.max_conns = (unsigned int)strtoul(optarg, &end, 10);
			if (!*optarg || *end || !popts.max_conns || popts.max_conns > 1000000) {
				gw_cli_err("run: --max-conns wants 1..1000000 (per worker)");
				return GW_EXIT_USAGE;
			}
			break;
		case OPT_HDR_TO:
		case OPT_IDLE_TO:
		case OPT_DRAIN_TO:
		case OPT_BODY_IDLE_TO: /* a request body that trickles (docs/security.md) */
		case OPT_BODY_TO:
		case OPT_L4_IDLE_TO:   /* TCPRoute/TLSRoute streams, UDPRoute flows (docs/l4.md) */
		case OPT_UDP_IDLE_TO:
			to_ms = NULL;
			for (size_t i = 0; i < ARRAY_SIZE(timeouts); i++)
				if (timeouts[i].opt == c)
					to_ms = timeouts[i].ms;
			if (!to_ms || parse_ms(optarg, to_ms)) {
				gw_cli_err("run: timeouts are milliseconds, 1..86400000");
				return GW_EXIT_USAGE;
			}
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout);
			return GW_EXIT_OK;
		default:
			usage(stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (!admin_public && !admin_local(admin_addr)) {
		gw_cli_err("run: --admin %s is not a loopback address; the admin endpoint is "
			   "unauthenticated (add --admin-public to serve it there anyway)", admin_addr);
		return GW_EXIT_USAGE;
	}
	if (optind < argc) {
		gw_cli_err("run: unexpected argument '%s'", argv[optind]);
		return GW_EXIT_USAGE;
	}
	if (kube && n_paths) {
		gw_cli_err("run: --config and --kube are exclusive");
		return GW_EXIT_USAGE;
	}
	if (!kube && !n_paths) {
		gw_cli_err("run: --config PATH or --kube is required");
		usage(stderr);
		return GW_EXIT_USAGE;
	}

	/* signals go to the signalfd only; every thread created below inherits
	 * the mask, so no worker is ever interrupted by them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	r.loop = gw_loop_new();
	if (!r.loop) {
		pr_err("run: event loop: %s", strerror(errno));
		goto out;
	}
	r.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r.sigfd == -1 || gw_loop_add_fd(r.loop, &r.sig_io, r.sigfd, GW_IO_READ, sig_io_cb, &r)) {
		pr_err("run: signalfd: %s", strerror(errno));
		goto out;
	}

	/* a static Gateway address must be this node's (else AddressNotUsable) */
	local_addrs = gw_local_addresses();
	if (!local_addrs)
		pr_warn("run: interface addresses: %s; static Gateway addresses not checked",
			strerror(errno));
	r.topts.local_addresses = (const char *const *)local_addrs;
	if (kube) {
		/* endpoints anyone with EndpointSlice rights could aim at the node
		 * itself (CVE-2021-32783 class): refused unless asked */
		r.topts.refuse_local_endpoints = !allow_local;
		r.topts.admin_address = admin_addr;
	}
	if (kube) {
		struct gw_kube_source_opts ko = { .cfg = &r.kcfg };
		int kerr = kubeconfig ? gw_kubeconfig_load(kubeconfig, &r.kcfg, &diags) :
					gw_kube_incluster(NULL, &r.kcfg, &diags);

		log_diags(&diags);
		gw_diag_list_free(&diags);
		if (kerr) {
			pr_err("run: %s: %s", kubeconfig ? kubeconfig : "in-cluster configuration",
			       strerror(-kerr));
			goto out;
		}
		r.ks = gw_kube_source_new(&ko);
		if (!r.ks) {
			pr_err("run: Kubernetes source: %s", strerror(errno));
			goto out;
		}
		if (gw_loop_add_fd(r.loop, &r.ks_io, gw_kube_source_fd(r.ks), GW_IO_READ,
				   kube_io_cb, &r)) {
			pr_err("run: cannot poll the Kubernetes source");
			goto out;
		}
	} else {
		r.src = gw_file_source_new(paths, n_paths, &diags);
		log_diags(&diags);
		gw_diag_list_free(&diags);
		if (!r.src) {
			pr_err("run: cannot read or watch the configuration: %s", strerror(errno));
			goto out;
		}
		if (gw_loop_add_fd(r.loop, &r.src_io, gw_file_source_fd(r.src), GW_IO_READ,
				   src_io_cb, &r)) {
			pr_err("run: cannot watch the configuration");
			goto out;
		}
	}

	if (!popts.workers) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		popts.workers = ncpu > 0 ? (unsigned int)ncpu : 1;
	}
	if (r.handoff_path) {
		/* before the splice opens: with a predecessor alive, the pair
		 * entries in the maps are its live streams, not stale ones */
		bool splice_on = !no_bpf && (bpf_mech & GW_RUN_BPF_SPLICE);
		int herr = gw_handoff_fetch(r.handoff_path, GW_RUN_HANDOFF_FETCH_MS, splice_on,
					    &hsocks, &n_hsocks, &r.hconn);

		if (!herr)
			pr_info("handoff: %zu listening sockets from the daemon on %s", n_hsocks,
				r.handoff_path);
		else if (herr == -ENOENT || herr == -ECONNREFUSED)
			pr_info("handoff: no daemon on %s; starting fresh", r.handoff_path);
		else
			pr_warn("handoff: %s: %s; starting without it (binding anew: SO_REUSEPORT "
				"lets both daemons serve until the old one is stopped)",
				r.handoff_path, strerror(-herr));
		/* a daemon may be there that keeps the admin address until it
		 * is stopped: wait for it rather than fail */
		if (herr && herr != -ENOENT && herr != -ECONNREFUSED)
			r.admin_deadline = UINT64_MAX;
		r.streams = gw_handoff_streams_new(r.loop);
		if (!r.streams) {
			pr_err("run: out of memory");
			goto out;
		}
	}
	if (!no_bpf && (bpf_mech & GW_RUN_BPF_SPLICE)) {
		/* before the workers serve: every tunnel they open may splice */
		struct gw_splice_opts so = { .bpffs = bpffs, .max_entries = splice_max,
					     .keep_pairs = r.hconn >= 0 };

		r.splice = gw_splice_open(&so);
		if (!r.splice)
			pr_warn("run: sk_skb splice unavailable (%s); upgraded streams are relayed "
				"in userspace",
				strerror(errno));
		gw_splice_set_default(r.splice);
	}
	r.metrics = gw_metrics_new(popts.workers);
	if (!r.metrics)
		pr_warn("run: metrics registry: %s; /metrics shows proxy counters only",
			strerror(errno));
	else if (gw_metrics_add_hook(r.metrics, gw_h2_metrics_render, NULL))
		pr_warn("run: HTTP/2 abuse counters left out of /metrics");
	popts.metrics = r.metrics;
	r.proxy = gw_proxy_new(&popts);
	if (!r.proxy) {
		pr_err("run: proxy: %s", strerror(errno));
		goto out;
	}
	if (hsocks && gw_proxy_inherit(r.proxy, hsocks, n_hsocks)) {
		/* the sockets are closed; the predecessor keeps serving */
		close(r.hconn);
		r.hconn = -1;
	}
	free(hsocks);
	hsocks = NULL;
	n_hsocks = 0;
	if (gw_proxy_start(r.proxy)) {
		pr_err("run: cannot start the proxy workers");
		goto out;
	}

	if (!no_bpf && (bpf_mech & (GW_RUN_BPF_MSG | GW_RUN_BPF_STEER))) {
		struct gw_dataplane_opts dopts = { .bpffs = bpffs, .cgroup = cgroup };

		dopts.flags = ((bpf_mech & GW_RUN_BPF_MSG) ? GW_DP_F_SKMSG : 0) |
			      ((bpf_mech & GW_RUN_BPF_STEER) ? GW_DP_F_STEER | GW_DP_F_STEER_FWD : 0);
		r.dp = gw_dataplane_open(&dopts);
		/* before the first snapshot opens listeners: a connection the
		 * proxy accepted without it is never forwarded by the kernel */
		if (gw_dataplane_steer_maps(r.dp)) {
			gw_steer_set(gw_dataplane_steer_maps(r.dp));
			gw_loop_add_timer(r.loop, &r.loan_timer, 100, loan_tick, &r);
		}
		if (!r.dp)
			pr_warn("run: BPF data plane unavailable (%s); serving from userspace only",
				strerror(errno));
		if (n_ifaces) {
			r.xdp = gw_xdp_open(ifaces, n_ifaces, NULL);
			if (!r.xdp)
				pr_warn("run: XDP on the given interfaces unavailable (%s); going on "
					"without it",
					strerror(errno));
		}
	} else if (n_ifaces) {
		pr_info("run: --no-bpf: ignoring --xdp-iface");
	}

	if (r.ks)
		pr_info("run: waiting for the first list from the Kubernetes API server");
	else if (publish(&r))
		pr_warn("run: no snapshot yet; waiting for a configuration that translates");
	r.last_reload_ok = r.t != NULL;

	r.admin_addr = admin_addr;
	if (r.hconn >= 0) {
		/* the admin address is the predecessor's until it drains */
		gw_loop_add_timer(r.loop, &r.handoff_timer, 0, handoff_tick, &r);
	} else {
		if (!r.admin_deadline)
			r.admin_deadline = gw_now_ms() + (uint64_t)drain_ms + GW_RUN_HANDOFF_FETCH_MS;
		if (start_admin(&r))
			goto out;
	}
	pr_info("run: %u workers%s", popts.workers, r.dp ? ", BPF data plane on" : "");

	gw_loop_run(r.loop);
	gw_proxy_shutdown(r.proxy, drain_ms);
	linger(&r, drain_ms);
	pr_info("run: stopped");
	ret = r.failed ? GW_EXIT_FAIL : GW_EXIT_OK;
out:
	if (r.loop) {
		gw_loop_del_timer(r.loop, &r.handoff_timer);
		gw_loop_del_timer(r.loop, &r.admin_timer);
	}
	gw_handoff_server_free(r.hsrv);
	if (r.hconn >= 0)
		close(r.hconn);
	for (size_t i = 0; i < n_hsocks; i++)
		close(hsocks[i].fd);
	free(hsocks);
	/* kept streams end after the drain, before the splice closes */
	gw_handoff_streams_free(r.streams);
	gw_admin_free(r.admin);
	gw_proxy_free(r.proxy);
	gw_metrics_free(r.metrics);
	gw_translation_free(r.t);
	if (r.src) {
		gw_loop_del_fd(r.loop, &r.src_io);
		gw_file_source_free(r.src);
	}
	if (r.ks) {
		gw_loop_del_fd(r.loop, &r.ks_io);
		gw_kube_source_free(r.ks); /* stops the thread, releases the Lease */
	}
	gw_kube_config_clear(&r.kcfg);
	gw_xdp_close(r.xdp, true);
	/* pins stay: a restarted daemon adopts them instead of tearing traffic down */
	gw_steer_set(NULL);
	if (r.loop)
		gw_loop_del_timer(r.loop, &r.loan_timer);
	gw_dataplane_close(r.dp, true);
	gw_splice_close(r.splice, true); /* after the workers: they use it */
	if (r.loop) {
		gw_loop_del_timer(r.loop, &r.reload_timer);
		gw_loop_del_fd(r.loop, &r.sig_io);
	}
	if (r.sigfd >= 0)
		close(r.sigfd);
	gw_loop_free(r.loop);
	free(local_addrs); /* after the translation that pointed at it */
	return ret;
}
