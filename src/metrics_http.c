/*
 * metrics_http: a small libmicrohttpd listener serving GET /metrics (the
 * text the render callback gives) and GET /healthz, for `kguard run`
 * without a webhook (--metrics-listen).  See metrics_http.h.
 */
#include <microhttpd.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "metrics_http.h"
#include "util.h"

#define CONNECTION_LIMIT 16u
#define CONNECTION_TIMEOUT_S 10u

struct metrics_http {
    struct MHD_Daemon *daemon;
    metrics_http_render render;
    void *ud;
    const char *content_type;
    unsigned short port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, bool own,
                             const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), body, own ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (!r) {
        if (own)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    metrics_http *m = cls;
    const char *text = "text/plain; charset=utf-8";
    char *body;
    (void)version;
    (void)data;
    if (!*con_cls) {            /* headers only: answer on the next call */
        *con_cls = m;
        return MHD_YES;
    }
    if (*size)                  /* a body nobody asked for */
        return MHD_NO;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", false, text);
    if (strcmp(url, "/healthz") == 0)
        return reply(c, MHD_HTTP_OK, "ok\n", false, text);
    if (strcmp(url, METRICS_HTTP_PATH) != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "not found\n", false, text);
    if (!(body = m->render(m->ud)))
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", false, text);
    return reply(c, MHD_HTTP_OK, body, true, m->content_type);
}

static int resolve(const char *host, unsigned short port, struct sockaddr_storage *out,
                   char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char p[8];
    int rc;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(p, sizeof p, "%u", port);
    if ((rc = getaddrinfo(host, p, &hints, &ai)) != 0) {
        util_set_err(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

metrics_http *metrics_http_start(const char *host, unsigned short port, metrics_http_render render,
                                 void *ud, const char *content_type, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    metrics_http *m;
    if (resolve(host, port, &addr, err, errlen) < 0)
        return NULL;
    if (!(m = calloc(1, sizeof *m))) {
        util_set_err(err, errlen, "out of memory");
        return NULL;
    }
    m->render = render;
    m->ud = ud;
    m->content_type = content_type;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, m,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (!m->daemon) {
        util_set_err(err, errlen, "cannot listen on %s port %u", host, port);
        free(m);
        return NULL;
    }
    info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info && info->port ? info->port : port;
    return m;
}

unsigned short metrics_http_port(const metrics_http *m)
{
    return m->port;
}

void metrics_http_stop(metrics_http *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon);
    free(m);
}
