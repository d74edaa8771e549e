"""tests/conformance/weighted.py - the weighted-distribution check shared by
run.py (HTTP), grpc_kind.py (gRPC) and l4_kind.py (TCP/TLS/UDP): upstream's
testDistribution, whatever carries the request.

A case's `distribution: {weights: {POD-PREFIX: FRACTION}, samples, tolerance,
attempts}` sends `samples` requests (10 at a time) and counts the pod that
answered each one by name prefix; every backend's share must be within
`tolerance` of its weight, and a backend with a weight must be hit at all.
A failed round is tried again, up to `attempts` rounds.
"""

import concurrent.futures


def check(d, probe, what="weighted distribution"):
    """d: the case's distribution mapping; probe(): one request, returning
    (pod, None) or (None, why) when the request itself failed. Returns None
    when the split holds, else "<what> failed: " and the reasons."""
    weights = d["weights"]
    samples = int(d.get("samples", 500))
    tol = float(d.get("tolerance", 0.05))
    errs = []
    for _ in range(int(d.get("attempts", 10))):
        seen, errs = {}, []

        def one(_):
            pod, why = probe()
            if why:
                return why
            for b in weights:
                if pod.startswith(b):
                    return b
            return "handled by an unexpected pod %r" % pod

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
            for res in ex.map(one, range(samples)):
                if res in weights:
                    seen[res] = seen.get(res, 0) + 1
                elif len(errs) < 3:
                    errs.append(res)
        if errs:
            continue
        for b, want in weights.items():
            got = seen.get(b, 0) / samples
            if want and not seen.get(b):
                errs.append("expected traffic to hit backend %s, none received" % b)
            elif abs(got - want) > tol:
                errs.append("backend %s got %.3f of traffic, want %.3f (+/-%.2f)" % (
                    b, got, want, tol))
        if not errs:
            return None
    return "%s failed: %s" % (what, "; ".join(errs))
