/*
 * gunzip: gzip streams read as the bytes they hold (zlib's inflate).
 *
 * A source is compressed when it starts with gzip's magic bytes, whatever its
 * name.  Concatenated members (`cat a.gz b.gz`, rotated archives joined, the
 * one-member-per-record objects Firehose writes to S3) are read one after the
 * other; when a member's text does not end with a newline, one is put
 * between it and the next, so every member starts on its own line.
 */
#ifndef KGUARD_GUNZIP_H
#define KGUARD_GUNZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Do the n bytes at p start with gzip's magic (1f 8b)? */
bool gunzip_magic(const void *p, size_t n);

/* raw when it is not compressed (*compressed false), else a stream that
 * reads the decompressed bytes (*compressed true).  Only the first byte is
 * looked at (gzip's 0x1f never starts a text source), so raw may be a pipe.
 * When the compressed data is bad or ends early, reading fails (ferror) and
 * err, which must outlive the stream, says what went wrong; the bytes
 * decompressed before it are all delivered first.  Closing the stream closes
 * raw too unless keep_raw.  NULL (errno set) when the wrapper cannot be
 * made. */
FILE *gunzip_wrap(FILE *raw, bool keep_raw, bool *compressed, char *err,
                  size_t errlen);

/* Decompress the n bytes at in (all members) into a malloc'd, NUL-terminated
 * buffer of at most max bytes.  Returns 0, or -1 with a message in err (bad
 * data, truncated, over max, out of memory). */
int gunzip_mem(const void *in, size_t n, size_t max, char **out, size_t *outlen,
               char *err, size_t errlen);

#endif
