/* fuzz_bpf_http.c - libFuzzer driver for the kernel steering parser
 * (bpf/lib/http.h, the same source the sk_msg program runs), differential
 * against the proxy's parser.
 *
 * Property: whenever the kernel parser calls the input a routable head, the
 * proxy's gw_http1_parse_request() accepts exactly those bytes as one
 * bodiless HTTP/1.1 head with the same method, the same path (which the
 * proxy's normalisation leaves unchanged) and the same host once
 * gw_router_host() has dropped the port and trailing dot. Otherwise the
 * kernel could route a request the proxy would answer differently.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include "../../bpf/lib/http.h"

#include "gwbpf/http1.h"
#include "gwbpf/router.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct gw_http_scratch scratch;
static struct gw_http_header hdrs[128];
static char copy[GW_HTTP_HEAD_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_http_req req = {.headers = hdrs};
	struct gw_http_limits lim;
	struct gw_http_head h;
	struct gw_slice host;
	__u32 r;
	int rc;

	memset(&scratch, 0, sizeof(scratch));
	memcpy(scratch.buf, data, size < GW_HTTP_HEAD_MAX ? size : GW_HTTP_HEAD_MAX);
	r = gw_http_parse(&h, &scratch, (__u32)size);
	CHECK(r < GW_HTTP_R__COUNT);
	if (r != GW_HTTP_R_OK)
		return 0;
	CHECK(size <= GW_HTTP_HEAD_MAX && h.head_len == size);
	gw_http_limits_default(&lim);
	lim.max_headers = ARRAY_SIZE(hdrs);
	memcpy(copy, data, size);
	rc = gw_http1_parse_request(copy, size, &req, &lim);
	CHECK(rc == (int)size);
	CHECK(req.version_minor == 1 && !req.authority.len);
	CHECK(req.fr.content_length <= 0 && !req.fr.chunked && !req.fr.upgrade &&
	      !req.fr.conn_close && !req.fr.expect_continue && !req.fr.expect_unknown);
	CHECK(req.method.len == h.method_len && !memcmp(req.method.p, data, h.method_len));
	CHECK(req.path.len == h.path_len && req.path.p == copy + h.path_off);
	CHECK(gw_router_path_normalize((char *)req.path.p, req.path.len, GW_PATH_NORM_DEFAULT) ==
	      (int)h.path_len);
	CHECK(!memcmp(req.path.p, data + h.path_off, h.path_len));
	host = gw_router_host(req.host);
	CHECK(host.len == h.host_len && h.host_len > 0 && h.host_len < GW_HTTP_HOST_MAX);
	for (size_t i = 0; i < host.len; i++)
		CHECK(gw_http_lower((__u8)host.p[i]) == scratch.host[i]);
	return 0;
}
