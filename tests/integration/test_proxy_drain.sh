#!/bin/sh
# test_proxy_drain.sh - SIGTERM while a request is in flight: the gateway
# stops accepting at once, the in-flight request completes (200, with
# Connection: close), an idle keep-alive connection is closed, and the
# process exits 0.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_file "$B/gwbpf-echo" # ?delay= holds the answer back

GWP=$(gw_free_port)
BEP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off

$GW_PY - "$GWP" "$GW_PID" << 'PYEOF' || gw_fail "drain"
import os, signal, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])

def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return data, None
        data += d
    head, body = data.split(b"\r\n\r\n", 1)
    cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    while cl and len(body) < cl[0]:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return head, body

idle = socket.create_connection(("127.0.0.1", port), timeout=10)
idle.sendall(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
head, _ = read_response(idle)
assert head.startswith(b"HTTP/1.1 200"), head
busy = socket.create_connection(("127.0.0.1", port), timeout=10)
busy.sendall(b"GET /slow?delay=1500ms HTTP/1.1\r\nHost: a\r\n\r\n")
time.sleep(0.3)  # let the request reach the backend
os.kill(pid, signal.SIGTERM)
head, body = read_response(busy)
assert head is not None and head.startswith(b"HTTP/1.1 200"), head
assert b"connection: close" in head.lower(), head
# the idle connection was closed by the gateway
idle.settimeout(5)
assert idle.recv(100) == b"", "idle connection left open"
# no new connections
end = time.time() + 5
refused = False
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        time.sleep(0.05)
    except OSError:
        refused = True
        break
assert refused, "still accepting after SIGTERM"
PYEOF
gw_stop_gwbpf TERM
[ "$GW_RC" = 0 ] || gw_fail "exit status $GW_RC"
gw_log "SIGTERM: in-flight request completed, idle closed, exit 0"
echo PASS
