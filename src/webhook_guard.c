/*
 * webhook_guard: non-renewable header and body deadlines for the webhook's
 * connections (webhook_guard.h).  Each connection has a tracker (its
 * libmicrohttpd socket context) in one list under a mutex; the guard's
 * thread looks at the list four times a second and shutdown(2)s the socket
 * of a connection past its deadline.  libmicrohttpd reports a connection
 * closed (wg_notify, which unlinks the tracker under the same mutex) before
 * it closes the descriptor, so the thread never touches a descriptor that
 * could already belong to another connection.
 */
#include "webhook_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SCAN_NS 250000000L     /* how often the thread looks */

typedef struct wg_conn {
    struct wg_conn *prev, *next;
    int fd;
    bool in_body;          /* headers in, waiting for the end of the body */
    bool cut;              /* shut down already */
    double since;          /* when the current phase started (monotonic) */
    char peer[64];
} wg_conn;

struct wg_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    wg_conn *head;
    double header_s, body_s;
    wg_cut_fn cut;
    void *ud;
    atomic_ullong cuts;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void peer_of(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof ip);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip,
                  sizeof ip);
    snprintf(out, n, "%s", ip);
}

/* Cut what is past its deadline; called with the mutex held.  Messages are
 * formatted here and handed out after the unlock (at most a few per scan). */
static size_t scan(wg_guard *g, char msgs[][64], const char **phase, double *secs, size_t max)
{
    double now = mono();
    size_t n = 0;
    for (wg_conn *k = g->head; k; k = k->next) {
        double limit = k->in_body ? g->body_s : g->header_s;
        if (k->cut || now - k->since < limit)
            continue;
        shutdown(k->fd, SHUT_RDWR);
        k->cut = true;
        atomic_fetch_add(&g->cuts, 1);
        if (n < max) {
            snprintf(msgs[n], 64, "%s", k->peer);
            phase[n] = k->in_body ? "body" : "headers";
            secs[n++] = limit;
        }
    }
    return n;
}

static void *run(void *arg)
{
    wg_guard *g = arg;
    char msgs[8][64];
    const char *phase[8];
    double secs[8];
    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        struct timespec ts;
        size_t n;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SCAN_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        n = scan(g, msgs, phase, secs, 8);
        pthread_mutex_unlock(&g->mu);
        for (size_t i = 0; i < n && g->cut; i++)
            g->cut(g->ud, msgs[i], phase[i], secs[i]);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

wg_guard *wg_new(double header_s, double body_s, wg_cut_fn cut, void *ud)
{
    wg_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->header_s = header_s;
    g->body_s = body_s;
    g->cut = cut;
    g->ud = ud;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (pthread_create(&g->thread, NULL, run, g) != 0) {
        wg_free(g);
        return NULL;
    }
    g->running = true;
    return g;
}

void wg_stop(wg_guard *g)
{
    if (!g || !g->running)
        return;
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    g->running = false;
}

void wg_free(wg_guard *g)
{
    if (!g)
        return;
    wg_stop(g);
    /* trackers left are freed by wg_notify as libmicrohttpd closes them */
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void wg_notify(void *cls, struct MHD_Connection *c, void **socket_context,
               enum MHD_ConnectionNotificationCode code)
{
    wg_guard *g = cls;
    wg_conn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(k = calloc(1, sizeof *k)))
            return;           /* not tracked: only the idle timeout applies */
        k->fd = ci->connect_fd;
        k->since = mono();
        peer_of(c, k->peer, sizeof k->peer);
        pthread_mutex_lock(&g->mu);
        k->next = g->head;
        if (g->head)
            g->head->prev = k;
        g->head = k;
        pthread_mutex_unlock(&g->mu);
        *socket_context = k;
    } else if (k) {
        pthread_mutex_lock(&g->mu);
        if (k->prev)
            k->prev->next = k->next;
        else
            g->head = k->next;
        if (k->next)
            k->next->prev = k->prev;
        pthread_mutex_unlock(&g->mu);
        free(k);
        *socket_context = NULL;
    }
}

static void set_phase(wg_guard *g, struct MHD_Connection *c, bool in_body)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    wg_conn *k = ci ? ci->socket_context : NULL;
    if (!k)
        return;
    pthread_mutex_lock(&g->mu);
    k->in_body = in_body;
    k->since = mono();
    pthread_mutex_unlock(&g->mu);
}

void wg_headers_done(wg_guard *g, struct MHD_Connection *c)
{
    set_phase(g, c, true);
}

void wg_request_done(wg_guard *g, struct MHD_Connection *c)
{
    set_phase(g, c, false);
}

unsigned long long wg_cut_count(wg_guard *g)
{
    return atomic_load(&g->cuts);
}
