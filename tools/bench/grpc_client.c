/* tools/bench/grpc_client.c - a small gRPC client over h2c (prior knowledge)
 * or h2 over TLS (--tls) for tests: calls one method of the conformance
 * GrpcEcho service and prints the result as one JSON object on stdout.
 *
 *   grpc_client [--authority HOST] [-H name:value]... [--timeout SECONDS]
 *               [--count N] [--tls [--cacert FILE] [--sni NAME]]
 *               ADDR:PORT /package.Service/Method
 *
 * --tls offers ALPN h2 only and fails when the server does not select it;
 * the SNI is --sni, else the authority's host. With --cacert the server's
 * certificate must chain to FILE and match the SNI name; without it, it is
 * not checked (a test tool).
 *
 * The request message is an empty EchoRequest. The output is
 *   {"status": 200, "grpc_status": 0, "grpc_message": "",
 *    "headers": {...}, "trailers": {...},
 *    "response": {"fully_qualified_method": ..., "authority": ...,
 *                 "headers": [[k, v]...], "namespace": ..., "ingress": ...,
 *                 "service_name": ..., "pod": ...}}
 * "response" is null when no message came back; "grpc_status" is null when the
 * server sent none (an HTTP-level failure), and "error" names a transport
 * failure (connect refused, reset, timeout). With --count N the call is made
 * N times as N concurrent streams on one connection, and one JSON line is
 * printed per call, in stream order. Exit 0 when every call produced output.
 *
 * The protobuf decoding is hand-written (varints and length-delimited fields
 * are all this message uses).
 */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define GC_MAX_HDRS 32
#define GC_MAX_CALLS 1000
#define GC_MAX_MSG (1 << 20)

struct gc_str {
	char *p;
	size_t len, cap;
};

struct gc_call {
	int32_t id;
	int status;
	bool have_grpc_status;
	char grpc_status[16];
	struct gc_str grpc_message;
	struct gc_str headers, trailers; /* JSON object members */
	struct gc_str data;		 /* response DATA (gRPC framed) */
	bool closed;
	uint32_t rst;
	bool sent_body;
};

static struct gc_call g_calls[GC_MAX_CALLS];
static int g_ncalls;
static int g_fd = -1;
static SSL *g_ssl; /* --tls */

/* io_send() / io_recv() : send(2) / recv(2) on g_fd, through TLS with --tls
 * (blocking socket: -1 + errno EIO for a TLS failure) */
static ssize_t io_send(const void *p, size_t n)
{
	int r;

	if (!g_ssl)
		return send(g_fd, p, n, MSG_NOSIGNAL);
	r = SSL_write(g_ssl, p, (int)GW_MIN(n, (size_t)INT32_MAX));
	if (r > 0)
		return r;
	errno = EIO;
	return -1;
}

static ssize_t io_recv(void *p, size_t n)
{
	int r;

	if (!g_ssl)
		return recv(g_fd, p, n, 0);
	r = SSL_read(g_ssl, p, (int)GW_MIN(n, (size_t)INT32_MAX));
	if (r > 0)
		return r;
	if (SSL_get_error(g_ssl, r) == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = EIO;
	return -1;
}

/* tls_start() : the TLS handshake on g_fd; NULL or what went wrong */
static const char *tls_start(SSL_CTX **ctxp, const char *cacert, const char *sni)
{
	static const unsigned char alpn[] = "\x02h2";
	const unsigned char *sel = NULL;
	unsigned int sl = 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	*ctxp = ctx;
	if (!ctx || SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1))
		return "TLS context";
	if (cacert) {
		if (SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1)
			return "--cacert does not load";
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	g_ssl = SSL_new(ctx);
	if (!g_ssl || SSL_set_fd(g_ssl, g_fd) != 1 ||
	    (sni && SSL_set_tlsext_host_name(g_ssl, sni) != 1) ||
	    (cacert && sni && SSL_set1_host(g_ssl, sni) != 1))
		return "TLS session";
	if (SSL_connect(g_ssl) != 1)
		return SSL_get_verify_result(g_ssl) != X509_V_OK ? "TLS certificate refused"
								 : "TLS handshake failed";
	SSL_get0_alpn_selected(g_ssl, &sel, &sl);
	if (sl != 2 || memcmp(sel, "h2", 2))
		return "ALPN h2 not selected";
	return NULL;
}

static int str_add(struct gc_str *s, const void *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 128;
		char *np;

		while (cap < s->len + n + 1)
			cap *= 2;
		np = realloc(s->p, cap);
		if (!np)
			return -ENOMEM;
		s->p = np;
		s->cap = cap;
	}
	if (n)
		memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
	return 0;
}

