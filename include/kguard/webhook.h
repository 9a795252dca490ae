/*
 * webhook: an HTTP(S) receiver for kube-apiserver's audit webhook backend,
 * on libmicrohttpd.  POST /k8s-audit with an EventList body (the path Falco
 * uses, so existing webhook configs carry over); GET /healthz.  A body is
 * answered 200 only once it is queued for judging (queue.h); when the queue
 * is full the answer is 429 (with Retry-After), so the API server retries and
 * nothing accepted is ever dropped.  With a deliver callback (kguard run
 * --publish-to-nats) a body goes there instead of the queue and is answered
 * with the status it returns (200 only once stored).  GET /metrics when
 * given a renderer.
 * Optional bearer token and client
 * certificate check; bodies over the limit get 413.  Connections are limited
 * per client address, and headers and bodies have deadlines that trickling
 * bytes cannot renew (slowloris), so /healthz and real batches keep being
 * answered.
 */
#ifndef KGUARD_WEBHOOK_H
#define KGUARD_WEBHOOK_H

#include <stddef.h>
#include "kguard/queue.h"

typedef struct kg_webhook kg_webhook;

/* Where a body goes instead of the queue (--publish-to-nats): the HTTP
 * status to answer, 200 only once the body is stored; otherwise the reason
 * in err (logged).  503 is answered with Retry-After.  Called from HTTP
 * threads, with the cluster the path names ("" for none). */
typedef unsigned (*kg_webhook_deliver)(void *ud, const char *data, size_t len,
                                       const char *cluster, char *err, size_t errlen);

typedef struct kg_webhook_opts {
    const char *host;          /* default "127.0.0.1" */
    unsigned short port;
    const char *tls_cert, *tls_key;   /* PEM files; both or neither */
    const char *client_ca;     /* PEM: require a client certificate signed by it */
    const char *token_file;    /* a file holding the bearer token */
    size_t max_body;           /* default 32 MiB */
    double header_timeout;     /* seconds to get a request's headers; 0: 10 */
    kg_queue *queue;
    /* Diagnostics (e.g. a rejected request), may be called from HTTP threads. */
    void (*log)(void *ud, const char *msg);
    void *ud;
    /* GET /metrics (no token asked, like /healthz): the text metrics
     * renders, malloc'd, served as metrics_type; NULL: no /metrics. */
    char *(*metrics)(void *ud);
    void *metrics_ud;
    const char *metrics_type;
    kg_webhook_deliver deliver;   /* NULL: bodies go to the queue */
    void *deliver_ud;
} kg_webhook_opts;

/* Start listening.  NULL with a message in err (bad address, port in use,
 * unreadable certificate or token). */
kg_webhook *webhook_start(const kg_webhook_opts *opts, char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
unsigned short webhook_port(const kg_webhook *w);

/* Answers are counted by path (webhook_path_name: "/k8s-audit" with its
 * /k8s-audit/CLUSTER forms, "/healthz", "/metrics", "other") and status
 * code (webhook_code_name: 200, 400, 401, 403, 404, 405, 413, 415, 429,
 * 500, 503, then "other" for any code not listed). */
#define KG_WEBHOOK_PATHS 4
#define KG_WEBHOOK_CODES 12
const char *webhook_path_name(size_t path);
const char *webhook_code_name(size_t code);

/* Counters: every answer by path and code; requests accepted, rejected as
 * unauthorized, too large, or for a full queue. */
typedef struct kg_webhook_stats {
    unsigned long long answers[KG_WEBHOOK_PATHS][KG_WEBHOOK_CODES];
    unsigned long long accepted, unauthorized, too_large, busy, bad_request;
    unsigned long long cut;    /* connections closed at the header or body deadline */
    unsigned long long refused;   /* connections over the per-address or total limit */
} kg_webhook_stats;
void webhook_stats(kg_webhook *w, kg_webhook_stats *out);

/* Stop accepting, finish requests in flight, free everything. */
void webhook_stop(kg_webhook *w);

#endif
