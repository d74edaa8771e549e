#!/bin/sh
# test_proxy_websocket.sh - Upgrade: websocket through the gateway: the
# backend's 101 reaches the client, then frames flow both ways (several
# messages, one larger than the proxy's buffers), and a close from the
# client ends both connections. An upgrade the backend refuses is never
# turned into a tunnel.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_file "$B/gwbpf-echo"

GWP=$(gw_free_port)
BEP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off

$GW_PY - "$GWP" << 'PYEOF' || gw_fail "websocket exchange"
import base64, hashlib, os, socket, struct, sys

port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    assert d, "closed before the 101"
    buf += d
head, rest = buf.split(b"\r\n\r\n", 1)
lines = head.decode().split("\r\n")
assert lines[0].startswith("HTTP/1.1 101"), lines[0]
hdr = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
assert hdr.get("sec-websocket-accept") == want, hdr
assert hdr.get("upgrade", "").lower() == "websocket", hdr

def send_frame(payload, opcode=2):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    s.sendall(h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

def recv_exact(n):
    global rest
    while len(rest) < n:
        d = s.recv(65536)
        assert d, "closed mid-frame"
        rest += d
    out, rest = rest[:n], rest[n:]
    return out

def recv_frame():
    b0, b1 = recv_exact(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", recv_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(8))[0]
    mask = recv_exact(4) if b1 & 0x80 else None
    data = recv_exact(n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return b0 & 0x0f, data

for i in range(5):
    msg = ("message %d" % i).encode()
    send_frame(msg, 1)
    op, data = recv_frame()
    assert data == msg, (i, data[:50])
big = os.urandom(100000)  # larger than every proxy buffer
send_frame(big, 2)
op, data = recv_frame()
assert data == big, "large frame corrupted (%d bytes back)" % len(data)
send_frame(b"\x03\xe8", 8)  # close 1000
op, data = recv_frame()
assert op == 8, op
s.shutdown(socket.SHUT_WR)
s.settimeout(5)
while s.recv(4096):
    pass
PYEOF
gw_log "websocket: 101, 6 frames both ways (one of 100 KB), close"

# a refused upgrade is an ordinary response: the bytes after it are parsed as
# HTTP (here a second request) and never tunnelled
printf 'GET /plain HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n' |
	gw_raw 127.0.0.1 "$GWP" 3 > "$GW_TMP/refused.out"
grep -a -q '^HTTP/1.1 101' "$GW_TMP/refused.out" && gw_fail "refused upgrade became a tunnel"
head -n 1 "$GW_TMP/refused.out" | grep -q '^HTTP/1.1 [24]' || gw_fail "refused upgrade: $(head -c 200 "$GW_TMP/refused.out")"
gw_log "an upgrade without a key is answered, not tunnelled"
echo PASS
