/* Unit tests for state_export: a cluster's share of the state tables, the
 * baselines and the aggregation entries travels alone, and comes back. */
#include <stdlib.h>
#include <string.h>
#include "kguard/aggregate.h"
#include "kguard/state.h"
#include "kguard/state_export.h"
#include "tap.h"

static void emit(void *ud, const char *line, bool archived)
{
    (void)line;
    (void)archived;
    (*(int *)ud)++;
}

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* In cluster scope: one image in the table, one baseline value, one finding. */
static void learn(kg_state *st, kg_agg *agg, const char *cluster, const char *image,
                  const char *id)
{
    char buf[KG_STATE_KEYBUF];
    size_t n = strlen(image);
    const char *k;
    kg_series_opts so = {0, 0, 0, 0};
    kg_series *b = state_series(st, "images", KG_SERIES_BASELINE, &so);
    kg_occurrence occ;
    bool was_new;
    state_set_scope(st, cluster);
    agg_set_scope(agg, cluster);
    k = state_key(st, image, &n, buf);
    table_add(state_table(st, "privileged_images", 0, 0), k, n, 1000);
    series_observe(b, k, n, "root", 4, 1000, &was_new);
    series_started(b, cluster, 1000);
    agg_record(agg, id, 1000, 1000, &occ);
}

static bool knows(kg_state *st, const char *cluster, const char *image)
{
    char buf[KG_STATE_KEYBUF];
    size_t n = strlen(image);
    const char *k;
    kg_series_opts so = {0, 0, 0, 0};
    state_set_scope(st, cluster);
    k = state_key(st, image, &n, buf);
    return table_has(state_table(st, "privileged_images", 0, 0), k, n, 2000) &&
           series_seen(state_series(st, "images", KG_SERIES_BASELINE, &so), k, n, "root", 4);
}

static void test_round_trip(void)
{
    int emitted = 0;
    kg_state *st = state_new(), *st2 = state_new();
    kg_agg *agg = agg_new(0, 0, emit, &emitted), *agg2 = agg_new(0, 0, emit, &emitted);
    char err[256] = "", *doc;
    size_t len = 0;
    kg_occurrence occ;

    learn(st, agg, "alpha", "busybox:1.36", ID_A);
    learn(st, agg, "beta", "nginx:1.25", ID_B);
    doc = state_export_cluster(st, agg, "alpha", &len);
    ok(doc && len == strlen(doc), "alpha exported (%zu bytes)", len);
    ok(doc && strstr(doc, "busybox") && !strstr(doc, "nginx") && !strstr(doc, ID_B),
       "the document holds alpha's keys and finding, none of beta's");
    ok(state_export_cluster(st, agg, "", &len) == NULL, "the default cluster is not exported");

    is_int(state_import_cluster(st2, agg2, "alpha", doc, len, err, sizeof err), 0, "imported");
    ok(knows(st2, "alpha", "busybox:1.36"), "the new owner knows alpha's image (table and baseline)");
    ok(!knows(st2, "beta", "nginx:1.25"), "and nothing of beta");
    is_int(agg_record(agg2, ID_A, 1500, 1500, &occ), 0, "alpha's finding is a repeat there");
    is_int((int)occ.count, 2, "counted on from the previous owner's count");
    is_int(state_import_cluster(st2, agg2, "beta", doc, len, err, sizeof err), -1,
           "alpha's document is refused for beta");
    is_str(err, "the state of another cluster", "with the reason");

    state_drop_cluster(st, agg, "alpha");
    ok(!knows(st, "alpha", "busybox:1.36"), "dropped: alpha forgotten by the old owner");
    ok(knows(st, "beta", "nginx:1.25"), "beta kept");
    is_int((int)agg_size(agg), 1, "one finding left (beta's)");
    free(doc);
    state_free(st);
    state_free(st2);
    agg_free(agg);
    agg_free(agg2);
}

static void test_bad_docs(void)
{
    int emitted = 0;
    kg_state *st = state_new();
    kg_agg *agg = agg_new(0, 0, emit, &emitted);
    char err[256];
    /* a document for alpha that carries a key of beta: only alpha's part comes in */
    const char *smuggled =
        "{\"format\":\"kguard-cluster-state\",\"version\":1,\"cluster\":\"alpha\",\"tables\":"
        "[{\"name\":\"privileged_images\",\"max_entries\":0,\"ttl_ms\":0,\"entries\":"
        "[[\"alpha\\u001fbusybox:1.36\",1,1000],[\"beta\\u001fevil:1\",1,1000]]}],\"findings\":[]}";
    const struct { const char *doc, *why; } bad[] = {
        {"not json", "not a JSON object"},
        {"{\"format\":\"kguard-state\",\"version\":1}", "not a kguard cluster state"},
        {"{\"format\":\"kguard-cluster-state\",\"version\":9,\"cluster\":\"alpha\"}",
         "a cluster state of another format version"},
        {"{\"format\":\"kguard-cluster-state\",\"version\":1,\"cluster\":\"alpha\",\"tables\":7,"
         "\"findings\":[]}", "the state tables are not a list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        is_int(state_import_cluster(st, agg, "alpha", bad[i].doc, strlen(bad[i].doc), err,
                                    sizeof err), -1, bad[i].why);
        is_str(err, bad[i].why, "message");
    }
    is_int(state_import_cluster(st, agg, "alpha", smuggled, strlen(smuggled), err, sizeof err), 0,
           "a document with another cluster's key loads");
    state_set_scope(st, NULL);
    ok(table_has(state_table(st, "privileged_images", 0, 0), "alpha\x1f" "busybox:1.36", 18, 2000),
       "alpha's key came in");
    ok(!table_has(state_table(st, "privileged_images", 0, 0), "beta\x1f" "evil:1", 11, 2000),
       "beta's key did not");
    state_free(st);
    agg_free(agg);
}

int main(void)
{
    test_round_trip();
    test_bad_docs();
    return done_testing();
}
