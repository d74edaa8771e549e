#!/bin/sh
# tests/integration/test_kube_run.sh - `gwbpf run --kubeconfig` end to end
# against tools/fakeapi (the mock API server; a real one cannot run here):
#  - objects listed from the API become a serving snapshot (/readyz, a routed
#    request reaches the echo backend named by the EndpointSlice);
#  - the daemon patches the HTTPRoute's and Gateway's status into the API;
#  - status-only updates (our own patches coming back as watch events, and
#    another controller's) do not re-translate; spec changes do;
#  - a TLS Secret's key never shows in the log, /status, /metrics or
#    `gwbpf status` (docs/security.md);
#  - a route deleted in the API stops routing (404).
. "$(dirname "$0")/lib.sh"
gw_init

TOKEN=run-t0k3n
gw_start_fakeapi --token $TOKEN --max-seconds 120
gw_kubeconfig "$GW_TMP/kubeconfig" "token: $TOKEN"

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

# the echo backend is on loopback, which --kube refuses unless allowed
gw_start --kubeconfig "$GW_TMP/kubeconfig" --allow-local-endpoints --no-bpf --workers 1 \
	--listen-address 127.0.0.1 \
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

# status-only updates are not translated again; spec changes are. Snapshots
# are counted from the log ("run: snapshot N published"). Three status
# patches from "another controller", 0.3 s apart (more than the 100 ms
# debounce, so a source that republished them would publish three times),
# then two new routes on the same watch stream (events arrive in order, so
# once /web2 answers, the patches before it were processed): exactly two
# more snapshots.
snaps() { grep -c 'run: snapshot [0-9]* published' "$GW_TMP/gwbpf.log"; }
route_yaml() # route_yaml NAME
{
	cat << EOF
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $1, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /$1}}], backendRefs: [{name: echo, port: 80}]}]
EOF
}
wait_route_status() # wait_route_status NAME: our Accepted=True is in the API
{
	$GW_PY - "$API" "$TOKEN" "$1" << 'PYEOF'
import json, sys, time, urllib.request
api, tok, name = sys.argv[1:4]
end = time.time() + 15
while time.time() < end:
    try:
        r = urllib.request.Request(api + "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/" + name,
                                   headers={"Authorization": "Bearer " + tok})
        rt = json.load(urllib.request.urlopen(r, timeout=2))
        if any(c["type"] == "Accepted" and c["status"] == "True"
               for p in rt.get("status", {}).get("parents", [])
               if p.get("controllerName") == "gwbpf.dev/gateway-controller" for c in p["conditions"]):
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
PYEOF
}
S0=$(snaps)
for n in 1 2 3; do
	$GW_PY - "$API" "$TOKEN" "$n" << 'PYEOF' || gw_fail "cannot patch the route's status"
import json, sys, urllib.request
api, tok, n = sys.argv[1:4]
url = api + "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web"
h = {"Authorization": "Bearer " + tok}
rt = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=h), timeout=2))
parents = [p for p in rt["status"]["parents"] if p.get("controllerName") != "example.com/other"]
parents.append({"parentRef": {"name": "elsewhere"}, "controllerName": "example.com/other",
                "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                "message": "patch " + n, "observedGeneration": 1,
                                "lastTransitionTime": "2020-01-01T00:00:00Z"}]})
body = json.dumps({"status": {"parents": parents}}).encode()
h["Content-Type"] = "application/merge-patch+json"
urllib.request.urlopen(urllib.request.Request(url + "/status", data=body, headers=h, method="PATCH"), timeout=2)
PYEOF
	sleep 0.3
done
route_yaml web2 | curl -sf -XPOST "$API/_ctl/apply" --data-binary @- > /dev/null ||
	gw_fail "cannot apply web2"
gw_wait_http "http://127.0.0.1:$LPORT/web2/x" 200 10 || gw_fail "a new route (spec change) was not translated"
wait_route_status web2 || gw_fail "web2 status not written"
route_yaml web3 | curl -sf -XPOST "$API/_ctl/apply" --data-binary @- > /dev/null ||
	gw_fail "cannot apply web3"
