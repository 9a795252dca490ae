/*
 * rules: one generation of detection rules.
 *
 * ruleset_load() builds a fresh sandboxed Lua state, loads every Lua file
 * of the rules directory in it, validates each returned rule table strictly and
 * compiles its declarative `match` into C: an index from "verb resource" to
 * candidate rules, and per-rule conditions on facts computed once per event.
 * Lua runs only for a candidate rule that has a predicate.  A generation is
 * immutable once loaded except for its counters; a reload builds a new one
 * beside it.
 */
#ifndef KGUARD_RULES_H
#define KGUARD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include "kguard/event.h"
#include "kguard/lists.h"
#include "kguard/state.h"
#include "kguard/workload.h"

typedef struct kg_rule {
    char *type, *title, *description, *remediation;
    char *file;            /* path the rule was loaded from */
    double severity;
    bool enabled;
    kg_details details;    /* what the finding describes beyond the call */
    /* the declarative `match`, compiled (rules_match.c) */
    bool has_api;          /* indexed by verb/resource; else a candidate always */
    struct rules_cond *conds;  /* the conditions it names, in test order */
    size_t n_conds;
    int predicate;         /* Lua registry ref, or LUA_NOREF */
    /* counters */
    unsigned long candidates, fired, errors;
    double seconds;        /* time spent in the predicate */
    /* the circuit breaker: failures in a row; tripped: off for the rest of
     * the generation (a reload builds the rule afresh) */
    unsigned long failing;
    bool tripped;
    unsigned long last_seq;
} kg_rule;

/* What a fired rule hands to the finding writer. */
typedef struct kg_match {
    const kg_rule *rule;
    const kg_list *list;   /* the list hit, for ip_list rules */
    int ip_index;          /* index into ev->ips of the caller IP, or -1 */
    double severity;       /* after any override by the predicate */
    const char *title, *description;
    const char *detail;    /* the predicate's note on what it saw, or NULL */
    cJSON *detection;      /* the predicate's service.detection (anomaly,
                            * sequence), or NULL; owned by the judge */
} kg_match;

typedef struct kg_ruleset kg_ruleset;

#define KG_MAX_FAILURES_DEFAULT 20      /* the circuit breaker's default */

typedef struct kg_ruleset_opts {
    const char *rules_dir, *lualib_dir;
    const kg_lists *lists;
    kg_state *state;       /* behind kguard.table(); outlives the generation */
    size_t mem_limit;      /* 0: default */
    long budget;           /* instructions per predicate call, 0: default */
    long time_limit_ms;    /* per predicate call, 0: default (50 ms) */
    /* Each load problem, already prefixed with file:line where known. */
    void (*error)(void *ud, const char *msg);
    void *ud;
    unsigned long max_failures; /* failures in a row that switch a rule off; 0: never */
} kg_ruleset_opts;

/* Load a generation; NULL when any rule failed (all problems reported
 * through opts->error) or on a fatal error (message in err). */
kg_ruleset *ruleset_load(const kg_ruleset_opts *opts, char *err, size_t errlen);
void ruleset_free(kg_ruleset *rs);

size_t ruleset_count(const kg_ruleset *rs);
const kg_rule *ruleset_rule(const kg_ruleset *rs, size_t i);

typedef struct kg_judge_cb {
    void (*fire)(void *ud, const kg_event *ev, const kg_match *m);
    /* A rule raised an error or ran out of budget/memory on this event.
     * When that failure tripped the rule's circuit breaker, r->tripped is
     * set: the rule is not judged again in this generation. */
    void (*rule_error)(void *ud, const kg_event *ev, const kg_rule *r,
                       const char *msg);
    /* Some rule wanted the body and the event has none (once per event). */
    void (*body_missing)(void *ud, const kg_event *ev);
    void *ud;
} kg_judge_cb;

/* Judge one event with every rule.  Returns the number of findings fired. */
int ruleset_judge(kg_ruleset *rs, const kg_event *ev, const kg_judge_cb *cb);

#endif
