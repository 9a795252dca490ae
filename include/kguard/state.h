/*
 * state: named, bounded tables of keys that rules share — sets, counters,
 * time stamps.  The tables live in C, outside any Lua state, so they
 * survive rule reloads; state_to_json/state_from_json let them survive
 * restarts (see persist.h).  Each table has an entry cap and a byte cap
 * (the oldest entries are evicted and counted) and an optional
 * time-to-live; all tables together have a byte cap, past which a table
 * gives up its own oldest entries and, with none left, new keys are refused
 * (counted).  So no rule can grow C memory without bound.
 *
 * Beside the tables the state keeps series (state_series.c): sliding windows
 * (count and distinct values per key over a span) and new-value baselines
 * (has key K seen value V, with a learning period), bounded by keys per
 * series and values per key, and by bytes as the tables are (each series
 * against the per-table cap, all of them in the same total).  Every operation takes the time from the
 * state's clock (state_now): event time when scanning, wall time when live.
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
#define KG_STATE_MAX_KEY 4096u
#define KG_STATE_KEYBUF (KG_STATE_MAX_KEY + KG_STATE_MAX_SCOPE + 2)
#define KG_SERIES_MAX_VALUE 1024u

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

/* The tables, for metrics: how many, the i-th, its name and evictions. */
size_t state_count(const kg_state *st);
const kg_table *state_table_at(const kg_state *st, size_t i);
const char *table_name(const kg_table *t);
unsigned long long table_evictions(const kg_table *t);

/* The cluster the event being judged came from (NULL or "": the default
 * cluster).  The Lua binding keeps each cluster's keys apart by prefixing
 * them with "<cluster>\x1f"; the default cluster's keys are as given, so
 * --state files of one-cluster runs stay valid. */
void state_set_scope(kg_state *st, const char *scope);
const char *state_scope(const kg_state *st);

/* key as kept in the current scope: as given for the default cluster, else
 * "<cluster>\x1f<key>" built in buf (*len updated).  Keys longer than
 * KG_STATE_MAX_KEY are returned unchanged; callers reject them first. */
const char *state_key(const kg_state *st, const char *key, size_t *len,
                      char buf[KG_STATE_KEYBUF]);

/* ---- the clock ---------------------------------------------------------
 * Live (kguard run): wall time.  Otherwise (scan, test): the latest event
 * time seen (state_clock_event), so state ages as the log does; wall time
 * until the first event with a time. */
void state_clock_live(kg_state *st, bool live);
/* An event's time (epoch ms; <= 0 when it has none): the clock only moves
 * forward. */
void state_clock_event(kg_state *st, long long event_ms);
long long state_now(const kg_state *st);

/* ---- series: windows and baselines ------------------------------------ */

typedef struct kg_series kg_series;
typedef enum { KG_SERIES_WINDOW, KG_SERIES_BASELINE } kg_series_kind;

typedef struct kg_series_opts {
    long long span_ms;    /* window: the sliding span (> 0) */
    long long learn_ms;   /* baseline: the learning period (>= 0) */
    size_t max_keys;      /* 0: KG_TABLE_DEFAULT_MAX */
    size_t max_values;    /* per key; 0: 64 */
} kg_series_opts;

/* The series of that kind and name, created on first use; limits given
 * again replace the old ones.  NULL when out of memory or when a new series
 * would pass the total byte cap (counted as a refusal). */
kg_series *state_series(kg_state *st, const char *name, kg_series_kind kind,
                        const kg_series_opts *o);
const char *series_name(const kg_series *s);
const kg_series_opts *series_opts(const kg_series *s);

/* Window: count one event for key (with a value when value is not NULL) at
 * now; the count of events and of distinct values in the span after it.
 * -1 when out of memory, KG_TABLE_REFUSED when the byte caps leave no room
 * for a new key or value (the series' own older keys and values go first). */
int series_add(kg_series *s, const char *key, size_t klen, const char *value,
               size_t vlen, long long now, unsigned long *count, size_t *distinct);
/* Window: events and distinct values of key in the span ending at now. */
unsigned long series_count(kg_series *s, const char *key, size_t klen, long long now);
size_t series_distinct(kg_series *s, const char *key, size_t klen, long long now);

/* Baseline: has key seen value (not counting this call)?  Records it at
 * now; *was_new tells whether it was unseen.  -1 when out of memory,
 * KG_TABLE_REFUSED as for series_add. */
int series_observe(kg_series *s, const char *key, size_t klen, const char *value,
                   size_t vlen, long long now, bool *was_new);
/* Baseline: has key seen value?  Records nothing. */
bool series_seen(kg_series *s, const char *key, size_t klen, const char *value,
                 size_t vlen);
/* Baseline: when learning began for scope (the first call for that scope
 * starts it at now).  -1 when out of memory. */
long long series_started(kg_series *s, const char *scope, long long now);

/* The live values of key (window: within the span), each with the time it
 * was first and last seen; returns how many.  cb may be NULL. */
typedef void (*series_value_cb)(void *ud, const char *v, size_t vlen,
                                long long first, long long last);
size_t series_values(kg_series *s, const char *key, size_t klen, long long now,
                     series_value_cb cb, void *ud);

/* ---- correlation signals ----------------------------------------------
 * The engine records every finding it writes as a signal of its actor: the
 * value type (the finding type) under key entity in the window
 * KG_SIGNALS_WINDOW (span KG_SIGNALS_SPAN_MS), scoped to the event's
 * cluster.  Correlation rules read them back (lualib/anomaly.lua). */
#define KG_SIGNALS_WINDOW "kguard.signals"
#define KG_SIGNALS_SPAN_MS (86400LL * 1000)
#define KG_SIGNALS_MAX_VALUES 64u
int state_signal(kg_state *st, const char *entity, const char *type);

cJSON *state_to_json(const kg_state *st);
/* Replace the tables with those in j.  -1 with a message on a bad shape;
 * else the number of tables and entries dropped for a number out of range
 * (not finite, negative where it cannot be, past 2^53). */
int state_from_json(kg_state *st, const cJSON *j, char *err, size_t errlen);

#endif
