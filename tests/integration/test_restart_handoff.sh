#!/bin/sh
# tests/integration/test_restart_handoff.sh - graceful restart with the
# listening sockets handed to the successor (`gwbpf run --handoff PATH`,
# docs/operations.md):
#  - A serves (2 workers, --bpf msg,splice; the bypass on an empty cgroup of
#    the test, so the stream below is spliced, not bypassed) with the
#    handoff socket at mode 0600; wrk runs through it while B (1 worker)
#    takes over, then C (2 workers) takes over from B: wrk must see zero
#    failed requests and zero refused connections (both counted and printed);
#    A and B exit 0, each within its --drain-timeout;
#  - a WebSocket stream and a TCPRoute stream opened through A, spliced by
#    the kernel, are handed to B with the sockets, then by B to C: they echo
#    on (every line checked) after A and B exited, and each client's FIN
#    travels through C to the backend and back (a clean close). Where the
#    splice does not work, they stay in A's userspace relay and end with A's
#    drain;
#  - a successor that never gets ready (dead API server) leaves C serving and
#    takes nothing when it is stopped;
#  - peers that are not a gwbpf daemon: a client sending garbage to C's
#    handoff socket changes nothing (C keeps serving, no handover); a new
#    daemon whose PATH is a stale file, a server speaking another protocol
#    version, or one sending garbage starts on its own and serves;
#  - maps: once the last daemon stopped and the backends are gone, the
#    bypass sockhash and the splice maps are empty, as before the test.
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_require_cmd wrk bpftool
gw_private_bin
gw_cgroup_make handoff

LPORT=$(gw_free_port)
EPORT=$(gw_free_port)
WPORT=$(gw_free_port)
TPORT=$(gw_free_port)
RPORT=$(gw_free_port)
GW_ADMIN=127.0.0.1:$(gw_free_port)
HSOCK=$GW_TMP/handoff.sock
DRAIN=3000
gw_start_echo 127.0.0.1:$EPORT
GW_PY_ECHO=1 gw_start_echo 127.0.0.1:$WPORT ws
gw_require_file "$B/gwbpf-echo"
# a private copy: a rebuild relinking build/gwbpf-echo must not fail the start
cp "$B/gwbpf-echo" "$GW_TMP/echo-bin" || gw_skip "cannot copy $B/gwbpf-echo"
"$GW_TMP/echo-bin" --raw 127.0.0.1:$RPORT --pod raw > "$GW_TMP/echo-raw.log" 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 $RPORT 10 || gw_fail "raw echo backend did not start"
{
	gw_yaml_gateway gw "$LPORT"
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
        value: /ws
    backendRefs:
    - name: ws
      port: 8080
  - matches:
    - path:
        type: PathPrefix
        value: /
    backendRefs:
    - name: echo
      port: 8080
YEOF
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gwt, namespace: default}
spec:
  gatewayClassName: gwbpf
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - {name: tcp, protocol: TCP, port: $TPORT}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: raw, namespace: default}
spec:
  parentRefs: [{name: gwt, sectionName: tcp}]
  rules:
  - backendRefs: [{name: raw, port: 9000}]
YEOF
	gw_yaml_service echo 8080 "$EPORT"
	gw_yaml_service ws 8080 "$WPORT"
	gw_yaml_service raw 9000 "$RPORT"
} > "$GW_TMP/gw.yaml"

ARGS="--config $GW_TMP/gw.yaml --admin $GW_ADMIN --bpf msg,splice --bpffs $GW_BPFFS --cgroup $GW_CG
 --access-log off --drain-timeout $DRAIN --handoff $HSOCK"

# start_gw NAME WORKERS : gwbpf run in the background, log in NAME.log, pid in
# the variable NAME (not waited for)
start_gw()
{
	# shellcheck disable=SC2086
	"$GW_BIN" run $ARGS --workers "$2" > "$GW_TMP/$1.log" 2>&1 &
	eval "$1=\$!"
	gw_track $!
}

