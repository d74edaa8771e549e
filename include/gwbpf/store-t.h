/* gwbpf/store-t.h - objects as the store holds them.
 *
 * An object is a validated document tree plus the metadata the Gateway API
 * rules need (tie-breaks use creationTimestamp and namespace/name).
 * Objects are immutable once in a store and reference counted, so a store
 * can be cloned cheaply and the last good one kept serving.
 */
#ifndef GWBPF_STORE_T_H
#define GWBPF_STORE_T_H

#include <stdint.h>

#include "gwbpf/node-t.h"

struct gw_object {
	int refcnt;               /* atomic; gw_object_get/put */
	char *api_version;        /* "gateway.networking.k8s.io/v1" */
	char *group;              /* "" for the core group */
	char *version;            /* "v1" */
	char *kind;               /* "HTTPRoute" */
	char *ns;                 /* "" for cluster-scoped kinds */
	char *name;
	int64_t generation;       /* metadata.generation, 1 when absent */
	char *resource_version;   /* may be "" */
	int64_t creation_ts;      /* seconds since epoch; from metadata.creationTimestamp,
				     or stamped by the source when first seen */
	char *creation_timestamp; /* RFC 3339 form of creation_ts */
	uint64_t seq;             /* source order, tie-break after creation_ts */
	struct gw_node *labels;   /* borrowed from root (metadata.labels), may be NULL */
	struct gw_node *root;     /* owned; the whole document */
	char *file;               /* owned; the file it came from, or NULL */
	struct gw_mark mark;      /* where the document starts */
};

struct gw_store_entry;

struct gw_store {
	struct gw_store_entry **buckets;
	size_t n_buckets;
	size_t n_objects;
	uint64_t version; /* bumped on every change */
};

#endif
