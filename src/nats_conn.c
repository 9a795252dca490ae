/*
 * nats_conn: connecting to NATS with kguard's settings (include/kguard/nats_conn.h):
 * URLs, credentials, TLS always verified, reconnection, and the error text
 * every NATS module reports with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/nats_conn.h"

#define CONNECT_TIMEOUT_MS 5000
#define NULL_TAIL ": (null)"        /* libnats's text for a missing OpenSSL reason */

/* libnats's text without the "(conn.c:733): " it starts with. */
static const char *without_origin(const char *m)
{
    const char *end = m[0] == '(' ? strstr(m, "): ") : NULL;
    return end && end[3] ? end + 3 : m;
}

void nats_conn_error(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr)
{
    natsStatus ls = NATS_OK;
    const char *last = nats_GetLastError(&ls);
    size_t n;
    if (ls != s || !last || !*last)
        last = natsStatus_GetText(s);   /* the last error is an older one */
    last = without_origin(last);
    n = strlen(last);
    if (n >= sizeof NULL_TAIL - 1 && strcmp(last + n - (sizeof NULL_TAIL - 1), NULL_TAIL) == 0)
        n -= sizeof NULL_TAIL - 1;   /* OpenSSL had no reason to add */
    if (jerr)
        snprintf(err, errlen, "%s: %.*s (JetStream error %d)", what, (int)n, last, (int)jerr);
    else
        snprintf(err, errlen, "%s: %.*s", what, (int)n, last);
}

bool nats_conn_tls(const kg_nats_conn_opts *o)
{
    return o->ca || o->cert || (o->url && strstr(o->url, "tls://"));
}

int nats_conn_check(const kg_nats_conn_opts *o, char *err, size_t errlen)
{
    if (!o->url || !*o->url) {
        snprintf(err, errlen, "no NATS URL (--nats-url)");
        return -1;
    }
    if (!o->cert != !o->key) {
        snprintf(err, errlen, "--nats-cert and --nats-key go together");
        return -1;
    }
    return 0;
}

/* TLS settings: secure mode, the CA, the client certificate.  The server's
 * certificate is verified (libnats's default, never switched off). */
static natsStatus set_tls(natsOptions *opts, const kg_nats_conn_opts *o, const char **what)
{
    natsStatus s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK && o->ca) {
        *what = o->ca;
        s = natsOptions_LoadCATrustedCertificates(opts, o->ca);
    }
    if (s == NATS_OK && o->cert) {
        *what = o->cert;
        s = natsOptions_LoadCertificatesChain(opts, o->cert, o->key);
    }
    return s;
}

#define MAX_SERVERS 16

/* URL, or URL,URL,... (the servers of a NATS cluster): libnats 3.4.1 takes
 * a list only through natsOptions_SetServers. */
static natsStatus set_servers(natsOptions *opts, const char *url)
{
    char *copy, *save = NULL, *tok;
    const char *list[MAX_SERVERS];
    int n = 0;
    natsStatus s;
    if (!strchr(url, ','))
        return natsOptions_SetURL(opts, url);
    if (!(copy = strdup(url)))
        return NATS_NO_MEMORY;
    for (tok = strtok_r(copy, ", ", &save); tok && n < MAX_SERVERS; tok = strtok_r(NULL, ", ", &save))
        list[n++] = tok;
    s = n ? natsOptions_SetServers(opts, list, n) : NATS_INVALID_ARG;
    free(copy);
    return s;
}

static natsStatus set_options(natsOptions *opts, const kg_nats_conn_opts *o, const char **what)
{
    natsStatus s = set_servers(opts, o->url);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, o->name ? o->name : "kguard");
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);   /* for ever */
    if (s == NATS_OK && o->creds) {
        *what = o->creds;
        s = natsOptions_SetUserCredentialsFromFiles(opts, o->creds, NULL);
    }
    if (s == NATS_OK && nats_conn_tls(o))
        s = set_tls(opts, o, what);
    return s;
}

int nats_conn_open(const kg_nats_conn_opts *o, natsConnection **nc, jsCtx **js,
                   char *err, size_t errlen)
{
    natsOptions *opts = NULL;
    const char *what = "NATS options";
    natsStatus s;
    *nc = NULL;
    *js = NULL;
    if (nats_conn_check(o, err, errlen) < 0)
        return -1;
    if ((s = natsOptions_Create(&opts)) == NATS_OK)
        s = set_options(opts, o, &what);
    if (s != NATS_OK) {
        nats_conn_error(err, errlen, what, s, 0);
        goto cleanup;
    }
    if ((s = natsConnection_Connect(nc, opts)) != NATS_OK) {
        nats_conn_error(err, errlen, o->url, s, 0);
        goto cleanup;
    }
    if ((s = natsConnection_JetStream(js, *nc, NULL)) != NATS_OK)
        nats_conn_error(err, errlen, "JetStream", s, 0);
cleanup:
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        nats_conn_close(*nc, *js);
        *nc = NULL;
        *js = NULL;
        return -1;
    }
    return 0;
}

void nats_conn_close(natsConnection *nc, jsCtx *js)
{
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}
