/* Unit tests for hmap, the state tables, aggregation and the state file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kguard/aggregate.h"
#include "kguard/persist.h"
#include "kguard/state.h"
#include "hmap.h"
#include "tap.h"

/* hmap against a plain array, through many inserts and removes (the
 * backward-shift deletion must keep every remaining key reachable). */
static void test_hmap(void)
{
    hmap m = {0};
    static char present[4000];
    char key[32];
    unsigned seed = 12345, bad = 0;
    for (int round = 0; round < 60000; round++) {
        int k;
        bool created;
        hmap_entry *e;
        seed = seed * 1103515245u + 12345u;
        k = (int)((seed >> 8) % 4000);
        snprintf(key, sizeof key, "image-%d", k);
        if ((seed >> 4) & 1) {
            e = hmap_insert(&m, key, strlen(key), &created);
            bad += !e || created == (bool)present[k];
            present[k] = 1;
        } else if ((e = hmap_find(&m, key, strlen(key))) != NULL) {
            bad += !present[k];
            hmap_remove(&m, e);
            present[k] = 0;
        } else {
            bad += present[k];
        }
    }
    size_t n = 0;
    for (int k = 0; k < 4000; k++) {
        snprintf(key, sizeof key, "image-%d", k);
        bad += (hmap_find(&m, key, strlen(key)) != NULL) != (bool)present[k];
        n += present[k];
    }
    is_int(bad, 0, "60000 random inserts/removes agree with a reference set");
    is_int(m.n, n, "entry count agrees");
    hmap_free(&m, NULL);
}

static void test_tables(void)
{
    kg_state *st = state_new();
    kg_table *t = state_table(st, "privileged_images", 3, 0);
    double v = 0;
    is_int(table_add(t, "nginx:1.25", 10, 1000), 1, "a new key is new");
    is_int(table_add(t, "nginx:1.25", 10, 2000), 0, "the same key is not");
    ok(table_has(t, "nginx:1.25", 10, 3000), "has it");
    ok(!table_has(t, "nginx:1.2", 9, 3000), "a prefix is another key");
    table_incr(t, "c", 1, 2, 4000, &v);
    table_incr(t, "c", 1, 3, 5000, &v);
    ok(v == 5, "counters add");
    table_add(t, "d", 1, 6000);
    table_add(t, "e", 1, 6500);   /* 4th key in a table of 3 */
    is_int(table_size(t), 3, "the cap holds");
    is_int(state_evictions(st), 1, "one eviction is counted");
    ok(!table_has(t, "nginx:1.25", 10, 7000), "the least recently written went first");
    ok(state_table(st, "privileged_images", 0, 0) == t, "the same name gives the same table");

    kg_table *ttl = state_table(st, "recent", 0, 1000);
    table_set(ttl, "k", 1, 7, 10000);
    ok(table_get(ttl, "k", 1, 10900, &v) && v == 7, "alive within its ttl");
    ok(!table_get(ttl, "k", 1, 11001, &v), "gone after its ttl");
    is_int(table_size(ttl), 0, "and removed");

    /* round trip through JSON */
    cJSON *j = state_to_json(st);
    kg_state *st2 = state_new();
    char err[128] = "";
    ok(state_from_json(st2, j, err, sizeof err) == 0, "tables load back (%s)", err);
    kg_table *t2 = state_table(st2, "privileged_images", 3, 0);
    ok(table_has(t2, "d", 1, 8000) && table_get(t2, "c", 1, 8000, &v) && v == 5,
       "with their keys and numbers");
    cJSON_Delete(j);
    j = cJSON_Parse("[{\"name\":\"x\",\"max_entries\":10,\"ttl_ms\":0,\"entries\":[[1,2,3]]}]");
    ok(state_from_json(st2, j, err, sizeof err) < 0 && strstr(err, "malformed"),
       "a malformed entry is refused: %s", err);
    cJSON_Delete(j);
    j = cJSON_Parse("[{\"name\":\"y\",\"max_entries\":10,\"ttl_ms\":0,\"entries\":"
                    "[[\"ok\",1,3],[\"inf\",1e999,3],[\"nan\",null,3],[\"far\",1,1e300]]},"
                    "{\"name\":\"z\",\"max_entries\":1e300,\"ttl_ms\":0,\"entries\":[]}]");
    ok(state_from_json(st2, j, err, sizeof err) == 4, "numbers out of range: 3 entries and 1 table dropped");
    ok(table_size(state_table(st2, "y", 10, 0)) == 1, "the entry in range is kept");
    cJSON_Delete(j);
    state_free(st2);
    state_free(st);
}

