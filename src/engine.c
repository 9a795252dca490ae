/*
 * engine: the record -> event -> rules -> finding pipeline (see engine.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>
#include "kguard/engine.h"
#include "cstats.h"
#include "pipeline.h"
#include "kguard/persist.h"
#include "kguard/rules.h"
#include "kguard/workload.h"

#define STAGE_SLOTS (1u << 16)     /* recent auditIDs per set */
#define MAX_BAD_PRINTED 100        /* malformed-record messages per engine */
#define MAX_RULE_ERRORS_PRINTED 20 /* error messages per rule */
#define MAX_SINK_ERRORS_PRINTED 20 /* output failure messages per engine */

struct kg_engine {
    kg_engine_opts opts;
    kg_lists *lists;               /* heap: the generation's rules point at it */
    char *cluster, *account_id, *region, *partition;  /* owned copies of the identity */
    char *state_path;
    unsigned long long reloads, reload_failures;
    kg_ruleset *rules;
    kg_state *state;
    kg_agg *agg;
    kg_config *config;
    kg_stats stats;
    uint64_t *started;             /* auditIDs judged at ResponseStarted */
    uint64_t *done;                /* auditIDs judged at their last stage */
    unsigned long long bad_printed;
    unsigned long long published;  /* finding lines written */
    long long flushed_ms;          /* last look for due updates */
    double progress_at, start;
    char *last_load_error;
    kg_input_sink sink;
    const char *source;            /* engine_set_source */
    cstats *clusters;              /* counters per cluster */
    kg_pipeline *pipe;             /* --threads: the workers, or NULL */
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
 * auditID; skip a stage seen again (a webhook batch delivered twice).  A
 * request is its cluster's (NULL: the default one) and auditID: clusters'
 * auditIDs may meet.  The sets are bounded and direct-mapped: a collision
 * can only cause a repeat finding, never a lost one. */
static bool stage_decide(kg_engine *e, const char *stage, size_t slen, const char *cluster,
                         const char *aid, size_t alen, bool commit)
{
    uint64_t h, *started, *done;
    bool is_started;
    if (!stage)
        return true;
    if (slen == 15 && memcmp(stage, "RequestReceived", 15) == 0)
        return false;
    if (!aid)
        return true; /* nothing to pair stages by */
    /* seed 0 for the default cluster: XXH3_64bits itself */
    h = XXH3_64bits_withSeed(aid, alen, cluster ? XXH3_64bits(cluster, strlen(cluster)) : 0) | 1;
    started = &e->started[h & (STAGE_SLOTS - 1)];
    done = &e->done[h & (STAGE_SLOTS - 1)];
    if (*done == h)
        return false;           /* the request was judged to its end */
    is_started = slen == 15 && memcmp(stage, "ResponseStarted", 15) == 0;
    if (*started == h) {
        if (!is_started && commit)
            *done = h;
        return false;           /* judged when its response started */
    }
    if (commit)
        *(is_started ? started : done) = h;
    return true;
}

static bool stage_judged(kg_engine *e, const kg_event *ev)
{
    return stage_decide(e, ev->stage, ev->stage ? strlen(ev->stage) : 0, ev->cluster,
                        ev->audit_id, ev->audit_id ? strlen(ev->audit_id) : 0, true);
}

static const char *meta_cluster(const kg_engine *e, const kg_input_meta *meta);
static void observe(kg_engine *e, const char *cluster, kg_event_outcome what);

/* Lines the input may drop unparsed: the stages stage_judged would skip
 * (the cluster as set_cluster names it).  Deciding changes nothing;
 * counting the skip does what on_record does for a skipped event. */
static bool on_skippable(void *ud, const kg_input_peek *p, const kg_input_meta *meta)
{
    return !stage_decide(ud, p->stage, p->stage_len, meta_cluster(ud, meta), p->audit_id,
                         p->audit_id_len, false);
}

/* What a worker may skip on its own: a stage skipped whatever was judged
 * before (reads nothing the judge changes). */
static bool on_skippable_always(void *ud, const kg_input_peek *p)
{
    return !stage_decide(ud, p->stage, p->stage_len, NULL, NULL, 0, false);
}

static void on_skipped(void *ud, const kg_input_peek *p, const kg_input_meta *meta,
                       const char *file, long line)
{
    kg_engine *e = ud;
    (void)file;
    (void)line;
    stage_decide(e, p->stage, p->stage_len, meta_cluster(e, meta), p->audit_id,
                 p->audit_id_len, true);
    e->stats.events++;
    e->stats.skipped++;
    cstats_count(e->clusters, meta_cluster(e, meta), CSTATS_EVENTS);
    observe(e, meta_cluster(e, meta), KG_EV_SKIPPED);   /* metrics count it too */
}

/* ---- callbacks -------------------------------------------------------- */

/* Hand one finding line (new or update) to the sinks that take it. */
static void emit_line(void *ud, const char *line, bool archived)
{
    kg_engine *e = ud;
    e->published++;
    sinks_write(e->opts.sinks, line, archived);
}

static void on_sink_error(void *ud, const kg_sink *s, const char *what)
{
    kg_engine *e = ud;
    if (!what) {                   /* news, no failure: recovered, spooled */
        diag(e, "output %s: %s", s->name, s->err);
        return;
    }
    e->stats.output_errors++;
    if (e->stats.output_errors <= MAX_SINK_ERRORS_PRINTED)
        diag(e, "output %s: %s failed: %s%s", s->name, what, s->err,
             e->stats.output_errors == MAX_SINK_ERRORS_PRINTED
                 ? "; further output failures are only counted" : "");
}

/* Team, suppression: kguard's additions that depend on the config. */
static const kg_filter *apply_config(kg_engine *e, cJSON *f, const kg_team *team)
{
    cJSON *ext = cJSON_GetObjectItemCaseSensitive(f, "kguard");
    const kg_filter *filter;
    if (team)
        cJSON_AddStringToObject(ext, "team", team->name);
    filter = config_suppressed(e->config, f);
    if (filter) {
        cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "service"),
                                               "archived", cJSON_CreateBool(1));
        cJSON_AddStringToObject(ext, "suppressedBy", filter->name);
    }
    return filter;
}

