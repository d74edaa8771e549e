#!/bin/sh
# tests/integration/test_kube_deploy_schema.sh - every manifest in deploy/
# (not the vendored CRDs) validates against the Kubernetes and Gateway API
# schemas of a current release: deploy/check/validate.mjs with the npm
# packages kubernetes-models and @kubernetes-models/gateway-api (kubectl
# cannot validate without an API server). The packages are installed once
# into $B/deploy-check (npm registry). Two broken copies (a wrong type, a
# missing required field) must be refused, so a validator that accepts
# everything fails the test. Skips (249) without node/npm or the packages.
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_cmd node
gw_require_cmd npm
NM=$B/deploy-check
if [ ! -d "$NM/node_modules/kubernetes-models" ] || [ ! -d "$NM/node_modules/@kubernetes-models/gateway-api" ]; then
	mkdir -p "$NM"
	timeout 300 npm install --no-audit --no-fund --loglevel=error --prefix "$NM" \
		kubernetes-models@5.1.0 @kubernetes-models/gateway-api@2.0.0 js-yaml@5.5.0 \
		> "$GW_TMP/npm.log" 2>&1 || gw_skip "npm install of kubernetes-models failed: $(tail -n 3 "$GW_TMP/npm.log")"
fi
cp "$GW_ROOT/deploy/check/validate.mjs" "$NM/validate.mjs"
FILES=$(ls "$GW_ROOT"/deploy/*.yaml)
[ -n "$FILES" ] || gw_fail "no manifests in deploy/"
# shellcheck disable=SC2086
(cd "$NM" && node validate.mjs $FILES) > "$GW_TMP/valid.out" 2>&1
rc=$?
sed 's/^/# /' "$GW_TMP/valid.out"
[ $rc -eq 0 ] || gw_fail "deploy/ manifests do not validate"
N=$(grep -c '^ok ' "$GW_TMP/valid.out")
[ "$N" -ge 6 ] || gw_fail "only $N objects checked"

sed 's/hostNetwork: true/hostNetwork: "yes"/' "$GW_ROOT/deploy/daemonset.yaml" > "$GW_TMP/bad1.yaml"
sed 's/^      containers:/      containerz:/' "$GW_ROOT/deploy/daemonset.yaml" > "$GW_TMP/bad2.yaml"
for f in bad1 bad2; do
	if (cd "$NM" && node validate.mjs "$GW_TMP/$f.yaml") > "$GW_TMP/$f.out" 2>&1; then
		gw_fail "a broken DaemonSet ($f) validated: $(cat "$GW_TMP/$f.out")"
	fi
	sed 's/^/# refused as it should: /' "$GW_TMP/$f.out"
done
echo "PASS: $N objects in deploy/ validate against the schemas of kubernetes-models $(cd "$NM" && node -e 'console.log(require("./node_modules/kubernetes-models/package.json").version)') and @kubernetes-models/gateway-api"
