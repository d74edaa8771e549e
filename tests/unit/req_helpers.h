/* tests/unit/req_helpers.h - building parsed HTTP requests for router and
 * filter tests without going through the parser. */
#ifndef GWBPF_TEST_REQ_HELPERS_H
#define GWBPF_TEST_REQ_HELPERS_H

#include <stdarg.h>
#include <string.h>

#include "gwbpf/http1-t.h"

struct treq {
	struct gw_http_req req;
	struct gw_http_header hdrs[16];
};

static inline struct gw_slice sl(const char *s)
{
	struct gw_slice x = { s, s ? strlen(s) : 0 };

	return x;
}

/* mkreq() : target "/p?q"; headers as "Name", "value" pairs, NULL-terminated */
static inline void mkreq(struct treq *t, const char *method, const char *host, const char *target,
			 ...)
{
	const char *q = strchr(target, '?');
	va_list ap;
	const char *n;

	memset(t, 0, sizeof(*t));
	t->req.method = sl(method);
	t->req.target = sl(target);
	t->req.path.p = target;
	t->req.path.len = q ? (size_t)(q - target) : strlen(target);
	if (q)
		t->req.query = sl(q + 1);
	t->req.host = sl(host);
	t->req.version_minor = 1;
	t->req.headers = t->hdrs;
	va_start(ap, target);
	while ((n = va_arg(ap, const char *)) != NULL) {
		t->hdrs[t->req.n_headers].name = sl(n);
		t->hdrs[t->req.n_headers].value = sl(va_arg(ap, const char *));
		t->req.n_headers++;
	}
	va_end(ap);
}

#endif
