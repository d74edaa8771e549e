/* l4/route.c - the routing decision of an L4 connection or UDP flow.
 *
 * The translator already ordered everything: a bind's listeners come exact
 * hostname first, then wildcards longest first, then the one without
 * hostname; a listener's vhosts (TLSRoute hostnames, intersected with the
 * listener's) the same way, and the rules attached to one hostname in route
 * precedence order. So the decision is "first match" twice, as for HTTPS
 * SNI selection (docs/l4.md).
 */
#include "gwbpf/api.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gwbpf/ir.h"
#include "gwbpf/log.h"

#include "l4-int.h"

const struct gw_ir_bind *gw_l4_find_bind(const struct gw_ir *ir, const char *address, uint16_t port,
					 bool udp)
{
	if (!ir)
		return NULL;
	for (size_t i = 0; i < ir->n_binds; i++) {
		const struct gw_ir_bind *b = &ir->binds[i];

		if (b->port == port && b->address && !strcmp(b->address, address) &&
		    (b->proto == GW_PROTO_UDP) == udp)
			return b;
	}
	return NULL;
}

/* host_match() : pattern NULL matches anything; "*.example.com" matches
 * names with at least one more label (the Gateway API wildcard); otherwise
 * case-insensitive equality. An empty name (no SNI) only matches NULL. */
static bool host_match(const char *pattern, const char *name)
{
	size_t lp, ln;

	if (!pattern)
		return true;
	if (!*name)
		return false;
	if (pattern[0] == '*' && pattern[1] == '.') {
		lp = strlen(pattern + 1);
		ln = strlen(name);
		return ln > lp && !strcasecmp(name + ln - lp, pattern + 1);
	}
	return !strcasecmp(pattern, name);
}

const struct gw_ir_listener *gw_l4_listener(const struct gw_ir_bind *b, const char *sni)
{
	bool by_name = b->proto == GW_PROTO_TLS || b->proto == GW_PROTO_HTTPS;

	for (size_t i = 0; i < b->n_listeners; i++)
		if (!by_name || host_match(b->listeners[i].hostname, sni ? sni : ""))
			return &b->listeners[i];
	return NULL;
}

const struct gw_ir_action *gw_l4_listener_route(const struct gw_ir_listener *l, const char *sni)
{
	bool by_name = l->proto == GW_PROTO_TLS || l->proto == GW_PROTO_HTTPS;

	for (size_t i = 0; i < l->n_vhosts; i++) {
		const struct gw_ir_vhost *vh = &l->vhosts[i];

		if (by_name && !host_match(vh->hostname, sni ? sni : ""))
			continue;
		if (!vh->n_matches || vh->matches[0].action >= vh->n_actions)
			return NULL;
		return &vh->actions[vh->matches[0].action];
	}
	return NULL;
}

const struct gw_ir_action *gw_l4_route(const struct gw_ir_bind *b, const char *sni)
{
	const struct gw_ir_listener *l = gw_l4_listener(b, sni);

	return l ? gw_l4_listener_route(l, sni) : NULL;
}

int gw_l4_pick_cluster(const struct gw_ir_action *a, uint64_t rnd)
{
	uint64_t r;

	if (!a->total_weight)
		return -ENOENT;
	r = rnd % a->total_weight;
	for (size_t i = 0; i < a->n_backends; i++) {
		if (r < a->backends[i].weight)
			return a->backends[i].cluster >= 0 ? a->backends[i].cluster : -ENOENT;
		r -= a->backends[i].weight;
	}
	return -ENOENT;
}

