/* gwbpf/model-t.h - the typed Gateway API model decoded from document trees.
 *
 * The store holds schema-validated gw_node trees; the translator decodes the
 * parts it needs into these structs once per translation. Every version the
 * v1.6.1 CRDs serve (v1, v1beta1, v1alpha2, v1alpha3) has the same field
 * names for what is decoded here, so decoding ignores the version.
 *
 * Ownership: every struct and array is allocated from the model's arena;
 * strings are borrowed from the objects' trees (the model holds a reference
 * to each object through the store it was decoded from), except decoded
 * Secret data which is arena memory too. Absent optional strings are NULL.
 */
#ifndef GWBPF_MODEL_T_H
#define GWBPF_MODEL_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwbpf/diag-t.h"
#include "gwbpf/node-t.h"
#include "gwbpf/store-t.h"

#define GW_GROUP_GATEWAY "gateway.networking.k8s.io"

enum gw_m_kind {
	GW_K_UNKNOWN = 0,
	GW_K_GATEWAYCLASS,
	GW_K_GATEWAY,
	GW_K_LISTENERSET,
	GW_K_HTTPROUTE,
	GW_K_GRPCROUTE,
	GW_K_TLSROUTE,
	GW_K_TCPROUTE,
	GW_K_UDPROUTE,
	GW_K_REFERENCEGRANT,
	GW_K_BACKENDTLSPOLICY,
	GW_K_SERVICE,
	GW_K_ENDPOINTSLICE,
	GW_K_SECRET,
	GW_K_CONFIGMAP,
	GW_K_NAMESPACE,
	GW_K_INGRESS,
};

struct gw_m_kv {
	const char *key;
	const char *value;
};

enum gw_m_sel_op {
	GW_SEL_IN = 0,
	GW_SEL_NOT_IN,
	GW_SEL_EXISTS,
	GW_SEL_DOES_NOT_EXIST,
};

struct gw_m_sel_expr {
	const char *key;
	enum gw_m_sel_op op;
	const char **values;
	size_t n_values;
};

/* metav1.LabelSelector; an empty selector selects everything */
struct gw_m_selector {
	struct gw_m_kv *labels; /* matchLabels */
	size_t n_labels;
	struct gw_m_sel_expr *exprs; /* matchExpressions */
	size_t n_exprs;
	bool invalid; /* an operator we do not know: selects nothing */
};

enum gw_m_from {
	GW_FROM_SAME = 0,
	GW_FROM_ALL,
	GW_FROM_SELECTOR,
	GW_FROM_NONE,
};

struct gw_m_group_kind {
	const char *group; /* "" = core; defaults filled in */
	const char *kind;
};

/* a reference to another object (certificateRefs, parametersRef, ...) */
struct gw_m_obj_ref {
	const char *group; /* defaults filled in */
	const char *kind;
	const char *ns; /* NULL = the referrer's namespace */
	const char *name;
};

struct gw_m_listener {
	const char *name;
	const char *hostname; /* NULL = any */
	const char *protocol; /* as written: "HTTP", "HTTPS", "TLS", "TCP", "UDP", ... */
	int32_t port;
	const char *tls_mode; /* "Terminate" (default when tls is set), "Passthrough", NULL */
	struct gw_m_obj_ref *cert_refs;
	size_t n_cert_refs;
	enum gw_m_from from; /* allowedRoutes.namespaces.from (default Same) */
	struct gw_m_selector selector;
	struct gw_m_group_kind *kinds; /* allowedRoutes.kinds as written */
	size_t n_kinds;
	bool kinds_set;
	size_t index; /* position in its object's spec.listeners */
};

struct gw_m_address {
	const char *type; /* default "IPAddress" */
	const char *value; /* NULL or "" = let the implementation choose */
};

struct gw_m_gatewayclass {
	struct gw_object *obj;
	const char *controller;
	bool has_params;
	struct gw_m_obj_ref params;
};

struct gw_m_gateway {
	struct gw_object *obj;
	const char *class_name;
	struct gw_m_listener *listeners;
	size_t n_listeners;
	struct gw_m_address *addresses;
	size_t n_addresses;
	enum gw_m_from allowed_listeners; /* default None */
	struct gw_m_selector listeners_selector;
	bool has_infra_params;
	struct gw_m_obj_ref infra_params; /* spec.infrastructure.parametersRef */
};

struct gw_m_listener_set {
	struct gw_object *obj;
	struct gw_m_obj_ref parent; /* spec.parentRef */
	struct gw_m_listener *listeners;
	size_t n_listeners;
};

struct gw_m_parent_ref {
	const char *group; /* default gateway.networking.k8s.io */
	const char *kind;  /* default Gateway */
	const char *ns;    /* default: the route's namespace */
	const char *name;
	const char *section; /* NULL = any */
	int32_t port;        /* 0 = any */
	bool group_set, kind_set, ns_set;
};

enum gw_m_path_type {
	GW_M_PATH_PREFIX = 0,
	GW_M_PATH_EXACT,
	GW_M_PATH_REGEX,
};

struct gw_m_str_match {
	bool regex; /* RegularExpression, else Exact */
	const char *name;
	const char *value;
};

struct gw_m_match {
	enum gw_m_path_type path_type;
	const char *path; /* "/" when omitted */
	const char *method;
	struct gw_m_str_match *headers;
	size_t n_headers;
	struct gw_m_str_match *queries;
	size_t n_queries;
};

struct gw_m_header_mod {
	struct gw_m_kv *set;
	size_t n_set;
	struct gw_m_kv *add;
	size_t n_add;
	const char **remove;
	size_t n_remove;
};

