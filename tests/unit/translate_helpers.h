/* tests/unit/translate_helpers.h - shared helpers of the translator tests:
 * load YAML into a store, translate, and look at statuses and the IR the way
 * a user of `gwbpf status` would. Included by test_translate*.c only. */
#ifndef TRANSLATE_HELPERS_H
#define TRANSLATE_HELPERS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gwbpf/diag.h"
#include "gwbpf/http1-t.h"
#include "gwbpf/ir.h"
#include "gwbpf/node.h"
#include "gwbpf/router.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"

#include "fx_cert.h"

#define CLASS_YAML                                                                                 \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: gwbpf\n" \
	"spec:\n  controllerName: gwbpf.dev/gateway-controller\n---\n"

struct fx {
	struct gw_store *s;
	struct gw_translation *t;
	uint64_t seq;
	const char *addr; /* bind address fx_route uses; NULL = the first with the port */
};

/* load_buf() : every document of yaml into the store, in source order */
static inline void fx_load_buf(struct fx *f, const char *name, const char *yaml, size_t len)
{
	struct gw_doc_list dl = { 0 };
	struct gw_diag_list diags = { 0 };

	if (!f->s)
		f->s = gw_store_new();
	assert_non_null(f->s);
	if (gw_yaml_load_buf(name, yaml, len, &dl, &diags)) {
		gw_diag_print(&diags, stderr);
		fail_msg("yaml did not load");
	}
	for (size_t i = 0; i < dl.n; i++) {
		struct gw_object *o = gw_object_from_doc(dl.v[i].root, name, &diags);

		dl.v[i].root = NULL;
		if (!o) {
			gw_diag_print(&diags, stderr);
			fail_msg("object rejected");
		}
		o->seq = ++f->seq;
		assert_int_equal(gw_store_put(f->s, o), 0);
	}
	gw_doc_list_free(&dl);
	gw_diag_list_free(&diags);
}

static inline void fx_load(struct fx *f, const char *yaml)
{
	fx_load_buf(f, "inline.yaml", yaml, strlen(yaml));
}

/* fx_read_file() : the whole file at path (relative to the repository root,
 * where the tests run) as a new NUL-terminated string, its length in *len;
 * fails the test when it cannot be read */
