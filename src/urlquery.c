/*
 * urlquery: splitting and decoding a request URI's query string (see
 * urlquery.h).
 */
#include <string.h>
#include "kguard/urlquery.h"

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const char *urlquery_of(const char *uri)
{
    const char *q = uri ? strchr(uri, '?') : NULL;
    return q ? q + 1 : NULL;
}

bool urlquery_next(const char **cursor, kg_qparam *p)
{
    const char *s = *cursor, *end, *eq;
    if (!s)
        return false;
    while (*s == '&')
        s++;
    if (!*s) {
        *cursor = s;
        return false;
    }
    end = s + strcspn(s, "&");
    eq = memchr(s, '=', (size_t)(end - s));
    p->key = s;
    p->key_len = (size_t)((eq ? eq : end) - s);
    p->val = eq ? eq + 1 : end;
    p->val_len = eq ? (size_t)(end - eq - 1) : 0;
    *cursor = end;
    return true;
}

size_t urlquery_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return o;
}
