/*
 * aggregate: finding aggregation by id (see aggregate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/aggregate.h"
#include "hmap.h"
#include "jnum.h"

#define EVICT_SAMPLES 8
#define AGG_SCOPE_MAX 255

typedef struct agg_entry {
    kg_occurrence occ;
    long long published_ms;   /* last time a line of it was published */
    char *pending;            /* latest line not yet published */
    bool archived;            /* ... and whether it was suppressed */
    char *scope;              /* the cluster it was found in, or NULL */
} agg_entry;

struct kg_agg {
    hmap map;                 /* id -> agg_entry (ptr); stamp = updated_ms */
    size_t max_entries;
    long long interval_ms;
    kg_emit_fn emit;
    void *ud;
    unsigned long long evictions;
    char scope[AGG_SCOPE_MAX + 1];   /* the cluster new entries are found in */
};

static void entry_free(void *p)
{
    agg_entry *e = p;
    if (e) {
        free(e->pending);
        free(e->scope);
    }
    free(e);
}

kg_agg *agg_new(size_t max_entries, long long interval_ms, kg_emit_fn emit,
                void *ud)
{
    kg_agg *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->max_entries = max_entries ? max_entries : KG_AGG_DEFAULT_MAX;
    a->interval_ms = interval_ms < 0 ? 0 : interval_ms;
    a->emit = emit;
    a->ud = ud;
    return a;
}

void agg_free(kg_agg *a)
{
    if (!a)
        return;
    hmap_free(&a->map, entry_free);
    free(a);
}

static void publish(kg_agg *a, agg_entry *e, long long now_ms)
{
    if (!e->pending)
        return;
    a->emit(a->ud, e->pending, e->archived);
    free(e->pending);
    e->pending = NULL;
    e->published_ms = now_ms;
}

static void evict_one(kg_agg *a, long long now_ms)
{
    hmap_entry *old = hmap_oldest_sample(&a->map, EVICT_SAMPLES);
    if (!old)
        return;
    publish(a, old->ptr, now_ms);   /* never drop an update */
    entry_free(old->ptr);
    hmap_remove(&a->map, old);
    a->evictions++;
}

int agg_record(kg_agg *a, const char *id, long long event_ms, long long now_ms,
               kg_occurrence *occ)
{
    size_t klen = strlen(id);
    hmap_entry *h = hmap_find(&a->map, id, klen);
    agg_entry *e;
    bool created = false;

    if (!h) {
        while (a->map.n >= a->max_entries && a->map.n > 0)
            evict_one(a, now_ms);
        if (!(e = calloc(1, sizeof *e)))
            return -1;
        if (!(h = hmap_insert(&a->map, id, klen, &created))) {
            free(e);
            return -1;
        }
        h->ptr = e;
        if (a->scope[0] && !(e->scope = strdup(a->scope))) {
            hmap_remove(&a->map, h);
            free(e);
            return -1;
        }
        e->occ.first_seen_ms = e->occ.last_seen_ms = event_ms;
        e->occ.created_ms = now_ms;
    }
    e = h->ptr;
    e->occ.count++;
    if (event_ms < e->occ.first_seen_ms)
        e->occ.first_seen_ms = event_ms;
    if (event_ms > e->occ.last_seen_ms)
        e->occ.last_seen_ms = event_ms;
    e->occ.updated_ms = now_ms;
    h->stamp = now_ms;
    *occ = e->occ;
    return created ? 1 : 0;
}

void agg_publish(kg_agg *a, const char *id, char *line, bool archived,
                 long long now_ms)
{
    hmap_entry *h = hmap_find(&a->map, id, strlen(id));
    agg_entry *e;
    if (!h) {                /* not recorded: publish as it is */
        a->emit(a->ud, line, archived);
        free(line);
        return;
    }
    e = h->ptr;
    free(e->pending);
    e->pending = line;
    e->archived = archived;
    if (e->occ.count == 1 || now_ms - e->published_ms >= a->interval_ms)
        publish(a, e, now_ms);
}

void agg_set_scope(kg_agg *a, const char *scope)
{
    size_t n = scope ? strlen(scope) : 0;
    if (n > AGG_SCOPE_MAX)
        n = AGG_SCOPE_MAX;
    memcpy(a->scope, scope ? scope : "", n);
    a->scope[n] = '\0';
}

static bool in_scope(const agg_entry *e, const char *scope)
{
    return e->scope ? strcmp(e->scope, scope) == 0 : !*scope;
}

