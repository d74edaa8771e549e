/* gwbpf/ir.h - building, compiling and sharing IR snapshots. */
#ifndef GWBPF_IR_H
#define GWBPF_IR_H

#include <stdio.h>

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"
#include "gwbpf/ir-t.h"

/* gw_ir_new() : empty snapshot with refcnt 1 and its own arena; NULL/ENOMEM */
struct gw_ir *gw_ir_new(void);
struct gw_ir *gw_ir_get(struct gw_ir *ir); /* returns new reference */
void gw_ir_put(struct gw_ir *ir);          /* accepts NULL; frees at zero */

/* arena allocation: memory lives until the snapshot is freed. Return NULL
 * (errno=ENOMEM) on failure. gw_ir_alloc() zeroes. */
void *gw_ir_alloc(struct gw_ir *ir, size_t size);
char *gw_ir_strdup(struct gw_ir *ir, const char *s); /* NULL in, NULL out */
#define gw_ir_new_array(ir, type, n) ((type *)gw_ir_alloc((ir), sizeof(type) * ((n) ? (n) : 1)))

/* gw_ir_compile() : compiles every REGEX match (paths, headers, queries) with
 * PCRE2; idempotent. Returns 0, or -EINVAL with a diagnostic per bad regex. */
int gw_ir_compile(struct gw_ir *ir, struct gw_diag_list *diags);

/* Route patterns are tenant input, so one match is bounded: past this many
 * backtracking steps (PCRE2 match limit, honoured by the JIT too) or this
 * nesting depth, the match fails and the rule does not match. A sane
 * pattern needs a few hundred steps per request; a catastrophic one such as
 * "(a|aa)*c" would otherwise burn a worker for seconds per request. */
#define GW_REGEX_MATCH_LIMIT 100000u
#define GW_REGEX_DEPTH_LIMIT 1000u

/* gw_ir_regex_match() : true when subject[0..len) matches re anchored at both
 * ends (the Gateway API's RegularExpression is a full match),
 * within the limits above: a match that exceeds them is a no-match */
bool gw_ir_regex_match(const void *re, const char *subject, size_t len);

/* gw_ir_dump() : human-readable dump for debugging and `gwbpf status` */
void gw_ir_dump(const struct gw_ir *ir, FILE *f);

#endif
