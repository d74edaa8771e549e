/* gwbpf/diag-t.h - diagnostics carrying a source location and object ref. */
#ifndef GWBPF_DIAG_T_H
#define GWBPF_DIAG_T_H

#include <stddef.h>
#include <stdint.h>

enum gw_diag_severity {
	GW_DIAG_ERROR = 0,
	GW_DIAG_WARNING,
};

/* where a node came from; file is borrowed (owned by the document/object) */
struct gw_mark {
	const char *file; /* NULL when unknown (objects from the API server) */
	uint32_t line;    /* 1-based; 0 when unknown */
	uint32_t col;     /* 1-based; 0 when unknown */
};

struct gw_diag {
	enum gw_diag_severity severity;
	char *file;  /* owned copy; may be NULL */
	uint32_t line;
	uint32_t col;
	char *object; /* owned, "Kind ns/name" or NULL */
	char *field;  /* owned, "spec.rules[0].matches[0].path.value" or NULL */
	char *msg;    /* owned, never NULL */
};

struct gw_diag_list {
	struct gw_diag *v;
	size_t n;
	size_t cap;
	size_t n_errors; /* entries with GW_DIAG_ERROR */
};

#endif
