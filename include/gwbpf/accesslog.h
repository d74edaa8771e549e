/* gwbpf/accesslog.h - one JSON line per request.
 *
 * A line is formatted into a per-thread buffer and written with one
 * write(2), so lines from different workers never interleave (O_APPEND
 * files, pipes for lines under PIPE_BUF) and the request path allocates
 * nothing. Every string is JSON-escaped; invalid UTF-8 becomes U+FFFD; very
 * long fields are cut (and end in "...") so a line always fits the buffer.
 *
 * Fields: time (RFC 3339 UTC with ms), client, listener, host, method, path
 * (as received, with query), route, rule, backend, status, bytes_in,
 * bytes_out, duration_ms, upstream_ms, reason. Absent strings and an absent
 * upstream time are null.
 */
#ifndef GWBPF_ACCESSLOG_H
#define GWBPF_ACCESSLOG_H

#include "gwbpf/api.h"
#include "gwbpf/http1-t.h"

/* the longest line written, newline included */
#define GW_ACCESS_LINE_MAX 16384

struct gw_access_entry {
	int64_t time_ms;       /* wall clock (Unix ms) when the request head arrived */
	const char *client;    /* "10.0.0.1:51234" or NULL */
	const char *listener;  /* "ns/gateway/listener" or NULL */
	struct gw_slice host;  /* Host as received (len 0 = null) */
	struct gw_slice method;
	struct gw_slice path;  /* request target as received */
	const char *route;     /* "ns/name" or NULL (no route) */
	const char *rule;      /* rule name, or NULL: rule_index is printed instead */
	int32_t rule_index;    /* -1 = no rule */
	const char *backend;   /* "10.0.0.2:8080" or NULL */
	int status;            /* 0 = no response sent */
	uint64_t bytes_in;     /* from the client, head and body */
	uint64_t bytes_out;    /* to the client */
	uint64_t duration_us;  /* head arrived -> last byte sent */
	int64_t upstream_us;   /* upstream connect -> response head; -1 = no upstream */
	const char *reason;    /* why the gateway answered itself ("no_route", ...) or NULL */
};

struct gw_access_log;

/* gw_access_log_open() : spec NULL, "", "-" or "stderr" = standard error;
 * "off" = disabled (writes are no-ops); anything else is a path opened with
 * O_APPEND|O_CREAT (0644). Returns a new log, or NULL with errno set. */
struct gw_access_log *gw_access_log_open(const char *spec);
/* gw_access_log_close() : closes a file it opened; accepts NULL */
void gw_access_log_close(struct gw_access_log *log);
/* gw_access_log_enabled() : false for "off" (callers may skip collecting) */
bool gw_access_log_enabled(const struct gw_access_log *log);

/* gw_access_log_format() : writes one line (with '\n') into buf. Returns the
 * length, or -ENOSPC when cap < GW_ACCESS_LINE_MAX would be needed. */
int gw_access_log_format(const struct gw_access_entry *e, char *buf, size_t cap);

/* gw_access_log_write() : formats e in this thread's buffer and writes it
 * with one write(2). Returns 0, or -errno; a line that cannot be written at
 * once (full pipe) is dropped and counted, never retried, so a slow log
 * never stalls a worker. log NULL or "off": 0. */
int gw_access_log_write(struct gw_access_log *log, const struct gw_access_entry *e);
/* gw_access_log_dropped() : lines dropped so far */
uint64_t gw_access_log_dropped(const struct gw_access_log *log);

#endif
