/* test_arena.c - the bump allocator: zeroed aligned allocations across
 * chunks, and gw_arena_reset() keeping exactly the first chunk for reuse
 * (what the proxy's per-thread request arena cache relies on). Includes the
 * .c to see the chunk list. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../userspace/util/arena.c"

static size_t n_chunks(const struct gw_arena *a)
{
	size_t n = 0;

	for (const struct gw_arena_chunk *c = a->head; c; c = c->next)
		n++;
	return n;
}

static void test_alloc_grows_zeroed_aligned(void **state)
{
	struct gw_arena *a = gw_arena_new(64);
	int i;

	assert_non_null(a);
	for (i = 0; i < 40; i++) {
		unsigned char *p = gw_arena_alloc(a, 24);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		for (int k = 0; k < 24; k++)
			assert_int_equal(p[k], 0);
		memset(p, 0xab, 24);
	}
	assert_true(n_chunks(a) > 1);
	gw_arena_free(a);
}

static void test_reset_keeps_first_chunk(void **state)
{
	struct gw_arena *a = gw_arena_new(256);
	struct gw_arena_chunk *first;
	unsigned char *p, *q;
	int i;

	assert_non_null(a);
	p = gw_arena_alloc(a, 100);
	assert_non_null(p);
	first = a->head;
	memset(p, 0xcd, 100);
	for (i = 0; i < 20; i++)
		assert_non_null(gw_arena_alloc(a, 200));
	assert_true(n_chunks(a) > 2);

	gw_arena_reset(a);
	assert_int_equal(n_chunks(a), 1);
	assert_ptr_equal(a->head, first);
	assert_int_equal(a->head->used, 0);
	/* the next chunk is sized from the kept one, not from past growth */
	assert_int_equal(a->next_size, first->size * 2);
	/* the first allocation after a reset reuses the kept chunk, zeroed */
	q = gw_arena_alloc(a, 100);
	assert_ptr_equal(q, p);
	for (i = 0; i < 100; i++)
		assert_int_equal(q[i], 0);
	assert_int_equal(n_chunks(a), 1);

	/* an arena that never allocated, and NULL, are fine */
	gw_arena_free(a);
	a = gw_arena_new(0);
	gw_arena_reset(a);
	assert_null(a->head);
	gw_arena_reset(NULL);
	gw_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_grows_zeroed_aligned),
		cmocka_unit_test(test_reset_keeps_first_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
