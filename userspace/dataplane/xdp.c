/* userspace/dataplane/xdp.c - loads, attaches and programs the XDP ingress
 * program (bpf/xdp_ingress.bpf.c).
 *
 * Attachment goes through libxdp so the program shares interfaces with other
 * XDP programs (libxdp's dispatcher). The object comes from the skeleton's
 * embedded ELF, handed to libxdp with xdp_program__create(.obj), so no .o
 * file has to be installed. Maps pin by name under the pin dir: they outlive
 * the process and a restarted daemon finds them, together with the program
 * still attached, and adopts both instead of reattaching.
 */
#include "gwbpf/api.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "gwbpf/abi/xdp.h"
#include "gwbpf/log.h"
#include "gwbpf/xdp.h"
#include "xdp_ingress.skel.h"

#define GW_XDP_RUN_PRIO 10 /* before most other programs: drop floods first */

enum gw_xdp_mapid {
	GW_XM_LSTN = 0,
	GW_XM_REASON,
	GW_XM_CFG,
	GW_XM_SYN,
	GW_XM_DENY4,
	GW_XM_DENY6,
	GW_XM_NR,
};

static const char *const gw_xdp_map_names[GW_XM_NR] = {
	[GW_XM_LSTN] = "gw_xdp_lstn",   [GW_XM_REASON] = "gw_xdp_reason",
	[GW_XM_CFG] = "gw_xdp_cfg",     [GW_XM_SYN] = "gw_xdp_syn",
	[GW_XM_DENY4] = "gw_xdp_deny4", [GW_XM_DENY6] = "gw_xdp_deny6",
};

struct gw_xdp_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	bool attached; /* by us, this run */
	bool adopted;  /* found running from an earlier run */
};

struct gw_xdp {
	struct xdp_ingress *skel;  /* NULL when every interface was adopted */
	struct xdp_program *prog;  /* libxdp view of skel's program */
	int fds[GW_XM_NR];         /* map fds (skeleton's, or our own from pins) */
	bool own_fds;              /* fds came from bpf_obj_get() and are ours to close */
	char pin_dir[256];         /* "" = not pinned */
	struct gw_xdp_iface *ifaces;
	size_t n_ifaces;
	int ncpus;
};

static int gw_xdp_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* demoted one level: libbpf's warnings are often expected probes */
	enum gw_log_level lvl = level == LIBBPF_WARN ? GW_LOG_INFO : GW_LOG_DEBUG;

	if (lvl <= gw_log_get_level())
		gw_vlog(lvl, fmt, ap);
	return 0;
}

static int gw_xdp_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum gw_log_level lvl = level == LIBXDP_WARN ? GW_LOG_INFO : GW_LOG_DEBUG;

	if (lvl <= gw_log_get_level())
		gw_vlog(lvl, fmt, ap);
	return 0;
}

/* gw_xdp_mkdirs() : mkdir -p path; 0 or -errno */
static int gw_xdp_mkdirs(const char *path)
{
	char buf[256];
	size_t i, len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) == -1 && errno != EEXIST)
			return -errno;
		buf[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* gw_xdp_bpffs() : makes sure /sys/fs/bpf is a bpffs (libxdp pins its
 * dispatchers there and our pins live under it); mounts one if not */
static int gw_xdp_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == -1) {
		pr_warn("xdp: cannot mount bpffs on /sys/fs/bpf: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* gw_xdp_find_ours() : our program on ifindex as a new libxdp handle (the
 * caller closes *mpp), or NULL when it is not attached there */
static struct xdp_program *gw_xdp_find_ours(int ifindex, struct xdp_multiprog **mpp)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;

	*mpp = NULL;
	if (libxdp_get_error(mp) || !mp)
		return NULL;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), GW_XDP_PROG_NAME))
			goto found;
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
			if (!strcmp(xdp_program__name(p), GW_XDP_PROG_NAME))
				goto found;
	}
	xdp_multiprog__close(mp);
	return NULL;
