#!/usr/bin/python3
"""tests/conformance/run.py - runs Gateway API conformance cases against a
standalone gwbpf and gwbpf-echo backends, all on loopback.

For each tests/conformance/cases/*.yaml (format: tests/conformance/README.md):
builds a config folder from the upstream base manifests plus the case's
manifests, starts one gwbpf-echo per Deployment replica on its own loopback
address, writes the EndpointSlices a cluster would have, generates the
certificate Secrets the upstream suite creates at setup, starts `gwbpf run`,
waits until /status shows what the case expects, then sends the case's
requests the way the upstream suite does (retry until RequiredConsecutive-
Successes in a row within MaxTimeToConsistency) and checks the response and
what the backend saw. Everything started for a case is killed when it ends.

Usage: run.py [--mode kernel|bpf|no-bpf] [--client http1|h2c] [--case NAME]... [-j N] [--report] [-v]
Exit 0 only if no case failed; 249 (skip) when the upstream data or the
binaries are missing.
"""
import argparse
import base64
import concurrent.futures
import copy
import datetime
import glob
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import yaml

import grpc_kind  # HTTP/2 and gRPC parts of the runner (same folder)
import l4_kind  # TCP/TLS/UDP backends and the `l4` request kind (same folder)
import mtls_kind  # TLS backends that require client certificates (same folder)
import weighted  # the weighted-distribution check (same folder)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES = os.path.join(ROOT, "tests", "conformance", "cases")
B = os.environ.get("B", "build")
BUILD = B if os.path.isabs(B) else os.path.join(ROOT, B)
GWBPF = os.path.join(BUILD, "gwbpf")
ECHO = os.path.join(BUILD, "gwbpf-echo")
GRPC_CLIENT = os.path.join(BUILD, "grpc_client")
CLASS = "gwbpf"
CONTROLLER = "gwbpf.dev/gateway-controller"

# upstream TimeoutConfig defaults, shortened where a local data plane that is
# already converged does not need the cluster-sized budget
REQUIRED_CONSECUTIVE_SUCCESSES = 3
MAX_TIME_TO_CONSISTENCY = 15.0      # first request of a case (upstream: 30s)
MAX_TIME_AFTER_CONVERGED = 5.0      # later requests: the config has landed
STATUS_TIMEOUT = 20.0               # wait for /status expectations (upstream: 60s)
RETRY_DELAY = 0.25                  # upstream waits 1s after a failed attempt
REQUEST_TIMEOUT = 5.0               # per request (upstream RequestTimeout 10s)
START_TIMEOUT = 10.0                # gwbpf admin endpoint up

print_lock = threading.Lock()


def out(*a):
    with print_lock:
        print(*a, flush=True)


def skip_exit(reason):
    print("skip: " + reason)
    sys.exit(249)


def gateway_api_dir():
    d = os.environ.get("GWBPF_GATEWAY_API_DIR")
    if not d:
        d = os.path.join(ROOT, "..", "shared", "gateway-api")
    d = os.path.abspath(d)
    if not os.path.isfile(os.path.join(d, "conformance", "base", "manifests.yaml")):
        return None
    return d


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- manifests

def load_docs(text):
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


CERT_CACHE = None   # main(): where this run keeps the certificates it made
cert_lock = threading.Lock()


def cached_cert(tmp, name, ident, make):
    """<name>.crt and <name>.key into folder tmp. The upstream suite makes its
    certificates once, at setup, for every test: so does a run. make(folder)
    writes them the first time (ident tells apart what differs, e.g. SANs),
    and each case gets a copy. Without CERT_CACHE, made in tmp directly. RSA
    key generation was most of the runner's own CPU time (9 keys a case)."""
    if CERT_CACHE is None:
        make(tmp)
        return
    d = os.path.join(CERT_CACHE, hashlib.sha256(repr((name, ident)).encode()).hexdigest()[:20])
    with cert_lock:
        if not os.path.isdir(d):
            shutil.rmtree(d + ".tmp", ignore_errors=True)
            os.makedirs(d + ".tmp")
            make(d + ".tmp")
            os.rename(d + ".tmp", d)
    for ext in (".crt", ".key"):
        shutil.copyfile(os.path.join(d, name + ext), os.path.join(tmp, name + ext))


def tls_secret_doc(tmp, namespace, name):
    """the kubernetes.io/tls Secret of tmp/<name>.crt and .key"""
    import base64
    with open(os.path.join(tmp, name + ".crt"), "rb") as f:
        c = base64.b64encode(f.read()).decode()
    with open(os.path.join(tmp, name + ".key"), "rb") as f:
        k = base64.b64encode(f.read()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"tls.crt": c, "tls.key": k}}


def self_signed_secret(tmp, namespace, name, hosts):
    """a kubernetes.io/tls Secret with a self-signed cert (as the upstream
    MustCreateSelfSignedCertSecret: RSA 2048, SANs = hosts, CA), made once
    per run (cached_cert)"""
    import base64
    key = os.path.join(tmp, name + ".key")
    crt = os.path.join(tmp, name + ".crt")
    san = ",".join(("URI:" if "://" in h else "IP:" if re.match(r"^[0-9.]+$", h) else "DNS:") + h
                   for h in hosts)
    cn = hosts[0]

    def make(d):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "365", "-subj", "/O=gwbpf conformance/CN=" + cn,
                        "-keyout", os.path.join(d, name + ".key"),
                        "-out", os.path.join(d, name + ".crt"),
                        "-addext", "subjectAltName=" + san,
                        "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cached_cert(tmp, name, ("self-signed", tuple(hosts)), make)
    with open(crt, "rb") as f:
        c = base64.b64encode(f.read()).decode()
    with open(key, "rb") as f:
        k = base64.b64encode(f.read()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"tls.crt": c, "tls.key": k}}


# the Secrets the upstream suite creates in code at setup (suite.go Setup)
SETUP_SECRETS = [
    ("gateway-conformance-web-backend", "certificate", ["*"]),
    ("gateway-conformance-infra", "tls-validity-checks-certificate", ["*", "*.org"]),
    ("gateway-conformance-infra", "tls-passthrough-checks-certificate", ["abc.example.com"]),
    # TLSRoute cases: the tls-backend pods' and the Terminate listeners' certificates
    # (no wildcard: BackendTLSPolicySANValidation needs dce.example.com and
    # def.example.com NOT to be covered; the passthrough clients do not check
    # names, they trust the chain)
    ("gateway-conformance-infra", "tls-checks-certificate",
     ["abc.example.com", "other.example.com", "spiffe://abc.example.com/test-identity"]),
    ("gateway-conformance-infra", "tls-terminate-checks-certificate", ["tls.example.com"]),
]


# the client certificates and their CA ConfigMaps the frontend-validation
# cases use (upstream creates them in the test setup): (namespace, ConfigMap
# with ca.crt, Secret with the client certificate). Each client certificate
# is self-signed with CA:TRUE and is its own ConfigMap's ca.crt, so it
# verifies against exactly one of the two bundles.
SETUP_CLIENT_CAS = [
    ("gateway-conformance-infra", "tls-validity-checks-ca-certificate",
     "tls-validity-checks-client-certificate"),
    ("gateway-conformance-infra", "tls-validity-checks-per-port-ca-certificate",
     "tls-validity-checks-per-port-client-certificate"),
]


# client certificates signed by a setup Secret's certificate: (namespace,
# Secret, CN, CA Secret); the Gateway presents tls-checks-client-certificate
# to backends that trust tls-checks-ca-certificate (GatewayBackendClientCertificate)
SETUP_CA_SIGNED_SECRETS = [
    ("gateway-conformance-infra", "tls-checks-client-certificate", "gateway-client",
     "tls-checks-certificate"),
]

# the CA ConfigMaps BackendTLSPolicy cases trust (key ca.crt): the
# certificate of the named setup Secret (self-signed, CA:TRUE), or None for
# a fresh unrelated one
SETUP_CA_CONFIGMAPS = [
    ("gateway-conformance-infra", "tls-checks-ca-certificate", "tls-checks-certificate"),
    ("gateway-conformance-infra", "mismatch-ca-certificate", None),
]


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def obj_key(o):
    md = o.get("metadata", {})
    return (o.get("kind"), md.get("namespace", ""), md.get("name"))


class Case:
    def __init__(self, path):
        self.path = path
        with open(path) as f:
            self.spec = yaml.safe_load(f) or {}
        self.name = self.spec.get("name") or os.path.basename(path)[:-5]


# ---------------------------------------------------------------- HTTP client

