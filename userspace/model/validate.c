/* model/validate.c - objects checked against their CRD's OpenAPI v3 schema.
 *
 * The API server refuses what the CRD schema refuses; gwbpf reading the same
 * manifests from files must refuse the same, or a configuration that "works
 * locally" breaks when applied to a cluster. The walker follows the generated
 * tables (build/gen/schema.c, see tools/gen-schema.py): types, required,
 * enum, pattern, lengths in characters, numeric ranges, item counts, list-map
 * key uniqueness; then the CEL rules of each node (validate_rules.c), but
 * only on nodes whose structure is already valid, so one mistake gives one
 * error instead of a cascade. Unknown fields are tolerated (the API server
 * prunes them). Nulls are treated as absent, as the API server does for
 * non-nullable fields.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "gwbpf/diag.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"
#include "gwbpf/validate.h"

/* ---- context, paths, errors ---- */

size_t gw_v_push_key(struct gw_vctx *v, const char *key)
{
	size_t old = v->plen;
	int n = snprintf(v->path + v->plen, sizeof(v->path) - v->plen, "%s%s", v->plen ? "." : "",
			 key);

	if (n > 0)
		v->plen = GW_MIN(v->plen + (size_t)n, sizeof(v->path) - 1);
	return old;
}

size_t gw_v_push_idx(struct gw_vctx *v, size_t i)
{
	size_t old = v->plen;
	int n = snprintf(v->path + v->plen, sizeof(v->path) - v->plen, "[%zu]", i);

	if (n > 0)
		v->plen = GW_MIN(v->plen + (size_t)n, sizeof(v->path) - 1);
	return old;
}

void gw_v_pop(struct gw_vctx *v, size_t len)
{
	v->plen = len;
	v->path[len] = '\0';
}

void gw_v_error(struct gw_vctx *v, const struct gw_node *n, const char *fmt, ...)
{
	struct gw_mark m = n ? n->mark : v->o->mark;
	char msg[768];

	/* a block mapping or sequence starts on the line after its key: point at
	 * the key, which is the line a user looks for */
	if (n && n->key && (n->type == GW_NODE_MAP || n->type == GW_NODE_SEQ) && n->key_mark.line)
		m = n->key_mark;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!m.file)
		m.file = v->o->file;
	gw_diag_add(v->diags, GW_DIAG_ERROR, &m, v->ref, v->plen ? v->path : NULL, "%s", msg);
	v->n_errors++;
}

/* ---- regular expressions (Go RE2 syntax; PCRE2 reads the subset the CRDs use) ---- */

static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;
static pcre2_code **re_cache; /* gw_schema_n_patterns slots, compiled on first use */

static pcre2_code *compile(const char *pat)
{
	PCRE2_SIZE off;
	int rc;
	/* DOLLAR_ENDONLY: in Go "$" never matches before a trailing newline */
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &rc, &off, NULL);

	if (!re)
		pr_warn("validate: cannot compile pattern %s (error %d at %zu)\n", pat, rc,
			(size_t)off);
	return re;
}

static bool run(const pcre2_code *re, const char *s, size_t len)
{
	pcre2_match_data *md;
	int rc;

	if (!re)
		return true; /* a pattern we cannot compile must not reject valid objects */
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md)
		return true;
	rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

bool gw_v_match(int idx, const char *s, size_t len)
{
	pcre2_code *re;

	if (idx < 0 || (unsigned int)idx >= gw_schema_n_patterns)
		return true;
	pthread_mutex_lock(&re_lock);
	if (!re_cache)
		re_cache = calloc(gw_schema_n_patterns, sizeof(*re_cache));
	re = re_cache ? re_cache[idx] : NULL;
	if (re_cache && !re)
		re = re_cache[idx] = compile(gw_schema_patterns[idx]);
	pthread_mutex_unlock(&re_lock);
	return run(re, s, len);
}

