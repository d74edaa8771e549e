#!/bin/sh
# test_xdp_syn.sh - the XDP program on real interfaces: a SYN flood is limited
# while a normal client is served, a denied CIDR gets nothing, traffic that is
# not for a listener passes, counters match what was sent, a restart adopts
# the attached program and a detach leaves the interfaces clean.
#
# Topology (network namespaces, unique per run, removed by the EXIT trap):
#   C (client, 10.201.1.2) --- s1 \
#   F (flood,  10.201.2.2) --- s2  > S (server 0.0.0.0:8080, XDP on s1 s2 s3)
#   D (denied, 10.201.3.2) --- s3 /
# The XDP side is driven by build/gwbpf-xdpctl (the library calls gwbpf run
# makes), entered with nsenter --net so the pins live in the host's bpffs.
set -u
. "$(dirname "$0")/lib.sh"
gw_init
gw_require_root
gw_require_cmd ip nsenter
XDPCTL=$B/gwbpf-xdpctl
SYN="$GW_PY $GW_ROOT/tools/bench/syn_sender.py"
gw_require_file "$XDPCTL"

ID=$$
S=gwx-s-$ID; C=gwx-c-$ID; F=gwx-f-$ID; D=gwx-d-$ID
PIN=/sys/fs/bpf/gwbpf-test-xdp-$ID
RATE=5
BURST=20