class Resp:
    def __init__(self):
        self.status = 0
        self.headers = []       # [(name, value)] as received
        self.body = b""
        self.error = None

    def header_map(self):
        m = {}
        for k, v in self.headers:
            m.setdefault(k.lower(), []).append(v)
        return m

    def echo(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def tls_context(ca_file):
    """client context trusting exactly ca_file (the Secret's certificate),
    as upstream's tls.MakeTLSRequest does with the Secret's PEM as root CA.
    Hostname checking is left to the chain: the conformance certificates use
    wildcards such as "*" and "*.org" that Go accepts and OpenSSL's host
    check refuses, and the chain already proves which certificate was served"""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def http_request(addr, port, method, host, path, headers, timeout=REQUEST_TIMEOUT, tls=None):
    """one request on a fresh connection, as the upstream round tripper does
    (a new client per request; redirects never followed). tls: (context,
    server name[, files]) to speak HTTPS with that SNI. With --client h2c
    the request goes over HTTP/2 instead (grpc_kind.h2_request)"""
    if CLIENT != "http1":
        return grpc_kind.h2_request(Resp, addr, port, method, host, path, headers, timeout,
                                    tls[2] if tls else None)
    r = Resp()
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host,
             "User-Agent: Go-http-client/1.1"]
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    s = None
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
        s.settimeout(timeout)
        if tls:
            s = tls[0].wrap_socket(s, server_hostname=tls[1] or None)
        s.sendall(raw)
        f = s.makefile("rb")
        resp = http.client.HTTPResponse(s, method=method)
        resp.fp = f
        resp.begin()
        r.status = resp.status
        r.headers = list(resp.getheaders())
        r.body = resp.read()
        resp.close()
    except Exception as e:  # noqa: BLE001 - every failure is "not ready yet"
        r.error = "%s: %s" % (type(e).__name__, e)
    finally:
        if s:
            s.close()
    return r


def ws_probe(addr, port, host, path, spec, timeout=REQUEST_TIMEOUT):
    """upstream HTTPRouteBackendProtocolWebSocket: dial ws://host/path with
    the given Origin on a fresh connection, send each frame of
    spec.exchange (text or binary, masked as a client must) and expect the
    same frame back. Returns (Resp, None) on success, (Resp, why) else"""
    r = Resp()
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: " + host, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    if spec.get("origin"):
        lines.append("Origin: " + spec["origin"])
    s = None
    try:
        s = socket.create_connection((addr, port), timeout=timeout)
        s.settimeout(timeout)
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                break
            buf += d
            if len(buf) > 65536:
                break
        head, _, rest = buf.partition(b"\r\n\r\n")
        hl = head.decode("latin-1").split("\r\n")
        try:
            r.status = int(hl[0].split()[1])
        except (IndexError, ValueError):
            r.error = "bad handshake response %r" % head[:200]
            return r, "WebSocket handshake failed: " + r.error
        r.headers = [tuple(x.split(":", 1)) for x in hl[1:] if ":" in x]
        r.headers = [(k.strip(), v.strip()) for k, v in r.headers]
        if r.status != 101:
            r.body = rest
            return r, "expected 101 Switching Protocols, got %d" % r.status
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        got = r.header_map().get("sec-websocket-accept", [""])[0]
        if got != want:
            return r, "Sec-WebSocket-Accept %r, want %r" % (got, want)
        for fr in spec.get("exchange") or []:
            if "text" in fr:
                op, payload = 1, str(fr["text"]).encode()
            else:
                op, payload = 2, bytes(fr["binary"])
            mask = os.urandom(4)
            n = len(payload)
            hdr = bytes([0x80 | op])
            if n < 126:
                hdr += bytes([0x80 | n])
            elif n < 65536:
                hdr += bytes([0x80 | 126]) + n.to_bytes(2, "big")
            else:
                hdr += bytes([0x80 | 127]) + n.to_bytes(8, "big")
            s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

            def need(k):
                nonlocal rest
                while len(rest) < k:
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionError("connection closed by peer")
                    rest += d
                out_, rest = rest[:k], rest[k:]
                return out_
            b0, b1 = need(2)
            ln = b1 & 0x7F
            if ln == 126:
                ln = int.from_bytes(need(2), "big")
            elif ln == 127:
                ln = int.from_bytes(need(8), "big")
            if b1 & 0x80:
                return r, "server frame is masked (RFC 6455 5.1 forbids it)"
            data = need(ln)
            r.body += data
            if (b0 & 0x0F) != op or not (b0 & 0x80) or data != payload:
                return r, "sent %s frame %r, got opcode %d fin %d payload %r" % (
                    "text" if op == 1 else "binary", payload, b0 & 0x0F, b0 >> 7, data)
        # close politely: masked close frame, code 1000
        s.sendall(bytes([0x88, 0x82]) + b"\0\0\0\0" + b"\x03\xe8")
        return r, None
    except Exception as e:  # noqa: BLE001 - every failure is "not ready yet"
        r.error = "%s: %s" % (type(e).__name__, e)
        return r, "WebSocket exchange failed: " + r.error
    finally:
        if s:
            s.close()


def calc_host(addr, port):
    return addr if port == 80 else "%s:%d" % (addr, port)


# ---------------------------------------------------------------- --client h2c

CLIENT = "http1"    # --client: http1, or h2c (every HTTP request over HTTP/2)


def h2_skip_reason(spec):
    """why a case does not run with --client h2c, or None. It runs when one
    of its phases sends a plain HTTP request (gRPC and L4 requests in it run
    as always; WebSocket ones stay HTTP/1.1, see h2_only_ws)"""
    reqs = []
    for ph in [spec] + list(spec.get("then") or []):
        reqs += ph.get("requests") or []
    plain = [e for e in reqs if e.get("grpc") is None and e.get("l4") is None]
    if not plain:
        return "--client h2c: sends no HTTP request (status, gRPC or L4 only): " \
            "nothing of it changes over HTTP/2"
    if "TLSRoute" in (spec.get("features") or []) and "HTTPRoute" not in (spec.get("features") or []):
        return "--client h2c: TLSRoute passthrough: the HTTPS requests cross gwbpf as opaque TLS, " \
            "so ALPN and the HTTP version are the backend's (echo-basic's TLS port: HTTP/1.1)"
    if all(e.get("websocket") for e in plain):
        return "--client h2c: WebSocket by HTTP/1.1 Upgrade only; HTTP/2 has no Upgrade " \
            "(RFC 9113 8.6) and gwbpf does not offer RFC 8441 extended CONNECT"
    return None


# ---------------------------------------------------------------- expectations

def canon_status_codes(resp_exp):
    codes = resp_exp.get("statusCodes") or []
    if resp_exp.get("statusCode"):
        codes = [resp_exp["statusCode"]] + list(codes)
    return codes or [200]


def is_timeout(code):
    return code in (408, 504)


def compare(req_spec, sent_path, r, exp):
    """returns None when r meets exp, else why not (mirrors upstream
    CompareRequest; exp is the case's request entry)"""
    if exp.get("expectHTTPError"):
        # upstream http.MakeRequestAndExpectFailure, as read here: the request
        # fails, or the answer is not a success
        return None if r.error or not 200 <= r.status < 300 else \
            "expected the request to fail, got HTTP %d" % r.status
    if exp.get("expectFailure"):
        # upstream tls.MakeTLSRequestAndExpectFailureResponse: no HTTP answer
        # at all (the TLS handshake, or the connection, must fail)
        return None if r.error else "expected the request to fail, got HTTP %d" % r.status
    if r.error:
        return "request failed: " + r.error
    codes = canon_status_codes(exp.get("response") or {})
    if is_timeout(r.status) and any(is_timeout(c) for c in codes):
        return None
    if r.status not in codes:
        return "expected status code %s, got %d" % (" or ".join(map(str, codes)), r.status)
    resp_exp = exp.get("response") or {}
    why = compare_response_headers(r, resp_exp)
    if why:
        return why
    if r.status == 200 and exp.get("nonEchoResponse") and not isinstance(r.echo(), dict):
        # answered by the gateway itself (a CORS preflight): upstream's round
        # tripper then sees the sent method and an empty host/path, which is
        # what such cases expect; the backend checks do not apply
        return None
    if r.status == 200:
        er = exp.get("expectedRequest")
        if er is None:
            er = {k: req_spec.get(k) for k in ("host", "method", "path", "headers")}
        er = dict(er)
        er.setdefault("method", None)
        if not er.get("method"):
            er["method"] = "GET"
        doc = r.echo()
        if not isinstance(doc, dict):
            return "200 without the echo backend's JSON body"
        if er.get("host") and er["host"] != doc.get("host"):
            return "expected host to be %s, got %s" % (er["host"], doc.get("host"))
        epath = er.get("path") if er.get("path") is not None else ""
        if epath != doc.get("path"):
            return "expected path to be %s, got %s" % (epath, doc.get("path"))
        if er["method"] != doc.get("method"):
            return "expected method to be %s, got %s" % (er["method"], doc.get("method"))
        ns = exp.get("namespace", "")
        if ns != doc.get("namespace"):
            return "expected namespace to be %s, got %s" % (ns, doc.get("namespace"))
        seen = {k.lower(): v for k, v in (doc.get("headers") or {}).items()}
        for name, val in (er.get("headers") or {}).items():
            if name.lower() not in seen:
                return "expected %s header to be set, actual headers: %s" % (name, seen)
            if ",".join(seen[name.lower()]) != str(val):
                return "expected %s header to be set to %s, got %s" % (
                    name, val, ",".join(seen[name.lower()]))
        for name in er.get("absentHeaders") or []:
            if name.lower() in seen:
                return "expected request header %s to be absent, got %s" % (name, seen[name.lower()])
        if er.get("clientCert") is not None:
            # the client certificate the TLS backend saw (mtls_kind.py)
            seen = ((doc.get("tls") or {}).get("peerCertificates") or [""])[0]
            if "".join(seen.split()) != "".join(er["clientCert"].split()):
                return "expected the backend to see client certificate %s, got %s" % (
                    er.get("clientCertSecret"), "one" if seen else "none")
        if er.get("sni") and er["sni"] != ((doc.get("tls") or {}).get("serverName")):
            # a TLS backend (echo --https) reports the SNI the gateway sent
            return "expected backend SNI to be %s, got %s" % (
                er["sni"], (doc.get("tls") or {}).get("serverName"))
        backend = exp.get("backend", "")
        if not str(doc.get("pod", "")).startswith(backend):
            return "expected pod name to start with %s, got %s" % (backend, doc.get("pod"))
    elif r.status in (301, 302, 303, 307, 308):
        rr = exp.get("redirectRequest")
        if rr is None:
            return None
        loc = r.header_map().get("location", [""])[0]
        u = urllib.parse.urlsplit(loc)
        got_scheme = u.scheme
        got_host = u.hostname or ""
        got_port = str(u.port) if u.port else ""
        got_path = u.path
        want_host = rr.get("host") or got_host
        want_scheme = rr.get("scheme") or "http"
        want_path = rr.get("path") or sent_path.split("?", 1)[0]
        if want_host != got_host:
            return "expected redirected hostname to be %r, got %r (Location: %s)" % (
                want_host, got_host, loc)
        want_port = str(rr.get("port", "") or "")
        if not want_port:
            if got_scheme.lower() == "http" and got_port not in ("80", ""):
                return "for http scheme, expected redirected port to be 80 or not set, got %r" % got_port
            if got_scheme.lower() == "https" and got_port not in ("443", ""):
                return "for https scheme, expected redirected port to be 443 or not set, got %r" % got_port
        elif want_port != got_port:
            return "expected redirected port to be %r, got %r" % (want_port, got_port)
        if want_scheme != got_scheme:
            return "expected redirected scheme to be %r, got %r" % (want_scheme, got_scheme)
        if want_path != got_path:
            return "expected redirected path to be %r, got %r" % (want_path, got_path)
    return None


