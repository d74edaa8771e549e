#!/bin/sh
# test_proxy_reload.sh - configuration changes under traffic: a bounded
# client loop (keep-alive and fresh connections) runs while the config file
# is rewritten several times; not one request may fail and the new config
# must be seen. Then a listener removed from the config stops accepting,
# its idle keep-alive connection is closed, and the other listener serves on.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
GWP2=$(gw_free_port)
BEP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1

# config GEN LISTENER_PORTS... : route adding request header X-Gen: GEN
config()
{
	gen=$1
	shift
	{
		gw_yaml_gateway gw "$@"
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
    - path: {type: PathPrefix, value: /}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - {name: X-Gen, value: "$gen"}
    backendRefs:
    - {name: echo, port: 8080}
YEOF
		gw_yaml_service echo 8080 "$BEP"
	}
}

for g in 1 2 3 4 5; do
	config $g "$GWP" "$GWP2" > "$GW_TMP/gen$g.yaml"
done
cp "$GW_TMP/gen1.yaml" "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off

$GW_PY - "$GWP" "$GW_TMP" "$GW_ADMIN" << 'PYEOF' || gw_fail "reload under traffic"
import http.client, json, os, shutil, sys, threading, time, urllib.request

port, tmp, admin = int(sys.argv[1]), sys.argv[2], sys.argv[3]
results = {"ok": 0, "fail": [], "gens": set()}
stop = threading.Event()

def client(keepalive):
    conn = None
    n = 0
    end = time.time() + 60  # bounded in time as well as in count
    while not stop.is_set() and n < 5000 and time.time() < end:
        n += 1
        time.sleep(0.002)  # pacing: the machine is shared, the point is overlap
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/r%d" % n, headers={"Host": "a"})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                results["fail"].append("status %d" % r.status)
            else:
                d = json.loads(body)
                h = {k.lower(): v for k, v in d["headers"].items()}
                results["gens"].add(h.get("x-gen", ["?"])[0])
                results["ok"] += 1
            if not keepalive or r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:
            results["fail"].append(repr(e))
            conn = None

def generation():
    with urllib.request.urlopen("http://%s/metrics" % admin, timeout=5) as r:
        for l in r.read().decode().splitlines():
            if l.startswith("gwbpf_snapshot_generation "):
                return int(l.split()[1])
    return 0

threads = [threading.Thread(target=client, args=(k,)) for k in (True, True, False)]
for t in threads:
    t.start()
g0 = generation()
for g in range(2, 6):
    time.sleep(0.3)  # pacing only: let traffic run between edits
    path = os.path.join(tmp, "gw.yaml")
    if g % 2:
        # write in place
        with open(path, "w") as f:
            f.write(open(os.path.join(tmp, "gen%d.yaml" % g)).read())
    else:
        # rename into place
        shutil.copy(os.path.join(tmp, "gen%d.yaml" % g), path + ".new")
        os.rename(path + ".new", path)
    # wait (bounded) until the workers serve a newer snapshot
    end = time.time() + 10
    while generation() <= g0 and time.time() < end:
        time.sleep(0.05)
    g0 = generation()
time.sleep(0.3)
stop.set()
for t in threads:
    t.join()
print("requests ok: %d, failed: %d, X-Gen values seen: %s" % (results["ok"], len(results["fail"]), sorted(results["gens"])))
assert not results["fail"], results["fail"][:5]
assert results["ok"] > 50, results["ok"]
assert "5" in results["gens"], "the last config was never applied"
assert "1" in results["gens"], "the first config was never served"
PYEOF
gw_log "reload under traffic: zero failed requests"

# --- remove the second listener
$GW_PY - "$GWP" "$GWP2" "$GW_TMP" << 'PYEOF' || gw_fail "listener removal"
import os, socket, sys, time
p1, p2, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def get(sock, path):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        d = sock.recv(65536)
        assert d, "closed"
        data += d
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += sock.recv(65536)
    return head.split(b"\r\n")[0]

idle = socket.create_connection(("127.0.0.1", p2), timeout=10)
assert get(idle, "/before").startswith(b"HTTP/1.1 200")
cfg = open(os.path.join(tmp, "gen5.yaml")).read()
# drop the listener block of p2
lines = cfg.split("\n")
out, skip = [], 0
for l in lines:
    if l.strip() == "- name: http-%d" % p2:
        skip = 6
    if skip:
        skip -= 1
        continue
    out.append(l)
path = os.path.join(tmp, "gw.yaml")
open(path + ".new", "w").write("\n".join(out))
os.rename(path + ".new", path)

# bounded wait until p2 refuses connections
end = time.time() + 10
refused = False
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", p2), timeout=1).close()
        time.sleep(0.05)
    except ConnectionRefusedError:
        refused = True
        break
    except ConnectionResetError:
        # queued on the listener as it closed: reset; the next try is refused
        time.sleep(0.05)
assert refused, "removed listener still accepts"
# its idle keep-alive connection was closed by the gateway
idle.settimeout(5)
assert idle.recv(100) == b"", "idle connection of a removed listener not closed"
# the other listener is untouched
s = socket.create_connection(("127.0.0.1", p1), timeout=10)
assert get(s, "/after").startswith(b"HTTP/1.1 200")
PYEOF
gw_log "removed listener stops accepting; its idle connection closed; the other serves"
echo PASS
