/* tools/echo/echo_l4.h - the L4 modes of gwbpf-echo (echo_l4.c). */
#ifndef GWBPF_ECHO_L4_H
#define GWBPF_ECHO_L4_H

/* gw_echo_l4_wants() : true when argv selects an L4 mode (--tcp, --tls,
 * --raw or --udp as the first argument) */
int gw_echo_l4_wants(int argc, char **argv);

/* gw_echo_l4_main() : runs gwbpf-echo as an L4 backend (see echo_l4.c).
 * Returns the process exit code. */
int gw_echo_l4_main(int argc, char **argv);

#endif
