/*
 * cstats: events, judged events and new findings counted per cluster, for
 * the summary of a kguard that judges several clusters.  The first
 * CSTATS_MAX clusters are counted by name, any further ones together.
 */
#ifndef KGUARD_CSTATS_H
#define KGUARD_CSTATS_H

#include <stdio.h>

#define CSTATS_MAX 64

typedef enum { CSTATS_EVENTS, CSTATS_JUDGED, CSTATS_FINDINGS, CSTATS_N } cstats_counter;

typedef struct cstats cstats;

cstats *cstats_new(void);
void cstats_free(cstats *c);

/* Count one for cluster (NULL: the default cluster). */
void cstats_count(cstats *c, const char *cluster, cstats_counter which);

/* One line per cluster, "kguard: cluster NAME: events=N judged=N
 * findings=N", the default cluster under default_name; nothing when no
 * event named a cluster. */
void cstats_print(const cstats *c, const char *default_name, FILE *to);

#endif
