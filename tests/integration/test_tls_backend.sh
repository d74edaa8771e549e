#!/bin/sh
# test_tls_backend.sh - TLS to backends: BackendTLSPolicy and the Gateway's
# backend client certificate (docs/tls.md "TLS to backends").
#
# Two TLS echo backends (python ssl, in this file): one with a certificate
# for backend.test (SAN DNS:backend.test and URI spiffe://backend.test/echo)
# signed by CA "bca", one that also requires a client certificate from CA
# "gwca". One plain HTTP listener routes a path per Service; every Service
# points at a backend, each with its own policy:
#   good       CA bca, hostname backend.test            -> 200, SNI backend.test
#   uri        + subjectAltNames URI spiffe://backend.test/echo -> 200
#   wrongca    CA other                                 -> 502
#   sanmiss    + subjectAltNames Hostname other.test    -> 502
#   hostmiss   hostname wrong.test                      -> 502
#   noca       caCertificateRefs to a missing ConfigMap -> 502 (never sent)
#   mtls       backend requiring a client cert; the Gateway's
#              spec.tls.backend.clientCertificateRef    -> 200, cert seen
#   plain      no policy, plaintext echo                -> 200
# The same over h2c (HTTP/2 clients go through h2.c's upstream path).
# All TLS Services share one endpoint address: pooled connections must
# never carry a request to a Service with other TLS settings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
gw_init
gw_require_cmd openssl
gw_require_cmd curl

GWP=$(gw_free_port)
B1=$(gw_free_port)
B2=$(gw_free_port)
BP=$(gw_free_port)

tc_ca bca
tc_ca other
tc_ca gwca
tc_leaf be bca backend.test "DNS:backend.test,URI:spiffe://backend.test/echo" serverAuth
tc_leaf gwclient gwca gateway-client "DNS:gateway.test" clientAuth

# tls_backend PORT CERT [CLIENT_CA] : HTTPS echo answering JSON with the SNI
# the client sent and the client certificate's CN
tls_backend()
{
	$GW_PY - "$@" > "$GW_TMP/be-$1.log" 2>&1 << 'PYEOF' &
import json, ssl, socketserver, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, cert, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cca = sys.argv[4] if len(sys.argv) > 4 else ""
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(tmp + "/" + cert + ".crt", tmp + "/" + cert + ".key")
if cca:
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(tmp + "/" + cca + ".crt")
def sni(sock, name, c):
    sock.gw_sni = name
ctx.sni_callback = sni
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        pc = self.connection.getpeercert() or {}
        cn = ""
        for rdn in pc.get("subject", ()):
            for k, v in rdn:
                if k == "commonName": cn = v
        out = json.dumps({"path": self.path, "sni": getattr(self.connection, "gw_sni", None),
                          "client_cn": cn, "port": port}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
class S(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    def get_request(self):
        s, a = self.socket.accept()
        s.settimeout(5)
        return ctx.wrap_socket(s, server_side=True), a
    def handle_error(self, request, client_address): pass
S(("127.0.0.1", port), H).serve_forever()
PYEOF
	gw_track $!
	gw_wait_port 127.0.0.1 "$1" 10 || gw_fail "TLS backend on $1 did not start"
}
tls_backend "$B1" be "$GW_TMP"
tls_backend "$B2" be "$GW_TMP" gwca
gw_start_echo 127.0.0.1:$BP echo-plain

# policy NAME SERVICE CONFIGMAP HOSTNAME [SANS-YAML]
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
	[ -n "${5:-}" ] && echo "    subjectAltNames: $5"
	return 0
}

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
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
YEOF
	for s in good uri wrongca sanmiss hostmiss noca mtls plain; do
		cat << YEOF
  - matches: [{path: {type: PathPrefix, value: /$s}}]
    backendRefs: [{name: s-$s, port: 8443}]
YEOF
	done
	for s in good uri wrongca sanmiss hostmiss noca; do
		gw_yaml_service s-$s 8443 "$B1"
	done
	gw_yaml_service s-mtls 8443 "$B2"
	gw_yaml_service s-plain 8443 "$BP"
	tc_ca_configmap bca bca
	tc_ca_configmap other other
	tc_secret gw-client gwclient
	policy p-good s-good bca backend.test
	policy p-uri s-uri bca backend.test '[{type: URI, uri: "spiffe://backend.test/echo"}]'
	policy p-wrongca s-wrongca other backend.test
	policy p-sanmiss s-sanmiss bca backend.test '[{type: Hostname, hostname: other.test}]'
	policy p-hostmiss s-hostmiss bca wrong.test
	policy p-noca s-noca no-such-configmap backend.test
	policy p-mtls s-mtls bca backend.test
} > "$GW_TMP/gw.yaml"

gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off
gw_wait_port 127.0.0.1 "$GWP" 10 || gw_fail "port $GWP not listening"

# get PATH : status; the body is in $GW_TMP/body
get()
{
	curl -s -o "$GW_TMP/body" -m 10 -w '%{http_code}' "http://127.0.0.1:$GWP$1" 2> /dev/null
}

# field KEY : a field of the JSON body
field()
{
	$GW_PY -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
		"$GW_TMP/body" "$1"
}

gw_log "verified TLS to the backend, SNI = the policy's hostname"
for i in 1 2 3; do
	c=$(get /good/$i) || true
	[ "$c" = 200 ] || gw_fail "good policy: got $c, want 200"
	[ "$(field sni)" = backend.test ] || gw_fail "backend saw SNI '$(field sni)'"
	[ "$(field path)" = /good/$i ] || gw_fail "backend saw path $(field path)"
	[ "$(field port)" = "$B1" ] || gw_fail "answered by the wrong backend"
done
c=$(get /uri) || true
[ "$c" = 200 ] || gw_fail "URI subjectAltName policy: got $c, want 200"

gw_log "refused backends answer 502, with a pooled connection to the same address"
for s in wrongca sanmiss hostmiss noca; do
	c=$(get /$s) || true
	[ "$c" = 502 ] || gw_fail "policy $s: got $c, want 502"
	c=$(get /good) || true
	[ "$c" = 200 ] || gw_fail "good after $s: got $c, want 200"
done

gw_log "the Gateway's client certificate is presented"
c=$(get /mtls) || true
[ "$c" = 200 ] || gw_fail "backend requiring a client certificate: got $c, want 200"
[ "$(field client_cn)" = gateway-client ] || gw_fail "backend saw client CN '$(field client_cn)'"

gw_log "HTTP/2 clients (h2c) reach TLS backends too"
if curl --help all 2> /dev/null | grep -q http2-prior-knowledge; then
	for i in 1 2; do
		c=$(curl -s -o "$GW_TMP/body" -m 10 -w '%{http_code}' --http2-prior-knowledge \
			"http://127.0.0.1:$GWP/good/h2-$i") || true
		[ "$c" = 200 ] || gw_fail "h2c client to a TLS backend: got $c, want 200"
		[ "$(field sni)" = backend.test ] || gw_fail "h2 path: backend saw SNI '$(field sni)'"
		[ "$(field path)" = /good/h2-$i ] || gw_fail "h2 path: backend saw $(field path)"
	done
	for s in wrongca sanmiss noca; do
		c=$(curl -s -o /dev/null -m 10 -w '%{http_code}' --http2-prior-knowledge \
			"http://127.0.0.1:$GWP/$s") || true
		[ "$c" = 502 ] || gw_fail "h2c client, policy $s: got $c, want 502"
	done
	c=$(curl -s -o "$GW_TMP/body" -m 10 -w '%{http_code}' --http2-prior-knowledge \
		"http://127.0.0.1:$GWP/mtls") || true
	[ "$c" = 200 ] && [ "$(field client_cn)" = gateway-client ] ||
		gw_fail "h2c client to the mTLS backend: got $c, CN '$(field client_cn)'"
fi

gw_log "no policy: plaintext as before"
c=$(get /plain) || true
[ "$c" = 200 ] || gw_fail "plain backend: got $c"

gw_log "policy status"
curl -s "http://$GW_ADMIN/status" > "$GW_TMP/status.json"
$GW_PY - "$GW_TMP/status.json" << 'PYEOF' || gw_fail "policy status"
import json, sys
doc = json.load(open(sys.argv[1]))
pol = {i["metadata"]["name"]: i for i in doc["items"] if i["kind"] == "BackendTLSPolicy"}
def conds(n):
    a = pol[n]["status"]["ancestors"]
    assert len(a) == 1 and a[0]["ancestorRef"]["name"] == "gw", a
    return {c["type"]: (c["status"], c["reason"]) for c in a[0]["conditions"]}
assert conds("p-good")["Accepted"] == ("True", "Accepted")
assert conds("p-noca")["Accepted"] == ("False", "NoValidCACertificate")
assert conds("p-noca")["ResolvedRefs"] == ("False", "InvalidCACertificateRef")
gw = [i for i in doc["items"] if i["kind"] == "Gateway"][0]
rr = [c for c in gw["status"]["conditions"] if c["type"] == "ResolvedRefs"][0]
assert rr["status"] == "True", rr
PYEOF
gw_log "pass"
