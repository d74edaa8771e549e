/* tools/echo/echo_grpc.c - gwbpf-echo's HTTP/2 modes: an h2c server (prior
 * knowledge) that stands in for echo-basic's h2c port and for its gRPC echo
 * server (GRPC_ECHO_SERVER=1).
 *
 *   gwbpf-echo --h2c  --listen ADDR:PORT... [--namespace NS] [--pod P] ...
 *   gwbpf-echo --grpc --listen ADDR:PORT... (the same server)
 *   --max-streams N: the SETTINGS_MAX_CONCURRENT_STREAMS it advertises (1000)
 *   --tls-cert FILE --tls-key FILE: h2 over TLS instead of h2c (a backend
 *     behind a BackendTLSPolicy): ALPN selects h2 when the client offers it
 *     (a client that does not gets no ALPN, and should give up); each
 *     handshake prints "tls handshake sni=NAME alpn=PROTO client_cert=yes|no
 *     resumed=yes|no".
 *   --tls-client-ca FILE: also require a client certificate issued by FILE
 *
 * Both flags start the same server, because one h2c port can tell a gRPC call
 * from a plain request by its content-type:
 * - a request with content-type application/grpc* is a gRPC call. The
 *   conformance GrpcEcho service (package
 *   gateway_api_conformance.echo_basic.grpcecho) answers Echo and EchoTwo with
 *   an EchoResponse carrying the request's assertions (method, metadata,
 *   :authority, and where the server runs). EchoThree and every other method
 *   get UNIMPLEMENTED (grpc-status 12), as in echo-basic.
 * - any other request gets the echo JSON that the HTTP/1.1 echo returns,
 *   with "proto": "HTTP/2.0".
 *
 * The protobuf messages are tiny and fixed, so they are written by hand
 * (varints and length-delimited fields) instead of pulling in a protobuf
 * library. nghttp2 does the HTTP/2 framing. One thread, one epoll loop.
 */
#define _GNU_SOURCE
#include <sys/epoll.h> /* before api.h: its epoll_data has u32/u64 members */

#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gwbpf/log.h"

#include "echo_grpc.h"

#define EG_MAX_LISTEN 16
#define EG_MAX_FIELDS 128
#define EG_MAX_FIELD_BYTES 65536
#define EG_GRPC_SERVICE "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"

struct eg_ctx {
	const char *namespace, *ingress, *service, *pod;
};

/* growable byte string; all-zero is empty */
struct eg_str {
	char *p;
	size_t len, cap;
};

struct eg_field {
	char *name, *value; /* NUL-terminated copies */
	size_t nlen, vlen;
};

struct eg_conn;

struct eg_stream {
	int32_t id;
	struct eg_field f[EG_MAX_FIELDS];
	size_t nf, fbytes;
	bool grpc;
	struct eg_str body; /* the answer's DATA */
	size_t off;
	struct eg_conn *c;
};

struct eg_conn {
	int fd;
	nghttp2_session *s;
	SSL *ssl;	  /* --tls-cert: h2 over TLS */
	bool handshaken;  /* TLS handshake done (always true without TLS) */
	bool tls_out;	  /* the last TLS step waits to write */
	/* TLS: frames gathered into one record (a record per frame is slow) */
	uint8_t obuf[16384];
	size_t ooff, olen;
	const uint8_t *tp; /* mem_send output not gathered yet */
	size_t tlen;
	bool want_out;
	struct eg_conn *next;
};

static struct eg_ctx g_ctx;
static uint32_t g_max_streams = 1000; /* SETTINGS_MAX_CONCURRENT_STREAMS we advertise */
static struct eg_conn *g_conns;
static int g_epfd = -1;
static volatile sig_atomic_t g_stop;
static SSL_CTX *g_tls; /* --tls-cert/--tls-key */

/* ---- strings and protobuf ---- */

static int str_add(struct eg_str *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *np;

		while (cap < s->len + n)
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
	return 0;
}

static int str_adds(struct eg_str *s, const char *z)
{
	return str_add(s, z, strlen(z));
}

static void str_free(struct eg_str *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

static int json_str(struct eg_str *s, const char *p, size_t n)
{
	int err = str_adds(s, "\"");

	for (size_t i = 0; !err && i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		char esc[8];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			err = str_add(s, esc, 2);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			err = str_adds(s, esc);
		} else {
			err = str_add(s, p + i, 1);
		}
	}
	return err ?: str_adds(s, "\"");
}

static int pb_varint(struct eg_str *s, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	return str_add(s, b, n);
}

