#!/bin/sh
# test_bpf_faults.sh - the kernel fast path under the faults issue #4 names,
# through a real `gwbpf run --bpf msg,splice --cgroup` with the gateway, its
# echo backends and the clients all in one fresh cgroup v2 child (so the
# sk_msg bypass carries every loopback leg), compared with a --no-bpf gateway
# started outside it:
#   - pipelined requests whose Host and path change on one connection are
#     each routed as --no-bpf routes them, in order;
#   - a request head split in two writes at every byte offset is answered
#     the same (each write is one message on the bypass);
#   - 10,000 connections opened and closed (bypass), 10,000 WebSocket
#     upgrades (splice): the socket maps hold only what is still open, and
#     are empty once the daemon stops;
#   - kill -9 of the daemon mid-transfer of a spliced stream: the client
#     sees the stream end (EOF or reset) at once, no socket stays in either
#     map, and a restarted daemon starts with no stale pair entries;
#   - SIGTERM mid-stream: exit 0 within --drain-timeout, the stream is cut
#     (no fd handoff to a successor yet), no socket left in the maps.
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_private_bin
gw_require_file "$B/gwbpf" "$B/gwbpf-echo"
gw_cgroup_make faults
PEER="$GW_ROOT/tests/integration/splice_peer.py"
FC="$GW_ROOT/tests/integration/faults_client.py"

config() # config FILE GWPORT: a.example: /two -> two, rest -> one; b.example -> two
{
	{
		gw_yaml_gateway gw "$2"
		for r in a b; do
			cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-$r
  namespace: default
spec:
  parentRefs:
  - name: gw
  hostnames: ["$r.example"]
  rules:
YEOF
			if [ $r = a ]; then
				cat << YEOF
  - matches:
    - path: {type: PathPrefix, value: /two}
    backendRefs: [{name: two, port: 8080}]
  - matches:
    - path: {type: PathPrefix, value: /}
    backendRefs: [{name: one, port: 8080}]
YEOF
			else
				cat << YEOF
  - backendRefs: [{name: two, port: 8080}]
YEOF
			fi
		done
		cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-ws
  namespace: default
spec:
  parentRefs:
  - name: gw
  hostnames: ["ws.example"]
  rules:
  - backendRefs: [{name: ws, port: 8080}]
YEOF
		gw_yaml_service one 8080 "$BE1"
		gw_yaml_service two 8080 "$BE2"
		gw_yaml_service ws 8080 "$WSP"
	} > "$1"
}

# the reference gateway and its backends live outside the cgroup
BE1=$(gw_free_port); BE2=$(gw_free_port); WSP=$(gw_free_port)
UPP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BE1 one
gw_start_echo 127.0.0.1:$BE2 two
$GW_PY "$PEER" backend "$WSP" > "$GW_TMP/ws.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$WSP" 5 || gw_fail "ws backend"
config "$GW_TMP/up.yaml" "$UPP"
gw_start --config "$GW_TMP/up.yaml" --no-bpf --workers 1 --access-log off
UP_PID=$GW_PID

# everything below runs in the cgroup: gateway, backends, clients
gw_cgroup_join
KB1=$(gw_free_port); KB2=$(gw_free_port)
gw_start_echo 127.0.0.1:$KB1 one
gw_start_echo 127.0.0.1:$KB2 two
GWP=$(gw_free_port)
BE1=$KB1 BE2=$KB2 config "$GW_TMP/gw.yaml" "$GWP"
GW_ADMIN=""
gw_start --config "$GW_TMP/gw.yaml" --bpf msg,splice --cgroup "$GW_CG" --bpffs "$GW_BPFFS" \
	--workers 2 --access-log off
ADMIN=$GW_ADMIN

# WebSocket clients and backend stay outside the cgroup, like remote peers:
# a leg the bypass carries is never spliced (fallback_bypassed)
outside() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$GW_CG_HOME" "$@"; }

