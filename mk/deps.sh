#!/bin/sh
# mk/deps.sh - install every Debian 12 package gwbpf needs. Idempotent.
# --quiet: say nothing when everything is already there.
set -e
PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libxdp-dev xdp-tools libmnl-dev libssl-dev openssl libyaml-dev libjansson-dev
libcurl4-openssl-dev libnghttp2-dev libpcre2-dev libcmocka-dev liburcu-dev
libclang-rt-14-dev iproute2 python3 python3-yaml curl nginx-light haproxy wrk
procps psmisc nghttp2-client"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ "$1" = "--quiet" ] || echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run as root: make deps)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# the proxy peers are benchmark tools only; never leave them running as services
for s in nginx haproxy; do
	systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done
