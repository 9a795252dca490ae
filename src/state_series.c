/*
 * state_series: sliding windows and new-value baselines (see state.h).
 *
 * A series maps keys (already scoped per cluster by the caller) to a small
 * set of values, each with the time it was first and last seen.  A window
 * forgets values not seen within its span and also counts events in
 * SERIES_BUCKETS buckets covering the span; a baseline keeps values until
 * they are evicted.  Bounds: max_keys keys per series (the least recently
 * written of a few sampled keys goes), max_values values per key (the least
 * recently seen goes); every eviction is counted in the state's evictions.
 * Their bytes count in the state's total and each series against the
 * per-table byte cap, as a table's do: a full series gives up its own
 * least recently written keys (then a key's oldest values), and with none
 * left the new key or value is refused (KG_TABLE_REFUSED, counted).
 */
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"
#include "jnum.h"

#define SERIES_BUCKETS 60
#define EVICT_SAMPLES 8
#define DEFAULT_MAX_VALUES 64u
/* What the byte caps count: a key (its hash slots, copy and skey), a
 * value's copy, a slot of a key's value array, a series itself. */
#define KEY_COST(klen) ((klen) + 1 + 16 + 2 * sizeof(hmap_entry) + sizeof(skey) + 16)
#define VALUE_COST(vlen) ((vlen) + 1 + 16)
#define SLOT_COST sizeof(sval)
#define SERIES_COST(name) (strlen(name) + 1 + 16 + sizeof(kg_series) + sizeof(kg_series *))

typedef struct sval {
    char *v;
    size_t vlen;
    long long first, last;
} sval;

typedef struct skey {
    sval *vals;
    size_t n, cap;
    long long head;                      /* window: index of the newest bucket */
    unsigned buckets[SERIES_BUCKETS];    /* window: events per bucket */
} skey;

struct kg_series {
    char *name;
    kg_series_kind kind;
    kg_series_opts o;
    hmap keys;      /* key -> skey (ptr) */
    hmap starts;    /* baseline: scope -> learning start (stamp) */
    kg_state *owner;
    size_t bytes;   /* counted against the caps, as a table's */
};

static const char *const kind_names[] = {"window", "baseline"};

static void skey_free(void *p)
{
    skey *k = p;
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->vals[i].v);
    free(k->vals);
    free(k);
}

static void charge(kg_series *s, size_t n)
{
    s->bytes += n;
    s->owner->bytes += n;
}

static void refund(kg_series *s, size_t n)
{
    s->bytes -= n;
    s->owner->bytes -= n;
}

/* Whether n more bytes pass the series' cap or the total. */
static bool over(const kg_series *s, size_t n)
{
    const kg_state *st = s->owner;
    return s->bytes + n > st->limits.table_max_bytes || !state_total_room(st, s->bytes, n);
}

static void drop_value(kg_series *s, skey *k, size_t i)
{
    refund(s, VALUE_COST(k->vals[i].vlen));
    free(k->vals[i].v);
    k->vals[i] = k->vals[--k->n];
}

static void drop_key(kg_series *s, hmap_entry *e)
{
    skey *k = e->ptr;
    refund(s, KEY_COST(e->klen) + (k ? k->cap * SLOT_COST : 0));
    for (size_t i = 0; k && i < k->n; i++)
        refund(s, VALUE_COST(k->vals[i].vlen));
    skey_free(k);
    e->ptr = NULL;
    hmap_remove(&s->keys, e);
}

/* Evict the least recently written of a few sampled keys other than keep;
 * false when there is none. */
static bool evict_key(kg_series *s, const skey *keep)
{
    hmap_entry *old = hmap_oldest_sample(&s->keys, EVICT_SAMPLES);
    if (!old || old->ptr == keep)
        return false;
    drop_key(s, old);
    s->owner->evictions++;
    return true;
}

static void series_free(kg_series *s)
{
    hmap_free(&s->keys, skey_free);
    hmap_free(&s->starts, NULL);
    free(s->name);
    free(s);
}

void series_free_all(kg_state *st)
{
    for (size_t i = 0; i < st->n_series; i++)
        series_free(st->series[i]);
    free(st->series);
}

static void set_opts(kg_series *s, const kg_series_opts *o)
{
    s->o = *o;
    if (!s->o.max_keys)
        s->o.max_keys = KG_TABLE_DEFAULT_MAX;
    if (!s->o.max_values)
        s->o.max_values = DEFAULT_MAX_VALUES;
    if (s->o.span_ms < SERIES_BUCKETS)
        s->o.span_ms = SERIES_BUCKETS;
    if (s->o.learn_ms < 0)
        s->o.learn_ms = 0;
}

