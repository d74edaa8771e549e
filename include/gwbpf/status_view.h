/* gwbpf/status_view.h - human views of a status List document.
 *
 * Both `gwbpf validate` (translation in-process) and `gwbpf status` (document
 * from the admin endpoint) print from the same Kubernetes List JSON, so the
 * two always agree.
 */
#ifndef GWBPF_STATUS_VIEW_H
#define GWBPF_STATUS_VIEW_H

#include <stdio.h>

#include "gwbpf/api.h"

enum gw_view {
	GW_VIEW_ALL = 0,  /* every object with a status */
	GW_VIEW_GATEWAYS, /* GatewayClass, Gateway (+ listeners) */
	GW_VIEW_ROUTES,   /* *Route kinds, per parent */
	GW_VIEW_BACKENDS, /* route backendRefs and their resolution */
};

/* gw_status_view_print() : table of the List document (json_t *, borrowed);
 * returns the number of objects that are not accepted/resolved */
int gw_status_view_print(const void *list, enum gw_view view, FILE *f);
/* gw_status_view_filter() : a copy of the List document (json_t *, borrowed)
 * holding only the items view shows (every item for GW_VIEW_ALL); returns a
 * new reference, or NULL with errno ENOMEM */
void *gw_status_view_filter(const void *list, enum gw_view view);
/* gw_status_view_join_routes() : adds to each route item of the List
 * document (json_t *, modified) whose "ns/name" the /status/routes document
 * (json_t *, borrowed; gwbpf/route_stats.h) counts, a "dataplane" object
 * {requests, kernelRequestBytes, listeners, rules}, to each Gateway item a
 * "dataplane" object {listeners: {section: [{route, hosts, requests}]}},
 * and to the List a
 * "dataplane" object {generation, unrouted, unattributed, mechanisms}.
 * 0 or -ENOMEM. */
int gw_status_view_join_routes(void *list, const void *stats);
/* gw_status_item_problem() : first bad condition of one List item as
 * "Type=Status (Reason): message" into buf; false when the item is fine */
bool gw_status_item_problem(const void *item, char *buf, size_t size);

struct gw_translation;
/* gw_status_view_print_table() : gw_status_view_print() of a translation */
int gw_status_view_print_table(const struct gw_translation *t, FILE *f);

#endif
