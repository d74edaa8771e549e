/* tools/bench/gwbpf-dpctl.c - small driver for the BPF data plane, used by
 * tests/integration/test_bpf_*.sh and tools/bench/run.sh where the full
 * daemon is not what is being measured.
 *
 *   gwbpf-dpctl load   [--bpffs DIR] [--cgroup DIR] [--scope-ports] [--off]
 *                      load/adopt, attach, leave pinned, exit
 *   gwbpf-dpctl unload [--bpffs DIR]   detach and remove gwbpf's pins
 *   gwbpf-dpctl stats  [--bpffs DIR]   "key value" lines (reasons: name count bytes)
 *   gwbpf-dpctl conns  [--bpffs DIR]   one line per socket in the sockhash
 *
 * Exit status: 0 ok, 1 failure, 2 usage.
 */
#include "gwbpf/api.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "gwbpf/dataplane.h"
#include "gwbpf/log.h"

static int print_conn(const struct gw_dp_conn *c, void *arg)
{
	char buf[160];

	printf("%s cookie=%" PRIu64 "\n", gw_dataplane_conn_str(c, buf, sizeof(buf)), c->cookie);
	return 0;
}

static int cmd_stats(const char *bpffs)
{
	struct gw_dataplane_stats st;
	int err = gw_dataplane_stats(bpffs, &st);

	if (err) {
		fprintf(stderr, "stats: %s\n", strerror(-err));
		return 1;
	}
	printf("sockops_attached %d\nskmsg_attached %d\nsocks %u\nports %u\n",
	       st.sockops_attached, st.skmsg_attached, st.n_socks, st.n_ports);
	printf("bypass %d\nscope %u\ngeneration %" PRIu64 "\n", !!(st.flags & GW_CFG_F_BYPASS),
	       st.scope, st.generation);
	for (unsigned int r = GW_REASON_BASE; r < GW_REASON_END; r++)
		printf("reason %s %" PRIu64 " %" PRIu64 "\n", gw_dataplane_reason_name(r),
		       st.reasons[r].count, st.reasons[r].bytes);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "scope-ports", no_argument, NULL, 'p' },
		{ "off", no_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct gw_dataplane_opts opts = { .flags = GW_DP_F_SKMSG };
	bool off = false;
	struct gw_dataplane *dp;
	const char *cmd;
	int c, err;

	while ((c = getopt_long(argc, argv, "b:c:pov", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': opts.bpffs = optarg; break;
		case 'c': opts.cgroup = optarg; break;
		case 'p': opts.flags |= GW_DP_F_SCOPE_PORTS; break;
		case 'o': off = true; break;
		case 'v': gw_log_set_level(GW_LOG_DEBUG); break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: gwbpf-dpctl load|unload|stats|conns [--bpffs DIR] "
				"[--cgroup DIR] [--scope-ports] [--off]\n");
		return 2;
	}
	cmd = argv[optind];
	if (!strcmp(cmd, "stats"))
		return cmd_stats(opts.bpffs);
	if (!strcmp(cmd, "conns")) {
		err = gw_dataplane_conns(opts.bpffs, print_conn, NULL);
		if (err)
			fprintf(stderr, "conns: %s\n", strerror(-err));
		return err ? 1 : 0;
	}
	if (!strcmp(cmd, "load") || !strcmp(cmd, "unload")) {
		if (!strcmp(cmd, "unload"))
			opts.cgroup = NULL;
		dp = gw_dataplane_open(&opts);
		if (!dp) {
			fprintf(stderr, "%s: %s\n", cmd, strerror(errno));
			return 1;
		}
		if (off)
			gw_dataplane_set_bypass(dp, false);
		gw_dataplane_close(dp, !strcmp(cmd, "load"));
		return 0;
	}
	fprintf(stderr, "gwbpf-dpctl: unknown command '%s'\n", cmd);
	return 2;
}
