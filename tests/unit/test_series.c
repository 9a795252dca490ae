/* Unit tests for the state's clock and series (windows, baselines), their
 * bounds and their round trip through state_to_json/state_from_json. */
#include <stdlib.h>
#include <string.h>
#include "kguard/state.h"
#include "tap.h"

#define MIN 60000LL
#define DAY (86400LL * 1000)
#define T0 1764590400000LL   /* 2025-12-01T12:00:00Z */

static void test_clock(void)
{
    kg_state *st = state_new();
    long long wall = state_now(st);
    ok(wall > T0, "before any event time the clock is wall time");
    state_clock_event(st, T0);
    is_int(state_now(st), T0, "scanning: the clock is the event time");
    state_clock_event(st, T0 - 5000);
    is_int(state_now(st), T0, "an older event does not move the clock back");
    state_clock_event(st, -1);
    is_int(state_now(st), T0, "an event without a time does not move it");
    state_clock_event(st, T0 + 1000);
    is_int(state_now(st), T0 + 1000, "a newer event moves it forward");
    state_clock_live(st, true);
    ok(state_now(st) >= wall, "live: wall time whatever the events say");
    state_free(st);
}

static int add(kg_series *w, const char *k, const char *v, long long now,
               unsigned long *count, size_t *distinct)
{
    return series_add(w, k, strlen(k), v, v ? strlen(v) : 0, now, count, distinct);
}

static void test_window(void)
{
    kg_state *st = state_new();
    kg_series_opts o = {5 * MIN, 0, 0, 0};
    kg_series *w = state_series(st, "secret_reads", KG_SERIES_WINDOW, &o);
    unsigned long count = 0;
    size_t distinct = 0;
    char v[32];

    ok(w != NULL, "window created");
    for (int i = 0; i < 25; i++) {
        snprintf(v, sizeof v, "secret-%d", i % 20);
        add(w, "alice", v, T0 + i * 1000, &count, &distinct);
    }
    is_int(count, 25, "25 reads counted");
    is_int(distinct, 20, "20 distinct secrets");
    add(w, "bob", "x", T0 + 30000, &count, &distinct);
    is_int(count, 1, "keys are counted apart");
    is_int(series_count(w, "alice", 5, T0 + 4 * MIN), 25, "still in the span after 4 minutes");
    is_int(series_count(w, "alice", 5, T0 + 6 * MIN), 0, "out of the span after 6 minutes");
    is_int(series_distinct(w, "alice", 5, T0 + 6 * MIN), 0, "distinct values expire with the span");
    add(w, "alice", "secret-0", T0 + 7 * MIN, &count, &distinct);
    ok(count == 1 && distinct == 1, "a new span starts from nothing");
    ok(state_series(st, "secret_reads", KG_SERIES_WINDOW, &o) == w, "same name, same window");
    state_free(st);
}

static void test_window_bounds(void)
{
    kg_state *st = state_new();
    kg_series_opts o = {5 * MIN, 0, 3, 4};
    kg_series *w = state_series(st, "bounded", KG_SERIES_WINDOW, &o);
    unsigned long count;
    size_t distinct;
    char v[32];
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof v, "v%d", i);
        add(w, "k", v, T0 + i, &count, &distinct);
    }
    is_int(distinct, 4, "distinct stops at max_values");
    is_int(count, 10, "the count is not capped");
    is_int(state_evictions(st), 6, "each dropped value is an eviction");
    for (int i = 0; i < 5; i++) {
        snprintf(v, sizeof v, "key%d", i);
        add(w, v, NULL, T0 + 100 + i, &count, &distinct);
    }
    is_int(series_values(w, "k", 1, T0 + 200, NULL, NULL), 0, "the oldest key was evicted");
    is_int(series_count(w, "key4", 4, T0 + 200), 1, "the newest key stays");
    is_int(state_evictions(st), 9, "key evictions counted too");
    state_free(st);
}

