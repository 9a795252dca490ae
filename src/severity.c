/*
 * severity: the severity scale, its names and the team > global >
 * predicate > rule resolution (see severity.h).
 */
#include <stdlib.h>
#include <string.h>
#include "kguard/severity.h"
#include "glob.h"

static const struct { const char *name; double value; } names[] = {
    {"High", 8}, {"Medium", 5}, {"Low", 2},
};

double severity_of_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].value;
    return -1;
}

double severity_checked(double v)
{
    return v >= SEVERITY_MIN && v < SEVERITY_MAX ? v : -1;
}

double severity_parse(const char *text, bool numbers)
{
    char *end;
    double v = severity_of_name(text);
    if (v > 0 || !text || !numbers)
        return v;
    v = strtod(text, &end);
    return end != text && *end == '\0' ? severity_checked(v) : -1;
}

const kg_sev_setting *severity_find(const kg_sev_table *t, const char *type)
{
    const kg_sev_setting *glob = NULL;
    for (size_t i = 0; t && i < t->n; i++) {
        if (strcmp(t->v[i].pattern, type) == 0)
            return &t->v[i];
        if (!glob && glob_match(t->v[i].pattern, type))
            glob = &t->v[i];
    }
    return glob;
}

bool severity_resolve(const kg_sev_table *team, const kg_sev_table *global,
                      const char *type, double *sev)
{
    const kg_sev_setting *s = severity_find(team, type);
    if (!s)
        s = severity_find(global, type);
    if (s && s->off)
        return false;
    if (s)
        *sev = s->severity;
    return true;
}

void severity_table_free(kg_sev_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].pattern);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
