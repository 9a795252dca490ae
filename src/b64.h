/*
 * b64: base64 payloads (Pub/Sub message data, CloudWatch Logs data in a
 * Lambda event) decoded with GnuTLS, already linked for the webhook's TLS.
 */
#ifndef KGUARD_B64_H
#define KGUARD_B64_H

#include <stddef.h>

/* The decoded bytes of text, malloc'd and NUL-terminated, *len of them (at
 * most max).  NULL with a message in err. */
char *b64_decode(const char *text, size_t max, size_t *len, char *err,
                 size_t errlen);

#endif
