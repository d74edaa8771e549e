#!/bin/sh
# test_hardening_faults.sh - faults under load. Each phase attacks the
# daemon, then checks that it is still up and serves a normal request:
#   1. a backend killed (SIGKILL) in the middle of its response: the client
#      gets a clean error or a truncated close, never a hang;
#   2. a backend that accepts and never answers: 504 (route timeout 1 s);
#   3. slowloris (one header byte every 100 ms): 408 after --header-timeout;
#      a connection that never sends a byte is closed too;
#   4. 10,000 rapid connects/disconnects (half of them reset);
#   5. hostile bytes (random binary) on the listener, 300 connections, and
#      100 more after the HTTP/2 preface (random and random-but-framed);
#   6. regression inputs found by fuzzing (absolute-form target without path).
# RSS is sampled after each phase and must come back under baseline + 64 MiB
# once the connections are gone (numbers are printed, not timed).
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
BEP=$(gw_free_port)
KILLP=$(gw_free_port)
SILENTP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1

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
    - path: {type: PathPrefix, value: /killed}
    backendRefs: [{name: killed, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /silent}
    timeouts: {backendRequest: 1s}
    backendRefs: [{name: silent, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /}
    backendRefs: [{name: echo, port: 8080}]
YEOF
	gw_yaml_service echo 8080 "$BEP"
	gw_yaml_service killed 8080 "$KILLP"
	gw_yaml_service silent 8080 "$SILENTP"
} > "$GW_TMP/gw.yaml"

# the silent backend: accepts, reads, never answers (lives at most 120 s)
$GW_PY - "$SILENTP" > "$GW_TMP/silent.log" 2>&1 << 'PYEOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
s.settimeout(120)
held = []
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept()
    except OSError:
        break
    held.append(c)
PYEOF
gw_track $!
gw_wait_port 127.0.0.1 "$SILENTP" 10 || gw_fail "silent backend did not start"

gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --header-timeout 1000 --idle-timeout 2000
gw_wait_http "http://127.0.0.1:$GWP/" 200 20 || gw_fail "route not served"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
alive() {
	kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died during $1"
	c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$GWP/after-$1")
	[ "$c" = 200 ] || gw_fail "no normal answer after $1 (got $c)"
	gw_log "after $1: alive, RSS $(rss) KiB"
}

# warm up both workers, then the baseline
for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null "http://127.0.0.1:$GWP/warm"; done
BASE=$(rss)
gw_log "baseline RSS $BASE KiB"

# --- 1. backend killed mid-response: it sends the head and 100 kB of a
# 10 MB body, says "sent" in its log, and is SIGKILLed by the client script
i=0
while [ $i -lt 5 ]; do
	: > "$GW_TMP/killed.log"
	$GW_PY - "$KILLP" "$GW_TMP/killed.log" << 'PYEOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
log = open(sys.argv[2], "w")
log.write("listening\n"); log.flush()
s.settimeout(30)
c, _ = s.accept()
c.recv(65536)
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 100000)
log.write("sent\n"); log.flush()
time.sleep(60)
PYEOF
	KPID=$!
	gw_track $KPID
	$GW_PY - "$GWP" "$GW_TMP/killed.log" "$KPID" << 'PYEOF' || gw_fail "killed backend: client hung or got garbage"
import os, signal, socket, sys, time
port, log, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def wait_for(word):
    end = time.time() + 10
    while time.time() < end:
        if word in open(log).read():
            return True
        time.sleep(0.05)
    return False
if not wait_for("listening"):
    print("backend did not start"); sys.exit(1)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /killed HTTP/1.1\r\nHost: gw\r\n\r\n")
if not wait_for("sent"):
    print("backend got no request"); sys.exit(1)
os.kill(pid, signal.SIGKILL)
got = b""
s.settimeout(15)
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
except socket.timeout:
    print("hang: no close within 15 s after the backend died, %d bytes" % len(got))
    sys.exit(1)
except ConnectionResetError:
    pass
head = got.split(b"\r\n\r\n", 1)[0]
# a truncated 200 (the head was already relayed) or a 502, then a close
ok = head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.1 502") or got == b""
print("killed backend: client got %d bytes then close (%s)" % (len(got), head.split(b"\r\n")[0]))
sys.exit(0 if ok and len(got) < 10000000 else 1)
PYEOF
	wait $KPID 2> /dev/null
	gw_untrack $KPID
	i=$((i + 1))
done
alive backend-killed

# --- 2. silent backend: 504
c=$(curl -s -o /dev/null -m 15 -w '%{http_code} %{time_total}' "http://127.0.0.1:$GWP/silent")
gw_log "silent backend: $c (status, seconds)"
[ "${c%% *}" = 504 ] || gw_fail "silent backend answered ${c%% *}, want 504"
alive silent-backend

