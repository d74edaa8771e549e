/* test_bpf_steer.c - kernel L7 steering decision vs the userspace proxy's
 * routing, through the real kernel path.
 *
 * A Gateway API config is translated to an IR, the data plane is opened
 * (steering on) and synced from it, and a loopback client socket to the
 * Gateway's port is put into the sockhash. Every request is then written
 * with send(): the sk_msg program parses it, walks the route tables and
 * records its decision in gw_steer_last, while the bytes still reach the
 * server socket. For each request the test requires:
 *   - the kernel's parser verdict equals the userspace build of the same
 *     parser (bpf/lib/http.h) on the same bytes;
 *   - a "kernel" decision only when gw_http1_parse_request() accepts the
 *     bytes and gw_router_match() picks the same listener, vhost and match,
 *     a kernel_ok rule, with the same backend cluster;
 *   - hand-picked requests get the decision a user expects (so the test
 *     cannot pass with a kernel that always says "proxy").
 * Needs root (BPF); skipped otherwise.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "../../bpf/lib/http.h"
#include "../../bpf/lib/resp.h"
#include "translate_helpers.h"

#include "gwbpf/dataplane.h"
#include "gwbpf/http1.h"

struct st {
	struct fx fx;
	struct gw_dataplane *dp;
	char dir[128];
	int lfd, cfd, sfd;
	int rec_fd;
	uint16_t port;
	const struct gw_ir_bind *bind;
	unsigned int n_kernel, n_user, n_parse;
};

#define YAML_FMT                                                                                   \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, "           \
	"namespace: default}\n"                                                                    \
	"spec:\n  gatewayClassName: gwbpf\n  listeners:\n"                                         \
	"  - {name: any, protocol: HTTP, port: %u}\n"                                              \
	"  - {name: wild, protocol: HTTP, port: %u, hostname: \"*.example.com\"}\n"                \
	"  - {name: exact, protocol: HTTP, port: %u, hostname: a.example.com}\n"                   \
	"---\n"                                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r1, "         \
	"namespace: default}\n"                                                                    \
	"spec:\n  parentRefs: [{name: gw, sectionName: exact}]\n  rules:\n"                        \
	"  - matches: [{path: {type: Exact, value: /exact}}]\n    backendRefs: [{name: sa, port: " \
	"80}]\n"                                                                                   \
	"  - matches: [{path: {type: PathPrefix, value: /api}}]\n    backendRefs: [{name: sb, "    \
	"port: 80}]\n"                                                                             \
	"  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-canary, value: " \
	"\"1\"}]}]\n"                                                                              \
	"    backendRefs: [{name: sc, port: 80}]\n"                                                \
	"  - matches: [{path: {type: PathPrefix, value: /}}]\n    backendRefs: [{name: sa, port: " \
	"80}]\n"                                                                                   \
	"---\n"                                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r2, "         \
	"namespace: default}\n"                                                                    \
	"spec:\n  parentRefs: [{name: gw, sectionName: wild}]\n"                                   \
	"  hostnames: [\"*.example.com\", b.example.com]\n  rules:\n"                              \
	"  - matches: [{path: {type: PathPrefix, value: /filtered}}]\n"                            \
	"    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: x-f, "   \
	"value: \"1\"}]}}]\n"                                                                      \
	"    backendRefs: [{name: sa, port: 80}]\n"                                                \
	"  - matches: [{path: {type: PathPrefix, value: /w/}}]\n    backendRefs: [{name: sb, "     \
	"port: 80}]\n"                                                                             \
	"  - matches: [{path: {type: PathPrefix, value: /}}]\n    backendRefs: [{name: sc, port: " \
	"80}]\n"                                                                                   \
	"---\n"                                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r5, "         \
	"namespace: default}\n"                                                                    \
	"spec:\n  parentRefs: [{name: gw, sectionName: wild}]\n  hostnames: [c.example.com]\n  "   \
	"rules:\n"                                                                                 \
	"  - matches: [{path: {type: RegularExpression, value: \"/re.*\"}}]\n    backendRefs: "    \
	"[{name: sc, port: 80}]\n"                                                                 \
	"  - matches: [{path: {type: Exact, value: /m}, method: POST}]\n    backendRefs: [{name: " \
	"sa, port: 80}]\n"                                                                         \
	"  - matches: [{path: {type: PathPrefix, value: /split}}]\n"                               \
	"    backendRefs: [{name: sa, port: 80, weight: 1}, {name: sb, port: 80, weight: 1}]\n"    \
	"---\n"                                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r3, "         \
	"namespace: default}\n"                                                                    \
	"spec:\n  parentRefs: [{name: gw, sectionName: any}]\n  hostnames: [other.test]\n  "       \
	"rules:\n"                                                                                 \
	"  - matches: [{path: {type: PathPrefix, value: /o}}]\n    backendRefs: [{name: sc, "      \
	"port: 80}]\n"                                                                             \
	"---\n"                                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r4, "         \
	"namespace: default}\n"                                                                    \
	"spec:\n  parentRefs: [{name: gw, sectionName: any}]\n  rules:\n"                          \
	"  - matches: [{path: {type: Exact, value: /}}]\n    backendRefs: [{name: sb, port: "      \
	"80}]\n"                                                                                   \
	"%s"

#define SVC_FMT                                                                                    \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\n"           \
	"spec:\n  ports: [{name: http, port: 80, targetPort: %u}]\n"                               \
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"                              \
	"metadata: {name: %s-1, namespace: default, labels: {kubernetes.io/service-name: %s}}\n"   \
	"addressType: IPv4\nports: [{name: http, port: %u, protocol: TCP}]\n"                      \
	"endpoints: [{addresses: [\"127.0.0.1\"], conditions: {ready: true}}]\n"

static void load_config(struct st *t, bool with_r4)
{
	char svcs[2048], *yaml;
	size_t off = 0;
	const char *names[] = {"sa", "sb", "sc"};
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		off += (size_t)snprintf(svcs + off, sizeof(svcs) - off, SVC_FMT, names[i],
					19001 + (unsigned int)i, names[i], names[i],
					19001 + (unsigned int)i);
	n = asprintf(&yaml, YAML_FMT, t->port, t->port, t->port, svcs);
	assert_true(n > 0);
	if (!with_r4) {
		/* the same config without r4 (catch-all Exact "/") */
		char *r4 =
		    strstr(yaml, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
				 "metadata: {name: r4");
		char *end = r4 ? strstr(r4, "---\n") : NULL;

		assert_non_null(end);
		memmove(r4, end + 4, strlen(end + 4) + 1);
	}
	gw_store_free(t->fx.s);
	t->fx.s = NULL;
	fx_load_buf(&t->fx, "steer.yaml", CLASS_YAML, strlen(CLASS_YAML));
	fx_load_buf(&t->fx, "steer.yaml", yaml, strlen(yaml));
	free(yaml);
	fx_run(&t->fx);
	assert_non_null(t->fx.t->ir);
	t->bind = NULL;
	for (size_t i = 0; i < t->fx.t->ir->n_binds; i++)
		if (t->fx.t->ir->binds[i].port == t->port)
			t->bind = &t->fx.t->ir->binds[i];
	assert_non_null(t->bind);
	if (getenv("STEER_DUMP")) {
		gw_ir_dump(t->fx.t->ir, stderr);
		for (size_t l = 0; l < t->bind->n_listeners; l++)
			for (size_t v = 0; v < t->bind->listeners[l].n_vhosts; v++)
				for (size_t a = 0; a < t->bind->listeners[l].vhosts[v].n_actions;
				     a++)
					fprintf(
					    stderr, "l%zu v%zu a%zu kernel_ok=%d\n", l, v, a,
					    t->bind->listeners[l].vhosts[v].actions[a].kernel_ok);
	}
}

