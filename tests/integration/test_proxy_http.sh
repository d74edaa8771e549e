#!/bin/sh
# test_proxy_http.sh - the userspace proxy on real sockets: keep-alive,
# pipelining in order, HTTP/1.0, a chunked body larger than every buffer
# streamed both ways, Expect: 100-continue, X-Forwarded-*, the access log,
# the admin endpoints, and SIGTERM -> exit 0.
. "$(dirname "$0")/lib.sh"
gw_init
GW_PY_ECHO=1 # bodies are checked: the stand-in reports their length and hash

GWP=$(gw_free_port)
BEP=$(gw_free_port)
gw_start_echo 127.0.0.1:$BEP be1
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$BEP"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log "$GW_TMP/access.log"
U=http://127.0.0.1:$GWP

# --- a request is forwarded and the backend sees X-Forwarded-*
out=$(curl -sS -m 5 -H 'Forwarded: for=10.9.9.9' "$U/hello?x=1") || gw_fail "GET through the gateway"
$GW_PY -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["path"] == "/hello?x=1", d["path"]
h = {k.lower(): v for k, v in d["headers"].items()}
assert h["x-forwarded-for"] == ["127.0.0.1"], h
assert h["x-forwarded-proto"] == ["http"], h
fwd = ", ".join(h["forwarded"])
assert fwd == "for=10.9.9.9, for=127.0.0.1;proto=http;host=\"127.0.0.1:%s\"" % sys.argv[2], fwd
' "$out" "$GWP" || gw_fail "unexpected echo: $out"
gw_log "forwarded with X-Forwarded-For/Proto and Forwarded appended"

# --- keep-alive: two requests, one client connection
n=$(curl -sS -m 5 -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/a" "$U/b" | awk '{s += $1} END {print s}')
[ "$n" = 1 ] || gw_fail "keep-alive: $n connections for 2 requests"
gw_log "keep-alive reused the connection"

# --- pipelining: three requests in one write, answered in order
printf 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\nGET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
	gw_raw 127.0.0.1 "$GWP" 5 > "$GW_TMP/pipe.out"
order=$(grep -a -o '"path": "/p[0-9]"' "$GW_TMP/pipe.out" | tr -d '" ' | tr '\n' ' ')
[ "$order" = "path:/p1 path:/p2 path:/p3 " ] || gw_fail "pipelined order: '$order'"
[ "$(grep -a -c '^HTTP/1.1 200' "$GW_TMP/pipe.out")" -ge 1 ] || gw_fail "pipelined statuses"
gw_log "pipelined responses in order"

# --- HTTP/1.0 without keep-alive: answered, then closed by the gateway
printf 'GET /old HTTP/1.0\r\nHost: a\r\n\r\n' | gw_raw 127.0.0.1 "$GWP" 5 > "$GW_TMP/h10.out"
head -n 1 "$GW_TMP/h10.out" | grep -q '^HTTP/1.1 200' || gw_fail "HTTP/1.0: $(head -c 200 "$GW_TMP/h10.out")"
grep -a -q '"path": "/old"' "$GW_TMP/h10.out" || gw_fail "HTTP/1.0 body"
grep -a -qi '^connection: close' "$GW_TMP/h10.out" || gw_fail "HTTP/1.0 without keep-alive must be closed"
gw_log "HTTP/1.0 answered and closed"

# --- a chunked body far larger than every buffer, streamed (not buffered)
head -c 8000000 /dev/urandom > "$GW_TMP/big"
want=$(sha256sum "$GW_TMP/big" | cut -d' ' -f1)
out=$(curl -sS -m 60 -H 'Transfer-Encoding: chunked' --data-binary @"$GW_TMP/big" "$U/upload") ||
	gw_fail "chunked upload"
got=$(echo "$out" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body_len"], d["body_sha256"])')
[ "$got" = "8000000 $want" ] || gw_fail "chunked body arrived as '$got'"
gw_log "8 MB chunked body streamed intact"

# --- Expect: 100-continue: the client gets 100 before sending its body
curl -sS -m 20 -v -H 'Expect: 100-continue' --data-binary @"$GW_TMP/big" "$U/expect" \
	> "$GW_TMP/exp.out" 2> "$GW_TMP/exp.err" || gw_fail "Expect upload"
grep -q '< HTTP/1.1 100 Continue' "$GW_TMP/exp.err" || gw_fail "no 100 Continue"
[ "$(grep -c '< HTTP/1.1 100' "$GW_TMP/exp.err")" = 1 ] || gw_fail "100 Continue sent twice"
grep -q '"body_len": 8000000' "$GW_TMP/exp.out" || gw_fail "Expect body: $(head -c 300 "$GW_TMP/exp.out")"
gw_log "Expect: 100-continue"

# --- a large response body through a slow reader (backpressure) stays intact:
# the backend's JSON names what it got, so ask for a big request echo twice
# over one connection while reading slowly
out=$(curl -sS -m 30 --limit-rate 2M --data-binary @"$GW_TMP/big" "$U/slow") || gw_fail "slow reader"
echo "$out" | grep -q "\"body_sha256\": \"$want\"" || gw_fail "slow reader body"

# --- admin endpoints
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$GW_ADMIN/healthz")" = 200 ] || gw_fail "/healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$GW_ADMIN/readyz")" = 200 ] || gw_fail "/readyz"
curl -s -D "$GW_TMP/st.h" "http://$GW_ADMIN/status" > "$GW_TMP/status.json"
grep -qi '^content-type: application/json' "$GW_TMP/st.h" || gw_fail "/status content type"
$GW_PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "List" and d["apiVersion"] == "v1", d.keys()
kinds = sorted(i["kind"] for i in d["items"])
assert "Gateway" in kinds and "HTTPRoute" in kinds, kinds
gw = [i for i in d["items"] if i["kind"] == "Gateway"][0]
assert gw["metadata"]["name"] == "gw", gw["metadata"]
conds = {c["type"]: c["status"] for c in gw["status"]["conditions"]}
assert conds.get("Programmed") == "True", conds
' "$GW_TMP/status.json" || gw_fail "/status document"
curl -s "http://$GW_ADMIN/metrics" > "$GW_TMP/metrics"
grep -q '^gwbpf_up 1' "$GW_TMP/metrics" || gw_fail "/metrics gwbpf_up"
reqs=$(awk '/^gwbpf_proxy_requests_total /{print $2}' "$GW_TMP/metrics")
[ "${reqs:-0}" -ge 9 ] || gw_fail "request counter says ${reqs:-none}"
gw_log "admin: healthz, readyz, status, metrics"

# --- access log: one JSON line per request
$GW_PY -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
paths = [l["path"] for l in lines]
for p in ("/hello?x=1", "/p1", "/p2", "/p3", "/old", "/upload"):
    assert p in paths, (p, paths)
up = [l for l in lines if l["path"] == "/upload"][0]
assert up["status"] == 200 and up["route"] == "default/route", up
' "$GW_TMP/access.log" || gw_fail "access log: $(head -n 3 "$GW_TMP/access.log")"
gw_log "access log lines"

# --- SIGTERM: exit 0
gw_stop_gwbpf TERM
[ "$GW_RC" = 0 ] || gw_fail "exit status after SIGTERM: $GW_RC"
gw_log "SIGTERM -> exit 0"
echo "PASS"
