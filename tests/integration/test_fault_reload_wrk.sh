#!/bin/sh
# tests/integration/test_fault_reload_wrk.sh - the config file rewritten 100
# times while wrk runs: zero failed requests (no socket error, no non-2xx),
# and the last generation is the one served afterwards.
# Each rewrite is a complete file renamed into place (what editors and
# ConfigMap volume updates do); generations alternate between two Services
# (two backends) and change a request header, so every reload changes the
# route table. wrk: 2 threads, 8 keep-alive connections; the rewrites pace
# at 40 ms (about 5 s in all), so wrk (12 s) overlaps all of them. Prints the request and failure counts.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd wrk

LPORT=$(gw_free_port)
E1=$(gw_free_port)
E2=$(gw_free_port)
gw_start_echo 127.0.0.1:$E1 be1
gw_start_echo 127.0.0.1:$E2 be2

config() # config GEN
{
	svc=echo$(($1 % 2 + 1))
	gw_yaml_gateway gw "$LPORT"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Gen, value: "$1"}]}
    backendRefs: [{name: $svc, port: 8080}]
YEOF
	gw_yaml_service echo1 8080 "$E1"
	gw_yaml_service echo2 8080 "$E2"
}
config 0 > "$GW_TMP/gw.yaml"
# written beforehand: the loop under wrk only renames
g=1
while [ $g -le 100 ]; do
	config $g > "$GW_TMP/gen$g.yaml"
	g=$((g + 1))
done
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || gw_fail "gateway not serving"
R0=$(curl -s "http://$GW_ADMIN/metrics" | sed -n 's/^gwbpf_config_reloads_total{result="success"} \([0-9]*\)$/\1/p')

wrk -t2 -c8 -d12s --latency "http://127.0.0.1:$LPORT/x" > "$GW_TMP/wrk.out" 2>&1 &
WRK=$!
gw_track $WRK
sleep 0.5 # wrk connected before the first rewrite: every rewrite overlaps traffic
g=1
while [ $g -le 100 ]; do
	mv "$GW_TMP/gen$g.yaml" "$GW_TMP/gw.yaml"
	sleep 0.04
	g=$((g + 1))
done
kill -0 $WRK 2> /dev/null || gw_fail "wrk ended before the 100 rewrites did: $(cat "$GW_TMP/wrk.out")"
i=0
while kill -0 $WRK 2> /dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
wait $WRK 2> /dev/null
gw_untrack $WRK

REQS=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$GW_TMP/wrk.out")
NON2XX=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$GW_TMP/wrk.out")
SOCKERR=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$GW_TMP/wrk.out")
FAILED=${NON2XX:-0}
for n in $SOCKERR; do FAILED=$((FAILED + n)); done
R1=$(curl -s "http://$GW_ADMIN/metrics" | sed -n 's/^gwbpf_config_reloads_total{result="success"} \([0-9]*\)$/\1/p')
gw_log "100 rewrites under wrk: ${REQS:-?} requests, failed requests: $FAILED (non-2xx ${NON2XX:-0}, socket errors ${SOCKERR:-none}); reloads $R0 -> $R1 (the file source debounces)"
[ -n "$REQS" ] && [ "$REQS" -gt 0 ] || gw_fail "wrk made no requests: $(cat "$GW_TMP/wrk.out")"
[ "$FAILED" -eq 0 ] || gw_fail "$FAILED failed requests during reloads: $(cat "$GW_TMP/wrk.out")"
[ "${R1:-0}" -gt "${R0:-0}" ] || gw_fail "no reload happened ($R0 -> $R1)"
# the last generation (100: echo1, X-Gen 100) is what serves now
i=0
while [ $i -lt 50 ]; do
	body=$(curl -s "http://127.0.0.1:$LPORT/last")
	case $body in *'"pod": "be1"'*'100'*|*'100'*'"pod": "be1"'*) break ;; esac
	sleep 0.1
	i=$((i + 1))
done
case $body in *'"pod": "be1"'*) ;; *) gw_fail "last generation not served: $body" ;; esac
case $body in *'"100"'*) ;; *) gw_fail "last generation's header missing: $body" ;; esac
echo "PASS: 100 config rewrites under wrk, $REQS requests, 0 failed"