bool gw_v_match_pat(void **cache, const char *pat, const char *s)
{
	pcre2_code *re;

	pthread_mutex_lock(&re_lock);
	if (!*cache)
		*cache = compile(pat);
	re = *cache;
	pthread_mutex_unlock(&re_lock);
	return run(re, s, strlen(s));
}

/* ---- helpers for rules ---- */

bool gw_v_has(const struct gw_node *n, const char *key)
{
	const struct gw_node *c = gw_node_get(n, key);

	return c && c->type != GW_NODE_NULL;
}

const struct gw_schema *gw_v_prop(const struct gw_schema *s, const char *key)
{
	size_t lo = 0, hi = s ? s->n_props : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(key, s->props[mid].name);

		if (!c)
			return s->props[mid].schema;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *gw_v_str(const struct gw_schema *s, const struct gw_node *n, const char *key)
{
	const struct gw_node *c = gw_node_get(n, key);
	const struct gw_schema *p;

	if (c && c->type == GW_NODE_SCALAR)
		return c->str;
	p = gw_v_prop(s, key);
	return p ? p->dflt : NULL;
}

int gw_parse_duration(const char *s, int64_t *ms)
{
	/* GEP-2257: ^([0-9]{1,5}(h|m|s|ms)){1,4}$ ; units in any order, as Go's ParseDuration */
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 10) {
			v = v * 10 + (*s++ - '0');
			digits++;
		}
		if (!digits)
			return -EINVAL;
		if (!strncmp(s, "ms", 2)) {
			s += 2;
		} else if (*s == 'h') {
			v *= 3600000;
			s++;
		} else if (*s == 'm') {
			v *= 60000;
			s++;
		} else if (*s == 's') {
			v *= 1000;
			s++;
		} else {
			return -EINVAL;
		}
		total += v;
	}
	*ms = total;
	return 0;
}

/* ---- schema walk ---- */

static const char *const type_names[] = {
	[GW_ST_ANY] = "any",	   [GW_ST_OBJECT] = "object",	[GW_ST_ARRAY] = "array",
	[GW_ST_STRING] = "string", [GW_ST_INTEGER] = "integer", [GW_ST_NUMBER] = "number",
	[GW_ST_BOOLEAN] = "boolean",
};

static const char *node_type_name(const struct gw_node *n)
{
	if (n->type == GW_NODE_MAP)
		return "object";
	if (n->type == GW_NODE_SEQ)
		return "array";
	switch (n->skind) {
	case GW_SCALAR_BOOL:
		return "boolean";
	case GW_SCALAR_INT:
		return "integer";
	case GW_SCALAR_FLOAT:
		return "number";
	default:
		return "string";
	}
}

static bool type_ok(uint8_t t, const struct gw_node *n)
{
	switch (t) {
	case GW_ST_OBJECT:
		return n->type == GW_NODE_MAP;
	case GW_ST_ARRAY:
		return n->type == GW_NODE_SEQ;
	case GW_ST_STRING:
		return n->type == GW_NODE_SCALAR && n->skind == GW_SCALAR_STRING;
	case GW_ST_INTEGER:
		return n->type == GW_NODE_SCALAR && n->skind == GW_SCALAR_INT;
	case GW_ST_NUMBER:
		return n->type == GW_NODE_SCALAR &&
		       (n->skind == GW_SCALAR_INT || n->skind == GW_SCALAR_FLOAT);
	case GW_ST_BOOLEAN:
		return n->type == GW_NODE_SCALAR && n->skind == GW_SCALAR_BOOL;
	default:
		return true;
	}
}

/* utf8_chars() : length in characters, as OpenAPI minLength/maxLength count */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* check_enum() : false (and one error) when n is not one of the schema's enum
 * values. Integers compare by value (0x12D is 301), given in *x; strings
 * by text. Strings are quoted in the message, numbers are not. */
