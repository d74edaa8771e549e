#!/bin/sh
# tests/integration/test_kube_source.sh - the Kubernetes source and status
# writer against tools/fakeapi (a mock API server on 127.0.0.1):
#  - objects created, updated and deleted in the API appear in the store;
#  - status is patched (Accepted conditions, observedGeneration) and another
#    controller's parents entry on a route is kept;
#  - Gateway API CRDs installed after start are picked up (re-discovery);
#  - a compacted resourceVersion (410 Gone) makes the source list again;
#  - a dropped watch stream and an API server outage are survived, and the
#    last good store keeps serving meanwhile;
#  - Ingress status: status.loadBalancer.ingress (the nodes' addresses) on
#    Ingresses of class gwbpf only, written once and not again unchanged;
#  - two instances: exactly one holds the Lease and writes status; when it is
#    killed, the other takes over.
# The test tool (tools/fakeapi/kubewatch.c) is built by make as $B/kubewatch.
set -u
. "$(dirname "$0")/lib.sh"
gw_init
cd "$GW_ROOT"
gw_require_kubewatch

# --- fake API server, without the Gateway API CRDs at first ---
TOKEN=t0k3n
# Secrets forbidden (as with an RBAC gap): every other kind must still sync
gw_start_fakeapi --token $TOKEN --no-crds --forbid secrets --max-seconds 240
# block-style YAML on purpose (the other tests write the flow style)
cat > "$GW_TMP/kubeconfig" << EOF
apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {cluster: fake, user: gwbpf, namespace: gwbpf-system}
clusters:
- name: fake
  cluster: {server: "$API"}
users:
- name: gwbpf
  user: {token: $TOKEN}
EOF

ctl() # ctl VERB [BODY-FILE|JSON]
{
	if [ -f "${2:-}" ]; then
		curl -sf -XPOST "$API/_ctl/$1" --data-binary @"$2" > /dev/null
	else
		curl -sf -XPOST "$API/_ctl/$1" -d "${2:-{\}}" > /dev/null
	fi || gw_fail_logs "control $1 failed"
}
get() # get PATH: the API object as JSON
{
	curl -sf -H "Authorization: Bearer $TOKEN" "$API$1"
}
# wait_py FILE EXPR MSG: polls (10 s max) until the Python expression over
# d (the JSON of FILE, or None) is true
wait_py()
{
	$GW_PY - "$1" "$2" << 'EOF' || gw_fail_logs "$3"
import json, sys, time
path, expr = sys.argv[1], sys.argv[2]
end = time.time() + 10
while True:
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        d = None
    try:
        ok = bool(eval(expr, {"d": d, "refs": lambda: {o["ref"]: o["resourceVersion"] for o in (d or {}).get("objects", [])}}))
    except Exception:
        ok = False
    if ok:
        sys.exit(0)
    if time.time() > end:
        print("last:", json.dumps(d)[:2000])
        sys.exit(1)
    time.sleep(0.1)
EOF
}
# wait_api PATH EXPR MSG: polls (10 s max) the API object at PATH
wait_api()
{
	$GW_PY - "$API$1" "$TOKEN" "$2" << 'EOF' || gw_fail_logs "$3"
import json, sys, time, urllib.request
url, tok, expr = sys.argv[1:4]
end = time.time() + 10
while True:
    try:
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})
        d = json.load(urllib.request.urlopen(req, timeout=2))
    except Exception:
        d = None
    try:
        ok = bool(eval(expr, {"d": d}))
    except Exception:
        ok = False
    if ok:
        sys.exit(0)
    if time.time() > end:
        print("last:", json.dumps(d)[:3000])
        sys.exit(1)
    time.sleep(0.1)
EOF
}

cat > "$GW_TMP/core.yaml" << 'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Secret
metadata: {name: cert, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: "", tls.key: ""}
EOF
cat > "$GW_TMP/nodes.yaml" << 'EOF'
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {kubernetes.io/os: linux}}
status: {addresses: [{type: Hostname, address: n2}, {type: ExternalIP, address: 192.0.2.9},
         {type: InternalIP, address: 10.0.0.2}]}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {kubernetes.io/os: linux}}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}
