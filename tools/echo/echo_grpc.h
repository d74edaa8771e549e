/* tools/echo/echo_grpc.h - the HTTP/2 modes of gwbpf-echo (echo_grpc.c). */
#ifndef GWBPF_ECHO_GRPC_H
#define GWBPF_ECHO_GRPC_H

/* gw_echo_h2_wants() : true when argv selects an HTTP/2 mode (--h2c or --grpc
 * as the first argument) */
int gw_echo_h2_wants(int argc, char **argv);

/* gw_echo_h2_main() : runs gwbpf-echo as an h2c (prior knowledge) server that
 * answers plain requests with the echo JSON and gRPC calls to the conformance
 * GrpcEcho service. Returns the process exit code. */
int gw_echo_h2_main(int argc, char **argv);

#endif
