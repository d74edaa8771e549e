/* gwbpf/source.h - the file source: manifests from files and folders.
 *
 * Paths are files or folders (recursive: *.yaml, *.yml, *.json). Every
 * document is parsed (gw_yaml_load_*), turned into an object and validated
 * against the CRD rules (gw_validate_object); only valid objects enter the
 * store. On reload the policy is "last good": a file that fails to parse
 * keeps all of its previous objects, and an object whose new version is
 * invalid keeps its previous valid version (as the API server would refuse
 * the update); both are reported as diagnostics.
 *
 * Changes are seen with inotify (in-place writes, renames into place,
 * deletes, symlink swaps as in Kubernetes ConfigMap volumes) and debounced.
 */
#ifndef GWBPF_SOURCE_H
#define GWBPF_SOURCE_H

#include <stdbool.h>

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"
#include "gwbpf/store-t.h"

#define GW_FILE_SOURCE_DEBOUNCE_MS 200

struct gw_file_source;

/* gw_file_source_load() : one-shot load of paths into store (for validate and
 * tests). Valid objects are put in the store even when others fail. Returns
 * 0 when everything loaded and validated, -EINVAL when any diagnostic of
 * severity error was added, -ENOMEM. */
int gw_file_source_load(const char *const *paths, size_t n, struct gw_store *store,
			struct gw_diag_list *diags);

/* gw_file_source_new() : loads paths (as gw_file_source_load) and starts
 * watching them. paths are copied. NULL + errno on failure to watch. */
struct gw_file_source *gw_file_source_new(const char *const *paths, size_t n,
					  struct gw_diag_list *diags);
void gw_file_source_free(struct gw_file_source *s); /* accepts NULL */
/* gw_file_source_fd() : inotify fd to poll for readability */
int gw_file_source_fd(const struct gw_file_source *s);
/* gw_file_source_handle() : drains pending inotify events; when one is
 * relevant, arms the debounce deadline (now_ms + GW_FILE_SOURCE_DEBOUNCE_MS) */
int gw_file_source_handle(struct gw_file_source *s, uint64_t now_ms);
/* gw_file_source_deadline() : ms timestamp when a reload is due, 0 if none */
uint64_t gw_file_source_deadline(const struct gw_file_source *s);
/* gw_file_source_reload() : re-reads everything with the last-good policy,
 * clears the deadline. *changed is set when the store differs from before.
 * Returns 0, or -EINVAL when diagnostics of severity error were added. */
int gw_file_source_reload(struct gw_file_source *s, struct gw_diag_list *diags, bool *changed);
/* gw_file_source_store() : current store (borrowed; clone to keep) */
const struct gw_store *gw_file_source_store(const struct gw_file_source *s);

/* gw_validate_object() : checks o against its CRD schema and CEL rules (or the
 * built-in rules for core kinds). 0 valid, -EINVAL invalid (diagnostics
 * added with file:line: field.path: reason), -ENOENT unknown kind/version
 * (the caller skips it). */
int gw_validate_object(const struct gw_object *o, struct gw_diag_list *diags);

#endif
