#!/usr/bin/python3
"""tests/integration/h2_drain_client.py - an h2c client that watches a
graceful drain, for test_h2_drain.sh.

Usage: h2_drain_client.py PORT PID

Opens a connection (prior knowledge), gets / on stream 1, sends SIGTERM to
PID, and reads frames until the first GOAWAY. Right after it, it opens
stream 3 (a request the client could have sent before that GOAWAY reached
it), then reads until the connection ends. Prints one line:
"goaway LAST1 [goaway LAST2 ...] stream3 STATUS end" where LASTn are the
GOAWAY frames' last-stream-ids in order and STATUS is "200" (stream 3 got a
200 and its end), "refused" (RST_STREAM REFUSED_STREAM) or "none". Every
read is bounded (10 s)."""
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2_hostile import (ACK, END_STREAM, END_HEADERS, GOAWAY, HEADERS, PREFACE,  # noqa: E402
                        RST, SETTINGS, DATA, frame, req_block)


def frames(s, deadline):
    buf = b""
    while time.time() < deadline:
        while len(buf) >= 9:
            n = struct.unpack(">I", b"\x00" + buf[:3])[0]
            if len(buf) < 9 + n:
                break
            t, fl = buf[3], buf[4]
            sid = struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
            yield t, fl, sid, buf[9:9 + n]
            buf = buf[9 + n:]
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            return
        if not d:
            yield None, 0, 0, b""
            return
        buf += d


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0) +
              frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block(b"/")))
    out, s3, sent3 = [], "none", False
    for t, fl, sid, p in frames(s, time.time() + 10):
        if t is None:
            out.append("end")
            break
        if t == SETTINGS and not fl & ACK:
            s.sendall(frame(SETTINGS, ACK, 0))
        elif sid == 1 and t in (DATA, HEADERS) and fl & END_STREAM and not sent3 \
                and not any(o.startswith("goaway") for o in out):
            os.kill(pid, signal.SIGTERM)
        elif t == GOAWAY:
            out.append("goaway %d" % (struct.unpack(">I", p[:4])[0] & 0x7FFFFFFF))
            if not sent3:
                sent3 = True
                s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 3, req_block(b"/")))
        elif sid == 3 and t == HEADERS and p[:1] == b"\x88" and s3 == "none":
            s3 = "200-head"
        elif sid == 3 and t in (DATA, HEADERS) and fl & END_STREAM and s3 == "200-head":
            s3 = "200"
        elif sid == 3 and t == RST:
            s3 = "refused" if struct.unpack(">I", p[:4])[0] == 7 else "rst"
    print(" ".join(out[:-1] if out and out[-1] == "end" else out) +
          " stream3 %s%s" % (s3, " end" if out and out[-1] == "end" else ""))


main()
