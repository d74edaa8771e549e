#!/bin/sh
# test_h2_tls.sh - HTTP/2 over TLS, chosen by ALPN: verified HTTPS requests
# answered over HTTP/2 and routed per listener (SNI), X-Forwarded-Proto
# https, 421 when :authority names another listener than SNI, a request body
# streamed, several streams multiplexed on one TLS connection, and a client
# offering only http/1.1 still served over HTTP/1.1.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd openssl
gw_require_cmd curl
GW_PY_ECHO=1 # bodies are checked
curl --version | grep -q 'nghttp2' || gw_skip "curl without HTTP/2 support"

GWP=$(gw_free_port)
BE_A=$(gw_free_port)
BE_B=$(gw_free_port)
gw_start_echo 127.0.0.1:$BE_A echo-a
gw_start_echo 127.0.0.1:$BE_B echo-b

gw_cert a a.example.com
gw_cert b b.example.com

{
	gw_yaml_class
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gwbpf
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
YEOF
	for n in a b; do
		cat << YEOF
  - name: $n
    protocol: HTTPS
    port: $GWP
    hostname: $n.example.com
    tls: {mode: Terminate, certificateRefs: [{name: cert-$n}]}
YEOF
	done
	for n in a b; do
		cat << YEOF
---
apiVersion: v1
kind: Secret
metadata: {name: cert-$n, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 < "$GW_TMP/$n.crt")
  tls.key: $(base64 -w0 < "$GW_TMP/$n.key")
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-$n, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: $n}]
  rules:
  - backendRefs: [{name: echo-$n, port: 8080}]
YEOF
	done
	gw_yaml_service echo-a 8080 "$BE_A"
	gw_yaml_service echo-b 8080 "$BE_B"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
gw_wait_port 127.0.0.1 "$GWP" 10 || gw_fail "HTTPS port $GWP not listening"

# req HOST [CURL ARGS...] : https://HOST:GWP/... verified against HOST's certificate
req()
{
	h=$1
	shift
	curl -sS -m 20 --resolve "$h:$GWP:127.0.0.1" --cacert "$GW_TMP/${h%%.*}.crt" "$@"
}

# --- ALPN h2: answered over HTTP/2, routed by listener
for n in a b; do
	out=$(req $n.example.com --http2 -w '\n%{http_version}' "https://$n.example.com:$GWP/x?y=1") ||
		gw_fail "GET $n over h2"
	[ "$(echo "$out" | tail -n 1)" = 2 ] || gw_fail "$n: not HTTP/2: $out"
	echo "$out" | sed '$d' | $GW_PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["pod"] == "echo-" + sys.argv[1], d
assert d["path"] == "/x?y=1", d
h = {k.lower(): v for k, v in d["headers"].items()}
assert h["x-forwarded-proto"] == ["https"], h
' $n || gw_fail "$n: unexpected echo: $out"
done
gw_log "h2 over TLS (ALPN), routed per listener, X-Forwarded-Proto https"

# --- :authority naming another listener than SNI: 421, as over HTTP/1.1
code=$(req a.example.com --http2 -o /dev/null -w '%{http_code} %{http_version}' \
	-H 'Host: b.example.com' "https://a.example.com:$GWP/") || gw_fail "misdirected request"
[ "$code" = "421 2" ] || gw_fail "misdirected over h2: '$code', want '421 2'"
gw_log "421 for a misdirected HTTP/2 request"

# --- a request body over h2 + TLS
head -c 1000000 /dev/urandom > "$GW_TMP/body"
want=$(sha256sum "$GW_TMP/body" | cut -d' ' -f1)
out=$(req a.example.com --http2 --data-binary @"$GW_TMP/body" "https://a.example.com:$GWP/up") ||
	gw_fail "POST over h2"
got=$(echo "$out" | $GW_PY -c 'import json,sys; d=json.load(sys.stdin); print(d["body_len"], d["body_sha256"])')
[ "$got" = "1000000 $want" ] || gw_fail "body arrived as '$got'"
gw_log "1 MB request body intact over h2 + TLS"

# --- several streams multiplexed on one TLS connection
urls=""
i=0
while [ $i -lt 10 ]; do
	urls="$urls https://a.example.com:$GWP/m$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
req a.example.com --http2 --parallel --parallel-max 10 -o /dev/null -o /dev/null -o /dev/null \
	-o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	-w '%{http_code} %{num_connects} %{http_version}\n' $urls > "$GW_TMP/par.out" 2>&1 ||
	gw_fail "parallel over TLS: $(cat "$GW_TMP/par.out")"
[ "$(grep -c '^200 [01] 2$' "$GW_TMP/par.out")" = 10 ] || gw_fail "parallel: $(cat "$GW_TMP/par.out")"
conns=$(grep '^200' "$GW_TMP/par.out" | awk '{s += $2} END {print s}')
[ "$conns" = 1 ] || gw_fail "10 streams used $conns TLS connections"
gw_log "10 streams on one TLS connection"

# --- a client offering only http/1.1 keeps HTTP/1.1
v=$(req a.example.com --http1.1 -o /dev/null -w '%{http_code} %{http_version}' "https://a.example.com:$GWP/") ||
	gw_fail "HTTP/1.1 over TLS"
[ "$v" = "200 1.1" ] || gw_fail "http/1.1-only client: '$v'"
gw_log "http/1.1-only client served over HTTP/1.1"
