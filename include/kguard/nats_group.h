/*
 * nats_group: kguard instances as a partitioned consumer group on a
 * JetStream stream whose subjects are per cluster (PREFIX.CLUSTER).
 *
 * Each owned cluster is consumed through its own durable pull consumer
 * (DURABLE-CLUSTER, filter PREFIX.CLUSTER), so whoever owns a cluster next
 * resumes from the acknowledgement floor of the one before.  Ownership is
 * either static (every cluster of a configured list) or leased: a JetStream
 * KV bucket DURABLE-owners (TTL = the lease) holds owner.CLUSTER = instance
 * (claimed with create-if-absent, renewed with revision-checked updates)
 * and member.INSTANCE (liveness); each instance keeps at most its fair
 * share, ceil(clusters / live members).  A cluster's state travels in the
 * bucket DURABLE-state (s.CLUSTER, chunked when large): it is loaded by the
 * new owner before it consumes, and checkpointed before every
 * acknowledgement, with the state's revision as the fencing token (a
 * checkpoint only lands when nobody took the cluster over since).
 */
#ifndef KGUARD_NATS_GROUP_H
#define KGUARD_NATS_GROUP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kg_nats_group kg_nats_group;

typedef struct kg_nats_cb {
    /* One message: its body, the cluster its subject names ("" for none)
     * and a name for diagnostics ("nats:SUBJECT#SEQ"). */
    void (*judge)(void *ud, const char *data, size_t len, const char *cluster,
                  const char *origin);
    /* After a batch: 0 when every finding reached every sink. */
    int (*commit)(void *ud);
    void *ud;
    /* Consumer groups only (NULL: no state travels with a cluster): the
     * cluster's state as a malloc'd document; the cluster's state replaced
     * by a document (-1 with a message); the cluster's state forgotten. */
    char *(*save)(void *ud, const char *cluster, size_t *len);
    int (*load)(void *ud, const char *cluster, const char *doc, size_t len, char *err,
                size_t errlen);
    void (*drop)(void *ud, const char *cluster);
} kg_nats_cb;

typedef struct kg_nats_group_opts {
    const char *prefix;     /* subjects are PREFIX.CLUSTER ("audit") */
    const char *durable;    /* consumers DURABLE-CLUSTER, buckets DURABLE-owners/-state */
    const char *clusters;   /* "a,b,c", or NULL: those the stream's subjects name */
    bool leases;            /* claim through the KV bucket; false: own every cluster listed */
    double lease_s;         /* lease time-to-live in seconds */
    int replicas;           /* of the KV buckets */
} kg_nats_group_opts;

/* Opened on a connected JetStream connection (borrowed, a natsConnection).
 * NULL with a message in err. */
kg_nats_group *nats_group_open(void *nc, const kg_nats_group_opts *o, char *err,
                               size_t errlen);

/* Renew and claim when due, fetch from the owned clusters, judge, and every
 * so often (or when nothing more came) commit: sinks flushed, each
 * cluster's state checkpointed, then its messages acknowledged.  Returns the
 * number of messages judged, or -1 with a message in err. */
int nats_group_poll(kg_nats_group *g, int max, int timeout_ms, const kg_nats_cb *cb,
                    char *err, size_t errlen);

/* Stop: commit what was judged, give every cluster back (state saved,
 * lease deleted).  Then free. */
void nats_group_close(kg_nats_group *g, const kg_nats_cb *cb);

/* How many clusters this instance owns now. */
size_t nats_group_owned(const kg_nats_group *g);

#endif
