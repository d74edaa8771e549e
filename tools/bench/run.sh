#!/bin/sh
# tools/bench/run.sh - `make bench`: gwbpf against nginx and HAProxy, same run.
#
# Every proxy forwards to the same fast local backend (nginx serving a static
# body from 127.0.0.1) with the same worker count; wrk (Debian's, -t1, pinned
# to CPU $BENCH_WRK_CPU with taskset) loads each for a bounded time, after a
# warm-up, for a small (64 B, c=50) and a bulk (1 MiB, c=8) response. Rows:
#
#   direct          wrk -> backend (the limit of this machine)
#   nginx           nginx reverse proxy (upstream keepalive)
#   haproxy         HAProxy (http-reuse always)
#   gwbpf           gwbpf run --no-bpf (userspace proxy only)
#   gwbpf+skmsg     gwbpf run --cgroup: the sk_msg local bypass on both hops
#   nginx+skmsg     nginx with the same bypass loaded by gwbpf-dpctl (shows
#                   what the bypass does for any local proxy)
#   gwbpf+steer     --bpf msg,steer: L7 forwarding in the kernel (opt-in row)
#   gwbpf+splice    --bpf msg,splice: large bodies spliced (opt-in row)
#
# plus HTTP/2 rows (bench_h2 below: h2load, h2c, gwbpf vs nginx vs HAProxy).
#
# plus HTTPS rows (bench_https below: TLS terminated by gwbpf, nginx, HAProxy).
#
# plus TLS passthrough rows (bench_passthrough below: direct TLS, gwbpf
# userspace relay and kernel splice, HAProxy mode tcp).
#
# All processes (backend, proxy, wrk) run in one cgroup v2 child, so "CPU
# us/req" is the cgroup's own cpu.stat usage (user+system of our processes,
# softirq included as the kernel charges it) divided by completed requests;
# "sys us/req" is machine-wide busy time per request (includes anyone else's
# load: the machine may be shared). Ratios are against nginx and HAProxy
# measured in the same run. Configurations are interleaved and the order is
# reversed every round; medians over rounds are reported.
#
# Scenarios of the main table, per mode: 64 B over 50 keep-alive connections,
# 1 MiB over 8, and one connection (wrk -c1, 64 B: latency; its own table with
# the p50 added over direct's p50 of the same round, median over rounds).
#
# Remote client (BENCH_REMOTE=1, the default): the same scenarios again with
# wrk in a network namespace the script creates (veth pair, 10.201.0.2/30 in
# the netns, 10.201.0.1/30 on the host end, where every proxy and the backend
# also listen) and in a cgroup of its own outside the accelerated one, as
# ingress traffic is: the bypass and the kernel forwarding can only apply to
# the proxy -> backend hop. CPU us/req there is both cgroups together.
#
# Output: build/bench/results.md (and raw.txt, raw-remote.txt). docs/benchmarks.md
# is updated by hand from it.
#
# Env: BENCH_SECONDS (5) BENCH_ROUNDS (1) BENCH_WORKERS (1) BENCH_MODES
# (all of the above) BENCH_WRK_CPU (1) BENCH_LATENCY (1: the c=1 scenario)
# BENCH_REMOTE (1: the remote-client run) BENCH_PORT_OFFSET (0) B (build).
set -u
B=${B:-build}
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-1}
W=${BENCH_WORKERS:-1}
WRK_CPU=${BENCH_WRK_CPU:-1}
MODES=${BENCH_MODES:-"direct nginx haproxy gwbpf gwbpf+skmsg nginx+skmsg"}
LATENCY=${BENCH_LATENCY:-1}
REMOTE=${BENCH_REMOTE:-1}
PO=${BENCH_PORT_OFFSET:-0} # added to every port below: two benches on one host
# the /30 of the remote-client netns (host end, wrk end); another offset, another /30
RHOST=10.201.$((PO % 256)).1 RPEER=10.201.$((PO % 256)).2
OUT=$ROOT/$B/bench
P_BACKEND=$((28001 + PO)) P_GWBPF=$((28080 + PO)) P_NGINX=$((28081 + PO)) P_HAPROXY=$((28082 + PO)) P_ADMIN=$((28901 + PO))

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (cgroups, BPF)"
for t in wrk nginx haproxy taskset curl; do
	command -v $t >/dev/null || die "$t missing (make deps)"
done
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || die "no cgroup2 mount"
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
[ "$WRK_CPU" -lt "$NCPU" ] || WRK_CPU=$((NCPU - 1))

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gwbpf-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers run as www-data
CG=$CG2/gwbpf-bench-$$
PIN=/sys/fs/bpf/gwbpf-bench-$$
mkdir "$CG" || die "cannot create $CG"
CGC=$CG2/gwbpf-bench-client-$$ # the remote client's cgroup, outside $CG
NS=gwbench$$ VH=gwbh$$ VN=gwbn$$
PIDS=""

