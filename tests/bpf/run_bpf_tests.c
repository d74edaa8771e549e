/* tests/bpf/run_bpf_tests.c - runs the XDP ingress program through
 * BPF_PROG_TEST_RUN on crafted frames and checks verdicts and counters.
 *
 * The program is loaded and its maps programmed through the same userspace
 * API gwbpf uses (gw_xdp_open with no interface, unpinned maps), so the test
 * covers the map programming too. Every case states the action and the
 * reason counter it must bump; listener counters are checked against the
 * frame lengths the test itself built. Exit 0 all passed, 1 a failure,
 * 249 when BPF cannot be loaded here.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "gwbpf/ir.h"
#include "gwbpf/log.h"
#include "gwbpf/xdp.h"

static int n_pass, n_fail;
static struct gw_xdp *X;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			n_pass++;                                                                  \
		} else {                                                                           \
			n_fail++;                                                                  \
			printf("[  FAILED  ] %s:%d: ", __func__, __LINE__);                       \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                                  \
	} while (0)

/* ---- frame builder ---- */

struct pkt {
	int tags;            /* VLAN tags: 0, 1 (802.1Q), 2 (QinQ), 3 */
	uint16_t ethertype;  /* 0 = by family */
	const char *src, *dst;
	uint8_t proto;       /* IPPROTO_TCP / IPPROTO_UDP / other */
	uint16_t dport;
	uint8_t tcp_flags;   /* default ACK */
	int ip4_opts;        /* bytes of IPv4 options (multiple of 4) */
	int ihl_override;    /* non-zero: write this ihl */
	int frag;            /* 0 none, 1 first fragment, 2 non-first */
	int v6_ext;          /* number of destination-options headers before L4 */
	int cut;             /* > 0: keep only the first cut bytes */
	int l4_keep;         /* > 0: keep only this many bytes of L4 header */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* build() : writes the frame described by d into buf; returns its length */
static int build(const struct pkt *d, uint8_t *buf)
{
	struct in6_addr s6, d6;
	struct in_addr s4, d4;
	bool v6 = strchr(d->dst, ':') != NULL;
	uint8_t proto = d->proto ? d->proto : IPPROTO_TCP;
	int off = 12, i, l3, l4len, len;
	uint8_t *ip;

	memset(buf, 0, 2048);
	memcpy(buf, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	for (i = 0; i < d->tags; i++) {
		put16(buf + off, i == 0 && d->tags > 1 ? 0x88a8 : 0x8100);
		put16(buf + off + 2, 100 + i);
		off += 4;
	}
	put16(buf + off, d->ethertype ? d->ethertype : v6 ? 0x86dd : 0x0800);
	off += 2;
	l3 = off;
	ip = buf + l3;
	l4len = proto == IPPROTO_TCP ? 20 : 8;
	if (d->l4_keep)
		l4len = d->l4_keep;

	if (!v6) {
		int hl = 20 + d->ip4_opts;

		inet_pton(AF_INET, d->src, &s4);
		inet_pton(AF_INET, d->dst, &d4);
		ip[0] = 0x40 | (d->ihl_override ? d->ihl_override : hl / 4);
		put16(ip + 2, hl + l4len);
		if (d->frag == 1)
			put16(ip + 6, 0x2000);      /* MF, offset 0 */
		else if (d->frag == 2)
			put16(ip + 6, 185);         /* offset 1480 bytes */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, &s4, 4);
		memcpy(ip + 16, &d4, 4);
		for (i = 0; i < d->ip4_opts; i++)
			ip[20 + i] = 1; /* NOP options */
		off = l3 + hl;
	} else {
		uint8_t *nh = ip + 6;

		inet_pton(AF_INET6, d->src, &s6);
		inet_pton(AF_INET6, d->dst, &d6);
		ip[0] = 0x60;
		ip[7] = 64;
		memcpy(ip + 8, &s6, 16);
		memcpy(ip + 24, &d6, 16);
		off = l3 + 40;
		for (i = 0; i < d->v6_ext; i++) {
			*nh = 60; /* destination options, 8 bytes: PadN */
			nh = buf + off;
			buf[off + 1] = 0;
			buf[off + 2] = 1;
			buf[off + 3] = 4;
			off += 8;
		}
		if (d->frag) {
			*nh = 44;
			nh = buf + off;
			put16(buf + off + 2, d->frag == 1 ? 0x0001 : (185 << 3) | 1);
			off += 8;
		}
		*nh = proto;
		put16(ip + 4, off - l3 - 40 + l4len);
	}

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		uint8_t l4[20] = {};

		put16(l4, 40000);
		put16(l4 + 2, d->dport);
		if (proto == IPPROTO_TCP) {
			l4[12] = 5 << 4;
			l4[13] = d->tcp_flags ? d->tcp_flags : 0x10;
		} else {
			put16(l4 + 4, 8);
		}
		memcpy(buf + off, l4, l4len > 20 ? 20 : l4len);
		off += l4len;
	}
	len = off < 60 ? 60 : off; /* Ethernet minimum, as a NIC would hand it */
	if (d->l4_keep && off >= 60)
		len = off;
	if (d->cut)
		len = d->cut;
	return len;
}

