/*
 * cmd_test: `kguard test` runs rule fixtures — audit events with the
 * finding types they must and must not give — through a fresh engine each
 * and prints TAP, so users test their own detections the way the shipped
 * rules are tested.  Fixture format: tests/fixtures/README.md.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "commands.h"
#include "util.h"

typedef struct paths {
    char **v;
    size_t n;
} paths;

static paths *collecting;   /* nftw has no user pointer */

static int collect_json(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t n = strlen(path);
    char **nv;
    (void)st;
    (void)ftw;
    if (type != FTW_F || n < 5 || strcmp(path + n - 5, ".json") != 0)
        return 0;
    if (!(nv = realloc(collecting->v, (collecting->n + 1) * sizeof *nv)))
        return -1;
    collecting->v = nv;
    collecting->v[collecting->n++] = strdup(path);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- one fixture ------------------------------------------------------ */

typedef struct result {
    char why[2048];
    size_t len;
} result;

static void fail(result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(result *r, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (r->len >= sizeof r->why - 2)
        return;
    va_start(ap, fmt);
    n = vsnprintf(r->why + r->len, sizeof r->why - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len = r->len + (size_t)n < sizeof r->why ? r->len + (size_t)n : sizeof r->why - 1;
}

/* The fixture's list overrides on top of the command line's. */
static int fixture_cli(const kg_cli *base, const cJSON *fx, kg_cli *c, result *r)
{
    const cJSON *lists = cJSON_GetObjectItemCaseSensitive(fx, "lists"), *it;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(fx, "config");
    static const struct { const char *key; kg_list_kind kind; } singles[] = {
        {"tor_exits", KG_LIST_TOR}, {"malicious_ips", KG_LIST_MALICIOUS},
        {"trusted_ips", KG_LIST_TRUSTED},
    };
    *c = *base;
    if (cJSON_IsString(config))
        c->config_path = config->valuestring;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fx, "literal_lists")))
        c->literal_lists = true;
    if (!lists)
        return 0;
    for (size_t k = 0; k < 3; k++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(lists, singles[k].key);
        size_t i;
        if (!cJSON_IsString(p))
            continue;
        for (i = 0; i < c->n_lists && c->lists[i].kind != singles[k].kind; i++)
            ;
        if (i == c->n_lists && c->n_lists < CLI_MAX_LISTS)
            c->n_lists++;
        c->lists[i] = (cli_list){singles[k].kind, NULL, 0, p->valuestring};
    }
    cJSON_ArrayForEach(it, lists) {
        if (strcmp(it->string, "tor_exits") != 0 && strcmp(it->string, "malicious_ips") != 0 &&
            strcmp(it->string, "trusted_ips") != 0 && strcmp(it->string, "threat_lists") != 0) {
            fail(r, "unknown list \"%s\" (tor_exits, malicious_ips, trusted_ips, threat_lists); ",
                 it->string);
            return -1;
        }
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(lists, "threat_lists")) {
        if (!cJSON_IsString(it) || c->n_lists == CLI_MAX_LISTS) {
            fail(r, "lists.threat_lists must map names to files; ");
            return -1;
        }
        c->lists[c->n_lists++] = (cli_list){KG_LIST_CUSTOM, it->string, strlen(it->string),
                                            it->valuestring};
    }
    return 0;
}

/* Feed the events as the fixture's format says. */
static void feed(kg_engine *eng, const cJSON *fx, const char *file)
{
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(fx, "events"), *ev;
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(fx, "format");
    const char *fmt = cJSON_IsString(format) ? format->valuestring : "jsonl";
    long line = 0;
    char *text;

    if (strcmp(fmt, "jsonl") != 0) {
        cJSON *doc = cJSON_Duplicate(events, 1);
        if (strcmp(fmt, "eventlist") == 0) {
            cJSON *list = cJSON_CreateObject();
            cJSON_AddStringToObject(list, "kind", "EventList");
            cJSON_AddStringToObject(list, "apiVersion", "audit.k8s.io/v1");
            cJSON_AddItemToObject(list, "items", doc);
            doc = list;
        }
        text = cJSON_PrintUnformatted(doc);
        if (text)
            engine_feed(eng, text, strlen(text), file, 1);
        cJSON_free(text);
        cJSON_Delete(doc);
        return;
    }
    cJSON_ArrayForEach(ev, events) {
        text = cJSON_PrintUnformatted(ev);
        if (text)
            engine_feed(eng, text, strlen(text), file, ++line);
        cJSON_free(text);
    }
}

