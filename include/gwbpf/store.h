/* gwbpf/store.h - objects keyed by (group, kind, namespace, name). */
#ifndef GWBPF_STORE_H
#define GWBPF_STORE_H

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"
#include "gwbpf/store-t.h"

/* gw_object_from_doc() : builds an object from a document root (takes
 * ownership of root even on failure). Reads apiVersion/kind/metadata; fails
 * with a diagnostic and NULL (errno=EINVAL) when those are missing or of the
 * wrong type. Does not validate spec. file is copied. */
struct gw_object *gw_object_from_doc(struct gw_node *root, const char *file,
				     struct gw_diag_list *diags);
struct gw_object *gw_object_get(struct gw_object *o); /* returns new reference */
void gw_object_put(struct gw_object *o);               /* accepts NULL */
/* gw_object_ref() : "Kind ns/name" or "Kind name" into buf */
const char *gw_object_ref(const struct gw_object *o, char *buf, size_t size);

struct gw_store *gw_store_new(void);
void gw_store_free(struct gw_store *s); /* accepts NULL; drops references */
/* gw_store_clone() : new store sharing the same objects (references taken) */
struct gw_store *gw_store_clone(const struct gw_store *s);
/* gw_store_put() : inserts or replaces by key; takes ownership of o's reference.
 * Returns 0 or -ENOMEM. */
int gw_store_put(struct gw_store *s, struct gw_object *o);
/* gw_store_del() : 0 when removed, -ENOENT when absent */
int gw_store_del(struct gw_store *s, const char *group, const char *kind, const char *ns,
		 const char *name);
/* gw_store_get() : borrowed pointer or NULL; ns "" for cluster-scoped */
struct gw_object *gw_store_get(const struct gw_store *s, const char *group, const char *kind,
			       const char *ns, const char *name);
/* gw_store_list() : every object of (group, kind), kind NULL = all, sorted by
 * (kind, namespace, name); *out is a new malloc'd array of borrowed pointers
 * (free() it). Returns the count or -ENOMEM. */
ssize_t gw_store_list(const struct gw_store *s, const char *group, const char *kind,
		      struct gw_object ***out);

/* --- added by the objects/store module (additive) --- */

/* gw_objects_from_doc() : as gw_object_from_doc(), but a "v1" "List" document
 * expands into one object per item. Appends new references to the realloc'd
 * array *out (count *n). Takes ownership of root. Returns 0, -EINVAL when an
 * item was rejected (diagnostic added; the others are still appended) or
 * -ENOMEM. seq is left 0: the loader assigns it in file order. */
int gw_objects_from_doc(struct gw_node *root, const char *file, struct gw_object ***out,
			size_t *n, struct gw_diag_list *diags);
/* gw_kind_is_cluster_scoped() : GatewayClass, Namespace, ... (namespace "") */
bool gw_kind_is_cluster_scoped(const char *kind);
/* gw_parse_rfc3339() : "2006-01-02T15:04:05[.frac](Z|+07:00)" to epoch seconds; 0 or -EINVAL */
int gw_parse_rfc3339(const char *s, int64_t *out);
/* gw_store_foreach() : calls fn for every object in hash order (borrowed);
 * stops at and returns the first non-zero return of fn */
int gw_store_foreach(const struct gw_store *s, int (*fn)(struct gw_object *o, void *arg),
		     void *arg);

#endif
