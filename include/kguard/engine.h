/*
 * engine: one detection pipeline.  Owns the IP lists, the current rule
 * generation, the stage de-duplication and the counters; takes records from
 * the input module, decides which are judged, and writes findings.
 */
#ifndef KGUARD_ENGINE_H
#define KGUARD_ENGINE_H

#include <stdbool.h>
#include <stdio.h>
#include "kguard/config.h"
#include "kguard/finding.h"
#include "kguard/input.h"
#include "kguard/lists.h"
#include "kguard/sink.h"

typedef struct kg_stats {
    unsigned long long events;     /* event records read */
    unsigned long long judged;     /* given to the rules */
    unsigned long long skipped;    /* valid, not judged (stage, duplicate) */
    unsigned long long malformed;  /* reported and skipped */
    unsigned long long findings;
    unsigned long long rule_errors;
    unsigned long long updates;    /* update lines of earlier findings */
    unsigned long long archived;   /* new findings a suppression rule archived */
    unsigned long long switched_off; /* occurrences of types a setting turned off */
    unsigned long long body_missing; /* events a body rule could not inspect */
    unsigned long long output_errors; /* sink callbacks that failed (reported) */
    unsigned long long rules_disabled; /* rules switched off by the circuit breaker */
} kg_stats;

/* What happened to one record. */
typedef enum kg_event_outcome { KG_EV_JUDGED, KG_EV_SKIPPED, KG_EV_MALFORMED } kg_event_outcome;

/* Told about every record and every finding as it happens (metrics); each
 * member optional, called on the judging thread.  source is what
 * engine_set_source last said ("file" until then); cluster the event's
 * (NULL: the default cluster, and for a malformed record). */
typedef struct kg_engine_observer {
    void (*event)(void *ud, const char *source, const char *cluster, kg_event_outcome what);
    /* A new finding (is_new) or a repeat folded into one. */
    void (*finding)(void *ud, const char *type, double severity, bool is_new, bool archived);
    void *ud;
} kg_engine_observer;

typedef struct kg_engine_opts {
    const char *rules_dir, *lualib_dir;
    kg_identity id;
    size_t max_line;      /* 0: default */
    kg_sinks *sinks;      /* where finding lines go (borrowed; the engine
                           * reports its failures on diag) */
    FILE *diag;           /* diagnostics */
    bool progress;        /* show progress on diag (a terminal) */
    const char *state_path;        /* --state FILE, or NULL */
    long long publish_interval_ms; /* between updates of one finding */
    kg_engine_observer observer;
    bool accept_shrunk_lists;      /* reload: take lists that shrank sharply */
    unsigned long rule_max_failures; /* the circuit breaker; 0: never */
    bool live;            /* kguard run: state ages in wall time, not event time */
    bool no_prescan;      /* parse every line, even stages that are skipped */
} kg_engine_opts;

typedef struct kg_engine kg_engine;

/* A new engine that takes over *lists (emptied on success) and *config
 * (set to NULL on success; config may be NULL).  NULL with a message in err
 * when the rules do not load (each problem was already written to
 * opts->diag). */
kg_engine *engine_new(const kg_engine_opts *opts, kg_lists *lists,
                      kg_config **config, char *err, size_t errlen);
void engine_free(kg_engine *e);

/* Read and judge a whole source ("-" for stdin).  Returns 0, or -1 with a
 * message in err when it could not be read. */
int engine_scan_path(kg_engine *e, const char *path, char *err, size_t errlen);

/* engine_scan_path for a source of a named cluster (--cluster-file): its
 * records are that cluster's unless their envelope names another. */
int engine_scan_cluster(kg_engine *e, const char *path, const char *cluster, char *err,
                        size_t errlen);

/* Judge one JSON text (a line or a webhook body) from file:line. */
void engine_feed(kg_engine *e, const char *text, size_t len, const char *file,
                 long line);

/* engine_feed for a text from a named cluster (POST /k8s-audit/CLUSTER):
 * its records are that cluster's unless their envelope names another. */
void engine_feed_cluster(kg_engine *e, const char *text, size_t len, const char *file,
                         long line, const char *cluster);

const kg_stats *engine_stats(const kg_engine *e);

/* Where the records fed from now on come from ("file", "stdin", "follow",
 * "webhook"): a static string, handed to the observer. */
void engine_set_source(kg_engine *e, const char *source);

/* For metrics: the current generation's rules, the IP lists, the state
 * tables, and the finding aggregation's size and evictions. */
const kg_ruleset *engine_rules(const kg_engine *e);
const kg_lists *engine_lists(const kg_engine *e);
kg_state *engine_state(const kg_engine *e);
void engine_agg_counts(const kg_engine *e, size_t *size, unsigned long long *evictions);

/* Number of rules in the current generation. */
size_t engine_rule_count(const kg_engine *e);

/* Replace the rule generation, lists and config with new ones built from
 * opts (rules and lualib directories, identity) — between two events.  The
 * state tables and aggregation carry over.  A list that shrank to fewer than
 * half its entries keeps its previous version unless
 * opts->accept_shrunk_lists (lists_keep_shrunk).  On success the engine takes
 * over *lists and *config; on failure the running generation stays, the
 * problems were reported on the diagnostics stream, and err says why. */
int engine_reload(kg_engine *e, const kg_engine_opts *opts, kg_lists *lists,
                  kg_config **config, char *err, size_t errlen);
void engine_reload_counts(const kg_engine *e, unsigned long long *ok,
                          unsigned long long *failed);
/* Count a reload that failed before it reached the engine (e.g. a list). */
void engine_reload_failed(kg_engine *e);

/* Periodic work while running: publish due finding updates, flush sinks. */
void engine_tick(kg_engine *e);

/* Save the state file now (when there is one).  -1 when it failed
 * (reported). */
int engine_save(kg_engine *e);

/* Reopen every sink that can be (SIGUSR1, after logrotate): each reopen,
 * or why it failed, is reported on the diagnostics stream. */
void engine_reopen(kg_engine *e);

/* End of input: publish every pending finding update, flush the sinks and
 * save the state file.  Returns 0, or -1 when the state could not be saved
 * or a finding line could not be written (reported). */
int engine_finish(kg_engine *e);

/* Write the one-line summary to the diagnostics stream. */
void engine_summary(const kg_engine *e);

/* Write per-rule counters (candidates, findings, errors, predicate time)
 * to the diagnostics stream, most expensive first. */
void engine_rule_stats(const kg_engine *e);

#endif
