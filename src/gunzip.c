/*
 * gunzip: in-memory gzip/zlib decompression with a size cap (gunzip.h),
 * on zlib's inflate.  Concatenated gzip members (what `cat a.gz b.gz` and
 * some proxies produce) are decoded one after the other.
 */
#include "gunzip.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "util.h"

#define FIRST_CAP ((size_t)64 << 10)
#define AUTO_HEADER (15 + 32)     /* windowBits: detect a gzip or a zlib header */

/* Make room for at least one more byte in *buf, growing to at most max + 1
 * (the extra byte tells "exactly max" from "more").  0, or -1 when out of
 * memory. */
static int grow(char **buf, size_t *cap, size_t max)
{
    size_t ncap = *cap ? *cap * 2 : FIRST_CAP;
    char *nb;
    if (ncap > max + 1 || ncap < *cap)
        ncap = max + 1;
    if (!(nb = realloc(*buf, ncap)))
        return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

static int fail(int rc, char *err, size_t errlen, const char *what, const char *msg)
{
    util_set_err(err, errlen, "%s%s%s", what, msg ? ": " : "", msg ? msg : "");
    return rc;
}

int gunzip_buf(const char *in, size_t n, size_t max_out, char **out, size_t *outlen, char *err,
               size_t errlen)
{
    z_stream z;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = GUNZIP_OK, zr = Z_OK;

    memset(&z, 0, sizeof z);
    if (n > UINT_MAX || inflateInit2(&z, AUTO_HEADER) != Z_OK)
        return fail(n > UINT_MAX ? GUNZIP_TOO_LARGE : GUNZIP_NO_MEMORY, err, errlen,
                    n > UINT_MAX ? "compressed body too large" : "out of memory", NULL);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    while (zr != Z_STREAM_END || z.avail_in) {
        if (zr == Z_STREAM_END && inflateReset(&z) != Z_OK) {   /* the next member */
            rc = fail(GUNZIP_BAD, err, errlen, "bad gzip data", z.msg);
            goto cleanup;
        }
        if (len == cap) {
            if (cap > max_out) {
                rc = fail(GUNZIP_TOO_LARGE, err, errlen, "decompressed body too large", NULL);
                goto cleanup;
            }
            if (grow(&buf, &cap, max_out) < 0) {
                rc = fail(GUNZIP_NO_MEMORY, err, errlen, "out of memory", NULL);
                goto cleanup;
            }
        }
        z.next_out = (Bytef *)buf + len;
        z.avail_out = (uInt)(cap - len > UINT_MAX ? UINT_MAX : cap - len);
        zr = inflate(&z, Z_NO_FLUSH);
        len = (size_t)((char *)z.next_out - buf);
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = fail(GUNZIP_BAD, err, errlen, "truncated gzip data", NULL);
            goto cleanup;
        }
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            rc = fail(zr == Z_MEM_ERROR ? GUNZIP_NO_MEMORY : GUNZIP_BAD, err, errlen,
                      zr == Z_MEM_ERROR ? "out of memory" : "bad gzip data", z.msg);
            goto cleanup;
        }
    }
    if (len > max_out) {
        rc = fail(GUNZIP_TOO_LARGE, err, errlen, "decompressed body too large", NULL);
        goto cleanup;
    }
    if (len == cap && grow(&buf, &cap, len) < 0) {
        rc = fail(GUNZIP_NO_MEMORY, err, errlen, "out of memory", NULL);
        goto cleanup;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
cleanup:
    inflateEnd(&z);
    free(buf);
    return rc;
}
