/* util/readfile.c - reading a small text file whole.
 *
 * Tokens, namespaces and CA bundles named by a kubeconfig or mounted by the
 * service account are small files that are re-read while running (a
 * projected token rotates). One reader cuts them at a limit and drops the
 * trailing newline writers leave, so every caller compares the same text.
 */
#include "gwbpf/api.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "gwbpf/readfile.h"

char *gw_readfile_small(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, *fit;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf)
		goto out;
	n = fread(buf, 1, max, f);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
		errno = EIO;
		goto out;
	}
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	fit = realloc(buf, n + 1); /* keep only what the file held */
	if (fit)
		buf = fit;
	if (len)
		*len = n;
out:
	fclose(f);
	return buf;
}
