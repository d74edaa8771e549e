#!/bin/sh
# test_bpf_body_splice.sh - large Content-Length response and request bodies
# carried by the kernel (the body splice, docs/bpf.md "Body splice") on
# keep-alive connections, checked against the generator's own pattern and
# byte for byte against --no-bpf: big, small, big on one connection; five
# pipelined requests written at once behind big bodies; an upstream that
# closes mid-body; a client that stalls, one that resets mid-body; POST,
# GET, POST; a POST whose last bytes share a write with two more requests.
# The splice counters must show the kernel carried the bodies (a splice
# that never starts fails), and its maps must be empty afterwards.
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_require_cmd bpftool
gw_private_bin
gw_require_file "$B/gwbpf"
PEER="$GW_ROOT/tests/integration/body_splice_peer.py"

BEP=$(gw_free_port)
$GW_PY "$PEER" backend "$BEP" > "$GW_TMP/backend.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$BEP" 5 || gw_fail "backend did not start"

GWP=$(gw_free_port)
UPP=$(gw_free_port)
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_config_http "$GW_TMP/up.yaml" "$UPP" "$BEP"
BPFFS=$(gw_bpffs body)
gw_bpffs_own "$BPFFS"

# --bpf splice without msg: the backend is local, and the sk_msg bypass
# would deliver its bytes past the stream parser (that case is refused and
# counted, see docs/bpf.md)
gw_start --config "$GW_TMP/gw.yaml" --bpf splice --bpffs "$BPFFS" --workers 2 --access-log off
ADMIN_BPF=$GW_ADMIN
BPF_PID=$GW_PID
grep -q "splice: body splice self-check passed" "$GW_TMP/gwbpf.log" ||
	gw_skip "body splice unavailable here: $(grep -i 'body splice' "$GW_TMP/gwbpf.log" | head -2)"
GW_ADMIN=""
gw_start --config "$GW_TMP/up.yaml" --no-bpf --workers 2 --access-log off

metric() # metric NAME: value from the splice gateway's /metrics
{
	curl -s "http://$ADMIN_BPF/metrics" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }'
}
ev() { metric "gwbpf_splice_events_total{event=\"$1\"}"; }
started0=$(ev body_started)
bytes0=$(ev body_bytes)
[ "$started0" != missing ] || gw_fail "no body splice counters in /metrics"

run_both() # run_both CASE: same lines through both gateways
{
	a=$(timeout 60 $GW_PY "$PEER" client "$GWP" "$1" 2>&1) || gw_fail "splice: $1 -> $a"
	b=$(timeout 60 $GW_PY "$PEER" client "$UPP" "$1" 2>&1) || gw_fail "no-bpf: $1 -> $b"
	[ "$a" = "$b" ] || gw_fail "$1: splice said '$a', --no-bpf said '$b'"
	gw_log "$1: $(echo "$a" | tr '\n' ';')"
}

run_both seq  # big, small, big, small on one keep-alive connection
run_both pipe # five requests in one write, behind big bodies
run_both cut  # the upstream closes halfway through a 20 MiB body
run_both stall # the client reads nothing for 1 s, then all of it
run_both abort # the client resets the connection mid-body, then a new one
run_both post     # request bodies: POST 20 MiB, GET, POST 20 MiB on one connection
run_both postpipe # POST 20 MiB with two GETs in the write of its last bytes

started=$(ev body_started)
bytes=$(ev body_bytes)
# response bodies: seq 2 + pipe 3 + cut 1 + stall 1 (abort's too, not
# counted: the client may leave before it starts). The backend pauses after
# the first 64 KiB of /big bodies (the splice starts on an empty receive
# queue), not of /fast ones (it starts with body bytes waiting unread).
# Request bodies: post 2 + postpipe 1, whose pipelined GETs the kernel
# passes up behind the body.
[ "$((started - started0))" -ge 10 ] || gw_fail "only $((started - started0)) body splices started"
# the kernel, not userspace, carried the rest of each: 5 x 20 MiB + 12345 +
# 400 KiB + 10 MiB of responses, 3 x 20 MiB of requests, minus at most
# 64 KiB + 1 byte of each of the 10 bodies
min=$(((170 << 20) + 12345 + (400 << 10) - 10 * 65537))
[ "$((bytes - bytes0))" -ge "$min" ] || gw_fail "the kernel carried only $((bytes - bytes0)) of >= $min bytes"
gw_log "kernel carried $((bytes - bytes0)) body bytes in $((started - started0)) splices"

# every map entry a body splice made is gone (bounded poll: the last
# connection's teardown may still be running)
deadline=$(($(date +%s) + 10))
while :; do
	n=0
	for m in gw_body_left gw_body_hash gw_body_out; do
		k=$(bpftool map dump pinned "$BPFFS/$m" 2> /dev/null | grep -c '^key')
		n=$((n + k))
	done
	[ "$n" = 0 ] && break
	[ "$(date +%s)" -lt $deadline ] || gw_fail "body splice maps not empty: $n entries"
	sleep 0.2
done
fb=$(ev body_fallback)
gw_log "maps empty; body_fallback=$fb"

# kill -9 of the gateway mid-body: the client sees the connection end after
# a correct prefix, the sockets leave the sockhashes with the daemon's fds,
# and a restarted daemon flushes the stale budget and splices again
s0=$(ev body_started)
timeout 60 $GW_PY "$PEER" client "$GWP" killed > "$GW_TMP/killed.out" 2>&1 &
KC=$!
deadline=$(($(date +%s) + 10))
until [ "$(ev body_started)" -gt "$s0" ]; do
	[ "$(date +%s)" -lt $deadline ] || gw_fail "no body splice started for the kill test"
	sleep 0.05
done
kill -9 "$BPF_PID"
wait "$BPF_PID" 2> /dev/null
gw_untrack "$BPF_PID"
wait $KC || gw_fail "killed: client failed: $(cat "$GW_TMP/killed.out")"
grep -q "prefix then EOF" "$GW_TMP/killed.out" || gw_fail "killed: $(cat "$GW_TMP/killed.out")"
for m in gw_body_hash gw_body_out; do
	k=$(bpftool map dump pinned "$BPFFS/$m" 2> /dev/null | grep -c '^key')
	[ "$k" = 0 ] || gw_fail "$m holds $k sockets after kill -9"
done
GW_ADMIN=$ADMIN_BPF
gw_start --config "$GW_TMP/gw.yaml" --bpf splice --bpffs "$BPFFS" --workers 2 --access-log off
k=$(bpftool map dump pinned "$BPFFS/gw_body_left" 2> /dev/null | grep -c '^key')
[ "$k" = 0 ] || gw_fail "restart left $k stale budgets"
out=$(timeout 60 $GW_PY "$PEER" client "$GWP" seq 2>&1) || gw_fail "after restart: $out"
gw_log "kill -9 mid-body: client saw a correct prefix then EOF; sockhashes empty; restart clean, seq ok"
exit 0
