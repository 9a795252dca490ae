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

/* Whether a table or series holding own bytes may add cost bytes to the
 * state's total.  Up to the total, anyone may; past it, only a holder below
 * its fair share (the total over the number of tables and series), into a
 * slack of an eighth of the total.  So a rule that floods its own tables
 * fills the total and is refused there (its oldest keys go first), while
 * the other rules' small tables and baselines still take new keys; memory
 * stays under the total plus the slack. */
bool state_total_room(const kg_state *st, size_t own, size_t cost);

void series_free_all(kg_state *st);
/* Append each series as an object with a "kind" to the array arr. */
void series_to_json(const kg_state *st, cJSON *arr);
/* One persisted series object (it has a "kind"). */
int series_from_json(kg_state *st, const cJSON *o, char *err, size_t errlen);

/* Forget every series key starting with prefix (a cluster's "<cluster>\x1f")
 * and the baselines' learning start of scope (state_export.c). */
void series_drop_scope(kg_state *st, const char *prefix, size_t plen, const char *scope);

#endif
