/* source/file.c - manifests from files and folders, watched with inotify.
 *
 * Every (re)load reads the whole tree again: manifests are small, and one
 * code path for the first load and for reloads is easier to trust than
 * incremental bookkeeping. What makes reloads safe is the "last good" policy
 * (see gwbpf/source.h): a file that fails to parse keeps its previous
 * objects, and an object whose new version is invalid keeps its previous
 * valid version.
 *
 * Ordering: objects without metadata.creationTimestamp keep creation_ts 0 and
 * are ordered by seq, the order in which the source first saw their key
 * (files sorted by path, documents in file order). A key keeps its seq for as
 * long as it exists, so Gateway API tie-breaks do not move when an unrelated
 * file changes, and the translator's output never depends on the clock.
 *
 * Watching: one inotify watch per folder (recursively); a file given
 * directly is watched through its folder. Kubernetes ConfigMap volumes swap
 * content by renaming the "..data" symlink; that rename is seen in the
 * top folder, and the visible names (symlinks through ..data) are followed.
 */
#include "gwbpf/api.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gwbpf/diag.h"
#include "gwbpf/log.h"
#include "gwbpf/node.h"
#include "gwbpf/source.h"
#include "gwbpf/store.h"

#define MAX_DIR_DEPTH  16   /* folder recursion (symlinked loops end here) */
#define MAX_FILES      10000
#define DEBOUNCE_MAX_MS (5 * GW_FILE_SOURCE_DEBOUNCE_MS) /* a writer cannot starve reloads */

struct file_objs {
	char *path;
	struct gw_object **v; /* references */
	size_t n;
};

struct seq_ent {
	char *key; /* "group/kind/ns/name" */
	uint64_t seq;
	bool seen; /* present in the latest load */
};

struct watch {
	int wd;
	char *dir;
	char *only; /* watch of a file's folder: only this name matters; NULL = all */
};

struct gw_file_source {
	char **paths;
	size_t n_paths;
	int ifd;
	struct watch *w;
	size_t n_w;
	uint64_t deadline;
	uint64_t first_event;
	struct gw_store *store;
	struct file_objs *files; /* last good objects per file, from the latest load */
	size_t n_files;
	struct seq_ent *seqs;
	size_t n_seqs;
	uint32_t *seq_idx; /* open addressing over seqs, UINT32_MAX = empty */
	size_t seq_cap;
	uint64_t next_seq;
};

/* ---- file discovery ---- */

struct strv {
	char **v;
	size_t n;
};

static int strv_push(struct strv *sv, const char *s)
{
	char **v;

	if (sv->n >= MAX_FILES)
		return -E2BIG;
	v = realloc(sv->v, (sv->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	sv->v = v;
	sv->v[sv->n] = strdup(s);
	if (!sv->v[sv->n])
		return -ENOMEM;
	sv->n++;
	return 0;
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static bool is_manifest_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (name[0] == '.' || !dot)
		return false;
	return !strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* scan_dir() : appends manifest files under dir (sorted per folder) to files
 * and every folder to dirs. Dotfiles and dotdirs are skipped: ConfigMap
 * volumes expose their content through visible symlinks. */
static int scan_dir(const char *dir, int depth, struct strv *files, struct strv *dirs,
		    struct gw_diag_list *diags)
{
	struct strv names = { 0 };
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (depth > MAX_DIR_DEPTH) {
		struct gw_mark m = { .file = dir };

		gw_diag_add(diags, GW_DIAG_WARNING, &m, NULL, NULL,
			    "folders nested deeper than %d levels are not read", MAX_DIR_DEPTH);
		return 0;
	}
	err = strv_push(dirs, dir);
	if (err)
		return err;
	d = opendir(dir);
	if (!d) {
		struct gw_mark m = { .file = dir };

		err = -errno;
		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "cannot read folder: %s",
			    strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		err = strv_push(&names, de->d_name);
		if (err)
			goto out;
	}
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		char path[PATH_MAX];
		struct stat st;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) == -1)
			continue; /* dangling symlink, or removed while scanning */
		if (S_ISDIR(st.st_mode))
			err = scan_dir(path, depth + 1, files, dirs, diags);
		else if (S_ISREG(st.st_mode) && is_manifest_name(names.v[i]))
			err = strv_push(files, path);
		if (err == -ENOMEM || err == -E2BIG)
			goto out;
		err = 0;
	}
out:
	if (err == -E2BIG) {
		struct gw_mark m = { .file = dir };

		gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "more than %d files",
			    MAX_FILES);
	}
	closedir(d);
	strv_free(&names);
	return err;
}

