/* translate/endpoint_guard.c - which backend endpoints Kubernetes mode refuses.
 *
 * In a cluster, anyone who may create an EndpointSlice (or a Service whose
 * endpoints they control) could otherwise point a route at addresses that
 * only make sense on the gateway's own node: loopback (the admin endpoint,
 * node-local daemons), link-local (cloud metadata at 169.254.169.254), the
 * unspecified address, or the admin address itself. That is Contour's
 * CVE-2021-32783. A Service with such an endpoint is refused as a backend:
 * the route reports ResolvedRefs=False (RefNotPermitted) naming the address,
 * and no cluster to it enters the IR. Only enabled when
 * gw_translate_opts.refuse_local_endpoints is set (gwbpf run --kube); manifests
 * read from files are written by the operator and may use loopback.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "gwbpf/model-t.h"
#include "translate-int.h"

/* admin_host() : the host part of an admin address ("127.0.0.1:9901",
 * "[::1]:9901", "10.0.0.5:9901"; a Unix socket path has none) into buf */
static bool admin_host(const char *a, char *buf, size_t size)
{
	const char *end;

	if (!a || !*a || *a == '/' || !strncmp(a, "unix:", 5))
		return false;
	if (*a == '[') {
		end = strchr(a, ']');
		a++;
	} else {
		end = strrchr(a, ':');
	}
	if (!end)
		end = a + strlen(a);
	if ((size_t)(end - a) >= size)
		return false;
	memcpy(buf, a, (size_t)(end - a));
	buf[end - a] = '\0';
	return true;
}

/* same_ip() : a and b parse as the same IPv4 or IPv6 address */
static bool same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
	return false;
}

const char *tx_endpoint_refused(const struct gw_translate_opts *o, const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;
	char host[64];
	uint32_t v4;

	if (!o || !o->refuse_local_endpoints || !addr)
		return NULL;
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			goto v4;
		}
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return "loopback";
		if (IN6_IS_ADDR_LINKLOCAL(&a6))
			return "link-local";
		if (IN6_IS_ADDR_UNSPECIFIED(&a6))
			return "unspecified";
		goto admin;
	}
	if (inet_pton(AF_INET, addr, &a4) != 1)
		return NULL; /* not an address (FQDN slices are not routed) */
v4:
	v4 = ntohl(a4.s_addr);
	if ((v4 >> 24) == 127)
		return "loopback";
	if ((v4 >> 16) == 0xa9fe) /* 169.254.0.0/16 */
		return "link-local";
	if ((v4 >> 24) == 0) /* 0.0.0.0/8: "this host" */
		return "unspecified";
admin:
	/* an admin endpoint on a node address (not the default loopback) */
	if (admin_host(o->admin_address, host, sizeof(host)) && same_ip(host, addr))
		return "the gateway's admin address";
	return NULL;
}

const char *tx_service_refused(struct tx_ctx *c, const struct gw_m_service *svc, const char **why)
{
	size_t i;

	if (!c->opts->refuse_local_endpoints)
		return NULL;
	if (tx_slice_index(c)) {
		c->oom = true;
		return NULL;
	}
	for (i = tx_slice_lower_bound(c, svc->obj->ns, svc->obj->name); i < c->n_slice_idx; i++) {
		const struct gw_m_endpoint_slice *s = c->slice_idx[i];

		if (strcmp(s->obj->ns, svc->obj->ns) || strcmp(s->service, svc->obj->name))
			break;
		for (size_t e = 0; e < s->n_endpoints; e++)
			for (size_t a = 0; a < s->endpoints[e].n_addresses; a++) {
				const char *addr = s->endpoints[e].addresses[a];

				*why = tx_endpoint_refused(c->opts, addr);
				if (*why)
					return addr;
			}
	}
	return NULL;
}
