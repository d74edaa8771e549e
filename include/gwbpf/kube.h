/* gwbpf/kube.h - the Kubernetes source: list+watch the API server, write status.
 *
 * Threading: gw_kube_source_new() starts one thread that owns every HTTP
 * transfer (libcurl multi for the long-lived watch streams; short blocking
 * requests for lists, discovery, status patches and the Lease, each with a
 * timeout). It keeps a working store; after a change settles
 * (GW_KUBE_DEBOUNCE_MS) it publishes a clone and signals an eventfd. The
 * main loop polls gw_kube_source_fd(), calls gw_kube_source_handle(), and
 * reads gw_kube_source_store() exactly as it would the file source. When
 * the API server is away, the last published store stays current: gwbpf
 * keeps serving the last good snapshot.
 *
 * Status: the main loop hands every new translation's status to the thread
 * with gw_kube_source_set_status(); the thread writes it only while it holds
 * the Lease (leader election), only for objects gwbpf owns, and only what
 * changed (gw_kube_status_patch()).
 */
#ifndef GWBPF_KUBE_H
#define GWBPF_KUBE_H

#include <stdbool.h>

#include <jansson.h>

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"
#include "gwbpf/node-t.h"
#include "gwbpf/store-t.h"
#include "gwbpf/translate-t.h"

#define GW_KUBE_DEBOUNCE_MS      100
#define GW_KUBE_SA_DIR           "/var/run/secrets/kubernetes.io/serviceaccount"
#define GW_KUBE_LEASE_NAME       "gwbpf-status-writer"
#define GW_KUBE_LEASE_DURATION_S 15
#define GW_KUBE_LEASE_RENEW_S    5
#define GW_KUBE_REDISCOVER_S     30  /* Gateway API CRDs installed later are seen this late */
#define GW_KUBE_BACKOFF_MIN_MS   250
#define GW_KUBE_BACKOFF_MAX_MS   30000

/* how to reach the API server; every string owned (gw_kube_config_clear) */
struct gw_kube_config {
	char *server;    /* "https://10.96.0.1:443" */
	char *token;     /* bearer token or NULL */
	char *token_file; /* re-read on every 401 (bound tokens rotate) or NULL */
	char *ca_file;   /* PEM file or NULL */
	char *ca_data;   /* PEM bytes (decoded certificate-authority-data) or NULL */
	char *cert_file, *cert_data; /* client certificate, PEM */
	char *key_file, *key_data;   /* client key, PEM */
	bool insecure;   /* insecure-skip-tls-verify */
	char *namespace; /* the pod's namespace (the Lease lives there); "default" if unknown */
};

/* gw_kubeconfig_load() : reads the current-context of a kubeconfig file into
 * *out (zeroed first). Relative file paths are resolved against the
 * kubeconfig's folder; *-data fields are base64-decoded. Returns 0, or
 * -EINVAL/-ENOENT with a diagnostic naming what is missing. */
int gw_kubeconfig_load(const char *path, struct gw_kube_config *out, struct gw_diag_list *diags);
/* gw_kube_incluster() : service account token, ca.crt and namespace under
 * sa_dir (NULL = GW_KUBE_SA_DIR), server from KUBERNETES_SERVICE_HOST/PORT.
 * 0, -ENOENT (not in a pod) or -ENOMEM. */
int gw_kube_incluster(const char *sa_dir, struct gw_kube_config *out, struct gw_diag_list *diags);
void gw_kube_config_clear(struct gw_kube_config *c); /* frees members; accepts NULL */

/* gw_json_to_node() : converts a jansson value into a new gw_node tree
 * (marks have no file/line; integers become INT scalars, reals FLOAT,
 * booleans BOOL, strings STRING, null NULL). Returns NULL (errno) on ENOMEM
 * or when depth exceeds GW_NODE_MAX_DEPTH (E2BIG). Borrows j. */
struct gw_node *gw_json_to_node(const json_t *j);

/* gw_kube_status_patch() : the merge-patch body that brings cur (the
 * object as the API server holds it: apiVersion, kind, metadata, status)
 * to the status gwbpf computed (want, a status object). For routes only
 * the parents entries whose controllerName is controller are gwbpf's: the
 * others are kept as they are. Conditions keep their lastTransitionTime
 * when their status did not change; comparisons ignore lastTransitionTime.
 * Returns a new reference to {"metadata":{"resourceVersion":..},"status":..}
 * or NULL when nothing changed (or on ENOMEM, errno set). Borrows both. */
json_t *gw_kube_status_patch(const json_t *cur, const json_t *want, const char *controller);

/* gw_kube_resource_path() : "/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>"
 * for an object reference (core group: "/api/v1/..."); name may be NULL
 * (collection), ns "" for cluster-scoped. Returns a new string or NULL. */
char *gw_kube_resource_path(const char *group, const char *version, const char *kind,
			    const char *ns, const char *name);

struct gw_kube_source_opts {
	const struct gw_kube_config *cfg; /* copied */
	const char *identity;       /* Lease holderIdentity; NULL = $NODE_NAME, else hostname */
	const char *lease_ns;       /* NULL = cfg->namespace */
	const char *controller;     /* NULL = GW_CONTROLLER_NAME */
	int lease_duration_s;       /* 0 = GW_KUBE_LEASE_DURATION_S */
	int renew_s;                /* 0 = GW_KUBE_LEASE_RENEW_S */
	int rediscover_s;           /* 0 = GW_KUBE_REDISCOVER_S */
	bool no_status;             /* never write status nor take the Lease */
};

struct gw_kube_source;

/* gw_kube_source_new() : starts the thread; returns at once (the first
 * store arrives through the fd). NULL + errno on failure. */
struct gw_kube_source *gw_kube_source_new(const struct gw_kube_source_opts *opts);
/* gw_kube_source_free() : stops the thread (bounded by the request
 * timeouts), releases the Lease if held; accepts NULL */
void gw_kube_source_free(struct gw_kube_source *s);
/* gw_kube_source_fd() : eventfd, readable when a new store was published */
int gw_kube_source_fd(const struct gw_kube_source *s);
/* gw_kube_source_handle() : drains the fd and adopts the newest published
 * store; *changed is set when it differs from the previous one. 0. */
int gw_kube_source_handle(struct gw_kube_source *s, bool *changed);
/* gw_kube_source_store() : current store (borrowed until the next handle();
 * clone to keep). Empty until the first complete list of every kind. */
const struct gw_store *gw_kube_source_store(const struct gw_kube_source *s);
/* gw_kube_source_synced() : true once every kind was listed at least once */
bool gw_kube_source_synced(const struct gw_kube_source *s);
/* gw_kube_source_set_status() : hands the statuses of t to the writer
 * thread (copied: t may be freed right after). 0 or -ENOMEM. */
int gw_kube_source_set_status(struct gw_kube_source *s, const struct gw_translation *t);
/* gw_kube_source_is_leader() : true while this instance holds the Lease */
bool gw_kube_source_is_leader(const struct gw_kube_source *s);

#endif
