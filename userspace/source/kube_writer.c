/* source/kube_writer.c - the status writer: while this instance holds the
 * Lease, brings the status of every object gwbpf owns to what the last
 * translation computed, with merge PATCHes of only what changed
 * (gw_kube_status_patch()), STATUS_PARALLEL at a time. Runs on the
 * Kubernetes source's thread; the statuses come from the main thread
 * through gw_kube_source_set_status().
 */
#include "gwbpf/api.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gwbpf/kube.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/store.h"

#include "kube-int.h"

#define STATUS_RETRIES  3
#define STATUS_PARALLEL 8 /* status PATCHes in flight at once */

bool gw_kube_has_status(const char *kind)
{
	static const char *const k[] = { "GatewayClass", "Gateway", "ListenerSet", "HTTPRoute",
					 "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute",
					 "BackendTLSPolicy", "Ingress" };

	for (size_t i = 0; i < ARRAY_SIZE(k); i++) {
		if (!strcmp(k[i], kind))
			return true;
	}
	return false;
}

/* write_one() : brings one object's status to want, reading the object
 * from the API first (after a 409 the copy the watch gave may be stale).
 * 0 (written or nothing to do), -EAGAIN (retry later). */
static int write_one(struct gw_kube_source *s, const struct gw_object *so, json_t *want)
{
	struct gw_object *o = gw_store_get(s->work, so->group, so->kind, so->ns, so->name);
	json_t *cur = o ? gw_kube_node_to_json(o->root) : NULL, *patch = NULL;
	char *path = NULL, *txt = NULL, ref[256];
	int err = 0;
	long code;

	if (!o)
		goto out; /* deleted meanwhile */
	path = gw_kube_resource_path(o->group, o->version, o->kind, o->ns, o->name);
	if (!path) {
		err = -EAGAIN;
		goto out;
	}
	json_decref(cur);
	cur = NULL;
	if (gw_kube_request(s, "GET", path, NULL, NULL, &code, &cur) || code != 200) {
		err = code == 404 ? 0 : -EAGAIN;
		goto out;
	}
	for (int attempt = 0; attempt < STATUS_RETRIES; attempt++) {
		char sub[1024];

		json_decref(patch);
		patch = gw_kube_status_patch(cur, want, s->controller);
		if (!patch) {
			err = errno == ENOMEM ? -EAGAIN : 0;
			goto out;
		}
		free(txt);
		txt = json_dumps(patch, JSON_COMPACT);
		snprintf(sub, sizeof(sub), "%s/status", path);
		if (!txt || gw_kube_request(s, "PATCH", sub, txt, "application/merge-patch+json", &code,
				    NULL)) {
			err = -EAGAIN;
			goto out;
		}
		if (code == 200) {
			pr_debug("kube: status of %s written\n", gw_object_ref(o, ref, sizeof(ref)));
			goto out;
		}
		if (code == 404)
			goto out;
		if (code != 409) {
			pr_warn("kube: status of %s: HTTP %ld\n", gw_object_ref(o, ref, sizeof(ref)),
				code);
			err = -EAGAIN;
			goto out;
		}
		/* 409: someone changed the object; diff against what it is now */
		json_decref(cur);
		cur = NULL;
		if (gw_kube_request(s, "GET", path, NULL, NULL, &code, &cur) || code != 200) {
			err = code == 404 ? 0 : -EAGAIN;
			goto out;
		}
	}
	err = -EAGAIN;
out:
	json_decref(cur);
	json_decref(patch);
	free(txt);
	free(path);
	return err;
}

/* node_addresses() : [{type: IPAddress, value}] of every Linux node
 * (InternalIP, else ExternalIP), sorted and deduplicated; cached 30 s.
 * Borrowed; NULL when unknown. A Gateway without spec.addresses is served
 * on every node's addresses (hostNetwork DaemonSet listening on the
 * unspecified address), so these are what status.addresses reports. */
