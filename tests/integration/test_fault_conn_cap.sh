#!/bin/sh
# tests/integration/test_fault_conn_cap.sh - connection flood against the
# connection cap: idle connections are shed first, real requests and health
# checks keep being answered.
# Scaled 1:5 from the issue's "50,000 attempts against a cap of 10,000" (the
# hard open-files limit here is 20,000, and the flood holds every socket):
# 10,000 connection attempts against --max-conns 2000 (one worker), each
# attempt left open and idle (the flood keeps them), --header-timeout 60 s
# so that only shedding can free a slot. Every 250 attempts a real request
# on a new connection must get 200 and /healthz must answer 200.
# Prints the failed requests it observed (must be 0), the connections shed,
# and the peak of gwbpf_proxy_connections_active (must stay <= the cap).
. "$(dirname "$0")/lib.sh"
gw_init
ATTEMPTS=${CAP_ATTEMPTS:-10000}
CAP=${CAP_CONNS:-2000}
# the flood holds up to ATTEMPTS sockets, gwbpf CAP + a few
ulimit -n $((ATTEMPTS + 2000)) 2> /dev/null || gw_skip "cannot raise the open files limit to $((ATTEMPTS + 2000))"

EPORT=$(gw_free_port)
LPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT
gw_config_http "$GW_TMP/gw.yaml" "$LPORT" "$EPORT"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off \
	--max-conns "$CAP" --header-timeout 60000 --idle-timeout 60000
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || gw_fail "gateway not serving"

$GW_PY - "$LPORT" "$GW_ADMIN" "$ATTEMPTS" "$CAP" << 'PYEOF' > "$GW_TMP/flood.out" || { cat "$GW_TMP/flood.out"; gw_fail "flood test failed"; }
import socket, sys, time, urllib.request
port, admin, attempts, cap = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
held, failed, probes, conn_err, peak = [], 0, 0, 0, 0
def metric(name):
    txt = urllib.request.urlopen("http://%s/metrics" % admin, timeout=5).read().decode()
    for l in txt.splitlines():
        if l.startswith(name + " "):
            return int(float(l.split()[1]))
    return -1
def real_request():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.startswith(b"HTTP/1.1 200")
end = time.time() + 45
for i in range(1, attempts + 1):
    if time.time() > end:
        print("flood: out of time at attempt", i)
        sys.exit(1)
    try:
        # source addresses rotate over 127.0.0.2-17: one address has only
        # ~28k ephemeral ports, and the flood keeps every socket open
        src = ("127.0.0.%d" % (2 + i % 16), 0)
        held.append(socket.create_connection(("127.0.0.1", port), timeout=2, source_address=src))
    except OSError:
        conn_err += 1
    if i % 250 == 0:
        probes += 1
        try:
            ok = real_request()
        except OSError:
            ok = False
        try:
            hz = urllib.request.urlopen("http://%s/healthz" % admin, timeout=5).status == 200
        except OSError:
            hz = False
        if not ok or not hz:
            failed += 1
            print("probe %d failed: request %s, healthz %s" % (probes, ok, hz))
        peak = max(peak, metric("gwbpf_proxy_connections_active"))
shed = metric("gwbpf_proxy_connections_shed_total")
print("attempts", attempts, "cap", cap, "probes", probes, "failed", failed,
      "connect_errors", conn_err, "shed", shed, "peak_active", peak)
for s in held:
    s.close()
sys.exit(0 if failed == 0 and shed >= attempts - cap and peak <= cap else 1)
PYEOF
set -- $(cat "$GW_TMP/flood.out")
gw_log "$*"
gw_log "failed requests: ${8}"
curl -sf -o /dev/null "http://$GW_ADMIN/healthz" || gw_fail "healthz not answering after the flood"
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || gw_fail "gateway not serving after the flood"
echo "PASS: $ATTEMPTS connection attempts against a cap of $CAP: idle shed, 0 failed requests, health checks answered"