static int json_str(struct gc_str *s, const char *p, size_t n)
{
	int err = str_add(s, "\"", 1);

	for (size_t i = 0; !err && i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		char esc[8];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			err = str_add(s, esc, 2);
		} else if (ch < 0x20 || ch >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			err = str_add(s, esc, 6);
		} else {
			err = str_add(s, p + i, 1);
		}
	}
	return err ?: str_add(s, "\"", 1);
}

static struct gc_call *call_of(int32_t id)
{
	for (int i = 0; i < g_ncalls; i++)
		if (g_calls[i].id == id)
			return &g_calls[i];
	return NULL;
}

/* ---- protobuf ---- */

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* pb_next() : next field of [*p, end): its number, wire type and, for type 2,
 * its bytes. Returns false at the end or on malformed input. */
static bool pb_next(const uint8_t **p, const uint8_t *end, unsigned int *num, unsigned int *wt,
		    const uint8_t **val, size_t *vlen)
{
	uint64_t key, v;

	if (*p >= end || !pb_varint(p, end, &key))
		return false;
	*num = (unsigned int)(key >> 3);
	*wt = (unsigned int)(key & 7);
	switch (*wt) {
	case 0:
		return pb_varint(p, end, &v);
	case 1:
		if (end - *p < 8)
			return false;
		*p += 8;
		return true;
	case 5:
		if (end - *p < 4)
			return false;
		*p += 4;
		return true;
	case 2:
		if (!pb_varint(p, end, &v) || v > (uint64_t)(end - *p))
			return false;
		*val = *p;
		*vlen = (size_t)v;
		*p += v;
		return true;
	default:
		return false;
	}
}