def compare_response_headers(r, resp_exp):
    """response.headers (exact, values joined with ','), absentHeaders and
    validHeaderValues (one of the listed values; whitespace ignored with
    ignoreWhitespace), whatever the status code"""
    rh = r.header_map()
    for name, val in (resp_exp.get("headers") or {}).items():
        if name.lower() not in rh:
            return "expected response header %s to be set, got %s" % (name, rh)
        if ",".join(rh[name.lower()]) != str(val):
            return "expected response header %s to be %s, got %s" % (
                name, val, ",".join(rh[name.lower()]))
    for name in resp_exp.get("absentHeaders") or []:
        if name.lower() in rh:
            return "expected response header %s to be absent, got %s" % (name, rh[name.lower()])

    def norm(v):
        return "".join(str(v).split()) if resp_exp.get("ignoreWhitespace") else str(v)
    for name, vals in (resp_exp.get("validHeaderValues") or {}).items():
        if name.lower() not in rh:
            return "expected response header %s to be set, got %s" % (name, rh)
        got = ",".join(rh[name.lower()])
        if norm(got) not in [norm(v) for v in vals]:
            return "expected response header %s to be one of %s, got %r" % (name, vals, got)
    return None


def cond_ok(conds, want, generation):
    """every wanted {type, status[, reason]} present; observedGeneration,
    when gwbpf reports it, must be the object's generation (latest status)"""
    conds = conds or []
    for w in want or []:
        found = [c for c in conds if c.get("type") == w.get("type")]
        if not found:
            return "condition %s missing" % w.get("type")
        c = found[0]
        if str(c.get("status")) != str(w.get("status", "True")):
            return "condition %s is %s (%s: %s), want %s" % (
                w["type"], c.get("status"), c.get("reason"), c.get("message"), w.get("status", "True"))
        if w.get("reason") and c.get("reason") != w["reason"]:
            return "condition %s reason is %s, want %s" % (w["type"], c.get("reason"), w["reason"])
        if generation is not None and c.get("observedGeneration") not in (None, generation):
            return "condition %s observedGeneration %s, want %s" % (
                w["type"], c.get("observedGeneration"), generation)
    return None


def parent_matches(ref, want, route_ns):
    if ref.get("name") != want.get("name"):
        return False
    if (ref.get("namespace") or route_ns) != (want.get("namespace") or route_ns):
        return False
    if want.get("kind") and (ref.get("kind") or "Gateway") != want["kind"]:
        return False
    if want.get("sectionName") and ref.get("sectionName") != want["sectionName"]:
        return False
    if want.get("port") and ref.get("port") != want["port"]:
        return False
    return True


def check_status(items, want):
    """None when the object status meets want, else a reason"""
    kind, ns, name = want.get("kind"), want.get("namespace", ""), want.get("name")
    obj = None
    for it in items:
        md = it.get("metadata") or {}
        if it.get("kind") == kind and md.get("name") == name and (md.get("namespace") or "") == ns:
            obj = it
            break
    if obj is None:
        return "%s %s/%s not in /status" % (kind, ns, name)
    st = obj.get("status") or {}
    gen = (obj.get("metadata") or {}).get("generation")
    what = "%s %s/%s" % (kind, ns, name)
    why = cond_ok(st.get("conditions"), want.get("conditions"), gen)
    if why:
        return what + ": " + why
    if want.get("latestConditions"):
        # upstream GatewayMustHaveLatestConditions: every condition (of the
        # object and its listeners) was written for the current generation
        # (routes: HTTPRouteMustHaveLatestConditions, over our parents)
        conds = list(st.get("conditions") or [])
        for l in st.get("listeners") or []:
            conds += l.get("conditions") or []
        for p in st.get("parents") or []:
            if p.get("controllerName") in (None, CONTROLLER):
                conds += p.get("conditions") or []
        for a in st.get("ancestors") or []:
            # policies: BackendTLSPolicyMustHaveLatestConditions
            if a.get("controllerName") == CONTROLLER:
                conds += a.get("conditions") or []
        if not conds:
            return what + ": no conditions yet"
        for c in conds:
            if c.get("observedGeneration") != gen:
                return "%s: condition %s has observedGeneration %s, want %s" % (
                    what, c.get("type"), c.get("observedGeneration"), gen)
    if "attachedListenerSets" in want and \
            (st.get("attachedListenerSets") or 0) != want["attachedListenerSets"]:
        # upstream GatewayMustHaveAttachedListeners (absent counts as 0)
        return "%s: attachedListenerSets %s, want %s" % (
            what, st.get("attachedListenerSets"), want["attachedListenerSets"])
    prev = want.get("_prev")     # (generation, observedGenerations) at the previous phase
    if want.get("generationChanged") and gen == (prev[0] if prev else 1):
        return "%s: metadata.generation is still %s after a spec change" % (what, gen)
    if want.get("observedGenerationChanged") and prev:
        for c in st.get("conditions") or []:
            if c.get("observedGeneration") in prev[1]:
                return "%s: condition %s observedGeneration %s did not change" % (
                    what, c.get("type"), c.get("observedGeneration"))
    if "statusAddresses" in want:
        got = [a.get("value") for a in st.get("addresses") or []]
        if got != list(want["statusAddresses"]):
            return "%s: status.addresses %s, want exactly %s" % (
                what, got, want["statusAddresses"])
    if want.get("exactListeners"):
        got = sorted(l.get("name") for l in st.get("listeners") or [])
        exp = sorted(l.get("name") for l in want.get("listeners") or [])
        if got != exp:
            return "%s: listeners %s, want exactly %s" % (what, got, exp)
        for wl in want.get("listeners") or []:
            if wl.get("supportedKinds") == []:
                l = [x for x in st.get("listeners") or [] if x.get("name") == wl.get("name")][0]
                if l.get("supportedKinds"):
                    return "%s: listener %s supportedKinds %s, want none" % (
                        what, wl["name"], l.get("supportedKinds"))
    for wl in want.get("listeners") or []:
        ls = [l for l in st.get("listeners") or [] if l.get("name") == wl.get("name")]
        if not ls:
            return "%s: listener %s has no status" % (what, wl.get("name"))
        l = ls[0]
        if "attachedRoutes" in wl and l.get("attachedRoutes") != wl["attachedRoutes"]:
            return "%s: listener %s attachedRoutes %s, want %s" % (
                what, wl["name"], l.get("attachedRoutes"), wl["attachedRoutes"])
        if "supportedKinds" in wl:
            # upstream listenersMatch looks for the expected kinds only: an
            # implementation may support more kinds than a test names
            got = sorted(k.get("kind") for k in l.get("supportedKinds") or [])
            if not set(wl["supportedKinds"]) <= set(got):
                return "%s: listener %s supportedKinds %s, want at least %s" % (
                    what, wl["name"], got, sorted(wl["supportedKinds"]))
        why = cond_ok(l.get("conditions"), wl.get("conditions"), gen)
        if why:
            return "%s: listener %s: %s" % (what, wl["name"], why)
    if want.get("addresses") is True and not st.get("addresses"):
        return what + ": no status.addresses"
    parents = [p for p in st.get("parents") or [] if p.get("controllerName") in (None, CONTROLLER)]
    if want.get("notAccepted"):
        for p in parents:
            for c in p.get("conditions") or []:
                if c.get("type") == "Accepted" and str(c.get("status")) == "True":
                    return "%s: expected no accepted parent, got %s" % (what, json.dumps(p))
    if want.get("parentsAbsent") and parents:
        return "%s: expected no parent status, got %s" % (what, json.dumps(parents))
    for wp in want.get("parents") or []:
        ref = wp.get("parentRef") or {}
        ps = [p for p in parents if parent_matches(p.get("parentRef") or {}, ref, ns)]
        if not ps:
            return "%s: no status for parent %s" % (what, json.dumps(ref))
        if wp.get("controllerName") and ps[0].get("controllerName") != wp["controllerName"]:
            return "%s: parent %s controllerName %s, want %s" % (
                what, ref.get("name"), ps[0].get("controllerName"), wp["controllerName"])
        why = cond_ok(ps[0].get("conditions"), wp.get("conditions"), gen)
        if why:
            return "%s: parent %s: %s" % (what, ref.get("name"), why)
    if want.get("exactParents"):
        refs = [wp.get("parentRef") or {} for wp in want.get("parents") or []]
        extra = [p for p in parents
                 if not any(parent_matches(p.get("parentRef") or {}, r, ns) for r in refs)]
        if extra or len(parents) != len(refs):
            return "%s: parents %s, want exactly %s" % (
                what, json.dumps([p.get("parentRef") for p in parents]), json.dumps(refs))
    for wa in want.get("ancestors") or []:
        # policy status.ancestors (BackendTLSPolicyMustHaveCondition): our
        # entry for that ancestor has every wanted condition
        ref = wa.get("ancestorRef") or {}
        got = [a for a in st.get("ancestors") or []
               if a.get("controllerName") == CONTROLLER and
               (a.get("ancestorRef") or {}).get("name") == ref.get("name") and
               (a.get("ancestorRef") or {}).get("namespace", ns) == ref.get("namespace", ns)]
        if not got:
            return "%s: no ancestor status for %s" % (what, json.dumps(ref))
        why = cond_ok(got[0].get("conditions"), wa.get("conditions"), gen)
        if why:
            return "%s: ancestor %s: %s" % (what, ref.get("name"), why)
    for ref in want.get("absentParents") or []:
        if [p for p in parents if parent_matches(p.get("parentRef") or {}, ref, ns)]:
            return "%s: expected no status for parent %s" % (what, json.dumps(ref))
    return None


