/*
 * sink_nats: the JetStream findings sink (include/kguard/sink_nats.h).  Owns
 * its connection (opened by nats_conn.c) and the subject; write publishes one
 * line and waits for the stream's acknowledgement, so a line is either stored
 * by JetStream or refused (and then kept and retried by the sink set).  One
 * round trip per finding line: findings are rare next to events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/sink_nats.h"

#define PUBLISH_WAIT_MS 5000

typedef struct nats_sink {
    natsConnection *nc;
    jsCtx *js;
    char *subject;
    unsigned long long delivered;   /* lines the stream acknowledged */
} nats_sink;

static int nats_write(kg_sink *s, const char *line, bool archived)
{
    nats_sink *n = s->impl;
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    natsStatus st;
    char what[300], err[512];
    (void)archived;
    if (natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED) {   /* no 5 s wait per line */
        return sink_fail(s, "publish to %s: not connected to NATS", n->subject);
    }
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    st = js_Publish(&ack, n->js, n->subject, line, (int)strlen(line), &po, &jerr);
    jsPubAck_Destroy(ack);
    if (st != NATS_OK) {
        snprintf(what, sizeof what, "publish to %s", n->subject);
        nats_conn_error(err, sizeof err, what, st, jerr);
        return sink_fail(s, "%s", err);
    }
    n->delivered++;
    return 0;
}

/* Delivered: lines the stream acknowledged.  A refused line is kept and
 * retried by the sink set (memory, then the --nats-spool file), which
 * reports what waits and what was lost; the other counters stay 0. */
static int nats_counts(kg_sink *s, kg_sink_counts *out)
{
    const nats_sink *n = s->impl;
    memset(out, 0, sizeof *out);
    out->delivered = n->delivered;
    return 0;
}

static void impl_free(nats_sink *n)
{
    if (!n)
        return;
    nats_conn_close(n->nc, n->js);
    free(n->subject);
    free(n);
}

static void nats_close(kg_sink *s)
{
    impl_free(s->impl);
    s->impl = NULL;
}

static const kg_sink_ops NATS_OPS = {"nats", nats_write, NULL, NULL, nats_close, NULL,
                                     nats_counts};

kg_sink *sink_nats_open(const kg_nats_conn_opts *conn, const char *subject, unsigned takes,
                        char *err, size_t errlen)
{
    nats_sink *n = calloc(1, sizeof *n);
    kg_nats_conn_opts o = *conn;
    char name[256];
    kg_sink *s = NULL;
    snprintf(err, errlen, "out of memory");
    if (!n || !(n->subject = strdup(subject)))
        goto fail;
    o.name = "kguard findings";
    if (nats_conn_open(&o, &n->nc, &n->js, err, errlen) < 0)
        goto fail;
    snprintf(name, sizeof name, "nats:%s", subject);
    if (!(s = sink_new(&NATS_OPS, n, name, takes)))
        goto fail;
    return s;
fail:
    impl_free(n);
    return NULL;
}
