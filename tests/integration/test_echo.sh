#!/bin/sh
# tests/integration/test_echo.sh - gwbpf-echo behaves like the upstream
# conformance echo server: the JSON fields and Go header canonicalisation the
# conformance runner relies on, keep-alive with pipelining, bodies (length and
# chunked) discarded, Connection: close, /status/NNN, ?delay=, the
# X-Echo-Set-Header side door, strict rejection of ambiguous framing, and the
# RFC 6455 handshake with frames echoed back.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
ECHO=$B/gwbpf-echo
[ -x "$ECHO" ] || { echo "skip: $ECHO not built (run make)"; exit 249; }
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: missing $PY"; exit 249; }

TMP=$(mktemp -d)
PID=""
cleanup()
{
	[ -n "$PID" ] && kill "$PID" 2> /dev/null && wait "$PID" 2> /dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# a port nobody listens on for 127.21.0.1/.2 (the kernel picks it)
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.21.0.1",0)); print(s.getsockname()[1])')
"$ECHO" --listen 127.21.0.1:"$PORT" --listen 127.21.0.2:"$PORT" --namespace ns-a \
	--pod pod-1 --service svc-x > "$TMP/echo.log" 2>&1 &
PID=$!

$PY - "$PORT" <<'EOF'
import base64, hashlib, json, os, socket, sys, time

port = int(sys.argv[1])
fails = []

def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what)

def connect(addr="127.21.0.1"):
    deadline = time.monotonic() + 5
    while True:
        try:
            s = socket.create_connection((addr, port), timeout=5)
            return s
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

class Reader:
    """reads HTTP/1.1 responses (Content-Length framed) from one socket"""
    def __init__(self, s):
        self.s, self.buf = s, b""
    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d
    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
        n = int(hdrs.get("content-length", ["0"])[0])
        while len(self.buf) < n:
            self.fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body
    def closed(self):
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

# 1. basic echo: fields, canonical header names, duplicate values in order
s = connect()
r = Reader(s)
s.sendall(b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nx-custom-hdr: one\r\n"
          b"X-CUSTOM-HDR: two\r\nuser-agent: t\r\n\r\n")
st, h, body = r.response()
doc = json.loads(body)
check(st == 200, "status 200 for a plain GET (got %d)" % st)
check(h.get("content-type") == ["application/json"], "content-type application/json")
check(doc.get("path") == "/a/b?x=1", "path is the request URI with query: %r" % doc.get("path"))
check(doc.get("host") == "example.com", "host: %r" % doc.get("host"))
check(doc.get("method") == "GET" and doc.get("proto") == "HTTP/1.1", "method/proto")
check(doc.get("namespace") == "ns-a" and doc.get("pod") == "pod-1" and doc.get("service") == "svc-x",
      "namespace/pod/service from the command line: %r" % doc)
check(doc.get("headers", {}).get("X-Custom-Hdr") == ["one", "two"],
      "Go-canonical header key with values in order: %r" % doc.get("headers"))
check("Host" not in doc.get("headers", {}), "Host is not listed among headers (Go moves it to host)")
check(list(doc) == ["path", "host", "method", "proto", "headers", "namespace", "ingress",
                    "service", "pod", "sni"], "field order as echo-basic: %r" % list(doc))

# 2. keep-alive + pipelining + bodies: three requests in one write, answered in order
s.sendall(b"POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
          b"POST /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer-X: y\r\n\r\n"
          b"GET /three HTTP/1.1\r\nHost: h\r\n\r\n")
paths = [json.loads(r.response()[2])["path"] for _ in range(3)]
check(paths == ["/one", "/two", "/three"], "pipelined answers in order: %r" % paths)

# 3. Connection: close answers then closes
s.sendall(b"GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
st, h, body = r.response()
check(st == 200 and h.get("connection") == ["close"], "Connection: close echoed")
check(r.closed(), "connection closed after Connection: close")
s.close()

# 4. /status/NNN and the X-Echo-Set-Header side door, on the second address
s = connect("127.21.0.2")
r = Reader(s)
s.sendall(b"GET /status/418 HTTP/1.1\r\nHost: h\r\n\r\n")
st, h, body = r.response()
check(st == 418 and body == b"", "/status/418 answers 418 with no body (got %d)" % st)
s.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\nX-Echo-Set-Header: X-A: 1, X-A: 2, x-b: v\r\n\r\n")
st, h, body = r.response()
check(h.get("x-a") == ["1,2"] and h.get("x-b") == ["v"], "X-Echo-Set-Header sets headers: %r" % h)

# 5. ?delay= holds the answer back at least that long
t0 = time.monotonic()
s.sendall(b"GET /d?delay=300ms HTTP/1.1\r\nHost: h\r\n\r\n")
st, h, body = r.response()
el = time.monotonic() - t0
check(st == 200 and el >= 0.29, "delay=300ms waited %.3fs" % el)
s.close()

# 6. strict parsing: ambiguous framing gets 400 and a close
for bad in (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
            b"GET / HTTP/1.1\nHost: h\n\n\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n"):
    s = connect()
    r = Reader(s)
    s.sendall(bad)
    try:
        st, h, body = r.response()
    except EOFError:
        st = None
    check(st == 400 and r.closed(), "400 and close for %r (got %r)" % (bad, st))
    s.close()

# 7. WebSocket: handshake accept value per RFC 6455 and frames echoed back
key = base64.b64encode(os.urandom(16))
s = connect()
r = Reader(s)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\nOrigin: http://h\r\n\r\n")
st, h, body = r.response()
want = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()
check(st == 101 and h.get("sec-websocket-accept") == [want], "101 with Sec-WebSocket-Accept")
def frame(op, payload):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([0x80 | op])
    hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
def read_frame():
    while len(r.buf) < 2:
        r.fill()
    n, off = r.buf[1] & 0x7f, 2
    if n == 126:
        while len(r.buf) < 4:
            r.fill()
        n, off = int.from_bytes(r.buf[2:4], "big"), 4
    while len(r.buf) < off + n:
        r.fill()
    op, data = r.buf[0] & 0x0f, r.buf[off:off + n]
    r.buf = r.buf[off + n:]
    return op, data
big = os.urandom(1000)
s.sendall(frame(1, b"hello ws") + frame(2, big))
check(read_frame() == (1, b"hello ws"), "text frame echoed")
check(read_frame() == (2, big), "1000-byte binary frame echoed")
s.sendall(frame(9, b"p"))
check(read_frame() == (10, b"p"), "ping answered with pong")
s.sendall(frame(8, b"\x03\xe8"))
check(read_frame()[0] == 8 and r.closed(), "close answered and connection closed")
s.close()

print("%d check(s) failed" % len(fails) if fails else "all echo checks passed")
sys.exit(1 if fails else 0)
EOF
rc=$?
# the request log line the conformance suite greps to prove a mirror was hit
if [ $rc -eq 0 ] && ! grep -q 'Echoing back request made to /a/b?x=1 to client (127\.' "$TMP/echo.log"; then
	echo "FAIL: no request log line for /a/b?x=1"; cat "$TMP/echo.log"; rc=1
fi
if ! kill -0 "$PID" 2> /dev/null; then
	echo "FAIL: gwbpf-echo died"; cat "$TMP/echo.log"; exit 1
fi
exit $rc