static json_t *node_addresses(struct gw_kube_source *s)
{
	json_t *resp = NULL, *out, *n, *a;
	size_t i, j;
	long code;

	if (s->node_addrs && gw_kube_now_ms() - s->node_addrs_at < 30000)
		return s->node_addrs;
	if (gw_kube_request(s, "GET", "/api/v1/nodes?labelSelector=kubernetes.io%2Fos%3Dlinux", NULL,
		    NULL, &code, &resp) || code != 200) {
		json_decref(resp);
		return s->node_addrs; /* the last known list beats none */
	}
	out = json_array();
	json_array_foreach(json_object_get(resp, "items"), i, n) {
		const char *pick = NULL;

		json_array_foreach(gw_kube_jpath(n, "status.addresses"), j, a) {
			const char *t = json_string_value(json_object_get(a, "type"));
			const char *v = json_string_value(json_object_get(a, "address"));

			if (t && v && !strcmp(t, "InternalIP") && !pick)
				pick = v;
		}
		json_array_foreach(gw_kube_jpath(n, "status.addresses"), j, a) {
			const char *t = json_string_value(json_object_get(a, "type"));
			const char *v = json_string_value(json_object_get(a, "address"));

			if (t && v && !strcmp(t, "ExternalIP") && !pick)
				pick = v;
		}
		if (pick && out)
			json_array_append_new(out, json_string(pick));
	}
	json_decref(resp);
	if (!out || !json_array_size(out)) {
		json_decref(out);
		return s->node_addrs;
	}
	/* sorted, unique, as status entries: the same on every leader */
	{
		size_t m = json_array_size(out);
		const char **v = calloc(m, sizeof(*v));
		json_t *st = json_array();

		for (i = 0; v && i < m; i++)
			v[i] = json_string_value(json_array_get(out, i));
		for (i = 1; v && i < m; i++) {
			for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
				const char *t = v[j];

				v[j] = v[j - 1];
				v[j - 1] = t;
			}
		}
		for (i = 0; v && st && i < m; i++) {
			if (i && !strcmp(v[i], v[i - 1]))
				continue;
			json_array_append_new(st, json_pack("{s:s, s:s}", "type", "IPAddress",
							    "value", v[i]));
		}
		free(v);
		json_decref(out);
		if (!st)
			return s->node_addrs;
		json_decref(s->node_addrs);
		s->node_addrs = st;
		s->node_addrs_at = gw_kube_now_ms();
	}
	return s->node_addrs;
}

/* a Gateway bound to the unspecified address reports the nodes' addresses */
static json_t *gateway_want(struct gw_kube_source *s, json_t *want)
{
	json_t *addrs = json_object_get(want, "addresses"), *nodes, *w;
	const char *v = json_string_value(json_object_get(json_array_get(addrs, 0), "value"));

	if (json_array_size(addrs) != 1 || !v || (strcmp(v, "0.0.0.0") && strcmp(v, "::")))
		return json_incref(want);
	nodes = node_addresses(s);
	w = nodes ? json_copy(want) : NULL;
	if (!w)
		return json_incref(want);
	json_object_set(w, "addresses", nodes);
	return w;
}

/* ingress_want() : an Ingress's status.loadBalancer as the API schema has
 * it: the translator's "conditions" (for `gwbpf status` only) dropped, and
 * the unspecified address replaced by the nodes' addresses as for Gateways.
 * New reference or NULL. */
static json_t *ingress_want(struct gw_kube_source *s, json_t *want)
{
	json_t *w = json_deep_copy(want), *lb, *nodes, *a;
	const char *ip;
	size_t i;

	if (!w)
		return NULL;
	json_object_del(w, "conditions");
	lb = gw_kube_jpath(w, "loadBalancer.ingress");
	ip = json_string_value(json_object_get(json_array_get(lb, 0), "ip"));
	if (json_array_size(lb) != 1 || !ip || (strcmp(ip, "0.0.0.0") && strcmp(ip, "::")))
		return w;
	nodes = node_addresses(s);
	if (!nodes)
		return w;
	json_array_clear(lb);
	json_array_foreach(nodes, i, a)
		json_array_append_new(lb, json_pack("{s:O}", "ip", json_object_get(a, "value")));
	return w;
}

/* statuses gwbpf writes: Gateway API kinds, and Ingresses of its class
 * (the translator gives no status to the others) */
static bool writes_status(const struct gw_object *o)
{
	if (!gw_kube_has_status(o->kind))
		return false;
	if (!strcmp(o->kind, "Ingress"))
		return !strcmp(o->group, "networking.k8s.io");
	return !strcmp(o->group, GW_GROUP);
}

