#!/bin/sh
# test_cli_status.sh - `gwbpf status [gateways|routes|backends] [--json]`
# against a running daemon (README's tour): each view, table and JSON, shows
# the objects of its kind and no others; without an object, the JSON is the
# admin's /status document itself. No BPF, no root.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
EP=$(gw_free_port)
gw_start_echo 127.0.0.1:$EP
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$EP"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off

st() { "$GW_BIN" status "$@" --admin "$GW_ADMIN"; }
# kinds : the sorted, distinct kinds of a List document on stdin
kinds()
{
	$GW_PY -c 'import json, sys
print(" ".join(sorted({i["kind"] for i in json.load(sys.stdin)["items"]})))'
}

got=$(st routes --json | kinds) || gw_fail "status routes --json"
[ "$got" = "HTTPRoute" ] || gw_fail "status routes --json: kinds '$got', want HTTPRoute only"
got=$(st gateways --json | kinds) || gw_fail "status gateways --json"
[ "$got" = "Gateway GatewayClass" ] || gw_fail "status gateways --json: kinds '$got'"
got=$(st backends --json | kinds) || gw_fail "status backends --json"
[ "$got" = "HTTPRoute" ] || gw_fail "status backends --json: kinds '$got'"
gw_log "JSON views hold only their kinds"

# without an object: every object, exactly what GET /status serves
st --json | $GW_PY -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))' \
	> "$GW_TMP/all.json" || gw_fail "status --json"
curl -s -m 5 "http://$GW_ADMIN/status" |
	$GW_PY -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))' \
	> "$GW_TMP/admin.json" || gw_fail "GET /status"
cmp -s "$GW_TMP/all.json" "$GW_TMP/admin.json" || gw_fail "status --json differs from GET /status"
grep -q '"EndpointSlice"' "$GW_TMP/all.json" || gw_fail "status --json lacks the EndpointSlice"

# tables: the route under routes, not under gateways, and the other way round
st routes > "$GW_TMP/routes.txt" || gw_fail "status routes"
grep -Eq '^HTTPRoute +default/route +OK' "$GW_TMP/routes.txt" || gw_fail "status routes: $(cat "$GW_TMP/routes.txt")"
grep -q '^Gateway' "$GW_TMP/routes.txt" && gw_fail "status routes shows a Gateway"
st gateways > "$GW_TMP/gws.txt" || gw_fail "status gateways"
grep -Eq '^Gateway +default/gw +OK' "$GW_TMP/gws.txt" || gw_fail "status gateways: $(cat "$GW_TMP/gws.txt")"
grep -Eq "^  listener +http-$GWP +attachedRoutes=1" "$GW_TMP/gws.txt" ||
	gw_fail "status gateways: no listener line: $(cat "$GW_TMP/gws.txt")"
grep -q '^HTTPRoute' "$GW_TMP/gws.txt" && gw_fail "status gateways shows a route"
gw_log "tables hold only their kinds"

# a daemon that is not there: exit 1 and a hint, not a crash
"$GW_BIN" status --admin 127.0.0.1:$(gw_free_port) > /dev/null 2> "$GW_TMP/err.txt"
rc=$?
[ $rc = 1 ] || gw_fail "status without a daemon: exit $rc, want 1"
grep -q "admin endpoint" "$GW_TMP/err.txt" || gw_fail "no hint: $(cat "$GW_TMP/err.txt")"
"$GW_BIN" status nonsense > /dev/null 2>&1
rc=$?
[ $rc = 2 ] || gw_fail "status with an unknown object: exit $rc, want 2"
echo "PASS"
