/*
 * state_int: what the state's files (state.c, state_series.c) share — the
 * state struct and the series hooks for freeing and persistence.  Nothing outside
 * the state module (state*.c) includes it.
 */
#ifndef KGUARD_STATE_INT_H
#define KGUARD_STATE_INT_H

#include <stdbool.h>
#include "kguard/state.h"
#include "hmap.h"

struct kg_state {
    kg_table **tables;
    size_t n;
    size_t bytes;          /* every table's bytes and TABLE_COST */
    kg_state_limits limits;
    unsigned long long evictions, refusals;
    kg_series **series;    /* windows and baselines (state_series.c) */
    size_t n_series;
    long long clock;       /* latest event time seen (ms), 0 before any */
    bool live;             /* the clock is wall time */
    char scope[KG_STATE_MAX_SCOPE + 1];   /* the current event's cluster, or "" */
};

void series_free_all(kg_state *st);
/* Append each series as an object with a "kind" to the array arr. */
void series_to_json(const kg_state *st, cJSON *arr);
/* One persisted series object (it has a "kind"). */
int series_from_json(kg_state *st, const cJSON *o, char *err, size_t errlen);

/* Forget every series key starting with prefix (a cluster's "<cluster>\x1f")
 * and the baselines' learning start of scope (state_export.c). */
void series_drop_scope(kg_state *st, const char *prefix, size_t plen, const char *scope);

#endif