static bool check_enum(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n,
		       const int64_t *x)
{
	const char *q = x ? "" : "\"";
	char list[512] = "";
	size_t used = 0;
	bool ok = false;

	for (size_t i = 0; i < s->n_enum; i++) {
		if (x ? *x == strtoll(s->enums[i], NULL, 10) : !strcmp(n->str, s->enums[i]))
			ok = true;
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s%s%s",
						 i ? ", " : "", q, s->enums[i], q);
	}
	if (!ok)
		gw_v_error(v, n, "unsupported value %s%s%s: supported values: %s", q, n->str, q,
			   list);
	return ok;
}

static void check_string(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n)
{
	size_t chars = utf8_chars(n->str, n->len);

	if (s->n_enum && !check_enum(v, s, n, NULL))
		return;
	if (s->min_len >= 0 && chars < (size_t)s->min_len) {
		gw_v_error(v, n, "must be at least %d characters long", s->min_len);
		return;
	}
	if (s->max_len >= 0 && chars > (size_t)s->max_len) {
		gw_v_error(v, n, "must be at most %d characters long", s->max_len);
		return;
	}
	if (s->re >= 0 && !gw_v_match(s->re, n->str, n->len)) {
		gw_v_error(v, n, "\"%s\" must match '%s'", n->str, gw_schema_patterns[s->re]);
		return;
	}
	if (s->flags & GW_SF_FMT_DATETIME) {
		int64_t t;

		if (gw_parse_rfc3339(n->str, &t))
			gw_v_error(v, n, "\"%s\" must be an RFC 3339 date-time", n->str);
	}
}

static void check_number(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n)
{
	int64_t x;

	if (n->skind != GW_SCALAR_INT)
		return; /* no float-valued field in these CRDs has bounds */
	if (!gw_node_int(n, NULL, &x)) {
		gw_v_error(v, n, "integer out of range");
		return;
	}
	if ((s->flags & GW_SF_FMT_INT32) && (x < INT32_MIN || x > INT32_MAX)) {
		gw_v_error(v, n, "%lld does not fit in a 32-bit integer", (long long)x);
		return;
	}
	if ((s->flags & GW_SF_HAS_MIN) && x < s->minimum)
		gw_v_error(v, n, "must be greater than or equal to %lld", (long long)s->minimum);
	else if ((s->flags & GW_SF_HAS_MAX) && x > s->maximum)
		gw_v_error(v, n, "must be less than or equal to %lld", (long long)s->maximum);
	if (s->n_enum)
		check_enum(v, s, n, &x);
}

static void walk(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n);

/* key_str() : the list-map key of item, using the schema default when absent */
static const char *key_val(const struct gw_schema *items, const struct gw_node *it, const char *k)
{
	const char *x = gw_v_str(items, it, k);

	return x ? x : "";
}

static void check_list_unique(struct gw_vctx *v, const struct gw_schema *s,
			      const struct gw_node *n)
{
	/* lists here are short (maxItems <= 64 typically): pairwise is fine */
	for (size_t i = 1; i < n->n_items; i++) {
		const struct gw_node *a = n->items[i];

		for (size_t j = 0; j < i; j++) {
			const struct gw_node *b = n->items[j];
			bool same = true;

			if (s->flags & GW_SF_LIST_SET) {
				same = a->type == GW_NODE_SCALAR && b->type == GW_NODE_SCALAR &&
				       a->len == b->len && !memcmp(a->str, b->str, a->len);
			} else {
				for (size_t k = 0; k < s->n_map_keys && same; k++)
					same = !strcmp(key_val(s->items, a, s->map_keys[k]),
						       key_val(s->items, b, s->map_keys[k]));
			}
			if (!same)
				continue;
			{
				size_t old = gw_v_push_idx(v, i);
				char desc[256] = "";
				size_t used = 0;

				if (s->flags & GW_SF_LIST_SET) {
					snprintf(desc, sizeof(desc), "\"%s\"", a->str);
				} else {
					for (size_t k = 0; k < s->n_map_keys && used < sizeof(desc);
					     k++)
						used += (size_t)snprintf(
							desc + used, sizeof(desc) - used, "%s%s=\"%s\"",
							k ? ", " : "", s->map_keys[k],
							key_val(s->items, a, s->map_keys[k]));
				}
				gw_v_error(v, a, "duplicate entry %s (also at index %zu)", desc, j);
				gw_v_pop(v, old);
				return;
			}
		}
	}
}