xdp_cleanup()
{
	[ -e /var/run/netns/$S ] &&
		nsenter --net=/var/run/netns/$S "$XDPCTL" detach --pin "$PIN" \
			--iface s1 --iface s2 --iface s3 > /dev/null 2>&1
	for p in $GW_PIDS; do kill "$p" 2> /dev/null; done
	for n in $S $C $F $D; do ip netns del $n 2> /dev/null; done
	[ -d "$PIN" ] && { rm -f "$PIN"/*; rmdir "$PIN"; }
}
trap 'rc=$?; xdp_cleanup; (exit $rc); gw_cleanup' EXIT

[ -d /sys/fs/bpf ] || gw_skip "no /sys/fs/bpf"
grep -q ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf ||
	gw_skip "cannot mount bpffs"

for n in $S $C $F $D; do ip netns add $n || gw_skip "cannot create network namespaces"; done
i=1
for n in $C $F $D; do
	ip link add s$i netns $S type veth peer name p0 netns $n || gw_fail "veth"
	ip -n $S addr add 10.201.$i.1/24 dev s$i
	ip -n $n addr add 10.201.$i.2/24 dev p0
	ip -n $S link set s$i up
	ip -n $n link set p0 up
	ip -n $n link set lo up
	i=$((i + 1))
done
ip -n $S link set lo up

ip netns exec $S $GW_PY -c "$GW_PY_ECHO_SRC" 0.0.0.0 8080 srv > "$GW_TMP/srv.log" 2>&1 &
gw_track $!

nsenter --net=/var/run/netns/$S "$XDPCTL" attach --pin "$PIN" --iface s1 --iface s2 --iface s3 \
	--listen 0.0.0.0:8080/tcp --deny 10.201.3.0/24 --syn-rate $RATE --syn-burst $BURST \
	> "$GW_TMP/attach.log" 2>&1 || { cat "$GW_TMP/attach.log"; gw_fail "attach failed"; }
ip -n $S link show s1 | grep -q 'prog/xdp' || gw_fail "no XDP program on s1"
PROG_ID=$(ip -n $S link show s1 | sed -n 's/.*prog\/xdp[^ ]* id \([0-9]*\).*/\1/p')

# stat NAME [LABELS] : one counter from the pinned maps (0 when absent)
stat()
{
	"$XDPCTL" stats --pin "$PIN" > "$GW_TMP/stats" || gw_fail "stats failed"
	v=$(grep "^$1$2 " "$GW_TMP/stats" | awk '{print $2}')
	echo "${v:-0}"
}
L='{address="0.0.0.0",port="8080",protocol="tcp"}'
verdict() { stat gwbpf_xdp_verdicts_total "{verdict=\"$1\",reason=\"$2\"}"; }

get() # NS URL : prints the HTTP status (000 on failure)
{
	ip netns exec "$1" curl -s -o /dev/null -m 3 -w '%{http_code}' "$2"
}

# the server answers through XDP (bounded wait for it to start)
i=0
until [ "$(get $C http://10.201.1.1:8080/)" = 200 ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || gw_fail "client not served before the flood"
	sleep 0.1
done
[ "$(verdict pass listener)" -gt 0 ] || gw_fail "listener traffic not counted"

# 1. a spoofed flood of exactly N SYNs from one source
N=1000
syn0=$(stat gwbpf_xdp_listener_syns_total "$L")
pk0=$(stat gwbpf_xdp_listener_packets_total "$L")
by0=$(stat gwbpf_xdp_listener_bytes_total "$L")
dr0=$(verdict drop syn_rate)
out=$(ip netns exec $F $SYN 10.201.2.99 10.201.2.1 8080 $N) || gw_fail "syn sender: $out"
gw_log "flood: $out"
secs=$(echo "$out" | awk '{print $6}')
frame=$(echo "$out" | awk '{print $4}')
syn1=$(stat gwbpf_xdp_listener_syns_total "$L")
pk1=$(stat gwbpf_xdp_listener_packets_total "$L")
by1=$(stat gwbpf_xdp_listener_bytes_total "$L")
dr1=$(verdict drop syn_rate)
[ $((syn1 - syn0)) -eq $N ] || gw_fail "listener saw $((syn1 - syn0)) SYNs, sent $N"
[ $((pk1 - pk0)) -ge $N ] || gw_fail "listener packets +$((pk1 - pk0)), sent $N"
[ $((by1 - by0)) -ge $((N * frame)) ] || gw_fail "listener bytes +$((by1 - by0)) < $N x $frame"
# the bucket lets BURST through, plus RATE per second of the flood
refill=$($GW_PY -c "import math; print(math.ceil($secs * $RATE) + 1)")
dropped=$((dr1 - dr0))
[ $dropped -le $((N - BURST)) ] || gw_fail "dropped $dropped, more than N - burst"
[ $dropped -ge $((N - BURST - refill)) ] ||
	gw_fail "dropped only $dropped of $N (burst $BURST, refill <= $refill)"
gw_log "flood of $N SYNs: $dropped dropped"

# 2. a normal client is served while another flood runs
ip netns exec $F $SYN 10.201.2.98 10.201.2.1 8080 3000 > "$GW_TMP/flood2" 2>&1 &
FL=$!
gw_track $FL
for k in 1 2 3 4 5; do
	[ "$(get $C http://10.201.1.1:8080/k$k)" = 200 ] || gw_fail "client not served during flood"
done
wait $FL
gw_untrack $FL
[ "$(verdict drop syn_rate)" -gt "$dr1" ] || gw_fail "second flood not limited"

# 3. a denied CIDR gets nothing: exactly the SYNs it sends are dropped
de0=$(verdict drop deny)
ld0=$(stat gwbpf_xdp_listener_drops_total "$L")
ip netns exec $D $SYN 10.201.3.77 10.201.3.1 8080 50 > /dev/null || gw_fail "syn sender (deny)"
de1=$(verdict drop deny)
[ $((de1 - de0)) -eq 50 ] || gw_fail "deny dropped $((de1 - de0)) of 50"
[ $(( $(stat gwbpf_xdp_listener_drops_total "$L") - ld0)) -eq 50 ] ||
	gw_fail "listener drops do not include the 50 denied SYNs"
code=$(get $D http://10.201.3.1:8080/)
[ "$code" = 000 ] || gw_fail "denied client got HTTP $code"
[ "$(verdict drop deny)" -gt "$de1" ] || gw_fail "denied connect not dropped by XDP"

# 4. not a listener: passes untouched (refused by the kernel, not timed out)
np0=$(verdict pass not_listener)
rc=0
ip netns exec $D curl -s -o /dev/null -m 3 http://10.201.3.1:8081/ || rc=$?
[ $rc -eq 7 ] || gw_fail "non-listener port: curl exit $rc, want 7 (connection refused)"
[ "$(verdict pass not_listener)" -gt "$np0" ] || gw_fail "non-listener traffic not counted"

# 5. a restart adopts the attached program and keeps its counters
syn2=$(stat gwbpf_xdp_listener_syns_total "$L")
nsenter --net=/var/run/netns/$S "$XDPCTL" attach --pin "$PIN" --iface s1 --iface s2 --iface s3 \
	--listen 0.0.0.0:8080/tcp --deny 10.201.3.0/24 --syn-rate $RATE --syn-burst $BURST \
	> "$GW_TMP/attach2.log" 2>&1 || { cat "$GW_TMP/attach2.log"; gw_fail "re-attach failed"; }
grep -q adopted "$GW_TMP/attach2.log" || gw_fail "restart did not adopt"
ip -n $S link show s1 | grep -q "id $PROG_ID " || gw_fail "program replaced on restart"
[ "$(stat gwbpf_xdp_listener_syns_total "$L")" -ge "$syn2" ] || gw_fail "counters reset"
[ "$(get $C http://10.201.1.1:8080/)" = 200 ] || gw_fail "client not served after restart"

# 6. detach leaves the interfaces as they were and removes the pins
nsenter --net=/var/run/netns/$S "$XDPCTL" detach --pin "$PIN" --iface s1 --iface s2 --iface s3 ||
	gw_fail "detach failed"
for k in 1 2 3; do
	ip -n $S link show s$k | grep -q 'xdp' && gw_fail "XDP still on s$k after detach"
done
[ -e "$PIN/gw_xdp_lstn" ] && gw_fail "pins left behind"
code=$(get $D http://10.201.3.1:8080/)
[ "$code" = 200 ] || gw_fail "after detach the once-denied client got $code"
echo "ok: flood limited ($dropped of $N dropped), client served, deny and adoption work"
exit 0
