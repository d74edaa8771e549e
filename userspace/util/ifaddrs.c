/* util/ifaddrs.c - the node's interface addresses, so the translator can tell
 * a static Gateway address this node can serve from one it cannot
 * (AddressNotUsable). Read once at start: addresses added later are not seen
 * until a restart (docs/conformance/README.md lists the case). */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "gwbpf/ifaddrs.h"

char **gw_local_addresses(void)
{
	struct ifaddrs *ifa = NULL, *i;
	size_t n = 0, k = 0;
	char **out = NULL, *p;

	if (getifaddrs(&ifa))
		return NULL;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			n++;
	/* pointers first, then the strings, in one block */
	out = calloc(1, (n + 1) * sizeof(char *) + n * INET6_ADDRSTRLEN);
	if (!out)
		goto out;
	p = (char *)(out + n + 1);
	for (i = ifa; i && k < n; i = i->ifa_next) {
		const void *a;

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(i->ifa_addr->sa_family, a, p, INET6_ADDRSTRLEN))
			continue;
		out[k++] = p;
		p += INET6_ADDRSTRLEN;
	}
out:
	freeifaddrs(ifa);
	return out;
}