/* The last line per finding id, in order of first appearance. */
static cJSON *final_findings(char *out)
{
    cJSON *byid = cJSON_CreateObject(), *list = cJSON_CreateArray(), *it;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *f = cJSON_Parse(line);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(f, "id");
        if (!cJSON_IsString(id)) {
            cJSON_Delete(f);
            continue;
        }
        if (cJSON_GetObjectItemCaseSensitive(byid, id->valuestring))
            cJSON_ReplaceItemInObjectCaseSensitive(byid, id->valuestring, f);
        else
            cJSON_AddItemToObject(byid, id->valuestring, f);
    }
    cJSON_ArrayForEach(it, byid)
        cJSON_AddItemToArray(list, cJSON_Duplicate(it, 1));
    cJSON_Delete(byid);
    return list;
}

static const char *ftype(const cJSON *f)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}

static bool is_archived(const cJSON *f)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(f, "service"), "archived"));
}

static double occurrences(const cJSON *found, const char *type)
{
    const cJSON *f;
    double n = 0;
    cJSON_ArrayForEach(f, found) {
        if (strcmp(ftype(f), type) == 0 && !is_archived(f))
            n += cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "service"),
                                                  "count")->valuedouble;
    }
    return n;
}

static bool in_strings(const cJSON *arr, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return true;
    return false;
}

/* A dotted path: objects by key, arrays by number from 0. */
static const cJSON *at_path(const cJSON *node, const char *path)
{
    char seg[128];
    while (node && *path) {
        size_t n = strcspn(path, ".");
        char *end;
        long idx;
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        idx = strtol(seg, &end, 10);
        node = cJSON_IsArray(node) && *end == '\0' ? cJSON_GetArrayItem(node, (int)idx)
             : cJSON_GetObjectItemCaseSensitive(node, seg);
        path += n + (path[n] == '.');
    }
    return node;
}

/* The asserts on the first finding of type. */
static void check_asserts(const cJSON *found, const cJSON *asserts, const char *type, result *r)
{
    const cJSON *f, *a;
    cJSON_ArrayForEach(f, found) {
        if (is_archived(f) || strcmp(ftype(f), type) != 0)
            continue;
        cJSON_ArrayForEach(a, asserts) {
            const cJSON *got = at_path(f, a->string);
            if (!got || !cJSON_Compare(got, a, 1)) {
                char *g = got ? cJSON_PrintUnformatted(got) : NULL, *w = cJSON_PrintUnformatted(a);
                fail(r, "%s: %s is %s, expected %s; ", ftype(f), a->string, g ? g : "absent",
                     w ? w : "?");
                cJSON_free(g);
                cJSON_free(w);
            }
        }
        return;
    }
}

static void check_types(const cJSON *fx, const cJSON *found, result *r)
{
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(fx, "expect");
    const cJSON *reject = cJSON_GetObjectItemCaseSensitive(fx, "reject");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(fx, "count"), *it, *f;
    cJSON_ArrayForEach(it, expect)
        if (cJSON_IsString(it) && occurrences(found, it->valuestring) == 0)
            fail(r, "expected %s, none; ", it->valuestring);
    cJSON_ArrayForEach(f, found) {
        if (!is_archived(f) && !in_strings(expect, ftype(f)))
            fail(r, "unexpected %s; ", ftype(f));
        if (!is_archived(f) && in_strings(reject, ftype(f)))
            fail(r, "rejected %s fired; ", ftype(f));
    }
    cJSON_ArrayForEach(it, count)
        if (cJSON_IsNumber(it) && occurrences(found, it->string) != it->valuedouble)
            fail(r, "%s occurred %g times, expected %g; ", it->string,
                 occurrences(found, it->string), it->valuedouble);
}

static void check_summary(const cJSON *fx, const kg_stats *st, result *r)
{
    const struct { const char *key; unsigned long long value; } known[] = {
        {"events", st->events}, {"judged", st->judged}, {"skipped", st->skipped},
        {"malformed", st->malformed}, {"findings", st->findings},
        {"rule_errors", st->rule_errors}, {"updates", st->updates},
        {"body_missing", st->body_missing}, {"archived", st->archived},
        {"switched_off", st->switched_off},
    };
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fx, "summary")) {
        size_t k;
        for (k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(it->string, known[k].key) == 0)
                break;
        if (k == sizeof known / sizeof known[0])
            fail(r, "summary has no counter %s; ", it->string);
        else if (!cJSON_IsNumber(it) || known[k].value != (unsigned long long)it->valuedouble)
            fail(r, "summary %s is %llu, expected %g; ", it->string, known[k].value,
                 it->valuedouble);
    }
}

