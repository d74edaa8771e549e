/* bpf/include/gw_bpf.h - platform glue every gwbpf BPF entry file includes
 * first: kernel types (CO-RE vmlinux.h from build/), libbpf helper
 * declarations, byte order, and the few constants vmlinux.h cannot carry
 * because they are #defines in the UAPI headers. */
#ifndef GW_BPF_H
#define GW_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#ifndef BPF_F_INGRESS
#define BPF_F_INGRESS (1ULL << 0)
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#endif