kg_series *state_series(kg_state *st, const char *name, kg_series_kind kind,
                        const kg_series_opts *o)
{
    kg_series *s = NULL, **nv;
    for (size_t i = 0; i < st->n_series && !s; i++)
        if (st->series[i]->kind == kind && strcmp(st->series[i]->name, name) == 0)
            s = st->series[i];
    if (!s) {
        if (st->bytes + SERIES_COST(name) > st->limits.total_max_bytes) {
            st->refusals++;
            return NULL;
        }
        if (!(s = calloc(1, sizeof *s)) || !(s->name = strdup(name)) ||
            !(nv = realloc(st->series, (st->n_series + 1) * sizeof *nv))) {
            if (s)
                free(s->name);
            free(s);
            return NULL;
        }
        st->series = nv;
        st->series[st->n_series++] = s;
        s->kind = kind;
        s->owner = st;
        charge(s, SERIES_COST(name));
    }
    set_opts(s, o);
    return s;
}

const char *series_name(const kg_series *s)
{
    return s->name;
}

const kg_series_opts *series_opts(const kg_series *s)
{
    return &s->o;
}

/* ---- keys and values -------------------------------------------------- */

static long long bucket_width(const kg_series *s)
{
    return s->o.span_ms / SERIES_BUCKETS;
}

/* Drop the values a window no longer covers at now. */
static void expire_values(kg_series *s, skey *k, long long now)
{
    size_t j = 0;
    if (s->kind != KG_SERIES_WINDOW)
        return;
    for (size_t i = 0; i < k->n; i++) {
        if (now - k->vals[i].last >= s->o.span_ms) {
            refund(s, VALUE_COST(k->vals[i].vlen));
            free(k->vals[i].v);
        } else {
            k->vals[j++] = k->vals[i];
        }
    }
    k->n = j;
}

static skey *find_key(kg_series *s, const char *key, size_t klen, long long now)
{
    hmap_entry *e = hmap_find(&s->keys, key, klen);
    skey *k = e ? e->ptr : NULL;
    if (k)
        expire_values(s, k, now);
    return k;
}

/* Find or create key; NULL when out of memory or (*refused) when the caps
 * leave no room for it even after evicting this series' other keys. */
static skey *upsert_key(kg_series *s, const char *key, size_t klen, long long now,
                        bool *refused)
{
    hmap_entry *e = hmap_find(&s->keys, key, klen);
    bool created;
    *refused = false;
    if (!e) {
        while (s->keys.n >= s->o.max_keys || over(s, KEY_COST(klen)))
            if (!evict_key(s, NULL))
                break;
        if (s->keys.n >= s->o.max_keys || over(s, KEY_COST(klen))) {
            s->owner->refusals++;
            *refused = true;
            return NULL;
        }
        if (!(e = hmap_insert(&s->keys, key, klen, &created)))
            return NULL;
        if (created && !(e->ptr = calloc(1, sizeof(skey)))) {
            hmap_remove(&s->keys, e);
            return NULL;
        }
        charge(s, KEY_COST(klen));
    }
    e->stamp = now;
    expire_values(s, e->ptr, now);
    return e->ptr;
}

static sval *find_value(skey *k, const char *v, size_t vlen)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->vals[i].vlen == vlen && memcmp(k->vals[i].v, v, vlen) == 0)
            return &k->vals[i];
    return NULL;
}

/* Evict the key's least recently seen value; false when it has none. */
static bool evict_value(kg_series *s, skey *k)
{
    size_t old = 0;
    if (!k->n)
        return false;
    for (size_t i = 1; i < k->n; i++)
        if (k->vals[i].last < k->vals[old].last)
            old = i;
    drop_value(s, k, old);
    s->owner->evictions++;
    return true;
}

/* Room for a new value of vlen bytes in k: the key's oldest value goes when
 * it is full; past the byte caps other keys go, then k's own old values. */
static bool make_room(kg_series *s, skey *k, size_t vlen)
{
    size_t grow = k->n == k->cap ? (k->cap ? k->cap : 4) * SLOT_COST : 0;
    if (k->n >= s->o.max_values)
        evict_value(s, k);
    while (over(s, VALUE_COST(vlen) + grow))
        if (!evict_key(s, k) && !evict_value(s, k))
            break;
    return !over(s, VALUE_COST(vlen) + grow);
}

