/*
 * metrics_http: the Prometheus scrape endpoint.  GET /metrics answered
 * with the text a callback renders (the metrics registry), on a listener of
 * its own (--metrics-listen, libmicrohttpd) or, through webhook_serve_get,
 * on the webhook's.  Also GET /healthz.
 */
#ifndef KGUARD_METRICS_HTTP_H
#define KGUARD_METRICS_HTTP_H

#include <stddef.h>

#define METRICS_HTTP_PATH "/metrics"

/* The exposition text, malloc'd; NULL when out of memory.  Called from the
 * listener's threads. */
typedef char *(*metrics_http_render)(void *ud);

typedef struct metrics_http metrics_http;

/* Listen on host:port (port 0: any).  NULL with a message in err. */
metrics_http *metrics_http_start(const char *host, unsigned short port, metrics_http_render render,
                                 void *ud, const char *content_type, char *err, size_t errlen);
unsigned short metrics_http_port(const metrics_http *m);
void metrics_http_stop(metrics_http *m);

#endif
