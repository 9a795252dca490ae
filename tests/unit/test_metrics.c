/*
 * Unit tests for the metrics registry: Prometheus' naming rules, atomic
 * updates from several threads, label escaping, the series cap, and every
 * rendering checked by a parser of the text exposition format (0.0.4)
 * written here.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "kguard/metrics.h"
#include "util.h"
#include "tap.h"

/* ---- a parser of the text exposition format ------------------------------ */

enum { MAX_FAM = 128, MAX_SAMPLES = 8192, MAX_L = 8 };

typedef struct sample {
    char name[128];
    int nlabels;
    char lname[MAX_L][64], lval[MAX_L][256];
    double value;
} sample;

typedef struct family {
    char name[128], type[16], help[512];
    int samples;
} family;

typedef struct expo {
    family fam[MAX_FAM];
    int nfam;
    sample *s;
    int ns;
    char err[256];
} expo;

static int name_char(char c, int first, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* A metric or label name at *p into out; advances *p.  -1 when none. */
static int read_name(const char **p, char *out, size_t n, int colon)
{
    size_t i = 0;
    if (!name_char(**p, 1, colon))
        return -1;
    while (name_char(**p, 0, colon) && i + 1 < n)
        out[i++] = *(*p)++;
    out[i] = '\0';
    return name_char(**p, 0, colon) ? -1 : 0;
}

/* Unescape up to the closing quote (label values: \\ \" \n) or end of
 * line (help: \\ \n). */
static int read_escaped(const char **p, char *out, size_t n, int quoted)
{
    size_t i = 0;
    for (; **p && **p != '\n' && !(quoted && **p == '"'); (*p)++) {
        char c = **p;
        if (c == '\\') {
            c = *++(*p);
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && !(quoted && c == '"'))
                return -1;
        }
        if (i + 1 < n)
            out[i++] = c;
    }
    out[i] = '\0';
    if (quoted && **p != '"')
        return -1;
    if (quoted)
        (*p)++;
    return 0;
}

static family *fam_find(expo *e, const char *name)
{
    for (int i = 0; i < e->nfam; i++)
        if (strcmp(e->fam[i].name, name) == 0)
            return &e->fam[i];
    return NULL;
}

static int fail(expo *e, int line, const char *why)
{
    snprintf(e->err, sizeof e->err, "line %d: %s", line, why);
    return -1;
}

static int parse_comment(expo *e, const char *p, int line)
{
    char name[128], kw[8];
    family *f;
    if (strncmp(p, "# HELP ", 7) != 0 && strncmp(p, "# TYPE ", 7) != 0)
        return 0;                                   /* a plain comment */
    memcpy(kw, p + 2, 4);
    kw[4] = '\0';
    p += 7;
    if (read_name(&p, name, sizeof name, 1) < 0 || *p != ' ')
        return fail(e, line, "bad name in HELP/TYPE");
    p++;
    if (!(f = fam_find(e, name))) {
        if (e->nfam == MAX_FAM)
            return fail(e, line, "too many families");
        f = &e->fam[e->nfam++];
        snprintf(f->name, sizeof f->name, "%s", name);
    }
    if (f->samples)
        return fail(e, line, "HELP/TYPE after the family's samples");
    if (strcmp(kw, "HELP") == 0) {
        if (f->help[0])
            return fail(e, line, "second HELP");
        return read_escaped(&p, f->help, sizeof f->help, 0) < 0 ? fail(e, line, "bad escape in HELP") : 0;
    }
    if (f->type[0])
        return fail(e, line, "second TYPE");
    snprintf(f->type, sizeof f->type, "%.*s", (int)strcspn(p, "\n"), p);
    if (strcmp(f->type, "counter") && strcmp(f->type, "gauge") && strcmp(f->type, "histogram") &&
        strcmp(f->type, "summary") && strcmp(f->type, "untyped"))
        return fail(e, line, "unknown TYPE");
    return 0;
}

static int parse_labels(expo *e, const char **p, sample *s, int line)
{
    (*p)++;                                         /* '{' */
    while (**p != '}') {
        if (s->nlabels == MAX_L || read_name(p, s->lname[s->nlabels], 64, 0) < 0 || **p != '=' ||
            *++(*p) != '"')
            return fail(e, line, "bad label");
        (*p)++;
        if (read_escaped(p, s->lval[s->nlabels], 256, 1) < 0)
            return fail(e, line, "bad label value");
        for (int i = 0; i < s->nlabels; i++)
            if (strcmp(s->lname[i], s->lname[s->nlabels]) == 0)
                return fail(e, line, "label repeated");
        s->nlabels++;
        if (**p == ',')
            (*p)++;
        else if (**p != '}')
            return fail(e, line, "expected , or }");
    }
    (*p)++;
    return 0;
}