static int discover(char *const *paths, size_t n, struct strv *files, struct strv *dirs,
		    struct strv *missing, struct gw_diag_list *diags)
{
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int e;

		if (stat(paths[i], &st) == -1) {
			struct gw_mark m = { .file = paths[i] };

			gw_diag_add(diags, GW_DIAG_ERROR, &m, NULL, NULL, "%s", strerror(errno));
			err = -EINVAL;
			if (strv_push(missing, paths[i]) == -ENOMEM)
				return -ENOMEM;
			continue;
		}
		if (S_ISDIR(st.st_mode))
			e = scan_dir(paths[i], 0, files, dirs, diags);
		else
			e = strv_push(files, paths[i]); /* named explicitly: any extension */
		if (e == -ENOMEM)
			return e;
		if (e)
			err = -EINVAL;
	}
	return err;
}

/* ---- objects ---- */

static void file_objs_free(struct file_objs *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < f[i].n; j++)
			gw_object_put(f[i].v[j]);
		free(f[i].v);
		free(f[i].path);
	}
	free(f);
}

static const struct file_objs *find_file(const struct file_objs *f, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].path, path))
			return &f[i];
	return NULL;
}

/* previous_version() : the object with o's key in the previous load, or NULL */
static struct gw_object *previous_version(const struct gw_store *prev, const struct gw_object *o)
{
	return prev ? gw_store_get(prev, o->group, o->kind, o->ns, o->name) : NULL;
}