static inline char *fx_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (!fp)
		fail_msg("cannot open %s (run from the repository root)", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	assert_true(n >= 0);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static inline void fx_run_opts(struct fx *f, const struct gw_translate_opts *o)
{
	gw_translation_free(f->t);
	f->t = NULL;
	assert_int_equal(gw_translate(f->s, o, &f->t), 0);
	assert_non_null(f->t);
}

static inline void fx_run(struct fx *f)
{
	struct gw_translate_opts o = { .now = 1700000000 };

	fx_run_opts(f, &o);
}

static inline void fx_free(struct fx *f)
{
	gw_translation_free(f->t);
	gw_store_free(f->s);
	memset(f, 0, sizeof(*f));
}

static inline const struct gw_obj_status *fx_obj(struct fx *f, const char *kind, const char *ns,
						 const char *name)
{
	for (size_t i = 0; i < f->t->n_status; i++) {
		const struct gw_object *o = f->t->status[i].obj;

		if (!strcmp(o->kind, kind) && !strcmp(o->ns, ns) && !strcmp(o->name, name))
			return &f->t->status[i];
	}
	fail_msg("no status entry for %s %s/%s", kind, ns, name);
	return NULL;
}

static inline json_t *fx_status(struct fx *f, const char *kind, const char *ns, const char *name)
{
	return fx_obj(f, kind, ns, name)->status;
}

static inline json_t *find_cond(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")), type))
			return c;
	return NULL;
}

static inline void _fail_msg_at(const char *file, int line, const char *fmt, ...) GW_PRINTF(3, 4);
static inline void _fail_msg_at(const char *file, int line, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fail_msg("%s:%d: %s", file, line, buf);
}

#define assert_cond(conds, type, status, reason)                                                   \
	_assert_cond((conds), (type), (status), (reason), __FILE__, __LINE__)
static inline void _assert_cond(json_t *conds, const char *type, const char *status,
				const char *reason, const char *file, int line)
{
	json_t *c = find_cond(conds, type);
	const char *s, *r;

	if (!c) {
		char *d = json_dumps(conds, JSON_COMPACT);

		_fail_msg_at(file, line, "condition %s missing in %s", type, d);
	}
	s = json_string_value(json_object_get(c, "status"));
	r = json_string_value(json_object_get(c, "reason"));
	if (strcmp(s, status) || strcmp(r, reason))
		_fail_msg_at(file, line, "condition %s: got %s/%s, want %s/%s", type, s, r, status,
			     reason);
}

/* gateway conditions */
static inline json_t *gw_conds(struct fx *f, const char *ns, const char *name)
{
	json_t *st = fx_status(f, "Gateway", ns, name);

	assert_non_null(st);
	return json_object_get(st, "conditions");
}

static inline json_t *gw_listener(struct fx *f, const char *kind, const char *ns, const char *name,
				  const char *lname)
{
	json_t *st = fx_status(f, kind, ns, name), *l;
	size_t i;

	assert_non_null(st);
	json_array_foreach(json_object_get(st, "listeners"), i, l)
		if (!strcmp(json_string_value(json_object_get(l, "name")), lname))
			return l;
	fail_msg("no listener %s in %s %s/%s", lname, kind, ns, name);
	return NULL;
}

static inline int64_t attached(json_t *l)
{
	return json_integer_value(json_object_get(l, "attachedRoutes"));
}

/* the parent status of a route for parentRef name (and section, or NULL) */
static inline json_t *route_parent(struct fx *f, const char *kind, const char *ns,
				   const char *name, const char *parent, const char *section)
{
	json_t *st = fx_status(f, kind, ns, name), *p;
	size_t i;

	if (!st)
		fail_msg("%s %s/%s has no status", kind, ns, name);
	json_array_foreach(json_object_get(st, "parents"), i, p) {
		json_t *ref = json_object_get(p, "parentRef");
		const char *sn = json_string_value(json_object_get(ref, "sectionName"));

		if (strcmp(json_string_value(json_object_get(ref, "name")), parent))
			continue;
		if (section ? !sn || strcmp(sn, section) : sn != NULL)
			continue;
		return json_object_get(p, "conditions");
	}
	fail_msg("%s %s/%s has no parent %s", kind, ns, name, parent);
	return NULL;
}

/* ---- the IR through the real router ---- */

static inline const struct gw_ir_bind *fx_bind(struct fx *f, const char *addr, uint16_t port)
{
	for (size_t i = 0; i < f->t->ir->n_binds; i++) {
		const struct gw_ir_bind *b = &f->t->ir->binds[i];

		if (b->port == port && (!addr || !strcmp(b->address, addr)))
			return b;
	}
	return NULL;
}

/* route() : which "ns/name#rule" serves method host path[?query] with the
 * given headers ("name: value" strings), "404" when nothing matches,
 * "nolistener" when the host selects no listener */
static inline const char *fx_route_h(struct fx *f, uint16_t port, const char *method,
				     const char *host, const char *target, const char **hdrs,
				     size_t n_hdrs, const struct gw_ir_action **act)
{
	static char out[512];
	struct gw_http_header hv[16];
	struct gw_http_req req = { 0 };
	struct gw_route_result res = { 0 };
	const struct gw_ir_bind *b = fx_bind(f, f->addr, port);
	const char *q = strchr(target, '?');

	if (act)
		*act = NULL;
	if (!b)
		return "nobind";
	for (size_t i = 0; i < n_hdrs && i < 16; i++) {
		const char *colon = strchr(hdrs[i], ':');

		hv[i].name.p = hdrs[i];
		hv[i].name.len = (size_t)(colon - hdrs[i]);
		hv[i].value.p = colon + 2;
		hv[i].value.len = strlen(colon + 2);
	}
	req.method.p = method;
	req.method.len = strlen(method);
	req.target.p = target;
	req.target.len = strlen(target);
	req.path.p = target;
	req.path.len = q ? (size_t)(q - target) : strlen(target);
	if (q) {
		req.query.p = q + 1;
		req.query.len = strlen(q + 1);
	}
	req.host.p = host;
	req.host.len = strlen(host);
	req.version_minor = 1;
	req.headers = hv;
	req.n_headers = n_hdrs;
	if (gw_router_match(b, &req, &res))
		return res.listener ? "404" : "nolistener";
	if (act)
		*act = res.action;
	snprintf(out, sizeof(out), "%s#%u", res.action->route, res.action->rule_index);
	return out;
}

static inline const char *fx_route(struct fx *f, uint16_t port, const char *host, const char *path)
{
	return fx_route_h(f, port, "GET", host, path, NULL, 0, NULL);
}

/* a fresh self-signed EC certificate and key as a kubernetes.io/tls Secret */
static inline char *tls_secret_yaml(const char *ns, const char *name)
{
	EVP_PKEY *k;
	X509 *x = fx_selfsigned("example.com", 1, &k);
	char *pc = fx_x509_pem(x), *pk = fx_pkey_pem(k), *out;
	size_t lc = strlen(pc), lk = strlen(pk);
	unsigned char *ec = calloc(1, lc * 2 + 4), *ek = calloc(1, lk * 2 + 4);

	assert_non_null(ec);
	assert_non_null(ek);
	EVP_EncodeBlock(ec, (unsigned char *)pc, (int)lc);
	EVP_EncodeBlock(ek, (unsigned char *)pk, (int)lk);
	assert_true(asprintf(&out,
			     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n"
			     "type: kubernetes.io/tls\ndata:\n  tls.crt: %s\n  tls.key: %s\n",
			     name, ns, ec, ek) > 0);
	free(ec);
	free(ek);
	free(pc);
	free(pk);
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

/* fx_ca_configmap_yaml() : a ConfigMap ns/name whose ca.crt is pem (a block
 * scalar). Returns new memory. */
static inline char *fx_ca_configmap_yaml(const char *ns, const char *name, const char *pem)
{
	char *ind = calloc(1, strlen(pem) * 2 + 8), *o = ind, *out;

	assert_non_null(ind);
	o += sprintf(o, "    ");
	for (const char *p = pem; *p; p++) {
		*o++ = *p;
		if (*p == '\n' && p[1])
			o += sprintf(o, "    ");
	}
	assert_true(asprintf(&out,
			     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n"
			     "data:\n  ca.crt: |\n%s",
			     name, ns, ind) > 0);
	free(ind);
	return out;
}

/* conf_ca_configmap_yaml() : a ConfigMap ns/name whose ca.crt is a fresh
 * self-signed certificate, as the suite makes for BackendTLSPolicy. Returns
 * new memory. */
static inline char *conf_ca_configmap_yaml(const char *ns, const char *name)
{
	EVP_PKEY *k;
	X509 *x = fx_selfsigned("conformance CA", 2, &k);
	char *pem = fx_x509_pem(x), *out = fx_ca_configmap_yaml(ns, name, pem);

	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

/* ---- upstream conformance manifests (test_translate_conformance*.c) ----
 *
 * Manifests are verbatim copies in fixtures/translate/conformance/ (Apache
 * 2.0, see LICENSE there); "{GATEWAY_CLASS_NAME}" and
 * "{GATEWAY_CONTROLLER_NAME}" are replaced, and the GatewayClass and the
 * TLS Secrets the Go suite creates at run time are added, as the suite does. */

#ifndef CONF_FIXTURES
#define CONF_FIXTURES "tests/unit/fixtures/translate/conformance/"
#endif

#define INFRA "gateway-conformance-infra"
#define WEB "gateway-conformance-web-backend"
#define APP "gateway-conformance-app-backend"

/* conf_subst() : a new string: src (n bytes) with every needle replaced by
 * rep; *out_n is its length */
static inline char *conf_subst(const char *src, size_t n, const char *needle, const char *rep,
			       size_t *out_n)
{
	size_t ln = strlen(needle), lr = strlen(rep), o = 0;
	char *out = calloc(1, n / ln * (lr + 1) + n + 1);

	assert_non_null(out);
	for (size_t i = 0; i < n;) {
		if (i + ln <= n && !memcmp(src + i, needle, ln)) {
			memcpy(out + o, rep, lr);
			o += lr;
			i += ln;
		} else {
			out[o++] = src[i++];
		}
	}
	*out_n = o;
	return out;
}

static inline void conf_load_manifest(struct fx *f, const char *name)
{
	char path[512], *buf, *b1, *b2;
	size_t len, n;

	snprintf(path, sizeof(path), CONF_FIXTURES "%s.yaml", name);
	buf = fx_read_file(path, &len);
	b1 = conf_subst(buf, len, "{GATEWAY_CLASS_NAME}", "gwbpf", &n);
	b2 = conf_subst(b1, n, "{GATEWAY_CONTROLLER_NAME}", "gwbpf.dev/gateway-controller", &n);
	free(b1);
	/* gateway-static-addresses: the suite substitutes addresses it was
	 * told are usable and unusable; a pool address and TEST-NET-1 */
	b1 = conf_subst(b2, n, "PLACEHOLDER_USABLE_ADDRS", "127.10.250.1", &n);
	free(b2);
	b2 = conf_subst(b1, n, "PLACEHOLDER_UNUSABLE_ADDRS", "192.0.2.1", &n);
	fx_load_buf(f, path, b2, n);
	free(buf);
	free(b1);
	free(b2);
}

/* base manifests + the GatewayClass + the Secrets the suite generates
 * (conformance/utils/suite: MustCreateSelfSignedCertSecret calls) */
static inline void conf_setup_base(struct fx *f)
{
	static const char *const secrets[][2] = {
		{ WEB, "certificate" },
		{ INFRA, "tls-validity-checks-certificate" },
		{ INFRA, "tls-passthrough-checks-certificate" },
		{ APP, "tls-passthrough-checks-certificate" },
		{ INFRA, "tls-terminate-checks-certificate" },
	};

	/* made once per test binary: key generation dominates otherwise */
	static char *yaml[sizeof(secrets) / sizeof(secrets[0])];

	fx_load(f, CLASS_YAML);
	conf_load_manifest(f, "base");
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (!yaml[i])
			yaml[i] = tls_secret_yaml(secrets[i][0], secrets[i][1]);
		fx_load(f, yaml[i]);
	}
}

/* Every Gateway gets its own address from a pool, as in a cluster: the
 * base Gateways all listen on port 80 without hostnames. */
static inline void conf_run_with(struct fx *f, const char *manifest)
{
	struct gw_translate_opts o = { .now = 1700000000, .address_pool = "127.10.0.0/16" };

	conf_setup_base(f);
	if (manifest)
		conf_load_manifest(f, manifest);
	fx_run_opts(f, &o);
}

#endif