static char emitted[8][64];
static int n_emitted;
static void emit(void *ud, const char *line, bool archived)
{
    (void)ud;
    (void)archived;
    if (n_emitted < 8)
        snprintf(emitted[n_emitted], 64, "%s", line);
    n_emitted++;
}

static void test_aggregate(void)
{
    kg_agg *a = agg_new(2, 60000, emit, NULL);
    kg_occurrence o;
    const char *id1 = "0123456789abcdef0123456789abcdef", *id2 = "fedcba9876543210fedcba9876543210",
               *id3 = "00000000000000000000000000000003";
    is_int(agg_record(a, id1, 5000, 100000, &o), 1, "a new id");
    agg_publish(a, id1, strdup("first"), false, 100000);
    is_int(n_emitted, 1, "a new finding is published at once");
    is_int(agg_record(a, id1, 3000, 101000, &o), 0, "a repeat");
    ok(o.count == 2 && o.first_seen_ms == 3000 && o.last_seen_ms == 5000 &&
       o.created_ms == 100000 && o.updated_ms == 101000, "count and times move as they should");
    agg_publish(a, id1, strdup("second"), false, 101000);
    is_int(n_emitted, 1, "a repeat within the interval is held back");
    agg_record(a, id1, 9000, 102000, &o);
    agg_publish(a, id1, strdup("third"), false, 102000);
    agg_flush(a, 103000, false);
    is_int(n_emitted, 1, "a flush before the interval keeps it pending");
    agg_record(a, id2, 1, 104000, &o);
    agg_publish(a, id2, strdup("other"), false, 104000);
    agg_record(a, id3, 1, 105000, &o);   /* third id in an agg of 2: evicts id1 */
    agg_publish(a, id3, strdup("third id"), false, 105000);
    is_str(emitted[2], "third", "eviction publishes the pending update first");
    is_int(agg_evictions(a), 1, "and is counted");

    cJSON *j = agg_to_json(a);
    kg_agg *b = agg_new(0, 0, emit, NULL);
    char err[128] = "";
    ok(agg_from_json(b, j, err, sizeof err) == 0 && agg_size(b) == 2, "entries load back (%s)", err);
    is_int(agg_record(b, id2, 2, 106000, &o), 0, "a loaded id is a repeat");
    is_int(o.count, 2, "and keeps counting");
    cJSON_Delete(j);
    agg_free(b);
    agg_free(a);
}

