/* tools/bench/translate_bench.c - how long one translation of a large
 * configuration takes, and its peak memory.
 *
 * Generates N HTTPRoutes (default 10000) spread over 4 Gateways and 50
 * Services, each route with its own hostname and three rules (prefix,
 * exact, header match), plus one wildcard route per Gateway so every vhost
 * merges rules from two routes. Loads them into a store (timed apart), then
 * runs gw_translate() a few times and prints the best time and peak RSS.
 *
 * Usage: translate_bench [N_ROUTES] [ITERATIONS]
 */
#include "gwbpf/api.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "gwbpf/diag.h"
#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"

#define N_GW  4
#define N_SVC 50

struct sbuf {
	char *p;
	size_t len, cap;
};

static void GW_PRINTF(2, 3) put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	b->len += (size_t)n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void gen(struct sbuf *b, int n_routes)
{
	put(b, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n"
	       "  name: gwbpf\nspec:\n  controllerName: gwbpf.dev/gateway-controller\n---\n");
	for (int g = 0; g < N_GW; g++)
		put(b,
		    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n"
		    "  name: gw%d\n  namespace: bench\nspec:\n  gatewayClassName: gwbpf\n"
		    "  listeners:\n  - name: http\n    port: 80\n    protocol: HTTP\n"
		    "    allowedRoutes:\n      namespaces:\n        from: All\n---\n"
		    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n"
		    "  name: wild%d\n  namespace: bench\nspec:\n  parentRefs:\n  - name: gw%d\n"
		    "  hostnames: [\"*.example.com\"]\n  rules:\n  - matches:\n"
		    "    - path: {type: PathPrefix, value: /shared}\n"
		    "    backendRefs: [{name: svc0, port: 80}]\n---\n",
		    g, g, g);
	for (int s = 0; s < N_SVC; s++) {
		put(b,
		    "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc%d\n  namespace: bench\n"
		    "spec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---\n"
		    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
		    "  name: svc%d-a\n  namespace: bench\n  labels:\n"
		    "    kubernetes.io/service-name: svc%d\naddressType: IPv4\n"
		    "ports:\n- name: http\n  port: 8080\nendpoints:\n"
		    "- addresses: [10.1.%d.1]\n- addresses: [10.1.%d.2]\n---\n",
		    s, s, s, s, s);
	}
	for (int r = 0; r < n_routes; r++)
		put(b,
		    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n"
		    "  name: r%d\n  namespace: bench\nspec:\n  parentRefs:\n  - name: gw%d\n"
		    "  hostnames: [h%d.example.com]\n  rules:\n"
		    "  - matches:\n    - path: {type: PathPrefix, value: /api}\n"
		    "    backendRefs: [{name: svc%d, port: 80}]\n"
		    "  - matches:\n    - path: {type: Exact, value: /health}\n"
		    "    backendRefs: [{name: svc%d, port: 80, weight: 1},"
		    " {name: svc%d, port: 80, weight: 3}]\n"
		    "  - matches:\n    - path: {type: PathPrefix, value: /}\n"
		    "      headers: [{name: x-canary, value: \"1\"}]\n"
		    "    backendRefs: [{name: svc%d, port: 80}]\n---\n",
		    r, r % N_GW, r, r % N_SVC, r % N_SVC, (r + 1) % N_SVC, (r + 2) % N_SVC);
}

int main(int argc, char **argv)
{
	int n_routes = argc > 1 ? atoi(argv[1]) : 10000;
	int iters = argc > 2 ? atoi(argv[2]) : 3;
	struct gw_translate_opts opts = { .address_pool = "10.200.0.0/24" };
	struct gw_doc_list dl = { 0 };
	struct gw_diag_list diags = { 0 };
	struct gw_store *store = gw_store_new();
	struct sbuf b = { 0 };
	struct rusage ru;
	double t0, t_load, best = 1e9;
	size_t n_matches = 0;
	uint64_t seq = 0;

	if (n_routes <= 0 || iters <= 0 || !store) {
		fprintf(stderr, "usage: %s [N_ROUTES] [ITERATIONS]\n", argv[0]);
		return 2;
	}
	gen(&b, n_routes);
	t0 = now_s();
	if (gw_yaml_load_buf("bench.yaml", b.p, b.len, &dl, &diags)) {
		gw_diag_print(&diags, stderr);
		return 1;
	}
	for (size_t i = 0; i < dl.n; i++) {
		struct gw_object *o = gw_object_from_doc(dl.v[i].root, "bench.yaml", &diags);

		dl.v[i].root = NULL;
		if (!o || (o->seq = ++seq, gw_store_put(store, o))) {
			gw_diag_print(&diags, stderr);
			return 1;
		}
	}
	t_load = now_s() - t0;
	gw_doc_list_free(&dl);
	free(b.p);

	for (int i = 0; i < iters; i++) {
		struct gw_translation *t = NULL;
		double dt;

		t0 = now_s();
		if (gw_translate(store, &opts, &t)) {
			fprintf(stderr, "translate failed\n");
			return 1;
		}
		dt = now_s() - t0;
		if (dt < best)
			best = dt;
		n_matches = 0;
		for (size_t k = 0; k < t->ir->n_binds; k++)
			for (size_t l = 0; l < t->ir->binds[k].n_listeners; l++)
				for (size_t v = 0; v < t->ir->binds[k].listeners[l].n_vhosts; v++)
					n_matches += t->ir->binds[k].listeners[l].vhosts[v].n_matches;
		gw_translation_free(t);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("routes %d  objects %zu  load %.3f s  translate %.3f s (best of %d)  "
	       "matches %zu  peak RSS %ld MiB\n",
	       n_routes, store->n_objects, t_load, best, iters, n_matches, ru.ru_maxrss / 1024);
	gw_store_free(store);
	gw_diag_list_free(&diags);
	return 0;
}