/* Keys kguard test does not check (other harnesses' extensions, typos) are
 * named in a TAP comment, never silently ignored. */
static void note_keys(const cJSON *fx, const char *file)
{
    static const char *const keys[] = {"name", "description", "events", "expect", "reject",
                                       "count", "assert", "assert_type", "summary", "format",
                                       "lists", "literal_lists", "config", NULL};
    const cJSON *it;
    cJSON_ArrayForEach(it, fx) {
        const char *const *k;
        for (k = keys; *k && strcmp(*k, it->string) != 0; k++)
            ;
        if (!*k)
            printf("# %s: key \"%s\" is not checked by kguard test\n", file, it->string);
    }
}

static int run_fixture(const kg_cli *base, const char *file, const cJSON *fx, result *r)
{
    kg_cli c;
    kg_setup s = {0};
    kg_engine *eng = NULL;
    char *out = NULL, err[512];
    size_t outlen = 0;
    FILE *mem = NULL;
    cJSON *found = NULL, *it;

    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(fx, "events")) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(fx, "expect"))) {
        fail(r, "a fixture needs \"events\" and \"expect\" lists; ");
        return -1;
    }
    if (fixture_cli(base, fx, &c, r) < 0 || setup_load(&c, &s) < 0) {
        fail(r, "cannot set up (see above); ");
        setup_free(&s);
        return -1;
    }
    /* archived findings stay in view, marked */
    if (!(mem = open_memstream(&out, &outlen)) || !(s.sinks = sinks_new()) ||
        sinks_add(s.sinks, sink_file_stream(mem, "memory",
                                             KG_SINK_FINDINGS | KG_SINK_ARCHIVED)) < 0) {
        fail(r, "out of memory; ");
        goto cleanup;
    }
    s.eo.sinks = s.sinks;
    s.eo.state_path = NULL;
    if (!(eng = engine_new(&s.eo, &s.lists, &s.config, err, sizeof err))) {
        fail(r, "%s; ", err);
        goto cleanup;
    }
    feed(eng, fx, file);
    engine_finish(eng);
    fflush(mem);
    found = final_findings(out);
    note_keys(fx, file);
    check_types(fx, found, r);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fx, "expect"))
        if (cJSON_IsString(it))
            check_asserts(found, cJSON_GetObjectItemCaseSensitive(fx, "assert"), it->valuestring, r);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fx, "assert_type"))
        check_asserts(found, it, it->string, r);
    check_summary(fx, engine_stats(eng), r);
cleanup:
    cJSON_Delete(found);
    engine_free(eng);
    setup_free(&s);
    if (mem)
        fclose(mem);
    free(out);
    return r->len ? -1 : 0;
}

int cmd_test(const kg_cli *c)
{
    paths ps = {NULL, 0};
    int failed = 0;

    if (!c->nargs) {
        cli_warn("test needs fixture files or directories");
        return 2;
    }
    collecting = &ps;
    for (int i = 0; i < c->nargs; i++) {
        struct stat st;
        if (stat(c->args[i], &st) != 0) {
            cli_warn("cannot read %s: %s", c->args[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode))
            nftw(c->args[i], collect_json, 16, FTW_PHYS);
        else
            collect_json(c->args[i], &st, FTW_F, NULL);
    }
    qsort(ps.v, ps.n, sizeof *ps.v, cmp_str);
    printf("1..%zu\n", ps.n);
    for (size_t i = 0; i < ps.n; i++) {
        result r = {"", 0};
        size_t len;
        int err;
        char *text = util_read_file(ps.v[i], 64u << 20, &len, &err);
        cJSON *fx = text ? cJSON_Parse(text) : NULL;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fx, "name");
        if (!fx)
            fail(&r, "not a readable JSON fixture; ");
        else
            run_fixture(c, ps.v[i], fx, &r);
        printf("%sok %zu - %s%s%s\n", r.len ? "not " : "", i + 1, ps.v[i],
               cJSON_IsString(name) ? ": " : "", cJSON_IsString(name) ? name->valuestring : "");
        if (r.len)
            printf("#   %s\n", r.why);
        fflush(stdout);
        failed += r.len > 0;
        cJSON_Delete(fx);
        free(text);
        free(ps.v[i]);
    }
    free(ps.v);
    if (failed)
        printf("# %d of %zu fixtures failed\n", failed, ps.n);
    return failed ? 1 : 0;
}
