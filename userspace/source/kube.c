/* source/kube.c - list+watch the Kubernetes API into a store (the informer),
 * and the thread that runs it with the Lease (kube_lease.c) and the status
 * writer (kube_writer.c); the HTTP helpers all three share (kube-int.h).
 *
 * One thread owns every transfer (see gwbpf/kube.h for why): the main loop
 * never blocks on the network, and the store it reads only ever changes
 * when it calls gw_kube_source_handle().
 *
 * Per kind, a watcher runs the informer protocol: paginated LIST (limit +
 * continue) gives the objects and a resourceVersion, then WATCH from that
 * resourceVersion with bookmarks; each event moves the resourceVersion
 * forward. A watch that ends normally is restarted from where it was; one
 * that fails (dropped connection, API server restart, 5xx) is retried with
 * jittered exponential backoff from the same resourceVersion; "410 Gone"
 * (as an HTTP status or an ERROR event) means that resourceVersion was
 * compacted away, and the kind is listed again, replacing its objects.
 *
 * Gateway API kinds are watched at the newest version that both the
 * cluster serves and gwbpf's validator knows, and only when their CRD is
 * installed; discovery runs again every rediscover_s, so CRDs installed
 * (or upgraded, or removed) later are followed. Core kinds are always
 * watched. Secrets are limited to type kubernetes.io/tls (the only type a
 * Gateway certificateRef may name); ConfigMaps are all read.
 *
 * Nothing is published before every watched kind was listed once, so a
 * half-read cluster never produces a snapshot that drops routes. Objects the
 * validator refuses keep their previous valid version (last good), as with
 * the file source.
 */
#include "gwbpf/api.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gwbpf/diag.h"
#include "gwbpf/kube.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/readfile.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"
#include "gwbpf/validate.h"

#include "kube-int.h"

#define LIST_LIMIT        500
#define MAX_LIST_PAGES    10000
#define MAX_LINE          (16u << 20) /* one watch event */
#define MAX_RESP          (64u << 20) /* one list page */
#define CONNECT_TIMEOUT_S 5
#define WATCH_TIMEOUT_S   290 /* server side; jittered below */
#define POLL_MS           500

/* versions, newest first, in Kubernetes' version priority */
static const char *const versions[] = { "v1", "v1beta1", "v1alpha3", "v1alpha2", "v1alpha1" };

static const char *const gw_kinds[] = {
	"GatewayClass", "Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "TLSRoute",
	"TCPRoute", "UDPRoute", "ReferenceGrant", "BackendTLSPolicy",
};

static const struct {
	const char *group, *version, *kind, *selector;
} core_kinds[] = {
	{ "", "v1", "Namespace", NULL },
	{ "", "v1", "Service", NULL },
	{ "", "v1", "Secret", "fieldSelector=type%3Dkubernetes.io%2Ftls" },
	{ "", "v1", "ConfigMap", NULL },
	{ "discovery.k8s.io", "v1", "EndpointSlice", NULL },
	{ "networking.k8s.io", "v1", "Ingress", NULL },
};

enum wstate {
	W_LIST = 0, /* needs a (re)list */
	W_WATCH,    /* a watch transfer is running */
	W_REWATCH,  /* needs a watch from rv */
	W_BACKOFF,  /* waiting until next_ms, then relist or rewatch */
};

struct watcher {
	struct gw_kube_source *s;
	char *group, *version, *kind, *selector;
	char *path;          /* collection path */
	bool enabled;        /* false: CRD absent; objects removed */
	bool listed;         /* listed at least once since enabled */
	bool relist;         /* after the backoff: list, not watch */
	enum wstate st;
	char *rv;            /* latest resourceVersion seen */
	uint64_t next_ms;
	unsigned int backoff_ms;
	CURL *easy;
	struct curl_slist *hdrs;
	struct gw_kube_buf line;
	bool gone;           /* this watch saw 410 */
	bool got_event;
};

uint64_t gw_kube_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* d/2 + rand(d/2): spreads reconnects of many nodes after an API server restart */
static uint64_t jitter(unsigned int d)
{
	return d / 2 + (uint64_t)(random() % (d / 2 + 1));
}

static void backoff_step(unsigned int *b)
{
	*b = *b ? *b * 2 : GW_KUBE_BACKOFF_MIN_MS;
	if (*b > GW_KUBE_BACKOFF_MAX_MS)
		*b = GW_KUBE_BACKOFF_MAX_MS;
}

