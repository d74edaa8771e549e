/* tools/echo/echo_l4.c - L4 backends for TCPRoute, TLSRoute and UDPRoute
 * tests, answering as the upstream conformance echo-basic does in its
 * TCP_ECHO_SERVER and UDP_ECHO_SERVER modes (v1.6):
 *
 *   --tcp ADDR:PORT    on connect "Gateway API Test TCP Server\n", then per
 *                      line: "TEST" -> one JSON line with the pod context
 *                      ({"namespace","ingress","service","pod","tcpport",
 *                      "isTLS","tls":{...}}), "IS_TLS" -> "true"/"false",
 *                      "PING" -> "PONG"; other lines are ignored.
 *   --tls ADDR:PORT    the same over TLS with --cert FILE --key FILE (the
 *                      JSON's tls.serverName is the SNI the client sent).
 *   --raw ADDR:PORT    a byte echo: everything read is written back; a FIN
 *                      from the client is answered with a FIN once all was
 *                      echoed (half-close tests).
 *   --udp ADDR:PORT    each datagram answered with
 *                      {"request":"<payload>","namespace",...,"pod"}.
 *   --dns ADDR:PORT    a stand-in for the CoreDNS backend of the UDPRoute test:
 *                      every well-formed query is answered (same ID, QR,
 *                      NOERROR) with one A record 127.0.0.1 for its question
 *                      (CoreDNS's whoami answers with the client address).
 *   --https ADDR:PORT  echo-basic's HTTP echo over TLS (--cert/--key): one
 *                      request per connection answered 200 with the JSON of
 *                      the HTTP mode (path, host, method, proto, headers,
 *                      namespace, ingress, service, pod) plus "tls".
 *
 * Several modes may be given at once; --pod/--namespace/--service as in the
 * HTTP mode. One thread per connection: a test backend, not a server.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "echo_l4.h"

#define L4_MAX 16

enum l4_mode { L4_TCP, L4_TLS, L4_RAW, L4_UDP, L4_HTTPS, L4_DNS };

static struct {
	const char *ns, *pod, *service, *ingress;
	SSL_CTX *ctx;
} g;

struct l4_conn {
	int fd;
	enum l4_mode mode;
	char port[8];
};

int gw_echo_l4_wants(int argc, char **argv)
{
	return argc > 1 && (!strcmp(argv[1], "--tcp") || !strcmp(argv[1], "--tls") ||
			    !strcmp(argv[1], "--raw") || !strcmp(argv[1], "--udp") ||
			    !strcmp(argv[1], "--https") || !strcmp(argv[1], "--dns"));
}

static int l4_listen(const char *spec, int type, char *port_out)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	snprintf(port_out, 8, "%s", colon + 1);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 1024) == -1)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* JSON string escape of s[0..n) into out (bounded) */
static void json_esc(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = 0;
}