EOF
ctl apply "$GW_TMP/core.yaml"
ctl apply "$GW_TMP/nodes.yaml"
# more ConfigMaps than one list page (500): the list must follow "continue"
$GW_PY -c '
import json
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1",
    "kind": "ConfigMap", "metadata": {"name": "cm-%03d" % i, "namespace": "default"},
    "data": {"k": "v"}} for i in range(520)]}))' > "$GW_TMP/cms.json"
ctl apply "$GW_TMP/cms.json"

OUT_A=$GW_TMP/a.json
"$B/kubewatch" --kubeconfig "$GW_TMP/kubeconfig" --out "$OUT_A" --identity node-a \
	--lease-duration 3 --renew 1 --rediscover 1 --seconds 200 ${KW_VERBOSE:+--verbose} > "$GW_TMP/a.log" 2>&1 &
KA=$!
gw_track $KA

# 1. synced with only the core kinds
wait_py "$OUT_A" 'd["synced"] and "Service default/echo" in refs() and "Namespace default" in refs()' \
	"core objects did not reach the store"
wait_py "$OUT_A" 'len([r for r in refs() if r.startswith("ConfigMap ")]) == 520' \
	"a paginated list lost objects"

# 2. CRDs installed later are picked up
ctl crds '{"install": true}'
cat > "$GW_TMP/gw.yaml" << 'EOF'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gwbpf}
spec: {controllerName: gwbpf.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gwbpf
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other-gw, namespace: default}
spec:
  gatewayClassName: other
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}, {name: other-gw}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
EOF
ctl apply "$GW_TMP/gw.yaml"
wait_py "$OUT_A" '"HTTPRoute default/web" in refs() and "Gateway default/gw" in refs()' \
	"Gateway API objects created after a late CRD install were not seen"

# 3. status: another controller's entry first (its Gateway, its class), then
# ours must be added next to it; the other class and Gateway stay untouched
cat > "$GW_TMP/other.json" << 'EOF'
{"status": {"parents": [{"parentRef": {"name": "other-gw"}, "controllerName": "example.com/other",
 "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
 "lastTransitionTime": "2020-01-01T00:00:00Z", "observedGeneration": 1}]}]}}
EOF
curl -sf -XPATCH -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/merge-patch+json' \
	"$API/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web/status" \
	--data-binary @"$GW_TMP/other.json" > /dev/null || gw_fail_logs "cannot patch the other controller's status"
wait_py "$OUT_A" 'd["leader"]' "the only instance did not take the Lease"
R=/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web
wait_api $R '[p["controllerName"] for p in d["status"]["parents"]] == ["example.com/other", "gwbpf.dev/gateway-controller"] and any(c["type"] == "Accepted" and c["status"] == "True" and c["observedGeneration"] == 1 for c in d["status"]["parents"][1]["conditions"])' \
	"route status: ours not added, or the other controller's entry not kept"
wait_api /apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw \
	'any(c["type"] == "Accepted" and c["status"] == "True" for c in d["status"]["conditions"]) and d["status"]["listeners"][0]["name"] == "http"' \
	"Gateway status not written"
# no spec.addresses: served on every node, so status.addresses lists the nodes' InternalIPs
wait_api /apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw \
	'd["status"]["addresses"] == [{"type": "IPAddress", "value": "10.0.0.1"}, {"type": "IPAddress", "value": "10.0.0.2"}]' \
	"Gateway status.addresses are not the nodes' addresses"
wait_api /apis/gateway.networking.k8s.io/v1/gatewayclasses/gwbpf \
	'any(c["type"] == "Accepted" and c["status"] == "True" for c in d["status"]["conditions"])' \
	"GatewayClass status not written"
