/*
 * collect: filling kguard's standard metrics from the running engine, its
 * sinks, the webhook and its queue (see collect.h).  Counters read from
 * totals kept elsewhere are advanced by the difference since the last look,
 * so they only go up even when a reload starts the rules' counts over.
 */
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cJSON.h>
#include "arena.h"
#include "collect.h"
#include "kguard/format.h"
#include "kguard/metrics.h"
#include "kguard/rules.h"
#include "kguard/state.h"

#define MAX_SOURCES 32        /* (source, cluster) pairs whose series are kept at hand */
#define MAX_RULES 1024
#define MAX_TABLES 256
#define MAX_SINKS 32

typedef struct source_series {
    const char *source;          /* a static string: compared by address */
    char cluster[128];
    kg_series *read, *judged, *skipped, *malformed;
} source_series;

typedef struct rule_last {
    unsigned long fired, errors;
    double seconds;
} rule_last;

struct kg_collect {
    kg_metrics *reg;
    kg_std_metrics m;
    char *cluster;
    source_series sources[MAX_SOURCES];
    size_t n_sources;
    const kg_ruleset *rules;     /* the generation rule_last is about */
    rule_last rules_last[MAX_RULES];
    unsigned long long table_evictions[MAX_TABLES], agg_evictions;
    kg_sink_counts sinks_last[MAX_SINKS];
    kg_webhook_stats hook_last;
    unsigned long long reloads_ok, reloads_failed;
    /* collect_watch (scan): brought up to date from the observer */
    const kg_engine *watch;
    const kg_sinks *watch_sinks;
    unsigned watch_records;
    time_t watch_last;
};

#define WATCH_EVERY 256         /* records between two looks at the clock */

/* ---- the observer (per record, per finding) ------------------------------ */

/* The series of (source, cluster), kept at hand for the first pairs seen;
 * NULL past them (then looked up per event). */
static source_series *source_of(kg_collect *c, const char *source, const char *cluster)
{
    source_series *s;
    for (size_t i = 0; i < c->n_sources; i++)
        if (c->sources[i].source == source && strcmp(c->sources[i].cluster, cluster) == 0)
            return &c->sources[i];
    if (c->n_sources == MAX_SOURCES || strlen(cluster) >= sizeof s->cluster)
        return NULL;
    s = &c->sources[c->n_sources++];
    {
        const char *v[] = {source, cluster};
        s->source = source;
        snprintf(s->cluster, sizeof s->cluster, "%s", cluster);
        s->read = metrics_series(c->m.events_read, v);
        s->judged = metrics_series(c->m.events_judged, v);
        s->skipped = metrics_series(c->m.events_skipped, v);
        s->malformed = metrics_series(c->m.events_malformed, v);
    }
    return s;
}

/* A scan has no loop of its own: once a second (looked at every
 * WATCH_EVERY records), between two records, on the judging thread. */
static void watch_tick(kg_collect *c)
{
    time_t now;
    if (!c->watch || ++c->watch_records % WATCH_EVERY)
        return;
    if ((now = time(NULL)) == c->watch_last)
        return;
    c->watch_last = now;
    collect_update(c, c->watch, c->watch_sinks, NULL, NULL);
}

static void on_event(void *ud, const char *source, const char *cluster, kg_event_outcome what)
{
    kg_collect *c = ud;
    const char *cl = cluster && *cluster ? cluster : c->cluster;
    source_series *s = source_of(c, source, cl);
    watch_tick(c);
    if (!s) {
        if (what == KG_EV_MALFORMED) {
            metrics_inc(c->m.events_malformed, 1, source, cl);
            return;
        }
        metrics_inc(c->m.events_read, 1, source, cl);
        metrics_inc(what == KG_EV_JUDGED ? c->m.events_judged : c->m.events_skipped, 1, source, cl);
        return;
    }
    if (what == KG_EV_MALFORMED) {
        metrics_add(s->malformed, 1);
        return;
    }
    metrics_add(s->read, 1);
    metrics_add(what == KG_EV_JUDGED ? s->judged : s->skipped, 1);
}

/* New findings as they are found (every new one is published at once);
 * updates are counted as they are published (collect_sink). */
static void on_finding(void *ud, const char *type, double severity, bool is_new, bool archived)
{
    kg_collect *c = ud;
    if (!is_new)
        return;
    if (archived)
        metrics_inc(c->m.findings_archived, 1, type);
    else
        metrics_inc(c->m.findings_new, 1, type, format_severity_word(severity));
}