static void test_state_file(void)
{
    char dir[] = "/tmp/kguard-state-XXXXXX", path[256], aside[300], msg[600];
    kg_state *st = state_new();
    kg_agg *a = agg_new(0, 0, emit, NULL);
    FILE *fp;
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/state.json", dir);
    is_int(persist_load(path, st, a, msg, sizeof msg), 0, "no file yet is a fresh start");
    table_add(state_table(st, "t", 0, 0), "k", 1, 1);
    ok(persist_save(path, st, a, msg, sizeof msg) == 0, "saved (%s)", msg);
    state_free(st);
    st = state_new();
    is_int(persist_load(path, st, a, msg, sizeof msg), 0, "loads back");
    ok(table_has(state_table(st, "t", 0, 0), "k", 1, 2), "with its key");

    fp = fopen(path, "w");
    fputs("{\"format\":\"kguard-state\",\"version\":999}", fp);
    fclose(fp);
    is_int(persist_load(path, st, a, msg, sizeof msg), 1, "another version is unusable");
    ok(strstr(msg, "another format version") && strstr(msg, ".corrupt-"), "and says so: %s", msg);
    ok(access(path, F_OK) != 0, "the file was moved aside");
    snprintf(aside, sizeof aside, "%s", strstr(msg, "kept it as ") + strlen("kept it as "));
    *strstr(aside, " and started") = '\0';
    ok(access(aside, F_OK) == 0, "to %s", aside);
    fp = fopen(path, "w");
    fputs("garbage", fp);
    fclose(fp);
    is_int(persist_load(path, st, a, msg, sizeof msg), 1, "garbage is unusable");
    ok(!strstr(msg, aside) || strcmp(strstr(msg, "kept it as ") + 11, aside) != 0,
       "a second aside file does not overwrite the first");
    ok(persist_check_writable("/nonexistent-dir/state.json", msg, sizeof msg) < 0 &&
       strstr(msg, "/nonexistent-dir"), "an unwritable directory is found at start");
    state_free(st);
    agg_free(a);
    snprintf(aside, sizeof aside, "rm -rf '%s'", dir);
    ok(system(aside) == 0, "temporary directory removed");
}

/* The caps: a table asking for too many entries is lowered, a table of
 * big keys stops at its byte cap, and all tables together stop at the
 * total (a table gives up its own oldest keys, then keys are refused). */
static void test_caps(void)
{
    kg_state *st = state_new();
    kg_state_limits lim = {1000, 1 << 20, 4 << 20};
    char key[1100];
    kg_table *a, *b, *c;
    int refused = 0;

    state_set_limits(st, &lim);
    a = state_table(st, "wide", 100000000, 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        table_add(a, key, strlen(key), i);
    }
    is_int((long long)table_size(a), 1000, "max_entries = 1e8 is lowered to the ceiling of 1000");
    table_remove(a, "k4999", 5);
    lim.table_max_bytes = 64 << 10;
    lim.total_max_bytes = 512 << 10;
    state_set_limits(st, &lim);
    memset(key, 'x', 1000);
    b = state_table(st, "big-keys", 0, 0);
    for (int i = 0; i < 500; i++) {
        snprintf(key, 12, "%011d", i);
        key[11] = 'x';
        table_set(b, key, 1000, i, i);
    }
    ok(table_size(b) > 10 && table_size(b) * 1000 <= (64u << 10),
       "a table of 1000-byte keys stops under its 64 KiB cap (%zu keys)", table_size(b));
    ok(state_bytes(st) <= (512u << 10), "all tables stay under the total (%zu bytes)", state_bytes(st));
    lim.total_max_bytes = state_bytes(st) + 600;     /* room for a table, not a big key */
    state_set_limits(st, &lim);
    c = state_table(st, "third", 0, 0);
    for (int i = 0; c && i < 500; i++) {
        snprintf(key, 12, "%011d", i);
        if (table_incr(c, key, 1000, 1, i, &(double){0}) == KG_TABLE_REFUSED)
            refused++;
    }
    ok(c != NULL, "a third table opens within the total");
    /* past the total, a table below its fair share (the total over 3) may
     * use the slack, an eighth of the total, and no more */
    ok(state_bytes(st) <= lim.total_max_bytes + lim.total_max_bytes / 8,
       "still under the total and its slack with a third table (%zu bytes)", state_bytes(st));
    ok(table_size(c) > 0 && table_size(c) * 1000 <= lim.total_max_bytes / 3,
       "the third table keeps its newest 1000-byte keys within its fair share (%zu keys, %d "
       "refused)", table_size(c), refused);
    ok(state_refusals(st) == (unsigned long long)refused, "refusals are counted (%llu)",
       state_refusals(st));
    ok(table_add(c, "small", 5, 1) == 1, "a small key still fits");
    ok(state_evictions(st) > 0, "evictions are counted");
    state_free(st);
}

int main(void)
{
    test_caps();
    test_hmap();
    test_tables();
    test_aggregate();
    test_state_file();
    return done_testing();
}
