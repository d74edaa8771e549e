/* gwbpf/http1-t.h - HTTP/1.1 message heads as slices into the input buffer. */
#ifndef GWBPF_HTTP1_T_H
#define GWBPF_HTTP1_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pointer + length into a buffer the caller owns (picohttpparser style) */
struct gw_slice {
	const char *p;
	size_t len;
};

struct gw_http_header {
	struct gw_slice name;  /* as received; compare case-insensitively */
	struct gw_slice value; /* leading/trailing OWS stripped */
};

struct gw_http_limits {
	size_t max_head;    /* request/status line + headers, bytes (default 64 KiB) */
	size_t max_line;    /* request line, bytes (default 8 KiB) */
	size_t max_headers; /* count (default 100) */
};

/* framing facts derived while parsing, shared by requests and responses */
struct gw_http_framing {
	int64_t content_length; /* -1 when absent */
	bool chunked;           /* Transfer-Encoding: chunked (final coding) */
	bool conn_close;        /* Connection: close, or HTTP/1.0 without keep-alive */
	bool upgrade;           /* Connection: upgrade and an Upgrade header */
	bool expect_continue;   /* Expect: 100-continue */
	struct gw_slice upgrade_proto; /* Upgrade header value */
};

struct gw_http_req {
	struct gw_slice method;
	struct gw_slice target;    /* as received */
	struct gw_slice path;      /* origin-form path (absolute-form: after authority), no query */
	struct gw_slice query;     /* after '?', without it; len 0 when absent */
	struct gw_slice authority; /* absolute-form authority; len 0 otherwise */
	struct gw_slice host;      /* Host header (or authority when absolute-form) */
	uint8_t version_minor;     /* 0 or 1 */
	struct gw_http_header *headers; /* caller-provided array */
	size_t n_headers;               /* out: headers parsed */
	struct gw_http_framing fr;
};

struct gw_http_resp {
	int status;
	struct gw_slice reason;
	uint8_t version_minor;
	struct gw_http_header *headers;
	size_t n_headers;
	struct gw_http_framing fr;
};

/* incremental chunked-body walker state; all-zero = at start of first chunk */
struct gw_chunk_state {
	uint8_t state;
	uint64_t left;     /* bytes left in the current chunk data */
	uint32_t line_len; /* bytes seen of the current size/trailer line */
	uint32_t trailer_bytes;
};

#endif
