/* store/store.c - objects and the hash store keyed by (group, kind, ns, name).
 *
 * Objects are immutable and reference counted once built, so a store clone
 * is one pointer copy per object: the file source keeps the last good store
 * serving while it builds the next one, and the translator reads a clone
 * without locks.
 */
#include "gwbpf/api.h"

#include <stdio.h>
#include <time.h>

#include "gwbpf/diag.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/store.h"

struct gw_store_entry {
	struct gw_store_entry *next;
	uint64_t hash;
	struct gw_object *o; /* one reference owned by the entry */
};

/* kinds that live outside namespaces (their metadata.namespace is ignored, as
 * the API server does); every other kind defaults to namespace "default" */
static const char *const cluster_kinds[] = {
	"GatewayClass",
	"Namespace",
	"Node",
	"PersistentVolume",
	"ClusterRole",
	"ClusterRoleBinding",
	"CustomResourceDefinition",
	"StorageClass",
	"IngressClass",
	"PriorityClass",
	"APIService",
	"ValidatingAdmissionPolicy",
	"ValidatingAdmissionPolicyBinding",
	"ValidatingWebhookConfiguration",
	"MutatingWebhookConfiguration",
	"XMesh",
};

bool gw_kind_is_cluster_scoped(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(cluster_kinds); i++)
		if (!strcmp(kind, cluster_kinds[i]))
			return true;
	return false;
}

static void object_free(struct gw_object *o)
{
	if (!o)
		return;
	free(o->api_version);
	free(o->group);
	free(o->version);
	free(o->kind);
	free(o->ns);
	free(o->name);
	free(o->resource_version);
	free(o->creation_timestamp);
	gw_node_free(o->root);
	free(o->file);
	free(o);
}

struct gw_object *gw_object_get(struct gw_object *o)
{
	if (o)
		__atomic_add_fetch(&o->refcnt, 1, __ATOMIC_RELAXED);
	return o;
}

