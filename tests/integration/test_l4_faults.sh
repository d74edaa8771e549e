#!/bin/sh
# test_l4_faults.sh - the L4 relay under faults (docs/l4.md), userspace relay.
#
# A TCP listener per scenario, each with its own TCPRoute to a Python
# backend that misbehaves on purpose:
#   idle     echo backend; an idle stream is closed after --l4-idle-timeout
#   rst      backend resets the connection after the first byte: the client
#            gets a reset too (not a clean FIN), counted
#   sink     backend accepts and never reads: a client pushing 64 MiB is
#            stopped by backpressure (bounded bytes accepted, the gateway's
#            memory does not grow with what the client tries to send); a
#            stream that makes no progress counts as idle and is closed
#   crst     a client that resets mid-stream: the backend sees a reset too
#   dead     backend port closed: the client is refused at once, counted
#   burst    backend sends 4 MiB and its FIN after the client's FIN; the
#            client reads slowly: all bytes arrive, and the gateway does not
#            spin on the finished upstream socket meanwhile (CPU bounded)
. "$(dirname "$0")/lib.sh"
gw_init

P_IDLE=$(gw_free_port)
P_RST=$(gw_free_port)
P_SINK=$(gw_free_port)
P_CRST=$(gw_free_port)
P_DEAD=$(gw_free_port)
P_BURST=$(gw_free_port)
BE=$(gw_free_port)
BE_RST=$(gw_free_port)
BE_SINK=$(gw_free_port)
BE_CRST=$(gw_free_port)
BE_DEAD=$(gw_free_port)
BE_BURST=$(gw_free_port)

# the misbehaving backends, one process
$GW_PY - "$BE" "$BE_RST" "$BE_SINK" "$BE_CRST" "$GW_TMP/crst.log" "$BE_BURST" << 'PYEOF' &
import socket, struct, sys, threading, time
echo, rst, sink, crst, crst_log = [int(x) for x in sys.argv[1:5]] + [sys.argv[5]]
burst = int(sys.argv[6])
def serve(port, fn):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(64)
    while True:
        c, _ = l.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()
def do_echo(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
def do_rst(c):
    c.recv(1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
def do_sink(c):
    time.sleep(120)
def do_crst(c):
    try:
        while c.recv(65536):
            pass
        what = "eof"
    except ConnectionResetError:
        what = "reset"
    with open(crst_log, "a") as f:
        f.write(what + "\n")
def do_burst(c):
    try:
        while c.recv(65536):
            pass
        c.sendall(b"b" * (4 << 20))
    except OSError:
        pass  # the harness's port probe goes away at once
    c.close()
for port, fn in ((echo, do_echo), (rst, do_rst), (sink, do_sink), (crst, do_crst),
                 (burst, do_burst)):
    threading.Thread(target=serve, args=(port, fn), daemon=True).start()
time.sleep(600)
PYEOF
gw_track $!
for p in $BE $BE_RST $BE_SINK $BE_CRST $BE_BURST; do
	gw_wait_port 127.0.0.1 $p 10 || gw_fail "backend $p not listening"
done

{
	gw_yaml_class
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gwbpf
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: idle, protocol: TCP, port: $P_IDLE}
  - {name: rst, protocol: TCP, port: $P_RST}
  - {name: sink, protocol: TCP, port: $P_SINK}
  - {name: crst, protocol: TCP, port: $P_CRST}
  - {name: dead, protocol: TCP, port: $P_DEAD}
  - {name: burst, protocol: TCP, port: $P_BURST}
YEOF
	for n in idle:$BE rst:$BE_RST sink:$BE_SINK crst:$BE_CRST dead:$BE_DEAD burst:$BE_BURST; do
		cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: ${n%%:*}, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: ${n%%:*}}]
  rules: [{backendRefs: [{name: be-${n%%:*}, port: 9000}]}]
YEOF
		gw_yaml_service "be-${n%%:*}" 9000 "${n#*:}"
	done
} > "$GW_TMP/gw.yaml"

gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off --l4-idle-timeout 800
gw_wait_port 127.0.0.1 "$P_DEAD" 10 || gw_fail "listeners not up"

$GW_PY - "$GW_ADMIN" "$GW_PID" "$GW_TMP/crst.log" "$P_IDLE" "$P_RST" "$P_SINK" "$P_CRST" \
	"$P_DEAD" "$P_BURST" << 'PYEOF' || gw_fail "fault checks"
import errno, os, socket, struct, sys, time, urllib.request
admin, pid, crst_log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p_idle, p_rst, p_sink, p_crst, p_dead, p_burst = [int(x) for x in sys.argv[4:10]]

def fail(m):
    print(m)
    sys.exit(1)