# ---------------------------------------------------------------- one case

class Runner:
    def __init__(self, case, mode, slot, gwapi, verbose):
        self.case = case
        self.spec = case.spec
        self.mode = mode
        self.slot = slot
        self.gwapi = gwapi
        self.verbose = verbose
        self.procs = []
        self.tmp = None
        self.log = []
        self.admin = None
        self.objects = []
        self.gw_proc = None
        self.pod_logs = []      # (namespace, pod, log file)
        self.configmap_files = {}  # (namespace, name) -> PEM file of a generated CA ConfigMap
        self.secret_files = {}  # (namespace, name) -> PEM certificate of a generated Secret
        self.seen_gen = {}      # (kind, ns, name) -> (generation, {observedGeneration})
        # slot is a machine-wide lease (see lease_slot): runs of both modes,
        # -j workers and other users' runs never share an address range
        self.pod_net = 100 + slot                  # 127.<pod_net>.<deploy>.<replica+1>
        self.pool = "127.30.%d.0/24" % slot

    def note(self, msg):
        self.log.append(msg)

    # -- setup
    def manifests(self):
        docs = []
        with open(os.path.join(self.gwapi, "conformance", "base", "manifests.yaml")) as f:
            docs += load_docs(f.read())
        for m in self.spec.get("manifests") or []:
            with open(os.path.join(self.gwapi, "conformance", m)) as f:
                docs += load_docs(f.read())
        for d in self.spec.get("objects") or []:
            docs.append(copy.deepcopy(d))
        return docs

    def static_addresses(self):
        """upstream UsableNetworkAddresses / UnusableNetworkAddresses: one
        address gwbpf can bind (inside this slot's --address-pool, above the
        addresses the pool hands out) and one no local interface has
        (TEST-NET-1, RFC 5737), so binding it fails"""
        return ({"type": "IPAddress", "value": "127.30.%d.250" % self.slot},
                {"type": "IPAddress", "value": "192.0.2.1"})

    def fix(self, docs):
        text = yaml.safe_dump_all(docs, sort_keys=False)
        # the placeholders the upstream Applier substitutes
        text = text.replace("{GATEWAY_CLASS_NAME}", CLASS)
        text = text.replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER)
        docs = load_docs(text)
        usable, unusable = self.static_addresses()
        for d in docs:
            if d.get("kind") != "Gateway":
                continue
            addrs = (d.get("spec") or {}).get("addresses") or []
            for a in addrs:
                if a.get("value") == "PLACEHOLDER_USABLE_ADDRS":
                    a.update(usable)
                elif a.get("value") == "PLACEHOLDER_UNUSABLE_ADDRS":
                    a.update(unusable)
        return docs

    def subst(self, v):
        """a case value naming a static-address placeholder, substituted"""
        usable, unusable = self.static_addresses()
        return {"PLACEHOLDER_USABLE_ADDRS": usable["value"],
                "PLACEHOLDER_UNUSABLE_ADDRS": unusable["value"]}.get(v, v)

    def start_backends(self, docs):
        """one gwbpf-echo per Deployment replica; returns EndpointSlices"""
        pods = []  # (ns, labels, ip, name, ports)
        di = 0
        for d in docs:
            if d.get("kind") != "Deployment":
                continue
            md = d.get("metadata", {})
            ns = md.get("namespace", "default")
            spec = d.get("spec", {})
            tmpl = spec.get("template", {})
            labels = (tmpl.get("metadata") or {}).get("labels") or {}
            replicas = spec.get("replicas", 1)
            cports = {}
            for c in (tmpl.get("spec") or {}).get("containers") or []:
                for p in c.get("ports") or []:
                    cports[p.get("name") or str(p["containerPort"])] = p["containerPort"]
            di += 1
            for r in range(replicas):
                ip = "127.%d.%d.%d" % (self.pod_net, di, r + 1)
                name = "%s-gwbpf-%d" % (md.get("name"), r)
                pods.append((ns, labels, ip, name, cports, md.get("name")))
                self.pod_logs.append((ns, name, os.path.join(self.tmp, "echo-%s.log" % name)))
        self.pods = pods
        # every port a Service targets on these pods, plus the echo default 3000
        listen = {}
        slices = []
        for s in docs:
            if s.get("kind") != "Service":
                continue
            md = s.get("metadata", {})
            ns = md.get("namespace", "default")
            sel = (s.get("spec") or {}).get("selector") or {}
            members = [p for p in pods if p[0] == ns and labels_match(sel, p[1])]
            if not members:
                continue
            ports = []
            for sp in (s.get("spec") or {}).get("ports") or []:
                tp = sp.get("targetPort", sp.get("port"))
                if isinstance(tp, str) and not tp.isdigit():
                    tp = members[0][4].get(tp)
                    if tp is None:
                        continue
                tp = int(tp)
                e = {"port": tp, "protocol": sp.get("protocol", "TCP")}
                if sp.get("name"):
                    e["name"] = sp["name"]
                if sp.get("appProtocol"):
                    e["appProtocol"] = sp["appProtocol"]
                ports.append(e)
                for p in members:
                    listen.setdefault(p[2], set()).add(tp)
            slices.append({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": md["name"] + "-gwbpf", "namespace": ns,
                             "labels": {"kubernetes.io/service-name": md["name"]}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [p[2]], "conditions": {"ready": True},
                               "targetRef": {"kind": "Pod", "name": p[3], "namespace": ns}}
                              for p in members],
                "ports": ports,
            })
        grpc_deps = grpc_kind.grpc_deployments(docs)
        l4_deps = l4_kind.l4_deployments(docs)
        mtls_deps = mtls_kind.mtls_deployments(docs)
        for ns, labels, ip, name, cports, dep in pods:
            ports = listen.get(ip, set()) | {3000}
            if (ns, dep) in mtls_deps:
                # echo-basic requiring client certificates (mtls_kind.py)
                p = mtls_kind.spawn(self, mtls_deps[(ns, dep)], ns, name, ip,
                                    os.path.join(self.tmp, "echo-%s-mtls.log" % name))
                if p:
                    self.procs.append(p)
            else:
                ports = l4_kind.spawn(self, ECHO, l4_deps.get((ns, dep)), ns, name, dep, ip,
                                      ports, os.path.join(self.tmp, "echo-%s-l4.log" % name))
            # echo-basic answers TLS on 8443 (closed here: gwbpf-echo has no
            # TLS) and h2c on 3001; gRPC pods and 3001 get gwbpf-echo --h2c
            ports -= {8443}
            ports, h2_ports = grpc_kind.split_ports(ports, (ns, dep) in grpc_deps)
            if h2_ports:
                self.procs.append(grpc_kind.spawn_h2_echo(
                    ECHO, ns, name, dep, ip, h2_ports,
                    os.path.join(self.tmp, "echo-%s-h2.log" % name)))
            if not ports:
                continue
            args = [ECHO, "--namespace", ns, "--pod", name, "--service", dep]
            for p in sorted(ports):
                args += ["--listen", "%s:%d" % (ip, p)]
            logf = open(os.path.join(self.tmp, "echo-%s.log" % name), "w")
            self.procs.append(subprocess.Popen(args, stdout=logf, stderr=logf,
                                               stdin=subprocess.DEVNULL))
            logf.close()
        return slices

    def fill_endpoint_slices(self, docs):
        """case field fillEndpointSlices (upstream setupEndpointSlices): the
        named selector-less IPv4 EndpointSlices get one ready endpoint per pod
        of the named Deployment, as the suite patches them at run time (the
        pod addresses depend on the runner's slot, so a case cannot write
        them inline)"""
        fe = self.spec.get("fillEndpointSlices")
        if not fe:
            return
        dns, dname = fe["fromDeployment"].split("/", 1)
        members = [p for p in self.pods if p[0] == dns and p[5] == dname]
        if not members:
            raise RuntimeError("fillEndpointSlices: no pods of Deployment %s" % fe["fromDeployment"])
        for ref in fe.get("slices") or []:
            ns, name = ref.split("/", 1)
            hit = [d for d in docs if d.get("kind") == "EndpointSlice" and
                   (d.get("metadata") or {}).get("namespace") == ns and
                   (d.get("metadata") or {}).get("name") == name]
            if not hit:
                raise RuntimeError("fillEndpointSlices: no EndpointSlice %s" % ref)
            hit[0]["endpoints"] = [
                {"addresses": [p[2]], "conditions": {"ready": True, "serving": True},
                 "nodeName": "gwbpf-node",
                 "targetRef": {"kind": "Pod", "name": p[3], "namespace": ns}}
                for p in members]

    def write_config(self, docs):
        cfg = os.path.join(self.tmp, "config")
        os.makedirs(cfg, exist_ok=True)
        with open(os.path.join(cfg, "objects.yaml"), "w") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        return cfg

    def start_gwbpf(self, cfg):
        self.admin = "127.0.0.1:%d" % free_port()
        args = [GWBPF, "run", "--config", cfg, "--address-pool", self.pool,
                "--admin", self.admin, "--workers", "1"]
        if self.mode == "no-bpf":
            args.append("--no-bpf")
        elif self.mode == "kernel":
            self.bpffs = "/sys/fs/bpf/gwbpf-conf-%d-%d" % (os.getpid(), free_port())
            args += ["--cgroup", KERNEL_CG, "--bpf", KERNEL_BPF, "--bpffs", self.bpffs]
        self.gw_log = os.path.join(self.tmp, "gwbpf.log")
        logf = open(self.gw_log, "w")
        self.gw_proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        self.procs.append(self.gw_proc)
        self.note("started: " + " ".join(args))

    def get_status(self):
        host, port = self.admin.rsplit(":", 1)
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=2)
            c.request("GET", "/status")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status != 200:
                return None
            return json.loads(body).get("items") or []
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def wait_status(self, wants):
        """bounded wait until every expectation holds; returns (items, why)"""
        deadline = time.monotonic() + STATUS_TIMEOUT
        items, why = None, "admin /status never answered"
        wants = [dict(w) for w in wants]
        for w in wants:
            key = (w.get("kind"), w.get("namespace", ""), w.get("name"))
            if key in self.seen_gen:
                w["_prev"] = self.seen_gen[key]
            if "statusAddresses" in w:
                w["statusAddresses"] = [self.subst(v) for v in w["statusAddresses"]]
        while True:
            if self.gw_proc.poll() is not None:
                return None, "gwbpf exited with code %d" % self.gw_proc.returncode
            items = self.get_status()
            if items is not None:
                why = None
                for w in wants:
                    why = check_status(items, w)
                    if why:
                        break
                if why is None:
                    self.remember_generations(items)
                    return items, None
            if time.monotonic() > deadline:
                return items, why + self.status_view(items, wants, why)
            time.sleep(0.1)

    def remember_generations(self, items):
        """each object's generation and condition observedGenerations when a
        phase's status held, for generationChanged/observedGenerationChanged"""
        for it in items or []:
            md = it.get("metadata") or {}
            conds = (it.get("status") or {}).get("conditions") or []
            self.seen_gen[(it.get("kind"), md.get("namespace") or "", md.get("name"))] = (
                md.get("generation"), {c.get("observedGeneration") for c in conds})

    def status_view(self, items, wants, why):
        """the status gwbpf reported for the object a failed expectation
        names, so a failure shows what was there instead of what was not"""
        for w in wants:
            kind, ns, name = w.get("kind"), w.get("namespace", ""), w.get("name")
            if "%s %s/%s" % (kind, ns, name) not in (why or ""):
                continue
            for it in items or []:
                md = it.get("metadata") or {}
                if it.get("kind") == kind and md.get("name") == name and \
                        (md.get("namespace") or "") == ns:
                    text = json.dumps({"generation": md.get("generation"),
                                       "status": it.get("status")}, sort_keys=True)
                    if len(text) > 3000:
                        text = text[:3000] + "..."
                    return "\n  gwbpf reports: " + text
        return ""

    def gateway_target(self, items, req):
        gref = req.get("gateway") or self.spec.get("gateway") or \
            "gateway-conformance-infra/same-namespace"
        ns, name = gref.split("/", 1)
        addr = None
        for it in items or []:
            md = it.get("metadata") or {}
            if it.get("kind") == "Gateway" and md.get("name") == name and md.get("namespace") == ns:
                for a in (it.get("status") or {}).get("addresses") or []:
                    addr = a.get("value")
                    break
        port = req.get("port") or self.spec.get("port")
        if not port:
            for d in self.docs:
                md = d.get("metadata") or {}
                if d.get("kind") == "Gateway" and md.get("name") == name and md.get("namespace") == ns:
                    ls = (d.get("spec") or {}).get("listeners") or []
                    http_ls = [l for l in ls if l.get("protocol") == "HTTP"] or ls
                    port = http_ls[0]["port"] if http_ls else 80
        return addr, int(port or 80)

    def tls_for(self, exp):
        """(context, SNI) for a request entry with `tls`, else None"""
        t = exp.get("tls")
        if not t:
            return None
        ns, name = (t.get("secret") or
                    "gateway-conformance-infra/tls-validity-checks-certificate").split("/", 1)
        crt = self.secret_files.get((ns, name))
        if crt is None:
            raise RuntimeError("tls: no runner-generated Secret %s/%s" % (ns, name))
        ctx = tls_context(crt)
        files = {"sni": t.get("serverName", ""), "ca": crt}   # for the HTTP/2 client (curl)
        if t.get("clientSecret"):
            # present this client certificate when the server asks for one
            cns, cname = t["clientSecret"].split("/", 1)
            ccrt = self.secret_files.get((cns, cname))
            if ccrt is None:
                raise RuntimeError("tls: no runner-generated Secret %s/%s" % (cns, cname))
            ctx.load_cert_chain(ccrt, ccrt[:-len(".crt")] + ".key")
            files["cert"], files["key"] = ccrt, ccrt[:-len(".crt")] + ".key"
        return ctx, t.get("serverName", ""), files

    def run_requests(self, items, reqs, first_budget):
        budget = first_budget
        for i, exp in enumerate(reqs):
            addr, port = self.gateway_target(items, exp)
            if not addr:
                return "Gateway for request %d has no status.addresses" % i
            done, why = l4_kind.run_request(sys.modules[__name__], self, exp, addr, port, budget)
            if not done:
                done, why = grpc_kind.run_request(sys.modules[__name__], exp, addr, port, budget)
            if done:
                budget = MAX_TIME_AFTER_CONVERGED
                if why:
                    return "request %d: %s" % (i, why)
                continue
            rq = exp.get("request") or {}
            method = rq.get("method") or "GET"
            host = rq.get("host") or calc_host(addr, port)
            path = rq.get("path") or "/"
            headers = [(k, str(v)) for k, v in (rq.get("headers") or {}).items()]
            bset = exp.get("backendSetResponseHeaders") or {}
            headers.append(("X-Echo-Set-Header", ",".join("%s:%s" % kv for kv in bset.items())))
            need = exp.get("consecutiveSuccesses", REQUIRED_CONSECUTIVE_SUCCESSES)
            tls = self.tls_for(exp)
            uq = exp.get("uniqueQuery")
            deadline = time.monotonic() + budget
            ok = attempts = 0
            last, why, sent = None, None, path
            while True:
                if exp.get("websocket"):
                    r, why = ws_probe(addr, port, host, path, exp["websocket"])
                else:
                    if uq:
                        # a fresh value per probe, so the backend counts the
                        # attempts of each probe apart (upstream uuid.New())
                        sent = "%s%s%s=%s" % (path, "&" if "?" in path else "?", uq, uuid.uuid4())
                    r = http_request(addr, port, method, host, sent, headers, tls=tls)
                    e = exp
                    ccs = (exp.get("expectedRequest") or {}).get("clientCertSecret")
                    if ccs:
                        with open(self.secret_files[tuple(ccs.split("/", 1))]) as f:
                            e = dict(e, expectedRequest=dict(exp["expectedRequest"],
                                                             clientCert=f.read()))
                    if uq and exp.get("expectedRequest") is None:
                        e = dict(exp, expectedRequest=dict(rq, path=sent))
                    why = compare(rq, sent, r, e)
                attempts += 1
                last = r
                if why is None:
                    ok += 1
                    if ok >= need:
                        break
                    continue
                ok = 0
                if time.monotonic() + RETRY_DELAY > deadline:
                    break
                time.sleep(RETRY_DELAY)
            budget = MAX_TIME_AFTER_CONVERGED
            if why is not None:
                return self.describe(i, exp, addr, port, method, host, sent, headers, last, why,
                                     attempts, tls)
            for m in exp.get("mirroredTo") or []:
                if exp.get("mirrorDistribution"):
                    continue
                why = self.mirrored(m, path)
                if why:
                    return "request %d: %s" % (i, why)
            if exp.get("mirrorDistribution"):
                why = self.mirror_distribution(exp, addr, port, method, host, path, headers)
                if why:
                    return "request %d: %s" % (i, why)
            if exp.get("distribution"):
                why = self.distribution(exp, addr, port, method, host, path, headers)
                if why:
                    return "request %d: %s" % (i, why)
            if exp.get("podPrefixFromRequestHeader"):
                why = self.pod_prefix_from_header(exp, addr, port, method, host, path, headers)
                if why:
                    return "request %d: %s" % (i, why)
        return None

    def pod_prefix_from_header(self, exp, addr, port, method, host, path, headers):
        """upstream HTTPRouteRequestHeaderModifierBackendWeights: every round
        trip shows exactly one `header` at the backend, whose value prefixes
        the answering pod's name (each backendRef's own filter set it)"""
        d = exp["podPrefixFromRequestHeader"]
        hname = d["header"].lower()
        seen = {}
        for k in range(int(d.get("samples", 100))):
            r = http_request(addr, port, method, host, path, headers)
            why = compare(exp.get("request") or {}, path, r, dict(exp, backend=""))
            if why:
                return "round trip %d: %s" % (k, why)
            doc = r.echo() or {}
            vals = [v for n, vs in (doc.get("headers") or {}).items() if n.lower() == hname
                    for v in vs]
            if len(vals) != 1:
                return "round trip %d: expected exactly one %s header at the backend, got %s " \
                    "(backend saw %s)" % (k, d["header"], vals, json.dumps(doc.get("headers")))
            pod = str(doc.get("pod", ""))
            if not pod.startswith(vals[0]):
                return "round trip %d: %s header %r is not a prefix of the answering pod %r" % (
                    k, d["header"], vals[0], pod)
            seen[vals[0]] = seen.get(vals[0], 0) + 1
        self.note("podPrefixFromRequestHeader: %s" % seen)
        return None

    def pod_log_tail(self, m, n=5):
        """the last lines the echo pods of a backend logged (what it saw)"""
        out = []
        for ns, pod, f in self.pod_logs:
            if ns != m.get("namespace", "") or not pod.startswith(m["name"]):
                continue
            try:
                with open(f, errors="replace") as fh:
                    out += ["%s: %s" % (pod, l.rstrip()) for l in fh.readlines()[-n:]]
            except OSError:
                pass
        return json.dumps(out[-2 * n:])

    def mirror_log_count(self, m, path):
        line = "Echoing back request made to %s to client" % path
        logs = [f for ns, pod, f in self.pod_logs
                if ns == m.get("namespace", "") and pod.startswith(m["name"])]
        n = 0
        for f in logs:
            try:
                with open(f, errors="replace") as fh:
                    n += fh.read().count(line)
            except OSError:
                pass
        return n

    def mirror_distribution(self, exp, addr, port, method, host, path, headers):
        """upstream ExpectMirroredRequest with a percentage: after `samples`
        requests (`concurrency` in flight), the mirror's log holds
        samples*percent/100 lines for the path, within +-tolerancePercent
        percent of samples; up to `attempts` rounds"""
        d = exp["mirrorDistribution"]
        samples = int(d.get("samples", 500))
        conc = int(d.get("concurrency", 10))
        tol = float(d.get("tolerancePercent", 5.0))
        errs = []
        for attempt in range(int(d.get("attempts", 5))):
            before = {m["name"]: self.mirror_log_count(m, path) for m in exp["mirroredTo"]}

            def one(_):
                r = http_request(addr, port, method, host, path, headers)
                return compare(exp.get("request") or {}, path, r, exp)

            with concurrent.futures.ThreadPoolExecutor(max_workers=conc) as ex:
                bad = [w for w in ex.map(one, range(samples)) if w]
            if bad:
                errs = ["%d of %d requests failed, e.g. %s" % (len(bad), samples, bad[0])]
                continue
            errs = []
            for m in exp["mirroredTo"]:
                want = samples * float(m.get("percent", 100)) / 100.0
                # mirrors are fire and forget: give the last ones a moment to land
                deadline = time.monotonic() + 3.0
                while True:
                    got = self.mirror_log_count(m, path) - before[m["name"]]
                    if abs(got - want) <= samples * tol / 100.0 or got > want or \
                            time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                if abs(got - want) > samples * tol / 100.0:
                    errs.append("mirror %s got %d of %d requests (%.1f%%), want %.1f%% +-%.1f" % (
                        m["name"], got, samples, 100.0 * got / samples,
                        float(m.get("percent", 100)), tol))
            if not errs:
                return None
        return "mirror distribution failed: " + "; ".join(errs)

    def mirrored(self, m, path):
        """upstream ExpectMirroredRequest: a pod of the mirror backend logs
        that it answered path, within the consistency budget"""
        line = "Echoing back request made to %s to client" % path
        logs = [f for ns, pod, f in self.pod_logs
                if ns == m.get("namespace", "") and pod.startswith(m["name"])]
        deadline = time.monotonic() + MAX_TIME_AFTER_CONVERGED
        while True:
            for f in logs:
                try:
                    with open(f, errors="replace") as fh:
                        if line in fh.read():
                            return None
                except OSError:
                    pass
            if time.monotonic() > deadline:
                return "mirror %s/%s never logged %r (its pods logged: %s)" % (
                    m.get("namespace"), m["name"], line, self.pod_log_tail(m))
            time.sleep(0.1)

    def distribution(self, exp, addr, port, method, host, path, headers):
        """upstream testDistribution: samples requests (10 at a time) must
        split across backends within tolerance of the weights; up to
        `attempts` tries"""
        def sample():
            r = http_request(addr, port, method, host, path, headers)
            why = compare(exp.get("request") or {}, path, r, dict(exp, backend=""))
            if why:
                return None, "response expectation failed: " + why
            return (r.echo() or {}).get("pod", ""), None

        return weighted.check(exp["distribution"], sample)

    def describe(self, i, exp, addr, port, method, host, path, headers, r, why, attempts,
                 tls=None):
        lines = ["request %d (%s) did not converge after %d attempt(s): %s" % (
            i, exp.get("name") or "%s %s%s" % (method, host, path), attempts, why)]
        if exp.get("websocket"):
            lines.append("  sent:     WebSocket ws://%s:%d%s Host: %s frames: %s" % (
                addr, port, path, host, json.dumps(exp["websocket"].get("exchange"))))
        else:
            lines.append("  sent:     %s %s://%s:%d%s %s: %s%s headers: %s" % (
                method, "https" if tls else "http", addr, port, path,
                "Host" if CLIENT == "http1" else "over HTTP/2, :authority", host,
                " SNI: %s" % tls[1] if tls else "", dict(headers)))
        e = {k: exp[k] for k in ("expectedRequest", "response", "backend", "namespace",
                                 "redirectRequest", "nonEchoResponse", "websocket", "tls") if k in exp}
        lines.append("  expected: " + json.dumps(e, sort_keys=True))
        if r is not None:
            if r.error:
                lines.append("  received: error " + r.error)
            else:
                lines.append("  received: %d %s" % (r.status, dict(r.headers)))
                doc = r.echo()
                if isinstance(doc, dict):
                    view = {k: doc.get(k) for k in ("path", "host", "method", "headers",
                                                    "namespace", "pod")}
                    lines.append("  backend saw: " + json.dumps(view, sort_keys=True))
                elif r.body:
                    lines.append("  body: %r" % r.body[:300])
        return "\n".join(lines)

    def apply_phase(self, cfg, phase):
        """later phases replace or add objects (matched by kind/ns/name) and
        delete others, then rewrite the config file in place"""
        docs = list(self.docs)

        def bump(old, new):
            # the API server's job: a spec change bumps metadata.generation
            og = (old.get("metadata") or {}).get("generation", 1)
            if old.get("spec") != new.get("spec"):
                new.setdefault("metadata", {})["generation"] = og + 1
            elif "generation" in (old.get("metadata") or {}):
                new.setdefault("metadata", {})["generation"] = og
        for d in phase.get("apply") or []:
            d = self.fix([copy.deepcopy(d)])[0]
            k = obj_key(d)
            for x in docs:
                if obj_key(x) == k:
                    bump(x, d)
            docs = [x for x in docs if obj_key(x) != k] + [d]
        if phase.get("patchAddresses") is not None:
            # upstream filterAddr + merge patch: keep, in order, the Gateway
            # spec.addresses whose value is listed
            keep = [self.subst(v) for v in phase["patchAddresses"]]
            for i, x in enumerate(docs):
                addrs = (x.get("spec") or {}).get("addresses")
                if x.get("kind") != "Gateway" or not addrs:
                    continue
                if not any(a.get("value") in keep for a in addrs):
                    continue
                n = copy.deepcopy(x)
                n["spec"]["addresses"] = [a for a in addrs if a.get("value") in keep]
                bump(x, n)
                docs[i] = n
        for ref in phase.get("delete") or []:
            k = (ref.get("kind"), ref.get("namespace", ""), ref.get("name"))
            docs = [x for x in docs if obj_key(x) != k]
        self.docs = docs
        path = os.path.join(cfg, "objects.yaml")
        with open(path + ".tmp", "w") as f:
            yaml.safe_dump_all(docs + self.slices, f, sort_keys=False)
        os.rename(path + ".tmp", path)

    def run(self):
        self.tmp = tempfile.mkdtemp(prefix="gwbpf-conf-")
        try:
            docs = self.fix(self.manifests())
            docs.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                         "metadata": {"name": CLASS},
                         "spec": {"controllerName": CONTROLLER}})
            for ns, name, hosts in SETUP_SECRETS:
                docs.append(self_signed_secret(self.tmp, ns, name, hosts))
                self.secret_files[(ns, name)] = os.path.join(self.tmp, name + ".crt")
            for ns, cm, name in SETUP_CLIENT_CAS:
                docs.append(self_signed_secret(self.tmp, ns, name, ["client." + name]))
                self.secret_files[(ns, name)] = os.path.join(self.tmp, name + ".crt")
                with open(self.secret_files[(ns, name)]) as f:
                    docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": cm, "namespace": ns},
                                 "data": {"ca.crt": f.read()}})
            for ns, name, cn, ca in SETUP_CA_SIGNED_SECRETS:
                ca_crt = self.secret_files[(ns, ca)]
                with open(ca_crt, "rb") as f:
                    ca_id = hashlib.sha256(f.read()).hexdigest()
                cached_cert(self.tmp, name, ("ca-signed", cn, ca_id),
                            lambda d: mtls_kind.ca_signed_secret(d, ns, name, cn, ca_crt))
                docs.append(tls_secret_doc(self.tmp, ns, name))
                self.secret_files[(ns, name)] = os.path.join(self.tmp, name + ".crt")
            for ns, cm, src in SETUP_CA_CONFIGMAPS:
                crt = self.secret_files.get((ns, src)) if src else None
                if crt is None:
                    self_signed_secret(self.tmp, ns, cm + "-ca", ["unrelated.example.com"])
                    crt = os.path.join(self.tmp, cm + "-ca.crt")
                self.configmap_files[(ns, cm)] = crt
                with open(crt) as f:
                    docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": cm, "namespace": ns},
                                 "data": {"ca.crt": f.read()}})
            self.docs = docs
            self.slices = self.start_backends(docs)
            self.fill_endpoint_slices(docs)
            cfg = self.write_config(docs + self.slices)
            self.start_gwbpf(cfg)
            phases = [self.spec] + list(self.spec.get("then") or [])
            budget = MAX_TIME_TO_CONSISTENCY
            for pi, ph in enumerate(phases):
                if pi > 0:
                    self.apply_phase(cfg, ph)
                items, why = self.wait_status(ph.get("status") or [])
                if why:
                    return "FAIL", ("phase %d: " % pi if pi else "") + "status: " + why
                why = self.run_requests(items, ph.get("requests") or [], budget)
                if why:
                    return "FAIL", ("phase %d: " % pi if pi else "") + why
            return "PASS", None
        except Exception as e:  # noqa: BLE001 - the runner must always clean up
            return "FAIL", "runner error: %s: %s" % (type(e).__name__, e)
        finally:
            self.cleanup()

    def gw_log_tail(self, n=25):
        try:
            with open(self.gw_log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except (OSError, AttributeError):
            return ""

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 3
        for p in self.procs:
            try:
                p.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        if getattr(self, "bpffs", None):
            self.kernel_counts = kernel_counters(self.bpffs)
            shutil.rmtree(self.bpffs, ignore_errors=True)  # the pins of --mode kernel


# ---------------------------------------------------------------- report

# why an upstream manifest has no case yet, by file-name prefix (listed in
# docs/conformance/README.md; the list is computed, so it never goes stale)
NOT_RUN = [
]


def write_report(results, cases):
    docs = os.path.join(ROOT, "docs", "conformance")
    os.makedirs(docs, exist_ok=True)
    outcome = {"PASS": "Passed", "FAIL": "Failed", "SKIP": "Skipped"}
    # a feature is supported when every case naming it passed. A skipped case
    # does not count against the core features (it was skipped for the other,
    # optional feature it names), but does against the rest
    feats = {}
    for c in cases:
        st, _ = results.get(c.name, ("SKIP", None))
        for f in c.spec.get("features") or []:
            if st == "SKIP" and f in PROFILE_CORE_FEATURES:
                feats.setdefault(f, True)
                continue
            feats[f] = feats.get(f, True) and st == "PASS"

    def result(st):
        # upstream semantics: any failure fails; skipped tests make it partial
        if st["Failed"]:
            return "failure"
        return "partial" if st["Skipped"] or not st["Passed"] else "success"

    profiles = []
    for prof in sorted({c.spec.get("profile", "GATEWAY-HTTP") for c in cases}):
        pc = [c for c in cases if c.spec.get("profile", "GATEWAY-HTTP") == prof]
        core = {"Passed": 0, "Failed": 0, "Skipped": 0}
        ext = {"Passed": 0, "Failed": 0, "Skipped": 0}
        core_feats, ext_feats = set(), set()
        for c in pc:
            st, _ = results.get(c.name, ("SKIP", None))
            is_ext = c.spec.get("conformance") == "extended"
            (ext if is_ext else core)[outcome[st]] += 1
            (ext_feats if is_ext else core_feats).update(c.spec.get("features") or [])
        ext_only = ext_feats - core_feats
        profiles.append({
            "name": prof,
            "core": {"result": result(core), "statistics": core},
            "extended": {"result": result(ext), "statistics": ext,
                         "supportedFeatures": sorted(f for f in ext_only if feats.get(f)),
                         "unsupportedFeatures": sorted(f for f in ext_only if not feats.get(f))},
        })

    report = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "ConformanceReport",
        "implementation": {"organization": "gwbpf", "project": "gwbpf",
                           "url": "https://github.com/gwbpf/gwbpf",
                           "version": "v" + gwbpf_version(), "contact": ["@gwbpf/maintainers"]},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "gatewayAPIVersion": "v1.6.1",
        # experimental: the suite includes experimental-channel fields
        # (HTTPRoute retry) and gwbpf reads the experimental schemas
        "gatewayAPIChannel": "experimental",
        "mode": "default",
        "profiles": profiles,
        "succeededProvisionalTests": sorted(
            c.name for c in cases if c.spec.get("provisional") and results.get(c.name, ("",))[0] == "PASS"),
    }
    with open(os.path.join(docs, "report.yaml"), "w") as f:
        f.write("# generated by tests/conformance/run.py --report; do not edit\n")
        yaml.safe_dump(report, f, sort_keys=False)
    write_docs_readme(docs, results, cases, report)
    with open(os.path.join(docs, "supported-features.txt"), "w") as f:
        f.write("# Gateway API features whose every conformance case passed\n"
                "# (generated by tests/conformance/run.py --report)\n")
        for feat in sorted(k for k, v in feats.items() if v):
            f.write(feat + "\n")


