#!/bin/sh
# test_bpf_bypass.sh - the sk_msg local bypass moves real data intact, and
# really is the path taken.
#
# Loads the sockops + sk_msg programs (build/gwbpf-dpctl, the same library
# calls gwbpf run makes) on a fresh cgroup v2 child with pins in a private
# bpffs directory, then runs a client and a server inside that cgroup over
# 127.0.0.1 (and ::1 when available): request/response keep-alive, several
# MiB each way, half-close, server close right after a large body, pipelined
# requests and a slow reader. Every byte is checked against a known pattern.
# The redirect counter must account for the bytes (so a silently unused
# bypass fails), the same run outside the cgroup must not touch it, the
# sockhash must be empty afterwards, a restart must adopt the pins, and the
# cgroup2 root must be refused.
set -u
# in a network namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
B=${B:-build}
cd "$(dirname "$0")/../.."
skip() { echo "skip: $*"; exit 249; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (BPF, cgroups)"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || skip "no cgroup2 mount"
[ -x "$B/gwbpf-dpctl" ] || skip "$B/gwbpf-dpctl not built (make)"
command -v bpftool >/dev/null || skip "bpftool missing"

CG=$CG2/gwbpf-test-bypass-$$
PIN=/sys/fs/bpf/gwbpf-test-bypass-$$
PIN_ROOT=/sys/fs/bpf/gwbpf-test-root-$$
TMP=$(mktemp -d)
DPCTL="$B/gwbpf-dpctl"

cleanup() {
	"$DPCTL" unload --bpffs "$PIN" >/dev/null 2>&1
	[ -d "$PIN_ROOT" ] && { "$DPCTL" unload --bpffs "$PIN_ROOT" >/dev/null 2>&1; rmdir "$PIN_ROOT" 2>/dev/null; }
	[ -d "$PIN" ] && rmdir "$PIN" 2>/dev/null
	# the peers run under `timeout`, so nothing of ours is left in the cgroup
	[ -d "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat > "$TMP/peer.py" <<'PYEOF'
# client and server of the bypass test, in one process (both sockets are then
# created in the caller's cgroup). Prints "SENT <bytes>": what the
# application handed to send(), computed here, not read from BPF.
import hashlib, random, socket, struct, sys, threading, time

host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
sent = [0]
lock = threading.Lock()
errors = []

def pattern(n, seed):
    return random.Random(seed).randbytes(n)

def send(s, b):
    s.sendall(b)
    with lock:
        sent[0] += len(b)

def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(1 << 20, n - len(buf)))
        if not b:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += b
    return bytes(buf)

def recv_eof(s, limit=64 << 20):
    buf = bytearray()
    while len(buf) <= limit:
        b = s.recv(1 << 20)
        if not b:
            return bytes(buf)
        buf += b
    raise ValueError("no EOF")

def recv_line(s):
    line = bytearray()
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise EOFError("EOF in line")
        line += b
        if len(line) > 256:
            raise ValueError("line too long")
    return line.decode().split()

def handle(c):
    try:
        c.settimeout(30)
        cmd = recv_line(c)
        if cmd[0] == "echo":          # keep-alive request/response
            while True:
                (n,) = struct.unpack("!I", recv_exact(c, 4))
                if n == 0:
                    break
                send(c, struct.pack("!I", n) + recv_exact(c, n))
            c.close()
        elif cmd[0] == "download":    # server closes right after the body
            n, seed = int(cmd[1]), int(cmd[2])
            body = pattern(n, seed)
            for off in range(0, n, 300000):   # odd write sizes
                send(c, body[off:off + 300000])
            c.close()
        elif cmd[0] == "upload":      # client half-closes, then we answer
            data = recv_eof(c)
            send(c, ("%d %s\n" % (len(data), hashlib.sha256(data).hexdigest())).encode())
            c.close()
        elif cmd[0] == "pipeline":
            for _ in range(int(cmd[1])):
                i, n = map(int, recv_line(c)[1:3])
                send(c, ("%d %d\n" % (i, n)).encode() + pattern(n, i))
            c.close()
    except Exception as e:
        errors.append("server: %r" % e)
        c.close()

def server(ls):
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(c,), daemon=True).start()

ls = socket.socket(fam)
ls.bind((host, 0))
ls.listen(64)
port = ls.getsockname()[1]
threading.Thread(target=server, args=(ls,), daemon=True).start()

def conn(cmd):
    s = socket.create_connection((host, port), timeout=30)
    send(s, (cmd + "\n").encode())
    return s

def check(cond, what):
    if not cond:
        errors.append(what)
        print("FAIL", what)
    else:
        print("ok  ", what)

# 1. keep-alive request/response, small and medium messages
rnd = random.Random(1)
s = conn("echo")
ok = True
for i in range(300):
    n = rnd.choice([1, 7, 64, 100, 1500, 4096, 65536, 200000])
    msg = pattern(n, i)
    send(s, struct.pack("!I", n) + msg)
    (m,) = struct.unpack("!I", recv_exact(s, 4))
    ok = ok and m == n and recv_exact(s, m) == msg
send(s, struct.pack("!I", 0))
check(ok and recv_eof(s) == b"", "keep-alive echo, 300 messages intact, then EOF")
s.close()

# 2. several MiB, server closes right after the body
for n, seed in ((64, 11), (4 << 20, 12), (16 << 20, 13)):
    s = conn("download %d %d" % (n, seed))
    got = recv_eof(s)
    check(got == pattern(n, seed), "download %d bytes intact, then EOF" % n)
    s.close()

# 3. upload several MiB, client half-close, answer after EOF
n = 8 << 20
body = pattern(n, 21)
s = conn("upload")
send(s, body)
s.shutdown(socket.SHUT_WR)
ans = recv_eof(s).decode()
check(ans == "%d %s\n" % (n, hashlib.sha256(body).hexdigest()), "half-close upload %d bytes intact" % n)
s.close()

# 4. pipelined requests in one write, answered in order
reqs = [(i, [10, 70000, 1, 3000000, 512][i % 5]) for i in range(10)]
s = conn("pipeline %d" % len(reqs))
send(s, b"".join(b"GET %d %d\n" % r for r in reqs))
ok = True
for i, n in reqs:
    hdr = recv_line(s)
    ok = ok and hdr == [str(i), str(n)] and recv_exact(s, n) == pattern(n, i)
check(ok and recv_eof(s) == b"", "10 pipelined requests answered in order, intact")
s.close()

# 5. slow reader: the server's writes fill the receive side first
s = conn("download %d %d" % (12 << 20, 31))
time.sleep(0.3)
got = recv_eof(s)
check(got == pattern(12 << 20, 31), "slow reader gets 12 MiB intact")
s.close()

# 6. several connections at once
res = []
def one(k):
    try:
        c = conn("download %d %d" % (1 << 20, 100 + k))
        res.append(recv_eof(c) == pattern(1 << 20, 100 + k))
        c.close()
    except Exception as e:
        res.append(False)
        errors.append("client %d: %r" % (k, e))
ts = [threading.Thread(target=one, args=(k,)) for k in range(8)]
[t.start() for t in ts]
[t.join(60) for t in ts]
check(res == [True] * 8, "8 concurrent 1 MiB downloads intact")

ls.close()
time.sleep(0.1)   # let the server threads finish their close()
print("SENT", sent[0])
print("CONNS", 1 + 3 + 1 + 1 + 1 + 8)
if errors:
    print("errors:", errors)
    sys.exit(1)
PYEOF

stat_of() { # reason name -> "count bytes"
	"$DPCTL" stats --bpffs "$PIN" | awk -v r="$1" '$1 == "reason" && $2 == r { print $3, $4 }'
}
field() { "$DPCTL" stats --bpffs "$PIN" | awk -v k="$1" '$1 == k { print $2 }'; }

# run_peer HOST in|out : runs the peers inside or outside the test cgroup
run_peer() {
	if [ "$2" = in ]; then
		timeout 180 sh -c 'echo $$ > "$1/cgroup.procs" && exec /usr/bin/python3 "$2" "$3"' \
			sh "$CG" "$TMP/peer.py" "$1" > "$TMP/peer.out" 2>&1
	else
		timeout 180 /usr/bin/python3 "$TMP/peer.py" "$1" > "$TMP/peer.out" 2>&1
	fi
	rc=$?
	cat "$TMP/peer.out"
	return $rc
}

mkdir "$CG" || fail "cannot create $CG"

echo "== refuse the cgroup2 root"
if "$DPCTL" load --bpffs "$PIN_ROOT" --cgroup "$CG2" 2> "$TMP/root.err"; then
	fail "attaching to the cgroup2 root $CG2 was accepted"
fi
grep -q "cgroup2 root" "$TMP/root.err" || fail "no explanation: $(cat "$TMP/root.err")"
bpftool cgroup show "$CG2" | grep -q gw_sockops && fail "gw_sockops attached to $CG2"

echo "== load"
"$DPCTL" load --bpffs "$PIN" --cgroup "$CG" || fail "load"
[ "$(field sockops_attached)" = 1 ] || fail "sockops link not pinned"
[ "$(field skmsg_attached)" = 1 ] || fail "sk_msg program not pinned"
[ "$(bpftool cgroup show "$CG" | grep -c gw_sockops)" = 1 ] || fail "gw_sockops not on $CG"

echo "== traffic outside the cgroup: must not be accelerated"
set -- $(stat_of msg_redirect); r0=$1
run_peer 127.0.0.1 out || fail "peer outside the cgroup"
set -- $(stat_of msg_redirect)
[ "$1" = "$r0" ] || fail "redirects from a process outside the cgroup ($r0 -> $1)"

check_run() { # host: run inside, check counters account for the bytes
	set -- "$1" $(stat_of msg_redirect) $(stat_of msg_pass_miss) $(stat_of sock_insert)
	host=$1 rc0=$2 rb0=$3 mc0=$4 mb0=$5 ic0=$6
	run_peer "$host" in || fail "data check over $host"
	sent=$(awk '$1 == "SENT" { print $2 }' "$TMP/peer.out")
	conns=$(awk '$1 == "CONNS" { print $2 }' "$TMP/peer.out")
	set -- $(stat_of msg_redirect) $(stat_of msg_pass_miss) $(stat_of sock_insert)
	rc=$(($1 - rc0)) rb=$(($2 - rb0)) mb=$(($4 - mb0)) ic=$(($5 - ic0))
	echo "$host: app sent $sent bytes on $conns connections; redirected $rb bytes in $rc" \
		"messages, $mb bytes missed; $ic sockets inserted"
	# every socket of every connection (both ends) went into the map
	[ "$ic" -ge $((2 * conns)) ] || fail "$ic sockets inserted, expected >= $((2 * conns))"
	# every sendmsg passed through sk_msg, and (all but a handshake race) were redirected
	[ $((rb + mb)) -ge "$sent" ] || fail "sk_msg saw $((rb + mb)) of $sent bytes"
	[ "$rb" -ge $((sent - sent / 100)) ] || fail "only $rb of $sent bytes redirected"
	# sockets leave the map when they close
	n=0
	while [ "$(field socks)" != 0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	[ "$(field socks)" = 0 ] || fail "$(field socks) sockets left in the sockhash"
}

echo "== traffic inside the cgroup, IPv4"
check_run 127.0.0.1
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	echo "== traffic inside the cgroup, IPv6"
	check_run ::1
else
	echo "(no ::1 here: IPv6 part not run)"
fi

echo "== restart adopts the pins"
set -- $(stat_of sock_insert); before=$1
"$DPCTL" load --bpffs "$PIN" --cgroup "$CG" 2> "$TMP/adopt.err" || fail "second load"
grep -q "adopted maps" "$TMP/adopt.err" || fail "maps not adopted: $(cat "$TMP/adopt.err")"
grep -q "adopted sockops link" "$TMP/adopt.err" || fail "link not adopted"
[ "$(bpftool cgroup show "$CG" | grep -c gw_sockops)" = 1 ] || fail "sockops attached twice"
set -- $(stat_of sock_insert)
[ "$1" = "$before" ] || fail "counters reset by the restart ($before -> $1)"
check_run 127.0.0.1

echo "== unload"
"$DPCTL" unload --bpffs "$PIN" || fail "unload"
[ -e "$PIN" ] && fail "$PIN still there: $(ls "$PIN")"
bpftool cgroup show "$CG" | grep -q gw_sockops && fail "gw_sockops still attached"
echo "PASS"
