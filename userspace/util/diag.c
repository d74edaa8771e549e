/* util/diag.c - diagnostics list (see gwbpf/diag.h). */
#include "gwbpf/api.h"

#include <stdarg.h>
#include <stdio.h>

#include "gwbpf/diag.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int gw_diag_add(struct gw_diag_list *dl, enum gw_diag_severity sev, const struct gw_mark *mark,
		const char *object, const char *field, const char *fmt, ...)
{
	struct gw_diag *d;
	char msg[1024];
	va_list ap;

	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 8;
		struct gw_diag *v = realloc(dl->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		dl->v = v;
		dl->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	d = &dl->v[dl->n];
	memset(d, 0, sizeof(*d));
	d->severity = sev;
	d->file = dup_or_null(mark ? mark->file : NULL);
	d->line = mark ? mark->line : 0;
	d->col = mark ? mark->col : 0;
	d->object = dup_or_null(object);
	d->field = dup_or_null(field);
	d->msg = strdup(msg);
	if (!d->msg || (mark && mark->file && !d->file) || (object && !d->object) ||
	    (field && !d->field)) {
		free(d->file);
		free(d->object);
		free(d->field);
		free(d->msg);
		return -ENOMEM;
	}
	dl->n++;
	if (sev == GW_DIAG_ERROR)
		dl->n_errors++;
	return 0;
}

int gw_diag_format(const struct gw_diag *d, char *buf, size_t size)
{
	char loc[512] = "";

	if (d->file && d->line)
		snprintf(loc, sizeof(loc), "%s:%u: ", d->file, d->line);
	else if (d->file)
		snprintf(loc, sizeof(loc), "%s: ", d->file);
	return snprintf(buf, size, "%s%s%s%s%s", loc,
			d->severity == GW_DIAG_WARNING ? "warning: " : "", d->field ? d->field : "",
			d->field ? ": " : "", d->msg);
}

void gw_diag_print(const struct gw_diag_list *dl, FILE *f)
{
	char line[2048];

	for (size_t i = 0; i < dl->n; i++) {
		gw_diag_format(&dl->v[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
}

int gw_diag_append(struct gw_diag_list *dst, struct gw_diag_list *src)
{
	if (!src->n)
		return 0;
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->n + src->n;
		struct gw_diag *v = realloc(dst->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		dst->v = v;
		dst->cap = cap;
	}
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	dst->n_errors += src->n_errors;
	free(src->v);
	memset(src, 0, sizeof(*src));
	return 0;
}

void gw_diag_list_free(struct gw_diag_list *dl)
{
	if (!dl)
		return;
	for (size_t i = 0; i < dl->n; i++) {
		free(dl->v[i].file);
		free(dl->v[i].object);
		free(dl->v[i].field);
		free(dl->v[i].msg);
	}
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}
