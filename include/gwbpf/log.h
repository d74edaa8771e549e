/* gwbpf/log.h - the one logging facility (pr_warn/pr_info/pr_debug).
 *
 * Library code never prints to stdout; everything goes through gw_log(),
 * which writes to stderr.
 */
#ifndef GWBPF_LOG_H
#define GWBPF_LOG_H

#include <stdarg.h>

#include "gwbpf/api.h"

enum gw_log_level {
	GW_LOG_ERROR = 0,
	GW_LOG_WARN,
	GW_LOG_INFO,
	GW_LOG_DEBUG,
};

/* gw_log_set_level() : messages above lvl are dropped (default GW_LOG_INFO) */
void gw_log_set_level(enum gw_log_level lvl);
enum gw_log_level gw_log_get_level(void);
void gw_log(enum gw_log_level lvl, const char *fmt, ...) GW_PRINTF(2, 3);
void gw_vlog(enum gw_log_level lvl, const char *fmt, va_list ap);

#define pr_err(...)   gw_log(GW_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  gw_log(GW_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  gw_log(GW_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)

#endif
