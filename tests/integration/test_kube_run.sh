#!/bin/sh
# tests/integration/test_kube_run.sh - `gwbpf run --kubeconfig` end to end
# against tools/fakeapi (the mock API server; a real one cannot run here):
#  - objects listed from the API become a serving snapshot (/readyz, a routed
#    request reaches the echo backend named by the EndpointSlice);
#  - the daemon patches the HTTPRoute's and Gateway's status into the API;
#  - a route deleted in the API stops routing (404).
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_file "$GW_ROOT/tools/fakeapi/fakeapi.py"
$GW_PY -c 'import yaml' 2> /dev/null || gw_skip "python3-yaml missing"

TOKEN=run-t0k3n
$GW_PY "$GW_ROOT/tools/fakeapi/fakeapi.py" --port-file "$GW_TMP/port" --token $TOKEN \
	--max-seconds 120 > "$GW_TMP/fakeapi.log" 2>&1 &
gw_track $!
i=0
while [ ! -s "$GW_TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$GW_TMP/port" ] || gw_fail "fakeapi did not start"
API=http://127.0.0.1:$(cat "$GW_TMP/port")
cat > "$GW_TMP/kubeconfig" << EOF
apiVersion: v1
kind: Config
current-context: t
contexts: [{name: t, context: {cluster: c, user: u, namespace: gwbpf-system}}]
clusters: [{name: c, cluster: {server: "$API"}}]
users: [{name: u, user: {token: $TOKEN}}]
EOF

EPORT=$(gw_free_port)
LPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT kube-echo-0

cat > "$GW_TMP/objs.yaml" << EOF
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
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
  listeners: [{name: http, port: $LPORT, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: $EPORT}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-1, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: http, port: $EPORT, protocol: TCP}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /web}}], backendRefs: [{name: echo, port: 80}]}]
EOF
curl -sf -XPOST "$API/_ctl/apply" --data-binary @"$GW_TMP/objs.yaml" > /dev/null ||
	gw_fail "cannot apply objects to the fake API"

gw_start --kubeconfig "$GW_TMP/kubeconfig" --no-bpf --workers 1 --listen-address 127.0.0.1 \
	--access-log off

# a routed request reaches the backend the EndpointSlice names
gw_wait_http "http://127.0.0.1:$LPORT/web/x" 200 10 || gw_fail "route from the API did not serve"
body=$(curl -s "http://127.0.0.1:$LPORT/web/x")
case $body in *'"pod": "kube-echo-0"'*) ;; *) gw_fail "unexpected backend answer: $body" ;; esac

# status written back into the API by the (only, so leader) instance
$GW_PY - "$API" "$TOKEN" << 'PYEOF' || gw_fail "HTTPRoute/Gateway status not patched into the API"
import json, sys, time, urllib.request
api, tok = sys.argv[1:3]
def get(p):
    r = urllib.request.Request(api + p, headers={"Authorization": "Bearer " + tok})
    return json.load(urllib.request.urlopen(r, timeout=2))
rt = gw = {}
end = time.time() + 15
while time.time() < end:
    try:
        rt = get("/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web")
        gw = get("/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw")
        parents = rt.get("status", {}).get("parents", [])
        ok_rt = any(c["type"] == "Accepted" and c["status"] == "True"
                    for p in parents if p.get("controllerName") == "gwbpf.dev/gateway-controller"
                    for c in p.get("conditions", []))
        ok_gw = any(c["type"] == "Programmed" and c["status"] == "True"
                    for c in gw.get("status", {}).get("conditions", []))
        if ok_rt and ok_gw:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
print("route status:", json.dumps(rt.get("status")), "gateway status:", json.dumps(gw.get("status")))
sys.exit(1)
PYEOF

# deleting the route in the API stops routing
curl -sf -XPOST "$API/_ctl/delete" -d '{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "name": "web", "namespace": "default"}' > /dev/null ||
	gw_fail "cannot delete the route in the fake API"
gw_wait_http "http://127.0.0.1:$LPORT/web/x" 404 10 || gw_fail "deleted route still routes"
echo "PASS: gwbpf run --kubeconfig serves, writes status and follows deletes"
