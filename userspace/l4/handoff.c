/* l4/handoff.c - spliced L4 streams handed to a successor daemon.
 *
 * At a graceful restart (gwbpf/handoff.h, docs/operations.md) a TCPRoute
 * or TLS passthrough stream that the kernel splices both ways, with nothing
 * held in userspace, has no state here but the pair bookkeeping: the
 * successor can keep it by holding its two sockets. This file offers those
 * streams and forgets the ones taken, without touching them (no unpair, no
 * FIN: closing our descriptors closes no socket the successor holds).
 */
#include "gwbpf/api.h"

#include "gwbpf/splice.h"

#include "l4-int.h"
#include "../proxy/proxy-int.h"

size_t gw_l4_export_streams(struct gw_worker *w, gw_l4_export_fn fn, void *arg)
{
	struct gw_l4_conn *c, *next;
	size_t n = 0;

	for (c = w->l4_conns; c; c = next) {
		next = c->next;
		/* TLS-terminated streams have a session here: never spliced */
		if (c->state != GW_L4_RELAY || c->tls || !c->sp.paired || c->sp.user_only[0] ||
		    c->sp.user_only[1] || c->c2u.data || c->u2c.data || c->c_eof || c->u_eof ||
		    c->c_shut || c->u_shut || c->cfd < 0 || c->ufd < 0)
			continue;
		if (gw_splice_sync(gw_splice_default(), &c->sp, 0) ||
		    gw_splice_sync(gw_splice_default(), &c->sp, 1) ||
		    fn(arg, c->cfd, c->ufd, &c->sp))
			continue;
		memset(&c->sp, 0, sizeof(c->sp));
		gw_l4_conn_close(c, false);
		n++;
	}
	return n;
}
