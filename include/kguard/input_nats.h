/*
 * input_nats: audit records from a NATS JetStream stream, through a durable
 * pull consumer.  Each message body is any text kguard reads (an Event, an
 * EventList, a cloud envelope); a subject of two or more tokens names the
 * cluster by its last one (audit.CLUSTER).  A fetched batch is handed to the
 * caller's judge callback message by message, then to its commit callback
 * (flush every sink); only when commit succeeds are the messages
 * acknowledged, otherwise they are given back (nak) for redelivery.
 */
#ifndef KGUARD_INPUT_NATS_H
#define KGUARD_INPUT_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include "kguard/nats_conn.h"
#include "kguard/nats_group.h"

typedef struct kg_nats_in kg_nats_in;

typedef struct kg_nats_in_opts {
    kg_nats_conn_opts conn;   /* server, credentials, TLS */
    const char *subject;   /* the consumer's filter, e.g. "audit.>" */
    const char *durable;   /* the durable consumer's name */
    /* A consumer group (nats_group.h) when clusters is set or group is true:
     * one durable consumer per cluster (DURABLE-CLUSTER on PREFIX.CLUSTER,
     * the subject being PREFIX.>). */
    const char *clusters;  /* "a,b,c": these clusters (all of them without group) */
    bool group;            /* claim clusters through KV leases */
    double lease_s;        /* lease time-to-live, seconds */
    int replicas;          /* of the group's KV buckets */
} kg_nats_in_opts;

/* What a fetched message goes to (nats_group.h, which the group shares). */
typedef kg_nats_cb kg_nats_in_cb;

/* Connect and bind the durable pull consumer (created when absent).
 * NULL with a message in err when the server or the stream is not there. */
kg_nats_in *input_nats_open(const kg_nats_in_opts *o, char *err, size_t errlen);

/* Fetch up to max messages, waiting at most timeout_ms for the first; judge,
 * commit, acknowledge.  Returns the number of messages handled (0 when none
 * came), or -1 with a message in err (the connection keeps reconnecting). */
int input_nats_poll(kg_nats_in *n, int max, int timeout_ms, const kg_nats_in_cb *cb,
                    char *err, size_t errlen);

/* Cluster named by a subject: its last token when it has two or more tokens
 * of the characters a cluster name may hold; "" otherwise. */
void input_nats_cluster(const char *subject, char *out, size_t outlen);

/* Before closing, when stopping gracefully: a consumer group commits what
 * it judged and hands its clusters back (state saved, leases deleted). */
void input_nats_stop(kg_nats_in *n, const kg_nats_in_cb *cb);

void input_nats_close(kg_nats_in *n);

#endif