def not_run_manifests(cases):
    """upstream per-test manifests no case loads, with the reason"""
    gwapi = gateway_api_dir()
    if not gwapi:
        return []
    used = set()
    for c in cases:
        used.update(os.path.basename(m) for m in c.spec.get("manifests") or [])
    out = []
    for m in sorted(glob.glob(os.path.join(gwapi, "conformance", "tests", "*.yaml"))):
        base = os.path.basename(m)
        if base in used or base == "gatewayclass-observed-generation-bump.yaml":
            continue   # that one's GatewayClass is inlined by its case
        why = [r for pre, r in NOT_RUN if base.startswith(pre)]
        out.append((base, why[0] if why else "no case yet"))
    return out


def write_docs_readme(docs, results, cases, report):
    """docs/conformance/README.md: what passed, and every skip with its
    reason, regenerated with the report so the two never disagree"""
    lines = [
        "# Gateway API conformance (generated)",
        "",
        "Generated by `tests/conformance/run.py --report` on %s (mode %s); do not edit."
        % (report["date"], MODE_RUN),
        "`make conformance` runs every case in both modes (kernel fast path and `--no-bpf`);",
        "the verdicts must be identical. How the runner works and the case format:",
        "`tests/conformance/README.md`. Upstream-format report: `report.yaml`; features that",
        "pass every case: `supported-features.txt` (what gwbpf reports in GatewayClass",
        "`status.supportedFeatures`).",
        "",
        "HTTP/2: `make conformance` also runs, in mode no-bpf, every case that sends HTTP requests",
        "with `--client h2c`: each request over HTTP/2 (h2c with prior knowledge on HTTP listeners,",
        "ALPN `h2` on HTTPS ones), compared exactly as over HTTP/1.1; it must pass as well. The",
        "cases it skips (no HTTP request, WebSocket, TLSRoute passthrough) and the wire differences",
        "it deals with (`:authority`, lowercase names, no hop-by-hop fields):",
        "`tests/conformance/README.md`, \"Every request over HTTP/2\".",
        "",
        "Gateway API %s, channel %s:" % (report["gatewayAPIVersion"], report["gatewayAPIChannel"]),
        "",
    ]
    for prof in report["profiles"]:
        lines.append("- %s: core %s %s, extended %s %s" % (
            prof["name"], prof["core"]["result"], json.dumps(prof["core"]["statistics"]),
            prof["extended"]["result"], json.dumps(prof["extended"]["statistics"])))
    lines += ["", "| case | profile | conformance | features | result |",
              "| --- | --- | --- | --- | --- |"]
    for c in cases:
        st = results.get(c.name, ("SKIP", None))[0]
        lines.append("| %s | %s | %s | %s | %s |" % (
            c.name, c.spec.get("profile", "GATEWAY-HTTP"), c.spec.get("conformance", "core"),
            ", ".join(c.spec.get("features") or []), st))
    skipped = [(c.name, results.get(c.name, ("SKIP", c.spec.get("skip")))[1]) for c in cases
               if results.get(c.name, ("SKIP",))[0] == "SKIP"]
    lines += ["", "## Skipped cases and why", ""]
    if not skipped:
        lines.append("None.")
    for name, why in skipped:
        lines.append("- **%s**: %s" % (name, " ".join(str(why or "").split())))
    lines += ["", "## Upstream manifests without a case", ""]
    nr = not_run_manifests(cases)
    if not nr:
        lines.append("None.")
    for base, why in nr:
        lines.append("- `conformance/tests/%s`: %s" % (base, why))
    lines += ["", "The mesh (GAMMA) profile is out of scope: gwbpf is a gateway, not a mesh.", ""]
    with open(os.path.join(docs, "README.md"), "w") as f:
        f.write("\n".join(lines))