# wait_log NAME TEXT SECONDS : NAME.log contains TEXT within SECONDS
wait_log()
{
	i=0
	while ! grep -q "$2" "$GW_TMP/$1.log" 2> /dev/null; do
		[ $i -lt $(($3 * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# wait_exit PID SECONDS : PID ended within SECONDS; its status in RC
wait_exit()
{
	i=0
	while kill -0 "$1" 2> /dev/null && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$1" 2> /dev/null && return 1
	wait "$1"
	RC=$?
	gw_untrack "$1"
}

# fail MSG : the daemons' logs (not the backends'), then gw_fail
fail()
{
	for f in A B C E D-stale D-version D-garbage ws tcp; do
		[ -s "$GW_TMP/$f.log" ] || continue
		echo "--- $f.log" >&2
		tail -n 15 "$GW_TMP/$f.log" >&2
	done
	gw_fail "$@"
}

now() { $GW_PY -c 'import time; print("%.3f" % time.time())'; }

start_gw A 2
wait_log A "handoff: no daemon on" 10 || fail "A did not look for a predecessor"
gw_wait_http "http://$GW_ADMIN/readyz" 200 15 || fail "A did not become ready"
gw_wait_http "http://127.0.0.1:$LPORT/" 200 10 || fail "A does not serve"
wait_log A "a successor can take over" 5 || fail "A has no handoff socket"
MODE=$(stat -c %a "$HSOCK")
gw_log "handoff socket $HSOCK mode $MODE"
[ "$MODE" = 600 ] || gw_fail "handoff socket mode $MODE, want 600"

# stream.py PORT STOPFILE ws|tcp : a WebSocket (after a real 101) or a raw
# TCP stream through the gateway, one line every 50 ms, each echo checked,
# until STOPFILE appears (or 40 s); then the client half-closes and waits
# for the stream's EOF. Prints "lines t_end how t_last_echo".
cat > "$GW_TMP/stream.py" << 'PYEOF'
import os, socket, sys, time
port, stop, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# a generous timeout: a loaded 2-core machine can pause a stream for seconds
s = socket.create_connection(("127.0.0.1", port), timeout=15)
rest = b""
if mode == "ws":
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(4096)
        if not d:
            print(0, "%.3f" % time.time(), "no-101", 0); sys.exit(0)
        head += d
    if b" 101 " not in head.split(b"\r\n")[0]:
        print(0, "%.3f" % time.time(), "no-101", 0); sys.exit(0)
    rest = head.split(b"\r\n\r\n", 1)[1]
ok, how, end, last, t0 = 0, "stopped", time.time() + 40, 0.0, time.time()
while time.time() < end and not os.path.exists(stop):
    line = b"%s line %06d\n" % (mode.encode(), ok)
    try:
        s.sendall(line)
        got = rest
        while len(got) < len(line):
            d = s.recv(len(line) - len(got))
            if not d:
                how = "eof"; break
            got += d
        rest = b""
    except OSError as e:
        how = "error"; break
    if how != "stopped":
        break
    if got != line:
        how = "corrupt"; break
    ok += 1
    last = time.time()
    time.sleep(0.05)
if how == "stopped":
    # our FIN must travel to the backend, and the backend's back to us
    s.shutdown(socket.SHUT_WR)
    try:
        how = "clean" if s.recv(100) == b"" else "extra-bytes"
    except OSError:
        how = "reset"
print(ok, "%.3f" % time.time(), how, "%.3f" % last, "%.3f" % t0)
PYEOF
$GW_PY "$GW_TMP/stream.py" "$TPORT" "$GW_TMP/ws.stop" tcp > "$GW_TMP/tcp.out" 2> "$GW_TMP/tcp.log" &
TCPS=$!
gw_track $TCPS
$GW_PY "$GW_TMP/stream.py" "$LPORT" "$GW_TMP/ws.stop" ws > "$GW_TMP/ws.out" 2> "$GW_TMP/ws.log" &
WS=$!
gw_track $WS
started() { curl -s "http://$GW_ADMIN/metrics" | sed -n 's/^gwbpf_splice_events_total{event="started"} //p'; }
i=0
while [ "$(started)" != "" ] && [ "$(started)" -lt 3 ] && [ $i -lt 30 ]; do
	sleep 0.1
	i=$((i + 1))
done
WS_SPLICED=0
[ "$(started)" != "" ] && [ "$(started)" -ge 3 ] && WS_SPLICED=1
gw_log "splices started in A (the self-check counts one): $(started)"

# load through all the takeovers: 2 threads, 16 keep-alive connections
wrk -t2 -c16 -d9s --timeout 3s "http://127.0.0.1:$LPORT/" > "$GW_TMP/wrk.out" 2>&1 &
WRK=$!
gw_track $WRK
sleep 1.5

start_gw B 1
wait_log B "handoff: took over" 15 || fail "B did not take over"
T_B=$(now)
# two binds (HTTP, TCP), one socket per bind and worker
grep -q "handoff: 4 listening sockets from the daemon" "$GW_TMP/B.log" ||
	fail "B did not receive A's four listening sockets"
wait_log A "handoff: the successor serves; draining" 5 || fail "A was not told"
gw_wait_http "http://$GW_ADMIN/readyz" 200 10 || fail "B's admin is not ready"
wait_exit "$A" $((DRAIN / 1000 + 10)) || fail "A still runs $((DRAIN / 1000 + 10)) s after the handover"
T_A=$(now)
gw_log "A exited $RC, $($GW_PY -c "print('%.1f' % ($T_A - $T_B))") s after B took over"
[ "$RC" = 0 ] || fail "A exited $RC after handing over, want 0"

start_gw C 2
wait_log C "handoff: took over" 15 || fail "C did not take over from B"
# B (1 worker) serves all of A's sockets, and passes them all on
grep -q "handoff: 4 listening sockets from the daemon" "$GW_TMP/C.log" ||
	fail "C did not receive the four sockets B inherited"
wait_exit "$B" $((DRAIN / 1000 + 10)) || fail "B still runs after handing over to C"
T_BX=$(now)
gw_log "B exited $RC ($(grep -c 'handed over and drained' "$GW_TMP/B.log") linger line: drained before its deadline, it waits for it or SIGTERM)"
[ "$RC" = 0 ] || fail "B exited $RC after handing over, want 0"

i=0
while kill -0 $WRK 2> /dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
wait $WRK
gw_untrack $WRK
cat "$GW_TMP/wrk.out" | sed 's/^/# wrk: /'
set -- $($GW_PY - "$GW_TMP/wrk.out" << 'PYEOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"(\d+) requests in", t)
se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
conn, rd, wr, to = (int(x) for x in se.groups()) if se else (0, 0, 0, 0)
print(int(m.group(1)) if m else 0, conn, rd + wr + to + (int(n2.group(1)) if n2 else 0))
PYEOF
)
gw_log "wrk: $1 requests through two takeovers; refused connections: $2; failed requests: $3"
[ "$1" -gt 100 ] || fail "wrk completed only $1 requests"
[ "$2" = 0 ] || fail "$2 connections refused during the takeovers"
[ "$3" = 0 ] || fail "$3 requests failed during the takeovers"

# the streams opened through A (a WebSocket and a TCPRoute stream): spliced,
# they went to B, then to C, and end cleanly through C; relayed in
# userspace, they ended with A's drain
i=0
while kill -0 $WS 2> /dev/null && [ "$WS_SPLICED" = 1 ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
ALIVE=1
kill -0 $WS 2> /dev/null && kill -0 $TCPS 2> /dev/null || ALIVE=0
touch "$GW_TMP/ws.stop"
for p in $WS $TCPS; do
	i=0
	while kill -0 $p 2> /dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	wait $p
	gw_untrack $p
done
[ "$ALIVE" = 1 ] || [ "$WS_SPLICED" = 0 ] || { cat "$GW_TMP/ws.out" "$GW_TMP/tcp.out"; fail "a spliced stream did not outlive A and B"; }
for kind in ws tcp; do
	read -r WS_OK WS_END WS_HOW WS_LAST WS_T0 < "$GW_TMP/$kind.out" || fail "the $kind client printed nothing"
	gw_log "$kind stream: started $WS_T0, last echo $WS_LAST, ended $WS_END; B took over $T_B, A exited $T_A, B exited $T_BX"
	set -- $($GW_PY -c "print('%.2f %.2f %.2f' % ($WS_END - $T_B, $WS_END - $T_A, $WS_LAST - $T_BX))")
	gw_log "$kind stream via A (spliced: $WS_SPLICED): $WS_OK lines echoed, ended ($WS_HOW) $1 s after B took over, $2 s after A exited; last echo $3 s after B exited"
	if [ "$WS_SPLICED" = 1 ]; then
		[ "$WS_HOW" = clean ] || fail "the handed-over $kind stream ended with '$WS_HOW', want a clean close through C"
		$GW_PY -c "import sys; sys.exit(0 if $3 > 0 else 1)" || fail "no echo on the $kind stream after A and B exited"
	else
		[ "$WS_HOW" = eof ] || [ "$WS_HOW" = error ] || fail "the $kind stream ended with '$WS_HOW', want the end of A's drain"
		# A's exit may lag its drain timeout (pins, threads) on a loaded machine
		$GW_PY -c "import sys; sys.exit(0 if $1 > $DRAIN / 1000 - 0.5 and $2 < 0.5 else 1)" ||
			fail "the $kind stream did not end when A's drain timeout ended"
	fi
done
if [ "$WS_SPLICED" = 1 ]; then
	grep -q "handoff: 2 spliced streams handed over" "$GW_TMP/A.log" || fail "A did not hand both streams over"
	grep -q "keeping 2 spliced streams" "$GW_TMP/B.log" || fail "B did not keep both streams"
	grep -q "keeping 2 spliced streams" "$GW_TMP/C.log" || fail "C did not keep both streams from B"
fi

# C serves; a client speaking garbage on its handoff socket changes nothing
gw_wait_http "http://127.0.0.1:$LPORT/" 200 5 || fail "C does not serve"
$GW_PY - "$HSOCK" << 'PYEOF' || gw_fail "could not talk to C's handoff socket"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b"\xff" * 40)
s.settimeout(5)
try:
    s.recv(100)
except OSError:
    pass
PYEOF
wait_log C "malformed or out-of-turn message" 5 || fail "C did not log the bogus peer"
gw_wait_http "http://127.0.0.1:$LPORT/" 200 5 || fail "C stopped serving after a bogus peer"
kill -0 "$C" 2> /dev/null || fail "C died after a bogus peer"
grep -q "successor serves" "$GW_TMP/C.log" && fail "C handed over to a bogus peer"

# a successor that never gets ready (its Kubernetes API server does not
# answer): C keeps serving and hands nothing over; the successor, stopped,
# takes nothing with it
DEADAPI=$(gw_free_port)
API=http://127.0.0.1:$DEADAPI gw_kubeconfig "$GW_TMP/dead.kubeconfig" "token: x"
"$GW_BIN" run --kubeconfig "$GW_TMP/dead.kubeconfig" --admin "$GW_ADMIN" --no-bpf --workers 1 \
	--access-log off --handoff "$HSOCK" > "$GW_TMP/E.log" 2>&1 &
E=$!
gw_track $E
wait_log E "listening sockets from the daemon" 10 || fail "the unready successor did not reach C"
i=0
while [ $i -lt 10 ]; do
	c=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$LPORT/")
	[ "$c" = 200 ] || fail "C answered $c while an unready successor waited"
	sleep 0.1
	i=$((i + 1))
done
grep -q "successor serves" "$GW_TMP/C.log" && fail "C handed over to a successor that was not ready"
kill "$E"
wait_exit "$E" 10 || fail "the unready successor did not stop on SIGTERM"
gw_log "unready successor: exited $RC; C kept serving"
gw_wait_http "http://127.0.0.1:$LPORT/" 200 5 || fail "C stopped serving after the unready successor left"
gw_wait_http "http://$GW_ADMIN/readyz" 200 5 || fail "C's admin is gone"

# a new daemon (own port and admin) next to impostors on its handoff path
LPORT2=$(gw_free_port)
gw_config_http "$GW_TMP/gw2.yaml" "$LPORT2" "$EPORT"
impostor()
{
	rm -f "$GW_TMP/imp.sock"
	$GW_PY - "$GW_TMP/imp.sock" "$1" << 'PYEOF' &
import socket, struct, sys
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
if mode == "stale":
    sys.exit(0)   # a socket file nobody listens on
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
c.recv(100)
if mode == "version":
    c.send(struct.pack("=IHHHHI", 0x4f485747, 99, 2, 0, 1, 0))
else:
    c.send(b"\x00" * 7 + b"garbage" * 9)
c.settimeout(10)
try:
    c.recv(100)
except OSError:
    pass
PYEOF
	IMP=$!
	gw_track $IMP
	i=0
	while [ ! -S "$GW_TMP/imp.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
for mode in stale version garbage; do
	impostor $mode
	[ $mode = stale ] && wait $IMP
	ADM2=127.0.0.1:$(gw_free_port)
	"$GW_BIN" run --config "$GW_TMP/gw2.yaml" --admin "$ADM2" --no-bpf --workers 1 \
		--access-log off --handoff "$GW_TMP/imp.sock" > "$GW_TMP/D-$mode.log" 2>&1 &
	D=$!
	gw_track $D
	gw_wait_http "http://$ADM2/readyz" 200 15 || fail "with a $mode peer the new daemon did not start"
	gw_wait_http "http://127.0.0.1:$LPORT2/" 200 5 || fail "with a $mode peer the new daemon does not serve"
	case $mode in
	stale) grep -q "handoff: no daemon on" "$GW_TMP/D-$mode.log" ;;
	version) grep -q "protocol version 99, we speak 1" "$GW_TMP/D-$mode.log" ;;
	garbage) grep -q "Protocol error; starting without it" "$GW_TMP/D-$mode.log" ;;
	esac || fail "the new daemon did not say why it starts alone ($mode)"
	gw_log "$mode peer: $(grep -m1 'handoff:' "$GW_TMP/D-$mode.log" | sed 's/.*handoff:/handoff:/')"
	kill "$D"
	wait_exit "$D" 10 || gw_fail "the daemon next to a $mode peer did not stop"
	[ "$RC" = 0 ] || fail "the daemon next to a $mode peer exited $RC"
	kill "$IMP" 2> /dev/null
	wait "$IMP" 2> /dev/null
	gw_untrack "$IMP"
done

# the last daemon stops, the backends go: the maps are as before the test
kill "$C"
wait_exit "$C" 10 || fail "C did not stop on SIGTERM"
[ "$RC" = 0 ] || fail "C exited $RC on SIGTERM"
[ -e "$HSOCK" ] && gw_fail "C left its handoff socket file behind"
for p in $GW_PIDS; do kill "$p" 2> /dev/null; done
entries() { bpftool -j map dump pinned "$GW_BPFFS/$1" 2> /dev/null | $GW_PY -c 'import json,sys; d=sys.stdin.read().strip(); print(len(json.loads(d)) if d else 0)'; }
i=0
while [ $(($(entries gw_sock_hash) + $(entries gw_splice_hash) + $(entries gw_splice_peer))) -gt 0 ] &&
	[ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
gw_log "after cleanup: sockhash $(entries gw_sock_hash), splice hash $(entries gw_splice_hash), splice peers $(entries gw_splice_peer)"
[ "$(entries gw_sock_hash)" = 0 ] || gw_fail "sockets left in the bypass sockhash"
[ "$(entries gw_splice_hash)" = 0 ] || gw_fail "sockets left in the splice sockhash"
[ "$(entries gw_splice_peer)" = 0 ] || gw_fail "pair entries left in the splice peer map"
echo "PASS: two takeovers under wrk without a failed request; predecessors exit 0; impostors ignored; maps clean"