static int c_write(struct l4_conn *c, SSL *ssl, const char *p, size_t n)
{
	while (n) {
		ssize_t w = ssl ? SSL_write(ssl, p, (int)n) : send(c->fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve_raw(struct l4_conn *c)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (c_write(c, NULL, buf, (size_t)n))
			return;
	}
	shutdown(c->fd, SHUT_WR);
	/* wait for the client to close, so our FIN is not followed by a RST */
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	while (poll(&pfd, 1, 5000) == 1 && read(c->fd, buf, sizeof(buf)) > 0)
		;
}

static void serve_lines(struct l4_conn *c, SSL *ssl)
{
	char line[1024], payload[2048], tlsj[768] = "";
	size_t used = 0;

	if (ssl) {
		const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
		char esc[600];

		json_esc(esc, sizeof(esc), sni ? sni : "", sni ? strlen(sni) : 0);
		snprintf(
		    tlsj, sizeof(tlsj),
		    ",\"tls\":{\"version\":\"%s\",\"serverName\":\"%s\",\"cipherSuite\":\"%s\"}",
		    SSL_get_version(ssl), esc, SSL_get_cipher_name(ssl));
	}
	snprintf(payload, sizeof(payload),
		 "{\"namespace\":\"%s\",\"ingress\":\"%s\",\"service\":\"%s\",\"pod\":\"%s\","
		 "\"tcpport\":\"%s\",\"isTLS\":%s%s}\n",
		 g.ns, g.ingress, g.service, g.pod, c->port, ssl ? "true" : "false", tlsj);
	if (c_write(c, ssl, "Gateway API Test TCP Server\n", 28))
		return;
	for (;;) {
		ssize_t n = ssl ? SSL_read(ssl, line + used, (int)(sizeof(line) - 1 - used))
				: read(c->fd, line + used, sizeof(line) - 1 - used);
		char *nl;

		if (n <= 0)
			return;
		used += (size_t)n;
		line[used] = 0;
		while ((nl = memchr(line, '\n', used))) {
			size_t len = (size_t)(nl - line);
			int r = 0;

			if (len && line[len - 1] == '\r')
				line[len - 1] = 0;
			*nl = 0;
			if (!strcmp(line, "TEST"))
				r = c_write(c, ssl, payload, strlen(payload));
			else if (!strcmp(line, "IS_TLS"))
				r = c_write(c, ssl, ssl ? "true\n" : "false\n", ssl ? 5 : 6);
			else if (!strcmp(line, "PING"))
				r = c_write(c, ssl, "PONG\n", 5);
			if (r)
				return;
			used -= len + 1;
			memmove(line, nl + 1, used);
		}
		if (used == sizeof(line) - 1)
			used = 0; /* a line longer than we care about: dropped */
	}
}

/* serve_https() : one HTTP/1.1 request head, answered with the echo JSON */
static void serve_https(struct l4_conn *c, SSL *ssl)
{
	char head[16384], *out = NULL, *p, *eol, esc[2048], esc2[2048];
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t used = 0, olen = 0;
	FILE *f;
	int n;

	while (used < sizeof(head) - 1) {
		n = SSL_read(ssl, head + used, (int)(sizeof(head) - 1 - used));
		if (n <= 0)
			return;
		used += (size_t)n;
		head[used] = 0;
		if (strstr(head, "\r\n\r\n"))
			break;
	}
	if (!strstr(head, "\r\n\r\n"))
		return;
	f = open_memstream(&out, &olen);
	if (!f)
		return;
	/* request line: METHOD SP TARGET SP VERSION */
	eol = strstr(head, "\r\n");
	*eol = 0;
	{
		char *m = head, *t = strchr(m, ' '), *v = t ? strchr(t + 1, ' ') : NULL;

		if (!t || !v) {
			fclose(f);
			free(out);
			return;
		}
		*t++ = 0;
		*v++ = 0;
		json_esc(esc, sizeof(esc), t, strlen(t));
		fprintf(f, "{\n \"path\": \"%s\",\n \"method\": \"%s\",\n \"proto\": \"%s\",\n",
			esc, m, v);
	}
	fprintf(f, " \"headers\": {");
	const char *host = "";
	int first = 1;

	for (p = eol + 2; (eol = strstr(p, "\r\n")) && eol != p; p = eol + 2) {
		char *colon = memchr(p, ':', (size_t)(eol - p)), *v;

		*eol = 0;
		if (!colon)
			continue;
		*colon = 0;
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!strcasecmp(p, "host")) {
			host = v;
			continue;
		}
		json_esc(esc, sizeof(esc), p, strlen(p));
		json_esc(esc2, sizeof(esc2), v, strlen(v));
		fprintf(f, "%s\n  \"%s\": [\"%s\"]", first ? "" : ",", esc, esc2);
		first = 0;
	}
	json_esc(esc, sizeof(esc), host, strlen(host));
	json_esc(esc2, sizeof(esc2), sni ? sni : "", sni ? strlen(sni) : 0);
	fprintf(f,
		"%s},\n \"host\": \"%s\",\n \"namespace\": \"%s\",\n \"ingress\": \"%s\",\n"
		" \"service\": \"%s\",\n \"pod\": \"%s\",\n \"tls\": {\"version\": \"%s\", "
		"\"serverName\": \"%s\", \"cipherSuite\": \"%s\"}\n}\n",
		first ? "" : "\n ", esc, g.ns, g.ingress, g.service, g.pod, SSL_get_version(ssl),
		esc2, SSL_get_cipher_name(ssl));
	fclose(f);
	{
		char hdr[256];
		int hl = snprintf(hdr, sizeof(hdr),
				  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				  olen);

		if (!c_write(c, ssl, hdr, (size_t)hl))
			c_write(c, ssl, out, olen);
	}
	free(out);
}