/* The identity of the event's cluster, with its config section's. */
static void identity_of(const kg_engine *e, const kg_event *ev, kg_identity *id)
{
    const char *name = ev->cluster ? ev->cluster : e->opts.id.cluster;
    const kg_cluster_conf *cc = config_cluster(e->config, name);
    kg_identity own = {NULL, cc ? cc->account_id : NULL, cc ? cc->region : NULL,
                       cc ? cc->partition : NULL};
    finding_identity_of(&e->opts.id, &own, ev, id);
}

static void on_fire(void *ud, const kg_event *ev, const kg_match *fired)
{
    kg_engine *e = ud;
    kg_match m = *fired;
    const kg_team *team = config_team(e->config, ev->cluster ? ev->cluster : e->opts.id.cluster,
                                      ev->ns);
    long long now = now_ms(), at = finding_event_time(ev, now);
    kg_occurrence occ = {1, at, at, now, now};
    kg_identity id;
    const kg_filter *filter = NULL;
    char fid[33], *json = NULL, *line = NULL;
    cJSON *f;
    int rc;

    if (!config_severity(e->config, team, m.rule->type, &m.severity)) {
        e->stats.switched_off++;
        return;
    }
    identity_of(e, ev, &id);
    finding_id(&id, ev, &m, fid);
    rc = agg_record(e->agg, fid, at, now, &occ);
    if ((f = finding_build(&id, ev, &m, fid, &occ)) != NULL) {
        filter = apply_config(e, f, team);
        json = cJSON_PrintUnformatted(f);
        line = json ? strdup(json) : NULL;
        cJSON_free(json);
        cJSON_Delete(f);
    }
    if (!line) {
        diag(e, "%s:%ld: out of memory writing a %s finding", ev->src_file,
             ev->src_line, m.rule->type);
        return;
    }
    if (rc != 0 && !filter)
        cstats_count(e->clusters, ev->cluster, CSTATS_FINDINGS);
    if (!filter && ev->username)   /* for correlation rules (state.h) */
        state_signal(e->state, ev->username, m.rule->type);
    if (rc != 0)   /* new (or not aggregated for want of memory) */
        filter ? e->stats.archived++ : e->stats.findings++;
    if (e->opts.observer.finding)
        e->opts.observer.finding(e->opts.observer.ud, m.rule->type, m.severity, rc != 0,
                                 filter != NULL);
    if (rc < 0) {
        emit_line(e, line, filter != NULL);
        free(line);
    } else {
        agg_publish(e->agg, fid, line, filter != NULL, now);
    }
}

