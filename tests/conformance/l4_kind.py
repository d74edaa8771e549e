"""tests/conformance/l4_kind.py - the L4 parts of the conformance runner:
TCP/TLS/UDP echo backends (gwbpf-echo --tcp/--tls/--udp/--https, answering
as echo-basic does with TCP_ECHO_SERVER, UDP_ECHO_SERVER or TLS_SERVER_CERT)
and the `l4` request kind for TCPRoute, TLSRoute and UDPRoute cases.

run.py calls this module from two places only (backend start and the
request loop), as it does grpc_kind.py.

Case format additions (tests/conformance/README.md):

  requests:
  - l4:
      protocol: tcp                # tcp | tls | udp | dns (an A query)
      serverName: abc.example.com  # tls: the SNI sent
      secret: ns/name              # tls: the Secret whose certificate is the
                                   # only trusted root (default: the
                                   # tls-passthrough-checks-certificate)
      expect: reset                # the gateway must refuse: reset, closed,
                                   # or (tls) a failed handshake; udp: no
                                   # answer within a second
      backendTLS: true             # tls: the backend saw TLS (passthrough) or
                                   # not (terminate); checked when given
    port: 9300                     # the Gateway's listener port
    backend: tcp-echo-one          # pod name prefix that must answer
    namespace: gateway-conformance-infra
    distribution: {...}            # as for HTTP: pods by weight
"""
import json
import os
import socket
import ssl
import subprocess
import time

import weighted  # the weighted-distribution check (same folder)

TCP_PORT = 3000   # echo-basic tcpserver plain port (TCP_PORT)
TLS_PORT = 8443   # echo-basic tcpserver / HTTPS port (TLS_PORT)
UDP_PORT = 8080   # echo-basic udpechoserver port (UDP_PORT)
WELCOME = b"Gateway API Test TCP Server\n"
PASSTHROUGH_SECRET = "gateway-conformance-infra/tls-passthrough-checks-certificate"


def _env(container):
    return {e.get("name"): e.get("value") for e in container.get("env") or []}


def l4_deployments(docs):
    """(namespace, name) -> (mode, secret name or None) for Deployments that
    run echo-basic as an L4 server: "tcp" (TCP_ECHO_SERVER: plain on 3000,
    TLS on 8443 with its secret volume), "udp" (UDP_ECHO_SERVER), "https"
    (TLS_SERVER_CERT without TCP_ECHO_SERVER: the HTTP echo over TLS on 8443),
    "dns" (the CoreDNS image: gwbpf-echo --dns stands in)"""
    out = {}
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        md = d.get("metadata") or {}
        pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
        secret = None
        for v in pod.get("volumes") or []:
            if (v.get("secret") or {}).get("secretName"):
                secret = v["secret"]["secretName"]
        for c in pod.get("containers") or []:
            env = _env(c)
            mode = None
            if env.get("TCP_ECHO_SERVER"):
                mode = "tcp"
            elif env.get("UDP_ECHO_SERVER"):
                mode = "udp"
            elif "TLS_SERVER_CERT" in env:
                mode = "https"
            elif "coredns" in (c.get("image") or ""):
                mode = "dns"
            if mode:
                out[(md.get("namespace", "default"), md.get("name"))] = (mode, secret)
    return out


def spawn(runner, echo, info, ns, pod, dep, ip, ports, log_path):
    """starts the L4 echo of one pod (info from l4_deployments, or None);
    returns the ports still to be served by the HTTP echo"""
    if not info:
        return ports
    mode, secret = info
    args = [echo]
    rest = set(ports)
    if mode == "tcp":
        args += ["--tcp", "%s:%d" % (ip, TCP_PORT)]
        rest = set()
    elif mode == "udp":
        for p in sorted((set(ports) - {3000}) or {UDP_PORT}):
            args += ["--udp", "%s:%d" % (ip, p)]
        rest = set()
    elif mode == "dns":
        for p in sorted((set(ports) - {3000}) or {53}):
            args += ["--dns", "%s:%d" % (ip, p)]
        rest = set()
    if mode in ("tcp", "https"):
        crt = runner.secret_files.get((ns, secret)) if secret else None
        if crt:
            key = crt[:-4] + ".key"
            args += ["--tls" if mode == "tcp" else "--https", "%s:%d" % (ip, TLS_PORT),
                     "--cert", crt, "--key", key]
        elif mode == "https":
            return ports
    args += ["--namespace", ns, "--pod", pod, "--service", dep]
    logf = open(log_path, "a")
    try:
        runner.procs.append(subprocess.Popen(args, stdout=logf, stderr=logf,
                                             stdin=subprocess.DEVNULL))
    finally:
        logf.close()
    return rest


# ---------------------------------------------------------------- requests

def _tls_ctx(runner, spec):
    ns, name = (spec.get("secret") or PASSTHROUGH_SECRET).split("/", 1)
    crt = runner.secret_files.get((ns, name))
    if crt is None:
        raise RuntimeError("l4: no runner-generated Secret %s/%s" % (ns, name))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # the chain proves which certificate answered (see run.py tls_context)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(crt)
    return ctx


