# tests/integration/lib.sh - shared harness for integration tests (POSIX sh).
#
# Source it first:   . "$(dirname "$0")/lib.sh"
# then call gw_init. Everything started through gw_start_* is recorded and
# killed by the EXIT trap, and the scratch folder $GW_TMP is removed, so a
# test only has to say what it checks. Exit codes follow tests/run.sh: 0 pass,
# 249 skip (gw_skip prints the reason as the last line), anything else fail.
#
# Variables after gw_init:
#   GW_ROOT  repository root        B       build folder (default build)
#   GW_TMP   scratch folder          GW_BIN  the gwbpf binary
#   GW_PY    python3 used for helpers (stdlib + yaml only)
# Set DEBUG_TESTENV=1 to keep $GW_TMP and print the gwbpf log on exit.

GW_PIDS=""
GW_TMP=""
GW_CG=""
GW_PY=/usr/bin/python3

# gw_skip REASON... : exit 249 with the reason as the last line
gw_skip()
{
	echo "skip: $*"
	exit 249
}

# gw_fail MSG... : print and exit 1 (the EXIT trap still cleans up)
gw_fail()
{
	echo "FAIL: $*" >&2
	[ -n "$GW_TMP" ] && [ -f "$GW_TMP/gwbpf.log" ] && {
		echo "----- gwbpf log (last 30 lines)" >&2
		tail -n 30 "$GW_TMP/gwbpf.log" >&2
	}
	exit 1
}

# gw_fail_logs MSG... : gw_fail after printing the last 30 lines of every
# $GW_TMP/*.log (tests that run several programs besides gwbpf)
gw_fail_logs()
{
	for f in "$GW_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 30 "$f" >&2
	done
	gw_fail "$@"
}

gw_log() { echo "# $*"; }

gw_require_cmd()
{
	for c in "$@"; do
		command -v "$c" > /dev/null 2>&1 || gw_skip "missing command: $c"
	done
}

gw_require_root()
{
	[ "$(id -u)" -eq 0 ] || gw_skip "needs root"
}

gw_require_file()
{
	for f in "$@"; do
		[ -e "$f" ] || gw_skip "missing $f (run make)"
	done
}

gw_cleanup()
{
	rc=$?
	for p in $GW_PIDS; do
		kill "$p" 2> /dev/null
	done
	# bounded wait: 5 s, then SIGKILL
	for p in $GW_PIDS; do
		i=0
		while kill -0 "$p" 2> /dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2> /dev/null
	done
	GW_PIDS=""
	for d in ${GW_RM_PINS:-}; do
		rm -rf "$d" 2> /dev/null
	done
	[ -n "$GW_CG" ] && gw_cgroup_remove
	if [ -n "${DEBUG_TESTENV:-}" ]; then
		[ -f "$GW_TMP/gwbpf.log" ] && cat "$GW_TMP/gwbpf.log" >&2
		echo "kept $GW_TMP" >&2
	else
		[ -n "$GW_TMP" ] && rm -rf "$GW_TMP"
	fi
	exit $rc
}

# gw_bpffs NAME : prints a private --bpffs directory
# (/sys/fs/bpf/gwbpf-test-NAME-PID), whose pins gw_cleanup removes after the
# processes are gone. Use as BPFFS=$(gw_bpffs NAME); gw_bpffs_own "$BPFFS".
gw_bpffs()
{
	echo "/sys/fs/bpf/gwbpf-test-$1-$$"
}
gw_bpffs_own()
{
	GW_RM_PINS="${GW_RM_PINS:-} $1"
}

# gw_netns : runs the rest of the test in a network namespace of its own
# (with its own loopback), as the kernel-path tests must: their sockets,
# ports and connection churn never meet the host's or another test's. Call
# first, before gw_init (the script is run again inside, with its args).
gw_netns()
{
	[ -n "${GW_IN_NETNS:-}" ] && return 0
	[ "$(id -u)" = 0 ] && command -v unshare > /dev/null ||
		gw_skip "network namespaces need root and unshare"
	GW_IN_NETNS=1 exec unshare --net -- sh -c 'ip link set lo up && exec sh "$0" "$@"' "$0" "$@"
}

