#!/usr/bin/python3
"""splice_peer.py - raw upgrade backend and client checks for the splice tests.

backend PORT          : accepts "GET /<mode>/<n> ... Upgrade", answers 101 and
                        then, by mode: echo (echo until EOF, then FIN),
                        sink (read to EOF, answer the sha256 hex, FIN),
                        source/N (N pattern bytes, FIN), rst/N (N bytes, RST),
                        hold (read and discard until EOF or reset).
                        The 101 and the first bytes go out in one write, so
                        bytes wait in the gateway before any splice exists.
client PORT CASE ...  : runs one check against a gateway on PORT, prints a
                        line that must equal the --no-bpf run's line.
"""
import base64, hashlib, os, select, socket, struct, sys, threading, time

PERIOD = 1048573  # prime: a reordered segment cannot line up with the pattern
_block = hashlib.sha256(b"gwbpf").digest() * (PERIOD // 32 + 2)
BLOCK = bytes((b + i) & 0xFF for i, b in enumerate(_block[:PERIOD]))


def pattern(off, n):
    out = bytearray()
    while n:
        o = off % PERIOD
        k = min(n, PERIOD - o)
        out += BLOCK[o:o + k]
        off += k
        n -= k
    return bytes(out)


def pattern_digest(n):
    h = hashlib.sha256()
    off = 0
    while off < n:
        k = min(1 << 20, n - off)
        h.update(pattern(off, k))
        off += k
    return h.hexdigest()


def serve(conn):
    conn.settimeout(60)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    path = head.split(b" ")[1].decode()
    parts = path.strip("/").split("/")
    mode, n = parts[0], int(parts[1]) if len(parts) > 1 else 0
    key = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    if mode == "echo":
        conn.sendall(resp + b"hello>")
        if rest:
            conn.sendall(rest)
        while True:
            d = conn.recv(1 << 20)
            if not d:
                break
            conn.sendall(d)
        conn.shutdown(socket.SHUT_WR)
    elif mode == "sink":
        conn.sendall(resp)
        h = hashlib.sha256(rest)
        total = len(rest)
        while True:
            d = conn.recv(1 << 20)
            if not d:
                break
            h.update(d)
            total += len(d)
        conn.sendall(("%d %s\n" % (total, h.hexdigest())).encode())
        conn.shutdown(socket.SHUT_WR)
    elif mode in ("source", "rst"):
        first = pattern(0, min(n, 1000))
        conn.sendall(resp + first)
        off = len(first)
        while off < n:
            k = min(1 << 20, n - off)
            conn.sendall(pattern(off, k))
            off += k
        if mode == "rst":
            time.sleep(0.2)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        conn.shutdown(socket.SHUT_WR)
    elif mode == "flood":  # benchmarks: n bytes of one repeated block, then FIN
        conn.sendall(resp)
        blk = BLOCK[:1 << 20]
        off = 0
        while off < n:
            k = min(len(blk), n - off)
            conn.sendall(blk[:k] if k < len(blk) else blk)
            off += k
        conn.shutdown(socket.SHUT_WR)
    elif mode == "hold":
        conn.sendall(resp)
        try:
            while conn.recv(1 << 20):
                pass
        except OSError:
            pass
    # wait for the gateway to close its side before we close ours
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
    conn.close()


def backend(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1024)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=lambda c=c: (serve(c), c.close()), daemon=True).start()


