/*
 * watchdog: the thread behind per-call time limits (see watchdog.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "watchdog.h"

struct kg_watchdog {
    void (*fire)(void *ud, unsigned long call);
    void *ud;
    _Atomic unsigned long running;    /* the call being watched, 0: none */
    _Atomic long limit_ms;
    _Atomic clockid_t clock;          /* the calling thread's CPU clock */
    unsigned long calls;              /* numbering, the caller's side */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
};

static long long ns_of(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return -1;
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleep about a fifth of the current limit (1 to 20 ms); false to stop. */
static int nap(kg_watchdog *w)
{
    long ms = atomic_load(&w->limit_ms) / 5;
    struct timespec until;
    int go;
    ms = ms < 1 ? 1 : ms > 20 ? 20 : ms;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->quit && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
        ;
    go = !w->quit;
    pthread_mutex_unlock(&w->mu);
    return go;
}

static void *watch(void *arg)
{
    kg_watchdog *w = arg;
    unsigned long seen = 0, fired = 0;
    long long cpu0 = 0, wall0 = 0;

    while (nap(w)) {
        unsigned long call = atomic_load(&w->running);
        long long limit_ns = atomic_load(&w->limit_ms) * 1000000LL, cpu, wall;
        if (!call || call == fired)
            continue;
        cpu = ns_of(atomic_load(&w->clock));
        wall = ns_of(CLOCK_MONOTONIC);
        if (call != seen) {           /* first sight: the call's clock starts here */
            seen = call;
            cpu0 = cpu;
            wall0 = wall;
            continue;
        }
        if ((cpu >= 0 && cpu - cpu0 >= limit_ns) ||
            wall - wall0 >= limit_ns * KG_WATCHDOG_WALL_FACTOR) {
            fired = call;
            w->fire(w->ud, call);
        }
    }
    return NULL;
}

kg_watchdog *watchdog_new(void (*fire)(void *ud, unsigned long call), void *ud)
{
    kg_watchdog *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fire = fire;
    w->ud = ud;
    atomic_init(&w->running, 0);
    atomic_init(&w->limit_ms, 50);
    atomic_init(&w->clock, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, watch, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    return w;
}

void watchdog_free(kg_watchdog *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

unsigned long watchdog_arm(kg_watchdog *w, long limit_ms)
{
    clockid_t c;
    if (pthread_getcpuclockid(pthread_self(), &c) != 0)
        c = CLOCK_MONOTONIC;
    if (++w->calls == 0)
        w->calls = 1;
    atomic_store(&w->limit_ms, limit_ms > 0 ? limit_ms : 1);
    atomic_store(&w->clock, c);
    atomic_store(&w->running, w->calls);
    return w->calls;
}

void watchdog_disarm(kg_watchdog *w)
{
    atomic_store(&w->running, 0);
}
