#!/bin/sh
# tools/bench/xdp_bench.sh - XDP drop rate vs the same drop in nftables, on
# a veth pair, in one run. Not part of `make test`.
#
# Two network namespaces joined by a veth pair; build/xdp_flood writes SYN
# frames from a denied source on one end for DURATION seconds (default 5);
# on the other end the drop is done first by gwbpf's XDP program (deny CIDR,
# through build/gwbpf-xdpctl), then by an nftables netdev/ingress rule (the
# earliest nftables hook) matching the same packets. Each rate is what the
# receiver's own drop counter says it dropped per second. The machine's other
# load skews both numbers alike; quote the ratio, not the absolute rates.
# Needs root; installs nftables with apt-get when `nft` is missing and
# NFT_INSTALL=1, else measures XDP only.
set -u
B=${B:-build}
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5}
ID=$$
S=gwxb-s-$ID
G=gwxb-g-$ID
PIN=/sys/fs/bpf/gwbpf-bench-xdp-$ID
CTL=$B/gwbpf-xdpctl
FLOOD=$B/xdp_flood

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 249; }
[ -x "$CTL" ] && [ -x "$FLOOD" ] || { echo "skip: run make first"; exit 249; }
if ! command -v nft > /dev/null 2>&1 && [ "${NFT_INSTALL:-0}" = 1 ]; then
	apt-get install -y -q nftables > /dev/null 2>&1
fi

cleanup()
{
	nsenter --net=/var/run/netns/$S "$CTL" detach --pin "$PIN" --iface s0 > /dev/null 2>&1
	ip netns del $S 2> /dev/null
	ip netns del $G 2> /dev/null
	[ -d "$PIN" ] && { rm -f "$PIN"/*; rmdir "$PIN"; }
}
trap cleanup EXIT
trap 'exit 1' INT TERM

grep -q ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
ip netns add $S && ip netns add $G || exit 1
ip link add s0 netns $S type veth peer name g0 netns $G || exit 1
ip -n $S addr add 10.203.0.1/24 dev s0
ip -n $G addr add 10.203.0.2/24 dev g0
ip -n $S link set s0 up
ip -n $G link set g0 up
MAC=$(ip -n $S -o link show s0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

flood() # prints frames sent
{
	ip netns exec $G "$FLOOD" g0 "$MAC" 10.203.0.99 10.203.0.1 8080 "$DURATION" |
		awk '{print $2}'
}

rate() { awk -v n="$1" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }'; }

# ---- XDP ----
nsenter --net=/var/run/netns/$S "$CTL" attach --pin "$PIN" --iface s0 \
	--listen 0.0.0.0:8080/tcp --deny 10.203.0.0/24 > /dev/null 2>&1 || { echo "XDP attach failed"; exit 1; }
mode=$(ip -n $S link show s0 | grep -o 'prog/xdp[a-z]*' | head -1)
d0=$("$CTL" stats --pin "$PIN" | awk '/reason="deny"/ {print $2}')
sent_x=$(flood)
d1=$("$CTL" stats --pin "$PIN" | awk '/reason="deny"/ {print $2}')
xdp_pps=$(rate $((d1 - d0)))
nsenter --net=/var/run/netns/$S "$CTL" detach --pin "$PIN" --iface s0 > /dev/null 2>&1
echo "XDP ($mode):           $xdp_pps drops/s   (sender wrote $(rate "$sent_x") frames/s)"

# ---- nftables ----
if ! command -v nft > /dev/null 2>&1; then
	echo "nftables:              skipped (nft not installed; NFT_INSTALL=1 installs it)"
	exit 0
fi
ip netns exec $S nft -f - << NFT || { echo "nft rule failed"; exit 1; }
table netdev gwbench {
	chain in {
		type filter hook ingress device s0 priority -500;
		ip saddr 10.203.0.0/24 tcp dport 8080 counter drop
	}
}
NFT
sent_n=$(flood)
n=$(ip netns exec $S nft list table netdev gwbench | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
nft_pps=$(rate "$n")
echo "nftables (netdev ingress): $nft_pps drops/s   (sender wrote $(rate "$sent_n") frames/s)"
awk -v x="$xdp_pps" -v n="$nft_pps" 'BEGIN { if (n > 0) printf "ratio XDP/nftables:    %.2f\n", x / n }'
# when a drop path kept up with everything sent, it was not the bottleneck:
# the generator was, and the ratio only says both are at least that fast
awk -v x="$((d1 - d0))" -v sx="$sent_x" -v n="$n" -v sn="$sent_n" 'BEGIN {
	if (x >= 0.99 * sx && n >= 0.99 * sn)
		print "note: both dropped >= 99% of what was sent: sender-bound, not a drop-path limit" }'
