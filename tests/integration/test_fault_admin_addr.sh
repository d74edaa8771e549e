#!/bin/sh
# tests/integration/test_fault_admin_addr.sh - the admin endpoint (config,
# status, counters; no authentication) stays on loopback unless asked:
# --admin 0.0.0.0:P, [::]:P or a non-loopback address is refused (exit 2,
# an error naming --admin-public) before anything starts; 127.0.0.2:P is
# served; --admin-public 0.0.0.0:P is served.
. "$(dirname "$0")/lib.sh"
gw_init
LPORT=$(gw_free_port)
EPORT=$(gw_free_port)
gw_start_echo 127.0.0.1:$EPORT
gw_config_http "$GW_TMP/gw.yaml" "$LPORT" "$EPORT"
for a in "0.0.0.0:$(gw_free_port)" "[::]:$(gw_free_port)" "192.0.2.1:$(gw_free_port)"; do
	timeout 10 "$GW_BIN" run --config "$GW_TMP/gw.yaml" --no-bpf --admin "$a" > "$GW_TMP/out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || gw_fail "--admin $a: exit $rc, want 2 (refused): $(cat "$GW_TMP/out")"
	grep -q -- "--admin-public" "$GW_TMP/out" || gw_fail "--admin $a: the error does not say how to allow it"
	gw_log "--admin $a refused: $(cat "$GW_TMP/out")"
done
GW_ADMIN=127.0.0.2:$(gw_free_port)
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off
gw_stop_gwbpf
APORT=$(gw_free_port)
GW_ADMIN=127.0.0.1:$APORT
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off --admin-public \
	--admin "0.0.0.0:$APORT"
echo "PASS: admin endpoint refused off loopback unless --admin-public"
