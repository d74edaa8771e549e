#!/bin/sh
# tests/integration/test_kube_lease_pass.sh - a status pass longer than the
# Lease: the leader keeps its Lease (renewed between answers) and stays the
# only writer. 300 HTTPRoutes appear at once while every PATCH takes 40 ms
# (fakeapi /_ctl/latency): 12 s of PATCHes one after the other, against a
# 3 s Lease. A second instance watches all along.
#  - every route gets its status, written by node-a only;
#  - node-a renewed the Lease during the pass and still holds it; node-b
#    never wrote the Lease nor a status.
# Prints how long the pass took (8 PATCHes are in flight at once).
set -u
. "$(dirname "$0")/lib.sh"
gw_init
cd "$GW_ROOT"
gw_require_kubewatch

gw_start_fakeapi --token tok --max-seconds 120
gw_kubeconfig "$GW_TMP/kubeconfig" "token: tok"
ctl() { curl -sf -XPOST "$API/_ctl/$1" --data-binary "$2" > /dev/null || gw_fail_logs "control $1"; }
stat() { curl -sf "$API/_ctl/stats" | $GW_PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ctl apply '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}'
"$B/kubewatch" --kubeconfig "$GW_TMP/kubeconfig" --out "$GW_TMP/a.json" --identity node-a \
	--lease-duration 3 --renew 1 --seconds 100 > "$GW_TMP/a.log" 2>&1 &
KA=$!
gw_track $KA
i=0
while [ $i -lt 100 ] && [ "$(stat 'd["lease_writes"].get("node-a", 0)')" -lt 1 ]; do sleep 0.1; i=$((i + 1)); done
"$B/kubewatch" --kubeconfig "$GW_TMP/kubeconfig" --out "$GW_TMP/b.json" --identity node-b \
	--lease-duration 3 --renew 1 --seconds 100 > "$GW_TMP/b.log" 2>&1 &
KB=$!
gw_track $KB
sleep 1 # node-b has seen the Lease held (it renews every second)

$GW_PY -c '
import json
items = [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "gwbpf"},
          "spec": {"controllerName": "gwbpf.dev/gateway-controller"}},
         {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "default"},
          "spec": {"gatewayClassName": "gwbpf", "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]}},
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo", "namespace": "default"},
          "spec": {"ports": [{"port": 80}]}}]
items += [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
           "metadata": {"name": "r%03d" % i, "namespace": "default"},
           "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/r%d" % i}}],
                    "backendRefs": [{"name": "echo", "port": 80}]}]}} for i in range(300)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))' > "$GW_TMP/objs.json"
ctl latency '{"patch_ms": 40}'
LW0=$(stat 'd["lease_writes"].get("node-a", 0)')
T0=$($GW_PY -c 'import time; print(time.time())')
ctl apply @"$GW_TMP/objs.json"
i=0
while [ $i -lt 600 ]; do
	n=$(stat 'sum(1 for k in d["status_patches"] if k.startswith("httproutes/"))')
	[ "$n" -ge 300 ] && break
	sleep 0.1
	i=$((i + 1))
done
T=$($GW_PY -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$T0")
[ "$n" -ge 300 ] || gw_fail_logs "only $n of 300 routes got a status"
LW1=$(stat 'd["lease_writes"].get("node-a", 0)')
echo "# 300 routes' status written in $T s with 40 ms per PATCH (one at a time: 12 s); node-a renewed the Lease $((LW1 - LW0)) times meanwhile"
[ "$(stat 'd["patches"].get("gwbpf/node-b", 0)')" -eq 0 ] || gw_fail_logs "node-b wrote status: $(stat 'd["patches"]')"
[ "$(stat 'd["lease_writes"].get("node-b", 0)')" -eq 0 ] || gw_fail_logs "node-b took the Lease during the pass"
[ "$LW1" -gt "$LW0" ] || gw_fail_logs "the Lease was not renewed during the pass"
H=$(curl -sf -H 'Authorization: Bearer tok' "$API/apis/coordination.k8s.io/v1/namespaces/gwbpf-system/leases/gwbpf-status-writer" |
	$GW_PY -c 'import json,sys; print(json.load(sys.stdin)["spec"]["holderIdentity"])')
[ "$H" = node-a ] || gw_fail_logs "Lease holder is '$H' after the pass"
echo "ok: a status pass longer than the Lease keeps one writer"
exit 0
