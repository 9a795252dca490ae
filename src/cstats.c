/*
 * cstats: per-cluster counters (see cstats.h), a short array searched
 * linearly: a kguard judges a handful of clusters, not thousands.
 */
#include <stdlib.h>
#include <string.h>
#include "cstats.h"

#define NAME_MAX_LEN 256

typedef struct entry {
    char name[NAME_MAX_LEN];
    unsigned long long n[CSTATS_N];
} entry;

struct cstats {
    entry def;              /* the default cluster */
    entry named[CSTATS_MAX];
    size_t used;
    entry other;            /* clusters beyond CSTATS_MAX */
};

cstats *cstats_new(void)
{
    return calloc(1, sizeof(cstats));
}

void cstats_free(cstats *c)
{
    free(c);
}

static entry *find(cstats *c, const char *cluster)
{
    if (!cluster || !cluster[0])
        return &c->def;
    for (size_t i = 0; i < c->used; i++)
        if (strncmp(c->named[i].name, cluster, NAME_MAX_LEN - 1) == 0)
            return &c->named[i];
    if (c->used == CSTATS_MAX)
        return &c->other;
    snprintf(c->named[c->used].name, NAME_MAX_LEN, "%s", cluster);
    return &c->named[c->used++];
}

void cstats_count(cstats *c, const char *cluster, cstats_counter which)
{
    if (c && which < CSTATS_N)
        find(c, cluster)->n[which]++;
}

static void line(const entry *e, const char *name, FILE *to)
{
    fprintf(to, "kguard: cluster %s: events=%llu judged=%llu findings=%llu\n", name,
            e->n[CSTATS_EVENTS], e->n[CSTATS_JUDGED], e->n[CSTATS_FINDINGS]);
}

void cstats_print(const cstats *c, const char *default_name, FILE *to)
{
    if (!c || c->used == 0)
        return;
    if (c->def.n[CSTATS_EVENTS])
        line(&c->def, default_name, to);
    for (size_t i = 0; i < c->used; i++)
        line(&c->named[i], c->named[i].name, to);
    if (c->other.n[CSTATS_EVENTS])
        line(&c->other, "(others)", to);
}