static void on_body_missing(void *ud, const kg_event *ev)
{
    kg_engine *e = ud;
    (void)ev;
    e->stats.body_missing++;
}

static void on_rule_error(void *ud, const kg_event *ev, const kg_rule *r,
                          const char *msg)
{
    kg_engine *e = ud;
    e->stats.rule_errors++;
    if (r->errors <= MAX_RULE_ERRORS_PRINTED || r->tripped)
        diag(e, "%s (rule %s, event %s:%ld)%s", msg, r->type, ev->src_file,
             ev->src_line, r->errors == MAX_RULE_ERRORS_PRINTED
                               ? "; further errors of this rule are only counted" : "");
    if (r->tripped) {
        e->stats.rules_disabled++;
        diag(e, "%s: rule %s disabled after %lu failures in a row; a reload enables it again",
             r->file, r->type, r->failing);
    }
}

static void observe(kg_engine *e, const char *cluster, kg_event_outcome what)
{
    if (e->opts.observer.event)
        e->opts.observer.event(e->opts.observer.ud, e->source, cluster, what);
}

static void on_bad(void *ud, const char *file, long line, const char *msg)
{
    kg_engine *e = ud;
    e->stats.malformed++;
    observe(e, NULL, KG_EV_MALFORMED);
    if (e->bad_printed++ < MAX_BAD_PRINTED)
        diag(e, "%s:%ld: %s", file, line, msg);
    else if (e->bad_printed == MAX_BAD_PRINTED + 1)
        diag(e, "further malformed records are counted, not printed");
}

/* Publish due finding updates during a long scan: the check walks every
 * aggregation entry, so at most once a second. */
static void flush_due(kg_engine *e)
{
    long long now = now_ms();
    if (now - e->flushed_ms < 1000)
        return;
    e->flushed_ms = now;
    agg_flush(e->agg, now, false);
}

/* The cluster the record's source named, unless it is the default one; the
 * state tables keep that cluster's keys apart. */
static const char *meta_cluster(const kg_engine *e, const kg_input_meta *meta)
{
    const kg_origin *o = meta ? &meta->origin : NULL;
    return o && o->cluster[0] && strcmp(o->cluster, e->opts.id.cluster) != 0 ? o->cluster
                                                                                : NULL;
}

static void set_cluster(kg_engine *e, kg_event *ev, const kg_input_meta *meta)
{
    const kg_origin *o = meta ? &meta->origin : NULL;
    ev->cluster = meta_cluster(e, meta);
    ev->origin = o && o->cloud[0] ? o : NULL;
    state_set_scope(e->state, ev->cluster);
    agg_set_scope(e->agg, ev->cluster);
    state_clock_event(e->state, ev->time_ms);
}

/* Record to event (any thread): -1 with a message in err when it is no
 * audit Event.  Bodies input.c left unparsed (meta->bodies) are parsed when
 * first read. */
static int extract_record(void *ud, kg_event *ev, const cJSON *rec, const kg_input_meta *meta,
                          char *err, size_t errlen)
{
    (void)ud;
    if (event_extract(ev, rec, err, errlen) < 0) {
        event_release(ev);
        return -1;
    }
    if (meta && meta->bodies)
        event_defer_bodies(ev, meta->bodies);
    return 0;
}

/* The same for the pipeline's workers, which also resolve the workload
 * (parsing the bodies it needs) while they are in parallel: on the judge
 * thread a body is only parsed when a rule reads it. */
