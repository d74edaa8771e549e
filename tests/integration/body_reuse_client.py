"""body_reuse_client.py PORT BIGFILE SMALLFILE THREADS ROUNDS

THREADS keep-alive connections, each asking ROUNDS times for /big then
/small (a body splice, then a copied response on the same upstream
connection when the gateway reuses it). Every status line, Content-Length
and body byte is compared with the files the origin serves. Prints
"ok N" or the first mismatch and exits 1."""
import socket
import sys
import threading

port, bigf, smallf, threads, rounds = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                       int(sys.argv[4]), int(sys.argv[5]))
files = {"/big": open(bigf, "rb").read(), "/small": open(smallf, "rb").read()}
errors = []
done = [0]
lock = threading.Lock()


def response(s, buf):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("EOF in head after %d bytes: %r" % (len(buf), bytes(buf[:80])))
        buf += d
    i = buf.index(b"\r\n\r\n") + 4
    head, rest = bytes(buf[:i]), buf[i:]
    status = head.split(b"\r\n", 1)[0]
    n = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    if n is None:
        raise ValueError("no Content-Length: %r" % head[:200])
    while len(rest) < n:
        d = s.recv(1 << 20)
        if not d:
            raise EOFError("EOF in body at %d of %d" % (len(rest), n))
        rest += d
    return status, bytes(rest[:n]), bytearray(rest[n:])


def run(t):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        buf = bytearray()
        for r in range(rounds):
            for path in ("/big", "/small"):
                s.sendall(("GET %s HTTP/1.1\r\nHost: reuse.example\r\n\r\n" % path).encode())
                status, body, buf = response(s, buf)
                if not status.startswith(b"HTTP/1.1 200"):
                    raise ValueError("%s round %d: status %r" % (path, r, status))
                if body != files[path]:
                    at = next((i for i, (a, b) in enumerate(zip(body, files[path])) if a != b),
                              min(len(body), len(files[path])))
                    raise ValueError("%s round %d: body differs at byte %d of %d"
                                     % (path, r, at, len(body)))
                with lock:
                    done[0] += 1
        s.close()
    except Exception as e:  # noqa: BLE001 - reported, the test fails
        with lock:
            errors.append("connection %d: %s: %s" % (t, type(e).__name__, e))


ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if errors:
    print("%d responses ok, then: %s" % (done[0], errors[0]))
    sys.exit(1)
print("ok %d" % done[0])
