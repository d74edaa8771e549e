/* cli/cmd_validate.c - `gwbpf validate [-o table|json|yaml] PATH...`
 *
 * Loads manifests exactly as `gwbpf run --config` would, runs the translator
 * and prints every object's computed status. Exit 0 only when every object
 * loaded, validated, and is accepted with all references resolved.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "gwbpf/cli.h"
#include "gwbpf/diag.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"
#include "gwbpf/status_view.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: gwbpf validate [-o table|json|yaml] [--address-pool CIDR]\n"
		   "                      [--listen-address IP] PATH...\n\n"
		   "Loads every manifest in PATH (files or folders of *.yaml, *.yml, *.json),\n"
		   "validates it as the API server would, translates, and prints each object's\n"
		   "status. Exit 0 only if every object is accepted and resolved; 1 otherwise;\n"
		   "2 on usage errors. --address-pool and --listen-address mean what they mean\n"
		   "for `gwbpf run` (with a pool, each Gateway gets its own address, as in a\n"
		   "cluster, so Gateways on the same port do not conflict).\n");
}

/* cidr_ok() : s is "address/prefix" with a prefix the family allows; the
 * translator would otherwise warn and fall back to one shared address */
static bool cidr_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	char addr[INET6_ADDRSTRLEN];
	char *end;
	long len;
	bool v6;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = 0;
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return false;
	len = strtol(slash + 1, &end, 10);
	return slash[1] && !*end && len >= 0 && len <= (v6 ? 128 : 32);
}

int gw_cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "address-pool", required_argument, NULL, 'P' },
		{ "listen-address", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct gw_translate_opts topts = { 0 };
	struct gw_diag_list diags = { 0 };
	struct gw_translation *t = NULL;
	enum gw_out_fmt fmt = gw_cli.fmt;
	struct gw_store *store = NULL;
	json_t *list = NULL;
	int ret = GW_EXIT_FAIL;
	bool all_ok = true;
	int c, err;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "table"))
				fmt = GW_OUT_TABLE;
			else if (!strcmp(optarg, "json"))
				fmt = GW_OUT_JSON;
			else if (!strcmp(optarg, "yaml"))
				fmt = GW_OUT_YAML;
			else {
				gw_cli_err("validate: unknown output format '%s'", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'P':
			if (!cidr_ok(optarg)) {
				gw_cli_err("validate: --address-pool '%s' is not a CIDR", optarg);
				return GW_EXIT_USAGE;
			}
			topts.address_pool = optarg;
			break;
		case 'L': {
			unsigned char buf[16];

			if (inet_pton(AF_INET, optarg, buf) != 1 &&
			    inet_pton(AF_INET6, optarg, buf) != 1) {
				gw_cli_err("validate: --listen-address '%s' is not an IP address",
					   optarg);
				return GW_EXIT_USAGE;
			}
			topts.listen_address = optarg;
			break;
		}
		case 'h':
			usage(stdout);
			return GW_EXIT_OK;
		default:
			usage(stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		gw_cli_err("validate: no PATH given");
		usage(stderr);
		return GW_EXIT_USAGE;
	}

	store = gw_store_new();
	if (!store)
		goto out;
	err = gw_file_source_load((const char *const *)argv + optind, (size_t)(argc - optind),
				  store, &diags);
	if (err == -ENOMEM)
		goto out;
	topts.now = time(NULL);
	if (gw_translate(store, &topts, &t))
		goto out;
	gw_diag_append(&diags, &t->diags);
	for (size_t i = 0; i < t->n_status; i++)
		if (!t->status[i].ok)
			all_ok = false;

	/* diagnostics always go to stderr so stdout stays a clean document */
	gw_diag_print(&diags, stderr);
	if (fmt == GW_OUT_TABLE) {
		gw_status_view_print_table(t, stdout);
	} else {
		list = gw_translation_status_list(t);
		gw_cli_print_doc(list, fmt, stdout);
	}
	ret = (diags.n_errors == 0 && all_ok) ? GW_EXIT_OK : GW_EXIT_FAIL;
out:
	if (ret == GW_EXIT_FAIL && !t)
		gw_cli_err("validate: out of memory");
	json_decref(list);
	gw_translation_free(t);
	gw_store_free(store);
	gw_diag_list_free(&diags);
	return ret;
}
