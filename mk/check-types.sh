#!/bin/sh
# mk/check-types.sh FILE... - user code uses uint32_t-style types; u8..u64
# are for nothing (the kernel ABI headers use __u32). Comments and epoll's
# data.u32/u64 members are fine.
bad=$(grep -nE '(^|[^_.a-z])u(8|16|32|64)([^_a-z0-9]|$)' "$@" |
	grep -vE 'data\.u|^[^:]+:[0-9]+:[[:space:]]*(/\*|\*)')
[ -z "$bad" ] && exit 0
echo "$bad"
echo "check: use uint32_t-style types, not u8..u64"
exit 1