kg_engine_observer collect_observer(kg_collect *c)
{
    kg_engine_observer o = {on_event, on_finding, c};
    return o;
}

void collect_watch(kg_collect *c, const kg_engine *e, const kg_sinks *sinks)
{
    if (!c)
        return;
    c->watch = e;
    c->watch_sinks = sinks;
    c->watch_last = time(NULL);
}

/* ---- the update lines published (an internal sink) ------------------------- */

/* Every line the engine publishes, archived or not: a count above 1 is an
 * update of a finding published before (the aggregation's interval decides
 * how many of its repeats become one). */
static int updates_write(kg_sink *s, const char *line, bool archived)
{
    kg_collect *c = s->impl;
    bool arena = arena_suspend();
    cJSON *f = cJSON_Parse(line);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "type");
    const cJSON *sev = cJSON_GetObjectItemCaseSensitive(f, "severity");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(f, "service"), "count");
    (void)archived;
    if (cJSON_IsString(type) && cJSON_IsNumber(sev) && cJSON_IsNumber(n) && n->valuedouble > 1)
        metrics_inc(c->m.findings_updated, 1, type->valuestring,
                    format_severity_word(sev->valuedouble));
    cJSON_Delete(f);
    arena_resume(arena);
    return 0;
}

static void updates_close(kg_sink *s)
{
    s->impl = NULL;             /* the collector is the caller's */
}

static const kg_sink_ops updates_ops = {"metrics", updates_write, NULL, NULL, updates_close,
                                        NULL, NULL};

int collect_sink(kg_collect *c, kg_sinks *set)
{
    kg_sink *s;
    if (!c)
        return 0;
    if ((s = sink_new(&updates_ops, c, "metrics", KG_SINK_FINDINGS | KG_SINK_ARCHIVED)))
        s->internal = true;
    return sinks_add(set, s);
}

/* ---- once a second ----------------------------------------------------------- */

static double since(double now, double *last)
{
    double d = now >= *last ? now - *last : now;   /* counted from 0 again */
    *last = now;
    return d;
}

static unsigned long long since_ull(unsigned long long now, unsigned long long *last)
{
    unsigned long long d = now >= *last ? now - *last : now;
    *last = now;
    return d;
}

static void update_rules(kg_collect *c, const kg_engine *e)
{
    const kg_ruleset *rs = engine_rules(e);
    size_t n = ruleset_count(rs), disabled = 0, tripped = 0;
    if (rs != c->rules) {       /* a new generation counts from 0 */
        memset(c->rules_last, 0, sizeof c->rules_last);
        c->rules = rs;
    }
    for (size_t i = 0; i < n; i++) {
        const kg_rule *r = ruleset_rule(rs, i);
        disabled += !r->enabled;
        tripped += r->enabled && r->tripped;
        if (i >= MAX_RULES)
            continue;
        {
            rule_last *l = &c->rules_last[i];
            unsigned long long fired = l->fired, errors = l->errors;
            metrics_inc(c->m.rule_matches, (double)since_ull(r->fired, &fired), r->type);
            metrics_inc(c->m.rule_errors, (double)since_ull(r->errors, &errors), r->type);
            metrics_inc(c->m.rule_lua_seconds, since(r->seconds, &l->seconds), r->type);
            l->fired = (unsigned long)fired;
            l->errors = (unsigned long)errors;
        }
    }
    metrics_put(c->m.rules_loaded, (double)(n - disabled - tripped));
    metrics_put(c->m.rules_disabled, (double)disabled, "rule");
    metrics_put(c->m.rules_disabled, (double)tripped, "failures");
}

static void update_tables(kg_collect *c, const kg_engine *e)
{
    const kg_lists *ls = engine_lists(e);
    kg_state *st = engine_state(e);
    size_t agg_size;
    unsigned long long agg_ev;
    for (size_t i = 0; ls && i < ls->n; i++)
        metrics_put(c->m.list_entries, (double)ipset_count(ls->v[i].set), ls->v[i].name);
    for (size_t i = 0; i < state_count(st) && i < MAX_TABLES; i++) {
        const kg_table *t = state_table_at(st, i);
        metrics_put(c->m.state_entries, (double)table_size(t), table_name(t));
        metrics_inc(c->m.state_evictions,
                    (double)since_ull(table_evictions(t), &c->table_evictions[i]), table_name(t));
    }
    engine_agg_counts(e, &agg_size, &agg_ev);
    metrics_put(c->m.state_entries, (double)agg_size, "findings");
    metrics_inc(c->m.state_evictions, (double)since_ull(agg_ev, &c->agg_evictions), "findings");
}

