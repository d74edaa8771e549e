#!/bin/sh
# test_h2_trailers.sh - request trailers from an HTTP/2 client (HEADERS, DATA,
# trailing HEADERS; nghttp --trailer):
# - to an HTTP/1.1 backend, a body without Content-Length goes chunked and the
#   trailers land in the chunked trailer section, minus the fields RFC 9110
#   6.5.1 bars from trailers (authorization here);
# - a body with Content-Length has nowhere to carry them: the backend gets the
#   body with its length and no trailers (docs/http2.md);
# - to an h2c backend they go as trailing HEADERS: the h2c backend here is a
#   second Gateway of the same gwbpf, which forwards what it received to the
#   HTTP/1.1 backend, so its trailer section shows what crossed the h2c hop;
# - a trailer section over the header-list limit resets that stream only.
# The HTTP/1.1 backend is a raw Python server that stores every request's
# bytes as received, so the framing itself is checked.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd nghttp
gw_private_bin

GWP=$(gw_free_port)
GWP2=$(gw_free_port)
BE=$(gw_free_port)
mkdir -p "$GW_TMP/req"

cat > "$GW_TMP/capture.py" << 'PYEOF'
# HTTP/1.1 backend: stores each request's raw bytes in DIR/<n>, answers
# 200 "ok" (keep-alive); reads Content-Length and chunked bodies (trailers
# included). One thread per connection; the test kills it.
import os, socket, sys, threading

DIR = sys.argv[2]
lock = threading.Lock()
count = [0]

def line(c, buf):
    while b"\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            raise EOFError
        buf += d
    i = buf.index(b"\r\n") + 2
    return buf[:i], buf[i:]

def exact(c, buf, n):
    while len(buf) < n:
        d = c.recv(65536)
        if not d:
            raise EOFError
        buf += d
    return buf[:n], buf[n:]

def serve(c):
    buf = b""
    try:
        while True:
            raw = b""
            while True:
                ln, buf = line(c, buf)
                raw += ln
                if ln == b"\r\n":
                    break
            head = raw.decode("latin-1").lower()
            if "transfer-encoding: chunked" in head:
                while True:
                    ln, buf = line(c, buf)
                    raw += ln
                    size = int(ln.split(b";")[0], 16)
                    if size == 0:
                        break
                    data, buf = exact(c, buf, size + 2)
                    raw += data
                while True:  # trailer section, up to the empty line
                    ln, buf = line(c, buf)
                    raw += ln
                    if ln == b"\r\n":
                        break
            else:
                for h in head.split("\r\n"):
                    if h.startswith("content-length:"):
                        data, buf = exact(c, buf, int(h.split(":", 1)[1]))
                        raw += data
            with lock:
                count[0] += 1
                n = count[0]
            with open(os.path.join(DIR, "%d.tmp" % n), "wb") as f:
                f.write(raw)
            os.rename(os.path.join(DIR, "%d.tmp" % n), os.path.join(DIR, str(n)))
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except (EOFError, OSError, ValueError):
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
$GW_PY "$GW_TMP/capture.py" "$BE" "$GW_TMP/req" > "$GW_TMP/capture.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$BE" 10 || gw_fail "capture backend did not start"

{
	gw_yaml_gateway gw "$GWP"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw2, namespace: default}
