/* gwbpf/validate-t.h - CRD schema tables (generated into build/gen/schema.c).
 *
 * tools/gen-schema.py turns every served version's openAPIV3Schema of the
 * CRDs in deploy/crds/experimental into these tables, so objects are checked
 * against exactly what the API server would enforce. x-kubernetes-validations
 * (CEL) rules become gw_rule entries: an id of a hand-written C check plus
 * the CRD's own message.
 */
#ifndef GWBPF_VALIDATE_T_H
#define GWBPF_VALIDATE_T_H

#include <stdint.h>

enum gw_schema_type {
	GW_ST_ANY = 0,
	GW_ST_OBJECT,
	GW_ST_ARRAY,
	GW_ST_STRING,
	GW_ST_INTEGER,
	GW_ST_NUMBER,
	GW_ST_BOOLEAN,
};

enum gw_schema_flags {
	GW_SF_HAS_MIN     = 1u << 0,
	GW_SF_HAS_MAX     = 1u << 1,
	GW_SF_LIST_MAP    = 1u << 2, /* x-kubernetes-list-type: map */
	GW_SF_LIST_SET    = 1u << 3, /* x-kubernetes-list-type: set */
	GW_SF_EXPERIMENTAL = 1u << 4, /* field absent from the standard channel CRD */
	GW_SF_FMT_INT32   = 1u << 5,
	GW_SF_FMT_DATETIME = 1u << 6,
	GW_SF_IP_ONEOF    = 1u << 7, /* Gateway address: value must be an IP when type is IPAddress */
};

/* hand-written checks for x-kubernetes-validations rules (validate_rules.c) */
enum gw_rule_id {
	GW_RULE_UNCHECKED = 0,   /* listed in docs/config-loading.md */
	GW_RULE_FIELD_IF_VALUE,  /* a == b  =>  c present (non-empty) */
	GW_RULE_FIELD_ONLY_VALUE,/* c present (non-empty)  =>  a == b */
	GW_RULE_AT_MOST_ONE_TYPE,/* list: items with .type == a at most once */
	GW_RULE_NOT_BOTH_TYPES,  /* list: not both .type == a and .type == b */
	GW_RULE_NOT_BOTH_FIELDS, /* not both a and b present */
	GW_RULE_STAR_ALONE,      /* set: '*' only as the sole item */
	GW_RULE_PATH_VALUE,      /* HTTPPathMatch: a = op (starts/contains/ends/matches/type), b = arg */
	GW_RULE_SECTION_SAME_TARGET,
	GW_RULE_SECTION_UNIQUE_TARGET,
	GW_RULE_CA_NOT_BOTH,
	GW_RULE_CA_EITHER,
	GW_RULE_ADDR_UNIQUE,     /* a = address type */
	GW_RULE_MATCH_IF_VALUE,  /* a == b  =>  c matches pattern d (absent c ok when e set) */
	GW_RULE_KEYS_MATCH,      /* map keys match pattern a */
	GW_RULE_KEYS_PREFIX_LEN, /* map key prefix before '/' shorter than 253 */
	GW_RULE_LISTENER_TLS_FORBIDDEN,
	GW_RULE_LISTENER_HTTPS_MODE,
	GW_RULE_LISTENER_TLS_MODE_SET,
	GW_RULE_LISTENER_HOSTNAME_FORBIDDEN,
	GW_RULE_UNIQUE_FIELD,    /* list: field a unique (items without it ignored) */
	GW_RULE_LISTENER_PORT_PROTO_HOST,
	GW_RULE_TLS_TERMINATE_CERTS,
	GW_RULE_PARENT_SECTION_SAME,
	GW_RULE_PARENT_SECTION_UNIQUE,
	GW_RULE_MATCH_TOTAL,     /* a = "1" when rules without matches count one (defaulted) */
	GW_RULE_SERVICE_PORT,
	GW_RULE_FRACTION,
	GW_RULE_GRPC_METHOD_ONE,
	GW_RULE_GRPC_METHOD_MATCH,/* a = field, b = pattern */
	GW_RULE_SESSION_ABS_TIMEOUT,
	GW_RULE_SESSION_COOKIE_TYPE,
	GW_RULE_REDIRECT_NO_BACKENDS,
	GW_RULE_REPLACE_PREFIX_MATCH, /* a = filter field, b = "backendRefs" when inside them */
	GW_RULE_TIMEOUTS,
	GW_RULE_HOSTNAMES_NOT_IP,
	GW_RULE_HOSTNAMES_RFC1123,
	GW_RULE_HOSTNAMES_WILDCARD,
	/* core kinds (rules written in tools/gen-schema.py as "gwbpf:ID args") */
	GW_RULE_NAMES_IF_MANY,   /* list: field a required on every item when more than one */
	GW_RULE_PORT_OR_NAME,    /* int 1..65535 or IANA service name */
	GW_RULE_BASE64_VALUES,   /* map values are base64 */
	GW_RULE_ENDPOINT_ADDRS,  /* EndpointSlice addresses match addressType */
	GW_RULE_EXACTLY_ONE,     /* exactly one of a, b */
	GW_RULE_INGRESS_PATH,    /* path starts with "/" unless ImplementationSpecific */
	GW_RULE__COUNT,
};

struct gw_rule {
	uint16_t id;             /* enum gw_rule_id */
	int16_t re;              /* pattern slot for rules that match, -1 otherwise */
	const char *a, *b, *c, *e;
	const char *msg;         /* the CRD's message */
};

struct gw_schema;

struct gw_schema_prop {
	const char *name;
	const struct gw_schema *schema;
};

struct gw_schema {
	uint8_t type;            /* enum gw_schema_type */
	uint8_t flags;           /* enum gw_schema_flags */
	int16_t re;              /* slot in gw_schema_patterns, -1 none */
	uint16_t n_props, n_required, n_enum, n_rules, n_map_keys;
	int32_t min_len, max_len;     /* -1 when absent */
	int32_t min_items, max_items; /* -1 when absent */
	int32_t max_props;            /* -1 when absent */
	int64_t minimum, maximum;     /* valid with GW_SF_HAS_MIN/MAX */
	const char *dflt;        /* scalar default, or NULL */
	const struct gw_schema_prop *props; /* sorted by name */
	const char *const *required;
	const char *const *enums;
	const char *const *map_keys;        /* x-kubernetes-list-map-keys */
	const struct gw_schema *items;
	const struct gw_schema *additional; /* additionalProperties schema */
	const struct gw_rule *rules;
};

struct gw_schema_root {
	const char *group;
	const char *version;
	const char *kind;
	const struct gw_schema *schema;
};

/* generated tables */
extern const struct gw_schema_root gw_schema_roots[];
extern const unsigned int gw_schema_n_roots;
extern const char *const gw_schema_patterns[];
extern const unsigned int gw_schema_n_patterns;

#endif