stop_pid() { # pid: TERM, then KILL after 5 s; only our own children
	kill "$1" 2>/dev/null || return 0
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
unload_bpf() {
	[ -x "$B/gwbpf-dpctl" ] && [ -d "$PIN" ] && "$B/gwbpf-dpctl" unload --bpffs "$PIN" >/dev/null 2>&1
	rmdir "$PIN" 2>/dev/null
	true
}
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	unload_bpf
	n=0
	while [ -s "$CG/cgroup.procs" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	rmdir "$CG" 2>/dev/null
	n=0
	while [ -s "$CGC/cgroup.procs" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	rmdir "$CGC" 2>/dev/null
	ip netns del "$NS" 2>/dev/null # takes the veth pair with it
	ip link del "$VH" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_cg NAME CMD...: starts CMD in the bench cgroup, in the background
start_cg() {
	name=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" "$@" \
		> "$WORK/$name.log" 2>&1 &
	LAST=$!
	PIDS="$PIDS $LAST"
}
stop_last() {
	stop_pid "$LAST"
	PIDS=$(echo "$PIDS" | sed "s/ $LAST\b//")
}
wait_http() { # url: up to 10 s for a 200
	n=0
	while [ $n -lt 100 ]; do
		[ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# ---- the remote client's network namespace ----
setup_remote() {
	command -v ip > /dev/null || { note "ip (iproute2) missing: no remote-client run"; return 1; }
	ip netns add "$NS" || return 1
	ip link add "$VH" type veth peer name "$VN" netns "$NS" || return 1
	ip addr add "$RHOST/30" dev "$VH" && ip link set "$VH" up &&
		ip -n "$NS" addr add "$RPEER/30" dev "$VN" && ip -n "$NS" link set "$VN" up &&
		ip -n "$NS" link set lo up || return 1
	mkdir "$CGC" || return 1
}
if [ "$REMOTE" = 1 ] && ! setup_remote; then
	note "remote-client setup failed: no remote-client run"
	REMOTE=0
fi
# the backend and the main proxies also listen on the veth's host end
EXTRA_LISTEN=""
[ "$REMOTE" = 1 ] && EXTRA_LISTEN="listen $RHOST:$P_BACKEND backlog=4096;"

# ---- backend and proxy configurations ----
mkdir -p "$WORK/www" "$WORK/tmp"
head -c 64 /dev/urandom | base64 | head -c 63 > "$WORK/www/64" && echo >> "$WORK/www/64"
head -c 1048576 /dev/urandom > "$WORK/www/1m"

nginx_common="daemon off; error_log $WORK/%s.err warn; pid $WORK/%s.pid;
events { worker_connections 8192; }"
ngx_temps="client_body_temp_path $WORK/tmp/cb; proxy_temp_path $WORK/tmp/px;
  fastcgi_temp_path $WORK/tmp/fc; uwsgi_temp_path $WORK/tmp/uw; scgi_temp_path $WORK/tmp/sc;"

# shellcheck disable=SC2059
{ printf "$nginx_common\n" backend backend; cat <<EOF2
worker_processes 1;
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 120s;
  default_type application/octet-stream; $ngx_temps
  server { listen 127.0.0.1:$P_BACKEND backlog=4096; $EXTRA_LISTEN root $WORK/www; }
}
EOF2
} > "$WORK/backend.conf"

{ printf "$nginx_common\n" nginx nginx; cat <<EOF2
worker_processes $W;
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 120s; $ngx_temps
  upstream be { server 127.0.0.1:$P_BACKEND; keepalive 256; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$P_NGINX backlog=4096;
    location / {
      proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
EOF2
} > "$WORK/nginx.conf"

cat > "$WORK/haproxy.cfg" <<EOF2
global
  nbthread $W
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend be
backend be
  server s1 127.0.0.1:$P_BACKEND
EOF2

cat > "$WORK/gwbpf.yaml" <<EOF2
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gwbpf}
spec: {controllerName: gwbpf.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: default}
spec:
  gatewayClassName: gwbpf
  listeners:
  - {name: http, protocol: HTTP, port: $P_GWBPF}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench, namespace: default}
spec:
  parentRefs: [{name: bench}]
  rules:
  - backendRefs: [{name: backend, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: $P_BACKEND}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: default
  labels: {kubernetes.io/service-name: backend}
addressType: IPv4
ports: [{name: http, port: $P_BACKEND, protocol: TCP}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
EOF2

# the main loop's nginx and HAProxy also listen on the remote client's side
# (the other sections derive their configurations from the 127.0.0.1 ones)
if [ "$REMOTE" = 1 ]; then
	sed "s|listen 127.0.0.1:$P_NGINX backlog=4096;|&\n    listen $RHOST:$P_NGINX backlog=4096;|" \
		"$WORK/nginx.conf" > "$WORK/nginx-main.conf"
	sed "s|^  bind 127.0.0.1:$P_HAPROXY\$|&\n  bind $RHOST:$P_HAPROXY|" \
		"$WORK/haproxy.cfg" > "$WORK/haproxy-main.cfg"
else
	cp "$WORK/nginx.conf" "$WORK/nginx-main.conf"
	cp "$WORK/haproxy.cfg" "$WORK/haproxy-main.cfg"
fi

# ---- starting and stopping one configuration ----
HAVE_GWBPF=0
[ -x "$B/gwbpf" ] && "$B/gwbpf" run --help 2>&1 | grep -q -- --no-bpf && HAVE_GWBPF=1

start_mode() { # mode -> sets PORT; returns 1 when the mode cannot run here
	case $1 in
	direct) PORT=$P_BACKEND ;;
	nginx | nginx+skmsg)
		if [ "$1" = nginx+skmsg ]; then
			[ -x "$B/gwbpf-dpctl" ] || return 1
			"$B/gwbpf-dpctl" load --bpffs "$PIN" --cgroup "$CG" 2> "$WORK/dpctl.log" || return 1
		fi
		start_cg nginx nginx -p "$WORK" -c "$WORK/nginx-main.conf"
		PORT=$P_NGINX ;;
	haproxy)
		start_cg haproxy haproxy -db -f "$WORK/haproxy-main.cfg"
		PORT=$P_HAPROXY ;;
	gwbpf)
		[ $HAVE_GWBPF = 1 ] || return 1
		start_cg gwbpf "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf.yaml" --no-bpf \
			--workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
		PORT=$P_GWBPF ;;
	gwbpf+skmsg)
		[ $HAVE_GWBPF = 1 ] || return 1
		start_cg gwbpf "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf.yaml" --cgroup "$CG" \
			--bpffs "$PIN" --workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
		PORT=$P_GWBPF ;;
	gwbpf+steer) # L7 forwarding in the kernel (docs/bpf.md); not in the default MODES
		[ $HAVE_GWBPF = 1 ] || return 1
		start_cg gwbpf "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf.yaml" --cgroup "$CG" \
			--bpffs "$PIN" --bpf msg,steer --workers "$W" --access-log off \
			--admin 127.0.0.1:$P_ADMIN
		PORT=$P_GWBPF ;;
	gwbpf+splice) # body splice of large Content-Length responses; not in the default MODES
		[ $HAVE_GWBPF = 1 ] || return 1
		start_cg gwbpf "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf.yaml" --cgroup "$CG" \
			--bpffs "$PIN" --bpf msg,splice --workers "$W" --access-log off \
			--admin 127.0.0.1:$P_ADMIN
		PORT=$P_GWBPF ;;
	esac
	wait_http "http://127.0.0.1:$PORT/64" || { note "$1 did not answer"; return 1; }
}
stop_mode() {
	[ "$1" = direct ] || stop_last
	case $1 in *skmsg | *steer | *splice) unload_bpf ;; esac
}