/* one status PATCH of a write pass */
struct wjob {
	const struct gw_object *obj; /* borrowed from wr_items */
	json_t *want;                /* reference */
	char *path;                  /* ".../status" */
	char *body;                  /* the merge patch */
	CURL *easy;
	struct curl_slist *hdrs;
	struct gw_kube_buf resp;             /* read and dropped */
	long code;                   /* 0: not answered */
};

static size_t drop_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct gw_kube_buf *b = arg;

	/* status answers are small; a huge one is cut, not buffered */
	return gw_kube_buf_add(b, p, sz * n, 1u << 20) ? 0 : sz * n;
}

/* wjob_prepare() : the patch that brings o's status to want, or false when
 * there is nothing to write. *again is set when it could not be computed. */
static bool wjob_prepare(struct gw_kube_source *s, struct wjob *j, bool *again)
{
	struct gw_object *o = gw_store_get(s->work, j->obj->group, j->obj->kind, j->obj->ns,
					   j->obj->name);
	json_t *cur = o ? gw_kube_node_to_json(o->root) : NULL, *patch = NULL;
	char *p = NULL;
	bool ok = false;

	if (!o)
		goto out; /* deleted meanwhile */
	patch = gw_kube_status_patch(cur, j->want, s->controller);
	if (!patch) {
		*again |= errno == ENOMEM;
		goto out;
	}
	p = gw_kube_resource_path(o->group, o->version, o->kind, o->ns, o->name);
	j->body = json_dumps(patch, JSON_COMPACT);
	if (!p || !j->body || asprintf(&j->path, "%s/status", p) < 0) {
		j->path = NULL;
		*again = true;
		goto out;
	}
	ok = true;
out:
	free(p);
	json_decref(patch);
	json_decref(cur);
	return ok;
}

static int wjob_start(struct gw_kube_source *s, CURLM *m, struct wjob *j)
{
	char *url = NULL;

	if (asprintf(&url, "%s%s", s->cfg.server, j->path) < 0)
		return -ENOMEM;
	j->easy = curl_easy_init();
	j->hdrs = gw_kube_headers(s, "application/merge-patch+json");
	if (!j->easy || !j->hdrs) {
		free(url);
		return -ENOMEM;
	}
	gw_kube_set_common(s, j->easy, url, j->hdrs);
	free(url);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT, (long)REQ_TIMEOUT_S);
	curl_easy_setopt(j->easy, CURLOPT_CUSTOMREQUEST, "PATCH");
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, drop_cb);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, &j->resp);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	return curl_multi_add_handle(m, j->easy) ? -EIO : 0;
}

