#!/bin/sh
# tests/integration/test_fault_config_io.sh - I/O faults around the config
# and the disk: the last good config keeps serving.
#  1. unreadable config: gwbpf runs as nobody; the config is replaced by a
#     file it may not read (mode 000) that would add a route: the old routes
#     keep answering 200, the new one does not exist (404), the failed
#     reload is counted; once readable again, the new route serves;
#  2. disk full: the config folder and the access log are on a 64 KiB
#     tmpfs that is then filled; an in-place rewrite of the config (what a
#     shell redirection does) is cut short by ENOSPC mid-route: the old
#     config keeps serving, requests keep being answered although the access
#     log cannot be written; after space is freed, a full rewrite applies.
# Requests go through a bounded client loop during each fault; the failed
# ones are counted and printed (must be 0).
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_root
gw_require_cmd setpriv
MNT=$GW_TMP/disk
mkdir -p "$MNT"
mount -t tmpfs -o size=64k,mode=0777 tmpfs "$MNT" 2> /dev/null || gw_skip "cannot mount a tmpfs"
# lazy: gwbpf still holds the log and the folder until gw_cleanup kills it
trap 'umount -l "$MNT" 2> /dev/null; gw_cleanup' EXIT
chmod 755 "$GW_TMP"

LPORT=$(gw_free_port)
EPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT

config() # config PATH_PREFIX... : one HTTPRoute per prefix, all to echo
{
	gw_yaml_gateway gw "$LPORT"
	for p in "$@"; do
		cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r-$p, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /$p}}], backendRefs: [{name: echo, port: 8080}]}]
YEOF
	done
	gw_yaml_service echo 8080 "$EPORT"
}
mkdir -p "$MNT/conf"
chmod 755 "$MNT/conf"
config a > "$MNT/conf/gw.yaml"
chmod 644 "$MNT/conf/gw.yaml"

GW_ADMIN=127.0.0.1:$(gw_free_port)
setpriv --reuid=65534 --regid=65534 --clear-groups "$GW_BIN" run --config "$MNT/conf" \
	--admin "$GW_ADMIN" --no-bpf --workers 1 --access-log "$MNT/access.log" \
	>> "$GW_TMP/gwbpf.log" 2>&1 &
GW_PID=$!
gw_track $GW_PID
gw_wait_http "http://$GW_ADMIN/readyz" 200 15 || gw_fail "gwbpf (as nobody) did not become ready"
gw_wait_http "http://127.0.0.1:$LPORT/a" 200 10 || gw_fail "route /a not serving"

reloads() # reloads success|failure
{
	curl -s "http://$GW_ADMIN/metrics" | sed -n "s/^gwbpf_config_reloads_total{result=\"$1\"} \([0-9]*\)\$/\1/p"
}
# traffic N : N requests to /a; prints the failed ones
traffic()
{
	f=0
	i=0
	while [ $i -lt "$1" ]; do
		c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$LPORT/a")
		[ "$c" = 200 ] || f=$((f + 1))
		i=$((i + 1))
	done
	echo $f
}
# wait_reload KIND N : until reloads KIND > N (10 s)
wait_reload()
{
	i=0
	while [ $i -lt 100 ]; do
		[ "$(reloads "$1")" -gt "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# --- 1. unreadable config
F0=$(reloads failure)
S0=$(reloads success)
config a b > "$MNT/conf/.gw.yaml.tmp"
chmod 000 "$MNT/conf/.gw.yaml.tmp"
mv "$MNT/conf/.gw.yaml.tmp" "$MNT/conf/gw.yaml"
wait_reload failure "$F0" || gw_fail "an unreadable config was not reported as a failed reload (failures $F0 -> $(reloads failure), successes $S0 -> $(reloads success))"
FAILED=$(traffic 50)
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$LPORT/b")
gw_log "unreadable config: failed requests: $FAILED of 50; /b (only in the unreadable file) -> $code"
[ "$FAILED" -eq 0 ] || gw_fail "$FAILED requests failed with an unreadable config"
[ "$code" = 404 ] || gw_fail "the unreadable config was partly applied (/b -> $code)"
chmod 644 "$MNT/conf/gw.yaml"
touch "$MNT/conf/gw.yaml"
gw_wait_http "http://127.0.0.1:$LPORT/b" 200 10 || gw_fail "config readable again but /b not served"

# --- 2. disk full
S1=$(reloads success)
F1=$(reloads failure)
# the next config is longer than what is left once the filler is in: the
# in-place rewrite stops at ENOSPC in the middle of its routes
config a b c d e f g h i j k l m n o p > "$GW_TMP/big.yaml"
dd if=/dev/zero of="$MNT/filler" bs=1k count=1000 2> /dev/null # fails at ENOSPC: fills the disk
avail=$(df -k "$MNT" | awk 'NR == 2 { print $4 }')
gw_log "tmpfs: ${avail} KiB left after the filler; config to write: $(wc -c < "$GW_TMP/big.yaml") bytes"
cat "$GW_TMP/big.yaml" > "$MNT/conf/gw.yaml" 2> /dev/null && gw_fail "the rewrite did not hit ENOSPC (test setup)"
gw_log "config on disk after ENOSPC: $(wc -c < "$MNT/conf/gw.yaml") bytes"
i=0
while [ $i -lt 100 ] && [ "$(reloads failure)" -le "$F1" ] && [ "$(reloads success)" -le "$S1" ]; do
	sleep 0.1
	i=$((i + 1))
done
FAILED=$(traffic 50)
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$LPORT/b")
gw_log "disk full: failed requests: $FAILED of 50; reloads success $S1 -> $(reloads success), failure $F1 -> $(reloads failure); /b -> $code"
[ "$FAILED" -eq 0 ] || gw_fail "$FAILED requests failed with the disk full"
[ "$code" = 200 ] || gw_fail "/b of the last good config not served with the disk full ($code)"
# a config cut short may still parse (documents before the cut): then it
# must at least not have dropped the good routes; in this layout it is cut
# inside a route and must be refused
[ "$(reloads failure)" -gt "$F1" ] || gw_fail "the truncated config was not refused"
rm -f "$MNT/filler"
cp "$GW_TMP/big.yaml" "$MNT/conf/.gw.yaml.tmp"
mv "$MNT/conf/.gw.yaml.tmp" "$MNT/conf/gw.yaml"
gw_wait_http "http://127.0.0.1:$LPORT/p" 200 10 || gw_fail "space freed, full config written, /p not served"
kill -0 "$GW_PID" || gw_fail "gwbpf died"
echo "PASS: unreadable and truncated (disk full) configs: last good config kept serving, 0 failed requests"