redirect_bytes() {
	if [ -d "$PIN" ] && [ -x "$B/gwbpf-dpctl" ]; then
		"$B/gwbpf-dpctl" stats --bpffs "$PIN" 2>/dev/null |
			awk '$1 == "reason" && $2 == "msg_redirect" { print $4; f = 1 } END { if (!f) print 0 }'
	else
		echo 0
	fi
}
cg_usec() { awk '$1 == "usage_usec" { print $2 }' "$CG/cpu.stat"; }
cg_usec_all() { # the bench cgroup plus the remote client's (when it exists)
	if [ -d "$CGC" ]; then
		awk '$1 == "usage_usec" { t += $2 } END { print t + 0 }' "$CG/cpu.stat" "$CGC/cpu.stat"
	else
		cg_usec
	fi
}
sys_busy_usec() { # machine-wide busy CPU time in microseconds
	awk -v hz="$HZ" '$1 == "cpu" { b = $2 + $3 + $4 + $7 + $8 + $9; printf "%.0f\n", b * 1e6 / hz }' /proc/stat
}
to_ms() { # wrk duration (e.g. 353.00us, 1.20ms, 2.00s) -> ms
	echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v = v;
		else if ($1 ~ /s$/) v *= 1000; else if ($1 ~ /m$/) v *= 60000; printf "%.3f", v }'
}
CLIENT=local # run_wrk's client: local (in the bench cgroup) or remote (netns, own cgroup)
run_wrk() { # secs conns path -> wrk output on stdout
	if [ "$CLIENT" = remote ]; then
		sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CGC" \
			ip netns exec "$NS" taskset -c "$WRK_CPU" wrk -t1 -c"$2" -d"$1"s --latency \
			"http://$RHOST:$PORT$3" 2>&1 < /dev/null
	else
		sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
			taskset -c "$WRK_CPU" wrk -t1 -c"$2" -d"$1"s --latency "http://127.0.0.1:$PORT$3" \
			2>&1 < /dev/null
	fi
}
remote_ok() { # the mode answers the remote client (up to 5 s)
	n=0
	while [ $n -lt 50 ]; do
		[ "$(ip netns exec "$NS" curl -s -o /dev/null -m 1 -w '%{http_code}' \
			"http://$RHOST:$PORT/64")" = 200 ] && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

measure() { # mode body conns path round (client: $CLIENT; rows to raw.txt or raw-remote.txt)
	mode=$1 body=$2 conns=$3 path=$4 round=$5
	raw=$OUT/raw.txt
	[ "$CLIENT" = remote ] && raw=$OUT/raw-remote.txt
	run_wrk 1 "$conns" "$path" > /dev/null # warm-up: pools, caches, accept queues
	rb0=$(redirect_bytes)
	c0=$(cg_usec_all)
	s0=$(sys_busy_usec)
	run_wrk "$SECS" "$conns" "$path" > "$WORK/wrk.out"
	c1=$(cg_usec_all)
	s1=$(sys_busy_usec)
	rb1=$(redirect_bytes)
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk.out")
	reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk.out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.out")")
	errs=$(awk '/Non-2xx|Socket errors/ { n++ } END { print n + 0 }' "$WORK/wrk.out")
	[ -n "$rps" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || {
		note "$mode $body: wrk failed: $(tail -n 3 "$WORK/wrk.out")"
		return 0
	}
	cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')
	sys=$(awk -v a="$s0" -v b="$s1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')
	echo "$mode $body $conns $round $rps $p50 $p99 $cpu $sys $reqs $errs $((rb1 - rb0))" >> "$raw"
	printf '  %-6s %-12s %-5s c=%-3s %10s req/s  p50 %7s ms  p99 %7s ms  %7s us/req (cgroup)  %7s (system)%s\n' \
		"$CLIENT" "$mode" "$body" "$conns" "$rps" "$p50" "$p99" "$cpu" "$sys" \
		"$([ "$errs" -gt 0 ] && echo "  ERRORS, see $WORK")"
}

# ---- run ----
: > "$OUT/raw.txt"
: > "$OUT/raw-remote.txt"
rm -f "$OUT"/results-*.md # sections switched off must not report an older run's rows
start_cg backend nginx -p "$WORK" -c "$WORK/backend.conf"
wait_http "http://127.0.0.1:$P_BACKEND/64" || die "backend did not start: $(cat "$WORK/backend.err" 2>/dev/null)"
BACKEND_PID=$LAST
echo "bench: $SECS s per run, $ROUNDS round(s), $W worker(s), wrk -t1 on CPU $WRK_CPU, $NCPU CPUs, kernel $(uname -r)"
order=$MODES
r=1
while [ $r -le "$ROUNDS" ]; do
	for m in $order; do
		if ! start_mode "$m"; then
			note "skipping $m (not available here)"
			case $m in *skmsg) unload_bpf ;; esac
			continue
		fi
		# sk_msg only accelerates connections made after the attach: the
		# proxies were started after it, the backend listener inherits
		for CLIENT in local remote; do
			if [ $CLIENT = remote ]; then
				[ "$REMOTE" = 1 ] || continue
				remote_ok || { note "$m does not answer the remote client"; continue; }
			fi
			measure "$m" 64B 50 /64 $r
			measure "$m" 1MiB 8 /1m $r
			[ "$LATENCY" = 1 ] && measure "$m" 64B 1 /64 $r
		done
		CLIENT=local
		stop_mode "$m"
	done
	order=$(echo "$order" | tr ' ' '\n' | sed '1!G;h;$!d' | tr '\n' ' ')
	r=$((r + 1))
done
# ---- HTTP/2 scenarios (h2c: cleartext HTTP/2 with prior knowledge) ----
# Many streams on few connections: h2load -c CONNS -m STREAMS against gwbpf,
# nginx (listen ... http2) and HAProxy (bind ... proto h2), each terminating
# HTTP/2 and forwarding HTTP/1.1 with keep-alive to the same backend. h2c, not
# h2 over TLS, so the rows measure HTTP/2 framing, HPACK and multiplexing and
# not the TLS record layer (the HTTPS scenarios measure that). The ">h2c"
# rows also speak h2c to the backend (an nginx backend listening with http2),
# as gRPC routes do: gwbpf's pooled multiplexed upstream against HAProxy's
# (proto h2); nginx cannot proxy to HTTP/2. Own table: results-h2.md,
# appended to results.md. BENCH_H2=0 skips it.
P_NGINX_H2=$((28083 + PO)) P_HAPROXY_H2=$((28084 + PO)) P_BACKEND_H2=$((28002 + PO))
H2_MODES=${BENCH_H2_MODES:-"nginx haproxy gwbpf haproxy>h2c gwbpf>h2c"}
bench_h2() {
	command -v h2load > /dev/null || { note "h2load missing (make deps): no HTTP/2 rows"; return 0; }
	# shellcheck disable=SC2059
	{ printf "$nginx_common\n" nginx-h2 nginx-h2; cat <<EOF2
worker_processes $W;
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 120s; $ngx_temps
  http2_max_concurrent_streams 128;
  upstream be { server 127.0.0.1:$P_BACKEND; keepalive 256; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$P_NGINX_H2 http2 backlog=4096;
    location / {
      proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
EOF2
	} > "$WORK/nginx-h2.conf"
	sed -e "s/bind 127.0.0.1:$P_HAPROXY/bind 127.0.0.1:$P_HAPROXY_H2 proto h2/" \
		"$WORK/haproxy.cfg" > "$WORK/haproxy-h2.cfg"
	sed -e "s/server s1 127.0.0.1:$P_BACKEND/server s1 127.0.0.1:$P_BACKEND_H2 proto h2/" \
		"$WORK/haproxy-h2.cfg" > "$WORK/haproxy-h2c.cfg"
	sed -e "s/{name: http, port: 80, targetPort: $P_BACKEND}/{name: http, port: 80, targetPort: $P_BACKEND_H2, appProtocol: kubernetes.io\/h2c}/" \
		-e "s/{name: http, port: $P_BACKEND, protocol: TCP}/{name: http, port: $P_BACKEND_H2, protocol: TCP, appProtocol: kubernetes.io\/h2c}/" \
		"$WORK/gwbpf.yaml" > "$WORK/gwbpf-h2c.yaml"
	sed -e "s/listen 127.0.0.1:$P_BACKEND backlog=4096;/listen 127.0.0.1:$P_BACKEND_H2 http2 backlog=4096; http2_max_concurrent_streams 256;/" \
		-e "s/backend.err/backend-h2.err/; s/backend.pid/backend-h2.pid/" \
		"$WORK/backend.conf" > "$WORK/backend-h2.conf"
	H2_BACKEND_PID=""
	case " $H2_MODES " in *">h2c "*)
		start_cg backend-h2 nginx -p "$WORK" -c "$WORK/backend-h2.conf"
		H2_BACKEND_PID=$LAST ;;
	esac
	: > "$OUT/raw-h2.txt"
	for m in $H2_MODES; do
		case $m in
		"haproxy>h2c") start_cg haproxy-h2c haproxy -db -f "$WORK/haproxy-h2c.cfg"; PORT=$P_HAPROXY_H2 ;;
		"gwbpf>h2c")
			[ $HAVE_GWBPF = 1 ] || continue
			start_cg gwbpf-h2c "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf-h2c.yaml" --no-bpf \
				--workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
			PORT=$P_GWBPF ;;
		nginx) start_cg nginx-h2 nginx -p "$WORK" -c "$WORK/nginx-h2.conf"; PORT=$P_NGINX_H2 ;;
		haproxy) start_cg haproxy-h2 haproxy -db -f "$WORK/haproxy-h2.cfg"; PORT=$P_HAPROXY_H2 ;;
		gwbpf)
			[ $HAVE_GWBPF = 1 ] || continue
			start_cg gwbpf-h2 "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf.yaml" --no-bpf \
				--workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
			PORT=$P_GWBPF ;;
		*) continue ;;
		esac
		n=0
		until [ "$(curl -s -o /dev/null -m 1 --http2-prior-knowledge -w '%{http_code}' \
			"http://127.0.0.1:$PORT/64")" = 200 ] || [ $n -ge 100 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ $n -ge 100 ]; then
			note "h2: $m did not answer over h2c"
			stop_last
			continue
		fi
		# conns streams path: many streams on few connections, small and 1 MiB bodies
		for sc in "4 64 /64" "1 100 /64" "2 8 /1m"; do
			set -- $sc
			c0=$(cg_usec)
			sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
				taskset -c "$WRK_CPU" h2load -t1 -c"$1" -m"$2" -D "$SECS" --warm-up-time=1 \
				"http://127.0.0.1:$PORT$3" > "$WORK/h2load.out" 2>&1 < /dev/null
			c1=$(cg_usec)
			rps=$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^req\/s/) { v = $i; sub(/,$/, "", v); print v } }' "$WORK/h2load.out")
			ok=$(awk '/^requests:/ { print $8 }' "$WORK/h2load.out")
			bad=$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$WORK/h2load.out")
			mean=$(awk '/^time for request:/ { print $6 }' "$WORK/h2load.out")
			[ -n "$rps" ] && [ -n "$ok" ] && [ "$ok" -gt 0 ] || {
				note "h2 $m $sc: h2load failed: $(tail -n 3 "$WORK/h2load.out")"
				continue
			}
			cpu=$(awk -v a="$c0" -v b="$c1" -v n="$ok" 'BEGIN { printf "%.1f", (b - a) / n }')
			echo "$m $1 $2 $3 $rps $mean $cpu $ok ${bad:-0}" >> "$OUT/raw-h2.txt"
			printf '  h2 %-8s c=%s m=%-3s %-4s %10s req/s  mean %8s  %7s us/req (cgroup)%s\n' \
				"$m" "$1" "$2" "$3" "$rps" "$mean" "$cpu" \
				"$([ "${bad:-0}" -gt 0 ] && echo "  NON-2xx: $bad")"
		done
		stop_last
	done
	if [ -n "$H2_BACKEND_PID" ]; then
		PIDS=$(echo "$PIDS" | sed "s/ $H2_BACKEND_PID\b//")
		stop_pid "$H2_BACKEND_PID"
	fi
	{
		echo
		echo "## HTTP/2 (h2c): many streams on few connections"
		echo
		echo "h2load -t1 (pinned to CPU $WRK_CPU), ${SECS}s after a 1 s warm-up; each proxy terminates h2c"
		echo "and forwards HTTP/1.1 with keep-alive to the same backend; \">h2c\" rows forward h2c to an"
		echo "h2c backend (ratios against haproxy>h2c). CPU us/req as above."
		echo
		echo "| proxy | conns | streams/conn | path | req/s | mean latency | CPU us/req | req/s vs nginx | req/s vs haproxy | non-2xx |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		awk '{ k = $2 " " $3 " " $4; R[$1 " " k] = $5; row[++n] = $0 }
		END { for (i = 1; i <= n; i++) { split(row[i], f, " "); k = f[2] " " f[3] " " f[4]
			up2 = f[1] ~ />h2c$/; ng = up2 ? 0 : R["nginx " k]; hp = R[(up2 ? "haproxy>h2c " : "haproxy ") k]
			printf "| %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7],
				(ng > 0 ? sprintf("%.2f", f[5] / ng) : "-"), (hp > 0 ? sprintf("%.2f", f[5] / hp) : "-"), f[9] } }' \
			"$OUT/raw-h2.txt" | sort -t'|' -k3,3n -k5,5 -s
	} > "$OUT/results-h2.md"
}
[ "${BENCH_H2:-1}" = 1 ] && bench_h2
# ---- end of the HTTP/2 scenarios ----