/* ---- counters ---- */

static uint64_t reason(enum gw_xdp_reason r)
{
	uint64_t v = 0;

	if (gw_xdp_read_reason(X, r, &v))
		printf("cannot read reason %d\n", r);
	return v;
}

static bool lstats(const char *addr, uint16_t port, uint8_t proto,
		   struct gw_xdp_listener_stats *out)
{
	struct gw_xdp_listener_stats *ls = NULL;
	size_t n = 0, i;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (gw_xdp_read_listeners(X, &ls, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!strcmp(ls[i].address, addr) && ls[i].port == port && ls[i].proto == proto) {
			*out = ls[i];
			found = true;
		}
	}
	free(ls);
	return found;
}

/* run() : runs one frame; returns the XDP action or -1 */
static int run_frame(const uint8_t *buf, int len, bool *unchanged)
{
	uint8_t out[2048];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(gw_xdp_prog_fd(X), &o);

	if (err) {
		printf("test_run failed: %s\n", strerror(errno));
		return -1;
	}
	if (unchanged)
		*unchanged = o.data_size_out == (uint32_t)len && !memcmp(out, buf, len);
	return o.retval;
}

/* expect() : runs d and checks the action, the reason counter (+1) and, when
 * lst_addr is set, that listener's packets (+1) and bytes (+frame length) */
#define expect(d, action, why, lst_addr, lst_port, lst_proto)                                      \
	do {                                                                                       \
		uint8_t buf_[2048];                                                                \
		struct gw_xdp_listener_stats a_, b_;                                               \
		int len_ = build(&(d), buf_), act_;                                                \
		uint64_t r0_ = reason(why);                                                        \
		bool same_ = false;                                                                \
		if (lst_addr)                                                                      \
			lstats((lst_addr), (lst_port), (lst_proto), &a_);                         \
		act_ = run_frame(buf_, len_, &same_);                                              \
		CHECK(act_ == (action), "action %d, want %d", act_, (action));                     \
		CHECK(reason(why) == r0_ + 1, "reason %s not counted once",                        \
		      gw_xdp_reason_name(why));                                                    \
		CHECK(same_, "frame modified or resized");                                         \
		if (lst_addr) {                                                                    \
			CHECK(lstats((lst_addr), (lst_port), (lst_proto), &b_),                    \
			      "listener %s:%u gone", (const char *)(lst_addr), (lst_port));        \
			CHECK(b_.packets == a_.packets + 1, "listener packets %llu -> %llu",       \
			      (unsigned long long)a_.packets, (unsigned long long)b_.packets);     \
			CHECK(b_.bytes == a_.bytes + (uint64_t)len_, "listener bytes +%llu, want +%d", \
			      (unsigned long long)(b_.bytes - a_.bytes), len_);                    \
		}                                                                                  \
	} while (0)

#define NOL ((const char *)NULL)
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static const struct gw_xdp_listener LISTENERS[] = {
	{ "10.0.0.1", 80, TCP },     { "0.0.0.0", 8080, TCP },  { "2001:db8::1", 443, TCP },
	{ "::", 9090, TCP },         { "10.0.0.1", 53, UDP },
};

