/*
 * sink_nats: the JetStream findings sink (include/kguard/sink_nats.h).  Owns
 * its own libnats connection and JetStream context; write publishes one line
 * and waits for the stream's acknowledgement, so a line is either stored by
 * JetStream or refused (and then kept and retried by the sink set).  One
 * round trip per finding line: findings are rare next to events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nats/nats.h>
#include "kguard/sink_nats.h"

#define PUBLISH_WAIT_MS 5000

typedef struct nats_sink {
    natsConnection *nc;
    jsCtx *js;
    char *subject;
} nats_sink;

/* The library's message for s when its last error is s, else the status's
 * name (the last error may be an older one). */
static const char *last_error(natsStatus s)
{
    natsStatus ls = NATS_OK;
    const char *last = nats_GetLastError(&ls);
    return ls == s && last && *last ? last : natsStatus_GetText(s);
}

static int nats_write(kg_sink *s, const char *line, bool archived)
{
    nats_sink *n = s->impl;
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    natsStatus st;
    (void)archived;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    st = js_Publish(&ack, n->js, n->subject, line, (int)strlen(line), &po, &jerr);
    jsPubAck_Destroy(ack);
    if (st != NATS_OK)
        return sink_fail(s, "publish to %s: %s", n->subject, last_error(st));
    return 0;
}

static void impl_free(nats_sink *n)
{
    if (!n)
        return;
    jsCtx_Destroy(n->js);
    natsConnection_Destroy(n->nc);
    free(n->subject);
    free(n);
}

static void nats_close(kg_sink *s)
{
    impl_free(s->impl);
    s->impl = NULL;
}

static const kg_sink_ops NATS_OPS = {"nats", nats_write, NULL, NULL, nats_close, NULL, NULL};

static int nats_connect(nats_sink *n, const char *url, const char *creds, char *err,
                        size_t errlen)
{
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, "kguard findings");
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK && creds)
        s = natsOptions_SetUserCredentialsFromFiles(opts, creds, NULL);
    if (s == NATS_OK)
        s = natsConnection_Connect(&n->nc, opts);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&n->js, n->nc, NULL);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        snprintf(err, errlen, "%s: %s", url, last_error(s));
        return -1;
    }
    return 0;
}

kg_sink *sink_nats_open(const char *url, const char *creds, const char *subject,
                        unsigned takes, char *err, size_t errlen)
{
    nats_sink *n = calloc(1, sizeof *n);
    char name[256];
    kg_sink *s = NULL;
    snprintf(err, errlen, "out of memory");
    if (!n || !(n->subject = strdup(subject)))
        goto fail;
    if (nats_connect(n, url, creds, err, errlen) < 0)
        goto fail;
    snprintf(name, sizeof name, "nats:%s", subject);
    if (!(s = sink_new(&NATS_OPS, n, name, takes)))
        goto fail;
    return s;
fail:
    impl_free(n);
    return NULL;
}
