#!/usr/bin/python3
"""gen-schema.py - CRD openAPIV3Schema -> C tables (build/gen/schema.c).

Usage: gen-schema.py CRD_DIR OUT.c [--list-rules]

Reads CRD_DIR/experimental/*.yaml (a superset of the standard channel) and
CRD_DIR/standard/*.yaml (only to flag experimental-only fields). Every served
version of every CustomResourceDefinition becomes one gw_schema_root. Identical
sub-schemas are emitted once. x-kubernetes-validations rules are mapped to the
hand-written checks in userspace/model/validate_rules.c; a rule this script
does not recognise is emitted as GW_RULE_UNCHECKED and listed on stderr, so a
CRD update cannot silently add a rule nobody checks.
"""
import glob
import os
import re
import sys

import yaml

patterns = []          # pattern strings, index = slot
pattern_slot = {}
out = []               # C definitions in dependency order
emitted = {}           # content key -> C name
unchecked = []         # (kind, path, message)
checked = []


# Core kinds gwbpf reads (no CRD to copy): the fields the translator uses,
# with the API server's constraints on them. "gwbpf:ID args" rules name a
# check in validate_rules.c directly.
CORE = """
- {group: "", version: v1, kind: Namespace, schema: {type: object}}
- group: ""
  version: v1
  kind: Service
  schema:
    type: object
    properties:
      spec:
        type: object
        properties:
          type: {type: string, enum: [ClusterIP, NodePort, LoadBalancer, ExternalName]}
          clusterIP: {type: string}
          externalName: {type: string, maxLength: 253}
          selector: {type: object, additionalProperties: {type: string}}
          ports:
            type: array
            x-kubernetes-validations:
            - {rule: "gwbpf:NAMES_IF_MANY name", message: "port names are required when a Service has more than one port"}
            - {rule: "gwbpf:UNIQUE_FIELD name", message: "port names must be unique"}
            items:
              type: object
              required: [port]
              properties:
                name: {type: string, maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
                protocol: {type: string, enum: [TCP, UDP, SCTP], default: TCP}
                appProtocol: {type: string}
                port: {type: integer, minimum: 1, maximum: 65535}
                nodePort: {type: integer, minimum: 0, maximum: 65535}
                targetPort:
                  x-kubernetes-validations:
                  - {rule: "gwbpf:PORT_OR_NAME", message: "must be a port number between 1 and 65535 or a port name (IANA_SVC_NAME)"}
- group: ""
  version: v1
  kind: Secret
  schema:
    type: object
    properties:
      type: {type: string}
      data:
        type: object
        additionalProperties: {type: string}
        x-kubernetes-validations:
        - {rule: "gwbpf:BASE64_VALUES", message: "must be base64 encoded"}
      stringData: {type: object, additionalProperties: {type: string}}
- group: ""
  version: v1
  kind: ConfigMap
  schema:
    type: object
    properties:
      data: {type: object, additionalProperties: {type: string}}
      binaryData:
        type: object
        additionalProperties: {type: string}
        x-kubernetes-validations:
        - {rule: "gwbpf:BASE64_VALUES", message: "must be base64 encoded"}
- group: discovery.k8s.io
  version: v1
  kind: EndpointSlice
  schema:
    type: object
    required: [addressType]
    x-kubernetes-validations:
    - {rule: "gwbpf:ENDPOINT_ADDRS", message: "must be a valid address of the slice's addressType"}
    properties:
      addressType: {type: string, enum: [IPv4, IPv6, FQDN]}
      endpoints:
        type: array
        maxItems: 1000
        items:
          type: object
          required: [addresses]
          properties:
            addresses: {type: array, minItems: 1, maxItems: 100, items: {type: string}}
            conditions:
              type: object
              properties:
                ready: {type: boolean}
                serving: {type: boolean}
                terminating: {type: boolean}
            hostname: {type: string}
            nodeName: {type: string}
            zone: {type: string}
      ports:
        type: array
        maxItems: 100
        items:
          type: object
          properties:
            name: {type: string, maxLength: 63}
            protocol: {type: string, enum: [TCP, UDP, SCTP]}
            port: {type: integer, minimum: 0, maximum: 65535}
            appProtocol: {type: string}
- group: networking.k8s.io
  version: v1
  kind: Ingress
  schema:
    type: object
    properties:
      spec:
        type: object
        properties:
          ingressClassName: {type: string}
          defaultBackend: &backend
            type: object
            properties:
              service:
                type: object
                required: [name, port]
                properties:
                  name: {type: string, minLength: 1}
                  port:
                    type: object
                    x-kubernetes-validations:
                    - {rule: "gwbpf:EXACTLY_ONE number name", message: "exactly one of number or name must be set"}
                    properties:
                      number: {type: integer, minimum: 1, maximum: 65535}
                      name: {type: string, minLength: 1}
          tls:
            type: array
            items:
              type: object
              properties:
                hosts: {type: array, items: {type: string}}
                secretName: {type: string}
          rules:
            type: array
            items:
              type: object
              properties:
                host: {type: string}
                http:
                  type: object
                  required: [paths]
                  properties:
                    paths:
                      type: array
                      minItems: 1
                      items:
                        type: object
                        required: [pathType, backend]
                        x-kubernetes-validations:
                        - {rule: "gwbpf:INGRESS_PATH", message: "must be an absolute path"}
                        properties:
                          path: {type: string}
                          pathType: {type: string, enum: [Exact, Prefix, ImplementationSpecific]}
                          backend: *backend
"""


