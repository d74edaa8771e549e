#!/bin/sh
# test_proxy_idle_timeout.sh - --idle-timeout counts from the end of the last
# response, on a connection that stays busy past its first deadline. The
# connection timer is lazy (docs/proxy.md): a request leaves it armed and a
# later deadline only moves timer_due, so this checks the two ways that could
# go wrong: closed at a stale deadline while requests keep coming, or closed
# early (or never) once the client goes quiet.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
BE=$(gw_free_port)
gw_start_echo "127.0.0.1:$BE"
mkdir "$GW_TMP/cfg"
gw_config_http "$GW_TMP/cfg/gw.yaml" "$GWP" "$BE"
gw_start --config "$GW_TMP/cfg/gw.yaml" --no-bpf --workers 1 --access-log off \
	--idle-timeout 1500
gw_wait_http "http://127.0.0.1:$GWP/" 200 10 || gw_fail_logs "route not served"

CLIENT='
import socket, sys, time
port, idle = int(sys.argv[1]), 1.5
s = socket.create_connection(("127.0.0.1", port), timeout=15)
buf = b""
def one():
    global buf
    s.sendall(b"GET /idle HTTP/1.1\r\nHost: example.com\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c:
            sys.exit("FAIL: closed before a response head (a stale idle deadline?)")
        buf += c
    head, _, buf = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("FAIL: status %r" % head[:40])
    cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    want = int(cl[0].split(b":")[1])
    while len(buf) < want:
        c = s.recv(65536)
        if not c:
            sys.exit("FAIL: closed in a body")
        buf += c
    buf = buf[want:]
# busy for 2.4 s, twice the idle timeout, a request every 0.3 s
start = time.monotonic()
n = 0
while time.monotonic() - start < 2.4:
    one()
    n += 1
    time.sleep(0.3)
one()
last = time.monotonic()
# then quiet: the gateway closes idle-timeout after the last response
c = s.recv(1)
gap = time.monotonic() - last
if c:
    sys.exit("FAIL: unsolicited bytes %r" % c)
print("served %d requests over %.1f s; closed %.2f s after the last response" %
      (n + 1, last - start, gap))
# the loop clock is read once per iteration (up to a few ms before the response
# went out); anything under 1.4 s is a deadline of an earlier idle period
sys.exit(0 if gap >= idle - 0.1 else "FAIL: closed %.2f s after the last response" % gap)
'
OUT=$($GW_PY -c "$CLIENT" "$GWP" 2>&1) || gw_fail_logs "$OUT"
gw_log "$OUT"
echo "PASS: idle timeout counted from the last response ($OUT)"
