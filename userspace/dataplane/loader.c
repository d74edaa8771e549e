/* dataplane/loader.c - open, pin, adopt, attach and tear down the sockmap
 * fast path.
 *
 * Two objects (sockops, sk_msg) declare the same maps; both are pointed at
 * the same pin paths, so the first load creates and pins the maps and the
 * second reuses them, and a restarted daemon reuses them again. The sockops
 * program is attached to the user's cgroup through a pinned bpf_link (a
 * restart swaps the program in the link instead of detaching), the sk_msg
 * program to the sockhash (the attachment lives as long as the map).
 */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gwbpf/dataplane.h"
#include "gwbpf/log.h"
#include "dataplane-int.h"
#include "sockops.skel.h"
#include "sk_msg.skel.h"

static const char *const gw_dp_map_pins[] = {
	GW_PIN_SOCK_HASH,
	GW_PIN_COUNTERS,
	GW_PIN_PORTS,
	GW_PIN_CONFIG,
	GW_PIN_RT_EPOCH,
	GW_PIN_RT_BIND,
	GW_PIN_RT_HOST,
	GW_PIN_RT_VHOST,
	GW_PIN_STEER_REC,
	GW_PIN_LOAN,
	GW_PIN_LOAN_KEY,
	GW_PIN_LOAN_DIR,
	GW_PIN_STEER_CON,
	GW_PIN_STEER_ACK,
	GW_PIN_ROUTE_CNT,
	GW_PIN_ROUTE_RESP,
	GW_PIN_LOAN_ROUTE,
	GW_PIN_STEER_WANT,
	GW_PIN_LOAN_TAIL,
	GW_PIN_ROUTE_NAMES, /* created by route_names.c, not by a skeleton */
};

/* Pins an older gwbpf pinned under these names and this build no longer
 * uses: a map whose layout changed (renamed _v2) and scratch memory that is
 * private now. Append-only. */
static const char *const gw_dp_retired_pins[] = {
	"gw_loan_dir",    /* gw_loan_dir_v2 since 64 slots per cluster */
	"gw_fwd_scratch", /* per-CPU scratch, private to each load */
};

bool gw_dataplane_pin_retired(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(gw_dp_retired_pins); i++)
		if (!strcmp(name, gw_dp_retired_pins[i]))
			return true;
	return false;
}

/* gw_dp_prune_retired() : removes the retired pins once this build's
 * programs are loaded. Only the pin goes: a program of the older build that
 * still uses the map keeps its own reference, so nothing running breaks; the
 * map is freed when the last user is gone. Other names are never touched. */
static void gw_dp_prune_retired(struct gw_dataplane *dp)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(gw_dp_retired_pins); i++)
		if (!unlink(gw_dp_pin_path(dp->dir, gw_dp_retired_pins[i], path)))
			pr_info("dataplane: removed %s, pinned by an older gwbpf and unused now",
				path);
}

/* gw_dp_pinned_map() : false for maps that must stay private to one load:
 * libbpf's .rodata/.bss (a pinned one would carry another build's constants
 * into this one) and per-CPU scratch memory */
static bool gw_dp_pinned_map(const struct bpf_map *m)
{
	return !bpf_map__is_internal(m) && strcmp(bpf_map__name(m), "gw_steer_scratch") != 0 &&
	       strcmp(bpf_map__name(m), "gw_fwd_scratch") != 0;
}

char *gw_dp_pin_path(const char *dir, const char *name, char *buf)
{
	/* a too long dir gives "" and every later syscall fails with ENOENT */
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		buf[0] = 0;
	return buf;
}

/* libbpf is chatty about things that are normal for us (a missing pin on
 * first start): demote each level by one, as STYLE.md asks */
static int gw_dp_libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_DEBUG)
		return 0;
	gw_vlog(lvl == LIBBPF_WARN ? GW_LOG_INFO : GW_LOG_DEBUG, fmt, ap);
	return 0;
}

static bool gw_dp_fs_is(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

/* gw_dp_mkdirs() : mkdir -p; *created tells whether the last component was
 * made here. Returns 0 or -errno. */
static int gw_dp_mkdirs(const char *path, bool *created)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	*created = false;
	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) == 0)
		*created = true;
	else if (errno != EEXIST)
		return -errno;
	return 0;
}

