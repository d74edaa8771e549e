#!/bin/sh
# tests/integration/test_validate_base.sh - `gwbpf validate` on the upstream
# conformance base manifests, as the upstream suite loads them
# ({GATEWAY_CLASS_NAME} replaced by a GatewayClass of gwbpf's controllerName).
#
# With an address pool (each Gateway its own address, as in a cluster) the
# four base Gateways are accepted; what is missing is exactly the certificate
# Secret the Go suite creates at run time, and validate names it and exits 1.
# Once that Secret exists, everything is accepted and validate exits 0.
# Without a pool, all base Gateways bind 0.0.0.0:80 and the newer ones are
# reported as conflicting.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_file "$GW_BIN"
gw_require_cmd openssl

BASE=$GW_ROOT/tests/unit/fixtures/translate/conformance/base.yaml
gw_require_file "$BASE"
M=$GW_TMP/m
mkdir -p "$M"
sed 's/{GATEWAY_CLASS_NAME}/gwbpf/g' "$BASE" > "$M/base.yaml"
gw_yaml_class > "$M/class.yaml"

POOL=127.10.0.0/16
rc=0
"$GW_BIN" validate --address-pool $POOL "$M" > "$GW_TMP/out" 2> "$GW_TMP/err" || rc=$?
cat "$GW_TMP/out" "$GW_TMP/err"
[ $rc -eq 1 ] || gw_fail "validate without the Secret: exit $rc, want 1"
for g in same-namespace all-namespaces backend-namespaces; do
	grep -Eq "^Gateway +gateway-conformance-infra/$g +OK" "$GW_TMP/out" ||
		gw_fail "Gateway $g not reported OK"
done
grep -Eq "^GatewayClass +gwbpf +OK" "$GW_TMP/out" || gw_fail "GatewayClass not OK"
# the only problem: the Secret the suite creates, named with file:line
n=$(grep -c ':[0-9][0-9]*: ' "$GW_TMP/err")
[ "$n" -eq 1 ] || gw_fail "want exactly one diagnostic, got $n"
grep -q 'InvalidCertificateRef' "$GW_TMP/err" || gw_fail "diagnostic does not say InvalidCertificateRef"
grep -q 'gateway-conformance-infra/tls-validity-checks-certificate' "$GW_TMP/err" ||
	gw_fail "diagnostic does not name the missing Secret"
grep -q 'base.yaml:[0-9]*: ' "$GW_TMP/err" || gw_fail "diagnostic has no file:line"

# JSON: the same Gateway is Accepted, its listener is ResolvedRefs=False
"$GW_BIN" validate -o json --address-pool $POOL "$M" > "$GW_TMP/json" 2> /dev/null
$GW_PY - "$GW_TMP/json" << 'EOF' || gw_fail "JSON status"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "List"
gws = {i["metadata"]["name"]: i for i in d["items"] if i["kind"] == "Gateway"}
assert len(gws) == 4, sorted(gws)
def cond(conds, t):
    return next((c["status"], c["reason"]) for c in conds if c["type"] == t)
for n, g in gws.items():
    assert cond(g["status"]["conditions"], "Accepted") == ("True", "Accepted"), n
h = gws["same-namespace-with-https-listener"]["status"]["listeners"]
for l in h:
    assert cond(l["conditions"], "ResolvedRefs") == ("False", "InvalidCertificateRef"), l["name"]
EOF

# add the Secret the suite would create: now everything is accepted
gw_cert c example.com
cat > "$M/secret.yaml" << EOF
apiVersion: v1
kind: Secret
metadata:
  name: tls-validity-checks-certificate
  namespace: gateway-conformance-infra
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 < "$GW_TMP/c.crt")
  tls.key: $(base64 -w0 < "$GW_TMP/c.key")
EOF
rc=0
"$GW_BIN" validate --address-pool $POOL "$M" > "$GW_TMP/out" 2> "$GW_TMP/err" || rc=$?
[ $rc -eq 0 ] || { cat "$GW_TMP/out" "$GW_TMP/err"; gw_fail "validate with the Secret: exit $rc"; }
grep -Eq "gateway-conformance-infra/same-namespace-with-https-listener +OK" "$GW_TMP/out" ||
	gw_fail "https Gateway not OK with its Secret"

# no pool: one address for all; the older Gateway keeps port 80
rc=0
"$GW_BIN" validate "$M" > "$GW_TMP/out" 2> "$GW_TMP/err" || rc=$?
[ $rc -eq 1 ] || gw_fail "validate without a pool: exit $rc, want 1"
grep -q 'HostnameConflict' "$GW_TMP/err" || gw_fail "no conflict reported without a pool"

# usage errors exit 2
rc=0
"$GW_BIN" validate -o nope "$M" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || gw_fail "bad -o: exit $rc, want 2"
for bad in 10.0.0.0/33 10.0.0.0 not-an-ip/8; do
	rc=0
	"$GW_BIN" validate --address-pool "$bad" "$M" > /dev/null 2> "$GW_TMP/err" || rc=$?
	[ $rc -eq 2 ] || gw_fail "--address-pool $bad: exit $rc, want 2"
	grep -q "not a CIDR" "$GW_TMP/err" || gw_fail "--address-pool $bad: no clear error"
done
rc=0
"$GW_BIN" validate --listen-address 1.2.3 "$M" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || gw_fail "bad --listen-address: exit $rc, want 2"
echo "ok"
