/* translate/translate-int.h - state shared by the translator's files.
 *
 * translate.c decides (acceptance, attachment, references), ir_build.c
 * turns the decisions into the IR, status.c writes them as Gateway API
 * status. All of it lives for one gw_translate() call.
 */
#ifndef GWBPF_TRANSLATE_INT_H
#define GWBPF_TRANSLATE_INT_H

#include <jansson.h>

#include "gwbpf/ir-t.h"
#include "gwbpf/model-t.h"
#include "gwbpf/translate-t.h"

#define TX_MSG 256

struct tx_gateway;
struct tx_route;

/* one route attached to one listener, with the hostnames it serves there */
struct tx_attach {
	struct tx_route *route;
	const char **hosts; /* effective hostnames (intersections); NULL entry = any */
	size_t n_hosts;
};

struct tx_listener {
	struct gw_m_listener *l;
	struct tx_gateway *gw;
	struct tx_lset *lset; /* NULL: from the Gateway's own spec */
	enum gw_proto proto;
	bool proto_ok;
	bool accepted; /* Accepted=True */
	const char *accept_reason;
	char accept_msg[TX_MSG];
	bool conflicted;
	bool lost; /* conflicted by a listener of another object with higher precedence */
	const char *conflict_reason;
	bool refs_ok;
	const char *refs_reason;
	char refs_msg[TX_MSG];
	bool programmed;
	struct gw_m_group_kind kinds[4]; /* supportedKinds */
	size_t n_kinds;
	uint32_t attached;
	const struct tx_route *last_counted; /* attachedRoutes counts a route once */
	struct gw_ir_cert *certs; /* IR arena */
	size_t n_certs;
	enum gw_client_verify client_verify; /* Gateway spec.tls.frontend (policy_tls.c) */
	char *client_ca_pem;                 /* IR arena */
	struct tx_attach *att;
	size_t n_att, cap_att;
};

struct tx_lset {
	struct gw_m_listener_set *s;
	struct tx_gateway *gw; /* NULL when the parent is not ours */
	bool accepted;
	const char *reason;
	char msg[TX_MSG];
	struct tx_listener *ls;
	size_t n_ls;
};

struct tx_gateway {
	struct gw_m_gateway *g;
	bool accepted;
	const char *accept_reason;
	char accept_msg[TX_MSG];
	const char *address; /* bound address (IR arena or opts), NULL = none */
	bool programmed;
	const char *prog_reason;
	char prog_msg[TX_MSG];
	struct tx_listener *ls;
	size_t n_ls;
	uint32_t attached_lsets;
	/* spec.tls.backend.clientCertificateRef (policy_tls.c) */
	bool has_backend_cert;
	bool backend_refs_ok;
	const char *backend_refs_reason;
	char backend_refs_msg[TX_MSG];
	const char *backend_cert_pem; /* borrowed from the model; NULL when invalid */
	const char *backend_key_pem;
	bool insecure_frontend; /* an HTTPS listener uses AllowInsecureFallback */
};

struct tx_parent {
	bool ours;     /* a status entry is written for it */
	bool accepted;
	const char *reason;
	char msg[TX_MSG];
};

struct tx_rule {
	uint16_t direct_status; /* 500 for an invalid rule */
	bool invalid;           /* unsupported filter or bad regex: PartiallyInvalid */
	struct gw_ir_action *tmpl; /* built once, copied per vhost */
};

struct tx_route {
	struct gw_m_route *r;
	struct tx_parent *parents;
	bool any_accepted;
	bool refs_ok;
	const char *refs_reason;
	char refs_msg[TX_MSG];
	struct tx_rule *rules;
	size_t n_invalid;
	char invalid_msg[TX_MSG];
	char key[320]; /* "ns/name" */
};

struct tx_cluster {
	char *name; /* malloc'd */
	struct gw_m_service *svc;
	struct gw_m_service_port *port;
	bool grpc; /* a GRPCRoute sends to it: HTTP/2 cleartext whatever appProtocol says */
	struct gw_ir_upstream_tls *tls; /* BackendTLSPolicy applied (IR arena), NULL = none */
};

