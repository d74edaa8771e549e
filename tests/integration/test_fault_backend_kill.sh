#!/bin/sh
# tests/integration/test_fault_backend_kill.sh - a backend SIGKILLed in the
# middle of traffic: requests in flight to it may fail (502/504, or a
# truncated response), requests started after the kill all go to the
# healthy endpoint (200 from be2), and the gateway stays up. "After" starts
# when be1's port refuses connections (SIGKILL is asynchronous).
# Two echo backends behind one Service (one EndpointSlice each); 4 client
# threads with keep-alive for 4 s; be1 is killed at 1.5 s. Prints the
# failed requests it observed before/after the kill.
. "$(dirname "$0")/lib.sh"
gw_init

LPORT=$(gw_free_port)
E1=$(gw_free_port)
E2=$(gw_free_port)
gw_start_echo 127.0.0.1:$E1 be1
BE1=$GW_LAST_PID
gw_start_echo 127.0.0.1:$E2 be2
gw_config_http "$GW_TMP/gw.yaml" "$LPORT" "$E1" "$E2"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || gw_fail "gateway not serving"

$GW_PY - "$LPORT" "$BE1" "$E1" << 'PYEOF' > "$GW_TMP/kill.out" || { cat "$GW_TMP/kill.out"; gw_fail "backend kill under traffic"; }
import http.client, json, os, signal, socket, sys, threading, time
port, victim, vport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
rows = []  # (start, end, status, pod)
t0 = time.time()
killed_at = [None]

def client():
    conn = None
    while time.time() - t0 < 4.0:
        start = time.time()
        status, pod = "error", ""
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/k", headers={"Host": "x"})
            r = conn.getresponse()
            body = r.read()
            status = r.status
            if status == 200:
                pod = json.loads(body).get("pod", "")
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:
            status = "error:" + type(e).__name__
            conn = None
        with lock:
            rows.append((start, time.time(), status, pod))
        time.sleep(0.002)

ts = [threading.Thread(target=client) for _ in range(4)]
for t in ts:
    t.start()
time.sleep(1.5)
kill_sent = time.time()
os.kill(victim, signal.SIGKILL)
# the signal is asynchronous: "after" starts once be1's port refuses
# connections (until then its kernel may still accept and then reset them)
for _ in range(500):
    try:
        socket.create_connection(("127.0.0.1", vport), timeout=0.5).close()
    except ConnectionRefusedError:
        break
    except OSError:
        pass
    time.sleep(0.002)
killed_at[0] = time.time()
for t in ts:
    t.join(timeout=20)
k0, k = kill_sent, killed_at[0]
# in flight: not finished when the signal went, started before be1 was gone
before = [r for r in rows if r[1] < k0]
inflight = [r for r in rows if r[1] >= k0 and r[0] < k]
after = [r for r in rows if r[0] >= k]
bad = lambda rs: [r for r in rs if r[2] != 200]
pods_before = sorted(set(r[3] for r in before if r[2] == 200))
pods_after = sorted(set(r[3] for r in after if r[2] == 200))
print("before", len(before), "failed", len(bad(before)), "pods", ",".join(pods_before))
print("inflight", len(inflight), "failed", len(bad(inflight)), [r[2] for r in bad(inflight)])
print("after", len(after), "failed", len(bad(after)), "pods", ",".join(pods_after),
      [r[2] for r in bad(after)][:10])
ok = (len(before) > 0 and not bad(before) and pods_before == ["be1", "be2"] and len(after) > 20
      and not bad(after) and pods_after == ["be2"]
      and all(r[2] in (200, 502, 504) or str(r[2]).startswith("error") for r in inflight))
sys.exit(0 if ok else 1)
PYEOF
while read -r line; do gw_log "$line"; done < "$GW_TMP/kill.out"
gw_log "failed requests: $(awk '{ n += $4 } END { print n }' "$GW_TMP/kill.out") (all of them in flight at the kill)"
kill -0 "$GW_PID" || gw_fail "gwbpf died"
echo "PASS: backend killed mid-traffic: only in-flight requests affected, new ones served by the healthy endpoint"
