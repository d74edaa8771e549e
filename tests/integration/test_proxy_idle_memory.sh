#!/bin/sh
# test_proxy_idle_memory.sh - 10,000 idle keep-alive client connections:
# every one is served, stays open while idle, and is served again. The RSS
# growth of the gateway per idle connection is printed (reported, not
# asserted: it depends on the allocator; docs/proxy.md explains the budget).
. "$(dirname "$0")/lib.sh"
gw_init
N=${GW_IDLE_CONNS:-10000}

# the gateway and the client each need N descriptors and more
ulimit -n 65536 2> /dev/null || ulimit -n "$((N + 2000))" 2> /dev/null ||
	gw_skip "cannot raise RLIMIT_NOFILE above $N"
[ "$(ulimit -n)" -gt "$((N + 1000))" ] || gw_skip "RLIMIT_NOFILE $(ulimit -n) too low for $N connections"

GWP=$(gw_free_port)
BEP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off \
	--idle-timeout 600000 --header-timeout 600000

$GW_PY - "$GWP" "$GW_PID" "$N" << 'PYEOF' || gw_fail "idle connections"
import resource, socket, sys, time

port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
REQ = b"GET /idle HTTP/1.1\r\nHost: a\r\n\r\n"

def rss_kb():
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])

def served(s):
    s.sendall(REQ)
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return False
        data += d
    head, body = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        return False
    cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    while cl and len(body) < cl[0]:
        d = s.recv(65536)
        if not d:
            return False
        body += d
    return not any(l.lower() == b"connection: close" for l in head.split(b"\r\n"))

# warm up: buffers, pools and the upstream connection exist before measuring
w = socket.create_connection(("127.0.0.1", port), timeout=10)
for _ in range(50):
    assert served(w)
w.close()
time.sleep(0.2)
before = rss_kb()
socks = []
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert served(s), "connection %d not served" % i
    socks.append(s)
after = rss_kb()
took = time.time() - t0
# every connection is still open and is served again
bad = sum(1 for s in socks if not served(s))
assert bad == 0, "%d of %d idle connections failed their second request" % (bad, n)
print("idle keep-alive connections: %d (opened and served in %.1f s)" % (n, took))
print("gateway RSS: %d KiB before, %d KiB after: %.0f bytes per idle connection"
      % (before, after, (after - before) * 1024.0 / n))
for s in socks:
    s.close()
PYEOF
echo PASS
