"""tests/conformance/grpc_kind.py - the HTTP/2 parts of the conformance runner:
h2c/gRPC echo backends, the `grpc` request kind, and `protocol: h2c` requests.

run.py imports this module and calls it from three places only (backend
start, the request loop, the request sender), so the HTTP/1.1 runner stays
as it is.

Case format additions (tests/conformance/README.md):

  requests:
  - grpc:                          # upstream grpc.ExpectedResponse
      method: Echo                 # Echo | EchoTwo | EchoThree (GrpcEcho service)
      authority: foo.bar.com       # RequestMetadata.Authority (default: gateway address)
      metadata: {Version: one}     # RequestMetadata.Metadata
    response: {code: 0}            # expected gRPC status code (default 0 = OK)
    backend: grpc-infra-backend-v1 # pod name prefix (checked on OK)
    namespace: gateway-conformance-infra
    distribution: {...}            # as for HTTP requests: pods by weight
  - request: {path: /, protocol: h2c}   # HTTP/2 with prior knowledge (curl)

The gRPC calls are made by build/grpc_client (tools/bench/grpc_client.c),
which prints the decoded EchoResponse as JSON.
"""
import json
import os
import subprocess
import time

import weighted  # the weighted-distribution check (same folder)

GRPC_SERVICE = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"
H2C_PORT = 3001  # echo-basic's h2c port


def grpc_deployments(docs):
    """(namespace, name) of Deployments that run echo-basic as its gRPC echo
    server (env GRPC_ECHO_SERVER set): every port they serve is gRPC"""
    out = set()
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        md = d.get("metadata") or {}
        tmpl = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in tmpl.get("containers") or []:
            for e in c.get("env") or []:
                if e.get("name") == "GRPC_ECHO_SERVER" and e.get("value"):
                    out.add((md.get("namespace", "default"), md.get("name")))
    return out


def split_ports(ports, grpc):
    """(HTTP/1.1 ports, h2c ports) of one pod: a gRPC pod serves h2c on all
    of them; an HTTP pod serves h2c on 3001 only, as echo-basic does"""
    if grpc:
        return set(), set(ports)
    return set(ports) - {H2C_PORT}, set(ports) & {H2C_PORT}


def spawn_h2_echo(echo, ns, pod, dep, ip, ports, log_path):
    """starts gwbpf-echo --h2c for pod on ip:ports, appending to log_path;
    returns the Popen (the caller kills it)"""
    args = [echo, "--h2c", "--namespace", ns, "--pod", pod, "--service", dep]
    for p in sorted(ports):
        args += ["--listen", "%s:%d" % (ip, p)]
    logf = open(log_path, "a")
    try:
        return subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
    finally:
        logf.close()


# ---------------------------------------------------------------- h2c requests

def h2c_request(resp_cls, addr, port, method, host, path, headers, timeout):
    """one HTTP/2 request with prior knowledge on a fresh connection (curl),
    as upstream's H2CPriorKnowledgeProtocol round tripper; fills a run.py Resp"""
    return h2_request(resp_cls, addr, port, method, host, path, headers, timeout)


def pinned_key(crt):
    """the public key of certificate file crt as a PEM file next to it (curl
    --pinnedpubkey), made once"""
    pub = crt + ".pub.pem"
    if not os.path.exists(pub):
        p = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", crt],
                           capture_output=True, timeout=10)
        if p.returncode != 0:
            raise RuntimeError("openssl x509 -pubkey %s: %s" % (crt, p.stderr.decode().strip()))
        with open(pub + ".tmp", "wb") as f:
            f.write(p.stdout)
        os.rename(pub + ".tmp", pub)
    return pub


