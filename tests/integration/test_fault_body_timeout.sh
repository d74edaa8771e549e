#!/bin/sh
# tests/integration/test_fault_body_timeout.sh - a request body sent too
# slowly is cut (docs/security.md, "Request body timeouts"):
#  1. a body that stops arriving (10 of 100 bytes, then silence): 408 after
#     --body-idle-timeout (500 ms here), connection closed;
#  2. a body that trickles steadily (1 byte every 200 ms, never idle long
#     enough) but would take 20 s: 408 after --body-timeout (2 s here);
#  3. a body that is slow but finishes in time (5 bytes, 100 ms apart) and a
#     normal POST: 200 from the backend;
#  4. gwbpf_proxy_body_timeouts_total counts exactly the two cut bodies.
# Each client prints what it saw; waits are bounded (a client gives up
# after 8 s).
. "$(dirname "$0")/lib.sh"
gw_init

EPORT=$(gw_free_port)
LPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT
gw_config_http "$GW_TMP/gw.yaml" "$LPORT" "$EPORT"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off \
	--body-idle-timeout 500 --body-timeout 2000
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || gw_fail "gateway not serving"

# trickle MODE: prints "<status> <seconds> <closed>" ("none" if no answer)
trickle()
{
	$GW_PY - "$LPORT" "$1" << 'PYEOF'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
n = 100 if mode != "ok" else 5
s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % n)
t0 = time.time()
s.setblocking(False)
sent, out, closed = 0, b"", False
plan = {"idle": (10, 0.0), "slow": (n, 0.2), "ok": (n, 0.1)}[mode]
next_at = time.time()
end = t0 + 8
while time.time() < end and not closed:
    now = time.time()
    if sent < plan[0] and now >= next_at:
        try:
            k = 10 if mode == "idle" else 1
            s.send(b"x" * k)
            sent += k
        except OSError:
            closed = True
            break
        next_at = now + plan[1]
    try:
        d = s.recv(65536)
        if not d:
            closed = True
        out += d
    except BlockingIOError:
        time.sleep(0.02)
    except OSError:
        closed = True
    if mode == "ok" and sent == n and b"\r\n\r\n" in out:
        break
status = out.split(b" ", 2)[1].decode() if out.startswith(b"HTTP/1.1 ") else "none"
print(status, "%.1f" % (time.time() - t0), "closed" if closed else "open", "sent=%d" % sent)
PYEOF
}

# 1. idle body
set -- $(trickle idle)
gw_log "idle body: HTTP $1 after $2 s, $3, $4"
[ "$1" = 408 ] || gw_fail "a stalled body got '$1', want 408"
[ "$3" = closed ] || gw_fail "connection not closed after the body timeout"
# 408 came from the idle timeout (0.5 s), not the total one (2 s)
awk -v t="$2" 'BEGIN { exit !(t < 1.9) }' || gw_fail "idle body cut after $2 s: not the idle timeout"

# 2. trickling body, never idle for 500 ms: the total limit cuts it
set -- $(trickle slow)
gw_log "trickled body: HTTP $1 after $2 s, $3, $4"
[ "$1" = 408 ] || gw_fail "a trickled body got '$1', want 408"
awk -v t="$2" 'BEGIN { exit !(t >= 1.9 && t < 6) }' || gw_fail "trickled body cut after $2 s, want ~2 s"

# 3. slow but in time, and a normal POST
set -- $(trickle ok)
gw_log "slow body finished in time: HTTP $1 after $2 s"
[ "$1" = 200 ] || gw_fail "a slow body that finished in time got '$1', want 200"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -d 'hello' "http://127.0.0.1:$LPORT/post")
[ "$code" = 200 ] || gw_fail "normal POST got $code"

# 4. counted
n=$(curl -s "http://$GW_ADMIN/metrics" | sed -n 's/^gwbpf_proxy_body_timeouts_total \([0-9]*\)$/\1/p')
gw_log "gwbpf_proxy_body_timeouts_total $n"
[ "$n" = 2 ] || gw_fail "body timeouts counted '$n', want 2"
kill -0 "$GW_PID" || gw_fail "gwbpf died"
echo "PASS: trickled request bodies cut with 408 (idle and total), counted; in-time bodies served"
