/* dataplane/loader.c - stub until the BPF loader lands: every call fails with
 * -ENOSYS so callers exercise their userspace-only fallback. */
#include "gwbpf/api.h"

#include "gwbpf/dataplane.h"

struct gw_dataplane *gw_dataplane_open(const struct gw_dataplane_opts *opts)
{
	errno = ENOSYS;
	return NULL;
}

int gw_dataplane_sync(struct gw_dataplane *dp, const struct gw_ir *ir)
{
	return -ENOSYS;
}

int gw_dataplane_set_bypass(struct gw_dataplane *dp, bool on)
{
	return -ENOSYS;
}

void gw_dataplane_close(struct gw_dataplane *dp, bool keep_pinned)
{
}

int gw_dataplane_stats(const char *bpffs, struct gw_dataplane_stats *st)
{
	return -ENOENT;
}

int gw_dataplane_conns(const char *bpffs, gw_dp_conn_fn fn, void *arg)
{
	return -ENOENT;
}

const char *gw_dataplane_reason_name(unsigned int reason)
{
	return NULL;
}

char *gw_dataplane_conn_str(const struct gw_dp_conn *c, char *buf, size_t len)
{
	if (len)
		buf[0] = 0;
	return buf;
}
