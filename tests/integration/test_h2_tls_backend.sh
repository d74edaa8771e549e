#!/bin/sh
# test_h2_tls_backend.sh - HTTP/2 over TLS to backends: GRPCRoute backends and
# appProtocol kubernetes.io/h2c Service ports under a BackendTLSPolicy are
# reached with h2 over TLS (ALPN h2), with the policy's verification (CA,
# hostname, SNI) and the Gateway's backend client certificate
# (docs/http2.md "Upstream HTTP/2 over TLS").
#
# Backends (all gwbpf-echo): a gRPC echo over TLS with a certificate for
# backend.test from CA "bca"; the same requiring a client certificate from CA
# "gwca"; an HTTPS echo that speaks only HTTP/1.1 (no ALPN). One gateway with
# an HTTP listener (h2c clients) and an HTTPS listener (h2 clients, ALPN).
# A GRPCRoute picks the Service by the x-backend header:
#   good      CA bca, hostname backend.test   -> grpc-status 0, SNI backend.test, ALPN h2
#   mtls      + backend asks a client cert   -> grpc-status 0, certificate presented
#   wrongca   CA other                        -> UNAVAILABLE (14), upstream_tls_verify
#   hostmiss  hostname wrong.test             -> UNAVAILABLE (14), upstream_tls_verify
#   noh2      backend without ALPN h2         -> UNAVAILABLE (14), upstream_tls_alpn
#   noca      missing CA ConfigMap            -> UNAVAILABLE (14), nothing sent
# An HTTPRoute to an appProtocol kubernetes.io/h2c Service under the good
# policy serves HTTP/1.1 clients (bridge) and h2c clients with HTTP/2 at the
# backend; under the wrong CA they get 502.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
gw_init
gw_require_cmd openssl
gw_require_cmd curl
GC=$B/grpc_client
gw_require_file "$GC"
gw_require_file "$B/gwbpf-echo"

GWP=$(gw_free_port)
GWS=$(gw_free_port)
B1=$(gw_free_port)
B2=$(gw_free_port)
B3=$(gw_free_port)
B4=$(gw_free_port)
B5=$(gw_free_port)
MUTE=$(gw_free_port)

tc_ca bca
tc_ca other
tc_ca gwca
tc_ca fca
tc_leaf be bca backend.test "DNS:backend.test" serverAuth
tc_leaf gwclient gwca gateway-client "DNS:gateway.test" clientAuth
tc_leaf front fca gw.test "DNS:gw.test" serverAuth

"$B/gwbpf-echo" --grpc --listen 127.0.0.1:$B1 --pod grpc-tls-0 --namespace default \
	--tls-cert "$GW_TMP/be.crt" --tls-key "$GW_TMP/be.key" > "$GW_TMP/be1.log" 2>&1 &
gw_track $!
"$B/gwbpf-echo" --grpc --listen 127.0.0.1:$B2 --pod grpc-mtls-0 --namespace default \
	--tls-cert "$GW_TMP/be.crt" --tls-key "$GW_TMP/be.key" \
	--tls-client-ca "$GW_TMP/gwca.crt" > "$GW_TMP/be2.log" 2>&1 &
gw_track $!
"$B/gwbpf-echo" --https 127.0.0.1:$B3 --cert "$GW_TMP/be.crt" --key "$GW_TMP/be.key" \
	--pod https-1-0 > "$GW_TMP/be3.log" 2>&1 &
gw_track $!
# one stream per connection: more connections, which resume the first's session
"$B/gwbpf-echo" --grpc --listen 127.0.0.1:$B5 --pod grpc-one-0 --max-streams 1 \
	--tls-cert "$GW_TMP/be.crt" --tls-key "$GW_TMP/be.key" > "$GW_TMP/be5.log" 2>&1 &
gw_track $!
# the same gRPC/h2c echo in clear, for the connection-window check
"$B/gwbpf-echo" --grpc --listen 127.0.0.1:$B4 --pod grpc-clear-0 > "$GW_TMP/be4.log" 2>&1 &
gw_track $!
# a backend that accepts and never answers the ClientHello
$GW_PY -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
end = time.time() + 120
while time.time() < end:
    c, _ = s.accept()
    held.append(c)