/* pb_bytes() : field num, wire type 2 (strings and embedded messages) */
static int pb_bytes(struct eg_str *s, unsigned int num, const void *p, size_t n)
{
	return pb_varint(s, (uint64_t)num << 3 | 2) ?: pb_varint(s, n) ?: str_add(s, p, n);
}

static int pb_string(struct eg_str *s, unsigned int num, const char *z)
{
	/* proto3: an empty string is the default and is not written */
	return *z ? pb_bytes(s, num, z, strlen(z)) : 0;
}

/* ---- requests ---- */

static const struct eg_field *field(const struct eg_stream *st, const char *name)
{
	for (size_t i = 0; i < st->nf; i++)
		if (!strcmp(st->f[i].name, name))
			return &st->f[i];
	return NULL;
}

static const char *fval(const struct eg_stream *st, const char *name)
{
	const struct eg_field *f = field(st, name);

	return f ? f->value : "";
}

/* canonical() : Go's textproto form of a header name (x-foo-bar ->
 * X-Foo-Bar), which echo-basic's JSON shows */
static void canonical(const char *in, char *out, size_t cap)
{
	bool up = true;
	size_t i;

	for (i = 0; in[i] && i + 1 < cap; i++) {
		out[i] = up ? (char)toupper((unsigned char)in[i]) : in[i];
		up = in[i] == '-';
	}
	out[i] = '\0';
}

/* echo_json() : the echo-basic document for a plain HTTP/2 request */
static int echo_json(struct eg_stream *st)
{
	struct eg_str *b = &st->body;
	bool first = true;
	int err;

	err = str_adds(b, "{\n \"path\": ")
		  ?: json_str(b, fval(st, ":path"), strlen(fval(st, ":path")));
	err = err ?: str_adds(b, ",\n \"host\": ");
	err = err ?: json_str(b, fval(st, ":authority"), strlen(fval(st, ":authority")));
	err = err ?: str_adds(b, ",\n \"method\": ");
	err = err ?: json_str(b, fval(st, ":method"), strlen(fval(st, ":method")));
	err = err ?: str_adds(b, ",\n \"proto\": \"HTTP/2.0\",\n \"headers\": {");
	/* one key per name, its values in arrival order (names are unique once
	 * the first occurrence is the one printed) */
	for (size_t i = 0; !err && i < st->nf; i++) {
		char canon[256];
		bool seen = false;

		if (st->f[i].name[0] == ':' || !strcmp(st->f[i].name, "host"))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(st->f[j].name, st->f[i].name);
		if (seen)
			continue;
		canonical(st->f[i].name, canon, sizeof(canon));
		err = str_adds(b, first ? "\n  " : ",\n  ") ?: json_str(b, canon, strlen(canon)) ?:
		      str_adds(b, ": [");
		first = false;
		for (size_t j = i; !err && j < st->nf; j++) {
			if (strcmp(st->f[j].name, st->f[i].name))
				continue;
			err = str_adds(b, b->p[b->len - 1] == '[' ? "" : ", ")
				  ?: json_str(b, st->f[j].value, st->f[j].vlen);
		}
		err = err ?: str_adds(b, "]");
	}
	err = err ?: str_adds(b, first ? "},\n \"namespace\": " : "\n },\n \"namespace\": ");
	err = err ?: json_str(b, g_ctx.namespace, strlen(g_ctx.namespace));
	err = err ?: str_adds(b, ",\n \"ingress\": ");
	err = err ?: json_str(b, g_ctx.ingress, strlen(g_ctx.ingress));
	err = err ?: str_adds(b, ",\n \"service\": ");
	err = err ?: json_str(b, g_ctx.service, strlen(g_ctx.service));
	err = err ?: str_adds(b, ",\n \"pod\": ");
	err = err ?: json_str(b, g_ctx.pod, strlen(g_ctx.pod));
	return err ?: str_adds(b, ",\n \"sni\": \"\"\n}\n");
}

/* grpc_echo_response() : the gRPC message (5-byte prefix + EchoResponse)
 * for a call to Echo or EchoTwo:
 *   EchoResponse { Assertions assertions = 1; EchoRequest request = 2; }
 *   Assertions { string fully_qualified_method = 1; repeated Header headers = 2;
 *                string authority = 3; Context context = 4; }
 *   Header { string key = 1; string value = 2; }
 *   Context { string namespace = 1; string ingress = 2;
 *             string service_name = 3; string pod = 4; } */
