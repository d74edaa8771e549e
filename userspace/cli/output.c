/* cli/output.c - printing documents as JSON or YAML.
 *
 * Status documents are built as jansson values; YAML output is emitted from
 * the same value so `-o yaml` and `-o json` always agree. Strings are always
 * double-quoted in YAML, which keeps the emitter small and unambiguous.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include <jansson.h>

#include "gwbpf/cli.h"

static void yaml_str(const char *s, FILE *f)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\x%02x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void yaml_scalar(const json_t *v, FILE *f)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		yaml_str(json_string_value(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", f);
		break;
	case JSON_FALSE:
		fputs("false", f);
		break;
	default:
		fputs("null", f);
	}
}

static bool yaml_is_empty_coll(const json_t *v)
{
	return (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

static void yaml_value(const json_t *v, int indent, FILE *f);

/* writes "key: value" pairs at indent; the first line's indent is already out when inline */
static void yaml_object(const json_t *v, int indent, bool inline_first, FILE *f)
{
	const char *k;
	json_t *val;
	bool first = true;

	json_object_foreach((json_t *)v, k, val) {
		if (!(first && inline_first))
			fprintf(f, "%*s", indent, "");
		first = false;
		fprintf(f, "%s:", k);
		if (yaml_is_empty_coll(val)) {
			fputs(json_is_object(val) ? " {}\n" : " []\n", f);
		} else if (json_is_object(val)) {
			fputc('\n', f);
			yaml_object(val, indent + 2, false, f);
		} else if (json_is_array(val)) {
			fputc('\n', f);
			yaml_value(val, indent, f);
		} else {
			fputc(' ', f);
			yaml_scalar(val, f);
			fputc('\n', f);
		}
	}
}

static void yaml_value(const json_t *v, int indent, FILE *f)
{
	size_t i;
	json_t *it;

	if (json_is_object(v)) {
		yaml_object(v, indent, false, f);
		return;
	}
	if (!json_is_array(v)) {
		fprintf(f, "%*s", indent, "");
		yaml_scalar(v, f);
		fputc('\n', f);
		return;
	}
	json_array_foreach((json_t *)v, i, it) {
		fprintf(f, "%*s- ", indent, "");
		if (yaml_is_empty_coll(it)) {
			fputs(json_is_object(it) ? "{}\n" : "[]\n", f);
		} else if (json_is_object(it)) {
			yaml_object(it, indent + 2, true, f);
		} else if (json_is_array(it)) {
			fputc('\n', f);
			yaml_value(it, indent + 2, f);
		} else {
			yaml_scalar(it, f);
			fputc('\n', f);
		}
	}
}

void gw_cli_print_doc(const void *json, enum gw_out_fmt fmt, FILE *f)
{
	const json_t *v = json;

	if (!v)
		return;
	if (fmt == GW_OUT_YAML) {
		if (yaml_is_empty_coll(v))
			fputs(json_is_object(v) ? "{}\n" : "[]\n", f);
		else
			yaml_value(v, 0, f);
		return;
	}
	json_dumpf(v, f,
		   JSON_PRESERVE_ORDER | (gw_cli.pretty || fmt == GW_OUT_TABLE ? JSON_INDENT(2) : 0));
	fputc('\n', f);
}
