/* gwbpf/model.h - decoding store objects into the typed model and lookups. */
#ifndef GWBPF_MODEL_H
#define GWBPF_MODEL_H

#include "gwbpf/api.h"
#include "gwbpf/model-t.h"

/* gw_model_kind() : which kind an object is (group and kind checked) */
enum gw_m_kind gw_model_kind(const struct gw_object *o);
/* gw_model_kind_is_route() : HTTP/GRPC/TLS/TCP/UDPRoute */
bool gw_model_kind_is_route(enum gw_m_kind k);

/* gw_model_new() : decodes objs[0..n) (borrowed; they must outlive the
 * model). Objects of unknown kinds are skipped. NULL + errno=ENOMEM. */
struct gw_model *gw_model_new(struct gw_object *const *objs, size_t n);
void gw_model_free(struct gw_model *m); /* accepts NULL */

/* lookups; borrowed results, NULL when absent */
struct gw_m_service *gw_model_service(const struct gw_model *m, const char *ns, const char *name);
struct gw_m_secret *gw_model_secret(const struct gw_model *m, const char *ns, const char *name);
struct gw_m_gateway *gw_model_gateway(const struct gw_model *m, const char *ns, const char *name);
struct gw_m_gatewayclass *gw_model_class(const struct gw_model *m, const char *name);
/* gw_model_ns_labels() : labels of namespace ns (NULL when there is no
 * Namespace object; the caller then uses kubernetes.io/metadata.name only) */
struct gw_node *gw_model_ns_labels(const struct gw_model *m, const char *ns, bool *exists);

/* gw_model_selector_match() : does the selector select the labels of
 * namespace ns (with kubernetes.io/metadata.name=<ns> implied) */
bool gw_model_selector_match(const struct gw_model *m, const struct gw_m_selector *sel,
			     const char *ns);

/* gw_model_grant_allows() : a ReferenceGrant in to_ns allows objects of
 * (from_group, from_kind) in from_ns to refer to (to_group, to_kind, to_name) */
bool gw_model_grant_allows(const struct gw_model *m, const char *from_group, const char *from_kind,
			   const char *from_ns, const char *to_group, const char *to_kind,
			   const char *to_ns, const char *to_name);

#endif
