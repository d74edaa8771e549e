/* translate/ir.c - IR snapshot lifetime, arena allocation and regex compile.
 *
 * A snapshot owns everything through its arena, plus the PCRE2 codes which
 * are freed explicitly (they are not arena memory).
 */
#include "gwbpf/api.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gwbpf/arena.h"
#include "gwbpf/diag.h"
#include "gwbpf/ir.h"

struct gw_ir *gw_ir_new(void)
{
	struct gw_arena *a = gw_arena_new(16384);
	struct gw_ir *ir;

	if (!a)
		return NULL;
	ir = gw_arena_alloc(a, sizeof(*ir));
	if (!ir) {
		gw_arena_free(a);
		return NULL;
	}
	ir->arena = a;
	ir->refcnt = 1;
	return ir;
}

struct gw_ir *gw_ir_get(struct gw_ir *ir)
{
	if (ir)
		__atomic_add_fetch(&ir->refcnt, 1, __ATOMIC_RELAXED);
	return ir;
}

static void free_re(void **re)
{
	if (*re)
		pcre2_code_free(*re);
	*re = NULL;
}

static void free_str_matches(struct gw_ir_str_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free_re(&m[i].re);
}

#define FOR_EACH_MATCH(ir, m)                                                                      \
	for (size_t _b = 0; _b < (ir)->n_binds; _b++)                                              \
		for (size_t _l = 0; _l < (ir)->binds[_b].n_listeners; _l++)                       \
			for (size_t _v = 0; _v < (ir)->binds[_b].listeners[_l].n_vhosts; _v++)    \
				for (size_t _m = 0;                                                \
				     _m < (ir)->binds[_b].listeners[_l].vhosts[_v].n_matches &&   \
				     ((m) = &(ir)->binds[_b].listeners[_l].vhosts[_v].matches[_m]); \
				     _m++)

void gw_ir_put(struct gw_ir *ir)
{
	struct gw_ir_match *m;

	if (!ir || __atomic_sub_fetch(&ir->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	FOR_EACH_MATCH(ir, m) {
		free_re(&m->path_re);
		free_str_matches(m->headers, m->n_headers);
		free_str_matches(m->queries, m->n_queries);
	}
	gw_arena_free(ir->arena);
}

void *gw_ir_alloc(struct gw_ir *ir, size_t size)
{
	return gw_arena_alloc(ir->arena, size);
}

char *gw_ir_strdup(struct gw_ir *ir, const char *s)
{
	return gw_arena_strdup(ir->arena, s);
}

static int compile_one(const char *pattern, void **out, struct gw_diag_list *diags)
{
	PCRE2_SIZE erroff;
	int errcode;
	pcre2_code *re;

	if (*out)
		return 0;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED | PCRE2_UTF,
			   &errcode, &erroff, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		if (diags)
			gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, NULL,
				    "invalid regular expression \"%s\" at offset %zu: %s", pattern,
				    (size_t)erroff, (char *)msg);
		return -EINVAL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	*out = re;
	return 0;
}

int gw_ir_compile(struct gw_ir *ir, struct gw_diag_list *diags)
{
	struct gw_ir_match *m;
	int err = 0;

	FOR_EACH_MATCH(ir, m) {
		if (m->path_type == GW_MATCH_REGEX && compile_one(m->path, &m->path_re, diags))
			err = -EINVAL;
		for (size_t i = 0; i < m->n_headers; i++)
			if (m->headers[i].type == GW_MATCH_REGEX &&
			    compile_one(m->headers[i].value, &m->headers[i].re, diags))
				err = -EINVAL;
		for (size_t i = 0; i < m->n_queries; i++)
			if (m->queries[i].type == GW_MATCH_REGEX &&
			    compile_one(m->queries[i].value, &m->queries[i].re, diags))
				err = -EINVAL;
	}
	return err;
}

bool gw_ir_regex_match(const void *re, const char *subject, size_t len)
{
	pcre2_match_context *mctx = NULL;
	pcre2_match_data *md = NULL;
	int rc = -1;

	if (!re)
		return false;
	md = pcre2_match_data_create(1, NULL);
	mctx = pcre2_match_context_create(NULL);
	if (!md || !mctx)
		goto out;
	pcre2_set_match_limit(mctx, GW_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(mctx, GW_REGEX_DEPTH_LIMIT);
	rc = pcre2_match(re, (PCRE2_SPTR)subject, len, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
			 mctx);
out:
	pcre2_match_context_free(mctx);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static const char *match_type_name(enum gw_match_type t)
{
	return t == GW_MATCH_EXACT ? "Exact" : t == GW_MATCH_PREFIX ? "PathPrefix" : "Regex";
}

void gw_ir_dump(const struct gw_ir *ir, FILE *f)
{
	fprintf(f, "generation %llu\n", (unsigned long long)ir->generation);
	for (size_t b = 0; b < ir->n_binds; b++) {
		const struct gw_ir_bind *bd = &ir->binds[b];

		fprintf(f, "bind %s:%u\n", bd->address, bd->port);
		for (size_t l = 0; l < bd->n_listeners; l++) {
			const struct gw_ir_listener *li = &bd->listeners[l];

			fprintf(f, "  listener %s/%s host=%s\n", li->gateway, li->name,
				li->hostname ? li->hostname : "*");
			for (size_t v = 0; v < li->n_vhosts; v++) {
				const struct gw_ir_vhost *vh = &li->vhosts[v];

				fprintf(f, "    vhost %s\n", vh->hostname ? vh->hostname : "*");
				for (size_t m = 0; m < vh->n_matches; m++) {
					const struct gw_ir_match *mt = &vh->matches[m];
					const struct gw_ir_action *a = &vh->actions[mt->action];

					fprintf(f, "      %s %s method=%s h=%zu q=%zu -> %s[%u]\n",
						match_type_name(mt->path_type), mt->path,
						mt->method ? mt->method : "*", mt->n_headers,
						mt->n_queries, a->route, a->rule_index);
				}
			}
		}
	}
	for (size_t c = 0; c < ir->n_clusters; c++)
		fprintf(f, "cluster %s endpoints=%zu ready=%zu\n", ir->clusters[c].name,
			ir->clusters[c].n_endpoints, ir->clusters[c].n_ready);
}
