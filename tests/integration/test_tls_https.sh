#!/bin/sh
# test_tls_https.sh - HTTPS listeners terminated by the userspace proxy.
#
# One Gateway port with four HTTPS listeners (a.example.com, b.example.com,
# *.wild.example.com, and one without hostname), each with its own
# self-signed certificate and its own echo backend. Checks: the certificate
# each SNI gets (openssl s_client, fingerprints compared with the generated
# files), routed responses over verified TLS (curl --resolve --cacert) with
# X-Forwarded-Proto https, 421 when Host names another listener than SNI,
# garbage and truncated handshakes that neither kill the daemon nor hang,
# and a certificate Secret replaced in the config under traffic (new TLS
# connections from a second thread, zero failed): new handshakes get the new
# certificate without a restart while a keep-alive TLS connection opened
# before keeps working.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd openssl

GWP=$(gw_free_port)
for n in a b w d; do
	p=$(gw_free_port)
	eval "BE_$n=$p"
	gw_start_echo 127.0.0.1:$p "echo-$n"
done

gw_cert a a.example.com
gw_cert a2 a.example.com
gw_cert b b.example.com
gw_cert w wild.example.com "*.wild.example.com"
gw_cert d default.example.net

fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/.*=//'; }

b64() { base64 -w0 < "$1"; }

# config CERT_FOR_A : the whole configuration on stdout
config()
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
	for l in a:a.example.com b:b.example.com w:"*.wild.example.com" d:; do
		n=${l%%:*}
		h=${l#*:}
		echo "  - name: $n"
		echo "    protocol: HTTPS"
		echo "    port: $GWP"
		[ -n "$h" ] && echo "    hostname: \"$h\""
		echo "    tls: {mode: Terminate, certificateRefs: [{name: cert-$n}]}"
	done
	for n in a b w d; do
		c=$n
		[ $n = a ] && c=$1
		cat << YEOF
---
apiVersion: v1
kind: Secret
metadata: {name: cert-$n, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$GW_TMP/$c.crt")
  tls.key: $(b64 "$GW_TMP/$c.key")
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-$n, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: $n}]
  rules:
  - backendRefs: [{name: echo-$n, port: 8080}]
YEOF
		eval "p=\$BE_$n"
		gw_yaml_service echo-$n 8080 "$p"
	done
}

config a > "$GW_TMP/gw.yaml.tmp" && mv "$GW_TMP/gw.yaml.tmp" "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off \
	--header-timeout 2000
gw_wait_port 127.0.0.1 "$GWP" 10 || gw_fail "HTTPS port $GWP not listening"

# served SNI : fingerprint of the certificate a ClientHello with SNI gets
# (SNI "-" = no server name)
served()
{
	if [ "$1" = - ]; then
		set -- -noservername
	else
		set -- -servername "$1"
	fi
	timeout 10 openssl s_client -connect 127.0.0.1:$GWP "$@" < /dev/null 2> /dev/null |
		openssl x509 -noout -fingerprint -sha256 2> /dev/null | sed 's/.*=//'
}

gw_log "certificate per SNI"
for t in a.example.com:a b.example.com:b foo.wild.example.com:w x.y.wild.example.com:w \
	A.Example.COM:a other.example.org:d -:d; do
	sni=${t%:*}
	want=$(fp "$GW_TMP/${t##*:}.crt")
	got=$(served "$sni")
	[ -n "$got" ] || gw_fail "no certificate for SNI $sni"
	[ "$got" = "$want" ] || gw_fail "SNI $sni: got certificate $got, want ${t##*:} ($want)"
done

gw_log "ALPN prefers h2 (docs/http2.md), else http/1.1; TLS 1.1 is refused"
alpn=$(timeout 10 openssl s_client -connect 127.0.0.1:$GWP -servername a.example.com \
	-alpn h2,http/1.1 < /dev/null 2> /dev/null | grep -a -i '^ALPN protocol')
case $alpn in *': h2') ;; *) gw_fail "ALPN: '$alpn', want h2" ;; esac
alpn=$(timeout 10 openssl s_client -connect 127.0.0.1:$GWP -servername a.example.com \
	-alpn http/1.1 < /dev/null 2> /dev/null | grep -a -i '^ALPN protocol')
case $alpn in *http/1.1*) ;; *) gw_fail "ALPN: '$alpn', want http/1.1" ;; esac
if timeout 10 openssl s_client -connect 127.0.0.1:$GWP -servername a.example.com \
	-tls1_1 < /dev/null > /dev/null 2>&1; then
	gw_fail "a TLS 1.1 handshake succeeded"
fi

# get HOST [CURL ARGS...] : GET https://HOST:GWP/path verified against HOST's
# own certificate file; prints "status pod x-forwarded-proto"
get()
{
	h=$1
	shift
	curl -s -m 10 --resolve "$h:$GWP:127.0.0.1" "$@" "https://$h:$GWP/path" \
		-o "$GW_TMP/body" -w '%{http_code}' > "$GW_TMP/code" 2> /dev/null
	$GW_PY - "$(cat "$GW_TMP/code")" "$GW_TMP/body" << 'PYEOF'
import json, sys
code, body = sys.argv[1], open(sys.argv[2], "rb").read()
try:
    d = json.loads(body)
    h = {k.lower(): v for k, v in d["headers"].items()}
    print(code, d["pod"], h.get("x-forwarded-proto", ["-"])[0])
except Exception:
    print(code, "-", "-")
PYEOF
}