found:
	*mpp = mp;
	return p;
}

static int gw_xdp_open_pins(struct gw_xdp *x)
{
	char path[512];
	int i, err = 0;

	for (i = 0; i < GW_XM_NR; i++) {
		snprintf(path, sizeof(path), "%s/%s", x->pin_dir, gw_xdp_map_names[i]);
		x->fds[i] = bpf_obj_get(path);
		if (x->fds[i] < 0) {
			err = -errno;
			goto out;
		}
	}
	x->own_fds = true;
out:
	return err;
}

static void gw_xdp_skel_fds(struct gw_xdp *x)
{
	struct xdp_ingress *s = x->skel;

	x->fds[GW_XM_LSTN] = bpf_map__fd(s->maps.gw_xdp_lstn);
	x->fds[GW_XM_REASON] = bpf_map__fd(s->maps.gw_xdp_reason);
	x->fds[GW_XM_CFG] = bpf_map__fd(s->maps.gw_xdp_cfg);
	x->fds[GW_XM_SYN] = bpf_map__fd(s->maps.gw_xdp_syn);
	x->fds[GW_XM_DENY4] = bpf_map__fd(s->maps.gw_xdp_deny4);
	x->fds[GW_XM_DENY6] = bpf_map__fd(s->maps.gw_xdp_deny6);
	x->own_fds = false;
}

static struct gw_xdp *gw_xdp_alloc(const char *pin_dir)
{
	struct gw_xdp *x = calloc(1, sizeof(*x));
	int i;

	if (!x)
		return NULL;
	for (i = 0; i < GW_XM_NR; i++)
		x->fds[i] = -1;
	x->ncpus = libbpf_num_possible_cpus();
	if (x->ncpus <= 0)
		x->ncpus = 1;
	snprintf(x->pin_dir, sizeof(x->pin_dir), "%s", pin_dir ? pin_dir : GW_XDP_PIN_DIR);
	return x;
}

/* gw_xdp_attach_one() : attaches x->prog to one interface in the mode asked
 * (AUTO: native, then generic). 0 or -errno. */
static int gw_xdp_attach_one(struct gw_xdp *x, struct gw_xdp_iface *ifc, enum gw_xdp_mode mode)
{
	int err;

	if (mode != GW_XDP_MODE_SKB) {
		err = xdp_program__attach(x->prog, ifc->ifindex, XDP_MODE_NATIVE, 0);
		if (!err || mode == GW_XDP_MODE_NATIVE)
			goto out;
		pr_info("xdp: %s: native mode failed (%s), using generic mode\n", ifc->name,
			strerror(-err));
	}
	err = xdp_program__attach(x->prog, ifc->ifindex, XDP_MODE_SKB, 0);
out:
	if (!err) {
		ifc->attached = true;
		pr_info("xdp: attached %s to %s\n", GW_XDP_PROG_NAME, ifc->name);
	}
	return err;
}

static void gw_xdp_detach_iface(struct gw_xdp_iface *ifc);

/* the config entry, read-modify-write so flags and limits stay independent */
static int gw_xdp_cfg_get(struct gw_xdp *x, struct gw_xdp_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(x->fds[GW_XM_CFG], &zero, cfg))
		return -errno;
	return 0;
}

static int gw_xdp_cfg_put(struct gw_xdp *x, const struct gw_xdp_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(x->fds[GW_XM_CFG], &zero, cfg, BPF_ANY))
		return -errno;
	return 0;
}

int gw_xdp_set_syn_limit(struct gw_xdp *x, uint32_t rate, uint32_t burst)
{
	struct gw_xdp_config cfg;
	int err;

	err = gw_xdp_cfg_get(x, &cfg);
	if (err)
		goto out;
	if (!burst)
		burst = rate > UINT32_MAX / 2 ? UINT32_MAX : rate * 2;
	cfg.syn_rate = rate;
	cfg.syn_burst = rate ? burst : 0;
	cfg.syn_cost_ns = rate ? 1000000000ULL / rate : 0;
	if (rate && !cfg.syn_cost_ns)
		cfg.syn_cost_ns = 1; /* above 1e9/s: effectively unlimited */
	cfg.syn_cap_ns = cfg.syn_cost_ns * burst;
	err = gw_xdp_cfg_put(x, &cfg);
out:
	return err;
}

