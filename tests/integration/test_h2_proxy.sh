#!/bin/sh
# test_h2_proxy.sh - HTTP/2 downstream (h2c with prior knowledge): the same
# routing as HTTP/1.1 (path and header matches, 404), many concurrent streams
# on one connection, request bodies of known and unknown length streamed
# upstream, large and chunked responses, gateway-made 502/503, gRPC errors as
# grpc-status, the advertised SETTINGS and the rapid-reset (CVE-2023-44487)
# GOAWAY.
. "$(dirname "$0")/lib.sh"
gw_init
GW_PY_ECHO=1 # the stand-in reports body_len and body_sha256
gw_require_cmd curl
curl --version | grep -q 'nghttp2' || gw_skip "curl without HTTP/2 support"

GWP=$(gw_free_port)
BE1=$(gw_free_port)
BE2=$(gw_free_port)
BE3=$(gw_free_port)
BIG=$(gw_free_port)
DEAD=$(gw_free_port)
gw_start_echo 127.0.0.1:$BE1 be1
gw_start_echo 127.0.0.1:$BE2 be2
gw_start_echo 127.0.0.1:$BE3 be3

# a backend with large responses: /cl/N (Content-Length) and /chunked/N
# (chunked, uneven chunks); the bytes are a pattern the test recomputes
$GW_PY -c '
import http.server, sys, time
def body(n):
    return (b"0123456789abcdefghijklmnopqrstuvwxyz" * (n // 36 + 1))[:n]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        kind, n = self.path.split("/")[1:3]
        b = body(int(n))
        if kind == "slow":
            # tells the test the request is in flight, then holds the answer
            open(sys.argv[2], "w").close()
            time.sleep(1)
            kind = "cl"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind == "cl":
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        i, step = 0, 1000
        while i < len(b):
            c = b[i:i + step]
            self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
            i += len(c)
            step = step * 3 % 70001 + 1
        self.wfile.write(b"0\r\n\r\n")
    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", self.path.split("/")[2])
        self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$BIG" "$GW_TMP/slow.started" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$BIG" || gw_fail "big backend did not start"

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
    - path:
        type: PathPrefix
        value: /one
    backendRefs:
    - name: be1
      port: 8080
  - matches:
    - headers:
      - name: x-pick
        value: two
    backendRefs:
    - name: be2
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /three
      headers:
      - name: x-pick
        value: three
    backendRefs:
    - name: be3
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /big
    filters:
    - type: URLRewrite
      urlRewrite:
        path:
          type: ReplacePrefixMatch
          replacePrefixMatch: /
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        add:
        - name: x-gw
          value: h2
    backendRefs:
    - name: big
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /dead
    backendRefs:
    - name: dead
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /empty
    backendRefs:
    - name: empty
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /moved
    filters:
    - type: RequestRedirect
      requestRedirect:
        hostname: example.org
        statusCode: 301
YEOF
	gw_yaml_service be1 8080 "$BE1"
	gw_yaml_service be2 8080 "$BE2"
	gw_yaml_service be3 8080 "$BE3"
	gw_yaml_service big 8080 "$BIG"
	gw_yaml_service dead 8080 "$DEAD"
	gw_yaml_service empty 8080
} > "$GW_TMP/gw.yaml"
cat > "$GW_TMP/h2raw.py" << 'PYEOF'
import socket, struct, time

def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload

def get_block(path):
    # HPACK: indexed :method GET, :scheme http; literal :path and :authority
    # without indexing (no Huffman)
    p = path.encode()
    return b"\x82\x86" + b"\x04" + bytes([len(p)]) + p + b"\x01\x01a"

def h2_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0))
    return s

def read_frames(s, until, limit_s=5):
    # frames as (type, flags, stream, payload) until until(frames) is true,
    # the peer closes, or limit_s pass
    buf, out, end = b"", [], time.monotonic() + limit_s
    s.settimeout(0.5)
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not d:
            break
        buf += d
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            out.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff, buf[9:9 + n]))
            buf = buf[9 + n:]
        if until(out):
            break
    return out
