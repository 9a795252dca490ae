/*
 * metrics: a small registry of Prometheus counters and gauges with a few
 * fixed labels each, safe to update from any thread (the judge thread, the
 * webhook's threads), rendered in the text exposition format 0.0.4.  Also
 * the set of kguard's own metrics (metrics_register_std), documented in
 * README.md.
 */
#ifndef KGUARD_METRICS_H
#define KGUARD_METRICS_H

#include <stddef.h>

#define KG_METRIC_MAX_LABELS 4
/* Label sets one family may hold; later ones are dropped and counted in
 * kguard_metrics_series_dropped_total.  Labels must stay low-cardinality
 * (types, rules, sources, codes: never usernames or addresses). */
#define KG_METRIC_MAX_SERIES 4096

typedef enum kg_metric_kind { KG_COUNTER, KG_GAUGE } kg_metric_kind;

typedef struct kg_metrics kg_metrics;   /* the registry */
typedef struct kg_metric kg_metric;     /* one family: a name, a kind, label names */
typedef struct kg_series kg_series;     /* one label set of a family: a value */

kg_metrics *metrics_new(void);
void metrics_free(kg_metrics *r);

/* Register a family.  labels: comma-separated label names ("source,cluster")
 * or NULL.  NULL for a name or label that breaks Prometheus' rules (a
 * counter must end in _total, a gauge must not; names [a-zA-Z_:][a-zA-Z0-9_:]*,
 * labels [a-zA-Z_][a-zA-Z0-9_]* not starting with "__"), a name already
 * registered, more than KG_METRIC_MAX_LABELS labels, or no memory. */
kg_metric *metrics_counter(kg_metrics *r, const char *name, const char *help, const char *labels);
kg_metric *metrics_gauge(kg_metrics *r, const char *name, const char *help, const char *labels);
kg_metric *metrics_find(kg_metrics *r, const char *name);

/* The series for these label values (one per label of the family, NULL
 * taken as ""), created at 0 on first use.  The pointer stays valid until
 * metrics_free, so a hot path may keep it.  NULL when the family is full or
 * out of memory (updates of NULL are ignored). */
kg_series *metrics_series(kg_metric *m, const char *const *values);

/* Counters only go up: a negative v is ignored; metrics_set on a counter
 * too.  Atomic: no lock. */
void metrics_add(kg_series *s, double v);
void metrics_set(kg_series *s, double v);
double metrics_value(const kg_series *s);

/* Shorthands with the label values as arguments (exactly as many as the
 * family has labels). */
void metrics_inc(kg_metric *m, double v, ...);
void metrics_put(kg_metric *m, double v, ...);

/* The whole registry in the text exposition format (HELP and TYPE lines,
 * then one sample a line), malloc'd; NULL when out of memory. */
char *metrics_render(kg_metrics *r);
/* The Content-Type to serve it with. */
#define KG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- kguard's metrics ---------------------------------------------------- */

typedef struct kg_std_metrics {
    kg_metric *build_info;                  /* gauge {version, lua_version} = 1 */
    kg_metric *start_time;                  /* gauge, epoch seconds */
    kg_metric *events_read, *events_judged, *events_skipped, *events_malformed; /* {source, cluster} */
    kg_metric *findings_new, *findings_updated; /* {type, severity} */
    kg_metric *findings_archived;           /* {type} */
    kg_metric *rule_matches, *rule_errors, *rule_lua_seconds; /* {rule} */
    kg_metric *rules_loaded;                /* gauge */
    kg_metric *rules_disabled;              /* gauge {reason = rule | failures} */
    kg_metric *queue_depth, *queue_bytes;   /* gauges */
    kg_metric *queue_rejected;              /* counter: answered 429 */
    kg_metric *webhook_requests;            /* {code, path} */
    kg_metric *webhook_closed;              /* {reason = deadline | limit} */
    kg_metric *sink_deliveries, *sink_failures, *sink_lost, *sink_spooled; /* {sink, kind} */
    kg_metric *sink_spool_bytes, *sink_pending; /* gauges {sink, kind} */
    kg_metric *reloads;                     /* {result = ok | failed} */
    kg_metric *reload_last_success;         /* gauge, epoch seconds */
    kg_metric *list_entries;                /* gauge {list} */
    kg_metric *state_entries;               /* gauge {table} */
    kg_metric *state_evictions;             /* {table} */
} kg_std_metrics;

/* Register every metric of kg_std_metrics in r, set build_info to 1 and
 * start_time to now.  -1 when one fails (out of memory, or already there). */
int metrics_register_std(kg_metrics *r, kg_std_metrics *m, const char *version,
                         const char *lua_version);

#endif
