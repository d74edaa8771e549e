/* source/kube_lease.c - the Lease election: one gwbpf instance (the
 * holder of coordination.k8s.io Lease GW_KUBE_LEASE_NAME) writes status,
 * the others only serve. Runs on the Kubernetes source's thread; the
 * writer renews between status writes and the informer between list pages,
 * since either can outlast a Lease at thousands of objects.
 */
#include "gwbpf/api.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gwbpf/kube.h"
#include "gwbpf/log.h"

#include "kube-int.h"

static void fmt_microtime(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char t[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ldZ", t, ts.tv_nsec / 1000);
}

static void set_leader(struct gw_kube_source *s, bool on)
{
	if (atomic_load(&s->leader) != on) {
		pr_info("kube: %s the status writer Lease %s/%s as %s\n",
			on ? "holding" : "lost", s->lease_ns, GW_KUBE_LEASE_NAME, s->identity);
		if (on)
			s->wr_dirty = true; /* a new leader checks everything once */
	}
	atomic_store(&s->leader, on);
}

/* gw_kube_lease_try() : acquire or renew. Expiry is judged by our own clock since
 * the record last changed (as client-go does), not by comparing renewTime
 * with our wall clock, so node clock skew cannot make two leaders. */
void gw_kube_lease_try(struct gw_kube_source *s, bool release)
{
	char path[512], now[64];
	json_t *cur = NULL, *spec, *body = NULL;
	const char *holder, *rv;
	char *txt = NULL;
	long code;
	bool mine;
	json_int_t transitions;

	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s",
		 s->lease_ns, GW_KUBE_LEASE_NAME);
	fmt_microtime(now, sizeof(now));
	if (gw_kube_request(s, "GET", path, NULL, NULL, &code, &cur))
		goto fail;
	if (code == 404) {
		if (release)
			goto out;
		body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}",
				 "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata",
				 "name", GW_KUBE_LEASE_NAME, "namespace", s->lease_ns, "spec",
				 "holderIdentity", s->identity, "leaseDurationSeconds",
				 s->lease_duration_s, "acquireTime", now, "renewTime", now,
				 "leaseTransitions", 0);
		txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
		snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases",
			 s->lease_ns);
		json_decref(cur);
		cur = NULL;
		if (!txt || gw_kube_request(s, "POST", path, txt, "application/json", &code, NULL))
			goto fail;
		if (code == 201 || code == 200) {
			s->lease_renewed = gw_kube_now_ms();
			set_leader(s, true);
		}
		goto out;
	}
	if (code != 200 || !json_is_object(cur))
		goto fail;
	spec = json_object_get(cur, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(cur, "spec", spec);
	}
	holder = json_string_value(json_object_get(spec, "holderIdentity"));
	rv = json_string_value(gw_kube_jpath(cur, "metadata.resourceVersion"));
	mine = holder && !strcmp(holder, s->identity);
	if (!mine) {
		int64_t dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));

		set_leader(s, false);
		if (release)
			goto out;
		if (!s->lease_seen_rv || !rv || strcmp(s->lease_seen_rv, rv)) {
			free(s->lease_seen_rv);
			s->lease_seen_rv = rv ? strdup(rv) : NULL;
			s->lease_seen_ms = gw_kube_now_ms();
		}
		/* held and renewed within its duration: not ours to take */
		if (holder && *holder && gw_kube_now_ms() - s->lease_seen_ms < (uint64_t)dur * 1000)
			goto out;
		pr_info("kube: Lease held by \"%s\" expired; taking it over\n", holder ? holder : "");
		transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
		json_object_set_new(spec, "leaseTransitions", json_integer(transitions + 1));
		json_object_set_new(spec, "acquireTime", json_string(now));
	}
	json_object_set_new(spec, "holderIdentity", json_string(release ? "" : s->identity));
	json_object_set_new(spec, "leaseDurationSeconds",
			    json_integer(release ? 1 : s->lease_duration_s));
	json_object_set_new(spec, "renewTime", json_string(now));
	txt = json_dumps(cur, JSON_COMPACT);
	if (!txt || gw_kube_request(s, "PUT", path, txt, "application/json", &code, NULL))
		goto fail;
	if (code == 200 && !release) {
		s->lease_renewed = gw_kube_now_ms();
		set_leader(s, true);
	} else if (code == 409) {
		set_leader(s, false); /* someone else wrote it first */
	} else if (release) {
		set_leader(s, false);
	}
	goto out;
fail:
	/* a leader that cannot renew steps down before its Lease can expire */
	if (atomic_load(&s->leader) &&
	    gw_kube_now_ms() - s->lease_renewed > (uint64_t)(s->lease_duration_s * 1000) * 2 / 3)
		set_leader(s, false);
out:
	free(txt);
	json_decref(body);
	json_decref(cur);
}

/* gw_kube_lease_tick() : renews (or tries to take) the Lease when its time has
 * come; called from the thread loop and between status writes, which at
 * thousands of objects last longer than the Lease itself */
void gw_kube_lease_tick(struct gw_kube_source *s)
{
	if (gw_kube_now_ms() < s->next_lease)
		return;
	gw_kube_lease_try(s, false);
	s->next_lease = gw_kube_now_ms() + (uint64_t)s->renew_s * 1000;
}
