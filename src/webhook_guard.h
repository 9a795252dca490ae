/*
 * webhook_guard: deadlines for the webhook's connections that activity
 * cannot renew (slowloris).  libmicrohttpd's own timeout is an idle timeout:
 * a client sending one header byte every few seconds keeps its connection
 * for ever.  The guard notes when each connection starts waiting for a
 * request's headers (accepted, or its previous request answered) and when
 * its headers are in, and a thread of its own shuts down the socket of a
 * connection that is past its deadline; libmicrohttpd then closes it.
 */
#ifndef KGUARD_WEBHOOK_GUARD_H
#define KGUARD_WEBHOOK_GUARD_H

#include <microhttpd.h>
#include <stdbool.h>

typedef struct wg_guard wg_guard;

/* Called (from the guard's thread) for each connection cut: its address
 * and what it was waiting for ("headers", "body"). */
typedef void (*wg_cut_fn)(void *ud, const char *peer, const char *phase, double seconds);

/* header_s: from accept (or the end of the previous request) to the last
 * header line; body_s: from then to the end of the body.  NULL when out of
 * memory or no thread can be started. */
wg_guard *wg_new(double header_s, double body_s, wg_cut_fn cut, void *ud);
/* Stop the thread; call before MHD_stop_daemon, then wg_free after it. */
void wg_stop(wg_guard *g);
void wg_free(wg_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback (cls is the guard). */
void wg_notify(void *cls, struct MHD_Connection *c, void **socket_context,
               enum MHD_ConnectionNotificationCode code);
/* The headers of the request on c are in (its first access-handler call). */
void wg_headers_done(wg_guard *g, struct MHD_Connection *c);
/* The request on c was answered: wait for the next one's headers. */
void wg_request_done(wg_guard *g, struct MHD_Connection *c);
/* Connections cut so far. */
unsigned long long wg_cut_count(wg_guard *g);

#endif
