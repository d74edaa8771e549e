/* gwbpf/http1.h - strict incremental HTTP/1.1 parsing (RFC 9110/9112).
 *
 * Parsers share one return convention: >0 bytes consumed (the head length,
 * including the final CRLF CRLF), -EAGAIN when more input is needed,
 * -EBADMSG when the input is invalid or ambiguous (answer 400 and close),
 * -E2BIG when a limit is exceeded (431 for headers, 414 for a long target).
 * They never read past len and never allocate. Ambiguity is rejected:
 * Content-Length with Transfer-Encoding, differing duplicate Content-Length,
 * bare CR or LF, obs-fold, whitespace before ':', invalid token characters,
 * control characters in values, a Transfer-Encoding whose final coding is not
 * chunked (requests), unsupported versions.
 */
#ifndef GWBPF_HTTP1_H
#define GWBPF_HTTP1_H

#include "gwbpf/api.h"
#include "gwbpf/http1-t.h"

/* gw_http_limits_default() : the documented defaults */
void gw_http_limits_default(struct gw_http_limits *l);

/* gw_http1_parse_request() : req->headers must point to an array of
 * lim->max_headers entries. lim NULL = defaults. */
int gw_http1_parse_request(const char *buf, size_t len, struct gw_http_req *req,
			   const struct gw_http_limits *lim);

/* gw_http1_parse_response() : as above for a status line + headers */
int gw_http1_parse_response(const char *buf, size_t len, struct gw_http_resp *resp,
			    const struct gw_http_limits *lim);

/* gw_chunked_feed() : walks chunked framing (sizes, extensions, data, CRLFs,
 * trailers) of buf[0..len) without copying. *consumed is set to the bytes
 * that belong to the body. Returns 1 when the body ended (the last chunk and
 * the trailer section are complete; *consumed stops right after it), 0 when
 * all of buf was consumed and more is needed, -EBADMSG on invalid framing. */
int gw_chunked_feed(struct gw_chunk_state *st, const char *buf, size_t len, size_t *consumed);

/* gw_chunked_decode() : like gw_chunked_feed() but also moves the chunk data
 * bytes to the front of buf (in place); *data_len is the decoded length. */
int gw_chunked_decode(struct gw_chunk_state *st, char *buf, size_t len, size_t *consumed,
		      size_t *data_len);

/* gw_http1_strerror() : short English reason for a GW_HTTP_E_* code; never NULL */
const char *gw_http1_strerror(int err);
/* gw_http1_err_status() : the status a server answers for a GW_HTTP_E_* code
 * (400, 414, 431, 501 or 505); 400 for unknown codes */
int gw_http1_err_status(int err);

/* helpers */
bool gw_slice_eq(struct gw_slice s, const char *lit);      /* exact */
bool gw_slice_casecmp(struct gw_slice s, const char *lit); /* ASCII case-insensitive equality */
/* gw_http_find_header() : first header named name (case-insensitive), NULL if none */
const struct gw_http_header *gw_http_find_header(const struct gw_http_header *h, size_t n,
						 const char *name);
/* gw_http_status_reason() : "Not Found" for 404, "" for unknown */
const char *gw_http_status_reason(int status);

#endif
