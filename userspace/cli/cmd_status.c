/* cli/cmd_status.c - `gwbpf status [gateways|routes|backends|maps|conns] [--json]`
 *
 * Object status comes from the running daemon's admin endpoint (/status),
 * the very document a cluster would show. BPF state (maps, conns) is read
 * from the pinned maps, so it works with or without the daemon.
 */
#include "gwbpf/api.h"

#include <getopt.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gwbpf/cli.h"
#include "gwbpf/status_view.h"
#include "gwbpf/bpfstat.h"

#define ADMIN_DEFAULT "127.0.0.1:9901"
#define MAX_DOC	      (64u << 20)

struct fetch_buf {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch_buf *b = arg;
	size_t n = size * nmemb;
	char *np;

	if (b->len + n > MAX_DOC) {
		b->too_big = true;
		return 0;
	}
	np = realloc(b->p, b->len + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, ptr, n);
	b->p = np;
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

/* fetch_json() : GET http://admin/path; returns a new json_t * or NULL with a
 * message already printed (none for a 404 when optional: an older daemon) */
static json_t *fetch_json(const char *admin, const char *path, bool optional)
{
	struct fetch_buf b = { 0 };
	json_t *doc = NULL;
	char url[512];
	long code = 0;
	json_error_t jerr;
	CURLcode rc;
	CURL *c;

	snprintf(url, sizeof(url), "http://%s%s", admin, path);
	c = curl_easy_init();
	if (!c) {
		gw_cli_err("status: cannot initialise libcurl");
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		gw_cli_err("status: cannot reach the gwbpf admin endpoint at %s: %s "
			   "(is 'gwbpf run' running? use --admin ADDR)",
			   admin, b.too_big ? "document too large" : curl_easy_strerror(rc));
		goto out;
	}
	if (code != 200) {
		if (!optional || code != 404)
			gw_cli_err("status: %s answered HTTP %ld", url, code);
		goto out;
	}
	doc = json_loadb(b.p ? b.p : "", b.len, 0, &jerr);
	if (!doc)
		gw_cli_err("status: invalid JSON from %s: %s", url, jerr.text);
out:
	free(b.p);
	return doc;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: gwbpf status [gateways|routes|backends|maps|conns] [--json] [--admin ADDR]\n"
		   "                    [--bpffs DIR]\n\n"
		   "Without an object, shows every object's status. gateways/routes/backends ask\n"
		   "the running daemon (admin endpoint, default " ADMIN_DEFAULT ");\n"
		   "routes also shows each route's requests kept in the kernel vs served by the\n"
		   "proxy, and each kernel mechanism's counters and fallbacks by reason.\n"
		   "maps/conns read the pinned BPF maps (default /sys/fs/bpf/gwbpf), daemon or not.\n");
}

int gw_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "admin", required_argument, NULL, 'a' },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const objs[] = { "gateways", "routes", "backends", "maps", "conns" };
	const char *admin = ADMIN_DEFAULT, *bpffs = "/sys/fs/bpf/gwbpf", *what = NULL;
	enum gw_view view = GW_VIEW_ALL;
	json_t *doc = NULL;
	int ret = GW_EXIT_FAIL;
	int c;

	while ((c = getopt_long(argc, argv, "ja:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			gw_cli.fmt = GW_OUT_JSON;
			break;
		case 'a':
			admin = optarg;
			break;
		case 'b':
			bpffs = optarg;
			break;
		case 'h':
			usage(stdout);
			return GW_EXIT_OK;
		default:
			usage(stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
			if (!strncmp(objs[i], argv[optind], strlen(argv[optind])))
				what = objs[i];
		if (!what || optind + 1 < argc) {
			gw_cli_err("status: unknown object '%s'", argv[optind]);
			usage(stderr);
			return GW_EXIT_USAGE;
		}
	}

	if (what && (!strcmp(what, "maps") || !strcmp(what, "conns"))) {
		doc = gw_bpfstat_read(bpffs, !strcmp(what, "conns"));
		if (!doc) {
			gw_cli_err("status: cannot read BPF state under %s: %s", bpffs,
				   strerror(errno));
			goto out;
		}
		if (gw_cli.fmt == GW_OUT_JSON)
			gw_cli_print_doc(doc, GW_OUT_JSON, stdout);
		else
			gw_bpfstat_print(doc, stdout);
		ret = GW_EXIT_OK;
		goto out;
	}

	if (what)
		view = !strcmp(what, "gateways") ? GW_VIEW_GATEWAYS :
		       !strcmp(what, "routes")	 ? GW_VIEW_ROUTES :
						   GW_VIEW_BACKENDS;
	doc = fetch_json(admin, "/status", false);
	if (!doc)
		goto out;
	if (view != GW_VIEW_ALL) {
		/* kernel vs proxy requests per route, the clusters and
		 * endpoints of each rule, the routes and hosts of each
		 * listener: the daemon joins the pinned counters with
		 * its snapshot; a daemon without /status/routes shows status only */
		json_t *rs = fetch_json(admin, "/status/routes", true);

		if (rs && gw_status_view_join_routes(doc, rs)) {
			json_decref(rs);
			gw_cli_err("status: out of memory");
			goto out;
		}
		json_decref(rs);
	}
	if (gw_cli.fmt == GW_OUT_JSON) {
		/* the same objects the table would show */
		json_t *sel = gw_status_view_filter(doc, view);

		if (!sel) {
			gw_cli_err("status: out of memory");
			goto out;
		}
		gw_cli_print_doc(sel, GW_OUT_JSON, stdout);
		json_decref(sel);
	} else
		gw_status_view_print(doc, view, stdout);
	ret = GW_EXIT_OK;
out:
	json_decref(doc);
	return ret;
}
