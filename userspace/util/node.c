/* util/node.c - YAML/JSON documents into gw_node trees (see gwbpf/node.h).
 *
 * libyaml's event parser drives a small explicit stack, so hostile nesting
 * never recurses in C: the depth limit is checked before a collection is
 * opened. JSON is a subset of YAML 1.2 flow syntax and goes through the same
 * path. Scalars are typed with the YAML 1.2 core schema (JSON's types), never
 * YAML 1.1's "yes"/"on" booleans: a value means what it looks like in JSON.
 *
 * Everything that would make two readers disagree about a document is
 * refused instead of guessed: anchors and aliases (billion-laughs and merge
 * keys), duplicate keys (the API server's strict decoding refuses them too),
 * non-scalar keys, custom tags, NUL bytes in keys.
 */
#include "gwbpf/api.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "gwbpf/diag.h"
#include "gwbpf/node.h"

/* one open collection while parsing */
struct frame {
	struct gw_node *node;
	size_t cap;           /* allocated slots in node->items */
	char *pending_key;    /* MAP: key read, value not yet */
	struct gw_mark key_mark;
};

struct loader {
	const char *file;     /* the doc's own file string (marks point here) */
	struct frame stack[GW_NODE_MAX_DEPTH + 1];
	int depth;            /* open collections */
	size_t n_nodes;
	struct gw_diag_list *diags;
};

void gw_node_free(struct gw_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_items; i++)
		gw_node_free(n->items[i]);
	free(n->items);
	free(n->key);
	free(n->str);
	free(n);
}

void gw_doc_list_free(struct gw_doc_list *dl)
{
	if (!dl)
		return;
	for (size_t i = 0; i < dl->n; i++) {
		gw_node_free(dl->v[i].root);
		free(dl->v[i].file);
	}
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}

struct gw_node *gw_node_clone(const struct gw_node *n)
{
	struct gw_node *c;

	if (!n)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto err;
	c->type = n->type;
	c->skind = n->skind;
	c->mark = n->mark;
	c->key_mark = n->key_mark;
	c->len = n->len;
	if (n->key && !(c->key = strdup(n->key)))
		goto err;
	if (n->str) {
		c->str = malloc(n->len + 1);
		if (!c->str)
			goto err;
		memcpy(c->str, n->str, n->len + 1);
	}
	if (n->n_items) {
		c->items = calloc(n->n_items, sizeof(*c->items));
		if (!c->items)
			goto err;
		for (size_t i = 0; i < n->n_items; i++) {
			c->items[i] = gw_node_clone(n->items[i]);
			if (!c->items[i])
				goto err;
			c->n_items++;
		}
	}
	return c;
err:
	gw_node_free(c);
	errno = ENOMEM;
	return NULL;
}

/* ---- scalar typing (YAML 1.2 core schema, tag:yaml.org,2002:*) ---- */

static bool is_null_word(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static bool is_bool_word(const char *s)
{
	static const char *const w[] = { "true", "True", "TRUE", "false", "False", "FALSE" };

	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		if (!strcmp(s, w[i]))
			return true;
	return false;
}

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	return s[strspn(s, set)] == '\0';
}

static bool is_int_word(const char *s)
{
	if (!strncmp(s, "0x", 2))
		return all_in(s + 2, "0123456789abcdefABCDEF");
	if (!strncmp(s, "0o", 2))
		return all_in(s + 2, "01234567");
	if (*s == '-' || *s == '+')
		s++;
	return all_in(s, "0123456789");
}