[ -z "$(get /apis/gateway.networking.k8s.io/v1/gatewayclasses/other | $GW_PY -c 'import json,sys; print(json.load(sys.stdin).get("status") or "")')" ] ||
	gw_fail_logs "status written on another controller's GatewayClass"
LTT=$(get $R | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print([c["lastTransitionTime"] for c in d["status"]["parents"][1]["conditions"] if c["type"]=="Accepted"][0])')

# 3b. Ingress: ours (class gwbpf) gets status.loadBalancer.ingress with the
# nodes' addresses (no listen address: served on every node); another
# class's Ingress is left alone
cat > "$GW_TMP/ing.yaml" << 'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: default}
spec:
  ingressClassName: gwbpf
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing-other, namespace: default}
spec:
  ingressClassName: nginx
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}]}}]
EOF
ctl apply "$GW_TMP/ing.yaml"
ING=/apis/networking.k8s.io/v1/namespaces/default/ingresses
wait_api $ING/ing 'd["status"] == {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}}' \
	"Ingress status.loadBalancer not written (or not the nodes' addresses)"
[ -z "$(get $ING/ing-other | $GW_PY -c 'import json,sys; print(json.load(sys.stdin).get("status") or "")')" ] ||
	gw_fail_logs "status written on another class's Ingress"
ing_patches() { curl -sf "$API/_ctl/stats" | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["status_patches"].get("ingresses/default/ing", 0))'; }
[ "$(ing_patches)" -eq 1 ] || gw_fail_logs "Ingress status written $(ing_patches) times, want 1"

# 4. update: a spec change bumps generation; status follows with the same
# lastTransitionTime (Accepted stayed True)
sed 's/port: 80}/port: 80, weight: 2}/' "$GW_TMP/gw.yaml" > "$GW_TMP/gw2.yaml"
ctl apply "$GW_TMP/gw2.yaml"
wait_api $R 'd["metadata"]["generation"] == 2 and all(c["observedGeneration"] == 2 for c in d["status"]["parents"][1]["conditions"])' \
	"status did not follow the new generation"
wait_api $R "[c['lastTransitionTime'] for c in d['status']['parents'][1]['conditions'] if c['type'] == 'Accepted'] == ['$LTT']" \
	"lastTransitionTime moved although the condition status did not change"
# steady state: no status write loop (a few patches at most, not one per event)
P1=$(curl -sf "$API/_ctl/stats" | $GW_PY -c 'import json,sys; print(sum(json.load(sys.stdin)["patches"].values()))')
ctl apply "$GW_TMP/core.yaml" # a no-op update of unrelated objects
wait_py "$OUT_A" 'd["synced"]' "lost sync"
P2=$(curl -sf "$API/_ctl/stats" | $GW_PY -c 'import json,sys; print(sum(json.load(sys.stdin)["patches"].values()))')
[ $((P2 - P1)) -le 1 ] || gw_fail_logs "status rewritten without a change ($P1 -> $P2 patches)"
[ "$(ing_patches)" -eq 1 ] || gw_fail_logs "unchanged Ingress status re-sent ($(ing_patches) patches)"

# 5. delete
ctl delete '{"apiVersion": "v1", "kind": "Service", "namespace": "default", "name": "echo"}'
wait_py "$OUT_A" '"Service default/echo" not in refs()' "deleted Service still in the store"

# 6. 410 Gone: the resourceVersion the watches hold is compacted away; an
# object deleted meanwhile must disappear (only a relist can tell)
LISTS1=$(curl -sf "$API/_ctl/stats" | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["lists"])')
ctl compact
ctl apply "$GW_TMP/core.yaml"
wait_py "$OUT_A" '"Service default/echo" in refs()' "object created after a 410 not seen"
LISTS2=$(curl -sf "$API/_ctl/stats" | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["lists"])')
[ "$LISTS2" -gt "$LISTS1" ] || gw_fail_logs "no relist after 410 Gone ($LISTS1 -> $LISTS2)"

