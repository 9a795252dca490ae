/*
 * aggregate: repeats of one finding (same id) update it instead of making a
 * new one.  Each id keeps its count, first/last event time, creation and
 * update time, and the latest rendered line not yet published.  A new
 * finding is published at once; updates at most once per publishing
 * interval, and all pending ones on a flush.  Bounded: when full, the
 * least recently updated entry is evicted, after its pending update is
 * published, so no update is lost.
 */
#ifndef KGUARD_AGGREGATE_H
#define KGUARD_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

#define KG_AGG_DEFAULT_MAX 100000u

typedef struct kg_occurrence {
    unsigned long long count;
    long long first_seen_ms, last_seen_ms;  /* event times */
    long long created_ms, updated_ms;       /* processing times */
} kg_occurrence;

/* archived: the finding matched a suppression rule (its own sink). */
typedef void (*kg_emit_fn)(void *ud, const char *line, bool archived);

typedef struct kg_agg kg_agg;

kg_agg *agg_new(size_t max_entries, long long interval_ms, kg_emit_fn emit,
                void *ud);
void agg_free(kg_agg *a);

/* Count one occurrence of finding id seen at event_ms; fills *occ with the
 * aggregate after it.  Returns 1 when the id is new, 0 for a repeat, -1 when
 * out of memory. */
int agg_record(kg_agg *a, const char *id, long long event_ms, long long now_ms,
               kg_occurrence *occ);

/* Hand over the rendered line for the occurrence just recorded (the agg
 * takes ownership of the malloc'd line): published now when the id is new or
 * its interval has passed, else kept as pending. */
void agg_publish(kg_agg *a, const char *id, char *line, bool archived,
                 long long now_ms);

/* The cluster the next new entries are found in (NULL or "": the default
 * one); each entry keeps it, and the state file saves it as "cluster". */
void agg_set_scope(kg_agg *a, const char *scope);

/* Forget every entry found in scope ("" : the default cluster), pending
 * updates included (a cluster handed to another kguard).  Returns how many. */
size_t agg_drop_scope(kg_agg *a, const char *scope);

/* Change the publishing interval (a config reload). */
void agg_set_interval(kg_agg *a, long long interval_ms);

/* Publish pending updates: those due at now_ms, or all of them. */
void agg_flush(kg_agg *a, long long now_ms, bool all);

size_t agg_size(const kg_agg *a);
unsigned long long agg_evictions(const kg_agg *a);

cJSON *agg_to_json(const kg_agg *a);
/* -1 with a message on a bad shape; else the number of entries dropped for a
 * number out of range (as state_from_json). */
int agg_from_json(kg_agg *a, const cJSON *j, char *err, size_t errlen);

#endif
