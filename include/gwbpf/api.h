/* gwbpf/api.h - base includes and helpers every gwbpf C file includes first.
 *
 * Keeps the small set of macros (likely/unlikely, ARRAY_SIZE, attributes)
 * in one place so modules do not grow their own variants.
 */
#ifndef GWBPF_API_H
#define GWBPF_API_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define GW_UNUSED      __attribute__((unused))
#define GW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define GW_MUST_CHECK  __attribute__((warn_unused_result))

#define GW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GW_MAX(a, b) ((a) > (b) ? (a) : (b))

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define BUG_ON(c)                                                                                  \
	do {                                                                                       \
		if (unlikely(c))                                                                   \
			__builtin_trap();                                                          \
	} while (0)

#define GW_VERSION "0.1.0"

/* the GatewayClass controllerName gwbpf serves */
#define GW_CONTROLLER_NAME "gwbpf.dev/gateway-controller"

/* user code uses uint32_t; __u32 only in ABI headers. Not a #pragma poison:
 * <sys/epoll.h> names union members u32/u64, so `make check` greps instead. */

#endif
