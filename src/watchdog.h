/*
 * watchdog: a thread that watches one caller's calls and reports those that
 * run past their time limit, even while they are inside C code.
 *
 * The caller arms the watchdog before a call and disarms it after; arming
 * costs two atomic stores.  The watchdog thread samples a few times per
 * limit and calls fire(ud, call) from its own thread when the call has used
 * more than limit_ms of the calling thread's CPU time (so a loaded machine
 * that merely delays the call does not trip it), or more than
 * KG_WATCHDOG_WALL_FACTOR times the limit of wall-clock time.  fire must be
 * safe to run concurrently with the call (see sandbox.c).
 */
#ifndef KGUARD_WATCHDOG_H
#define KGUARD_WATCHDOG_H

#define KG_WATCHDOG_WALL_FACTOR 20

typedef struct kg_watchdog kg_watchdog;

/* A running watchdog, or NULL when the thread cannot be started. */
kg_watchdog *watchdog_new(void (*fire)(void *ud, unsigned long call), void *ud);
void watchdog_free(kg_watchdog *w);

/* Start watching a call of the current thread; returns its number (> 0). */
unsigned long watchdog_arm(kg_watchdog *w, long limit_ms);
void watchdog_disarm(kg_watchdog *w);

#endif