static void test_listeners(void)
{
	struct pkt d = { .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 80 };

	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.dst = "10.0.0.2";
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	d.dst = "10.0.0.1";
	d.dport = 81;
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	d.dport = 80;
	d.proto = UDP;
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	d.dport = 53;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 53, UDP);
	d.proto = 1; /* ICMP */
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);

	/* wildcards: 0.0.0.0 takes any IPv4 address; :: takes IPv4 and IPv6 */
	d = (struct pkt){ .src = "198.18.0.1", .dst = "172.16.9.9", .dport = 8080 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "0.0.0.0", 8080, TCP);
	d = (struct pkt){ .src = "2001:db8:1::1", .dst = "2001:db8:77::2", .dport = 8080 };
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	d.dport = 9090;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "::", 9090, TCP);
	d = (struct pkt){ .src = "198.18.0.1", .dst = "1.2.3.4", .dport = 9090 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "0.0.0.0", 9090, TCP);

	d = (struct pkt){ .src = "2001:db8:1::1", .dst = "2001:db8::1", .dport = 443 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "2001:db8::1", 443, TCP);
	d.dst = "2001:db8::2";
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);

	d = (struct pkt){ .src = "198.18.0.1", .dst = "10.0.0.1", .ethertype = 0x0806 };
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_IP, NOL, 0, 0);
}

static void test_vlan_and_options(void)
{
	struct pkt d = { .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 80, .tags = 1 };

	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.tags = 2;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.tags = 3;
	expect(d, XDP_PASS, GW_XDP_PASS_UNKNOWN, NOL, 0, 0);
	d = (struct pkt){ .src = "2001:db8:1::1", .dst = "2001:db8::1", .dport = 443, .tags = 2 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "2001:db8::1", 443, TCP);

	/* options move the ports: a listener is only found through ihl */
	d = (struct pkt){ .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 80, .ip4_opts = 12 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.ip4_opts = 40;
	d.tags = 2;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d = (struct pkt){ .src = "192.0.2.9", .dst = "10.0.0.1", .dport = 80, .ip4_opts = 8 };
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "10.0.0.1", 80, TCP);
	d = (struct pkt){ .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 80, .ihl_override = 4 };
	expect(d, XDP_PASS, GW_XDP_PASS_UNKNOWN, NOL, 0, 0);

	/* IPv6 extension headers are walked to the TCP header, within a bound */
	d = (struct pkt){ .src = "2001:db8:1::1", .dst = "2001:db8::1", .dport = 443, .v6_ext = 2 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "2001:db8::1", 443, TCP);
	d.src = "2001:db8:bad::5";
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "2001:db8::1", 443, TCP);
	d.v6_ext = 7;
	expect(d, XDP_PASS, GW_XDP_PASS_UNKNOWN, NOL, 0, 0);
}

static void test_fragments(void)
{
	/* denied sources, so a judged packet would be dropped */
	struct pkt d = { .src = "192.0.2.9", .dst = "10.0.0.1", .dport = 80, .frag = 2 };

	expect(d, XDP_PASS, GW_XDP_PASS_FRAGMENT, NOL, 0, 0);
	d.frag = 1;
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "10.0.0.1", 80, TCP);
	d.l4_keep = 8; /* first fragment without the whole TCP header */
	d.cut = 14 + 20 + 8;
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);

	d = (struct pkt){ .src = "2001:db8:bad::5", .dst = "2001:db8::1", .dport = 443, .frag = 2 };
	expect(d, XDP_PASS, GW_XDP_PASS_FRAGMENT, NOL, 0, 0);
	d.frag = 1;
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "2001:db8::1", 443, TCP);
	d.v6_ext = 1;
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "2001:db8::1", 443, TCP);
}

static void test_truncated(void)
{
	struct pkt d = { .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 80 };

	d.tags = 1;
	d.cut = 16; /* inside the VLAN tag */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.tags = 2;
	d.cut = 20; /* inside the second tag */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.tags = 0;
	d.cut = 14 + 10; /* inside the IPv4 header */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.ip4_opts = 40;
	d.cut = 14 + 40; /* inside the options */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.ip4_opts = 0;
	d.cut = 14 + 20 + 12; /* inside TCP */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.proto = UDP;
	d.dport = 53;
	d.cut = 14 + 20 + 4; /* inside UDP */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);

	d = (struct pkt){ .src = "2001:db8:1::1", .dst = "2001:db8::1", .dport = 443 };
	d.cut = 14 + 30; /* inside IPv6 */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.v6_ext = 1;
	d.cut = 14 + 40 + 1; /* inside an extension header */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.v6_ext = 0;
	d.frag = 1;
	d.cut = 14 + 40 + 4; /* inside the fragment header */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
	d.frag = 0;
	d.cut = 14 + 40 + 19; /* one byte short of TCP */
	expect(d, XDP_PASS, GW_XDP_PASS_TRUNCATED, NOL, 0, 0);
}