void gw_object_put(struct gw_object *o)
{
	if (o && __atomic_sub_fetch(&o->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		object_free(o);
}

const char *gw_object_ref(const struct gw_object *o, char *buf, size_t size)
{
	if (o->ns && *o->ns)
		snprintf(buf, size, "%s %s/%s", o->kind, o->ns, o->name);
	else
		snprintf(buf, size, "%s %s", o->kind, o->name);
	return buf;
}

/* parse_rfc3339() : "2006-01-02T15:04:05[.frac](Z|+hh:mm)" to seconds since epoch */
int gw_parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	int64_t off = 0;
	time_t t;

	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
			return -EINVAL;
		off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	*out = (int64_t)t - off;
	return 0;
}

static void set_marks_file(struct gw_node *n, const char *file)
{
	n->mark.file = file;
	n->key_mark.file = file;
	for (size_t i = 0; i < n->n_items; i++)
		set_marks_file(n->items[i], file);
}

/* meta_str() : string at key of map m; "" default when absent. -EINVAL when
 * present but not a string */
static int meta_str(const struct gw_node *m, const char *key, const char *dflt, const char **out)
{
	const struct gw_node *v = gw_node_get(m, key);

	if (!v || v->type == GW_NODE_NULL) {
		*out = dflt;
		return 0;
	}
	if (!gw_node_is_scalar(v) || v->skind != GW_SCALAR_STRING)
		return -EINVAL;
	*out = v->str;
	return 0;
}

struct gw_object *gw_object_from_doc(struct gw_node *root, const char *file,
				     struct gw_diag_list *diags)
{
	const char *api = NULL, *kind = NULL, *ns = NULL, *name = NULL, *rv = NULL, *cts = NULL;
	struct gw_node *meta, *gen, *labels;
	struct gw_object *o = NULL;
	struct gw_mark m = { 0 };
	const char *slash;
	char ref[512];
	int err = -EINVAL;

	if (root)
		m = root->mark;
	m.file = file;
	if (!gw_node_is_map(root)) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL,
			    "a manifest must be a mapping with apiVersion, kind and metadata");
		goto out;
	}
	if (meta_str(root, "apiVersion", NULL, &api) || !api || !*api) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "apiVersion", "must be a non-empty string");
		goto out;
	}
	if (meta_str(root, "kind", NULL, &kind) || !kind || !*kind) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "kind", "must be a non-empty string");
		goto out;
	}
	meta = gw_node_get(root, "metadata");
	if (!gw_node_is_map(meta)) {
		if (meta)
			m.line = meta->mark.line;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "metadata", "must be a mapping");
		goto out;
	}
	m.line = meta->mark.line;
	m.col = meta->mark.col;
	if (meta_str(meta, "name", NULL, &name) || !name || !*name) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "metadata.name",
			    "must be a non-empty string (generateName is not supported)");
		goto out;
	}
	if (meta_str(meta, "namespace", "", &ns)) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "metadata.namespace", "must be a string");
		goto out;
	}
	if (gw_kind_is_cluster_scoped(kind))
		ns = "";
	else if (!*ns)
		ns = "default";
	if (meta_str(meta, "resourceVersion", "", &rv)) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "metadata.resourceVersion",
			    "must be a string");
		goto out;
	}
	if (meta_str(meta, "creationTimestamp", "", &cts)) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "metadata.creationTimestamp",
			    "must be an RFC 3339 timestamp string");
		goto out;
	}

	o = calloc(1, sizeof(*o));
	if (!o) {
		err = -ENOMEM;
		goto out;
	}
	o->refcnt = 1;
	o->generation = 1;
	o->mark = root->mark;
	o->api_version = strdup(api);
	o->kind = strdup(kind);
	o->ns = strdup(ns);
	o->name = strdup(name);
	o->resource_version = strdup(rv);
	slash = strchr(api, '/');
	if (slash) {
		o->group = strndup(api, (size_t)(slash - api));
		o->version = strdup(slash + 1);
	} else {
		o->group = strdup("");
		o->version = strdup(api);
	}
	o->file = file ? strdup(file) : NULL;
	if (!o->api_version || !o->kind || !o->ns || !o->name || !o->resource_version ||
	    !o->group || !o->version || (file && !o->file)) {
		err = -ENOMEM;
		goto out;
	}
	gw_object_ref(o, ref, sizeof(ref));

	gen = gw_node_get(meta, "generation");
	if (gen && gen->type != GW_NODE_NULL &&
	    (!gw_node_int(gen, NULL, &o->generation) || o->generation < 0)) {
		m.line = gen->mark.line;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, ref, "metadata.generation",
			    "must be a non-negative integer");
		goto out;
	}
	if (*cts) {
		if (gw_parse_rfc3339(cts, &o->creation_ts)) {
			m.line = gw_node_get(meta, "creationTimestamp")->mark.line;
			gw_diag_add(diags, GW_DIAG_ERROR, &m, ref, "metadata.creationTimestamp",
				    "must be an RFC 3339 timestamp, got \"%s\"", cts);
			goto out;
		}
		o->creation_timestamp = strdup(cts);
	} else {
		/* absent: 0 sorts before every real timestamp; seq breaks the tie */
		o->creation_timestamp = strdup("");
	}
	if (!o->creation_timestamp) {
		err = -ENOMEM;
		goto out;
	}
	labels = gw_node_get(meta, "labels");
	if (labels && labels->type != GW_NODE_NULL) {
		if (!gw_node_is_map(labels)) {
			m.line = labels->mark.line;
			gw_diag_add(diags, GW_DIAG_ERROR, &m, ref, "metadata.labels",
				    "must be a mapping of strings");
			goto out;
		}
		for (size_t i = 0; i < labels->n_items; i++) {
			const struct gw_node *l = labels->items[i];

			if (!gw_node_is_scalar(l) || l->skind != GW_SCALAR_STRING) {
				m.line = l->mark.line;
				gw_diag_add(diags, GW_DIAG_ERROR, &m, ref, "metadata.labels",
					    "value of \"%s\" must be a string", l->key);
				goto out;
			}
		}
		o->labels = labels;
	}
	o->root = root;
	root = NULL;
	/* the tree now lives as long as the object, so marks use its name copy */
	set_marks_file(o->root, o->file);
	o->mark.file = o->file;
	err = 0;