stat() # stat PYEXPR: evaluated on `gwbpf status maps --json` as d
{
	"$GW_BIN" status maps --json --bpffs "$GW_BPFFS" |
		$GW_PY -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
redir0=$(stat 'd["bypass"]["reasons"].get("msg_redirect",{}).get("count",0)')

both() # both CASE ARGS: same lines through the kernel path and --no-bpf
{
	a=$(timeout 120 $GW_PY "$FC" "$1" "$GWP" ${2:-} ${3:-} 2>&1) || gw_fail "kernel: $1 -> $a"
	b=$(timeout 120 $GW_PY "$FC" "$1" "$UPP" ${2:-} ${3:-} 2>&1) || gw_fail "no-bpf: $1 -> $b"
	[ "$a" = "$b" ] || gw_fail "$1: kernel path said
$a
--no-bpf said
$b"
	gw_log "$1: $(echo "$a" | tr '\n' '|')"
}
both pipeline
both split
redir=$(stat 'd["bypass"]["reasons"].get("msg_redirect",{}).get("count",0)')
[ "$redir" -gt $((redir0 + 100)) ] || gw_fail "the bypass carried nothing ($redir0 -> $redir)"

# churn: the maps hold only live sockets (pooled upstream connections: at
# most 2 workers x 64 per backend, 4 map entries each way at most)
socks0=$(stat 'd["bypass"]["sockets"]')
t0=$(date +%s)
out=$(timeout 120 $GW_PY "$FC" churn "$GWP" 10000 8 2>&1) || gw_fail "churn: $out"
gw_log "bypass churn: $out in $(($(date +%s) - t0)) s"
out=$(outside timeout 120 $GW_PY "$PEER" client "$GWP" many 10000 8 2>&1) || gw_fail "splice churn: $out"
gw_log "splice churn: $out in $(($(date +%s) - t0)) s total"
deadline=$(($(date +%s) + 10))
while :; do
	socks=$(stat 'd["bypass"]["sockets"]')
	ssocks=$(stat 'd["splice"]["sockets"], d["splice"]["directions"], d["splice"]["counters"]["started"] - d["splice"]["counters"]["ended"]')
	[ "$socks" -le $((socks0 + 512)) ] && [ "$ssocks" = "0 0 0" ] && break
	[ "$(date +%s)" -lt $deadline ] || gw_fail "maps after churn: bypass $socks (was $socks0), splice $ssocks"
	sleep 0.2
done
started=$(stat 'd["splice"]["counters"]["started"]')
[ "$started" -ge 10000 ] || gw_fail "only $started splices for 10000 upgrades"
gw_log "after churn: bypass sockets $socks (before $socks0), splice (sockets, directions, open) $ssocks"

# kill -9 mid-transfer of a spliced 1 GiB stream
outside timeout 30 $GW_PY "$PEER" client "$GWP" source 1073741824 > "$GW_TMP/k9.txt" 2>&1 &
cpid=$!
deadline=$(($(date +%s) + 10))
until [ "$(stat 'd["splice"]["sockets"]')" = 2 ]; do
	[ "$(date +%s)" -lt $deadline ] || gw_fail "the transfer was never spliced"
	sleep 0.1
done
kill -9 "$GW_PID"
wait "$GW_PID" 2> /dev/null
gw_untrack "$GW_PID"
wait $cpid
rc=$?
[ $rc -ne 124 ] || gw_fail "client still waiting 30 s after kill -9"
grep -q "want 1073741824" "$GW_TMP/k9.txt" || gw_fail "client: $(tail -2 "$GW_TMP/k9.txt")"
gw_log "kill -9: the client saw the stream end ($(grep -o 'got [0-9]* bytes' "$GW_TMP/k9.txt") of 1 GiB)"
deadline=$(($(date +%s) + 10))
while :; do
	ss=$(stat 'd["splice"]["sockets"], d["bypass"]["sockets"] <= '"$socks0")
	[ "$ss" = "0 True" ] && break
	[ "$(date +%s)" -lt $deadline ] || gw_fail "sockets left in the maps after kill -9: $ss"
	sleep 0.2
done
[ "$(stat 'd["splice"]["directions"]')" -gt 0 ] && gw_log "stale pair entries after kill -9 (expected)"
GW_ADMIN=""
gw_start --config "$GW_TMP/gw.yaml" --bpf msg,splice --cgroup "$GW_CG" --bpffs "$GW_BPFFS" \
	--workers 2 --access-log off --drain-timeout 1000
[ "$(stat 'd["splice"]["directions"]')" = 0 ] || gw_fail "the restarted daemon kept stale pair entries"
# its self-check ran with the pinned sockops link already on the cgroup
[ "$(grep -c 'splice: self-check passed' "$GW_TMP/gwbpf.log")" -ge 2 ] ||
	gw_fail "the restarted daemon's splice self-check failed: $(grep 'self-check' "$GW_TMP/gwbpf.log" | tail -1)"
out=$(outside timeout 60 $GW_PY "$PEER" client "$GWP" echo 1000000 2>&1) || gw_fail "after restart: $out"
gw_log "restart: no stale entries, $out"

# graceful stop (SIGTERM) mid-stream: no fd handoff yet, so the stream is
# cut when --drain-timeout (1 s here) ends; the daemon exits 0 in time and
# leaves no socket in the maps
outside timeout 30 $GW_PY "$PEER" client "$GWP" source 1073741824 > "$GW_TMP/term.txt" 2>&1 &
cpid=$!
deadline=$(($(date +%s) + 10))
until [ "$(stat 'd["splice"]["sockets"]')" = 2 ]; do
	[ "$(date +%s)" -lt $deadline ] || gw_fail "the transfer was never spliced: $(stat 'd["splice"]'); $(cat "$GW_TMP/term.txt")"
	sleep 0.1
done
t0=$(date +%s)
gw_stop_gwbpf TERM
[ "$GW_RC" = 0 ] || gw_fail "SIGTERM: exit status $GW_RC"
[ $(($(date +%s) - t0)) -le 4 ] || gw_fail "SIGTERM: $(($(date +%s) - t0)) s to exit with a 1 s drain"
wait $cpid
grep -q "want 1073741824" "$GW_TMP/term.txt" || gw_fail "SIGTERM: client $(tail -1 "$GW_TMP/term.txt")"
[ "$(stat 'd["splice"]["sockets"]')" = 0 ] || gw_fail "SIGTERM: sockets left in the splice map"
gw_log "SIGTERM: exit 0 within the drain timeout, stream cut ($(grep -o 'got [0-9]* bytes' "$GW_TMP/term.txt")), maps empty"
exit 0
