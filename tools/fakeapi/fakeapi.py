#!/usr/bin/python3
"""fakeapi.py - a small, faithful-enough mock of the Kubernetes API server.

The real API server cannot run on a test machine without containers, so the
kube source and status writer are tested against this. It implements what
gwbpf uses, the way the API server does it:

  discovery       /api, /apis, /apis/<group>, /apis/<group>/<version>, /api/v1
  list            resourceVersion, limit + continue (410 when the continue
                  token is older than the compaction point)
  watch           chunked JSON lines: ADDED/MODIFIED/DELETED/BOOKMARK; an
                  ERROR event with code 410 for a too-old resourceVersion
  status          PATCH .../<name>/status, application/merge-patch+json (RFC
                  7386), 409 when metadata.resourceVersion is given and stale
  leases          coordination.k8s.io/v1: GET, POST (409 AlreadyExists),
                  PUT (409 on a stale resourceVersion)
  auth            "Authorization: Bearer <token>" when --token is given;
                  --forbid PLURAL answers 403 to reads of that resource

Control endpoints for tests (no auth, 127.0.0.1 only), all POST unless noted:
  /_ctl/apply     body: YAML or JSON documents; create or update (spec
                  changes bump metadata.generation; status is kept)
  /_ctl/delete    body: {"apiVersion","kind","namespace","name"}
  /_ctl/drop      close every watch stream
  /_ctl/compact   make every earlier resourceVersion too old (410) and drop streams
  /_ctl/crds      body: {"install": true|false}: serve the Gateway API kinds or not
  /_ctl/outage    body: {"seconds": N}: answer 503 and drop streams for N s
  /_ctl/chunking  body: {"split": true|false}: write each watch event in several
                  HTTP chunks cut at arbitrary bytes, and some events two to a
                  chunk (a client must reassemble lines, not chunks)
  /_ctl/drop_mid_event  body: {"count": N}: the next N events written to a watch
                  stream are cut after half their bytes and the connection closed
  /_ctl/conflict  body: {"count": N}: the next N PATCHes answer 409 Conflict (as
                  when another writer got there first)
  /_ctl/latency   body: {"patch_ms": N}: every PATCH waits N ms before it is
                  served (a slow or distant API server)
  /_ctl/token     body: {"token": T}: the bearer token accepted from now on
                  (a rotated service account token; the old one gets 401)
  /_ctl/stats     GET: {"patches": {user-agent: n}, "status_patches": {"plural/ns/name": n},
                  "lists": n, "watches": n, "requests": {"verb group plural[/sub]": n},
                  ...}: "requests" holds every API call by its RBAC verb and resource

Everything is bounded: bodies (8 MiB), watch duration (timeoutSeconds <= 60),
event history (10000), open watches (64).
"""
import argparse
import base64
import bisect
import copy
import datetime
import http.server
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import yaml

MAX_BODY = 8 << 20
MAX_EVENTS = 10000
MAX_WATCHES = 64
MAX_WATCH_S = 60

GW = "gateway.networking.k8s.io"