' "$MUTE" > /dev/null 2>&1 &
gw_track $!
for p in $B1 $B2 $B3 $B4 $B5 $MUTE; do
	gw_wait_port 127.0.0.1 "$p" 10 || gw_fail "backend on $p did not start"
done

# policy NAME SERVICE CONFIGMAP HOSTNAME
policy()
{
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: $1, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: $2}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: $3}]
    hostname: $4
YEOF
}

S=gateway_api_conformance.echo_basic.grpcecho.GrpcEcho
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
  tls:
    backend:
      clientCertificateRef: {name: gw-client}
  listeners:
  - {name: http, protocol: HTTP, port: $GWP}
  - name: https
    protocol: HTTPS
    port: $GWS
    hostname: gw.test
    tls: {mode: Terminate, certificateRefs: [{name: front}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
YEOF
	for s in good mtls wrongca hostmiss noh2 noca notls one; do
		cat << YEOF
  - matches: [{method: {service: $S}, headers: [{name: x-backend, value: $s}]}]
    backendRefs: [{name: s-$s, port: 8443}]
YEOF
	done
	cat << YEOF
  - matches: [{method: {service: $S}, headers: [{name: x-backend, value: mute}]}]
    timeouts: {request: 500ms}
    backendRefs: [{name: s-mute, port: 8443}]
YEOF
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: h, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /h2tls}}]
    backendRefs: [{name: h-good, port: 8443}]
  - matches: [{path: {type: PathPrefix, value: /h2bad}}]
    backendRefs: [{name: h-wrongca, port: 8443}]
  - matches: [{path: {type: PathPrefix, value: /h2clear}}]
    backendRefs: [{name: h-clear, port: 8443}]
YEOF
	for s in good wrongca hostmiss noca; do
		gw_yaml_service s-$s 8443 "$B1"
	done
	gw_yaml_service s-mtls 8443 "$B2"
	gw_yaml_service s-noh2 8443 "$B3"
	gw_yaml_service s-notls 8443 "$B4"
	gw_yaml_service s-one 8443 "$B5"
	gw_yaml_service s-mute 8443 "$MUTE"
	gw_yaml_service --app-protocol kubernetes.io/h2c h-good 8443 "$B1"
	gw_yaml_service --app-protocol kubernetes.io/h2c h-wrongca 8443 "$B1"
	gw_yaml_service --app-protocol kubernetes.io/h2c h-clear 8443 "$B4"
	policy p-good s-good bca-cm backend.test
	policy p-mtls s-mtls bca-cm backend.test
	policy p-wrongca s-wrongca other-cm backend.test
	policy p-hostmiss s-hostmiss bca-cm wrong.test
	policy p-noh2 s-noh2 bca-cm backend.test
	policy p-noca s-noca missing-cm backend.test
	policy p-notls s-notls bca-cm backend.test
	policy p-one s-one bca-cm backend.test
	policy p-mute s-mute bca-cm backend.test
	policy p-h-good h-good bca-cm backend.test
	policy p-h-wrongca h-wrongca other-cm backend.test
	tc_ca_configmap bca-cm bca
	tc_ca_configmap other-cm other
	tc_secret gw-client gwclient
	tc_secret front front
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log "$GW_TMP/access.log"
A=127.0.0.1:$GWP
AS=127.0.0.1:$GWS

# field DOC KEY : one value of the client's JSON line (dotted path)
field()
{
	printf '%s' "$1" | $GW_PY -c 'import json, sys
v = json.loads(sys.stdin.read())
for p in sys.argv[1].split("."):
    v = (v or {}).get(p)
print(v)' "$2"
}

# --- h2c client -> gateway -> h2 over TLS -> gRPC echo
out=$("$GC" "$A" /$S/Echo -H 'x-backend: good' -H 'x-probe: 1') || gw_fail "grpc_client failed"
[ "$(field "$out" grpc_status)" = 0 ] || gw_fail "h2c client, good policy: $out"
[ "$(field "$out" response.pod)" = grpc-tls-0 ] || gw_fail "answered by the wrong backend: $out"
printf '%s' "$out" | grep -q '\["x-probe", "1"\]' || gw_fail "metadata not forwarded: $out"
grep -q "tls handshake sni=backend.test alpn=h2 " "$GW_TMP/be1.log" ||
	gw_fail "backend did not see SNI backend.test, ALPN h2: $(grep tls "$GW_TMP/be1.log")"
