/* tests/fuzz/fuzz_proxy.c - libFuzzer driver for the proxy's request path.
 *
 * The proxy connection code (userspace/proxy/conn.c) is driven by a worker
 * event loop and real sockets, so this driver fuzzes the pure pipeline the
 * connection runs for every request head instead, in the same order:
 *
 *   gw_http1_parse_request -> gw_router_path_normalize -> gw_router_match
 *   -> gw_router_pick_backend -> gw_filter_request -> (upstream head)
 *   -> gw_filter_response on a fixed upstream answer
 *
 * on a fixed IR translated from an embedded manifest that uses every filter
 * kind. Properties checked (abort on violation):
 *  - a forwarded head reparses as one complete, valid request head of
 *    exactly the length written, with exactly one Host and the framing of the
 *    client's request (chunked stays chunked, Content-Length is kept);
 *  - a filter's own answer (redirect, CORS preflight) parses as a response;
 *  - the response head written for the client parses as a response;
 *  - path normalisation never grows the path.
 * Input: byte 0 picks the listener port and the output capacity, the rest is
 * the request head as it came off the wire.
 */
#include "gwbpf/api.h"

#include <stdlib.h>
#include <string.h>

#include "gwbpf/diag.h"
#include "gwbpf/filter.h"
#include "gwbpf/http1.h"
#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/router.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"

/* generated tables that tests/fuzz/lib.sh does not archive (make all writes them) */
#include "gen/features.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_proxy: check failed: %s (line %d)\n", #cond,         \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char manifest[] =
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: gwbpf\n"
	"spec:\n  controllerName: gwbpf.dev/gateway-controller\n"
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
	"metadata:\n  name: gw\n  namespace: default\n"
	"spec:\n  gatewayClassName: gwbpf\n  addresses:\n  - type: IPAddress\n    value: 127.0.0.1\n"
	"  listeners:\n  - name: http\n    protocol: HTTP\n    port: 8080\n"
	"  - name: wild\n    protocol: HTTP\n    port: 8081\n    hostname: \"*.example.com\"\n"
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
	"metadata:\n  name: r\n  namespace: default\n"
	"spec:\n  parentRefs:\n  - name: gw\n  hostnames: [\"foo.example.com\", \"*.example.com\", \"bar\"]\n"
	"  rules:\n"
	"  - matches:\n    - path: {type: PathPrefix, value: /rewrite}\n"
	"    filters:\n    - type: URLRewrite\n      urlRewrite:\n        hostname: rewritten.example\n"
	"        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}\n"
	"    backendRefs:\n    - {name: echo, port: 80}\n"
	"  - matches:\n    - path: {type: Exact, value: /full}\n"
	"    filters:\n    - type: URLRewrite\n      urlRewrite:\n"
	"        path: {type: ReplaceFullPath, replaceFullPath: /replaced}\n"
	"    backendRefs:\n    - {name: echo, port: 80}\n"
	"  - matches:\n    - path: {type: PathPrefix, value: /redirect}\n"
	"    filters:\n    - type: RequestRedirect\n      requestRedirect:\n"
	"        scheme: https\n        port: 8443\n        statusCode: 301\n"
	"        path: {type: ReplacePrefixMatch, replacePrefixMatch: /elsewhere}\n"
	"  - matches:\n    - path: {type: PathPrefix, value: /hostredirect}\n"
	"    filters:\n    - type: RequestRedirect\n      requestRedirect:\n"
	"        hostname: other.example\n        statusCode: 302\n"
	"  - matches:\n    - path: {type: PathPrefix, value: /cors}\n"
	"    filters:\n    - type: CORS\n      cors:\n"
	"        allowOrigins: [\"https://*.example.com\", \"http://a.b\"]\n"
	"        allowMethods: [GET, POST]\n        allowHeaders: [x-a]\n"
	"        exposeHeaders: [x-b]\n        allowCredentials: true\n        maxAge: 10\n"
	"    backendRefs:\n    - {name: echo, port: 80}\n"
	"  - matches:\n    - path: {type: RegularExpression, value: \"/re/[a-z]+\"}\n"
	"      method: POST\n      headers:\n      - {name: X-H, value: \"v.*\", type: RegularExpression}\n"
	"      queryParams:\n      - {name: q, value: \"1\"}\n"
	"    backendRefs:\n    - {name: echo, port: 80, weight: 1}\n"
	"    - {name: echo2, port: 80, weight: 3}\n"
	"  - matches:\n    - path: {type: PathPrefix, value: /}\n"
	"    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier:\n"
	"        set: [{name: X-Set, value: s}]\n        add: [{name: X-Add, value: a}]\n"
	"        remove: [X-Remove, Host-Like]\n"
	"    - type: ResponseHeaderModifier\n      responseHeaderModifier:\n"
	"        set: [{name: X-Resp, value: r}]\n        remove: [Server]\n"
	"    - type: RequestMirror\n      requestMirror:\n        backendRef: {name: echo2, port: 80}\n"
	"        percent: 50\n"
	"    backendRefs:\n    - name: echo\n      port: 80\n      filters:\n"
	"      - type: RequestHeaderModifier\n        requestHeaderModifier:\n"
	"          add: [{name: X-Backend, value: b}]\n"
	"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: echo\n  namespace: default\n"
	"spec:\n  ports:\n  - {name: http, port: 80, protocol: TCP}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: echo2\n  namespace: default\n"
	"spec:\n  ports:\n  - {name: http, port: 80, protocol: TCP}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: echo-1\n"
	"  namespace: default\n  labels: {kubernetes.io/service-name: echo}\naddressType: IPv4\n"
	"ports:\n- {name: http, port: 9000, protocol: TCP}\n"
	"endpoints:\n- addresses: [127.0.0.1]\n  conditions: {ready: true}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: echo2-1\n"
	"  namespace: default\n  labels: {kubernetes.io/service-name: echo2}\naddressType: IPv4\n"
	"ports:\n- {name: http, port: 9001, protocol: TCP}\n"
	"endpoints:\n- addresses: [127.0.0.1]\n  conditions: {ready: true}\n";

