#!/bin/sh
# test_h2_protections.sh - every HTTP/2 protection, each triggered by a
# hostile client writing raw frames (h2_hostile.py) and survived: the
# abusive connection gets GOAWAY ENHANCE_YOUR_CALM (11) and is closed, the
# abuse is counted in /metrics (gwbpf_h2_abuse_total{reason}), and an honest
# client is served right after. Covered: concurrent streams over the limit,
# header lists over the limit, CONTINUATION flood, rapid reset, SETTINGS
# flood, PING flood (read and unread), the lingering close (a client that
# floods without reading still receives its GOAWAY, then a FIN), and memory
# per connection (clients that open 100 streams each and never read a byte of
# the answers).
# Real clients check the honest side: h2load with 200 streams on one
# connection (it honours our MAX_CONCURRENT_STREAMS) and curl's 431.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd h2load
gw_require_cmd ss
curl --version | grep -q 'nghttp2' || gw_skip "curl without HTTP/2 support"
HOSTILE="$GW_PY $(dirname "$0")/h2_hostile.py"

GWP=$(gw_free_port)
BE=$(gw_free_port)
MUTE=$(gw_free_port)
BIG=$(gw_free_port)
gw_start_echo 127.0.0.1:$BE be1
# a backend that accepts and never answers: streams to it stay open
$GW_PY -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1024)
held = []
end = time.time() + 300
while time.time() < end:
    c, _ = s.accept()
    held.append(c)
' "$MUTE" > /dev/null 2>&1 &
gw_track $!
# a backend answering 1 MB to every request (HTTP/1.1, keep-alive)
$GW_PY -c '
import http.server, socketserver, sys
BODY = b"b" * (1 << 20)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        try:
            self.wfile.write(BODY)
        except OSError:
            pass
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$BIG" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$MUTE" 10 || gw_fail "mute backend did not start"
gw_wait_port 127.0.0.1 "$BIG" 10 || gw_fail "big backend did not start"

{
	gw_yaml_gateway gw "$GWP"
	cat << YEOF
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mute}}]
    backendRefs: [{name: mute, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /big}}]
    backendRefs: [{name: big, port: 8080}]
  - backendRefs: [{name: echo, port: 8080}]
YEOF
	gw_yaml_service echo 8080 "$BE"
	gw_yaml_service mute 8080 "$MUTE"
	gw_yaml_service big 8080 "$BIG"
} > "$GW_TMP/gw.yaml"
gw_start --config "$GW_TMP/gw.yaml" --no-bpf --workers 1 --access-log off
U=http://127.0.0.1:$GWP

abuse()
{
	curl -s "http://$GW_ADMIN/metrics" |
		sed -n "s/^gwbpf_h2_abuse_total{reason=\"$1\"} \([0-9]*\)$/\1/p"
}
honest()
{
	c=$(curl -sS -m 10 --http2-prior-knowledge -o /dev/null -w '%{http_code}' "$U/ok") ||
		gw_fail "honest client after $1: curl failed"
	[ "$c" = 200 ] || gw_fail "honest client after $1: $c"
}

# attack NAME REASON PATH : runs the attack, expects GOAWAY 11, the counter
# of REASON up by one, and an honest client served
attack()
{
	before=$(abuse "$2")
	[ -n "$before" ] || gw_fail "no gwbpf_h2_abuse_total{reason=\"$2\"} in /metrics"
	res=$(timeout 60 $HOSTILE 127.0.0.1 "$GWP" "$1" "$3")
	[ "$res" = "goaway 11" ] || gw_fail "$1: expected GOAWAY ENHANCE_YOUR_CALM, got '$res'"
	after=$(abuse "$2")
	[ "$after" = $((before + 1)) ] || gw_fail "$1: $2 counter $before -> $after"
	honest "$1"
	gw_log "$1: GOAWAY ENHANCE_YOUR_CALM, counted as $2, others still served"
}

honest start
attack streams refused_streams /mute
attack headers header_list /ok
attack continuation continuation /ok
attack reset rapid_reset /ok
attack settings settings_flood /ok
attack ping ping_flood /ok

# a PING flood from a client that reads nothing: the ACKs pile up in its
# socket, the connection is closed and counted all the same
before=$(abuse ping_flood)
b2=$(abuse outbound_flood)
res=$(timeout 60 $HOSTILE 127.0.0.1 "$GWP" ping_noread /ok)
case "$res" in "goaway 11" | closed) ;; *) gw_fail "ping_noread: '$res'" ;; esac
[ $(($(abuse ping_flood) + $(abuse outbound_flood))) -gt $((before + b2)) ] ||
	gw_fail "ping_noread not counted"
honest ping_noread
gw_log "unread PING flood: closed ($res), counted"

# --- lingering close: a client that floods without reading still gets its
# GOAWAY. It asks for 8 x 1 MB with big windows and reads nothing, so the
# answers fill its receive buffer and gwbpf's send buffer; then a rapid reset
# flood and PINGs, still unread, and only then it reads everything. A plain
# close() over that unread input would send RST and destroy the GOAWAY still
# queued behind the answers; gwbpf shuts its write side instead and drains
# until the client closes, so the GOAWAY arrives and the connection ends with
# a FIN. Three rounds (each about a second).
cat > "$GW_TMP/noread.py" << 'PYEOF'
"""a client that floods without reading: 8 GETs of PATH with big windows (the
answers fill its receive buffer and the gateway's send buffer), then a rapid
reset flood and PINGs, none of it reading; only then it reads everything.
Prints "goaway CODE" or "no-goaway", then how the connection ended: "fin",
"reset" or "open". Every loop is bounded."""
import fcntl, select, socket, struct, sys, termios, time
sys.path.insert(0, sys.argv[4])
from h2_hostile import (PREFACE, frame, req_block, HEADERS, RST, SETTINGS, PING, GOAWAY,
                        WINDOW, END_STREAM, END_HEADERS)
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection((host, port), timeout=5)
# INITIAL_WINDOW_SIZE 8 MiB per stream, +64 MiB on the connection
s.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 8 << 20)) +
          frame(WINDOW, 0, 0, struct.pack(">I", 64 << 20)))