struct gw_xdp *gw_xdp_open(const char *const *ifaces, size_t n, const struct gw_xdp_opts *opts)
{
	static const struct gw_xdp_opts defaults;
	struct xdp_multiprog *mp;
	struct gw_xdp *x = NULL;
	bool need_load = n == 0;
	size_t i;
	int err = -ENOMEM;

	if (!opts)
		opts = &defaults;
	libbpf_set_print(gw_xdp_libbpf_print);
	libxdp_set_print(gw_xdp_libxdp_print);

	x = gw_xdp_alloc(opts->pin_dir);
	if (!x)
		goto out;
	x->ifaces = calloc(n ? n : 1, sizeof(*x->ifaces));
	if (!x->ifaces)
		goto out;
	x->n_ifaces = n;
	for (i = 0; i < n; i++) {
		struct gw_xdp_iface *ifc = &x->ifaces[i];

		snprintf(ifc->name, sizeof(ifc->name), "%s", ifaces[i]);
		ifc->ifindex = if_nametoindex(ifaces[i]);
		if (!ifc->ifindex) {
			pr_warn("xdp: no interface named '%s'\n", ifaces[i]);
			err = -ENODEV;
			goto out;
		}
	}

	if (x->pin_dir[0] || n) {
		err = gw_xdp_bpffs();
		if (err)
			goto out;
	}
	if (x->pin_dir[0]) {
		err = gw_xdp_mkdirs(x->pin_dir);
		if (err) {
			pr_warn("xdp: cannot create %s: %s\n", x->pin_dir, strerror(-err));
			goto out;
		}
	}

	/* adopt what an earlier run left attached, if its maps are pinned here */
	for (i = 0; i < n; i++) {
		struct xdp_program *p = NULL;

		if (!opts->no_adopt && x->pin_dir[0])
			p = gw_xdp_find_ours(x->ifaces[i].ifindex, &mp);
		if (p) {
			x->ifaces[i].adopted = true;
			xdp_multiprog__close(mp);
			pr_info("xdp: adopted %s already attached to %s\n", GW_XDP_PROG_NAME,
				x->ifaces[i].name);
		} else {
			need_load = true;
		}
	}

	if (!need_load) {
		err = gw_xdp_open_pins(x);
		if (err) {
			pr_warn("xdp: program attached but maps not pinned in %s (%s); "
				"detach it or start with no_adopt\n", x->pin_dir, strerror(-err));
			goto out;
		}
	} else {
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = x->pin_dir[0] ? x->pin_dir : NULL);
		struct bpf_map *m;

		x->skel = xdp_ingress__open_opts(&oo);
		if (!x->skel) {
			err = -errno;
			pr_warn("xdp: cannot open the XDP object: %s\n", strerror(-err));
			goto out;
		}
		if (!x->pin_dir[0])
			bpf_object__for_each_map(m, x->skel->obj)
				bpf_map__set_pin_path(m, NULL);

		if (n == 0) {
			err = xdp_ingress__load(x->skel);
		} else {
			DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .obj = x->skel->obj,
					    .prog_name = GW_XDP_PROG_NAME);

			x->prog = xdp_program__create(&xo);
			err = libxdp_get_error(x->prog);
			if (err) {
				x->prog = NULL;
				goto load_failed;
			}
			xdp_program__set_run_prio(x->prog, GW_XDP_RUN_PRIO);
			xdp_program__set_chain_call_enabled(x->prog, XDP_PASS, true);
			for (i = 0; i < n; i++) {
				if (x->ifaces[i].adopted)
					continue;
				err = gw_xdp_attach_one(x, &x->ifaces[i], opts->mode);
				if (err) {
					pr_warn("xdp: cannot attach to %s: %s\n", x->ifaces[i].name,
						strerror(-err));
					goto out;
				}
			}
		}
