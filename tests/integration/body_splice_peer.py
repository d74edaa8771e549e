#!/usr/bin/python3
"""body_splice_peer.py - both ends of tests/integration/test_bpf_body_splice.sh.

  backend PORT        HTTP/1.1 keep-alive server:
                        /big/N/SEED   200, Content-Length N, gen(N, SEED); the head
                                      and the first 64 KiB leave in one write, the
                                      rest 0.2 s later
                        /small/SEED   200, a short body
                        /fast/N/SEED  as /big, without the pause: the gateway's
                                      receive queue is not empty when it starts
                        /cut/N/SEED   Content-Length N, N // 2 bytes as /big, close
  client PORT CASE    prints one line per response (status, body length, whether
                      the body is gen()'s, sha256 of the whole response head and
                      body): the same through gwbpf with and without the kernel.
                      Exit 1 when a body is not what the backend generated.

gen() is a deterministic pattern whose 64 KiB blocks are numbered, so a body
shifted by any amount, even a whole block, does not match.
"""
import hashlib
import socket
import struct
import sys
import threading
import time

BLOCK = 65536
_blocks = {}


def block(seed, i):
    key = (seed, i)
    b = _blocks.get(key)
    if b is None:
        base = hashlib.sha256(("%s" % seed).encode()).digest() * (BLOCK // 32)
        b = struct.pack("<QQ", i, seed) + base[16:]
        if len(_blocks) < 4096:
            _blocks[key] = b
    return b


def gen_iter(n, seed, start=0):
    """yields the bytes [start, n) of gen(n, seed) in pieces"""
    off = start
    while off < n:
        i, o = divmod(off, BLOCK)
        piece = block(seed, i)[o:o + min(BLOCK - o, n - off)]
        yield piece
        off += len(piece)


def gen_sha(n, seed):
    h = hashlib.sha256()
    for p in gen_iter(n, seed):
        h.update(p)
    return h.hexdigest()


# ---- backend ----

def serve(conn):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            line = head.split(b"\r\n", 1)[0].decode()
            path = line.split(" ")[1]
            parts = path.strip("/").split("/")
            kind = parts[0]
            if kind == "post":
                # a request body: its length and sha256 come back
                cl = 0
                for h in head.split(b"\r\n")[1:]:
                    k, _, v = h.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v)
                h = hashlib.sha256()
                got = 0
                while got < cl:
                    if not buf:
                        buf = conn.recv(1 << 20)
                        if not buf:
                            return
                    p = buf[:cl - got]
                    buf = buf[len(p):]
                    h.update(p)
                    got += len(p)
                body = ("posted %d %s\n" % (got, h.hexdigest())).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                continue
            if kind == "small":
                body = ("small %s\n" % parts[1]).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                continue
            n, seed = int(parts[1]), int(parts[2])
            hdr = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" \
                  b"Content-Length: %d\r\n\r\n" % n
            limit = n // 2 if kind == "cut" else n
            it = gen_iter(limit, seed)
            first = next(it, b"")
            conn.sendall(hdr + first)
            # a pause after the first 64 KiB: the gateway forwards them
            # and finds the upstream socket empty, where the body splice
            # can start (it only starts on an empty receive queue)
            if kind != "fast":
                time.sleep(0.2)
            for p in it:
                conn.sendall(p)
            if kind == "cut":
                conn.shutdown(socket.SHUT_RDWR)
                return
    except OSError:
        pass
    finally:
        conn.close()


def backend(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


# ---- client ----

class Reader:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.eof = False

    def fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            self.eof = True
        self.buf += d
        return bool(d)

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if not self.fill():
                raise SystemExit("EOF before a response head")
        h, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return h + b"\r\n\r\n"

    def body(self, n, upto_eof=False):
        """up to n bytes (all n unless the connection ends); yields pieces"""
        left = n
        while left:
            if not self.buf and (self.eof or not self.fill()):
                if upto_eof:
                    return
                raise SystemExit("EOF with %d body bytes missing" % left)
            p = self.buf[:left]
            self.buf = self.buf[len(p):]
            left -= len(p)
            yield p


def response(r, path, upto_eof=False):
    """reads one response to path; returns its summary line"""
    head = r.head()
    whole = hashlib.sha256(head)
    status = head.split(b" ", 2)[1].decode()
    cl = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v)
    got = hashlib.sha256()
    n = 0
    for p in r.body(cl, upto_eof):
        got.update(p)
        whole.update(p)
        n += len(p)
    parts = path.strip("/").split("/")
    if parts[0] in ("big", "fast", "cut"):
        want_n = int(parts[1]) // 2 if parts[0] == "cut" else int(parts[1])
        ok = n == want_n and got.hexdigest() == gen_sha(want_n, int(parts[2]))
    elif parts[0] == "post":
        want_n, seed = int(parts[1]), int(parts[2])
        body = ("posted %d %s\n" % (want_n, gen_sha(want_n, seed))).encode()
        ok = n == len(body) and got.hexdigest() == hashlib.sha256(body).hexdigest()
    else:
        body = ("small %s\n" % parts[1]).encode()
        ok = n == len(body) and got.hexdigest() == hashlib.sha256(body).hexdigest()
    if not ok:
        print("%s: body of %d bytes is not the backend's" % (path, n))
        sys.exit(1)
    return "%s %s %d ok %s" % (path, status, n, whole.hexdigest()[:16])


