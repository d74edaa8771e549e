/* gwbpf/ir-t.h - the dataplane IR (snapshot) the translator produces.
 *
 * Shape: binds (address:port sockets) -> listeners (Gateway listeners on that
 * socket, most specific hostname first) -> vhosts (route hostnames, exact
 * first, then wildcards longest first, then catch-all) -> matches (already in
 * Gateway API precedence order; the first that matches wins) -> actions
 * (a route rule: filters, weighted backends, timeouts) -> clusters
 * (Service ports) -> endpoints.
 *
 * A snapshot is immutable once published, reference counted, and everything
 * in it is allocated from its own arena: one gw_ir_put() frees it all.
 * Indices (cluster, action) are used instead of pointers so the BPF map
 * programmer can copy them into maps as they are.
 */
#ifndef GWBPF_IR_T_H
#define GWBPF_IR_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gw_proto {
	GW_PROTO_HTTP = 0,
	GW_PROTO_HTTPS,
	GW_PROTO_TLS, /* passthrough (TLSRoute) or terminate-to-TCP */
	GW_PROTO_TCP,
	GW_PROTO_UDP,
};

enum gw_match_type {
	GW_MATCH_EXACT = 0,
	GW_MATCH_PREFIX, /* paths: by path element, as the spec defines */
	GW_MATCH_REGEX,  /* PCRE2, compiled by gw_ir_compile() */
};

struct gw_ir_str_match {
	enum gw_match_type type; /* EXACT or REGEX */
	char *name;              /* header name (lowercased) or query param name (as is) */
	char *value;
	void *re;                /* pcre2_code *, set by gw_ir_compile() */
};

struct gw_ir_header_op {
	char *name; /* as written in the route (case kept for output) */
	char *value;
};

struct gw_ir_header_mod {
	struct gw_ir_header_op *set;
	size_t n_set;
	struct gw_ir_header_op *add;
	size_t n_add;
	char **remove;
	size_t n_remove;
};

enum gw_path_mod_type {
	GW_PATH_MOD_NONE = 0,
	GW_PATH_MOD_FULL,   /* ReplaceFullPath */
	GW_PATH_MOD_PREFIX, /* ReplacePrefixMatch: replaces the matched prefix */
};

struct gw_ir_redirect {
	char *scheme;   /* NULL = keep */
	char *hostname; /* NULL = keep */
	int32_t port;   /* 0 = not set (derive as the spec says) */
	enum gw_path_mod_type path_type;
	char *path;
	uint16_t status; /* 301, 302, 303, 307 or 308; default 302 */
};

struct gw_ir_rewrite {
	char *hostname; /* NULL = keep */
	enum gw_path_mod_type path_type;
	char *path;
};

struct gw_ir_mirror {
	int32_t cluster;   /* index into gw_ir.clusters; -1 = unresolved (skip) */
	uint32_t num, den; /* mirror num/den of requests (1/1 when unset) */
};

struct gw_ir_cors {
	char **allow_origins; /* may contain "*" and wildcard-host origins */
	size_t n_allow_origins;
	bool allow_credentials;
	char **allow_methods;
	size_t n_allow_methods;
	char **allow_headers;
	size_t n_allow_headers;
	char **expose_headers;
	size_t n_expose_headers;
	int32_t max_age; /* seconds; -1 = not set (spec default 5) */
};

enum gw_filter_type {
	GW_FILTER_REQUEST_HEADER = 0,
	GW_FILTER_RESPONSE_HEADER,
	GW_FILTER_REDIRECT,
	GW_FILTER_REWRITE,
	GW_FILTER_MIRROR,
	GW_FILTER_CORS,
};

struct gw_ir_filter {
	enum gw_filter_type type;
	union {
		struct gw_ir_header_mod hdr; /* REQUEST_HEADER, RESPONSE_HEADER */
		struct gw_ir_redirect redirect;
		struct gw_ir_rewrite rewrite;
		struct gw_ir_mirror mirror;
		struct gw_ir_cors cors;
	};
};

struct gw_ir_backend {
	int32_t cluster; /* index into gw_ir.clusters; -1 = invalid reference: answer 500 */
	uint32_t weight; /* 0 = never chosen */
	struct gw_ir_filter *filters; /* filters set on this backendRef */
	size_t n_filters;
};

struct gw_ir_retry {
	uint16_t *codes; /* HTTP statuses that are retried */
	size_t n_codes;
	uint32_t attempts;   /* retries after the first try; 0 = no retry */
	uint32_t backoff_ms; /* 0 = none */
};

