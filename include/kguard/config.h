/*
 * config: the --config file.  A Lua file of declarative tables, run in its
 * own sandbox, that can hold everything the command line can (cluster
 * identity, lists, rules, state) plus per-team severities, global severity
 * settings, suppression rules in GuardDuty's filter form, and trusted IPs.
 * Unknown keys, wrong types and bad patterns are errors naming file:line.
 * Severity settings are interpreted by severity.h, suppression rules by
 * suppress.h; config_severity and config_suppressed apply this config's.
 * A kg_config is immutable once loaded, so a reload can build a new one and
 * swap it in whole.
 */
#ifndef KGUARD_CONFIG_H
#define KGUARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/severity.h"
#include "kguard/state.h"
#include "kguard/suppress.h"

typedef struct kg_team {
    char *name;
    char **namespaces;     /* exact names or globs */
    size_t n_namespaces;
    char **clusters;       /* exact names or globs; none: every cluster */
    size_t n_clusters;
    kg_sev_table severity;
} kg_team;

/* A `clusters` section: what a cluster's findings say of its identity;
 * NULL fields fall back to the global settings. */
typedef struct kg_cluster_conf {
    char *name;
    char *account_id, *region, *partition;
} kg_cluster_conf;

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
    char *partition;              /* config only: the default cluster's partition */
    kg_cluster_conf *clusters;    /* per-cluster identity, by exact name */
    size_t n_clusters;
    char *tor_exits, *malicious_ips, *trusted_ips;  /* list files */
    kg_named_path *threat_lists;
    size_t n_threat_lists;
    char **trusted_inline;        /* trusted IPs/CIDRs written in the config */
    size_t n_trusted_inline;
    char *rules_dir, *lualib_dir, *state_path, *archive_path;
    bool archive_drop;            /* archive = false: drop suppressed findings */
    bool literal_lists;           /* keep special-purpose ranges in threat lists */
    double publish_interval;      /* seconds; < 0 when unset */
    long rule_max_failures;       /* < 0 when unset */
    /* tuning */
    kg_sev_table severity;        /* global settings */
    kg_team *teams;
    size_t n_teams;
    kg_filter *filters;
    size_t n_filters;
    kg_limits limits;
};

/* Load and check a config file.  Every problem goes to error (already
 * prefixed with file:line where known); NULL when there was any, with a
 * summary in err. */
kg_config *config_load(const char *path, void (*error)(void *ud, const char *msg),
                       void *ud, char *err, size_t errlen);
void config_free(kg_config *c);

/* The first team owning the namespace in that cluster (a team naming no
 * clusters owns its namespaces in all), or NULL. */
const kg_team *config_team(const kg_config *c, const char *cluster, const char *ns);

/* The `clusters` section of the cluster with that name, or NULL. */
const kg_cluster_conf *config_cluster(const kg_config *c, const char *name);

/* Is name fit to be a cluster's name (letters, digits, . _ -; under 256
 * bytes)?  The command line's per-source cluster names are held to it too. */
bool config_cluster_name_ok(const char *name);

/* severity_resolve with the team's (may be NULL) and this config's global
 * settings: team, else global, else *sev unchanged.  false when the type is
 * switched off. */
bool config_severity(const kg_config *c, const kg_team *team, const char *type,
                     double *sev);

/* suppress_match over this config's rules: the first one the finding
 * satisfies, or NULL. */
const kg_filter *config_suppressed(const kg_config *c, const cJSON *finding);

/* Is key a top-level config key? */
bool config_key_known(const char *key);

#endif