static void check_ip_oneof(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n)
{
	const char *type = gw_v_str(s, n, "type");
	const struct gw_node *val = gw_node_get(n, "value");
	unsigned char buf[16];

	if (!type || strcmp(type, "IPAddress") || !gw_node_is_scalar(val))
		return;
	if (inet_pton(AF_INET, val->str, buf) != 1 && inet_pton(AF_INET6, val->str, buf) != 1) {
		size_t old = gw_v_push_key(v, "value");

		gw_v_error(v, val, "\"%s\" must be an IPv4 or IPv6 address when type is IPAddress",
			   val->str);
		gw_v_pop(v, old);
	}
}

static void walk_object(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n)
{
	for (size_t i = 0; i < s->n_required; i++) {
		if (!gw_v_has(n, s->required[i])) {
			size_t old = gw_v_push_key(v, s->required[i]);

			gw_v_error(v, n, "required value");
			gw_v_pop(v, old);
		}
	}
	if (s->max_props >= 0 && n->n_items > (size_t)s->max_props)
		gw_v_error(v, n, "must have at most %d properties", s->max_props);
	for (size_t i = 0; i < n->n_items; i++) {
		const struct gw_node *c = n->items[i];
		const struct gw_schema *cs = gw_v_prop(s, c->key);
		size_t old;

		if (!cs)
			cs = s->additional;
		if (!cs || c->type == GW_NODE_NULL)
			continue; /* unknown fields are pruned by the API server */
		old = gw_v_push_key(v, c->key);
		walk(v, cs, c);
		gw_v_pop(v, old);
	}
	if (s->flags & GW_SF_IP_ONEOF)
		check_ip_oneof(v, s, n);
}

static void walk(struct gw_vctx *v, const struct gw_schema *s, const struct gw_node *n)
{
	int before = v->n_errors;

	if (!type_ok(s->type, n)) {
		gw_v_error(v, n, "must be of type %s, got %s", type_names[s->type],
			   node_type_name(n));
		return;
	}
	switch (n->type) {
	case GW_NODE_SCALAR:
		if (n->skind == GW_SCALAR_STRING)
			check_string(v, s, n);
		else if (n->skind == GW_SCALAR_INT || n->skind == GW_SCALAR_FLOAT)
			check_number(v, s, n);
		break;
	case GW_NODE_SEQ:
		if (s->min_items >= 0 && n->n_items < (size_t)s->min_items) {
			gw_v_error(v, n, "must have at least %d items", s->min_items);
			return;
		}
		if (s->max_items >= 0 && n->n_items > (size_t)s->max_items) {
			gw_v_error(v, n, "must have at most %d items", s->max_items);
			return;
		}
		for (size_t i = 0; s->items && i < n->n_items; i++) {
			size_t old = gw_v_push_idx(v, i);

			if (n->items[i]->type == GW_NODE_NULL)
				gw_v_error(v, n->items[i], "must not be null");
			else
				walk(v, s->items, n->items[i]);
			gw_v_pop(v, old);
		}
		if (v->n_errors == before && (s->flags & (GW_SF_LIST_MAP | GW_SF_LIST_SET)))
			check_list_unique(v, s, n);
		break;
	case GW_NODE_MAP:
		walk_object(v, s, n);
		break;
	default:
		break;
	}
	/* CEL rules assume a structurally valid value, as on the API server */
	for (size_t i = 0; i < s->n_rules && v->n_errors == before; i++)
		gw_v_rule(v, &s->rules[i], s, n);
}

