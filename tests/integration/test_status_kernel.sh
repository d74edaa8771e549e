#!/bin/sh
# test_status_kernel.sh - `gwbpf status routes|maps [--json]` shows, per route,
# the requests kept in the kernel and those served by the proxy, and per
# mechanism its fallbacks by reason; `status maps` works with the daemon down.
#
# Gateway, backend and client run in a cgroup this test creates, with
# `--bpf msg,steer`. Route "fast" is kernel-routable (PathPrefix only), route
# "slow" needs the proxy (header match). The client sends plain GETs to fast
# (kernel-forwarded), POSTs with a body to fast (the kernel passes them to the
# proxy) and GETs to slow; per route, kernel + userspace must equal what was
# sent, slow must have no kernel request, and the per-route kernel counts must
# add up to the L7 mechanism's own steer_fwd counter (another map). A pin of
# an older layout is flagged by `status maps` and removed by the daemon.
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_cgroup_make status
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
metadata: {name: fast, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [fast.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: svc-a, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: slow, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [slow.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-H, value: "1"}]}]
    backendRefs: [{name: svc-a, port: 8080}]
YEOF
	gw_yaml_service svc-a 8080 "$PA"
} > "$GW_TMP/gw.yaml"

# pins an older gwbpf left (gw_loan_dir before _v2) are removed at start;
# another tool's pin in the same folder is not
st() { "$GW_BIN" status "$@" --admin "$GW_ADMIN" --bpffs "$BPFFS"; }
gw_require_cmd bpftool
mkdir -p "$BPFFS"
bpftool map create "$BPFFS/gw_loan_dir" type array key 4 value 8 entries 4 name gw_loan_dir ||
	gw_fail "bpftool map create"
bpftool map create "$BPFFS/not_ours" type array key 4 value 8 entries 4 name not_ours ||
	gw_fail "bpftool map create"
st maps --json | $GW_PY -c 'import json, sys
m = {x["name"]: x for x in json.load(sys.stdin)["maps"]}
sys.exit(0 if m["gw_loan_dir"].get("retired") and "retired" not in m["not_ours"] else 1)' ||
	gw_fail "status maps does not flag the retired pin"

gw_start --config "$GW_TMP/gw.yaml" --bpf msg,steer --workers 2 --bpffs "$BPFFS" \
	--cgroup "$CG" --access-log off
[ -e "$BPFFS/gw_loan_dir" ] && gw_fail "the retired pin gw_loan_dir is still there"
[ -e "$BPFFS/not_ours" ] || gw_fail "another tool's pin was removed"
grep -q "removed $BPFFS/gw_loan_dir" "$GW_TMP/gwbpf.log" || gw_fail "no log line for the removed pin"
gw_log "retired pin removed at start, foreign pin kept"
grep -q "backend connections lent to the kernel" "$GW_TMP/gwbpf.log" || gw_fail "no loans"

# send N_GET plain GETs and N_POST POSTs to fast, N_SLOW GETs to slow, each on
# its own connection (a fresh connection has nothing in flight, so the kernel
# takes a plain GET when a loan is idle); every answer must be the backend's
N_GET=30
N_POST=7
N_SLOW=11
$GW_PY - "$GWP" $N_GET $N_POST $N_SLOW << 'PYEOF' || gw_fail "client"
import socket, sys
port, n_get, n_post, n_slow = (int(a) for a in sys.argv[1:5])

def req(raw, want):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    clen = 0
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v)
    while len(body) < clen:
        d = s.recv(65536)
        if not d:
            break
        body += d
    s.close()
    if not head.startswith(b"HTTP/1.1 200") or body != want:
        sys.exit("unexpected answer to %r: %r %r" % (raw[:40], head[:40], body))

for i in range(n_get):
    req(b"GET /g%d HTTP/1.1\r\nHost: fast.test\r\n\r\n" % i, b"A GET /g%d fast.test\n" % i)
for i in range(n_post):
    req(b"POST /p%d HTTP/1.1\r\nHost: fast.test\r\nContent-Length: 3\r\n\r\nabc" % i,
        b"A POST /p%d fast.test\n" % i)
for i in range(n_slow):
    req(b"GET /s%d HTTP/1.1\r\nHost: slow.test\r\nX-H: 1\r\n\r\n" % i,
        b"A GET /s%d slow.test\n" % i)
PYEOF
gw_log "sent: fast $N_GET GET + $N_POST POST, slow $N_SLOW"

# the proxy counts a request when it ends, just after the client has the
# answer: wait (bounded) until both routes add up
routes_json() { st routes --json > "$GW_TMP/routes.json" || gw_fail "status routes --json"; }
i=0
while :; do
	routes_json
	$GW_PY - "$GW_TMP/routes.json" $((N_GET + N_POST)) $N_SLOW << 'PYEOF' && break
import json, sys
doc = json.load(open(sys.argv[1]))
want = {"default/fast": int(sys.argv[2]), "default/slow": int(sys.argv[3])}
for it in doc["items"]:
    name = it["metadata"]["namespace"] + "/" + it["metadata"]["name"]
    if name in want and it.get("dataplane", {}).get("requests", {}).get("total") != want[name]:
        sys.exit(1)
