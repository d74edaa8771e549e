#!/bin/sh
# mk/check-types.sh FILE... - user code uses uint32_t-style types; u8..u64
# are for nothing (the kernel ABI headers use __u32). Comments, epoll's
# data.u32/u64 members and the <inttypes.h> macros (PRIu64, SCNu32) are fine.
bad=$(grep -nE '(^|[^_.a-zA-Z0-9])u(8|16|32|64)([^_a-z0-9]|$)' "$@" |
	grep -vE 'data\.u|^[^:]+:[0-9]+:[[:space:]]*(/\*|\*)')
[ -z "$bad" ] && exit 0
# printf, not echo: dash's echo would expand a "\n" in the quoted source
printf '%s\n' "$bad"
echo "check: use uint32_t-style types, not u8..u64"
exit 1
