/* gwbpf/readfile.h - reading a small text file whole (see util/readfile.c). */
#ifndef GWBPF_READFILE_H
#define GWBPF_READFILE_H

#include "gwbpf/api.h"

/* gw_readfile_small() : the first max bytes of the file at path as a new
 * malloc'd NUL-terminated string (caller frees) without trailing whitespace;
 * *len (may be NULL) gets its length. NULL with errno from fopen/fread, or
 * ENOMEM. A longer file is cut at max bytes. */
char *gw_readfile_small(const char *path, size_t max, size_t *len);

#endif