def h2_request(resp_cls, addr, port, method, host, path, headers, timeout, tls=None):
    """one HTTP/2 request on a fresh connection (curl): h2c with prior
    knowledge, or with tls = {"sni", "ca", "cert", "key"} HTTPS with ALPN h2.
    The answer must come over HTTP/2 (a server picking http/1.1 by ALPN is an
    error, not a fallback). Fills a run.py Resp.

    What curl would add or change is undone: no Accept header (the Go client
    sends none), paths sent as written (--path-as-is: no dot-segment
    removal), a header with an empty value sent as one ("Name;"). The Host
    header becomes :authority (curl does that for HTTP/2), which is what the
    upstream Go client does too.

    TLS: the served certificate must be the Secret's (its public key pinned,
    curl --pinnedpubkey); names are not checked, for the reason run.py's
    tls_context gives (wildcards "*"/"*.org" that OpenSSL refuses)."""
    r = resp_cls()
    args = ["curl", "-sS", "-i", "--path-as-is", "--max-time", str(timeout),
            "-H", "Host: " + host, "-H", "User-Agent: Go-http-client/2.0", "-H", "Accept:"]
    if method == "HEAD":
        args.append("--head")
    elif method != "GET":
        args += ["-X", method]
    for k, v in headers:
        if k.lower() == "x-echo-set-header" and not v:
            continue
        args += ["-H", "%s: %s" % (k, v) if v != "" else "%s;" % k]
    if tls:
        name = tls.get("sni") or addr
        args += ["--http2", "-k", "--pinnedpubkey", pinned_key(tls["ca"])]
        if tls.get("sni"):
            args += ["--connect-to", "%s:%d:%s:%d" % (name, port, addr, port)]
        if tls.get("cert"):
            args += ["--cert", tls["cert"], "--key", tls["key"]]
        args.append("https://%s:%d%s" % (name, port, path))
    else:
        args += ["--http2-prior-knowledge", "http://%s:%d%s" % (addr, port, path)]
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout + 2)
    except subprocess.TimeoutExpired:
        r.error = "timeout"
        return r
    if p.returncode != 0:
        r.error = "curl exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())
        return r
    raw = p.stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        r.status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        r.error = "bad status line %r" % lines[0]
        return r
    if not lines[0].startswith("HTTP/2 "):
        r.error = "answered over %s, not HTTP/2" % lines[0].split()[0]
        return r
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            r.headers.append((k.strip(), v.strip()))
    r.body = body
    return r


# ---------------------------------------------------------------- gRPC requests

def grpc_call(client, addr, port, spec, timeout):
    """one RPC on a fresh connection; returns the client's JSON document
    (see tools/bench/grpc_client.c) or {"error": why}"""
    method = spec.get("method") or "Echo"
    args = [client, "--timeout", str(timeout)]
    if spec.get("authority"):
        args += ["--authority", spec["authority"]]
    for k, v in (spec.get("metadata") or {}).items():
        args += ["-H", "%s: %s" % (k, v)]
    args += ["%s:%d" % (addr, port), "/%s/%s" % (GRPC_SERVICE, method)]
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout + 2)
    except subprocess.TimeoutExpired:
        return {"error": "grpc_client did not finish"}
    try:
        return json.loads(p.stdout.decode().splitlines()[0])
    except (ValueError, IndexError):
        return {"error": "grpc_client exit %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace").strip())}


def grpc_code(doc):
    """the call's gRPC status as grpc-go reports it: no grpc-status at all is
    a transport failure (UNAVAILABLE) or an HTTP error mapped to a code"""
    if doc.get("grpc_status") is not None:
        return int(doc["grpc_status"])
    if doc.get("error") and not doc.get("status"):
        return 14
    # grpc-go's HTTP status mapping (no grpc-status in the answer)
    return {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14,
            504: 14}.get(doc.get("status"), 2)


def grpc_compare(exp, doc):
    """upstream compareResponse: None when doc meets exp, else why not"""
    spec = exp.get("grpc") or {}
    want = int((exp.get("response") or {}).get("code", 0))
    got = grpc_code(doc)
    if got != want:
        extra = doc.get("error") or doc.get("grpc_message") or ""
        return "expected gRPC code %d, got %d (HTTP %s) %s" % (want, got, doc.get("status"), extra)
    if got == 0:
        resp = doc.get("response") or {}
        fqm = "/%s/%s" % (GRPC_SERVICE, spec.get("method") or "Echo")
        if resp.get("fully_qualified_method") != fqm:
            return "expected path to be %s, got %s" % (fqm, resp.get("fully_qualified_method"))
        ns = exp.get("namespace", "")
        if ns and ns != resp.get("namespace", ""):
            return "expected namespace to be %s, got %s" % (ns, resp.get("namespace", ""))
        if not resp.get("pod", "").startswith(exp.get("backend", "")):
            return "expected pod name to start with %s, got %s" % (exp.get("backend"),
                                                                    resp.get("pod", ""))
    return None