gw_log "h2c client: Echo over h2+TLS to the backend (SNI backend.test, ALPN h2)"

# --- h2 client over the HTTPS listener (ALPN h2), verified against the front CA
out=$("$GC" --tls --cacert "$GW_TMP/fca.crt" --authority gw.test "$AS" /$S/Echo \
	-H 'x-backend: good') || gw_fail "grpc_client --tls failed"
[ "$(field "$out" grpc_status)" = 0 ] || gw_fail "h2 (TLS listener) client, good policy: $out"
[ "$(field "$out" response.pod)" = grpc-tls-0 ] || gw_fail "TLS listener: wrong backend: $out"
[ "$(field "$out" response.authority)" = gw.test ] || gw_fail "TLS listener: authority: $out"
gw_log "h2 client on the HTTPS listener: Echo over h2+TLS to the backend"

# --- many concurrent calls share pooled TLS connections
"$GC" --count 40 "$A" /$S/Echo -H 'x-backend: good' > "$GW_TMP/many" || gw_fail "40 calls"
n=$(grep -c '"grpc_status": 0, ' "$GW_TMP/many")
[ "$n" = 40 ] || gw_fail "40 concurrent calls: $n OK: $(grep -v '"grpc_status": 0, ' "$GW_TMP/many" | head -3)"
hs=$(grep -c "tls handshake sni=" "$GW_TMP/be1.log")
[ "$hs" -le 3 ] || gw_fail "40 calls took $hs TLS handshakes at the backend: not pooled"
gw_log "40 concurrent calls: all OK over $hs TLS connection(s) in total"

# --- new connections resume the session of the first (a backend allowing
# one stream per connection makes the pool open more)
out=$("$GC" "$A" /$S/Echo -H 'x-backend: one')
[ "$(field "$out" grpc_status)" = 0 ] || gw_fail "one-stream backend: $out"
"$GC" --count 6 "$A" /$S/Echo -H 'x-backend: one' > "$GW_TMP/one" || gw_fail "6 calls"
n=$(grep -c '"grpc_status": 0, ' "$GW_TMP/one")
[ "$n" = 6 ] || gw_fail "one-stream backend, 6 calls: $n OK: $(head -3 "$GW_TMP/one")"
# the first connection's ticket arrives before its answer, so the burst's
# connections have a session to offer (the backend may still decline some)
full=$(grep -c "resumed=no" "$GW_TMP/be5.log")
res=$(grep -c "resumed=yes" "$GW_TMP/be5.log")
[ "$res" -ge 1 ] || gw_fail "session resumption: $full full handshake(s), none resumed"
gw_log "backend sessions: $full full handshake(s), $res resumed"

# --- the Gateway's backend client certificate, over h2
out=$("$GC" "$A" /$S/Echo -H 'x-backend: mtls')
[ "$(field "$out" grpc_status)" = 0 ] || gw_fail "mTLS backend: $out"
[ "$(field "$out" response.pod)" = grpc-mtls-0 ] || gw_fail "mTLS backend: wrong pod: $out"
grep -q "alpn=h2 client_cert=yes" "$GW_TMP/be2.log" || gw_fail "mTLS backend saw no client cert"
gw_log "backend requiring a client certificate: served (certificate presented)"

# --- failures: gRPC UNAVAILABLE from the gateway, never a cleartext request
expect_14()
{
	# expect_14 BACKEND WHAT [CLIENT-ARGS...]
	be=$1
	what=$2
	shift 2
	out=$("$GC" --timeout 10 "$@" /$S/Echo -H "x-backend: $be")
	[ "$(field "$out" status)" = 200 ] || gw_fail "$what: HTTP status not 200: $out"
	[ "$(field "$out" grpc_status)" = 14 ] || gw_fail "$what: want grpc-status 14: $out"
	gw_log "$what -> grpc-status 14 ($(field "$out" grpc_message))"
}
expect_14 wrongca "certificate from another CA" "$A"
expect_14 hostmiss "hostname not in the certificate" "$A"
expect_14 noh2 "backend not selecting ALPN h2" "$A"
expect_14 noca "policy without a usable CA" "$A"
expect_14 notls "backend speaking h2c in clear" "$A"
expect_14 wrongca "certificate from another CA (h2 client, TLS listener)" \
	--tls --cacert "$GW_TMP/fca.crt" --authority gw.test "$AS"

