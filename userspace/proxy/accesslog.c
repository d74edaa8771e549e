/* proxy/accesslog.c - JSON-lines access log, one write(2) per request.
 *
 * Formatting happens in a per-thread buffer, so workers never share or lock
 * anything to log; each line is bounded (every field has an output budget)
 * so it always fits that buffer and one write(2) always carries a whole line.
 */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "gwbpf/accesslog.h"
#include "gwbpf/log.h"

struct gw_access_log {
	int fd;        /* -1 = off */
	bool owned;    /* we opened fd: close it */
	uint64_t dropped; /* atomic */
};

/* output budgets per field, in escaped bytes; their sum plus the fixed
 * keys stays well under GW_ACCESS_LINE_MAX */
#define BUDGET_PATH  4096
#define BUDGET_SHORT 512
#define BUDGET_TINY  64

static __thread char tls_line[GW_ACCESS_LINE_MAX];

struct wr {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct wr *w, const char *s, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void puts_(struct wr *w, const char *s)
{
	put(w, s, strlen(s));
}

/* length of the valid UTF-8 sequence at s (1..4), or 0 when invalid */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are invalid */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* a JSON string value (quotes included) of s[0..n), at most budget bytes
 * between the quotes; a cut value ends in "..." */
static void put_str(struct wr *w, const char *s, size_t n, size_t budget)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t used = 0, i = 0;

	put(w, "\"", 1);
	while (i < n) {
		char tmp[8];
		const char *out = tmp;
		size_t olen, step = 1;
		unsigned char c = u[i];

		switch (c) {
		case '"': out = "\\\""; olen = 2; break;
		case '\\': out = "\\\\"; olen = 2; break;
		case '\n': out = "\\n"; olen = 2; break;
		case '\r': out = "\\r"; olen = 2; break;
		case '\t': out = "\\t"; olen = 2; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				olen = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			} else if (c < 0x80) {
				tmp[0] = (char)c;
				olen = 1;
			} else {
				step = utf8_len(u + i, n - i);
				if (step) {
					out = s + i;
					olen = step;
				} else {
					out = "\\ufffd";
					olen = 6;
					step = 1;
				}
			}
		}
		if (used + olen > budget - 3) {
			put(w, "...", 3);
			break;
		}
		put(w, out, olen);
		used += olen;
		i += step;
	}
	put(w, "\"", 1);
}

static void put_key_str(struct wr *w, const char *key, const char *s, size_t n, bool present,
			size_t budget)
{
	put(w, ",\"", 2);
	puts_(w, key);
	put(w, "\":", 2);
	if (present)
		put_str(w, s, n, budget);
	else
		put(w, "null", 4);
}

static void put_key_cstr(struct wr *w, const char *key, const char *s, size_t budget)
{
	put_key_str(w, key, s, s ? strlen(s) : 0, s != NULL, budget);
}

static void put_fmt(struct wr *w, const char *fmt, ...) GW_PRINTF(2, 3);
static void put_fmt(struct wr *w, const char *fmt, ...)
{
	char b[96];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b)) {
		w->overflow = true;
		return;
	}
	put(w, b, (size_t)n);
}

int gw_access_log_format(const struct gw_access_entry *e, char *buf, size_t cap)
{
	struct wr w = { buf, cap, 0, false };
	time_t secs = (time_t)(e->time_ms >= 0 ? e->time_ms / 1000 : (e->time_ms - 999) / 1000);
	int ms = (int)(e->time_ms - (int64_t)secs * 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	put_fmt(&w, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	put_key_cstr(&w, "client", e->client, BUDGET_SHORT);
	put_key_cstr(&w, "listener", e->listener, BUDGET_SHORT);
	put_key_str(&w, "host", e->host.p, e->host.len, e->host.len > 0, BUDGET_SHORT);
	put_key_str(&w, "method", e->method.p, e->method.len, e->method.len > 0, BUDGET_TINY);
	put_key_str(&w, "path", e->path.p, e->path.len, e->path.len > 0, BUDGET_PATH);
	put_key_cstr(&w, "route", e->route, BUDGET_SHORT);
	if (e->rule)
		put_key_cstr(&w, "rule", e->rule, BUDGET_SHORT);
	else if (e->rule_index >= 0)
		put_fmt(&w, ",\"rule\":\"%d\"", e->rule_index);
	else
		puts_(&w, ",\"rule\":null");
	put_key_cstr(&w, "backend", e->backend, BUDGET_SHORT);
	put_fmt(&w, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%llu.%03u",
		e->status, (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out,
		(unsigned long long)(e->duration_us / 1000), (unsigned int)(e->duration_us % 1000));
	if (e->upstream_us >= 0)
		put_fmt(&w, ",\"upstream_ms\":%llu.%03u",
			(unsigned long long)(e->upstream_us / 1000),
			(unsigned int)(e->upstream_us % 1000));
	else
		puts_(&w, ",\"upstream_ms\":null");
	put_key_cstr(&w, "reason", e->reason, BUDGET_SHORT);
	put(&w, "}\n", 2);
	if (w.overflow)
		return -ENOSPC;
	return (int)w.len;
}

struct gw_access_log *gw_access_log_open(const char *spec)
{
	struct gw_access_log *log = calloc(1, sizeof(*log));

	if (!log)
		return NULL;
	if (!spec || !*spec || !strcmp(spec, "-") || !strcmp(spec, "stderr")) {
		log->fd = STDERR_FILENO;
	} else if (!strcmp(spec, "off")) {
		log->fd = -1;
	} else {
		log->fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (log->fd == -1) {
			int err = errno;

			pr_warn("access log %s: %s\n", spec, strerror(err));
			free(log);
			errno = err;
			return NULL;
		}
		log->owned = true;
	}
	return log;
}

void gw_access_log_close(struct gw_access_log *log)
{
	if (!log)
		return;
	if (log->owned)
		close(log->fd);
	free(log);
}

bool gw_access_log_enabled(const struct gw_access_log *log)
{
	return log && log->fd >= 0;
}

uint64_t gw_access_log_dropped(const struct gw_access_log *log)
{
	return log ? __atomic_load_n(&log->dropped, __ATOMIC_RELAXED) : 0;
}

int gw_access_log_write(struct gw_access_log *log, const struct gw_access_entry *e)
{
	ssize_t wr;
	int n;

	if (!gw_access_log_enabled(log))
		return 0;
	n = gw_access_log_format(e, tls_line, sizeof(tls_line));
	if (n < 0)
		goto drop;
	do {
		wr = write(log->fd, tls_line, (size_t)n);
	} while (wr == -1 && errno == EINTR);
	if (wr == n)
		return 0;
	n = wr == -1 ? -errno : -EAGAIN;
	__atomic_add_fetch(&log->dropped, 1, __ATOMIC_RELAXED);
	return n;
drop:
	__atomic_add_fetch(&log->dropped, 1, __ATOMIC_RELAXED);
	return n;
}