# ---- HTTPS scenarios (TLS terminated by the proxy, plaintext upstream) ----
# gwbpf, nginx and HAProxy each terminate TLS with the same ECDSA P-256
# certificate and forward HTTP/1.1 with keep-alive to the same plaintext
# backend. TLS 1.3 with OpenSSL's default suite order everywhere (HAProxy is
# told the same order, since it prefers its own), so the wrk client (OpenSSL)
# gets the same cipher from all three; the cipher each negotiated is printed
# in the table. Scenarios: keep-alive (record layer cost) with 64 B and
# 1 MiB bodies, and a new connection per request ("Connection: close": full
# handshake each time, wrk does not resume sessions). Own table:
# results-https.md, appended to results.md. BENCH_HTTPS=0 skips it.
P_GWBPF_TLS=$((28443 + PO)) P_NGINX_TLS=$((28444 + PO)) P_HAPROXY_TLS=$((28445 + PO))
HTTPS_MODES=${BENCH_HTTPS_MODES:-"nginx haproxy gwbpf"}
bench_https() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=bench.example.com" -addext "subjectAltName=DNS:bench.example.com" \
		-keyout "$WORK/https.key" -out "$WORK/https.crt" > /dev/null 2>&1 ||
		{ note "https: openssl req failed: no HTTPS rows"; return 0; }
	cat "$WORK/https.crt" "$WORK/https.key" > "$WORK/https.pem"
	# shellcheck disable=SC2059
	{ printf "$nginx_common\n" nginx-tls nginx-tls; cat <<EOF2
worker_processes $W;
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 120s; $ngx_temps
  upstream be { server 127.0.0.1:$P_BACKEND; keepalive 256; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$P_NGINX_TLS ssl backlog=4096;
    ssl_certificate $WORK/https.crt; ssl_certificate_key $WORK/https.key;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:S:10m;
    location / {
      proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
EOF2
	} > "$WORK/nginx-tls.conf"
	sed -e "s|^  maxconn 4096|  maxconn 4096\n  ssl-default-bind-ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256|" \
		-e "s|bind 127.0.0.1:$P_HAPROXY|bind 127.0.0.1:$P_HAPROXY_TLS ssl crt $WORK/https.pem alpn http/1.1|" \
		"$WORK/haproxy.cfg" > "$WORK/haproxy-tls.cfg"
	{
		sed -e "s/{name: http, protocol: HTTP, port: $P_GWBPF}/{name: https, protocol: HTTPS, port: $P_GWBPF_TLS, tls: {certificateRefs: [{name: bench-tls}]}}/" \
			"$WORK/gwbpf.yaml"
		printf -- '---\napiVersion: v1\nkind: Secret\nmetadata: {name: bench-tls, namespace: default}\n'
		printf 'type: kubernetes.io/tls\ndata:\n  tls.crt: %s\n  tls.key: %s\n' \
			"$(base64 -w0 < "$WORK/https.crt")" "$(base64 -w0 < "$WORK/https.key")"
	} > "$WORK/gwbpf-tls.yaml"
	: > "$OUT/raw-https.txt"
	for m in $HTTPS_MODES; do
		case $m in
		nginx) start_cg nginx-tls nginx -p "$WORK" -c "$WORK/nginx-tls.conf"; PORT=$P_NGINX_TLS ;;
		haproxy) start_cg haproxy-tls haproxy -db -f "$WORK/haproxy-tls.cfg"; PORT=$P_HAPROXY_TLS ;;
		gwbpf)
			[ $HAVE_GWBPF = 1 ] || continue
			start_cg gwbpf-tls "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf-tls.yaml" --no-bpf \
				--workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
			PORT=$P_GWBPF_TLS ;;
		*) continue ;;
		esac
		n=0
		until [ "$(curl -sk -o /dev/null -m 1 -w '%{http_code}' \
			"https://127.0.0.1:$PORT/64")" = 200 ] || [ $n -ge 100 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ $n -ge 100 ]; then
			note "https: $m did not answer over TLS"
			stop_last
			continue
		fi
		cipher=$(openssl s_client -connect 127.0.0.1:$PORT -servername bench.example.com \
			< /dev/null 2> /dev/null | awk '/Cipher is/ { print $NF; exit }')
		# conns path header: keep-alive small and large, then a handshake per request
		for sc in "50 /64 keepalive" "8 /1m keepalive" "16 /64 close"; do
			set -- $sc
			hdr=""
			[ "$3" = close ] && hdr="Connection: close"
			c0=$(cg_usec)
			sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
				taskset -c "$WRK_CPU" wrk -t1 -c"$1" -d"$SECS"s --latency \
				${hdr:+-H "$hdr"} "https://127.0.0.1:$PORT$2" > "$WORK/wrk-tls.out" 2>&1 < /dev/null
			c1=$(cg_usec)
			rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-tls.out")
			reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk-tls.out")
			p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-tls.out")")
			p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk-tls.out")")
			errs=$(awk '/Non-2xx/ { print $4 } END {}' "$WORK/wrk-tls.out")
			[ -n "$rps" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || {
				note "https $m $sc: wrk failed: $(tail -n 3 "$WORK/wrk-tls.out")"
				continue
			}
			cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')
			echo "$m $1 $2 $3 $rps $p50 $p99 $cpu ${cipher:-?} ${errs:-0}" >> "$OUT/raw-https.txt"
			printf '  https %-8s c=%-3s %-4s %-9s %10s req/s  p50 %7s ms  p99 %7s ms  %7s us/req (cgroup)  %s%s\n' \
				"$m" "$1" "$2" "$3" "$rps" "$p50" "$p99" "$cpu" "${cipher:-?}" \
				"$([ "${errs:-0}" -gt 0 ] && echo "  NON-2xx: $errs")"
		done
		stop_last
	done
	{
		echo
		echo "## HTTPS: TLS terminated by the proxy, plaintext upstream"
		echo
		echo "wrk -t1 (pinned to CPU $WRK_CPU, OpenSSL client), ${SECS}s; same ECDSA P-256 certificate, TLS 1.3,"
		echo "cipher as negotiated (column). keepalive: one TLS session per connection for the whole run;"
		echo "close: \"Connection: close\", a full handshake per request. CPU us/req as above."
		echo
		echo "| proxy | conns | path | connections | req/s | p50 ms | p99 ms | CPU us/req | cipher | req/s vs nginx | req/s vs haproxy | non-2xx |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
		awk '{ k = $2 " " $3 " " $4; R[$1 " " k] = $5; row[++n] = $0 }
		END { for (i = 1; i <= n; i++) { split(row[i], f, " "); k = f[2] " " f[3] " " f[4]
			ng = R["nginx " k]; hp = R["haproxy " k]
			printf "| %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9],
				(ng > 0 ? sprintf("%.2f", f[5] / ng) : "-"), (hp > 0 ? sprintf("%.2f", f[5] / hp) : "-"), f[10] } }' \
			"$OUT/raw-https.txt" | sort -t'|' -k4,4 -k5,5 -s
	} > "$OUT/results-https.md"
}
[ "${BENCH_HTTPS:-1}" = 1 ] && bench_https
# ---- end of the HTTPS scenarios ----

