#!/bin/sh
# tests/e2e/kind/run.sh - the upstream Gateway API conformance suite against
# gwbpf deployed as a DaemonSet in a kind cluster.
# Needs kind, kubectl, a running Docker engine, an existing kind cluster, and
# for the suite itself Go plus a checkout of kubernetes-sigs/gateway-api
# (GATEWAY_API_DIR, default ../gateway-api). Skips (249) with the reason
# otherwise. Best effort: it cannot run on the build machine (no Docker), so
# it has only been checked for shape, not run.
#
# Environment: KIND_CLUSTER (default: the first cluster), GATEWAY_API_DIR,
# CONFORMANCE_PROFILES (default GATEWAY-HTTP), IMAGE (default gwbpf:dev).
set -u
cd "$(dirname "$0")/../../.."
for t in kind kubectl docker; do
	if ! command -v "$t" > /dev/null 2>&1; then
		echo "skip: kind e2e needs '$t', which is not installed on this machine"
		exit 249
	fi
done
if ! docker info > /dev/null 2>&1; then
	echo "skip: kind e2e needs a running Docker engine; none answers here"
	exit 249
fi
if ! kind get clusters 2> /dev/null | grep -q .; then
	echo "skip: no kind cluster exists (create one with 'kind create cluster')"
	exit 249
fi
GATEWAY_API_DIR=${GATEWAY_API_DIR:-../gateway-api}
if ! command -v go > /dev/null 2>&1 || [ ! -d "$GATEWAY_API_DIR/conformance" ]; then
	echo "skip: the upstream suite needs Go and a gateway-api checkout in GATEWAY_API_DIR ($GATEWAY_API_DIR)"
	exit 249
fi
CLUSTER=${KIND_CLUSTER:-$(kind get clusters | head -n 1)}
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
$K apply --server-side -f deploy/crds/standard/ || fail "CRDs"
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
