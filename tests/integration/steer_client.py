#!/usr/bin/python3
"""steer_client.py - the client side of test_bpf_steer.sh.

  steer_client.py script PORT OUT   run every scenario, write the raw
                                    responses (JSON list of latin-1 strings)
  steer_client.py churn PORT N      N connections: request, response, close
  steer_client.py rst PORT          reset the connection mid-response
  steer_client.py cut PORT          the backend resets mid-response

Responses are read by their framing (Content-Length, chunked, HEAD), so a
scenario never waits on a timer; every read has a 5 s deadline.
"""
import json
import socket
import struct
import sys
import time


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _take(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        i = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def response(self, head_req=False):
        """one whole response, raw"""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        i = self.buf.index(b"\r\n\r\n") + 4
        head, self.buf = self.buf[:i], self.buf[i:]
        h = head.decode("latin-1").lower()
        if head_req or " 204 " in h.split("\r\n")[0] or " 304 " in h.split("\r\n")[0]:
            return head
        if "transfer-encoding: chunked" in h:
            out = head
            while True:
                ln = self._line()
                out += ln
                n = int(ln.split(b";")[0], 16)
                if n == 0:
                    while True:
                        t = self._line()
                        out += t
                        if t == b"\r\n":
                            return out
                out += self._take(n + 2)
        for ln in h.split("\r\n"):
            if ln.startswith("content-length:"):
                return head + self._take(int(ln.split(":")[1]))
        # close-delimited
        try:
            while True:
                self._more()
        except EOFError:
            pass
        out, self.buf = head + self.buf, b""
        return out

    def close(self):
        self.s.close()


def req(method, path, host, extra=""):
    return ("%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (method, path, host, extra)).encode()


# (method, path, host, extra headers): every steerable feature and its fallbacks
FEATURES = [
    ("GET", "/a", "exact.test", ""),             # prefix /a -> A (kernel)
    ("GET", "/a/b/c", "exact.test", ""),         # prefix by element -> A
    ("GET", "/ab", "exact.test", ""),            # not /a by element -> catch-all B
    ("GET", "/exact", "exact.test", ""),         # exact -> B (kernel)
    ("GET", "/exact/x", "exact.test", ""),       # exact miss -> catch-all
    ("HEAD", "/a", "exact.test", ""),            # HEAD: no body
    ("GET", "/a", "EXACT.test:80", ""),          # host case and port
    ("GET", "/w", "x.wild.test", ""),            # wildcard host -> B
    ("GET", "/w", "deep.x.wild.test", ""),       # wildcard, deeper
    ("GET", "/m", "exact.test", ""),             # method match (GET) -> proxy
    ("POST", "/m", "exact.test", "Content-Length: 0\r\n"),  # body framing -> proxy
    ("GET", "/h", "exact.test", "X-H: 1\r\n"),   # header match -> proxy
    ("GET", "/h", "exact.test", ""),             # header miss -> catch-all
    ("GET", "/f", "exact.test", ""),             # filter -> proxy
    ("GET", "/q?x=1", "exact.test", ""),         # query on a kernel route
    ("GET", "/a%2F", "exact.test", ""),          # percent-encoding -> proxy
    ("GET", "/nothing", "unknown.test", ""),     # no host -> 404 by the proxy
    ("GET", "/a/split", "exact.test", ""),       # head and body in two writes
    ("GET", "/a/big", "exact.test", ""),         # large body in many writes
    ("GET", "/a?x=1", "exact.test", ""),         # query on a kernel route
]


def scenario_each(port, out):
    for m, p, h, x in FEATURES:
        c = Conn(port)
        c.send(req(m, p, h, x))
        out.append(c.response(m == "HEAD"))
        c.close()


def scenario_keepalive(port, out):
    """one connection, kernel and proxy requests mixed, twice over"""
    c = Conn(port)
    for _ in range(2):
        for m, p, h, x in FEATURES:
            c.send(req(m, p, h, x))
            out.append(c.response(m == "HEAD"))
    c.close()


def scenario_pipelined(port, out):
    """several requests in one write, changing host and path, and requests
    written back to back while a (slow) response is in flight"""
    c = Conn(port)
    seq = [("GET", "/a", "exact.test", ""), ("GET", "/w", "x.wild.test", ""),
           ("GET", "/h", "exact.test", "X-H: 1\r\n"), ("GET", "/exact", "exact.test", "")]
    c.send(b"".join(req(*r) for r in seq))
    for r in seq:
        out.append(c.response())
    seq = [("GET", "/a/slow1", "exact.test", ""), ("GET", "/h", "exact.test", "X-H: 1\r\n"),
           ("GET", "/a", "exact.test", ""), ("GET", "/slow2", "x.wild.test", ""),
           ("GET", "/exact", "exact.test", "")]
    for r in seq:
        c.send(req(*r))
    for r in seq:
        out.append(c.response())
    c.close()


def scenario_split(port, out):
    """a request head split in two writes at every byte offset, on one
    keep-alive connection and on fresh ones"""
    r = req("GET", "/a/split", "exact.test", "Accept: */*\r\n")
    c = Conn(port)
    for i in range(1, len(r)):
        c.send(r[:i])
        time.sleep(0.001)  # two writes, not one (not a timing assertion)
        c.send(r[i:])
        out.append(c.response())
        c.send(req("GET", "/exact", "exact.test"))
        out.append(c.response())
    c.close()
    for i in range(1, len(r), 7):
        c = Conn(port)
        c.send(r[:i])
        time.sleep(0.001)
        c.send(r[i:])
        out.append(c.response())
        c.close()


def scenario_halfclose(port, out):
    """client FIN right after its request: the whole response, then EOF"""
    for path in ("/a", "/a/big", "/a/slow3", "/h"):
        c = Conn(port)
        c.send(req("GET", path, "exact.test", "X-H: 1\r\n" if path == "/h" else ""))
        c.s.shutdown(socket.SHUT_WR)
        out.append(c.response())
        try:
            c._more()
            out.append(b"bytes after the response")
        except EOFError:
            out.append(b"EOF")
        c.close()


def scenario_chunked(port, out):
    """a kernel route whose backend answers chunked (the kernel cannot frame
    it): that response is whole; the connection may be closed after it (then
    the next request goes on a new one); later requests to that cluster are
    the proxy's. Last, as it changes what the kernel does."""
    c = Conn(port)
    c.send(req("GET", "/a/chunked", "exact.test"))
    out.append(c.response())
    try:
        c.send(req("GET", "/a/after", "exact.test"))
        out.append(c.response())
    except (EOFError, OSError):
        c.close()
        c = Conn(port)
        c.send(req("GET", "/a/after", "exact.test"))
        out.append(c.response())
    c.close()
    c = Conn(port)
    for p in ("/a/chunked2", "/a/x", "/exact"):
        c.send(req("GET", p, "exact.test"))
        out.append(c.response())
    c.close()


def cmd_script(port, path):
    out = []
    for f in (scenario_each, scenario_keepalive, scenario_pipelined, scenario_split,
              scenario_halfclose, scenario_chunked):
        f(port, out)
    with open(path, "w") as fh:
        json.dump([b.decode("latin-1") for b in out], fh)


def cmd_churn(port, n):
    want = None
    for i in range(n):
        c = Conn(port)
        c.send(req("GET", "/churn", "x.wild.test"))
        r = c.response()
        if want is None:
            want = r
        if r != want:
            raise SystemExit("churn: response %d differs" % i)
        if i % 2:
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


def cmd_rst(port):
    c = Conn(port)
    c.send(req("GET", "/big", "x.wild.test"))
    while len(c.buf) < 1000:
        c._more()
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def cmd_cut(port):
    """a response the backend resets mid-body: the bytes sent, then the end
    of the connection (EOF or reset), within the deadline"""
    c = Conn(port)
    c.s.settimeout(5)
    c.send(req("GET", "/rst", "x.wild.test"))
    try:
        while True:
            c._more()
    except (EOFError, ConnectionResetError):
        pass
    want = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"r" * 10
    if c.buf != want:
        raise SystemExit("cut response: %r" % c.buf[:200])


if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "script":
        cmd_script(port, sys.argv[3])
    elif cmd == "churn":
        cmd_churn(port, int(sys.argv[3]))
    elif cmd == "rst":
        cmd_rst(port)
    elif cmd == "cut":
        cmd_cut(port)
    else:
        raise SystemExit("unknown command " + cmd)
