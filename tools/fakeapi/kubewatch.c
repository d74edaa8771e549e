/* tools/fakeapi/kubewatch.c - the kube source and status writer, alone.
 *
 * What `gwbpf run --kube` does minus the data plane: list+watch into a
 * store, translate every new store, hand the status to the writer. After
 * each change it writes a JSON summary (synced, leader, objects with their
 * resourceVersion) to --out, replaced atomically, for tests to poll.
 *
 *   kubewatch --kubeconfig FILE --out FILE [--identity ID] [--lease-duration S]
 *             [--renew S] [--rediscover S] [--no-status] [--seconds MAX]
 */
#include "gwbpf/api.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gwbpf/diag.h"
#include "gwbpf/kube.h"
#include "gwbpf/log.h"
#include "gwbpf/store.h"
#include "gwbpf/translate.h"

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	stop = 1;
}

static int dump(const char *out, struct gw_kube_source *ks)
{
	const struct gw_store *st = gw_kube_source_store(ks);
	struct gw_object **v = NULL;
	ssize_t n = gw_store_list(st, NULL, NULL, &v);
	json_t *doc = json_pack("{s:b, s:b, s:[]}", "synced", gw_kube_source_synced(ks), "leader",
				gw_kube_source_is_leader(ks), "objects");
	char tmp[4096];
	int err;

	for (ssize_t i = 0; doc && i < n; i++) {
		char ref[512];

		snprintf(ref, sizeof(ref), "%s %s%s%s", v[i]->kind, v[i]->ns, *v[i]->ns ? "/" : "",
			 v[i]->name);
		json_array_append_new(json_object_get(doc, "objects"),
				      json_pack("{s:s, s:s}", "ref", ref, "resourceVersion",
						v[i]->resource_version ? v[i]->resource_version : ""));
	}
	free(v);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	err = doc ? json_dump_file(doc, tmp, JSON_INDENT(1)) : -1;
	json_decref(doc);
	if (err || rename(tmp, out))
		return -EIO;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "identity", required_argument, NULL, 'i' },
		{ "lease-duration", required_argument, NULL, 'l' },
		{ "renew", required_argument, NULL, 'r' },
		{ "rediscover", required_argument, NULL, 'd' },
		{ "no-status", no_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	struct gw_kube_source_opts o = { 0 };
	struct gw_kube_config cfg = { 0 };
	struct gw_diag_list diags = { 0 };
	struct gw_kube_source *ks = NULL;
	const char *kc = NULL, *out = NULL;
	int c, ret = 1, seconds = 300;
	bool leader = false;
	time_t end;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k': kc = optarg; break;
		case 'o': out = optarg; break;
		case 'i': o.identity = optarg; break;
		case 'l': o.lease_duration_s = atoi(optarg); break;
		case 'r': o.renew_s = atoi(optarg); break;
		case 'd': o.rediscover_s = atoi(optarg); break;
		case 'n': o.no_status = true; break;
		case 's': seconds = atoi(optarg); break;
		case 'v': gw_log_set_level(GW_LOG_DEBUG); break;
		default: return 2;
		}
	}
	if (!kc || !out) {
		fprintf(stderr, "usage: kubewatch --kubeconfig FILE --out FILE [...]\n");
		return 2;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	if (gw_kubeconfig_load(kc, &cfg, &diags)) {
		gw_diag_print(&diags, stderr);
		goto out;
	}
	o.cfg = &cfg;
	ks = gw_kube_source_new(&o);
	if (!ks) {
		fprintf(stderr, "kubewatch: %s\n", strerror(errno));
		goto out;
	}
	end = time(NULL) + seconds;
	while (!stop && time(NULL) < end) {
		struct pollfd p = { .fd = gw_kube_source_fd(ks), .events = POLLIN };
		bool changed = false;

		if (poll(&p, 1, 200) > 0)
			gw_kube_source_handle(ks, &changed);
		if (changed) {
			struct gw_translate_opts to = { .now = time(NULL) };
			struct gw_translation *t = NULL;

			if (!gw_translate(gw_kube_source_store(ks), &to, &t))
				gw_kube_source_set_status(ks, t);
			gw_translation_free(t);
		}
		if (changed || leader != gw_kube_source_is_leader(ks)) {
			leader = gw_kube_source_is_leader(ks);
			dump(out, ks);
		}
	}
	ret = 0;
out:
	gw_kube_source_free(ks);
	gw_kube_config_clear(&cfg);
	gw_diag_list_free(&diags);
	return ret;
}