# ---- splice and new-connection scenarios (docs/bpf.md "sk_skb splice") ----
# newconn: 64 B with "Connection: close", so every request pays a TCP
#   handshake and an accept through each proxy (wrk reconnects).
# haproxy+splice: 1 MiB responses through HAProxy with `option splice-auto`
#   (splice(2) through pipes), next to plain HAProxy.
# ws: one WebSocket stream (1 GiB after a real 101, then FIN) read as fast as
#   the client can: direct to the backend, through gwbpf --no-bpf (userspace
#   relay), gwbpf --bpf splice (sk_skb splice) and HAProxy (tunnel). The
#   backend is tests/integration/splice_peer.py (flood mode); all processes
#   in the bench cgroup, so CPU is per MiB for everything together.
# Own table: results-splice.md. BENCH_SPLICE=0 skips it.
P_HAPROXY_SP=$((28085 + PO)) P_WS=$((28002 + PO))
NEWCONN_MODES=${BENCH_NEWCONN_MODES:-"direct nginx haproxy gwbpf gwbpf+skmsg"}
WS_MODES=${BENCH_WS_MODES:-"direct gwbpf gwbpf+splice haproxy"}
WS_BYTES=${BENCH_WS_BYTES:-1073741824}
bench_splice() {
	peer=$ROOT/tests/integration/splice_peer.py
	: > "$OUT/raw-splice.txt"
	# new connection per request
	for m in $NEWCONN_MODES; do
		start_mode "$m" || { note "newconn: skipping $m"; case $m in *skmsg) unload_bpf ;; esac; continue; }
		sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
			taskset -c "$WRK_CPU" wrk -t1 -c50 -d1s -H "Connection: close" \
			"http://127.0.0.1:$PORT/64" > /dev/null 2>&1 < /dev/null
		c0=$(cg_usec)
		sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
			taskset -c "$WRK_CPU" wrk -t1 -c50 -d"$SECS"s --latency -H "Connection: close" \
			"http://127.0.0.1:$PORT/64" > "$WORK/wrk-nc.out" 2>&1 < /dev/null
		c1=$(cg_usec)
		stop_mode "$m"
		rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-nc.out")
		reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk-nc.out")
		p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-nc.out")")
		[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { note "newconn $m: wrk failed"; continue; }
		echo "newconn $m 64B $rps $p50 $(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')" \
			>> "$OUT/raw-splice.txt"
		note "newconn $m: $rps req/s"
	done
	# HAProxy with splice for 1 MiB bodies
	awk -v a="$P_HAPROXY" -v b="$P_HAPROXY_SP" '{ sub("127.0.0.1:" a "$", "127.0.0.1:" b); print }
		$1 == "defaults" { print "  option splice-auto" }' "$WORK/haproxy.cfg" > "$WORK/haproxy-splice.cfg"
	for m in haproxy haproxy+splice; do
		if [ $m = haproxy ]; then
			start_cg haproxy haproxy -db -f "$WORK/haproxy.cfg"; PORT=$P_HAPROXY
		else
			start_cg haproxy-splice haproxy -db -f "$WORK/haproxy-splice.cfg"; PORT=$P_HAPROXY_SP
		fi
		wait_http "http://127.0.0.1:$PORT/64" || { note "$m did not answer"; stop_last; continue; }
		run_wrk 1 8 /1m > /dev/null
		c0=$(cg_usec)
		run_wrk "$SECS" 8 /1m > "$WORK/wrk-sp.out"
		c1=$(cg_usec)
		stop_last
		rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-sp.out")
		reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk-sp.out")
		p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-sp.out")")
		[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { note "$m 1MiB: wrk failed"; continue; }
		echo "bulk $m 1MiB $rps $p50 $(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')" \
			>> "$OUT/raw-splice.txt"
	done
	# WebSocket stream
	start_cg ws-backend /usr/bin/python3 "$peer" backend $P_WS
	WSB=$LAST
	sleep 0.5
	sed "s/targetPort: $P_BACKEND/targetPort: $P_WS/; s/port: $P_BACKEND, protocol/port: $P_WS, protocol/" \
		"$WORK/gwbpf.yaml" > "$WORK/gwbpf-ws.yaml"
	sed "s/server s1 127.0.0.1:$P_BACKEND/server s1 127.0.0.1:$P_WS/" "$WORK/haproxy.cfg" > "$WORK/haproxy-ws.cfg"
	for m in $WS_MODES; do
		case $m in
		direct) PORT=$P_WS ;;
		gwbpf | gwbpf+splice)
			[ $HAVE_GWBPF = 1 ] || continue
			if [ $m = gwbpf ]; then bpfopt="--no-bpf"; else bpfopt="--bpf splice --bpffs $PIN"; fi
			# shellcheck disable=SC2086
			start_cg gwbpf-ws "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf-ws.yaml" $bpfopt \
				--workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
			PORT=$P_GWBPF
			wait_http "http://127.0.0.1:$P_ADMIN/readyz" || { note "ws $m did not start"; stop_last; continue; } ;;
		haproxy)
			start_cg haproxy-ws haproxy -db -f "$WORK/haproxy-ws.cfg"
			PORT=$P_HAPROXY
			sleep 0.5 ;;
		esac
		c0=$(cg_usec)
		res=$(sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
			/usr/bin/python3 "$peer" client $PORT stream "$WS_BYTES" 2>&1)
		c1=$(cg_usec)
		[ $m = direct ] || stop_last
		[ $m = gwbpf+splice ] && rm -rf "$PIN"
		secs=$(echo "$res" | awk 'NF == 2 { print $2 }')
		[ -n "$secs" ] && awk -v s="$secs" 'BEGIN { exit !(s > 0) }' || { note "ws $m failed: $res"; continue; }
		echo "ws $m 1GiB $(awk -v b="$WS_BYTES" -v s="$secs" 'BEGIN { printf "%.0f", b / 1048576 / s }') - $(awk -v a="$c0" -v b="$c1" -v n="$WS_BYTES" 'BEGIN { printf "%.1f", (b - a) / (n / 1048576) }')" \
			>> "$OUT/raw-splice.txt"
		note "ws $m: $res"
	done
	PIDS=$(echo "$PIDS" | sed "s/ $WSB\b//")
	stop_pid "$WSB"
	{
		echo
		echo "## New connections, HAProxy splice, WebSocket stream"
		echo
		echo "newconn: 64 B, c=50, \"Connection: close\" (a TCP connection per request). bulk: 1 MiB, c=8."
		echo "ws: one 1 GiB WebSocket stream after a real 101 (rate = MiB/s; CPU = cgroup us per MiB)."
		echo
		echo "| scenario | mode | body | req/s or MiB/s | p50 ms | CPU us/req or us/MiB | vs first row |"
		echo "|---|---|---|---|---|---|---|"
		awk '{ if (!($1 in base)) base[$1] = $4
			printf "| %s | %s | %s | %s | %s | %s | %.2f |\n", $1, $2, $3, $4, $5, $6, (base[$1] > 0 ? $4 / base[$1] : 0) }' \
			"$OUT/raw-splice.txt"
	} > "$OUT/results-splice.md"
}
[ "${BENCH_SPLICE:-1}" = 1 ] && bench_splice
# ---- end of the splice and new-connection scenarios ----

