/* cli/cmd_version.c - `gwbpf version`: versions and the kernel features found. */
#include "gwbpf/api.h"

#include <stdio.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <jansson.h>
#include <openssl/opensslv.h>
#include <openssl/crypto.h>

#include "gwbpf/cli.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == magic;
}

static bool file_has(const char *path, const char *word)
{
	char buf[1024] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return strstr(buf, word) != NULL;
}

static const char *cgroup2_mount(void)
{
	static const char *const cands[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };

	for (size_t i = 0; i < ARRAY_SIZE(cands); i++)
		if (fs_is(cands[i], CGROUP2_SUPER_MAGIC))
			return cands[i];
	return NULL;
}

int gw_cmd_version(int argc, char **argv)
{
	struct {
		const char *name;
		bool ok;
	} feats[] = {
		{ "btf", access("/sys/kernel/btf/vmlinux", R_OK) == 0 },
		{ "bpffs", fs_is("/sys/fs/bpf", BPF_FS_MAGIC) },
		{ "cgroup2", cgroup2_mount() != NULL },
		{ "sockhash", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL) == 1 },
		{ "sk_msg", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL) == 1 },
		{ "sk_skb", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_SKB, NULL) == 1 },
		{ "sockops", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL) == 1 },
		{ "xdp", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) == 1 },
		{ "ktls", file_has("/proc/sys/net/ipv4/tcp_available_ulp", "tls") },
	};
	char libbpf_ver[32];
	struct utsname u;

	(void)argc;
	(void)argv;
	snprintf(libbpf_ver, sizeof(libbpf_ver), "%u.%u", libbpf_major_version(),
		 libbpf_minor_version());
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	if (gw_cli.fmt == GW_OUT_JSON) {
		json_t *o = json_object(), *f = json_object();

		json_object_set_new(o, "version", json_string(GW_VERSION));
		json_object_set_new(o, "libbpf", json_string(libbpf_ver));
		json_object_set_new(o, "openssl", json_string(OpenSSL_version(OPENSSL_VERSION)));
		json_object_set_new(o, "kernel", json_string(u.release));
		for (size_t i = 0; i < ARRAY_SIZE(feats); i++)
			json_object_set_new(f, feats[i].name, json_boolean(feats[i].ok));
		json_object_set_new(o, "features", f);
		gw_cli_print_doc(o, GW_OUT_JSON, stdout);
		json_decref(o);
		return GW_EXIT_OK;
	}
	printf("gwbpf %s\nlibbpf %s\n%s\nkernel %s\nfeatures:", GW_VERSION, libbpf_ver,
	       OpenSSL_version(OPENSSL_VERSION), u.release);
	for (size_t i = 0; i < ARRAY_SIZE(feats); i++)
		printf(" %s%s", feats[i].ok ? "" : "no-", feats[i].name);
	printf("\n");
	return GW_EXIT_OK;
}
