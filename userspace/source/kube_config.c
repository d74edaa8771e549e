/* source/kube_config.c - reaching the API server, and reading what it sends.
 *
 * kubeconfig: only what a controller needs: the current-context's cluster
 * (server, certificate-authority[-data], insecure-skip-tls-verify) and user
 * (token, tokenFile, client-certificate[-data], client-key[-data]). Exec and
 * auth-provider plugins are refused with a diagnostic rather than ignored,
 * so a user does not get a silent 401 loop.
 *
 * JSON -> gw_node: objects from the API server take the same path as
 * manifests from files (gw_object_from_doc, gw_validate_object), so the
 * tree must look like what libyaml would have produced from the same JSON:
 * integers are INT scalars with their decimal text, strings STRING.
 */
#include "gwbpf/api.h"

#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "gwbpf/b64.h"
#include "gwbpf/diag.h"
#include "gwbpf/kube.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/readfile.h"

#define MAX_FILE_BYTES (1u << 20) /* token, CA bundle */

/* ---- JSON -> node ---- */

static struct gw_node *scalar(enum gw_scalar_kind k, const char *s, size_t len)
{
	struct gw_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = GW_NODE_SCALAR;
	n->skind = k;
	n->str = malloc(len + 1);
	if (!n->str) {
		free(n);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(n->str, s, len);
	n->str[len] = '\0';
	n->len = len;
	return n;
}

static struct gw_node *to_node(const json_t *j, int depth)
{
	struct gw_node *n = NULL, *c;
	char num[64];
	int len;

	if (depth > GW_NODE_MAX_DEPTH) {
		errno = E2BIG;
		return NULL;
	}
	switch (json_typeof(j)) {
	case JSON_STRING:
		return scalar(GW_SCALAR_STRING, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return scalar(GW_SCALAR_INT, num, (size_t)len);
	case JSON_REAL:
		len = snprintf(num, sizeof(num), "%.17g", json_real_value(j));
		return scalar(GW_SCALAR_FLOAT, num, (size_t)len);
	case JSON_TRUE:
		return scalar(GW_SCALAR_BOOL, "true", 4);
	case JSON_FALSE:
		return scalar(GW_SCALAR_BOOL, "false", 5);
	case JSON_NULL:
		n = calloc(1, sizeof(*n));
		if (n)
			n->type = GW_NODE_NULL;
		return n;
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;

		n->type = GW_NODE_MAP;
		n->items = calloc(json_object_size(j) ? json_object_size(j) : 1, sizeof(*n->items));
		if (!n->items)
			goto fail;
		json_object_foreach((json_t *)j, k, v) {
			c = to_node(v, depth + 1);
			if (!c)
				goto fail;
			n->items[n->n_items++] = c;
			c->key = strdup(k);
			if (!c->key)
				goto fail;
		}
	} else {
		size_t i;
		json_t *v;

		n->type = GW_NODE_SEQ;
		n->items = calloc(json_array_size(j) ? json_array_size(j) : 1, sizeof(*n->items));
		if (!n->items)
			goto fail;
		json_array_foreach(j, i, v) {
			c = to_node(v, depth + 1);
			if (!c)
				goto fail;
			n->items[n->n_items++] = c;
		}
	}
	return n;
fail:
	if (!errno)
		errno = ENOMEM;
	gw_node_free(n);
	return NULL;
}

struct gw_node *gw_json_to_node(const json_t *j)
{
	if (!j) {
		errno = EINVAL;
		return NULL;
	}
	errno = 0;
	return to_node(j, 0);
}

/* ---- helpers ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void gw_kube_config_clear(struct gw_kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->token);
	free(c->token_file);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->cert_data);
	free(c->key_file);
	free(c->key_data);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}

/* ---- kubeconfig ---- */

/* the map under key of the entry of list (clusters, users, contexts) named name */
static const struct gw_node *named(const struct gw_node *root, const char *list, const char *name,
				   const char *key)
{
	const struct gw_node *l = gw_node_get(root, list);

	if (!gw_node_is_seq(l) || !name)
		return NULL;
	for (size_t i = 0; i < l->n_items; i++) {
		const char *n = gw_node_str(l->items[i], "name");

		if (n && !strcmp(n, name))
			return gw_node_get(l->items[i], key);
	}
	return NULL;
}

/* a path from the kubeconfig, resolved against its folder when relative */
static char *resolve(const char *dir, const char *p)
{
	char *out;

	if (!p)
		return NULL;
	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		return NULL;
	return out;
}

static int set_data(char **dst, const struct gw_node *m, const char *key,
		    struct gw_diag_list *diags, const char *path)
{
	const char *v = gw_node_str(m, key);

