/*
 * util: small helpers several modules share.
 */
#ifndef KGUARD_UTIL_H
#define KGUARD_UTIL_H

#include <stddef.h>

/* The whole of a regular file, NUL-terminated, malloc'd; its length in
 * *len.  NULL with an errno value in *err (EISDIR for a directory, EFBIG
 * past max bytes). */
char *util_read_file(const char *path, size_t max, size_t *len, int *err);

#endif