gw_log "routed over verified TLS"
r=$(get a.example.com --cacert "$GW_TMP/a.crt")
[ "$r" = "200 echo-a https" ] || gw_fail "a.example.com: '$r'"
r=$(get b.example.com --cacert "$GW_TMP/b.crt")
[ "$r" = "200 echo-b https" ] || gw_fail "b.example.com: '$r'"
r=$(get foo.wild.example.com --cacert "$GW_TMP/w.crt")
[ "$r" = "200 echo-w https" ] || gw_fail "foo.wild.example.com: '$r'"

gw_log "421 when Host selects another listener than SNI"
r=$(get a.example.com --cacert "$GW_TMP/a.crt" -H "Host: b.example.com")
[ "${r%% *}" = 421 ] || gw_fail "SNI a, Host b: '$r', want 421"
r=$(get foo.wild.example.com --cacert "$GW_TMP/w.crt" -H "Host: a.example.com")
[ "${r%% *}" = 421 ] || gw_fail "SNI wildcard, Host a: '$r', want 421"
r=$(get a.example.com --cacert "$GW_TMP/a.crt" -H "Host: a.example.com:$GWP")
[ "$r" = "200 echo-a https" ] || gw_fail "Host with port: '$r'"

gw_log "garbage and truncated handshakes"
$GW_PY - "$GWP" << 'PYEOF' || gw_fail "bad handshakes"
import socket, sys, time
port = int(sys.argv[1])
cases = {
    "http on https": b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "random bytes": bytes(range(256)) * 4,
    "bad record version": b"\x16\xff\xff\x00\x05hello",
    "truncated hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20,
}
for name, data in cases.items():
    s = socket.create_connection(("127.0.0.1", port), timeout=8)
    t0 = time.time()
    try:
        s.sendall(data)
        # the gateway must end the connection by itself: at once on garbage,
        # by the 2 s handshake deadline on a truncated hello
        while True:
            got = s.recv(4096)
            if not got:
                break
    except ConnectionResetError:
        pass
    except socket.timeout:
        print("%s: connection not closed within 8 s" % name)
        sys.exit(1)
    finally:
        s.close()
# a client that connects and sends nothing is closed too
s = socket.create_connection(("127.0.0.1", port), timeout=8)
try:
    if s.recv(10) != b"":
        print("silent client: unexpected bytes")
        sys.exit(1)
except ConnectionResetError:
    pass
except socket.timeout:
    print("silent client: not closed within 8 s")
    sys.exit(1)
s.close()
PYEOF
kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died on bad handshakes"
r=$(get a.example.com --cacert "$GW_TMP/a.crt")
[ "$r" = "200 echo-a https" ] || gw_fail "after bad handshakes: '$r'"

gw_log "certificate Secret replaced: new cert without restart, old connection lives on"
config a2 > "$GW_TMP/gw2.yaml"
$GW_PY - "$GWP" "$GW_TMP" "$(fp "$GW_TMP/a.crt")" "$(fp "$GW_TMP/a2.crt")" << 'PYEOF' ||
import hashlib, http.client, json, os, socket, ssl, sys, time
port, tmp, fp_old, fp_new = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def fingerprint(der):
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))

def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c

def get(conn, path):
    conn.request("GET", path, headers={"Host": "a.example.com"})
    r = conn.getresponse()
    body = r.read()
    return r.status, json.loads(body)["pod"] if r.status == 200 else None

def tls_sock():
    return ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="a.example.com")

# the keep-alive connection opened before the change (SNI a.example.com)
old = http.client.HTTPSConnection("a.example.com", port, timeout=10, context=ctx())
old.sock = tls_sock()
if fingerprint(old.sock.getpeercert(binary_form=True)) != fp_old:
    sys.exit("old connection did not get the first certificate")
st, pod = get(old, "/before")
if (st, pod) != (200, "echo-a"):
    sys.exit("before change: %s %s" % (st, pod))

# traffic during the swap: new TLS connections, each with one request, from
# a second thread until the new certificate is seen and a few after; every
# one must succeed (with the old or the new certificate)
import threading
load = {"ok": 0, "failed": 0, "errors": [], "stop": False}
def loader():
    while not load["stop"]:
        try:
            c = http.client.HTTPSConnection("a.example.com", port, timeout=10, context=ctx())
            c.sock = tls_sock()
            st, pod = get(c, "/load")
            c.close()
            if (st, pod) == (200, "echo-a"):
                load["ok"] += 1
            else:
                load["failed"] += 1
                load["errors"].append("%s %s" % (st, pod))
        except Exception as e:
            load["failed"] += 1
            load["errors"].append(repr(e))
t = threading.Thread(target=loader, daemon=True)
t.start()
warm = time.time() + 15
while load["ok"] < 20 and time.time() < warm:
    time.sleep(0.05)

os.rename(os.path.join(tmp, "gw2.yaml"), os.path.join(tmp, "gw.yaml"))

def served():
    so = tls_sock()
    try:
        return fingerprint(so.getpeercert(binary_form=True))
    finally:
        so.close()

end = time.time() + 15
got = None
while time.time() < end:
    got = served()
    if got == fp_new:
        break
    time.sleep(0.2)
if got != fp_new:
    load["stop"] = True
    sys.exit("new certificate not served within 15 s (got %s)" % got)
n_at_swap = load["ok"]
after = time.time() + 15
while load["ok"] < n_at_swap + 20 and time.time() < after:
    time.sleep(0.05)
load["stop"] = True
t.join(20)
print("rotation under traffic: %d requests, %d failed" % (load["ok"] + load["failed"], load["failed"]))
if load["failed"]:
    sys.exit("requests failed during the certificate swap: %s" % load["errors"][:3])
for i in range(3):
    st, pod = get(old, "/after%d" % i)
    if (st, pod) != (200, "echo-a"):
        sys.exit("old keep-alive connection after change: %s %s" % (st, pod))
old.close()
PYEOF
	gw_fail "certificate reload"
