#!/bin/sh
# test_leaks.sh - the daemon under LeakSanitizer through a scripted workload
# of every feature that works today (routing, filters, redirects, rewrites,
# 404/502/504, malformed requests, pipelining, chunked bodies, WebSocket,
# config reloads including a broken edit, backends dying mid-response,
# admin endpoints), then SIGTERM: the daemon must exit 0 with zero leaks
# and no sanitizer report.
#
# The binary is $B/gwbpf when it was built with ASan (make SANITIZE=1), else
# build-san/gwbpf when it is newer than every source, else valgrind
# --leak-check=full on $B/gwbpf, else skip.
. "$(dirname "$0")/lib.sh"
gw_init

SAN=$GW_ROOT/build-san/gwbpf
MODE=""
if grep -q __asan_init "$GW_BIN" 2> /dev/null; then
	MODE=asan
elif [ -x "$SAN" ] && [ -z "$(find "$GW_ROOT/userspace" "$GW_ROOT/include" -newer "$SAN" \
	-name '*.[ch]' 2> /dev/null | head -n 1)" ]; then
	GW_BIN=$SAN
	MODE=asan
elif command -v valgrind > /dev/null 2>&1 && [ -x "$GW_BIN" ]; then
	MODE=valgrind
else
	gw_skip "no ASan build (make SANITIZE=1) and no valgrind"
fi
gw_log "mode $MODE, binary $GW_BIN"

GWP=$(gw_free_port)
BEP=$(gw_free_port)
DEADP=$(gw_free_port)
SILENTP=$(gw_free_port)
GW_PY_ECHO=1 gw_start_echo 127.0.0.1:$BEP be1

# a backend that answers half a response then closes, and one that accepts
# and never answers (bounded: each lives at most 120 s)
$GW_PY - "$DEADP" "$SILENTP" > "$GW_TMP/bad-backends.log" 2>&1 << 'PYEOF' &
import socket, sys, threading, time
def serve(port, half):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(64)
    held = []
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(2)
            c.recv(65536)
            if half:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhalf")
                c.close()
            else:
                held.append(c)
        except OSError:
            c.close()
for p, h in ((int(sys.argv[1]), True), (int(sys.argv[2]), False)):
    threading.Thread(target=serve, args=(p, h), daemon=True).start()
time.sleep(120)
PYEOF
gw_track $!
gw_wait_port 127.0.0.1 "$DEADP" 10 || gw_fail "dying backend did not start"
gw_wait_port 127.0.0.1 "$SILENTP" 10 || gw_fail "silent backend did not start"

# config EXTRA_PATH : the routes; EXTRA_PATH adds a rule (reload check)
config()
{
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
    - path: {type: PathPrefix, value: /hdr}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        add: [{name: X-Added, value: "yes"}]
        remove: [X-Drop]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: X-Resp, value: "r"}]
    backendRefs: [{name: echo, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /redir}
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: other.example, statusCode: 301}
  - matches:
    - path: {type: PathPrefix, value: /rw}
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /rewritten}
    backendRefs: [{name: echo, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /dead}
    backendRefs: [{name: dead, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /silent}
    timeouts: {backendRequest: 1s}
    backendRefs: [{name: silent, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /mirror}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: echo, port: 8080}}
    backendRefs: [{name: echo, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /nobackend}
    backendRefs: [{name: missing, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /app}
    - path: {type: PathPrefix, value: /ws}
    - path: {type: PathPrefix, value: $1}
    backendRefs: [{name: echo, port: 8080}]
YEOF
		gw_yaml_service echo 8080 "$BEP"
		gw_yaml_service dead 8080 "$DEADP"
		gw_yaml_service silent 8080 "$SILENTP"
	} > "$GW_TMP/gw.yaml.tmp"
	mv "$GW_TMP/gw.yaml.tmp" "$GW_TMP/gw.yaml"
}
config /first

# leak reports go to files, so that a report is never lost in the log
export ASAN_OPTIONS="detect_leaks=1:log_path=$GW_TMP/asan:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$GW_TMP/ubsan"
if [ $MODE = valgrind ]; then
	REAL=$GW_BIN
	GW_BIN=$GW_TMP/gwbpf-vg
	printf '#!/bin/sh\nexec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=23 --log-file=%s/valgrind.log %s "$@"\n' \
		"$GW_TMP" "$REAL" > "$GW_BIN"
	chmod +x "$GW_BIN"
fi
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --header-timeout 1000
unset ASAN_OPTIONS UBSAN_OPTIONS
gw_wait_http "http://127.0.0.1:$GWP/first" 200 20 || gw_fail "route not served"

$GW_PY - "$GWP" "$GW_ADMIN" "$GW_TMP/gw.yaml" << 'PYEOF' || gw_fail "workload"
import json, os, socket, sys, time
port, admin, cfg = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fails = []

def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)

