/* cli/route_stats.c - requests per route, kernel vs userspace (see
 * gwbpf/route_stats.h).
 *
 * The kernel counts what it forwards per route match by IR indices
 * (gw_route_cnt: requests and request bytes; gw_route_resp: responses and
 * response bytes); the proxy counts what it serves per (listener, route) name
 * (metrics registry: requests, bytes read from and written to clients). Only the daemon has the snapshot that turns indices
 * into names, so the join is done here, on the admin thread, when asked.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include <jansson.h>

#include "gwbpf/bpfstat.h"
#include "gwbpf/dataplane.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/metrics.h"
#include "gwbpf/route_stats.h"

struct rs_ctx {
	const struct gw_ir *ir;
	json_t *routes;	       /* route name -> entry (listeners and rules keyed) */
	uint64_t unrouted;     /* proxy requests without a route */
	uint64_t unattributed; /* kernel counts with stale indices */
};

/* child() : o[key] as an object, created empty when missing (NULL on ENOMEM) */
static json_t *child(json_t *o, const char *key)
{
	json_t *c = json_object_get(o, key);

	if (c || !o)
		return c;
	c = json_object();
	if (c && json_object_set_new(o, key, c))
		return NULL;
	return c;
}

static void add(json_t *o, const char *key, uint64_t v)
{
	json_t *c = json_object_get(o, key);

	if (!o)
		return;
	json_object_set_new(o, key, json_integer((c ? json_integer_value(c) : 0) + (json_int_t)v));
}

/* the byte counters of a route or listener entry, and where finish() puts
 * them: bytes.{kernel,userspace}.{request,response} (+ kernel.responses) */
static const char *const byte_keys[][3] = {
	{ "kernelRequestBytes", "kernel", "request" },
	{ "kernelResponseBytes", "kernel", "response" },
	{ "kernelResponses", "kernel", "responses" },
	{ "userspaceRequestBytes", "userspace", "request" },
	{ "userspaceResponseBytes", "userspace", "response" },
};

/* zero() : the request and byte counters of an entry, at 0 */
static void zero(json_t *e)
{
	add(e, "kernel", 0);
	add(e, "userspace", 0);
	for (size_t i = 0; i < ARRAY_SIZE(byte_keys); i++)
		add(e, byte_keys[i][0], 0);
}

/* entry() : the route's entry with its zeroed counters */
static json_t *entry(struct rs_ctx *x, const char *route)
{
	json_t *e = json_object_get(x->routes, route);

	if (e)
		return e;
	e = child(x->routes, route);
	if (!e)
		return NULL;
	zero(e);
	child(e, "listeners");
	child(e, "rules");
	return e;
}

static json_t *listener_entry(json_t *e, const char *label)
{
	json_t *l = child(json_object_get(e, "listeners"), label);

	if (l && !json_object_get(l, "kernel"))
		zero(l);
	return l;
}

static void listener_label(const struct gw_ir_listener *l, char *buf, size_t size)
{
	/* the proxy's metric label, so the two sides join */
	snprintf(buf, size, "%s/%s", l->gateway ? l->gateway : "", l->name ? l->name : "");
}

/* backends_doc() : the rule's backends as a person reads them: cluster,
 * weight and the cluster's endpoints */
static json_t *backends_doc(const struct gw_ir *ir, const struct gw_ir_action *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < a->n_backends; i++) {
		const struct gw_ir_backend *b = &a->backends[i];
		const struct gw_ir_cluster *c;
		json_t *eps = json_array(), *o;

		if (b->cluster < 0 || (size_t)b->cluster >= ir->n_clusters) {
			/* an invalid reference: the proxy answers 500 for its share */
			json_decref(eps);
			json_array_append_new(arr, json_pack("{s:n,s:i}", "cluster", "weight",
							     (int)b->weight));
			continue;
		}
		c = &ir->clusters[b->cluster];
		for (size_t e = 0; eps && e < c->n_endpoints; e++)
			json_array_append_new(eps, json_pack("{s:s,s:i,s:b}", "address",
							     c->endpoints[e].address ?: "", "port",
							     c->endpoints[e].port, "ready",
							     c->endpoints[e].ready));
		o = json_pack("{s:s,s:i,s:o*}", "cluster", c->name ? c->name : "", "weight",
			      (int)b->weight, "endpoints", eps);
		json_array_append_new(arr, o);
	}
	return arr;
}