def grpc_converge(client, addr, port, exp, budget, need, retry_delay, timeout):
    """upstream MakeRequestAndExpectEventuallyConsistentResponse: `need`
    successes in a row within budget seconds. Returns None or why"""
    spec = dict(exp.get("grpc") or {})
    if not spec.get("authority"):
        spec["authority"] = addr if port == 80 else "%s:%d" % (addr, port)
    deadline = time.monotonic() + budget
    ok = attempts = 0
    while True:
        doc = grpc_call(client, addr, port, spec, timeout)
        attempts += 1
        why = grpc_compare(exp, doc)
        if why is None:
            ok += 1
            if ok >= need:
                break
            continue
        ok = 0
        if time.monotonic() + retry_delay > deadline:
            return "gRPC %s (authority %s, metadata %s) did not converge after %d attempt(s): " \
                "%s\n  received: %s" % (spec.get("method") or "Echo", spec["authority"],
                                        spec.get("metadata") or {}, attempts, why,
                                        json.dumps(doc, sort_keys=True)[:600])
        time.sleep(retry_delay)
    if exp.get("distribution"):
        return grpc_distribution(client, addr, port, spec, exp, timeout)
    return None


def grpc_distribution(client, addr, port, spec, exp, timeout):
    """upstream TestWeightedDistribution for gRPC: one fresh client per call,
    pods counted by name prefix"""
    def sample():
        doc = grpc_call(client, addr, port, spec, timeout)
        if grpc_code(doc) != 0:
            return None, "expected OK, got %s" % json.dumps(doc)[:200]
        return (doc.get("response") or {}).get("pod", ""), None

    return weighted.check(exp["distribution"], sample, "weighted gRPC distribution")


def h2c_converge(rp, addr, port, exp, budget, need):
    """an HTTP request sent with HTTP/2 prior knowledge, checked exactly as
    run.py checks HTTP/1.1 ones (rp is the run.py module)"""
    rq = exp.get("request") or {}
    method = rq.get("method") or "GET"
    host = rq.get("host") or rp.calc_host(addr, port)
    path = rq.get("path") or "/"
    headers = [(k, str(v)) for k, v in (rq.get("headers") or {}).items()]
    deadline = time.monotonic() + budget
    ok = attempts = 0
    while True:
        r = h2c_request(rp.Resp, addr, port, method, host, path, headers, rp.REQUEST_TIMEOUT)
        attempts += 1
        why = rp.compare(rq, path, r, exp)
        if why is None:
            ok += 1
            if ok >= need:
                return None
            continue
        ok = 0
        if time.monotonic() + rp.RETRY_DELAY > deadline:
            body = r.body[:300] if r and not r.error else r.error
            return "h2c %s %s (Host %s) did not converge after %d attempt(s): %s\n" \
                "  received: %s %r" % (method, path, host, attempts, why, r.status, body)
        time.sleep(rp.RETRY_DELAY)


def run_request(rp, exp, addr, port, budget):
    """run.py's hook: handles requests of the kinds this module adds and
    returns (True, why-or-None); (False, None) for plain HTTP/1.1 ones"""
    need = exp.get("consecutiveSuccesses", rp.REQUIRED_CONSECUTIVE_SUCCESSES)
    if exp.get("grpc") is not None:
        return True, grpc_converge(rp.GRPC_CLIENT, addr, port, exp, budget, need,
                                   rp.RETRY_DELAY, rp.REQUEST_TIMEOUT)
    if (exp.get("request") or {}).get("protocol") == "h2c":
        return True, h2c_converge(rp, addr, port, exp, budget, need)
    return False, None
