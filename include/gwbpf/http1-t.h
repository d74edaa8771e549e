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
	bool expect_unknown;  /* Expect with a member other than 100-continue (answer 417) */
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
	int err;                        /* out: GW_HTTP_E_* after -EBADMSG/-E2BIG, else 0 */
};

struct gw_http_resp {
	int status;
	struct gw_slice reason;
	uint8_t version_minor;
	struct gw_http_header *headers;
	size_t n_headers;
	struct gw_http_framing fr;
	int err; /* out: GW_HTTP_E_* after -EBADMSG/-E2BIG, else 0 */
};

/* Why a head was rejected: set in gw_http_req.err / gw_http_resp.err whenever
 * a parser returns -EBADMSG or -E2BIG, so the proxy can pick the status
 * (gw_http1_err_status()) and log the reason (gw_http1_strerror()). */
enum gw_http_err {
	GW_HTTP_E_NONE = 0,
	GW_HTTP_E_SYNTAX,           /* 400: malformed start line */
	GW_HTTP_E_METHOD,           /* 400: method is not a token */
	GW_HTTP_E_TARGET,           /* 400: bad request-target or form not allowed for the method */
	GW_HTTP_E_VERSION_SYNTAX,   /* 400: not "HTTP/" DIGIT "." DIGIT (HTTP/0.9 included) */
	GW_HTTP_E_VERSION,          /* 505: well-formed but not HTTP/1.0 or HTTP/1.1 */
	GW_HTTP_E_BARE_LF,          /* 400: LF without CR */
	GW_HTTP_E_BARE_CR,          /* 400: CR not followed by LF */
	GW_HTTP_E_HDR_NAME,         /* 400: field name not a token, or no colon */
	GW_HTTP_E_HDR_WS_COLON,     /* 400: whitespace between field name and colon */
	GW_HTTP_E_HDR_VALUE,        /* 400: control character in a field value */
	GW_HTTP_E_OBS_FOLD,         /* 400: line folding, or whitespace before the first field */
	GW_HTTP_E_CL_INVALID,       /* 400: Content-Length not 1*DIGIT or too large */
	GW_HTTP_E_CL_CONFLICT,      /* 400: Content-Length values differ */
	GW_HTTP_E_TE_CL,            /* 400: Transfer-Encoding and Content-Length together */
	GW_HTTP_E_TE_INVALID,       /* 400: Transfer-Encoding list malformed (empty, params) */
	GW_HTTP_E_TE_NOT_CHUNKED,   /* 400: request whose final coding is not chunked */
	GW_HTTP_E_TE_CHUNKED_TWICE, /* 400: chunked applied more than once */
	GW_HTTP_E_TE_UNKNOWN,       /* 501: request coding gwbpf does not know */
	GW_HTTP_E_TE_HTTP10,        /* 400: Transfer-Encoding in an HTTP/1.0 message */
	GW_HTTP_E_HOST_MISSING,     /* 400: HTTP/1.1 request without Host */
	GW_HTTP_E_HOST_DUP,         /* 400: more than one Host field line */
	GW_HTTP_E_HOST_INVALID,     /* 400: Host or authority with invalid characters */
	GW_HTTP_E_CONNECTION,       /* 400: Connection list with a non-token member */
	GW_HTTP_E_UPGRADE_DUP,      /* 400: more than one Upgrade field line */
	GW_HTTP_E_STATUS,           /* response: status code not 3 digits in 100..599 */
	GW_HTTP_E_LINE_TOO_LONG,    /* 414: request line longer than max_line */
	GW_HTTP_E_HEAD_TOO_BIG,     /* 431: head longer than max_head */
	GW_HTTP_E_TOO_MANY_HEADERS, /* 431: more than max_headers fields */
	GW_HTTP_E__COUNT
};

/* chunked framing bounds (gw_chunked_feed): a chunk-size line with its
 * extensions, and the whole trailer section including its final CRLF */
#define GW_CHUNK_MAX_LINE     4096
#define GW_CHUNK_MAX_TRAILERS 8192
/* largest chunk size accepted; far above any real chunk, far from overflow */
#define GW_CHUNK_MAX_SIZE     (1ULL << 62)

/* incremental chunked-body walker state; all-zero = at start of first chunk */
struct gw_chunk_state {
	uint8_t state;
	uint64_t left;     /* bytes left in the current chunk data */
	uint32_t line_len; /* bytes seen of the current size/trailer line */
	uint32_t trailer_bytes;
};

#endif
