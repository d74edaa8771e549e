/* gwbpf/router-t.h - result of routing one request on a snapshot. */
#ifndef GWBPF_ROUTER_T_H
#define GWBPF_ROUTER_T_H

#include "gwbpf/ir-t.h"

struct gw_route_result {
	const struct gw_ir_listener *listener; /* NULL: no listener for this host */
	const struct gw_ir_vhost *vhost;       /* NULL: no vhost for this host */
	const struct gw_ir_match *match;       /* NULL: nothing matched (404) */
	const struct gw_ir_action *action;     /* the rule of match */
};

#endif
