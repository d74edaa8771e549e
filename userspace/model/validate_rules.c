/* model/validate_rules.c - the CRDs' x-kubernetes-validations (CEL) rules,
 * written by hand in C.
 *
 * tools/gen-schema.py maps each rule of the CRDs to one of the ids below
 * (families such as "filter.X must be specified for type X" share one check
 * with arguments) and keeps the CRD's own message, so errors read exactly as
 * kubectl would show them. Rules read fields after defaulting, as the API
 * server evaluates CEL on defaulted objects (e.g. a path match without type
 * is a PathPrefix match). Each error points at the most specific node: the
 * offending list item or field when there is one.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "gwbpf/node.h"
#include "gwbpf/validate.h"

/* present() : has(self.key) with strings "" counting as absent, as the rules
 * that test `self.x != ""` do */
static bool present(const struct gw_node *n, const char *key)
{
	const struct gw_node *c = gw_node_get(n, key);

	if (!c || c->type == GW_NODE_NULL)
		return false;
	return !(c->type == GW_NODE_SCALAR && c->skind == GW_SCALAR_STRING && c->len == 0);
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* eq_opt() : CEL "both absent/empty, or both present and equal" */
static bool eq_opt(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && !strcmp(a, b);
}

/* err_at() : error at child key of n (or n itself when key is NULL) */
static void err_at(struct gw_vctx *v, const struct gw_node *n, const char *key, const char *msg)
{
	const struct gw_node *c = key ? gw_node_get(n, key) : NULL;
	size_t old = key ? gw_v_push_key(v, key) : v->plen;

	gw_v_error(v, c ? c : n, "%s", msg);
	gw_v_pop(v, old);
}

static void err_item(struct gw_vctx *v, const struct gw_node *list, size_t i, const char *msg)
{
	size_t old = gw_v_push_idx(v, i);

	gw_v_error(v, list->items[i], "%s", msg);
	gw_v_pop(v, old);
}

static const struct gw_schema *items_of(const struct gw_schema *s)
{
	return s ? s->items : NULL;
}

static int64_t int_or(const struct gw_schema *s, const struct gw_node *n, const char *key,
		      int64_t dflt)
{
	int64_t x;
	const char *d;

	if (gw_node_int(n, key, &x))
		return x;
	d = s ? (gw_v_prop(s, key) ? gw_v_prop(s, key)->dflt : NULL) : NULL;
	return d ? strtoll(d, NULL, 10) : dflt;
}

/* ---- references (parentRefs, targetRefs) ---- */

static bool same_target(const struct gw_schema *is, const struct gw_node *a,
			const struct gw_node *b)
{
	return eq_opt(gw_v_str(is, a, "group"), gw_v_str(is, b, "group")) &&
	       eq_opt(gw_v_str(is, a, "kind"), gw_v_str(is, b, "kind")) &&
	       eq_opt(gw_v_str(is, a, "name"), gw_v_str(is, b, "name"));
}

static void rule_targets(struct gw_vctx *v, const struct gw_rule *r, const struct gw_schema *s,
			 const struct gw_node *n, bool parent, bool unique)
{
	const struct gw_schema *is = items_of(s);

	for (size_t i = 0; i < n->n_items; i++) {
		const struct gw_node *a = n->items[i];

		for (size_t j = 0; j < n->n_items; j++) {
			const struct gw_node *b = n->items[j];
			bool sec_eq, port_eq = true, bad;

			if (i == j && !unique)
				continue;
			if (!same_target(is, a, b))
				continue;
			if (parent && !eq_opt(gw_v_str(is, a, "namespace"),
					      gw_v_str(is, b, "namespace")))
				continue;
			sec_eq = eq_opt(gw_v_str(is, a, "sectionName"),
					gw_v_str(is, b, "sectionName"));
			if (parent)
				port_eq = int_or(is, a, "port", 0) == int_or(is, b, "port", 0);
			if (unique) {
				/* exists_one: no other item may have the same full key */
				bad = i != j && sec_eq && port_eq;
			} else {
				bool ea = !present(a, "sectionName"), eb = !present(b, "sectionName");

				bad = ea != eb;
				if (parent)
					bad = bad || ((int_or(is, a, "port", 0) == 0) !=
						      (int_or(is, b, "port", 0) == 0));
			}
			if (bad) {
				err_item(v, n, GW_MAX(i, j), r->msg);
				return;
			}
		}
	}
}

/* ---- listeners ---- */

static bool proto_in(const char *p, const char *const *set)
{
	for (; *set; set++)
		if (str_eq(p, *set))
			return true;
	return false;
}

static void rule_listeners(struct gw_vctx *v, const struct gw_rule *r, const struct gw_schema *s,
			   const struct gw_node *n)
{
	static const char *const http_tcp_udp[] = { "HTTP", "TCP", "UDP", NULL };
	static const char *const tcp_udp[] = { "TCP", "UDP", NULL };
	const struct gw_schema *is = items_of(s);

	for (size_t i = 0; i < n->n_items; i++) {
		const struct gw_node *l = n->items[i];
		const char *proto = gw_node_str(l, "protocol");
		const struct gw_node *tls = gw_node_get(l, "tls");
		const char *mode = gw_v_str(gw_v_prop(is, "tls"), tls, "mode");
		bool bad = false;

		switch (r->id) {
		case GW_RULE_LISTENER_TLS_FORBIDDEN:
			bad = proto_in(proto, http_tcp_udp) && gw_v_has(l, "tls");
			break;
		case GW_RULE_LISTENER_HTTPS_MODE:
			bad = str_eq(proto, "HTTPS") && gw_v_has(l, "tls") && mode && *mode &&
			      strcmp(mode, "Terminate");
			break;
		case GW_RULE_LISTENER_TLS_MODE_SET:
			bad = str_eq(proto, "TLS") && (!gw_v_has(l, "tls") || !mode || !*mode);
			break;
		case GW_RULE_LISTENER_HOSTNAME_FORBIDDEN:
			bad = proto_in(proto, tcp_udp) && present(l, "hostname");
			break;
		case GW_RULE_LISTENER_PORT_PROTO_HOST:
			for (size_t j = 0; j < i && !bad; j++) {
				const struct gw_node *m = n->items[j];
				const char *h1 = gw_node_str(l, "hostname");
				const char *h2 = gw_node_str(m, "hostname");

				/* ListenerSet: listeners without port are skipped */
				if (!gw_v_has(l, "port") || !gw_v_has(m, "port"))
					continue;
				bad = int_or(is, l, "port", 0) == int_or(is, m, "port", 0) &&
				      str_eq(proto, gw_node_str(m, "protocol")) &&
				      (gw_v_has(l, "hostname") && gw_v_has(m, "hostname")
					       ? str_eq(h1, h2)
					       : !gw_v_has(l, "hostname") && !gw_v_has(m, "hostname"));
			}
			break;
		}
		if (bad) {
			err_item(v, n, i, r->msg);
			return;
		}
	}
}

/* ---- HTTPRoute rules ---- */

/* match_path_type() : effective path type of a match (defaults: PathPrefix "/") */
static const char *match_path_type(const struct gw_schema *ms, const struct gw_node *m)
{
	const struct gw_node *p = gw_node_get(m, "path");
	const struct gw_schema *ps = gw_v_prop(ms, "path");

	if (!p || p->type == GW_NODE_NULL)
		return "PathPrefix"; /* the match's default path is {PathPrefix, "/"} */
	return gw_v_str(ps, p, "type");
}

static bool has_replace_prefix(const struct gw_node *filters, const char *which)
{
	size_t count = 0;

	for (size_t i = 0; filters && i < filters->n_items; i++) {
		const struct gw_node *f = gw_node_get(filters->items[i], which);
		const struct gw_node *p = gw_node_get(f, "path");

		if (str_eq(gw_node_str(p, "type"), "ReplacePrefixMatch") &&
		    gw_v_has(p, "replacePrefixMatch"))
			count++;
	}
	return count == 1; /* CEL exists_one */
}

static void rule_replace_prefix(struct gw_vctx *v, const struct gw_rule *r,
				const struct gw_schema *s, const struct gw_node *rule)
{
	const struct gw_node *matches = gw_node_get(rule, "matches");
	const struct gw_schema *ms = items_of(gw_v_prop(s, "matches"));
	bool uses = false;

	if (r->b) {
		const struct gw_node *brefs = gw_node_get(rule, "backendRefs");
		size_t count = 0;

		for (size_t i = 0; brefs && i < brefs->n_items; i++)
			count += has_replace_prefix(gw_node_get(brefs->items[i], "filters"), r->a);
		uses = count == 1;
	} else {
		uses = has_replace_prefix(gw_node_get(rule, "filters"), r->a);
	}
	if (!uses)
		return;
	/* matches defaults to one PathPrefix "/" match when absent */
	if (!matches || matches->type == GW_NODE_NULL)
		return;
	if (matches->n_items != 1 ||
	    !str_eq(match_path_type(ms, matches->items[0]), "PathPrefix"))
		err_at(v, rule, "matches", r->msg);
}

static void rule_match_total(struct gw_vctx *v, const struct gw_rule *r,
			     const struct gw_node *rules)
{
	size_t total = 0;

	for (size_t i = 0; i < rules->n_items && i < 16; i++) {
		const struct gw_node *m = gw_node_get(rules->items[i], "matches");

		if (m && m->type == GW_NODE_SEQ)
			total += m->n_items;
		else if (str_eq(r->a, "1"))
			total += 1; /* defaulted to one match */
	}
	if (total > 128)
		gw_v_error(v, rules, "%s", r->msg);
}

static void rule_path_value(struct gw_vctx *v, const struct gw_rule *r, const struct gw_schema *s,
			    const struct gw_node *n)
{
	const char *type = gw_v_str(s, n, "type");
	const char *val = gw_v_str(s, n, "value");
	bool bad = false;

	if (str_eq(r->a, "type")) {
		if (!str_eq(type, "Exact") && !str_eq(type, "PathPrefix") &&
		    !str_eq(type, "RegularExpression"))
			err_at(v, n, "type", r->msg);
		return;
	}
	if (!val || !(str_eq(type, "Exact") || str_eq(type, "PathPrefix")))
		return;
	if (str_eq(r->a, "starts"))
		bad = strncmp(val, r->b, strlen(r->b)) != 0;
	else if (str_eq(r->a, "contains"))
		bad = strstr(val, r->b) != NULL;
	else if (str_eq(r->a, "ends"))
		bad = strlen(val) >= strlen(r->b) && !strcmp(val + strlen(val) - strlen(r->b), r->b);
	else if (str_eq(r->a, "matches"))
		bad = !gw_v_match(r->re, val, strlen(val));
	if (bad)
		err_at(v, n, gw_node_get(n, "value") ? "value" : NULL, r->msg);
}

/* ---- hostnames ---- */

static bool is_ip(const char *h)
{
	unsigned char b[16];

	return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

static void *rfc1123_re;
#define RFC1123 "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$"

static void rule_hostnames(struct gw_vctx *v, const struct gw_rule *r, const struct gw_node *n)
{
	for (size_t i = 0; i < n->n_items; i++) {
		const char *h = n->items[i]->str;
		bool bad = false;

		if (!h)
			continue;
		if (r->id == GW_RULE_HOSTNAMES_NOT_IP)
			bad = is_ip(h);
		else if (r->id == GW_RULE_HOSTNAMES_RFC1123)
			bad = !strchr(h, '*') && !gw_v_match_pat(&rfc1123_re, RFC1123, h);
		else
			bad = strchr(h, '*') && (strncmp(h, "*.", 2) ||
						 !gw_v_match_pat(&rfc1123_re, RFC1123, h + 2));
		if (bad) {
			err_item(v, n, i, r->msg);
			return;
		}
	}
}


/* ---- core kinds ---- */

static bool is_iana_svc_name(const char *s)
{
	/* 1-15 chars, [a-z0-9-], at least one letter, no leading/trailing/double '-' */
	size_t n = strlen(s);
	bool letter = false;

	if (!n || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return false;
	}
	return letter;
}

/* is_base64() : what the API server's decoder takes for []byte fields (Go's
 * base64.StdEncoding): standard alphabet, padded to whole quanta, '=' only at
 * the end; CR and LF are skipped, so the 76-column lines of `base64` pasted
 * into a YAML block scalar are fine. Other whitespace is refused. */
static bool is_base64(const char *s, size_t len)
{
	size_t pad = 0, n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\r' || c == '\n')
			continue;
		n++;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return n % 4 == 0 && pad <= 2;
}

static void rule_endpoint_addrs(struct gw_vctx *v, const struct gw_rule *r,
				const struct gw_node *slice)
{
	const char *type = gw_node_str(slice, "addressType");
	const struct gw_node *eps = gw_node_get(slice, "endpoints");
	unsigned char buf[16];

	for (size_t i = 0; eps && i < eps->n_items; i++) {
		const struct gw_node *addrs = gw_node_get(eps->items[i], "addresses");

		for (size_t j = 0; addrs && j < addrs->n_items; j++) {
			const char *a = addrs->items[j]->str;
			bool ok = true;

			if (!a)
				continue;
			if (str_eq(type, "IPv4"))
				ok = inet_pton(AF_INET, a, buf) == 1;
			else if (str_eq(type, "IPv6"))
				ok = inet_pton(AF_INET6, a, buf) == 1;
			if (!ok) {
				size_t o1 = gw_v_push_key(v, "endpoints");
				size_t o2 = gw_v_push_idx(v, i);
				size_t o3 = gw_v_push_key(v, "addresses");

				(void)o2;
				(void)o3;
				err_item(v, addrs, j, r->msg);
				gw_v_pop(v, o1);
				return;
			}
		}
	}
}

/* ---- the dispatcher ---- */

void gw_v_rule(struct gw_vctx *v, const struct gw_rule *r, const struct gw_schema *s,
	       const struct gw_node *n)
{
	const struct gw_schema *is = items_of(s);

	switch (r->id) {
	case GW_RULE_FIELD_IF_VALUE: /* self.a == b => has(self.c) */
		if (n->type == GW_NODE_MAP && str_eq(gw_v_str(s, n, r->a), r->b) &&
		    !present(n, r->c))
			err_at(v, n, NULL, r->msg);
		break;
	case GW_RULE_FIELD_ONLY_VALUE: /* has(self.c) => self.a == b */
		if (n->type == GW_NODE_MAP && present(n, r->c) && !str_eq(gw_v_str(s, n, r->a), r->b))
			err_at(v, n, r->c, r->msg);
		break;
	case GW_RULE_AT_MOST_ONE_TYPE: {
		size_t seen = 0;

		for (size_t i = 0; i < n->n_items; i++) {
			if (str_eq(gw_node_str(n->items[i], "type"), r->a) && ++seen == 2) {
				err_item(v, n, i, r->msg);
				break;
			}
		}
		break;
	}
	case GW_RULE_NOT_BOTH_TYPES: {
		ssize_t ia = -1, ib = -1;

		for (size_t i = 0; i < n->n_items; i++) {
			const char *t = gw_node_str(n->items[i], "type");

			if (str_eq(t, r->a) && ia < 0)
				ia = (ssize_t)i;
			if (str_eq(t, r->b) && ib < 0)
				ib = (ssize_t)i;
		}
		if (ia >= 0 && ib >= 0)
			err_item(v, n, (size_t)GW_MAX(ia, ib), r->msg);
		break;
	}
	case GW_RULE_NOT_BOTH_FIELDS:
		if (gw_v_has(n, r->a) && gw_v_has(n, r->b))
			err_at(v, n, r->b, r->msg);
		break;
	case GW_RULE_STAR_ALONE:
		for (size_t i = 0; i < n->n_items && n->n_items > 1; i++) {
			if (str_eq(n->items[i]->str, "*")) {
				err_item(v, n, i, r->msg);
				break;
			}
		}
		break;
	case GW_RULE_PATH_VALUE:
		rule_path_value(v, r, s, n);
		break;
	case GW_RULE_SECTION_SAME_TARGET:
	case GW_RULE_SECTION_UNIQUE_TARGET:
		rule_targets(v, r, s, n, false, r->id == GW_RULE_SECTION_UNIQUE_TARGET);
		break;
	case GW_RULE_PARENT_SECTION_SAME:
	case GW_RULE_PARENT_SECTION_UNIQUE:
		rule_targets(v, r, s, n, true, r->id == GW_RULE_PARENT_SECTION_UNIQUE);
		break;
	case GW_RULE_CA_NOT_BOTH:
		if (gw_node_len(n, "caCertificateRefs") > 0 && present(n, "wellKnownCACertificates"))
			err_at(v, n, "wellKnownCACertificates", r->msg);
		break;
	case GW_RULE_CA_EITHER:
		if (!gw_node_len(n, "caCertificateRefs") && !present(n, "wellKnownCACertificates"))
			err_at(v, n, NULL, r->msg);
		break;
	case GW_RULE_ADDR_UNIQUE:
		for (size_t i = 1; i < n->n_items; i++) {
			const struct gw_node *a = n->items[i];

			if (!str_eq(gw_v_str(is, a, "type"), r->a) || !gw_v_has(a, "value"))
				continue;
			for (size_t j = 0; j < i; j++) {
				const struct gw_node *b = n->items[j];

				if (str_eq(gw_v_str(is, b, "type"), r->a) &&
				    str_eq(gw_node_str(a, "value"), gw_node_str(b, "value"))) {
					err_item(v, n, i, r->msg);
					return;
				}
			}
		}
		break;
	case GW_RULE_MATCH_IF_VALUE: {
		const char *val = gw_node_str(n, r->c);

		if (!str_eq(gw_v_str(s, n, r->a), r->b))
			break;
		if (!val) {
			if (!r->e)
				err_at(v, n, NULL, r->msg);
			break;
		}
		if (!gw_v_match(r->re, val, strlen(val)))
			err_at(v, n, r->c, r->msg);
		break;
	}
	case GW_RULE_KEYS_MATCH:
	case GW_RULE_KEYS_PREFIX_LEN:
		for (size_t i = 0; i < n->n_items; i++) {
			const char *k = n->items[i]->key;
			const char *slash = strchr(k, '/');
			bool bad = r->id == GW_RULE_KEYS_MATCH
					   ? !gw_v_match(r->re, k, strlen(k))
					   : (slash ? (size_t)(slash - k) : strlen(k)) >= 253;

			if (bad) {
				size_t old = gw_v_push_key(v, k);
				struct gw_node tmp = *n->items[i];

				tmp.mark = n->items[i]->key_mark;
				gw_v_error(v, &tmp, "%s", r->msg);
				gw_v_pop(v, old);
				break;
			}
		}
		break;
	case GW_RULE_LISTENER_TLS_FORBIDDEN:
	case GW_RULE_LISTENER_HTTPS_MODE:
	case GW_RULE_LISTENER_TLS_MODE_SET:
	case GW_RULE_LISTENER_HOSTNAME_FORBIDDEN:
	case GW_RULE_LISTENER_PORT_PROTO_HOST:
		rule_listeners(v, r, s, n);
		break;
	case GW_RULE_UNIQUE_FIELD:
		for (size_t i = 1; i < n->n_items; i++) {
			const struct gw_node *a = gw_node_get(n->items[i], r->a);

			if (!gw_node_is_scalar(a))
				continue;
			for (size_t j = 0; j < i; j++) {
				const struct gw_node *b = gw_node_get(n->items[j], r->a);

				if (gw_node_is_scalar(b) && !strcmp(a->str, b->str)) {
					err_item(v, n, i, r->msg);
					return;
				}
			}
		}
		break;
	case GW_RULE_TLS_TERMINATE_CERTS:
		if (str_eq(gw_v_str(s, n, "mode"), "Terminate") &&
		    !gw_node_len(n, "certificateRefs") && !gw_node_len(n, "options"))
			err_at(v, n, NULL, r->msg);
		break;
	case GW_RULE_MATCH_TOTAL:
		rule_match_total(v, r, n);
		break;
	case GW_RULE_SERVICE_PORT: {
		const char *g = gw_v_str(s, n, "group");
		const char *k = gw_v_str(s, n, "kind");

		if ((!g || !*g) && str_eq(k, "Service") && !gw_v_has(n, "port"))
			err_at(v, n, NULL, r->msg);
		break;
	}
	case GW_RULE_FRACTION:
		if (int_or(s, n, "numerator", 0) > int_or(s, n, "denominator", 100))
			err_at(v, n, "numerator", r->msg);
		break;
	case GW_RULE_GRPC_METHOD_ONE:
		/* type defaults to Exact, so has(self.type) always holds */
		if (!gw_v_has(n, "service") && !gw_v_has(n, "method"))
			err_at(v, n, NULL, r->msg);
		break;
	case GW_RULE_GRPC_METHOD_MATCH: {
		const char *t = gw_v_str(s, n, "type");
		const char *x = gw_node_str(n, r->a);

		if ((!t || str_eq(t, "Exact")) && x && !gw_v_match(r->re, x, strlen(x)))
			err_at(v, n, r->a, r->msg);
		break;
	}
	case GW_RULE_SESSION_ABS_TIMEOUT:
		if (str_eq(gw_node_str(n, "cookieConfig.lifetimeType"), "Permanent") &&
		    !gw_v_has(n, "absoluteTimeout"))
			err_at(v, n, NULL, r->msg);
		break;
	case GW_RULE_SESSION_COOKIE_TYPE:
		if (gw_v_has(n, "cookieConfig") && !str_eq(gw_v_str(s, n, "type"), "Cookie"))
			err_at(v, n, "cookieConfig", r->msg);
		break;
	case GW_RULE_REDIRECT_NO_BACKENDS:
		if (gw_node_len(n, "backendRefs") > 0) {
			const struct gw_node *f = gw_node_get(n, "filters");

			for (size_t i = 0; f && i < f->n_items; i++) {
				if (gw_v_has(f->items[i], "requestRedirect")) {
					size_t old = gw_v_push_key(v, "filters");

					err_item(v, f, i, r->msg);
					gw_v_pop(v, old);
					break;
				}
			}
		}
		break;
	case GW_RULE_REPLACE_PREFIX_MATCH:
		rule_replace_prefix(v, r, s, n);
		break;
	case GW_RULE_TIMEOUTS: {
		int64_t req, be;

		if (!gw_v_has(n, "request") || !gw_v_has(n, "backendRequest"))
			break;
		if (gw_parse_duration(gw_node_str(n, "request"), &req) ||
		    gw_parse_duration(gw_node_str(n, "backendRequest"), &be))
			break; /* the pattern check reported it */
		if (req != 0 && be > req)
			err_at(v, n, "backendRequest", r->msg);
		break;
	}
	case GW_RULE_HOSTNAMES_NOT_IP:
	case GW_RULE_HOSTNAMES_RFC1123:
	case GW_RULE_HOSTNAMES_WILDCARD:
		rule_hostnames(v, r, n);
		break;
	case GW_RULE_NAMES_IF_MANY:
		for (size_t i = 0; n->n_items > 1 && i < n->n_items; i++) {
			if (!present(n->items[i], r->a)) {
				size_t old = gw_v_push_idx(v, i);

				err_at(v, n->items[i], NULL, r->msg);
				gw_v_pop(v, old);
				break;
			}
		}
		break;
	case GW_RULE_PORT_OR_NAME: {
		int64_t p;

		if (n->type == GW_NODE_SCALAR && n->skind == GW_SCALAR_INT)
			p = gw_node_int(n, NULL, &p) ? p : 0;
		else
			p = -1;
		if (p == 0 || p > 65535 ||
		    (p < 0 && (n->type != GW_NODE_SCALAR || n->skind != GW_SCALAR_STRING ||
			       !is_iana_svc_name(n->str))))
			gw_v_error(v, n, "%s", r->msg);
		break;
	}
	case GW_RULE_BASE64_VALUES:
		for (size_t i = 0; i < n->n_items; i++) {
			const struct gw_node *c = n->items[i];

			if (c->type == GW_NODE_SCALAR && !is_base64(c->str, c->len)) {
				err_at(v, n, c->key, r->msg);
				break;
			}
		}
		break;
	case GW_RULE_ENDPOINT_ADDRS:
		rule_endpoint_addrs(v, r, n);
		break;
	case GW_RULE_EXACTLY_ONE:
		if (gw_v_has(n, r->a) == gw_v_has(n, r->b))
			err_at(v, n, NULL, r->msg);
		break;
	case GW_RULE_INGRESS_PATH: {
		const char *t = gw_node_str(n, "pathType");
		const char *p = gw_node_str(n, "path");

		if (!str_eq(t, "ImplementationSpecific") && (!p || p[0] != '/'))
			err_at(v, n, gw_node_get(n, "path") ? "path" : NULL, r->msg);
		break;
	}
	default:
		break;
	}
}