def dns_probe(spec, addr, port, timeout):
    """upstream UDPRoute test: an A query (dns.Exchange) that gets a
    well-formed answer with the same ID"""
    import random
    import struct
    qid = random.randrange(1 << 16)
    name = spec.get("query", "foo.bar.com.")
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, (addr, port))
        d, _ = s.recvfrom(65536)
    except OSError as e:
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()
    if len(d) < 12:
        return None, "short DNS answer %r" % d
    rid, flags, qd, an = struct.unpack(">HHHH", d[:8])
    if rid != qid or not flags & 0x8000 or flags & 0xf:
        return None, "DNS answer id %d flags %#x, want id %d, QR, NOERROR" % (rid, flags, qid)
    return {"answers": an}, None


def probe(runner, spec, addr, port, timeout):
    """one connection (or datagram): returns (answer JSON, None) or
    (None, why)"""
    proto = spec.get("protocol", "tcp")
    if proto == "dns":
        return dns_probe(spec, addr, port, timeout)
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            payload = spec.get("payload", "conformance-udp")
            s.sendto(payload.encode(), (addr, port))
            d, src = s.recvfrom(65536)
            if src[0] != addr or src[1] != port:
                return None, "answer from %s:%d, not the gateway" % src
            j = json.loads(d)
            if j.get("request") != payload:
                return None, "echoed request %r, sent %r" % (j.get("request"), payload)
            return j, None
        except (OSError, ValueError) as e:
            return None, "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()
    s = None
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
        s.settimeout(timeout)
        if proto == "tls":
            s = _tls_ctx(runner, spec).wrap_socket(s, server_hostname=spec.get("serverName"))
        f = s.makefile("rb")
        w = f.readline()
        if w != WELCOME:
            return None, "welcome line %r, want %r" % (w[:60], WELCOME)
        s.sendall(b"TEST\n")
        return json.loads(f.readline()), None
    except (OSError, ValueError) as e:
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        if s:
            s.close()


def refused(runner, spec, addr, port, timeout):
    """None when the gateway refuses the connection (refused, reset, closed
    without a byte, or a TLS handshake that fails), else why not"""
    proto = spec.get("protocol", "tcp")
    if proto == "udp":
        # no reset in UDP: the datagram must go unanswered
        j, why = probe(runner, spec, addr, port, min(timeout, 1.0))
        return "got an answer %r" % j if j is not None else None
    s = None
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
        s.settimeout(timeout)
        if proto == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname=spec.get("serverName"))
        d = s.recv(100)
        if not d:
            return None
        return "got %r, want a refused connection" % d[:60]
    except socket.timeout:
        return "neither answered nor closed within %.0f s" % timeout
    except (OSError, ssl.SSLError):
        return None
    finally:
        if s:
            s.close()


def check(spec, exp, j):
    ns = exp.get("namespace", "")
    if ns and j.get("namespace") != ns:
        return "expected namespace %s, got %s" % (ns, j.get("namespace"))
    if not str(j.get("pod", "")).startswith(exp.get("backend", "")):
        return "expected pod name to start with %s, got %s" % (exp.get("backend"), j.get("pod"))
    if "backendTLS" in spec and bool(j.get("isTLS")) != bool(spec["backendTLS"]):
        return "backend isTLS %s, want %s" % (j.get("isTLS"), spec["backendTLS"])
    if spec.get("backendTLS") and spec.get("serverName"):
        sn = (j.get("tls") or {}).get("serverName")
        if sn != spec["serverName"]:
            return "backend saw SNI %r, want %r" % (sn, spec["serverName"])
    return None


def distribution(runner, spec, exp, addr, port, timeout):
    def sample():
        j, why = probe(runner, spec, addr, port, timeout)
        if why:
            return None, "probe failed: " + why
        return j.get("pod", ""), None

    return weighted.check(exp["distribution"], sample)


def run_request(rp, runner, exp, addr, port, budget):
    """run.py's hook: (True, why-or-None) for `l4` requests, else (False,
    None)"""
    spec = exp.get("l4")
    if spec is None:
        return False, None
    need = exp.get("consecutiveSuccesses", rp.REQUIRED_CONSECUTIVE_SUCCESSES)
    timeout = rp.REQUEST_TIMEOUT
    deadline = time.monotonic() + budget
    ok = attempts = 0
    why = None
    while True:
        attempts += 1
        if spec.get("expect") == "reset":
            why = refused(runner, spec, addr, port, timeout)
        else:
            j, why = probe(runner, spec, addr, port, timeout)
            if not why and not exp.get("distribution"):
                why = check(spec, exp, j)
        if why is None:
            ok += 1
            if ok >= need:
                break
            continue
        ok = 0
        if time.monotonic() + rp.RETRY_DELAY > deadline:
            return True, "%s %s:%d (%d attempts): %s" % (
                spec.get("protocol", "tcp"), addr, port, attempts, why)
        time.sleep(rp.RETRY_DELAY)
    if exp.get("distribution"):
        return True, distribution(runner, spec, exp, addr, port, timeout)
    return True, None