static int extract_in_worker(void *ud, kg_event *ev, const cJSON *rec, const kg_input_meta *meta,
                             char *err, size_t errlen)
{
    if (extract_record(ud, ev, rec, meta, err, errlen) < 0)
        return -1;
    workload_resolve(ev);
    return 0;
}

/* An extracted event: counted, its stage decided, judged, released. */
static void judge_event(void *ud, kg_event *ev, const kg_input_meta *meta)
{
    kg_engine *e = ud;
    kg_judge_cb cb = {on_fire, on_rule_error, on_body_missing, e};

    e->stats.events++;
    set_cluster(e, ev, meta);
    cstats_count(e->clusters, ev->cluster, CSTATS_EVENTS);
    if (!stage_judged(e, ev)) {
        observe(e, ev->cluster, KG_EV_SKIPPED);
        event_release(ev);
        e->stats.skipped++;
        return;
    }
    e->stats.judged++;
    observe(e, ev->cluster, KG_EV_JUDGED);
    cstats_count(e->clusters, ev->cluster, CSTATS_JUDGED);
    ruleset_judge(e->rules, ev, &cb);
    event_release(ev);
    if ((e->stats.judged & 1023) == 0)
        flush_due(e);
}

static void on_record(void *ud, const cJSON *rec, const kg_input_meta *meta,
                      const char *file, long line)
{
    kg_event ev;
    char err[256];

    ev.src_file = file;
    ev.src_line = line;
    if (extract_record(ud, &ev, rec, meta, err, sizeof err) < 0) {
        on_bad(ud, file, line, err);
        return;
    }
    judge_event(ud, &ev, meta);
}

