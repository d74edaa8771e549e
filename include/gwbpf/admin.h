/* gwbpf/admin.h - the admin HTTP endpoint (/healthz /readyz /status /status/routes
 * /metrics).
 *
 * A deliberately small HTTP/1.1 server on the main thread's loop: one request
 * per connection, GET/HEAD only, answered from callbacks, then closed. It
 * never shares the proxy's workers, so a saturated data plane still answers
 * health checks.
 */
#ifndef GWBPF_ADMIN_H
#define GWBPF_ADMIN_H

#include "gwbpf/api.h"
#include "gwbpf/loop-t.h"

struct gw_admin;

struct gw_admin_ops {
	/* ready() : true once the first snapshot is serving (/readyz 200) */
	bool (*ready)(void *arg);
	/* status() : the /status document (JSON); returns a malloc'd string or
	 * NULL (answered 503) */
	char *(*status)(void *arg);
	/* metrics() : Prometheus text; malloc'd string or NULL (503) */
	char *(*metrics)(void *arg);
	/* routes() : the /status/routes document (JSON, gwbpf/route_stats.h);
	 * malloc'd string or NULL (503); may be left NULL (404) */
	char *(*routes)(void *arg);
};

/* gw_admin_new() : listens on addr ("127.0.0.1:9901", "[::1]:9901", ":9901")
 * and serves on loop (borrowed); ops and arg are borrowed. NULL + errno. */
struct gw_admin *gw_admin_new(struct gw_loop *loop, const char *addr,
			      const struct gw_admin_ops *ops, void *arg);
/* gw_admin_free() : closes the listener and open connections; accepts NULL */
void gw_admin_free(struct gw_admin *a);

/* gw_admin_parse_addr() : "host:port" into a sockaddr; 0 or -EINVAL */
struct sockaddr_storage;
int gw_admin_parse_addr(const char *addr, struct sockaddr_storage *ss, unsigned int *len);

#endif
