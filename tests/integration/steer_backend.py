#!/usr/bin/python3
"""steer_backend.py PORT NAME - a keep-alive HTTP/1.1 backend for
test_bpf_steer.sh whose answers depend only on the request line and Host
(never on X-Forwarded-*, which only the proxy adds), so a response through the
kernel and through the proxy can be compared byte for byte.

Each response is one sendall() (head and body in one write), except:
  /chunked...  chunked body in two writes (the kernel cannot frame it)
  /big...      200,000-byte body in several writes
  /slow...     answered after 300 ms
  /split...    head and body in two writes
  /rst...      10 of 1000 body bytes, then a reset
"""
import socket
import struct
import sys
import threading
import time


def body_for(name, method, path, host):
    return ("%s %s %s %s\n" % (name, method, path, host)).encode()


def handle(conn, name):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            host, clen = "", 0
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                if k.strip().lower() == "host":
                    host = v.strip()
                elif k.strip().lower() == "content-length":
                    clen = int(v.strip())
            while len(buf) < clen:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            buf = buf[clen:]
            if "/slow" in path:
                time.sleep(0.3)
            if "/rst" in path:
                # a response cut by a reset: 10 of 1000 body bytes
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"r" * 10)
                time.sleep(0.05)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if "/chunked" in path:
                b = body_for(name, method, path, host)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n" +
                             b"%x\r\n" % len(b) + b + b"\r\n")
                time.sleep(0.02)
                conn.sendall(b"0\r\n\r\n")
                continue
            if "/big" in path:
                b = bytes((i * 7 + 3) & 0xff for i in range(200000))
            else:
                b = body_for(name, method, path, host)
            h = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                 % len(b))
            if method == "HEAD":
                conn.sendall(h)
            elif "/big" in path:
                conn.sendall(h + b[:1000])
                for i in range(1000, len(b), 50000):
                    conn.sendall(b[i:i + 50000])
            elif "/split" in path:
                conn.sendall(h)
                time.sleep(0.01)
                conn.sendall(b)
            else:
                conn.sendall(h + b)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port, name = int(sys.argv[1]), sys.argv[2]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(512)
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(c, name), daemon=True).start()


if __name__ == "__main__":
    main()