struct gw_m_path_mod {
	const char *type; /* "ReplaceFullPath", "ReplacePrefixMatch" or NULL */
	const char *value;
};

struct gw_m_backend_ref;

enum gw_m_filter_type {
	GW_MF_UNSUPPORTED = 0, /* ExtensionRef, ExternalAuth, unknown: rule answers 500 */
	GW_MF_REQUEST_HEADER,
	GW_MF_RESPONSE_HEADER,
	GW_MF_REDIRECT,
	GW_MF_REWRITE,
	GW_MF_MIRROR,
	GW_MF_CORS,
};

struct gw_m_filter {
	enum gw_m_filter_type type;
	const char *type_name; /* as written */
	struct gw_m_header_mod hdr;
	/* RequestRedirect / URLRewrite */
	const char *scheme;
	const char *hostname;
	int32_t port;
	int32_t status_code;
	struct gw_m_path_mod path;
	/* RequestMirror */
	struct gw_m_backend_ref *mirror;
	uint32_t num, den;
	/* CORS */
	const char **allow_origins;
	size_t n_allow_origins;
	bool allow_credentials;
	const char **allow_methods;
	size_t n_allow_methods;
	const char **allow_headers;
	size_t n_allow_headers;
	const char **expose_headers;
	size_t n_expose_headers;
	int32_t max_age; /* -1 = unset */
};

struct gw_m_backend_ref {
	const char *group; /* "" = core */
	const char *kind;  /* default Service */
	const char *ns;    /* default: the route's namespace */
	const char *name;
	int32_t port; /* 0 = unset */
	const char *port_name; /* Ingress service.port.name */
	uint32_t weight; /* default 1 */
	struct gw_m_filter *filters;
	size_t n_filters;
};

struct gw_m_rule {
	const char *name;
	struct gw_m_match *matches; /* an omitted list means one "/" prefix match */
	size_t n_matches;
	struct gw_m_filter *filters;
	size_t n_filters;
	struct gw_m_backend_ref *backends;
	size_t n_backends;
	bool backends_set;
	const char *timeout_request; /* Gateway API duration strings */
	const char *timeout_backend;
	bool has_retry;
	int32_t *retry_codes;
	size_t n_retry_codes;
	int32_t retry_attempts;
	const char *retry_backoff;
};

/* HTTPRoute, GRPCRoute (methods turned into paths), TLS/TCP/UDPRoute (rules
 * with only backends), and Ingress (decoded as the equivalent HTTPRoute) */
struct gw_m_route {
	struct gw_object *obj;
	enum gw_m_kind kind;
	struct gw_m_parent_ref *parents;
	size_t n_parents;
	const char **hostnames;
	size_t n_hostnames;
	struct gw_m_rule *rules;
	size_t n_rules;
	/* Ingress only */
	struct gw_m_kv *ingress_tls; /* key=host ("" = any), value=secretName */
	size_t n_ingress_tls;
};

struct gw_m_grant_from {
	const char *group;
	const char *kind;
	const char *ns;
};

struct gw_m_grant_to {
	const char *group;
	const char *kind;
	const char *name; /* NULL = every object of that kind */
};

struct gw_m_reference_grant {
	struct gw_object *obj;
	struct gw_m_grant_from *from;
	size_t n_from;
	struct gw_m_grant_to *to;
	size_t n_to;
};

struct gw_m_service_port {
	const char *name; /* "" when unnamed */
	int32_t port;
	int32_t target_port; /* 0 = same as port, or named */
	const char *target_port_name;
	const char *app_protocol;
	const char *protocol; /* TCP (default), UDP, SCTP */
};

struct gw_m_service {
	struct gw_object *obj;
	const char *type;
	struct gw_m_service_port *ports;
	size_t n_ports;
};

struct gw_m_eps_port {
	const char *name; /* "" when unnamed */
	int32_t port;
};

struct gw_m_endpoint {
	const char **addresses;
	size_t n_addresses;
	bool ready;
};

struct gw_m_endpoint_slice {
	struct gw_object *obj;
	const char *service; /* label kubernetes.io/service-name */
	struct gw_m_eps_port *ports;
	size_t n_ports;
	struct gw_m_endpoint *endpoints;
	size_t n_endpoints;
};

struct gw_m_secret {
	struct gw_object *obj;
	const char *type;
	char *cert_pem; /* decoded tls.crt (data base64 or stringData), NULL if absent/bad */
	char *key_pem;
};

struct gw_m_namespace {
	struct gw_object *obj;
	struct gw_node *labels; /* metadata.labels or NULL */
};

struct gw_arena;

/* every decoded object of a store, each array sorted as the store lists
 * (kind, namespace, name) */
struct gw_model {
	struct gw_arena *arena;
	struct gw_m_gatewayclass *classes;
	size_t n_classes;
	struct gw_m_gateway *gateways;
	size_t n_gateways;
	struct gw_m_listener_set *listener_sets;
	size_t n_listener_sets;
	struct gw_m_route *routes; /* every route kind, Ingress included */
	size_t n_routes;
	struct gw_m_reference_grant *grants;
	size_t n_grants;
	struct gw_m_service *services;
	size_t n_services;
	struct gw_m_endpoint_slice *slices;
	size_t n_slices;
	struct gw_m_secret *secrets;
	size_t n_secrets;
	struct gw_m_namespace *namespaces;
	size_t n_namespaces;
	struct gw_object **configmaps;
	size_t n_configmaps;
};

#endif
