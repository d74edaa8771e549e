/* gwbpf/arena.h - bump allocator freed as a whole (see util/arena.c). */
#ifndef GWBPF_ARENA_H
#define GWBPF_ARENA_H

#include "gwbpf/api.h"

struct gw_arena;

/* gw_arena_new() : first_chunk bytes first (0 = 4 KiB); NULL/ENOMEM */
struct gw_arena *gw_arena_new(size_t first_chunk);
/* gw_arena_alloc() : zeroed, max_align_t aligned; NULL/ENOMEM */
void *gw_arena_alloc(struct gw_arena *a, size_t size);
char *gw_arena_strdup(struct gw_arena *a, const char *s);            /* NULL in, NULL out */
char *gw_arena_strndup(struct gw_arena *a, const char *s, size_t n); /* NUL-terminates */
void gw_arena_free(struct gw_arena *a); /* accepts NULL */
/* gw_arena_reset() : forgets every allocation but keeps the first chunk (of
 * first_chunk bytes) for the next ones, so an arena reused per request
 * allocates nothing in the steady state and a kept arena stays small; the
 * other chunks are freed. Accepts NULL. */
void gw_arena_reset(struct gw_arena *a);

#endif
