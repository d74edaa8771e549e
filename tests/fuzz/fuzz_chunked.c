/* fuzz_chunked.c - libFuzzer driver for the chunked walker and decoder.
 *
 * The body is walked four ways: gw_chunked_feed() in one call,
 * gw_chunked_decode() in one call, and both in pieces whose sizes come from
 * the input itself. All must agree on the verdict and on where the body ends,
 * and the decoded bytes must match, whatever the split points: state carried
 * between calls must never change a decision.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include "gwbpf/http1.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAXN (1 << 16)

static char one[MAXN], split[MAXN], out[MAXN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_chunk_state a = { 0 }, b = { 0 }, c = { 0 };
	size_t ca = 0, cb = 0, lb = 0, off = 0, o = 0, step_seed;
	int ra, rb, rc = 0;

	if (size > MAXN)
		size = MAXN;
	memcpy(one, data, size);
	memcpy(split, data, size);

	ra = gw_chunked_feed(&a, (const char *)data, size, &ca);
	CHECK(ra == 0 || ra == 1 || ra == -EBADMSG);
	CHECK(ca <= size);
	if (ra == 0)
		CHECK(ca == size);

	rb = gw_chunked_decode(&b, one, size, &cb, &lb);
	CHECK(rb == ra);
	CHECK(lb <= cb);
	if (ra >= 0)
		CHECK(cb == ca);

	/* pieces of 1..16 bytes, sizes drawn from the data */
	step_seed = size ? data[size - 1] : 0;
	while (off < size) {
		size_t piece = 1 + (step_seed % 16), used = 0, dl = 0;

		step_seed = step_seed * 1103515245u + 12345u + (off < size ? data[off] : 0);
		if (piece > size - off)
			piece = size - off;
		rc = gw_chunked_decode(&c, split + off, piece, &used, &dl);
		CHECK(used <= piece && dl <= used);
		memcpy(out + o, split + off, dl);
		o += dl;
		off += used;
		if (rc != 0)
			break;
		CHECK(used == piece);
	}
	CHECK(rc == ra);
	if (ra >= 0) {
		CHECK(off == ca);
		CHECK(o == lb);
		CHECK(memcmp(out, one, o) == 0);
	}
	/* once finished or failed, the state is sticky */
	if (ra != 0) {
		size_t used = 7;

		CHECK(gw_chunked_feed(&a, "0\r\n\r\n", 5, &used) == ra && used == 0);
	}
	return 0;
}