static int grpc_echo_response(struct eg_stream *st)
{
	struct eg_str as = {0}, ctx = {0}, h = {0}, resp = {0};
	uint8_t prefix[5];
	int err;

	err = pb_string(&as, 1, fval(st, ":path"));
	for (size_t i = 0; !err && i < st->nf; i++) {
		if (st->f[i].name[0] == ':')
			continue;
		h.len = 0;
		err = pb_string(&h, 1, st->f[i].name) ?: pb_string(&h, 2, st->f[i].value) ?:
		      pb_bytes(&as, 2, h.p, h.len);
	}
	err = err ?: pb_string(&as, 3, fval(st, ":authority"));
	err = err ?: pb_string(&ctx, 1, g_ctx.namespace) ?: pb_string(&ctx, 2, g_ctx.ingress) ?:
		      pb_string(&ctx, 3, g_ctx.service) ?: pb_string(&ctx, 4, g_ctx.pod);
	err = err ?: pb_bytes(&as, 4, ctx.p, ctx.len);
	err = err ?: pb_bytes(&resp, 1, as.p, as.len) ?: pb_bytes(&resp, 2, "", 0);
	if (!err) {
		prefix[0] = 0; /* not compressed */
		prefix[1] = (uint8_t)(resp.len >> 24);
		prefix[2] = (uint8_t)(resp.len >> 16);
		prefix[3] = (uint8_t)(resp.len >> 8);
		prefix[4] = (uint8_t)resp.len;
		err = str_add(&st->body, prefix, 5) ?: str_add(&st->body, resp.p, resp.len);
	}
	str_free(&as);
	str_free(&ctx);
	str_free(&h);
	str_free(&resp);
	return err;
}

static void stream_free(struct eg_stream *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nf; i++) {
		free(st->f[i].name);
		free(st->f[i].value);
	}
	str_free(&st->body);
	free(st);
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
	}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct eg_stream *st = src->ptr;
	size_t n = GW_MIN(len, st->body.len - st->off);

	(void)user;
	if (n)
		memcpy(buf, st->body.p + st->off, n);
	st->off += n;
	if (st->off == st->body.len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->grpc) {
			nghttp2_nv tr[] = {NV("grpc-status", "0")};

			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			if (nghttp2_submit_trailer(s, id, tr, ARRAY_SIZE(tr)))
				return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
	}
	return (ssize_t)n;
}

