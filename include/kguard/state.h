/*
 * state: named, bounded tables of keys that rules share — sets, counters,
 * time stamps.  The tables live in C, outside any Lua state, so they
 * survive rule reloads; state_to_json/state_from_json let them survive
 * restarts (see persist.h).  Each table has an entry cap (the oldest entries
 * are evicted and counted) and an optional time-to-live.
 */
#ifndef KGUARD_STATE_H
#define KGUARD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

#define KG_TABLE_DEFAULT_MAX 100000u
#define KG_STATE_MAX_SCOPE 255u

typedef struct kg_state kg_state;
typedef struct kg_table kg_table;

kg_state *state_new(void);
void state_free(kg_state *st);

/* The table of that name, created on first use.  max_entries 0 means the
 * default; ttl_ms 0 means entries do not expire.  Limits given again replace
 * the old ones.  NULL when out of memory. */
kg_table *state_table(kg_state *st, const char *name, size_t max_entries,
                      long long ttl_ms);

/* All operations take the current time, for TTL and eviction order. */
bool table_has(kg_table *t, const char *key, size_t klen, long long now_ms);
/* Add key; true when it was not there.  -1 when out of memory. */
int table_add(kg_table *t, const char *key, size_t klen, long long now_ms);
bool table_get(kg_table *t, const char *key, size_t klen, long long now_ms,
               double *out);
int table_set(kg_table *t, const char *key, size_t klen, double v,
              long long now_ms);
/* Add n (the key starts at 0); the new value in *out. */
int table_incr(kg_table *t, const char *key, size_t klen, double n,
               long long now_ms, double *out);
bool table_remove(kg_table *t, const char *key, size_t klen);
size_t table_size(const kg_table *t);

unsigned long long state_evictions(const kg_state *st);

/* The cluster the event being judged came from (NULL or "": the default
 * cluster).  The Lua binding keeps each cluster's keys apart by prefixing
 * them with "<cluster>\x1f"; the default cluster's keys are as given, so
 * --state files of one-cluster runs stay valid. */
void state_set_scope(kg_state *st, const char *scope);
const char *state_scope(const kg_state *st);

cJSON *state_to_json(const kg_state *st);
/* Replace the tables with those in j.  -1 with a message on a bad shape;
 * else the number of tables and entries dropped for a number out of range
 * (not finite, negative where it cannot be, past 2^53). */
int state_from_json(kg_state *st, const cJSON *j, char *err, size_t errlen);

#endif
