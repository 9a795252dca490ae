/*
 * b64: base64 decoding through gnutls_base64_decode2, copied into memory
 * kguard owns (freed with free, not gnutls_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include "b64.h"

char *b64_decode(const char *text, size_t max, size_t *len, char *err,
                 size_t errlen)
{
    size_t n = strlen(text);
    gnutls_datum_t in, out = {NULL, 0};
    char *buf;
    if (n == 0 || n / 4 * 3 > max + 3 || n > 0xFFFFFFFFu) {
        snprintf(err, errlen, n ? "base64 data over %zu bytes" : "empty base64 data", max);
        return NULL;
    }
    in.data = (unsigned char *)text;
    in.size = (unsigned)n;
    if (gnutls_base64_decode2(&in, &out) < 0) {
        snprintf(err, errlen, "bad base64 data");
        return NULL;
    }
    if (out.size > max || !(buf = malloc((size_t)out.size + 1))) {
        snprintf(err, errlen, out.size > max ? "base64 data over %zu bytes" : "out of memory", max);
        gnutls_free(out.data);
        return NULL;
    }
    memcpy(buf, out.data, out.size);
    buf[out.size] = '\0';
    *len = out.size;
    gnutls_free(out.data);
    return buf;
}
