/* gwbpf/cli.h - command-line commands (userspace/cli/).
 *
 * main() only calls gw_cli_main(); each command is a function taking its own
 * argv (argv[0] is the command name) and returning the exit code:
 * 0 ok, 1 failure, 2 usage.
 */
#ifndef GWBPF_CLI_H
#define GWBPF_CLI_H

#include <stdio.h>

#include "gwbpf/api.h"

enum gw_exit {
	GW_EXIT_OK = 0,
	GW_EXIT_FAIL = 1,
	GW_EXIT_USAGE = 2,
};

enum gw_out_fmt {
	GW_OUT_TABLE = 0,
	GW_OUT_JSON,
	GW_OUT_YAML,
};

/* global options, set by gw_cli_main() before dispatch */
struct gw_cli_globals {
	enum gw_out_fmt fmt; /* -j/--json sets GW_OUT_JSON */
	bool pretty;         /* -p/--pretty */
	bool verbose;        /* -d/--debug */
};
extern struct gw_cli_globals gw_cli;

int gw_cli_main(int argc, char **argv);

int gw_cmd_run(int argc, char **argv);
int gw_cmd_status(int argc, char **argv);
int gw_cmd_validate(int argc, char **argv);
int gw_cmd_version(int argc, char **argv);

/* gw_cli_err() : prints "gwbpf: msg" to stderr, or {"error": msg} on stdout in
 * JSON mode (bpftool p_err) */
void gw_cli_err(const char *fmt, ...) GW_PRINTF(1, 2);

/* gw_cli_print_doc() : prints a json_t (borrowed) as JSON (pretty per globals)
 * or, with fmt GW_OUT_YAML, as YAML */
void gw_cli_print_doc(const void *json, enum gw_out_fmt fmt, FILE *f);

#endif