static struct st *live; /* for the exit handler */
static int teardown(void **state);

/* a failed assertion in the group setup skips the group teardown: the pins
 * and sockets must still go */
static void cleanup_at_exit(void)
{
	void *t = live;

	teardown(&t);
}

static int setup(void **state)
{
	struct gw_dataplane_opts o = {.flags = GW_DP_F_SKMSG | GW_DP_F_STEER};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct gw_sock_key k = {.pad = 0};
	char path[256];
	int hash_fd, one = 1;
	uint64_t sock_fd;
	struct st *t;

	if (geteuid() != 0) {
		print_message("skip: needs root for BPF\n");
		return -1;
	}
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->lfd = t->cfd = t->sfd = t->rec_fd = -1;
	live = t;
	atexit(cleanup_at_exit);
	/* the Gateway port: a free loopback port we keep listening on */
	t->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(t->lfd >= 0);
	setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(t->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(t->lfd, 4), 0);
	assert_int_equal(getsockname(t->lfd, (struct sockaddr *)&a, &al), 0);
	t->port = ntohs(a.sin_port);
	load_config(t, true);

	snprintf(t->dir, sizeof(t->dir), "/sys/fs/bpf/gwbpf-test-steer-%d", (int)getpid());
	o.bpffs = t->dir;
	t->dp = gw_dataplane_open(&o);
	assert_non_null(t->dp);
	assert_int_equal(gw_dataplane_sync(t->dp, t->fx.t->ir), 0);

	t->cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(t->cfd >= 0);
	assert_int_equal(connect(t->cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	t->sfd = accept(t->lfd, NULL, NULL);
	assert_true(t->sfd >= 0);
	setsockopt(t->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* the client socket enters the sockhash as sockops would put it; its
	 * peer is not there, so the bytes take plain TCP to the server */
	snprintf(path, sizeof(path), "%s/%s", t->dir, GW_PIN_SOCK_HASH);
	hash_fd = bpf_obj_get(path);
	assert_true(hash_fd >= 0);
	k.family = GW_AF_INET;
	k.local_port = 1;
	sock_fd = (uint64_t)t->cfd; /* a SOCKHASH with 8-byte values takes a 64-bit fd */
	assert_int_equal(bpf_map_update_elem(hash_fd, &k, &sock_fd, BPF_ANY), 0);
	close(hash_fd);
	snprintf(path, sizeof(path), "%s/%s", t->dir, GW_PIN_STEER_REC);
	t->rec_fd = bpf_obj_get(path);
	assert_true(t->rec_fd >= 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct st *t = *state;

	if (!t)
		return 0;
	live = NULL;
	if (t->cfd >= 0)
		close(t->cfd);
	if (t->sfd >= 0)
		close(t->sfd);
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->rec_fd >= 0)
		close(t->rec_fd);
	gw_dataplane_close(t->dp, false);
	fx_free(&t->fx);
	free(t);
	return 0;
}

static void rec_get(struct st *t, struct gw_steer_rec *r)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(t->rec_fd, &zero, r), 0);
}

/* send one request, let the server read it all, return the kernel's record */
static void kernel_decide(struct st *t, const char *req, size_t len, struct gw_steer_rec *r)
{
	struct gw_steer_rec before;
	char buf[4096];
	size_t got = 0;

	rec_get(t, &before);
	assert_int_equal(send(t->cfd, req, len, 0), (ssize_t)len);
	rec_get(t, r);
	/* sk_msg ran synchronously inside send(): exactly one new decision */
	assert_int_equal(r->seq, before.seq + 1);
	while (got < len) {
		ssize_t n = recv(t->sfd, buf, sizeof(buf), 0);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(got, len);
}

/* the userspace proxy's decision on the same bytes */
static const struct gw_ir_match *user_route(struct st *t, const char *in, size_t len,
					    struct gw_route_result *res, bool *parsed)
{
	static struct gw_http_header hdrs[128];
	static char copy[4096];
	struct gw_http_req req = {.headers = hdrs};
	struct gw_http_limits lim;
	int rc, n;

	gw_http_limits_default(&lim);
	lim.max_headers = ARRAY_SIZE(hdrs);
	memcpy(copy, in, len);
	rc = gw_http1_parse_request(copy, len, &req, &lim);
	*parsed = rc == (int)len;
	if (!*parsed)
		return NULL;
	/* as the proxy does before routing (conn.c) */
	n = gw_router_path_normalize((char *)req.path.p, req.path.len, GW_PATH_NORM_DEFAULT);
	if (n <= 0) {
		*parsed = false;
		return NULL;
	}
	req.path.len = (size_t)n;
	if (gw_router_match(t->bind, &req, res))
		return NULL;
	return res->match;
}

/* the property, for one request; returns the kernel's verdict */
static uint32_t check_one(struct st *t, const char *in, size_t len)
{
	struct gw_http_scratch *sc = calloc(1, sizeof(*sc));
	struct gw_route_result res;
	struct gw_http_head h;
	struct gw_steer_rec r;
	const struct gw_ir_match *m;
	bool parsed;
	uint32_t uref;

	assert_non_null(sc);
	memcpy(sc->buf, in, len < GW_HTTP_HEAD_MAX ? len : GW_HTTP_HEAD_MAX);
	uref = gw_http_parse(&h, sc, (uint32_t)len);
	free(sc);
	kernel_decide(t, in, len, &r);
	if (r.refuse != uref)
		fail_msg("kernel parser says %u, userspace build %u: %.*s", r.refuse, uref,
			 (int)len, in);
	if (r.verdict == GW_VERDICT_STEER_USER_PARSE) {
		t->n_parse++;
		assert_int_not_equal(r.refuse, 0);
		return r.verdict;
	}
	assert_int_equal(r.refuse, 0);
	if (r.verdict != GW_VERDICT_STEER_KERNEL) {
		assert_int_equal(r.verdict, GW_VERDICT_STEER_USER_ROUTE);
		t->n_user++;
		return r.verdict;
	}
	t->n_kernel++;
	m = user_route(t, in, len, &res, &parsed);
	if (!parsed || !m)
		fail_msg("kernel routes what the proxy %s: %.*s",
			 parsed ? "does not route" : "refuses", (int)len, in);
	if (res.listener != &t->bind->listeners[r.listener] ||
	    res.vhost != &res.listener->vhosts[r.vhost] || m != &res.vhost->matches[r.match])
		fail_msg("kernel picked listener %u vhost %u match %u, the proxy %zd/%zd/%zd: %.*s",
			 r.listener, r.vhost, r.match, res.listener - t->bind->listeners,
			 res.vhost - res.listener->vhosts, m - res.vhost->matches, (int)len, in);
	assert_true(res.action->kernel_ok);
	assert_int_equal(r.cluster, res.action->backends[0].cluster);
	assert_int_equal(r.port, t->port);
	return r.verdict;
}

static uint32_t check_req(struct st *t, const char *method, const char *path, const char *host,
			  const char *extra)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, path,
			 host, extra);

	return check_one(t, buf, (size_t)n);
}