static void *conn_main(void *arg)
{
	struct l4_conn *c = arg;
	SSL *ssl = NULL;

	if (c->mode == L4_RAW) {
		serve_raw(c);
	} else if (c->mode == L4_TLS || c->mode == L4_HTTPS) {
		ssl = SSL_new(g.ctx);
		if (ssl && SSL_set_fd(ssl, c->fd) == 1 && SSL_accept(ssl) == 1) {
			if (c->mode == L4_TLS)
				serve_lines(c, ssl);
			else
				serve_https(c, ssl);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
	} else {
		serve_lines(c, NULL);
	}
	close(c->fd);
	free(c);
	return NULL;
}

struct l4_listener {
	int fd;
	enum l4_mode mode;
	char port[8];
};

static void *udp_main(void *arg)
{
	struct l4_listener *l = arg;
	char buf[2048], esc[4096], out[8192];

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(l->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		int m;

		if (n < 0)
			continue;
		json_esc(esc, sizeof(esc), buf, (size_t)n);
		m = snprintf(out, sizeof(out),
			     "{\"request\":\"%s\",\"namespace\":\"%s\",\"ingress\":\"%s\","
			     "\"service\":\"%s\",\"pod\":\"%s\"}",
			     esc, g.ns, g.ingress, g.service, g.pod);
		sendto(l->fd, out, (size_t)m, 0, (struct sockaddr *)&peer, plen);
	}
	return NULL;
}

/* dns_answer() : the answer to the DNS query q[0..n) into out (>= n + 16
 * bytes); its length, or 0 when q is not a one-question query */
static size_t dns_answer(const unsigned char *q, size_t n, unsigned char *out)
{
	static const unsigned char rr[] = {
	    0xc0, 0x0c,		    /* name: the question's */
	    0x00, 0x01, 0x00, 0x01, /* A, IN */
	    0x00, 0x00, 0x00, 0x00, /* TTL 0 */
	    0x00, 0x04, 127,  0,    0, 1,
	};
	size_t i = 12;

	if (n < 12 + 5 || (q[2] & 0x80) || q[4] || q[5] != 1)
		return 0;
	while (i < n && q[i]) { /* question name: labels up to the root */
		if (q[i] & 0xc0)
			return 0;
		i += 1 + q[i];
	}
	if (i + 5 > n)
		return 0;
	i += 5; /* root label, type, class */
	memcpy(out, q, i);
	out[2] = 0x80 | (q[2] & 0x01); /* QR, RD copied */
	out[3] = 0x80;		       /* RA, NOERROR */
	out[6] = 0;
	out[7] = 1; /* ANCOUNT */
	memset(out + 8, 0, 4);
	memcpy(out + i, rr, sizeof(rr));
	return i + sizeof(rr);
}

static void *dns_main(void *arg)
{
	struct l4_listener *l = arg;
	unsigned char q[512], out[512 + sizeof(q)];

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(l->fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &plen);
		size_t m;

		if (n <= 0)
			continue;
		m = dns_answer(q, (size_t)n, out);
		if (m)
			sendto(l->fd, out, m, 0, (struct sockaddr *)&peer, plen);
	}
	return NULL;
}

