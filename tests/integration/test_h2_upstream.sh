#!/bin/sh
# test_h2_upstream.sh - upstream h2c for a Service port with appProtocol
# kubernetes.io/h2c, from HTTP/2 clients: the backend (nginx, h2c with prior
# knowledge) sees an HTTP/2 request with the path, query and authority the
# filters produced; the response, its headers and its trailers come back; a
# request body crosses intact (nginx passes it on to an HTTP/1.1 echo); a
# closed h2c port is a 502. The same for HTTP/1.1 clients (h2_bridge.c).
. "$(dirname "$0")/lib.sh"
gw_init
GW_PY_ECHO=1 # bodies are checked
gw_require_cmd curl
gw_require_cmd nginx
curl --version | grep -q 'nghttp2' || gw_skip "curl without HTTP/2 support"
nginx -V 2>&1 | grep -q http_v2_module || gw_skip "nginx without the HTTP/2 module"

GWP=$(gw_free_port)
NGP=$(gw_free_port)
BE=$(gw_free_port)
DEAD=$(gw_free_port)
gw_start_echo 127.0.0.1:$BE be1

mkdir -p "$GW_TMP/ng"
cat > "$GW_TMP/ng/nginx.conf" << NEOF
daemon off;
user root root; # temp files in $GW_TMP, which only root may enter
pid $GW_TMP/ng/nginx.pid;
error_log $GW_TMP/ng/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $GW_TMP/ng;
  proxy_temp_path $GW_TMP/ng;
  server {
    listen 127.0.0.1:$NGP http2;
    location /echo/ {
      proxy_http_version 1.1;
      proxy_pass http://127.0.0.1:$BE;
    }
    location / {
      add_header x-backend-proto \$server_protocol;
      return 200 "method=\$request_method uri=\$request_uri host=\$host xff=\$http_x_forwarded_for\n";
    }
  }
}
NEOF
nginx -c "$GW_TMP/ng/nginx.conf" -p "$GW_TMP/ng" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$NGP" 10 || gw_fail "nginx did not start: $(cat "$GW_TMP/ng/error.log")"

# nginx sends no trailers for these answers: a raw h2c backend does
TRP=$(gw_free_port)
cat > "$GW_TMP/trailers.py" << 'PYEOF'
# a tiny h2c server: every request gets HEADERS(:status 200), DATA "hi\n",
# and trailers grpc-status: 0, grpc-message: ok (HPACK literals, no Huffman)
import socket, struct, sys, threading

def frame(t, fl, sid, p=b""):
    return struct.pack(">I", len(p))[1:] + bytes([t, fl]) + struct.pack(">I", sid) + p

def lit(n, v):
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v

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
                if (t == 1 or t == 0) and fl & 1 and sid:
                    c.sendall(frame(1, 4, sid, b"\x88" + lit(b"content-type", b"application/grpc")) +
                              frame(0, 0, sid, b"hi\n") +
                              frame(1, 5, sid, lit(b"grpc-status", b"0") + lit(b"grpc-message", b"ok")))
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
$GW_PY "$GW_TMP/trailers.py" "$TRP" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$TRP" 10 || gw_fail "trailers backend did not start"

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
  - matches: [{path: {type: PathPrefix, value: /t}}]
    backendRefs: [{name: tr, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /dead}}]
    backendRefs: [{name: dead, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /rewritten}}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: x-gw, value: "yes"}]}
    backendRefs: [{name: ng, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: ng, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{method: {service: pkg.Svc, method: Call}}]
    backendRefs: [{name: tr, port: 8080}]
YEOF
	gw_yaml_service --app-protocol kubernetes.io/h2c ng 8080 "$NGP"
	gw_yaml_service --app-protocol kubernetes.io/h2c dead 8080 "$DEAD"
	gw_yaml_service --app-protocol kubernetes.io/h2c tr 8080 "$TRP"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
U=http://127.0.0.1:$GWP
H2="curl -sS -m 20 --http2-prior-knowledge"

# --- the backend gets HTTP/2, with the rewritten path and the query
out=$($H2 -D "$GW_TMP/h" "$U/v1/a?b=c") || gw_fail "GET through h2c"
case "$out" in
"method=GET uri=/rewritten/a?b=c host=127.0.0.1 xff=127.0.0.1") ;;
*) gw_fail "backend saw: '$out'" ;;
esac
grep -qi '^x-backend-proto: HTTP/2.0' "$GW_TMP/h" || gw_fail "backend not reached over HTTP/2: $(cat "$GW_TMP/h")"
grep -qi '^x-gw: yes' "$GW_TMP/h" || gw_fail "response filter not applied: $(cat "$GW_TMP/h")"
gw_log "h2c upstream: HTTP/2 request with rewritten path, response filter applied"

# --- trailers from the backend reach the client (what gRPC status needs)
$H2 -v -o "$GW_TMP/tb" "$U/t" 2> "$GW_TMP/v" || gw_fail "GET with trailers"
[ "$(cat "$GW_TMP/tb")" = hi ] || gw_fail "body before trailers: $(cat "$GW_TMP/tb")"
grep -qi '^< grpc-status: 0' "$GW_TMP/v" || gw_fail "trailers lost: $(grep '^<' "$GW_TMP/v")"
grep -qi '^< grpc-message: ok' "$GW_TMP/v" || gw_fail "trailers lost: $(grep '^<' "$GW_TMP/v")"
gw_log "response trailers forwarded"

# --- GRPCRoute: a gRPC call reaches its h2c backend, its status comes back
# as trailers; a method no rule matches is UNIMPLEMENTED from the gateway
$H2 -v -o "$GW_TMP/g" -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
	--data-binary '' "$U/pkg.Svc/Call" 2> "$GW_TMP/gv" || gw_fail "gRPC call"