/* Record value at now: found or added.  *was_new says which.  NULL when
 * out of memory or (*refused) past the caps. */
static sval *touch_value(kg_series *s, skey *k, const char *v, size_t vlen,
                         long long now, bool *was_new, bool *refused)
{
    sval *x = find_value(k, v, vlen);
    *was_new = x == NULL;
    *refused = false;
    if (!x) {
        if (!make_room(s, k, vlen)) {
            s->owner->refusals++;
            *refused = true;
            return NULL;
        }
        if (k->n == k->cap) {
            size_t cap = k->cap ? 2 * k->cap : 4;
            sval *nv = realloc(k->vals, cap * sizeof *nv);
            if (!nv)
                return NULL;
            k->vals = nv;
            charge(s, (cap - k->cap) * SLOT_COST);
            k->cap = cap;
        }
        x = &k->vals[k->n];
        if (!(x->v = malloc(vlen + 1)))
            return NULL;
        memcpy(x->v, v, vlen);
        x->v[vlen] = '\0';
        x->vlen = vlen;
        x->first = x->last = now;
        k->n++;
        charge(s, VALUE_COST(vlen));
    }
    if (now > x->last)
        x->last = now;
    return x;
}

/* ---- windows ---------------------------------------------------------- */

/* Move the newest bucket to the one holding now, emptying those passed. */
static void advance(const kg_series *s, skey *k, long long now)
{
    long long b = (now > 0 ? now : 0) / bucket_width(s);   /* buckets from the epoch on */
    if (b <= k->head)
        return;
    if (b - k->head >= SERIES_BUCKETS || k->head == 0)
        memset(k->buckets, 0, sizeof k->buckets);
    else
        for (long long i = k->head + 1; i <= b; i++)
            k->buckets[i % SERIES_BUCKETS] = 0;
    k->head = b;
}

static unsigned long sum_buckets(const kg_series *s, const skey *k, long long now)
{
    long long b = (now > 0 ? now : 0) / bucket_width(s);
    unsigned long sum = 0;
    for (long long i = 0; i < SERIES_BUCKETS; i++) {
        long long idx = k->head - i;
        if (idx >= 0 && idx <= b && idx > b - SERIES_BUCKETS)
            sum += k->buckets[idx % SERIES_BUCKETS];
    }
    return sum;
}

int series_add(kg_series *s, const char *key, size_t klen, const char *value,
               size_t vlen, long long now, unsigned long *count, size_t *distinct)
{
    bool was_new, refused;
    skey *k = upsert_key(s, key, klen, now, &refused);
    if (!k)
        return refused ? KG_TABLE_REFUSED : -1;
    advance(s, k, now);
    k->buckets[k->head % SERIES_BUCKETS]++;
    if (value && !touch_value(s, k, value, vlen, now, &was_new, &refused))
        return refused ? KG_TABLE_REFUSED : -1;
    *count = sum_buckets(s, k, now);
    *distinct = k->n;
    return 0;
}

unsigned long series_count(kg_series *s, const char *key, size_t klen, long long now)
{
    skey *k = find_key(s, key, klen, now);
    return k ? sum_buckets(s, k, now) : 0;
}

size_t series_distinct(kg_series *s, const char *key, size_t klen, long long now)
{
    skey *k = find_key(s, key, klen, now);
    return k ? k->n : 0;
}

size_t series_values(kg_series *s, const char *key, size_t klen, long long now,
                     series_value_cb cb, void *ud)
{
    skey *k = find_key(s, key, klen, now);
    if (!k)
        return 0;
    for (size_t i = 0; cb && i < k->n; i++)
        cb(ud, k->vals[i].v, k->vals[i].vlen, k->vals[i].first, k->vals[i].last);
    return k->n;
}

/* ---- baselines -------------------------------------------------------- */

int series_observe(kg_series *s, const char *key, size_t klen, const char *value,
                   size_t vlen, long long now, bool *was_new)
{
    bool refused;
    skey *k = upsert_key(s, key, klen, now, &refused);
    if (!k || !touch_value(s, k, value, vlen, now, was_new, &refused))
        return refused ? KG_TABLE_REFUSED : -1;
    return 0;
}

bool series_seen(kg_series *s, const char *key, size_t klen, const char *value,
                 size_t vlen)
{
    hmap_entry *e = hmap_find(&s->keys, key, klen);
    return e && find_value(e->ptr, value, vlen) != NULL;
}

