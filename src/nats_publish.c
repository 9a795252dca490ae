/*
 * nats_publish: webhook bodies published to JetStream (include/kguard/nats_publish.h).
 * Owns the publishing connection, the subject naming and the answer to give
 * the API server for each body.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "kguard/nats_publish.h"

#define TOKEN_MAX 128
#define SUBJECT_MAX 256

struct kg_nats_pub {
    natsConnection *nc;
    jsCtx *js;
    char *prefix, *default_cluster;
    int wait_ms;
    atomic_ullong stored, refused;
};

/* A cluster name that is one subject token (no '.', '*', '>' or space). */
static bool token_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

kg_nats_pub *nats_publish_open(const kg_nats_pub_opts *o, char *err, size_t errlen)
{
    kg_nats_pub *p = calloc(1, sizeof *p);
    kg_nats_conn_opts conn = o->conn;
    snprintf(err, errlen, "out of memory");
    if (!p || !(p->prefix = strdup(o->prefix)) ||
        !(p->default_cluster = strdup(o->default_cluster)))
        goto fail;
    if (!token_ok(p->default_cluster)) {
        snprintf(err, errlen, "cluster name '%s' cannot be a NATS subject token "
                 "(letters, digits, - and _ only)", p->default_cluster);
        goto fail;
    }
    p->wait_ms = o->wait_ms > 0 ? o->wait_ms : 5000;
    conn.name = "kguard webhook publisher";
    if (nats_conn_open(&conn, &p->nc, &p->js, err, errlen) < 0)
        goto fail;
    return p;
fail:
    nats_publish_close(p);
    return NULL;
}

/* The message id: the same cluster and body give the same id, so JetStream
 * stores a re-sent batch once. */
static void msg_id(const char *subject, const char *data, size_t len, char *out, size_t outlen)
{
    XXH3_state_t *st = XXH3_createState();
    XXH128_hash_t h = {0, 0};
    if (st && XXH3_128bits_reset(st) == XXH_OK &&
        XXH3_128bits_update(st, subject, strlen(subject) + 1) == XXH_OK &&
        XXH3_128bits_update(st, data, len) == XXH_OK)
        h = XXH3_128bits_digest(st);
    else
        h = XXH3_128bits(data, len);
    XXH3_freeState(st);
    snprintf(out, outlen, "kguard-%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

static unsigned refuse(kg_nats_pub *p, unsigned status)
{
    atomic_fetch_add(&p->refused, 1);
    return status;
}

unsigned nats_publish_body(kg_nats_pub *p, const char *data, size_t len, const char *cluster,
                           char *err, size_t errlen)
{
    char subject[SUBJECT_MAX], id[48];
    const char *c = cluster && *cluster ? cluster : p->default_cluster;
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    if (!token_ok(c)) {
        snprintf(err, errlen, "cluster name '%s' cannot be a NATS subject token", c);
        return refuse(p, 400);
    }
    if (natsConnection_Status(p->nc) != NATS_CONN_STATUS_CONNECTED) {
        snprintf(err, errlen, "not connected to NATS");   /* not buffered for later */
        return refuse(p, 503);
    }
    if ((int64_t)len > natsConnection_GetMaxPayload(p->nc)) {
        snprintf(err, errlen, "body of %zu bytes over the NATS server's max_payload (%lld): "
                 "raise max_payload or send smaller batches", len,
                 (long long)natsConnection_GetMaxPayload(p->nc));
        return refuse(p, 413);
    }
    snprintf(subject, sizeof subject, "%s.%s", p->prefix, c);
    msg_id(subject, data, len, id, sizeof id);
    jsPubOptions_Init(&po);
    po.MaxWait = p->wait_ms;
    po.MsgId = id;
    s = js_Publish(&ack, p->js, subject, data, (int)len, &po, &jerr);
    jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
        char what[SUBJECT_MAX + 16];
        snprintf(what, sizeof what, "publish to %s", subject);
        nats_conn_error(err, errlen, what, s, jerr);
        return refuse(p, 503);
    }
    atomic_fetch_add(&p->stored, 1);
    return 200;
}

void nats_publish_counts(kg_nats_pub *p, unsigned long long *stored,
                         unsigned long long *refused)
{
    *stored = p ? atomic_load(&p->stored) : 0;
    *refused = p ? atomic_load(&p->refused) : 0;
}

void nats_publish_close(kg_nats_pub *p)
{
    if (!p)
        return;
    nats_conn_close(p->nc, p->js);
    free(p->prefix);
    free(p->default_cluster);
    free(p);
}