load_failed:
		if (err) {
			pr_warn("xdp: cannot load the XDP program: %s%s\n", strerror(-err),
				x->pin_dir[0] ? " (stale pinned maps? remove them)" : "");
			goto out;
		}
		gw_xdp_skel_fds(x);
	}

	/* a fresh config entry is all zero: give it the limits asked for */
	if (opts->no_syn_limit)
		err = gw_xdp_set_syn_limit(x, 0, 0);
	else if (opts->syn_rate)
		err = gw_xdp_set_syn_limit(x, opts->syn_rate, opts->syn_burst);
	else
		err = gw_xdp_set_syn_limit(x, GW_XDP_DEF_SYN_RATE,
					   opts->syn_burst ? opts->syn_burst : GW_XDP_DEF_SYN_BURST);
out:
	if (err) {
		/* undo only what this call attached; adopted programs stay */
		for (i = 0; x && x->ifaces && i < x->n_ifaces; i++)
			if (x->ifaces[i].attached)
				gw_xdp_detach_iface(&x->ifaces[i]);
		/* a pin dir this call created and never filled goes too */
		if (x && x->pin_dir[0])
			rmdir(x->pin_dir);
		gw_xdp_close(x, true);
		errno = -err;
		return NULL;
	}
	return x;
}

struct gw_xdp *gw_xdp_open_pinned(const char *pin_dir)
{
	struct gw_xdp *x = gw_xdp_alloc(pin_dir);
	int err = -ENOMEM;

	if (!x)
		goto out;
	err = gw_xdp_open_pins(x);
out:
	if (err) {
		gw_xdp_close(x, true);
		errno = -err;
		return NULL;
	}
	return x;
}

static void gw_xdp_detach_iface(struct gw_xdp_iface *ifc)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = gw_xdp_find_ours(ifc->ifindex, &mp);
	int err;

	if (!p)
		return;
	err = xdp_program__detach(p, ifc->ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err)
		pr_warn("xdp: cannot detach from %s: %s\n", ifc->name, strerror(-err));
	else
		pr_info("xdp: detached %s from %s\n", GW_XDP_PROG_NAME, ifc->name);
	xdp_multiprog__close(mp);
}

void gw_xdp_close(struct gw_xdp *x, bool keep)
{
	char path[512];
	size_t i;
	int j;

	if (!x)
		return;
	for (i = 0; !keep && i < x->n_ifaces; i++)
		if (x->ifaces[i].attached || x->ifaces[i].adopted)
			gw_xdp_detach_iface(&x->ifaces[i]);
	if (x->own_fds)
		for (j = 0; j < GW_XM_NR; j++)
			if (x->fds[j] >= 0)
				close(x->fds[j]);
	xdp_program__close(x->prog);
	xdp_ingress__destroy(x->skel);
	if (!keep && x->pin_dir[0] && x->n_ifaces) {
		for (j = 0; j < GW_XM_NR; j++) {
			snprintf(path, sizeof(path), "%s/%s", x->pin_dir, gw_xdp_map_names[j]);
			unlink(path);
		}
		/* parents too when they are empty (e.g. /sys/fs/bpf/gwbpf) */
		rmdir(x->pin_dir);
		if (!strcmp(x->pin_dir, GW_XDP_PIN_DIR))
			rmdir("/sys/fs/bpf/gwbpf");
	}
	free(x->ifaces);
	free(x);
}

int gw_xdp_prog_fd(const struct gw_xdp *x)
{
	if (!x->skel)
		return -ENOENT;
	return bpf_program__fd(x->skel->progs.gw_xdp_ingress);
}

