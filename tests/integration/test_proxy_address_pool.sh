#!/bin/sh
# test_proxy_address_pool.sh - --address-pool: two Gateways without
# spec.addresses on the same port each get their own pool address (bound with
# IP_FREEBIND) and serve only their own routes there; status.addresses in
# /status names the address actually served.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_file "$B/gwbpf-echo"

P=$(gw_free_port)
BA=$(gw_free_port)
BB=$(gw_free_port)
gw_start_echo 127.0.0.1:$BA pod-a
gw_start_echo 127.0.0.1:$BB pod-b

{
	cat << YEOF
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gwbpf
spec:
  controllerName: gwbpf.dev/gateway-controller
YEOF
	for g in a b; do
		cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw-$g
  namespace: default
spec:
  gatewayClassName: gwbpf
  listeners:
  - name: http
    protocol: HTTP
    port: $P
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-$g
  namespace: default
spec:
  parentRefs:
  - name: gw-$g
  rules:
  - backendRefs:
    - {name: svc-$g, port: 8080}
YEOF
	done
	gw_yaml_service svc-a 8080 "$BA"
	gw_yaml_service svc-b 8080 "$BB"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off \
	--address-pool 127.77.0.0/24

curl -s "http://$GW_ADMIN/status" > "$GW_TMP/status.json"
addrs=$($GW_PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
out = {}
for i in d["items"]:
    if i["kind"] == "Gateway":
        a = [x["value"] for x in i["status"].get("addresses", [])]
        assert len(a) == 1, (i["metadata"]["name"], a)
        out[i["metadata"]["name"]] = a[0]
assert out["gw-a"] != out["gw-b"], out
assert all(v.startswith("127.77.0.") for v in out.values()), out
print(out["gw-a"], out["gw-b"])
' "$GW_TMP/status.json") || gw_fail "status.addresses: $(head -c 400 "$GW_TMP/status.json")"
set -- $addrs
pod_at() { curl -s -m 5 "http://$1:$P/" | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["pod"])'; }
[ "$(pod_at "$1")" = pod-a ] || gw_fail "gw-a address $1 did not reach pod-a"
[ "$(pod_at "$2")" = pod-b ] || gw_fail "gw-b address $2 did not reach pod-b"
# the port is bound only on the two pool addresses
c=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$P/")
[ "$c" = 000 ] || gw_fail "127.0.0.1:$P answered $c: binds must be per Gateway address"
gw_log "each Gateway serves on its own pool address ($1, $2)"
echo PASS