def slot(p):
    if p not in pattern_slot:
        pattern_slot[p] = len(patterns)
        patterns.append(p)
    return pattern_slot[p]


def cstr(s):
    if s is None:
        return "NULL"
    r = ['"']
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            r.append("\\" + c)
        elif 32 <= ch < 127 and c != "?":
            r.append(c)
        else:
            r.append("\\%03o" % ch)
    r.append('"')
    return "".join(r)


def norm(rule):
    return " ".join(rule.split())


RAW = re.compile(r'r"""(.*?)"""')

# families recognised by rule text: (regex, id, function returning args)
FAMILIES = [
    (r"^!\(has\(self\.(\w+)\) && self\.(\w+) != '(\w+)'\)$", "FIELD_ONLY_VALUE",
     lambda m: (m[2], m[3], m[1])),
    (r"^!\(!has\(self\.(\w+)\) && self\.(\w+) == '(\w+)'\)$", "FIELD_IF_VALUE",
     lambda m: (m[2], m[3], m[1])),
    (r'^!\(self\.(\w+) == "(\w+)" && \(!has\(self\.(\w+)\) \|\| self\.\3 == ""\)\)$',
     "FIELD_IF_VALUE", lambda m: (m[1], m[2], m[3])),
    (r'^!\(self\.(\w+) != "(\w+)" && has\(self\.(\w+)\) && self\.\3 != ""\)$',
     "FIELD_ONLY_VALUE", lambda m: (m[1], m[2], m[3])),
    (r"^self\.(\w+) == '(\w+)' \? has\(self\.(\w+)\) : true$", "FIELD_IF_VALUE",
     lambda m: (m[1], m[2], m[3])),
    (r"^has\(self\.(\w+)\) \? self\.(\w+) == '(\w+)' : true$", "FIELD_ONLY_VALUE",
     lambda m: (m[2], m[3], m[1])),
    (r"^self\.filter\(f, f\.type == '(\w+)'\)\.size\(\) <= 1$", "AT_MOST_ONE_TYPE",
     lambda m: (m[1],)),
    (r"^!\(self\.exists\(f, f\.type == '(\w+)'\) && self\.exists\(f, f\.type == '(\w+)'\)\)$",
     "NOT_BOTH_TYPES", lambda m: (m[1], m[2])),
    (r"^!\(has\(self\.(\w+)\) && has\(self\.(\w+)\)\)$", "NOT_BOTH_FIELDS",
     lambda m: (m[1], m[2])),
    (r"^!\('\*' in self && self\.size\(\) > 1\)$", "STAR_ALONE", lambda m: ()),
    (r"^\(self\.type in \['Exact','PathPrefix'\]\) \? self\.value\.startsWith\('(.*)'\) : true$",
     "PATH_VALUE", lambda m: ("starts", m[1])),
    (r"^\(self\.type in \['Exact','PathPrefix'\]\) \? !self\.value\.contains\('(.*)'\) : true$",
     "PATH_VALUE", lambda m: ("contains", m[1])),
    (r"^\(self\.type in \['Exact','PathPrefix'\]\) \? !self\.value\.endsWith\('(.*)'\) : true$",
     "PATH_VALUE", lambda m: ("ends", m[1])),
    (r"^\(self\.type in \['Exact','PathPrefix'\]\) \? self\.value\.matches\(.*\) : true$",
     "PATH_VALUE", lambda m: ("matches",)),
    (r"^self\.type in \['Exact','PathPrefix'\] \|\| self\.type == 'RegularExpression'$",
     "PATH_VALUE", lambda m: ("type",)),
]