/* rule_entry() : the rule's entry, kernelEligible or-ed over its matches */
static json_t *rule_entry(const struct gw_ir *ir, json_t *e, const struct gw_ir_action *a,
			  bool kernel_ok)
{
	char idx[16];
	json_t *r;

	snprintf(idx, sizeof(idx), "%u", a->rule_index);
	r = child(json_object_get(e, "rules"), idx);
	if (!r)
		return NULL;
	if (!json_object_get(r, "rule")) {
		json_object_set_new(r, "rule", json_integer(a->rule_index));
		if (a->rule_name)
			json_object_set_new(r, "name", json_string(a->rule_name));
		json_object_set_new(r, "kernelEligible", json_false());
		add(r, "kernel", 0);
		add(r, "kernelRequestBytes", 0);
		add(r, "kernelResponses", 0);
		add(r, "kernelResponseBytes", 0);
		json_object_set_new(r, "backends", backends_doc(ir, a));
	}
	if (kernel_ok)
		json_object_set_new(r, "kernelEligible", json_true());
	return r;
}

/* add_host() : the vhost's hostname into the listener entry's "hosts" set */
static void add_host(json_t *l, const struct gw_ir_vhost *vh)
{
	json_t *hosts = child(l, "hosts");

	if (hosts && !json_object_get(hosts, vh->hostname ? vh->hostname : "*"))
		json_object_set_new(hosts, vh->hostname ? vh->hostname : "*", json_true());
}

/* every route of the snapshot gets an entry, with zero counts */
static void walk_ir(struct rs_ctx *x)
{
	const struct gw_ir *ir = x->ir;
	char label[512];

	for (size_t b = 0; b < ir->n_binds; b++) {
		const struct gw_ir_bind *bd = &ir->binds[b];

		for (size_t li = 0; li < bd->n_listeners; li++) {
			const struct gw_ir_listener *l = &bd->listeners[li];
			/* only cleartext HTTP is parsed in the kernel (maps.c) */
			bool plain = bd->proto == GW_PROTO_HTTP && l->proto == GW_PROTO_HTTP;

			listener_label(l, label, sizeof(label));
			for (size_t v = 0; v < l->n_vhosts; v++) {
				const struct gw_ir_vhost *vh = &l->vhosts[v];

				for (size_t m = 0; m < vh->n_matches; m++) {
					const struct gw_ir_action *a;
					json_t *e;

					if (vh->matches[m].action >= vh->n_actions)
						continue;
					a = &vh->actions[vh->matches[m].action];
					if (!a->route || !(e = entry(x, a->route)))
						continue;
					add_host(listener_entry(e, label), vh);
					rule_entry(ir, e, a, plain && a->kernel_ok);
				}
			}
		}
	}
}

static int on_kernel(const struct gw_dp_route_count *rc, void *arg)
{
	struct rs_ctx *x = arg;
	const struct gw_ir *ir = x->ir;
	const struct gw_ir_listener *l;
	const struct gw_ir_vhost *vh;
	const struct gw_ir_action *a;
	json_t *e, *le, *re;
	char label[512];
	uint32_t ai;

	if (rc->bind >= ir->n_binds || rc->listener >= ir->binds[rc->bind].n_listeners)
		goto stale;
	l = &ir->binds[rc->bind].listeners[rc->listener];
	if (rc->vhost >= l->n_vhosts || rc->match >= l->vhosts[rc->vhost].n_matches)
		goto stale;
	vh = &l->vhosts[rc->vhost];
	ai = vh->matches[rc->match].action;
	if (ai >= vh->n_actions || !vh->actions[ai].route)
		goto stale;
	a = &vh->actions[ai];
	e = entry(x, a->route);
	listener_label(l, label, sizeof(label));
	le = listener_entry(e, label);
	re = rule_entry(ir, e, a, false);
	for (json_t *const *o = (json_t *const[]){ e, le, re, NULL }; *o; o++) {
		add(*o, "kernel", rc->requests);
		add(*o, "kernelRequestBytes", rc->bytes);
		add(*o, "kernelResponses", rc->responses);
		add(*o, "kernelResponseBytes", rc->resp_bytes);
	}
	return 0;
stale:
	/* counted under an older snapshot's indices (docs/status.md) */
	x->unattributed += rc->requests;
	return 0;
}

