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

#include <stddef.h>
#include "kguard/nats_conn.h"

typedef struct kg_nats_in kg_nats_in;

typedef struct kg_nats_in_opts {
    kg_nats_conn_opts conn;   /* server, credentials, TLS */
    const char *subject;   /* the consumer's filter, e.g. "audit.>" */
    const char *durable;   /* the durable consumer's name */
} kg_nats_in_opts;

typedef struct kg_nats_in_cb {
    /* One message: its body, the cluster its subject names ("" for none)
     * and a name for diagnostics ("nats:SUBJECT#SEQ"). */
    void (*judge)(void *ud, const char *data, size_t len, const char *cluster,
                  const char *origin);
    /* After a batch: 0 when every finding reached every sink. */
    int (*commit)(void *ud);
    void *ud;
} kg_nats_in_cb;

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

void input_nats_close(kg_nats_in *n);

#endif