/* the name of the cluster the kernel chose for one request */
static const char *kernel_cluster(struct st *t, const char *path, const char *host)
{
	struct gw_steer_rec r;

	uint32_t v = check_req(t, "GET", path, host, "");

	rec_get(t, &r);
	if (getenv("STEER_DUMP"))
		fprintf(stderr, "%s %s: verdict %u refuse %u l%u v%u m%u cluster %d\n", host, path,
			v, r.refuse, r.listener, r.vhost, r.match, r.cluster);
	if (v != GW_VERDICT_STEER_KERNEL)
		return "proxy";
	return t->fx.t->ir->clusters[r.cluster].name;
}

static void test_expected(void **state)
{
	struct st *t = *state;
	char hp[64];

	/* exact listener a.example.com, route r1 */
	assert_string_equal(kernel_cluster(t, "/exact", "a.example.com"), "default/sa:80");
	snprintf(hp, sizeof(hp), "A.Example.COM.:%u", t->port);
	assert_string_equal(kernel_cluster(t, "/exact", hp), "default/sa:80");
	/* /api has a header-match rule in front of it: the proxy decides; and
	 * the translator keeps the catch-all rule that /api could shadow for
	 * the proxy too */
	assert_string_equal(kernel_cluster(t, "/api/v1", "a.example.com"), "proxy");
	assert_string_equal(kernel_cluster(t, "/apix", "a.example.com"), "proxy");
	/* wildcard listener, route r2 ("/w/" matches "/w" by element) */
	assert_string_equal(kernel_cluster(t, "/w/1", "x.y.example.com"), "default/sb:80");
	assert_string_equal(kernel_cluster(t, "/w", "b.example.com"), "default/sb:80");
	assert_string_equal(kernel_cluster(t, "/filtered/1", "b.example.com"), "proxy");
	assert_string_equal(kernel_cluster(t, "/wx", "b.example.com"), "proxy");
	/* route r5: regex, method and weighted rules */
	assert_string_equal(kernel_cluster(t, "/split", "c.example.com"), "proxy");
	assert_string_equal(kernel_cluster(t, "/reach", "c.example.com"), "proxy");
	assert_string_equal(kernel_cluster(t, "/m", "c.example.com"), "proxy");
	/* catch-all listener, routes r3 and r4 */
	assert_string_equal(kernel_cluster(t, "/o/p", "other.test"), "default/sc:80");
	assert_string_equal(kernel_cluster(t, "/", "example.com"), "default/sb:80");
	assert_string_equal(kernel_cluster(t, "/nothing", "example.com"), "proxy"); /* 404 */
	/* heads the kernel does not parse */
	assert_int_equal(check_req(t, "GET", "/%65xact", "a.example.com", ""),
			 GW_VERDICT_STEER_USER_PARSE);
	assert_int_equal(check_req(t, "GET", "/x/../exact", "a.example.com", ""),
			 GW_VERDICT_STEER_USER_PARSE);
	assert_int_equal(check_req(t, "GET", "/exact", "a.example.com", "Connection: close\r\n"),
			 GW_VERDICT_STEER_USER_PARSE);
}