# --- 3. slowloris and zero-byte connections
$GW_PY - "$GWP" << 'PYEOF' || gw_fail "slowloris"
import socket, sys, time
port = int(sys.argv[1])
conns = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    conns.append(s)
idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
head = b"GET / HTTP/1.1\r\nHost: gw\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
answers = [b""] * len(conns)
closed = [False] * len(conns)
end = time.time() + 20
pos = 0
while time.time() < end and not all(closed):
    for i, s in enumerate(conns):
        if closed[i]:
            continue
        try:
            if pos < len(head):
                s.send(head[pos:pos + 1])
            s.setblocking(False)
            try:
                d = s.recv(4096)
                if d:
                    answers[i] += d
                else:
                    closed[i] = True
            except BlockingIOError:
                pass
            s.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            closed[i] = True
    pos += 1
    time.sleep(0.1)
n408 = sum(1 for a in answers if a.startswith(b"HTTP/1.1 408"))
print("slowloris: %d of %d got 408, %d closed" % (n408, len(conns), sum(closed)))
idle_closed = 0
for s in idle:
    s.settimeout(10)
    try:
        d = s.recv(4096)
        idle_closed += 1
    except socket.timeout:
        pass
    except ConnectionResetError:
        idle_closed += 1
print("zero-byte connections closed by the gateway: %d of %d" % (idle_closed, len(idle)))
sys.exit(0 if n408 == len(conns) and idle_closed == len(idle) else 1)
PYEOF
alive slowloris

# --- 4. rapid connects/disconnects
$GW_PY - "$GWP" << 'PYEOF' || gw_fail "connect storm"
import socket, struct, sys, time
port = int(sys.argv[1])
errors = 0
end = time.time() + 120
n = 0
while n < 10000 and time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if n % 2:
            # RST instead of FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if n % 3 == 0:
            s.send(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        s.close()
    except OSError:
        errors += 1
    n += 1
print("connect storm: %d connections, %d connect errors" % (n, errors))
sys.exit(0 if n == 10000 and errors < 100 else 1)
PYEOF
alive connect-storm

# --- 5. hostile bytes
$GW_PY - "$GWP" << 'PYEOF' || gw_fail "hostile bytes"
import random, socket, sys, time
port = int(sys.argv[1])
rnd = random.Random(1234)
answered = hung = 0
for i in range(300):
    n = rnd.choice((1, 16, 512, 4096, 70000))
    data = bytes(rnd.getrandbits(8) for _ in range(n)) if n < 5000 else rnd.randbytes(n)
    if i % 4 == 0:
        data = b"GET / HTTP/1.1\r\n" + data
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
        answered += 1
    except ConnectionResetError:
        answered += 1
    except socket.timeout:
        hung += 1
    s.close()
print("hostile bytes: %d connections closed by the gateway, %d left hanging" % (answered, hung))
sys.exit(0 if hung == 0 else 1)
PYEOF
alive hostile-bytes

# --- 5b. hostile bytes after the HTTP/2 preface (h2c prior knowledge)
$GW_PY - "$GWP" << 'PYEOF' || gw_fail "hostile h2 frames"
import random, socket, struct, sys
port = int(sys.argv[1])
rnd = random.Random(99)
preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
hung = 0
for i in range(100):
    data = preface
    if i % 2:
        # syntactically framed, random type/flags/stream/payload
        for _ in range(rnd.randint(1, 20)):
            payload = rnd.randbytes(rnd.choice((0, 1, 8, 100, 20000)))
            data += struct.pack(">I", len(payload))[1:] + bytes([rnd.randint(0, 10), rnd.getrandbits(8)])
            data += struct.pack(">I", rnd.getrandbits(32)) + payload
    else:
        data += rnd.randbytes(rnd.choice((1, 9, 100, 5000)))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        hung += 1
    s.close()
print("hostile h2 frames: 100 connections, %d left hanging" % hung)
sys.exit(0 if hung == 0 else 1)
PYEOF
alive hostile-h2

# --- 6. fuzz regressions
printf 'GET http://h?q HTTP/1.1\r\nHost: gw\r\n\r\n' | gw_raw 127.0.0.1 "$GWP" 2 > /dev/null
alive absolute-form-no-path

# RSS once the connections are gone (idle timeout 2 s): bounded
i=0
while [ $i -lt 50 ] && [ "$(rss)" -gt $((BASE + 65536)) ]; do
	sleep 0.2
	i=$((i + 1))
done
END=$(rss)
gw_log "RSS baseline $BASE KiB, end $END KiB"
[ "$END" -le $((BASE + 65536)) ] || gw_fail "RSS grew from $BASE to $END KiB"