# (group, version, plural, kind, namespaced, gateway_crd)
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False, False),
    ("", "v1", "services", "Service", True, False),
    ("", "v1", "secrets", "Secret", True, False),
    ("", "v1", "configmaps", "ConfigMap", True, False),
    ("", "v1", "nodes", "Node", False, False),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, False),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, False),
    ("coordination.k8s.io", "v1", "leases", "Lease", True, False),
    (GW, "v1", "gatewayclasses", "GatewayClass", False, True),
    (GW, "v1", "gateways", "Gateway", True, True),
    (GW, "v1", "httproutes", "HTTPRoute", True, True),
    (GW, "v1", "grpcroutes", "GRPCRoute", True, True),
    (GW, "v1", "referencegrants", "ReferenceGrant", True, True),
    (GW, "v1", "listenersets", "ListenerSet", True, True),
    (GW, "v1", "backendtlspolicies", "BackendTLSPolicy", True, True),
    (GW, "v1beta1", "gatewayclasses", "GatewayClass", False, True),
    (GW, "v1beta1", "gateways", "Gateway", True, True),
    (GW, "v1beta1", "httproutes", "HTTPRoute", True, True),
    (GW, "v1beta1", "referencegrants", "ReferenceGrant", True, True),
    (GW, "v1alpha2", "tlsroutes", "TLSRoute", True, True),
    (GW, "v1alpha2", "tcproutes", "TCPRoute", True, True),
    (GW, "v1alpha2", "udproutes", "UDPRoute", True, True),
]
VERSION_ORDER = ["v1", "v1beta1", "v1alpha3", "v1alpha2", "v1alpha1"]


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target, patch):
    """RFC 7386"""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class State:
    def __init__(self, crds):
        self.lock = threading.Condition()
        self.rv = 100
        self.objs = {}  # (group, kind, ns, name) -> obj
        self.events = []  # (rv, group, kind, type, obj)
        self.compacted = 0  # rvs <= this are too old
        self.drop_gen = 0
        self.crds = crds
        self.outage_until = 0.0
        self.split_chunks = False
        self.drop_mid_event = 0
        self.conflicts_next = 0
        self.patch_ms = 0
        self.stats = {"patches": {}, "status_patches": {}, "lists": 0, "watches": 0, "conflicts": 0,
                      "watch_rvs": [], "unauthorized": 0, "cut_events": 0, "requests": {},
                      "lease_writes": {}, "open_watches": 0}

    def res(self, group, version, plural):
        for r in RESOURCES:
            if r[0] == group and r[1] == version and r[2] == plural:
                if r[5] and not self.crds:
                    return None
                return r
        return None

    def res_by_kind(self, group, kind):
        for r in RESOURCES:
            if r[0] == group and r[3] == kind:
                return r
        return None

    def next_rv(self):
        self.rv += 1
        return self.rv

    def emit(self, etype, obj):
        g = obj["apiVersion"].rpartition("/")[0] if "/" in obj["apiVersion"] else ""
        self.events.append((self.rv, g, obj["kind"], etype, copy.deepcopy(obj)))
        if len(self.events) > MAX_EVENTS:
            drop = self.events[: len(self.events) - MAX_EVENTS]
            self.compacted = max(self.compacted, drop[-1][0])
            del self.events[: len(drop)]
        self.lock.notify_all()

    def put(self, obj, keep_status=True):
        """create or update; caller holds lock. Returns (obj, created)"""
        av = obj.get("apiVersion", "")
        g = av.rpartition("/")[0] if "/" in av else ""
        r = self.res_by_kind(g, obj.get("kind"))
        if not r:
            raise ValueError("unknown kind %s %s" % (av, obj.get("kind")))
        md = obj.setdefault("metadata", {})
        ns = md.get("namespace", "") if r[4] else ""
        if r[4] and not ns:
            ns = md["namespace"] = "default"
        key = (g, r[3], ns, md["name"])
        old = self.objs.get(key)
        if old:
            md["uid"] = old["metadata"]["uid"]
            md["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            gen = old["metadata"].get("generation", 1)
            if old.get("spec") != obj.get("spec"):
                gen += 1
            md["generation"] = gen
            if keep_status:
                if "status" in old:
                    obj["status"] = old["status"]
                else:
                    obj.pop("status", None)
        else:
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            md["generation"] = 1
        md["resourceVersion"] = str(self.next_rv())
        self.objs[key] = obj
        self.emit("MODIFIED" if old else "ADDED", obj)
        return obj, old is None

    def delete(self, g, kind, ns, name):
        key = (g, kind, ns, name)
        obj = self.objs.pop(key, None)
        if obj is None:
            return None
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.next_rv())
        self.emit("DELETED", obj)
        return obj


