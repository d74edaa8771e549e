# tests/integration/tls_certs.sh - certificate helpers for the TLS tests
# (sourced after lib.sh; files go to $GW_TMP). openssl CLI only.

# tc_ca NAME : a self-signed CA in NAME.crt / NAME.key
tc_ca()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$1 test CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$GW_TMP/$1.key" -out "$GW_TMP/$1.crt" > /dev/null 2>&1 ||
		gw_fail "openssl: CA $1"
}

# tc_leaf NAME CA CN SAN [EKU] : a certificate for CN signed by CA, with
# subjectAltName SAN (e.g. "DNS:a.test,URI:spiffe://a.test/x"), in
# NAME.crt / NAME.key; EKU defaults to serverAuth,clientAuth
tc_leaf()
{
	printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' \
		"$4" "${5:-serverAuth,clientAuth}" > "$GW_TMP/$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$3" -keyout "$GW_TMP/$1.key" -out "$GW_TMP/$1.csr" > /dev/null 2>&1 &&
		openssl x509 -req -in "$GW_TMP/$1.csr" -CA "$GW_TMP/$2.crt" -CAkey "$GW_TMP/$2.key" \
			-CAcreateserial -days 2 -extfile "$GW_TMP/$1.ext" \
			-out "$GW_TMP/$1.crt" > /dev/null 2>&1 || gw_fail "openssl: leaf $1"
}

# tc_b64 FILE : base64 on one line
tc_b64() { base64 -w0 < "$1"; }

# tc_secret NAME CERT : a kubernetes.io/tls Secret (default namespace)
tc_secret()
{
	cat << YEOF
---
apiVersion: v1
kind: Secret
metadata: {name: $1, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: $(tc_b64 "$GW_TMP/$2.crt")
  tls.key: $(tc_b64 "$GW_TMP/$2.key")
YEOF
}

# tc_ca_configmap NAME CA : a ConfigMap with ca.crt
tc_ca_configmap()
{
	printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: default}\n' "$1"
	printf 'data:\n  ca.crt: |\n'
	sed 's/^/    /' "$GW_TMP/$2.crt"
}