static struct gw_translation *tr;

/* setup() : translates the manifest once; the IR is shared by every run */
static void setup(void)
{
	struct gw_diag_list diags = { 0 };
	struct gw_doc_list dl = { 0 };
	struct gw_store *s = gw_store_new();
	struct gw_translate_opts o = { .now = 1700000000 };
	uint64_t seq = 0;

	gw_log_set_level(GW_LOG_ERROR);
	check(s);
	check(gw_yaml_load_buf("proxy.yaml", manifest, sizeof(manifest) - 1, &dl, &diags) == 0);
	for (size_t i = 0; i < dl.n; i++) {
		struct gw_object *obj = gw_object_from_doc(dl.v[i].root, "proxy.yaml", &diags);

		dl.v[i].root = NULL;
		check(obj);
		obj->seq = ++seq;
		check(gw_store_put(s, obj) == 0);
	}
	check(gw_translate(s, &o, &tr) == 0);
	check(tr->ir && tr->ir->n_binds > 0);
	gw_doc_list_free(&dl);
	gw_diag_list_free(&diags);
	/* the translation keeps its own references to the objects it reports */
	gw_store_free(s);
}

/* framing_of() : parses buf as a request and returns its framing, or aborts */
static void reparse_forwarded(const char *out, size_t n, const struct gw_http_req *orig)
{
	struct gw_http_header h[256];
	struct gw_http_req rq = { .headers = h };
	struct gw_http_limits lim;
	size_t hosts = 0;
	int r;

	gw_http_limits_default(&lim);
	/* the gateway may add headers: allow more of them and a bigger head than
	 * a client may send, as the upstream's parser would */
	lim.max_headers = 256;
	lim.max_head = 256 * 1024;
	lim.max_line = 64 * 1024;
	r = gw_http1_parse_request(out, n, &rq, &lim);
	if (r != (int)n) {
		fprintf(stderr, "fuzz_proxy: forwarded head does not reparse (r=%d n=%zu err=%s)\n%.*s\n",
			r, n, gw_http1_strerror(rq.err), (int)n, out);
		abort();
	}
	for (size_t i = 0; i < rq.n_headers; i++)
		if (gw_slice_casecmp(h[i].name, "host"))
			hosts++;
	check(hosts == 1);
	check(rq.fr.chunked == orig->fr.chunked);
	check(rq.fr.content_length == orig->fr.content_length);
	check(rq.method.len == orig->method.len && !memcmp(rq.method.p, orig->method.p, rq.method.len));
}

