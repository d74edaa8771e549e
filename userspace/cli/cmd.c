/* cli/cmd.c - global options and command dispatch (bpftool's cmd_select).
 *
 * Commands may be abbreviated to any unique prefix ("st" for status).
 */
#include "gwbpf/api.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include <jansson.h>

#include "gwbpf/cli.h"
#include "gwbpf/log.h"

struct gw_cli_globals gw_cli;

struct gw_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct gw_cmd cmds[] = {
	{ "run", gw_cmd_run, "serve Gateways from files (--config) or the Kubernetes API (--kube)" },
	{ "status", gw_cmd_status, "show gateways, routes, backends, BPF maps or connections" },
	{ "validate", gw_cmd_validate, "load manifests, translate, print every object's status" },
	{ "version", gw_cmd_version, "print versions and the kernel features found" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: gwbpf [OPTIONS] COMMAND [ARGS]\n\n"
		   "Kubernetes Gateway API data plane: userspace proxy + eBPF fast path.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  -j, --json     JSON output (status, validate)\n"
		   "  -p, --pretty   pretty-printed JSON (implies --json)\n"
		   "  -d, --debug    debug logging\n"
		   "  -h, --help     this help\n\n"
		   "Run 'gwbpf COMMAND --help' for a command's options.\n");
}

void gw_cli_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (gw_cli.fmt == GW_OUT_JSON) {
		json_t *o = json_pack("{s:s}", "error", msg);

		gw_cli_print_doc(o, GW_OUT_JSON, stdout);
		json_decref(o);
	} else {
		fprintf(stderr, "gwbpf: %s\n", msg);
	}
}

int gw_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const struct gw_cmd *found = NULL;
	int c;

	/* global options stop at the first non-option: the command */
	while ((c = getopt_long(argc, argv, "+jpdhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			gw_cli.fmt = GW_OUT_JSON;
			break;
		case 'p':
			gw_cli.fmt = GW_OUT_JSON;
			gw_cli.pretty = true;
			break;
		case 'd':
			gw_cli.verbose = true;
			gw_log_set_level(GW_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return GW_EXIT_OK;
		case 'V':
			return gw_cmd_version(1, (char *[]){ "version", NULL });
		default:
			usage(stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return GW_EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strncmp(cmds[i].name, argv[optind], strlen(argv[optind])))
			continue;
		if (!strcmp(cmds[i].name, argv[optind])) {
			found = &cmds[i];
			break;
		}
		if (found) {
			gw_cli_err("command '%s' is ambiguous", argv[optind]);
			return GW_EXIT_USAGE;
		}
		found = &cmds[i];
	}
	if (!found) {
		gw_cli_err("unknown command '%s' (try 'gwbpf --help')", argv[optind]);
		return GW_EXIT_USAGE;
	}
	/* each command parses its own options with getopt from a fresh start */
	{
		int idx = optind;

		argv[idx] = (char *)found->name;
		optind = 0;
		return found->fn(argc - idx, argv + idx);
	}
}