# gw_init : checks the basics, makes $GW_TMP, installs the cleanup trap
gw_init()
{
	GW_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
	B=${B:-build}
	case $B in /*) ;; *) B=$GW_ROOT/$B ;; esac
	GW_BIN=$B/gwbpf
	[ -x "$GW_PY" ] || gw_skip "missing $GW_PY"
	gw_require_cmd curl
	GW_TMP=$(mktemp -d /tmp/gwbpf-test.XXXXXX) || gw_fail "mktemp"
	trap gw_cleanup EXIT
	trap 'exit 130' INT TERM
}

# gw_private_bin : points GW_BIN at a private copy in $GW_TMP, so a rebuild
# while a long test runs does not swap the binary under it; a binary being
# linked right now is waited for (10 s), then the test skips
gw_private_bin()
{
	i=0
	until cp "$GW_BIN" "$GW_TMP/gwbpf" 2> /dev/null && chmod 755 "$GW_TMP/gwbpf" &&
		"$GW_TMP/gwbpf" version 2> /dev/null | grep -q "^gwbpf "; do
		[ $i -lt 50 ] || gw_skip "no runnable $GW_BIN (run make)"
		sleep 0.2
		i=$((i + 1))
	done
	GW_BIN=$GW_TMP/gwbpf
}

# gw_track PID : kill PID on exit
gw_track()
{
	GW_PIDS="$1 $GW_PIDS"
}

# gw_untrack PID : forget PID (after the test stopped it itself)
gw_untrack()
{
	n=""
	for p in $GW_PIDS; do
		[ "$p" = "$1" ] || n="$n $p"
	done
	GW_PIDS=$n
}

# gw_cgroup_make NAME : makes a fresh cgroup v2 child GW_CG
# (<cgroup2 mount>/gwbpf-test-NAME-PID) and names a private pin folder
# GW_BPFFS (/sys/fs/bpf/gwbpf-test-NAME-PID) for `gwbpf run --cgroup
# --bpffs`; GW_CG_HOME is the cgroup this shell is in now. The kernel paths
# only act on sockets of the cgroup gwbpf attaches to, so a test that wants
# them joins GW_CG (gw_cgroup_join) before starting gateway and peers. The
# EXIT trap, once the tracked processes are gone, moves the shell home and
# removes both. Skips without root or a cgroup2 mount.
gw_cgroup_make()
{
	gw_require_root
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$cg2" ] || gw_skip "no cgroup2 mount"
	GW_CG_HOME=$cg2$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
	GW_BPFFS=/sys/fs/bpf/gwbpf-test-$1-$$
	mkdir "$cg2/gwbpf-test-$1-$$" || gw_skip "cannot create a cgroup under $cg2"
	GW_CG=$cg2/gwbpf-test-$1-$$
}

# gw_cgroup_join : moves this shell, and so all it starts from now on, into GW_CG
gw_cgroup_join()
{
	echo $$ > "$GW_CG/cgroup.procs" || gw_fail "cannot join $GW_CG"
}

# gw_cgroup_remove : (EXIT trap) back to GW_CG_HOME, removes GW_CG (bounded
# retries: killed processes leave it asynchronously) and the pins in GW_BPFFS
gw_cgroup_remove()
{
	echo $$ > "$GW_CG_HOME/cgroup.procs" 2> /dev/null
	i=0
	while [ -d "$GW_CG" ] && ! rmdir "$GW_CG" 2> /dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -d "$GW_CG" ] && echo "warning: could not remove $GW_CG" >&2
	[ -x "$B/gwbpf-dpctl" ] && "$B/gwbpf-dpctl" unload --bpffs "$GW_BPFFS" > /dev/null 2>&1
	rm -rf "$GW_BPFFS"
	GW_CG=""
}

# gw_cert NAME CN [SAN] : a self-signed P-256 certificate for CN, valid two
# days, with subjectAltName DNS:SAN (default CN), in $GW_TMP/NAME.crt and its
# key in $GW_TMP/NAME.key (tls_certs.sh makes CAs and signed leaves)
gw_cert()
{
	gw_require_cmd openssl
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$2" -addext "subjectAltName=DNS:${3:-$2}" \
		-keyout "$GW_TMP/$1.key" -out "$GW_TMP/$1.crt" > /dev/null 2>&1 ||
		gw_fail "openssl req for $1"
}

# gw_start_fakeapi ARGS... : starts tools/fakeapi/fakeapi.py (the mock API
# server) with ARGS on a free port (log in $GW_TMP/fakeapi.log), waits (20 s:
# with --tls-dir it makes a certificate first) for its port file; sets
# GW_FAKE_PORT, API (http://127.0.0.1:PORT) and GW_FAKE_PID.
# Skips without python3-yaml.
gw_start_fakeapi()
{
	gw_require_file "$GW_ROOT/tools/fakeapi/fakeapi.py"
	$GW_PY -c 'import yaml' 2> /dev/null || gw_skip "python3-yaml missing"
	rm -f "$GW_TMP/fakeapi.port"
	$GW_PY "$GW_ROOT/tools/fakeapi/fakeapi.py" --port-file "$GW_TMP/fakeapi.port" "$@" \
		>> "$GW_TMP/fakeapi.log" 2>&1 &
	GW_FAKE_PID=$!
	gw_track $GW_FAKE_PID
	i=0
	while [ ! -s "$GW_TMP/fakeapi.port" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$GW_TMP/fakeapi.port" ] || gw_fail "fakeapi did not start"
	GW_FAKE_PORT=$(cat "$GW_TMP/fakeapi.port")
	API=http://127.0.0.1:$GW_FAKE_PORT
}

# gw_kubeconfig FILE USER : writes a kubeconfig for $API (context namespace
# gwbpf-system) whose user is USER, e.g. "token: T" or "tokenFile: PATH"
gw_kubeconfig()
{
	cat > "$1" << YEOF
apiVersion: v1
kind: Config
current-context: t
contexts: [{name: t, context: {cluster: c, user: u, namespace: gwbpf-system}}]
clusters: [{name: c, cluster: {server: "$API"}}]
users: [{name: u, user: {$2}}]
YEOF
}

# gw_require_kubewatch : skips unless $B/kubewatch (tools/fakeapi/kubewatch.c,
# the kube source test tool, built by make) exists
gw_require_kubewatch()
{
	gw_require_file "$B/kubewatch"
}

# gw_free_port : prints a TCP port that is free on 127.0.0.1 right now
gw_free_port()
{
	$GW_PY -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# gw_wait_port HOST PORT [SECONDS] : waits until a TCP connect succeeds
gw_wait_port()
{
	$GW_PY - "$1" "$2" "${3:-10}" << 'PYEOF'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

# gw_wait_http URL CODE [SECONDS] : waits until GET URL answers CODE
gw_wait_http()
{
	i=0
	n=$(( ${3:-10} * 10 ))
	while [ $i -lt $n ]; do
		c=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" 2> /dev/null)
		[ "$c" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# gw_start_echo ADDR:PORT [NAME] : starts an echo backend (build/gwbpf-echo when
# built, else a python stand-in answering the same JSON shape: path, method,
# headers, namespace, pod, plus body_len and body_sha256 of the request body).
# GW_PY_ECHO=1 forces the stand-in (tests that check bodies). Waits until it
# accepts; its pid is in GW_LAST_PID.
gw_start_echo()
{
	addr=${1%:*}
	port=${1##*:}
	name=${2:-echo-$port}
	if [ -x "$B/gwbpf-echo" ] && [ -z "${GW_PY_ECHO:-}" ]; then
		"$B/gwbpf-echo" --listen "$1" --namespace gateway-conformance-infra --pod "$name" \
			> "$GW_TMP/$name.log" 2>&1 &
	else
		$GW_PY -c "$GW_PY_ECHO_SRC" "$addr" "$port" "$name" > "$GW_TMP/$name.log" 2>&1 &
	fi
	pid=$!
	gw_track $pid
	gw_wait_port "$addr" "$port" 10 || gw_fail "echo backend on $1 did not start"
	GW_LAST_PID=$pid
}

# the python stand-in echo backend (HTTP/1.1 keep-alive, CL and chunked
# request bodies, WebSocket upgrade answered 101 then raw byte echo)
GW_PY_ECHO_SRC='
import base64, hashlib, json, socketserver, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
addr, port, pod = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def body(self):
        h = hashlib.sha256()
        n = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""): pass
                    return n, h.hexdigest()
                left = size
                while left:
                    got = self.rfile.read(min(left, 65536))
                    if not got: return n, h.hexdigest()
                    h.update(got)
                    left -= len(got)
                n += size
                self.rfile.readline()
        left = int(self.headers.get("Content-Length", "0") or 0)
        while left:
            got = self.rfile.read(min(left, 65536))
            if not got: break
            h.update(got)
            n += len(got); left -= len(got)
        return n, h.hexdigest()
    def handle_any(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            key = self.headers.get("Sec-WebSocket-Key", "")
            acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
            self.wfile.flush()
            while True:
                d = self.connection.recv(65536)
                if not d: break
                self.connection.sendall(d)
            self.close_connection = True
            return
        n, digest = self.body()
        hdrs = {}
        for k, v in self.headers.items():
            hdrs.setdefault(k, []).append(v)
        path = self.path
        out = json.dumps({"path": path, "host": self.headers.get("Host", ""), "method": self.command,
                          "proto": self.request_version, "headers": hdrs,
                          "namespace": "gateway-conformance-infra", "pod": pod, "body_len": n, "body_sha256": digest}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any
class S(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
S((addr, port), H).serve_forever()
'

# gw_start ARGS... : starts "gwbpf run ARGS" (log in $GW_TMP/gwbpf.log), waits
# for /readyz on the admin address (GW_ADMIN, default a free 127.0.0.1 port,
# passed as --admin unless ARGS has one). Sets GW_PID.
gw_start()
{
	gw_require_file "$GW_BIN"
	if [ -z "${GW_ADMIN:-}" ]; then
		GW_ADMIN=127.0.0.1:$(gw_free_port)
	fi
	case " $* " in
	*" --admin "*) "$GW_BIN" run "$@" >> "$GW_TMP/gwbpf.log" 2>&1 & ;;
	*) "$GW_BIN" run --admin "$GW_ADMIN" "$@" >> "$GW_TMP/gwbpf.log" 2>&1 & ;;
	esac
	GW_PID=$!
	gw_track $GW_PID
	gw_wait_http "http://$GW_ADMIN/readyz" 200 15 || gw_fail "gwbpf did not become ready"
}

# gw_stop_gwbpf [SIG] : signals gwbpf (default TERM) and waits (10 s) for it;
# its exit status is left in GW_RC (call it directly, not in $(...): only
# this shell can wait for its child)
gw_stop_gwbpf()
{
	kill -"${1:-TERM}" "$GW_PID" 2> /dev/null
	i=0
	while kill -0 "$GW_PID" 2> /dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$GW_PID"
	GW_RC=$?
	gw_untrack "$GW_PID"
}

# gw_config_http FILE GWPORT BACKEND_PORT... : writes a standard config: a
# GatewayClass "gwbpf", Gateway "gw" (namespace default, one HTTP listener
# "http" on GWPORT, address 127.0.0.1), an HTTPRoute "route" (PathPrefix /)
# to Service "echo" port 8080, and one EndpointSlice per backend port with
# endpoint 127.0.0.1. Written to FILE.tmp then renamed (one inotify change).
gw_config_http()
{
	f=$1
	gwport=$2
	shift 2
	{
		gw_yaml_gateway gw "$gwport"
		cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route
  namespace: default
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
    backendRefs:
    - name: echo
      port: 8080
YEOF
		gw_yaml_service echo 8080 "$@"
	} > "$f.tmp"
	mv "$f.tmp" "$f"
}

# gw_yaml_class : the GatewayClass "gwbpf" that gwbpf's controller accepts
gw_yaml_class()
{
	cat << YEOF
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gwbpf
spec:
  controllerName: gwbpf.dev/gateway-controller
YEOF
}

# gw_yaml_gateway NAME PORT... : GatewayClass gwbpf + Gateway NAME (namespace
# default, address 127.0.0.1) with one HTTP listener "http-PORT" per PORT
gw_yaml_gateway()
{
	gname=$1
	shift
	gw_yaml_class
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: $gname
  namespace: default
spec:
  gatewayClassName: gwbpf
  addresses:
  - type: IPAddress
    value: 127.0.0.1
  listeners:
YEOF
	for p in "$@"; do
		cat << YEOF
  - name: http-$p
    protocol: HTTP
    port: $p
    allowedRoutes:
      namespaces:
        from: Same
YEOF
	done
}

# gw_yaml_service [--app-protocol P] [--not-ready] NAME PORT BACKEND_PORT... :
# Service NAME (namespace default) with PORT, plus one EndpointSlice per
# BACKEND_PORT (endpoint 127.0.0.1, ready unless --not-ready); with
# --app-protocol both ports carry appProtocol P (kubernetes.io/h2c: the
# backend speaks HTTP/2 cleartext); each document is preceded by "---"
gw_yaml_service()
{
	sapp=""
	sready=true
	while :; do
		case $1 in
		--app-protocol) sapp=$2; shift 2 ;;
		--not-ready) sready=false; shift ;;
		*) break ;;
		esac
	done
	sname=$1
	sport=$2
	shift 2
	cat << YEOF
---
apiVersion: v1
kind: Service
metadata:
  name: $sname
  namespace: default
spec:
  ports:
  - name: http
    port: $sport
    protocol: TCP
YEOF
	[ -z "$sapp" ] || echo "    appProtocol: $sapp"
	i=0
	for p in "$@"; do
		i=$((i + 1))
		cat << YEOF
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $sname-$i
  namespace: default
  labels:
    kubernetes.io/service-name: $sname
addressType: IPv4
ports:
- name: http
  port: $p
  protocol: TCP
YEOF
		[ -z "$sapp" ] || echo "  appProtocol: $sapp"
		cat << YEOF
endpoints:
- addresses:
  - 127.0.0.1
  conditions:
    ready: $sready
YEOF
	done
}

# gw_raw HOST PORT [WAIT_SECONDS] : sends stdin as raw bytes, half-closes
# only when GW_RAW_SHUTDOWN=1, prints everything received until the peer
# closes or WAIT_SECONDS (default 3) pass without data
gw_raw()
{
	$GW_PY -c '
import socket, sys, time
host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
import os
data = sys.stdin.buffer.read()
s = socket.create_connection((host, port), timeout=5)
s.sendall(data)
if os.environ.get("GW_RAW_SHUTDOWN") == "1":
    s.shutdown(socket.SHUT_WR)
s.settimeout(wait)
out = b""
while True:
    try:
        d = s.recv(65536)
    except (socket.timeout, ConnectionResetError):
        break
    if not d:
        break
    out += d
sys.stdout.buffer.write(out)
' "$1" "$2" "${3:-3}"
}