# single rules recognised by their message
BY_MESSAGE = {
    "sectionName must be specified when targetRefs includes 2 or more references to the same target":
        ("SECTION_SAME_TARGET",),
    "sectionName must be unique when targetRefs includes 2 or more references to the same target":
        ("SECTION_UNIQUE_TARGET",),
    "must not contain both CACertificateRefs and WellKnownCACertificates": ("CA_NOT_BOTH",),
    "must specify either CACertificateRefs or WellKnownCACertificates": ("CA_EITHER",),
    "IPAddress values must be unique": ("ADDR_UNIQUE", "IPAddress"),
    "Hostname values must be unique": ("ADDR_UNIQUE", "Hostname"),
    "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']": ("LISTENER_TLS_FORBIDDEN",),
    "tls mode must be Terminate for protocol HTTPS": ("LISTENER_HTTPS_MODE",),
    "tls mode must be set for protocol TLS": ("LISTENER_TLS_MODE_SET",),
    "hostname must not be specified for protocols ['TCP', 'UDP']":
        ("LISTENER_HOSTNAME_FORBIDDEN",),
    "Listener name must be unique within the Gateway": ("UNIQUE_FIELD", "name"),
    "Rule name must be unique within the route": ("UNIQUE_FIELD", "name"),
    "Port for TLS configuration must be unique within the Gateway": ("UNIQUE_FIELD", "port"),
    "Combination of port, protocol and hostname must be unique for each listener":
        ("LISTENER_PORT_PROTO_HOST",),
    "certificateRefs or options must be specified when mode is Terminate":
        ("TLS_TERMINATE_CERTS",),
    "sectionName or port must be specified when parentRefs includes 2 or more references to the same parent":
        ("PARENT_SECTION_SAME",),
    "sectionName or port must be unique when parentRefs includes 2 or more references to the same parent":
        ("PARENT_SECTION_UNIQUE",),
    "Must have port for Service reference": ("SERVICE_PORT",),
    "numerator must be less than or equal to denominator": ("FRACTION",),
    "One or both of 'service' or 'method' must be specified": ("GRPC_METHOD_ONE",),
    "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent":
        ("SESSION_ABS_TIMEOUT",),
    "cookieConfig can only be set with type Cookie": ("SESSION_COOKIE_TYPE",),
    "RequestRedirect filter must not be used together with backendRefs":
        ("REDIRECT_NO_BACKENDS",),
    "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified":
        ("REPLACE_PREFIX_MATCH", "requestRedirect"),
    "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified":
        ("REPLACE_PREFIX_MATCH", "urlRewrite"),
    "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified":
        ("REPLACE_PREFIX_MATCH", "requestRedirect", "backendRefs"),
    "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified":
        ("REPLACE_PREFIX_MATCH", "urlRewrite", "backendRefs"),
    "backendRequest timeout cannot be longer than request timeout": ("TIMEOUTS",),
    "Hostnames cannot contain an IP": ("HOSTNAMES_NOT_IP",),
    "Hostnames must be valid based on RFC-1123": ("HOSTNAMES_RFC1123",),
    "Wildcards on hostnames must be the first label, and the rest of hostname must be valid based on RFC-1123":
        ("HOSTNAMES_WILDCARD",),
}


def map_rule(rule, msg):
    """returns (id, re_slot, a, b, c, e)"""
    r = norm(rule)
    if r.startswith("gwbpf:"):
        args = r[len("gwbpf:"):].split()
        return (args[0], -1, *(args[1:] + [None] * (5 - len(args))))
    pat = RAW.search(r)
    for rx, rid, fn in FAMILIES:
        m = re.match(rx, r)
        if m:
            args = list(fn(m))
            re_slot = slot(pat.group(1)) if (pat and rid == "PATH_VALUE") else -1
            return (rid, re_slot, *(args + [None] * (4 - len(args))))
    if msg in BY_MESSAGE:
        args = list(BY_MESSAGE[msg][1:])
        return (BY_MESSAGE[msg][0], -1, *(args + [None] * (4 - len(args))))
    if msg and msg.startswith("Hostname value must") and pat:
        absent_ok = "!has(self.value)" in r
        return ("MATCH_IF_VALUE", slot(pat.group(1)), "type", "Hostname", "value",
                "absent-ok" if absent_ok else None)
    if msg and msg.startswith(("Annotation keys must", "Label keys must")) and pat:
        return ("KEYS_MATCH", slot(pat.group(1)), None, None, None, None)
    if msg and "prefix must be a DNS subdomain not longer than 253" in msg:
        return ("KEYS_PREFIX_LEN", -1, None, None, None, None)
    if msg and msg.startswith("While 16 rules and 64 matches"):
        return ("MATCH_TOTAL", -1, "0" if "has(self[0].matches)" in r else "1", None, None, None)
    if msg and (msg.startswith("service must only") or msg.startswith("method must only")) and pat:
        return ("GRPC_METHOD_MATCH", slot(pat.group(1)), msg.split()[0], None, None, None)
    return ("UNCHECKED", -1, None, None, None, None)


