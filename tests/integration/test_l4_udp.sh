#!/bin/sh
# test_l4_udp.sh - UDPRoute flows in userspace (docs/l4.md).
#
# A UDP listener with a UDPRoute to two UDP echo backends (weights 1:1, the
# conformance echo's JSON answer naming the pod and echoing the payload).
# Checks: two client flows get their payload back from the gateway's address,
# each flow stays on one backend for all its datagrams; 40 flows use both
# backends; a 1200-byte datagram comes back whole; flows expire after the
# --udp-idle-timeout (gwbpf_l4_udp_active back to 0, udp_expired counted) and
# a client that talks again gets a new flow; with one worker, 4096 flows are
# served and a 4097th client is dropped (counted) until flows expire.
. "$(dirname "$0")/lib.sh"
gw_init

ECHO=$B/gwbpf-echo
gw_require_file "$ECHO"
P=$(gw_free_port)
BE_A=$(gw_free_port)
BE_B=$(gw_free_port)

"$ECHO" --udp 127.0.0.1:$BE_A --pod udp-a > "$GW_TMP/echo-a.log" 2>&1 &
gw_track $!
"$ECHO" --udp 127.0.0.1:$BE_B --pod udp-b > "$GW_TMP/echo-b.log" 2>&1 &
gw_track $!

svc()
{
	cat << YEOF
---
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec: {ports: [{name: dns, port: 53, protocol: UDP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $1-1, namespace: default, labels: {kubernetes.io/service-name: $1}}
addressType: IPv4
ports: [{name: dns, port: $2, protocol: UDP}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
YEOF
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
  listeners:
  - {name: udp, protocol: UDP, port: $P}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: u, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: ua, port: 53, weight: 1}, {name: ub, port: 53, weight: 1}]
YEOF
	svc ua $BE_A
	svc ub $BE_B
} > "$GW_TMP/gw.yaml"

gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 2 --access-log off \
	--udp-idle-timeout 700

$GW_PY - "$P" "$GW_ADMIN" << 'PYEOF' || gw_fail "UDP checks"
import json, socket, sys, time, urllib.request
P, ADMIN = int(sys.argv[1]), sys.argv[2]

def fail(msg):
    print(msg)
    sys.exit(1)

def metric(name):
    body = urllib.request.urlopen("http://%s/metrics" % ADMIN, timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    fail("metric %s missing" % name)

def ask(s, payload):
    """one datagram; retried a few times (UDP), the answer as JSON"""
    for _ in range(5):
        s.sendto(payload, ("127.0.0.1", P))
        try:
            d, src = s.recvfrom(65536)
        except socket.timeout:
            continue
        if src != ("127.0.0.1", P):
            fail("answer from %r, not the gateway" % (src,))
        return json.loads(d)
    fail("no answer to %r" % payload[:20])

def client():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    return s

# wait (bounded) for the listener
deadline = time.time() + 10
while True:
    try:
        c = client()
        ask(c, b"hello")
        c.close()
        break
    except SystemExit:
        if time.time() > deadline:
            raise
base_flows = metric("gwbpf_l4_udp_flows_total")

c1, c2 = client(), client()
pods = {}
for i in range(10):
    for name, c in (("c1", c1), ("c2", c2)):
        msg = ("%s-%d" % (name, i)).encode()
        j = ask(c, msg)
        if j["request"] != msg.decode():
            fail("%s: echoed %r, sent %r" % (name, j["request"], msg))
        pods.setdefault(name, set()).add(j["pod"])
for name, p in pods.items():
    if len(p) != 1:
        fail("flow %s was answered by %r: a flow must stay on one backend" % (name, p))
big = b"x" * 1200
j = ask(c1, big)
if j["request"] != big.decode():
    fail("1200-byte datagram: %d bytes echoed" % len(j["request"]))

seen = set()
for i in range(40):
    c = client()
    seen.add(ask(c, b"spread")["pod"])
    c.close()
if seen != {"udp-a", "udp-b"}:
    fail("40 flows reached %r, want both backends" % seen)

flows = metric("gwbpf_l4_udp_flows_total") - base_flows
if flows != 42:
    fail("%d flows created, want 42 (2 clients + 40)" % flows)

# idle expiry: every flow ends after 0.7 s without a datagram
deadline = time.time() + 10
while metric("gwbpf_l4_udp_active") != 0:
    if time.time() > deadline:
        fail("flows still active 10 s after the last datagram")
    time.sleep(0.2)
if metric("gwbpf_l4_udp_expired_total") < 42:
    fail("expired counter %d, want >= 42" % metric("gwbpf_l4_udp_expired_total"))
before = metric("gwbpf_l4_udp_flows_total")
ask(c1, b"again")
if metric("gwbpf_l4_udp_flows_total") != before + 1:
    fail("a client talking after expiry did not get a new flow")
PYEOF
kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died"

# the flow cap (GW_L4_UDP_MAX_FLOWS, 4096 per worker and listener socket):
# one worker, 4096 clients get answers, the 4097th is dropped (counted) until
# flows expire, then it is served
gw_log "flow cap: 4096 flows per worker, the next client dropped until flows expire"
gw_stop_gwbpf
GW_ADMIN=
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off \
	--udp-idle-timeout 8000
$GW_PY - "$P" "$GW_ADMIN" << 'PYEOF' || gw_fail "UDP flow cap"
import resource, socket, sys, time, urllib.request
P, ADMIN = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < 4200:
    print("skip-cap: fd limit %d" % hard)
    sys.exit(0)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4200), hard))

def fail(msg):
    print(msg)
    sys.exit(1)

def metric(name):
    body = urllib.request.urlopen("http://%s/metrics" % ADMIN, timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    fail("metric %s missing" % name)

def answered(s, tries, wait):
    for _ in range(tries):
        s.sendto(b"cap", ("127.0.0.1", P))
        try:
            s.settimeout(wait)
            s.recvfrom(65536)
            return True
        except socket.timeout:
            continue
    return False

socks = []
t0 = time.time()
deadline = time.time() + 60
for i in range(4096):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    if not answered(s, 5, 1.0):
        fail("client %d of 4096 got no answer" % i)
    if time.time() > deadline:
        fail("4096 flows took more than 60 s")
if time.time() - t0 > 7:
    # the first flows may have expired already: the cap cannot be checked
    print("skip-cap: creating 4096 flows took %.1f s (idle timeout 8 s)" % (time.time() - t0))
    sys.exit(0)
if metric("gwbpf_l4_udp_active") != 4096:
    fail("udp_active %d, want 4096" % metric("gwbpf_l4_udp_active"))
dropped = metric("gwbpf_l4_udp_dropped_total")
extra = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
extra.bind(("127.0.0.1", 0))
if answered(extra, 2, 0.3):
    fail("a 4097th flow was served")
if metric("gwbpf_l4_udp_dropped_total") < dropped + 2:
    fail("the 4097th client's datagrams were not counted as dropped")
for s in socks:
    s.close()
# the 4096 flows expire after 8 s of silence; then the extra client is served
deadline = time.time() + 30
while not answered(extra, 1, 0.5):
    if time.time() > deadline:
        fail("the extra client was still refused 30 s later")
PYEOF
kill -0 "$GW_PID" 2> /dev/null || gw_fail "gwbpf died (flow cap)"
exit 0