# the access log names why (JSON lines with "reason")
for r in upstream_tls_verify upstream_tls_alpn upstream_tls_policy upstream_tls_handshake; do
	deadline=$(($(date +%s) + 5))
	until grep -q "\"$r\"" "$GW_TMP/access.log"; do
		[ "$(date +%s)" -lt "$deadline" ] || gw_fail "access log: no reason $r"
		sleep 0.1
	done
done
gw_log "access log reasons: upstream_tls_verify, upstream_tls_alpn, upstream_tls_policy, upstream_tls_handshake"

# --- a backend that never answers the handshake: the route timeout answers
# DEADLINE_EXCEEDED, and the half-made connection is dropped with its stream
out=$("$GC" --timeout 10 "$A" /$S/Echo -H "x-backend: mute")
[ "$(field "$out" grpc_status)" = 4 ] || gw_fail "mute TLS backend: want grpc-status 4: $out"
deadline=$(($(date +%s) + 5))
while [ "$(ss -Htn state established "( dport = :$MUTE )" | wc -l)" != 0 ]; do
	[ "$(date +%s)" -lt "$deadline" ] ||
		gw_fail "connection to the mute backend kept after its stream timed out"
	sleep 0.1
done
gw_log "TLS handshake never answered: grpc-status 4 at the route timeout, connection dropped"

# --- appProtocol kubernetes.io/h2c + policy, plain requests (HTTPRoute)
body=$(curl -sS --max-time 10 "http://$A/h2tls/one") || gw_fail "HTTP/1.1 client: curl failed"
[ "$(field "$body" proto)" = HTTP/2.0 ] || gw_fail "HTTP/1.1 client: backend did not get HTTP/2: $body"
[ "$(field "$body" path)" = /h2tls/one ] || gw_fail "HTTP/1.1 client: path: $body"
body=$(curl -sS --max-time 10 --http2-prior-knowledge "http://$A/h2tls/two") ||
	gw_fail "h2c client: curl failed"
[ "$(field "$body" proto)" = HTTP/2.0 ] || gw_fail "h2c client: backend did not get HTTP/2: $body"
c=$(curl -s -o "$GW_TMP/bad" -w '%{http_code}' --max-time 10 "http://$A/h2bad/x") || true
[ "$c" = 502 ] || gw_fail "HTTP/1.1 client, wrong CA on an h2c port: got $c, want 502"
grep -q upstream_tls_verify "$GW_TMP/bad" || gw_fail "HTTP/1.1 client: 502 without the reason: $(cat "$GW_TMP/bad")"
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --http2-prior-knowledge \
	"http://$A/h2bad/x") || true
[ "$c" = 502 ] || gw_fail "h2c client, wrong CA on an h2c port: got $c, want 502"
gw_log "appProtocol kubernetes.io/h2c under a policy: HTTP/1.1 and h2c clients get HTTP/2 over TLS; wrong CA 502"

# --- more than the upstream connection window (16 MiB) of answers on one
# pooled connection, over TLS and in clear: the window must come back for
# the last DATA of every closed stream, or the connection stalls for good
if command -v h2load > /dev/null 2>&1; then
	pad=$(head -c 8000 /dev/zero | tr '\0' a)
	for p in h2tls h2clear; do
		timeout 60 h2load -n 2500 -c 1 -m 10 -H "x-pad: $pad" "http://$A/$p/w" \
			> "$GW_TMP/h2load-$p" 2>&1 || true
		grep -q "2500 succeeded" "$GW_TMP/h2load-$p" ||
			gw_fail "$p: 2500 answers of 8 KB (20 MB on one upstream connection): $(grep -E 'requests:|finished' "$GW_TMP/h2load-$p")"
	done
	gw_log "20 MB of answers through one pooled upstream connection, TLS and clear: no stall"
fi

grep -q "AddressSanitizer\|LeakSanitizer" "$GW_TMP/gwbpf.log" && gw_fail_logs "sanitizer report"
exit 0
