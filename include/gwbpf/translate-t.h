/* gwbpf/translate-t.h - translator inputs and outputs. */
#ifndef GWBPF_TRANSLATE_T_H
#define GWBPF_TRANSLATE_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwbpf/diag-t.h"
#include "gwbpf/ir-t.h"
#include "gwbpf/store-t.h"

struct gw_translate_opts {
	const char *controller_name; /* NULL = GW_CONTROLLER_NAME */
	const char *address_pool;    /* CIDR or NULL: Gateways without spec.addresses get one */
	const char *listen_address;  /* bind address when no pool (default "0.0.0.0") */
	int64_t now;                 /* seconds; used for condition lastTransitionTime only */
	const char *const *supported_features; /* NULL-terminated; NULL = gw_supported_features */
	/* Kubernetes mode: Services with loopback, link-local, unspecified or
	 * admin-address endpoints are refused (ResolvedRefs=False RefNotPermitted) */
	bool refuse_local_endpoints;
	const char *admin_address; /* "host:port" of the admin endpoint, or NULL */
	/* NULL-terminated addresses of this node's interfaces, or NULL (no
	 * check). When set, a Gateway whose spec.addresses holds an IP that is
	 * none of these, not loopback and not inside address_pool cannot be
	 * served: Programmed=False AddressNotUsable, nothing bound */
	const char *const *local_addresses;
};

/* computed status of one object; status is a jansson json_t * (object) in
 * exactly the Gateway API status schema, e.g. {"conditions":[...]} or
 * {"parents":[...]} */
struct gw_obj_status {
	struct gw_object *obj; /* reference held */
	void *status;          /* json_t *, reference held; NULL for kinds without status */
	bool ok;               /* accepted and every reference resolved */
};

struct gw_translation {
	struct gw_ir *ir;             /* reference held */
	struct gw_obj_status *status; /* one per object of the store, sorted by kind/ns/name */
	size_t n_status;
	struct gw_diag_list diags;    /* problems found while translating */
};

#endif