static void on_proxy(const char *listener, const char *route, uint64_t n, uint64_t bytes_in,
		     uint64_t bytes_out, void *arg)
{
	struct rs_ctx *x = arg;
	json_t *e, *l;

	if (!route || !*route) {
		x->unrouted += n;
		return;
	}
	e = entry(x, route);
	l = listener && *listener ? listener_entry(e, listener) : NULL;
	for (json_t *const *o = (json_t *const[]){ e, l, NULL }; *o; o++) {
		add(*o, "userspace", n);
		add(*o, "userspaceRequestBytes", bytes_in);
		add(*o, "userspaceResponseBytes", bytes_out);
	}
}

/* bytes() : the byte counters moved out of an entry into the "bytes" object
 * (kernelRequestBytes also stays where it was: older readers use it) */
static json_t *bytes(json_t *e)
{
	json_t *b = json_pack("{s:{},s:{}}", "kernel", "userspace");

	for (size_t i = 0; b && i < ARRAY_SIZE(byte_keys); i++) {
		json_t *side = json_object_get(b, byte_keys[i][1]);

		json_object_set(side, byte_keys[i][2], json_object_get(e, byte_keys[i][0]));
		if (i)
			json_object_del(e, byte_keys[i][0]);
	}
	return b;
}

/* counts() : {"kernel","userspace","total"} moved out of an entry */
static json_t *counts(json_t *e)
{
	json_int_t k = json_integer_value(json_object_get(e, "kernel"));
	json_int_t u = json_integer_value(json_object_get(e, "userspace"));

	json_object_del(e, "kernel");
	json_object_del(e, "userspace");
	return json_pack("{s:I,s:I,s:I}", "kernel", k, "userspace", u, "total", k + u);
}

/* finish() : the keyed objects as arrays, in snapshot order */
static json_t *finish(json_t *routes)
{
	json_t *out = json_array(), *e, *v;
	const char *name, *k;

	json_object_foreach(routes, name, e)
	{
		json_t *o = json_object(), *ls = json_array(), *rs = json_array();

		json_object_set_new(o, "route", json_string(name));
		json_object_set_new(o, "requests", counts(e));
		json_object_set_new(o, "bytes", bytes(e));
		json_object_set(o, "kernelRequestBytes", json_object_get(e, "kernelRequestBytes"));
		json_object_foreach(json_object_get(e, "listeners"), k, v)
		{
			json_t *l = json_object();

			json_t *hosts = json_array(), *h;
			const char *hn;

			json_object_foreach(json_object_get(v, "hosts"), hn, h)
				json_array_append_new(hosts, json_string(hn));
			json_object_set_new(l, "listener", json_string(k));
			json_object_set_new(l, "hosts", hosts);
			json_object_set_new(l, "requests", counts(v));
			json_object_set_new(l, "bytes", bytes(v));
			json_object_set(l, "kernelRequestBytes",
					json_object_get(v, "kernelRequestBytes"));
			json_array_append_new(ls, l);
		}
		json_object_foreach(json_object_get(e, "rules"), k, v) json_array_append(rs, v);
		json_object_set_new(o, "listeners", ls);
		json_object_set_new(o, "rules", rs);
		json_array_append_new(out, o);
	}
	return out;
}

char *gw_route_stats_json(const struct gw_ir *ir, struct gw_metrics *m, bool kernel,
			  const char *bpffs)
{
	struct rs_ctx x = {.ir = ir, .routes = json_object()};
	json_t *doc = NULL, *mech;
	char *s = NULL;

	if (!ir || !x.routes)
		goto out;
	walk_ir(&x);
	if (kernel)
		gw_dataplane_route_counts(bpffs, on_kernel, &x);
	gw_metrics_foreach_route_bytes(m, on_proxy, &x);
	mech = kernel ? gw_bpfstat_mechanisms(bpffs) : json_null();
	doc = json_pack("{s:I,s:o,s:{s:I},s:{s:I},s:o}", "generation", (json_int_t)ir->generation,
			"routes", finish(x.routes), "unrouted", "userspace", (json_int_t)x.unrouted,
			"unattributed", "kernel", (json_int_t)x.unattributed, "mechanisms",
			mech ? mech : json_null());
	if (doc)
		s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(doc);
	json_decref(x.routes);
	if (!s)
		errno = ENOMEM;
	return s;
}
