#!/bin/sh
# examples/demo.sh - run gwbpf on examples/ with local echo backends (two
# HTTP/1.1, one gRPC) and show routed requests, HTTP/2 and gRPC included. Called by `make demo` after the build.
set -u
B=${B:-build}
cd "$(dirname "$0")/.."
ADMIN=127.0.0.1:9901
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT INT TERM

"$B/gwbpf-echo" --listen 127.0.0.1:9101 --namespace default --pod cart-0 >/dev/null 2>&1 &
pids="$pids $!"
"$B/gwbpf-echo" --listen 127.0.0.1:9102 --namespace default --pod web-0 >/dev/null 2>&1 &
pids="$pids $!"
"$B/gwbpf-echo" --grpc --listen 127.0.0.1:9103 --namespace default --pod grpc-0 >/dev/null 2>&1 &
pids="$pids $!"
"$B/gwbpf" run --config examples/gateway.yaml --config examples/backends.yaml \
	--admin "$ADMIN" --access-log "$B/demo-access.log" 2>"$B/demo-gwbpf.log" &
pids="$pids $!"

i=0
until curl -fsS "http://$ADMIN/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "demo: gwbpf did not become ready; its log:" >&2
		cat "$B/demo-gwbpf.log" >&2
		exit 1
	fi
	sleep 0.1
done

show() {
	echo
	echo "\$ curl $*"
	curl -sS -i "$@"
	echo
}
echo "== gwbpf is serving examples/ on 127.0.0.1:8080 (admin on $ADMIN)"
show -H 'Host: shop.example.com' http://127.0.0.1:8080/cart/42
show -H 'Host: shop.example.com' http://127.0.0.1:8080/index.html
show -H 'Host: old.example.com' http://127.0.0.1:8080/anything
show -H 'Host: nowhere.example.com' http://127.0.0.1:8080/
echo
echo "\$ grpc_client --authority grpc.example.com 127.0.0.1:8080 /gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo"
"$B/grpc_client" --authority grpc.example.com 127.0.0.1:8080 \
	/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo
echo
echo "\$ curl --http2-prior-knowledge -H 'Host: shop.example.com' http://127.0.0.1:8080/cart/7"
curl -sS --http2-prior-knowledge -H 'Host: shop.example.com' http://127.0.0.1:8080/cart/7
echo
echo "\$ gwbpf status gateways"
"$B/gwbpf" status gateways --admin "$ADMIN"
echo
echo "access log: $B/demo-access.log   gwbpf log: $B/demo-gwbpf.log"
if [ -t 0 ]; then
	echo "gwbpf keeps running; edit examples/*.yaml to see it reload. Ctrl-C stops it."
	wait
fi
