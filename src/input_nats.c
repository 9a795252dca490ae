/*
 * input_nats: the JetStream input of `kguard run` (include/kguard/input_nats.h).
 * Owns the durable pull subscription (on a connection nats_conn.c opens);
 * fetches batches, hands each message to the caller and acknowledges the
 * batch only after the caller committed it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nats/nats.h>
#include "kguard/input_nats.h"
#include "kguard/nats_conn.h"

#define CLUSTER_MAX 128

struct kg_nats_in {
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    kg_nats_group *group;   /* per-cluster consumers instead of sub */
};

static int bind_consumer(kg_nats_in *n, const kg_nats_in_opts *o, char *err, size_t errlen)
{
    jsErrCode jerr = 0;
    jsSubOptions so;
    natsStatus s;
    jsSubOptions_Init(&so);
    so.Config.AckPolicy = js_AckExplicit;
    s = js_PullSubscribe(&n->sub, n->js, o->subject, o->durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        char what[256];
        snprintf(what, sizeof what, "pull consumer %s on %s", o->durable, o->subject);
        nats_conn_error(err, errlen, what, s, jerr);
        return -1;
    }
    return 0;
}

/* The subject must be PREFIX.> : each cluster is PREFIX.CLUSTER. */
static int open_group(kg_nats_in *n, const kg_nats_in_opts *o, char *err, size_t errlen)
{
    size_t len = strlen(o->subject);
    char prefix[256];
    kg_nats_group_opts go = {prefix, o->durable, o->clusters, o->group, o->lease_s, o->replicas};
    if (len < 3 || len >= sizeof prefix || strcmp(o->subject + len - 2, ".>") != 0) {
        snprintf(err, errlen, "a consumer group needs a subject PREFIX.> (not %s)", o->subject);
        return -1;
    }
    memcpy(prefix, o->subject, len - 2);
    prefix[len - 2] = '\0';
    n->group = nats_group_open(n->nc, &go, err, errlen);
    return n->group ? 0 : -1;
}

kg_nats_in *input_nats_open(const kg_nats_in_opts *o, char *err, size_t errlen)
{
    kg_nats_in *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (nats_conn_open(&o->conn, &n->nc, &n->js, err, errlen) < 0 ||
        (o->clusters || o->group ? open_group(n, o, err, errlen) : bind_consumer(n, o, err, errlen)) < 0) {
        input_nats_close(n);
        return NULL;
    }
    return n;
}

static bool cluster_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

void input_nats_cluster(const char *subject, char *out, size_t outlen)
{
    const char *dot = strrchr(subject, '.');
    const char *t = dot ? dot + 1 : "";
    size_t len = strlen(t);
    out[0] = '\0';
    if (!dot || dot == subject || len == 0 || len >= CLUSTER_MAX || len >= outlen)
        return;
    for (size_t i = 0; i < len; i++)
        if (!cluster_char(t[i]))
            return;
    memcpy(out, t, len + 1);
}

static void judge_one(natsMsg *m, const kg_nats_in_cb *cb)
{
    const char *subj = natsMsg_GetSubject(m);
    jsMsgMetaData *meta = NULL;
    char cluster[CLUSTER_MAX], origin[192];
    unsigned long long seq = 0;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        seq = (unsigned long long)meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    input_nats_cluster(subj, cluster, sizeof cluster);
    snprintf(origin, sizeof origin, "nats:%s#%llu", subj, seq);
    cb->judge(cb->ud, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), cluster, origin);
}

/* Acknowledge (or give back) every message of the batch, then make sure the
 * server has the acknowledgements before the next fetch. */
static int settle(kg_nats_in *n, natsMsgList *list, bool ok, char *err, size_t errlen)
{
    natsStatus s = NATS_OK;
    for (int i = 0; i < list->Count; i++) {
        natsStatus t = ok ? natsMsg_Ack(list->Msgs[i], NULL)
                          : natsMsg_NakWithDelay(list->Msgs[i], 1000, NULL);
        if (s == NATS_OK)
            s = t;
    }
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(n->nc, 5000);
    if (s != NATS_OK) {
        nats_conn_error(err, errlen, ok ? "acknowledging" : "giving back", s, 0);
        return -1;
    }
    return 0;
}

int input_nats_poll(kg_nats_in *n, int max, int timeout_ms, const kg_nats_in_cb *cb,
                    char *err, size_t errlen)
{
    natsMsgList list = {0};
    jsErrCode jerr = 0;
    natsStatus s;
    int rc;
    if (n->group)
        return nats_group_poll(n->group, max, timeout_ms, cb, err, errlen);
    s = natsSubscription_Fetch(&list, n->sub, max, timeout_ms, &jerr);
    if (s == NATS_TIMEOUT)
        return 0;
    if (s != NATS_OK) {
        nats_conn_error(err, errlen, "fetch", s, jerr);
        natsMsgList_Destroy(&list);
        return -1;
    }
    for (int i = 0; i < list.Count; i++)
        judge_one(list.Msgs[i], cb);
    rc = settle(n, &list, cb->commit(cb->ud) == 0, err, errlen) < 0 ? -1 : list.Count;
    natsMsgList_Destroy(&list);
    return rc;
}

void input_nats_stop(kg_nats_in *n, const kg_nats_in_cb *cb)
{
    if (n && n->group) {
        nats_group_close(n->group, cb);
        n->group = NULL;
    }
}

void input_nats_close(kg_nats_in *n)
{
    if (!n)
        return;
    nats_group_close(n->group, NULL);
    natsSubscription_Destroy(n->sub);   /* keeps the durable consumer */
    nats_conn_close(n->nc, n->js);
    free(n);
}
