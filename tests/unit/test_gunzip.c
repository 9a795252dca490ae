/* Unit tests for gunzip: members, newlines between them, truncation, bad
 * data, plain sources passed through, in-memory payloads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "kguard/gunzip.h"
#include "tap.h"

/* text compressed as one gzip member, appended to buf at *len */
static void gz_append(unsigned char *buf, size_t cap, size_t *len, const char *text)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = buf + *len;
    zs.avail_out = (uInt)(cap - *len);
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    *len += zs.total_out;
    deflateEnd(&zs);
}

/* Read everything through gunzip_wrap from a memory FILE. */
static char *read_all(const unsigned char *data, size_t n, bool *compressed,
                      bool *failed, char *err, size_t errlen)
{
    FILE *raw = fmemopen((void *)(uintptr_t)data, n, "rb");
    FILE *fp = gunzip_wrap(raw, false, compressed, err, errlen);
    char *out = calloc(1, 1 << 20);
    size_t len = 0, got;
    while ((got = fread(out + len, 1, 7, fp)) > 0) /* small reads on purpose */
        len += got;
    *failed = ferror(fp) != 0;
    fclose(fp);
    return out;
}

static void test_members(void)
{
    unsigned char buf[4096];
    size_t len = 0;
    bool compressed, failed;
    char err[200] = "";
    char *out;
    gz_append(buf, sizeof buf, &len, "{\"a\":1}\n{\"b\":2}\n");
    gz_append(buf, sizeof buf, &len, "{\"c\":3}");      /* no final newline */
    gz_append(buf, sizeof buf, &len, "{\"d\":4}");
    memset(buf + len, 0, 8);                           /* zero padding */
    len += 8;
    out = read_all(buf, len, &compressed, &failed, err, sizeof err);
    ok(compressed, "gzip recognised by its magic bytes");
    ok(!failed, "no error for well-formed members and zero padding");
    is_str(out, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"d\":4}",
           "members in order, a newline put between members that lack one");
    free(out);
}

static void test_plain(void)
{
    const char *text = "{\"kind\":\"Event\"}\n";
    bool compressed, failed;
    char err[200] = "";
    char *out = read_all((const unsigned char *)text, strlen(text), &compressed,
                         &failed, err, sizeof err);
    ok(!compressed, "plain text is not taken for gzip");
    is_str(out, text, "plain text read as it is");
    free(out);
}

static void test_truncated(void)
{
    unsigned char buf[8192];
    size_t len = 0;
    bool compressed, failed;
    char err[200] = "";
    char text[3000];
    char *out;
    for (int i = 0; i < 100; i++)
        snprintf(text + i * 20, 21, "{\"line\":%05d}      ", i);
    text[1999] = '\n';
    text[2000] = '\0';
    gz_append(buf, sizeof buf, &len, "{\"first\":true}\n");
    gz_append(buf, sizeof buf, &len, text);
    out = read_all(buf, len - 12, &compressed, &failed, err, sizeof err);
    ok(failed, "a truncated stream fails");
    ok(strstr(err, "truncated") != NULL, "the error says truncated (%s)", err);
    ok(strncmp(out, "{\"first\":true}\n", 15) == 0, "the complete member before it is delivered");
    free(out);

    err[0] = '\0';
    buf[len / 2 + 5] ^= 0xff;   /* corrupt the deflate data of the second member */
    buf[len / 2 + 6] ^= 0xff;
    out = read_all(buf, len, &compressed, &failed, err, sizeof err);
    ok(failed && strstr(err, "gzip") != NULL, "corrupt data fails with a message (%s)", err);
    free(out);

    err[0] = '\0';
    len = 0;
    gz_append(buf, sizeof buf, &len, "{\"x\":1}\n");
    memcpy(buf + len, "trailing", 8);
    out = read_all(buf, len + 8, &compressed, &failed, err, sizeof err);
    ok(failed && strstr(err, "other than a gzip member") != NULL,
       "garbage after a member fails (%s)", err);
    is_str(out, "{\"x\":1}\n", "the member before the garbage is delivered");
    free(out);
}

static void test_mem(void)
{
    unsigned char buf[4096];
    size_t len = 0, outlen = 0;
    char *out = NULL, err[200] = "";
    gz_append(buf, sizeof buf, &len, "{\"messageType\":\"DATA_MESSAGE\"}");
    ok(gunzip_magic(buf, len), "gunzip_magic on gzip data");
    ok(!gunzip_magic("{}", 2), "gunzip_magic false on JSON");
    is_int(gunzip_mem(buf, len, 1000, &out, &outlen, err, sizeof err), 0, "gunzip_mem");
    is_str(out, "{\"messageType\":\"DATA_MESSAGE\"}", "gunzip_mem text");
    is_int(outlen, 30, "gunzip_mem length");
    free(out);
    out = NULL;
    is_int(gunzip_mem(buf, len, 10, &out, &outlen, err, sizeof err), -1, "over max fails");
    ok(strstr(err, "over 10 bytes") != NULL, "over max: message (%s)", err);
    is_int(gunzip_mem(buf, len - 5, 1000, &out, &outlen, err, sizeof err), -1, "truncated fails");
    ok(strstr(err, "truncated") != NULL, "truncated: message (%s)", err);
    is_int(gunzip_mem("\x1f\x8bxxxxxxxxxxxx", 14, 1000, &out, &outlen, err, sizeof err), -1,
           "a bad header fails");
}

int main(void)
{
    test_members();
    test_plain();
    test_truncated();
    test_mem();
    return done_testing();
}