def upgrade(port, path, extra=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: ws.example\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n" + extra)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        assert d, "closed before the 101"
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head[:40]
    return s, rest


def read_all(s, rest=b"", stall=0.0, limit=1 << 31):
    h = hashlib.sha256(rest)
    total = len(rest)
    if stall:
        time.sleep(stall)  # a stalled reader: every buffer on the way fills up
    while True:
        d = s.recv(1 << 20)
        if not d:
            return total, h.hexdigest()
        h.update(d)
        total += len(d)
        assert total <= limit, "more bytes than sent"


def case_echo(port, size, fin_early=False):
    s, rest = upgrade(port, "/echo", b"early>")
    data = os.urandom(size)
    got = bytearray(rest)
    off = 0
    s.setblocking(False)
    deadline = time.time() + 60
    while off < len(data) and time.time() < deadline:
        _, w, _ = select.select([s], [s], [], 1)
        if w:
            try:
                off += s.send(data[off:off + 262144])
            except BlockingIOError:
                pass
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                got += d
        except BlockingIOError:
            pass
    s.setblocking(True)
    want = b"hello>early>" + data
    while len(got) < len(want) and not fin_early:  # everything echoed before our FIN
        d = s.recv(1 << 20)
        if not d:
            break
        got += d
    s.shutdown(socket.SHUT_WR)  # the backend answers our FIN with its own
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        got += d
    assert bytes(got) == want, "echo differs: got %d bytes, want %d" % (len(got), len(want))
    return "echo %d ok" % size


def case_sink_digest(port, size):
    s, rest = upgrade(port, "/sink")
    off = 0
    while off < size:
        k = min(1 << 20, size - off)
        s.sendall(pattern(off, k))
        off += k
    s.shutdown(socket.SHUT_WR)
    buf = rest
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    want = "%d %s\n" % (size, pattern_digest(size))
    assert buf.decode() == want, "backend got %r, want %r" % (buf, want)
    return "sink %d ok" % size


def case_source(port, size, stall):
    s, rest = upgrade(port, "/source/%d" % size)
    total, dig = read_all(s, rest, stall=stall)
    assert total == size, "got %d bytes, want %d" % (total, size)  # before the slow digest
    want = pattern_digest(size)
    assert dig == want, "got %d bytes %s, want %d %s" % (total, dig, size, want)
    return "source %d ok" % size


def case_rst(port, size):
    s, rest = upgrade(port, "/rst/%d" % size)
    total = len(rest)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            total += len(d)
    except ConnectionResetError:
        pass
    assert total <= size, "more bytes than sent"
    return "rst ended"


def case_client_rst(port):
    s, _ = upgrade(port, "/hold")
    s.sendall(os.urandom(300000))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return "client rst sent"


def case_stream(port, n):
    """benchmarks: read n flood bytes as fast as possible; prints seconds"""
    s, rest = upgrade(port, "/flood/%d" % n)
    total = len(rest)
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    t0 = time.time()
    while True:
        k = s.recv_into(mv)
        if not k:
            break
        total += k
    dt = time.time() - t0
    assert total == n, "stream: %d of %d bytes" % (total, n)
    return "%d %.4f" % (total, dt)


def case_many(port, n, par):
    """n upgrades, par at a time, each exchanging a few bytes"""
    done = [0]
    errs = []

    def worker(k):
        try:
            for i in range(k):
                s, rest = upgrade(port, "/echo")
                s.sendall(b"x" * 10)
                got = rest
                while len(got) < 16:
                    d = s.recv(100)
                    assert d, "EOF after %r" % got
                    got += d
                assert got == b"hello>xxxxxxxxxx", got
                s.shutdown(socket.SHUT_WR)
                while s.recv(100):
                    pass
                s.close()
                done[0] += 1
        except Exception as e:
            errs.append(repr(e))

    ts = [threading.Thread(target=worker, args=(n // par,)) for _ in range(par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errs, errs[:3]
    return "many %d ok" % done[0]


def main():
    if sys.argv[1] == "backend":
        backend(int(sys.argv[2]))
        return
    port, case = int(sys.argv[2]), sys.argv[3]
    args = [int(a) if a.isdigit() else a for a in sys.argv[4:]]
    fn = {"echo": case_echo, "echo_fin": lambda p, n: case_echo(p, n, True), "sink": case_sink_digest, "rst": case_rst,
          "client_rst": case_client_rst, "many": case_many, "stream": case_stream,
          "source": lambda p, n, stall=0: case_source(p, n, float(stall))}[case]
    print(fn(port, *args))


if __name__ == "__main__":
    main()