/* gw_xdp_parse_addr() : numeric address -> family and 4 words in network
 * order (IPv4 in addr[0]); ::ffff:a.b.c.d becomes IPv4. 0 or -EINVAL. */
static int gw_xdp_parse_addr(const char *s, __u8 *family, __u32 addr[4])
{
	struct in6_addr a6;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, &addr[0]) == 1) {
		*family = GW_XDP_FAMILY_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return -EINVAL;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&addr[0], &a6.s6_addr[12], 4);
		*family = GW_XDP_FAMILY_INET;
		return 0;
	}
	memcpy(addr, &a6, 16);
	*family = GW_XDP_FAMILY_INET6;
	return 0;
}

static bool gw_xdp_addr_zero(const __u32 addr[4])
{
	return !(addr[0] | addr[1] | addr[2] | addr[3]);
}

/* gw_xdp_keys_for() : the one or two keys a listener needs ("::" is dual
 * stack, so it also takes IPv4); returns how many, or -EINVAL */
static int gw_xdp_keys_for(const struct gw_xdp_listener *l, struct gw_xdp_lkey k[2])
{
	__u8 family;
	int nk = 1;

	memset(k, 0, 2 * sizeof(*k));
	if (l->proto != IPPROTO_TCP && l->proto != IPPROTO_UDP)
		return -EINVAL;
	if (!l->address[0]) {
		family = GW_XDP_FAMILY_INET6;
	} else if (gw_xdp_parse_addr(l->address, &family, k[0].addr)) {
		pr_warn("xdp: listener address '%s' is not numeric\n", l->address);
		return -EINVAL;
	}
	k[0].family = family;
	k[0].port = htons(l->port);
	k[0].proto = l->proto;
	if (family == GW_XDP_FAMILY_INET6 && gw_xdp_addr_zero(k[0].addr)) {
		k[1] = k[0];
		k[1].family = GW_XDP_FAMILY_INET;
		nk = 2;
	}
	return nk;
}

static bool gw_xdp_key_in(const struct gw_xdp_lkey *k, const struct gw_xdp_lkey *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(k, &set[i], sizeof(*k)))
			return true;
	return false;
}

