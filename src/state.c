/*
 * state: the named tables behind kguard.table() (see state.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "jnum.h"
#include "state_int.h"

#define EVICT_SAMPLES 8
/* What one entry costs, counted against the byte caps: its key (and the
 * allocator's header) and about two hash slots (the load factor is kept
 * between 3/8 and 3/4). */
#define ENTRY_COST(klen) ((klen) + 1 + 16 + 2 * sizeof(hmap_entry))
#define TABLE_COST(name) (strlen(name) + 1 + 16 + sizeof(kg_table) + sizeof(kg_table *))

struct kg_table {
    char *name;
    size_t max_entries;
    long long ttl_ms;
    hmap map;
    size_t bytes;          /* ENTRY_COST of its entries */
    kg_state *owner;
    unsigned long long evictions;
};

void state_set_scope(kg_state *st, const char *scope)
{
    snprintf(st->scope, sizeof st->scope, "%s", scope ? scope : "");
}

const char *state_scope(const kg_state *st)
{
    return st->scope;
}

const char *state_key(const kg_state *st, const char *key, size_t *len,
                      char buf[KG_STATE_KEYBUF])
{
    size_t slen = strlen(st->scope);
    if (!slen || *len > KG_STATE_MAX_KEY)
        return key;
    memcpy(buf, st->scope, slen);
    buf[slen] = '\x1f';
    memcpy(buf + slen + 1, key, *len);
    *len += slen + 1;
    return buf;
}

/* ---- the clock -------------------------------------------------------- */

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void state_clock_live(kg_state *st, bool live)
{
    st->live = live;
}

void state_clock_event(kg_state *st, long long event_ms)
{
    if (event_ms > st->clock)
        st->clock = event_ms;
}

long long state_now(const kg_state *st)
{
    return st->live || st->clock <= 0 ? wall_ms() : st->clock;
}

kg_state *state_new(void)
{
    kg_state *st = calloc(1, sizeof(kg_state));
    if (st)
        state_set_limits(st, NULL);
    return st;
}

void state_set_limits(kg_state *st, const kg_state_limits *lim)
{
    kg_state_limits d = {KG_STATE_MAX_ENTRIES, KG_STATE_TABLE_BYTES, KG_STATE_TOTAL_BYTES};
    if (lim) {
        d.table_max_entries = lim->table_max_entries ? lim->table_max_entries : d.table_max_entries;
        d.table_max_bytes = lim->table_max_bytes ? lim->table_max_bytes : d.table_max_bytes;
        d.total_max_bytes = lim->total_max_bytes ? lim->total_max_bytes : d.total_max_bytes;
    }
    st->limits = d;
    for (size_t i = 0; i < st->n; i++)
        if (st->tables[i]->max_entries > d.table_max_entries)
            st->tables[i]->max_entries = d.table_max_entries;
}

const kg_state_limits *state_limits(const kg_state *st)
{
    return &st->limits;
}

/* Remove an entry, keeping the byte counts. */
static void drop(kg_table *t, hmap_entry *e)
{
    size_t cost = ENTRY_COST(e->klen);
    hmap_remove(&t->map, e);
    t->bytes -= cost;
    t->owner->bytes -= cost;
}

static void table_free(kg_table *t)
{
    hmap_free(&t->map, NULL);
    free(t->name);
    free(t);
}

void state_free(kg_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        table_free(st->tables[i]);
    free(st->tables);
    series_free_all(st);
    free(st);
}

kg_table *state_table(kg_state *st, const char *name, size_t max_entries,
                      long long ttl_ms)
{
    kg_table *t = NULL, **nv;
    for (size_t i = 0; i < st->n && !t; i++)
        if (strcmp(st->tables[i]->name, name) == 0)
            t = st->tables[i];
    if (!t) {
        if (st->bytes + TABLE_COST(name) > st->limits.total_max_bytes) {
            st->refusals++;
            return NULL;
        }
        if (!(t = calloc(1, sizeof *t)) || !(t->name = strdup(name)) ||
            !(nv = realloc(st->tables, (st->n + 1) * sizeof *nv))) {
            if (t)
                free(t->name);
            free(t);
            return NULL;
        }
        st->tables = nv;
        st->tables[st->n++] = t;
        t->owner = st;
        st->bytes += TABLE_COST(name);
    }
    t->max_entries = max_entries ? max_entries : KG_TABLE_DEFAULT_MAX;
    if (t->max_entries > st->limits.table_max_entries)
        t->max_entries = st->limits.table_max_entries;
    t->ttl_ms = ttl_ms > 0 ? ttl_ms : 0;
    return t;
}