def load_docs(raw):
    """YAML or JSON documents from bytes. JSON (a large kind: List) is read
    with the json module and YAML with libyaml's loader when present: the
    pure-Python loader takes minutes for tens of thousands of objects"""
    text = raw.decode()
    if text.lstrip()[:1] in ("{", "["):
        try:
            d = json.loads(text)
            return d if isinstance(d, list) else [d]
        except ValueError:
            pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load_all(text, Loader=loader))


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi/1"
    # headers and body go out in two writes; with Nagle on, the body waits
    # for the client's delayed ACK (40 ms a request), which no real API
    # server does and which made 5,000 status patches take minutes
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakeapi: " + (fmt % args) + "\n")

    # ---- helpers ----
    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def fail(self, code, reason, message):
        self.send_json(code, status_body(code, reason, message))

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def parse(self):
        path, _, q = self.path.partition("?")
        params = {}
        for kv in q.split("&"):
            if kv:
                k, _, v = kv.partition("=")
                params[urllib.parse.unquote_plus(k)] = urllib.parse.unquote_plus(v)
        return [p for p in path.split("/") if p], params

    def authorized(self):
        tok = self.server.token
        if not tok:
            return True
        if self.headers.get("Authorization") == "Bearer " + tok:
            return True
        with self.server.state.lock:
            self.server.state.stats["unauthorized"] += 1
        self.fail(401, "Unauthorized", "Unauthorized")
        return False

    def in_outage(self):
        st = self.server.state
        if time.time() < st.outage_until:
            self.fail(503, "ServiceUnavailable", "apiserver is restarting")
            return True
        return False

    # routes: returns (resource, namespace, name, subresource) or None
    def route(self, parts):
        st = self.server.state
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        elif len(rest) == 2 and rest[0] == "namespaces" and group == "":
            pass  # /api/v1/namespaces/<name>
        r = st.res(group, version, rest[0])
        if not r:
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return r, ns, name, sub

    def record(self, verb, r, sub=None):
        """the call as RBAC sees it: verb, API group, resource[/subresource]"""
        k = "%s %s %s%s" % (verb, r[0] or '""', r[2], "/" + sub if sub else "")
        st = self.server.state
        with st.lock:
            st.stats["requests"][k] = st.stats["requests"].get(k, 0) + 1

    def with_version(self, r, obj):
        o = copy.deepcopy(obj)
        o["apiVersion"] = (r[0] + "/" + r[1]) if r[0] else r[1]
        return o

    # ---- discovery ----
    def discovery(self, parts):
        st = self.server.state
        if parts == ["api"]:
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
            return True
        groups = {}
        for r in RESOURCES:
            if r[0] and (not r[5] or st.crds):
                groups.setdefault(r[0], [])
                if r[1] not in groups[r[0]]:
                    groups[r[0]].append(r[1])
        for g in groups:
            groups[g].sort(key=lambda v: VERSION_ORDER.index(v))

        def group_doc(g):
            vs = [{"groupVersion": g + "/" + v, "version": v} for v in groups[g]]
            return {"name": g, "versions": vs, "preferredVersion": vs[0]}
        if parts == ["apis"]:
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                 "groups": [group_doc(g) for g in sorted(groups)]})
            return True
        if len(parts) == 2 and parts[0] == "apis":
            if parts[1] not in groups:
                self.fail(404, "NotFound", "the server could not find the requested resource")
            else:
                d = group_doc(parts[1])
                d.update({"kind": "APIGroup", "apiVersion": "v1"})
                self.send_json(200, d)
            return True
        if parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
            g, v = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            res = []
            for r in RESOURCES:
                if r[0] == g and r[1] == v and (not r[5] or st.crds):
                    res.append({"name": r[2], "namespaced": r[4], "kind": r[3],
                                "verbs": ["get", "list", "watch", "create", "update",
                                          "patch", "delete"]})
                    if r[5] or r[3] == "Ingress":
                        res.append({"name": r[2] + "/status", "namespaced": r[4],
                                    "kind": r[3], "verbs": ["get", "patch", "update"]})
            if not res:
                self.fail(404, "NotFound", "the server could not find the requested resource")
            else:
                self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                     "groupVersion": (g + "/" + v) if g else v,
                                     "resources": res})
            return True
        return False

    # ---- verbs ----
    def do_GET(self):
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _get(self):
        parts, params = self.parse()
        st = self.server.state
        if parts == ["_ctl", "stats"]:
            with st.lock:
                s = copy.deepcopy(st.stats)
                s["rv"] = st.rv
            self.send_json(200, s)
            return
        if not self.authorized() or self.in_outage():
            return
        if self.discovery(parts):
            return
        rt = self.route(parts)
        if not rt:
            self.fail(404, "NotFound", "the server could not find the requested resource")
            return
        r, ns, name, sub = rt
        self.record("get" if name is not None else
                    "watch" if params.get("watch") in ("1", "true") else "list", r, sub)
        if r[2] in self.server.forbid:
            self.fail(403, "Forbidden", '%s is forbidden: RBAC' % r[2])
            return
        if name is not None:
            with st.lock:
                obj = st.objs.get((r[0], r[3], ns if r[4] else "", name))
            if obj is None:
                self.fail(404, "NotFound", '%s "%s" not found' % (r[2], name))
            else:
                self.send_json(200, self.with_version(r, obj))
            return
        if params.get("watch") in ("1", "true"):
            self.watch(r, ns, params)
            return
        self.list(r, ns, params)

    def list(self, r, ns, params):
        st = self.server.state
        limit = int(params.get("limit") or 0)
        start = 0
        with st.lock:
            st.stats["lists"] += 1
            rv = st.rv
            if params.get("continue"):
                try:
                    tok = json.loads(base64.urlsafe_b64decode(params["continue"]))
                    rv, start = int(tok["rv"]), int(tok["start"])
                except (ValueError, KeyError):
                    self.fail(400, "BadRequest", "invalid continue token")
                    return
                if rv <= st.compacted:
                    self.fail(410, "Expired", "The provided continue parameter is too old")
                    return
            keys = sorted(k for k in st.objs if k[0] == r[0] and k[1] == r[3] and
                          (not ns or k[2] == ns))
            # a continued list is a consistent snapshot in the real server; here
            # objects created since are simply included, which is what a
            # client must tolerate anyway (the watch from rv replays them)
            # copy only the page: copying every object for each page made a
            # paginated list of N objects cost O(N^2 / limit) deep copies
            page = keys[start:start + limit] if limit > 0 else keys[start:]
            items = [self.with_version(r, st.objs[k]) for k in page]
        meta = {"resourceVersion": str(rv)}
        if limit > 0 and len(keys) - start > limit:
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "start": start + limit}).encode()).decode()
            meta["remainingItemCount"] = len(keys) - start - limit
        kind = r[3] + "List"
        self.send_json(200, {"kind": kind, "apiVersion": (r[0] + "/" + r[1]) if r[0] else r[1],
                             "metadata": meta, "items": items})

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.raw_chunk(data)

    def raw_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def send_events(self, datas):
        """watch events (encoded lines) as chunks; False when the stream was
        cut on purpose mid-event (the caller returns)"""
        st = self.server.state
        with st.lock:
            split, cut = st.split_chunks, st.drop_mid_event > 0
            if cut:
                st.drop_mid_event -= 1
                st.stats["cut_events"] += 1
        if cut:
            # half an event, then the TCP connection goes: no terminating chunk
            self.raw_chunk(datas[0][:max(1, len(datas[0]) // 2)])
            self.close_connection = True
            self.connection.shutdown(2)
            return False
        if not split:
            for d in datas:
                self.raw_chunk(d)
            return True
        # cut the concatenated lines at pseudo-random offsets (deterministic)
        blob = b"".join(datas)
        pos, k = 0, len(blob)
        while pos < k:
            step = 1 + (pos * 7919 + k) % 97
            self.raw_chunk(blob[pos:pos + step])
            pos += step
        return True

    def watch(self, r, ns, params):
        st = self.server.state
        try:
            since = int(params.get("resourceVersion") or 0)
        except ValueError:
            self.fail(400, "BadRequest", "invalid resourceVersion")
            return
        timeout = min(int(params.get("timeoutSeconds") or MAX_WATCH_S), MAX_WATCH_S)
        bookmarks = params.get("allowWatchBookmarks") in ("1", "true")
        with st.lock:
            st.stats["watch_rvs"] = (st.stats["watch_rvs"] + [[r[2], since]])[-500:]
            if st.stats["open_watches"] >= MAX_WATCHES:
                self.fail(429, "TooManyRequests", "too many watches")
                return
            st.stats["open_watches"] += 1
            st.stats["watches"] += 1
            gen = st.drop_gen
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            end = time.time() + timeout
            last_bm = time.time()
            with st.lock:
                if since == 0:
                    since = st.rv  # "any": start now (initial state comes from a list)
                elif since < st.compacted:
                    self.chunk({"type": "ERROR", "object": status_body(
                        410, "Expired", "too old resource version: %d (%d)" %
                        (since, st.compacted))})
                    self.wfile.write(b"0\r\n\r\n")
                    return
            while True:
                with st.lock:
                    # events are in resourceVersion order: start after since
                    # (a scan of the whole history per wakeup and watcher
                    # made every write cost milliseconds at scale)
                    first = bisect.bisect_right(st.events, since, key=lambda e: e[0])
                    evs = [e for e in st.events[first:] if e[1] == r[0] and
                           e[2] == r[3] and (not ns or e[4]["metadata"].get("namespace") == ns)]
                    # a bookmark may only claim what was looked at: taken
                    # before waiting, so events of the wait are sent next turn
                    cur = st.rv
                    if not evs:
                        st.lock.wait(0.2)
                    dropped = st.drop_gen != gen or time.time() < st.outage_until
                if dropped:
                    # a dropped TCP connection: no terminating chunk
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if evs:
                    datas = [(json.dumps({"type": e[3], "object": self.with_version(r, e[4])})
                              + "\n").encode() for e in evs]
                    if not self.send_events(datas):
                        return
                    since = evs[-1][0]
                if bookmarks and time.time() - last_bm >= 1.0:
                    since = max(since, cur) if not evs else since
                    self.chunk({"type": "BOOKMARK", "object": {
                        "kind": r[3], "apiVersion": (r[0] + "/" + r[1]) if r[0] else r[1],
                        "metadata": {"resourceVersion": str(since)}}})
                    last_bm = time.time()
                if time.time() >= end or self.server.stopping:
                    self.wfile.write(b"0\r\n\r\n")
                    return
        finally:
            with st.lock:
                st.stats["open_watches"] -= 1

    def do_PATCH(self):
        parts, _ = self.parse()
        st = self.server.state
        if not self.authorized() or self.in_outage():
            return
        rt = self.route(parts)
        if not rt or rt[2] is None:
            self.fail(404, "NotFound", "not found")
            return
        r, ns, name, sub = rt
        self.record("patch", r, sub)
        if st.patch_ms:
            time.sleep(min(st.patch_ms, 5000) / 1000.0)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/merge-patch+json":
            self.fail(415, "UnsupportedMediaType", "only merge-patch is served: " + ctype)
            return
        try:
            patch = json.loads(self.body())
        except ValueError:
            self.fail(400, "BadRequest", "invalid JSON")
            return
        ua = self.headers.get("User-Agent") or ""
        with st.lock:
            key = (r[0], r[3], ns if r[4] else "", name)
            obj = st.objs.get(key)
            if obj is None:
                self.fail(404, "NotFound", '%s "%s" not found' % (r[2], name))
                return
            want = (patch.get("metadata") or {}).get("resourceVersion")
            forced = st.conflicts_next > 0
            if forced:
                st.conflicts_next -= 1
            if forced or (want is not None and want != obj["metadata"]["resourceVersion"]):
                st.stats["conflicts"] += 1
                self.fail(409, "Conflict", "the object has been modified; please apply your "
                          "changes to the latest version and try again")
                return
            new = copy.deepcopy(obj)
            if sub == "status":
                if "status" in patch:
                    new["status"] = merge_patch(new.get("status"), patch["status"])
                    if new["status"] is None:
                        new.pop("status")
                st.stats["patches"][ua] = st.stats["patches"].get(ua, 0) + 1
                k = "%s/%s/%s" % (r[2], ns, name)
                st.stats["status_patches"][k] = st.stats["status_patches"].get(k, 0) + 1
            elif sub is None:
                p = dict(patch)
                p.pop("status", None)
                new = merge_patch(new, p)
                if new.get("spec") != obj.get("spec"):
                    new["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            else:
                self.fail(404, "NotFound", "no such subresource")
                return
            new["metadata"]["resourceVersion"] = str(st.next_rv())
            st.objs[key] = new
            st.emit("MODIFIED", new)
        self.send_json(200, self.with_version(r, new))

    def do_PUT(self):
        parts, _ = self.parse()
        st = self.server.state
        if not self.authorized() or self.in_outage():
            return
        rt = self.route(parts)
        if not rt or rt[2] is None:
            self.fail(404, "NotFound", "not found")
            return
        r, ns, name, sub = rt
        self.record("update", r, sub)
        try:
            obj = json.loads(self.body())
        except ValueError:
            self.fail(400, "BadRequest", "invalid JSON")
            return
        with st.lock:
            key = (r[0], r[3], ns if r[4] else "", name)
            old = st.objs.get(key)
            if old is None:
                self.fail(404, "NotFound", '%s "%s" not found' % (r[2], name))
                return
            want = (obj.get("metadata") or {}).get("resourceVersion")
            if not want or want != old["metadata"]["resourceVersion"]:
                st.stats["conflicts"] += 1
                self.fail(409, "Conflict", "the object has been modified; please apply your "
                          "changes to the latest version and try again")
                return
            obj["metadata"]["name"] = name
            if r[4]:
                obj["metadata"]["namespace"] = ns
            obj["apiVersion"] = (r[0] + "/" + r[1]) if r[0] else r[1]
            obj["kind"] = r[3]
            obj, _ = st.put(obj, keep_status=(sub != "status"))
            if r[3] == "Lease":
                h = (obj.get("spec") or {}).get("holderIdentity") or ""
                st.stats["lease_writes"][h] = st.stats["lease_writes"].get(h, 0) + 1
            obj = self.with_version(r, obj)
        self.send_json(200, obj)

    def do_POST(self):
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _post(self):
        parts, _ = self.parse()
        st = self.server.state
        if parts[:1] == ["_ctl"]:
            self.control(parts[1] if len(parts) > 1 else "")
            return
        if not self.authorized() or self.in_outage():
            return
        rt = self.route(parts)
        if not rt or rt[2] is not None:
            self.fail(405, "MethodNotAllowed", "create only on collections")
            return
        r, ns, _, _ = rt
        self.record("create", r)
        try:
            obj = json.loads(self.body())
        except ValueError:
            self.fail(400, "BadRequest", "invalid JSON")
            return
        md = obj.setdefault("metadata", {})
        with st.lock:
            if r[4]:
                md["namespace"] = ns or md.get("namespace") or "default"
            key = (r[0], r[3], md.get("namespace", "") if r[4] else "", md.get("name"))
            if not md.get("name"):
                self.fail(422, "Invalid", "metadata.name: Required value")
                return
            if key in st.objs:
                self.fail(409, "AlreadyExists", '%s "%s" already exists' % (r[2], md["name"]))
                return
            md.pop("resourceVersion", None)
            obj["apiVersion"] = (r[0] + "/" + r[1]) if r[0] else r[1]
            obj["kind"] = r[3]
            obj, _ = st.put(obj, keep_status=False)
            if r[3] == "Lease":
                h = (obj.get("spec") or {}).get("holderIdentity") or ""
                st.stats["lease_writes"][h] = st.stats["lease_writes"].get(h, 0) + 1
            obj = self.with_version(r, obj)
        self.send_json(201, obj)

    def control(self, what):
        st = self.server.state
        try:
            raw = self.body()
        except ValueError as e:
            self.fail(413, "RequestEntityTooLarge", str(e))
            return
        try:
            if what == "apply":
                docs = [d for d in load_docs(raw) if d]
                out = []
                with st.lock:
                    for d in docs:
                        items = d.get("items", []) if d.get("kind") == "List" else [d]
                        for it in items:
                            o, created = st.put(copy.deepcopy(it))
                            out.append({"kind": o["kind"], "name": o["metadata"]["name"],
                                        "resourceVersion": o["metadata"]["resourceVersion"],
                                        "created": created})
                self.send_json(200, {"applied": out})
            elif what == "delete":
                d = json.loads(raw or b"{}")
                av = d.get("apiVersion", "")
                g = av.rpartition("/")[0] if "/" in av else ""
                with st.lock:
                    r = st.res_by_kind(g, d.get("kind"))
                    ns = (d.get("namespace") or "default") if r and r[4] else ""
                    o = st.delete(g, d.get("kind"), ns, d.get("name"))
                self.send_json(200 if o else 404, {"deleted": bool(o)})
            elif what == "drop":
                with st.lock:
                    st.drop_gen += 1
                    st.lock.notify_all()
                self.send_json(200, {"dropped": True})
            elif what == "compact":
                with st.lock:
                    # every resourceVersion handed out so far becomes too old
                    st.compacted = st.next_rv()
                    st.drop_gen += 1
                    st.lock.notify_all()
                self.send_json(200, {"compacted": st.compacted})
            elif what == "crds":
                d = json.loads(raw or b"{}")
                with st.lock:
                    st.crds = bool(d.get("install", True))
                    st.lock.notify_all()
                self.send_json(200, {"crds": st.crds})
            elif what == "chunking":
                d = json.loads(raw or b"{}")
                with st.lock:
                    st.split_chunks = bool(d.get("split", True))
                self.send_json(200, {"split": st.split_chunks})
            elif what == "drop_mid_event":
                d = json.loads(raw or b"{}")
                with st.lock:
                    st.drop_mid_event = max(0, min(int(d.get("count", 1)), 100))
                self.send_json(200, {"drop_mid_event": st.drop_mid_event})
            elif what == "conflict":
                d = json.loads(raw or b"{}")
                with st.lock:
                    st.conflicts_next = max(0, min(int(d.get("count", 1)), 100))
                self.send_json(200, {"conflict": st.conflicts_next})
            elif what == "latency":
                d = json.loads(raw or b"{}")
                st.patch_ms = max(0, min(int(d.get("patch_ms", 0)), 5000))
                self.send_json(200, {"patch_ms": st.patch_ms})
            elif what == "token":
                d = json.loads(raw or b"{}")
                self.server.token = str(d.get("token", ""))
                self.send_json(200, {"token": True})
            elif what == "outage":
                d = json.loads(raw or b"{}")
                with st.lock:
                    st.outage_until = time.time() + min(float(d.get("seconds", 1)), 60)
                    st.drop_gen += 1
                    st.lock.notify_all()
                self.send_json(200, {"outage": True})
            else:
                self.fail(404, "NotFound", "unknown control " + what)
        except (ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as e:
            self.fail(400, "BadRequest", "control %s: %s" % (what, e))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def make_cert(d):
    key, crt = os.path.join(d, "tls.key"), os.path.join(d, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True, timeout=60)
    return crt, key


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--token", default="", help="require this bearer token")
    ap.add_argument("--tls-dir", help="serve HTTPS with a self-signed cert written here (ca = tls.crt)")
    ap.add_argument("--no-crds", action="store_true", help="start without the Gateway API CRDs")
    ap.add_argument("--forbid", action="append", default=[],
                    help="answer 403 to reads of this resource (plural), as RBAC would")
    ap.add_argument("--load", action="append", default=[], help="YAML file to apply at start")
    ap.add_argument("--max-seconds", type=float, default=600, help="exit after this long")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(crds=not a.no_crds)
    srv.token = a.token
    srv.forbid = set(a.forbid)
    srv.verbose = a.verbose
    srv.stopping = False
    for f in a.load:
        with open(f) as fh, srv.state.lock:
            for d in load_docs(fh.read().encode()):
                if d:
                    srv.state.put(d)
    if a.tls_dir:
        import ssl
        crt, key = make_cert(a.tls_dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    t = threading.Timer(a.max_seconds, lambda: (setattr(srv, "stopping", True), srv.shutdown()))
    t.daemon = True
    t.start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.stopping = True
    srv.server_close()


if __name__ == "__main__":
    main()