/* gw_xdp_map_keys() : every key of map fd into a new array; 0 or -errno */
static int gw_xdp_map_keys(int fd, size_t ksz, void **out, size_t *n)
{
	size_t cap = 64, cnt = 0;
	char *keys = malloc(cap * ksz), *grown;
	char prev[32];
	void *pk = NULL;
	int err = -ENOMEM;

	if (!keys)
		goto out;
	while (!bpf_map_get_next_key(fd, pk, keys + cnt * ksz)) {
		memcpy(prev, keys + cnt * ksz, ksz);
		pk = prev;
		if (++cnt == cap) {
			grown = realloc(keys, 2 * cap * ksz);
			if (!grown)
				goto out;
			keys = grown;
			cap *= 2;
		}
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	*out = keys;
	*n = cnt;
	keys = NULL;
	err = 0;
out:
	free(keys);
	return err;
}

int gw_xdp_set_listener_list(struct gw_xdp *x, const struct gw_xdp_listener *l, size_t n)
{
	struct gw_xdp_lkey *want = calloc(2 * n + 1, sizeof(*want)), *have = NULL;
	size_t nwant = 0, nhave = 0, i;
	void *zeros = calloc(x->ncpus, sizeof(struct gw_xdp_lstats));
	int err = -ENOMEM, nk;

	if (!want || !zeros)
		goto out;
	for (i = 0; i < n; i++) {
		nk = gw_xdp_keys_for(&l[i], &want[nwant]);
		if (nk < 0) {
			err = nk;
			goto out;
		}
		nwant += nk;
	}
	err = gw_xdp_map_keys(x->fds[GW_XM_LSTN], sizeof(*have), (void **)&have, &nhave);
	if (err)
		goto out;
	/* add first, then remove: a listener that stays is never missing */
	for (i = 0; i < nwant; i++) {
		if (gw_xdp_key_in(&want[i], have, nhave) || gw_xdp_key_in(&want[i], want, i))
			continue;
		if (bpf_map_update_elem(x->fds[GW_XM_LSTN], &want[i], zeros, BPF_NOEXIST) &&
		    errno != EEXIST) {
			err = -errno;
			pr_warn("xdp: cannot add listener: %s\n", strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < nhave; i++)
		if (!gw_xdp_key_in(&have[i], want, nwant))
			bpf_map_delete_elem(x->fds[GW_XM_LSTN], &have[i]);
	err = 0;
out:
	free(want);
	free(have);
	free(zeros);
	return err;
}

int gw_xdp_set_listeners(struct gw_xdp *x, const struct gw_ir *ir)
{
	struct gw_xdp_listener *l = calloc(ir->n_binds + 1, sizeof(*l));
	size_t i;
	int err = -ENOMEM;

	if (!l)
		goto out;
	for (i = 0; i < ir->n_binds; i++) {
		const struct gw_ir_bind *b = &ir->binds[i];

		snprintf(l[i].address, sizeof(l[i].address), "%s", b->address ? b->address : "");
		l[i].port = b->port;
		l[i].proto = b->proto == GW_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	}
	err = gw_xdp_set_listener_list(x, l, ir->n_binds);
out:
	free(l);
	return err;
}

/* CIDR in the form the tries take; host bits cleared so "10.1.2.3/8" and
 * "10.0.0.0/8" are one entry */
struct gw_xdp_cidr {
	__u8 family;
	__u32 prefixlen;
	__u32 addr[4];
};

static int gw_xdp_parse_cidr(const char *s, struct gw_xdp_cidr *c)
{
	char buf[80], *slash, *end;
	unsigned long plen;
	__u32 max, bits, w;
	int i;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (gw_xdp_parse_addr(buf, &c->family, c->addr))
		return -EINVAL;
	max = c->family == GW_XDP_FAMILY_INET ? 32 : 128;
	plen = max;
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || plen > max)
			return -EINVAL;
		if (c->family == GW_XDP_FAMILY_INET && strchr(buf, ':'))
			/* ::ffff:a.b.c.d/N counts the 96 mapped bits */
			plen = plen >= 96 ? plen - 96 : 0;
	}
	c->prefixlen = plen;
	for (i = 0; i < 4; i++) {
		bits = plen > 32u * i ? plen - 32u * i : 0;
		w = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;
		c->addr[i] &= htonl(w);
	}
	return 0;
}

int gw_xdp_set_deny(struct gw_xdp *x, const char *const *cidrs, size_t n)
{
	struct gw_xdp_cidr *want = calloc(n + 1, sizeof(*want));
	struct gw_xdp_lpm4 *have4 = NULL, k4;
	struct gw_xdp_lpm6 *have6 = NULL, k6;
	struct gw_xdp_config cfg;
	size_t nh4 = 0, nh6 = 0, i, j;
	__u32 one = 1;
	int err = -ENOMEM;

	if (!want)
		goto out;
	for (i = 0; i < n; i++) {
		if (gw_xdp_parse_cidr(cidrs[i], &want[i])) {
			pr_warn("xdp: '%s' is not a CIDR\n", cidrs[i]);
			err = -EINVAL;
			goto out;
		}
	}
	err = gw_xdp_map_keys(x->fds[GW_XM_DENY4], sizeof(k4), (void **)&have4, &nh4);
	if (!err)
		err = gw_xdp_map_keys(x->fds[GW_XM_DENY6], sizeof(k6), (void **)&have6, &nh6);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		int fd = x->fds[want[i].family == GW_XDP_FAMILY_INET ? GW_XM_DENY4 : GW_XM_DENY6];
		void *key;

		k4.prefixlen = k6.prefixlen = want[i].prefixlen;
		k4.addr = want[i].addr[0];
		memcpy(k6.addr, want[i].addr, sizeof(k6.addr));
		key = want[i].family == GW_XDP_FAMILY_INET ? (void *)&k4 : (void *)&k6;
		if (bpf_map_update_elem(fd, key, &one, BPF_ANY)) {
			err = -errno;
			pr_warn("xdp: cannot add deny CIDR %s: %s\n", cidrs[i], strerror(errno));
			goto out;
		}
	}
	/* enable before removing stale entries so nothing is briefly open */
	err = gw_xdp_cfg_get(x, &cfg);
	if (err)
		goto out;
	if (n)
		cfg.flags |= GW_XDP_F_DENY;
	err = gw_xdp_cfg_put(x, &cfg);
	if (err)
		goto out;
	for (i = 0; i < nh4; i++) {
		for (j = 0; j < n; j++)
			if (want[j].family == GW_XDP_FAMILY_INET &&
			    want[j].prefixlen == have4[i].prefixlen && want[j].addr[0] == have4[i].addr)
				break;
		if (j == n)
			bpf_map_delete_elem(x->fds[GW_XM_DENY4], &have4[i]);
	}
	for (i = 0; i < nh6; i++) {
		for (j = 0; j < n; j++)
			if (want[j].family == GW_XDP_FAMILY_INET6 &&
			    want[j].prefixlen == have6[i].prefixlen &&
			    !memcmp(want[j].addr, have6[i].addr, 16))
				break;
		if (j == n)
			bpf_map_delete_elem(x->fds[GW_XM_DENY6], &have6[i]);
	}
	if (!n) {
		cfg.flags &= ~GW_XDP_F_DENY;
		err = gw_xdp_cfg_put(x, &cfg);
	}
out:
	free(want);
	free(have4);
	free(have6);
	return err;
}

