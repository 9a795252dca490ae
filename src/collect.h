/*
 * collect: kguard's own metrics (metrics.h's standard set) kept up to date
 * for `kguard run`: per record and per finding through the engine's
 * observer, and once a second (collect_update, on the judging thread) from
 * the engine's rules, lists and state, the sinks, the webhook queue and the
 * webhook.  collect_render gives the text GET /metrics serves.
 */
#ifndef KGUARD_COLLECT_H
#define KGUARD_COLLECT_H

#include "kguard/engine.h"
#include "kguard/queue.h"
#include "kguard/sink.h"
#include "kguard/webhook.h"

typedef struct kg_collect kg_collect;

/* A registry with the standard metrics; cluster labels the events.  NULL
 * when out of memory. */
kg_collect *collect_new(const char *version, const char *cluster);
void collect_free(kg_collect *c);

/* The observer to put in kg_engine_opts before engine_new. */
kg_engine_observer collect_observer(kg_collect *c);

/* For a command without a loop of its own (scan): the observer brings the
 * metrics read from e and sinks up to date itself, about once a second,
 * between two records.  Call collect_update once more at the end. */
void collect_watch(kg_collect *c, const kg_engine *e, const kg_sinks *sinks);

/* Add to set the internal sink that counts the update lines published
 * (kguard_findings_updated_total); after the outputs.  0, or -1 when out
 * of memory.  c NULL: nothing to do. */
int collect_sink(kg_collect *c, kg_sinks *set);

/* Bring the counters and gauges read from these up to date (each may be
 * NULL).  Call it once a second and before a reload replaces the rules. */
void collect_update(kg_collect *c, const kg_engine *e, const kg_sinks *sinks, kg_queue *q,
                    kg_webhook *w);

/* The registry as Prometheus text, malloc'd (any thread); c is a kg_collect. */
char *collect_render(void *c);

#endif