# ---- TLS passthrough scenarios (docs/l4.md) ----
# The backend terminates TLS itself (nginx, 1 worker, the same static bodies,
# an ECDSA P-256 certificate); the proxy in between only routes the stream by
# its ClientHello and relays bytes it cannot read:
#   direct          wrk -> TLS backend (the limit)
#   gwbpf           TLS Passthrough listener + TLSRoute, --no-bpf (userspace relay)
#   gwbpf+splice    the same with --bpf splice (the kernel relays after the
#                   ClientHello; see docs/bpf.md "sk_skb splice")
#   haproxy         mode tcp, the ClientHello inspected (req_ssl_hello_type)
# wrk -t1 (OpenSSL) with keep-alive 64 B (c=50) and 1 MiB (c=8), and a TLS
# handshake per request ("Connection: close", c=16). Own table:
# results-passthrough.md. BENCH_PASSTHROUGH=0 skips it.
P_TLSBE=$((28446 + PO)) P_GWBPF_PT=$((28447 + PO)) P_HAPROXY_PT=$((28448 + PO))
PT_MODES=${BENCH_PT_MODES:-"direct haproxy gwbpf gwbpf+splice"}
bench_passthrough() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=bench.example.com" -addext "subjectAltName=DNS:bench.example.com" \
		-keyout "$WORK/pt.key" -out "$WORK/pt.crt" > /dev/null 2>&1 ||
		{ note "passthrough: openssl req failed: no passthrough rows"; return 0; }
	# shellcheck disable=SC2059
	{ printf "$nginx_common\n" tlsbe tlsbe; cat <<EOF2
worker_processes 1;
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 120s;
  default_type application/octet-stream; $ngx_temps
  server {
    listen 127.0.0.1:$P_TLSBE ssl backlog=4096; root $WORK/www;
    ssl_certificate $WORK/pt.crt; ssl_certificate_key $WORK/pt.key;
    ssl_protocols TLSv1.2 TLSv1.3;
  }
}
EOF2
	} > "$WORK/tlsbe.conf"
	cat > "$WORK/haproxy-pt.cfg" <<EOF2