sid = 1
for i in range(8):
    s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, sid, req_block(path)))
    sid += 2
def queued():
    return struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD, b"\0\0\0\0"))[0]
# wait (bounded) until the answers stop piling up in our receive buffer
last, end = -1, time.time() + 10
while time.time() < end:
    time.sleep(0.2)
    q = queued()
    if q == last and q > 0:
        break
    last = q
s.setblocking(False)
def send(data):
    try:
        return s.send(data) == len(data)
    except BlockingIOError:
        return False
    except OSError:
        return False
# rapid reset: far over the limit, without reading a byte
for i in range(300):
    if not send(frame(HEADERS, END_HEADERS | END_STREAM, sid, req_block(path)) +
                frame(RST, 0, sid, struct.pack(">I", 8))):
        break
    sid += 2
# and more input the gateway will not read after its GOAWAY
for i in range(20):
    time.sleep(0.01)
    if not send(frame(PING, 0, 0, struct.pack(">Q", i))):
        break
# now read it all: the answers' DATA, the GOAWAY, then the end: "fin" when
# the gateway closed cleanly, "reset" when its close destroyed what we had not
# read yet
buf, off, goaway, end_how = bytearray(), 0, None, "open"
end = time.time() + 20
while time.time() < end:
    r, _, _ = select.select([s], [], [], 1.0)
    if not r:
        continue
    try:
        d = s.recv(1 << 20)
    except ConnectionResetError:
        end_how = "reset"
        break
    except BlockingIOError:
        continue
    if not d:
        end_how = "fin"
        break
    buf += d
    while len(buf) - off >= 9:
        n = int.from_bytes(buf[off:off + 3], "big")
        if len(buf) - off < 9 + n:
            break
        if buf[off + 3] == GOAWAY and n >= 8 and goaway is None:
            goaway = int.from_bytes(buf[off + 13:off + 17], "big")
        off += 9 + n
    if off > (1 << 20):
        del buf[:off]
        off = 0
print(("goaway %d" % goaway if goaway is not None else "no-goaway") + " " + end_how)
PYEOF
i=0
while [ $i -lt 3 ]; do
	before=$(abuse rapid_reset)
	res=$(timeout 60 $GW_PY "$GW_TMP/noread.py" 127.0.0.1 "$GWP" /big "$(dirname "$0")")
	[ "$res" = "goaway 11 fin" ] || gw_fail "unread flood, round $i: expected 'goaway 11 fin', got '$res'"
	[ "$(abuse rapid_reset)" = $((before + 1)) ] || gw_fail "unread flood not counted"
	i=$((i + 1))
done
honest noread
gw_log "flood without reading: GOAWAY ENHANCE_YOUR_CALM received, then FIN (lingering close)"

# --- honest clients at the limits: 200 streams on one connection (h2load
# waits for our MAX_CONCURRENT_STREAMS), a header list over 16 KiB is 431
out=$(h2load -n 200 -c 1 -m 200 "$U/ok" 2>&1)
printf '%s\n' "$out" | grep -q '200 succeeded, 0 failed' || gw_fail "h2load: $out"
c=$(curl -sS -m 10 --http2-prior-knowledge -o /dev/null -w '%{http_code}' \
	-H "x-big: $(head -c 20000 /dev/zero | tr '\0' a)" "$U/ok")
[ "$c" = 431 ] || gw_fail "header list over the limit: $c"
honest limits
gw_log "h2load 200 streams on one connection all served; 20 KB header -> 431"

# --- memory per connection: 5 clients x 100 streams of 1 MB answers, with
# a stream window of 0 and nothing read. gwbpf must not buffer the answers.
rss() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$GW_PID/status"; }
r0=$(rss)
mkfifo "$GW_TMP/hold"
exec 7<> "$GW_TMP/hold"
i=0
while [ $i -lt 5 ]; do
	$HOSTILE 127.0.0.1 "$GWP" stall /big < "$GW_TMP/hold" > "$GW_TMP/stall.$i" 2>&1 &
	gw_track $!
	i=$((i + 1))
done
# wait until every client has sent its streams (bounded)
n=0
while [ "$(cat "$GW_TMP"/stall.* 2> /dev/null | grep -c stalled)" -lt 5 ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
# then until every stream has its upstream connection with an answer in
# flight (bounded): only then is the memory figure meaningful
n=0
while [ "$(ss -Htn state established "( dport = :$BIG )" | wc -l)" -lt 500 ] && [ $n -lt 150 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 150 ] || gw_fail "stalled streams never reached the backend: $(ss -Htn state established "( dport = :$BIG )" | wc -l)"
honest stall
r1=$(rss)
grow=$(((r1 - r0) / 1024))
gw_log "RSS $((r0 / 1024)) MB -> $((r1 / 1024)) MB with 500 stalled 1 MB answers"
[ $grow -lt 48 ] || gw_fail "500 stalled streams grew gwbpf by $grow MB (answers buffered?)"
exec 7>&-
# every stalled client ends (stdin closed) and gwbpf is still well
n=0
while pgrep -f "h2_hostile.py 127.0.0.1 $GWP stall" > /dev/null && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
honest "stalled clients"
exit 0