out:
	gw_node_free(root);
	if (err) {
		if (o)
			o->labels = NULL;
		object_free(o);
		errno = -err;
		return NULL;
	}
	return o;
}

static int push_obj(struct gw_object ***out, size_t *n, struct gw_object *o)
{
	struct gw_object **v = realloc(*out, (*n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[(*n)++] = o;
	*out = v;
	return 0;
}

int gw_objects_from_doc(struct gw_node *root, const char *file, struct gw_object ***out,
			size_t *n, struct gw_diag_list *diags)
{
	const char *api = gw_node_str(root, "apiVersion");
	const char *kind = gw_node_str(root, "kind");
	struct gw_node *items;
	struct gw_object *o;
	int err = 0, ret;

	if (!api || strcmp(api, "v1") || !kind || strcmp(kind, "List")) {
		o = gw_object_from_doc(root, file, diags);
		if (!o)
			return -errno;
		ret = push_obj(out, n, o);
		if (ret)
			gw_object_put(o);
		return ret;
	}
	items = gw_node_get(root, "items");
	if (items && items->type != GW_NODE_NULL && !gw_node_is_seq(items)) {
		struct gw_mark m = items->mark;

		m.file = file;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, "items", "must be a list");
		gw_node_free(root);
		return -EINVAL;
	}
	for (size_t i = 0; items && i < items->n_items; i++) {
		struct gw_node *it = items->items[i];

		items->items[i] = NULL;
		o = gw_object_from_doc(it, file, diags);
		if (!o) {
			if (errno == ENOMEM) {
				err = -ENOMEM;
				break;
			}
			err = -EINVAL;
			continue;
		}
		ret = push_obj(out, n, o);
		if (ret) {
			gw_object_put(o);
			err = ret;
			break;
		}
	}
	gw_node_free(root);
	return err;
}

/* ---- store ---- */

static uint64_t hash_key(const char *group, const char *kind, const char *ns, const char *name)
{
	const char *parts[4] = { group, kind, ns, name };
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (int i = 0; i < 4; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull; /* separator no string contains */
	}
	return h;
}

static bool key_eq(const struct gw_object *o, const char *group, const char *kind, const char *ns,
		   const char *name)
{
	return !strcmp(o->name, name) && !strcmp(o->kind, kind) && !strcmp(o->ns, ns) &&
	       !strcmp(o->group, group);
}

struct gw_store *gw_store_new(void)
{
	struct gw_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n_buckets = 64;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void gw_store_free(struct gw_store *s)
{
	if (!s)
		return;
	for (size_t b = 0; s->buckets && b < s->n_buckets; b++) {
		struct gw_store_entry *e = s->buckets[b];

		while (e) {
			struct gw_store_entry *next = e->next;

			gw_object_put(e->o);
			free(e);
			e = next;
		}
	}
	free(s->buckets);
	free(s);
}

static int grow(struct gw_store *s)
{
	size_t nb = s->n_buckets * 2;
	struct gw_store_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct gw_store_entry *e = s->buckets[i];

		while (e) {
			struct gw_store_entry *next = e->next;
			size_t j = e->hash & (nb - 1);

			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = nb;
	return 0;
}

int gw_store_put(struct gw_store *s, struct gw_object *o)
{
	uint64_t h = hash_key(o->group, o->kind, o->ns, o->name);
	struct gw_store_entry *e;
	size_t b;

	if (s->n_objects >= s->n_buckets && grow(s)) {
		/* a slow chain still works; only fail if the entry cannot be made */
		pr_debug("store: cannot grow hash table, keeping %zu buckets\n", s->n_buckets);
	}
	b = h & (s->n_buckets - 1);
	for (e = s->buckets[b]; e; e = e->next) {
		if (e->hash == h && key_eq(e->o, o->group, o->kind, o->ns, o->name)) {
			if (e->o != o)
				gw_object_put(e->o);
			e->o = o;
			s->version++;
			return 0;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		gw_object_put(o);
		return -ENOMEM;
	}
	e->hash = h;
	e->o = o;
	e->next = s->buckets[b];
	s->buckets[b] = e;
	s->n_objects++;
	s->version++;
	return 0;
}

struct gw_store *gw_store_clone(const struct gw_store *s)
{
	struct gw_store *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->n_buckets = s->n_buckets;
	c->version = s->version;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (!c->buckets)
		goto err;
	for (size_t b = 0; b < s->n_buckets; b++) {
		for (struct gw_store_entry *e = s->buckets[b]; e; e = e->next) {
			struct gw_store_entry *ne = calloc(1, sizeof(*ne));

			if (!ne)
				goto err;
			ne->hash = e->hash;
			ne->o = gw_object_get(e->o);
			ne->next = c->buckets[b];
			c->buckets[b] = ne;
			c->n_objects++;
		}
	}
	return c;
err:
	gw_store_free(c);
	errno = ENOMEM;
	return NULL;
}

int gw_store_del(struct gw_store *s, const char *group, const char *kind, const char *ns,
		 const char *name)
{
	uint64_t h = hash_key(group, kind, ns, name);
	struct gw_store_entry **pp = &s->buckets[h & (s->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		struct gw_store_entry *e = *pp;

		if (e->hash == h && key_eq(e->o, group, kind, ns, name)) {
			*pp = e->next;
			gw_object_put(e->o);
			free(e);
			s->n_objects--;
			s->version++;
			return 0;
		}
	}
	return -ENOENT;
}

struct gw_object *gw_store_get(const struct gw_store *s, const char *group, const char *kind,
			       const char *ns, const char *name)
{
	uint64_t h = hash_key(group, kind, ns ? ns : "", name);

	for (struct gw_store_entry *e = s->buckets[h & (s->n_buckets - 1)]; e; e = e->next)
		if (e->hash == h && key_eq(e->o, group, kind, ns ? ns : "", name))
			return e->o;
	return NULL;
}

static int cmp_obj(const void *a, const void *b)
{
	const struct gw_object *x = *(const struct gw_object *const *)a;
	const struct gw_object *y = *(const struct gw_object *const *)b;
	int c;

	if ((c = strcmp(x->kind, y->kind)))
		return c;
	if ((c = strcmp(x->ns, y->ns)))
		return c;
	if ((c = strcmp(x->name, y->name)))
		return c;
	return strcmp(x->group, y->group);
}

ssize_t gw_store_list(const struct gw_store *s, const char *group, const char *kind,
		      struct gw_object ***out)
{
	struct gw_object **v;
	size_t n = 0;

	v = malloc((s->n_objects ? s->n_objects : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t b = 0; b < s->n_buckets; b++) {
		for (struct gw_store_entry *e = s->buckets[b]; e; e = e->next) {
			if (kind && strcmp(e->o->kind, kind))
				continue;
			if (kind && group && strcmp(e->o->group, group))
				continue;
			v[n++] = e->o;
		}
	}
	qsort(v, n, sizeof(*v), cmp_obj);
	*out = v;
	return (ssize_t)n;
}

/* gw_store_foreach() : see store.h */
int gw_store_foreach(const struct gw_store *s, int (*fn)(struct gw_object *o, void *arg),
		     void *arg)
{
	for (size_t b = 0; b < s->n_buckets; b++)
		for (struct gw_store_entry *e = s->buckets[b]; e; e = e->next) {
			int err = fn(e->o, arg);

			if (err)
				return err;
		}
	return 0;
}