def std_child(std, how, name=None):
    if not isinstance(std, dict):
        return None
    if how == "prop":
        return (std.get("properties") or {}).get(name)
    if how == "items":
        return std.get("items")
    if how == "additional":
        a = std.get("additionalProperties")
        return a if isinstance(a, dict) else None
    return None


def emit(s, std, kind, path):
    """emits the schema node s (and children); returns its C name"""
    if not isinstance(s, dict):
        return "NULL"
    t = s.get("type", "")
    tmap = {"": "GW_ST_ANY", "object": "GW_ST_OBJECT", "array": "GW_ST_ARRAY",
            "string": "GW_ST_STRING", "integer": "GW_ST_INTEGER", "number": "GW_ST_NUMBER",
            "boolean": "GW_ST_BOOLEAN"}
    flags = []
    if "minimum" in s:
        flags.append("GW_SF_HAS_MIN")
    if "maximum" in s:
        flags.append("GW_SF_HAS_MAX")
    lt = s.get("x-kubernetes-list-type")
    if lt == "map":
        flags.append("GW_SF_LIST_MAP")
    elif lt == "set":
        flags.append("GW_SF_LIST_SET")
    if std is None:
        flags.append("GW_SF_EXPERIMENTAL")
    if s.get("format") == "int32":
        flags.append("GW_SF_FMT_INT32")
    if s.get("format") == "date-time":
        flags.append("GW_SF_FMT_DATETIME")
    # the one oneOf in these CRDs: Gateway addresses, IPAddress => ipv4|ipv6 value
    if "oneOf" in s:
        if any("anyOf" in ((o.get("properties") or {}).get("value") or {})
               for o in s["oneOf"]):
            flags.append("GW_SF_IP_ONEOF")
        else:
            unchecked.append((kind, path, "oneOf"))

    props = []
    for name in sorted((s.get("properties") or {}).keys()):
        if path == "" and name in ("status", "metadata", "apiVersion", "kind"):
            continue  # status is ignored on write; metadata is read by the store
        props.append((name, emit(s["properties"][name], std_child(std, "prop", name), kind,
                                 path + "." + name)))
    items = emit(s.get("items"), std_child(std, "items"), kind, path + "[]")
    addl = s.get("additionalProperties")
    additional = emit(addl, std_child(std, "additional"), kind, path + "{}") \
        if isinstance(addl, dict) else "NULL"

    rules = []
    for r in s.get("x-kubernetes-validations") or []:
        m = map_rule(r["rule"], r.get("message"))
        msg = r.get("message") or ("failed rule: " + norm(r["rule"]))
        if m[0] == "UNCHECKED":
            unchecked.append((kind, path, msg))
        else:
            checked.append((kind, path, msg))
        rules.append("{ GW_RULE_%s, %d, %s, %s, %s, %s, %s }" % (
            m[0], m[1], cstr(m[2]), cstr(m[3]), cstr(m[4]), cstr(m[5]), cstr(msg)))

    d = s.get("default")
    dflt = None
    if isinstance(d, bool):
        dflt = "true" if d else "false"
    elif isinstance(d, (int, float, str)):
        dflt = str(d)

    parts = {
        "type": tmap.get(t, "GW_ST_ANY"),
        "flags": " | ".join(flags) or "0",
        "re": str(slot(s["pattern"])) if "pattern" in s else "-1",
        "min_len": str(s.get("minLength", -1)),
        "max_len": str(s.get("maxLength", -1)),
        "min_items": str(s.get("minItems", -1)),
        "max_items": str(s.get("maxItems", -1)),
        "max_props": str(s.get("maxProperties", -1)),
        "minimum": "%dLL" % int(s.get("minimum", 0)),
        "maximum": "%dLL" % int(s.get("maximum", 0)),
        "dflt": cstr(dflt),
        "n_props": str(len(props)),
        "n_required": str(len(s.get("required") or [])),
        "n_enum": str(len(s.get("enum") or [])),
        "n_rules": str(len(rules)),
        "n_map_keys": str(len(s.get("x-kubernetes-list-map-keys") or [])),
        "items": ("&" + items) if items != "NULL" else "NULL",
        "additional": ("&" + additional) if additional != "NULL" else "NULL",
    }
    body = []

    def arr(suffix, ctype, vals):
        if not vals:
            return "NULL"
        key = (suffix, ctype, tuple(vals))
        if key in emitted:
            return emitted[key]
        name = "a%d" % len(emitted)
        emitted[key] = name
        out.append("static %s %s[] = { %s };" % (ctype, name, ", ".join(vals)))
        return name

    parts["props"] = arr("p", "const struct gw_schema_prop",
                         ["{ %s, &%s }" % (cstr(n), c) for n, c in props])
    parts["required"] = arr("r", "const char *const",
                            [cstr(x) for x in s.get("required") or []])
    parts["enums"] = arr("e", "const char *const",
                         [cstr(str(x)) for x in s.get("enum") or []])
    parts["map_keys"] = arr("k", "const char *const",
                            [cstr(x) for x in s.get("x-kubernetes-list-map-keys") or []])
    parts["rules"] = arr("u", "const struct gw_rule", rules)
    for k in ("type", "flags", "re", "n_props", "n_required", "n_enum", "n_rules", "n_map_keys",
              "min_len", "max_len", "min_items", "max_items", "max_props", "minimum",
              "maximum", "dflt", "props", "required", "enums", "map_keys", "items",
              "additional", "rules"):
        body.append(".%s = %s" % (k, parts[k]))
    key = ("s", tuple(body))
    if key in emitted:
        return emitted[key]
    name = "s%d" % len(emitted)
    emitted[key] = name
    out.append("static const struct gw_schema %s = { %s };" % (name, ", ".join(body)))
    return name