PYEOF
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log "$GW_TMP/access.log"
U=http://127.0.0.1:$GWP
H2="curl -sS -m 20 --http2-prior-knowledge"

# --- the answer comes over HTTP/2, and the backend sees an HTTP/1.1 request
out=$($H2 -w '\n%{http_version}' "$U/one/x?q=1") || gw_fail "GET over h2c"
[ "$(echo "$out" | tail -n 1)" = 2 ] || gw_fail "not answered over HTTP/2: $out"
echo "$out" | sed '$d' | $GW_PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["path"] == "/one/x?q=1", d["path"]
assert d["pod"] == "be1", d["pod"]
h = {k.lower(): v for k, v in d["headers"].items()}
assert h["x-forwarded-proto"] == ["http"], h
assert h["x-forwarded-for"] == ["127.0.0.1"], h
' || gw_fail "unexpected echo: $out"
gw_log "h2c GET forwarded as HTTP/1.1 with path, query and X-Forwarded-*"

# --- routing by path and header: HTTP/2 picks what HTTP/1.1 picks
pod()
{
	# pod VERSIONFLAG PATH [HEADER]: the backend's name, or the status
	if [ -n "${3:-}" ]; then
		o=$(curl -sS -m 10 $1 -H "$3" -w '\n%{http_code}' "$U$2")
	else
		o=$(curl -sS -m 10 $1 -w '\n%{http_code}' "$U$2")
	fi
	c=$(echo "$o" | tail -n 1)
	if [ "$c" = 200 ]; then
		echo "$o" | sed '$d' | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["pod"])'
	else
		echo "$c"
	fi
}
for case in "/one|" "/one/deeper|x-pick: two" "/zzz|x-pick: two" "/three|x-pick: three" \
	"/three|" "/zzz|" "/three|x-pick: nope"; do
	p=${case%%|*}
	h=${case#*|}
	a=$(pod --http1.1 "$p" "$h")
	b=$(pod --http2-prior-knowledge "$p" "$h")
	[ -n "$a" ] && [ "$a" = "$b" ] || gw_fail "$p [$h]: HTTP/1.1 -> '$a', HTTP/2 -> '$b'"
	gw_log "$p [$h] -> $b on both"
done
[ "$(pod --http2-prior-knowledge /zzz)" = 404 ] || gw_fail "no route must be 404"
[ "$(pod --http2-prior-knowledge /one)" = be1 ] || gw_fail "/one must reach be1"
[ "$(pod --http2-prior-knowledge /x 'x-pick: two')" = be2 ] || gw_fail "header match must reach be2"

# --- 30 concurrent streams on one connection, with a raw HTTP/2 client
# (curl 7.88's --parallel with --http2-prior-knowledge fails against any
# h2c server, nginx included). Every stream must end with its own answer.
$GW_PY - "$GWP" "$GW_TMP/h2raw.py" << 'PYEOF' || gw_fail "30 concurrent streams"
import sys
exec(open(sys.argv[2]).read())
s = h2_connect(int(sys.argv[1]))
out = frame(4, 1, 0)
for i in range(30):
    out += frame(1, 0x4 | 0x1, 1 + 2 * i, get_block("/one/p%d" % i))
s.sendall(out)
done = {}
bodies = {}
def all_done(fr):
    for t, fl, sid, p in fr:
        if t == 0:
            bodies[sid] = bodies.get(sid, b"") + p
            if fl & 1:
                done[sid] = True
    fr.clear()
    return len(done) == 30
read_frames(s, all_done, 15)
assert len(done) == 30, "%d of 30 streams ended" % len(done)
for i in range(30):
    b = bodies[1 + 2 * i]
    assert b'"/one/p%d"' % i in b, (i, b[:200])
print("# 30 concurrent streams answered on one connection, each with its own body")
PYEOF

# --- request bodies, streamed: known length and unknown length (no
# content-length: forwarded chunked)
head -c 3000000 /dev/urandom > "$GW_TMP/body"
want=$(sha256sum "$GW_TMP/body" | cut -d' ' -f1)
out=$($H2 --data-binary @"$GW_TMP/body" "$U/one/upload") || gw_fail "POST known length"
got=$(echo "$out" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body_len"], d["body_sha256"])')
[ "$got" = "3000000 $want" ] || gw_fail "POST body (known length) arrived as '$got'"
out=$($H2 -T - -X POST "$U/one/upload" < "$GW_TMP/body") || gw_fail "POST unknown length"
got=$(echo "$out" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body_len"], d["body_sha256"])')
[ "$got" = "3000000 $want" ] || gw_fail "POST body (unknown length) arrived as '$got'"
gw_log "3 MB request bodies streamed intact (Content-Length and chunked upstream)"

# --- large responses: Content-Length and chunked, with a response filter
for kind in cl chunked; do
	$H2 -D "$GW_TMP/$kind.h" -o "$GW_TMP/$kind.b" "$U/big/$kind/2000000" || gw_fail "GET $kind"
	exp=$($GW_PY -c 'import hashlib; n=2000000; print(hashlib.sha256((b"0123456789abcdefghijklmnopqrstuvwxyz" * (n // 36 + 1))[:n]).hexdigest())')
	[ "$(sha256sum "$GW_TMP/$kind.b" | cut -d' ' -f1)" = "$exp" ] || gw_fail "$kind body differs ($(wc -c < "$GW_TMP/$kind.b") bytes)"
	grep -qi '^x-gw: h2' "$GW_TMP/$kind.h" || gw_fail "$kind: response filter missing: $(cat "$GW_TMP/$kind.h")"
	grep -qi '^transfer-encoding' "$GW_TMP/$kind.h" && gw_fail "$kind: hop-by-hop header forwarded"
done
gw_log "2 MB responses (Content-Length, chunked) intact, response filter applied"

# --- HEAD: the length is announced, no body is awaited
out=$($H2 -I -w '%{http_code} %{size_download}' -o "$GW_TMP/head.h" "$U/big/cl/5000") || gw_fail "HEAD"
[ "$out" = "200 0" ] || gw_fail "HEAD: $out"
grep -qi '^content-length: 5000' "$GW_TMP/head.h" || gw_fail "HEAD: $(cat "$GW_TMP/head.h")"

# --- gateway-made answers
code=$($H2 -o /dev/null -w '%{http_code}' "$U/dead") || gw_fail "GET /dead"
[ "$code" = 502 ] || gw_fail "refused backend: $code, want 502"
code=$($H2 -o /dev/null -w '%{http_code}' "$U/empty") || gw_fail "GET /empty"
[ "$code" = 503 ] || gw_fail "no endpoints: $code, want 503"
loc=$($H2 -o /dev/null -w '%{http_code} %{redirect_url}' "$U/moved/x") || gw_fail "redirect"
loc1=$(curl -sS -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$U/moved/x")
case "$loc" in
"301 http://example.org"*/moved/x) ;;
*) gw_fail "redirect: '$loc'" ;;
esac
[ "$loc" = "$loc1" ] || gw_fail "redirect differs: HTTP/2 '$loc', HTTP/1.1 '$loc1'"
gw_log "502, 503 and a RequestRedirect answered over HTTP/2"

# --- gRPC: no route is UNIMPLEMENTED (grpc-status 12) in a trailers-only answer
$H2 -D "$GW_TMP/grpc.h" -o /dev/null -X POST -H 'content-type: application/grpc' \
	-H 'te: trailers' --data-binary '' "$U/pkg.Svc/Method" || gw_fail "gRPC request"
head -n 1 "$GW_TMP/grpc.h" | grep -q '^HTTP/2 200' || gw_fail "gRPC status line: $(cat "$GW_TMP/grpc.h")"
grep -qi '^grpc-status: 12' "$GW_TMP/grpc.h" || gw_fail "gRPC no route: $(cat "$GW_TMP/grpc.h")"
gw_log "gRPC without a route -> grpc-status 12"

# --- SETTINGS and rapid reset, with a raw HTTP/2 client
$GW_PY - "$GWP" "$GW_TMP/h2raw.py" << 'PYEOF' || gw_fail "raw HTTP/2 checks"
import struct, sys
exec(open(sys.argv[2]).read())
port = int(sys.argv[1])
# GET / with :authority "a" (HPACK: indexed :method GET, :scheme http, :path /;
# literal :authority without indexing)
hdrs = get_block("/")
s = h2_connect(port)
fr = read_frames(s, lambda o: any(f[0] == 4 and not f[1] & 1 for f in o))
settings = [f for f in fr if f[0] == 4 and not f[1] & 1]
assert settings, fr
p = settings[0][3]
kv = {int.from_bytes(p[i:i + 2], "big"): int.from_bytes(p[i + 2:i + 6], "big") for i in range(0, len(p), 6)}
assert kv.get(3) == 100, kv           # MAX_CONCURRENT_STREAMS
assert kv.get(6) == 16384, kv         # MAX_HEADER_LIST_SIZE
print("# SETTINGS: max concurrent streams 100, max header list 16384")

# rapid reset: open and cancel 400 streams
out = frame(4, 1, 0)  # ACK the server's SETTINGS
for i in range(400):
    sid = 1 + 2 * i
    out += frame(1, 0x4 | 0x1, sid, hdrs) + frame(3, 0, sid, struct.pack(">I", 8))
try:
    s.sendall(out)
except (BrokenPipeError, ConnectionResetError):
    pass
fr = read_frames(s, lambda o: any(f[0] == 7 for f in o))
ga = [f for f in fr if f[0] == 7]
assert ga, "no GOAWAY after 400 cancelled streams: %r" % [f[:3] for f in fr][:20]
code = int.from_bytes(ga[0][3][4:8], "big")
assert code == 0xb, "GOAWAY code %d, want ENHANCE_YOUR_CALM" % code
print("# rapid reset: GOAWAY ENHANCE_YOUR_CALM")
s.close()
PYEOF

# --- the gateway still serves after all that
[ "$(pod --http2-prior-knowledge /one)" = be1 ] || gw_fail "gateway unhealthy after the raw tests"

# --- access log: HTTP/2 requests are logged like HTTP/1.1 ones
$GW_PY -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
get = [l for l in lines if l["path"] == "/one/x?q=1"]
assert get and get[0]["status"] == 200 and get[0]["method"] == "GET", get
assert get[0]["route"] and get[0]["backend"], get[0]
nr = [l for l in lines if l["path"] == "/zzz" and l["status"] == 404]
assert nr and nr[0]["reason"] == "no_route", nr
up = [l for l in lines if l["path"] == "/one/upload" and l["method"] == "POST"]
assert up and up[0]["bytes_in"] >= 3000000, up
' "$GW_TMP/access.log" || gw_fail "access log: $(tail -n 3 "$GW_TMP/access.log")"
gw_log "HTTP/2 requests in the access log"

# --- SIGTERM: a stream in flight finishes (GOAWAY), then exit 0
$H2 -o "$GW_TMP/slow.b" -w '%{http_code}' "$U/big/slow/100000" > "$GW_TMP/slow.code" 2>&1 &
CPID=$!
gw_track $CPID
i=0
while [ ! -e "$GW_TMP/slow.started" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e "$GW_TMP/slow.started" ] || gw_fail "slow request never reached the backend"
gw_stop_gwbpf TERM
[ "$GW_RC" = 0 ] || gw_fail "exit status after SIGTERM: $GW_RC"
wait $CPID
gw_untrack $CPID
[ "$(cat "$GW_TMP/slow.code")" = 200 ] || gw_fail "in-flight stream at SIGTERM: $(cat "$GW_TMP/slow.code")"
[ "$(wc -c < "$GW_TMP/slow.b")" = 100000 ] || gw_fail "in-flight stream body cut"
gw_log "SIGTERM: the in-flight stream completed, exit 0"
gw_log "HTTP/2 checks passed"