static void test_differential(void **state)
{
	static const char *const methods[] = {"GET", "HEAD", "POST"};
	static const char *const hosts[] = {
	    "a.example.com",  "A.EXAMPLE.com:80", "b.example.com", "x.b.example.com",
	    "c.example.com",  "zz.example.com.",  "example.com",   "other.test",
	    "other.test.:1",  "nothing.test",	  "127.0.0.1",	   "a..example.com",
	    "a.example.com:",
	};
	static const char *const paths[] = {
	    "/",      "/exact",	     "/exact/", "/api",	     "/api/",	   "/api/v1",
	    "/apix",  "/filtered/x", "/w",	"/w/",	     "/w/1",	   "/wx",
	    "/re1",   "/m",	     "/split",	"/o",	     "/o/p",	   "/exact?x=1",
	    "/%61pi", "/./api",	     "//api",	"/a/../api", "/split/x?y",
	};
	static const char *const extras[] = {"", "X-Canary: 1\r\n", "Connection: close\r\n",
					     "Content-Length: 0\r\n", "Accept: */*\r\n"};
	struct st *t = *state;

	for (size_t m = 0; m < ARRAY_SIZE(methods); m++)
		for (size_t h = 0; h < ARRAY_SIZE(hosts); h++)
			for (size_t p = 0; p < ARRAY_SIZE(paths); p++)
				for (size_t e = 0; e < ARRAY_SIZE(extras); e++)
					check_req(t, methods[m], paths[p], hosts[h], extras[e]);
	print_message("kernel %u, proxy by route %u, proxy by parse %u\n", t->n_kernel, t->n_user,
		      t->n_parse);
	/* every class of decision was exercised */
	assert_true(t->n_kernel > 100);
	assert_true(t->n_user > 200);
	assert_true(t->n_parse > 200);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

/* specificity for sorting test IRs: exact > longer wildcard > any */
static long gw_dp_test_rank(const char *p)
{
	if (!p)
		return -1;
	if (p[0] == '*')
		return (long)strlen(p);
	return 1000;
}

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* random edits of routable requests: the kernel and the proxy must still
 * agree on every one the kernel keeps */
static void test_mutants(void **state)
{
	static const char *const bases[] = {
	    "GET /exact HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
	    "GET /w/1 HTTP/1.1\r\nHost: x.example.com\r\nAccept: */*\r\n\r\n",
	    "HEAD /o/p?q HTTP/1.1\r\nhost: other.test:80\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n",
	};
	static const char *const frags[] = {
	    "/",     ".",    "..", "%",	 "%2F", "?",	       " ",
	    "\t",    "\r\n", "\n", ":",	 ":8",	"Host: b\r\n", "X-Canary: 1\r\n",
	    "exact", "w",    "o",  "a.", "*",	"\x80",	       "A",
	    "-",
	};
	struct st *t = *state;
	unsigned int before = t->n_kernel;
	char buf[512];

	for (int i = 0; i < 3000; i++) {
		size_t len =
		    (size_t)snprintf(buf, sizeof(buf), "%s", bases[rnd(ARRAY_SIZE(bases))]);
		const char *f = frags[rnd(ARRAY_SIZE(frags))];
		size_t at = 1 + rnd((uint32_t)len - 1), flen = strlen(f);

		switch (rnd(3)) {
		case 0:
			memmove(buf + at + flen, buf + at, len - at + 1);
			memcpy(buf + at, f, flen);
			len += flen;
			break;
		case 1:
			memmove(buf + at, buf + at + 1, len - at);
			len--;
			break;
		default:
			buf[at] = (char)(0x20 + rnd(0x60));
			break;
		}
		check_one(t, buf, len);
	}
	/* some mutants stay routable (e.g. a changed path or host letter) */
	assert_true(t->n_kernel > before);
}

/* a new snapshot replaces the table as a whole: a route that goes away stops
 * being decided in the kernel, and nothing of the old generation is left */
static void test_resync(void **state)
{
	struct st *t = *state;
	struct gw_rt_host_key k, next;
	struct gw_rt_epoch ep;
	char path[256];
	uint32_t zero = 0, n = 0, stale = 0;
	int hfd, efd;

	assert_string_equal(kernel_cluster(t, "/", "example.com"), "default/sb:80");
	load_config(t, false);
	assert_int_equal(gw_dataplane_sync(t->dp, t->fx.t->ir), 0);
	assert_string_equal(kernel_cluster(t, "/", "example.com"), "proxy");
	assert_string_equal(kernel_cluster(t, "/o/p", "other.test"), "default/sc:80");
	load_config(t, true);
	assert_int_equal(gw_dataplane_sync(t->dp, t->fx.t->ir), 0);
	assert_string_equal(kernel_cluster(t, "/", "example.com"), "default/sb:80");

	snprintf(path, sizeof(path), "%s/%s", t->dir, GW_PIN_RT_EPOCH);
	efd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s", t->dir, GW_PIN_RT_HOST);
	hfd = bpf_obj_get(path);
	assert_true(efd >= 0 && hfd >= 0);
	assert_int_equal(bpf_map_lookup_elem(efd, &zero, &ep), 0);
	for (int r = bpf_map_get_next_key(hfd, NULL, &next); !r && n < 100000;
	     r = bpf_map_get_next_key(hfd, &k, &next)) {
		k = next;
		n++;
		if (k.gen != (ep.epoch & 1))
			stale++;
	}
	close(efd);
	close(hfd);
	assert_true(n > 0);
	assert_int_equal(stale, 0);
}

/* a listener order the kernel's most-specific-first lookup would not
 * reproduce is compiled as "proxy", never trusted */
static void test_order_guard(void **state)
{
	struct st *t = *state;
	struct gw_ir_bind *b = (struct gw_ir_bind *)t->bind;
	struct gw_ir_listener tmp;

	assert_string_equal(kernel_cluster(t, "/exact", "a.example.com"), "default/sa:80");
	/* put the wildcard listener before the exact one it overlaps */
	assert_true(b->n_listeners >= 2);
	tmp = b->listeners[0];
	b->listeners[0] = b->listeners[b->n_listeners - 2];
	b->listeners[b->n_listeners - 2] = tmp;
	assert_int_equal(gw_dataplane_sync(t->dp, t->fx.t->ir), 0);
	assert_string_equal(kernel_cluster(t, "/exact", "a.example.com"), "proxy");
	assert_int_equal(check_req(t, "GET", "/w/1", "x.example.com", ""),
			 GW_VERDICT_STEER_USER_ROUTE);
	load_config(t, true);
	assert_int_equal(gw_dataplane_sync(t->dp, t->fx.t->ir), 0);
}

/* ---- random snapshots: any IR, any order, through the kernel ---- */

static const char *pick(const char *const *v, size_t n)
{
	return v[rnd((uint32_t)n)];
}

static char *maybe_dup(struct gw_ir *ir, const char *s)
{
	return s ? gw_ir_strdup(ir, s) : NULL;
}

/* a bind on the test port with random listeners, vhosts and matches; the
 * lists are sorted most specific first only half of the time, so the
 * compiler's order guard is exercised as much as the lookups */
static struct gw_ir *random_ir(uint16_t port)
{
	static const char *const pats[] = {
	    "a.ex.com", "*.ex.com", "*.b.ex.com", "b.ex.com", "x.b.ex.com",
	    NULL,	"*.com",    "other.org",  "A.EX.COM", "*.B.Ex.Com",
	};
	static const char *const mpaths[] = {"/", "/a", "/a/", "/a/b", "/ab", "/b"};
	struct gw_ir *ir = gw_ir_new();
	struct gw_ir_bind *b;

	assert_non_null(ir);
	ir->n_clusters = 3;
	ir->clusters = gw_ir_new_array(ir, struct gw_ir_cluster, 3);
	for (int c = 0; c < 3; c++)
		ir->clusters[c].name = gw_ir_strdup(ir, c == 0 ? "c0" : c == 1 ? "c1" : "c2");
	ir->n_binds = 1;
	ir->binds = b = gw_ir_new_array(ir, struct gw_ir_bind, 1);
	b->address = gw_ir_strdup(ir, "0.0.0.0");
	b->port = port;
	b->proto = GW_PROTO_HTTP;
	b->n_listeners = 1 + rnd(4);
	b->listeners = gw_ir_new_array(ir, struct gw_ir_listener, b->n_listeners);
	for (size_t l = 0; l < b->n_listeners; l++) {
		struct gw_ir_listener *li = &b->listeners[l];

		li->hostname = maybe_dup(ir, pick(pats, ARRAY_SIZE(pats)));
		li->proto = rnd(8) ? GW_PROTO_HTTP : GW_PROTO_HTTPS;
		li->n_vhosts = 1 + rnd(3);
		li->vhosts = gw_ir_new_array(ir, struct gw_ir_vhost, li->n_vhosts);
		for (size_t v = 0; v < li->n_vhosts; v++) {
			struct gw_ir_vhost *vh = &li->vhosts[v];

			vh->hostname = maybe_dup(ir, pick(pats, ARRAY_SIZE(pats)));
			vh->n_actions = 1 + rnd(3);
			vh->actions = gw_ir_new_array(ir, struct gw_ir_action, vh->n_actions);
			for (size_t a = 0; a < vh->n_actions; a++) {
				struct gw_ir_action *ac = &vh->actions[a];

				ac->n_backends = 1 + (rnd(4) == 0);
				ac->backends =
				    gw_ir_new_array(ir, struct gw_ir_backend, ac->n_backends);
				for (size_t k = 0; k < ac->n_backends; k++) {
					ac->backends[k].cluster = (int32_t)rnd(3);
					ac->backends[k].weight = 1;
				}
				ac->kernel_ok = ac->n_backends == 1 && rnd(4) != 0;
			}
			vh->n_matches = 1 + rnd(6);
			vh->matches = gw_ir_new_array(ir, struct gw_ir_match, vh->n_matches);
			for (size_t m = 0; m < vh->n_matches; m++) {
				struct gw_ir_match *mt = &vh->matches[m];
				uint32_t r = rnd(10);

				mt->path = gw_ir_strdup(ir, pick(mpaths, ARRAY_SIZE(mpaths)));
				mt->path_type = r < 4	? GW_MATCH_EXACT
						: r < 9 ? GW_MATCH_PREFIX
							: GW_MATCH_REGEX;
				if (rnd(6) == 0)
					mt->method = gw_ir_strdup(ir, "GET");
				if (rnd(6) == 0) {
					mt->n_headers = 1;
					mt->headers =
					    gw_ir_new_array(ir, struct gw_ir_str_match, 1);
					mt->headers[0].name = gw_ir_strdup(ir, "x-h");
					mt->headers[0].value = gw_ir_strdup(ir, "1");
				}
				mt->action = rnd((uint32_t)vh->n_actions);
			}
		}
	}
	return ir;
}

static int rank_cmp(const char *a, const char *b)
{
	long ra = gw_dp_test_rank(a), rb = gw_dp_test_rank(b);

	return ra < rb ? 1 : ra > rb ? -1 : 0;
}

static int cmp_listener(const void *x, const void *y)
{
	return rank_cmp(((const struct gw_ir_listener *)x)->hostname,
			((const struct gw_ir_listener *)y)->hostname);
}

static int cmp_vhost(const void *x, const void *y)
{
	return rank_cmp(((const struct gw_ir_vhost *)x)->hostname,
			((const struct gw_ir_vhost *)y)->hostname);
}

static void test_random_snapshots(void **state)
{
	static const char *const hosts[] = {
	    "a.ex.com",	 "b.ex.com", "x.b.ex.com",    "y.x.b.ex.com", "ex.com",	   "z.ex.com",
	    "other.org", "com",	     "A.Ex.Com:8080", "q.com",	      "B.EX.COM.",
	};
	static const char *const paths[] = {"/",   "/a", "/a/",	 "/a/b", "/a/bc",
					    "/ab", "/b", "/b/c", "/c"};
	static const char *const extras[] = {"", "", "X-H: 1\r\n"};
	struct st *t = *state;
	unsigned int kernel_before = t->n_kernel;
	const struct gw_ir_bind *saved = t->bind;

	for (int round = 0; round < 60; round++) {
		struct gw_ir *ir = random_ir(t->port);

		if (round % 2) {
			struct gw_ir_bind *b = &ir->binds[0];

			qsort(b->listeners, b->n_listeners, sizeof(*b->listeners), cmp_listener);
			for (size_t l = 0; l < b->n_listeners; l++)
				qsort(b->listeners[l].vhosts, b->listeners[l].n_vhosts,
				      sizeof(*b->listeners[l].vhosts), cmp_vhost);
		}
		assert_int_equal(gw_dataplane_sync(t->dp, ir), 0);
		t->bind = &ir->binds[0];
		for (int i = 0; i < 150; i++)
			check_req(t, rnd(2) ? "GET" : "HEAD", pick(paths, ARRAY_SIZE(paths)),
				  pick(hosts, ARRAY_SIZE(hosts)), pick(extras, ARRAY_SIZE(extras)));
		gw_ir_put(ir);
	}
	print_message("random snapshots: %u kernel decisions\n", t->n_kernel - kernel_before);
	assert_true(t->n_kernel - kernel_before > 100);
	t->bind = saved;
	assert_int_equal(gw_dataplane_sync(t->dp, t->fx.t->ir), 0);
}

/* ---- the production path: sockops inserts the client socket ---- */

static bool cgroup2_root(char *out, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2"))
			found = snprintf(out, len, "%s", dir) < (int)len;
	fclose(f);
	return found;
}

/* child: joins the cgroup, connects to port, hands the socket over */
static void connect_in_cgroup(const char *cg, uint16_t port, int chan)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char path[PATH_MAX + 128], cbuf[CMSG_SPACE(sizeof(int))] = {0}, one = 1;
	struct iovec iov = {.iov_base = &one, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
		_exit(2);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		_exit(3);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	_exit(sendmsg(chan, &mh, 0) == 1 ? 0 : 4);
}

static void test_sockops_path(void **state)
{
	struct st *t = *state;
	struct gw_dataplane_opts o = {.bpffs = t->dir, .flags = GW_DP_F_SKMSG | GW_DP_F_STEER};
	char root[PATH_MAX], cg[PATH_MAX + 64], cbuf[CMSG_SPACE(sizeof(int))], one;
	struct iovec iov = {.iov_base = &one, .iov_len = 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct gw_dataplane *dp2;
	int sv[2], status, cfd = -1, sfd, saved_c = t->cfd, saved_s = t->sfd;
	pid_t pid;

	if (!cgroup2_root(root, sizeof(root))) {
		print_message("no cgroup2 mount: sockops path not tested\n");
		return;
	}
	snprintf(cg, sizeof(cg), "%s/gwbpf-test-steer-%d", root, (int)getpid());
	assert_int_equal(mkdir(cg, 0755), 0);
	/* a second open on the same pins, as a restarted daemon with a cgroup */
	o.cgroup = cg;
	dp2 = gw_dataplane_open(&o);
	assert_non_null(dp2);
	assert_int_equal(gw_dataplane_sync(dp2, t->fx.t->ir), 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		connect_in_cgroup(cg, t->port, sv[1]);
	close(sv[1]);
	if (recvmsg(sv[0], &mh, 0) == 1 && CMSG_FIRSTHDR(&mh))
		memcpy(&cfd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(cfd >= 0);
	sfd = accept(t->lfd, NULL, NULL);
	assert_true(sfd >= 0);

	/* nobody put this socket in the map by hand: a recorded decision
	 * (kernel_decide() requires one per send) means sockops did */
	t->cfd = cfd;
	t->sfd = sfd;
	assert_string_equal(kernel_cluster(t, "/exact", "a.example.com"), "default/sa:80");
	assert_string_equal(kernel_cluster(t, "/api/v1", "a.example.com"), "proxy");
	t->cfd = saved_c;
	t->sfd = saved_s;
	close(cfd);
	close(sfd);
	/* detaches sockops and unpins; the group's own fds keep the maps */
	gw_dataplane_close(dp2, false);
	assert_int_equal(rmdir(cg), 0);
}

/* ---- response framing (bpf/lib/resp.h) vs the proxy's response parser ----
 *
 * The kernel forwards a response as the backend wrote it, and frames it only
 * to know where it ends. Whenever it frames a head, the proxy must parse the
 * same bytes to the same head length, status and body length (else the
 * kernel would deliver what the proxy would have answered 502 for, or end a
 * response at another byte). Pure userspace: the same code as in BPF. */

static uint64_t resp_rng = 0x9e3779b97f4a7c15ull;

static unsigned int resp_rand(unsigned int n)
{
	resp_rng ^= resp_rng << 13;
	resp_rng ^= resp_rng >> 7;
	resp_rng ^= resp_rng << 17;
	return (unsigned int)(resp_rng % n);
}

/* resp_check() : 1 when the kernel framed it (and the proxy agreed) */
static int resp_check(const char *buf, size_t len, int head_req)
{
	struct gw_http_header hdrs[64];
	struct gw_http_resp resp = {.headers = hdrs};
	struct gw_http_limits lim;
	struct gw_resp_head h;
	long long bl;
	int n;

	gw_http_limits_default(&lim);
	lim.max_headers = 64;
	if (gw_resp_parse(&h, (const __u8 *)buf, (__u32)len))
		return 0;
	bl = gw_resp_body_len(&h, head_req);
	if (bl < 0)
		return 0;
	n = gw_http1_parse_response(buf, len, &resp, &lim);
	if (n != (int)h.head_len || resp.status != (int)h.status || resp.fr.chunked ||
	    (!head_req && resp.status != 204 && resp.status != 304 &&
	     resp.fr.content_length != bl)) {
		print_error("kernel framed %u/%u body %lld, proxy %d/%d cl %lld chunked %d: %.*s\n",
			    h.head_len, h.status, bl, n, resp.status,
			    (long long)resp.fr.content_length, resp.fr.chunked, (int)len, buf);
		fail();
	}
	return 1;
}

static void test_resp_framing(void **state)
{
	static const char *const lines[] = {
	    "HTTP/1.1 200 OK\r\n",
	    "HTTP/1.1 204 No Content\r\n",
	    "HTTP/1.1 304 \r\n",
	    "HTTP/1.1 404\r\n",
	    "HTTP/1.1 100 Continue\r\n",
	    "HTTP/1.1 101 Switching\r\n",
	    "HTTP/1.0 200 OK\r\n",
	    "http/1.1 200 OK\r\n",
	    "HTTP/1.1 20 OK\r\n",
	    "HTTP/1.1 2000 OK\r\n",
	    "HTTP/1.1 200 OK\n",
	    "HTTP/1.1 099 x\r\n",
	    "HTTP/1.1 500 Internal \x01Error\r\n",
	    "HTTP/1.1 200 \xc3\xa9\r\n",
	};
	static const char *const hdrs[] = {
	    "Content-Length: 5\r\n",
	    "content-length:12\r\n",
	    "Content-Length:   7   \r\n",
	    "Content-Length: 0\r\n",
	    "Content-Length: 1, 1\r\n",
	    "Content-Length: +5\r\n",
	    "Content-Length: 5x\r\n",
	    "Content-Length:\r\n",
	    "Content-Length : 5\r\n",
	    "Content-Length: 99999999999999999999\r\n",
	    "Content-Length: 3\r\n",
	    "Transfer-Encoding: chunked\r\n",
	    "Transfer-Encoding: gzip\r\n",
	    "transfer-encoding:chunked\r\n",
	    "X-A: b\r\n",
	    "Server: t\r\n",
	    "X-Fold: a\r\n continued\r\n",
	    "X-LF: a\n",
	    "X Bad: a\r\n",
	    ": empty\r\n",
	    "Content-Lengthx: 5\r\n",
	    "X-Content-Length: 5\r\n",
	    "Connection: close\r\n",
	    "X-Ctl: a\x01b\r\n",
	    "X-Bare: a\rb\r\n",
	    "Content-Length: 5\t\r\n",
	};
	char buf[1024];
	unsigned int framed = 0, i;

	(void)state;
	/* hand-picked: these must frame (or not), else the property is empty */
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 38, 0), 1);
	assert_int_equal(resp_check("HTTP/1.1 204 No Content\r\n\r\n", 27, 0), 1);
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 38, 1), 1);
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47, 0),
			 0);
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\n\r\n", 19, 0), 0);
	assert_int_equal(resp_check("HTTP/1.1 100 Continue\r\n\r\n", 25, 0), 0);
	assert_int_equal(resp_check("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", 36, 0), 0);
	for (i = 0; i < 200000; i++) {
		size_t len = 0, k, nh = resp_rand(5);
		const char *l = lines[resp_rand(ARRAY_SIZE(lines))];

		if (resp_rand(3))
			l = lines[0];
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", l);
		for (k = 0; k < nh; k++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s",
						hdrs[resp_rand(ARRAY_SIZE(hdrs))]);
		if (resp_rand(8))
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\r\n");
		/* and sometimes a body byte or a cut anywhere */
		if (!resp_rand(8))
			buf[len++] = 'B';
		if (!resp_rand(16) && len > 1)
			len = 1 + resp_rand((unsigned int)len - 1);
		framed += (unsigned int)resp_check(buf, len, (int)resp_rand(2));
	}
	printf("response framing: %u of 200000 generated heads framed by the kernel\n", framed);
	assert_true(framed > 10000);
}

int main(void)
{
	/* test_sockops_path last: it removes the pins */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expected),	 cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_mutants),	 cmocka_unit_test(test_resync),
	    cmocka_unit_test(test_order_guard),	 cmocka_unit_test(test_random_snapshots),
	    cmocka_unit_test(test_sockops_path),
	};

	const struct CMUnitTest plain[] = {
	    cmocka_unit_test(test_resp_framing),
	};
	int rc = cmocka_run_group_tests(plain, NULL, NULL);

	if (rc)
		return rc;
	if (geteuid() != 0) {
		printf("skip: test_bpf_steer needs root (BPF)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