PYEOF
	i=$((i + 1))
	[ $i -lt 50 ] || break
	sleep 0.1
done

$GW_PY - "$GW_TMP/routes.json" $N_GET $N_POST $N_SLOW "$GWP" << 'PYEOF' || gw_fail "status routes --json: $(cat "$GW_TMP/routes.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
n_get, n_post, n_slow, port = (int(a) for a in sys.argv[2:6])
items = {i["metadata"]["namespace"] + "/" + i["metadata"]["name"]: i for i in doc["items"]}
if sorted(i["kind"] for i in doc["items"]) != ["HTTPRoute", "HTTPRoute"]:
    sys.exit("kinds: %r" % [i["kind"] for i in doc["items"]])
fast = items["default/fast"]["dataplane"]
slow = items["default/slow"]["dataplane"]
fr, sr = fast["requests"], slow["requests"]
print("# fast: kernel %d userspace %d; slow: kernel %d userspace %d"
      % (fr["kernel"], fr["userspace"], sr["kernel"], sr["userspace"]))
if fr["kernel"] + fr["userspace"] != n_get + n_post or fr["total"] != n_get + n_post:
    sys.exit("fast: %r, sent %d" % (fr, n_get + n_post))
# the POSTs carry a body: never in the kernel; most GETs are (a GET only
# falls back when no loaned connection is idle at that moment)
if fr["userspace"] < n_post or fr["kernel"] < n_get // 2:
    sys.exit("fast: %r: want >= %d userspace, >= %d kernel" % (fr, n_post, n_get // 2))
if sr != {"kernel": 0, "userspace": n_slow, "total": n_slow}:
    sys.exit("slow: %r, sent %d, none kernel-routable" % (sr, n_slow))
# every kernel request is a GET with no body: its head is at least this long
if fast["kernelRequestBytes"] < fr["kernel"] * len("GET /g0 HTTP/1.1\r\nHost: fast.test\r\n\r\n"):
    sys.exit("fast: %d kernel request bytes for %d requests" % (fast["kernelRequestBytes"], fr["kernel"]))
lst = [l for l in fast["listeners"] if l["listener"] == "default/gw/http-%d" % port]
if len(lst) != 1 or lst[0]["requests"] != fr:
    sys.exit("fast listeners: %r" % fast["listeners"])
if lst[0]["hosts"] != ["fast.test"]:
    sys.exit("fast hosts: %r" % lst[0])
if [(r["rule"], r["kernelEligible"]) for r in fast["rules"]] != [(0, True)]:
    sys.exit("fast rules: %r" % fast["rules"])
if [(r["rule"], r["kernelEligible"], r["kernel"]) for r in slow["rules"]] != [(0, False, 0)]:
    sys.exit("slow rules: %r" % slow["rules"])
# the mechanism's own counter (gw_counters) agrees with the per-route map
steer = doc["dataplane"]["mechanisms"]["steer"]
if steer["kernel"]["requests"] != fr["kernel"]:
    sys.exit("steer_fwd %d vs per-route kernel %d" % (steer["kernel"]["requests"], fr["kernel"]))
# why the rest went to the proxy: slow by route, the POSTs as heads outside
# the plain subset (a body), a GET that found no idle loan as steer_user_loan
fb = steer["fallbacks"]
if fb.get("steer_user_route", {}).get("count", 0) < n_slow:
    sys.exit("fallbacks: %r: want steer_user_route >= %d" % (fb, n_slow))
passed = sum(v["count"] for v in fb.values())
if passed < fr["userspace"] + n_slow or steer["userspace"]["messages"] != passed:
    sys.exit("fallbacks %r (%d) vs %d proxy requests" % (fb, passed, fr["userspace"] + n_slow))
PYEOF
gw_log "status routes --json: per route, kernel + userspace = sent; steer_fwd agrees"

# the table says the same
st routes > "$GW_TMP/routes.txt" || gw_fail "status routes"
k=$($GW_PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print([i for i in d["items"] if i["metadata"]["name"]=="fast"][0]["dataplane"]["requests"]["kernel"])' "$GW_TMP/routes.json")
grep -Eq "^  requests +kernel $k \(.*\), userspace $((N_GET + N_POST - k)), total $((N_GET + N_POST))" "$GW_TMP/routes.txt" ||
	gw_fail "status routes table: $(cat "$GW_TMP/routes.txt")"
grep -Eq "^  rule +0 +userspace only" "$GW_TMP/routes.txt" || gw_fail "no userspace-only rule: $(cat "$GW_TMP/routes.txt")"
grep -Eq "^  L7 forwarding +kernel $k requests .*steer_user_route [0-9]+" "$GW_TMP/routes.txt" ||
	gw_fail "no L7 forwarding line: $(cat "$GW_TMP/routes.txt")"
gw_log "status routes table: kernel $k of $((N_GET + N_POST)) for fast"

# the backends view: each rule's cluster and endpoints as the daemon resolved them
st backends > "$GW_TMP/backends.txt" || gw_fail "status backends"
n=$(grep -Ec "^  rule +0 +default/svc-a:8080 weight=1 endpoints 127.0.0.1:$PA\$" "$GW_TMP/backends.txt")
[ "$n" = 2 ] || gw_fail "status backends: $(cat "$GW_TMP/backends.txt")"
gw_log "status backends: cluster and endpoint of both routes"
st gateways > "$GW_TMP/gws.txt" || gw_fail "status gateways"
grep -Eq "^    route +default/fast +hosts fast.test \(requests: kernel $k, userspace $((N_GET + N_POST - k))\)" "$GW_TMP/gws.txt" &&
	grep -Eq "^    route +default/slow +hosts slow.test \(requests: kernel 0, userspace $N_SLOW\)" "$GW_TMP/gws.txt" ||
	gw_fail "status gateways: $(cat "$GW_TMP/gws.txt")"
gw_log "status gateways: each listener's routes, hosts and requests"

# --- the daemon down: status maps still reads the pins
gw_stop_gwbpf
[ "$GW_RC" = 0 ] || gw_fail "gwbpf exit status $GW_RC"
st maps --json > "$GW_TMP/maps.json" || gw_fail "status maps --json with the daemon down"
$GW_PY - "$GW_TMP/maps.json" "$k" << 'PYEOF' || gw_fail "status maps --json: $(head -c 3000 "$GW_TMP/maps.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
k = int(sys.argv[2])
if sum(r["requests"] for r in doc["routes"]) != k:
    sys.exit("routes: %r, want %d kernel requests in all" % (doc["routes"], k))
# named from the pinned gw_route_names the daemon wrote
fast = [r for r in doc["routes"] if r.get("name", {}).get("route") == "default/fast"]
if len(fast) != 1 or fast[0]["requests"] != k or fast[0]["name"]["rule"] != 0 \
        or not fast[0]["name"]["kernelEligible"] or fast[0]["name"]["host"] != "fast.test":
    sys.exit("default/fast not named: %r" % doc["routes"])
if doc["mechanisms"]["steer"]["kernel"]["requests"] != k:
    sys.exit("steer: %r" % doc["mechanisms"]["steer"])
if "steer_user_route" not in doc["mechanisms"]["steer"]["fallbacks"]:
    sys.exit("no fallback reasons: %r" % doc["mechanisms"]["steer"])
PYEOF
st maps > "$GW_TMP/maps.txt" || gw_fail "status maps with the daemon down"
grep -Eq "^  L7 forwarding +kernel $k requests" "$GW_TMP/maps.txt" || gw_fail "status maps: $(cat "$GW_TMP/maps.txt")"
grep -Eq "^  bind [0-9]+ listener [0-9]+ vhost [0-9]+ match [0-9]+ +requests $k .* default/fast rule 0 \(default/gw/http-$GWP, host fast.test, PathPrefix /\)" "$GW_TMP/maps.txt" ||
	gw_fail "status maps: no per-route line: $(cat "$GW_TMP/maps.txt")"
gw_log "status maps (daemon down): $k kernel requests per route and by mechanism"

# --- a restart with one route fewer: the pinned names are those of the new
# snapshot only (generations start again at 1 in a new daemon)
# names : the route names in gw_route_names (struct gw_route_name: route at
# byte 24, 128 bytes; the map has no BTF, bpftool prints raw bytes)
names() { bpftool -j map dump pinned "$BPFFS/gw_route_names" | $GW_PY -c 'import json, sys
v = [bytes(int(b, 16) for b in e["value"])[24:152].split(b"\0")[0].decode() for e in json.load(sys.stdin)]
print(" ".join(sorted(v)))'; }
got=$(names) || gw_fail "gw_route_names dump"
[ "$got" = "default/fast default/slow" ] || gw_fail "gw_route_names before the restart: '$got'"
$GW_PY -c 'import sys; t = open(sys.argv[1]).read(); print(t[:t.index("kind: HTTPRoute\nmetadata: {name: slow")].rsplit("---", 1)[0] + t[t.index("---\napiVersion: v1"):])' \
	"$GW_TMP/gw.yaml" > "$GW_TMP/gw2.yaml" || gw_fail "config without slow"
grep -q "name: slow" "$GW_TMP/gw2.yaml" && gw_fail "config without slow still has it"
GW_ADMIN=
gw_start --config "$GW_TMP/gw2.yaml" --bpf msg,steer --workers 1 --bpffs "$BPFFS" \
	--cgroup "$CG" --access-log off
got=$(names) || gw_fail "gw_route_names dump"
[ "$got" = "default/fast" ] || gw_fail "gw_route_names after the restart: '$got'"
gw_stop_gwbpf
[ "$GW_RC" = 0 ] || gw_fail "gwbpf exit status $GW_RC"
gw_log "restart with one route fewer: gw_route_names holds only the new snapshot's"
echo "PASS"