static void test_deny(void)
{
	struct pkt d = { .src = "192.0.2.77", .dst = "10.0.0.1", .dport = 80 };
	struct gw_xdp_listener_stats a, b;
	const char *none[1];

	lstats("10.0.0.1", 80, TCP, &a);
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "10.0.0.1", 80, TCP);
	lstats("10.0.0.1", 80, TCP, &b);
	CHECK(b.drops == a.drops + 1, "listener drops not counted");
	d.src = "192.0.3.1"; /* just outside the /24 */
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.src = "192.0.2.77";
	d.dport = 22; /* deny applies to listener ports only */
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	d.dport = 8080; /* wildcard listener */
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "0.0.0.0", 8080, TCP);
	d.src = "203.0.113.200"; /* host entry given as a bare address */
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "0.0.0.0", 8080, TCP);
	d.src = "203.0.113.201";
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "0.0.0.0", 8080, TCP);

	d = (struct pkt){ .src = "2001:db8:bad:ffff::1", .dst = "2001:db8::1", .dport = 443 };
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "2001:db8::1", 443, TCP);
	d.src = "2001:db8:bae::1";
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "2001:db8::1", 443, TCP);

	/* the set is replaced as a whole; a bad CIDR changes nothing */
	const char *bad[] = { "10.0.0.0/8", "300.1.1.1/8" };
	CHECK(gw_xdp_set_deny(X, bad, 2) == -EINVAL, "bad CIDR accepted");
	d = (struct pkt){ .src = "10.9.9.9", .dst = "10.0.0.1", .dport = 80 };
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.src = "192.0.2.77";
	expect(d, XDP_DROP, GW_XDP_DROP_DENY, "10.0.0.1", 80, TCP);
	CHECK(gw_xdp_set_deny(X, none, 0) == 0, "clearing the deny set failed");
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
}

static void test_syn_limit(void)
{
	struct pkt d = { .src = "198.51.100.7", .dst = "10.0.0.1", .dport = 80, .tcp_flags = 0x02 };
	struct gw_xdp_listener_stats a, b;
	int i;

	/* rate 1/s, burst 3: three SYNs pass at once, then the bucket is empty
	 * for a second, far longer than this loop takes */
	CHECK(gw_xdp_set_syn_limit(X, 1, 3) == 0, "set_syn_limit");
	lstats("10.0.0.1", 80, TCP, &a);
	for (i = 0; i < 3; i++)
		expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	for (i = 0; i < 2; i++)
		expect(d, XDP_DROP, GW_XDP_DROP_SYN_RATE, "10.0.0.1", 80, TCP);
	lstats("10.0.0.1", 80, TCP, &b);
	CHECK(b.syns == a.syns + 5, "syns +%llu, want +5", (unsigned long long)(b.syns - a.syns));
	CHECK(b.drops == a.drops + 2, "drops +%llu, want +2",
	      (unsigned long long)(b.drops - a.drops));

	/* only bare SYNs are charged: the handshake's ACK and a SYN-ACK pass */
	d.tcp_flags = 0x10;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	d.tcp_flags = 0x12;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	/* per source: another address has its own bucket */
	d.tcp_flags = 0x02;
	d.src = "198.51.100.8";
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 80, TCP);
	/* SYNs to a port that is no listener are never limited */
	d.src = "198.51.100.7";
	d.dport = 81;
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	/* IPv6 sources too */
	d = (struct pkt){ .src = "2001:db8:5::5", .dst = "2001:db8::1", .dport = 443,
			  .tcp_flags = 0x02 };
	for (i = 0; i < 3; i++)
		expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "2001:db8::1", 443, TCP);
	expect(d, XDP_DROP, GW_XDP_DROP_SYN_RATE, "2001:db8::1", 443, TCP);
	/* rate 0 turns the limit off */
	CHECK(gw_xdp_set_syn_limit(X, 0, 0) == 0, "set_syn_limit off");
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "2001:db8::1", 443, TCP);
}

static void test_listener_update(void)
{
	struct gw_xdp_listener_stats a, b;
	struct pkt d = { .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 53, .proto = UDP };

	CHECK(lstats("10.0.0.1", 53, UDP, &a), "udp listener missing");
	/* drop 10.0.0.1:80; the others stay with their counters */
	CHECK(gw_xdp_set_listener_list(X, LISTENERS + 1, ARRAY_SIZE(LISTENERS) - 1) == 0,
	      "set_listener_list");
	CHECK(lstats("10.0.0.1", 53, UDP, &b) && b.packets == a.packets && a.packets > 0,
	      "counters of a kept listener changed");
	CHECK(!lstats("10.0.0.1", 80, TCP, &b), "removed listener still present");
	d.proto = TCP;
	d.dport = 80;
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);

	struct gw_xdp_listener badl = { "not-an-ip", 80, TCP };
	CHECK(gw_xdp_set_listener_list(X, &badl, 1) == -EINVAL, "bad address accepted");
	CHECK(lstats("10.0.0.1", 53, UDP, &b), "a failed update removed listeners");
}

