#!/bin/sh
# test_grpc_errors.sh - gRPC through gwbpf with a real gRPC echo backend
# (gwbpf-echo --grpc, the conformance GrpcEcho service) and the gRPC test
# client (build/grpc_client): a call routed by GRPCRoute gets its EchoResponse
# from the right backend; many concurrent calls share one client connection;
# and when the gateway itself fails a call the client gets a gRPC status, not
# an HTTP error: no route -> UNIMPLEMENTED (12), no ready endpoint or a dead
# one -> UNAVAILABLE (14), route timeout -> DEADLINE_EXCEEDED (4).
. "$(dirname "$0")/lib.sh"
gw_init
GC=$B/grpc_client
gw_require_file "$GC"
gw_require_file "$B/gwbpf-echo"

GWP=$(gw_free_port)
BE=$(gw_free_port)
DEAD=$(gw_free_port)
MUTE=$(gw_free_port)
"$B/gwbpf-echo" --grpc --listen 127.0.0.1:$BE --namespace default --pod grpc-be-0 \
	> "$GW_TMP/echo.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$BE" 10 || gw_fail "gRPC echo did not start"
# a backend that accepts and never answers (for the timeout)
$GW_PY -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
end = time.time() + 120
while time.time() < end:
    c, _ = s.accept()
    held.append(c)
' "$MUTE" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$MUTE" 10 || gw_fail "mute backend did not start"

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
  rules:
  - matches: [{method: {service: $S, method: Echo}}]
    backendRefs: [{name: echo, port: 8080}]
  - matches: [{method: {service: $S, method: EchoThree}}]
    backendRefs: [{name: echo, port: 8080}]
  - matches: [{method: {service: down.Svc}}]
    backendRefs: [{name: down, port: 8080}]
  - matches: [{method: {service: dead.Svc}}]
    backendRefs: [{name: dead, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: slow, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mute.Svc/}}]
    timeouts: {request: 500ms}
    backendRefs: [{name: mute, port: 8080}]
YEOF
	gw_yaml_service --app-protocol kubernetes.io/h2c echo 8080 "$BE"
	gw_yaml_service --app-protocol kubernetes.io/h2c --not-ready down 8080 "$BE"
	gw_yaml_service --app-protocol kubernetes.io/h2c dead 8080 "$DEAD"
	gw_yaml_service --app-protocol kubernetes.io/h2c mute 8080 "$MUTE"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
A=127.0.0.1:$GWP

# field DOC KEY : one top-level value of the client's JSON line
field()
{
	printf '%s' "$1" | $GW_PY -c 'import json, sys
d = json.loads(sys.stdin.readline())
k = sys.argv[1].split(".")
v = d
for p in k:
    v = (v or {}).get(p)
print(v)' "$2"
}

# --- a routed call: OK, answered by the echo with what it saw
out=$("$GC" "$A" /$S/Echo -H 'x-probe: 1') || gw_fail "grpc_client failed"
[ "$(field "$out" grpc_status)" = 0 ] || gw_fail "Echo: $out"
[ "$(field "$out" response.pod)" = grpc-be-0 ] || gw_fail "Echo pod: $out"
[ "$(field "$out" response.fully_qualified_method)" = "/$S/Echo" ] || gw_fail "Echo method: $out"
printf '%s' "$out" | grep -q '\["x-probe", "1"\]' || gw_fail "metadata not forwarded: $out"
gw_log "GRPCRoute call: grpc-status 0, EchoResponse from the backend with the metadata"

# --- 50 concurrent calls on one client connection
"$GC" --count 50 "$A" /$S/Echo > "$GW_TMP/many" || gw_fail "50 calls"
n=$(grep -c '"grpc_status": 0, ' "$GW_TMP/many")
[ "$n" = 50 ] || gw_fail "50 concurrent calls: $n OK: $(grep -v '"grpc_status": 0, ' "$GW_TMP/many" | head -3)"
gw_log "50 concurrent calls on one connection: all OK"

# --- the backend's own status comes through (EchoThree is unimplemented there)
out=$("$GC" "$A" /$S/EchoThree)
[ "$(field "$out" grpc_status)" = 12 ] || gw_fail "EchoThree: $out"
grep -q "EchoThree" "$GW_TMP/echo.log" || gw_fail "EchoThree never reached the backend"

# --- gateway-made failures, in gRPC form (HTTP 200, grpc-status)
expect_code()
{
	# expect_code PATH CODE WHAT
	out=$("$GC" --timeout 10 "$A" "$1")
	[ "$(field "$out" status)" = 200 ] || gw_fail "$3: HTTP status not 200: $out"
	[ "$(field "$out" grpc_status)" = "$2" ] || gw_fail "$3: want grpc-status $2: $out"
	[ -n "$(field "$out" grpc_message)" ] || gw_fail "$3: no grpc-message: $out"
	gw_log "$3 -> grpc-status $2 ($(field "$out" grpc_message))"
}
expect_code /$S/EchoTwo 12 "no route (EchoTwo)"
expect_code /nosuch.Svc/X 12 "no route (unknown service)"
expect_code /down.Svc/X 14 "no ready endpoint"
expect_code /dead.Svc/X 14 "endpoint refuses connections"
t0=$(date +%s)
expect_code /mute.Svc/X 4 "route timeout 500ms"
[ $(( $(date +%s) - t0 )) -lt 8 ] || gw_fail "timeout answered too late"

# --- still serving afterwards
out=$("$GC" "$A" /$S/Echo)
[ "$(field "$out" grpc_status)" = 0 ] || gw_fail "Echo after failures: $out"
exit 0