/* A line for the workers (input.c's sink->line under --threads). */
static void on_line(void *ud, const char *text, size_t len, const char *file, long line,
                    const kg_input_meta *base)
{
    kg_engine *e = ud;
    pipeline_line(e->pipe, text, len, file, line, base);
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

/* A broken shared module fails every rule that requires it with the same
 * message: print it once. */
static void rules_error(void *ud, const char *msg)
{
    kg_engine *e = ud;
    if (e->last_load_error && strcmp(e->last_load_error, msg) == 0)
        return;
    free(e->last_load_error);
    e->last_load_error = strdup(msg);
    diag(e, "%s", msg);
}

/* ---- public ----------------------------------------------------------- */

/* The state tables and aggregation, from --state when there is one. */
static int open_state(kg_engine *e, char *err, size_t errlen)
{
    char msg[4600];
    int rc;
    e->state = state_new();
    e->agg = agg_new(0, e->opts.publish_interval_ms, emit_line, e);
    if (!e->state || !e->agg) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!e->opts.state_path)
        return 0;
    if (persist_check_writable(e->opts.state_path, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    rc = persist_load(e->opts.state_path, e->state, e->agg, msg, sizeof msg);
    if (rc < 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (rc == 2)    /* loaded; entries dropped or temporary files removed */
        diag(e, "note: %s", msg);
    if (rc == 1) {  /* moved aside: start from nothing */
        diag(e, "warning: %s", msg);
        state_free(e->state);
        agg_free(e->agg);
        e->state = state_new();
        e->agg = agg_new(0, e->opts.publish_interval_ms, emit_line, e);
        if (!e->state || !e->agg) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* A new rule generation over lists (moved to the heap on success). */
static kg_ruleset *load_generation(kg_engine *e, const kg_engine_opts *opts,
                                   const kg_config *cfg, kg_lists *lists,
                                   kg_lists **heap, char *err, size_t errlen)
{
    kg_ruleset_opts ro = {0};
    kg_ruleset *rs;
    if (!(*heap = calloc(1, sizeof **heap))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    **heap = *lists;
    ro.rules_dir = opts->rules_dir;
    ro.lualib_dir = opts->lualib_dir;
    ro.lists = *heap;
    ro.state = e->state;
    ro.max_failures = opts->rule_max_failures;
    ro.time_limit_ms = cfg ? cfg->limits.rule_time_ms : 0;
    state_set_limits(e->state, cfg ? &cfg->limits.state : NULL);
    ro.error = rules_error;
    ro.ud = e;
    rs = ruleset_load(&ro, err, errlen);
    free(e->last_load_error);
    e->last_load_error = NULL;
    if (!rs) {
        free(*heap);            /* the caller still owns the lists */
        *heap = NULL;
        return NULL;
    }
    memset(lists, 0, sizeof *lists);
    return rs;
}

/* Keep our own copies of what the options point at in a config that a
 * reload may free. */
static int adopt_identity(kg_engine *e, const kg_engine_opts *opts)
{
    char *c = strdup(opts->id.cluster), *a = strdup(opts->id.account_id),
         *r = strdup(opts->id.region),
         *p = strdup(opts->id.partition ? opts->id.partition : "aws");
    if (!c || !a || !r || !p) {
        free(c), free(a), free(r), free(p);
        return -1;
    }
    free(e->cluster), free(e->account_id), free(e->region), free(e->partition);
    e->opts.id.cluster = e->cluster = c;
    e->opts.id.account_id = e->account_id = a;
    e->opts.id.region = e->region = r;
    e->opts.id.partition = e->partition = p;
    return 0;
}

/* --threads: the pipeline and the input's line hook; without it (no
 * threads, no memory) one thread does everything. */
static void start_workers(kg_engine *e)
{
    char err[256];
    kg_pipeline_ops ops = {e->opts.no_prescan ? NULL : on_skippable_always, extract_in_worker,
                           judge_event, &e->sink, e};
    if (!(e->pipe = pipeline_new(e->opts.threads, e->opts.thread_queue, &ops, err,
                                 sizeof err))) {
        diag(e, "note: one thread (%s)", err);
        return;
    }
    e->sink.line = on_line;
}

kg_engine *engine_new(const kg_engine_opts *opts, kg_lists *lists,
                      kg_config **config, char *err, size_t errlen)
{
    kg_engine *e = calloc(1, sizeof *e);

    if (!e || !(e->started = calloc(STAGE_SLOTS, sizeof *e->started)) ||
        !(e->done = calloc(STAGE_SLOTS, sizeof *e->done)) || !(e->clusters = cstats_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    e->opts = *opts;
    e->opts.rules_dir = e->opts.lualib_dir = NULL; /* may live in a config */
    if (opts->state_path && !(e->opts.state_path = e->state_path = strdup(opts->state_path))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (adopt_identity(e, opts) < 0 || open_state(e, err, errlen) < 0)
        goto fail;
    state_clock_live(e->state, opts->live);
    if (!(e->rules = load_generation(e, opts, config ? *config : NULL, lists, &e->lists,
                                     err, errlen)))
        goto fail;
    if (config) {
        e->config = *config;
        *config = NULL;
    }
    e->source = "file";
    e->sink.record = on_record;
    e->sink.bad = on_bad;
    if (!e->opts.no_prescan) {
        e->sink.skippable = on_skippable;
        e->sink.skipped = on_skipped;
        e->sink.lazy_bodies = true;
    }
    e->sink.progress = on_progress;
    e->sink.ud = e;
    e->sink.max_line = opts->max_line;
    sinks_set_report(e->opts.sinks, on_sink_error, e);
    if (opts->threads > 1)
        start_workers(e);
    e->start = now_mono();
    return e;
fail:
    engine_free(e);
    return NULL;
}

void engine_free(kg_engine *e)
{
    if (!e)
        return;
    pipeline_free(e->pipe);
    sinks_set_report(e->opts.sinks, NULL, NULL);
    ruleset_free(e->rules);
    agg_free(e->agg);
    state_free(e->state);
    cstats_free(e->clusters);
    config_free(e->config);
    if (e->lists) {
        lists_free(e->lists);
        free(e->lists);
    }
    free(e->cluster);
    free(e->account_id);
    free(e->region);
    free(e->partition);
    free(e->state_path);
    free(e->started);
    free(e->done);
    free(e);
}

void engine_drain(kg_engine *e)
{
    if (e->pipe)
        pipeline_drain(e->pipe);
}

int engine_scan_path(kg_engine *e, const char *path, char *err, size_t errlen)
{
    return engine_scan_cluster(e, path, NULL, err, errlen);
}

int engine_scan_cluster(kg_engine *e, const char *path, const char *cluster, char *err,
                        size_t errlen)
{
    kg_input_meta base = {0};
    int rc;
    if (cluster && cluster[0])
        snprintf(base.origin.cluster, sizeof base.origin.cluster, "%s", cluster);
    rc = input_read_path_from(path, cluster && cluster[0] ? &base : NULL, &e->sink, err,
                              errlen);
    engine_drain(e);        /* every line read, also before a read error */
    if (e->opts.progress) {
        fputs("\r\033[K", e->opts.diag);
        fflush(e->opts.diag);
    }
    sinks_flush(e->opts.sinks);
    return rc;
}

void engine_feed(kg_engine *e, const char *text, size_t len, const char *file,
                 long line)
{
    engine_drain(e);
    input_feed(text, len, file, line, &e->sink);
}

void engine_feed_line(kg_engine *e, const char *text, size_t len, const char *file,
                      long line, const char *cluster)
{
    kg_input_meta base = {0};
    const kg_input_meta *b = NULL;
    if (cluster && cluster[0]) {
        snprintf(base.origin.cluster, sizeof base.origin.cluster, "%s", cluster);
        b = &base;
    }
    if (e->pipe)
        pipeline_line(e->pipe, text, len, file, line, b);
    else
        input_feed_from(text, len, file, line, b, &e->sink);
}

void engine_feed_cluster(kg_engine *e, const char *text, size_t len, const char *file,
                         long line, const char *cluster)
{
    kg_input_meta base = {0};
    engine_drain(e);
    if (!cluster || !cluster[0]) {
        input_feed(text, len, file, line, &e->sink);
        return;
    }
    snprintf(base.origin.cluster, sizeof base.origin.cluster, "%s", cluster);
    input_feed_from(text, len, file, line, &base, &e->sink);
}

const kg_stats *engine_stats(const kg_engine *e)
{
    return &e->stats;
}

void engine_set_source(kg_engine *e, const char *source)
{
    if (source != e->source)    /* lines handed over are the old source's */
        engine_drain(e);
    e->source = source;
}

const kg_ruleset *engine_rules(const kg_engine *e)
{
    return e->rules;
}

const kg_lists *engine_lists(const kg_engine *e)
{
    return e->lists;
}

kg_state *engine_state(const kg_engine *e)
{
    return e->state;
}

kg_agg *engine_agg(const kg_engine *e)
{
    return e->agg;
}

void engine_agg_counts(const kg_engine *e, size_t *size, unsigned long long *evictions)
{
    *size = agg_size(e->agg);
    *evictions = agg_evictions(e->agg);
}

size_t engine_rule_count(const kg_engine *e)
{
    return ruleset_count(e->rules);
}

int engine_reload(kg_engine *e, const kg_engine_opts *opts, kg_lists *lists,
                  kg_config **config, char *err, size_t errlen)
{
    kg_lists *heap = NULL;
    kg_ruleset *rs = NULL;
    engine_drain(e);
    if (lists_keep_shrunk(lists, e->lists, opts->accept_shrunk_lists, e->opts.diag) < 0)
        snprintf(err, errlen, "out of memory");
    else
        rs = load_generation(e, opts, config ? *config : NULL, lists, &heap, err, errlen);
    if (!rs || adopt_identity(e, opts) < 0) {
        if (rs) {
            ruleset_free(rs);
            lists_free(heap);
            free(heap);
            snprintf(err, errlen, "out of memory");
        }
        e->reload_failures++;
        return -1;
    }
    ruleset_free(e->rules);
    lists_free(e->lists);
    free(e->lists);
    e->rules = rs;
    e->lists = heap;
    e->opts.publish_interval_ms = opts->publish_interval_ms;
    agg_set_interval(e->agg, opts->publish_interval_ms);
    config_free(e->config);
    e->config = config ? *config : NULL;
    if (config)
        *config = NULL;
    e->reloads++;
    return 0;
}

void engine_tick(kg_engine *e)
{
    engine_drain(e);
    agg_flush(e->agg, now_ms(), false);
    sinks_flush(e->opts.sinks);
}

int engine_save(kg_engine *e)
{
    char msg[4600];
    engine_drain(e);
    if (!e->opts.state_path)
        return 0;
    if (persist_save(e->opts.state_path, e->state, e->agg, msg, sizeof msg) < 0) {
        diag(e, "%s", msg);
        return -1;
    }
    return 0;
}

void engine_reopen(kg_engine *e)
{
    engine_drain(e);
    for (size_t i = 0; i < sinks_count(e->opts.sinks); i++)
        if (sinks_reopen_one(e->opts.sinks, i) > 0)
            diag(e, "reopened %s", sinks_get(e->opts.sinks, i)->name);
}

void engine_reload_failed(kg_engine *e)
{
    e->reload_failures++;
}

void engine_reload_counts(const kg_engine *e, unsigned long long *ok,
                          unsigned long long *failed)
{
    *ok = e->reloads;
    *failed = e->reload_failures;
}

int engine_finish(kg_engine *e)
{
    int rc;
    engine_drain(e);
    agg_flush(e->agg, now_ms(), true);
    sinks_flush(e->opts.sinks);
    e->stats.updates = e->published - e->stats.findings - e->stats.archived;
    rc = engine_save(e);
    /* lines an outage kept and the output never took: in a spool file or lost */
    return sinks_finish(e->opts.sinks) ? -1 : rc;
}

void engine_summary(const kg_engine *e)
{
    const kg_stats *s = &e->stats;
    fprintf(e->opts.diag,
            "kguard: summary: events=%llu judged=%llu skipped=%llu malformed=%llu "
            "findings=%llu rule_errors=%llu updates=%llu body_missing=%llu evictions=%llu "
            "archived=%llu switched_off=%llu reloads=%llu reload_failures=%llu output_errors=%llu "
            "rules_disabled=%llu state_refused=%llu\n",
            s->events, s->judged, s->skipped, s->malformed, s->findings, s->rule_errors,
            s->updates, s->body_missing,
            state_evictions(e->state) + agg_evictions(e->agg), s->archived, s->switched_off,
            e->reloads, e->reload_failures, s->output_errors, s->rules_disabled,
            state_refusals(e->state));
    for (size_t i = 0; i < sinks_count(e->opts.sinks); i++) {
        kg_sink *k = sinks_get(e->opts.sinks, i);
        kg_sink_counts n;
        if (k->ops->counts && k->ops->counts(k, &n) == 0)
            fprintf(e->opts.diag, "kguard: output %s: delivered=%llu failed=%llu spooled=%llu "
                    "spool_bytes=%llu pending=%llu\n", k->name, n.delivered, n.failed,
                    n.spooled, n.spool_bytes, n.pending);
    }
    cstats_print(e->clusters, e->opts.id.cluster, e->opts.diag);
}

static int by_cost(const void *a, const void *b)
{
    const kg_rule *x = *(const kg_rule *const *)a, *y = *(const kg_rule *const *)b;
    if (x->seconds != y->seconds)
        return x->seconds < y->seconds ? 1 : -1;
    return x->candidates < y->candidates ? 1 : x->candidates > y->candidates ? -1 : 0;
}

void engine_rule_stats(const kg_engine *e)
{
    size_t n = ruleset_count(e->rules);
    const kg_rule **v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = ruleset_rule(e->rules, i);
    qsort(v, n, sizeof *v, by_cost);
    fprintf(e->opts.diag, "kguard: stats: %-58s %10s %8s %7s %10s\n", "rule", "matched",
            "fired", "errors", "lua_ms");
    for (size_t i = 0; i < n; i++)
        fprintf(e->opts.diag, "kguard: stats: %-58s %10lu %8lu %7lu %10.1f%s\n", v[i]->type,
                v[i]->candidates, v[i]->fired, v[i]->errors, v[i]->seconds * 1e3,
                v[i]->tripped ? " disabled" : "");
    free(v);
    lists_stats(e->lists, e->opts.diag);
}