/* decode_response() : EchoResponse -> JSON object into out */
static int decode_response(const uint8_t *p, size_t n, struct gc_str *out)
{
	const uint8_t *end = p + n, *v, *as = NULL;
	size_t vl, aslen = 0;
	unsigned int num, wt;
	struct gc_str hdrs = {0};
	const char *ctxnames[] = {NULL, "namespace", "ingress", "service_name", "pod"};
	int err = 0;
	bool first_h = true;

	while (pb_next(&p, end, &num, &wt, &v, &vl))
		if (num == 1 && wt == 2) {
			as = v;
			aslen = vl;
		}
	err = str_add(out, "{", 1);
	if (!as)
		goto done;
	p = as;
	end = as + aslen;
	err = str_add(&hdrs, "[", 1);
	while (!err && pb_next(&p, end, &num, &wt, &v, &vl)) {
		if (wt != 2)
			continue;
		if (num == 1 || num == 3) {
			err = str_add(out, num == 1 ? "\"fully_qualified_method\": " : "\"authority\": ",
				      num == 1 ? 26 : 13) ?:
			      json_str(out, (const char *)v, vl) ?: str_add(out, ", ", 2);
		} else if (num == 2) {
			const uint8_t *hp = v, *hend = v + vl, *hv;
			size_t hvl;
			unsigned int hn, hw;
			struct gc_str k = {0}, val = {0};

			while (pb_next(&hp, hend, &hn, &hw, &hv, &hvl))
				if (hw == 2 && (hn == 1 || hn == 2))
					str_add(hn == 1 ? &k : &val, hv, hvl);
			err = str_add(&hdrs, first_h ? "[" : ", [", first_h ? 1 : 3) ?:
			      json_str(&hdrs, k.p ? k.p : "", k.len) ?: str_add(&hdrs, ", ", 2) ?:
			      json_str(&hdrs, val.p ? val.p : "", val.len) ?: str_add(&hdrs, "]", 1);
			first_h = false;
			free(k.p);
			free(val.p);
		} else if (num == 4) {
			const uint8_t *cp = v, *cend = v + vl, *cv;
			size_t cvl;
			unsigned int cn, cw;

			while (!err && pb_next(&cp, cend, &cn, &cw, &cv, &cvl)) {
				if (cw != 2 || cn < 1 || cn > 4)
					continue;
				err = str_add(out, "\"", 1) ?:
				      str_add(out, ctxnames[cn], strlen(ctxnames[cn])) ?:
				      str_add(out, "\": ", 3) ?: json_str(out, (const char *)cv, cvl) ?:
				      str_add(out, ", ", 2);
			}
		}
	}
	err = err ?: str_add(&hdrs, "]", 1);
	err = err ?: str_add(out, "\"headers\": ", 11) ?: str_add(out, hdrs.p, hdrs.len);
done:
	free(hdrs.p);
	return err ?: str_add(out, "}", 1);
}

/* ---- nghttp2 ---- */

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct gc_call *c = call_of(f->hd.stream_id);
	struct gc_str *dst;

	(void)s;
	(void)flags;
	(void)user;
	if (!c)
		return 0;
	if (nlen == 7 && !memcmp(name, ":status", 7)) {
		c->status = atoi((const char *)value);
		return 0;
	}
	if (nlen == 11 && !memcmp(name, "grpc-status", 11)) {
		c->have_grpc_status = true;
		snprintf(c->grpc_status, sizeof(c->grpc_status), "%.*s", (int)GW_MIN(vlen, 15),
			 value);
	}
	if (nlen == 12 && !memcmp(name, "grpc-message", 12))
		str_add(&c->grpc_message, value, vlen);
	/* a HEADERS frame after the response head carries trailers; a
	 * trailers-only response puts grpc-status in the head itself */
	dst = f->headers.cat == NGHTTP2_HCAT_HEADERS ? &c->trailers : &c->headers;
	if (dst->len)
		str_add(dst, ", ", 2);
	json_str(dst, (const char *)name, nlen);
	str_add(dst, ": ", 2);
	return json_str(dst, (const char *)value, vlen) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *user)
{
	struct gc_call *c = call_of(id);

	(void)s;
	(void)flags;
	(void)user;
	if (!c || c->data.len + len > GC_MAX_MSG)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return str_add(&c->data, data, len) ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct gc_call *c = call_of(id);

	(void)s;
	(void)user;
	if (c) {
		c->closed = true;
		c->rst = code;
	}
	return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	/* one gRPC message: not compressed, length 0 (an empty EchoRequest) */
	static const uint8_t msg[5] = {0, 0, 0, 0, 0};

	(void)s;
	(void)id;
	(void)src;
	(void)user;
	if (len < sizeof(msg))
		return NGHTTP2_ERR_DEFERRED;
	memcpy(buf, msg, sizeof(msg));
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	return sizeof(msg);
}

static int io_flush(nghttp2_session *s)
{
	const uint8_t *p;
	ssize_t n;

	while ((n = nghttp2_session_mem_send(s, &p)) > 0) {
		while (n > 0) {
			ssize_t w = io_send(p, (size_t)n);

			if (w == -1 && errno == EINTR)
				continue;
			if (w == -1 && errno == EAGAIN) {
				struct pollfd pf = {.fd = g_fd, .events = POLLOUT};

				poll(&pf, 1, 1000);
				continue;
			}
			if (w == -1)
				return -errno;
			p += w;
			n -= w;
		}
	}
	return n < 0 ? -EPROTO : 0;
}

