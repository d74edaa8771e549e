/* tests/unit/test_readfile.c - util/readfile.c: trailing whitespace dropped,
 * the limit cuts, a missing file is an error with errno. */
#include "gwbpf/api.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "gwbpf/readfile.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/gwbpf-readfile-XXXXXX");
	fd = mkstemp(path);
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void put(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_trims_and_cuts(void **state)
{
	size_t n = 99;
	char *s;

	(void)state;
	put("eyJhbGciOi.token \r\n\n");
	s = gw_readfile_small(path, 4096, &n);
	assert_non_null(s);
	assert_string_equal(s, "eyJhbGciOi.token");
	assert_int_equal(n, 16);
	free(s);
	s = gw_readfile_small(path, 3, &n); /* cut at the limit */
	assert_non_null(s);
	assert_string_equal(s, "eyJ");
	assert_int_equal(n, 3);
	free(s);
	put("\n\n");
	s = gw_readfile_small(path, 4096, &n); /* only whitespace: empty, not NULL */
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	free(s);
}

static void test_missing(void **state)
{
	(void)state;
	errno = 0;
	assert_null(gw_readfile_small("/nonexistent/gwbpf/token", 4096, NULL));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trims_and_cuts),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
