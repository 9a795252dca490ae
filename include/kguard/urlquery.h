/*
 * urlquery: the query string of a request URI — its parameters in order
 * and their decoding (%XX escapes, '+' as a space, as the API server reads
 * them).  The one implementation behind ev.query(name) and paths.query.
 */
#ifndef KGUARD_URLQUERY_H
#define KGUARD_URLQUERY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kg_qparam {
    const char *key, *val;    /* raw (still encoded) */
    size_t key_len, val_len;  /* val_len 0 also when there is no '=' */
} kg_qparam;

/* The query string of uri (after its '?'), or NULL when it has none. */
const char *urlquery_of(const char *uri);

/* The next parameter of a query string: *cursor starts at urlquery_of's
 * answer and moves on.  Empty parts ("a&&b") are skipped.  false at the
 * end. */
bool urlquery_next(const char **cursor, kg_qparam *p);

/* Decode s[0..n) into out (room for n bytes; not NUL-terminated).
 * Returns the decoded length (at most n).  A '%' not followed by two hex
 * digits is kept as it is. */
size_t urlquery_decode(const char *s, size_t n, char *out);

#endif