static void *accept_main(void *arg)
{
	struct l4_listener *l = arg;

	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		struct l4_conn *c;
		pthread_t t;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(10000);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->mode = l->mode;
		memcpy(c->port, l->port, sizeof(c->port));
		if (pthread_create(&t, NULL, conn_main, c)) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static void l4_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: gwbpf-echo {--tcp|--tls|--raw|--udp|--https|--dns} ADDR:PORT...\n"
	    "                  [--cert FILE --key FILE]\n"
	    "                  [--pod NAME] [--namespace NS] [--service NAME] [--ingress NAME]\n");
}

int gw_echo_l4_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tcp", required_argument, NULL, 'T'},
	    {"tls", required_argument, NULL, 'S'},
	    {"raw", required_argument, NULL, 'R'},
	    {"udp", required_argument, NULL, 'U'},
	    {"https", required_argument, NULL, 'H'},
	    {"dns", required_argument, NULL, 'D'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"pod", required_argument, NULL, 'p'},
	    {"namespace", required_argument, NULL, 'n'},
	    {"service", required_argument, NULL, 's'},
	    {"ingress", required_argument, NULL, 'i'},
	    {0},
	};
	struct l4_listener ls[L4_MAX];
	const char *specs[L4_MAX], *cert = NULL, *key = NULL;
	enum l4_mode modes[L4_MAX];
	int n = 0, opt, need_tls = 0;

	g.ns = getenv("NAMESPACE") ?: "";
	g.pod = getenv("POD_NAME") ?: "";
	g.service = getenv("SERVICE_NAME") ?: "";
	g.ingress = getenv("INGRESS_NAME") ?: "";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'T':
		case 'S':
		case 'R':
		case 'U':
		case 'H':
		case 'D':
			if (n == L4_MAX) {
				l4_usage(stderr);
				return 2;
			}
			specs[n] = optarg;
			modes[n++] = opt == 'T'	  ? L4_TCP
				     : opt == 'S' ? L4_TLS
				     : opt == 'R' ? L4_RAW
				     : opt == 'H' ? L4_HTTPS
				     : opt == 'D' ? L4_DNS
						  : L4_UDP;
			need_tls |= opt == 'S' || opt == 'H';
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'p':
			g.pod = optarg;
			break;
		case 'n':
			g.ns = optarg;
			break;
		case 's':
			g.service = optarg;
			break;
		case 'i':
			g.ingress = optarg;
			break;
		default:
			l4_usage(stderr);
			return 2;
		}
	}
	if (!n || optind != argc || (need_tls && (!cert || !key))) {
		l4_usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (need_tls) {
		g.ctx = SSL_CTX_new(TLS_server_method());
		if (!g.ctx || SSL_CTX_use_certificate_chain_file(g.ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(g.ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(g.ctx) != 1) {
			fprintf(stderr, "gwbpf-echo: cannot load %s / %s\n", cert, key);
			ERR_print_errors_fp(stderr);
			return 1;
		}
		SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
	}
	for (int i = 0; i < n; i++) {
		ls[i].mode = modes[i];
		ls[i].fd = l4_listen(
		    specs[i], modes[i] == L4_UDP || modes[i] == L4_DNS ? SOCK_DGRAM : SOCK_STREAM,
		    ls[i].port);
		if (ls[i].fd < 0) {
			fprintf(stderr, "gwbpf-echo: listen %s: %s\n", specs[i],
				strerror(-ls[i].fd));
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL,
				   ls[i].mode == L4_UDP	  ? udp_main
				   : ls[i].mode == L4_DNS ? dns_main
							  : accept_main,
				   &ls[i])) {
			fprintf(stderr, "gwbpf-echo: pthread_create failed\n");
			return 1;
		}
		pthread_detach(t);
	}
	fprintf(stderr, "gwbpf-echo: L4 modes serving pod=%s namespace=%s on %d socket(s)\n", g.pod,
		g.ns, n);
	for (;;)
		pause();
	return 0;
}