global
  nbthread $W
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:$P_HAPROXY_PT
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  default_backend be
backend be
  server s1 127.0.0.1:$P_TLSBE
EOF2
	cat > "$WORK/gwbpf-pt.yaml" <<EOF2
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gwbpf}
spec: {controllerName: gwbpf.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: default}
spec:
  gatewayClassName: gwbpf
  listeners:
  - {name: tls, protocol: TLS, port: $P_GWBPF_PT, tls: {mode: Passthrough}}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: bench, namespace: default}
spec:
  parentRefs: [{name: bench}]
  rules:
  - backendRefs: [{name: tlsbe, port: 443}]
---
apiVersion: v1
kind: Service
metadata: {name: tlsbe, namespace: default}
spec:
  ports: [{name: https, port: 443, targetPort: $P_TLSBE}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: tlsbe-1
  namespace: default
  labels: {kubernetes.io/service-name: tlsbe}
addressType: IPv4
ports: [{name: https, port: $P_TLSBE, protocol: TCP}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
EOF2
	start_cg tlsbe nginx -p "$WORK" -c "$WORK/tlsbe.conf"
	TLSBE_PID=$LAST
	: > "$OUT/raw-passthrough.txt"
	for m in $PT_MODES; do
		lg=$(echo "$m" | tr '+' '-')-pt
		case $m in
		direct) PORT=$P_TLSBE ;;
		haproxy) start_cg "$lg" haproxy -db -f "$WORK/haproxy-pt.cfg"; PORT=$P_HAPROXY_PT ;;
		gwbpf)
			[ $HAVE_GWBPF = 1 ] || continue
			start_cg "$lg" "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf-pt.yaml" --no-bpf \
				--workers "$W" --access-log off --admin 127.0.0.1:$P_ADMIN
			PORT=$P_GWBPF_PT ;;
		gwbpf+splice)
			[ $HAVE_GWBPF = 1 ] || continue
			start_cg "$lg" "$ROOT/$B/gwbpf" run --config "$WORK/gwbpf-pt.yaml" \
				--bpf splice --bpffs "$PIN-pt" --workers "$W" --access-log off \
				--admin 127.0.0.1:$P_ADMIN
			PORT=$P_GWBPF_PT ;;
		*) continue ;;
		esac
		n=0
		until [ "$(curl -sk -o /dev/null -m 1 -w '%{http_code}' \
			"https://127.0.0.1:$PORT/64")" = 200 ] || [ $n -ge 100 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if [ $n -ge 100 ]; then
			note "passthrough: $m did not answer: $(tail -n 3 "$WORK/$lg.log" 2> /dev/null)"
			[ $m = direct ] || stop_last
			continue
		fi
		if [ $m = gwbpf+splice ] &&
			! grep -q "sk_skb splice on" "$WORK/$lg.log"; then
			note "passthrough: the splice did not load: no gwbpf+splice rows"
			stop_last
			rm -rf "$PIN-pt"
			continue
		fi
		for sc in "50 /64 keepalive" "8 /1m keepalive" "16 /64 close"; do
			set -- $sc
			hdr=""
			[ "$3" = close ] && hdr="Connection: close"
			c0=$(cg_usec)
			sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
				taskset -c "$WRK_CPU" wrk -t1 -c"$1" -d"$SECS"s --latency \
				${hdr:+-H "$hdr"} "https://127.0.0.1:$PORT$2" > "$WORK/wrk-pt.out" 2>&1 < /dev/null
			c1=$(cg_usec)
			rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-pt.out")
			reqs=$(awk '/requests in/ { print $1 }' "$WORK/wrk-pt.out")
			p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-pt.out")")
			p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk-pt.out")")
			errs=$(awk '/Non-2xx/ { print $4 }' "$WORK/wrk-pt.out")
			[ -n "$rps" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || {
				note "passthrough $m $sc: wrk failed: $(tail -n 3 "$WORK/wrk-pt.out")"
				continue
			}
			cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')
			echo "$m $1 $2 $3 $rps $p50 $p99 $cpu ${errs:-0}" >> "$OUT/raw-passthrough.txt"
			printf '  passthrough %-12s c=%-3s %-4s %-9s %10s req/s  p50 %7s ms  p99 %7s ms  %7s us/req (cgroup)\n' \
				"$m" "$1" "$2" "$3" "$rps" "$p50" "$p99" "$cpu"
		done
		[ $m = direct ] || stop_last
		rm -rf "$PIN-pt"
	done
	PIDS=$(echo "$PIDS" | sed "s/ $TLSBE_PID\b//")
	stop_pid "$TLSBE_PID"
	{
		echo
		echo "## TLS passthrough: the backend terminates TLS, the proxy routes by ClientHello"
		echo
		echo "wrk -t1 (pinned to CPU $WRK_CPU, OpenSSL client), ${SECS}s; nginx backend with TLS (ECDSA P-256)."
		echo "keepalive: one TLS session per connection for the whole run; close: a full handshake per"
		echo "request. CPU us/req: the bench cgroup (wrk + proxy + backend) per request."
		echo
		echo "| proxy | conns | path | connections | req/s | p50 ms | p99 ms | CPU us/req | req/s vs direct | req/s vs haproxy | non-2xx |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|"
		awk '{ k = $2 " " $3 " " $4; R[$1 " " k] = $5; row[++n] = $0 }
		END { for (i = 1; i <= n; i++) { split(row[i], f, " "); k = f[2] " " f[3] " " f[4]
			d = R["direct " k]; hp = R["haproxy " k]
			printf "| %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8],
				(d > 0 ? sprintf("%.2f", f[5] / d) : "-"), (hp > 0 ? sprintf("%.2f", f[5] / hp) : "-"), f[9] } }' \
			"$OUT/raw-passthrough.txt" | sort -t'|' -k4,4 -k5,5 -s
	} > "$OUT/results-passthrough.md"
}
[ "${BENCH_PASSTHROUGH:-1}" = 1 ] && bench_passthrough
# ---- end of the TLS passthrough scenarios ----

