/* fuzz_sni.c - libFuzzer driver for the ClientHello server name parser
 * (gw_tls_parse_sni, used to route TLS passthrough).
 *
 * Beyond "does not crash": a name it returns is NUL-terminated, at most 255
 * bytes, lowercase DNS characters only; and every prefix of an input is
 * either "incomplete" or the same verdict with the same name, so split
 * reads can never change the routing decision.
 */
#include "gwbpf/api.h"

#include <stdio.h>

#include "gwbpf/tls.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[256], pname[256];
	size_t i, n, cut;
	int r, pr;

	r = gw_tls_parse_sni(data, size, name, sizeof(name));
	CHECK(r == 0 || r == -EAGAIN || r == -EBADMSG);
	if (r == 0) {
		n = strnlen(name, sizeof(name));
		CHECK(n < sizeof(name));
		for (i = 0; i < n; i++)
			CHECK((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
			      name[i] == '-' || name[i] == '.' || name[i] == '_');
	}
	/* a few prefixes: incomplete, or the same answer */
	for (cut = 0; cut < size; cut += size / 7 + 1) {
		pr = gw_tls_parse_sni(data, cut, pname, sizeof(pname));
		CHECK(pr == -EAGAIN || pr == r);
		if (pr == 0)
			CHECK(!strcmp(pname, name));
	}
	return 0;
}
