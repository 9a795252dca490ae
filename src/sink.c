/*
 * sink: the sink set — routing each finding line to the sinks that take
 * it, flushing them, and handing every failure to the caller (sink.h).
 * The implementations live in sink_*.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/sink.h"

struct kg_sinks {
    kg_sink **v;
    size_t n, cap;
    kg_sink_report report;
    void *ud;
    unsigned long long errors;
};

int sink_fail(kg_sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

kg_sink *sink_new(const kg_sink_ops *ops, void *impl, const char *name, unsigned takes)
{
    kg_sink *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ops = ops;
    s->impl = impl;
    s->takes = takes;
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->format, sizeof s->format, "%s", KG_SINK_FORMAT_DEFAULT);
    return s;
}

void sink_free(kg_sink *s)
{
    if (!s)
        return;
    if (s->ops->close)
        s->ops->close(s);
    free(s);
}

kg_sinks *sinks_new(void)
{
    return calloc(1, sizeof(kg_sinks));
}

void sinks_free(kg_sinks *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        sink_free(set->v[i]);
    free(set->v);
    free(set);
}

int sinks_add(kg_sinks *set, kg_sink *s)
{
    if (!s)
        return -1;
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 4;
        kg_sink **nv = realloc(set->v, ncap * sizeof *nv);
        if (!nv) {
            sink_free(s);
            return -1;
        }
        set->v = nv;
        set->cap = ncap;
    }
    set->v[set->n++] = s;
    return 0;
}

size_t sinks_count(const kg_sinks *set)
{
    return set ? set->n : 0;
}

kg_sink *sinks_get(const kg_sinks *set, size_t i)
{
    return set && i < set->n ? set->v[i] : NULL;
}

void sinks_set_report(kg_sinks *set, kg_sink_report report, void *ud)
{
    if (!set)
        return;
    set->report = report;
    set->ud = ud;
}

/* Count and report a failed callback; 1 when rc says it failed. */
static int check(kg_sinks *set, const kg_sink *s, int rc, const char *what)
{
    if (rc == 0)
        return 0;
    set->errors++;
    if (set->report)
        set->report(set->ud, s, what);
    return 1;
}

static unsigned wanted(bool archived)
{
    return archived ? KG_SINK_ARCHIVED : KG_SINK_FINDINGS;
}

int sinks_write(kg_sinks *set, const char *line, bool archived)
{
    int failed = 0;
    for (size_t i = 0; i < sinks_count(set); i++) {
        kg_sink *s = set->v[i];
        if (!(s->takes & wanted(archived)))
            continue;
        if (check(set, s, s->ops->write(s, line, archived), "write"))
            failed++;
        else if (s->flush_each && s->ops->flush)
            failed += check(set, s, s->ops->flush(s), "flush");
    }
    return failed;
}

bool sinks_take(const kg_sinks *set, bool archived)
{
    for (size_t i = 0; i < sinks_count(set); i++)
        if (set->v[i]->takes & wanted(archived))
            return true;
    return false;
}

int sinks_flush(kg_sinks *set)
{
    int failed = 0;
    for (size_t i = 0; i < sinks_count(set); i++) {
        kg_sink *s = set->v[i];
        if (s->ops->flush)
            failed += check(set, s, s->ops->flush(s), "flush");
    }
    return failed;
}

int sinks_reopen_one(kg_sinks *set, size_t i)
{
    kg_sink *s = sinks_get(set, i);
    if (!s || !s->ops->reopen)
        return 0;
    return check(set, s, s->ops->reopen(s), "reopen") ? -1 : 1;
}

unsigned long long sinks_errors(const kg_sinks *set)
{
    return set ? set->errors : 0;
}