static int same_series(const sample *a, const sample *b)
{
    if (strcmp(a->name, b->name) != 0 || a->nlabels != b->nlabels)
        return 0;
    for (int i = 0; i < a->nlabels; i++)
        if (strcmp(a->lname[i], b->lname[i]) || strcmp(a->lval[i], b->lval[i]))
            return 0;
    return 1;
}

static int parse_sample(expo *e, const char *p, int line, const char **last_family)
{
    sample *s;
    family *f;
    char *end;
    if (e->ns == MAX_SAMPLES)
        return fail(e, line, "too many samples");
    s = &e->s[e->ns];
    memset(s, 0, sizeof *s);
    if (read_name(&p, s->name, sizeof s->name, 1) < 0)
        return fail(e, line, "bad metric name");
    if (*p == '{' && parse_labels(e, &p, s, line) < 0)
        return -1;
    if (*p++ != ' ')
        return fail(e, line, "no space before the value");
    s->value = strtod(p, &end);
    if (end == p || (*end != '\n' && *end != ' '))
        return fail(e, line, "bad value");
    if (!(f = fam_find(e, s->name)) || !f->type[0])
        return fail(e, line, "sample without a TYPE");
    if (*last_family && strcmp(*last_family, f->name) != 0 && f->samples)
        return fail(e, line, "family's samples not together");
    if (strcmp(f->type, "counter") == 0 && (s->value < 0 || strlen(s->name) < 6 ||
                                            strcmp(s->name + strlen(s->name) - 6, "_total") != 0))
        return fail(e, line, "counter not _total or negative");
    for (int i = 0; i < e->ns; i++)
        if (same_series(&e->s[i], s))
            return fail(e, line, "duplicate series");
    f->samples++;
    *last_family = f->name;
    e->ns++;
    return 0;
}

static int parse_expo(expo *e, const char *text)
{
    const char *last_family = NULL;
    int line = 1;
    memset(e->fam, 0, sizeof e->fam);
    e->nfam = e->ns = 0;
    e->err[0] = '\0';
    if (!text || (*text && text[strlen(text) - 1] != '\n'))
        return fail(e, 0, "no text, or no final newline");
    for (const char *p = text; *p; p += strcspn(p, "\n") + 1, line++) {
        if (*p == '\n')
            continue;
        if (*p == '#' ? parse_comment(e, p, line) < 0 : parse_sample(e, p, line, &last_family) < 0)
            return -1;
    }
    return 0;
}

