#!/bin/sh
# tests/integration/test_kube_tls.sh - the kube source over HTTPS: the API
# server's certificate is checked against certificate-authority-data from the
# kubeconfig (base64 PEM), a wrong bearer token gets nothing, and a right one
# syncs the store. Uses tools/fakeapi with a self-signed certificate.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: missing $PY"; exit 249; }
$PY -c 'import yaml' 2> /dev/null || { echo "skip: python3-yaml missing"; exit 249; }
command -v openssl > /dev/null || { echo "skip: openssl (CLI) missing"; exit 249; }
[ -f "$B/libgwbpf.a" ] || { echo "skip: $B/libgwbpf.a not built (run make)"; exit 249; }

TMP=$(mktemp -d)
FA=""
KW=""
cleanup()
{
	for p in $KW $FA; do
		kill "$p" 2> /dev/null && wait "$p" 2> /dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
fail()
{
	echo "FAIL: $*"
	for f in "$TMP"/*.log; do echo "--- $f"; tail -n 20 "$f"; done
	exit 1
}

OBJS=$(ls "$B"/userspace/source/kube*.o 2> /dev/null)
# a sanitizer build (make SANITIZE=1, B=build-san) links with the same flags
SAN=""
nm "$B/libgwbpf.a" 2> /dev/null | grep -q __asan_ && SAN="-fsanitize=address,undefined"
# shellcheck disable=SC2046
${CC:-cc} -std=gnu11 -O1 -g -pthread $SAN -Iinclude -o "$TMP/kubewatch" tools/fakeapi/kubewatch.c \
	$OBJS "$B/libgwbpf.a" $(pkg-config --libs libbpf libxdp libmnl openssl yaml-0.1 jansson \
	libcurl libnghttp2 libpcre2-8) -lelf -lz -lm > "$TMP/cc.log" 2>&1 ||
	fail "cannot build kubewatch"

mkdir "$TMP/tls"
$PY tools/fakeapi/fakeapi.py --port-file "$TMP/port" --token right --tls-dir "$TMP/tls" \
	--max-seconds 60 > "$TMP/fakeapi.log" 2>&1 &
FA=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$TMP/port" ] || fail "fakeapi did not start"
PORT=$(cat "$TMP/port")
CA=$(base64 -w0 < "$TMP/tls/tls.crt")

kubeconfig() # kubeconfig TOKEN FILE
{
	cat > "$2" << EOF
apiVersion: v1
kind: Config
current-context: tls
contexts: [{name: tls, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://127.0.0.1:$PORT", certificate-authority-data: "$CA"}}]
users: [{name: u, user: {token: "$1"}}]
EOF
}
curl -sf --cacert "$TMP/tls/tls.crt" -XPOST "https://127.0.0.1:$PORT/_ctl/apply" --data-binary \
	'{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}' \
	> /dev/null || fail "cannot apply over HTTPS"

wait_out() # wait_out FILE EXPR SECONDS: polls until the Python expression over d holds
{
	$PY - "$1" "$2" "$3" << 'EOF'
import json, sys, time
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        d = json.load(open(sys.argv[1]))
        if eval(sys.argv[2], {"d": d}):
            sys.exit(0)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

# the wrong token: never synced (401 on every list)
kubeconfig wrong "$TMP/kc-wrong"
"$TMP/kubewatch" --kubeconfig "$TMP/kc-wrong" --out "$TMP/wrong.json" --no-status \
	--seconds 30 > "$TMP/wrong.log" 2>&1 &
KW=$!
if wait_out "$TMP/wrong.json" 'd["synced"]' 2; then
	fail "synced with a wrong token"
fi
grep -q "HTTP 401" "$TMP/wrong.log" || fail "no 401 reported with a wrong token"
kill "$KW"
wait "$KW" 2> /dev/null
KW=""

kubeconfig right "$TMP/kc"
"$TMP/kubewatch" --kubeconfig "$TMP/kc" --out "$TMP/ok.json" --no-status \
	--seconds 30 > "$TMP/ok.log" 2>&1 &
KW=$!
wait_out "$TMP/ok.json" 'd["synced"] and any(o["ref"] == "Service default/s" for o in d["objects"])' 10 ||
	fail "not synced over HTTPS with the CA from certificate-authority-data"
echo "ok: kube source over HTTPS with CA data and bearer token"
exit 0
