#!/bin/sh
# test_l4_tls.sh - TLS passthrough and TLS-terminated TLSRoute (docs/l4.md).
#
# Port P carries TLS Passthrough listeners (abc.example.com and
# *.wild.example.com, each with a TLSRoute to its own TLS backend) and one
# HTTPS listener (https.example.com, terminated by the HTTP proxy) on the
# same port. The backends' certificates are signed by a CA made here whose
# key only this script and the backends' key files hold; the gateway's
# configuration holds no key for those names, so a client that verifies the
# backend's chain proves the gateway never terminated (never saw plaintext).
# Port Q is a TLS Terminate listener whose TLSRoute goes to a plaintext TCP
# backend, which reports isTLS false (the gateway decrypted).
# Also: SNI routing incl. wildcard, unknown and missing SNI closed, garbage,
# truncated ClientHello with EOF, a ClientHello cut mid-way and a client that
# sends nothing (both cut by the --header-timeout deadline), and the
# gwbpf_l4_* counters for each. Everything runs twice: with the userspace
# relay (--no-bpf) and, where BPF loads, with the kernel splice (passthrough
# streams then spliced, counted).
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd openssl

ECHO=$B/gwbpf-echo
gw_require_file "$ECHO"
P=$(gw_free_port)
Q=$(gw_free_port)
BE_A=$(gw_free_port)
BE_W=$(gw_free_port)
BE_T=$(gw_free_port)
BE_H=$(gw_free_port)
T=$GW_TMP

osl() { openssl "$@" > /dev/null 2>&1 || gw_fail "openssl $1 failed"; }
osl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=l4 test CA" -keyout "$T/ca.key" -out "$T/ca.crt"
# leaf NAME SAN... : key + certificate signed by the test CA
leaf()
{
	n=$1
	shift
	san=$(printf 'DNS:%s,' "$@")
	osl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
		-keyout "$T/$n.key" -out "$T/$n.csr"
	printf 'subjectAltName=%s\n' "${san%,}" > "$T/$n.ext"
	osl x509 -req -in "$T/$n.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 -extfile "$T/$n.ext" -out "$T/$n.crt"
}
leaf be-a abc.example.com
leaf be-w "*.wild.example.com"
# the gateway's own certificates (terminate): self-signed
gw_cert term term.example.com
gw_cert https https.example.com

"$ECHO" --tls 127.0.0.1:$BE_A --cert "$T/be-a.crt" --key "$T/be-a.key" --pod tls-a \
	> "$T/echo-a.log" 2>&1 &
gw_track $!
"$ECHO" --tls 127.0.0.1:$BE_W --cert "$T/be-w.crt" --key "$T/be-w.key" --pod tls-w \
	> "$T/echo-w.log" 2>&1 &
gw_track $!
"$ECHO" --tcp 127.0.0.1:$BE_T --pod tcp-t > "$T/echo-t.log" 2>&1 &
gw_track $!
gw_start_echo 127.0.0.1:$BE_H http-h
for p in $BE_A $BE_W $BE_T $BE_H; do
	gw_wait_port 127.0.0.1 $p 10 || gw_fail "backend $p not listening"
done

b64() { base64 -w0 < "$1"; }
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
  - {name: pa, protocol: TLS, port: $P, hostname: abc.example.com, tls: {mode: Passthrough}}
  - {name: pw, protocol: TLS, port: $P, hostname: "*.wild.example.com", tls: {mode: Passthrough}}
  - name: https
    protocol: HTTPS
    port: $P
    hostname: https.example.com
    tls: {mode: Terminate, certificateRefs: [{name: https-cert}]}
  - name: term
    protocol: TLS
    port: $Q
    hostname: term.example.com
    tls: {mode: Terminate, certificateRefs: [{name: term-cert}]}
    allowedRoutes: {kinds: [{kind: TLSRoute}]}