/* respond() : the request is complete (END_STREAM): answer it */
static int respond(nghttp2_session *s, struct eg_stream *st)
{
	nghttp2_data_provider dp = {.source.ptr = st, .read_callback = body_read};
	const char *path = fval(st, ":path");
	char logpath[512];
	int err;

	/* the line the conformance runner looks for (echo-basic's wording) */
	snprintf(logpath, sizeof(logpath), "%s", path);
	printf("Echoing back request made to %s to client\n", logpath);
	if (st->grpc) {
		const char *m = path + 1;
		size_t sl = strlen(EG_GRPC_SERVICE);
		bool ours = path[0] == '/' && !strncmp(m, EG_GRPC_SERVICE, sl) && m[sl] == '/';

		if (ours && (!strcmp(m + sl + 1, "Echo") || !strcmp(m + sl + 1, "EchoTwo"))) {
			nghttp2_nv hd[] = {NV(":status", "200"),
					   NV("content-type", "application/grpc")};

			err = grpc_echo_response(st);
			if (err)
				return err;
			return nghttp2_submit_response(s, st->id, hd, ARRAY_SIZE(hd), &dp) ? -EIO
											   : 0;
		} else {
			/* trailers-only: what grpc-go sends for an unknown method */
			char msg[300];
			nghttp2_nv hd[] = {NV(":status", "200"),
					   NV("content-type", "application/grpc"),
					   NV("grpc-status", "12"), NV("grpc-message", "")};

			snprintf(msg, sizeof(msg), "method %.250s not implemented", path);
			for (char *p = msg; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == '%' ||
				    (unsigned char)*p > 0x7e)
					*p = '_';
			hd[3].value = (uint8_t *)msg;
			hd[3].valuelen = strlen(msg);
			return nghttp2_submit_response(s, st->id, hd, ARRAY_SIZE(hd), NULL) ? -EIO
											    : 0;
		}
	}
	{
		char clen[24];
		nghttp2_nv hd[] = {NV(":status", "200"), NV("content-type", "application/json"),
				   NV("content-length", "")};
		bool head = !strcmp(fval(st, ":method"), "HEAD");

		err = echo_json(st);
		if (err)
			return err;
		snprintf(clen, sizeof(clen), "%zu", st->body.len);
		hd[2].value = (uint8_t *)clen;
		hd[2].valuelen = strlen(clen);
		return nghttp2_submit_response(s, st->id, hd, ARRAY_SIZE(hd), head ? NULL : &dp)
			   ? -EIO
			   : 0;
	}
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct eg_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	st->id = f->hd.stream_id;
	st->c = user;
	nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct eg_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	struct eg_field *fl;

	(void)flags;
	(void)user;
	if (!st || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* request trailers: ignored */
	st->fbytes += nlen + vlen + 32;
	if (st->nf == EG_MAX_FIELDS || st->fbytes > EG_MAX_FIELD_BYTES)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
	fl = &st->f[st->nf];
	fl->name = strndup((const char *)name, nlen);
	fl->value = strndup((const char *)value, vlen);
	if (!fl->name || !fl->value) {
		free(fl->name);
		free(fl->value);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	fl->nlen = nlen;
	fl->vlen = vlen;
	st->nf++;
	if (nlen == 12 && !memcmp(name, "content-type", 12) && vlen >= 16 &&
	    !memcmp(value, "application/grpc", 16))
		st->grpc = true;
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct eg_stream *st;

	(void)user;
	if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!st)
		return 0;
	if (respond(s, st))
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	(void)code;
	(void)user;
	stream_free(nghttp2_session_get_stream_user_data(s, id));
	nghttp2_session_set_stream_user_data(s, id, NULL);
	return 0;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
	struct eg_conn *c = user;
	ssize_t w;

	(void)s;
	(void)flags;
	/* TLS connections go through tls_flush() (mem_send) instead */
	w = send(c->fd, data, len, MSG_NOSIGNAL);
	if (w == -1)
		return errno == EAGAIN || errno == EINTR ? NGHTTP2_ERR_WOULDBLOCK
							 : NGHTTP2_ERR_CALLBACK_FAILURE;
	return w;
}

/* ---- connections ---- */

static void conn_free(struct eg_conn *c)
{
	struct eg_conn **pp;

	if (!c)
		return;
	for (pp = &g_conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	nghttp2_session_del(c->s); /* closes streams: on_stream_close frees them */
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* tls_flush() : writes what nghttp2 has through TLS, many frames per
 * record; 0, or -EPIPE when the connection broke */
static int tls_flush(struct eg_conn *c)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		int r;

		if (c->ooff == c->olen) {
			c->ooff = c->olen = 0;
			while (c->olen < sizeof(c->obuf)) {
				size_t k;

				if (!c->tlen) {
					ssize_t n = nghttp2_session_mem_send(c->s, &c->tp);

					if (n < 0)
						return -EPIPE;
					if (!n)
						break;
					c->tlen = (size_t)n;
				}
				k = GW_MIN(c->tlen, sizeof(c->obuf) - c->olen);
				memcpy(c->obuf + c->olen, c->tp, k);
				c->olen += k;
				c->tp += k;
				c->tlen -= k;
			}
			if (!c->olen)
				return 0;
		}
		ERR_clear_error();
		r = SSL_write(c->ssl, c->obuf + c->ooff, (int)(c->olen - c->ooff));
		if (r <= 0) {
			switch (SSL_get_error(c->ssl, r)) {
			case SSL_ERROR_WANT_WRITE:
				c->tls_out = true;
				return 0;
			case SSL_ERROR_WANT_READ:
				return 0;
			default:
				return -EPIPE;
			}
		}
		c->ooff += (size_t)r;
	}
	c->tls_out = true; /* more next time */
	return 0;
}

/* conn_sync() : sends what nghttp2 has and watches the socket for what it
 * still wants; -EPIPE when the connection is finished */
static int conn_sync(struct eg_conn *c)
{
	struct epoll_event ev = {.data.ptr = c};
	bool want;

	c->tls_out = false;
	if (c->handshaken && (c->ssl ? tls_flush(c) : nghttp2_session_send(c->s)))
		return -EPIPE;
	if (!nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s) &&
	    c->ooff == c->olen && !c->tlen)
		return -EPIPE;
	want = c->handshaken ? nghttp2_session_want_write(c->s) || c->tls_out : c->tls_out;
	if (want != c->want_out) {
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		if (epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			return -EPIPE;
		c->want_out = want;
	}
	return 0;
}

/* tls_step() : moves the TLS handshake on; -EPIPE when it failed */
static int tls_step(struct eg_conn *c)
{
	const unsigned char *alpn = NULL;
	unsigned int alen = 0;
	const char *sni;
	X509 *peer;
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r != 1) {
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
			c->tls_out = true;
			return 0;
		case SSL_ERROR_WANT_READ:
			return 0;
		default:
			printf("tls handshake failed\n");
			return -EPIPE;
		}
	}
	c->handshaken = true;
	sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
	SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
	peer = SSL_get1_peer_certificate(c->ssl);
	printf("tls handshake sni=%s alpn=%.*s client_cert=%s resumed=%s\n", sni ? sni : "-",
	       (int)alen, alen ? (const char *)alpn : "", peer ? "yes" : "no",
	       SSL_session_reused(c->ssl) ? "yes" : "no");
	X509_free(peer);
	return 0;
}

