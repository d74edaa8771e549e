#!/usr/bin/python3
"""tools/bench/syn_sender.py - sends TCP SYNs through a raw socket.

usage: syn_sender.py SRC DST PORT COUNT          (IPv4)

Sends exactly COUNT SYNs (random source ports) from SRC, which need not be
an address of this host (a spoofed flood: replies go nowhere), to DST:PORT,
as fast as the socket takes them. Prints "sent COUNT bytes FRAME_BYTES
seconds ELAPSED" where FRAME_BYTES counts Ethernet+IP+TCP headers, i.e.
what an XDP program on the receiving veth sees. Needs root (CAP_NET_RAW).
"""
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_syn(sport, dport, pseudo):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02,
                      64240, 0, 0)
    c = csum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sent = 0
    start = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sb, db = socket.inet_aton(src), socket.inet_aton(dst)
    for _ in range(count):
        sp = random.randint(1024, 65535)
        ph = sb + db + struct.pack("!BBH", 0, 6, 20)
        tcp = tcp_syn(sp, port, ph)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, random.getrandbits(16), 0, 64, 6, 0,
                         sb, db)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        s.sendto(ip + tcp, (dst, 0))
        sent += 1
    frame = 14 + 20 + 20
    elapsed = time.monotonic() - start
    print("sent %d bytes %d seconds %.3f" % (sent, frame, elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
