/*
 * nats_publish: the webhook's --publish-to-nats mode.  A webhook body (an
 * EventList, as the API server sent it) is published to JetStream as one
 * message on PREFIX.CLUSTER, and the webhook answers the API server by what
 * JetStream said: 200 once the stream acknowledged the message, 503 when it
 * did not within the bound (the API server sends the batch again), 400 for
 * a cluster name that cannot be a subject token, 413 for a body over the
 * server's max_payload.  Each message carries a
 * Nats-Msg-Id made from a hash of its cluster and body, so a batch the API
 * server re-sends after a late acknowledgement is stored once (within the
 * stream's duplicate window).  Safe to call from several HTTP threads.
 */
#ifndef KGUARD_NATS_PUBLISH_H
#define KGUARD_NATS_PUBLISH_H

#include <stddef.h>
#include "kguard/nats_conn.h"

typedef struct kg_nats_pub kg_nats_pub;

typedef struct kg_nats_pub_opts {
    kg_nats_conn_opts conn;
    const char *prefix;            /* subject prefix, e.g. "audit" */
    const char *default_cluster;   /* for POST /k8s-audit without a cluster */
    int wait_ms;                   /* longest wait for JetStream's ack */
} kg_nats_pub_opts;

/* Connect.  NULL with a message in err (the server, the default cluster
 * that is no subject token). */
kg_nats_pub *nats_publish_open(const kg_nats_pub_opts *o, char *err, size_t errlen);

/* Publish one body for cluster ("" for the default); the HTTP status to
 * answer (200, 400, 413 or 503), with the reason in err when not 200. */
unsigned nats_publish_body(kg_nats_pub *p, const char *data, size_t len, const char *cluster,
                           char *err, size_t errlen);

/* Bodies stored and refused so far. */
void nats_publish_counts(kg_nats_pub *p, unsigned long long *stored,
                         unsigned long long *refused);

void nats_publish_close(kg_nats_pub *p);

#endif
