/* tests/unit/test_b64.c - util/b64.c: the RFC 4648 §10 test vectors, the
 * leniency Secret writers rely on (line breaks, no padding, URL-safe
 * alphabet) and text that is not base64. */
#include "gwbpf/api.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "gwbpf/b64.h"

static void check(const char *in, const char *want)
{
	char *got = gw_b64_decode_str(in, strlen(in));

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void check_bad(const char *in)
{
	char *got;

	errno = 0;
	got = gw_b64_decode_str(in, strlen(in));
	assert_null(got);
	assert_int_equal(errno, EINVAL);
}

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	check("", "");
	check("Zg==", "f");
	check("Zm8=", "fo");
	check("Zm9v", "foo");
	check("Zm9vYg==", "foob");
	check("Zm9vYmE=", "fooba");
	check("Zm9vYmFy", "foobar");
}

static void test_lenient(void **state)
{
	(void)state;
	check("Zg", "f");		  /* padding optional */
	check("Zm9vYmE", "fooba");
	check("Zm9v\nYmFy\r\n", "foobar"); /* PEM-style line breaks */
	check(" Zm 9v\tYg = = ", "foob");
	check("-_8=", "\xfb\xff");	  /* URL-safe alphabet (§5) */
	check("+/8=", "\xfb\xff");
}

static void test_bad_input(void **state)
{
	(void)state;
	check_bad("Zm9v*");    /* foreign character */
	check_bad("Zg==Zm8="); /* data after padding */
	check_bad("Zm9vY");    /* lone trailing character carries no byte */
	check_bad("Z");
	check_bad("Zm\x80v");
}

static void test_length_and_bound(void **state)
{
	/* binary output: the length, not strlen, is what counts */
	const char *in = "AAEC/w==";
	char out[16];
	size_t n = 99;

	(void)state;
	assert_true(gw_b64_decoded_max(strlen(in)) <= sizeof(out));
	assert_int_equal(gw_b64_decode(in, strlen(in), out, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\x00\x01\x02\xff", 4);
	/* only len characters are read: "Zm9vYmFy" cut at 4 is "foo" */
	assert_int_equal(gw_b64_decode("Zm9vYmFy", 4, out, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(out, "foo");
	assert_int_equal(gw_b64_decode("Zm9v!", 5, out, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_length_and_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
