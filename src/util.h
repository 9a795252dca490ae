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

/* Format a message into err (errlen bytes), the error out-parameter most
 * kguard functions take; nothing when err is NULL or errlen is 0. */
void util_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
