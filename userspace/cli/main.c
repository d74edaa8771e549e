/* cli/main.c - the thin main: everything lives in libgwbpf.a. */
#include "gwbpf/api.h"

#include "gwbpf/cli.h"

int main(int argc, char **argv)
{
	return gw_cli_main(argc, argv);
}
