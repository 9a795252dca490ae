/*
 * engine: the record -> event -> rules -> finding pipeline (see engine.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>
#include "kguard/engine.h"
#include "kguard/rules.h"

#define STARTED_SLOTS (1u << 16)   /* auditIDs judged at ResponseStarted */
#define MAX_BAD_PRINTED 100        /* malformed-record messages per engine */
#define MAX_RULE_ERRORS_PRINTED 20 /* error messages per rule */

struct kg_engine {
    kg_engine_opts opts;
    kg_lists lists;
    kg_ruleset *rules;
    kg_stats stats;
    uint64_t *started;             /* direct-mapped set of auditID hashes */
    unsigned long long bad_printed;
    double progress_at, start;
    kg_input_sink sink;
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void diag(kg_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag(kg_engine *e, const char *fmt, ...)
{
    va_list ap;
    if (e->opts.progress)
        fputs("\r\033[K", e->opts.diag);
    fputs("kguard: ", e->opts.diag);
    va_start(ap, fmt);
    vfprintf(e->opts.diag, fmt, ap);
    va_end(ap);
    fputc('\n', e->opts.diag);
}

/* ---- stages ----------------------------------------------------------- */

/* Judge ResponseComplete, Panic and stage-less events; judge ResponseStarted
 * (long-running requests) and then skip the ResponseComplete of the same
 * auditID.  A collision in the bounded set can only cause a repeat finding,
 * never a lost one. */
static bool stage_judged(kg_engine *e, const kg_event *ev)
{
    uint64_t h, *slot;
    if (!ev->stage)
        return true;
    if (strcmp(ev->stage, "RequestReceived") == 0)
        return false;
    if (!ev->audit_id)
        return true; /* nothing to pair stages by */
    h = XXH3_64bits(ev->audit_id, strlen(ev->audit_id)) | 1;
    slot = &e->started[h & (STARTED_SLOTS - 1)];
    if (strcmp(ev->stage, "ResponseStarted") == 0) {
        *slot = h;
        return true;
    }
    if (*slot == h) {
        *slot = 0;
        return strcmp(ev->stage, "ResponseComplete") != 0;
    }
    return true;
}

/* ---- callbacks -------------------------------------------------------- */

static void on_fire(void *ud, const kg_event *ev, const kg_match *m)
{
    kg_engine *e = ud;
    char *line = finding_render(&e->opts.id, ev, m, now_ms());
    if (!line) {
        diag(e, "%s:%ld: out of memory writing a %s finding", ev->src_file,
             ev->src_line, m->rule->type);
        return;
    }
    fputs(line, e->opts.out);
    fputc('\n', e->opts.out);
    cJSON_free(line);
    e->stats.findings++;
}

static void on_rule_error(void *ud, const kg_event *ev, const kg_rule *r,
                          const char *msg)
{
    kg_engine *e = ud;
    e->stats.rule_errors++;
    if (r->errors <= MAX_RULE_ERRORS_PRINTED)
        diag(e, "%s (rule %s, event %s:%ld)%s", msg, r->type, ev->src_file,
             ev->src_line, r->errors == MAX_RULE_ERRORS_PRINTED
                               ? "; further errors of this rule are only counted" : "");
}

static void on_bad(void *ud, const char *file, long line, const char *msg)
{
    kg_engine *e = ud;
    e->stats.malformed++;
    if (e->bad_printed++ < MAX_BAD_PRINTED)
        diag(e, "%s:%ld: %s", file, line, msg);
    else if (e->bad_printed == MAX_BAD_PRINTED + 1)
        diag(e, "further malformed records are counted, not printed");
}

static void on_record(void *ud, const cJSON *rec, const char *file, long line)
{
    kg_engine *e = ud;
    kg_event ev;
    char err[256];
    kg_judge_cb cb = {on_fire, on_rule_error, e};

    ev.src_file = file;
    ev.src_line = line;
    if (event_extract(&ev, rec, err, sizeof err) < 0) {
        on_bad(e, file, line, err);
        return;
    }
    e->stats.events++;
    if (!stage_judged(e, &ev)) {
        e->stats.skipped++;
        return;
    }
    e->stats.judged++;
    ruleset_judge(e->rules, &ev, &cb);
}

static void on_progress(void *ud, const char *file, unsigned long long bytes)
{
    kg_engine *e = ud;
    double t = now_mono();
    if (!e->opts.progress || t - e->progress_at < 0.5)
        return;
    e->progress_at = t;
    fprintf(e->opts.diag, "\r\033[Kkguard: %s: %.1f MB read, %llu events, %.0f events/s",
            file, (double)bytes / 1e6, e->stats.events,
            (double)e->stats.events / (t - e->start));
    fflush(e->opts.diag);
}

static void rules_error(void *ud, const char *msg)
{
    diag(ud, "%s", msg);
}

/* ---- public ----------------------------------------------------------- */

kg_engine *engine_new(const kg_engine_opts *opts, kg_lists *lists, char *err,
                      size_t errlen)
{
    kg_engine *e = calloc(1, sizeof *e);
    kg_ruleset_opts ro = {0};

    if (!e || !(e->started = calloc(STARTED_SLOTS, sizeof *e->started))) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->opts = *opts;
    e->lists = *lists;
    ro.rules_dir = opts->rules_dir;
    ro.lualib_dir = opts->lualib_dir;
    ro.lists = &e->lists;
    ro.error = rules_error;
    ro.ud = e;
    e->rules = ruleset_load(&ro, err, errlen);
    if (!e->rules) {
        free(e->started);
        free(e);
        return NULL; /* the caller still owns the lists */
    }
    memset(lists, 0, sizeof *lists);
    e->sink.record = on_record;
    e->sink.bad = on_bad;
    e->sink.progress = on_progress;
    e->sink.ud = e;
    e->sink.max_line = opts->max_line;
    e->start = now_mono();
    return e;
}

void engine_free(kg_engine *e)
{
    if (!e)
        return;
    ruleset_free(e->rules);
    lists_free(&e->lists);
    free(e->started);
    free(e);
}

int engine_scan_path(kg_engine *e, const char *path, char *err, size_t errlen)
{
    int rc = input_read_path(path, &e->sink, err, errlen);
    if (e->opts.progress) {
        fputs("\r\033[K", e->opts.diag);
        fflush(e->opts.diag);
    }
    fflush(e->opts.out);
    return rc;
}

void engine_feed(kg_engine *e, const char *text, size_t len, const char *file,
                 long line)
{
    input_feed(text, len, file, line, &e->sink);
}

const kg_stats *engine_stats(const kg_engine *e)
{
    return &e->stats;
}

void engine_summary(const kg_engine *e)
{
    const kg_stats *s = &e->stats;
    fprintf(e->opts.diag,
            "kguard: summary: events=%llu judged=%llu skipped=%llu malformed=%llu "
            "findings=%llu rule_errors=%llu\n",
            s->events, s->judged, s->skipped, s->malformed, s->findings, s->rule_errors);
}
