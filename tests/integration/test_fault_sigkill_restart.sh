#!/bin/sh
# tests/integration/test_fault_sigkill_restart.sh - the daemon SIGKILLed
# under traffic with the BPF data plane (sk_msg bypass, pinned maps), then
# restarted with the same arguments:
#  - the restarted daemon adopts its pinned state: the same sockhash map (by
#    id) and exactly one sockops program on the cgroup (no second attachment
#    left by the dead one);
#  - nothing is stranded in the maps: once the dead daemon's sockets are gone,
#    the sockhash holds no entry of them (it drains to what is open);
#  - traffic: 4 keep-alive clients run through the kill and the restart;
#    failed requests are counted and printed; they all fall between the kill
#    and the restarted daemon's /readyz, none after.
# Gateway, backend and clients run in a fresh cgroup v2 child (the bypass
# only acts on sockets of that cgroup).
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_require_cmd bpftool
gw_cgroup_make sigkill
gw_cgroup_join

LPORT=$(gw_free_port)
EPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT
gw_config_http "$GW_TMP/gw.yaml" "$LPORT" "$EPORT"
ARGS="--config $GW_TMP/gw.yaml --bpf msg --bpffs $GW_BPFFS --cgroup $GW_CG --workers 1 --access-log off"
# shellcheck disable=SC2086
gw_start $ARGS
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || gw_fail "gateway not serving"
grep -q "created maps under $GW_BPFFS" "$GW_TMP/gwbpf.log" || gw_fail "first run did not create its maps"
map_id() { bpftool -j map show pinned "$GW_BPFFS/gw_sock_hash" | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
entries() { bpftool -j map dump pinned "$GW_BPFFS/gw_sock_hash" 2> /dev/null | $GW_PY -c 'import json,sys; d=sys.stdin.read().strip(); print(len(json.loads(d)) if d else 0)'; }
sockops_progs() { bpftool -j cgroup show "$GW_CG" | $GW_PY -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin) if p.get("attach_type") in ("sock_ops", "cgroup_sock_ops")))'; }
ID0=$(map_id)

# clients: 4 threads, keep-alive, reconnect on error; each row "t status"
$GW_PY - "$LPORT" "$GW_TMP/rows" 12 << 'PYEOF' &
import http.client, sys, threading, time
port, out, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
rows, lock = [], threading.Lock()
end = time.time() + secs
def client():
    conn = None
    while time.time() < end:
        t, st = time.time(), "error"
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
            conn.request("GET", "/s", headers={"Host": "x"})
            r = conn.getresponse()
            r.read()
            st = r.status
        except Exception:
            conn = None
            time.sleep(0.01)
        with lock:
            rows.append("%.3f %s" % (t, st))
        time.sleep(0.002)
ts = [threading.Thread(target=client) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
open(out, "w").write("\n".join(rows) + "\n")
PYEOF
CLIENTS=$!
gw_track $CLIENTS
sleep 2
[ "$(entries)" -gt 0 ] || gw_fail "the bypass holds no socket under traffic (test setup)"
T_KILL=$($GW_PY -c 'import time; print("%.3f" % time.time())')
kill -9 "$GW_PID"
wait "$GW_PID" 2> /dev/null
gw_untrack "$GW_PID"
# the dead daemon's sockets leave the sockhash (the kernel removes closed sockets)
i=0
while [ "$(entries)" -gt 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
LEFT=$(entries)
gw_log "sockhash entries after SIGKILL: $LEFT"
[ "$LEFT" -eq 0 ] || gw_fail "$LEFT sockets stranded in the sockhash after SIGKILL"
# shellcheck disable=SC2086
gw_start $ARGS
T_READY=$($GW_PY -c 'import time; print("%.3f" % time.time())')
grep -q "adopted maps under $GW_BPFFS" "$GW_TMP/gwbpf.log" || gw_fail "the restarted daemon did not adopt the pinned maps"
ID1=$(map_id)
NPROG=$(sockops_progs)
gw_log "sockhash map id $ID0 -> $ID1; sockops programs on the cgroup: $NPROG"
[ "$ID0" = "$ID1" ] || gw_fail "pinned sockhash not adopted (id $ID0 -> $ID1)"
[ "$NPROG" = 1 ] || gw_fail "$NPROG sockops programs on the cgroup after the restart, want 1"
i=0
while kill -0 $CLIENTS 2> /dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
wait $CLIENTS 2> /dev/null
gw_untrack $CLIENTS
[ -s "$GW_TMP/rows" ] || gw_fail "the clients wrote nothing"
set -- $($GW_PY - "$GW_TMP/rows" "$T_KILL" "$T_READY" << 'PYEOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
k, r = float(sys.argv[2]), float(sys.argv[3])
fail = [(float(t), s) for t, s in rows if s != "200"]
before = sum(1 for t, s in fail if t < k)
gap = sum(1 for t, s in fail if k <= t <= r)
after = sum(1 for t, s in fail if t > r)
ok_after = sum(1 for t, s in rows if float(t) > r and s == "200")
print(len(rows), before, gap, after, ok_after, "%.2f" % (r - k))
PYEOF
)
gw_log "requests: $1; failed requests: $2 before the kill, $3 between kill and ready ($6 s), $4 after; $5 served after the restart"
[ "$2" -eq 0 ] || gw_fail "$2 requests failed before the kill"
[ "$4" -eq 0 ] || gw_fail "$4 requests failed after the restarted daemon was ready"
[ "$5" -gt 0 ] || gw_fail "no request served after the restart"
echo "PASS: SIGKILL + restart under traffic: pinned state adopted, nothing stranded, failures only while down"