	if (!v)
		return 0;
	*dst = gw_b64_decode_str(v, strlen(v));
	if (!*dst) {
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, key, "%s: not base64", path);
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

int gw_kubeconfig_load(const char *path, struct gw_kube_config *out, struct gw_diag_list *diags)
{
	struct gw_doc_list docs = { 0 };
	const struct gw_node *root, *cluster, *user;
	const char *ctx, *cname, *uname, *ns;
	char dirbuf[PATH_MAX], *dir;
	int err;

	memset(out, 0, sizeof(*out));
	err = gw_yaml_load_file(path, &docs, diags);
	if (err)
		goto out;
	err = -EINVAL;
	root = docs.n ? docs.v[0].root : NULL;
	if (!gw_node_is_map(root)) {
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, NULL, "%s: not a kubeconfig", path);
		goto out;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	ctx = gw_node_str(root, "current-context");
	if (!ctx) {
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, "current-context",
			    "%s: no current-context", path);
		goto out;
	}
	cname = gw_node_str(named(root, "contexts", ctx, "context"), "cluster");
	uname = gw_node_str(named(root, "contexts", ctx, "context"), "user");
	ns = gw_node_str(named(root, "contexts", ctx, "context"), "namespace");
	cluster = named(root, "clusters", cname, "cluster");
	user = named(root, "users", uname, "user");
	if (!cluster || !gw_node_str(cluster, "server")) {
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, "clusters",
			    "%s: context \"%s\" has no cluster with a server", path, ctx);
		goto out;
	}
	if (gw_node_get(user, "exec") || gw_node_get(user, "auth-provider")) {
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, "users",
			    "%s: user \"%s\": exec and auth-provider plugins are not supported; "
			    "use a token or a client certificate", path, uname ? uname : "");
		goto out;
	}
	err = -ENOMEM;
	out->server = strdup(gw_node_str(cluster, "server"));
	out->namespace = strdup(ns ? ns : "default");
	if (!out->server || !out->namespace)
		goto out;
	gw_node_bool(cluster, "insecure-skip-tls-verify", &out->insecure);
	out->ca_file = resolve(dir, gw_node_str(cluster, "certificate-authority"));
	out->cert_file = resolve(dir, gw_node_str(user, "client-certificate"));
	out->key_file = resolve(dir, gw_node_str(user, "client-key"));
	out->token = dup_or_null(gw_node_str(user, "token"));
	out->token_file = resolve(dir, gw_node_str(user, "tokenFile"));
	if (out->token_file && !out->token)
		out->token = gw_readfile_small(out->token_file, MAX_FILE_BYTES, NULL);
	err = set_data(&out->ca_data, cluster, "certificate-authority-data", diags, path);
	if (!err)
		err = set_data(&out->cert_data, user, "client-certificate-data", diags, path);
	if (!err)
		err = set_data(&out->key_data, user, "client-key-data", diags, path);
out:
	if (err)
		gw_kube_config_clear(out);
	gw_doc_list_free(&docs);
	return err;
}

int gw_kube_incluster(const char *sa_dir, struct gw_kube_config *out, struct gw_diag_list *diags)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *p = NULL;
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!sa_dir)
		sa_dir = GW_KUBE_SA_DIR;
	if (!host || !*host) {
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, NULL,
			    "--kube: KUBERNETES_SERVICE_HOST is not set (not in a pod?); "
			    "use --kubeconfig FILE");
		goto out;
	}
	err = -ENOMEM;
	/* an IPv6 service address needs brackets in a URL */
	if (asprintf(&out->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port && *port ? port : "443") < 0) {
		out->server = NULL;
		goto out;
	}
	if (asprintf(&out->token_file, "%s/token", sa_dir) < 0 ||
	    asprintf(&out->ca_file, "%s/ca.crt", sa_dir) < 0 ||
	    asprintf(&p, "%s/namespace", sa_dir) < 0)
		goto out;
	out->token = gw_readfile_small(out->token_file, MAX_FILE_BYTES, NULL);
	if (!out->token) {
		err = -ENOENT;
		gw_diag_add(diags, GW_DIAG_ERROR, NULL, NULL, NULL, "--kube: cannot read %s: %s",
			    out->token_file, strerror(errno));
		goto out;
	}
	out->namespace = gw_readfile_small(p, MAX_FILE_BYTES, NULL);
	if (!out->namespace)
		out->namespace = strdup(getenv("POD_NAMESPACE") ? getenv("POD_NAMESPACE") : "default");
	err = out->namespace ? 0 : -ENOMEM;
out:
	free(p);
	if (err)
		gw_kube_config_clear(out);
	return err;
}

/* ---- resource paths ---- */

/* plural resource name of a kind, as the API server's RESTMapper guesses it */
static int plural(const char *kind, char *buf, size_t size)
{
	size_t n = strlen(kind);

	if (n + 4 > size)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)kind[i]);
	if (n && buf[n - 1] == 's')
		strcat(buf, "es");
	else if (n > 1 && buf[n - 1] == 'y' && !strchr("aeiou", buf[n - 2])) {
		buf[n - 1] = '\0';
		strcat(buf, "ies");
	} else {
		strcat(buf, "s");
	}
	return 0;
}

char *gw_kube_resource_path(const char *group, const char *version, const char *kind,
			    const char *ns, const char *name)
{
	char pl[128], *out = NULL, *prefix;
	int r;

	if (plural(kind, pl, sizeof(pl))) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (group && *group)
		r = asprintf(&out, "/apis/%s/%s", group, version);
	else
		r = asprintf(&out, "/api/%s", version);
	if (r < 0)
		return NULL;
	prefix = out;
	if (ns && *ns)
		r = asprintf(&out, "%s/namespaces/%s/%s", prefix, ns, pl);
	else
		r = asprintf(&out, "%s/%s", prefix, pl);
	free(prefix);
	if (r < 0)
		return NULL;
	if (name) {
		char *full = NULL;

		r = asprintf(&full, "%s/%s", out, name);
		free(out);
		out = r < 0 ? NULL : full;
	}
	return out;
}