static void wjob_end(CURLM *m, struct wjob *j)
{
	if (j->easy) {
		curl_multi_remove_handle(m, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	gw_kube_buf_free(&j->resp);
}

/* write_status() : one pass over the statuses the writer holds. Patches are
 * computed against the objects as last seen and sent STATUS_PARALLEL at a
 * time on their own multi handle (5,000 routes one after the other took
 * longer than a Lease); a 409 goes through write_one(), which re-reads the
 * object. The Lease is renewed between answers, and the pass stops when it
 * is lost. */
static void write_status(struct gw_kube_source *s)
{
	struct wjob *jobs = calloc(s->n_wr_items ? s->n_wr_items : 1, sizeof(*jobs));
	size_t n = 0, next = 0, running = 0;
	CURLM *m = curl_multi_init();
	bool again = false;

	if (!jobs || !m) {
		again = true;
		goto out;
	}
	for (size_t i = 0; i < s->n_wr_items; i++) {
		struct gw_kube_status_item *it = &s->wr_items[i];
		json_t *want = it->status;
		bool route = strstr(it->obj->kind, "Route") != NULL;
		bool policy = !strcmp(it->obj->kind, "BackendTLSPolicy");

		if (!writes_status(it->obj))
			continue;
		/* a route that no longer has a parent of ours (a policy no
		 * ancestor) loses our entries */
		if (!want && !route && !policy)
			continue;
		if (!want)
			want = json_pack("{s:[]}", route ? "parents" : "ancestors");
		else if (!strcmp(it->obj->kind, "Gateway"))
			want = gateway_want(s, want);
		else if (!strcmp(it->obj->kind, "Ingress"))
			want = ingress_want(s, want);
		else
			json_incref(want);
		jobs[n].obj = it->obj;
		jobs[n].want = want;
		if (!want) {
			again = true; /* out of memory */
		} else if (wjob_prepare(s, &jobs[n], &again)) {
			n++;
		} else {
			json_decref(want);
			free(jobs[n].path);
			free(jobs[n].body);
			memset(&jobs[n], 0, sizeof(jobs[n]));
		}
	}
	while ((next < n || running) && !atomic_load(&s->stop)) {
		int still, msgs;
		CURLMsg *msg;

		gw_kube_lease_tick(s);
		if (!atomic_load(&s->leader))
			break;
		while (next < n && running < STATUS_PARALLEL) {
			if (wjob_start(s, m, &jobs[next])) {
				wjob_end(m, &jobs[next]);
				again = true;
			} else {
				running++;
			}
			next++;
		}
		curl_multi_perform(m, &still);
		while ((msg = curl_multi_info_read(m, &msgs))) {
			struct wjob *j = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			if (msg->data.result == CURLE_OK)
				curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->code);
			wjob_end(m, j);
			running--;
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		struct wjob *j = &jobs[i];
		char ref[256];

		wjob_end(m, j);
		if (j->code == 200 || j->code == 404) /* written, or deleted meanwhile */
			continue;
		if (j->code == 409 && atomic_load(&s->leader) && !atomic_load(&s->stop)) {
			/* someone changed the object: diff against what it is now */
			gw_kube_lease_tick(s);
			if (write_one(s, j->obj, j->want))
				again = true;
			continue;
		}
		if (j->code == 401)
			gw_kube_reload_token(s);
		if (j->code)
			pr_warn("kube: status of %s: HTTP %ld\n",
				gw_object_ref(j->obj, ref, sizeof(ref)), j->code);
		again = true;
	}
out:
	for (size_t i = 0; jobs && i < n; i++) {
		json_decref(jobs[i].want);
		free(jobs[i].path);
		free(jobs[i].body);
	}
	free(jobs);
	curl_multi_cleanup(m);
	s->wr_dirty = again;
	if (again)
		s->wr_next = gw_kube_now_ms() + 1000 + (uint64_t)(random() % 1000);
}

void gw_kube_items_free(struct gw_kube_status_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		gw_object_put(v[i].obj);
		json_decref(v[i].status);
	}
	free(v);
}

/* the thread loop's turn of the writer */
void gw_kube_writer_step(struct gw_kube_source *s, uint64_t now)
{
	if (s->no_status)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->st_new) {
		gw_kube_items_free(s->wr_items, s->n_wr_items);
		s->wr_items = s->st_items;
		s->n_wr_items = s->n_st_items;
		s->st_items = NULL;
		s->n_st_items = 0;
		s->st_new = false;
		s->wr_dirty = true;
		s->wr_next = 0;
	}
	pthread_mutex_unlock(&s->lock);
	gw_kube_lease_tick(s);
	if (atomic_load(&s->leader) && s->wr_dirty && now >= s->wr_next &&
	    atomic_load(&s->synced))
		write_status(s);
}

int gw_kube_source_set_status(struct gw_kube_source *s, const struct gw_translation *t)
{
	struct gw_kube_status_item *v = calloc(t->n_status ? t->n_status : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_status; i++) {
		const struct gw_obj_status *os = &t->status[i];

		if (!gw_kube_has_status(os->obj->kind))
			continue;
		v[n].obj = gw_object_get(os->obj);
		/* a deep copy: jansson values must not be shared across threads */
		v[n].status = os->status ? json_deep_copy(os->status) : NULL;
		if (os->status && !v[n].status) {
			gw_kube_items_free(v, n + 1);
			return -ENOMEM;
		}
		n++;
	}
	pthread_mutex_lock(&s->lock);
	gw_kube_items_free(s->st_items, s->n_st_items);
	s->st_items = v;
	s->n_st_items = n;
	s->st_new = true;
	pthread_mutex_unlock(&s->lock);
	curl_multi_wakeup(s->multi);
	return 0;
}
