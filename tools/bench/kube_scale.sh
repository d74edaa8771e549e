#!/bin/sh
# tools/bench/kube_scale.sh - large-cluster benchmark of the Kubernetes source.
#
# Loads tools/fakeapi (the mock API server) with 5,000 Services, 20,000
# EndpointSlices, 5,000 HTTPRoutes over 4 Gateways and 52 Namespaces
# (tools/bench/kube_scale_gen.py writes them), starts
#   gwbpf run --kubeconfig F --no-bpf --workers 1 --access-log off ...
# and measures:
#   - time from exec to /readyz 200 (first ready snapshot) and peak RSS;
#   - that routed requests reach the echo backend behind three Services;
#   - time until the status writer has patched every route and Gateway;
#   - time from a PATCH of one HTTPRoute in the API to its new path answering.
# Prints a table and writes it to build/bench/kube_scale.md. Not part of
# `make test`. Sizes: KS_SERVICES, KS_SLICES, KS_ENDPOINTS, KS_ROUTES,
# KS_NAMESPACES, KS_GATEWAYS (see kube_scale_gen.py); KS_READY_S bounds the
# wait for readiness (default 300 s). Exit 0 when every step passed.
. "$(dirname "$0")/../../tests/integration/lib.sh"
gw_init
gw_require_file "$GW_BIN" "$B/gwbpf-echo" "$GW_ROOT/tools/fakeapi/fakeapi.py"
$GW_PY -c 'import yaml' 2> /dev/null || gw_skip "python3-yaml missing"
GEN="$GW_PY $GW_ROOT/tools/bench/kube_scale_gen.py"
NGW=${KS_GATEWAYS:-4}
NROUTES=${KS_ROUTES:-5000}
READY_S=${KS_READY_S:-300}
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

TOKEN=bench-t0k3n
gw_start_fakeapi --token $TOKEN --max-seconds 1200
FAKE_PID=$GW_FAKE_PID
gw_kubeconfig "$GW_TMP/kubeconfig" "token: $TOKEN"

EPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT kube-echo
GWPORTS=""
g=0
while [ $g -lt "$NGW" ]; do
	GWPORTS="$GWPORTS $(gw_free_port)"
	g=$((g + 1))
done
set -- $GWPORTS
GWPORT0=$1

# objects into the API (before gwbpf starts: it sees them in its first lists)
t0=$(now_ns)
COUNTS=$($GEN gen "$GW_TMP/objs" "$EPORT" $GWPORTS) || gw_fail "generator failed"
GEN_MS=$(ms_since "$t0")
t0=$(now_ns)
for f in "$GW_TMP"/objs/batch-*.json; do
	curl -sf -m 120 -XPOST "$API/_ctl/apply" --data-binary @"$f" > /dev/null ||
		gw_fail "cannot apply $f to the fake API"
done
LOAD_MS=$(ms_since "$t0")
gw_log "objects: $COUNTS (generated in $GEN_MS ms, applied in $LOAD_MS ms)"

# time to the first ready snapshot
GW_ADMIN=127.0.0.1:$(gw_free_port)
t0=$(now_ns)
"$GW_BIN" run --kubeconfig "$GW_TMP/kubeconfig" --allow-local-endpoints --no-bpf --workers 1 --access-log off \
	--listen-address 127.0.0.1 --admin "$GW_ADMIN" >> "$GW_TMP/gwbpf.log" 2>&1 &
GW_PID=$!
gw_track $GW_PID
READY_MS=$($GEN wait "http://$GW_ADMIN/readyz" 200 "$READY_S" "$t0") ||
	gw_fail "gwbpf not ready within $READY_S s"
RSS_READY=$($GEN rss $GW_PID)
gw_log "ready after $READY_MS ms; VmHWM/VmRSS MiB: $RSS_READY"

# routed requests: routes 0..2 go to the echo Services, one per Gateway
r=0
for p in $GWPORTS; do
	[ $r -lt 3 ] || break
	body=$(curl -s -m 5 "http://127.0.0.1:$p/r$r/x")
	case $body in *'"pod": "kube-echo"'*|*'"pod":"kube-echo"'*) ;;
	*) gw_fail "route r$r on port $p did not reach the echo backend: $body" ;;
	esac
	r=$((r + 1))
done
ROUTED=ok

# status: every route, every Gateway and the GatewayClass patched once
NPATCH=$((NROUTES + NGW + 1))
STATUS_MS=$($GEN patches "$API" $NPATCH 300 "$t0") || STATUS_MS="not within 300 s"
gw_log "status written after $STATUS_MS ms from start"
# churn: translations (snapshots) so far, and what the API served
SNAPS=$(grep -c 'run: snapshot [0-9]* published' "$GW_TMP/gwbpf.log")
APISTATS=$(curl -sf -m 5 "$API/_ctl/stats" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print("%d status patches, %d conflicts, %d lists" % (sum(d["patches"].values()), d["conflicts"], d["lists"]))')
gw_log "snapshots published until status written: $SNAPS; API: $APISTATS"

# one update through the API: route-00000 moves from /r0 to /r0-updated
t1=$(now_ns)
curl -sf -m 10 -XPATCH -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: application/merge-patch+json' \
	"$API/apis/gateway.networking.k8s.io/v1/namespaces/ns-000/httproutes/route-00000" \
	-d '{"spec": {"rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/r0-updated"}}], "backendRefs": [{"name": "svc-00000", "port": 80}]}]}}' \
	> /dev/null || gw_fail "cannot patch route-00000"
UPDATE_MS=$($GEN wait "http://127.0.0.1:$GWPORT0/r0-updated/x" 200 60 "$t1") ||
	gw_fail "updated route did not answer within 60 s"
RSS_END=$($GEN rss $GW_PID)
gw_log "update served after $UPDATE_MS ms; VmHWM/VmRSS MiB: $RSS_END"
kill -0 "$FAKE_PID" 2> /dev/null || gw_fail "fakeapi exited"

mkdir -p "$B/bench"
{
	echo "# gwbpf kube_scale ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPU," \
		"$(uname -r), $(git -C "$GW_ROOT" rev-parse --short HEAD 2> /dev/null))"
	echo
	echo "objects: $COUNTS"
	echo
	echo "| measure | value |"
	echo "|---|---|"
	echo "| objects applied to fakeapi | $LOAD_MS ms |"
	echo "| start to /readyz 200 (first ready snapshot) | $READY_MS ms |"
	echo "| peak RSS (VmHWM) at ready / RSS | ${RSS_READY% *} / ${RSS_READY#* } MiB |"
	echo "| routed requests to echo (3 Gateways) | $ROUTED |"
	echo "| start to status of all routes+Gateways written | $STATUS_MS ms |"
	echo "| snapshots (translations) until then | $SNAPS |"
	echo "| API requests until then | $APISTATS |"
	echo "| HTTPRoute PATCH to new path answering | $UPDATE_MS ms |"
	echo "| peak RSS (VmHWM) at end / RSS | ${RSS_END% *} / ${RSS_END#* } MiB |"
} > "$B/bench/kube_scale.md"
cat "$B/bench/kube_scale.md"
