/*
 * severity: GuardDuty's severity scale and how a finding's severity is
 * decided.  Severities are numbers from 1 to below 10; the names "High",
 * "Medium" and "Low" stand for 8, 5 and 2.  A finding's severity is, first
 * match wins: the team's setting for its type, the global setting, the
 * severity the rule's predicate returned, the rule's own severity.  Rule
 * judging applies the last two (kg_match.severity); severity_resolve the
 * first two.
 */
#ifndef KGUARD_SEVERITY_H
#define KGUARD_SEVERITY_H

#include <stdbool.h>
#include <stddef.h>

#define SEVERITY_MIN 1.0    /* inclusive */
#define SEVERITY_MAX 10.0   /* exclusive */

/* A setting for the finding types matching pattern (exact type or glob). */
typedef struct kg_sev_setting {
    char *pattern;
    double severity;       /* in range, or 0 when off */
    bool off;              /* the type is switched off */
} kg_sev_setting;

/* The settings of one level (a team's, or the global ones). */
typedef struct kg_sev_table {
    kg_sev_setting *v;
    size_t n;
} kg_sev_table;

/* "High" 8, "Medium" 5, "Low" 2; -1 for any other text. */
double severity_of_name(const char *name);

/* v when it is on the scale, else -1. */
double severity_checked(double v);

/* A severity written as text: a name, or a number on the scale when
 * numbers are allowed ("7.5"); -1 when it is neither. */
double severity_parse(const char *text, bool numbers);

/* The setting for type in t (NULL allowed): an exact type beats a glob,
 * otherwise the first glob listed; NULL when none matches. */
const kg_sev_setting *severity_find(const kg_sev_table *t, const char *type);

/* Resolve type's severity: the team's setting, else the global one, else
 * *sev (the predicate's or the rule's) stays.  Either table may be NULL.
 * false when the matching setting switches the type off. */
bool severity_resolve(const kg_sev_table *team, const kg_sev_table *global,
                      const char *type, double *sev);

/* Free the settings a table owns and empty it. */
void severity_table_free(kg_sev_table *t);

#endif