grep -qi '^< grpc-status: 0' "$GW_TMP/gv" || gw_fail "gRPC call: $(grep '^<' "$GW_TMP/gv")"
[ "$(cat "$GW_TMP/g")" = hi ] || gw_fail "gRPC body: $(cat "$GW_TMP/g")"
gw_log "GRPCRoute call answered by its h2c backend, grpc-status 0 in trailers"

# --- a request body, known and unknown length, through h2c
head -c 500000 /dev/urandom > "$GW_TMP/body"
want=$(sha256sum "$GW_TMP/body" | cut -d' ' -f1)
for mode in known unknown; do
	if [ $mode = known ]; then
		out=$($H2 --data-binary @"$GW_TMP/body" "$U/echo/up") || gw_fail "POST ($mode)"
	else
		out=$($H2 -T - -X POST "$U/echo/up" < "$GW_TMP/body") || gw_fail "POST ($mode)"
	fi
	got=$(echo "$out" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body_len"], d["body_sha256"])') ||
		gw_fail "POST ($mode): $out"
	[ "$got" = "500000 $want" ] || gw_fail "body ($mode length) arrived as '$got'"
done
gw_log "request bodies intact through h2c"

# --- several streams at once, each on its own upstream h2c connection
i=0
pids=""
while [ $i -lt 8 ]; do
	$H2 -o "$GW_TMP/p$i" "$U/v1/p$i" &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do
	wait "$p"
done
i=0
while [ $i -lt 8 ]; do
	grep -q "uri=/rewritten/p$i " "$GW_TMP/p$i" || gw_fail "stream $i: $(cat "$GW_TMP/p$i")"
	i=$((i + 1))
done
gw_log "8 concurrent h2c requests"

# --- a closed h2c port: 502
code=$($H2 -o /dev/null -w '%{http_code}' "$U/dead") || gw_fail "GET /dead"
[ "$code" = 502 ] || gw_fail "closed h2c backend: $code, want 502"
gw_log "closed h2c backend -> 502"

# --- HTTP/1.1 clients reach the same h2c backends (h2_bridge.c): the
# backend still gets HTTP/2, the client gets HTTP/1.1 with Content-Length or
# chunked framing, and the backend's trailers in the chunked trailer section
H1="curl -sS -m 20 --http1.1"
out=$($H1 -D "$GW_TMP/h1h" "$U/v1/a?b=c") || gw_fail "HTTP/1.1 GET through h2c"
case "$out" in
"method=GET uri=/rewritten/a?b=c host=127.0.0.1 xff=127.0.0.1") ;;
*) gw_fail "HTTP/1.1 client: backend saw: '$out'" ;;
esac
grep -qi '^HTTP/1.1 200' "$GW_TMP/h1h" || gw_fail "HTTP/1.1 client: $(cat "$GW_TMP/h1h")"
grep -qi '^x-backend-proto: HTTP/2.0' "$GW_TMP/h1h" || gw_fail "HTTP/1.1 client: backend not reached over HTTP/2: $(cat "$GW_TMP/h1h")"
grep -qi '^x-gw: yes' "$GW_TMP/h1h" || gw_fail "HTTP/1.1 client: response filter not applied"
# (curl -D lists the trailers after the head and its blank line)
$H1 -D "$GW_TMP/h1v" -o "$GW_TMP/h1t" "$U/t" || gw_fail "HTTP/1.1 GET with trailers"
[ "$(cat "$GW_TMP/h1t")" = hi ] || gw_fail "HTTP/1.1 body before trailers: $(cat "$GW_TMP/h1t")"
grep -qi '^transfer-encoding: chunked' "$GW_TMP/h1v" || gw_fail "no chunked framing: $(cat "$GW_TMP/h1v")"
sed -n '/^\r*$/,$p' "$GW_TMP/h1v" | grep -qi '^grpc-status: 0' ||
	gw_fail "HTTP/1.1 trailers lost: $(cat "$GW_TMP/h1v")"
for mode in known unknown; do
	if [ $mode = known ]; then
		out=$($H1 --data-binary @"$GW_TMP/body" "$U/echo/up") || gw_fail "HTTP/1.1 POST ($mode)"
	else
		out=$($H1 -H 'Transfer-Encoding: chunked' --data-binary @"$GW_TMP/body" "$U/echo/up") ||
			gw_fail "HTTP/1.1 POST ($mode)"
	fi
	got=$(echo "$out" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body_len"], d["body_sha256"])') ||
		gw_fail "HTTP/1.1 POST ($mode): $out"
	[ "$got" = "500000 $want" ] || gw_fail "HTTP/1.1 body ($mode length) arrived as '$got'"
done
# keep-alive: two requests on one client connection, HEAD without a body
out=$($H1 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "$U/v1/k1" "$U/v1/k2")
[ "$(echo "$out" | tr '\n' ' ')" = "200 1 200 0 " ] || gw_fail "HTTP/1.1 keep-alive through h2c: $out"
code=$($H1 -I -o /dev/null -w '%{http_code}' "$U/v1/h") || gw_fail "HTTP/1.1 HEAD"
[ "$code" = 200 ] || gw_fail "HTTP/1.1 HEAD through h2c: $code"
code=$($H1 -o /dev/null -w '%{http_code}' "$U/dead") || gw_fail "HTTP/1.1 GET /dead"
[ "$code" = 502 ] || gw_fail "HTTP/1.1 client, closed h2c backend: $code, want 502"
gw_log "HTTP/1.1 clients: h2c backend reached, trailers, 500 KB bodies both ways of framing, keep-alive, HEAD, 502"