def raw(data, wait=3.0, shut=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    s.settimeout(wait)
    out = b""
    end = time.time() + 10
    while time.time() < end:
        try:
            d = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not d:
            break
        out += d
    s.close()
    return out

def get(path, extra=b"", host=b"gw"):
    return raw(b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n" + extra + b"\r\n")

def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0

def body_json(resp):
    try:
        return json.loads(resp.split(b"\r\n\r\n", 1)[1])
    except Exception:
        return {}

r = get(b"/first/x")
check(status(r) == 200 and body_json(r).get("path") == "/first/x", "routing")
r = get(b"/hdr", b"X-Drop: 1\r\n")
j = body_json(r)
check(status(r) == 200 and j.get("headers", {}).get("X-Added") == ["yes"] and "X-Drop" not in j.get("headers", {}), "request header filter")
check(b"\r\nX-Resp: r\r\n" in r, "response header filter")
r = get(b"/redir/a")
check(status(r) == 301 and b"Location: http://other.example" in r, "redirect")
r = get(b"/rw/a?q=1")
check(status(r) == 200 and body_json(r).get("path") == "/rewritten/a?q=1", "rewrite")
check(status(get(b"/mirror")) == 200, "mirror")
check(status(get(b"/nothing-here")) == 404, "404")
check(status(get(b"/nobackend")) == 500, "missing backend 500")
r = get(b"/dead")
check(status(r) in (0, 200, 502), "backend dying mid-response: %r" % r[:40])
check(status(get(b"/silent")) == 504, "silent backend 504")
for bad in (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"\x00\x01\x02garbage\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET http://h?q HTTP/1.1\r\nHost: a\r\n\r\n"):
    r = raw(bad)
    check(status(r) in (400, 404, 200), "malformed %r -> %d" % (bad[:20], status(r)))
r = raw(b"GET / HTTP/1.1\r\nHost: a" + b"x" * 70000 + b"\r\n\r\n")
check(status(r) in (400, 414, 431), "oversized head -> %d" % status(r))
r = raw(b"".join(b"GET /app/%d HTTP/1.1\r\nHost: gw\r\n\r\n" % i for i in range(5)) +
        b"GET /app/last HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
check(r.count(b"HTTP/1.1 200") == 6 and r.find(b'"/app/0"') < r.find(b'"/app/4"') < r.find(b'"/app/last"'), "pipelining")
body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
r = raw(b"POST /app/chunk HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
check(status(r) == 200 and body_json(r).get("body_len") == 11, "chunked body")
r = raw(b"POST /app/cl HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" + b"z" * 100000)
check(status(r) == 200 and body_json(r).get("body_len") == 100000, "large body")
r = raw(b"POST /app/short HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\nabc", wait=1, shut=True)
check(True, "client gone mid-body")
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
buf = b""
end = time.time() + 5
while b"\r\n\r\n" not in buf and time.time() < end:
    d = s.recv(4096)
    if not d:
        break
    buf += d
ok = buf.startswith(b"HTTP/1.1 101")
if ok:
    rest = buf.split(b"\r\n\r\n", 1)[1]
    s.sendall(b"ping-bytes")
    while len(rest) < 10 and time.time() < end:
        d = s.recv(4096)
        if not d:
            break
        rest += d
    ok = rest == b"ping-bytes"
s.close()
check(ok, "websocket")
# client that closes with requests in flight, half-read responses
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /app/%d HTTP/1.1\r\nHost: gw\r\n\r\n" % i * 3)
    s.close()
# reloads: a broken edit keeps the last good config, then a real change
good = open(cfg).read()
with open(cfg + ".tmp", "w") as f:
    f.write("kind: [broken\n")
os.rename(cfg + ".tmp", cfg)
time.sleep(0.5)
check(status(get(b"/first")) == 200, "broken edit keeps serving")
with open(cfg + ".tmp", "w") as f:
    f.write(good.replace("/first", "/second"))
os.rename(cfg + ".tmp", cfg)
ok = False
for _ in range(100):
    if status(get(b"/second")) == 200:
        ok = True
        break
    time.sleep(0.1)
check(ok, "reload applied")
with open(cfg + ".tmp", "w") as f:
    f.write(good)
os.rename(cfg + ".tmp", cfg)
for path in (b"/healthz", b"/readyz", b"/status", b"/metrics", b"/nope"):
    h, p = admin.rsplit(":", 1)
    s = socket.create_connection((h, int(p)), timeout=5)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    out = b""
    s.settimeout(5)
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        out += d
    s.close()
    check(status(out) in ((404,) if path == b"/nope" else (200,)), "admin " + path.decode())
sys.exit(1 if fails else 0)
PYEOF

# HTTP/2 (h2c prior knowledge) when the proxy serves it
c=$(curl -s --http2-prior-knowledge -o /dev/null -m 5 -w '%{http_code} %{http_version}' \
	"http://127.0.0.1:$GWP/app/h2" 2> /dev/null)
gw_log "h2c request: $c"
printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\000\000\000\004\000\000\000\000\000garbage' |
	gw_raw 127.0.0.1 "$GWP" 1 > /dev/null

gw_stop_gwbpf TERM
gw_log "gwbpf exit status $GW_RC"
reports=$(ls "$GW_TMP"/asan* "$GW_TMP"/ubsan* 2> /dev/null)
if [ -n "$reports" ]; then
	grep -h -E 'ERROR|SUMMARY|runtime error|^    #[0-9] ' $reports | head -n 60
	gw_fail "sanitizer reported problems (above)"
fi
if [ $MODE = valgrind ]; then
	grep -E 'definitely|indirectly|ERROR SUMMARY' "$GW_TMP/valgrind.log"
fi
[ "$GW_RC" -eq 0 ] || gw_fail "gwbpf exited $GW_RC after SIGTERM (23 = leaks)"
gw_log "no leaks, clean exit"
