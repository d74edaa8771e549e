#!/bin/sh
# test_proxy_errors.sh - every status the gateway answers itself, and raw
# malformed requests: 400 (+ close) for smuggling vectors that the backend
# must never see, 404 no route, 500 invalid backendRef, 502 endpoint down,
# 503 no ready endpoint, 504 request timeout, 408 slow headers, 414, 431,
# 501, 505, 417.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
BEP=$(gw_free_port)
SINKP=$(gw_free_port)
DEADP=$(gw_free_port) # nothing listens there
gw_start_echo 127.0.0.1:$BEP be1

# a backend that records every byte it receives and never answers
$GW_PY -c '
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
out = open(sys.argv[2], "ab", buffering=0)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            return
        out.write(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$SINKP" "$GW_TMP/sink.bytes" > /dev/null 2>&1 &
gw_track $!
: > "$GW_TMP/sink.bytes"
gw_wait_port 127.0.0.1 "$SINKP" 10 || gw_fail "sink backend"

{
	gw_yaml_gateway gw "$GWP"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route
  namespace: default
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path: {type: PathPrefix, value: /ok}
    backendRefs:
    - {name: echo, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /sink}
    backendRefs:
    - {name: sink, port: 8080}
    timeouts:
      request: 1s
  - matches:
    - path: {type: PathPrefix, value: /dead}
    backendRefs:
    - {name: dead, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /noep}
    backendRefs:
    - {name: noep, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /missing}
    backendRefs:
    - {name: does-not-exist, port: 8080}
YEOF
	gw_yaml_service echo 8080 "$BEP"
	gw_yaml_service sink 8080 "$SINKP"
	gw_yaml_service dead 8080 "$DEADP"
	cat << YEOF
---
apiVersion: v1
kind: Service
metadata:
  name: noep
  namespace: default
spec:
  ports:
  - {name: http, port: 8080, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: noep-1
  namespace: default
  labels:
    kubernetes.io/service-name: noep
addressType: IPv4
ports:
- {name: http, port: 9, protocol: TCP}
endpoints:
- addresses: [127.0.0.1]
  conditions:
    ready: false
YEOF
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --header-timeout 1000 --access-log "$GW_TMP/access.log"

# status_of REQUEST_BYTES : the status code of the first response line
status_of()
{
	printf "$1" | gw_raw 127.0.0.1 "$GWP" 3 > "$GW_TMP/raw.out"
	head -n 1 "$GW_TMP/raw.out" | cut -d' ' -f2
}

# expect_close REQUEST_BYTES STATUS : answered STATUS with Connection: close,
# and the connection really ends (gw_raw returns before its 3 s wait would)
expect_close()
{
	t0=$(date +%s)
	st=$(status_of "$1")
	t1=$(date +%s)
	[ "$st" = "$2" ] || gw_fail "expected $2, got '$st' for: $1"
	grep -a -qi '^connection: close' "$GW_TMP/raw.out" || gw_fail "no Connection: close for $1"
	[ $((t1 - t0)) -lt 3 ] || gw_fail "connection left open after $2 for: $1"
}

# --- smuggling vectors: 400, close, and the backend never sees a byte
H='Host: a\r\n'
expect_close "POST /sink HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" 400
expect_close "POST /sink HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" 400
expect_close "POST /sink HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef" 400
expect_close "GET /sink HTTP/1.1\n${H}\r\n" 400
expect_close "GET /sink HTTP/1.1\r\nHost: a\nX: y\r\n\r\n" 400
expect_close "GET /sink HTTP/1.1\r\n${H}X-Folded: a\r\n  b\r\n\r\n" 400
expect_close "GET /sink HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n" 400
expect_close "GET /sink HTTP/1.1\r\n${H}X : x\r\n\r\n" 400
expect_close "POST /sink HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n" 400
expect_close "GET /sink HTTP/1.1\r\n\r\n" 400
[ -s "$GW_TMP/sink.bytes" ] && gw_fail "the backend saw bytes of a rejected request: $(head -c 200 "$GW_TMP/sink.bytes")"
gw_log "malformed requests: 400, closed, never forwarded"

# --- the other parser statuses
expect_close "GET /ok HTTP/2.0\r\n${H}\r\n" 505
expect_close "POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n" 400
expect_close "POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: snappy, chunked\r\n\r\n" 501
expect_close "GET /ok HTTP/1.1\r\n${H}Expect: something-else\r\n\r\n" 417
long=$($GW_PY -c 'print("/ok" + "a" * 9000)')
expect_close "GET $long HTTP/1.1\r\n${H}\r\n" 414
big=$($GW_PY -c 'print("X-Big: " + "b" * 20000)')
expect_close "GET /ok HTTP/1.1\r\n${H}${big}\r\n\r\n" 431
[ -s "$GW_TMP/sink.bytes" ] && gw_fail "the backend saw bytes"
gw_log "505, 400, 501, 417, 414, 431"

# --- routing and upstream statuses (curl: code only)
code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$GWP$1"; }
[ "$(code /ok)" = 200 ] || gw_fail "/ok"
[ "$(code /nothing-here)" = 404 ] || gw_fail "404: $(code /nothing-here)"
[ "$(code /missing)" = 500 ] || gw_fail "500 for an invalid backendRef: $(code /missing)"
[ "$(code /dead)" = 502 ] || gw_fail "502 for a dead endpoint: $(code /dead)"
[ "$(code /noep)" = 503 ] || gw_fail "503 without ready endpoints: $(code /noep)"
gw_log "404, 500, 502, 503"

# a keep-alive connection survives a 404 (no body to skip)
n=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
	"http://127.0.0.1:$GWP/nothing" "http://127.0.0.1:$GWP/ok" | awk '{s += $2} END {print s}')
[ "$n" = 1 ] || gw_fail "a 404 closed the keep-alive connection"

# --- 504: the sink never answers; the rule's request timeout is 1 s
t0=$(date +%s)
c=$(code /sink/slow)
t1=$(date +%s)
[ "$c" = 504 ] || gw_fail "504 expected, got $c"
[ $((t1 - t0)) -lt 8 ] || gw_fail "504 took $((t1 - t0)) s"
gw_log "504 on request timeout"

# --- 408: a head that does not complete within --header-timeout (1 s)
$GW_PY - "$GWP" << 'PYEOF' || gw_fail "408 check"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /ok HTTP/1.1\r\nHost: a\r\n")  # never finished
t0 = time.time()
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
took = time.time() - t0
assert data.startswith(b"HTTP/1.1 408"), data[:100]
assert took < 6, took
PYEOF
gw_log "408 on slow headers"

# the gateway survived all of it
[ "$(code /ok)" = 200 ] || gw_fail "gateway unhealthy at the end"

# rejected heads are logged too, each with the parser's reason
$GW_PY -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rejected = [l for l in lines if l["status"] == 400 and l["reason"]]
assert len(rejected) >= 10, len(rejected)
codes = {l["status"] for l in lines}
for c in (404, 408, 414, 417, 431, 500, 501, 502, 503, 504, 505):
    assert c in codes, (c, sorted(codes))
' "$GW_TMP/access.log" || gw_fail "access log of errors: $(head -n 2 "$GW_TMP/access.log")"
gw_log "every error is in the access log"
echo PASS
