#!/usr/bin/python3
"""kube_scale_gen.py - helpers for tools/bench/kube_scale.sh

  gen DIR ECHO_PORT GW_PORT...   write the large-cluster objects as JSON
                                 `kind: List` batches DIR/batch-NNN.json
                                 (each well under fakeapi's 8 MiB body limit)
  wait URL CODE SECONDS START_NS print the ms from START_NS (time.time_ns())
                                 until GET URL answers CODE; exit 1 on timeout
  patches API N SECONDS START_NS print the ms until fakeapi has served N
                                 status patches; exit 1 on timeout
  rss PID                        print "VmHWM VmRSS" of PID in MiB

Sizes come from the environment: KS_SERVICES (5000), KS_SLICES (4 per
Service), KS_ENDPOINTS (3 per slice), KS_ROUTES (5000), KS_NAMESPACES (50),
KS_ECHO (3: Services whose endpoints are the echo backend). The Gateways are
one per GW_PORT, in namespace gwbpf-bench, each with one HTTP listener on its
port accepting routes from all namespaces. Route i is attached to Gateway
i % len(GW_PORT), matches PathPrefix /r<i> and sends to Service i % services.
"""
import json
import os
import sys
import time
import urllib.request

GW = "gateway.networking.k8s.io/v1"
BATCH = 2000


def env(name, dflt):
    return int(os.environ.get(name, dflt))


def ns_of(i, nns):
    return "ns-%03d" % (i % nns)


def objects(echo_port, gw_ports):
    nsvc = env("KS_SERVICES", 5000)
    nslice = env("KS_SLICES", 4)
    nep = env("KS_ENDPOINTS", 3)
    nroute = env("KS_ROUTES", 5000)
    nns = env("KS_NAMESPACES", 50)
    necho = env("KS_ECHO", 3)

    for n in ["gwbpf-system", "gwbpf-bench"] + ["ns-%03d" % i for i in range(nns)]:
        yield {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
    yield {"apiVersion": GW, "kind": "GatewayClass", "metadata": {"name": "gwbpf"},
           "spec": {"controllerName": "gwbpf.dev/gateway-controller"}}
    for g, port in enumerate(gw_ports):
        yield {"apiVersion": GW, "kind": "Gateway",
               "metadata": {"name": "gw-%d" % g, "namespace": "gwbpf-bench"},
               "spec": {"gatewayClassName": "gwbpf", "listeners": [
                   {"name": "http", "port": port, "protocol": "HTTP",
                    "allowedRoutes": {"namespaces": {"from": "All"}}}]}}
    for s in range(nsvc):
        ns = ns_of(s, nns)
        name = "svc-%05d" % s
        echo = s < necho
        tport = echo_port if echo else 8080
        yield {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": ns},
               "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                   "targetPort": tport}]}}
        for k in range(nslice):
            eps = []
            for e in range(nep):
                # echo Services: every endpoint is the one echo backend;
                # others: distinct, never contacted, 127.0.0.x addresses
                n = (s * nslice * nep + k * nep + e) % 252 + 2
                addr = "127.0.0.1" if echo else "127.0.0.%d" % n
                eps.append({"addresses": [addr], "conditions": {"ready": True}})
            yield {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"name": "%s-%d" % (name, k), "namespace": ns,
                                "labels": {"kubernetes.io/service-name": name}},
                   "addressType": "IPv4",
                   "ports": [{"name": "http", "port": tport, "protocol": "TCP"}],
                   "endpoints": eps}
    for r in range(nroute):
        s = r % nsvc
        yield {"apiVersion": GW, "kind": "HTTPRoute",
               "metadata": {"name": "route-%05d" % r, "namespace": ns_of(s, nns)},
               "spec": {"parentRefs": [{"name": "gw-%d" % (r % len(gw_ports)),
                                        "namespace": "gwbpf-bench"}],
                        "rules": [{"matches": [{"path": {"type": "PathPrefix",
                                                         "value": "/r%d" % r}}],
                                   "backendRefs": [{"name": "svc-%05d" % s, "port": 80}]}]}}


def gen(d, echo_port, gw_ports):
    os.makedirs(d, exist_ok=True)
    batch, n, total = [], 0, 0
    counts = {}
    for o in objects(echo_port, gw_ports):
        counts[o["kind"]] = counts.get(o["kind"], 0) + 1
        batch.append(o)
        if len(batch) == BATCH:
            write(d, n, batch)
            n, total, batch = n + 1, total + len(batch), []
    if batch:
        write(d, n, batch)
        total += len(batch)
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


def write(d, n, items):
    with open(os.path.join(d, "batch-%03d.json" % n), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def poll(ok, seconds, start_ns):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if ok():
            print("%.0f" % ((time.time_ns() - start_ns) / 1e6))
            return 0
        time.sleep(0.01)
    return 1


def wait(url, code, seconds, start_ns):
    def ok():
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status == code
        except urllib.error.HTTPError as e:
            return e.code == code
        except OSError:
            return False
    return poll(ok, seconds, start_ns)


def patches(api, n, seconds, start_ns):
    def ok():
        try:
            with urllib.request.urlopen(api + "/_ctl/stats", timeout=2) as r:
                st = json.load(r)
            return sum(st.get("patches", {}).values()) >= n
        except (OSError, ValueError):
            return False
    return poll(ok, seconds, start_ns)


def rss(pid):
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                vals[k] = int(v.split()[0]) / 1024.0
    print("%.1f %.1f" % (vals.get("VmHWM", 0), vals.get("VmRSS", 0)))
    return 0


def main():
    a = sys.argv[1:]
    if a[:1] == ["gen"] and len(a) >= 4:
        return gen(a[1], int(a[2]), [int(p) for p in a[3:]]) or 0
    if a[:1] == ["wait"] and len(a) == 5:
        return wait(a[1], int(a[2]), float(a[3]), int(a[4]))
    if a[:1] == ["patches"] and len(a) == 5:
        return patches(a[1], int(a[2]), float(a[3]), int(a[4]))
    if a[:1] == ["rss"] and len(a) == 2:
        return rss(int(a[1]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
