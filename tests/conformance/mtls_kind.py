"""tests/conformance/mtls_kind.py - TLS echo backends that require a client
certificate, for GatewayBackendClientCertificate (run.py hooks).

Upstream runs echo-basic with TLS_SERVER_CERT/TLS_SERVER_PRIVKEY from a
Secret volume and TLS_CLIENT_CACERTS from a ConfigMap volume: HTTPS on 8443
that refuses clients without a certificate from that CA. gwbpf-echo has no
such mode, so this python stand-in (stdlib ssl) answers the same echo JSON
(path, host, method, proto, headers, namespace, pod) plus
tls.{serverName, peerCertificates} with the client certificate it saw (PEM).
"""
import os
import subprocess
import sys

TLS_PORT = 8443

ECHO_SRC = r'''
import json, socketserver, ssl, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
ip, port, crt, key, ca, ns, pod = sys.argv[1:8]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(ca)
def sni(sock, name, c):
    sock.gw_sni = name
ctx.sni_callback = sni
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n: self.rfile.read(n)
        der = self.connection.getpeercert(binary_form=True)
        hdrs = {}
        for k, v in self.headers.items():
            hdrs.setdefault(k, []).append(v)
        out = json.dumps({"path": self.path, "host": self.headers.get("Host", ""),
                          "method": self.command, "proto": self.request_version,
                          "headers": hdrs, "namespace": ns, "pod": pod,
                          "tls": {"serverName": getattr(self.connection, "gw_sni", None) or "",
                                  "peerCertificates": [ssl.DER_cert_to_PEM_cert(der)] if der else []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any
class S(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    def get_request(self):
        s, a = self.socket.accept()
        s.settimeout(10)
        return ctx.wrap_socket(s, server_side=True), a
    def handle_error(self, request, client_address): pass
S((ip, int(port)), H).serve_forever()
'''


def _env(container):
    return {e.get("name"): e.get("value") for e in container.get("env") or []}


def mtls_deployments(docs):
    """(namespace, name) -> (server Secret, client CA ConfigMap) for
    Deployments whose echo-basic requires client certificates"""
    out = {}
    for d in docs:
        if d.get("kind") != "Deployment":
            continue
        md = d.get("metadata") or {}
        pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
        if not any("TLS_CLIENT_CACERTS" in _env(c) for c in pod.get("containers") or []):
            continue
        secret = cm = None
        for v in pod.get("volumes") or []:
            secret = (v.get("secret") or {}).get("secretName") or secret
            cm = (v.get("configMap") or {}).get("name") or cm
        out[(md.get("namespace", "default"), md.get("name"))] = (secret, cm)
    return out


def spawn(runner, info, ns, pod, ip, log_path):
    """starts the client-certificate-checking echo of one pod on ip:8443;
    returns the process, or None when the runner has no such Secret or CA"""
    secret, cm = info
    crt = runner.secret_files.get((ns, secret))
    ca = runner.configmap_files.get((ns, cm)) if cm else None
    if not crt or not ca:
        return None
    logf = open(log_path, "w")
    try:
        return subprocess.Popen([sys.executable, "-c", ECHO_SRC, ip, str(TLS_PORT), crt,
                                 crt[:-len(".crt")] + ".key", ca, ns, pod],
                                stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
    finally:
        logf.close()


def ca_signed_secret(tmp, namespace, name, cn, ca_crt):
    """a kubernetes.io/tls Secret with a client certificate for cn signed by
    the CA in ca_crt (its key next to it), as the suite's client certificates"""
    import base64
    key = os.path.join(tmp, name + ".key")
    csr = os.path.join(tmp, name + ".csr")
    crt = os.path.join(tmp, name + ".crt")
    ext = os.path.join(tmp, name + ".ext")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/O=gwbpf conformance/CN=" + cn, "-keyout", key, "-out", csr],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt,
                    "-CAkey", ca_crt[:-len(".crt")] + ".key", "-CAcreateserial", "-days", "365",
                    "-extfile", ext, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(crt, "rb") as f:
        c = base64.b64encode(f.read()).decode()
    with open(key, "rb") as f:
        k = base64.b64encode(f.read()).decode()
    return crt, {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                 "metadata": {"name": name, "namespace": namespace},
                 "data": {"tls.crt": c, "tls.key": k}}