static int push(struct file_objs *f, struct gw_object *o)
{
	struct gw_object **v = realloc(f->v, (f->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	f->v = v;
	f->v[f->n++] = o;
	return 0;
}

/* load_file() : the objects of one file under the last-good policy.
 * prev_file: this file's objects in the previous load (NULL on first load);
 * prev: the previous store. Fills out (new references). */
static int load_file(const char *path, const struct file_objs *prev_file,
		     const struct gw_store *prev, struct file_objs *out, struct gw_diag_list *diags)
{
	struct gw_doc_list docs = { 0 };
	struct gw_object **objs = NULL;
	size_t n_objs = 0;
	int err, ret = 0;

	err = gw_yaml_load_file(path, &docs, diags);
	if (err == -ENOMEM)
		return err;
	if (err) {
		if (prev_file && prev_file->n) {
			struct gw_mark m = { .file = path };

			gw_diag_add(diags, GW_DIAG_WARNING, &m, NULL, NULL,
				    "keeping the %zu object(s) last read from this file",
				    prev_file->n);
			for (size_t i = 0; i < prev_file->n; i++) {
				if (push(out, gw_object_get(prev_file->v[i]))) {
					gw_object_put(prev_file->v[i]);
					return -ENOMEM;
				}
			}
		}
		return -EINVAL;
	}
	for (size_t i = 0; i < docs.n; i++) {
		struct gw_node *root = docs.v[i].root;

		docs.v[i].root = NULL;
		err = gw_objects_from_doc(root, path, &objs, &n_objs, diags);
		if (err == -ENOMEM) {
			ret = err;
			goto out;
		}
		if (err)
			ret = -EINVAL;
	}
	for (size_t i = 0; i < n_objs; i++) {
		struct gw_object *o = objs[i], *old;
		char ref[320];

		objs[i] = NULL;
		err = gw_validate_object(o, diags);
		if (err == -ENOENT) {
			gw_object_put(o); /* not a kind gwbpf reads */
			continue;
		}
		if (err == -ENOMEM) {
			gw_object_put(o);
			ret = err;
			goto out;
		}
		if (err) {
			ret = -EINVAL;
			old = previous_version(prev, o);
			if (old) {
				gw_diag_add(diags, GW_DIAG_WARNING, &o->mark,
					    gw_object_ref(o, ref, sizeof(ref)), NULL,
					    "invalid update ignored; keeping the previous version");
				gw_object_put(o);
				o = gw_object_get(old);
			} else {
				gw_object_put(o);
				continue;
			}
		}
		if (push(out, o)) {
			gw_object_put(o);
			ret = -ENOMEM;
			goto out;
		}
	}
out:
	for (size_t i = 0; i < n_objs; i++)
		gw_object_put(objs[i]);
	free(objs);
	gw_doc_list_free(&docs);
	return ret;
}

/* ---- seq (first-seen order, stable across reloads) ---- */

static uint64_t key_hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ull;
	return h;
}

/* seq_index() : rebuilds the open-addressing index over s->seqs (size a power
 * of two, at least twice the entries) */
static int seq_index(struct gw_file_source *s, size_t want)
{
	size_t cap = 64;
	uint32_t *idx;

	while (cap < 2 * want)
		cap *= 2;
	if (cap <= s->seq_cap && s->seq_idx)
		return 0;
	idx = malloc(cap * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	memset(idx, 0xff, cap * sizeof(*idx));
	for (size_t i = 0; i < s->n_seqs; i++) {
		size_t b = key_hash(s->seqs[i].key) & (cap - 1);

		while (idx[b] != UINT32_MAX)
			b = (b + 1) & (cap - 1);
		idx[b] = (uint32_t)i;
	}
	free(s->seq_idx);
	s->seq_idx = idx;
	s->seq_cap = cap;
	return 0;
}

static uint64_t seq_for(struct gw_file_source *s, const struct gw_object *o, int *err)
{
	char key[1024];
	struct seq_ent *v;
	size_t b;

	snprintf(key, sizeof(key), "%s/%s/%s/%s", o->group, o->kind, o->ns, o->name);
	if (seq_index(s, s->n_seqs + 1)) {
		*err = -ENOMEM;
		return 0;
	}
	for (b = key_hash(key) & (s->seq_cap - 1); s->seq_idx[b] != UINT32_MAX;
	     b = (b + 1) & (s->seq_cap - 1)) {
		struct seq_ent *e = &s->seqs[s->seq_idx[b]];

		if (!strcmp(e->key, key)) {
			e->seen = true;
			return e->seq;
		}
	}
	v = realloc(s->seqs, (s->n_seqs + 1) * sizeof(*v));
	if (!v) {
		*err = -ENOMEM;
		return 0;
	}
	s->seqs = v;
	v[s->n_seqs].key = strdup(key);
	if (!v[s->n_seqs].key) {
		*err = -ENOMEM;
		return 0;
	}
	v[s->n_seqs].seq = ++s->next_seq;
	v[s->n_seqs].seen = true;
	s->seq_idx[b] = (uint32_t)s->n_seqs;
	s->n_seqs++;
	return s->next_seq;
}

static void seq_forget_unseen(struct gw_file_source *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_seqs; i++) {
		if (s->seqs[i].seen) {
			s->seqs[i].seen = false;
			s->seqs[j++] = s->seqs[i];
		} else {
			free(s->seqs[i].key);
		}
	}
	/* positions moved: the index is rebuilt on next use */
	if (j != s->n_seqs) {
		free(s->seq_idx);
		s->seq_idx = NULL;
		s->seq_cap = 0;
	}
	s->n_seqs = j;
}

/* ---- equality, for *changed ---- */

static bool node_eq(const struct gw_node *a, const struct gw_node *b)
{
	if (!a || !b)
		return a == b;
	if (a->type != b->type || a->skind != b->skind || a->n_items != b->n_items ||
	    a->len != b->len)
		return false;
	if ((a->key || b->key) && (!a->key || !b->key || strcmp(a->key, b->key)))
		return false;
	if (a->str && memcmp(a->str, b->str, a->len))
		return false;
	for (size_t i = 0; i < a->n_items; i++)
		if (!node_eq(a->items[i], b->items[i]))
			return false;
	return true;
}

static int cmp_eq_cb(struct gw_object *o, void *arg)
{
	const struct gw_store *other = arg;
	const struct gw_object *p = gw_store_get(other, o->group, o->kind, o->ns, o->name);

	if (!p)
		return 1;
	if (p == o)
		return 0;
	return (p->seq != o->seq || !node_eq(p->root, o->root)) ? 1 : 0;
}

static bool stores_equal(const struct gw_store *a, const struct gw_store *b)
{
	if (!a || !b)
		return a == b;
	if (a->n_objects != b->n_objects)
		return false;
	return gw_store_foreach(a, cmp_eq_cb, (void *)b) == 0;
}

/* ---- one full load ---- */

/* build() : loads every file into a new store, applying last good against
 * s's previous state (s may be a stack-only source for the one-shot load) */
static int build(struct gw_file_source *s, struct gw_store **out_store, struct strv *dirs,
		 struct gw_diag_list *diags)
{
	struct strv files = { 0 }, missing = { 0 };
	struct file_objs *nf = NULL;
	struct gw_store *st = NULL;
	int err, ret = 0;

	ret = discover(s->paths, s->n_paths, &files, dirs, &missing, diags);
	if (ret == -ENOMEM)
		goto out;
	/* a configured path that vanished is a mistake or a transient state, not
	 * "delete everything": its files keep their last good objects */
	for (size_t i = 0; i < s->n_files; i++) {
		for (size_t k = 0; k < missing.n; k++) {
			size_t l = strlen(missing.v[k]);

			if (!strncmp(s->files[i].path, missing.v[k], l) &&
			    (s->files[i].path[l] == '\0' || s->files[i].path[l] == '/')) {
				err = strv_push(&files, s->files[i].path);
				if (err) {
					ret = -ENOMEM;
					goto out;
				}
				break;
			}
		}
	}
	nf = calloc(files.n ? files.n : 1, sizeof(*nf));
	st = gw_store_new();
	if (!nf || !st) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < files.n; i++) {
		const struct file_objs *pf = find_file(s->files, s->n_files, files.v[i]);

		nf[i].path = strdup(files.v[i]);
		if (!nf[i].path) {
			ret = -ENOMEM;
			goto out;
		}
		err = load_file(files.v[i], pf, s->store, &nf[i], diags);
		if (err == -ENOMEM) {
			ret = err;
			goto out;
		}
		if (err)
			ret = -EINVAL;
	}
	for (size_t i = 0; i < files.n; i++) {
		for (size_t j = 0; j < nf[i].n; j++) {
			struct gw_object *o = nf[i].v[j];
			struct gw_object *dup = gw_store_get(st, o->group, o->kind, o->ns, o->name);
			char ref[320];

			if (dup) {
				/* like two `kubectl apply`s: the later file wins */
				gw_diag_add(diags, GW_DIAG_WARNING, &o->mark,
					    gw_object_ref(o, ref, sizeof(ref)), NULL,
					    "also defined at %s:%u; this definition wins",
					    dup->file ? dup->file : "?", dup->mark.line);
			}
			err = 0;
			/* objects are immutable once shared; seq is set before sharing, or
			 * is already the same (kept objects have their key's seq) */
			if (o->refcnt == 1 || o->seq == 0)
				o->seq = seq_for(s, o, &err);
			else
				seq_for(s, o, &err);
			if (err) {
				ret = err;
				goto out;
			}
			if (gw_store_put(st, gw_object_get(o))) {
				ret = -ENOMEM;
				goto out;
			}
		}
	}
	seq_forget_unseen(s);
	file_objs_free(s->files, s->n_files);
	s->files = nf;
	s->n_files = files.n;
	nf = NULL;
	*out_store = st;
	st = NULL;
	if (ret != -EINVAL)
		ret = 0;
out:
	if (nf)
		file_objs_free(nf, files.n);
	gw_store_free(st);
	strv_free(&files);
	strv_free(&missing);
	return ret;
}