def metric(name):
    body = urllib.request.urlopen("http://%s/metrics" % admin, timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    fail("metric %s missing" % name)

def rss_kb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

# idle: echo works, then silence closes the stream after ~0.8 s
base = metric("gwbpf_l4_idle_timeouts_total")
s = socket.create_connection(("127.0.0.1", p_idle), timeout=10)
s.sendall(b"hi")
if s.recv(10) != b"hi":
    fail("idle: no echo")
t0 = time.time()
s.settimeout(10)
try:
    got = s.recv(10)
except ConnectionResetError:
    got = b""
took = time.time() - t0
if got != b"" or took > 8:
    fail("idle: stream not closed (%r after %.1f s)" % (got, took))
if took < 0.6:
    fail("idle: closed after %.2f s, before the 0.8 s idle timeout" % took)
if metric("gwbpf_l4_idle_timeouts_total") <= base:
    fail("idle: not counted")

# rst: the backend's reset reaches the client as a reset
base = metric("gwbpf_l4_resets_total")
s = socket.create_connection(("127.0.0.1", p_rst), timeout=10)
s.sendall(b"x")
try:
    d = s.recv(10)
    # a reset may also surface on the next write
    if d == b"":
        fail("rst: clean FIN instead of a reset")
    fail("rst: got data %r" % d)
except ConnectionResetError:
    pass
except socket.timeout:
    fail("rst: nothing within 10 s")
s.close()
deadline = time.time() + 5
while metric("gwbpf_l4_resets_total") <= base:
    if time.time() > deadline:
        fail("rst: not counted")
    time.sleep(0.05)

# sink: backpressure. The client writes without reading; the backend never
# reads. What the client gets accepted is bounded by socket buffers plus
# the gateway's 16 KiB per direction, and the gateway's memory stays flat.
rss0 = rss_kb()
s = socket.create_connection(("127.0.0.1", p_sink), timeout=10)
s.setblocking(False)
chunk = b"\0" * 65536
sent = 0
stalled_since = None
deadline = time.time() + 20
while time.time() < deadline and sent < (64 << 20):
    try:
        sent += s.send(chunk)
        stalled_since = None
    except BlockingIOError:
        if stalled_since is None:
            stalled_since = time.time()
        elif time.time() - stalled_since > 0.3:
            break
        time.sleep(0.01)
    except ConnectionResetError:
        # the stalled stream reached the 0.8 s idle timeout: stopped as well
        break
if sent >= (64 << 20):
    fail("sink: 64 MiB accepted although nobody reads: no backpressure")
grew = rss_kb() - rss0
s.close()
if grew > 8 * 1024:
    fail("sink: gwbpf RSS grew %d KiB while %d bytes were pushed" % (grew, sent))

# crst: a client reset reaches the backend as a reset (the log already has
# the harness's own port probe)
def crst_seen():
    try:
        return open(crst_log).read().split()
    except FileNotFoundError:
        return []
n0 = len(crst_seen())
s = socket.create_connection(("127.0.0.1", p_crst), timeout=10)
s.sendall(b"y" * 1000)
time.sleep(0.2)  # let the bytes reach the backend before the reset (not asserted on)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
deadline = time.time() + 5
while True:
    seen = crst_seen()[n0:]
    if seen:
        break
    if time.time() > deadline:
        fail("crst: the backend never saw the client go")
    time.sleep(0.05)
if seen[0] != "reset":
    fail("crst: the backend saw %r, want a reset" % seen[0])

# dead: nothing listens behind the route: refused at once, counted
base = metric("gwbpf_l4_connect_errors_total")
t0 = time.time()
try:
    # the reset may even beat connect() back to the client
    s = socket.create_connection(("127.0.0.1", p_dead), timeout=10)
    d = s.recv(10)
    if d:
        fail("dead: got %r" % d)
except ConnectionResetError:
    pass
if time.time() - t0 > 5:
    fail("dead: took %.1f s" % (time.time() - t0))
if metric("gwbpf_l4_connect_errors_total") <= base:
    fail("dead: connect error not counted")
# burst: both FINs seen upstream while the client still reads slowly
def cpu_ticks():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime
s = socket.create_connection(("127.0.0.1", p_burst), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.shutdown(socket.SHUT_WR)
got = s.recv(4096)
time.sleep(0.3)  # the backend's 4 MiB and FIN reach the gateway (not asserted)
t0, c0 = time.time(), cpu_ticks()
while time.time() - t0 < 2.0:
    d = s.recv(4096)
    if not d:
        fail("burst: EOF after %d bytes while reading slowly" % len(got))
    got += d
    time.sleep(0.01)
hz = os.sysconf("SC_CLK_TCK")
busy = (cpu_ticks() - c0) / hz / (time.time() - t0)
s.settimeout(20)
while True:
    d = s.recv(1 << 16)
    if not d:
        break
    got += d
if len(got) != 4 << 20:
    fail("burst: %d bytes, want %d" % (len(got), 4 << 20))
if busy > 0.5:
    fail("burst: gwbpf used %.0f%% of a CPU while a finished upstream waited for a slow reader" % (busy * 100))

if metric("gwbpf_l4_active") != 0:
    deadline = time.time() + 5
    while metric("gwbpf_l4_active") != 0:
        if time.time() > deadline:
            fail("connections left open: gwbpf_l4_active %d" % metric("gwbpf_l4_active"))
        time.sleep(0.1)
PYEOF
kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died"
exit 0