static bool is_float_word(const char *s)
{
	const char *p = s;
	bool digits = false;

	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
		return true;
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return true;
	/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
	while (*p >= '0' && *p <= '9') {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

#define TAG_PFX "tag:yaml.org,2002:"

/* resolve() : type of a scalar event; -EINVAL for a tag we do not accept or a
 * value that contradicts its explicit tag */
static int resolve(const yaml_event_t *ev, const char *s, enum gw_node_type *type,
		   enum gw_scalar_kind *kind)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

	*type = GW_NODE_SCALAR;
	*kind = GW_SCALAR_STRING;
	if (tag && strcmp(tag, "!")) {
		if (strncmp(tag, TAG_PFX, strlen(TAG_PFX)))
			return -EINVAL;
		tag += strlen(TAG_PFX);
		if (!strcmp(tag, "str"))
			return 0;
		if (!strcmp(tag, "null") && is_null_word(s))
			*type = GW_NODE_NULL;
		else if (!strcmp(tag, "bool") && is_bool_word(s))
			*kind = GW_SCALAR_BOOL;
		else if (!strcmp(tag, "int") && is_int_word(s))
			*kind = GW_SCALAR_INT;
		else if (!strcmp(tag, "float") && (is_float_word(s) || is_int_word(s)))
			*kind = GW_SCALAR_FLOAT;
		else
			return -EINVAL;
		return 0;
	}
	if (!plain || tag)
		return 0; /* quoted or "!" : always a string */
	if (is_null_word(s))
		*type = GW_NODE_NULL;
	else if (is_bool_word(s))
		*kind = GW_SCALAR_BOOL;
	else if (is_int_word(s))
		*kind = GW_SCALAR_INT;
	else if (is_float_word(s))
		*kind = GW_SCALAR_FLOAT;
	return 0;
}

static bool tag_ok_for_collection(const yaml_char_t *t, const char *want)
{
	const char *tag = (const char *)t;

	if (!tag || !strcmp(tag, "!"))
		return true;
	return !strncmp(tag, TAG_PFX, strlen(TAG_PFX)) && !strcmp(tag + strlen(TAG_PFX), want);
}

/* ---- tree building ---- */

static struct gw_mark mark_of(const struct loader *ld, yaml_mark_t m)
{
	struct gw_mark mk = { .file = ld->file, .line = (uint32_t)m.line + 1,
			      .col = (uint32_t)m.column + 1 };
	return mk;
}

/* fail() : adds an error diagnostic at m and evaluates to -EINVAL */
#define fail(ld, m, ...) (gw_diag_add((ld)->diags, GW_DIAG_ERROR, (m), NULL, NULL, __VA_ARGS__), -EINVAL)

static int cmp_key_ptr(const void *a, const void *b)
{
	const struct gw_node *x = *(const struct gw_node *const *)a;
	const struct gw_node *y = *(const struct gw_node *const *)b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	/* equal keys: order by position so the later one is reported */
	if (x->key_mark.line != y->key_mark.line)
		return x->key_mark.line < y->key_mark.line ? -1 : 1;
	return x->key_mark.col < y->key_mark.col ? -1 : (x->key_mark.col > y->key_mark.col);
}

/* check_dup_keys() : large maps are checked once when closed (sort, O(n log n));
 * small ones were already checked on insert */
static int check_dup_keys(struct loader *ld, const struct gw_node *map)
{
	struct gw_node **v;
	int err = 0;

	if (map->n_items <= 16)
		return 0;
	v = malloc(map->n_items * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, map->items, map->n_items * sizeof(*v));
	qsort(v, map->n_items, sizeof(*v), cmp_key_ptr);
	for (size_t i = 1; i < map->n_items; i++) {
		if (!strcmp(v[i - 1]->key, v[i]->key)) {
			err = fail(ld, &v[i]->key_mark, "duplicate key \"%s\"", v[i]->key);
			break;
		}
	}
	free(v);
	return err;
}

/* attach() : puts a finished node into the open collection (or as root) */
static int attach(struct loader *ld, struct gw_node *n, struct gw_node **root)
{
	struct frame *f;

	if (!ld->depth) {
		gw_node_free(*root); /* libyaml gives one root per document; be safe */
		*root = n;
		return 0;
	}
	f = &ld->stack[ld->depth - 1];
	if (f->node->type == GW_NODE_MAP) {
		n->key = f->pending_key;
		n->key_mark = f->key_mark;
		f->pending_key = NULL;
		/* small maps: check duplicates now, so big ones cost one sort */
		if (f->node->n_items < 16) {
			for (size_t i = 0; i < f->node->n_items; i++) {
				if (!strcmp(f->node->items[i]->key, n->key)) {
					int err = fail(ld, &n->key_mark, "duplicate key \"%s\"",
						       n->key);
					gw_node_free(n);
					return err;
				}
			}
		}
	}
	if (f->node->n_items == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		struct gw_node **items = realloc(f->node->items, cap * sizeof(*items));

		if (!items) {
			gw_node_free(n);
			return -ENOMEM;
		}
		f->node->items = items;
		f->cap = cap;
	}
	f->node->items[f->node->n_items++] = n;
	return 0;
}

static bool want_key(const struct loader *ld)
{
	const struct frame *f;

	if (!ld->depth)
		return false;
	f = &ld->stack[ld->depth - 1];
	return f->node->type == GW_NODE_MAP && !f->pending_key;
}

static int count_node(struct loader *ld, const struct gw_mark *m)
{
	if (++ld->n_nodes > GW_NODE_MAX_NODES) {
		gw_diag_add(ld->diags, GW_DIAG_ERROR, m, NULL, NULL,
			    "too many nodes (limit %u per file)", GW_NODE_MAX_NODES);
		return -EINVAL;
	}
	return 0;
}

static int on_scalar(struct loader *ld, const yaml_event_t *ev, struct gw_node **root)
{
	struct gw_mark m = mark_of(ld, ev->start_mark);
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum gw_node_type type;
	enum gw_scalar_kind kind;
	struct gw_node *n;

	if (ev->data.scalar.anchor)
		return fail(ld, &m, "anchors are not supported (&%s)",
			    (const char *)ev->data.scalar.anchor);
	if (resolve(ev, s, &type, &kind))
		return fail(ld, &m, "unsupported tag or value for tag %s",
			    ev->data.scalar.tag ? (const char *)ev->data.scalar.tag : "");
	if (want_key(ld)) {
		struct frame *f = &ld->stack[ld->depth - 1];

		if (memchr(s, '\0', len))
			return fail(ld, &m, "%s", "NUL byte in a key");
		f->pending_key = strdup(s);
		if (!f->pending_key)
			return -ENOMEM;
		f->key_mark = m;
		return 0;
	}
	if (count_node(ld, &m))
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->type = type;
	n->skind = kind;
	n->mark = m;
	if (type == GW_NODE_SCALAR) {
		n->str = malloc(len + 1);
		if (!n->str) {
			free(n);
			return -ENOMEM;
		}
		memcpy(n->str, s, len);
		n->str[len] = '\0';
		n->len = len;
	}
	return attach(ld, n, root);
}

static int on_start(struct loader *ld, const yaml_event_t *ev, enum gw_node_type type)
{
	struct gw_mark m = mark_of(ld, ev->start_mark);
	const yaml_char_t *anchor, *tag;
	struct gw_node *n;

	if (type == GW_NODE_MAP) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (anchor)
		return fail(ld, &m, "anchors are not supported (&%s)", (const char *)anchor);
	if (!tag_ok_for_collection(tag, type == GW_NODE_MAP ? "map" : "seq"))
		return fail(ld, &m, "unsupported tag %s", (const char *)tag);
	if (want_key(ld))
		return fail(ld, &m, "%s", "keys must be scalars");
	if (ld->depth >= GW_NODE_MAX_DEPTH) {
		gw_diag_add(ld->diags, GW_DIAG_ERROR, &m, NULL, NULL,
			    "nesting deeper than %d levels", GW_NODE_MAX_DEPTH);
		return -EINVAL;
	}
	if (count_node(ld, &m))
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->type = type;
	n->mark = m;
	ld->stack[ld->depth].node = n;
	ld->stack[ld->depth].cap = 0;
	ld->stack[ld->depth].pending_key = NULL;
	ld->depth++;
	return 0;
}

static int on_end(struct loader *ld, struct gw_node **root)
{
	struct frame *f;
	struct gw_node *n;
	int err;

	if (!ld->depth)
		return -EINVAL; /* an end without a start: libyaml never does this */
	f = &ld->stack[--ld->depth];
	n = f->node;

	f->node = NULL;
	free(f->pending_key); /* cannot happen with a well-formed event stream */
	f->pending_key = NULL;
	if (n->type == GW_NODE_MAP) {
		err = check_dup_keys(ld, n);
		if (err) {
			gw_node_free(n);
			return err;
		}
	}
	return attach(ld, n, root);
}

static void unwind(struct loader *ld)
{
	while (ld->depth) {
		struct frame *f = &ld->stack[--ld->depth];

		gw_node_free(f->node);
		free(f->pending_key);
		f->node = NULL;
		f->pending_key = NULL;
	}
}

static int push_doc(struct gw_doc_list *out, struct gw_node *root, const char *file)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 4;
		struct gw_doc *v = realloc(out->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n].root = root;
	out->v[out->n].file = (char *)file;
	out->n++;
	return 0;
}