def load_crds(d):
    crds = {}
    for f in sorted(glob.glob(os.path.join(d, "*.yaml"))):
        with open(f) as fh:
            for doc in yaml.safe_load_all(fh):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    crds[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc
    return crds


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    base, dst = sys.argv[1], sys.argv[2]
    exp = load_crds(os.path.join(base, "experimental"))
    std = load_crds(os.path.join(base, "standard"))
    roots = []
    for (group, kind), doc in sorted(exp.items()):
        std_versions = {}
        if (group, kind) in std:
            for v in std[(group, kind)]["spec"]["versions"]:
                std_versions[v["name"]] = v["schema"]["openAPIV3Schema"]
        for v in doc["spec"]["versions"]:
            if not v.get("served"):
                continue
            sv = std_versions.get(v["name"], {})
            name = emit(v["schema"]["openAPIV3Schema"], sv, kind, "")
            roots.append("{ %s, %s, %s, &%s }" % (cstr(group), cstr(v["name"]), cstr(kind), name))
    for c in yaml.safe_load(CORE):
        name = emit(c["schema"], c["schema"], c["kind"], "")
        roots.append("{ %s, %s, %s, &%s }" % (cstr(c["group"]), cstr(c["version"]),
                                               cstr(c["kind"]), name))
    tmp = dst + ".tmp"
    with open(tmp, "w") as f:
        f.write("/* generated by tools/gen-schema.py from deploy/crds; do not edit */\n")
        f.write('#include "gwbpf/api.h"\n#include "gwbpf/validate-t.h"\n\n')
        f.write("\n".join(out))
        f.write("\n\nconst struct gw_schema_root gw_schema_roots[] = {\n\t%s\n};\n" %
                ",\n\t".join(roots))
        f.write("const unsigned int gw_schema_n_roots = %d;\n" % len(roots))
        f.write("const char *const gw_schema_patterns[] = {\n\t%s\n};\n" %
                ",\n\t".join(cstr(p) for p in patterns or [""]))
        f.write("const unsigned int gw_schema_n_patterns = %d;\n" % len(patterns))
    os.replace(tmp, dst)
    if "--list-rules" in sys.argv:
        for k, p, m in sorted(set(unchecked)):
            print("unchecked: %s %s: %s" % (k, p or ".", m))
        for k, p, m in sorted(set(checked)):
            print("checked: %s %s: %s" % (k, p or ".", m))
    else:
        for k, p, m in sorted(set(unchecked)):
            print("gen-schema: not checked: %s %s: %s" % (k, p or ".", m), file=sys.stderr)


if __name__ == "__main__":
    main()