/* The live entry for key, dropping it when it has expired. */
static hmap_entry *live(kg_table *t, const char *key, size_t klen, long long now)
{
    hmap_entry *e = hmap_find(&t->map, key, klen);
    if (e && t->ttl_ms && now - e->stamp > t->ttl_ms) {
        drop(t, e);
        return NULL;
    }
    return e;
}

/* Evict this table's oldest entry; false when it has none. */
static bool evict_one(kg_table *t)
{
    hmap_entry *old = hmap_oldest_sample(&t->map, EVICT_SAMPLES);
    if (!old)
        return false;
    drop(t, old);
    t->owner->evictions++;
    t->evictions++;
    return true;
}

bool state_total_room(const kg_state *st, size_t own, size_t cost)
{
    size_t total = st->limits.total_max_bytes, holders = st->n + st->n_series;
    if (st->bytes + cost <= total)
        return true;
    if (holders == 0 || own + cost > total / holders)
        return false;
    return st->bytes + cost <= total + total / 8;
}

/* Find or create key.  A full table (entries or bytes) evicts its oldest
 * entries; when every table together is at the total cap, the table gives
 * up its own oldest entries, and with none left the key is refused
 * (*refused, counted).  NULL when refused or out of memory. */
static hmap_entry *upsert(kg_table *t, const char *key, size_t klen,
                          long long now, bool *created, bool *refused)
{
    kg_state *st = t->owner;
    hmap_entry *e = live(t, key, klen, now);
    size_t cost = ENTRY_COST(klen);
    *created = *refused = false;
    if (e)
        return e;
    while (t->map.n >= t->max_entries || t->bytes + cost > st->limits.table_max_bytes ||
           !state_total_room(st, t->bytes, cost))
        if (!evict_one(t))
            break;
    if (t->map.n >= t->max_entries || t->bytes + cost > st->limits.table_max_bytes ||
        !state_total_room(st, t->bytes, cost)) {
        st->refusals++;
        *refused = true;
        return NULL;
    }
    e = hmap_insert(&t->map, key, klen, created);
    if (e) {
        e->stamp = now;
        t->bytes += cost;
        st->bytes += cost;
    }
    return e;
}

bool table_has(kg_table *t, const char *key, size_t klen, long long now_ms)
{
    return live(t, key, klen, now_ms) != NULL;
}

int table_add(kg_table *t, const char *key, size_t klen, long long now_ms)
{
    bool created, refused;
    hmap_entry *e = upsert(t, key, klen, now_ms, &created, &refused);
    if (!e)
        return refused ? KG_TABLE_REFUSED : -1;
    e->stamp = now_ms;
    return created;
}

bool table_get(kg_table *t, const char *key, size_t klen, long long now_ms,
               double *out)
{
    hmap_entry *e = live(t, key, klen, now_ms);
    if (e)
        *out = e->num;
    return e != NULL;
}

int table_set(kg_table *t, const char *key, size_t klen, double v,
              long long now_ms)
{
    bool created, refused;
    hmap_entry *e = upsert(t, key, klen, now_ms, &created, &refused);
    if (!e)
        return refused ? KG_TABLE_REFUSED : -1;
    e->num = v;
    e->stamp = now_ms;
    return 0;
}

int table_incr(kg_table *t, const char *key, size_t klen, double n,
               long long now_ms, double *out)
{
    bool created, refused;
    hmap_entry *e = upsert(t, key, klen, now_ms, &created, &refused);
    if (!e)
        return refused ? KG_TABLE_REFUSED : -1;
    e->num += n;
    e->stamp = now_ms;
    *out = e->num;
    return 0;
}

bool table_remove(kg_table *t, const char *key, size_t klen)
{
    hmap_entry *e = hmap_find(&t->map, key, klen);
    if (e)
        drop(t, e);
    return e != NULL;
}

size_t table_size(const kg_table *t)
{
    return t->map.n;
}

unsigned long long state_evictions(const kg_state *st)
{
    return st->evictions;
}

size_t state_count(const kg_state *st)
{
    return st ? st->n : 0;
}