---
apiVersion: v1
kind: Secret
metadata: {name: term-cert, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(b64 "$T/term.crt"), tls.key: $(b64 "$T/term.key")}
---
apiVersion: v1
kind: Secret
metadata: {name: https-cert, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(b64 "$T/https.crt"), tls.key: $(b64 "$T/https.key")}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: ra, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: pa}]
  hostnames: [abc.example.com]
  rules: [{backendRefs: [{name: be-a, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: rw, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: pw}]
  hostnames: ["*.wild.example.com"]
  rules: [{backendRefs: [{name: be-w, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: rt, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: term}]
  hostnames: [term.example.com]
  rules: [{backendRefs: [{name: be-t, port: 3000}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rh, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: https}]
  rules: [{backendRefs: [{name: be-h, port: 8080}]}]
YEOF
	gw_yaml_service be-a 443 $BE_A
	gw_yaml_service be-w 443 $BE_W
	gw_yaml_service be-t 3000 $BE_T
	gw_yaml_service be-h 8080 $BE_H
} > "$T/gw.yaml"

# the proof's premise: no key of the CA-signed names is in the configuration
for k in be-a be-w ca; do
	if grep -q "$(sed -n 2p "$T/$k.key")" "$T/gw.yaml" ||
		grep -q "$(b64 "$T/$k.key")" "$T/gw.yaml"; then
		gw_fail "the gateway configuration holds $k.key"
	fi
done

# the checks, in Python, kept in a file so both modes run the same ones
cat > "$T/check.py" << 'PYEOF'
import json, socket, ssl, sys, time, urllib.request
P, Q, T, ADMIN = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def fail(msg):
    print(msg)
    sys.exit(1)

def tls_test(port, sni, cafile):
    """verified TLS to the gateway; returns the backend's TEST JSON"""
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            f = s.makefile("rb")
            if f.readline() != b"Gateway API Test TCP Server\n":
                fail("%s: no welcome line" % sni)
            s.sendall(b"TEST\n")
            return json.loads(f.readline())

def closed_without_data(data, sni_note, wait=8.0, shut=False):
    """sends data; the gateway must close (FIN or RST) without answering"""
    s = socket.create_connection(("127.0.0.1", P), timeout=wait)
    t0 = time.time()
    try:
        if data:
            s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        got = s.recv(100)
        if got:
            fail("%s: got %r, want a closed connection" % (sni_note, got[:40]))
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail("%s: not closed within %.0f s" % (sni_note, wait))
    finally:
        s.close()
    return time.time() - t0

def hello(sni):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(i, o, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()

def metric(name):
    body = urllib.request.urlopen("http://%s/metrics" % ADMIN, timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    fail("metric %s missing" % name)

# passthrough, verified against the test CA only the backends' keys match
j = tls_test(P, "abc.example.com", T + "/ca.crt")
if j["pod"] != "tls-a" or not j["isTLS"] or j["tls"]["serverName"] != "abc.example.com":
    fail("abc.example.com: %r" % j)
j = tls_test(P, "foo.wild.example.com", T + "/ca.crt")
if j["pod"] != "tls-w" or j["tls"]["serverName"] != "foo.wild.example.com":
    fail("foo.wild.example.com: %r" % j)

# HTTPS on the same port goes to the HTTP proxy (terminated with its cert)
ctx = ssl.create_default_context(cafile=T + "/https.crt")
with socket.create_connection(("127.0.0.1", P), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="https.example.com") as s:
        s.sendall(b"GET /x HTTP/1.1\r\nHost: https.example.com\r\nConnection: close\r\n\r\n")
        resp = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            resp += d
if not resp.startswith(b"HTTP/1.1 200") or b'"http-h"' not in resp:
    fail("HTTPS on the shared port: %r" % resp[:200])

# terminate: the gateway's certificate, a plaintext backend behind
j = tls_test(Q, "term.example.com", T + "/term.crt")
if j["pod"] != "tcp-t" or j["isTLS"]:
    fail("terminate: %r" % j)

# ALPN: a TLSRoute (Terminate) negotiates nothing for its backend; HTTPS on
# the passthrough port still offers h2
def alpn(port, sni, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            return s.selected_alpn_protocol()
got = alpn(Q, "term.example.com", T + "/term.crt")
if got is not None:
    fail("TLSRoute terminate negotiated ALPN %r" % got)
got = alpn(P, "https.example.com", T + "/https.crt")
if got != "h2":
    fail("HTTPS on the shared port: ALPN %r, want h2" % got)

base = {k: metric("gwbpf_l4_%s_total" % k) for k in
        ("no_route", "hello_bad", "hello_truncated", "hello_timeout")}
closed_without_data(hello("other.example.org"), "unknown SNI")
closed_without_data(hello(None), "no SNI")
closed_without_data(b"GET / HTTP/1.1\r\nHost: abc.example.com\r\n\r\n", "plain HTTP")
closed_without_data(bytes(range(256)) * 4, "random bytes")
h = hello("abc.example.com")
closed_without_data(h[: len(h) // 2], "truncated + EOF", shut=True)
took = closed_without_data(h[: len(h) // 2], "truncated, kept open")
if took < 1.0:
    fail("a half ClientHello was closed after %.2f s, before the 1.5 s deadline" % took)
took = closed_without_data(b"", "silent client")
if took < 1.0:
    fail("a silent client was closed after %.2f s, before the 1.5 s deadline" % took)

# counters (bounded poll: the workers count as they close)
want = {"no_route": 2, "hello_bad": 2, "hello_truncated": 1, "hello_timeout": 2}
deadline = time.time() + 5
while True:
    got = {k: metric("gwbpf_l4_%s_total" % k) - base[k] for k in want}
    if all(got[k] >= want[k] for k in want):
        break
    if time.time() > deadline:
        fail("counters %r, want at least %r" % (got, want))
    time.sleep(0.1)

# still serving after all that
j = tls_test(P, "abc.example.com", T + "/ca.crt")
if j["pod"] != "tls-a":
    fail("after bad clients: %r" % j)
PYEOF

# run_mode ARGS... : gwbpf with ARGS, the checks, stop
run_mode()
{
	gw_start --config "$T/gw.yaml" --workers 2 --access-log off --header-timeout 1500 "$@"
	gw_wait_port 127.0.0.1 "$P" 10 || gw_fail "TLS port $P not listening"
	gw_wait_port 127.0.0.1 "$Q" 10 || gw_fail "TLS port $Q not listening"
	$GW_PY "$T/check.py" "$P" "$Q" "$T" "$GW_ADMIN" || gw_fail "TLS checks ($*)"
	kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died ($*)"
	if [ "$1" != --no-bpf ] && grep -q "splice: sk_skb splice on" "$GW_TMP/gwbpf.log"; then
		n=$(curl -s "http://$GW_ADMIN/metrics" | sed -n 's/^gwbpf_l4_splice_started_total //p')
		[ "${n:-0}" -gt 0 ] || gw_fail "splice on, but no passthrough stream was spliced"
	fi
	gw_stop_gwbpf
	GW_ADMIN=
}

gw_log "userspace relay (--no-bpf)"
run_mode --no-bpf
# the same through the kernel splice, where this machine can load it
if [ "$(id -u)" = 0 ] && mount | grep -q ' /sys/fs/bpf '; then
	gw_log "kernel splice (--bpf msg,splice)"
	run_mode --bpf msg,splice --bpffs /sys/fs/bpf/gwbpf-l4tls-$$
	rm -rf "/sys/fs/bpf/gwbpf-l4tls-$$"
	grep -q "splice: sk_skb splice on" "$GW_TMP/gwbpf.log" ||
		gw_log "splice did not load here: the second run was userspace too"
fi
exit 0
