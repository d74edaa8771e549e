/* gwbpf/translate.h - store -> (IR snapshot, status of every object).
 *
 * Pure: no I/O, no globals, no clock (time comes in opts). All Gateway API
 * semantics live behind this one call.
 */
#ifndef GWBPF_TRANSLATE_H
#define GWBPF_TRANSLATE_H

#include "gwbpf/api.h"
#include "gwbpf/translate-t.h"

/* gw_translate() : returns 0 and a new translation in *out, or -ENOMEM.
 * Invalid objects never make it fail: they get a status instead. */
int gw_translate(const struct gw_store *store, const struct gw_translate_opts *opts,
		 struct gw_translation **out);
void gw_translation_free(struct gw_translation *t); /* accepts NULL */

/* gw_translation_status_list() : the Kubernetes List document
 * {"apiVersion":"v1","kind":"List","items":[...]} as a new json_t *, each item
 * with apiVersion, kind, metadata (namespace, name, generation) and status */
void *gw_translation_status_list(const struct gw_translation *t);

#endif