long long series_started(kg_series *s, const char *scope, long long now)
{
    bool created;
    size_t len = strlen(scope);
    hmap_entry *e = hmap_insert(&s->starts, scope, len, &created);
    if (!e)
        return -1;
    if (created) {              /* one per cluster: counted, never refused */
        e->stamp = now;
        charge(s, KEY_COST(len));
    }
    return e->stamp;
}

/* ---- signals ---------------------------------------------------------- */

int state_signal(kg_state *st, const char *entity, const char *type)
{
    kg_series_opts o = {KG_SIGNALS_SPAN_MS, 0, 0, KG_SIGNALS_MAX_VALUES};
    kg_series *s = state_series(st, KG_SIGNALS_WINDOW, KG_SERIES_WINDOW, &o);
    char buf[KG_STATE_KEYBUF];
    size_t n = strlen(entity), distinct;
    unsigned long count;
    const char *k;
    if (!s || n > KG_STATE_MAX_KEY)
        return -1;
    k = state_key(st, entity, &n, buf);
    return series_add(s, k, n, type, strlen(type), state_now(st), &count, &distinct);
}

/* ---- persistence ------------------------------------------------------ */

static cJSON *key_json(const hmap_entry *e)
{
    const skey *k = e->ptr;
    cJSON *row = cJSON_CreateArray(), *vals = cJSON_CreateArray(), *b;
    cJSON_AddItemToArray(row, cJSON_CreateString(e->key));
    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)e->stamp));
    cJSON_AddItemToArray(row, vals);
    for (size_t i = 0; i < k->n; i++) {
        cJSON *v = cJSON_CreateArray();
        cJSON_AddItemToArray(v, cJSON_CreateString(k->vals[i].v));
        cJSON_AddItemToArray(v, cJSON_CreateNumber((double)k->vals[i].first));
        cJSON_AddItemToArray(v, cJSON_CreateNumber((double)k->vals[i].last));
        cJSON_AddItemToArray(vals, v);
    }
    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)k->head));
    b = cJSON_CreateArray();
    for (int i = 0; i < SERIES_BUCKETS; i++)
        cJSON_AddItemToArray(b, cJSON_CreateNumber(k->buckets[i]));
    cJSON_AddItemToArray(row, b);
    return row;
}

static void one_to_json(const kg_series *s, cJSON *o)
{
    cJSON *keys, *starts;
    cJSON_AddStringToObject(o, "kind", kind_names[s->kind]);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddNumberToObject(o, "span_ms", (double)s->o.span_ms);
    cJSON_AddNumberToObject(o, "learn_ms", (double)s->o.learn_ms);
    cJSON_AddNumberToObject(o, "max_keys", (double)s->o.max_keys);
    cJSON_AddNumberToObject(o, "max_values", (double)s->o.max_values);
    starts = cJSON_AddArrayToObject(o, "starts");
    for (size_t i = 0; i < s->starts.cap; i++) {
        const hmap_entry *e = &s->starts.slots[i];
        cJSON *row;
        if (!e->key)
            continue;
        row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateString(e->key));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double)e->stamp));
        cJSON_AddItemToArray(starts, row);
    }
    keys = cJSON_AddArrayToObject(o, "keys");
    for (size_t i = 0; i < s->keys.cap; i++)
        if (s->keys.slots[i].key)
            cJSON_AddItemToArray(keys, key_json(&s->keys.slots[i]));
}

void series_to_json(const kg_state *st, cJSON *arr)
{
    for (size_t i = 0; i < st->n_series; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return;
        one_to_json(st->series[i], o);
        cJSON_AddItemToArray(arr, o);
    }
}

/* Remove from m the entries whose key starts with prefix (and free their
 * ptr with free_ptr); backward-shift deletion may move a later entry into
 * the slot just emptied, so that slot is looked at again. */
static void drop_prefixed(hmap *m, const char *prefix, size_t plen, bool exact,
                          void (*free_ptr)(void *))
{
    size_t i = 0;
    while (i < m->cap) {
        hmap_entry *e = &m->slots[i];
        if (!e->key || e->klen < plen || memcmp(e->key, prefix, plen) != 0 ||
            (exact && e->klen != plen)) {
            i++;
            continue;
        }
        if (free_ptr)
            free_ptr(e->ptr);
        hmap_remove(m, e);
    }
}