/* puts store's objects into dst (dst may already hold objects) */
static int put_all_cb(struct gw_object *o, void *arg)
{
	return gw_store_put(arg, gw_object_get(o));
}

int gw_file_source_load(const char *const *paths, size_t n, struct gw_store *store,
			struct gw_diag_list *diags)
{
	struct gw_file_source s = { 0 };
	struct gw_store *st = NULL;
	struct strv dirs = { 0 };
	size_t errors_before = diags->n_errors;
	int err;

	s.paths = (char **)paths;
	s.n_paths = n;
	err = build(&s, &st, &dirs, diags);
	if (st && gw_store_foreach(st, put_all_cb, store))
		err = -ENOMEM;
	gw_store_free(st);
	file_objs_free(s.files, s.n_files);
	for (size_t i = 0; i < s.n_seqs; i++)
		free(s.seqs[i].key);
	free(s.seqs);
	free(s.seq_idx);
	strv_free(&dirs);
	if (!err && diags->n_errors > errors_before)
		err = -EINVAL;
	return err;
}

/* ---- watching ---- */

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO |        \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW)

static int add_watch(struct gw_file_source *s, const char *dir, const char *only)
{
	struct watch *w;
	int wd = inotify_add_watch(s->ifd, dir, WATCH_MASK & ~IN_DONT_FOLLOW);

	if (wd == -1)
		return -errno;
	for (size_t i = 0; i < s->n_w; i++) {
		if (s->w[i].wd == wd) {
			/* the same folder for a file and as a folder: watch everything */
			if (!only || (s->w[i].only && strcmp(s->w[i].only, only))) {
				free(s->w[i].only);
				s->w[i].only = NULL;
			}
			return 0;
		}
	}
	w = realloc(s->w, (s->n_w + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	s->w = w;
	w[s->n_w].wd = wd;
	w[s->n_w].dir = strdup(dir);
	w[s->n_w].only = only ? strdup(only) : NULL;
	if (!w[s->n_w].dir || (only && !w[s->n_w].only)) {
		free(w[s->n_w].dir);
		free(w[s->n_w].only);
		return -ENOMEM;
	}
	s->n_w++;
	return 0;
}

static int watch_all(struct gw_file_source *s, const struct strv *dirs)
{
	int err;

	for (size_t i = 0; i < s->n_paths; i++) {
		struct stat st;
		char *copy, *slash;

		if (stat(s->paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		/* a file (or a missing path): watch its folder for that name */
		copy = strdup(s->paths[i]);
		if (!copy)
			return -ENOMEM;
		slash = strrchr(copy, '/');
		if (slash) {
			*slash = '\0';
			err = add_watch(s, *copy ? copy : "/", slash + 1);
		} else {
			err = add_watch(s, ".", copy);
		}
		free(copy);
		if (err && err != -ENOENT)
			return err;
	}
	for (size_t i = 0; i < dirs->n; i++) {
		err = add_watch(s, dirs->v[i], NULL);
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

void gw_file_source_free(struct gw_file_source *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_paths; i++)
		free(s->paths[i]);
	free(s->paths);
	if (s->ifd >= 0)
		close(s->ifd);
	for (size_t i = 0; i < s->n_w; i++) {
		free(s->w[i].dir);
		free(s->w[i].only);
	}
	free(s->w);
	gw_store_free(s->store);
	file_objs_free(s->files, s->n_files);
	for (size_t i = 0; i < s->n_seqs; i++)
		free(s->seqs[i].key);
	free(s->seqs);
	free(s->seq_idx);
	free(s);
}

struct gw_file_source *gw_file_source_new(const char *const *paths, size_t n,
					  struct gw_diag_list *diags)
{
	struct gw_file_source *s = calloc(1, sizeof(*s));
	struct strv dirs = { 0 };
	int err = -ENOMEM;

	if (!s)
		goto fail;
	s->ifd = -1;
	s->paths = calloc(n ? n : 1, sizeof(*s->paths));
	if (!s->paths)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		s->paths[i] = strdup(paths[i]);
		if (!s->paths[i])
			goto fail;
		s->n_paths++;
	}
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd == -1) {
		err = -errno;
		goto fail;
	}
	err = build(s, &s->store, &dirs, diags);
	if (err == -ENOMEM)
		goto fail;
	if (!s->store) {
		s->store = gw_store_new();
		if (!s->store) {
			err = -ENOMEM;
			goto fail;
		}
	}
	err = watch_all(s, &dirs);
	if (err)
		goto fail;
	strv_free(&dirs);
	return s;
fail:
	strv_free(&dirs);
	gw_file_source_free(s);
	errno = -err;
	return NULL;
}

int gw_file_source_fd(const struct gw_file_source *s)
{
	return s->ifd;
}

uint64_t gw_file_source_deadline(const struct gw_file_source *s)
{
	return s->deadline;
}

const struct gw_store *gw_file_source_store(const struct gw_file_source *s)
{
	return s->store;
}

static bool relevant(const struct gw_file_source *s, const struct inotify_event *ev)
{
	const struct watch *w = NULL;

	if (ev->mask & IN_Q_OVERFLOW)
		return true; /* events were lost: reload to be sure */
	for (size_t i = 0; i < s->n_w; i++)
		if (s->w[i].wd == ev->wd)
			w = &s->w[i];
	if (!w)
		return false;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		return !w->only;
	if (!ev->len)
		return false;
	if (w->only)
		return !strcmp(ev->name, w->only) || !strcmp(ev->name, "..data");
	if (!strcmp(ev->name, "..data"))
		return true; /* ConfigMap volume swap */
	if (ev->name[0] == '.')
		return false; /* editor swap files, ..2024_xx folders */
	return (ev->mask & IN_ISDIR) || is_manifest_name(ev->name);
}

int gw_file_source_handle(struct gw_file_source *s, uint64_t now_ms)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t len = read(s->ifd, buf, sizeof(buf));

		if (len == -1 && errno == EINTR)
			continue;
		if (len == -1 && errno == EAGAIN)
			break;
		if (len == -1)
			return -errno;
		if (len == 0)
			break;
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (relevant(s, ev))
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (hit) {
		/* trailing debounce, but never later than DEBOUNCE_MAX_MS after the
		 * first event of a burst */
		if (!s->deadline)
			s->first_event = now_ms;
		s->deadline = GW_MIN(now_ms + GW_FILE_SOURCE_DEBOUNCE_MS,
				     s->first_event + DEBOUNCE_MAX_MS);
	}
	return 0;
}

int gw_file_source_reload(struct gw_file_source *s, struct gw_diag_list *diags, bool *changed)
{
	struct gw_store *st = NULL;
	struct strv dirs = { 0 };
	size_t errors_before = diags->n_errors;
	int err, werr;

	s->deadline = 0;
	s->first_event = 0;
	if (changed)
		*changed = false;
	err = build(s, &st, &dirs, diags);
	if (err == -ENOMEM)
		goto out;
	if (st) {
		if (changed)
			*changed = !stores_equal(s->store, st);
		if (!stores_equal(s->store, st))
			st->version = s->store ? s->store->version + 1 : 1;
		else
			st->version = s->store->version;
		gw_store_free(s->store);
		s->store = st;
	}
	/* folders may have appeared; adding a watch twice is harmless */
	werr = watch_all(s, &dirs);
	if (werr == -ENOMEM)
		err = werr;
	else if (werr)
		pr_warn("file source: cannot watch every folder: %s\n", strerror(-werr));
	if (!err && diags->n_errors > errors_before)
		err = -EINVAL;
out:
	strv_free(&dirs);
	return err;
}
