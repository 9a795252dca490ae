/*
 * state: named, bounded tables of keys that rules share — sets, counters,
 * time stamps.  The tables live in C, outside any Lua state, so they
 * survive rule reloads; state_to_json/state_from_json let them survive
 * restarts (see persist.h).  Each table has an entry cap and a byte cap
 * (the oldest entries are evicted and counted) and an optional
 * time-to-live; all tables together have a byte cap, past which a table
 * gives up its own oldest entries and, with none left, new keys are refused
 * (counted).  So no rule can grow C memory without bound.
 */
#ifndef KGUARD_STATE_H
#define KGUARD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

#define KG_TABLE_DEFAULT_MAX 100000u
#define KG_STATE_MAX_ENTRIES 1000000u          /* the most a table may ask for */
#define KG_STATE_TABLE_BYTES (64u << 20)
#define KG_STATE_TOTAL_BYTES (256u << 20)
#define KG_TABLE_REFUSED (-2)                  /* table_add/set/incr: over the caps */
#define KG_STATE_MAX_SCOPE 255u

typedef struct kg_state kg_state;
typedef struct kg_table kg_table;

/* 0 fields mean the defaults above. */
typedef struct kg_state_limits {
    size_t table_max_entries;   /* ceiling of any table's max_entries */
    size_t table_max_bytes;     /* per table */
    size_t total_max_bytes;     /* all tables */
} kg_state_limits;

kg_state *state_new(void);
void state_free(kg_state *st);

/* Set the caps (NULL: the defaults); tables asking for more entries than
 * allowed are lowered now. */
void state_set_limits(kg_state *st, const kg_state_limits *lim);
const kg_state_limits *state_limits(const kg_state *st);

/* The table of that name, created on first use.  max_entries 0 means the
 * default, and more than the ceiling means the ceiling; ttl_ms 0 means
 * entries do not expire.  Limits given again replace the old ones.  NULL
 * when out of memory or when a new table would pass the total byte cap
 * (counted as a refusal). */
kg_table *state_table(kg_state *st, const char *name, size_t max_entries,
                      long long ttl_ms);

/* All operations take the current time, for TTL and eviction order. */
bool table_has(kg_table *t, const char *key, size_t klen, long long now_ms);
/* Add key; true when it was not there.  -1 when out of memory,
 * KG_TABLE_REFUSED when the caps leave no room (also for set and incr). */
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
/* Keys and tables refused at the caps. */
unsigned long long state_refusals(const kg_state *st);
/* Bytes counted against the total cap. */
size_t state_bytes(const kg_state *st);

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
