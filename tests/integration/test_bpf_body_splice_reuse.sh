#!/bin/sh
# test_bpf_body_splice_reuse.sh - after a body splice the upstream
# connection is clean and is reused. A real nginx origin serves a 1 MiB file
# and a small one; 8 keep-alive clients ask 40 times each for both, so the
# gateway's upstream connections alternate a spliced body with a copied
# response. Every byte of every response is compared with the files, the
# splice counters must show the kernel carried the big bodies, the upstream
# connections must have been reused, and no splice may end unclean.
# (Before session 4 a byte passed up by the stream parser was read after it
# stopped, which on 6.18 leaves the socket's copied_seq behind: the
# connection was then never reused; docs/bpf.md "Body splice".)
. "$(dirname "$0")/lib.sh"
gw_netns "$@"
gw_init
gw_require_root
gw_require_cmd nginx
gw_private_bin
gw_require_file "$B/gwbpf"

NGP=$(gw_free_port)
mkdir -p "$GW_TMP/ng/www"
head -c 1048576 /dev/urandom > "$GW_TMP/ng/www/big"
head -c 100 /dev/urandom > "$GW_TMP/ng/www/small"
cat > "$GW_TMP/ng/nginx.conf" << NEOF
daemon off;
user root root;
pid $GW_TMP/ng/nginx.pid;
error_log $GW_TMP/ng/error.log;
events {}
http {
  access_log off;
  keepalive_requests 100000; keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path $GW_TMP/ng;
  proxy_temp_path $GW_TMP/ng;
  server { listen 127.0.0.1:$NGP; root $GW_TMP/ng/www; }
}
NEOF
nginx -c "$GW_TMP/ng/nginx.conf" -p "$GW_TMP/ng" > /dev/null 2>&1 &
gw_track $!
gw_wait_port 127.0.0.1 "$NGP" 10 || gw_fail "nginx did not start: $(cat "$GW_TMP/ng/error.log")"

GWP=$(gw_free_port)
gw_config_http "$GW_TMP/gw.yaml" "$GWP" "$NGP"
BPFFS=$(gw_bpffs reuse)
gw_bpffs_own "$BPFFS"
# splice without msg: nginx is local and the bypass would carry its bytes
# past the stream parser (refused and counted, docs/bpf.md)
gw_start --config "$GW_TMP/gw.yaml" --bpf splice --bpffs "$BPFFS" --workers 2 --access-log off
grep -q "splice: body splice self-check passed" "$GW_TMP/gwbpf.log" ||
	gw_skip "body splice unavailable here: $(grep -i 'body splice' "$GW_TMP/gwbpf.log" | head -2)"

metric() # metric NAME: its value on /metrics
{
	curl -s "http://$GW_ADMIN/metrics" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "missing" }'
}
ev() { metric "gwbpf_splice_events_total{event=\"$1\"}"; }
s0=$(ev body_started)
b0=$(ev body_bytes)
u0=$(ev body_unclean_end)
r0=$(metric gwbpf_proxy_upstream_reused_total)
[ "$s0" != missing ] && [ "$u0" != missing ] && [ "$r0" != missing ] ||
	gw_fail "counters missing from /metrics"

out=$(timeout 120 $GW_PY "$GW_ROOT/tests/integration/body_reuse_client.py" "$GWP" \
	"$GW_TMP/ng/www/big" "$GW_TMP/ng/www/small" 8 40 2>&1) || gw_fail "client: $out"
[ "$out" = "ok 640" ] || gw_fail "client: $out"

started=$(($(ev body_started) - s0))
bytes=$(($(ev body_bytes) - b0))
unclean=$(($(ev body_unclean_end) - u0))
reused=$(($(metric gwbpf_proxy_upstream_reused_total) - r0))
gw_log "640 responses exact; $started body splices carried $bytes bytes; $reused upstream reuses; $unclean unclean ends"
# every /big body is at least 1 MiB - what the first read took of it
[ "$started" -ge 300 ] || gw_fail "only $started of 320 big bodies were spliced"
[ "$bytes" -ge $((started * (1048576 - 65536))) ] || gw_fail "the kernel carried only $bytes bytes"
[ "$unclean" = 0 ] || gw_fail "$unclean body splices ended unclean"
# 640 requests over 8 client connections: with reuse after every splice
# nearly all of them find a pooled upstream connection
[ "$reused" -ge 500 ] || gw_fail "upstream connections reused only $reused times in 640 requests"
gw_log "ok"
