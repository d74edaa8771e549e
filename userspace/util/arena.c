/* util/arena.c - bump allocator freed as a whole.
 *
 * Used for IR snapshots and per-request memory: many small allocations with
 * one lifetime. Chunks grow geometrically; nothing is freed individually.
 */
#include "gwbpf/api.h"

#include "gwbpf/arena.h"

struct gw_arena_chunk {
	struct gw_arena_chunk *next;
	size_t size; /* usable bytes in data */
	size_t used;
	max_align_t data[];
};

struct gw_arena {
	struct gw_arena_chunk *head;
	size_t next_size;
};

struct gw_arena *gw_arena_new(size_t first_chunk)
{
	struct gw_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->next_size = first_chunk ? first_chunk : 4096;
	return a;
}

void *gw_arena_alloc(struct gw_arena *a, size_t size)
{
	struct gw_arena_chunk *c = a->head;
	size_t align = _Alignof(max_align_t);
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (!size)
		size = align;
	if (!c || c->size - c->used < size) {
		size_t csize = a->next_size;

		while (csize < size)
			csize *= 2;
		c = malloc(sizeof(*c) + csize);
		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		if (a->next_size < (1u << 20))
			a->next_size *= 2;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *gw_arena_strndup(struct gw_arena *a, const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	d = gw_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *gw_arena_strdup(struct gw_arena *a, const char *s)
{
	return s ? gw_arena_strndup(a, s, strlen(s)) : NULL;
}

void gw_arena_reset(struct gw_arena *a)
{
	struct gw_arena_chunk *c, *n;

	if (!a || !a->head)
		return;
	/* chunks are pushed at the head: the first one is the last */
	for (c = a->head; c->next; c = n) {
		n = c->next;
		free(c);
	}
	c->used = 0;
	a->head = c;
	/* growth starts again from the kept chunk: an arena reset per request
	 * must not double its next chunk every time it needs a second one */
	a->next_size = c->size < (1u << 20) ? c->size * 2 : c->size;
}

void gw_arena_free(struct gw_arena *a)
{
	struct gw_arena_chunk *c, *n;

	if (!a)
		return;
	for (c = a->head; c; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}