int gw_xdp_read_reason(struct gw_xdp *x, enum gw_xdp_reason r, uint64_t *value)
{
	uint64_t *v = calloc(x->ncpus, sizeof(*v));
	__u32 key = r;
	int err = -ENOMEM, i;

	if (!v)
		goto out;
	if (r >= GW_XDP_REASON_MAX) {
		err = -EINVAL;
		goto out;
	}
	if (bpf_map_lookup_elem(x->fds[GW_XM_REASON], &key, v)) {
		err = -errno;
		goto out;
	}
	*value = 0;
	for (i = 0; i < x->ncpus; i++)
		*value += v[i];
	err = 0;
out:
	free(v);
	return err;
}

static void gw_xdp_key_str(const struct gw_xdp_lkey *k, char *buf, size_t len)
{
	inet_ntop(k->family == GW_XDP_FAMILY_INET ? AF_INET : AF_INET6, k->addr, buf, len);
}

int gw_xdp_read_listeners(struct gw_xdp *x, struct gw_xdp_listener_stats **out, size_t *n)
{
	struct gw_xdp_lstats *v = calloc(x->ncpus, sizeof(*v));
	struct gw_xdp_listener_stats *res = NULL;
	struct gw_xdp_lkey *keys = NULL;
	size_t nk = 0, i, cnt = 0;
	int err = -ENOMEM, c;

	if (!v)
		goto out;
	err = gw_xdp_map_keys(x->fds[GW_XM_LSTN], sizeof(*keys), (void **)&keys, &nk);
	if (err)
		goto out;
	res = calloc(nk + 1, sizeof(*res));
	err = -ENOMEM;
	if (!res)
		goto out;
	for (i = 0; i < nk; i++) {
		struct gw_xdp_listener_stats *s = &res[cnt];

		if (bpf_map_lookup_elem(x->fds[GW_XM_LSTN], &keys[i], v))
			continue; /* removed meanwhile */
		gw_xdp_key_str(&keys[i], s->address, sizeof(s->address));
		s->port = ntohs(keys[i].port);
		s->proto = keys[i].proto;
		for (c = 0; c < x->ncpus; c++) {
			s->packets += v[c].packets;
			s->bytes += v[c].bytes;
			s->syns += v[c].syns;
			s->drops += v[c].drops;
		}
		cnt++;
	}
	*out = res;
	*n = cnt;
	res = NULL;
	err = 0;
out:
	free(v);
	free(keys);
	free(res);
	return err;
}

