/*
 * config: the --config file.  A Lua file of declarative tables, run in its
 * own sandbox, that can hold everything the command line can (cluster
 * identity, lists, rules, state) plus per-team severities, global severity
 * settings, suppression rules in GuardDuty's filter form, and trusted IPs.
 * Unknown keys, wrong types and bad patterns are errors naming file:line.
 * A kg_config is immutable once loaded, so a reload can build a new one and
 * swap it in whole.
 */
#ifndef KGUARD_CONFIG_H
#define KGUARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/state.h"

/* A severity setting: for types matching pattern (exact or glob). */
typedef struct kg_sev_setting {
    char *pattern;
    double severity;       /* 1..10 */
    bool off;              /* the type is switched off */
} kg_sev_setting;

typedef struct kg_team {
    char *name;
    char **namespaces;     /* exact names or globs */
    size_t n_namespaces;
    kg_sev_setting *severity;
    size_t n_severity;
} kg_team;

typedef enum kg_cond {
    KG_EQUALS, KG_NOT_EQUALS, KG_GREATER, KG_GREATER_EQ, KG_LESS, KG_LESS_EQ,
    KG_MATCHES, KG_NOT_MATCHES
} kg_cond;

typedef struct kg_criterion {
    char *attribute;       /* dotted lowerCamel path into the finding */
    kg_cond cond;
    char **values;         /* equals, notEquals: strings */
    size_t n_values;
    int *patterns;         /* matches, notMatches: compiled LPeg (registry refs) */
    size_t n_patterns;
    double number;         /* comparisons: a number or epoch ms */
} kg_criterion;

typedef struct kg_filter {
    char *name, *description;
    kg_criterion *criteria;
    size_t n_criteria;
} kg_filter;

typedef struct kg_named_path {
    char *name, *path;
} kg_named_path;

/* The config's `limits`: 0 fields mean the defaults. */
typedef struct kg_limits {
    long rule_time_ms;            /* a predicate call's time limit */
    kg_state_limits state;        /* the state tables' caps */
} kg_limits;

typedef struct kg_config kg_config;

struct kg_config {
    char *file;
    /* what the command line can say too; NULL / unset when absent */
    char *cluster, *account_id, *region;
    char *tor_exits, *malicious_ips, *trusted_ips;  /* list files */
    kg_named_path *threat_lists;
    size_t n_threat_lists;
    char **trusted_inline;        /* trusted IPs/CIDRs written in the config */
    size_t n_trusted_inline;
    char *rules_dir, *lualib_dir, *state_path, *archive_path;
    bool archive_drop;            /* archive = false: drop suppressed findings */
    double publish_interval;      /* seconds; < 0 when unset */
    /* tuning */
    kg_sev_setting *severity;
    size_t n_severity;
    kg_team *teams;
    size_t n_teams;
    kg_filter *filters;
    size_t n_filters;
    kg_limits limits;
    void *lua;                    /* the sandbox holding compiled patterns */
};

/* Load and check a config file.  Every problem goes to error (already
 * prefixed with file:line where known); NULL when there was any, with a
 * summary in err. */
kg_config *config_load(const char *path, void (*error)(void *ud, const char *msg),
                       void *ud, char *err, size_t errlen);
void config_free(kg_config *c);

/* The first team owning the namespace, or NULL. */
const kg_team *config_team(const kg_config *c, const char *ns);

/* The severity for type under team (may be NULL): team setting, else global
 * setting, else *sev unchanged.  false when the type is switched off. */
bool config_severity(const kg_config *c, const kg_team *team, const char *type,
                     double *sev);

/* The first suppression rule that matches the finding, or NULL. */
const kg_filter *config_suppressed(const kg_config *c, const cJSON *finding);

/* "High"/"Medium"/"Low"/number -> 8/5/2/number; -1 when invalid. */
double config_parse_severity_name(const char *s);

#endif
