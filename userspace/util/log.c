/* util/log.c - leveled logging to stderr. */
#include "gwbpf/api.h"

#include <stdio.h>
#include <time.h>

#include "gwbpf/log.h"

static enum gw_log_level log_level = GW_LOG_INFO;

void gw_log_set_level(enum gw_log_level lvl)
{
	log_level = lvl;
}

enum gw_log_level gw_log_get_level(void)
{
	return log_level;
}

void gw_vlog(enum gw_log_level lvl, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char msg[2048];
	int saved = errno;
	size_t n;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	fprintf(stderr, "gwbpf: %s: %s%s", names[lvl], msg, n && msg[n - 1] == '\n' ? "" : "\n");
	errno = saved;
}

void gw_log(enum gw_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_vlog(lvl, fmt, ap);
	va_end(ap);
}
