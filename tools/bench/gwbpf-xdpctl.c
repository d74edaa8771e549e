/* tools/bench/gwbpf-xdpctl.c - drives the XDP module (gwbpf/xdp.h) from
 * the command line, making the same library calls `gwbpf run --xdp-iface`
 * makes. Used by tests/integration/test_xdp_*.sh and tools/bench/xdp_bench.sh.
 *
 *   gwbpf-xdpctl attach --iface IF... [--pin DIR] [--mode auto|native|skb]
 *                [--listen ADDR:PORT/tcp|udp]... [--deny CIDR]...
 *                [--syn-rate N] [--syn-burst N]
 *       attaches (or adopts), programs, and exits leaving it attached
 *   gwbpf-xdpctl stats  [--pin DIR]          Prometheus text of the counters
 *   gwbpf-xdpctl detach --iface IF... [--pin DIR]
 *       detaches from the interfaces and removes the pins
 *
 * Exit 0 ok, 1 failure, 2 usage.
 */
#include "gwbpf/api.h"

#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>

#include "gwbpf/log.h"
#include "gwbpf/xdp.h"

#define MAXN 64

static int usage(void)
{
	fprintf(stderr, "usage: gwbpf-xdpctl attach|stats|detach [--iface IF]... [--pin DIR]\n"
			"       [--mode auto|native|skb] [--listen ADDR:PORT/tcp|udp]...\n"
			"       [--deny CIDR]... [--syn-rate N] [--syn-burst N]\n");
	return 2;
}

/* parse_listen() : "10.0.0.1:80/tcp", "[::]:443/tcp", "0.0.0.0:53/udp" */
static int parse_listen(const char *s, struct gw_xdp_listener *l)
{
	char buf[64], *slash, *colon, *a;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strrchr(buf, '/');
	l->proto = IPPROTO_TCP;
	if (slash) {
		*slash = '\0';
		if (!strcmp(slash + 1, "udp"))
			l->proto = IPPROTO_UDP;
		else if (strcmp(slash + 1, "tcp"))
			return -EINVAL;
	}
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	l->port = atoi(colon + 1);
	a = buf;
	if (*a == '[') {
		a++;
		a[strcspn(a, "]")] = '\0';
	}
	snprintf(l->address, sizeof(l->address), "%s", a);
	return l->port ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "iface", required_argument, NULL, 'i' },  { "pin", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },   { "listen", required_argument, NULL, 'l' },
		{ "deny", required_argument, NULL, 'd' },   { "syn-rate", required_argument, NULL, 'r' },
		{ "syn-burst", required_argument, NULL, 'b' }, { "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ifaces[MAXN], *deny[MAXN], *cmd;
	struct gw_xdp_listener ls[MAXN];
	struct gw_xdp_opts o = {};
	size_t ni = 0, nd = 0, nl = 0;
	bool set_rate = false;
	struct gw_xdp *x = NULL;
	int c, err = 0, rc = 1;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (ni < MAXN)
				ifaces[ni++] = optarg;
			break;
		case 'p':
			o.pin_dir = optarg;
			break;
		case 'm':
			o.mode = !strcmp(optarg, "native") ? GW_XDP_MODE_NATIVE :
				 !strcmp(optarg, "skb")    ? GW_XDP_MODE_SKB :
							     GW_XDP_MODE_AUTO;
			break;
		case 'l':
			if (nl >= MAXN || parse_listen(optarg, &ls[nl])) {
				fprintf(stderr, "gwbpf-xdpctl: bad --listen '%s'\n", optarg);
				return 2;
			}
			nl++;
			break;
		case 'd':
			if (nd < MAXN)
				deny[nd++] = optarg;
			break;
		case 'r':
			o.syn_rate = strtoul(optarg, NULL, 10);
			o.no_syn_limit = o.syn_rate == 0;
			set_rate = true;
			break;
		case 'b':
			o.syn_burst = strtoul(optarg, NULL, 10);
			break;
		case 'v':
			gw_log_set_level(GW_LOG_DEBUG);
			break;
		default:
			return usage();
		}
	}

	if (!strcmp(cmd, "attach")) {
		if (!ni)
			return usage();
		x = gw_xdp_open(ifaces, ni, &o);
		if (!x) {
			fprintf(stderr, "gwbpf-xdpctl: attach: %s\n", strerror(errno));
			goto out;
		}
		/* an adopted program keeps its limits unless asked */
		if (set_rate)
			err = gw_xdp_set_syn_limit(x, o.syn_rate, o.syn_burst);
		if (!err && nl)
			err = gw_xdp_set_listener_list(x, ls, nl);
		if (!err && nd)
			err = gw_xdp_set_deny(x, deny, nd);
		if (err) {
			fprintf(stderr, "gwbpf-xdpctl: attach: %s\n", strerror(-err));
			gw_xdp_close(x, false);
			x = NULL;
			goto out;
		}
		gw_xdp_close(x, true);
		x = NULL;
		rc = 0;
	} else if (!strcmp(cmd, "stats")) {
		x = gw_xdp_open_pinned(o.pin_dir);
		if (!x) {
			fprintf(stderr, "gwbpf-xdpctl: stats: %s\n", strerror(errno));
			goto out;
		}
		rc = gw_xdp_metrics(x, stdout) ? 1 : 0;
	} else if (!strcmp(cmd, "detach")) {
		if (!ni)
			return usage();
		x = gw_xdp_open(ifaces, ni, &o);
		if (!x) {
			fprintf(stderr, "gwbpf-xdpctl: detach: %s\n", strerror(errno));
			goto out;
		}
		gw_xdp_close(x, false);
		x = NULL;
		rc = 0;
	} else {
		return usage();
	}
out:
	gw_xdp_close(x, true);
	return rc;
}
