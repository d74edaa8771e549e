/* source/kube-int.h - what the three parts of the Kubernetes source share:
 * the informer (kube.c: list+watch into the working store, the thread and
 * the public API), the Lease election (kube_lease.c) and the status writer
 * (kube_writer.c). All of them run on the source's one worker thread,
 * except where struct gw_kube_source says "under lock" or "main thread".
 * Not a contract: only userspace/source/kube*.c include it.
 */
#ifndef GWBPF_SOURCE_KUBE_INT_H
#define GWBPF_SOURCE_KUBE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gwbpf/kube.h"
#include "gwbpf/node-t.h"
#include "gwbpf/store-t.h"

#define GW_GROUP      "gateway.networking.k8s.io"
#define REQ_TIMEOUT_S 15 /* one blocking request, or one status PATCH */

/* a growing byte buffer (response bodies, watch lines); all-zero is empty */
struct gw_kube_buf {
	char *p;
	size_t n, cap;
};

/* one object's status as the translator computed it */
struct gw_kube_status_item {
	struct gw_object *obj; /* reference */
	json_t *status;        /* deep copy, may be NULL */
};

struct watcher; /* kube.c */

struct gw_kube_source {
	/* immutable after new() */
	struct gw_kube_config cfg;
	char *identity, *lease_ns, *controller, *ua;
	int lease_duration_s, renew_s, rediscover_s;
	bool no_status;
	int efd;

	/* shared with the main thread, under lock */
	pthread_mutex_t lock;
	struct gw_store *pending;     /* published, not yet adopted */
	struct gw_kube_status_item *st_items; /* latest statuses from main */
	size_t n_st_items;
	bool st_new;
	atomic_bool stop;
	atomic_bool leader;
	atomic_bool synced;

	/* main thread only */
	struct gw_store *current;

	/* worker thread only */
	pthread_t thr;
	bool started;
	CURLM *multi;
	CURL *req;                    /* for blocking requests */
	struct gw_store *work;
	uint64_t published_version;   /* effective version (below) last published */
	uint64_t quiet_versions;      /* store versions spent on status-only updates */
	uint64_t n_quiet, n_quiet_logged; /* status-only updates seen, and logged */
	uint64_t quiet_log_at;        /* when they were last logged (ms) */
	uint64_t publish_at;          /* a change waits this long for more */
	uint64_t next_seq;
	struct watcher **w;           /* each allocated alone: transfers point at them */
	size_t n_w;
	uint64_t next_discovery;
	unsigned int disc_backoff_ms;
	struct gw_kube_status_item *wr_items; /* statuses the writer works from */
	size_t n_wr_items;
	bool wr_dirty;
	uint64_t wr_next;
	json_t *node_addrs;           /* cached status.addresses of the nodes, or NULL */
	uint64_t node_addrs_at;
	/* lease */
	uint64_t next_lease;
	uint64_t lease_renewed;       /* when we last renewed ours (ms) */
	char *lease_seen_rv;          /* observed record of another holder ... */
	uint64_t lease_seen_ms;       /* ... and when it last changed, by our clock */
};

/* ---- kube.c: helpers and HTTP ---- */

uint64_t gw_kube_now_ms(void); /* CLOCK_MONOTONIC in ms */
/* gw_kube_buf_add() : appends n bytes (kept NUL-terminated); -E2BIG past
 * max bytes, -ENOMEM */
int gw_kube_buf_add(struct gw_kube_buf *b, const char *p, size_t n, size_t max);
void gw_kube_buf_free(struct gw_kube_buf *b); /* leaves it empty */
/* gw_kube_jpath() : the value at a dotted path of objects ("metadata.name"), borrowed */
json_t *gw_kube_jpath(const json_t *j, const char *path);
/* gw_kube_node_to_json() : a node tree as JSON; new reference, NULL when
 * out of memory */
json_t *gw_kube_node_to_json(const struct gw_node *n);
/* gw_kube_set_common() : URL, headers (borrowed: they must outlive e),
 * TLS and timeouts every transfer to the API server shares */
void gw_kube_set_common(struct gw_kube_source *s, CURL *e, const char *url,
			struct curl_slist *h);
/* gw_kube_headers() : Accept, Content-Type (when ctype), Authorization;
 * new list for curl_slist_free_all(), NULL when out of memory */
struct curl_slist *gw_kube_headers(struct gw_kube_source *s, const char *ctype);
/* gw_kube_reload_token() : re-reads the token file (after a 401) */
void gw_kube_reload_token(struct gw_kube_source *s);
/* gw_kube_request() : one blocking request with a total timeout. *code is
 * the HTTP status (0 when no response); *resp the parsed JSON body (new
 * reference, NULL when not JSON). Returns 0 when a response came, -EIO
 * otherwise. */
int gw_kube_request(struct gw_kube_source *s, const char *method, const char *path,
		    const char *body, const char *ctype, long *code, json_t **resp);

/* ---- kube_lease.c ---- */

/* gw_kube_lease_try() : acquire or renew the Lease (release: give it up);
 * sets s->leader */
void gw_kube_lease_try(struct gw_kube_source *s, bool release);
/* gw_kube_lease_tick() : gw_kube_lease_try() when the renew time has come */
void gw_kube_lease_tick(struct gw_kube_source *s);

/* ---- kube_writer.c ---- */

/* gw_kube_has_status() : true for the kinds whose status gwbpf writes */
bool gw_kube_has_status(const char *kind);
/* gw_kube_writer_step() : takes over the statuses main handed over, renews
 * the Lease and, as leader, writes what changed; one thread loop turn */
void gw_kube_writer_step(struct gw_kube_source *s, uint64_t now);
void gw_kube_items_free(struct gw_kube_status_item *v, size_t n); /* accepts NULL */

#endif /* GWBPF_SOURCE_KUBE_INT_H */
