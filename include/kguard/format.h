/*
 * format: output formats for findings, as a table with one entry per format
 * (guardduty, asff, ocsf, falco, text).  Each renders the GuardDuty-shaped
 * finding that finding.c builds into one line; the summary accumulator
 * counts findings for the short table printed at the end of a scan.
 */
#ifndef KGUARD_FORMAT_H
#define KGUARD_FORMAT_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* What a format may need beyond the finding itself. */
typedef struct kg_format_opts {
    const char *version;      /* kguard's version (OCSF metadata.product.version, ...); NULL: "unknown" */
    const char *hostname;     /* falco's "hostname"; NULL: this host's name */
    int colour;               /* text: ANSI colours (only when asked, e.g. stdout is a terminal) */
} kg_format_opts;

typedef struct kg_summary kg_summary;

typedef struct kg_format {
    const char *name;
    const char *description;
    /* The finding f as one line without its newline, malloc'd; NULL when out
     * of memory or when f is not a finding (no id or type). */
    char *(*render)(const cJSON *f, const kg_format_opts *o);
    /* The end-of-scan summary in this format, malloc'd (several lines, each
     * ending in a newline); NULL member: the format has none. */
    char *(*summary)(const kg_summary *s, const kg_format_opts *o);
} kg_format;

/* The format called name ("json" is guardduty's other name); NULL when
 * there is none. */
const kg_format *format_find(const char *name);
/* The table of formats; *n gets its length. */
const kg_format *format_all(size_t *n);
/* "guardduty, asff, ..." for help and error messages. */
const char *format_names(void);

/* ---- the summary accumulator ------------------------------------------ */

kg_summary *format_summary_new(void);
void format_summary_free(kg_summary *s);
/* Count finding f: a new id adds a finding; an update (same id, higher
 * service.count) replaces its severity and count.  -1 when out of memory or
 * f has no id. */
int format_summary_add(kg_summary *s, const cJSON *f);
/* Distinct findings and occurrences (sum of the latest counts) so far. */
size_t format_summary_findings(const kg_summary *s);
double format_summary_occurrences(const kg_summary *s);
/* The short table: findings by type and severity, then the top identities
 * and source IPs (top entries each) with finding and occurrence counts. */
char *format_summary_table(const kg_summary *s, int top, int colour);

/* ---- helpers the formats share ---------------------------------------- */

/* The severity word of a GuardDuty severity number: "Critical" (9 and up),
 * "High" (7), "Medium" (4), "Low" (1), "Informational" (below 1). */
const char *format_severity_word(double severity);

#endif