/* gw_dp_prepare_dir() : makes dp->dir exist on a bpffs. The standard
 * /sys/fs/bpf is mounted when nothing is (as systemd would); any other
 * directory not on a bpffs gets one of its own, unmounted again on close. */
static int gw_dp_prepare_dir(struct gw_dataplane *dp)
{
	int err;

	if (!strncmp(dp->dir, "/sys/fs/bpf/", 12) && !gw_dp_fs_is("/sys/fs/bpf", BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == -1) {
			err = -errno;
			pr_warn("dataplane: cannot mount bpffs on /sys/fs/bpf: %s", strerror(-err));
			return err;
		}
		pr_info("dataplane: mounted bpffs on /sys/fs/bpf");
	}
	err = gw_dp_mkdirs(dp->dir, &dp->created_dir);
	if (err) {
		pr_warn("dataplane: cannot create %s: %s", dp->dir, strerror(-err));
		return err;
	}
	if (!gw_dp_fs_is(dp->dir, BPF_FS_MAGIC)) {
		if (mount("bpf", dp->dir, "bpf", 0, "mode=0700") == -1) {
			err = -errno;
			pr_warn("dataplane: cannot mount bpffs on %s: %s", dp->dir, strerror(-err));
			return err;
		}
		dp->mounted_dir = true;
	}
	return 0;
}

/* gw_dp_open_cgroup() : validates that path is a cgroup v2 directory and, unless
 * allowed, not a cgroup2 mount root (attaching there would accelerate every
 * process on the host: never by accident). Returns an O_RDONLY fd and the
 * cgroup id, or -errno. */
static int gw_dp_open_cgroup(const char *path, uint32_t flags, uint64_t *id)
{
	char parent[PATH_MAX];
	struct stat st, pst;
	int fd;

	if (!gw_dp_fs_is(path, CGROUP2_SUPER_MAGIC)) {
		pr_warn("dataplane: %s is not a cgroup v2 directory", path);
		return -EINVAL;
	}
	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(path, &st) == -1 || stat(parent, &pst) == -1)
		return -errno;
	if ((st.st_dev != pst.st_dev || st.st_ino == pst.st_ino) &&
	    !(flags & GW_DP_F_ALLOW_ROOT_CGROUP)) {
		pr_warn("dataplane: %s is a cgroup2 root; refusing to accelerate every process "
			"on the host (create a child cgroup for gwbpf and its local peers)",
			path);
		return -EPERM;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	*id = st.st_ino; /* a cgroup2 directory's inode number is its cgroup id */
	return fd;
}

/* gw_dp_load() : opens both skeletons with every map pinned under dir and
 * loads them; the first creates (or adopts) the pins, the second adopts. */
static int gw_dp_load(struct gw_dataplane *dp)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int err;

	dp->sockops = sockops__open();
	dp->skmsg = sk_msg__open();
	if (!dp->sockops || !dp->skmsg) {
		err = -errno;
		goto out;
	}
	dp->created_maps = access(gw_dp_pin_path(dp->dir, GW_PIN_SOCK_HASH, path), F_OK) != 0;
	bpf_object__for_each_map(m, dp->sockops->obj) {
		if (!gw_dp_pinned_map(m))
			continue;
		err = bpf_map__set_pin_path(m, gw_dp_pin_path(dp->dir, bpf_map__name(m), path));
		if (err)
			goto out;
	}
	bpf_object__for_each_map(m, dp->skmsg->obj) {
		if (!gw_dp_pinned_map(m))
			continue;
		err = bpf_map__set_pin_path(m, gw_dp_pin_path(dp->dir, bpf_map__name(m), path));
		if (err)
			goto out;
	}
	err = sockops__load(dp->sockops);
	if (!err)
		err = sk_msg__load(dp->skmsg);
	if (err) {
		/* typically a pinned map of another layout: the fix is a _v2 name,
		 * or removing the stale pins by hand */
		pr_warn("dataplane: loading BPF programs failed: %s", strerror(-err));
		goto out;
	}
	dp->sock_hash_fd = bpf_map__fd(dp->skmsg->maps.gw_sock_hash);
	dp->ports_fd = bpf_map__fd(dp->skmsg->maps.gw_ports);
	dp->config_fd = bpf_map__fd(dp->skmsg->maps.gw_config);
	dp->rt_epoch_fd = bpf_map__fd(dp->skmsg->maps.gw_rt_epoch);
	dp->rt_bind_fd = bpf_map__fd(dp->skmsg->maps.gw_rt_bind);
	dp->rt_host_fd = bpf_map__fd(dp->skmsg->maps.gw_rt_host);
	dp->rt_vhost_fd = bpf_map__fd(dp->skmsg->maps.gw_rt_vhost);
	pr_info("dataplane: %s maps under %s", dp->created_maps ? "created" : "adopted", dp->dir);