static const char *const gw_xdp_reason_names[GW_XDP_REASON_MAX] = {
	[GW_XDP_DROP_DENY] = "drop_deny",
	[GW_XDP_DROP_SYN_RATE] = "drop_syn_rate",
	[GW_XDP_PASS_LISTENER] = "pass_listener",
	[GW_XDP_PASS_NOT_IP] = "pass_not_ip",
	[GW_XDP_PASS_NOT_LISTENER] = "pass_not_listener",
	[GW_XDP_PASS_FRAGMENT] = "pass_fragment",
	[GW_XDP_PASS_TRUNCATED] = "pass_truncated",
	[GW_XDP_PASS_UNKNOWN] = "pass_unknown",
};

const char *gw_xdp_reason_name(enum gw_xdp_reason r)
{
	if ((unsigned int)r >= GW_XDP_REASON_MAX)
		return NULL;
	return gw_xdp_reason_names[r];
}

int gw_xdp_metrics(struct gw_xdp *x, FILE *f)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} lm[] = {
		{ "gwbpf_xdp_listener_packets_total", "Frames for a listener seen by XDP",
		  offsetof(struct gw_xdp_listener_stats, packets) },
		{ "gwbpf_xdp_listener_bytes_total", "Frame bytes for a listener seen by XDP",
		  offsetof(struct gw_xdp_listener_stats, bytes) },
		{ "gwbpf_xdp_listener_syns_total", "TCP SYNs for a listener seen by XDP",
		  offsetof(struct gw_xdp_listener_stats, syns) },
		{ "gwbpf_xdp_listener_drops_total", "Frames for a listener dropped by XDP",
		  offsetof(struct gw_xdp_listener_stats, drops) },
	};
	struct gw_xdp_listener_stats *ls = NULL;
	size_t n = 0, i, m;
	uint64_t v;
	int err, r;

	err = gw_xdp_read_listeners(x, &ls, &n);
	if (err)
		goto out;
	for (m = 0; m < ARRAY_SIZE(lm); m++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", lm[m].name, lm[m].help, lm[m].name);
		for (i = 0; i < n; i++) {
			memcpy(&v, (char *)&ls[i] + lm[m].off, sizeof(v));
			fprintf(f, "%s{address=\"%s\",port=\"%u\",protocol=\"%s\"} %llu\n",
				lm[m].name, ls[i].address, ls[i].port,
				ls[i].proto == IPPROTO_UDP ? "udp" : "tcp", (unsigned long long)v);
		}
	}
	fprintf(f, "# HELP gwbpf_xdp_verdicts_total XDP verdicts by reason\n"
		   "# TYPE gwbpf_xdp_verdicts_total counter\n");
	for (r = 0; r < GW_XDP_REASON_MAX; r++) {
		if (!gw_xdp_reason_names[r])
			continue;
		err = gw_xdp_read_reason(x, r, &v);
		if (err)
			goto out;
		fprintf(f, "gwbpf_xdp_verdicts_total{verdict=\"%s\",reason=\"%s\"} %llu\n",
			r < GW_XDP_PASS_LISTENER ? "drop" : "pass", gw_xdp_reason_names[r] + 5,
			(unsigned long long)v);
	}
	fprintf(f, "# HELP gwbpf_xdp_syn_rate_limit Per-source SYN/s limit (0 = off)\n"
		   "# TYPE gwbpf_xdp_syn_rate_limit gauge\n");
	{
		struct gw_xdp_config cfg;

		err = gw_xdp_cfg_get(x, &cfg);
		if (err)
			goto out;
		fprintf(f, "gwbpf_xdp_syn_rate_limit %u\n", cfg.syn_rate);
	}
out:
	free(ls);
	return err;
}