PIDS=$(echo "$PIDS" | sed "s/ $BACKEND_PID\b//")
stop_pid "$BACKEND_PID"

# ---- report ----
# tables FILE main|latency: the rows of raw FILE as a markdown table. Values are
# medians over rounds; "vs direct" columns are medians of per-round ratios (or
# differences, for the latency table's added p50) against the direct row of
# the same round, so a slow round moves both sides of the ratio.
tables() {
	awk -v what="$2" '
	(what == "latency") != ($3 == 1) { next }
	{ k = $1 " " $2 " " $3; if (!(k in n)) order[++seq] = k; n[k]++; i = n[k]
	  rps[k, i] = $5; p50[k, i] = $6; p99[k, i] = $7; cpu[k, i] = $8; sys[k, i] = $9
	  rb[k, i] = $12 / ($10 > 0 ? $10 : 1); round[k, i] = $4
	  R_[k, $4] = $5; P_[k, $4] = $6; C_[k, $4] = $8 }
	function med(arr, k, cnt,   j, m, t, v) {
		for (j = 1; j <= cnt; j++) v[j] = arr[k, j]
		for (j = 1; j <= cnt; j++) for (m = j + 1; m <= cnt; m++) if (v[m] + 0 < v[j] + 0) { t = v[j]; v[j] = v[m]; v[m] = t }
		return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
	}
	function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.2f", a / b) : "-" }
	# vsd(): median over the rounds both k and d ran of A[k]/A[d] (op "/")
	# or (A[k] - A[d]) * 1000 (op "-": ms to us)
	function vsd(A, k, d, op,   j, c, r, x) {
		c = 0
		for (j = 1; j <= n[k]; j++) {
			r = round[k, j]
			if (!((d, r) in A) || !((k, r) in A)) continue
			if (op == "/" && A[d, r] <= 0) continue
			x[k, ++c] = op == "/" ? A[k, r] / A[d, r] : (A[k, r] - A[d, r]) * 1000
		}
		return c ? (op == "/" ? sprintf("%.2f", med(x, k, c)) : sprintf("%+.0f", med(x, k, c))) : "-"
	}
	END {
		for (s = 1; s <= seq; s++) { k = order[s]; R[k] = med(rps, k, n[k]); C[k] = med(cpu, k, n[k]) }
		for (s = 1; s <= seq; s++) {
			k = order[s]; split(k, f, " "); t = " " f[2] " " f[3]
			ng = "nginx" t; hp = "haproxy" t; d = "direct" t
			if (what == "latency")
				printf "| %s | %.3f | %.3f | %s | %.0f | %.1f | %s |\n",
					f[1], med(p50, k, n[k]), med(p99, k, n[k]), vsd(P_, k, d, "-"),
					R[k], C[k], vsd(C_, k, d, "/")
			else
				printf "| %s | %s | %s | %.0f | %.2f | %.2f | %.1f | %.1f | %s | %s | %s | %s | %s | %s | %.0f |\n",
					f[1], f[2], f[3], R[k], med(p50, k, n[k]), med(p99, k, n[k]), C[k],
					med(sys, k, n[k]), vsd(R_, k, d, "/"), vsd(C_, k, d, "/"),
					ratio(R[k], R[ng]), ratio(R[k], R[hp]), ratio(C[k], C[ng]),
					ratio(C[k], C[hp]), med(rb, k, n[k])
		}
	}' "$1" | if [ "$2" = main ]; then sort -t'|' -k3,3 -s; else cat; fi
}
main_header() {
	echo "| mode | body | conns | req/s | p50 ms | p99 ms | CPU us/req | system us/req | req/s vs direct | CPU vs direct | req/s vs nginx | req/s vs haproxy | CPU vs nginx | CPU vs haproxy | bypassed bytes/req |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}
latency_header() {
	echo "| mode | p50 ms | p99 ms | added p50 vs direct (us) | req/s | CPU us/req | CPU vs direct |"
	echo "|---|---|---|---|---|---|---|"
}
{
	echo "# gwbpf benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $NCPU CPUs, $W proxy worker(s)," \
		"wrk -t1 pinned to CPU $WRK_CPU, ${SECS}s per run after a 1 s warm-up, median of $ROUNDS round(s)."
	echo "Backend: nginx (1 worker) serving a static body on 127.0.0.1. CPU us/req: our cgroup's"
	echo "cpu.stat usage (wrk + proxy + backend) per request; system us/req: machine-wide busy time"
	echo "per request (includes other load on a shared machine). Ratios: req/s and CPU/req vs the"
	echo "direct, nginx and HAProxy rows of the same run (req/s >1 = faster; CPU <1 = cheaper);"
	echo "\"vs direct\" is the median of per-round ratios."
	echo
	echo "## Local client"
	echo
	echo "wrk on 127.0.0.1 in the bench cgroup: with --cgroup, its sockets are eligible for the bypass."
	echo
	main_header
	tables "$OUT/raw.txt" main
	if [ "$LATENCY" = 1 ]; then
		echo
		echo "### One connection (latency), local client"
		echo
		echo "wrk -c1, 64 B, keep-alive: one request at a time. Added p50: the median over rounds of"
		echo "(p50 - direct p50 of the same round) in microseconds (issue target: at most +30 us)."
		echo
		latency_header
		tables "$OUT/raw.txt" latency
	fi
	if [ "$REMOTE" = 1 ]; then
		echo
		echo "## Remote client"
		echo
		echo "wrk in its own network namespace ($RPEER over a veth pair to $RHOST) and in a cgroup"
		echo "outside the accelerated one, as ingress traffic is: only the proxy -> backend hop can be"
		echo "bypassed or forwarded in the kernel. CPU us/req: both cgroups (wrk + proxy + backend)."
		echo
		main_header
		tables "$OUT/raw-remote.txt" main
		if [ "$LATENCY" = 1 ]; then
			echo
			echo "### One connection (latency), remote client"
			echo
			latency_header
			tables "$OUT/raw-remote.txt" latency
		fi
	fi
	echo
	[ $HAVE_GWBPF = 1 ] || echo "gwbpf rows missing: \`$B/gwbpf run\` (with --no-bpf) is not available in this build."
} > "$OUT/results.md"
[ -s "$OUT/results-h2.md" ] && cat "$OUT/results-h2.md" >> "$OUT/results.md"
[ -s "$OUT/results-https.md" ] && cat "$OUT/results-https.md" >> "$OUT/results.md"
[ -s "$OUT/results-splice.md" ] && cat "$OUT/results-splice.md" >> "$OUT/results.md"
[ -s "$OUT/results-passthrough.md" ] && cat "$OUT/results-passthrough.md" >> "$OUT/results.md"
echo
cat "$OUT/results.md"
