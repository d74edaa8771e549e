/* tools/bench/xdp_flood.c - a fast TCP SYN frame generator for
 * tools/bench/xdp_bench.sh.
 *
 *   xdp_flood IFACE DST_MAC SRC_IP DST_IP DPORT SECONDS
 *
 * Writes whole Ethernet frames on an AF_PACKET socket with sendmmsg() and
 * PACKET_QDISC_BYPASS, so the sender's own IP stack costs nothing and the
 * receiver's drop path is what gets measured. Stops after SECONDS (at most
 * 60) and prints "sent N frames in S seconds". Source ports vary per frame
 * so receive hashing spreads them. Needs CAP_NET_RAW.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME 54

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

int main(int argc, char **argv)
{
	uint8_t frames[BATCH][FRAME] = {}, mac[6];
	struct mmsghdr msgs[BATCH] = {};
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct in_addr src, dst;
	unsigned long long sent = 0;
	double start, end, secs;
	int fd, one = 1, i, n;
	uint16_t dport;

	if (argc != 7 || sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
				&mac[3], &mac[4], &mac[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &src) != 1 || inet_pton(AF_INET, argv[4], &dst) != 1) {
		fprintf(stderr, "usage: xdp_flood IFACE DST_MAC SRC_IP DST_IP DPORT SECONDS\n");
		return 2;
	}
	dport = atoi(argv[5]);
	secs = atof(argv[6]);
	if (secs <= 0 || secs > 60)
		secs = 5;
	sll.sll_ifindex = if_nametoindex(argv[1]);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, mac, 6);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd == -1 || !sll.sll_ifindex) {
		perror("xdp_flood: socket/interface");
		return 1;
	}
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));

	for (i = 0; i < BATCH; i++) {
		uint8_t *f = frames[i], *ip = f + 14, *th = f + 34, pseudo[12];
		uint32_t sum = 0;
		size_t k;

		memcpy(f, mac, 6);
		memcpy(f + 6, "\x02\x00\x00\x00\x00\x99", 6);
		put16(f + 12, ETHERTYPE_IP);
		ip[0] = 0x45;
		put16(ip + 2, 40);
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, &src, 4);
		memcpy(ip + 16, &dst, 4);
		put16(ip + 10, csum16(ip, 20, 0));
		put16(th, 10000 + i);
		put16(th + 2, dport);
		th[12] = 5 << 4;
		th[13] = 0x02;
		put16(th + 14, 64240);
		memcpy(pseudo, &src, 4);
		memcpy(pseudo + 4, &dst, 4);
		pseudo[8] = 0;
		pseudo[9] = IPPROTO_TCP;
		put16(pseudo + 10, 20);
		for (k = 0; k < 12; k += 2)
			sum += (pseudo[k] << 8) | pseudo[k + 1];
		put16(th + 16, csum16(th, 20, sum));
		iov[i].iov_base = f;
		iov[i].iov_len = FRAME;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
	}

	start = now_s();
	end = start + secs;
	/* bounded by time; the clock is read once per batch */
	while (now_s() < end) {
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += n;
	}
	printf("sent %llu frames in %.3f seconds\n", sent, now_s() - start);
	close(fd);
	return 0;
}
