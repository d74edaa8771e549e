/* gwbpf/b64.h - base64 decoding (see util/b64.c). */
#ifndef GWBPF_B64_H
#define GWBPF_B64_H

#include "gwbpf/api.h"

/* gw_b64_decoded_max() : bytes gw_b64_decode() may write for len input
 * characters, the terminating NUL included */
static inline size_t gw_b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 3;
}

/* gw_b64_decode() : decodes len characters of base64 (RFC 4648 §4, or the
 * URL-safe alphabet of §5; padding optional; whitespace skipped anywhere) into
 * out, which must hold gw_b64_decoded_max(len) bytes, and NUL-terminates it.
 * *out_len (may be NULL) gets the decoded length. 0, or -EINVAL when in is
 * not base64: a foreign character, data after '=', or a lone trailing
 * character (which cannot carry a byte). Borrows in and out. */
int gw_b64_decode(const char *in, size_t len, char *out, size_t *out_len);

/* gw_b64_decode_str() : gw_b64_decode() into a new malloc'd NUL-terminated
 * string (caller frees); NULL with errno EINVAL or ENOMEM */
char *gw_b64_decode_str(const char *in, size_t len);

#endif
