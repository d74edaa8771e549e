#!/bin/sh
# tests/integration/test_kube_endpoints.sh - `gwbpf run --kube` refuses
# backends whose endpoints point at the gateway's own node (the lesson of
# Contour's CVE-2021-32783): whoever may write an EndpointSlice must not be
# able to reach loopback services (the admin endpoint) or link-local ones
# (cloud metadata) through a route.
#  - a Service with a loopback endpoint (a live echo server) and one with
#    169.254.169.254: requests get 500 (no backend), never the echo answer;
#    the route's status says ResolvedRefs=False, RefNotPermitted, and names
#    the address and why;
#  - a Service with an ordinary address (192.0.2.10, TEST-NET) is accepted
#    (ResolvedRefs=True on its route): the guard is selective;
#  - with --allow-local-endpoints (tests, development) the loopback echo
#    serves (test_kube_run.sh runs that way).
. "$(dirname "$0")/lib.sh"
gw_init

TOKEN=ep-t0k3n
gw_start_fakeapi --token $TOKEN --max-seconds 120
gw_kubeconfig "$GW_TMP/kubeconfig" "token: $TOKEN"

EPORT=$(gw_free_port)
LPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT local-echo

svc() # svc NAME ADDRESS
{
	cat << EOF
---
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: $EPORT}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $1-1, namespace: default, labels: {kubernetes.io/service-name: $1}}
addressType: IPv4
ports: [{name: http, port: $EPORT, protocol: TCP}]
endpoints: [{addresses: ["$2"], conditions: {ready: true}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $1, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /$1}}], backendRefs: [{name: $1, port: 80}]}]
EOF
}
{
	cat << EOF
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
EOF
	svc loop 127.0.0.1
	svc meta 169.254.169.254
	svc plain 192.0.2.10
} > "$GW_TMP/objs.yaml"
curl -sf -XPOST "$API/_ctl/apply" --data-binary @"$GW_TMP/objs.yaml" > /dev/null ||
	gw_fail "cannot apply objects to the fake API"

gw_start --kubeconfig "$GW_TMP/kubeconfig" --no-bpf --workers 1 --listen-address 127.0.0.1 \
	--access-log off

# the loopback echo is alive (a direct request answers) but not through the gateway
curl -sf "http://127.0.0.1:$EPORT/" > /dev/null || gw_fail "echo backend not answering directly"
gw_wait_http "http://127.0.0.1:$LPORT/loop/x" 500 10 ||
	gw_fail "a loopback endpoint was not refused (want 500)"
body=$(curl -s "http://127.0.0.1:$LPORT/loop/x")
case $body in *local-echo*) gw_fail "the loopback backend was reached through the gateway" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$LPORT/meta/x")
[ "$code" = 500 ] || gw_fail "a link-local endpoint was not refused (HTTP $code, want 500)"

# status: refused routes say why; the ordinary one is resolved
$GW_PY - "$API" "$TOKEN" << 'PYEOF' || gw_fail "route status does not report the refusal"
import json, sys, time, urllib.request
api, tok = sys.argv[1:3]
def conds(name):
    r = urllib.request.Request(api + "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/" + name,
                               headers={"Authorization": "Bearer " + tok})
    rt = json.load(urllib.request.urlopen(r, timeout=2))
    for p in rt.get("status", {}).get("parents", []):
        if p.get("controllerName") == "gwbpf.dev/gateway-controller":
            return {c["type"]: c for c in p["conditions"]}
    return {}
want = {"loop": ("False", "RefNotPermitted", "127.0.0.1 refused (loopback)"),
        "meta": ("False", "RefNotPermitted", "169.254.169.254 refused (link-local)"),
        "plain": ("True", "ResolvedRefs", "")}
end = time.time() + 15
got = {}
while time.time() < end:
    try:
        got = {n: conds(n).get("ResolvedRefs") for n in want}
        if all(c and c["status"] == w[0] and c["reason"] == w[1] and w[2] in c["message"]
               for n, w in want.items() for c in [got[n]]):
            for n in want:
                print("# %s: ResolvedRefs=%s %s: %s" % (n, got[n]["status"], got[n]["reason"], got[n]["message"]))
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
print("ResolvedRefs:", json.dumps(got))
sys.exit(1)
PYEOF
echo "PASS: --kube refuses loopback and link-local endpoints, with a status condition"