/* retarget() : marks must point at the document's own copy of the name */
static void retarget(struct gw_node *n, const char *file)
{
	n->mark.file = file;
	n->key_mark.file = file;
	for (size_t i = 0; i < n->n_items; i++)
		retarget(n->items[i], file);
}

int gw_yaml_load_buf(const char *name, const char *buf, size_t len, struct gw_doc_list *out,
		     struct gw_diag_list *diags)
{
	struct gw_doc_list tmp = { 0 };
	struct gw_node *root = NULL;
	struct loader *ld = NULL;
	yaml_parser_t parser;
	bool parser_ok = false, done = false;
	struct gw_mark m0 = { .file = name, .line = 0, .col = 0 };
	int err = -EINVAL;

	if (!name)
		name = "<input>";
	m0.file = name;
	if (len > GW_NODE_MAX_BYTES) {
		gw_diag_add(diags, GW_DIAG_ERROR, &m0, NULL, NULL,
			    "file is larger than %u bytes", GW_NODE_MAX_BYTES);
		goto out;
	}
	ld = calloc(1, sizeof(*ld));
	if (!ld || !yaml_parser_initialize(&parser)) {
		err = -ENOMEM;
		goto out;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	ld->diags = diags;
	/* marks point at a private copy that moves into the docs list */
	ld->file = name;

	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			struct gw_mark m = { .file = name,
					     .line = (uint32_t)parser.problem_mark.line + 1,
					     .col = (uint32_t)parser.problem_mark.column + 1 };

			if (parser.error == YAML_MEMORY_ERROR) {
				err = -ENOMEM;
				goto out;
			}
			if (parser.error == YAML_READER_ERROR) {
				/* the reader (encoding) reports a byte offset, not a mark */
				size_t off = GW_MIN(parser.problem_offset, len), bol = 0;

				m.line = 1;
				for (size_t i = 0; i < off; i++) {
					if (buf[i] == '\n') {
						m.line++;
						bol = i + 1;
					}
				}
				m.col = (uint32_t)(off - bol + 1);
			}
			gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "%s%s%s",
				    parser.problem ? parser.problem : "syntax error",
				    parser.context ? " " : "", parser.context ? parser.context : "");
			err = -EINVAL;
			goto out;
		}
		err = 0;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			root = NULL;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (root && root->type != GW_NODE_NULL) {
				char *f = strdup(name);

				if (!f || push_doc(&tmp, root, f)) {
					free(f);
					err = -ENOMEM;
					break;
				}
				retarget(root, f);
			} else {
				gw_node_free(root);
			}
			root = NULL;
			break;
		case YAML_ALIAS_EVENT: {
			struct gw_mark m = mark_of(ld, ev.start_mark);

			err = fail(ld, &m, "aliases are not supported (*%s)",
				   (const char *)ev.data.alias.anchor);
			break;
		}
		case YAML_SCALAR_EVENT:
			err = on_scalar(ld, &ev, &root);
			break;
		case YAML_SEQUENCE_START_EVENT:
			err = on_start(ld, &ev, GW_NODE_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			err = on_start(ld, &ev, GW_NODE_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			err = on_end(ld, &root);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < tmp.n; i++) {
		err = push_doc(out, tmp.v[i].root, tmp.v[i].file);
		if (err) {
			/* roll back what was moved so out is unchanged */
			out->n -= i;
			goto out;
		}
	}
	free(tmp.v);
	memset(&tmp, 0, sizeof(tmp));
	err = 0;
out:
	if (ld)
		unwind(ld);
	if (err)
		gw_node_free(root);
	gw_doc_list_free(&tmp);
	free(ld);
	if (parser_ok)
		yaml_parser_delete(&parser);
	return err;
}

