/*
 * nats_conn: the one place kguard connects to NATS.  The JetStream input, the
 * findings sink and the webhook's publish mode all connect through it with the
 * same settings: server URLs, a .creds file and TLS (a CA to trust, a client
 * certificate and key).  TLS is verified whenever it is used: there is no
 * switch that skips the server's certificate.
 */
#ifndef KGUARD_NATS_CONN_H
#define KGUARD_NATS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <nats/nats.h>

typedef struct kg_nats_conn_opts {
    const char *url;       /* nats://HOST:PORT or tls://HOST:PORT, comma-separated */
    const char *creds;     /* a .creds file (JWT and NKey seed), or NULL */
    const char *ca;        /* PEM CA the server's certificate must chain to, or NULL */
    const char *cert;      /* PEM client certificate (with key), or NULL */
    const char *key;       /* its PEM private key */
    const char *name;      /* the connection's name on the server ("kguard ...") */
} kg_nats_conn_opts;

/* True when the settings ask for TLS: a tls:// URL, a CA or a client
 * certificate. */
bool nats_conn_tls(const kg_nats_conn_opts *o);

/* Check the settings without connecting: a certificate needs its key and the
 * other way round.  -1 with a message in err. */
int nats_conn_check(const kg_nats_conn_opts *o, char *err, size_t errlen);

/* Connect (reconnecting for ever once connected) and open a JetStream
 * context.  On failure both are NULL and err names the URL and the cause
 * (a certificate that does not verify, a refused connection, ...). */
int nats_conn_open(const kg_nats_conn_opts *o, natsConnection **nc, jsCtx **js,
                   char *err, size_t errlen);

/* Close what nats_conn_open opened (either may be NULL). */
void nats_conn_close(natsConnection *nc, jsCtx *js);

/* "what: cause" in err for status s (and the JetStream error code when not
 * 0), with libnats's own text when its last error is s. */
void nats_conn_error(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr);

#endif