gw_wait_http "http://127.0.0.1:$LPORT/web3/x" 200 10 || gw_fail "a new route (spec change) was not translated"
S1=$(snaps)
gw_log "snapshots: $S0 before 3 status patches + our own status writes + 2 new routes, $S1 after"
[ "$S1" -eq $((S0 + 2)) ] ||
	gw_fail "status-only updates were translated again ($S0 -> $S1 snapshots, want $((S0 + 2)))"
# the source says how many it kept out (logged at most once a second)
i=0
while [ $i -lt 50 ]; do
	Q=$(sed -n 's/.*not republished (total \([0-9]*\)).*/\1/p' "$GW_TMP/gwbpf.log" | tail -n 1)
	[ "${Q:-0}" -ge 3 ] && break
	sleep 0.1
	i=$((i + 1))
done
[ "${Q:-0}" -ge 3 ] || gw_fail "the source did not report the status-only updates it ignored (${Q:-none})"
gw_log "status-only updates not republished: $Q"

# secrets stay secret: a TLS Secret used by an HTTPS listener; pieces of its
# key (PEM text, and the base64 the API carries) must appear nowhere the
# daemon prints
SPORT=$(gw_free_port)
gw_cert secret secret.example
$GW_PY - "$API" "$SPORT" "$GW_TMP" << 'PYEOF' || gw_fail "cannot create the TLS Secret"
import base64, json, sys, urllib.request
api, port, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = open(tmp + "/secret.key").read()
b64 = lambda s: base64.b64encode(s.encode()).decode()
objs = [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "tls", "namespace": "default"},
         "data": {"tls.crt": b64(open(tmp + "/secret.crt").read()), "tls.key": b64(key)}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "gws", "namespace": "default"},
         "spec": {"gatewayClassName": "gwbpf", "listeners": [{"name": "https", "port": port,
                  "protocol": "HTTPS", "tls": {"certificateRefs": [{"name": "tls"}]}}]}}]
body = json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}).encode()
urllib.request.urlopen(urllib.request.Request(api + "/_ctl/apply", data=body, method="POST"), timeout=5)
lines = [l for l in key.splitlines() if not l.startswith("-----")]
# needles: a line from the middle of the key, and a piece of the Secret's data
open(tmp + "/needles", "w").write(lines[len(lines) // 2][8:40] + "\n" + b64(key)[60:92] + "\n")
PYEOF
i=0
while [ $i -lt 100 ] && ! curl -s "http://$GW_ADMIN/status" | grep -q 'gws'; do sleep 0.1; i=$((i + 1)); done
code=$(curl -sk -o /dev/null -m 5 -w '%{http_code}' "https://127.0.0.1:$SPORT/web/x")
{
	cat "$GW_TMP/gwbpf.log"
	curl -s "http://$GW_ADMIN/status"
	curl -s "http://$GW_ADMIN/metrics"
	"$GW_BIN" status --admin "$GW_ADMIN" 2>&1
	"$GW_BIN" status --json --admin "$GW_ADMIN" 2>&1
} > "$GW_TMP/everything.txt"
grep -q 'gws' "$GW_TMP/everything.txt" || gw_fail "the HTTPS Gateway never reached /status (test setup)"
if grep -F -f "$GW_TMP/needles" "$GW_TMP/everything.txt" > /dev/null || grep -q 'PRIVATE KEY' "$GW_TMP/everything.txt"; then
	grep -n -F -f "$GW_TMP/needles" "$GW_TMP/everything.txt" | head -n 3
	gw_fail "secret key material printed by the daemon"
fi
gw_log "HTTPS listener with the Secret answered $code; key material in the log, /status, /metrics, gwbpf status: none ($(wc -c < "$GW_TMP/everything.txt") bytes checked)"

# deleting the route in the API stops routing
curl -sf -XPOST "$API/_ctl/delete" -d '{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "name": "web", "namespace": "default"}' > /dev/null ||
	gw_fail "cannot delete the route in the fake API"
gw_wait_http "http://127.0.0.1:$LPORT/web/x" 404 10 || gw_fail "deleted route still routes"
echo "PASS: gwbpf run --kubeconfig serves, writes status and follows deletes"
