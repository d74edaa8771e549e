#!/bin/sh
# test_bpf_splice.sh - WebSocket streams through the sk_skb splice, checked
# byte for byte against the same streams through --no-bpf: echo both ways
# with bytes already waiting in the gateway before the splice exists, a
# 100 MiB download through a stalled reader, FINs that cross while
# bytes are still in flight, a 32 MiB upload ended by the
# client's FIN, FIN and RST from either side mid-transfer. The splice
# counters must show the kernel forwarded the bulk (a splice that never
# takes over fails), and the maps must be back to empty afterwards.
# A tiny map (--splice-max-entries 2) must fall back to the userspace relay,
# counted, with the same bytes.
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_private_bin
gw_require_file "$B/gwbpf"
PEER="$GW_ROOT/tests/integration/splice_peer.py"

BEP=$(gw_free_port)
$GW_PY "$PEER" backend "$BEP" > "$GW_TMP/backend.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$BEP" 5 || gw_fail "backend did not start"

GWP=$(gw_free_port)
UPP=$(gw_free_port)
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_config_http "$GW_TMP/up.yaml" "$UPP" "$BEP"
BPFFS=$(gw_bpffs splice)
gw_bpffs_own "$BPFFS"

gw_start --config "$GW_TMP/gw.yaml" --bpf splice --bpffs "$BPFFS" --workers 2 --access-log off
ADMIN_BPF=$GW_ADMIN
grep -q "splice: self-check passed" "$GW_TMP/gwbpf.log" || gw_fail "no splice self-check line"
GW_ADMIN=""
gw_start --config "$GW_TMP/up.yaml" --no-bpf --workers 2 --access-log off

metric() # metric NAME [LABEL]: value from the splice gateway's /metrics
{
	curl -s "http://$ADMIN_BPF/metrics" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }'
}
started0=$(metric 'gwbpf_splice_events_total{event="started"}')
bytes0=$(metric gwbpf_splice_bytes_total)

run_both() # run_both CASE ARGS...: same output through both gateways
{
	a=$(timeout 90 $GW_PY "$PEER" client "$GWP" "$@" 2>&1) || gw_fail "splice: $* -> $a"
	b=$(timeout 90 $GW_PY "$PEER" client "$UPP" "$@" 2>&1) || gw_fail "no-bpf: $* -> $b"
	[ "$a" = "$b" ] || gw_fail "$*: splice said '$a', --no-bpf said '$b'"
	gw_log "$*: $a"
}

run_both echo 5000000
run_both echo_fin 5000000       # our FIN while the echo still flows: both FINs cross
run_both source 104857600 1.5   # 100 MiB, reader stalled 1.5 s first
run_both sink 33554432          # upload then client FIN, digest comes back
run_both source 3000000         # upstream FIN right after the data
run_both rst 2000000            # upstream RST mid-stream: the client's side ends
run_both client_rst             # client RST: the upstream side ends

started=$(metric 'gwbpf_splice_events_total{event="started"}')
[ "$started" -ge $((started0 + 5)) ] || gw_fail "only $((started - started0)) splices started"
# the kernel, not the relay, carried the bulk: at least 120 of ~140 MiB
deadline=$(($(date +%s) + 10))
while :; do
	socks=$(metric gwbpf_splice_sockets)
	ended=$(metric 'gwbpf_splice_events_total{event="ended"}')
	[ "$socks" = 0 ] && [ "$ended" = "$started" ] && break
	[ "$(date +%s)" -lt $deadline ] || gw_fail "splice maps not empty: $socks sockets, $started started, $ended ended"
	sleep 0.2
done
bytes=$(metric gwbpf_splice_bytes_total)
[ $((bytes - bytes0)) -ge 125829120 ] || gw_fail "the kernel forwarded only $((bytes - bytes0)) bytes"
gw_log "kernel forwarded $((bytes - bytes0)) bytes; $((started - started0)) splices, maps empty"
# the same counters from the pins, as `gwbpf status maps` reads them
$GW_BIN status maps --json --bpffs "$BPFFS" > "$GW_TMP/status.json" 2>&1 ||
	gw_fail "status maps: $(cat "$GW_TMP/status.json")"
$GW_PY - "$GW_TMP/status.json" "$started" "$bytes" << 'PYEOF' || gw_fail "status maps splice section"
import json, sys
sp = json.load(open(sys.argv[1]))["splice"]
c = sp["counters"]
assert sp["loaded"] and sp["sockets"] == 0, sp
assert c["started"] == int(sys.argv[2]) and c["ended"] == c["started"], c
assert c["bytes"] == int(sys.argv[3]), c
PYEOF

# tiny map: one pair fits, the next falls back to the userspace relay
gw_stop_gwbpf
GW_ADMIN=""
BPFFS2=$(gw_bpffs splice2)
gw_bpffs_own "$BPFFS2"
TP=$(gw_free_port)
gw_config_http "$GW_TMP/tiny.yaml" "$TP" "$BEP"
gw_start --config "$GW_TMP/tiny.yaml" --bpf splice --bpffs "$BPFFS2" --splice-max-entries 2 \
	--workers 1 --access-log off
ADMIN_BPF=$GW_ADMIN
timeout 60 $GW_PY - "$TP" "$PEER" "$GW_BIN" "$BPFFS2" << 'PYEOF' || gw_fail "tiny map exchange"
import sys, importlib.util
spec = importlib.util.spec_from_file_location("peer", sys.argv[2])
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
port = int(sys.argv[1])
held, _ = peer.upgrade(port, "/hold")          # takes both slots
print(peer.case_echo(port, 2000000))            # must fall back and still be exact
import json, subprocess, time
for i in range(50):                             # the held pair, as status conns shows it
    d = json.loads(subprocess.run([sys.argv[3], "status", "conns", "--json", "--bpffs", sys.argv[4]],
                                  capture_output=True, check=True).stdout)
    conns = d["splice"]["conns"]
    if len(conns) == 2 and all(c["handedOver"] for c in conns):
        break
    time.sleep(0.1)
assert len(conns) == 2 and {c["cookie"] for c in conns} == {c["peer"] for c in conns}, conns
assert all(c["handedOver"] for c in conns), conns
held.close()
PYEOF
full=$(metric 'gwbpf_splice_events_total{event="fallback_full"}')
[ "$full" -ge 1 ] || gw_fail "no fallback_full counted with a 2-entry map ($full)"
gw_log "tiny map: fallback_full=$full, bytes exact"

# a splice that cannot load (here: pins of another map size left under the
# directory) is switched off with a clear line; streams still work
gw_stop_gwbpf
GW_ADMIN=""
gw_start --config "$GW_TMP/tiny.yaml" --bpf splice --bpffs "$BPFFS2" --workers 1 --access-log off
grep -q "sk_skb splice unavailable" "$GW_TMP/gwbpf.log" || gw_fail "no 'splice unavailable' line"
out=$(timeout 60 $GW_PY "$PEER" client "$TP" echo 1000000 2>&1) || gw_fail "without splice: $out"
curl -s "http://$GW_ADMIN/metrics" | grep -q gwbpf_splice_ && gw_fail "splice metrics while it is off"
gw_log "splice unavailable: logged, $out in userspace"
exit 0