/* a route rule, as the action a match leads to */
struct gw_ir_action {
	char *route;      /* "ns/name" of the HTTPRoute (or Ingress) */
	char *rule_name;  /* spec.rules[].name or NULL */
	uint32_t rule_index;
	struct gw_ir_filter *filters;
	size_t n_filters;
	struct gw_ir_backend *backends;
	size_t n_backends;
	uint64_t total_weight; /* sum of backend weights */
	uint32_t request_timeout_ms; /* 0 = none */
	uint32_t backend_timeout_ms; /* 0 = none */
	struct gw_ir_retry retry;
	uint16_t direct_status; /* non-zero: answer this status without forwarding
				   (e.g. 500 for a rule with an invalid filter) */
	bool kernel_ok;         /* the kernel path may decide this alone */
};

struct gw_ir_match {
	enum gw_match_type path_type; /* EXACT, PREFIX or REGEX */
	char *path;                   /* never NULL ("/" when the route omits it) */
	void *path_re;                /* pcre2_code * for REGEX, set by gw_ir_compile() */
	char *method;                 /* NULL = any */
	struct gw_ir_str_match *headers;
	size_t n_headers;
	struct gw_ir_str_match *queries;
	size_t n_queries;
	uint32_t action; /* index into the vhost's actions */
};

struct gw_ir_vhost {
	char *hostname; /* "foo.example.com", "*.example.com", or NULL = any host */
	struct gw_ir_match *matches; /* in precedence order */
	size_t n_matches;
	struct gw_ir_action *actions;
	size_t n_actions;
};

struct gw_ir_cert {
	char *hostnames;  /* unused by routing; informative */
	char *cert_pem;
	char *key_pem;
};

/* frontend client-certificate validation (Gateway spec.tls.frontend) */
enum gw_client_verify {
	GW_CLIENT_VERIFY_NONE = 0, /* no client certificate asked for */
	GW_CLIENT_VERIFY_REQUIRE,  /* AllowValidOnly: handshake fails without a valid one */
	GW_CLIENT_VERIFY_OPTIONAL, /* AllowInsecureFallback: asked for, never required */
};

struct gw_ir_listener {
	char *gateway;  /* "ns/name" */
	char *name;     /* listener (section) name */
	char *hostname; /* NULL = any */
	enum gw_proto proto;
	struct gw_ir_vhost *vhosts; /* exact hostnames, wildcards longest first, then NULL */
	size_t n_vhosts;
	struct gw_ir_cert *certs;   /* HTTPS: certificates for termination */
	size_t n_certs;
	bool tls_terminate;         /* TLS listener in mode Terminate (else passthrough) */
	enum gw_client_verify client_verify;
	char *client_ca_pem; /* CA bundle client certificates are checked against (PEM) */
};

struct gw_ir_bind {
	char *address; /* "10.0.0.1", "::", "0.0.0.0" */
	uint16_t port;
	enum gw_proto proto;
	struct gw_ir_listener *listeners; /* exact hostname, wildcard longest first, then NULL */
	size_t n_listeners;
};

enum gw_app_proto {
	GW_APP_HTTP1 = 0,
	GW_APP_H2C,
	GW_APP_WS,
};

struct gw_ir_endpoint {
	char *address; /* numeric IPv4/IPv6 */
	uint16_t port;
	bool ready;
};

/* TLS to the backend (BackendTLSPolicy, Gateway spec.tls.backend) */
struct gw_ir_upstream_tls {
	char *policy;    /* "ns/name" of the BackendTLSPolicy */
	bool invalid;    /* no valid CA: every request answers 502, nothing is sent */
	char *sni;       /* validation.hostname: SNI, and the name checked when no SANs */
	char *ca_pem;    /* trusted CAs (PEM); NULL with system_ca */
	bool system_ca;  /* wellKnownCACertificates: System */
	char **san_dns;  /* subjectAltNames type Hostname: any one must match */
	size_t n_san_dns;
	char **san_uri;  /* subjectAltNames type URI */
	size_t n_san_uri;
	char *cert_pem;  /* client certificate presented (Gateway spec.tls.backend), or NULL */
	char *key_pem;
};

struct gw_ir_cluster {
	char *name; /* "ns/service:port" */
	enum gw_app_proto app_proto;
	struct gw_ir_upstream_tls *tls; /* NULL = plaintext */
	struct gw_ir_endpoint *endpoints;
	size_t n_endpoints;
	size_t n_ready;
};

struct gw_arena;

struct gw_ir {
	int refcnt;          /* atomic */
	uint64_t generation; /* set by the publisher, increases with every snapshot */
	struct gw_ir_bind *binds;
	size_t n_binds;
	struct gw_ir_cluster *clusters;
	size_t n_clusters;
	struct gw_arena *arena; /* owns every pointer above */
};

#endif