/* the IR path gwbpf run uses: binds become listener keys */
static void test_ir(void)
{
	struct gw_ir *ir = gw_ir_new();
	struct gw_xdp_listener_stats st;
	struct pkt d = { .src = "198.18.0.1", .dst = "10.0.0.1", .dport = 53, .proto = UDP };

	CHECK(ir != NULL, "gw_ir_new");
	if (!ir)
		return;
	ir->binds = gw_ir_new_array(ir, struct gw_ir_bind, 3);
	ir->n_binds = 3;
	ir->binds[0] = (struct gw_ir_bind){ .address = gw_ir_strdup(ir, "10.0.0.1"), .port = 53,
					    .proto = GW_PROTO_UDP };
	ir->binds[1] = (struct gw_ir_bind){ .address = gw_ir_strdup(ir, "0.0.0.0"), .port = 443,
					    .proto = GW_PROTO_HTTPS };
	ir->binds[2] = (struct gw_ir_bind){ .address = gw_ir_strdup(ir, "2001:db8::1"), .port = 6000,
					    .proto = GW_PROTO_TCP };
	CHECK(gw_xdp_set_listeners(X, ir) == 0, "gw_xdp_set_listeners");
	CHECK(lstats("10.0.0.1", 53, UDP, &st), "udp bind missing");
	CHECK(lstats("0.0.0.0", 443, TCP, &st), "https bind missing");
	CHECK(lstats("2001:db8::1", 6000, TCP, &st), "tcp bind missing");
	CHECK(!lstats("0.0.0.0", 8080, TCP, &st), "old listener kept");
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "10.0.0.1", 53, UDP);
	d = (struct pkt){ .src = "198.18.0.1", .dst = "10.9.9.9", .dport = 8080 };
	expect(d, XDP_PASS, GW_XDP_PASS_NOT_LISTENER, NOL, 0, 0);
	d.dport = 443;
	expect(d, XDP_PASS, GW_XDP_PASS_LISTENER, "0.0.0.0", 443, TCP);
	gw_ir_put(ir);
}

static void test_metrics(void)
{
	struct gw_xdp_listener_stats s;
	char *text = NULL, line[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f && gw_xdp_metrics(X, f) == 0, "gw_xdp_metrics");
	if (f)
		fclose(f);
	CHECK(lstats("10.0.0.1", 53, UDP, &s), "udp listener missing");
	snprintf(line, sizeof(line),
		 "gwbpf_xdp_listener_packets_total{address=\"10.0.0.1\",port=\"53\",protocol=\"udp\"} %llu\n",
		 (unsigned long long)s.packets);
	CHECK(text && strstr(text, line), "metrics lack: %s", line);
	CHECK(text && strstr(text, "# TYPE gwbpf_xdp_verdicts_total counter\n"), "no TYPE line");
	CHECK(text && strstr(text, "gwbpf_xdp_verdicts_total{verdict=\"drop\",reason=\"syn_rate\"} 3\n"),
	      "syn_rate drops not 3 in metrics");
	free(text);
}

int main(void)
{
	static const char *deny[] = { "192.0.2.0/24", "2001:db8:bad::/48", "203.0.113.200" };
	struct gw_xdp_opts o = { .pin_dir = "" };

	gw_log_set_level(GW_LOG_WARN);
	if (geteuid() != 0) {
		printf("skip: loading BPF needs root\n");
		return 249;
	}
	X = gw_xdp_open(NULL, 0, &o);
	if (!X) {
		printf("skip: cannot load the XDP program: %s\n", strerror(errno));
		return 249;
	}
	if (gw_xdp_set_listener_list(X, LISTENERS, ARRAY_SIZE(LISTENERS)) ||
	    gw_xdp_set_deny(X, deny, ARRAY_SIZE(deny))) {
		printf("setup failed\n");
		gw_xdp_close(X, false);
		return 1;
	}

	test_listeners();
	test_vlan_and_options();
	test_fragments();
	test_truncated();
	test_deny();
	test_syn_limit();
	test_listener_update();
	test_metrics();
	test_ir();

	gw_xdp_close(X, false);
	printf("xdp_ingress: %d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
