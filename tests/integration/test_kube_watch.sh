#!/bin/sh
# tests/integration/test_kube_watch.sh - the watch protocol under what a real
# API server (or the network in front of it) does, against tools/fakeapi:
#  1. events cut into HTTP chunks at arbitrary bytes, several events per
#     chunk: 30 rapid updates of one ConfigMap all arrive;
#  2. the connection dropped in the middle of an event (3 times): the source
#     reconnects from the last complete event, without listing again;
#  3. no event applied twice or lost: the resourceVersions the source
#     applied for the ConfigMap (one debug line per event) are exactly the
#     ones the server produced, in order;
#  4. BOOKMARK events move the resourceVersion forward: after a drop, the
#     ConfigMap watch resumes from a bookmark newer than its last event;
#  5. a rotated token: the server starts answering 401 to the old one; the
#     source re-reads its tokenFile and goes on (no restart).
# The test tool (tools/fakeapi/kubewatch.c) is built by make as $B/kubewatch.
set -u
. "$(dirname "$0")/lib.sh"
gw_init
cd "$GW_ROOT"
gw_require_kubewatch

gw_start_fakeapi --token tok1 --no-crds --max-seconds 120
echo tok1 > "$GW_TMP/token"
gw_kubeconfig "$GW_TMP/kubeconfig" "tokenFile: $GW_TMP/token"
ctl() { curl -sf -XPOST "$API/_ctl/$1" -d "${2:-{\}}" || gw_fail_logs "control $1 failed"; }
stat() { curl -sf "$API/_ctl/stats" | $GW_PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# cm N : applies ConfigMap default/cm with data v=N; prints its resourceVersion
cm() { ctl apply "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"cm\", \"namespace\": \"default\"}, \"data\": {\"v\": \"$1\"}}" | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["applied"][0]["resourceVersion"])'; }
# store_rv : the ConfigMap's resourceVersion in the source's published store
store_rv() { $GW_PY -c 'import json,sys; print([o["resourceVersion"] for o in json.load(open(sys.argv[1]))["objects"] if o["ref"] == "ConfigMap default/cm"][0])' "$GW_TMP/out.json" 2> /dev/null; }
# wait_rv RV MSG : until the store has the ConfigMap at RV (10 s)
wait_rv()
{
	i=0
	while [ "$(store_rv)" != "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(store_rv)" = "$1" ] || gw_fail_logs "$2 (store at $(store_rv), server at $1)"
}

ctl apply '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}' > /dev/null
RV0=$(cm 0)
ctl chunking '{"split": true}' > /dev/null
"$B/kubewatch" --kubeconfig "$GW_TMP/kubeconfig" --out "$GW_TMP/out.json" --no-status --verbose \
	--seconds 100 > "$GW_TMP/kubewatch.log" 2>&1 &
KW=$!
gw_track $KW
wait_rv "$RV0" "initial list not in the store"

# 1. split chunks, rapid updates
: > "$GW_TMP/server_rvs"
n=1
while [ $n -le 30 ]; do
	cm $n >> "$GW_TMP/server_rvs"
	n=$((n + 1))
done
wait_rv "$(tail -n 1 "$GW_TMP/server_rvs")" "updates sent in split chunks did not all arrive"
echo "# 30 updates in split chunks: store at $(store_rv)"

# 2. dropped mid-event, three times; no relist
LISTS=$(stat 'd["lists"]')
ctl drop_mid_event '{"count": 3}' > /dev/null
for n in 31 32 33; do
	rv=$(cm $n)
	echo "$rv" >> "$GW_TMP/server_rvs"
	wait_rv "$rv" "update $n not recovered after a stream cut mid-event"
done
CUT=$(stat 'd["cut_events"]')
[ "$CUT" -eq 3 ] || gw_fail_logs "the server cut $CUT events, want 3 (test setup)"
[ "$(stat 'd["lists"]')" -eq "$LISTS" ] || gw_fail_logs "a cut stream made the source list again ($LISTS -> $(stat 'd["lists"]'))"
echo "# 3 streams cut mid-event: recovered, no relist"

# 3. exactly the server's events, in order, once each
grep -o 'kube: event [A-Z]* ConfigMap default/cm rv [0-9]*' "$GW_TMP/kubewatch.log" | awk '{ print $NF }' > "$GW_TMP/applied_rvs"
if ! cmp -s "$GW_TMP/applied_rvs" "$GW_TMP/server_rvs"; then
	diff "$GW_TMP/server_rvs" "$GW_TMP/applied_rvs" | head -n 20
	gw_fail_logs "events applied differ from the events produced (duplicates, losses or order)"
fi
echo "# events applied: $(wc -l < "$GW_TMP/applied_rvs"), each server event exactly once, in order"

# 4. bookmarks: other kinds move the global resourceVersion; the ConfigMap
# watch's bookmark carries it; after a drop the watch resumes from there
LAST_CM=$(tail -n 1 "$GW_TMP/server_rvs")
SVC_RV=$(ctl apply '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}' | $GW_PY -c 'import json,sys; print(json.load(sys.stdin)["applied"][0]["resourceVersion"])')
sleep 2.5 # two bookmark periods (the fake server sends one a second per watch)
ctl drop > /dev/null
i=0
while [ $i -lt 100 ]; do
	W=$(stat 'max([0] + [int(rv) for p, rv in d["watch_rvs"] if p == "configmaps"])')
	[ "$W" -ge "$SVC_RV" ] && break
	sleep 0.1
	i=$((i + 1))
done
echo "# ConfigMap watch resumed from $W (its last event: $LAST_CM, newest object: $SVC_RV)"
[ "$W" -ge "$SVC_RV" ] || gw_fail_logs "bookmarks did not move the watch's resourceVersion ($W < $SVC_RV)"

# 5. token rotation: 401 for the old token, the tokenFile is read again
echo tok2 > "$GW_TMP/token.new"
mv "$GW_TMP/token.new" "$GW_TMP/token"
ctl token '{"token": "tok2"}' > /dev/null
ctl drop > /dev/null
rv=$(cm 99)
wait_rv "$rv" "not recovered after the token was rotated"
U=$(stat 'd["unauthorized"]')
[ "$U" -gt 0 ] || gw_fail_logs "the old token was never refused (test setup)"
echo "# token rotated: $U requests got 401, the source re-read its tokenFile and caught up"
kill -0 "$KW" || gw_fail_logs "kubewatch died"
echo "ok: watch protocol faults (split chunks, cut events, bookmarks, 401), no event lost or applied twice"
exit 0