int gw_kube_buf_add(struct gw_kube_buf *b, const char *p, size_t n, size_t max)
{
	if (b->n + n + 1 > max)
		return -E2BIG;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->n + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

void gw_kube_buf_free(struct gw_kube_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* gw_kube_jpath() : the value at a dotted path of objects ("metadata.name"), borrowed */
json_t *gw_kube_jpath(const json_t *j, const char *path)
{
	char key[64];

	while (j && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	return (json_t *)j;
}

json_t *gw_kube_node_to_json(const struct gw_node *n)
{
	json_t *j;

	if (!n)
		return json_null();
	switch (n->type) {
	case GW_NODE_NULL:
		return json_null();
	case GW_NODE_SCALAR:
		switch (n->skind) {
		case GW_SCALAR_INT:
			return json_integer(strtoll(n->str, NULL, 0));
		case GW_SCALAR_FLOAT:
			return json_real(strtod(n->str, NULL));
		case GW_SCALAR_BOOL:
			return json_boolean(n->str[0] == 't' || n->str[0] == 'T');
		default:
			return json_stringn(n->str, n->len);
		}
	case GW_NODE_MAP:
		j = json_object();
		for (size_t i = 0; j && i < n->n_items; i++)
			json_object_set_new(j, n->items[i]->key, gw_kube_node_to_json(n->items[i]));
		return j;
	case GW_NODE_SEQ:
		j = json_array();
		for (size_t i = 0; j && i < n->n_items; i++)
			json_array_append_new(j, gw_kube_node_to_json(n->items[i]));
		return j;
	}
	return NULL;
}

/* ---- HTTP ---- */

void gw_kube_set_common(struct gw_kube_source *s, CURL *e, const char *url, struct curl_slist *h)
{
	const struct gw_kube_config *c = &s->cfg;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_USERAGENT, s->ua);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_data) {
		struct curl_blob b = { c->ca_data, strlen(c->ca_data), CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	} else if (c->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert_data) {
		struct curl_blob b = { c->cert_data, strlen(c->cert_data), CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (c->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_data) {
		struct curl_blob b = { c->key_data, strlen(c->key_data), CURL_BLOB_COPY };

		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->key_file) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
}

struct curl_slist *gw_kube_headers(struct gw_kube_source *s, const char *ctype)
{
	struct curl_slist *h = NULL, *t;
	char *line = NULL;

	h = curl_slist_append(NULL, "Accept: application/json");
	if (h && ctype && asprintf(&line, "Content-Type: %s", ctype) >= 0) {
		t = curl_slist_append(h, line);
		h = t ? t : h;
		free(line);
		line = NULL;
	}
	if (h && s->cfg.token && asprintf(&line, "Authorization: Bearer %s", s->cfg.token) >= 0) {
		t = curl_slist_append(h, line);
		h = t ? t : h;
		free(line);
	}
	return h;
}

static size_t collect_cb(char *p, size_t sz, size_t n, void *arg)
{
	return gw_kube_buf_add(arg, p, sz * n, MAX_RESP) ? 0 : sz * n;
}

/* rotating service account tokens: re-read the file after a 401 */
void gw_kube_reload_token(struct gw_kube_source *s)
{
	char *tok;

	if (!s->cfg.token_file)
		return;
	/* an unreadable or empty file keeps the token we have */
	tok = gw_readfile_small(s->cfg.token_file, 8191, NULL);
	if (tok && *tok && (!s->cfg.token || strcmp(tok, s->cfg.token))) {
		free(s->cfg.token);
		s->cfg.token = tok;
		tok = NULL;
	}
	free(tok);
}

/* gw_kube_request() : one blocking request with a total timeout. *code is the HTTP
 * status (0 when no response); *resp the parsed JSON body (new reference,
 * NULL when not JSON). Returns 0 when a response came, -EIO otherwise. */
int gw_kube_request(struct gw_kube_source *s, const char *method, const char *path,
		   const char *body, const char *ctype, long *code, json_t **resp)
{
	struct curl_slist *h = gw_kube_headers(s, ctype);
	struct gw_kube_buf b = { 0 };
	char *url = NULL;
	CURLcode rc;
	int err = -EIO;

	*code = 0;
	if (resp)
		*resp = NULL;
	if (asprintf(&url, "%s%s", s->cfg.server, path) < 0) {
		url = NULL;
		err = -ENOMEM;
		goto out;
	}
	curl_easy_reset(s->req);
	gw_kube_set_common(s, s->req, url, h);
	curl_easy_setopt(s->req, CURLOPT_TIMEOUT, (long)REQ_TIMEOUT_S);
	curl_easy_setopt(s->req, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(s->req, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(s->req, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(s->req, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(s->req, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(s->req);
	if (rc != CURLE_OK) {
		pr_debug("kube: %s %s: %s\n", method, path, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(s->req, CURLINFO_RESPONSE_CODE, code);
	if (*code == 401)
		gw_kube_reload_token(s);
	if (resp && b.n)
		*resp = json_loadb(b.p, b.n, 0, NULL);
	err = 0;
out:
	free(url);
	gw_kube_buf_free(&b);
	curl_slist_free_all(h);
	return err;
}
/* ---- store updates (worker thread) ---- */

/* strip_volatile() : removes what changes without the object's meaning
 * changing: status (written by controllers, gwbpf among them),
 * metadata.resourceVersion and metadata.managedFields. Takes j (an object
 * whose metadata may be shared) and returns a new reference safe to edit. */
static json_t *strip_volatile(json_t *j)
{
	json_t *c = json_copy(j), *md;

	if (!c)
		return NULL;
	json_object_del(c, "status");
	md = json_copy(json_object_get(c, "metadata"));
	if (md) {
		json_object_del(md, "resourceVersion");
		json_object_del(md, "managedFields");
		json_object_set_new(c, "metadata", md);
	}
	return c;
}

/* same_content() : true when j (an object from the API, apiVersion and kind
 * set) differs from the stored old only in status and volatile metadata.
 * Such an update (above all our own status patches coming back as watch
 * MODIFIED events: one per route and Gateway) must not cause a translation:
 * at 5,000 routes each one costs seconds. The whole remaining content is
 * compared, not only metadata.generation: Services, EndpointSlices, Secrets
 * and ConfigMaps have no generation, and labels or annotations change
 * without one. Any doubt (out of memory) answers false: publish. Borrows. */
static bool same_content(const struct gw_object *old, json_t *j)
{
	json_t *a = NULL, *b = NULL, *o;
	bool eq = false;

	if (!old || !old->root)
		return false;
	o = gw_kube_node_to_json(old->root);
	if (o)
		a = strip_volatile(o);
	b = strip_volatile(j);
	eq = a && b && json_equal(a, b);
	json_decref(o);
	json_decref(a);
	json_decref(b);
	return eq;
}

/* apply() : one object from a list or an event into the working store,
 * with the last-good policy. Takes a reference to j. */
static void apply(struct gw_kube_source *s, struct watcher *w, json_t *j)
{
	struct gw_diag_list diags = { 0 };
	struct gw_object *o, *old;
	struct gw_node *root;
	json_t *md = json_object_get(j, "metadata");
	char av[128], ref[256];
	uint64_t before;
	bool quiet;
	int err;

	/* list items may omit apiVersion/kind; managedFields only cost memory */
	snprintf(av, sizeof(av), "%s%s%s", w->group, *w->group ? "/" : "", w->version);
	json_object_set_new(j, "apiVersion", json_string(av));
	json_object_set_new(j, "kind", json_string(w->kind));
	json_object_del(md, "managedFields");
	old = gw_store_get(s->work, w->group, w->kind,
			   json_string_value(json_object_get(md, "namespace")) ?: "",
			   json_string_value(json_object_get(md, "name")) ?: "");
	quiet = same_content(old, j);
	root = gw_json_to_node(j);
	json_decref(j);
	if (!root) {
		pr_warn("kube: %s: cannot convert an object: %s\n", w->kind, strerror(errno));
		return;
	}
	o = gw_object_from_doc(root, NULL, &diags);
	if (!o)
		goto out;
	err = gw_validate_object(o, &diags);
	if (err) {
		if (err == -EINVAL)
			pr_warn("kube: %s: refused by validation; keeping its last good version\n",
				gw_object_ref(o, ref, sizeof(ref)));
		gw_object_put(o);
		goto out;
	}
	old = gw_store_get(s->work, o->group, o->kind, o->ns, o->name);
	o->seq = old ? old->seq : ++s->next_seq;
	/* stored all the same: the status writer diffs against what the API
	 * holds now (status, resourceVersion), but it is not a change to publish */
	before = s->work->version;
	if (gw_store_put(s->work, o))
		pr_warn("kube: out of memory adding an object\n");
	else if (quiet) {
		s->quiet_versions += s->work->version - before;
		s->n_quiet++;
		/* someone else may have overwritten our part of the status: the
		 * writer compares again (no request when ours is intact) */
		if (gw_kube_has_status(w->kind) && !s->wr_dirty) {
			/* at most one such pass a second: our own patches come
			 * back by the thousand after a large write */
			s->wr_dirty = true;
			s->wr_next = gw_kube_now_ms() + 1000;
		}
	}
out:
	for (size_t i = 0; i < diags.n; i++) {
		char line[512];

		gw_diag_format(&diags.v[i], line, sizeof(line));
		pr_warn("kube: %s\n", line);
	}
	gw_diag_list_free(&diags);
}

static void remove_obj(struct gw_kube_source *s, struct watcher *w, json_t *j)
{
	const char *ns = json_string_value(gw_kube_jpath(j, "metadata.namespace"));
	const char *name = json_string_value(json_object_get(json_object_get(j, "metadata"),
							      "name"));

	if (name)
		gw_store_del(s->work, w->group, w->kind, ns ? ns : "", name);
}

/* drops every object of w's kind not seen in the last list (seen[] of keys) */
static void remove_all(struct gw_kube_source *s, struct watcher *w, json_t *keep)
{
	struct gw_object **v = NULL;
	ssize_t n = gw_store_list(s->work, w->group, w->kind, &v);

	for (ssize_t i = 0; i < n; i++) {
		char key[600];

		snprintf(key, sizeof(key), "%s/%s", v[i]->ns, v[i]->name);
		if (!keep || !json_object_get(keep, key))
			gw_store_del(s->work, w->group, w->kind, v[i]->ns, v[i]->name);
	}
	free(v);
}

static void set_rv(struct watcher *w, const char *rv)
{
	char *c;

	if (!rv || !*rv || (w->rv && !strcmp(w->rv, rv)))
		return;
	c = strdup(rv);
	if (c) {
		free(w->rv);
		w->rv = c;
	}
}

/* ---- list ---- */

/* list() : paginated list replacing the kind's objects. 0, -ESTALE (410:
 * relist now), -EACCES (403/404: forbidden by RBAC or not served), -EIO
 * (backoff). */
static int list(struct gw_kube_source *s, struct watcher *w)
{
	json_t *keep = json_object(), *resp = NULL, *items = NULL;
	char *cont = NULL, *path = NULL;
	int err = -EIO, pages = 0;
	long code;

	if (!keep)
		return -ENOMEM;
	do {
		json_t *it;
		size_t i;

		free(path);
		if (asprintf(&path, "%s?limit=%d%s%s%s%s", w->path, LIST_LIMIT,
			     cont ? "&continue=" : "", cont ? cont : "", w->selector ? "&" : "",
			     w->selector ? w->selector : "") < 0) {
			path = NULL;
			err = -ENOMEM;
			goto out;
		}
		json_decref(resp);
		resp = NULL;
		if (gw_kube_request(s, "GET", path, NULL, NULL, &code, &resp))
			goto out;
		if (code == 410) {
			err = -ESTALE;
			goto out;
		}
		if (code == 403 || code == 404) {
			err = -EACCES;
			goto out;
		}
		if (code != 200 || !json_is_object(resp)) {
			pr_warn("kube: list %s: HTTP %ld\n", w->path, code);
			goto out;
		}
		items = json_object_get(resp, "items");
		json_array_foreach(items, i, it) {
			const char *ns = json_string_value(gw_kube_jpath(it, "metadata.namespace"));
			const char *nm = json_string_value(gw_kube_jpath(it, "metadata.name"));
			char key[600];

			snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", nm ? nm : "");
			json_object_set_new(keep, key, json_true());
			apply(s, w, json_incref(it));
		}
		free(cont);
		cont = NULL;
		{
			const char *c = json_string_value(gw_kube_jpath(resp,
									       "metadata.continue"));
			if (c && *c) {
				cont = curl_easy_escape(s->req, c, 0);
				if (!cont) {
					err = -ENOMEM;
					goto out;
				}
			} else {
				set_rv(w, json_string_value(gw_kube_jpath(resp,
								"metadata.resourceVersion")));
			}
		}
		/* a list of 20,000 objects takes longer than a Lease */
		if (!s->no_status)
			gw_kube_lease_tick(s);
	} while (cont && ++pages < MAX_LIST_PAGES);
	remove_all(s, w, keep);
	w->listed = true;
	err = 0;
	pr_debug("kube: listed %s at resourceVersion %s\n", w->path, w->rv ? w->rv : "");
out:
	curl_free(cont);
	free(path);
	json_decref(resp);
	json_decref(keep);
	return err;
}

/* ---- watch ---- */

static void watch_line(struct watcher *w, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL), *obj;
	const char *type;

	if (!ev) {
		/* events may have been lost with it: only a list is safe */
		pr_warn("kube: watch %s: an event is not JSON; listing again\n", w->path);
		w->gone = true;
		return;
	}
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj))
		goto out;
	w->got_event = true;
	if (!strcmp(type, "ERROR")) {
		json_int_t c = json_integer_value(json_object_get(obj, "code"));

		pr_info("kube: watch %s: error %" JSON_INTEGER_FORMAT ": %s\n", w->path, c,
			json_string_value(json_object_get(obj, "message")) ?: "");
		if (c == 410)
			w->gone = true;
		goto out;
	}
	set_rv(w, json_string_value(gw_kube_jpath(obj, "metadata.resourceVersion")));
	/* one line per event applied (tests check none is applied twice) */
	pr_debug("kube: event %s %s %s/%s rv %s\n", type, w->kind,
		 json_string_value(gw_kube_jpath(obj, "metadata.namespace")) ?: "",
		 json_string_value(gw_kube_jpath(obj, "metadata.name")) ?: "",
		 json_string_value(gw_kube_jpath(obj, "metadata.resourceVersion")) ?: "");
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED"))
		apply(w->s, w, json_incref(obj));
	else if (!strcmp(type, "DELETED"))
		remove_obj(w->s, w, obj);
	/* BOOKMARK: only the resourceVersion moves */
out:
	json_decref(ev);
}

static size_t watch_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = sz * n;
	long code = 0;
	char *nl;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return len; /* an error body: the status code tells enough */
	if (gw_kube_buf_add(&w->line, p, len, MAX_LINE)) {
		pr_warn("kube: watch %s: event larger than %u bytes\n", w->path, MAX_LINE);
		return 0;
	}
	while ((nl = memchr(w->line.p, '\n', w->line.n))) {
		size_t l = (size_t)(nl - w->line.p);

		if (l)
			watch_line(w, w->line.p, l);
		memmove(w->line.p, nl + 1, w->line.n - l - 1);
		w->line.n -= l + 1;
		if (w->gone)
			return 0; /* abort: the next step is a relist */
	}
	return len;
}

static int watch_start(struct gw_kube_source *s, struct watcher *w)
{
	char *url = NULL;
	long to = WATCH_TIMEOUT_S - (long)(random() % 60);

	if (asprintf(&url, "%s%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%ld"
		     "&resourceVersion=%s%s%s", s->cfg.server, w->path, to, w->rv ? w->rv : "0",
		     w->selector ? "&" : "", w->selector ? w->selector : "") < 0)
		return -ENOMEM;
	w->easy = curl_easy_init();
	w->hdrs = gw_kube_headers(s, NULL);
	if (!w->easy || !w->hdrs) {
		free(url);
		curl_easy_cleanup(w->easy);
		w->easy = NULL;
		return -ENOMEM;
	}
	gw_kube_set_common(s, w->easy, url, w->hdrs);
	free(url);
	/* the server ends the watch at timeoutSeconds; this only bounds a stall */
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT, to + 30);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_cb);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
	w->line.n = 0;
	w->gone = false;
	w->got_event = false;
	if (curl_multi_add_handle(s->multi, w->easy)) {
		curl_easy_cleanup(w->easy);
		w->easy = NULL;
		return -EIO;
	}
	w->st = W_WATCH;
	return 0;
}

static void watch_stop(struct gw_kube_source *s, struct watcher *w)
{
	if (w->easy) {
		curl_multi_remove_handle(s->multi, w->easy);
		curl_easy_cleanup(w->easy);
		w->easy = NULL;
	}
	curl_slist_free_all(w->hdrs);
	w->hdrs = NULL;
}

static void backoff(struct watcher *w, bool relist)
{
	backoff_step(&w->backoff_ms);
	w->next_ms = gw_kube_now_ms() + jitter(w->backoff_ms);
	w->relist = w->relist || relist;
	w->st = W_BACKOFF;
}

static void watch_done(struct gw_kube_source *s, struct watcher *w, CURLcode rc)
{
	long code = 0;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	watch_stop(s, w);
	if (w->gone || code == 410) {
		pr_info("kube: %s: resourceVersion %s is gone; listing again\n", w->kind,
			w->rv ? w->rv : "");
		w->st = W_LIST;
		return;
	}
	if (rc == CURLE_OK && code == 200) {
		/* the server ended the watch (timeoutSeconds): continue from rv */
		w->backoff_ms = 0;
		w->st = W_REWATCH;
		return;
	}
	if (code == 401)
		gw_kube_reload_token(s);
	pr_info("kube: watch %s ended (%s, HTTP %ld); reconnecting\n", w->path,
		curl_easy_strerror(rc), code);
	if (w->got_event)
		w->backoff_ms = 0; /* it worked for a while: start the backoff over */
	backoff(w, false);
}

/* ---- watchers ---- */

static struct watcher *add_watcher(struct gw_kube_source *s, const char *group,
				   const char *version, const char *kind, const char *selector)
{
	struct watcher **nw = realloc(s->w, (s->n_w + 1) * sizeof(*nw)), *w;

	if (!nw)
		return NULL;
	s->w = nw;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->s = s;
	w->group = strdup(group);
	w->version = strdup(version);
	w->kind = strdup(kind);
	w->selector = selector ? strdup(selector) : NULL;
	w->path = gw_kube_resource_path(group, version, kind, NULL, NULL);
	if (!w->group || !w->version || !w->kind || !w->path || (selector && !w->selector)) {
		free(w->group);
		free(w->version);
		free(w->kind);
		free(w->selector);
		free(w->path);
		free(w);
		return NULL;
	}
	s->w[s->n_w++] = w;
	return w;
}

static void watcher_disable(struct gw_kube_source *s, struct watcher *w)
{
	watch_stop(s, w);
	remove_all(s, w, NULL);
	w->enabled = false;
	w->listed = false;
	free(w->rv);
	w->rv = NULL;
	w->st = W_LIST;
}

/* gw_kinds[i] in the cluster: the chosen version, or NULL */
static const char *pick_version(json_t *served, const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		json_t *res = json_object_get(served, versions[i]), *r;
		size_t j;

		json_array_foreach(res, j, r) {
			const char *k = json_string_value(json_object_get(r, "kind"));
			const char *n = json_string_value(json_object_get(r, "name"));

			if (k && n && !strcmp(k, kind) && !strchr(n, '/') &&
			    gw_schema_find(GW_GROUP, versions[i], kind))
				return versions[i];
		}
	}
	return NULL;
}

/* discover() : which Gateway API kinds the cluster serves, at which
 * version; enables and disables watchers accordingly. 0 or -EIO. */
static int discover(struct gw_kube_source *s)
{
	json_t *grp = NULL, *served = json_object(), *v, *resp;
	int err = -EIO;
	long code;
	size_t i;

	if (!served)
		return -ENOMEM;
	if (gw_kube_request(s, "GET", "/apis/" GW_GROUP, NULL, NULL, &code, &grp))
		goto out;
	if (code != 200 && code != 404) {
		pr_warn("kube: discovery of %s: HTTP %ld\n", GW_GROUP, code);
		goto out;
	}
	json_array_foreach(json_object_get(grp, "versions"), i, v) {
		const char *ver = json_string_value(json_object_get(v, "version"));
		char path[256];

		if (!ver || code != 200)
			continue;
		snprintf(path, sizeof(path), "/apis/%s/%s", GW_GROUP, ver);
		if (gw_kube_request(s, "GET", path, NULL, NULL, &code, &resp))
			goto out;
		if (code == 200)
			json_object_set(served, ver, json_object_get(resp, "resources"));
		json_decref(resp);
		if (code != 200 && code != 404)
			goto out;
		code = 200;
	}
	for (size_t k = 0; k < ARRAY_SIZE(gw_kinds); k++) {
		const char *ver = pick_version(served, gw_kinds[k]);
		struct watcher *w = NULL;

		for (size_t j = 0; j < s->n_w; j++) {
			if (!strcmp(s->w[j]->group, GW_GROUP) && !strcmp(s->w[j]->kind, gw_kinds[k]))
				w = s->w[j];
		}
		if (w && w->enabled && (!ver || strcmp(ver, w->version))) {
			pr_info("kube: %s is no longer served at %s\n", w->kind, w->version);
			watcher_disable(s, w);
		}
		if (!ver || (w && w->enabled))
			continue;
		if (w && strcmp(w->version, ver)) {
			char *p = gw_kube_resource_path(GW_GROUP, ver, gw_kinds[k], NULL, NULL);
			char *nv = strdup(ver);

			if (!p || !nv) {
				free(p);
				free(nv);
				continue;
			}
			free(w->path);
			free(w->version);
			w->path = p;
			w->version = nv;
		}
		if (!w)
			w = add_watcher(s, GW_GROUP, ver, gw_kinds[k], NULL);
		if (!w)
			continue;
		pr_info("kube: watching %s at %s/%s\n", w->kind, GW_GROUP, ver);
		w->enabled = true;
		w->st = W_LIST;
	}
	err = 0;
out:
	json_decref(grp);
	json_decref(served);
	return err;
}

/* ---- the thread ---- */

/* work_version() : the working store's version minus what status-only
 * updates spent: it moves only with changes a translation can see */
static uint64_t work_version(const struct gw_kube_source *s)
{
	return s->work->version - s->quiet_versions;
}

/* log_quiet() : how many updates were not republished, at most once a
 * second (tests and operators read the total) */
static void log_quiet(struct gw_kube_source *s, uint64_t now)
{
	if (s->n_quiet == s->n_quiet_logged || now - s->quiet_log_at < 1000)
		return;
	pr_info("kube: %" PRIu64 " updates changed only status or volatile metadata: "
		"not republished (total %" PRIu64 ")\n", s->n_quiet - s->n_quiet_logged,
		s->n_quiet);
	s->n_quiet_logged = s->n_quiet;
	s->quiet_log_at = now;
}

static void publish(struct gw_kube_source *s)
{
	struct gw_store *c = gw_store_clone(s->work), *old;
	uint64_t one = 1;

	if (!c)
		return;
	pthread_mutex_lock(&s->lock);
	old = s->pending;
	s->pending = c;
	pthread_mutex_unlock(&s->lock);
	gw_store_free(old);
	s->published_version = work_version(s);
	if (write(s->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		pr_warn("kube: eventfd: %s\n", strerror(errno));
}

static bool all_listed(const struct gw_kube_source *s)
{
	for (size_t i = 0; i < s->n_w; i++) {
		if (s->w[i]->enabled && !s->w[i]->listed)
			return false;
	}
	return true;
}

static void step_watchers(struct gw_kube_source *s)
{
	uint64_t now = gw_kube_now_ms();

	for (size_t i = 0; i < s->n_w && !atomic_load(&s->stop); i++) {
		struct watcher *w = s->w[i];
		int err;

		if (!w->enabled)
			continue;
		if (w->st == W_BACKOFF) {
			if (now < w->next_ms)
				continue;
			w->st = w->relist || !w->rv ? W_LIST : W_REWATCH;
			w->relist = false;
		}
		if (w->st == W_LIST) {
			err = list(s, w);
			if (err == -ESTALE) {
				free(w->rv);
				w->rv = NULL;
				backoff(w, true);
				continue;
			}
			if (err == -EACCES && !w->listed) {
				/* forbidden (RBAC) or not served: read as empty rather
				 * than holding every other kind's first snapshot back */
				pr_warn("kube: cannot list %s (forbidden or not served); "
					"treating it as empty and retrying\n", w->path);
				remove_all(s, w, NULL);
				w->listed = true;
			}
			if (err) {
				backoff(w, true);
				continue;
			}
			w->st = W_REWATCH;
		}
		if (w->st == W_REWATCH && watch_start(s, w))
			backoff(w, false);
	}
}

static void *thread_main(void *arg)
{
	struct gw_kube_source *s = arg;

	while (!atomic_load(&s->stop)) {
		uint64_t now = gw_kube_now_ms();
		int running, msgs, timeout = POLL_MS;
		CURLMsg *m;

		if (now >= s->next_discovery) {
			if (discover(s)) {
				backoff_step(&s->disc_backoff_ms);
				s->next_discovery = now + jitter(s->disc_backoff_ms);
			} else {
				s->disc_backoff_ms = 0;
				s->next_discovery = now + (uint64_t)s->rediscover_s * 1000;
			}
		}
		step_watchers(s);
		curl_multi_perform(s->multi, &running);
		while ((m = curl_multi_info_read(s->multi, &msgs))) {
			struct watcher *w = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&w);
			if (w)
				watch_done(s, w, m->data.result);
		}
		now = gw_kube_now_ms();
		log_quiet(s, now);
		/* publish once changes settle, but never later than 5 debounces */
		if (all_listed(s)) {
			if (!atomic_load(&s->synced)) {
				atomic_store(&s->synced, true);
				publish(s);
				pr_info("kube: synced; %zu objects\n", s->work->n_objects);
			} else if (work_version(s) != s->published_version) {
				if (!s->publish_at)
					s->publish_at = now + GW_KUBE_DEBOUNCE_MS;
				if (now >= s->publish_at) {
					publish(s);
					s->publish_at = 0;
				}
			}
		}
		gw_kube_writer_step(s, now);
		if (s->publish_at)
			timeout = s->publish_at <= now ? 0 :
				  (int)(s->publish_at - now < (uint64_t)timeout ? s->publish_at - now :
									     (uint64_t)timeout);
		curl_multi_poll(s->multi, NULL, 0, timeout, NULL);
	}
	if (!s->no_status && atomic_load(&s->leader))
		gw_kube_lease_try(s, true);
	return NULL;
}
/* ---- public API ---- */

static char *dup_cfg(const char *p, bool *fail)
{
	char *c = p ? strdup(p) : NULL;

	if (p && !c)
		*fail = true;
	return c;
}

struct gw_kube_source *gw_kube_source_new(const struct gw_kube_source_opts *o)
{
	struct gw_kube_source *s = calloc(1, sizeof(*s));
	const struct gw_kube_config *c = o->cfg;
	const char *node = getenv("NODE_NAME"); /* the DaemonSet sets it (downward API) */
	char host[256] = "";
	bool fail = false;
	int err = -ENOMEM;

	if (!s)
		return NULL;
	s->efd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->cfg.server = dup_cfg(c->server, &fail);
	s->cfg.token = dup_cfg(c->token, &fail);
	s->cfg.token_file = dup_cfg(c->token_file, &fail);
	s->cfg.ca_file = dup_cfg(c->ca_file, &fail);
	s->cfg.ca_data = dup_cfg(c->ca_data, &fail);
	s->cfg.cert_file = dup_cfg(c->cert_file, &fail);
	s->cfg.cert_data = dup_cfg(c->cert_data, &fail);
	s->cfg.key_file = dup_cfg(c->key_file, &fail);
	s->cfg.key_data = dup_cfg(c->key_data, &fail);
	s->cfg.insecure = c->insecure;
	s->cfg.namespace = dup_cfg(c->namespace ? c->namespace : "default", &fail);
	if (o->identity)
		s->identity = dup_cfg(o->identity, &fail);
	else if (node && *node)
		s->identity = dup_cfg(node, &fail);
	else if (gethostname(host, sizeof(host) - 1) == 0)
		s->identity = dup_cfg(host, &fail);
	else
		s->identity = dup_cfg("gwbpf", &fail);
	s->lease_ns = dup_cfg(o->lease_ns ? o->lease_ns : s->cfg.namespace, &fail);
	s->controller = dup_cfg(o->controller ? o->controller : GW_CONTROLLER_NAME, &fail);
	if (fail || !s->cfg.server || asprintf(&s->ua, "gwbpf/%s", s->identity ? s->identity : "")
	    < 0) {
		s->ua = NULL;
		goto fail;
	}
	s->lease_duration_s = o->lease_duration_s > 0 ? o->lease_duration_s :
							   GW_KUBE_LEASE_DURATION_S;
	s->renew_s = o->renew_s > 0 ? o->renew_s : GW_KUBE_LEASE_RENEW_S;
	s->rediscover_s = o->rediscover_s > 0 ? o->rediscover_s : GW_KUBE_REDISCOVER_S;
	s->no_status = o->no_status;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->work = gw_store_new();
	s->current = gw_store_new();
	s->multi = curl_multi_init();
	s->req = curl_easy_init();
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->work || !s->current || !s->multi || !s->req || s->efd == -1)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(core_kinds); i++) {
		struct watcher *w = add_watcher(s, core_kinds[i].group, core_kinds[i].version,
						core_kinds[i].kind, core_kinds[i].selector);

		if (!w)
			goto fail;
		w->enabled = true;
	}
	srandom((unsigned int)(gw_kube_now_ms() ^ (uint64_t)getpid()));
	err = -pthread_create(&s->thr, NULL, thread_main, s);
	if (err)
		goto fail;
	s->started = true;
	return s;
fail:
	gw_kube_source_free(s);
	errno = -err;
	return NULL;
}

void gw_kube_source_free(struct gw_kube_source *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->started) {
		curl_multi_wakeup(s->multi);
		pthread_join(s->thr, NULL);
	}
	for (size_t i = 0; i < s->n_w; i++) {
		struct watcher *w = s->w[i];

		watch_stop(s, w);
		gw_kube_buf_free(&w->line);
		free(w->group);
		free(w->version);
		free(w->kind);
		free(w->selector);
		free(w->path);
		free(w->rv);
		free(w);
	}
	free(s->w);
	curl_multi_cleanup(s->multi);
	curl_easy_cleanup(s->req);
	if (s->efd != -1)
		close(s->efd);
	gw_store_free(s->work);
	gw_store_free(s->current);
	gw_store_free(s->pending);
	gw_kube_items_free(s->st_items, s->n_st_items);
	gw_kube_items_free(s->wr_items, s->n_wr_items);
	gw_kube_config_clear(&s->cfg);
	free(s->identity);
	free(s->lease_ns);
	free(s->controller);
	free(s->ua);
	free(s->lease_seen_rv);
	json_decref(s->node_addrs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int gw_kube_source_fd(const struct gw_kube_source *s)
{
	return s->efd;
}

int gw_kube_source_handle(struct gw_kube_source *s, bool *changed)
{
	struct gw_store *n;
	uint64_t v;

	if (changed)
		*changed = false;
	if (read(s->efd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&s->lock);
	n = s->pending;
	s->pending = NULL;
	pthread_mutex_unlock(&s->lock);
	if (!n)
		return 0;
	gw_store_free(s->current);
	s->current = n;
	if (changed)
		*changed = true;
	return 0;
}

const struct gw_store *gw_kube_source_store(const struct gw_kube_source *s)
{
	return s->current;
}

bool gw_kube_source_synced(const struct gw_kube_source *s)
{
	return atomic_load(&((struct gw_kube_source *)s)->synced);
}

bool gw_kube_source_is_leader(const struct gw_kube_source *s)
{
	return atomic_load(&((struct gw_kube_source *)s)->leader);
}
