#!/bin/sh
# tests/e2e/kind/run.sh - the upstream Gateway API conformance suite against
# gwbpf deployed as a DaemonSet in a kind cluster.
# Needs kind, kubectl, a running Docker engine and, for the suite itself, Go
# plus a checkout of kubernetes-sigs/gateway-api (GATEWAY_API_DIR, default
# ../gateway-api). Otherwise it skips with the reason on the last line and
# exits 0 (run by hand: nothing failed), or $GW_SKIP_RC when set (tests/run.sh
# sets 249, its "skip", so the suite counts it as skipped, never as passed). It
# cannot run on the development machines (no Docker), so it has only been
# checked for shape (sh -n), not run.
#
# Steps: a kind cluster (KIND_CLUSTER, else the first one, else a new
# "gwbpf-e2e" that is deleted at the end unless KEEP_CLUSTER=1); the Gateway
# API CRDs from ../shared/gateway-api/config/crd/standard (else
# deploy/crds/standard); the image built and loaded; RBAC, DaemonSet,
# GatewayClass; an echo Deployment + Service and a Gateway + HTTPRoute, with
# routed requests checked from the node; then the upstream conformance suite.
#
# Environment: KIND_CLUSTER, KEEP_CLUSTER, GATEWAY_API_DIR,
# CONFORMANCE_PROFILES (default GATEWAY-HTTP), IMAGE (default gwbpf:dev).
set -u
SKIP_RC=${GW_SKIP_RC:-0}
cd "$(dirname "$0")/../../.."
for t in kind kubectl docker; do
	if ! command -v "$t" > /dev/null 2>&1; then
		echo "skip: kind e2e needs '$t', which is not installed on this machine"
		exit "$SKIP_RC"
	fi
done
if ! docker info > /dev/null 2>&1; then
	echo "skip: kind e2e needs a running Docker engine; none answers here"
	exit "$SKIP_RC"
fi
GATEWAY_API_DIR=${GATEWAY_API_DIR:-../gateway-api}
if ! command -v go > /dev/null 2>&1 || [ ! -d "$GATEWAY_API_DIR/conformance" ]; then
	echo "skip: the upstream suite needs Go and a gateway-api checkout in GATEWAY_API_DIR ($GATEWAY_API_DIR)"
	exit "$SKIP_RC"
fi
CREATED=""
CLUSTER=${KIND_CLUSTER:-$(kind get clusters 2> /dev/null | head -n 1)}
if [ -z "$CLUSTER" ]; then
	CLUSTER=gwbpf-e2e
	echo "# creating kind cluster $CLUSTER"
	kind create cluster --name "$CLUSTER" --wait 120s || { echo "FAIL: kind create cluster"; exit 1; }
	CREATED=1
fi
e2e_cleanup()
{
	[ -n "$CREATED" ] && [ "${KEEP_CLUSTER:-0}" != 1 ] && kind delete cluster --name "$CLUSTER"
}
trap e2e_cleanup EXIT
IMAGE=${IMAGE:-gwbpf:dev}
PROFILES=${CONFORMANCE_PROFILES:-GATEWAY-HTTP}
CTX=kind-$CLUSTER
K="kubectl --context $CTX"

fail()
{
	echo "FAIL: $*"
	$K -n gwbpf-system get pods -o wide 2> /dev/null
	$K -n gwbpf-system logs -l app.kubernetes.io/name=gwbpf --tail=50 2> /dev/null
	exit 1
}

echo "# building $IMAGE and loading it into kind cluster $CLUSTER"
docker build -t "$IMAGE" -f deploy/Dockerfile . || fail "image build"
kind load docker-image "$IMAGE" --name "$CLUSTER" || fail "kind load"

echo "# installing the Gateway API CRDs, RBAC, the DaemonSet and the GatewayClass"
CRDS=../shared/gateway-api/config/crd/standard
[ -d "$CRDS" ] || CRDS=deploy/crds/standard
$K apply --server-side -f "$CRDS/" || fail "CRDs"
$K apply -f deploy/rbac.yaml || fail "RBAC"
$K apply -f deploy/daemonset.yaml || fail "DaemonSet"
$K -n gwbpf-system set image daemonset/gwbpf gwbpf="$IMAGE" > /dev/null || fail "set image"
# holderIdentity of the status Lease: the node name
$K -n gwbpf-system patch daemonset gwbpf --type=json -p '[{"op": "add",
  "path": "/spec/template/spec/containers/0/env", "value": [{"name": "NODE_NAME",
  "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]' > /dev/null ||
	fail "NODE_NAME env"
$K -n gwbpf-system rollout status daemonset/gwbpf --timeout=180s || fail "rollout"
$K apply -f deploy/gatewayclass.yaml || fail "GatewayClass"
$K wait --for=condition=Accepted gatewayclass/gwbpf --timeout=60s ||
	fail "GatewayClass not accepted (is the status writer elected? see the Lease)"
$K -n gwbpf-system get lease gwbpf-status-writer -o jsonpath='{.spec.holderIdentity}' |
	grep -q . || fail "no status writer Lease holder"

echo "# an echo backend, a Gateway and a route; requests from the node"
NODE=$(kind get nodes --name "$CLUSTER" | head -n 1)
$K apply -f - << EOF || fail "example objects"
apiVersion: apps/v1
kind: Deployment
metadata: {name: e2e-echo, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: e2e-echo}}
  template:
    metadata: {labels: {app: e2e-echo}}
    spec:
      containers:
      - name: echo
        image: $IMAGE
        command: ["/usr/local/bin/gwbpf-echo", "--listen", "0.0.0.0:8080"]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: e2e-echo, namespace: default}
spec:
  selector: {app: e2e-echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: e2e, namespace: default}
spec:
  gatewayClassName: gwbpf
  listeners: [{name: http, port: 18080, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: e2e, namespace: default}
spec:
  parentRefs: [{name: e2e}]
  rules: [{matches: [{path: {type: PathPrefix, value: /e2e}}], backendRefs: [{name: e2e-echo, port: 80}]}]
EOF
$K rollout status deployment/e2e-echo --timeout=120s || fail "echo deployment"
$K wait --for=condition=Programmed gateway/e2e --timeout=60s || fail "Gateway not Programmed"
i=0
until docker exec "$NODE" curl -sf -m 2 http://127.0.0.1:18080/e2e/x | grep -q '"path"'; do
	i=$((i + 1))
	[ $i -lt 60 ] || fail "routed request through the Gateway on node $NODE"
	sleep 1
done
code=$(docker exec "$NODE" curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.0.1:18080/nothing)
[ "$code" = 404 ] || fail "unrouted path answered $code, want 404"
echo "# routed requests ok on node $NODE"

echo "# running the upstream conformance suite (profiles: $PROFILES)"
REPORT=$(pwd)/build/e2e-conformance-report.yaml
mkdir -p build
(cd "$GATEWAY_API_DIR" && timeout 3600 go test ./conformance -run TestConformance -timeout 60m \
	-args --gateway-class=gwbpf --supported-features= --conformance-profiles="$PROFILES" \
	--organization=gwbpf --project=gwbpf --url=https://github.com/gwbpf/gwbpf \
	--version=dev --contact=gwbpf --report-output="$REPORT" --cleanup-base-resources=true \
	--kubeconfig="${KUBECONFIG:-$HOME/.kube/config}") || fail "conformance suite failed"
echo "ok: conformance report in $REPORT"
exit 0
