/*
 * sink: the sink set — routing each finding line to the sinks that take
 * it, keeping the lines a sink could not take and retrying them (with
 * sink_spool.c), rendering lines in a sink's format, flushing, finishing,
 * and handing every failure to the caller (sink.h).  The implementations live in sink_*.c.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cJSON.h>
#include "arena.h"
#include "kguard/sink.h"
#include "sink_spool.h"

#define RETRY_EVERY 1.0          /* seconds between retries of waiting lines */

/* One sink of the set and its backlog. */
typedef struct entry {
    kg_sink *s;
    sink_backlog *bl;
    double next_retry;           /* monotonic; 0: at the next chance */
    unsigned long long delivered; /* lines its write took (sinks_counts) */
    unsigned long long errors;   /* its failed callbacks */
    unsigned long long lost;     /* its lines that could not even be kept */
} entry;

struct kg_sinks {
    entry *v;
    size_t n, cap;
    kg_sink_report report;
    void *ud;
    unsigned long long errors;
    unsigned long long lost;     /* lines that could not even be kept */
    unsigned long long flush_failures;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

void sink_set_format(kg_sink *s, const char *name, kg_sink_render render, const void *ud)
{
    snprintf(s->format, sizeof s->format, "%s", name);
    s->render = render;
    s->render_ud = ud;
}

void sink_free(kg_sink *s)
{
    if (!s)
        return;
    if (s->ops->close)
        s->ops->close(s);
    free(s->spool);
    free(s);
}

kg_sinks *sinks_new(void)
{
    /* a file over RLIMIT_FSIZE gets EFBIG (reported, kept) instead of
     * SIGXFSZ killing the process */
    signal(SIGXFSZ, SIG_IGN);
    return calloc(1, sizeof(kg_sinks));
}

void sinks_free(kg_sinks *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        sink_free(set->v[i].s);
        backlog_free(set->v[i].bl);
    }
    free(set->v);
    free(set);
}

int sinks_add(kg_sinks *set, kg_sink *s)
{
    sink_backlog *bl;
    if (!s)
        return -1;
    if (!(bl = backlog_new(s->spool)))
        goto fail;
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 4;
        entry *nv = realloc(set->v, ncap * sizeof *nv);
        if (!nv)
            goto fail;
        set->v = nv;
        set->cap = ncap;
    }
    set->v[set->n++] = (entry){s, bl, 0, 0, 0, 0};
    return 0;
fail:
    backlog_free(bl);
    sink_free(s);
    return -1;
}

size_t sinks_count(const kg_sinks *set)
{
    return set ? set->n : 0;
}

kg_sink *sinks_get(const kg_sinks *set, size_t i)
{
    return set && i < set->n ? set->v[i].s : NULL;
}

void sinks_set_report(kg_sinks *set, kg_sink_report report, void *ud)
{
    if (!set)
        return;
    set->report = report;
    set->ud = ud;
}

/* Count and report a failed callback of e's sink; 1 when rc says it failed. */
static int check(kg_sinks *set, entry *e, int rc, const char *what)
{
    if (rc == 0)
        return 0;
    set->errors++;
    e->errors++;
    if (set->report)
        set->report(set->ud, e->s, what);
    return 1;
}