size_t agg_drop_scope(kg_agg *a, const char *scope)
{
    size_t n = 0, i = 0;
    while (i < a->map.cap) {
        hmap_entry *h = &a->map.slots[i];
        if (!h->key || !in_scope(h->ptr, scope)) {
            i++;
            continue;
        }
        entry_free(h->ptr);
        hmap_remove(&a->map, h);   /* shifts a later entry into slot i */
        n++;
    }
    return n;
}

void agg_set_interval(kg_agg *a, long long interval_ms)
{
    a->interval_ms = interval_ms < 0 ? 0 : interval_ms;
}

void agg_flush(kg_agg *a, long long now_ms, bool all)
{
    for (size_t i = 0; i < a->map.cap; i++) {
        agg_entry *e;
        if (!a->map.slots[i].key)
            continue;
        e = a->map.slots[i].ptr;
        if (e->pending && (all || now_ms - e->published_ms >= a->interval_ms))
            publish(a, e, now_ms);
    }
}

size_t agg_size(const kg_agg *a) { return a->map.n; }
unsigned long long agg_evictions(const kg_agg *a) { return a->evictions; }

/* ---- persistence ------------------------------------------------------ */

cJSON *agg_to_json(const kg_agg *a)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < a->map.cap; i++) {
        const hmap_entry *h = &a->map.slots[i];
        const agg_entry *e;
        cJSON *o;
        if (!h->key)
            continue;
        e = h->ptr;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", h->key);
        cJSON_AddNumberToObject(o, "count", (double)e->occ.count);
        cJSON_AddNumberToObject(o, "first_seen_ms", (double)e->occ.first_seen_ms);
        cJSON_AddNumberToObject(o, "last_seen_ms", (double)e->occ.last_seen_ms);
        cJSON_AddNumberToObject(o, "created_ms", (double)e->occ.created_ms);
        cJSON_AddNumberToObject(o, "updated_ms", (double)e->occ.updated_ms);
        cJSON_AddNumberToObject(o, "published_ms", (double)e->published_ms);
        if (e->scope)
            cJSON_AddStringToObject(o, "cluster", e->scope);
        if (e->pending) {
            cJSON_AddStringToObject(o, "pending", e->pending);
            cJSON_AddBoolToObject(o, "archived", e->archived);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* A count or a time in ms: a number from 0 to 2^53 (jnum_ll). */
static bool num(const cJSON *o, const char *k, long long *out)
{
    return jnum_ll(cJSON_GetObjectItemCaseSensitive(o, k), 0, JNUM_EXACT, out);
}

static bool all_numbers(const cJSON *o)
{
    static const char *const keys[] = {"count", "first_seen_ms", "last_seen_ms", "created_ms",
                                       "updated_ms", "published_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, keys[i])))
            return false;
    return true;
}

int agg_from_json(kg_agg *a, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *o;
    int dropped = 0;
    if (!cJSON_IsArray(j)) {
        snprintf(err, errlen, "the findings are not a list");
        return -1;
    }
    cJSON_ArrayForEach(o, j) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *pending = cJSON_GetObjectItemCaseSensitive(o, "pending");
        const cJSON *scope = cJSON_GetObjectItemCaseSensitive(o, "cluster");
        long long count, fs, ls, cr, up, pub;
        agg_entry *e;
        hmap_entry *h;
        bool created;
        if (!cJSON_IsString(id) || strlen(id->valuestring) != 32 || !all_numbers(o) ||
            (pending && !cJSON_IsString(pending)) ||
            (scope && (!cJSON_IsString(scope) || strlen(scope->valuestring) > AGG_SCOPE_MAX))) {
            snprintf(err, errlen, "a finding entry is malformed");
            return -1;
        }
        if (!num(o, "count", &count) || !num(o, "first_seen_ms", &fs) ||
            !num(o, "last_seen_ms", &ls) || !num(o, "created_ms", &cr) ||
            !num(o, "updated_ms", &up) || !num(o, "published_ms", &pub)) {
            dropped++;     /* a number out of range: this entry only */
            continue;
        }
        if (a->map.n >= a->max_entries)
            continue;
        if (!(e = calloc(1, sizeof *e)) ||
            !(h = hmap_insert(&a->map, id->valuestring, 32, &created))) {
            free(e);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        entry_free(h->ptr); /* a duplicate id: the last one wins */
        h->ptr = e;
        h->stamp = up;
        e->occ = (kg_occurrence){(unsigned long long)count, fs, ls, cr, up};
        e->published_ms = pub;
        e->archived = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "archived"));
        if ((pending && !(e->pending = strdup(pending->valuestring))) ||
            (scope && *scope->valuestring && !(e->scope = strdup(scope->valuestring)))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return dropped;
}