/* The value of name{labels...} ("k=v" pairs), or NAN. */
static double value_of(const expo *e, const char *name, const char *k1, const char *v1)
{
    for (int i = 0; i < e->ns; i++) {
        const sample *s = &e->s[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (!k1)
            return s->value;
        for (int j = 0; j < s->nlabels; j++)
            if (strcmp(s->lname[j], k1) == 0 && strcmp(s->lval[j], v1) == 0)
                return s->value;
    }
    return NAN;
}

static expo E;

static int render_parse(kg_metrics *r)
{
    char *t = metrics_render(r);
    int rc = parse_expo(&E, t);
    if (rc < 0)
        printf("# parse error: %s\n", E.err);
    free(t);
    return rc;
}

/* ---- the parser itself can fail ------------------------------------------- */

static void test_parser(void)
{
    is_int(parse_expo(&E, "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v\"} 1\n"), 0,
           "the parser takes a valid family");
    ok(parse_expo(&E, "a 1\n") < 0, "parser: a sample without TYPE is refused");
    ok(parse_expo(&E, "# TYPE a counter\na 1\n") < 0, "parser: a counter without _total is refused");
    ok(parse_expo(&E, "# TYPE a gauge\na{l=\"x\\q\"} 1\n") < 0, "parser: an unknown escape is refused");
    ok(parse_expo(&E, "# TYPE a gauge\na{l=\"x\"} 1\na{l=\"x\"} 2\n") < 0, "parser: a duplicate series is refused");
    ok(parse_expo(&E, "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 2\n") < 0,
       "parser: a family split in two is refused");
    ok(parse_expo(&E, "# TYPE a gauge\na one\n") < 0, "parser: a value that is not a number is refused");
    ok(parse_expo(&E, "# TYPE a gauge\na 1") < 0, "parser: text without a final newline is refused");
}

/* ---- naming rules ------------------------------------------------------------ */

static void test_names(void)
{
    kg_metrics *r = metrics_new();
    ok(r != NULL, "a registry");
    ok(metrics_counter(r, "kguard_things_total", "Things.", "kind") != NULL, "a counter named _total");
    ok(metrics_counter(r, "kguard_things", "Things.", NULL) == NULL, "a counter without _total is refused");
    ok(metrics_gauge(r, "kguard_level_total", "Level.", NULL) == NULL, "a gauge ending in _total is refused");
    ok(metrics_counter(r, "kguard_things_total", "Again.", NULL) == NULL, "a name registered twice is refused");
    ok(metrics_gauge(r, "9lives", "Bad.", NULL) == NULL, "a name starting with a digit is refused");
    ok(metrics_gauge(r, "kguard-dash", "Bad.", NULL) == NULL, "a name with '-' is refused");
    ok(metrics_gauge(r, "kguard_g", "Bad.", "__reserved") == NULL, "a label starting with __ is refused");
    ok(metrics_gauge(r, "kguard_g", "Bad.", "a:b") == NULL, "a label with ':' is refused");
    ok(metrics_gauge(r, "kguard_g", "Bad.", "a,b,c,d,e") == NULL, "five labels are refused");
    ok(metrics_gauge(r, "kguard_g", "Good.", "a,b,c,d") != NULL, "four labels are fine");
    ok(metrics_find(r, "kguard_g") != NULL && metrics_find(r, "kguard_h") == NULL, "metrics_find");
    metrics_free(r);
}

/* ---- values and the rendering ------------------------------------------------- */

static void test_values(void)
{
    kg_metrics *r = metrics_new();
    kg_metric *c = metrics_counter(r, "kguard_x_total", "Help with a \\ and a\nnewline.", "kind,cluster");
    kg_metric *g = metrics_gauge(r, "kguard_y", "A gauge.", "state");
    kg_series *s;
    char *t;

    metrics_inc(c, 2, "a", "prod");
    metrics_inc(c, 3, "a", "prod");
    metrics_inc(c, -7, "a", "prod");                 /* ignored: counters only go up */
    metrics_put(c, 100, "a", "prod");                /* ignored: not a gauge */
    metrics_inc(c, 1, "quote\"back\\slash\nnl", "prod");
    metrics_put(g, -1.5, "neg");
    metrics_put(g, NAN, "nan");
    metrics_put(g, INFINITY, "inf");
    metrics_put(g, 0.1, "frac");
    s = metrics_series(g, (const char *const[]){"neg"});
    metrics_add(s, 0.5);                             /* gauges go down and up */

    is_int(render_parse(r), 0, "the rendering parses");
    t = metrics_render(r);
    ok(t && strstr(t, "# HELP kguard_x_total Help with a \\\\ and a\\nnewline.\n"), "HELP escapes \\ and newline");
    ok(t && strstr(t, "kguard_x_total{kind=\"quote\\\"back\\\\slash\\nnl\",cluster=\"prod\"} 1\n"),
       "label values escape quote, backslash and newline");
    free(t);
    is_int((long long)value_of(&E, "kguard_x_total", "kind", "a"), 5, "2 + 3, the negative ignored");
    is_int((long long)value_of(&E, "kguard_x_total", "kind", "quote\"back\\slash\nnl"), 1,
           "an escaped label value reads back unchanged");
    ok(value_of(&E, "kguard_y", "state", "neg") == -1.0, "a gauge at -1.5 + 0.5");
    ok(isnan(value_of(&E, "kguard_y", "state", "nan")), "NaN renders as NaN");
    ok(isinf(value_of(&E, "kguard_y", "state", "inf")), "+Inf renders as +Inf");
    ok(value_of(&E, "kguard_y", "state", "frac") == 0.1, "0.1 survives the round trip");
    is_str(fam_find(&E, "kguard_x_total")->type, "counter", "TYPE counter");
    is_str(fam_find(&E, "kguard_y")->type, "gauge", "TYPE gauge");
    ok(metrics_series(c, (const char *const[]){"a", "prod"}) ==
       metrics_series(c, (const char *const[]){"a", "prod"}), "one series per label set, stable");
    metrics_free(r);
}

static void test_cap(void)
{
    kg_metrics *r = metrics_new();
    kg_metric *c = metrics_counter(r, "kguard_many_total", "Many.", "id");
    char id[32];
    int made = 0;
    for (int i = 0; i < KG_METRIC_MAX_SERIES + 10; i++) {
        snprintf(id, sizeof id, "%d", i);
        made += metrics_series(c, (const char *const[]){id}) != NULL;
    }
    is_int(made, KG_METRIC_MAX_SERIES, "a family holds at most KG_METRIC_MAX_SERIES label sets");
    metrics_inc(c, 1, "0");
    is_int(render_parse(r), 0, "a full registry renders");
    is_int((long long)value_of(&E, "kguard_metrics_series_dropped_total", NULL, NULL), 10,
           "the label sets beyond the cap are counted as dropped");
    is_int((long long)value_of(&E, "kguard_many_total", "id", "0"), 1, "existing series still count");
    metrics_free(r);
}

/* ---- threads -------------------------------------------------------------------- */

enum { THREADS = 4, ROUNDS = 50000 };

typedef struct worker {
    kg_metrics *r;
    kg_metric *c;
    int id;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    static const char *const codes[] = {"200", "400", "429", "503"};
    for (int i = 0; i < ROUNDS; i++) {
        metrics_inc(w->c, 1, codes[i % 4]);
        metrics_inc(w->c, 0.5, codes[(i + w->id) % 4]);
        if (i % 10000 == 0)
            free(metrics_render(w->r));             /* render while others count */
    }
    return NULL;
}

static void test_threads(void)
{
    kg_metrics *r = metrics_new();
    kg_metric *c = metrics_counter(r, "kguard_webhook_test_total", "Requests.", "code");
    pthread_t th[THREADS];
    worker w[THREADS];
    double total = 0;
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){r, c, i};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    is_int(render_parse(r), 0, "renders after concurrent updates");
    for (int i = 0; i < E.ns; i++)
        if (strcmp(E.s[i].name, "kguard_webhook_test_total") == 0)
            total += E.s[i].value;
    ok(total == THREADS * ROUNDS * 1.5, "no increment lost across %d threads (%.1f)", THREADS, total);
    is_int((long long)value_of(&E, "kguard_webhook_test_total", "code", "429"),
           (long long)(THREADS * ROUNDS / 4 * 1.5), "each code counted exactly");
    metrics_free(r);
}

