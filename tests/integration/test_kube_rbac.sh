#!/bin/sh
# tests/integration/test_kube_rbac.sh - deploy/rbac.yaml grants what the code
# calls, and no more. The kube source and status writer
# (tools/fakeapi/kubewatch.c, the same library as `gwbpf run --kube`) run
# against tools/fakeapi with an object of every kind they read, as leader,
# through a forced 409 (the writer then re-reads the object); fakeapi records
# every API call as RBAC sees it (verb, group, resource[/subresource]).
#  - every recorded call must be allowed by the ClusterRole;
#  - every permission the ClusterRole grants must have been used, or be the
#    status subresource of a kind the writer patches (gw_kube_has_status() in
#    userspace/source/kube_writer.c) that this run had no status change for.
set -u
. "$(dirname "$0")/lib.sh"
gw_init
cd "$GW_ROOT"
gw_require_kubewatch

gw_start_fakeapi --token tok --max-seconds 120
gw_kubeconfig "$GW_TMP/kubeconfig" "token: tok"
cat > "$GW_TMP/objs.yaml" << 'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {kubernetes.io/os: linux}}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-1, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: ["10.1.0.1"]}]
---
apiVersion: v1
kind: Secret
metadata: {name: cert, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: "", tls.key: ""}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca, namespace: default}
data: {ca.crt: ""}
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
  allowedListeners: {namespaces: {from: Same}}
  listeners:
  - {name: http, port: 8080, protocol: HTTP}
  - {name: tcp, port: 9000, protocol: TCP}
  - {name: udp, port: 9001, protocol: UDP}
  - {name: tls, port: 9443, protocol: TLS, hostname: a.example, tls: {mode: Passthrough}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: default}
spec:
  parentRef: {name: gw}
  listeners: [{name: extra, port: 8081, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: tcp, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: tcp}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: udp, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: udp}]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: tls, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: tls}]
  hostnames: [a.example]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: rg, namespace: default}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: other}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: btls, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: echo}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: echo.example}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: default}
spec:
  ingressClassName: gwbpf
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}]}}]
EOF
curl -sf -XPOST "$API/_ctl/apply" --data-binary @"$GW_TMP/objs.yaml" > /dev/null || gw_fail_logs "cannot apply objects"
# the first status PATCH is refused: the writer must GET the object again
curl -sf -XPOST "$API/_ctl/conflict" -d '{"count": 1}' > /dev/null || gw_fail_logs "cannot arm a conflict"
"$B/kubewatch" --kubeconfig "$GW_TMP/kubeconfig" --out "$GW_TMP/out.json" --identity n1 \
	--lease-duration 3 --renew 1 --seconds 60 > "$GW_TMP/kubewatch.log" 2>&1 &
KW=$!
gw_track $KW

$GW_PY - "$API" deploy/rbac.yaml userspace/source/kube_writer.c << 'PYEOF' || gw_fail_logs "RBAC does not match the calls"
import json, re, sys, time, urllib.request, yaml
api, rbac_file, src = sys.argv[1:4]
def stats():
    return json.load(urllib.request.urlopen(api + "/_ctl/stats", timeout=5))
# wait: leader, status written for the route, the Gateway and the Ingress,
# the conflict taken (a get on a status kind), the Lease renewed (update)
want_patched = ["httproutes/default/web", "gateways/default/gw", "ingresses/default/ing"]
end = time.time() + 30
while True:
    s = stats()
    used = set(s["requests"])
    done = (all(s["status_patches"].get(k) for k in want_patched) and s["conflicts"] >= 1
            and any(u.startswith("get ") and not u.endswith("leases") for u in used)
            and 'update coordination.k8s.io leases' in used)
    if done:
        break
    if time.time() > end:
        print("calls so far:", json.dumps(s["requests"], indent=1), s["status_patches"], s["conflicts"])
        sys.exit(1)
    time.sleep(0.2)
time.sleep(1.5)  # one more rediscovery/renew round in the record
used = {u.replace('""', "") for u in stats()["requests"]}
granted = set()
for d in yaml.safe_load_all(open(rbac_file)):
    if d and d.get("kind") == "ClusterRole":
        for r in d["rules"]:
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    for v in r["verbs"]:
                        granted.add("%s %s %s" % (v, g, res))
norm = lambda x: " ".join(x.split())
used = {norm(u) for u in used}
granted = {norm(g) for g in granted}
# status kinds the writer patches (from the source: has_status())
m = re.search(r"has_status\(const char \*kind\)\s*\{[^}]*\{([^}]*)\}", open(src).read(), re.S)
status_kinds = re.findall(r'"(\w+)"', m.group(1))
def plural(k):  # as gw_kube_resource_path() forms them
    k = k.lower()
    if k.endswith("s"):
        return k + "es"
    if k.endswith("y") and k[-2] not in "aeiou":
        return k[:-1] + "ies"
    return k + "s"
status_res = {("networking.k8s.io" if k == "Ingress" else "gateway.networking.k8s.io") + " " + plural(k) + "/status" for k in status_kinds}
missing = sorted(u for u in used if u not in granted)
unused = sorted(g for g in granted if g not in used and
                not (g.split(" ", 1)[0] in ("patch", "get") and g.split(" ", 1)[1] in
                     status_res | {r.rsplit("/", 1)[0] for r in status_res}))
print("# calls made: %d kinds of call; granted: %d; status kinds: %s" % (len(used), len(granted), ",".join(status_kinds)))
for u in sorted(used):
    print("#   used:", u)
if missing:
    print("calls the ClusterRole does not allow:", missing)
if unused:
    print("granted but never called (remove them):", unused)
sys.exit(1 if missing or unused else 0)
PYEOF
echo "ok: deploy/rbac.yaml grants exactly what the kube source and status writer call"
exit 0
