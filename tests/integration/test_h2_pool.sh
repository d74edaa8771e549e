#!/bin/sh
# test_h2_pool.sh - the per-worker pool of multiplexed h2c upstream
# connections: gRPC calls from many client connections share pooled
# connections to the backend (few connects, many reuses, in
# gwbpf_proxy_upstream_*_total); a backend that allows only 10 concurrent
# streams (SETTINGS_MAX_CONCURRENT_STREAMS) gets more connections instead of
# more streams per connection, and every call is still answered; a backend
# restart (its connections close) costs no call.
. "$(dirname "$0")/lib.sh"
gw_init
GC=$B/grpc_client
gw_require_file "$GC"
gw_require_file "$B/gwbpf-echo"
gw_require_cmd ss

GWP=$(gw_free_port)
BE=$(gw_free_port)
BE10=$(gw_free_port)
start_be()
{
	"$B/gwbpf-echo" --grpc --listen 127.0.0.1:$1 --pod "$2" $3 >> "$GW_TMP/echo-$2.log" 2>&1 &
	LAST=$!
	gw_track $LAST
	gw_wait_port 127.0.0.1 "$1" 10 || gw_fail "gRPC echo $2 did not start"
}
start_be "$BE" wide
WIDE=$LAST
start_be "$BE10" narrow "--max-streams 10"

S=gateway_api_conformance.echo_basic.grpcecho.GrpcEcho
{
	gw_yaml_gateway gw "$GWP"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [wide.test, narrow.test]
  rules:
  - matches: [{headers: [{name: x-backend, value: narrow}]}]
    backendRefs: [{name: narrow, port: 8080}]
  - backendRefs: [{name: wide, port: 8080}]
YEOF
	gw_yaml_service --app-protocol kubernetes.io/h2c wide 8080 "$BE"
	gw_yaml_service --app-protocol kubernetes.io/h2c narrow 8080 "$BE10"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off
A=127.0.0.1:$GWP

metric() { curl -s "http://$GW_ADMIN/metrics" | sed -n "s/^$1 \([0-9]*\)$/\1/p"; }
conns_to() { ss -Htn state established "( dport = :$1 )" | wc -l; }
ok_count() { grep -c '"grpc_status": 0, ' "$1"; }

# --- 40 calls, each from its own client connection, one after the other:
# they share one pooled upstream connection
c0=$(metric gwbpf_proxy_upstream_connects_total)
i=0
while [ $i -lt 40 ]; do
	"$GC" --authority wide.test "$A" /$S/Echo >> "$GW_TMP/seq" || gw_fail "call $i"
	i=$((i + 1))
done
[ "$(ok_count "$GW_TMP/seq")" = 40 ] || gw_fail "sequential calls: $(grep -v '"grpc_status": 0, ' "$GW_TMP/seq" | head -2)"
c1=$(metric gwbpf_proxy_upstream_connects_total)
[ $((c1 - c0)) -eq 1 ] || gw_fail "40 calls opened $((c1 - c0)) upstream connections (want 1)"
[ "$(conns_to "$BE")" = 1 ] || gw_fail "pooled connections to the backend: $(conns_to "$BE")"
gw_log "40 calls from 40 client connections: 1 upstream connection, kept idle in the pool"

# --- 3 clients x 100 concurrent calls: multiplexed, at most 100 streams
# per upstream connection
for k in 1 2 3; do
	"$GC" --count 100 --authority wide.test "$A" /$S/Echo > "$GW_TMP/par.$k" &
	eval "P$k=\$!"
done
wait "$P1" "$P2" "$P3"
n=$(cat "$GW_TMP"/par.* | grep -c '"grpc_status": 0, ')
[ "$n" = 300 ] || gw_fail "300 concurrent calls: $n OK: $(cat "$GW_TMP"/par.* | grep -v '"grpc_status": 0, ' | head -2)"
w=$(conns_to "$BE")
[ "$w" -ge 1 ] && [ "$w" -le 4 ] || gw_fail "300 concurrent calls used $w upstream connections"
gw_log "300 concurrent calls from 3 clients: all OK over $w upstream connection(s)"

# --- a backend allowing 10 concurrent streams. A first burst queues on one
# connection until the backend's SETTINGS arrive (nothing is refused); once
# the limit is known, 100 concurrent calls need at least 10 connections
"$GC" --count 30 --authority narrow.test -H 'x-backend: narrow' "$A" /$S/Echo > "$GW_TMP/narrow0"
[ "$(ok_count "$GW_TMP/narrow0")" = 30 ] || gw_fail "narrow backend, first burst: $(grep -v '"grpc_status": 0, ' "$GW_TMP/narrow0" | head -2)"
"$GC" --count 100 --authority narrow.test -H 'x-backend: narrow' "$A" /$S/Echo > "$GW_TMP/narrow"
[ "$(ok_count "$GW_TMP/narrow")" = 100 ] || gw_fail "narrow backend: $(grep -v '"grpc_status": 0, ' "$GW_TMP/narrow" | head -2)"
grep -q '"pod": "narrow"' "$GW_TMP/narrow" || gw_fail "narrow backend not reached"
nn=$(conns_to "$BE10")
[ "$nn" -ge 10 ] || gw_fail "SETTINGS_MAX_CONCURRENT_STREAMS 10 ignored: $nn connections for 100 streams"
gw_log "peer limit of 10 streams: 100 concurrent calls over $nn upstream connections"

# --- the backend restarts: its pooled connections close; calls go on
kill "$WIDE"
gw_untrack "$WIDE"
n=0
while [ "$(conns_to "$BE")" -gt 0 ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
start_be "$BE" wide
"$GC" --count 20 --authority wide.test "$A" /$S/Echo > "$GW_TMP/after"
[ "$(ok_count "$GW_TMP/after")" = 20 ] || gw_fail "after a backend restart: $(grep -v '"grpc_status": 0, ' "$GW_TMP/after" | head -2)"
gw_log "backend restarted: its closed connections left the pool, 20 calls OK"
exit 0