spec:
  gatewayClassName: gwbpf
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: http, protocol: HTTP, port: $GWP2, allowedRoutes: {namespaces: {from: Same}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: front, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /via-h2c}}]
    backendRefs: [{name: hop, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: cap, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: back, namespace: default}
spec:
  parentRefs: [{name: gw2}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {add: [{name: x-hop, value: gw2}]}
    backendRefs: [{name: cap, port: 8080}]
YEOF
	gw_yaml_service cap 8080 "$BE"
	gw_yaml_service --app-protocol kubernetes.io/h2c hop 8080 "$GWP2"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off
U=http://127.0.0.1:$GWP
printf 'hello trailers' > "$GW_TMP/body"

# req N PATTERN... : request file N of the capture backend exists (5 s) and
# holds every PATTERN (a fixed string)
req()
{
	n=$1
	shift
	i=0
	while [ ! -f "$GW_TMP/req/$n" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -f "$GW_TMP/req/$n" ] || gw_fail "backend request $n never arrived (got: $(ls "$GW_TMP/req"))"
	for p in "$@"; do
		grep -qF -- "$p" "$GW_TMP/req/$n" || {
			echo "----- backend request $n:"
			cat -A "$GW_TMP/req/$n"
			gw_fail "backend request $n lacks '$p'"
		}
	done
}

# ok200 : nghttp's -v output in $GW_TMP/v shows a 200 answer
ok200()
{
	grep -q ':status: 200' "$GW_TMP/v" || { cat "$GW_TMP/v"; gw_fail "$1: no 200"; }
}

# --- HTTP/1.1 backend, body of unknown length: chunked, trailers in the
# trailer section, the barred authorization trailer dropped
nghttp -v -d "$GW_TMP/body" --no-content-length --trailer 'x-checksum: abc123' \
	--trailer 'x-two: 2' --trailer 'authorization: secret' "$U/h1" > "$GW_TMP/v" 2>&1 ||
	{ cat "$GW_TMP/v"; gw_fail "nghttp with trailers"; }
ok200 "trailers to HTTP/1.1"
grep -q 'x-checksum: abc123' "$GW_TMP/v" || gw_fail "nghttp sent no trailers"
req 1 "POST /h1 HTTP/1.1" "Transfer-Encoding: chunked" "hello trailers" "x-checksum: abc123" \
	"x-two: 2"
tr -d '\r' < "$GW_TMP/req/1" | sed -n '/^0$/,$p' | grep -q '^x-checksum: abc123$' ||
	gw_fail "x-checksum is not in the chunked trailer section: $(cat -A "$GW_TMP/req/1")"
# (the head's "trailer:" announcement, nghttp's, may still name it)
tr -d '\r' < "$GW_TMP/req/1" | sed -n '/^0$/,$p' | grep -qi '^authorization' &&
	gw_fail "barred trailer authorization forwarded: $(cat -A "$GW_TMP/req/1")"
gw_log "HTTP/1.1 backend: trailers in the chunked trailer section, barred field dropped"

# --- with Content-Length: the body goes with its length, no trailers
nghttp -v -d "$GW_TMP/body" --trailer 'x-checksum: abc123' "$U/cl" > "$GW_TMP/v" 2>&1 ||
	{ cat "$GW_TMP/v"; gw_fail "nghttp with Content-Length and trailers"; }
ok200 "Content-Length body with trailers"
req 2 "POST /cl HTTP/1.1" "hello trailers"
grep -qi '^content-length: 14' "$GW_TMP/req/2" || gw_fail "no Content-Length: $(cat -A "$GW_TMP/req/2")"
grep -q '^x-checksum' "$GW_TMP/req/2" && gw_fail "trailers after a Content-Length body"
gw_log "Content-Length body: forwarded with its length, trailers dropped"

# --- h2c backend: trailers as trailing HEADERS (gw -> gw2 over h2c -> HTTP/1.1)
nghttp -v -d "$GW_TMP/body" --no-content-length --trailer 'x-checksum: h2c-hop' \
	"$U/via-h2c" > "$GW_TMP/v" 2>&1 || { cat "$GW_TMP/v"; gw_fail "nghttp via h2c"; }
ok200 "trailers via h2c"
req 3 "POST /via-h2c HTTP/1.1" "x-hop: gw2" "Transfer-Encoding: chunked" "hello trailers" \
	"x-checksum: h2c-hop"
tr -d '\r' < "$GW_TMP/req/3" | sed -n '/^0$/,$p' | grep -q '^x-checksum: h2c-hop$' ||
	gw_fail "x-checksum did not cross the h2c hop as a trailer: $(cat -A "$GW_TMP/req/3")"
gw_log "h2c backend: trailers forwarded as trailing HEADERS"

# --- a trailer section over the header-list limit (16 KiB): that stream is
# reset, the connection and the next request are fine
big=$(head -c 17000 /dev/zero | tr '\0' a)
nghttp -v -d "$GW_TMP/body" --no-content-length --trailer "x-big: $big" "$U/big" \
	> "$GW_TMP/v" 2>&1
grep -q ':status: 200' "$GW_TMP/v" && gw_fail "a 17 KB trailer section was accepted"
grep -q 'recv RST_STREAM\|recv GOAWAY' "$GW_TMP/v" || gw_fail "oversized trailers: no reset: $(tail -5 "$GW_TMP/v")"
nghttp -v -d "$GW_TMP/body" --no-content-length --trailer 'x-after: 1' "$U/after" \
	> "$GW_TMP/v" 2>&1 || gw_fail "request after the oversized trailers"
ok200 "request after the oversized trailers"
kill -0 "$GW_PID" || gw_fail "gwbpf died"
gw_log "oversized trailer section: stream reset, gwbpf fine"
echo "PASS"