static void check_response(const char *out, size_t n)
{
	struct gw_http_header h[256];
	struct gw_http_resp rs = { .headers = h };
	struct gw_http_limits lim;
	int r;

	gw_http_limits_default(&lim);
	lim.max_headers = 256;
	lim.max_head = 256 * 1024;
	r = gw_http1_parse_response(out, n, &rs, &lim);
	if (r != (int)n) {
		fprintf(stderr, "fuzz_proxy: response head does not reparse (r=%d n=%zu err=%s)\n%.*s\n",
			r, n, gw_http1_strerror(rs.err), (int)n, out);
		abort();
	}
}

static const char upstream_resp[] = "HTTP/1.1 200 OK\r\nServer: up\r\nContent-Length: 2\r\n"
				    "Connection: keep-alive\r\nX-Up: 1\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 65536, 512, 128, 16384 };
	struct gw_http_header h[100];
	struct gw_http_req rq = { .headers = h };
	struct gw_http_header uh[16];
	struct gw_http_resp up = { .headers = uh };
	struct gw_route_result res;
	struct gw_filter_result fr;
	struct gw_filter_ctx ctx;
	const struct gw_ir_bind *bind;
	const struct gw_ir_backend *backend = NULL;
	uint16_t port;
	size_t cap, plen;
	char *buf = NULL, *out = NULL;
	int n, bi;

	if (!tr)
		setup();
	if (size < 1)
		return 0;
	port = data[0] & 1 ? 8081 : 8080;
	cap = caps[(data[0] >> 1) & 3];
	data++;
	size--;
	/* a private copy: normalisation rewrites the path in place, as in the proxy */
	buf = malloc(size + 1);
	out = malloc(cap);
	check(buf && out);
	memcpy(buf, data, size);
	n = gw_http1_parse_request(buf, size, &rq, NULL);
	if (n <= 0)
		goto out;
	plen = rq.path.len;
	n = gw_router_path_normalize((char *)rq.path.p, rq.path.len, GW_PATH_NORM_DEFAULT);
	if (n < 0)
		goto out;
	check((size_t)n <= plen && n > 0);
	rq.path.len = (size_t)n;
	bind = NULL;
	for (size_t i = 0; i < tr->ir->n_binds; i++)
		if (tr->ir->binds[i].port == port)
			bind = &tr->ir->binds[i];
	check(bind);
	memset(&res, 0, sizeof(res));
	if (gw_router_match(bind, &rq, &res))
		goto out;
	check(res.match && res.action);
	bi = gw_router_pick_backend(res.action, size * 0x9e3779b97f4a7c15ull);
	if (bi >= 0) {
		check((size_t)bi < res.action->n_backends);
		backend = &res.action->backends[bi];
	}
	memset(&ctx, 0, sizeof(ctx));
	memset(&fr, 0, sizeof(fr));
	ctx.req = &rq;
	ctx.match = res.match;
	ctx.action = res.action;
	ctx.backend = backend;
	ctx.scheme = "http";
	ctx.listener_port = port;
	ctx.client_addr = "127.0.0.1";
	ctx.rnd = size;
	n = gw_filter_request(&ctx, out, cap, &fr);
	if (n == -ENOSPC)
		goto out;
	check(n > 0 && (size_t)n <= cap);
	if (fr.verdict == GW_FILTER_RESPOND) {
		check(fr.status >= 200 && fr.status <= 599);
		check_response(out, (size_t)n);
		goto out;
	}
	reparse_forwarded(out, (size_t)n, &rq);
	check(fr.n_mirrors <= GW_FILTER_MAX_MIRRORS);
	/* the answer's head as the client will see it */
	check(gw_http1_parse_response(upstream_resp, sizeof(upstream_resp) - 1, &up, NULL) > 0);
	n = gw_filter_response(&fr, &up, "Connection: close\r\n", 19, out, cap);
	if (n == -ENOSPC)
		goto out;
	check(n > 0 && (size_t)n <= cap);
	check_response(out, (size_t)n);
out:
	free(buf);
	free(out);
	return 0;
}