/* tls_read() : decrypted bytes into buf: >0, -EAGAIN, or 0 at the end */
static ssize_t tls_read(struct eg_conn *c, uint8_t *buf, size_t len)
{
	int r;

	ERR_clear_error();
	r = SSL_read(c->ssl, buf, (int)len);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		c->tls_out = true;
		return -EAGAIN;
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	default:
		return 0;
	}
}

static void conn_io(struct eg_conn *c, uint32_t events)
{
	uint8_t buf[16384];

	if (c->ssl && !c->handshaken) {
		c->tls_out = false;
		if (tls_step(c)) {
			conn_free(c);
			return;
		}
		if (!c->handshaken) {
			if (conn_sync(c))
				conn_free(c);
			return;
		}
	}
	if (c->ssl) {
		/* until OpenSSL would block: what it decrypted raises no event */
		for (int rounds = 0; rounds < 256; rounds++) {
			ssize_t r = tls_read(c, buf, sizeof(buf));

			if (r == -EAGAIN)
				break;
			if (r <= 0 || nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0) {
				conn_free(c);
				return;
			}
		}
	} else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (int rounds = 0; rounds < 16; rounds++) {
			ssize_t r = recv(c->fd, buf, sizeof(buf), 0);

			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1 && errno == EAGAIN)
				break;
			if (r <= 0 || nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0) {
				conn_free(c);
				return;
			}
		}
	}
	if (conn_sync(c))
		conn_free(c);
}

static void accept_all(int lfd)
{
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, g_max_streams}};

	if (nghttp2_session_callbacks_new(&cb))
		return;
	nghttp2_session_callbacks_set_send_callback(cb, on_send);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	for (int n = 0; n < 64; n++) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct eg_conn *c;
		int one = 1;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1)
			break;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c || nghttp2_session_server_new(&c->s, cb, c)) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->handshaken = !g_tls;
		if (g_tls && (!(c->ssl = SSL_new(g_tls)) || SSL_set_fd(c->ssl, fd) != 1)) {
			SSL_free(c->ssl);
			nghttp2_session_del(c->s);
			free(c);
			close(fd);
			continue;
		}
		if (c->ssl)
			SSL_set_accept_state(c->ssl);
		ev.data.ptr = c;
		if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) == -1 ||
		    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv))) {
			nghttp2_session_del(c->s);
			free(c);
			close(fd);
			continue;
		}
		c->next = g_conns;
		g_conns = c;
		if (conn_sync(c))
			conn_free(c);
	}
	nghttp2_session_callbacks_del(cb);
}