struct tx_btls; /* one BackendTLSPolicy (policy_tls.c) */

struct tx_ctx {
	const struct gw_translate_opts *opts;
	const char *controller;
	char now[32];
	struct gw_model *m;
	struct gw_ir *ir;
	struct gw_translation *t;
	bool oom;

	struct tx_gateway *gws;
	size_t n_gws;
	struct tx_lset *lsets;
	size_t n_lsets;
	struct tx_route *routes;
	size_t n_routes;
	bool *class_ok; /* per m->classes[] */
	bool *class_ours;

	struct tx_cluster *clusters;
	size_t n_clusters, cap_clusters;
	size_t *cl_hash; /* open addressing: index+1, 0 = empty */
	size_t cl_hash_size;
	/* EndpointSlices with a service label, sorted by (namespace, service),
	 * built on first use so endpoint lookup is a binary search, not a scan */
	const struct gw_m_endpoint_slice **slice_idx;
	size_t n_slice_idx;
	bool slice_idx_built;

	struct gw_object **objs; /* every object of the store (borrowed) */
	size_t n_objs;
	struct tx_btls *btls; /* BackendTLSPolicies, oldest first */
	size_t n_btls;

	struct tx_listener *ingress_ls; /* implicit listeners for Ingress (port 80, 443) */
	size_t n_ingress_ls;
	struct tx_gateway ingress_gw;
};

/* ir_build.c */
int tx_build_ir(struct tx_ctx *c);
int tx_cluster_index(struct tx_ctx *c, struct gw_m_service *svc, struct gw_m_service_port *p);
bool tx_host_covers(const char *e, const char *h);
/* tx_slice_index() : sorts the EndpointSlices by (namespace, service) into
 * c->slice_idx once per translation. 0 or -ENOMEM */
int tx_slice_index(struct tx_ctx *c);
/* tx_slice_lower_bound() : first slice_idx entry of (ns, svc) */
size_t tx_slice_lower_bound(const struct tx_ctx *c, const char *ns, const char *svc);

/* endpoint_guard.c */
/* tx_endpoint_refused() : why addr may not be a backend endpoint
 * ("loopback", "link-local", "unspecified", "the gateway's admin address"),
 * or NULL; always NULL unless o->refuse_local_endpoints */
const char *tx_endpoint_refused(const struct gw_translate_opts *o, const char *addr);
/* tx_service_refused() : the first refused endpoint address of svc (borrowed
 * from the model, *why set), or NULL when there is none */
const char *tx_service_refused(struct tx_ctx *c, const struct gw_m_service *svc, const char **why);

/* policy_tls.c */
/* tx_listener_frontend() : Gateway spec.tls.frontend for an HTTPS listener:
 * resolves the CA refs into tl->client_ca_pem, sets ResolvedRefs/Accepted */
void tx_listener_frontend(struct tx_ctx *c, struct tx_listener *tl);
/* tx_gateway_backend() : Gateway spec.tls.backend.clientCertificateRef */
void tx_gateway_backend(struct tx_ctx *c, struct tx_gateway *gw);
/* tx_backend_tls() : BackendTLSPolicies: validation, conflicts, ancestors,
 * and the TLS settings of every cluster they target (after routes) */
int tx_backend_tls(struct tx_ctx *c);
/* tx_btls_status() : status of policy object o (new reference) or NULL when
 * it is not ours or has no ancestor; *ok false when a condition is False */
json_t *tx_btls_status(const struct tx_ctx *c, const struct gw_object *o, bool *ok);
void tx_btls_free(struct tx_ctx *c);

/* status.c */
int tx_write_status(struct tx_ctx *c, struct gw_object **objs, size_t n);
/* tx_cond() : one status condition of object o (new reference, NULL on OOM);
 * msg NULL means "", lastTransitionTime is the translation's c->now */
json_t *tx_cond(const struct tx_ctx *c, const struct gw_object *o, const char *type, bool ok,
		const char *reason, const char *msg);

static inline bool tx_is_wild(const char *h)
{
	return h && h[0] == '*';
}

#endif
