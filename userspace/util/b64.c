/* util/b64.c - base64 decoding.
 *
 * Secret data (Kubernetes manifests, the API server, kubeconfig files) is
 * base64. One decoder serves the model, the kube source and the translator,
 * so a value is accepted or refused the same way wherever it is read. It is
 * lenient where writers differ (line breaks, missing padding, the URL-safe
 * alphabet) and strict where the text cannot be base64.
 */
#include "gwbpf/api.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "gwbpf/b64.h"

static bool b64_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* b64_value() : the 6-bit value of c, or -1 */
static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int gw_b64_decode(const char *in, size_t len, char *out, size_t *out_len)
{
	size_t k = 0, digits = 0;
	bool padded = false;
	uint32_t acc = 0;
	int bits = 0;
	int err = -EINVAL;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;

		if (b64_space(c))
			continue;
		if (c == '=') {
			padded = true;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || padded)
			goto out;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		digits++;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (digits % 4 == 1)
		goto out;
	err = 0;
out:
	out[k] = '\0';
	if (out_len)
		*out_len = k;
	return err;
}

char *gw_b64_decode_str(const char *in, size_t len)
{
	char *out = malloc(gw_b64_decoded_max(len));
	int err;

	if (!out)
		return NULL;
	err = gw_b64_decode(in, len, out, NULL);
	if (err) {
		free(out);
		errno = -err;
		return NULL;
	}
	return out;
}
