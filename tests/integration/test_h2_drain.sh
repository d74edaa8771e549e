#!/bin/sh
# test_h2_drain.sh - a graceful drain (SIGTERM) of an HTTP/2 connection in
# two steps (RFC 9113 6.8): first a GOAWAY with last-stream-id 2^31-1 (no
# new streams soon), then, GW_H2_DRAIN_NOTICE_MS later, the final GOAWAY
# naming the last stream taken. A stream the client opens after the first
# (as a client may, before that GOAWAY reaches it) is served, not refused;
# then the connection ends and the process exits 0.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
BEP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off

out=$(timeout 30 $GW_PY "$GW_ROOT/tests/integration/h2_drain_client.py" "$GWP" "$GW_PID" 2>&1) ||
	gw_fail "client: $out"
[ "$out" = "goaway 2147483647 goaway 3 stream3 200 end" ] ||
	gw_fail "expected the notice, the final GOAWAY naming stream 3, stream 3 served and the end; got: $out"
i=0
while kill -0 "$GW_PID" 2> /dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -0 "$GW_PID" 2> /dev/null && gw_fail "gwbpf still running 10 s after SIGTERM"
wait "$GW_PID"
rc=$?
gw_untrack "$GW_PID"
[ "$rc" = 0 ] || gw_fail "gwbpf exited $rc after the drain"
gw_log "two-step GOAWAY: notice, stream 3 opened after it served, final GOAWAY naming it, exit 0"
exit 0