static void test_baseline(void)
{
    kg_state *st = state_new();
    kg_series_opts o = {0, 7 * DAY, 0, 0};
    kg_series *b = state_series(st, "exec", KG_SERIES_BASELINE, &o);
    bool was_new;

    is_int(series_started(b, "", T0), T0, "learning starts at the first event");
    is_int(series_started(b, "", T0 + DAY), T0, "and stays there");
    is_int(series_started(b, "prod", T0 + DAY), T0 + DAY, "each cluster learns on its own");
    series_observe(b, "alice", 5, "dev", 3, T0, &was_new);
    ok(was_new, "a first value is new");
    series_observe(b, "alice", 5, "dev", 3, T0 + 8 * DAY, &was_new);
    ok(!was_new, "a repeat is not, even much later");
    ok(!series_seen(b, "alice", 5, "prod", 4), "seen: an unseen value");
    series_observe(b, "alice", 5, "prod", 4, T0 + 8 * DAY, &was_new);
    ok(was_new && series_seen(b, "alice", 5, "prod", 4), "recorded when observed");
    state_free(st);
}

static void test_round_trip(void)
{
    kg_state *st = state_new(), *back = state_new();
    kg_series_opts wo = {5 * MIN, 0, 0, 0}, bo = {0, 7 * DAY, 0, 0};
    kg_series *w = state_series(st, "w", KG_SERIES_WINDOW, &wo);
    kg_series *b = state_series(st, "b", KG_SERIES_BASELINE, &bo);
    unsigned long count;
    size_t distinct;
    bool was_new;
    char err[256] = "";
    cJSON *j;

    add(w, "alice", "s1", T0, &count, &distinct);
    add(w, "alice", "s2", T0 + 1000, &count, &distinct);
    series_started(b, "", T0 - DAY);
    series_observe(b, "alice", 5, "dev", 3, T0, &was_new);
    j = state_to_json(st);
    ok(state_from_json(back, j, err, sizeof err) == 0, "series load back (%s)", err);
    w = state_series(back, "w", KG_SERIES_WINDOW, &wo);
    b = state_series(back, "b", KG_SERIES_BASELINE, &bo);
    is_int(series_count(w, "alice", 5, T0 + 2000), 2, "window count kept");
    is_int(series_distinct(w, "alice", 5, T0 + 2000), 2, "window values kept");
    ok(series_seen(b, "alice", 5, "dev", 3), "baseline values kept");
    is_int(series_started(b, "", T0 + DAY), T0 - DAY, "learning start kept");
    cJSON_Delete(j);

    j = cJSON_Parse("[{\"kind\":\"window\",\"name\":\"x\",\"span_ms\":1000,\"learn_ms\":0,"
                    "\"max_keys\":1,\"max_values\":1,\"starts\":[],\"keys\":[[1]]}]");
    ok(state_from_json(back, j, err, sizeof err) < 0 && strstr(err, "series x"),
       "a malformed series entry is an error naming it (%s)", err);
    cJSON_Delete(j);
    j = cJSON_Parse("[{\"kind\":\"histogram\",\"name\":\"x\"}]");
    ok(state_from_json(back, j, err, sizeof err) < 0 && strstr(err, "malformed"),
       "an unknown kind is an error");
    cJSON_Delete(j);
    state_free(st);
    state_free(back);
}

static void test_scope(void)
{
    kg_state *st = state_new();
    char buf[KG_STATE_KEYBUF];
    size_t n = 5;
    const char *k = state_key(st, "alice", &n, buf);
    ok(n == 5 && memcmp(k, "alice", 5) == 0, "default cluster: the key as given");
    state_set_scope(st, "prod");
    n = 5;
    k = state_key(st, "alice", &n, buf);
    ok(n == 10 && memcmp(k, "prod\x1f" "alice", 10) == 0, "a named cluster: <cluster>\\x1f<key>");
    state_clock_event(st, T0);
    ok(state_signal(st, "alice", "Execution:Kubernetes/ExecInKubeSystemPod") == 0, "a signal is recorded");
    {
        kg_series_opts o = {KG_SIGNALS_SPAN_MS, 0, 0, KG_SIGNALS_MAX_VALUES};
        kg_series *w = state_series(st, KG_SIGNALS_WINDOW, KG_SERIES_WINDOW, &o);
        is_int(series_distinct(w, "prod\x1f" "alice", 10, T0), 1, "under the cluster's key");
        is_int(series_distinct(w, "alice", 5, T0), 0, "not under the default cluster's");
        is_int(series_distinct(w, "prod\x1f" "alice", 10, T0 + DAY), 0, "gone after 24 hours");
    }
    state_free(st);
}