/* ---- kguard's metric set ------------------------------------------------------------- */

static void test_std(void)
{
    static const char *const want[][2] = {
        {"kguard_build_info", "gauge"}, {"kguard_start_time_seconds", "gauge"},
        {"kguard_events_read_total", "counter"}, {"kguard_events_judged_total", "counter"},
        {"kguard_events_skipped_total", "counter"}, {"kguard_events_malformed_total", "counter"},
        {"kguard_findings_new_total", "counter"}, {"kguard_findings_updated_total", "counter"},
        {"kguard_findings_archived_total", "counter"}, {"kguard_rule_matches_total", "counter"},
        {"kguard_rule_errors_total", "counter"}, {"kguard_rule_lua_seconds_total", "counter"},
        {"kguard_rules_loaded", "gauge"}, {"kguard_rules_disabled", "gauge"},
        {"kguard_queue_depth", "gauge"}, {"kguard_queue_bytes", "gauge"},
        {"kguard_queue_rejected_total", "counter"}, {"kguard_webhook_requests_total", "counter"},
        {"kguard_sink_deliveries_total", "counter"}, {"kguard_sink_failures_total", "counter"},
        {"kguard_sink_spooled_total", "counter"}, {"kguard_sink_spool_bytes", "gauge"},
        {"kguard_sink_lost_total", "counter"}, {"kguard_sink_pending_lines", "gauge"},
        {"kguard_webhook_connections_closed_total", "counter"},
        {"kguard_reloads_total", "counter"}, {"kguard_reload_last_success_timestamp_seconds", "gauge"},
        {"kguard_list_entries", "gauge"}, {"kguard_state_entries", "gauge"},
        {"kguard_state_evictions_total", "counter"},
    };
    kg_metrics *r = metrics_new();
    kg_std_metrics m;
    int found = 0;
    double now = (double)time(NULL);

    is_int(metrics_register_std(r, &m, "0.2.0", "Lua 5.4"), 0, "kguard's metrics register");
    is_int(metrics_register_std(r, &m, "0.2.0", "Lua 5.4"), -1, "not twice in one registry");
    metrics_inc(m.events_read, 64, "file", "demo");
    metrics_inc(m.findings_new, 1, "Discovery:Kubernetes/TorIPCaller", "Medium");
    metrics_inc(m.rule_lua_seconds, 0.00125, "Discovery:Kubernetes/TorIPCaller");
    metrics_inc(m.webhook_requests, 1, "429", "/k8s-audit");
    metrics_put(m.rules_disabled, 1, "failures");
    metrics_inc(m.sink_lost, 2, "/var/log/kguard/findings.jsonl", "file");
    metrics_inc(m.reloads, 1, "ok");
    metrics_put(m.list_entries, 1200, "TorExitNodes");
    is_int(render_parse(r), 0, "the full set renders and parses");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        family *f = fam_find(&E, want[i][0]);
        found += f && strcmp(f->type, want[i][1]) == 0 && f->help[0];
        if (!f)
            printf("# missing %s\n", want[i][0]);
    }
    is_int(found, (int)(sizeof want / sizeof want[0]), "every metric the issue asks for, typed, with HELP");
    ok(value_of(&E, "kguard_build_info", "version", "0.2.0") == 1, "build_info{version} 1");
    ok(fabs(value_of(&E, "kguard_start_time_seconds", NULL, NULL) - now) < 5, "start time is now");
    is_int((long long)value_of(&E, "kguard_events_read_total", "cluster", "demo"), 64, "events read by cluster");
    ok(value_of(&E, "kguard_rule_lua_seconds_total", "rule", "Discovery:Kubernetes/TorIPCaller") == 0.00125,
       "seconds keep their fraction");
    ok(value_of(&E, "kguard_webhook_requests_total", "path", "/k8s-audit") == 1,
       "webhook requests by code and path");
    ok(value_of(&E, "kguard_rules_disabled", "reason", "failures") == 1, "rules disabled by reason");
    ok(value_of(&E, "kguard_sink_lost_total", "kind", "file") == 2, "sink lines lost by sink and kind");
    metrics_free(r);
}