MODE_RUN = "no-bpf"
KERNEL_BPF = "msg,steer"
KERNEL_CG = None  # --mode kernel: the cgroup v2 directory this process moved into


def kernel_counters(bpffs):
    """--mode kernel: {reason: count} of the pinned gw_counters (gwbpf-dpctl
    stats), e.g. steer_fwd = requests the kernel forwarded itself"""
    dpctl = os.path.join(BUILD, "gwbpf-dpctl")
    try:
        out_ = subprocess.run([dpctl, "stats", "--bpffs", bpffs], capture_output=True,
                              text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    counts = {}
    for line in out_.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "reason" and f[2].isdigit():
            counts[f[1]] = counts.get(f[1], 0) + int(f[2])
    return counts


def kernel_cgroup_enter():
    """--mode kernel: a cgroup of our own, joined by this process so that
    every connection the runner, gwbpf and the backends make is in it;
    returns a function that leaves and removes it"""
    global KERNEL_CG
    if os.geteuid() != 0:
        skip_exit("--mode kernel needs root (cgroup, BPF)")
    cg2 = None
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                cg2 = parts[1]
                break
    if not cg2:
        skip_exit("--mode kernel: no cgroup2 mount")
    with open("/proc/self/cgroup") as f:
        home = cg2 + [l.split(":", 2)[2].strip() for l in f if l.startswith("0:")][0]
    KERNEL_CG = os.path.join(cg2, "gwbpf-conf-%d" % os.getpid())
    os.mkdir(KERNEL_CG)
    with open(os.path.join(KERNEL_CG, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))

    def leave():
        with open(os.path.join(home, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        for _ in range(50):  # killed children leave it asynchronously
            try:
                os.rmdir(KERNEL_CG)
                return
            except OSError:
                time.sleep(0.1)
    return leave
PROFILE_CORE_FEATURES = {"Gateway", "HTTPRoute", "ReferenceGrant", "GRPCRoute", "TLSRoute"}


def gwbpf_version():
    try:
        o = subprocess.run([GWBPF, "version"], capture_output=True, text=True, timeout=5).stdout
        m = re.search(r"(\d+\.\d+\.\d+)", o)
        if m:
            return m.group(1)
    except (OSError, subprocess.SubprocessError):
        pass
    return "0.1.0"


# ---------------------------------------------------------------- main

def main():
    global GWBPF, ECHO
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["bpf", "no-bpf", "kernel"], default="no-bpf",
                    help="kernel: the runner, gwbpf and the backends in one cgroup given to "
                    "gwbpf --cgroup with --bpf " + KERNEL_BPF + ", so requests take the sk_msg "
                    "bypass and L7 forwarding (root; one case at a time)")
    ap.add_argument("--case", action="append", default=[],
                    help="run only this case (name or file stem); repeatable")
    ap.add_argument("-j", type=int, default=1, help="cases in parallel (1-4)")
    ap.add_argument("--client", choices=["http1", "h2c", "h2"], default="http1",
                    help="h2c (or its alias h2): send every HTTP request over HTTP/2, h2c "
                    "with prior knowledge on HTTP listeners, ALPN h2 on HTTPS ones")
    ap.add_argument("--report", action="store_true",
                    help="write docs/conformance/report.yaml and supported-features.txt")
    ap.add_argument("-v", "--verbose", action="store_true", help="print gwbpf's log on failure")
    a = ap.parse_args()
    a.j = max(1, min(4, a.j))
    global MODE_RUN, CLIENT
    MODE_RUN = a.mode
    CLIENT = "h2c" if a.client == "h2" else a.client
    if CLIENT != "http1" and shutil.which("curl") is None:
        skip_exit("--client h2c needs curl")
    if CLIENT != "http1" and a.report:
        ap.error("--report describes the HTTP/1.1 run; it cannot be combined with --client")

    gwapi = gateway_api_dir()
    if not gwapi:
        skip_exit("Gateway API data not found (../shared/gateway-api or GWBPF_GATEWAY_API_DIR)")
    for b in (GWBPF, ECHO):
        if not os.access(b, os.X_OK):
            skip_exit("%s not built (run make)" % b)
    if shutil.which("openssl") is None:
        skip_exit("openssl command missing")

    # run private copies: a `make` relinking build/ in the middle of a run
    # (other work on the same tree) must not break cases half way
    bindir = tempfile.mkdtemp(prefix="gwbpf-conf-bin-")
    global CERT_CACHE
    CERT_CACHE = os.path.join(bindir, "certs")
    os.makedirs(CERT_CACHE)
    for name in ("GWBPF", "ECHO", "GRPC_CLIENT"):
        if not os.path.exists(globals()[name]):
            continue  # grpc_client: only the gRPC cases need it, and say so
        dst = os.path.join(bindir, os.path.basename(globals()[name]))
        shutil.copy2(globals()[name], dst)
        globals()[name] = dst
    leave = None
    if a.mode == "kernel":
        a.j = 1  # one gwbpf at a time: every case shares the cgroup's sockops
        leave = kernel_cgroup_enter()
    try:
        run_cases(a, gwapi)
    finally:
        if leave:
            leave()
        shutil.rmtree(bindir, ignore_errors=True)


SLOTS = 32


def lease_slot():
    """an address-range slot no other runner on this machine holds: an
    flock'ed file per slot, released when the case ends (or the process
    dies). Returns (slot, file) or raises when all are busy for 60 s."""
    import fcntl
    deadline = time.monotonic() + 60
    while True:
        for k in range(SLOTS):
            f = open(os.path.join(tempfile.gettempdir(), "gwbpf-conformance-slot-%d.lock" % k), "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return k, f
            except OSError:
                f.close()
        if time.monotonic() > deadline:
            raise RuntimeError("no free address slot (%d runners busy)" % SLOTS)
        time.sleep(0.5)


def run_cases(a, gwapi):
    cases = [Case(p) for p in sorted(glob.glob(os.path.join(CASES, "*.yaml")))]
    if a.case:
        want = set(a.case)
        cases = [c for c in cases if c.name in want or os.path.basename(c.path)[:-5] in want]
    if not cases:
        skip_exit("no conformance case selected")

    results = {}
    kernel_total = {}

    stopping = threading.Event()

    def one(c):
        if stopping.is_set():
            return      # SIGTERM/SIGINT: queued cases never start
        if c.spec.get("skip"):
            results[c.name] = ("SKIP", c.spec["skip"])
            out("SKIP %s: %s" % (c.name, c.spec["skip"]))
            return
        if CLIENT != "http1" and h2_skip_reason(c.spec):
            results[c.name] = ("SKIP", h2_skip_reason(c.spec))
            out("SKIP %s: %s" % (c.name, results[c.name][1]))
            return
        slot, lease = lease_slot()
        try:
            t0 = time.monotonic()
            r = Runner(c, a.mode, slot, gwapi, a.verbose)
            st, why = r.run()
            results[c.name] = (st, why)
            msg = "%s %s (%.1fs)" % (st, c.name, time.monotonic() - t0)
            kc = getattr(r, "kernel_counts", None)
            if kc is not None:
                for k, v in kc.items():
                    kernel_total[k] = kernel_total.get(k, 0) + v
                msg += " [kernel-forwarded requests: %d]" % kc.get("steer_fwd", 0)
            if why:
                msg += "\n  " + why.replace("\n", "\n  ")
                if a.verbose or st == "FAIL":
                    tail = r.gw_log_tail()
                    if tail:
                        msg += "\n  ----- gwbpf log (tail)\n  " + tail.rstrip().replace("\n", "\n  ")
            out(msg)
            if not os.environ.get("GWBPF_CONF_KEEP"):
                shutil.rmtree(r.tmp, ignore_errors=True)
        finally:
            lease.close()

    def stop(*_):
        # running cases finish their cleanup (every process they started is
        # killed); the executor then drains the queue without starting more
        stopping.set()
        sys.exit(1)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as ex:
        list(ex.map(one, cases))

    n = {s: sum(1 for v in results.values() if v[0] == s) for s in ("PASS", "FAIL", "SKIP")}
    out("mode %s%s" % (a.mode, "" if CLIENT == "http1" else ", client " + CLIENT))
    out("%d passed, %d failed, %d skipped" % (n["PASS"], n["FAIL"], n["SKIP"]))
    if a.mode == "kernel":
        out("kernel counters over all cases: " + ", ".join(
            "%s=%d" % kv for kv in sorted(kernel_total.items()) if kv[1]))
    if a.report:
        write_report(results, cases)
    sys.exit(1 if n["FAIL"] else 0)


if __name__ == "__main__":
    main()
