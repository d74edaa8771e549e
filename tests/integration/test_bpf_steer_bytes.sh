#!/bin/sh
# test_bpf_steer_bytes.sh - `gwbpf status routes` counts, per route and
# mechanism, requests AND bytes kept in the kernel vs served by the proxy.
#
# Gateway (`--bpf msg,steer`), backend and client in a cgroup this test
# creates. Route "kern" is kernel-routable (PathPrefix only), route "user"
# needs the proxy (header match). The client sends a known pattern, each
# request on its own connection, and counts what it wrote and read itself:
# small GETs and 200,000-byte responses (several backend writes) through
# kern, GETs and POSTs with a body through user. `status routes --json` must
# show exactly those requests, request bytes and response bytes, on the
# kernel side for kern and on the userspace side for user, and nothing on
# the other side; the plain table must print the same numbers.
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_cgroup_make bytes
CG=$GW_CG
BPFFS=$GW_BPFFS
gw_cgroup_join

GWP=$(gw_free_port)
PA=$(gw_free_port)
$GW_PY "$GW_ROOT/tests/integration/steer_backend.py" "$PA" A &
gw_track $!
gw_wait_port 127.0.0.1 "$PA" 5 || gw_fail "backend A"

{
	gw_yaml_gateway gw "$GWP"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: kern, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [k.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: svc-a, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: user, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [u.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-H, value: "1"}]}]
    backendRefs: [{name: svc-a, port: 8080}]
YEOF
	gw_yaml_service svc-a 8080 "$PA"
} > "$GW_TMP/gw.yaml"

gw_start --config "$GW_TMP/gw.yaml" --bpf msg,steer --workers 2 --bpffs "$BPFFS" \
	--cgroup "$CG" --access-log off
# the loans are made by the daemon's first housekeeping pass: wait for its line
i=0
until grep -q "backend connections lent to the kernel" "$GW_TMP/gwbpf.log" || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q "backend connections lent to the kernel" "$GW_TMP/gwbpf.log" || gw_fail "no loans"
st() { "$GW_BIN" status "$@" --admin "$GW_ADMIN" --bpffs "$BPFFS"; }

# the pattern; the client writes what it sent and read per route to sent.json
$GW_PY - "$GWP" "$GW_TMP/sent.json" << 'PYEOF' || gw_fail "client"
import json, socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
tally = {r: {"requests": 0, "sent": 0, "read": 0} for r in ("kern", "user")}

def req(route, raw, want_len=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("EOF before the head of %r" % raw[:40])
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    clen = None
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v)
    if clen is None or not head.startswith(b"HTTP/1.1 200"):
        sys.exit("unexpected head for %r: %r" % (raw[:40], head[:200]))
    while len(body) < clen:
        d = s.recv(65536)
        if not d:
            sys.exit("EOF in the body of %r" % raw[:40])
        body += d
    s.close()
    if len(body) != clen or (want_len is not None and clen != want_len):
        sys.exit("body of %r: %d bytes" % (raw[:40], len(body)))
    t = tally[route]
    t["requests"] += 1
    t["sent"] += len(raw)
    t["read"] += len(head) + 4 + len(body)

for i in range(20):
    req("kern", b"GET /k%d HTTP/1.1\r\nHost: k.test\r\n\r\n" % i)
for i in range(3):
    req("kern", b"GET /big%d HTTP/1.1\r\nHost: k.test\r\n\r\n" % i, 200000)
for i in range(15):
    req("user", b"GET /u%d HTTP/1.1\r\nHost: u.test\r\nX-H: 1\r\n\r\n" % i)
for i in range(2):
    req("user", b"POST /p%d HTTP/1.1\r\nHost: u.test\r\nX-H: 1\r\nContent-Length: 11\r\n\r\n"
        b"hello world" % i)
json.dump(tally, open(out, "w"))
PYEOF
gw_log "sent: $(cat "$GW_TMP/sent.json")"

# the proxy counts a request when it ends, just after the client has read the
# answer: poll (bounded) until both routes have all their requests
check() {
	st routes --json > "$GW_TMP/routes.json" || gw_fail "status routes --json"
	$GW_PY - "$GW_TMP/routes.json" "$GW_TMP/sent.json" "$1" << 'PYEOF'
import json, sys
doc, sent, final = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3] == "1"
items = {i["metadata"]["name"]: i.get("dataplane", {}) for i in doc["items"]}
bad = []
for route, side, other in (("kern", "kernel", "userspace"), ("user", "userspace", "kernel")):
    d, t = items.get(route, {}), sent[route]
    req, b = d.get("requests", {}), d.get("bytes", {})
    if req.get("total") != t["requests"]:
        sys.exit(1)  # not all counted yet
    want = {(side, "requests"): t["requests"], (other, "requests"): 0,
            (side, "request"): t["sent"], (side, "response"): t["read"],
            (other, "request"): 0, (other, "response"): 0}
    if side == "kernel":
        want[("kernel", "responses")] = t["requests"]
    for (s, k), v in want.items():
        got = req.get(s) if k == "requests" else b.get(s, {}).get(k)
        if got != v:
            bad.append("%s %s %s: %r, want %r" % (route, s, k, got, v))
if bad:
    print("\n".join(bad))
    sys.exit(2 if final else 1)
PYEOF
}
i=0
until check 0; do
	i=$((i + 1))
	[ $i -lt 50 ] || break
	sleep 0.1
done
check 1 || gw_fail "status routes --json bytes: $(cat "$GW_TMP/routes.json")"
gw_log "status routes --json: requests, request and response bytes per route and side as sent"

# the plain table shows the same bytes
st routes > "$GW_TMP/routes.txt" || gw_fail "status routes"
sed 's/^/# /' "$GW_TMP/routes.txt"
want=$($GW_PY -c 'import json, sys
t = json.load(open(sys.argv[1]))
print("kernel %d request B, %d response B (%d responses); userspace 0 request B, 0 response B"
      % (t["kern"]["sent"], t["kern"]["read"], t["kern"]["requests"]))
print("kernel 0 request B, 0 response B (0 responses); userspace %d request B, %d response B"
      % (t["user"]["sent"], t["user"]["read"]))' "$GW_TMP/sent.json")
echo "$want" | while IFS= read -r line; do
	grep -qF "bytes          $line" "$GW_TMP/routes.txt" || gw_fail "status routes: no line '$line'"
done || exit 1

# the daemon down: `status maps` reads the kernel's side from the pins alone
gw_stop_gwbpf
[ "$GW_RC" = 0 ] || gw_fail "gwbpf exit status $GW_RC"
st maps --json > "$GW_TMP/maps.json" || gw_fail "status maps --json with the daemon down"
$GW_PY - "$GW_TMP/maps.json" "$GW_TMP/sent.json" << 'PYEOF' || gw_fail "status maps --json routes: $(head -c 3000 "$GW_TMP/maps.json")"
import json, sys
doc, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["kern"]
kern = [r for r in doc["routes"] if r.get("name", {}).get("route") == "default/kern"]
if len(kern) != 1:
    sys.exit("default/kern not named once: %r" % doc["routes"])
k = kern[0]
got = (k["requests"], k["requestBytes"], k["responses"], k["responseBytes"])
want = (t["requests"], t["sent"], t["requests"], t["read"])
if got != want:
    sys.exit("default/kern: %r, want %r" % (got, want))
PYEOF
gw_log "status maps --json (daemon down): the kernel's requests and bytes of default/kern as sent"
gw_log "pass"
