/* gwbpf/filter-t.h - what the request filters of a rule decided for one
 * request, kept by the proxy until the response head is written. */
#ifndef GWBPF_FILTER_T_H
#define GWBPF_FILTER_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwbpf/http1-t.h"
#include "gwbpf/ir-t.h"

/* an Origin longer than this is never allowed by a CORS filter */
#define GW_FILTER_ORIGIN_MAX 256
/* at most this many mirrors per request (rule + backendRef filters) */
#define GW_FILTER_MAX_MIRRORS 8

enum gw_filter_verdict {
	GW_FILTER_FORWARD = 0, /* out holds the request head for the upstream */
	GW_FILTER_RESPOND,     /* out holds a complete response (head, empty body) for the client */
};

/* inputs of gw_filter_request(); everything is borrowed for the call */
struct gw_filter_ctx {
	const struct gw_http_req *req;       /* path already normalised by the proxy */
	const struct gw_ir_match *match;     /* the match that selected the rule (prefix rewrites) */
	const struct gw_ir_action *action;   /* the rule */
	const struct gw_ir_backend *backend; /* chosen backendRef (its filters), or NULL */
	const char *scheme;                  /* "http" or "https": the listener's */
	uint16_t listener_port;              /* port the request arrived on */
	const char *client_addr; /* numeric client address for X-Forwarded-For; NULL = no X-Forwarded-* */
	const char *extra;       /* header lines added to every head written ("Name: v\r\n"...), or NULL */
	size_t extra_len;
	uint64_t rnd;            /* uniformly random value for mirror fractions */
};

/* outputs of gw_filter_request(), inputs of gw_filter_response() */
struct gw_filter_result {
	enum gw_filter_verdict verdict;
	uint16_t status;         /* RESPOND: the status written */
	int32_t mirrors[GW_FILTER_MAX_MIRRORS]; /* clusters to send a copy of the request to */
	uint8_t n_mirrors;
	bool cors;               /* the origin passed a CORS filter: decorate the response */
	uint16_t origin_len;
	char origin[GW_FILTER_ORIGIN_MAX]; /* the request's Origin, copied (the request
					      buffer may be gone when the response comes) */
	const struct gw_ir_cors *cors_filter;
	const struct gw_ir_action *action;   /* response header modifiers come from here */
	const struct gw_ir_backend *backend; /* ... and here */
};

#endif
