/* gwbpf/validate.h - schema validation internals shared by validate*.c.
 *
 * The public entry point is gw_validate_object() in gwbpf/source.h; this
 * header exists so the CEL rule checks (validate_rules.c) can report errors
 * with the same path/mark conventions as the schema walker (validate.c).
 */
#ifndef GWBPF_VALIDATE_H
#define GWBPF_VALIDATE_H

#include <stdbool.h>

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"
#include "gwbpf/node-t.h"
#include "gwbpf/store-t.h"
#include "gwbpf/validate-t.h"

struct gw_vctx {
	const struct gw_object *o;
	struct gw_diag_list *diags;
	char ref[320];  /* "Kind ns/name" */
	char path[1024]; /* field path of the node being checked */
	size_t plen;
	int n_errors;
};

/* gw_v_push_key()/gw_v_push_idx() : extend the path; return the old length for gw_v_pop() */
size_t gw_v_push_key(struct gw_vctx *v, const char *key);
size_t gw_v_push_idx(struct gw_vctx *v, size_t i);
void gw_v_pop(struct gw_vctx *v, size_t len);
/* gw_v_error() : error at the current path, located at n's mark (n may be NULL) */
void gw_v_error(struct gw_vctx *v, const struct gw_node *n, const char *fmt, ...) GW_PRINTF(3, 4);
/* gw_v_match() : does s[0..len) match pattern slot re (unanchored, as Go's
 * regexp.MatchString)? Patterns compile once and are cached. */
bool gw_v_match(int re, const char *s, size_t len);
/* gw_v_match_pat() : same for a pattern given as text (compiled once per call site's
 * cache slot *cache) */
bool gw_v_match_pat(void **cache, const char *pat, const char *s);

/* gw_v_has() : key present in map n with a non-null value */
bool gw_v_has(const struct gw_node *n, const char *key);
/* gw_v_prop() : schema of property key, or NULL */
const struct gw_schema *gw_v_prop(const struct gw_schema *s, const char *key);
/* gw_v_str() : string value of key in n, else the schema default, else NULL */
const char *gw_v_str(const struct gw_schema *s, const struct gw_node *n, const char *key);
/* gw_parse_duration() : Gateway API duration ("1h2m3s500ms") into ms; 0 or -EINVAL */
int gw_parse_duration(const char *s, int64_t *ms);

/* gw_v_rule() : runs one CEL rule check on n (validate_rules.c) */
void gw_v_rule(struct gw_vctx *v, const struct gw_rule *r, const struct gw_schema *s,
	       const struct gw_node *n);

/* gw_schema_find() : generated schema for (group, version, kind), or NULL */
const struct gw_schema *gw_schema_find(const char *group, const char *version, const char *kind);

#endif
