/*
 * gunzip: gzip members inflated one after the other, behind a stdio stream
 * (fopencookie) for files and stdin, or into memory for request bodies and
 * envelope payloads.  One step function holds the member logic both share.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "kguard/gunzip.h"

#define IN_CHUNK (64u << 10)

typedef struct gz_state {
    z_stream zs;
    bool in_member;    /* inside a member (its end not yet seen) */
    bool member_out;   /* the current member produced output */
    bool last_nl;      /* the last byte produced was a newline */
    bool owed_nl;      /* a newline goes before the next member's text */
    bool failed;       /* an error is waiting to be returned */
    char *err;
    size_t errlen;
} gz_state;

bool gunzip_magic(const void *p, size_t n)
{
    const unsigned char *b = p;
    return n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

static int gz_init(gz_state *g, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->err = err;
    g->errlen = errlen;
    if (inflateInit2(&g->zs, 15 + 16) != Z_OK) { /* 16: gzip wrapper only */
        snprintf(err, errlen, "cannot start zlib");
        return -1;
    }
    return 0;
}

static void gz_fail(gz_state *g, const char *msg)
{
    if (!g->failed)
        snprintf(g->err, g->errlen, "%s", msg);
    g->failed = true;
}

/* Between members: skip zero padding (tar and tape tools add it), then
 * expect the next member's magic.  false on anything else. */
static bool gz_next_member(gz_state *g)
{
    while (g->zs.avail_in && *g->zs.next_in == 0) {
        g->zs.next_in++;
        g->zs.avail_in--;
    }
    if (!g->zs.avail_in)
        return true;
    if (*g->zs.next_in != 0x1f) {
        gz_fail(g, "bad gzip data: something other than a gzip member follows one");
        return false;
    }
    inflateReset(&g->zs);
    g->in_member = true;
    g->member_out = false;
    return true;
}

/* Inflate what input there is into out[0..cap).  Returns the bytes
 * produced; 0 means more input is needed (or the data ended cleanly
 * between members); -1 on bad data (an error is delivered only after the
 * bytes before it). */
static long gz_step(gz_state *g, unsigned char *out, size_t cap)
{
    size_t got;
    int ret;
    if (g->failed)
        return -1;
    if (!g->in_member) {
        if (!gz_next_member(g))
            return -1;
        if (!g->in_member)
            return 0;
        if (g->owed_nl) {
            out[0] = '\n';
            g->owed_nl = false;
            return 1;
        }
    }
    g->zs.next_out = out;
    g->zs.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
    ret = inflate(&g->zs, Z_NO_FLUSH);
    got = (size_t)(g->zs.next_out - out);
    if (got) {
        g->member_out = true;
        g->last_nl = out[got - 1] == '\n';
    }
    if (ret == Z_STREAM_END) {
        g->in_member = false;
        g->owed_nl = g->member_out && !g->last_nl;
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        char msg[160];
        snprintf(msg, sizeof msg, "bad gzip data (%s)", g->zs.msg ? g->zs.msg : "zlib error");
        gz_fail(g, msg);
        return got ? (long)got : -1;
    }
    return (long)got;
}

/* ---- the stdio wrapper ------------------------------------------------ */

typedef struct gz_cookie {
    gz_state g;
    FILE *raw;
    bool keep_raw, raw_eof;
    unsigned char in[IN_CHUNK];
} gz_cookie;

/* More compressed bytes from raw; false at its end or on an error. */
static bool cookie_fill(gz_cookie *c)
{
    size_t n;
    if (c->raw_eof)
        return false;
    n = fread(c->in, 1, sizeof c->in, c->raw);
    if (n == 0) {
        c->raw_eof = true;
        if (ferror(c->raw)) {
            char msg[160];
            snprintf(msg, sizeof msg, "read error: %s", strerror(errno ? errno : EIO));
            gz_fail(&c->g, msg);
        }
        return false;
    }
    c->g.zs.next_in = c->in;
    c->g.zs.avail_in = (uInt)n;
    return true;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t size)
{
    gz_cookie *c = cookie;
    if (size == 0)
        return 0;
    for (;;) {
        long got;
        if (c->g.zs.avail_in == 0 && !c->g.failed &&
            !cookie_fill(c) && !c->g.failed) {
            if (!c->g.in_member)
                return 0;
            gz_fail(&c->g, "truncated gzip stream (it ends inside a member)");
        }
        got = gz_step(&c->g, (unsigned char *)buf, size);
        if (got < 0) {
            errno = EIO;
            return -1;
        }
        if (got > 0)
            return got;
    }
}

static int cookie_close(void *cookie)
{
    gz_cookie *c = cookie;
    int rc = 0;
    inflateEnd(&c->g.zs);
    if (!c->keep_raw)
        rc = fclose(c->raw);
    free(c);
    return rc;
}

FILE *gunzip_wrap(FILE *raw, bool keep_raw, bool *compressed, char *err,
                  size_t errlen)
{
    cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};
    gz_cookie *c;
    FILE *fp;
    int ch = getc(raw);
    *compressed = false;
    if (ch == EOF)
        return raw;
    ungetc(ch, raw);
    if (ch != 0x1f)
        return raw;
    if (!(c = calloc(1, sizeof *c))) {
        errno = ENOMEM;
        return NULL;
    }
    if (gz_init(&c->g, err, errlen) < 0) {
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->raw = raw;
    c->keep_raw = keep_raw;
    if (!(fp = fopencookie(c, "rb", io))) {
        inflateEnd(&c->g.zs);
        free(c);
        return NULL;
    }
    *compressed = true;
    return fp;
}

/* ---- in memory -------------------------------------------------------- */

static bool grow(char **buf, size_t *cap, size_t max)
{
    size_t ncap = *cap ? *cap * 2 : 4096;
    char *nb;
    if (ncap > max + 2)
        ncap = max + 2;
    if (ncap <= *cap || !(nb = realloc(*buf, ncap)))
        return false;
    *buf = nb;
    *cap = ncap;
    return true;
}

int gunzip_mem(const void *in, size_t n, size_t max, char **out, size_t *outlen,
               char *err, size_t errlen)
{
    gz_state g;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = -1;

    if (n > UINT32_MAX) {
        snprintf(err, errlen, "compressed payload too large");
        return -1;
    }
    if (gz_init(&g, err, errlen) < 0)
        return -1;
    g.zs.next_in = (Bytef *)(uintptr_t)in;
    g.zs.avail_in = (uInt)n;
    for (;;) {
        long got;
        if (cap - len < 2 && !grow(&buf, &cap, max)) {
            snprintf(err, errlen, len > max ? "decompressed payload over %zu bytes" : "out of memory", max);
            goto cleanup;
        }
        got = gz_step(&g, (unsigned char *)buf + len, cap - len - 1);
        if (got < 0)
            goto cleanup;
        len += (size_t)got;
        if (len > max) {
            snprintf(err, errlen, "decompressed payload over %zu bytes", max);
            goto cleanup;
        }
        if (got == 0 && g.zs.avail_in == 0)
            break;
    }
    if (g.in_member) {
        snprintf(err, errlen, "truncated gzip data");
        goto cleanup;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = 0;
cleanup:
    inflateEnd(&g.zs);
    free(buf);
    return rc;
}
