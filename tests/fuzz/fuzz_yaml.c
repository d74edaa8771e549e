/* tests/fuzz/fuzz_yaml.c - libFuzzer driver for the manifest loader.
 *
 * Whatever the bytes, loading, building objects and validating them must
 * neither crash nor leak; every rejection must come with a diagnostic.
 */
#include "gwbpf/api.h"

#include "gwbpf/diag.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"

/* the CRD schema tables are generated into the build folder (make all) and
 * are not among the userspace/ sources tests/fuzz/lib.sh archives */
#include "gen/schema.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_diag_list diags = { 0 };
	struct gw_doc_list docs = { 0 };
	struct gw_store *store;
	int err;

	gw_log_set_level(GW_LOG_ERROR);
	err = gw_yaml_load_buf("fuzz.yaml", (const char *)data, size, &docs, &diags);
	if (err && !diags.n_errors && err != -ENOMEM)
		__builtin_trap(); /* a rejection without a reason */
	store = gw_store_new();
	for (size_t i = 0; store && i < docs.n; i++) {
		struct gw_node *copy = gw_node_clone(docs.v[i].root);
		struct gw_object **objs = NULL;
		size_t n = 0;

		gw_node_free(copy);
		gw_objects_from_doc(docs.v[i].root, docs.v[i].file, &objs, &n, &diags);
		docs.v[i].root = NULL;
		for (size_t j = 0; j < n; j++) {
			if (gw_validate_object(objs[j], &diags) == 0)
				gw_store_put(store, gw_object_get(objs[j]));
			gw_object_put(objs[j]);
		}
		free(objs);
	}
	gw_store_free(store);
	for (size_t i = 0; i < diags.n; i++) {
		char line[2048];

		gw_diag_format(&diags.v[i], line, sizeof(line));
	}
	gw_doc_list_free(&docs);
	gw_diag_list_free(&diags);
	return 0;
}