out:
	return err;
}

/* gw_dp_attach_skmsg() : attaches sk_msg to the sockhash (replacing whatever
 * program a previous daemon left there: attach is idempotent) and pins it */
static int gw_dp_attach_skmsg(struct gw_dataplane *dp)
{
	int prog_fd = bpf_program__fd(dp->skmsg->progs.gw_sk_msg);
	char path[PATH_MAX];
	int err;

	err = bpf_prog_attach(prog_fd, dp->sock_hash_fd, BPF_SK_MSG_VERDICT, 0);
	if (err && err != -EEXIST) {
		pr_warn("dataplane: attaching sk_msg to the sockhash: %s", strerror(-err));
		return err;
	}
	gw_dp_pin_path(dp->dir, GW_PIN_SKMSG_PROG, path);
	unlink(path); /* the previous daemon's program, now replaced */
	if (bpf_obj_pin(prog_fd, path)) {
		err = -errno;
		pr_warn("dataplane: pinning %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

/* gw_dp_attach_sockops() : makes the pinned sockops link point at our
 * program on cgroup cg_fd. A link of a previous daemon on the same cgroup is
 * adopted (program swapped in place: no window without sockops); one on
 * another cgroup, or any when cg_fd < 0, is removed because the user's
 * current options say so. */
static int gw_dp_attach_sockops(struct gw_dataplane *dp, int cg_fd, uint64_t cg_id)
{
	struct bpf_program *prog = dp->sockops->progs.gw_sockops;
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);
	struct bpf_link *link;
	char path[PATH_MAX];
	int err = 0;

	gw_dp_pin_path(dp->dir, GW_PIN_SOCKOPS, path);
	link = access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
	if (link) {
		if (cg_fd >= 0 && !bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) &&
		    info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == cg_id &&
		    !bpf_link__update_program(link, prog)) {
			dp->sockops_link = link;
			dp->adopted_link = true;
			pr_info("dataplane: adopted sockops link on cgroup id %llu",
				(unsigned long long)cg_id);
			return 0;
		}
		pr_info("dataplane: removing the sockops attachment of a previous run (%s)",
			cg_fd < 0 ? "no cgroup given now" : "cgroup changed");
		unlink(path);
		bpf_link__destroy(link);
	}
	if (cg_fd < 0)
		return 0;
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link) {
		err = -errno;
		pr_warn("dataplane: attaching sockops to the cgroup: %s", strerror(-err));
		return err;
	}
	err = bpf_link__pin(link, path);
	if (err) {
		pr_warn("dataplane: pinning %s: %s", path, strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	dp->sockops_link = link;
	return 0;
}

/* gw_dp_unpin_all() : removes gwbpf's pins (and nothing else) from dir */
static void gw_dp_unpin_all(struct gw_dataplane *dp)
{
	char path[PATH_MAX];

	unlink(gw_dp_pin_path(dp->dir, GW_PIN_SOCKOPS, path));
	unlink(gw_dp_pin_path(dp->dir, GW_PIN_SKMSG_PROG, path));
	for (size_t i = 0; i < ARRAY_SIZE(gw_dp_map_pins); i++)
		unlink(gw_dp_pin_path(dp->dir, gw_dp_map_pins[i], path));
}

static void gw_dp_free(struct gw_dataplane *dp)
{
	gw_dp_loan_close(dp);
	bpf_link__destroy(dp->sockops_link);
	sk_msg__destroy(dp->skmsg);
	sockops__destroy(dp->sockops);
	free(dp);
}

/* gw_dp_remove_dir() : the pin directory goes when it is empty and ours */
static void gw_dp_remove_dir(struct gw_dataplane *dp)
{
	if (dp->mounted_dir && umount2(dp->dir, MNT_DETACH) == 0)
		dp->mounted_dir = false;
	rmdir(dp->dir); /* fails harmlessly when someone else's files are there */
}

struct gw_dataplane *gw_dataplane_open(const struct gw_dataplane_opts *opts)
{
	const struct gw_dataplane_opts defaults = {};
	struct gw_dataplane *dp;
	uint64_t cg_id = 0;
	int cg_fd = -1;
	uint32_t set;
	int err;

	if (!opts)
		opts = &defaults;
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		errno = ENOMEM;
		return NULL;
	}
	dp->sock_hash_fd = dp->ports_fd = dp->config_fd = -1;
	dp->rt_epoch_fd = dp->rt_bind_fd = dp->rt_host_fd = dp->rt_vhost_fd = -1;
	dp->flags = opts->flags ? opts->flags : GW_DP_F_DEFAULT;
	snprintf(dp->dir, sizeof(dp->dir), "%s", opts->bpffs ? opts->bpffs : GW_DP_BPFFS_DEFAULT);
	libbpf_set_print(gw_dp_libbpf_print);

	if (opts->cgroup && (dp->flags & GW_DP_F_SKMSG)) {
		cg_fd = gw_dp_open_cgroup(opts->cgroup, dp->flags, &cg_id);
		if (cg_fd < 0) {
			err = cg_fd;
			goto out;
		}
	}
	err = gw_dp_prepare_dir(dp);
	if (err)
		goto out;
	err = gw_dp_load(dp);
	if (err)
		goto out;
	gw_dp_prune_retired(dp);
	err = gw_dp_attach_skmsg(dp);
	if (err)
		goto out;
	err = gw_dp_attach_sockops(dp, cg_fd, cg_id);
	if (err)
		goto out;
	set = (dp->flags & GW_DP_F_SKMSG) ? GW_CFG_F_BYPASS : 0;
	set |= (dp->flags & GW_DP_F_STEER) ? GW_CFG_F_STEER : 0;
	if ((dp->flags & GW_DP_F_STEER_FWD) && (dp->flags & GW_DP_F_SKMSG)) {
		/* forwarding needs the decision (and its tables) too */
		dp->flags |= GW_DP_F_STEER;
		err = gw_dp_loan_open(dp);
		if (err)
			goto out;
		set |= GW_CFG_F_STEER | GW_CFG_F_STEER_FWD;
	}
	err = gw_dp_config_update(dp->config_fd, set,
				  (GW_CFG_F_BYPASS | GW_CFG_F_STEER | GW_CFG_F_STEER_FWD) & ~set,
				  (dp->flags & GW_DP_F_SCOPE_PORTS) ? GW_SCOPE_PORTS : GW_SCOPE_LOOPBACK,
				  UINT64_MAX);
	if (err)
		goto out;
	pr_info("dataplane: sk_msg bypass %s%s%s", set ? "on" : "off",
		opts->cgroup && set ? " for cgroup " : " (no cgroup: nothing is accelerated)",
		opts->cgroup && set ? opts->cgroup : "");
out:
	if (cg_fd >= 0)
		close(cg_fd);
	if (err) {
		/* undo only what this call created; adopted pins stay as found */
		if (dp->sockops_link && !dp->adopted_link) {
			char path[PATH_MAX];

			unlink(gw_dp_pin_path(dp->dir, GW_PIN_SOCKOPS, path));
		}
		if (dp->created_maps)
			gw_dp_unpin_all(dp);
		if (dp->created_dir)
			gw_dp_remove_dir(dp);
		gw_dp_free(dp);
		errno = -err;
		return NULL;
	}
	return dp;
}

void gw_dataplane_close(struct gw_dataplane *dp, bool keep_pinned)
{
	if (!dp)
		return;
	if (!keep_pinned) {
		/* Sockets already in the map keep their psock (and with it the
		 * programs and maps) until they close; switching the bypass off
		 * sends their new writes over TCP, and what was already delivered
		 * is read first, so nothing is reordered or lost. */
		gw_dp_config_update(dp->config_fd, 0, GW_CFG_F_BYPASS | GW_CFG_F_STEER_FWD, -1,
				    UINT64_MAX);
		gw_dp_unpin_all(dp);
		gw_dp_remove_dir(dp);
	}
	gw_dp_free(dp);
}
