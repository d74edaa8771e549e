/* gwbpf/ifaddrs.h - the IP addresses of this node's interfaces. */
#ifndef GWBPF_IFADDRS_H
#define GWBPF_IFADDRS_H

/* gw_local_addresses() : the numeric IPv4/IPv6 addresses configured on this
 * node's interfaces (getifaddrs), as a NULL-terminated array in one
 * allocation the caller frees with free(); NULL with errno on failure */
char **gw_local_addresses(void);

#endif