# 7. dropped streams: reconnect and keep following
ctl drop
cat > "$GW_TMP/svc2.yaml" << 'EOF'
apiVersion: v1
kind: Service
metadata: {name: after-drop, namespace: default}
spec: {ports: [{port: 81}]}
EOF
ctl apply "$GW_TMP/svc2.yaml"
wait_py "$OUT_A" '"Service default/after-drop" in refs()' "not reconnected after dropped streams"

# 8. outage: the last good store stays; afterwards, changes flow again
ctl outage '{"seconds": 2}'
wait_py "$OUT_A" '"HTTPRoute default/web" in refs() and "Service default/after-drop" in refs()' \
	"store lost objects during an outage"
sed 's/after-drop/after-outage/' "$GW_TMP/svc2.yaml" > "$GW_TMP/svc3.yaml"
ctl apply "$GW_TMP/svc3.yaml"
wait_py "$OUT_A" '"Service default/after-outage" in refs()' "not recovered after an API outage"

# 9. a second instance: exactly one writer; the other takes over on a kill
OUT_B=$GW_TMP/b.json
"$B/kubewatch" --kubeconfig "$GW_TMP/kubeconfig" --out "$OUT_B" --identity node-b \
	--lease-duration 3 --renew 1 --rediscover 1 --seconds 200 ${KW_VERBOSE:+--verbose} > "$GW_TMP/b.log" 2>&1 &
KB=$!
gw_track $KB
wait_py "$OUT_B" 'd["synced"] and "HTTPRoute default/web" in refs()' "second instance did not sync"
wait_py "$OUT_B" 'd["leader"] is False' "second instance claims the Lease held by the first"
wait_py "$OUT_A" 'd["leader"]' "first instance lost the Lease"
sed 's/weight: 2/weight: 3/' "$GW_TMP/gw2.yaml" > "$GW_TMP/gw3.yaml"
ctl apply "$GW_TMP/gw3.yaml"
wait_api $R 'all(c["observedGeneration"] == 3 for c in d["status"]["parents"][1]["conditions"])' \
	"status not written for generation 3"
wait_py "$OUT_B" 'd["leader"] is False' "second instance became leader while the first lives"
curl -sf "$API/_ctl/stats" | $GW_PY -c '
import json, sys
p = json.load(sys.stdin)["patches"]
sys.exit(0 if p.get("gwbpf/node-a", 0) > 0 and p.get("gwbpf/node-b", 0) == 0 else 1)' ||
	gw_fail_logs "status written by the non-leader: $(curl -sf "$API/_ctl/stats")"
T0=$($GW_PY -c 'import time; print(time.time())')
kill -9 "$KA"
wait "$KA" 2> /dev/null
gw_untrack "$KA"
KA=""
wait_py "$OUT_B" 'd["leader"]' "second instance did not take over the expired Lease"
# within the lease time: 3 s lease + 1 s renew period, plus the poll's and
# the dump's own delays and a loaded machine: 6 s at most
TAKE=$($GW_PY -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$T0")
echo "# takeover $TAKE s after the leader was killed (lease 3 s, renew 1 s)"
$GW_PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 6.0 else 1)' "$TAKE" ||
	gw_fail_logs "takeover took $TAKE s, more than the lease time + one renew period"
wait_api /apis/coordination.k8s.io/v1/namespaces/gwbpf-system/leases/gwbpf-status-writer \
	'd["spec"]["holderIdentity"] == "node-b" and d["spec"]["leaseTransitions"] >= 1' \
	"Lease not transferred to node-b"
sed 's/weight: 2/weight: 4/' "$GW_TMP/gw2.yaml" > "$GW_TMP/gw4.yaml"
ctl apply "$GW_TMP/gw4.yaml"
wait_api $R 'all(c["observedGeneration"] == 4 for c in d["status"]["parents"][1]["conditions"])' \
	"new leader did not write status"
curl -sf "$API/_ctl/stats" | $GW_PY -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["patches"].get("gwbpf/node-b", 0) > 0 else 1)' ||
	gw_fail_logs "node-b never patched status"
echo "ok: kube source, status writer and leader election"
exit 0