int gw_yaml_load_file(const char *path, struct gw_doc_list *out, struct gw_diag_list *diags)
{
	struct gw_mark m = { .file = path, .line = 0, .col = 0 };
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		err = -errno;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "cannot open: %s",
			    strerror(errno));
		return err;
	}
	if (fstat(fd, &st) == -1) {
		err = -errno;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "cannot stat: %s",
			    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > GW_NODE_MAX_BYTES) {
		err = -EINVAL;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL,
			    "file is larger than %u bytes", GW_NODE_MAX_BYTES);
		goto out;
	}
	/* read until EOF rather than trusting st_size: the file may be growing */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err = -errno;
			gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "cannot read: %s",
				    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > (size_t)st.st_size) {
			err = -EAGAIN;
			gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL,
				    "file changed while being read");
			goto out;
		}
	}
	err = gw_yaml_load_buf(path, buf, len, out, diags);
out:
	free(buf);
	close(fd);
	return err;
}

/* ---- accessors ---- */

struct gw_node *gw_node_get(const struct gw_node *n, const char *key)
{
	if (!gw_node_is_map(n) || !key)
		return NULL;
	for (size_t i = 0; i < n->n_items; i++)
		if (!strcmp(n->items[i]->key, key))
			return n->items[i];
	return NULL;
}