const kg_table *state_table_at(const kg_state *st, size_t i)
{
    return st && i < st->n ? st->tables[i] : NULL;
}

const char *table_name(const kg_table *t)
{
    return t->name;
}

unsigned long long table_evictions(const kg_table *t)
{
    return t->evictions;
}

unsigned long long state_refusals(const kg_state *st)
{
    return st->refusals;
}

size_t state_bytes(const kg_state *st)
{
    return st->bytes;
}

/* ---- persistence ------------------------------------------------------ */

cJSON *state_to_json(const kg_state *st)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < st->n; i++) {
        const kg_table *t = st->tables[i];
        cJSON *o = cJSON_CreateObject(), *entries;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddNumberToObject(o, "max_entries", (double)t->max_entries);
        cJSON_AddNumberToObject(o, "ttl_ms", (double)t->ttl_ms);
        entries = cJSON_AddArrayToObject(o, "entries");
        for (size_t s = 0; s < t->map.cap; s++) {
            const hmap_entry *e = &t->map.slots[s];
            cJSON *row;
            if (!e->key)
                continue;
            row = cJSON_CreateArray();
            cJSON_AddItemToArray(row, cJSON_CreateString(e->key));
            cJSON_AddItemToArray(row, cJSON_CreateNumber(e->num));
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)e->stamp));
            cJSON_AddItemToArray(entries, row);
        }
    }
    if (arr)
        series_to_json(st, arr);
    return arr;
}

/* One table of the state file.  -1: a bad shape; else the number of
 * entries (or 1 for the whole table) dropped for a number out of range. */
static int load_table(kg_state *st, const cJSON *o, char *err, size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(o, "max_entries");
    const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(o, "ttl_ms");
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(o, "entries"), *row;
    long long max_n, ttl_ms;
    int dropped = 0;
    kg_table *t;

    if (!cJSON_IsString(name) || !cJSON_IsNumber(max) || !cJSON_IsNumber(ttl) ||
        !cJSON_IsArray(entries)) {
        snprintf(err, errlen, "a state table is malformed");
        return -1;
    }
    if (!jnum_ll(max, 0, JNUM_EXACT, &max_n) || !jnum_ll(ttl, 0, JNUM_EXACT, &ttl_ms))
        return 1;
    t = state_table(st, name->valuestring, (size_t)max_n, ttl_ms);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cJSON_ArrayForEach(row, entries) {
        const cJSON *k = cJSON_GetArrayItem(row, 0), *v = cJSON_GetArrayItem(row, 1),
                    *ts = cJSON_GetArrayItem(row, 2);
        bool created;
        double num;
        long long stamp;
        size_t klen;
        hmap_entry *e;
        if (!cJSON_IsString(k) || !(cJSON_IsNumber(v) || cJSON_IsNull(v)) || !cJSON_IsNumber(ts)) {
            snprintf(err, errlen, "an entry of state table %s is malformed", t->name);
            return -1;
        }
        /* null: a value JSON cannot hold (inf, NaN) was saved */
        if (!jnum_finite(v, &num) || !jnum_ll(ts, -JNUM_EXACT, JNUM_EXACT, &stamp)) {
            dropped++;
            continue;
        }
        klen = strlen(k->valuestring);
        if (t->map.n >= t->max_entries || t->bytes + ENTRY_COST(klen) > st->limits.table_max_bytes ||
            st->bytes + ENTRY_COST(klen) > st->limits.total_max_bytes)
            continue; /* a cap was lowered */
        e = hmap_insert(&t->map, k->valuestring, klen, &created);
        if (!e) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (created) {
            t->bytes += ENTRY_COST(klen);
            st->bytes += ENTRY_COST(klen);
        }
        e->num = num;
        e->stamp = stamp;
    }
    return dropped;
}

int state_from_json(kg_state *st, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *o;
    int dropped = 0, rc;
    if (!cJSON_IsArray(j)) {
        snprintf(err, errlen, "the state tables are not a list");
        return -1;
    }
    cJSON_ArrayForEach(o, j) {
        rc = cJSON_GetObjectItemCaseSensitive(o, "kind")
                 ? series_from_json(st, o, err, errlen)   /* windows, baselines */
                 : load_table(st, o, err, errlen);
        if (rc < 0)
            return -1;
        dropped += rc;
    }
    return dropped;
}
