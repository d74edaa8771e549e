/* gwbpf/node-t.h - generic document tree (the "unstructured" object form).
 *
 * Every manifest, whether read from YAML, JSON or the Kubernetes API, is
 * first a tree of gw_node. Schema validation walks this tree; the typed
 * model (model-t.h) is decoded from it once it is valid. Each node keeps the
 * mark of where it was read so diagnostics can name file:line.
 */
#ifndef GWBPF_NODE_T_H
#define GWBPF_NODE_T_H

#include <stddef.h>
#include <stdint.h>

#include "gwbpf/diag-t.h"

enum gw_node_type {
	GW_NODE_NULL = 0, /* explicit null / "~" / empty value */
	GW_NODE_SCALAR,
	GW_NODE_MAP,
	GW_NODE_SEQ,
};

/* how a scalar was written, which decides its type (YAML 1.2 core schema) */
enum gw_scalar_kind {
	GW_SCALAR_STRING = 0, /* quoted, or plain text that is not one of the below */
	GW_SCALAR_BOOL,       /* plain true/false (also True/TRUE/False/FALSE) */
	GW_SCALAR_INT,        /* plain [-+]?[0-9]+ (also 0x.. / 0o..) */
	GW_SCALAR_FLOAT,      /* plain decimal/exponent/.inf/.nan */
};

struct gw_node {
	enum gw_node_type type;
	enum gw_scalar_kind skind; /* SCALAR only */
	struct gw_mark mark;       /* where the value starts */
	char *key;                 /* owned; set when this node is a value in a MAP */
	struct gw_mark key_mark;   /* where the key starts */
	char *str;                 /* owned, NUL-terminated; SCALAR only */
	size_t len;                /* strlen-independent length of str (may hold NULs) */
	struct gw_node **items;    /* owned; MAP entries (each with key) or SEQ items, in order */
	size_t n_items;
};

/* one YAML/JSON document */
struct gw_doc {
	struct gw_node *root; /* owned; NULL for an empty document */
	char *file;           /* owned; marks in the tree point at this string */
};

struct gw_doc_list {
	struct gw_doc *v;
	size_t n;
	size_t cap;
};

#endif
