#!/bin/sh
# test_proxy_retry_mirror.sh - HTTPRoute retry (codes, attempts) and
# RequestMirror: the backend fails the first N tries of each request id; the
# gateway retries up to the rule's attempts on the listed codes only. A
# mirrored request reaches the mirror backend while the client gets the
# primary's answer.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
PRIM=$(gw_free_port)
MIRR=$(gw_free_port)

# flaky backend: ?fail=N&code=C&id=X answers C to the first N requests with
# id X, then 200; every request line is appended to LOG
FLAKY='
import collections, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, log = int(sys.argv[1]), sys.argv[2]
seen = collections.Counter()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        seen[q.get("id", "")] += 1
        code = 200
        if seen[q.get("id", "")] <= int(q.get("fail", "0")):
            code = int(q.get("code", "500"))
        body = b"try %d" % seen[q.get("id", "")]
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'
$GW_PY -c "$FLAKY" "$PRIM" "$GW_TMP/prim.log" > /dev/null 2>&1 &
gw_track $!
$GW_PY -c "$FLAKY" "$MIRR" "$GW_TMP/mirr.log" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$PRIM" 10 || gw_fail "primary backend"
gw_wait_port 127.0.0.1 "$MIRR" 10 || gw_fail "mirror backend"

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
    - path: {type: PathPrefix, value: /retry}
    retry:
      codes: [500]
      attempts: 2
    backendRefs:
    - {name: prim, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /mirror}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: mirr, port: 8080}
    backendRefs:
    - {name: prim, port: 8080}
YEOF
	gw_yaml_service prim 8080 "$PRIM"
	gw_yaml_service mirr 8080 "$MIRR"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off

get() { curl -s -m 10 -w ' %{http_code}' "http://127.0.0.1:$GWP$1"; }

# two failures, two retries allowed: the third try succeeds
[ "$(get '/retry?fail=2&code=500&id=a')" = "try 3 200" ] || gw_fail "retry: $(get '/retry?fail=2&code=500&id=a2')"
# three failures exceed the budget: the last failure is passed on
[ "$(get '/retry?fail=3&code=500&id=b')" = "try 3 500" ] || gw_fail "retry budget"
# 503 is not in the rule's codes: no retry
[ "$(get '/retry?fail=1&code=503&id=c')" = "try 1 503" ] || gw_fail "retried a code not listed"
[ "$(grep -c 'id=a$' "$GW_TMP/prim.log")" = 3 ] || gw_fail "backend saw $(grep -c 'id=a$' "$GW_TMP/prim.log") tries of a"
gw_log "retry: codes and attempts honoured"

# mirror: the client gets the primary's answer; the mirror sees the request
[ "$(get '/mirror/x?id=m1')" = "try 1 200" ] || gw_fail "mirror: primary answer"
i=0
while ! grep -q '^/mirror/x?id=m1$' "$GW_TMP/mirr.log" 2> /dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q '^/mirror/x?id=m1$' "$GW_TMP/mirr.log" || gw_fail "the mirror backend never saw the request"
grep -q '^/mirror/x?id=m1$' "$GW_TMP/prim.log" || gw_fail "the primary never saw the request"
gw_log "mirror: primary answers, mirror receives a copy"
echo PASS