static void update_reloads(kg_collect *c, const kg_engine *e)
{
    unsigned long long ok, failed, d;
    engine_reload_counts(e, &ok, &failed);
    if ((d = since_ull(ok, &c->reloads_ok)) > 0) {
        metrics_inc(c->m.reloads, (double)d, "ok");
        metrics_put(c->m.reload_last_success, (double)time(NULL));
    }
    metrics_inc(c->m.reloads, (double)since_ull(failed, &c->reloads_failed), "failed");
}

/* A sink's label: its name without a URL's query or user part. */
static void sink_label(const kg_sink *s, char *out, size_t n)
{
    const char *at = strchr(s->name, '@'), *scheme = strstr(s->name, "://");
    if (scheme && at && at > scheme)
        snprintf(out, n, "%.*s%s", (int)(scheme + 3 - s->name), s->name, at + 1);
    else
        snprintf(out, n, "%s", s->name);
    out[strcspn(out, "?#")] = '\0';
}

static void update_sinks(kg_collect *c, const kg_sinks *set)
{
    for (size_t i = 0; i < sinks_count(set) && i < MAX_SINKS; i++) {
        kg_sink *s = sinks_get(set, i);
        kg_sink_counts now, *last = &c->sinks_last[i];
        const char *kind = s->ops->kind;
        char label[256];
        if (s->internal || sinks_counts(set, i, &now) < 0)
            continue;
        sink_label(s, label, sizeof label);
        metrics_inc(c->m.sink_deliveries, (double)since_ull(now.delivered, &last->delivered), label, kind);
        metrics_inc(c->m.sink_failures, (double)since_ull(now.errors, &last->errors), label, kind);
        metrics_inc(c->m.sink_lost, (double)since_ull(now.failed, &last->failed), label, kind);
        metrics_inc(c->m.sink_spooled, (double)since_ull(now.spooled, &last->spooled), label, kind);
        metrics_put(c->m.sink_spool_bytes, (double)now.spool_bytes, label, kind);
        metrics_put(c->m.sink_pending, (double)now.pending, label, kind);
    }
}

static void update_webhook(kg_collect *c, kg_queue *q, kg_webhook *w)
{
    kg_webhook_stats now, *l = &c->hook_last;
    if (q) {
        metrics_put(c->m.queue_depth, (double)queue_len(q));
        metrics_put(c->m.queue_bytes, (double)queue_bytes(q));
    }
    if (!w)
        return;
    webhook_stats(w, &now);
    metrics_inc(c->m.queue_rejected, (double)(now.busy >= l->busy ? now.busy - l->busy : 0));
    for (size_t p = 0; p < KG_WEBHOOK_PATHS; p++)
        for (size_t i = 0; i < KG_WEBHOOK_CODES; i++) {
            unsigned long long d = since_ull(now.answers[p][i], &l->answers[p][i]);
            if (d)      /* a series per (code, path) once it happens */
                metrics_inc(c->m.webhook_requests, (double)d, webhook_code_name(i),
                            webhook_path_name(p));
        }
    l->busy = now.busy;
    metrics_inc(c->m.webhook_closed, (double)since_ull(now.cut, &l->cut), "deadline");
    metrics_inc(c->m.webhook_closed, (double)since_ull(now.refused, &l->refused), "limit");
}

void collect_update(kg_collect *c, const kg_engine *e, const kg_sinks *sinks, kg_queue *q,
                    kg_webhook *w)
{
    if (!c)
        return;
    if (e) {
        update_rules(c, e);
        update_tables(c, e);
        update_reloads(c, e);
    }
    update_sinks(c, sinks);
    update_webhook(c, q, w);
}

/* ---- the registry -------------------------------------------------------------- */

kg_collect *collect_new(const char *version, const char *cluster)
{
    kg_collect *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!(c->reg = metrics_new()) || !(c->cluster = strdup(cluster ? cluster : "")) ||
        metrics_register_std(c->reg, &c->m, version, LUA_RELEASE) < 0) {
        collect_free(c);
        return NULL;
    }
    return c;
}

void collect_free(kg_collect *c)
{
    if (!c)
        return;
    metrics_free(c->reg);
    free(c->cluster);
    free(c);
}

char *collect_render(void *c)
{
    return metrics_render(((kg_collect *)c)->reg);
}
