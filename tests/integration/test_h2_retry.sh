#!/bin/sh
# test_h2_retry.sh - HTTPRoute retry and RequestMirror for requests that
# arrive over HTTP/2 (h2c prior knowledge, curl):
# - HTTP/1.1 backend failing the first N tries of each request id: retried up
#   to the rule's attempts on the listed codes only, the last failure passed on;
# - h2c backend (a raw Python h2c server answering 500 to its first two
#   streams): the third try answers, each failed try was a stream of its own;
# - a request with a body is not retried (it is streamed once);
# - a mirrored request reaches the mirror while the client gets the primary's
#   answer.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
PRIM=$(gw_free_port)
MIRR=$(gw_free_port)
H2B=$(gw_free_port)

# flaky HTTP/1.1 backend: ?fail=N&code=C&id=X answers C to the first N
# requests with id X, then 200, body "try K"; every request line goes to LOG
FLAKY='
import collections, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, log = int(sys.argv[1]), sys.argv[2]
seen = collections.Counter()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self):
        with open(log, "a") as f:
            f.write(self.command + " " + self.path + "\n")
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
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
    do_GET = do_POST = answer
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'

# flaky h2c backend: its first two streams get :status 500, later ones 200;
# each answer carries "try K" (K: streams so far), written to COUNT as well.
# HPACK: indexed :status 500 (0x8e) / 200 (0x88), nothing else to decode.
cat > "$GW_TMP/h2flaky.py" << 'PYEOF'
import os, socket, struct, sys, threading

count_file = sys.argv[2]
lock = threading.Lock()
streams = [0]

def frame(t, fl, sid, p=b""):
    return struct.pack(">I", len(p))[1:] + bytes([t, fl]) + struct.pack(">I", sid) + p

def answer(c, sid):
    with lock:
        streams[0] += 1
        k = streams[0]
        with open(count_file + ".tmp", "w") as f:
            f.write(str(k))
        os.rename(count_file + ".tmp", count_file)
    body = b"try %d" % k
    c.sendall(frame(1, 4, sid, b"\x8e" if k <= 2 else b"\x88") + frame(0, 1, sid, body))

def serve(c):
    buf = b""
    try:
        while len(buf) < 24:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        buf = buf[24:]
        c.sendall(frame(4, 0, 0))
        while True:
            while len(buf) >= 9:
                n = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + n:
                    break
                t, fl, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff
                buf = buf[9 + n:]
                if t == 4 and not fl & 1:
                    c.sendall(frame(4, 1, 0))
                if t == 6 and not fl & 1:
                    c.sendall(frame(6, 1, 0, b"\0" * 8))
                if (t == 1 or t == 0) and fl & 1 and sid:
                    answer(c, sid)
            d = c.recv(65536)
            if not d:
                return
            buf += d
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF

$GW_PY -c "$FLAKY" "$PRIM" "$GW_TMP/prim.log" > /dev/null 2>&1 &
gw_track $!
$GW_PY -c "$FLAKY" "$MIRR" "$GW_TMP/mirr.log" > /dev/null 2>&1 &
gw_track $!
$GW_PY "$GW_TMP/h2flaky.py" "$H2B" "$GW_TMP/h2.count" > "$GW_TMP/h2flaky.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$PRIM" 10 || gw_fail "primary backend"
gw_wait_port 127.0.0.1 "$MIRR" 10 || gw_fail "mirror backend"
gw_wait_port 127.0.0.1 "$H2B" 10 || gw_fail "h2c backend"

{
	gw_yaml_gateway gw "$GWP"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /retry}}]
    retry: {codes: [500], attempts: 2}
    backendRefs: [{name: prim, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /h2c}}]
    retry: {codes: [500], attempts: 2}
    backendRefs: [{name: h2b, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /mirror}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: mirr, port: 8080}}
    backendRefs: [{name: prim, port: 8080}]
YEOF
	gw_yaml_service prim 8080 "$PRIM"
	gw_yaml_service mirr 8080 "$MIRR"
	gw_yaml_service --app-protocol kubernetes.io/h2c h2b 8080 "$H2B"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off

# get PATH [curl args] : status and body over h2c, "BODY CODE"; the answer
# must have come over HTTP/2
get()
{
	p=$1
	shift
	curl -s -m 10 --http2-prior-knowledge -w ' %{http_code} %{http_version}' "$@" \
		"http://127.0.0.1:$GWP$p" | sed 's/ 2$//;t;s/$/ NOT-HTTP2/'
}

# --- HTTP/1.1 backend
r=$(get '/retry?fail=2&code=500&id=a')
[ "$r" = "try 3 200" ] || gw_fail "two failures, two retries: got '$r'"
r=$(get '/retry?fail=3&code=500&id=b')
[ "$r" = "try 3 500" ] || gw_fail "three failures exceed the budget: got '$r'"
r=$(get '/retry?fail=1&code=503&id=c')
[ "$r" = "try 1 503" ] || gw_fail "503 is not in the rule's codes: got '$r'"
[ "$(grep -c 'id=a$' "$GW_TMP/prim.log")" = 3 ] ||
	gw_fail "backend saw $(grep -c 'id=a$' "$GW_TMP/prim.log") tries of a, want 3"
r=$(get '/retry?fail=1&code=500&id=p' -d 'a body')
[ "$r" = "try 1 500" ] || gw_fail "a request with a body was retried: got '$r'"
gw_log "HTTP/1.1 backend: codes and attempts honoured, bodies not retried"

# --- h2c backend: 500, 500, then 200 on the third stream
r=$(get '/h2c/x')
[ "$r" = "try 3 200" ] || gw_fail "h2c backend: got '$r' ($(cat "$GW_TMP/h2.count" 2> /dev/null) streams)"
[ "$(cat "$GW_TMP/h2.count")" = 3 ] || gw_fail "h2c backend saw $(cat "$GW_TMP/h2.count") streams, want 3"
gw_log "h2c backend: two 500s retried, the third try answers"

# --- mirror: the client gets the primary's answer; the mirror sees the request
r=$(get '/mirror/x?id=m1')
[ "$r" = "try 1 200" ] || gw_fail "mirror: primary answer '$r'"
i=0
while ! grep -q 'GET /mirror/x?id=m1$' "$GW_TMP/mirr.log" 2> /dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q 'GET /mirror/x?id=m1$' "$GW_TMP/mirr.log" || gw_fail "the mirror backend never saw the request"
r=$(get '/mirror/y?id=m2' -d 'a body')
[ "$r" = "try 1 200" ] || gw_fail "mirror with a body: primary answer '$r'"
gw_log "mirror: primary answers, mirror receives a copy (bodyless requests)"
echo PASS