static int listen_on(const char *spec)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;
	long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 1024) == -1) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (unsigned int i = 0; i < inlen; i += 1u + in[i])
		if (in[i] == 2 && i + 3 <= inlen && !memcmp(in + i + 1, "h2", 2)) {
			*out = in + i + 1;
			*outlen = 2;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

/* tls_setup() : the server context of --tls-cert/--tls-key (and
 * --tls-client-ca); 0 or -EINVAL (said on stderr) */
static int tls_setup(const char *cert, const char *key, const char *client_ca)
{
	g_tls = SSL_CTX_new(TLS_server_method());
	if (!g_tls)
		goto fail;
	SSL_CTX_set_min_proto_version(g_tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(g_tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(g_tls, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g_tls, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(g_tls) != 1)
		goto fail;
	if (client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);

		if (!names || SSL_CTX_load_verify_locations(g_tls, client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(g_tls, names);
		SSL_CTX_set_verify(g_tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	SSL_CTX_set_alpn_select_cb(g_tls, alpn_select, NULL);
	return 0;
fail:
	fprintf(stderr, "gwbpf-echo: TLS certificate %s / key %s%s%s do not load\n", cert, key,
		client_ca ? " / client CA " : "", client_ca ? client_ca : "");
	SSL_CTX_free(g_tls);
	g_tls = NULL;
	return -EINVAL;
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

int gw_echo_h2_wants(int argc, char **argv)
{
	return argc > 1 && (!strcmp(argv[1], "--h2c") || !strcmp(argv[1], "--grpc"));
}

int gw_echo_h2_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"h2c", no_argument, NULL, 'H'},
	    {"grpc", no_argument, NULL, 'G'},
	    {"listen", required_argument, NULL, 'l'},
	    {"namespace", required_argument, NULL, 'n'},
	    {"pod", required_argument, NULL, 'p'},
	    {"service", required_argument, NULL, 's'},
	    {"ingress", required_argument, NULL, 'i'},
	    {"max-streams", required_argument, NULL, 'm'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"tls-client-ca", required_argument, NULL, 'C'},
	    {0},
	};
	const char *cert = NULL, *key = NULL, *client_ca = NULL;
	int lfds[EG_MAX_LISTEN], nl = 0, opt, err = 1, i;
	struct sigaction sa = {0};

	g_ctx.namespace = getenv("NAMESPACE") ?: "";
	g_ctx.ingress = getenv("INGRESS_NAME") ?: "";
	g_ctx.service = getenv("SERVICE_NAME") ?: "";
	g_ctx.pod = getenv("POD_NAME") ?: "";
	while ((opt = getopt_long(argc, argv, "HGl:n:p:s:i:m:c:k:C:", opts, NULL)) != -1) {
		switch (opt) {
		case 'H':
		case 'G':
			break;
		case 'l':
			if (nl == EG_MAX_LISTEN) {
				fprintf(stderr, "gwbpf-echo: at most %d --listen\n", EG_MAX_LISTEN);
				return 2;
			}
			lfds[nl] = listen_on(optarg);
			if (lfds[nl] < 0) {
				fprintf(stderr, "gwbpf-echo: listen %s: %s\n", optarg,
					strerror(-lfds[nl]));
				goto out;
			}
			nl++;
			break;
		case 'n':
			g_ctx.namespace = optarg;
			break;
		case 'p':
			g_ctx.pod = optarg;
			break;
		case 's':
			g_ctx.service = optarg;
			break;
		case 'i':
			g_ctx.ingress = optarg;
			break;
		case 'm':
			g_max_streams = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'C':
			client_ca = optarg;
			break;
		default:
			fprintf(stderr,
				"Usage: gwbpf-echo --h2c|--grpc --listen ADDR:PORT... "
				"[--namespace NS] [--pod NAME] [--service NAME] [--ingress NAME] "
				"[--max-streams N] [--tls-cert FILE --tls-key FILE "
				"[--tls-client-ca FILE]]\n");
			err = 2;
			goto out;
		}
	}
	if (nl == 0 || optind != argc) {
		fprintf(stderr, "gwbpf-echo: --h2c/--grpc needs --listen ADDR:PORT\n");
		err = 2;
		goto out;
	}
	if (!cert != !key || (client_ca && !cert)) {
		fprintf(stderr, "gwbpf-echo: --tls-cert and --tls-key go together "
				"(--tls-client-ca needs them)\n");
		err = 2;
		goto out;
	}
	if (cert && tls_setup(cert, key, client_ca)) {
		err = 2;
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g_epfd == -1)
		goto out;
	for (i = 0; i < nl; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lfds[i]};

		if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, lfds[i], &ev) == -1)
			goto out;
	}
	pr_info("gwbpf-echo: %s/gRPC serving pod=%s namespace=%s on %d address(es)\n",
		g_tls ? "h2 over TLS" : "h2c", g_ctx.pod, g_ctx.namespace, nl);
	while (!g_stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(g_epfd, evs, ARRAY_SIZE(evs), 1000);

		if (n == -1 && errno != EINTR)
			goto out;
		for (int k = 0; k < n; k++) {
			void *ptr = evs[k].data.ptr;

			if (ptr >= (void *)lfds && ptr < (void *)(lfds + nl))
				accept_all(*(int *)ptr);
			else
				conn_io(ptr, evs[k].events);
		}
	}
	err = 0;
out:
	while (g_conns)
		conn_free(g_conns);
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	if (g_epfd != -1)
		close(g_epfd);
	SSL_CTX_free(g_tls);
	g_tls = NULL;
	return err;
}