/* ---- the example dashboard ------------------------------------------------------- */

/* Each kguard_* name in expr: registered in r; marks it in seen. */
static int check_expr(kg_metrics *r, const char *expr, char seen[][96], int *nseen)
{
    int unknown = 0;
    for (const char *p = strstr(expr, "kguard_"); p; p = strstr(p, "kguard_")) {
        char name[96];
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        p += n;
        if (!metrics_find(r, name)) {
            printf("# the dashboard uses %s, which kguard does not register\n", name);
            unknown++;
        } else if (*nseen < 64) {
            snprintf(seen[(*nseen)++], 96, "%s", name);
        }
    }
    return unknown;
}

static void test_dashboard(void)
{
    const char *root = getenv("KGUARD_ROOT");
    char path[4096], seen[64][96];
    int nseen = 0, unknown = 0, exprs = 0, unused = 0, err = 0;
    size_t len;
    char *text;
    cJSON *d, *panel, *target;
    kg_metrics *r = metrics_new();
    kg_std_metrics m;

    metrics_register_std(r, &m, "0.2.0", "Lua 5.4");
    snprintf(path, sizeof path, "%s/examples/grafana/kguard-dashboard.json", root ? root : ".");
    text = util_read_file(path, 1 << 20, &len, &err);
    d = text ? cJSON_Parse(text) : NULL;
    ok(d != NULL, "the example dashboard is JSON (%s)", path);
    cJSON_ArrayForEach(panel, cJSON_GetObjectItemCaseSensitive(d, "panels"))
        cJSON_ArrayForEach(target, cJSON_GetObjectItemCaseSensitive(panel, "targets")) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(target, "expr");
            exprs++;
            unknown += cJSON_IsString(e) ? check_expr(r, e->valuestring, seen, &nseen) : 1;
        }
    ok(exprs >= 17, "the dashboard has queries (%d)", exprs);
    is_int(unknown, 0, "every metric the dashboard queries is registered");
    for (kg_metric **f = (kg_metric **)&m; f < (kg_metric **)(&m + 1); f++) {
        int used = 0;
        for (int i = 0; i < nseen && !used; i++)
            used = metrics_find(r, seen[i]) == *f;
        unused += !used;
    }
    is_int(unused, 0, "every metric of kguard's set is on the dashboard");
    cJSON_Delete(d);
    free(text);
    metrics_free(r);
}

int main(void)
{
    E.s = calloc(MAX_SAMPLES, sizeof(sample));
    test_parser();
    test_names();
    test_values();
    test_cap();
    test_threads();
    test_std();
    test_dashboard();
    free(E.s);
    return done_testing();
}