void series_drop_scope(kg_state *st, const char *prefix, size_t plen, const char *scope)
{
    for (size_t i = 0; i < st->n_series; i++) {
        drop_prefixed(&st->series[i]->keys, prefix, plen, false, skey_free);
        drop_prefixed(&st->series[i]->starts, scope, strlen(scope), true, NULL);
    }
}

/* A non-negative whole number of o, or -1 (missing, not finite, out of range). */
static long long num(const cJSON *o, const char *k)
{
    long long v;
    return jnum_ll(cJSON_GetObjectItemCaseSensitive(o, k), 0, JNUM_EXACT, &v) ? v : -1;
}

/* A time or count kept in a row: finite and within 2^53. */
static bool stamp_of(const cJSON *v, long long *out)
{
    return jnum_ll(v, -JNUM_EXACT, JNUM_EXACT, out);
}

static int load_key(kg_series *s, const cJSON *row)
{
    const cJSON *k = cJSON_GetArrayItem(row, 0), *stamp = cJSON_GetArrayItem(row, 1),
                *vals = cJSON_GetArrayItem(row, 2), *head = cJSON_GetArrayItem(row, 3),
                *b = cJSON_GetArrayItem(row, 4), *v;
    skey *sk;
    long long st_ms, head_ms, n;
    bool refused;
    int i = 0;
    if (!cJSON_IsString(k) || !stamp_of(stamp, &st_ms) || !cJSON_IsArray(vals) ||
        !jnum_ll(head, 0, JNUM_EXACT, &head_ms) || !cJSON_IsArray(b))
        return -1;
    if (!(sk = upsert_key(s, k->valuestring, strlen(k->valuestring), st_ms, &refused)))
        return refused ? 0 : -2;            /* refused: a cap was lowered */
    sk->head = head_ms;
    cJSON_ArrayForEach(v, b) {
        if (i < SERIES_BUCKETS && jnum_ll(v, 0, UINT_MAX, &n))
            sk->buckets[i++] = (unsigned)n;
    }
    cJSON_ArrayForEach(v, vals) {
        const cJSON *t = cJSON_GetArrayItem(v, 0), *f = cJSON_GetArrayItem(v, 1),
                    *l = cJSON_GetArrayItem(v, 2);
        bool was_new;
        sval *x;
        long long first, last;
        if (!cJSON_IsString(t) || !stamp_of(f, &first) || !stamp_of(l, &last))
            return -1;
        if (!(x = touch_value(s, sk, t->valuestring, strlen(t->valuestring), last, &was_new,
                              &refused))) {
            if (refused)
                continue;
            return -2;
        }
        x->first = first;
    }
    return 0;
}

int series_from_json(kg_state *st, const cJSON *o, char *err, size_t errlen)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(o, "keys");
    const cJSON *starts = cJSON_GetObjectItemCaseSensitive(o, "starts"), *row;
    long long span = num(o, "span_ms"), learn = num(o, "learn_ms");
    long long max_keys = num(o, "max_keys"), max_values = num(o, "max_values");
    kg_series_opts so = {span, learn, max_keys < 0 ? 0 : (size_t)max_keys,
                         max_values < 0 ? 0 : (size_t)max_values};
    kg_series *s;
    int k = -1;

    for (int i = 0; i < 2 && cJSON_IsString(kind); i++)
        if (strcmp(kind->valuestring, kind_names[i]) == 0)
            k = i;
    if (k < 0 || !cJSON_IsString(name) || !cJSON_IsArray(keys) || !cJSON_IsArray(starts) ||
        span < 0 || learn < 0 || max_keys < 0 || max_values < 0) {
        snprintf(err, errlen, "a state series is malformed");
        return -1;
    }
    if (!(s = state_series(st, name->valuestring, (kg_series_kind)k, &so)))
        goto oom;
    cJSON_ArrayForEach(row, starts) {
        const cJSON *sc = cJSON_GetArrayItem(row, 0), *t = cJSON_GetArrayItem(row, 1);
        long long at;
        if (!cJSON_IsString(sc) || !stamp_of(t, &at))
            goto bad;
        if (series_started(s, sc->valuestring, at) < 0)
            goto oom;
    }
    cJSON_ArrayForEach(row, keys) {
        int rc = load_key(s, row);
        if (rc == -1)
            goto bad;
        if (rc == -2)
            goto oom;
    }
    return 0;
bad:
    snprintf(err, errlen, "an entry of state series %s is malformed", s->name);
    return -1;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}
