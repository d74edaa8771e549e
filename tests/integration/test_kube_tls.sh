#!/bin/sh
# tests/integration/test_kube_tls.sh - the kube source over HTTPS: the API
# server's certificate is checked against certificate-authority-data from the
# kubeconfig (base64 PEM), a wrong bearer token gets nothing, and a right one
# syncs the store. Uses tools/fakeapi with a self-signed certificate.
set -u
. "$(dirname "$0")/lib.sh"
gw_init
cd "$GW_ROOT"
gw_require_kubewatch
gw_require_cmd openssl

mkdir "$GW_TMP/tls"
gw_start_fakeapi --token right --tls-dir "$GW_TMP/tls" --max-seconds 60
PORT=$GW_FAKE_PORT
CA=$(base64 -w0 < "$GW_TMP/tls/tls.crt")

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
curl -sf --cacert "$GW_TMP/tls/tls.crt" -XPOST "https://127.0.0.1:$PORT/_ctl/apply" --data-binary \
	'{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}' \
	> /dev/null || gw_fail_logs "cannot apply over HTTPS"

wait_out() # wait_out FILE EXPR SECONDS: polls until the Python expression over d holds
{
	$GW_PY - "$1" "$2" "$3" << 'EOF'
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
kubeconfig wrong "$GW_TMP/kc-wrong"
"$B/kubewatch" --kubeconfig "$GW_TMP/kc-wrong" --out "$GW_TMP/wrong.json" --no-status \
	--seconds 30 > "$GW_TMP/wrong.log" 2>&1 &
KW=$!
gw_track $KW
if wait_out "$GW_TMP/wrong.json" 'd["synced"]' 2; then
	gw_fail_logs "synced with a wrong token"
fi
grep -q "HTTP 401" "$GW_TMP/wrong.log" || gw_fail_logs "no 401 reported with a wrong token"
kill "$KW"
wait "$KW" 2> /dev/null
gw_untrack "$KW"
KW=""

kubeconfig right "$GW_TMP/kc"
"$B/kubewatch" --kubeconfig "$GW_TMP/kc" --out "$GW_TMP/ok.json" --no-status \
	--seconds 30 > "$GW_TMP/ok.log" 2>&1 &
KW=$!
gw_track $KW
wait_out "$GW_TMP/ok.json" 'd["synced"] and any(o["ref"] == "Service default/s" for o in d["objects"])' 10 ||
	gw_fail_logs "not synced over HTTPS with the CA from certificate-authority-data"
echo "ok: kube source over HTTPS with CA data and bearer token"
exit 0