/* ---- metadata names (apimachinery's IsDNS1123Subdomain/Label, IsDNS1035Label) ---- */

static bool dns_label(const char *s, size_t len, bool first_letter)
{
	if (!len || len > 63)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && !(c == '-' && i && i + 1 < len))
			return false;
	}
	return !first_letter || (s[0] >= 'a' && s[0] <= 'z');
}

static bool dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	while (*s) {
		size_t l = strcspn(s, ".");

		if (!dns_label(s, l, false))
			return false;
		s += l;
		if (*s == '.' && !*++s)
			return false;
	}
	return true;
}

static void check_metadata(struct gw_vctx *v)
{
	const struct gw_object *o = v->o;
	const struct gw_node *meta = gw_node_get(o->root, "metadata");
	const struct gw_node *nn = gw_node_get(meta, "name");
	const struct gw_node *ns = gw_node_get(meta, "namespace");
	size_t old;

	old = gw_v_push_key(v, "metadata");
	if (!strcmp(o->kind, "Service") && !o->group[0]) {
		if (!dns_label(o->name, strlen(o->name), true)) {
			gw_v_push_key(v, "name");
			gw_v_error(v, nn, "\"%s\": a DNS-1035 label must consist of lower case "
				   "alphanumeric characters or '-', start with a letter, end with "
				   "an alphanumeric character, and be at most 63 characters", o->name);
		}
	} else if (!strcmp(o->kind, "Namespace") && !o->group[0]) {
		if (!dns_label(o->name, strlen(o->name), false)) {
			gw_v_push_key(v, "name");
			gw_v_error(v, nn, "\"%s\": a lowercase RFC 1123 label must consist of lower "
				   "case alphanumeric characters or '-', start and end with an "
				   "alphanumeric character, and be at most 63 characters", o->name);
		}
	} else if (!dns_subdomain(o->name)) {
		gw_v_push_key(v, "name");
		gw_v_error(v, nn, "\"%s\": a lowercase RFC 1123 subdomain must consist of lower "
			   "case alphanumeric characters, '-' or '.', and must start and end with "
			   "an alphanumeric character", o->name);
	}
	gw_v_pop(v, old);
	if (o->ns[0] && !dns_label(o->ns, strlen(o->ns), false)) {
		old = gw_v_push_key(v, "metadata");
		gw_v_push_key(v, "namespace");
		gw_v_error(v, ns, "\"%s\": a lowercase RFC 1123 label must consist of lower case "
			   "alphanumeric characters or '-', start and end with an alphanumeric "
			   "character, and be at most 63 characters", o->ns);
		gw_v_pop(v, old);
	}
}

const struct gw_schema *gw_schema_find(const char *group, const char *version, const char *kind)
{
	for (unsigned int i = 0; i < gw_schema_n_roots; i++) {
		const struct gw_schema_root *r = &gw_schema_roots[i];

		if (!strcmp(r->kind, kind) && !strcmp(r->version, version) &&
		    !strcmp(r->group, group))
			return r->schema;
	}
	return NULL;
}

int gw_validate_object(const struct gw_object *o, struct gw_diag_list *diags)
{
	const struct gw_schema *s = gw_schema_find(o->group, o->version, o->kind);
	/* on the stack (1.4 KB, not recursive): no allocation, so no -ENOMEM */
	struct gw_vctx v = { .o = o, .diags = diags };

	if (!s) {
		pr_debug("validate: %s: unknown kind %s/%s, skipped\n", o->file ? o->file : "",
			 o->api_version, o->kind);
		return -ENOENT;
	}
	gw_object_ref(o, v.ref, sizeof(v.ref));
	check_metadata(&v);
	walk(&v, s, o->root);
	return v.n_errors ? -EINVAL : 0;
}
