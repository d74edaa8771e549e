/* gwbpf/node.h - loading and reading generic document trees.
 *
 * Loading: libyaml parses YAML and JSON alike (JSON is read as YAML flow
 * syntax). Limits protect against hostile input: nesting depth, document
 * size, node count, anchors/aliases (rejected), duplicate keys (rejected),
 * invalid UTF-8 (rejected).
 */
#ifndef GWBPF_NODE_H
#define GWBPF_NODE_H

#include <stdbool.h>

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"
#include "gwbpf/node-t.h"

#define GW_NODE_MAX_DEPTH   64
#define GW_NODE_MAX_BYTES   (16u << 20) /* per file */
#define GW_NODE_MAX_NODES   (1u << 20)  /* per file */

/* gw_yaml_load_buf() : parses every document in buf[0..len) and appends them
 * to out (documents that are empty are skipped). name is used in marks and
 * diagnostics (copied). On a syntax or limit error appends a diagnostic with
 * the location, appends nothing to out, and returns -EINVAL. */
int gw_yaml_load_buf(const char *name, const char *buf, size_t len, struct gw_doc_list *out,
		     struct gw_diag_list *diags);
/* gw_yaml_load_file() : as gw_yaml_load_buf() on the file's contents;
 * -errno (with a diagnostic) when the file cannot be read */
int gw_yaml_load_file(const char *path, struct gw_doc_list *out, struct gw_diag_list *diags);

void gw_doc_list_free(struct gw_doc_list *dl);
void gw_node_free(struct gw_node *n);
/* gw_node_clone() : deep copy; marks keep pointing at the same file string.
 * returns new node or NULL (errno=ENOMEM) */
struct gw_node *gw_node_clone(const struct gw_node *n);

/* gw_node_get() : value of key in a MAP, NULL if absent or n is not a MAP (borrowed) */
struct gw_node *gw_node_get(const struct gw_node *n, const char *key);
/* gw_node_path() : walks dotted keys ("spec.tls.mode"); NULL if any step is missing */
struct gw_node *gw_node_path(const struct gw_node *n, const char *path);
/* gw_node_str() : string of the SCALAR at path (any scalar kind), NULL otherwise (borrowed) */
const char *gw_node_str(const struct gw_node *n, const char *path);
/* gw_node_int() : true and *out set if the node at path is an INT scalar */
bool gw_node_int(const struct gw_node *n, const char *path, int64_t *out);
/* gw_node_bool() : true and *out set if the node at path is a BOOL scalar */
bool gw_node_bool(const struct gw_node *n, const char *path, bool *out);
/* gw_node_len() : number of items of a MAP/SEQ at path, 0 otherwise */
size_t gw_node_len(const struct gw_node *n, const char *path);

static inline bool gw_node_is_map(const struct gw_node *n)
{
	return n && n->type == GW_NODE_MAP;
}
static inline bool gw_node_is_seq(const struct gw_node *n)
{
	return n && n->type == GW_NODE_SEQ;
}
static inline bool gw_node_is_scalar(const struct gw_node *n)
{
	return n && n->type == GW_NODE_SCALAR;
}

#endif