struct gw_node *gw_node_path(const struct gw_node *n, const char *path)
{
	char seg[256];

	if (!n || !path)
		return NULL;
	while (*path) {
		size_t l = strcspn(path, ".");

		if (l >= sizeof(seg))
			return NULL;
		memcpy(seg, path, l);
		seg[l] = '\0';
		n = gw_node_get(n, seg);
		if (!n)
			return NULL;
		path += l;
		if (*path == '.')
			path++;
	}
	return (struct gw_node *)n;
}

static const struct gw_node *at(const struct gw_node *n, const char *path)
{
	return path && *path ? gw_node_path(n, path) : n;
}

const char *gw_node_str(const struct gw_node *n, const char *path)
{
	n = at(n, path);
	return gw_node_is_scalar(n) ? n->str : NULL;
}

bool gw_node_int(const struct gw_node *n, const char *path, int64_t *out)
{
	const char *s;
	char *end;
	long long v;
	int base = 10;

	n = at(n, path);
	if (!gw_node_is_scalar(n) || n->skind != GW_SCALAR_INT)
		return false;
	s = n->str;
	if (!strncmp(s, "0x", 2)) {
		s += 2;
		base = 16;
	} else if (!strncmp(s, "0o", 2)) {
		s += 2;
		base = 8;
	}
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool gw_node_bool(const struct gw_node *n, const char *path, bool *out)
{
	n = at(n, path);
	if (!gw_node_is_scalar(n) || n->skind != GW_SCALAR_BOOL)
		return false;
	*out = n->str[0] == 't' || n->str[0] == 'T';
	return true;
}

size_t gw_node_len(const struct gw_node *n, const char *path)
{
	n = at(n, path);
	return n && (n->type == GW_NODE_MAP || n->type == GW_NODE_SEQ) ? n->n_items : 0;
}