/* Series bytes count in the state's caps like a table's: each series stops
 * at the per-table cap (its own old keys go), all of them together with the
 * tables at the total (then new keys and values are refused, counted), and
 * expired or evicted values give their bytes back. */
static void test_byte_caps(void)
{
    kg_state *st = state_new();
    kg_state_limits lim = {0, 64 << 10, 256 << 10};
    kg_series_opts wo = {5 * MIN, 0, 1000000, 4096}, bo = {0, 0, 1000000, 4096};
    kg_series *w, *b, *b2;
    char key[40], val[1001];
    unsigned long count;
    size_t distinct, before;
    int refused = 0;
    bool was_new;

    state_set_limits(st, &lim);
    w = state_series(st, "wide", KG_SERIES_WINDOW, &wo);
    memset(val, 'v', 1000);
    val[1000] = '\0';
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "caller-%d", i);
        snprintf(val, 12, "%011d", i);
        val[11] = 'v';
        if (add(w, key, val, T0 + i, &count, &distinct) < 0)
            refused++;
    }
    is_int(refused, 0, "a window at its byte cap evicts its own oldest keys, refuses nothing");
    ok(state_bytes(st) <= (64u << 10) + 1024, "a window of 1000-byte values stays under its 64 KiB cap "
       "(%zu bytes)", state_bytes(st));
    ok(state_evictions(st) > 1900, "the keys it gave up are counted as evictions (%llu)",
       state_evictions(st));
    is_int(series_count(w, "caller-1999", 11, T0 + 2000), 1, "the newest key stays");

    b = state_series(st, "values", KG_SERIES_BASELINE, &bo);
    for (int i = 0; i < 2000; i++) {
        snprintf(val, 12, "%011d", i);
        val[11] = 'v';
        series_observe(b, "one-key", 7, val, 1000, T0, &was_new);
    }
    ok(series_values(b, "one-key", 7, T0, NULL, NULL) < 64,
       "one key's 1000-byte values stop at the cap too (%zu kept)", series_values(b, "one-key", 7, T0, NULL, NULL));
    ok(state_bytes(st) <= (128u << 10) + 2048, "two series: still under two caps (%zu bytes)", state_bytes(st));

    lim.total_max_bytes = state_bytes(st) + 300;       /* room for a series, not a big value */
    state_set_limits(st, &lim);
    b2 = state_series(st, "third", KG_SERIES_BASELINE, &bo);
    ok(b2 != NULL, "a third series opens within the total");
    refused = 0;
    for (int i = 0; b2 && i < 100; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        if (series_observe(b2, key, strlen(key), val, 1000, T0, &was_new) == KG_TABLE_REFUSED)
            refused++;
    }
    ok(state_bytes(st) <= lim.total_max_bytes + lim.total_max_bytes / 8,
       "the total and its slack hold with the third series (%zu bytes)", state_bytes(st));
    ok(refused < 100, "the third series, below its fair share, still takes values (%d of 100 "
       "refused)", refused);
    ok(state_refusals(st) >= (unsigned long long)refused, "refusals are counted (%llu)",
       state_refusals(st));
    before = state_bytes(st);
    is_int(series_count(w, "caller-1999", 11, T0 + 10 * MIN), 0, "the window's span passes");
    ok(state_bytes(st) < before, "its expired values give their bytes back (%zu < %zu)",
       state_bytes(st), before);
    lim.total_max_bytes = 0;
    state_set_limits(st, &lim);
    ok(state_series(st, "fourth", KG_SERIES_WINDOW, &wo) != NULL, "the default total has room again");
    state_free(st);
}

int main(void)
{
    test_scope();
    test_clock();
    test_window();
    test_window_bounds();
    test_baseline();
    test_round_trip();
    test_byte_caps();
    return done_testing();
}