static void print_call(const struct gc_call *c, const char *error)
{
	struct gc_str o = {0};
	const uint8_t *d = (const uint8_t *)c->data.p;

	str_add(&o, "{\"status\": ", 11);
	{
		char num[32];

		snprintf(num, sizeof(num), "%d", c->status);
		str_add(&o, num, strlen(num));
	}
	str_add(&o, ", \"grpc_status\": ", 17);
	if (c->have_grpc_status)
		str_add(&o, c->grpc_status, strlen(c->grpc_status));
	else
		str_add(&o, "null", 4);
	str_add(&o, ", \"grpc_message\": ", 18);
	json_str(&o, c->grpc_message.p ? c->grpc_message.p : "", c->grpc_message.len);
	str_add(&o, ", \"headers\": {", 14);
	str_add(&o, c->headers.p ? c->headers.p : "", c->headers.len);
	str_add(&o, "}, \"trailers\": {", 16);
	str_add(&o, c->trailers.p ? c->trailers.p : "", c->trailers.len);
	str_add(&o, "}, \"response\": ", 15);
	if (c->data.len >= 5 && d[0] == 0) {
		size_t ml = (size_t)d[1] << 24 | (size_t)d[2] << 16 | (size_t)d[3] << 8 | d[4];

		if (ml <= c->data.len - 5)
			decode_response(d + 5, ml, &o);
		else
			str_add(&o, "null", 4);
	} else {
		str_add(&o, "null", 4);
	}
	if (error) {
		str_add(&o, ", \"error\": ", 11);
		json_str(&o, error, strlen(error));
	} else if (c->rst) {
		char e[64];

		snprintf(e, sizeof(e), "stream reset (error code %u)", c->rst);
		str_add(&o, ", \"error\": ", 11);
		json_str(&o, e, strlen(e));
	}
	str_add(&o, "}\n", 2);
	fwrite(o.p, 1, o.len, stdout);
	free(o.p);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"authority", required_argument, NULL, 'a'},
	    {"header", required_argument, NULL, 'H'},
	    {"timeout", required_argument, NULL, 't'},
	    {"count", required_argument, NULL, 'n'},
	    {"tls", no_argument, NULL, 'T'},
	    {"cacert", required_argument, NULL, 'C'},
	    {"sni", required_argument, NULL, 'S'},
	    {0},
	};
	const char *cacert = NULL, *sni = NULL;
	bool tls = false;
	SSL_CTX *tls_ctx = NULL;
	const char *authority = NULL, *hdrs[GC_MAX_HDRS], *error = NULL;
	int nh = 0, opt, count = 1, err = 1, i;
	double timeout = 10;
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_session *s = NULL;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64], *colon;
	uint64_t deadline;

	while ((opt = getopt_long(argc, argv, "a:H:t:n:TC:S:", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			authority = optarg;
			break;
		case 'H':
			if (nh == GC_MAX_HDRS || !strchr(optarg, ':'))
				goto usage;
			hdrs[nh++] = optarg;
			break;
		case 't':
			timeout = atof(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'T':
			tls = true;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'S':
			sni = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || count < 1 || count > GC_MAX_CALLS || timeout <= 0 ||
	    argv[optind + 1][0] != '/')
		goto usage;
	snprintf(host, sizeof(host), "%s", argv[optind]);
	colon = strrchr(host, ':');
	if (!colon)
		goto usage;
	*colon = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		goto usage;
	if (!authority)
		authority = argv[optind];

	deadline = now_ms() + (uint64_t)(timeout * 1000);
	g_ncalls = count;
	g_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g_fd == -1 || connect(g_fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		error = strerror(errno);
		goto report;
	}
	{
		int one = 1;

		setsockopt(g_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (tls) {
		char sn[256];

		if (!sni) {
			/* the authority's host, without a port */
			snprintf(sn, sizeof(sn), "%s", authority);
			if (sn[0] != '[' && strchr(sn, ':'))
				*strchr(sn, ':') = '\0';
			sni = sn;
		}
		error = tls_start(&tls_ctx, cacert, sni);
		if (error)
			goto report;
	}
	if (nghttp2_session_callbacks_new(&cb))
		goto out;
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	if (nghttp2_session_client_new(&s, cb, NULL))
		goto out;
	nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
	for (i = 0; i < count; i++) {
		nghttp2_nv nv[8 + GC_MAX_HDRS];
		char hbuf[GC_MAX_HDRS][512];
		size_t n = 0;
		nghttp2_data_provider dp = {.read_callback = body_read};

#define ADD(nm, vl)                                                                                \
	nv[n++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(vl), strlen(nm), strlen(vl),           \
			       NGHTTP2_NV_FLAG_NONE}
		ADD(":method", "POST");
		ADD(":scheme", tls ? "https" : "http");
		ADD(":authority", authority);
		ADD(":path", argv[optind + 1]);
		ADD("content-type", "application/grpc");
		ADD("te", "trailers");
		ADD("user-agent", "gwbpf-grpc-client/1");
		for (int k = 0; k < nh; k++) {
			char *c2;

			snprintf(hbuf[k], sizeof(hbuf[k]), "%s", hdrs[k]);
			c2 = strchr(hbuf[k], ':');
			*c2++ = '\0';
			while (*c2 == ' ')
				c2++;
			for (char *q = hbuf[k]; *q; q++)
				*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
			ADD(hbuf[k], c2);
		}
#undef ADD
		g_calls[i].id = nghttp2_submit_request(s, NULL, nv, n, &dp, NULL);
		if (g_calls[i].id < 0) {
			error = "cannot submit the request";
			goto report;
		}
	}
	if (io_flush(s)) {
		error = "write failed";
		goto report;
	}
	for (;;) {
		uint8_t buf[16384];
		struct pollfd pf = {.fd = g_fd, .events = POLLIN};
		uint64_t now = now_ms();
		bool all = true;
		ssize_t r;

		for (i = 0; i < count; i++)
			all = all && g_calls[i].closed;
		if (all)
			break;
		if (now >= deadline) {
			error = "timeout";
			break;
		}
		if (!(g_ssl && SSL_pending(g_ssl)) &&
		    poll(&pf, 1, (int)GW_MIN(deadline - now, 1000)) <= 0)
			continue;
		r = io_recv(buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			error = r == 0 ? "connection closed" : strerror(errno);
			break;
		}
		if (nghttp2_session_mem_recv(s, buf, (size_t)r) < 0) {
			error = "HTTP/2 protocol error";
			break;
		}
		if (io_flush(s)) {
			error = "write failed";
			break;
		}
	}
report:
	for (i = 0; i < count; i++)
		print_call(&g_calls[i], g_calls[i].closed ? NULL : error ? error : "not answered");
	err = 0;
out:
	nghttp2_session_del(s);
	nghttp2_session_callbacks_del(cb);
	SSL_free(g_ssl);
	SSL_CTX_free(tls_ctx);
	if (g_fd != -1)
		close(g_fd);
	for (i = 0; i < g_ncalls; i++) {
		free(g_calls[i].grpc_message.p);
		free(g_calls[i].headers.p);
		free(g_calls[i].trailers.p);
		free(g_calls[i].data.p);
	}
	return err;
usage:
	fprintf(stderr, "Usage: grpc_client [--authority HOST] [-H name:value]... [--timeout S] "
			"[--count N] [--tls [--cacert FILE] [--sni NAME]] "
			"ADDR:PORT /package.Service/Method\n");
	return 2;
}