def req(path):
    return ("GET %s HTTP/1.1\r\nHost: body.example\r\n\r\n" % path).encode()


def post(sock, path, extra=b"", pause=0.0):
    """sends POST path with gen(N, SEED) as its body, then extra in the same
    write as the body's end (a pipelined request); pause: after 64 KiB"""
    parts = path.strip("/").split("/")
    n, seed = int(parts[1]), int(parts[2])
    sock.sendall(("POST %s HTTP/1.1\r\nHost: body.example\r\nContent-Length: %d\r\n\r\n"
                  % (path, n)).encode())
    sent = 0
    for p in gen_iter(n, seed):
        sent += len(p)
        if sent == n:
            p += extra
        sock.sendall(p)
        if pause and sent == BLOCK:
            time.sleep(pause)


def client(port, case):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    r = Reader(s)
    big = 20 << 20
    out = []
    if case == "seq":
        # keep-alive: big, small, big on one connection
        for path in ("/big/%d/1" % big, "/small/1", "/big/%d/2" % big, "/small/2"):
            s.sendall(req(path))
            out.append(response(r, path))
    elif case == "pipe":
        # everything in one write: the requests behind the big body wait in
        # the gateway's receive queue while the kernel carries the body
        paths = ("/fast/%d/3" % big, "/small/3", "/fast/%d/4" % (big + 12345), "/small/4",
                 "/big/%d/5" % (400 << 10))
        s.sendall(b"".join(req(p) for p in paths))
        for path in paths:
            out.append(response(r, path))
    elif case == "cut":
        # the upstream closes mid-body: what the client sees, then the end
        path = "/cut/%d/6" % big
        s.sendall(req(path))
        out.append(response(r, path, upto_eof=True))
        while not r.eof and r.fill():
            pass
        out.append("then %s" % ("EOF" if r.eof and not r.buf else "%d more bytes" % len(r.buf)))
    elif case == "post":
        # request bodies: POST, GET, POST on one keep-alive connection; the
        # client pauses after 64 KiB of the first (an empty queue at the
        # start), not of the second (bytes unread at the start)
        post(s, "/post/%d/11" % big, pause=0.2)
        out.append(response(r, "/post/%d/11" % big))
        s.sendall(req("/small/11"))
        out.append(response(r, "/small/11"))
        post(s, "/post/%d/12" % (big + 777), pause=0)
        out.append(response(r, "/post/%d/12" % (big + 777)))
    elif case == "postpipe":
        # the next two requests follow the body's last byte in one write
        post(s, "/post/%d/13" % big, extra=req("/small/13") + req("/small/14"), pause=0.2)
        for path in ("/post/%d/13" % big, "/small/13", "/small/14"):
            out.append(response(r, path))
    elif case == "stall":
        # the client reads nothing for a second: the kernel's redirects wait
        # on a full send queue, then everything must still arrive in order
        path = "/big/%d/7" % big
        s.sendall(req(path) + req("/small/7"))
        time.sleep(1.0)
        out.append(response(r, path))
        out.append(response(r, "/small/7"))
    elif case == "abort":
        # the client leaves mid-body; the gateway must go on serving
        s.sendall(req("/big/%d/8" % big))
        r.head()
        for _ in r.body(2 << 20):
            pass
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        r = Reader(s)
        s.sendall(req("/small/8"))
        out.append("abort then " + response(r, "/small/8"))
    elif case == "killed":
        # the gateway is killed mid-body: the client must see the end of
        # the connection (not hang) after some prefix of the body
        path = "/big/%d/9" % (64 << 20)
        s.sendall(req(path))
        r.head()
        time.sleep(1.0)  # the gateway is killed meanwhile (the shell waits for the splice)
        h = hashlib.sha256()
        n = 0
        for p in r.body(64 << 20, upto_eof=True):
            n += len(p)
            h.update(p)
        # a prefix, possibly all of it: bytes the kernel had already queued
        # for the client still arrive after the daemon died; then the end
        ok = h.hexdigest() == hashlib.sha256(b"".join(gen_iter(n, 9))).hexdigest()
        s.settimeout(10)
        try:
            ended = not r.buf and (r.eof or s.recv(1) == b"")
        except OSError:
            ended = False
        out.append("killed: %s" % ("prefix then EOF" if ok and ended else
                                   "WRONG (%d bytes, ended %s)" % (n, ended)))
    else:
        raise SystemExit("unknown case " + case)
    s.close()
    print("\n".join(out))


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), sys.argv[3])
