/* gwbpf/diag.h - building and printing diagnostics.
 *
 * Every loader, validator and the translator append here; `gwbpf validate`
 * prints them as "file:line: field: message".
 */
#ifndef GWBPF_DIAG_H
#define GWBPF_DIAG_H

#include <stdio.h>

#include "gwbpf/api.h"
#include "gwbpf/diag-t.h"

/* gw_diag_add() : appends one diagnostic. mark, object and field may be NULL.
 * Strings are copied. Returns 0 or -ENOMEM. */
int gw_diag_add(struct gw_diag_list *dl, enum gw_diag_severity sev, const struct gw_mark *mark,
		const char *object, const char *field, const char *fmt, ...) GW_PRINTF(6, 7);
/* gw_diag_format() : "file:line: field: msg" (parts omitted when absent) into buf;
 * returns what snprintf returns */
int gw_diag_format(const struct gw_diag *d, char *buf, size_t size);
/* gw_diag_print() : one line per diagnostic */
void gw_diag_print(const struct gw_diag_list *dl, FILE *f);
/* gw_diag_append() : moves all entries of src to the end of dst (src left empty) */
int gw_diag_append(struct gw_diag_list *dst, struct gw_diag_list *src);
/* gw_diag_list_free() : frees entries; the list struct itself is the caller's (may be NULL) */
void gw_diag_list_free(struct gw_diag_list *dl);

#endif
