#!/bin/sh
# test_tls_client_cert.sh - client certificates on HTTPS listeners (Gateway
# spec.tls.frontend, docs/tls.md).
#
# One Gateway, two HTTPS ports: the default validation (AllowValidOnly, CA
# "good" from a ConfigMap) on the first, a perPort AllowInsecureFallback on
# the second. curl with a client certificate signed by the good CA gets 200
# on both; without a certificate, or with one from another CA, the first
# port refuses the handshake (no response at all) and the second still
# answers 200. A third port names a missing ConfigMap: that listener is not
# served (Accepted=False NoValidCACertificate), rather than served without
# validation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_certs.sh"
gw_init
gw_require_cmd openssl
gw_require_cmd curl

P1=$(gw_free_port)
P2=$(gw_free_port)
P3=$(gw_free_port)
BE=$(gw_free_port)
gw_start_echo 127.0.0.1:$BE echo-cc

tc_ca good
tc_ca evil
tc_ca srvca
tc_leaf server srvca www.example.com "DNS:www.example.com"
tc_leaf alice good alice "DNS:alice.example.com" clientAuth
tc_leaf mallory evil mallory "DNS:mallory.example.com" clientAuth

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
    frontend:
      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: client-ca}]
      perPort:
      - port: $P2
        tls:
          validation:
            mode: AllowInsecureFallback
            caCertificateRefs: [{group: "", kind: ConfigMap, name: client-ca}]
      - port: $P3
        tls:
          validation:
            caCertificateRefs: [{group: "", kind: ConfigMap, name: no-such-configmap}]
  listeners:
  - {name: strict, protocol: HTTPS, port: $P1, tls: {certificateRefs: [{name: srv}]}}
  - {name: fallback, protocol: HTTPS, port: $P2, tls: {certificateRefs: [{name: srv}]}}
  - {name: broken, protocol: HTTPS, port: $P3, tls: {certificateRefs: [{name: srv}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [www.example.com]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
YEOF
	tc_secret srv server
	tc_ca_configmap client-ca good
	gw_yaml_service echo 8080 "$BE"
} > "$GW_TMP/gw.yaml"

gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
gw_wait_port 127.0.0.1 "$P1" 10 || gw_fail "HTTPS port $P1 not listening"
gw_wait_port 127.0.0.1 "$P2" 10 || gw_fail "HTTPS port $P2 not listening"

# req PORT [CLIENT] : HTTP status of GET https://www.example.com:PORT/ with
# client certificate CLIENT (none when empty); "000" = no response
req()
{
	set -- "$1" "${2:-}"
	if [ -n "$2" ]; then
		set -- "$1" --cert "$GW_TMP/$2.crt" --key "$GW_TMP/$2.key"
	else
		set -- "$1"
	fi
	p=$1
	shift
	curl -s -o "$GW_TMP/body" -m 5 -w '%{http_code}' --cacert "$GW_TMP/srvca.crt" \
		--resolve "www.example.com:$p:127.0.0.1" "$@" "https://www.example.com:$p/cc" \
		2> /dev/null
}

gw_log "AllowValidOnly: valid certificate accepted"
for v in 1.2 1.3; do
	c=$(req "$P1" alice --tls-max $v --tlsv$v) || true
	[ "$c" = 200 ] || gw_fail "TLS $v: client cert from the trusted CA: got $c, want 200"
done
grep -q '"pod": *"echo-cc"' "$GW_TMP/body" || gw_fail "response did not come from the backend"

gw_log "AllowValidOnly: no certificate, or one from another CA: refused"
for v in 1.2 1.3; do
	c=$(req "$P1" "" --tls-max $v --tlsv$v) || true
	[ "$c" = 000 ] || gw_fail "TLS $v: no client cert: got HTTP $c, want the handshake refused"
	c=$(req "$P1" mallory --tls-max $v --tlsv$v) || true
	[ "$c" = 000 ] || gw_fail "TLS $v: untrusted client cert: got HTTP $c, want refused"
done
# the server asks with the trusted CA's name
openssl s_client -connect 127.0.0.1:$P1 -servername www.example.com < /dev/null \
	2> /dev/null > "$GW_TMP/sc.txt" || true
grep -A2 "Acceptable client certificate CA names" "$GW_TMP/sc.txt" | grep -q "good test CA" ||
	gw_fail "CertificateRequest does not name the trusted CA"

gw_log "AllowInsecureFallback: everyone gets through"
for cl in alice "" mallory; do
	c=$(req "$P2" "$cl") || true
	[ "$c" = 200 ] || gw_fail "fallback port, client '${cl:-none}': got $c, want 200"
done

gw_log "sessions: resumed under the same validation, never across validations"
sc()
{
	sp=$1
	shift
	timeout 10 openssl s_client -connect 127.0.0.1:$sp -servername www.example.com -tls1_2 \
		"$@" < /dev/null 2>&1
}
sc "$P1" -cert "$GW_TMP/alice.crt" -key "$GW_TMP/alice.key" -sess_out "$GW_TMP/s1.pem" > /dev/null
[ -s "$GW_TMP/s1.pem" ] || gw_fail "no TLS 1.2 session saved from the strict port"
sc "$P1" -cert "$GW_TMP/alice.crt" -key "$GW_TMP/alice.key" -sess_in "$GW_TMP/s1.pem" |
	grep -q "^Reused" || gw_fail "same port, same validation: session not resumed"
sc "$P2" -sess_out "$GW_TMP/s2.pem" > /dev/null
[ -s "$GW_TMP/s2.pem" ] || gw_fail "no TLS 1.2 session saved from the fallback port"
# a session made without a certificate must not open the strict port
sc "$P1" -sess_in "$GW_TMP/s2.pem" | grep -q "^Reused" &&
	gw_fail "a fallback-port session resumed on the strict port"
c=$(req "$P1" "" --tls-max 1.2 --tlsv1.2) || true
[ "$c" = 000 ] || gw_fail "strict port answered $c without a certificate after resumption attempts"

gw_log "a validation that does not load is not served"
c=$(req "$P3" alice) || true
[ "$c" = 000 ] || gw_fail "listener with a missing CA ConfigMap answered $c"
curl -s "http://$GW_ADMIN/status" > "$GW_TMP/status.json"
$GW_PY - "$GW_TMP/status.json" << 'PYEOF' || gw_fail "listener status"
import json, sys
doc = json.load(open(sys.argv[1]))
gw = [i for i in doc["items"] if i["kind"] == "Gateway"][0]
ls = {l["name"]: {c["type"]: (c["status"], c["reason"]) for c in l["conditions"]}
      for l in gw["status"]["listeners"]}
assert ls["broken"]["Accepted"] == ("False", "NoValidCACertificate"), ls["broken"]
assert ls["broken"]["ResolvedRefs"] == ("False", "InvalidCACertificateRef"), ls["broken"]
assert ls["strict"]["Accepted"] == ("True", "Accepted"), ls["strict"]
PYEOF

gw_log "daemon still serving"
c=$(req "$P1" alice) || true
[ "$c" = 200 ] || gw_fail "after the refusals: got $c"
gw_log "pass"