/* Report news that is no failure (what NULL, the text in s->err). */
static void note(kg_sinks *set, kg_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(kg_sinks *set, kg_sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    if (set->report)
        set->report(set->ud, s, NULL);
}

static unsigned wanted(bool archived)
{
    return archived ? KG_SINK_ARCHIVED : KG_SINK_FINDINGS;
}

/* The line in s's format, malloc'd (formats' output is freed with free:
 * cJSON runs on malloc meanwhile); NULL with s->err set. */
static char *render_line(kg_sink *s, const char *line)
{
    bool arena = arena_suspend();
    cJSON *f = cJSON_Parse(line);
    char *out = f ? s->render(f, s->render_ud) : NULL;
    cJSON_Delete(f);
    arena_resume(arena);
    if (!out)
        sink_fail(s, "cannot render a finding as %s%s", s->format, f ? "" : ": not JSON");
    return out;
}

/* One line to one sink (in its format), flushed when it flushes each line:
 * 0 or -1. */
static int put_line(kg_sink *s, const char *line, bool archived)
{
    char *own = NULL;
    int rc;
    if (s->render && !(own = render_line(s, line)))
        return -1;
    rc = s->ops->write(s, own ? own : line, archived);
    free(own);
    if (rc < 0)
        return -1;
    return s->flush_each && s->ops->flush ? s->ops->flush(s) : 0;
}

/* A waiting line (the backlog keeps no flag: it is archived when the sink
 * takes only archived lines). */
static int put(void *ud, const char *line)
{
    entry *e = ud;
    if (put_line(e->s, line, e->s->takes == KG_SINK_ARCHIVED) < 0)
        return -1;
    e->delivered++;
    return 0;
}

/* Keep a line the sink could not take; a line that cannot be kept is lost
 * and reported. */
static void keep(kg_sinks *set, entry *e, const char *line)
{
    char why[400];
    if (backlog_keep(e->bl, line, why, sizeof why) == 0)
        return;
    set->lost++;
    e->lost++;
    sink_fail(e->s, "a finding line is lost: %s", why);
    check(set, e, -1, "write");
}

/* Write what waits for e, if due (or forced); note the recovery. */
static void retry(kg_sinks *set, entry *e, bool force)
{
    unsigned long long n, adopted = backlog_adopted(e->bl);
    bool failed;
    double now = mono();
    if (backlog_empty(e->bl) || (!force && now < e->next_retry))
        return;
    n = backlog_drain(e->bl, put, e, &failed);
    if (failed) {
        e->next_retry = now + RETRY_EVERY;
        return;
    }
    note(set, e->s, "writing again: %llu waiting finding line%s written%s", n, n == 1 ? "" : "s",
         adopted ? " (with those an earlier run left in the spool file)" : "");
}

/* One line to the sink of entry e, or to its backlog: 1 when this starts
 * an outage (reported). */
static int write_one(kg_sinks *set, entry *e, const char *line, bool archived)
{
    kg_sink *s = e->s;
    size_t len;
    retry(set, e, false);
    if (!backlog_empty(e->bl)) {
        keep(set, e, line);        /* after the older ones, outage already reported */
        return 0;
    }
    if (put_line(s, line, archived) == 0) {
        e->delivered++;
        return 0;
    }
    len = strlen(s->err);
    snprintf(s->err + len, sizeof s->err - len, "; keeping finding lines %s%s and retrying",
             s->spool ? "in memory, then in " : "in memory", s->spool ? s->spool : "");
    check(set, e, -1, "write");
    keep(set, e, line);
    e->next_retry = mono() + RETRY_EVERY;
    return 1;
}

int sinks_write(kg_sinks *set, const char *line, bool archived)
{
    int failed = 0;
    for (size_t i = 0; i < sinks_count(set); i++) {
        entry *e = &set->v[i];
        if (e->s->takes & wanted(archived))
            failed += write_one(set, e, line, archived);
    }
    return failed;
}

bool sinks_take(const kg_sinks *set, bool archived)
{
    for (size_t i = 0; i < sinks_count(set); i++)
        if (set->v[i].s->takes & wanted(archived))
            return true;
    return false;
}

int sinks_flush(kg_sinks *set)
{
    int failed = 0;
    for (size_t i = 0; i < sinks_count(set); i++) {
        entry *e = &set->v[i];
        retry(set, e, false);
        if (e->s->ops->flush && check(set, e, e->s->ops->flush(e->s), "flush")) {
            set->flush_failures++;
            failed++;
        }
    }
    return failed;
}

int sinks_reopen_one(kg_sinks *set, size_t i)
{
    kg_sink *s = sinks_get(set, i);
    int rc = 0;
    if (!s)
        return 0;
    if (s->ops->reopen)
        rc = check(set, &set->v[i], s->ops->reopen(s), "reopen") ? -1 : 1;
    retry(set, &set->v[i], true);
    return rc;
}

unsigned long long sinks_errors(const kg_sinks *set)
{
    return set ? set->errors : 0;
}

int sinks_counts(const kg_sinks *set, size_t i, kg_sink_counts *out)
{
    const entry *e = set && i < set->n ? &set->v[i] : NULL;
    unsigned long long spooled, bytes, in_memory;
    memset(out, 0, sizeof *out);
    if (!e || (e->s->ops->counts && e->s->ops->counts(e->s, out) < 0))
        return -1;
    if (!e->s->ops->counts)
        out->delivered = e->delivered;
    backlog_counts(e->bl, &spooled, &bytes, &in_memory);
    out->failed += e->lost;
    out->spooled += spooled;
    out->spool_bytes += bytes;
    out->pending += in_memory;
    out->errors = e->errors;
    return 0;
}

unsigned long long sinks_waiting(const kg_sinks *set)
{
    unsigned long long n = 0;
    for (size_t i = 0; i < sinks_count(set); i++)
        n += backlog_lines(set->v[i].bl);
    return n;
}

unsigned long long sinks_finish(kg_sinks *set)
{
    unsigned long long unwritten;
    if (!set)
        return 0;
    unwritten = set->lost + set->flush_failures;
    for (size_t i = 0; i < set->n; i++) {
        entry *e = &set->v[i];
        unsigned long long waiting, lost;
        char why[400] = "";
        retry(set, e, true);
        /* a sink delivering elsewhere (HTTP): what it could neither deliver
         * nor spool counts as one unwritten */
        if (e->s->ops->finish && check(set, e, e->s->ops->finish(e->s), "finish"))
            unwritten++;
        if (backlog_empty(e->bl))
            continue;
        waiting = backlog_lines(e->bl);
        lost = backlog_save(e->bl, why, sizeof why);
        if (waiting > lost)
            note(set, e->s, "%llu finding line%s not written: kept in %s, written first when kguard "
                 "next writes to %s", waiting - lost, waiting - lost == 1 ? "" : "s",
                 backlog_spool(e->bl), e->s->name);
        if (lost) {
            e->lost += lost;
            sink_fail(e->s, "%llu finding line%s lost: %s", lost, lost == 1 ? "" : "s", why);
            check(set, e, -1, "write");
        }
        unwritten += waiting;
    }
    return unwritten;
}
