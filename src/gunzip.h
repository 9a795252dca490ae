/*
 * gunzip: decompressing a gzip (or zlib) body held in memory, with a cap on
 * the decompressed size so a small bomb cannot take the process's memory.
 */
#ifndef KGUARD_GUNZIP_H
#define KGUARD_GUNZIP_H

#include <stddef.h>

enum {
    GUNZIP_OK = 0,
    GUNZIP_BAD = -1,        /* not gzip/zlib data, corrupt or truncated */
    GUNZIP_TOO_LARGE = -2,  /* decompresses to more than max_out bytes */
    GUNZIP_NO_MEMORY = -3,
};

/* Decompress in[0..n) (one or more gzip members, or one zlib stream) into a
 * malloc'd *out of *outlen bytes (NUL-terminated, not counted).  Returns
 * GUNZIP_OK or one of the errors, with the reason in err. */
int gunzip_buf(const char *in, size_t n, size_t max_out, char **out, size_t *outlen, char *err,
               size_t errlen);

#endif
