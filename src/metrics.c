/*
 * metrics: the Prometheus registry (see metrics.h).  A family keeps its
 * series in insertion order and in an index by label values; a series'
 * value is a double held in an atomic 64-bit word, so updates take no lock.
 * Creating a series and rendering lock the family.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hmap.h"
#include "kguard/metrics.h"

struct kg_series {
    _Atomic uint64_t bits;      /* the value, a double's bytes */
    kg_metric *family;
    char *values[KG_METRIC_MAX_LABELS];
    kg_series *next;
};

struct kg_metric {
    char *name, *help;
    kg_metric_kind kind;
    int nlabels;
    char *labels[KG_METRIC_MAX_LABELS];
    pthread_mutex_t lock;
    hmap index;                 /* label-values key -> kg_series */
    kg_series *head, *tail;
    kg_metrics *registry;
    kg_metric *next;
};

struct kg_metrics {
    pthread_mutex_t lock;
    kg_metric *head, *tail;
    kg_series *dropped;         /* kguard_metrics_series_dropped_total */
};

/* ---- values ------------------------------------------------------------- */

static uint64_t to_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

void metrics_add(kg_series *s, double v)
{
    uint64_t old;
    if (!s || !(v >= 0 || s->family->kind == KG_GAUGE))
        return;
    old = atomic_load_explicit(&s->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->bits, &old, to_bits(from_bits(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void metrics_set(kg_series *s, double v)
{
    if (s && s->family->kind == KG_GAUGE)
        atomic_store_explicit(&s->bits, to_bits(v), memory_order_relaxed);
}

double metrics_value(const kg_series *s)
{
    return s ? from_bits(atomic_load_explicit(&((kg_series *)s)->bits, memory_order_relaxed)) : 0;
}

/* ---- registration ------------------------------------------------------- */

static int name_ok(const char *s, int colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void family_free(kg_metric *m)
{
    kg_series *s, *next;
    if (!m)
        return;
    for (s = m->head; s; s = next) {
        next = s->next;
        for (int i = 0; i < m->nlabels; i++)
            free(s->values[i]);
        free(s);
    }
    hmap_free(&m->index, NULL);
    for (int i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    pthread_mutex_destroy(&m->lock);
    free(m->name);
    free(m->help);
    free(m);
}

/* Split "a,b" into m->labels, checking each name. */
static int parse_labels(kg_metric *m, const char *labels)
{
    while (labels && *labels) {
        size_t n = strcspn(labels, ",");
        char *l;
        if (m->nlabels == KG_METRIC_MAX_LABELS || !(l = strndup(labels, n)))
            return -1;
        m->labels[m->nlabels++] = l;
        if (!name_ok(l, 0) || strncmp(l, "__", 2) == 0)
            return -1;
        labels += n + (labels[n] == ',');
    }
    return 0;
}

static kg_metric *family_new(kg_metrics *r, kg_metric_kind kind, const char *name,
                             const char *help, const char *labels)
{
    kg_metric *m;
    if (!r || !name_ok(name, 1) || !help ||
        (kind == KG_COUNTER) != ends_with(name, "_total") || !(m = calloc(1, sizeof *m)))
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->kind = kind;
    m->registry = r;
    m->name = strdup(name);
    m->help = strdup(help);
    if (!m->name || !m->help || parse_labels(m, labels) < 0) {
        family_free(m);
        return NULL;
    }
    return m;
}

static kg_metric *find_locked(kg_metrics *r, const char *name)
{
    kg_metric *m = r->head;
    while (m && strcmp(m->name, name) != 0)
        m = m->next;
    return m;
}

static kg_metric *register_family(kg_metrics *r, kg_metric_kind kind, const char *name,
                                  const char *help, const char *labels)
{
    kg_metric *m = family_new(r, kind, name, help, labels);
    if (!m)
        return NULL;
    pthread_mutex_lock(&r->lock);
    if (find_locked(r, name)) {
        pthread_mutex_unlock(&r->lock);
        family_free(m);
        return NULL;
    }
    if (r->tail)
        r->tail->next = m;
    else
        r->head = m;
    r->tail = m;
    pthread_mutex_unlock(&r->lock);
    return m;
}

kg_metric *metrics_counter(kg_metrics *r, const char *name, const char *help, const char *labels)
{
    return register_family(r, KG_COUNTER, name, help, labels);
}

kg_metric *metrics_gauge(kg_metrics *r, const char *name, const char *help, const char *labels)
{
    return register_family(r, KG_GAUGE, name, help, labels);
}

kg_metric *metrics_find(kg_metrics *r, const char *name)
{
    kg_metric *m;
    pthread_mutex_lock(&r->lock);
    m = find_locked(r, name);
    pthread_mutex_unlock(&r->lock);
    return m;
}

kg_metrics *metrics_new(void)
{
    kg_metrics *r = calloc(1, sizeof *r);
    kg_metric *d;
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    d = metrics_counter(r, "kguard_metrics_series_dropped_total",
                        "Label sets not recorded because their family was full.", NULL);
    if (!d || !(r->dropped = metrics_series(d, NULL))) {
        metrics_free(r);
        return NULL;
    }
    return r;
}

void metrics_free(kg_metrics *r)
{
    kg_metric *m, *next;
    if (!r)
        return;
    for (m = r->head; m; m = next) {
        next = m->next;
        family_free(m);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ---- series ------------------------------------------------------------- */

/* An unambiguous key of the label values: "len:value" each. */
static char *series_key(const kg_metric *m, const char *const *values, size_t *len)
{
    size_t n = 1;
    char *k, *p;
    for (int i = 0; i < m->nlabels; i++)
        n += 24 + strlen(values[i] ? values[i] : "");
    if (!(k = p = malloc(n)))
        return NULL;
    *p = '\0';
    for (int i = 0; i < m->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        p += sprintf(p, "%zu:%s", strlen(v), v);
    }
    *len = (size_t)(p - k);
    return k;
}

static kg_series *series_new(kg_metric *m, const char *const *values)
{
    kg_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->family = m;
    atomic_init(&s->bits, to_bits(0));
    for (int i = 0; i < m->nlabels; i++) {
        if (!(s->values[i] = strdup(values[i] ? values[i] : ""))) {
            for (int j = 0; j < i; j++)
                free(s->values[j]);
            free(s);
            return NULL;
        }
    }
    return s;
}

/* Called with m->lock held. */
static kg_series *series_insert(kg_metric *m, const char *const *values, const char *key,
                                size_t klen)
{
    hmap_entry *e;
    bool created;
    kg_series *s;
    if (m->index.n >= KG_METRIC_MAX_SERIES)
        return NULL;
    if (!(s = series_new(m, values)))
        return NULL;
    if (!(e = hmap_insert(&m->index, key, klen, &created))) {
        for (int i = 0; i < m->nlabels; i++)
            free(s->values[i]);
        free(s);
        return NULL;
    }
    e->ptr = s;
    if (m->tail)
        m->tail->next = s;
    else
        m->head = s;
    m->tail = s;
    return s;
}

kg_series *metrics_series(kg_metric *m, const char *const *values)
{
    static const char *const none[KG_METRIC_MAX_LABELS] = {NULL};
    hmap_entry *e;
    kg_series *s;
    size_t klen = 0;
    char *key;

    if (!m || !(key = series_key(m, values ? values : none, &klen)))
        return NULL;
    pthread_mutex_lock(&m->lock);
    e = hmap_find(&m->index, key, klen);
    s = e ? e->ptr : series_insert(m, values ? values : none, key, klen);
    pthread_mutex_unlock(&m->lock);
    free(key);
    if (!s && m->registry->dropped)
        metrics_add(m->registry->dropped, 1);
    return s;
}

static kg_series *series_va(kg_metric *m, va_list ap)
{
    const char *values[KG_METRIC_MAX_LABELS] = {NULL};
    for (int i = 0; m && i < m->nlabels; i++)
        values[i] = va_arg(ap, const char *);
    return metrics_series(m, values);
}

void metrics_inc(kg_metric *m, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    metrics_add(series_va(m, ap), v);
    va_end(ap);
}

void metrics_put(kg_metric *m, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    metrics_set(series_va(m, ap), v);
    va_end(ap);
}

/* ---- the text exposition format ------------------------------------------ */

/* HELP text escapes \ and newline; label values also ". */
static void put_escaped(FILE *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (quote && *s == '"')
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

static void put_value(FILE *out, double v)
{
    if (isnan(v))
        fputs("NaN", out);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", out);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(out, "%.0f", v);
    else
        fprintf(out, "%.17g", v);
}

static void render_family(FILE *out, kg_metric *m)
{
    fprintf(out, "# HELP %s ", m->name);
    put_escaped(out, m->help, 0);
    fprintf(out, "\n# TYPE %s %s\n", m->name, m->kind == KG_COUNTER ? "counter" : "gauge");
    pthread_mutex_lock(&m->lock);
    for (kg_series *s = m->head; s; s = s->next) {
        fputs(m->name, out);
        for (int i = 0; i < m->nlabels; i++) {
            fprintf(out, "%s%s=\"", i ? "," : "{", m->labels[i]);
            put_escaped(out, s->values[i], 1);
            fputc('"', out);
        }
        fputs(m->nlabels ? "} " : " ", out);
        put_value(out, metrics_value(s));
        fputc('\n', out);
    }
    pthread_mutex_unlock(&m->lock);
}

char *metrics_render(kg_metrics *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    pthread_mutex_lock(&r->lock);
    for (kg_metric *m = r->head; m; m = m->next)
        render_family(out, m);
    pthread_mutex_unlock(&r->lock);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- kguard's metrics ---------------------------------------------------- */

typedef struct std_def {
    size_t offset;              /* of the kg_metric * in kg_std_metrics */
    kg_metric_kind kind;
    const char *name, *labels, *help;
} std_def;

#define STD(field, kind, name, labels, help) \
    {offsetof(kg_std_metrics, field), kind, name, labels, help}

static const std_def std_defs[] = {
    STD(build_info, KG_GAUGE, "kguard_build_info", "version,lua_version",
        "Always 1; the labels name the running build."),
    STD(start_time, KG_GAUGE, "kguard_start_time_seconds", NULL,
        "When kguard started, in seconds since the epoch."),
    STD(events_read, KG_COUNTER, "kguard_events_read_total", "source,cluster",
        "Audit events read, by input kind (file, stdin, follow, webhook) and cluster."),
    STD(events_judged, KG_COUNTER, "kguard_events_judged_total", "source,cluster",
        "Audit events judged against the rules."),
    STD(events_skipped, KG_COUNTER, "kguard_events_skipped_total", "source,cluster",
        "Audit events skipped (stages not judged, repeated stages)."),
    STD(events_malformed, KG_COUNTER, "kguard_events_malformed_total", "source,cluster",
        "Records that were not valid audit events."),
    STD(findings_new, KG_COUNTER, "kguard_findings_new_total", "type,severity",
        "New findings (new ids) published."),
    STD(findings_updated, KG_COUNTER, "kguard_findings_updated_total", "type,severity",
        "Updates of findings published (same id, higher count)."),
    STD(findings_archived, KG_COUNTER, "kguard_findings_archived_total", "type",
        "New findings archived by a suppression rule."),
    STD(rule_matches, KG_COUNTER, "kguard_rule_matches_total", "rule",
        "Events that matched a rule's conditions, by rule (finding type)."),
    STD(rule_errors, KG_COUNTER, "kguard_rule_errors_total", "rule",
        "Errors of a rule's predicate (raised, over budget, out of memory)."),
    STD(rule_lua_seconds, KG_COUNTER, "kguard_rule_lua_seconds_total", "rule",
        "Time spent in a rule's Lua predicate."),
    STD(rules_loaded, KG_GAUGE, "kguard_rules_loaded", NULL,
        "Rules of the running generation that are judging events."),
    STD(rules_disabled, KG_GAUGE, "kguard_rules_disabled", "reason",
        "Rules not judging: enabled = false in the rule file (rule), or switched off by the "
        "circuit breaker after failures in a row, until a reload (failures)."),
    STD(queue_depth, KG_GAUGE, "kguard_queue_depth", NULL,
        "Webhook bodies queued for the judge."),
    STD(queue_bytes, KG_GAUGE, "kguard_queue_bytes", NULL, "Bytes of the queued webhook bodies."),
    STD(queue_rejected, KG_COUNTER, "kguard_queue_rejected_total", NULL,
        "Webhook bodies refused with 429 because the queue was full."),
    STD(webhook_requests, KG_COUNTER, "kguard_webhook_requests_total", "code,path",
        "Webhook requests answered, by HTTP status code and path."),
    STD(webhook_closed, KG_COUNTER, "kguard_webhook_connections_closed_total", "reason",
        "Webhook connections closed unanswered: a request not in by its deadline (deadline), or "
        "over the per-address or total connection limit (limit)."),
    STD(sink_deliveries, KG_COUNTER, "kguard_sink_deliveries_total", "sink,kind",
        "Finding lines a sink's destination took, by sink (its name) and kind."),
    STD(sink_failures, KG_COUNTER, "kguard_sink_failures_total", "sink,kind",
        "Failed writes, flushes and reopens of a sink (each reported on stderr)."),
    STD(sink_lost, KG_COUNTER, "kguard_sink_lost_total", "sink,kind",
        "Finding lines a sink gave up: neither delivered nor kept in a spool file."),
    STD(sink_spooled, KG_COUNTER, "kguard_sink_spooled_total", "sink,kind",
        "Finding lines written to a sink's on-disk spool."),
    STD(sink_spool_bytes, KG_GAUGE, "kguard_sink_spool_bytes", "sink,kind",
        "Bytes waiting in a sink's on-disk spool."),
    STD(sink_pending, KG_GAUGE, "kguard_sink_pending_lines", "sink,kind",
        "Finding lines waiting in memory for a sink."),
    STD(reloads, KG_COUNTER, "kguard_reloads_total", "result",
        "Reloads of rules, config and lists, by result (ok, failed)."),
    STD(reload_last_success, KG_GAUGE, "kguard_reload_last_success_timestamp_seconds", NULL,
        "When the last reload (or the start) succeeded, in seconds since the epoch."),
    STD(list_entries, KG_GAUGE, "kguard_list_entries", "list",
        "Entries (addresses and ranges) of each IP list."),
    STD(state_entries, KG_GAUGE, "kguard_state_entries", "table",
        "Entries of each state table (and the finding aggregation)."),
    STD(state_evictions, KG_COUNTER, "kguard_state_evictions_total", "table",
        "Entries evicted from a full state table."),
};

int metrics_register_std(kg_metrics *r, kg_std_metrics *m, const char *version,
                         const char *lua_version)
{
    double now = (double)time(NULL);
    for (size_t i = 0; i < sizeof std_defs / sizeof std_defs[0]; i++) {
        const std_def *d = &std_defs[i];
        kg_metric *f = register_family(r, d->kind, d->name, d->help, d->labels);
        if (!f)
            return -1;
        *(kg_metric **)((char *)m + d->offset) = f;
    }
    metrics_put(m->build_info, 1, version ? version : "unknown", lua_version ? lua_version : "");
    metrics_put(m->start_time, now);
    metrics_put(m->reload_last_success, now);
    return 0;
}
