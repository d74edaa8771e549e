#!/bin/sh
# test_proxy_syscalls.sh - what a keep-alive request costs the gateway in
# system calls, counted by strace on a running gwbpf: 200 requests in a row on
# one client connection, forwarded on one pooled upstream connection. Each
# may cost a read and a write on each side (4) and no epoll_ctl(): the pooled
# connection stays in epoll while it changes hands (docs/proxy.md, upstream
# pool). The gateway made 5 epoll_ctl() per request before that; a change that
# brings back per-request epoll_ctl() or an extra read per request fails here.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd strace

N=200
GWP=$(gw_free_port)
BE=$(gw_free_port)
gw_start_echo "127.0.0.1:$BE"
# the config alone in its directory: the file watcher reads an inotify event
# for every write next to it (the echo backend's log is written per request)
mkdir "$GW_TMP/cfg"
gw_config_http "$GW_TMP/cfg/gw.yaml" "$GWP" "$BE"
gw_start --config "$GW_TMP/cfg/gw.yaml" --no-bpf --workers 1 --access-log off
gw_wait_http "http://127.0.0.1:$GWP/" 200 10 || gw_fail_logs "route not served"

# the client: one warm-up request (connects both sides), then waits for "go",
# then N requests, each read to its last byte before the next is sent
CLIENT='
import os, socket, sys, time
port, n, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
buf = b""
def one():
    global buf
    s.sendall(b"GET /syscalls HTTP/1.1\r\nHost: example.com\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c:
            sys.exit("closed in a head")
        buf += c
    head, _, buf = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("status: %r" % head[:40])
    cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    if not cl:
        sys.exit("no content-length")
    want = int(cl[0].split(b":")[1])
    while len(buf) < want:
        c = s.recv(65536)
        if not c:
            sys.exit("closed in a body")
        buf += c
    buf = buf[want:]
one()
open(d + "/ready", "w").close()
end = time.time() + 30
while not os.path.exists(d + "/go"):
    if time.time() > end:
        sys.exit("no go")
    time.sleep(0.05)
for i in range(n):
    one()
open(d + "/done", "w").close()
time.sleep(5)  # keep the connection open while strace detaches
'
$GW_PY -c "$CLIENT" "$GWP" "$N" "$GW_TMP" > "$GW_TMP/client.log" 2>&1 &
CPID=$!
gw_track $CPID
i=0
while [ ! -e "$GW_TMP/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$GW_TMP/ready" ] || gw_fail "client: $(cat "$GW_TMP/client.log")"

strace -f -c -p "$GW_PID" -o "$GW_TMP/strace.out" \
	-e trace=epoll_ctl,read,recvfrom,recvmsg,readv,write,sendto,sendmsg,writev \
	2> "$GW_TMP/strace.err" &
SPID=$!
gw_track $SPID
# attached when the kernel reports a tracer on gwbpf's main thread
i=0
while [ $i -lt 100 ]; do
	tp=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$GW_PID/status" 2> /dev/null)
	[ -n "$tp" ] && [ "$tp" != 0 ] && break
	kill -0 $SPID 2> /dev/null || gw_skip "strace cannot attach: $(cat "$GW_TMP/strace.err")"
	sleep 0.1
	i=$((i + 1))
done
[ -n "$tp" ] && [ "$tp" != 0 ] || gw_skip "strace did not attach within 10 s"
sleep 0.5 # -f: the other threads are attached right after the main one
touch "$GW_TMP/go"
i=0
while [ ! -e "$GW_TMP/done" ] && [ $i -lt 600 ]; do
	kill -0 $CPID 2> /dev/null || break
	sleep 0.1
	i=$((i + 1))
done
[ -e "$GW_TMP/done" ] || gw_fail "client did not finish: $(cat "$GW_TMP/client.log")"
kill -INT $SPID
i=0
while kill -0 $SPID 2> /dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait $SPID 2> /dev/null
gw_untrack $SPID

# strace -c: "% time seconds usecs/call calls [errors] syscall"
calls() { awk -v s="$1" '$NF == s { print $4; f = 1 } END { if (!f) print 0 }' "$GW_TMP/strace.out"; }
EPC=$(calls epoll_ctl)
IO=0
for sc in read recvfrom recvmsg readv write sendto sendmsg writev; do
	IO=$((IO + $(calls "$sc")))
done
[ "$IO" -gt 0 ] || gw_fail "strace counted nothing: $(cat "$GW_TMP/strace.out" "$GW_TMP/strace.err")"
gw_log "$N keep-alive requests: $EPC epoll_ctl, $IO reads and writes (both sides)"
# a little slack for the other threads (config watcher, admin)
[ "$EPC" -le 10 ] || gw_fail "epoll_ctl per request is back: $EPC for $N requests: $(cat "$GW_TMP/strace.out")"
[ "$IO" -le $((4 * N + 20)) ] || gw_fail "more than 4 reads and writes per request: $IO for $N: $(cat "$GW_TMP/strace.out")"
[ "$IO" -ge $((4 * N)) ] || gw_fail "fewer than 4 reads and writes per request ($IO): not forwarded?"
echo "PASS: $N keep-alive requests forwarded with $EPC epoll_ctl and $IO reads/writes"
