/* cli/main.c - placeholder until the command table lands */
#include "gwbpf/api.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("gwbpf %s\n", GW_VERSION);
	return 0;
}
