#!/usr/bin/python3
"""faults_client.py - HTTP checks for test_bpf_faults.sh; each prints lines
that must be equal through the kernel path and through --no-bpf.

pipeline PORT      : one connection, pipelined requests whose Host and path
                     change from one to the next (two routes, two backends)
split PORT         : one request head, sent in two writes split at every
                     byte offset (one connection per offset)
churn PORT N PAR   : N connections, one request each (Connection: close)
"""
import json, socket, sys, threading, time

REQS = [("a.example", "/one"), ("a.example", "/two/x"), ("b.example", "/one"),
        ("a.example", "/one?q=1"), ("b.example", "/two"), ("a.example", "/two")]


def head(host, path, close=False):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: faults\r\n%s\r\n" %
            (path, host, "Connection: close\r\n" if close else "")).encode()


def read_response(f):
    line = f.readline()
    assert line, "connection closed before a response"
    status = int(line.split()[1])
    n = 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, v = h.split(b":", 1)
        if k.strip().lower() == b"content-length":
            n = int(v)
    body = f.read(n)
    return status, body


def describe(status, body):
    try:
        j = json.loads(body)
        return "%d %s %s %s" % (status, j.get("pod"), j.get("host"), j.get("path"))
    except ValueError:
        return "%d %r" % (status, body[:40])


def pipeline(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"".join(head(h, p) for h, p in REQS))
    f = s.makefile("rb")
    out = [describe(*read_response(f)) for _ in REQS]
    s.close()
    return out


def split(port):
    out = []
    req = head("b.example", "/two/split", close=True)
    for k in range(1, len(req)):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(req[:k])
        time.sleep(0.002)  # two segments (two messages on the bypass)
        s.sendall(req[k:])
        f = s.makefile("rb")
        d = describe(*read_response(f))
        s.close()
        out.append(d)
    # one line: the same answer at every offset
    assert len(set(out)) == 1, set(out)
    return ["split %d offsets: %s" % (len(out), out[0])]


def churn(port, n, par):
    errs = []
    done = [0]
    lock = threading.Lock()

    def w(k):
        try:
            for i in range(k):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(head("a.example", "/one", close=True))
                buf = b""
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    buf += d
                s.close()
                assert buf.startswith(b"HTTP/1.1 200"), buf[:40]
                with lock:
                    done[0] += 1
        except Exception as e:
            errs.append(repr(e))

    ts = [threading.Thread(target=w, args=(n // par,)) for _ in range(par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errs, errs[:3]
    return ["churn %d ok" % done[0]]


if __name__ == "__main__":
    port = int(sys.argv[2])
    if sys.argv[1] == "pipeline":
        r = pipeline(port)
    elif sys.argv[1] == "split":
        r = split(port)
    else:
        r = churn(port, int(sys.argv[3]), int(sys.argv[4]))
    print("\n".join(r))
